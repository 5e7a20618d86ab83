"""The names of what a recording's run writes: per-recording files, folder, and the combined tables.

One place for them, so that the writers, the skip check and the combined tables agree.
"""

from __future__ import annotations

import os

from util.cli import InputFile
from util.labels.palette import Palette

RESIDUAL = "residual"                       # <residual>.wav: what no class took (background, Nyquist bin)
LABELS_PNG = "labels.png"
OCCUPANCY_CSV = "occupancy.csv"
PROFILE_CSV = "frequency_profile.csv"
COMBINED_SELECTIONS = "combined.selections.txt"
COMBINED_OCCUPANCY = "combined_occupancy.csv"
OCCUPANCY_COLUMNS = ("class", "time_occupancy", "acoustic_space_occupancy", "seconds_present", "seconds_total")
PROFILE_COLUMNS = ("class", "freq_hz", "mean_db", "n_cells")


def selections_name(stem: str) -> str:
    """``<stem>.selections.txt``: a recording's Raven selection table."""
    return f"{stem}.selections.txt"


def isolated_spectrogram_name(slug: str) -> str:
    """``<slug>_spectrogram.png``: the mixture's grey spectrogram where the class is."""
    return f"{slug}_spectrogram.png"


def expected_outputs(out_dir: str, stem: str, palette: Palette, save_spectrograms: bool = False) -> list[str]:
    """Every file :func:`util.recording.pipeline.process_recording` writes for a recording of this ``stem``."""
    names = [f"{slug}.wav" for slug in palette.slugs] + [f"{RESIDUAL}.wav", LABELS_PNG,
                                                         selections_name(stem), OCCUPANCY_CSV, PROFILE_CSV]
    if save_spectrograms:
        names += [isolated_spectrogram_name(slug) for slug in palette.slugs]
    return [os.path.join(out_dir, name) for name in names]


def recording_out_dir(results_dir: str, item: InputFile) -> str:
    """``<results_dir>/<folder relative to the input root>/<stem>/``."""
    return os.path.join(results_dir, item.rel_dir, item.stem)
