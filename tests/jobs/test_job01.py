"""job01 as a user runs it: a batch with broken and odd files."""

import os
import subprocess
import sys

import numpy as np
import soundfile as sf
from conftest import ROOT, SR, tone

from util.signal.spectrogram import read_spectrogram_png


def run_job(script, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def make_bad_input_corpus(folder):
    os.makedirs(folder)
    (folder / "empty.wav").write_bytes(b"")
    sf.write(folder / "full.wav", tone(1000, 0.5, 1.0), SR, subtype="PCM_16")
    (folder / "truncated.wav").write_bytes((folder / "full.wav").read_bytes()[:30])
    os.remove(folder / "full.wav")
    (folder / "text.wav").write_text("this is a text file, not audio\n" * 20)
    sf.write(folder / "silent.wav", np.zeros(SR * 2, np.float32), SR, subtype="PCM_16")
    with_nan = tone(1000, 0.5, 1.0)
    with_nan[500] = np.nan
    sf.write(folder / "nan.wav", with_nan, SR, subtype="FLOAT")
    sf.write(folder / "one_sample.wav", np.array([0.25], np.float32), SR, subtype="PCM_16")
    eight = np.random.default_rng(0).standard_normal((SR * 2, 8)).astype(np.float32) * 0.05
    sf.write(folder / "eight_channels.wav", eight, SR, subtype="PCM_24")
    sf.write(folder / "rate_384k.wav", tone(5000, 0.3, 1.0, sr=384_000), 384_000, subtype="PCM_32")


def test_bad_input_batch_names_each_broken_file_converts_the_valid_ones_and_fails(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    make_bad_input_corpus(corpus)
    result = run_job("job01_wav_to_spec.py", "--input", str(corpus), "--output", str(out), "--workers", "2")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    for broken, problem in [("empty.wav", "empty file"), ("truncated.wav", "not a readable audio file"),
                            ("text.wav", "not a readable audio file"), ("nan.wav", "NaN")]:
        assert any(broken in line and problem in line for line in result.stderr.splitlines()), broken
    written = sorted(os.listdir(out))
    assert written == ["eight_channels_0000.png", "one_sample_0000.png", "rate_384k_0000.png", "silent_0000.png"]
    db, meta = read_spectrogram_png(str(out / "rate_384k_0000.png"))
    assert meta["orig_sr"] == 384_000 and meta["sr"] == SR
    assert abs(np.argmax(db[:, 20]) - (255 - round(5000 * 512 / SR))) <= 0
    silent, _ = read_spectrogram_png(str(out / "silent_0000.png"))
    assert silent.max() == meta["db_floor"]
    assert "4 failed" in result.stdout


def test_subfolders_are_mirrored_and_a_rerun_skips_finished_files(tmp_path):
    src = tmp_path / "rec"
    os.makedirs(src / "site_a")
    sf.write(src / "site_a" / "x.flac", tone(2000, 0.2, 3.5), SR)
    sf.write(src / "y.wav", tone(2000, 0.2, 1.0), SR)
    out = tmp_path / "out"
    first = run_job("job01_wav_to_spec.py", "--input", str(src), "--output", str(out))
    assert first.returncode == 0, first.stderr
    assert sorted(os.listdir(out / "site_a")) == ["x_0000.png", "x_0001.png"]
    second = run_job("job01_wav_to_spec.py", "--input", str(src), "--output", str(out))
    assert "0 tiles" in second.stdout and "2 already done" in second.stdout


def test_help_shows_every_spectrogram_default():
    result = run_job("job01_wav_to_spec.py", "--help")
    flat = " ".join(result.stdout.split())
    for flag, default in [("--sr", "22050"), ("--n_fft", "512"), ("--hop_length", "256"), ("--db_floor", "-100.0")]:
        after_flag = flat[flat.rindex(f"{flag} "):]
        assert f"(default: {default})" in after_flag[:200], flag
