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
from tests.conftest import FEATURES, synthetic_document


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
    info = load_model(model_dir).info
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
    short = synthetic_document(100, 0.0, "short.json")  # frames at 10 .. 1000 ms
    with pytest.raises(DataError, match=r"short.json: 917 ms from 5000 ms hold 0 frame.*frames run from 10 to 1000 ms.*--prompt-start-ms"):
        generate(model_dir, short_path(tmp_path, short), tmp_path / "o.json", GenerateConfig(prompt_start_ms=5000.0))
    with pytest.raises(DataError, match=r"short.json: 5 ms from its first frame hold 1 frame.*raise generate.prompt_ms \(--prompt-ms\)$"):
        generate(model_dir, short_path(tmp_path, short), tmp_path / "o.json", GenerateConfig(prompt_ms=5.0))
    assert not (tmp_path / "o.json").exists()


def short_path(folder, document):
    write_analysis(folder / "short.json", document)
    return folder / "short.json"


def test_prompts_from_any_point_of_a_recording(model_dir, tmp_path):
    take = synthetic_document(300, 0.5, "take.json")  # frames at 10 .. 3000 ms
    write_analysis(tmp_path / "take.json", take)
    config = GenerateConfig(prompt_ms=300, prompt_start_ms=1500.0, duration_s=0.5, seed=1)
    middle = generate(model_dir, tmp_path / "take.json", tmp_path / "m.json", config, plot_path=tmp_path / "m.png")
    np.testing.assert_allclose(middle.prompt_ms, np.arange(1500.0, 1791.0, 10.0))
    np.testing.assert_allclose(middle.prompt, take.matrix(FEATURES)[149:179])
    assert json.loads((tmp_path / "m.json").read_text())["antiphon"]["prompt"]["start_ms"] == 1500.0
    # an excerpt that keeps its times (frames from 2000 ms on) is prompted from its first frame by default
    excerpt = take.with_frames(take.times_ms[199:], {n: v[199:] for n, v in take.features.items()})
    write_analysis(tmp_path / "excerpt.json", excerpt)
    late = generate(model_dir, tmp_path / "excerpt.json", tmp_path / "e.json", GenerateConfig(prompt_ms=300, duration_s=0.5, seed=1))
    np.testing.assert_allclose(late.prompt_ms, np.arange(2000.0, 2291.0, 10.0))
    same = generate(
        model_dir,
        tmp_path / "take.json",
        tmp_path / "s.json",
        GenerateConfig(prompt_ms=300, prompt_start_ms=2000.0, duration_s=0.5, seed=1),
    )
    np.testing.assert_array_equal(late.values, same.values)  # the same frames answer the same way


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "model.json").unlink(), "model.json: missing"),
        (lambda d: (d / "model.safetensors").unlink(), "model.safetensors: missing"),
        (lambda d: (d / "model.safetensors").write_bytes(b"garbage" * 10), "model.safetensors: corrupt weights file"),
        (lambda d: (d / "model.json").write_text("{not json"), "model.json: corrupt"),
        (
            lambda d: (d / "model.json").write_text(json.dumps({**json.loads((d / "model.json").read_text()), "model": {"size": "m"}})),
            "weights do not fit",
        ),
    ],
)
def test_broken_model_folders(model_dir, prompt, tmp_path, damage, message):
    import shutil

    broken = shutil.copytree(model_dir, tmp_path / "broken")  # the shared model stays whole
    damage(broken)
    with pytest.raises(ModelError, match=message):
        generate(broken, prompt, tmp_path / "o.json", GenerateConfig())
    assert not (tmp_path / "o.json").exists()
