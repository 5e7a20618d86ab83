"""The vectorised region tracker gives the detections the old one gave: same boxes, order, scores and rules.

References: the tracker as it was before issue 11 item 3 (``bench/old_tracker.py``, the bench's baseline),
which re-labelled its strip and walked every region in Python; and, for a map that fits in one strip, plain
``scipy.ndimage.label`` over the whole map, one class at a time.
"""

import numpy as np
import pytest
from scipy import ndimage

from bench.old_tracker import RegionTracker as OldTracker
from bench.old_tracker import regions_from_class_map as old_regions_from_class_map
from util.labels.detections import RegionTracker, regions_from_class_map

SR, N_FFT, HOP = 22050, 512, 256
FRAME_S = HOP / SR
SEEDS = range(6)


def busy_map(rng, rows=48, frames=400, n_classes=3, density=0.6) -> np.ndarray:
    """Salt-and-pepper classes: thousands of small regions, many touching tile boundaries."""
    present = rng.random((rows, frames)) < density
    return (present * rng.integers(1, n_classes + 1, (rows, frames))).astype(np.uint8)


def streaky_map(rng, rows=48, frames=400, n_classes=2) -> np.ndarray:
    """Long calls: smoothed noise cut at a level, so regions run over many tiles, split and join again."""
    field = ndimage.gaussian_filter(rng.standard_normal((rows, frames)), (1.0, 6.0))
    classes = ndimage.gaussian_filter(rng.standard_normal((rows, frames)), (4.0, 20.0)) > 0
    return np.where(field > 0.15, 1 + classes * (n_classes - 1), 0).astype(np.uint8)


def feed(tracker, class_map, widths, score_map=None) -> list[list[dict]]:
    """What each push returns (then finish), tiles of the given widths from frame 0."""
    out, start = [], 0
    for width in widths:
        width = min(width, class_map.shape[1] - start)
        if width <= 0:
            break
        scores = None if score_map is None else score_map[:, start:start + width]
        out.append(tracker.push(class_map[:, start:start + width], start, scores))
        start += width
    return out + [tracker.finish()]


def assert_same_detections(new: list[dict], old: list[dict]) -> None:
    assert len(new) == len(old)
    for ours, theirs in zip(new, old):
        assert {k: v for k, v in ours.items() if k != "score"} == {k: v for k, v in theirs.items() if k != "score"}
        assert ours["score"] == pytest.approx(theirs["score"], rel=1e-12, abs=1e-15)  # sums in another order


def compare_trackers(class_map, widths, score_map=None, **settings) -> int:
    new = feed(RegionTracker(HOP, SR, N_FFT, **settings), class_map, widths, score_map)
    old = feed(OldTracker(HOP, SR, N_FFT, **settings), class_map, widths, score_map)
    assert len(new) == len(old)
    for new_push, old_push in zip(new, old):
        assert_same_detections(new_push, old_push)
    return sum(map(len, new))


@pytest.mark.parametrize("seed", SEEDS)
def test_busy_masks_give_the_old_trackers_detections_push_by_push(seed):
    rng = np.random.default_rng(seed)
    class_map = busy_map(rng, density=rng.uniform(0.3, 0.8))
    widths = rng.integers(1, 48, 40)
    scores = rng.random(class_map.shape).astype(np.float32)
    assert compare_trackers(class_map, widths) > 100
    assert compare_trackers(class_map, widths, scores, min_duration_s=3 * FRAME_S, min_area_px=4) > 10


@pytest.mark.parametrize("seed", SEEDS)
def test_long_calls_across_tile_boundaries_give_the_old_trackers_detections(seed):
    rng = np.random.default_rng(100 + seed)
    class_map = streaky_map(rng)
    widths = rng.integers(1, 24, 60)           # narrow tiles: most regions cross several boundaries
    scores = rng.random(class_map.shape)
    assert compare_trackers(class_map, widths, scores) > 10
    # calls cut at max_duration and continued as new detections, as the old tracker cut them
    assert compare_trackers(class_map, widths, scores, max_duration_s=30 * FRAME_S, min_area_px=10) > 10


