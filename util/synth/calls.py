"""Models of the eight species' calls, one function each, named after the species.

Each model is built from what is published about the call's structure (note shape, rhythm, pitch); none
is a recording, and each is approximate. A model takes a numpy Generator ``rng`` and the sample rate ``sr``
in Hz and returns one call (a phrase, a series or a bout) as float32 audio with a nominal peak of 0.5,
band-limited to its band in :data:`util.synth.bands.MODEL_BANDS_HZ`; its pitch, durations and note levels
vary from call to call.

Imports only :mod:`util.synth.dsp` and :mod:`util.synth.bands`.
"""

from __future__ import annotations

import numpy as np

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
    slow_wobble,
    sweep,
    to_samples,
)


def jungle_nightjar(rng: Generator, sr: int) -> np.ndarray:
    """Jungle Nightjar (*Caprimulgus indicus*). Model of its song: a long series
    (2-6 s) of loud knocking "tchuck" notes, 4-6 a second, each 40-60 ms: a damped tone
    falling from about 1.5-2 kHz plus a noisy click, with a fast attack."""
    rate = rng.uniform(4.0, 6.0)
    n_notes = max(3, int(rng.uniform(2.0, 6.0) * rate))
    f_note = rng.uniform(1500.0, 2000.0)
    notes, onset = [], 0.0
    for _ in range(n_notes):
        n = to_samples(rng.uniform(0.04, 0.06), sr)
        f = f_note * rng.uniform(0.97, 1.03) * np.linspace(1.0, 0.85, n)
        env = decay_envelope(n, sr, 0.003, n / sr / 3)
        click = rng.standard_normal(n) * 0.6
        notes.append((onset, (sweep(f, sr) + click) * env * db_jitter(rng, 1.5)))
        onset += rng.uniform(0.95, 1.05) / rate
    return finish(assemble(notes, sr), sr, MODEL_BANDS_HZ["jungle_nightjar"])


def eurasian_jay(rng: Generator, sr: int) -> np.ndarray:
    """Eurasian Jay (*Garrulus glandarius*). Model of its alarm: a harsh, noisy
    screech of 0.3-0.6 s, repeated 1-3 times: a jittery harmonic stack (f0 0.9-1.4 kHz)
    with rough amplitude modulation, mixed with broadband noise, loudest at 2-4 kHz."""
    band_hz = MODEL_BANDS_HZ["eurasian_jay"]
    notes, onset = [], 0.0
    for _ in range(int(rng.integers(1, 4))):
        n = to_samples(rng.uniform(0.3, 0.6), sr)
        f0 = rng.uniform(900.0, 1400.0) * (1.0 + 0.04 * slow_wobble(rng, n, sr, 30.0))
        tonal = harmonic_stack(f0, sr, [0.5, 1.0, 1.0, 0.8, 0.5, 0.3, 0.2], band_hz[1])
        noise = band_limit(rng.standard_normal(n), sr, 1500.0, 6500.0, 200.0) * 1.5
        rough = 1.0 + 0.8 * np.sin(2 * np.pi * rng.uniform(40.0, 90.0) * np.arange(n) / sr)
        screech = (tonal + noise) * rough * envelope(n, sr, 0.02, 0.08)
        notes.append((onset, screech * db_jitter(rng, 1.5)))
        onset += n / sr + rng.uniform(0.15, 0.5)
    return finish(assemble(notes, sr), sr, band_hz, 150.0)


def koklass_pheasant(rng: Generator, sr: int) -> np.ndarray:
    """Koklass Pheasant (*Pucrasia macrolopha*). Model of its guttural
    "kok-kok-kokras": 3-5 harmonic notes of 0.15-0.3 s (fundamental 0.65-0.78 kHz, falling
    slightly, harmonics 2 and 3), with a throaty 30-50 Hz roughness; the last note is
    the longest and roughest."""
    band_hz = MODEL_BANDS_HZ["koklass_pheasant"]
    n_notes = int(rng.integers(3, 6))
    f0 = rng.uniform(650.0, 780.0)
    notes, onset = [], 0.0
    for k in range(n_notes):
        last = k == n_notes - 1
        n = to_samples(rng.uniform(0.25, 0.3) if last else rng.uniform(0.15, 0.25), sr)
        track = f0 * rng.uniform(0.97, 1.03) * np.linspace(1.02, 0.94, n)
        depth = 0.7 if last else 0.4
        rough = 1.0 + depth * np.sin(2 * np.pi * rng.uniform(30.0, 50.0) * np.arange(n) / sr)
        note = harmonic_stack(track, sr, [1.0, 0.6, 0.35], band_hz[1]) * rough * envelope(n, sr, 0.015, 0.05)
        notes.append((onset, note * db_jitter(rng, 1.5)))
        onset += n / sr + rng.uniform(0.08, 0.2)
    return finish(assemble(notes, sr), sr, band_hz)


