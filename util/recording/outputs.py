"""Everything written for one recording, fed block by block: audio, class map, tables, figure.

Which files depends on the products asked for (:mod:`util.recording.settings`). Every file is written under a
temporary name and renamed into place by :meth:`RecordingOutputs.finish`; :meth:`RecordingOutputs.discard`
removes them all, so a failed recording leaves nothing behind.

``frequency_profile.csv`` levels are taken from the 8-bit image (clipped to [db_floor, db_ceil], within
half a grey step), as the same figures computed from PNG tiles would be; frequency rows where a class is
absent are left out (their level is undefined), so the table grows with what was found, not with the
number of classes times 256 rows.
"""

from __future__ import annotations

import os
from datetime import datetime

import numpy as np

from util.files import temp_name, write_csv
from util.labels.detections import RegionTracker
from util.labels.palette import Palette
from util.labels.quantify import FrequencyProfileAccumulator, OccupancyAccumulator
from util.recording.audio_out import SourceAudio
from util.recording.decoding import classify_with_confidence
from util.recording.figures import SpectrogramOverview, write_detections_figure
from util.recording.formats import detection_rows, write_audacity, write_detections_csv, write_raven
from util.recording.layout import (
    DETECTIONS_CSV,
    LABELS_PNG,
    OCCUPANCY_COLUMNS,
    OCCUPANCY_CSV,
    PROFILE_COLUMNS,
    PROFILE_CSV,
    audacity_name,
    detections_figure_name,
    isolated_spectrogram_name,
    selections_name,
)
from util.recording.settings import RecordingSettings
from util.recording.store import ColumnStore
from util.recording.stream import TranslatedBlock
from util.signal.spectrogram import PngStreamWriter, SpecParams, pixels_to_db

TRACKER_FRAMES = 2048             # columns gathered before each push to the region tracker


