"""A soundscape: background noise plus 0-4 sources, every part kept, and its events.

The sources are drawn without replacement from the eight species, ``insect`` and ``human``; each is placed
at a random time (at least half of the call, or half of the clip, lies inside it; the rest is cut) at an
SNR drawn from ``SNR_RANGE_DB`` (-5 to +20 dB, see :mod:`util.synth.levels`). Every part is kept:
``parts`` {class slug: float32 audio} and ``background``; the mixture is their exact float32 sum.

The background is drawn as a recipe (its kind and level) and rendered for one ``noise_draw``; the
sources are scaled against draw 0 and draw 0's peak-limit factor applies to every draw, so draw K of a
soundscape has exactly the sources of draw 0 over another realisation of the same background.

With real sound (:mod:`util.synth.real`; ``Conditions.real_sources`` / ``real_backgrounds``) the draws are the
same: a source with real clips takes a drawn clip instead of a modelled call, and the recipe's level and
seeds pick and scale an excerpt of a field recording instead of rendering modelled noise.

Imports the other :mod:`util.synth` modules below it (sources, noises, levels, real) and the base and
signal layers.
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
from util.synth.noises import (
    BACKGROUND_KINDS,
    BackgroundRecipe,
    check_background_kinds,
    draw_background_recipe,
    render_background,
)
from util.synth.propagation import propagate
from util.synth.real import (
    BACKGROUNDS_FLAG,
    SOURCES_FLAG,
    RealClip,
    check_folder,
    check_unchanged,
    folder_record,
    pick_real_call,
    real_background_files,
    real_source_clips,
    render_real_background,
)
from util.synth.sources import SourceModel, source_models

SNR_RANGE_DB = (-5.0, 20.0)
BACKGROUND_DBFS_RANGE = (-55.0, -35.0)   # background RMS, dB re full scale
MAX_SOURCES = 4
PEAK_LIMIT = 0.99              # all parts are scaled together if the mixture would exceed this
EVENT_COLUMNS = ("class", "slug", "start_s", "end_s", "low_hz", "high_hz",
                 "level",            # RMS over the active part, dB re full scale
                 "community", "model", "snr_db")


@dataclass(frozen=True)
class Conditions:
    """The conditions soundscapes are drawn under (job00's flags; the names of :func:`make_soundscape`'s
    keywords): SNR range in dB, background RMS range in dB re full scale, the background kinds allowed
    (:data:`util.synth.noises.BACKGROUND_KINDS`), the most sources in a clip, and the folders of real
    clean calls (one subfolder per class) and of field recordings used as backgrounds
    (:mod:`util.synth.real`; None: the models)."""

    snr_range_db: tuple[float, float] = SNR_RANGE_DB
    background_dbfs_range: tuple[float, float] = BACKGROUND_DBFS_RANGE
    background_kinds: tuple[str, ...] = BACKGROUND_KINDS
    max_sources: int = MAX_SOURCES
    real_sources: str | None = None
    real_backgrounds: str | None = None
    propagation: bool = False       # distance filtering and reverberation of each call (util.synth.propagation)

    def check(self) -> "Conditions":
        """The conditions with tuples normalised; UserError naming the flag for an impossible one."""
        for flag, (low, high) in (("--snr_range", self.snr_range_db),
                                  ("--background_dbfs_range", self.background_dbfs_range)):
            if not low <= high:
                raise UserError(f"{flag} {low:g} {high:g}: LO must not exceed HI")
        if self.background_dbfs_range[1] > 0:
            raise UserError(f"--background_dbfs_range: {self.background_dbfs_range[1]:g} dB is above full scale")
        if not 0 <= self.max_sources <= len(source_models()):
            raise UserError(f"--max_sources {self.max_sources}: use 0 to {len(source_models())}")
        real = [None if folder is None else check_folder(folder, flag)
                for folder, flag in ((self.real_sources, SOURCES_FLAG), (self.real_backgrounds, BACKGROUNDS_FLAG))]
        return Conditions(tuple(map(float, self.snr_range_db)), tuple(map(float, self.background_dbfs_range)),
                          check_background_kinds(self.background_kinds), int(self.max_sources), *real,
                          bool(self.propagation))

    def record(self) -> dict:
        """The conditions as dataset.json keys (lists, as JSON reads them back); a real-sound folder as its
        path, files and sha256 (:func:`util.synth.real.folder_record`)."""
        return {"snr_range_db": list(self.snr_range_db), "background_dbfs_range": list(self.background_dbfs_range),
                "background_kinds": list(self.background_kinds), "max_sources": self.max_sources,
                "real_sources": folder_record(self.real_sources, SOURCES_FLAG),
                "real_backgrounds": folder_record(self.real_backgrounds, BACKGROUNDS_FLAG),
                "propagation": self.propagation}

    @classmethod
    def from_record(cls, record: dict) -> "Conditions":
        """The conditions a dataset.json record names; a key it lacks (an older set) takes today's default.
        UserError when a real-sound folder's files changed since the set was made."""
        default = cls()
        for key, flag in (("real_sources", SOURCES_FLAG), ("real_backgrounds", BACKGROUNDS_FLAG)):
            check_unchanged(record.get(key), flag)
        return cls(tuple(record.get("snr_range_db", default.snr_range_db)),
                   tuple(record.get("background_dbfs_range", default.background_dbfs_range)),
                   tuple(record.get("background_kinds", default.background_kinds)),
                   int(record.get("max_sources", default.max_sources)),
                   (record.get("real_sources") or {}).get("folder"),
                   (record.get("real_backgrounds") or {}).get("folder"),
                   bool(record.get("propagation", default.propagation))).check()

    def load_real_audio(self, sr: int) -> None:
        """Read (and check) the real clips and backgrounds at ``sr`` Hz once, before worker processes fork."""
        if self.real_sources is not None:
            real_source_clips(self.real_sources, sr)
        if self.real_backgrounds is not None:
            real_background_files(self.real_backgrounds, sr)


