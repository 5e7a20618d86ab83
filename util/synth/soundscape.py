"""A soundscape: background noise plus 0-4 sources, every part kept, and its events.

The sources are drawn without replacement from the eight species, ``insect`` and ``human``; each is placed
at a random time (at least half of the call, or half of the clip, lies inside it; the rest is cut) at an
SNR drawn from ``SNR_RANGE_DB`` (-5 to +20 dB, see :mod:`util.synth.levels`). Every part is kept:
``parts`` {class slug: float32 audio} and ``background``; the mixture is their exact float32 sum.

Imports the other :mod:`util.synth` modules below it (sources, noises, levels) and the base and signal
layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from util.errors import UserError
from util.signal.spectrogram import SpecParams
from util.synth.dsp import Generator
from util.synth.levels import (
    active_powers,
    active_span_s,
    event_band_hz,
    level_dbfs,
    snr_db,
)
from util.synth.noises import background_noise
from util.synth.sources import SourceModel, source_models

SNR_RANGE_DB = (-5.0, 20.0)
BACKGROUND_DBFS_RANGE = (-55.0, -35.0)   # background RMS, dB re full scale
MAX_SOURCES = 4
PEAK_LIMIT = 0.99              # all parts are scaled together if the mixture would exceed this
EVENT_COLUMNS = ("class", "slug", "start_s", "end_s", "low_hz", "high_hz",
                 "level",            # RMS over the active part, dB re full scale
                 "community", "model", "snr_db")


@dataclass
class Event:
    """One source's call in a clip: times in s (its active part inside the clip), band in Hz,
    level in dB re full scale (RMS over the active part), SNR in dB (as defined in :mod:`util.synth.levels`)."""

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
        """The event as one row of events.csv: ``EVENT_COLUMNS``, numbers formatted as text."""
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
    """One labelled soundscape: background noise plus sources, every part kept.

    If the mixture's peak would exceed ``peak_limit``, every part is scaled by the same factor
    (SNRs unchanged). The same ``rng`` state gives the same soundscape.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness (which sources, their calls, onsets, SNRs, the background).
    n_samples : int
        Clip length in samples.
    sr : int
        Sample rate in Hz.
    sources : list of str, optional
        Source slugs, distinct, from :func:`util.synth.sources.source_models`; fixes which sources
        appear. Default: 0..``max_sources`` drawn uniformly.
    max_sources : int
        Most sources drawn when ``sources`` is None.
    snr_range_db : (float, float)
        Each source's SNR in dB is drawn uniformly from this range (see :mod:`util.synth.levels`).
    background_dbfs_range : (float, float)
        The background's RMS level is drawn uniformly from this range, dB re full scale.
    peak_limit : float
        Largest allowed absolute sample value of the mixture (full scale = 1).

    Returns
    -------
    Soundscape
        ``background`` float32 (n_samples,), ``parts`` {slug: float32 (n_samples,)} in drawing order,
        ``events`` one :class:`Event` per part; ``mixture`` is their float32 sum.

    Raises
    ------
    UserError
        A slug in ``sources`` is unknown or repeated.
    """
    models = source_models()
    sources = draw_sources(rng, max_sources) if sources is None else list(sources)
    unknown = [s for s in sources if s not in models]
    if unknown or len(set(sources)) != len(sources):
        raise UserError(f"sources {sources}: each must be one of {', '.join(models)}, at most once")
    background = background_noise(rng, sr, n_samples, rng.uniform(*background_dbfs_range))
    parts, chosen = {}, {}
    for slug in sources:
        parts[slug], chosen[slug] = _add_source(rng, models[slug], background, n_samples, sr, snr_range_db)
    parts, background = _limit_peak(parts, background, peak_limit)
    events = [_describe(models[slug], model, band, parts[slug], background, sr)
              for slug, (model, band) in chosen.items()]
    return Soundscape(sr, background, parts, events)


def _add_source(rng: Generator, model: SourceModel, background: np.ndarray, n_samples: int, sr: int,
                snr_range_db: tuple[float, float]) -> tuple[np.ndarray, tuple[str, tuple[float, float]]]:
    """One call of one of ``model``'s generators, placed in the clip at a drawn SNR: (float32 audio,
    (generator name, event band in Hz))."""
    generator = model.generators[int(rng.integers(len(model.generators)))]
    placed, _ = place_event(rng, generator(rng, sr), n_samples)
    band = event_band_hz(placed, sr)
    p_source, p_background = active_powers(placed, background, sr, band)
    gain = np.sqrt(10 ** (rng.uniform(*snr_range_db) / 10) * p_background / p_source)
    return (placed * gain).astype(np.float32), (generator.__name__, band)


def _limit_peak(parts: dict[str, np.ndarray], background: np.ndarray, peak_limit: float):
    peak = float(np.max(np.abs(mix(parts, background))))
    if peak <= peak_limit:
        return parts, background
    scale = np.float32(peak_limit / peak * (1 - 1e-6))
    return {slug: audio * scale for slug, audio in parts.items()}, background * scale


def _describe(model: SourceModel, generator_name: str, band: tuple[float, float], audio: np.ndarray,
              background: np.ndarray, sr: int) -> Event:
    start_s, end_s = active_span_s(audio, sr)
    return Event(model.name, model.slug, model.community, generator_name, start_s, end_s, band[0], band[1],
                 level_dbfs(audio, sr), snr_db(audio, background, sr, band))
