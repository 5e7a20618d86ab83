import math

import numpy as np
import pytest

from util.metrics import (
    ALEXNET_WEIGHTS_NAME,
    LpipsScorer,
    PixelCounts,
    audio_mse,
    bootstrap_pixel_f1,
    clip_of_stem,
    paired_bootstrap_f1_difference,
    paired_bootstrap_mean_difference,
    si_sdr,
    si_sdr_improvement,
    spectrogram_mse,
    ssim_rgb,
)

# --------------------------------------------------------------------------- pixel F1

def _clip(rng, n_pixels=400, error_rate=0.3):
    """One clip's counts: a random 2-class truth, each pixel predicted wrongly with ``error_rate``."""
    true = rng.integers(0, 3, n_pixels)
    wrong = rng.random(n_pixels) < error_rate
    pred = np.where(wrong, (true + rng.integers(1, 3, n_pixels)) % 3, true)
    counts = PixelCounts(2)
    counts.update(pred, true)
    return counts


def test_bootstrap_interval_contains_the_point_value_of_all_clips():
    clips = [_clip(np.random.default_rng(i), error_rate=0.1 + 0.04 * i) for i in range(12)]
    result = bootstrap_pixel_f1(clips)
    total = PixelCounts(2)
    for c in clips:
        total.merge(c)
    assert result.f1 == pytest.approx(total.mean_f1())
    assert result.low < result.f1 < result.high
    assert np.all(result.low_per_class < result.f1_per_class) and np.all(result.f1_per_class < result.high_per_class)
    assert (result.n_clips, result.n_resamples, result.seed, result.confidence) == (12, 1000, 0, 0.95)
    assert bootstrap_pixel_f1(clips).low == result.low            # fixed seed: the same interval again


def test_bootstrap_interval_narrows_as_clips_are_added():
    rng = np.random.default_rng(5)
    clips = [_clip(rng, error_rate=rng.uniform(0.05, 0.6)) for _ in range(160)]
    widths = [(r.high - r.low) for r in (bootstrap_pixel_f1(clips[:n]) for n in (10, 40, 160))]
    assert widths[0] > widths[1] > widths[2] > 0
    assert widths[0] / widths[2] > 2.5          # about sqrt(16) = 4 for independent clips


def test_bootstrap_interval_of_identical_clips_is_the_point_value():
    clip = _clip(np.random.default_rng(3))
    result = bootstrap_pixel_f1({f"syn{i:05d}": clip for i in range(7)})
    assert result.low == pytest.approx(result.f1, abs=1e-12) and result.high == pytest.approx(result.f1, abs=1e-12)
    assert result.f1 == pytest.approx(clip.mean_f1())


def test_paired_difference_interval_holds_the_observed_difference_and_repeats():
    hardness = np.random.default_rng(7).uniform(0.05, 0.6, 30)   # some clips are hard for both models
    worse = {f"syn{i:05d}": _clip(np.random.default_rng(i), error_rate=e + 0.1) for i, e in enumerate(hardness)}
    better = {clip: _clip(np.random.default_rng(i), error_rate=e) for i, (clip, e) in enumerate(zip(worse, hardness))}
    result = paired_bootstrap_f1_difference(worse, dict(reversed(list(better.items()))))   # clip order irrelevant
    assert result.f1 == pytest.approx(bootstrap_pixel_f1(better).f1 - bootstrap_pixel_f1(worse).f1)
    assert 0 < result.low < result.f1 < result.high           # the same clips, fewer errors: told apart
    assert np.all(result.low_per_class < result.f1_per_class) and np.all(result.f1_per_class < result.high_per_class)
    again = paired_bootstrap_f1_difference(worse, better)                   # fixed seed: the same interval again
    assert (again.low, again.high) == (result.low, result.high)
    # pairing: what the clips share cancels, so the difference is surer than either model's own F1
    assert result.high - result.low < bootstrap_pixel_f1(better).high - bootstrap_pixel_f1(better).low
    same = paired_bootstrap_f1_difference(worse, worse)
    assert same.f1 == same.low == same.high == 0
    with pytest.raises(ValueError, match="different clips"):
        paired_bootstrap_f1_difference(worse, {"other": better["syn00000"]})


