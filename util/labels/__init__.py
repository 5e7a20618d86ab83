"""Colour labels and what is read from them: palettes, annotation tables, pairs, detections, quantities, masks.

Modules:
    palette      class colours (palettes/*.json), colour <-> class, the nearest-colour rule
    make_palette a palette JSON from a list of names, colours far apart (python -m util.labels.make_palette)
    annotations  Raven / Audacity tables in and out (any common encoding); table labels -> classes; boxes -> pixels
    pairs        A|B training pairs (spectrogram beside its colour label)
    detections   regions of a class map -> selections (time, frequency, score), tracked across tiles
    quantify     time and acoustic-space occupancy, frequency profiles, per class
    separation   a class map as a mask: isolated spectrogram pixels and audio with the mixture's phase

May import from util.errors, util.files and util.signal.
"""

from util.labels.palette import Palette, SourceClass, load_palette, nearest_colour

__all__ = ["Palette", "SourceClass", "load_palette", "nearest_colour"]
