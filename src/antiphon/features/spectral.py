"""Spectral descriptors after Peeters 2004 (CUIDADO) / IrcamDescriptor, as pure functions.

Every function takes a linear magnitude spectrogram ``magnitude`` of shape ``(T, K)``
(``T`` frames, ``K = n_fft // 2 + 1`` bins from 0 Hz to Nyquist) and the bin frequencies
``freqs`` in Hz, shape ``(K,)``, and returns one value per frame, shape ``(T,)`` (chroma:
``(T, 12)``). A frame counts as *silent* when ``silent[t]`` is true; silent frames get the
documented value 0 (chroma: all 0), never NaN. Notation: a_k magnitude, f_k frequency,
p_k = a_k / sum(a).

The offline analyzer and the streaming extractor both call these functions (the streaming one
with ``T = 1``), so the two paths give the same numbers. The moments are computed from raw
power sums with one matrix product, which is several times faster than forming the deviation
matrix ``f - mu``; its rounding error grows like (centroid / spread)^4 and stays below 1e-9
relative on music and on pure tones below 5 kHz (the tests pin this against the direct formula).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from antiphon.feature_names import CHROMA_ORDER

N_CHROMA = len(CHROMA_ORDER)


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0, else 0 (the silent-frame value)."""
    out = np.zeros(np.broadcast_shapes(np.shape(num), np.shape(den)))
    np.divide(num, den, out=out, where=den > 0)
    return out


def frequency_powers(freqs: np.ndarray) -> np.ndarray:
    """(K, 5) matrix of f^0 .. f^4; ``magnitude @ frequency_powers(freqs)`` gives the raw sums
    that :func:`moments_from_sums` turns into moments (hot paths build it once)."""
    f = np.asarray(freqs, dtype=np.float64)
    return np.stack([np.ones_like(f), f, f * f, f**3, f**4], axis=1)


