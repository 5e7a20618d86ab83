"""Figures of job04's recording mode: each recording's spectrogram with its detections boxed; the run's diel
activity and occupancy, with the numbers behind them.

The recordings go through PaintLoud (test_recording.py), which paints 'bird' exactly where the input is loud,
so every detection is known; the diel and occupancy numbers are checked against counts made by hand.
"""

import csv
import os
from datetime import datetime, timezone

import numpy as np
import pytest
from PIL import Image
from test_recording import PaintLoud, call, run

from util.cli import find_files
from util.labels.palette import load_palette
from util.recording import figures, process_recordings
from util.recording.clock import recording_start_time
from util.recording.figures import Box, SpectrogramOverview, clock_ticks_s, detection_boxes
from util.recording.summaries import (
    RecordingDetections,
    detection_occupancy,
    diel_activity,
    seconds_per_hour_of_day,
)

COMMUNITY = load_palette("community")
UTC = timezone.utc


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def detection(start_s, end_s, low_hz, high_hz, name="bird", at=""):
    return {"start_s": start_s, "end_s": end_s, "low_freq_hz": low_hz, "high_freq_hz": high_hz,
            "common_name": name, "start_datetime": at}


# --------------------------------------------------------------------------- one recording's figure

def test_a_detection_at_1_to_2_s_and_2_to_4_khz_is_the_rectangle_at_1_s_2_khz_1_s_wide_2_khz_high():
    boxes = detection_boxes([detection(1.0, 2.0, 2000.0, 4000.0), detection("3.5", "3.75", "500", "1500", "human")],
                            COMMUNITY)
    assert boxes == [Box(1.0, 2.0, 1.0, 2.0, 1), Box(3.5, 0.5, 0.25, 1.0, 3)]


def test_each_recording_gets_a_png_of_its_spectrogram_with_its_call_boxed_in_bird_red(write_wav, tmp_path,
                                                                                       monkeypatch):
    drawn = []
    draw_boxes = figures._draw_boxes
    monkeypatch.setattr(figures, "_draw_boxes", lambda axes, boxes, palette: (drawn.append(boxes),
                                                                              draw_boxes(axes, boxes, palette)))
    path = write_wav("SITE_20240501_053000.wav", call(1.0, 2.0, total_s=3.0))
    result = run(path, PaintLoud(), tmp_path / "out", outputs="figures")
    assert sorted(os.listdir(result.out_dir)) == ["SITE_20240501_053000.detections.png", "detections.csv", "run.json"]
    [[box]] = drawn
    assert box.class_index == 1 and box.x == pytest.approx(1.0, abs=0.03) and box.width == pytest.approx(1.0, abs=0.06)
    assert box.y < 3.0 < box.y + box.height and box.height < 0.5                      # kHz: the 3 kHz tone
    with Image.open(os.path.join(result.out_dir, "SITE_20240501_053000.detections.png")) as image:
        assert image.format == "PNG" and image.size[0] == 1400 and 400 < image.size[1] < 800
        pixels = np.asarray(image.convert("RGB"))
    assert ((pixels == (255, 0, 0)).all(axis=2)).sum() > 100                          # the box, bar and legend


def test_a_long_recording_is_drawn_as_the_loudest_of_every_k_frames():
    overview = SpectrogramOverview(n_rows=2, n_frames=10, max_columns=4)
    frames = np.array([[1, 9, 2, 3, 4, 8, 5, 6, 7, 0], [0] * 10], np.uint8)
    for first, last in ((0, 2), (2, 7), (7, 10)):                                     # blocks of any length
        overview.add(frames[:, first:last])
    assert overview.frames_per_column == 3
    assert overview.image().tolist() == [[9, 8, 7, 0], [0, 0, 0, 0]]


def test_clock_ticks_fall_on_round_times_of_day():
    assert clock_ticks_s(datetime(2024, 5, 1, 5, 30, 0, tzinfo=UTC), 20.0) == list(range(0, 21, 2))
    assert clock_ticks_s(datetime(2024, 5, 1, 5, 29, 58, 500000, tzinfo=UTC), 60.0) == [1.5, 11.5, 21.5, 31.5, 41.5,
                                                                                         51.5]


# --------------------------------------------------------------------------- the run's diel activity and occupancy

def test_recorded_seconds_are_split_across_the_hours_and_follow_the_clock_across_midnight_and_summer_time():
    across_midnight = seconds_per_hour_of_day(datetime(2024, 5, 1, 23, 50, tzinfo=UTC), 1200.0)
    assert (across_midnight[23], across_midnight[0], across_midnight.sum()) == (600.0, 600.0, 1200.0)
    berlin = recording_start_time("SITE_20240331_015900.wav", "Europe/Berlin")      # 02:00 -> 03:00
    summer = seconds_per_hour_of_day(berlin, 120.0)
    assert (summer[1], summer[2], summer[3]) == (60.0, 0.0, 60.0)


