"""job06's tables: each one's columns and values on hand-made cases, the xlsx files, and a tiny run end to end."""

import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from util.evaluation import summary
from util.evaluation.ablation import DIFFERENCE, NOT_TOLD_APART, RunScores, better, data_columns, difference_rows
from util.evaluation.classification import classification_table
from util.evaluation.context import Evaluation
from util.evaluation.denoising import EMPTY_MASK, TRUE_MASK, denoising_scores, denoising_table
from util.evaluation.occupancy import occupancy_table
from util.evaluation.options import EvaluationOptions
from util.evaluation.pixel_f1 import CEILING, clip_pixel_counts, pixel_counts, pixel_f1_table
from util.evaluation.profiles import frequency_profile_table
from util.evaluation.registry import TABLE_FILES
from util.evaluation.separation import SILENCE, separation_columns, separation_scores, separation_table
from util.evaluation.thresholds import choose_thresholds, f1_scores
from util.evaluation.training_curves import ssim_lpips_table
from util.evaluation.workbook import ABOUT_SHEET, read_workbook, write_workbook
from util.gan.options import finish_options, train_parser
from util.gan.train import train
from util.labels.palette import load_palette
from util.metrics import PixelCounts, bootstrap_pixel_f1
from util.synth import generate_dataset

PALETTES = {level: load_palette(level) for level in ("species", "community")}
SPECIES_COLUMNS = [c.display_name for c in PALETTES["species"].classes]
CUCKOO = "Lesser Cuckoo (Cuculus poliocephalus)"


# --------------------------------------------------------------------------- tables on hand-made cases

def test_ssim_lpips_table_has_the_papers_columns_and_every_epoch_of_both_logs():
    species = pd.DataFrame({"epoch": [1, 2, 3], "ssim": [0.1, 0.2, 0.3], "lpips": [0.5, 0.4, 0.3], "pixel_f1": 0})
    community = pd.DataFrame({"epoch": [1, 2], "ssim": [0.6, 0.7], "lpips": [np.nan, np.nan]})
    table = ssim_lpips_table({"species": species, "community": community})
    assert list(table.columns) == ["epoch", "community ssim", "community lpips", "species ssim", "species lpips"]
    assert table["epoch"].tolist() == [1, 2, 3]
    assert table["species ssim"].tolist() == [0.1, 0.2, 0.3]
    assert np.isnan(table.loc[2, "community ssim"]) and table.loc[1, "community ssim"] == 0.7
    assert ssim_lpips_table({"species": species, "community": None})["community ssim"].isna().all()


def test_frequency_table_gives_the_mean_level_per_frequency_of_each_class():
    db = np.full((256, 4), -90.0)
    species_map = np.zeros((256, 4), np.uint8)
    row_3khz = 255 - round(3000 * 512 / 22050)
    species_map[row_3khz, :2] = PALETTES["species"].index("lesser-cuckoo")
    db[row_3khz, :2] = [-40.0, -60.0]
    community_map = (species_map > 0).astype(np.uint8)   # bird
    table = frequency_profile_table([db], {"species": [species_map], "community": [community_map]}, PALETTES,
                                    22050, 512)
    assert list(table.columns) == ["frequency(Hz)", *SPECIES_COLUMNS, "bird", "insect", "human"]
    at_3khz = table.iloc[(table["frequency(Hz)"] - 3000).abs().argmin()]
    assert at_3khz[CUCKOO] == pytest.approx(-50.0) and at_3khz["bird"] == pytest.approx(-50.0)
    assert table[CUCKOO].notna().sum() == 1 and table["insect"].isna().all()
    assert table["frequency(Hz)"].is_monotonic_increasing


def test_occupancy_table_gives_percentages_for_gan_and_truth():
    true = np.zeros((4, 10), np.uint8)
    true[0, :5] = 1                         # class 1 in half the frames, 5 of 40 cells
    gan = np.zeros((4, 10), np.uint8)
    gan[:2, :2] = 1                         # in 2 frames, 4 cells
    maps = lambda m: {"species": [m], "community": [m]}
    table = occupancy_table(maps(gan), maps(true), PALETTES)
    assert list(table.columns) == ["community/species", "time percentage", "acoustic space percentage",
                                   "true time percentage", "true acoustic space percentage"]
    assert table["community/species"].tolist() == [*SPECIES_COLUMNS, "bird", "insect", "human"]
    first = table.iloc[0]
    assert (first["time percentage"], first["acoustic space percentage"]) == pytest.approx((20.0, 10.0))
    assert (first["true time percentage"], first["true acoustic space percentage"]) == pytest.approx((50.0, 12.5))


