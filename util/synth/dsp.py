"""Signal building blocks of the call models: band limits, shaped noise, sweeps, harmonics, envelopes.

Pure numpy/scipy on float64 arrays; frequencies in Hz, durations in s, ``sr`` the sample rate in Hz.
A function that draws random numbers takes a numpy Generator ``rng`` first.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

NYQUIST_FRACTION = 0.48        # sources stay below 0.48 * sr, a margin under Nyquist
NOMINAL_PEAK = 0.5             # peak of a generator's output before the mixer sets its level

Generator = np.random.Generator


def to_samples(duration_s: float, sr: int) -> int:
    """Number of samples in ``duration_s`` seconds at ``sr`` Hz (at least 1)."""
    return max(1, int(round(duration_s * sr)))


def band_gain(freqs_hz: np.ndarray, low_hz: float, high_hz: float, low_taper_hz: float = 0.0,
              high_taper_hz: float = 0.0) -> np.ndarray:
    """Gain 0 outside [low_hz, high_hz], 1 inside [low_hz + low_taper_hz, high_hz - high_taper_hz],
    raised-cosine ramps between."""
    gain = ((freqs_hz >= low_hz) & (freqs_hz <= high_hz)).astype(np.float64)
    if low_taper_hz > 0:
        gain *= np.sin(0.5 * np.pi * np.clip((freqs_hz - low_hz) / low_taper_hz, 0.0, 1.0)) ** 2
    if high_taper_hz > 0:
        gain *= np.sin(0.5 * np.pi * np.clip((high_hz - freqs_hz) / high_taper_hz, 0.0, 1.0)) ** 2
    return gain


def band_limit(y: np.ndarray, sr: int, low_hz: float, high_hz: float, taper_hz: float = 50.0) -> np.ndarray:
    """Remove everything outside [low_hz, high_hz] Hz (FFT domain; ``high_hz`` capped below Nyquist).

    The signal is zero-padded before the FFT so the filter's ringing does not wrap around.
    """
    high_hz = min(high_hz, NYQUIST_FRACTION * sr)
    n = len(y)
    n_fft = scipy.fft.next_fast_len(n + int(0.05 * sr))
    spectrum = scipy.fft.rfft(np.asarray(y, np.float64), n_fft)
    spectrum *= band_gain(scipy.fft.rfftfreq(n_fft, 1.0 / sr), low_hz, high_hz, taper_hz, taper_hz)
    return scipy.fft.irfft(spectrum, n_fft)[:n]


def shaped_noise(rng: Generator, n_samples: int, sr: int, low_hz: float, high_hz: float,
                 slope_db_per_octave: float = 0.0, rolloff_hz: float | None = None) -> np.ndarray:
    """Gaussian noise with energy only in [low_hz, high_hz], unit RMS (float64).

    ``slope_db_per_octave`` tilts the power spectrum: 0 white, -3 pink, -6 brown. The band's
    edges are raised-cosine ramps 20 Hz wide (at most a quarter of the band); ``rolloff_hz``
    widens the upper one, for a gentle roll-off instead of a cliff.
    """
    high_hz = min(high_hz, NYQUIST_FRACTION * sr)
    taper_hz = min(20.0, (high_hz - low_hz) / 4)
    freqs = scipy.fft.rfftfreq(n_samples, 1.0 / sr)
    spectrum = rng.standard_normal(len(freqs)) + 1j * rng.standard_normal(len(freqs))
    tilt = np.power(np.maximum(freqs, 1.0) / 1000.0, slope_db_per_octave / (20.0 * np.log10(2.0)))
    gain = band_gain(freqs, low_hz, high_hz, taper_hz, taper_hz if rolloff_hz is None else rolloff_hz)
    y = scipy.fft.irfft(spectrum * tilt * gain, n_samples)
    return y / max(np.sqrt(np.mean(y ** 2)), 1e-20)


def sweep(freq_hz: np.ndarray, sr: int, phase0: float = 0.0) -> np.ndarray:
    """Sine whose instantaneous frequency follows ``freq_hz`` (one value per sample)."""
    return np.sin(phase0 + 2.0 * np.pi * np.cumsum(freq_hz) / sr)


def harmonic_stack(f0_hz: np.ndarray, sr: int, amplitudes, max_hz: float) -> np.ndarray:
    """Sum of harmonics k * f0 (k = 1, 2, ...) with the given amplitudes, those above ``max_hz`` left out."""
    phase = 2.0 * np.pi * np.cumsum(f0_hz) / sr
    top = float(np.max(f0_hz))
    out = np.zeros(len(f0_hz))
    for k, amp in enumerate(amplitudes, start=1):
        if k * top < max_hz:
            out += amp * np.sin(k * phase)
    return out


def envelope(n_samples: int, sr: int, attack_s: float, release_s: float) -> np.ndarray:
    """Flat envelope with raised-cosine attack and release (each at most half the length)."""
    n_att = max(1, min(int(attack_s * sr), n_samples // 2))
    n_rel = max(1, min(int(release_s * sr), n_samples // 2))
    env = np.ones(n_samples)
    env[:n_att] = np.sin(0.5 * np.pi * np.arange(n_att) / n_att) ** 2
    env[n_samples - n_rel:] = np.cos(0.5 * np.pi * np.arange(n_rel) / n_rel) ** 2
    return env


def decay_envelope(n_samples: int, sr: int, attack_s: float, decay_s: float) -> np.ndarray:
    """Fast raised-cosine attack, exponential decay, a short fade to zero at the end."""
    t = np.arange(n_samples) / sr
    env = np.exp(-np.maximum(t - attack_s, 0.0) / decay_s)
    return env * envelope(n_samples, sr, attack_s, min(0.005, n_samples / sr / 4))


def slow_wobble(rng: Generator, n_samples: int, sr: int, max_hz: float, n_terms: int = 4) -> np.ndarray:
    """Smooth random curve in about [-1, 1]: a sum of slow sines (for gusts, revving, intonation)."""
    t = np.arange(n_samples) / sr
    freqs = rng.uniform(0.1 * max_hz, max_hz, n_terms)
    phases = rng.uniform(0, 2 * np.pi, n_terms)
    return np.sum(np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None]), axis=0) / np.sqrt(n_terms * 0.5) / 2


def db_jitter(rng: Generator, sd_db: float) -> float:
    """Random amplitude factor, normal in dB with standard deviation ``sd_db``."""
    return float(10.0 ** (rng.normal(0.0, sd_db) / 20.0))


def assemble(notes: list[tuple[float, np.ndarray]], sr: int, pad_s: float = 0.03) -> np.ndarray:
    """Sum (onset in s, audio) notes into one signal, with ``pad_s`` of silence at both ends."""
    pad = int(pad_s * sr)
    starts = [pad + int(round(onset * sr)) for onset, _ in notes]
    out = np.zeros(max(s + len(a) for s, (_, a) in zip(starts, notes)) + pad)
    for start, (_, audio) in zip(starts, notes):
        out[start:start + len(audio)] += audio
    return out


def finish(y: np.ndarray, sr: int, band_hz: tuple[float, float], taper_hz: float = 50.0) -> np.ndarray:
    """Band-limit a call to ``band_hz`` (low, high) and scale it to ``NOMINAL_PEAK``; float32."""
    y = band_limit(y, sr, band_hz[0], band_hz[1], taper_hz)
    return (y * (NOMINAL_PEAK / max(np.max(np.abs(y)), 1e-20))).astype(np.float32)
