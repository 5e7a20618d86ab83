"""The command-line flags of whole-recording inference, with their defaults read from the code they configure."""

from __future__ import annotations

import argparse

from util.recording.outputs import DEFAULT_MIN_AREA_PX, DEFAULT_MIN_DURATION_S
from util.recording.tiling import DEFAULT_TILE_OVERLAP
from util.recording.translator import PRECISIONS


def add_recording_args(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Add the "whole recordings (--wav)" group: --wav, --channel, --tile_overlap, --min_duration, --min_area,
    --save_spectrograms, --overwrite, --precision, --compile. Returns the group."""
    group = parser.add_argument_group("whole recordings (--wav)")
    group.add_argument("--wav", default=None,
                       help="a recording or a folder of them: separate, detect and quantify every source "
                            "instead of scoring test pairs")
    group.add_argument("--channel", type=int, default=None, help="channel to use (0-based); default: the channel mean")
    group.add_argument("--tile_overlap", type=int, default=DEFAULT_TILE_OVERLAP,
                       help="frames by which consecutive tiles overlap; their outputs are cross-faded so seams "
                            "do not show")
    group.add_argument("--min_duration", type=float, default=DEFAULT_MIN_DURATION_S,
                       help="shortest detection kept in the Raven table, seconds")
    group.add_argument("--min_area", type=int, default=DEFAULT_MIN_AREA_PX,
                       help="smallest detection kept in the Raven table, pixels")
    group.add_argument("--save_spectrograms", action="store_true", help="also write each class's isolated spectrogram")
    group.add_argument("--overwrite", action="store_true", help="re-process recordings whose outputs exist")
    group.add_argument("--precision", default=PRECISIONS[0], choices=PRECISIONS,
                       help="float32 | bfloat16, the generator's arithmetic: bfloat16 is faster on GPUs and on "
                            "CPUs with bf16 units (much slower on CPUs without them); masks may differ at a few pixels")
    group.add_argument("--compile", action="store_true",
                       help="torch.compile the generator (first tiles wait 10-30 s; pays off from about an hour "
                            "of audio; falls back to eager if compiling fails)")
    return group