def test_diel_counts_and_occupancy_equal_the_hand_counts_and_a_file_without_a_start_is_left_out():
    at = lambda h, m: datetime(2024, 5, 1, h, m, tzinfo=UTC).isoformat()          # noqa: E731
    dawn = RecordingDetections("SITE_20240501_053000.wav", datetime(2024, 5, 1, 5, 30, tzinfo=UTC), 3600.0, [
        detection(60, 61, 2000, 4000, "bird", at(5, 31)), detection(900, 901, 2000, 4000, "insect", at(5, 45)),
        detection(1799, 1800, 2000, 4000, "bird", at(5, 59)), detection(2400, 2401, 2000, 4000, "bird", at(6, 10))])
    later = RecordingDetections("SITE_20240501_061000.wav", datetime(2024, 5, 1, 6, 10, tzinfo=UTC), 600.0, [
        detection(300, 301, 2000, 4000, "bird", at(6, 15))])
    untimed = RecordingDetections("clip.wav", None, 30.0, [detection(1, 2, 100, 900, "human")] * 2)
    diel = diel_activity([dawn, later, untimed], ("bird", "insect", "human"))
    expected = np.zeros((3, 24), int)
    expected[0, 5], expected[0, 6], expected[1, 5] = 2, 2, 1
    assert diel.counts.tolist() == expected.tolist()
    assert (diel.recorded_s[5], diel.recorded_s[6], diel.recorded_s.sum()) == (1800.0, 2400.0, 4200.0)
    assert (diel.n_recordings, diel.n_left_out, diel.n_detections_left_out) == (2, 1, 2)
    occupancy = detection_occupancy([dawn, later, untimed], ("bird", "insect", "human"))
    assert occupancy.recordings_with_detections.tolist() == [2, 1, 1] and occupancy.detections.tolist() == [4, 1, 2]
    assert occupancy.share.tolist() == pytest.approx([2 / 3, 1 / 3, 1 / 3])


def test_a_run_over_a_folder_writes_diel_activity_and_occupancy_with_their_numbers(write_wav, tmp_path):
    write_wav("site/SITE_20240501_053000.wav", call(1.0, 2.0, total_s=3.0))
    write_wav("site/SITE_20240501_061000.wav", call(0.5, 1.5, total_s=3.0, seed=1))
    write_wav("site/SITE_20240501_062000.wav", call(0.5, 1.5, total_s=3.0, amplitude=0.0, seed=2))   # silent
    write_wav("site/untimed.wav", call(0.5, 1.5, total_s=3.0, seed=3))
    outcome = process_recordings(find_files(str(tmp_path / "site"), (".wav",)), PaintLoud(), COMMUNITY,
                                 str(tmp_path / "res"), input_nc=1, progress=False, outputs="figures")
    assert {os.path.basename(outcome.tables[k]) for k in ("diel_figure", "diel", "occupancy_figure",
                                                          "occupancy_by_class")} == {
        "diel_activity.png", "diel_activity.csv", "occupancy.png", "occupancy_by_class.csv"}
    diel = {(int(r["hour"]), r["class"]): r for r in rows_of(outcome.tables["diel"])}
    assert len(diel) == 24 * 3
    assert [int(diel[h, "bird"]["detections"]) for h in (5, 6)] == [1, 1]             # untimed.wav left out
    assert sum(int(r["detections"]) for r in diel.values()) == 2
    assert float(diel[6, "bird"]["recorded_minutes"]) == pytest.approx(6.0 / 60, abs=1e-3)
    assert float(diel[6, "bird"]["detections_per_recorded_hour"]) == pytest.approx(600, rel=1e-3)
    assert diel[7, "bird"]["recorded_minutes"] == "0" and diel[7, "bird"]["detections_per_recorded_hour"] == ""
    [bird, insect, human] = rows_of(outcome.tables["occupancy_by_class"])
    assert (bird["class"], bird["recordings"], bird["recordings_with_detections"]) == ("bird", "4", "3")
    assert float(bird["share_of_recordings"]) == pytest.approx(0.75) and insect["recordings_with_detections"] == "0"
    for key in ("diel_figure", "occupancy_figure"):
        with Image.open(outcome.tables[key]) as image:
            assert image.format == "PNG" and image.size[0] >= 700 and image.size[1] >= 150
