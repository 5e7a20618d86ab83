"""Every loss the generator and discriminator learn from, and the torch twin of the nearest-colour rule.

- :class:`GANLoss`: pix2pix's adversarial loss (vanilla: cross-entropy on logits; lsgan: squared error).
- :class:`L1Loss`: pix2pix's L1 between the generated and the true label image, times ``lambda_L1``.
- :class:`ColourCrossEntropy`: our colour cross-entropy (the classes the masks are read from), times ``lambda_CE``.
- :func:`balanced_class_weights`: its class weights from pixel counts.
- :func:`nearest_colour_index`: :func:`util.labels.palette.nearest_colour` on tensors in [-1, 1].
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from util.errors import UserError
from util.gan.images import to_signed

GAN_MODES = ("vanilla", "lsgan")


def nearest_colour_index(images: torch.Tensor, colors: torch.Tensor) -> torch.Tensor:
    """Index of the nearest palette colour of every pixel, on the networks' [-1, 1] scale.

    ``images`` [N, 3, H, W], ``colors`` [K, 3] (background first, already in [-1, 1]) -> [N, H, W] int64.
    Ties go to the earlier colour, as in :func:`util.labels.palette.nearest_colour`.
    """
    x = images.float()
    best = index = None
    for k, colour in enumerate(colors):          # one colour at a time: several times faster than an argmin
        dist = (x - colour[None, :, None, None]).square_().sum(1)   # over a (N, K, 3, H, W) difference on a CPU
        if best is None:
            best, index = dist, torch.zeros(dist.shape, dtype=torch.int64, device=dist.device)
        else:
            index[dist < best] = k                   # strict: ties keep the earlier colour
            best = torch.minimum(best, dist)
    return index


class GANLoss(nn.Module):
    """Adversarial loss against an all-real or all-fake target of the prediction's shape.

    'vanilla': binary cross-entropy on logits (the discriminator has no sigmoid); 'lsgan': mean squared
    error. ``loss(prediction, target_is_real)`` returns a scalar tensor. (pix2pix's GANLoss.)
    """

    def __init__(self, gan_mode: str = "vanilla", real_label: float = 1.0, fake_label: float = 0.0):
        super().__init__()
        self.register_buffer("real_label", torch.tensor(real_label))
        self.register_buffer("fake_label", torch.tensor(fake_label))
        if gan_mode == "vanilla":
            self.loss = nn.BCEWithLogitsLoss()
        elif gan_mode == "lsgan":
            self.loss = nn.MSELoss()
        else:
            raise UserError(f"--gan_mode {gan_mode!r}: choose one of {', '.join(GAN_MODES)}")
        self.gan_mode = gan_mode

    def forward(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        label = self.real_label if target_is_real else self.fake_label
        return self.loss(prediction, label.to(prediction.dtype).expand_as(prediction))


class L1Loss(nn.Module):
    """pix2pix's L1: mean absolute difference between generated and true label images, times ``scale``."""

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = float(scale)

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        return nn.functional.l1_loss(fake, real) * self.scale


class ColourCrossEntropy(nn.Module):
    """Per-pixel cross-entropy of the generated colour against the label's colour class (our addition).

    Each generated pixel scores every palette colour (background black included) by minus its squared
    distance to it, divided by ``temperature``; the loss is the cross-entropy of those scores against the
    colour the label shows. L1 alone pulls every channel towards its per-pixel median, and with classes that
    each cover a few per cent of a label the median of every channel is the background's: the generator
    learns a black image first and leaves it slowly. This loss asks directly for what the masks are read
    from: the nearest palette colour (see :meth:`util.labels.palette.Palette.classify`).
    """

    def __init__(self, colors, temperature: float = 1.0, class_weights=(), scale: float = 1.0):
        super().__init__()
        colors = torch.as_tensor(colors, dtype=torch.float32)
        if colors.dim() != 2 or colors.shape[1] != 3 or len(colors) < 2:
            raise UserError("--lambda_CE needs the palette's colours (background first), e.g. the level's palette")
        if len(class_weights) not in (0, len(colors)):
            raise UserError(f"{len(class_weights)} class weights for {len(colors)} colours (background included)")
        self.register_buffer("colors", to_signed(colors))  # the images' [-1, 1] scale
        self.register_buffer("weight", torch.as_tensor(class_weights, dtype=torch.float32) if len(class_weights)
                             else torch.ones(len(colors)))
        self.temperature = float(temperature)
        self.scale = float(scale)

    def scores(self, image: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1] -> (N, K, H, W) minus squared distances to the K colours, / temperature."""
        diff = image.float()[:, None] - self.colors[None, :, :, None, None]
        return -(diff * diff).sum(2) / self.temperature

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        """:meth:`scores` plus |pixel|^2 / temperature, the same for every colour of a pixel, so the same
        cross-entropy and gradient; computed as 2 pixel . colour - |colour|^2 without the (N, K, 3, H, W)
        difference (half the time of a training step's loss for the species palette's 9 colours)."""
        dot = torch.einsum("nchw,kc->nkhw", image.float(), self.colors)
        return (2 * dot - (self.colors * self.colors).sum(1)[None, :, None, None]) / self.temperature

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = nearest_colour_index(real, self.colors)
        return nn.functional.cross_entropy(self.logits(fake), target, weight=self.weight) * self.scale


def balanced_class_weights(counts, power: float, cap: float = 100.0) -> list[float]:
    """Cross-entropy weights from pixel counts per colour (background first): (background / class) ** power.

    power 0 gives all 1; 0.5 the square root of the imbalance; 1 equal total weight per class. Weights are
    capped at ``cap``; a colour with no pixels gets the cap (it never occurs as a target anyway).
    """
    counts = np.asarray(counts, dtype=np.float64)
    ratio = np.divide(counts[0], counts, out=np.full(len(counts), np.inf), where=counts > 0)
    return np.minimum(np.maximum(ratio, 1e-12) ** power, cap).tolist()
