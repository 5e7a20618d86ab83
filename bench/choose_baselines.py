"""How job06's baseline settings were chosen: spectral gating (data04) and supervised NMF (data05).

Both comparisons choose on the VAL split of a job00 set (``--split``, default val; a set made without
``--n_val`` can use ``--split train``), never on the test split the tables report.

**Spectral gating** (noisereduce): each candidate setting denoises the mixtures of the first ``--max_clips``
clips of the chosen split, and is scored with data04's own measure (``util.evaluation.denoising.denoise_tile``: the
spectrogram MSE against the clean species, on the tiles where a species is present). Candidates:
stationary gating at 1.5 to 3 standard deviations, non-stationary gating at 2 to 3 times the floor with
time constants of 0.25 to 2 s (noisereduce's defaults among them), each with frequency smoothing at
noisereduce's minimum (2 * sr / n_fft) or its default 500 Hz. Rule: the lowest MSE among the candidates
with the minimum frequency smoothing (noisereduce warns that wider smoothing averages a tonal call's mask
with its silent neighbours; the table still shows the wider ones).

**NMF**: bases learned (``util.evaluation.separation.nmf_training_audio`` / ``fit_nmf``) from the training
split, as job06 learns them, and the val split scored as data05 scores the test split (SI-SDR per
community). With ``--split train``: bases from the first training clips, the last ``--holdout`` share scored. Candidates: 8, 16 or 32 bases per source, mask power 1 or 2. Rule: the fewest
bases whose mean SI-SDR over communities is within ``--tolerance_db`` of the best (fewer bases: faster).

References in both tables: the true mask ("oracle", the best a binary mask can do), no processing, and an
empty result. The last lines print what each rule picks and what job06 uses (the constants in
``util.evaluation.denoising.gating_settings`` and ``util.evaluation.separation.NMFSettings``).

    .venv/bin/python job00_synth_data.py --out /tmp/d1 --n_train 160 --n_val 40 --n_test 40 --seed 1
    .venv/bin/python bench/choose_baselines.py --root /tmp/d1                 # chooses on val

A benchmark, not a test: it never fails on a score.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from util.evaluation.about import default_settings  # noqa: E402
from util.evaluation.baselines import NMFSeparator, spectral_gating  # noqa: E402
from util.evaluation.data import (  # noqa: E402
    DEFAULT_MIN_TRUE_PIXELS,
    GAN,
    Tile,
    group_by_clip,
    load_clip,
    load_tiles,
)
from util.evaluation.denoising import (  # noqa: E402
    EMPTY_MASK,
    NO_DENOISE,
    denoise_tile,
    gating_settings,
)
from util.evaluation.separation import (  # noqa: E402
    NMF,
    NMFSettings,
    fit_nmf,
    nmf_training_audio,
    separation_records,
)
from util.files import LEVELS  # noqa: E402
from util.labels.palette import load_palette  # noqa: E402
from util.signal.audio import stft  # noqa: E402
from util.signal.spectrogram import SpecParams  # noqa: E402

ORACLE = "true mask (oracle)"   # the GAN's column, fed the true class map: the best a binary mask can do
NMF_COMPONENTS = (8, 16, 32)
MASK_POWERS = (1.0, 2.0)


# --------------------------------------------------------------------------- spectral gating

def gating_candidates(params: SpecParams) -> dict[str, dict]:
    """Label -> spectral_gating keyword arguments, for every candidate setting."""
    smoothing_hz = (float(np.ceil(2 * params.sr / params.n_fft)), 500.0)
    candidates = {}
    for freq_hz in smoothing_hz:
        for n_std in (1.5, 2.0, 2.5, 3.0):
            candidates[f"stationary, {n_std:g} std, {freq_hz:g} Hz"] = dict(
                stationary=True, n_std_thresh_stationary=n_std, freq_mask_smooth_hz=freq_hz)
        for n_mult in (2.0, 2.5, 3.0):
            for time_constant_s in (0.25, 0.5, 1.0, 2.0):
                candidates[f"non-stationary, {n_mult:g}x, {time_constant_s:g} s, {freq_hz:g} Hz"] = dict(
                    stationary=False, thresh_n_mult_nonstationary=n_mult, time_constant_s=time_constant_s,
                    freq_mask_smooth_hz=freq_hz)
    return candidates


def gating_records(root: str, tiles: list[Tile], candidates: dict[str, dict], max_clips: int,
                   min_true_pixels: int) -> list[dict]:
    """data04's records (tile, species, method, mse) of every candidate, on the first ``max_clips`` clips."""
    species = load_palette("species")
    records = []
    groups = list(group_by_clip(root, tiles).items())[:max_clips]
    for n, (folder, indices) in enumerate(groups, start=1):
        params = tiles[indices[0]].params
        clip = load_clip(folder, params.sr)
        full = stft(clip.mixture, params.n_fft, params.hop_length, params.window)
        denoised = {label: stft(spectral_gating(clip.mixture, clip.sr, n_fft=params.n_fft,
                                                hop_length=params.hop_length, **kwargs),
                                params.n_fft, params.hop_length, params.window)
                    for label, kwargs in candidates.items()}
        for i in indices:
            tile = tiles[i]
            records += denoise_tile(tile, tile.true_maps["species"], clip, full, denoised, species, min_true_pixels)
        print(f"  gating: clip {n} of {len(groups)}", file=sys.stderr, end="\r")
    return records