def test_a_perfect_gan_mask_denoises_to_the_clean_spectrogram_and_no_denoise_does_not():
    clean = np.full((8, 8), -100.0)
    clean[2:4, 2:6] = -30.0
    mixture = np.full((8, 8), -60.0)        # noise everywhere
    mixture[2:4, 2:6] = -30.0
    mask = clean > -100
    scores = denoising_scores(clean, mixture, mask, {"spectral subtraction": mixture - 20}, -100.0, 0.0)
    assert scores["GAN"] == 0.0
    assert scores["no denoise"] == pytest.approx(np.mean(np.where(mask, 0, 0.4) ** 2))
    assert scores[EMPTY_MASK] == pytest.approx(np.mean(np.where(mask, 0.7, 0) ** 2))
    assert 0 < scores["spectral subtraction"] < scores["no denoise"]


def test_denoising_table_has_the_papers_columns_plus_gating_and_the_references():
    records = [{"tile": t, "species": "lesser-cuckoo", "method": m, "mse": v, "box_mse": 2 * v}
               for t, offset in (("a", 0.0), ("b", 0.2))
               for m, v in (("GAN", 0.1), ("spectral subtraction", 0.2), ("Wiener filtering", 0.3),
                            ("no denoise", 0.4), ("spectral gating", 0.5), (EMPTY_MASK, 0.6), (TRUE_MASK, 0.05))
               for v in [v + offset]]
    table = denoising_table(records, PALETTES["species"])
    assert list(table.columns) == ["species", "GAN", "spectral subtraction", "Wiener filtering", "no denoise",
                                   "spectral gating", EMPTY_MASK, TRUE_MASK]
    row = table.set_index("species").loc[CUCKOO]
    assert row["GAN"] == pytest.approx(0.2) and row["no denoise"] == pytest.approx(0.5)
    assert row[TRUE_MASK] == pytest.approx(0.15)
    assert denoising_table(records, PALETTES["species"], "box_mse").set_index("species").loc[CUCKOO, "GAN"] == \
        pytest.approx(0.4)
    assert len(table) == 8 and table.set_index("species").drop(CUCKOO).isna().all().all()


def test_separation_scores_a_perfect_estimate_at_zero_mse_and_high_si_sdr():
    rng = np.random.default_rng(0)
    reference = rng.standard_normal(1000) * 0.1
    mixture = reference + rng.standard_normal(1000) * 0.1
    scores = {s["method"]: s for s in separation_scores(reference, {"GAN": reference, "NMF": mixture}, mixture)}
    assert scores["GAN"]["mse"] == 0.0 and scores["GAN"]["si_sdr"] > 100
    assert scores["NMF"]["si_sdri"] == pytest.approx(0.0)


