"""The numbers behind a run's figures: detections per hour of day (diel activity) and occupancy per class.

Both are made from the recordings' detection rows (as detections.csv holds them), so they count exactly the
detections in the tables (after ``--min_duration``, ``--min_area`` and ``--min_score``).

Diel activity
    Per class and hour of day (0..23, the clock of the file names, in ``--timezone``): detections that start
    in that hour, and the minutes recorded in it (the effort; a recording is split across the hours it spans,
    summer-time changes included). Recordings whose file name gives no start time are left out, and counted.
Occupancy
    Per class: the share of recordings with at least one detection (naive occupancy, the recording as the
    sampling unit). Time occupancy (the share of frames a class is present in) is per recording in
    combined_occupancy.csv.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from util.recording.clock import time_after

HOURS_PER_DAY = 24
DIEL_COLUMNS = ("hour", "class", "scientific_name", "detections", "recorded_minutes", "detections_per_recorded_hour")
OCCUPANCY_SHARE_COLUMNS = ("class", "scientific_name", "recordings", "recordings_with_detections",
                           "share_of_recordings", "detections")


@dataclass(frozen=True)
class RecordingDetections:
    """One recording as the run's summaries see it."""

    path: str
    start: datetime | None        # from its file name; None when the name gives none
    duration_s: float
    detections: list[dict]        # its detection rows (``common_name``, ``start_datetime``, ...)


@dataclass(frozen=True)
class DielActivity:
    """Detections per class and hour of day, and the seconds recorded per hour of day."""

    classes: tuple[str, ...]
    counts: np.ndarray            # int (n_classes, 24): detections starting in each hour
    recorded_s: np.ndarray        # float (24,): seconds of recordings in each hour
    n_recordings: int             # recordings with a start time (counted)
    n_left_out: int               # recordings without a start time in their name (left out)
    n_detections_left_out: int    # their detections


@dataclass(frozen=True)
class DetectionOccupancy:
    """Per class: recordings with at least one detection, out of ``n_recordings``."""

    classes: tuple[str, ...]
    n_recordings: int
    recordings_with_detections: np.ndarray      # int (n_classes,)
    detections: np.ndarray                      # int (n_classes,)

    @property
    def share(self) -> np.ndarray:
        """Share of recordings with at least one detection, 0..1 (0 without recordings)."""
        return self.recordings_with_detections / max(self.n_recordings, 1)


def seconds_per_hour_of_day(start: datetime, duration_s: float) -> np.ndarray:
    """(24,) seconds of a recording from ``start`` lasting ``duration_s`` that fall in each hour of the day
    (of ``start``'s clock); across midnight it wraps, across a summer-time change it follows the clock."""
    recorded = np.zeros(HOURS_PER_DAY)
    moment, left_s = start, float(duration_s)
    while left_s > 1e-9:
        into_hour_s = moment.minute * 60 + moment.second + moment.microsecond / 1e6
        step_s = min(left_s, 3600 - into_hour_s)
        recorded[moment.hour] += step_s
        moment, left_s = time_after(moment, step_s), left_s - step_s
    return recorded


def diel_activity(recordings: list[RecordingDetections], classes: tuple[str, ...]) -> DielActivity:
    """Detections per class (by common name) and hour of day, over the recordings that have a start time."""
    counts = np.zeros((len(classes), HOURS_PER_DAY), np.int64)
    recorded_s = np.zeros(HOURS_PER_DAY)
    row_of = {name: i for i, name in enumerate(classes)}
    timed = [r for r in recordings if r.start is not None]
    for recording in timed:
        recorded_s += seconds_per_hour_of_day(recording.start, recording.duration_s)
        for row in recording.detections:
            if row["common_name"] in row_of and row["start_datetime"]:
                hour = datetime.fromisoformat(row["start_datetime"]).hour
                counts[row_of[row["common_name"]], hour] += 1
    untimed = [r for r in recordings if r.start is None]
    return DielActivity(tuple(classes), counts, recorded_s, len(timed), len(untimed),
                        sum(len(r.detections) for r in untimed))


def detection_occupancy(recordings: list[RecordingDetections], classes: tuple[str, ...]) -> DetectionOccupancy:
    """Per class (by common name): recordings with at least one detection, and detections in all."""
    found = np.array([[sum(row["common_name"] == name for row in r.detections) for name in classes]
                      for r in recordings], np.int64).reshape(len(recordings), len(classes))
    return DetectionOccupancy(tuple(classes), len(recordings), (found > 0).sum(axis=0), found.sum(axis=0))


def diel_rows(diel: DielActivity, scientific_names: dict[str, str]) -> list[dict]:
    """diel_activity.csv: one row per hour and class (``DIEL_COLUMNS``); the rate is empty for unrecorded hours."""
    rows = []
    for hour in range(HOURS_PER_DAY):
        minutes = diel.recorded_s[hour] / 60
        for i, name in enumerate(diel.classes):
            count = int(diel.counts[i, hour])
            rows.append({"hour": hour, "class": name, "scientific_name": scientific_names.get(name, ""),
                         "detections": count, "recorded_minutes": float(minutes),
                         "detections_per_recorded_hour": count / (minutes / 60) if minutes > 0 else float("nan")})
    return rows


def occupancy_rows(occupancy: DetectionOccupancy, scientific_names: dict[str, str]) -> list[dict]:
    """occupancy_by_class.csv: one row per class (``OCCUPANCY_SHARE_COLUMNS``)."""
    return [{"class": name, "scientific_name": scientific_names.get(name, ""), "recordings": occupancy.n_recordings,
             "recordings_with_detections": int(occupancy.recordings_with_detections[i]),
             "share_of_recordings": float(occupancy.share[i]), "detections": int(occupancy.detections[i])}
            for i, name in enumerate(occupancy.classes)]
