"""data04: denoising: the spectrogram MSE of the GAN's masks, of classical denoisers and of two references.

Three sheets, the same methods in the same columns, each a mean over test tiles of the MSE of dB images
scaled to [0, 1]:

- ``data`` (one species, whole tile): target = the dB image of the species' own part audio; GAN = the
  mixture's dB image under the GAN species mask, the floor elsewhere; no denoise = the mixture; the
  baselines = their denoised audio (run on the whole mixture, so they keep every other source).
- ``in call boxes`` (one species, inside its calls' boxes): the same images, scored only on the pixels
  inside the species' call boxes (job00's events.csv), so finding nothing earns nothing.
- ``all sources`` (every source together, whole tile): target = the dB image of the sum of every
  source's part audio (mixture minus background), the task the classical denoisers are built for;
  GAN = the mixture under the union of the GAN community masks.

Two references frame each sheet: the empty mask (the floor everywhere: what finding nothing scores) and
the true mask (the mixture under the true class mask: the best any binary mask of the mixture can do).
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
from util.evaluation.call_boxes import CallBox, box_mask, read_call_boxes
from util.evaluation.context import Evaluation
from util.evaluation.data import (
    GAN,
    TRUE_MASK,
    ClipAudio,
    Tile,
    group_by_clip,
    load_clip,
    tiles_per_class,
)
from util.labels.palette import Palette
from util.metrics import spectrogram_mse
from util.signal.audio import stft, stft_frames
from util.signal.spectrogram import SpecParams, spectrum_to_image_db

NO_DENOISE = "no denoise"
SPECTRAL_SUBTRACTION = "spectral subtraction"
WIENER = "Wiener filtering"
SPECTRAL_GATING = "spectral gating"
DENOISERS = (GAN, SPECTRAL_SUBTRACTION, WIENER, NO_DENOISE, SPECTRAL_GATING)   # data04's column order
BASELINES = (SPECTRAL_SUBTRACTION, WIENER, SPECTRAL_GATING)                  # the classical denoisers
EMPTY_MASK = "empty mask (reference)"   # the floor everywhere: what a method that finds nothing scores
REFERENCES = (EMPTY_MASK, TRUE_MASK)
COLUMNS = (*DENOISERS, *REFERENCES)
WHOLE_TILE, IN_BOXES, ALL_SOURCES = "data", "in call boxes", "all sources"     # data04's sheets, in order
TILES_WITH = "tiles with"               # the first column of the all-sources sheet
ANY_SOURCE = "any source"               # its last row: every tile where some source is present

WHAT = {
    "table": "data04: denoising: MSE between each method's spectrogram and the clean target's (lower is "
             "better), in three sheets: 'data' (target: one species, whole tile, one row per species), "
             "'in call boxes' (the same, scored only inside that species' call boxes), 'all sources' "
             "(target: every source together, whole tile, one row per community present and one for any "
             "source)",
    "metric domain": "MSE of dB images scaled to [0, 1] with the tile's db_floor/db_ceil (clipped first); mean "
                     "over the test tiles where the target is present in truth. 'data' and 'all sources': over "
                     "the tile's valid frames; 'in call boxes': over the valid pixels inside the species' call "
                     "boxes only (a tile whose valid frames meet no box is left out of that sheet).",
    "targets": {
        WHOLE_TILE: "the dB image of the species' own part WAV (same STFT)",
        IN_BOXES: "the same, inside the boxes of that species' calls: each call's active span (start_s..end_s) "
                  "and band (low_hz..high_hz) in the clip's events.csv, written by job00 with the clip (the "
                  "boxes of its Raven table mixture.selections.txt); a pixel is inside when its frame centre "
                  "and its row's frequency are. Outside a call there is nothing to find, so an empty result "
                  "scores as badly as the call is loud: finding nothing earns nothing",
        ALL_SOURCES: "the dB image of the sum of every source's part WAV (the mixture minus the background): "
                     "what a denoiser that keeps every source and removes the background should give"},
    "columns": {
        GAN: "the mixture's dB image under the GAN mask (species sheets: the species' mask of the species "
             "model; 'all sources': the union of the community model's masks), db_floor elsewhere",
        NO_DENOISE: "the mixture's dB image, unprocessed",
        "spectral subtraction, Wiener filtering, spectral gating": "the dB image of their denoised audio, each run "
                                                                  "on the whole mixture (see 'methods')",
        EMPTY_MASK: "db_floor everywhere: what a method that finds nothing scores. A reference, not a method: "
                    "a call fills a small part of a tile, so on the whole tile this already scores well",
        TRUE_MASK: "the mixture's dB image under the TRUE class mask (species sheets: the species' true pixels; "
                   "'all sources': every true source pixel), db_floor elsewhere: the best a binary mask of the "
                   "mixture can do; a mask method's room to improve is the gap between it and this"}}
GATING_WHY = (f"chosen by {BASELINE_CHOICE_SCRIPT}, which scores candidate settings (stationary or not, "
              f"thresholds, time constants, frequency smoothing at noisereduce's minimum or its default) with "
              f"this table's whole-tile MSE on the val split of a job00 set (its --split; never the test split) "
              f"and prints the comparison. The frequency "
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
                     baseline_db: dict[str, np.ndarray], db_floor: float, db_ceil: float,
                     true_mask: np.ndarray | None = None, region: np.ndarray | None = None) -> dict[str, float]:
    """Spectrogram MSE on [0, 1] of each method against the clean target's dB image, for one tile.

    GAN: ``mixture_db`` where ``gan_mask`` is true, ``db_floor`` elsewhere; ``no denoise``: ``mixture_db``;
    each ``baseline_db`` entry as given; the empty-mask reference: ``db_floor`` everywhere; the true-mask
    reference (when ``true_mask`` is given): ``mixture_db`` where ``true_mask`` is true, ``db_floor``
    elsewhere. ``region`` (boolean, optional): score only the pixels where it is true (every score NaN when
    it is empty). All arrays (rows, frames) in dB re full scale.
    """
    images = {GAN: np.where(gan_mask, mixture_db, db_floor), NO_DENOISE: mixture_db, **baseline_db,
              EMPTY_MASK: np.full(mixture_db.shape, db_floor, np.float32)}
    if true_mask is not None:
        images[TRUE_MASK] = np.where(true_mask, mixture_db, db_floor)
    if region is None:
        region = np.ones(mixture_db.shape, bool)
    if not region.any():
        return {method: float("nan") for method in images}
    return {method: spectrogram_mse(image[region], clean_db[region], db_floor, db_ceil)
            for method, image in images.items()}


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


def all_sources_audio(clip: ClipAudio) -> np.ndarray:
    """The sum of every source's part audio (the mixture minus the background), as long as the mixture."""
    total = np.zeros(len(clip.mixture), np.float64)
    for audio in clip.parts.values():
        total[: len(audio)] += audio[: len(total)]
    return total


