"""pix2pix for spectrograms: networks, losses, the training step and loop, options, scoring.

Modules:
    networks  U-Net / ResNet generators, PatchGAN discriminators, weight init, loading published weights
    norms     the norm layers (pix2pix's --norm) and ours, tile norm
    gemm      CPU speed: convolutions on small inputs as one matrix product
    losses    every loss (GAN, L1, colour cross-entropy, class weights) and the nearest-colour rule on tensors
    images    8-bit images <-> the networks' [-1, 1] scale
    model     Pix2PixModel: one training step, schedules, save / load, full training state
    dataset   aligned A|B pairs as tensors; label statistics for class balance
    options   job03 / job04 flags (pix2pix's names), presets, devices, a run's saved options
    tile_settings  the spectrogram settings of a model's training tiles: read, kept in train_opt.json, checked
    train     job03's loop: sampling, logging, per-epoch scores, exact resume, Ctrl-C
    distributed  job03 under torchrun: process group, global batches, gradient averaging, global batch norm
    scoring   a generator over test pairs: pixel F1, SSIM, LPIPS, images and CSV tables
    calibration  fitting how a generator's colours are read (per-class offsets, speckle size) on val
    averaging  an exponential moving average of the generator's weights (--ema_decay)
    precision  the generator's arithmetic at inference (float32, or bfloat16 under autocast)

May import from util.errors, util.files, util.metrics, util.cli, util.signal and util.labels.
"""

from util.gan.options import finish_options, finish_test_options, test_parser, train_parser
from util.gan.train import TrainResult, train

__all__ = ["TrainResult", "finish_options", "finish_test_options", "test_parser", "train", "train_parser"]
