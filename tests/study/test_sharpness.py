"""Sharpness measures on a quadratic whose Hessian is known, and on a real MDRNN."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from antiphon.study import sharpness

A = torch.tensor([[5.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 1.0]], dtype=torch.float64)
EIGENVALUES = np.linalg.eigvalsh(A.numpy())


def quadratic(theta: torch.Tensor, a: torch.Tensor = A):
    return lambda: 0.5 * theta @ a @ theta


def test_hessian_vector_product_is_a_times_v():
    theta = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    v = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64)
    (hv,) = sharpness.hessian_vector_product(quadratic(theta), [theta], [v])
    torch.testing.assert_close(hv, A @ v)


def test_both_ends_of_a_known_spectrum():
    theta = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    spectrum = sharpness.extreme_eigenvalues(quadratic(theta), [theta], tolerance=1e-10)
    assert spectrum.largest == pytest.approx(EIGENVALUES.max(), rel=1e-8) and spectrum.top == spectrum.largest
    assert spectrum.smallest == pytest.approx(EIGENVALUES.min(), rel=1e-8)
    negative = -torch.diag(torch.tensor([1.0, 4.0, 2.0], dtype=torch.float64))
    spectrum = sharpness.extreme_eigenvalues(quadratic(theta, negative), [theta], tolerance=1e-10)
    assert spectrum.top == pytest.approx(-4.0, rel=1e-8)  # the largest |lambda|, with its sign
    assert spectrum.largest == pytest.approx(-1.0, rel=1e-8)


def test_a_saddle_with_equal_and_opposite_ends_is_not_misread():
    """diag(3, -3, 1): power iteration stopped on a stalled Rayleigh quotient returned 2.79, no eigenvalue at all."""
    theta = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    saddle = torch.diag(torch.tensor([3.0, -3.0, 1.0], dtype=torch.float64))
    spectrum = sharpness.extreme_eigenvalues(quadratic(theta, saddle), [theta], tolerance=1e-10)
    assert spectrum.largest == pytest.approx(3.0, rel=1e-8) and spectrum.smallest == pytest.approx(-3.0, rel=1e-8)
    assert spectrum.residual_largest < 1e-8 and spectrum.residual_smallest < 1e-8


def test_epsilon_sharpness_of_a_diagonal_quadratic():
    d = torch.tensor([4.0, 1.0, 0.25], dtype=torch.float64)
    theta = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    loss = lambda: 0.5 * (d * theta * theta).sum() + 1.0
    result = sharpness.epsilon_sharpness(loss, [theta], epsilon=1e-2, steps=10)
    assert result["delta"] == pytest.approx(0.5 * 1e-4 * float(d.sum()), rel=1e-9)  # the box corner: 1/2 eps^2 tr(D)
    assert result["loss"] == 1.0 and torch.all(theta == 0)  # parameters restored


def test_loss_slice_and_filter_normalisation():
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([1.0, -1.0], dtype=torch.float64, requires_grad=True)
    direction = sharpness.filter_normalised_direction([w, b], seed=3)
    torch.testing.assert_close(direction[0].norm(dim=1), w.detach().norm(dim=1))
    assert torch.all(direction[1] == 0)
    loss = lambda: 0.5 * (w * w).sum() + (b * b).sum()
    values = sharpness.loss_slice(loss, [w, b], direction, [-1.0, 0.0, 1.0])
    curvature = float((direction[0] * direction[0]).sum())
    base = loss().item()
    linear = float((w.detach() * direction[0]).sum())
    assert values == pytest.approx([base - linear + 0.5 * curvature, base, base + linear + 0.5 * curvature])


def test_on_an_mdrnn_the_hessian_vector_product_matches_finite_differences():
    from antiphon.config import ModelConfig
    from antiphon.model.mdn import mdn_nll
    from antiphon.model.mdrnn import MDRNN

    torch.manual_seed(0)
    model = MDRNN(4, ModelConfig(size="xxs", n_mixtures=2)).double()
    x = torch.rand(8, 12, model.input_size, dtype=torch.float64)  # frames (4) and their running level
    params = [p for p in model.parameters() if p.requires_grad]

    def loss():
        with torch.backends.mkldnn.flags(enabled=False):  # double backward through the LSTM, as the study runs it
            (mu, sigma, logits), _ = model(x[:, :-1])
            return mdn_nll(mu, sigma, logits, x[:, 1:, :4])

    generator = torch.Generator().manual_seed(1)
    u = [torch.randn(p.shape, generator=generator, dtype=torch.float64) for p in params]
    norm = torch.sqrt(sum((v * v).sum() for v in u))
    u = [v / norm for v in u]
    curvature = float(sum((h * v).sum() for h, v in zip(sharpness.hessian_vector_product(loss, params, u), u)))
    h = 1e-4
    f_plus, f_zero, f_minus = sharpness.loss_slice(loss, params, u, [h, 0.0, -h])
    assert curvature == pytest.approx((f_plus - 2 * f_zero + f_minus) / h**2, rel=1e-4)
    spectrum = sharpness.extreme_eigenvalues(loss, params, tolerance=1e-6, max_restarts=50)
    assert spectrum.smallest <= curvature <= spectrum.largest  # the ends bound every direction's curvature
    assert spectrum.residual_largest < 1e-3 and spectrum.residual_smallest < 1e-3


def test_an_end_that_did_not_converge_is_unknown_not_copied():
    nan = float("nan")
    assert sharpness.Spectrum(5.0, nan, 1e-9, nan, 12).top == 5.0
    assert sharpness.Spectrum(nan, -7.0, nan, 1e-9, 12).top == -7.0
    assert sharpness.Spectrum(5.0, -7.0, 1e-9, 1e-9, 12).top == -7.0
    assert np.isnan(sharpness.Spectrum(nan, nan, nan, nan, 12).top)
