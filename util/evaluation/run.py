"""The paper's evaluation tables (job06): data01..data07 as DataFrames, and their xlsx files.

Inputs: the test split made by job00 (``ROOT/input_img/test_{species,community}_samples`` A|B pairs, whose B
is the exact truth, and ``ROOT/input_wav/test/<id>/`` with the mixture and every source's own audio), the
training split (for thresholds, the CNN classifiers and the NMF bases), the trained generators and their
training logs (``<checkpoints_dir>/<name>/metrics.csv``).

The module has three layers:

- **loading and computing** (:func:`load_tiles`, :func:`generate_class_maps`, :func:`denoising_records`,
  :func:`separation_records`, ...): files and networks in, arrays and per-tile records out;
- **tables** (:func:`ssim_lpips_table` ... :func:`pixel_f1_table`): pure functions from arrays or records to
  one DataFrame each, with the columns the paper's tables have;
- **writing** (:func:`write_workbook`): one xlsx per table, the table first and an ``about`` sheet last
  (data, models, the metric's domain, software version), written under a temporary name and renamed.

:func:`run_evaluation` does all of it for job06.

Domains (DESIGN section 4) and our own definitions, each stated again in the tables' ``about`` sheets:

- **Class maps**: a generated image's pixel belongs to the nearest palette colour (black included),
  :meth:`util.labels.palette.Palette.classify`; the true map is the pair's B. Only valid (non-padding) frames count.
- **Presence** of a class in a tile (which tiles count for data04/data05, the truth of data06): at least
  ``min_true_pixels`` (default 20) pixels of that class in the true class map.
- **Spectrogram MSE** (data04) on the dB image scaled to [0, 1] with the tile's ``db_floor``/``db_ceil``
  (:func:`util.metrics.spectrogram_mse`), over the tile's valid frames; a species' figure is the mean over
  the test tiles where it is present. Clean = the dB image of the species' own part audio (same STFT);
  GAN = the mixture's dB image under the GAN species mask, the floor elsewhere; no denoise = the mixture's
  dB image; the baselines' = the dB image of their denoised audio. A reference column, the floor
  everywhere ("empty mask"), shows what finding nothing scores: a call fills a small part of a tile, so
  that is already low, and a method is useful only below it.
- **Separation** (data05) on the waveform: true source = the sum of that community's part WAVs over the
  tile's span (first to last frame centre); GAN = the mixture's STFT under the GAN community mask, inverted
  with the mixture's phase (:func:`util.labels.separation.masked_audio`); NMF = the same with NMF's soft mask.
  MSE in (full scale)², SI-SDR and its improvement over the unprocessed mixture in dB; means over tiles
  where the community is present. A reference column, "silence", is the MSE of an all-zero estimate.
- **Frequency profile** (data02): mean level (dB re full scale, from the 8-bit tile, as job04 does) of the
  cells a source occupies, per frequency row, over all test tiles; GAN with the generated class maps,
  truth with the true ones, so the two differ only by the masks.
- **Occupancy** (data03) in percent: time = frames in which the class has at least ``occupancy_min_pixels``
  pixels, acoustic space = cells it occupies, over all test tiles (:mod:`util.quantify`).
"""

from __future__ import annotations

import csv
import json
import os
import platform
import sys
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from util import __version__
from util.signal.audio import read_audio, stft
from util.evaluation.baselines import NMFSeparator, spectral_gating, spectral_subtraction, wiener_filter
from util.evaluation.classifiers import ARCHITECTURES, CNNConfig, find_weights, fit_and_predict, pixel_areas, prepare_images
from util.gan.dataset import list_pairs
from util.gan.images import to_tensor, to_uint8_rgb
from util.errors import UserError
from util.metrics import PixelCounts, audio_mse, si_sdr, si_sdr_improvement, spectrogram_mse
from util.labels.palette import Palette, load_palette
from util.labels.pairs import read_pair
from util.labels.quantify import FrequencyProfileAccumulator, OccupancyAccumulator
from util.labels.separation import masked_audio, tile_spectrum
from util.signal.spectrogram import SpecParams, pixels_to_db, row_freq_hz, spectrum_to_image_db
from util.synth.soundscape import read_dataset_record

LEVELS = ("species", "community")
TABLE_FILES = OrderedDict([
    ("ssim_lpips", "data01_ssim_lpips.xlsx"),
    ("frequency", "data02_frequency_quantification.xlsx"),
    ("occupancy", "data03_time_acoustic_space_quantification.xlsx"),
    ("denoising", "data04_denoising.xlsx"),
    ("separation", "data05_source_separation.xlsx"),
    ("classification", "data06_classification.xlsx"),
    ("pixel_f1", "data07_pixel_f1.xlsx"),
])
ABOUT_SHEET = "about"
METRICS_LOG = "metrics.csv"
TRAIN_OPT_FILE = "train_opt.json"

GAN = "GAN"
NO_DENOISE = "no denoise"
SPECTRAL_SUBTRACTION = "spectral subtraction"
WIENER = "Wiener filtering"
SPECTRAL_GATING = "spectral gating"
DENOISERS = (GAN, SPECTRAL_SUBTRACTION, WIENER, NO_DENOISE, SPECTRAL_GATING)   # data04's column order
EMPTY_MASK = "empty mask (reference)"   # the floor everywhere: what a method that finds nothing scores
NMF = "NMF"
SEPARATORS = (GAN, NMF)
SILENCE = "silence (reference)"         # an all-zero estimate: its waveform MSE is the true source's power
MEAN_ROW = "mean"

DEFAULT_MIN_TRUE_PIXELS = 20
BIRD = "bird"


# --------------------------------------------------------------------------- test and training tiles

@dataclass
class Tile:
    """One A|B pair: its grey spectrogram A, the true class map at each level present, and its metadata."""

    stem: str
    spec_pixels: np.ndarray                       # uint8 (rows, tile_frames)
    meta: dict
    true_maps: dict[str, np.ndarray] = field(default_factory=dict)   # level -> uint8 class map

    @property
    def n_valid(self) -> int:
        return int(self.meta.get("n_valid_frames", self.spec_pixels.shape[1]))

    @property
    def params(self) -> SpecParams:
        return SpecParams.from_metadata(self.meta)

    @property
    def source(self) -> str:
        return self.meta.get("source", "")

    def image_db(self) -> np.ndarray:
        """Calibrated dB (re full scale) of A, as read back from its 8 bits."""
        meta = self.meta
        return pixels_to_db(self.spec_pixels, meta["db_floor"], meta["db_ceil"]) - meta.get("db_offset", 0.0)


def pair_folder(root: str, split: str, level: str) -> str:
    """ROOT/input_img/<split>_<level>_samples"""
    return os.path.join(root, "input_img", f"{split}_{level}_samples")


def load_tiles(root: str, split: str, palettes: dict[str, Palette], levels=LEVELS, max_tiles: int = 0) -> list[Tile]:
    """Every pair of ``split`` at the first level, with the same-named pair's truth at each other level.

    A pair without metadata, or missing at one level, is a UserError naming the file.
    ``max_tiles`` > 0 keeps the first that many (by name).
    """
    first, *others = levels
    folder = pair_folder(root, split, first)
    if not os.path.isdir(folder):
        raise UserError(f"{folder}: no such folder; job06 needs job00's {split} split under --root "
                        f"(input_img/{split}_<level>_samples and input_wav/{split}/)")
    paths = list_pairs(folder)
    if max_tiles > 0:
        paths = paths[:max_tiles]
    tiles = []
    for path in tqdm(paths, desc=f"reading {split} pairs", unit="pair", disable=None, leave=False):
        spec_pixels, label_rgb, meta = read_pair(path)
        if meta is None:
            raise UserError(f"{path}: no spectrogram metadata; make pairs with job00 or job02")
        stem = os.path.splitext(os.path.basename(path))[0]
        tile = Tile(stem, spec_pixels, meta, {first: palettes[first].decode(label_rgb, path)})
        for level in others:
            other = os.path.join(pair_folder(root, split, level), os.path.basename(path))
            if not os.path.exists(other):
                raise UserError(f"{other}: missing; every {split} pair needs its {level}-level twin (made by job00)")
            tile.true_maps[level] = palettes[level].decode(read_pair(other)[1], other)
        tiles.append(tile)
    return tiles


