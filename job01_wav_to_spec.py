#!/usr/bin/env python3
"""job01: audio recordings -> calibrated spectrogram PNG tiles.

Each tile is 256 STFT bins x 256 frames (about 2.97 s at the defaults), one
pixel per bin, grey = dB re full scale, with its parameters stored in the PNG.
Tiles are named <stem>_<k:04d>.png; subfolders of --input are mirrored.

example:
  python job01_wav_to_spec.py --input recordings/ --output spec/ --workers 2
"""

from __future__ import annotations

import os
from functools import partial

from util.cli import (
    AUDIO_EXTENSIONS,
    InputFile,
    add_spectrogram_args,
    find_files,
    make_parser,
    report_failures,
    run_batch,
    run_main,
    spec_params_from_args,
    summary,
)
from util.signal.spectrogram import SpecParams, convert_file


def parse_args(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--input", required=True, help="an audio file (WAV, FLAC, OGG, AIFF, MP3) or a folder, searched recursively")
    parser.add_argument("--output", required=True, help="folder for the PNG tiles")
    parser.add_argument("--pattern", default="*", help="only files whose name matches this glob, e.g. '*_05*.wav'")
    parser.add_argument("--channel", type=int, default=None, help="channel to use (0-based); default: the mean of all channels")
    parser.add_argument("--normalize", action="store_true",
                        help="per-file normalisation: shift each file so its loudest bin is db_ceil "
                             "(the shift is stored, so readers still get calibrated dB)")
    parser.add_argument("--workers", type=int, default=1, help="files converted in parallel")
    parser.add_argument("--overwrite", action="store_true", help="re-make tiles that already exist")
    add_spectrogram_args(parser)
    return parser.parse_args(argv)


def convert_one(item: InputFile, output: str, params: SpecParams, channel, normalize: bool, overwrite: bool):
    return convert_file(item.path, os.path.join(output, item.rel_dir), params, channel, normalize, overwrite)


def main(argv=None) -> int:
    args = parse_args(argv)
    params = spec_params_from_args(args)
    files = find_files(args.input, AUDIO_EXTENSIONS, args.pattern)
    work = partial(convert_one, output=args.output, params=params, channel=args.channel,
                   normalize=args.normalize, overwrite=args.overwrite)
    result = run_batch(files, work, workers=args.workers, desc="job01 audio -> tiles")
    n_tiles = sum(len(tiles) for _, tiles in result.done)
    n_skipped = sum(1 for _, tiles in result.done if not tiles)
    summary(f"job01: {n_tiles} tiles from {len(result.done) - n_skipped} file(s) written to {args.output}"
            f" ({n_skipped} already done, {len(result.failures)} failed)")
    return report_failures(result)


if __name__ == "__main__":
    run_main(main)
