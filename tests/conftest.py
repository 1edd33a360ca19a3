"""Shared fixtures: real demo recordings, synthetic signals with known answers, tiny trained models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from antiphon.demo import demo_excerpts

SR = 44100


@pytest.fixture(scope="session")
def demo_files() -> list[Path]:
    files = demo_excerpts()
    assert len(files) == 4
    return files


@pytest.fixture(scope="session")
def demo_documents(demo_files, tmp_path_factory) -> list:
    """The demo excerpts analysed with the default settings, once per session (AnalysisDocument each)."""
    from antiphon.analysis import analyze_files
    from antiphon.data.analysis_json import read_analysis

    folder = tmp_path_factory.mktemp("demo_analysis")
    return [read_analysis(a.json_path) for a in analyze_files(demo_files, folder)]


@pytest.fixture(scope="session")
def real_clip(demo_files) -> tuple[np.ndarray, int]:
    """10 s of a real guitar recording (mono, 44.1 kHz)."""
    from antiphon.data.audio import load_audio

    audio = load_audio(demo_files[1])
    return audio.samples[: 10 * audio.sample_rate_hz], audio.sample_rate_hz


def sine(freq_hz: float, seconds: float = 1.0, amplitude: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return amplitude * np.sin(2 * np.pi * freq_hz * t)


FEATURES = ("SpectralCentroid", "SpectralSkewness", "Chroma01")


def synthetic_document(n_frames: int = 400, phase: float = 0.0, source: str = "synthetic.json", hop_ms: float = 10.0, jitter: float = 0.0):
    """An analysis document with a learnable pattern: slow sines in three features, frames every hop_ms
    (times irregular by up to ``jitter`` of a hop when it is not 0, as in a session log)."""
    from antiphon.data.analysis_json import new_document

    t = np.arange(n_frames)
    features = {
        "SpectralCentroid": 1000 + 400 * np.sin(2 * np.pi * t / 37 + phase),
        "SpectralSkewness": 2 + np.cos(2 * np.pi * t / 23 + phase),
        "Chroma01": 0.5 + 0.5 * np.sin(2 * np.pi * t / 11 + phase),
    }
    steps = hop_ms * (1.0 + jitter * np.sin(2 * np.pi * t / 7 + phase))
    return new_document(10.0 + np.cumsum(steps) - steps[0], features, {"kind": "test"}, source=source)


def tiny_config(model: dict | None = None, **training):
    """A configuration small enough to train in a second or two (the default model, at size xxs with
    2 components, with ``model`` settings changed)."""
    from antiphon.config import Config, CorpusConfig, ModelConfig, TrainingConfig

    settings = {"batch_size": 16, "epochs": 3, "patience": 5, "sequence_length": 10, "window_stride": 2, "seed": 1}
    settings.update(training)
    return Config(
        corpus=CorpusConfig(features=FEATURES),
        model=ModelConfig(**{"size": "xxs", "n_mixtures": 2, **(model or {})}),
        training=TrainingConfig(**settings),
    )


@pytest.fixture
def tiny_corpus():
    from antiphon.data.corpus import build_corpus

    documents = [synthetic_document(300, phase, f"take{i}.json") for i, phase in enumerate((0.0, 1.0, 2.0))]
    return build_corpus(documents, tiny_config().corpus)


# ------------------------------------------------------------------ tiny trained models (engine, real time, generate)


def _trained_model(folder: Path, jitter: float = 0.0, scale_factor: float = 1.0, corpus: dict | None = None, **model) -> Path:
    """A tiny model (:func:`tiny_config`, 2 epochs, ``corpus`` and ``model`` settings changed) trained on three
    synthetic takes (times irregular by ``jitter`` of a hop when not 0: dt becomes a dimension)."""
    import dataclasses

    from antiphon.data.corpus import build_corpus
    from antiphon.training.loop import train

    documents = [synthetic_document(300, phase, f"take{i}.json", jitter=jitter) for i, phase in enumerate((0.0, 1.0, 2.0))]
    config = tiny_config(epochs=2, scale_factor=scale_factor)
    config = dataclasses.replace(
        config, corpus=dataclasses.replace(config.corpus, **(corpus or {})), model=dataclasses.replace(config.model, **model)
    )
    train(build_corpus(documents, config.corpus), config, folder)
    return folder


def pytest_configure(config: pytest.Config) -> None:
    """Under `make test` (pytest-xdist), compile the engine's Numba kernels once, before the test processes
    start, where Numba's cache does not hold them yet (a fresh clone): otherwise both processes, and the
    commands their tests start, compile them at the same time (19 s each, 37 s of a fresh clone's suite).
    The model has every input the kernels serve (dt, level, activity, onset clock)."""
    if getattr(config, "workerinput", None) is not None or not config.getoption("numprocesses", default=None):
        return  # a test process, or a serial run: the first test that needs the kernels compiles them
    import importlib.util
    import tempfile

    from antiphon.model.engine import Engine

    kernels = Path(importlib.util.find_spec("antiphon.model.engine_kernels").origin)
    if any(kernels.parent.glob(f"__pycache__/{kernels.stem}.*.nbi")):
        return  # compiled already (were the source newer, Numba would compile it again on first use)
    with tempfile.TemporaryDirectory() as folder:
        model = _trained_model(Path(folder) / "model", jitter=0.4, level_steps=8, activity_steps=6, onset_clock=12)
        Engine.from_model_dir(model)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """Frames at a fixed hop: no dt dimension."""
    return _trained_model(tmp_path_factory.mktemp("rt") / "model")


@pytest.fixture(scope="session")
def timed_model_dir(tmp_path_factory) -> Path:
    """A model of irregular frames (session-log-like times): dt is its first dimension."""
    return _trained_model(tmp_path_factory.mktemp("rt") / "timed", jitter=0.4)


@pytest.fixture(scope="session")
def scaled_model_dir(tmp_path_factory) -> Path:
    """Irregular frames (dt a dimension) and IMPSY's scale factor 10: the paper's setting of the inputs."""
    return _trained_model(tmp_path_factory.mktemp("rt") / "scaled", jitter=0.4, scale_factor=10.0)


@pytest.fixture(scope="session")
def residual_model_dir(tmp_path_factory) -> Path:
    """A model whose mixture means are offsets from the current frame (model.residual)."""
    return _trained_model(tmp_path_factory.mktemp("rt") / "residual", residual=True)


@pytest.fixture(scope="session")
def level_model_dir(tmp_path_factory) -> Path:
    """A residual model that sees each frame's running level, with a head that also sees its input (model.skip)."""
    return _trained_model(tmp_path_factory.mktemp("rt") / "level", residual=True, skip=True, level_steps=8)


@pytest.fixture(scope="session")
def activity_model_dir(tmp_path_factory) -> Path:
    """A model that sees each frame's running level and activity, of irregular frames (dt a dimension, so
    its activity too) at IMPSY's scale factor 10 (the engine computes the activity on unscaled rows)."""
    return _trained_model(tmp_path_factory.mktemp("rt") / "activity", jitter=0.4, scale_factor=10.0, level_steps=8, activity_steps=6)


@pytest.fixture(scope="session")
def onset_model_dir(tmp_path_factory) -> Path:
    """A model that sees each frame's running level and onset clock, of irregular frames (dt a dimension) at
    IMPSY's scale factor 10 (the engine runs the clock on unscaled rows, training on scaled ones)."""
    return _trained_model(tmp_path_factory.mktemp("rt") / "onset", jitter=0.4, scale_factor=10.0, level_steps=8, onset_clock=12)


@pytest.fixture(scope="session")
def log_frequency_model_dir(tmp_path_factory) -> Path:
    """A model that learned the centroid (Hz) on a log-frequency scale (corpus.log_frequency_knee_hz), of irregular
    frames at IMPSY's scale factor 10, seeing the running level: the engine warps what it is fed and unwarps what it plays."""
    return _trained_model(
        tmp_path_factory.mktemp("rt") / "log", jitter=0.4, scale_factor=10.0, corpus={"log_frequency_knee_hz": 100.0}, level_steps=8
    )


@pytest.fixture(scope="session")
def audio_model_dir(tmp_path_factory, demo_files) -> Path:
    """A tiny model of the 20 Spectral features of real guitar (20 s from each of two demo
    recordings, analysed by antiphon: model.json records the analysis, as ``live`` needs)."""
    import dataclasses

    from antiphon.analysis import analyze_audio
    from antiphon.config import CorpusConfig
    from antiphon.data.audio import load_audio
    from antiphon.data.corpus import build_corpus
    from antiphon.training.loop import train

    documents = []
    for path in demo_files[:2]:
        audio = load_audio(path)
        documents.append(
            analyze_audio(dataclasses.replace(audio, samples=audio.samples[5 * audio.sample_rate_hz : 25 * audio.sample_rate_hz]))
        )
    config = dataclasses.replace(tiny_config(epochs=2), corpus=CorpusConfig())
    folder = tmp_path_factory.mktemp("live") / "model"
    train(build_corpus(documents, config.corpus), config, folder)
    return folder