def test_separation_table_has_mse_si_sdr_error_and_false_alarms_for_gan_and_nmf():
    def record(tile, method, present=True, **values):
        return {"tile": tile, "community": "bird", "method": method, "present": present, "mse": np.nan,
                "si_sdr": np.nan, "si_sdri": np.nan, "error_db": np.nan, "silent": False, "false_alarm": np.nan,
                **values}
    records = [record("a", "GAN", mse=1e-5, si_sdr=10.0, si_sdri=5.0, error_db=-8.0),
               record("a", "NMF", mse=3e-5, si_sdr=2.0, si_sdri=-3.0, error_db=-1.0),
               record("b", "GAN", mse=3e-5, si_sdr=-48.0, si_sdri=-50.0, error_db=0.0, silent=True),
               record("a", SILENCE, mse=4e-5, si_sdr=-48.0, si_sdri=-53.0, error_db=0.0),
               record("a", TRUE_MASK, mse=1e-6, si_sdr=20.0, si_sdri=15.0, error_db=-20.0),
               record("b", TRUE_MASK, mse=2e-6, si_sdr=18.0, si_sdri=12.0, error_db=-18.0),
               record("c", "GAN", present=False, false_alarm=0.0), record("d", "GAN", present=False, false_alarm=3.0),
               record("c", "NMF", present=False, false_alarm=1.0)]
    table = separation_table(records, PALETTES["community"])
    assert list(table.columns) == separation_columns() == [
        "community", "GAN", "NMF", "GAN SI-SDR (dB)", "NMF SI-SDR (dB)", "GAN SI-SDR improvement (dB)",
        "NMF SI-SDR improvement (dB)", "true mask (reference) SI-SDR improvement (dB)", SILENCE,
        "GAN error re source (dB)", "NMF error re source (dB)",
        "GAN false alarm (% of mixture energy)", "NMF false alarm (% of mixture energy)"]
    bird = table.set_index("community").loc["bird"]
    assert bird["GAN"] == pytest.approx(2e-5) and bird["NMF"] == 3e-5 and bird[SILENCE] == 4e-5
    assert bird["GAN SI-SDR (dB)"] == pytest.approx(-19.0)      # the silent tile counts, at its floor
    assert bird[f"{TRUE_MASK} SI-SDR improvement (dB)"] == pytest.approx(13.5)
    assert bird["GAN error re source (dB)"] == pytest.approx(-4.0)
    assert bird["GAN false alarm (% of mixture energy)"] == pytest.approx(1.5)
    assert bird["NMF false alarm (% of mixture energy)"] == pytest.approx(1.0)
    assert table["community"].tolist() == ["bird", "insect", "human", "mean"]
    assert table.set_index("community").loc["mean", "GAN SI-SDR (dB)"] == pytest.approx(-19.0)   # only bird rated


def test_gan_area_threshold_is_chosen_half_way_into_the_gap_that_maximises_val_f1():
    areas = np.array([[0, 5], [3, 0], [50, 7], [80, 0], [2, 9]])
    truth = np.array([[False, False], [False, False], [True, False], [True, False], [False, False]])
    thresholds = choose_thresholds(areas, truth, per_species=True, fallback=20)
    assert thresholds.tolist() == [26.5, 20.0]   # species 2 never present in these tiles: the fallback
    present = areas > thresholds
    assert present[:, 0].tolist() == [False, False, True, True, False]


def test_a_noisy_species_gets_the_threshold_with_the_best_f1_not_a_perfect_one():
    areas = np.array([[10], [20], [30], [40], [25]])
    truth = np.array([[False], [True], [True], [True], [False]])
    # above 15: TP 3, FP 1 (F1 0.857); above 25: TP 2, FN 1 (F1 0.8); above 0: FP 2 (F1 0.75)
    assert choose_thresholds(areas, truth)[0] == 15.0
    assert choose_thresholds(areas, truth, per_species=False)[0] == 15.0


def test_cnn_sigmoid_thresholds_follow_the_same_rule():
    probabilities = np.array([[0.05, 0.9], [0.2, 0.1], [0.3, 0.8], [0.6, 0.2]])
    truth = np.array([[False, True], [False, False], [True, True], [True, False]])
    # species 1: above 0.25 keeps tiles 3 and 4 (F1 1); species 2: above 0.5 keeps tiles 1 and 3 (F1 1)
    np.testing.assert_allclose(choose_thresholds(probabilities, truth, fallback=0.5), [0.25, 0.5])
    assert choose_thresholds(probabilities, np.zeros_like(truth), fallback=0.5).tolist() == [0.5, 0.5]


def test_classification_table_gives_f1_per_species_and_the_mean_for_each_method():
    truth = np.zeros((4, 8), bool)
    truth[:2, 0] = True
    truth[2, 1] = True
    perfect = truth.copy()
    half = truth.copy()
    half[0, 0] = False
    table = classification_table(truth, {"GAN": perfect, "ResNet50": half, "VGG16": None}, PALETTES["species"])
    assert list(table.columns) == ["species", "GAN", "ResNet50", "VGG16"]
    assert table["species"].tolist() == [*SPECIES_COLUMNS, "mean"]
    assert table["GAN"].iloc[0] == 1.0 and table["ResNet50"].iloc[0] == pytest.approx(2 / 3)
    assert table["GAN"].iloc[-1] == 1.0 and table["ResNet50"].iloc[-1] == pytest.approx((2 / 3 + 1) / 2)
    assert table["VGG16"].isna().all() and np.isnan(f1_scores(truth, perfect)[2])
    # the summary line gives each method's mean, and says which CNN was not run rather than printing nan
    assert summary._classification_line(table) == ("classification F1 (mean over species): GAN 1.000, "
                                                    "ResNet50 0.833, VGG16 not run")


