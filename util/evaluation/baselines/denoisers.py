"""Denoisers: spectral subtraction, the STFT Wiener filter, spectral gating (noisereduce), and the noise estimate.

The denoisers come in pairs: ``f(y, sr, ...)`` takes and returns audio of the same length, and
``f_stft(Y, ...)`` takes and returns a complex STFT of the same shape (mixture phase), so a caller can
judge audio on the waveform and spectrograms bin by bin. Every setting is a keyword argument with a default.
"""

from __future__ import annotations

import math

import numpy as np

from util.errors import UserError
from util.evaluation.baselines.checks import EPS, SPEC, check_positive, checked_audio
from util.signal.audio import istft, stft

NOISE_METHODS = ("quietest_frames", "percentile")
FLOOR_REFERENCES = ("noise", "mixture")


# --------------------------------------------------------------------------- noise estimate

def estimate_noise_psd(power_spec: np.ndarray, *, fraction: float = 0.1,
                       method: str = "quietest_frames") -> np.ndarray:
    """Noise power per frequency bin, from the quietest part of a power spectrogram.

    ``power_spec``: |STFT|**2, shape (bins, frames). Returns shape (bins,), same units.

    ``method="quietest_frames"`` (default): rank frames by total energy and average the
    power of the quietest ``ceil(fraction * frames)`` of them (the 10 % quietest by
    default). Frames of digital silence (energy exactly 0) are skipped. A call that
    lasts in every frame ends up in the estimate; on stationary noise the estimate is
    about 15 % (0.7 dB) low, because the quietest frames are quiet partly by chance.

    ``method="percentile"``: per bin, the ``fraction`` quantile over frames, divided by
    ``-ln(1 - fraction)`` -- the quantile of exponentially distributed (Gaussian-noise)
    power -- so that stationary noise is estimated without bias. Bins are treated
    independently, so a loud event in some bins does not hide the others' quiet frames.
    """
    power = np.asarray(power_spec, dtype=np.float64)
    if power.ndim != 2 or power.shape[1] == 0:
        raise UserError(f"noise estimate needs a (bins, frames) power spectrogram, got shape {power.shape}")
    if method not in NOISE_METHODS:
        raise UserError(f"noise method {method!r}: choose one of {', '.join(NOISE_METHODS)}")
    if not 0.0 < fraction <= 1.0 or (method == "percentile" and fraction == 1.0):
        raise UserError(f"noise fraction {fraction}: must be above 0 and at most 1 (below 1 for 'percentile')")
    energy = power.sum(axis=0)
    audible = power[:, energy > 0]
    if audible.shape[1] == 0:  # all digital silence: the noise is zero
        return np.zeros(power.shape[0])
    if method == "percentile":
        return np.quantile(audible, fraction, axis=1) / -math.log1p(-fraction)
    n_quiet = max(1, math.ceil(fraction * audible.shape[1]))
    quietest = np.argsort(audible.sum(axis=0), kind="stable")[:n_quiet]
    return audible[:, quietest].mean(axis=1)


def noise_psd_of_clip(y_noise: np.ndarray, *, n_fft: int = SPEC.n_fft, hop_length: int = SPEC.hop_length,
                      window: str = SPEC.window) -> np.ndarray:
    """Noise PSD (bins,) of a noise-only clip: mean |STFT|**2 per bin over all its frames.

    For the ``*_stft`` denoisers when a stretch of background without calls is known.
    The first and last frames (half zero padding) are left out. STFT settings in samples.
    """
    power = np.abs(stft(checked_audio(y_noise, "y_noise"), n_fft, hop_length, window)) ** 2
    return _interior_frames(power).astype(np.float64).mean(axis=1)


def _interior_frames(power: np.ndarray) -> np.ndarray:
    """Drop the first and last frame of a centred STFT: half of each is zero padding."""
    return power[:, 1:-1] if power.shape[1] > 2 else power


def _noise_psd_from_audio(spectrum: np.ndarray, noise_psd: np.ndarray | None, y_noise: np.ndarray | None,
                          n_fft: int, hop_length: int, window: str, fraction: float,
                          method: str) -> np.ndarray:
    """The noise PSD a whole-signal denoiser uses: given, from noise-only audio, or estimated."""
    if noise_psd is not None:
        return _checked_psd(noise_psd, spectrum.shape[0])
    if y_noise is not None:
        return noise_psd_of_clip(y_noise, n_fft=n_fft, hop_length=hop_length, window=window)
    return estimate_noise_psd(_interior_frames(np.abs(spectrum) ** 2), fraction=fraction, method=method)


