#!/usr/bin/env python3
"""job00: labelled synthetic soundscapes with exact ground truth.

Each soundscape is field-like background noise plus 0-4 sources (the eight species,
insect, human; models of their calls, not recordings) at SNRs of -5 to +20 dB. Written:

  OUT/input_wav/{train,test}/<id>/mixture.wav      the clip (float WAV)
  OUT/input_wav/{train,test}/<id>/<slug>.wav       every source alone, and background.wav
  OUT/input_wav/{train,test}/<id>/events.csv       class, slug, start_s, end_s, low_hz, high_hz, level, ...
  OUT/input_wav/{train,test}/<id>/mixture.selections.txt            the same boxes as Raven tables for
  OUT/input_wav/{train,test}/<id>/mixture.community.selections.txt  job02 (species / community level)
  OUT/input_img/{train,test}_{species,community}_samples/<id>.png    A|B pairs (<id>_<k:04d>.png if
                                                                     a clip spans several tiles)

A pixel's label is the source that dominates its STFT bin and is audible (see util/synth/truth.py).
The same --seed gives pixel-identical pairs, whatever --workers.

example:
  python job00_synth_data.py --out data/synth --n_train 160 --n_test 40 --seed 1
"""

from __future__ import annotations

from util.cli import make_parser, run_main, summary
from util.signal.spectrogram import SpecParams
from util.synth import (
    AUDIBLE_FLOOR_DB,
    AUDIBLE_MARGIN_DB,
    generate_dataset,
    one_tile_duration_s,
)


def parse_args(argv=None):
    defaults = SpecParams()
    parser = make_parser(__doc__)
    parser.add_argument("--out", required=True, help="root folder of the data set")
    parser.add_argument("--n_train", type=int, default=160, help="soundscapes in the train split")
    parser.add_argument("--n_test", type=int, default=40, help="soundscapes in the test split")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same data set")
    parser.add_argument("--duration", type=float, default=None,
                        help=f"clip length in s; None: exactly one tile at --sr ((tile_frames - 1) * hop_length "
                             f"/ sr = {one_tile_duration_s(defaults):.4f} s at {defaults.sr} Hz)")
    parser.add_argument("--sr", type=int, default=defaults.sr, help="sample rate in Hz of the audio and spectrograms")
    parser.add_argument("--audible_floor_db", type=float, default=AUDIBLE_FLOOR_DB,
                        help="a source labels a pixel only if its bin is at least this loud (dB re full scale)")
    parser.add_argument("--audible_margin_db", type=float, default=AUDIBLE_MARGIN_DB,
                        help="... and at least this many dB above the background in the same bin")
    parser.add_argument("--workers", type=int, default=2, help="soundscapes made in parallel (processes)")
    parser.add_argument("--overwrite", action="store_true", help="re-make soundscapes whose outputs all exist")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    result = generate_dataset(args.out, args.n_train, args.n_test, args.seed, duration_s=args.duration,
                              params=SpecParams(sr=args.sr), overwrite=args.overwrite, workers=args.workers,
                              audible_floor_db=args.audible_floor_db, audible_margin_db=args.audible_margin_db)
    summary(result.line())
    return 0


if __name__ == "__main__":
    run_main(main)
