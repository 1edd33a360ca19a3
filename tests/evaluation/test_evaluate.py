"""`evaluate` end to end on a small model, and its refusals."""

from __future__ import annotations

import dataclasses
import json

import pytest

from antiphon.atomic import json_safe
from antiphon.cli import main
from antiphon.config import CorpusConfig, EvaluateConfig
from antiphon.data.corpus import build_corpus, resplit, save_corpus
from antiphon.errors import DataError
from antiphon.evaluation.evaluate import (
    REFERENCE,
    SHAPE_MEASURES,
    SYSTEMS,
    EvaluationReport,
    evaluate,
    headline,
    read_evaluation_report,
    ties_sentence,
)
from antiphon.model.directory import load_model
from antiphon.training.loop import train
from tests.conftest import FEATURES, synthetic_document, tiny_config

SMALL = EvaluateConfig(
    prompt_ms=200,
    horizon_s=0.5,
    horizons_s=(0.05, 0.25, 0.5),
    conditioning_horizon_s=0.25,
    window_s=0.1,
    var_max_order=2,
    max_prompts=6,
    n_samples=3,
    n_bootstrap=200,
    novelty_rows=10,
)


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
    report = evaluate(load_model(folder / "model"), corpus, SMALL, tmp_path / "report")
    assert set(report.free_running) == {*SYSTEMS, REFERENCE} and report.n_prompts == 6
    assert report.timing["dt_modelled"] is False and report.timing["hop_s"] == pytest.approx(0.01)
    model = report.free_running["model"]
    assert set(model["energy_score"]) == {"0.05", "0.25", "0.5"}
    for entry in (*model["energy_score"].values(), model["realism_mmd2"], model["steps_mmd2"], model["acf_mmd2"]):
        assert entry["low"] <= entry["mean"] <= entry["high"]
    tf = report.teacher_forced
    assert set(tf["systems"]) == {"model", "persistence", "ar1", "var"} and tf["best_baseline"] in ("persistence", "ar1", "var")
    assert set(tf["systems"]["model"]["per_dimension"]) == set(FEATURES)  # no dt: frames at a fixed hop
    best = tf["systems"][tf["best_baseline"]]["nll"]
    assert best == min(tf["systems"][s]["nll"] for s in ("persistence", "ar1", "var"))
    assert tf["gain_over_best"] == pytest.approx(best - tf["systems"]["model"]["nll"])
    assert set(report.verdicts) == set(SYSTEMS[1:])
    assert all(v in ("beats", "ties", "loses", "n/a") for row in report.verdicts.values() for v in row.values())
    assert report.free_running["nearest_neighbour"]["novelty"]["copied_fraction"] == 1.0  # it copies training rows
    assert {system: set(row) for system, row in report.reference_verdicts.items()} == {
        system: set(SHAPE_MEASURES) for system in SYSTEMS[1:]
    }
    ties = ties_sentence(report.free_running, report.verdicts, report.reference_verdicts)
    assert report.sentences[1] == headline(report.free_running, report.verdicts)
    assert ties is None or report.sentences[2] == ties
    assert len(report.sentences) == 2 + (ties is not None) + len(SYSTEMS) - 1
    assert read_evaluation_report(tmp_path / "report" / "report.json") == EvaluationReport.from_dict(
        json.loads(json.dumps(json_safe(report.to_dict())))
    )
    written = json.loads((tmp_path / "report" / "report.json").read_text())
    assert written["free_running"]["model"]["energy_score"]["0.25"]["mean"] == pytest.approx(model["energy_score"]["0.25"]["mean"])
    for name in ("answers.png", "measures.png"):
        assert (tmp_path / "report" / name).read_bytes()[:4] == b"\x89PNG"


def test_the_model_nll_is_the_training_loss_on_the_same_steps(trained):
    """Teacher-forced NLL of the model equals the training loop's NLL over the same dequantised steps (with
    the density's heavier tails, model.outlier_weight, as training has them)."""
    import torch

    from antiphon.model.level import model_inputs
    from antiphon.model.mdn import mdn_log_likelihood

    folder, corpus = trained
    trained = load_model(folder / "model")
    model, info = trained.network, trained.info
    report = evaluate(trained, corpus, SMALL, systems=("model",))
    rows = corpus.held_out_segments("test", info.training.scale_factor, info.resolution * info.training.scale_factor)
    with torch.no_grad():
        steps = [
            mdn_log_likelihood(
                *model(torch.as_tensor(model_inputs(r[:-1], info.model.level_steps, info.model.activity_steps)).unsqueeze(0))[0],
                torch.as_tensor(r[1:]).unsqueeze(0),
                model.tails,
            )[0, SMALL.var_max_order - 1 :]
            for r in rows
        ]
    assert model.tails is not None  # the default density's heavier tails, in training's loss and here
    assert report.teacher_forced["systems"]["model"]["nll"] == pytest.approx(-float(torch.cat(steps).mean()), rel=1e-5)
    assert set(report.free_running) == {"model", REFERENCE} and report.verdicts == {}


