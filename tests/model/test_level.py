"""The running level: the recursion, its start, and windows that carry what came before them."""

from __future__ import annotations

import math

import numpy as np
import torch

from antiphon.model.level import level_decay, running_level, with_level
from antiphon.training.windows import make_windows


def test_running_level_is_the_exponential_mean_started_at_the_first_row():
    rows = np.random.default_rng(0).random((50, 3))
    a = math.exp(-1 / 10)
    expected, level = [], rows[0]
    for row in rows:
        level = a * level + (1 - a) * row
        expected.append(level)
    np.testing.assert_allclose(running_level(rows, 10), expected, rtol=1e-12)
    assert level_decay(10) == a
    np.testing.assert_allclose(running_level(np.full((5, 2), 3.0), 4), 3.0)  # a held value is its own level
    start = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(running_level(rows[:1], 10, start)[0], a * start + (1 - a) * rows[0])
    assert with_level(rows, 0).shape == (50, 3) and with_level(rows, 10).shape == (50, 6)


def test_windows_carry_the_level_of_everything_before_them():
    segment = np.linspace(0.0, 1.0, 40)[:, None].astype(np.float32) * np.ones((1, 2), np.float32)
    windows = make_windows([segment, segment[:15]], sequence_length=5, stride=5, level_steps=8)
    assert windows.n_targets == 2 and windows.rows.shape == (55, 4)
    x, y = windows.batch(torch.arange(len(windows)))
    assert x.shape == (len(windows), 5, 4) and y.shape == (len(windows), 5, 2)
    level = running_level(segment, 8)
    np.testing.assert_allclose(x[3, 0, 2:].numpy(), level[15], rtol=1e-6)  # window 3 starts at row 15: its level saw rows 0..15
    np.testing.assert_allclose(x[3, :, :2].numpy(), segment[15:20], rtol=1e-6)
    np.testing.assert_allclose(y[3].numpy(), segment[16:21], rtol=1e-6)  # targets are the next frames, without a level
    first_of_second = 7  # the second segment's first window: its level starts afresh
    np.testing.assert_allclose(x[first_of_second, 0, 2:].numpy(), segment[0], rtol=1e-6)
