"""Tiles that overlap, and the cross-fade that joins the generator's outputs for them.

Pixel columns of a recording go in, in order; tiles of ``tile_frames`` columns come out, consecutive ones
sharing ``tile_overlap`` columns (the last one padded with the floor, grey 0). The generated tiles go back
in, in order, and come out as finished columns: in the shared columns the later tile's weight rises
linearly, ``(i + 1) / (overlap + 1)``, and the earlier's falls by as much, so a constant image stays
constant and each tile's edge columns (where the U-Net sees zero padding) are faded out.
"""

from __future__ import annotations

import numpy as np

from util.errors import UserError

DEFAULT_TILE_OVERLAP = 32         # frames (0.37 s): seams at 0.04 output standard deviations, 14 % more tiles


def count_overlapping_tiles(n_frames: int, tile_frames: int, tile_overlap: int) -> int:
    """Tiles of ``tile_frames`` columns, consecutive ones sharing ``tile_overlap``, that cover ``n_frames``."""
    if n_frames <= tile_frames:
        return 1
    stride = tile_frames - tile_overlap
    return 1 + -(-(n_frames - tile_frames) // stride)


def check_tile_overlap(tile_overlap: int, tile_frames: int) -> None:
    """Raise a UserError unless ``0 <= tile_overlap <= tile_frames // 2``."""
    if not 0 <= tile_overlap <= tile_frames // 2:
        raise UserError(f"--tile_overlap {tile_overlap}: must be 0 .. {tile_frames // 2} "
                        f"(half of --tile_frames {tile_frames})")


class OverlappingTiler:
    """Pixel columns in, in order -> tiles (rows, tile_frames) starting ``stride`` columns apart."""

    def __init__(self, n_rows: int, tile_frames: int, tile_overlap: int):
        self.tile_frames, self.stride = tile_frames, tile_frames - tile_overlap
        self._columns = np.zeros((n_rows, 0), np.uint8)
        self._columns_start = 0       # recording frame of self._columns[:, 0]
        self._next_start = 0          # recording frame where the next tile starts
        self._n_tiles = 0
        self._n_seen = 0

    def push(self, pixels: np.ndarray) -> list[np.ndarray]:
        """uint8 columns (rows, n) -> the tiles they complete."""
        self._columns = np.concatenate([self._columns, pixels], axis=1)
        self._n_seen += pixels.shape[1]
        tiles = []
        while self._next_start + self.tile_frames <= self._n_seen:
            tiles.append(self._take(self._columns[:, self._offset():self._offset() + self.tile_frames]))
        self._drop_used()
        return tiles

    def finish(self) -> list[np.ndarray]:
        """The last tile, padded with the floor (grey 0), if the recording's end is not covered yet."""
        if self._n_tiles >= count_overlapping_tiles(self._n_seen, self.tile_frames,
                                                    self.tile_frames - self.stride):
            return []
        tile = np.zeros((self._columns.shape[0], self.tile_frames), np.uint8)
        rest = self._columns[:, self._offset():]
        tile[:, :rest.shape[1]] = rest
        return [self._take(tile)]

    def _offset(self) -> int:
        return self._next_start - self._columns_start

    def _take(self, tile: np.ndarray) -> np.ndarray:
        self._next_start += self.stride
        self._n_tiles += 1
        return np.ascontiguousarray(tile)

    def _drop_used(self) -> None:
        used = self._offset()
        self._columns = self._columns[:, used:]
        self._columns_start += used


class CrossFader:
    """Generated tiles in, in order -> finished RGB columns, overlaps blended with complementary linear ramps.

    A tile's last ``overlap`` columns wait for the next tile; :meth:`finish` releases them.
    """

    def __init__(self, tile_frames: int, tile_overlap: int):
        self.overlap, self.stride = tile_overlap, tile_frames - tile_overlap
        rise = (np.arange(tile_overlap, dtype=np.float32) + 1) / (tile_overlap + 1)
        self._rise, self._fall = rise, 1 - rise
        self._waiting: np.ndarray | None = None   # (3, rows, overlap), not yet weighted

    def push(self, rgb: np.ndarray) -> np.ndarray:
        """One generated tile (3, rows, tile_frames), blended in place -> its finished columns (3, rows, stride)."""
        if self._waiting is not None and self.overlap:
            rgb[:, :, :self.overlap] *= self._rise
            rgb[:, :, :self.overlap] += self._waiting * self._fall
        self._waiting = rgb[:, :, self.stride:]
        return rgb[:, :, :self.stride]

    def finish(self) -> np.ndarray | None:
        """The last tile's waiting columns (3, rows, overlap), or None when no tile came."""
        waiting, self._waiting = self._waiting, None
        return waiting