def denoising_records(root: str, tiles: list[Tile], gan_maps: dict[str, list[np.ndarray]],
                      palettes: dict[str, Palette], min_true_pixels: int, gating: GatingSettings | None = None,
                      progress: bool = True) -> tuple[list[dict], list[dict]]:
    """data04's records: (per tile and species present in truth: tile, species, method, mse, box_mse;
    per tile and community present, and 'any source': tile, tiles with, method, mse).

    ``gan_maps``: level -> the generated class map of every tile ('species' for the species sheets,
    'community' for the all-sources sheet).
    """
    species_records, all_records = [], []
    groups = group_by_clip(root, tiles)
    for folder, indices in tqdm(groups.items(), desc="denoising", unit="clip", disable=not progress or None):
        params = tiles[indices[0]].params
        clip = load_clip(folder, params.sr)
        full = stft(clip.mixture, params.n_fft, params.hop_length, params.window)
        baselines = denoise_clip(clip, params, gating or gating_settings(params))
        boxes = read_call_boxes(folder)
        for i in indices:
            species_records += denoise_tile(tiles[i], gan_maps["species"][i], clip, full, baselines,
                                            palettes["species"], min_true_pixels, boxes)
            all_records += denoise_all_sources(tiles[i], gan_maps["community"][i], clip, full, baselines,
                                               palettes["community"], min_true_pixels)
    return species_records, all_records


