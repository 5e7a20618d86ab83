"""From a recording and its Raven table to pairs and to one source's spectrogram and audio."""

import os
import subprocess
import sys

import numpy as np
import soundfile as sf
from conftest import ROOT, SR, tone

from util.labels.pairs import read_pair
from util.labels.palette import load_palette
from util.signal.audio import read_audio
from util.signal.spectrogram import read_png, read_spectrogram_png, write_png


def run_job(script, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def make_recording(tmp_path):
    """A 3 kHz call from 0.5 to 1.5 s and a 1 kHz call from 1.8 to 2.6 s over faint noise, with its Raven table."""
    noise = np.random.default_rng(0).standard_normal(int(2.9 * SR)).astype(np.float32) * 1e-3
    cuckoo = tone(3000, 0.1, 1.0, start_s=0.5, total_s=2.9)
    owl = tone(1000, 0.05, 0.8, start_s=1.8, total_s=2.9)
    wav = tmp_path / "rec.wav"
    sf.write(wav, noise + cuckoo + owl, SR, subtype="FLOAT")
    table = tmp_path / "rec.Table.1.selections.txt"
    table.write_text("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tSpecies\n"
                     "1\tSpectrogram 1\t1\t0.5\t1.5\t2800\t3200\tLesser Cuckoo\n"
                     "2\tSpectrogram 1\t1\t1.8\t2.6\t900\t1100\tOriental Scops Owl\n")
    assert run_job("job01_wav_to_spec.py", "--input", str(wav), "--output", str(tmp_path / "spec")).returncode == 0
    return wav, table, cuckoo


def test_raven_table_becomes_a_pair_with_the_calls_painted_in_their_colours(tmp_path):
    _, table, _ = make_recording(tmp_path)
    result = run_job("job02_merge_img.py", "--spec", str(tmp_path / "spec"), "--raven", str(table),
                     "--output", str(tmp_path / "pairs"))
    assert result.returncode == 0, result.stderr
    spec, label, meta = read_pair(str(tmp_path / "pairs" / "rec_0000.png"))
    original, _ = read_png(str(tmp_path / "spec" / "rec_0000.png"))
    assert np.array_equal(spec, original) and meta["source"].endswith("rec.wav")
    classes = load_palette("species").decode(label)
    bin_hz = SR / 512
    cuckoo_hz = (255 - np.argwhere(classes == 5)[:, 0]) * bin_hz
    owl_hz = (255 - np.argwhere(classes == 4)[:, 0]) * bin_hz
    assert cuckoo_hz.min() >= 2800 and cuckoo_hz.max() <= 3200 and 255 - 70 in np.argwhere(classes == 5)[:, 0]
    assert owl_hz.min() >= 900 and owl_hz.max() <= 1100 and 255 - 23 in np.argwhere(classes == 4)[:, 0]
    cuckoo_cols = np.argwhere(classes == 5)[:, 1] * 256 / SR
    assert cuckoo_cols.min() >= 0.5 - 0.02 and cuckoo_cols.max() <= 1.5 + 0.02


def test_label_of_another_size_is_refused_naming_both_files(tmp_path):
    make_recording(tmp_path)
    labels = tmp_path / "labels"
    write_png(str(labels / "rec_0000.png"), np.zeros((256, 128, 3), np.uint8))
    result = run_job("job02_merge_img.py", "--spec", str(tmp_path / "spec"), "--label", str(labels),
                     "--output", str(tmp_path / "pairs"))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    line = next(l for l in result.stderr.splitlines() if "exactly the spectrogram's size" in l)
    assert "labels/rec_0000.png" in line and "spec/rec_0000.png" in line


def test_isolated_source_keeps_only_its_pixels_and_its_audio_is_the_call(tmp_path):
    wav, table, cuckoo = make_recording(tmp_path)
    assert run_job("job02_merge_img.py", "--spec", str(tmp_path / "spec"), "--raven", str(table),
                   "--output", str(tmp_path / "pairs")).returncode == 0
    result = run_job("job05_specific_spec.py", "--spec", str(tmp_path / "spec"), "--label", str(tmp_path / "pairs"),
                     "--output", str(tmp_path / "iso"), "--classes", "Lesser Cuckoo", "--audio")
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path / "iso")) == ["lesser-cuckoo-only-rec_0000.png", "lesser-cuckoo-only-rec_0000.wav"]
    db, meta = read_spectrogram_png(str(tmp_path / "iso" / "lesser-cuckoo-only-rec_0000.png"))
    assert meta["class"] == "Lesser Cuckoo"
    assert np.all(db[:, :20] == meta["db_floor"]) and db.max() > -25
    separated, _ = read_audio(str(tmp_path / "iso" / "lesser-cuckoo-only-rec_0000.wav"))
    mixture, _ = read_audio(str(wav))
    n = min(len(separated), len(cuckoo))
    residual_db = 10 * np.log10(np.sum((separated[:n] - cuckoo[:n]) ** 2) / np.sum(cuckoo[:n] ** 2))
    mixture_db = 10 * np.log10(np.sum((mixture[:n] - cuckoo[:n]) ** 2) / np.sum(cuckoo[:n] ** 2))
    assert residual_db < -15 and residual_db < mixture_db - 10


