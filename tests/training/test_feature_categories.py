"""A model trains on any subset of the analysis categories, named as categories (corpus.features)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from antiphon.feature_names import HARMONIC_NAMES, PERCEPTUAL_NAMES


def test_a_model_trains_on_the_harmonic_category_and_loudness_and_answers(real_clip, tmp_path):
    from antiphon.analysis import analyze_audio
    from antiphon.config import CorpusConfig
    from antiphon.data.audio import Audio
    from antiphon.data.corpus import build_corpus
    from antiphon.model.engine import Engine
    from antiphon.training.loop import train
    from tests.conftest import tiny_config

    samples, sr = real_clip
    documents = [
        analyze_audio(Audio(path=Path(f"take{i}.wav"), samples=samples[i * 3 * sr : (i + 1) * 3 * sr], sample_rate_hz=sr, n_channels=1))
        for i in range(3)
    ]
    config = dataclasses.replace(tiny_config(epochs=1), corpus=CorpusConfig(features=("Harmonic", "Loudness")))
    assert config.corpus.features == (*HARMONIC_NAMES, PERCEPTUAL_NAMES[0])
    corpus = build_corpus(documents, config.corpus)
    assert np.any(corpus.files[0].values[:, 0] > 50.0)  # the guitar's fundamental, Hz
    train(corpus, config, tmp_path / "model")
    engine = Engine.from_model_dir(tmp_path / "model")
    assert engine.feature_names == config.corpus.features
    assert engine.info.analysis["harmonics"] == 20  # live analyses as the model was trained
    engine.feed(corpus.files[0].values[5], engine.info.timing.hop_s)
    _, frame = engine.sample(np.random.default_rng(0))
    assert frame.shape == (len(config.corpus.features),) and np.all(np.isfinite(frame))