def valid_maps(maps: list[np.ndarray], tiles: list[Tile]) -> list[np.ndarray]:
    """Each class map cut to its tile's valid frames."""
    return [m[:, :t.n_valid] for m, t in zip(maps, tiles)]


# --------------------------------------------------------------------------- the clips' audio (synthetic data)

@dataclass
class ClipAudio:
    """A job00 clip: the mixture, each labelled source's own audio and the background, at the working rate."""

    folder: str
    sr: int
    mixture: np.ndarray
    parts: dict[str, np.ndarray]
    background: np.ndarray | None


def clip_folder(root: str, tile: Tile) -> str:
    """The folder of the tile's source recording (``meta['source']`` is relative to ROOT)."""
    if not tile.source:
        raise UserError(f"pair {tile.stem}: its metadata names no source recording")
    source = tile.source if os.path.isabs(tile.source) else os.path.join(root, tile.source)
    return os.path.dirname(source)


def read_event_slugs(folder: str) -> list[str]:
    """Slugs of the sources listed in a job00 clip's events.csv."""
    path = os.path.join(folder, "events.csv")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return [row["slug"] for row in csv.DictReader(handle)]
    except FileNotFoundError:
        raise UserError(f"{path}: missing; denoising and separation need each source's own audio, "
                        f"as job00 writes it (input_wav/<split>/<id>/<slug>.wav and events.csv)") from None


def load_clip(folder: str, sr: int, with_background: bool = False) -> ClipAudio:
    """Read a job00 clip folder: mixture.wav, <slug>.wav for every event, background.wav if asked."""
    mixture, _ = read_audio(os.path.join(folder, "mixture.wav"), sr)
    parts = {slug: read_audio(os.path.join(folder, f"{slug}.wav"), sr)[0] for slug in read_event_slugs(folder)}
    background = read_audio(os.path.join(folder, "background.wav"), sr)[0] if with_background else None
    return ClipAudio(folder, sr, mixture, parts, background)


def group_by_clip(root: str, tiles: list[Tile]) -> OrderedDict[str, list[int]]:
    """Clip folder -> indices of its tiles, in order of first appearance."""
    groups: OrderedDict[str, list[int]] = OrderedDict()
    for i, tile in enumerate(tiles):
        groups.setdefault(clip_folder(root, tile), []).append(i)
    return groups


def community_audio(clip: ClipAudio, community: str, species: Palette) -> np.ndarray:
    """Sum of the clip's parts that belong to ``community`` (bird = every species part)."""
    total = np.zeros(len(clip.mixture), np.float64)
    for slug, audio in clip.parts.items():
        if _community_of(slug, species) == community:
            total[: len(audio)] += audio[: len(total)]
    return total


def _community_of(slug: str, species: Palette) -> str:
    k = species.index(slug)
    return (species.classes[k - 1].community or BIRD) if k else slug


# --------------------------------------------------------------------------- the generators

@dataclass
class LoadedGenerator:
    """A generator in eval mode, with the file and the architecture it was read from."""

    net: torch.nn.Module
    config: dict
    path: str
    train_options: dict | None


def load_eval_generator(path: str, run_folder: str | None, device: str) -> LoadedGenerator:
    """Load a generator (:func:`util.gan.networks.load_generator`) in eval mode; its run's train_opt.json if any."""
    from util.gan.networks import load_generator

    if not os.path.exists(path):
        raise UserError(f"{path}: no such generator; train one with job03_train.py, or name the file with "
                        f"--species_weights / --community_weights")
    net, config = load_generator(path, device)
    net.eval()
    options = None
    if run_folder and os.path.exists(os.path.join(run_folder, TRAIN_OPT_FILE)):
        with open(os.path.join(run_folder, TRAIN_OPT_FILE), encoding="utf-8") as handle:
            options = json.load(handle)
    return LoadedGenerator(net, config, path, options)


def translate(generator: LoadedGenerator, spec_pixels: list[np.ndarray], device: str, batch_size: int = 8,
              desc: str = "generating", progress: bool = True):
    """Yield the generated RGB image (uint8 (H, W, 3)) of each grey tile, in order.

    A tile goes in as pix2pix feeds it, ``x / 127.5 - 1`` (grey repeated to 3 channels when the
    generator takes 3); the output is rounded to uint8 as :func:`util.gan.scoring.to_uint8_rgb` does.
    """
    input_nc = generator.config["input_nc"]
    bar = tqdm(total=len(spec_pixels), desc=desc, unit="tile", disable=not progress or None, leave=False)
    for start in range(0, len(spec_pixels), batch_size):
        batch = torch.stack([to_tensor(p) for p in spec_pixels[start:start + batch_size]])
        if input_nc == 3:
            batch = batch.expand(-1, 3, -1, -1)
        with torch.inference_mode():
            fakes = generator.net(batch.to(device)).float().cpu()
        for fake in fakes:
            yield to_uint8_rgb(fake)
        bar.update(len(fakes))
    bar.close()


def generate_class_maps(generator: LoadedGenerator, spec_pixels: list[np.ndarray], palette: Palette, device: str,
                        batch_size: int = 8, desc: str = "generating", progress: bool = True) -> list[np.ndarray]:
    """Generated class map (uint8, nearest palette colour) of each grey tile."""
    return [palette.classify(rgb) for rgb in translate(generator, spec_pixels, device, batch_size, desc, progress)]


# --------------------------------------------------------------------------- data01: SSIM and LPIPS per epoch

def read_metrics_log(path: str) -> pd.DataFrame | None:
    """A run's metrics.csv (epoch, ssim, lpips, pixel_f1, f1_<slug>...), or None if there is none."""
    if not os.path.exists(path):
        return None
    log = pd.read_csv(path)
    missing = {"epoch", "ssim", "lpips"} - set(log.columns)
    if missing:
        raise UserError(f"{path}: not a training log of job03 (no {', '.join(sorted(missing))} column)")
    return log


def ssim_lpips_table(logs: dict[str, pd.DataFrame | None]) -> pd.DataFrame:
    """data01: ``epoch``, ``community ssim``, ``community lpips``, ``species ssim``, ``species lpips``.

    ``logs``: {'species': metrics.csv, 'community': metrics.csv} (None where a level has no log: its
    columns are empty). Epochs are the union of both logs; a resumed run's repeated epoch keeps its last row.
    """
    table = pd.DataFrame({"epoch": pd.Series(dtype="int64")})
    for level in ("community", "species"):
        log = logs.get(level)
        part = pd.DataFrame(columns=["epoch", f"{level} ssim", f"{level} lpips"])
        if log is not None and len(log):
            last = log.drop_duplicates("epoch", keep="last")
            part = pd.DataFrame({"epoch": last["epoch"].astype("int64"),
                                 f"{level} ssim": last["ssim"].astype(float),
                                 f"{level} lpips": last["lpips"].astype(float)})
        table = table.merge(part.astype({"epoch": "int64"}), on="epoch", how="outer")
    return table.sort_values("epoch").reset_index(drop=True)[
        ["epoch", "community ssim", "community lpips", "species ssim", "species lpips"]]


# --------------------------------------------------------------------------- data02: frequency profiles

def class_labels(palette: Palette, level: str) -> list[str]:
    """Column / row labels of a level's classes: 'Common Name (Scientific name)' for species, the name otherwise."""
    return [c.display_name if level == "species" else c.name for c in palette.classes]


def frequency_profile_table(db_images: list[np.ndarray], maps: dict[str, list[np.ndarray]],
                            palettes: dict[str, Palette], sr: int, n_fft: int) -> pd.DataFrame:
    """data02 (one sheet): ``frequency(Hz)``, one column per species, then ``bird``, ``insect``, ``human``.

    Each column is the mean level in dB (re full scale) of the cells the class occupies in that
    frequency row, over every tile (:class:`util.labels.quantify.FrequencyProfileAccumulator`); empty where the
    class never occupies the row. ``db_images`` and each level's ``maps`` are per tile, cut to valid frames.
    """
    n_rows = db_images[0].shape[0] if db_images else n_fft // 2
    columns = {"frequency(Hz)": row_freq_hz(n_rows, sr, n_fft)[::-1]}
    for level in LEVELS:
        palette = palettes[level]
        accumulator = FrequencyProfileAccumulator(n_rows, len(palette))
        for db, class_map in zip(db_images, maps[level]):
            accumulator.update(db, class_map)
        for k, label in enumerate(class_labels(palette, level), start=1):
            columns[label] = accumulator.profile(k, sr, n_fft).mean_db
    return pd.DataFrame(columns)


