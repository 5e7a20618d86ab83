"""Make a palette JSON from a list of names, with colours far apart from each other and from black.

    python -m util.labels.make_palette --names "Great Tit,Blue Tit,Pic épeiche" --out my_palette.json
    python -m util.labels.make_palette --names_file species.txt --out my_palette.json

The file has the format of ``util/labels/palettes/*.json`` and is read by ``--palette my_palette.json``.

How colours are chosen (our own rule, deterministic): candidates are the RGB grid of levels 0, 17, ..., 255
in each channel; starting from black (the background), each name in turn takes the candidate farthest
from every colour already taken (ties go to the first candidate in grid order). That greedy farthest-point
choice keeps the smallest distance within a factor two of the best possible. The k-th colour's distance
to the ones before it is the palette's smallest gap; it must stay above twice the decoding tolerance
(2 x 40 = 80), so a label pixel is never ambiguous: 36 names fit (``max_classes()``); with up to 8 names
every two colours (black included) are more than 180 apart, with 20 at least 119.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys

import numpy as np

from util.errors import UserError
from util.files import write_text
from util.labels.annotations import read_table_text
from util.labels.palette import BACKGROUND_RGB, DEFAULT_TOLERANCE, slugify

GRID_LEVELS = np.arange(0, 256, 17)  # 16 levels a channel: 4096 candidate colours
MIN_GAP = 2 * DEFAULT_TOLERANCE      # palettes with colours this close are refused by load_palette


def _candidates() -> np.ndarray:
    """(4096, 3) float: the candidate colours, in grid order (red slowest)."""
    red, green, blue = np.meshgrid(GRID_LEVELS, GRID_LEVELS, GRID_LEVELS, indexing="ij")
    return np.stack([red.ravel(), green.ravel(), blue.ravel()], axis=1).astype(np.float64)


def farthest_colours(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` colours of the greedy farthest-point order, and each one's distance (RGB units)
    to the colours before it, black included: (n, 3) uint8 and (n,) float, distances non-increasing."""
    candidates = _candidates()
    nearest = np.linalg.norm(candidates - np.array(BACKGROUND_RGB, float), axis=1)  # [candidates]
    chosen, gaps = [], []
    for _ in range(n):
        best = int(np.argmax(nearest))  # argmax: the first of equals, so the choice is repeatable
        chosen.append(candidates[best])
        gaps.append(nearest[best])
        nearest = np.minimum(nearest, np.linalg.norm(candidates - candidates[best], axis=1))
    return np.array(chosen, np.uint8).reshape(n, 3), np.array(gaps)


def max_classes() -> int:
    """How many names this helper can colour with every gap above MIN_GAP."""
    _, gaps = farthest_colours(64)
    return int(np.sum(gaps > MIN_GAP))


def palette_entries(names: list[str], scientific_names: list[str] | None = None) -> list[dict]:
    """Names -> palette entries ``{"name", "scientific_name", "rgb"}``, colours by :func:`farthest_colours`.

    Refuses an empty name, two names of the same class (case, accents and punctuation ignored, as
    palettes match names) and more names than :func:`max_classes`.
    """
    scientific_names = scientific_names or [""] * len(names)
    if not names:
        raise UserError("make_palette: no names given")
    slugs: dict[str, str] = {}
    for name in names:
        if not slugify(name):
            raise UserError(f"make_palette: {name!r} is not a name (it needs a letter or digit)")
        if slugify(name) in slugs:
            raise UserError(f"make_palette: {slugs[slugify(name)]!r} and {name!r} are the same name; give each once")
        slugs[slugify(name)] = name
    if len(names) > max_classes():
        raise UserError(f"make_palette: {len(names)} names, but at most {max_classes()} colours stay more than "
                        f"{MIN_GAP:g} apart in RGB; split the species over two palettes or merge some")
    colours, _ = farthest_colours(len(names))
    return [{"name": name, "scientific_name": scientific, "rgb": [int(v) for v in rgb]}
            for name, scientific, rgb in zip(names, scientific_names, colours)]


def palette_json(entries: list[dict]) -> str:
    """The JSON text, one class a line, as the shipped palettes are written."""
    lines = [json.dumps(entry, ensure_ascii=False) for entry in entries]
    return "[\n  " + ",\n  ".join(lines) + "\n]\n"


def read_names_file(path: str) -> tuple[list[str], list[str]]:
    """A species list: one name a line, optionally a tab and the scientific name; blank lines and lines
    starting with # are skipped. Read as tables are (UTF-8, else cp1252, else latin-1)."""
    names, scientific_names = [], []
    for line in io.StringIO(read_table_text(path), newline=None):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, scientific = line.rstrip("\n").partition("\t")
        names.append(name.strip())
        scientific_names.append(scientific.strip())
    return names, scientific_names


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument("--names", help="the class names, comma separated, in palette order")
    given.add_argument("--names_file", help="a text file: one name a line, optionally <TAB> scientific name")
    parser.add_argument("--out", required=True, help="the palette JSON to write")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists (default: refuse)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.names_file:
        names, scientific_names = read_names_file(args.names_file)
    else:
        names = [name.strip() for name in args.names.split(",") if name.strip()]
        scientific_names = None
    if os.path.exists(args.out) and not args.overwrite:
        raise UserError(f"{args.out}: exists; pass --overwrite to replace it")
    entries = palette_entries(names, scientific_names)
    write_text(args.out, palette_json(entries))
    gap = farthest_colours(len(entries))[1][-1]
    print(f"make_palette: {len(entries)} classes written to {args.out} (smallest RGB distance {gap:.0f}, black included)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as exc:  # util.cli.run_main's rule; labels may not import util.cli
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
