"""MDN maths against closed forms and an independent implementation."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from antiphon.config import PAPER_MODEL, ModelConfig
from antiphon.model.mdn import MDNHead, Tails, mdn_log_likelihood, mdn_marginals, mdn_nll
from antiphon.model.mdrnn import MDRNN
from antiphon.model.sampling import mixture_weights, sample_mixture

torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("d", [1, 5, 21])
def test_standard_normal_at_zero(d):
    mu, sigma, logits = torch.zeros(1, 1, d), torch.ones(1, 1, d), torch.zeros(1, 1)
    assert mdn_nll(mu, sigma, logits, torch.zeros(1, d)).item() == pytest.approx(d / 2 * math.log(2 * math.pi), rel=1e-6)


def test_loss_equals_torch_distributions_mixture():
    gen = torch.Generator().manual_seed(0)
    n, k, d = 300, 5, 21
    mu = torch.randn(n, k, d, generator=gen, dtype=torch.float64)
    sigma = torch.rand(n, k, d, generator=gen, dtype=torch.float64) * 2 + 0.01
    logits = torch.randn(n, k, generator=gen, dtype=torch.float64) * 3
    y = torch.randn(n, d, generator=gen, dtype=torch.float64)
    reference = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=logits),
        torch.distributions.Independent(torch.distributions.Normal(mu, sigma), 1),
    )
    expected = -reference.log_prob(y).mean()
    assert mdn_nll(mu, sigma, logits, y).item() == pytest.approx(expected.item(), rel=1e-5)
    np.testing.assert_allclose(mdn_log_likelihood(mu, sigma, logits, y).numpy(), reference.log_prob(y).numpy(), rtol=1e-10)


def test_heavier_tails_by_hand_and_their_bound():
    """Each value's density (1 - w) N(mu, sigma) + w N(mu, broad), per component, by hand with scipy; a value
    the narrow Gaussians call impossible costs what the broad one says, and w = 0 is the Gaussians."""
    from scipy import stats

    gen = torch.Generator().manual_seed(3)
    n, k, d, tails = 40, 3, 4, Tails(0.01, 2.5)
    mu = torch.rand(n, k, d, generator=gen, dtype=torch.float64) * 10
    sigma = torch.rand(n, k, d, generator=gen, dtype=torch.float64) * 0.5 + 0.01
    logits = torch.randn(n, k, generator=gen, dtype=torch.float64)
    y = torch.rand(n, d, generator=gen, dtype=torch.float64) * 10
    m, s, v = mu.numpy(), sigma.numpy(), y.numpy()[:, None]
    values = (1 - tails.weight) * stats.norm.pdf(v, m, s) + tails.weight * stats.norm.pdf(v, m, tails.broad)  # (n, k, d)
    weights = torch.softmax(logits, -1).numpy()
    expected = np.log((weights * values.prod(-1)).sum(-1))
    np.testing.assert_allclose(mdn_log_likelihood(mu, sigma, logits, y, tails).numpy(), expected, rtol=1e-9)
    marginal = np.log((weights[..., None] * values).sum(1))
    np.testing.assert_allclose(mdn_marginals(mu, sigma, logits, y, tails)[0].numpy(), marginal, rtol=1e-9)
    one, tiny = torch.zeros(1, 1, d, dtype=torch.float64), torch.full((1, 1, d), 1e-4, dtype=torch.float64)
    far = torch.full((1, d), 2.5, dtype=torch.float64)  # 25,000 narrow sigmas from the mean, one broad sigma
    assert -mdn_log_likelihood(one, tiny, torch.zeros(1, 1), far, tails).item() == pytest.approx(
        -d * stats.norm.logpdf(2.5, 0, 2.5) - d * math.log(0.01), rel=1e-9
    )
    assert -mdn_log_likelihood(one, tiny, torch.zeros(1, 1), far).item() > 1e8
    torch.testing.assert_close(mdn_log_likelihood(mu, sigma, logits, y, Tails(0.0, 2.5)), mdn_log_likelihood(mu, sigma, logits, y))


def test_a_stray_mean_is_pulled_back_by_the_broad_gaussian():
    """A mean far from its value (the narrow Gaussian's gradient underflows) still gets a gradient toward it."""
    mu = torch.full((1, 1, 1), 0.9, dtype=torch.float64, requires_grad=True)
    mdn_nll(
        mu, torch.full((1, 1, 1), 1e-3, dtype=torch.float64), torch.zeros(1, 1), torch.zeros(1, 1, dtype=torch.float64), Tails(0.001, 0.25)
    ).backward()
    assert mu.grad.item() == pytest.approx(0.9 / 0.25**2, rel=1e-6)


def test_the_model_spreads_its_tails_over_the_scaled_range():
    assert MDRNN(5, ModelConfig(size="xxs")).tails == Tails(0.001, 0.25)  # the default, at scale_factor 1
    assert MDRNN(5, ModelConfig(size="xxs"), value_range=10.0).tails == Tails(0.001, 2.5)
    assert MDRNN(5, ModelConfig(size="xxs", outlier_weight=0.0)).tails is None
    assert PAPER_MODEL.outlier_weight == 0.0


def test_scaling_by_ten_shifts_the_loss_by_d_ln_10():
    gen = torch.Generator().manual_seed(1)
    mu, sigma = torch.rand(50, 3, 21, generator=gen, dtype=torch.float64), torch.rand(50, 3, 21, generator=gen, dtype=torch.float64) + 0.1
    logits, y = torch.randn(50, 3, generator=gen, dtype=torch.float64), torch.rand(50, 21, generator=gen, dtype=torch.float64)
    shifted = mdn_nll(10 * mu, 10 * sigma, logits, 10 * y) - mdn_nll(mu, sigma, logits, y)
    assert shifted.item() == pytest.approx(21 * math.log(10), rel=1e-10)


def test_head_weights_sum_to_one_and_sigma_is_positive_even_for_huge_inputs():
    head = MDNHead(8, 4, 3)
    h = torch.tensor([[1e6] * 8, [-1e6] * 8, [0.0] * 8])
    mu, sigma, logits = head(h)
    assert mu.shape == (3, 3, 4) and sigma.shape == (3, 3, 4) and logits.shape == (3, 3)
    assert torch.all(sigma > 0) and torch.all(torch.isfinite(sigma))
    weights = torch.softmax(logits, dim=-1)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3))


