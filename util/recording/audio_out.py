"""Per-source audio: the mixture's STFT under each class's mask, inverted with the mixture's phase.

One float WAV per class plus ``residual.wav`` (background pixels and the Nyquist bin, which images do not
hold), so the files add up to the recording (to float precision). Written block by block through one
streaming ISTFT per file, under temporary names until the recording is done.
"""

from __future__ import annotations

import os

import numpy as np
import soundfile as sf

from util.files import temp_name
from util.labels.palette import Palette
from util.recording.layout import RESIDUAL
from util.signal.audio import StreamingISTFT
from util.signal.spectrogram import SpecParams

WAV_LIMIT_BYTES = 2 ** 32 - 2 ** 20        # a WAV's sizes are 32-bit: larger files are written as RF64


class SourceAudio:
    """One float WAV per class plus the residual, written block by block under temporary names."""

    def __init__(self, out_dir: str, palette: Palette, params: SpecParams, n_samples: int):
        self.params, self.n_samples = params, n_samples
        names = [f"{slug}.wav" for slug in palette.slugs] + [f"{RESIDUAL}.wav"]
        self.classes = list(range(1, len(palette) + 1)) + [0]    # one per file; 0: the residual
        self.paths = [os.path.join(out_dir, name) for name in names]
        self.temps = [temp_name(p) for p in self.paths]
        wav_format = "WAV" if n_samples * 4 < WAV_LIMIT_BYTES else "RF64"  # 4 bytes per float sample
        self._files = [sf.SoundFile(t, "w", params.sr, 1, "FLOAT", format=wav_format) for t in self.temps]
        self._engines = [StreamingISTFT(params.n_fft, params.hop_length, params.window) for _ in self.paths]

    def write(self, spectrum: np.ndarray, class_map: np.ndarray) -> None:
        """The block's frames under each class's mask (class 0 and the Nyquist bin: residual)."""
        bins = class_map[::-1]                  # image row r is bin n_rows - 1 - r
        present = np.bincount(class_map.ravel(), minlength=len(self.classes)) > 0
        for k, engine, handle in zip(self.classes, self._engines, self._files):
            masked = self._masked(spectrum, bins, k) if present[k] or k == 0 else None  # None: silence
            handle.write(engine.push_frames(masked, spectrum.shape[1]))

    def _masked(self, spectrum: np.ndarray, bins: np.ndarray, k: int) -> np.ndarray:
        """A class's bins (Nyquist left out: zero); the residual's, Nyquist included."""
        n_rows = self.params.n_rows
        if k:
            return spectrum[:n_rows] * (bins == k)
        masked = spectrum.copy()
        masked[:n_rows] *= bins == 0
        return masked

    def finish(self) -> None:
        """Write the last samples (the recording's length) and close the files (still under temporary names)."""
        for engine, handle in zip(self._engines, self._files):
            handle.write(engine.finish(self.n_samples))
            handle.close()

    def rename(self) -> None:
        """Move the finished files into place."""
        for temp, target in zip(self.temps, self.paths):
            os.replace(temp, target)

    def discard(self) -> None:
        """Close the files and remove them (a failed recording leaves no audio behind)."""
        for handle in self._files:
            if not handle.closed:
                handle.close()
        for temp in self.temps:
            if os.path.exists(temp):
                os.remove(temp)
