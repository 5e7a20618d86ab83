"""Ground truth: a source labels only the pixels it dominates audibly, with its own class index."""

import numpy as np
import pytest

from util.signal.audio import n_frames_for
from util.signal.spectrogram import SpecParams, row_freq_hz
from util.synth.dataset import one_tile_n_samples
from util.synth.soundscape import Soundscape, make_soundscape
from util.synth.sources import SOURCE_BANDS_HZ, SPECIES_GENERATORS, palettes
from util.synth.truth import class_maps

PARAMS = SpecParams()
N_TILE = one_tile_n_samples(PARAMS)
SPECIES = list(SPECIES_GENERATORS)


def scape(seed, sources, **kwargs):
    return make_soundscape(np.random.default_rng(seed), N_TILE, PARAMS.sr, sources=sources, **kwargs)


# --------------------------------------------------------------------------- ground truth

@pytest.mark.parametrize("slug", SPECIES)
def test_a_lone_species_in_quiet_background_is_labelled_only_in_its_band_with_its_index(slug):
    clip = scape(11, [slug], snr_range_db=(15.0, 15.0), background_dbfs_range=(-60.0, -60.0))
    species_map = class_maps(clip, PARAMS)["species"]
    k = palettes()["species"].index(slug)
    assert species_map.shape == (PARAMS.n_rows, n_frames_for(N_TILE, PARAMS.hop_length))
    assert set(np.unique(species_map)) == {0, k}
    freqs = row_freq_hz(PARAMS.n_rows, PARAMS.sr, PARAMS.n_fft)[np.flatnonzero((species_map == k).any(axis=1))]
    bin_hz = PARAMS.sr / PARAMS.n_fft
    low, high = SOURCE_BANDS_HZ[slug]
    assert low - 2 * bin_hz <= freqs.min() and freqs.max() <= high + 2 * bin_hz


def test_community_map_is_the_species_map_through_the_community_table():
    clip = scape(12, ["jungle-nightjar", "lesser-cuckoo", "insect", "human"], snr_range_db=(10.0, 10.0))
    maps = class_maps(clip, PARAMS)
    species_map, community_map = maps["species"], maps["community"]
    pal = palettes()
    table = pal["species"].community_palette_map(pal["community"])
    has_species = species_map > 0
    assert has_species.any()
    assert np.array_equal(community_map[has_species], table[species_map[has_species]])
    others = set(np.unique(community_map[~has_species]))
    assert {pal["community"].index("insect"), pal["community"].index("human")} <= others <= {
        0, pal["community"].index("insect"), pal["community"].index("human")}


def test_an_insect_over_a_bird_hides_it_at_species_level():
    bird = np.zeros(N_TILE, np.float32)
    bird[:] = 0.01 * np.sin(2 * np.pi * 4000.0 * np.arange(N_TILE) / PARAMS.sr)
    parts = {"lesser-cuckoo": bird, "insect": 10 * bird}
    background = np.zeros(N_TILE, np.float32)
    clip = Soundscape(PARAMS.sr, background, parts)
    maps = class_maps(clip, PARAMS)
    assert not maps["species"].any()
    assert (maps["community"] == palettes()["community"].index("insect")).any()


@pytest.mark.parametrize("rule", ["expected", "ibm"])
def test_a_source_must_beat_the_background_by_the_margin(rule):
    def sine(amplitude):
        return (amplitude * np.sin(2 * np.pi * 2000.0 * np.arange(N_TILE) / PARAMS.sr)).astype(np.float32)

    background = sine(0.01)
    k = palettes()["species"].index("lesser-cuckoo")

    def labelled(source_db, margin_db):
        clip = Soundscape(PARAMS.sr, background, {"lesser-cuckoo": sine(0.01 * 10 ** (source_db / 20))})
        # inner frames: the edge frames of a sine cut abruptly are broadband clicks, loud against the
        # expected level of rows the steady tone leaves quiet
        return (class_maps(clip, PARAMS, rule=rule, audible_margin_db=margin_db)["species"][:, 1:-1] == k).sum()

    assert labelled(2.0, 3.0) == 0      # louder than the background, but by less than the margin
    assert labelled(2.0, 1.0) > 100     # the same source with a 1 dB margin
    if rule == "ibm":
        assert labelled(-2.0, -10.0) == 0   # quieter than the background in the bin: never dominant
    else:
        assert labelled(-2.0, -10.0) > 100  # compared with the row's expected level, not with the bin's winner


def test_a_source_below_the_audible_floor_is_not_labelled():
    tone = (1e-5 * np.sin(2 * np.pi * 1100.0 * np.arange(N_TILE) / PARAMS.sr)).astype(np.float32)  # ~ -100 dB
    clip = Soundscape(PARAMS.sr, np.zeros(N_TILE, np.float32), {"oriental-scops-owl": tone})
    assert not class_maps(clip, PARAMS)["species"].any()
    assert class_maps(clip, PARAMS, audible_floor_db=-120.0)["species"].any()


def test_a_clip_without_sources_is_all_background():
    clip = scape(31, [])
    maps = class_maps(clip, PARAMS)
    assert clip.parts == {} and np.array_equal(clip.mixture, clip.background)
    assert np.abs(clip.background).max() > 0
    for class_map in maps.values():
        assert class_map.shape == (PARAMS.n_rows, PARAMS.tile_frames) and not class_map.any()


