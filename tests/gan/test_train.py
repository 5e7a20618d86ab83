"""job03 / job04 as users run them, on a tiny synthetic set with a small network."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from conftest import ROOT

from util.errors import UserError
from util.gan.options import finish_options, train_parser
from util.gan.train import best_epoch, epoch_order, sampling_weights, train
from util.synth import generate_dataset

# the demo recipe with the GAN term on, so that resuming is checked for D (its weights, optimiser and RNG) too
TINY = ["--preset", "demo", "--epoch_size", "0", "--lambda_GAN", "1", "--ngf", "8", "--ndf", "8", "--n_epochs", "1",
        "--n_epochs_decay", "1", "--print_freq", "1", "--gpu_ids", "-1", "--seed", "3"]


@pytest.fixture(scope="module")
def dataroot(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    generate_dataset(str(root), n_train=4, n_val=1, n_test=2, seed=11, workers=1, progress=False)
    return str(root / "input_img")


def options(dataroot, checkpoints, *extra):
    return finish_options(train_parser("test").parse_args(
        ["--dataroot", dataroot, "--checkpoints_dir", str(checkpoints), *TINY, *extra]))


def run_job(script, *args, **kwargs):
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, **kwargs)


def weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def uninterrupted(dataroot, tmp_path_factory):
    """The weights of a run never stopped (2 epochs of 4 steps)."""
    folder = tmp_path_factory.mktemp("whole")
    assert train(options(dataroot, folder)).finished
    return folder


@pytest.mark.parametrize("stop_at_step", [3, 4, 6])
def test_run_stopped_at_any_step_and_resumed_ends_with_the_same_weights(dataroot, uninterrupted, tmp_path,
                                                                         stop_at_step):
    first = train(options(dataroot, tmp_path / "split"), stop_after_step=lambda step: step == stop_at_step)
    assert not first.finished
    second = train(options(dataroot, tmp_path / "split", "--continue_train"))
    assert second.finished
    a = weights(uninterrupted / "species" / "latest_net_G.pth")
    b = weights(tmp_path / "split" / "species" / "latest_net_G.pth")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    d_a = weights(uninterrupted / "species" / "latest_net_D.pth")
    d_b = weights(tmp_path / "split" / "species" / "latest_net_D.pth")
    assert all(torch.equal(d_a[k], d_b[k]) for k in d_a)


def test_each_epoch_logs_val_scores_and_the_final_generator_has_the_published_name(uninterrupted):
    tmp_path = uninterrupted
    with open(tmp_path / "species" / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"epoch", "ssim", "lpips", "pixel_f1", "f1_lesser-cuckoo", "f1_harterts-leaf-warbler"} <= rows[0].keys()
    assert all(0.0 <= float(r["ssim"]) <= 1.0 for r in rows)
    assert [(r["split"], r["n_pairs"]) for r in rows] == [("val", "1"), ("val", "1")]   # 1 val pair, 2 test pairs
    assert all(float(r["pixel_f1_lo"]) == float(r["pixel_f1"]) == float(r["pixel_f1_hi"]) for r in rows)  # one clip
    final = weights(tmp_path / "species_net_G.pth")
    saved = json.load(open(tmp_path / "species" / "train_opt.json"))
    assert saved["ngf"] == 8 and saved["level"] == "species" and saved["netG"] == "unet_256"
    # the demo preset's row contrast: the first conv sees the grey and its contrast, the quantile is in the weights
    assert saved["row_contrast"] == 0.2 and float(final["row_contrast.quantile"]) == pytest.approx(0.2)
    assert "model.model.0.weight" in final and final["model.model.0.weight"].shape[:2] == (8, 2)


def test_the_delivered_generator_is_the_epoch_scored_best_on_val(dataroot, uninterrupted):
    with open(uninterrupted / "species" / "metrics.csv") as handle:
        scores = [float(r["pixel_f1"]) for r in csv.DictReader(handle)]
    best = 1 + int(np.argmax(scores))   # the earliest of equal scores
    final = weights(uninterrupted / "species_net_G.pth")
    epoch_copy, kept = (weights(uninterrupted / "species" / f"{best}_net_G.pth"),
                        weights(uninterrupted / "species" / "best_net_G.pth"))
    layers = [k for k in final if not k.startswith("decoding.")]
    assert sorted(layers) == sorted(epoch_copy) and all(torch.equal(final[k], epoch_copy[k]) for k in layers)
    # the demo preset fits the decoding on val into the delivered weights and the run's copy job04 reads
    assert final.keys() == kept.keys() and all(torch.equal(final[k], kept[k]) for k in final)
    assert final["decoding.offsets"].shape == (9,) and float(final["decoding.offsets"][0]) == 0.0
    # job03 on the finished run does nothing but say which epoch its generator is, and its decoding
    again = run_job("job03_train.py", "--dataroot", dataroot, "--checkpoints_dir", str(uninterrupted), *TINY)
    assert again.returncode == 0, again.stderr
    beside = json.load(open(uninterrupted / "species_net_G.train_opt.json"))
    assert beside["selected_epoch"] == best
    assert beside["decoding"]["offsets"] == pytest.approx(final["decoding.offsets"].tolist())


def test_select_epoch_last_delivers_the_last_epoch(dataroot, tmp_path):
    result = train(options(dataroot, tmp_path, "--select_epoch", "last"))
    assert result.selected_epoch == 2 and not (tmp_path / "species" / "best_net_G.pth").exists()
    final, last = weights(tmp_path / "species_net_G.pth"), weights(tmp_path / "species" / "latest_net_G.pth")
    assert all(torch.equal(final[k], last[k]) for k in final)


def test_best_epoch_reads_the_scored_split_and_keeps_the_earliest_of_equals(tmp_path):
    rows = [("1", "val", "0.3"), ("2", "val", "0.5"), ("3", "val", "0.5"), ("4", "val", "nan"), ("5", "test", "0.9"),
            ("6", "val", "0.45")]
    with open(tmp_path / "metrics.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "split", "pixel_f1"])
        writer.writerows(rows)
    assert best_epoch(str(tmp_path), "val") == 2
    assert best_epoch(str(tmp_path), "test") == 5
    assert best_epoch(str(tmp_path / "none"), "val") is None


def test_a_finished_run_is_skipped_and_an_unfinished_one_needs_continue_train_or_overwrite(dataroot, uninterrupted,
                                                                                            tmp_path):
    again = run_job("job03_train.py", "--dataroot", dataroot, "--checkpoints_dir", str(uninterrupted), *TINY)
    assert again.returncode == 0 and "already trained" in again.stdout
    train(options(dataroot, tmp_path), stop_after_step=lambda step: step == 2)
    refused = run_job("job03_train.py", "--dataroot", dataroot, "--checkpoints_dir", str(tmp_path), *TINY)
    assert refused.returncode == 2 and "--continue_train" in refused.stderr and "Traceback" not in refused.stderr
    fresh = train(options(dataroot, tmp_path, "--overwrite"))
    assert fresh.finished
    with open(tmp_path / "species" / "metrics.csv") as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["1", "2"]


def test_ctrl_c_saves_and_says_how_to_resume(dataroot, tmp_path):
    args = [sys.executable, os.path.join(ROOT, "job03_train.py"), "--dataroot", dataroot,
            "--checkpoints_dir", str(tmp_path), *TINY[:-6], "--n_epochs", "50", "--seed", "3"]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = tmp_path / "species" / "loss_log.csv"
    deadline = time.time() + 300
    while not log.exists() and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert "resume with:" in err and "--continue_train" in err and "Traceback" not in err
    state = torch.load(tmp_path / "species" / "latest_state.pth", map_location="cpu", weights_only=True)
    assert state["progress"]["epoch"] >= 1


def test_job04_scores_every_test_pair_with_the_options_the_run_was_trained_with(dataroot, tmp_path):
    train(options(dataroot, tmp_path, "--level", "community", "--score_split", "test"))
    with open(tmp_path / "community" / "metrics.csv") as handle:
        assert {(r["split"], r["n_pairs"]) for r in csv.DictReader(handle)} == {("test", "2")}
    result = run_job("job04_test.py", "--dataroot", dataroot, "--checkpoints_dir", str(tmp_path), "--name", "community",
                     "--results_dir", str(tmp_path / "out"), "--gpu_ids", "-1")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out" / "community" / "test_best"   # the demo preset keeps the epoch scored best
    images = sorted(os.listdir(out / "images"))
    assert len(images) == 3 * 2 and images[0].endswith("_fake_B.png")
    summary = next(csv.DictReader(open(out / "summary.csv")))
    assert {"pixel_f1", "ssim", "lpips", "mse", "f1_bird", "f1_insect", "f1_human"} <= summary.keys()
    assert summary["n_images"] == "2" and summary["n_clips"] == "2"
    assert float(summary["pixel_f1_lo"]) <= float(summary["pixel_f1"]) <= float(summary["pixel_f1_hi"])
    assert float(summary["f1_bird_lo"]) <= float(summary["f1_bird"]) <= float(summary["f1_bird_hi"])
    assert "pixel F1" in result.stdout and "95 % interval" in result.stdout and "of 2 clips" in result.stdout

    fast = run_job("job04_test.py", "--dataroot", dataroot, "--checkpoints_dir", str(tmp_path), "--name", "community",
                   "--results_dir", str(tmp_path / "out"), "--gpu_ids", "-1", "--precision", "bfloat16")
    assert fast.returncode == 0, fast.stderr
    assert "(bfloat16)" in fast.stdout and "(float32)" in result.stdout
    fast_summary = next(csv.DictReader(open(out.parent / "test_best_bfloat16" / "summary.csv")))   # beside, not over
    assert abs(float(fast_summary["pixel_f1"]) - float(summary["pixel_f1"])) < 0.1
    assert next(csv.DictReader(open(out / "summary.csv"))) == summary


@pytest.mark.parametrize("case", ["missing_dataroot", "empty_split", "no_val_split", "not_a_checkpoint",
                                  "other_architecture", "no_cuda"])
def test_bad_inputs_give_one_clear_line(dataroot, tmp_path, case):
    empty = tmp_path / "empty"
    os.makedirs(empty / "train_species_samples")
    no_val = tmp_path / "no_val"
    for split in ("train", "test"):
        shutil.copytree(os.path.join(dataroot, f"{split}_species_samples"), no_val / f"{split}_species_samples")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"this is not a checkpoint")
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3, 3, 3)}, other)
    script, args, expected = {
        "missing_dataroot": ("job03_train.py", ["--dataroot", str(tmp_path / "nowhere"), *TINY], "no such folder"),
        "empty_split": ("job03_train.py", ["--dataroot", str(empty), *TINY], "no A|B pair images"),
        "no_val_split": ("job03_train.py", ["--dataroot", str(no_val), *TINY],
                         f"{no_val / 'val_species_samples'}: no such folder of val pairs for the per-epoch scores; "
                         f"make a val split with job00_synth_data.py --n_val N, or pass --score_split test"),
        "not_a_checkpoint": ("job04_test.py", ["--dataroot", dataroot, "--weights", str(junk)], "not a PyTorch checkpoint"),
        "other_architecture": ("job04_test.py", ["--dataroot", dataroot, "--weights", str(other)], "not pix2pix generator weights"),
        "no_cuda": ("job03_train.py", ["--dataroot", dataroot, *TINY[:-4], "--gpu_ids", "0"], "CUDA is not available"),
    }[case]
    if case == "no_cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = run_job(script, *args, "--checkpoints_dir", str(tmp_path / "ck"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0] and lines[0].startswith("error: ")


def test_balanced_epoch_order_is_repeatable_and_favours_labelled_pairs():
    foreground = np.array([0.0, 0.0, 0.5, 0.05])
    weights = sampling_weights(foreground, 0.5)
    order = epoch_order(7, 3, 4, False, weights)
    assert order == epoch_order(7, 3, 4, False, weights) and len(order) == 4
    many = np.concatenate([epoch_order(7, epoch, 4, False, weights) for epoch in range(1, 501)])
    share = np.bincount(many, minlength=4) / len(many)
    expected = weights / weights.sum()
    assert share == pytest.approx(expected, abs=0.02)
    assert share[2] > 0.5 and share[0] < 0.1
    assert sampling_weights(foreground, 0) is None
    assert sorted(epoch_order(7, 3, 4, False, None)) == [0, 1, 2, 3]


def test_epoch_size_takes_another_share_of_a_large_set_each_epoch():
    first, second = epoch_order(7, 1, 100, False, None, 30), epoch_order(7, 2, 100, False, None, 30)
    assert len(first) == len(set(first)) == 30 and len(second) == 30 and first != second
    assert epoch_order(7, 1, 100, False, None, 30) == first                   # repeatable from (seed, epoch)
    assert epoch_order(7, 1, 100, False, None, 100) == epoch_order(7, 1, 100, False, None)   # as before
    longer = epoch_order(7, 1, 4, False, None, 10)                           # more than the set: whole shuffles
    assert sorted(longer[:4]) == sorted(longer[4:8]) == [0, 1, 2, 3] and len(longer) == 10
    weights = sampling_weights(np.array([0.0, 0.5, 0.5, 0.0]), 1.0)
    assert len(epoch_order(7, 1, 4, False, weights, 9)) == 9
    assert epoch_order(7, 1, 3, True, None, 5) == [0, 1, 2, 0, 1]


def test_rarity_weights_favour_pairs_showing_a_rare_class():
    counts = np.array([1000, 100, 10])                   # background, a common class, a rare class
    presence = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1]], dtype=bool)
    weights = sampling_weights(np.zeros(4), 0, presence, counts, 1.0)
    assert weights.tolist() == pytest.approx([10.0, 10.0, 100.0, 100.0])   # empty pair weighs as the commonest
    both = sampling_weights(np.array([0.0, 0.1, 0.1, 0.3]), 0.5, presence, counts, 1.0)
    assert both == pytest.approx(weights * (np.array([0.0, 0.1, 0.1, 0.3]) + 1e-3) ** 0.5)
    assert sampling_weights(np.zeros(4), 0, presence, counts, 0.0) is None


@pytest.mark.parametrize("level, balance", [("species", 0.5), ("community", 0.25)])
def test_a_preset_value_may_differ_by_level_and_a_flag_still_wins(level, balance):
    from util.gan.options import finish_options, train_parser
    opt = finish_options(train_parser("t").parse_args(["--preset", "demo", "--level", level]))
    assert opt.ce_class_balance == balance and opt.row_contrast == 0.2 and opt.lambda_GAN == 0.0
    opt = finish_options(train_parser("t").parse_args(["--preset", "demo", "--level", level, "--ce_class_balance", "0.1"]))
    assert opt.ce_class_balance == 0.1
    paper = finish_options(train_parser("t").parse_args(["--preset", "paper", "--level", level]))
    assert paper.row_contrast == 0.0 and paper.ce_class_balance == 0.0


@pytest.mark.parametrize("flags, named", [(["--ema_decay", "1"], "--ema_decay"), (["--epoch_size", "-5"], "--epoch_size")])
def test_an_impossible_average_or_epoch_size_is_one_clear_error(flags, named):
    with pytest.raises(UserError, match=named):
        finish_options(train_parser("t").parse_args(["--preset", "demo", *flags]))
