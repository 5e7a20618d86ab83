"""The stream: STFT blocks -> grey pixel columns -> overlapping tiles -> generator -> cross-faded colours.

Each frame's mixture spectrum and pixels wait in a queue until the generator's colours for them are final,
then leave together as a :class:`TranslatedBlock`. Memory holds about one STFT block and one batch of
tiles, whatever the recording's length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from util.recording.tiling import (
    DEFAULT_TILE_OVERLAP,
    CrossFader,
    OverlappingTiler,
    check_tile_overlap,
)
from util.recording.translator import DEFAULT_BATCH_SIZE
from util.signal.spectrogram import SpecParams, spectrum_to_pixels


@dataclass
class TranslatedBlock:
    """Consecutive finished frames of a recording: the mixture and the generator's colours for them."""

    start_frame: int
    spectrum: np.ndarray      # complex64 (n_fft // 2 + 1, n): the mixture's STFT
    pixels: np.ndarray        # uint8 (rows, n): its grey image, low frequency at the bottom
    rgb: np.ndarray           # float32 (3, rows, n): the generated colours, cross-faded


class _FrameQueue:
    """STFT frames and their pixels, kept from the STFT until the generator's colours for them are final."""

    def __init__(self):
        self._spectra: list[np.ndarray] = []
        self._pixels: list[np.ndarray] = []
        self.n_waiting = 0
        self.n_popped = 0

    def push(self, spectrum: np.ndarray, pixels: np.ndarray) -> None:
        self._spectra.append(spectrum)
        self._pixels.append(pixels)
        self.n_waiting += spectrum.shape[1]

    def pop(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        spectrum, self._spectra = _split_columns(self._spectra, n)
        pixels, self._pixels = _split_columns(self._pixels, n)
        self.n_waiting -= n
        self.n_popped += n
        return spectrum, pixels


def _split_columns(blocks: list[np.ndarray], n: int) -> tuple[np.ndarray, list[np.ndarray]]:
    taken, width = [], 0
    while width < n:
        block = blocks.pop(0)
        need = n - width
        if block.shape[1] > need:
            blocks.insert(0, block[:, need:])
            block = block[:, :need]
        taken.append(block)
        width += block.shape[1]
    return (taken[0] if len(taken) == 1 else np.concatenate(taken, axis=1)), blocks


def iter_translated_blocks(spectra: Iterable[np.ndarray], params: SpecParams, translator, *,
                           batch_size: int = DEFAULT_BATCH_SIZE, tile_overlap: int = DEFAULT_TILE_OVERLAP,
                           on_tiles=None) -> Iterator[TranslatedBlock]:
    """Stream STFT blocks through the generator -> consecutive :class:`TranslatedBlock` s covering every frame.

    ``translator`` maps uint8 tiles (N, rows, tile_frames) to RGB (N, 3, rows, tile_frames) in 0..255
    (a :class:`util.recording.translator.TileTranslator`). ``on_tiles(n)`` is called after each batch (progress).
    Memory holds about one STFT block and one batch of tiles, whatever the recording's length.
    """
    check_tile_overlap(tile_overlap, params.tile_frames)
    queue = _FrameQueue()
    tiler = OverlappingTiler(params.n_rows, params.tile_frames, tile_overlap)
    fader = CrossFader(params.tile_frames, tile_overlap)
    waiting_tiles: list[np.ndarray] = []

    def run(tiles: list[np.ndarray]) -> Iterator[TranslatedBlock]:
        for image in translator(np.stack(tiles)):  # tile by tile: the arrays downstream stay in cache
            yield from _release(queue, fader.push(image))
        if on_tiles is not None:
            on_tiles(len(tiles))

    for spectrum in spectra:
        pixels = spectrum_to_pixels(spectrum, params)
        queue.push(spectrum, pixels)
        waiting_tiles += tiler.push(pixels)
        while len(waiting_tiles) >= batch_size:
            yield from run(waiting_tiles[:batch_size])
            waiting_tiles = waiting_tiles[batch_size:]
    waiting_tiles += tiler.finish()
    for first in range(0, len(waiting_tiles), batch_size):
        yield from run(waiting_tiles[first:first + batch_size])
    last = fader.finish()
    if last is not None:
        yield from _release(queue, last)


def _release(queue: _FrameQueue, rgb: np.ndarray) -> Iterator[TranslatedBlock]:
    """Pair finished colours with their frames; columns beyond the recording (padding) are dropped."""
    n = min(rgb.shape[2], queue.n_waiting)
    if n:
        start = queue.n_popped
        spectrum, pixels = queue.pop(n)
        yield TranslatedBlock(start, spectrum, pixels, rgb[:, :, :n])
