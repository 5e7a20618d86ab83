"""data03: time and acoustic-space occupancy of each species and community, from generated and true maps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from util.evaluation.about import tile_table_about
from util.evaluation.context import Evaluation
from util.evaluation.data import class_labels
from util.files import LEVELS
from util.labels.palette import Palette
from util.labels.quantify import OccupancyAccumulator

WHAT = {
    "table": "data03: time and acoustic-space occupancy of each species and community, GAN and truth",
    "metric domain": "percent of all valid frames of the test tiles in which the class has at least "
                     "'occupancy min pixels' pixels (time), and percent of all time-frequency cells it occupies "
                     "(acoustic space): scikit-maad's ACTtFraction / ACTspFract per source, from class maps. "
                     "GAN from the generated maps, truth (true ...) from the pairs' B."}


def occupancy_table(gan_maps: dict[str, list[np.ndarray]], true_maps: dict[str, list[np.ndarray]],
                    palettes: dict[str, Palette], min_pixels: int = 1) -> pd.DataFrame:
    """data03: ``community/species``, ``time percentage``, ``acoustic space percentage`` (GAN), then
    ``true time percentage``, ``true acoustic space percentage``; species rows, then the communities.

    Percent of all frames (time) and of all time–frequency cells (acoustic space) of the tiles
    (maps cut to valid frames); a class is present in a frame with at least ``min_pixels`` pixels.
    """
    rows = []
    for level in LEVELS:
        gan = _occupancy(gan_maps[level], len(palettes[level]), min_pixels)
        true = _occupancy(true_maps[level], len(palettes[level]), min_pixels)
        for k, label in enumerate(class_labels(palettes[level], level)):
            rows.append({"community/species": label,
                         "time percentage": 100.0 * gan.time_occupancy()[k],
                         "acoustic space percentage": 100.0 * gan.acoustic_space_occupancy()[k],
                         "true time percentage": 100.0 * true.time_occupancy()[k],
                         "true acoustic space percentage": 100.0 * true.acoustic_space_occupancy()[k]})
    return pd.DataFrame(rows)


def _occupancy(maps: list[np.ndarray], n_classes: int, min_pixels: int) -> OccupancyAccumulator:
    accumulator = OccupancyAccumulator(n_classes, min_pixels)
    for class_map in maps:
        accumulator.update(class_map)
    return accumulator


def compute(ev: Evaluation) -> dict[str, pd.DataFrame]:
    gan = {level: ev.valid_gan_maps(level) for level in LEVELS}
    true = {level: ev.valid_true_maps(level) for level in LEVELS}
    return {"data": occupancy_table(gan, true, ev.palettes, ev.opt.occupancy_min_pixels)}


def about(ev: Evaluation) -> dict:
    return tile_table_about(ev, "occupancy", WHAT, LEVELS, {"occupancy min pixels": ev.opt.occupancy_min_pixels})


def draw(sheets: dict[str, pd.DataFrame], path: str) -> str:
    from util.evaluation.figures import plot_occupancy

    return plot_occupancy(sheets["data"], path)
