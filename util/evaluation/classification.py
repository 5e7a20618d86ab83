"""data06: species classification per tile: F1 of presence for the GAN, ResNet50 and VGG16.

The GAN says a species is present when its generated mask has more pixels than a threshold chosen on
the training split; the CNNs (:mod:`util.evaluation.classifiers`, imported only when this table is
made) are trained on the training split's tiles.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from util.evaluation.about import tile_table_about
from util.evaluation.context import Evaluation
from util.evaluation.data import DEFAULT_MIN_TRUE_PIXELS, GAN, MEAN_ROW, valid_maps
from util.labels.palette import Palette

WHAT = {
    "table": "data06: species classification per tile: F1 of presence for the GAN, ResNet50 and VGG16, per "
             "species and the mean over species",
    "metric domain": "F1 = 2TP / (2TP + FP + FN) of (test tile, species) presence decisions, per species; mean = "
                     "unweighted mean over species with a defined F1. Truth: the species has at least "
                     "'min true pixels' pixels in the tile's true class map. GAN: its generated species mask "
                     "has more pixels than a threshold chosen on the training split."}


def f1_scores(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(N, K) bool truth and prediction -> per-class F1 = 2TP / (2TP + FP + FN); NaN where a class is
    neither true nor predicted in any tile."""
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    tp = (truth & predicted).sum(axis=0)
    wrong = (truth ^ predicted).sum(axis=0)
    out = np.full(truth.shape[1], np.nan)
    np.divide(2 * tp, 2 * tp + wrong, out=out, where=(2 * tp + wrong) > 0)
    return out


def choose_area_thresholds(areas: np.ndarray, truth: np.ndarray, per_species: bool = True,
                           fallback: float = DEFAULT_MIN_TRUE_PIXELS) -> np.ndarray:
    """Area thresholds (pixels) for "the GAN says the species is present": area > threshold.

    ``areas``: (N, K) generated pixels of each class per training tile; ``truth``: (N, K) bool.
    Per species (or, with ``per_species`` False, one threshold for all, maximising the F1 of all
    (tile, species) decisions pooled), the candidate thresholds are 0 and every area seen; the one
    with the highest F1 wins (the smallest on a tie), and the threshold returned is half-way between
    it and the next larger area seen (the widest margin that keeps the same training decisions).
    A species never present in training gets ``fallback``.
    """
    areas, truth = np.asarray(areas, np.float64), np.asarray(truth, bool)
    if not per_species:
        return np.full(areas.shape[1], _best_threshold(areas.ravel(), truth.ravel(), fallback))
    return np.array([_best_threshold(areas[:, k], truth[:, k], fallback) for k in range(areas.shape[1])])


def _best_threshold(areas: np.ndarray, truth: np.ndarray, fallback: float) -> float:
    if not truth.any():
        return float(fallback)
    candidates = np.unique(np.concatenate([[0.0], areas]))
    f1 = [f1_scores(truth[:, None], (areas > t)[:, None])[0] for t in candidates]
    best = int(np.nanargmax(f1))
    if best + 1 < len(candidates):
        return float((candidates[best] + candidates[best + 1]) / 2)
    return float(candidates[best])


def classification_table(truth: np.ndarray, predictions: dict[str, np.ndarray | None],
                         species: Palette) -> pd.DataFrame:
    """data06: ``species``, then one column per method (GAN, ResNet50, VGG16): the F1 of per-tile presence;
    a last row ``mean`` (over species with a defined F1). A method given as None has an empty column."""
    rows = {"species": [*(c.display_name for c in species.classes), MEAN_ROW]}
    for method, predicted in predictions.items():
        if predicted is None:
            rows[method] = [np.nan] * (len(species) + 1)
            continue
        f1 = f1_scores(truth, predicted)
        rows[method] = [*f1, float(np.nanmean(f1)) if np.isfinite(f1).any() else np.nan]
    return pd.DataFrame(rows)


