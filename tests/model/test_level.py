"""The running level and activity: the recursions, their start, and windows that carry what came before them."""

from __future__ import annotations

import math

import numpy as np
import torch

from antiphon.model.level import activity_input, level_decay, model_inputs, running_activity, running_level
from antiphon.model.onset import onset_clock
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
    assert model_inputs(rows).shape == (50, 3) and model_inputs(rows, 10).shape == (50, 6)
    np.testing.assert_allclose(model_inputs(rows, 10)[:, 3:], running_level(rows, 10), rtol=1e-6)


def test_running_activity_is_the_log_of_the_debiased_mean_step():
    rows = np.random.default_rng(1).random((60, 3)) * np.array([1.0, 0.1, 0.01])  # busy, calmer, calm
    a = math.exp(-1 / 12)
    expected, total, weight = [np.zeros(3)], np.zeros(3), 0.0
    for t in range(1, len(rows)):
        total = a * total + (1 - a) * np.abs(rows[t] - rows[t - 1])
        weight = a * weight + (1 - a)
        expected.append(total / weight)
    activity = running_activity(rows, 12)
    np.testing.assert_allclose(activity, np.log10(np.array(expected) + 0.001) + 2.0, rtol=1e-10)
    np.testing.assert_allclose(activity[0], -1.0)  # the first row has no step: mean 0
    np.testing.assert_allclose(activity[1], activity_input(np.abs(rows[1] - rows[0])))  # one step: its own size, undiluted
    assert activity[-1, 0] > activity[-1, 1] > activity[-1, 2]  # the busier the feature, the higher its input
    np.testing.assert_allclose(running_activity(np.full((9, 2), 0.4), 5), -1.0)  # a held value does not move
    both = model_inputs(rows, 10, 12)
    assert both.shape == (60, 9) and model_inputs(rows, 0, 12).shape == (60, 6)
    np.testing.assert_allclose(both[:, 6:], activity, rtol=1e-6)
    np.testing.assert_allclose(model_inputs(rows, 0, 12)[:, 3:], activity, rtol=1e-6)


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


def test_windows_carry_the_activity_and_clock_of_everything_before_them_and_transpose_them():
    rng = np.random.default_rng(2)
    segment = (rng.random((40, 12)) * np.linspace(0.01, 1.0, 12)).astype(np.float32)  # every class moves by a different amount
    windows = make_windows([segment], sequence_length=5, stride=5, level_steps=8, activity_steps=6, onset_clock=10)
    assert windows.rows.shape == (40, 38)
    x, _ = windows.batch(torch.arange(len(windows)))
    np.testing.assert_allclose(x[3, 0, 24:36].numpy(), running_activity(segment, 6)[15], rtol=1e-5)  # rows 0..15
    np.testing.assert_allclose(x[3, 0, 36:].numpy(), onset_clock(segment, 10)[15], rtol=1e-6)
    moved, _ = windows.batch(torch.arange(len(windows)), generator=torch.Generator().manual_seed(0), chroma=slice(0, 12))
    shifts = [int(np.argmax(moved[w, 0, :12].numpy() == x[w, 0, 0].numpy())) for w in range(len(windows))]  # where class 0 went
    w = int(np.argmax(shifts))
    assert shifts[w] > 0
    for block in (0, 12, 24):  # the frame, its level and its activity are rotated alike
        np.testing.assert_allclose(np.roll(x[w, :, block : block + 12].numpy(), shifts[w], axis=1), moved[w, :, block : block + 12].numpy())
    np.testing.assert_array_equal(moved[..., 36:].numpy(), x[..., 36:].numpy())  # the onset clock has no key


def test_windows_hear_their_context_rows_but_keep_their_own_frames():
    rng = np.random.default_rng(5)
    segment = rng.random((30, 2)).astype(np.float32)
    heard = segment + rng.uniform(-0.01, 0.01, segment.shape).astype(np.float32)  # dequantised once
    windows = make_windows([segment], sequence_length=5, stride=5, level_steps=8, activity_steps=6, heard=[heard])
    np.testing.assert_array_equal(windows.rows[:, :2].numpy(), segment)
    np.testing.assert_allclose(windows.rows[:, 2:].numpy(), model_inputs(heard, 8, 6)[:, 2:], rtol=1e-6)
    assert not np.allclose(windows.rows[:, 4:].numpy(), running_activity(segment, 6), atol=1e-3)