def test_unknown_class_is_refused_with_the_known_names():
    result = run_job("job05_specific_spec.py", "--spec", "x", "--label", "y", "--output", "z", "--classes", "Robin")
    assert result.returncode == 2 and "'Robin' not in the 'species' palette" in result.stderr


def test_isolated_audio_of_a_middle_tile_has_no_burst_at_its_end(tmp_path):
    """The last hop of a tile is rebuilt from two frames, so a tile that does not end the recording stays quiet."""
    from util.labels.separation import masked_audio, tile_spectrum

    recording = tone(500, 0.01, 8.0) + tone(2000, 0.01, 8.0) + tone(7000, 0.01, 8.0)
    meta = {"sr": SR, "n_fft": 512, "hop_length": 256, "window": "hann", "db_floor": -100.0, "db_ceil": 0.0,
            "start_frame": 100, "n_valid_frames": 256}
    mask = np.zeros((256, 256), np.float32)
    mask[150:200, :] = 1.0  # around 2 kHz (bin 46 is row 209): a partial mask
    audio = masked_audio(tile_spectrum(recording, meta), mask, meta)
    assert len(audio) == 256 * 256
    body, tail = np.abs(audio[:-256]).max(), np.abs(audio[-256:]).max()
    assert tail < 2 * body
    full = masked_audio(tile_spectrum(recording, meta), np.ones((256, 256), np.float32), meta)
    start = 100 * 256
    assert np.max(np.abs(full - recording[start:start + len(full)])) < 1e-3


def test_windows_raven_table_with_noise_rows_and_own_palette_becomes_a_pair(tmp_path):
    """A cp1252 table from Raven on Windows, recordings named by Begin Path only, French / German names and
    a 'noise' row: refused in one line naming the fix, then read with --ignore_labels noise."""
    make_recording(tmp_path)
    palette_file = tmp_path / "my_palette.json"
    made = subprocess.run([sys.executable, "-m", "util.labels.make_palette", "--names",
                           "Pic épeiche,Grüner Laubsänger", "--out", str(palette_file)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert made.returncode == 0, made.stderr
    table = tmp_path / "survey 2024 (Windows).txt"  # its name matches no recording: Begin Path does
    table.write_bytes(("Selection\tView\tChannel\tBegin Path\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\t"
                       "High Freq (Hz)\tSpecies\r\n"
                       "1\tSpectrogram 1\t1\tD:\\terrain\\rec.wav\t0.5\t1.5\t2800\t3200\tPic épeiche\r\n"
                       "2\tSpectrogram 1\t1\tD:\\terrain\\rec.wav\t1.8\t2.6\t900\t1100\tGrüner Laubsänger\r\n"
                       "3\tSpectrogram 1\t1\tD:\\terrain\\rec.wav\t0.0\t2.9\t0\t11000\tnoise\r\n").encode("cp1252"))
    original = table.read_bytes()
    args = ["--spec", str(tmp_path / "spec"), "--raven", str(table), "--palette", str(palette_file),
            "--output", str(tmp_path / "pairs")]

    refused = run_job("job02_merge_img.py", *args)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert (f"error: {table}: labels not in the my_palette palette: noise (skip them with --ignore_labels noise "
            f"or map them to palette names with --label_map FILE") in refused.stderr

    result = run_job("job02_merge_img.py", *args, "--ignore_labels", "noise")
    assert result.returncode == 0, result.stderr
    assert table.read_bytes() == original
    _, label, _ = read_pair(str(tmp_path / "pairs" / "rec_0000.png"))
    classes = load_palette(str(palette_file)).decode(label)
    assert set(np.unique(classes)) == {0, 1, 2}  # the noise box, covering everything, painted nothing
    assert 255 - 70 in np.argwhere(classes == 1)[:, 0] and 255 - 23 in np.argwhere(classes == 2)[:, 0]
    assert (255 - np.argwhere(classes == 1)[:, 0]).min() * SR / 512 >= 2800
