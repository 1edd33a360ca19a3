"""Yin fundamental-frequency estimation (de Cheveigné & Kawahara 2002) with pipo.yin's outputs.

IRCAM's ``pipo.yin`` (the instrument's Yin category) averages each frame down by
2**downsampling, searches lags below ``n // 2`` (or up to the period of ``min_freq_hz``), and
reports four columns, which this module reproduces:

- Frequency (Hz): sample rate / best lag, refined by parabolic interpolation.
- Energy: RMS of the integration window, sqrt(r(0) / W), in full-scale units.
- Periodicity: 1 - sqrt(d'), d' the cumulative mean normalised difference at the best lag
  (1 = perfectly periodic, 0 = noise).
- AC1: r(1) / r(0), the lag-1 autocorrelation (near 1 for low, smooth signals; negative for
  bright, noisy ones).

The best lag is the first dip of d' below ``threshold`` followed to its local minimum, or the
global minimum of d' when no dip goes below it. Silent frames give 0 in all four columns.
"""

from __future__ import annotations

import numpy as np


def yin(
    frames: np.ndarray,
    *,
    sample_rate_hz: float,
    threshold: float = 0.68,
    downsampling: int = 2,
    min_freq_hz: float = 0.0,
    silent: np.ndarray | None = None,
) -> np.ndarray:
    """Yin on each row of ``frames`` (T, N) of raw samples; returns (T, 4) in :data:`YIN_NAMES` order.

    Raises:
        ValueError: the frame is too short for ``min_freq_hz`` after downsampling.
    """
    factor = 1 << downsampling
    n = frames.shape[1] // factor
    # Mean-based downsampling, as pipo.yin does.
    x = np.add.reduceat(frames[:, : n * factor], np.arange(0, n * factor, factor), axis=1) * (1.0 / factor)  # (T, n)
    sr = sample_rate_hz / factor
    n_lags = int(np.ceil(sr / min_freq_hz)) + 2 if min_freq_hz > 0 else n // 2
    if n_lags >= n or n_lags < 4:
        raise ValueError(f"a {frames.shape[1]}-sample frame is too short for Yin down to {min_freq_hz} Hz")
    width = n - n_lags  # integration window W
    lags = np.arange(n_lags)

    # r(tau) = sum_{j<W} x_j x_{j+tau}, by FFT; e(tau) = sum_{j<W} x_{j+tau}^2 by cumulative sums.
    size = 1 << int(np.ceil(np.log2(n + width - 1)))  # powers of two are the fastest sizes here
    spectrum = np.fft.rfft(x, size, axis=1)
    spectrum *= np.fft.rfft(x[:, :width], size, axis=1).conj()
    r = np.fft.irfft(spectrum, size, axis=1)[:, :n_lags]  # (T, L)
    c = np.cumsum(x * x, axis=1)  # c[j] = sum_{i<=j} x_i^2
    e = c[:, width - 1 : width - 1 + n_lags] - np.concatenate([np.zeros((x.shape[0], 1)), c[:, : n_lags - 1]], axis=1)
    d = np.maximum(e[:, :1] + e - 2.0 * r, 0.0)  # difference function (T, L)

    # Cumulative mean normalised difference d'(tau) = d(tau) tau / sum_{j=1..tau} d(j); d'(0) = 1.
    running = np.cumsum(d, axis=1)
    cmnd = np.ones_like(d)
    np.divide(d * lags, running, out=cmnd, where=running > 0)
    cmnd[:, 0] = 1.0

    # Best lag (>= 2): the first local minimum below the threshold, else the global minimum.
    search = cmnd[:, 2:]
    falling_ends = np.empty(search.shape, dtype=bool)
    np.greater_equal(search[:, 1:], search[:, :-1], out=falling_ends[:, :-1])
    falling_ends[:, -1] = True
    candidates = falling_ends & (search < threshold)
    rows = np.arange(x.shape[0])
    first = np.argmax(candidates, axis=1)
    best = np.where(candidates[rows, first], first, np.argmin(search, axis=1)) + 2

    # Parabolic interpolation; best is a local minimum, so the shift lies within half a lag.
    left, at, right = cmnd[rows[:, None], np.minimum(best[:, None] + np.array([-1, 0, 1]), n_lags - 1)].T
    curvature = left - 2.0 * at + right
    shift = np.zeros_like(at)
    np.divide(0.5 * (left - right), curvature, out=shift, where=(curvature > 0) & (best < n_lags - 1))
    minimum = at - 0.25 * (left - right) * shift

    out = np.empty((x.shape[0], 4))
    out[:, 0] = sr / (best + shift)
    out[:, 1] = np.sqrt(np.maximum(r[:, 0], 0.0) * (1.0 / width))
    out[:, 2] = 1.0 - np.sqrt(np.clip(minimum, 0.0, 1.0))
    np.divide(r[:, 1], r[:, 0], out=out[:, 3], where=r[:, 0] > 0)
    out[(r[:, 0] <= 0) if silent is None else (silent | (r[:, 0] <= 0))] = 0.0
    return out
