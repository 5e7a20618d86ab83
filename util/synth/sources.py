"""The source registry: the ten sources the mixer can draw, their models, communities and bands.

The eight species (one call model each, named as in the species palette), ``insect`` (four models) and
``human`` (four models). A source's band is the span of its models' bands in
:data:`util.synth.bands.MODEL_BANDS_HZ`; the palettes are the built-in ones of :mod:`util.labels.palette`.

Imports :mod:`util.synth.calls`, :mod:`util.synth.noises`, :mod:`util.synth.bands` and the base and
labels layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from util.errors import UserError
from util.files import LEVELS
from util.labels.palette import Palette, load_palette
from util.synth.bands import spanning_band_hz
from util.synth.calls import (
    alstroms_warbler,
    brownish_flanked_bush_warbler,
    eurasian_jay,
    harterts_leaf_warbler,
    jungle_nightjar,
    koklass_pheasant,
    lesser_cuckoo,
    oriental_scops_owl,
)
from util.synth.dsp import Generator
from util.synth.noises import (
    aircraft_rumble,
    cicada_buzz,
    cicada_phrases,
    cricket_chirps,
    engine_drone,
    katydid_pulses,
    road_vehicle,
    speech_babble,
)

CallModel = Callable[[Generator, int], np.ndarray]   # (rng, sr in Hz) -> one call, float32

SPECIES_GENERATORS: dict[str, CallModel] = {
    "jungle-nightjar": jungle_nightjar,
    "eurasian-jay": eurasian_jay,
    "koklass-pheasant": koklass_pheasant,
    "oriental-scops-owl": oriental_scops_owl,
    "lesser-cuckoo": lesser_cuckoo,
    "brownish-flanked-bush-warbler": brownish_flanked_bush_warbler,
    "alstroms-warbler": alstroms_warbler,
    "harterts-leaf-warbler": harterts_leaf_warbler,
}
INSECT_GENERATORS = (cicada_buzz, cicada_phrases, cricket_chirps, katydid_pulses)
HUMAN_GENERATORS = (road_vehicle, engine_drone, speech_babble, aircraft_rumble)

SOURCE_GENERATORS: dict[str, tuple[CallModel, ...]] = {
    **{slug: (model,) for slug, model in SPECIES_GENERATORS.items()},
    "insect": INSECT_GENERATORS,
    "human": HUMAN_GENERATORS,
}
# (low_hz, high_hz) of each source: the span of its models' bands
SOURCE_BANDS_HZ: dict[str, tuple[float, float]] = {
    slug: spanning_band_hz(model.__name__ for model in models) for slug, models in SOURCE_GENERATORS.items()
}


@dataclass(frozen=True)
class SourceModel:
    """A source the mixer can draw: its slug, display name, community, band (Hz) and generators."""

    slug: str
    name: str
    community: str
    band_hz: tuple[float, float]
    generators: tuple[CallModel, ...]


@lru_cache(maxsize=1)
def source_models() -> dict[str, SourceModel]:
    """The ten sources, species in palette order, then insect and human."""
    models = {}
    for cls in load_palette("species").classes:
        if cls.slug not in SPECIES_GENERATORS:
            raise UserError(f"species palette: no synthetic model for {cls.name!r} ({cls.slug})")
        models[cls.slug] = SourceModel(cls.slug, cls.name, cls.community or "bird",
                                       SOURCE_BANDS_HZ[cls.slug], SOURCE_GENERATORS[cls.slug])
    for slug in ("insect", "human"):
        models[slug] = SourceModel(slug, slug, slug, SOURCE_BANDS_HZ[slug], SOURCE_GENERATORS[slug])
    return models


@lru_cache(maxsize=None)
def palettes() -> dict[str, Palette]:
    """The built-in palettes by level: {'species': ..., 'community': ...}."""
    return {level: load_palette(level) for level in LEVELS}
