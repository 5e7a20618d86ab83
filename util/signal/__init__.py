"""Sound and its picture: audio files, STFT, and calibrated spectrogram PNG tiles.

Modules:
    audio        read any audio file (streamed in blocks, resampled, one channel), STFT / ISTFT, streaming both
    spectrogram  SpecParams (the STFT and dB settings, the one home of their defaults), dB <-> 8-bit pixels,
                 PNG tiles with their settings embedded, tiling a recording

The bottom layer: imports only util.errors and util.files.
"""

from util.signal.audio import read_audio, write_audio
from util.signal.spectrogram import SpecParams, convert_file, read_png, read_spectrogram_png, write_png

__all__ = ["SpecParams", "convert_file", "read_audio", "read_png", "read_spectrogram_png", "write_audio", "write_png"]
