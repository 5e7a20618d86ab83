"""The few lines job06 prints at the end: pixel F1 against the goals; data04 and data05 against their
references and goals (the GAN against every baseline inside call boxes, its SI-SDR improvement against
NMF's and +6 dB); data06's F1; data08's differences GAN on - off (or why it was not made); where things are."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from util.evaluation.ablation import DIFFERENCE, DIFFERENCE_HIGH, DIFFERENCE_LOW, F1, LPIPS, SSIM
from util.evaluation.data import GAN, MEAN_ROW
from util.evaluation.denoising import (
    ALL_SOURCES,
    ANY_SOURCE,
    BASELINES,
    DENOISERS,
    EMPTY_MASK,
    IN_BOXES,
    NO_DENOISE,
    TILES_WITH,
    TRUE_MASK,
    WHOLE_TILE,
)
from util.evaluation.options import EvaluationOptions
from util.evaluation.pixel_f1 import PIXEL_F1_GOALS
from util.evaluation.registry import TABLES
from util.evaluation.run import EvaluationReport
from util.evaluation.separation import ERROR, FALSE_ALARM, NMF, SI_SDRI, SILENCE, TILES_SHEET, silent_estimates

SI_SDRI_GOAL_DB = 6.0   # the goal: the GAN's mean SI-SDR improvement over the communities, at least this

Sheets = dict[str, pd.DataFrame]


def summary_lines(report: EvaluationReport, opt: EvaluationOptions) -> list[str]:
    """A few lines: pixel F1 per level against the goals, data04 and data05 against their references and
    goals, data06's F1, where things are."""
    makers: dict[str, Callable[[Sheets], list[str]]] = {
        "pixel_f1": lambda sheets: [_pixel_f1_line(_first(sheets))], "denoising": denoising_lines,
        "separation": lambda sheets: separation_lines(_first(sheets), sheets.get(TILES_SHEET)),
        "classification": lambda sheets: [_classification_line(_first(sheets))],
        "ablation": lambda sheets: [_ablation_line(sheets["difference"])]}
    lines = []
    for key, make in makers.items():
        sheets = report.tables.get(key)
        if sheets is not None:
            lines += make(sheets)
    lines += [f"{TABLES[key].label}: skipped ({reason})" for key, reason in report.not_asked.items()]
    made = [spec.label for key, spec in TABLES.items() if key in report.tables]
    lines.append(f"tables in {opt.out}/ ({made[0] + '..' + made[-1] if made else 'none'} xlsx, each with an "
                 f"'about' sheet), "
                 f"figures in {opt.figures_dir}/"
                 + (f"; {len(report.skipped)} existing outputs kept (--overwrite to redo)" if report.skipped else ""))
    return lines


def _first(sheets: Sheets) -> pd.DataFrame:
    return next(iter(sheets.values()))


def _pixel_f1_line(table: pd.DataFrame) -> str:
    means = table[table["class"] == MEAN_ROW].set_index("level")["pixel F1"]
    return "pixel F1 (mean over classes): " + ", ".join(
        f"{level} {means.get(level, np.nan):.3f} (goal >= {goal:.2f})" for level, goal in PIXEL_F1_GOALS.items())


# --------------------------------------------------------------------------- data04

def denoising_lines(sheets: Sheets) -> list[str]:
    """data04, one line per sheet: where the GAN stands among the methods and between the references."""
    lines = []
    for sheet, what in ((WHOLE_TILE, "one species, whole tile"), (IN_BOXES, "one species, inside its call boxes")):
        if sheet in sheets:
            lines.append(_species_sheet_line(sheets[sheet].set_index("species"), what, goal=sheet == IN_BOXES))
    if ALL_SOURCES in sheets:
        lines.append(_all_sources_line(sheets[ALL_SOURCES].set_index(TILES_WITH)))
    return lines


def _species_sheet_line(table: pd.DataFrame, what: str, goal: bool) -> str:
    """GAN vs every baseline and vs the references, per species with tiles, and the means over them."""
    rated = table[pd.to_numeric(table[GAN], errors="coerce").notna()]
    n = len(rated)
    baselines = [c for c in (*BASELINES, NO_DENOISE) if c in rated]
    below_all = [s for s in rated.index if all(rated.loc[s, GAN] < rated.loc[s, b] for b in baselines)]
    losers = {_short(s): min(baselines, key=lambda b: rated.loc[s, b]) for s in rated.index if s not in below_all}
    below_empty = int((rated[GAN] < rated[EMPTY_MASK]).sum()) if EMPTY_MASK in rated else 0
    line = (f"denoising, {what} (MSE, lower is better): GAN below every baseline and no denoise for "
            f"{len(below_all)} of {n} species" + (" (goal: all)" if goal else "")
            + ("" if not losers else " (otherwise best: " + ", ".join(f"{s} {b}" for s, b in losers.items()) + ")")
            + f"; below the empty mask for {below_empty} of {n}")
    return line + "; means: " + _means(rated, [*DENOISERS, *(c for c in (EMPTY_MASK, TRUE_MASK) if c in rated)])


def _all_sources_line(table: pd.DataFrame) -> str:
    if ANY_SOURCE not in table.index:
        return "denoising, all sources: no tiles"
    row = table.loc[[ANY_SOURCE]]
    return ("denoising, every source together, tiles with any source (MSE, lower is better): "
            + _means(row, [c for c in (*DENOISERS, EMPTY_MASK, TRUE_MASK) if c in row]))


