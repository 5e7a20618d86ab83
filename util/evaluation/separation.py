"""data05: source separation, per community: the GAN's mask against supervised NMF, on the waveform.

True source = the sum of that community's part WAVs over the tile's span (first to last frame centre);
GAN = the mixture's STFT under the GAN community mask, inverted with the mixture's phase
(:func:`util.labels.separation.masked_audio`); NMF = the same with NMF's soft mask; the true mask, a
reference, = the same with the true community mask (what the GAN would score painting the truth). Every
method is scored on the same tiles, those where the community is present: a silent estimate (an empty mask) is
kept, with the SI-SDR rule of :mod:`util.evaluation.separation_scores`. Columns: waveform MSE in (full
scale)^2, SI-SDR and its improvement over the unprocessed mixture in dB, the error relative to the
source's energy in dB, the MSE of silence as a reference, and the false-alarm energy each method puts into
a community's track on the tiles where that community is absent. A last row, ``mean``, averages the
communities. A second sheet, ``tiles``, holds every tile's scores that the means are made of.
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
from util.evaluation.baselines import NMFSeparator
from util.evaluation.context import Evaluation
from util.evaluation.data import (
    GAN,
    MEAN_ROW,
    TRUE_MASK,
    ClipAudio,
    Tile,
    community_audio,
    community_of,
    group_by_clip,
    load_clip,
    pairs_folder,
    tiles_per_class,
)
from util.evaluation.options import EvaluationOptions
from util.evaluation.separation_scores import (
    error_db,
    false_alarm_percent,
    is_silent,
    scored_si_sdr,
    scored_si_sdr_improvement,
)
from util.labels.palette import Palette
from util.labels.separation import masked_audio, tile_spectrum
from util.metrics import audio_mse
from util.signal.spectrogram import SpecParams

NMF = "NMF"
SEPARATORS = (GAN, NMF)
SILENCE = "silence (reference)"         # an all-zero estimate: its waveform MSE is the true source's power
SI_SDR, SI_SDRI = "SI-SDR (dB)", "SI-SDR improvement (dB)"
ERROR = "error re source (dB)"
FALSE_ALARM = "false alarm (% of mixture energy)"
SILENT_ESTIMATES = "silent estimates (scored at the chance-level SI-SDR), per community: method -> tiles"
ABSENT_TILES = "test tiles per community where it is absent (false-alarm tiles)"
TILES_SHEET = "tiles"   # data05's second sheet: every tile's scores

WHAT = {
    "table": "data05: source separation, per community and their mean: MSE between separated and true source "
             "audio and the error relative to the source (lower is better), SI-SDR and its improvement over the "
             "mixture (higher is better), and false alarms where the community is absent (lower is better)",
    "metric domain": "waveform, over the samples from a tile's first to its last frame centre. True source = sum "
                     "of the community's part WAVs (bird = every species part); GAN = ISTFT of the mixture's STFT "
                     "under the GAN community mask (binary, mixture phase); NMF = the same under NMF's soft mask; "
                     "true mask = the same under the true community mask. "
                     "Every score but the false alarm is a mean over the same tiles for every method: the test "
                     "tiles where the community is present in truth (at least 'min true pixels' pixels), silent "
                     "estimates included. The 'mean' row is the mean over the communities with a value. "
                     "Sheet 'tiles': one row per (tile, community, method) with that tile's scores (mse, si_sdr, "
                     "si_sdri, error_db in the units above; silent: the estimate is all zero; present False: the "
                     "community is absent and only false_alarm applies; method 'true mask (reference)' and "
                     "'silence (reference)' are the references).",
    "columns": {
        "GAN, NMF": "waveform MSE in (full scale)^2",
        f"GAN {SI_SDR}, NMF {SI_SDR}": "scale-invariant SDR (util.metrics.si_sdr); a silent estimate (all zero, "
                                       "e.g. an empty mask) has no defined SI-SDR and scores the chance level "
                                       "-10 log10(n - 2) dB for its n samples: the SI-SDR of an estimate holding "
                                       "no information on the source (util.evaluation.separation_scores)",
        f"GAN {SI_SDRI}, NMF {SI_SDRI}": "SI-SDR(estimate) - SI-SDR(mixture), silent estimates at the chance level",
        f"{TRUE_MASK} {SI_SDRI}": "the SI-SDR improvement of the mixture under the TRUE community mask (binary, "
                                  "mixture phase): what the GAN would score if it painted the truth exactly",
        SILENCE: "the MSE of an all-zero estimate (the true source's power): a method is useful only below it",
        f"GAN {ERROR}, NMF {ERROR}": "10 log10(||estimate - source||^2 / ||source||^2) per tile, then the mean: "
                                    "energy-normalised, so quiet and loud clips weigh alike; silence scores "
                                    "0 dB, a perfect estimate -120 dB (the floor)",
        f"GAN {FALSE_ALARM}, NMF {FALSE_ALARM}": "on the test tiles where the community is absent (no pixel of it "
                                                 "in the true map), 100 ||track||^2 / ||mixture||^2, then the "
                                                 "mean: 0 for a silent track, 100 for a track passing the whole "
                                                 "mixture. Tiles with a few true pixels, fewer than 'min true "
                                                 "pixels' (a call's edge), are in neither set"}}
NMF_METHOD = ("util.evaluation.baselines.NMFSeparator, supervised: bases learned per community from the training "
              "split's part WAVs (bird = every species part, insect, human; each trimmed to its non-zero span) plus "
              "a background source from background.wav, fixed at test time; soft masks; mixture phase")
NMF_WHY = (f"the number of bases per source was chosen by {BASELINE_CHOICE_SCRIPT}, which learns bases from "
           f"the training split of a job00 set for each candidate (number of bases, mask power), scores the val "
           f"split (its --split; never the test split) as this table scores the test split, and prints the "
           f"comparison")


@dataclass(frozen=True)
class NMFSettings:
    """Supervised NMF as job06 runs it (see :class:`util.evaluation.baselines.NMFSeparator`)."""

    n_components: int = 16          # basis spectra per source (bird, insect, human) and for the background
    n_iter: int = 200               # iterations when learning the bases
    n_iter_separate: int = 100      # activation updates on each test mixture
    max_frames: int = 20000         # STFT frames of training audio per source, at most (a seeded subset of clips)
    seed: int = 0


def nmf_settings(opt: EvaluationOptions) -> NMFSettings:
    """job06's NMF settings from its flags."""
    return NMFSettings(opt.nmf_components, opt.nmf_iter, max_frames=opt.nmf_max_frames, seed=opt.seed)


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
        _add_parts(clip, species, params, settings.max_frames, sources, frames)
        if frames["background"] < settings.max_frames:
            background.append(clip.background)
            frames["background"] += 1 + len(clip.background) // params.hop_length
    if not any(sources.values()) or not background:
        raise UserError(f"{pairs_folder(root, 'train', 'species')}: the training split holds no source audio to "
                        f"learn NMF bases from; make a larger split with job00")
    return {name: clips for name, clips in sources.items() if clips}, background


