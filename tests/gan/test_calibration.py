"""The 'fitted' decode rule: per-class offsets and a speckle size chosen on val, carried in the weights."""

import numpy as np
import pytest
import torch

from util.errors import UserError
from util.gan.calibration import colour_distances, fit_decoding
from util.gan.networks import UnetGenerator, add_decoding, load_generator, read_decoding
from util.labels.palette import load_palette, remove_small_regions


def shy_generator_images(palette, seed=0):
    """Truth: class 1 in a block of each image; the 'generator' paints it only 46 % of the way from black to
    class 1's colour, so the plain nearest colour calls it background; plus a 2-pixel speck of class 2."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((6, 32, 32), np.uint8)
    truth[:, 8:20, 4:28] = 1
    colours = palette.colors.astype(np.float32)
    rgb = np.zeros((6, 32, 32, 3), np.float32)
    rgb[truth == 1] = 0.46 * colours[1]
    rgb += rng.normal(0, 1, rgb.shape)
    rgb[:, 28, 2:4] = colours[2]
    return np.clip(rgb, 0, 255), truth


def test_a_shy_class_is_found_by_its_offset_and_a_speck_is_dropped():
    palette = load_palette("species")
    rgb, truth = shy_generator_images(palette)
    fit = fit_decoding(colour_distances(rgb, palette), truth, palette)
    assert fit["f1_nearest"] == pytest.approx(0.0)          # class 1 never read, class 2 only a false alarm
    assert fit["f1_fitted"] > 0.95
    assert fit["offsets"][0] == 0.0 and fit["offsets"][1] > 0 and fit["min_region"] >= 4
    read = palette.fitted(fit).classify(rgb)
    assert np.array_equal(read, truth)                        # block found, speck gone
    # the rule that ignores fits reads as before
    assert not (load_palette("species", "nearest").fitted(fit).classify(rgb) == 1).any()


def test_a_fit_on_images_already_read_well_stays_at_the_nearest_colour():
    palette = load_palette("community")
    truth = np.zeros((4, 24, 24), np.uint8)
    truth[:, 4:12, 4:20], truth[:, 14:20, 2:10] = 2, 3
    fit = fit_decoding(colour_distances(palette.encode(truth), palette), truth, palette)
    assert fit["offsets"] == [0.0] * 4 and fit["min_region"] == 0 and fit["f1_fitted"] == fit["f1_nearest"] == 1.0


@pytest.mark.parametrize("name", ["species", "community"])
def test_exact_palette_colours_read_as_themselves_under_any_allowed_offsets(name):
    palette = load_palette(name)
    rng = np.random.default_rng(1)
    for _ in range(20):
        offsets = rng.choice([-1.0, 1.0], len(palette) + 1) * palette.offset_limit * 10   # clipped to the limit
        offsets[0] = 0.0
        read = palette.fitted({"offsets": offsets.tolist(), "min_region": 0})
        assert max(abs(v) for v in read.offsets) == pytest.approx(palette.offset_limit)
        colours = palette.colors[None]                       # (1, K + 1, 3): one pixel per colour
        assert read.classify(colours).tolist() == [list(range(len(palette) + 1))]


def test_a_fit_for_another_palette_is_one_clear_error():
    with pytest.raises(UserError, match="4 offsets.*needs 9"):
        load_palette("species").fitted({"offsets": [0.0] * 4, "min_region": 0})


def test_small_regions_are_dropped_per_class_and_per_image():
    maps = np.zeros((2, 10, 10), np.uint8)
    maps[0, 1, 1] = maps[0, 2, 2] = 3          # two pixels touching at a corner: one region of 2
    maps[0, 5:8, 5:8] = 3                      # 9 pixels
    maps[0, 5, 4] = 1                          # 1 pixel of another class beside it
    maps[1, 0, 0] = 3                          # a lone pixel in the next image, above image 0's corner region
    out = remove_small_regions(maps, 3)
    assert out[0, 5:8, 5:8].tolist() == [[3] * 3] * 3
    assert out[0, 1, 1] == out[0, 2, 2] == out[0, 5, 4] == out[1, 0, 0] == 0
    assert remove_small_regions(maps, 2)[0, 1, 1] == 3      # 8-connected: the diagonal pair is 2 pixels
    assert np.array_equal(remove_small_regions(maps[0], 3), out[0])


def test_the_fit_travels_in_the_weights_and_leaves_the_layers_alone(tmp_path):
    net = UnetGenerator(1, 3, 8, 4, use_dropout=False)
    path = tmp_path / "species_net_G.pth"
    torch.save(net.state_dict(), path)
    assert read_decoding(path) is None and "decoding" not in load_generator(path)[1]
    fit = {"offsets": [0.0, 100.0, -50.5, 0, 0, 0, 0, 0, 7.0], "min_region": 8}
    add_decoding(path, fit)
    loaded, config = load_generator(path)
    assert config["decoding"] == fit and read_decoding(path) == fit
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in loaded.state_dict().items())
    add_decoding(path, {**fit, "min_region": 0})              # a new fit replaces the old
    assert read_decoding(path)["min_region"] == 0


def test_recordings_read_with_the_fit_and_their_confidence_stays_between_0_and_1():
    from util.recording.decoding import classify_with_confidence

    palette = load_palette("species")
    rgb, truth = shy_generator_images(palette)
    fit = fit_decoding(colour_distances(rgb, palette), truth, palette)
    block = np.moveaxis(rgb[0], -1, 0)                        # (3, rows, frames), as job04 decodes a recording
    plain, _ = classify_with_confidence(block, palette)
    fitted, confidence = classify_with_confidence(block, palette.fitted(fit))
    assert not (plain == 1).any() and np.array_equal(fitted, truth[0])
    assert confidence.min() >= 0.0 and confidence.max() <= 1.0


def test_every_decode_rule_is_described_in_the_tables_about_sheets():
    from util.evaluation.about import MASK_RULES, mask_rule
    from util.labels.palette import DECODE_RULES

    assert set(MASK_RULES) == set(DECODE_RULES)
    assert "offsets" in mask_rule("fitted") and "--decode_rule nearest" in mask_rule("nearest")
