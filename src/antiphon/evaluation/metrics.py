"""Resemblance metrics between a continuation and the real one, as pure functions (docs/evaluation.md).

Sequences are frames at times: ``times_s`` (N,) seconds from the end of the prompt and
``values`` (N, F) features normalised to [0, 1] by the corpus scaler (so that distances of
different features are comparable). Two sequences with different frame times are compared on a
common grid by holding each frame until the next (frames are instants of a stepwise signal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def on_grid(times_s: np.ndarray, values: np.ndarray, grid_s: np.ndarray) -> np.ndarray:
    """Sample-and-hold ``values`` (N, F) at ``grid_s`` (G,): the last frame at or before each time
    (the first frame before it begins). Returns (G, F)."""
    index = np.searchsorted(times_s, grid_s, side="right") - 1
    return values[np.clip(index, 0, len(times_s) - 1)]


def mae_per_feature(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute difference per feature of two (G, F) sequences on the same grid -> (F,)."""
    return np.mean(np.abs(a - b), axis=0)


def dtw_per_feature(a: np.ndarray, b: np.ndarray, band: int | None = None) -> np.ndarray:
    """Dynamic-time-warping distance per feature of two (G, F) sequences -> (F,).

    The cost of a step is |a_i - b_j|; the distance is the cheapest warping path's total cost
    divided by the longer length, so a right-but-early-or-late answer costs little (unlike MAE)
    and identical sequences cost 0. ``band`` limits |i - j| (Sakoe-Chiba; None: unlimited).
    Every cell of an anti-diagonal depends only on the two diagonals before it, so each diagonal
    is one vector operation (over its cells and all features) instead of a Python loop per cell.
    """
    n, m, f = a.shape[0], b.shape[0], a.shape[1]
    total = np.full((n + 1, m + 1, f), np.inf)
    total[0, 0] = 0.0
    for k in range(2, n + m + 1):
        i = np.arange(max(1, k - m), min(n, k - 1) + 1)
        j = k - i
        if band is not None:
            keep = np.abs(i - j) <= band
            i, j = i[keep], j[keep]
        if i.size == 0:
            continue
        best = np.minimum(np.minimum(total[i - 1, j], total[i, j - 1]), total[i - 1, j - 1])
        total[i, j] = np.abs(a[i - 1] - b[j - 1]) + best
    return total[n, m] / max(n, m)


def wasserstein_per_feature(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1-D Wasserstein (earth mover's) distance per feature between the values of (N, F) and (M, F) -> (F,)."""
    from scipy.stats import wasserstein_distance

    return np.array([wasserstein_distance(a[:, f], b[:, f]) for f in range(a.shape[1])])


def chroma_agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, bool]:
    """Cosine similarity of the mean chroma vectors (12 columns, >= 0) and whether their strongest class agrees."""
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    norms = np.linalg.norm(mean_a) * np.linalg.norm(mean_b)
    cosine = float(mean_a @ mean_b / norms) if norms > 0 else (1.0 if not mean_a.any() and not mean_b.any() else 0.0)
    return cosine, bool(np.argmax(mean_a) == np.argmax(mean_b))


def timing_distance(dt_a: np.ndarray, dt_b: np.ndarray) -> float:
    """Wasserstein distance between two sets of time steps, relative to the median of the second (the real one)."""
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(dt_a, dt_b) / max(float(np.median(dt_b)), 1e-9))


def diversity(continuations: list[np.ndarray]) -> float:
    """Mean absolute difference between every pair of continuations (each (G, F) on one grid); 0 for fewer than two."""
    pairs = [np.mean(np.abs(a - b)) for i, a in enumerate(continuations) for b in continuations[i + 1 :]]
    return float(np.mean(pairs)) if pairs else 0.0


def nearest_window_distance(sequence: np.ndarray, training: list[np.ndarray]) -> float:
    """RMS distance from ``sequence`` (W, F) to the closest window of W consecutive rows in any training
    segment (n_i, F): 0 means the sequence copies training data. Sliding sums make it O(n W F)."""
    w = sequence.shape[0]
    best = np.inf
    for segment in training:
        if segment.shape[0] < w:
            continue
        # sum over window of (x - s)^2 = sum x^2 - 2 sum x s + sum s^2, for every window start
        squares = np.cumsum(np.concatenate([np.zeros(1), (segment**2).sum(axis=1)]))
        window_squares = squares[w:] - squares[:-w]
        cross = sum(np.correlate(segment[:, f], sequence[:, f], mode="valid") for f in range(segment.shape[1]))
        distance = window_squares - 2 * cross + float((sequence**2).sum())
        best = min(best, float(np.maximum(distance, 0.0).min()))
    return float(np.sqrt(best / sequence.size)) if np.isfinite(best) else float("nan")


@dataclass(frozen=True)
class ScoreWeights:
    """How the components make the headline score (docs/evaluation.md)."""

    copy_threshold: float = 0.02  # RMS distance (normalised units) under which a continuation counts as copied


def resemblance(
    *, wasserstein: float, dtw: float, chroma_cosine: float | None, timing: float, novelty: float, weights: ScoreWeights = ScoreWeights()
) -> dict[str, float]:
    """The headline score (percent) and its parts, each in [0, 1] with 1 the best.

    distribution = 1 - mean Wasserstein; shape = 1 - mean DTW (both on [0, 1] values);
    chroma = cosine similarity of mean chroma (when the features have chroma); timing =
    exp(-relative dt distance). resemblance = their mean; copying = min(1, novelty /
    copy_threshold) multiplies it. score = 100 x resemblance x copying.
    """
    parts = {
        "distribution": float(np.clip(1.0 - wasserstein, 0.0, 1.0)),
        "shape": float(np.clip(1.0 - dtw, 0.0, 1.0)),
        "timing": float(np.exp(-timing)),
    }
    if chroma_cosine is not None:
        parts["chroma"] = float(np.clip(chroma_cosine, 0.0, 1.0))
    copying = float(min(1.0, novelty / weights.copy_threshold)) if np.isfinite(novelty) else 1.0
    value = float(np.mean(list(parts.values())))
    return {**parts, "resemblance": value, "originality": copying, "score_percent": 100.0 * value * copying}
