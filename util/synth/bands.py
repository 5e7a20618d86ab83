"""The frequency band of every call model, in Hz: the one place it is stated.

Each model in :mod:`util.synth.calls` and :mod:`util.synth.noises` band-limits its output to its own
entry here (nothing outside it, nothing at or above ``NYQUIST_FRACTION * sr``); a source's band, in
:mod:`util.synth.sources`, is the span of its models' bands. Keys are the models' function names, the
``model`` column of events.csv.

Imports nothing.
"""

from __future__ import annotations

MODEL_BANDS_HZ: dict[str, tuple[float, float]] = {
    # the eight species, one model each
    "jungle_nightjar": (1000.0, 3000.0),                 # Caprimulgus indicus
    "eurasian_jay": (1000.0, 7000.0),                    # Garrulus glandarius
    "koklass_pheasant": (600.0, 2500.0),                 # Pucrasia macrolopha
    "oriental_scops_owl": (900.0, 1400.0),               # Otus sunia
    "lesser_cuckoo": (2500.0, 5000.0),                   # Cuculus poliocephalus
    "brownish_flanked_bush_warbler": (1500.0, 7000.0),   # Horornis fortipes
    "alstroms_warbler": (4000.0, 8000.0),                # Phylloscopus soror
    "harterts_leaf_warbler": (5000.0, 9000.0),           # Phylloscopus goodsoni
    # insects
    "cicada_buzz": (3000.0, 8000.0),
    "cicada_phrases": (3000.0, 8000.0),
    "cricket_chirps": (3500.0, 5500.0),
    "katydid_pulses": (6000.0, 11000.0),                 # capped below Nyquist at low sample rates
    # human sounds
    "road_vehicle": (30.0, 2000.0),
    "engine_drone": (60.0, 4000.0),
    "speech_babble": (80.0, 4000.0),
    "aircraft_rumble": (30.0, 1000.0),
}


def spanning_band_hz(model_names) -> tuple[float, float]:
    """(lowest low, highest high) in Hz of the named models' bands: the band of a source with several models."""
    bands = [MODEL_BANDS_HZ[name] for name in model_names]
    return min(low for low, _ in bands), max(high for _, high in bands)
