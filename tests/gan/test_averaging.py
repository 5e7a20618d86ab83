"""The average of the generator's weights (job03 --ema_decay): its rule, and that it is what is scored and saved."""

import pytest
import torch
from torch import nn

from util.gan.averaging import WeightAverage
from util.gan.model import Pix2PixConfig, Pix2PixModel


def test_the_average_follows_the_written_rule_and_copies_buffers():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    average = WeightAverage(net, 0.9)
    start = net[0].weight.detach().clone()
    expected = start.clone()
    for n in range(30):
        with torch.no_grad():
            net[0].weight.add_(1.0)
            net[1].running_mean.add_(0.5)
        average.update(net)
        d = min(0.9, (1 + n) / (10 + n))
        expected = d * expected + (1 - d) * net[0].weight.detach()
    assert average.updates == 30 and average.current_decay() == pytest.approx(31 / 40)   # still warming up
    assert torch.allclose(average.module[0].weight, expected, atol=1e-5)
    assert not torch.allclose(average.module[0].weight, net[0].weight)   # it lags behind the weights
    assert torch.equal(average.module[1].running_mean, net[1].running_mean)
    assert not any(p.requires_grad for p in average.module.parameters())
    other = WeightAverage(net, 0.9)
    other.load_state_dict(average.state_dict())
    assert other.updates == 30 and torch.equal(other.module[0].weight, average.module[0].weight)
    with pytest.raises(ValueError):
        WeightAverage(net, 1.0)


def test_the_model_scores_and_saves_the_average(tmp_path):
    torch.manual_seed(0)
    model = Pix2PixModel(Pix2PixConfig(ngf=8, ndf=8, lambda_GAN=0.0, ema_decay=0.995, lr=1e-2, beta1=0.9))
    A, B = torch.rand(2, 1, 256, 256) * 2 - 1, torch.rand(2, 3, 256, 256) * 2 - 1
    for _ in range(20):
        model.set_input(A, B)
        model.optimize_parameters()
    model.eval()
    with torch.inference_mode():
        from_average, from_weights = model.average.module(A), model.netG(A)
    assert torch.equal(model.generate(A), from_average) and not torch.allclose(from_average, from_weights)
    model.save_networks(str(tmp_path), "latest", ["G"])
    saved = torch.load(tmp_path / "latest_net_G.pth", weights_only=True)
    kept = model.average.module.state_dict()
    assert all(torch.equal(saved[k], kept[k]) for k in kept)
    again = Pix2PixModel(Pix2PixConfig(ngf=8, ndf=8, lambda_GAN=0.0, ema_decay=0.995, lr=1e-2, beta1=0.9))
    again.load_state_dict(model.state_dict())
    assert again.average.updates == 20
    assert all(torch.equal(again.average.module.state_dict()[k], kept[k]) for k in kept)
