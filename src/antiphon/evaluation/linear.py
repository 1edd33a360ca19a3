"""Linear Gaussian baselines: persistence, per-dimension AR(1) and VAR(p), fitted by least squares.

Each is x_t = c + sum_{k=1..p} A_k x_{t-k} + e_t, e_t ~ N(0, Sigma), on model rows (N, D) as
:meth:`Corpus.segments <antiphon.data.corpus.Corpus.segments>` gives them (same scale, same
dequantisation as the model's), so its NLL is in the model's units and can be set beside it
step for step. Written in NumPy rather than with statsmodels' ``VAR``: we need the NLL per step
and per dimension on other data than the fit, clipped sampling and a fit across several
segments that never regresses across their joins, which are each a few lines here.

- persistence: c = 0, A_1 = I, Sigma = diag(var of one-step differences) -- "nothing changes".
- ar1: per dimension x_t,d = c_d + a_d x_{t-1},d (A_1 diagonal), Sigma diagonal.
- var: full A_1..A_p and a full Sigma; p chosen by :func:`choose_var` on validation rows, with
  the coefficients shrunk towards the AR(1) (ridge) and Sigma towards its diagonal, by weights
  chosen there too. Without them a relation that holds tightly in the training split (kurtosis
  against skewness) is one the held-out data break by thousands of nats per step (measured).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: added to Sigma's diagonal (relative to its mean) so a column with no spread cannot make it singular
RIDGE = 1e-9
#: weights of the AR(1) diagonal in the VAR's covariance tried by :func:`choose_var`
SHRINKAGE = (0.0, 0.3, 0.7, 1.0)
#: ridge penalties (towards the AR(1) coefficients) tried by :func:`choose_var`
RIDGES = (0.0, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3)


@dataclass(frozen=True)
class LinearGaussian:
    """A fitted linear Gaussian autoregression of order ``order`` over D dimensions.

    ``intercept`` (D,), ``coefficients`` (p, D, D) with ``coefficients[k-1]`` = A_k, ``covariance`` (D, D).
    """

    name: str
    order: int
    intercept: np.ndarray
    coefficients: np.ndarray
    covariance: np.ndarray

    def predict(self, lags: np.ndarray) -> np.ndarray:
        """Means of the next rows from ``lags`` (N, p, D), lags[:, 0] the row just before -> (N, D)."""
        return self.intercept + np.einsum("nkd,ked->ne", lags, self.coefficients)

    def log_likelihoods(self, segments: Sequence[np.ndarray], skip: int) -> tuple[np.ndarray, np.ndarray]:
        """Per scored step: the joint log-density (S,) and each dimension's marginal log-density (S, D).

        Steps t >= ``skip`` (>= ``order``) of every segment (n_i, D) are scored, in order.
        """
        if skip < self.order:
            raise ValueError(f"skip ({skip}) must be at least the order ({self.order})")
        lags, targets = lagged(segments, self.order, skip)
        residuals = targets - self.predict(lags)
        d = residuals.shape[1]
        chol = np.linalg.cholesky(self.covariance)
        z = np.linalg.solve(chol, residuals.T).T
        log_det = 2.0 * np.log(np.diag(chol)).sum()
        joint = -0.5 * (d * math.log(2 * math.pi) + log_det + (z * z).sum(axis=1))
        variances = np.diag(self.covariance)
        marginal = -0.5 * (math.log(2 * math.pi) + np.log(variances) + residuals**2 / variances)
        return joint, marginal

    def sample(self, history: np.ndarray, n_rows: int, rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Simulate ``n_rows`` rows on from ``history`` (>= order rows, oldest first), each clipped
        to [``low``, ``high``] (D,) and fed back -> (n_rows, D)."""
        chol = np.linalg.cholesky(self.covariance)
        past = list(np.asarray(history, dtype=np.float64)[-self.order :][::-1])  # newest first
        out = np.empty((n_rows, self.intercept.size))
        noise = rng.standard_normal((n_rows, self.intercept.size)) @ chol.T
        for i in range(n_rows):
            row = self.intercept + sum(a @ x for a, x in zip(self.coefficients, past)) + noise[i]
            out[i] = np.clip(row, low, high)
            past = [out[i], *past[:-1]]
        return out


