"""Sharpness of a minimum (for the optimizer study): curvature and loss around trained weights.

Every function takes ``loss_fn``, a closure computing the scalar loss from the current values of
``params`` (a list of tensors that require grad), so the same code serves the MDRNN's NLL on a
fixed evaluation subset and a quadratic with a known Hessian in the tests.

- :func:`extreme_eigenvalues`: both ends of the Hessian spectrum (the algebraically largest and
  smallest eigenvalues) by ARPACK's Lanczos (``scipy.sparse.linalg.eigsh``) on the
  Hessian-vector-product operator (double backward; on CPU run the model with oneDNN off, which
  is faster and supports it everywhere, see docs/study.md), each with its residual
  ||Hv - lambda v|| / |lambda|: plain power iteration stopped on a stalled Rayleigh quotient can
  return a number that is no eigenvalue at all (2.79 for diag(3, -3, 1)).
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
from dataclasses import dataclass

import torch

Loss = Callable[[], torch.Tensor]


def hessian_vector_product(loss_fn: Loss, params: Sequence[torch.Tensor], vector: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """H v at the current parameters (double backward), as tensors shaped like ``params``."""
    gradients = torch.autograd.grad(loss_fn(), params, create_graph=True)
    dot = sum((g * v).sum() for g, v in zip(gradients, vector))
    return [h.detach() for h in torch.autograd.grad(dot, params)]


def _norm(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.sqrt(sum((t * t).sum() for t in tensors))


@dataclass(frozen=True)
class Spectrum:
    """Both ends of a Hessian spectrum: eigenvalues (nats per unit parameter squared), the relative
    residual ||Hv - lambda v|| / |lambda| of each eigenvector, and the Hessian-vector products used."""

    largest: float
    smallest: float
    residual_largest: float
    residual_smallest: float
    products: int

    @property
    def top(self) -> float:
        """The eigenvalue of largest magnitude, with its sign (negative: a saddle or a slope, not a minimum);
        an end that did not converge (NaN) does not count."""
        ends = [v for v in (self.largest, self.smallest) if v == v]
        return max(ends, key=abs) if ends else float("nan")


def extreme_eigenvalues(
    loss_fn: Loss, params: Sequence[torch.Tensor], *, tolerance: float = 1e-3, max_restarts: int = 20, seed: int = 0
) -> Spectrum:
    """The algebraically largest and smallest Hessian eigenvalues by Lanczos (``eigsh``, k = 2, both
    ends) on the HVP operator (``params`` of at least 3 values), from a seeded start vector; ``tolerance`` is ARPACK's relative accuracy. When
    ARPACK does not converge within ``max_restarts`` restarts its best estimate is kept, and the
    residual says how far from an eigenpair it is; an end for which no Ritz value converged is NaN.
    """
    import numpy as np
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]
    n = sum(sizes)
    dtype = params[0].dtype
    count = 0

    def matvec(vector: np.ndarray) -> np.ndarray:
        nonlocal count
        count += 1
        pieces = torch.from_numpy(np.ascontiguousarray(vector, dtype=np.float64).ravel()).to(dtype).split(sizes)
        product = hessian_vector_product(loss_fn, params, [piece.reshape(shape) for piece, shape in zip(pieces, shapes)])
        return torch.cat([h.reshape(-1) for h in product]).double().numpy()

    operator = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    start = np.random.default_rng(seed).standard_normal(n)
    try:  # "BE": one Lanczos run gives the smallest and the largest together
        values, vectors = eigsh(operator, k=2, which="BE", v0=start, tol=tolerance, maxiter=max_restarts, ncv=min(n, 12))
    except ArpackNoConvergence as exc:
        values, vectors = exc.eigenvalues, exc.eigenvectors
    if len(values) == 0:  # no Ritz value converged at all: report the Rayleigh quotient of the start vector
        vectors = (start / np.linalg.norm(start))[:, None]
        values = np.array([float(vectors[:, 0] @ matvec(vectors[:, 0]))])
    ends = []
    for index in (int(np.argmax(values)), int(np.argmin(values))):
        value, vector = float(values[index]), vectors[:, index] / np.linalg.norm(vectors[:, index])
        ends.append((value, float(np.linalg.norm(matvec(vector) - value * vector) / max(abs(value), 1e-12))))
    (largest, residual_largest), (smallest, residual_smallest) = ends
    if len(values) == 1:  # one end converged: it is the one of larger magnitude; the other is unknown (NaN)
        unknown = (float("nan"), float("nan"))
        (largest, residual_largest), (smallest, residual_smallest) = (ends[0], unknown) if largest >= 0 else (unknown, ends[0])
    return Spectrum(largest, smallest, residual_largest, residual_smallest, count)


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
