"""Measures of free-running answers, as pure functions (docs/evaluation.md).

A sequence is ``values`` (N, F): features normalised to [0, 1] by the model's scaler (on the linear scale), one row
per frame, with frame times ``times_s`` (N,) counted from the end of the prompt (the first answer
frame is at one time step). None of these measures is a distance to the one real future except
the energy score, which is proper: in expectation only the true predictive distribution
minimises it, so neither hedging to the middle nor a frozen note pays.

- :func:`energy_scores`: the energy score of forecast ensembles, lower is better.
- realism and autocorrelation: :class:`DescriptorReference` and :func:`mmd_blocks` give the
  squared maximum mean discrepancy (RBF kernel, median-heuristic bandwidth) between the
  distribution of descriptors of generated sequences and that of held-out real ones: for realism
  the windows' :func:`window_descriptors` (per feature mean, spread and mean step), for dynamics
  the answers' :func:`acf_profiles` (autocorrelation at several lags) and :func:`step_profiles`
  (quantiles of the log step sizes).
- novelty: :func:`nearest_window_distance` to the closest training window.
- intervals: :func:`bootstrap_counts` resamples prompts; every statistic is computed from counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: the measures' definitions, for caches of measured results (a study's runs): raised when one changes
#: (2: autocorrelation as MMD^2 between profiles' distributions, not a distance to the average profile;
#: 3: step sizes the same way, not a distance from each answer's steps to the pooled real ones)
VERSION = 3
#: a feature whose values move less than this over an answer is constant (its autocorrelation is taken as 1)
CONSTANT_SPREAD = 1e-9
#: steps below this (normalised units) count as no change in :func:`log_steps`
STEP_FLOOR = 1e-3
#: the quantiles of a passage's log step sizes, per feature, that make its :func:`step_profiles`
STEP_QUANTILES = (0.1, 0.5, 0.9)


def frame_at(times_s: np.ndarray, values: np.ndarray, lead_s: float, tolerance_s: float = 1e-6) -> np.ndarray | None:
    """The first frame at or after ``lead_s`` (F,), or None when the sequence ends before it."""
    index = int(np.searchsorted(times_s, lead_s - tolerance_s, side="left"))
    return values[index] if index < len(times_s) else None


def energy_scores(observations: np.ndarray, ensembles: np.ndarray) -> np.ndarray:
    """Energy score of each ensemble: observations (P, F), ensembles (P, M, F) -> (P,).

    ES = mean_m ||x_m - y|| - 1/2 mean_{m,m'} ||x_m - x_m'|| (Gneiting & Raftery 2007, the "nrg"
    estimator); a single member (M = 1) is a point forecast and scores its plain distance.
    Written here rather than taken from ``scoringrules`` (the tests check it against
    ``scoringrules.es_ensemble``): with numba installed, importing scoringrules compiles its
    kernels, 11 s per process measured, longer than a whole study run's evaluation.
    """
    x = np.asarray(ensembles, dtype=np.float64)
    y = np.asarray(observations, dtype=np.float64)
    skill = np.linalg.norm(x - y[:, None], axis=-1).mean(axis=-1)
    spread = np.linalg.norm(x[:, :, None] - x[:, None], axis=-1).mean(axis=(-2, -1))
    return skill - 0.5 * spread


# --------------------------------------------------------------------------------------------
# Realism


def window_descriptors(values: np.ndarray, window: int) -> np.ndarray:
    """Per non-overlapping window of ``window`` rows: each feature's mean, standard deviation and mean
    absolute step -> (W, 3F); W = 0 for a sequence shorter than one window."""
    n = values.shape[0] // window
    if n == 0:
        return np.empty((0, 3 * values.shape[1]))
    chunks = values[: n * window].reshape(n, window, values.shape[1])
    steps = np.abs(np.diff(chunks, axis=1)).mean(axis=1)
    return np.concatenate([chunks.mean(axis=1), chunks.std(axis=1), steps], axis=1)


@dataclass(frozen=True)
class DescriptorReference:
    """Descriptors of held-out real music, the standardisation fitted on them, and the kernel bandwidth."""

    descriptors: np.ndarray  # (R, k), standardised
    centre: np.ndarray
    scale: np.ndarray
    bandwidth: float

    @classmethod
    def fit(cls, raw: np.ndarray, what: str = "descriptors", per_dimension: bool = True) -> DescriptorReference:
        """From raw descriptors (R, k) of real music (``what`` names them in the error), each dimension
        scaled to the reference's unit spread, or with ``per_dimension=False`` all left in their one
        common unit (for descriptors that share one, such as decades of step size: a dimension
        where real passages hardly differ would otherwise count as much as one where they differ
        widely). Raises ValueError when there are fewer than two."""
        if raw.shape[0] < 2:
            raise ValueError(f"the reference holds {raw.shape[0]} {what}; the measure needs at least 2")
        centre, scale = raw.mean(axis=0), raw.std(axis=0) if per_dimension else np.ones(raw.shape[1])
        scale = np.where(scale > 1e-9, scale, 1.0)
        standard = (raw - centre) / scale
        distances = np.sqrt(((standard[:, None] - standard[None]) ** 2).sum(-1))
        bandwidth = float(np.median(distances[np.triu_indices(len(standard), 1)]))
        return cls(standard, centre, scale, bandwidth if bandwidth > 0 else 1.0)

    def standardise(self, descriptors: np.ndarray) -> np.ndarray:
        return (descriptors - self.centre) / self.scale

    def kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """RBF kernel matrix exp(-|a - b|^2 / (2 h^2)) of standardised descriptors (n, k), (m, k)."""
        squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2 * a @ b.T
        return np.exp(-np.maximum(squared, 0.0) / (2 * self.bandwidth**2))


@dataclass(frozen=True)
class MMDBlocks:
    """Kernel sums by prompt, so MMD^2 of any resample of prompts costs a few products.

    ``within`` (P, P): sum of k over descriptor pairs of prompts i and j; ``cross`` (P,): sum over
    prompt i's descriptors of the mean k to the reference; ``reference`` the mean k within the
    reference; ``counts`` (P,) descriptors per prompt.
    """

    within: np.ndarray
    cross: np.ndarray
    reference: float
    counts: np.ndarray

    def mmd2(self, weights: np.ndarray) -> np.ndarray:
        """Squared MMD (biased V-statistic, >= 0) for prompt counts ``weights`` (B, P) -> (B,); NaN for
        a resample that holds none of these prompts."""
        total = weights @ self.counts
        with np.errstate(invalid="ignore", divide="ignore"):
            within = np.einsum("bi,ij,bj->b", weights, self.within, weights) / total**2
            return np.maximum(within - 2 * (weights @ self.cross) / total + self.reference, 0.0)


def mmd_blocks(descriptors: Sequence[np.ndarray], reference: DescriptorReference) -> MMDBlocks:
    """Blocks from each prompt's answers' raw descriptors (d_i, k), d_i >= 1."""
    standard = [reference.standardise(d) for d in descriptors]
    owner = np.concatenate([np.full(len(d), i) for i, d in enumerate(standard)])
    stacked = np.concatenate(standard)
    gram = reference.kernel(stacked, stacked)
    n = len(standard)
    indicator = np.zeros((n, len(owner)))
    indicator[owner, np.arange(len(owner))] = 1.0
    within = indicator @ gram @ indicator.T
    cross = indicator @ reference.kernel(stacked, reference.descriptors).mean(axis=1)
    ref = float(reference.kernel(reference.descriptors, reference.descriptors).mean())
    return MMDBlocks(within, cross, ref, indicator.sum(axis=1))


# --------------------------------------------------------------------------------------------
# Dynamics


def log_steps(values: np.ndarray) -> np.ndarray:
    """Step sizes of a sequence (N, F) as log10(|dx| + STEP_FLOOR) -> (N - 1, F)."""
    return np.log10(np.abs(np.diff(values, axis=0)) + STEP_FLOOR)


def step_profiles(values: np.ndarray, length: int, stride: int | None = None) -> np.ndarray:
    """Step-size profiles of the chunks of ``length`` rows starting every ``stride`` rows (by default
    ``length``: non-overlapping) -> (W, Q F): per feature, the :data:`STEP_QUANTILES` of the chunk's
    :func:`log_steps` (decades), flattened feature by feature; W = 0 for a sequence shorter than
    ``length``.

    A passage's own profile, judged as a distribution (MMD^2 against real passages'), as
    autocorrelation is: real passages differ in how far they move -- a held chord or a pause
    hardly at all, a run of notes far -- and a distance from each answer's steps to the real
    steps pooled ranked a generator that always moves the average amount ahead of real music,
    and a real pause's true continuation last (docs/evaluation.md)."""
    return _chunk_profiles(values, length, stride, lambda chunk: np.quantile(log_steps(chunk), STEP_QUANTILES, axis=0).T.ravel())


