"""Detections as the tables ecologists open: Raven Pro, a plain CSV for R, Audacity labels, Kaleidoscope-style CSV.

Every table is written from the same rows (:func:`detection_rows`), one per detection (a connected region of
one class in the class map, :mod:`util.labels.detections`), with these fields (``DETECTION_COLUMNS``, the
detections CSV's header):

``file``              the recording's absolute path
``channel``           1-based, as Raven counts (the channel mean is 1; ``--channel N`` is N + 1)
``start_s, end_s``    seconds from the start of the file
``low_freq_hz, high_freq_hz``  the region's frequency span, Hz
``start_datetime``    file start (from its name) + start_s, ISO 8601 with UTC offset; empty without a time in the name
``common_name, scientific_name``  the class, as the palette names it
``score``             the region's mean pixel confidence, 0..1 (:mod:`util.recording.decoding`)
``model``             which generator: ``<run name>@<first 12 hex digits of the weights' sha256>``
"""

from __future__ import annotations

import os
from datetime import datetime

from util.files import write_csv, write_text
from util.labels.palette import Palette
from util.recording.clock import format_datetime, time_after

DETECTION_COLUMNS = ("file", "channel", "start_s", "end_s", "low_freq_hz", "high_freq_hz", "start_datetime",
                     "common_name", "scientific_name", "score", "model")
RAVEN_TABLE_COLUMNS = ("Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)",
                       "High Freq (Hz)", "Species", "Scientific Name", "Score", "Begin File", "Begin Path",
                       "File Offset (s)", "Begin Date Time")
KALEIDOSCOPE_COLUMNS = ("INDIR", "FOLDER", "IN FILE", "CHANNEL", "OFFSET", "DURATION", "DATE", "TIME", "HOUR",
                        "FMIN", "FMAX", "AUTO ID*", "scientific_name", "common_name", "confidence", "MANUAL ID")


def detection_rows(regions: list[dict], palette: Palette, path: str, channel: int, start: datetime | None,
                   model: str) -> list[dict]:
    """Regions of :class:`util.labels.detections.RegionTracker` -> detection rows (``DETECTION_COLUMNS``)."""
    rows = []
    for region in regions:
        source = palette.classes[region["class_index"] - 1]
        moment = time_after(start, region["begin_s"]) if start is not None else None
        rows.append({"file": os.path.abspath(path), "channel": channel, "start_s": region["begin_s"],
                     "end_s": region["end_s"], "low_freq_hz": region["low_hz"], "high_freq_hz": region["high_hz"],
                     "start_datetime": format_datetime(moment), "common_name": source.name,
                     "scientific_name": source.scientific_name, "score": region["score"], "model": model})
    return rows


def write_detections_csv(path: str, rows: list[dict]) -> str:
    """The detections CSV: a header row, one row per detection, comma-separated, UTF-8, '.' decimals."""
    return write_csv(path, DETECTION_COLUMNS, [{k: row[k] for k in DETECTION_COLUMNS} for row in rows])


def write_raven(path: str, rows: list[dict], time_offsets_s: list[float] | None = None) -> str:
    """A Raven Pro selection table (tab-separated) of detection rows.

    ``time_offsets_s``: per row, seconds added to Begin / End Time (s) (the combined table of a file sequence:
    the summed durations of the files before); File Offset (s) stays the time within the row's file.
    """
    offsets = time_offsets_s or [0.0] * len(rows)
    table = []
    for number, (row, offset) in enumerate(zip(rows, offsets), start=1):
        start_s, end_s = float(row["start_s"]), float(row["end_s"])
        table.append({"Selection": number, "View": "Spectrogram 1", "Channel": row["channel"],
                      "Begin Time (s)": start_s + offset, "End Time (s)": end_s + offset,
                      "Low Freq (Hz)": float(row["low_freq_hz"]), "High Freq (Hz)": float(row["high_freq_hz"]),
                      "Species": row["common_name"], "Scientific Name": row["scientific_name"],
                      "Score": float(row["score"]), "Begin File": os.path.basename(row["file"]),
                      "Begin Path": row["file"], "File Offset (s)": start_s, "Begin Date Time": row["start_datetime"]})
    return write_csv(path, RAVEN_TABLE_COLUMNS, table, delimiter="\t")


def write_audacity(path: str, rows: list[dict]) -> str:
    """Audacity labels: ``start<TAB>end<TAB>label`` (seconds in the file), then ``\\<TAB>low<TAB>high`` (Hz),
    the spectral-selection line Audacity writes and reads."""
    lines = []
    for row in rows:
        lines.append(f"{float(row['start_s']):.6f}\t{float(row['end_s']):.6f}\t{row['common_name']}")
        lines.append(f"\\\t{float(row['low_freq_hz']):.6f}\t{float(row['high_freq_hz']):.6f}")
    return write_text(path, "".join(line + "\n" for line in lines))


def write_kaleidoscope(path: str, rows: list[dict], roots: dict[str, str], starts: dict[str, datetime | None]) -> str:
    """Kaleidoscope-style CSV (the columns of Kaleidoscope's id.csv and BirdNET's Kaleidoscope output).

    ``roots``: each file's input root (INDIR; FOLDER is the path below it); ``starts``: each file's start
    time (DATE, TIME, HOUR are the file's, as in Kaleidoscope; OFFSET is seconds into the file).
    CHANNEL counts from 0 (as ``--channel`` does).
    """
    table = []
    for row in rows:
        root = roots.get(row["file"], os.path.dirname(row["file"]))
        start = starts.get(row["file"])
        folder = os.path.relpath(os.path.dirname(row["file"]), root)
        table.append({"INDIR": root, "FOLDER": "" if folder == "." else folder,
                      "IN FILE": os.path.basename(row["file"]), "CHANNEL": int(row["channel"]) - 1,
                      "OFFSET": float(row["start_s"]), "DURATION": float(row["end_s"]) - float(row["start_s"]),
                      "DATE": start.strftime("%Y-%m-%d") if start else "",
                      "TIME": start.strftime("%H:%M:%S") if start else "", "HOUR": start.hour if start else "",
                      "FMIN": float(row["low_freq_hz"]), "FMAX": float(row["high_freq_hz"]),
                      "AUTO ID*": row["common_name"], "scientific_name": row["scientific_name"],
                      "common_name": row["common_name"], "confidence": float(row["score"]), "MANUAL ID": ""})
    return write_csv(path, KALEIDOSCOPE_COLUMNS, table)
