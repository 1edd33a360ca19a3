"""The streaming extractor gives the offline numbers frame by frame."""

from __future__ import annotations

import numpy as np
import pytest

from antiphon.config import AnalysisConfig
from antiphon.errors import ConfigError
from antiphon.features import StreamingExtractor, analyze_signal, frame_signal


@pytest.mark.parametrize("convention", ["peeters", "librosa"])
def test_push_in_uneven_blocks_equals_offline(real_clip, convention):
    signal, sr = real_clip
    signal = signal[: 3 * sr]
    config = AnalysisConfig(convention=convention)
    offline = analyze_signal(signal, sample_rate_hz=sr, config=config)
    stream = StreamingExtractor(sr, config)
    rng = np.random.default_rng(1)
    parts, times, start = [], [], 0
    while start < signal.size:
        size = int(rng.integers(1, 3000))
        out = stream.push(signal[start : start + size])
        parts.append(out.values)
        times.append(out.times_ms)
        start += size
    tail = stream.flush()
    values = np.concatenate([*parts, tail.values])
    assert values.shape == offline.values.shape
    np.testing.assert_allclose(values, offline.values, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(np.concatenate([*times, tail.times_ms]), offline.times_ms)


def test_process_frame_equals_offline(real_clip):
    signal, sr = real_clip
    offline = analyze_signal(signal[: 2 * sr], sample_rate_hz=sr)
    stream = StreamingExtractor(sr)
    frames = frame_signal(signal[: 2 * sr], n_fft=2048, hop_length=512, center=False)
    for t, frame in enumerate(frames):
        np.testing.assert_allclose(stream.process_frame(frame), offline.values[t], rtol=1e-6, atol=1e-12)
    assert stream.n_frames == frames.shape[0]


def test_reset_starts_a_new_signal(real_clip):
    signal, sr = real_clip
    stream = StreamingExtractor(sr)
    first = stream.push(signal[:sr]).values
    stream.reset()
    again = stream.push(signal[:sr]).values
    np.testing.assert_array_equal(first, again)


def test_short_signal_is_padded_to_one_frame_in_both_paths():
    signal = 0.3 * np.sin(np.arange(700) * 0.2)
    offline = analyze_signal(signal, sample_rate_hz=44100)
    stream = StreamingExtractor(44100)
    assert stream.push(signal).values.shape[0] == 0
    tail = stream.flush()
    assert offline.values.shape[0] == 1
    np.testing.assert_allclose(tail.values, offline.values, rtol=1e-6, atol=1e-12)


def test_streaming_refuses_next_frame_variation():
    with pytest.raises(ConfigError, match="variation_first_frame"):
        StreamingExtractor(44100, AnalysisConfig(variation_first_frame="next"))


def test_subset_of_categories(real_clip):
    signal, sr = real_clip
    spectral_only = analyze_signal(signal[:sr], sample_rate_hz=sr, categories=("Spectral",))
    everything = analyze_signal(signal[:sr], sample_rate_hz=sr)
    assert len(spectral_only.names) == 20
    np.testing.assert_array_equal(spectral_only.values, everything.values[:, :20])
