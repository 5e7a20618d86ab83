"""Whole-recording inference: a recording in; detections, a label image, per-source audio and a run record out.

:func:`process_recording` streams one recording through a pix2pix generator and writes, in ``out_dir``, the
products asked for (:mod:`util.recording.settings`; default tables and labels.png):

``<stem>.selections.txt``, ``detections.csv``, ``<stem>.audacity.txt``
    One detection per connected region of a class (8-connected, joined across tiles), as a Raven Pro table,
    a CSV for R and Audacity labels (:mod:`util.recording.formats`); score = the region's mean confidence
    (:mod:`util.recording.decoding`).
``occupancy.csv``, ``frequency_profile.csv``
    Per class: time occupancy, acoustic-space occupancy, seconds present and seconds in all; per class and
    frequency row: mean level (dB re full scale) of the isolated source where present, and its cell count.
``labels.png``
    The class map of the whole recording in palette colours, n_fft/2 rows x one column per STFT frame.
``<class-slug>.flac`` ..., ``residual.flac`` (product ``audio``)
    The mixture's STFT under each class's binary mask, inverted with the mixture's phase, at the working rate.
``<slug>_spectrogram.png`` (``spectrograms``)
``<stem>.detections.png`` (``figures``)
    The spectrogram with every detection boxed, and the detections in time, one row per class
    (:mod:`util.recording.figures`); for a run, diel_activity.png and occupancy.png (:mod:`util.recording.run_figures`).
``run.json``
    Which model, palette, spectrogram and settings made the outputs (:mod:`util.recording.record`).

How (memory is flat in file length): STFT blocks -> grey pixel columns -> tiles of ``tile_frames`` columns
overlapping by ``tile_overlap`` -> batches -> generator (eval mode) -> RGB in 0..255 -> overlapping tiles
cross-faded with complementary linear ramps (in RGB, so no seam shows; :mod:`util.recording.tiling`) ->
nearest palette colour (:meth:`util.labels.palette.Palette.classify`'s rule) -> masks applied to the
buffered STFT frames -> one streaming ISTFT per output. The class map (and the grey spectrogram) wait on
disk in a temporary file and are written to PNG row by row through zlib at the end. Every output is written
under a temporary name and renamed when the recording is done; a recording is skipped only when its
run.json says it was made with the same settings and every output asked for exists.

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
from util.files import write_json
from util.labels.palette import Palette
from util.recording.clock import recording_start_time
from util.recording.layout import RESIDUAL, RUN_RECORD, expected_outputs, recording_out_dir
from util.recording.outputs import RecordingOutputs
from util.recording.record import (
    ModelInfo,
    model_info,
    read_record,
    record_outputs,
    run_settings,
    same_settings,
    skip_or_redo,
    write_record,
)
from util.recording.run_figures import write_run_figures
from util.recording.settings import RecordingSettings
from util.recording.stream import iter_translated_blocks
from util.recording.tables import write_combined_tables
from util.recording.tiling import count_overlapping_tiles
from util.recording.translator import DEFAULT_BATCH_SIZE, PRECISIONS, TileTranslator, as_translator
from util.signal.audio import DEFAULT_BLOCK_S, AudioInfo, audio_info, n_frames_for, resampled_length
from util.signal.spectrogram import SpecParams, iter_spectrum_blocks, tile_metadata


@dataclass
class RecordingResult:
    """What :func:`process_recording` did for one recording."""

    path: str
    out_dir: str
    skipped: bool                                   # True: made earlier with the same settings, nothing was done
    outputs: list[str] = field(default_factory=list)
    duration_s: float = 0.0                         # at the working rate
    n_frames: int = 0
    n_tiles: int = 0                                # generator calls (tiles), overlap included
    n_selections: int = 0                           # detections in the tables (after min_score)
    wall_s: float = 0.0
    redo_reason: str = ""                           # why outputs already there were made again ('' if not)

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio per second of wall time (0 when skipped)."""
        return self.duration_s / self.wall_s if self.wall_s > 0 else 0.0


@dataclass
class RecordingsResult(BatchResult):
    """:func:`process_recordings`: ``done`` holds (InputFile, RecordingResult), ``failures`` (InputFile, message);
    ``tables`` the combined tables and figures written ('selections', 'list', 'detections', 'occupancy',
    'kaleidoscope'; with the product ``figures``: 'diel_figure', 'diel', 'occupancy_figure', 'occupancy_by_class')."""

    tables: dict[str, str] = field(default_factory=dict)

    @property
    def selections_path(self) -> str | None:
        return self.tables.get("selections")

    @property
    def occupancy_path(self) -> str | None:
        return self.tables.get("occupancy")


# --------------------------------------------------------------------------- one recording

