"""Input checks and defaults shared by the baselines."""

from __future__ import annotations

import numpy as np

from util.errors import UserError
from util.signal.spectrogram import SpecParams

SPEC = SpecParams()   # the STFT defaults of every baseline: the project's spectrogram settings
EPS = 1e-12  # guards divisions; far below any audible STFT magnitude (full scale ~ 128)


def checked_audio(y: np.ndarray, name: str = "y") -> np.ndarray:
    """``y`` as an array, if it is non-empty, 1-D and finite; else a UserError naming ``name``."""
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise UserError(f"{name}: expected mono audio, a non-empty 1-D array; got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise UserError(f"{name}: contains NaN or infinite samples")
    return y


def check_positive(name: str, value: float, allow_zero: bool = False) -> None:
    """A UserError unless ``value`` is finite and positive (or zero, with ``allow_zero``)."""
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise UserError(f"{name} {value}: must be {'non-negative' if allow_zero else 'positive'}")

