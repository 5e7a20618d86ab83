"""Annotation tables in and out, and boxes -> label pixels.

Readers: Raven Pro selection tables (tab-separated, one row per selection *per
view*, so rows are de-duplicated by selection number) and Audacity label files
(``start<TAB>end<TAB>label``, optionally followed by a spectral line
``\\<TAB>low_hz<TAB>high_hz``). Writer: Raven selection tables that Raven opens.

From boxes to pixels (our own rule): a pixel inside a box is labelled with the
box's class when its level stands at least ``threshold_db`` (10 dB) above the noise
floor of its frequency row in the tile. The floor is the median level of that
row over the tile's valid frames that no box covers (unannotated time is
background by definition); where boxes cover more than 90 % of a row, the
row's 10th percentile is used instead. Where boxes overlap, the smaller box
(in seconds x hertz) wins, so a short call annotated inside a long one keeps
its own label.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass

import numpy as np

from util.errors import UserError
from util.files import write_text
from util.labels.palette import Palette

RAVEN_LABEL_COLUMNS = ("Species", "Annotation", "Common Name")
RAVEN_REQUIRED = ("Begin Time (s)", "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)")
RAVEN_COLUMNS = ("Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)",
                 "High Freq (Hz)", "Species", "Begin File", "Score")
DEFAULT_BOX_THRESHOLD_DB = 10.0  # noise power is exponential: 10 dB over its median is exceeded by 0.1 % of noise bins (6 dB: 6 %)


@dataclass(frozen=True)
class Box:
    """An annotated call: times in seconds from the recording's start, frequencies in Hz."""

    begin_s: float
    end_s: float
    low_hz: float
    high_hz: float
    label: str
    recording: str = ""  # stem of the recording the box belongs to ('' = any)

    @property
    def area(self) -> float:
        return max(self.end_s - self.begin_s, 0.0) * max(self.high_hz - self.low_hz, 0.0)


def recording_key(path_or_name: str) -> str:
    """The recording stem a table or tile refers to: 'SITE_01.Table.1.selections.txt' -> 'SITE_01'."""
    name = os.path.basename(path_or_name)
    for pattern in (r"\.Table\.\d+\.selections\.txt$", r"\.selections\.txt$", r"\.txt$",
                    r"\.(wav|flac|ogg|aiff|aif|mp3)$"):
        name = re.sub(pattern, "", name, flags=re.IGNORECASE)
    return name


# --------------------------------------------------------------------------- Raven

def read_raven_table(path: str, label_column: str | None = None) -> list[Box]:
    """Raven Pro selection table -> boxes, one per selection (duplicate views dropped)."""
    rows, header = _read_tsv(path)
    missing = [c for c in RAVEN_REQUIRED if c not in header]
    if missing:
        raise UserError(f"{path}: not a Raven selection table, missing column(s) {', '.join(missing)}")
    column = label_column or next((c for c in RAVEN_LABEL_COLUMNS if c in header), None)
    if column is None or column not in header:
        wanted = label_column or " / ".join(RAVEN_LABEL_COLUMNS)
        raise UserError(f"{path}: no label column {wanted}; choose one with --label_column "
                        f"(columns: {', '.join(header)})")
    seen: set[str] = set()
    boxes = []
    default_recording = recording_key(path)
    for line_no, row in enumerate(rows, start=2):
        key = row.get("Selection") or f"line{line_no}"
        if key in seen:
            continue  # the same selection in another view (Waveform / Spectrogram)
        seen.add(key)
        boxes.append(_raven_row_to_box(row, column, path, line_no, default_recording))
    return boxes


def _raven_row_to_box(row: dict, column: str, path: str, line_no: int, default_recording: str) -> Box:
    try:
        begin, end = float(row["Begin Time (s)"]), float(row["End Time (s)"])
        low, high = float(row["Low Freq (Hz)"]), float(row["High Freq (Hz)"])
    except (TypeError, ValueError):
        raise UserError(f"{path}: line {line_no}: times and frequencies must be numbers") from None
    recording = default_recording
    if row.get("Begin File"):
        recording = recording_key(row["Begin File"])
        if row.get("File Offset (s)"):  # tables spanning several files: times relative to that file
            offset = float(row["File Offset (s)"])
            begin, end = offset, offset + (end - begin)
    if end < begin or high < low:
        raise UserError(f"{path}: line {line_no}: end before begin or high below low frequency")
    return Box(begin, end, low, high, (row.get(column) or "").strip(), recording)


