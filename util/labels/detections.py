"""From a class map to detections: one time–frequency box per connected region of a class.

A region is a set of class-k pixels connected through their 8 neighbours
(diagonals included: a frequency sweep moves one row per frame). Each becomes a
dict that a Raven selection table can be written from:

``class_index``  k (1-based palette class)
``begin_s``, ``end_s``  time span in seconds from the start of the recording
``low_hz``, ``high_hz``  frequency span in Hz
``first_frame``, ``last_frame``, ``low_bin``, ``high_bin``  the same span in STFT frames and bins (inclusive)
``duration_s``  frames × hop/sr (what ``min_duration_s`` is compared with)
``area_px``  the region's pixels (each one frame × one bin)
``score``  mean of ``score_map`` over the region if one is given, else the share of
           its bounding box the region fills, in [0, 1]

Each call returns its detections sorted by begin time, low frequency and class; regions equal in all three
by the raster order of their first pixel (top row first), the order ``scipy.ndimage.label`` numbers them in.

Conventions (our choice, consistent with :mod:`util.quantify`):

- Time: frame ``j`` is centred on sample ``j·hop_length`` (centred STFT) and stands
  for the hop around its centre, so frames ``c0..c1`` cover
  ``[(c0 − ½)·hop/sr, (c1 + ½)·hop/sr]``, clipped at 0. A region's duration is
  therefore (frames) × hop/sr, the same seconds :func:`util.labels.quantify.seconds_present`
  counts, and adjacent frames' boxes tile time without overlap. (The analysis
  window itself reaches n_fft/2 samples either side of the centre.)
- Frequency: bin ``b`` is centred on ``b·sr/n_fft`` and covers half a bin either
  side, so bins ``b0..b1`` cover ``[(b0 − ½)·sr/n_fft, (b1 + ½)·sr/n_fft]``, clipped at 0.

Long recordings: :class:`RegionTracker` takes tiles in order and joins the regions still open at a tile's
left edge with those of the tile, so a call that crosses a tile boundary is one detection, not two.

How (the cost follows the pixels, not the number of regions, so a busy class map is as fast as a quiet one):
each tile is labelled once, all classes in one pass (``skimage.measure.label``); every region's box, area and
score sum come from array reductions over its pixels (``np.minimum.at``, ``np.bincount``); regions that touch across the seam
(the tracker's last column against the tile's first, same class, 8 neighbours) are joined as connected
components of a small graph (``scipy.sparse.csgraph``). Between tiles only the open regions' statistics and
the last column of their labels are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage import measure

DEFAULT_MAX_DURATION_S = 60.0
_ORDER_SHIFT = 42        # order key = top row << 42 | frame: frames below 2**42 (1.6 million years at 86 frames/s)


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
    labels, n = _label_classes(class_map == k, None)
    regions = _tile_regions(class_map, labels, n, score_map, start_frame)
    grid = _Grid(class_map.shape[0], hop_length, sr, n_fft)
    return _detections(regions, grid, min_duration_s, min_area_px, score_map is not None)


class RegionTracker:
    """Detections over a long recording fed tile by tile, joining regions across tile boundaries.

    Call :meth:`push` with each tile's class map in recording order; it returns the
    regions that are finished (no longer touching the newest column). Call
    :meth:`finish` at the end for the rest. Only the open regions' statistics and the
    last column are carried over, so memory is bounded by one tile; a region open for
    longer than ``max_duration_s`` (a chorus, a generator) is closed at the end of the
    tile where it reaches that length and continues as a new detection.

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
        self._end: int | None = None          # recording frame after the last column seen; None: nothing open
        self._open: _Regions | None = None    # regions touching the last column
        self._edge: np.ndarray | None = None  # (rows,) the last column: index into _open, -1 where none
        self._scored = False                  # tiles come with a score map

    def push(self, class_map: np.ndarray, start_frame: int, score_map: np.ndarray | None = None,
             n_valid_frames: int | None = None) -> list[dict]:
        """Add the next tile (its column 0 is recording frame ``start_frame``); return finished regions."""
        class_map, score_map = _crop(class_map, score_map, n_valid_frames)
        finished = []
        if self._end is not None and start_frame != self._end:
            if start_frame < self._end:
                raise ValueError(f"tile at frame {start_frame} overlaps frames already seen (up to {self._end - 1})")
            finished = self.finish()  # a gap: nothing can join across it
        if self._end is None:
            self._open, self._edge = _Regions.empty(), np.full(class_map.shape[0], -1)
            self._scored = score_map is not None
        elif self._scored != (score_map is not None):
            raise ValueError("give a score_map with every tile or with none")
        elif class_map.shape[0] != len(self._edge):
            raise ValueError(f"tile has {class_map.shape[0]} rows, earlier tiles {len(self._edge)}")
        self._end = start_frame + class_map.shape[1]
        if class_map.shape[1] == 0:
            return finished
        return finished + self._advance(class_map, score_map, start_frame)

    def finish(self) -> list[dict]:
        """Return every region still open and reset the tracker."""
        if self._end is None:
            return []
        regions, rows = self._open, len(self._edge)
        self._end = self._open = self._edge = None
        return _detections(regions, self._grid(rows), self.min_duration_s, self.min_area_px, self._scored)

    def _advance(self, class_map: np.ndarray, score_map: np.ndarray | None, start_frame: int) -> list[dict]:
        """Label the tile, join it to the open regions, keep those touching its last column open."""
        labels, n = _label_classes(class_map, self.classes)              # [rows, frames], 0 = none
        tile = _tile_regions(class_map, labels, n, score_map, start_frame)
        joined, group = _join(self._open, self._edge, tile, labels[:, 0] - 1)
        is_open = (joined.last == self._end - 1) & (joined.last - joined.first + 1 < self.max_frames)
        index_if_open = np.full(len(joined), -1)
        index_if_open[is_open] = np.arange(np.count_nonzero(is_open))
        right = labels[:, -1] - 1
        self._edge = np.full(len(right), -1)
        self._edge[right >= 0] = index_if_open[group[len(self._open) + right[right >= 0]]]
        self._open = joined.take(is_open)
        return _detections(joined.take(~is_open), self._grid(class_map.shape[0]), self.min_duration_s,
                           self.min_area_px, self._scored)

    def _grid(self, n_rows: int) -> _Grid:
        return _Grid(n_rows, self.hop_length, self.sr, self.n_fft)


