"""util.recording: a whole recording through a generator -> per-source audio, labels.png, Raven table, occupancy.

Most tests use hand-made generator modules whose output is known (paint a colour where the input is loud;
paint one colour everywhere), so the expected class map is exact; the rest use a small (ngf 8) U-Net.
"""

import argparse
import csv
import os
from datetime import datetime, timedelta

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import SR
from PIL import Image
from torch import nn

from util.errors import UserError
from util.gan import networks
from util.gan.options import test_parser as job04_parser
from util.gan.precision import PRECISIONS
from util.labels.annotations import read_raven_table
from util.labels.palette import load_palette
from util.recording import add_recording_args, process_recording, process_recordings
from util.recording.clock import recording_start_time
from util.recording.decoding import classify_with_confidence
from util.recording.settings import DEFAULT_MIN_AREA_PX, DEFAULT_MIN_DURATION_S, DEFAULT_OUTPUTS
from util.recording.tiling import (
    DEFAULT_TILE_OVERLAP,
    CrossFader,
    check_tile_overlap,
    count_overlapping_tiles,
)
from util.signal import spectrogram
from util.signal.audio import StreamingISTFT, StreamingSTFT, read_audio
from util.signal.spectrogram import (
    SpecParams,
    iter_spectrum_blocks,
    read_spectrogram_png,
    spectrum_to_pixels,
)

PARAMS = SpecParams()
RED = (255, 0, 0)            # 'bird' in the community palette
LOUD_PX = 128.5              # grey above which PaintLoud paints (about -50 dB re full scale)


class PaintLoud(nn.Module):
    """A stand-in for a trained generator: ``rgb`` where the input pixel is above ``threshold_px``, black elsewhere.

    Pixel-wise, so its output for a pixel does not depend on the tile the pixel is in.
    """

    def __init__(self, rgb=RED, threshold_px=LOUD_PX):
        super().__init__()
        self.register_buffer("colour", torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1) / 127.5 - 1)
        self.threshold = threshold_px / 127.5 - 1

    def forward(self, x):
        loud = (x[:, :1] > self.threshold).float()
        return loud * self.colour - (1 - loud)


class PaintEverywhere(nn.Module):
    """One colour (0..255 RGB) over the whole tile."""

    def __init__(self, rgb):
        super().__init__()
        self.register_buffer("colour", torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1) / 127.5 - 1)

    def forward(self, x):
        return self.colour.expand(x.shape[0], 3, x.shape[2], x.shape[3])


def call(start_s, end_s, freq_hz=3000.0, amplitude=0.1, total_s=6.0, sr=SR, noise=1e-3, seed=0):
    """A tone with 20 ms raised-cosine ramps (no onset click) over faint white noise."""
    t = np.arange(int(round(total_s * sr))) / sr
    ramp = np.clip(np.minimum(t - start_s, end_s - t) / 0.02 + 0.5, 0, 1)  # half-way at start_s and end_s
    envelope = 0.5 - 0.5 * np.cos(np.pi * ramp)
    hiss = np.random.default_rng(seed).standard_normal(len(t)) * noise
    return (amplitude * envelope * np.sin(2 * np.pi * freq_hz * t) + hiss).astype(np.float32)


def run(path, generator, out_dir, palette="community", **options):
    options.setdefault("progress", False)
    options.setdefault("input_nc", 1)
    return process_recording(str(path), generator, load_palette(palette), str(out_dir), **options)


def loud_map(path, params=PARAMS):
    """The class map PaintLoud must give: 1 where the recording's grey is above LOUD_PX."""
    spectrum = np.concatenate(list(iter_spectrum_blocks(str(path), params)), axis=1)
    return (spectrum_to_pixels(spectrum, params) > LOUD_PX).astype(np.uint8)


def png_chunk_types(path):
    data, kinds, at = open(path, "rb").read(), [], 8
    while at < len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        kinds.append(data[at + 4:at + 8])
        at += 12 + length
    return kinds


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def tone_wav(write_wav):
    return write_wav("SITE_20240501_053000.wav", call(1.0, 2.0))


# --------------------------------------------------------------------------- audio