def process_recording(path: str, generator: nn.Module | TileTranslator, palette: Palette, out_dir: str,
                      params: SpecParams = SpecParams(), *, device: str = "cpu", input_nc: int | None = None,
                      compile: bool = False, precision: str = PRECISIONS[0], batch_size: int = DEFAULT_BATCH_SIZE,
                      block_s: float = DEFAULT_BLOCK_S, progress: bool = True, overwrite: bool = False,
                      model: ModelInfo | None = None, settings: RecordingSettings | None = None,
                      **setting_values) -> RecordingResult:
    """Run a generator over a whole recording; write the products asked for, and run.json, to ``out_dir``.

    Parameters
    ----------
    path : str
        The recording: any file soundfile reads, at any rate not below ``params.sr`` (resampled to it).
    generator : nn.Module, TileTranslator or callable
        A pix2pix generator; or a prepared :class:`TileTranslator` to reuse across recordings (``device``,
        ``input_nc``, ``compile`` and ``precision`` then come from it); or any callable with a translator's
        contract, uint8 (N, rows, frames) -> (N, 3, rows, frames).
    palette, out_dir : Palette, str
        The class colours the generator paints; the folder of the outputs (created; see the module docstring).
    params : SpecParams
        The spectrogram the model was trained on: working rate (Hz), STFT (samples), dB range, tile width.
    device, input_nc, compile, precision, batch_size
        How the generator runs (see :class:`TileTranslator`); ``input_nc`` None reads it from the generator.
    block_s : float
        Seconds of audio read at a time (memory only; the results do not depend on it).
    progress, overwrite : bool
        Show a progress bar and the reason a recording is redone; redo even when run.json says it is done.
    model : ModelInfo, optional
        The generator's checksum and label (default: from the module's tensors).
    settings : RecordingSettings, optional
        Products, classes, thresholds, channel, overlap, time zone; or give its fields as keywords.

    Returns a :class:`RecordingResult`: paths written, duration (s), frames, tiles, detections, wall time (s),
    why it was redone. A recording that fails leaves no output behind; a user's mistake raises a UserError.
    """
    started = time.perf_counter()
    settings = (settings or RecordingSettings(**setting_values)).check(palette, params.tile_frames)
    stem, info = _check_recording(path, palette, params)
    translator = as_translator(generator, device, input_nc, compile, batch_size, precision)
    model = model or model_info(translator)
    values = run_settings(model, palette, params, settings, getattr(translator, "precision", precision), path)
    targets = expected_outputs(out_dir, stem, palette, settings)
    record = read_record(out_dir)
    skip, reason = skip_or_redo(record, values, targets, overwrite)
    if skip:
        return RecordingResult(path, out_dir, skipped=True, outputs=targets)
    if reason and progress:
        tqdm.write(f"{path}: {reason}; redoing it")
    os.makedirs(out_dir, exist_ok=True)
    earlier = record_outputs(record, out_dir)
    write_record(out_dir, None, model, earlier + targets, input=os.path.abspath(path))   # in progress
    result = _translate_recording(path, info, stem, translator, palette, out_dir, params, settings, model,
                                  batch_size=batch_size, block_s=block_s, progress=progress,
                                  restore=lambda: _restore_record(out_dir, record))
    result.redo_reason, result.wall_s = reason, time.perf_counter() - started
    _finish_record(out_dir, record, values, model, result, earlier, translator, batch_size)
    return result


def _check_recording(path: str, palette: Palette, params: SpecParams) -> tuple[str, AudioInfo]:
    """Options and file checked (a UserError if wrong) -> the recording's stem and header."""
    params.check()
    clash = [s for s in palette.slugs if s == RESIDUAL]
    if clash:
        raise UserError(f"palette '{palette.name}': a class may not be called '{RESIDUAL}' "
                        f"(its audio would overwrite the residual)")
    info = audio_info(path)
    if info.orig_sr < params.sr:
        raise UserError(f"{path}: recorded at {info.orig_sr} Hz, below the model's working rate {params.sr} Hz "
                        f"(its tiles reach {params.sr / 2:g} Hz, this recording {info.orig_sr / 2:g} Hz); use a "
                        f"model trained on tiles at {info.orig_sr} Hz or less")
    return os.path.splitext(os.path.basename(path))[0], info


def _restore_record(out_dir: str, record: dict | None) -> None:
    """A run that failed before it replaced any output: put the earlier run.json back (or none, as before)."""
    path = os.path.join(out_dir, RUN_RECORD)
    if record is not None:
        write_json(path, record)
    elif os.path.exists(path):
        os.remove(path)


def _finish_record(out_dir: str, record: dict | None, values: dict, model: ModelInfo, result: RecordingResult,
                   earlier: list[str], translator, batch_size: int) -> None:
    """Remove what an earlier run with other settings wrote and this one did not; write run.json."""
    same = same_settings(record, values)
    kept = [p for p in earlier if p in result.outputs or same]
    for stale in set(earlier) - set(kept) - set(result.outputs):
        if os.path.basename(stale) != RUN_RECORD:
            os.remove(stale)
    device = getattr(translator, "device", None)
    write_record(out_dir, values, model, result.outputs + kept, input=os.path.abspath(result.path),
                 results={"duration_s": result.duration_s, "n_frames": result.n_frames, "n_tiles": result.n_tiles,
                          "n_detections": result.n_selections, "wall_s": round(result.wall_s, 3)},
                 device=str(device) if device is not None else None, batch_size=batch_size)


