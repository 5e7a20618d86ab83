"""job03 -> job04 --wav as users run them: the spectrogram settings travel with a model trained on 32 kHz tiles.

The model is a real pix2pix U-Net (ngf 4) saved where job03 saves it, with its train_opt.json written by job03's
own code from 32 kHz training pairs; its last layer is set to paint every pixel red ('bird'), so each recording
is one detection whose box shows which spectrogram settings were used (a 32 kHz tile reaches 15 969 Hz at its
top row's upper edge, a 22.05 kHz tile 11 003 Hz).
"""

import csv
import hashlib
import json
import os
import shutil
import socket

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

import job04_test
from util.errors import UserError
from util.gan import networks
from util.gan.options import finish_options, save_train_options, train_parser
from util.gan.tile_settings import training_tile_settings
from util.labels.pairs import write_pair
from util.labels.palette import load_palette
from util.signal.spectrogram import SpecParams, iter_tiles

MODEL_SR = 32000
TOP_HZ_32K = (255 + 0.5) * 32000 / 512          # upper edge of the top row of a 32 kHz, n_fft 512 tile
TOP_HZ_22K = (255 + 0.5) * 22050 / 512


def tone(sr, seconds, freq_hz=3000.0, seed=0):
    t = np.arange(int(sr * seconds)) / sr
    noise = np.random.default_rng(seed).standard_normal(len(t)) * 1e-3
    return (0.1 * np.sin(2 * np.pi * freq_hz * t) + noise).astype(np.float32)


def write_pairs(folder, sr, n_clips, work):
    """A|B pairs from job01-style tiles at ``sr``: the tone's loud pixels painted 'bird'."""
    os.makedirs(folder, exist_ok=True)
    palette = load_palette("community")
    for i in range(n_clips):
        wav = os.path.join(work, f"{os.path.basename(folder)}_{sr}_{i}.wav")
        sf.write(wav, tone(sr, 2.0, seed=i), sr)
        for tile in iter_tiles(wav, SpecParams(sr=sr)):
            label = palette.encode((tile.pixels > 128).astype(np.uint8))
            write_pair(os.path.join(folder, f"clip{sr}_{i}_{tile.meta['tile_index']:04d}.png"), tile.pixels, label,
                       tile.meta)


def red_generator():
    """A pix2pix U-Net whose last layer paints every pixel (255, 0, 0) whatever its input."""
    torch.manual_seed(0)
    net = networks.define_G(1, 3, 4, "unet_256", "batch")
    last = [m for m in net.modules() if isinstance(m, nn.ConvTranspose2d)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([10.0, -10.0, -10.0]))       # tanh: +1, -1, -1 -> red
    return net


@pytest.fixture(scope="module")
def model_32k(tmp_path_factory):
    """checkpoints/community/{train_opt.json, latest_net_G.pth} of a model trained on 32 kHz tiles."""
    root = tmp_path_factory.mktemp("model32k")
    dataroot = root / "input_img"
    write_pairs(str(dataroot / "train_community_samples"), MODEL_SR, 2, str(root))
    write_pairs(str(dataroot / "val_community_samples"), MODEL_SR, 1, str(root))
    opt = finish_options(train_parser("test").parse_args(
        ["--dataroot", str(dataroot), "--checkpoints_dir", str(root / "ck"), "--level", "community",
         "--ngf", "4", "--ndf", "4", "--gpu_ids", "-1"]))
    run = root / "ck" / "community"
    os.makedirs(run)
    save_train_options(opt, str(run))                       # what job03 writes at the start of training
    torch.save(red_generator().state_dict(), run / "latest_net_G.pth")
    return root


def job04(model, *args):
    return job04_test.main(["--checkpoints_dir", str(model / "ck"), "--name", "community", "--gpu_ids", "-1",
                            *args])


def rows_of(path, delimiter=","):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def test_job03_records_the_spectrogram_settings_of_its_training_tiles(model_32k):
    with open(model_32k / "ck" / "community" / "train_opt.json") as handle:
        settings = json.load(handle)["spectrogram"]
    assert settings == {"sr": 32000, "n_fft": 512, "hop_length": 256, "window": "hann", "db_floor": -100.0,
                        "db_ceil": 0.0, "tile_frames": 256, "normalized": False}