class RecordingOutputs:
    """Everything written for one recording, fed block by block; temporary files until :meth:`finish`.

    ``start``: the recording's start time (from its name, in the asked time zone) or None; ``model``: the
    label of the generator for the detections' model column.
    """

    def __init__(self, path: str, out_dir: str, stem: str, palette: Palette, params: SpecParams,
                 n_samples: int, n_frames: int, meta: dict, settings: RecordingSettings,
                 start: datetime | None = None, model: str = ""):
        self.path, self.out_dir, self.stem = path, out_dir, stem
        self.palette, self.params, self.meta, self.settings = palette, params, meta, settings
        self.start, self.model, self.n_frames = start, model, n_frames
        self.classes = settings.class_indices(palette)
        self.audio = (SourceAudio(out_dir, palette, params, n_samples, self.classes, settings.audio_format)
                      if settings.wants("audio") else None)
        keep_map = settings.wants("labels") or settings.wants("spectrograms")
        self.labels = ColumnStore(temp_name(os.path.join(out_dir, "labels.classmap")), params.n_rows,
                                  n_frames) if keep_map else None
        self.grey = (ColumnStore(temp_name(os.path.join(out_dir, "spectrogram.grey")), params.n_rows, n_frames)
                     if settings.wants("spectrograms") else None)
        self.overview = (SpectrogramOverview(params.n_rows, n_frames) if settings.wants("figures") else None)
        self.tracker = RegionTracker(params.hop_length, params.sr, params.n_fft,  # classes: those present
                                     min_duration_s=settings.min_duration_s, min_area_px=settings.min_area_px)
        self._untracked: list[tuple[int, np.ndarray, np.ndarray]] = []  # (start, class map, confidence)
        self.occupancy = OccupancyAccumulator(len(palette))
        self.profile = FrequencyProfileAccumulator(params.n_rows, len(palette))
        self.regions: list[dict] = []
        self.detections: list[dict] = []
        self._pngs: list[PngStreamWriter] = []
        self._written: list[str] = []
        self.committed = False            # True once a file is in place under its final name

    def add(self, block: TranslatedBlock) -> None:
        """Classify a block's colours and feed every output with it."""
        class_map, confidence = classify_with_confidence(block.rgb, self.palette)
        if self.audio is not None:
            self.audio.write(block.spectrum, class_map)
        self._untracked.append((block.start_frame, class_map, confidence))
        if sum(c.shape[1] for _, c, _ in self._untracked) >= TRACKER_FRAMES:
            self._track()
        self.occupancy.update(class_map)
        self.profile.update(pixels_to_db(block.pixels, self.params.db_floor, self.params.db_ceil), class_map)
        if self.labels is not None:
            self.labels.write(class_map)
        if self.grey is not None:
            self.grey.write(block.pixels)
        if self.overview is not None:
            self.overview.add(block.pixels)

    def _track(self) -> None:
        """Regions of the gathered columns (one labelling pass per push: fewer, wider pushes cost less)."""
        if self._untracked:
            start = self._untracked[0][0]
            class_map = np.concatenate([c for _, c, _ in self._untracked], axis=1)
            confidence = np.concatenate([s for _, _, s in self._untracked], axis=1)
            self.regions += self.tracker.push(class_map, start, confidence)
            self._untracked = []

    def finish(self) -> list[str]:
        """Write the tables and images, rename everything into place; returns the paths."""
        if self.audio is not None:
            self.audio.finish()
        self._track()
        self.regions = sorted(self.regions + self.tracker.finish(),
                              key=lambda r: (r["begin_s"], r["low_hz"], r["class_index"]))
        kept = [r for r in self.regions if r["score"] >= self.settings.min_score and r["class_index"] in self.classes]
        self.detections = detection_rows(kept, self.palette, self.path, self.settings.raven_channel, self.start,
                                         self.model)
        self.committed = True             # from here on, files replace those of an earlier run
        self._write_pngs()
        self._write_tables()
        if self.overview is not None:
            self._written.append(self._write_figure())
        if self.audio is not None:
            self.audio.rename()
        self._close_stores()
        return (self.audio.paths if self.audio is not None else []) + [w.path for w in self._pngs] + self._written

    def discard(self) -> None:
        """Remove every temporary file (a failed or interrupted recording leaves nothing behind)."""
        if self.audio is not None:
            self.audio.discard()
        for writer in self._pngs:
            writer.discard()
        self._close_stores()

    def _duration_s(self) -> float:
        return self.n_frames * self.params.hop_length / self.params.sr

    def _write_figure(self) -> str:
        """<stem>.detections.png: the spectrogram the generator saw, the detections boxed."""
        return write_detections_figure(os.path.join(self.out_dir, detections_figure_name(self.stem)),
                                       self.overview.image(), self.overview.frames_per_column, self.params,
                                       self.detections, self.palette, self.classes, self._duration_s(),
                                       self.start, self.stem)

    def _close_stores(self) -> None:
        for store in (self.labels, self.grey):
            if store is not None and not store.closed:
                store.close()

    def _open_pngs(self) -> tuple[PngStreamWriter | None, list[tuple[int, PngStreamWriter]]]:
        """labels.png's writer (if asked for), and each selected class's isolated spectrogram's (if asked for)."""
        width, height = self.n_frames, self.params.n_rows
        labels = None
        if self.settings.wants("labels"):
            meta = dict(self.meta, palette=self.palette.name)
            labels = PngStreamWriter(os.path.join(self.out_dir, LABELS_PNG), width, height, rgb=True, meta=meta)
            self._pngs.append(labels)
        isolated = []
        if self.grey is not None:
            for k in self.classes:
                name = isolated_spectrogram_name(self.palette.classes[k - 1].slug)
                isolated.append((k, PngStreamWriter(os.path.join(self.out_dir, name), width, height, rgb=False,
                                                    meta=self.meta)))
            self._pngs += [writer for _, writer in isolated]
        return labels, isolated

    def _write_pngs(self) -> None:
        """labels.png (and each class's isolated spectrogram) in one pass over the stored rows."""
        if self.labels is None:
            return
        labels, isolated = self._open_pngs()
        grey_rows = self.grey.iter_rows() if self.grey is not None else None
        for class_rows in self.labels.iter_rows():
            if labels is not None:
                labels.write_rows(self.palette.encode(class_rows))
            if grey_rows is not None:
                grey = next(grey_rows)
                for k, writer in isolated:
                    writer.write_rows(np.where(class_rows == k, grey, 0).astype(np.uint8))
        for writer in self._pngs:
            writer.close()

    def _write_tables(self) -> None:
        if any(self.settings.wants(p) for p in ("tables", "kaleidoscope", "figures")):   # the run's tables, figures
            self._written.append(write_detections_csv(os.path.join(self.out_dir, DETECTIONS_CSV), self.detections))
        if self.settings.wants("tables"):
            self._written += [write_raven(os.path.join(self.out_dir, selections_name(self.stem)), self.detections),
                              write_audacity(os.path.join(self.out_dir, audacity_name(self.stem)), self.detections),
                              self._write_occupancy(), self._write_profile()]

    def _write_occupancy(self) -> str:
        hop, sr = self.params.hop_length, self.params.sr
        time_occ, space_occ = self.occupancy.time_occupancy(), self.occupancy.acoustic_space_occupancy()
        present, total = self.occupancy.seconds_present(hop, sr), self.occupancy.seconds_total(hop, sr)
        rows = [dict(zip(OCCUPANCY_COLUMNS, (self.palette.classes[k - 1].name, self.palette.classes[k - 1]
                                             .scientific_name, time_occ[k - 1], space_occ[k - 1], present[k - 1],
                                             total))) for k in self.classes]
        return write_csv(os.path.join(self.out_dir, OCCUPANCY_CSV), OCCUPANCY_COLUMNS, rows)

    def _write_profile(self) -> str:
        rows = []
        for k in self.classes:
            profile = self.profile.profile(k, self.params.sr, self.params.n_fft)
            rows += [{"class": self.palette.classes[k - 1].name, "freq_hz": f, "mean_db": level, "n_cells": int(n)}
                     for f, level, n in zip(profile.freq_hz, profile.mean_db, profile.n_cells) if n]
        return write_csv(os.path.join(self.out_dir, PROFILE_CSV), PROFILE_COLUMNS, rows)
