"""Offline improvisation: prompt, continuation, the written file and the figure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from antiphon.config import GenerateConfig
from antiphon.data.analysis_json import new_document, read_analysis, write_analysis
from antiphon.errors import DataError, ModelError
from antiphon.generate import generate
from antiphon.model.directory import load_model
from antiphon.training.loop import train
from tests.conftest import FEATURES, synthetic_document, tiny_config


@pytest.fixture
def model_dir(tiny_corpus, tmp_path):
    train(tiny_corpus, tiny_config(epochs=2), tmp_path / "model")
    return tmp_path / "model"


@pytest.fixture
def prompt(tmp_path):
    doc = synthetic_document(300, 0.5, "prompt.json")
    raw = doc.to_json()
    raw["Device"] = {"name": "test pad"}
    raw["Analysis"]["Yin"] = {"Frequency": [220.0] * 300}
    path = tmp_path / "prompt.json"
    path.write_text(json.dumps(raw))
    return path


def test_continuation_file_and_figure(model_dir, prompt, tmp_path):
    config = GenerateConfig(prompt_ms=500, duration_s=2.0, seed=4)
    result = generate(model_dir, prompt, tmp_path / "out.json", config, plot_path=tmp_path / "out.png")
    assert result.prompt_ms.size == 50 and result.prompt_ms[-1] <= 500  # frames at 10, 20, ... 500 ms
    assert result.times_ms[-1] >= 2000 and result.times_ms[-2] < 2000
    assert np.all(np.diff(result.times_ms) >= 1.0 - 1e-9) and result.times_ms[0] >= 1.0 - 1e-9  # min_dt_s = 1 ms
    _, info = load_model(model_dir)
    assert np.all(result.values >= info.scaler.minimum - 1e-9) and np.all(result.values <= info.scaler.maximum + 1e-9)
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["Device"] == {"name": "test pad"}  # the prompt's layout, other fields kept
    assert "Yin" in written["Analysis"] and "Frequency" not in written["Analysis"]["Yin"]  # not predicted: dropped
    assert written["antiphon"]["kind"] == "prediction" and written["antiphon"]["prompt"]["n_frames"] == 50
    doc = read_analysis(tmp_path / "out.json")
    np.testing.assert_allclose(doc.times_ms, result.times_ms)
    np.testing.assert_allclose(doc.matrix(FEATURES), result.values)
    assert (tmp_path / "out.png").read_bytes()[:4] == b"\x89PNG"


def test_same_seed_same_continuation(model_dir, prompt, tmp_path):
    config = GenerateConfig(prompt_ms=300, duration_s=1.0, seed=7)
    a = generate(model_dir, prompt, tmp_path / "a.json", config)
    b = generate(model_dir, prompt, tmp_path / "b.json", config)
    c = generate(model_dir, prompt, tmp_path / "c.json", GenerateConfig(prompt_ms=300, duration_s=1.0, seed=8))
    np.testing.assert_array_equal(a.values, b.values)
    assert a.values.shape != c.values.shape or not np.array_equal(a.values, c.values)


def test_prompt_errors(model_dir, tmp_path):
    lacking = new_document(np.arange(10.0, 600.0, 10.0), {"SpectralCentroid": np.ones(59)}, {}, source="x")
    write_analysis(tmp_path / "lacking.json", lacking)
    with pytest.raises(DataError, match="lacking.json: lacks 2 feature.s. the model was trained on: SpectralSkewness, Chroma01"):
        generate(model_dir, tmp_path / "lacking.json", tmp_path / "o.json", GenerateConfig())
    late = synthetic_document(100, 0.0, "late.json")
    write_analysis(tmp_path / "late.json", late.with_frames(late.times_ms + 2000.0, late.features))
    with pytest.raises(DataError, match="late.json: the first 917 ms hold 0 frame"):
        generate(model_dir, tmp_path / "late.json", tmp_path / "o.json", GenerateConfig())
    assert not (tmp_path / "o.json").exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "model.json").unlink(), "model.json: missing"),
        (lambda d: (d / "model.safetensors").unlink(), "model.safetensors: missing"),
        (lambda d: (d / "model.safetensors").write_bytes(b"garbage" * 10), "model.safetensors: corrupt weights file"),
        (lambda d: (d / "model.json").write_text("{not json"), "model.json: corrupt"),
        (lambda d: (d / "model.json").write_text(json.dumps({**json.loads((d / "model.json").read_text()), "model": {"size": "m"}})), "weights do not fit"),
    ],
)
def test_broken_model_folders(model_dir, prompt, tmp_path, damage, message):
    damage(model_dir)
    with pytest.raises(ModelError, match=message):
        generate(model_dir, prompt, tmp_path / "o.json", GenerateConfig())
    assert not (tmp_path / "o.json").exists()
