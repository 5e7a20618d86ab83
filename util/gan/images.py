"""8-bit images <-> the networks' scale: the one place the [-1, 1] mapping is written.

pix2pix feeds a network ``pixels / 127.5 - 1`` (0 -> -1, 255 -> +1) and reads its output back with the
inverse. Every caller (training pairs, the colour loss, scoring, recordings, the evaluation) uses these.
"""

from __future__ import annotations

import numpy as np
import torch

HALF_RANGE = 127.5   # 255 / 2


def to_signed(pixels) -> torch.Tensor:
    """uint8 or float pixels in 0..255 (array or tensor, any shape) -> float32 tensor in [-1, 1]."""
    return torch.as_tensor(np.ascontiguousarray(pixels) if isinstance(pixels, np.ndarray) else pixels
                           ).float().div(HALF_RANGE).sub(1.0)


def to_unsigned(signed: torch.Tensor) -> torch.Tensor:
    """float tensor in [-1, 1] (any shape) -> float32 tensor in 0..255, not rounded or clipped."""
    return signed.float().add(1.0).mul(HALF_RANGE)


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """uint8 (H, W) or (H, W, C) -> float32 (C, H, W) in [-1, 1]."""
    array = torch.from_numpy(np.ascontiguousarray(pixels))
    return to_signed(array[None] if array.dim() == 2 else array.permute(2, 0, 1))


def to_pixels(tensor: torch.Tensor) -> np.ndarray:
    """float (C, H, W) in [-1, 1] -> uint8 (H, W, C) (or (H, W) for one channel), rounding to nearest."""
    array = to_unsigned(tensor.detach().cpu().clamp(-1, 1)).round().to(torch.uint8)
    array = array.permute(1, 2, 0).numpy()
    return array[..., 0] if array.shape[2] == 1 else array


def to_uint8_rgb(tensor: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [-1, 1] -> (H, W, 3) uint8 RGB (a single channel is replicated)."""
    pixels = to_pixels(tensor)
    return np.repeat(pixels[..., None], 3, axis=2) if pixels.ndim == 2 else pixels