def choose_gating(root: str, tiles: list[Tile], max_clips: int, min_true_pixels: int, split: str) -> None:
    params = tiles[0].params
    candidates = gating_candidates(params)
    frame = pd.DataFrame(gating_records(root, tiles, candidates, max_clips, min_true_pixels))
    frame["method"] = frame["method"].replace({GAN: ORACLE})
    table = frame.groupby("method")["mse"].agg(["mean", "count"]).sort_values("mean")
    print(f"\nspectral gating: data04's MSE on the {split} split ({frame['tile'].nunique()} tiles, "
          f"{len(frame[frame['method'] == NO_DENOISE])} (tile, species) pairs); lower is better")
    print(table.to_string(float_format=lambda v: f"{v:.5f}"))
    minimum_hz = float(np.ceil(2 * params.sr / params.n_fft))
    allowed = [label for label, kwargs in candidates.items() if kwargs["freq_mask_smooth_hz"] == minimum_hz]
    chosen = table.loc[allowed, "mean"].idxmin()
    print(f"chosen (lowest MSE with {minimum_hz:g} Hz frequency smoothing): {chosen}: {candidates[chosen]}")
    print(f"job06 uses (util.evaluation.denoising.gating_settings): {gating_settings(params).kwargs()}")
    print("references: " + ", ".join(f"{name} {table.loc[name, 'mean']:.5f}"
                                     for name in (ORACLE, NO_DENOISE, EMPTY_MASK)))


# --------------------------------------------------------------------------- NMF

def split_clips(root: str, tiles: list[Tile], holdout: float) -> tuple[list[Tile], list[Tile]]:
    """The tiles of the first clips (to learn bases from) and of the last ``holdout`` share (to score)."""
    groups = list(group_by_clip(root, tiles).values())
    n_scored = max(1, math.ceil(holdout * len(groups)))
    if n_scored >= len(groups):
        raise SystemExit(f"{root}: {len(groups)} training clips are too few to hold {n_scored} out; make more")
    fit = [tiles[i] for indices in groups[:-n_scored] for i in indices]
    scored = [tiles[i] for indices in groups[-n_scored:] for i in indices]
    return fit, scored


