"""util.model: the pix2pix step learns, matches a plain pix2pix loop, resumes exactly, decays lr linearly."""

import math
import os

import pytest
import torch

from util.errors import UserError
from util.gan import losses, networks
from util.gan.losses import ColourCrossEntropy, balanced_class_weights
from util.gan.model import Pix2PixConfig, Pix2PixModel, linear_lr_factor

SIZE = 64


def _config(**overrides):
    base = dict(ngf=8, ndf=8, netG="unet_64", n_epochs=3, n_epochs_decay=4)  # unet_64: 6 down-samplings
    return Pix2PixConfig(**{**base, **overrides})


def _model(seed=0, **overrides):
    torch.manual_seed(seed)
    return Pix2PixModel(_config(**overrides))


def _pair(seed=1):
    """A fixed toy pair: a bright diagonal band in A, painted red in B."""
    generator = torch.Generator().manual_seed(seed)
    A = torch.rand(1, 1, SIZE, SIZE, generator=generator) * 0.4 - 1
    band = (torch.arange(SIZE)[:, None] - torch.arange(SIZE)[None, :]).abs() < 6
    A[0, 0][band] = 0.8
    B = -torch.ones(1, 3, SIZE, SIZE)
    B[0, 0][band] = 1.0
    return A, B


def _weights(model):
    return {f"{name}.{k}": v.clone() for name in ("netG", "netD")
            for k, v in getattr(model, name).state_dict().items()}


def _plain_step(netG, netD, opt_G, opt_D, A, B):
    """pix2pix's optimize_parameters, written plainly, as the reference."""
    gan, l1 = losses.GANLoss("vanilla"), torch.nn.L1Loss()
    fake = netG(A)
    for p in netD.parameters():
        p.requires_grad = True
    opt_D.zero_grad()
    loss_D_fake = gan(netD(torch.cat((A, fake), 1).detach()), False)
    loss_D_real = gan(netD(torch.cat((A, B), 1)), True)
    ((loss_D_fake + loss_D_real) * 0.5).backward()
    opt_D.step()
    for p in netD.parameters():
        p.requires_grad = False
    opt_G.zero_grad()
    loss_G_GAN = gan(netD(torch.cat((A, fake), 1)), True)
    loss_G_L1 = l1(fake, B) * 100
    (loss_G_GAN + loss_G_L1).backward()
    opt_G.step()
    return {"G_GAN": loss_G_GAN.item(), "G_L1": loss_G_L1.item(), "D_real": loss_D_real.item(),
            "D_fake": loss_D_fake.item()}


def test_l1_loss_goes_down_on_a_fixed_pair():
    model = _model(lr=2e-3)  # pix2pix's 2e-4 learns too slowly for a 30-step test
    A, B = _pair()
    losses = []
    for _ in range(30):
        model.set_input(A, B)
        model.optimize_parameters()
        losses.append(model.get_current_losses())
    assert set(losses[0]) == {"G_GAN", "G_L1", "D_real", "D_fake"}
    first, last = sum(l["G_L1"] for l in losses[:5]) / 5, sum(l["G_L1"] for l in losses[-5:]) / 5
    assert last < 0.5 * first, (first, last)


def test_step_matches_plain_pix2pix_loop():
    model = _model()
    netG = networks.define_G(1, 3, 8, "unet_64", "batch", True)
    netD = networks.define_D(4, 8, "basic")
    netG.load_state_dict(model.netG.state_dict())
    netD.load_state_dict(model.netD.state_dict())
    opt_G = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    A, B = _pair()
    for step in range(3):
        torch.manual_seed(100 + step)  # same dropout masks
        plain = _plain_step(netG, netD, opt_G, opt_D, A, B)
        torch.manual_seed(100 + step)
        model.set_input(A, B)
        model.optimize_parameters()
        ours = model.get_current_losses()
        for name in plain:
            assert ours[name] == pytest.approx(plain[name], rel=1e-4, abs=1e-5), (step, name)
    # Same maths, other summation order: Adam's first steps are about lr * sign(gradient), so an element whose
    # gradient is nearly zero may step differently; no weight may be off by more than a few such steps.
    ours_G = model.netG.state_dict()
    differences = torch.cat([(ours_G[k] - v).abs().flatten() for k, v in netG.state_dict().items()
                             if v.is_floating_point()])
    assert differences.max() <= 3 * 2e-4 and differences.mean() < 1e-6


