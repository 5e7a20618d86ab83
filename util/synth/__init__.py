"""Labelled synthetic soundscapes with exact ground truth (job00's data).

A soundscape is field-like background noise plus 0-4 sources (models of the eight species' calls,
insects, human sounds; or the user's own clean clips and field recordings, :mod:`util.synth.real`), every
part kept, so the label of each spectrogram pixel is known exactly. Modules, lowest first:

    dsp          signal building blocks: band limits, shaped noise, sweeps, harmonics, envelopes
    bands        every call model's frequency band (Hz), the one place it is stated
    calls        the eight species' call models
    noises       insect and human models (sources) and the background
    sources      the source registry: slug, name, community, band, models; the palettes by level
    levels       a source in a clip: active part, event band, level, SNR
    real         real sound: clean clips as sources, field recordings as backgrounds (--real_sources, ...)
    soundscape   Event, Soundscape, mixing, make_soundscape
    truth        the label rule: which part owns each pixel, class maps at both levels
    writer       one clip's files: part WAVs, events.csv, Raven tables, A|B pairs
    dataset      the data set: seeds, jobs, dataset.json, generate_dataset
    agreement    labels of two noise draws compared: the ceiling of any model (noise_draw_agreement)

May import the base modules (errors, files, metrics, cli), ``util.signal`` and ``util.labels``; never
``util.gan``, ``util.recording`` or ``util.evaluation``.

Example::

    clip = make_soundscape(np.random.default_rng(0), one_tile_n_samples())
    maps = class_maps(clip)      # {'species': uint8 (256, 256), 'community': uint8 (256, 256)}
    clip.parts, clip.background, clip.mixture, clip.events
"""

from __future__ import annotations

from util.synth.agreement import noise_draw_agreement
from util.synth.bands import MODEL_BANDS_HZ
from util.synth.dataset import (
    DatasetSummary,
    generate_dataset,
    one_tile_duration_s,
    one_tile_n_samples,
    read_dataset_record,
    remake_soundscape,
)
from util.synth.levels import snr_db
from util.synth.noises import BACKGROUND_KINDS
from util.synth.soundscape import (
    BACKGROUND_DBFS_RANGE,
    MAX_SOURCES,
    SNR_RANGE_DB,
    Conditions,
    Event,
    Soundscape,
    make_soundscape,
)
from util.synth.sources import SOURCE_BANDS_HZ, SourceModel, palettes, source_models
from util.synth.truth import AUDIBLE_FLOOR_DB, AUDIBLE_MARGIN_DB, IBM_MARGIN_DB, TRUTH_RULES, TruthRule, class_maps

__all__ = [
    "AUDIBLE_FLOOR_DB", "AUDIBLE_MARGIN_DB", "BACKGROUND_DBFS_RANGE", "BACKGROUND_KINDS", "Conditions",
    "DatasetSummary", "Event", "IBM_MARGIN_DB", "MAX_SOURCES", "MODEL_BANDS_HZ", "SNR_RANGE_DB",
    "SOURCE_BANDS_HZ", "Soundscape", "SourceModel", "TRUTH_RULES", "TruthRule", "class_maps", "generate_dataset",
    "make_soundscape", "noise_draw_agreement", "one_tile_duration_s", "one_tile_n_samples", "palettes",
    "read_dataset_record", "remake_soundscape", "snr_db", "source_models",
]
