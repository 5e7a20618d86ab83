"""Real sound in synthetic soundscapes: clean calls as sources, field recordings as backgrounds.

``job00 --real_sources DIR``: ``DIR/<class>/`` holds clean clips of one class (``util.cli.AUDIO_EXTENSIONS``:
WAV, FLAC, OGG, AIFF, MP3; any rate, bit depth or channel count: read by
:func:`util.signal.audio.read_audio`, resampled to the set's rate, channels averaged; subfolders are
searched too; other files are ignored). ``<class>`` names a source of the registry
(:func:`util.synth.sources.source_models`): a species of the species palette by its name, scientific name
or slug (``eurasian-jay``, ``Eurasian Jay``, ``Garrulus glandarius``), or ``insect`` / ``human``, the
communities no species belongs to. Each clip is trimmed to its call: leading and trailing
``TRIM_BLOCK_S`` blocks more than ``TRIM_DB`` (60 dB) below its loudest block are cut. A clip is taken as
clean: whatever it holds is the class's sound, and is labelled where it stands out.

``job00 --real_backgrounds DIR``: every audio file under DIR is a field recording (at least
``MIN_BACKGROUND_S`` long). A clip's background is one file (drawn with the clip) from a start drawn with
the clip, looped if the file is shorter than the clip, scaled to the background level drawn as for the
modelled backgrounds. Draw K of the noise (``--noise_draw K``) is the excerpt of the same file that starts
K clip lengths later (wrapping round the file), so draws of a file at least (K + 1) clips long do not
overlap.

Clips and backgrounds are read once per process and kept in memory (about 300 MB an hour of audio at
22 050 Hz). dataset.json records each folder, its files and a sha256 over their contents
(:func:`folder_record`).

Imports :mod:`util.synth.sources`, :mod:`util.synth.levels`, :mod:`util.synth.noises`, :mod:`util.synth.dsp`,
:mod:`util.cli`, :mod:`util.signal.audio` and the base layer.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from util.cli import AUDIO_EXTENSIONS, find_files
from util.errors import UserError
from util.signal.audio import read_audio
from util.synth.dsp import Generator, to_samples
from util.synth.levels import block_power
from util.synth.noises import BackgroundRecipe
from util.synth.sources import palettes, source_models

SOURCES_FLAG, BACKGROUNDS_FLAG = "--real_sources", "--real_backgrounds"
TRIM_DB = 60.0             # a clip's leading and trailing blocks this far below its loudest block are cut
TRIM_BLOCK_S = 0.005       # block length of the trimming, s
MIN_BACKGROUND_S = 1.0     # a shorter background file would loop into a buzz
REAL_MODEL_PREFIX = "real:"  # events.csv's model column for a real clip: real:<class folder>/<file>


@dataclass(frozen=True)
class RealClip:
    """One real recording at the set's rate: ``name`` its path under the folder ('/'-separated),
    ``audio`` float32 mono (read-only), ``sr`` in Hz."""

    name: str
    audio: np.ndarray
    sr: int


# --------------------------------------------------------------------------- folders and files

def check_folder(folder: str, flag: str) -> str:
    """``folder`` as an absolute path; UserError naming ``flag`` when it is not a folder."""
    if not os.path.isdir(folder):
        raise UserError(f"{flag} {folder}: no such folder")
    return os.path.abspath(folder)


def audio_files(folder: str, flag: str) -> list[str]:
    """Every audio file (``util.cli.AUDIO_EXTENSIONS``) under ``folder``, sorted; UserError when there is none."""
    try:
        return [found.path for found in find_files(folder, AUDIO_EXTENSIONS)]
    except UserError:
        raise UserError(f"{flag} {folder}: holds no audio files ({', '.join(AUDIO_EXTENSIONS)})") from None


def source_slug(folder_name: str) -> str | None:
    """The source slug a class folder names (species name, scientific name or slug; ``insect``, ``human``),
    or None."""
    species = palettes()["species"]
    k = species.index(folder_name)
    if k:
        return species.classes[k - 1].slug
    community = palettes()["community"]
    k = community.index(folder_name)
    slug = community.classes[k - 1].slug if k else None
    return slug if slug in source_models() and not species.index(slug) else None


def class_folders(folder: str) -> dict[str, str]:
    """{source slug: class folder path} of a ``--real_sources`` folder; UserError for audio outside a class
    folder, unknown or repeated class names, or no class folder at all."""
    names = sorted(n for n in os.listdir(folder) if not n.startswith(".") and os.path.isdir(os.path.join(folder, n)))
    loose = [n for n in sorted(os.listdir(folder)) if n.lower().endswith(AUDIO_EXTENSIONS)]
    if loose:
        raise UserError(f"{SOURCES_FLAG} {folder}: {loose[0]} is not in a class folder; put each class's clips "
                        f"in DIR/<class>/ (classes: {valid_class_names()})")
    if not names:
        raise UserError(f"{SOURCES_FLAG} {folder}: empty; it needs one subfolder of clips per class "
                        f"(classes: {valid_class_names()})")
    unknown = [n for n in names if source_slug(n) is None]
    if unknown:
        raise UserError(f"{SOURCES_FLAG} {folder}: class folder(s) {', '.join(unknown)} name no class; "
                        f"use one of: {valid_class_names()}")
    slugs = {}
    for name in names:
        if source_slug(name) in slugs:
            raise UserError(f"{SOURCES_FLAG} {folder}: {slugs[source_slug(name)]} and {name} name the same class")
        slugs[source_slug(name)] = name
    return {slug: os.path.join(folder, name) for slug, name in slugs.items()}


def valid_class_names() -> str:
    """The class folder names ``--real_sources`` accepts, for error messages: 'Jungle Nightjar
    (jungle-nightjar), ..., insect, human'."""
    models = source_models()
    return ", ".join(m.slug if m.name == m.slug else f"{m.name} ({m.slug})" for m in models.values())


