import numpy as np
import pytest
from conftest import SR, tone
from PIL import Image

from util.errors import UserError
from util.signal.spectrogram import (
    SpecParams,
    convert_file,
    db_to_pixels,
    freq_to_row,
    iter_tiles,
    pixels_to_db,
    read_png,
    read_spectrogram_png,
    row_freq_hz,
    write_png,
)

PARAMS = SpecParams()


def test_tone_at_3khz_minus_20_dbfs_lands_in_the_3khz_row_at_minus_20_db_between_its_start_and_end(write_wav, tmp_path):
    path = write_wav("tone.wav", tone(3000, 0.1, duration_s=1.0, start_s=1.0, total_s=2.9))
    [tile_path] = convert_file(path, str(tmp_path / "spec"), PARAMS)
    db, meta = read_spectrogram_png(tile_path)
    row = freq_to_row(3000, PARAMS.n_rows, SR, PARAMS.n_fft)
    frame_s = (meta["start_frame"] + np.arange(db.shape[1])) * meta["hop_length"] / meta["sr"]
    during = (frame_s > 1.05) & (frame_s < 1.95)
    before = frame_s < 0.95
    # the loudest row while the tone sounds is the 3 kHz row, at -20 dB within Hann's scalloping loss (1.42 dB)
    assert np.all(np.argmax(db[:, during], axis=0) == row)
    assert np.all(np.abs(db[row, during] + 20) < 1.5)
    assert np.all(db[row, before] <= PARAMS.db_floor + 1)
    assert abs(row_freq_hz(PARAMS.n_rows, SR, PARAMS.n_fft)[row] - 3000) < SR / PARAMS.n_fft


def test_full_scale_sine_reads_0_db_and_low_frequencies_are_at_the_bottom(write_wav, tmp_path):
    freq = 40 * SR / PARAMS.n_fft  # exactly on bin 40: no scalloping
    path = write_wav("fs.wav", tone(freq, 1.0, 1.0) * 0.999)
    tile = next(iter_tiles(path, PARAMS))
    db = pixels_to_db(tile.pixels, PARAMS.db_floor, PARAMS.db_ceil)
    assert np.argmax(db[:, 40]) == PARAMS.n_rows - 1 - 40
    assert db[:, 40].max() > -0.5


def test_metadata_round_trip_through_the_png(write_wav, tmp_path):
    path = write_wav("meta.wav", tone(1000, 0.3, 7.0))
    written = convert_file(path, str(tmp_path), PARAMS)
    assert [p.rsplit("/", 1)[1] for p in written] == ["meta_0000.png", "meta_0001.png", "meta_0002.png"]
    _, meta = read_spectrogram_png(written[1])
    for key in ("sr", "orig_sr", "n_fft", "hop_length", "window", "center", "db_floor", "db_ceil", "source",
                "channel", "start_frame", "start_s", "n_valid_frames", "version"):
        assert key in meta
    assert meta["start_frame"] == 256 and meta["start_s"] == pytest.approx(256 * 256 / SR)
    _, last = read_spectrogram_png(written[2])
    total_frames = 1 + int(7.0 * SR) // 256
    assert last["n_valid_frames"] == total_frames - 512
    assert SpecParams.from_metadata(meta) == PARAMS


def test_last_tile_is_padded_with_the_floor(write_wav, tmp_path):
    path = write_wav("pad.wav", np.full(SR * 4, 0.1, np.float32) + tone(2000, 0.3, 4.0))
    tiles = list(iter_tiles(path, PARAMS))
    last = tiles[-1]
    assert last.pixels.shape == (256, 256)
    assert np.all(last.pixels[:, last.meta["n_valid_frames"]:] == 0)
    assert last.pixels[:, : last.meta["n_valid_frames"]].max() > 100


def test_db_pixel_mapping_is_linear_and_clipped():
    db = np.array([-120, -100, -50, 0, 10], np.float32)
    pixels = db_to_pixels(db, -100, 0)
    assert pixels.tolist() == [0, 0, 128, 255, 255]
    assert np.all(np.abs(pixels_to_db(pixels, -100, 0)[1:4] - db[1:4]) <= 100 / 255 / 2 + 1e-6)


def test_normalize_stores_its_offset_so_dB_stay_calibrated(write_wav):
    path = write_wav("quiet.wav", tone(1000, 0.01, 2.0))  # peak about -40 dBFS
    plain = next(iter_tiles(path, PARAMS))
    normalised = next(iter_tiles(path, PARAMS, normalize=True))
    assert normalised.meta["db_offset"] == pytest.approx(40, abs=1.5)
    assert normalised.pixels.max() == 255 and plain.pixels.max() < 160
    db_plain = pixels_to_db(plain.pixels, -100, 0)
    db_norm = pixels_to_db(normalised.pixels, -100, 0) - normalised.meta["db_offset"]
    loud = plain.pixels > 50
    assert np.max(np.abs(db_plain[loud] - db_norm[loud])) < 1.0


def test_rerun_skips_finished_files_and_overwrite_remakes_them(write_wav, tmp_path):
    path = write_wav("skip.wav", tone(1000, 0.3, 1.0))
    out = str(tmp_path / "out")
    assert len(convert_file(path, out, PARAMS)) == 1
    assert convert_file(path, out, PARAMS) == []
    assert len(convert_file(path, out, PARAMS, overwrite=True)) == 1


def test_png_without_metadata_is_refused_with_the_file_named(tmp_path):
    path = str(tmp_path / "plain.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path)
    with pytest.raises(UserError, match="plain.png: no 'spectrogram' metadata"):
        read_spectrogram_png(path)


def test_write_png_is_atomic_and_leaves_no_temporary_file(tmp_path):
    path = str(tmp_path / "x.png")
    write_png(path, np.full((4, 6), 7, np.uint8), {"a": 1})
    pixels, meta = read_png(path)
    assert pixels.shape == (4, 6) and meta == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]


def test_bad_parameters_are_refused():
    with pytest.raises(UserError, match="db_ceil"):
        SpecParams(db_floor=0, db_ceil=-10).check()
    with pytest.raises(UserError, match="window"):
        SpecParams(window="no-such-window").check()