def test_class_wavs_and_residual_add_up_to_the_recording(write_wav, tmp_path):
    stereo_44k = np.stack([call(0.5, 2.5, 2000, total_s=4, sr=44100), call(1, 3, 5000, total_s=4, sr=44100, seed=1)], 1)
    path = write_wav("mix.wav", stereo_44k, sr=44100)
    torch.manual_seed(0)
    generator = networks.define_G(1, 3, 8, "unet_256", "batch", init_gain=0.3)  # random: classes everywhere
    result = run(path, generator, tmp_path / "out", palette="species", input_nc=None, outputs="audio",
                 audio_format="float")
    wavs = [p for p in result.outputs if p.endswith(".wav")]
    assert len(wavs) == 9 and wavs[-1].endswith("residual.wav")
    expected, _ = read_audio(str(path), PARAMS.sr)
    parts = [sf.read(p, dtype="float32") for p in wavs]
    assert all(rate == PARAMS.sr and len(samples) == len(expected) for samples, rate in parts)
    assert sum(np.count_nonzero(samples) > 0 for samples, _ in parts[:-1]) >= 2  # several classes got audio
    total = np.sum([samples.astype(np.float64) for samples, _ in parts], axis=0)
    assert np.abs(total - expected).max() < 1e-5


def test_the_tone_goes_to_its_class_and_the_hiss_to_the_residual(tone_wav, tmp_path):
    result = run(tone_wav, PaintLoud(), tmp_path / "out", outputs="audio", audio_format="float")
    bird, _ = sf.read(os.path.join(result.out_dir, "bird.wav"))
    t = np.arange(len(bird)) / SR
    inside, outside = (t > 1.1) & (t < 1.9), (t < 0.9) | (t > 2.1)
    assert np.sqrt(np.mean(bird[inside] ** 2)) == pytest.approx(0.1 / np.sqrt(2), rel=0.05)
    assert np.abs(bird[outside]).max() < 1e-4
    assert np.count_nonzero(sf.read(os.path.join(result.out_dir, "human.wav"))[0]) == 0


def test_vectorised_istft_gives_the_numbers_of_the_frame_by_frame_loop():
    rng = np.random.default_rng(0)
    spectrum = StreamingSTFT().push(rng.standard_normal(SR).astype(np.float32))
    spectrum[:, 30:60] = 0
    plain, fast = StreamingISTFT(), StreamingISTFT()
    expected, got = [], []
    for first, last in [(0, 17), (17, 30), (30, 60), (60, 61), (61, spectrum.shape[1])]:
        block = spectrum[:, first:last]
        expected.append(plain._push_frame_by_frame(block))
        got.append(fast.push_frames(None if not block.any() else block, block.shape[1]))
    expected.append(plain.finish(SR))
    got.append(fast.finish(SR))
    assert np.array_equal(np.concatenate(got), np.concatenate(expected))


# --------------------------------------------------------------------------- class map and labels.png

@pytest.mark.parametrize("tile_overlap", [0, 32])
def test_labels_png_is_the_known_class_map_over_the_whole_recording(tone_wav, tmp_path, tile_overlap):
    result = run(tone_wav, PaintLoud(), tmp_path / "out", tile_overlap=tile_overlap)
    expected = loud_map(tone_wav)
    with Image.open(os.path.join(result.out_dir, "labels.png")) as image:
        assert image.mode == "RGB" and image.size == (expected.shape[1], 256)  # padding columns dropped
        labels = np.asarray(image)
    assert np.array_equal(load_palette("community").decode(labels), expected)
    assert expected.sum() > 100


def test_isolated_spectrogram_is_the_mixture_where_the_class_is(tone_wav, tmp_path):
    result = run(tone_wav, PaintLoud(), tmp_path / "out", outputs="spectrograms")
    spectrum = np.concatenate(list(iter_spectrum_blocks(str(tone_wav), PARAMS)), axis=1)
    grey = spectrum_to_pixels(spectrum, PARAMS)
    db, meta = read_spectrogram_png(os.path.join(result.out_dir, "bird_spectrogram.png"))
    with Image.open(os.path.join(result.out_dir, "bird_spectrogram.png")) as image:
        pixels = np.asarray(image)
    assert np.array_equal(pixels, np.where(grey > LOUD_PX, grey, 0))
    assert meta["sr"] == PARAMS.sr and meta["n_valid_frames"] == grey.shape[1]
    with Image.open(os.path.join(result.out_dir, "insect_spectrogram.png")) as image:
        assert not np.asarray(image).any()