def _checked_psd(noise_psd: np.ndarray, n_bins: int) -> np.ndarray:
    psd = np.asarray(noise_psd, dtype=np.float64)
    if psd.shape == (n_bins + 1,):  # a full-height PSD for a tile whose Nyquist row was dropped
        psd = psd[:n_bins]
    if psd.shape != (n_bins,):
        raise UserError(f"noise_psd has shape {psd.shape}; the spectrum has {n_bins} bins")
    if np.any(psd < 0) or not np.all(np.isfinite(psd)):
        raise UserError("noise_psd must be finite and non-negative (it is a power)")
    return psd


def _stft_noise_psd(spectrum: np.ndarray, noise_psd: np.ndarray | None, fraction: float,
                    method: str) -> np.ndarray:
    if noise_psd is not None:
        return _checked_psd(noise_psd, spectrum.shape[0])
    return estimate_noise_psd(np.abs(spectrum) ** 2, fraction=fraction, method=method)


# --------------------------------------------------------------------------- spectral subtraction

def spectral_subtraction_stft(spectrum: np.ndarray, noise_psd: np.ndarray | None = None, *,
                              oversubtraction: float = 2.0, spectral_floor: float = 0.01,
                              floor_reference: str = "noise", exponent: float = 1.0,
                              noise_fraction: float = 0.1,
                              noise_method: str = "quietest_frames") -> np.ndarray:
    """Spectral subtraction (Boll 1979; over-subtraction and floor of Berouti et al. 1979) on an STFT.

    ``spectrum``: complex STFT (bins, frames). ``noise_psd``: noise power per bin (bins,);
    if None it is estimated from ``spectrum`` with :func:`estimate_noise_psd`
    (``noise_fraction``, ``noise_method``). Returns the denoised complex STFT, same shape,
    with the mixture's phase.

    With N = sqrt(noise_psd) and g = ``exponent`` (1 subtracts magnitudes, 2 powers):
        |S|**g = max(|Y|**g - oversubtraction * N**g,  (spectral_floor * R)**g)
    where R is N (``floor_reference="noise"``) or |Y| (``"mixture"``). The floor keeps every
    magnitude non-negative (a negative one would flip the phase) and masks musical noise.
    Defaults: magnitude subtraction, over-subtraction 2 (a Rayleigh noise magnitude exceeds
    twice its rms in under 2 % of bins), floor 0.01 = -40 dB below the noise.
    """
    check_positive("oversubtraction", oversubtraction, allow_zero=True)
    check_positive("spectral_floor", spectral_floor, allow_zero=True)
    check_positive("exponent", exponent)
    if floor_reference not in FLOOR_REFERENCES:
        raise UserError(f"floor_reference {floor_reference!r}: choose one of {', '.join(FLOOR_REFERENCES)}")
    spectrum = np.asarray(spectrum)
    noise_mag = np.sqrt(_stft_noise_psd(spectrum, noise_psd, noise_fraction, noise_method))[:, None]
    mixture_mag = np.abs(spectrum).astype(np.float64)
    reference = noise_mag if floor_reference == "noise" else mixture_mag
    subtracted = mixture_mag ** exponent - oversubtraction * noise_mag ** exponent
    clean_mag = np.maximum(subtracted, (spectral_floor * reference) ** exponent) ** (1.0 / exponent)
    return (clean_mag * _unit_phase(spectrum)).astype(spectrum.dtype, copy=False)


def spectral_subtraction(y: np.ndarray, sr: int, *, noise_psd: np.ndarray | None = None,
                         y_noise: np.ndarray | None = None, oversubtraction: float = 2.0,
                         spectral_floor: float = 0.01, floor_reference: str = "noise",
                         exponent: float = 1.0, noise_fraction: float = 0.1,
                         noise_method: str = "quietest_frames", n_fft: int = SPEC.n_fft,
                         hop_length: int = SPEC.hop_length, window: str = SPEC.window) -> np.ndarray:
    """Denoise mono audio ``y`` by spectral subtraction; returns audio of the same length.

    The noise PSD is ``noise_psd`` if given, else the mean power of noise-only audio
    ``y_noise`` if given, else estimated from ``y``'s quietest frames (see
    :func:`estimate_noise_psd`). The subtraction settings are those of
    :func:`spectral_subtraction_stft`. STFT: ``n_fft`` and ``hop_length`` in samples, ``window``
    a scipy window name. ``sr`` (Hz) is not needed by the method; it is there so every
    baseline is called as ``f(y, sr, **settings)``.

    Example: ``clean = spectral_subtraction(noisy, 22050, oversubtraction=1.5)``
    """
    return _denoise_audio(spectral_subtraction_stft, y, noise_psd, y_noise, n_fft, hop_length, window,
                          noise_fraction, noise_method, oversubtraction=oversubtraction,
                          spectral_floor=spectral_floor, floor_reference=floor_reference,
                          exponent=exponent)


# --------------------------------------------------------------------------- Wiener filter

