"""pix2pix training as job03 runs it: epochs, logs, per-epoch test scores, checkpoints, exact resume.

The loop reads top to bottom: for each epoch, for each batch, set input -> optimise -> log; at the
end of the epoch, update the learning rate -> score the test split -> save.

Exact resume: the data order of an epoch is drawn from (seed, epoch) (a permutation, or a weighted
draw with --sample_balance), crops from (seed, epoch, index), and the state file (``latest_state.pth``)
holds both networks, both optimisers, the schedules, the epoch, the iteration within the epoch and every
RNG state. A run stopped at any step (Ctrl-C, SIGTERM) and resumed with ``--continue_train`` ends with
the same weights, on CPU with the same seed, as a run never stopped.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import sys
import time
import warnings
from argparse import Namespace
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from util.gan.dataset import AlignedPairDataset, label_statistics
from util.errors import UserError
from util.metrics import LpipsScorer
from util.gan.model import Pix2PixConfig, Pix2PixModel, balanced_class_weights
from util.gan.options import run_dir, save_train_options, split_dir
from util.labels.palette import load_palette
from util.gan.scoring import score_pairs

STATE_FILE = "latest_state.pth"
LOSS_LOG = "loss_log.csv"
METRICS_LOG = "metrics.csv"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def epoch_order(seed: int, epoch: int, n_items: int, serial: bool, weights: np.ndarray | None = None) -> list[int]:
    """The order in which an epoch visits the training pairs (repeatable from seed and epoch).

    With ``weights`` (one per pair), the epoch draws ``n_items`` pairs with replacement, each with
    probability proportional to its weight (--sample_balance); otherwise every pair once, shuffled.
    """
    if serial:
        return list(range(n_items))
    rng = np.random.default_rng([seed, epoch])
    if weights is None:
        return rng.permutation(n_items).tolist()
    return rng.choice(n_items, size=n_items, replace=True, p=weights / weights.sum()).tolist()


def sampling_weights(foreground: np.ndarray, power: float) -> np.ndarray | None:
    """--sample_balance: pair weights (foreground share + 0.001) ** power; None (uniform) for power 0."""
    return None if power <= 0 else (np.asarray(foreground, dtype=np.float64) + 1e-3) ** power


def rng_states() -> dict:
    """Every RNG state as tensors and plain numbers, so the state file loads with weights_only=True."""
    version, python_state, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    states = {"python": [version, torch.tensor(python_state, dtype=torch.int64), gauss],
              "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
              "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    version, python_state, gauss = states["python"]
    random.setstate((version, tuple(int(v) for v in python_state.tolist()), gauss))
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class StopRequest:
    """Turns the first Ctrl-C / SIGTERM into a request to stop after the current step; a second one stops at once."""

    def __init__(self):
        self.requested = False
        self._previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        tqdm.write("stopping after this step and saving (press Ctrl-C again to stop at once)", file=sys.stderr)


@dataclass
class TrainResult:
    finished: bool
    epoch: int
    iteration: int
    run_dir: str
    final_weights: str | None


def train(opt: Namespace, stop_after_step: Callable[[int], bool] | None = None) -> TrainResult:
    """Train (or resume) a pix2pix model as ``opt`` says. ``stop_after_step(global_step)`` lets tests stop a run."""
    seed_everything(opt.seed)
    folder = run_dir(opt)
    palette = load_palette(opt.palette)
    train_set = AlignedPairDataset(split_dir(opt, "train"), opt.input_nc, opt.preprocess, opt.crop_size, opt.seed)
    test_set = AlignedPairDataset(split_dir(opt, "test"), opt.input_nc)
    class_weights, pair_weights = _balance(opt, train_set, palette)
    model = Pix2PixModel(Pix2PixConfig.from_options({**vars(opt), "label_colors": palette.colors.tolist(),
                                                     "ce_class_weights": class_weights}))
    epoch, start_iter = _start_point(opt, model, folder)
    last_epoch = opt.n_epochs + opt.n_epochs_decay
    final = os.path.join(opt.checkpoints_dir, f"{opt.level}_net_G.pth")
    if epoch > last_epoch and os.path.exists(final):
        print(f"{folder}: already trained for {last_epoch} epochs; nothing to do (--overwrite starts afresh)")
        return TrainResult(True, last_epoch, 0, folder, final)
    save_train_options(opt, folder)
    lpips = LpipsScorer(opt.lpips_weights, device="cpu")
    if not lpips.available:
        print(lpips.reason, file=sys.stderr)
    step = 0
    with StopRequest() as stop:
        while epoch <= last_epoch:
            train_set.set_epoch(epoch)
            order = epoch_order(opt.seed, epoch, len(train_set), opt.serial_batches, pair_weights)
            batches = _batches(order, opt.batch_size)
            bar = tqdm(range(start_iter, len(batches)), desc=f"epoch {epoch}/{last_epoch}", unit="step",
                       initial=start_iter, total=len(batches), disable=None)
            for iteration in bar:
                started = time.perf_counter()
                items = [train_set[i] for i in batches[iteration]]
                model.set_input(torch.stack([x["A"] for x in items]), torch.stack([x["B"] for x in items]))
                model.optimize_parameters()
                step += 1
                if (iteration + 1) % opt.print_freq == 0 or iteration + 1 == len(batches):
                    _log_losses(folder, epoch, iteration + 1, model, time.perf_counter() - started)
                if stop.requested or (stop_after_step is not None and stop_after_step(step)):
                    _save_state(model, folder, epoch, iteration + 1)
                    model.save_networks(folder, "latest")
                    _print_resume(opt, epoch, iteration + 1)
                    return TrainResult(False, epoch, iteration + 1, folder, None)
            with warnings.catch_warnings():  # after a resume at an epoch's end no step has run yet: harmless
                warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`")
                model.update_learning_rate()
            _log_metrics(folder, epoch, model, test_set, palette, lpips, opt)
            model.save_networks(folder, "latest")
            if opt.save_epoch_freq and epoch % opt.save_epoch_freq == 0:
                model.save_networks(folder, epoch)
            epoch, start_iter = epoch + 1, 0
            _save_state(model, folder, epoch, 0)
    model.save_networks(opt.checkpoints_dir, opt.level)
    os.remove(os.path.join(opt.checkpoints_dir, f"{opt.level}_net_D.pth"))
    return TrainResult(True, last_epoch, 0, folder, final)


def _balance(opt: Namespace, train_set: AlignedPairDataset, palette) -> tuple[list[float], np.ndarray | None]:
    """Class weights for the colour cross-entropy and pair weights for sampling, from the training labels."""
    want_classes = opt.lambda_CE > 0 and opt.ce_class_balance > 0
    if not (want_classes or opt.sample_balance > 0):
        return [], None
    counts, foreground = label_statistics(train_set, palette.colors)
    class_weights = balanced_class_weights(counts, opt.ce_class_balance) if want_classes else []
    return class_weights, sampling_weights(foreground, opt.sample_balance)


def _start_point(opt: Namespace, model: Pix2PixModel, folder: str) -> tuple[int, int]:
    state_path = os.path.join(folder, STATE_FILE)
    if opt.continue_train:
        if not os.path.exists(state_path):
            raise UserError(f"{state_path}: nothing to resume (train without --continue_train first)")
        model.load_state(state_path)
        extra = torch.load(state_path, map_location="cpu", weights_only=True)["progress"]
        set_rng_states(extra["rng"])
        print(f"resuming {folder} at epoch {extra['epoch']}, step {extra['iteration']}")
        return extra["epoch"], extra["iteration"]
    if os.path.exists(state_path) and not opt.overwrite:
        extra = torch.load(state_path, map_location="cpu", weights_only=True)["progress"]
        if extra["epoch"] > opt.n_epochs + opt.n_epochs_decay:
            return extra["epoch"], 0  # finished: the caller skips it
        raise UserError(f"{folder}: an unfinished run of this name exists; resume it with --continue_train, "
                        f"start afresh with --overwrite, or choose another --name")
    if opt.overwrite:
        for name in (STATE_FILE, LOSS_LOG, METRICS_LOG):
            if os.path.exists(os.path.join(folder, name)):
                os.remove(os.path.join(folder, name))
    return opt.epoch_count, 0


def _save_state(model: Pix2PixModel, folder: str, epoch: int, iteration: int) -> None:
    state = model.state_dict()
    state["progress"] = {"epoch": epoch, "iteration": iteration, "rng": rng_states()}
    tmp = os.path.join(folder, f".{STATE_FILE}.part{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, os.path.join(folder, STATE_FILE))


def _batches(order: list[int], batch_size: int) -> list[list[int]]:
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def _print_resume(opt: Namespace, epoch: int, iteration: int) -> None:
    print(f"stopped at epoch {epoch}, step {iteration}; state saved in {run_dir(opt)}.\n"
          f"resume with: python job03_train.py --dataroot {opt.dataroot} --level {opt.level} --name {opt.name} "
          f"--checkpoints_dir {opt.checkpoints_dir} --preset {opt.preset} --continue_train", file=sys.stderr)


def _append_csv(path: str, row: dict) -> None:
    new = not os.path.exists(path)
    with open(path, "a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def _log_losses(folder: str, epoch: int, iteration: int, model: Pix2PixModel, seconds: float) -> None:
    row = {"epoch": epoch, "iteration": iteration, **model.get_current_losses(),
           "lr": model.get_learning_rate(), "seconds_per_step": round(seconds, 4)}
    _append_csv(os.path.join(folder, LOSS_LOG), row)


def _log_metrics(folder: str, epoch: int, model: Pix2PixModel, test_set, palette, lpips, opt: Namespace) -> dict:
    model.eval()
    scores = score_pairs(model.generate, test_set, palette, lpips, batch_size=max(opt.batch_size, 4),
                         max_images=opt.max_test_images)
    model.train()
    summary = scores.summary()
    row = {"epoch": epoch, "ssim": summary["ssim"], "lpips": summary["lpips"], "pixel_f1": summary["pixel_f1"],
           **{f"f1_{slug}": summary[f"f1_{slug}"] for slug in palette.slugs}}
    _append_csv(os.path.join(folder, METRICS_LOG), row)
    tqdm.write(f"epoch {epoch}: pixel F1 {summary['pixel_f1']:.3f}, SSIM {summary['ssim']:.3f}, "
               f"LPIPS {summary['lpips']:.3f} on {summary['n_images']} test pairs")
    return summary
