"""Labelled synthetic soundscapes with exact ground truth (job00's data).

A soundscape is field-like background noise plus 0-4 sources (models of the eight species' calls,
insects, human sounds; none is a recording), every part kept, so the label of each spectrogram pixel is
known exactly. Modules, lowest first:

    dsp          signal building blocks: band limits, shaped noise, sweeps, harmonics, envelopes
    bands        every call model's frequency band (Hz), the one place it is stated
    calls        the eight species' call models
    noises       insect and human models (sources) and the background
    sources      the source registry: slug, name, community, band, models; the palettes by level
    levels       a source in a clip: active part, event band, level, SNR
    soundscape   Event, Soundscape, mixing, make_soundscape
    truth        the label rule: which part owns each pixel, class maps at both levels
    writer       one clip's files: part WAVs, events.csv, Raven tables, A|B pairs
    dataset      the data set: seeds, jobs, dataset.json, generate_dataset

May import the base modules (errors, files), ``util.signal`` and ``util.labels``; never ``util.gan``,
``util.recording`` or ``util.evaluation``.

Example::

    clip = make_soundscape(np.random.default_rng(0), one_tile_n_samples())
    maps = class_maps(clip)      # {'species': uint8 (256, 256), 'community': uint8 (256, 256)}
    clip.parts, clip.background, clip.mixture, clip.events
"""

from __future__ import annotations

from util.synth.bands import MODEL_BANDS_HZ
from util.synth.dataset import (
    DatasetSummary,
    generate_dataset,
    one_tile_duration_s,
    one_tile_n_samples,
    read_dataset_record,
)
from util.synth.levels import snr_db
from util.synth.soundscape import Event, Soundscape, make_soundscape
from util.synth.sources import SOURCE_BANDS_HZ, SourceModel, palettes, source_models
from util.synth.truth import AUDIBLE_FLOOR_DB, AUDIBLE_MARGIN_DB, class_maps

__all__ = [
    "AUDIBLE_FLOOR_DB", "AUDIBLE_MARGIN_DB", "DatasetSummary", "Event", "MODEL_BANDS_HZ", "SOURCE_BANDS_HZ",
    "Soundscape", "SourceModel", "class_maps", "generate_dataset", "make_soundscape", "one_tile_duration_s",
    "one_tile_n_samples", "palettes", "read_dataset_record", "snr_db", "source_models",
]
