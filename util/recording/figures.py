"""activity.png: a recording's detections at a glance, one row per class, each detection a bar in its colour.

Drawn with matplotlib's object interface and the Agg canvas (no display, no global backend switch), written
atomically.
"""

from __future__ import annotations

from util.files import atomic_path
from util.labels.palette import Palette

FIGURE_WIDTH_IN = 10.0
ROW_HEIGHT_IN = 0.35


def write_activity_figure(path: str, detections: list[dict], palette: Palette, classes: tuple[int, ...],
                          duration_s: float, title: str) -> str:
    """Each detection (rows of :func:`util.recording.formats.detection_rows`) as a bar from its start to its end
    (seconds in the file), one row per class of ``classes``, in the palette's colours; returns ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(FIGURE_WIDTH_IN, 1.2 + ROW_HEIGHT_IN * len(classes)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for row, k in enumerate(reversed(classes)):
        source = palette.classes[k - 1]
        spans = [(float(d["start_s"]), float(d["end_s"]) - float(d["start_s"])) for d in detections
                 if d["common_name"] == source.name]
        axes.broken_barh(spans, (row - 0.4, 0.8), facecolors=[c / 255 for c in source.rgb], edgecolors="black",
                         linewidth=0.3)
    axes.set_yticks(range(len(classes)), [palette.classes[k - 1].name for k in reversed(classes)])
    axes.set_ylim(-0.6, len(classes) - 0.4)
    axes.set_xlim(0, max(duration_s, 1e-3))
    axes.set_xlabel("time from the start of the file (s)")
    axes.set_title(f"{title}: {len(detections)} detections", loc="left", fontsize="medium")
    with atomic_path(path) as temp:
        figure.savefig(temp, format="png", dpi=100)
    return path
