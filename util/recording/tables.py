"""Tables across the recordings of a run, made from each recording's detections.csv and occupancy.csv on disk
(fresh or from an earlier run with the same settings), in the order the recordings were given.

``combined.selections.txt`` + ``combined.selections.list.txt``
    A Raven Pro table of the recordings as one sequence, as BirdNET writes its combined table: Begin Time (s)
    and End Time (s) run on across the files (a file's selections are offset by the summed durations of the
    files before it, as Raven lays a file sequence out), File Offset (s) is the time within the file and
    Begin Path the file. The list file names the recordings, one absolute path a line: Raven opens it as the
    sequence the table belongs to (File > Open Sound Files, then the list file).
``combined_detections.csv``
    Every recording's detections.csv, one after the other (times within each file).
``combined_occupancy.csv``
    Every recording's occupancy.csv with its file and start time.
``kaleidoscope.csv`` (product ``kaleidoscope``)
    The detections in Kaleidoscope-style columns (:func:`util.recording.formats.write_kaleidoscope`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from util.cli import InputFile
from util.files import read_csv_rows, write_csv, write_text
from util.recording.clock import format_datetime, parse_timezone, recording_start_time
from util.recording.formats import DETECTION_COLUMNS, write_kaleidoscope, write_raven
from util.recording.layout import (
    COMBINED_DETECTIONS,
    COMBINED_LIST,
    COMBINED_OCCUPANCY,
    COMBINED_SELECTIONS,
    DETECTIONS_CSV,
    KALEIDOSCOPE_CSV,
    OCCUPANCY_COLUMNS,
    OCCUPANCY_CSV,
)
from util.recording.settings import RecordingSettings
from util.signal.audio import audio_info

if TYPE_CHECKING:  # a type only: the pipeline imports this module
    from util.recording.pipeline import RecordingResult


def write_combined_tables(results_dir: str, done: list[tuple[InputFile, RecordingResult]],
                          settings: RecordingSettings) -> dict[str, str]:
    """The run's tables across recordings, in ``results_dir``; returns {'selections', 'list', 'detections',
    'occupancy', 'kaleidoscope'} -> path, for those written (none without the products that need them)."""
    written: dict[str, str] = {}
    if not done or not (settings.wants("tables") or settings.wants("kaleidoscope")):
        return written
    rows, offsets = [], []
    elapsed_s = 0.0
    for _, result in done:
        file_rows = read_csv_rows(os.path.join(result.out_dir, DETECTIONS_CSV))
        rows += file_rows
        offsets += [elapsed_s] * len(file_rows)
        elapsed_s += audio_info(result.path).duration_s          # Raven lays the files end to end
    if settings.wants("tables"):
        written["selections"] = write_raven(os.path.join(results_dir, COMBINED_SELECTIONS), rows, offsets)
        written["list"] = write_text(os.path.join(results_dir, COMBINED_LIST),
                                     "".join(os.path.abspath(r.path) + "\n" for _, r in done))
        written["detections"] = write_csv(os.path.join(results_dir, COMBINED_DETECTIONS), DETECTION_COLUMNS, rows)
        written["occupancy"] = write_combined_occupancy(os.path.join(results_dir, COMBINED_OCCUPANCY),
                                                        [r for _, r in done], settings.timezone)
    if settings.wants("kaleidoscope"):
        zone = parse_timezone(settings.timezone)
        roots = {os.path.abspath(r.path): input_root(item) for item, r in done}
        starts = {os.path.abspath(r.path): recording_start_time(r.path, zone) for _, r in done}
        written["kaleidoscope"] = write_kaleidoscope(os.path.join(results_dir, KALEIDOSCOPE_CSV), rows, roots,
                                                     starts)
    return written


def write_combined_occupancy(path: str, results: list[RecordingResult], zone: str) -> str:
    """occupancy.csv of every recording, one after the other, with its file and start time (blank if unknown)."""
    rows = []
    for result in results:
        start = recording_start_time(result.path, zone)
        for row in read_csv_rows(os.path.join(result.out_dir, OCCUPANCY_CSV)):
            rows.append({"file": os.path.abspath(result.path), "start_datetime": format_datetime(start), **row})
    return write_csv(path, ("file", "start_datetime") + OCCUPANCY_COLUMNS, rows)


def input_root(item: InputFile) -> str:
    """The folder the recordings were found under (``--wav``): the file's folder without its ``rel_dir``."""
    folder = os.path.dirname(os.path.abspath(item.path))
    depth = len([part for part in item.rel_dir.split(os.sep) if part]) if item.rel_dir else 0
    return os.path.normpath(os.path.join(folder, *[os.pardir] * depth))