def test_streamed_png_with_many_idat_chunks_reads_back(tmp_path, monkeypatch):
    monkeypatch.setattr(spectrogram, "PNG_IDAT_BYTES", 64)
    rgb = np.random.default_rng(0).integers(0, 256, (37, 1001, 3), dtype=np.uint8)
    path = spectrogram.write_png_streamed(str(tmp_path / "x.png"), (rgb[i:i + 5] for i in range(0, 37, 5)),
                                          width=1001, height=37, rgb=True, meta={"a": 1})
    with Image.open(path) as image:
        assert np.array_equal(np.asarray(image), rgb) and image.info["spectrogram"] == '{"a": 1}'
    assert png_chunk_types(path).count(b"IDAT") >= 3
    assert os.listdir(tmp_path) == ["x.png"]


def test_classification_is_the_palettes_nearest_colour_rule_with_a_confidence():
    palette = load_palette("species")
    rgb = np.random.default_rng(0).uniform(0, 255, (3, 64, 80)).astype(np.float32)
    rgb[:, 0, :len(palette) + 1] = palette.colors.T  # exact palette colours
    class_map, confidence = classify_with_confidence(rgb, palette)
    assert np.array_equal(class_map, palette.classify(rgb.transpose(1, 2, 0)))
    assert np.array_equal(class_map[0, :len(palette) + 1], np.arange(len(palette) + 1))
    assert np.allclose(confidence[0, :len(palette) + 1], 1.0)
    assert confidence.min() >= 0 and confidence.max() <= 1
    halfway = ((palette.colors[0].astype(np.float32) + palette.colors[1]) / 2)[:, None, None]
    assert classify_with_confidence(halfway, palette)[1].item() == pytest.approx(0, abs=1e-6)


def test_constant_colour_generator_gives_a_constant_map_without_seams(tone_wav, tmp_path):
    result = run(tone_wav, PaintEverywhere((200, 60, 40)), tmp_path / "out", tile_overlap=32)
    with Image.open(os.path.join(result.out_dir, "labels.png")) as image:
        labels = np.asarray(image)
    assert (labels == RED).all()
    rows = read_raven_table(os.path.join(result.out_dir, "SITE_20240501_053000.selections.txt"))
    assert len(rows) == 1 and rows[0].begin_s == 0 and rows[0].end_s == pytest.approx(6.0, abs=0.01)


def test_cross_fade_ramps_from_one_tile_to_the_next():
    fader = CrossFader(tile_frames=8, tile_overlap=3)
    first = fader.push(np.zeros((3, 2, 8), np.float32))
    second = fader.push(np.full((3, 2, 8), 100, np.float32))
    assert first.shape[2] == 5 and not first.any()
    assert np.allclose(second[0, 0], [25, 50, 75, 100, 100])  # rising weight (i + 1) / (overlap + 1)
    assert np.allclose(fader.finish()[0, 0], [100, 100, 100])


def test_tiles_overlap_by_the_asked_frames_and_cover_the_recording():
    assert count_overlapping_tiles(100, 256, 32) == 1
    assert count_overlapping_tiles(256, 256, 32) == 1
    assert count_overlapping_tiles(257, 256, 32) == 2
    assert count_overlapping_tiles(480, 256, 32) == 2
    assert count_overlapping_tiles(481, 256, 32) == 3
    assert count_overlapping_tiles(512, 256, 0) == 2
    with pytest.raises(UserError, match="tile_overlap"):
        check_tile_overlap(129, 256)


# --------------------------------------------------------------------------- Raven table and occupancy

@pytest.mark.parametrize("start_s, end_s, tile_overlap", [(1.0, 2.0, 32), (2.3, 3.3, 32), (2.3, 3.3, 0)])
def test_a_3khz_call_is_one_selection_with_its_times_and_frequencies(write_wav, tmp_path, start_s, end_s,
                                                                     tile_overlap):
    # tiles start every 224 frames (2.60 s) with overlap 32 and every 256 (2.97 s) without: 2.3-3.3 s spans a seam
    path = write_wav("rec.wav", call(start_s, end_s))
    result = run(path, PaintLoud(), tmp_path / "out", tile_overlap=tile_overlap)
    boxes = read_raven_table(os.path.join(result.out_dir, "rec.selections.txt"))
    assert len(boxes) == 1 and result.n_selections == 1
    box = boxes[0]
    assert box.label == "bird" and box.recording == "rec"
    assert box.begin_s == pytest.approx(start_s, abs=0.03) and box.end_s == pytest.approx(end_s, abs=0.03)
    assert 2800 < box.low_hz < 3000 < box.high_hz < 3200
    with open(os.path.join(result.out_dir, "rec.selections.txt")) as handle:
        row = next(csv.DictReader(handle, delimiter="\t"))
    assert row["Begin File"] == "rec.wav" and float(row["Score"]) == pytest.approx(1.0)


