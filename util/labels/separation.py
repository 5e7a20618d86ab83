"""Masks -> one source: isolated spectrograms and separated audio.

A class map (from a painted label or a generated one) selects the pixels of one
source. Its spectrogram keeps those pixels and shows the floor elsewhere; its
audio is the ISTFT of the mixture's STFT under the mask, with the mixture's
phase (a binary mask here; the bins of one image row are one STFT bin, so the
mask is exact).
"""

from __future__ import annotations

import numpy as np

from util.errors import UserError
from util.labels.palette import Palette
from util.signal.audio import istft, stft_frames
from util.signal.spectrogram import SpecParams, image_rows_to_bins, read_png


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
    """The mixture's complex STFT for the valid frames of a tile plus the frame after them.

    (n_fft // 2 + 1, n_valid_frames + 1): the extra frame overlaps the tile's last hop, so the
    audio of that hop is rebuilt from two frames like every other hop (zeros past the recording's end).
    """
    params = SpecParams.from_metadata(meta)
    return stft_frames(recording, meta["start_frame"], meta["n_valid_frames"] + 1, params.n_fft,
                       params.hop_length, params.window)


def masked_audio(spectrum: np.ndarray, image_mask: np.ndarray, meta: dict) -> np.ndarray:
    """ISTFT of ``spectrum`` under a mask given as an image (rows, frames), low frequency at the bottom.

    The mask may be binary or soft (0..1); the Nyquist bin, which images drop, is zero. A spectrum
    one frame longer than the mask (see :func:`tile_spectrum`) has that frame masked like the last
    column. Returns float32 audio starting at the tile's first frame, one hop per mask column.
    """
    params = SpecParams.from_metadata(meta)
    n_columns = min(image_mask.shape[1], spectrum.shape[1])
    columns = np.asarray(image_mask[:, :n_columns], np.float32)
    if spectrum.shape[1] > n_columns:
        columns = np.concatenate([columns, np.repeat(columns[:, -1:], spectrum.shape[1] - n_columns, axis=1)], axis=1)
    masked = spectrum[: params.n_rows] * image_rows_to_bins(columns)
    return istft(masked.astype(np.complex64), params.n_fft, params.hop_length, params.window,
                 length=n_columns * params.hop_length)