# --------------------------------------------------------------------------- data03: occupancy

def occupancy_table(gan_maps: dict[str, list[np.ndarray]], true_maps: dict[str, list[np.ndarray]],
                    palettes: dict[str, Palette], min_pixels: int = 1) -> pd.DataFrame:
    """data03: ``community/species``, ``time percentage``, ``acoustic space percentage`` (GAN), then
    ``true time percentage``, ``true acoustic space percentage``; species rows, then the communities.

    Percent of all frames (time) and of all time–frequency cells (acoustic space) of the tiles
    (maps cut to valid frames); a class is present in a frame with at least ``min_pixels`` pixels.
    """
    rows = []
    for level in LEVELS:
        gan = _occupancy(gan_maps[level], len(palettes[level]), min_pixels)
        true = _occupancy(true_maps[level], len(palettes[level]), min_pixels)
        for k, label in enumerate(class_labels(palettes[level], level)):
            rows.append({"community/species": label,
                         "time percentage": 100.0 * gan.time_occupancy()[k],
                         "acoustic space percentage": 100.0 * gan.acoustic_space_occupancy()[k],
                         "true time percentage": 100.0 * true.time_occupancy()[k],
                         "true acoustic space percentage": 100.0 * true.acoustic_space_occupancy()[k]})
    return pd.DataFrame(rows)


def _occupancy(maps: list[np.ndarray], n_classes: int, min_pixels: int) -> OccupancyAccumulator:
    accumulator = OccupancyAccumulator(n_classes, min_pixels)
    for class_map in maps:
        accumulator.update(class_map)
    return accumulator


# --------------------------------------------------------------------------- data04: denoising

@dataclass(frozen=True)
class GatingSettings:
    """How job06 runs spectral gating (noisereduce); see :func:`gating_settings` for why."""

    stationary: bool = True
    n_std_thresh_stationary: float = 2.0
    freq_mask_smooth_hz: float = 500.0
    time_mask_smooth_ms: float = 50.0

    def kwargs(self) -> dict:
        return asdict(self)


GATING_CHOICE = (
    "chosen on the training split (species-present tiles of 40 clips of a 160-clip job00 set, seed 1; the same "
    "MSE as this table) from a small grid: stationary or not, frequency smoothing 86 or 500 Hz, thresholds "
    "1.5-3 std (stationary) or 2-3x (non-stationary), time constants 0.25-2 s. noisereduce's defaults "
    "(non-stationary, 2 s, 500 Hz) scored 0.019, this choice 0.0050, the grid's best 0.0047 (500 Hz "
    "smoothing); we keep the smallest frequency smoothing because noisereduce's docstring warns that 500 Hz "
    "averages a tonal call's mask with its silent neighbours. The noise statistics come from the mixture "
    "itself (no noise clip: blind, as for PAM data); the docstring's warning applies: a call sounding through "
    "much of the clip raises its own threshold.")


def gating_settings(params: SpecParams) -> GatingSettings:
    """Our choice for spectral gating (:data:`GATING_CHOICE` says how it was made): stationary gating at
    2 standard deviations above the mixture's own per-frequency level, frequency smoothing at
    noisereduce's minimum, 2 * sr / n_fft (86 Hz at our defaults: no smoothing across bins, so a
    whistle one or two bins wide keeps its mask), 50 ms time smoothing (noisereduce's default)."""
    return GatingSettings(stationary=True, n_std_thresh_stationary=2.0,
                          freq_mask_smooth_hz=float(np.ceil(2 * params.sr / params.n_fft)), time_mask_smooth_ms=50.0)


def image_db(spectrum: np.ndarray, meta: dict) -> np.ndarray:
    """Complex STFT frames -> the dB image of a tile (rows, frames) on the tile's scale (db_offset added)."""
    return spectrum_to_image_db(spectrum, SpecParams.from_metadata(meta)) + meta.get("db_offset", 0.0)


def denoising_scores(clean_db: np.ndarray, mixture_db: np.ndarray, gan_mask: np.ndarray,
                     baseline_db: dict[str, np.ndarray], db_floor: float, db_ceil: float) -> dict[str, float]:
    """Spectrogram MSE on [0, 1] of each method against the clean source's dB image, for one tile.

    GAN: ``mixture_db`` where ``gan_mask`` is true, ``db_floor`` elsewhere; ``no denoise``: ``mixture_db``;
    each ``baseline_db`` entry as given; the empty-mask reference: ``db_floor`` everywhere (a source
    fills a small part of a tile, so finding nothing already scores well: read the methods against it).
    All arrays (rows, frames) in dB re full scale.
    """
    scores = {GAN: np.where(gan_mask, mixture_db, db_floor), NO_DENOISE: mixture_db, **baseline_db,
              EMPTY_MASK: np.full(mixture_db.shape, db_floor, np.float32)}
    return {method: spectrogram_mse(image, clean_db, db_floor, db_ceil) for method, image in scores.items()}


def denoise_clip(clip: ClipAudio, params: SpecParams, gating: GatingSettings) -> dict[str, np.ndarray]:
    """Each baseline's denoised version of the whole mixture, as a complex STFT (bins, frames).

    Spectral subtraction and the STFT Wiener filter estimate the noise blindly from the mixture's
    quietest 10 % of frames (their defaults), as a user without a noise clip would.
    """
    y, sr = clip.mixture, clip.sr
    stft_args = dict(n_fft=params.n_fft, hop_length=params.hop_length, window=params.window)
    audio = {SPECTRAL_SUBTRACTION: spectral_subtraction(y, sr, **stft_args),
             WIENER: wiener_filter(y, sr, **stft_args),
             SPECTRAL_GATING: spectral_gating(y, sr, n_fft=params.n_fft, hop_length=params.hop_length,
                                              **gating.kwargs())}
    return {method: stft(out, **stft_args) for method, out in audio.items()}


def denoising_records(root: str, tiles: list[Tile], gan_maps: list[np.ndarray], species: Palette,
                      min_true_pixels: int, gating: GatingSettings | None = None,
                      progress: bool = True) -> list[dict]:
    """Per (tile, species present in truth, method): the spectrogram MSE. Records: tile, species, method, mse."""
    records = []
    groups = group_by_clip(root, tiles)
    for folder, indices in tqdm(groups.items(), desc="denoising", unit="clip", disable=not progress or None):
        params = tiles[indices[0]].params
        clip = load_clip(folder, params.sr)
        full = stft(clip.mixture, params.n_fft, params.hop_length, params.window)
        baselines = denoise_clip(clip, params, gating or gating_settings(params))
        for i in indices:
            records += _denoise_tile(tiles[i], gan_maps[i], clip, full, baselines, species, min_true_pixels)
    return records


def _denoise_tile(tile: Tile, gan_map: np.ndarray, clip: ClipAudio, full: np.ndarray,
                  baselines: dict[str, np.ndarray], species: Palette, min_true_pixels: int) -> list[dict]:
    params, meta = tile.params, tile.meta
    frames = slice(meta["start_frame"], meta["start_frame"] + tile.n_valid)
    mixture_db = image_db(full[:, frames], meta)
    baseline_db = {method: image_db(spectrum[:, frames], meta) for method, spectrum in baselines.items()}
    true_map = tile.true_maps["species"][:, :tile.n_valid]
    records = []
    for k, slug in enumerate(species.slugs, start=1):
        if (true_map == k).sum() < min_true_pixels:
            continue
        if slug not in clip.parts:
            raise UserError(f"{clip.folder}: the truth of pair {tile.stem} shows {slug} but there is no {slug}.wav")
        clean = stft(clip.parts[slug], params.n_fft, params.hop_length, params.window)[:, frames]
        scores = denoising_scores(image_db(clean, meta), mixture_db, gan_map[:, :tile.n_valid] == k, baseline_db,
                                  meta["db_floor"], meta["db_ceil"])
        records += [{"tile": tile.stem, "species": slug, "method": method, "mse": mse}
                    for method, mse in scores.items()]
    return records