def test_training_pairs_made_two_ways_are_refused_naming_both(model_32k, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(model_32k / "input_img" / "train_community_samples", folder)
    write_pairs(str(folder), 22050, 1, str(tmp_path))
    with pytest.raises(UserError, match=r"clip32000_0_0000.png: made with sr 32000 \(not 22050\), "
                                        r"unlike .*clip22050_0_0000.png"):
        training_tile_settings([str(folder)])


def test_a_folder_of_recordings_is_tiled_with_the_models_32khz_settings(model_32k, tmp_path, capsys):
    site = tmp_path / "site"
    site.mkdir()
    sf.write(site / "SITE_20240501_053000.wav", tone(48000, 2.0), 48000)   # resampled to the model's 32 kHz
    sf.write(site / "SITE_20240501_060000.wav", tone(32000, 3.0, seed=1), 32000)
    sf.write(site / "SITE_20240501_063000.wav", tone(16000, 2.0, seed=2), 16000)   # cannot match: refused
    results = tmp_path / "results"
    assert job04(model_32k, "--wav", str(site), "--results_dir", str(results)) == 1   # one file failed
    printed = capsys.readouterr()
    assert "spectrogram settings: 32000 Hz, n_fft 512, hop 256" in printed.out and "train_opt.json" in printed.out
    assert "SITE_20240501_063000.wav: recorded at 16000 Hz, below the model's working rate 32000 Hz" in printed.err
    weights_sha = hashlib.sha256((model_32k / "ck" / "community" / "latest_net_G.pth").read_bytes()).hexdigest()
    for stem, seconds in (("SITE_20240501_053000", 2.0), ("SITE_20240501_060000", 3.0)):
        record = json.load(open(results / stem / "run.json"))
        assert record["settings"]["spectrogram"]["sr"] == 32000 and record["settings"]["model_sha256"] == weights_sha
        [row] = rows_of(results / stem / "detections.csv")
        assert float(row["high_freq_hz"]) == pytest.approx(TOP_HZ_32K) != pytest.approx(TOP_HZ_22K)
        assert float(row["start_s"]) == 0 and float(row["end_s"]) == pytest.approx(seconds, abs=0.01)
        assert row["model"] == f"community@{weights_sha[:12]}" and row["scientific_name"] == "Aves"
        frames = int(seconds * MODEL_SR) // 256 + 1
        from PIL import Image
        with Image.open(results / stem / "labels.png") as image:
            assert image.size == (frames, 256)
    combined = rows_of(results / "combined.selections.txt", "\t")
    assert [float(r["Begin Time (s)"]) for r in combined] == [0.0, 2.0]   # the second file starts after the first
    assert [r["Begin Date Time"] for r in combined] == ["2024-05-01T05:30:00.000+00:00",
                                                        "2024-05-01T06:00:00.000+00:00"]
    with open(results / "combined.selections.list.txt") as handle:
        assert [os.path.basename(p) for p in handle.read().split()] == ["SITE_20240501_053000.wav",
                                                                        "SITE_20240501_060000.wav"]


def test_test_pairs_made_with_other_settings_are_refused(model_32k, tmp_path):
    write_pairs(str(tmp_path / "test_community_samples"), 22050, 1, str(tmp_path))
    with pytest.raises(UserError, match=r"clip22050_0_0000.png: made with sr 22050 \(not 32000\).*job01 --sr 32000"):
        job04(model_32k, "--dataroot", str(tmp_path))


def test_bare_weights_take_settings_from_beside_them_or_from_flags_and_say_which(model_32k, tmp_path, capsys):
    weights = tmp_path / "community_net_G.pth"
    shutil.copy(model_32k / "ck" / "community" / "latest_net_G.pth", weights)
    sf.write(tmp_path / "rec.wav", tone(32000, 1.0), 32000)

    def bare(results, *flags):
        assert job04_test.main(["--weights", str(weights), "--level", "community", "--gpu_ids", "-1", "--wav",
                                str(tmp_path / "rec.wav"), "--results_dir", str(tmp_path / results), *flags]) == 0
        return json.load(open(tmp_path / results / "rec" / "run.json"))["settings"]["spectrogram"]["sr"]

    assert bare("defaults") == 22050
    assert "the defaults" in capsys.readouterr().out
    assert bare("flags", "--sr", "32000") == 32000
    assert "from --sr/--n_fft/--hop_length" in capsys.readouterr().out
    shutil.copy(model_32k / "ck" / "community" / "train_opt.json", tmp_path / "community_net_G.train_opt.json")
    assert bare("beside") == 32000
    with pytest.raises(UserError, match="--sr 22050: the model was trained on tiles with sr 32000"):
        bare("contradiction", "--sr", "22050")


def test_job04_on_two_dask_worker_processes_writes_the_tables_of_a_serial_run_and_lists_a_broken_file(
        model_32k, tmp_path, capsys):
    site = tmp_path / "site"
    site.mkdir()
    sf.write(site / "SITE_20240501_053000.wav", tone(32000, 2.0), 32000)
    sf.write(site / "SITE_20240501_060000.wav", tone(48000, 1.5, seed=1), 48000)
    (site / "SITE_20240501_063000.wav").write_bytes(b"not audio")
    assert job04(model_32k, "--wav", str(site), "--results_dir", str(tmp_path / "serial")) == 1
    capsys.readouterr()
    assert job04(model_32k, "--wav", str(site), "--results_dir", str(tmp_path / "dask"), "--workers", "2") == 1
    printed = capsys.readouterr()
    assert "2 local Dask worker(s)" in printed.out and "1 failed (listed in" in printed.out
    assert "1 of 3 failed" in printed.err and "SITE_20240501_063000.wav: not a readable audio file" in printed.err
    for name in ("combined.selections.txt", "combined.selections.list.txt", "combined_detections.csv",
                 "combined_occupancy.csv", "SITE_20240501_060000/detections.csv", "SITE_20240501_060000/labels.png"):
        assert (tmp_path / "serial" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name
    [line] = (tmp_path / "dask" / "failed_recordings.txt").read_text().splitlines()
    assert line.startswith(f"{site / 'SITE_20240501_063000.wav'}\tnot a readable audio file")
    record = json.load(open(tmp_path / "dask" / "SITE_20240501_060000" / "run.json"))
    assert record["settings"]["spectrogram"]["sr"] == MODEL_SR          # the model's settings reached the workers


def test_job04_with_a_scheduler_that_does_not_answer_is_one_line_naming_it(model_32k, tmp_path):
    sf.write(tmp_path / "rec.wav", tone(32000, 1.0), 32000)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = "tcp://127.0.0.1:%d" % probe.getsockname()[1]
    with pytest.raises(UserError, match=f"--scheduler {address}: no Dask scheduler answered"):
        job04(model_32k, "--wav", str(tmp_path / "rec.wav"), "--results_dir", str(tmp_path / "out"),
              "--scheduler", address)
