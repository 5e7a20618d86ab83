"""Whole recordings through a trained generator: detections, a label image, per-source audio and a run record.

Modules, one concern each (the flow of :func:`process_recording`, in order):
    settings    what a run writes (products, classes, audio format) and its detection thresholds, time zone
    translator  the generator wrapped for inference: grey tiles in, RGB out; device, precision, compile
    tiling      overlapping tiles over a recording, and the cross-fade that joins the generated ones
    stream      STFT blocks -> pixels -> tiles -> generator -> finished colours, frame-aligned with the STFT
    decoding    generated colour -> class (nearest palette colour) and a confidence
    audio_out   one audio file per class and the residual: masked STFT, streaming ISTFT
    store       a full-length image kept on disk until its PNG is written
    outputs     everything written for one recording: audio, labels.png, tables, figure
    formats     the detection rows and their tables: Raven, CSV for R, Audacity, Kaleidoscope-style
    clock       start times from recorder-style file names, in a stated time zone
    figures     <stem>.detections.png: a recording's spectrogram with its detections boxed, and in time
    summaries   the numbers behind the run's figures: detections per hour of day, occupancy per class
    run_figures diel_activity.png and occupancy.png for a run, each with its CSV
    record      run.json: the weights' checksum, palette, spectrogram and settings; skip or redo
    layout      the names of the files and of a recording's folder
    pipeline    process_recording (one file) and process_recordings (a folder, with combined tables)
    tables      the combined tables across recordings (Raven file sequence with its list file, CSVs)
    cluster     process_recordings_on_cluster: the recordings over Dask workers, the tables by the client
                (imported on its own, not here: dask is needed only when a cluster is asked for)
    cli         job04's "whole recordings (--wav)" flags, defaults from the constants here

May import from util.errors, util.files, util.cli, util.signal, util.labels and util.gan (never from
util.synth or util.evaluation).
"""

from util.recording.cli import add_recording_args, settings_from_args
from util.recording.clock import recording_start_time
from util.recording.layout import expected_outputs, recording_out_dir
from util.recording.pipeline import (
    RecordingResult,
    RecordingsResult,
    process_recording,
    process_recordings,
)
from util.recording.record import ModelInfo, model_info
from util.recording.settings import (
    DEFAULT_MIN_AREA_PX,
    DEFAULT_MIN_DURATION_S,
    DEFAULT_OUTPUTS,
    PRODUCTS,
    RecordingSettings,
)
from util.recording.tiling import DEFAULT_TILE_OVERLAP
from util.recording.translator import (
    DEFAULT_BATCH_SIZE,
    PRECISIONS,
    TileTranslator,
    as_translator,
)

__all__ = [
    "DEFAULT_BATCH_SIZE", "DEFAULT_MIN_AREA_PX", "DEFAULT_MIN_DURATION_S", "DEFAULT_OUTPUTS", "DEFAULT_TILE_OVERLAP",
    "PRECISIONS", "PRODUCTS", "ModelInfo", "RecordingResult", "RecordingSettings", "RecordingsResult",
    "TileTranslator", "add_recording_args", "as_translator", "expected_outputs", "model_info", "process_recording",
    "process_recordings", "recording_out_dir", "recording_start_time", "settings_from_args",
]