def denoising_table(records: list[dict], species: Palette) -> pd.DataFrame:
    """data04: ``species``, ``GAN``, ``spectral subtraction``, ``Wiener filtering``, ``no denoise``,
    ``spectral gating``, ``empty mask (reference)``: mean spectrogram MSE ([0, 1] scale) over the tiles
    where the species is present. A species present in no test tile has an empty row."""
    frame = pd.DataFrame(records, columns=["tile", "species", "method", "mse"])
    means = frame.groupby(["species", "method"])["mse"].mean()
    columns = [*DENOISERS, EMPTY_MASK]
    rows = []
    for cls in species.classes:
        rows.append({"species": cls.display_name,
                     **{method: float(means.get((cls.slug, method), np.nan)) for method in columns}})
    return pd.DataFrame(rows, columns=["species", *columns])


def tiles_per_class(records: list[dict], key: str) -> dict[str, int]:
    """How many distinct tiles each class's figures are averaged over."""
    frame = pd.DataFrame(records, columns=["tile", key])
    return {str(k): int(v) for k, v in frame.groupby(key)["tile"].nunique().items()}


# --------------------------------------------------------------------------- data05: source separation

NMF_CHOICE = (
    "16 bases per source, checked on the training split (bases from 120 clips of a 160-clip job00 set, "
    "seed 1, scored on the other 40 clips as data05 scores the test split): 8, 16 or 32 bases and mask "
    "power 1 or 2 changed the SI-SDR by under 4 dB (bird -2.7..+1.3, insect -12.0..-10.5, human -3.6..-1.0 "
    "dB); insects stay hard for NMF in every setting (their broadband pulses share bases with the "
    "background), so 16 was kept for speed")


@dataclass(frozen=True)
class NMFSettings:
    """Supervised NMF as job06 runs it (see :class:`util.evaluation.baselines.NMFSeparator`; :data:`NMF_CHOICE` says why)."""

    n_components: int = 16          # basis spectra per source (bird, insect, human) and for the background
    n_iter: int = 200               # iterations when learning the bases
    n_iter_separate: int = 100      # activation updates on each test mixture
    max_frames: int = 20000         # STFT frames of training audio per source, at most (a seeded subset of clips)
    seed: int = 0


def nmf_training_audio(root: str, train_tiles: list[Tile], species: Palette, communities: Palette,
                       settings: NMFSettings) -> tuple[dict[str, list[np.ndarray]], list[np.ndarray]]:
    """Training audio per community and of the background, from the training split's part WAVs.

    bird = every species part, insect = insect.wav, human = human.wav; each part trimmed to its
    non-zero span (job00 pads a call with exact zeros); background = background.wav whole. Clips are
    taken in a seeded random order until a source has ``max_frames`` frames. A community absent from
    the training split is left out (NMF cannot separate it; its NMF cells stay empty).
    """
    groups = list(group_by_clip(root, train_tiles))
    order = np.random.default_rng(settings.seed).permutation(len(groups))
    params = train_tiles[0].params
    sources = {name: [] for name in communities.names}
    background: list[np.ndarray] = []
    frames = {name: 0 for name in [*communities.names, "background"]}
    for index in tqdm(order, desc="NMF training audio", unit="clip", disable=None, leave=False):
        if all(n >= settings.max_frames for n in frames.values()):
            break
        clip = load_clip(groups[index], params.sr, with_background=True)
        for slug, audio in clip.parts.items():
            name = _community_of(slug, species)
            if name in sources and frames[name] < settings.max_frames:
                trimmed = _trim_silence(audio)
                if len(trimmed) >= params.n_fft:
                    sources[name].append(trimmed)
                    frames[name] += 1 + len(trimmed) // params.hop_length
        if frames["background"] < settings.max_frames:
            background.append(clip.background)
            frames["background"] += 1 + len(clip.background) // params.hop_length
    if not any(sources.values()) or not background:
        raise UserError(f"{pair_folder(root, 'train', 'species')}: the training split holds no source audio to "
                        f"learn NMF bases from; make a larger split with job00")
    return {name: clips for name, clips in sources.items() if clips}, background


def _trim_silence(audio: np.ndarray) -> np.ndarray:
    nonzero = np.flatnonzero(audio)
    return audio[nonzero[0]:nonzero[-1] + 1] if nonzero.size else audio[:0]


def fit_nmf(sources: dict[str, list[np.ndarray]], background: list[np.ndarray], params: SpecParams,
            settings: NMFSettings) -> NMFSeparator:
    """Learn the bases (fixed at test time) of each community and of the background."""
    separator = NMFSeparator(settings.n_components, n_iter=settings.n_iter, n_iter_separate=settings.n_iter_separate,
                             random_state=settings.seed, n_fft=params.n_fft, hop_length=params.hop_length,
                             window=params.window)
    return separator.fit(sources, background=background)


def separation_scores(reference: np.ndarray, estimates: dict[str, np.ndarray], mixture: np.ndarray) -> list[dict]:
    """Waveform MSE, SI-SDR (dB) and SI-SDR improvement (dB) of each method's estimate of ``reference``."""
    return [{"method": method, "mse": audio_mse(estimate, reference), "si_sdr": si_sdr(estimate, reference),
             "si_sdri": si_sdr_improvement(estimate, reference, mixture)}
            for method, estimate in estimates.items()]


def separation_records(root: str, tiles: list[Tile], gan_maps: list[np.ndarray], separator: NMFSeparator,
                       palettes: dict[str, Palette], min_true_pixels: int, progress: bool = True) -> list[dict]:
    """Per (tile, community present in truth, method): MSE, SI-SDR, SI-SDR improvement.
    Records: tile, community, method, mse, si_sdr, si_sdri."""
    records = []
    communities = palettes["community"]
    for folder, indices in tqdm(group_by_clip(root, tiles).items(), desc="separation", unit="clip",
                                disable=not progress or None):
        clip = load_clip(folder, tiles[indices[0]].params.sr)
        for i in indices:
            tile = tiles[i]
            spectrum = tile_spectrum(clip.mixture, tile.meta)
            nmf_masks = separator.masks(spectrum)
            true_map = tile.true_maps["community"][:, :tile.n_valid]
            for k, name in enumerate(communities.names, start=1):
                if (true_map == k).sum() < min_true_pixels:
                    continue
                estimates = {GAN: masked_audio(spectrum, gan_maps[i][:, :tile.n_valid] == k, tile.meta)}
                if name in nmf_masks:
                    estimates[NMF] = masked_audio(spectrum, _bins_to_image(nmf_masks[name], tile.params), tile.meta)
                reference, mixture = _tile_segment(community_audio(clip, name, palettes["species"]),
                                                   clip.mixture, tile)
                estimates = {m: e[: len(reference)] for m, e in estimates.items()}
                estimates[SILENCE] = np.zeros(len(reference))
                records += [{"tile": tile.stem, "community": name, **score}
                            for score in separation_scores(reference, estimates, mixture)]
    return records


def _bins_to_image(mask: np.ndarray, params: SpecParams) -> np.ndarray:
    """A mask indexed by STFT bin (bins, frames) -> image rows (low frequency at the bottom), Nyquist dropped."""
    return np.asarray(mask)[: params.n_rows][::-1]


def _tile_segment(source: np.ndarray, mixture: np.ndarray, tile: Tile) -> tuple[np.ndarray, np.ndarray]:
    """The samples a tile's masked audio is scored on: from its first frame's centre to its last frame's,
    within the clip. The masked audio's last hop, after the last centre, is left out: only one window's
    tail covers it, and the overlap-add divides by that window's square (down to ~1e-5), which turns a
    mask's edges into loud artefacts there."""
    hop = tile.params.hop_length
    start = tile.meta["start_frame"] * hop
    stop = min(start + (tile.n_valid - 1) * hop, len(mixture))
    return np.asarray(source[start:stop], np.float64), np.asarray(mixture[start:stop], np.float64)


