"""Level words for numbers: the vocabulary both rule-based writers share."""

from __future__ import annotations

Bands = tuple[tuple[float, str], ...]
"""(upper bound, word) pairs in increasing order; a value takes the first word whose bound exceeds it."""

STILL_BODY_RMS_MPS2 = 0.3
"""Below this body-acceleration RMS the window is described as essentially motionless."""


def band(value: float, bands: Bands) -> str:
    """The word of the first band whose upper bound exceeds ``value``."""
    for upper, word in bands:
        if value < upper:
            return word
    return bands[-1][1]
