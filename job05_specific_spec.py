#!/usr/bin/env python3
"""job05: apply a colour label (painted or generated) as a mask -> one source's spectrogram and audio.

For each tile and each requested class, writes <class-slug>-only-<stem>.png:
the tile's spectrogram inside the class's pixels and the floor elsewhere, with
the tile's metadata. With --audio also <class-slug>-only-<stem>.wav: the ISTFT
of the mixture's STFT under the class mask, with the mixture's phase, taken
from the recording named in the tile's metadata (or --wav).

examples:
  python job05_specific_spec.py --spec sample/spec01.png --label sample/label01.png --output sample/ --palette community
  python job05_specific_spec.py --spec spec/ --label out_img/labels/ --output isolated/ --classes "Lesser Cuckoo" --audio
"""

from __future__ import annotations

import os
from functools import lru_cache, partial

import numpy as np

from util.cli import IMAGE_EXTENSIONS, InputFile, find_files, make_parser, report_failures, run_batch, run_main, summary
from util.errors import UserError
from util.labels.palette import DEFAULT_TOLERANCE, Palette, load_palette
from util.labels.separation import isolate_pixels, masked_audio, read_class_map, tile_spectrum
from util.signal.audio import read_audio, write_audio
from util.signal.spectrogram import read_spectrogram_png, spectrogram_pixels, write_png


def parse_args(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--spec", required=True, help="a spectrogram tile or a folder of them (from job01)")
    parser.add_argument("--label", required=True,
                        help="label PNG(s) named as the tiles: painted labels, A|B pairs or generated fake_B images")
    parser.add_argument("--output", required=True, help="folder for the isolated spectrograms (and audio)")
    parser.add_argument("--classes", nargs="+", default=None,
                        help="class names (common, scientific or slug); default: every class present in the label")
    parser.add_argument("--palette", default="species", help="species, community or a palette JSON file")
    parser.add_argument("--color_tolerance", type=float, default=DEFAULT_TOLERANCE,
                        help="largest RGB distance from a palette colour for a label pixel")
    parser.add_argument("--audio", action="store_true", help="also write each class's audio (mixture phase)")
    parser.add_argument("--wav", default=None,
                        help="the recording (a file, or a folder holding it) when the path in the metadata is not found")
    parser.add_argument("--overwrite", action="store_true", help="re-make outputs that already exist")
    return parser.parse_args(argv)


def requested_classes(names: list[str] | None, palette: Palette) -> list[int] | None:
    if names is None:
        return None
    unknown = [n for n in names if palette.index(n) == 0]
    if unknown:
        raise UserError(f"--classes: {', '.join(map(repr, unknown))} not in the '{palette.name}' palette "
                        f"(known: {', '.join(palette.names)})")
    return [palette.index(n) for n in names]


def find_recording(meta: dict, spec_path: str, wav_hint: str | None) -> str:
    source = meta["source"]
    candidates = [source, os.path.join(os.path.dirname(spec_path), source)]
    if wav_hint:
        candidates = [wav_hint if os.path.isfile(wav_hint) else os.path.join(wav_hint, os.path.basename(source))] + candidates
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise UserError(f"{spec_path}: its recording {source} was not found; give it with --wav")


@lru_cache(maxsize=1)
def load_recording(path: str, sr: int, channel: int | None) -> np.ndarray:
    return read_audio(path, sr, channel)[0]


def isolate_tile(tile: InputFile, label_root: str, palette: Palette, classes: list[int] | None, tolerance: float,
                 output: str, audio: bool, wav_hint: str | None, overwrite: bool) -> list[str]:
    db, meta = read_spectrogram_png(tile.path)
    label_path = label_root if os.path.isfile(label_root) else os.path.join(label_root, tile.rel_dir, os.path.basename(tile.path))
    if not os.path.exists(label_path):
        raise UserError(f"{tile.path}: no label named {os.path.basename(tile.path)} in {label_root}")
    class_map = read_class_map(label_path, db.shape, palette, tolerance)
    present = [k for k in range(1, len(palette) + 1) if (class_map == k).any()]
    wanted = present if classes is None else classes
    out_dir = os.path.join(output, tile.rel_dir)
    pixels = spectrogram_pixels(db, meta)
    written = []
    for k in wanted:
        stem = f"{palette.classes[k - 1].slug}-only-{tile.stem}"
        png_path = os.path.join(out_dir, stem + ".png")
        if overwrite or not os.path.exists(png_path):
            write_png(png_path, isolate_pixels(pixels, class_map, k), {**meta, "class": palette.classes[k - 1].name})
            written.append(png_path)
        wav_path = os.path.join(out_dir, stem + ".wav")
        if audio and (overwrite or not os.path.exists(wav_path)):
            recording = load_recording(find_recording(meta, tile.path, wav_hint), meta["sr"], meta.get("channel"))
            samples = masked_audio(tile_spectrum(recording, meta), (class_map == k), meta)
            write_audio(wav_path, samples, meta["sr"])
            written.append(wav_path)
    return written


def main(argv=None) -> int:
    args = parse_args(argv)
    palette = load_palette(args.palette)
    classes = requested_classes(args.classes, palette)
    tiles = find_files(args.spec, IMAGE_EXTENSIONS)
    work = partial(isolate_tile, label_root=args.label, palette=palette, classes=classes,
                   tolerance=args.color_tolerance, output=args.output, audio=args.audio,
                   wav_hint=args.wav, overwrite=args.overwrite)
    result = run_batch(tiles, work, desc="job05 isolate sources", unit="tile")
    n_written = sum(len(paths) for _, paths in result.done)
    summary(f"job05: {n_written} file(s) written to {args.output} from {len(result.done)} tile(s) "
            f"({len(result.failures)} failed)")
    return report_failures(result)


if __name__ == "__main__":
    run_main(main)
