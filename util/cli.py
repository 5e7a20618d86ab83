"""What every job script shares: error handling, file discovery, batches, spectrogram flags.

A script's ``main`` is wrapped by :func:`run_main`: a :class:`UserError` becomes one
line on stderr and exit status 2, never a traceback. Batches go through
:func:`run_batch`: every item is tried, failures are listed at the end, and the
exit status is non-zero when any item failed.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from fnmatch import fnmatch
from typing import Callable, Iterable, Sequence

from tqdm import tqdm

from util.errors import UserError
from util.signal.spectrogram import SpecParams

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")
IMAGE_EXTENSIONS = (".png",)
EXIT_USER_ERROR = 2


def run_main(main: Callable[[], int | None]) -> None:
    """Run a script's main(); user mistakes end in one line and exit status 2."""
    try:
        status = main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        print("interrupted; finished outputs are kept, re-run to continue", file=sys.stderr)
        sys.exit(130)
    sys.exit(status or 0)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """--help shows every flag's default and keeps the description's line breaks."""


def make_parser(description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)


# --------------------------------------------------------------------------- files

@dataclass(frozen=True)
class InputFile:
    """A file to process and its folder relative to the input root ('' for a single file)."""

    path: str
    rel_dir: str

    @property
    def stem(self) -> str:
        return os.path.splitext(os.path.basename(self.path))[0]


def find_files(root: str, extensions: Sequence[str], pattern: str = "*") -> list[InputFile]:
    """A file, or every file under a folder (recursively) with one of ``extensions`` whose
    name matches the glob ``pattern`` (case-insensitive), sorted by path."""
    if os.path.isfile(root):
        return [InputFile(root, "")]
    if not os.path.isdir(root):
        raise UserError(f"{root}: no such file or folder")
    found = []
    for folder, subdirs, names in os.walk(root):
        subdirs.sort()
        rel = os.path.relpath(folder, root)
        for name in sorted(names):
            lower = name.lower()
            if lower.endswith(tuple(extensions)) and not name.startswith(".") and fnmatch(lower, pattern.lower()):
                found.append(InputFile(os.path.join(folder, name), "" if rel == "." else rel))
    if not found:
        raise UserError(f"{root}: no {'/'.join(extensions)} files matching {pattern!r} found")
    return found


# --------------------------------------------------------------------------- batches

@dataclass
class BatchResult:
    done: list          # (item, result) for each item that succeeded
    failures: list      # (item, message) for each item that failed


def _call_safely(fn: Callable, item):
    try:
        return True, fn(item)
    except UserError as exc:
        return False, str(exc)
    except Exception as exc:  # an unexpected failure of one file must not stop the batch
        return False, f"{getattr(item, 'path', item)}: unexpected error: {type(exc).__name__}: {exc}"


def run_batch(items: Iterable, fn: Callable, workers: int = 1, desc: str = "files", unit: str = "file") -> BatchResult:
    """Apply ``fn`` to every item (in ``workers`` processes when > 1), with a progress bar.

    A failing item is recorded with its one-line message; the others go on.
    ``fn`` must be a module-level function when ``workers`` > 1.
    """
    items = list(items)
    result = BatchResult([], [])
    bar = tqdm(total=len(items), desc=desc, unit=unit, disable=None)

    def record(item, outcome):
        ok, value = outcome
        (result.done if ok else result.failures).append((item, value))
        if not ok:
            tqdm.write(f"error: {value}", file=sys.stderr)
        bar.update(1)

    if workers > 1 and len(items) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [(item, pool.submit(_call_safely, fn, item)) for item in items]
            for item, future in futures:
                record(item, future.result())
    else:
        for item in items:
            record(item, _call_safely(fn, item))
    bar.close()
    return result


def report_failures(result: BatchResult) -> int:
    """Print the failures once more at the end; return the exit status (0 if none failed)."""
    if not result.failures:
        return 0
    print(f"{len(result.failures)} of {len(result.failures) + len(result.done)} failed:", file=sys.stderr)
    for _, message in result.failures:
        print(f"  {message}", file=sys.stderr)
    return 1


# --------------------------------------------------------------------------- spectrogram flags

_SPEC_HELP = {
    "sr": "working sample rate in Hz; audio is resampled to it (the original rate is kept in the metadata)",
    "n_fft": "FFT length in samples; the image has n_fft/2 rows (Nyquist dropped)",
    "hop_length": "samples between STFT frames (one image column per frame)",
    "window": "analysis window (scipy name, periodic)",
    "db_floor": "dB re full scale shown as black (grey 0); quieter bins are clipped",
    "db_ceil": "dB re full scale shown as white (grey 255)",
    "tile_frames": "tile width in frames (columns)",
}


def add_spectrogram_args(parser: argparse.ArgumentParser) -> None:
    """Flags for every SpecParams field, defaults taken from SpecParams itself."""
    group = parser.add_argument_group("spectrogram (our own choices; the published method does not state them)")
    defaults = SpecParams()
    for spec_field in fields(SpecParams):
        if not spec_field.init:
            continue
        default = getattr(defaults, spec_field.name)
        group.add_argument(f"--{spec_field.name}", type=type(default), default=default,
                           help=_SPEC_HELP[spec_field.name])


def spec_params_from_args(args: argparse.Namespace) -> SpecParams:
    values = {f.name: getattr(args, f.name) for f in fields(SpecParams) if f.init}
    return SpecParams(**values).check()


def summary(message: str) -> None:
    """The one summary line a script prints at the end."""
    print(message)