@dataclass
class Event:
    """One source's call in a clip: times in s (its active part inside the clip), band in Hz,
    level in dB re full scale (RMS over the active part), SNR in dB (as defined in :mod:`util.synth.levels`);
    ``model`` the call model's name, or 'real:<class folder>/<file>' for a real clip."""

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
                    background_kinds: tuple[str, ...] = BACKGROUND_KINDS, real_sources: str | None = None,
                    real_backgrounds: str | None = None, propagation: bool = False, noise_draw: int = 0,
                    peak_limit: float = PEAK_LIMIT) -> Soundscape:
    """One labelled soundscape: background noise plus sources, every part kept.

    If draw 0's mixture peak would exceed ``peak_limit``, every part is scaled by the same factor
    (SNRs unchanged), in every draw. The same ``rng`` state gives the same soundscape; another
    ``noise_draw`` gives the same sources over another realisation of the same background.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness (which sources, their calls, onsets, SNRs, the background).
    n_samples, sr : int
        Clip length in samples; sample rate in Hz.
    sources : list of str, optional
        Source slugs, distinct, from :func:`util.synth.sources.source_models`; fixes which sources
        appear. Default: 0..``max_sources`` drawn uniformly.
    max_sources, snr_range_db, background_dbfs_range, background_kinds, real_sources, real_backgrounds, propagation
        The conditions (:class:`Conditions`): most sources drawn when ``sources`` is None; range of each
        source's SNR in dB (:mod:`util.synth.levels`) and of the background's RMS in dB re full scale, both
        drawn uniformly; background kinds allowed; folders of real clean calls and of field recordings
        (:mod:`util.synth.real`; None: the models); ``propagation``: each call heard from a drawn distance
        (:mod:`util.synth.propagation`) before its level is set.
    noise_draw : int
        Which realisation of the background noise (0: the data set's own).
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
        A slug in ``sources`` is unknown or repeated; a real-sound folder cannot be used.
    """
    models = source_models()
    sources = draw_sources(rng, max_sources) if sources is None else _checked_sources(sources)
    recipe = draw_background_recipe(rng, background_dbfs_range, background_kinds)
    reference = _background(recipe, sr, n_samples, 0, real_backgrounds)
    clips = {} if real_sources is None else real_source_clips(real_sources, sr)
    parts, chosen = {}, {}
    for slug in sources:
        parts[slug], chosen[slug] = _add_source(rng, models[slug], reference, n_samples, sr, snr_range_db,
                                                clips.get(slug, ()), propagation)
    background = reference if noise_draw == 0 else _background(recipe, sr, n_samples, noise_draw, real_backgrounds)
    scale = _peak_scale(parts, reference, peak_limit)
    parts, background = {slug: audio * scale for slug, audio in parts.items()}, background * scale
    events = [_describe(models[slug], model, band, parts[slug], background, sr)
              for slug, (model, band) in chosen.items()]
    return Soundscape(sr, background, parts, events)


