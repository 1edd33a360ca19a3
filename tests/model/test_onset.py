"""The onset clock (antiphon.model.onset): frames since the rows last jumped, and the interval before."""

import numpy as np

from antiphon.model.onset import ONSET_GAP, onset_clock


def _picked(n: int, picks: list[int], seed: int = 0) -> np.ndarray:
    """Rows (n, 4) that jitter by about 0.005 and jump by 0.4 at ``picks`` (and stay there)."""
    rng = np.random.default_rng(seed)
    rows = 0.3 + rng.uniform(-0.005, 0.005, (n, 4))
    for pick in picks:
        rows[pick:] += 0.4 * (-1) ** (pick % 2)
    return rows


def test_the_clock_counts_from_each_jump_and_keeps_the_interval_before():
    clock = onset_clock(_picked(80, [20, 38, 56]), cap=30) * 30  # in frames
    np.testing.assert_array_equal(clock[:20], 30)  # nothing heard yet: both at the cap
    np.testing.assert_allclose(clock[20:38, 0], np.arange(18), atol=1e-6)  # counts from the first jump
    np.testing.assert_allclose(clock[20:38, 1], 30, atol=1e-6)  # the interval before it: more than the cap
    np.testing.assert_allclose(clock[38:56, 0], np.arange(18), atol=1e-6)
    np.testing.assert_allclose(clock[38:, 1], 18, atol=1e-6)  # 20 -> 38, then 38 -> 56: 18 frames each
    np.testing.assert_allclose(clock[79], [23, 18], atol=1e-6)


def test_the_clock_is_capped_and_a_second_jump_within_the_gap_is_the_same_onset():
    clock = onset_clock(_picked(90, [10, 10 + ONSET_GAP - 1, 60]), cap=20) * 20
    np.testing.assert_allclose(clock[10 + ONSET_GAP - 1, 0], ONSET_GAP - 1, atol=1e-6)  # no new onset inside the gap
    np.testing.assert_allclose(clock[59], [20, 20], atol=1e-6)  # 49 frames since the onset: at the cap
    np.testing.assert_allclose(clock[60], [0, 20], atol=1e-6)  # the interval is capped too


def test_onsets_are_relative_to_the_running_step_so_the_scale_does_not_matter():
    rows = _picked(120, [30, 70])
    np.testing.assert_array_equal(onset_clock(rows, 43), onset_clock(rows * 10.0, 43))  # IMPSY's scale factor 10
    busy = rows + 0.25 * (-1.0) ** np.arange(120)[:, None]  # every step 0.5: a jump (0.4) makes one 0.9 or 0.1, < 2 x 0.5
    np.testing.assert_array_equal(onset_clock(busy, 43), 1.0)  # no onset: both counts stay at the cap
    assert onset_clock(rows[:0], 43).shape == (0, 2)
