"""Labelled synthetic soundscapes with exact ground truth (DESIGN 3.6 and 8).

Every source is a *model* of a call, built from what is published about its
structure (frequency band, note shape, rhythm); none is a recording, and each
is approximate. Each generator is pure numpy, takes a numpy Generator
``rng`` and the sample rate ``sr`` in Hz, and returns one call (a phrase, a
series or a bout) as float32 audio with a nominal peak of 0.5; its pitch,
durations and note levels vary from call to call. Every source is band-limited
in the FFT domain to its band (nothing outside it, nothing at or above
``NYQUIST_FRACTION * sr``).

A soundscape is background noise plus 0-4 sources drawn without replacement
from the eight species, ``insect`` and ``human``, each placed at a random time
(at least half of the call, or half of the clip, lies inside it; the rest is
cut). Every part is kept: ``parts`` {class slug: float32 audio} and
``background``; the mixture is their exact float32 sum.

Our own definitions (the published method does not state them):

* **Active part** of a source: the 10 ms blocks whose power is within
  ``ACTIVE_DB`` (20 dB) of the source's loudest block.
* **Band** of an event: the frequencies between the 1st and 99th percentile of
  its energy spectrum (``event_band_hz``).
* **SNR** of an event, in dB: source power over background power, both over the
  source's active blocks, the background first band-limited to the event's band
  (a Raven-style time x frequency box). Drawn from -5 to +20 dB.
* **Audibility rule** of the ground truth: a pixel belongs to the part with the
  largest STFT magnitude in that bin (background, insects and humans compete
  even where they are not labelled), if that part's level is at least
  ``audible_floor_db`` (-80 dB re full scale) and at least ``audible_margin_db``
  (3 dB) above the background in the same bin; otherwise it is background (0).

Example::

    clip = make_soundscape(np.random.default_rng(0), one_tile_n_samples())
    maps = class_maps(clip)      # {'species': uint8 (256, 256), 'community': uint8 (256, 256)}
    clip.parts, clip.background, clip.mixture, clip.events
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import zlib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np
import scipy.fft
import scipy.signal
from tqdm import tqdm

from util import __version__
from util.labels.annotations import write_raven_table
from util.signal.audio import n_frames_for, stft, write_audio
from util.errors import UserError
from util.labels.palette import Palette, load_palette
from util.labels.pairs import write_pair
from util.signal.spectrogram import SpecParams, count_tiles, iter_tiles, spectrum_to_image_db, temp_name, tile_name

NYQUIST_FRACTION = 0.48        # sources stay below 0.48 * sr, a margin under Nyquist
NOMINAL_PEAK = 0.5             # peak of a generator's output before the mixer sets its level
ACTIVE_BLOCK_S = 0.01          # block length for the active part, s
ACTIVE_DB = 20.0               # active blocks: within this many dB of the loudest block
EVENT_BAND_FRACTION = 0.98     # an event's band holds this share of its energy
SNR_RANGE_DB = (-5.0, 20.0)
BACKGROUND_DBFS_RANGE = (-55.0, -35.0)   # background RMS, dB re full scale
MAX_SOURCES = 4
PEAK_LIMIT = 0.99              # all parts are scaled together if the mixture would exceed this
DATASET_RECORD = "dataset.json"  # under input_wav/: how the set was made
AUDIBLE_FLOOR_DB = -80.0
AUDIBLE_MARGIN_DB = 3.0
MIN_SR = 16000                 # below it the 4-9 kHz warblers would lose most of their band
LEVELS = ("species", "community")
RAVEN_TABLES = {"species": "mixture.selections.txt", "community": "mixture.community.selections.txt"}
EVENT_COLUMNS = ("class", "slug", "start_s", "end_s", "low_hz", "high_hz",
                 "level",            # RMS over the active part, dB re full scale
                 "community", "model", "snr_db")

Generator = np.random.Generator


# --------------------------------------------------------------------------- signal helpers

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


def finish(y: np.ndarray, sr: int, low_hz: float, high_hz: float, taper_hz: float = 50.0) -> np.ndarray:
    """Band-limit a call to its band and scale it to ``NOMINAL_PEAK``; float32."""
    y = band_limit(y, sr, low_hz, high_hz, taper_hz)
    return (y * (NOMINAL_PEAK / max(np.max(np.abs(y)), 1e-20))).astype(np.float32)


def _samples(duration_s: float, sr: int) -> int:
    return max(1, int(round(duration_s * sr)))


# --------------------------------------------------------------------------- the eight species

def jungle_nightjar(rng: Generator, sr: int) -> np.ndarray:
    """Jungle Nightjar (*Caprimulgus indicus*), 1-3 kHz. Model of its song: a long series
    (2-6 s) of loud knocking "tchuck" notes, 4-6 a second, each 40-60 ms: a damped tone
    falling from about 1.5-2 kHz plus a noisy click, with a fast attack."""
    rate = rng.uniform(4.0, 6.0)
    n_notes = max(3, int(rng.uniform(2.0, 6.0) * rate))
    f_note = rng.uniform(1500.0, 2000.0)
    notes, onset = [], 0.0
    for _ in range(n_notes):
        n = _samples(rng.uniform(0.04, 0.06), sr)
        f = f_note * rng.uniform(0.97, 1.03) * np.linspace(1.0, 0.85, n)
        env = decay_envelope(n, sr, 0.003, n / sr / 3)
        click = rng.standard_normal(n) * 0.6
        notes.append((onset, (sweep(f, sr) + click) * env * db_jitter(rng, 1.5)))
        onset += rng.uniform(0.95, 1.05) / rate
    return finish(assemble(notes, sr), sr, 1000.0, 3000.0)


def eurasian_jay(rng: Generator, sr: int) -> np.ndarray:
    """Eurasian Jay (*Garrulus glandarius*), 1-7 kHz. Model of its alarm: a harsh, noisy
    screech of 0.3-0.6 s, repeated 1-3 times: a jittery harmonic stack (f0 0.9-1.4 kHz)
    with rough amplitude modulation, mixed with broadband noise, loudest at 2-4 kHz."""
    notes, onset = [], 0.0
    for _ in range(int(rng.integers(1, 4))):
        n = _samples(rng.uniform(0.3, 0.6), sr)
        f0 = rng.uniform(900.0, 1400.0) * (1.0 + 0.04 * slow_wobble(rng, n, sr, 30.0))
        tonal = harmonic_stack(f0, sr, [0.5, 1.0, 1.0, 0.8, 0.5, 0.3, 0.2], 7000.0)
        noise = band_limit(rng.standard_normal(n), sr, 1500.0, 6500.0, 200.0) * 1.5
        rough = 1.0 + 0.8 * np.sin(2 * np.pi * rng.uniform(40.0, 90.0) * np.arange(n) / sr)
        screech = (tonal + noise) * rough * envelope(n, sr, 0.02, 0.08)
        notes.append((onset, screech * db_jitter(rng, 1.5)))
        onset += n / sr + rng.uniform(0.15, 0.5)
    return finish(assemble(notes, sr), sr, 1000.0, 7000.0, 150.0)


def koklass_pheasant(rng: Generator, sr: int) -> np.ndarray:
    """Koklass Pheasant (*Pucrasia macrolopha*), 0.6-2.5 kHz. Model of its guttural
    "kok-kok-kokras": 3-5 harmonic notes of 0.15-0.3 s (fundamental 0.65-0.78 kHz, falling
    slightly, harmonics 2 and 3), with a throaty 30-50 Hz roughness; the last note is
    the longest and roughest."""
    n_notes = int(rng.integers(3, 6))
    f0 = rng.uniform(650.0, 780.0)
    notes, onset = [], 0.0
    for k in range(n_notes):
        last = k == n_notes - 1
        n = _samples(rng.uniform(0.25, 0.3) if last else rng.uniform(0.15, 0.25), sr)
        track = f0 * rng.uniform(0.97, 1.03) * np.linspace(1.02, 0.94, n)
        depth = 0.7 if last else 0.4
        rough = 1.0 + depth * np.sin(2 * np.pi * rng.uniform(30.0, 50.0) * np.arange(n) / sr)
        note = harmonic_stack(track, sr, [1.0, 0.6, 0.35], 2500.0) * rough * envelope(n, sr, 0.015, 0.05)
        notes.append((onset, note * db_jitter(rng, 1.5)))
        onset += n / sr + rng.uniform(0.08, 0.2)
    return finish(assemble(notes, sr), sr, 600.0, 2500.0)


def oriental_scops_owl(rng: Generator, sr: int) -> np.ndarray:
    """Oriental Scops Owl (*Otus sunia*), 0.9-1.4 kHz. Model of its "tok-to-to-tok": phrases
    of 3-4 hollow pure-tone notes of 80-150 ms (1.0-1.3 kHz, a slight rise and fall, the
    middle notes shorter and softer), a phrase every 2-3 s, 1-3 phrases."""
    f0 = rng.uniform(1000.0, 1300.0)
    period = rng.uniform(2.0, 3.0)
    notes = []
    for phrase in range(int(rng.integers(1, 4))):
        n_notes = int(rng.integers(3, 5))
        onset = phrase * period * rng.uniform(0.97, 1.03)
        for k in range(n_notes):
            outer = k in (0, n_notes - 1)
            n = _samples(rng.uniform(0.11, 0.15) if outer else rng.uniform(0.08, 0.11), sr)
            arch = np.sin(np.pi * np.arange(n) / n)
            track = f0 * rng.uniform(0.99, 1.01) + 25.0 * arch
            level = 1.0 if outer else 0.7
            notes.append((onset, sweep(track, sr) * envelope(n, sr, 0.015, 0.04) * level * db_jitter(rng, 1.0)))
            onset += n / sr + rng.uniform(0.06, 0.12)
    return finish(assemble(notes, sr), sr, 900.0, 1400.0)


def lesser_cuckoo(rng: Generator, sr: int) -> np.ndarray:
    """Lesser Cuckoo (*Cuculus poliocephalus*), 2.5-5 kHz. Model of its loud song: a phrase
    of 5-6 whistled notes over 1-1.5 s, the notes stepping down from 4.2-4.6 kHz by
    0.9-1.4 kHz in a zig-zag (+-100 Hz), each note arched (up then down 150-300 Hz); 1-2 phrases."""
    notes, onset = [], 0.0
    for _ in range(int(rng.integers(1, 3))):
        n_notes = int(rng.integers(5, 7))
        slot = rng.uniform(1.0, 1.5) / n_notes
        f_start = rng.uniform(4200.0, 4600.0)
        centres = f_start - np.linspace(0.0, rng.uniform(900.0, 1400.0), n_notes)
        centres += 100.0 * (-1.0) ** np.arange(n_notes)  # undulating: alternate notes up and down
        for centre in centres:
            n = _samples(slot * rng.uniform(0.55, 0.75), sr)
            track = centre + rng.uniform(150.0, 300.0) * (np.sin(np.pi * np.arange(n) / n) - 0.5)
            notes.append((onset, sweep(track, sr) * envelope(n, sr, 0.015, 0.03) * db_jitter(rng, 1.0)))
            onset += slot
        onset += rng.uniform(0.8, 2.0)
    return finish(assemble(notes, sr), sr, 2500.0, 5000.0)


def brownish_flanked_bush_warbler(rng: Generator, sr: int) -> np.ndarray:
    """Brownish-flanked Bush Warbler (*Horornis fortipes*), 1.5-7 kHz. Model of its song: a
    rising pure whistle of about 1 s (2.0-2.3 kHz up to 2.7-3.0 kHz), then an explosive
    phrase of about 0.4 s of fast frequency modulation (20-35 Hz) sweeping 3-6 kHz; 1-2 songs."""
    notes, onset = [], 0.0
    for _ in range(int(rng.integers(1, 3))):
        n_whistle = _samples(rng.uniform(0.8, 1.2), sr)
        rise = np.linspace(rng.uniform(2000.0, 2300.0), rng.uniform(2700.0, 3000.0), n_whistle)
        notes.append((onset, 0.6 * sweep(rise, sr) * envelope(n_whistle, sr, 0.08, 0.03)))
        onset += n_whistle / sr + rng.uniform(0.04, 0.1)
        n_burst = _samples(rng.uniform(0.35, 0.45), sr)
        t = np.arange(n_burst) / sr
        wobble = np.sin(2 * np.pi * rng.uniform(20.0, 35.0) * t)
        track = rng.uniform(4300.0, 4700.0) + rng.uniform(1000.0, 1300.0) * wobble
        notes.append((onset, sweep(track, sr) * envelope(n_burst, sr, 0.005, 0.03) * db_jitter(rng, 1.5)))
        onset += n_burst / sr + rng.uniform(1.0, 2.0)
    return finish(assemble(notes, sr), sr, 1500.0, 7000.0)


def alstroms_warbler(rng: Generator, sr: int) -> np.ndarray:
    """Alström's Warbler (*Phylloscopus soror*), 4-8 kHz. Model of its song: short thin
    phrases of 3-6 frequency-modulated notes of 50-100 ms (up-sweeps, down-sweeps or arches
    within 4.5-7.6 kHz), 1-3 phrases 0.5-1.5 s apart."""
    notes, onset = [], 0.0
    for _ in range(int(rng.integers(1, 4))):
        for _ in range(int(rng.integers(3, 7))):
            n = _samples(rng.uniform(0.05, 0.1), sr)
            f_low = rng.uniform(4500.0, 6000.0)
            f_high = min(f_low + rng.uniform(800.0, 1500.0), 7600.0)
            shape = rng.integers(3)
            x = np.linspace(0.0, 1.0, n)
            unit = (x, 1.0 - x, np.sin(np.pi * x))[shape]
            track = f_low + (f_high - f_low) * unit
            notes.append((onset, sweep(track, sr) * envelope(n, sr, 0.008, 0.015) * db_jitter(rng, 1.5)))
            onset += n / sr + rng.uniform(0.02, 0.06)
        onset += rng.uniform(0.5, 1.5)
    return finish(assemble(notes, sr), sr, 4000.0, 8000.0)


def harterts_leaf_warbler(rng: Generator, sr: int) -> np.ndarray:
    """Hartert's Leaf Warbler (*Phylloscopus goodsoni*), 5-9 kHz. Model of its song: a rapid
    trill (1-2.5 s) of steep downward sweeps, 10-15 notes a second, each falling from
    8.0-8.6 kHz to 5.3-5.9 kHz in 50-70 % of the note period; the trill swells and fades."""
    rate = rng.uniform(10.0, 15.0)
    n_notes = max(4, int(rng.uniform(1.0, 2.5) * rate))
    f_top, f_bottom = rng.uniform(8000.0, 8600.0), rng.uniform(5300.0, 5900.0)
    swell = np.sin(np.pi * (np.arange(n_notes) + 0.5) / n_notes) ** 0.5
    notes = []
    for k in range(n_notes):
        n = _samples(rng.uniform(0.5, 0.7) / rate, sr)
        x = np.linspace(0.0, 1.0, n)
        jitter = rng.uniform(0.98, 1.02)
        track = jitter * (f_bottom + (f_top - f_bottom) * (1.0 - x) ** 2)  # steep at the start
        notes.append((k / rate, sweep(track, sr) * envelope(n, sr, 0.004, 0.01) * swell[k] * db_jitter(rng, 1.0)))
    return finish(assemble(notes, sr), sr, 5000.0, 9000.0)


# --------------------------------------------------------------------------- insects

def cicada_buzz(rng: Generator, sr: int) -> np.ndarray:
    """Cicada model, 3-8 kHz: broadband noise pulsed fast (80-200 pulses a second),
    2-6 s long, swelling in and fading out."""
    n = _samples(rng.uniform(2.0, 6.0), sr)
    pulses = np.sin(np.pi * rng.uniform(80.0, 200.0) * np.arange(n) / sr) ** 4
    noise = shaped_noise(rng, n, sr, 3000.0, 8000.0)
    return finish(noise * pulses * envelope(n, sr, 0.3, 0.3), sr, 3000.0, 8000.0)


def cricket_chirps(rng: Generator, sr: int) -> np.ndarray:
    """Cricket model, 3.5-5.5 kHz: a pure carrier (3.8-5.2 kHz) in chirps of 3-5 pulses of
    12-20 ms, 1.5-3 chirps a second, for 2-5 s."""
    carrier = rng.uniform(3800.0, 5200.0)
    chirp_rate = rng.uniform(1.5, 3.0)
    notes = []
    for c in range(max(2, int(rng.uniform(2.0, 5.0) * chirp_rate))):
        onset = c / chirp_rate
        for _ in range(int(rng.integers(3, 6))):
            n = _samples(rng.uniform(0.012, 0.02), sr)
            pulse = sweep(np.full(n, carrier), sr) * envelope(n, sr, 0.003, 0.004) * db_jitter(rng, 1.0)
            notes.append((onset, pulse))
            onset += n / sr + rng.uniform(0.01, 0.018)
    return finish(assemble(notes, sr), sr, 3500.0, 5500.0)


def katydid_pulses(rng: Generator, sr: int) -> np.ndarray:
    """Katydid model, 6-11 kHz (capped below Nyquist): trains of 0.2-0.6 s of short
    broadband clicks (3-6 ms, 20-60 a second), 2-5 trains 0.3-1 s apart."""
    notes, onset = [], 0.0
    for _ in range(int(rng.integers(2, 6))):
        rate = rng.uniform(20.0, 60.0)
        for k in range(max(2, int(rng.uniform(0.2, 0.6) * rate))):
            n = _samples(rng.uniform(0.003, 0.006), sr)
            notes.append((onset + k / rate, rng.standard_normal(n) * decay_envelope(n, sr, 0.0005, n / sr / 3)))
        onset += rng.uniform(0.2, 0.6) + rng.uniform(0.3, 1.0)
    return finish(assemble(notes, sr), sr, 6000.0, 11000.0, 300.0)


# --------------------------------------------------------------------------- human sounds

def road_vehicle(rng: Generator, sr: int) -> np.ndarray:
    """Road vehicle pass-by model, 30-2000 Hz: brownish broadband noise under a bell-shaped
    3-8 s envelope (approach, pass, recede)."""
    n = _samples(rng.uniform(3.0, 8.0), sr)
    t = np.linspace(-1.0, 1.0, n)
    bell = np.exp(-0.5 * (t / rng.uniform(0.25, 0.4)) ** 2)
    return finish(shaped_noise(rng, n, sr, 30.0, 2000.0, -4.0) * bell, sr, 30.0, 2000.0)


def engine_drone(rng: Generator, sr: int) -> np.ndarray:
    """Engine or chainsaw model, 80-4000 Hz: a harmonic stack (fundamental 80-200 Hz,
    harmonics falling as 1/k^0.7) whose pitch revs up and down, with some noise; 2-6 s."""
    n = _samples(rng.uniform(2.0, 6.0), sr)
    f0 = rng.uniform(80.0, 200.0) * (1.0 + rng.uniform(0.03, 0.2) * slow_wobble(rng, n, sr, 1.0))
    tonal = harmonic_stack(f0, sr, 1.0 / np.arange(1, 60) ** 0.7, 4000.0)
    noise = 0.3 * shaped_noise(rng, n, sr, 80.0, 4000.0, -3.0)
    return finish((tonal + noise) * envelope(n, sr, 0.3, 0.3), sr, 60.0, 4000.0)


def speech_babble(rng: Generator, sr: int) -> np.ndarray:
    """Voiced speech-like babble model, 80-4000 Hz: 1-3 voices, each a sequence of syllables
    (0.1-0.25 s, 4-5 a second) with a harmonic source (f0 100-240 Hz, gliding intonation)
    shaped by three random formants (F1 300-800, F2 900-2200, F3 2300-3200 Hz); 2-5 s."""
    n = _samples(rng.uniform(2.0, 5.0), sr)
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, 4))):
        out += _voice(rng, n, sr) * db_jitter(rng, 3.0)
    return finish(out, sr, 80.0, 4000.0)


def _voice(rng: Generator, n: int, sr: int) -> np.ndarray:
    f0 = rng.uniform(100.0, 240.0) * (1.0 + 0.12 * slow_wobble(rng, n, sr, 2.0))
    phase = 2.0 * np.pi * np.cumsum(f0) / sr
    out, start = np.zeros(n), int(rng.uniform(0.0, 0.3) * sr)
    while start < n:
        length = min(_samples(rng.uniform(0.1, 0.25), sr), n - start)
        span = slice(start, start + length)
        formants = (rng.uniform(300, 800), rng.uniform(900, 2200), rng.uniform(2300, 3200))
        k = np.arange(1, int(4000.0 / f0[span].max()) + 1)
        amps = sum(np.exp(-0.5 * ((k * f0[span].mean() - fc) / 120.0) ** 2) for fc in formants) / k ** 0.5
        out[span] = amps @ np.sin(np.outer(k, phase[span])) * envelope(length, sr, 0.02, 0.04)
        start += length + int(rng.uniform(0.03, 0.1) * sr)
    return out


def aircraft_rumble(rng: Generator, sr: int) -> np.ndarray:
    """Aircraft overflight model, 30-1000 Hz: low rumble (noise falling 5 dB an octave)
    rising and fading over 5-10 s, with slow swells."""
    n = _samples(rng.uniform(5.0, 10.0), sr)
    t = np.linspace(-1.0, 1.0, n)
    swell = np.exp(-0.5 * (t / 0.45) ** 2) * (1.0 + 0.3 * slow_wobble(rng, n, sr, 0.5))
    return finish(shaped_noise(rng, n, sr, 30.0, 1000.0, -5.0) * swell, sr, 30.0, 1000.0)


# --------------------------------------------------------------------------- background

def colored_noise(rng: Generator, sr: int, n_samples: int, slope_db_per_octave: float) -> np.ndarray:
    """Pink (-3 dB/octave) or brown (-6 dB/octave) noise from 20 Hz up, unit RMS."""
    return shaped_noise(rng, n_samples, sr, 20.0, sr / 2, slope_db_per_octave)


def wind_gusts(rng: Generator, sr: int, n_samples: int) -> np.ndarray:
    """Wind model: noise below about 800 Hz (falling 6 dB an octave, rolled off gently above
    200 Hz) in slow gusts, unit RMS."""
    gusts = np.exp(1.5 * slow_wobble(rng, n_samples, sr, 0.8))
    y = shaped_noise(rng, n_samples, sr, 20.0, 800.0, -6.0, rolloff_hz=600.0) * gusts
    return y / np.sqrt(np.mean(y ** 2))


def rain(rng: Generator, sr: int, n_samples: int) -> np.ndarray:
    """Rain model: random drops (20-200 a second, heavy-tailed sizes), each a 1-4 ms
    decaying broadband click, 0.8-10 kHz; unit RMS."""
    drops = np.zeros(n_samples)
    n_drops = rng.poisson(rng.uniform(20.0, 200.0) * n_samples / sr) + 1
    drops[rng.integers(0, n_samples, n_drops)] = rng.pareto(2.0, n_drops) * rng.choice([-1.0, 1.0], n_drops)
    k = _samples(0.004, sr)
    kernel = rng.standard_normal(k) * np.exp(-np.arange(k) / (0.001 * sr))
    y = band_limit(scipy.signal.fftconvolve(drops, kernel)[:n_samples], sr, 800.0, 10000.0, 200.0)
    return y / max(np.sqrt(np.mean(y ** 2)), 1e-20)


def stream(rng: Generator, sr: int, n_samples: int) -> np.ndarray:
    """Stream model: steady noise from 150 Hz (falling 2 dB an octave, rolled off gently
    between 3 and 8 kHz) with a light 2-8 Hz gurgle; unit RMS."""
    gurgle = 1.0 + 0.3 * slow_wobble(rng, n_samples, sr, 8.0, 6)
    y = shaped_noise(rng, n_samples, sr, 150.0, 8000.0, -2.0, rolloff_hz=5000.0) * gurgle
    return y / np.sqrt(np.mean(y ** 2))


def background_noise(rng: Generator, sr: int, n_samples: int, level_dbfs: float) -> np.ndarray:
    """Field-like background of RMS ``level_dbfs`` (dB re full scale), float32: pink or brown
    noise, a white microphone floor 30 dB down, and sometimes wind (p 0.4, -6..+6 dB),
    rain (p 0.3, -12..0 dB) and a stream (p 0.3, -12..0 dB) relative to the pink/brown part."""
    y = colored_noise(rng, sr, n_samples, rng.choice([-3.0, -6.0]))
    y += 10 ** (-30 / 20) * shaped_noise(rng, n_samples, sr, 20.0, sr / 2)
    for component, probability, (low_db, high_db) in ((wind_gusts, 0.4, (-6, 6)), (rain, 0.3, (-12, 0)),
                                                      (stream, 0.3, (-12, 0))):
        if rng.random() < probability:
            y += 10 ** (rng.uniform(low_db, high_db) / 20) * component(rng, sr, n_samples)
    y *= 10 ** (level_dbfs / 20) / np.sqrt(np.mean(y ** 2))
    return y.astype(np.float32)


# --------------------------------------------------------------------------- source registry

SPECIES_GENERATORS: dict[str, Callable[[Generator, int], np.ndarray]] = {
    "jungle-nightjar": jungle_nightjar,
    "eurasian-jay": eurasian_jay,
    "koklass-pheasant": koklass_pheasant,
    "oriental-scops-owl": oriental_scops_owl,
    "lesser-cuckoo": lesser_cuckoo,
    "brownish-flanked-bush-warbler": brownish_flanked_bush_warbler,
    "alstroms-warbler": alstroms_warbler,
    "harterts-leaf-warbler": harterts_leaf_warbler,
}
INSECT_GENERATORS = (cicada_buzz, cricket_chirps, katydid_pulses)
HUMAN_GENERATORS = (road_vehicle, engine_drone, speech_babble, aircraft_rumble)

SOURCE_BANDS_HZ: dict[str, tuple[float, float]] = {
    "jungle-nightjar": (1000.0, 3000.0),
    "eurasian-jay": (1000.0, 7000.0),
    "koklass-pheasant": (600.0, 2500.0),
    "oriental-scops-owl": (900.0, 1400.0),
    "lesser-cuckoo": (2500.0, 5000.0),
    "brownish-flanked-bush-warbler": (1500.0, 7000.0),
    "alstroms-warbler": (4000.0, 8000.0),
    "harterts-leaf-warbler": (5000.0, 9000.0),
    "insect": (3000.0, 11000.0),
    "human": (30.0, 4000.0),
}


@dataclass(frozen=True)
class SourceModel:
    """A source the mixer can draw: its slug, display name, community, band (Hz) and generators."""

    slug: str
    name: str
    community: str
    band_hz: tuple[float, float]
    generators: tuple[Callable[[Generator, int], np.ndarray], ...]


@lru_cache(maxsize=1)
def source_models() -> dict[str, SourceModel]:
    """The ten sources, species in palette order, then insect and human."""
    models = {}
    for cls in load_palette("species").classes:
        if cls.slug not in SPECIES_GENERATORS:
            raise UserError(f"species palette: no synthetic model for {cls.name!r} ({cls.slug})")
        models[cls.slug] = SourceModel(cls.slug, cls.name, cls.community or "bird",
                                       SOURCE_BANDS_HZ[cls.slug], (SPECIES_GENERATORS[cls.slug],))
    models["insect"] = SourceModel("insect", "insect", "insect", SOURCE_BANDS_HZ["insect"], INSECT_GENERATORS)
    models["human"] = SourceModel("human", "human", "human", SOURCE_BANDS_HZ["human"], HUMAN_GENERATORS)
    return models


@lru_cache(maxsize=None)
def palettes() -> dict[str, Palette]:
    """The built-in palettes by level: {'species': ..., 'community': ...}."""
    return {level: load_palette(level) for level in LEVELS}


# --------------------------------------------------------------------------- levels and SNR

def _block_power(x: np.ndarray, block: int) -> np.ndarray:
    n_blocks = -(-len(x) // block)
    padded = np.zeros(n_blocks * block)
    padded[:len(x)] = x
    return np.mean(padded.reshape(n_blocks, block) ** 2, axis=1)


def active_blocks(source: np.ndarray, sr: int, active_db: float = ACTIVE_DB,
                  block_s: float = ACTIVE_BLOCK_S) -> np.ndarray:
    """Boolean per ``block_s`` block: the source's power is within ``active_db`` dB of its loudest block."""
    power = _block_power(np.asarray(source, np.float64), _samples(block_s, sr))
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