def separation_table(records: list[dict], communities: Palette) -> pd.DataFrame:
    """data05: ``community``, ``GAN``, ``NMF`` (mean waveform MSE), then ``GAN SI-SDR (dB)``, ``NMF SI-SDR (dB)``,
    ``GAN SI-SDR improvement (dB)``, ``NMF SI-SDR improvement (dB)``, and the MSE of ``silence (reference)``
    (an all-zero estimate, i.e. the true source's power: a method that removes everything scores this);
    means over tiles where the community is present (NaN SI-SDRs, from silent estimates, left out)."""
    frame = pd.DataFrame(records, columns=["tile", "community", "method", "mse", "si_sdr", "si_sdri"])
    means = frame.groupby(["community", "method"])[["mse", "si_sdr", "si_sdri"]].mean()
    rows = []
    for name in communities.names:
        row = {"community": name}
        for metric, suffix in (("mse", ""), ("si_sdr", " SI-SDR (dB)"), ("si_sdri", " SI-SDR improvement (dB)")):
            for method in SEPARATORS:
                row[f"{method}{suffix}"] = float(means[metric].get((name, method), np.nan))
        row[SILENCE] = float(means["mse"].get((name, SILENCE), np.nan))
        rows.append(row)
    return pd.DataFrame(rows, columns=separation_columns())


def separation_columns() -> list[str]:
    return ["community", GAN, NMF, f"{GAN} SI-SDR (dB)", f"{NMF} SI-SDR (dB)",
            f"{GAN} SI-SDR improvement (dB)", f"{NMF} SI-SDR improvement (dB)", SILENCE]


# --------------------------------------------------------------------------- data06: classification

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


# --------------------------------------------------------------------------- data07: pixel F1

def pixel_counts(gan_maps: list[np.ndarray], true_maps: list[np.ndarray], n_classes: int) -> PixelCounts:
    """TP / FP / FN per class summed over the tiles (maps cut to valid frames)."""
    counts = PixelCounts(n_classes)
    for pred, true in zip(gan_maps, true_maps):
        counts.update(pred, true)
    return counts


def pixel_f1_table(counts: dict[str, PixelCounts], palettes: dict[str, Palette]) -> pd.DataFrame:
    """data07: ``level``, ``class``, ``pixel F1``, ``precision``, ``recall``, ``true pixels``, ``predicted pixels``;
    per class and a ``mean`` row per level (mean over the classes that occur, background not a class)."""
    rows = []
    for level in LEVELS:
        if level not in counts:
            continue
        c = counts[level]
        f1, precision, recall = c.f1_per_class(), c.precision_per_class(), c.recall_per_class()
        true_px, pred_px = c.tp + c.fn, c.tp + c.fp
        for k, label in enumerate(class_labels(palettes[level], level)):
            rows.append({"level": level, "class": label, "pixel F1": f1[k], "precision": precision[k],
                         "recall": recall[k], "true pixels": int(true_px[k]), "predicted pixels": int(pred_px[k])})
        rows.append({"level": level, "class": MEAN_ROW, "pixel F1": c.mean_f1(), "precision": c.mean_precision(),
                     "recall": c.mean_recall(), "true pixels": int(true_px.sum()),
                     "predicted pixels": int(pred_px.sum())})
    return pd.DataFrame(rows, columns=["level", "class", "pixel F1", "precision", "recall", "true pixels",
                                       "predicted pixels"])


# --------------------------------------------------------------------------- writing

def about_frame(items: dict) -> pd.DataFrame:
    """An ``about`` sheet: two columns, ``item`` and ``value`` (dicts and lists as JSON)."""
    def text(value):
        if isinstance(value, (dict, list, tuple)):
            return json.dumps(value, default=str, ensure_ascii=False)
        return "" if value is None else value
    return pd.DataFrame({"item": list(items), "value": [text(v) for v in items.values()]})


def write_workbook(path: str, sheets: dict[str, pd.DataFrame], about: dict) -> str:
    """Write the sheets (in order) and a last ``about`` sheet to ``path``, atomically; returns ``path``."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.part{os.getpid()}.xlsx")
    try:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                frame.to_excel(writer, sheet_name=name, index=False)
            about_frame(about).to_excel(writer, sheet_name=ABOUT_SHEET, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def read_workbook(path: str) -> dict[str, pd.DataFrame]:
    """Every sheet of a table written by :func:`write_workbook`, by name."""
    return pd.read_excel(path, sheet_name=None, engine="openpyxl")


def software_versions() -> dict:
    """util's version and those of the libraries the figures depend on."""
    import sklearn
    import torchvision
    return {"util": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "numpy": np.__version__, "pandas": pd.__version__,
            "scikit-learn": sklearn.__version__}


# --------------------------------------------------------------------------- the whole evaluation (job06)

@dataclass
class EvaluationOptions:
    """Everything job06 can set; field names are its flags."""

    root: str = "."
    checkpoints_dir: str = "out_gan_mdl"
    species_weights: str | None = None            # default <checkpoints_dir>/species_net_G.pth
    community_weights: str | None = None          # default <checkpoints_dir>/community_net_G.pth
    species_name: str = "species"                 # run folders under checkpoints_dir (metrics.csv, train_opt.json)
    community_name: str = "community"
    out: str = "data"
    device: str = "cpu"
    batch_size: int = 8
    seed: int = 0
    data_seed: int | None = None
    max_test_tiles: int = 0
    min_true_pixels: int = DEFAULT_MIN_TRUE_PIXELS
    occupancy_min_pixels: int = 1
    gan_threshold: str = "per_species"            # per_species | overall
    cnn_models: tuple[str, ...] = ("resnet50", "vgg16")
    cnn_epochs: int = 10
    cnn_image_size: int = 128
    cnn_batch_size: int = 16
    cnn_lr: float | None = None                   # None: per network (util.evaluation.classifiers.DEFAULT_LR)
    cnn_weights: str | None = None
    nmf_components: int = 16
    nmf_iter: int = 200
    nmf_max_frames: int = 20000
    n_examples: int = 3
    overwrite: bool = False
    progress: bool = True
    command: str = ""

    def weights(self, level: str) -> str:
        given = self.species_weights if level == "species" else self.community_weights
        return given or os.path.join(self.checkpoints_dir, f"{level}_net_G.pth")

    def run_folder(self, level: str) -> str:
        return os.path.join(self.checkpoints_dir, self.species_name if level == "species" else self.community_name)

    @property
    def figures_dir(self) -> str:
        return os.path.join(self.out, "figures")


