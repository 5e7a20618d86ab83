"""An exponential moving average of the generator's weights (job03 --ema_decay).

The generator a step leaves behind jumps with the last few pairs it saw; the average of its recent weights
does not. On val, the community model's pixel F1 swung by 0.2 between checkpoints 400 steps apart while
the average held steady and higher (README, "The recipe"; with batch norm read by its running statistics,
most of those swings' cause, which tile norm removed). The average is what job03 scores after every
epoch and what it saves as the generator; the raw weights keep training.

After update ``n`` (counting from 0) the average moves towards the weights by ``1 - d`` with
``d = min(decay, (1 + n) / (10 + n))``: early on it follows the weights closely, so that it is not held
back by the random initial weights; later it averages over about ``1 / (1 - decay)`` steps.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """A copy of a network whose parameters are an exponential moving average of the network's.

    Buffers (batch norm's running statistics) are copied from the network at every update, so the
    average is normalised as the network is. The copy never needs gradients.
    """

    def __init__(self, net: nn.Module, decay: float, warmup: bool = True):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"weight average decay must be in (0, 1), not {decay}")
        self.decay, self.warmup = float(decay), warmup
        self.updates = 0
        self.module = copy.deepcopy(net)
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)

    def current_decay(self) -> float:
        """The decay of the next update (``decay`` itself without warm-up: bench/probe_recipe.py --ema)."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        """Move the average towards ``net``'s weights (one training step's worth)."""
        weight = 1.0 - self.current_decay()
        for kept, new in zip(self.module.parameters(), net.parameters()):
            kept.lerp_(new.detach(), weight)
        for kept, new in zip(self.module.buffers(), net.buffers()):
            kept.copy_(new)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
