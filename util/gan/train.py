"""pix2pix training as job03 runs it: epochs, logs, per-epoch scores on val, checkpoints, exact resume.

The loop reads top to bottom: for each epoch, for each batch, set input -> optimise -> log; at the
end of the epoch, update the learning rate -> score the --score_split pairs (val: every choice of
settings or epoch is made there; test is only reported by job04) -> save.

Exact resume: the data order of an epoch is drawn from (seed, epoch) (a permutation, or a weighted
draw with --sample_balance / --sample_rarity), crops from (seed, epoch, index), and the state file (``latest_state.pth``)
holds both networks, both optimisers, the schedules, the epoch, the iteration within the epoch and every
RNG state. A run stopped at any step (Ctrl-C, SIGTERM) and resumed with ``--continue_train`` ends with
the same weights, on CPU with the same seed, as a run never stopped.

Under torchrun (:mod:`util.gan.distributed`) the same loop runs in every process on its share of each global
batch; rank 0 alone logs, scores and saves (the state file then holds every process's RNG states), and a stop
request on any process stops all after the same step.
"""

from __future__ import annotations

import csv
import io
import math
import os
import random
import shutil
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

from util.errors import UserError
from util.files import (
    BEST_LABEL,
    LOSS_LOG,
    METRICS_LOG,
    STATE_FILE,
    append_csv_row,
    atomic_path,
    level_generator_file,
    net_file,
)
from util.gan import distributed, networks
from util.gan.dataset import AlignedPairDataset, label_statistics
from util.gan.distributed import World
from util.gan.losses import balanced_class_weights
from util.gan.model import Pix2PixConfig, Pix2PixModel
from util.gan.options import run_dir, save_train_options, split_dir
from util.gan.scoring import FIT_MAX_IMAGES, fit_pairs_decoding, generator_function, score_pairs
from util.labels.palette import load_palette
from util.metrics import LpipsScorer


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def epoch_order(seed: int, epoch: int, n_items: int, serial: bool, weights: np.ndarray | None = None,
                size: int = 0) -> list[int]:
    """The order in which an epoch visits the training pairs (repeatable from seed and epoch).

    With ``weights`` (one per pair), the epoch draws ``size`` pairs (0: ``n_items``) with replacement, each
    with probability proportional to its weight (--sample_balance, --sample_rarity); otherwise every pair once,
    shuffled, or with ``size`` the first ``size`` of that shuffle when fewer (--epoch_size: each epoch another
    share of a large set), several shuffles end to end when more.
    """
    size = size or n_items
    if serial:
        return [i % n_items for i in range(size)]
    rng = np.random.default_rng([seed, epoch])
    if weights is None:
        rounds = -(-size // n_items)
        return np.concatenate([rng.permutation(n_items) for _ in range(rounds)])[:size].tolist()
    return rng.choice(n_items, size=size, replace=True, p=weights / weights.sum()).tolist()


def sampling_weights(foreground: np.ndarray, power: float, presence: np.ndarray | None = None,
                     counts: np.ndarray | None = None, rarity: float = 0.0) -> np.ndarray | None:
    """Pair weights for the epoch's draw; None (uniform, each pair once) when both powers are 0.

    --sample_balance ``power``: (foreground share + 0.001) ** power, favouring pairs with much labelled area.
    --sample_rarity ``rarity``: (background pixels / pixels of the rarest class the pair shows) ** rarity,
    from ``counts`` (K + 1 pixel counts, background first) and ``presence`` (N, K + 1), favouring pairs
    that show a rare class; a pair showing no class weighs as one showing the commonest class. With both,
    the weights multiply.
    """
    weights = None if power <= 0 else (np.asarray(foreground, dtype=np.float64) + 1e-3) ** power
    if rarity > 0:
        counts = np.asarray(counts, dtype=np.float64)
        class_weight = (counts[0] / np.maximum(counts[1:], 1.0)) ** rarity
        shown = np.asarray(presence, dtype=bool)[:, 1:]
        commonest = class_weight[counts[1:] > 0].min() if (counts[1:] > 0).any() else 1.0
        pair = np.where(shown, class_weight[None, :], 0.0).max(axis=1)
        pair = np.where(shown.any(axis=1), pair, commonest)
        weights = pair if weights is None else weights * pair
    return weights


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
    """Turns the first Ctrl-C / SIGTERM into a request to stop after the current step; a second one stops at once.

    (torchrun passes a signal it gets on to each process once; it kills them if they have not ended within its
    --shutdown_timeout, 30 s by default.)
    """

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
    main_process: bool = True      # False in torchrun's processes other than rank 0, which write nothing
    selected_epoch: int | None = None  # the epoch whose generator final_weights holds (--select_epoch)
    decoding: dict | None = None       # how its colours are read, fitted on val (--fit_decoding), in its weights


def train(opt: Namespace, stop_after_step: Callable[[int], bool] | None = None) -> TrainResult:
    """Train (or resume) a pix2pix model: job03's whole run, in this process or as one of torchrun's.

    Parameters
    ----------
    opt : argparse.Namespace
        job03's options after :func:`util.gan.options.finish_options` (dataroot, level, preset sizes, losses,
        schedule, seed, ...). Pairs are read from ``<dataroot>/train_<level>_samples``; the per-epoch scores
        (metrics.csv) from ``<dataroot>/<score_split>_<level>_samples`` (val by default). Under torchrun
        ``opt.device`` becomes this process's device (``cuda:LOCAL_RANK`` on CUDA).
    stop_after_step : callable, optional
        ``stop_after_step(global_step) -> bool``; True stops the run there as Ctrl-C does (state saved,
        resumable). Used by tests and by ``bench/sweep_demo.py`` to score a run part-way.

    Returns
    -------
    TrainResult
        whether the run finished, the epoch and step it reached, the run folder and the final generator
        (``<checkpoints_dir>/<level>_net_G.pth``, None when stopped early).
    """
    world = distributed.start(opt.device)
    opt.device = world.device
    try:
        return _train(opt, world, stop_after_step)
    finally:
        distributed.stop(world)


def _train(opt: Namespace, world: World, stop_after_step: Callable[[int], bool] | None) -> TrainResult:
    run = _prepare(opt, world)
    epoch, start_iter = _start_point(opt, run)
    last_epoch = opt.n_epochs + opt.n_epochs_decay
    final = level_generator_file(opt.checkpoints_dir, opt.level)
    if distributed.broadcast_object(epoch > last_epoch and os.path.exists(final), world):  # rank 0's folder
        if world.is_main:
            print(f"{run.folder}: already trained for {last_epoch} epochs; nothing to do (--overwrite starts afresh)")
        return TrainResult(True, last_epoch, 0, run.folder, final, world.is_main, _selected_epoch(opt, run.folder),
                           networks.read_decoding(final) if world.is_main else None)
    if world.is_main:
        save_train_options(opt, run.folder)
        run.lpips = LpipsScorer(opt.lpips_weights, device="cpu")
        if not run.lpips.available:
            print(run.lpips.reason, file=sys.stderr)
    with StopRequest() as stop:
        while epoch <= last_epoch:
            stopped_at = _train_epoch(run, epoch, start_iter, lambda: distributed.any_rank(stop.requested or (
                stop_after_step is not None and stop_after_step(run.step)), world))
            if stopped_at is not None:
                _save_stopped(run, epoch, stopped_at)
                return TrainResult(False, epoch, stopped_at, run.folder, None, world.is_main)
            _end_epoch(run, epoch)
            epoch, start_iter = epoch + 1, 0
            _save_state(run, epoch, 0)
    selected = decoding = None
    if world.is_main:
        selected = _selected_epoch(opt, run.folder)
        delivered = net_file(run.folder, BEST_LABEL if selected != last_epoch else "latest")   # saved each epoch
        decoding = _fit_decoding(run, delivered)
        with atomic_path(final) as temp:   # a finished level keeps G alone, as published
            shutil.copyfile(delivered, temp)
    distributed.barrier(world)
    return TrainResult(True, last_epoch, 0, run.folder, final, world.is_main, selected, decoding)


def _fit_decoding(run: _Run, weights: str) -> dict | None:
    """--fit_decoding on: fit how the delivered generator's colours are read, on val, into its weights (and
    the run's best_net_G.pth, which job04 reads by default). Never on the test split."""
    opt = run.opt
    if not opt.fit_decoding:
        return None
    if opt.score_split != "val":
        print(f"job03: the decoding is not fitted (--score_split {opt.score_split}: it is fitted on val only)")
        return None
    net, _ = networks.load_generator(weights, opt.device)
    decoding = fit_pairs_decoding(generator_function(net.eval(), opt.device), run.score_set, run.palette)
    for path in {weights, net_file(run.folder, BEST_LABEL)}:
        if os.path.isfile(path):
            networks.add_decoding(path, decoding)
    print(f"job03: decoding fitted on {min(len(run.score_set), FIT_MAX_IMAGES)} val pairs: pixel F1 "
          f"{decoding['f1_nearest']:.3f} by the nearest colour -> {decoding['f1_fitted']:.3f} (offsets "
          f"{', '.join(f'{v:.0f}' for v in decoding['offsets'][1:])}; regions under {decoding['min_region']} px dropped)")
    return decoding


@dataclass
class _Run:
    """What one training run works with."""

    opt: Namespace
    world: World                       # this process among torchrun's (a run on its own: World())
    folder: str
    palette: object
    train_set: AlignedPairDataset
    score_set: AlignedPairDataset      # the --score_split pairs scored after every epoch
    pair_weights: np.ndarray | None
    model: Pix2PixModel
    lpips: LpipsScorer | None = None
    step: int = 0                      # steps taken by this process (not counting those before a resume)


def _prepare(opt: Namespace, world: World) -> _Run:
    """Seed, read the pairs, weigh classes and pairs, build the model (in this order: it fixes the RNG draws).

    Every process builds the same model from the same seed; then, under torchrun, each draws its dropout
    masks from its own seed (seed, rank).
    """
    seed_everything(opt.seed)
    palette = load_palette(opt.palette, opt.decode_rule)
    train_set = AlignedPairDataset(split_dir(opt, "train"), opt.input_nc, opt.preprocess, opt.crop_size, opt.seed)
    if world.distributed and len(train_set) < opt.batch_size * world.size:
        raise UserError(f"{train_set.root_dir}: {len(train_set)} training pairs, fewer than one global batch "
                        f"(--batch_size {opt.batch_size} x {world.size} processes)")
    score_set = AlignedPairDataset(_score_folder(opt), opt.input_nc)
    class_weights, pair_weights = _balance(opt, train_set, palette)
    model = Pix2PixModel(Pix2PixConfig.from_options({**vars(opt), "label_colors": palette.colors.tolist(),
                                                     "ce_class_weights": class_weights}), world=world)
    if world.distributed:
        torch.manual_seed(int(np.random.SeedSequence([opt.seed, world.rank]).generate_state(1)[0]))
    return _Run(opt, world, run_dir(opt), palette, train_set, score_set, pair_weights, model)


def _score_folder(opt: Namespace) -> str:
    """The --score_split pairs; a missing folder is one UserError saying how to make it or what else to pass."""
    split = opt.score_split
    folder = split_dir(opt, split)
    if not os.path.isdir(folder):
        raise UserError(f"{folder}: no such folder of {split} pairs for the per-epoch scores; make a val split "
                        f"with job00_synth_data.py --n_val N, or pass --score_split test")
    return folder


def _train_epoch(run: _Run, epoch: int, start_iter: int, should_stop: Callable[[], bool]) -> int | None:
    """pix2pix's inner loop over one epoch's batches from ``start_iter``; the iteration it stopped after, or None."""
    opt = run.opt
    run.train_set.set_epoch(epoch)
    order = epoch_order(opt.seed, epoch, len(run.train_set), opt.serial_batches, run.pair_weights, opt.epoch_size)
    batches = distributed.local_batches(order, opt.batch_size, run.world)
    bar = tqdm(range(start_iter, len(batches)), desc=f"epoch {epoch}/{opt.n_epochs + opt.n_epochs_decay}",
               unit="step", initial=start_iter, total=len(batches), disable=None if run.world.is_main else True)
    for iteration in bar:
        started = time.perf_counter()
        items = [run.train_set[i] for i in batches[iteration]]
        run.model.set_input(torch.stack([x["A"] for x in items]), torch.stack([x["B"] for x in items]))
        run.model.optimize_parameters()
        run.step += 1
        if (iteration + 1) % opt.print_freq == 0 or iteration + 1 == len(batches):
            _log_losses(run, epoch, iteration + 1, time.perf_counter() - started)
        if should_stop():
            return iteration + 1
    return None


def _end_epoch(run: _Run, epoch: int) -> None:
    """Learning-rate update, the epoch's scores, and the checkpoints pix2pix keeps (rank 0; the others wait)."""
    with warnings.catch_warnings():  # after a resume at an epoch's end no step has run yet: harmless
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`")
        run.model.update_learning_rate()
    _check_in_step(run)
    if run.world.is_main:
        _log_metrics(run.folder, epoch, run.model, run.score_set, run.palette, run.lpips, run.opt)
        run.model.save_networks(run.folder, "latest")
        if run.opt.select_epoch == "best" and best_epoch(run.folder, run.opt.score_split) == epoch:
            run.model.save_networks(run.folder, BEST_LABEL, ["G"])
        if run.opt.save_epoch_freq and epoch % run.opt.save_epoch_freq == 0:
            run.model.save_networks(run.folder, epoch)
    distributed.barrier(run.world)


def best_epoch(folder: str, split: str) -> int | None:
    """The epoch with the highest pixel F1 on ``split`` in a run's metrics.csv (the earliest of equals); None
    when it holds no score of that split."""
    path = os.path.join(folder, METRICS_LOG)
    if not os.path.isfile(path):
        return None
    best = None
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            f1 = float(row.get("pixel_f1") or "nan")
            if row.get("split") != split or math.isnan(f1):
                continue
            score = (f1, -int(row["epoch"]))
            best = score if best is None or score > best else best
    return None if best is None else -best[1]


def _selected_epoch(opt: Namespace, folder: str) -> int:
    """The epoch whose generator a finished run delivers: the last, or with --select_epoch best the one
    scored best on --score_split (whose copy is <run>/best_net_G.pth)."""
    last_epoch = opt.n_epochs + opt.n_epochs_decay
    if opt.select_epoch != "best":
        return last_epoch
    best = best_epoch(folder, opt.score_split)
    if best is None or not os.path.isfile(net_file(folder, BEST_LABEL)):
        return last_epoch
    return best


def _check_in_step(run: _Run) -> None:
    """Under torchrun, every process must hold the same weights; if not, that is a bug, not the user's mistake."""
    if not distributed.same_weights([run.model.netG, run.model.netD], run.world):
        raise RuntimeError("torchrun's processes no longer hold the same weights (please report this)")


def _balance(opt: Namespace, train_set: AlignedPairDataset, palette) -> tuple[list[float], np.ndarray | None]:
    """Class weights for the colour cross-entropy and pair weights for sampling, from the training labels."""
    want_classes = opt.lambda_CE > 0 and opt.ce_class_balance > 0
    if not (want_classes or opt.sample_balance > 0 or opt.sample_rarity > 0):
        return [], None
    counts, foreground, presence = label_statistics(train_set, palette.colors)
    class_weights = balanced_class_weights(counts, opt.ce_class_balance) if want_classes else []
    return class_weights, sampling_weights(foreground, opt.sample_balance, presence, counts, opt.sample_rarity)


def _start_point(opt: Namespace, run: _Run) -> tuple[int, int]:
    """(epoch, iteration) to start from, the model and RNG states loaded when resuming.

    Rank 0 alone reads the run folder and decides; under torchrun it sends the others its decision (or the
    UserError) and the state file's bytes, from which each takes the weights and its own RNG states.
    """
    world = run.world
    if not world.distributed:
        return _read_start_point(opt, run.model, run.folder, world)[:2]
    decision = None
    if world.is_main:
        try:
            decision = _read_start_point(opt, run.model, run.folder, world)
        except UserError as error:
            decision = error
    decision = distributed.broadcast_object(decision, world)
    if isinstance(decision, UserError):
        raise decision
    epoch, iteration, state_bytes = decision
    if state_bytes is not None and not world.is_main:
        state = torch.load(io.BytesIO(state_bytes), map_location=world.device, weights_only=True)
        run.model.load_state_dict(state)
        set_rng_states(state["progress"]["rng_ranks"][world.rank])
    return epoch, iteration


def _read_start_point(opt: Namespace, model: Pix2PixModel, folder: str,
                      world: World) -> tuple[int, int, bytes | None]:
    """Rank 0's part of :func:`_start_point`: (epoch, iteration, the state file's bytes when resuming
    under torchrun, else None)."""
    state_path = os.path.join(folder, STATE_FILE)
    if opt.continue_train:
        if not os.path.exists(state_path):
            raise UserError(f"{state_path}: nothing to resume (train without --continue_train first)")
        model.load_state(state_path)
        extra = torch.load(state_path, map_location="cpu", weights_only=True)["progress"]
        if extra.get("world_size", 1) != world.size:
            raise UserError(f"{state_path}: saved by a run of {extra.get('world_size', 1)} process(es); resume it "
                            f"with as many (torchrun --nproc_per_node / --nnodes, or no torchrun for one)")
        set_rng_states(extra["rng"])
        print(f"resuming {folder} at epoch {extra['epoch']}, step {extra['iteration']}")
        return extra["epoch"], extra["iteration"], _read_bytes(state_path) if world.distributed else None
    if os.path.exists(state_path) and not opt.overwrite:
        extra = torch.load(state_path, map_location="cpu", weights_only=True)["progress"]
        if extra["epoch"] > opt.n_epochs + opt.n_epochs_decay:
            return extra["epoch"], 0, None  # finished: the caller skips it
        raise UserError(f"{folder}: an unfinished run of this name exists; resume it with --continue_train, "
                        f"start afresh with --overwrite, or choose another --name")
    if opt.overwrite:
        for name in (STATE_FILE, LOSS_LOG, METRICS_LOG):
            if os.path.exists(os.path.join(folder, name)):
                os.remove(os.path.join(folder, name))
    return opt.epoch_count, 0, None


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _save_state(run: _Run, epoch: int, iteration: int) -> None:
    """The resumable state (rank 0 writes it; under torchrun it holds every process's RNG states)."""
    rng = rng_states()
    every_rank = distributed.gather_objects(rng, run.world)
    if not run.world.is_main:
        return
    state = run.model.state_dict()
    state["progress"] = {"epoch": epoch, "iteration": iteration, "rng": rng}
    if every_rank is not None:
        state["progress"].update(world_size=run.world.size, rng_ranks=every_rank)
    with atomic_path(os.path.join(run.folder, STATE_FILE)) as temp:
        torch.save(state, temp)


def _save_stopped(run: _Run, epoch: int, iteration: int) -> None:
    """After a stop request: the state and the latest networks, and how to resume (the others wait)."""
    _save_state(run, epoch, iteration)
    if run.world.is_main:
        run.model.save_networks(run.folder, "latest")
        _print_resume(run.opt, epoch, iteration, run.world)
    distributed.barrier(run.world)


def _print_resume(opt: Namespace, epoch: int, iteration: int, world: World) -> None:
    launcher = "torchrun <the same torchrun flags>" if world.distributed else "python"
    print(f"stopped at epoch {epoch}, step {iteration}; state saved in {run_dir(opt)}.\n"
          f"resume with: {launcher} job03_train.py --dataroot {opt.dataroot} --level {opt.level} --name {opt.name} "
          f"--checkpoints_dir {opt.checkpoints_dir} --preset {opt.preset} --score_split {opt.score_split} "
          f"--continue_train", file=sys.stderr)


def _log_losses(run: _Run, epoch: int, iteration: int, seconds: float) -> None:
    """One loss_log.csv row; under torchrun the losses are the mean over processes (the global batch's)."""
    losses = distributed.mean_values(run.model.get_current_losses(), run.world)
    if not run.world.is_main:
        return
    row = {"epoch": epoch, "iteration": iteration, **losses,
           "lr": run.model.get_learning_rate(), "seconds_per_step": round(seconds, 4)}
    append_csv_row(os.path.join(run.folder, LOSS_LOG), row)


def _log_metrics(folder: str, epoch: int, model: Pix2PixModel, score_set, palette, lpips, opt: Namespace) -> dict:
    """One metrics.csv row: epoch, split, n_pairs, ssim, lpips, pixel_f1 with its 95 % interval over clips
    (pixel_f1_lo, pixel_f1_hi), f1_<slug> per class."""
    model.eval()
    scores = score_pairs(model.generate, score_set, palette, lpips, batch_size=max(opt.batch_size, 4),
                         max_images=opt.max_test_images)
    model.train()
    summary = scores.summary()
    split = opt.score_split
    row = {"epoch": epoch, "split": split, "n_pairs": summary["n_images"], "ssim": summary["ssim"],
           "lpips": summary["lpips"], "pixel_f1": summary["pixel_f1"], "pixel_f1_lo": summary["pixel_f1_lo"],
           "pixel_f1_hi": summary["pixel_f1_hi"], **{f"f1_{slug}": summary[f"f1_{slug}"] for slug in palette.slugs}}
    append_csv_row(os.path.join(folder, METRICS_LOG), row)
    tqdm.write(f"epoch {epoch}: pixel F1 {summary['pixel_f1']:.3f} (95 % {summary['pixel_f1_lo']:.3f}-"
               f"{summary['pixel_f1_hi']:.3f}), SSIM {summary['ssim']:.3f}, LPIPS {summary['lpips']:.3f} on "
               f"{summary['n_images']} {split} pairs of {summary['n_clips']} clips")
    return summary
