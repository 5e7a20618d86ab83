"""data06: species classification per tile: F1 of presence for the GAN, ResNet50 and VGG16.

Every choice is made on the val split (the training split when a data set has no val, said in the about
sheet) and reported on the test split. The GAN says a species is present when its generated mask has
more pixels than a per-species threshold; the CNNs (:mod:`util.evaluation.classifiers`, imported only
when this table is made) are trained on the training split with class-weighted BCE, and say a species
is present when their sigmoid output is above a per-species threshold. Both thresholds follow one rule
(:func:`util.evaluation.thresholds.choose_thresholds`: the F1-maximising threshold on the choice split).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from util.evaluation.about import tile_table_about
from util.evaluation.context import Evaluation
from util.evaluation.data import GAN, MEAN_ROW, Tile, valid_maps
from util.evaluation.thresholds import choose_thresholds, f1_scores
from util.labels.palette import Palette

WHAT = {
    "table": "data06: species classification per tile: F1 of presence for the GAN, ResNet50 and VGG16, per "
             "species and the mean over species",
    "metric domain": "F1 = 2TP / (2TP + FP + FN) of (test tile, species) presence decisions, per species; mean = "
                     "unweighted mean over species with a defined F1. Truth: the species has at least "
                     "'min true pixels' pixels in the tile's true class map. GAN: its generated species mask "
                     "has more pixels than a threshold; CNNs: the sigmoid output is above a threshold; both "
                     "thresholds chosen per species on the split named in 'thresholds chosen on'."}


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


def true_presence(tiles: list[Tile], n_classes: int, min_true_pixels: int) -> np.ndarray:
    """(N, K) bool: the species has at least ``min_true_pixels`` pixels in the tile's true map (valid frames)."""
    from util.evaluation.classifiers import pixel_areas

    return pixel_areas([t.true_maps["species"][:, :t.n_valid] for t in tiles], n_classes) >= min_true_pixels


def compute(ev: Evaluation) -> dict[str, pd.DataFrame]:
    """Truth from the true maps; thresholds chosen on the choice split (val), CNNs trained on train."""
    from util.evaluation.classifiers import pixel_areas

    n, min_px, split = len(ev.palettes["species"]), ev.opt.min_true_pixels, ev.choice_split
    choice_truth = true_presence(ev.choice_tiles, n, min_px)
    test_truth = true_presence(ev.test_tiles, n, min_px)
    choice_areas = pixel_areas(valid_maps(ev.gan_maps("species", split), ev.choice_tiles), n)
    test_areas = pixel_areas(ev.valid_gan_maps("species"), n)
    per_species = ev.opt.gan_threshold == "per_species"
    thresholds = choose_thresholds(choice_areas, choice_truth, per_species, min_px)
    slugs = ev.palettes["species"].slugs
    ev.counts["classification"] = {
        "thresholds chosen on": _split_words(ev),
        f"{split} tiles": len(ev.choice_tiles), "test tiles": len(ev.test_tiles),
        "GAN area thresholds (pixels, present when above)": dict(zip(slugs, np.round(thresholds, 1).tolist())),
        f"{split} tiles with the species present": dict(zip(slugs, choice_truth.sum(axis=0).tolist())),
        "test tiles with the species present": dict(zip(slugs, test_truth.sum(axis=0).tolist()))}
    predictions = {GAN: test_areas > thresholds, **cnn_predictions(ev, choice_truth, per_species)}
    return {"data": classification_table(test_truth, predictions, ev.palettes["species"])}


def _split_words(ev: Evaluation) -> str:
    if ev.choice_split == "val":
        return f"val ({len(ev.choice_tiles)} tiles)"
    return (f"train ({len(ev.choice_tiles)} tiles): this data set has no val split (make one with "
            f"job00_synth_data.py --n_val N)")


