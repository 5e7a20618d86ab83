"""data04 and data05 scored fairly: the true-mask reference, call boxes, every source together, silent
estimates at a documented floor, the error relative to the source, false alarms, and the summary's goals."""

import numpy as np
import pandas as pd
import pytest
from conftest import tone

from util.evaluation.call_boxes import box_mask, read_call_boxes
from util.evaluation.data import ClipAudio, Tile
from util.evaluation.denoising import (
    ANY_SOURCE,
    EMPTY_MASK,
    NO_DENOISE,
    TRUE_MASK,
    all_sources_table,
    denoise_all_sources,
    denoise_tile,
    denoising_scores,
)
from util.evaluation.options import EvaluationOptions
from util.evaluation.run import EvaluationReport
from util.evaluation.separation import (
    NMF,
    SILENCE,
    SILENT_ESTIMATES,
    separate_tile,
    separation_counts,
    separation_scores,
    separation_table,
    silent_estimates,
    tiles_sheet,
)
from util.evaluation.separation_scores import error_db, false_alarm_percent, silent_si_sdr_db
from util.evaluation.summary import summary_lines
from util.labels.palette import load_palette
from util.metrics import si_sdr
from util.signal.audio import stft

PALETTES = {level: load_palette(level) for level in ("species", "community")}
SR, HOP, N_FFT, FRAMES = 22050, 256, 512, 16
META = {"sr": SR, "n_fft": N_FFT, "hop_length": HOP, "window": "hann", "db_floor": -100.0, "db_ceil": 0.0,
        "tile_frames": FRAMES, "start_frame": 0, "n_valid_frames": FRAMES}


def row_of(freq_hz: float) -> int:
    return 255 - round(freq_hz * N_FFT / SR)


# --------------------------------------------------------------------------- data04

def small_case():
    """A 4 x 4 tile: a call of two pixels at -20 dB over noise at -60 dB (scale -100..0 dB)."""
    clean = np.full((4, 4), -100.0)
    clean[0, :2] = -20.0
    mixture = np.full((4, 4), -60.0)
    mixture[0, :2] = -20.0
    return clean, mixture


def test_true_mask_column_is_the_mixture_under_the_true_mask_scored_like_the_gan():
    clean, mixture = small_case()
    true_mask = np.zeros((4, 4), bool)
    true_mask[0, 0] = true_mask[1, 0] = True     # one call pixel found, one noise pixel kept
    scores = denoising_scores(clean, mixture, np.zeros((4, 4), bool), {}, -100.0, 0.0, true_mask)
    # missed call pixel: (0.8 - 0)^2; kept noise pixel: (0.4 - 0)^2; the rest exact
    assert scores[TRUE_MASK] == pytest.approx((0.8 ** 2 + 0.4 ** 2) / 16)                  # 0.05
    assert scores["GAN"] == scores[EMPTY_MASK] == pytest.approx(2 * 0.8 ** 2 / 16)


def test_inside_the_call_box_finding_nothing_scores_worse_than_no_denoising():
    clean, mixture = small_case()
    box = np.zeros((4, 4), bool)
    box[:2, :2] = True                            # the call's two pixels and two noise pixels under them
    empty = np.zeros((4, 4), bool)
    whole = denoising_scores(clean, mixture, empty, {}, -100.0, 0.0)
    inside = denoising_scores(clean, mixture, clean > -100, {}, -100.0, 0.0, region=box)
    assert whole[EMPTY_MASK] == pytest.approx(2 * 0.64 / 16) and whole[NO_DENOISE] == pytest.approx(14 * 0.16 / 16)
    assert whole[EMPTY_MASK] < whole[NO_DENOISE] and inside[EMPTY_MASK] > inside[NO_DENOISE]
    assert inside[EMPTY_MASK] == pytest.approx(2 * 0.64 / 4) and inside[NO_DENOISE] == pytest.approx(2 * 0.16 / 4)
    assert inside["GAN"] == 0.0
    assert all(np.isnan(v) for v in denoising_scores(clean, mixture, empty, {}, -100.0, 0.0,
                                                     region=np.zeros((4, 4), bool)).values())


