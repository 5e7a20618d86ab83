"""The evaluation's inputs: job00's A|B pairs as :class:`Tile` objects, and each clip's audio.

A tile holds its grey spectrogram A, the true class map (the pair's B, decoded) at each level and its
metadata. A clip (``ROOT/input_wav/<split>/<id>/``) holds the mixture, every labelled source's own audio
and the background, so denoising and separation can be scored against the exact truth.

Also here: the names every table shares (the GAN's column, the mean row, class labels) and the presence
rule (``DEFAULT_MIN_TRUE_PIXELS``).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tqdm import tqdm

from util.errors import UserError
from util.files import DATAROOT, LEVELS, read_csv_rows, split_folder
from util.gan.dataset import list_pairs
from util.labels.pairs import read_pair
from util.labels.palette import Palette
from util.signal.audio import read_audio
from util.signal.spectrogram import SpecParams, pixels_to_db

# a class is present in a tile with at least this many pixels in its true class map (about two frames by
# ten rows), so that the last audible bins of a call cut at the tile's edge do not count as a call
DEFAULT_MIN_TRUE_PIXELS = 20
BIRD = "bird"           # the community of every species
GAN = "GAN"             # the generator's column in every table
MEAN_ROW = "mean"       # the row of means over classes (data06, data07)
TRUE_MASK = "true mask (reference)"   # the mixture under the true class mask (data04, data05)


def pairs_folder(root: str, split: str, level: str) -> str:
    """``ROOT/input_img/<split>_<level>_samples``: job00's pairs of one split and level under ``root``."""
    return split_folder(os.path.join(root, DATAROOT), split, level)


def class_labels(palette: Palette, level: str) -> list[str]:
    """Column / row labels of a level's classes: 'Common Name (Scientific name)' for species, the name otherwise."""
    return [c.display_name if level == "species" else c.name for c in palette.classes]


def tiles_per_class(records: list[dict], key: str) -> dict[str, int]:
    """How many distinct tiles each class's figures are averaged over (records with ``tile`` and ``key``)."""
    frame = pd.DataFrame(records, columns=["tile", key])
    return {str(k): int(v) for k, v in frame.groupby(key)["tile"].nunique().items()}


# --------------------------------------------------------------------------- test and training tiles

@dataclass
class Tile:
    """One A|B pair: its grey spectrogram A, the true class map at each level present, and its metadata."""

    stem: str
    spec_pixels: np.ndarray                       # uint8 (rows, tile_frames)
    meta: dict
    true_maps: dict[str, np.ndarray] = field(default_factory=dict)   # level -> uint8 class map

    @property
    def n_valid(self) -> int:
        return int(self.meta.get("n_valid_frames", self.spec_pixels.shape[1]))

    @property
    def params(self) -> SpecParams:
        return SpecParams.from_metadata(self.meta)

    @property
    def source(self) -> str:
        return self.meta.get("source", "")

    def calibrated_db(self) -> np.ndarray:
        """dB re full scale of A (rows, tile_frames), read back from its 8 bits (``db_offset`` undone)."""
        meta = self.meta
        return pixels_to_db(self.spec_pixels, meta["db_floor"], meta["db_ceil"]) - meta.get("db_offset", 0.0)


def load_tiles(root: str, split: str, palettes: dict[str, Palette], levels=LEVELS, max_tiles: int = 0) -> list[Tile]:
    """Every pair of ``split`` at the first level, with the same-named pair's truth at each other level.

    A pair without metadata, or missing at one level, is a UserError naming the file.
    ``max_tiles`` > 0 keeps the first that many (by name).
    """
    first, *others = levels
    folder = pairs_folder(root, split, first)
    if not os.path.isdir(folder):
        raise UserError(f"{folder}: no such folder; job06 needs job00's {split} split under --root "
                        f"(input_img/{split}_<level>_samples and input_wav/{split}/)")
    paths = list_pairs(folder)
    if max_tiles > 0:
        paths = paths[:max_tiles]
    return [_read_tile(root, split, path, palettes, first, others)
            for path in tqdm(paths, desc=f"reading {split} pairs", unit="pair", disable=None, leave=False)]


