"""job00's data set: train, val and test soundscapes written under one root, repeatable from a seed.

Layout under ``root``::

    input_wav/<split>/<id>/           one clip's files (:mod:`util.synth.writer`)
    input_wav/dataset.json            how the set was made (seed, counts, duration, noise draw, truth rule,
                                      conditions, real-sound folders and their files, spectrogram)
    input_img/<split>_<level>_samples/<id>.png    A|B pairs (<id>_<k:04d>.png if a clip spans several tiles)

Soundscape ``i`` of a split is seeded from (seed, split, i), so neither the number of worker processes
nor the size of another split changes it.

Imports the other :mod:`util.synth` modules and the base and signal layers.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import zlib
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from util import __version__
from util.errors import UserError
from util.files import DATAROOT, LEVELS, SPLITS, read_csv_rows, split_folder, write_json
from util.signal.audio import n_frames_for
from util.signal.spectrogram import SpecParams, count_tiles, tile_name
from util.synth.soundscape import Conditions, Soundscape, make_soundscape
from util.synth.truth import TruthRule
from util.synth.writer import RAVEN_TABLES, write_pairs, write_soundscape_audio

AUDIO_FOLDER = "input_wav"       # under the root: each clip's audio, events and tables
DATASET_RECORD = "dataset.json"  # under input_wav/: how the set was made
MIN_SR = 16000                   # below it the 4-9 kHz warblers would lose most of their band
RECORD_KEYS = ("seed", "duration_s", "noise_draw", "truth_rule", "audible_floor_db", "audible_margin_db",
               "snr_range_db", "background_dbfs_range", "background_kinds", "max_sources",
               "real_sources", "real_backgrounds", "propagation", "spectrogram")  # must match to extend a set
ABSENT_MEANS = {"propagation": False}   # a record made before the key existed


def one_tile_n_samples(params: SpecParams = SpecParams()) -> int:
    """Clip length in samples whose centred STFT has exactly ``tile_frames`` frames."""
    return (params.tile_frames - 1) * params.hop_length


def one_tile_duration_s(params: SpecParams = SpecParams()) -> float:
    """Clip length in s of exactly one tile (2.9605 s at the defaults)."""
    return one_tile_n_samples(params) / params.sr


def soundscape_seed(seed: int, split: str, index: int) -> np.random.SeedSequence:
    """Seed of one soundscape from (run seed, split, index): results do not depend on the worker."""
    return np.random.SeedSequence([int(seed), zlib.crc32(split.encode()), int(index)])


def soundscape_id(index: int) -> str:
    """'syn00001' for index 0."""
    return f"syn{index + 1:05d}"


@dataclass(frozen=True)
class SynthJob:
    """Everything needed to write one soundscape (picklable, for worker processes)."""

    root: str
    split: str
    index: int
    seed: int
    n_samples: int
    params: SpecParams = SpecParams()
    overwrite: bool = False
    truth: TruthRule = TruthRule()
    conditions: Conditions = Conditions()
    noise_draw: int = 0

    @property
    def clip_id(self) -> str:
        return soundscape_id(self.index)

    @property
    def wav_dir(self) -> str:
        return os.path.join(self.root, AUDIO_FOLDER, self.split, self.clip_id)

    def pair_paths(self, level: str) -> list[str]:
        """Pair PNGs of this clip at ``level``: <id>.png for one tile, <id>_<k:04d>.png for several."""
        folder = split_folder(os.path.join(self.root, DATAROOT), self.split, level)
        n_tiles = count_tiles(n_frames_for(self.n_samples, self.params.hop_length), self.params.tile_frames)
        if n_tiles == 1:
            return [os.path.join(folder, f"{self.clip_id}.png")]
        return [os.path.join(folder, tile_name(self.clip_id, k)) for k in range(n_tiles)]


def outputs_complete(job: SynthJob) -> bool:
    """True when the mixture, the tables, every part listed in events.csv and every pair exist."""
    events_path = os.path.join(job.wav_dir, "events.csv")
    fixed = [os.path.join(job.wav_dir, name) for name in ("mixture.wav", "background.wav", *RAVEN_TABLES.values())]
    fixed.append(events_path)
    fixed += [p for level in LEVELS for p in job.pair_paths(level)]
    if not all(os.path.exists(p) for p in fixed):
        return False
    slugs = [row["slug"] for row in read_csv_rows(events_path)]
    return all(os.path.exists(os.path.join(job.wav_dir, f"{slug}.wav")) for slug in slugs)


def write_soundscape(job: SynthJob) -> int:
    """Make and write one soundscape: its WAVs, events.csv and A|B pairs at both levels.

    Returns the number of pairs written (0 when everything existed and ``overwrite`` is off).
    """
    if not job.overwrite and outputs_complete(job):
        return 0
    scape = remake_soundscape(job.seed, job.split, job.index, job.n_samples, job.params.sr, job.conditions,
                              job.noise_draw)
    maps = job.truth.class_maps(scape, job.params)
    mixture_path = write_soundscape_audio(scape, job.wav_dir)
    source = os.path.relpath(mixture_path, job.root).replace(os.sep, "/")
    return write_pairs(mixture_path, maps, {level: job.pair_paths(level) for level in LEVELS}, job.params, source)


def remake_soundscape(seed: int, split: str, index: int, n_samples: int, sr: int,
                     conditions: Conditions = Conditions(), noise_draw: int = 0) -> Soundscape:
    """Soundscape ``index`` of ``split`` of the set made with ``seed``, under ``conditions``, with draw
    ``noise_draw`` of its background (what job00 writes, without writing it)."""
    rng = np.random.default_rng(soundscape_seed(seed, split, index))
    return make_soundscape(rng, n_samples, sr, **vars(conditions), noise_draw=noise_draw)


@dataclass
class DatasetSummary:
    """What :func:`generate_dataset` did: soundscapes written and skipped, pairs written, clips per split."""

    root: str
    n_written: int
    n_skipped: int
    n_pairs: int
    splits: dict[str, int]

    def line(self) -> str:
        counts = ", ".join(f"{n} {split}" for split, n in self.splits.items())
        return (f"job00: {self.n_written + self.n_skipped} soundscapes ({counts}): {self.n_written} written, "
                f"{self.n_skipped} already done; audio and events.csv under {os.path.join(self.root, AUDIO_FOLDER)}, "
                f"{self.n_pairs} A|B pairs written under {os.path.join(self.root, DATAROOT)}"
                f"/{{{','.join(SPLITS)}}}_{{species,community}}_samples")


def check_request(root: str, splits: dict[str, int], n_samples: int, params: SpecParams, workers: int,
                  noise_draw: int = 0) -> None:
    """Raise UserError for a request that cannot make a data set."""
    negative = [f"--n_{split} {n}" for split, n in splits.items() if n < 0]
    if negative:
        raise UserError(f"{' / '.join(negative)}: counts cannot be negative")
    if noise_draw < 0:
        raise UserError(f"--noise_draw {noise_draw}: use 0 (the data set's own) or a positive draw")
    if workers < 1:
        raise UserError(f"--workers {workers}: need at least 1")
    if params.sr < MIN_SR:
        raise UserError(f"--sr {params.sr}: the synthetic species reach 9 kHz; use at least {MIN_SR} Hz")
    if n_samples < params.n_fft:
        raise UserError(f"--duration {n_samples / params.sr:g} s is shorter than one FFT "
                        f"({params.n_fft} samples); use at least {params.n_fft / params.sr:.3f} s")
    if os.path.exists(root) and not os.path.isdir(root):
        raise UserError(f"--out {root}: exists and is not a folder")


def generate_dataset(root: str, n_train: int, n_test: int, seed: int, *, n_val: int = 0,
                     duration_s: float | None = None, params: SpecParams = SpecParams(), overwrite: bool = False,
                     workers: int = 2, truth: TruthRule = TruthRule(), conditions: Conditions = Conditions(),
                     noise_draw: int = 0, progress: bool = True) -> DatasetSummary:
    """Write ``n_train`` + ``n_val`` + ``n_test`` labelled soundscapes and their A|B pairs under ``root``.

    The layout is in this module's docstring. Soundscapes whose outputs all exist are skipped unless
    ``overwrite``; a set made with another seed, duration, noise draw, truth rule, conditions (real-sound
    files included) or spectrogram is refused.

    Parameters
    ----------
    root : str
        Folder of the data set (created if needed).
    n_train, n_test, n_val : int
        Soundscapes in the train, test and val splits (0 or more).
    seed : int
        Run seed; soundscape ``i`` of a split is seeded from (seed, split, i), so the same seed gives
        the same files whatever ``workers`` and whatever the other splits' sizes.
    duration_s : float, optional
        Clip length in s; None: exactly one tile (:func:`one_tile_duration_s`, 2.9605 s at the defaults).
    params : SpecParams
        Spectrogram settings of the pairs; ``params.sr`` (Hz, at least ``MIN_SR``) is also the audio's rate.
    overwrite : bool
        Re-make soundscapes whose outputs all exist, and replace a set made with other settings.
    workers, progress : int, bool
        Soundscapes made in parallel (processes, at least 1); show a progress bar.
    truth : TruthRule
        The label rule and its thresholds (:mod:`util.synth.truth`).
    conditions : Conditions
        SNR range, background level range and kinds, most sources, real-sound folders
        (:class:`util.synth.soundscape.Conditions`).
    noise_draw : int
        Which realisation of each clip's background (0: the set's own; K: the same clips over another).

    Returns
    -------
    DatasetSummary
        Soundscapes written and skipped, pairs written, clips per split; ``line()`` says it in one line.

    Raises
    ------
    UserError
        An impossible request (:func:`check_request`, bad conditions, rule or real-sound folder) or an
        existing set made with other settings (without ``overwrite``).
    """
    params, truth, conditions = params.check(), truth.check(), conditions.check()
    n_samples = one_tile_n_samples(params) if duration_s is None else int(round(duration_s * params.sr))
    splits = dict(zip(SPLITS, (n_train, n_val, n_test)))
    check_request(root, splits, n_samples, params, workers, noise_draw)
    record = _dataset_record(seed, splits, n_samples, noise_draw, truth, conditions, params)
    _check_dataset_record(root, json.loads(json.dumps(record)), overwrite)  # as it reads back (lists, not tuples)
    conditions.load_real_audio(params.sr)
    jobs = [SynthJob(root, split, i, seed, n_samples, params, overwrite, truth, conditions, int(noise_draw))
            for split, n in splits.items() for i in range(n)]
    pairs_per_job = _run_jobs(jobs, workers, progress)
    write_json(dataset_record_path(root), record)
    n_skipped = sum(1 for n in pairs_per_job if n == 0)
    return DatasetSummary(root, len(jobs) - n_skipped, n_skipped, sum(pairs_per_job), splits)


def _dataset_record(seed: int, splits: dict[str, int], n_samples: int, noise_draw: int, truth: TruthRule,
                    conditions: Conditions, params: SpecParams) -> dict:
    """What dataset.json says about a set (``RECORD_KEYS`` must match to extend it)."""
    return {"seed": int(seed), **{f"n_{split}": int(n) for split, n in splits.items()},
            "duration_s": n_samples / params.sr, "noise_draw": int(noise_draw), **truth.record(),
            **conditions.record(), "spectrogram": asdict(params), "version": __version__}


def dataset_record_path(root: str) -> str:
    """``<root>/input_wav/dataset.json``: how job00 made the set (seed, counts, duration, spectrogram, version)."""
    return os.path.join(root, AUDIO_FOLDER, DATASET_RECORD)


def read_dataset_record(root: str) -> dict | None:
    """The record job00 left under ``root``, or None when there is none (a set made otherwise).

    A set made before the val split has no ``n_val`` (read it as 0), nor noise draw, truth rule or
    conditions (see :meth:`TruthRule.from_record` and :meth:`Conditions.from_record`)."""
    try:
        with open(dataset_record_path(root), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{dataset_record_path(root)}: not readable ({exc})") from None


def _check_dataset_record(root: str, record: dict, overwrite: bool) -> None:
    """Refuse to add clips made with other settings (seed, duration, noise draw, truth rule, conditions,
    spectrogram) to an existing set: it would mix two sets."""
    old = read_dataset_record(root)
    if old is None or overwrite:
        return
    changed = [k for k in RECORD_KEYS if _fingerprint(old.get(k, ABSENT_MEANS.get(k))) != _fingerprint(record[k])]
    if changed:
        raise UserError(f"{dataset_record_path(root)}: this set was made with other settings "
                        f"({', '.join(f'{k} {_shown(old.get(k))!r}' for k in changed if k != 'spectrogram')}"
                        f"{' spectrogram' if 'spectrogram' in changed else ''}); use --overwrite to remake it "
                        f"or another --out")


def _fingerprint(value):
    """What must match to extend a set: a real-sound folder's sha256 (its files, wherever the folder now is)."""
    return value.get("sha256", value) if isinstance(value, dict) else value


def _shown(value):
    """A recorded setting as the refusal names it: a real-sound folder by its path."""
    return value.get("folder", value) if isinstance(value, dict) else value


def _run_jobs(jobs: list[SynthJob], workers: int, progress: bool) -> list[int]:
    if workers > 1 and len(jobs) > 1:
        # the pool is forked before tqdm starts its monitor thread
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return _collect(pool.imap_unordered(write_soundscape, jobs, chunksize=2), len(jobs), progress)
    return _collect(map(write_soundscape, jobs), len(jobs), progress)


def _collect(results, total: int, progress: bool) -> list[int]:
    bar = tqdm(total=total, desc="job00 soundscapes", unit="clip", disable=None if progress else True)
    collected = []
    for n_pairs in results:
        collected.append(n_pairs)
        bar.update(1)
    bar.close()
    return collected
