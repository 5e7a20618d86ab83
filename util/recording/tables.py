"""Tables across recordings: every selection and every occupancy row in one file, with clock times.

A recorder-style file name (``SITE_20240501_053000.wav``) gives the recording's start time, so a selection
gets a date and time, not only an offset into its file.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from util.files import read_csv_rows, read_tsv_rows, write_csv
from util.labels.annotations import write_raven_table
from util.recording.layout import OCCUPANCY_COLUMNS, OCCUPANCY_CSV, selections_name

if TYPE_CHECKING:  # a type only: the pipeline imports this module
    from util.recording.pipeline import RecordingResult

TIMESTAMP = re.compile(r"(?<!\d)(\d{8})[_T-]?(\d{6})(?!\d)")   # SITE_20240501_053000 (recorder style)


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
    return write_csv(path, ("file", "start_datetime") + OCCUPANCY_COLUMNS, rows)