def test_resume_from_state_continues_exactly_as_uninterrupted(tmp_path):
    A, B = _pair()
    uninterrupted = _model()
    interrupted = _model()
    for model in (uninterrupted, interrupted):
        torch.manual_seed(5)
        for _ in range(3):
            model.set_input(A, B)
            model.optimize_parameters()
        model.update_learning_rate()
    path = tmp_path / "checkpoints" / "latest_state.pth"
    interrupted.save_state(str(path))
    resumed = _model(seed=123)  # different initial weights: everything must come from the file
    resumed.load_state(str(path))
    assert resumed.epoch == 2 and os.listdir(path.parent) == ["latest_state.pth"]
    for model in (uninterrupted, resumed):
        torch.manual_seed(6)
        for _ in range(3):
            model.set_input(A, B)
            model.optimize_parameters()
    expected, got = _weights(uninterrupted), _weights(resumed)
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
    exp_avg = lambda m: next(iter(m.optimizer_G.state.values()))["exp_avg"]
    assert torch.equal(exp_avg(uninterrupted), exp_avg(resumed))


@pytest.mark.filterwarnings("ignore:Detected call of")
def test_linear_policy_keeps_lr_then_decays_to_zero():
    assert [linear_lr_factor(e, 3, 4) for e in (1, 3, 4, 7)] == pytest.approx([1, 1, 0.8, 0.2])
    model = _model(lr=1e-3)
    seen = {}
    for _ in range(7):
        seen[model.epoch] = model.get_learning_rate()
        model.update_learning_rate()
    assert seen == pytest.approx({1: 1e-3, 2: 1e-3, 3: 1e-3, 4: 8e-4, 5: 6e-4, 6: 4e-4, 7: 2e-4})
    assert model.optimizer_D.param_groups[0]["lr"] == pytest.approx(model.get_learning_rate())


def test_linear_policy_starts_at_epoch_count():
    model = _model(epoch_count=5)
    assert model.epoch == 5 and model.get_learning_rate() == pytest.approx(2e-4 * 0.6)


@pytest.mark.filterwarnings("ignore:Detected call of")
def test_other_lr_policies():
    step = _model(lr_policy="step", lr_decay_iters=2)
    assert [step.update_learning_rate() for _ in range(4)] == pytest.approx([2e-4, 2e-5, 2e-5, 2e-6])
    cosine = _model(lr_policy="cosine", n_epochs=2)
    assert [cosine.update_learning_rate() for _ in range(2)] == pytest.approx([1e-4, 0], abs=1e-12)
    plateau = _model(lr_policy="plateau")
    for _ in range(7):
        plateau.update_learning_rate(metric=1.0)
    assert plateau.get_learning_rate() == pytest.approx(2e-4 * 0.2)
    with pytest.raises(UserError, match="lr_policy"):
        _model(lr_policy="exponential")


def test_save_networks_writes_pix2pix_layout_that_loads(tmp_path):
    model = _model()
    paths = model.save_networks(str(tmp_path), "species")
    assert sorted(os.listdir(tmp_path)) == ["species_net_D.pth", "species_net_G.pth"]
    saved = torch.load(paths[0], weights_only=True)
    assert "model.model.0.weight" in saved and "model.model.1.model.3.model.1.weight" in saved
    net, config = networks.load_generator(paths[0])
    assert config["ngf"] == 8 and config["num_downs"] == 6 and config["input_nc"] == 1
    A, _ = _pair()
    model.eval()
    assert torch.allclose(net.eval()(A), model.generate(A), atol=1e-6)
    other = _model(seed=9)
    other.load_networks(str(tmp_path), "species")
    assert torch.equal(other.netD.model[0].weight, model.netD.model[0].weight)


