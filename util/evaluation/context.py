"""The state the tables share (:class:`Evaluation`): tiles, generators and generated maps, each made on first use.

A table's compute function takes an :class:`Evaluation` and reads what it needs from it, so the
generators run, and the pairs are read, only if some table asks for them, and only once.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from util.evaluation.data import Tile, load_tiles, pairs_folder, valid_maps
from util.evaluation.generator import (
    LoadedGenerator,
    generate_class_maps,
    load_eval_generator,
)
from util.evaluation.options import EvaluationOptions
from util.files import LEVELS, level_generator_file
from util.labels.palette import load_palette
from util.metrics import LpipsScorer


class Evaluation:
    """The state job06 shares between tables, each piece computed on first use.

    ``notes`` collects one-line remarks for job06 to print; ``counts`` holds, per table key, the counts
    its computation measured (tiles per class, training clips, thresholds), for its about sheet.
    """

    def __init__(self, opt: EvaluationOptions):
        self.opt = opt
        self.palettes = {level: load_palette(level, opt.decode_rule) for level in LEVELS}
        self._cache: dict = {}
        self.notes: list[str] = []
        self.counts: dict[str, dict] = {}

    def _cached(self, key, make: Callable):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def test_tiles(self) -> list[Tile]:
        return self._cached("test_tiles", lambda: load_tiles(self.opt.root, "test", self.palettes,
                                                             max_tiles=self.opt.max_test_tiles))

    @property
    def train_tiles(self) -> list[Tile]:
        return self._cached("train_tiles", lambda: load_tiles(self.opt.root, "train", self.palettes, ("species",),
                                                              max_tiles=self.opt.max_train_tiles))

    @property
    def choice_split(self) -> str:
        """Where thresholds are chosen: 'val' when the data set has one, else 'train' (with a note saying so)."""
        def find() -> str:
            if os.path.isdir(pairs_folder(self.opt.root, "val", "species")):
                return "val"
            self.notes.append(f"no val split in {os.path.join(self.opt.root, 'input_img')} (make one with "
                              f"job00_synth_data.py --n_val N): thresholds are chosen on the training split")
            return "train"
        return self._cached("choice_split", find)

    @property
    def choice_tiles(self) -> list[Tile]:
        """The tiles of :attr:`choice_split` (val, or train when there is no val)."""
        return self.tiles(self.choice_split)

    def tiles(self, split: str) -> list[Tile]:
        """The tiles of 'test' (both levels' truth) or of 'train' / 'val' (species-level truth only)."""
        if split == "test":
            return self.test_tiles
        if split == "train":
            return self.train_tiles
        return self._cached(("tiles", split), lambda: load_tiles(self.opt.root, split, self.palettes, ("species",)))

    def generator(self, level: str, checkpoints_dir: str | None = None) -> LoadedGenerator:
        """The generator of ``level``: the evaluated one, or the one in another ``checkpoints_dir`` (data08)."""
        if checkpoints_dir:
            path, run = level_generator_file(checkpoints_dir, level), self.opt.run_folder(level, checkpoints_dir)
        else:   # a file given by name has no known run, hence no training options
            path = self.opt.weights(level)
            run = None if self.opt.given_weights(level) else self.opt.run_folder(level)
        return self._cached(("generator", level, checkpoints_dir),
                            lambda: load_eval_generator(path, run, self.opt.device))

    @property
    def lpips(self) -> LpipsScorer:
        """LPIPS (AlexNet) for generated label images; without weights its scores are NaN (and a note says so)."""
        def make() -> LpipsScorer:
            scorer = LpipsScorer(self.opt.lpips_weights, self.opt.device)
            if not scorer.available:
                self.notes.append(scorer.reason)
            return scorer
        return self._cached("lpips", make)

    def gan_maps(self, level: str, split: str = "test") -> list[np.ndarray]:
        """The generated class map of every tile of ``split`` ('test', 'val' or 'train'; full width)."""
        def make():
            tiles = self.tiles(split)
            return generate_class_maps(self.generator(level), [t.spec_pixels for t in tiles], self.palettes[level],
                                       self.opt.device, self.opt.batch_size, f"{level} GAN on {split} tiles",
                                       self.opt.progress)
        return self._cached(("gan_maps", level, split), make)

    def valid_gan_maps(self, level: str) -> list[np.ndarray]:
        return valid_maps(self.gan_maps(level), self.test_tiles)

    def valid_true_maps(self, level: str) -> list[np.ndarray]:
        return [t.true_maps[level][:, :t.n_valid] for t in self.test_tiles]
