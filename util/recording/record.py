"""The run record: which model, palette, spectrogram and settings made a recording's outputs (``run.json``).

``<out_dir>/run.json`` (JSON, written atomically after the outputs) holds:

``settings``   what decides the outputs' content, compared on a re-run: the weights' sha256, the palette
               (names, scientific names, colours) and its decode rule, the spectrogram settings, channel, tile
               overlap, precision, the detection thresholds (min_duration_s, min_area_px, min_score), classes,
               time zone, audio format (when audio is written), and the recording's size in bytes;
               None while a run is in progress
``outputs``    the files written (names in the folder)
``model``      the weights' path and label, the train_opt.json the settings came from
``software``   name and version; ``created`` (UTC); ``device``, ``batch_size`` (they do not change the outputs
               beyond float rounding); ``results`` (duration, frames, tiles, detections)

A recording is skipped only when its record's settings equal this run's and every output asked for exists
(more products with the same settings are added, the others kept). If the settings changed, the recording is
redone (one line says what changed) and the outputs of the earlier run that this run does not write are
removed, so that every file beside run.json is the one it describes. A record marked in progress (settings
None: a run stopped after it began replacing files) is redone.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone

import torch
from torch import nn

from util import __version__
from util.files import write_json
from util.labels.palette import Palette
from util.recording.layout import RUN_RECORD
from util.recording.settings import RecordingSettings
from util.signal.spectrogram import SpecParams

SOFTWARE = "spectrogram-gan"
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelInfo:
    """The generator a run used: a label for the tables and a checksum for the record."""

    sha256: str                        # of the weights file (or, without one, of the module's type and tensors)
    label: str                         # '<name>@<sha256[:12]>', the detections' model column
    weights: str | None = None         # the weights file
    train_options: str | None = None   # the train_opt.json the spectrogram settings came from

    def as_dict(self) -> dict:
        return {"sha256": self.sha256, "label": self.label, "weights": self.weights,
                "train_options": self.train_options}


def file_sha256(path: str) -> str:
    """sha256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def module_sha256(module) -> str:
    """sha256 of a generator's class name and tensors (for a module given without its weights file)."""
    net = getattr(module, "net", module)          # a TileTranslator holds its module as .net
    digest = hashlib.sha256(getattr(net, "__qualname__", type(net).__qualname__).encode())
    if isinstance(net, nn.Module):
        for name, tensor in net.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def model_info(generator, weights: str | None = None, name: str | None = None,
               train_options: str | None = None) -> ModelInfo:
    """The record of a generator: from its weights file when given, else from the module itself."""
    sha = file_sha256(weights) if weights else module_sha256(generator)
    if not name:
        net = getattr(generator, "net", generator)
        name = os.path.splitext(os.path.basename(weights))[0] if weights else getattr(net, "__name__",
                                                                                       type(net).__name__)
    return ModelInfo(sha, f"{name}@{sha[:12]}", os.path.abspath(weights) if weights else None, train_options)


def run_settings(model: ModelInfo, palette: Palette, params: SpecParams, settings: RecordingSettings,
                 precision: str, input_path: str | None = None) -> dict:
    """What decides a recording's outputs, as stored in and compared with run.json (JSON types only);
    without ``input_path`` (a run's summary) no ``input_size_bytes``."""
    values = {
        "model_sha256": model.sha256,
        "palette": {"name": palette.name, "decode_rule": palette.decode_rule,
                    "classes": [{"name": c.name, "scientific_name": c.scientific_name, "rgb": list(c.rgb)}
                                for c in palette.classes]},
        "spectrogram": {k: getattr(params, k) for k in ("sr", "n_fft", "hop_length", "window", "db_floor",
                                                         "db_ceil", "tile_frames")},
        "precision": precision,
        **settings.record(palette),
    }
    if input_path is not None:
        values["input_size_bytes"] = os.path.getsize(input_path)
    return json.loads(json.dumps(values))


def read_record(out_dir: str) -> dict | None:
    """A folder's run.json, or None when there is none or it cannot be read (the recording is then redone)."""
    try:
        with open(os.path.join(out_dir, RUN_RECORD), encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) and "settings" in record else None


def changes(old: dict, new: dict) -> str:
    """'min_duration_s 0.05 -> 0.2, model_sha256 3f2a9c0e41b7 -> 9b1c...': what differs between two settings."""
    if "audio_format" not in new:
        old = {k: v for k, v in old.items() if k != "audio_format"}
    keys = [k for k in list(new) + [k for k in old if k not in new] if old.get(k) != new.get(k)]
    return ", ".join(f"{k} {_short(old.get(k))} -> {_short(new.get(k))}" for k in keys)


def _short(value) -> str:
    if isinstance(value, str) and len(value) == 64:          # a sha256
        return value[:12]
    if isinstance(value, dict) and "name" in value:          # the palette
        return f"'{value['name']}' ({len(value.get('classes', []))} classes, {value.get('decode_rule')})"
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def write_record(out_dir: str, settings: dict | None, model: ModelInfo, outputs: list[str], **details) -> str:
    """Write ``<out_dir>/run.json`` atomically; ``outputs`` are paths or names of files in ``out_dir``.

    ``settings`` None marks a run in progress (a re-run then redoes the recording); ``details`` (input,
    results, device, ...) are stored as they are.
    """
    record = {
        "software": {"name": SOFTWARE, "version": __version__},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": settings,
        "model": model.as_dict(),
        "outputs": sorted({os.path.basename(p) for p in outputs}),
        **details,
    }
    return write_json(os.path.join(out_dir, RUN_RECORD), record)


def skip_or_redo(record: dict | None, settings: dict, targets: list[str], overwrite: bool) -> tuple[bool, str]:
    """(skip, why it is redone) for a recording whose folder holds ``record`` (None: no run.json).

    Skipped only when the record's settings equal ``settings`` and every target exists; the reason is '' when
    there is nothing to say (a first run, outputs added with the same settings, ``overwrite``).
    """
    if overwrite:
        return False, ""
    if record is None:
        made_before = any(os.path.exists(t) for t in targets)
        return False, "its outputs have no run.json (made by an earlier version?)" if made_before else ""
    if record.get("settings") is None:
        return False, "an earlier run stopped before it finished"
    if not same_settings(record, settings):
        return False, f"its outputs were made with other settings ({changes(record['settings'], settings)})"
    return all(os.path.exists(t) for t in targets), ""


def same_settings(record: dict | None, settings: dict) -> bool:
    """Whether a record's settings are ``settings`` (its audio format does not count when no audio is asked for)."""
    if record is None or record.get("settings") is None:
        return False
    old = record["settings"]
    if "audio_format" not in settings:
        old = {k: v for k, v in old.items() if k != "audio_format"}
    return old == settings


def record_outputs(record: dict | None, out_dir: str) -> list[str]:
    """Paths of the outputs a record lists that still exist in ``out_dir``."""
    names = record.get("outputs", []) if record else []
    return [os.path.join(out_dir, n) for n in names
            if n == os.path.basename(n) and os.path.isfile(os.path.join(out_dir, n))]