def test_pixel_f1_table_gives_each_class_and_the_mean_at_both_levels():
    true = np.zeros((4, 4), np.uint8)
    true[0, :2] = 1
    pred = true.copy()
    pred[1, 0] = 1                          # one false positive: F1 = 4 / 5
    counts = {"species": pixel_counts([pred], [true], 8), "community": pixel_counts([true], [true], 3)}
    table = pixel_f1_table(counts, PALETTES)
    assert list(table.columns) == COLUMNS["pixel_f1"]
    assert table[["pixel F1 low (95 %)", CEILING]].isna().all().all()     # not given: empty
    species = table[table["level"] == "species"].set_index("class")
    assert species.loc[SPECIES_COLUMNS[0], "pixel F1"] == pytest.approx(0.8)
    assert species.loc["mean", "pixel F1"] == pytest.approx(0.8)    # the only class that occurs
    community = table[table["level"] == "community"].set_index("class")
    assert list(community.index) == ["bird", "insect", "human", "mean"] and community.loc["mean", "pixel F1"] == 1.0


def test_pixel_f1_table_gives_the_interval_over_clips_and_the_ceiling_beside_the_models_f1():
    rng = np.random.default_rng(0)
    true = [rng.integers(0, 3, (4, 6)).astype(np.uint8) for _ in range(6)]
    pred = [np.where(rng.random(t.shape) < 0.3, 0, t).astype(np.uint8) for t in true]
    tiles = [type("T", (), {"stem": stem})() for stem in ("a_0000", "a_0001", "b", "c_0000", "c_0001", "d")]
    clips = clip_pixel_counts(pred, true, tiles, 3)
    assert sorted(clips) == ["a", "b", "c", "d"]
    assert clips["a"].tp.sum() == pixel_counts(pred[:2], true[:2], 3).tp.sum()
    ceiling = PixelCounts(3)
    ceiling.update(true[0], true[0])                      # another draw that agrees everywhere: ceiling 1
    table = pixel_f1_table({"community": pixel_counts(pred, true, 3)}, PALETTES,
                           {"community": bootstrap_pixel_f1(clips)}, {"community": ceiling})
    mean = table.set_index("class").loc["mean"]
    assert mean["pixel F1 low (95 %)"] < mean["pixel F1"] < mean["pixel F1 high (95 %)"]
    np.testing.assert_array_equal(table[CEILING], [1.0, 1.0, np.nan, 1.0])   # human occurs in neither draw


def test_a_workbook_has_its_sheets_then_about_and_leaves_no_temporary_file(tmp_path):
    path = str(tmp_path / "data02_frequency_quantification.xlsx")
    gan, truth = pd.DataFrame({"frequency(Hz)": [0.0, 43.1], "bird": [np.nan, -50.0]}), pd.DataFrame({"x": [1]})
    write_workbook(path, {"GAN": gan, "truth": truth}, {"data": "synthetic", "software": {"util": "0.1.0"}})
    sheets = read_workbook(path)
    assert list(sheets) == ["GAN", "truth", ABOUT_SHEET]
    assert sheets["about"].set_index("item").loc["software", "value"] == '{"util": "0.1.0"}'
    assert np.isnan(sheets["GAN"].loc[0, "bird"])
    assert os.listdir(tmp_path) == ["data02_frequency_quantification.xlsx"]


def test_ablation_difference_is_gan_on_minus_off_and_says_which_is_better():
    rng = np.random.default_rng(1)
    off, on = RunScores(3), RunScores(3)
    for i in range(8):
        true = rng.integers(0, 4, (6, 6)).astype(np.uint8)
        off.add(f"c{i}", np.where(rng.random(true.shape) < 0.5, 0, true), true, ssim=0.5 + 0.01 * i, lpips=0.4)
        on.add(f"c{i}", np.where(rng.random(true.shape) < 0.1, 0, true), true, ssim=0.6 + 0.01 * i, lpips=0.4)
    rows = pd.DataFrame(difference_rows("community", ["bird", "insect", "human"], off, on)).set_index("metric")
    assert list(rows.index) == ["pixel F1", "SSIM", "LPIPS", "F1 bird", "F1 insect", "F1 human"]
    for metric, row in rows.iterrows():
        assert row[DIFFERENCE] == pytest.approx(row["GAN on"] - row["GAN off"]), metric
        assert row["difference low (95 %)"] <= row[DIFFERENCE] <= row["difference high (95 %)"], metric
    assert rows.loc["pixel F1", "better"] == "GAN on" and rows.loc["SSIM", DIFFERENCE] == pytest.approx(0.1)
    assert rows.loc["LPIPS", "better"] == NOT_TOLD_APART                        # the same on every tile
    assert better(-0.1, -0.2, -0.05, higher_is_better=False) == "GAN on"       # LPIPS: lower is better
    assert better(0.1, -0.01, 0.2, higher_is_better=True) == NOT_TOLD_APART


