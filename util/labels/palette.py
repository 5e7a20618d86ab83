"""Class colours: which colour paints which source, and colour <-> class decoding.

A palette is a JSON list of ``{"name", "scientific_name", "rgb"}`` objects (an
optional ``"community"`` names the community a species belongs to). Two ship
with the software under ``util/palettes/``: ``species`` (the eight bird species)
and ``community`` (bird / insect / human). Black is "no source".

A *class map* is an integer array the size of a tile: 0 is background, ``k``
(1-based) is the palette's k-th class.

Our own choices: the colours themselves (the published method does not list
its palette) and the decoding tolerance, a Euclidean RGB distance of 40 — half
the smallest distance between two palette colours is 64, so a pixel is never
ambiguous, while the smudged colours of a JPEG or a resized image are refused.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from util.errors import UserError
from util.files import LEVELS

PALETTE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "palettes")
BUILTIN_PALETTES = LEVELS  # one palette per label level, named after it
BACKGROUND_RGB = (0, 0, 0)
DEFAULT_TOLERANCE = 40.0
# How a generated colour becomes a class (our choice; a flag of job03 / job04 / job06):
#   fitted     the nearest palette colour after the per-class offsets and the speckle size fitted on val for
#              these weights (job03 --fit_decoding; util.gan.calibration), which travel in the weights;
#              weights without a fit decode as 'nearest';
#   nearest    every pixel takes its nearest palette colour, black included;
#   confident  a pixel takes class k only within half the distance from colour k to its nearest other colour
#              (black included); anything else (greys, blends between two colours) is undecided: background.
DECODE_RULES = ("fitted", "nearest", "confident")


def slugify(name: str) -> str:
    """'Alström's Warbler' -> 'alstroms-warbler': a class name usable in file names."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = ascii_name.replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


@dataclass(frozen=True)
class SourceClass:
    name: str
    scientific_name: str
    rgb: tuple[int, int, int]
    community: str | None = None

    @property
    def slug(self) -> str:
        return slugify(self.name)

    @property
    def display_name(self) -> str:
        """'Lesser Cuckoo (Cuculus poliocephalus)', as the tables head their columns."""
        return f"{self.name} ({self.scientific_name})" if self.scientific_name else self.name