def nmf_rows(root: str, fit_tiles: list[Tile], scored: list[Tile], base: NMFSettings,
             min_true_pixels: int) -> list[dict]:
    """Mean SI-SDR (dB) per community and method, for every candidate (bases x mask power)."""
    palettes = {level: load_palette(level) for level in LEVELS}
    sources, background = nmf_training_audio(root, fit_tiles, palettes["species"], palettes["community"], base)
    true_maps = [t.true_maps["community"] for t in scored]
    rows = []
    for n_components in NMF_COMPONENTS:
        separator = fit_nmf(sources, background, fit_tiles[0].params,
                            dataclasses.replace(base, n_components=n_components))
        for mask_power in MASK_POWERS:
            separator.mask_power = mask_power   # masks only: the bases do not depend on it
            records = pd.DataFrame(separation_records(root, scored, true_maps, separator, palettes,
                                                      min_true_pixels, progress=False))
            means = records.groupby(["method", "community"])["si_sdr"].mean().unstack()
            rows.append({"bases": n_components, "mask power": mask_power, **means.loc[NMF].to_dict(),
                         "mean": float(means.loc[NMF].mean())})
            oracle = means.loc[GAN]     # the true masks' scores: the same for every candidate
            print(f"  NMF: {n_components} bases, mask power {mask_power:g}", file=sys.stderr, end="\r")
    return [*rows, {"bases": ORACLE, "mask power": np.nan, **oracle.to_dict(), "mean": float(oracle.mean())}]


def choose_nmf(root: str, fit_tiles: list[Tile], scored: list[Tile], base: NMFSettings, tolerance_db: float,
               min_true_pixels: int, scored_name: str) -> None:
    table = pd.DataFrame(nmf_rows(root, fit_tiles, scored, base, min_true_pixels))
    print(f"\nNMF: SI-SDR (dB) per community on {len(scored)} {scored_name} tiles, bases from "
          f"{len(fit_tiles)} training tiles; higher is better")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    candidates = table[table["bases"] != ORACLE]
    best = candidates["mean"].max()
    close = candidates[candidates["mean"] >= best - tolerance_db]
    chosen = close.sort_values(["bases", "mean"], ascending=[True, False]).iloc[0]
    print(f"chosen (fewest bases within {tolerance_db:g} dB of the best mean): {chosen['bases']} bases, "
          f"mask power {chosen['mask power']:g}")
    mask_power = default_settings(NMFSeparator, ("mask_power",))["mask_power"]
    print(f"job06 uses (util.evaluation.separation.NMFSettings, NMFSeparator): {NMFSettings().n_components} bases, "
          f"mask power {mask_power:g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="a job00 set (its --out): input_img/ and input_wav/")
    parser.add_argument("--split", choices=("val", "train"), default="val",
                        help="the split the settings are chosen on (never test): val, or train for a set without val")
    parser.add_argument("--only", choices=("gating", "nmf"), default=None, help="run one comparison only")
    parser.add_argument("--max_clips", type=int, default=40, help="clips of --split the gating candidates denoise")
    parser.add_argument("--holdout", type=float, default=0.25,
                        help="with --split train: share of training clips NMF is scored on")
    parser.add_argument("--tolerance_db", type=float, default=1.0, help="NMF rule: SI-SDR within this of the best")
    parser.add_argument("--nmf_iter", type=int, default=NMFSettings.n_iter, help="iterations when learning bases")
    parser.add_argument("--nmf_max_frames", type=int, default=NMFSettings.max_frames,
                        help="training STFT frames per source, at most")
    parser.add_argument("--min_true_pixels", type=int, default=DEFAULT_MIN_TRUE_PIXELS,
                        help="a class is present in a tile with at least this many true pixels (as job06)")
    args = parser.parse_args()
    palettes = {level: load_palette(level) for level in LEVELS}
    tiles = load_tiles(args.root, args.split, palettes)
    if args.only in (None, "gating"):
        choose_gating(args.root, tiles, args.max_clips, args.min_true_pixels, args.split)
    if args.only in (None, "nmf"):
        base = NMFSettings(n_iter=args.nmf_iter, max_frames=args.nmf_max_frames)
        if args.split == "train":
            fit_tiles, scored = split_clips(args.root, tiles, args.holdout)
            scored_name = "held-out training"
        else:
            fit_tiles, scored, scored_name = load_tiles(args.root, "train", palettes), tiles, args.split
        choose_nmf(args.root, fit_tiles, scored, base, args.tolerance_db, args.min_true_pixels, scored_name)


if __name__ == "__main__":
    main()
