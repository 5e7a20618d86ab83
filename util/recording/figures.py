"""``<stem>.detections.png``: a recording's spectrogram with every detection boxed, and its detections in time.

Top panel: the grey spectrogram the generator was given (the pipeline's own pixels, not a second STFT: the
model's working rate, STFT and dB range), with a colour bar in dB re full scale; each detection is a
rectangle from its start to its end time and from its low to its high frequency, in its class's palette
colour with a dark halo (so white or yellow boxes show on light paper too); a legend names the classes
found. Bottom panel: each detection as a bar in time, one row per class (what activity.png showed before).

Long recordings: at most ``MAX_DRAWN_COLUMNS`` spectrogram columns are kept (memory and the figure do not
grow with the recording); beyond that each drawn column is the loudest of ``k`` consecutive frames (the
maximum in dB, so a short call is not averaged away), and the title says ``k``. Time is clock time when the
file name gives the start (:mod:`util.recording.clock`), else seconds from the start of the file.

Drawn with matplotlib's object interface and the Agg canvas (no display, no global backend switch); written
atomically. :func:`new_figure` and :func:`save_figure` serve the run's figures too.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import NamedTuple

import numpy as np

from util.files import atomic_path
from util.labels.palette import Palette
from util.recording.clock import time_after
from util.signal.spectrogram import SpecParams, pixels_to_db

MAX_DRAWN_COLUMNS = 2048          # spectrogram columns kept for the figure (about 24 s at 22 050 Hz, hop 256)
FIGURE_WIDTH_IN = 14.0
SPECTROGRAM_HEIGHT_IN = 4.0
ROW_HEIGHT_IN = 0.3               # per class row of the activity panel
DPI = 100
ACTIVITY_BACKGROUND = "0.85"      # light grey: white and yellow classes show on it
DISPLAY_RANGE_DB = 60.0           # the colour bar spans the loudest level and this much below it
CLOCK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
MAX_TIME_TICKS = 10


class Box(NamedTuple):
    """A detection as a rectangle in the spectrogram's axis units."""

    x: float                      # start, s from the start of the file
    y: float                      # low frequency, kHz
    width: float                  # duration, s
    height: float                 # bandwidth, kHz
    class_index: int              # 1-based palette index


class SpectrogramOverview:
    """A recording's grey spectrogram, at most ``max_columns`` wide, fed block by block in time order.

    ``frames_per_column`` consecutive frames become one column (their maximum: the loudest); 1 for recordings
    of up to ``max_columns`` frames.
    """

    def __init__(self, n_rows: int, n_frames: int, max_columns: int = MAX_DRAWN_COLUMNS):
        self.frames_per_column = max(1, math.ceil(n_frames / max_columns))
        self._image = np.zeros((n_rows, math.ceil(n_frames / self.frames_per_column)), np.uint8)
        self._carry = np.zeros((n_rows, 0), np.uint8)       # frames of a column not complete yet
        self._filled = 0

    def add(self, pixels: np.ndarray) -> None:
        """Append grey columns (rows, n), uint8, low frequency at the bottom."""
        k = self.frames_per_column
        columns = np.concatenate([self._carry, np.asarray(pixels, np.uint8)], axis=1)
        n_full = columns.shape[1] // k
        self._put(columns[:, :n_full * k].reshape(columns.shape[0], n_full, k).max(axis=2))
        self._carry = columns[:, n_full * k:]

    def image(self) -> np.ndarray:
        """(rows, columns) uint8: the columns so far, the last (incomplete) one included."""
        if self._carry.shape[1]:
            self._put(self._carry.max(axis=1, keepdims=True))
            self._carry = self._carry[:, :0]
        return self._image[:, :self._filled]

    def _put(self, columns: np.ndarray) -> None:
        n = min(columns.shape[1], self._image.shape[1] - self._filled)
        self._image[:, self._filled:self._filled + n] = columns[:, :n]
        self._filled += n


def detection_boxes(detections: list[dict], palette: Palette) -> list[Box]:
    """Detection rows (:func:`util.recording.formats.detection_rows`, or read back from detections.csv) ->
    rectangles: x = start (s), y = low frequency (kHz), width = duration (s), height = bandwidth (kHz)."""
    boxes = []
    for row in detections:
        start_s, end_s = float(row["start_s"]), float(row["end_s"])
        low_khz, high_khz = float(row["low_freq_hz"]) / 1000, float(row["high_freq_hz"]) / 1000
        boxes.append(Box(start_s, low_khz, end_s - start_s, high_khz - low_khz, palette.index(row["common_name"])))
    return boxes


def class_colour(palette: Palette, class_index: int) -> tuple[float, float, float]:
    """A class's palette colour as matplotlib takes it (0..1)."""
    return tuple(c / 255 for c in palette.classes[class_index - 1].rgb)


