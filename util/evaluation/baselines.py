"""Classical baselines for denoising and source separation, to compare the GAN against.

Each baseline is a function on numpy arrays whose every setting is a keyword
argument with a default, in noisereduce's style. The denoisers come in pairs:

    spectral_subtraction(y, sr, ...)      -> denoised audio (same length as ``y``)
    spectral_subtraction_stft(Y, ...)     -> denoised complex STFT, same shape as ``Y``
    wiener_filter(y, sr, ...)             -> denoised audio
    wiener_filter_stft(Y, ...)            -> denoised complex STFT
    spectral_gating(y, sr, ...)           -> denoised audio (noisereduce)
    estimate_noise_psd(|Y|**2, ...), noise_psd_of_clip(y_noise, ...) -> noise power per bin
    NMFSeparator(...).fit(...).separate(y) -> {source name: audio}

so a caller can judge audio on the waveform and spectrograms bin by bin (the
``*_stft`` forms keep the mixture phase and the shape of their input, including
a spectrogram tile whose Nyquist row was dropped).

Units: audio in samples at ``sr`` Hz, STFTs as :func:`util.signal.audio.stft` returns
them (complex, bins x frames, unnormalised), and a noise PSD as the mean squared
STFT magnitude per bin in those same units, shape (bins,). Every STFT goes
through :mod:`util.audio`; its defaults come from :class:`util.signal.spectrogram.SpecParams`.

Honest names: :func:`wiener_filter` is the STFT-domain Wiener gain of speech
enhancement, not ``scipy.signal.wiener`` (a local-statistics image filter).
"""

from __future__ import annotations

import math
import warnings
from typing import Mapping, Sequence

import numpy as np

from util.signal.audio import istft, stft
from util.errors import UserError
from util.signal.spectrogram import SpecParams

_SPEC = SpecParams()
NOISE_METHODS = ("quietest_frames", "percentile")
FLOOR_REFERENCES = ("noise", "mixture")
BETA_LOSSES = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}
_EPS = 1e-12  # guards divisions; far below any audible STFT magnitude (full scale ~ 128)


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


def noise_psd_of_clip(y_noise: np.ndarray, *, n_fft: int = _SPEC.n_fft, hop_length: int = _SPEC.hop_length,
                      window: str = _SPEC.window) -> np.ndarray:
    """Noise PSD (bins,) of a noise-only clip: mean |STFT|**2 per bin over all its frames.

    For the ``*_stft`` denoisers when a stretch of background without calls is known.
    The first and last frames (half zero padding) are left out. STFT settings in samples.
    """
    power = np.abs(stft(_checked_audio(y_noise, "y_noise"), n_fft, hop_length, window)) ** 2
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


def _checked_audio(y: np.ndarray, name: str = "y") -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise UserError(f"{name}: expected mono audio, a non-empty 1-D array; got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise UserError(f"{name}: contains NaN or infinite samples")
    return y


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
    _check_positive("oversubtraction", oversubtraction, allow_zero=True)
    _check_positive("spectral_floor", spectral_floor, allow_zero=True)
    _check_positive("exponent", exponent)
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
                         noise_method: str = "quietest_frames", n_fft: int = _SPEC.n_fft,
                         hop_length: int = _SPEC.hop_length, window: str = _SPEC.window) -> np.ndarray:
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
    noise = np.maximum(_checked_psd(noise_psd, power.shape[0]), _EPS)
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
                  n_fft: int = _SPEC.n_fft, hop_length: int = _SPEC.hop_length,
                  window: str = _SPEC.window) -> np.ndarray:
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
    y = _checked_audio(y)
    spectrum = stft(y, n_fft, hop_length, window)
    psd = _noise_psd_from_audio(spectrum, noise_psd, y_noise, n_fft, hop_length, window,
                                noise_fraction, noise_method)
    denoised = stft_denoiser(spectrum, psd, **settings)
    return istft(denoised, n_fft, hop_length, window, length=len(y))


