"""`evaluate` end to end on a small model, and its refusals."""

from __future__ import annotations

import json

import pytest

from antiphon.cli import main
from antiphon.config import CorpusConfig, EvaluateConfig
from antiphon.data.corpus import build_corpus, save_corpus
from antiphon.errors import DataError
from antiphon.evaluation.evaluate import SYSTEMS, evaluate
from antiphon.training.loop import train
from tests.conftest import FEATURES, synthetic_document, tiny_config

SMALL = EvaluateConfig(prompt_ms=200, horizon_s=0.5, n_prompts=3, n_continuations=2, grid_ms=20, novelty_rows=10)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval")
    documents = [synthetic_document(1000, phase, f"long{i}.json") for i, phase in enumerate((0.0, 1.5))]
    config = tiny_config(epochs=2)
    corpus = build_corpus(documents, config.corpus)
    train(corpus, config, folder / "model")
    save_corpus(corpus, folder / "corpus")
    return folder, corpus


def test_report_has_every_number_and_figure(trained, tmp_path):
    folder, corpus = trained
    report = evaluate(folder / "model", corpus, SMALL, tmp_path / "report")
    assert set(report["free_running"]) == set(SYSTEMS) and report["n_prompts"] == 3
    model = report["free_running"]["model"]
    assert 0.0 <= model["score_percent"] <= 100.0 and model["n_continuations"] == 6
    assert set(model["mae_per_feature"]) == set(FEATURES) and "diversity" in model
    assert set(report["model_beats"]) == set(SYSTEMS[1:])
    assert set(report["teacher_forced"]["nll_per_dimension"]) == {"dt_s", *FEATURES}
    assert report["free_running"]["nearest_neighbour"]["originality"] < 0.5  # it copies training rows
    written = json.loads((tmp_path / "report" / "report.json").read_text())
    assert written["free_running"]["model"]["score_percent"] == pytest.approx(model["score_percent"])
    for name in ("bands.png", "scores.png"):
        assert (tmp_path / "report" / name).read_bytes()[:4] == b"\x89PNG"


def test_refusals(trained, tmp_path):
    folder, corpus = trained
    with pytest.raises(DataError, match="a 200 ms prompt and a 60 s horizon need 60.20 s"):
        evaluate(folder / "model", corpus, EvaluateConfig(prompt_ms=200, horizon_s=60))
    no_test = build_corpus([synthetic_document(400)], CorpusConfig(features=FEATURES, train_fraction=0.9, validation_fraction=0.1))
    with pytest.raises(DataError, match="the corpus has no test rows"):
        evaluate(folder / "model", no_test, SMALL)
    other = build_corpus([synthetic_document(400)], CorpusConfig(features=("SpectralCentroid", "Chroma01")))
    with pytest.raises(DataError, match="uses 3 features .* and the corpus 2"):
        evaluate(folder / "model", other, SMALL)


def test_cli(trained, tmp_path, capsys):
    folder, _ = trained
    code = main(["evaluate", str(folder / "model"), str(folder / "corpus"), "--prompt-ms", "200", "--horizon-s", "0.5",
                 "--set", "evaluate.n_prompts=2", "--set", "evaluate.novelty_rows=10"])
    out = capsys.readouterr().out
    assert code == 0 and "repeat_last" in out and ("beats" in out)
    code = main(["evaluate", str(folder / "model"), str(folder / "corpus"), "--horizon-s", "99"])
    assert code == 2 and "horizon" in capsys.readouterr().err
