"""Continuations a model must beat, all in the same terms: rows of [dt_s, features in [0, 1]].

Each baseline takes the prompt (P, 1 + F) and returns rows until ``horizon_s`` is covered.
"""

from __future__ import annotations

import numpy as np


def steps_to_cover(dt_s: float, horizon_s: float) -> int:
    return max(1, int(np.ceil(horizon_s / max(dt_s, 1e-6))))


def repeat_last(prompt: np.ndarray, horizon_s: float) -> np.ndarray:
    """The last prompt frame, again and again, at the prompt's last time step."""
    return np.repeat(prompt[-1:], steps_to_cover(prompt[-1, 0], horizon_s), axis=0)


def random_walk(prompt: np.ndarray, horizon_s: float, step_std: np.ndarray, dt_s: float, rng: np.random.Generator) -> np.ndarray:
    """From the last prompt frame, Gaussian steps with the training split's per-feature step spread, clipped to [0, 1]."""
    n = steps_to_cover(dt_s, horizon_s)
    steps = rng.standard_normal((n, step_std.size)) * step_std
    values = np.clip(prompt[-1, 1:] + np.cumsum(steps, axis=0), 0.0, 1.0)
    return np.concatenate([np.full((n, 1), dt_s), values], axis=1)


def nearest_neighbour(prompt: np.ndarray, horizon_s: float, training: list[np.ndarray], context: int = 20) -> np.ndarray:
    """What followed, in the training split, the window most like the prompt's last ``context`` rows."""
    tail = prompt[-context:, 1:]
    w = tail.shape[0]
    best, where = np.inf, None
    for s, segment in enumerate(training):
        if segment.shape[0] <= w:
            continue
        features = segment[:, 1:]
        squares = np.cumsum(np.concatenate([np.zeros(1), (features**2).sum(axis=1)]))
        cross = sum(np.correlate(features[:, f], tail[:, f], mode="valid") for f in range(features.shape[1]))
        distance = (squares[w:] - squares[:-w]) - 2 * cross + float((tail**2).sum())
        distance = distance[:-1]  # a window must have something after it
        i = int(np.argmin(distance))
        if distance[i] < best:
            best, where = float(distance[i]), (s, i + w)
    if where is None:
        return repeat_last(prompt, horizon_s)
    segment, start = training[where[0]], where[1]
    rows = segment[start:]
    covered = np.searchsorted(np.cumsum(rows[:, 0]), horizon_s) + 1
    return rows[:covered]


def step_statistics(training: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """Per-feature standard deviation of one-frame steps, and the median dt, of the training rows."""
    steps = np.concatenate([np.diff(segment[:, 1:], axis=0) for segment in training if segment.shape[0] > 1])
    dts = np.concatenate([segment[:, 0] for segment in training])
    return steps.std(axis=0), float(np.median(dts))
