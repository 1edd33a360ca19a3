"""What the study measures on one trained model: consistent sharpness numbers and the prediction example."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from antiphon.atomic import json_safe
from antiphon.config import EvaluateConfig
from antiphon.model.directory import load_model
from antiphon.study.measure import SharpnessSet, evenly_spaced, prediction_example, sharpness
from antiphon.study.spec import MeasureSettings
from tests.conftest import tiny_config


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from antiphon.data.corpus import build_corpus
    from antiphon.training.loop import train
    from tests.conftest import synthetic_document

    documents = [synthetic_document(600, phase, f"take{i}.json") for i, phase in enumerate((0.0, 1.0, 2.0))]
    corpus = build_corpus(documents, tiny_config().corpus)
    folder = tmp_path_factory.mktemp("measure") / "model"
    train(corpus, tiny_config(epochs=2), folder)
    return folder, corpus


def test_evenly_spaced_windows_are_fixed_and_cover_the_split():
    assert evenly_spaced(10, 4).tolist() == [0, 3, 6, 9]
    assert evenly_spaced(3, 10).tolist() == [0, 1, 2]


def test_sharpness_numbers_agree_with_each_other(trained):
    folder, corpus = trained
    settings = MeasureSettings(windows=32, lanczos_restarts=30, slice_points=5, slice_directions=2, epsilons=(1e-3,))
    trained = load_model(folder)
    measured = sharpness(trained, corpus, settings)
    written = json.loads(json.dumps(json_safe(measured.to_dict())))  # as result.json holds it
    assert SharpnessSet.from_dict(written) == measured  # one writer, one reader
    s = written
    assert s["windows"] == 32
    assert s["gap"] == pytest.approx(s["validation_loss"] - s["train_loss"])
    alphas = np.asarray(s["slices"]["alpha"])
    assert alphas.tolist() == pytest.approx([-1.0, -0.5, 0.0, 0.5, 1.0])
    for values in s["slices"]["loss"]:  # the centre of every slice is the minimum itself
        assert values[2] == pytest.approx(s["train_loss"], rel=1e-9)
    assert s["epsilon_sharpness"]["0.001"]["delta"] >= 0
    assert s["epsilon_sharpness"]["0.001"]["relative"] == pytest.approx(s["epsilon_sharpness"]["0.001"]["delta"] / abs(s["train_loss"]))
    assert np.isfinite(
        [s["lambda_max"], s["lambda_max_fixed_sigma"], s["lambda_max_mean_mse"], s["mean_log_sigma"], s["gradient_norm"]]
    ).all()
    assert s["lambda_max_mean_mse"] > 0  # half a squared error: positive curvature along the means
    for name in ("lambda_max", "lambda_max_fixed_sigma", "lambda_max_mean_mse"):
        ends = s[f"{name}_ends"]
        assert ends["smallest"] <= ends["largest"] and s[name] in (ends["smallest"], ends["largest"])
        assert abs(s[name]) == max(abs(ends["smallest"]), abs(ends["largest"]))
        assert ends["residual_largest"] < 0.05 and ends["hessian_vector_products"] > 2  # an eigenpair, checked
    assert len(s["log_sigma_per_dimension"]) == 3 and s["min_log_sigma"] == pytest.approx(min(s["log_sigma_per_dimension"]))
    assert s["mean_log_sigma"] == pytest.approx(np.mean(s["log_sigma_per_dimension"]))
    again = sharpness(trained, corpus, settings)
    assert again.eigenvalues["lambda_max"] == s["lambda_max"]  # seeded, on fixed windows: the same number every time
    assert all(p.dtype == torch.float32 for p in trained.network.parameters())  # measured on a copy


def test_prediction_example_is_the_papers_figure_in_instrument_units(trained):
    folder, corpus = trained
    config = EvaluateConfig(prompt_ms=100, horizon_s=0.3, horizons_s=(0.3,), conditioning_horizon_s=0.3)
    p = prediction_example(load_model(folder), corpus, config, ("Chroma01", "Chroma03", "SpectralSkewness"))
    assert p["features"] == ["Chroma01", "SpectralSkewness"]  # only those the model has, in the order asked
    assert np.all(np.diff(p["prompt_ms"]) > 0) and np.all(np.diff(p["real_ms"]) > 0)
    assert p["real_ms"][0] > p["prompt_ms"][-1] == 0.0 and p["predicted_ms"][-1] >= 300.0 - 1e-6
    skew = np.asarray(p["prompt"]["SpectralSkewness"])
    assert skew.min() >= 0.9 and skew.max() <= 3.1  # instrument units: 2 + cos(...), not normalised
    assert prediction_example(load_model(folder), corpus, config, ("Nothing",))["features"] == [
        "SpectralCentroid",
        "SpectralSkewness",
        "Chroma01",
    ]
