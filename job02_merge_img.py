#!/usr/bin/env python3
"""job02: spectrogram tile + colour label -> A|B training pair (pix2pix's aligned format).

Labels come either from painted label PNGs matched to the tiles by file name
(--label), or from annotation tables (--raven / --audacity). From a table, a
pixel inside a box is labelled when it stands --box_threshold_db above the
median level of its frequency row in the tile; where boxes overlap, the
smaller box (seconds x hertz) wins. Tiles of an annotated recording that hold
no box become all-background pairs (negative examples).

Tables are taken as they come: UTF-8 or Windows cp1252 text, recordings named
by Begin File or Begin Path; labels outside the palette (noise, unknown...) are
skipped with --ignore_labels or renamed to palette names with --label_map. Make
a palette for your own species with: python -m util.labels.make_palette --help

examples:
  python job02_merge_img.py --spec spec/ --label labels/ --output input_img/train_species_samples
  python job02_merge_img.py --spec spec/ --raven tables/*.selections.txt --output pairs/
  python job02_merge_img.py --spec spec/ --raven tables/*.txt --output pairs/ --ignore_labels noise,unknown
"""

from __future__ import annotations

import os
from functools import partial

from util.cli import IMAGE_EXTENSIONS, InputFile, find_files, make_parser, report_failures, run_batch, run_main, summary
from util.errors import UserError
from util.labels.annotations import (
    DEFAULT_BOX_THRESHOLD_DB,
    Box,
    boxes_to_class_map,
    group_boxes,
    parse_label_list,
    read_audacity_labels,
    read_label_map,
    read_raven_table,
    recording_key,
)
from util.labels.pairs import write_pair
from util.labels.palette import DEFAULT_TOLERANCE, Palette, load_palette
from util.signal.spectrogram import read_png, read_spectrogram_png, spectrogram_pixels, write_png


def parse_args(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--spec", required=True, help="a spectrogram tile or a folder of them (from job01)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--label", help="a label PNG or a folder of them, named as the tiles")
    source.add_argument("--raven", nargs="+", metavar="TABLE", help="Raven Pro selection table(s)")
    source.add_argument("--audacity", nargs="+", metavar="FILE", help="Audacity label file(s), spectral lines included")
    parser.add_argument("--output", required=True, help="folder for the A|B pairs")
    parser.add_argument("--palette", default="species", help="species, community or a palette JSON file")
    parser.add_argument("--label_column", default=None,
                        help="Raven column holding the class name; default: the first of Species, Annotation, Common Name")
    parser.add_argument("--ignore_labels", default=None, metavar="LABELS",
                        help='table labels to skip, comma separated, e.g. noise,unknown,other ("" for an empty '
                             "label); with none, every label must name a palette class")
    parser.add_argument("--label_map", default=None, metavar="FILE",
                        help="table labels -> palette names: a CSV (label,name per row) or JSON object; "
                             "an empty name skips the label")
    parser.add_argument("--box_threshold_db", type=float, default=DEFAULT_BOX_THRESHOLD_DB,
                        help="dB above the row's median level for a pixel in a box to be labelled")
    parser.add_argument("--color_tolerance", type=float, default=DEFAULT_TOLERANCE,
                        help="largest RGB distance from a palette colour for a label pixel")
    parser.add_argument("--label_output", default=None, help="also write the label images made from tables here")
    parser.add_argument("--overwrite", action="store_true", help="re-make pairs that already exist")
    return parser.parse_args(argv)


def label_path_for(tile: InputFile, label_root: str) -> str:
    """The label named as the tile: same relative folder, else the label folder's top level."""
    if os.path.isfile(label_root):
        return label_root
    name = os.path.basename(tile.path)
    mirrored = os.path.join(label_root, tile.rel_dir, name)
    return mirrored if os.path.exists(mirrored) else os.path.join(label_root, name)


def merge_from_label(tile: InputFile, label_root: str, palette: Palette, tolerance: float, output: str,
                     overwrite: bool) -> str | None:
    target = os.path.join(output, tile.rel_dir, os.path.basename(tile.path))
    if os.path.exists(target) and not overwrite:
        return None
    db, meta = read_spectrogram_png(tile.path)
    label_file = label_path_for(tile, label_root)
    if not os.path.exists(label_file):
        raise UserError(f"{tile.path}: no label named {os.path.basename(tile.path)} in {label_root}")
    label_rgb, _ = read_png(label_file)
    if label_rgb.ndim != 3:
        raise UserError(f"{label_file}: a grey image; a label must be an RGB PNG in the palette's colours")
    if label_rgb.shape[:2] != db.shape:
        raise UserError(f"{label_file}: label is {label_rgb.shape[1]}x{label_rgb.shape[0]} pixels but spectrogram "
                        f"{tile.path} is {db.shape[1]}x{db.shape[0]}; labels must have exactly the spectrogram's size")
    class_map = palette.decode(label_rgb, label_file, tolerance)
    write_pair(target, spectrogram_pixels(db, meta), palette.encode(class_map), meta)
    return target


def merge_from_boxes(tile: InputFile, boxes_by_recording: dict[str, list[Box]], palette: Palette,
                     threshold_db: float, output: str, label_output: str | None, overwrite: bool) -> str | None:
    target = os.path.join(output, tile.rel_dir, os.path.basename(tile.path))
    if os.path.exists(target) and not overwrite:
        return None
    db, meta = read_spectrogram_png(tile.path)
    key = recording_key(meta["source"])
    if key not in boxes_by_recording:
        raise UserError(f"{tile.path}: no annotation table for its recording {meta['source']} "
                        f"(tables are matched by file name, Begin File or Begin Path)")
    class_map = boxes_to_class_map(db, meta, boxes_by_recording[key], palette, threshold_db)
    label_rgb = palette.encode(class_map)
    if label_output:
        write_png(os.path.join(label_output, tile.rel_dir, os.path.basename(tile.path)), label_rgb)
    write_pair(target, spectrogram_pixels(db, meta), label_rgb, meta)
    return target


def load_boxes(args, palette: Palette) -> dict[str, list[Box]]:
    tables = [(path, read_raven_table(path, args.label_column)) for path in args.raven or []]
    tables += [(path, read_audacity_labels(path)) for path in args.audacity or []]
    label_map = read_label_map(args.label_map, palette) if args.label_map else None
    return group_boxes(tables, palette, parse_label_list(args.ignore_labels), label_map)


def main(argv=None) -> int:
    args = parse_args(argv)
    palette = load_palette(args.palette)
    tiles = find_files(args.spec, IMAGE_EXTENSIONS)
    if args.label:
        work = partial(merge_from_label, label_root=args.label, palette=palette, tolerance=args.color_tolerance,
                       output=args.output, overwrite=args.overwrite)
    else:
        work = partial(merge_from_boxes, boxes_by_recording=load_boxes(args, palette), palette=palette,
                       threshold_db=args.box_threshold_db, output=args.output, label_output=args.label_output,
                       overwrite=args.overwrite)
    result = run_batch(tiles, work, desc="job02 tiles -> pairs", unit="tile")
    written = [target for _, target in result.done if target]
    summary(f"job02: {len(written)} pair(s) written to {args.output} "
            f"({len(result.done) - len(written)} already done, {len(result.failures)} failed)")
    return report_failures(result)


if __name__ == "__main__":
    run_main(main)