@dataclass
class EvaluationReport:
    """What :func:`run_evaluation` wrote and the headline figures for job06's summary."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    tables: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)   # key -> sheets
    notes: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)              # (output path, one-line reason)


class Evaluation:
    """The state job06 shares between tables, each piece computed on first use."""

    def __init__(self, opt: EvaluationOptions):
        self.opt = opt
        self.palettes = {level: load_palette(level) for level in LEVELS}
        self._cache: dict = {}
        self.notes: list[str] = []
        self.counts: dict = {}

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # ---- inputs

    @property
    def test_tiles(self) -> list[Tile]:
        return self._cached("test_tiles", lambda: load_tiles(self.opt.root, "test", self.palettes,
                                                             max_tiles=self.opt.max_test_tiles))

    @property
    def train_tiles(self) -> list[Tile]:
        return self._cached("train_tiles", lambda: load_tiles(self.opt.root, "train", self.palettes, ("species",)))

    def generator(self, level: str) -> LoadedGenerator:
        given = self.opt.species_weights if level == "species" else self.opt.community_weights
        run_folder = None if given else self.opt.run_folder(level)   # a file given by name has no known run
        return self._cached(("generator", level), lambda: load_eval_generator(
            self.opt.weights(level), run_folder, self.opt.device))

    def gan_maps(self, level: str, split: str = "test") -> list[np.ndarray]:
        def make():
            tiles = self.test_tiles if split == "test" else self.train_tiles
            return generate_class_maps(self.generator(level), [t.spec_pixels for t in tiles], self.palettes[level],
                                       self.opt.device, self.opt.batch_size, f"{level} GAN on {split} tiles",
                                       self.opt.progress)
        return self._cached(("gan_maps", level, split), make)

    def valid_gan_maps(self, level: str) -> list[np.ndarray]:
        return valid_maps(self.gan_maps(level), self.test_tiles)

    def valid_true_maps(self, level: str) -> list[np.ndarray]:
        return [t.true_maps[level][:, :t.n_valid] for t in self.test_tiles]

    # ---- tables

    def ssim_lpips(self) -> dict[str, pd.DataFrame]:
        logs = {}
        for level in LEVELS:
            path = os.path.join(self.opt.run_folder(level), METRICS_LOG)
            logs[level] = read_metrics_log(path)
            if logs[level] is None:
                self.notes.append(f"data01: no training log {path}; the {level} columns are empty")
        return {"data": ssim_lpips_table(logs)}

    def frequency(self) -> dict[str, pd.DataFrame]:
        tiles = self.test_tiles
        db = [t.image_db()[:, :t.n_valid] for t in tiles]
        params = tiles[0].params
        gan = {level: self.valid_gan_maps(level) for level in LEVELS}
        true = {level: self.valid_true_maps(level) for level in LEVELS}
        return {"GAN": frequency_profile_table(db, gan, self.palettes, params.sr, params.n_fft),
                "truth": frequency_profile_table(db, true, self.palettes, params.sr, params.n_fft)}

    def occupancy(self) -> dict[str, pd.DataFrame]:
        gan = {level: self.valid_gan_maps(level) for level in LEVELS}
        true = {level: self.valid_true_maps(level) for level in LEVELS}
        return {"data": occupancy_table(gan, true, self.palettes, self.opt.occupancy_min_pixels)}

    def denoising(self) -> dict[str, pd.DataFrame]:
        records = denoising_records(self.opt.root, self.test_tiles, self.gan_maps("species"), self.palettes["species"],
                                    self.opt.min_true_pixels, self.gating, self.opt.progress)
        self.counts["denoising"] = {"test tiles per species": tiles_per_class(records, "species")}
        return {"data": denoising_table(records, self.palettes["species"])}

    @property
    def gating(self) -> GatingSettings:
        return gating_settings(self.test_tiles[0].params)

    @property
    def nmf_settings(self) -> NMFSettings:
        return NMFSettings(self.opt.nmf_components, self.opt.nmf_iter, max_frames=self.opt.nmf_max_frames,
                           seed=self.opt.seed)

    def separation(self) -> dict[str, pd.DataFrame]:
        settings = self.nmf_settings
        sources, background = nmf_training_audio(self.opt.root, self.train_tiles, self.palettes["species"],
                                                 self.palettes["community"], settings)
        counts = self.counts.setdefault("separation", {})
        counts["NMF training clips per source"] = {**{k: len(v) for k, v in sources.items()},
                                                   "background": len(background)}
        for name in self.palettes["community"].names:
            if name not in sources:
                self.notes.append(f"data05: no {name} audio in the training split; NMF has no {name} bases "
                                  f"and its {name} cells are empty")
        if self.opt.progress:
            tqdm.write("learning NMF bases from the training split ...")
        separator = fit_nmf(sources, background, self.test_tiles[0].params, settings)
        records = separation_records(self.opt.root, self.test_tiles, self.gan_maps("community"), separator,
                                     self.palettes, self.opt.min_true_pixels, self.opt.progress)
        counts["test tiles per community"] = tiles_per_class(records, "community")
        counts["silent estimates (SI-SDR undefined: left out of the SI-SDR means, kept in the MSE means)"] = {
            method: sum(1 for r in records if r["method"] == method and not np.isfinite(r["si_sdr"]))
            for method in SEPARATORS}
        return {"data": separation_table(records, self.palettes["community"])}

    def classification(self) -> dict[str, pd.DataFrame]:
        n = len(self.palettes["species"])
        min_px = self.opt.min_true_pixels
        train_truth = pixel_areas([t.true_maps["species"][:, :t.n_valid] for t in self.train_tiles], n) >= min_px
        test_truth = pixel_areas(self.valid_true_maps("species"), n) >= min_px
        train_areas = pixel_areas(valid_maps(self.gan_maps("species", "train"), self.train_tiles), n)
        test_areas = pixel_areas(self.valid_gan_maps("species"), n)
        thresholds = choose_area_thresholds(train_areas, train_truth, self.opt.gan_threshold == "per_species", min_px)
        slugs = self.palettes["species"].slugs
        self.counts["classification"] = {
            "training tiles": len(self.train_tiles), "test tiles": len(self.test_tiles),
            "GAN area thresholds (pixels, present when above)": dict(zip(slugs, np.round(thresholds, 1).tolist())),
            "training tiles with the species present": dict(zip(slugs, train_truth.sum(axis=0).tolist())),
            "test tiles with the species present": dict(zip(slugs, test_truth.sum(axis=0).tolist()))}
        predictions = {GAN: test_areas > thresholds, **self.cnn_predictions(train_truth)}
        return {"data": classification_table(test_truth, predictions, self.palettes["species"])}

    def cnn_predictions(self, train_truth: np.ndarray) -> dict[str, np.ndarray | None]:
        out: dict[str, np.ndarray | None] = {name: None for name in ARCHITECTURES.values()}
        archs = [a for a in self.opt.cnn_models if a in ARCHITECTURES]
        if not archs:
            self.notes.append("data06: CNN classifiers not run (--cnn_models none); their columns are empty")
            return out
        weights, message = find_weights(archs, self.opt.cnn_weights)
        if message:
            print(message, file=sys.stderr)
            self.notes.append(message)
        size = self.opt.cnn_image_size or None
        train_images = prepare_images(np.stack([t.spec_pixels for t in self.train_tiles]), size)
        test_images = prepare_images(np.stack([t.spec_pixels for t in self.test_tiles]), size)
        opt = self.opt
        config = CNNConfig(opt.cnn_epochs, opt.cnn_batch_size, opt.cnn_lr, opt.seed, opt.device)
        self.counts["classification"]["CNN training"] = {}
        for arch in archs:
            result = fit_and_predict(arch, train_images, train_truth, test_images, config, weights[arch],
                                     self.opt.progress)
            out[result.name] = result.present
            self.counts["classification"]["CNN training"][result.name] = {
                "start": result.weights_path or "random initialisation (weights=None)",
                "epochs": config.epochs, "batch size": config.batch_size, "Adam lr": config.lr_for(arch),
                "input": f"1 x {size or 'full'} x {size or 'full'}", "parameters": result.n_parameters,
                "loss per epoch": [round(v, 4) for v in result.log.epoch_losses],
                "training seconds": round(result.log.seconds, 1)}
        return out

    def pixel_f1(self) -> dict[str, pd.DataFrame]:
        counts = {level: pixel_counts(self.valid_gan_maps(level), self.valid_true_maps(level),
                                      len(self.palettes[level])) for level in LEVELS}
        return {"data": pixel_f1_table(counts, self.palettes)}

    # ---- the about sheets

    def data_description(self) -> dict:
        root = os.path.abspath(self.opt.root)
        tiles = self.test_tiles
        n_clips = len({t.source for t in tiles})
        record = read_dataset_record(self.opt.root) or {}
        seed = self.opt.data_seed if self.opt.data_seed is not None else \
            record.get("seed", "unknown (no input_wav/dataset.json from job00; pass --data_seed)")
        return {"data": "synthetic soundscapes made by job00_synth_data.py: models of the eight species' calls, "
                        "insects and human sounds over field-like noise, with exact truth (not the paper's "
                        "recordings; compare methods on the same data, not absolute values with the paper)",
                "data root": root, "data seed": seed,
                "test split": f"{len(tiles)} tiles of {n_clips} clips in {pair_folder(root, 'test', 'species')}"
                              + (f" (first {self.opt.max_test_tiles} only, --max_test_tiles)"
                                 if self.opt.max_test_tiles else ""),
                "spectrogram": {k: tiles[0].meta.get(k) for k in ("sr", "n_fft", "hop_length", "window",
                                                                  "db_floor", "db_ceil", "tile_frames")}}

    def model_description(self, levels=LEVELS) -> dict:
        items = {}
        for level in levels:
            g = self.generator(level)
            options = {k: g.train_options.get(k) for k in ("preset", "netG", "ngf", "ndf", "norm", "n_epochs",
                                                            "n_epochs_decay", "batch_size", "seed", "dataroot",
                                                            "lambda_L1", "lr")} if g.train_options else \
                "unknown (weights given by name, or no train_opt.json in the run folder)"
            items[f"{level} model"] = {"path": os.path.abspath(g.path), "architecture": g.config,
                                       "training options": options}
        items["mask rule"] = ("a generated pixel belongs to the nearest palette colour, black (background) included "
                              "(Palette.classify); generator in eval mode (batch-norm running statistics, no dropout)")
        return items

    def common_about(self) -> dict:
        return {"software": software_versions(), "made": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "command": self.opt.command}


# --------------------------------------------------------------------------- what each table is

TABLE_ABOUT = {
    "ssim_lpips": {
        "table": "data01: SSIM and LPIPS per training epoch, species and community models",
        "metric domain": "SSIM (scikit-image, data_range 255, RGB channels averaged; higher is better) and LPIPS "
                         "(lpips v0.1, AlexNet; lower is better) between the generated and the true label image "
                         "(RGB uint8), mean over the test pairs job03 scored after each epoch (its metrics.csv). "
                         "An empty LPIPS cell: the AlexNet weights were not available during training."},
    "frequency": {
        "table": "data02: frequency distribution of each source: sheet GAN (isolated with the generated masks), "
                 "sheet truth (isolated with the true masks)",
        "metric domain": "mean level in dB re full scale, per frequency row (Hz, bin centre), of the mixture's cells "
                         "that the class occupies, over all test tiles (util.labels.quantify.FrequencyProfileAccumulator); "
                         "levels read from the 8-bit tile (within half a grey step); empty where the class never "
                         "occupies the row. Species columns from the species model, bird/insect/human from the "
                         "community model. GAN and truth use the same levels and differ only by the masks."},
    "occupancy": {
        "table": "data03: time and acoustic-space occupancy of each species and community, GAN and truth",
        "metric domain": "percent of all valid frames of the test tiles in which the class has at least "
                         "'occupancy min pixels' pixels (time), and percent of all time-frequency cells it occupies "
                         "(acoustic space): scikit-maad's ACTtFraction / ACTspFract per source, from class maps. "
                         "GAN from the generated maps, truth (true ...) from the pairs' B."},
    "denoising": {
        "table": "data04: denoising, per species: MSE between each method's spectrogram and the clean species "
                 "spectrogram (lower is better)",
        "metric domain": "MSE of dB images scaled to [0, 1] with the tile's db_floor/db_ceil (clipped first), over "
                         "the tile's valid frames; mean over the test tiles where the species is present in truth. "
                         "Clean = dB image of the species' own part WAV (same STFT); GAN = the mixture's dB image "
                         "under the GAN species mask, db_floor elsewhere; no denoise = the mixture's dB image; "
                         "spectral subtraction / Wiener filtering / spectral gating = dB image of their denoised "
                         "audio, each run on the whole mixture; empty mask (reference) = db_floor everywhere."},
    "separation": {
        "table": "data05: source separation, per community: MSE between separated and true source audio (lower is "
                 "better), and SI-SDR and its improvement over the mixture (higher is better)",
        "metric domain": "waveform MSE in (full scale)^2 and SI-SDR in dB, over the samples from a tile's first to its "
                         "last frame centre; mean over "
                         "the test tiles where the community is present in truth. True source = sum of the "
                         "community's part WAVs (bird = every species part); GAN = ISTFT of the mixture's STFT "
                         "under the GAN community mask (binary, mixture phase); NMF = the same under NMF's soft mask. "
                         "SI-SDR improvement = SI-SDR(estimate) - SI-SDR(mixture). silence (reference) = the MSE of "
                         "an all-zero estimate (the true source's power): a method is useful only below it. SI-SDR "
                         "is undefined (empty) for a silent estimate (an empty mask); such tiles are counted in "
                         "the counts and left out of the SI-SDR means only."},
    "classification": {
        "table": "data06: species classification per tile: F1 of presence for the GAN, ResNet50 and VGG16, per "
                 "species and the mean over species",
        "metric domain": "F1 = 2TP / (2TP + FP + FN) of (test tile, species) presence decisions, per species; mean = "
                         "unweighted mean over species with a defined F1. Truth: the species has at least "
                         "'min true pixels' pixels in the tile's true class map. GAN: its generated species mask "
                         "has more pixels than a threshold chosen on the training split. CNNs: sigmoid >= 0.5."},
    "pixel_f1": {
        "table": "data07: pixel-wise F1 per class and the mean over classes, species and community level",
        "metric domain": "class maps of every valid pixel of the test tiles; TP/FP/FN summed over all tiles, then "
                         "F1 = 2TP / (2TP + FP + FN) per class; background is not a class; mean over the classes "
                         "that occur. Goals of this project: mean >= 0.90 (species), >= 0.92 (community)."},
}


def _run_options(folder: str) -> dict | str:
    path = os.path.join(folder, TRAIN_OPT_FILE)
    if not os.path.exists(path):
        return f"no {path}"
    with open(path, encoding="utf-8") as handle:
        options = json.load(handle)
    return {k: options.get(k) for k in ("preset", "netG", "ngf", "n_epochs", "n_epochs_decay", "batch_size",
                                        "seed", "dataroot", "max_test_images")}


def _denoiser_settings(gating: GatingSettings) -> dict:
    return {"which tiles": "those where the species has at least 'min true pixels' pixels in the true class map",
            SPECTRAL_SUBTRACTION: "util.evaluation.baselines.spectral_subtraction: magnitude subtraction, over-subtraction 2, "
                                  "floor 0.01 x noise; noise PSD from the mixture's quietest 10 % of frames (blind)",
            WIENER: "util.evaluation.baselines.wiener_filter: STFT Wiener gain SNR/(1+SNR), decision-directed a priori SNR "
                    "(alpha 0.98, floor -25 dB); noise PSD from the mixture's quietest 10 % of frames (blind); "
                    "not scipy.signal.wiener",
            SPECTRAL_GATING: {"function": "util.evaluation.baselines.spectral_gating (noisereduce)", **gating.kwargs(),
                              "why": GATING_CHOICE},
            NO_DENOISE: "the mixture's dB image, unprocessed",
            EMPTY_MASK: "db_floor everywhere: what a method that finds nothing scores. Not a method; a reference: "
                        "a species fills a small part of a tile, so this already scores well, and a method is "
                        "useful only where it scores below it"}


def table_about(ev: Evaluation, key: str) -> dict:
    """The ``about`` sheet of table ``key``: what it is, its domain, the data, the models, our choices, versions."""
    opt = ev.opt
    items = dict(TABLE_ABOUT[key])
    if key == "ssim_lpips":
        items["training logs"] = {level: os.path.abspath(os.path.join(opt.run_folder(level), METRICS_LOG))
                                  for level in LEVELS}
        items["training options"] = {level: _run_options(opt.run_folder(level)) for level in LEVELS}
        items["data"] = "the test split of each run's --dataroot (see the training options)"
        return {**items, **ev.common_about()}
    items.update(ev.data_description())
    levels = {"denoising": ("species",), "classification": ("species",), "separation": ("community",)}.get(key, LEVELS)
    items.update(ev.model_description(levels))
    if key == "occupancy":
        items["occupancy min pixels"] = opt.occupancy_min_pixels
    if key in ("denoising", "separation", "classification"):
        items["min true pixels"] = opt.min_true_pixels
    if key == "denoising":
        items["methods"] = _denoiser_settings(ev.gating)
    if key == "separation":
        items["NMF"] = {"method": "util.evaluation.baselines.NMFSeparator, supervised: bases learned per community from the "
                                  "training split's part WAVs (bird = every species part, insect, human; each "
                                  "trimmed to its non-zero span) plus a background source from background.wav, "
                                  "fixed at test time; Kullback-Leibler; soft masks (power 2); mixture phase",
                        **asdict(ev.nmf_settings), "why": NMF_CHOICE}
    if key == "classification":
        items["GAN threshold"] = (f"{opt.gan_threshold}: the area threshold maximising F1 on the training split "
                                  f"(the smallest on a tie), moved half-way to the next larger training area; "
                                  f"a species absent from training gets 'min true pixels'")
        items["CNN input"] = (f"the tile's grey pixels, area-downsampled to {opt.cnn_image_size} x "
                              f"{opt.cnn_image_size} for the CNNs only, 1 channel, normalised (mean 0.449, std 0.226)"
                              if opt.cnn_image_size else "the tile's grey pixels at full size, 1 channel")
        items["CNN loss"] = "BCEWithLogitsLoss, Adam, multi-label presence of the 8 species; threshold 0.5"
    if key in ev.counts:
        items["counts"] = ev.counts[key]
    return {**items, **ev.common_about()}


# --------------------------------------------------------------------------- figures

FIGURE_FILES = OrderedDict([
    ("ssim_lpips", "fig01_ssim_lpips.png"),
    ("frequency", "fig02_frequency_profiles.png"),
    ("occupancy", "fig03_occupancy.png"),
    ("denoising", "fig04_denoising_mse.png"),
    ("separation", "fig05_separation.png"),
    ("classification", "fig06_classification_f1.png"),
    ("pixel_f1", "fig07_pixel_f1.png"),
])
EXAMPLE_FILES = {"species": "fig08_examples_species.png", "community": "fig09_examples_community.png"}


def draw_table_figure(key: str, sheets: dict[str, pd.DataFrame], path: str) -> str:
    """Draw table ``key``'s figure from its sheets (as made, or as read back from the xlsx)."""
    from util.evaluation import figures

    if key == "frequency":
        return figures.plot_frequency_profiles(sheets["GAN"], sheets["truth"], path)
    first = next(iter(sheets.values()))
    draw = {"ssim_lpips": figures.plot_ssim_lpips, "occupancy": figures.plot_occupancy,
            "denoising": figures.plot_denoising, "separation": figures.plot_separation,
            "classification": figures.plot_classification, "pixel_f1": figures.plot_pixel_f1}[key]
    return draw(first, path)


