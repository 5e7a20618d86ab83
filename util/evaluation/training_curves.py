"""data01: SSIM and LPIPS per training epoch, both models, from the runs' own logs (job03's metrics.csv)."""

from __future__ import annotations

import os

import pandas as pd

from util.errors import UserError
from util.evaluation.about import common_about, run_options
from util.evaluation.context import Evaluation
from util.files import LEVELS, METRICS_LOG
from util.gan.options import load_train_options

WHAT = {
    "table": "data01: SSIM and LPIPS per training epoch, species and community models",
    "metric domain": "SSIM (scikit-image, data_range 255, RGB channels averaged; higher is better) and LPIPS "
                     "(lpips v0.1, AlexNet; lower is better) between the generated and the true label image "
                     "(RGB uint8), mean over the pairs job03 scored after each epoch (its metrics.csv), on the "
                     "run's score split ('score split' below, from its train_opt.json: val, where epochs and "
                     "settings are chosen; test for a run that asked for it). An empty LPIPS cell: the AlexNet "
                     "weights were not available during training."}


def read_metrics_log(path: str) -> pd.DataFrame | None:
    """A run's metrics.csv (epoch, ssim, lpips, pixel_f1, f1_<slug>...), or None if there is none."""
    if not os.path.exists(path):
        return None
    log = pd.read_csv(path)
    missing = {"epoch", "ssim", "lpips"} - set(log.columns)
    if missing:
        raise UserError(f"{path}: not a training log of job03 (no {', '.join(sorted(missing))} column)")
    return log


def ssim_lpips_table(logs: dict[str, pd.DataFrame | None]) -> pd.DataFrame:
    """data01: ``epoch``, ``community ssim``, ``community lpips``, ``species ssim``, ``species lpips``.

    ``logs``: {'species': metrics.csv, 'community': metrics.csv} (None where a level has no log: its
    columns are empty). Epochs are the union of both logs; a resumed run's repeated epoch keeps its last row.
    """
    table = pd.DataFrame({"epoch": pd.Series(dtype="int64")})
    for level in ("community", "species"):
        log = logs.get(level)
        part = pd.DataFrame(columns=["epoch", f"{level} ssim", f"{level} lpips"])
        if log is not None and len(log):
            last = log.drop_duplicates("epoch", keep="last")
            part = pd.DataFrame({"epoch": last["epoch"].astype("int64"),
                                 f"{level} ssim": last["ssim"].astype(float),
                                 f"{level} lpips": last["lpips"].astype(float)})
        table = table.merge(part.astype({"epoch": "int64"}), on="epoch", how="outer")
    return table.sort_values("epoch").reset_index(drop=True)[
        ["epoch", "community ssim", "community lpips", "species ssim", "species lpips"]]


def compute(ev: Evaluation) -> dict[str, pd.DataFrame]:
    """data01's sheets from both runs' logs; a missing log leaves its columns empty (and a note)."""
    logs = {}
    for level in LEVELS:
        path = os.path.join(ev.opt.run_folder(level), METRICS_LOG)
        logs[level] = read_metrics_log(path)
        if logs[level] is None:
            ev.notes.append(f"data01: no training log {path}; the {level} columns are empty")
    return {"data": ssim_lpips_table(logs)}


def score_split(folder: str) -> str:
    """The split a run scored after every epoch, from its train_opt.json (runs older than --score_split: test)."""
    try:
        return str(load_train_options(folder).get("score_split", "test (the run predates --score_split)"))
    except UserError as exc:
        return f"unknown: {exc}"


def about(ev: Evaluation) -> dict:
    opt = ev.opt
    return {**WHAT,
            "score split": {level: score_split(opt.run_folder(level)) for level in LEVELS},
            "training logs": {level: os.path.abspath(os.path.join(opt.run_folder(level), METRICS_LOG))
                              for level in LEVELS},
            "training options": {level: run_options(opt.run_folder(level)) for level in LEVELS},
            "data": "the score split of each run's --dataroot (see 'score split' and the training options)",
            **common_about(ev)}


def draw(sheets: dict[str, pd.DataFrame], path: str) -> str:
    from util.evaluation.figures import plot_ssim_lpips

    return plot_ssim_lpips(sheets["data"], path)
