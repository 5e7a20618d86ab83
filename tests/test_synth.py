"""Synthetic soundscapes: exact parts, repeatable pairs, sources in their bands, truthful labels."""

import csv
import glob
import os

import numpy as np
import pytest

import job00_synth_data
from util.synth import soundscape as synth
from util.labels.annotations import read_raven_table
from util.signal.audio import n_frames_for, read_audio
from util.cli import run_main
from util.errors import UserError
from util.labels.pairs import read_pair
from util.signal.spectrogram import SpecParams, convert_file, read_png, row_freq_hz

PARAMS = SpecParams()
N_TILE = synth.one_tile_n_samples(PARAMS)
SPECIES = list(synth.SPECIES_GENERATORS)


def scape(seed, sources, **kwargs):
    return synth.make_soundscape(np.random.default_rng(seed), N_TILE, PARAMS.sr, sources=sources, **kwargs)


def band_energy_fraction(audio, sr, low_hz, high_hz):
    power = np.abs(np.fft.rfft(audio.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1.0 / sr)
    return power[(freqs >= low_hz) & (freqs <= high_hz)].sum() / power.sum()


# --------------------------------------------------------------------------- parts and mixture

def test_mixture_is_the_exact_sum_of_its_parts_also_after_reading_the_wavs(tmp_path):
    clip = scape(1, ["lesser-cuckoo", "insect", "human"])
    total = clip.background.copy()
    for audio in clip.parts.values():
        total += audio
    assert clip.mixture.dtype == np.float32
    assert np.array_equal(clip.mixture, total)

    synth.write_soundscape_audio(clip, str(tmp_path))
    mixture, _ = read_audio(str(tmp_path / "mixture.wav"), PARAMS.sr)
    parts = [read_audio(str(tmp_path / f"{slug}.wav"), PARAMS.sr)[0] for slug in clip.parts]
    background, _ = read_audio(str(tmp_path / "background.wav"), PARAMS.sr)
    assert np.max(np.abs(mixture - (background + sum(parts)))) <= 1e-6
    assert np.array_equal(mixture, clip.mixture)


def test_a_loud_clip_is_scaled_as_a_whole_below_full_scale():
    clip = scape(2, ["eurasian-jay", "human"], snr_range_db=(20.0, 20.0), background_dbfs_range=(-8.0, -8.0))
    assert 0.98 < np.max(np.abs(clip.mixture)) <= 0.99 + 1e-6
    assert np.array_equal(clip.mixture, synth.mix(clip.parts, clip.background))
    for slug, audio in clip.parts.items():  # one common factor leaves every SNR where it was drawn
        assert synth.snr_db(audio, clip.background, PARAMS.sr) == pytest.approx(20.0, abs=0.01)


def test_events_csv_lists_every_part_with_its_box(tmp_path):
    clip = scape(3, ["koklass-pheasant", "alstroms-warbler"])
    synth.write_soundscape_audio(clip, str(tmp_path))
    with open(tmp_path / "events.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["slug"] for row in rows] == ["koklass-pheasant", "alstroms-warbler"]
    assert sorted(os.listdir(tmp_path)) == sorted(["events.csv", "mixture.wav", "background.wav",
                                                   "koklass-pheasant.wav", "alstroms-warbler.wav",
                                                   *synth.RAVEN_TABLES.values()])
    for row in rows:
        low, high = synth.SOURCE_BANDS_HZ[row["slug"]]
        assert low <= float(row["low_hz"]) < float(row["high_hz"]) <= high
        assert 0.0 <= float(row["start_s"]) < float(row["end_s"]) <= N_TILE / PARAMS.sr + 1e-3
        assert row["community"] == "bird"


def test_raven_tables_hold_species_boxes_and_community_boxes(tmp_path):
    clip = scape(4, ["lesser-cuckoo", "insect"])
    synth.write_soundscape_audio(clip, str(tmp_path))
    species_boxes = read_raven_table(str(tmp_path / synth.RAVEN_TABLES["species"]))
    community_boxes = read_raven_table(str(tmp_path / synth.RAVEN_TABLES["community"]))
    assert [b.label for b in species_boxes] == ["Lesser Cuckoo"]  # insects are noise at species level
    assert [b.label for b in community_boxes] == ["bird", "insect"]
    assert {b.recording for b in species_boxes + community_boxes} == {"mixture"}
    cuckoo = clip.events[0]
    assert species_boxes[0].low_hz == pytest.approx(cuckoo.low_hz, abs=0.01)
    assert species_boxes[0].end_s == pytest.approx(cuckoo.end_s, abs=1e-4)


# --------------------------------------------------------------------------- sources

@pytest.mark.parametrize("slug", list(synth.SOURCE_BANDS_HZ))
def test_each_source_has_at_least_80_percent_of_its_energy_in_its_band(slug):
    low, high = synth.SOURCE_BANDS_HZ[slug]
    rng = np.random.default_rng(7)
    for generator in synth.source_models()[slug].generators:
        for _ in range(2):
            call = generator(rng, PARAMS.sr)
            assert call.dtype == np.float32 and call.ndim == 1
            assert band_energy_fraction(call, PARAMS.sr, low, high) >= 0.8, generator.__name__


def test_calls_vary_from_one_call_to_the_next():
    rng = np.random.default_rng(8)
    for generator in synth.SPECIES_GENERATORS.values():
        first, second = generator(rng, PARAMS.sr), generator(rng, PARAMS.sr)
        assert len(first) != len(second) or not np.allclose(first, second), generator.__name__


def test_sources_stay_below_nyquist_at_16_khz():
    sr = 16000
    rng = np.random.default_rng(9)
    for model in synth.source_models().values():
        for generator in model.generators:
            call = generator(rng, sr)
            assert band_energy_fraction(call, sr, 0.0, synth.NYQUIST_FRACTION * sr) > 1 - 1e-9, generator.__name__


# --------------------------------------------------------------------------- ground truth

@pytest.mark.parametrize("slug", SPECIES)
def test_a_lone_species_in_quiet_background_is_labelled_only_in_its_band_with_its_index(slug):
    clip = scape(11, [slug], snr_range_db=(15.0, 15.0), background_dbfs_range=(-60.0, -60.0))
    species_map = synth.class_maps(clip, PARAMS)["species"]
    k = synth.palettes()["species"].index(slug)
    assert species_map.shape == (PARAMS.n_rows, n_frames_for(N_TILE, PARAMS.hop_length))
    assert set(np.unique(species_map)) == {0, k}
    freqs = row_freq_hz(PARAMS.n_rows, PARAMS.sr, PARAMS.n_fft)[np.flatnonzero((species_map == k).any(axis=1))]
    bin_hz = PARAMS.sr / PARAMS.n_fft
    low, high = synth.SOURCE_BANDS_HZ[slug]
    assert low - 2 * bin_hz <= freqs.min() and freqs.max() <= high + 2 * bin_hz


def test_community_map_is_the_species_map_through_the_community_table():
    clip = scape(12, ["jungle-nightjar", "lesser-cuckoo", "insect", "human"], snr_range_db=(10.0, 10.0))
    maps = synth.class_maps(clip, PARAMS)
    species_map, community_map = maps["species"], maps["community"]
    pal = synth.palettes()
    table = pal["species"].community_palette_map(pal["community"])
    has_species = species_map > 0
    assert has_species.any()
    assert np.array_equal(community_map[has_species], table[species_map[has_species]])
    others = set(np.unique(community_map[~has_species]))
    assert {pal["community"].index("insect"), pal["community"].index("human")} <= others <= {
        0, pal["community"].index("insect"), pal["community"].index("human")}


def test_an_insect_over_a_bird_hides_it_at_species_level():
    bird = np.zeros(N_TILE, np.float32)
    bird[:] = 0.01 * np.sin(2 * np.pi * 4000.0 * np.arange(N_TILE) / PARAMS.sr)
    parts = {"lesser-cuckoo": bird, "insect": 10 * bird}
    background = np.zeros(N_TILE, np.float32)
    clip = synth.Soundscape(PARAMS.sr, background, parts)
    maps = synth.class_maps(clip, PARAMS)
    assert not maps["species"].any()
    assert (maps["community"] == synth.palettes()["community"].index("insect")).any()


def test_a_source_must_beat_the_background_by_the_margin():
    def sine(amplitude):
        return (amplitude * np.sin(2 * np.pi * 2000.0 * np.arange(N_TILE) / PARAMS.sr)).astype(np.float32)

    background = sine(0.01)
    k = synth.palettes()["species"].index("lesser-cuckoo")

    def labelled(source_db, margin_db):
        clip = synth.Soundscape(PARAMS.sr, background, {"lesser-cuckoo": sine(0.01 * 10 ** (source_db / 20))})
        return (synth.class_maps(clip, PARAMS, audible_margin_db=margin_db)["species"] == k).sum()

    assert labelled(2.0, 3.0) == 0      # louder than the background, but by less than the margin
    assert labelled(2.0, 1.0) > 100     # the same source with a 1 dB margin
    assert labelled(-2.0, -10.0) == 0   # quieter than the background: never dominant


def test_a_source_below_the_audible_floor_is_not_labelled():
    tone = (1e-5 * np.sin(2 * np.pi * 1100.0 * np.arange(N_TILE) / PARAMS.sr)).astype(np.float32)  # ~ -100 dB
    clip = synth.Soundscape(PARAMS.sr, np.zeros(N_TILE, np.float32), {"oriental-scops-owl": tone})
    assert not synth.class_maps(clip, PARAMS)["species"].any()
    assert synth.class_maps(clip, PARAMS, audible_floor_db=-120.0)["species"].any()


@pytest.mark.parametrize("seed", [21, 22])
def test_snr_of_each_source_lies_in_the_requested_range(seed):
    clip = scape(seed, ["eurasian-jay", "harterts-leaf-warbler", "insect", "human"])
    assert len(clip.events) == 4
    for event in clip.events:
        measured = synth.snr_db(clip.parts[event.slug], clip.background, PARAMS.sr)
        assert -5.0 - 0.01 <= measured <= 20.0 + 0.01
        assert measured == pytest.approx(event.snr_db, abs=0.01)
    fixed = scape(seed, ["koklass-pheasant"], snr_range_db=(7.0, 7.0))
    assert synth.snr_db(fixed.parts["koklass-pheasant"], fixed.background, PARAMS.sr) == pytest.approx(7.0, abs=0.01)


def test_a_clip_without_sources_is_all_background():
    clip = scape(31, [])
    maps = synth.class_maps(clip, PARAMS)
    assert clip.parts == {} and np.array_equal(clip.mixture, clip.background)
    assert np.abs(clip.background).max() > 0
    for class_map in maps.values():
        assert class_map.shape == (PARAMS.n_rows, PARAMS.tile_frames) and not class_map.any()


def test_drawn_soundscapes_hold_zero_to_four_distinct_sources():
    counts = [len(synth.draw_sources(np.random.default_rng(s))) for s in range(60)]
    assert min(counts) == 0 and max(counts) == 4


# --------------------------------------------------------------------------- the data set

def pair_pixels(root):
    paths = sorted(glob.glob(os.path.join(root, "input_img", "*", "*.png")))
    return {os.path.relpath(p, root): read_png(p) for p in paths}


def test_same_seed_gives_identical_pairs_whatever_the_workers_and_another_seed_differs(tmp_path):
    runs = {}
    for name, seed, workers in (("a", 5, 1), ("b", 5, 2), ("c", 6, 1)):
        summary = synth.generate_dataset(str(tmp_path / name), 2, 1, seed, workers=workers, progress=False)
        assert summary.n_pairs == 6
        runs[name] = pair_pixels(str(tmp_path / name))
    assert len(runs["a"]) == 6 and runs["a"].keys() == runs["b"].keys() == runs["c"].keys()
    for key, (pixels, meta) in runs["a"].items():
        assert np.array_equal(pixels, runs["b"][key][0]) and meta == runs["b"][key][1]
    assert any(not np.array_equal(pixels, runs["c"][key][0]) for key, (pixels, _) in runs["a"].items())


def test_pairs_hold_the_mixture_tile_and_the_true_labels(tmp_path):
    root = str(tmp_path)
    synth.generate_dataset(root, 0, 2, 4, workers=1, progress=False)
    for index in range(2):
        job = synth.SynthJob(root, "test", index, 4, N_TILE, PARAMS)
        clip = synth.make_soundscape(np.random.default_rng(synth.soundscape_seed(4, "test", index)), N_TILE)
        maps = synth.class_maps(clip, PARAMS)
        for level in synth.LEVELS:
            [path] = job.pair_paths(level)
            assert os.path.basename(path) == f"syn0000{index + 1}.png"
            spec, label_rgb, meta = read_pair(path)
            assert meta["source"] == f"input_wav/test/syn0000{index + 1}/mixture.wav"
            assert meta["n_valid_frames"] == PARAMS.tile_frames  # the default clip is exactly one tile
            assert np.array_equal(synth.palettes()[level].decode(label_rgb), maps[level])
            assert spec.shape == (PARAMS.n_rows, PARAMS.tile_frames) and spec.max() > 0
            [job01_tile] = convert_file(os.path.join(job.wav_dir, "mixture.wav"), str(tmp_path / "job01"),
                                        PARAMS, overwrite=True)
            assert np.array_equal(read_png(job01_tile)[0], spec)  # A is exactly what job01 makes


def test_a_long_clip_gives_one_pair_per_tile(tmp_path):
    summary = synth.generate_dataset(str(tmp_path), 1, 0, 2, duration_s=4.0, workers=1, progress=False)
    names = sorted(os.listdir(tmp_path / "input_img" / "train_species_samples"))
    assert names == ["syn00001_0000.png", "syn00001_0001.png"] and summary.n_pairs == 4


def test_finished_soundscapes_are_skipped_unless_overwrite(tmp_path):
    root = str(tmp_path)
    assert synth.generate_dataset(root, 1, 0, 1, workers=1, progress=False).n_written == 1
    again = synth.generate_dataset(root, 1, 0, 1, workers=1, progress=False)
    assert (again.n_written, again.n_skipped, again.n_pairs) == (0, 1, 0)
    assert synth.generate_dataset(root, 1, 0, 1, overwrite=True, workers=1, progress=False).n_pairs == 2


@pytest.mark.parametrize("kwargs", [dict(n_train=-1), dict(duration_s=0.001), dict(workers=0)])
def test_impossible_requests_are_user_errors(tmp_path, kwargs):
    request = dict(root=str(tmp_path), n_train=1, n_test=0, seed=0, progress=False) | kwargs
    with pytest.raises(UserError):
        synth.generate_dataset(**request)


def test_script_turns_a_user_error_into_exit_status_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        run_main(lambda: job00_synth_data.main(["--out", str(tmp_path), "--n_train", "-3"]))
    assert stop.value.code == 2
    assert "--n_train -3" in capsys.readouterr().err


def test_the_set_records_how_it_was_made_and_refuses_to_mix_in_another_seed(tmp_path):
    root = str(tmp_path / "set")
    synth.generate_dataset(root, 1, 1, 4, workers=1, progress=False)
    record = synth.read_dataset_record(root)
    assert (record["seed"], record["n_train"], record["n_test"]) == (4, 1, 1)
    assert record["spectrogram"]["n_fft"] == SpecParams().n_fft
    assert record["duration_s"] == pytest.approx(synth.one_tile_duration_s(SpecParams()))
    again = synth.generate_dataset(root, 2, 1, 4, workers=1, progress=False)  # same settings: extends the set
    assert (again.n_written, again.n_skipped) == (1, 2) and synth.read_dataset_record(root)["n_train"] == 2
    with pytest.raises(UserError, match=r"dataset\.json.*seed 4"):
        synth.generate_dataset(root, 2, 1, 5, workers=1, progress=False)
    synth.generate_dataset(root, 1, 1, 5, workers=1, progress=False, overwrite=True)
    assert synth.read_dataset_record(root)["seed"] == 5
    assert synth.read_dataset_record(str(tmp_path / "none")) is None