def test_a_call_box_covers_the_frames_and_rows_whose_centres_fall_inside_it(tmp_path):
    (tmp_path / "events.csv").write_text("class,slug,start_s,end_s,low_hz,high_hz,level,community,model,snr_db\n"
                                         f"Lesser Cuckoo,lesser-cuckoo,{11.5 * HOP / SR},{14.5 * HOP / SR},"
                                         "1000,2000,-30,bird,x,10\n")
    boxes = read_call_boxes(str(tmp_path))
    mask = box_mask(boxes["lesser-cuckoo"], {**META, "start_frame": 10}, (256, FRAMES))
    # frames 12..14 (columns 2..4), bins 24..46 (1033.6 .. 1981.1 Hz)
    assert mask.sum() == 3 * 23
    assert mask[255 - 24, 2] and mask[255 - 46, 4] and not mask[255 - 23, 2] and not mask[255 - 24, 1]


def tile_with(true_rows: dict[str, dict[int, list[int]]]) -> Tile:
    """A tile of the test META whose true maps (level -> class index -> rows over every frame) are given."""
    maps = {level: np.zeros((256, FRAMES), np.uint8) for level in ("species", "community")}
    for level, classes in true_rows.items():
        for k, rows in classes.items():
            maps[level][rows] = k
    return Tile("clip_0000", np.zeros((256, FRAMES), np.uint8), dict(META), maps)


def two_source_clip() -> tuple[ClipAudio, Tile]:
    """A cuckoo tone at 3 kHz and an insect tone at 6 kHz, no background; the tile's truth in their rows."""
    n = FRAMES * HOP
    parts = {"lesser-cuckoo": tone(3000, 0.1, n / SR), "insect": tone(6000, 0.05, n / SR)}
    cuckoo = PALETTES["species"].index("lesser-cuckoo")
    bird, insect = PALETTES["community"].index("bird"), PALETTES["community"].index("insect")
    rows3, rows6 = [row_of(3000) + d for d in (-1, 0, 1)], [row_of(6000) + d for d in (-1, 0, 1)]
    tile = tile_with({"species": {cuckoo: rows3}, "community": {bird: rows3, insect: rows6}})
    return ClipAudio("clip", SR, parts["lesser-cuckoo"] + parts["insect"], parts, None), tile


def test_every_source_together_is_the_mixture_without_its_background():
    clip, tile = two_source_clip()
    full = stft(clip.mixture, N_FFT, HOP)
    records = denoise_all_sources(tile, tile.true_maps["community"], clip, full, {}, PALETTES["community"], 20)
    table = all_sources_table(records, PALETTES["community"]).set_index("tiles with")
    assert list(table.index) == ["bird", "insect", "human", ANY_SOURCE] and table.loc["human"].isna().all()
    assert table.loc[ANY_SOURCE, NO_DENOISE] == pytest.approx(0.0, abs=1e-8)   # no background: nothing to remove
    assert table.loc[ANY_SOURCE, "GAN"] == table.loc[ANY_SOURCE, TRUE_MASK] < table.loc[ANY_SOURCE, EMPTY_MASK]
    one_species = pd.DataFrame(denoise_tile(tile, tile.true_maps["species"], clip, full, {}, PALETTES["species"], 20))
    assert one_species.set_index("method").loc[NO_DENOISE, "mse"] > 1e-4      # the insect counts against it
    assert one_species["box_mse"].isna().all()                                # no boxes given


# --------------------------------------------------------------------------- data05