def test_row_contrast_model_trains_and_its_saved_generator_loads_with_the_layer(tmp_path):
    model = _model(row_contrast=0.2, lambda_GAN=0.0)
    A, B = _pair()
    model.set_input(A, B)
    model.optimize_parameters()
    path = model.save_networks(str(tmp_path), "community")[0]
    net, config = networks.load_generator(path)
    assert config["row_contrast"] == pytest.approx(0.2) and config["input_nc"] == 1
    model.eval()
    assert torch.allclose(net.eval()(A), model.generate(A), atol=1e-6)
    assert model.netD.model[0].in_channels == 1 + 3       # D still sees the pair, A unchanged


def test_generate_keeps_no_graph_and_modes_switch():
    model = _model()
    A, _ = _pair()
    model.eval()
    fake = model.generate(A)
    assert fake.shape == (1, 3, SIZE, SIZE) and not fake.requires_grad and fake.abs().max() <= 1
    assert torch.equal(fake, model.generate(A))  # eval: no dropout, running statistics
    assert not model.netG.training
    model.train()
    assert model.netG.training and model.netD.training


def test_bad_training_state_is_user_error(tmp_path):
    model = _model()
    path = tmp_path / "latest_net_G.pth"
    model.save_networks(str(tmp_path), "latest")
    with pytest.raises(UserError, match="latest_net_G.pth"):
        model.load_state(str(path))
    with pytest.raises(UserError, match="nothing_here"):
        model.load_networks(str(tmp_path), "nothing_here")


def test_failed_compile_falls_back_to_eager(monkeypatch):
    def broken_compile(*args, **kwargs):
        raise RuntimeError("no C++ compiler")
    monkeypatch.setattr(torch, "compile", broken_compile)
    with pytest.warns(UserWarning, match="torch.compile failed"):
        model = _model(compile=True)
    assert not model.compiled
    A, B = _pair()
    model.set_input({"A": A, "B": B, "path": ["toy.png"]})
    model.optimize_parameters()
    assert model.get_current_losses()["G_L1"] > 0


# ---------------------------------------------------------------------------------------------- colour cross-entropy

RED_ON_BLACK = [[0, 0, 0], [255, 0, 0], [0, 255, 0]]


def test_colour_cross_entropy_is_low_for_the_label_and_high_for_black():
    A, B = _pair()
    loss = ColourCrossEntropy(RED_ON_BLACK)
    black = -torch.ones_like(B)
    green = black.clone()
    green[:, 1][B[:, 0] > 0] = 1.0  # the band painted green instead of red
    share = float((B[:, 0] > 0).float().mean())  # red pixels: 4 from black, 8 from green; black: 4 from both
    expected = share * math.log(1 + math.exp(-4) + math.exp(-8)) + (1 - share) * math.log(1 + 2 * math.exp(-4))
    assert float(loss(B, B)) == pytest.approx(expected, rel=1e-4)
    assert loss(black, B) > 10 * loss(B, B)
    assert loss(green, B) > loss(black, B)  # the wrong class costs more than no class


def test_colour_cross_entropy_gradient_moves_a_pixel_towards_its_label_colour():
    A, B = _pair()
    fake = torch.zeros_like(B, requires_grad=True)  # mid grey everywhere
    ColourCrossEntropy(RED_ON_BLACK)(fake, B).backward()
    band = B[0, 0] > 0
    assert (fake.grad[0, 0][band] < 0).all()       # descent raises red where the label is red
    assert (fake.grad[0, 0][~band] > 0).all()      # and lowers it on the background


def test_class_weights_follow_the_imbalance_and_weigh_the_loss():
    weights = balanced_class_weights([900, 100, 9, 0], power=0.5)
    assert weights == pytest.approx([1.0, 3.0, 10.0, 100.0])
    assert balanced_class_weights([900, 100, 9], power=0) == [1.0, 1.0, 1.0]
    A, B = _pair()
    black = -torch.ones_like(B)
    plain = ColourCrossEntropy(RED_ON_BLACK)(black, B)
    heavy = ColourCrossEntropy(RED_ON_BLACK, class_weights=[1.0, 10.0, 1.0])(black, B)
    assert heavy > plain  # missing red pixels cost more when red weighs more
    with pytest.raises(UserError, match="class weights"):
        ColourCrossEntropy(RED_ON_BLACK, class_weights=[1.0, 2.0])


