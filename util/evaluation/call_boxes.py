"""Each call's time–frequency box, from a job00 clip's events.csv, and the pixels of a tile inside it.

job00 writes one row per call in ``input_wav/<split>/<id>/events.csv`` (the same boxes as the clip's
Raven tables ``mixture.selections.txt``): the call's active span ``start_s``..``end_s`` in seconds from
the clip's start and its band ``low_hz``..``high_hz``. A pixel is inside a box when its frame's centre
time and its row's centre frequency are (bounds included): the rule job02 uses for annotation boxes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from util.errors import UserError
from util.files import read_csv_rows
from util.signal.spectrogram import row_freq_hz

EVENTS_FILE = "events.csv"


@dataclass(frozen=True)
class CallBox:
    """One call of one source: seconds from the clip's start, frequencies in Hz."""

    slug: str
    start_s: float
    end_s: float
    low_hz: float
    high_hz: float


def read_call_boxes(folder: str) -> dict[str, list[CallBox]]:
    """Source slug -> its calls' boxes, from the clip folder's events.csv."""
    path = os.path.join(folder, EVENTS_FILE)
    try:
        rows = read_csv_rows(path)
    except FileNotFoundError:
        raise UserError(f"{path}: missing; scoring inside call boxes needs job00's events.csv") from None
    boxes: dict[str, list[CallBox]] = {}
    for row in rows:
        try:
            box = CallBox(row["slug"], float(row["start_s"]), float(row["end_s"]), float(row["low_hz"]),
                          float(row["high_hz"]))
        except (KeyError, ValueError) as exc:
            raise UserError(f"{path}: a row without a valid slug, start_s, end_s, low_hz and high_hz ({exc})") from None
        boxes.setdefault(box.slug, []).append(box)
    return boxes


def box_mask(boxes: list[CallBox], meta: dict, shape: tuple[int, int]) -> np.ndarray:
    """Boolean image (rows, frames) of a tile: true inside any of ``boxes``.

    Column c is frame ``meta['start_frame'] + c``, centred at that frame times ``hop_length / sr``
    seconds; row r is the bin of :func:`util.signal.spectrogram.row_freq_hz`.
    """
    n_rows, n_cols = shape
    sr, hop = meta["sr"], meta["hop_length"]
    frame_s = (meta["start_frame"] + np.arange(n_cols)) * hop / sr
    freq_hz = row_freq_hz(n_rows, sr, meta["n_fft"])
    inside = np.zeros(shape, bool)
    for box in boxes:
        inside |= np.outer((freq_hz >= box.low_hz) & (freq_hz <= box.high_hz),
                           (frame_s >= box.start_s) & (frame_s <= box.end_s))
    return inside