def wiener_gain(spectrum: np.ndarray, noise_psd: np.ndarray, *, smoothing: float = 0.98,
                min_prior_snr_db: float = -25.0, gain_floor: float = 0.0) -> np.ndarray:
    """Wiener gains SNR / (1 + SNR) per bin, a priori SNR by the decision-directed rule.

    ``spectrum``: complex STFT (bins, frames); ``noise_psd``: noise power per bin (bins,).
    Returns real gains (bins, frames) in [``gain_floor``, 1).

    Decision-directed a priori SNR (Ephraim & Malah 1984), with gamma = |Y|**2 / noise_psd:
        xi_t = smoothing * G_{t-1}**2 * gamma_{t-1} + (1 - smoothing) * max(gamma_t - 1, 0)
    floored at ``min_prior_snr_db`` (dB; -25 dB after Cappe 1994, limits musical noise).
    The first frame uses max(gamma - 1, 0). ``gain_floor`` (linear, 0..1) bounds the gain
    applied, not the recursion.
    """
    if not 0.0 <= smoothing < 1.0:
        raise UserError(f"smoothing {smoothing}: must be in [0, 1)")
    if not 0.0 <= gain_floor <= 1.0:
        raise UserError(f"gain_floor {gain_floor}: must be in [0, 1]")
    power = np.abs(np.asarray(spectrum)).astype(np.float64) ** 2
    noise = np.maximum(_checked_psd(noise_psd, power.shape[0]), EPS)
    posterior_snr = power / noise[:, None]
    min_prior_snr = 10.0 ** (min_prior_snr_db / 10.0)
    gains = np.empty_like(posterior_snr)
    previous_clean_snr = None  # |S_{t-1}|**2 / noise, from the previous frame's gain
    for t in range(posterior_snr.shape[1]):  # the recursion runs along time; bins are vectorised
        instantaneous = np.maximum(posterior_snr[:, t] - 1.0, 0.0)
        if previous_clean_snr is None:
            prior_snr = instantaneous
        else:
            prior_snr = smoothing * previous_clean_snr + (1.0 - smoothing) * instantaneous
        prior_snr = np.maximum(prior_snr, min_prior_snr)
        gains[:, t] = prior_snr / (1.0 + prior_snr)
        previous_clean_snr = gains[:, t] ** 2 * posterior_snr[:, t]
    return np.maximum(gains, gain_floor)


def wiener_filter_stft(spectrum: np.ndarray, noise_psd: np.ndarray | None = None, *,
                       smoothing: float = 0.98, min_prior_snr_db: float = -25.0,
                       gain_floor: float = 0.0, noise_fraction: float = 0.1,
                       noise_method: str = "quietest_frames") -> np.ndarray:
    """STFT-domain Wiener filter: ``wiener_gain(...) * spectrum`` (complex, same shape, mixture phase).

    ``noise_psd`` (bins,) is estimated from ``spectrum`` when None (``noise_fraction``,
    ``noise_method``; see :func:`estimate_noise_psd`); the gain settings are those of
    :func:`wiener_gain`. Not ``scipy.signal.wiener``, which is a local-mean image filter.
    """
    spectrum = np.asarray(spectrum)
    psd = _stft_noise_psd(spectrum, noise_psd, noise_fraction, noise_method)
    gains = wiener_gain(spectrum, psd, smoothing=smoothing, min_prior_snr_db=min_prior_snr_db,
                        gain_floor=gain_floor)
    return (gains * spectrum).astype(spectrum.dtype, copy=False)


def wiener_filter(y: np.ndarray, sr: int, *, noise_psd: np.ndarray | None = None,
                  y_noise: np.ndarray | None = None, smoothing: float = 0.98,
                  min_prior_snr_db: float = -25.0, gain_floor: float = 0.0,
                  noise_fraction: float = 0.1, noise_method: str = "quietest_frames",
                  n_fft: int = SPEC.n_fft, hop_length: int = SPEC.hop_length,
                  window: str = SPEC.window) -> np.ndarray:
    """Denoise mono audio ``y`` with an STFT-domain Wiener filter; returns audio of the same length.

    Gain SNR / (1 + SNR) per time-frequency bin with the decision-directed a priori SNR
    (see :func:`wiener_gain`; ``smoothing`` is Ephraim-Malah's alpha). The noise PSD comes
    from ``noise_psd``, else noise-only audio ``y_noise``, else ``y``'s quietest frames.
    STFT settings in samples; ``sr`` (Hz) is unused by the method and kept so every
    baseline is called as ``f(y, sr, **settings)``.

    This is not ``scipy.signal.wiener``: that one is a local-statistics filter for images
    (or waveforms), with no noise spectrum and no time-frequency gain.

    Example: ``clean = wiener_filter(noisy, 22050, y_noise=background_only)``
    """
    return _denoise_audio(wiener_filter_stft, y, noise_psd, y_noise, n_fft, hop_length, window,
                          noise_fraction, noise_method, smoothing=smoothing,
                          min_prior_snr_db=min_prior_snr_db, gain_floor=gain_floor)