def test_no_nan_for_tiny_sigma_or_large_values():
    mu = torch.zeros(4, 2, 3)
    sigma = torch.full((4, 2, 3), 1e-7)
    logits = torch.tensor([[1e4, -1e4]] * 4)
    y = torch.tensor([[0.0] * 3, [1e3] * 3, [-1e3] * 3, [1e-7] * 3])
    loss = mdn_nll(mu, sigma, logits, y)
    assert torch.isfinite(loss)
    mu.requires_grad_(True)
    mdn_nll(mu, sigma, logits, torch.zeros(4, 3)).backward()
    assert torch.all(torch.isfinite(mu.grad))


def test_sampling_statistics_match_the_parameters():
    rng = np.random.default_rng(0)
    mu = np.array([[0.0, 10.0], [50.0, -5.0]])
    sigma = np.array([[1.0, 2.0], [0.5, 0.1]])
    logits = np.log(np.array([0.3, 0.7]))
    draws = np.array([sample_mixture(mu, sigma, logits, rng) for _ in range(20000)])
    first = draws[:, 0] < 25.0  # the components are 50 sigmas apart in this column
    assert first.mean() == pytest.approx(0.3, abs=0.015)
    assert draws[first, 1].mean() == pytest.approx(10.0, abs=0.1) and draws[first, 1].std() == pytest.approx(2.0, rel=0.05)
    assert draws[~first, 1].mean() == pytest.approx(-5.0, abs=0.01) and draws[~first, 1].std() == pytest.approx(0.1, rel=0.05)


def test_temperatures():
    logits = np.array([0.0, 1.0, 2.0])
    assert mixture_weights(logits, 1.0) == pytest.approx(np.exp(logits) / np.exp(logits).sum())
    assert mixture_weights(logits, 0.01)[2] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    mu, sigma = np.array([[1.0, 2.0]] * 3), np.ones((3, 2))
    assert np.all(sample_mixture(mu, sigma, logits, rng, sigma_temperature=0.0) == [1.0, 2.0])
    wide = np.array([sample_mixture(mu, sigma, logits, rng, sigma_temperature=4.0) for _ in range(5000)])
    assert wide.std(axis=0) == pytest.approx([2.0, 2.0], rel=0.05)


def test_step_by_step_equals_full_sequence():
    torch.manual_seed(0)
    model = MDRNN(21, ModelConfig(size="xs", n_layers=2, n_mixtures=3)).eval()
    x = torch.rand(1, 30, model.input_size)  # the frame and its level (the default model)
    with torch.no_grad():
        (mu, sigma, logits), _ = model(x)
    state = None
    for t in range(30):
        (m, s, lg), state = model.step(x[0, t].numpy(), state)
        np.testing.assert_allclose(m, mu[0, t].numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(s, sigma[0, t].numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(lg, logits[0, t].numpy(), rtol=1e-5, atol=1e-6)


def test_keras_parameter_count_and_initialisation():
    torch.manual_seed(0)
    model = MDRNN(21, PAPER_MODEL)
    assert model.n_parameters() == 69015  # Keras's count for IMPSY's size-s model at dimension 21
    bias = model.lstm.bias_ih_l0.detach()
    assert torch.all(bias[64:128] == 1.0) and torch.all(bias[:64] == 0) and torch.all(bias[128:] == 0)
    assert not model.lstm.bias_hh_l0.requires_grad
    w = model.lstm.weight_hh_l0.detach()
    torch.testing.assert_close(w.T @ w, torch.eye(64), atol=1e-5, rtol=0)
    assert MDRNN(21, dataclasses.replace(PAPER_MODEL, init="torch")).n_parameters() == 69015 + 2 * 256
