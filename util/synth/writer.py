"""Writing one soundscape's files: every part as audio, events.csv, Raven tables and A|B pairs.

A clip's folder holds ``<slug>.wav`` for every part, ``background.wav``, ``events.csv``, the Raven tables
(``RAVEN_TABLES``) and, written last, ``mixture.wav`` (float WAV). Its pairs are job01's tiles of the
mixture beside the true class maps' tiles, in each level's palette.

Imports :mod:`util.synth.soundscape`, :mod:`util.synth.sources` and the base, signal and labels layers.
"""

from __future__ import annotations

import csv
import os

import numpy as np

from util.files import atomic_path
from util.labels.annotations import write_raven_table
from util.labels.pairs import write_pair
from util.signal.audio import write_audio
from util.signal.spectrogram import SpecParams, iter_tiles
from util.synth.soundscape import EVENT_COLUMNS, Event, Soundscape
from util.synth.sources import palettes, source_models

RAVEN_TABLES = {"species": "mixture.selections.txt", "community": "mixture.community.selections.txt"}


def write_soundscape_audio(scape: Soundscape, folder: str) -> str:
    """Write every part as <slug>.wav, background.wav, events.csv, the Raven tables and, last,
    mixture.wav (float WAV).

    Part files of other sources left from an earlier run are removed. Returns the mixture's path.
    """
    os.makedirs(folder, exist_ok=True)
    for slug in source_models():
        stale = os.path.join(folder, f"{slug}.wav")
        if slug not in scape.parts and os.path.exists(stale):
            os.remove(stale)
    for slug, audio in scape.parts.items():
        write_audio(os.path.join(folder, f"{slug}.wav"), audio, scape.sr)
    write_audio(os.path.join(folder, "background.wav"), scape.background, scape.sr)
    write_events(os.path.join(folder, "events.csv"), scape.events)
    write_raven_tables(folder, scape.events)
    mixture_path = os.path.join(folder, "mixture.wav")
    write_audio(mixture_path, scape.mixture, scape.sr)
    return mixture_path


def write_events(path: str, events: list[Event]) -> None:
    """events.csv: one row per event, columns ``EVENT_COLUMNS`` (written atomically).

    Rows end in CRLF (the csv module's default dialect), as every set job00 made so far.
    """
    with atomic_path(path) as temp, open(temp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=EVENT_COLUMNS)
        writer.writeheader()
        writer.writerows(event.row() for event in events)


def write_raven_tables(folder: str, events: list[Event]) -> None:
    """The events as Raven Pro selection tables for job02 (``Begin File`` mixture.wav):
    ``mixture.selections.txt`` at species level (species only; insects and humans are noise
    there) and ``mixture.community.selections.txt`` at community level."""
    def selection(event: Event, label: str) -> dict:
        return {"Begin Time (s)": event.start_s, "End Time (s)": event.end_s, "Low Freq (Hz)": event.low_hz,
                "High Freq (Hz)": event.high_hz, "Species": label, "Begin File": "mixture.wav"}

    species = palettes()["species"]
    write_raven_table(os.path.join(folder, RAVEN_TABLES["species"]),
                      [selection(e, e.name) for e in events if species.index(e.slug)])
    write_raven_table(os.path.join(folder, RAVEN_TABLES["community"]), [selection(e, e.community) for e in events])


def write_pairs(mixture_path: str, maps: dict[str, np.ndarray], targets: dict[str, list[str]],
                params: SpecParams, source: str) -> int:
    """A|B pairs of the written mixture: tiles from :func:`iter_tiles` (so A is what job01 makes),
    B the class map's columns of the same tile, encoded in each level's palette.

    ``maps`` {level: uint8 (n_rows, frames)}; ``targets`` {level: one pair path per tile}; ``source`` the
    mixture's path as recorded in the pairs' metadata. Returns the number of pairs written.
    """
    written = 0
    for tile in iter_tiles(mixture_path, params, source=source):
        start, n_valid = tile.meta["start_frame"], tile.meta["n_valid_frames"]
        for level, class_full in maps.items():
            columns = np.zeros((params.n_rows, params.tile_frames), np.uint8)
            columns[:, :n_valid] = class_full[:, start:start + n_valid]
            write_pair(targets[level][tile.meta["tile_index"]], tile.pixels,
                       palettes()[level].encode(columns), tile.meta)
            written += 1
    return written
