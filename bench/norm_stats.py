"""How a batch-norm generator trained at batch 1 should be read: val pixel F1 under three normalisations.

For every ``<epoch>_net_G.pth`` of a job03 run trained with ``--norm batch`` (pix2pix's batch norm), prints one
JSON line: val pixel F1 (nearest palette colour, mean over classes, and per class) when the generator is read

- ``running``: with batch norm's running statistics (``eval()``, what a batch-norm generator does in job04);
- ``per_tile``: with each tile's own statistics (batch norm's scale and shift kept): what it saw in training at
  batch 1, and what ``--norm tile`` (util/gan/norms.py) does in training and at inference;
- ``recomputed``: with running statistics recomputed over ``--n_recompute`` training tiles in batches of 16
  (a cumulative average, not the momentum's last few tiles).

    .venv/bin/python job00_synth_data.py --out /tmp/w --n_train 640 --n_val 80 --n_test 0 --seed 0
    .venv/bin/python job03_train.py --dataroot /tmp/w/input_img --checkpoints_dir /tmp/w/bn --level community \\
        --preset demo --norm batch
    .venv/bin/python bench/norm_stats.py --root /tmp/w/input_img --level community --run /tmp/w/bn/community

A benchmark, not a test: it never fails on a score.
"""

from __future__ import annotations

import argparse
import copy
import glob
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from probe_recipe import classes, load, val_f1  # noqa: E402

from util.files import split_folder  # noqa: E402
from util.gan.images import to_signed  # noqa: E402
from util.gan.networks import load_generator  # noqa: E402
from util.gan.norms import TileNorm  # noqa: E402
from util.labels.palette import load_palette  # noqa: E402


def per_tile(net: nn.Module) -> nn.Module:
    """``net`` with every batch norm replaced by tile norm holding the same scale and shift (in place)."""
    for name, child in net.named_children():
        if isinstance(child, nn.BatchNorm2d):
            tile = TileNorm(child.num_features, eps=child.eps)
            tile.load_state_dict({"weight": child.weight, "bias": child.bias})
            setattr(net, name, tile)
        else:
            per_tile(child)
    return net


def recomputed(net: nn.Module, tiles: torch.Tensor, batch: int = 16) -> nn.Module:
    """``net`` with batch norm's running statistics recomputed over ``tiles`` (a cumulative average)."""
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    net.train()
    with torch.no_grad():
        for start in range(0, len(tiles), batch):
            net(tiles[start:start + batch])
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="job00's input_img folder (train and val pairs)")
    parser.add_argument("--level", default="species")
    parser.add_argument("--run", required=True, help="a job03 run folder trained with --norm batch")
    parser.add_argument("--n_recompute", type=int, default=256, help="training tiles for the recomputed statistics")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    palette = load_palette(args.level)
    colors = to_signed(torch.as_tensor(palette.colors, dtype=torch.float32))
    val_A, val_B = load(split_folder(args.root, "val", args.level))
    val_true = classes(val_B, colors)
    train_A, _ = load(split_folder(args.root, "train", args.level), args.n_recompute)
    paths = sorted(glob.glob(os.path.join(args.run, "[0-9]*_net_G.pth")),
                   key=lambda p: int(os.path.basename(p).split("_")[0]))
    for path in paths:
        net, config = load_generator(path)
        if config["norm"] != "batch":
            raise SystemExit(f"{path}: norm {config['norm']!r}, not batch norm: nothing to compare")
        line = {"file": os.path.basename(path)}
        for mode, variant in (("running", copy.deepcopy(net)), ("per_tile", per_tile(copy.deepcopy(net))),
                              ("recomputed", recomputed(copy.deepcopy(net), train_A))):
            f1, per_class = val_f1(variant, val_A, val_true, colors)
            line[mode], line[f"{mode}_per_class"] = round(f1, 3), per_class
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