def compute(ev: Evaluation) -> dict[str, pd.DataFrame]:
    """Truth from the true maps; the GAN's thresholds and the CNNs learned on the training split."""
    from util.evaluation.classifiers import pixel_areas

    n = len(ev.palettes["species"])
    min_px = ev.opt.min_true_pixels
    train_truth = pixel_areas([t.true_maps["species"][:, :t.n_valid] for t in ev.train_tiles], n) >= min_px
    test_truth = pixel_areas(ev.valid_true_maps("species"), n) >= min_px
    train_areas = pixel_areas(valid_maps(ev.gan_maps("species", "train"), ev.train_tiles), n)
    test_areas = pixel_areas(ev.valid_gan_maps("species"), n)
    thresholds = choose_area_thresholds(train_areas, train_truth, ev.opt.gan_threshold == "per_species", min_px)
    slugs = ev.palettes["species"].slugs
    ev.counts["classification"] = {
        "training tiles": len(ev.train_tiles), "test tiles": len(ev.test_tiles),
        "GAN area thresholds (pixels, present when above)": dict(zip(slugs, np.round(thresholds, 1).tolist())),
        "training tiles with the species present": dict(zip(slugs, train_truth.sum(axis=0).tolist())),
        "test tiles with the species present": dict(zip(slugs, test_truth.sum(axis=0).tolist()))}
    predictions = {GAN: test_areas > thresholds, **cnn_predictions(ev, train_truth)}
    return {"data": classification_table(test_truth, predictions, ev.palettes["species"])}


def cnn_predictions(ev: Evaluation, train_truth: np.ndarray) -> dict[str, np.ndarray | None]:
    """Each CNN's (test tiles, species) presence, trained on the training tiles; None for a CNN not run."""
    from util.evaluation.classifiers import (
        ARCHITECTURES,
        CNNConfig,
        find_weights,
        fit_and_predict,
        prepare_images,
    )

    opt = ev.opt
    out: dict[str, np.ndarray | None] = {name: None for name in ARCHITECTURES.values()}
    archs = [a for a in opt.cnn_models if a in ARCHITECTURES]
    if not archs:
        ev.notes.append("data06: CNN classifiers not run (--cnn_models none); their columns are empty")
        return out
    weights, message = find_weights(archs, opt.cnn_weights)
    if message:
        print(message, file=sys.stderr)
        ev.notes.append(message)
    size = opt.cnn_image_size or None
    train_images = prepare_images(np.stack([t.spec_pixels for t in ev.train_tiles]), size)
    test_images = prepare_images(np.stack([t.spec_pixels for t in ev.test_tiles]), size)
    config = CNNConfig(opt.cnn_epochs, opt.cnn_batch_size, opt.cnn_lr, opt.seed, opt.device)
    training = ev.counts["classification"]["CNN training"] = {}
    for arch in archs:
        result = fit_and_predict(arch, train_images, train_truth, test_images, config, weights[arch], opt.progress)
        out[result.name] = result.present
        training[result.name] = {
            "start": result.weights_path or "random initialisation (weights=None)",
            "epochs": config.epochs, "batch size": config.batch_size, "Adam lr": config.lr_for(arch),
            "input": f"1 x {size or 'full'} x {size or 'full'}", "parameters": result.n_parameters,
            "loss per epoch": [round(v, 4) for v in result.log.epoch_losses],
            "training seconds": round(result.log.seconds, 1)}
    return out


def classification_settings(ev: Evaluation) -> dict:
    """data06's own definitions: the GAN's threshold rule and the CNNs' input and loss, from the code that ran."""
    from util.evaluation.classifiers import GREY_MEAN, GREY_STD, THRESHOLD

    opt = ev.opt
    size = opt.cnn_image_size
    return {"min true pixels": opt.min_true_pixels,
            "GAN threshold": (f"{opt.gan_threshold}: the area threshold maximising F1 on the training split "
                              f"(the smallest on a tie), moved half-way to the next larger training area; "
                              f"a species absent from training gets 'min true pixels'"),
            "CNN input": (f"the tile's grey pixels, area-downsampled to {size} x {size} for the CNNs only, "
                          f"1 channel, normalised (mean {GREY_MEAN}, std {GREY_STD})" if size else
                          "the tile's grey pixels at full size, 1 channel"),
            "CNN loss": (f"BCEWithLogitsLoss, Adam, multi-label presence of the {len(ev.palettes['species'])} "
                         f"species; threshold {THRESHOLD}")}


def about(ev: Evaluation) -> dict:
    from util.evaluation.classifiers import THRESHOLD

    what = {**WHAT, "metric domain": f"{WHAT['metric domain']} CNNs: sigmoid >= {THRESHOLD}."}
    return tile_table_about(ev, "classification", what, ("species",), classification_settings(ev))


def draw(sheets: dict[str, pd.DataFrame], path: str) -> str:
    from util.evaluation.figures import plot_classification

    return plot_classification(sheets["data"], path)
