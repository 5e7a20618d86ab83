"""Scoring a generator on pairs: what job03 logs after every epoch (val) and job04 reports (test).

For every pair, the generated label G(A) is compared with the true label B:
pixel-wise F1 per class (generated colours classified by nearest palette colour,
TP/FP/FN summed over all images), SSIM and LPIPS on the RGB label images, and the
MSE of the label images scaled to [0, 1]. Pixel F1 comes with a 95 % interval from
a bootstrap over clips (:func:`util.metrics.bootstrap_pixel_f1`; a pair's clip is its
stem without the ``_<k:04d>`` tile number).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from util.gan.calibration import colour_distances, fit_decoding
from util.gan.images import to_uint8_rgb
from util.gan.precision import PRECISIONS, check_precision, precision_context
from util.labels.palette import Palette
from util.metrics import LpipsScorer, PixelCounts, bootstrap_pixel_f1, clip_of_stem, ssim_rgb
from util.signal.spectrogram import write_png

FIT_MAX_IMAGES = 400     # the val pairs a decoding fit reads (K + 1 distance maps each, held in memory)


@dataclass
class PairScores:
    """Summed pixel counts (all pairs, and per clip) and per-image scores of a scoring run."""

    palette: Palette
    counts: PixelCounts
    rows: list[dict] = field(default_factory=list)
    clip_counts: dict[str, PixelCounts] = field(default_factory=dict)

    def summary(self) -> dict:
        """pixel_f1 with pixel_f1_lo / pixel_f1_hi (95 % bootstrap over clips), ssim, lpips, mse, n_images,
        n_clips, then f1_<slug> with f1_<slug>_lo / f1_<slug>_hi per class."""
        interval = bootstrap_pixel_f1(self.clip_counts) if self.clip_counts else None
        nan = float("nan")
        out = {"pixel_f1": self.counts.mean_f1(),
               "pixel_f1_lo": interval.low if interval else nan,
               "pixel_f1_hi": interval.high if interval else nan,
               "ssim": _mean(r["ssim"] for r in self.rows),
               "lpips": _mean(r["lpips"] for r in self.rows),
               "mse": _mean(r["mse"] for r in self.rows),
               "n_images": len(self.rows),
               "n_clips": len(self.clip_counts)}
        for k, (slug, value) in enumerate(zip(self.palette.slugs, self.counts.f1_per_class())):
            out[f"f1_{slug}"] = float(value)
            out[f"f1_{slug}_lo"] = float(interval.low_per_class[k]) if interval else nan
            out[f"f1_{slug}_hi"] = float(interval.high_per_class[k]) if interval else nan
        return out


def _mean(values) -> float:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def score_pairs(generate: Callable[[torch.Tensor], torch.Tensor], dataset, palette: Palette,
                lpips: LpipsScorer | None = None, batch_size: int = 4, max_images: int = 0,
                image_dir: str | None = None, progress: bool = True) -> PairScores:
    """Run ``generate`` (A batch -> fake B batch, both in [-1, 1]) over a pair dataset and score it.

    With ``image_dir``, writes ``<stem>_real_A.png``, ``<stem>_fake_B.png`` and ``<stem>_real_B.png``.
    ``max_images`` = 0 scores every pair. Pairs are grouped by clip (:func:`util.metrics.clip_of_stem`)
    for the pixel-F1 interval.
    """
    n_images = len(dataset) if max_images <= 0 else min(max_images, len(dataset))
    scores = PairScores(palette, PixelCounts(len(palette)))
    for start in tqdm(range(0, n_images, batch_size), desc="scoring pairs", unit="batch",
                      disable=not progress or None, leave=False):
        items = [dataset[i] for i in range(start, min(start + batch_size, n_images))]
        fakes = generate(torch.stack([item["A"] for item in items]))
        for item, fake in zip(items, fakes):
            scores.rows.append(_score_one(item, fake, palette, lpips, scores, image_dir))
    return scores


def _score_one(item: dict, fake: torch.Tensor, palette: Palette, lpips: LpipsScorer | None,
               scores: PairScores, image_dir: str | None) -> dict:
    fake_rgb, real_rgb = to_uint8_rgb(fake), to_uint8_rgb(item["B"])
    pred, true = palette.classify(fake_rgb), palette.label_map(real_rgb)
    one = PixelCounts(len(palette))
    one.update(pred, true)
    stem = os.path.splitext(os.path.basename(item["path"]))[0]
    scores.counts.merge(one)
    scores.clip_counts.setdefault(clip_of_stem(stem), PixelCounts(len(palette))).merge(one)
    if image_dir:
        write_png(os.path.join(image_dir, f"{stem}_real_A.png"), to_uint8_rgb(item["A"][:1]))
        write_png(os.path.join(image_dir, f"{stem}_fake_B.png"), fake_rgb)
        write_png(os.path.join(image_dir, f"{stem}_real_B.png"), real_rgb)
    diff = (fake_rgb.astype(np.float32) - real_rgb.astype(np.float32)) / 255.0
    return {"image": stem, "pixel_f1": one.mean_f1(), "ssim": ssim_rgb(fake_rgb, real_rgb),
            "lpips": lpips.score(fake_rgb, real_rgb) if lpips is not None and lpips.available else float("nan"),
            "mse": float(np.mean(diff ** 2))}


def fit_pairs_decoding(generate: Callable[[torch.Tensor], torch.Tensor], dataset, palette: Palette,
                       batch_size: int = 4, max_images: int = FIT_MAX_IMAGES) -> dict:
    """Fit how a generator's colours are read (:func:`util.gan.calibration.fit_decoding`) on the first
    ``max_images`` pairs of ``dataset`` (job03: the val split) -> the fit, with the F1 read both ways."""
    n_images = min(max_images, len(dataset))
    fakes, truths = [], []
    for start in range(0, n_images, batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, n_images))]
        for item, fake in zip(items, generate(torch.stack([item["A"] for item in items]))):
            if fakes and fake.shape[1:] != fakes[0].shape[:2]:
                continue    # a narrower tile (a recording's last) would not stack with the others
            fakes.append(to_uint8_rgb(fake))
            truths.append(palette.label_map(to_uint8_rgb(item["B"])))
    return fit_decoding(colour_distances(np.stack(fakes), palette), np.stack(truths), palette)


def generator_function(generator: torch.nn.Module, device: str,
                       precision: str = PRECISIONS[0]) -> Callable[[torch.Tensor], torch.Tensor]:
    """A batch-in, batch-out function around a generator in eval mode, without gradients, in ``precision``."""
    check_precision(precision)

    def generate(A: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), precision_context(device, precision):
            return generator(A.to(device)).float().cpu()
    return generate


def write_scores(scores: PairScores, out_dir: str) -> dict:
    """per_image.csv and summary.csv in ``out_dir``; returns the summary."""
    os.makedirs(out_dir, exist_ok=True)
    pd.DataFrame(scores.rows).to_csv(os.path.join(out_dir, "per_image.csv"), index=False)
    summary = scores.summary()
    pd.DataFrame([summary]).to_csv(os.path.join(out_dir, "summary.csv"), index=False)
    return summary