def _read_tile(root: str, split: str, path: str, palettes: dict[str, Palette], first: str,
               others: list[str]) -> Tile:
    spec_pixels, label_rgb, meta = read_pair(path)
    if meta is None:
        raise UserError(f"{path}: no spectrogram metadata; make pairs with job00 or job02")
    stem = os.path.splitext(os.path.basename(path))[0]
    tile = Tile(stem, spec_pixels, meta, {first: palettes[first].decode(label_rgb, path)})
    for level in others:
        other = os.path.join(pairs_folder(root, split, level), os.path.basename(path))
        if not os.path.exists(other):
            raise UserError(f"{other}: missing; every {split} pair needs its {level}-level twin (made by job00)")
        tile.true_maps[level] = palettes[level].decode(read_pair(other)[1], other)
    return tile


def valid_maps(maps: list[np.ndarray], tiles: list[Tile]) -> list[np.ndarray]:
    """Each class map cut to its tile's valid frames."""
    return [m[:, :t.n_valid] for m, t in zip(maps, tiles)]


# --------------------------------------------------------------------------- the clips' audio (synthetic data)

@dataclass
class ClipAudio:
    """A job00 clip: the mixture, each labelled source's own audio and the background, at the working rate."""

    folder: str
    sr: int
    mixture: np.ndarray
    parts: dict[str, np.ndarray]
    background: np.ndarray | None


def clip_folder(root: str, tile: Tile) -> str:
    """The folder of the tile's source recording (``meta['source']`` is relative to ROOT)."""
    if not tile.source:
        raise UserError(f"pair {tile.stem}: its metadata names no source recording")
    source = tile.source if os.path.isabs(tile.source) else os.path.join(root, tile.source)
    return os.path.dirname(source)


def read_event_slugs(folder: str) -> list[str]:
    """Slugs of the sources listed in a job00 clip's events.csv."""
    path = os.path.join(folder, "events.csv")
    try:
        return [row["slug"] for row in read_csv_rows(path)]
    except FileNotFoundError:
        raise UserError(f"{path}: missing; denoising and separation need each source's own audio, "
                        f"as job00 writes it (input_wav/<split>/<id>/<slug>.wav and events.csv)") from None


def load_clip(folder: str, sr: int, with_background: bool = False) -> ClipAudio:
    """Read a job00 clip folder: mixture.wav, <slug>.wav for every event, background.wav if asked."""
    mixture, _ = read_audio(os.path.join(folder, "mixture.wav"), sr)
    parts = {slug: read_audio(os.path.join(folder, f"{slug}.wav"), sr)[0] for slug in read_event_slugs(folder)}
    background = read_audio(os.path.join(folder, "background.wav"), sr)[0] if with_background else None
    return ClipAudio(folder, sr, mixture, parts, background)


def group_by_clip(root: str, tiles: list[Tile]) -> OrderedDict[str, list[int]]:
    """Clip folder -> indices of its tiles, in order of first appearance."""
    groups: OrderedDict[str, list[int]] = OrderedDict()
    for i, tile in enumerate(tiles):
        groups.setdefault(clip_folder(root, tile), []).append(i)
    return groups


def community_of(slug: str, species: Palette) -> str:
    """The community a source belongs to: a species' own community (bird if it names none), else the slug."""
    k = species.index(slug)
    return (species.classes[k - 1].community or BIRD) if k else slug


def community_audio(clip: ClipAudio, community: str, species: Palette) -> np.ndarray:
    """Sum of the clip's parts that belong to ``community`` (bird = every species part)."""
    total = np.zeros(len(clip.mixture), np.float64)
    for slug, audio in clip.parts.items():
        if community_of(slug, species) == community:
            total[: len(audio)] += audio[: len(total)]
    return total
