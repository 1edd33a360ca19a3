"""Known answers for the spectral descriptors (design §2.2, docs/features.md)."""

from __future__ import annotations

import numpy as np
import pytest

from antiphon.config import AnalysisConfig
from antiphon.features import CHROMA_NAMES, FEATURE_NAMES, SPECTRAL_NAMES, analyze_signal, spectral
from tests.conftest import SR, sine

FREQS = np.arange(1025) * SR / 2048
NOT_SILENT = np.zeros(1, dtype=bool)


def moments(magnitude: np.ndarray, freqs: np.ndarray = FREQS):
    return spectral.spectral_moments(magnitude=magnitude[None, :], freqs=freqs, silent=NOT_SILENT)


def test_sine_centroid_is_its_frequency():
    d = analyze_signal(sine(1000.0), sample_rate_hz=SR)
    centroid = d.column("SpectralCentroid")
    assert np.median(centroid) == pytest.approx(1000.0, rel=5e-3)
    assert np.median(d.column("SpectralRolloff")) == pytest.approx(1000.0, abs=2 * SR / 2048)


@pytest.mark.parametrize(
    ("freq_hz", "pitch_class"),
    [(261.63, "C"), (277.18, "C#"), (329.63, "E"), (392.0, "G"), (440.0, "A"), (493.88, "B"), (880.0, "A"), (146.83, "D")],
)
def test_sine_chroma_class(freq_hz, pitch_class):
    d = analyze_signal(sine(freq_hz), sample_rate_hz=SR)
    chroma = np.stack([d.column(n) for n in CHROMA_NAMES], axis=1)
    strongest = np.argmax(chroma, axis=1)
    assert np.all(strongest == spectral.CHROMA_ORDER.index(pitch_class))
    assert np.allclose(chroma.max(axis=1), 1.0)


def test_flat_spectrum_gives_flat_chroma_and_analytic_moments():
    flat = np.ones(1025)
    centroid, spread, skewness, kurtosis = moments(flat)
    k = FREQS.size
    delta = SR / 2048
    assert centroid[0] == pytest.approx(SR / 4, rel=1e-12)
    assert spread[0] == pytest.approx(delta * np.sqrt((k * k - 1) / 12), rel=1e-9)
    assert skewness[0] == pytest.approx(0.0, abs=1e-9)
    assert kurtosis[0] == pytest.approx(1.8 - 2.4 / (k * k - 1), rel=1e-6)  # discrete uniform
    bank = spectral.ircam_chroma_filter_bank(sample_rate_hz=SR, n_fft=2048, fmin_hz=77.0, fmax_hz=1500.0, tuning_hz=440.0)
    chroma = spectral.chroma(magnitude=flat[None, :], filter_bank=bank, silent=NOT_SILENT)
    np.testing.assert_allclose(chroma[0], np.ones(12), rtol=1e-12)


def test_white_noise_chroma_is_flat_and_moments_match_theory():
    rng = np.random.default_rng(0)
    d = analyze_signal(0.1 * rng.standard_normal(SR * 10), sample_rate_hz=SR)
    chroma_mean = np.stack([d.column(n) for n in CHROMA_NAMES], axis=1).mean(axis=0)
    np.testing.assert_allclose(chroma_mean, chroma_mean.mean(), rtol=0.05)
    assert np.median(d.column("SpectralCentroid")) == pytest.approx(SR / 4, rel=0.01)
    assert np.median(d.column("SpectralSpread")) == pytest.approx(SR / 2 / np.sqrt(12), rel=0.01)
    assert np.median(d.column("SpectralSkewness")) == pytest.approx(0.0, abs=0.02)
    assert np.median(d.column("SpectralKurtosis")) == pytest.approx(1.8, rel=0.01)


def test_single_bin_spectrum_gives_that_bins_frequency():
    magnitude = np.zeros(1025)
    magnitude[93] = 0.7
    centroid, spread, skewness, kurtosis = moments(magnitude)
    assert centroid[0] == pytest.approx(FREQS[93], rel=1e-12)
    assert spread[0] == 0.0 and skewness[0] == 0.0 and kurtosis[0] == 0.0
    rolloff = spectral.spectral_rolloff(magnitude=magnitude[None, :], freqs=FREQS, silent=NOT_SILENT)
    assert rolloff[0] == FREQS[93]


