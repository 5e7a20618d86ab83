"""Files: the one atomic-write rule, CSV/TSV tables, and the layout of a project folder.

Every output is written under a hidden temporary name in its own folder and renamed into place
(:func:`atomic_path`), so an interrupted run never leaves a half-written file. The layout names
(levels, split folders, run folders, run file names) live here and nowhere else.

Imports nothing from the rest of ``util`` but :mod:`util.errors`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
from typing import Iterator, Sequence

LEVELS = ("species", "community")           # the two label levels: 8 bird species; bird / insect / human
SPLITS = ("train", "val", "test")           # job00's splits, in the order they are made
DATAROOT = "input_img"                      # pairs: <dataroot>/<split>_<level>_samples
CHECKPOINTS_DIR = "out_gan_mdl"             # runs: <checkpoints_dir>/<name>/
TRAIN_OPT_FILE = "train_opt.json"           # a run's options, beside its checkpoints
METRICS_LOG = "metrics.csv"                 # a run's per-epoch scores on its --score_split pairs (val)
LOSS_LOG = "loss_log.csv"                   # a run's losses every --print_freq steps
STATE_FILE = "latest_state.pth"             # a run's resumable training state
BEST_LABEL = "best"                         # <run>/best_net_G.pth: the epoch scored best (--select_epoch best)


# --------------------------------------------------------------------------- layout

def split_folder(dataroot: str, split: str, level: str) -> str:
    """``<dataroot>/<split>_<level>_samples``: the A|B pairs of one split and level."""
    return os.path.join(dataroot, f"{split}_{level}_samples")


def run_folder(checkpoints_dir: str, name: str) -> str:
    """``<checkpoints_dir>/<name>``: one training run's checkpoints and logs."""
    return os.path.join(checkpoints_dir, name)


def net_file(folder: str, label: str, net: str = "G") -> str:
    """``<folder>/<label>_net_<net>.pth``, pix2pix's checkpoint name (label: an epoch, 'latest' or a level)."""
    return os.path.join(folder, f"{label}_net_{net}.pth")


def level_generator_file(checkpoints_dir: str, level: str) -> str:
    """``<checkpoints_dir>/<level>_net_G.pth``: the finished generator of a level (the published names)."""
    return net_file(checkpoints_dir, level, "G")


def weights_options_file(weights_path: str) -> str:
    """``<dir>/<stem>.train_opt.json``: the options of the run that made a generator file, kept beside it
    (job03 writes one beside ``<level>_net_G.pth``, so the file travels with its spectrogram settings)."""
    return os.path.splitext(weights_path)[0] + "." + TRAIN_OPT_FILE


# --------------------------------------------------------------------------- atomic writes

def temp_name(path: str) -> str:
    """The hidden name ``path`` is written under before it is renamed (same folder, same extension)."""
    head, tail = os.path.split(path)
    return os.path.join(head, f".{tail}.part{os.getpid()}{os.path.splitext(tail)[1]}")


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path to write ``path`` through; rename it into place only if the block succeeds.

    The folder is created if needed; on an exception the temporary file is removed and ``path`` is untouched.
    """
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    temp = temp_name(path)
    try:
        yield temp
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def write_bytes(path: str, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as temp, open(temp, "wb") as handle:
        handle.write(data)
    return path


def write_text(path: str, text: str, encoding: str = "utf-8") -> str:
    """Write ``text`` to ``path`` atomically, newlines as given; returns ``path``."""
    with atomic_path(path) as temp, open(temp, "w", encoding=encoding, newline="") as handle:
        handle.write(text)
    return path


def write_json(path: str, data: dict) -> str:
    """Write ``data`` as indented JSON with sorted keys, atomically; values JSON cannot hold become strings."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str))


# --------------------------------------------------------------------------- tables

def csv_cell(value):
    """A table cell: floats to 6 decimals without trailing zeros, NaN/inf as an empty cell."""
    kind = type(value)
    if kind is str or kind is int:       # most cells, returned at once: a busy recording has 10 000s of rows
        return value
    if issubclass(kind, float) or kind.__name__.startswith("float"):   # numpy's float32 is not a float
        value = float(value)
        return "" if not math.isfinite(value) else f"{value:.6f}".rstrip("0").rstrip(".")
    return value


def write_csv(path: str, columns: Sequence[str], rows: list[dict], delimiter: str = ",") -> str:
    """A table with a header row, atomically (``delimiter='\\t'`` for TSV); returns ``path``.

    A row may leave columns out (empty cells); a key that is not a column is an error, as with csv.DictWriter.
    """
    fields = list(columns)
    known = set(fields)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n", delimiter=delimiter)
    writer.writerow(fields)
    for row in rows:
        if not known.issuperset(row):
            raise ValueError(f"{path}: row keys not among the columns: {sorted(set(row) - known)}")
        writer.writerow([csv_cell(row.get(key, "")) for key in fields])
    return write_text(path, text.getvalue())


def append_csv_row(path: str, row: dict) -> None:
    """Append one row to a log table, writing the header first when the file is new (logs grow in place)."""
    new = not os.path.exists(path)
    with open(path, "a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def read_csv_rows(path: str, delimiter: str = ",") -> list[dict]:
    """Rows of a table with a header row, as dicts of strings (a UTF-8 byte-order mark is skipped)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def read_tsv_rows(path: str) -> list[dict]:
    """Rows of a tab-separated table (Raven's format)."""
    return read_csv_rows(path, delimiter="\t")
