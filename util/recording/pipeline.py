"""Whole-recording inference: a recording in; per-source audio, a label image and tables out.

:func:`process_recording` streams one recording through a pix2pix generator and writes, in ``out_dir``:

``<class-slug>.wav``, ``residual.wav``
    The mixture's STFT under each class's binary mask, inverted with the mixture's phase (float WAV at the
    working rate). Background pixels and the Nyquist bin (absent from images) go to the residual, so the
    files add up to the recording (to float precision).
``labels.png``
    The class map of the whole recording in palette colours, 256 rows x one column per STFT frame.
``<slug>_spectrogram.png`` (with ``save_spectrograms``)
    The mixture's grey spectrogram where the class is, the floor (0) elsewhere.
``<stem>.selections.txt``
    A Raven Pro selection table: one selection per connected region of a class (8-connected, joined across
    tiles), Species = class name, Score = the region's mean confidence (below).
``occupancy.csv``, ``frequency_profile.csv``
    Per class: time occupancy, acoustic-space occupancy, seconds present and seconds in all; per class and
    frequency row: mean level (dB re full scale) of the isolated source where present, and its cell count.

How (memory is flat in file length): STFT blocks -> grey pixel columns -> tiles of ``tile_frames`` columns
overlapping by ``tile_overlap`` -> batches -> generator (eval mode) -> RGB in 0..255 -> overlapping tiles
cross-faded with complementary linear ramps (in RGB, so no seam shows) -> nearest palette colour
(:meth:`util.labels.palette.Palette.classify`'s rule) -> masks applied to the buffered STFT frames -> one
streaming ISTFT per output. The class map (and the grey spectrogram) wait on disk in a temporary file and
are written to PNG row by row through zlib at the end. Every output is written under a temporary name and
renamed when the recording is done; a recording whose outputs all exist is skipped unless ``overwrite``.

Our own choices (the published method does not state them):

- **Confidence** of a pixel: ``1 - d1 / d2``, where d1 and d2 are the RGB distances of the generated colour
  to the nearest and the second-nearest palette colour (black included). 1 = exactly a palette colour,
  0 = half-way between two. A selection's Score is its pixels' mean confidence.
- **Cross-fade**: in the ``tile_overlap`` columns shared by two tiles, the later tile's weight rises
  linearly, ``(i + 1) / (overlap + 1)``, and the earlier's falls by as much, so a constant image stays
  constant. Each tile's edge columns (where the U-Net sees zero padding) are thereby faded out.
- **Defaults, by measurement** (``bench/bench_infer.py``; U-Net 256, ngf 64, 2 CPU cores): overlap 32 frames
  (0.37 s). Without overlap, the columns at a seam differ from the same frames seen with wide context by
  up to 0.6 output standard deviations; 16 frames of overlap bring that to 0.07 and 32 to 0.04, for 7 %
  and 14 % more generator work (``--seams``). Batch 8 with channels_last was the fastest float32 setting
  per tile (``--sweep``); eager, not compiled: compiling took 10-30 s and saved about 10 % per tile, so it
  pays off only from about an hour of audio (a folder compiles once: ``compile=True``).
- **Levels** in ``frequency_profile.csv`` are taken from the 8-bit image (clipped to [db_floor, db_ceil],
  within half a grey step), as the same figures computed from PNG tiles would be.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Iterator, Sequence

import numpy as np
import soundfile as sf
import torch
from torch import nn
from tqdm import tqdm

from util.labels.annotations import write_raven_table
from util.signal.audio import DEFAULT_BLOCK_S, StreamingISTFT, audio_info, n_frames_for, resampled_length
from util.cli import BatchResult, InputFile, run_batch
from util.labels.detections import RegionTracker
from util.errors import UserError
from util.gan.images import to_signed, to_unsigned
from util.labels.palette import Palette, nearest_colour
from util.labels.quantify import FrequencyProfileAccumulator, OccupancyAccumulator
from util.signal.spectrogram import (PngStreamWriter, SpecParams, iter_spectrum_blocks, pixels_to_db, spectrum_to_pixels,
                          temp_name, tile_metadata)

DEFAULT_BATCH_SIZE = 8
PRECISIONS = ("float32", "bfloat16")
DEFAULT_TILE_OVERLAP = 32
DEFAULT_MIN_DURATION_S = 0.05
DEFAULT_MIN_AREA_PX = 10
RESIDUAL = "residual"
LABELS_PNG = "labels.png"
OCCUPANCY_CSV = "occupancy.csv"
PROFILE_CSV = "frequency_profile.csv"
COMBINED_SELECTIONS = "combined.selections.txt"
COMBINED_OCCUPANCY = "combined_occupancy.csv"
OCCUPANCY_COLUMNS = ("class", "time_occupancy", "acoustic_space_occupancy", "seconds_present", "seconds_total")
PNG_ROWS_PER_READ = 16            # rows read from the on-disk class map at a time
TRACKER_FRAMES = 2048             # columns gathered before each push to the region tracker
STORE_FLUSH_FRAMES = 4096         # columns gathered before they are written to the on-disk class map
TIMESTAMP = re.compile(r"(?<!\d)(\d{8})[_T-]?(\d{6})(?!\d)")   # SITE_20240501_053000 (recorder style)


# --------------------------------------------------------------------------- results

@dataclass
class RecordingResult:
    """What :func:`process_recording` did for one recording."""

    path: str
    out_dir: str
    skipped: bool                                   # True: all outputs existed, nothing was done
    outputs: list[str] = field(default_factory=list)
    duration_s: float = 0.0                         # at the working rate
    n_frames: int = 0
    n_tiles: int = 0                                # generator calls (tiles), overlap included
    n_selections: int = 0
    wall_s: float = 0.0

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio per second of wall time (0 when skipped)."""
        return self.duration_s / self.wall_s if self.wall_s > 0 else 0.0


