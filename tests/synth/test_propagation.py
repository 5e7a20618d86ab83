"""job00 --propagation: calls heard from a distance (high frequencies fade, a reverberant tail), recorded in the set."""

import numpy as np
import pytest

import job00_synth_data
from util.signal.spectrogram import SpecParams
from util.synth.dataset import one_tile_n_samples, read_dataset_record
from util.synth.propagation import distance_filter, reverb_tail
from util.synth.soundscape import make_soundscape

SR = SpecParams().sr


def band_energy(audio, low, high):
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1.0 / SR)
    return float(spectrum[(freqs >= low) & (freqs < high)].sum())


def test_distance_filter_takes_the_written_decibels_off_each_frequency():
    t = np.arange(SR) / SR
    tones = np.sin(2 * np.pi * 1000 * t) + np.sin(2 * np.pi * 8000 * t)
    heard = distance_filter(tones, SR, distance_m=50.0, excess_db_per_khz_100m=2.0)
    for khz in (1, 8):
        lost_db = 10 * np.log10(band_energy(tones, khz * 1000 - 50, khz * 1000 + 50)
                                / band_energy(heard, khz * 1000 - 50, khz * 1000 + 50))
        assert lost_db == pytest.approx(2.0 * khz * 50 / 100, abs=0.05)


def test_reverb_tail_has_unit_energy_and_its_high_part_decays_faster():
    tail = reverb_tail(np.random.default_rng(0), SR, 1.0)
    assert len(tail) == SR and np.sum(tail ** 2) == pytest.approx(1.0)
    early, late = tail[:SR // 5], tail[SR // 2:]
    assert band_energy(late, 0, 2000) / band_energy(early, 0, 2000) > \
        10 * band_energy(late, 5000, 11000) / band_energy(early, 5000, 11000)


def test_a_propagated_call_is_darker_and_longer_than_the_dry_one():
    n = one_tile_n_samples()
    dry = make_soundscape(np.random.default_rng(4), n, SR, sources=["harterts-leaf-warbler"])
    far = make_soundscape(np.random.default_rng(4), n, SR, sources=["harterts-leaf-warbler"], propagation=True)
    dry_call, far_call = dry.parts["harterts-leaf-warbler"], far.parts["harterts-leaf-warbler"]
    assert np.array_equal(dry.background, far.background)            # the background is drawn first
    assert not np.allclose(dry_call, far_call)
    share = [band_energy(x, 6000, 11000) / band_energy(x, 0, 11000) for x in (dry_call, far_call)]
    assert share[1] < share[0]                                       # high frequencies faded
    last = [np.nonzero(np.abs(x) > 1e-3 * np.abs(x).max())[0][-1] for x in (dry_call, far_call)]
    assert last[1] >= last[0]                                        # the tail outlasts the call


def test_job00_propagation_is_recorded_and_a_set_without_it_is_not_extended_with_it(tmp_path):
    root = str(tmp_path)
    args = ["--out", root, "--n_train", "1", "--n_val", "0", "--n_test", "0", "--workers", "1"]
    job00_synth_data.main(args)
    assert read_dataset_record(root)["propagation"] is False
    with pytest.raises(Exception, match="propagation"):
        job00_synth_data.main([*args, "--propagation"])
    job00_synth_data.main([*args, "--propagation", "--overwrite"])
    assert read_dataset_record(root)["propagation"] is True
