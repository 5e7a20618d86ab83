"""A short probe of training levers: pixel F1 on val after a fixed number of training images.

Cheaper than a full ``bench/sweep_demo.py`` run, for a first look at many levers: the pairs are held in
memory, training draws pairs with job03's balanced weights (:func:`util.gan.train.sampling_weights`) from one
random stream, the learning rate stays constant (no decay), and val pixel F1 (nearest palette colour, mean
over classes, as job03 scores it, without intervals) is printed every ``--every`` images with the seconds of
training so far. Steps are job03's model (:class:`util.gan.model.Pix2PixModel`); ``--cfg`` sets any of its
fields. What a probe suggests is then checked with job03 itself (``bench/sweep_demo.py``, ``make demo``).

    .venv/bin/python job00_synth_data.py --out /tmp/d0 --n_train 160 --n_val 40 --n_test 0 --seed 0
    .venv/bin/python bench/probe_recipe.py --root /tmp/d0/input_img --tag pix2pix_ce \\
        --cfg "lambda_GAN=1.0,lr=2e-4,beta1=0.5,no_dropout=False"
    .venv/bin/python bench/probe_recipe.py --root /tmp/d0/input_img --tag recipe \\
        --cfg "lambda_GAN=0.0,lr=1e-3,beta1=0.9,no_dropout=True"

A benchmark, not a test: one seed per line, so differences of a few points are within the noise.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from util.files import split_folder  # noqa: E402
from util.gan.averaging import WeightAverage  # noqa: E402
from util.gan.dataset import AlignedPairDataset, label_statistics  # noqa: E402
from util.gan.images import to_signed  # noqa: E402
from util.gan.losses import balanced_class_weights, nearest_colour_index  # noqa: E402
from util.gan.model import Pix2PixConfig, Pix2PixModel  # noqa: E402
from util.gan.train import sampling_weights  # noqa: E402
from util.labels.palette import load_palette  # noqa: E402


def pair_set(folder: str, limit: int = 0) -> AlignedPairDataset:
    """The pairs of ``folder``, the first ``limit`` only when limit > 0."""
    pairs = AlignedPairDataset(folder)
    if limit > 0:
        pairs.paths = pairs.paths[:limit]
    return pairs


def load(folder: str, limit: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    pairs = pair_set(folder, limit)
    items = [pairs[i] for i in range(len(pairs))]
    return torch.stack([x["A"] for x in items]), torch.stack([x["B"] for x in items])


def classes(images: torch.Tensor, colors: torch.Tensor) -> torch.Tensor:
    return torch.cat([nearest_colour_index(images[i:i + 16], colors) for i in range(0, len(images), 16)])


def mean_f1(pred: torch.Tensor, true: torch.Tensor, n_colors: int) -> tuple[float, list[float]]:
    per_class = []
    for k in range(1, n_colors):
        tp = int(((pred == k) & (true == k)).sum())
        wrong = int(((pred == k) != (true == k)).sum())
        per_class.append(2 * tp / (2 * tp + wrong) if tp + wrong else 0.0)
    return float(np.mean(per_class)), [round(f, 2) for f in per_class]


def val_f1(net: torch.nn.Module, val_A: torch.Tensor, val_true: torch.Tensor, colors: torch.Tensor):
    """Val pixel F1 (mean over classes) and per class, ``net`` in eval mode for the scoring."""
    was_training = net.training
    net.eval()
    with torch.inference_mode():
        pred = classes(torch.cat([net(val_A[i:i + 8]) for i in range(0, len(val_A), 8)]), colors)
    net.train(was_training)
    return mean_f1(pred, val_true, len(colors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="job00's input_img folder (train and val pairs)")
    parser.add_argument("--level", default="species")
    parser.add_argument("--tag", default="probe")
    parser.add_argument("--images", type=int, default=2400, help="training images in all")
    parser.add_argument("--n_train", type=int, default=0, help="train on the first N pairs only (0: all)")
    parser.add_argument("--every", type=int, default=800, help="score val every this many images")
    parser.add_argument("--batch_size", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 lets two probes share 2 cores)")
    parser.add_argument("--ce_class_balance", type=float, default=0.5)
    parser.add_argument("--sample_balance", type=float, default=0.5)
    parser.add_argument("--sample_rarity", type=float, default=0.0)
    parser.add_argument("--ema", type=float, default=0.0,
                        help="also score an exponential average of G's weights with this decay (0: off)")
    parser.add_argument("--cfg", default="", help="Pix2PixConfig fields, e.g. 'lambda_GAN=0.0,lr=1e-3'")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    palette = load_palette(args.level)
    train_A, train_B = load(split_folder(args.root, "train", args.level), args.n_train)
    val_A, val_B = load(split_folder(args.root, "val", args.level))
    colors = to_signed(torch.as_tensor(palette.colors, dtype=torch.float32))
    counts, foreground, presence = label_statistics(pair_set(split_folder(args.root, "train", args.level), args.n_train),
                                                    palette.colors)
    fields = dict(input_nc=1, output_nc=3, ngf=16, ndf=16, lambda_CE=30.0, label_colors=palette.colors.tolist(),
                  ce_class_weights=balanced_class_weights(counts, args.ce_class_balance)
                  if args.ce_class_balance > 0 else [])
    fields.update({k.strip(): ast.literal_eval(v) for k, v in
                   (item.split("=", 1) for item in args.cfg.split(",") if item.strip())})
    model = Pix2PixModel(Pix2PixConfig(**fields))
    weights = sampling_weights(foreground, args.sample_balance, presence, counts, args.sample_rarity)
    p = None if weights is None else weights / weights.sum()
    rng, val_true = np.random.default_rng(0), classes(val_B, colors)
    average = WeightAverage(model.netG, args.ema, warmup=False) if args.ema > 0 else None   # as the README's probes
    seen, trained = 0, 0.0
    while seen < args.images:
        started = time.perf_counter()
        index = rng.choice(len(train_A), size=args.batch_size, replace=True, p=p)
        model.set_input(train_A[index], train_B[index])
        model.optimize_parameters()
        if average is not None:
            average.update(model.netG)
        trained += time.perf_counter() - started
        seen += args.batch_size
        if seen % args.every < args.batch_size:
            f1, per_class = val_f1(model.netG, val_A, val_true, colors)
            line = {"tag": args.tag, "level": args.level, "images": seen, "train_sec": round(trained),
                    "val_pixel_f1": round(f1, 3), "per_class": per_class}
            if average is not None:
                ema_f1, ema_per_class = val_f1(average.module, val_A, val_true, colors)
                line.update(ema_val_pixel_f1=round(ema_f1, 3), ema_per_class=ema_per_class)
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
