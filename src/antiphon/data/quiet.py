"""Quiet frames: pauses that sit on a recording's noise floor, found relative to that floor.

The analyser's silence rule is a fixed level (``analysis.silence_dbfs``, -120 dBFS): digital
silence. A 16-bit stem pauses at its dither, about -96 dBFS, so its pauses pass that rule and
become frames of white noise (centroid near 11 kHz) that a model then learns as music. Here a
frame is *quiet* when its level is within ``margin_db`` of the recording's noise floor, where the
floor is the level of its quietest frames (the ``FLOOR_PERCENTILE`` percentile of the levels)
and counts as a floor only when it lies at least ``MIN_DYNAMIC_RANGE_DB`` below the recording's
typical (median) level: a recording without pauses has no floor, and loses no frame.

Levels come from the Signal category's ``TotalEnergy`` (mean square, full scale), so the rule
needs that feature in the analysis; the corpus marks quiet frames as the analyser marks silent
ones (every feature 0), so a pause is a pause in the data, not noise.
"""

from __future__ import annotations

import numpy as np

#: the analysis feature the level is read from (mean square of the frame, full scale)
LEVEL_FEATURE = "TotalEnergy"
#: percentile of the frame levels taken as the noise floor
FLOOR_PERCENTILE = 2.0
#: a floor must lie this far below the median level to be a noise floor (dB)
MIN_DYNAMIC_RANGE_DB = 40.0


def level_db(mean_square: np.ndarray) -> np.ndarray:
    """Frame levels in dB full scale from mean squares (T,); exact zeros give -inf."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.maximum(np.asarray(mean_square, dtype=np.float64), 0.0))


def quiet_mask(mean_square: np.ndarray, margin_db: float) -> np.ndarray:
    """Which frames (T,) are quiet: within ``margin_db`` of the noise floor (see the module docstring).

    Digitally silent frames (level -inf) are always quiet; the floor is found among the others.
    """
    levels = level_db(mean_square)
    finite = levels[np.isfinite(levels)]
    quiet = ~np.isfinite(levels)
    if finite.size == 0:
        return quiet
    floor = float(np.percentile(finite, FLOOR_PERCENTILE))
    if float(np.median(finite)) - floor < MIN_DYNAMIC_RANGE_DB:
        return quiet
    return quiet | (levels < floor + margin_db)
