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
through :mod:`util.signal.audio`; its defaults come from :class:`util.signal.spectrogram.SpecParams`.

Honest names: :func:`wiener_filter` is the STFT-domain Wiener gain of speech
enhancement, not ``scipy.signal.wiener`` (a local-statistics image filter).

Modules: ``checks`` (input checks and STFT defaults), ``denoisers`` (noise estimate, spectral
subtraction, Wiener filter, spectral gating), ``nmf`` (supervised NMF). Imports numpy and
:mod:`util.signal` (noisereduce and scikit-learn only when their baseline runs).
"""

from __future__ import annotations

from util.evaluation.baselines.denoisers import (
                                                 FLOOR_REFERENCES,
                                                 NOISE_METHODS,
                                                 estimate_noise_psd,
                                                 noise_psd_of_clip,
                                                 spectral_gating,
                                                 spectral_subtraction,
                                                 spectral_subtraction_stft,
                                                 wiener_filter,
                                                 wiener_filter_stft,
                                                 wiener_gain,
)
from util.evaluation.baselines.nmf import BETA_LOSSES, NMFSeparator

__all__ = ["BETA_LOSSES", "FLOOR_REFERENCES", "NOISE_METHODS", "NMFSeparator", "estimate_noise_psd",
           "noise_psd_of_clip", "spectral_gating", "spectral_subtraction", "spectral_subtraction_stft",
           "wiener_filter", "wiener_filter_stft", "wiener_gain"]
