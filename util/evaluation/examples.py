"""The example panels (fig08, fig09): a few test tiles per level, mixture | truth | GAN | isolated source."""

from __future__ import annotations

import numpy as np

from util.evaluation.context import Evaluation
from util.evaluation.data import Tile, class_labels
from util.evaluation.generator import translate


def example_indices(tiles: list[Tile], level: str, n: int) -> list[int]:
    """The ``n`` test tiles with the most classes present (then the most labelled pixels, then by name)."""
    def key(i):
        true_map = tiles[i].true_maps[level]
        return (-len(np.unique(true_map[true_map > 0])), -int((true_map > 0).sum()), tiles[i].stem)
    return sorted(range(len(tiles)), key=key)[:n]


def example_panels(ev: Evaluation, level: str, n: int):
    """:class:`util.evaluation.figures.ExamplePanel` of the example tiles: the isolated source is the tile's
    largest true class."""
    from util.evaluation.figures import ExamplePanel

    tiles = ev.test_tiles
    chosen = example_indices(tiles, level, n)
    palette = ev.palettes[level]
    generator = ev.generator(level)
    rgbs = list(translate(generator, [tiles[i].spec_pixels for i in chosen], ev.opt.device,
                          ev.opt.batch_size, progress=False))
    panels = []
    for i, gan_rgb in zip(chosen, rgbs):
        tile, params = tiles[i], tiles[i].params
        true_map = tile.true_maps[level]
        areas = np.bincount(true_map.ravel(), minlength=len(palette) + 1)[1:]
        k = int(np.argmax(areas)) + 1
        gan_map = generator.palette(palette).classify(gan_rgb)
        present = [palette.names[j] for j in range(len(palette)) if areas[j]]
        panels.append(ExamplePanel(
            title=f"{tile.stem}: {', '.join(present) or 'no source'}", mixture=tile.spec_pixels,
            truth_rgb=palette.encode(true_map), gan_rgb=gan_rgb,
            isolated=np.where(gan_map == k, tile.spec_pixels, 0).astype(np.uint8),
            isolated_label=class_labels(palette, level)[k - 1],
            start_s=float(tile.meta.get("start_s", 0.0)), duration_s=params.tile_frames * params.hop_length / params.sr,
            max_freq_hz=params.n_rows * params.sr / params.n_fft))
    return panels


def draw_examples(ev: Evaluation, level: str, path: str) -> str:
    """Draw ``opt.n_examples`` example panels of ``level`` into ``path``; returns ``path``."""
    from util.evaluation.figures import plot_examples

    return plot_examples(example_panels(ev, level, ev.opt.n_examples), path,
                         f"{level}-level examples (test split): mixture | truth | GAN | isolated")
