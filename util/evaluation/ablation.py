"""data08: does the adversarial loss help? The same generators trained with the GAN term off and on.

The main runs (``--checkpoints_dir``) and the ablation runs (``--ablation_checkpoints``, the same layout,
trained with another job03 ``--lambda_GAN``) are scored on the same test tiles: pixel F1 as data07 (valid
frames, with its 95 % interval over clips), SSIM and LPIPS between the generated and the true label image
(whole tile, as job03 and job04 score them). Which run has the GAN term comes from each run's train_opt.json.
The difference, GAN on minus GAN off, gets its own 95 % interval from a paired bootstrap over clips (both
runs scored on each resample's one draw of the clips, :func:`util.metrics.paired_bootstrap_f1_difference`);
an interval that holds 0 does not tell the runs apart. Runs that differ in more than ``lambda_GAN`` are still
compared, with a note saying how.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from util.errors import UserError
from util.evaluation.about import common_about, data_description, mask_rule
from util.evaluation.context import Evaluation
from util.evaluation.data import class_labels
from util.evaluation.generator import translate
from util.evaluation.options import EvaluationOptions
from util.evaluation.training_curves import read_metrics_log
from util.files import LEVELS, METRICS_LOG, level_generator_file, split_folder
from util.gan.dataset import list_pairs
from util.metrics import (
    BOOTSTRAP_CONFIDENCE,
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    PixelCounts,
    bootstrap_pixel_f1,
    clip_of_stem,
    paired_bootstrap_f1_difference,
    paired_bootstrap_mean_difference,
    ssim_rgb,
)

MAIN, ABLATION = "main", "ablation"        # the runs: --checkpoints_dir and --ablation_checkpoints
ON, OFF = "GAN on", "GAN off"
F1, F1_LOW, F1_HIGH = "pixel F1", "pixel F1 low (95 %)", "pixel F1 high (95 %)"
SSIM, LPIPS = "SSIM", "LPIPS"
HIGHER_IS_BETTER = {F1: True, SSIM: True, LPIPS: False}
DIFFERENCE, DIFFERENCE_LOW, DIFFERENCE_HIGH = "difference (on - off)", "difference low (95 %)", "difference high (95 %)"
NOT_TOLD_APART = "not told apart"
DIFFERENCE_COLUMNS = ["level", "metric", OFF, ON, DIFFERENCE, DIFFERENCE_LOW, DIFFERENCE_HIGH, "better"]
TRAINING_COLUMNS = ["level", "run", "lambda_GAN", "GAN term", "epoch", "score split", "pixel_f1", "ssim", "lpips"]
# training options that must match for a fair ablation (besides lambda_GAN); the training set's size is checked too
FAIR_KEYS = ("netG", "ngf", "norm", "no_dropout", "n_epochs", "n_epochs_decay", "batch_size", "lr", "lambda_L1",
             "lambda_CE", "ce_class_balance", "sample_balance")
HOW_TO_ASK = ("no --ablation_checkpoints; to make it, train both levels again with job03 --lambda_GAN 0 (or 1) "
              "into another --checkpoints_dir and pass that folder")

WHAT = {
    "table": "data08: does the adversarial loss help? The same generators trained with the GAN term off and on "
             "(job03 --lambda_GAN), scored on the same test tiles",
    "metric domain": "pixel F1: as data07 (class maps of the valid frames, TP/FP/FN summed over the tiles, F1 per "
                     "class, mean over the classes that occur; background not a class). SSIM (scikit-image, "
                     "data_range 255, RGB channels averaged; higher is better) and LPIPS (lpips v0.1, AlexNet; lower "
                     "is better) between the generated label image and the true one (the true class map in palette "
                     "colours, as job00 paints B), whole tile as job03 and job04 score them, mean over the tiles",
    "interval": f"'{F1_LOW} / {F1_HIGH}': the {BOOTSTRAP_CONFIDENCE:.0%} percentile interval over "
                f"{BOOTSTRAP_RESAMPLES} resamples of the test clips with replacement (seed {BOOTSTRAP_SEED})",
    "difference": f"sheet 'difference': GAN on minus GAN off per metric, its {BOOTSTRAP_CONFIDENCE:.0%} interval from a "
                  f"paired bootstrap over the test clips (the same {BOOTSTRAP_RESAMPLES} draws of clips score both "
                  f"runs, seed {BOOTSTRAP_SEED}); 'better': the run the interval points to ({LPIPS}: lower is "
                  f"better), '{NOT_TOLD_APART}' when the interval holds 0",
    "training": "sheet 'training': both runs' scores after every epoch on their score split (job03's metrics.csv)"}


def needs(opt: EvaluationOptions) -> str | None:
    """data08 is made only with --ablation_checkpoints; otherwise one line on how to make it."""
    return None if opt.ablation_checkpoints else HOW_TO_ASK


def run_dirs(opt: EvaluationOptions) -> dict[str, str | None]:
    """The checkpoints folder of each run (None: the evaluated generators, as the other tables use them)."""
    return {MAIN: None, ABLATION: opt.ablation_checkpoints}


def data_columns(palettes) -> list[str]:
    """The 'data' sheet's columns: one row per (level, run), a per-class F1 column for each class of each level."""
    classes = [f"F1 {label}" for level in LEVELS for label in class_labels(palettes[level], level)]
    return ["level", "run", "checkpoints", "lambda_GAN", "GAN term", F1, F1_LOW, F1_HIGH, SSIM, LPIPS, *classes,
            "test tiles", "test clips", "note"]


