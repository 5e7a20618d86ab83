#!/usr/bin/env python3
"""How far two job04 runs over the same recordings agree: another precision, model, or setting.

Reads two --results_dir folders of job04's recording mode (default outputs, tables and labels.png) and
prints, over the recordings both hold:
  - the share of labels.png pixels that have the same class in both, and the painted (non-background)
    pixels of each;
  - the detections per class in combined_detections.csv, and the (recording, class) pairs whose counts
    differ most;
  - the largest difference of time and acoustic-space occupancy (combined_occupancy.csv), with its row.
Not a test: it prints and never fails on a difference.

  .venv/bin/python job04_test.py --weights W --level community --wav rec/ --results_dir out_f32
  .venv/bin/python job04_test.py --weights W --level community --wav rec/ --results_dir out_bf16 --precision bfloat16
  .venv/bin/python bench/compare_runs.py out_f32 out_bf16
"""

from __future__ import annotations

import argparse
import glob
import os
import sys

import numpy as np
import pandas as pd
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from util.recording.layout import COMBINED_DETECTIONS, COMBINED_OCCUPANCY, LABELS_PNG  # noqa: E402


def label_agreement(first: str, second: str) -> tuple[int, int, int, int, int]:
    """(recordings, pixels, pixels with the same class, painted in first, painted in second) over labels.png."""
    n_files = n_pixels = n_same = painted_first = painted_second = 0
    for path in sorted(glob.glob(os.path.join(first, "**", LABELS_PNG), recursive=True)):
        other = os.path.join(second, os.path.relpath(path, first))
        if not os.path.exists(other):
            continue
        a = np.asarray(Image.open(path).convert("RGB"))
        b = np.asarray(Image.open(other).convert("RGB"))
        if a.shape != b.shape:
            raise SystemExit(f"{other}: {b.shape[1]} frames, but {path} has {a.shape[1]}: not the same recording")
        n_files += 1
        n_pixels += a.shape[0] * a.shape[1]
        n_same += int((a == b).all(-1).sum())
        painted_first += int(a.any(-1).sum())
        painted_second += int(b.any(-1).sum())
    return n_files, n_pixels, n_same, painted_first, painted_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", help="a job04 --results_dir")
    parser.add_argument("second", help="another job04 --results_dir over the same recordings")
    args = parser.parse_args()
    n_files, n_pixels, n_same, painted_first, painted_second = label_agreement(args.first, args.second)
    if not n_files:
        raise SystemExit(f"{args.first}, {args.second}: no {LABELS_PNG} in both (run job04 with its default outputs)")
    print(f"{n_files} recordings; {LABELS_PNG}: {n_same / n_pixels:.4%} of {n_pixels} pixels have the same class; "
          f"painted {painted_first} / {painted_second}; the pixels that differ are "
          f"{(n_pixels - n_same) / max(painted_first, 1):.2%} of the first run's painted pixels")
    first, second = (pd.read_csv(os.path.join(d, COMBINED_DETECTIONS)) for d in (args.first, args.second))
    counts = pd.DataFrame({"first": first.groupby("common_name").size(),
                           "second": second.groupby("common_name").size()}).fillna(0).astype(int)
    print(f"detections: {len(first)} / {len(second)}; per class (first / second): "
          + ", ".join(f"{name} {row['first']} / {row['second']}" for name, row in counts.iterrows()))
    per_file = pd.DataFrame({"first": first.groupby(["file", "common_name"]).size(),
                             "second": second.groupby(["file", "common_name"]).size()}).fillna(0).astype(int)
    changed = per_file[per_file["first"] != per_file["second"]]
    changed = changed.loc[(changed["second"] - changed["first"]).abs().sort_values(ascending=False).index]
    print(f"detections differ in {len(changed)} of {len(per_file)} (recording, class) pairs"
          + "".join(f"\n  {os.path.basename(f)}, {c}: {row['first']} / {row['second']}"
                    for (f, c), row in changed.head(10).iterrows()))
    keys = ["file", "class"]
    occupancy = pd.read_csv(os.path.join(args.first, COMBINED_OCCUPANCY)).merge(
        pd.read_csv(os.path.join(args.second, COMBINED_OCCUPANCY)), on=keys, suffixes=("_1", "_2"))
    for column in ("time_occupancy", "acoustic_space_occupancy"):
        gap = (occupancy[f"{column}_1"] - occupancy[f"{column}_2"]).abs()
        worst = occupancy.loc[gap.idxmax()]
        print(f"{column}: largest difference {gap.max():.4f} ({os.path.basename(worst['file'])}, {worst['class']}: "
              f"{worst[f'{column}_1']:.4f} / {worst[f'{column}_2']:.4f}); mean difference {gap.mean():.4f}")


if __name__ == "__main__":
    main()