def lagged(segments: Sequence[np.ndarray], order: int, skip: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lag stacks (N, order, D) (newest first) and targets (N, D) for steps t >= ``skip`` (default
    ``order``) of each segment; nothing crosses from one segment into the next."""
    skip = order if skip is None else skip
    lags, targets = [], []
    for rows in segments:
        rows = np.asarray(rows, dtype=np.float64)
        if rows.shape[0] <= skip:
            continue
        t = np.arange(skip, rows.shape[0])
        lags.append(np.stack([rows[t - k] for k in range(1, order + 1)], axis=1))
        targets.append(rows[t])
    if not targets:
        raise ValueError(f"no segment is longer than {skip} rows")
    return np.concatenate(lags), np.concatenate(targets)


def _covariance(residuals: np.ndarray, diagonal: bool) -> np.ndarray:
    cov = np.cov(residuals, rowvar=False, bias=True).reshape(residuals.shape[1], residuals.shape[1])
    if diagonal:
        cov = np.diag(np.diag(cov))
    floor = RIDGE * max(float(np.mean(np.diag(cov))), 1e-12)
    return cov + floor * np.eye(cov.shape[0])


def fit_persistence(segments: Sequence[np.ndarray]) -> LinearGaussian:
    """x_t = x_{t-1} + e, e ~ N(0, diag(variance of the one-step differences))."""
    lags, targets = lagged(segments, 1)
    d = targets.shape[1]
    return LinearGaussian("persistence", 1, np.zeros(d), np.eye(d)[None], _covariance(targets - lags[:, 0], diagonal=True))


def fit_ar1(segments: Sequence[np.ndarray]) -> LinearGaussian:
    """Per dimension, least squares x_t,d = c_d + a_d x_{t-1},d; diagonal residual covariance."""
    lags, targets = lagged(segments, 1)
    previous = lags[:, 0]
    mean_x, mean_y = previous.mean(axis=0), targets.mean(axis=0)
    spread = ((previous - mean_x) ** 2).sum(axis=0)
    slope = np.where(spread > 0, ((previous - mean_x) * (targets - mean_y)).sum(axis=0) / np.where(spread > 0, spread, 1.0), 0.0)
    intercept = mean_y - slope * mean_x
    residuals = targets - intercept - slope * previous
    return LinearGaussian("ar1", 1, intercept, np.diag(slope)[None], _covariance(residuals, diagonal=True))


def fit_var(segments: Sequence[np.ndarray], order: int, ridge: float = 0.0) -> LinearGaussian:
    """VAR(``order``) with an intercept and a full residual covariance, by least squares shrunk
    towards the per-dimension AR(1) (``ridge`` >= 0, relative to the mean diagonal of the design's
    Gram matrix: 0 = plain least squares, large = the AR(1) itself)."""
    return _VarFit(segments, order).fit(ridge)


class _VarFit:
    """The parts of a VAR(p) fit that do not depend on the ridge, computed once per order."""

    def __init__(self, segments: Sequence[np.ndarray], order: int, prior: LinearGaussian | None = None) -> None:
        lags, self.targets = lagged(segments, order)
        n, d = self.targets.shape
        self.order, self.d = order, d
        prior = prior or fit_ar1(segments)
        self.design = np.concatenate([np.ones((n, 1)), lags.reshape(n, order * d)], axis=1)
        self.base = np.zeros((1 + order * d, d))
        self.base[0], self.base[1 : 1 + d] = prior.intercept, prior.coefficients[0].T  # the AR(1) as coefficients
        self.gram = self.design.T @ self.design
        self.moment = self.design.T @ (self.targets - self.design @ self.base)

    def fit(self, ridge: float) -> LinearGaussian:
        penalty = ridge * float(np.mean(np.diag(self.gram)[1:])) * np.eye(self.gram.shape[0])
        penalty[0, 0] = 0.0  # the intercept is never shrunk
        solution = self.base + np.linalg.solve(self.gram + penalty, self.moment)
        residuals = self.targets - self.design @ solution
        coefficients = solution[1:].reshape(self.order, self.d, self.d).transpose(0, 2, 1)  # A_k maps x_{t-k} to x_t
        return LinearGaussian(f"var{self.order}", self.order, solution[0], coefficients, _covariance(residuals, diagonal=False))


def choose_var(train: Sequence[np.ndarray], validation: Sequence[np.ndarray], max_order: int) -> tuple[LinearGaussian, dict[str, float]]:
    """The VAR(p), p in 1..``max_order``, with the ridge (:data:`RIDGES`) and covariance shrinkage
    (:data:`SHRINKAGE`) of lowest mean NLL per step on ``validation`` (all scored from step
    ``max_order`` on, so every candidate sees the same steps); and that NLL per candidate tried.
    The largest ridge with full shrinkage is the AR(1): the chosen VAR is never worse on validation."""
    if max_order < 1:
        raise ValueError(f"max_order must be >= 1, got {max_order}")
    prior = fit_ar1(train)
    target = np.diag(np.diag(prior.covariance))
    scores: dict[str, float] = {}
    best: tuple[float, LinearGaussian] | None = None
    for order in range(1, max_order + 1):
        parts = _VarFit(train, order, prior)
        for ridge in RIDGES:
            fitted = parts.fit(ridge)
            for weight in SHRINKAGE:
                candidate = dataclasses.replace(fitted, covariance=(1 - weight) * fitted.covariance + weight * target)
                nll = float(-candidate.log_likelihoods(validation, max_order)[0].mean())
                scores[f"p={order},ridge={ridge:g},shrinkage={weight:g}"] = nll
                if best is None or nll < best[0]:
                    best = (nll, candidate)
    return best[1], scores  # type: ignore[index]  # max_order >= 1: at least one candidate
