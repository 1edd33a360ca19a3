"""Statistics with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from antiphon.study import statistics as st


def test_t_interval_matches_the_formula():
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    interval = st.t_interval(x)
    half = scipy_stats.t.ppf(0.975, 4) * np.std(x, ddof=1) / np.sqrt(5)
    assert (interval.mean, interval.low, interval.high) == pytest.approx((3.0, 3.0 - half, 3.0 + half))
    assert st.t_interval([2.0]) == st.Interval(2.0, 2.0, 2.0)


def test_bootstrap_interval_contains_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small, large = st.bootstrap_interval(rng.normal(0, 1, 10)), st.bootstrap_interval(rng.normal(0, 1, 1000))
    assert small.low < small.mean < small.high and large.high - large.low < small.high - small.low


def test_holm_known_example():
    # p = (0.01, 0.04, 0.03, 0.005): sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 -> 0.02, 0.03, 0.06, 0.06 (monotone)
    assert st.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert st.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_paired_comparison():
    same = st.paired_comparison([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert same.p_t == 1.0 and same.mean_difference.mean == 0.0
    a = [-80.1, -79.5, -81.0, -80.7, -79.9, -80.3, -80.8, -79.7]
    b = [-62.0, -61.4, -63.1, -62.5, -60.9, -62.2, -61.8, -62.7]
    better = st.paired_comparison(a, b)
    assert better.p_t < 1e-6 and better.probability_a_lower == 1.0 and better.mean_difference.high < 0
    sentence = st.in_words("Adam 5e-5", "Adam 1e-3", better, st.holm([better.p_t])[0])
    assert sentence.startswith("Adam 5e-5 reaches a lower validation loss than Adam 1e-3") and "8 of 8 seeds" in sentence
    assert "a real difference" in sentence
    with pytest.raises(ValueError):
        st.paired_comparison([1.0], [1.0, 2.0])


def test_rank_correlation():
    x = np.arange(10.0)
    perfect = st.rank_correlation(x, x**3)
    assert perfect["spearman"] == pytest.approx(1.0) and perfect["kendall"] == pytest.approx(1.0)
    reverse = st.rank_correlation(x, -x)
    assert reverse["spearman"] == pytest.approx(-1.0)


def test_partial_rank_correlation_removes_a_shared_cause():
    rng = np.random.default_rng(0)
    sigma = rng.normal(size=200)  # the confound: both quantities follow it
    sharp = sigma + 0.3 * rng.normal(size=200)
    gap = sigma + 0.3 * rng.normal(size=200)
    assert scipy_stats.spearmanr(sharp, gap).statistic > 0.8
    assert abs(st.partial_rank_correlation(sharp, gap, sigma)) < 0.15
    linked = gap + 2.0 * (sharp - sigma)  # a real link beyond the confound survives
    assert st.partial_rank_correlation(sharp, linked, sigma) > 0.5
    assert np.isnan(st.partial_rank_correlation([1, 2, 3], [1, 2, 3], [3, 2, 1]))


def test_the_cluster_bootstrap_resamples_configurations_not_runs():
    """Five configurations, each run 4 times with the same numbers: 20 runs carry 5 pieces of evidence.
    Resampling runs pretends 20 and gives a narrow interval; resampling configurations does not."""
    x5, y5 = np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([2.0, 1.0, 4.0, 5.0, 3.0])  # rho 0.6: room for an interval
    x, y = np.repeat(x5, 4), np.repeat(y5, 4)
    groups = np.repeat(np.arange(5), 4).tolist()
    runs = st.rank_correlation(x, y, seed=1)
    clusters = st.rank_correlation(x, y, seed=1, groups=groups)
    assert runs["spearman"] == clusters["spearman"]  # the estimate is the same; only its interval differs
    assert clusters["spearman_high"] - clusters["spearman_low"] > 1.3 * (runs["spearman_high"] - runs["spearman_low"])


def test_the_vectorised_bootstrap_statistics_are_scipys_on_the_resampled_pairs():
    """Each resample is a count per pair; its rho and tau-b equal scipy's on the pairs repeated that often."""
    from scipy import stats

    from antiphon.study.statistics import _weighted_kendall, _weighted_spearman

    rng = np.random.default_rng(3)
    a, b = np.round(rng.normal(size=9), 1), np.round(rng.normal(size=9), 1)  # rounded: ties in both
    counts = rng.integers(0, 3, (40, 9)).astype(float)
    counts[0] = [1, 1, 0, 0, 0, 0, 0, 0, 0]
    b[1] = b[0]  # resample 0: b is constant -> NaN, left out of the interval
    rho, tau = _weighted_spearman(a, b, counts), _weighted_kendall(a, b, counts)
    assert np.isnan(rho[0]) and np.isnan(tau[0])
    for row in range(1, 40):
        pick = np.repeat(np.arange(9), counts[row].astype(int))
        if np.ptp(a[pick]) == 0 or np.ptp(b[pick]) == 0:
            assert np.isnan(rho[row]) and np.isnan(tau[row])
            continue
        assert rho[row] == pytest.approx(stats.spearmanr(a[pick], b[pick]).statistic, abs=1e-12)
        assert tau[row] == pytest.approx(stats.kendalltau(a[pick], b[pick]).statistic, abs=1e-12)
