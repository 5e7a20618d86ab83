"""Everything written for one recording, fed block by block: audio, class map, selections, occupancy, profile.

Every file is written under a temporary name and renamed into place by :meth:`RecordingOutputs.finish`;
:meth:`RecordingOutputs.discard` removes them all, so a failed recording leaves nothing behind.

``frequency_profile.csv`` levels are taken from the 8-bit image (clipped to [db_floor, db_ceil], within
half a grey step), as the same figures computed from PNG tiles would be.
"""

from __future__ import annotations

import os

import numpy as np

from util.files import temp_name, write_csv
from util.labels.annotations import write_raven_table
from util.labels.detections import RegionTracker
from util.labels.palette import Palette
from util.labels.quantify import FrequencyProfileAccumulator, OccupancyAccumulator
from util.recording.audio_out import SourceAudio
from util.recording.decoding import classify_with_confidence
from util.recording.layout import (
    LABELS_PNG,
    OCCUPANCY_COLUMNS,
    OCCUPANCY_CSV,
    PROFILE_COLUMNS,
    PROFILE_CSV,
    isolated_spectrogram_name,
    selections_name,
)
from util.recording.store import ColumnStore
from util.recording.stream import TranslatedBlock
from util.signal.spectrogram import PngStreamWriter, SpecParams, pixels_to_db

DEFAULT_MIN_DURATION_S = 0.05     # shorter regions are not selections
DEFAULT_MIN_AREA_PX = 10          # regions of fewer pixels are not selections
TRACKER_FRAMES = 2048             # columns gathered before each push to the region tracker


