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

YIN_NAMES: tuple[str, ...] = ("Frequency", "Energy", "Periodicity", "AC1")


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
    # Mean-based downsampling as pipo.yin does; strided sums avoid copying overlapping frame views.
    x = frames[:, 0 : n * factor : factor].copy()
    for phase in range(1, factor):
        x += frames[:, phase : n * factor : factor]
    x *= 1.0 / factor  # (T, n)
    sr = sample_rate_hz / factor
    n_lags = int(np.ceil(sr / min_freq_hz)) + 2 if min_freq_hz > 0 else n // 2
    if n_lags >= n or n_lags < 4:
        raise ValueError(f"a {frames.shape[1]}-sample frame is too short for Yin down to {min_freq_hz} Hz")
    width = n - n_lags  # integration window W

    # r(tau) = sum_{j<W} x_j x_{j+tau}, by FFT; e(tau) = sum_{j<W} x_{j+tau}^2 by cumulative sums.
    size = 1 << int(np.ceil(np.log2(n + width - 1)))  # powers of two are the fastest sizes here
    spectrum = np.fft.rfft(x, size, axis=1)
    spectrum *= np.conj(np.fft.rfft(x[:, :width], size, axis=1))
    r = np.fft.irfft(spectrum, size, axis=1)[:, :n_lags]  # (T, L)
    c = np.zeros((x.shape[0], n + 1))
    np.cumsum(x * x, axis=1, out=c[:, 1:])
    e = c[:, width : width + n_lags] - c[:, :n_lags]
    d = e[:, :1] + e
    d -= 2.0 * r
    np.maximum(d, 0.0, out=d)  # difference function (T, L)
    lags = np.arange(n_lags)

    running = np.cumsum(d[:, 1:], axis=1)  # sum_{j=1..tau} d(j)
    cmnd = np.ones_like(d)
    np.divide(d[:, 1:] * lags[1:], running, out=cmnd[:, 1:], where=running > 0)

    search = cmnd[:, 2:]  # lags >= 2 (lag 1 is always 1)
    below = search < threshold
    first = np.argmax(below, axis=1)
    rising = np.ones(search.shape, dtype=bool)
    np.greater_equal(search[:, 1:], search[:, :-1], out=rising[:, :-1])
    rising &= lags[None, : search.shape[1]] >= first[:, None]  # the local minimum after the first dip
    best = np.where(below[np.arange(x.shape[0]), first], np.argmax(rising, axis=1), np.argmin(search, axis=1)) + 2

    # Parabolic interpolation; best is a local minimum, so the shift lies within half a lag.
    rows = np.arange(x.shape[0])
    at = cmnd[rows, best]
    left = cmnd[rows, best - 1]
    right = cmnd[rows, np.minimum(best + 1, n_lags - 1)]
    curvature = left - 2 * at + right
    shift = np.zeros_like(at)
    np.divide(0.5 * (left - right), curvature, out=shift, where=(curvature > 0) & (best + 1 < n_lags))
    minimum = at - 0.25 * (left - right) * shift

    out = np.empty((x.shape[0], 4))
    out[:, 0] = sr / (best + shift)
    out[:, 1] = np.sqrt(np.maximum(r[:, 0], 0.0) / width)
    out[:, 2] = 1.0 - np.sqrt(np.minimum(np.maximum(minimum, 0.0), 1.0))
    out[:, 3] = 0.0
    np.divide(r[:, 1], r[:, 0], out=out[:, 3], where=r[:, 0] > 0)
    dead = r[:, 0] <= 0 if silent is None else silent | (r[:, 0] <= 0)
    out[dead] = 0.0
    return out
