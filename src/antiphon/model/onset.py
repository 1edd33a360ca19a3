"""The onset clock: how long ago the performance last changed abruptly, and how long the gap before that was.

Guitar playing pulses with its picking: the spectral variation's autocorrelation on the demo
corpus's validation blocks rises again at lags 17 to 19 (about 0.2 s), and where the rows last
jumped says a little about when they will jump next: 16 to 18 frames after an onset (below) the
variation rises by 0.019 to 0.024 a frame (normalised) on average. Teacher-forced, a model that
sees only its rows predicts 0.002 there, and its answers' autocorrelation falls smoothly at every
lag. With ``model.onset_clock = N`` each input row is followed by two values: the frames since
the last onset and the frames between the two onsets before it, each capped at N and divided by N
(so both lie in [0, 1]). Measured and off by default: given the clock, three trainings predicted
-0.006 to 0.008 there, and their answers' autocorrelation, step sizes and energy score at 1 s got
worse on every seed (docs/model.md, round 8).

An onset is a row whose step from the row before (the mean absolute difference over its D
values, normalised units) is more than :data:`ONSET_RATIO` times the running mean of the steps
before it (debiased, with a time constant of :data:`ONSET_MEAN_STEPS` rows), at least
:data:`ONSET_GAP` rows after the last onset. A ratio, so it does not depend on the scale factor or
on how loud or busy the playing is. The first row of a sequence has no step: its clock and its
interval start at the cap (no onset heard yet).

Training computes the clock over whole segments (:func:`onset_clock`) and the engine updates it
with every frame it is fed, the performer's or its own, with the same compiled step
(:func:`onset_update`): one implementation, so the two cannot disagree.
"""

from __future__ import annotations

import math

import numpy as np

from antiphon.model.compiled import njit

#: a row is an onset when its step exceeds this many times the running mean step
ONSET_RATIO = 2.0
#: rows at least between two onsets (6 = 70 ms at the analysis hop: one pick, not its ringing)
ONSET_GAP = 6
#: time constant of the running mean step, rows (86 = 1 s at the analysis hop)
ONSET_MEAN_STEPS = 86
#: values the clock adds to an input row (frames since the last onset, and the interval before it)
ONSET_INPUTS = 2


def running_size(dimension: int) -> int:
    """Running values the clock keeps for rows of ``dimension`` D: the previous row, the running mean step,
    its total weight and the two counts (D + 4; :func:`onset_update`)."""
    return dimension + 4


def onset_settings(cap: int) -> np.ndarray:
    """The compiled step's settings (4,) float64 for a clock capped at ``cap`` rows: the cap, the ratio, the
    gap and the running mean's decay (passed in, not read as globals, which Numba's cache would keep after
    they changed)."""
    return np.array([float(cap), ONSET_RATIO, float(ONSET_GAP), math.exp(-1.0 / ONSET_MEAN_STEPS)])


@njit(cache=True, nogil=True)
def onset_update(row, running, fed, settings):
    """Update the clock with ``row`` (D,), normalised; ``running`` (D + 4,) holds the previous row, the
    running mean step, its total weight (1 - a^t, which divides out the zero start), the frames since the
    last onset and the frames between the two before, and is updated in place. ``fed``: whether a row came
    before this one (else the clock starts: no step, no onset, both counts at the cap)."""
    d = row.shape[0]
    cap, ratio, gap, decay = settings[0], settings[1], settings[2], settings[3]
    if not fed:
        running[d] = 0.0
        running[d + 1] = 0.0
        running[d + 2] = cap
        running[d + 3] = cap
    else:
        step = 0.0
        for j in range(d):
            step += abs(row[j] - running[j])
        step /= d
        clock = running[d + 2] + 1.0
        weight = running[d + 1]
        if weight > 0.0 and step > ratio * running[d] / weight and clock >= gap:
            running[d + 3] = min(clock, cap)
            running[d + 2] = 0.0
        else:
            running[d + 2] = min(clock, cap)
        running[d] = decay * running[d] + (1.0 - decay) * step
        running[d + 1] = decay * weight + (1.0 - decay)
    for j in range(d):
        running[j] = row[j]


@njit(cache=True, nogil=True)
def _clock(rows, settings, running):
    n, d = rows.shape
    out = np.empty((n, 2))
    for t in range(n):
        onset_update(rows[t], running, t > 0, settings)
        out[t, 0] = running[d + 2] / settings[0]
        out[t, 1] = running[d + 3] / settings[0]
    return out


def onset_clock(rows: np.ndarray, cap: int) -> np.ndarray:
    """The clock inputs (n, 2) of ``rows`` (n, D) from the first row on: frames since the last onset and
    frames between the two onsets before it, each capped at ``cap`` and divided by it."""
    rows = np.ascontiguousarray(rows, dtype=np.float32)  # as the engine holds them, so both decide alike
    if rows.shape[0] == 0:
        return np.zeros((0, 2))
    return _clock(rows, onset_settings(cap), np.zeros(running_size(rows.shape[1]), dtype=np.float32))
