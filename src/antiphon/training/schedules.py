"""Learning-rate and epsilon schedules as pure functions of the optimizer step (0-based)."""

from __future__ import annotations

import math


def keras_time_decay(lr: float, decay: float, step: int) -> float:
    """Keras's time-based decay, applied per batch: lr / (1 + decay * step).

    ``step`` counts the optimizer updates done before this one, across epochs (it is never reset).
    """
    return lr / (1.0 + decay * step)


def keras_adam_epsilon(epsilon: float, beta_2: float, step: int) -> float:
    """The epsilon that makes torch's Adam take Keras's step at update ``step`` (0-based).

    Keras adds epsilon to sqrt(v) before the bias correction; torch adds it to sqrt(v_hat).
    Both are the same update when eps_torch = epsilon / sqrt(1 - beta_2^(step + 1)).
    """
    return epsilon / math.sqrt(1.0 - beta_2 ** (step + 1))