def test_min_duration_drops_short_calls(write_wav, tmp_path):
    path = write_wav("rec.wav", call(1.0, 1.03, total_s=3))
    assert run(path, PaintLoud(), tmp_path / "a", min_duration_s=0.0, min_area_px=0).n_selections == 1
    assert run(path, PaintLoud(), tmp_path / "b", min_duration_s=0.2).n_selections == 0


def test_occupancy_and_frequency_profile_match_the_known_map(tone_wav, tmp_path):
    result = run(tone_wav, PaintLoud(), tmp_path / "out")
    expected = loud_map(tone_wav)
    n_frames = expected.shape[1]
    frame_s = PARAMS.hop_length / PARAMS.sr
    rows = {r["class"]: r for r in read_csv(os.path.join(result.out_dir, "occupancy.csv"))}
    assert list(rows) == ["bird", "insect", "human"]
    bird = rows["bird"]
    assert float(bird["time_occupancy"]) == pytest.approx(expected.any(axis=0).mean(), abs=1e-6)
    assert float(bird["acoustic_space_occupancy"]) == pytest.approx(expected.mean(), abs=1e-6)
    assert float(bird["seconds_present"]) == pytest.approx(expected.any(axis=0).sum() * frame_s, abs=1e-6)
    assert float(bird["seconds_total"]) == pytest.approx(n_frames * frame_s, abs=1e-6)
    assert float(rows["insect"]["time_occupancy"]) == 0
    profile = [r for r in read_csv(os.path.join(result.out_dir, "frequency_profile.csv")) if r["class"] == "bird"]
    assert len(profile) == expected.any(axis=1).sum() and all(int(r["n_cells"]) > 0 for r in profile)
    loudest = max((r for r in profile if r["mean_db"]), key=lambda r: float(r["mean_db"]))
    assert float(loudest["freq_hz"]) == pytest.approx(3000, abs=50)
    assert -30 < float(loudest["mean_db"]) < -15                  # a 0.1 sine reads -20 dB re full scale
    assert sum(int(r["n_cells"]) for r in profile) == expected.sum()


# --------------------------------------------------------------------------- streaming, skipping, folders

def test_results_do_not_depend_on_the_block_size_read(tone_wav, tmp_path):
    torch.manual_seed(0)
    generator = networks.define_G(1, 3, 8, "unet_256", "batch", init_gain=0.3)
    small = run(tone_wav, generator, tmp_path / "small", block_s=0.37, outputs="all")
    large = run(tone_wav, generator, tmp_path / "large", block_s=30.0, outputs="all")
    for a, b in zip(small.outputs, large.outputs):
        assert os.path.basename(a) == os.path.basename(b)
        if a.endswith(".wav"):
            assert np.array_equal(sf.read(a)[0], sf.read(b)[0]), a
        else:
            assert open(a, "rb").read() == open(b, "rb").read(), a
    assert os.listdir(tmp_path / "small") == os.listdir(tmp_path / "large")  # no temporary files left


def test_a_finished_recording_is_skipped_unless_overwrite(tone_wav, tmp_path):
    first = run(tone_wav, PaintLoud(), tmp_path / "out")
    assert not first.skipped and first.realtime_factor > 0
    stamps = {p: os.path.getmtime(p) for p in first.outputs}
    again = run(tone_wav, PaintLoud(), tmp_path / "out")
    assert again.skipped and all(os.path.getmtime(p) == t for p, t in stamps.items())
    os.remove(os.path.join(first.out_dir, "occupancy.csv"))
    assert not run(tone_wav, PaintLoud(), tmp_path / "out").skipped
    assert not run(tone_wav, PaintLoud(), tmp_path / "out", overwrite=True).skipped


def test_a_failing_recording_leaves_no_files(tone_wav, tmp_path):
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        run(tone_wav, Broken(), tmp_path / "out")
    assert os.listdir(tmp_path / "out") == []