def _active_powers(source: np.ndarray, background: np.ndarray, sr: int,
                   band_hz: tuple[float, float]) -> tuple[float, float]:
    active = active_blocks(source, sr)
    block = _samples(ACTIVE_BLOCK_S, sr)
    in_band = band_limit(np.asarray(background, np.float64), sr, band_hz[0], band_hz[1], taper_hz=0.0)
    p_source = _block_power(np.asarray(source, np.float64), block)[active].mean()
    p_background = _block_power(in_band, block)[active].mean()
    return float(p_source), float(p_background)


def snr_db(source: np.ndarray, background: np.ndarray, sr: int,
           band_hz: tuple[float, float] | None = None) -> float:
    """SNR in dB of one source against the background: power over the source's active blocks,
    the background band-limited to ``band_hz`` (default: the source's :func:`event_band_hz`)."""
    band_hz = band_hz or event_band_hz(source, sr)
    p_source, p_background = _active_powers(source, background, sr, band_hz)
    if p_background <= 0:
        return float("inf")
    return float(10 * np.log10(p_source / p_background))


def level_dbfs(source: np.ndarray, sr: int) -> float:
    """RMS level in dB re full scale over the source's active blocks."""
    power = _block_power(np.asarray(source, np.float64), _samples(ACTIVE_BLOCK_S, sr))
    active = active_blocks(source, sr)
    return float(10 * np.log10(max(power[active].mean(), 1e-30))) if active.any() else -300.0


