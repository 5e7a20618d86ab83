"""The evaluation's tables, in order: for each, its xlsx, how it is computed, its about sheet and its figure.

:data:`TABLES` is the one list :func:`util.evaluation.run.run_evaluation` walks; a new table is one
more :class:`TableSpec` here (and a module with its ``compute``, ``about`` and ``draw``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from util.evaluation import (
    ablation,
    classification,
    denoising,
    occupancy,
    pixel_f1,
    profiles,
    separation,
    training_curves,
)
from util.evaluation.context import Evaluation
from util.evaluation.options import EvaluationOptions

Sheets = dict[str, pd.DataFrame]


@dataclass(frozen=True)
class TableSpec:
    """One table job06 makes.

    ``compute(ev)`` returns its sheets (name -> DataFrame); ``about(ev)``, called after ``compute``, the
    items of its about sheet; ``draw(sheets, path)`` its figure, from the sheets as made or as read back.
    ``needs(opt)``, for a table made only when asked: None when it can be made, else why not and how to ask
    for it (one line; the table and its figure are then left out).
    """

    file_name: str
    figure_name: str
    compute: Callable[[Evaluation], Sheets]
    about: Callable[[Evaluation], dict]
    draw: Callable[[Sheets, str], str]
    needs: Callable[[EvaluationOptions], str | None] = lambda opt: None

    @property
    def label(self) -> str:
        """'data08': how job06's lines name the table."""
        return self.file_name.split("_")[0]


TABLES: OrderedDict[str, TableSpec] = OrderedDict([
    ("ssim_lpips", TableSpec("data01_ssim_lpips.xlsx", "fig01_ssim_lpips.png",
                             training_curves.compute, training_curves.about, training_curves.draw)),
    ("frequency", TableSpec("data02_frequency_quantification.xlsx", "fig02_frequency_profiles.png",
                            profiles.compute, profiles.about, profiles.draw)),
    ("occupancy", TableSpec("data03_time_acoustic_space_quantification.xlsx", "fig03_occupancy.png",
                            occupancy.compute, occupancy.about, occupancy.draw)),
    ("denoising", TableSpec("data04_denoising.xlsx", "fig04_denoising_mse.png",
                            denoising.compute, denoising.about, denoising.draw)),
    ("separation", TableSpec("data05_source_separation.xlsx", "fig05_separation.png",
                             separation.compute, separation.about, separation.draw)),
    ("classification", TableSpec("data06_classification.xlsx", "fig06_classification_f1.png",
                                 classification.compute, classification.about, classification.draw)),
    ("pixel_f1", TableSpec("data07_pixel_f1.xlsx", "fig07_pixel_f1.png",
                           pixel_f1.compute, pixel_f1.about, pixel_f1.draw)),
    ("ablation", TableSpec("data08_ablation.xlsx", "fig10_ablation.png",
                           ablation.compute, ablation.about, ablation.draw, ablation.needs)),
])
TABLE_FILES = OrderedDict((key, spec.file_name) for key, spec in TABLES.items())
EXAMPLE_FILES = {"species": "fig08_examples_species.png", "community": "fig09_examples_community.png"}
