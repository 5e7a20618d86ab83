"""Call models: each source in its band, below Nyquist, and different from one call to the next."""

import numpy as np
import pytest

from util.signal.spectrogram import SpecParams
from util.synth.dsp import NYQUIST_FRACTION
from util.synth.noises import cicada_buzz, cicada_phrases, rain
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


# --------------------------------------------------------------------------- insects and weather

def _smoothed_power(audio, sr, width_hz=200.0):
    power = np.abs(np.fft.rfft(audio.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1.0 / sr)
    kernel = np.ones(max(1, int(width_hz / freqs[1])))
    return freqs, np.convolve(power, kernel / len(kernel), mode="same")


def test_a_cicada_sings_at_a_dominant_frequency_not_as_flat_band_noise():
    rng = np.random.default_rng(11)
    for generator in (cicada_buzz, cicada_phrases):
        for _ in range(3):
            freqs, power = _smoothed_power(generator(rng, PARAMS.sr), PARAMS.sr)
            peak_hz = freqs[np.argmax(power)]
            edges = power[((freqs > 3100) & (freqs < 3300)) | ((freqs > 7700) & (freqs < 7900))]
            assert 3800 < peak_hz < 7200, generator.__name__
            assert 10 * np.log10(power.max() / edges.mean()) > 8.0, generator.__name__


def test_cicada_phrases_are_echemes_with_silent_gaps():
    rng = np.random.default_rng(12)
    sr, hop = PARAMS.sr, PARAMS.hop_length
    for _ in range(3):
        call = cicada_phrases(rng, sr).astype(np.float64)
        frames = np.sqrt(np.mean(call[: len(call) // hop * hop].reshape(-1, hop) ** 2, axis=1))
        loud = frames > 0.1 * frames.max()
        onsets = int(np.sum(loud[1:] & ~loud[:-1])) + int(loud[0])
        assert onsets >= 3


def test_rain_falls_in_showers():
    rng = np.random.default_rng(13)
    sr = PARAMS.sr
    # the median drop level of each second follows the drop rate (the sizes are heavy-tailed, so not the
    # RMS): steady rain of 150 drops a second keeps it within a factor of about 4; showers move it further
    seconds = [np.median(np.abs(rain(rng, sr, 30 * sr, 150.0)).reshape(30, sr), axis=1) for _ in range(3)]
    assert all(s.max() / s.min() > 10.0 for s in seconds)
