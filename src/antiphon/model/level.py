"""The register a performance is in: a running mean of the model's rows, given to the model beside each row.

Real feature trajectories hold a level for seconds (the centroid's autocorrelation is still 0.77
at 200 frames, 2.3 s) while they jitter from frame to frame. A model that sees only a window of
recent rows reverts to the training data's typical values when it answers, and its answer does
not stay in the prompt's register. With ``model.level_steps = N`` each input row is followed by
the exponential running mean of the rows so far, m_t = a m_(t-1) + (1 - a) x_t with
a = exp(-1 / N) (a time constant of N steps; 86 steps = 1 s at the analysis hop), started at the
first row of a sequence. Training computes it over whole segments, so a window's level carries
what came before the window; the engine keeps it up to date with every frame it is fed, the
performer's or its own, so an answer's level moves as slowly as the music's.
"""

from __future__ import annotations

import math

import numpy as np


def level_decay(steps: int) -> float:
    """a = exp(-1 / steps): the weight of the previous level at each step."""
    return math.exp(-1.0 / steps)


def running_level(rows: np.ndarray, steps: int, start: np.ndarray | None = None) -> np.ndarray:
    """The running mean (n, D) of ``rows`` (n, D), each including its own row.

    ``start`` (D,) is the level before the first row; by default the first row itself, so a
    sequence starts at its own level. scipy's ``lfilter`` runs the recursion in C, exactly.
    """
    # imported here, not at the top: serve's engine imports this module, and scipy.signal costs it 1.3 s and 70 MB at start
    from scipy.signal import lfilter

    rows = np.asarray(rows, dtype=np.float64)
    if rows.shape[0] == 0:
        return rows.copy()
    a = level_decay(steps)
    before = rows[0] if start is None else np.asarray(start, dtype=np.float64)
    out, _ = lfilter([1.0 - a], [1.0, -a], rows, axis=0, zi=(a * before)[None, :])
    return out


def with_level(rows: np.ndarray, steps: int) -> np.ndarray:
    """``rows`` (n, D) followed by their running level: (n, 2D), float32 (the model's inputs); ``steps`` 0 = rows as they are."""
    if not steps:
        return np.asarray(rows, dtype=np.float32)
    return np.concatenate([rows, running_level(rows, steps)], axis=1).astype(np.float32)
