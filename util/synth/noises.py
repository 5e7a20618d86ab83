"""Models of the sounds that are not birds: insects and human sounds (sources), and the background.

Insect and human models follow the species models' contract (:mod:`util.synth.calls`): ``(rng, sr)`` in,
one float32 call of nominal peak 0.5 out, band-limited to the model's band in
:data:`util.synth.bands.MODEL_BANDS_HZ`. Background models take the clip length too and return unit-RMS
noise. A clip's background is a :class:`BackgroundRecipe` (its kind: colour, components, their levels;
drawn with the clip) rendered by :func:`render_background` for one draw of the noise (draw 0 is the data
set's; other draws are the same background kind with other noise).

Imports only :mod:`util.synth.dsp`, :mod:`util.synth.bands` and :mod:`util.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.signal

from util.errors import UserError
from util.synth.bands import MODEL_BANDS_HZ
from util.synth.dsp import (
    Generator,
    assemble,
    band_limit,
    db_jitter,
    decay_envelope,
    envelope,
    finish,
    harmonic_stack,
    shaped_noise,
    slow_wobble,
    sweep,
    to_samples,
)

# --------------------------------------------------------------------------- insects

def cicada_buzz(rng: Generator, sr: int) -> np.ndarray:
    """Cicada drone model: noise pulsed fast (80-200 pulses a second) through the song's resonance (a
    dominant frequency of 4-6.5 kHz, 0.15-0.3 octave wide, over a skirt 12-20 dB down that fills the
    band), 2-6 s long, swelling in and fading out."""
    band_hz = MODEL_BANDS_HZ["cicada_buzz"]
    n = to_samples(rng.uniform(2.0, 6.0), sr)
    pulses = np.sin(np.pi * rng.uniform(80.0, 200.0) * np.arange(n) / sr) ** 4
    noise = _resonant_noise(rng, n, sr, band_hz)
    return finish(noise * pulses * envelope(n, sr, 0.3, 0.3), sr, band_hz)


def cicada_phrases(rng: Generator, sr: int) -> np.ndarray:
    """Cicada phrase model: a song of 3-20 echemes (0.08-0.4 s of resonant pulsed buzz, as in
    :func:`cicada_buzz`, 0.05-0.25 s apart), the dominant frequency gliding up 3-10 % through each
    echeme; 1-5 s."""
    band_hz = MODEL_BANDS_HZ["cicada_phrases"]
    on_s, gap_s = rng.uniform(0.08, 0.4), rng.uniform(0.05, 0.25)
    rate = rng.uniform(80.0, 200.0)
    notes, onset = [], 0.0
    for _ in range(int(np.clip(rng.uniform(1.0, 5.0) / (on_s + gap_s), 3, 20))):
        n = to_samples(on_s * rng.uniform(0.9, 1.1), sr)
        glide = rng.uniform(1.03, 1.10)
        pulses = np.sin(np.pi * rate * np.arange(n) / sr) ** 4
        echeme = _resonant_noise(rng, n, sr, band_hz, glide) * pulses * envelope(n, sr, 0.02, 0.03)
        notes.append((onset, echeme * db_jitter(rng, 1.0)))
        onset += n / sr + gap_s * rng.uniform(0.9, 1.1)
    return finish(assemble(notes, sr), sr, band_hz)


def _resonant_noise(rng: Generator, n: int, sr: int, band_hz: tuple[float, float], glide: float = 1.0) -> np.ndarray:
    """Noise through a cicada's resonance: power peaked at a dominant frequency drawn in 4-6.5 kHz (a
    Gaussian in octaves, 0.15-0.3 octave standard deviation) over a skirt 12-20 dB down across
    ``band_hz``; with ``glide`` > 1 the dominant frequency rises by that factor over the ``n`` samples
    (the noise filtered in four quarters, crossfaded)."""
    centre = rng.uniform(4000.0, 6500.0)
    width, skirt = rng.uniform(0.15, 0.3), 10 ** (-rng.uniform(12.0, 20.0) / 20)
    white = shaped_noise(rng, n, sr, *band_hz)
    freqs = scipy.fft.rfftfreq(n, 1.0 / sr)
    spectrum = scipy.fft.rfft(white)
    pieces = 1 if glide == 1.0 else 4
    position = np.linspace(0.0, 1.0, n)[None, :] * (pieces - 1) - np.arange(pieces)[:, None]
    weights = np.clip(1.0 - np.abs(position), 0.0, 1.0)     # one row of ones when there is one piece
    out = np.zeros(n)
    for k in range(pieces):
        fc = centre * glide ** (k / max(pieces - 1, 1))
        gain = skirt + np.exp(-0.5 * (np.log2(np.maximum(freqs, 1.0) / fc) / width) ** 2)
        out += weights[k] * scipy.fft.irfft(spectrum * gain, n)
    return out


def cricket_chirps(rng: Generator, sr: int) -> np.ndarray:
    """Cricket model: a pure carrier (3.8-5.2 kHz) in chirps of 3-5 pulses of 12-20 ms, 1.5-3 chirps a
    second, for 2-5 s."""
    carrier = rng.uniform(3800.0, 5200.0)
    chirp_rate = rng.uniform(1.5, 3.0)
    notes = []
    for c in range(max(2, int(rng.uniform(2.0, 5.0) * chirp_rate))):
        onset = c / chirp_rate
        for _ in range(int(rng.integers(3, 6))):
            n = to_samples(rng.uniform(0.012, 0.02), sr)
            pulse = sweep(np.full(n, carrier), sr) * envelope(n, sr, 0.003, 0.004) * db_jitter(rng, 1.0)
            notes.append((onset, pulse))
            onset += n / sr + rng.uniform(0.01, 0.018)
    return finish(assemble(notes, sr), sr, MODEL_BANDS_HZ["cricket_chirps"])


def katydid_pulses(rng: Generator, sr: int) -> np.ndarray:
    """Katydid model: trains of 0.2-0.6 s of short broadband clicks (3-6 ms, 20-60 a second), 2-5 trains
    0.3-1 s apart."""
    notes, onset = [], 0.0
    for _ in range(int(rng.integers(2, 6))):
        rate = rng.uniform(20.0, 60.0)
        for k in range(max(2, int(rng.uniform(0.2, 0.6) * rate))):
            n = to_samples(rng.uniform(0.003, 0.006), sr)
            notes.append((onset + k / rate, rng.standard_normal(n) * decay_envelope(n, sr, 0.0005, n / sr / 3)))
        onset += rng.uniform(0.2, 0.6) + rng.uniform(0.3, 1.0)
    return finish(assemble(notes, sr), sr, MODEL_BANDS_HZ["katydid_pulses"], 300.0)


# --------------------------------------------------------------------------- human sounds

def road_vehicle(rng: Generator, sr: int) -> np.ndarray:
    """Road vehicle pass-by model: brownish broadband noise under a bell-shaped 3-8 s envelope
    (approach, pass, recede)."""
    band_hz = MODEL_BANDS_HZ["road_vehicle"]
    n = to_samples(rng.uniform(3.0, 8.0), sr)
    t = np.linspace(-1.0, 1.0, n)
    bell = np.exp(-0.5 * (t / rng.uniform(0.25, 0.4)) ** 2)
    return finish(shaped_noise(rng, n, sr, *band_hz, -4.0) * bell, sr, band_hz)


def engine_drone(rng: Generator, sr: int) -> np.ndarray:
    """Engine or chainsaw model: a harmonic stack (fundamental 80-200 Hz, harmonics falling as 1/k^0.7)
    whose pitch revs up and down, with some noise from 80 Hz up; 2-6 s."""
    band_hz = MODEL_BANDS_HZ["engine_drone"]
    n = to_samples(rng.uniform(2.0, 6.0), sr)
    f0 = rng.uniform(80.0, 200.0) * (1.0 + rng.uniform(0.03, 0.2) * slow_wobble(rng, n, sr, 1.0))
    tonal = harmonic_stack(f0, sr, 1.0 / np.arange(1, 60) ** 0.7, band_hz[1])
    noise = 0.3 * shaped_noise(rng, n, sr, 80.0, band_hz[1], -3.0)
    return finish((tonal + noise) * envelope(n, sr, 0.3, 0.3), sr, band_hz)


def speech_babble(rng: Generator, sr: int) -> np.ndarray:
    """Voiced speech-like babble model: 1-3 voices, each a sequence of syllables
    (0.1-0.25 s, 4-5 a second) with a harmonic source (f0 100-240 Hz, gliding intonation)
    shaped by three random formants (F1 300-800, F2 900-2200, F3 2300-3200 Hz); 2-5 s."""
    n = to_samples(rng.uniform(2.0, 5.0), sr)
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, 4))):
        out += _voice(rng, n, sr) * db_jitter(rng, 3.0)
    return finish(out, sr, MODEL_BANDS_HZ["speech_babble"])


def _voice(rng: Generator, n: int, sr: int) -> np.ndarray:
    f0 = rng.uniform(100.0, 240.0) * (1.0 + 0.12 * slow_wobble(rng, n, sr, 2.0))
    phase = 2.0 * np.pi * np.cumsum(f0) / sr
    out, start = np.zeros(n), int(rng.uniform(0.0, 0.3) * sr)
    while start < n:
        length = min(to_samples(rng.uniform(0.1, 0.25), sr), n - start)
        span = slice(start, start + length)
        formants = (rng.uniform(300, 800), rng.uniform(900, 2200), rng.uniform(2300, 3200))
        k = np.arange(1, int(4000.0 / f0[span].max()) + 1)
        amps = sum(np.exp(-0.5 * ((k * f0[span].mean() - fc) / 120.0) ** 2) for fc in formants) / k ** 0.5
        out[span] = amps @ np.sin(np.outer(k, phase[span])) * envelope(length, sr, 0.02, 0.04)
        start += length + int(rng.uniform(0.03, 0.1) * sr)
    return out


def aircraft_rumble(rng: Generator, sr: int) -> np.ndarray:
    """Aircraft overflight model: low rumble (noise falling 5 dB an octave) rising and fading over
    5-10 s, with slow swells."""
    band_hz = MODEL_BANDS_HZ["aircraft_rumble"]
    n = to_samples(rng.uniform(5.0, 10.0), sr)
    t = np.linspace(-1.0, 1.0, n)
    swell = np.exp(-0.5 * (t / 0.45) ** 2) * (1.0 + 0.3 * slow_wobble(rng, n, sr, 0.5))
    return finish(shaped_noise(rng, n, sr, *band_hz, -5.0) * swell, sr, band_hz)


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


def rain(rng: Generator, sr: int, n_samples: int, drops_per_s: float = 100.0,
         timbre_rng: Generator | None = None) -> np.ndarray:
    """Rain model: on average ``drops_per_s`` random drops a second (heavy-tailed sizes), each the same
    1-4 ms decaying broadband click (drawn from ``timbre_rng``, default ``rng``: it sets the rain's
    spectrum), 0.8-10 kHz, falling in showers (the drop rate swells and eases over seconds, about
    ``RAIN_SHOWER_SPREAD`` in natural log either way); unit RMS."""
    k = to_samples(0.004, sr)
    kernel = (timbre_rng or rng).standard_normal(k) * np.exp(-np.arange(k) / (0.001 * sr))
    showers = np.cumsum(np.exp(RAIN_SHOWER_SPREAD * slow_wobble(rng, n_samples, sr, 0.5)))
    drops = np.zeros(n_samples)
    n_drops = rng.poisson(drops_per_s * n_samples / sr) + 1
    at = np.minimum(np.searchsorted(showers, rng.random(n_drops) * showers[-1]), n_samples - 1)
    np.add.at(drops, at, rng.pareto(2.0, n_drops) * rng.choice([-1.0, 1.0], n_drops))
    y = band_limit(scipy.signal.fftconvolve(drops, kernel)[:n_samples], sr, 800.0, 10000.0, 200.0)
    return y / max(np.sqrt(np.mean(y ** 2)), 1e-20)


def stream(rng: Generator, sr: int, n_samples: int) -> np.ndarray:
    """Stream model: steady noise from 150 Hz (falling 2 dB an octave, rolled off gently
    between 3 and 8 kHz) with a light 2-8 Hz gurgle; unit RMS."""
    gurgle = 1.0 + 0.3 * slow_wobble(rng, n_samples, sr, 8.0, 6)
    y = shaped_noise(rng, n_samples, sr, 150.0, 8000.0, -2.0, rolloff_hz=5000.0) * gurgle
    return y / np.sqrt(np.mean(y ** 2))


# The kinds of background: a coloured base (pink or brown, one per clip) and optional components.
COLOURS = {"pink": -3.0, "brown": -6.0}        # kind: power slope in dB per octave
COMPONENTS = {"wind": (0.4, (-6.0, 6.0)),      # kind: (probability in a clip, level range in dB
              "rain": (0.3, (-12.0, 0.0)),     #        relative to the coloured base)
              "stream": (0.3, (-12.0, 0.0))}
BACKGROUND_KINDS = (*COLOURS, *COMPONENTS)
MIC_FLOOR_DB = -30.0                           # white microphone floor, relative to the coloured base
RAIN_DROPS_PER_S = (20.0, 200.0)               # range of a rainy clip's mean drop rate
RAIN_SHOWER_SPREAD = 1.2                       # how far the drop rate swells and eases (natural log)


@dataclass(frozen=True)
class BackgroundRecipe:
    """What kind of background a clip has (not its realisation): RMS ``level_dbfs`` (dB re full scale),
    the base's ``slope_db_per_octave``, ``components`` ((kind, dB relative to the base), ...), the
    rain's drop rate and ``timbre_seed`` (its drop sound, hence its spectrum), and ``noise_seed``, from
    which each draw of the noise is seeded."""

    level_dbfs: float
    slope_db_per_octave: float
    components: tuple[tuple[str, float], ...]
    rain_drops_per_s: float
    timbre_seed: int
    noise_seed: int


def check_background_kinds(kinds) -> tuple[str, ...]:
    """``kinds`` as a tuple of known kinds, at least one colour among them; UserError otherwise."""
    kinds = tuple(kinds)
    unknown = sorted(set(kinds) - set(BACKGROUND_KINDS))
    if unknown or not set(kinds) & set(COLOURS):
        raise UserError(f"--background_kinds {','.join(kinds)}: each must be one of {','.join(BACKGROUND_KINDS)}, "
                        f"with pink or brown among them")
    return kinds


def draw_background_recipe(rng: Generator, level_dbfs_range: tuple[float, float],
                           kinds: tuple[str, ...] = BACKGROUND_KINDS) -> BackgroundRecipe:
    """A clip's background recipe: RMS level uniform in ``level_dbfs_range``; pink or brown base;
    wind (p 0.4, -6..+6 dB), rain (p 0.3, -12..0 dB, 20-200 drops a second) and a stream (p 0.3,
    -12..0 dB) relative to the base. Only ``kinds`` are used; the same numbers are drawn whatever
    ``kinds`` (so the rest of the clip does not change with them)."""
    kinds = check_background_kinds(kinds)
    level_dbfs = float(rng.uniform(*level_dbfs_range))
    colour = str(rng.choice(list(COLOURS)))
    allowed_colours = [c for c in COLOURS if c in kinds]
    colour = colour if colour in kinds else allowed_colours[0]
    components = []
    for kind, (probability, (low_db, high_db)) in COMPONENTS.items():
        present, relative_db = rng.random() < probability, float(rng.uniform(low_db, high_db))
        if present and kind in kinds:
            components.append((kind, relative_db))
    drops_per_s = float(rng.uniform(*RAIN_DROPS_PER_S))
    timbre_seed, noise_seed = (int(s) for s in rng.integers(2 ** 63 - 1, size=2))
    return BackgroundRecipe(level_dbfs, COLOURS[colour], tuple(components), drops_per_s, timbre_seed, noise_seed)


def render_background(recipe: BackgroundRecipe, sr: int, n_samples: int, noise_draw: int = 0) -> np.ndarray:
    """Draw ``noise_draw`` of a recipe's background: float32 (n_samples,) of RMS ``recipe.level_dbfs``.

    Every draw has the same colour, components, relative levels and RMS level; draws differ only in
    the random noise (its own generator, seeded from (``recipe.noise_seed``, ``noise_draw``)).
    """
    rng = np.random.default_rng([recipe.noise_seed, int(noise_draw)])
    y = colored_noise(rng, sr, n_samples, recipe.slope_db_per_octave)
    y += 10 ** (MIC_FLOOR_DB / 20) * shaped_noise(rng, n_samples, sr, 20.0, sr / 2)
    for kind, relative_db in recipe.components:
        if kind == "rain":
            component = rain(rng, sr, n_samples, recipe.rain_drops_per_s, np.random.default_rng(recipe.timbre_seed))
        else:
            component = {"wind": wind_gusts, "stream": stream}[kind](rng, sr, n_samples)
        y += 10 ** (relative_db / 20) * component
    y *= 10 ** (recipe.level_dbfs / 20) / np.sqrt(np.mean(y ** 2))
    return y.astype(np.float32)