# --------------------------------------------------------------------------- the runs and how they differ

def levels_with_ablation(ev: Evaluation) -> list[str]:
    """The levels whose ablation generator exists (a note for each missing one); none at all is a UserError."""
    folder = ev.opt.ablation_checkpoints
    levels = [level for level in LEVELS if os.path.isfile(level_generator_file(folder, level))]
    for level in LEVELS:
        if level not in levels:
            ev.notes.append(f"data08: no {level_generator_file(folder, level)}; the {level} level is left out")
    if not levels:
        raise UserError(f"{folder}: no species_net_G.pth or community_net_G.pth; --ablation_checkpoints must hold "
                        f"runs trained with job03 (the layout of --checkpoints_dir)")
    return levels


def lambda_gan(options: dict | None) -> float:
    """A run's lambda_GAN (runs from before the flag had the GAN term at weight 1); NaN without train_opt.json."""
    value = None if options is None else options.get("lambda_GAN", 1.0)
    return float("nan") if value is None else float(value)


def run_options(ev: Evaluation, level: str) -> dict[str, dict | None]:
    """Each run's train_opt.json (None where unknown)."""
    return {run: ev.generator(level, folder).train_options for run, folder in run_dirs(ev.opt).items()}


def on_and_off(options: dict[str, dict | None]) -> tuple[str, str]:
    """(the run with the GAN term, the run without): the larger lambda_GAN is 'on'; a tie puts main 'on'."""
    main, ablation = lambda_gan(options[MAIN]), lambda_gan(options[ABLATION])
    return (ABLATION, MAIN) if ablation > main else (MAIN, ABLATION)


def train_pair_count(options: dict | None, checkpoints_dir: str, root: str) -> int | None:
    """How many training pairs a run had: its dataroot's train split (None if not found).

    A relative dataroot is looked for in the folder job03 ran in (the checkpoints folder minus the run's own
    relative --checkpoints_dir, when it ends so), then in job06's --root, then in the current folder."""
    if not options or not options.get("dataroot"):
        return None
    dataroot, recorded = options["dataroot"], os.path.normpath(str(options.get("checkpoints_dir") or "."))
    given = os.path.abspath(checkpoints_dir)
    bases = [given[:-len(recorded)]] if not os.path.isabs(recorded) and given.endswith(os.sep + recorded) else []
    for base in [*bases, root, os.getcwd()]:
        folder = split_folder(os.path.join(base, dataroot), "train", options.get("level", "species"))
        if os.path.isdir(folder) and os.listdir(folder):
            return len(list_pairs(folder))
    return None


def last_epoch(folder: str) -> int | None:
    """The last epoch a run logged in its metrics.csv (None without one)."""
    log = read_metrics_log(os.path.join(folder, METRICS_LOG))
    return int(log["epoch"].max()) if log is not None and len(log) else None


def fairness_note(ev: Evaluation, level: str) -> str:
    """How the two runs of ``level`` differ besides lambda_GAN, in one line ('' when they do not)."""
    options = run_options(ev, level)
    main, ablation = lambda_gan(options[MAIN]), lambda_gan(options[ABLATION])
    parts = [f"lambda_GAN unknown for the {run} run (no train_opt.json)" for run in (MAIN, ABLATION)
             if options[run] is None]
    if main == ablation:
        parts.append(f"both runs have lambda_GAN {main:g}: '{ON}' is the main run, '{OFF}' the ablation run, and the "
                     f"difference says nothing about the GAN term")
    elif min(main, ablation) > 0:
        parts.append(f"both runs use the GAN term (lambda_GAN {main:g} main, {ablation:g} ablation): '{ON}' is the "
                     f"larger")
    if options[MAIN] and options[ABLATION]:
        parts += [f"{key} {options[MAIN].get(key)} main vs {options[ABLATION].get(key)} ablation" for key in FAIR_KEYS
                  if options[MAIN].get(key) != options[ABLATION].get(key)]
    folders = {MAIN: ev.opt.checkpoints_dir, ABLATION: ev.opt.ablation_checkpoints}
    sizes = {run: train_pair_count(options[run], folders[run], ev.opt.root) for run in folders}
    epochs = {run: last_epoch(ev.opt.run_folder(level, folders[run])) for run in folders}
    for what, values in (("training pairs", sizes), ("last logged epoch (metrics.csv)", epochs)):
        if None in values.values():
            parts.append(f"{what} unknown for the " + " and ".join(r for r, v in values.items() if v is None)
                         + " run")
        elif values[MAIN] != values[ABLATION]:
            parts.append(f"{what} {values[MAIN]} main vs {values[ABLATION]} ablation")
    return "; ".join(parts)


