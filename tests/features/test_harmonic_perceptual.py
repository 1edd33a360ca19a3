"""Harmonic and Perceptual descriptors (Peeters 2004) on signals whose answers are known: a
harmonic series, a stiff string, a pure tone, noise; the MFCC against librosa's."""

from __future__ import annotations

import numpy as np
import pytest

from antiphon.config import AnalysisConfig
from antiphon.feature_names import HARMONIC_NAMES, MFCC_NAMES, PERCEPTUAL_NAMES
from antiphon.features import StreamingExtractor, analyze_signal

SR = 44100


def partials(freqs: np.ndarray, amps: np.ndarray, seconds: float = 1.0, scale: float = 0.05) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return scale * np.sum([a * np.sin(2 * np.pi * f * t) for f, a in zip(freqs, amps, strict=True)], axis=0)


def steady(signal: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    """Each descriptor's median over the frames away from the edges."""
    d = analyze_signal(signal, sample_rate_hz=SR, categories=("Harmonic", "Perceptual"))
    return {n: float(np.median(d.column(n)[5:-5])) for n in names}


def expected_harmonic(freqs: np.ndarray, amps: np.ndarray) -> dict[str, float]:
    """The definitions of docs/features.md applied to the true partials."""
    h = np.arange(1, freqs.size + 1)
    energy = amps**2
    f0 = np.sum(h * freqs * energy) / np.sum(h**2 * energy)
    centroid = np.sum(freqs * amps) / amps.sum()
    envelope = np.array([amps[max(0, i - 1) : i + 2].mean() for i in range(amps.size)])
    return {
        "FundamentalFrequency": f0,
        "Inharmonicity": 2 / f0 * np.sum(np.abs(freqs - h * f0) * energy) / energy.sum(),
        "HarmonicSpectralCentroid": centroid,
        "HarmonicSpectralDeviation": np.mean(np.abs(amps - envelope)) / amps.max(),
        "HarmonicSpectralSpread": np.sqrt(np.sum(energy * (freqs - centroid) ** 2) / energy.sum()) / centroid,
        "HarmonicOddToEvenRatio": energy[0::2].sum() / energy[1::2].sum(),
        "HarmonicTristimulus01": amps[0] / amps.sum(),
        "HarmonicTristimulus02": amps[1:4].sum() / amps.sum(),
        "HarmonicTristimulus03": amps[4:].sum() / amps.sum(),
    }


def test_a_harmonic_series_gives_the_definitions_values():
    h = np.arange(1, 21)
    freqs, amps = 220.0 * h, 1.0 / h
    got, want = steady(partials(freqs, amps), HARMONIC_NAMES), expected_harmonic(freqs, amps)
    assert got["FundamentalFrequency"] == pytest.approx(220.0, rel=1e-3)
    assert got["Inharmonicity"] < 0.003  # exactly harmonic: only the peak interpolation's error
    for name in ("HarmonicSpectralCentroid", "HarmonicSpectralSpread", "HarmonicOddToEvenRatio", *HARMONIC_NAMES[6:]):
        assert got[name] == pytest.approx(want[name], rel=0.01), name
    assert got["HarmonicSpectralDeviation"] == pytest.approx(want["HarmonicSpectralDeviation"], rel=0.05)


def test_a_stiff_string_reads_as_inharmonic():
    """Partials stretched as a piano string's, f_h = h f0 sqrt(1 + B h^2), B = 1e-4 (a peak farther
    than f0 / 4 from h f0 is not found: B = 4e-4 pushes the 15th partial 74 Hz out)."""
    h = np.arange(1, 16)
    freqs, amps = 150.0 * h * np.sqrt(1 + 1e-4 * h**2), 1.0 / h
    got, want = steady(partials(freqs, amps), HARMONIC_NAMES), expected_harmonic(freqs, amps)
    assert want["Inharmonicity"] > 0.01
    assert got["Inharmonicity"] == pytest.approx(want["Inharmonicity"], rel=0.1)
    assert got["FundamentalFrequency"] == pytest.approx(want["FundamentalFrequency"], rel=2e-3)


def test_a_pure_tone_is_all_fundamental():
    got = steady(partials(np.array([440.0]), np.array([1.0])), HARMONIC_NAMES)
    assert got["FundamentalFrequency"] == pytest.approx(440.0, rel=1e-3)
    assert got["HarmonicTristimulus01"] > 0.95 and got["HarmonicTristimulus03"] < 0.03
    assert got["HarmonicOddToEvenRatio"] > 1e3  # no even harmonics: only window leakage there
    assert got["HarmonicSpectralCentroid"] == pytest.approx(440.0, rel=0.1)


def test_noise_has_no_harmonic_descriptors_and_silence_no_perceptual_ones():
    noise = 0.1 * np.random.default_rng(0).standard_normal(SR)
    d = analyze_signal(noise, sample_rate_hz=SR, categories=("Harmonic", "Perceptual"))
    assert np.all(d.values[:, : len(HARMONIC_NAMES)] == 0.0)
    silence = analyze_signal(np.zeros(SR // 2), sample_rate_hz=SR, categories=("Harmonic", "Perceptual"))
    assert np.all(silence.values == 0.0)


def test_loudness_follows_its_power_law_and_sharpness_and_spread_rank_known_signals():
    tone = partials(np.array([1000.0]), np.array([1.0]))
    quiet, loud = steady(tone, PERCEPTUAL_NAMES), steady(2.0 * tone, PERCEPTUAL_NAMES)
    assert loud["Loudness"] / quiet["Loudness"] == pytest.approx(4.0**0.23, rel=1e-6)  # energy x4 -> x 4^0.23
    assert loud["Sharpness"] == pytest.approx(quiet["Sharpness"], rel=1e-6)  # a shape, not a level
    sharpness = [steady(partials(np.array([f]), np.array([1.0])), ("Sharpness",))["Sharpness"] for f in (200.0, 1000.0, 8000.0)]
    assert sharpness[0] < sharpness[1] < sharpness[2]
    noise = steady(0.1 * np.random.default_rng(1).standard_normal(SR), ("PerceptualSpread",))["PerceptualSpread"]
    assert quiet["PerceptualSpread"] < noise


def test_mfcc_match_librosa_on_the_same_power_spectrum(real_clip):
    librosa = pytest.importorskip("librosa")
    import scipy.fft
    import scipy.signal

    from antiphon.features import frame_signal

    clip = real_clip[0][: 2 * SR]
    config = AnalysisConfig(fft_precision="double")
    ours = analyze_signal(clip, sample_rate_hz=SR, config=config, categories=("Perceptual",))
    frames = frame_signal(clip, n_fft=2048, hop_length=512, center=False)
    power = np.abs(scipy.fft.rfft(frames * scipy.signal.get_window("blackman", 2048, fftbins=True), axis=1)) ** 2
    mel = librosa.feature.melspectrogram(S=power.T, sr=SR, n_fft=2048, n_mels=40)
    theirs = librosa.feature.mfcc(S=librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None), n_mfcc=13, dct_type=2, norm="ortho").T
    audible = ours.column("Loudness") > 0
    np.testing.assert_allclose(ours.values[audible][:, 3:], theirs[audible], rtol=1e-6, atol=1e-6)
    assert ours.names[3:] == MFCC_NAMES


def test_the_streaming_extractor_gives_the_same_harmonic_and_perceptual_values(real_clip):
    clip = real_clip[0][:SR]
    offline = analyze_signal(clip, sample_rate_hz=SR, categories=("Harmonic", "Perceptual"))
    stream = StreamingExtractor(SR, categories=("Harmonic", "Perceptual"))
    pushed = [stream.push(clip[i : i + 300]).values for i in range(0, clip.size, 300)]
    values = np.concatenate([*pushed, stream.flush().values])
    np.testing.assert_allclose(values, offline.values, rtol=1e-9, atol=1e-9)  # the MFCC's BLAS product differs in the last bit