@dataclass
class _Regions:
    """Regions as parallel arrays, one entry per region; rows and frames inclusive."""

    cls: np.ndarray          # class index
    top: np.ndarray          # first row (the highest bin)
    bottom: np.ndarray       # last row
    first: np.ndarray        # first recording frame
    last: np.ndarray         # last recording frame
    area: np.ndarray         # pixels
    score_sum: np.ndarray    # float: the score map summed over the pixels (0 without one)
    order: np.ndarray        # top row << _ORDER_SHIFT | its first frame in that row: raster order of the first pixel

    @staticmethod
    def empty() -> _Regions:
        return _Regions(*(np.zeros(0, float if f.name == "score_sum" else np.int64) for f in fields(_Regions)))

    def __len__(self) -> int:
        return len(self.cls)

    def take(self, which: np.ndarray) -> _Regions:
        return _Regions(*(getattr(self, f.name)[which] for f in fields(self)))

    def concat(self, other: _Regions) -> _Regions:
        return _Regions(*(np.concatenate([getattr(self, f.name), getattr(other, f.name)]) for f in fields(self)))

    def grouped(self, group: np.ndarray, n_groups: int) -> _Regions:
        """Regions ``i`` with the same ``group[i]`` joined into one (the union of their pixels)."""
        cls = np.zeros(n_groups, np.int64)
        cls[group] = self.cls                  # a group is one class: any member's will do
        return _Regions(cls, _reduce(np.minimum, n_groups, group, self.top),
                        _reduce(np.maximum, n_groups, group, self.bottom),
                        _reduce(np.minimum, n_groups, group, self.first),
                        _reduce(np.maximum, n_groups, group, self.last),
                        _reduce(np.add, n_groups, group, self.area),
                        _reduce(np.add, n_groups, group, self.score_sum),
                        _reduce(np.minimum, n_groups, group, self.order))


