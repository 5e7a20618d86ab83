"""data02: the frequency distribution of each source, isolated with the generated masks and with the true ones."""

from __future__ import annotations

import numpy as np
import pandas as pd

from util.evaluation.about import tile_table_about
from util.evaluation.context import Evaluation
from util.evaluation.data import class_labels
from util.files import LEVELS
from util.labels.palette import Palette
from util.labels.quantify import FrequencyProfileAccumulator
from util.signal.spectrogram import row_freq_hz

WHAT = {
    "table": "data02: frequency distribution of each source: sheet GAN (isolated with the generated masks), "
             "sheet truth (isolated with the true masks)",
    "metric domain": "mean level in dB re full scale, per frequency row (Hz, bin centre), of the mixture's cells "
                     "that the class occupies, over all test tiles (util.labels.quantify.FrequencyProfileAccumulator); "
                     "levels read from the 8-bit tile (within half a grey step); empty where the class never "
                     "occupies the row. Species columns from the species model, bird/insect/human from the "
                     "community model. GAN and truth use the same levels and differ only by the masks."}


def frequency_profile_table(db_images: list[np.ndarray], maps: dict[str, list[np.ndarray]],
                            palettes: dict[str, Palette], sr: int, n_fft: int) -> pd.DataFrame:
    """data02 (one sheet): ``frequency(Hz)``, one column per species, then ``bird``, ``insect``, ``human``.

    Each column is the mean level in dB (re full scale) of the cells the class occupies in that
    frequency row, over every tile (:class:`util.labels.quantify.FrequencyProfileAccumulator`); empty where the
    class never occupies the row. ``db_images`` and each level's ``maps`` are per tile, cut to valid frames.
    """
    n_rows = db_images[0].shape[0] if db_images else n_fft // 2
    columns = {"frequency(Hz)": row_freq_hz(n_rows, sr, n_fft)[::-1]}
    for level in LEVELS:
        palette = palettes[level]
        accumulator = FrequencyProfileAccumulator(n_rows, len(palette))
        for db, class_map in zip(db_images, maps[level]):
            accumulator.update(db, class_map)
        for k, label in enumerate(class_labels(palette, level), start=1):
            columns[label] = accumulator.profile(k, sr, n_fft).mean_db
    return pd.DataFrame(columns)


def compute(ev: Evaluation) -> dict[str, pd.DataFrame]:
    """Sheets ``GAN`` and ``truth``: the same levels (the test tiles' own dB) under each set of masks."""
    tiles = ev.test_tiles
    db = [t.calibrated_db()[:, :t.n_valid] for t in tiles]
    params = tiles[0].params
    gan = {level: ev.valid_gan_maps(level) for level in LEVELS}
    true = {level: ev.valid_true_maps(level) for level in LEVELS}
    return {"GAN": frequency_profile_table(db, gan, ev.palettes, params.sr, params.n_fft),
            "truth": frequency_profile_table(db, true, ev.palettes, params.sr, params.n_fft)}


def about(ev: Evaluation) -> dict:
    return tile_table_about(ev, "frequency", WHAT, LEVELS, {})


def draw(sheets: dict[str, pd.DataFrame], path: str) -> str:
    from util.evaluation.figures import plot_frequency_profiles

    return plot_frequency_profiles(sheets["GAN"], sheets["truth"], path)