# --------------------------------------------------------------------------- job06 end to end

TINY = ["--preset", "demo", "--epoch_size", "0", "--ngf", "8", "--ndf", "8", "--n_epochs", "1", "--n_epochs_decay", "0",
        "--gpu_ids", "-1", "--seed", "3", "--print_freq", "100"]
COLUMNS = {
    "ssim_lpips": ["epoch", "community ssim", "community lpips", "species ssim", "species lpips"],
    "frequency": ["frequency(Hz)", *SPECIES_COLUMNS, "bird", "insect", "human"],
    "occupancy": ["community/species", "time percentage", "acoustic space percentage", "true time percentage",
                  "true acoustic space percentage"],
    "denoising": ["species", "GAN", "spectral subtraction", "Wiener filtering", "no denoise", "spectral gating",
                  EMPTY_MASK, TRUE_MASK],
    "separation": separation_columns(),
    "classification": ["species", "GAN", "ResNet50", "VGG16"],
    "pixel_f1": ["level", "class", "pixel F1", "pixel F1 low (95 %)", "pixel F1 high (95 %)", CEILING, "precision",
                 "recall", "true pixels", "predicted pixels"],
    "ablation": data_columns(PALETTES),
}


SHEETS = {"frequency": ["GAN", "truth"], "denoising": ["data", "in call boxes", "all sources"],
          "separation": ["data", "tiles"],
          "ablation": ["data", "difference", "training"]}