def _unit_phase(spectrum: np.ndarray) -> np.ndarray:
    """exp(i * phase) of each bin; 1 where the bin is exactly 0."""
    magnitude = np.abs(spectrum)
    return np.where(magnitude > 0, spectrum / np.where(magnitude > 0, magnitude, 1.0), 1.0)


def _check_positive(name: str, value: float, allow_zero: bool = False) -> None:
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise UserError(f"{name} {value}: must be {'non-negative' if allow_zero else 'positive'}")


# --------------------------------------------------------------------------- spectral gating

def spectral_gating(y: np.ndarray, sr: int, *, stationary: bool = False, y_noise: np.ndarray | None = None,
                    prop_decrease: float = 1.0, n_std_thresh_stationary: float = 1.5,
                    time_constant_s: float = 2.0, thresh_n_mult_nonstationary: float = 2.0,
                    sigmoid_slope_nonstationary: float = 10.0, freq_mask_smooth_hz: float = 500.0,
                    time_mask_smooth_ms: float = 50.0, n_fft: int = _SPEC.n_fft,
                    hop_length: int = _SPEC.hop_length, n_jobs: int = 1) -> np.ndarray:
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

    y = _checked_audio(y)
    if y_noise is not None:
        y_noise = _checked_audio(y_noise, "y_noise")
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


# --------------------------------------------------------------------------- supervised NMF