def example_indices(tiles: list[Tile], level: str, n: int) -> list[int]:
    """The ``n`` test tiles with the most classes present (then the most labelled pixels, then by name)."""
    def key(i):
        true_map = tiles[i].true_maps[level]
        return (-len(np.unique(true_map[true_map > 0])), -int((true_map > 0).sum()), tiles[i].stem)
    return sorted(range(len(tiles)), key=key)[:n]


def example_panels(ev: Evaluation, level: str, n: int):
    """:class:`util.evaluation.figures.ExamplePanel` of the example tiles: the isolated source is the tile's largest true class."""
    from util.evaluation.figures import ExamplePanel

    tiles = ev.test_tiles
    chosen = example_indices(tiles, level, n)
    palette = ev.palettes[level]
    rgbs = list(translate(ev.generator(level), [tiles[i].spec_pixels for i in chosen], ev.opt.device,
                          ev.opt.batch_size, progress=False))
    panels = []
    for i, gan_rgb in zip(chosen, rgbs):
        tile, params = tiles[i], tiles[i].params
        true_map = tile.true_maps[level]
        areas = np.bincount(true_map.ravel(), minlength=len(palette) + 1)[1:]
        k = int(np.argmax(areas)) + 1
        gan_map = palette.classify(gan_rgb)
        present = [palette.names[j] for j in range(len(palette)) if areas[j]]
        panels.append(ExamplePanel(
            title=f"{tile.stem}: {', '.join(present) or 'no source'}", mixture=tile.spec_pixels,
            truth_rgb=palette.encode(true_map), gan_rgb=gan_rgb,
            isolated=np.where(gan_map == k, tile.spec_pixels, 0).astype(np.uint8),
            isolated_label=class_labels(palette, level)[k - 1],
            start_s=float(tile.meta.get("start_s", 0.0)), duration_s=params.tile_frames * params.hop_length / params.sr,
            max_freq_hz=params.n_rows * params.sr / params.n_fft))
    return panels


