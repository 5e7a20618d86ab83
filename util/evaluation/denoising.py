"""data04: denoising, per species: the spectrogram MSE of the GAN's mask and of classical denoisers.

Clean = the dB image of the species' own part audio (same STFT); GAN = the mixture's dB image under the
GAN species mask, the floor elsewhere; no denoise = the mixture's dB image; the baselines' = the dB image
of their denoised audio. A reference column, the floor everywhere ("empty mask"), shows what finding
nothing scores: a call fills a small part of a tile, so that is already low, and a method is useful only
below it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from util.errors import UserError
from util.evaluation.about import (
    BASELINE_CHOICE_SCRIPT,
    default_settings,
    tile_table_about,
)
from util.evaluation.baselines import (
    spectral_gating,
    spectral_subtraction,
    wiener_filter,
)
from util.evaluation.context import Evaluation
from util.evaluation.data import (
    GAN,
    ClipAudio,
    Tile,
    group_by_clip,
    load_clip,
    tiles_per_class,
)
from util.labels.palette import Palette
from util.metrics import spectrogram_mse
from util.signal.audio import stft
from util.signal.spectrogram import SpecParams, spectrum_to_image_db

NO_DENOISE = "no denoise"
SPECTRAL_SUBTRACTION = "spectral subtraction"
WIENER = "Wiener filtering"
SPECTRAL_GATING = "spectral gating"
DENOISERS = (GAN, SPECTRAL_SUBTRACTION, WIENER, NO_DENOISE, SPECTRAL_GATING)   # data04's column order
EMPTY_MASK = "empty mask (reference)"   # the floor everywhere: what a method that finds nothing scores

WHAT = {
    "table": "data04: denoising, per species: MSE between each method's spectrogram and the clean species "
             "spectrogram (lower is better)",
    "metric domain": "MSE of dB images scaled to [0, 1] with the tile's db_floor/db_ceil (clipped first), over "
                     "the tile's valid frames; mean over the test tiles where the species is present in truth. "
                     "Clean = dB image of the species' own part WAV (same STFT); GAN = the mixture's dB image "
                     "under the GAN species mask, db_floor elsewhere; no denoise = the mixture's dB image; "
                     "spectral subtraction / Wiener filtering / spectral gating = dB image of their denoised "
                     "audio, each run on the whole mixture; empty mask (reference) = db_floor everywhere."}
GATING_WHY = (f"chosen by {BASELINE_CHOICE_SCRIPT}, which scores candidate settings (stationary or not, "
              f"thresholds, time constants, frequency smoothing at noisereduce's minimum or its default) with "
              f"this table's MSE on the val split of a job00 set (its --split; never the test split) and prints "
              f"the comparison. The frequency "
              f"smoothing is kept at noisereduce's minimum because its docstring warns that wider smoothing "
              f"averages a tonal call's mask with its silent neighbours. The noise statistics come from the "
              f"mixture itself (no noise clip: blind, as for PAM data), so a call sounding through much of "
              f"the clip raises its own threshold.")


@dataclass(frozen=True)
class GatingSettings:
    """How job06 runs spectral gating (noisereduce); :func:`gating_settings` makes our choice."""

    stationary: bool = True
    n_std_thresh_stationary: float = 2.0
    freq_mask_smooth_hz: float = 500.0
    time_mask_smooth_ms: float = 50.0

    def kwargs(self) -> dict:
        return asdict(self)


def gating_settings(params: SpecParams) -> GatingSettings:
    """Our choice for spectral gating (made by bench/choose_baselines.py): stationary gating at 2 standard
    deviations above the mixture's own per-frequency level, frequency smoothing at noisereduce's minimum,
    2 * sr / n_fft Hz (no smoothing across bins, so a whistle one or two bins wide keeps its mask),
    50 ms time smoothing (noisereduce's default)."""
    return GatingSettings(stationary=True, n_std_thresh_stationary=2.0,
                          freq_mask_smooth_hz=float(np.ceil(2 * params.sr / params.n_fft)), time_mask_smooth_ms=50.0)


def tile_scale_db(spectrum: np.ndarray, meta: dict) -> np.ndarray:
    """Complex STFT frames -> dB (rows, frames) on the tile's own scale (its ``db_offset`` added), so that the
    tile's ``db_floor``/``db_ceil`` apply to it as they do to its pixels."""
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
    quietest frames (their defaults), as a user without a noise clip would.
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
            records += denoise_tile(tiles[i], gan_maps[i], clip, full, baselines, species, min_true_pixels)
    return records


def denoise_tile(tile: Tile, gan_map: np.ndarray, clip: ClipAudio, full: np.ndarray,
                 baselines: dict[str, np.ndarray], species: Palette, min_true_pixels: int) -> list[dict]:
    """The records of one tile: every method's MSE for each species present in its truth.

    ``full``: the clip's mixture STFT; ``baselines``: method -> the clip's denoised STFT (bins, frames);
    ``gan_map``: the tile's class map whose species masks are scored as ``GAN``.
    """
    params, meta = tile.params, tile.meta
    frames = slice(meta["start_frame"], meta["start_frame"] + tile.n_valid)
    mixture_db = tile_scale_db(full[:, frames], meta)
    baseline_db = {method: tile_scale_db(spectrum[:, frames], meta) for method, spectrum in baselines.items()}
    true_map = tile.true_maps["species"][:, :tile.n_valid]
    records = []
    for k, slug in enumerate(species.slugs, start=1):
        if (true_map == k).sum() < min_true_pixels:
            continue
        if slug not in clip.parts:
            raise UserError(f"{clip.folder}: the truth of pair {tile.stem} shows {slug} but there is no {slug}.wav")
        clean = stft(clip.parts[slug], params.n_fft, params.hop_length, params.window)[:, frames]
        scores = denoising_scores(tile_scale_db(clean, meta), mixture_db, gan_map[:, :tile.n_valid] == k,
                                  baseline_db, meta["db_floor"], meta["db_ceil"])
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


def compute(ev: Evaluation) -> dict[str, pd.DataFrame]:
    records = denoising_records(ev.opt.root, ev.test_tiles, ev.gan_maps("species"), ev.palettes["species"],
                                ev.opt.min_true_pixels, gating_settings(ev.test_tiles[0].params), ev.opt.progress)
    ev.counts["denoising"] = {"test tiles per species": tiles_per_class(records, "species")}
    return {"data": denoising_table(records, ev.palettes["species"])}


def denoiser_settings(gating: GatingSettings) -> dict:
    """What each column of data04 ran, with the settings read from the functions and objects that ran."""
    blind = "noise PSD estimated from the mixture itself (blind): util.evaluation.baselines.estimate_noise_psd"
    return {"which tiles": "those where the species has at least 'min true pixels' pixels in the true class map",
            SPECTRAL_SUBTRACTION: {
                "function": "util.evaluation.baselines.spectral_subtraction", "noise": blind,
                **default_settings(spectral_subtraction, ("oversubtraction", "spectral_floor", "floor_reference",
                                                          "exponent", "noise_fraction", "noise_method"))},
            WIENER: {
                "function": "util.evaluation.baselines.wiener_filter: STFT Wiener gain SNR/(1+SNR), decision-directed "
                            "a priori SNR; not scipy.signal.wiener", "noise": blind,
                **default_settings(wiener_filter, ("smoothing", "min_prior_snr_db", "gain_floor", "noise_fraction",
                                                   "noise_method"))},
            SPECTRAL_GATING: {"function": "util.evaluation.baselines.spectral_gating (noisereduce)", **gating.kwargs(),
                              "why": GATING_WHY},
            NO_DENOISE: "the mixture's dB image, unprocessed",
            EMPTY_MASK: "db_floor everywhere: what a method that finds nothing scores. Not a method; a reference: "
                        "a species fills a small part of a tile, so this already scores well, and a method is "
                        "useful only where it scores below it"}


def about(ev: Evaluation) -> dict:
    return tile_table_about(ev, "denoising", WHAT, ("species",),
                            {"min true pixels": ev.opt.min_true_pixels,
                             "methods": denoiser_settings(gating_settings(ev.test_tiles[0].params))})


def draw(sheets: dict[str, pd.DataFrame], path: str) -> str:
    from util.evaluation.figures import plot_denoising

    return plot_denoising(sheets["data"], path)
