"""util.gan.norms: tile norm trains as batch norm at batch 1 and reads every tile by its own statistics."""

import pytest
import torch
from torch import nn

from util.gan import distributed, networks
from util.gan.norms import TILE_NORM_KEY, TileNorm
from util.gan.options import finish_options, train_parser

RUNNING = ("running_mean", "running_var", "num_batches_tracked")   # batch norm's buffers, which tile norm has not


def _generator(norm, seed=0):
    torch.manual_seed(seed)
    net = networks.define_G(1, 3, 8, "unet_256", norm, use_dropout=False, row_contrast=0.2)
    with torch.no_grad():   # scales and shifts away from their initial 1 and 0, as after training
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm2d, TileNorm)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    return net


def _copy_weights(tile, batch):
    """The tile-norm generator's weights into a batch-norm one (its running statistics stay as they are)."""
    missing, unexpected = batch.load_state_dict(tile.state_dict(), strict=False)
    assert unexpected == [TILE_NORM_KEY] and all(k.rsplit(".", 1)[-1] in RUNNING for k in missing)


def _tiles(n=3, seed=1):
    generator = torch.Generator().manual_seed(seed)
    # tiles of different loudness, as a quiet night and a dawn chorus
    return torch.rand(n, 1, 256, 256, generator=generator) * torch.linspace(0.2, 1.0, n)[:, None, None, None]


def test_at_batch_1_tile_norm_trains_exactly_as_batch_norm():
    tile, batch = _generator("tile"), _generator("batch")
    _copy_weights(tile, batch)
    x = _tiles(1)
    out_tile, out_batch = tile.train()(x), batch.train()(x)
    assert torch.allclose(out_tile, out_batch, atol=1e-6)
    out_tile.square().mean().backward()
    out_batch.square().mean().backward()
    for (name, a), b in zip(tile.named_parameters(), batch.parameters()):
        assert torch.allclose(a.grad, b.grad, rtol=1e-4, atol=1e-7), name


def test_a_tile_reads_the_same_alone_in_a_batch_and_in_training_mode():
    net, x = _generator("tile"), _tiles(3)
    with torch.no_grad():
        alone = torch.cat([net.eval()(x[i:i + 1]) for i in range(3)])
        together = net.eval()(x)
        trained_way = torch.cat([net.train()(x[i:i + 1]) for i in range(3)])
    assert torch.allclose(alone, together, atol=1e-5)
    assert torch.allclose(alone, trained_way, atol=1e-5)
    # batch norm with running statistics reads a tile otherwise than it trained on it: what tile norm mends
    batch = _generator("batch")
    _copy_weights(net, batch)
    with torch.no_grad():
        running = batch.eval()(x)
    assert float((running - trained_way).abs().max()) > 0.05


def test_a_tile_norm_generator_is_rebuilt_from_its_weights(tmp_path):
    net, x = _generator("tile"), _tiles(2)
    path = tmp_path / "tile_net_G.pth"
    torch.save(net.state_dict(), path)
    loaded, config = networks.load_generator(str(path))
    assert config["norm"] == "tile" and config["row_contrast"] == pytest.approx(0.2)
    with torch.no_grad():
        assert torch.allclose(loaded.eval()(x), net.eval()(x), atol=1e-6)
    torch.save(_generator("batch").state_dict(), path)   # batch norm weights stay batch norm
    assert networks.load_generator(str(path))[1]["norm"] == "batch"


def test_global_batch_norm_leaves_tile_norm_alone():
    net = _generator("tile")
    assert distributed.use_global_batch_norm(net) == 0
    # the U-Net 256: two in each of its 6 middle blocks, one in the innermost
    assert sum(isinstance(m, TileNorm) for m in net.modules()) == 13


@pytest.mark.parametrize("preset, norm", [("demo", "tile"), ("cpu", "tile"), ("paper", "batch")])
def test_the_recipe_presets_use_tile_norm_and_pix2pix_batch_norm(preset, norm):
    assert finish_options(train_parser("t").parse_args(["--preset", preset])).norm == norm
    assert finish_options(train_parser("t").parse_args(["--preset", preset, "--norm", "instance"])).norm == "instance"
