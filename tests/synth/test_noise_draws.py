"""Noise draws and the label rule: another draw of the background keeps every source, and the default
labels (a property of the sources) agree across draws; the per-bin ideal binary mask stays available."""

import json
import os

import numpy as np
import pytest

from util.errors import UserError
from util.metrics import PixelCounts
from util.signal.audio import read_audio
from util.signal.spectrogram import SpecParams
from util.synth import TruthRule, generate_dataset, noise_draw_agreement, read_dataset_record
from util.synth.dataset import dataset_record_path, one_tile_n_samples, remake_soundscape
from util.synth.soundscape import Conditions, Soundscape, make_soundscape
from util.synth.sources import palettes
from util.synth.truth import class_maps, expected_row_db, part_db_images

PARAMS = SpecParams()
N_TILE = one_tile_n_samples(PARAMS)
BIRDS = ["lesser-cuckoo", "eurasian-jay", "alstroms-warbler"]


def draws(seed, sources, **kwargs):
    return [make_soundscape(np.random.default_rng(seed), N_TILE, PARAMS.sr, sources=sources, noise_draw=k, **kwargs)
            for k in (0, 1)]


def agreement(pairs, rule):
    counts = {level: PixelCounts(len(p)) for level, p in palettes().items()}
    for first, second in pairs:
        truth, other = class_maps(first, PARAMS, rule=rule), class_maps(second, PARAMS, rule=rule)
        for level, level_counts in counts.items():
            level_counts.update(other[level], truth[level])
    return {level: c.mean_f1() for level, c in counts.items()}


def test_another_noise_draw_keeps_every_source_and_redraws_only_the_background():
    first, second = draws(3, [*BIRDS, "insect"], background_kinds=("pink", "wind", "rain", "stream"))
    assert list(first.parts) == list(second.parts)
    assert all(np.array_equal(first.parts[s], second.parts[s]) for s in first.parts)
    assert [(e.slug, e.model, e.start_s, e.end_s) for e in first.events] == \
        [(e.slug, e.model, e.start_s, e.end_s) for e in second.events]
    assert np.corrcoef(first.background, second.background)[0, 1] < 0.1   # another realisation
    rms_db = [20 * np.log10(np.sqrt(np.mean(c.background.astype(np.float64) ** 2))) for c in (first, second)]
    assert rms_db[0] == pytest.approx(rms_db[1], abs=0.01)                 # the same level
    rows = [expected_row_db(part_db_images({}, c.background, PARAMS)[0])[20:240, 0] for c in (first, second)]
    assert np.median(np.abs(rows[0] - rows[1])) < 0.6                      # the same kind of background


def test_labels_of_two_noise_draws_agree_at_f1_095_and_better_than_the_per_bin_mask():
    # SNRs away from the audibility edge: on three clips a class of a few pixels would weigh as much as a call
    clips = ((21, BIRDS), (22, ["jungle-nightjar", "human"]), (23, ["koklass-pheasant", "insect", "oriental-scops-owl"]))
    pairs = [draws(seed, sources, snr_range_db=(8.0, 14.0)) for seed, sources in clips]
    expected, ibm = agreement(pairs, "expected"), agreement(pairs, "ibm")
    assert min(expected.values()) >= 0.95
    assert ibm["species"] < expected["species"] - 0.03    # the per-bin rule follows the noise's speckle


def test_expected_rule_labels_a_steady_tone_in_every_frame_and_the_ibm_rule_follows_the_noise():
    t = np.arange(N_TILE) / PARAMS.sr
    tone_row = PARAMS.n_rows - 1 - int(round(2000.0 * PARAMS.n_fft / PARAMS.sr))
    noise = np.random.default_rng(0).standard_normal(N_TILE).astype(np.float32) * 1e-3
    row_db = expected_row_db(part_db_images({}, noise, PARAMS)[0])[tone_row, 0]
    tone = np.sin(2 * np.pi * 2000.0 * t)
    tone_db = part_db_images({}, tone.astype(np.float32), PARAMS)[0][tone_row, 10]
    tone = (tone * 10 ** ((row_db + 9.0 - tone_db) / 20)).astype(np.float32)      # 9 dB over the row's mean
    clip = Soundscape(PARAMS.sr, noise, {"lesser-cuckoo": tone})
    k = palettes()["species"].index("lesser-cuckoo")
    inner = slice(2, -2)                                                          # frames away from the edges
    expected = class_maps(clip, PARAMS)["species"][tone_row, inner]
    ibm = class_maps(clip, PARAMS, rule="ibm", audible_margin_db=6.0)["species"][tone_row, inner]
    assert (expected == k).all()
    assert 0.5 < (ibm == k).mean() < 0.99          # bins where the noise happens to be loud are lost


def test_noise_draw_agreement_of_a_written_set(tmp_path):
    root = str(tmp_path)
    generate_dataset(root, 0, 3, 7, workers=1, progress=False)
    counts = noise_draw_agreement(root, "test", progress=False)
    assert (counts["species"].n_classes, counts["community"].n_classes) == (8, 3)
    assert counts["community"].confusion.sum() == 3 * PARAMS.n_rows * PARAMS.tile_frames
    assert counts["species"].mean_f1() >= 0.95 and counts["community"].mean_f1() >= 0.95
    assert noise_draw_agreement(root, "val", progress=False)["species"].confusion.sum() == 0
    for split, draw in (("dev", 1), ("test", 0)):
        with pytest.raises(UserError):
            noise_draw_agreement(root, split, draw, progress=False)
    with pytest.raises(UserError, match="dataset.json"):
        noise_draw_agreement(str(tmp_path / "none"), "test", progress=False)