# --------------------------------------------------------------------------- soundscapes

@dataclass
class Event:
    """One source's call in a clip: times in s (its active part inside the clip), band in Hz,
    level in dB re full scale (RMS over the active part), SNR in dB (see the module docstring)."""

    name: str
    slug: str
    community: str
    model: str
    start_s: float
    end_s: float
    low_hz: float
    high_hz: float
    level_dbfs: float
    snr_db: float

    def row(self) -> dict:
        return {"class": self.name, "slug": self.slug, "start_s": f"{self.start_s:.4f}",
                "end_s": f"{self.end_s:.4f}", "low_hz": f"{self.low_hz:.1f}", "high_hz": f"{self.high_hz:.1f}",
                "level": f"{self.level_dbfs:.2f}", "community": self.community, "model": self.model,
                "snr_db": f"{self.snr_db:.2f}"}


@dataclass
class Soundscape:
    """A clip and every part of it: ``mixture`` == background + each of ``parts`` (float32 sum, in that order)."""

    sr: int
    background: np.ndarray
    parts: dict[str, np.ndarray]
    events: list[Event] = field(default_factory=list)

    @property
    def mixture(self) -> np.ndarray:
        return mix(self.parts, self.background)


def mix(parts: dict[str, np.ndarray], background: np.ndarray) -> np.ndarray:
    """The mixture: background plus every part, summed in float32 in the order of ``parts``."""
    total = np.array(background, np.float32, copy=True)
    for audio in parts.values():
        total += audio
    return total