def _tile_images(tile: Tile, full: np.ndarray, baselines: dict[str, np.ndarray]) -> tuple[np.ndarray, dict]:
    """The mixture's and each baseline's dB image over the tile's valid frames, on the tile's scale."""
    frames = slice(tile.meta["start_frame"], tile.meta["start_frame"] + tile.n_valid)
    baseline_db = {method: tile_scale_db(spectrum[:, frames], tile.meta) for method, spectrum in baselines.items()}
    return tile_scale_db(full[:, frames], tile.meta), baseline_db


def _clean_db(audio: np.ndarray, tile: Tile) -> np.ndarray:
    """The dB image of ``audio`` (a clip-long signal) over the tile's valid frames, on the tile's scale."""
    params = tile.params
    spectrum = stft_frames(audio, tile.meta["start_frame"], tile.n_valid, params.n_fft, params.hop_length,
                           params.window)
    return tile_scale_db(spectrum, tile.meta)


def denoise_tile(tile: Tile, gan_map: np.ndarray, clip: ClipAudio, full: np.ndarray,
                 baselines: dict[str, np.ndarray], species: Palette, min_true_pixels: int,
                 boxes: dict[str, list[CallBox]] | None = None) -> list[dict]:
    """The records of one tile: every method's MSE for each species present in its truth.

    ``full``: the clip's mixture STFT; ``baselines``: method -> the clip's denoised STFT (bins, frames);
    ``gan_map``: the tile's class map whose species masks are scored as ``GAN``; ``boxes``: slug -> the
    clip's call boxes, for ``box_mse`` (NaN without them, or when the tile meets none of the species' boxes).
    """
    meta = tile.meta
    mixture_db, baseline_db = _tile_images(tile, full, baselines)
    true_map = tile.true_maps["species"][:, :tile.n_valid]
    records = []
    for k, slug in enumerate(species.slugs, start=1):
        if (true_map == k).sum() < min_true_pixels:
            continue
        if slug not in clip.parts:
            raise UserError(f"{clip.folder}: the truth of pair {tile.stem} shows {slug} but there is no {slug}.wav")
        clean_db = _clean_db(clip.parts[slug], tile)
        args = (clean_db, mixture_db, gan_map[:, :tile.n_valid] == k, baseline_db, meta["db_floor"], meta["db_ceil"],
                true_map == k)
        whole = denoising_scores(*args)
        region = box_mask(boxes.get(slug, []), meta, clean_db.shape) if boxes is not None else None
        in_box = denoising_scores(*args, region=region) if region is not None else {}
        records += [{"tile": tile.stem, "species": slug, "method": method, "mse": mse,
                     "box_mse": in_box.get(method, float("nan"))} for method, mse in whole.items()]
    return records


def denoise_all_sources(tile: Tile, gan_map: np.ndarray, clip: ClipAudio, full: np.ndarray,
                        baselines: dict[str, np.ndarray], communities: Palette, min_true_pixels: int) -> list[dict]:
    """The records of one tile against every source together, once per community present and once as
    'any source' (when some community is present). ``gan_map``: the tile's community class map; its union
    of classes is scored as ``GAN``, the union of the true community classes as the true mask."""
    true_map = tile.true_maps["community"][:, :tile.n_valid]
    present = [name for k, name in enumerate(communities.names, start=1) if (true_map == k).sum() >= min_true_pixels]
    if not present:
        return []
    mixture_db, baseline_db = _tile_images(tile, full, baselines)
    scores = denoising_scores(_clean_db(all_sources_audio(clip), tile), mixture_db, gan_map[:, :tile.n_valid] > 0,
                              baseline_db, tile.meta["db_floor"], tile.meta["db_ceil"], true_map > 0)
    return [{"tile": tile.stem, TILES_WITH: group, "method": method, "mse": mse}
            for group in (*present, ANY_SOURCE) for method, mse in scores.items()]


