"""The ground truth: which class owns each pixel of a soundscape's spectrogram (the label rule).

**Audibility rule**: a pixel belongs to the part with the largest STFT magnitude in that bin (background,
insects and humans compete even where they are not labelled), if that part's level is at least
``AUDIBLE_FLOOR_DB`` (-80 dB re full scale) and at least ``AUDIBLE_MARGIN_DB`` (3 dB) above the
background in the same bin; otherwise it is background (0).

Imports :mod:`util.synth.soundscape`, :mod:`util.synth.sources` and the base, signal and labels layers.
"""

from __future__ import annotations

import numpy as np

from util.labels.palette import Palette
from util.signal.audio import stft
from util.signal.spectrogram import SpecParams, spectrum_to_image_db
from util.synth.soundscape import Soundscape
from util.synth.sources import palettes, source_models

AUDIBLE_FLOOR_DB = -80.0       # a part labels a bin only at this level or louder, dB re full scale
AUDIBLE_MARGIN_DB = 3.0        # ... and only this many dB above the background in the same bin


def part_db_images(parts: dict[str, np.ndarray], background: np.ndarray,
                   params: SpecParams = SpecParams()) -> np.ndarray:
    """dB images (re full scale, low frequency at the bottom) of the background and each part:
    array (1 + len(parts), n_rows, frames), background first."""
    signals = [background, *parts.values()]
    return np.stack([spectrum_to_image_db(stft(np.asarray(s, np.float32), params.n_fft, params.hop_length,
                                               params.window), params) for s in signals])


def dominant_part(parts: dict[str, np.ndarray], background: np.ndarray, params: SpecParams = SpecParams(), *,
                  audible_floor_db: float = AUDIBLE_FLOOR_DB,
                  audible_margin_db: float = AUDIBLE_MARGIN_DB) -> np.ndarray:
    """Which part owns each pixel: int array (n_rows, frames), 0 = background or inaudible,
    k = the k-th part of ``parts`` (1-based).

    A part owns a bin when its magnitude is the largest of all parts and the background,
    its level is at least ``audible_floor_db`` dB re full scale, and it stands at least
    ``audible_margin_db`` dB above the background in that bin.
    """
    db = part_db_images(parts, background, params)
    winner = np.argmax(db, axis=0)
    level = np.take_along_axis(db, winner[None], axis=0)[0]
    audible = (level >= audible_floor_db) & (level >= db[0] + audible_margin_db)
    return np.where(audible, winner, 0).astype(np.int16)


def label_index(slug: str, palette: Palette) -> int:
    """Palette index (1-based) of a source slug: the source itself, else its community; 0 if neither."""
    model = source_models().get(slug)
    return palette.index(slug) or (palette.index(model.community) if model else 0)


def class_map(dominant: np.ndarray, part_slugs: list[str], palette: Palette) -> np.ndarray:
    """Dominant-part map (from :func:`dominant_part`) -> class map (uint8, 0 background) in ``palette``."""
    table = np.array([0] + [label_index(slug, palette) for slug in part_slugs], np.uint8)
    return table[dominant]


def class_maps(scape: Soundscape, params: SpecParams = SpecParams(), *,
               audible_floor_db: float = AUDIBLE_FLOOR_DB,
               audible_margin_db: float = AUDIBLE_MARGIN_DB) -> dict[str, np.ndarray]:
    """True class maps of a soundscape, {'species': ..., 'community': ...}, each uint8 (n_rows, frames).

    Insects and humans are unlabelled (0) at species level but still mask the birds they cover.
    """
    dominant = dominant_part(scape.parts, scape.background, params, audible_floor_db=audible_floor_db,
                             audible_margin_db=audible_margin_db)
    return {level: class_map(dominant, list(scape.parts), palette) for level, palette in palettes().items()}
