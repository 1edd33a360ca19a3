"""Each optimizer against a NumPy transcription of Keras's (legacy) update rule, step by step, float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from antiphon.config import TrainingConfig
from antiphon.errors import ConfigError
from antiphon.training.optimizers import Optimizer
from antiphon.training.schedules import keras_time_decay

STEPS = 200
A = np.array([0.5, 2.0, 1.0, 3.0])
C = np.array([1.0, -2.0, 0.5, 0.0])
B = np.array([0.3, 0.1, 0.5, 0.2])
W0 = np.array([0.0, 1.0, -1.0, 2.0])


def gradient(w: np.ndarray) -> np.ndarray:
    """Of f(w) = sum a (w - c)^2 + b sin(3 w): curved and not convex."""
    return 2 * A * (w - C) + 3 * B * np.cos(3 * w)


def run_ours(cfg: TrainingConfig) -> np.ndarray:
    w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    optimizer = Optimizer([w], cfg)
    path = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        w.grad = torch.tensor(gradient(w.detach().numpy()))
        optimizer.step()
        path.append(w.detach().numpy().copy())
    return np.array(path)


def keras_sgd(lr, momentum=0.0, nesterov=False, decay=0.0):
    w, v, path = W0.copy(), np.zeros(4), []
    for t in range(STEPS):
        g, lr_t = gradient(w), lr / (1 + decay * t)
        v = momentum * v - lr_t * g
        w = w + momentum * v - lr_t * g if nesterov else w + v
        path.append(w.copy())
    return np.array(path)


def keras_adam(lr, b1=0.9, b2=0.999, eps=1e-7, decay=0.0):
    w, m, v, path = W0.copy(), np.zeros(4), np.zeros(4), []
    for t in range(1, STEPS + 1):
        g, lr_t = gradient(w), lr / (1 + decay * (t - 1))
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        alpha = lr_t * np.sqrt(1 - b2**t) / (1 - b1**t)
        w = w - alpha * m / (np.sqrt(v) + eps)  # epsilon-hat: before the bias correction
        path.append(w.copy())
    return np.array(path)


def keras_nadam(lr, schedule_decay, b1=0.9, b2=0.999, eps=1e-7):
    w, m, v, m_schedule, path = W0.copy(), np.zeros(4), np.zeros(4), 1.0, []
    for t in range(1, STEPS + 1):
        g = gradient(w)
        u_t = b1 * (1 - 0.5 * 0.96 ** (t * schedule_decay))
        u_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * schedule_decay))
        m_schedule_new = m_schedule * u_t
        m_schedule_next = m_schedule_new * u_next
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        m_bar = (1 - u_t) * g / (1 - m_schedule_new) + u_next * m / (1 - m_schedule_next)
        w = w - lr * m_bar / (np.sqrt(v / (1 - b2**t)) + eps)
        m_schedule = m_schedule_new
        path.append(w.copy())
    return np.array(path)


def keras_rmsprop(lr, rho=0.9, eps=1e-7, decay=0.0):
    w, r, path = W0.copy(), np.zeros(4), []
    for t in range(STEPS):
        g = gradient(w)
        r = rho * r + (1 - rho) * g * g
        w = w - lr / (1 + decay * t) * g / (np.sqrt(r) + eps)
        path.append(w.copy())
    return np.array(path)


def keras_adagrad(lr, initial=0.1, eps=1e-7):
    w, acc, path = W0.copy(), np.full(4, initial), []
    for _ in range(STEPS):
        g = gradient(w)
        acc = acc + g * g
        w = w - lr * g / (np.sqrt(acc) + eps)
        path.append(w.copy())
    return np.array(path)


def keras_adadelta(lr, rho=0.95, eps=1e-7):
    w, acc_g, acc_dx, path = W0.copy(), np.zeros(4), np.zeros(4), []
    for _ in range(STEPS):
        g = gradient(w)
        acc_g = rho * acc_g + (1 - rho) * g * g
        dx = np.sqrt(acc_dx + eps) / np.sqrt(acc_g + eps) * g
        acc_dx = rho * acc_dx + (1 - rho) * dx * dx
        w = w - lr * dx
        path.append(w.copy())
    return np.array(path)


CASES = [
    # Table I's rows
    (TrainingConfig(optimizer="adam"), lambda: keras_adam(1e-3)),
    (TrainingConfig(optimizer="adam", lr=5e-5), lambda: keras_adam(5e-5)),
    (TrainingConfig(optimizer="nadam"), lambda: keras_nadam(1e-3, 0.004)),
    (TrainingConfig(optimizer="nadam", lr=5e-5), lambda: keras_nadam(5e-5, 0.004)),
    (TrainingConfig(optimizer="nadam", nadam_variant="keras3"), lambda: keras_nadam(1e-3, 1.0)),
    (TrainingConfig(optimizer="sgd", lr=0.01, decay=0.01 / 130, momentum=0.8), lambda: keras_sgd(0.01, 0.8, False, 0.01 / 130)),
    (
        TrainingConfig(optimizer="sgd", lr=0.01, decay=0.01 / 130, momentum=0.8, nesterov=True),
        lambda: keras_sgd(0.01, 0.8, True, 0.01 / 130),
    ),
    (TrainingConfig(optimizer="sgd", lr=5e-4, decay=5e-4 / 130, momentum=0.9), lambda: keras_sgd(5e-4, 0.9, False, 5e-4 / 130)),
    (TrainingConfig(optimizer="sgd", lr=5e-5), lambda: keras_sgd(5e-5)),
    # the rest, and decay on an adaptive optimizer
    (TrainingConfig(optimizer="sgd", lr=0.05, decay=0.1, momentum=0.5), lambda: keras_sgd(0.05, 0.5, False, 0.1)),
    (TrainingConfig(optimizer="adam", lr=0.01, decay=0.05), lambda: keras_adam(0.01, decay=0.05)),
    (TrainingConfig(optimizer="rmsprop"), lambda: keras_rmsprop(1e-3)),
    (TrainingConfig(optimizer="rmsprop", lr=0.01, decay=0.01), lambda: keras_rmsprop(0.01, decay=0.01)),
    (TrainingConfig(optimizer="adagrad", lr=0.05), lambda: keras_adagrad(0.05)),
    (TrainingConfig(optimizer="adadelta", lr=1.0), lambda: keras_adadelta(1.0)),
    (TrainingConfig(optimizer="adadelta"), lambda: keras_adadelta(1e-3)),
]


@pytest.mark.parametrize(
    ("cfg", "reference"), CASES, ids=[f"{c.optimizer}-{c.lr}-{c.decay:.2g}-{c.momentum}-{c.nesterov}-{c.nadam_variant}" for c, _ in CASES]
)
def test_matches_the_keras_update_rule(cfg, reference):
    ours, expected = run_ours(cfg), reference()
    moved = np.linalg.norm(expected[-1] - W0)
    assert moved > 1e-4  # the trajectory went somewhere
    error = np.max(np.linalg.norm(ours - expected, axis=1)) / moved
    assert error < 1e-9, f"relative trajectory error {error:.2e}"


def test_sgd_decay_is_not_torchs_lambda_lr():
    """With a decaying lr, Keras folds lr into the velocity and torch does not: the two differ."""
    cfg = TrainingConfig(optimizer="sgd", lr=0.05, decay=0.1, momentum=0.9)
    w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    torch_sgd = torch.optim.SGD([w], lr=0.05, momentum=0.9)
    schedule = torch.optim.lr_scheduler.LambdaLR(torch_sgd, lambda k: 1 / (1 + 0.1 * k))
    for _ in range(STEPS):
        torch_sgd.zero_grad()
        w.grad = torch.tensor(gradient(w.detach().numpy()))
        torch_sgd.step()
        schedule.step()
    assert np.linalg.norm(w.detach().numpy() - run_ours(cfg)[-1]) > 1e-6


def test_decay_counts_updates_across_epochs_and_survives_a_state_round_trip():
    cfg = TrainingConfig(optimizer="sgd", lr=0.1, decay=0.5, momentum=0.5)
    w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    optimizer = Optimizer([w], cfg)
    for _ in range(7):
        w.grad = torch.ones(4, dtype=torch.float64)
        optimizer.step()
    assert optimizer.lr == pytest.approx(keras_time_decay(0.1, 0.5, 7))
    clone = Optimizer([w], cfg)
    clone.load_state_dict(optimizer.state_dict())
    assert clone.iterations == 7 and clone.lr == optimizer.lr


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"optimizer": "nadam", "decay": 0.01}, "decay does not apply to nadam"),
        ({"optimizer": "adam", "momentum": 0.9}, "momentum and nesterov are sgd settings"),
        ({"optimizer": "sgd", "nesterov": True}, "nesterov needs momentum"),
        ({"optimizer": "sgd", "lr": -1.0}, "lr must be > 0"),
    ],
)
def test_bad_optimizer_settings(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TrainingConfig(**kwargs)