@dataclass
class RecordingsResult(BatchResult):
    """:func:`process_recordings`: ``done`` holds (InputFile, RecordingResult), ``failures`` (InputFile, message)."""

    selections_path: str | None = None
    occupancy_path: str | None = None


def selections_name(stem: str) -> str:
    return f"{stem}.selections.txt"


def expected_outputs(out_dir: str, stem: str, palette: Palette, save_spectrograms: bool = False) -> list[str]:
    """Every file :func:`process_recording` writes for a recording of this ``stem``."""
    names = [f"{slug}.wav" for slug in palette.slugs] + [f"{RESIDUAL}.wav", LABELS_PNG,
                                                         selections_name(stem), OCCUPANCY_CSV, PROFILE_CSV]
    if save_spectrograms:
        names += [f"{slug}_spectrogram.png" for slug in palette.slugs]
    return [os.path.join(out_dir, name) for name in names]


# --------------------------------------------------------------------------- the generator

class TileTranslator:
    """A generator ready for inference: grey tiles in, RGB images out.

    ``translator(tiles)``: uint8 (N, rows, frames) grey tiles -> float32 (N, 3, rows, frames) in 0..255.
    The generator is put in eval mode (batch norm uses its running statistics, dropout is off: a tile's
    output does not depend on the others in its batch) and run under ``torch.inference_mode``. Input grey is
    scaled to [-1, 1] (pixels / 127.5 - 1) and replicated when the network wants ``input_nc`` 3.

    ``precision``: 'float32' (default) or 'bfloat16' (autocast; several times faster on CPUs with AMX or
    AVX512-BF16 and on GPUs, but a pixel near the boundary between two palette colours may change class).
    ``channels_last``: NHWC memory layout (faster for the U-Net on our CPU, float32 and bfloat16 alike, and
    on GPUs). ``compile``: ``torch.compile`` with inductor weight freezing; pays off
    on long recordings (the first call takes tens of seconds on a CPU); falls back to eager with a warning if
    compiling fails. Compiled, every call is padded to ``batch_size`` tiles so that no second shape is compiled.
    """

    def __init__(self, generator: nn.Module, device: str | torch.device = "cpu", input_nc: int | None = None,
                 compile: bool = False, channels_last: bool = True, batch_size: int = DEFAULT_BATCH_SIZE,
                 precision: str = "float32"):
        if precision not in PRECISIONS:
            raise UserError(f"--precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
        self.device = torch.device(device)
        self.input_nc = input_nc if input_nc is not None else _first_conv_channels(generator)
        if self.input_nc not in (1, 3):
            raise UserError(f"the generator takes {self.input_nc} input channels; grey tiles give 1 (or 3, replicated)")
        self.precision, self.channels_last = precision, channels_last
        self.compile, self.batch_size = compile, batch_size
        self.net = generator.to(self.device).eval()
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self._compiled: nn.Module | None = None

    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        n_tiles = len(tiles)
        if self.compile:
            tiles = _pad_batch(tiles, self.batch_size)
        x = torch.from_numpy(np.ascontiguousarray(tiles)).to(self.device)
        x = to_signed(x.unsqueeze(1))
        if self.input_nc == 3:
            x = x.expand(-1, 3, -1, -1)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), self._autocast():
            y = self._forward(x)
            if y.shape[1] < 3:
                raise UserError(f"the generator makes {y.shape[1]}-channel images; colour labels need 3 (RGB)")
            rgb = to_unsigned(y[:n_tiles, :3])
        return rgb.cpu().numpy()

    def _autocast(self):
        if self.precision == "float32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.compile and self._compiled is None:
            try:
                compiled = torch.compile(self.net, dynamic=False, options={"freezing": True})
                y = compiled(x)  # compiles now
                self._compiled = compiled
                return y
            except Exception as exc:  # no C compiler, an unsupported op ...: eager gives the same numbers
                warnings.warn(f"torch.compile failed ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); "
                              f"running the generator eagerly")
                self.compile = False
        return self.net(x) if self._compiled is None else self._compiled(x)


