"""Answers a model must beat, all in the same terms: ``n`` frames of features normalised to [0, 1].

Every function returns (n, F) rows following a prompt (P, F); the frames are at the corpus's
hop. Each stands for one way to fail: holding the last note (``repeat_last``), one constant frame
in the middle (``training_mean``), linear dynamics (``var_answer``, sampled), the right values in
no order (``iid_frames``, ``shuffled_real``) and copying (``nearest_neighbour``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from antiphon.evaluation.linear import LinearGaussian


def repeat_last(prompt: np.ndarray, n: int) -> np.ndarray:
    """The last prompt frame, ``n`` times."""
    return np.repeat(prompt[-1:], n, axis=0)


def training_mean(mean: np.ndarray, n: int) -> np.ndarray:
    """The mean training frame (F,), ``n`` times, whatever the prompt."""
    return np.repeat(mean[None], n, axis=0)


def var_answer(model: LinearGaussian, prompt: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A sample path of the VAR ``model`` from the prompt's last frames, clipped to [0, 1]."""
    d = prompt.shape[1]
    history = (
        prompt if prompt.shape[0] >= model.order else np.concatenate([np.repeat(prompt[:1], model.order - prompt.shape[0], axis=0), prompt])
    )
    return model.sample(history, n, rng, np.zeros(d), np.ones(d))


def iid_frames(pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` frames drawn independently from the training frames ``pool`` (R, F)."""
    return pool[rng.integers(0, pool.shape[0], n)]


def shuffled_real(real: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """The frames that really followed, in a random order: all of them once, then (if the real
    continuation is shorter than ``n``) drawn again at random. Right values, no dynamics."""
    order = rng.permutation(real.shape[0])
    if n > order.size:
        order = np.concatenate([order, rng.integers(0, real.shape[0], n - order.size)])
    return real[order[:n]]


def nearest_neighbour(prompt: np.ndarray, n: int, training: Sequence[np.ndarray], context: int = 20) -> np.ndarray:
    """What followed, in the training split, the window most like the prompt's last ``context`` frames
    (``n`` frames, the last one held where the segment ends): a copy of training data."""
    tail = prompt[-context:]
    w = tail.shape[0]
    best, where = np.inf, None
    for s, segment in enumerate(training):
        if segment.shape[0] <= w:
            continue
        squares = np.cumsum(np.concatenate([np.zeros(1), (segment**2).sum(axis=1)]))
        cross = sum(np.correlate(segment[:, f], tail[:, f], mode="valid") for f in range(segment.shape[1]))
        distance = ((squares[w:] - squares[:-w]) - 2 * cross + float((tail**2).sum()))[:-1]  # something must follow
        i = int(np.argmin(distance))
        if distance[i] < best:
            best, where = float(distance[i]), (s, i + w)
    if where is None:
        return repeat_last(prompt, n)
    rows = training[where[0]][where[1] : where[1] + n]
    return np.concatenate([rows, np.repeat(rows[-1:], n - rows.shape[0], axis=0)]) if rows.shape[0] < n else rows
