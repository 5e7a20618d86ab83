"""data07: pixel-wise F1 per class and the mean over classes, species and community level.

Beside each model's F1: its 95 % interval (a bootstrap over the test clips, :func:`util.metrics.bootstrap_pixel_f1`)
and the ceiling of any model, the agreement of the data set's labels with the labels of the same soundscapes
over another draw of their background noise (:func:`util.synth.noise_draw_agreement`, on the test split).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from util.errors import UserError
from util.evaluation.about import tile_table_about
from util.evaluation.context import Evaluation
from util.evaluation.data import MEAN_ROW, Tile, class_labels
from util.files import LEVELS
from util.labels.palette import Palette
from util.metrics import (
    BOOTSTRAP_CONFIDENCE,
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    PixelCounts,
    PixelF1Interval,
    bootstrap_pixel_f1,
    clip_of_stem,
)

PIXEL_F1_GOALS = {"species": 0.90, "community": 0.92}   # this project's goals: mean pixel F1 per level
CEILING = "ceiling (labels of another noise draw)"
COLUMNS = ["level", "class", "pixel F1", "pixel F1 low (95 %)", "pixel F1 high (95 %)", CEILING, "precision",
           "recall", "true pixels", "predicted pixels"]

WHAT = {
    "table": "data07: pixel-wise F1 per class and the mean over classes, species and community level",
    "metric domain": "class maps of every valid pixel of the test tiles; TP/FP/FN summed over all tiles, then "
                     "F1 = 2TP / (2TP + FP + FN) per class; background is not a class; mean over the classes "
                     "that occur.",
    "interval": f"'pixel F1 low / high (95 %)': the {BOOTSTRAP_CONFIDENCE:.0%} percentile interval of F1 over "
                f"{BOOTSTRAP_RESAMPLES} resamples of the test clips with replacement (seed {BOOTSTRAP_SEED}); the "
                f"tiles of a clip stay together (a tile's clip is its stem without the _<k:04d> tile number)",
    "ceiling": f"'{CEILING}': pixel F1 of the labels of the same test soundscapes remade over draw 1 of their "
               f"background noise against the set's own labels (draw 0), every clip of the test split, both "
               f"labelled with the set's own rule; no model can predict the noise, so this is the best any "
               f"model can score"}


def pixel_counts(gan_maps: list[np.ndarray], true_maps: list[np.ndarray], n_classes: int) -> PixelCounts:
    """TP / FP / FN per class summed over the tiles (maps cut to valid frames)."""
    counts = PixelCounts(n_classes)
    for pred, true in zip(gan_maps, true_maps):
        counts.update(pred, true)
    return counts


def clip_pixel_counts(gan_maps: list[np.ndarray], true_maps: list[np.ndarray], tiles: list[Tile],
                      n_classes: int) -> dict[str, PixelCounts]:
    """The same counts per clip (the tiles of a clip summed together), for the bootstrap over clips."""
    counts: dict[str, PixelCounts] = {}
    for pred, true, tile in zip(gan_maps, true_maps, tiles):
        counts.setdefault(clip_of_stem(tile.stem), PixelCounts(n_classes)).update(pred, true)
    return counts


def pixel_f1_table(counts: dict[str, PixelCounts], palettes: dict[str, Palette],
                   intervals: dict[str, PixelF1Interval] | None = None,
                   ceilings: dict[str, PixelCounts] | None = None) -> pd.DataFrame:
    """data07: the :data:`COLUMNS`, per class and a ``mean`` row per level (mean over the classes that occur,
    background not a class). ``intervals`` / ``ceilings`` per level, where missing: empty cells."""
    rows = []
    for level in LEVELS:
        if level not in counts:
            continue
        c = counts[level]
        interval = (intervals or {}).get(level)
        ceiling = (ceilings or {}).get(level)
        f1, precision, recall = c.f1_per_class(), c.precision_per_class(), c.recall_per_class()
        true_px, pred_px = c.tp + c.fn, c.tp + c.fp
        nan = np.full(len(f1), np.nan)
        low, high = (interval.low_per_class, interval.high_per_class) if interval else (nan, nan)
        top = ceiling.f1_per_class() if ceiling else nan
        for k, label in enumerate(class_labels(palettes[level], level)):
            rows.append({"level": level, "class": label, "pixel F1": f1[k], COLUMNS[3]: low[k], COLUMNS[4]: high[k],
                         CEILING: top[k], "precision": precision[k], "recall": recall[k],
                         "true pixels": int(true_px[k]), "predicted pixels": int(pred_px[k])})
        rows.append({"level": level, "class": MEAN_ROW, "pixel F1": c.mean_f1(),
                     COLUMNS[3]: interval.low if interval else np.nan, COLUMNS[4]: interval.high if interval else np.nan,
                     CEILING: ceiling.mean_f1() if ceiling else np.nan, "precision": c.mean_precision(),
                     "recall": c.mean_recall(), "true pixels": int(true_px.sum()),
                     "predicted pixels": int(pred_px.sum())})
    return pd.DataFrame(rows, columns=COLUMNS)


def noise_draw_ceilings(ev: Evaluation) -> dict[str, PixelCounts]:
    """Both levels' agreement of the test labels with another noise draw's; empty (and a note) if unavailable."""
    if not ev.opt.ceiling:
        ev.notes.append(f"data07: the '{CEILING}' column is empty (--no_ceiling)")
        return {}
    try:
        from util.synth import noise_draw_agreement
    except ImportError:
        ev.notes.append(f"data07: the '{CEILING}' column is empty: util.synth.noise_draw_agreement is missing")
        return {}
    try:
        return noise_draw_agreement(ev.opt.root, "test", noise_draw=1, progress=ev.opt.progress)
    except UserError as exc:
        ev.notes.append(f"data07: the '{CEILING}' column is empty: {exc}")
        return {}


def compute(ev: Evaluation) -> dict[str, pd.DataFrame]:
    counts, intervals = {}, {}
    for level in LEVELS:
        n = len(ev.palettes[level])
        gan, true = ev.valid_gan_maps(level), ev.valid_true_maps(level)
        counts[level] = pixel_counts(gan, true, n)
        intervals[level] = bootstrap_pixel_f1(clip_pixel_counts(gan, true, ev.test_tiles, n))
    ev.counts["pixel_f1"] = {"test clips (bootstrap units)": intervals[LEVELS[0]].n_clips}
    return {"data": pixel_f1_table(counts, ev.palettes, intervals, noise_draw_ceilings(ev))}


def about(ev: Evaluation) -> dict:
    goals = ", ".join(f">= {goal:.2f} ({level})" for level, goal in PIXEL_F1_GOALS.items())
    what = {**WHAT, "metric domain": f"{WHAT['metric domain']} Goals of this project: mean {goals}."}
    return tile_table_about(ev, "pixel_f1", what, LEVELS, {})


def draw(sheets: dict[str, pd.DataFrame], path: str) -> str:
    from util.evaluation.figures import plot_pixel_f1

    return plot_pixel_f1(sheets["data"], path)
