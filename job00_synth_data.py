#!/usr/bin/env python3
"""job00: labelled synthetic soundscapes with exact ground truth.

Each soundscape is field-like background noise plus 0-4 sources (the eight species,
insect, human; models of their calls, or your own recordings with --real_sources / --real_backgrounds)
at SNRs of -5 to +20 dB. Written:

  OUT/input_wav/{train,val,test}/<id>/mixture.wav      the clip (float WAV)
  OUT/input_wav/{train,val,test}/<id>/<slug>.wav       every source alone, and background.wav
  OUT/input_wav/{train,val,test}/<id>/events.csv       class, slug, start_s, end_s, low_hz, high_hz, level, ...
  OUT/input_wav/{train,val,test}/<id>/mixture.selections.txt            the same boxes as Raven tables for
  OUT/input_wav/{train,val,test}/<id>/mixture.community.selections.txt  job02 (species / community level)
  OUT/input_img/{train,val,test}_{species,community}_samples/<id>.png    A|B pairs (<id>_<k:04d>.png if
                                                                         a clip spans several tiles)
  OUT/input_wav/dataset.json                           how the set was made (all the settings below)

Every choice is made on val; test is only reported. Clip i of a split depends only on (--seed, split, i).

A pixel's label (--truth_rule expected, the default) is the source loudest in its STFT bin, if that
source is at least --audible_floor_db loud and --audible_margin_db (6 dB) above the background's expected level
in that frequency row (its power averaged over the clip): a property of the sources, not of one draw of
the noise. --truth_rule ibm labels against the background in the same bin (ideal binary mask, for
separation studies; it follows the noise's speckle). See util/synth/truth.py.
--noise_draw K makes the same soundscapes (sources, calls, onsets, levels) over another realisation of
the same kind of background; labels of two draws agree at pixel F1 >= 0.95 (util.synth.noise_draw_agreement).
The same --seed gives pixel-identical pairs, whatever --workers.

Background kinds (--background_kinds): pink / brown (a coloured base falling 3 / 6 dB an octave, one
per clip, with a white microphone floor 30 dB below it), wind (gusty noise below 800 Hz), rain (random
broadband drop clicks, 0.8-10 kHz), stream (steady noise from 150 Hz, rolled off above 3 kHz, gurgling).

Real sound (util/synth/real.py): --real_sources DIR takes each class's calls from DIR/<class>/ (clean clips,
WAV/FLAC/OGG/AIFF/MP3 at any rate or channel count; resampled to --sr, channels averaged, leading and trailing silence
60 dB below the clip's peak cut); a drawn source of such a class is a random one of its clips, placed and
levelled as a modelled call, and labelled from its own spectrogram by the same rule. Classes without
clips keep their models; dataset.json lists which classes are real and how many clips each has.
--real_backgrounds DIR uses the field recordings under DIR instead of the modelled noise: per clip one file
from a drawn start (looped if shorter than the clip), scaled to the drawn background level; --noise_draw K
takes the excerpt of the same file K clip lengths further on. Both folders' files (and a sha256 of them)
are recorded in dataset.json; a set is not extended with other files.

Distance (util/synth/propagation.py): --propagation hears each call from 5-100 m: its high frequencies fade
with distance and a reverberant tail is added, before its level is set by the drawn SNR; the truth follows
the propagated call.

example:
  python job00_synth_data.py --out data/synth --n_train 160 --n_val 40 --n_test 40 --seed 1
"""

from __future__ import annotations

from util.cli import make_parser, run_main, summary
from util.signal.spectrogram import SpecParams
from util.synth import (
    AUDIBLE_FLOOR_DB,
    AUDIBLE_MARGIN_DB,
    BACKGROUND_DBFS_RANGE,
    BACKGROUND_KINDS,
    IBM_MARGIN_DB,
    MAX_SOURCES,
    SNR_RANGE_DB,
    TRUTH_RULES,
    Conditions,
    TruthRule,
    generate_dataset,
    one_tile_duration_s,
)


