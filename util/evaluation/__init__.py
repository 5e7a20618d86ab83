"""The paper's evaluation (job06): tables data01..data08 as xlsx with an ``about`` sheet, and their figures.

Modules:

- ``options``: :class:`EvaluationOptions`, everything job06 can set;
- ``data``: the test and training tiles (job00's A|B pairs) and each clip's audio; the presence rule;
- ``generator``: the trained generators, loaded in eval mode and run on tiles;
- ``context``: :class:`~util.evaluation.context.Evaluation`, the state the tables share, made on first use;
- ``training_curves`` (data01), ``profiles`` (data02), ``occupancy`` (data03), ``denoising`` (data04),
  ``separation`` (data05), ``classification`` (data06), ``pixel_f1`` (data07), ``ablation`` (data08, GAN term
  off vs on; only with ``--ablation_checkpoints``): each table's functions,
  its ``compute``, ``about`` and ``draw``; ``call_boxes``: each call's box (job00's events.csv), for data04's
  in-box sheet; ``separation_scores``: data05's rules for silent estimates, the error re source, false alarms;
- ``registry``: :data:`TABLES`, which table is which file, computed and drawn by what, and when it is made;
- ``about``: the about sheets' common items (data, models, software), read from what ran;
- ``workbook``: the xlsx files; ``figures``: the PNGs; ``examples``: the example panels;
- ``run``: :func:`run_evaluation`; ``summary``: the lines job06 prints;
- ``baselines``: spectral subtraction, Wiener filter, spectral gating, supervised NMF;
  ``classifiers``: the CNN baselines (ResNet50, VGG16), imported only when data06 is made.

May import everything below it: :mod:`util.errors`, :mod:`util.files`, :mod:`util.metrics`,
:mod:`util.signal`, :mod:`util.labels`, :mod:`util.gan` and :mod:`util.synth`.
"""

from __future__ import annotations

from util.evaluation.data import DEFAULT_MIN_TRUE_PIXELS
from util.evaluation.options import EvaluationOptions
from util.evaluation.registry import TABLES
from util.evaluation.run import EvaluationReport, run_evaluation
from util.evaluation.summary import summary_lines

__all__ = ["DEFAULT_MIN_TRUE_PIXELS", "TABLES", "EvaluationOptions", "EvaluationReport", "run_evaluation",
           "summary_lines"]