def _add_parts(clip: ClipAudio, species: Palette, params: SpecParams, max_frames: int,
               sources: dict[str, list[np.ndarray]], frames: dict[str, int]) -> None:
    """Add a clip's parts, trimmed, to their community's training audio, until it has ``max_frames``."""
    for slug, audio in clip.parts.items():
        name = community_of(slug, species)
        if name in sources and frames[name] < max_frames:
            trimmed = _trim_silence(audio)
            if len(trimmed) >= params.n_fft:
                sources[name].append(trimmed)
                frames[name] += 1 + len(trimmed) // params.hop_length


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
    """Each method's scores against ``reference``: waveform MSE, SI-SDR and SI-SDR improvement (dB; a silent
    estimate at the chance level), error re source (dB), and whether the estimate is silent."""
    return [{"method": method, "mse": audio_mse(estimate, reference), "si_sdr": scored_si_sdr(estimate, reference),
             "si_sdri": scored_si_sdr_improvement(estimate, reference, mixture),
             "error_db": error_db(estimate, reference), "silent": is_silent(estimate)}
            for method, estimate in estimates.items()]


def separation_records(root: str, tiles: list[Tile], gan_maps: list[np.ndarray], separator: NMFSeparator,
                       palettes: dict[str, Palette], min_true_pixels: int, progress: bool = True) -> list[dict]:
    """Per (tile, community, method): on tiles where the community is present (``present`` True), mse,
    si_sdr, si_sdri, error_db, silent; on tiles where it is absent (``present`` False), false_alarm (%).
    Every record has every field (NaN where it does not apply)."""
    records = []
    for folder, indices in tqdm(group_by_clip(root, tiles).items(), desc="separation", unit="clip",
                                disable=not progress or None):
        clip = load_clip(folder, tiles[indices[0]].params.sr)
        for i in indices:
            records += separate_tile(tiles[i], gan_maps[i], clip, separator, palettes, min_true_pixels)
    return records


