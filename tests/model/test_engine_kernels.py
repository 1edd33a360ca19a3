"""The engine's compiled pieces against NumPy in double precision (the whole step against torch: test_engine.py)."""

from __future__ import annotations

import numpy as np
import pytest

from antiphon.model import engine_kernels as kernels


def test_tanh_is_within_4e_7_everywhere_and_never_past_one():
    x = np.linspace(-20.0, 20.0, 400_001).astype(np.float32)
    ours = np.array([kernels.tanh(v) for v in x[::97]] + [kernels.tanh(np.float32(v)) for v in (0.0, 1e-8, -7.9, 7.91, 1e4)])
    exact = np.tanh(np.r_[x[::97].astype(np.float64), 0.0, 1e-8, -7.9, 7.91, 1e4])
    assert np.abs(ours - exact).max() < 4e-7
    assert np.abs(ours).max() <= 1.0
    assert kernels.tanh(np.float32(0.0)) == 0.0 and kernels.tanh(np.float32(-1.0)) == -kernels.tanh(np.float32(1.0))


@pytest.mark.parametrize("n_reads", [1, 7, 105])  # the four-row loop, its remainder, and both
def test_product_is_the_transposed_matrix_times_the_vector(n_reads):
    rng = np.random.default_rng(n_reads)
    weights_t = rng.standard_normal((n_reads, 256)).astype(np.float32)
    x = rng.standard_normal(n_reads).astype(np.float32)
    out = np.full(256, np.nan, dtype=np.float32)
    kernels.product(weights_t, x, out)
    np.testing.assert_allclose(out, weights_t.astype(np.float64).T @ x, rtol=1e-5, atol=1e-5)


def test_the_cell_update_is_the_lstm_cell():
    rng = np.random.default_rng(2)
    h = 64
    g = (3.0 * rng.standard_normal(5 * h)).astype(np.float32)  # o, i, f, g pre-activations, then the cell
    pre = g.astype(np.float64)
    out = np.zeros(h, dtype=np.float32)
    kernels.cell_update(g, out)

    def sigmoid(v: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-v))

    o, i, f, cand, cell = sigmoid(pre[:h]), sigmoid(pre[h : 2 * h]), sigmoid(pre[2 * h : 3 * h]), np.tanh(pre[3 * h : 4 * h]), pre[4 * h :]
    new_cell = i * cand + f * cell
    np.testing.assert_allclose(g[4 * h :], new_cell, atol=2e-6)
    np.testing.assert_allclose(out, o * np.tanh(new_cell), atol=2e-6)