def test_the_headline_names_every_loss_with_both_values():
    def entry(es: float, realism: float) -> dict:
        return {"energy_score": {"0.25": {"mean": es}}, "realism_mmd2": {"mean": realism}, "conditioning": {"skill": 0.2}}

    free_running = {"model": entry(0.64, 0.30), "repeat_last": entry(0.57, 0.42), "var": entry(0.77, 0.23)}
    verdicts = {
        "repeat_last": {"energy_score@0.25": "loses", "realism_mmd2": "beats"},
        "var": {"energy_score@0.25": "beats", "realism_mmd2": "loses", "conditioning": "ties"},
    }
    assert headline(free_running, verdicts) == (
        "The model does not beat every baseline: it loses to repeat_last on energy score at 0.25 s (0.640 against 0.570); "
        "var on realism (0.300 against 0.230)."
    )
    verdicts["repeat_last"]["energy_score@0.25"] = verdicts["var"]["realism_mmd2"] = "ties"
    assert headline(free_running, verdicts) == "The model beats or ties every baseline on every free-running measure."
    # a loss to the shuffled future on the energy score is named apart, as a loss to an oracle;
    # on any other measure it is a loss like the others
    free_running["shuffled_real"] = entry(0.50, 0.44)
    verdicts["shuffled_real"] = {"energy_score@0.25": "loses", "realism_mmd2": "beats"}
    oracle = (
        "loses to shuffled_real on energy score at 0.25 s (0.640 against 0.500) -- on the energy score that baseline is an"
        " oracle made of the frames that really followed, which on persistent music beats even the true predictive distribution"
        " at 1 s (docs/evaluation.md)."
    )
    assert (
        headline(free_running, verdicts) == "The model beats or ties every baseline on every free-running measure, except that it " + oracle
    )
    verdicts["shuffled_real"]["realism_mmd2"] = "loses"
    assert headline(free_running, verdicts) == (
        "The model does not beat every baseline: it loses to shuffled_real on realism (0.300 against 0.440); it also " + oracle
    )


def test_the_ties_are_named_with_both_values_and_those_real_music_cannot_win_either():
    def entry(es: float, realism: float, acf: float) -> dict:
        return {"energy_score": {"1": {"mean": es}}, "realism_mmd2": {"mean": realism}, "acf_mmd2": {"mean": acf}}

    free_running = {
        "model": entry(0.73, 0.081, 0.163),
        "var": entry(0.80, 0.100, 0.180),
        "nearest_neighbour": entry(1.20, 0.068, 0.170),
        REFERENCE: entry(2.20, 0.093, 0.165),
        "shuffled_real": entry(0.54, 0.417, 1.416),
    }
    verdicts = {
        "var": {"energy_score@1": "beats", "realism_mmd2": "beats", "acf_mmd2": "ties", "conditioning": "ties"},
        "nearest_neighbour": {"energy_score@1": "beats", "realism_mmd2": "ties", "acf_mmd2": "loses"},
        "shuffled_real": {"energy_score@1": "ties", "realism_mmd2": "beats", "acf_mmd2": "beats"},
    }
    reference_verdicts = {
        "var": {"realism_mmd2": "beats", "acf_mmd2": "beats"},
        "nearest_neighbour": {"realism_mmd2": "ties", "acf_mmd2": "loses"},
    }
    assert ties_sentence(free_running, verdicts, reference_verdicts) == (
        "It ties var on autocorrelation (0.163 against 0.180); nearest_neighbour on realism (0.081 against 0.068);"
        " shuffled_real on energy score at 1 s (0.730 against 0.540, an oracle there)."
        " On conditioning it ties var: their answers depend on their prompt too."
        " Real music from another passage (other_passage), judged as the answers are, does not beat nearest_neighbour on"
        " realism (0.093 against 0.068), autocorrelation (0.165 against 0.170) either: there these prompts cannot show any"
        " answer beating the baseline."
    )
    reference_verdicts["nearest_neighbour"] = {"realism_mmd2": "beats", "acf_mmd2": "beats"}
    verdicts["shuffled_real"]["energy_score@1"] = "beats"
    assert ties_sentence(free_running, verdicts, reference_verdicts) == (
        "It ties var on autocorrelation (0.163 against 0.180); nearest_neighbour on realism (0.081 against 0.068)."
        " On conditioning it ties var: their answers depend on their prompt too."
    )
    verdicts["var"]["acf_mmd2"] = verdicts["nearest_neighbour"]["realism_mmd2"] = verdicts["var"]["conditioning"] = "beats"
    assert ties_sentence(free_running, verdicts, {}) is None  # a loss alone is the headline's
    # a loss where real music does not win either is bounded too
    assert ties_sentence(free_running, verdicts, {"nearest_neighbour": {"acf_mmd2": "ties"}}) == (
        "Real music from another passage (other_passage), judged as the answers are, does not beat nearest_neighbour on"
        " autocorrelation (0.165 against 0.170) either: there these prompts cannot show any answer beating the baseline."
    )


