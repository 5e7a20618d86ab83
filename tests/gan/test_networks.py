"""util.networks: pix2pix's architecture and state_dict layout, so published generator weights load."""

import copy

import pytest
import torch

from util.errors import UserError
from util.gan import losses, networks


def _unet(ngf=8, netG="unet_256", norm="batch", input_nc=3, output_nc=3, seed=0):
    torch.manual_seed(seed)
    return networks.define_G(input_nc, output_nc, ngf, netG, norm, use_dropout=True)


def _as_original(net):
    """A copy of our U-Net that computes exactly as pix2pix's code does: an in-place LeakyReLU at the top of
    each inner block, and ``cat([x, block(x)])``, so the skip sees x after that in-place activation."""
    original = copy.deepcopy(net)
    for block in original.modules():
        if isinstance(block, networks.UnetSkipConnectionBlock) and not block.outermost:
            block.model[0].inplace = True
            block.forward = lambda x, b=block: torch.cat([x, b.model(x)], 1)
    return original


def test_unet_256_state_dict_keys_are_pix2pix_keys():
    keys = list(_unet().state_dict())
    for key in ["model.model.0.weight",                      # outermost down-conv (no bias with batch norm)
                "model.model.3.weight", "model.model.3.bias",  # outermost up-conv has a bias
                "model.model.1.model.1.weight",              # second level down-conv
                "model.model.1.model.2.running_mean",        # its batch norm
                "model.model.1.model.5.weight",              # its up-conv
                "model.model.1.model.3.model.1.weight",      # third level down-conv
                "model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model.4.running_var"]:  # innermost
        assert key in keys, key
    assert "model.model.0.bias" not in keys and "model.model.1.model.1.bias" not in keys
    # 3 outermost + 6 middle blocks x 12 + innermost 7 (with num_batches_tracked, as torch saves them)
    assert len(keys) == 82
    assert len([k for k in keys if not k.endswith("num_batches_tracked")]) == 69


def test_unet_256_has_pix2pix_parameter_count_and_three_dropouts():
    net = networks.define_G(3, 3, 64, "unet_256", "batch", use_dropout=True)
    assert sum(p.numel() for p in net.parameters()) == 54_413_955  # pix2pix's unet_256, 3 -> 3, ngf 64
    assert sum(isinstance(m, torch.nn.Dropout) for m in net.modules()) == 3


def test_unet_output_equals_pix2pix_forward_on_same_weights():
    net = _unet().eval()
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        ours, original = net(x), _as_original(net)(x.clone())
    assert ours.shape == (1, 3, 256, 256)
    assert torch.allclose(ours, original, atol=1e-6)
    assert ours.abs().max() <= 1  # tanh


def test_published_format_file_loads_and_gives_same_output(tmp_path):
    source = _unet(norm="batch").eval()
    with torch.no_grad():  # give running statistics values that matter
        for m in source.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1), m.running_var.uniform_(0.5, 1.5)
    bare = tmp_path / "species_net_G.pth"
    torch.save(source.state_dict(), bare)  # what pix2pix's save_networks writes
    parallel = tmp_path / "parallel_net_G.pth"
    torch.save({f"module.{k}": v for k, v in source.state_dict().items()}, parallel)
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    for path in (bare, parallel):
        net, config = networks.load_generator(str(path))
        assert config == {"netG": "unet_256", "num_downs": 8, "input_nc": 3, "output_nc": 3, "ngf": 8, "norm": "batch"}
        with torch.no_grad():
            assert torch.allclose(net.eval()(x), source(x), atol=1e-6)