def _denoise_audio(stft_denoiser, y, noise_psd, y_noise, n_fft, hop_length, window, noise_fraction,
                   noise_method, **settings) -> np.ndarray:
    """Audio -> STFT -> ``stft_denoiser`` -> ISTFT, with the noise PSD chosen as documented."""
    y = checked_audio(y)
    spectrum = stft(y, n_fft, hop_length, window)
    psd = _noise_psd_from_audio(spectrum, noise_psd, y_noise, n_fft, hop_length, window,
                                noise_fraction, noise_method)
    denoised = stft_denoiser(spectrum, psd, **settings)
    return istft(denoised, n_fft, hop_length, window, length=len(y))


def _unit_phase(spectrum: np.ndarray) -> np.ndarray:
    """exp(i * phase) of each bin; 1 where the bin is exactly 0."""
    magnitude = np.abs(spectrum)
    return np.where(magnitude > 0, spectrum / np.where(magnitude > 0, magnitude, 1.0), 1.0)


# --------------------------------------------------------------------------- spectral gating

def spectral_gating(y: np.ndarray, sr: int, *, stationary: bool = False, y_noise: np.ndarray | None = None,
                    prop_decrease: float = 1.0, n_std_thresh_stationary: float = 1.5,
                    time_constant_s: float = 2.0, thresh_n_mult_nonstationary: float = 2.0,
                    sigmoid_slope_nonstationary: float = 10.0, freq_mask_smooth_hz: float = 500.0,
                    time_mask_smooth_ms: float = 50.0, n_fft: int = SPEC.n_fft,
                    hop_length: int = SPEC.hop_length, n_jobs: int = 1) -> np.ndarray:
    """Spectral gating with ``noisereduce.reduce_noise`` (v3), the tool ecologists use today.

    ``y``: mono audio at ``sr`` Hz. Returns denoised audio, same length and dtype.

    ``stationary=True``: a bin passes where its level (dB) exceeds the mean plus
    ``n_std_thresh_stationary`` standard deviations of that frequency's level in ``y_noise``
    (noise-only audio; without it, in ``y`` itself -- calls included -- or its first
    600 000 samples). ``stationary=False`` (noisereduce's default): a bin passes where it
    stands ``thresh_n_mult_nonstationary`` times above a noise floor smoothed over
    ``time_constant_s`` seconds, through a sigmoid of slope ``sigmoid_slope_nonstationary``.
    The binary mask is smoothed over ``freq_mask_smooth_hz`` Hz and ``time_mask_smooth_ms`` ms;
    ``prop_decrease`` (0..1) is how much of the gated part is removed.

    The gating settings keep noisereduce's own defaults, so results match what its users
    get. Two consequences worth knowing: the stationary gate without ``y_noise`` removes a
    call that sounds through much of ``y`` (it raises its own threshold), and the 500 Hz
    mask smoothing averages a narrowband (whistled, tonal) call's mask with its silent
    neighbours and attenuates it; for tonal calls give ``y_noise`` and a smaller
    ``freq_mask_smooth_hz`` (at least ``2 * sr / n_fft`` Hz, noisereduce's minimum).

    noisereduce computes its own STFT (scipy, Hann window); we pass ``n_fft`` and
    ``hop_length`` (samples, defaults those of :class:`SpecParams`, not noisereduce's
    1024 / 256) so its time-frequency resolution matches the other baselines. For a
    spectrogram to compare, take ``util.signal.audio.stft`` of the output.
    """
    import noisereduce  # imported here: only this baseline needs it

    y = checked_audio(y)
    if y_noise is not None:
        y_noise = checked_audio(y_noise, "y_noise")
    if not 0.0 <= prop_decrease <= 1.0:
        raise UserError(f"prop_decrease {prop_decrease}: must be in [0, 1]")
    try:
        out = noisereduce.reduce_noise(
            y=y, sr=sr, stationary=stationary, y_noise=y_noise, prop_decrease=prop_decrease,
            n_std_thresh_stationary=n_std_thresh_stationary, time_constant_s=time_constant_s,
            thresh_n_mult_nonstationary=thresh_n_mult_nonstationary,
            sigmoid_slope_nonstationary=sigmoid_slope_nonstationary,
            freq_mask_smooth_hz=freq_mask_smooth_hz, time_mask_smooth_ms=time_mask_smooth_ms,
            n_fft=n_fft, hop_length=hop_length, n_jobs=n_jobs, use_tqdm=False)
    except ValueError as exc:  # noisereduce's checks of the smoothing sizes name the minimum
        raise UserError(f"spectral gating (noisereduce): {exc}") from None
    return np.asarray(out, dtype=y.dtype)