def _chunk_profiles(values: np.ndarray, length: int, stride: int | None, profile) -> np.ndarray:
    """``profile(chunk)`` (a 1-D array of P values) of every chunk of ``length`` rows starting every
    ``stride`` rows -> (W, P); (0, P) when no chunk fits (P from a chunk of zeros)."""
    starts = range(0, values.shape[0] - length + 1, stride or length)
    profiles = [profile(values[k : k + length]) for k in starts]
    if profiles:
        return np.array(profiles)
    return np.empty((0, profile(np.zeros((max(length, 2), values.shape[1]))).size))


def autocorrelation(values: np.ndarray, lags: Sequence[int]) -> np.ndarray:
    """Sample autocorrelation (biased estimator) of each feature at ``lags`` -> (L, F); NaN where a
    lag is not shorter than the sequence; 1 for a feature that does not move (a constant is
    perfectly predictable from its past)."""
    centred = values - values.mean(axis=0)
    power = (centred**2).sum(axis=0)
    moving = np.ptp(values, axis=0) > CONSTANT_SPREAD
    out = np.full((len(lags), values.shape[1]), np.nan)
    for i, lag in enumerate(lags):
        if lag < values.shape[0]:
            products = (centred[lag:] * centred[:-lag]).sum(axis=0)
            out[i] = np.where(moving, products / np.where(moving, power, 1.0), 1.0)
    return out


