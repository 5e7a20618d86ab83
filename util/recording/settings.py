"""What a whole-recording run writes and how it turns the class map into detections: one frozen set of settings.

Products (``outputs``, job04 ``--outputs``), each a group of files per recording (names in
:mod:`util.recording.layout`):

``tables``        Raven selection table, detections CSV, Audacity labels, occupancy.csv, frequency_profile.csv
                  (and for the run: the combined Raven table with its list file, combined detections and
                  occupancy); a few kB per recorded hour
``labels``        labels.png, the class map of the whole recording (a few MB per recorded hour)
``audio``         one audio file per selected class and the residual (float WAV: 2.9 GB per recorded hour
                  for the 8 species at 22 050 Hz; 16-bit FLAC: silent stretches cost almost nothing)
``spectrograms``  each selected class's isolated grey spectrogram (PNG)
``figures``       <stem>.detections.png: the spectrogram with each detection boxed, and each as a bar in time
                  (with detections.csv, which the run's figures are made from); for the run diel_activity.png
                  and occupancy.png, with diel_activity.csv and occupancy_by_class.csv
``kaleidoscope``  kaleidoscope.csv for the run (one row per detection, Kaleidoscope / BirdNET-style columns)

Default ``tables,labels``: what a season of recordings needs on a laptop disk (kB + MB per recorded hour),
and everything else can be remade from the same command with more products.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

from util.errors import UserError
from util.labels.palette import Palette
from util.recording.clock import parse_timezone
from util.recording.tiling import DEFAULT_TILE_OVERLAP, check_tile_overlap

PRODUCTS = ("tables", "labels", "audio", "spectrograms", "figures", "kaleidoscope")
DEFAULT_OUTPUTS = ("tables", "labels")
DEFAULT_MIN_DURATION_S = 0.05     # shorter regions are not detections
DEFAULT_MIN_AREA_PX = 10          # regions of fewer pixels are not detections
DEFAULT_MIN_SCORE = 0.0           # detections with a lower score are left out of the tables (0: keep all)
DEFAULT_TIMEZONE = "UTC"          # of the clock times in file names: AudioMoth names them in UTC


class AudioFormat(NamedTuple):
    container: str      # soundfile format
    subtype: str        # soundfile subtype
    extension: str
    bytes_per_sample: int


AUDIO_FORMATS = {
    "flac": AudioFormat("FLAC", "PCM_16", ".flac", 2),    # lossless 16-bit; silence compresses to almost nothing
    "wav16": AudioFormat("WAV", "PCM_16", ".wav", 2),
    "float": AudioFormat("WAV", "FLOAT", ".wav", 4),      # 32-bit float: the files add up to the recording exactly
}
DEFAULT_AUDIO_FORMAT = "flac"


@dataclass(frozen=True)
class RecordingSettings:
    """Everything, besides the model and the spectrogram, that decides what a recording's run writes.

    Parameters
    ----------
    tile_overlap : int
        Frames shared by consecutive tiles and cross-faded, 0 .. tile_frames / 2.
    channel : int or None
        None averages the channels; N picks one (0-based; tables count channels from 1, as Raven does).
    min_duration_s, min_area_px, min_score : float, int, float
        Shorter (s), smaller (pixels) or lower-scoring regions are not detections (tables, figures).
    outputs : tuple of str or str
        Products to write (``PRODUCTS``; a comma-separated string or ``'all'`` is accepted).
    classes : tuple of str or None
        Classes (names, scientific names or slugs) whose audio, spectrograms and detections are written;
        None = all. labels.png always shows every class.
    audio_format : str
        One of ``AUDIO_FORMATS``.
    timezone : str
        Time zone of the start times in file names (``UTC``, ``+10:00``, ``Europe/Berlin``).
    """

    tile_overlap: int = DEFAULT_TILE_OVERLAP
    channel: int | None = None
    min_duration_s: float = DEFAULT_MIN_DURATION_S
    min_area_px: int = DEFAULT_MIN_AREA_PX
    min_score: float = DEFAULT_MIN_SCORE
    outputs: tuple[str, ...] = DEFAULT_OUTPUTS
    classes: tuple[str, ...] | None = None
    audio_format: str = DEFAULT_AUDIO_FORMAT
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self):
        object.__setattr__(self, "outputs", parse_outputs(self.outputs))
        if isinstance(self.classes, str):
            object.__setattr__(self, "classes", parse_list(self.classes))
        elif self.classes is not None:
            object.__setattr__(self, "classes", tuple(self.classes))

    def wants(self, product: str) -> bool:
        return product in self.outputs

    def check(self, palette: Palette, tile_frames: int) -> "RecordingSettings":
        """UserError for a value that cannot work with this palette and tile width; returns self."""
        check_tile_overlap(self.tile_overlap, tile_frames)
        if self.channel is not None and self.channel < 0:
            raise UserError(f"--channel {self.channel}: channels count from 0")
        if not 0.0 <= self.min_score <= 1.0:
            raise UserError(f"--min_score {self.min_score:g}: a score is between 0 and 1")
        if self.audio_format not in AUDIO_FORMATS:
            raise UserError(f"--audio_format {self.audio_format!r}: choose one of {', '.join(AUDIO_FORMATS)}")
        parse_timezone(self.timezone)
        self.class_indices(palette)
        return self

    def class_indices(self, palette: Palette) -> tuple[int, ...]:
        """1-based palette indices of the selected classes, in palette order (all when ``classes`` is None)."""
        if self.classes is None:
            return tuple(range(1, len(palette) + 1))
        if not self.classes:
            raise UserError(f"--classes: name at least one of {', '.join(palette.names)}")
        unknown = [name for name in self.classes if not palette.index(name)]
        if unknown:
            raise UserError(f"--classes {','.join(unknown)}: not in the '{palette.name}' palette; its classes "
                            f"are {', '.join(palette.names)}")
        return tuple(sorted({palette.index(name) for name in self.classes}))

    @property
    def raven_channel(self) -> int:
        """The channel as Raven numbers it (1-based; the channel mean is channel 1)."""
        return 1 if self.channel is None else self.channel + 1

    def record(self, palette: Palette) -> dict:
        """The settings that decide the outputs' content, as a run record stores and compares them: classes by
        name; not ``outputs`` (which files, checked apart), and ``audio_format`` only when audio is written."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "outputs"}
        values["classes"] = [palette.classes[k - 1].name for k in self.class_indices(palette)]
        if not self.wants("audio"):
            del values["audio_format"]
        return values


def parse_list(text: str) -> tuple[str, ...]:
    """'a, b,,c' -> ('a', 'b', 'c')."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parse_outputs(value) -> tuple[str, ...]:
    """A comma-separated string, 'all' or a sequence of product names -> the products, in ``PRODUCTS`` order."""
    names = parse_list(value) if isinstance(value, str) else tuple(value)
    if names == ("all",):
        return PRODUCTS
    unknown = [name for name in names if name not in PRODUCTS]
    if unknown or not names:
        raise UserError(f"--outputs {','.join(names)}: choose from {', '.join(PRODUCTS)} (comma-separated) or all")
    return tuple(p for p in PRODUCTS if p in names)
