"""The region tracker as it was before issue 11 item 3, kept only as the baseline of ``bench_infer.py --trackers``
and as the reference of ``tests/labels/test_tracker_equivalence.py`` (not part of util).

It re-labels the whole strip of open regions plus the new tile, one class at a time, and walks every region
in Python (``_components``): its cost grows with the number of regions, so a busy class map (a dense chorus,
a poorly fitting or untrained generator) made job04 several times slower than real time at ngf 64.
:mod:`util.labels.detections` gives the same detections in the same order with vectorised region statistics.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

EIGHT_CONNECTED = np.ones((3, 3), bool)
DEFAULT_MAX_DURATION_S = 60.0


def regions_from_class_map(class_map: np.ndarray, k: int, start_frame: int, hop_length: int, sr: int,
                           n_fft: int, min_duration_s: float = 0.0, min_area_px: int = 0,
                           score_map: np.ndarray | None = None,
                           n_valid_frames: int | None = None) -> list[dict]:
    """Connected regions of class ``k`` in one class map (rows, frames) -> detections, sorted by time.

    ``start_frame`` is the recording frame of column 0; ``score_map`` (same shape,
    any float scale) gives each region the mean score of its pixels. Regions shorter
    than ``min_duration_s`` (frames × hop/sr) or smaller than ``min_area_px`` are dropped.
    Columns from ``n_valid_frames`` on (a last tile's padding) are ignored.
    """
    class_map, score_map = _crop(class_map, score_map, n_valid_frames)
    grid = _Grid(class_map.shape[0], hop_length, sr, n_fft)
    regions = [grid.region(k, *found, start_frame) for found in _components(class_map == k, score_map)]
    return _sorted(_keep(regions, min_duration_s, min_area_px))


class RegionTracker:
    """Detections over a long recording fed tile by tile, joining regions across tile boundaries.

    Call :meth:`push` with each tile's class map in recording order; it returns the
    regions that are finished (no longer touching the newest column). Call
    :meth:`finish` at the end for the rest. Only the columns of still-open regions
    are carried over, so memory stays bounded; a region open for longer than
    ``max_duration_s`` (a chorus, a generator) is closed there and continues as a
    new detection.

    ``classes``: the class indices to detect (default: every non-zero class met).
    """

    def __init__(self, hop_length: int, sr: int, n_fft: int, classes: list[int] | None = None,
                 min_duration_s: float = 0.0, min_area_px: int = 0,
                 max_duration_s: float = DEFAULT_MAX_DURATION_S):
        self.hop_length, self.sr, self.n_fft = hop_length, sr, n_fft
        self.classes = None if classes is None else [int(k) for k in classes]
        self.min_duration_s = min_duration_s
        self.min_area_px = min_area_px
        self.max_frames = max(1, int(round(max_duration_s * sr / hop_length)))
        self._strip: np.ndarray | None = None     # class map of open regions only, (rows, frames)
        self._scores: np.ndarray | None = None
        self._strip_start = 0                      # recording frame of the strip's column 0

    def push(self, class_map: np.ndarray, start_frame: int, score_map: np.ndarray | None = None,
             n_valid_frames: int | None = None) -> list[dict]:
        """Add the next tile (its column 0 is recording frame ``start_frame``); return finished regions."""
        class_map, score_map = _crop(class_map, score_map, n_valid_frames)
        finished = []
        if self._strip is not None and start_frame != self._strip_start + self._strip.shape[1]:
            if start_frame < self._strip_start + self._strip.shape[1]:
                raise ValueError(f"tile at frame {start_frame} overlaps frames already seen "
                                 f"(up to {self._strip_start + self._strip.shape[1] - 1})")
            finished = self.finish()  # a gap: nothing can join across it
        self._append(class_map, score_map, start_frame)
        return finished + self._close_finished()

    def finish(self) -> list[dict]:
        """Return every region still open and reset the tracker."""
        if self._strip is None:
            return []
        regions = [region for region, _, _ in self._label_strip()]
        self._strip = self._scores = None
        return _sorted(_keep(regions, self.min_duration_s, self.min_area_px))

    def _append(self, class_map: np.ndarray, score_map: np.ndarray | None, start_frame: int) -> None:
        if self._strip is None:
            self._strip, self._scores, self._strip_start = class_map, score_map, start_frame
            return
        if (self._scores is None) != (score_map is None):
            raise ValueError("give a score_map with every tile or with none")
        if class_map.shape[0] != self._strip.shape[0]:
            raise ValueError(f"tile has {class_map.shape[0]} rows, earlier tiles {self._strip.shape[0]}")
        self._strip = np.concatenate([self._strip, class_map], axis=1)
        if score_map is not None:
            self._scores = np.concatenate([self._scores, score_map], axis=1)

    def _label_strip(self):
        """(region, pixel mask within the strip, is_open) for every region of the strip."""
        grid = _Grid(self._strip.shape[0], self.hop_length, self.sr, self.n_fft)
        width = self._strip.shape[1]
        classes = self.classes if self.classes is not None else [int(k) for k in np.unique(self._strip) if k]
        for k in classes:
            for rows, cols, area, score, pixels in _components(self._strip == k, self._scores, with_pixels=True):
                is_open = cols.stop == width and cols.stop - cols.start < self.max_frames
                yield grid.region(k, rows, cols, area, score, self._strip_start), (rows, cols, pixels), is_open

    def _close_finished(self) -> list[dict]:
        finished = []
        keep = np.zeros(self._strip.shape, bool)
        first_open = self._strip.shape[1]
        for region, (rows, cols, pixels), is_open in self._label_strip():
            if is_open:
                keep[rows, cols] |= pixels
                first_open = min(first_open, cols.start)
            else:
                finished.append(region)
        # carry only the open regions' pixels: finished ones must not be reported twice
        self._strip = np.where(keep, self._strip, 0)[:, first_open:].astype(self._strip.dtype)
        if self._scores is not None:
            self._scores = self._scores[:, first_open:]
        self._strip_start += first_open
        return _sorted(_keep(finished, self.min_duration_s, self.min_area_px))


class _Grid:
    """Pixel -> seconds and hertz, for a class map of ``n_rows`` rows (row r is bin n_rows - 1 - r)."""

    def __init__(self, n_rows: int, hop_length: int, sr: int, n_fft: int):
        self.n_rows, self.hop_length, self.sr, self.n_fft = n_rows, hop_length, sr, n_fft

    def region(self, k: int, rows: slice, cols: slice, area: int, score: float, start_frame: int) -> dict:
        first_frame, last_frame = start_frame + cols.start, start_frame + cols.stop - 1
        low_bin, high_bin = self.n_rows - rows.stop, self.n_rows - 1 - rows.start
        frame_s, bin_hz = self.hop_length / self.sr, self.sr / self.n_fft
        return {
            "class_index": int(k),
            "begin_s": max(0.0, (first_frame - 0.5) * frame_s),
            "end_s": (last_frame + 0.5) * frame_s,
            "low_hz": max(0.0, (low_bin - 0.5) * bin_hz),
            "high_hz": (high_bin + 0.5) * bin_hz,
            "first_frame": int(first_frame), "last_frame": int(last_frame),
            "low_bin": int(low_bin), "high_bin": int(high_bin),
            "area_px": int(area),
            "score": float(score),
            "duration_s": (last_frame - first_frame + 1) * frame_s,
        }


def _components(mask: np.ndarray, score_map: np.ndarray | None, with_pixels: bool = False):
    """Yield (row slice, column slice, area, score[, pixel mask in the box]) per 8-connected region."""
    labels, _ = ndimage.label(mask, structure=EIGHT_CONNECTED)
    for label, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        pixels = labels[box] == label
        area = int(pixels.sum())
        score = float(score_map[box][pixels].mean()) if score_map is not None else area / pixels.size
        yield (box[0], box[1], area, score, pixels) if with_pixels else (box[0], box[1], area, score)


def _crop(class_map, score_map, n_valid_frames):
    class_map = np.asarray(class_map)
    if class_map.ndim != 2:
        raise ValueError(f"a class map is 2-D (rows, frames), got shape {class_map.shape}")
    if score_map is not None:
        score_map = np.asarray(score_map, np.float64)
        if score_map.shape != class_map.shape:
            raise ValueError(f"score_map {score_map.shape} and class map {class_map.shape} differ in shape")
    if n_valid_frames is not None:
        class_map = class_map[:, :n_valid_frames]
        score_map = None if score_map is None else score_map[:, :n_valid_frames]
    return class_map, score_map


def _keep(regions: list[dict], min_duration_s: float, min_area_px: int) -> list[dict]:
    return [r for r in regions if r["duration_s"] >= min_duration_s - 1e-9 and r["area_px"] >= min_area_px]


def _sorted(regions: list[dict]) -> list[dict]:
    return sorted(regions, key=lambda r: (r["begin_s"], r["low_hz"], r["class_index"]))
