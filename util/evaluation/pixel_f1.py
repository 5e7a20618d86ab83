"""data07: pixel-wise F1 per class and the mean over classes, species and community level."""

from __future__ import annotations

import numpy as np
import pandas as pd

from util.evaluation.about import tile_table_about
from util.evaluation.context import Evaluation
from util.evaluation.data import MEAN_ROW, class_labels
from util.files import LEVELS
from util.labels.palette import Palette
from util.metrics import PixelCounts

PIXEL_F1_GOALS = {"species": 0.90, "community": 0.92}   # this project's goals: mean pixel F1 per level

WHAT = {
    "table": "data07: pixel-wise F1 per class and the mean over classes, species and community level",
    "metric domain": "class maps of every valid pixel of the test tiles; TP/FP/FN summed over all tiles, then "
                     "F1 = 2TP / (2TP + FP + FN) per class; background is not a class; mean over the classes "
                     "that occur."}


def pixel_counts(gan_maps: list[np.ndarray], true_maps: list[np.ndarray], n_classes: int) -> PixelCounts:
    """TP / FP / FN per class summed over the tiles (maps cut to valid frames)."""
    counts = PixelCounts(n_classes)
    for pred, true in zip(gan_maps, true_maps):
        counts.update(pred, true)
    return counts


def pixel_f1_table(counts: dict[str, PixelCounts], palettes: dict[str, Palette]) -> pd.DataFrame:
    """data07: ``level``, ``class``, ``pixel F1``, ``precision``, ``recall``, ``true pixels``, ``predicted pixels``;
    per class and a ``mean`` row per level (mean over the classes that occur, background not a class)."""
    rows = []
    for level in LEVELS:
        if level not in counts:
            continue
        c = counts[level]
        f1, precision, recall = c.f1_per_class(), c.precision_per_class(), c.recall_per_class()
        true_px, pred_px = c.tp + c.fn, c.tp + c.fp
        for k, label in enumerate(class_labels(palettes[level], level)):
            rows.append({"level": level, "class": label, "pixel F1": f1[k], "precision": precision[k],
                         "recall": recall[k], "true pixels": int(true_px[k]), "predicted pixels": int(pred_px[k])})
        rows.append({"level": level, "class": MEAN_ROW, "pixel F1": c.mean_f1(), "precision": c.mean_precision(),
                     "recall": c.mean_recall(), "true pixels": int(true_px.sum()),
                     "predicted pixels": int(pred_px.sum())})
    return pd.DataFrame(rows, columns=["level", "class", "pixel F1", "precision", "recall", "true pixels",
                                       "predicted pixels"])


def compute(ev: Evaluation) -> dict[str, pd.DataFrame]:
    counts = {level: pixel_counts(ev.valid_gan_maps(level), ev.valid_true_maps(level), len(ev.palettes[level]))
              for level in LEVELS}
    return {"data": pixel_f1_table(counts, ev.palettes)}


def about(ev: Evaluation) -> dict:
    goals = ", ".join(f">= {goal:.2f} ({level})" for level, goal in PIXEL_F1_GOALS.items())
    what = {**WHAT, "metric domain": f"{WHAT['metric domain']} Goals of this project: mean {goals}."}
    return tile_table_about(ev, "pixel_f1", what, LEVELS, {})


def draw(sheets: dict[str, pd.DataFrame], path: str) -> str:
    from util.evaluation.figures import plot_pixel_f1

    return plot_pixel_f1(sheets["data"], path)
