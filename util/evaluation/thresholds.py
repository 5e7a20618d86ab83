"""Presence decisions from a score per (tile, class): F1 of the decisions, and the threshold rule job06 uses.

The same rule serves the GAN (score: its mask area in pixels) and the CNN classifiers (score: the sigmoid
output): present when the score is above a threshold chosen on the val split (the training split when a
data set has no val) to maximise F1. The test split is never used to choose.
"""

from __future__ import annotations

import numpy as np


def f1_scores(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(N, K) bool truth and prediction -> per-class F1 = 2TP / (2TP + FP + FN); NaN where a class is
    neither true nor predicted in any tile."""
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    tp = (truth & predicted).sum(axis=0)
    wrong = (truth ^ predicted).sum(axis=0)
    out = np.full(truth.shape[1], np.nan)
    np.divide(2 * tp, 2 * tp + wrong, out=out, where=(2 * tp + wrong) > 0)
    return out


def choose_thresholds(scores: np.ndarray, truth: np.ndarray, per_species: bool = True,
                      fallback: float = 0.0) -> np.ndarray:
    """Thresholds for "the class is present": score > threshold; one per class, shape (K,).

    ``scores``: (N, K) per tile and class (GAN: generated pixels of the class; CNN: sigmoid output);
    ``truth``: (N, K) bool. Per class (or, with ``per_species`` False, one threshold for all, maximising
    the F1 of all (tile, class) decisions pooled), the candidate thresholds are 0 and every score seen;
    the one with the highest F1 wins (the smallest on a tie), and the threshold returned is half-way
    between it and the next larger score seen (the widest margin that keeps the same decisions).
    A class never present in these tiles gets ``fallback``.
    """
    scores, truth = np.asarray(scores, np.float64), np.asarray(truth, bool)
    if not per_species:
        return np.full(scores.shape[1], _best_threshold(scores.ravel(), truth.ravel(), fallback))
    return np.array([_best_threshold(scores[:, k], truth[:, k], fallback) for k in range(scores.shape[1])])


def _best_threshold(scores: np.ndarray, truth: np.ndarray, fallback: float) -> float:
    if not truth.any():
        return float(fallback)
    candidates = np.unique(np.concatenate([[0.0], scores]))
    f1 = [f1_scores(truth[:, None], (scores > t)[:, None])[0] for t in candidates]
    best = int(np.nanargmax(f1))
    if best + 1 < len(candidates):
        return float((candidates[best] + candidates[best + 1]) / 2)
    return float(candidates[best])
