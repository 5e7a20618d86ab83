"""Masks -> one source: isolated spectrograms and separated audio.

A class map (from a painted label or a generated one) selects the pixels of one
source. Its spectrogram keeps those pixels and shows the floor elsewhere; its
audio is the ISTFT of the mixture's STFT under the mask, with the mixture's
phase (a binary mask here; the bins of one image row are one STFT bin, so the
mask is exact).
"""

from __future__ import annotations

import numpy as np

from .audio import istft, stft_frames
from .errors import UserError
from .palette import Palette
from .spectrogram import SpecParams, image_rows_to_bins, read_png


def isolate_pixels(spec_pixels: np.ndarray, class_map: np.ndarray, k: int) -> np.ndarray:
    """Grey pixels of class ``k`` kept, every other pixel set to the floor (grey 0)."""
    return np.where(class_map == k, spec_pixels, 0).astype(np.uint8)


def read_class_map(label_path: str, shape: tuple[int, int], palette: Palette, tolerance: float) -> np.ndarray:
    """Decode a label PNG of the given (rows, frames) shape; an A|B pair's right half is taken as the label."""
    rgb, _ = read_png(label_path)
    if rgb.ndim != 3:
        raise UserError(f"{label_path}: a grey image; a label must be an RGB PNG in the palette's colours")
    if rgb.shape[0] == shape[0] and rgb.shape[1] == 2 * shape[1]:
        rgb = rgb[:, shape[1]:]
    if rgb.shape[:2] != tuple(shape):
        raise UserError(f"{label_path}: label is {rgb.shape[1]}x{rgb.shape[0]} pixels, the spectrogram "
                        f"{shape[1]}x{shape[0]}; labels must have exactly the spectrogram's size")
    return palette.decode(rgb, label_path, tolerance)


def tile_spectrum(recording: np.ndarray, meta: dict) -> np.ndarray:
    """The mixture's complex STFT for the valid frames of a tile: (n_fft // 2 + 1, n_valid_frames)."""
    params = SpecParams.from_metadata(meta)
    return stft_frames(recording, meta["start_frame"], meta["n_valid_frames"], params.n_fft,
                       params.hop_length, params.window)


def masked_audio(spectrum: np.ndarray, image_mask: np.ndarray, meta: dict) -> np.ndarray:
    """ISTFT of ``spectrum`` under a mask given as an image (rows, frames), low frequency at the bottom.

    The mask may be binary or soft (0..1); the Nyquist bin, which images drop, is zero.
    Returns float32 audio starting at the tile's first frame, ``n_frames * hop_length`` samples long.
    """
    params = SpecParams.from_metadata(meta)
    n_frames = spectrum.shape[1]
    bin_mask = image_rows_to_bins(image_mask[:, :n_frames]).astype(np.float32)
    masked = spectrum[: params.n_rows] * bin_mask
    return istft(masked.astype(np.complex64), params.n_fft, params.hop_length, params.window,
                 length=n_frames * params.hop_length)