# --------------------------------------------------------------------------- scoring one run

@dataclass
class RunScores:
    """One run of one level on the test tiles: pixel counts, SSIM and LPIPS per tile, grouped by clip."""

    n_classes: int
    counts: dict[str, PixelCounts] = field(default_factory=dict)
    ssim: dict[str, list[float]] = field(default_factory=dict)
    lpips: dict[str, list[float]] = field(default_factory=dict)

    def add(self, clip: str, pred_valid: np.ndarray, true_valid: np.ndarray, ssim: float, lpips: float) -> None:
        self.counts.setdefault(clip, PixelCounts(self.n_classes)).update(pred_valid, true_valid)
        self.ssim.setdefault(clip, []).append(ssim)
        self.lpips.setdefault(clip, []).append(lpips)

    def total(self) -> PixelCounts:
        """The counts of every clip summed."""
        total = PixelCounts(self.n_classes)
        for counts in self.counts.values():
            total.merge(counts)
        return total

    def mean(self, scores: dict[str, list[float]]) -> float:
        """The mean over the tiles of ``self.ssim`` or ``self.lpips``, NaN scores left out (NaN if all are)."""
        values = np.array([v for clip in scores.values() for v in clip], np.float64)
        return float(values[np.isfinite(values)].mean()) if np.isfinite(values).any() else float("nan")


def score_run(ev: Evaluation, level: str, run: str) -> RunScores:
    """Generate every test tile with ``run``'s generator of ``level`` and score it against the truth."""
    palette, tiles = ev.palettes[level], ev.test_tiles
    generator = ev.generator(level, run_dirs(ev.opt)[run])
    reader = generator.palette(palette)
    scores = RunScores(len(palette))
    fakes = translate(generator, [t.spec_pixels for t in tiles], ev.opt.device, ev.opt.batch_size,
                      f"data08: {level} {run} generator on test tiles", ev.opt.progress)
    for tile, fake_rgb in zip(tiles, fakes):
        true_map = tile.true_maps[level]
        true_rgb = palette.encode(true_map)
        scores.add(clip_of_stem(tile.stem), reader.classify(fake_rgb)[:, :tile.n_valid],
                   true_map[:, :tile.n_valid], ssim_rgb(fake_rgb, true_rgb), ev.lpips.score(fake_rgb, true_rgb))
    return scores


# --------------------------------------------------------------------------- the sheets

def run_row(ev: Evaluation, level: str, run: str, scores: RunScores, term: str, note: str) -> dict:
    """One row of the 'data' sheet."""
    interval = bootstrap_pixel_f1(scores.counts)
    labels = class_labels(ev.palettes[level], level)
    generator = ev.generator(level, run_dirs(ev.opt)[run])
    return {"level": level, "run": run, "checkpoints": os.path.abspath(generator.path),
            "lambda_GAN": lambda_gan(generator.train_options), "GAN term": term, F1: interval.f1,
            F1_LOW: interval.low, F1_HIGH: interval.high, SSIM: scores.mean(scores.ssim),
            LPIPS: scores.mean(scores.lpips), **{f"F1 {label}": f1 for label, f1 in zip(labels, interval.f1_per_class)},
            "test tiles": sum(len(v) for v in scores.ssim.values()), "test clips": interval.n_clips, "note": note}


def better(difference: float, low: float, high: float, higher_is_better: bool) -> str:
    """Which run the difference (on - off) and its interval point to: GAN on / GAN off / not told apart."""
    if not np.isfinite(difference):
        return "n/a"
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0 <= high:
        return NOT_TOLD_APART
    return ON if (difference > 0) == higher_is_better else OFF


