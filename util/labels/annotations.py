"""Annotation tables in and out, and boxes -> label pixels.

Readers: Raven Pro selection tables (tab-separated, one row per selection *per
view*, so rows are de-duplicated by selection number) and Audacity label files
(``start<TAB>end<TAB>label``, optionally followed by a spectral line
``\\<TAB>low_hz<TAB>high_hz``). Writer: Raven selection tables that Raven opens.
Tables are read as they come (:func:`read_table_text`): UTF-8 with or without a
byte-order mark, else Windows cp1252 (what Raven writes on Windows), else latin-1.

Table labels -> palette classes (:func:`resolve_labels`): labels to skip
(``noise``, ``unknown``...), a label map of aliases (:func:`read_label_map`), and
one error line listing every label still unknown, with the flags that fix it.

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
import json
import ntpath
import re
import shlex
from dataclasses import dataclass, replace

import numpy as np

from util.errors import UserError
from util.files import write_text
from util.labels.palette import Palette, slugify

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
    """The recording stem a table or tile refers to: 'SITE_01.Table.1.selections.txt' -> 'SITE_01'.

    Windows paths (Raven's ``Begin Path``, 'D:\\survey\\SITE_01.wav') are split at either separator.
    """
    name = ntpath.basename(path_or_name)
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
    source_file = row.get("Begin File") or row.get("Begin Path")  # Begin Path: the full path, when File is absent
    if source_file:
        recording = recording_key(source_file)
        if row.get("File Offset (s)"):  # tables spanning several files: times relative to that file
            try:
                offset = float(row["File Offset (s)"])
            except ValueError:
                raise UserError(f"{path}: line {line_no}: File Offset (s) must be a number") from None
            begin, end = offset, offset + (end - begin)
    if end < begin or high < low:
        raise UserError(f"{path}: line {line_no}: end before begin or high below low frequency")
    return Box(begin, end, low, high, (row.get(column) or "").strip(), recording)


TABLE_ENCODINGS = ("utf-8-sig", "cp1252")  # tried in turn before latin-1, which accepts any byte


def read_table_text(path: str) -> str:
    """The text of a table file, whatever its encoding (the file itself is never changed).

    Tried in turn: UTF-8 (a byte-order mark is skipped), then cp1252 (Raven Pro and Excel on Windows:
    'Pic épeiche', 'Grüner Laubsänger'), then latin-1, which reads any byte. A UTF-16 file (Excel's
    "Unicode text") is recognised by its byte-order mark.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise UserError(f"{path}: starts as UTF-16 text but is not; save it as UTF-8 or plain text") from None
    for encoding in TABLE_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _read_tsv(path: str) -> tuple[list[dict], list[str]]:
    text = read_table_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t")
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
    lines = [ln.rstrip("\n") for ln in io.StringIO(read_table_text(path), newline=None)]  # \r\n, \r, \n
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


# --------------------------------------------------------------------------- table labels -> palette classes

SKIP = ""  # a label map's palette name for "skip this label"


def parse_label_list(text: str | None) -> frozenset[str]:
    """--ignore_labels 'noise, Unknown,""' -> the slugs of the labels to skip (``""``: an empty label)."""
    return frozenset(slugify(item) for item in (text or "").split(",") if item.strip())


def read_label_map(path: str, palette: Palette) -> dict[str, str]:
    """A label map (aliases) file -> {slug of a table label: palette class name, or SKIP}.

    JSON: an object ``{"table label": "palette name", ...}``. CSV (comma, semicolon or tab separated,
    read as :func:`read_table_text` reads tables): one mapping a row, the table label then the palette
    name; a first row ``label,name`` is a header. An empty palette name skips the label, as
    --ignore_labels does. Labels match case- and accent-insensitively; every palette name must be in
    ``palette`` (a name, scientific name or slug).
    """
    text = read_table_text(path)
    pairs = _json_pairs(text, path) if path.lower().endswith(".json") else _csv_pairs(text, path)
    mapping: dict[str, str] = {}
    for where, label, target in pairs:
        name = SKIP if not target.strip() else _palette_name(target, palette, f"{path}: {where}")
        key = slugify(label)
        if mapping.get(key, name) != name:
            raise UserError(f"{path}: {where}: {label!r} is mapped twice, to {mapping[key]!r} and {name!r}")
        mapping[key] = name
    return mapping


def class_index(palette: Palette, label: str) -> int:
    """:meth:`Palette.index`, except that a label with no letter or digit names no class (never class 1
    by way of an empty scientific name)."""
    return palette.index(label) if slugify(label) else 0


def _palette_name(target: str, palette: Palette, where: str) -> str:
    index = class_index(palette, target)
    if index == 0:
        raise UserError(f"{where}: {target!r} is not in the '{palette.name}' palette "
                        f"(its names: {', '.join(palette.names)})")
    return palette.classes[index - 1].name


def _json_pairs(text: str, path: str) -> list[tuple[str, str, str]]:
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(entries, dict) or not all(isinstance(v, (str, type(None))) for v in entries.values()):
        raise UserError(f'{path}: a JSON label map is one object {{"table label": "palette name", ...}}')
    return [(f"key {label!r}", label, target or "") for label, target in entries.items()]


def _csv_pairs(text: str, path: str) -> list[tuple[str, str, str]]:
    first_line = text.split("\n", 1)[0]
    delimiter = next((d for d in "\t;" if d in first_line), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    pairs = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if not pairs and [slugify(cell) for cell in row[:2]] == ["label", "name"]:
            continue  # the header
        if len(row) < 2:
            raise UserError(f"{path}: line {reader.line_num}: a label map row is: table label, palette name")
        pairs.append((f"line {reader.line_num}", row[0].strip(), row[1].strip()))
    return pairs


def resolve_labels(boxes: list[Box], palette: Palette, ignore: frozenset[str] = frozenset(),
                   label_map: dict[str, str] | None = None) -> tuple[list[Box], list[str]]:
    """Boxes -> (the boxes of palette classes, relabelled with the class's name; the labels naming none).

    A label whose slug is in ``ignore`` (:func:`parse_label_list`) or that ``label_map`` maps to SKIP is
    dropped; one in ``label_map`` (:func:`read_label_map`) takes its palette name; any other must be a
    palette name, scientific name or slug (:meth:`Palette.index`).
    """
    label_map = label_map or {}
    kept, unknown = [], {}
    for box in boxes:
        key = slugify(box.label)
        name = label_map.get(key, box.label)
        if key in ignore or (key in label_map and name == SKIP):
            continue
        index = class_index(palette, name)
        if index == 0:
            unknown.setdefault(key, box.label)
            continue
        kept.append(replace(box, label=palette.classes[index - 1].name))
    return kept, sorted(unknown.values(), key=str.lower)


def unknown_labels_error(unknown_by_table: dict[str, list[str]], palette: Palette) -> UserError:
    """One line: the (first) table, every label the palette lacks, and the flags that fix it."""
    labels = {slugify(label): label or '""' for found in unknown_by_table.values() for label in found}
    shown = sorted(labels.values(), key=str.lower)
    paths = list(unknown_by_table)
    where = paths[0] if len(paths) == 1 else f"{paths[0]} and {len(paths) - 1} other table(s)"
    return UserError(f"{where}: labels not in the {palette.name} palette: {', '.join(shown)} "
                     f"(skip them with --ignore_labels {shlex.quote(','.join(shown))} or map them to palette "
                     f"names with --label_map FILE; palette names: {', '.join(palette.names)})")


def group_boxes(tables: list[tuple[str, list[Box]]], palette: Palette, ignore: frozenset[str] = frozenset(),
                label_map: dict[str, str] | None = None) -> dict[str, list[Box]]:
    """The boxes of several tables by recording stem, labels resolved (:func:`resolve_labels`).

    Every recording a table names is a key, even with no box left, so its tiles become all-background
    pairs. Labels no palette class takes, in any table, raise one UserError listing them all.
    """
    by_recording: dict[str, list[Box]] = {}
    unknown_by_table = {}
    for path, boxes in tables:
        for recording in {recording_key(path)} | {box.recording for box in boxes}:
            by_recording.setdefault(recording, [])
        kept, unknown = resolve_labels(boxes, palette, ignore, label_map)
        if unknown:
            unknown_by_table[path] = unknown
        for box in kept:
            by_recording[box.recording].append(box)
    if unknown_by_table:
        raise unknown_labels_error(unknown_by_table, palette)
    return by_recording


# --------------------------------------------------------------------------- boxes -> pixels

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
