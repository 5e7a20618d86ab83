"""CNN classifiers for species presence in a tile: ResNet50 and VGG16 (torchvision), the paper's baselines.

A tile is one spectrogram image (grey, 256 x 256 at our defaults); its targets are the eight species,
each present or absent (multi-label). The networks are torchvision's ``resnet50`` and ``vgg16``, built
with ``weights=None`` (nothing is downloaded), adapted to one input channel and ``n_classes`` outputs,
trained on the training split with class-weighted ``BCEWithLogitsLoss`` and Adam. Their sigmoid outputs
are read with per-species thresholds chosen on the val split by the GAN's rule
(:func:`util.evaluation.thresholds.choose_thresholds`; 0.5 for a species absent from val).

Our own choices (the published method does not state them):

- **Presence** of a species in a tile: its true class map holds at least ``min_pixels`` pixels
  (:func:`presence_from_class_maps`; job06's ``--min_true_pixels``, default 20 bins, about two
  frames by ten rows, so that the last few audible bins of a call cut at the tile's edge do not
  count as a call).
- **Input**: the tile's grey pixels, optionally downsampled to ``image_size`` x ``image_size`` by
  area averaging (for the CNNs only: on a CPU the full tile makes VGG16 too slow to train), then
  normalised with the grey equivalent of ImageNet's statistics (mean 0.449, std 0.226).
- **One channel**: the first convolution takes one channel. Started from ImageNet weights, its
  kernel is the sum of the three RGB kernels, so a grey image gives exactly the response the
  network had to that grey replicated in RGB.
- **Class weights**: ``pos_weight`` of each species = absent / present training tiles (capped at
  :data:`POS_WEIGHT_CAP`; 1 for a species never present), so a rare species' few positive tiles weigh as
  much in the loss as its many negatives (:func:`positive_weights`).
- **ImageNet weights** only when the user has the files (``--cnn_weights DIR`` holding torchvision's
  ``resnet50-*.pth`` / ``vgg16-*.pth``); otherwise one line says so and the network trains from scratch.

Example::

    model = build_classifier("resnet50", n_classes=8)
    images = prepare_images(spec_pixels, image_size=128)        # (N, 1, 128, 128) float32
    targets = presence_from_class_maps(class_maps, 8, min_pixels=20)
    train_classifier(model, images, targets, CNNConfig(epochs=10))   # pos_weight from ``targets``
    present = predict_presence(model, test_images)              # (N, 8) bool, at 0.5
"""

from __future__ import annotations

import glob
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from util.errors import UserError

ARCHITECTURES = {"resnet50": "ResNet50", "vgg16": "VGG16"}   # torchvision name -> display name
GREY_MEAN = 0.449     # mean of ImageNet's RGB means
GREY_STD = 0.226      # mean of ImageNet's RGB standard deviations
THRESHOLD = 0.5       # sigmoid threshold of a species without positive val tiles to choose one from
POS_WEIGHT_CAP = 100.0
# Adam's learning rate from scratch: ResNet50 (batch norm) learns at 1e-3 and barely moves at 1e-4 in a few
# epochs on our tiles; VGG16 (no batch norm) diverges at 1e-3 and trains at 1e-4.
DEFAULT_LR = {"resnet50": 1e-3, "vgg16": 1e-4}


# --------------------------------------------------------------------------- networks

def weights_file(arch: str, weights_dir: str) -> str | None:
    """torchvision's ImageNet weights for ``arch`` in ``weights_dir`` (``resnet50-*.pth``), or None."""
    matches = sorted(glob.glob(os.path.join(weights_dir, f"{arch}-*.pth")))
    return matches[0] if matches else None


def find_weights(archs: list[str], weights_dir: str | None) -> tuple[dict[str, str | None], str | None]:
    """Where each architecture's ImageNet weights are: ({arch: path or None}, one line to print or None).

    ``weights_dir`` None asks for no weights (no message). A folder that does not exist, or one
    without a file for some architecture, gives one line saying which networks train from scratch.
    """
    if weights_dir is None:
        return {arch: None for arch in archs}, None
    names = " and ".join(ARCHITECTURES[a] for a in archs)
    if not os.path.isdir(weights_dir):
        return ({arch: None for arch in archs},
                f"--cnn_weights {weights_dir}: no such folder; {names} train from scratch")
    found = {arch: weights_file(arch, weights_dir) for arch in archs}
    missing = [a for a in archs if found[a] is None]
    if not missing:
        return found, None
    wanted = ", ".join(f"{a}-*.pth" for a in missing)
    scratch = " and ".join(ARCHITECTURES[a] for a in missing)
    return found, (f"--cnn_weights {weights_dir}: no {wanted} there (torchvision's ImageNet files); "
                   f"{scratch} train from scratch")