def test_lambda_ce_adds_its_loss_and_needs_colours():
    A, B = _pair()
    model = _model(lambda_CE=5.0, label_colors=RED_ON_BLACK)
    model.set_input(A, B)
    model.optimize_parameters()
    losses = model.get_current_losses()
    assert set(losses) == {"G_GAN", "G_L1", "D_real", "D_fake", "G_CE"} and losses["G_CE"] > 0
    assert "G_CE" not in _model().get_current_losses()
    with pytest.raises(UserError, match="palette"):
        _model(lambda_CE=5.0)


def _generator_after_one_step(lambda_GAN: float, d_seed: int) -> dict:
    """G's weights after one step from the same G and data, with D initialised from ``d_seed``."""
    model = _model(seed=0, lambda_GAN=lambda_GAN)
    torch.manual_seed(d_seed)
    networks.init_weights(model.netD)
    model.set_input(*_pair())
    torch.manual_seed(5)                  # the same dropout masks in G whatever D's initialisation drew
    model.optimize_parameters()
    return {k: v.clone() for k, v in model.netG.state_dict().items()}


def test_without_the_gan_term_the_discriminator_no_longer_steers_the_generator():
    off = [_generator_after_one_step(0.0, d_seed) for d_seed in (1, 2)]
    on = [_generator_after_one_step(1.0, d_seed) for d_seed in (1, 2)]
    assert all(torch.equal(off[0][k], off[1][k]) for k in off[0])
    assert not all(torch.equal(on[0][k], on[1][k]) for k in on[0])


def test_without_the_gan_term_the_discriminator_is_not_trained():
    model = _model(seed=0, lambda_GAN=0.0)
    before = {k: v.clone() for k, v in model.netD.state_dict().items()}
    G_before = {k: v.clone() for k, v in model.netG.state_dict().items()}
    model.set_input(*_pair())
    model.optimize_parameters()
    assert all(torch.equal(before[k], v) for k, v in model.netD.state_dict().items())
    assert not all(torch.equal(G_before[k], v) for k, v in model.netG.state_dict().items())
    losses = model.get_current_losses()
    assert losses["D_real"] == losses["D_fake"] == losses["G_GAN"] == 0.0 and losses["G_L1"] > 0


def test_negative_gan_weight_is_refused():
    with pytest.raises(UserError, match="lambda_GAN"):
        _model(lambda_GAN=-1.0)


def test_colour_cross_entropy_equals_cross_entropy_of_minus_squared_distances():
    colors = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [255, 128, 0], [255, 255, 255]]
    loss = ColourCrossEntropy(colors, temperature=0.7, class_weights=[0.5, 1, 2, 3, 4])
    torch.manual_seed(3)
    fake = (torch.rand(2, 3, 8, 8) * 2 - 1).requires_grad_()
    real = loss.colors[torch.randint(0, 5, (2, 8, 8))].permute(0, 3, 1, 2)   # label images: palette colours
    target = losses.nearest_colour_index(real, loss.colors)
    # the rule written out: per pixel, the squared distance to every colour, ties to the earlier colour
    distances = ((real[:, None] - loss.colors[None, :, :, None, None]) ** 2).sum(2)
    assert torch.equal(target, distances.argmin(1))
    value = loss(fake, real)
    reference = torch.nn.functional.cross_entropy(loss.scores(fake), target, weight=loss.weight)
    assert torch.allclose(value, reference, atol=1e-5)
    grad, = torch.autograd.grad(value, fake)
    reference_grad, = torch.autograd.grad(reference, fake)
    assert torch.allclose(grad, reference_grad, atol=1e-6)
    tie = torch.tensor([[-1.0, -1.0, 0.0]]).reshape(1, 3, 1, 1)                # half-way from black to blue
    assert losses.nearest_colour_index(tie, torch.tensor([[-1.0, -1, -1], [-1, -1, 1]])).item() == 0