def parse_args(argv=None):
    defaults = SpecParams()
    parser = make_parser(__doc__)
    parser.add_argument("--out", required=True, help="root folder of the data set")
    parser.add_argument("--n_train", type=int, default=160, help="soundscapes in the train split")
    parser.add_argument("--n_val", type=int, default=40,
                        help="soundscapes in the val split (every choice is made here)")
    parser.add_argument("--n_test", type=int, default=40, help="soundscapes in the test split (only reported)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same data set")
    parser.add_argument("--duration", type=float, default=None,
                        help=f"clip length in s; None: exactly one tile at --sr ((tile_frames - 1) * hop_length "
                             f"/ sr = {one_tile_duration_s(defaults):.4f} s at {defaults.sr} Hz)")
    parser.add_argument("--sr", type=int, default=defaults.sr, help="sample rate in Hz of the audio and spectrograms")
    parser.add_argument("--noise_draw", type=int, default=0,
                        help="realisation of the background noise: 0 the data set's own, K > 0 the same soundscapes "
                             "over another draw of the same kind of background")
    parser.add_argument("--truth_rule", choices=TRUTH_RULES, default=TRUTH_RULES[0],
                        help="label rule: 'expected' (margin over the background's expected level in the row) "
                             "or 'ibm' (margin over the background in the same bin: ideal binary mask)")
    parser.add_argument("--audible_floor_db", type=float, default=AUDIBLE_FLOOR_DB,
                        help="a source labels a pixel only if its bin is at least this loud (dB re full scale)")
    parser.add_argument("--audible_margin_db", type=float, default=None,
                        help=f"... and at least this many dB above the background (see --truth_rule); default "
                             f"{AUDIBLE_MARGIN_DB:g} for expected, {IBM_MARGIN_DB:g} for ibm")
    add_condition_flags(parser)
    parser.add_argument("--workers", type=int, default=2, help="soundscapes made in parallel (processes)")
    parser.add_argument("--overwrite", action="store_true", help="re-make soundscapes whose outputs all exist")
    return parser.parse_args(argv)


def add_condition_flags(parser) -> None:
    """The conditions the soundscapes are drawn under (recorded in dataset.json)."""
    parser.add_argument("--snr_range", type=float, nargs=2, metavar=("LO", "HI"), default=list(SNR_RANGE_DB),
                        help="each source's SNR in dB is drawn uniformly from LO..HI (in its band, over its "
                             "active part)")
    parser.add_argument("--background_dbfs_range", type=float, nargs=2, metavar=("LO", "HI"),
                        default=list(BACKGROUND_DBFS_RANGE),
                        help="the background's RMS level, dB re full scale, is drawn uniformly from LO..HI")
    parser.add_argument("--background_kinds", default=",".join(BACKGROUND_KINDS),
                        help="comma list of the background kinds allowed (pink or brown among them; see above)")
    parser.add_argument("--max_sources", type=int, default=MAX_SOURCES,
                        help="each clip holds 0..N distinct sources, N drawn uniformly")
    parser.add_argument("--real_sources", metavar="DIR", default=None,
                        help="folder of clean real calls, one subfolder per class (a species name, scientific "
                             "name or slug, or insect / human; WAV/FLAC/OGG/AIFF/MP3): a class with clips is drawn "
                             "from them instead of its model (see above)")
    parser.add_argument("--real_backgrounds", metavar="DIR", default=None,
                        help="folder of field recordings used as backgrounds instead of the modelled noise "
                             "(see above)")
    parser.add_argument("--propagation", action="store_true",
                        help="hear each call from a distance drawn in 5-100 m: high frequencies fade with distance "
                             "and a reverberant tail is added (util/synth/propagation.py); off: dry calls")


def main(argv=None) -> int:
    args = parse_args(argv)
    truth = TruthRule(args.truth_rule, args.audible_floor_db, args.audible_margin_db)
    conditions = Conditions(tuple(args.snr_range), tuple(args.background_dbfs_range),
                            tuple(k.strip() for k in args.background_kinds.split(",") if k.strip()), args.max_sources,
                            args.real_sources, args.real_backgrounds, args.propagation)
    result = generate_dataset(args.out, args.n_train, args.n_test, args.seed, n_val=args.n_val,
                              duration_s=args.duration, params=SpecParams(sr=args.sr), overwrite=args.overwrite,
                              workers=args.workers, truth=truth, conditions=conditions, noise_draw=args.noise_draw)
    summary(result.line())
    return 0


if __name__ == "__main__":
    run_main(main)
