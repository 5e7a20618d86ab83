"""job00's data set: repeatable pairs whatever the workers, true labels, a record of how it was made."""

import glob
import os

import numpy as np
import pytest

import job00_synth_data
from util.cli import run_main
from util.errors import UserError
from util.files import LEVELS
from util.labels.pairs import read_pair
from util.signal.spectrogram import SpecParams, convert_file, read_png
from util.synth.dataset import (
    SynthJob,
    generate_dataset,
    one_tile_duration_s,
    one_tile_n_samples,
    read_dataset_record,
    soundscape_seed,
)
from util.synth.soundscape import make_soundscape
from util.synth.sources import palettes
from util.synth.truth import class_maps

PARAMS = SpecParams()
N_TILE = one_tile_n_samples(PARAMS)


# --------------------------------------------------------------------------- the data set

def pair_pixels(root):
    paths = sorted(glob.glob(os.path.join(root, "input_img", "*", "*.png")))
    return {os.path.relpath(p, root): read_png(p) for p in paths}


def test_same_seed_gives_identical_pairs_whatever_the_workers_and_another_seed_differs(tmp_path):
    runs = {}
    for name, seed, workers in (("a", 5, 1), ("b", 5, 2), ("c", 6, 1)):
        summary = generate_dataset(str(tmp_path / name), 2, 1, seed, workers=workers, progress=False)
        assert summary.n_pairs == 6
        runs[name] = pair_pixels(str(tmp_path / name))
    assert len(runs["a"]) == 6 and runs["a"].keys() == runs["b"].keys() == runs["c"].keys()
    for key, (pixels, meta) in runs["a"].items():
        assert np.array_equal(pixels, runs["b"][key][0]) and meta == runs["b"][key][1]
    assert any(not np.array_equal(pixels, runs["c"][key][0]) for key, (pixels, _) in runs["a"].items())


def test_pairs_hold_the_mixture_tile_and_the_true_labels(tmp_path):
    root = str(tmp_path)
    generate_dataset(root, 0, 2, 4, workers=1, progress=False)
    for index in range(2):
        job = SynthJob(root, "test", index, 4, N_TILE, PARAMS)
        clip = make_soundscape(np.random.default_rng(soundscape_seed(4, "test", index)), N_TILE)
        maps = class_maps(clip, PARAMS)
        for level in LEVELS:
            [path] = job.pair_paths(level)
            assert os.path.basename(path) == f"syn0000{index + 1}.png"
            spec, label_rgb, meta = read_pair(path)
            assert meta["source"] == f"input_wav/test/syn0000{index + 1}/mixture.wav"
            assert meta["n_valid_frames"] == PARAMS.tile_frames  # the default clip is exactly one tile
            assert np.array_equal(palettes()[level].decode(label_rgb), maps[level])
            assert spec.shape == (PARAMS.n_rows, PARAMS.tile_frames) and spec.max() > 0
            [job01_tile] = convert_file(os.path.join(job.wav_dir, "mixture.wav"), str(tmp_path / "job01"),
                                        PARAMS, overwrite=True)
            assert np.array_equal(read_png(job01_tile)[0], spec)  # A is exactly what job01 makes


def test_a_long_clip_gives_one_pair_per_tile(tmp_path):
    summary = generate_dataset(str(tmp_path), 1, 0, 2, duration_s=4.0, workers=1, progress=False)
    names = sorted(os.listdir(tmp_path / "input_img" / "train_species_samples"))
    assert names == ["syn00001_0000.png", "syn00001_0001.png"] and summary.n_pairs == 4


def test_finished_soundscapes_are_skipped_unless_overwrite(tmp_path):
    root = str(tmp_path)
    assert generate_dataset(root, 1, 0, 1, workers=1, progress=False).n_written == 1
    again = generate_dataset(root, 1, 0, 1, workers=1, progress=False)
    assert (again.n_written, again.n_skipped, again.n_pairs) == (0, 1, 0)
    assert generate_dataset(root, 1, 0, 1, overwrite=True, workers=1, progress=False).n_pairs == 2


@pytest.mark.parametrize("kwargs", [dict(n_train=-1), dict(duration_s=0.001), dict(workers=0)])
def test_impossible_requests_are_user_errors(tmp_path, kwargs):
    request = dict(root=str(tmp_path), n_train=1, n_test=0, seed=0, progress=False) | kwargs
    with pytest.raises(UserError):
        generate_dataset(**request)


def test_script_turns_a_user_error_into_exit_status_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        run_main(lambda: job00_synth_data.main(["--out", str(tmp_path), "--n_train", "-3"]))
    assert stop.value.code == 2
    assert "--n_train -3" in capsys.readouterr().err


def test_the_set_records_how_it_was_made_and_refuses_to_mix_in_another_seed(tmp_path):
    root = str(tmp_path / "set")
    generate_dataset(root, 1, 1, 4, workers=1, progress=False)
    record = read_dataset_record(root)
    assert (record["seed"], record["n_train"], record["n_test"]) == (4, 1, 1)
    assert record["spectrogram"]["n_fft"] == SpecParams().n_fft
    assert record["duration_s"] == pytest.approx(one_tile_duration_s(SpecParams()))
    again = generate_dataset(root, 2, 1, 4, workers=1, progress=False)  # same settings: extends the set
    assert (again.n_written, again.n_skipped) == (1, 2) and read_dataset_record(root)["n_train"] == 2
    with pytest.raises(UserError, match=r"dataset\.json.*seed 4"):
        generate_dataset(root, 2, 1, 5, workers=1, progress=False)
    generate_dataset(root, 1, 1, 5, workers=1, progress=False, overwrite=True)
    assert read_dataset_record(root)["seed"] == 5
    assert read_dataset_record(str(tmp_path / "none")) is None
