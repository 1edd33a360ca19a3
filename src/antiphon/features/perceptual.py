"""Perceptual descriptors after Peeters 2004 (CUIDADO) / IrcamDescriptor, as pure functions.

From the power spectrum P_k = a_k^2 (T, K) of each frame:

- the energy E_z of each of Zwicker's 24 critical bands (Bark bands, :data:`BARK_EDGES_HZ`);
- specific loudness N'_z = E_z^0.23 (Peeters' simplified loudness model), and Loudness N = sum N'_z;
- Sharpness (Zwicker, Aures' weighting as in Peeters): 0.11 x sum_z z g(z) N'_z / N, with
  g(z) = 1 below band 15 and 0.066 exp(0.171 z) from it; z = 1..24;
- PerceptualSpread: ((N - max_z N'_z) / N)^2: near 0 when one band dominates, towards 1 when
  the loudness is spread over many;
- MFCC01..13: the orthonormal DCT-II of 10 log10(max(mel energies, 1e-10)) over ``n_mels``
  triangular mel filters (Slaney's mel scale and area normalisation, 0 Hz to Nyquist, as
  librosa's defaults: the tests check the coefficients against librosa's).

Silent frames give 0 for every perceptual descriptor.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

#: Zwicker's critical band edges, Hz: 24 bands
BARK_EDGES_HZ = (
    0,
    100,
    200,
    300,
    400,
    510,
    630,
    770,
    920,
    1080,
    1270,
    1480,
    1720,
    2000,
    2320,
    2700,
    3150,
    3700,
    4400,
    5300,
    6400,
    7700,
    9500,
    12000,
    15500,
)
N_MFCC = 13
#: specific loudness exponent (N'_z = E_z ** LOUDNESS_EXPONENT)
LOUDNESS_EXPONENT = 0.23


def bark_bands(freqs: np.ndarray) -> np.ndarray:
    """(24, K) 0/1 matrix: which bins each Bark band sums (bins above 15.5 kHz belong to none)."""
    edges = np.asarray(BARK_EDGES_HZ, dtype=np.float64)
    return ((freqs[None, :] >= edges[:-1, None]) & (freqs[None, :] < edges[1:, None])).astype(np.float64)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear (3 per 200 Hz) below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    linear = f / (200.0 / 3)
    log_step = np.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / log_step, linear)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(log_step * (m - 15.0)), m * (200.0 / 3))


@lru_cache(maxsize=8)
def mel_filter_bank(sample_rate_hz: float, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on Slaney's mel scale from 0 Hz to Nyquist,
    each scaled by 2 / its width in Hz (equal area)."""
    freqs = np.arange(n_fft // 2 + 1) * (sample_rate_hz / n_fft)
    points = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate_hz / 2), n_mels + 2))
    widths = np.diff(points)
    ramps = points[:, None] - freqs[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    bank = np.maximum(0.0, np.minimum(rising, falling))
    bank *= (2.0 / (points[2:] - points[:-2]))[:, None]
    bank.setflags(write=False)
    return bank


def perceptual_descriptors(power: np.ndarray, bark: np.ndarray, mel: np.ndarray, silent: np.ndarray) -> np.ndarray:
    """Loudness, Sharpness, PerceptualSpread and MFCC01..13 (T, 16) from the power spectrum (T, K),
    the Bark band matrix (24, K) of :func:`bark_bands` and the mel filter bank (M, K)."""
    specific = (power @ bark.T) ** LOUDNESS_EXPONENT  # (T, 24)
    loudness = specific.sum(axis=1)
    z = np.arange(1, specific.shape[1] + 1, dtype=np.float64)
    weighting = np.where(z < 15, 1.0, 0.066 * np.exp(0.171 * z))
    audible = ~silent & (loudness > 0)
    safe = np.where(audible, loudness, 1.0)
    out = np.zeros((power.shape[0], 3 + N_MFCC))
    out[:, 0] = loudness
    out[:, 1] = 0.11 * (specific @ (z * weighting)) / safe
    out[:, 2] = ((loudness - specific.max(axis=1)) / safe) ** 2
    log_mel = 10.0 * np.log10(np.maximum(power @ mel.T, 1e-10))
    out[:, 3:] = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1)[:, :N_MFCC]
    out[~audible] = 0.0
    return out