def relative_name(path: str, folder: str) -> str:
    """``path`` relative to ``folder``, '/'-separated (as dataset.json and events.csv name a file)."""
    return os.path.relpath(path, folder).replace(os.sep, "/")


# --------------------------------------------------------------------------- reading

def trim_silence(audio: np.ndarray, sr: int, trim_db: float = TRIM_DB, block_s: float = TRIM_BLOCK_S) -> np.ndarray:
    """``audio`` without its leading and trailing ``block_s`` blocks more than ``trim_db`` dB below the
    loudest block (the call's extent); an all-zero clip comes back empty."""
    block = to_samples(block_s, sr)
    power = block_power(np.asarray(audio, np.float64), block)
    if not power.max() > 0:
        return audio[:0]
    loud = np.flatnonzero(power >= power.max() * 10 ** (-trim_db / 10))
    return audio[loud[0] * block:min((loud[-1] + 1) * block, len(audio))]


def read_clip(path: str, folder: str, sr: int) -> RealClip:
    """A clean clip at ``sr`` Hz, trimmed to its call (:func:`trim_silence`); UserError if silent."""
    audio = trim_silence(read_audio(path, sr)[0], sr)
    if not audio.size:
        raise UserError(f"{SOURCES_FLAG}: {path}: the clip is silent")
    audio.setflags(write=False)
    return RealClip(relative_name(path, folder), audio, sr)


def read_background(path: str, folder: str, sr: int) -> RealClip:
    """A field recording at ``sr`` Hz; UserError if shorter than ``MIN_BACKGROUND_S`` or silent."""
    audio = read_audio(path, sr)[0]
    if len(audio) < MIN_BACKGROUND_S * sr:
        raise UserError(f"{BACKGROUNDS_FLAG}: {path}: {len(audio) / sr:.2f} s long; a background needs at "
                        f"least {MIN_BACKGROUND_S:g} s")
    if not np.any(audio):
        raise UserError(f"{BACKGROUNDS_FLAG}: {path}: the recording is silent")
    audio.setflags(write=False)
    return RealClip(relative_name(path, folder), audio, sr)


def real_source_clips(folder: str, sr: int) -> dict[str, tuple[RealClip, ...]]:
    """{source slug: its clean clips at ``sr`` Hz} of a ``--real_sources`` folder (read once per process,
    again when a file changed)."""
    folder = check_folder(folder, SOURCES_FLAG)
    return _read_sources(folder, sr, folder_stamp(folder))


def real_background_files(folder: str, sr: int) -> tuple[RealClip, ...]:
    """The field recordings at ``sr`` Hz of a ``--real_backgrounds`` folder (read once per process,
    again when a file changed)."""
    folder = check_folder(folder, BACKGROUNDS_FLAG)
    return _read_backgrounds(folder, sr, folder_stamp(folder))


def folder_stamp(folder: str) -> tuple:
    """(path, size, modification time) of every file under ``folder``: the cache key of what was read."""
    stamp = []
    for parent, subdirs, names in os.walk(folder):
        subdirs.sort()
        for name in sorted(names):
            stat = os.stat(os.path.join(parent, name))
            stamp.append((os.path.join(parent, name), stat.st_size, stat.st_mtime_ns))
    return tuple(stamp)