@pytest.mark.parametrize("seed", SEEDS)
def test_a_subset_of_classes_gives_the_old_trackers_detections(seed):
    rng = np.random.default_rng(200 + seed)
    class_map = busy_map(rng, n_classes=4, density=0.7)
    compare_trackers(class_map, rng.integers(8, 64, 20), classes=[3, 1], max_duration_s=20 * FRAME_S)


@pytest.mark.parametrize("seed", SEEDS)
def test_one_class_map_gives_the_old_functions_detections(seed):
    rng = np.random.default_rng(300 + seed)
    class_map, scores = busy_map(rng, density=0.5), rng.random((48, 400))
    for k in (1, 2, 3):
        assert_same_detections(regions_from_class_map(class_map, k, 1000, HOP, SR, N_FFT, 0.02, 3, scores),
                               old_regions_from_class_map(class_map, k, 1000, HOP, SR, N_FFT, 0.02, 3, scores))


def whole_map_regions(class_map: np.ndarray) -> list[tuple]:
    """(class, first frame, last frame, top row, bottom row, area) of every region, by scipy over the whole map."""
    found = []
    for k in np.unique(class_map[class_map > 0]):
        labels, _ = ndimage.label(class_map == k, structure=np.ones((3, 3), bool))
        for label, (rows, cols) in enumerate(ndimage.find_objects(labels), start=1):
            found.append((int(k), cols.start, cols.stop - 1, rows.start, rows.stop - 1,
                          int((labels[rows, cols] == label).sum())))
    return found


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("make_map", [busy_map, streaky_map])
def test_tiles_give_the_regions_of_the_whole_map(seed, make_map):
    class_map = make_map(np.random.default_rng(400 + seed))
    tiled = sum(feed(RegionTracker(HOP, SR, N_FFT), class_map, [37] * 20), [])
    assert len(tiled) > 5
    rows = class_map.shape[0]
    as_tuples = sorted((r["class_index"], r["first_frame"], r["last_frame"], rows - 1 - r["high_bin"],
                        rows - 1 - r["low_bin"], r["area_px"]) for r in tiled)
    assert as_tuples == sorted(whole_map_regions(class_map))


def test_one_push_orders_by_time_frequency_class_then_first_pixel():
    # two class-1 regions with the same first frame and the same lowest row (bin): the one whose first pixel
    # comes first in raster order (top row first) is listed first, as scipy numbers them
    class_map = np.zeros((12, 12), np.uint8)
    class_map[8, 2:6] = 1                       # region A: row 8, frames 2..5
    class_map[3:9, 8] = 1                       # region B: rows 3..8 at frame 8 ...
    class_map[3, 2:8] = 1                       # ... reaching back to frame 2 along row 3
    class_map[8, 10] = 2                        # another class, same low bin: after both
    regions = regions_from_class_map(class_map, 1, 0, HOP, SR, N_FFT) + \
        regions_from_class_map(class_map, 2, 0, HOP, SR, N_FFT)
    tracked = sum(feed(RegionTracker(HOP, SR, N_FFT), class_map, [12]), [])
    assert [(r["class_index"], r["area_px"]) for r in tracked] == [(1, 12), (1, 4), (2, 1)]
    assert [r["area_px"] for r in regions[:2]] == [12, 4]
    assert_same_detections(tracked, sum(feed(OldTracker(HOP, SR, N_FFT), class_map, [12]), []))


def test_memory_does_not_grow_with_the_recording():
    rng = np.random.default_rng(7)
    tracker = RegionTracker(HOP, SR, N_FFT, min_area_px=10)
    for start in range(0, 100 * 64, 64):
        tracker.push(busy_map(rng, rows=32, frames=64), start)
        # what is carried is the open regions (each touches the last column) and that column, not the frames
        assert len(tracker._open) <= 32 and tracker._edge.shape == (32,)


def test_empty_and_padding_only_tiles_change_nothing():
    class_map = np.zeros((16, 40), np.uint8)
    class_map[4:6, 30:40] = 1
    tracker = RegionTracker(HOP, SR, N_FFT)
    assert tracker.push(class_map, 0) == [] and tracker.push(class_map[:, :0], 40) == []
    assert tracker.push(class_map, 40, n_valid_frames=0) == []
    [region] = tracker.push(np.zeros((16, 8), np.uint8), 40) + tracker.finish()
    assert (region["first_frame"], region["last_frame"], region["area_px"]) == (30, 39, 20)