def test_paired_mean_difference_of_tile_scores_with_nan_tiles_left_out():
    a = {"x": [0.5, 0.6], "y": [0.2, float("nan")], "z": [0.4]}
    b = {"x": [0.7, 0.7], "y": [0.3, 0.9], "z": [0.4]}
    difference, low, high = paired_bootstrap_mean_difference(a, b)
    assert difference == pytest.approx((0.2 + 0.1 + 0.1 + 0.0) / 4)
    assert low <= difference <= high and (low, high) == paired_bootstrap_mean_difference(a, b)[1:]
    assert np.isnan(paired_bootstrap_mean_difference({"x": [np.nan]}, {"x": [1.0]})).all()


def test_tiles_of_a_clip_share_its_clip_id():
    assert clip_of_stem("syn00001_0003") == "syn00001"
    assert clip_of_stem("syn00001") == "syn00001"
    assert clip_of_stem("rec_2024_0001") == "rec_2024"


def test_f1_of_a_hand_counted_2x2_example():
    # class 1: TP at (0,0); FP at (0,1) (true background); FN at (1,0) (predicted 2)
    # class 2: FP at (1,0) (true 1); TP at (1,1)
    true = np.array([[1, 0], [1, 2]], np.uint8)
    pred = np.array([[1, 1], [2, 2]], np.uint8)
    counts = PixelCounts(2)
    counts.update(pred, true)
    np.testing.assert_array_equal(counts.tp, [1, 1])
    np.testing.assert_array_equal(counts.fp, [1, 1])
    np.testing.assert_array_equal(counts.fn, [1, 0])
    np.testing.assert_allclose(counts.precision_per_class(), [0.5, 0.5])
    np.testing.assert_allclose(counts.recall_per_class(), [0.5, 1.0])
    np.testing.assert_allclose(counts.f1_per_class(), [0.5, 2 / 3])
    assert counts.mean_f1() == pytest.approx((0.5 + 2 / 3) / 2)


def test_background_agreement_is_not_a_class_and_earns_nothing():
    true = np.zeros((50, 50), np.uint8)
    pred = np.zeros((50, 50), np.uint8)
    true[0, 0] = 1  # one call pixel, missed; 2499 agreeing background pixels
    counts = PixelCounts(1)
    counts.update(pred, true)
    assert counts.f1_per_class()[0] == 0.0
    assert counts.mean_f1() == 0.0


def test_f1_sums_pixels_over_images_rather_than_averaging_per_image():
    counts = PixelCounts(1)
    big_true = np.ones((10, 10), np.uint8)          # 100 pixels, all found
    counts.update(big_true, big_true)
    small_true = np.ones((1, 2), np.uint8)          # 2 pixels, all missed
    counts.update(np.zeros_like(small_true), small_true)
    # pooled: TP 100, FN 2 -> F1 = 200 / 202; a per-image mean would give (1 + 0) / 2
    assert counts.f1_per_class()[0] == pytest.approx(200 / 202)


def test_class_absent_from_truth_and_prediction_is_nan_and_left_out_of_the_mean():
    counts = PixelCounts(3)
    true = np.array([[1, 1, 0]], np.uint8)
    pred = np.array([[1, 3, 0]], np.uint8)  # class 2 absent everywhere, class 3 a false alarm
    counts.update(pred, true)
    f1 = counts.f1_per_class()
    assert f1[0] == pytest.approx(2 / 3)
    assert math.isnan(f1[1])
    assert f1[2] == 0.0
    assert counts.mean_f1() == pytest.approx((2 / 3 + 0.0) / 2)


def test_empty_counts_give_nan_mean_without_warning():
    with np.errstate(all="raise"):
        assert math.isnan(PixelCounts(2).mean_f1())


def test_class_index_beyond_palette_is_refused():
    with pytest.raises(ValueError):
        PixelCounts(2).update(np.full((2, 2), 3, np.uint8), np.zeros((2, 2), np.uint8))


# --------------------------------------------------------------------------- MSE and SI-SDR

def test_spectrogram_mse_floor_against_ceiling_is_one():
    floor = np.full((4, 4), -100.0)
    ceil = np.zeros((4, 4))
    assert spectrogram_mse(floor, ceil, -100.0, 0.0) == pytest.approx(1.0)


def test_spectrogram_mse_clips_to_the_image_range_and_scales():
    below = np.full((3, 3), -140.0)  # below the floor counts as the floor
    half = np.full((3, 3), -50.0)
    assert spectrogram_mse(below, half, -100.0, 0.0) == pytest.approx(0.25)


def test_audio_mse_on_the_waveform():
    assert audio_mse(np.array([0.0, 0.5, -0.5]), np.array([0.0, 0.0, 0.5])) == pytest.approx((0.25 + 1.0) / 3)