def as_translator(generator, device: str | torch.device = "cpu", input_nc: int | None = None,
                  compile: bool = False, batch_size: int = DEFAULT_BATCH_SIZE, precision: str = "float32"):
    """An ``nn.Module`` generator -> a :class:`TileTranslator`; a translator (any callable with its contract) as is."""
    if isinstance(generator, nn.Module):
        return TileTranslator(generator, device, input_nc, compile=compile, batch_size=batch_size,
                              precision=precision)
    if not callable(generator):
        raise TypeError(f"expected a generator module or a tile translator, got {type(generator).__name__}")
    return generator


def _first_conv_channels(net: nn.Module) -> int:
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            return module.in_channels
    raise UserError("the generator has no convolution; give input_nc explicitly")


def _pad_batch(tiles: np.ndarray, batch_size: int) -> np.ndarray:
    if len(tiles) >= batch_size:
        return tiles
    pad = np.zeros((batch_size - len(tiles),) + tiles.shape[1:], tiles.dtype)
    return np.concatenate([tiles, pad])


# --------------------------------------------------------------------------- tiles and cross-fade

def count_overlapping_tiles(n_frames: int, tile_frames: int, tile_overlap: int) -> int:
    """Tiles of ``tile_frames`` columns, consecutive ones sharing ``tile_overlap``, that cover ``n_frames``."""
    if n_frames <= tile_frames:
        return 1
    stride = tile_frames - tile_overlap
    return 1 + -(-(n_frames - tile_frames) // stride)


def check_tile_overlap(tile_overlap: int, tile_frames: int) -> None:
    if not 0 <= tile_overlap <= tile_frames // 2:
        raise UserError(f"--tile_overlap {tile_overlap}: must be 0 .. {tile_frames // 2} "
                        f"(half of --tile_frames {tile_frames})")


class _OverlappingTiler:
    """Pixel columns in, in order -> tiles (rows, tile_frames) starting ``stride`` columns apart."""

    def __init__(self, n_rows: int, tile_frames: int, tile_overlap: int):
        self.tile_frames, self.stride = tile_frames, tile_frames - tile_overlap
        self._columns = np.zeros((n_rows, 0), np.uint8)
        self._columns_start = 0       # recording frame of self._columns[:, 0]
        self._next_start = 0          # recording frame where the next tile starts
        self._n_tiles = 0
        self._n_seen = 0

    def push(self, pixels: np.ndarray) -> list[np.ndarray]:
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


class _CrossFader:
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

    def finish(self) -> np.ndarray:
        waiting, self._waiting = self._waiting, None
        return waiting


# --------------------------------------------------------------------------- generated colour -> classes

def classify_with_confidence(rgb: np.ndarray, palette: Palette) -> tuple[np.ndarray, np.ndarray]:
    """Generated RGB (3, rows, frames) in 0..255 -> (class map uint8, confidence float32 in [0, 1]).

    The class is the nearest palette colour, black included (the rule of :meth:`Palette.classify`);
    confidence is ``1 - d1 / d2`` with d1, d2 the distances to the nearest and second-nearest colour.
    """
    class_map, best, second = nearest_colour(rgb, palette.colors, axis=0)
    confidence = 1.0 - np.sqrt(best / np.maximum(second, 1e-12))
    return class_map, confidence.astype(np.float32, copy=False)


# --------------------------------------------------------------------------- the stream

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
    (a :class:`TileTranslator`). ``on_tiles(n)`` is called after each batch (progress).
    Memory holds about one STFT block and one batch of tiles, whatever the recording's length.
    """
    check_tile_overlap(tile_overlap, params.tile_frames)
    queue = _FrameQueue()
    tiler = _OverlappingTiler(params.n_rows, params.tile_frames, tile_overlap)
    fader = _CrossFader(params.tile_frames, tile_overlap)
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


# --------------------------------------------------------------------------- audio out

class _SourceAudio:
    """One float WAV per class plus the residual, written block by block under temporary names."""

    def __init__(self, out_dir: str, palette: Palette, params: SpecParams, n_samples: int):
        self.params, self.n_samples = params, n_samples
        names = [f"{slug}.wav" for slug in palette.slugs] + [f"{RESIDUAL}.wav"]
        self.classes = list(range(1, len(palette) + 1)) + [0]    # one per file; 0: the residual
        self.paths = [os.path.join(out_dir, name) for name in names]
        self.temps = [temp_name(p) for p in self.paths]
        wav_format = "WAV" if n_samples * 4 < 2 ** 32 - 2 ** 20 else "RF64"  # WAV stops at 4 GiB
        self._files = [sf.SoundFile(t, "w", params.sr, 1, "FLOAT", format=wav_format) for t in self.temps]
        self._engines = [StreamingISTFT(params.n_fft, params.hop_length, params.window) for _ in self.paths]

    def write(self, spectrum: np.ndarray, class_map: np.ndarray) -> None:
        """The block's frames under each class's mask (class 0 and the Nyquist bin: residual)."""
        bins = class_map[::-1]                  # image row r is bin n_rows - 1 - r
        present = np.bincount(class_map.ravel(), minlength=len(self.classes)) > 0
        for k, engine, handle in zip(self.classes, self._engines, self._files):
            masked = self._masked(spectrum, bins, k) if present[k] or k == 0 else None  # None: silence
            handle.write(engine.push_frames(masked, spectrum.shape[1]))

    def _masked(self, spectrum: np.ndarray, bins: np.ndarray, k: int) -> np.ndarray:
        """A class's bins (Nyquist left out: zero); the residual's, Nyquist included."""
        n_rows = self.params.n_rows
        if k:
            return spectrum[:n_rows] * (bins == k)
        masked = spectrum.copy()
        masked[:n_rows] *= bins == 0
        return masked

    def finish(self) -> None:
        for engine, handle in zip(self._engines, self._files):
            handle.write(engine.finish(self.n_samples))
            handle.close()

    def close(self) -> None:
        for handle in self._files:
            if not handle.closed:
                handle.close()


# --------------------------------------------------------------------------- a full-length image on disk

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
        self._pending.append(np.asarray(columns, np.uint8))
        self._n_pending += columns.shape[1]
        if self._n_pending >= STORE_FLUSH_FRAMES:
            self.flush()

    def flush(self) -> None:
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


# --------------------------------------------------------------------------- one recording

class _RecordingOutputs:
    """Everything written for one recording, fed block by block; temporary files until :meth:`finish`."""

    def __init__(self, path: str, out_dir: str, stem: str, palette: Palette, params: SpecParams,
                 n_samples: int, n_frames: int, meta: dict, save_spectrograms: bool,
                 min_duration_s: float, min_area_px: int):
        self.path, self.out_dir, self.stem = path, out_dir, stem
        self.palette, self.params, self.meta = palette, params, meta
        self.n_frames = n_frames
        self.audio = _SourceAudio(out_dir, palette, params, n_samples)
        self.labels = ColumnStore(temp_name(os.path.join(out_dir, "labels.classmap")), params.n_rows, n_frames)
        self.grey = (ColumnStore(temp_name(os.path.join(out_dir, "spectrogram.grey")), params.n_rows, n_frames)
                     if save_spectrograms else None)
        self.tracker = RegionTracker(params.hop_length, params.sr, params.n_fft,  # classes: those present
                                     min_duration_s=min_duration_s, min_area_px=min_area_px)
        self._untracked: list[tuple[int, np.ndarray, np.ndarray]] = []  # (start, class map, confidence)
        self.occupancy = OccupancyAccumulator(len(palette))
        self.profile = FrequencyProfileAccumulator(params.n_rows, len(palette))
        self.regions: list[dict] = []
        self._pngs: list[PngStreamWriter] = []

    def add(self, block: TranslatedBlock) -> None:
        class_map, confidence = classify_with_confidence(block.rgb, self.palette)
        self.audio.write(block.spectrum, class_map)
        self._untracked.append((block.start_frame, class_map, confidence))
        if sum(c.shape[1] for _, c, _ in self._untracked) >= TRACKER_FRAMES:
            self._track()
        self.occupancy.update(class_map)
        self.profile.update(pixels_to_db(block.pixels, self.params.db_floor, self.params.db_ceil), class_map)
        self.labels.write(class_map)
        if self.grey is not None:
            self.grey.write(block.pixels)

    def _track(self) -> None:
        """Regions of the gathered columns: the tracker re-labels its open regions on every push, so push few."""
        if self._untracked:
            start = self._untracked[0][0]
            class_map = np.concatenate([c for _, c, _ in self._untracked], axis=1)
            confidence = np.concatenate([s for _, _, s in self._untracked], axis=1)
            self.regions += self.tracker.push(class_map, start, confidence)
            self._untracked = []

    def finish(self) -> list[str]:
        """Write the tables and images, rename everything into place; returns the paths."""
        self.audio.finish()
        self._track()
        self.regions = sorted(self.regions + self.tracker.finish(),
                              key=lambda r: (r["begin_s"], r["low_hz"], r["class_index"]))
        self._write_pngs()
        outputs = [self._write_selections(), self._write_occupancy(), self._write_profile()]
        for temp, target in zip(self.audio.temps, self.audio.paths):
            os.replace(temp, target)
        self._close_stores()
        return self.audio.paths + [w.path for w in self._pngs] + outputs

    def discard(self) -> None:
        """Remove every temporary file (a failed or interrupted recording leaves nothing behind)."""
        self.audio.close()
        for temp in self.audio.temps:
            if os.path.exists(temp):
                os.remove(temp)
        for writer in self._pngs:
            writer.discard()
        self._close_stores()

    def _close_stores(self) -> None:
        for store in (self.labels, self.grey):
            if store is not None and not store.closed:
                store.close()

    def _write_pngs(self) -> None:
        """labels.png (and each class's isolated spectrogram) in one pass over the stored rows."""
        width, height = self.n_frames, self.params.n_rows
        meta = dict(self.meta, palette=self.palette.name)
        labels = PngStreamWriter(os.path.join(self.out_dir, LABELS_PNG), width, height, rgb=True, meta=meta)
        self._pngs.append(labels)
        isolated = []
        if self.grey is not None:
            for slug in self.palette.slugs:
                isolated.append(PngStreamWriter(os.path.join(self.out_dir, f"{slug}_spectrogram.png"),
                                                width, height, rgb=False, meta=self.meta))
            self._pngs += isolated
        grey_rows = self.grey.iter_rows() if self.grey is not None else None
        for class_rows in self.labels.iter_rows():
            labels.write_rows(self.palette.encode(class_rows))
            if grey_rows is not None:
                grey = next(grey_rows)
                for k, writer in enumerate(isolated, start=1):
                    writer.write_rows(np.where(class_rows == k, grey, 0).astype(np.uint8))
        for writer in self._pngs:
            writer.close()

    def _write_selections(self) -> str:
        target = os.path.join(self.out_dir, selections_name(self.stem))
        rows = [{"Begin Time (s)": r["begin_s"], "End Time (s)": r["end_s"], "Low Freq (Hz)": r["low_hz"],
                 "High Freq (Hz)": r["high_hz"], "Species": self.palette.classes[r["class_index"] - 1].name,
                 "Begin File": os.path.basename(self.path), "Score": r["score"]} for r in self.regions]
        write_raven_table(target, rows)
        return target

    def _write_occupancy(self) -> str:
        hop, sr = self.params.hop_length, self.params.sr
        rows = [dict(zip(OCCUPANCY_COLUMNS, values)) for values in zip(
            self.palette.names, self.occupancy.time_occupancy(), self.occupancy.acoustic_space_occupancy(),
            self.occupancy.seconds_present(hop, sr), [self.occupancy.seconds_total(hop, sr)] * len(self.palette))]
        target = os.path.join(self.out_dir, OCCUPANCY_CSV)
        write_csv(target, OCCUPANCY_COLUMNS, rows)
        return target

    def _write_profile(self) -> str:
        rows = []
        for k, name in enumerate(self.palette.names, start=1):
            profile = self.profile.profile(k, self.params.sr, self.params.n_fft)
            rows += [{"class": name, "freq_hz": f, "mean_db": level, "n_cells": int(n)}
                     for f, level, n in zip(profile.freq_hz, profile.mean_db, profile.n_cells)]
        target = os.path.join(self.out_dir, PROFILE_CSV)
        write_csv(target, ("class", "freq_hz", "mean_db", "n_cells"), rows)
        return target


def process_recording(path: str, generator: nn.Module | TileTranslator, palette: Palette, out_dir: str,
                      params: SpecParams = SpecParams(), *, device: str = "cpu",
                      batch_size: int = DEFAULT_BATCH_SIZE, tile_overlap: int = DEFAULT_TILE_OVERLAP,
                      channel: int | None = None, min_duration_s: float = DEFAULT_MIN_DURATION_S,
                      min_area_px: int = DEFAULT_MIN_AREA_PX, save_spectrograms: bool = False,
                      input_nc: int | None = None, compile: bool = False, precision: str = "float32",
                      block_s: float = DEFAULT_BLOCK_S, progress: bool = True,
                      overwrite: bool = False) -> RecordingResult:
    """Run a generator over a whole recording; write each source's audio, labels.png and tables to ``out_dir``.

    ``generator``: a pix2pix generator (put in eval mode), or a prepared :class:`TileTranslator` to reuse
    across recordings (compiled once; ``device``, ``input_nc``, ``compile`` and ``precision`` then come from
    it), or any callable with a translator's contract (tests, other models).
    ``batch_size``: tiles per generator call. ``tile_overlap``: frames shared by consecutive tiles and
    cross-faded (0 .. tile_frames / 2). ``channel``: None averages the channels, N picks one (0-based).
    ``min_duration_s`` / ``min_area_px``: smaller regions are not selections. ``save_spectrograms``: also
    write each class's isolated spectrogram. ``input_nc``: None reads it from the generator's first
    convolution. ``compile`` / ``precision``: see :class:`TileTranslator`. ``block_s``: seconds of audio
    read at a time (memory only; results do not depend on it). Outputs are listed in the module docstring;
    a recording whose outputs all exist is skipped unless ``overwrite``. A recording that fails leaves no
    file behind (a UserError names the file for a user's mistake).
    """
    started = time.perf_counter()
    params.check()
    check_tile_overlap(tile_overlap, params.tile_frames)
    _check_slugs(palette)
    stem = os.path.splitext(os.path.basename(path))[0]
    targets = expected_outputs(out_dir, stem, palette, save_spectrograms)
    info = audio_info(path)
    if not overwrite and all(os.path.exists(t) for t in targets):
        return RecordingResult(path, out_dir, skipped=True, outputs=targets)
    translator = as_translator(generator, device, input_nc, compile, batch_size, precision)
    n_samples = resampled_length(info.n_samples, info.orig_sr, params.sr)
    n_frames = n_frames_for(n_samples, params.hop_length)
    n_tiles = count_overlapping_tiles(n_frames, params.tile_frames, tile_overlap)
    meta = tile_metadata(params, source=path, orig_sr=info.orig_sr, channel=channel, start_frame=0,
                         n_valid_frames=n_frames, tile_index=0, n_tiles=1)
    os.makedirs(out_dir, exist_ok=True)
    outputs = _RecordingOutputs(path, out_dir, stem, palette, params, n_samples, n_frames, meta,
                                save_spectrograms, min_duration_s, min_area_px)
    bar = tqdm(total=n_tiles, desc=stem, unit="tile", disable=None if progress else True, leave=False)
    try:
        spectra = iter_spectrum_blocks(path, params, channel, block_s)
        for block in iter_translated_blocks(spectra, params, translator, batch_size=batch_size,
                                            tile_overlap=tile_overlap, on_tiles=bar.update):
            outputs.add(block)
        written = outputs.finish()
    except BaseException:
        outputs.discard()
        raise
    finally:
        bar.close()
    return RecordingResult(path, out_dir, skipped=False, outputs=written, duration_s=n_samples / params.sr,
                           n_frames=n_frames, n_tiles=n_tiles, n_selections=len(outputs.regions),
                           wall_s=time.perf_counter() - started)


def _check_slugs(palette: Palette) -> None:
    clash = [s for s in palette.slugs if s == RESIDUAL]
    if clash:
        raise UserError(f"palette '{palette.name}': a class may not be called '{RESIDUAL}' "
                        f"(its audio would overwrite the residual)")


# --------------------------------------------------------------------------- many recordings

def recording_start_time(path: str) -> datetime | None:
    """Start time from a recorder-style file name (``SITE_20240501_053000.wav`` -> 2024-05-01 05:30:00), or None."""
    match = TIMESTAMP.search(os.path.splitext(os.path.basename(path))[0])
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")
    except ValueError:  # eight and six digits that are not a date and a time
        return None


def format_datetime(moment: datetime) -> str:
    """'2024-05-01 05:30:01.250': ISO 8601 date and time to the millisecond (local recorder time)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def recording_out_dir(results_dir: str, item: InputFile) -> str:
    """``<results_dir>/<folder relative to the input root>/<stem>/``."""
    return os.path.join(results_dir, item.rel_dir, item.stem)


def process_recordings(inputs: Sequence[str | InputFile], generator: nn.Module | TileTranslator,
                       palette: Palette, results_dir: str, params: SpecParams = SpecParams(), *,
                       device: str = "cpu", compile: bool = False, precision: str = "float32",
                       input_nc: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = True,
                       **options) -> RecordingsResult:
    """:func:`process_recording` for many files, each into ``<results_dir>/<rel_dir>/<stem>/``, plus two
    tables across them in ``results_dir``:

    ``combined.selections.txt``: every selection, with ``Begin Path`` (the recording), ``File Offset (s)``
    (= Begin Time (s): times are within each file) and, where the file name holds a start time
    (YYYYMMDD_HHMMSS), ``Begin Date Time`` = file start + Begin Time.
    ``combined_occupancy.csv``: file, start_datetime (blank if unknown), then occupancy.csv's columns.

    A file that fails is listed in ``failures`` with its one-line message; the others go on. The generator
    is prepared (and compiled) once for all files. ``options`` are passed to :func:`process_recording`.
    """
    items = [item if isinstance(item, InputFile) else InputFile(item, "") for item in inputs]
    _check_distinct_out_dirs(items, results_dir)
    translator = as_translator(generator, device, input_nc, compile, batch_size, precision)

    def one(item: InputFile) -> RecordingResult:
        return process_recording(item.path, translator, palette, recording_out_dir(results_dir, item), params,
                                 batch_size=batch_size, progress=progress, **options)

    batch = run_batch(items, one, desc="recordings", unit="file")
    result = RecordingsResult(batch.done, batch.failures)
    if batch.done:
        os.makedirs(results_dir, exist_ok=True)
        result.selections_path = write_combined_selections(os.path.join(results_dir, COMBINED_SELECTIONS),
                                                           [r for _, r in batch.done])
        result.occupancy_path = write_combined_occupancy(os.path.join(results_dir, COMBINED_OCCUPANCY),
                                                         [r for _, r in batch.done])
    return result


def _check_distinct_out_dirs(items: list[InputFile], results_dir: str) -> None:
    seen: dict[str, str] = {}
    for item in items:
        out_dir = os.path.normpath(recording_out_dir(results_dir, item))
        if out_dir in seen:
            raise UserError(f"{item.path} and {seen[out_dir]} would both write to {out_dir}; "
                            f"rename one or process them separately")
        seen[out_dir] = item.path


def write_combined_selections(path: str, results: list[RecordingResult]) -> str:
    """One Raven table from the per-recording tables on disk (fresh or from an earlier run)."""
    rows = []
    for result in results:
        start = recording_start_time(result.path)
        table = os.path.join(result.out_dir, selections_name(os.path.splitext(os.path.basename(result.path))[0]))
        for row in read_tsv_rows(table):
            row = {k: v for k, v in row.items() if k not in ("Selection", "View", "Channel")}
            row["Begin Path"] = os.path.abspath(result.path)
            row["File Offset (s)"] = row["Begin Time (s)"]
            if start is not None:
                row["Begin Date Time"] = format_datetime(start + timedelta(seconds=float(row["Begin Time (s)"])))
            rows.append(row)
    write_raven_table(path, rows)
    return path


def write_combined_occupancy(path: str, results: list[RecordingResult]) -> str:
    """occupancy.csv of every recording, one after the other, with its file and start time."""
    rows = []
    for result in results:
        start = recording_start_time(result.path)
        for row in read_csv_rows(os.path.join(result.out_dir, OCCUPANCY_CSV)):
            rows.append({"file": os.path.abspath(result.path),
                         "start_datetime": format_datetime(start) if start else "", **row})
    write_csv(path, ("file", "start_datetime") + OCCUPANCY_COLUMNS, rows)
    return path


# --------------------------------------------------------------------------- small file helpers

def write_csv(path: str, columns: Sequence[str], rows: list[dict]) -> None:
    """A comma-separated table, atomically; floats to 6 decimals, NaN as an empty cell."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    temp = temp_name(path)
    with open(temp, "w", encoding="utf-8", newline="") as handle:
        handle.write(text.getvalue())
    os.replace(temp, path)


def _csv_cell(value):
    if isinstance(value, (float, np.floating)):
        return "" if not np.isfinite(value) else f"{float(value):.6f}".rstrip("0").rstrip(".")
    return value


def read_csv_rows(path: str) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_tsv_rows(path: str) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))