def difference_rows(level: str, labels: list[str], off: RunScores, on: RunScores) -> list[dict]:
    """The 'difference' sheet's rows of one level: mean F1, SSIM, LPIPS, then F1 per class that occurs."""
    f1 = paired_bootstrap_f1_difference(off.counts, on.counts)
    rows = [(F1, off.total().mean_f1(), on.total().mean_f1(), f1.f1, f1.low, f1.high, HIGHER_IS_BETTER[F1])]
    for metric, attribute in ((SSIM, "ssim"), (LPIPS, "lpips")):
        value_off, value_on = off.mean(getattr(off, attribute)), on.mean(getattr(on, attribute))
        rows.append((metric, value_off, value_on,
                     *paired_bootstrap_mean_difference(getattr(off, attribute), getattr(on, attribute)),
                     HIGHER_IS_BETTER[metric]))
    off_k, on_k = off.total().f1_per_class(), on.total().f1_per_class()
    rows += [(f"F1 {label}", off_k[k], on_k[k], f1.f1_per_class[k], f1.low_per_class[k], f1.high_per_class[k], True)
             for k, label in enumerate(labels) if np.isfinite(f1.f1_per_class[k])]
    return [dict(zip(DIFFERENCE_COLUMNS, (level, metric, a, b, d, lo, hi, better(d, lo, hi, up))))
            for metric, a, b, d, lo, hi, up in rows]


def training_rows(ev: Evaluation, level: str, terms: dict[str, str]) -> list[dict]:
    """Both runs' per-epoch scores from their metrics.csv (a note for a run without one)."""
    rows = []
    for run, folder in {MAIN: ev.opt.checkpoints_dir, ABLATION: ev.opt.ablation_checkpoints}.items():
        path = os.path.join(ev.opt.run_folder(level, folder), METRICS_LOG)
        log = read_metrics_log(path)
        if log is None:
            ev.notes.append(f"data08: no training log {path}; the 'training' sheet has no {level} {run} rows")
            continue
        options = ev.generator(level, run_dirs(ev.opt)[run]).train_options
        for _, row in log.drop_duplicates("epoch", keep="last").iterrows():
            rows.append({"level": level, "run": run, "lambda_GAN": lambda_gan(options), "GAN term": terms[run],
                         "epoch": int(row["epoch"]), "score split": row.get("split", (options or {}).get("score_split")),
                         **{k: float(row.get(k, np.nan)) for k in ("pixel_f1", "ssim", "lpips")}})
    return rows


def compute(ev: Evaluation) -> dict[str, pd.DataFrame]:
    """data08's sheets: 'data' (one row per level and run), 'difference' (GAN on - off), 'training'."""
    data, differences, training = [], [], []
    levels = levels_with_ablation(ev)
    for level in levels:
        on, off = on_and_off(run_options(ev, level))
        terms = {on: ON, off: OFF}
        note = fairness_note(ev, level)
        if note:
            ev.notes.append(f"data08 ({level}): {note}")
        scores = {run: score_run(ev, level, run) for run in (MAIN, ABLATION)}
        data += [run_row(ev, level, run, scores[run], terms[run], note) for run in (off, on)]
        differences += difference_rows(level, class_labels(ev.palettes[level], level), scores[off], scores[on])
        training += training_rows(ev, level, terms)
    ev.counts["ablation"] = {"levels": levels, "test clips (bootstrap units)": data[0]["test clips"]}
    return {"data": pd.DataFrame(data, columns=data_columns(ev.palettes)),
            "difference": pd.DataFrame(differences, columns=DIFFERENCE_COLUMNS),
            "training": pd.DataFrame(training, columns=TRAINING_COLUMNS)}


def about(ev: Evaluation) -> dict:
    levels = ev.counts.get("ablation", {}).get("levels", [])
    runs = {level: {run: {"generator": os.path.abspath(ev.generator(level, folder).path),
                          "lambda_GAN": lambda_gan(ev.generator(level, folder).train_options),
                          "training options": _options_of(ev.generator(level, folder).train_options)}
                    for run, folder in run_dirs(ev.opt).items()} for level in levels}
    fairness = {level: fairness_note(ev, level) or "the runs differ only in lambda_GAN" for level in levels}
    lpips = "AlexNet weights " + os.path.abspath(ev.lpips.weights_path) if ev.lpips.available else ev.lpips.reason
    return {**WHAT, **data_description(ev), "runs": runs, "fairness": fairness,
            "fair when equal": [*FAIR_KEYS, "training pairs", "last logged epoch"], "LPIPS": lpips,
            "mask rule": mask_rule(ev.opt.decode_rule), "counts": ev.counts.get("ablation", {}), **common_about(ev)}


def _options_of(options: dict | None) -> dict | str:
    if options is None:
        return "unknown (no train_opt.json in the run folder)"
    return {k: options.get(k) for k in ("preset", "lambda_GAN", *FAIR_KEYS, "seed", "dataroot", "score_split")}


def draw(sheets: dict[str, pd.DataFrame], path: str) -> str:
    from util.evaluation.figures import plot_ablation

    return plot_ablation(sheets["data"], path)