def place_event(rng: Generator, call: np.ndarray, n_samples: int) -> tuple[np.ndarray, int]:
    """Put ``call`` at a random onset in a clip of ``n_samples``; returns (clip-length audio, onset).

    At least half of the call, or of the clip if the call is longer, lies inside; the rest is cut.
    """
    keep = max(1, min(len(call), n_samples) // 2)
    onset = int(rng.integers(keep - len(call), n_samples - keep + 1))
    out = np.zeros(n_samples, np.float64)
    lo, hi = max(onset, 0), min(onset + len(call), n_samples)
    out[lo:hi] = call[lo - onset:hi - onset]
    return out, onset


def draw_sources(rng: Generator, max_sources: int = MAX_SOURCES) -> list[str]:
    """0..max_sources distinct source slugs, uniformly."""
    slugs = list(source_models())
    n = int(rng.integers(0, max_sources + 1))
    return [str(s) for s in rng.choice(slugs, n, replace=False)]


def make_soundscape(rng: Generator, n_samples: int, sr: int = SpecParams().sr, *,
                    sources: list[str] | None = None, max_sources: int = MAX_SOURCES,
                    snr_range_db: tuple[float, float] = SNR_RANGE_DB,
                    background_dbfs_range: tuple[float, float] = BACKGROUND_DBFS_RANGE,
                    peak_limit: float = PEAK_LIMIT) -> Soundscape:
    """One labelled soundscape of ``n_samples`` at ``sr`` Hz.

    ``sources`` (slugs, distinct) fixes which sources appear; by default 0..``max_sources`` are
    drawn. Each source's SNR is drawn uniformly from ``snr_range_db``; the background's RMS from
    ``background_dbfs_range`` (dB re full scale). If the mixture's peak would exceed
    ``peak_limit``, every part is scaled by the same factor (SNRs unchanged).
    """
    models = source_models()
    sources = draw_sources(rng, max_sources) if sources is None else list(sources)
    unknown = [s for s in sources if s not in models]
    if unknown or len(set(sources)) != len(sources):
        raise UserError(f"sources {sources}: each must be one of {', '.join(models)}, at most once")
    background = background_noise(rng, sr, n_samples, rng.uniform(*background_dbfs_range))
    parts, chosen = {}, {}
    for slug in sources:
        generator = models[slug].generators[int(rng.integers(len(models[slug].generators)))]
        placed, _ = place_event(rng, generator(rng, sr), n_samples)
        band = event_band_hz(placed, sr)
        p_source, p_background = _active_powers(placed, background, sr, band)
        gain = np.sqrt(10 ** (rng.uniform(*snr_range_db) / 10) * p_background / p_source)
        parts[slug] = (placed * gain).astype(np.float32)
        chosen[slug] = (generator.__name__, band)
    parts, background = _limit_peak(parts, background, peak_limit)
    events = [_describe(models[slug], model, band, parts[slug], background, sr)
              for slug, (model, band) in chosen.items()]
    return Soundscape(sr, background, parts, events)


def _limit_peak(parts: dict[str, np.ndarray], background: np.ndarray, peak_limit: float):
    peak = float(np.max(np.abs(mix(parts, background))))
    if peak <= peak_limit:
        return parts, background
    scale = np.float32(peak_limit / peak * (1 - 1e-6))
    return {slug: audio * scale for slug, audio in parts.items()}, background * scale


def _describe(model: SourceModel, generator_name: str, band: tuple[float, float], audio: np.ndarray,
              background: np.ndarray, sr: int) -> Event:
    active = np.flatnonzero(active_blocks(audio, sr))
    block = _samples(ACTIVE_BLOCK_S, sr)
    start_s = active[0] * block / sr
    end_s = min((active[-1] + 1) * block, len(audio)) / sr
    return Event(model.name, model.slug, model.community, generator_name, start_s, end_s, band[0], band[1],
                 level_dbfs(audio, sr), snr_db(audio, background, sr, band))


# --------------------------------------------------------------------------- ground truth

def part_db_images(parts: dict[str, np.ndarray], background: np.ndarray,
                   params: SpecParams = SpecParams()) -> np.ndarray:
    """dB images (re full scale, low frequency at the bottom) of the background and each part:
    array (1 + len(parts), n_rows, frames), background first."""
    signals = [background, *parts.values()]
    return np.stack([spectrum_to_image_db(stft(np.asarray(s, np.float32), params.n_fft, params.hop_length,
                                               params.window), params) for s in signals])


def dominant_part(parts: dict[str, np.ndarray], background: np.ndarray, params: SpecParams = SpecParams(), *,
                  audible_floor_db: float = AUDIBLE_FLOOR_DB,
                  audible_margin_db: float = AUDIBLE_MARGIN_DB) -> np.ndarray:
    """Which part owns each pixel: int array (n_rows, frames), 0 = background or inaudible,
    k = the k-th part of ``parts`` (1-based).

    A part owns a bin when its magnitude is the largest of all parts and the background,
    its level is at least ``audible_floor_db`` dB re full scale, and it stands at least
    ``audible_margin_db`` dB above the background in that bin.
    """
    db = part_db_images(parts, background, params)
    winner = np.argmax(db, axis=0)
    level = np.take_along_axis(db, winner[None], axis=0)[0]
    audible = (level >= audible_floor_db) & (level >= db[0] + audible_margin_db)
    return np.where(audible, winner, 0).astype(np.int16)


def label_index(slug: str, palette: Palette) -> int:
    """Palette index (1-based) of a source slug: the source itself, else its community; 0 if neither."""
    model = source_models().get(slug)
    return palette.index(slug) or (palette.index(model.community) if model else 0)


def class_map(dominant: np.ndarray, part_slugs: list[str], palette: Palette) -> np.ndarray:
    """Dominant-part map (from :func:`dominant_part`) -> class map (uint8, 0 background) in ``palette``."""
    table = np.array([0] + [label_index(slug, palette) for slug in part_slugs], np.uint8)
    return table[dominant]


def class_maps(scape: Soundscape, params: SpecParams = SpecParams(), *,
               audible_floor_db: float = AUDIBLE_FLOOR_DB,
               audible_margin_db: float = AUDIBLE_MARGIN_DB) -> dict[str, np.ndarray]:
    """True class maps of a soundscape, {'species': ..., 'community': ...}, each uint8 (n_rows, frames).

    Insects and humans are unlabelled (0) at species level but still mask the birds they cover.
    """
    dominant = dominant_part(scape.parts, scape.background, params, audible_floor_db=audible_floor_db,
                             audible_margin_db=audible_margin_db)
    return {level: class_map(dominant, list(scape.parts), palette) for level, palette in palettes().items()}


# --------------------------------------------------------------------------- writing a data set

def one_tile_n_samples(params: SpecParams = SpecParams()) -> int:
    """Clip length in samples whose centred STFT has exactly ``tile_frames`` frames."""
    return (params.tile_frames - 1) * params.hop_length


def one_tile_duration_s(params: SpecParams = SpecParams()) -> float:
    """Clip length in s of exactly one tile (2.9605 s at the defaults)."""
    return one_tile_n_samples(params) / params.sr


def soundscape_seed(seed: int, split: str, index: int) -> np.random.SeedSequence:
    """Seed of one soundscape from (run seed, split, index): results do not depend on the worker."""
    return np.random.SeedSequence([int(seed), zlib.crc32(split.encode()), int(index)])


def soundscape_id(index: int) -> str:
    """'syn00001' for index 0."""
    return f"syn{index + 1:05d}"


@dataclass(frozen=True)
class SynthJob:
    """Everything needed to write one soundscape (picklable, for worker processes)."""

    root: str
    split: str
    index: int
    seed: int
    n_samples: int
    params: SpecParams = SpecParams()
    overwrite: bool = False
    audible_floor_db: float = AUDIBLE_FLOOR_DB
    audible_margin_db: float = AUDIBLE_MARGIN_DB

    @property
    def clip_id(self) -> str:
        return soundscape_id(self.index)

    @property
    def wav_dir(self) -> str:
        return os.path.join(self.root, "input_wav", self.split, self.clip_id)

    def pair_paths(self, level: str) -> list[str]:
        """Pair PNGs of this clip at ``level``: <id>.png for one tile, <id>_<k:04d>.png for several."""
        folder = os.path.join(self.root, "input_img", f"{self.split}_{level}_samples")
        n_tiles = count_tiles(n_frames_for(self.n_samples, self.params.hop_length), self.params.tile_frames)
        if n_tiles == 1:
            return [os.path.join(folder, f"{self.clip_id}.png")]
        return [os.path.join(folder, tile_name(self.clip_id, k)) for k in range(n_tiles)]


def outputs_complete(job: SynthJob) -> bool:
    """True when the mixture, the tables, every part listed in events.csv and every pair exist."""
    events_path = os.path.join(job.wav_dir, "events.csv")
    fixed = [os.path.join(job.wav_dir, name) for name in ("mixture.wav", "background.wav", *RAVEN_TABLES.values())]
    fixed.append(events_path)
    fixed += [p for level in LEVELS for p in job.pair_paths(level)]
    if not all(os.path.exists(p) for p in fixed):
        return False
    with open(events_path, newline="", encoding="utf-8") as handle:
        slugs = [row["slug"] for row in csv.DictReader(handle)]
    return all(os.path.exists(os.path.join(job.wav_dir, f"{slug}.wav")) for slug in slugs)


def write_soundscape(job: SynthJob) -> int:
    """Make and write one soundscape: its WAVs, events.csv and A|B pairs at both levels.

    Returns the number of pairs written (0 when everything existed and ``overwrite`` is off).
    """
    if not job.overwrite and outputs_complete(job):
        return 0
    rng = np.random.default_rng(soundscape_seed(job.seed, job.split, job.index))
    scape = make_soundscape(rng, job.n_samples, job.params.sr)
    maps = class_maps(scape, job.params, audible_floor_db=job.audible_floor_db,
                      audible_margin_db=job.audible_margin_db)
    mixture_path = write_soundscape_audio(scape, job.wav_dir)
    source = os.path.relpath(mixture_path, job.root).replace(os.sep, "/")
    return write_pairs(mixture_path, maps, {level: job.pair_paths(level) for level in LEVELS}, job.params, source)


def write_soundscape_audio(scape: Soundscape, folder: str) -> str:
    """Write every part as <slug>.wav, background.wav, events.csv, the Raven tables and, last,
    mixture.wav (float WAV).

    Part files of other sources left from an earlier run are removed. Returns the mixture's path.
    """
    os.makedirs(folder, exist_ok=True)
    for slug in source_models():
        stale = os.path.join(folder, f"{slug}.wav")
        if slug not in scape.parts and os.path.exists(stale):
            os.remove(stale)
    for slug, audio in scape.parts.items():
        write_audio(os.path.join(folder, f"{slug}.wav"), audio, scape.sr)
    write_audio(os.path.join(folder, "background.wav"), scape.background, scape.sr)
    write_events(os.path.join(folder, "events.csv"), scape.events)
    write_raven_tables(folder, scape.events)
    mixture_path = os.path.join(folder, "mixture.wav")
    write_audio(mixture_path, scape.mixture, scape.sr)
    return mixture_path


def write_events(path: str, events: list[Event]) -> None:
    """events.csv: one row per event, columns ``EVENT_COLUMNS`` (written atomically)."""
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.part{os.getpid()}")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=EVENT_COLUMNS)
        writer.writeheader()
        writer.writerows(event.row() for event in events)
    os.replace(tmp, path)


def write_raven_tables(folder: str, events: list[Event]) -> None:
    """The events as Raven Pro selection tables for job02 (``Begin File`` mixture.wav):
    ``mixture.selections.txt`` at species level (species only; insects and humans are noise
    there) and ``mixture.community.selections.txt`` at community level."""
    def selection(event: Event, label: str) -> dict:
        return {"Begin Time (s)": event.start_s, "End Time (s)": event.end_s, "Low Freq (Hz)": event.low_hz,
                "High Freq (Hz)": event.high_hz, "Species": label, "Begin File": "mixture.wav"}

    species = palettes()["species"]
    write_raven_table(os.path.join(folder, RAVEN_TABLES["species"]),
                      [selection(e, e.name) for e in events if species.index(e.slug)])
    write_raven_table(os.path.join(folder, RAVEN_TABLES["community"]), [selection(e, e.community) for e in events])


def write_pairs(mixture_path: str, maps: dict[str, np.ndarray], targets: dict[str, list[str]],
                params: SpecParams, source: str) -> int:
    """A|B pairs of the written mixture: tiles from :func:`iter_tiles` (so A is what job01 makes),
    B the class map's columns of the same tile, encoded in each level's palette."""
    written = 0
    for tile in iter_tiles(mixture_path, params, source=source):
        start, n_valid = tile.meta["start_frame"], tile.meta["n_valid_frames"]
        for level, class_full in maps.items():
            columns = np.zeros((params.n_rows, params.tile_frames), np.uint8)
            columns[:, :n_valid] = class_full[:, start:start + n_valid]
            write_pair(targets[level][tile.meta["tile_index"]], tile.pixels,
                       palettes()[level].encode(columns), tile.meta)
            written += 1
    return written


# --------------------------------------------------------------------------- the data set

@dataclass
class DatasetSummary:
    root: str
    n_written: int
    n_skipped: int
    n_pairs: int
    splits: dict[str, int]

    def line(self) -> str:
        counts = ", ".join(f"{n} {split}" for split, n in self.splits.items())
        return (f"job00: {self.n_written + self.n_skipped} soundscapes ({counts}): {self.n_written} written, "
                f"{self.n_skipped} already done; audio and events.csv under {os.path.join(self.root, 'input_wav')}, "
                f"{self.n_pairs} A|B pairs written under {os.path.join(self.root, 'input_img')}"
                f"/{{train,test}}_{{species,community}}_samples")


def check_request(root: str, n_train: int, n_test: int, n_samples: int, params: SpecParams, workers: int) -> None:
    """Raise UserError for a request that cannot make a data set."""
    if n_train < 0 or n_test < 0:
        raise UserError(f"--n_train {n_train} / --n_test {n_test}: counts cannot be negative")
    if workers < 1:
        raise UserError(f"--workers {workers}: need at least 1")
    if params.sr < MIN_SR:
        raise UserError(f"--sr {params.sr}: the synthetic species reach 9 kHz; use at least {MIN_SR} Hz")
    if n_samples < params.n_fft:
        raise UserError(f"--duration {n_samples / params.sr:g} s is shorter than one FFT "
                        f"({params.n_fft} samples); use at least {params.n_fft / params.sr:.3f} s")
    if os.path.exists(root) and not os.path.isdir(root):
        raise UserError(f"--out {root}: exists and is not a folder")


def generate_dataset(root: str, n_train: int, n_test: int, seed: int, *, duration_s: float | None = None,
                     params: SpecParams = SpecParams(), overwrite: bool = False, workers: int = 2,
                     audible_floor_db: float = AUDIBLE_FLOOR_DB, audible_margin_db: float = AUDIBLE_MARGIN_DB,
                     progress: bool = True) -> DatasetSummary:
    """Write ``n_train`` + ``n_test`` soundscapes under ``root`` (see job00_synth_data.py for the layout).

    ``duration_s`` None means exactly one tile (:func:`one_tile_duration_s`). Soundscape ``i`` of a
    split is seeded from (seed, split, i), so ``workers`` does not change the result.
    """
    params = params.check()
    n_samples = one_tile_n_samples(params) if duration_s is None else int(round(duration_s * params.sr))
    check_request(root, n_train, n_test, n_samples, params, workers)
    splits = {"train": n_train, "test": n_test}
    record = {"seed": int(seed), "n_train": int(n_train), "n_test": int(n_test),
              "duration_s": n_samples / params.sr, "audible_floor_db": float(audible_floor_db),
              "audible_margin_db": float(audible_margin_db), "spectrogram": asdict(params), "version": __version__}
    record = json.loads(json.dumps(record))  # as it will read back (tuples become lists)
    _check_dataset_record(root, record, overwrite)
    jobs = [SynthJob(root, split, i, seed, n_samples, params, overwrite, audible_floor_db, audible_margin_db)
            for split, n in splits.items() for i in range(n)]
    pairs_per_job = _run_jobs(jobs, workers, progress)
    _write_json_atomic(dataset_record_path(root), record)
    n_skipped = sum(1 for n in pairs_per_job if n == 0)
    return DatasetSummary(root, len(jobs) - n_skipped, n_skipped, sum(pairs_per_job), splits)


def dataset_record_path(root: str) -> str:
    """``<root>/input_wav/dataset.json``: how job00 made the set (seed, counts, duration, spectrogram, version)."""
    return os.path.join(root, "input_wav", DATASET_RECORD)


def read_dataset_record(root: str) -> dict | None:
    """The record job00 left under ``root``, or None when there is none (a set made otherwise)."""
    try:
        with open(dataset_record_path(root), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{dataset_record_path(root)}: not readable ({exc})") from None


def _check_dataset_record(root: str, record: dict, overwrite: bool) -> None:
    """Refuse to add clips of another seed, duration or truth rule to an existing set (it would mix two sets)."""
    old = read_dataset_record(root)
    if old is None or overwrite:
        return
    keys = ("seed", "duration_s", "audible_floor_db", "audible_margin_db", "spectrogram")
    changed = [k for k in keys if old.get(k) != record[k]]
    if changed:
        raise UserError(f"{dataset_record_path(root)}: this set was made with other settings "
                        f"({', '.join(f'{k} {old.get(k)!r}' for k in changed if k != 'spectrogram')}"
                        f"{' spectrogram' if 'spectrogram' in changed else ''}); use --overwrite to remake it "
                        f"or another --out")


def _write_json_atomic(path: str, data: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = temp_name(path)
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
    os.replace(temp, path)


def _run_jobs(jobs: list[SynthJob], workers: int, progress: bool) -> list[int]:
    if workers > 1 and len(jobs) > 1:
        # the pool is forked before tqdm starts its monitor thread
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return _collect(pool.imap_unordered(write_soundscape, jobs, chunksize=2), len(jobs), progress)
    return _collect(map(write_soundscape, jobs), len(jobs), progress)


def _collect(results, total: int, progress: bool) -> list[int]:
    bar = tqdm(total=total, desc="job00 soundscapes", unit="clip", disable=None if progress else True)
    collected = []
    for n_pairs in results:
        collected.append(n_pairs)
        bar.update(1)
    bar.close()
    return collected
