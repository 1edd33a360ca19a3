"""What a performance is doing over the last second, given to the model beside each row: its register
(a running mean of the rows) and its activity (a running mean of their step sizes).

Real feature trajectories hold a level for seconds (the centroid's autocorrelation is still 0.77
at 200 frames, 2.3 s) while they jitter from frame to frame. A model that sees only a window of
recent rows reverts to the training data's typical values when it answers, and its answer does
not stay in the prompt's register. With ``model.level_steps = N`` each input row is followed by
the exponential running mean of the rows so far, m_t = a m_(t-1) + (1 - a) x_t with
a = exp(-1 / N) (a time constant of N steps; 86 steps = 1 s at the analysis hop), started at the
first row of a sequence. Training computes it over whole segments, so a window's level carries
what came before the window; the engine keeps it up to date with every frame it is fed, the
performer's or its own, so an answer's level moves as slowly as the music's.

The activity does for how much the music moves what the level does for where it is. A prompt's
mean step size predicts the next second's (Spearman 0.82 for the shape features on the demo
corpus's test prompts, 0.57 for seconds 1-5), and a model that sees only its window forgets it as
it answers (0.49 and 0.33): its answers to calm and to busy prompts move alike. With
``model.activity_steps = N`` each input row is also followed by the running mean of the absolute
steps |x_t - x_(t-1)| with the same kind of time constant, as a log: log10(A_t + 0.001) + 2, so that
mean steps from 0.001 to 0.1 (normalised units) are inputs from -1 to 1, as the model's other inputs are
of order 1 (Adam moves every weight at about the learning rate, so an input a hundred times
smaller would take a hundred times longer to be heard). The mean is debiased (divided by
1 - a^t, as Adam's moments are), so from the second row on it is the weighted mean of the steps
so far; the first row of a sequence, which has no step, has A = 0. It is off by default: with it
the answers follow their prompt's activity, but how busy they get then depends on the sampling
temperatures, which the activity feeds back (docs/model.md, ablation round 5).
"""

from __future__ import annotations

import math

import numpy as np

from antiphon.model.compiled import njit
from antiphon.model.onset import ONSET_INPUTS
from antiphon.model.onset import onset_clock as onset_inputs


def level_decay(steps: int) -> float:
    """a = exp(-1 / steps): the weight of the previous level at each step."""
    return math.exp(-1.0 / steps)


def running_level(rows: np.ndarray, steps: int, start: np.ndarray | None = None) -> np.ndarray:
    """The running mean (n, D) of ``rows`` (n, D), each including its own row.

    ``start`` (D,) is the level before the first row; by default the first row itself, so a
    sequence starts at its own level.
    """
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    if rows.shape[0] == 0:
        return rows.copy()
    before = rows[0] if start is None else np.asarray(start, dtype=np.float64)
    return _exponential_mean(rows, level_decay(steps), np.array(before, dtype=np.float64))


@njit(cache=True, nogil=True)
def _exponential_mean(rows, decay, before):
    """m_t = a m_(t-1) + (1 - a) x_t over ``rows`` (n, D) from m_(-1) = ``before`` (D,), in float64.

    Written here, not taken from ``scipy.signal.lfilter`` (which computes the same recursion, the same way):
    every training process and the study's Dask workers call this, and importing scipy.signal cost each of
    them 1 to 1.8 s. Numba is imported already (:mod:`antiphon.model.onset`); the first compiled call in a
    process costs about half a second, which training pays anyway for the engine's kernels that judge
    each epoch's answers (measured: ``antiphon train`` 2 s sooner on a tiny corpus)."""
    n, d = rows.shape
    out = np.empty((n, d))
    level = before.copy()
    for t in range(n):
        for j in range(d):
            level[j] = (1.0 - decay) * rows[t, j] + decay * level[j]
            out[t, j] = level[j]
    return out


#: the activity input is log10(mean step + ACTIVITY_FLOOR) + ACTIVITY_OFFSET (see the module docstring)
ACTIVITY_FLOOR = 1e-3
ACTIVITY_OFFSET = 2.0


def activity_input(mean_steps: np.ndarray | float) -> np.ndarray | float:
    """The model's activity input for mean absolute steps (in the rows' units): log10(A + floor) + offset."""
    return np.log10(np.asarray(mean_steps) + ACTIVITY_FLOOR) + ACTIVITY_OFFSET


def running_activity(rows: np.ndarray, steps: int) -> np.ndarray:
    """The activity input (n, D) of ``rows`` (n, D): :func:`activity_input` of the debiased running mean
    of the absolute steps up to each row, with time constant ``steps`` (a = exp(-1 / steps)); the first
    row's mean step is 0 (it has none)."""
    rows = np.asarray(rows, dtype=np.float64)
    means = np.zeros_like(rows)
    if rows.shape[0] > 1:
        averaged = running_level(np.abs(np.diff(rows, axis=0)), steps, start=np.zeros(rows.shape[1]))  # started at 0
        means[1:] = averaged / (1.0 - level_decay(steps) ** np.arange(1, rows.shape[0]))[:, None]  # debiased
    return activity_input(means)


def model_inputs(rows: np.ndarray, level_steps: int = 0, activity_steps: int = 0, onset_clock: int = 0) -> np.ndarray:
    """The model's input rows, float32: ``rows`` (n, D), then their running level where ``level_steps``
    is set, their activity where ``activity_steps`` is, and their onset clock (2 values,
    :mod:`antiphon.model.onset`) where ``onset_clock`` is: (n, :func:`input_width`)."""
    parts = [np.asarray(rows, dtype=np.float64)]
    if level_steps:
        parts.append(running_level(rows, level_steps))
    if activity_steps:
        parts.append(running_activity(rows, activity_steps))
    if onset_clock:
        parts.append(onset_inputs(rows, onset_clock))
    return np.concatenate(parts, axis=1).astype(np.float32)


def input_width(dimension: int, level_steps: int = 0, activity_steps: int = 0, onset_clock: int = 0) -> int:
    """Values per input row of a model of ``dimension`` D: the frame, its level and its activity where it sees
    them (D each), and its onset clock where it has one (:data:`ONSET_INPUTS`)."""
    return dimension * (1 + bool(level_steps) + bool(activity_steps)) + (ONSET_INPUTS if onset_clock else 0)