@lru_cache(maxsize=4)
def _read_sources(folder: str, sr: int, stamp: tuple) -> dict[str, tuple[RealClip, ...]]:
    return {slug: tuple(read_clip(path, folder, sr) for path in audio_files(class_folder, SOURCES_FLAG))
            for slug, class_folder in class_folders(folder).items()}


@lru_cache(maxsize=4)
def _read_backgrounds(folder: str, sr: int, stamp: tuple) -> tuple[RealClip, ...]:
    return tuple(read_background(path, folder, sr) for path in audio_files(folder, BACKGROUNDS_FLAG))


# --------------------------------------------------------------------------- in a soundscape

def pick_real_call(rng: Generator, clips: tuple[RealClip, ...]) -> tuple[np.ndarray, str]:
    """One of ``clips``, drawn uniformly: (its audio, its events.csv model name 'real:<class>/<file>')."""
    clip = clips[int(rng.integers(len(clips)))]
    return clip.audio, f"{REAL_MODEL_PREFIX}{clip.name}"


def background_start(files: tuple[RealClip, ...], recipe: BackgroundRecipe, n_samples: int,
                     noise_draw: int = 0) -> tuple[RealClip, int]:
    """(file, first sample) of a clip's real background: file and draw 0's start drawn from the recipe's
    ``timbre_seed``; draw K starts ``K * n_samples`` later, wrapping round the file."""
    rng = np.random.default_rng(recipe.timbre_seed)
    chosen = files[int(rng.integers(len(files)))]
    start = int(rng.integers(len(chosen.audio)))
    return chosen, (start + int(noise_draw) * n_samples) % len(chosen.audio)


def render_real_background(files: tuple[RealClip, ...], recipe: BackgroundRecipe, n_samples: int,
                           noise_draw: int = 0) -> np.ndarray:
    """Draw ``noise_draw`` of a clip's real background: ``n_samples`` of one file from its start
    (:func:`background_start`), looped, scaled to RMS ``recipe.level_dbfs`` (dB re full scale); float32."""
    chosen, start = background_start(files, recipe, n_samples, noise_draw)
    excerpt = np.take(chosen.audio, np.arange(start, start + n_samples), mode="wrap").astype(np.float64)
    rms = np.sqrt(np.mean(excerpt ** 2))
    if rms < 1e-10:
        raise UserError(f"{BACKGROUNDS_FLAG}: {chosen.name}: the excerpt from {start / chosen.sr:.2f} s is silent; "
                        f"cut the silence out of the recording")
    return (excerpt * (10 ** (recipe.level_dbfs / 20) / rms)).astype(np.float32)


# --------------------------------------------------------------------------- the record

def file_sha256(path: str) -> str:
    """sha256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def folder_record(folder: str | None, flag: str) -> dict | None:
    """What dataset.json says about a ``--real_sources`` / ``--real_backgrounds`` folder: its absolute path,
    its audio files, a sha256 over their names and contents and, for sources, the clips per class and
    the classes left to the models; None for no folder."""
    if folder is None:
        return None
    folder = check_folder(folder, flag)
    if flag == SOURCES_FLAG:
        by_class = {slug: audio_files(path, flag) for slug, path in class_folders(folder).items()}
        paths = [path for class_paths in by_class.values() for path in class_paths]
    else:
        paths = audio_files(folder, flag)
    names = [relative_name(path, folder) for path in paths]
    digest = hashlib.sha256("\n".join(f"{n}\t{file_sha256(p)}" for n, p in zip(names, paths)).encode())
    record = {"folder": folder, "files": names, "sha256": digest.hexdigest()}
    if flag == SOURCES_FLAG:
        record["clips_per_class"] = {slug: len(class_paths) for slug, class_paths in by_class.items()}
        record["modelled_classes"] = [slug for slug in source_models() if slug not in by_class]
    return record


def check_unchanged(recorded: dict | None, flag: str) -> None:
    """UserError when the files of a recorded folder are no longer what the set was made from."""
    if recorded is None:
        return
    now = folder_record(recorded["folder"], flag)
    if now["sha256"] != recorded["sha256"]:
        raise UserError(f"{flag} {recorded['folder']}: its files changed since the set was made "
                        f"(sha256 {recorded['sha256'][:12]} -> {now['sha256'][:12]}); remake the set")
