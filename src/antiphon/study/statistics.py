"""Statistics for comparing configurations over seeds (paired design: seed s is the same
initial weights and batch order for every configuration).

Intervals: a t-interval (honest at few seeds) and a percentile bootstrap. Paired comparisons:
mean difference with its interval, paired t-test, Wilcoxon signed-rank, and the probability of
improvement; p-values over a family of comparisons are Holm-adjusted. Rank correlations
(Spearman, Kendall) carry a bootstrap interval.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean and the Student-t interval; one value gives a zero-width interval."""
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, mean, mean)
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return Interval(mean, mean - half, mean + half)


def bootstrap_interval(values: Sequence[float], confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0) -> Interval:
    """Mean and the percentile-bootstrap interval of the mean."""
    x = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, (n_resamples, x.size))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    return Interval(float(x.mean()), float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail)))


@dataclass(frozen=True)
class PairedComparison:
    """a - b over paired seeds: lower is better for losses."""

    mean_difference: Interval
    p_t: float
    p_wilcoxon: float
    probability_a_lower: float
    n: int


def paired_comparison(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> PairedComparison:
    """Compare two configurations on the same seeds (``a[i]`` and ``b[i]`` share seed i)."""
    from scipy import stats

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.size == 0:
        raise ValueError(f"paired comparison needs equal, non-empty samples, got {x.size} and {y.size}")
    difference = x - y
    if np.all(difference == 0):
        p_t = p_w = 1.0
    else:
        with warnings.catch_warnings():  # equal non-zero differences: t is infinite, p = 0, and scipy says so loudly
            warnings.simplefilter("ignore", RuntimeWarning)
            p_t = float(stats.ttest_rel(x, y).pvalue) if x.size > 1 else 1.0
            p_w = float(stats.wilcoxon(x, y).pvalue) if x.size > 1 else 1.0
    return PairedComparison(t_interval(difference, confidence), p_t, p_w, float(np.mean(x < y)), int(x.size))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order."""
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, (p.size - rank) * p[index])
        adjusted[index] = min(1.0, running)
    return adjusted.tolist()


def rank_correlation(
    x: Sequence[float], y: Sequence[float], n_resamples: int = 2000, seed: int = 0, groups: Sequence[Any] | None = None
) -> dict[str, float]:
    """Spearman's rho and Kendall's tau(-b) of paired values, each with a 95 % bootstrap interval.

    With ``groups`` (one label per pair, e.g. the configuration of each run) the bootstrap is a
    cluster bootstrap: it resamples whole groups, since pairs within a group are not independent
    (runs of one configuration differ only by seed); without, it resamples pairs. Resamples in
    which either variable is constant are left out.

    Written with NumPy rather than by calling scipy per resample (which took 2 s a call, most of
    a study report): a resample is a count per original pair, and both statistics of the
    resampled pairs are computed from the counts for all resamples at once (midranks for
    Spearman, concordant and tied pair counts for Kendall's tau-b). They equal scipy's
    ``spearmanr`` and ``kendalltau`` of the expanded samples (tested), with the same draws.
    """
    from scipy import stats

    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    rng = np.random.default_rng(seed)
    labels = list(range(a.size)) if groups is None else list(groups)
    names = list(dict.fromkeys(labels))
    group_of = np.array([names.index(label) for label in labels])
    out: dict[str, float] = {
        "spearman": float(stats.spearmanr(a, b).statistic),
        "kendall": float(stats.kendalltau(a, b).statistic),
    }
    for name, statistic in (("spearman", _weighted_spearman), ("kendall", _weighted_kendall)):
        drawn = rng.integers(0, len(names), (n_resamples, len(names)))  # the groups of each resample
        counts = np.stack([np.bincount(row, minlength=len(names)) for row in drawn])[:, group_of].astype(np.float64)
        samples = statistic(a, b, counts)
        samples = samples[np.isfinite(samples)]
        out[f"{name}_low"], out[f"{name}_high"] = (
            (float(np.percentile(samples, 2.5)), float(np.percentile(samples, 97.5))) if samples.size else (np.nan, np.nan)
        )
    return out


def _midranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(B, n): the midrank each original value takes in each resample, ``weights`` (B, n) copies of each."""
    below = (values[None, :] < values[:, None]).astype(np.float64)  # [i, j]: value j is below value i
    equal = (values[None, :] == values[:, None]).astype(np.float64)
    return weights @ below.T + (weights @ equal.T + 1.0) / 2.0


def _weighted_spearman(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Spearman's rho (B,) of each resample (NaN where a variable is constant in it)."""
    ra, rb = _midranks(a, weights), _midranks(b, weights)
    n = weights.sum(axis=1, keepdims=True)
    da = ra - (weights * ra).sum(axis=1, keepdims=True) / n
    db = rb - (weights * rb).sum(axis=1, keepdims=True) / n
    covariance = (weights * da * db).sum(axis=1)
    scale = np.sqrt((weights * da * da).sum(axis=1) * (weights * db * db).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 1e-12 * np.maximum(n[:, 0], 1.0) ** 3, covariance / scale, np.nan)


def _weighted_kendall(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Kendall's tau-b (B,) of each resample (NaN where a variable is constant in it)."""
    concordance = np.sign(a[:, None] - a[None, :]) * np.sign(b[:, None] - b[None, :])
    net = 0.5 * np.einsum("bi,ij,bj->b", weights, concordance, weights)  # concordant minus discordant pairs
    n = weights.sum(axis=1)
    pairs = n * (n - 1) / 2
    tied = [0.5 * (np.einsum("bi,ij,bj->b", weights, (v[:, None] == v[None, :]).astype(np.float64), weights) - n) for v in (a, b)]
    denominator = np.sqrt((pairs - tied[0]) * (pairs - tied[1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, net / denominator, np.nan)


def in_words(
    name_a: str, name_b: str, comparison: PairedComparison, adjusted_p: float, quantity: str = "validation loss", alpha: float = 0.05
) -> str:
    """One sentence a musician can read, e.g. 'A reaches a lower validation loss than B in 5 of 5 seeds ...'."""
    d = comparison.mean_difference
    wins = round(comparison.probability_a_lower * comparison.n)
    direction = "lower" if d.mean < 0 else "higher"
    verdict = "a real difference" if adjusted_p < alpha else "not distinguishable from chance"
    return (
        f"{name_a} reaches a {direction} {quantity} than {name_b} (mean difference {d.mean:+.2f}, 95 % interval "
        f"{d.low:+.2f} to {d.high:+.2f}; lower in {wins} of {comparison.n} seeds; Holm-adjusted p = {adjusted_p:.3g}): {verdict}."
    )


def partial_rank_correlation(x: Sequence[float], y: Sequence[float], control: Sequence[float]) -> float:
    """Spearman's rho of ``x`` and ``y`` with ``control`` held fixed: the Pearson correlation of
    their ranks after the linear effect of the control's ranks is removed from each (e.g.
    sharpness vs generalisation gap with the mean log sigma controlled). NaN for fewer than 4
    values or a constant residual."""
    from scipy import stats

    ranks = [stats.rankdata(np.asarray(v, dtype=np.float64)) for v in (x, y, control)]
    if ranks[0].size < 4:
        return float("nan")
    design = np.column_stack([np.ones_like(ranks[2]), ranks[2]])
    residuals = [r - design @ np.linalg.lstsq(design, r, rcond=None)[0] for r in ranks[:2]]
    if min(np.ptp(r) for r in residuals) < 1e-12:
        return float("nan")
    return float(np.corrcoef(residuals[0], residuals[1])[0, 1])
