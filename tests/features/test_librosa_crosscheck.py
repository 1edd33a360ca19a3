"""Under convention='librosa' our descriptors equal librosa 0.11's on a real recording (1e-3 relative)."""

from __future__ import annotations

import numpy as np
import pytest

from antiphon.config import AnalysisConfig
from antiphon.features import CHROMA_NAMES, analyze_signal

librosa = pytest.importorskip("librosa")


@pytest.fixture(scope="module")
def both(real_clip):
    signal, sr = real_clip
    config = AnalysisConfig(convention="librosa", fft_precision="double")  # librosa runs float64 input in double
    ours = analyze_signal(signal, sample_rate_hz=sr, config=config)
    magnitude = np.abs(librosa.stft(signal, n_fft=2048, hop_length=512, window="hann", center=True))
    return ours, magnitude, signal, sr


def test_frame_grid_matches(both):
    ours, magnitude, _signal, sr = both
    assert ours.values.shape[0] == magnitude.shape[1]
    np.testing.assert_allclose(ours.times_ms, librosa.frames_to_time(np.arange(magnitude.shape[1]), sr=sr, hop_length=512) * 1000)


def test_centroid(both):
    ours, magnitude, _, sr = both
    theirs = librosa.feature.spectral_centroid(S=magnitude, sr=sr, n_fft=2048)[0]
    np.testing.assert_allclose(ours.column("SpectralCentroid"), theirs, rtol=1e-3)


def test_spread_is_bandwidth_p2(both):
    ours, magnitude, _, sr = both
    theirs = librosa.feature.spectral_bandwidth(S=magnitude, sr=sr, n_fft=2048, p=2)[0]
    np.testing.assert_allclose(ours.column("SpectralSpread"), theirs, rtol=1e-3)


def test_rolloff(both):
    ours, magnitude, _, sr = both
    theirs = librosa.feature.spectral_rolloff(S=magnitude, sr=sr, n_fft=2048, roll_percent=0.85)[0]
    np.testing.assert_allclose(ours.column("SpectralRolloff"), theirs, rtol=1e-3)


def test_chroma(both):
    ours, magnitude, _, sr = both
    theirs = librosa.feature.chroma_stft(S=magnitude**2, sr=sr, n_fft=2048, tuning=0.0)  # (12, T), C first
    got = np.stack([ours.column(n) for n in CHROMA_NAMES], axis=0)
    np.testing.assert_allclose(got, theirs, rtol=1e-3, atol=1e-12)