RECORD_FIELDS = ("tile", "community", "method", "present", "mse", "si_sdr", "si_sdri", "error_db", "silent",
                 "false_alarm")


def separate_tile(tile: Tile, gan_map: np.ndarray, clip: ClipAudio, separator: NMFSeparator,
                  palettes: dict[str, Palette], min_true_pixels: int) -> list[dict]:
    """The records of one tile: each method's scores for each community present in its truth, and each
    method's false alarm for each community absent from it (no true pixel).

    ``gan_map``: the tile's class map whose community masks are scored as ``GAN``.
    """
    spectrum = tile_spectrum(clip.mixture, tile.meta)
    nmf_masks = separator.masks(spectrum)
    true_map = tile.true_maps["community"][:, :tile.n_valid]
    records = []
    for k, name in enumerate(palettes["community"].names, start=1):
        n_true = int((true_map == k).sum())
        if 0 < n_true < min_true_pixels:
            continue
        estimates = {GAN: masked_audio(spectrum, gan_map[:, :tile.n_valid] == k, tile.meta)}
        if name in nmf_masks:
            estimates[NMF] = masked_audio(spectrum, _bins_to_image(nmf_masks[name], tile.params), tile.meta)
        reference, mixture = _tile_segment(community_audio(clip, name, palettes["species"]), clip.mixture, tile)
        estimates = {m: e[: len(reference)] for m, e in estimates.items()}
        if n_true:
            estimates[TRUE_MASK] = masked_audio(spectrum, true_map == k, tile.meta)[: len(reference)]
            estimates[SILENCE] = np.zeros(len(reference))
            scores = [{**score, "present": True} for score in separation_scores(reference, estimates, mixture)]
        else:
            scores = [{"method": m, "present": False, "false_alarm": false_alarm_percent(e, mixture)}
                      for m, e in estimates.items()]
        records += [{**dict.fromkeys(RECORD_FIELDS, np.nan), "tile": tile.stem, "community": name, **score}
                    for score in scores]
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
    """data05: ``community``, ``GAN``, ``NMF`` (mean waveform MSE), ``GAN SI-SDR (dB)``, ``NMF SI-SDR (dB)``,
    ``GAN SI-SDR improvement (dB)``, ``NMF SI-SDR improvement (dB)``, ``true mask (reference) SI-SDR
    improvement (dB)`` (the mixture under the true mask), ``silence (reference)`` (the MSE of an
    all-zero estimate), ``GAN error re source (dB)``, ``NMF error re source (dB)``: means over the tiles where
    the community is present (every method on the same tiles); then ``GAN false alarm (% of mixture energy)``,
    ``NMF false alarm (% of mixture energy)``: means over the tiles where it is absent. One row per community,
    then ``mean``: the mean of each column over the communities with a value."""
    frame = pd.DataFrame(records, columns=list(RECORD_FIELDS))
    present = frame[frame["present"].astype(bool)]
    means = present.groupby(["community", "method"])[["mse", "si_sdr", "si_sdri", "error_db"]].mean()
    false_alarms = frame[~frame["present"].astype(bool)].groupby(["community", "method"])["false_alarm"].mean()
    rows = []
    for name in communities.names:
        row = {"community": name}
        for metric, suffix in (("mse", ""), ("si_sdr", f" {SI_SDR}"), ("si_sdri", f" {SI_SDRI}")):
            for method in SEPARATORS:
                row[f"{method}{suffix}"] = float(means[metric].get((name, method), np.nan))
        row[f"{TRUE_MASK} {SI_SDRI}"] = float(means["si_sdri"].get((name, TRUE_MASK), np.nan))
        row[SILENCE] = float(means["mse"].get((name, SILENCE), np.nan))
        for method in SEPARATORS:
            row[f"{method} {ERROR}"] = float(means["error_db"].get((name, method), np.nan))
        for method in SEPARATORS:
            row[f"{method} {FALSE_ALARM}"] = float(false_alarms.get((name, method), np.nan))
        rows.append(row)
    table = pd.DataFrame(rows, columns=separation_columns())
    mean = table.drop(columns="community").mean(skipna=True)
    return pd.concat([table, pd.DataFrame([{"community": MEAN_ROW, **mean.to_dict()}])], ignore_index=True)


