"""Classical baselines: each does what its name says, on signals whose answer is known."""

import numpy as np
import pytest

from util.errors import UserError
from util.evaluation.baselines import (
    NMFSeparator,
    estimate_noise_psd,
    spectral_gating,
    spectral_subtraction,
    spectral_subtraction_stft,
    wiener_filter,
    wiener_gain,
)
from util.metrics import audio_mse, si_sdr, spectrogram_mse
from util.signal.audio import stft
from util.signal.spectrogram import SpecParams, magnitude_to_db

PARAMS = SpecParams()
SR = PARAMS.sr
HANN_ENERGY = 192.0  # sum(w**2) of the periodic Hann window of 512 samples
DENOISERS = [spectral_subtraction, wiener_filter]


def seconds(duration_s):
    return np.arange(int(duration_s * SR)) / SR


def tone(freq_hz, duration_s, amplitude=0.3, phase=0.0):
    return amplitude * np.sin(2 * np.pi * freq_hz * seconds(duration_s) + phase)


def white_noise(duration_s, std=0.02, seed=0):
    return std * np.random.default_rng(seed).standard_normal(int(duration_s * SR))


def call_in_noise():
    """A 1 kHz call from 0.3 s to 0.8 s of a 1 s clip, in white noise (7 dB SNR while it calls)."""
    t = seconds(1.0)
    clean = 0.1 * np.sin(2 * np.pi * 1000 * t) * ((t > 0.3) & (t < 0.8))
    return clean, clean + white_noise(1.0)


def db_mse(a, b):
    """MSE of the two dB spectrograms on the [0, 1] image scale (the metric job06 reports)."""
    a_db, b_db = (magnitude_to_db(np.abs(stft(y)), PARAMS) for y in (a, b))
    return spectrogram_mse(a_db, b_db, PARAMS.db_floor, PARAMS.db_ceil)


def reduction_db(before, after):
    return 10 * np.log10(np.sum(before ** 2) / np.sum(after ** 2))


# --------------------------------------------------------------------------- noise estimate

@pytest.mark.parametrize("method, low_db, high_db", [("quietest_frames", -1.2, 0.0), ("percentile", -0.5, 0.5)])
def test_noise_psd_of_white_noise_matches_its_known_level(method, low_db, high_db):
    std = 0.05
    power = np.abs(stft(white_noise(3.0, std))) ** 2
    estimate = estimate_noise_psd(power[:, 1:-1], method=method)
    error_db = 10 * np.log10(np.median(estimate) / (std ** 2 * HANN_ENERGY))
    assert low_db < error_db < high_db


def test_noise_psd_ignores_a_loud_call_in_half_the_frames():
    clean, noisy = call_in_noise()
    estimate = estimate_noise_psd(np.abs(stft(noisy)) ** 2)
    call_bin = round(1000 * PARAMS.n_fft / SR)
    noise_level = 0.02 ** 2 * HANN_ENERGY
    assert estimate[call_bin] < 2 * noise_level  # the call is 1000 times stronger in its bin


# --------------------------------------------------------------------------- subtraction and Wiener

@pytest.mark.parametrize("denoise", DENOISERS)
def test_denoiser_brings_a_call_in_noise_closer_to_clean_waveform(denoise):
    clean, noisy = call_in_noise()
    denoised = denoise(noisy, SR)
    assert denoised.shape == noisy.shape
    assert audio_mse(denoised, clean) < 0.1 * audio_mse(noisy, clean)


@pytest.mark.parametrize("denoise", DENOISERS)
def test_denoiser_brings_a_call_in_noise_closer_to_clean_db_spectrogram(denoise):
    clean, noisy = call_in_noise()
    denoised = denoise(noisy, SR)
    assert db_mse(denoised, clean) < 0.25 * db_mse(noisy, clean)


@pytest.mark.parametrize("denoise", DENOISERS)
def test_denoiser_removes_over_10_db_of_pure_noise(denoise):
    noise = white_noise(1.0)
    assert reduction_db(noise, denoise(noise, SR)) > 10.0


@pytest.mark.parametrize("denoise", DENOISERS)
def test_denoiser_uses_a_noise_only_clip_when_given(denoise):
    clean, noisy = call_in_noise()
    denoised = denoise(noisy, SR, y_noise=white_noise(1.0, seed=7))
    assert audio_mse(denoised, clean) < 0.1 * audio_mse(noisy, clean)


def test_wiener_gains_lie_in_0_1_and_pass_the_call_but_not_the_noise():
    clean, noisy = call_in_noise()
    spectrum = stft(noisy)
    gains = wiener_gain(spectrum, estimate_noise_psd(np.abs(spectrum) ** 2))
    assert gains.shape == spectrum.shape
    assert np.all((gains >= 0) & (gains <= 1))
    call_bin, calling_frames = round(1000 * PARAMS.n_fft / SR), slice(35, 65)
    assert np.all(gains[call_bin, calling_frames] > 0.9)
    assert np.median(gains[100:]) < 0.1  # far from 1 kHz there is only noise


