"""Spectrogram GAN: the library that the numbered job scripts share.

Subpackages, by layer (each imports only from those above it in this list):
    errors, files     the one exception type for a user's mistake; atomic writes, tables, run layout
    metrics           pixel F1, spectrogram / audio MSE, SI-SDR, SSIM, LPIPS (each with its domain)
    signal            audio files, STFT, calibrated spectrogram PNG tiles
    cli               what every script shares: file discovery, batches, one-line errors, spectrogram flags
    labels            palettes, annotation tables, A|B pairs, detections, occupancy, masks
    gan               pix2pix: networks, losses, training step and loop, options, scoring
    recording, synth  whole recordings through a generator; labelled synthetic soundscapes
    evaluation        job06: the paper's tables and figures, baselines, CNN classifiers

tests/architecture/test_layout.py checks the layering and the size of every module and function.
"""

__version__ = "0.1.0"
