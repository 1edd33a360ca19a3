"""Sampling from a diagonal Gaussian mixture in NumPy: the draw the engine's compiled one is tested to equal
(tests/model/test_engine.py), and the sampler of the benchmarks' torch step.

The draw uses, in this order, one uniform number (the component) and ``D`` standard normals
(the values), so two callers with generators in the same state draw the same frame.
"""

from __future__ import annotations

import math

import numpy as np


def mixture_weights(logits: np.ndarray, pi_temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / pi_temperature), shape (K,) -> (K,)."""
    scaled = np.asarray(logits, dtype=np.float64) / pi_temperature
    scaled -= scaled.max()
    weights = np.exp(scaled)
    return weights / weights.sum()


def sample_mixture(
    mu: np.ndarray,
    sigma: np.ndarray,
    logits: np.ndarray,
    rng: np.random.Generator,
    *,
    pi_temperature: float = 1.0,
    sigma_temperature: float = 1.0,
) -> np.ndarray:
    """One draw from the mixture: mu, sigma (K, D), logits (K,) -> (D,).

    The component is drawn from softmax(logits / pi_temperature); the values from
    N(mu_k, sigma_temperature * sigma_k^2), so ``sigma_temperature`` scales the variance (0 gives
    the component's mean). IMPSY's keras-mdn-layer passes sigma where a variance belongs; this
    samples the model's own distribution instead.
    """
    component = choose_component(logits, pi_temperature, rng.random())
    noise = rng.standard_normal(mu.shape[-1])
    return mu[component] + math.sqrt(sigma_temperature) * sigma[component] * noise


def choose_component(logits: np.ndarray, pi_temperature: float, uniform: float) -> int:
    """The mixture component that ``uniform`` in [0, 1) selects under softmax(logits / pi_temperature).

    Plain Python over the K values: for a handful of components it is several times faster than
    NumPy calls.
    """
    values = logits.tolist() if isinstance(logits, np.ndarray) else list(logits)
    top, inverse = max(values), 1.0 / pi_temperature
    weights = [math.exp((value - top) * inverse) for value in values]
    target = uniform * sum(weights)
    cumulative = 0.0
    for component, weight in enumerate(weights):
        cumulative += weight
        if target < cumulative:
            return component
    return len(weights) - 1
