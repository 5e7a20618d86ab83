"""Which training settings make a small generator learn within a fixed number of steps.

Trains one variant (any job03 flag, on top of ``--preset demo``) for ``--steps`` steps on a job00 pair set
and prints, every ``--eval_every`` steps, one JSON line: the test split's pixel F1 (mean and per class),
SSIM and the last losses. The learning rate stays constant for the first half and decays linearly to
zero over the second, as the demo's epochs do. Pairs are drawn one step at a time with probability
(labelled share + 0.001) ** --sample_balance; the colour cross-entropy's class weights are
(background / class pixels) ** --ce_class_balance, capped at 100, as job03 does.
How the demo preset was chosen (README, "Choosing the demo preset"):

    .venv/bin/python job00_synth_data.py --out /tmp/d0 --n_train 160 --n_test 40 --seed 0
    .venv/bin/python bench/sweep_demo.py --root /tmp/d0/input_img --level species --steps 3000
    .venv/bin/python bench/sweep_demo.py --root /tmp/d0/input_img --level species --steps 3000 \\
        --lambda_CE 0 --ce_class_balance 0 --sample_balance 0        # pix2pix as published

Add ``--gpu_ids 0`` to run on a GPU (several variants side by side fit one card).
A benchmark, not a test: it never fails on a score.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from util.gan.dataset import AlignedPairDataset  # noqa: E402
from util.gan.model import Pix2PixConfig, Pix2PixModel  # noqa: E402
from util.gan.options import finish_options, train_parser  # noqa: E402
from util.labels.palette import load_palette  # noqa: E402
from util.gan.scoring import score_pairs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="input_img", help="folder with {train,test}_<level>_samples")
    parser.add_argument("--level", default="community", choices=("species", "community"))
    parser.add_argument("--steps", type=int, default=3000, help="training steps (batch --batch_size)")
    parser.add_argument("--eval_every", type=int, default=500, help="score the test split every N steps")
    parser.add_argument("--tag", default="variant", help="name printed in every line")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads")
    parser.add_argument("--no_gan", action="store_true", help="train G on its L1 (and CE) losses alone")
    args, job03_flags = parser.parse_known_args()
    torch.set_num_threads(args.threads)
    opt = finish_options(train_parser("sweep").parse_args(
        ["--dataroot", args.root, "--level", args.level, "--preset", "demo"] + job03_flags))
    torch.manual_seed(0)
    train = AlignedPairDataset(f"{args.root}/train_{args.level}_samples", 1)
    test = AlignedPairDataset(f"{args.root}/test_{args.level}_samples", 1)
    palette = load_palette(opt.palette)
    items = [train[i] for i in range(len(train))]
    A = torch.stack([x["A"] for x in items])
    B = torch.stack([x["B"] for x in items])
    labelled = (B.max(1).values > -0.7).float().mean((1, 2)).numpy()
    pair_weights = (labelled + 1e-3) ** opt.sample_balance if opt.sample_balance else np.ones(len(items))
    pair_weights = pair_weights / pair_weights.sum()
    colors = torch.tensor(palette.colors, dtype=torch.float32) / 127.5 - 1
    classes = ((B[:, None] - colors[None, :, :, None, None]) ** 2).sum(2).argmin(1)
    counts = torch.bincount(classes.flatten(), minlength=len(colors)).double().clamp(min=1)
    class_weights = ((counts[0] / counts) ** opt.ce_class_balance).clamp(max=100.0).tolist()
    model = Pix2PixModel(Pix2PixConfig.from_options({**vars(opt), "label_colors": palette.colors.tolist(),
                                                     "ce_class_weights": class_weights}))
    if args.no_gan:
        gan_loss = model.criterionGAN
        model.criterionGAN = lambda prediction, real: 0.0 * gan_loss(prediction, real)
    rng = np.random.default_rng(0)
    started = time.time()
    for step in range(1, args.steps + 1):
        done = step / args.steps
        lr = opt.lr * (1.0 if done < 0.5 else max(0.0, (1 - done) / 0.5 + 1e-3))
        for optimizer in model.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = lr
        batch = rng.choice(len(items), size=opt.batch_size, p=pair_weights)
        model.set_input(A[batch], B[batch])
        model.optimize_parameters()
        if step % args.eval_every == 0 or step == args.steps:
            model.eval()
            summary = score_pairs(model.generate, test, palette, None, batch_size=8, progress=False).summary()
            model.train()
            print(json.dumps({"tag": args.tag, "level": args.level, "step": step,
                              "sec": round(time.time() - started), "f1": round(summary["pixel_f1"], 3),
                              "ssim": round(summary["ssim"], 3),
                              **{k: round(v, 3) for k, v in summary.items() if k.startswith("f1_")},
                              **{k: round(v, 3) for k, v in model.get_current_losses().items()}}), flush=True)


if __name__ == "__main__":
    main()