def test_refusals(trained, tmp_path):
    folder, corpus = trained
    with pytest.raises(DataError, match="lasts 1.00 s; a 2000 ms prompt and 0.05 s of what followed need more"):
        evaluate(load_model(folder / "model"), corpus, dataclasses.replace(SMALL, prompt_ms=2000))
    no_test = build_corpus([synthetic_document(400)], CorpusConfig(features=FEATURES, train_fraction=0.9, validation_fraction=0.1))
    with pytest.raises(DataError, match="the corpus has no test rows"):
        evaluate(load_model(folder / "model"), no_test, SMALL)
    other = build_corpus([synthetic_document(400)], CorpusConfig(features=("SpectralCentroid", "Chroma01")))
    with pytest.raises(DataError, match="uses 3 features .* and the corpus 2"):
        evaluate(load_model(folder / "model"), other, SMALL)


def test_cli(trained, tmp_path, capsys):
    folder, _ = trained
    code = main(
        [
            "evaluate",
            str(folder / "model"),
            str(folder / "corpus"),
            "--prompt-ms",
            "200",
            "--horizon-s",
            "0.5",
            "--set",
            "evaluate.horizons_s=[0.05, 0.25]",
            "--set",
            "evaluate.conditioning_horizon_s=0.25",
            "--set",
            "evaluate.window_s=0.1",
            "--set",
            "evaluate.var_max_order=2",
            "--set",
            "evaluate.max_prompts=4",
            "--set",
            "evaluate.n_samples=2",
            "--set",
            "evaluate.n_bootstrap=100",
            "--set",
            "evaluate.novelty_rows=10",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "repeat_last" in out and "Against repeat_last, the model" in out and "ES@0.25s" in out
    code = main(["evaluate", str(folder / "model"), str(folder / "corpus"), "--horizon-s", "0.5"])
    assert code == 2 and "horizons_s must be in (0, horizon_s]" in capsys.readouterr().err


def test_the_answer_judge_measures_as_evaluate_does(trained):
    """The checkpoint judge (training.select_by = "answers") gives evaluate's realism and
    autocorrelation for the same prompts, answers and reference music."""
    from antiphon.evaluation.evaluate import AnswerJudge

    folder, corpus = trained
    model = load_model(folder / "model")
    config = dataclasses.replace(SMALL, reference="test")
    report = evaluate(model, corpus, config, systems=("model",))
    judged = AnswerJudge.from_corpus(corpus, model.info.timing, "test", config).judge(model.engine())
    assert judged["realism"] == pytest.approx(report.free_running["model"]["realism_mmd2"]["mean"], rel=1e-9)
    assert judged["acf"] == pytest.approx(report.free_running["model"]["acf_mmd2"]["mean"], rel=1e-9)
    assert judged["score"] == judged["realism"] + judged["acf"] > 0
    with pytest.raises(DataError, match="judging answers on the validation split: the longest validation block lasts"):
        AnswerJudge.from_corpus(corpus, model.info.timing, "validation", dataclasses.replace(config, prompt_ms=5000))


def test_a_model_on_log_frequencies_is_prompted_and_judged_on_the_linear_scale(trained, tmp_path):
    """Its corpus scales the centroid on a log-frequency scale, yet evaluate draws the same prompts, and the
    baselines (which do not depend on the model) score exactly as they do beside a model on the linear scale."""
    folder, corpus = trained
    settings = dataclasses.replace(corpus.config, log_frequency_knee_hz=100.0)
    log_corpus = resplit(corpus, settings)
    assert log_corpus.scaler.warped
    config = dataclasses.replace(tiny_config(epochs=2), corpus=settings)
    train(log_corpus, config, tmp_path / "log")
    linear = evaluate(load_model(folder / "model"), corpus, SMALL)
    log = evaluate(load_model(tmp_path / "log"), log_corpus, SMALL)
    assert log.prompts == linear.prompts
    for system in (*SYSTEMS[1:], REFERENCE):
        assert json_safe(log.free_running[system]) == json_safe(linear.free_running[system]), system
    assert log.free_running["model"] != linear.free_running["model"]
    # the teacher-forced NLLs are densities on each model's own scale: the baselines there differ
    assert log.teacher_forced["systems"]["var"]["nll"] != linear.teacher_forced["systems"]["var"]["nll"]
