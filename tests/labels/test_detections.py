import numpy as np
import pytest

from util.labels.detections import RegionTracker, regions_from_class_map

SR, N_FFT, HOP = 22050, 512, 256
N_ROWS = 256
FRAME_S, BIN_HZ = HOP / SR, SR / N_FFT


def _map_with_box(first_row, last_row, first_col, last_col, k=1, n_cols=64):
    class_map = np.zeros((N_ROWS, n_cols), np.uint8)
    class_map[first_row:last_row + 1, first_col:last_col + 1] = k
    return class_map


def test_one_rectangle_gives_one_box_with_the_right_edges():
    # rows 200..209 are bins 55..46; frames 10..19 of a tile starting at frame 256
    class_map = _map_with_box(200, 209, 10, 19)
    [region] = regions_from_class_map(class_map, 1, 256, HOP, SR, N_FFT)
    assert region["low_bin"] == 46 and region["high_bin"] == 55
    assert region["low_hz"] == pytest.approx(45.5 * BIN_HZ)
    assert region["high_hz"] == pytest.approx(55.5 * BIN_HZ)
    assert region["first_frame"] == 266 and region["last_frame"] == 275
    assert region["begin_s"] == pytest.approx(265.5 * FRAME_S)
    assert region["end_s"] == pytest.approx(275.5 * FRAME_S)
    assert region["duration_s"] == pytest.approx(10 * FRAME_S)
    assert region["area_px"] == 100
    assert region["score"] == pytest.approx(1.0)  # fills its box


def test_edges_at_zero_time_and_zero_hz_are_clipped():
    class_map = _map_with_box(N_ROWS - 3, N_ROWS - 1, 0, 2)  # bins 0..2, frames 0..2
    [region] = regions_from_class_map(class_map, 1, 0, HOP, SR, N_FFT)
    assert region["begin_s"] == 0.0 and region["low_hz"] == 0.0


def test_two_separate_blobs_give_two_boxes_in_time_order():
    class_map = _map_with_box(100, 110, 40, 50)
    class_map[20:30, 5:9] = 1
    regions = regions_from_class_map(class_map, 1, 0, HOP, SR, N_FFT)
    assert [r["first_frame"] for r in regions] == [5, 40]


def test_diagonal_neighbours_are_one_region():
    class_map = np.zeros((N_ROWS, 10), np.uint8)
    class_map[[50, 49, 48], [2, 3, 4]] = 1  # a rising sweep, one row per frame
    [region] = regions_from_class_map(class_map, 1, 0, HOP, SR, N_FFT)
    assert region["area_px"] == 3
    assert region["score"] == pytest.approx(3 / 9)


def test_other_classes_are_not_detected_as_k():
    class_map = _map_with_box(100, 110, 40, 50, k=2)
    assert regions_from_class_map(class_map, 1, 0, HOP, SR, N_FFT) == []
    assert len(regions_from_class_map(class_map, 2, 0, HOP, SR, N_FFT)) == 1


def test_min_duration_and_min_area_filter_short_and_small_regions():
    class_map = _map_with_box(100, 110, 40, 59)   # 20 frames ~ 0.23 s
    class_map[20:22, 5:7] = 1                      # 2 frames, 4 px
    kept = regions_from_class_map(class_map, 1, 0, HOP, SR, N_FFT, min_duration_s=0.1)
    assert [r["first_frame"] for r in kept] == [40]
    kept = regions_from_class_map(class_map, 1, 0, HOP, SR, N_FFT, min_area_px=5)
    assert [r["first_frame"] for r in kept] == [40]
    exactly_two_frames = regions_from_class_map(class_map, 1, 0, HOP, SR, N_FFT, min_duration_s=2 * FRAME_S)
    assert len(exactly_two_frames) == 2


def test_score_map_gives_the_mean_score_of_the_region():
    class_map = _map_with_box(10, 11, 3, 4)
    score_map = np.zeros(class_map.shape)
    score_map[10, 3:5] = 1.0
    [region] = regions_from_class_map(class_map, 1, 0, HOP, SR, N_FFT, score_map=score_map)
    assert region["score"] == pytest.approx(0.5)


def test_call_split_across_two_tiles_is_one_detection():
    recording = _map_with_box(100, 120, 50, 80, n_cols=128)
    recording[30:40, 10:20] = 1   # a call wholly inside tile 0
    recording[30:40, 100:110] = 2  # another class, wholly inside tile 1
    tracker = RegionTracker(HOP, SR, N_FFT)
    found = tracker.push(recording[:, :64], 0)
    assert [r["first_frame"] for r in found] == [10]  # the split call is held back, still open
    found += tracker.push(recording[:, 64:], 64)
    found += tracker.finish()
    split = [r for r in found if r["first_frame"] == 50]
    assert len(split) == 1
    assert split[0]["last_frame"] == 80 and split[0]["area_px"] == 21 * 31
    assert sorted((r["class_index"], r["first_frame"]) for r in found) == [(1, 10), (1, 50), (2, 100)]


def test_tracker_gives_the_same_regions_as_the_whole_map():
    rng = np.random.default_rng(0)
    recording = (rng.random((32, 200)) < 0.08).astype(np.uint8)
    whole = regions_from_class_map(recording, 1, 0, HOP, SR, N_FFT)
    tracker = RegionTracker(HOP, SR, N_FFT, classes=[1])
    tiled = []
    for start in range(0, 200, 16):
        tiled += tracker.push(recording[:, start:start + 16], start)
    tiled += tracker.finish()
    key = lambda r: (r["first_frame"], r["low_bin"], r["area_px"])  # noqa: E731
    assert sorted(map(key, tiled)) == sorted(map(key, whole))


def test_tracker_ignores_padding_of_the_last_tile():
    tile = _map_with_box(100, 110, 0, 63)
    tracker = RegionTracker(HOP, SR, N_FFT)
    regions = tracker.push(tile, 0, n_valid_frames=40) + tracker.finish()
    assert [r["last_frame"] for r in regions] == [39]


def test_tracker_closes_a_region_longer_than_max_duration():
    tracker = RegionTracker(HOP, SR, N_FFT, max_duration_s=100 * FRAME_S)
    regions = []
    for start in range(0, 300, 50):
        regions += tracker.push(_map_with_box(10, 12, 0, 49, n_cols=50), start)
    regions += tracker.finish()
    assert len(regions) > 1
    assert max(r["last_frame"] - r["first_frame"] + 1 for r in regions) <= 150
    assert sum(r["area_px"] for r in regions) == 3 * 300  # nothing lost, nothing counted twice


def test_tracker_refuses_overlapping_tiles():
    tracker = RegionTracker(HOP, SR, N_FFT)
    tracker.push(_map_with_box(10, 12, 60, 63), 0)
    with pytest.raises(ValueError):
        tracker.push(_map_with_box(10, 12, 0, 3), 32)