def _translate_recording(path: str, info: AudioInfo, stem: str, translator, palette: Palette, out_dir: str,
                         params: SpecParams, settings: RecordingSettings, model: ModelInfo, *, batch_size: int,
                         block_s: float, progress: bool, restore) -> RecordingResult:
    """Stream the recording through the translator into its outputs (all of them, or none on failure: then
    ``restore()`` is called if no earlier output was replaced yet)."""
    n_samples = resampled_length(info.n_samples, info.orig_sr, params.sr)
    n_frames = n_frames_for(n_samples, params.hop_length)
    n_tiles = count_overlapping_tiles(n_frames, params.tile_frames, settings.tile_overlap)
    meta = tile_metadata(params, source=path, orig_sr=info.orig_sr, channel=settings.channel, start_frame=0,
                         n_valid_frames=n_frames, tile_index=0, n_tiles=1)
    outputs = RecordingOutputs(path, out_dir, stem, palette, params, n_samples, n_frames, meta, settings,
                               recording_start_time(path, settings.timezone), model.label)
    bar = tqdm(total=n_tiles, desc=stem, unit="tile", disable=None if progress else True, leave=False)
    try:
        spectra = iter_spectrum_blocks(path, params, settings.channel, block_s)
        for block in iter_translated_blocks(spectra, params, translator, batch_size=batch_size,
                                            tile_overlap=settings.tile_overlap, on_tiles=bar.update):
            outputs.add(block)
        written = outputs.finish()
    except BaseException:
        outputs.discard()
        if not outputs.committed:
            restore()
        raise
    finally:
        bar.close()
    return RecordingResult(path, out_dir, skipped=False, outputs=written, duration_s=n_samples / params.sr,
                           n_frames=n_frames, n_tiles=n_tiles, n_selections=len(outputs.detections))


# --------------------------------------------------------------------------- many recordings

def process_recordings(inputs: Sequence[str | InputFile], generator: nn.Module | TileTranslator,
                       palette: Palette, results_dir: str, params: SpecParams = SpecParams(), *,
                       device: str = "cpu", compile: bool = False, precision: str = PRECISIONS[0],
                       input_nc: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = True,
                       overwrite: bool = False, block_s: float = DEFAULT_BLOCK_S, model: ModelInfo | None = None,
                       settings: RecordingSettings | None = None, **setting_values) -> RecordingsResult:
    """:func:`process_recording` for many files, each into ``<results_dir>/<rel_dir>/<stem>/``, plus tables
    across them in ``results_dir`` (:mod:`util.recording.tables`; the product ``figures`` adds the run's figures,
    :mod:`util.recording.run_figures`).

    ``inputs``: paths, or :class:`util.cli.InputFile` s that keep their folder relative to the input root
    (``rel_dir``). The generator is prepared (and compiled, and checksummed) once for all files; the other
    arguments are those of :func:`process_recording`.

    Returns a :class:`RecordingsResult`: ``done`` (InputFile, RecordingResult) per file processed or skipped,
    ``failures`` (InputFile, one-line message) per file that failed (the others go on), ``tables`` the
    combined tables written (none when no file was done).
    """
    items = [item if isinstance(item, InputFile) else InputFile(item, "") for item in inputs]
    settings = (settings or RecordingSettings(**setting_values)).check(palette, params.tile_frames)
    check_distinct_out_dirs(items, results_dir)
    translator = as_translator(generator, device, input_nc, compile, batch_size, precision)
    model = model or model_info(translator)

    def one(item: InputFile) -> RecordingResult:
        return process_recording(item.path, translator, palette, recording_out_dir(results_dir, item), params,
                                 batch_size=batch_size, block_s=block_s, progress=progress, overwrite=overwrite,
                                 model=model, settings=settings)

    batch = run_batch(items, one, desc="recordings", unit="file")
    return RecordingsResult(batch.done, batch.failures,
                            write_run_tables(results_dir, batch.done, palette, settings))


def write_run_tables(results_dir: str, done: list[tuple[InputFile, RecordingResult]], palette: Palette,
                     settings: RecordingSettings) -> dict[str, str]:
    """The combined tables and, with the product ``figures``, the run's figures, from the recordings ``done``
    (in the order given); returns what was written (see :class:`RecordingsResult`), nothing when none was done."""
    if not done:
        return {}
    os.makedirs(results_dir, exist_ok=True)
    tables = write_combined_tables(results_dir, done, settings)
    if settings.wants("figures"):
        tables.update(write_run_figures(results_dir, done, palette, settings))
    return tables


def check_distinct_out_dirs(items: list[InputFile], results_dir: str) -> None:
    """UserError when two recordings would write to the same folder (same stem in the same folder below the root)."""
    seen: dict[str, str] = {}
    for item in items:
        out_dir = os.path.normpath(recording_out_dir(results_dir, item))
        if out_dir in seen:
            raise UserError(f"{item.path} and {seen[out_dir]} would both write to {out_dir}; "
                            f"rename one or process them separately")
        seen[out_dir] = item.path
