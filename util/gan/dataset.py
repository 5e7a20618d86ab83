"""Aligned A|B training pairs as tensors, for pix2pix training and testing.

Each ``*.png`` in a folder is one pair (see :mod:`util.pairs`): A the spectrogram tile, B its colour label.
Pixels are scaled as pix2pix does, ``x / 127.5 - 1``: 0 -> -1, 255 -> +1.

Spectrogram-safe by design: no flips (a flip reverses time or frequency), no resizing (a pixel is one STFT
bin). The only augmentation is ``preprocess='crop'``: a random window of ``crop_size`` *columns* (time
frames) over the full height, for pairs wider than a tile. Crop positions come from a torch Generator
seeded with (seed, epoch, index), so they repeat exactly for the same seed whatever the DataLoader's
worker count or shuffling; call :meth:`AlignedPairDataset.set_epoch` to draw new ones each epoch.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from util.errors import UserError
from util.gan.images import to_signed, to_tensor
from util.gan.losses import nearest_colour_index
from util.labels.pairs import read_pair

PREPROCESS_MODES = ("none", "crop")


def list_pairs(root_dir: str) -> list[str]:
    """Paths of the ``*.png`` files in ``root_dir``, sorted by name; UserError if none or no folder."""
    if not os.path.isdir(root_dir):
        raise UserError(f"{root_dir}: no such folder of training pairs")
    names = sorted(n for n in os.listdir(root_dir) if n.lower().endswith(".png") and not n.startswith("."))
    if not names:
        raise UserError(f"{root_dir}: no A|B pair images (*.png) in this folder (make them with job02_merge_img.py)")
    return [os.path.join(root_dir, n) for n in names]


class AlignedPairDataset(Dataset):
    """Pairs in ``root_dir`` -> dicts ``{'A': (input_nc, H, W), 'B': (3, H, W), 'path': str}``.

    ``input_nc`` 1 gives the grey spectrogram; 3 repeats it in three channels (for weights trained that
    way). ``preprocess`` 'none' keeps pairs whole; 'crop' cuts ``crop_size`` columns at a random time
    offset (pairs narrower than that are an error). ``seed`` fixes the crops (None draws one from torch's
    global generator, so ``torch.manual_seed`` still makes a run repeatable).
    """

    def __init__(self, root_dir: str, input_nc: int = 1, preprocess: str = "none", crop_size: int = 256,
                 seed: int | None = None):
        if input_nc not in (1, 3):
            raise UserError(f"--input_nc {input_nc}: a spectrogram gives 1 channel (or 3, grey repeated)")
        if preprocess not in PREPROCESS_MODES:
            raise UserError(f"--preprocess {preprocess!r}: choose one of {', '.join(PREPROCESS_MODES)}")
        if crop_size < 1:
            raise UserError(f"--crop_size {crop_size}: must be a positive number of columns")
        self.root_dir = root_dir
        self.paths = list_pairs(root_dir)
        self.input_nc = input_nc
        self.preprocess = preprocess
        self.crop_size = crop_size
        self.seed = int(torch.randint(0, 2 ** 62, (1,)).item()) if seed is None else int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.paths)

    def set_epoch(self, epoch: int) -> None:
        """Draw a new set of crop positions (the same ones again for the same epoch)."""
        self.epoch = int(epoch)

    def crop_start(self, index: int, width: int) -> int:
        """First column of item ``index``'s crop from a pair ``width`` columns wide."""
        item_seed = np.random.SeedSequence([self.seed, self.epoch, index]).generate_state(1, np.uint64)[0]
        generator = torch.Generator().manual_seed(int(item_seed) & (2 ** 63 - 1))
        return int(torch.randint(0, width - self.crop_size + 1, (1,), generator=generator).item())

    def __getitem__(self, index: int) -> dict:
        path = self.paths[index]
        spec_pixels, label_rgb, _ = read_pair(path)
        A, B = to_tensor(spec_pixels), to_tensor(label_rgb)
        if self.input_nc == 3:
            A = A.expand(3, -1, -1).clone()
        if self.preprocess == "crop":
            width = A.shape[-1]
            if width < self.crop_size:
                raise UserError(f"{path}: {width} columns wide, narrower than --crop_size {self.crop_size}")
            start = self.crop_start(index, width)
            A, B = A[..., start:start + self.crop_size].clone(), B[..., start:start + self.crop_size].clone()
        return {"A": A, "B": B, "path": path}


def label_statistics(dataset: AlignedPairDataset, colors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels of each palette colour over a pair set, each pair's foreground share and the colours it shows.

    ``colors`` (K + 1, 3) uint8, background first (:attr:`util.labels.palette.Palette.colors`). Returns
    (counts (K + 1,) int64, foreground (N,) float: the part of each label that is not background,
    presence (N, K + 1) bool: which colours each label shows), colours read by nearest palette colour,
    as the scores read them.
    """
    palette = to_signed(np.asarray(colors))
    counts = torch.zeros(len(palette), dtype=torch.int64)
    foreground = np.zeros(len(dataset.paths))
    presence = np.zeros((len(dataset.paths), len(palette)), dtype=bool)
    for index, path in enumerate(tqdm(dataset.paths, desc="counting label colours", unit="pair", leave=False,
                                      disable=None)):
        _, label_rgb, _ = read_pair(path)
        B = to_tensor(label_rgb)
        classes = nearest_colour_index(B[None], palette)[0]
        pair_counts = torch.bincount(classes.flatten(), minlength=len(palette))
        counts += pair_counts
        foreground[index] = float((classes > 0).float().mean())
        presence[index] = (pair_counts > 0).numpy()
    return counts.numpy(), foreground, presence
