"""The ``about`` sheets' common parts: the data, the models, the software, and settings read from the code.

Every value here is measured (tile and clip counts), read from a file (job00's record, a run's
train_opt.json, a generator's architecture) or taken from the code that ran (a function's own
defaults, a settings object), so an about sheet cannot drift from what produced its table.
"""

from __future__ import annotations

import inspect
import os
import platform
from datetime import datetime, timezone
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from util import __version__
from util.errors import UserError
from util.evaluation.context import Evaluation
from util.evaluation.data import pairs_folder
from util.files import LEVELS
from util.gan.options import load_train_options
from util.synth import read_dataset_record

# where the baselines' settings that were chosen by measurement (spectral gating, NMF) come from
BASELINE_CHOICE_SCRIPT = "bench/choose_baselines.py"
RUN_OPTION_KEYS = ("preset", "netG", "ngf", "n_epochs", "n_epochs_decay", "batch_size", "seed", "dataroot",
                   "score_split", "max_test_images")
MODEL_OPTION_KEYS = ("preset", "netG", "ngf", "ndf", "norm", "n_epochs", "n_epochs_decay", "batch_size", "seed",
                     "dataroot", "lambda_L1", "lr")
MASK_RULES = {
    "fitted": "a generated pixel belongs to the nearest palette colour, black (background) included, after the "
              "per-class offsets job03 fitted on val (architecture: decoding.offsets), and regions of a class "
              "smaller than decoding.min_region pixels are background; weights without a fit: the nearest colour",
    "nearest": "a generated pixel belongs to the nearest palette colour, black (background) included",
    "confident": "a generated pixel belongs to palette colour k only within half the distance from k to its "
                 "nearest other colour (black included); anything else is background"}


def mask_rule(decode_rule: str) -> str:
    """How generated labels were read, for the about sheets (--decode_rule)."""
    return (f"{MASK_RULES[decode_rule]} (--decode_rule {decode_rule}, Palette.classify); generator in eval "
            f"mode (batch-norm running statistics, no dropout)")


def default_settings(function: Callable, names: Sequence[str]) -> dict:
    """The defaults of ``function``'s keyword arguments ``names``: the settings a call without them uses."""
    parameters = inspect.signature(function).parameters
    return {name: parameters[name].default for name in names}


def software_versions() -> dict:
    """util's version and those of the libraries the figures depend on."""
    import sklearn
    import torchvision
    return {"util": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "numpy": np.__version__, "pandas": pd.__version__,
            "scikit-learn": sklearn.__version__}


def common_about(ev: Evaluation) -> dict:
    """The last items of every about sheet: software versions, when, and the command."""
    return {"software": software_versions(), "made": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": ev.opt.command}


def run_options(folder: str) -> dict | str:
    """The main training options of the run in ``folder``, or why there are none."""
    try:
        options = load_train_options(folder)
    except UserError as exc:
        return str(exc)
    return {k: options.get(k) for k in RUN_OPTION_KEYS}


def data_description(ev: Evaluation) -> dict:
    """Which data: job00's synthetic set, its root and seed, the test split's size, the spectrogram settings."""
    opt = ev.opt
    root = os.path.abspath(opt.root)
    tiles = ev.test_tiles
    n_clips = len({t.source for t in tiles})
    record = read_dataset_record(opt.root) or {}
    seed = opt.data_seed if opt.data_seed is not None else \
        record.get("seed", "unknown (no input_wav/dataset.json from job00; pass --data_seed)")
    return {"data": "synthetic soundscapes made by job00_synth_data.py: models of the eight species' calls, "
                    "insects and human sounds over field-like noise, with exact truth (not the paper's "
                    "recordings; compare methods on the same data, not absolute values with the paper)",
            "data root": root, "data seed": seed,
            "test split": f"{len(tiles)} tiles of {n_clips} clips in {pairs_folder(root, 'test', 'species')}"
                          + (f" (first {opt.max_test_tiles} only, --max_test_tiles)" if opt.max_test_tiles else ""),
            "spectrogram": {k: tiles[0].meta.get(k) for k in ("sr", "n_fft", "hop_length", "window",
                                                              "db_floor", "db_ceil", "tile_frames")}}


def model_description(ev: Evaluation, levels: Sequence[str] = LEVELS) -> dict:
    """Which generators: file, architecture and training options per level, and how their output is read."""
    items = {}
    for level in levels:
        g = ev.generator(level)
        options = {k: g.train_options.get(k) for k in MODEL_OPTION_KEYS} if g.train_options else \
            "unknown (weights given by name, or no train_opt.json in the run folder)"
        items[f"{level} model"] = {"path": os.path.abspath(g.path), "architecture": g.config,
                                   "training options": options}
    items["mask rule"] = mask_rule(ev.opt.decode_rule)
    return items


def tile_table_about(ev: Evaluation, key: str, what: dict, levels: Sequence[str], settings: dict) -> dict:
    """The about sheet of a table made on the test split.

    ``what``: its 'table' and 'metric domain' items; ``levels``: the generators it uses; ``settings``: its
    own definitions and methods. The counts its computation measured (``ev.counts[key]``) come last.
    """
    items = {**what, **data_description(ev), **model_description(ev, levels), **settings}
    if key in ev.counts:
        items["counts"] = ev.counts[key]
    return {**items, **common_about(ev)}
