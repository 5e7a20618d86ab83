"""The path from a calling animal to the microphone (job00 --propagation): distance filtering and reverberation.

A dry source model is a near-field recording. In the field a call has travelled 5-100 m through air and
vegetation: high frequencies fade faster with distance (excess attenuation, here ``a`` dB per kHz per 100 m,
``a`` drawn for each call from :data:`EXCESS_DB_PER_KHZ_100M`), and the forest adds a reverberant tail
(here an exponentially decaying noise impulse response with a drawn reverberation time, whose part above
3 kHz decays faster), relatively louder the farther the source: the direct-to-reverberant ratio is
``20 log10(CRITICAL_DISTANCE_M / d)`` dB. The level is set afterwards by the drawn SNR, as for a dry call,
so distance changes the call's shape, not its loudness in the clip; the truth is computed from the
propagated part, so a loud tail is labelled as its source, as an annotator painting the spectrogram would.
"""

from __future__ import annotations

import numpy as np
from numpy.random import Generator
from scipy.signal import fftconvolve

DISTANCE_RANGE_M = (5.0, 100.0)        # drawn log-uniformly
EXCESS_DB_PER_KHZ_100M = (1.0, 4.0)    # excess attenuation slope, drawn uniformly (open habitat .. dense forest)
RT60_RANGE_S = (0.2, 1.2)              # reverberation time at low frequencies, drawn uniformly
CRITICAL_DISTANCE_M = 10.0             # where direct and reverberant energy are equal
SPLIT_HZ = 3000.0                      # the tail's high part (above) decays faster than its low part
HIGH_DECAY_FACTOR = 3.0                # how many times faster


def draw_path(rng: Generator) -> dict:
    """One call's path: distance (m), excess attenuation slope (dB / kHz / 100 m), reverberation time (s)."""
    low, high = np.log(DISTANCE_RANGE_M)
    return {"distance_m": float(np.exp(rng.uniform(low, high))),
            "excess_db_per_khz_100m": float(rng.uniform(*EXCESS_DB_PER_KHZ_100M)),
            "rt60_s": float(rng.uniform(*RT60_RANGE_S))}


def distance_filter(audio: np.ndarray, sr: int, distance_m: float, excess_db_per_khz_100m: float) -> np.ndarray:
    """``audio`` with each frequency f attenuated by slope x f (kHz) x distance / 100 m dB (zero phase)."""
    spectrum = np.fft.rfft(audio.astype(np.float64))
    khz = np.fft.rfftfreq(len(audio), 1.0 / sr) / 1000.0
    spectrum *= 10.0 ** (-excess_db_per_khz_100m * khz * distance_m / 100.0 / 20.0)
    return np.fft.irfft(spectrum, n=len(audio))


def reverb_tail(rng: Generator, sr: int, rt60_s: float) -> np.ndarray:
    """A unit-energy impulse response ``rt60_s`` long: white noise whose part below :data:`SPLIT_HZ` decays
    by 60 dB over ``rt60_s`` and whose part above decays :data:`HIGH_DECAY_FACTOR` times faster."""
    n = max(int(rt60_s * sr), 1)
    noise = rng.standard_normal(n)
    low = np.fft.irfft(np.fft.rfft(noise) * (np.fft.rfftfreq(n, 1.0 / sr) < SPLIT_HZ), n=n)
    decay = np.log(1000.0) / rt60_s * np.arange(n) / sr          # 60 dB of amplitude over rt60_s
    tail = low * np.exp(-decay) + (noise - low) * np.exp(-decay * HIGH_DECAY_FACTOR)
    return tail / max(float(np.sqrt(np.sum(tail ** 2))), 1e-12)


def propagate(rng: Generator, audio: np.ndarray, sr: int) -> np.ndarray:
    """``audio`` (a placed dry call, float32) as heard from a drawn distance: distance-filtered, plus its
    reverberant tail at the distance's direct-to-reverberant ratio; same length, float32."""
    path = draw_path(rng)
    direct = distance_filter(audio, sr, path["distance_m"], path["excess_db_per_khz_100m"])
    tail = reverb_tail(rng, sr, path["rt60_s"])
    wet = fftconvolve(direct, tail)[:len(audio)]
    direct_energy, wet_energy = float(np.sum(direct ** 2)), float(np.sum(wet ** 2))
    if wet_energy > 0:
        drr = (CRITICAL_DISTANCE_M / path["distance_m"]) ** 2       # direct / reverberant energy
        wet *= np.sqrt(direct_energy / (drr * wet_energy))
    return (direct + wet).astype(np.float32)