def cnn_predictions(ev: Evaluation, choice_truth: np.ndarray, per_species: bool) -> dict[str, np.ndarray | None]:
    """Each CNN's (test tiles, species) presence: trained on the training tiles, its sigmoid thresholds chosen
    on the choice split's tiles (``choice_truth``); None for a CNN not run."""
    from util.evaluation.classifiers import ARCHITECTURES, THRESHOLD, CNNConfig, find_weights, fit_and_predict

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
    n = choice_truth.shape[1]
    train_truth = true_presence(ev.train_tiles, n, opt.min_true_pixels)
    images = _cnn_images(ev)
    config = CNNConfig(opt.cnn_epochs, opt.cnn_batch_size, opt.cnn_lr, opt.seed, opt.device)
    training = ev.counts["classification"]["CNN training"] = {}
    for arch in archs:
        result = fit_and_predict(arch, images["train"], train_truth, {"choice": images["choice"], "test": images["test"]},
                                 config, weights[arch], opt.progress)
        thresholds = choose_thresholds(result.probabilities["choice"], choice_truth, per_species, THRESHOLD)
        out[result.name] = result.probabilities["test"] > thresholds
        training[result.name] = {
            "start": result.weights_path or "random initialisation (weights=None)",
            "trained on": f"train ({len(ev.train_tiles)} tiles)",
            "epochs": config.epochs, "batch size": config.batch_size, "Adam lr": config.lr_for(arch),
            "BCE pos_weight (from the training labels)": dict(zip(ev.palettes["species"].slugs,
                                                                  np.round(result.pos_weight, 2).tolist())),
            f"sigmoid thresholds (chosen on {ev.choice_split}, present when above)":
                dict(zip(ev.palettes["species"].slugs, np.round(thresholds, 3).tolist())),
            "input": f"1 x {opt.cnn_image_size or 'full'} x {opt.cnn_image_size or 'full'}",
            "parameters": result.n_parameters, "loss per epoch": [round(v, 4) for v in result.log.epoch_losses],
            "training seconds": round(result.log.seconds, 1)}
    return out


def _cnn_images(ev: Evaluation) -> dict:
    """The CNN inputs of the train, choice and test tiles."""
    from util.evaluation.classifiers import prepare_images

    size = ev.opt.cnn_image_size or None
    tiles = {"train": ev.train_tiles, "choice": ev.choice_tiles, "test": ev.test_tiles}
    return {key: prepare_images(np.stack([t.spec_pixels for t in group]), size) for key, group in tiles.items()}


def classification_settings(ev: Evaluation) -> dict:
    """data06's own definitions: the threshold rule and the CNNs' input and loss, from the code that ran."""
    from util.evaluation.classifiers import GREY_MEAN, GREY_STD, POS_WEIGHT_CAP, THRESHOLD

    opt = ev.opt
    size = opt.cnn_image_size
    return {"min true pixels": opt.min_true_pixels,
            "thresholds chosen on": _split_words(ev),
            "threshold rule": (f"{opt.gan_threshold}: the threshold maximising F1 on the {ev.choice_split} split "
                               f"(the smallest on a tie), moved half-way to the next larger {ev.choice_split} "
                               f"score; GAN score = mask area in pixels, CNN score = sigmoid output; a species "
                               f"absent from {ev.choice_split} gets 'min true pixels' (GAN) or {THRESHOLD} (CNN)"),
            "CNN training": "the training split's tiles; the test split is never seen before it is scored",
            "CNN input": (f"the tile's grey pixels, area-downsampled to {size} x {size} for the CNNs only, "
                          f"1 channel, normalised (mean {GREY_MEAN}, std {GREY_STD})" if size else
                          "the tile's grey pixels at full size, 1 channel"),
            "CNN loss": (f"BCEWithLogitsLoss with pos_weight = absent / present training tiles per species (capped "
                         f"at {POS_WEIGHT_CAP:g}), Adam, multi-label presence of the "
                         f"{len(ev.palettes['species'])} species")}


def about(ev: Evaluation) -> dict:
    return tile_table_about(ev, "classification", WHAT, ("species",), classification_settings(ev))


def draw(sheets: dict[str, pd.DataFrame], path: str) -> str:
    from util.evaluation.figures import plot_classification

    return plot_classification(sheets["data"], path)