def test_a_noise_draw_set_has_the_same_sources_and_is_not_mixed_with_draw_0(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    generate_dataset(a, 1, 0, 4, workers=1, progress=False)
    generate_dataset(b, 1, 0, 4, workers=1, progress=False, noise_draw=2)
    clip = os.path.join("input_wav", "train", "syn00001")
    names = sorted(n for n in os.listdir(os.path.join(a, clip)) if n.endswith(".wav"))
    assert names == sorted(n for n in os.listdir(os.path.join(b, clip)) if n.endswith(".wav"))
    for name in names:   # samples, not bytes: a float WAV's PEAK chunk holds the time it was written
        same = np.array_equal(read_audio(os.path.join(a, clip, name), PARAMS.sr)[0],
                              read_audio(os.path.join(b, clip, name), PARAMS.sr)[0])
        assert same == (name not in ("background.wav", "mixture.wav")), name
    assert read_dataset_record(b)["noise_draw"] == 2
    with pytest.raises(UserError, match="noise_draw 2"):
        generate_dataset(b, 1, 0, 4, workers=1, progress=False)


def test_n_val_writes_the_val_folders_and_leaves_train_and_test_unchanged(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    generate_dataset(a, 1, 1, 9, workers=1, progress=False)
    summary = generate_dataset(b, 1, 1, 9, n_val=2, workers=1, progress=False)
    assert summary.splits == {"train": 1, "val": 2, "test": 1} and "val" in summary.line()
    assert sorted(os.listdir(os.path.join(b, "input_img", "val_community_samples"))) == ["syn00001.png", "syn00002.png"]
    assert sorted(os.listdir(os.path.join(b, "input_wav", "val"))) == ["syn00001", "syn00002"]
    for split in ("train", "test"):
        for level in ("species", "community"):
            path = os.path.join("input_img", f"{split}_{level}_samples", "syn00001.png")
            assert open(os.path.join(a, path), "rb").read() == open(os.path.join(b, path), "rb").read()
    assert (read_dataset_record(a)["n_val"], read_dataset_record(b)["n_val"]) == (0, 2)


def test_a_set_made_before_the_val_split_still_reads(tmp_path):
    root = str(tmp_path)
    os.makedirs(os.path.dirname(dataset_record_path(root)))
    old = {"seed": 3, "n_train": 2, "n_test": 1, "duration_s": N_TILE / PARAMS.sr, "audible_floor_db": -80.0,
           "audible_margin_db": 3.0, "spectrogram": {**vars(PARAMS)}, "version": "0.9"}
    with open(dataset_record_path(root), "w", encoding="utf-8") as handle:
        json.dump(old, handle)
    record = read_dataset_record(root)
    assert TruthRule.from_record(record) == TruthRule("ibm", -80.0, 3.0)      # the rule those sets used
    assert Conditions.from_record(record) == Conditions().check()
    assert noise_draw_agreement(root, "val", progress=False)["community"].confusion.sum() == 0
    assert noise_draw_agreement(root, "test", progress=False)["community"].confusion.sum() == \
        PARAMS.n_rows * PARAMS.tile_frames
    with pytest.raises(UserError, match="other settings"):
        generate_dataset(root, 2, 1, 3, workers=1, progress=False)


def test_conditions_change_what_they_say():
    narrow = Conditions(snr_range_db=(9.0, 10.0), background_dbfs_range=(-52.0, -50.0),
                        background_kinds=("brown",), max_sources=2).check()
    counts, slopes = [], set()
    for index in range(12):
        clip = remake_soundscape(13, "train", index, N_TILE, PARAMS.sr, narrow)
        counts.append(len(clip.parts))
        assert all(9.0 - 0.05 <= e.snr_db <= 10.0 + 0.05 for e in clip.events)
        rms_db = 20 * np.log10(np.sqrt(np.mean(clip.background.astype(np.float64) ** 2)))
        assert -52.0 - 0.01 <= rms_db <= -50.0 + 0.01
        slopes.add(np.polyfit(np.log2(np.arange(20, 200)), expected_row_db(part_db_images(
            {}, clip.background, PARAMS)[0])[::-1][20:200, 0], 1)[0])
    assert max(counts) == 2 and min(counts) == 0
    assert all(-7.5 < s < -4.5 for s in slopes)     # brown: falling 6 dB an octave, no wind/rain/stream


@pytest.mark.parametrize("conditions, flag", [
    (Conditions(snr_range_db=(5.0, -5.0)), "--snr_range"),
    (Conditions(background_dbfs_range=(-40.0, 3.0)), "--background_dbfs_range"),
    (Conditions(background_kinds=("wind", "rain")), "--background_kinds"),
    (Conditions(background_kinds=("pink", "thunder")), "--background_kinds"),
    (Conditions(max_sources=11), "--max_sources"),
])
def test_impossible_conditions_are_user_errors_naming_the_flag(conditions, flag):
    with pytest.raises(UserError, match=flag):
        conditions.check()


def test_job00_flags_reach_the_record(tmp_path):
    import job00_synth_data

    root = str(tmp_path)
    job00_synth_data.main(["--out", root, "--n_train", "1", "--n_val", "0", "--n_test", "0", "--workers", "1",
                           "--snr_range", "1", "2", "--background_kinds", "pink,rain", "--max_sources", "3",
                           "--truth_rule", "ibm", "--noise_draw", "1"])
    record = read_dataset_record(root)
    assert record["snr_range_db"] == [1.0, 2.0] and record["background_kinds"] == ["pink", "rain"]
    assert (record["max_sources"], record["truth_rule"], record["audible_margin_db"], record["noise_draw"]) == \
        (3, "ibm", 3.0, 1)