def denoising_table(records: list[dict], species: Palette, value: str = "mse") -> pd.DataFrame:
    """A species sheet of data04: ``species``, then ``GAN``, ``spectral subtraction``, ``Wiener filtering``,
    ``no denoise``, ``spectral gating``, ``empty mask (reference)``, ``true mask (reference)``: the mean of
    ``value`` ('mse': whole tile; 'box_mse': inside the call boxes) over the tiles where the species is
    present (NaN values left out). A species present in no test tile has an empty row."""
    frame = pd.DataFrame(records, columns=["tile", "species", "method", "mse", "box_mse"])
    means = frame.groupby(["species", "method"])[value].mean()
    rows = [{"species": cls.display_name, **{m: float(means.get((cls.slug, m), np.nan)) for m in COLUMNS}}
            for cls in species.classes]
    return pd.DataFrame(rows, columns=["species", *COLUMNS])


def all_sources_table(records: list[dict], communities: Palette) -> pd.DataFrame:
    """data04's all-sources sheet: ``tiles with`` (each community, then 'any source') and the same method
    columns as the species sheets: mean whole-tile MSE against every source together."""
    frame = pd.DataFrame(records, columns=["tile", TILES_WITH, "method", "mse"])
    means = frame.groupby([TILES_WITH, "method"])["mse"].mean()
    rows = [{TILES_WITH: group, **{m: float(means.get((group, m), np.nan)) for m in COLUMNS}}
            for group in (*communities.names, ANY_SOURCE)]
    return pd.DataFrame(rows, columns=[TILES_WITH, *COLUMNS])


def compute(ev: Evaluation) -> dict[str, pd.DataFrame]:
    gan_maps = {level: ev.gan_maps(level) for level in ("species", "community")}
    species_records, all_records = denoising_records(ev.opt.root, ev.test_tiles, gan_maps, ev.palettes,
                                                     ev.opt.min_true_pixels, gating_settings(ev.test_tiles[0].params),
                                                     ev.opt.progress)
    in_boxes = [r for r in species_records if np.isfinite(r["box_mse"])]
    ev.counts["denoising"] = {"test tiles per species": tiles_per_class(species_records, "species"),
                              "test tiles per species meeting a call box": tiles_per_class(in_boxes, "species"),
                              "test tiles per community (all sources)": tiles_per_class(all_records, TILES_WITH)}
    return {WHOLE_TILE: denoising_table(species_records, ev.palettes["species"]),
            IN_BOXES: denoising_table(species_records, ev.palettes["species"], "box_mse"),
            ALL_SOURCES: all_sources_table(all_records, ev.palettes["community"])}


def denoiser_settings(gating: GatingSettings) -> dict:
    """What each column of data04 ran, with the settings read from the functions and objects that ran."""
    blind = "noise PSD estimated from the mixture itself (blind): util.evaluation.baselines.estimate_noise_psd"
    return {"which tiles": "species sheets: those where the species has at least 'min true pixels' pixels in the "
                           "true species map; all sources: those where a community has at least that many in the "
                           "true community map",
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
                              "why": GATING_WHY}}


def about(ev: Evaluation) -> dict:
    return tile_table_about(ev, "denoising", WHAT, ("species", "community"),
                            {"min true pixels": ev.opt.min_true_pixels,
                             "methods": denoiser_settings(gating_settings(ev.test_tiles[0].params))})


def draw(sheets: dict[str, pd.DataFrame], path: str) -> str:
    from util.evaluation.figures import plot_denoising

    return plot_denoising(sheets[WHOLE_TILE], path)