def test_folder_mode_writes_combined_tables_as_a_file_sequence_and_lists_failures(write_wav, tmp_path):
    paths = [write_wav("site/SITE_20240501_053000.wav", call(1.0, 2.0, total_s=3)),
             write_wav("site/SITE_20240501_060000.wav", call(0.5, 1.0, total_s=3, seed=1)),
             write_wav("site/no_clock.wav", call(2.0, 2.5, total_s=3, seed=2))]
    broken = tmp_path / "site" / "SITE_20240501_063000.wav"
    broken.write_bytes(b"not audio at all")
    results = tmp_path / "results"
    outcome = process_recordings(paths + [str(broken)], PaintLoud(), load_palette("community"),
                                 str(results), input_nc=1, progress=False)
    assert len(outcome.done) == 3 and len(outcome.failures) == 1
    assert "SITE_20240501_063000.wav" in outcome.failures[0][1]
    assert os.path.isfile(results / "SITE_20240501_053000" / "labels.png")
    with open(outcome.selections_path) as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["Begin File"] for r in rows] == ["SITE_20240501_053000.wav", "SITE_20240501_060000.wav", "no_clock.wav"]
    assert rows[0]["Begin Path"] == os.path.abspath(paths[0]) and rows[2]["Begin Date Time"] == ""
    # one sequence: each 3-s file starts where the one before ended (the broken file is not in it)
    for row, file_start_s, offset_s in zip(rows, [0.0, 3.0, 6.0], [1.0, 0.5, 2.0]):
        assert float(row["File Offset (s)"]) == pytest.approx(offset_s, abs=0.03)
        assert float(row["Begin Time (s)"]) == pytest.approx(file_start_s + float(row["File Offset (s)"]), abs=1e-6)
    with open(outcome.tables["list"]) as handle:
        assert handle.read().splitlines() == [os.path.abspath(p) for p in paths]
    for row, start in zip(rows, [datetime(2024, 5, 1, 5, 30), datetime(2024, 5, 1, 6, 0)]):
        clock = datetime.fromisoformat(row["Begin Date Time"])
        assert clock.utcoffset() == timedelta(0)     # AudioMoth names files in UTC: the default
        expected = start.replace(tzinfo=clock.tzinfo) + timedelta(seconds=float(row["File Offset (s)"]))
        assert abs(clock - expected) < timedelta(milliseconds=1)
    assert len(read_raven_table(outcome.selections_path)) == 3
    occupancy = read_csv(outcome.occupancy_path)
    assert len(occupancy) == 9 and occupancy[0]["start_datetime"] == "2024-05-01T05:30:00.000+00:00"
    assert occupancy[0]["file"] == os.path.abspath(paths[0]) and occupancy[0]["class"] == "bird"
    assert occupancy[0]["scientific_name"] == "Aves"
    again = process_recordings(paths, PaintLoud(), load_palette("community"), str(results),
                               input_nc=1, progress=False)
    assert all(r.skipped for _, r in again.done) and len(read_raven_table(again.selections_path)) == 3


def test_start_time_is_read_from_recorder_style_names():
    assert recording_start_time("/x/SITE_20240501_053000.wav") == datetime(2024, 5, 1, 5, 30)
    assert recording_start_time("20240501T053000.flac") == datetime(2024, 5, 1, 5, 30)
    assert recording_start_time("SITE_20241399_053000.wav") is None
    assert recording_start_time("rec.wav") is None
    assert recording_start_time("SITE_20240501_053000.wav", "+10:00").isoformat() == "2024-05-01T05:30:00+10:00"


def test_recording_flags_default_to_the_constants_of_the_code_they_configure():
    parser = argparse.ArgumentParser()
    add_recording_args(parser)
    opt = parser.parse_args([])
    assert (opt.tile_overlap, opt.min_duration, opt.min_area) == (DEFAULT_TILE_OVERLAP, DEFAULT_MIN_DURATION_S,
                                                                  DEFAULT_MIN_AREA_PX)
    assert opt.wav is None and opt.channel is None
    assert opt.outputs == ",".join(DEFAULT_OUTPUTS) and opt.sr is None and opt.timezone == "UTC"
    assert not (opt.overwrite or opt.compile)


def test_precision_is_one_flag_for_test_pairs_and_recordings():
    parser = job04_parser("job04")
    add_recording_args(parser)
    assert parser.parse_args([]).precision == PRECISIONS[0] == "float32"
    assert parser.parse_args(["--precision", "bfloat16"]).precision == "bfloat16"
    with pytest.raises(SystemExit):
        parser.parse_args(["--precision", "float16"])


def test_three_channel_generator_gets_the_grey_replicated(tone_wav, tmp_path):
    torch.manual_seed(0)
    result = run(tone_wav, networks.define_G(3, 3, 8, "unet_256", "batch"), tmp_path / "out", input_nc=None)
    assert not result.skipped and result.n_tiles == 3


def test_unreadable_recording_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF nonsense")
    with pytest.raises(UserError, match="bad.wav"):
        run(bad, PaintLoud(), tmp_path / "out")
