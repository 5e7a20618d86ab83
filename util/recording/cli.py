"""The command-line flags of whole-recording inference, with their defaults read from the code they configure."""

from __future__ import annotations

import argparse

from util.recording.settings import (
    AUDIO_FORMATS,
    DEFAULT_AUDIO_FORMAT,
    DEFAULT_MIN_AREA_PX,
    DEFAULT_MIN_DURATION_S,
    DEFAULT_MIN_SCORE,
    DEFAULT_OUTPUTS,
    DEFAULT_TIMEZONE,
    PRODUCTS,
    RecordingSettings,
)
from util.recording.tiling import DEFAULT_TILE_OVERLAP


def add_recording_args(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Add the "whole recordings (--wav)" group (what to write, detection thresholds, time zone, how the
    generator runs, and the spectrogram flags for weights that carry no settings). Returns the group."""
    group = parser.add_argument_group("whole recordings (--wav)")
    group.add_argument("--wav", default=None,
                       help="a recording or a folder of them: detect, quantify and separate every source "
                            "instead of scoring test pairs")
    group.add_argument("--outputs", default=",".join(DEFAULT_OUTPUTS),
                       help=f"what to write, comma-separated: {', '.join(PRODUCTS)}, or all. tables: Raven, CSV "
                            "and Audacity tables of the detections, occupancy and frequency profile (kB per hour); "
                            "labels: labels.png (MB per hour); audio: one file per class and the residual; "
                            "spectrograms: each class's isolated spectrogram; figures: <stem>.detections.png (the spectrogram "
                            "with the detections boxed) and, for the run, diel_activity.png and occupancy.png "
                            "with their CSVs; "
                            "kaleidoscope: a Kaleidoscope-style CSV of the run")
    group.add_argument("--classes", default=None,
                       help="comma-separated classes (names, scientific names or slugs) whose audio, spectrograms "
                            "and detections are written; default: all")
    group.add_argument("--audio_format", default=DEFAULT_AUDIO_FORMAT, choices=sorted(AUDIO_FORMATS),
                       help="flac: lossless 16-bit, silent stretches cost almost nothing; wav16: 16-bit WAV; "
                            "float: 32-bit float WAV (the files add up to the recording exactly; 2.9 GB per "
                            "recorded hour for the 8 species)")
    group.add_argument("--min_duration", type=float, default=DEFAULT_MIN_DURATION_S,
                       help="shortest detection kept in the tables, seconds")
    group.add_argument("--min_area", type=int, default=DEFAULT_MIN_AREA_PX,
                       help="smallest detection kept in the tables, pixels (one pixel: one frame x one bin)")
    group.add_argument("--min_score", type=float, default=DEFAULT_MIN_SCORE,
                       help="lowest score kept in the tables, 0..1: a detection's mean pixel confidence, 1 - d1/d2 "
                            "with d1, d2 the distances of the generated colour to the nearest and second-nearest "
                            "palette colour (not a probability; see README)")
    group.add_argument("--timezone", default=DEFAULT_TIMEZONE,
                       help="time zone of the start times in file names (SITE_YYYYMMDD_HHMMSS): UTC (AudioMoth), "
                            "an offset such as +10:00, or a name such as Europe/Berlin (recorders set to local time)")
    group.add_argument("--channel", type=int, default=None, help="channel to use (0-based); default: the channel mean")
    group.add_argument("--tile_overlap", type=int, default=DEFAULT_TILE_OVERLAP,
                       help="frames by which consecutive tiles overlap; their outputs are cross-faded so seams "
                            "do not show")
    group.add_argument("--overwrite", action="store_true",
                       help="re-process recordings even when their run.json says they were made with these settings")
    group.add_argument("--compile", action="store_true",
                       help="torch.compile the generator (first tiles wait 10-30 s; pays off from about an hour "
                            "of audio; falls back to eager if compiling fails)")
    _add_cluster_args(group)
    for name, what in (("sr", "working sample rate (Hz)"), ("n_fft", "FFT length (samples)"),
                       ("hop_length", "hop (samples between frames)")):
        group.add_argument(f"--{name}", type=int, default=None,
                           help=f"the {what} of the model's training tiles, for --weights without a train_opt.json "
                                f"(default: the model's own, else job01's default); may not contradict the model's")
    return group


def _add_cluster_args(group: argparse._ArgumentGroup) -> None:
    """--workers N | --scheduler ADDRESS: recordings over a Dask cluster (:mod:`util.recording.cluster`)."""
    where = group.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, metavar="N",
                       help="process the recordings in N worker processes on this machine (a Dask LocalCluster), "
                            "each with its share of the cores as torch threads; default: one after the other here")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="send the recordings to the running Dask cluster whose scheduler is at ADDRESS "
                            "(tcp://host:8786; dask scheduler / dask worker, or dask-jobqueue on Slurm/PBS); its "
                            "workers must see the recordings, the weights and --results_dir at the same paths")


def settings_from_args(opt: argparse.Namespace) -> RecordingSettings:
    """job04's flags -> :class:`RecordingSettings` (not yet checked against a palette)."""
    return RecordingSettings(tile_overlap=opt.tile_overlap, channel=opt.channel, min_duration_s=opt.min_duration,
                             min_area_px=opt.min_area, min_score=opt.min_score, outputs=opt.outputs,
                             classes=opt.classes, audio_format=opt.audio_format, timezone=opt.timezone)
