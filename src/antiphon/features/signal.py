"""Signal-domain descriptors (the instrument's Signal category) on raw, unwindowed frames."""

from __future__ import annotations

import numpy as np


def zero_crossing_rate(frames: np.ndarray, *, sample_rate_hz: float) -> np.ndarray:
    """Sign changes per second (Hz) in each row of ``frames`` (T, N); a sine at f gives about 2 f.

    A sample of exactly 0 counts as positive. Shape (T, N) -> (T,).
    """
    negative = np.signbit(frames) & (frames != 0)
    changes = np.count_nonzero(negative[:, 1:] != negative[:, :-1], axis=1)
    return changes * (sample_rate_hz / frames.shape[1])


def total_energy(frames: np.ndarray) -> np.ndarray:
    """Mean square of each row of ``frames`` (T, N), in full-scale units (a full-scale sine: 0.5)."""
    return np.einsum("ij,ij->i", frames, frames) / frames.shape[1]