def one_channel_conv(conv: nn.Conv2d) -> nn.Conv2d:
    """A copy of ``conv`` taking one input channel; its kernel is the sum of the original's over channels."""
    new = nn.Conv2d(1, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    conv.groups, conv.bias is not None)
    with torch.no_grad():
        new.weight.copy_(conv.weight.sum(dim=1, keepdim=True))
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    return new


def _load_imagenet(model: nn.Module, path: str) -> None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:
        raise UserError(f"{path}: not torchvision ImageNet weights for this network "
                        f"({' '.join(str(exc).split())[:160]})") from None


def build_classifier(arch: str, n_classes: int = 8, weights_path: str | None = None) -> nn.Module:
    """torchvision ``resnet50`` or ``vgg16`` with a 1-channel input and ``n_classes`` logits out.

    ``weights_path``: torchvision's ImageNet state_dict for ``arch`` (loaded before the input and
    the head are adapted), or None for random initialisation (torchvision's own).
    """
    import torchvision

    if arch not in ARCHITECTURES:
        raise UserError(f"CNN {arch!r}: choose from {', '.join(ARCHITECTURES)}")
    model = getattr(torchvision.models, arch)(weights=None)
    if weights_path is not None:
        _load_imagenet(model, weights_path)
    if arch == "resnet50":
        model.conv1 = one_channel_conv(model.conv1)
        model.fc = nn.Linear(model.fc.in_features, n_classes)
    else:
        model.features[0] = one_channel_conv(model.features[0])
        model.classifier[6] = nn.Linear(model.classifier[6].in_features, n_classes)
    return model


# --------------------------------------------------------------------------- data

def presence_from_class_maps(class_maps, n_classes: int, min_pixels: int) -> np.ndarray:
    """Class maps -> (N, n_classes) bool: class k has at least ``min_pixels`` pixels in the map."""
    return pixel_areas(class_maps, n_classes) >= min_pixels


def pixel_areas(class_maps, n_classes: int) -> np.ndarray:
    """Class maps (an (N, H, W) array, or a list of 2-D maps of any widths) -> (N, n_classes) int64:
    the pixels of each class 1..n_classes in each map."""
    counts = [np.bincount(np.asarray(m, np.int64).ravel(), minlength=n_classes + 1)[1:n_classes + 1]
              for m in class_maps]
    return np.array(counts, np.int64).reshape(len(counts), n_classes)


def prepare_images(spec_pixels: np.ndarray, image_size: int | None = None) -> torch.Tensor:
    """(N, H, W) uint8 grey tiles -> (N, 1, S, S) float32, area-downsampled to ``image_size`` (None: as is),
    normalised with :data:`GREY_MEAN` / :data:`GREY_STD`."""
    x = torch.from_numpy(np.ascontiguousarray(spec_pixels)).float()[:, None] / 255.0
    if image_size and tuple(x.shape[-2:]) != (image_size, image_size):
        x = nn.functional.interpolate(x, size=(image_size, image_size), mode="area")
    return (x - GREY_MEAN) / GREY_STD


# --------------------------------------------------------------------------- training and prediction

@dataclass
class CNNConfig:
    """Training settings: epochs over the training tiles, batch size, Adam's learning rate (None: the
    network's :data:`DEFAULT_LR`), seed, device."""

    epochs: int = 10
    batch_size: int = 16
    lr: float | None = None
    seed: int = 0
    device: str = "cpu"

    def lr_for(self, arch: str) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR.get(arch, 1e-4)