# --------------------------------------------------------------------------- job06

def run_evaluation(opt: EvaluationOptions) -> EvaluationReport:
    """Make every table (xlsx with an ``about`` sheet) and figure job06 promises.

    A table or figure that exists is kept (and read back for its figure and the summary) unless
    ``opt.overwrite``; each piece of work (generators, CNNs, NMF) runs only if a table needs it.
    A table that cannot be made (a UserError: no generator, no part audio, ...) is listed in
    ``report.failures`` and the others are still made.
    """
    ev = Evaluation(opt)
    report = EvaluationReport()
    for key, name in TABLE_FILES.items():
        path = os.path.join(opt.out, name)
        if os.path.exists(path) and not opt.overwrite:
            report.tables[key] = read_workbook(path)
            report.skipped.append(path)
            continue
        try:
            sheets = getattr(ev, key)()
            report.written.append(write_workbook(path, sheets, table_about(ev, key)))
        except UserError as exc:
            report.failures.append((path, str(exc)))
            continue
        report.tables[key] = sheets
    for key, name in FIGURE_FILES.items():
        if key in report.tables:
            _figure(report, os.path.join(opt.figures_dir, name), opt.overwrite,
                    lambda path, key=key: draw_table_figure(key, report.tables[key], path))
    for level, name in EXAMPLE_FILES.items():
        _figure(report, os.path.join(opt.figures_dir, name), opt.overwrite, lambda path, level=level: _draw_examples(
            ev, level, path))
    report.notes += ev.notes
    return report


def _figure(report: EvaluationReport, path: str, overwrite: bool, draw) -> None:
    if os.path.exists(path) and not overwrite:
        report.skipped.append(path)
        return
    try:
        report.written.append(draw(path))
    except UserError as exc:
        report.failures.append((path, str(exc)))


def _draw_examples(ev: Evaluation, level: str, path: str) -> str:
    from util.evaluation.figures import plot_examples

    return plot_examples(example_panels(ev, level, ev.opt.n_examples), path,
                         f"{level}-level examples (test split): mixture | truth | GAN | isolated")


# --------------------------------------------------------------------------- the summary job06 prints

PIXEL_F1_GOALS = {"species": 0.90, "community": 0.92}


def summary_lines(report: EvaluationReport, opt: EvaluationOptions) -> list[str]:
    """A few lines: pixel F1 per level against the goals, the denoising and separation winners, where things are."""
    lines = []
    pixel = report.tables.get("pixel_f1")
    if pixel is not None:
        table = next(iter(pixel.values()))
        means = table[table["class"] == MEAN_ROW].set_index("level")["pixel F1"]
        lines.append("pixel F1 (mean over classes): " + ", ".join(
            f"{level} {means.get(level, np.nan):.3f} (goal >= {goal:.2f})" for level, goal in PIXEL_F1_GOALS.items()))
    denoising = report.tables.get("denoising")
    if denoising is not None:
        table = next(iter(denoising.values())).set_index("species")
        winners = _winners(table[list(DENOISERS)], lower_is_better=True)
        n_gan = sum(1 for w in winners.values() if w == GAN)
        below_empty = int((table[GAN] < table[EMPTY_MASK]).sum()) if EMPTY_MASK in table else 0
        lines.append(f"denoising (MSE, lower is better): GAN best for {n_gan} of {len(winners)} species with test tiles"
                     + ("" if n_gan == len(winners) else " (otherwise " + ", ".join(
                         f"{short} -> {w}" for short, w in winners.items() if w != GAN) + ")")
                     + f"; GAN below the empty-mask reference for {below_empty} of {len(winners)}")
    separation = report.tables.get("separation")
    if separation is not None:
        table = next(iter(separation.values())).set_index("community")
        better = [c for c in table.index if table.loc[c, GAN] < table.loc[c, NMF]]
        rated = [c for c in table.index if np.isfinite(table.loc[c, GAN]) and np.isfinite(table.loc[c, NMF])]
        useful = [c for c in rated if SILENCE in table and table.loc[c, GAN] < table.loc[c, SILENCE]]
        lines.append(f"separation (waveform MSE): GAN below NMF for {len(better)} of {len(rated)} communities "
                     f"({', '.join(f'{c} GAN {table.loc[c, GAN]:.2e} vs NMF {table.loc[c, NMF]:.2e}' for c in rated)})"
                     f"; GAN below the silence reference for {len(useful)} of {len(rated)}")
    classification = report.tables.get("classification")
    if classification is not None:
        table = next(iter(classification.values())).set_index("species")
        lines.append("classification F1 (mean over species): " + ", ".join(
            f"{m} {table.loc[MEAN_ROW, m]:.3f}" for m in table.columns))
    lines.append(f"tables in {opt.out}/ (data01..data07 xlsx, each with an 'about' sheet), "
                 f"figures in {opt.figures_dir}/"
                 + (f"; {len(report.skipped)} existing outputs kept (--overwrite to redo)" if report.skipped else ""))
    return lines


def _winners(table: pd.DataFrame, lower_is_better: bool) -> dict[str, str]:
    """Row label (short) -> the column with the best value, for rows with any value."""
    out = {}
    for label, row in table.iterrows():
        values = pd.to_numeric(row, errors="coerce")
        if values.notna().any():
            out[str(label).split(" (")[0]] = values.idxmin() if lower_is_better else values.idxmax()
    return out
