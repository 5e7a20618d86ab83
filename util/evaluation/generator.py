"""The trained generators as the evaluation runs them: loaded in eval mode, fed grey tiles in batches.

The generated RGB image of a tile is read as a class map by the nearest palette colour
(:meth:`util.labels.palette.Palette.classify`), black (background) included, after the per-class offsets and
speckle size job03 fitted on val when the weights carry them (the 'fitted' decode rule).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from util.errors import UserError
from util.gan.images import to_tensor, to_uint8_rgb
from util.gan.options import load_train_options
from util.labels.palette import Palette


@dataclass
class LoadedGenerator:
    """A generator in eval mode, with the file and the architecture it was read from."""

    net: torch.nn.Module
    config: dict
    path: str
    train_options: dict | None      # its run's train_opt.json; None when the run is unknown or has none

    def palette(self, palette: Palette) -> Palette:
        """``palette`` reading this generator's colours: with the decoding job03 fitted on val, when its weights
        carry one and the palette's rule is 'fitted' (:meth:`util.labels.palette.Palette.fitted`)."""
        return palette.fitted(self.config.get("decoding"))


def load_eval_generator(path: str, run_folder: str | None, device: str) -> LoadedGenerator:
    """Load a generator (:func:`util.gan.networks.load_generator`) in eval mode; its run's train_opt.json if any."""
    from util.gan.networks import load_generator

    if not os.path.exists(path):
        raise UserError(f"{path}: no such generator; train one with job03_train.py, or name the file with "
                        f"--species_weights / --community_weights")
    net, config = load_generator(path, device)
    net.eval()
    options = None
    if run_folder:
        try:
            options = load_train_options(run_folder)
        except UserError:
            pass    # a generator without its run's options is still evaluated; the about sheet says so
    return LoadedGenerator(net, config, path, options)


def translate(generator: LoadedGenerator, spec_pixels: list[np.ndarray], device: str, batch_size: int = 8,
              desc: str = "generating", progress: bool = True):
    """Yield the generated RGB image (uint8 (H, W, 3)) of each grey tile, in order.

    A tile goes in as pix2pix feeds it, ``x / 127.5 - 1`` (grey repeated to 3 channels when the
    generator takes 3); the output is rounded to uint8 by :func:`util.gan.images.to_uint8_rgb`.
    """
    input_nc = generator.config["input_nc"]
    bar = tqdm(total=len(spec_pixels), desc=desc, unit="tile", disable=not progress or None, leave=False)
    for start in range(0, len(spec_pixels), batch_size):
        batch = torch.stack([to_tensor(p) for p in spec_pixels[start:start + batch_size]])
        if input_nc == 3:
            batch = batch.expand(-1, 3, -1, -1)
        with torch.inference_mode():
            fakes = generator.net(batch.to(device)).float().cpu()
        for fake in fakes:
            yield to_uint8_rgb(fake)
        bar.update(len(fakes))
    bar.close()


def generate_class_maps(generator: LoadedGenerator, spec_pixels: list[np.ndarray], palette: Palette, device: str,
                        batch_size: int = 8, desc: str = "generating", progress: bool = True) -> list[np.ndarray]:
    """Generated class map (uint8) of each grey tile, read as :meth:`LoadedGenerator.palette` says."""
    reader = generator.palette(palette)
    return [reader.classify(rgb) for rgb in translate(generator, spec_pixels, device, batch_size, desc, progress)]
