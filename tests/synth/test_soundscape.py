"""Soundscapes: exact parts, a shared peak limit, events and Raven boxes, SNRs where they were drawn."""

import csv
import os

import numpy as np
import pytest

from util.labels.annotations import read_raven_table
from util.signal.audio import read_audio
from util.signal.spectrogram import SpecParams
from util.synth.dataset import one_tile_n_samples
from util.synth.levels import snr_db
from util.synth.soundscape import draw_sources, make_soundscape, mix
from util.synth.sources import SOURCE_BANDS_HZ
from util.synth.writer import RAVEN_TABLES, write_soundscape_audio

PARAMS = SpecParams()
N_TILE = one_tile_n_samples(PARAMS)


def scape(seed, sources, **kwargs):
    return make_soundscape(np.random.default_rng(seed), N_TILE, PARAMS.sr, sources=sources, **kwargs)


# --------------------------------------------------------------------------- parts and mixture

def test_mixture_is_the_exact_sum_of_its_parts_also_after_reading_the_wavs(tmp_path):
    clip = scape(1, ["lesser-cuckoo", "insect", "human"])
    total = clip.background.copy()
    for audio in clip.parts.values():
        total += audio
    assert clip.mixture.dtype == np.float32
    assert np.array_equal(clip.mixture, total)

    write_soundscape_audio(clip, str(tmp_path))
    mixture, _ = read_audio(str(tmp_path / "mixture.wav"), PARAMS.sr)
    parts = [read_audio(str(tmp_path / f"{slug}.wav"), PARAMS.sr)[0] for slug in clip.parts]
    background, _ = read_audio(str(tmp_path / "background.wav"), PARAMS.sr)
    assert np.max(np.abs(mixture - (background + sum(parts)))) <= 1e-6
    assert np.array_equal(mixture, clip.mixture)


def test_a_loud_clip_is_scaled_as_a_whole_below_full_scale():
    clip = scape(2, ["eurasian-jay", "human"], snr_range_db=(20.0, 20.0), background_dbfs_range=(-8.0, -8.0))
    assert 0.98 < np.max(np.abs(clip.mixture)) <= 0.99 + 1e-6
    assert np.array_equal(clip.mixture, mix(clip.parts, clip.background))
    for slug, audio in clip.parts.items():  # one common factor leaves every SNR where it was drawn
        assert snr_db(audio, clip.background, PARAMS.sr) == pytest.approx(20.0, abs=0.01)


def test_events_csv_lists_every_part_with_its_box(tmp_path):
    clip = scape(3, ["koklass-pheasant", "alstroms-warbler"])
    write_soundscape_audio(clip, str(tmp_path))
    with open(tmp_path / "events.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["slug"] for row in rows] == ["koklass-pheasant", "alstroms-warbler"]
    assert sorted(os.listdir(tmp_path)) == sorted(["events.csv", "mixture.wav", "background.wav",
                                                   "koklass-pheasant.wav", "alstroms-warbler.wav",
                                                   *RAVEN_TABLES.values()])
    for row in rows:
        low, high = SOURCE_BANDS_HZ[row["slug"]]
        assert low <= float(row["low_hz"]) < float(row["high_hz"]) <= high
        assert 0.0 <= float(row["start_s"]) < float(row["end_s"]) <= N_TILE / PARAMS.sr + 1e-3
        assert row["community"] == "bird"


def test_raven_tables_hold_species_boxes_and_community_boxes(tmp_path):
    clip = scape(4, ["lesser-cuckoo", "insect"])
    write_soundscape_audio(clip, str(tmp_path))
    species_boxes = read_raven_table(str(tmp_path / RAVEN_TABLES["species"]))
    community_boxes = read_raven_table(str(tmp_path / RAVEN_TABLES["community"]))
    assert [b.label for b in species_boxes] == ["Lesser Cuckoo"]  # insects are noise at species level
    assert [b.label for b in community_boxes] == ["bird", "insect"]
    assert {b.recording for b in species_boxes + community_boxes} == {"mixture"}
    cuckoo = clip.events[0]
    assert species_boxes[0].low_hz == pytest.approx(cuckoo.low_hz, abs=0.01)
    assert species_boxes[0].end_s == pytest.approx(cuckoo.end_s, abs=1e-4)


# --------------------------------------------------------------------------- levels and sources drawn

@pytest.mark.parametrize("seed", [21, 22])
def test_snr_of_each_source_lies_in_the_requested_range(seed):
    clip = scape(seed, ["eurasian-jay", "harterts-leaf-warbler", "insect", "human"])
    assert len(clip.events) == 4
    for event in clip.events:
        measured = snr_db(clip.parts[event.slug], clip.background, PARAMS.sr)
        assert -5.0 - 0.01 <= measured <= 20.0 + 0.01
        assert measured == pytest.approx(event.snr_db, abs=0.01)
    fixed = scape(seed, ["koklass-pheasant"], snr_range_db=(7.0, 7.0))
    assert snr_db(fixed.parts["koklass-pheasant"], fixed.background, PARAMS.sr) == pytest.approx(7.0, abs=0.01)


def test_drawn_soundscapes_hold_zero_to_four_distinct_sources():
    counts = [len(draw_sources(np.random.default_rng(s))) for s in range(60)]
    assert min(counts) == 0 and max(counts) == 4
