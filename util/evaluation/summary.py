"""The few lines job06 prints at the end: pixel F1 against the goals, who wins data04..data06, where things are."""

from __future__ import annotations

import numpy as np
import pandas as pd

from util.evaluation.data import GAN, MEAN_ROW
from util.evaluation.denoising import DENOISERS, EMPTY_MASK
from util.evaluation.options import EvaluationOptions
from util.evaluation.pixel_f1 import PIXEL_F1_GOALS
from util.evaluation.run import EvaluationReport
from util.evaluation.separation import NMF, SILENCE


def summary_lines(report: EvaluationReport, opt: EvaluationOptions) -> list[str]:
    """A few lines: pixel F1 per level against the goals, the denoising and separation winners, where things are."""
    lines = []
    for key, line in (("pixel_f1", _pixel_f1_line), ("denoising", _denoising_line),
                      ("separation", _separation_line), ("classification", _classification_line)):
        sheets = report.tables.get(key)
        if sheets is not None:
            lines.append(line(next(iter(sheets.values()))))
    lines.append(f"tables in {opt.out}/ (data01..data07 xlsx, each with an 'about' sheet), "
                 f"figures in {opt.figures_dir}/"
                 + (f"; {len(report.skipped)} existing outputs kept (--overwrite to redo)" if report.skipped else ""))
    return lines


def _pixel_f1_line(table: pd.DataFrame) -> str:
    means = table[table["class"] == MEAN_ROW].set_index("level")["pixel F1"]
    return "pixel F1 (mean over classes): " + ", ".join(
        f"{level} {means.get(level, np.nan):.3f} (goal >= {goal:.2f})" for level, goal in PIXEL_F1_GOALS.items())


def _denoising_line(table: pd.DataFrame) -> str:
    table = table.set_index("species")
    winners = _winners(table[list(DENOISERS)], lower_is_better=True)
    n_gan = sum(1 for w in winners.values() if w == GAN)
    below_empty = int((table[GAN] < table[EMPTY_MASK]).sum()) if EMPTY_MASK in table else 0
    return (f"denoising (MSE, lower is better): GAN best for {n_gan} of {len(winners)} species with test tiles"
            + ("" if n_gan == len(winners) else " (otherwise " + ", ".join(
                f"{short} -> {w}" for short, w in winners.items() if w != GAN) + ")")
            + f"; GAN below the empty-mask reference for {below_empty} of {len(winners)}")


def _separation_line(table: pd.DataFrame) -> str:
    table = table.set_index("community")
    better = [c for c in table.index if table.loc[c, GAN] < table.loc[c, NMF]]
    rated = [c for c in table.index if np.isfinite(table.loc[c, GAN]) and np.isfinite(table.loc[c, NMF])]
    useful = [c for c in rated if SILENCE in table and table.loc[c, GAN] < table.loc[c, SILENCE]]
    return (f"separation (waveform MSE): GAN below NMF for {len(better)} of {len(rated)} communities "
            f"({', '.join(f'{c} GAN {table.loc[c, GAN]:.2e} vs NMF {table.loc[c, NMF]:.2e}' for c in rated)})"
            f"; GAN below the silence reference for {len(useful)} of {len(rated)}")


def _classification_line(table: pd.DataFrame) -> str:
    table = table.set_index("species")
    return "classification F1 (mean over species): " + ", ".join(
        f"{m} {table.loc[MEAN_ROW, m]:.3f}" for m in table.columns)


def _winners(table: pd.DataFrame, lower_is_better: bool) -> dict[str, str]:
    """Row label (short) -> the column with the best value, for rows with any value."""
    out = {}
    for label, row in table.iterrows():
        values = pd.to_numeric(row, errors="coerce")
        if values.notna().any():
            out[str(label).split(" (")[0]] = values.idxmin() if lower_is_better else values.idxmax()
    return out