def test_a_silent_estimate_scores_the_chance_level_floor_and_zero_db_error():
    rng = np.random.default_rng(1)
    reference = rng.standard_normal(1000) * 0.1
    mixture = reference + rng.standard_normal(1000) * 0.1
    scores = {s["method"]: s for s in separation_scores(reference, {"GAN": np.zeros(1000)}, mixture)}["GAN"]
    assert silent_si_sdr_db(1000) == pytest.approx(-10 * np.log10(998))
    assert scores["si_sdr"] == pytest.approx(-29.99, abs=0.01) and scores["silent"]
    assert scores["si_sdri"] == pytest.approx(scores["si_sdr"] - si_sdr(mixture, reference))
    assert scores["error_db"] == 0.0 and scores["mse"] == pytest.approx(np.mean(reference ** 2))


def test_the_floor_is_what_a_silent_estimate_with_a_tiny_white_dither_scores():
    rng = np.random.default_rng(2)
    n = 500
    reference = np.sin(np.arange(n) * 0.3) + 0.1 * rng.standard_normal(n)
    ratios = [10 ** (si_sdr(1e-9 * rng.standard_normal(n), reference) / 10) for _ in range(2000)]
    assert 10 * np.log10(np.mean(ratios)) == pytest.approx(silent_si_sdr_db(n), abs=0.5)


def test_error_re_source_is_relative_to_the_sources_energy():
    reference = np.sin(np.arange(800) * 0.05)
    assert error_db(0.5 * reference, reference) == pytest.approx(10 * np.log10(0.25))
    assert error_db(0.5 * reference * 1e-3, reference * 1e-3) == pytest.approx(10 * np.log10(0.25))   # level-free
    assert error_db(reference, reference) == -120.0 and error_db(np.zeros(800), reference) == 0.0
    assert false_alarm_percent(np.zeros(800), reference) == 0.0
    assert false_alarm_percent(0.5 * reference, reference) == pytest.approx(25.0)


class StubSeparator:
    """NMF's place: fixed soft masks (bins, frames) per community."""

    def masks(self, spectrum):
        return {"bird": np.ones(spectrum.shape), "insect": np.zeros(spectrum.shape),
                "human": np.full(spectrum.shape, 0.5)}


def test_false_alarms_count_energy_put_into_absent_sources_tracks():
    n = FRAMES * HOP
    cuckoo_audio = tone(3000, 0.1, n / SR)
    clip = ClipAudio("clip", SR, cuckoo_audio + 0.01 * np.random.default_rng(3).standard_normal(n).astype(np.float32),
                     {"lesser-cuckoo": cuckoo_audio}, None)
    bird, human = PALETTES["community"].index("bird"), PALETTES["community"].index("human")
    rows3 = [row_of(3000) + d for d in (-1, 0, 1)]
    tile = tile_with({"community": {bird: rows3}})
    gan_map = tile.true_maps["community"].copy()
    gan_map[200:240] = human                      # a false alarm in the human track; none in the insect track
    records = pd.DataFrame(separate_tile(tile, gan_map, clip, StubSeparator(), PALETTES, 20))
    absent = records[~records["present"].astype(bool)].set_index(["community", "method"])["false_alarm"]
    assert absent[("insect", "GAN")] == 0.0 and absent[("insect", NMF)] == 0.0
    assert 0.0 < absent[("human", "GAN")] < 100.0
    assert absent[("human", NMF)] == pytest.approx(25.0, rel=0.02)   # half the amplitude: a quarter of the energy
    present = records[records["present"].astype(bool)]
    assert set(present["method"]) == {"GAN", NMF, TRUE_MASK, SILENCE} and set(present["community"]) == {"bird"}
    table = separation_table(records.to_dict("records"), PALETTES["community"]).set_index("community")
    assert table.loc["human", "GAN false alarm (% of mixture energy)"] == absent[("human", "GAN")]
    assert table.loc["bird", "GAN SI-SDR improvement (dB)"] > 0          # the true mask of the tone helps
    # the GAN painted the bird track exactly as the truth: it scores what the true mask scores
    assert table.loc["bird", f"{TRUE_MASK} SI-SDR improvement (dB)"] == table.loc["bird", "GAN SI-SDR improvement (dB)"]


