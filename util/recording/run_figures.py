"""The run's figures, beside its combined tables (product ``figures``), each with the numbers behind it as CSV.

``diel_activity.png`` + ``diel_activity.csv``
    Detections per hour of day per class (:mod:`util.recording.summaries`): the top row is the minutes
    recorded in each hour (the effort), below it one row of bars per class in the class's colour; hours not
    recorded are shaded. The clock is that of the file names, in ``--timezone``; recordings whose name gives
    no start time are left out, and the title says how many.
``occupancy.png`` + ``occupancy_by_class.csv``
    Per class, the share of the run's recordings with at least one detection, each bar labelled k / N.

Both are made from each recording's detections.csv on disk (fresh or kept from an earlier run with the same
settings), so they count what the tables hold.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

import numpy as np

from util.cli import InputFile
from util.files import read_csv_rows, write_csv
from util.labels.palette import Palette
from util.recording.clock import recording_start_time
from util.recording.figures import class_colour, new_figure, save_figure
from util.recording.layout import DETECTIONS_CSV, DIEL_CSV, DIEL_PNG, OCCUPANCY_BY_CLASS_CSV, OCCUPANCY_PNG
from util.recording.settings import RecordingSettings
from util.recording.summaries import (
    DIEL_COLUMNS,
    HOURS_PER_DAY,
    OCCUPANCY_SHARE_COLUMNS,
    DetectionOccupancy,
    DielActivity,
    RecordingDetections,
    detection_occupancy,
    diel_activity,
    diel_rows,
    occupancy_rows,
)
from util.signal.audio import audio_info

if TYPE_CHECKING:  # a type only: the pipeline imports this module
    from util.recording.pipeline import RecordingResult

FIGURE_WIDTH_IN = 10.0
CLASS_ROW_HEIGHT_IN = 0.75        # per class in diel_activity.png
BAR_ROW_HEIGHT_IN = 0.35          # per class in occupancy.png
UNRECORDED_GREY = "0.9"


def write_run_figures(results_dir: str, done: list[tuple[InputFile, RecordingResult]], palette: Palette,
                      settings: RecordingSettings) -> dict[str, str]:
    """diel_activity.png/.csv and occupancy.png / occupancy_by_class.csv in ``results_dir`` for the selected
    classes; returns {'diel_figure', 'diel', 'occupancy_figure', 'occupancy_by_class'} -> path."""
    recordings = [read_recording_detections(result.path, result.out_dir, settings.timezone) for _, result in done]
    names = tuple(palette.classes[k - 1].name for k in settings.class_indices(palette))
    scientific = {c.name: c.scientific_name for c in palette.classes}
    diel, occupancy = diel_activity(recordings, names), detection_occupancy(recordings, names)
    here = functools.partial(os.path.join, results_dir)
    return {"diel_figure": write_diel_figure(here(DIEL_PNG), diel, palette, settings.timezone),
            "diel": write_csv(here(DIEL_CSV), DIEL_COLUMNS, diel_rows(diel, scientific)),
            "occupancy_figure": write_occupancy_figure(here(OCCUPANCY_PNG), occupancy, palette),
            "occupancy_by_class": write_csv(here(OCCUPANCY_BY_CLASS_CSV), OCCUPANCY_SHARE_COLUMNS,
                                            occupancy_rows(occupancy, scientific))}


def read_recording_detections(path: str, out_dir: str, zone: str) -> RecordingDetections:
    """A recording's start (from its name), length and detection rows (its detections.csv in ``out_dir``)."""
    return RecordingDetections(path, recording_start_time(path, zone), audio_info(path).duration_s,
                               read_csv_rows(os.path.join(out_dir, DETECTIONS_CSV)))


def write_diel_figure(path: str, diel: DielActivity, palette: Palette, zone: str) -> str:
    """Minutes recorded per hour of day, then one row of detections per hour for each class; returns ``path``."""
    from matplotlib.ticker import MaxNLocator

    n_classes = len(diel.classes)
    figure = new_figure(FIGURE_WIDTH_IN, 1.6 + CLASS_ROW_HEIGHT_IN * (n_classes + 1))
    axes = figure.subplots(n_classes + 1, 1, sharex=True, squeeze=False)[:, 0]
    centres = np.arange(HOURS_PER_DAY) + 0.5
    axes[0].bar(centres, diel.recorded_s / 60, width=0.9, color="0.45")
    axes[0].set_ylabel("minutes\nrecorded", rotation=0, ha="right", va="center")
    for row, name, counts in zip(axes[1:], diel.classes, diel.counts):
        row.bar(centres, counts, width=0.9, color=class_colour(palette, palette.index(name)), edgecolor="black",
                linewidth=0.4)
        row.set_ylabel(name, rotation=0, ha="right", va="center")
        row.set_ylim(0, max(1, int(counts.max())) * 1.15)
    for row in axes:
        row.yaxis.set_major_locator(MaxNLocator(2, integer=True))
        for hour in np.flatnonzero(diel.recorded_s <= 0):
            row.axvspan(hour, hour + 1, color=UNRECORDED_GREY, linewidth=0, zorder=0)
    axes[-1].set_xlim(0, HOURS_PER_DAY)
    axes[-1].set_xticks(range(0, HOURS_PER_DAY + 1, 3))
    axes[-1].set_xlabel(f"hour of day ({zone}, from the file names)")
    left_out = (f"\n{diel.n_left_out} recording(s) without a start time in the file name left out "
                f"({diel.n_detections_left_out} detections)" if diel.n_left_out else "")
    figure.suptitle(f"Detections per hour of day, {diel.n_recordings} recording(s); shaded: not recorded{left_out}",
                    x=0.01, ha="left", fontsize="medium")
    return save_figure(figure, path)


def write_occupancy_figure(path: str, occupancy: DetectionOccupancy, palette: Palette) -> str:
    """One bar per class: the share of recordings with at least one detection, labelled k / N; returns ``path``."""
    n_classes, n = len(occupancy.classes), occupancy.n_recordings
    figure = new_figure(FIGURE_WIDTH_IN * 0.8, 1.3 + BAR_ROW_HEIGHT_IN * n_classes)
    axes = figure.add_subplot()
    rows = np.arange(n_classes)[::-1]                          # the first class on top
    percent = occupancy.share * 100
    axes.barh(rows, percent, height=0.7, edgecolor="black", linewidth=0.4,
              color=[class_colour(palette, palette.index(name)) for name in occupancy.classes])
    for row, value, k in zip(rows, percent, occupancy.recordings_with_detections):
        axes.text(value + 1, row, f"{int(k)} / {n}", va="center", fontsize="small")
    axes.set_yticks(rows, occupancy.classes)
    axes.set_xlim(0, 112)
    axes.set_xticks(range(0, 101, 20))
    axes.set_xlabel(f"recordings with at least one detection (% of {n} recordings)")
    axes.set_title("Occupancy per class (naive: each recording is one sampling unit)", loc="left",
                   fontsize="medium")
    return save_figure(figure, path)
