"""Shared fixtures: small real audio files written with soundfile."""

import os
import sys

import numpy as np
import pytest
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SR = 22050


def tone(freq_hz: float, amplitude: float, duration_s: float, sr: int = SR, start_s: float = 0.0,
         total_s: float | None = None) -> np.ndarray:
    """A sine of ``amplitude`` (full scale = 1) at ``freq_hz`` from start_s for duration_s, in a clip of total_s."""
    total_s = total_s if total_s is not None else start_s + duration_s
    t = np.arange(int(round(total_s * sr))) / sr
    on = (t >= start_s) & (t < start_s + duration_s)
    return (amplitude * np.sin(2 * np.pi * freq_hz * t) * on).astype(np.float32)


@pytest.fixture
def write_wav(tmp_path):
    def _write(name: str, samples: np.ndarray, sr: int = SR, subtype: str = "FLOAT") -> str:
        path = os.path.join(tmp_path, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        sf.write(path, samples, sr, subtype=subtype)
        return path
    return _write
