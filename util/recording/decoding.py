"""Generated colour -> classes: the nearest palette colour and how sure that choice is.

Confidence of a pixel (our choice; the published method does not state one): ``1 - d1 / d2``, where d1 and
d2 are the RGB distances of the generated colour to the nearest and the second-nearest palette colour
(black included). 1 = exactly a palette colour, 0 = half-way between two.
"""

from __future__ import annotations

import numpy as np

from util.labels.palette import Palette


def classify_with_confidence(rgb: np.ndarray, palette: Palette) -> tuple[np.ndarray, np.ndarray]:
    """Generated RGB (3, rows, frames) in 0..255 -> (class map uint8, confidence float32 in [0, 1]).

    The class follows the palette's ``decode_rule`` (the rule of :meth:`Palette.classify`);
    confidence is ``1 - d1 / d2`` with d1, d2 the distances to the nearest and second-nearest colour.
    """
    class_map, best, second = palette.read_generated(rgb, axis=0)
    confidence = 1.0 - np.sqrt(best / np.maximum(second, 1e-12))
    return class_map, confidence.astype(np.float32, copy=False)