# --------------------------------------------------------------------------- the summary

def test_summary_reads_off_the_goals_of_data04_and_data05():
    columns = ["GAN", "spectral subtraction", "Wiener filtering", "no denoise", "spectral gating", EMPTY_MASK,
               TRUE_MASK]
    species = pd.DataFrame([["A (a)", 0.1, 0.2, 0.3, 0.4, 0.5, 0.05, 0.01], ["B (b)", 0.3, 0.2, 0.3, 0.4, 0.5, 0.6,
                                                                           0.01]], columns=["species", *columns])
    every = pd.DataFrame([[ANY_SOURCE, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.01]], columns=["tiles with", *columns])
    separation = separation_table([
        {"tile": "t", "community": c, "method": m, "present": True, "mse": 1.0, "si_sdr": 0.0, "si_sdri": v,
         "error_db": -3.0, "silent": False, "false_alarm": np.nan}
        for c, gan, nmf, true in (("bird", 8.0, 2.0, 12.0), ("insect", 1.0, 3.0, 9.5))
        for m, v in (("GAN", gan), (NMF, nmf), (TRUE_MASK, true))],
        PALETTES["community"])
    tiles = pd.DataFrame([{"tile": t, "community": "insect", "method": m, "present": True, "silent": silent}
                          for t, m, silent in (("t1", "GAN", True), ("t2", "GAN", False), ("t1", NMF, False))])
    report = EvaluationReport(tables={"denoising": {"data": species, "in call boxes": species, "all sources": every},
                                      "separation": {"data": separation, "tiles": tiles}})
    text = "\n".join(summary_lines(report, EvaluationOptions()))
    assert "inside its call boxes (MSE, lower is better): GAN below every baseline and no denoise for 1 of 2 " \
           "species (goal: all) (otherwise best: B spectral subtraction); below the empty mask for 1 of 2" in text
    assert "true mask 0.0100" in text and "empty mask 0.3250" in text
    assert "GAN >= NMF for 1 of 2 communities (goal: all)" in text
    assert ("bird GAN +8.0 vs NMF +2.0 (true mask +12.0), insect GAN +1.0 vs NMF +3.0 (true mask +9.5; GAN silent on "
            "1 of 2 tiles)") in text
    assert "mean over communities GAN +4.5 vs NMF +2.5 (goal: GAN >= +6)" in text
    assert "error re source (dB), lower is better; silence 0 dB: bird GAN -3.0 vs NMF -3.0, insect" in text


def test_silent_counts_of_the_about_sheet_and_the_summary_come_from_the_same_tile_rows():
    records = [{"tile": t, "community": c, "method": m, "present": present, "silent": silent}
               for t, c, m, present, silent in (
                   ("t1", "insect", "GAN", True, True), ("t2", "insect", "GAN", True, False),
                   ("t3", "insect", "GAN", True, True), ("t1", "insect", NMF, True, False),
                   ("t2", "insect", NMF, True, True), ("t3", "insect", NMF, True, False),
                   ("t4", "insect", "GAN", False, None),      # absent: only a false alarm, never counted
                   ("t1", "bird", "GAN", True, False), ("t1", "bird", NMF, True, False))]
    tiles = tiles_sheet(records)
    assert silent_estimates(tiles, "insect", "GAN") == (2, 3) and silent_estimates(tiles, "insect", NMF) == (1, 3)
    assert silent_estimates(tiles, "bird", "GAN") == (0, 1) and silent_estimates(tiles, "human", "GAN") == (0, 0)
    counts = separation_counts(records, tiles)
    assert counts[SILENT_ESTIMATES] == {"bird": {"GAN": 0, NMF: 0}, "insect": {"GAN": 2, NMF: 1}}
    assert counts["test tiles per community"] == {"bird": 1, "insect": 3}