def test_spectral_subtraction_never_makes_a_negative_magnitude():
    clean, noisy = call_in_noise()
    spectrum = stft(noisy)
    noise_psd = estimate_noise_psd(np.abs(spectrum) ** 2)
    denoised = spectral_subtraction_stft(spectrum, noise_psd, oversubtraction=4.0, spectral_floor=0.01)
    ratio = denoised / spectrum  # real and positive: the mixture's phase, never flipped
    assert np.allclose(ratio.imag, 0, atol=1e-4)
    assert np.all(ratio.real > 0)
    assert np.all(np.abs(denoised) >= 0.01 * np.sqrt(noise_psd)[:, None] * (1 - 1e-4))


def test_stft_denoiser_keeps_the_shape_of_a_tile_without_nyquist_row():
    spectrum = stft(call_in_noise()[1])[:PARAMS.n_rows]
    noise_psd = estimate_noise_psd(np.abs(stft(white_noise(1.0, seed=3))) ** 2)  # full height
    assert spectral_subtraction_stft(spectrum, noise_psd).shape == (PARAMS.n_rows, spectrum.shape[1])


# --------------------------------------------------------------------------- noisereduce

@pytest.mark.parametrize("stationary, min_reduction_db", [(True, 10.0), (False, 2.0)])
def test_spectral_gating_lowers_noise_energy_in_both_modes(stationary, min_reduction_db):
    noise = white_noise(1.0)
    y_noise = white_noise(1.0, seed=7) if stationary else None
    gated = spectral_gating(noise, SR, stationary=stationary, y_noise=y_noise)
    assert gated.shape == noise.shape
    assert reduction_db(noise, gated) > min_reduction_db


def test_stationary_gating_with_a_noise_clip_keeps_a_tonal_call():
    clean, noisy = call_in_noise()
    gated = spectral_gating(noisy, SR, stationary=True, y_noise=white_noise(1.0, seed=7),
                            freq_mask_smooth_hz=100)
    assert audio_mse(gated, clean) < 0.2 * audio_mse(noisy, clean)


# --------------------------------------------------------------------------- supervised NMF

def two_tone_mixture():
    t = seconds(1.0)
    low = 0.2 * np.sin(2 * np.pi * 1000 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    high = 0.1 * np.sin(2 * np.pi * 4000 * t + 1.0) * ((t > 0.25) & (t < 0.75))
    return low, high


@pytest.mark.parametrize("beta_loss", ["kullback-leibler", "frobenius"])
def test_nmf_trained_on_1khz_and_4khz_tones_separates_their_mixture(beta_loss):
    low, high = two_tone_mixture()
    training = {"low": [tone(1000, 0.5)], "high": [tone(4000, 0.5)]}
    parts = NMFSeparator(4, beta_loss=beta_loss).fit(training).separate(low + high)
    assert set(parts) == {"low", "high"}
    assert si_sdr(parts["low"], low) > 15.0
    assert si_sdr(parts["high"], high) > 15.0


def test_nmf_background_basis_keeps_noise_out_of_the_sources():
    low, high = two_tone_mixture()
    mixture = low + high + white_noise(1.0, std=0.02)
    training = {"low": [tone(1000, 0.5)], "high": [tone(4000, 0.5)]}
    without = NMFSeparator(4).fit(training).separate(mixture)
    with_background = NMFSeparator(4).fit(training, background=[white_noise(1.0, seed=5)]).separate(mixture)
    assert set(with_background) == {"low", "high", "background"}
    assert si_sdr(with_background["high"], high) > 20.0
    assert si_sdr(with_background["high"], high) > si_sdr(without["high"], high) + 10.0


def test_nmf_masks_are_soft_sum_to_one_and_fit_a_tile_without_nyquist_row():
    low, high = two_tone_mixture()
    spectrum = stft(low + high)[:PARAMS.n_rows]
    masks = NMFSeparator(4).fit({"low": [tone(1000, 0.5)], "high": [tone(4000, 0.5)]}).masks(spectrum)
    assert all(m.shape == spectrum.shape and m.min() >= 0 and m.max() <= 1 for m in masks.values())
    assert np.allclose(sum(masks.values()), 1.0, atol=1e-4)
    low_bin, high_bin = round(1000 * PARAMS.n_fft / SR), round(4000 * PARAMS.n_fft / SR)
    assert masks["low"][low_bin, 40] > 0.99 and masks["high"][high_bin, 40] > 0.99


def test_nmf_is_reproducible_with_a_fixed_random_state():
    low, high = two_tone_mixture()
    training = {"low": [tone(1000, 0.5), white_noise(0.2, 0.001)], "high": [tone(4000, 0.5)]}
    first, second = (NMFSeparator(4, random_state=3).fit(training) for _ in range(2))
    assert all(np.array_equal(first.bases_[name], second.bases_[name]) for name in training)
    a, b = first.separate(low + high), second.separate(low + high)
    assert all(np.array_equal(a[name], b[name]) for name in training)


def test_nmf_rejects_training_audio_shorter_than_its_components():
    with pytest.raises(UserError, match="fewer than the 8 components"):
        NMFSeparator(8).fit({"owl": [tone(1000, 0.05)]})
