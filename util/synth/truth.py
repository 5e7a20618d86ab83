"""The ground truth: which class owns each pixel of a soundscape's spectrogram (the label rule).

Two rules (our own choice; the published method does not state one):

* ``expected`` (the default): a pixel belongs to the *source* with the largest STFT magnitude in that bin
  (insects and humans compete even where they are not labelled), if that source's level is at least
  ``AUDIBLE_FLOOR_DB`` (-80 dB re full scale) and at least ``AUDIBLE_MARGIN_DB`` (6 dB) above the
  background's *expected* level in that frequency row (the background's power averaged over the clip's
  frames, in dB); otherwise it is background (0). The label is a property of the sources and of the kind
  of background, not of one draw of its noise: another draw moves a row's expected level by about 0.3 dB.
  6 dB keeps the call as it shows in the mixture (about 7 dB above the row's background, where an
  annotator sees it); 3 dB also paints harmonics that are not visible, as blobs.
* ``ibm`` (ideal binary mask, for separation studies): a pixel belongs to the part with the largest
  magnitude in that bin, the background included, if it is at least ``audible_floor_db`` loud and
  ``IBM_MARGIN_DB`` (3 dB) above the background *in the same bin*. Its labels follow the noise's speckle.

Imports :mod:`util.synth.soundscape`, :mod:`util.synth.sources` and the base, signal and labels layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from util.errors import UserError
from util.labels.palette import Palette
from util.signal.audio import stft
from util.signal.spectrogram import SpecParams, spectrum_to_image_db
from util.synth.soundscape import Soundscape
from util.synth.sources import palettes, source_models

TRUTH_RULES = ("expected", "ibm")  # the label rules, default first
AUDIBLE_FLOOR_DB = -80.0       # a source labels a bin only at this level or louder, dB re full scale
AUDIBLE_MARGIN_DB = 6.0        # ... and only this many dB above the background's expected level in its row
IBM_MARGIN_DB = 3.0            # the ibm rule's default margin: dB above the background in the same bin


def default_margin_db(rule: str) -> float:
    """The default ``audible_margin_db`` of a rule: ``AUDIBLE_MARGIN_DB`` (expected), ``IBM_MARGIN_DB`` (ibm)."""
    return IBM_MARGIN_DB if check_truth_rule(rule) == "ibm" else AUDIBLE_MARGIN_DB


def check_truth_rule(rule: str) -> str:
    """``rule`` if it is one of ``TRUTH_RULES``; UserError naming the flag otherwise."""
    if rule not in TRUTH_RULES:
        raise UserError(f"--truth_rule {rule}: use one of {', '.join(TRUTH_RULES)}")
    return rule


def part_db_images(parts: dict[str, np.ndarray], background: np.ndarray,
                   params: SpecParams = SpecParams()) -> np.ndarray:
    """dB images (re full scale, low frequency at the bottom) of the background and each part:
    array (1 + len(parts), n_rows, frames), background first."""
    signals = [background, *parts.values()]
    return np.stack([spectrum_to_image_db(stft(np.asarray(s, np.float32), params.n_fft, params.hop_length,
                                               params.window), params) for s in signals])


def expected_row_db(db_image: np.ndarray) -> np.ndarray:
    """Expected level of each frequency row, dB: the power averaged over the frames of a dB image
    (n_rows, frames), as a column (n_rows, 1)."""
    power = np.mean(10.0 ** (np.asarray(db_image, np.float64) / 10.0), axis=1, keepdims=True)
    return 10.0 * np.log10(np.maximum(power, 1e-30))


def dominant_part(parts: dict[str, np.ndarray], background: np.ndarray, params: SpecParams = SpecParams(), *,
                  rule: str = TRUTH_RULES[0], audible_floor_db: float = AUDIBLE_FLOOR_DB,
                  audible_margin_db: float | None = None) -> np.ndarray:
    """Which part owns each pixel: int array (n_rows, frames), 0 = background or inaudible,
    k = the k-th part of ``parts`` (1-based), under ``rule`` (see the module docstring).

    ``expected``: the loudest source, if at least ``audible_floor_db`` dB re full scale and
    ``audible_margin_db`` dB above the background's expected level in its row. ``ibm``: the loudest
    part, the background included, if at least ``audible_floor_db`` and ``audible_margin_db`` dB
    above the background in the same bin. ``audible_margin_db`` None: the rule's default
    (:func:`default_margin_db`).
    """
    margin_db = default_margin_db(rule) if audible_margin_db is None else audible_margin_db
    db = part_db_images(parts, background, params)
    if check_truth_rule(rule) == "ibm":
        winner = np.argmax(db, axis=0)
        reference = db[0]
    else:
        winner = np.argmax(db[1:], axis=0) + 1 if parts else np.zeros(db.shape[1:], np.int64)
        reference = expected_row_db(db[0])
    level = np.take_along_axis(db, winner[None], axis=0)[0]
    audible = (winner > 0) & (level >= audible_floor_db) & (level >= reference + margin_db)
    return np.where(audible, winner, 0).astype(np.int16)


def label_index(slug: str, palette: Palette) -> int:
    """Palette index (1-based) of a source slug: the source itself, else its community; 0 if neither."""
    model = source_models().get(slug)
    return palette.index(slug) or (palette.index(model.community) if model else 0)


def class_map(dominant: np.ndarray, part_slugs: list[str], palette: Palette) -> np.ndarray:
    """Dominant-part map (from :func:`dominant_part`) -> class map (uint8, 0 background) in ``palette``."""
    table = np.array([0] + [label_index(slug, palette) for slug in part_slugs], np.uint8)
    return table[dominant]


def class_maps(scape: Soundscape, params: SpecParams = SpecParams(), *, rule: str = TRUTH_RULES[0],
               audible_floor_db: float = AUDIBLE_FLOOR_DB,
               audible_margin_db: float | None = None) -> dict[str, np.ndarray]:
    """True class maps of a soundscape, {'species': ..., 'community': ...}, each uint8 (n_rows, frames),
    under the label ``rule`` ('expected' or 'ibm', see the module docstring); ``audible_margin_db``
    None: the rule's default.

    Insects and humans are unlabelled (0) at species level but still mask the birds they cover.
    """
    dominant = dominant_part(scape.parts, scape.background, params, rule=rule, audible_floor_db=audible_floor_db,
                             audible_margin_db=audible_margin_db)
    return {level: class_map(dominant, list(scape.parts), palette) for level, palette in palettes().items()}


@dataclass(frozen=True)
class TruthRule:
    """A label rule and its thresholds (job00's ``--truth_rule``, ``--audible_floor_db`` in dB re full
    scale, ``--audible_margin_db`` in dB; None: the rule's default), as recorded in dataset.json."""

    rule: str = TRUTH_RULES[0]
    audible_floor_db: float = AUDIBLE_FLOOR_DB
    audible_margin_db: float | None = None

    def check(self) -> "TruthRule":
        """The rule with its margin filled in; UserError for an unknown rule."""
        margin_db = default_margin_db(self.rule) if self.audible_margin_db is None else self.audible_margin_db
        return TruthRule(self.rule, float(self.audible_floor_db), float(margin_db))

    def record(self) -> dict:
        """The rule as dataset.json keys."""
        return {"truth_rule": self.rule, "audible_floor_db": self.audible_floor_db,
                "audible_margin_db": self.audible_margin_db}

    @classmethod
    def from_record(cls, record: dict) -> "TruthRule":
        """The rule a dataset.json record names; a set recorded without ``truth_rule`` used ``ibm``."""
        return cls(record.get("truth_rule", "ibm"), record.get("audible_floor_db", AUDIBLE_FLOOR_DB),
                   record.get("audible_margin_db")).check()

    def class_maps(self, scape: Soundscape, params: SpecParams = SpecParams()) -> dict[str, np.ndarray]:
        """:func:`class_maps` of ``scape`` under this rule."""
        return class_maps(scape, params, rule=self.rule, audible_floor_db=self.audible_floor_db,
                          audible_margin_db=self.audible_margin_db)