def test_checkpoint_without_num_batches_tracked_loads(tmp_path):
    state = {k: v for k, v in _unet().state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "old_net_G.pth"
    torch.save(state, path)
    net, _ = networks.load_generator(str(path))
    assert torch.equal(net.state_dict()["model.model.0.weight"], state["model.model.0.weight"])


@pytest.mark.parametrize("netG, norm, input_nc, depth", [("unet_256", "batch", 1, 8), ("unet_128", "instance", 3, 7),
                                                         ("unet_64", "none", 1, 6)])
def test_infer_generator_config_reads_channels_ngf_depth_norm(netG, norm, input_nc, depth):
    state = _unet(ngf=4, netG=netG, norm=norm, input_nc=input_nc, output_nc=3).state_dict()
    config = networks.infer_generator_config(state)
    assert config == {"netG": netG, "num_downs": depth, "input_nc": input_nc, "output_nc": 3, "ngf": 4, "norm": norm}


def test_infer_generator_config_reads_resnet():
    state = networks.define_G(1, 3, 4, "resnet_6blocks", "instance").state_dict()
    assert networks.infer_generator_config(state) == {"netG": "resnet_6blocks", "n_blocks": 6, "input_nc": 1,
                                                      "output_nc": 3, "ngf": 4, "norm": "instance", "dropout": True}
    # without dropout the residual blocks' layers shift by one: read from the weights, so they load
    plain = networks.define_G(1, 3, 4, "resnet_6blocks", "instance", use_dropout=False).state_dict()
    assert networks.infer_generator_config(plain)["dropout"] is False


def test_conv_bias_only_with_instance_norm():
    assert _unet(norm="batch").model.model[1].model[1].bias is None
    assert _unet(norm="instance").model.model[1].model[1].bias is not None
    assert _unet(norm="none").model.model[1].model[1].bias is None  # pix2pix drops it here too


def test_patchgan_70_gives_30x30_logits_on_256():
    net = networks.define_D(4, 8, "basic")
    assert net(torch.zeros(2, 4, 256, 256)).shape == (2, 1, 30, 30)
    assert networks.define_D(4, 8, "n_layers", n_layers_D=2)(torch.zeros(1, 4, 64, 64)).shape == (1, 1, 14, 14)
    assert networks.define_D(4, 8, "pixel")(torch.zeros(1, 4, 64, 64)).shape == (1, 1, 64, 64)


def test_resnet_generator_keeps_size():
    net = networks.define_G(1, 3, 4, "resnet_9blocks", "instance")
    assert net(torch.zeros(1, 1, 64, 64)).shape == (1, 3, 64, 64)


def test_gan_loss_values_on_known_logits():
    vanilla = losses.GANLoss("vanilla")
    zeros = torch.zeros(1, 1, 30, 30)
    assert vanilla(zeros, True).item() == pytest.approx(0.693147, abs=1e-6)  # -log(sigmoid(0)) = log 2
    assert vanilla(zeros, False).item() == pytest.approx(0.693147, abs=1e-6)
    assert vanilla(torch.full((1, 1, 4, 4), 2.0), True).item() == pytest.approx(0.126928, abs=1e-6)  # log(1+e^-2)
    assert vanilla(torch.full((1, 1, 4, 4), 2.0), False).item() == pytest.approx(2.126928, abs=1e-6)
    lsgan = losses.GANLoss("lsgan")
    assert lsgan(torch.full((1, 1, 4, 4), 0.5), True).item() == pytest.approx(0.25)
    assert lsgan(torch.full((1, 1, 4, 4), 0.2), False).item() == pytest.approx(0.04)


def test_init_normal_gain_002():
    net = networks.define_G(1, 3, 32, "unet_128", "batch", init_type="normal", init_gain=0.02)
    conv = net.model.model[1].model[1].weight
    norm = net.model.model[1].model[2]
    assert conv.std().item() == pytest.approx(0.02, rel=0.05) and abs(conv.mean().item()) < 1e-3
    assert norm.weight.mean().item() == pytest.approx(1.0, abs=0.01) and torch.all(norm.bias == 0)
    assert torch.all(net.model.model[3].bias == 0)
    for init_type in ("xavier", "kaiming", "orthogonal"):
        networks.define_G(1, 3, 4, "unet_128", "batch", init_type=init_type)


def test_not_a_checkpoint_is_user_error_naming_file(tmp_path):
    path = tmp_path / "notes_net_G.pth"
    path.write_text("this is not a checkpoint")
    with pytest.raises(UserError, match="notes_net_G.pth"):
        networks.load_generator(str(path))
    with pytest.raises(UserError, match="missing_net_G.pth"):
        networks.load_generator(str(tmp_path / "missing_net_G.pth"))


def test_weights_of_another_architecture_are_user_error(tmp_path):
    path = tmp_path / "latest_net_D.pth"
    torch.save(networks.define_D(4, 8, "basic").state_dict(), path)
    with pytest.raises(UserError, match="latest_net_D.pth"):
        networks.load_generator(str(path))
    reshaped = {**_unet().state_dict(), "model.model.1.model.1.weight": torch.zeros(16, 8, 3, 3)}  # 3x3, not 4x4
    broken = tmp_path / "broken_net_G.pth"
    torch.save(reshaped, broken)
    with pytest.raises(UserError, match="broken_net_G.pth"):
        networks.load_generator(str(broken))
    torch.save({"conv.weight": torch.zeros(4, 3, 3, 3)}, broken)
    with pytest.raises(UserError, match="broken_net_G.pth"):
        networks.load_generator(str(broken))


def test_row_contrast_adds_each_row_above_its_quantile():
    layer = networks.RowContrast(0.2)
    row = torch.arange(10, dtype=torch.float32)                      # quantile 0.2 of 0..9 is 1.8
    x = torch.stack([row, torch.full((10,), -0.5)]).reshape(1, 1, 2, 10)
    out = layer(x)
    assert out.shape == (1, 2, 2, 10)
    assert torch.equal(out[:, :1], x)                                  # the input first
    assert torch.allclose(out[0, 1, 0], row - 1.8)
    assert torch.equal(out[0, 1, 1], torch.zeros(10))                  # a flat row has no contrast
    wide = torch.randn(3, 1, 4, 37)
    assert torch.allclose(layer(wide)[:, 1:], wide - torch.quantile(wide, 0.2, dim=-1, keepdim=True), atol=1e-6)
    with pytest.raises(UserError, match="row_contrast"):
        networks.RowContrast(1.0)


@pytest.mark.parametrize("netG", ["unet_64", "resnet_6blocks"])
def test_row_contrast_generator_loads_from_its_weights_alone(tmp_path, netG):
    torch.manual_seed(0)
    source = networks.define_G(1, 3, 4, netG, "batch", use_dropout=False, row_contrast=0.25).eval()
    plain = networks.define_G(1, 3, 4, netG, "batch", use_dropout=False).eval()
    first = "model.model.0.weight" if netG.startswith("unet") else "model.1.weight"
    assert source.state_dict()[first].shape[1] == 2 and plain.state_dict()[first].shape[1] == 1
    assert networks.ROW_CONTRAST_KEY in source.state_dict() and networks.ROW_CONTRAST_KEY not in plain.state_dict()
    path = tmp_path / "net_G.pth"
    torch.save(source.state_dict(), path)
    net, config = networks.load_generator(str(path))
    assert config["row_contrast"] == 0.25 and config["input_nc"] == 1
    assert "row_contrast" not in networks.infer_generator_config(plain.state_dict())
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(net.eval()(x), source(x), atol=1e-6)
        # the contrast is computed per tile: a uniformly louder tile gives the same contrast channel
        assert torch.allclose(source.row_contrast(x + 0.3)[:, 1], source.row_contrast(x)[:, 1], atol=1e-6)


def test_bfloat16_scoring_runs_the_generator_in_bfloat16_and_stays_close_to_float32():
    from util.gan.scoring import generator_function
    net = _unet(ngf=8, input_nc=1).eval()
    A = torch.rand(2, 1, 256, 256) * 2 - 1
    exact = generator_function(net, "cpu")(A)
    fast = generator_function(net, "cpu", "bfloat16")(A)
    assert fast.dtype == torch.float32 and fast.shape == exact.shape == (2, 3, 256, 256)
    difference = (fast - exact).abs()
    assert difference.max() > 0                # bfloat16 arithmetic did run
    assert difference.mean() < 0.02            # 0.02 of the [-1, 1] range is 2.5 grey levels
    with pytest.raises(UserError, match="--precision 'float16'"):
        generator_function(net, "cpu", "float16")


def test_a_float32_run_on_a_cpu_with_bf16_units_is_told_of_bfloat16(tmp_path):
    from util.gan.precision import cpu_has_bf16_units, precision_hint
    zen4, older = tmp_path / "zen4", tmp_path / "older"
    zen4.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n\nprocessor\t: 1\n")
    older.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512bw\n")
    assert cpu_has_bf16_units(str(zen4)) and not cpu_has_bf16_units(str(older))
    assert not cpu_has_bf16_units(str(tmp_path / "no such file"))
    assert "--precision bfloat16" in precision_hint("cpu", "float32", str(zen4))
    assert precision_hint("cpu", "bfloat16", str(zen4)) is None      # already asked for
    assert precision_hint("cuda:0", "float32", str(zen4)) is None    # the GPU does the arithmetic
    assert precision_hint("cpu", "float32", str(older)) is None
