"""Fitting how one generator's colours are read: per-class offsets and a speckle size, chosen on val.

A generator trained with class weights paints some classes too readily and others too shyly, and leaves
specks of a few pixels where it hesitates. The 'fitted' decode rule (:data:`util.labels.palette.DECODE_RULES`)
reads its output by the nearest palette colour after subtracting an offset from each colour's squared
distance (a class with a positive offset wins more pixels), then turns every region of a class smaller than
``min_region`` pixels into background. This module chooses both for one generator so as to maximise its mean
pixel F1 on the pairs it is given (job03: the val split; never the test split):

1. offsets by coordinate ascent, one class at a time over :data:`OFFSET_STEPS` (fractions of the palette's
   :attr:`~util.labels.palette.Palette.offset_limit`, so an exact palette colour always reads as itself),
   three rounds, on every second row and column of the val tiles (the same pixels in every trial);
2. then ``min_region`` from :data:`MIN_REGIONS` at full resolution with those offsets.

A change is kept only when it raises the mean F1 by more than :data:`MIN_GAIN`, so a fit on few pixels stays
at the plain nearest colour (all offsets 0, no speckle removal) unless it clearly pays.
"""

from __future__ import annotations

import numpy as np

from util.labels.palette import Palette, remove_small_regions
from util.metrics import PixelCounts

OFFSET_STEPS = (-0.9, -0.6, -0.4, -0.25, -0.12, -0.05, 0.0, 0.05, 0.12, 0.25, 0.4, 0.6, 0.9)
MIN_REGIONS = (0, 4, 8, 16, 32)
MIN_GAIN = 1e-3
ROUNDS = 3


def colour_distances(rgb: np.ndarray, palette: Palette) -> np.ndarray:
    """Generated images (N, H, W, 3) in 0..255 -> squared distance to each palette colour, (K + 1, N, H, W)."""
    rgb = np.asarray(rgb, np.float32)
    colors = palette.colors.astype(np.float32)
    return np.stack([np.square(rgb - colour).sum(axis=-1) for colour in colors])


def _decode(distances: np.ndarray, offsets: np.ndarray, min_region: int = 0) -> np.ndarray:
    index = np.argmin(distances - offsets.reshape(-1, *([1] * (distances.ndim - 1))), axis=0).astype(np.uint8)
    return remove_small_regions(index, min_region) if min_region > 1 else index


def _mean_f1(pred: np.ndarray, truth: np.ndarray, n_classes: int) -> float:
    counts = PixelCounts(n_classes)
    counts.update(pred, truth)
    value = counts.mean_f1()
    return value if np.isfinite(value) else 0.0


def fit_decoding(distances: np.ndarray, truth: np.ndarray, palette: Palette) -> dict:
    """Choose the offsets and the speckle size that maximise mean pixel F1 on these images.

    Parameters
    ----------
    distances : (K + 1, N, H, W) squared colour distances of the generated images (:func:`colour_distances`)
    truth : (N, H, W) true class maps
    palette : the palette the distances were measured to

    Returns
    -------
    ``{'offsets': [K + 1 floats, background 0], 'min_region': int, 'f1_nearest': float, 'f1_fitted': float}``:
    the mean pixel F1 on these images read by the plain nearest colour and by the fit.
    """
    n_classes = len(palette)
    steps = np.asarray(OFFSET_STEPS, np.float32) * palette.offset_limit
    coarse, coarse_truth = distances[:, :, ::2, ::2], truth[:, ::2, ::2]
    offsets = np.zeros(n_classes + 1, np.float32)
    best = _mean_f1(_decode(coarse, offsets), coarse_truth, n_classes)
    for _ in range(ROUNDS):
        improved = False
        for k in range(1, n_classes + 1):
            for step in steps:
                trial = offsets.copy()
                trial[k] = step
                score = _mean_f1(_decode(coarse, trial), coarse_truth, n_classes)
                if score > best + MIN_GAIN:
                    best, offsets, improved = score, trial, True
        if not improved:
            break
    nearest = _mean_f1(_decode(distances, np.zeros_like(offsets)), truth, n_classes)
    scores = {m: _mean_f1(_decode(distances, offsets, m), truth, n_classes) for m in MIN_REGIONS}
    min_region = MIN_REGIONS[0]
    for m in MIN_REGIONS[1:]:
        if scores[m] > scores[min_region] + MIN_GAIN:
            min_region = m
    return {"offsets": [float(v) for v in offsets], "min_region": int(min_region),
            "f1_nearest": float(nearest), "f1_fitted": float(scores[min_region])}
