import numpy as np
import pytest
import soundfile as sf
from conftest import SR, tone

from util.errors import UserError
from util.signal.audio import (
    StreamingISTFT,
    StreamingSTFT,
    audio_info,
    istft,
    iter_blocks,
    read_audio,
    stft,
    stft_frames,
)


def test_istft_of_stft_gives_the_signal_back():
    x = np.random.default_rng(1).standard_normal(48_000)
    y = istft(stft(x), length=len(x))
    assert np.linalg.norm(y - x) / np.linalg.norm(x) < 1e-6


def test_istft_restores_signal_when_nyquist_row_is_dropped_and_signal_is_band_limited():
    x = tone(2000, 0.5, 1.0)
    spectrum = stft(x)[:256]
    y = istft(spectrum, length=len(x))
    assert np.max(np.abs(y - x)) < 1e-3  # only window leakage into the Nyquist bin is lost (< -70 dB here)


def test_streaming_stft_equals_whole_file_stft_for_any_block_size():
    x = np.random.default_rng(2).standard_normal(30_001).astype(np.float32)
    for block in (1, 255, 4096, 40_000):
        engine = StreamingSTFT()
        parts = [engine.push(x[i:i + block]) for i in range(0, len(x), block)] + [engine.finish()]
        np.testing.assert_allclose(np.concatenate(parts, axis=1), stft(x), atol=1e-4)


def test_streaming_istft_rebuilds_the_signal_block_by_block():
    x = np.random.default_rng(3).standard_normal(20_000).astype(np.float32)
    spectrum = stft(x)
    engine = StreamingISTFT()
    parts = [engine.push(spectrum[:, i:i + 7]) for i in range(0, spectrum.shape[1], 7)] + [engine.finish(len(x))]
    y = np.concatenate(parts)
    assert len(y) == len(x)
    assert np.max(np.abs(y - x)) < 1e-5


def test_stft_frames_match_the_same_frames_of_the_whole_stft():
    x = np.random.default_rng(4).standard_normal(10_000).astype(np.float32)
    np.testing.assert_allclose(stft_frames(x, 5, 12), stft(x)[:, 5:17], atol=1e-4)
    np.testing.assert_allclose(stft_frames(x, 0, 3), stft(x)[:, :3], atol=1e-4)


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_every_wav_bit_depth_reads_back_at_the_right_level(write_wav, subtype):
    path = write_wav(f"t_{subtype}.wav", tone(1000, 0.5, 0.5), SR, subtype)
    y, orig_sr = read_audio(path)
    assert orig_sr == SR
    assert abs(np.max(np.abs(y)) - 0.5) < 0.02


@pytest.mark.parametrize("fmt,ext", [("FLAC", "flac"), ("OGG", "ogg"), ("AIFF", "aiff")])
def test_flac_ogg_aiff_are_read(tmp_path, fmt, ext):
    path = str(tmp_path / f"t.{ext}")
    sf.write(path, tone(1000, 0.5, 0.5), SR, format=fmt)
    y, _ = read_audio(path)
    assert abs(len(y) - SR * 0.5) < 2 and np.max(np.abs(y)) > 0.4


def test_resampling_keeps_frequency_and_length(write_wav):
    sr_in = 48_000
    path = write_wav("hi.wav", tone(3000, 0.5, 2.0, sr=sr_in), sr_in)
    y, orig_sr = read_audio(path, sr=SR)
    assert orig_sr == sr_in and len(y) == 2 * SR
    peak_hz = np.argmax(np.abs(np.fft.rfft(y))) * SR / len(y)
    assert abs(peak_hz - 3000) < 2


def test_channel_mean_and_channel_choice(write_wav):
    stereo = np.stack([tone(1000, 0.4, 0.2), np.zeros(int(0.2 * SR), np.float32)], axis=1)
    path = write_wav("st.wav", stereo)
    mean, _ = read_audio(path)
    right, _ = read_audio(path, channel=1)
    assert abs(np.max(np.abs(mean)) - 0.2) < 0.01 and np.max(np.abs(right)) == 0.0
    with pytest.raises(UserError, match="st.wav.*channel 2"):
        read_audio(path, channel=2)


def test_blocks_of_a_long_file_are_bounded_in_size(write_wav):
    path = write_wav("long.wav", np.zeros(SR * 10, np.float32))
    sizes = [len(b) for b in iter_blocks(path, block_s=1.0)]
    assert sum(sizes) == SR * 10 and max(sizes) <= SR + 1


def test_nan_samples_are_refused_with_the_file_named(write_wav):
    x = tone(1000, 0.5, 0.2)
    x[10] = np.nan
    path = write_wav("nan.wav", x)
    with pytest.raises(UserError, match="nan.wav: contains NaN"):
        read_audio(path)


def test_empty_and_text_files_are_refused(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "text.wav"
    text.write_text("not audio at all\n" * 5)
    with pytest.raises(UserError, match="empty.wav: empty file"):
        audio_info(str(empty))
    with pytest.raises(UserError, match="text.wav: not a readable audio file"):
        audio_info(str(text))