def spectral_moments(
    *, magnitude: np.ndarray, freqs: np.ndarray, silent: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Centroid (Hz), spread (Hz, a standard deviation), skewness and kurtosis (not excess).

    mu = sum f p; spread = sqrt(sum (f - mu)^2 p); skewness = m3 / spread^3; kurtosis = m4 / spread^4,
    so a Gaussian-shaped spectrum gives kurtosis 3. Silent frames give 0 for all four; a frame
    whose energy sits in one bin (spread 0) gives skewness 0 and kurtosis 0 (undefined).
    Shapes: (T, K), (K,), (T,) -> four arrays (T,).
    """
    return moments_from_sums(magnitude @ frequency_powers(freqs), silent)


def moments_from_sums(sums: np.ndarray, silent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Centroid, spread, skewness and kurtosis from ``sums`` (T, 5) = sum_k a_k f_k^j, j = 0..4."""
    raw = _safe_divide(sums[:, 1:], np.where(silent, 0.0, sums[:, 0])[:, None])  # (T, 4): E[f^j]
    mu, r2, r3, r4 = raw.T
    mu2 = mu * mu
    m2 = np.maximum(r2 - mu2, 0.0)
    m3 = r3 - 3 * mu * r2 + 2 * mu2 * mu
    m4 = np.maximum(r4 - 4 * mu * r3 + 6 * mu2 * r2 - 3 * mu2 * mu2, 0.0)
    spread = np.sqrt(m2)
    # A spread below 1e-9 of the centroid is rounding noise of a single-bin spectrum.
    spread[spread <= 1e-9 * np.maximum(mu, 1.0)] = 0.0
    skewness = _safe_divide(m3, spread * m2)
    kurtosis = _safe_divide(m4, np.where(spread > 0, m2 * m2, 0.0))
    return mu, spread, skewness, kurtosis


def spectral_slope(*, centroid: np.ndarray, freqs: np.ndarray, silent: np.ndarray) -> np.ndarray:
    """Slope of the linear regression of p_k on f_k, in 1/Hz (level invariant).

    slope = (K sum f p - sum f sum p) / (K sum f^2 - (sum f)^2). Because sum p = 1, this equals
    (K * centroid - sum f) / (K sum f^2 - (sum f)^2): an affine function of the centroid.
    Silent frames give 0. Shapes: (T,), (K,), (T,) -> (T,).
    """
    k = freqs.size
    total = float(freqs.sum())
    denominator = k * float(np.dot(freqs, freqs)) - total * total
    slope = (k * centroid - total) / denominator
    slope[silent] = 0.0
    return slope


def spectral_decrease(*, magnitude: np.ndarray, silent: np.ndarray) -> np.ndarray:
    """Peeters' decrease: sum_{k>=1} (a_k - a_0) / k / sum_{k>=1} a_k (dimensionless, <= 1).

    k is the 0-based bin index and a_0 the DC bin, as in the Timbre Toolbox. Silent frames, and
    frames with no energy above DC, give 0. Shapes: (T, K), (T,) -> (T,).
    """
    inv_k, inv_k_sum = _inverse_indices(magnitude.shape[1])
    upper = magnitude[:, 1:]
    numerator = upper @ inv_k - magnitude[:, 0] * inv_k_sum
    denominator = np.where(silent, 0.0, upper.sum(axis=1))
    return _safe_divide(numerator, denominator)


@lru_cache(maxsize=8)
def _inverse_indices(n_bins: int) -> tuple[np.ndarray, float]:
    inv_k = 1.0 / np.arange(1, n_bins)
    inv_k.setflags(write=False)
    return inv_k, float(inv_k.sum())


def spectral_rolloff(
    *, magnitude: np.ndarray, freqs: np.ndarray, silent: np.ndarray, threshold: float = 0.95, power: float = 2.0
) -> np.ndarray:
    """Lowest bin frequency (Hz) where the cumulative sum of a_k**power reaches threshold x total.

    Peeters: threshold 0.95 on energy (power 2); librosa: 0.85 on magnitude (power 1).
    Silent frames give 0. Shapes: (T, K), (K,), (T,) -> (T,).

    A row-wise cumulative sum over all K bins is the slowest step of a long analysis, so for
    many frames the crossing is found in two steps (the same bins; a test pins the two paths): sums of blocks of bins locate the
    block, then a cumulative sum inside that block locates the bin.
    """
    weighted = magnitude * magnitude if power == 2.0 else magnitude if power == 1.0 else magnitude**power
    n_frames, n_bins = weighted.shape
    if n_frames < 8:  # a few frames (streaming): the plain search has fewer steps
        cumulative = np.cumsum(weighted, axis=1)
        rolloff = freqs[np.argmax(cumulative >= threshold * cumulative[:, -1:], axis=1)].astype(np.float64)
        rolloff[silent] = 0.0
        return rolloff
    starts = np.arange(0, n_bins, _ROLLOFF_BLOCK)
    block_cumulative = np.cumsum(np.add.reduceat(weighted, starts, axis=1), axis=1)  # (T, n_blocks)
    target = threshold * block_cumulative[:, -1]
    block = np.argmax(block_cumulative >= target[:, None], axis=1)
    before = np.take_along_axis(block_cumulative, np.maximum(block - 1, 0)[:, None], axis=1)[:, 0]
    before[block == 0] = 0.0
    columns = np.minimum(block[:, None] * _ROLLOFF_BLOCK + np.arange(_ROLLOFF_BLOCK), n_bins - 1)
    inside = np.take_along_axis(weighted, columns, axis=1)
    inside[columns != block[:, None] * _ROLLOFF_BLOCK + np.arange(_ROLLOFF_BLOCK)] = 0.0  # past the last bin
    cumulative = before[:, None] + np.cumsum(inside, axis=1)
    index = np.take_along_axis(columns, np.argmax(cumulative >= target[:, None], axis=1)[:, None], axis=1)[:, 0]
    rolloff = freqs[index].astype(np.float64)
    rolloff[silent] = 0.0
    return rolloff


_ROLLOFF_BLOCK = 32


def spectral_variation(
    *,
    magnitude: np.ndarray,
    silent: np.ndarray,
    previous: np.ndarray | None = None,
    previous_silent: bool = False,
    energy: np.ndarray | None = None,
) -> np.ndarray:
    """1 - cosine similarity of each magnitude spectrum with the one before it (range [0, 1]).

    ``previous`` (shape (K,)) is the spectrum before the first row, or ``None`` when the first
    row starts the signal (its value is then 0). Two silent frames in a row give 0 (no change);
    a silent frame next to a sounding one gives 1. ``energy`` (T,) is sum(a_k^2) per row, if the
    caller has it already. Shapes: (T, K), (T,) -> (T,).
    """
    norms = np.sqrt(np.einsum("ij,ij->i", magnitude, magnitude) if energy is None else energy)
    dots = np.einsum("ij,ij->i", magnitude[1:], magnitude[:-1])
    before_norms, before_silent = norms[:-1], silent[:-1]
    if previous is not None:
        dots = np.concatenate([[np.dot(previous, magnitude[0])], dots])
        before_norms = np.concatenate([[np.sqrt(np.dot(previous, previous))], before_norms])
        before_silent = np.concatenate([[previous_silent], before_silent])
    now_silent = silent[-dots.size :] if dots.size else silent[:0]
    change = 1.0 - _safe_divide(dots, norms[-dots.size :] * before_norms if dots.size else dots)
    change[now_silent != before_silent] = 1.0
    change[now_silent & before_silent] = 0.0
    np.clip(change, 0.0, 1.0, out=change)
    if previous is None:
        change = np.concatenate([[0.0], change])
    return change


def chroma(*, magnitude: np.ndarray, filter_bank: np.ndarray, silent: np.ndarray, bins: slice = slice(None)) -> np.ndarray:
    """Energy (a_k^2) per pitch class through ``filter_bank`` (K, 12), normalised to max 1.

    ``bins`` may restrict the product to the rows where the filter bank is not zero (see
    :func:`filter_bank_support`); the result is the same, faster. Column 0 is C (see
    :data:`CHROMA_ORDER`). Silent frames give 12 zeros. Shapes: (T, K), (K, 12), (T,) -> (T, 12).
    """
    band = magnitude[:, bins]
    energy = (band * band) @ filter_bank[bins]  # (T, 12)
    peak = np.where(silent, 0.0, energy.max(axis=1))
    return _safe_divide(energy, peak[:, None])


def filter_bank_support(filter_bank: np.ndarray) -> slice:
    """The smallest slice of rows (FFT bins) outside which ``filter_bank`` is all zero."""
    rows = np.flatnonzero(np.any(filter_bank != 0, axis=1))
    return slice(int(rows[0]), int(rows[-1]) + 1) if rows.size else slice(0, 0)


@lru_cache(maxsize=32)
def ircam_chroma_filter_bank(*, sample_rate_hz: float, n_fft: int, fmin_hz: float, fmax_hz: float, tuning_hz: float) -> np.ndarray:
    """Semitone-band chroma weights (K, 12), IrcamDescriptor-style (1-semitone resolution).

    Band m (MIDI note m, centre tuning * 2**((m - 69) / 12), edges a quarter tone either side)
    collects the energy of every FFT bin in proportion to the overlap of the bin's frequency
    interval with the part of the band inside [fmin_hz, fmax_hz]. A pitch class is the mean
    over its octaves of band energy / band width, each band weighted by the fraction of it
    inside the range, so white noise gives exactly flat chroma whatever the range.
    """
    k = n_fft // 2 + 1
    bin_width = sample_rate_hz / n_fft
    bin_lo = np.arange(k) * bin_width - bin_width / 2
    bin_hi = bin_lo + bin_width
    m_lo = int(np.floor(69 + 12 * np.log2(fmin_hz / tuning_hz))) - 1
    m_hi = int(np.ceil(69 + 12 * np.log2(fmax_hz / tuning_hz))) + 1
    bank = np.zeros((k, N_CHROMA))
    inclusion = np.zeros(N_CHROMA)
    for m in range(m_lo, m_hi + 1):
        centre = tuning_hz * 2.0 ** ((m - 69) / 12)
        band_lo, band_hi = centre * 2.0 ** (-1 / 24), centre * 2.0 ** (1 / 24)
        lo, hi = max(band_lo, fmin_hz), min(band_hi, fmax_hz)
        if hi <= lo:
            continue
        overlap = np.clip(np.minimum(bin_hi, hi) - np.maximum(bin_lo, lo), 0.0, None)
        bank[:, m % 12] += overlap / bin_width / (band_hi - band_lo)
        inclusion[m % 12] += (hi - lo) / (band_hi - band_lo)
    bank /= np.where(inclusion > 0, inclusion, 1.0)
    bank.setflags(write=False)
    return bank


@lru_cache(maxsize=32)
def librosa_chroma_filter_bank(
    *, sample_rate_hz: float, n_fft: int, tuning_hz: float, center_octave: float, octave_width: float
) -> np.ndarray:
    """Ellis's chroma weights (K, 12) as librosa 0.11 ``filters.chroma(base_c=True, norm=2)`` builds them.

    Each FFT bin spreads over the 12 classes as a Gaussian in semitones (width = the bin's width
    in semitones), columns are L2-normalised over the classes, then weighted by a Gaussian in
    octaves around ``center_octave`` (octaves above tuning/16) of width ``octave_width``
    (0 = no weighting). Row order C first.
    """
    sr = float(sample_rate_hz)
    freqs = np.arange(1, n_fft) * sr / n_fft  # every FFT bin but DC, up to (n_fft - 1) / n_fft * sr
    semitones = N_CHROMA * np.log2(freqs / (tuning_hz / 16.0))  # semitones above A0
    semitones = np.concatenate([[semitones[0] - 1.5 * N_CHROMA], semitones])  # a made-up DC bin
    widths = np.concatenate([np.maximum(np.diff(semitones), 1.0), [1.0]])
    distance = semitones[None, :] - np.arange(N_CHROMA)[:, None]  # (12, n_fft)
    half = np.round(N_CHROMA / 2)
    distance = np.remainder(distance + half + 10 * N_CHROMA, N_CHROMA) - half
    weights = np.exp(-0.5 * (2 * distance / widths[None, :]) ** 2)
    weights /= np.linalg.norm(weights, axis=0, keepdims=True)
    if octave_width > 0:
        weights *= np.exp(-0.5 * ((semitones / N_CHROMA - center_octave) / octave_width) ** 2)[None, :]
    weights = np.roll(weights, -3, axis=0)  # rows start at A; put C first
    bank = np.ascontiguousarray(weights[:, : n_fft // 2 + 1].T)
    bank.setflags(write=False)
    return bank
