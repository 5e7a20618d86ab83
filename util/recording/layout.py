"""The names of what a recording's run writes: per-recording files, folder, run record and the combined tables.

One place for them, so that the writers, the skip check and the combined tables agree.
"""

from __future__ import annotations

import os

from util.cli import InputFile
from util.labels.palette import Palette
from util.recording.settings import AUDIO_FORMATS, RecordingSettings

RESIDUAL = "residual"                       # <residual>.<ext>: what the written classes did not take
LABELS_PNG = "labels.png"
OCCUPANCY_CSV = "occupancy.csv"
PROFILE_CSV = "frequency_profile.csv"
DETECTIONS_CSV = "detections.csv"
RUN_RECORD = "run.json"                     # which model and settings made the outputs beside it
COMBINED_SELECTIONS = "combined.selections.txt"
COMBINED_LIST = "combined.selections.list.txt"   # the recordings, one path a line: Raven opens them as a sequence
COMBINED_DETECTIONS = "combined_detections.csv"
COMBINED_OCCUPANCY = "combined_occupancy.csv"
KALEIDOSCOPE_CSV = "kaleidoscope.csv"
FAILED_LIST = "failed_recordings.txt"      # a cluster run's failures: path<TAB>reason, one recording a line
DIEL_PNG = "diel_activity.png"              # the run's figures (product 'figures'), with their numbers
DIEL_CSV = "diel_activity.csv"
OCCUPANCY_PNG = "occupancy.png"
OCCUPANCY_BY_CLASS_CSV = "occupancy_by_class.csv"
OCCUPANCY_COLUMNS = ("class", "scientific_name", "time_occupancy", "acoustic_space_occupancy", "seconds_present",
                     "seconds_total")
PROFILE_COLUMNS = ("class", "freq_hz", "mean_db", "n_cells")


def selections_name(stem: str) -> str:
    """``<stem>.selections.txt``: a recording's Raven selection table."""
    return f"{stem}.selections.txt"


def audacity_name(stem: str) -> str:
    """``<stem>.audacity.txt``: a recording's Audacity labels."""
    return f"{stem}.audacity.txt"


def detections_figure_name(stem: str) -> str:
    """``<stem>.detections.png``: a recording's spectrogram with its detections boxed."""
    return f"{stem}.detections.png"


def audio_name(slug: str, audio_format: str) -> str:
    """``<slug>.flac`` (or .wav): a class's audio, or the residual's."""
    return slug + AUDIO_FORMATS[audio_format].extension


def isolated_spectrogram_name(slug: str) -> str:
    """``<slug>_spectrogram.png``: the mixture's grey spectrogram where the class is."""
    return f"{slug}_spectrogram.png"


def expected_outputs(out_dir: str, stem: str, palette: Palette, settings: RecordingSettings = RecordingSettings()
                     ) -> list[str]:
    """Every file :func:`util.recording.pipeline.process_recording` writes for a recording of this ``stem``
    (the run record, ``run.json``, aside)."""
    slugs = [palette.classes[k - 1].slug for k in settings.class_indices(palette)]
    names = []
    if settings.wants("audio"):
        names += [audio_name(slug, settings.audio_format) for slug in slugs + [RESIDUAL]]
    if settings.wants("labels"):
        names.append(LABELS_PNG)
    if settings.wants("spectrograms"):
        names += [isolated_spectrogram_name(slug) for slug in slugs]
    if settings.wants("tables") or settings.wants("kaleidoscope") or settings.wants("figures"):
        names.append(DETECTIONS_CSV)              # the combined tables and the run's figures are made from it
    if settings.wants("tables"):
        names += [selections_name(stem), audacity_name(stem), OCCUPANCY_CSV, PROFILE_CSV]
    if settings.wants("figures"):
        names.append(detections_figure_name(stem))
    return [os.path.join(out_dir, name) for name in names]


def recording_out_dir(results_dir: str, item: InputFile) -> str:
    """``<results_dir>/<folder relative to the input root>/<stem>/``."""
    return os.path.join(results_dir, item.rel_dir, item.stem)
