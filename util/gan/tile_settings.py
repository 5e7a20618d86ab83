"""The spectrogram settings a model was trained on: read from its training tiles, kept with the run, checked later.

A generator's output only means something on tiles whose pixels mean what its training tiles meant: the same
working rate, STFT and dB mapping (:class:`util.signal.spectrogram.SpecParams`). job03 reads them from the PNG
metadata of its training pairs and stores them under ``spectrogram`` in train_opt.json
(:func:`util.gan.options.save_train_options`); job04 makes recordings' tiles with them and refuses test pairs
made otherwise. Weights without a train_opt.json (pix2pix's published ``species_net_G.pth``) get the settings
from job04's ``--sr --n_fft --hop_length``, or the defaults, and job04 says so.
"""

from __future__ import annotations

import os
from dataclasses import fields
from typing import Iterable, Sequence

from util.errors import UserError
from util.signal.spectrogram import SpecParams, read_png_metadata

SETTINGS_KEY = "spectrogram"               # the key of the settings in train_opt.json
# What a pixel means: tiles that differ in any of these cannot be read by the same model. (tile_frames may
# differ: the networks are convolutional; recordings are tiled at the model's own width.)
MATCH_FIELDS = ("sr", "n_fft", "hop_length", "window", "db_floor", "db_ceil")
FLAG_FIELDS = ("sr", "n_fft", "hop_length")  # job04's flags for weights that carry no settings


def tile_settings(meta: dict) -> dict:
    """A tile's metadata -> its SpecParams fields (sr, n_fft, hop_length, window, db_floor, db_ceil, tile_frames)."""
    return tile_settings_of(SpecParams.from_metadata(meta))


def describe(settings: dict) -> str:
    """'22050 Hz, n_fft 512, hop 256, hann window, -100..0 dB, 256-frame tiles'."""
    return (f"{settings['sr']} Hz, n_fft {settings['n_fft']}, hop {settings['hop_length']}, {settings['window']} "
            f"window, {settings['db_floor']:g}..{settings['db_ceil']:g} dB, {settings['tile_frames']}-frame tiles")


def training_tile_settings(folders: Sequence[str]) -> dict | None:
    """The settings every pair in ``folders`` was made with, plus ``normalized`` (any tile made with job01
    ``--normalize``); None when no pair carries metadata (pairs made by other tools).

    Pairs that disagree are a UserError naming two of them.
    """
    first: tuple[str, dict] | None = None
    normalized = False
    for path in _pngs(folders):
        meta = read_png_metadata(path)
        if meta is None:
            continue
        settings = tile_settings(meta)
        normalized = normalized or bool(meta.get("db_offset", 0.0))
        if first is None:
            first = (path, settings)
        elif _differences(first[1], settings):
            raise UserError(f"{path}: made with {_differences(first[1], settings)}, unlike {first[0]}; "
                            f"a model is trained on tiles made one way (remake them with job01)")
    return None if first is None else dict(first[1], normalized=normalized)


def check_tiles_match(settings: dict, paths: Iterable[str], source: str) -> None:
    """UserError at the first tile (or pair) made with other settings than ``settings`` (the model's, from ``source``)."""
    for path in paths:
        meta = read_png_metadata(path)
        if meta is None:
            continue
        change = _differences(settings, tile_settings(meta))
        if change:
            raise UserError(f"{path}: made with {change}, but the model was trained on {describe(settings)} "
                            f"({source}); make its tiles with job01 --sr {settings['sr']} --n_fft "
                            f"{settings['n_fft']} --hop_length {settings['hop_length']}")


def model_spec_params(settings: dict | None, source: str, **flags) -> tuple[SpecParams, str]:
    """The spectrogram settings to run a model with -> (SpecParams, one line saying where they came from).

    ``settings``: the model's recorded settings (None if its options record none); ``flags``: job04's
    ``sr``, ``n_fft``, ``hop_length`` (None = not given). Flags may fill in settings the model lacks, never
    contradict the ones it has (UserError).
    """
    given = {name: value for name, value in flags.items() if value is not None}
    unknown = set(given) - set(FLAG_FIELDS)
    if unknown:
        raise TypeError(f"unknown spectrogram flags: {sorted(unknown)}")
    if settings is None:
        params = SpecParams(**given).check()
        how = "from --sr/--n_fft/--hop_length" if given else "the defaults"
        return params, (f"spectrogram settings: {describe(tile_settings_of(params))} ({how}); {source} records "
                        f"none, so give --sr --n_fft --hop_length if the model was trained on other tiles")
    for name, value in given.items():
        if value != settings[name]:
            raise UserError(f"--{name} {value}: the model was trained on tiles with {name} {settings[name]} "
                            f"({source}); leave --{name} out")
    params = SpecParams(**{k: settings[k] for k in tile_settings_of(SpecParams())}).check()
    note = f"spectrogram settings: {describe(settings)} (the model's, from {source})"
    if settings.get("normalized"):
        note += "; its tiles were normalised per file (job01 --normalize), recordings are read calibrated"
    return params, note


def tile_settings_of(params: SpecParams) -> dict:
    """SpecParams -> the dict :func:`tile_settings` gives for a tile made with it."""
    return {f.name: getattr(params, f.name) for f in fields(SpecParams) if f.init}


def _differences(expected: dict, got: dict) -> str:
    """'sr 22050 (not 32000), hop_length 128 (not 256)', or '' when the tiles match."""
    return ", ".join(f"{name} {got[name]} (not {expected[name]})" for name in MATCH_FIELDS
                     if got[name] != expected[name])


def _pngs(folders: Sequence[str]) -> Iterable[str]:
    for folder in folders:
        if os.path.isdir(folder):
            for name in sorted(os.listdir(folder)):
                if name.lower().endswith(".png") and not name.startswith("."):
                    yield os.path.join(folder, name)