def acf_profiles(values: np.ndarray, lags: Sequence[int], length: int, stride: int | None = None) -> np.ndarray:
    """Autocorrelation profiles of the chunks of ``length`` rows starting every ``stride`` rows (by
    default ``length``: non-overlapping) -> (W, L F), each row :func:`autocorrelation` at ``lags``
    flattened; W = 0 for a sequence shorter than ``length``."""
    return _chunk_profiles(values, length, stride, lambda chunk: autocorrelation(chunk, lags).ravel())


# --------------------------------------------------------------------------------------------
# Novelty


def nearest_window_distance(sequence: np.ndarray, training: Sequence[np.ndarray]) -> float:
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


# --------------------------------------------------------------------------------------------
# Intervals


def bootstrap_counts(n_prompts: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """How often each prompt is drawn in each resample (with replacement): (B, P) counts summing to P."""
    return rng.multinomial(n_prompts, np.full(n_prompts, 1.0 / n_prompts), size=n_resamples).astype(np.float64)


def weighted_means(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per resample the mean of per-prompt ``values`` (P,) over the prompts drawn -> (B,); NaN prompts are left out."""
    finite = np.isfinite(values)
    weights = counts * finite
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, weights @ np.where(finite, values, 0.0) / np.where(total > 0, total, 1.0), np.nan)


def percentile_interval(samples: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The central ``confidence`` interval of bootstrap ``samples`` (NaNs left out)."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    return float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail))


def verdict(differences: np.ndarray, lower_is_better: bool = True) -> str:
    """'beats', 'loses' or 'ties' from bootstrap samples of (model - baseline): beats when the whole
    95 % interval favours the model, loses when it all favours the baseline."""
    low, high = percentile_interval(differences)
    if not np.isfinite(low):
        return "n/a"
    better_low, better_high = (low, high) if lower_is_better else (-high, -low)
    if better_high < 0:
        return "beats"
    if better_low > 0:
        return "loses"
    return "ties"
