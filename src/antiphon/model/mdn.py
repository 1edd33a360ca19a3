"""The mixture density head and its loss (keras-mdn-layer's maths, in PyTorch).

Per step the head outputs K*D means, K*D sigmas and K mixture logits (component-major, as
keras-mdn-layer lays them out): mu linear, sigma = elu(x) + 1 + sigma_floor, logits raw.

With :class:`Tails` each component's density of every value is (1 - weight) N(mu, sigma) +
weight N(mu, broad): heavier tails, so a jump the Gaussians call impossible costs a few nats, not
hundreds (``model.outlier_weight``; docs/model.md, round 18).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F


class MDNHead(nn.Module):
    """Linear layer from the LSTM output to mixture parameters for ``dimension`` values."""

    def __init__(self, n_inputs: int, dimension: int, n_mixtures: int, sigma_floor: float = 1e-7) -> None:
        super().__init__()
        self.dimension, self.n_mixtures, self.sigma_floor = dimension, n_mixtures, sigma_floor
        self.linear = nn.Linear(n_inputs, 2 * n_mixtures * dimension + n_mixtures)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """h (..., H) -> mu (..., K, D), sigma (..., K, D), logits (..., K)."""
        k, d = self.n_mixtures, self.dimension
        # split, not slices: its gradient is one concatenation, where each slice's would zero-fill a
        # tensor of the whole output (1.4 ms of a 24 ms training batch of the paper's model)
        mu, sigma, logits = self.linear(h).split([k * d, k * d, k], dim=-1)
        return mu.unflatten(-1, (k, d)), F.elu(sigma).unflatten(-1, (k, d)) + 1.0 + self.sigma_floor, logits


class Tails(NamedTuple):
    """Each value's density is (1 - ``weight``) N(mu, sigma) + ``weight`` N(mu, ``broad``): ``broad`` in the
    data's units (the model's is a quarter of the values' range, :data:`BROAD_SHARE`).

    A broad Gaussian around the same mean and not a uniform floor: under a floor a feature whose
    Gaussians strayed from its values got no gradient back, and one training stayed so (a seed whose
    slope sat 79 % of the time in the floor, its loss 10 nats per step worse; round 18)."""

    weight: float
    broad: float


#: the broad Gaussian's sigma, as a share of the values' range: a value a whole range from the mean costs
#: -log(weight) + 8.5 nats, one a tenth of it away -log(weight) - 0.3
BROAD_SHARE = 0.25


def _log_values(mu: torch.Tensor, sigma: torch.Tensor, y: torch.Tensor, tails: Tails | None) -> torch.Tensor:
    """log density of each value under each component: (..., K, D)."""
    gap = y.unsqueeze(-2) - mu
    z = gap / sigma
    log_normal = -0.5 * math.log(2 * math.pi) - torch.log(sigma) - 0.5 * z * z
    if tails is None or tails.weight == 0:
        return log_normal
    broad = math.log(tails.weight) - 0.5 * math.log(2 * math.pi) - math.log(tails.broad) - 0.5 * (gap / tails.broad) ** 2
    return torch.logaddexp(math.log1p(-tails.weight) + log_normal, broad)


def mdn_log_likelihood(
    mu: torch.Tensor, sigma: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, tails: Tails | None = None
) -> torch.Tensor:
    """log p(y) under the mixture, per step: mu, sigma (..., K, D), logits (..., K), y (..., D) -> (...,).

    log p = logsumexp_k [log softmax(logits)_k - D/2 log 2 pi - sum_d log sigma_kd - 1/2 sum_d z_kd^2],
    z = (y - mu) / sigma: summed over the D dimensions, never averaged over them (with ``tails``,
    each value's term is that of :class:`Tails`).
    """
    if tails is None or tails.weight == 0:
        z = (y.unsqueeze(-2) - mu) / sigma
        log_components = -0.5 * mu.shape[-1] * math.log(2 * math.pi) - torch.log(sigma).sum(-1) - 0.5 * (z * z).sum(-1)  # (..., K)
    else:
        log_components = _log_values(mu, sigma, y, tails).sum(-1)
    return torch.logsumexp(torch.log_softmax(logits, dim=-1) + log_components, dim=-1)


def mdn_nll(mu: torch.Tensor, sigma: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, tails: Tails | None = None) -> torch.Tensor:
    """The training loss: negative log-likelihood averaged over every step (batch x time), in nats."""
    return -mdn_log_likelihood(mu, sigma, logits, y, tails).mean()


def mdn_marginals(
    mu: torch.Tensor, sigma: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, tails: Tails | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per dimension: the log-likelihood of y_d under the mixture's marginal, and the mixture mean.

    mu, sigma (..., K, D), logits (..., K), y (..., D) -> (log p_d (..., D), mean (..., D)).
    """
    log_weights = torch.log_softmax(logits, dim=-1).unsqueeze(-1)  # (..., K, 1)
    mean = (log_weights.exp() * mu).sum(dim=-2)
    return torch.logsumexp(log_weights + _log_values(mu, sigma, y, tails), dim=-2), mean


def sample_mixture_torch(
    mu: torch.Tensor, sigma: torch.Tensor, logits: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One draw per row, without gradient: mu, sigma (B, K, D), logits (B, K) -> (B, D) (training's rollouts)."""
    with torch.no_grad():
        component = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)  # (B, 1)
        index = component.unsqueeze(-1).expand(-1, 1, mu.shape[-1])
        chosen_mu, chosen_sigma = mu.gather(1, index)[:, 0], sigma.gather(1, index)[:, 0]
        return chosen_mu + chosen_sigma * torch.randn(chosen_mu.shape, generator=generator)
