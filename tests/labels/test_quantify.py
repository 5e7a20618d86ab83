import math

import numpy as np
import pytest

from util.labels.quantify import (
    FrequencyProfileAccumulator,
    OccupancyAccumulator,
    acoustic_space_occupancy,
    frequency_profile,
    seconds_present,
    time_occupancy,
)
from util.signal.spectrogram import row_freq_hz

SR, N_FFT, HOP = 22050, 512, 256


def _hand_map():
    """4 rows x 5 frames: class 1 in frames 0-1 (3 cells), class 2 in frame 3 (1 cell)."""
    return np.array([[1, 0, 0, 0, 0],
                     [1, 1, 0, 0, 0],
                     [0, 0, 0, 2, 0],
                     [0, 0, 0, 0, 0]], np.uint8)


def test_time_occupancy_of_a_hand_made_map():
    class_map = _hand_map()
    assert time_occupancy(class_map, 1) == pytest.approx(2 / 5)
    assert time_occupancy(class_map, 2) == pytest.approx(1 / 5)
    assert time_occupancy(class_map, 3) == 0.0


def test_time_occupancy_with_min_pixels_counts_only_frames_with_enough_pixels():
    assert time_occupancy(_hand_map(), 1, min_pixels=2) == pytest.approx(1 / 5)


def test_acoustic_space_occupancy_counts_cells():
    assert acoustic_space_occupancy(_hand_map(), 1) == pytest.approx(3 / 20)
    assert acoustic_space_occupancy(_hand_map(), 2) == pytest.approx(1 / 20)


def test_padding_columns_beyond_valid_frames_are_ignored():
    class_map = _hand_map()
    assert time_occupancy(class_map, 1, n_valid_frames=2) == 1.0
    assert acoustic_space_occupancy(class_map, 2, n_valid_frames=3) == 0.0


def test_seconds_present_is_frames_times_hop():
    assert seconds_present(_hand_map(), 1, HOP, SR) == pytest.approx(2 * HOP / SR)


def test_accumulator_over_tiles_equals_the_whole_recording():
    rng = np.random.default_rng(0)
    recording = rng.integers(0, 4, (8, 30)).astype(np.uint8)
    recording[:, 25:] = 0  # the last tile's padding...
    recording[0, 27] = 1   # ...with a stray pixel that must not count
    whole = OccupancyAccumulator(3)
    whole.update(recording[:, :25])
    tiled = OccupancyAccumulator(3)
    for start in range(0, 30, 10):
        tiled.update(recording[:, start:start + 10], n_valid_frames=min(10, 25 - start))
    np.testing.assert_array_equal(tiled.present_frames, whole.present_frames)
    np.testing.assert_array_equal(tiled.occupied_cells, whole.occupied_cells)
    assert tiled.n_frames == 25
    for k in (1, 2, 3):
        assert tiled.time_occupancy()[k - 1] == pytest.approx(time_occupancy(recording, k, 25))
        assert tiled.acoustic_space_occupancy()[k - 1] == pytest.approx(acoustic_space_occupancy(recording, k, 25))
    np.testing.assert_allclose(tiled.seconds_present(HOP, SR), tiled.present_frames * HOP / SR)


def test_empty_accumulator_gives_nan_not_zero():
    assert np.isnan(OccupancyAccumulator(2).time_occupancy()).all()


def test_frequency_profile_means_per_row_low_frequency_first():
    db = np.array([[-10.0, -20.0, -30.0],
                   [-40.0, -50.0, -60.0],
                   [-70.0, -80.0, -90.0]])
    class_map = np.array([[1, 1, 0],
                          [0, 0, 0],
                          [1, 2, 1]], np.uint8)
    profile = frequency_profile(db, class_map, 1, SR, N_FFT)
    np.testing.assert_allclose(profile.freq_hz, [0.0, SR / N_FFT, 2 * SR / N_FFT])
    assert profile.mean_db[0] == pytest.approx((-70.0 - 90.0) / 2)   # bottom row = lowest frequency
    assert math.isnan(profile.mean_db[1])                             # never present in the middle row
    assert profile.mean_db[2] == pytest.approx((-10.0 - 20.0) / 2)
    np.testing.assert_array_equal(profile.n_cells, [2, 0, 2])


def test_frequency_profile_accumulator_pools_cells_over_tiles():
    n_rows = 16
    rng = np.random.default_rng(1)
    db = rng.uniform(-100, 0, (n_rows, 40))
    class_map = rng.integers(0, 3, (n_rows, 40)).astype(np.uint8)
    accumulator = FrequencyProfileAccumulator(n_rows, 2)
    for start in (0, 10, 20, 30):
        accumulator.update(db[:, start:start + 10], class_map[:, start:start + 10])
    pooled = accumulator.profile(2, SR, N_FFT)
    whole = frequency_profile(db, class_map, 2, SR, N_FFT)
    np.testing.assert_allclose(pooled.mean_db, whole.mean_db)
    np.testing.assert_allclose(pooled.freq_hz, row_freq_hz(n_rows, SR, N_FFT)[::-1])
    bottom_row = class_map[-1] == 2
    assert pooled.mean_db[0] == pytest.approx(db[-1][bottom_row].mean())