def oriental_scops_owl(rng: Generator, sr: int) -> np.ndarray:
    """Oriental Scops Owl (*Otus sunia*). Model of its "tok-to-to-tok": phrases
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
            n = to_samples(rng.uniform(0.11, 0.15) if outer else rng.uniform(0.08, 0.11), sr)
            arch = np.sin(np.pi * np.arange(n) / n)
            track = f0 * rng.uniform(0.99, 1.01) + 25.0 * arch
            level = 1.0 if outer else 0.7
            notes.append((onset, sweep(track, sr) * envelope(n, sr, 0.015, 0.04) * level * db_jitter(rng, 1.0)))
            onset += n / sr + rng.uniform(0.06, 0.12)
    return finish(assemble(notes, sr), sr, MODEL_BANDS_HZ["oriental_scops_owl"])


def lesser_cuckoo(rng: Generator, sr: int) -> np.ndarray:
    """Lesser Cuckoo (*Cuculus poliocephalus*). Model of its loud song: a phrase
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
            n = to_samples(slot * rng.uniform(0.55, 0.75), sr)
            track = centre + rng.uniform(150.0, 300.0) * (np.sin(np.pi * np.arange(n) / n) - 0.5)
            notes.append((onset, sweep(track, sr) * envelope(n, sr, 0.015, 0.03) * db_jitter(rng, 1.0)))
            onset += slot
        onset += rng.uniform(0.8, 2.0)
    return finish(assemble(notes, sr), sr, MODEL_BANDS_HZ["lesser_cuckoo"])


def brownish_flanked_bush_warbler(rng: Generator, sr: int) -> np.ndarray:
    """Brownish-flanked Bush Warbler (*Horornis fortipes*). Model of its song: a
    rising pure whistle of about 1 s (2.0-2.3 kHz up to 2.7-3.0 kHz), then an explosive
    phrase of about 0.4 s of fast frequency modulation (20-35 Hz) sweeping 3-6 kHz; 1-2 songs."""
    notes, onset = [], 0.0
    for _ in range(int(rng.integers(1, 3))):
        n_whistle = to_samples(rng.uniform(0.8, 1.2), sr)
        rise = np.linspace(rng.uniform(2000.0, 2300.0), rng.uniform(2700.0, 3000.0), n_whistle)
        notes.append((onset, 0.6 * sweep(rise, sr) * envelope(n_whistle, sr, 0.08, 0.03)))
        onset += n_whistle / sr + rng.uniform(0.04, 0.1)
        n_burst = to_samples(rng.uniform(0.35, 0.45), sr)
        t = np.arange(n_burst) / sr
        wobble = np.sin(2 * np.pi * rng.uniform(20.0, 35.0) * t)
        track = rng.uniform(4300.0, 4700.0) + rng.uniform(1000.0, 1300.0) * wobble
        notes.append((onset, sweep(track, sr) * envelope(n_burst, sr, 0.005, 0.03) * db_jitter(rng, 1.5)))
        onset += n_burst / sr + rng.uniform(1.0, 2.0)
    return finish(assemble(notes, sr), sr, MODEL_BANDS_HZ["brownish_flanked_bush_warbler"])


def alstroms_warbler(rng: Generator, sr: int) -> np.ndarray:
    """Alström's Warbler (*Phylloscopus soror*). Model of its song: short thin
    phrases of 3-6 frequency-modulated notes of 50-100 ms (up-sweeps, down-sweeps or arches
    within 4.5-7.6 kHz), 1-3 phrases 0.5-1.5 s apart."""
    notes, onset = [], 0.0
    for _ in range(int(rng.integers(1, 4))):
        for _ in range(int(rng.integers(3, 7))):
            n = to_samples(rng.uniform(0.05, 0.1), sr)
            f_low = rng.uniform(4500.0, 6000.0)
            f_high = min(f_low + rng.uniform(800.0, 1500.0), 7600.0)
            shape = rng.integers(3)
            x = np.linspace(0.0, 1.0, n)
            unit = (x, 1.0 - x, np.sin(np.pi * x))[shape]
            track = f_low + (f_high - f_low) * unit
            notes.append((onset, sweep(track, sr) * envelope(n, sr, 0.008, 0.015) * db_jitter(rng, 1.5)))
            onset += n / sr + rng.uniform(0.02, 0.06)
        onset += rng.uniform(0.5, 1.5)
    return finish(assemble(notes, sr), sr, MODEL_BANDS_HZ["alstroms_warbler"])


def harterts_leaf_warbler(rng: Generator, sr: int) -> np.ndarray:
    """Hartert's Leaf Warbler (*Phylloscopus goodsoni*). Model of its song: a rapid
    trill (1-2.5 s) of steep downward sweeps, 10-15 notes a second, each falling from
    8.0-8.6 kHz to 5.3-5.9 kHz in 50-70 % of the note period; the trill swells and fades."""
    rate = rng.uniform(10.0, 15.0)
    n_notes = max(4, int(rng.uniform(1.0, 2.5) * rate))
    f_top, f_bottom = rng.uniform(8000.0, 8600.0), rng.uniform(5300.0, 5900.0)
    swell = np.sin(np.pi * (np.arange(n_notes) + 0.5) / n_notes) ** 0.5
    notes = []
    for k in range(n_notes):
        n = to_samples(rng.uniform(0.5, 0.7) / rate, sr)
        x = np.linspace(0.0, 1.0, n)
        jitter = rng.uniform(0.98, 1.02)
        track = jitter * (f_bottom + (f_top - f_bottom) * (1.0 - x) ** 2)  # steep at the start
        notes.append((k / rate, sweep(track, sr) * envelope(n, sr, 0.004, 0.01) * swell[k] * db_jitter(rng, 1.0)))
    return finish(assemble(notes, sr), sr, MODEL_BANDS_HZ["harterts_leaf_warbler"])