def test_gaussian_spectrum_has_kurtosis_three():
    magnitude = np.exp(-0.5 * ((FREQS - 5000.0) / 500.0) ** 2)
    centroid, spread, skewness, kurtosis = moments(magnitude)
    assert centroid[0] == pytest.approx(5000.0, rel=1e-6)
    assert spread[0] == pytest.approx(500.0, rel=1e-4)
    assert skewness[0] == pytest.approx(0.0, abs=1e-6)
    assert kurtosis[0] == pytest.approx(3.0, rel=1e-4)


def test_five_bin_slope_decrease_rolloff_by_hand():
    a = np.array([[1.0, 4.0, 3.0, 2.0, 1.0]])
    f = np.array([0.0, 100.0, 200.0, 300.0, 400.0])
    centroid, *_ = spectral.spectral_moments(magnitude=a, freqs=f, silent=NOT_SILENT)
    assert centroid[0] == pytest.approx(2000 / 11)
    # (K sum f p - sum f sum p) / (K sum f^2 - (sum f)^2) = (5 * 2000/11 - 1000) / (5 * 3e5 - 1e6) = -1/5500
    assert spectral.spectral_slope(centroid=centroid, freqs=f, silent=NOT_SILENT)[0] == pytest.approx(-1 / 5500)
    # ((4-1)/1 + (3-1)/2 + (2-1)/3 + (1-1)/4) / (4 + 3 + 2 + 1) = (13/3) / 10
    assert spectral.spectral_decrease(magnitude=a, silent=NOT_SILENT)[0] == pytest.approx(13 / 30)
    # energies 1, 16, 9, 4, 1: cumulative 1, 17, 26, 30 reaches 0.95 * 31 = 29.45 at 300 Hz
    assert spectral.spectral_rolloff(magnitude=a, freqs=f, silent=NOT_SILENT)[0] == 300.0
    # magnitude rolloff at 0.85: cumulative 1, 5, 8, 10 reaches 0.85 * 11 = 9.35 at 300 Hz; at 0.5 (5.5): 200 Hz
    assert spectral.spectral_rolloff(magnitude=a, freqs=f, silent=NOT_SILENT, threshold=0.5, power=1.0)[0] == 200.0


def test_slope_is_level_invariant():
    a = np.array([[1.0, 4.0, 3.0, 2.0, 1.0]])
    f = np.array([0.0, 100.0, 200.0, 300.0, 400.0])
    values = []
    for gain in (1.0, 1e-3, 1e3):
        centroid, *_ = spectral.spectral_moments(magnitude=gain * a, freqs=f, silent=NOT_SILENT)
        values.append(spectral.spectral_slope(centroid=centroid, freqs=f, silent=NOT_SILENT)[0])
    assert values == pytest.approx([values[0]] * 3, rel=1e-12)


def test_variation_by_hand():
    a = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [2.0, 2.0, 0.0]])
    silent = np.zeros(3, dtype=bool)
    v = spectral.spectral_variation(magnitude=a, silent=silent)
    np.testing.assert_allclose(v, [0.0, 1 - 1 / np.sqrt(2), 0.0], atol=1e-12)
    with_previous = spectral.spectral_variation(magnitude=a[1:], silent=silent[1:], previous=a[0])
    np.testing.assert_allclose(with_previous, v[1:], atol=1e-15)


def test_silence_gives_documented_values_never_nan():
    d = analyze_signal(np.zeros(SR), sample_rate_hz=SR)
    assert d.n_silent == d.values.shape[0]
    assert not np.isnan(d.values).any()
    assert np.all(d.values == 0.0)


