"""Spectrogram GAN: the library that the numbered job scripts share.

Modules, one concern each:
    errors        the one exception type for a user's mistake
    audio         read any audio file, resample, STFT / ISTFT, stream long files
    spectrogram   dB <-> 8-bit pixels, PNG tiles with embedded metadata
    palette       class colours, colour <-> class decoding
    annotations   Raven / Audacity tables in and out, boxes -> label pixels
    pairs         A|B training pairs
    synth         labelled synthetic soundscapes with exact ground truth
    cli           what every script shares: file discovery, batches, errors
"""

__version__ = "0.1.0"
