"""A full-length image on disk: the class map (and grey spectrogram) of a whole recording, outside memory.

Filled column block by column block as the stream goes; read back row block by row block, top row first,
so that a PNG can be streamed from it.
"""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np

PNG_ROWS_PER_READ = 16            # rows read from the on-disk image at a time
STORE_FLUSH_FRAMES = 4096         # columns gathered before they are written to the on-disk image


class ColumnStore:
    """A (rows, n_frames) uint8 image filled column block by column block, kept in a file, not in memory.

    Stored row by row, so a PNG can be streamed from it top row first. Columns are gathered up to
    ``STORE_FLUSH_FRAMES`` before each write, so the writes are few and long.
    """

    def __init__(self, path: str, n_rows: int, n_frames: int):
        self.path, self.n_rows, self.n_frames = path, n_rows, n_frames
        self._handle = open(path, "w+b")
        self._handle.truncate(n_rows * n_frames)
        self._pending: list[np.ndarray] = []
        self._pending_start = 0
        self._n_pending = 0

    def write(self, columns: np.ndarray) -> None:
        """Append columns (rows, n) to the right of those written so far."""
        self._pending.append(np.asarray(columns, np.uint8))
        self._n_pending += columns.shape[1]
        if self._n_pending >= STORE_FLUSH_FRAMES:
            self.flush()

    def flush(self) -> None:
        """Write the gathered columns to the file."""
        if not self._n_pending:
            return
        block = np.concatenate(self._pending, axis=1)
        for row in range(self.n_rows):
            self._handle.seek(row * self.n_frames + self._pending_start)
            self._handle.write(block[row].tobytes())
        self._pending_start += self._n_pending
        self._pending, self._n_pending = [], 0

    def iter_rows(self, rows_per_read: int = PNG_ROWS_PER_READ) -> Iterator[np.ndarray]:
        """Yield (up to ``rows_per_read``, n_frames) arrays, top row first."""
        self.flush()
        for first in range(0, self.n_rows, rows_per_read):
            n = min(rows_per_read, self.n_rows - first)
            self._handle.seek(first * self.n_frames)
            yield np.frombuffer(self._handle.read(n * self.n_frames), np.uint8).reshape(n, self.n_frames)

    @property
    def closed(self) -> bool:
        return self._handle.closed

    def close(self, remove: bool = True) -> None:
        """Close the file and (by default) delete it."""
        self._handle.close()
        if remove and os.path.exists(self.path):
            os.remove(self.path)