@dataclass
class TrainLog:
    """Mean training loss of each epoch and the wall time in seconds."""

    epoch_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def positive_weights(targets: np.ndarray, cap: float = POS_WEIGHT_CAP) -> np.ndarray:
    """(N, K) bool training targets -> (K,) BCE ``pos_weight``: absent / present tiles per class, in [1e-3, cap];
    1 for a class with no present tile (its weight multiplies nothing)."""
    targets = np.asarray(targets, bool)
    present = targets.sum(axis=0).astype(np.float64)
    absent = len(targets) - present
    weights = np.ones(targets.shape[1])
    np.divide(absent, present, out=weights, where=present > 0)
    return np.clip(weights, 1e-3, cap)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor,
               targets: torch.Tensor, pos_weight: torch.Tensor | None = None) -> float:
    """One Adam step on a batch with BCEWithLogits (``pos_weight`` per class, None: 1); returns the batch's
    loss before the step."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = nn.functional.binary_cross_entropy_with_logits(model(images), targets.float(), pos_weight=pos_weight)
    loss.backward()
    optimizer.step()
    return float(loss.item())


def train_classifier(model: nn.Module, images: torch.Tensor, targets: np.ndarray, config: CNNConfig,
                     desc: str = "CNN", progress: bool = True, lr: float | None = None) -> TrainLog:
    """Train ``model`` in place on (N, 1, S, S) images and (N, K) bool targets; shuffled batches from ``seed``,
    BCE weighted by :func:`positive_weights` of ``targets``. ``lr`` None takes ``config.lr`` (or 1e-4)."""
    if len(images) == 0:
        raise UserError("no training tiles for the CNN classifiers")
    torch.manual_seed(config.seed)
    model.to(config.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr or config.lr or 1e-4)
    target_tensor = torch.as_tensor(np.asarray(targets), dtype=torch.float32)
    pos_weight = torch.as_tensor(positive_weights(targets), dtype=torch.float32).to(config.device)
    rng = np.random.default_rng(config.seed)
    log, started = TrainLog(), time.perf_counter()
    n_batches = -(-len(images) // config.batch_size)
    bar = tqdm(total=config.epochs * n_batches, desc=f"training {desc}", unit="step", disable=not progress or None)
    for _ in range(config.epochs):
        order = rng.permutation(len(images))
        losses = []
        for start in range(0, len(images), config.batch_size):
            batch = torch.from_numpy(order[start:start + config.batch_size])
            # a batch of one breaks batch norm's statistics in training mode: pad it with a second tile
            if len(batch) == 1 and len(images) > 1:
                batch = torch.cat([batch, torch.from_numpy(order[:1])])
            losses.append(train_step(model, optimizer, images[batch].to(config.device),
                                     target_tensor[batch].to(config.device), pos_weight))
            bar.update(1)
        log.epoch_losses.append(float(np.mean(losses)))
        bar.set_postfix(loss=f"{log.epoch_losses[-1]:.3f}")
    bar.close()
    log.seconds = time.perf_counter() - started
    return log


def predict_probabilities(model: nn.Module, images: torch.Tensor, batch_size: int = 16,
                          device: str = "cpu") -> np.ndarray:
    """(N, K) sigmoid outputs in [0, 1], model in eval mode, no gradients."""
    model.to(device).eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            out.append(torch.sigmoid(model(images[start:start + batch_size].to(device))).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def predict_presence(model: nn.Module, images: torch.Tensor, batch_size: int = 16, device: str = "cpu",
                     threshold: float = THRESHOLD) -> np.ndarray:
    """(N, K) bool: sigmoid output at or above ``threshold`` (0.5)."""
    return predict_probabilities(model, images, batch_size, device) >= threshold


@dataclass
class CNNResult:
    """What :func:`fit_and_predict` did for one architecture."""

    arch: str
    probabilities: dict[str, np.ndarray]   # split -> (N, K) sigmoid outputs of its tiles
    pos_weight: np.ndarray                 # (K,) BCE pos_weight used in training
    weights_path: str | None         # ImageNet weights it started from, or None (from scratch)
    log: TrainLog
    n_parameters: int

    @property
    def name(self) -> str:
        return ARCHITECTURES[self.arch]


def fit_and_predict(arch: str, train_images: torch.Tensor, train_targets: np.ndarray,
                    eval_images: dict[str, torch.Tensor], config: CNNConfig, weights_path: str | None = None,
                    progress: bool = True, build: Callable[..., nn.Module] = build_classifier) -> CNNResult:
    """Build ``arch``, train it on the training tiles, and give its sigmoid outputs on each split of
    ``eval_images`` (e.g. {'val': ..., 'test': ...}); thresholds are the caller's choice."""
    n_classes = np.asarray(train_targets).shape[1]
    torch.manual_seed(config.seed)  # the random initial weights too come from the seed, whatever ran before
    model = build(arch, n_classes, weights_path)
    log = train_classifier(model, train_images, train_targets, config, ARCHITECTURES[arch], progress,
                           config.lr_for(arch))
    probabilities = {split: predict_probabilities(model, images, config.batch_size, config.device)
                     for split, images in eval_images.items()}
    n_parameters = sum(p.numel() for p in model.parameters())
    return CNNResult(arch, probabilities, positive_weights(train_targets), weights_path, log, n_parameters)


def warn(message: str | None) -> None:
    """Print a one-line notice on stderr (no-op for None)."""
    if message:
        print(message, file=sys.stderr)