def test_silence_inside_music_marks_the_change():
    signal = np.concatenate([sine(440.0, 0.5), np.zeros(SR // 2), sine(440.0, 0.5)])
    d = analyze_signal(signal, sample_rate_hz=SR)
    variation = d.column("SpectralVariation")
    silent_rows = np.flatnonzero(d.column("SpectralCentroid") == 0.0)
    assert silent_rows.size > 10
    first, last = silent_rows[0], silent_rows[-1]
    assert variation[first] == 1.0 and variation[last + 1] == 1.0  # sound -> silence and back
    assert np.all(variation[first + 1 : last + 1] == 0.0)  # silence -> silence: no change
    assert np.all(d.values[first + 1 : last + 1, : len(SPECTRAL_NAMES)] == 0.0)
    assert not np.isnan(d.values).any()


def test_raw_moments_match_the_direct_formula_on_music(real_clip):
    signal, sr = real_clip
    from antiphon.features import FrameAnalyzer, frame_signal

    analyzer = FrameAnalyzer(AnalysisConfig(), sr)
    frames = frame_signal(signal, n_fft=2048, hop_length=512, center=False)[::7]
    _, magnitude, silent = analyzer.analyze(frames)
    p = magnitude / magnitude.sum(axis=1, keepdims=True)
    mu = p @ analyzer.freqs
    deviation = analyzer.freqs[None, :] - mu[:, None]
    sigma = np.sqrt(np.sum(p * deviation**2, axis=1))
    skew = np.sum(p * deviation**3, axis=1) / sigma**3
    kurt = np.sum(p * deviation**4, axis=1) / sigma**4
    ours = spectral.spectral_moments(magnitude=magnitude, freqs=analyzer.freqs, silent=silent)
    for got, want in zip(ours, (mu, sigma, skew, kurt)):
        np.testing.assert_allclose(got, want, rtol=1e-9)


def test_feature_names_are_the_papers_twenty_then_signal_yin_harmonic_and_perceptual():
    from antiphon.feature_names import HARMONIC_NAMES, PERCEPTUAL_NAMES

    assert len(SPECTRAL_NAMES) == 20
    assert FEATURE_NAMES[:20] == SPECTRAL_NAMES
    assert CHROMA_NAMES[0] == "Chroma01" and CHROMA_NAMES[-1] == "Chroma12"
    assert FEATURE_NAMES[20:26] == ("ZeroCrossingRate", "TotalEnergy", "Frequency", "Energy", "Periodicity", "AC1")
    assert FEATURE_NAMES[26:] == HARMONIC_NAMES + PERCEPTUAL_NAMES and len(HARMONIC_NAMES) == 9 and len(PERCEPTUAL_NAMES) == 16


@pytest.mark.parametrize(("threshold", "power"), [(0.95, 2.0), (0.85, 1.0), (0.5, 1.5)])
def test_two_level_rolloff_equals_the_plain_cumulative_search(real_clip, threshold, power):
    signal, sr = real_clip
    from antiphon.features import FrameAnalyzer, frame_signal

    analyzer = FrameAnalyzer(AnalysisConfig(), sr)
    _, magnitude, silent = analyzer.analyze(frame_signal(signal, n_fft=2048, hop_length=512, center=False))
    cumulative = np.cumsum(magnitude**power, axis=1)
    plain = analyzer.freqs[np.argmax(cumulative >= threshold * cumulative[:, -1:], axis=1)]
    ours = spectral.spectral_rolloff(magnitude=magnitude, freqs=analyzer.freqs, silent=silent, threshold=threshold, power=power)
    np.testing.assert_array_equal(ours, np.where(silent, 0.0, plain))


def test_single_precision_fft_stays_close_to_double(real_clip):
    """Measured bounds, documented in docs/features.md: the higher moments weight the weak high
    bins, where single-precision rounding lives, the most."""
    signal, sr = real_clip
    single = analyze_signal(signal, sample_rate_hz=sr)
    double = analyze_signal(signal, sample_rate_hz=sr, config=AnalysisConfig(fft_precision="double"))
    bounds = {"SpectralCentroid": 1e-4, "SpectralSpread": 1e-3, "SpectralSkewness": 3e-3, "SpectralKurtosis": 1e-2}
    for name in single.names:
        if name.startswith("MFCC"):  # dB values that cross 0: an absolute bound (measured 4e-3 dB at most)
            np.testing.assert_allclose(single.column(name), double.column(name), rtol=0, atol=0.01, err_msg=name)
        elif name != "SpectralRolloff":
            np.testing.assert_allclose(single.column(name), double.column(name), rtol=bounds.get(name, 1e-4), atol=1e-12, err_msg=name)
    # the rolloff is a bin frequency: rounding may move a frame to the next bin, rarely
    assert np.mean(single.column("SpectralRolloff") == double.column("SpectralRolloff")) > 0.99
