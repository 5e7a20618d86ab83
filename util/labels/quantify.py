"""What ecologists report per source: when it is present, how much of the soundscape it fills, at what frequencies.

Inputs are class maps (uint8, 0 = background, k = 1-based palette class; one
pixel = one STFT bin, row ``r`` is bin ``H - 1 - r``, column ``c`` is one frame)
and, for levels, the calibrated dB image of the same tile.

- **Time occupancy** of class k: share of frames (columns) in which k has at least
  ``min_pixels`` pixels, in [0, 1].
- **Acoustic-space occupancy** of class k: share of time–frequency cells that k
  occupies, in [0, 1].
  These are scikit-maad's ACTtFraction and ACTspFract, computed per source from
  the class map instead of from an energy threshold.
- **Seconds present**: present frames × hop_length / sr (each frame stands for
  one hop of audio, the same convention as :mod:`util.detections`).
- **Frequency profile**: mean level in dB of the source's own cells, per frequency
  row (the mean of the dB values, i.e. the geometric mean of power — our choice;
  it is not pulled up by a few loud cells).

Padding columns of a recording's last tile are excluded by ``n_valid_frames``.
The accumulators sum counts over any number of tiles or blocks, so figures for a
whole recording (or a whole season) are exact without holding it in memory.
Per-class arrays are indexed ``k - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from util.signal.spectrogram import row_freq_hz

# --------------------------------------------------------------------------- occupancy of one tile

def time_occupancy(class_map: np.ndarray, k: int, n_valid_frames: int | None = None,
                   min_pixels: int = 1) -> float:
    """Share of frames in which class ``k`` has at least ``min_pixels`` pixels, in [0, 1]; NaN for no frames."""
    present = _present_frames(_valid(class_map, n_valid_frames), k, min_pixels)
    return float(present.mean()) if present.size else float("nan")


def acoustic_space_occupancy(class_map: np.ndarray, k: int, n_valid_frames: int | None = None) -> float:
    """Share of time–frequency cells occupied by class ``k``, in [0, 1]; NaN for an empty map."""
    cells = _valid(class_map, n_valid_frames)
    return float(np.mean(cells == k)) if cells.size else float("nan")


def seconds_present(class_map: np.ndarray, k: int, hop_length: int, sr: int,
                    n_valid_frames: int | None = None, min_pixels: int = 1) -> float:
    """Seconds in which class ``k`` is present: present frames × hop_length / sr."""
    present = _present_frames(_valid(class_map, n_valid_frames), k, min_pixels)
    return float(present.sum() * hop_length / sr)


def _valid(class_map: np.ndarray, n_valid_frames: int | None) -> np.ndarray:
    class_map = np.asarray(class_map)
    if class_map.ndim != 2:
        raise ValueError(f"a class map is 2-D (rows, frames), got shape {class_map.shape}")
    return class_map if n_valid_frames is None else class_map[:, :n_valid_frames]


def _present_frames(class_map: np.ndarray, k: int, min_pixels: int) -> np.ndarray:
    return (class_map == k).sum(axis=0) >= min_pixels


def _pixels_per_frame(class_map: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes + 1, frames) counts of each class's pixels in each frame, in one pass."""
    n_frames = class_map.shape[1]
    if class_map.size and class_map.max() > n_classes:
        raise ValueError(f"class map holds class {class_map.max()}, beyond n_classes {n_classes}")
    index = class_map.astype(np.int64) * n_frames + np.arange(n_frames)
    return np.bincount(index.ravel(), minlength=(n_classes + 1) * n_frames).reshape(n_classes + 1, n_frames)


# --------------------------------------------------------------------------- occupancy of a recording

