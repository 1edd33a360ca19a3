"""Optimizers by name, with the semantics of Keras (the paper's framework) where it differs from PyTorch.

| name | update | PyTorch underneath |
|---|---|---|
| adam | Keras's epsilon-hat placement (epsilon added before bias correction) | ``Adam`` with eps set per step |
| nadam | 'legacy' (Keras <= 2.10, tf.keras legacy): mu_t = beta_1 (1 - 0.96^(0.004 t) / 2); 'keras3' (Keras >= 2.11): 0.96^t | ``NAdam`` (momentum_decay 0.004 or 1) |
| sgd | v <- m v - lr_t g; w <- w + v (Nesterov: w <- w + m v - lr_t g) | :class:`KerasSGD` |
| rmsprop | r <- rho r + (1 - rho) g^2; w <- w - lr g / (sqrt(r) + eps) | ``RMSprop`` |
| adagrad | a <- a + g^2 (a_0 = 0.1); w <- w - lr g / (sqrt(a) + eps) | ``Adagrad`` |
| adadelta | Zeiler's update with lr as a multiplier (Keras lr 0.001, rho 0.95) | ``Adadelta`` |

Time-based decay (``decay`` > 0) sets lr_t = lr / (1 + decay t) before every update, t = updates
so far, never reset between epochs (Keras's legacy ``decay`` argument); nadam refuses it because
Keras takes nadam's ``decay`` as its momentum schedule instead.

Nadam defaults to 'legacy': Table I's SGD rows use ``decay``, which only Keras's legacy
optimizers honour (TF 2.11-2.15 raise on it and Keras 3 ignores it), so the paper most likely
ran the legacy optimizers, whose Nadam is the 0.004 schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, get_args

import torch

from antiphon.config import OptimizerName, TrainingConfig
from antiphon.training.schedules import keras_adam_epsilon, keras_time_decay


class KerasSGD(torch.optim.Optimizer):
    """SGD as Keras does it: the learning rate is folded into the velocity.

    v <- momentum * v - lr * g; w <- w + v, or with Nesterov w <- w + momentum * v - lr * g.
    With a constant lr this equals torch's SGD; with a decaying lr it does not (torch scales the
    whole velocity by the current lr), which matters for Table I's decay rows.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov})

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if momentum == 0:
                    p.add_(p.grad, alpha=-lr)
                    continue
                velocity = self.state[p].setdefault("velocity", torch.zeros_like(p))
                velocity.mul_(momentum).add_(p.grad, alpha=-lr)
                if group["nesterov"]:
                    p.add_(velocity, alpha=momentum).add_(p.grad, alpha=-lr)
                else:
                    p.add_(velocity)


class Optimizer:
    """A named optimizer with Keras semantics; ``step()`` applies the per-update schedules first.

    ``iterations`` (updates done) is part of :meth:`state_dict`, so a resumed run continues the
    decay where it stopped.
    """

    def __init__(self, params: Iterable[torch.Tensor], config: TrainingConfig) -> None:
        self.config = config
        self.iterations = 0
        self.inner = _build(list(params), config)

    @property
    def lr(self) -> float:
        """The learning rate of the next update."""
        return keras_time_decay(self.config.learning_rate, self.config.decay, self.iterations)

    def zero_grad(self) -> None:
        self.inner.zero_grad(set_to_none=True)

    def step(self) -> None:
        lr = self.lr
        epsilon_hat = OPTIMIZERS[self.config.optimizer].keras_epsilon_hat
        for group in self.inner.param_groups:
            group["lr"] = lr
            if epsilon_hat:
                group["eps"] = keras_adam_epsilon(self.config.epsilon, self.config.beta_2, self.iterations)
        self.inner.step()
        self.iterations += 1

    def state_dict(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "inner": self.inner.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.iterations = int(state["iterations"])
        self.inner.load_state_dict(state["inner"])


@dataclass(frozen=True)
class OptimizerSpec:
    """How one named optimizer is built from the settings; ``keras_epsilon_hat``: its epsilon is
    rescaled before every update to Keras's placement (adam)."""

    build: Callable[[list[torch.Tensor], TrainingConfig], torch.optim.Optimizer]
    keras_epsilon_hat: bool = False


#: the registry: every name of :data:`antiphon.config.OptimizerName`, with its builder
OPTIMIZERS: dict[str, OptimizerSpec] = {
    "adam": OptimizerSpec(
        lambda p, c: torch.optim.Adam(p, lr=c.learning_rate, betas=(c.beta_1, c.beta_2), eps=c.epsilon), keras_epsilon_hat=True
    ),
    "nadam": OptimizerSpec(
        lambda p, c: torch.optim.NAdam(
            p, lr=c.learning_rate, betas=(c.beta_1, c.beta_2), eps=c.epsilon, momentum_decay=0.004 if c.nadam_variant == "legacy" else 1.0
        )
    ),
    "sgd": OptimizerSpec(lambda p, c: KerasSGD(p, lr=c.learning_rate, momentum=c.momentum, nesterov=c.nesterov)),
    "rmsprop": OptimizerSpec(
        lambda p, c: torch.optim.RMSprop(p, lr=c.learning_rate, alpha=c.rho if c.rho is not None else 0.9, eps=c.epsilon)
    ),
    "adagrad": OptimizerSpec(
        lambda p, c: torch.optim.Adagrad(p, lr=c.learning_rate, initial_accumulator_value=c.initial_accumulator, eps=c.epsilon)
    ),
    "adadelta": OptimizerSpec(
        lambda p, c: torch.optim.Adadelta(p, lr=c.learning_rate, rho=c.rho if c.rho is not None else 0.95, eps=c.epsilon)
    ),
}
assert tuple(OPTIMIZERS) == get_args(OptimizerName), "the registry and the settings name the same optimizers"


def _build(params: list[torch.Tensor], cfg: TrainingConfig) -> torch.optim.Optimizer:
    return OPTIMIZERS[cfg.optimizer].build(params, cfg)
