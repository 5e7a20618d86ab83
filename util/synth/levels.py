"""Measuring a source in a clip: its active part, its band, its level and its SNR.

Our own definitions (the published method does not state them):

* **Active part** of a source: the ``ACTIVE_BLOCK_S`` (10 ms) blocks whose power is within ``ACTIVE_DB``
  (20 dB) of the source's loudest block.
* **Band** of an event: the frequencies between the 1st and 99th percentile of its energy spectrum
  (:func:`event_band_hz`).
* **SNR** of an event, in dB: source power over background power, both over the source's active blocks,
  the background first band-limited to the event's band (a Raven-style time x frequency box).

Imports only :mod:`util.synth.dsp`.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from util.synth.dsp import band_limit, to_samples

ACTIVE_BLOCK_S = 0.01          # block length for the active part, s
ACTIVE_DB = 20.0               # active blocks: within this many dB of the loudest block
EVENT_BAND_FRACTION = 0.98     # an event's band holds this share of its energy


def block_power(x: np.ndarray, block: int) -> np.ndarray:
    """Mean power of each ``block`` samples of ``x`` (the last block zero-padded)."""
    n_blocks = -(-len(x) // block)
    padded = np.zeros(n_blocks * block)
    padded[:len(x)] = x
    return np.mean(padded.reshape(n_blocks, block) ** 2, axis=1)


def active_blocks(source: np.ndarray, sr: int, active_db: float = ACTIVE_DB,
                  block_s: float = ACTIVE_BLOCK_S) -> np.ndarray:
    """Boolean per ``block_s`` block: the source's power is within ``active_db`` dB of its loudest block."""
    power = block_power(np.asarray(source, np.float64), to_samples(block_s, sr))
    return power >= power.max() * 10 ** (-active_db / 10) if power.max() > 0 else np.zeros(len(power), bool)


def event_band_hz(source: np.ndarray, sr: int, energy_fraction: float = EVENT_BAND_FRACTION) -> tuple[float, float]:
    """(low_hz, high_hz) between which ``energy_fraction`` of the source's energy lies (equal tails)."""
    power = np.abs(scipy.fft.rfft(np.asarray(source, np.float64))) ** 2
    freqs = scipy.fft.rfftfreq(len(source), 1.0 / sr)
    cumulative = np.cumsum(power) / max(power.sum(), 1e-30)
    tail = (1.0 - energy_fraction) / 2
    low = freqs[min(np.searchsorted(cumulative, tail), len(freqs) - 1)]
    high = freqs[min(np.searchsorted(cumulative, 1.0 - tail), len(freqs) - 1)]
    return float(low), float(high)


def active_powers(source: np.ndarray, background: np.ndarray, sr: int,
                  band_hz: tuple[float, float]) -> tuple[float, float]:
    """(source power, in-band background power) over the source's active blocks, the SNR's two terms."""
    active = active_blocks(source, sr)
    block = to_samples(ACTIVE_BLOCK_S, sr)
    in_band = band_limit(np.asarray(background, np.float64), sr, band_hz[0], band_hz[1], taper_hz=0.0)
    p_source = block_power(np.asarray(source, np.float64), block)[active].mean()
    p_background = block_power(in_band, block)[active].mean()
    return float(p_source), float(p_background)


def snr_db(source: np.ndarray, background: np.ndarray, sr: int,
           band_hz: tuple[float, float] | None = None) -> float:
    """SNR in dB of one source against the background: power over the source's active blocks,
    the background band-limited to ``band_hz`` (default: the source's :func:`event_band_hz`)."""
    band_hz = band_hz or event_band_hz(source, sr)
    p_source, p_background = active_powers(source, background, sr, band_hz)
    if p_background <= 0:
        return float("inf")
    return float(10 * np.log10(p_source / p_background))


def level_dbfs(source: np.ndarray, sr: int) -> float:
    """RMS level in dB re full scale over the source's active blocks."""
    power = block_power(np.asarray(source, np.float64), to_samples(ACTIVE_BLOCK_S, sr))
    active = active_blocks(source, sr)
    return float(10 * np.log10(max(power[active].mean(), 1e-30))) if active.any() else -300.0


def active_span_s(source: np.ndarray, sr: int) -> tuple[float, float]:
    """(start_s, end_s) of the source's active part in the clip: first active block to last, in s."""
    active = np.flatnonzero(active_blocks(source, sr))
    block = to_samples(ACTIVE_BLOCK_S, sr)
    return active[0] * block / sr, min((active[-1] + 1) * block, len(source)) / sr
