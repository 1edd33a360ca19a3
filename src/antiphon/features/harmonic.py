"""Harmonic descriptors after Peeters 2004 (CUIDADO) / IrcamDescriptor, as pure functions.

Given a magnitude spectrogram ``magnitude`` (T, K) with bin spacing ``df`` Hz and a fundamental
frequency estimate per frame (Yin's), each frame's first ``n_harmonics`` harmonic peaks are found:
for harmonic h the largest bin within a quarter of f0 of h f0, refined by parabolic interpolation
of the log magnitude (frequency f_h in Hz, amplitude a_h, linear magnitude). Harmonics above
0.95 x Nyquist are left out. Then, with sums over the harmonics found:

- FundamentalFrequency (Hz): the f0 of the harmonic series that best fits the peaks, by least
  squares weighted by their energy: f0 = sum h f_h a_h^2 / sum h^2 a_h^2 (Yin's estimate only
  picks the peaks, so an error of Yin's does not read as inharmonicity);
- Inharmonicity: 2 / f0 x sum |f_h - h f0| a_h^2 / sum a_h^2 (0 for a harmonic sound);
- HarmonicSpectralCentroid (Hz): sum f_h a_h / sum a_h;
- HarmonicSpectralDeviation: mean over h of |a_h - SE_h| / max a, SE_h the mean amplitude of
  harmonics h-1, h, h+1 (Peeters' local spectral envelope), divided by the strongest harmonic
  so that it does not scale with the level (IrcamDescriptor normalises the signal instead);
- HarmonicSpectralSpread: sqrt(sum a_h^2 (f_h - centroid)^2 / sum a_h^2) / centroid (a fraction
  of the centroid, as Peeters);
- HarmonicOddToEvenRatio: sum of a_h^2 over odd h (1, 3, 5, ...) / sum over even h; a sound
  without even harmonics (a pure tone, a square wave) gives at most ODD_EVEN_MAX;
- HarmonicTristimulus01..03 (Pollard & Jansson): a_1, a_2 + a_3 + a_4, and sum_{h>=5} a_h, each
  over sum a_h.

A frame is *unvoiced* when it is silent or Yin's periodicity is below ``min_periodicity``
(noise): every harmonic descriptor is 0 there, never NaN.
"""

from __future__ import annotations

import numpy as np

#: the odd-to-even ratio of a sound without even harmonics (the even energy is floored at 1e-6 of the odd)
ODD_EVEN_MAX = 1e6
#: harmonic peaks are searched within this fraction of f0 of h f0
SEARCH_FRACTION = 0.25


def harmonic_peaks(magnitude: np.ndarray, f0_hz: np.ndarray, df_hz: float, n_harmonics: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz) and amplitudes (linear magnitude) of harmonics 1..n_harmonics, each (T, H);
    0 where a harmonic lies above 0.95 x Nyquist or the frame has no f0 (f0_hz <= 0)."""
    n_frames, n_bins = magnitude.shape
    h = np.arange(1, n_harmonics + 1)
    centre = f0_hz[:, None] * h / df_hz  # (T, H) in bins
    half = np.maximum(SEARCH_FRACTION * f0_hz / df_hz, 1.0)  # (T,) search half-width in bins, at least one
    reach = int(np.ceil(np.max(half, initial=1.0)))
    offsets = np.arange(-reach, reach + 1)
    candidates = np.rint(centre)[:, :, None] + offsets  # (T, H, 2R+1)
    valid = (np.abs(candidates - centre[:, :, None]) <= half[:, None, None]) & (candidates >= 1) & (candidates <= n_bins - 2)
    index = np.clip(candidates, 1, n_bins - 2).astype(np.intp)
    rows = np.arange(n_frames)[:, None, None]
    values = np.where(valid, magnitude[rows, index], -1.0)
    best = np.take_along_axis(index, np.argmax(values, axis=2)[:, :, None], axis=2)[:, :, 0]  # (T, H) peak bins
    frame_rows = np.arange(n_frames)[:, None]
    with np.errstate(divide="ignore"):
        left, at, right = (np.log(np.maximum(magnitude[frame_rows, best + k], 1e-300)) for k in (-1, 0, 1))
    curvature = left - 2.0 * at + right
    shift = np.zeros_like(at)
    np.divide(0.5 * (left - right), curvature, out=shift, where=curvature < 0)  # a maximum: the parabola opens downwards
    shift = np.clip(shift, -0.5, 0.5)
    frequencies = (best + shift) * df_hz
    amplitudes = np.exp(at - 0.25 * (left - right) * shift)
    present = (f0_hz[:, None] > 0) & (centre <= 0.95 * (n_bins - 1)) & valid.any(axis=2)
    return np.where(present, frequencies, 0.0), np.where(present, amplitudes, 0.0)


def harmonic_descriptors(frequencies: np.ndarray, amplitudes: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """The nine harmonic descriptors (T, 9) in :data:`HARMONIC_NAMES` order from the peaks (T, H) of
    :func:`harmonic_peaks`; 0 for frames that are not ``voiced`` or have no peak."""
    n_frames, n_harmonics = amplitudes.shape
    h = np.arange(1, n_harmonics + 1, dtype=np.float64)
    energy = amplitudes**2
    total_energy = energy.sum(axis=1)
    total = amplitudes.sum(axis=1)
    ok = voiced & (total > 0)
    safe_energy = np.where(ok, total_energy, 1.0)
    safe_total = np.where(ok, total, 1.0)
    out = np.zeros((n_frames, 9))

    f0 = (energy * frequencies) @ h / np.maximum((energy @ h**2), 1e-300)
    out[:, 0] = f0
    present = amplitudes > 0
    deviation = np.where(present, np.abs(frequencies - f0[:, None] * h), 0.0)
    out[:, 1] = 2.0 / np.where(f0 > 0, f0, 1.0) * (energy * deviation).sum(axis=1) / safe_energy
    centroid = (amplitudes * frequencies).sum(axis=1) / safe_total
    out[:, 2] = centroid
    padded = np.pad(amplitudes, ((0, 0), (1, 1)))
    counts = np.pad(present.astype(np.float64), ((0, 0), (1, 1)))
    neighbours = counts[:, :-2] + counts[:, 1:-1] + counts[:, 2:]
    envelope = (padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]) / np.maximum(neighbours, 1.0)
    strongest = np.where(ok, amplitudes.max(axis=1), 1.0)
    out[:, 3] = np.where(present, np.abs(amplitudes - envelope), 0.0).sum(axis=1) / np.maximum(present.sum(axis=1), 1) / strongest
    spread = np.sqrt(np.maximum((energy * (frequencies - centroid[:, None]) ** 2).sum(axis=1), 0.0) / safe_energy)
    out[:, 4] = spread / np.where(centroid > 0, centroid, 1.0)
    odd = energy[:, 0::2].sum(axis=1)
    even = energy[:, 1::2].sum(axis=1)
    out[:, 5] = odd / np.maximum(even, odd / ODD_EVEN_MAX + 1e-300)
    out[:, 6] = amplitudes[:, 0] / safe_total
    out[:, 7] = amplitudes[:, 1:4].sum(axis=1) / safe_total
    out[:, 8] = amplitudes[:, 4:].sum(axis=1) / safe_total
    out[~ok] = 0.0
    return out