def _orthogonal_noise(reference, rng, snr_db):
    noise = rng.standard_normal(reference.size)
    noise -= noise.mean()
    noise -= (noise @ reference) / (reference @ reference) * reference
    return noise * np.sqrt((reference @ reference) / (noise @ noise) / 10 ** (snr_db / 10))


def test_si_sdr_of_a_scaled_copy_is_very_high():
    reference = np.random.default_rng(0).standard_normal(8000)
    assert si_sdr(0.3 * reference + 0.0, reference) > 60.0
    assert math.isfinite(si_sdr(reference, reference))


def test_si_sdr_of_reference_plus_noise_equals_the_snr():
    rng = np.random.default_rng(1)
    reference = rng.standard_normal(16000)
    reference -= reference.mean()
    assert si_sdr(reference + _orthogonal_noise(reference, rng, 10.0), reference) == pytest.approx(10.0, abs=1e-6)
    # independent (not orthogonalised) noise: close to the SNR
    noise = rng.standard_normal(16000) * 10 ** (-5 / 20)
    assert si_sdr(reference + noise, reference) == pytest.approx(5.0, abs=0.3)


def test_si_sdr_ignores_a_dc_offset_and_gain():
    rng = np.random.default_rng(2)
    reference = rng.standard_normal(4000)
    estimate = reference + _orthogonal_noise(reference - reference.mean(), rng, 3.0)
    assert si_sdr(5.0 * estimate + 2.0, reference) == pytest.approx(si_sdr(estimate, reference), abs=1e-9)


def test_si_sdr_of_silent_reference_is_nan():
    assert math.isnan(si_sdr(np.ones(100), np.zeros(100)))


def test_si_sdr_improvement_over_the_mixture():
    rng = np.random.default_rng(3)
    reference = rng.standard_normal(16000)
    reference -= reference.mean()
    noise = _orthogonal_noise(reference, rng, 0.0)
    improvement = si_sdr_improvement(reference + 0.1 * noise, reference, reference + noise)
    assert improvement == pytest.approx(20.0, abs=1e-6)


# --------------------------------------------------------------------------- SSIM and LPIPS

def _random_rgb(seed, shape=(64, 64, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_ssim_of_identical_images_is_one_and_of_different_ones_lower():
    a = _random_rgb(0)
    assert ssim_rgb(a, a) == pytest.approx(1.0)
    assert ssim_rgb(a, _random_rgb(1)) < 0.2


@pytest.fixture(scope="module")
def fake_alexnet_weights(tmp_path_factory):
    torchvision = pytest.importorskip("torchvision")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    state = torchvision.models.alexnet(weights=None).state_dict()
    path = tmp_path_factory.mktemp("hub") / ALEXNET_WEIGHTS_NAME
    torch.save(state, path)
    return path, state


def test_lpips_with_weights_file_scores_identical_as_zero_and_different_above(fake_alexnet_weights):
    path, _ = fake_alexnet_weights
    scorer = LpipsScorer(weights_path=str(path))
    assert scorer.available, scorer.reason
    a = _random_rgb(0)
    assert scorer.score(a, a) == pytest.approx(0.0, abs=1e-6)
    assert scorer.score(a, _random_rgb(1)) > 0.0


def test_lpips_trunk_holds_the_weights_from_the_file(fake_alexnet_weights):
    path, state = fake_alexnet_weights
    scorer = LpipsScorer(weights_path=str(path.parent))  # a folder holding the file works too
    trunk = scorer._model.net.state_dict()
    assert scorer.available
    for name in ("slice1.0.weight", "slice3.6.bias", "slice5.10.weight"):
        np.testing.assert_array_equal(trunk[name].numpy(), state["features." + name.split(".", 1)[1]].numpy())


def test_lpips_without_weights_is_unavailable_and_says_how(tmp_path):
    scorer = LpipsScorer(weights_path=str(tmp_path / ALEXNET_WEIGHTS_NAME))
    assert not scorer.available
    assert "--lpips_weights" in scorer.reason and ALEXNET_WEIGHTS_NAME in scorer.reason
    assert "\n" not in scorer.reason
    assert math.isnan(scorer.score(_random_rgb(0), _random_rgb(1)))


def test_lpips_with_a_foreign_file_is_unavailable_not_a_crash(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / ALEXNET_WEIGHTS_NAME
    torch.save({"conv.weight": torch.zeros(1)}, path)
    scorer = LpipsScorer(weights_path=str(path))
    assert not scorer.available
    assert "features.0.weight" in scorer.reason and "--lpips_weights" in scorer.reason
