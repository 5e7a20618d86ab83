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
    tiles), Species = class name, Score = the region's mean confidence (:mod:`util.recording.decoding`).
``occupancy.csv``, ``frequency_profile.csv``
    Per class: time occupancy, acoustic-space occupancy, seconds present and seconds in all; per class and
    frequency row: mean level (dB re full scale) of the isolated source where present, and its cell count.

How (memory is flat in file length): STFT blocks -> grey pixel columns -> tiles of ``tile_frames`` columns
overlapping by ``tile_overlap`` -> batches -> generator (eval mode) -> RGB in 0..255 -> overlapping tiles
cross-faded with complementary linear ramps (in RGB, so no seam shows; :mod:`util.recording.tiling`) ->
nearest palette colour (:meth:`util.labels.palette.Palette.classify`'s rule) -> masks applied to the
buffered STFT frames -> one streaming ISTFT per output. The class map (and the grey spectrogram) wait on
disk in a temporary file and are written to PNG row by row through zlib at the end. Every output is written
under a temporary name and renamed when the recording is done; a recording whose outputs all exist is
skipped unless ``overwrite``.

Defaults, by measurement (``bench/bench_infer.py``; U-Net 256, ngf 64, 2 CPU cores): overlap 32 frames
(0.37 s). Without overlap, the columns at a seam differ from the same frames seen with wide context by up to
0.6 output standard deviations; 16 frames of overlap bring that to 0.07 and 32 to 0.04, for 7 % and 14 %
more generator work (``--seams``). Batch 8 with channels_last was the fastest float32 setting per tile
(``--sweep``); eager, not compiled: compiling took 10-30 s and saved about 10 % per tile, so it pays off
only from about an hour of audio (a folder compiles once: ``compile=True``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Sequence

from torch import nn
from tqdm import tqdm

from util.cli import BatchResult, InputFile, run_batch
from util.errors import UserError
from util.labels.palette import Palette
from util.recording.layout import (
    COMBINED_OCCUPANCY,
    COMBINED_SELECTIONS,
    RESIDUAL,
    expected_outputs,
    recording_out_dir,
)
from util.recording.outputs import (
    DEFAULT_MIN_AREA_PX,
    DEFAULT_MIN_DURATION_S,
    RecordingOutputs,
)
from util.recording.stream import iter_translated_blocks
from util.recording.tables import write_combined_occupancy, write_combined_selections
from util.recording.tiling import (
    DEFAULT_TILE_OVERLAP,
    check_tile_overlap,
    count_overlapping_tiles,
)
from util.recording.translator import (
    DEFAULT_BATCH_SIZE,
    PRECISIONS,
    TileTranslator,
    as_translator,
)
from util.signal.audio import (
    DEFAULT_BLOCK_S,
    AudioInfo,
    audio_info,
    n_frames_for,
    resampled_length,
)
from util.signal.spectrogram import SpecParams, iter_spectrum_blocks, tile_metadata


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


# --------------------------------------------------------------------------- one recording

def process_recording(path: str, generator: nn.Module | TileTranslator, palette: Palette, out_dir: str,
                      params: SpecParams = SpecParams(), *, device: str = "cpu",
                      batch_size: int = DEFAULT_BATCH_SIZE, tile_overlap: int = DEFAULT_TILE_OVERLAP,
                      channel: int | None = None, min_duration_s: float = DEFAULT_MIN_DURATION_S,
                      min_area_px: int = DEFAULT_MIN_AREA_PX, save_spectrograms: bool = False,
                      input_nc: int | None = None, compile: bool = False, precision: str = PRECISIONS[0],
                      block_s: float = DEFAULT_BLOCK_S, progress: bool = True,
                      overwrite: bool = False) -> RecordingResult:
    """Run a generator over a whole recording; write each source's audio, labels.png and tables to ``out_dir``.

    Parameters
    ----------
    path : str
        The recording: any file soundfile reads, at any rate (resampled to ``params.sr``).
    generator : nn.Module, TileTranslator or callable
        A pix2pix generator (put in eval mode); or a prepared :class:`TileTranslator` to reuse across
        recordings (compiled once; ``device``, ``input_nc``, ``compile`` and ``precision`` then come from
        it); or any callable with a translator's contract, uint8 (N, rows, frames) -> (N, 3, rows, frames).
    palette : Palette
        The class colours the generator paints; one WAV per class.
    out_dir : str
        Folder of the outputs (created); the module docstring lists them.
    params : SpecParams
        Working rate (Hz), STFT (samples), image rows, tile width (frames) and dB range.
    device, input_nc, compile, precision
        How the generator runs: see :class:`TileTranslator`. ``input_nc`` None reads it from the
        generator's first convolution.
    batch_size : int
        Tiles per generator call.
    tile_overlap : int
        Frames shared by consecutive tiles and cross-faded, 0 .. tile_frames / 2.
    channel : int or None
        None averages the channels; N picks one (0-based).
    min_duration_s, min_area_px : float, int
        Smaller regions (seconds; pixels) are not selections.
    save_spectrograms : bool
        Also write each class's isolated spectrogram.
    block_s : float
        Seconds of audio read at a time (memory only; results do not depend on it).
    progress, overwrite : bool
        Show a progress bar; re-process a recording whose outputs all exist (else it is skipped).

    Returns
    -------
    RecordingResult
        The paths written, duration (s), frames, tiles, selections and wall time (s).

    A recording that fails leaves no file behind; a user's mistake raises a UserError naming the file.
    """
    started = time.perf_counter()
    stem, info, targets = _check_recording(path, palette, out_dir, params, tile_overlap, save_spectrograms)
    if not overwrite and all(os.path.exists(t) for t in targets):
        return RecordingResult(path, out_dir, skipped=True, outputs=targets)
    translator = as_translator(generator, device, input_nc, compile, batch_size, precision)
    result = _translate_recording(path, info, stem, translator, palette, out_dir, params, channel=channel,
                                  batch_size=batch_size, tile_overlap=tile_overlap, min_duration_s=min_duration_s,
                                  min_area_px=min_area_px, save_spectrograms=save_spectrograms,
                                  block_s=block_s, progress=progress)
    result.wall_s = time.perf_counter() - started
    return result


def _check_recording(path: str, palette: Palette, out_dir: str, params: SpecParams, tile_overlap: int,
                     save_spectrograms: bool) -> tuple[str, AudioInfo, list[str]]:
    """Options and file checked (a UserError if wrong) -> the recording's stem, header and output paths."""
    params.check()
    check_tile_overlap(tile_overlap, params.tile_frames)
    _check_slugs(palette)
    stem = os.path.splitext(os.path.basename(path))[0]
    targets = expected_outputs(out_dir, stem, palette, save_spectrograms)
    return stem, audio_info(path), targets


def _check_slugs(palette: Palette) -> None:
    clash = [s for s in palette.slugs if s == RESIDUAL]
    if clash:
        raise UserError(f"palette '{palette.name}': a class may not be called '{RESIDUAL}' "
                        f"(its audio would overwrite the residual)")


def _translate_recording(path: str, info: AudioInfo, stem: str, translator, palette: Palette, out_dir: str,
                         params: SpecParams, *, channel: int | None, batch_size: int, tile_overlap: int,
                         min_duration_s: float, min_area_px: int, save_spectrograms: bool, block_s: float,
                         progress: bool) -> RecordingResult:
    """Stream the recording through the translator into its outputs (all of them, or none on failure)."""
    n_samples = resampled_length(info.n_samples, info.orig_sr, params.sr)
    n_frames = n_frames_for(n_samples, params.hop_length)
    n_tiles = count_overlapping_tiles(n_frames, params.tile_frames, tile_overlap)
    meta = tile_metadata(params, source=path, orig_sr=info.orig_sr, channel=channel, start_frame=0,
                         n_valid_frames=n_frames, tile_index=0, n_tiles=1)
    os.makedirs(out_dir, exist_ok=True)
    outputs = RecordingOutputs(path, out_dir, stem, palette, params, n_samples, n_frames, meta,
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
                           n_frames=n_frames, n_tiles=n_tiles, n_selections=len(outputs.regions))


# --------------------------------------------------------------------------- many recordings

def process_recordings(inputs: Sequence[str | InputFile], generator: nn.Module | TileTranslator,
                       palette: Palette, results_dir: str, params: SpecParams = SpecParams(), *,
                       device: str = "cpu", compile: bool = False, precision: str = PRECISIONS[0],
                       input_nc: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = True,
                       **options) -> RecordingsResult:
    """:func:`process_recording` for many files, each into ``<results_dir>/<rel_dir>/<stem>/``, plus two
    tables across them in ``results_dir``.

    Parameters
    ----------
    inputs : sequence of str or InputFile
        The recordings; an :class:`util.cli.InputFile` keeps its folder relative to the input root
        (``rel_dir``), a plain path goes straight under ``results_dir``.
    generator : nn.Module, TileTranslator or callable
        As for :func:`process_recording`; prepared (and compiled) once for all files.
    palette : Palette
        The class colours the generator paints.
    results_dir : str
        Root folder of the outputs (created).
    params : SpecParams
        Working rate (Hz), STFT (samples), image rows, tile width (frames) and dB range.
    device, compile, precision, input_nc, batch_size, progress
        As for :func:`process_recording`.
    **options
        Passed to :func:`process_recording`: ``tile_overlap``, ``channel``, ``min_duration_s``,
        ``min_area_px``, ``save_spectrograms``, ``block_s``, ``overwrite``.

    Returns
    -------
    RecordingsResult
        ``done``: (InputFile, RecordingResult) per file processed or skipped; ``failures``: (InputFile,
        one-line message) per file that failed (the others go on); ``selections_path`` and
        ``occupancy_path``: the combined tables (None when no file was done):

        ``combined.selections.txt``: every selection, with ``Begin Path`` (the recording), ``File Offset
        (s)`` (= Begin Time (s): times are within each file) and, where the file name holds a start time
        (YYYYMMDD_HHMMSS), ``Begin Date Time`` = file start + Begin Time.
        ``combined_occupancy.csv``: file, start_datetime (blank if unknown), then occupancy.csv's columns.
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
