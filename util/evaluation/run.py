"""job06's evaluation: every table of :data:`util.evaluation.registry.TABLES` as xlsx, and the figures.

Inputs: the test split made by job00 (``ROOT/input_img/test_{species,community}_samples`` A|B pairs, whose B
is the exact truth, and ``ROOT/input_wav/test/<id>/`` with the mixture and every source's own audio), the
training split (the CNN classifiers and the NMF bases learn there), the val split (data06's thresholds are
chosen there; the training split when there is no val), the trained generators and their training logs
(``<checkpoints_dir>/<name>/metrics.csv``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from util.errors import UserError
from util.evaluation.context import Evaluation
from util.evaluation.examples import draw_examples
from util.evaluation.options import EvaluationOptions
from util.evaluation.registry import EXAMPLE_FILES, TABLES
from util.evaluation.workbook import read_workbook, write_workbook


@dataclass
class EvaluationReport:
    """What :func:`run_evaluation` wrote and the headline figures for job06's summary."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_asked: dict[str, str] = field(default_factory=dict)                   # key -> why it was not made
    tables: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)   # key -> sheets
    notes: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)              # (output path, one-line reason)


def run_evaluation(opt: EvaluationOptions) -> EvaluationReport:
    """Make every table (xlsx with an ``about`` sheet) and figure job06 promises.

    A table or figure that exists is kept (and read back for its figure and the summary) unless
    ``opt.overwrite``; each piece of work (generators, CNNs, NMF) runs only if a table needs it.
    A table that cannot be made (a UserError: no generator, no part audio, ...) is listed in
    ``report.failures`` and the others are still made; one that needs a setting not given (data08 without
    ``opt.ablation_checkpoints``) is listed in ``report.not_asked`` with how to ask for it.

    Parameters
    ----------
    opt : EvaluationOptions
        The data, the generators, where to write, and the evaluation's own settings.

    Returns
    -------
    EvaluationReport
        The files written and kept, each table's sheets by key (``data01`` ... ``data08`` as
        ``ssim_lpips`` ... ``ablation``), notes to print, and the outputs that failed with the reason.
    """
    ev = Evaluation(opt)
    report = EvaluationReport()
    for key, spec in TABLES.items():
        path = os.path.join(opt.out, spec.file_name)
        if spec.needs(opt):
            report.not_asked[key] = spec.needs(opt)
            continue
        if os.path.exists(path) and not opt.overwrite:
            report.tables[key] = read_workbook(path)
            report.skipped.append(path)
            continue
        try:
            sheets = spec.compute(ev)
            report.written.append(write_workbook(path, sheets, spec.about(ev)))
        except UserError as exc:
            report.failures.append((path, str(exc)))
            continue
        report.tables[key] = sheets
    for key, spec in TABLES.items():
        if key in report.tables:
            _figure(report, os.path.join(opt.figures_dir, spec.figure_name), opt.overwrite,
                    lambda path, spec=spec, sheets=report.tables[key]: spec.draw(sheets, path))
    for level, name in EXAMPLE_FILES.items():
        _figure(report, os.path.join(opt.figures_dir, name), opt.overwrite,
                lambda path, level=level: draw_examples(ev, level, path))
    report.notes += ev.notes
    return report


def _figure(report: EvaluationReport, path: str, overwrite: bool, draw: Callable[[str], str]) -> None:
    """Draw one figure into ``path`` unless it exists; a UserError is a failure of that figure only."""
    if os.path.exists(path) and not overwrite:
        report.skipped.append(path)
        return
    try:
        report.written.append(draw(path))
    except UserError as exc:
        report.failures.append((path, str(exc)))
