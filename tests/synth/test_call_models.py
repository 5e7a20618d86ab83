"""Call models: each source in its band, below Nyquist, and different from one call to the next."""

import numpy as np
import pytest

from util.signal.spectrogram import SpecParams
from util.synth.dsp import NYQUIST_FRACTION
from util.synth.sources import SOURCE_BANDS_HZ, SPECIES_GENERATORS, source_models

PARAMS = SpecParams()


def band_energy_fraction(audio, sr, low_hz, high_hz):
    power = np.abs(np.fft.rfft(audio.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1.0 / sr)
    return power[(freqs >= low_hz) & (freqs <= high_hz)].sum() / power.sum()


# --------------------------------------------------------------------------- sources

@pytest.mark.parametrize("slug", list(SOURCE_BANDS_HZ))
def test_each_source_has_at_least_80_percent_of_its_energy_in_its_band(slug):
    low, high = SOURCE_BANDS_HZ[slug]
    rng = np.random.default_rng(7)
    for generator in source_models()[slug].generators:
        for _ in range(2):
            call = generator(rng, PARAMS.sr)
            assert call.dtype == np.float32 and call.ndim == 1
            assert band_energy_fraction(call, PARAMS.sr, low, high) >= 0.8, generator.__name__


def test_calls_vary_from_one_call_to_the_next():
    rng = np.random.default_rng(8)
    for generator in SPECIES_GENERATORS.values():
        first, second = generator(rng, PARAMS.sr), generator(rng, PARAMS.sr)
        assert len(first) != len(second) or not np.allclose(first, second), generator.__name__


def test_sources_stay_below_nyquist_at_16_khz():
    sr = 16000
    rng = np.random.default_rng(9)
    for model in source_models().values():
        for generator in model.generators:
            call = generator(rng, sr)
            assert band_energy_fraction(call, sr, 0.0, NYQUIST_FRACTION * sr) > 1 - 1e-9, generator.__name__