@dataclass(frozen=True)
class Palette:
    """An ordered set of classes; class ``k`` (1-based) is ``classes[k - 1]``."""

    name: str
    classes: tuple[SourceClass, ...]
    decode_rule: str = DECODE_RULES[0]     # how generated colours are read (see DECODE_RULES)
    offsets: tuple[float, ...] = ()        # 'fitted': subtracted from each colour's squared distance (K + 1)
    min_region: int = 0                    # 'fitted': smaller regions of a class (8-connected pixels) -> background

    def __len__(self) -> int:
        return len(self.classes)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def slugs(self) -> list[str]:
        return [c.slug for c in self.classes]

    @property
    def colors(self) -> np.ndarray:
        """(K + 1, 3) uint8: black first (class 0), then each class's colour."""
        return np.array([BACKGROUND_RGB] + [c.rgb for c in self.classes], dtype=np.uint8)

    def index(self, label: str) -> int:
        """1-based class index of a name, scientific name or slug (case-insensitive); 0 if unknown."""
        key = slugify(label)
        if not key:
            return 0
        for k, c in enumerate(self.classes, start=1):
            if key == c.slug or (c.scientific_name and key == slugify(c.scientific_name)):
                return k
        return 0

    def encode(self, class_map: np.ndarray) -> np.ndarray:
        """Class map (H, W) ints -> RGB label image (H, W, 3) uint8."""
        return self.colors[np.asarray(class_map)]

    def decode(self, rgb: np.ndarray, path: str = "<label>", tolerance: float = DEFAULT_TOLERANCE) -> np.ndarray:
        """RGB label image -> class map (uint8), by nearest palette colour (black included).

        A pixel farther than ``tolerance`` from every colour is a UserError naming
        ``path``, the colour and where it first occurs.
        """
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise UserError(f"{path}: a label image must be RGB, got an array of shape {rgb.shape}")
        packed = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
        unique, inverse = np.unique(packed.ravel(), return_inverse=True)
        unique_rgb = np.stack([(unique >> 16) & 255, (unique >> 8) & 255, unique & 255], axis=1).astype(np.float32)
        nearest, dist2, _ = nearest_colour(unique_rgb, self.colors)
        too_far = dist2 > tolerance ** 2
        if too_far.any():
            bad = tuple(int(v) for v in unique_rgb[np.argmax(too_far)])
            where = np.argwhere(packed == unique[np.argmax(too_far)])[0]
            raise UserError(
                f"{path}: colour {bad} at row {where[0]}, column {where[1]} is not in the "
                f"'{self.name}' palette (nearest is farther than {tolerance:g}); "
                f"label images must be lossless PNGs at the spectrogram's size")
        return nearest[inverse].reshape(packed.shape).astype(np.uint8)

    @property
    def decision_radii(self) -> np.ndarray:
        """(K + 1,) float: half the RGB distance from each colour to its nearest other colour (black included)."""
        colors = self.colors.astype(np.float64)
        distance = np.linalg.norm(colors[:, None] - colors[None], axis=2)
        np.fill_diagonal(distance, np.inf)
        return distance.min(axis=1) / 2

    @property
    def offset_limit(self) -> float:
        """The largest fitted offset allowed: below half the smallest squared gap between two colours, so an
        exact palette colour always decodes as itself whatever the offsets."""
        return float(np.floor((2 * self.decision_radii.min()) ** 2 / 2 - 1))

    def fitted(self, decoding: dict | None) -> "Palette":
        """This palette reading one generator's output: its fitted decoding (``{'offsets': [K + 1 floats],
        'min_region': int}``, from the weights) under the 'fitted' rule; unchanged under the other rules."""
        if self.decode_rule != "fitted" or not decoding:
            return self
        offsets = tuple(float(v) for v in decoding["offsets"])
        if len(offsets) != len(self) + 1:
            raise UserError(f"the generator's fitted decoding has {len(offsets)} offsets; the '{self.name}' "
                            f"palette needs {len(self) + 1} (background and {len(self)} classes)")
        limit = self.offset_limit
        return replace(self, offsets=tuple(min(max(v, -limit), limit) for v in offsets),
                       min_region=int(decoding.get("min_region", 0)))

    def read_generated(self, rgb: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Generated colours (colour axis ``axis``, 0..255) -> (class map uint8, d1, d2) under ``decode_rule``.

        d1 and d2 are the squared distances to the nearest and second-nearest colour (see :func:`nearest_colour`;
        under 'fitted', after the offsets). The class map's last two axes are the image's rows and columns.
        """
        index, best, second = nearest_colour(rgb, self.colors, axis, self.offsets or None)
        if self.decode_rule == "confident":
            index[best >= (self.decision_radii ** 2).astype(np.float32)[index]] = 0
        if self.min_region > 1:
            index = remove_small_regions(index, self.min_region)
        return index, best, second

    def label_map(self, rgb: np.ndarray) -> np.ndarray:
        """A true label image (H, W, 3) -> class map by the plain nearest colour: labels are read without any
        generator's fitted decoding."""
        return nearest_colour(rgb, self.colors)[0]

    def classify(self, rgb: np.ndarray) -> np.ndarray:
        """Generated RGB image(s) (..., 3), uint8 or float in 0..255 -> class map, no tolerance.

        This is the mask rule for images a network generates (our own choice, ``decode_rule``): with
        'nearest' every pixel belongs to the palette colour it is closest to, black (background) included;
        with 'confident' a pixel far from every colour (an undecided output) is background.
        """
        return self.read_generated(rgb)[0]

    def community_palette_map(self, community: "Palette") -> np.ndarray:
        """Look-up array mapping this palette's class indices to ``community``'s (0 stays 0)."""
        table = np.zeros(len(self) + 1, dtype=np.uint8)
        for k, c in enumerate(self.classes, start=1):
            table[k] = community.index(c.community) if c.community else 0
        return table


def nearest_colour(rgb: np.ndarray, colors: np.ndarray, axis: int = -1,
                   offsets=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nearest-colour rule, the one place it is written: which palette colour each pixel is closest to.

    Parameters
    ----------
    rgb : array (..., 3) (or the colour axis at ``axis``), uint8 or float in 0..255
    colors : array (K + 1, 3), the palette's colours, background first (:attr:`Palette.colors`)
    axis : the colour axis of ``rgb``
    offsets : optional (K + 1,) values subtracted from each colour's squared distance before comparing; d1 and
        d2 are then those distances plus ``max(offsets)`` (so never negative)

    Returns
    -------
    (index, d1, d2): the nearest colour's index (uint8; ties go to the earlier colour), and the squared
    distances (float32, in 0..255 units squared) to the nearest and the second-nearest colour.
    """
    rgb = np.moveaxis(np.asarray(rgb, np.float32), axis, 0)       # [3, ...]
    colors = np.asarray(colors, np.float32)
    best = np.full(rgb.shape[1:], np.inf, np.float32)
    second = np.full(rgb.shape[1:], np.inf, np.float32)
    index = np.zeros(rgb.shape[1:], np.uint8)
    handicap = None if offsets is None else np.max(offsets) - np.asarray(offsets, np.float32)
    for k, colour in enumerate(colors):
        dist = np.square(rgb[0] - colour[0])
        dist += np.square(rgb[1] - colour[1])
        dist += np.square(rgb[2] - colour[2])
        if handicap is not None:
            dist += handicap[k]
        closer = dist < best                                        # strict: ties keep the earlier colour
        np.minimum(second, np.maximum(best, dist), out=second)
        np.minimum(best, dist, out=best)
        index[closer] = k
    return index, best, second


def remove_small_regions(class_map: np.ndarray, min_pixels: int) -> np.ndarray:
    """Class map (..., rows, columns) -> a copy where every region of a class (8-connected pixels of one
    image) smaller than ``min_pixels`` is background (0)."""
    out = np.array(class_map, copy=True)
    structure = np.zeros((3,) * out.ndim, bool)
    structure[(1,) * (out.ndim - 2)] = True          # 8-connected within an image, never across images
    for k in np.unique(out):
        if k == 0:
            continue
        regions, n = ndimage.label(out == k, structure=structure)
        small = np.bincount(regions.ravel(), minlength=n + 1) < min_pixels
        small[0] = False
        out[small[regions]] = 0
    return out


def load_palette(name_or_path: str, decode_rule: str = DECODE_RULES[0]) -> Palette:
    """'species', 'community' or the path of a palette JSON file -> Palette that reads generated colours
    by ``decode_rule`` (see :data:`DECODE_RULES`)."""
    if decode_rule not in DECODE_RULES:
        raise UserError(f"--decode_rule {decode_rule!r}: choose one of {', '.join(DECODE_RULES)}")
    path = os.path.join(PALETTE_DIR, f"{name_or_path}.json") if name_or_path in BUILTIN_PALETTES else name_or_path
    try:
        with open(path, encoding="utf-8") as handle:
            entries = json.load(handle)
    except FileNotFoundError:
        raise UserError(f"{path}: no such palette (use species, community or a JSON file)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not a readable palette JSON ({exc})") from None
    return Palette(os.path.splitext(os.path.basename(path))[0], _parse_entries(entries, path), decode_rule)


def _parse_entries(entries, path: str) -> tuple[SourceClass, ...]:
    if not isinstance(entries, list) or not entries:
        raise UserError(f"{path}: a palette is a non-empty JSON list of {{name, scientific_name, rgb}}")
    classes = []
    for i, entry in enumerate(entries):
        try:
            rgb = tuple(int(v) for v in entry["rgb"])
            cls = SourceClass(str(entry["name"]), str(entry.get("scientific_name", "")), rgb, entry.get("community"))
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{path}: entry {i} needs a 'name' and an 'rgb' of three integers") from None
        if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb) or rgb == BACKGROUND_RGB:
            raise UserError(f"{path}: entry {i} ({cls.name}): rgb must be three values 0..255, not black")
        classes.append(cls)
    colors = np.array([BACKGROUND_RGB] + [c.rgb for c in classes], float)
    gaps = np.linalg.norm(colors[:, None] - colors[None], axis=2) + np.eye(len(colors)) * 1e9
    if gaps.min() <= 2 * DEFAULT_TOLERANCE:
        raise UserError(f"{path}: two colours (black included) are closer than {2 * DEFAULT_TOLERANCE:g}; "
                        f"labels could not be decoded unambiguously")
    if len({c.slug for c in classes}) != len(classes):
        raise UserError(f"{path}: two classes share a name")
    return tuple(classes)