def _means(table: pd.DataFrame, columns: list[str]) -> str:
    values = {c: pd.to_numeric(table[c], errors="coerce").mean() for c in columns}
    return ", ".join(f"{c.replace(' (reference)', '')} {v:.4f}" for c, v in values.items())


def _short(label: str) -> str:
    return str(label).split(" (")[0]


# --------------------------------------------------------------------------- data05

def separation_lines(table: pd.DataFrame, tiles: pd.DataFrame | None = None) -> list[str]:
    """data05: SI-SDR improvement per community against NMF's and the goal (with the true mask's, and the
    tiles where the GAN's estimate was silent when ``tiles``, the per-tile sheet, is given); errors and
    false alarms."""
    table = table.set_index("community")
    communities = table.drop(index=MEAN_ROW, errors="ignore")
    gan_i, nmf_i = f"{GAN} {SI_SDRI}", f"{NMF} {SI_SDRI}"
    if gan_i not in table:
        return ["separation: no SI-SDR improvement column (a table from an older version; --overwrite to redo)"]
    rated = [c for c in communities.index if np.isfinite(communities.loc[c, gan_i])
             and np.isfinite(communities.loc[c, nmf_i])]
    at_least = [c for c in rated if communities.loc[c, gan_i] >= communities.loc[c, nmf_i]]
    mean_gan = pd.to_numeric(communities[gan_i], errors="coerce").mean()
    mean_nmf = pd.to_numeric(communities[nmf_i], errors="coerce").mean()
    lines = ["separation, SI-SDR improvement (dB, higher is better; silent estimates at the chance level): "
             + ", ".join(f"{c} GAN {communities.loc[c, gan_i]:+.1f} vs NMF {communities.loc[c, nmf_i]:+.1f}"
                         + _references_part(communities, c, tiles) for c in rated)
             + f"; GAN >= NMF for {len(at_least)} of {len(rated)} communities (goal: all); mean over communities "
               f"GAN {mean_gan:+.1f} vs NMF {mean_nmf:+.1f} (goal: GAN >= {SI_SDRI_GOAL_DB:+.0f})"]
    lines.append(_separation_errors_line(communities, rated))
    return lines


def _references_part(table: pd.DataFrame, community: str, tiles: pd.DataFrame | None) -> str:
    """' (true mask +X; GAN silent on k of n tiles)': the true mask's SI-SDR improvement for ``community`` when
    the table has it, and how many of its tiles the GAN's estimate was silent on (each at the chance level)."""
    column = f"{TRUE_MASK} {SI_SDRI}"
    value = table.loc[community, column] if column in table else np.nan
    parts = [f"true mask {value:+.1f}"] if np.isfinite(value) else []
    if tiles is not None and len(tiles):
        silent, n_tiles = silent_estimates(tiles, community, GAN)
        if silent:
            parts.append(f"GAN silent on {silent} of {n_tiles} tiles")
    return f" ({'; '.join(parts)})" if parts else ""


def _separation_errors_line(table: pd.DataFrame, rated: list[str]) -> str:
    below_nmf = [c for c in rated if table.loc[c, GAN] < table.loc[c, NMF]]
    below_silence = [c for c in rated if SILENCE in table and table.loc[c, GAN] < table.loc[c, SILENCE]]
    parts = [f"separation, waveform MSE: GAN below NMF for {len(below_nmf)} of {len(rated)} communities, below the "
             f"silence reference for {len(below_silence)} of {len(rated)}"]
    for column, unit in ((ERROR, "lower is better; silence 0 dB"), (FALSE_ALARM, "lower is better")):
        gan, nmf = f"{GAN} {column}", f"{NMF} {column}"
        if gan in table:
            rows = [c for c in table.index if np.isfinite(table.loc[c, gan]) or np.isfinite(table.loc[c, nmf])]
            parts.append(f"{column}, {unit}: " + (", ".join(
                f"{c} GAN {table.loc[c, gan]:.1f} vs NMF {table.loc[c, nmf]:.1f}" for c in rows) or "no tiles"))
    return "; ".join(parts)


def _classification_line(table: pd.DataFrame) -> str:
    """The mean F1 of each method; a method whose column is empty (a CNN not run) says so."""
    table = table.set_index("species")
    return "classification F1 (mean over species): " + ", ".join(
        f"{m} {table.loc[MEAN_ROW, m]:.3f}" if table[m].notna().any() else f"{m} not run" for m in table.columns)


def _ablation_line(table: pd.DataFrame) -> str:
    """data08: each level's difference GAN on - off of pixel F1, SSIM, LPIPS, its interval and which run is better."""
    rows = table[table["metric"].isin([F1, SSIM, LPIPS])]
    return "ablation, GAN on - off (test split; 95 % paired interval over clips): " + "; ".join(
        f"{row['level']} {row['metric']} " + (f"{row[DIFFERENCE]:+.3f} [{row[DIFFERENCE_LOW]:+.3f}, "
                                              f"{row[DIFFERENCE_HIGH]:+.3f}] {row['better']}"
                                              if np.isfinite(row[DIFFERENCE]) else "n/a")
        for _, row in rows.iterrows())