def _read_tsv(path: str) -> tuple[list[dict], list[str]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    return [{k: (v.strip() if isinstance(v, str) else v) for k, v in r.items()} for r in reader], header


def write_raven_table(path: str, selections: list[dict]) -> None:
    """Write a Raven Pro selection table atomically.

    Each selection is a dict with the keys of RAVEN_COLUMNS except Selection,
    View and Channel (numbered 1.., 'Spectrogram 1' and 1 when absent); extra
    keys become extra columns.
    """
    extra = sorted({k for s in selections for k in s} - set(RAVEN_COLUMNS))
    header = list(RAVEN_COLUMNS) + extra
    lines = ["\t".join(header)]
    for number, selection in enumerate(selections, start=1):
        row = {"Selection": number, "View": "Spectrogram 1", "Channel": 1, **selection}
        lines.append("\t".join(_format_cell(row.get(col, "")) for col in header))
    write_text(path, "\n".join(lines) + "\n")


def _format_cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if np.isfinite(value) else ""
    return str(value)


# --------------------------------------------------------------------------- Audacity

def read_audacity_labels(path: str) -> list[Box]:
    """Audacity label track export -> boxes; a label without a spectral line spans all frequencies."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            lines = [ln.rstrip("\r\n") for ln in handle]
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    boxes: list[Box] = []
    recording = recording_key(path)
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            if parts[0].strip() == "\\":
                if not boxes:
                    raise ValueError
                low, high = float(parts[1]), float(parts[2])
                last = boxes[-1]
                boxes[-1] = Box(last.begin_s, last.end_s, low, high, last.label, recording)
            else:
                label = parts[2].strip() if len(parts) > 2 else ""
                boxes.append(Box(float(parts[0]), float(parts[1]), 0.0, float("inf"), label, recording))
        except (ValueError, IndexError):
            raise UserError(f"{path}: line {line_no}: not an Audacity label line "
                            f"(start<TAB>end<TAB>label or \\<TAB>low<TAB>high)") from None
    return boxes


# --------------------------------------------------------------------------- boxes -> pixels

def check_labels(boxes: list[Box], palette: Palette, path: str) -> None:
    """Every box label must name a palette class; list all unknown names in one error."""
    unknown = sorted({b.label for b in boxes if palette.index(b.label) == 0})
    if unknown:
        raise UserError(f"{path}: label(s) not in the '{palette.name}' palette: {', '.join(map(repr, unknown))} "
                        f"(known: {', '.join(palette.names)})")


def boxes_to_class_map(db_image: np.ndarray, meta: dict, boxes: list[Box], palette: Palette,
                       threshold_db: float = DEFAULT_BOX_THRESHOLD_DB) -> np.ndarray:
    """Label the pixels of one tile that lie inside a box and stand out from the row's noise floor.

    ``db_image`` is the tile in dB (rows, frames), ``meta`` its metadata. Returns a class map.
    """
    n_rows, n_cols = db_image.shape
    sr, hop, n_fft = meta["sr"], meta["hop_length"], meta["n_fft"]
    n_valid = max(1, min(meta.get("n_valid_frames", n_cols), n_cols))
    frame_s = (meta["start_frame"] + np.arange(n_cols)) * hop / sr
    row_hz = (n_rows - 1 - np.arange(n_rows)) * sr / n_fft
    box_masks = [(box, np.outer((row_hz >= box.low_hz) & (row_hz <= box.high_hz),
                                (frame_s >= box.begin_s) & (frame_s <= box.end_s))) for box in boxes]
    covered = np.zeros((n_rows, n_cols), bool)
    for _, inside in box_masks:
        covered |= inside
    loud = db_image >= row_noise_floor(db_image[:, :n_valid], covered[:, :n_valid])[:, None] + threshold_db
    loud[:, n_valid:] = False
    class_map = np.zeros((n_rows, n_cols), np.uint8)
    for box, inside in sorted(box_masks, key=lambda item: -item[0].area):  # smaller boxes last: they win
        class_map[inside & loud] = palette.index(box.label)
    return class_map


def row_noise_floor(db_image: np.ndarray, covered: np.ndarray, min_free_share: float = 0.1) -> np.ndarray:
    """Noise floor per row in dB: median over uncovered frames, or the 10th percentile where few are free."""
    free = np.ma.masked_array(db_image, mask=covered)
    floor = np.ma.median(free, axis=1).filled(np.nan)
    few_free = (~covered).sum(axis=1) < min_free_share * db_image.shape[1]
    floor[few_free] = np.percentile(db_image[few_free], 10, axis=1) if few_free.any() else floor[few_free]
    return floor