def run_job06(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "job06_evaluate.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """job00 with a handful of clips -> 1-epoch tiny models of both levels (the demo recipe: no GAN term) and a
    species model with the GAN term, for data08 -> job06 with tiny CNN and NMF settings."""
    started = time.perf_counter()
    root = tmp_path_factory.mktemp("eval")
    generate_dataset(str(root), n_train=6, n_val=2, n_test=3, seed=2, workers=1, progress=False)
    for level, folder, extra in (("species", "out_gan_mdl", []), ("community", "out_gan_mdl", []),
                                 ("species", "out_gan", ["--lambda_GAN", "1"])):
        train(finish_options(train_parser("test").parse_args(
            ["--dataroot", str(root / "input_img"), "--checkpoints_dir", str(root / folder),
             "--level", level, *TINY, *extra])))
    args = ["--root", str(root), "--checkpoints_dir", str(root / "out_gan_mdl"), "--out", str(root / "data"),
            "--gpu_ids", "-1", "--cnn_epochs", "1", "--cnn_image_size", "32", "--cnn_batch_size", "4",
            "--cnn_weights", str(root / "no_such_folder"), "--nmf_components", "2", "--nmf_iter", "20",
            "--n_examples", "1", "--ablation_checkpoints", str(root / "out_gan")]
    # the data seed comes from job00's input_wav/dataset.json
    result = run_job06(*args)
    return root, args, result, time.perf_counter() - started


def test_job06_writes_every_table_with_its_columns_and_an_about_sheet(tiny_run):
    root, _, result, seconds = tiny_run
    assert result.returncode == 0, result.stderr
    print(f"tiny run (job00 + 2 trainings + job06): {seconds:.0f} s")
    for key, name in TABLE_FILES.items():
        sheets = read_workbook(str(root / "data" / name))
        expected_sheets = [*SHEETS.get(key, ["data"]), ABOUT_SHEET]
        assert list(sheets) == expected_sheets, name
        assert list(next(iter(sheets.values())).columns) == COLUMNS[key], name
        if key == "denoising":
            assert list(sheets["in call boxes"].columns) == COLUMNS[key]
            assert list(sheets["all sources"].columns) == ["tiles with", *COLUMNS[key][1:]]
        about = sheets[ABOUT_SHEET].set_index("item")["value"]
        assert {"table", "metric domain", "software"} <= set(about.index), name
        assert '"util": "0.1.0"' in about["software"]
        if key != "ssim_lpips":
            assert about["data seed"] == 2 and "synthetic" in about["data"]
    assert not [n for n in os.listdir(root / "data") if n.startswith(".")]


def test_job06_tables_hold_numbers_from_the_run(tiny_run):
    root = tiny_run[0]
    ssim = read_workbook(str(root / "data" / TABLE_FILES["ssim_lpips"]))["data"]
    assert ssim["epoch"].tolist() == [1] and 0 <= ssim.loc[0, "species ssim"] <= 1
    denoising = read_workbook(str(root / "data" / TABLE_FILES["denoising"]))
    assert denoising["data"]["no denoise"].notna().any() and denoising["in call boxes"]["GAN"].notna().any()
    any_source = denoising["all sources"].set_index("tiles with").loc["any source"]
    assert np.isfinite(any_source[TRUE_MASK]) and np.isfinite(any_source["GAN"])
    separation = read_workbook(str(root / "data" / TABLE_FILES["separation"]))
    assert separation["data"]["community"].iloc[-1] == "mean"
    assert np.isfinite(separation["data"].set_index("community").loc["bird", f"{TRUE_MASK} SI-SDR improvement (dB)"])
    tiles = separation["tiles"]      # the means are made of the per-tile sheet's rows
    present = tiles[tiles["present"].astype(bool)]
    for method, column in (("GAN", "GAN SI-SDR improvement (dB)"), (TRUE_MASK, f"{TRUE_MASK} SI-SDR improvement (dB)")):
        rows = present[(present["community"] == "bird") & (present["method"] == method)]
        assert len(rows) > 0
        assert separation["data"].set_index("community").loc["bird", column] == pytest.approx(rows["si_sdri"].mean())
    assert "silent estimates" in separation["about"].set_index("item").loc["counts", "value"]
    pixel = read_workbook(str(root / "data" / TABLE_FILES["pixel_f1"]))["data"]
    assert set(pixel["level"]) == {"species", "community"} and (pixel["class"] == "mean").sum() == 2
    classification = read_workbook(str(root / "data" / TABLE_FILES["classification"]))
    about = classification["about"].set_index("item")["value"]
    assert "random initialisation" in about["counts"] and "BCE pos_weight" in about["counts"]
    assert about["thresholds chosen on"] == "val (2 tiles)" and '"val tiles": 2' in about["counts"]
    mean = pixel.set_index(["level", "class"]).loc[("species", "mean")]
    assert mean["pixel F1 low (95 %)"] <= mean["pixel F1"] <= mean["pixel F1 high (95 %)"]
    assert 0.5 < mean[CEILING] <= 1.0                  # the labels of another noise draw mostly agree
    ssim_about = read_workbook(str(root / "data" / TABLE_FILES["ssim_lpips"]))["about"].set_index("item")["value"]
    assert ssim_about["score split"] == '{"species": "val", "community": "val"}'


def test_job06_ablation_scores_the_run_with_the_gan_term_beside_the_main_run(tiny_run):
    root, _, result, _ = tiny_run
    sheets = read_workbook(str(root / "data" / TABLE_FILES["ablation"]))
    data = sheets["data"].set_index(["level", "run"])
    assert list(data.index) == [("species", "main"), ("species", "ablation")]    # GAN off first; community: no run with GAN
    assert "community_net_G.pth; the community level is left out" in result.stdout
    assert data.loc[("species", "main"), "lambda_GAN"] == 0 and data.loc[("species", "ablation"), "lambda_GAN"] == 1
    assert list(data["GAN term"]) == ["GAN off", "GAN on"] and data["note"].isna().all()   # nothing else differs
    pixel = read_workbook(str(root / "data" / TABLE_FILES["pixel_f1"]))["data"].set_index(["level", "class"])
    assert data.loc[("species", "main"), "pixel F1"] == pytest.approx(pixel.loc[("species", "mean"), "pixel F1"],
                                                                      nan_ok=True)   # data07's code path
    difference = sheets["difference"].set_index("metric")
    on, off = data.loc[("species", "ablation")], data.loc[("species", "main")]
    for metric in ("pixel F1", "SSIM", "LPIPS"):
        row = difference.loc[metric]
        assert row[DIFFERENCE] == pytest.approx(on[metric] - off[metric], nan_ok=True), metric
        if np.isfinite(row[DIFFERENCE]):
            assert row["difference low (95 %)"] <= row[DIFFERENCE] <= row["difference high (95 %)"], metric
    assert np.isfinite(on["LPIPS"]) or "LPIPS skipped" in result.stdout
    training = sheets["training"]
    assert sorted(zip(training["run"], training["epoch"])) == [("ablation", 1), ("main", 1)]
    about = sheets["about"].set_index("item")["value"]
    assert about["fairness"] == '{"species": "the runs differ only in lambda_GAN"}'
    assert "ablation, GAN on - off" in result.stdout


def test_job06_without_a_val_split_chooses_on_train_and_says_so(tiny_run, tmp_path):
    root, args, _, _ = tiny_run
    no_val = tmp_path / "root"               # the same set without its val pairs
    os.makedirs(no_val / "input_img")
    os.symlink(root / "input_wav", no_val / "input_wav")
    for name in os.listdir(root / "input_img"):
        if not name.startswith("val_"):
            os.symlink(root / "input_img" / name, no_val / "input_img" / name)
    result = run_job06("--root", str(no_val), "--checkpoints_dir", str(root / "out_gan_mdl"), "--out",
                       str(tmp_path / "d"), "--gpu_ids", "-1", "--cnn_models", "none", "--no_ceiling",
                       "--nmf_components", "2", "--nmf_iter", "20", "--n_examples", "1")
    assert result.returncode == 0, result.stderr
    assert "no val split" in result.stdout and "--n_val" in result.stdout
    about = read_workbook(str(tmp_path / "d" / TABLE_FILES["classification"]))["about"].set_index("item")["value"]
    assert about["thresholds chosen on"].startswith("train (6 tiles): this data set has no val split")
    assert "job06: data08: skipped (no --ablation_checkpoints" in result.stdout
    assert not os.path.exists(tmp_path / "d" / TABLE_FILES["ablation"])


def test_job06_draws_every_figure(tiny_run):
    folder = tiny_run[0] / "data" / "figures"
    names = sorted(os.listdir(folder))
    assert len(names) == 10 and all(n.endswith(".png") for n in names) and "fig10_ablation.png" in names
    assert all(os.path.getsize(folder / n) > 2000 for n in names)


def test_job06_says_once_that_the_cnns_train_from_scratch_and_prints_a_summary(tiny_run):
    _, _, result, _ = tiny_run
    lines = [line for line in result.stderr.splitlines() if "--cnn_weights" in line]
    assert len(lines) == 1 and "no such folder" in lines[0] and "from scratch" in lines[0]
    assert "pixel F1" in result.stdout and "denoising" in result.stdout and "separation" in result.stdout
    assert "figures in" in result.stdout


def test_job06_keeps_finished_tables_unless_overwrite(tiny_run):
    root, args, _, _ = tiny_run
    path = root / "data" / TABLE_FILES["denoising"]
    before = os.path.getmtime(path)
    result = run_job06(*args)
    assert result.returncode == 0, result.stderr
    assert os.path.getmtime(path) == before and "existing outputs kept" in result.stdout


def test_job06_without_generators_makes_what_it_can_and_names_the_missing_files(tiny_run, tmp_path):
    root = tiny_run[0]
    result = run_job06("--root", str(root), "--checkpoints_dir", str(tmp_path / "none"), "--out", str(tmp_path / "d"),
                       "--gpu_ids", "-1", "--cnn_models", "none")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2
    assert "species_net_G.pth: no such generator" in errors[0] and "data02_frequency_quantification.xlsx" in errors[0]
    assert "community_net_G.pth: no such generator" in errors[1] and "data05_source_separation.xlsx" in errors[1]
    assert sorted(os.listdir(tmp_path / "d")) == ["data01_ssim_lpips.xlsx", "figures"]


def test_max_train_tiles_gives_the_baselines_the_first_tiles_only(tiny_run):
    root = str(tiny_run[0])
    every = Evaluation(EvaluationOptions(root=root)).train_tiles
    first = Evaluation(EvaluationOptions(root=root, max_train_tiles=2)).train_tiles
    assert len(every) == 6 and [t.stem for t in first] == [t.stem for t in every[:2]]
