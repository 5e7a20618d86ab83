"""A|B training pairs, pix2pix's aligned format.

One RGB PNG, spectrogram A on the left (its grey in all three channels), colour
label B on the right, both exactly the size of the tile. The spectrogram's
metadata is kept in the pair's ``spectrogram`` text chunk, so a pair can be
traced back to its recording and its dB values read.
"""

from __future__ import annotations

import numpy as np

from util.errors import UserError
from util.signal.spectrogram import read_png, write_png


def merge_pair(spec_pixels: np.ndarray, label_rgb: np.ndarray, spec_name: str = "<spectrogram>",
               label_name: str = "<label>") -> np.ndarray:
    """Grey (H, W) + RGB (H, W, 3) -> A|B image (H, 2W, 3) uint8. Sizes must match exactly."""
    if spec_pixels.shape[:2] != label_rgb.shape[:2]:
        raise UserError(f"{label_name}: label is {label_rgb.shape[1]}x{label_rgb.shape[0]} pixels but "
                        f"spectrogram {spec_name} is {spec_pixels.shape[1]}x{spec_pixels.shape[0]}; "
                        f"labels must have exactly the spectrogram's size")
    grey = np.repeat(np.asarray(spec_pixels, np.uint8)[..., None], 3, axis=2)
    return np.concatenate([grey, np.asarray(label_rgb, np.uint8)], axis=1)


def split_pair(pair: np.ndarray, path: str = "<pair>") -> tuple[np.ndarray, np.ndarray]:
    """A|B image (H, 2W, 3) -> (grey A (H, W) uint8, RGB B (H, W, 3) uint8)."""
    if pair.ndim != 3 or pair.shape[2] != 3 or pair.shape[1] % 2:
        raise UserError(f"{path}: not an A|B pair (an RGB image of even width), got shape {pair.shape}")
    half = pair.shape[1] // 2
    return pair[:, :half, 0].copy(), pair[:, half:].copy()


def write_pair(path: str, spec_pixels: np.ndarray, label_rgb: np.ndarray, meta: dict | None) -> None:
    """Write an A|B pair PNG atomically, keeping the spectrogram's metadata."""
    write_png(path, merge_pair(spec_pixels, label_rgb), meta)


def read_pair(path: str) -> tuple[np.ndarray, np.ndarray, dict | None]:
    """Read an A|B pair: (grey A uint8, RGB B uint8, metadata or None)."""
    pixels, meta = read_png(path)
    if pixels.ndim == 2:
        raise UserError(f"{path}: a grey image, not an A|B pair (make pairs with job02_merge_img.py)")
    spec_pixels, label_rgb = split_pair(pixels, path)
    return spec_pixels, label_rgb, meta
