"""Yin (pipo.yin's four columns) and the Signal descriptors on signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from antiphon.features import analyze_signal
from antiphon.features.signal import total_energy, zero_crossing_rate
from tests.conftest import SR, sine


@pytest.mark.parametrize("freq_hz", [82.41, 110.0, 220.0, 440.0, 1000.0])
def test_yin_finds_a_sines_frequency(freq_hz):
    d = analyze_signal(sine(freq_hz), sample_rate_hz=SR)
    assert np.median(d.column("Frequency")) == pytest.approx(freq_hz, rel=0.01)
    assert np.median(d.column("Periodicity")) > 0.95


def test_yin_on_a_harmonic_tone_finds_the_fundamental_not_an_octave():
    t = np.arange(SR) / SR
    tone = sum(np.sin(2 * np.pi * 147.0 * h * t) / h for h in range(1, 9)) * 0.2
    d = analyze_signal(tone, sample_rate_hz=SR)
    assert np.median(d.column("Frequency")) == pytest.approx(147.0, rel=0.01)


def test_yin_energy_and_ac1_of_a_sine():
    d = analyze_signal(sine(220.0, amplitude=0.5), sample_rate_hz=SR)
    assert np.median(d.column("Energy")) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)
    # at the downsampled rate (SR / 4) the lag-1 autocorrelation of a sine is cos(2 pi f / (SR / 4))
    assert np.median(d.column("AC1")) == pytest.approx(np.cos(2 * np.pi * 220.0 / (SR / 4)), rel=0.02)


def test_yin_says_noise_is_not_periodic():
    rng = np.random.default_rng(3)
    d = analyze_signal(0.1 * rng.standard_normal(SR), sample_rate_hz=SR)
    assert np.median(d.column("Periodicity")) < 0.5


def test_zero_crossing_rate_of_a_sine_is_twice_its_frequency():
    frames = sine(1000.0)[: 2048 * 10].reshape(10, 2048)
    np.testing.assert_allclose(zero_crossing_rate(frames, sample_rate_hz=SR), 2000.0, rtol=0.03)


def test_total_energy_is_the_mean_square():
    frames = sine(1000.0, amplitude=1.0)[: 2048 * 4].reshape(4, 2048)
    np.testing.assert_allclose(total_energy(frames), 0.5, rtol=0.01)
    assert total_energy(np.zeros((1, 64)))[0] == 0.0
