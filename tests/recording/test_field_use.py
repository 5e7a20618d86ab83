"""Field use of job04's recording mode: chosen outputs, tables ecologists open, clock times, the run record.

Generators are the hand-made modules of test_recording.py, whose output is known, so every value is exact.
"""

import csv
import hashlib
import json
import os
from datetime import datetime

import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from test_recording import PaintEverywhere, PaintLoud, call, run

from util import __version__
from util.cli import find_files
from util.errors import UserError
from util.labels.palette import load_palette
from util.recording import RecordingSettings, model_info, process_recordings
from util.recording.clock import parse_timezone, recording_start_time, time_after
from util.signal.audio import read_audio
from util.signal.spectrogram import SpecParams

STEM = "SITE_20240501_053000"
REDDISH = (200, 60, 40)      # nearest palette colour red ('bird'), then black: score 1 - 90.69 / 212.60 = 0.5734


def rows_of(path, delimiter=","):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def record_of(out_dir):
    with open(os.path.join(out_dir, "run.json"), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture
def tone_wav(write_wav):
    return write_wav(f"{STEM}.wav", call(1.0, 2.0, total_s=3.0))


# --------------------------------------------------------------------------- which outputs

def test_default_outputs_are_the_tables_and_labels_png_without_audio(tone_wav, tmp_path):
    result = run(tone_wav, PaintLoud(), tmp_path / "out")
    assert sorted(os.listdir(result.out_dir)) == sorted([
        f"{STEM}.selections.txt", f"{STEM}.audacity.txt", "detections.csv", "occupancy.csv",
        "frequency_profile.csv", "labels.png", "run.json"])


def test_audio_of_chosen_classes_as_flac_adds_up_to_the_recording_with_the_residual(tone_wav, tmp_path):
    result = run(tone_wav, PaintLoud(), tmp_path / "out", outputs="audio", classes=("bird",))
    assert sorted(os.listdir(result.out_dir)) == ["bird.flac", "residual.flac", "run.json"]
    bird, rate = sf.read(os.path.join(result.out_dir, "bird.flac"))
    residual, _ = sf.read(os.path.join(result.out_dir, "residual.flac"))
    assert sf.info(os.path.join(result.out_dir, "bird.flac")).subtype == "PCM_16" and rate == 22050
    expected, _ = read_audio(tone_wav, 22050)
    assert np.abs(bird + residual - expected).max() < 2 / 32768          # 16-bit quantisation, twice
    t = np.arange(len(bird)) / rate
    assert np.sqrt(np.mean(bird[(t > 1.1) & (t < 1.9)] ** 2)) == pytest.approx(0.1 / np.sqrt(2), rel=0.05)


def test_classes_not_asked_for_go_to_the_residual_and_out_of_the_tables(tone_wav, tmp_path):
    result = run(tone_wav, PaintLoud(), tmp_path / "out", outputs="tables,audio", classes="insect",
                 audio_format="float")
    assert rows_of(os.path.join(result.out_dir, "detections.csv")) == []
    assert [r["class"] for r in rows_of(os.path.join(result.out_dir, "occupancy.csv"))] == ["insect"]
    residual, _ = sf.read(os.path.join(result.out_dir, "residual.wav"))
    expected, _ = read_audio(tone_wav, 22050)
    assert np.abs(residual - expected).max() < 1e-5                      # the bird's call is in the residual


def test_unknown_class_or_product_is_one_line_naming_what_there_is(tone_wav, tmp_path):
    with pytest.raises(UserError, match="Lesser Cuckoo.*not in the 'community' palette.*bird, insect, human"):
        run(tone_wav, PaintLoud(), tmp_path / "out", classes="Lesser Cuckoo")
    with pytest.raises(UserError, match="--outputs.*choose from tables, labels, audio"):
        RecordingSettings(outputs="tables,wav")


# --------------------------------------------------------------------------- the tables

def test_detections_csv_raven_and_audacity_describe_the_same_call(tone_wav, tmp_path):
    result = run(tone_wav, PaintLoud(), tmp_path / "out", timezone="+10:00")
    [row] = rows_of(os.path.join(result.out_dir, "detections.csv"))
    assert row["file"] == os.path.abspath(tone_wav) and row["channel"] == "1"
    assert float(row["start_s"]) == pytest.approx(1.0, abs=0.03) and float(row["end_s"]) == pytest.approx(2.0, abs=0.03)
    assert float(row["low_freq_hz"]) < 3000 < float(row["high_freq_hz"])
    assert (row["common_name"], row["scientific_name"], float(row["score"])) == ("bird", "Aves", 1.0)
    assert row["model"] == f"PaintLoud@{model_info(PaintLoud()).sha256[:12]}"
    moment = datetime.fromisoformat(row["start_datetime"])
    assert row["start_datetime"].endswith("+10:00") and moment.strftime("%H:%M:%S") == "05:30:00"
    assert moment.microsecond / 1e6 == pytest.approx(float(row["start_s"]) % 1, abs=1e-3)
    [raven] = rows_of(os.path.join(result.out_dir, f"{STEM}.selections.txt"), "\t")
    assert (raven["Begin Time (s)"], raven["File Offset (s)"]) == (row["start_s"], row["start_s"])
    assert (raven["Channel"], raven["Species"], raven["Scientific Name"]) == ("1", "bird", "Aves")
    assert raven["Begin Path"] == row["file"] and raven["Begin Date Time"] == row["start_datetime"]
    with open(os.path.join(result.out_dir, f"{STEM}.audacity.txt"), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[0].split("\t") == [f"{float(row['start_s']):.6f}", f"{float(row['end_s']):.6f}", "bird"]
    assert lines[1].split("\t") == ["\\", f"{float(row['low_freq_hz']):.6f}", f"{float(row['high_freq_hz']):.6f}"]


def test_min_score_keeps_only_detections_the_generator_painted_clearly(tone_wav, tmp_path):
    result = run(tone_wav, PaintLoud(REDDISH), tmp_path / "a", min_score=0.5)
    [row] = rows_of(os.path.join(result.out_dir, "detections.csv"))
    d1, d2 = np.linalg.norm(np.subtract(REDDISH, (255, 0, 0))), np.linalg.norm(REDDISH)
    assert float(row["score"]) == pytest.approx(1 - d1 / d2, abs=0.005)
    assert run(tone_wav, PaintLoud(REDDISH), tmp_path / "b", min_score=0.6).n_selections == 0


def test_the_chosen_channel_is_the_one_analysed_and_numbered_from_one_in_the_tables(write_wav, tmp_path):
    stereo = np.stack([np.zeros(3 * 22050, np.float32), call(1.0, 2.0, total_s=3.0)], axis=1)
    path = write_wav("stereo.wav", stereo)
    assert run(path, PaintLoud(), tmp_path / "left", channel=0).n_selections == 0
    result = run(path, PaintLoud(), tmp_path / "right", channel=1)
    [row] = rows_of(os.path.join(result.out_dir, "detections.csv"))
    [raven] = rows_of(os.path.join(result.out_dir, "stereo.selections.txt"), "\t")
    assert row["channel"] == raven["Channel"] == "2" and row["start_datetime"] == ""


def test_kaleidoscope_csv_and_figures_on_request(write_wav, tmp_path):
    write_wav(f"site/{STEM}.wav", call(1.0, 2.0, total_s=3.0))
    write_wav("site/night/SITE_20240501_213000.wav", call(0.5, 1.5, total_s=3.0, seed=1))
    outcome = process_recordings(find_files(str(tmp_path / "site"), (".wav",)), PaintLoud(),
                                 load_palette("community"), str(tmp_path / "res"), input_nc=1, progress=False,
                                 outputs="figures,kaleidoscope")
    rows = rows_of(outcome.tables["kaleidoscope"])
    root = str(tmp_path / "site")
    assert [(r["INDIR"], r["FOLDER"], r["IN FILE"]) for r in rows] == [
        (root, "", f"{STEM}.wav"), (root, "night", "SITE_20240501_213000.wav")]
    assert [(r["DATE"], r["TIME"], r["HOUR"], r["CHANNEL"]) for r in rows] == [
        ("2024-05-01", "05:30:00", "5", "0"), ("2024-05-01", "21:30:00", "21", "0")]
    assert [float(r["OFFSET"]) for r in rows] == pytest.approx([1.0, 0.5], abs=0.03)
    assert float(rows[0]["DURATION"]) == pytest.approx(1.0, abs=0.06) and rows[0]["scientific_name"] == "Aves"
    assert "selections" not in outcome.tables                            # no 'tables' product asked for
    with Image.open(tmp_path / "res" / STEM / f"{STEM}.detections.png") as image:
        figure = np.asarray(image.convert("RGB"))
    assert ((figure == (255, 0, 0)).all(axis=2)).sum() > 100           # the call's box and bar, in bird red


# --------------------------------------------------------------------------- clock times

def test_time_zones_from_offsets_names_and_across_the_change_to_summer_time():
    assert parse_timezone("UTC").utcoffset(None).total_seconds() == 0
    assert parse_timezone("-03:30").utcoffset(None).total_seconds() == -3.5 * 3600
    start = recording_start_time("SITE_20240331_015900.wav", "Europe/Berlin")    # clocks go 02:00 -> 03:00
    assert start.isoformat() == "2024-03-31T01:59:00+01:00"
    assert time_after(start, 120).isoformat() == "2024-03-31T03:01:00+02:00"
    with pytest.raises(UserError, match="--timezone Mars/Olympus"):
        parse_timezone("Mars/Olympus")


# --------------------------------------------------------------------------- the run record, skip or redo

def test_run_record_names_the_weights_checksum_palette_settings_and_version(tone_wav, tmp_path):
    weights = tmp_path / "g.pth"
    weights.write_bytes(b"not really weights, but a file to checksum")
    model = model_info(PaintLoud(), str(weights), "species")
    result = run(tone_wav, PaintLoud(), tmp_path / "out", model=model, min_score=0.25, tile_overlap=16)
    record = record_of(result.out_dir)
    assert record["settings"]["model_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert record["model"]["weights"] == str(weights) and record["software"]["version"] == __version__
    assert record["settings"]["palette"]["name"] == "community" and record["settings"]["spectrogram"]["sr"] == 22050
    assert (record["settings"]["min_score"], record["settings"]["tile_overlap"]) == (0.25, 16)
    assert record["settings"]["precision"] == "float32" and record["results"]["n_detections"] == 1
    assert set(record["outputs"]) == set(os.listdir(result.out_dir)) - {"run.json"}


def test_rerun_with_other_settings_or_another_model_is_redone_and_says_why(tone_wav, tmp_path):
    out = tmp_path / "out"
    first = run(tone_wav, PaintLoud(), out, outputs="tables,audio", audio_format="float")
    assert not first.skipped and os.path.exists(out / "bird.wav")
    assert run(tone_wav, PaintLoud(), out, outputs="tables").skipped          # fewer outputs: done already
    changed = run(tone_wav, PaintLoud(), out, outputs="tables", min_duration_s=2.0)
    assert not changed.skipped and changed.n_selections == 0
    assert "min_duration_s 0.05 -> 2.0" in changed.redo_reason
    assert not os.path.exists(out / "bird.wav")                             # made with the old settings: removed
    assert record_of(out)["settings"]["min_duration_s"] == 2.0
    other = run(tone_wav, PaintEverywhere((255, 0, 0)), out, outputs="tables", min_duration_s=2.0)
    assert not other.skipped and "model_sha256" in other.redo_reason and other.n_selections == 1


def test_outputs_without_a_run_record_are_redone(tone_wav, tmp_path):
    first = run(tone_wav, PaintLoud(), tmp_path / "out")
    os.remove(os.path.join(first.out_dir, "run.json"))
    again = run(tone_wav, PaintLoud(), tmp_path / "out")
    assert not again.skipped and "no run.json" in again.redo_reason


def test_an_interrupted_rerun_keeps_the_earlier_record_and_outputs(tone_wav, tmp_path):
    from torch import nn

    class Broken(nn.Module):
        def forward(self, x):
            raise KeyboardInterrupt

    out = tmp_path / "out"
    run(tone_wav, PaintLoud(), out)
    before = {name: open(out / name, "rb").read() for name in os.listdir(out)}
    with pytest.raises(KeyboardInterrupt):
        run(tone_wav, Broken(), out, min_duration_s=0.5)
    assert {name: open(out / name, "rb").read() for name in os.listdir(out)} == before
    assert run(tone_wav, PaintLoud(), out).skipped


def test_a_recording_below_the_models_rate_is_refused_in_one_line(write_wav, tmp_path):
    path = write_wav("low.wav", call(0.5, 1.0, total_s=2.0, sr=16000, freq_hz=2000), sr=16000)
    with pytest.raises(UserError, match=r"low.wav: recorded at 16000 Hz, below the model's working rate 32000 Hz"):
        run(path, PaintLoud(), tmp_path / "out", params=SpecParams(sr=32000))
