"""Per-source audio: the mixture's STFT under each class's mask, inverted with the mixture's phase.

One file per selected class plus the residual (background pixels, the classes not selected, and the Nyquist
bin, which images do not hold), so the files add up to the recording: to float precision as float WAV, to
16-bit quantisation as FLAC or 16-bit WAV. Written block by block through one streaming ISTFT per file, under
temporary names until the recording is done.
"""

from __future__ import annotations

import os

import numpy as np
import soundfile as sf

from util.files import temp_name
from util.labels.palette import Palette
from util.recording.layout import RESIDUAL, audio_name
from util.recording.settings import AUDIO_FORMATS, DEFAULT_AUDIO_FORMAT
from util.signal.audio import StreamingISTFT
from util.signal.spectrogram import SpecParams

WAV_LIMIT_BYTES = 2 ** 32 - 2 ** 20        # a WAV's sizes are 32-bit: larger files are written as RF64


class SourceAudio:
    """One audio file per selected class plus the residual, written block by block under temporary names."""

    def __init__(self, out_dir: str, palette: Palette, params: SpecParams, n_samples: int,
                 classes: tuple[int, ...] | None = None, audio_format: str = DEFAULT_AUDIO_FORMAT):
        self.params, self.n_samples = params, n_samples
        self.classes = list(classes if classes is not None else range(1, len(palette) + 1))
        slugs = [palette.classes[k - 1].slug for k in self.classes] + [RESIDUAL]
        self.paths = [os.path.join(out_dir, audio_name(slug, audio_format)) for slug in slugs]
        self.temps = [temp_name(p) for p in self.paths]
        kind = AUDIO_FORMATS[audio_format]
        self._clip = kind.subtype != "FLOAT"                       # integer samples: clip, never wrap round
        container = kind.container
        if container == "WAV" and n_samples * kind.bytes_per_sample >= WAV_LIMIT_BYTES:
            container = "RF64"
        self._files = [sf.SoundFile(t, "w", params.sr, 1, kind.subtype, format=container) for t in self.temps]
        self._engines = [StreamingISTFT(params.n_fft, params.hop_length, params.window) for _ in self.paths]

    def write(self, spectrum: np.ndarray, class_map: np.ndarray) -> None:
        """The block's frames under each class's mask; the residual takes every other bin (Nyquist included)."""
        bins = class_map[::-1]                  # image row r is bin n_rows - 1 - r
        present = np.bincount(class_map.ravel(), minlength=max(self.classes) + 1) > 0
        for k, engine, handle in zip(self.classes, self._engines, self._files):
            masked = spectrum[:self.params.n_rows] * (bins == k) if present[k] else None  # None: silence
            self._write(handle, engine.push_frames(masked, spectrum.shape[1]))
        residual = spectrum.copy()
        residual[:self.params.n_rows] *= ~np.isin(bins, self.classes)
        self._write(self._files[-1], self._engines[-1].push_frames(residual, spectrum.shape[1]))

    def _write(self, handle: sf.SoundFile, samples: np.ndarray) -> None:
        handle.write(np.clip(samples, -1.0, 1.0) if self._clip else samples)

    def finish(self) -> None:
        """Write the last samples (the recording's length) and close the files (still under temporary names)."""
        for engine, handle in zip(self._engines, self._files):
            self._write(handle, engine.finish(self.n_samples))
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
