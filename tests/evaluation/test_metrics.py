"""Known answers for every resemblance metric."""

from __future__ import annotations

import numpy as np
import pytest

from antiphon.evaluation import metrics

rng = np.random.default_rng(0)
T = np.arange(100) * 0.01
SLOW = np.stack([0.5 + 0.4 * np.sin(2 * np.pi * T), 0.5 + 0.4 * np.cos(3 * np.pi * T)], axis=1)  # (100, 2)


def test_identical_sequences_are_perfect():
    assert np.all(metrics.mae_per_feature(SLOW, SLOW) == 0)
    assert np.all(metrics.dtw_per_feature(SLOW, SLOW) == 0)
    assert np.all(metrics.wasserstein_per_feature(SLOW, SLOW) == 0)
    assert metrics.timing_distance(np.full(50, 0.01), np.full(50, 0.01)) == 0
    chroma = rng.random((30, 12))
    assert metrics.chroma_agreement(chroma, chroma) == (pytest.approx(1.0), True)
    score = metrics.resemblance(wasserstein=0.0, dtw=0.0, chroma_cosine=1.0, timing=0.0, novelty=1.0)
    assert score["score_percent"] == pytest.approx(100.0)


def test_a_shifted_copy_is_forgiven_by_dtw_not_by_mae():
    shifted = np.roll(SLOW, 8, axis=0)
    shifted[:8] = SLOW[0]  # held, as a late start would be
    mae = metrics.mae_per_feature(shifted, SLOW)
    dtw = metrics.dtw_per_feature(shifted, SLOW)
    assert np.all(mae > 0.05)
    assert np.all(dtw < mae / 4)


def test_dtw_matches_a_plain_dynamic_programme():
    a, b = rng.random((17, 2)), rng.random((23, 2))
    d = np.full((18, 24, 2), np.inf)
    d[0, 0] = 0
    for i in range(1, 18):
        for j in range(1, 24):
            d[i, j] = np.abs(a[i - 1] - b[j - 1]) + np.minimum(np.minimum(d[i - 1, j], d[i, j - 1]), d[i - 1, j - 1])
    np.testing.assert_allclose(metrics.dtw_per_feature(a, b), d[17, 23] / 23)


def test_wasserstein_and_timing_known_values():
    a = np.array([[0.0], [0.0], [1.0], [1.0]])
    b = np.array([[0.5], [0.5], [1.5], [1.5]])
    assert metrics.wasserstein_per_feature(a, b)[0] == pytest.approx(0.5)
    assert metrics.timing_distance(np.full(10, 0.02), np.full(10, 0.01)) == pytest.approx(1.0)  # off by one median step


def test_chroma_agreement():
    c = np.zeros((4, 12))
    c[:, 9] = 1.0
    d = np.zeros((4, 12))
    d[:, 2] = 1.0
    assert metrics.chroma_agreement(c, d) == (0.0, False)


def test_diversity():
    assert metrics.diversity([SLOW, SLOW]) == 0.0
    assert metrics.diversity([SLOW, SLOW + 0.1]) == pytest.approx(0.1)
    assert metrics.diversity([SLOW]) == 0.0


def test_novelty_flags_a_copy_of_a_training_window():
    training = [rng.random((500, 3)), rng.random((300, 3))]
    copy = training[1][120:170].copy()
    assert metrics.nearest_window_distance(copy, training) == pytest.approx(0.0, abs=1e-6)
    fresh = rng.random((50, 3))
    assert metrics.nearest_window_distance(fresh, training) > 0.2
    brute = min(np.sqrt(np.mean((seg[s : s + 50] - fresh) ** 2)) for seg in training for s in range(len(seg) - 49))
    assert metrics.nearest_window_distance(fresh, training) == pytest.approx(brute, rel=1e-6)
    penalised = metrics.resemblance(wasserstein=0.0, dtw=0.0, chroma_cosine=None, timing=0.0, novelty=0.0)
    assert penalised["score_percent"] == 0.0 and penalised["originality"] == 0.0


def test_sample_and_hold_grid():
    times = np.array([0.0, 0.1, 0.3])
    values = np.array([[1.0], [2.0], [3.0]])
    grid = np.array([0.0, 0.05, 0.1, 0.2, 0.35])
    np.testing.assert_array_equal(metrics.on_grid(times, values, grid)[:, 0], [1, 1, 2, 2, 3])