def _reduce(ufunc: np.ufunc, n: int, index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``out[i] = ufunc.reduce(values[index == i])`` for i < n, in one unbuffered pass."""
    initial = {np.add: 0, np.minimum: np.iinfo(np.int64).max, np.maximum: -1}[ufunc]   # values are >= 0
    out = np.full(n, initial, values.dtype)
    ufunc.at(out, index, values)
    return out


def _label_classes(class_map: np.ndarray, classes: list[int] | None) -> tuple[np.ndarray, int]:
    """8-connected regions of one class each, all classes in one pass -> (labels [rows, frames] 0 = none, count).

    ``classes``: the class indices to label (None: every non-zero value); other pixels count as background.
    """
    if classes is not None:
        class_map = np.where(np.isin(class_map, classes), class_map, 0)
    return measure.label(class_map, background=0, connectivity=2, return_num=True)


def _tile_regions(class_map: np.ndarray, labels: np.ndarray, n: int, score_map: np.ndarray | None,
                  start_frame: int) -> _Regions:
    """Class, box, area, score sum and order key of every labelled region of a tile (column 0 = ``start_frame``)."""
    width = labels.shape[1]
    pixel = np.flatnonzero(labels)                 # row-major, as the labelling scans
    label = labels.ravel()[pixel] - 1
    column = pixel % width
    first_pixel = _reduce(np.minimum, n, label, pixel)
    top, first_column = np.divmod(first_pixel, width)
    first = _reduce(np.minimum, n, label, column) + start_frame
    last = _reduce(np.maximum, n, label, column) + start_frame
    area = np.bincount(label, minlength=n).astype(np.int64)
    score_sum = (np.bincount(label, weights=score_map.ravel()[pixel], minlength=n) if score_map is not None
                 else np.zeros(n))
    return _Regions(class_map[top, first_column].astype(np.int64), top,
                    _reduce(np.maximum, n, label, pixel) // width, first, last, area, score_sum,
                    (top << _ORDER_SHIFT) | (first_column + start_frame))


def _join(open_regions: _Regions, edge: np.ndarray, tile: _Regions, seam: np.ndarray) -> tuple[_Regions, np.ndarray]:
    """Open regions and the tile's, those touching across the seam joined -> (regions, group of each input).

    ``edge``: (rows,) the last column seen, index of its open region or -1; ``seam``: (rows,) the tile's first
    column, index of its tile region or -1. Inputs are the open regions then the tile's; ``group`` maps each
    input to its joined region.
    """
    nodes = open_regions.concat(tile)
    rows, n_open = len(edge), len(open_regions)
    pairs = []
    for shift in (-1, 0, 1):                       # row r of the seam touches rows r-1..r+1 of the edge
        before = edge[max(shift, 0):rows + min(shift, 0)]
        after = seam[max(-shift, 0):rows + min(-shift, 0)]
        both = (before >= 0) & (after >= 0)
        before, after = before[both], after[both]
        same = open_regions.cls[before] == tile.cls[after]
        pairs.append((before[same], n_open + after[same]))
    source, target = (np.concatenate(ends) for ends in zip(*pairs))
    if len(source) == 0:
        return nodes, np.arange(len(nodes))
    graph = coo_matrix((np.ones(len(source), bool), (source, target)), shape=(len(nodes), len(nodes)))
    n_groups, group = connected_components(graph, directed=False)
    return nodes.grouped(group, n_groups), group


def _detections(regions: _Regions, grid: _Grid, min_duration_s: float, min_area_px: int,
                scored: bool) -> list[dict]:
    """Regions long and large enough -> detection dicts, by begin time, low frequency, class, then label order."""
    frames = regions.last - regions.first + 1
    keep = (frames * grid.frame_s >= min_duration_s - 1e-9) & (regions.area >= min_area_px)
    regions = regions.take(keep)
    regions = regions.take(np.lexsort((regions.order, regions.cls, -regions.bottom, regions.first)))
    if scored:
        scores = (regions.score_sum / regions.area).tolist()
    else:
        boxes = (regions.bottom - regions.top + 1) * (regions.last - regions.first + 1)
        scores = (regions.area / boxes).tolist()
    columns = (regions.cls, regions.top, regions.bottom, regions.first, regions.last, regions.area)
    return [grid.region(*values, score) for *values, score in zip(*(c.tolist() for c in columns), scores)]


class _Grid:
    """Pixel -> seconds and hertz, for a class map of ``n_rows`` rows (row r is bin n_rows - 1 - r)."""

    def __init__(self, n_rows: int, hop_length: int, sr: int, n_fft: int):
        self.n_rows, self.hop_length, self.sr, self.n_fft = n_rows, hop_length, sr, n_fft
        self.frame_s, self.bin_hz = hop_length / sr, sr / n_fft

    def region(self, k: int, top: int, bottom: int, first_frame: int, last_frame: int, area: int,
               score: float) -> dict:
        low_bin, high_bin = self.n_rows - 1 - bottom, self.n_rows - 1 - top
        frame_s, bin_hz = self.frame_s, self.bin_hz
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
