"""Audio in and out: read any file soundfile knows, resample, STFT and ISTFT.

Long recordings are streamed: :func:`iter_blocks` yields the audio a block at a
time, already mono and at the working rate, and :class:`StreamingSTFT` /
:class:`StreamingISTFT` turn blocks into frames and frames back into samples,
so memory does not grow with the length of a file.

The STFT is centred with zero padding of ``n_fft // 2`` at both ends (so frame
``k`` is centred on sample ``k * hop_length``) and uses a periodic window.
The ISTFT is the least-squares overlap-add inverse, so
``istft(stft(x)) == x`` to float precision.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

import numpy as np
import scipy.fft
import scipy.signal
import soundfile as sf
import soxr

from util.errors import UserError
from util.files import atomic_path

DEFAULT_SR = 22050
DEFAULT_BLOCK_S = 30.0


@dataclass(frozen=True)
class AudioInfo:
    """What the file header says: rate in Hz, channels, length in samples."""

    path: str
    orig_sr: int
    n_channels: int
    n_samples: int

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.orig_sr


def audio_info(path: str) -> AudioInfo:
    """Read the header of an audio file; a file soundfile cannot open is a UserError."""
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such file")
    if os.path.getsize(path) == 0:
        raise UserError(f"{path}: empty file (0 bytes)")
    try:
        info = sf.info(path)
    except Exception as exc:  # libsndfile's messages are terse; keep them
        raise UserError(f"{path}: not a readable audio file ({_one_line(exc)})") from None
    if info.frames <= 0:
        raise UserError(f"{path}: the file holds no audio samples")
    if info.samplerate <= 0:
        raise UserError(f"{path}: invalid sample rate {info.samplerate}")
    return AudioInfo(path, int(info.samplerate), int(info.channels), int(info.frames))


def resampled_length(n_samples: int, orig_sr: int, sr: int) -> int:
    """Number of samples a signal of ``n_samples`` at ``orig_sr`` has at ``sr``."""
    if orig_sr == sr:
        return n_samples
    return max(1, int(round(n_samples * sr / orig_sr)))


def iter_blocks(path: str, sr: int = DEFAULT_SR, channel: int | None = None,
                block_s: float = DEFAULT_BLOCK_S) -> Iterator[np.ndarray]:
    """Yield a recording as float32 mono blocks at ``sr`` Hz.

    ``channel=None`` averages the channels; an integer picks one (0-based).
    The blocks add up to exactly :func:`resampled_length` samples. NaN or
    infinite samples are a UserError naming the file.
    """
    info = audio_info(path)
    if channel is not None and not 0 <= channel < info.n_channels:
        raise UserError(f"{path}: --channel {channel} asked for, but the file has "
                        f"{info.n_channels} channel(s) (0..{info.n_channels - 1})")
    total_out = resampled_length(info.n_samples, info.orig_sr, sr)
    resampler = None if info.orig_sr == sr else soxr.ResampleStream(
        info.orig_sr, sr, 1, dtype="float32", quality="HQ")
    block_in = max(1024, int(block_s * info.orig_sr))
    emitted = 0
    try:
        with sf.SoundFile(path) as handle:
            while True:
                raw = handle.read(block_in, dtype="float32", always_2d=True)
                last = raw.shape[0] < block_in
                mono = _to_mono(raw, channel)
                if not np.all(np.isfinite(mono)):
                    raise UserError(f"{path}: contains NaN or infinite samples")
                out = mono if resampler is None else resampler.resample_chunk(mono, last=last)
                out = out[: total_out - emitted]
                if out.size:
                    emitted += out.size
                    yield np.ascontiguousarray(out, dtype=np.float32)
                if last:
                    break
    except (UserError, GeneratorExit):
        raise
    except Exception as exc:
        raise UserError(f"{path}: could not read audio ({_one_line(exc)})") from None
    if emitted < total_out:  # the resampler's tail can fall a few samples short
        yield np.zeros(total_out - emitted, dtype=np.float32)


def read_audio(path: str, sr: int = DEFAULT_SR, channel: int | None = None) -> tuple[np.ndarray, int]:
    """Read a whole file as float32 mono at ``sr`` Hz; returns (samples, original rate in Hz)."""
    info = audio_info(path)
    blocks = list(iter_blocks(path, sr, channel))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32), info.orig_sr


def write_audio(path: str, samples: np.ndarray, sr: int) -> None:
    """Write float32 WAV atomically (temporary name, then rename)."""
    with atomic_path(path) as temp:
        sf.write(temp, np.asarray(samples, dtype=np.float32), sr, subtype="FLOAT", format="WAV")


def _to_mono(raw: np.ndarray, channel: int | None) -> np.ndarray:
    if channel is not None:
        return raw[:, channel]
    return raw[:, 0] if raw.shape[1] == 1 else raw.mean(axis=1)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# --------------------------------------------------------------------------- STFT

@lru_cache(maxsize=8)
def get_window(window: str, n_fft: int) -> np.ndarray:
    """Periodic analysis window of length ``n_fft`` (float64)."""
    try:
        return scipy.signal.get_window(window, n_fft, fftbins=True).astype(np.float64)
    except ValueError:
        raise UserError(f"--window {window!r}: not a window scipy knows (try 'hann')") from None


def n_frames_for(n_samples: int, hop_length: int) -> int:
    """Frames of a centred STFT of ``n_samples`` samples."""
    return 1 + n_samples // hop_length


def _frames_to_spectrum(padded: np.ndarray, n_frames: int, n_fft: int, hop_length: int,
                        window: np.ndarray) -> np.ndarray:
    starts = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:n_frames]
    frames = starts * window.astype(padded.dtype)
    return scipy.fft.rfft(frames, axis=1).T


def stft(y: np.ndarray, n_fft: int = 512, hop_length: int = 256, window: str = "hann") -> np.ndarray:
    """Centred STFT of a 1-D signal: complex array (n_fft // 2 + 1 bins, frames)."""
    y = np.asarray(y)
    dtype = np.float64 if y.dtype == np.float64 else np.float32
    pad = n_fft // 2
    padded = np.concatenate([np.zeros(pad, dtype), y.astype(dtype), np.zeros(pad, dtype)])
    return _frames_to_spectrum(padded, n_frames_for(len(y), hop_length), n_fft, hop_length,
                               get_window(window, n_fft))


def stft_frames(y: np.ndarray, first_frame: int, n_frames: int, n_fft: int = 512, hop_length: int = 256,
                window: str = "hann") -> np.ndarray:
    """Frames ``first_frame .. first_frame + n_frames - 1`` of :func:`stft` of ``y`` (zeros beyond its ends)."""
    pad = n_fft // 2
    start = first_frame * hop_length - pad
    stop = start + (n_frames - 1) * hop_length + n_fft
    segment = np.zeros(stop - start, np.float32)
    lo, hi = max(start, 0), min(stop, len(y))
    if hi > lo:
        segment[lo - start:hi - start] = y[lo:hi]
    return _frames_to_spectrum(segment, n_frames, n_fft, hop_length, get_window(window, n_fft))


def istft(spectrum: np.ndarray, n_fft: int = 512, hop_length: int = 256, window: str = "hann",
          length: int | None = None) -> np.ndarray:
    """Inverse of :func:`stft`. A spectrum with ``n_fft // 2`` rows (Nyquist dropped) gets a zero Nyquist row."""
    spectrum = _with_nyquist(spectrum, n_fft)
    n_frames = spectrum.shape[1]
    win = get_window(window, n_fft)
    frames = scipy.fft.irfft(spectrum.T, n=n_fft, axis=1) * win
    total = n_fft + hop_length * (n_frames - 1)
    signal = np.zeros(total)
    norm = np.zeros(total)
    win_sq = win ** 2
    for k in range(n_frames):  # a loop over frames is fast enough for whole tiles and blocks
        start = k * hop_length
        signal[start:start + n_fft] += frames[k]
        norm[start:start + n_fft] += win_sq
    out = _normalise_overlap(signal, norm)[n_fft // 2:]
    if length is None:
        length = hop_length * (n_frames - 1)
    return _fit_length(out, length).astype(np.float32 if spectrum.dtype == np.complex64 else np.float64)


def _with_nyquist(spectrum: np.ndarray, n_fft: int) -> np.ndarray:
    if spectrum.shape[0] == n_fft // 2:
        return np.vstack([spectrum, np.zeros((1, spectrum.shape[1]), spectrum.dtype)])
    if spectrum.shape[0] != n_fft // 2 + 1:
        raise ValueError(f"spectrum has {spectrum.shape[0]} rows; n_fft {n_fft} needs "
                         f"{n_fft // 2 + 1} (or {n_fft // 2} without Nyquist)")
    return spectrum


def _normalise_overlap(signal: np.ndarray, norm: np.ndarray) -> np.ndarray:
    return np.divide(signal, norm, out=np.zeros_like(signal), where=norm > 1e-10)


def _fit_length(y: np.ndarray, length: int) -> np.ndarray:
    if len(y) >= length:
        return y[:length]
    return np.concatenate([y, np.zeros(length - len(y), y.dtype)])


class StreamingSTFT:
    """Turns consecutive sample blocks into consecutive STFT frames.

    ``push(block)`` returns the frames that are complete so far as a complex64
    array (bins, frames); ``finish()`` returns the rest. Concatenated, they equal
    ``stft`` of the whole signal.
    """

    def __init__(self, n_fft: int = 512, hop_length: int = 256, window: str = "hann"):
        self.n_fft, self.hop_length = n_fft, hop_length
        self.window = get_window(window, n_fft)
        self._buffer = np.zeros(n_fft // 2, np.float32)
        self._n_samples = 0
        self._n_emitted = 0

    def push(self, block: np.ndarray) -> np.ndarray:
        self._n_samples += len(block)
        self._buffer = np.concatenate([self._buffer, np.asarray(block, np.float32)])
        return self._emit(final=False)

    def finish(self) -> np.ndarray:
        self._buffer = np.concatenate([self._buffer, np.zeros(self.n_fft // 2, np.float32)])
        return self._emit(final=True)

    def _emit(self, final: bool) -> np.ndarray:
        available = 0 if len(self._buffer) < self.n_fft else 1 + (len(self._buffer) - self.n_fft) // self.hop_length
        if final:
            available = min(available, n_frames_for(self._n_samples, self.hop_length) - self._n_emitted)
        if available <= 0:
            return np.zeros((self.n_fft // 2 + 1, 0), np.complex64)
        spectrum = _frames_to_spectrum(self._buffer, available, self.n_fft, self.hop_length, self.window)
        self._buffer = self._buffer[available * self.hop_length:]
        self._n_emitted += available
        return spectrum.astype(np.complex64, copy=False)


class StreamingISTFT:
    """Turns consecutive STFT frames back into consecutive samples (inverse of :class:`StreamingSTFT`).

    ``push(frames)`` returns the samples no later frame can change; ``finish(length)``
    returns the rest, trimmed so that the total is ``length`` samples.
    """

    def __init__(self, n_fft: int = 512, hop_length: int = 256, window: str = "hann"):
        self.n_fft, self.hop_length = n_fft, hop_length
        self.window = get_window(window, n_fft)
        self._signal = np.zeros(n_fft)
        self._norm = np.zeros(n_fft)
        self._to_skip = n_fft // 2  # the centring pad at the start
        self._n_out = 0

    def push(self, spectrum: np.ndarray) -> np.ndarray:
        """``spectrum`` (bins, frames), bins n_fft/2 (Nyquist taken as zero) or n_fft/2 + 1 -> final samples."""
        return self.push_frames(spectrum, spectrum.shape[1])

    def push_frames(self, spectrum: np.ndarray | None, n_frames: int) -> np.ndarray:
        """As :meth:`push`; ``spectrum`` None means ``n_frames`` silent frames (no FFT is computed for them).

        When the hop divides n_fft (the usual case), the overlap-add is vectorised: the frames are cut
        into hop-long parts and each part is added for all frames at once, earlier frames first, so the
        sums are those of a frame-by-frame loop, number for number (tested).
        """
        hop, n_fft = self.hop_length, self.n_fft
        if n_fft % hop:
            if spectrum is None:
                spectrum = np.zeros((n_fft // 2 + 1, n_frames), np.complex64)
            return self._push_frame_by_frame(spectrum)
        if n_frames == 0:
            return np.zeros(0, np.float32)
        grow = n_frames * hop
        self._signal = np.concatenate([self._signal, np.zeros(grow)])
        self._norm = np.concatenate([self._norm, np.zeros(grow)])
        per_frame = n_fft // hop
        rows = n_frames + per_frame - 1
        norm = self._norm[:rows * hop].reshape(rows, hop)
        win_sq = (self.window ** 2).reshape(per_frame, hop)
        if spectrum is not None:  # irfft zero-pads a spectrum without its Nyquist row
            frames = (scipy.fft.irfft(spectrum.T, n=n_fft, axis=1) * self.window).reshape(n_frames, per_frame, hop)
            signal = self._signal[:rows * hop].reshape(rows, hop)
        for part in reversed(range(per_frame)):  # frame k's part p lands on row k + p: earlier frames first
            norm[part:part + n_frames] += win_sq[part]
            if spectrum is not None:
                signal[part:part + n_frames] += frames[:, part]
        return self._release(grow)

    def _push_frame_by_frame(self, spectrum: np.ndarray) -> np.ndarray:
        spectrum = _with_nyquist(spectrum, self.n_fft)
        n_frames = spectrum.shape[1]
        if n_frames == 0:
            return np.zeros(0, np.float32)
        frames = scipy.fft.irfft(spectrum.T, n=self.n_fft, axis=1) * self.window
        hop = self.hop_length
        grow = n_frames * hop
        self._signal = np.concatenate([self._signal, np.zeros(grow)])
        self._norm = np.concatenate([self._norm, np.zeros(grow)])
        win_sq = self.window ** 2
        for k in range(n_frames):
            self._signal[k * hop:k * hop + self.n_fft] += frames[k]
            self._norm[k * hop:k * hop + self.n_fft] += win_sq
        return self._release(n_frames * hop)  # samples before the next frame's start are final

    def finish(self, length: int) -> np.ndarray:
        keep = max(0, length - self._n_out)
        tail = self._release(len(self._signal))
        return _fit_length(tail, keep).astype(np.float32)

    def _release(self, n: int) -> np.ndarray:
        out = _normalise_overlap(self._signal[:n], self._norm[:n])
        self._signal, self._norm = self._signal[n:], self._norm[n:]
        skip = min(self._to_skip, len(out))
        self._to_skip -= skip
        out = out[skip:].astype(np.float32)
        self._n_out += len(out)
        return out