def separation_columns() -> list[str]:
    return ["community", GAN, NMF, f"{GAN} {SI_SDR}", f"{NMF} {SI_SDR}", f"{GAN} {SI_SDRI}", f"{NMF} {SI_SDRI}",
            f"{TRUE_MASK} {SI_SDRI}", SILENCE, f"{GAN} {ERROR}", f"{NMF} {ERROR}", f"{GAN} {FALSE_ALARM}",
            f"{NMF} {FALSE_ALARM}"]


def compute(ev: Evaluation) -> dict[str, pd.DataFrame]:
    """Learn NMF on the training split, then score the GAN and NMF on the test split."""
    settings = nmf_settings(ev.opt)
    sources, background = nmf_training_audio(ev.opt.root, ev.train_tiles, ev.palettes["species"],
                                             ev.palettes["community"], settings)
    counts = ev.counts.setdefault("separation", {})
    counts["NMF training clips per source"] = {**{k: len(v) for k, v in sources.items()},
                                               "background": len(background)}
    for name in ev.palettes["community"].names:
        if name not in sources:
            ev.notes.append(f"data05: no {name} audio in the training split; NMF has no {name} bases "
                            f"and its {name} cells are empty")
    if ev.opt.progress:
        tqdm.write("learning NMF bases from the training split ...")
    separator = fit_nmf(sources, background, ev.test_tiles[0].params, settings)
    records = separation_records(ev.opt.root, ev.test_tiles, ev.gan_maps("community"), separator,
                                 ev.palettes, ev.opt.min_true_pixels, ev.opt.progress)
    tiles = tiles_sheet(records)
    counts.update(separation_counts(records, tiles))
    return {"data": separation_table(records, ev.palettes["community"]), TILES_SHEET: tiles}


def tiles_sheet(records: list[dict]) -> pd.DataFrame:
    """Every record, one row per (tile, community, method), in tile order: what each mean of the table is
    made of (``present`` False rows hold only the false alarm)."""
    frame = pd.DataFrame(records, columns=list(RECORD_FIELDS))
    frame["present"] = frame["present"].astype(bool)
    frame["silent"] = frame["silent"].astype("boolean")
    return frame.sort_values(["tile", "community", "method"], kind="stable").reset_index(drop=True)


def separation_counts(records: list[dict], tiles: pd.DataFrame) -> dict:
    """For the about sheet: tiles per community where it is present and where it is absent, and how many
    of each method's estimates were silent, per community (from ``tiles``, the tiles sheet of ``records``)."""
    present = [r for r in records if r["present"] is True]
    communities = tiles_per_class(present, "community")
    return {"test tiles per community": communities,
            ABSENT_TILES: tiles_per_class([r for r in records if r["present"] is False], "community"),
            SILENT_ESTIMATES: {c: {m: silent_estimates(tiles, c, m)[0] for m in SEPARATORS} for c in communities}}


def silent_estimates(tiles: pd.DataFrame, community: str, method: str) -> tuple[int, int]:
    """(k, n): ``method``'s estimate was silent on k of the n tiles of the tiles sheet where ``community`` is
    present (each such tile scores the chance-level SI-SDR)."""
    rows = tiles[(tiles["community"] == community) & (tiles["method"] == method) & tiles["present"].astype(bool)]
    return int(rows["silent"].astype(bool).sum()), len(rows)


def about(ev: Evaluation) -> dict:
    nmf = {"method": NMF_METHOD, **default_settings(NMFSeparator, ("beta_loss", "mask_power")),
           **asdict(nmf_settings(ev.opt)), "why": NMF_WHY}
    return tile_table_about(ev, "separation", WHAT, ("community",),
                            {"min true pixels": ev.opt.min_true_pixels, "NMF": nmf})


def draw(sheets: dict[str, pd.DataFrame], path: str) -> str:
    from util.evaluation.figures import plot_separation

    return plot_separation(sheets["data"], path)