def _checked_sources(sources: list[str]) -> list[str]:
    models = source_models()
    unknown = [s for s in sources if s not in models]
    if unknown or len(set(sources)) != len(sources):
        raise UserError(f"sources {sources}: each must be one of {', '.join(models)}, at most once")
    return list(sources)


def _background(recipe: BackgroundRecipe, sr: int, n_samples: int, noise_draw: int,
                real_backgrounds: str | None) -> np.ndarray:
    """Draw ``noise_draw`` of a clip's background: the modelled noise, or an excerpt of a field recording."""
    if real_backgrounds is None:
        return render_background(recipe, sr, n_samples, noise_draw)
    return render_real_background(real_background_files(real_backgrounds, sr), recipe, n_samples, noise_draw)


def _add_source(rng: Generator, model: SourceModel, background: np.ndarray, n_samples: int, sr: int,
                snr_range_db: tuple[float, float], clips: tuple[RealClip, ...] = (), propagation: bool = False
                ) -> tuple[np.ndarray, tuple[str, tuple[float, float]]]:
    """One call of one of ``model``'s generators, or one of its real ``clips`` if it has any, placed in the
    clip (heard from a drawn distance with ``propagation``) at a drawn SNR: (float32 audio, (generator name
    or 'real:<file>', event band in Hz))."""
    if clips:
        call, name = pick_real_call(rng, clips)
        placed = _place_audible(rng, call, n_samples, name)
    else:
        generator = model.generators[int(rng.integers(len(model.generators)))]
        placed, name = place_event(rng, generator(rng, sr), n_samples)[0], generator.__name__
    if propagation:
        placed = propagate(rng, placed, sr)
    band = event_band_hz(placed, sr)
    p_source, p_background = active_powers(placed, background, sr, band)
    gain = np.sqrt(10 ** (rng.uniform(*snr_range_db) / 10) * p_background / p_source)
    return (placed * gain).astype(np.float32), (name, band)


def _place_audible(rng: Generator, call: np.ndarray, n_samples: int, name: str, tries: int = 20) -> np.ndarray:
    """:func:`place_event` until the part of a real clip inside the clip is not silent (a clip may hold
    long pauses); UserError naming the clip after ``tries``."""
    for _ in range(tries):
        placed, _ = place_event(rng, call, n_samples)
        if np.any(placed):
            return placed
    raise UserError(f"{name}: {tries} placements of this clip left only silence in the soundscape; "
                    f"cut the long pauses out of it")


def _peak_scale(parts: dict[str, np.ndarray], background: np.ndarray, peak_limit: float) -> np.float32:
    """Factor (float32, at most 1) that brings the mixture's peak down to ``peak_limit``."""
    peak = float(np.max(np.abs(mix(parts, background))))
    return np.float32(1.0 if peak <= peak_limit else peak_limit / peak * (1 - 1e-6))


def _describe(model: SourceModel, generator_name: str, band: tuple[float, float], audio: np.ndarray,
              background: np.ndarray, sr: int) -> Event:
    start_s, end_s = active_span_s(audio, sr)
    return Event(model.name, model.slug, model.community, generator_name, start_s, end_s, band[0], band[1],
                 level_dbfs(audio, sr), snr_db(audio, background, sr, band))