class RecordingOutputs:
    """Everything written for one recording, fed block by block; temporary files until :meth:`finish`."""

    def __init__(self, path: str, out_dir: str, stem: str, palette: Palette, params: SpecParams,
                 n_samples: int, n_frames: int, meta: dict, save_spectrograms: bool,
                 min_duration_s: float, min_area_px: int):
        self.path, self.out_dir, self.stem = path, out_dir, stem
        self.palette, self.params, self.meta = palette, params, meta
        self.n_frames = n_frames
        self.audio = SourceAudio(out_dir, palette, params, n_samples)
        self.labels = ColumnStore(temp_name(os.path.join(out_dir, "labels.classmap")), params.n_rows, n_frames)
        self.grey = (ColumnStore(temp_name(os.path.join(out_dir, "spectrogram.grey")), params.n_rows, n_frames)
                     if save_spectrograms else None)
        self.tracker = RegionTracker(params.hop_length, params.sr, params.n_fft,  # classes: those present
                                     min_duration_s=min_duration_s, min_area_px=min_area_px)
        self._untracked: list[tuple[int, np.ndarray, np.ndarray]] = []  # (start, class map, confidence)
        self.occupancy = OccupancyAccumulator(len(palette))
        self.profile = FrequencyProfileAccumulator(params.n_rows, len(palette))
        self.regions: list[dict] = []
        self._pngs: list[PngStreamWriter] = []

    def add(self, block: TranslatedBlock) -> None:
        """Classify a block's colours and feed every output with it."""
        class_map, confidence = classify_with_confidence(block.rgb, self.palette)
        self.audio.write(block.spectrum, class_map)
        self._untracked.append((block.start_frame, class_map, confidence))
        if sum(c.shape[1] for _, c, _ in self._untracked) >= TRACKER_FRAMES:
            self._track()
        self.occupancy.update(class_map)
        self.profile.update(pixels_to_db(block.pixels, self.params.db_floor, self.params.db_ceil), class_map)
        self.labels.write(class_map)
        if self.grey is not None:
            self.grey.write(block.pixels)

    def _track(self) -> None:
        """Regions of the gathered columns: the tracker re-labels its open regions on every push, so push few."""
        if self._untracked:
            start = self._untracked[0][0]
            class_map = np.concatenate([c for _, c, _ in self._untracked], axis=1)
            confidence = np.concatenate([s for _, _, s in self._untracked], axis=1)
            self.regions += self.tracker.push(class_map, start, confidence)
            self._untracked = []

    def finish(self) -> list[str]:
        """Write the tables and images, rename everything into place; returns the paths."""
        self.audio.finish()
        self._track()
        self.regions = sorted(self.regions + self.tracker.finish(),
                              key=lambda r: (r["begin_s"], r["low_hz"], r["class_index"]))
        self._write_pngs()
        outputs = [self._write_selections(), self._write_occupancy(), self._write_profile()]
        self.audio.rename()
        self._close_stores()
        return self.audio.paths + [w.path for w in self._pngs] + outputs

    def discard(self) -> None:
        """Remove every temporary file (a failed or interrupted recording leaves nothing behind)."""
        self.audio.discard()
        for writer in self._pngs:
            writer.discard()
        self._close_stores()

    def _close_stores(self) -> None:
        for store in (self.labels, self.grey):
            if store is not None and not store.closed:
                store.close()

    def _open_pngs(self) -> tuple[PngStreamWriter, list[PngStreamWriter]]:
        """labels.png's writer, and each class's isolated spectrogram's (none without ``save_spectrograms``)."""
        width, height = self.n_frames, self.params.n_rows
        meta = dict(self.meta, palette=self.palette.name)
        labels = PngStreamWriter(os.path.join(self.out_dir, LABELS_PNG), width, height, rgb=True, meta=meta)
        self._pngs.append(labels)
        isolated = []
        if self.grey is not None:
            for slug in self.palette.slugs:
                isolated.append(PngStreamWriter(os.path.join(self.out_dir, isolated_spectrogram_name(slug)),
                                                width, height, rgb=False, meta=self.meta))
            self._pngs += isolated
        return labels, isolated

    def _write_pngs(self) -> None:
        """labels.png (and each class's isolated spectrogram) in one pass over the stored rows."""
        labels, isolated = self._open_pngs()
        grey_rows = self.grey.iter_rows() if self.grey is not None else None
        for class_rows in self.labels.iter_rows():
            labels.write_rows(self.palette.encode(class_rows))
            if grey_rows is not None:
                grey = next(grey_rows)
                for k, writer in enumerate(isolated, start=1):
                    writer.write_rows(np.where(class_rows == k, grey, 0).astype(np.uint8))
        for writer in self._pngs:
            writer.close()

    def _write_selections(self) -> str:
        target = os.path.join(self.out_dir, selections_name(self.stem))
        rows = [{"Begin Time (s)": r["begin_s"], "End Time (s)": r["end_s"], "Low Freq (Hz)": r["low_hz"],
                 "High Freq (Hz)": r["high_hz"], "Species": self.palette.classes[r["class_index"] - 1].name,
                 "Begin File": os.path.basename(self.path), "Score": r["score"]} for r in self.regions]
        write_raven_table(target, rows)
        return target

    def _write_occupancy(self) -> str:
        hop, sr = self.params.hop_length, self.params.sr
        rows = [dict(zip(OCCUPANCY_COLUMNS, values)) for values in zip(
            self.palette.names, self.occupancy.time_occupancy(), self.occupancy.acoustic_space_occupancy(),
            self.occupancy.seconds_present(hop, sr), [self.occupancy.seconds_total(hop, sr)] * len(self.palette))]
        return write_csv(os.path.join(self.out_dir, OCCUPANCY_CSV), OCCUPANCY_COLUMNS, rows)

    def _write_profile(self) -> str:
        rows = []
        for k, name in enumerate(self.palette.names, start=1):
            profile = self.profile.profile(k, self.params.sr, self.params.n_fft)
            rows += [{"class": name, "freq_hz": f, "mean_db": level, "n_cells": int(n)}
                     for f, level, n in zip(profile.freq_hz, profile.mean_db, profile.n_cells)]
        return write_csv(os.path.join(self.out_dir, PROFILE_CSV), PROFILE_COLUMNS, rows)
