"""Shared fixtures: real demo recordings and synthetic signals with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from antiphon.demo import demo_corpus

SR = 44100


@pytest.fixture(scope="session")
def demo_files() -> list[Path]:
    files = demo_corpus()
    assert len(files) == 4
    return files


@pytest.fixture(scope="session")
def real_clip(demo_files) -> tuple[np.ndarray, int]:
    """10 s of a real guitar recording (mono, 44.1 kHz)."""
    from antiphon.data.audio import load_audio

    audio = load_audio(demo_files[1])
    return audio.samples[: 10 * audio.sample_rate_hz], audio.sample_rate_hz


def sine(freq_hz: float, seconds: float = 1.0, amplitude: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return amplitude * np.sin(2 * np.pi * freq_hz * t)