def new_figure(width_in: float, height_in: float):
    """A matplotlib Figure on the Agg canvas (no display needed, pyplot's global state untouched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure, path: str) -> str:
    """Write a figure as PNG through a temporary name; returns ``path``."""
    with atomic_path(path) as temp:
        figure.savefig(temp, format="png", dpi=DPI)
    return path


def write_detections_figure(path: str, pixels: np.ndarray, frames_per_column: int, params: SpecParams,
                            detections: list[dict], palette: Palette, classes: tuple[int, ...],
                            duration_s: float, start: datetime | None = None, title: str = "") -> str:
    """The recording's figure (see the module docstring); returns ``path``.

    ``pixels``: its grey spectrogram, (rows, columns) uint8, each column ``frames_per_column`` frames
    (:class:`SpectrogramOverview`); ``detections``: its detection rows; ``classes``: the rows of the activity
    panel (1-based palette indices); ``duration_s``: its length; ``start``: its clock time at 0 s, or None.
    """
    figure = new_figure(FIGURE_WIDTH_IN, SPECTROGRAM_HEIGHT_IN + 0.7 + ROW_HEIGHT_IN * len(classes))
    grid = figure.add_gridspec(2, 2, width_ratios=(1, 0.012),
                               height_ratios=(SPECTROGRAM_HEIGHT_IN, 0.3 + ROW_HEIGHT_IN * len(classes)))
    spectrogram = figure.add_subplot(grid[0, 0])
    activity = figure.add_subplot(grid[1, 0], sharex=spectrogram)
    boxes = detection_boxes(detections, palette)
    image = _draw_spectrogram(spectrogram, pixels, frames_per_column, params)
    if image is not None:
        figure.colorbar(image, cax=figure.add_subplot(grid[0, 1]), label="level (dB re full scale)")
    _draw_boxes(spectrogram, boxes, palette)
    _draw_activity(activity, boxes, palette, classes)
    spectrogram.set_xlim(0, max(duration_s, 1e-3))
    spectrogram.tick_params(labelbottom=False)
    _time_axis(activity, start, duration_s)
    column_s = frames_per_column * params.hop_length / params.sr
    drawn = (f"; each spectrogram column is the loudest of {frames_per_column} frames ({column_s:.3g} s)"
             if frames_per_column > 1 else "")
    stft = f"spectrogram {params.sr} Hz, n_fft {params.n_fft}, hop {params.hop_length}"
    figure.suptitle(f"{title}: {len(boxes)} detections; {stft}{drawn}", x=0.01, ha="left", fontsize="medium")
    return save_figure(figure, path)


def _draw_spectrogram(axes, pixels: np.ndarray, frames_per_column: int, params: SpecParams):
    """The grey image in dB, frequency in kHz (bin centres at k * sr / n_fft); None when it has no column."""
    frame_s, bin_khz = params.hop_length / params.sr, params.sr / params.n_fft / 1000
    axes.set_ylabel("frequency (kHz)")
    axes.set_ylim(0, params.n_rows * bin_khz)
    if pixels.shape[1] == 0:
        return None
    level_db = pixels_to_db(pixels, params.db_floor, params.db_ceil)
    loudest = float(level_db.max())
    extent = (-0.5 * frame_s, (pixels.shape[1] * frames_per_column - 0.5) * frame_s,
              -0.5 * bin_khz, (params.n_rows - 0.5) * bin_khz)
    return axes.imshow(level_db, cmap="Greys", origin="upper", aspect="auto", extent=extent,
                       interpolation="antialiased", vmin=max(params.db_floor, loudest - DISPLAY_RANGE_DB),
                       vmax=max(loudest, params.db_floor + 1e-3))


def _draw_boxes(axes, boxes: list[Box], palette: Palette) -> None:
    """Each box as an outline in its class colour over a dark halo; a legend of the classes with boxes."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.patheffects import Normal, Stroke

    present = sorted({b.class_index for b in boxes if b.class_index})
    for k in present:
        rectangles = [Rectangle((b.x, b.y), b.width, b.height) for b in boxes if b.class_index == k]
        outlines = PatchCollection(rectangles, facecolor="none", edgecolor=class_colour(palette, k), linewidth=1.4)
        outlines.set_path_effects([Stroke(linewidth=2.6, foreground="black", alpha=0.5), Normal()])
        axes.add_collection(outlines)
    if present:
        handles = [Patch(facecolor=class_colour(palette, k), edgecolor="black", linewidth=0.5,
                         label=palette.classes[k - 1].name) for k in present]
        axes.legend(handles=handles, loc="upper right", ncols=min(len(present), 4), fontsize="small",
                    framealpha=0.85)


def _draw_activity(axes, boxes: list[Box], palette: Palette, classes: tuple[int, ...]) -> None:
    """One row per class (the first class on top), each detection a bar from its start to its end (on light
    grey, so that white and yellow show)."""
    axes.set_facecolor(ACTIVITY_BACKGROUND)
    for row, k in enumerate(reversed(classes)):
        spans = [(b.x, b.width) for b in boxes if b.class_index == k]
        axes.broken_barh(spans, (row - 0.4, 0.8), facecolors=class_colour(palette, k),
                         edgecolors=class_colour(palette, k), linewidth=0.5)
    axes.set_yticks(range(len(classes)), [palette.classes[k - 1].name for k in reversed(classes)])
    axes.set_ylim(-0.6, len(classes) - 0.4)


def _time_axis(axes, start: datetime | None, duration_s: float) -> None:
    """Seconds from the start of the file; or, with a start time, clock times at round steps."""
    if start is None:
        axes.set_xlabel("time from the start of the file (s)")
        return
    from matplotlib.ticker import FixedLocator, FuncFormatter

    axes.xaxis.set_major_locator(FixedLocator(clock_ticks_s(start, duration_s)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda s, _: time_after(start, s).strftime("%H:%M:%S")))
    zone = start.tzname() or "as in the file name"
    axes.set_xlabel(f"time of day ({zone}; the start from the file name)")


def clock_ticks_s(start: datetime, duration_s: float) -> list[float]:
    """Seconds from ``start`` at which the clock shows round times (every 1 s .. 6 h), at most MAX_TIME_TICKS."""
    into_day_s = start.hour * 3600 + start.minute * 60 + start.second + start.microsecond / 1e6
    step = next((s for s in CLOCK_STEPS_S if duration_s / s <= MAX_TIME_TICKS), CLOCK_STEPS_S[-1])
    first = math.ceil(into_day_s / step) * step
    return [t - into_day_s for t in np.arange(first, into_day_s + duration_s + 1e-9, step)]
