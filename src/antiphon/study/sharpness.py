"""Sharpness of a minimum (for the optimizer study): curvature and loss around trained weights.

Every function takes ``loss_fn``, a closure computing the scalar loss from the current values of
``params`` (a list of tensors that require grad), so the same code serves the MDRNN's NLL on a
fixed evaluation subset and a quadratic with a known Hessian in the tests.

- :func:`top_eigenvalue`: the Hessian eigenvalue of largest magnitude, by power iteration with
  Hessian-vector products (double backward; on CPU run the model with oneDNN off, which is
  faster and supports it everywhere, see docs/reference notes).
- :func:`epsilon_sharpness`: Keskar et al.'s largest loss increase in the box
  |delta_i| <= epsilon (|theta_i| + 1), found by projected sign-gradient ascent; reported
  un-normalised (the NLL is negative here, so Keskar's division by 1 + f would flip its sign).
- :func:`filter_normalised_direction` and :func:`loss_slice`: Li et al.'s 1-D loss slices.

For a heteroscedastic Gaussian NLL the curvature along the means scales like 1 / sigma^2, so a
model with smaller sigmas looks sharper whatever its geometry: report the mean log sigma beside
these numbers, or measure a fixed-scale loss (the study does both).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

Loss = Callable[[], torch.Tensor]


def hessian_vector_product(loss_fn: Loss, params: Sequence[torch.Tensor], vector: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """H v at the current parameters (double backward), as tensors shaped like ``params``."""
    gradients = torch.autograd.grad(loss_fn(), params, create_graph=True)
    dot = sum((g * v).sum() for g, v in zip(gradients, vector))
    return [h.detach() for h in torch.autograd.grad(dot, params)]


def _norm(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.sqrt(sum((t * t).sum() for t in tensors))


def top_eigenvalue(
    loss_fn: Loss, params: Sequence[torch.Tensor], *, iterations: int = 25, tolerance: float = 1e-3, seed: int = 0
) -> tuple[float, int]:
    """The Hessian eigenvalue of largest |lambda| (signed) and the iterations used.

    Power iteration from a seeded random vector, stopped when the Rayleigh quotient changes by
    less than ``tolerance`` relative. A negative value means the weights sit at a saddle or an
    early-stopped slope, not a minimum.
    """
    generator = torch.Generator().manual_seed(seed)
    vector = [torch.randn(p.shape, generator=generator, dtype=p.dtype) for p in params]
    norm = _norm(vector)
    vector = [v / norm for v in vector]
    eigenvalue = 0.0
    for iteration in range(1, iterations + 1):
        product = hessian_vector_product(loss_fn, params, vector)
        estimate = float(sum((h * v).sum() for h, v in zip(product, vector)))
        norm = _norm(product)
        if norm == 0:
            return 0.0, iteration
        vector = [h / norm for h in product]
        if iteration > 1 and abs(estimate - eigenvalue) <= tolerance * max(abs(estimate), 1e-12):
            return estimate, iteration
        eigenvalue = estimate
    return eigenvalue, iterations


def epsilon_sharpness(
    loss_fn: Loss, params: Sequence[torch.Tensor], *, epsilon: float = 1e-3, steps: int = 10, seed: int = 0
) -> dict[str, float]:
    """Largest loss increase within |delta_i| <= epsilon (|theta_i| + 1): ``delta``, and ``delta`` / |f(theta)|.

    Projected sign-gradient ascent, ``steps`` steps of a quarter of the box each, from a small
    seeded offset (at an exact minimum the gradient is zero, so the centre itself goes nowhere);
    the parameters are restored afterwards.
    """
    originals = [p.detach().clone() for p in params]
    bounds = [epsilon * (o.abs() + 1.0) for o in originals]
    with torch.no_grad():
        base = float(loss_fn())
    generator = torch.Generator().manual_seed(seed)
    offsets = [0.1 * b * (2 * torch.rand(b.shape, generator=generator, dtype=b.dtype) - 1) for b in bounds]
    best = base
    try:
        for _ in range(steps):
            gradients = torch.autograd.grad(loss_fn(), params)
            with torch.no_grad():
                for p, o, d, g, b in zip(params, originals, offsets, gradients, bounds):
                    d.add_(0.25 * b * torch.sign(g)).clamp_(-b, b)
                    p.copy_(o + d)
                best = max(best, float(loss_fn()))
    finally:
        with torch.no_grad():
            for p, o in zip(params, originals):
                p.copy_(o)
    return {"delta": best - base, "relative": (best - base) / max(abs(base), 1e-12), "loss": base}


def filter_normalised_direction(params: Sequence[torch.Tensor], *, seed: int = 0) -> list[torch.Tensor]:
    """A random direction with each row (filter) scaled to the norm of the same row of the weights;
    zero for biases and other 1-D parameters (Li et al. 2018)."""
    generator = torch.Generator().manual_seed(seed)
    direction = []
    for p in params:
        if p.ndim < 2:
            direction.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        rows = d.reshape(d.shape[0], -1)
        weights = p.detach().reshape(p.shape[0], -1)
        rows = rows / rows.norm(dim=1, keepdim=True).clamp_min(1e-12) * weights.norm(dim=1, keepdim=True)
        direction.append(rows.reshape(p.shape))
    return direction


def loss_slice(loss_fn: Loss, params: Sequence[torch.Tensor], direction: Sequence[torch.Tensor], alphas: Sequence[float]) -> list[float]:
    """The loss at theta + alpha d for each alpha; the parameters are restored afterwards."""
    originals = [p.detach().clone() for p in params]
    values = []
    try:
        with torch.no_grad():
            for alpha in alphas:
                for p, o, d in zip(params, originals, direction):
                    p.copy_(o + alpha * d)
                values.append(float(loss_fn()))
    finally:
        with torch.no_grad():
            for p, o in zip(params, originals):
                p.copy_(o)
    return values