class NMFSeparator:
    """Supervised NMF source separation with soft masks (Smaragdis 2007; Virtanen 2007 style).

    ``fit`` learns ``n_components_per_source`` basis spectra W_s per source from the
    magnitude STFT of that source's training audio (scikit-learn's NMF, multiplicative
    updates, ``beta_loss``). ``separate`` keeps the stacked bases W = [W_1 ... W_S] fixed and
    fits only the activations H to the mixture magnitude V ~ W H (multiplicative updates,
    ``n_iter_separate`` iterations), then masks the mixture:
        M_s = (W_s H_s)**mask_power / sum_r (W_r H_r)**mask_power
    (``mask_power=2``: Wiener-like power ratio; 1: magnitude ratio). The masks sum to 1, and
    audio is rebuilt with the mixture's phase (ISTFT).

    Pass noise-only audio as ``fit(..., background=[...])`` to learn a background source
    (``n_background_components`` bases, named ``background_name``): without it the noise
    has to be shared out among the sources.

    With W fixed, each frame's activations are independent of the others, so mixtures are
    processed ``block_frames`` frames at a time with identical results and bounded memory.

    Example::

        sep = NMFSeparator(n_components_per_source=8).fit({"owl": owl_clips, "cuckoo": cuckoo_clips},
                                                            background=noise_clips)
        parts = sep.separate(mixture)          # {"owl": audio, "cuckoo": audio, "background": audio}
    """

    def __init__(self, n_components_per_source: int = 8, *, beta_loss: str | float = "kullback-leibler",
                 n_iter: int = 300, n_iter_separate: int = 100, mask_power: float = 2.0,
                 n_background_components: int | None = None, background_name: str = "background",
                 random_state: int | None = 0, block_frames: int = 4096, n_fft: int = _SPEC.n_fft,
                 hop_length: int = _SPEC.hop_length, window: str = _SPEC.window):
        """Settings (all keyword arguments but the first):

        n_components_per_source: basis spectra per source.
        beta_loss: 'kullback-leibler' (default; suits magnitude spectra), 'frobenius',
            'itakura-saito', or a beta in scikit-learn's sense; used in fitting and separating.
        n_iter: iterations when learning bases (scikit-learn's ``max_iter``, tol 1e-4).
        n_iter_separate: multiplicative updates of the activations on a mixture.
        mask_power: exponent p of the soft masks (2 = Wiener-like, 1 = ratio mask).
        n_background_components: bases of the background source (default: as a source).
        background_name: key of the background source in the outputs.
        random_state: seed of the basis initialisation (NNDSVD with small random fill-in).
        block_frames: frames of mixture processed at a time.
        n_fft, hop_length (samples), window: the STFT, as :func:`util.signal.audio.stft`.
        """
        if isinstance(beta_loss, str) and beta_loss not in BETA_LOSSES:
            raise UserError(f"beta_loss {beta_loss!r}: choose one of {', '.join(BETA_LOSSES)} or a number")
        for name, value in (("n_components_per_source", n_components_per_source), ("n_iter", n_iter),
                            ("n_iter_separate", n_iter_separate), ("block_frames", block_frames)):
            if int(value) != value or value < 1:
                raise UserError(f"{name} {value}: must be a positive integer")
        _check_positive("mask_power", mask_power)
        self.n_components_per_source = int(n_components_per_source)
        self.beta_loss = beta_loss
        self.n_iter = int(n_iter)
        self.n_iter_separate = int(n_iter_separate)
        self.mask_power = float(mask_power)
        self.n_background_components = n_background_components
        self.background_name = background_name
        self.random_state = random_state
        self.block_frames = int(block_frames)
        self.n_fft, self.hop_length, self.window = n_fft, hop_length, window
        self.bases_: dict[str, np.ndarray] = {}  # source name -> W_s (bins, components), columns sum to 1

    @property
    def beta(self) -> float:
        return BETA_LOSSES[self.beta_loss] if isinstance(self.beta_loss, str) else float(self.beta_loss)

    @property
    def source_names(self) -> list[str]:
        return list(self.bases_)

    # ---- learning

    def fit(self, sources: Mapping[str, Sequence[np.ndarray]],
            background: Sequence[np.ndarray] | None = None) -> "NMFSeparator":
        """Learn basis spectra per source from training audio; returns self.

        ``sources``: {name: [mono audio arrays at the working rate]}, each list holding only
        that source. ``background``: optional noise-only audio, learned as one more source.
        """
        if not sources:
            raise UserError("NMF needs training audio for at least one source")
        if background is not None and self.background_name in sources:
            raise UserError(f"source name {self.background_name!r} is taken by the background; "
                            f"rename the source or pass background_name=")
        bases = {name: self._learn_bases(name, clips, self.n_components_per_source)
                 for name, clips in sources.items()}
        if background is not None:
            n_background = self.n_background_components or self.n_components_per_source
            bases[self.background_name] = self._learn_bases(self.background_name, background, n_background)
        self.bases_ = bases
        return self

    def _learn_bases(self, name: str, clips: Sequence[np.ndarray], n_components: int) -> np.ndarray:
        from sklearn.decomposition import NMF  # imported here: only NMF needs scikit-learn
        from sklearn.exceptions import ConvergenceWarning

        if isinstance(clips, np.ndarray) and clips.ndim == 1:
            clips = [clips]  # one clip given bare
        if len(clips) == 0:
            raise UserError(f"NMF source {name!r}: no training audio")
        magnitude = np.concatenate([self._magnitude(_checked_audio(c, f"training audio of {name!r}"))
                                    for c in clips], axis=1)
        if magnitude.shape[1] < n_components:
            raise UserError(f"NMF source {name!r}: its training audio gives {magnitude.shape[1]} STFT frames, "
                            f"fewer than the {n_components} components asked for; give more audio or fewer components")
        if not np.any(magnitude > 0):
            raise UserError(f"NMF source {name!r}: the training audio is silent")
        model = NMF(n_components=n_components, init="nndsvdar", solver="mu", beta_loss=self.beta_loss,
                    max_iter=self.n_iter, tol=1e-4, random_state=self.random_state)
        with warnings.catch_warnings():  # stopping at n_iter is the documented behaviour, not a fault
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(magnitude.T)  # scikit-learn factorises (samples=frames, features=bins)
        bases = model.components_.T.astype(np.float64)
        return bases / np.maximum(bases.sum(axis=0, keepdims=True), _EPS)

    def _magnitude(self, y: np.ndarray) -> np.ndarray:
        return np.abs(stft(y, self.n_fft, self.hop_length, self.window)).astype(np.float64)

    # ---- separating

    def masks(self, spectrum: np.ndarray) -> dict[str, np.ndarray]:
        """Soft masks in [0, 1] per source, shape of ``spectrum`` (bins, frames), summing to 1.

        ``spectrum`` may have n_fft//2 + 1 rows or n_fft//2 (a tile without the Nyquist row).
        A bin that no source's model explains at all is shared equally.
        """
        bases = self._bases_for(np.asarray(spectrum).shape[0])
        magnitude = np.abs(np.asarray(spectrum)).astype(np.float32)  # float32: about twice as fast
        stacked = np.concatenate(list(bases.values()), axis=1).astype(np.float32)
        masks = {name: np.empty(magnitude.shape, np.float32) for name in bases}
        for start in range(0, magnitude.shape[1], self.block_frames):
            block = slice(start, start + self.block_frames)
            activations = self._fit_activations(magnitude[:, block], stacked)
            for name, mask in self._block_masks(bases, activations).items():
                masks[name][:, block] = mask
        return masks

    def separate_stft(self, spectrum: np.ndarray) -> dict[str, np.ndarray]:
        """Masked mixture STFT per source: {name: mask * spectrum} (complex, same shape)."""
        spectrum = np.asarray(spectrum)
        return {name: (mask * spectrum).astype(spectrum.dtype, copy=False)
                for name, mask in self.masks(spectrum).items()}

    def separate(self, mixture: np.ndarray, sr: int | None = None) -> dict[str, np.ndarray]:
        """Separate mono audio: {source name: audio of the mixture's length}, mixture phase.

        ``sr`` (Hz) is accepted for a uniform ``f(y, sr)`` call and not used: the bases
        already fix the rate the training audio had.
        """
        mixture = _checked_audio(mixture, "mixture")
        spectrum = stft(mixture, self.n_fft, self.hop_length, self.window)
        return {name: istft(part, self.n_fft, self.hop_length, self.window, length=len(mixture))
                for name, part in self.separate_stft(spectrum).items()}

    def _bases_for(self, n_rows: int) -> dict[str, np.ndarray]:
        if not self.bases_:
            raise UserError("NMFSeparator: call fit() with training audio before separating")
        n_bins = next(iter(self.bases_.values())).shape[0]
        if n_rows not in (n_bins, n_bins - 1):
            raise UserError(f"spectrum has {n_rows} rows; the bases were learned with {n_bins} bins "
                            f"(n_fft {self.n_fft})")
        return {name: w[:n_rows] for name, w in self.bases_.items()}

    def _fit_activations(self, magnitude: np.ndarray, bases: np.ndarray) -> np.ndarray:
        """Multiplicative beta-divergence updates of H with W fixed (Fevotte & Idier 2011)."""
        beta = self.beta
        column_mass = np.maximum(bases.sum(axis=0), _EPS)
        # start each frame's activations evenly, at the level that matches its total magnitude
        activations = np.tile(magnitude.sum(axis=0) / column_mass.sum(), (bases.shape[1], 1)) + np.float32(_EPS)
        for _ in range(self.n_iter_separate):
            model = bases @ activations + _EPS
            if beta == 1.0:  # Kullback-Leibler: denominator is each basis's mass
                numerator, denominator = bases.T @ (magnitude / model), column_mass[:, None]
            elif beta == 2.0:  # Euclidean
                numerator, denominator = bases.T @ magnitude, bases.T @ model
            else:
                numerator = bases.T @ (magnitude * model ** (beta - 2.0))
                denominator = bases.T @ model ** (beta - 1.0)
            activations *= numerator / (denominator + _EPS)
        return activations

    def _block_masks(self, bases: dict[str, np.ndarray], activations: np.ndarray) -> dict[str, np.ndarray]:
        """M_s = (W_s H_s)**p / sum_r (W_r H_r)**p for one block of frames (float64: no underflow)."""
        powered, row = {}, 0
        for name, w in bases.items():
            powered[name] = (w @ activations[row:row + w.shape[1]].astype(np.float64)) ** self.mask_power
            row += w.shape[1]
        total = sum(powered.values())
        explained = total > 0
        safe_total = np.where(explained, total, 1.0)
        return {name: np.where(explained, part / safe_total, 1.0 / len(powered)) for name, part in powered.items()}
