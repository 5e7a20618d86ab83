"""How far the labels of a job00 set depend on the draw of its background noise: the ceiling of any model.

:func:`noise_draw_agreement` remakes every soundscape of a split twice, with draw 0 of its background (the
set's own) and with another draw (the same sources over another realisation of the same kind of
background), labels both with the set's own rule, and counts how far the two label maps agree. No model
can predict the noise, so their pixel F1 is the best any model can score on that split.

Imports :mod:`util.synth.dataset` (and what it imports), :mod:`util.metrics` and the base layer.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
from tqdm import tqdm

from util.errors import UserError
from util.files import SPLITS
from util.metrics import PixelCounts
from util.signal.spectrogram import SpecParams
from util.synth.dataset import dataset_record_path, read_dataset_record, remake_soundscape
from util.synth.soundscape import Conditions
from util.synth.sources import palettes
from util.synth.truth import TruthRule


def noise_draw_agreement(root: str, split: str, noise_draw: int = 1, progress: bool = True) -> dict[str, PixelCounts]:
    """Pixel counts of draw ``noise_draw``'s labels against draw 0's, summed over every soundscape of ``split``.

    Each soundscape is remade from the set's dataset.json (seed, clip count, duration, spectrogram,
    conditions, truth rule) with draw 0 and with draw ``noise_draw`` of its background; both are labelled
    with the set's rule, over every frame of the clip (all are valid frames).

    Parameters
    ----------
    root : str
        Root of a data set made by job00 (holds ``input_wav/dataset.json``).
    split : str
        One of ``util.files.SPLITS``; a split the record does not count (e.g. val of an older set) has 0 clips.
    noise_draw : int
        The other draw (1 or more).
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        {'species': PixelCounts, 'community': PixelCounts}: truth = draw 0's labels, prediction = the
        other draw's; ``mean_f1()`` of each is the ceiling of any model's pixel F1 at that level.

    Raises
    ------
    UserError
        No dataset.json under ``root``, an unknown ``split``, or ``noise_draw`` < 1.

    Example::

        counts = noise_draw_agreement("data/synth", "test")
        counts["species"].mean_f1()    # e.g. 0.97
    """
    record = read_dataset_record(root)
    if record is None:
        raise UserError(f"{dataset_record_path(root)}: not found; the noise-draw ceiling needs a set made by job00")
    if split not in SPLITS:
        raise UserError(f"split {split!r}: use one of {', '.join(SPLITS)}")
    if noise_draw < 1:
        raise UserError(f"noise_draw {noise_draw}: compare draw 0 with another draw (1 or more)")
    params = SpecParams(**{f.name: record["spectrogram"][f.name] for f in fields(SpecParams) if f.init}).check()
    n_samples = int(round(record["duration_s"] * params.sr))
    truth, conditions = TruthRule.from_record(record), Conditions.from_record(record)
    counts = {level: PixelCounts(len(palette)) for level, palette in palettes().items()}
    n_clips = int(record.get(f"n_{split}", 0))
    for index in tqdm(range(n_clips), desc=f"noise-draw agreement ({split})", unit="clip",
                      disable=None if progress else True):
        maps = [truth.class_maps(remake_soundscape(record["seed"], split, index, n_samples, params.sr, conditions,
                                                   draw), params) for draw in (0, noise_draw)]
        for level, level_counts in counts.items():
            level_counts.update(np.asarray(maps[1][level]), np.asarray(maps[0][level]))
    return counts