class OccupancyAccumulator:
    """Occupancy of every class over many tiles or blocks of a recording, exact and in constant memory.

    Call :meth:`update` once per tile (with its ``n_valid_frames`` for the padded
    last tile); then read the whole-recording figures. Tiles must not overlap.
    """

    def __init__(self, n_classes: int, min_pixels: int = 1):
        self.n_classes = int(n_classes)
        self.min_pixels = int(min_pixels)
        self.n_frames = 0                                        # frames seen
        self.n_cells = 0                                         # time–frequency cells seen
        self.present_frames = np.zeros(n_classes, np.int64)      # frames with class k present
        self.occupied_cells = np.zeros(n_classes, np.int64)      # cells of class k

    def update(self, class_map: np.ndarray, n_valid_frames: int | None = None) -> None:
        cells = _valid(class_map, n_valid_frames)
        counts = _pixels_per_frame(cells, self.n_classes)[1:]
        self.n_frames += cells.shape[1]
        self.n_cells += cells.size
        self.present_frames += (counts >= self.min_pixels).sum(axis=1)
        self.occupied_cells += counts.sum(axis=1)

    def merge(self, other: "OccupancyAccumulator") -> None:
        """Add another accumulator's counts (another file, another worker)."""
        if (other.n_classes, other.min_pixels) != (self.n_classes, self.min_pixels):
            raise ValueError("cannot merge occupancy counted with different classes or min_pixels")
        self.n_frames += other.n_frames
        self.n_cells += other.n_cells
        self.present_frames += other.present_frames
        self.occupied_cells += other.occupied_cells

    def time_occupancy(self) -> np.ndarray:
        """(n_classes,) share of frames with the class present; NaN before any frame."""
        return self.present_frames / self.n_frames if self.n_frames else np.full(self.n_classes, np.nan)

    def acoustic_space_occupancy(self) -> np.ndarray:
        """(n_classes,) share of time–frequency cells occupied; NaN before any cell."""
        return self.occupied_cells / self.n_cells if self.n_cells else np.full(self.n_classes, np.nan)

    def seconds_present(self, hop_length: int, sr: int) -> np.ndarray:
        """(n_classes,) seconds with the class present."""
        return self.present_frames * (hop_length / sr)

    def seconds_total(self, hop_length: int, sr: int) -> float:
        """Seconds of (valid) audio seen."""
        return self.n_frames * hop_length / sr


# --------------------------------------------------------------------------- frequency distribution

@dataclass
class FrequencyProfile:
    """Mean level of one source per frequency row, in order of ascending frequency.

    ``freq_hz``: centre frequency of each row (Hz); ``mean_db``: mean dB of the
    source's cells in that row, NaN where the source never occupies the row;
    ``n_cells``: how many cells each mean is taken over.
    """

    freq_hz: np.ndarray
    mean_db: np.ndarray
    n_cells: np.ndarray


class FrequencyProfileAccumulator:
    """Sums and counts of dB per image row and class, over any number of tiles.

    Pass the dB image whose level you want: the mixture's dB image gives the
    level of the source's own cells, i.e. of the isolated (purified) spectrogram.
    """

    def __init__(self, n_rows: int, n_classes: int):
        self.n_rows = int(n_rows)
        self.n_classes = int(n_classes)
        self.sum_db = np.zeros((n_classes, n_rows), np.float64)   # indexed [k - 1, image row]
        self.n_cells = np.zeros((n_classes, n_rows), np.int64)

    def update(self, db_image: np.ndarray, class_map: np.ndarray, n_valid_frames: int | None = None) -> None:
        db = np.asarray(db_image, np.float64)
        cells = _valid(class_map, n_valid_frames)
        db = db if n_valid_frames is None else db[:, :n_valid_frames]
        if db.shape != cells.shape or cells.shape[0] != self.n_rows:
            raise ValueError(f"dB image {db.shape} and class map {cells.shape} must match, "
                             f"with {self.n_rows} rows")
        if cells.size and cells.max() > self.n_classes:
            raise ValueError(f"class map holds class {cells.max()}, beyond n_classes {self.n_classes}")
        size = (self.n_classes + 1) * self.n_rows
        index = (cells.astype(np.int64) * self.n_rows + np.arange(self.n_rows)[:, None]).ravel()
        shape = (self.n_classes + 1, self.n_rows)
        self.sum_db += np.bincount(index, weights=db.ravel(), minlength=size).reshape(shape)[1:]
        self.n_cells += np.bincount(index, minlength=size).reshape(shape)[1:]

    def profile(self, k: int, sr: int, n_fft: int) -> FrequencyProfile:
        """The profile of class ``k`` (1-based), low frequency first."""
        sums = self.sum_db[k - 1, ::-1]
        counts = self.n_cells[k - 1, ::-1]
        mean_db = np.full(self.n_rows, np.nan)
        np.divide(sums, counts, out=mean_db, where=counts > 0)
        return FrequencyProfile(row_freq_hz(self.n_rows, sr, n_fft)[::-1].copy(), mean_db, counts.copy())


def frequency_profile(db_image: np.ndarray, class_map: np.ndarray, k: int, sr: int, n_fft: int,
                      n_valid_frames: int | None = None) -> FrequencyProfile:
    """Mean level (dB) of class ``k``'s cells per frequency row of one tile, low frequency first.

    A row's mean is taken over the frames in which the class occupies that row;
    NaN where it never does.
    """
    class_map = np.asarray(class_map)
    accumulator = FrequencyProfileAccumulator(class_map.shape[0], max(int(k), int(class_map.max(initial=0))))
    accumulator.update(db_image, class_map, n_valid_frames)
    return accumulator.profile(k, sr, n_fft)
