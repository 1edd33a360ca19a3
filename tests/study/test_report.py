"""The study report from results with known numbers (no training): Table I with intervals and
divergences, the central rank correlation, paired comparisons, families and winners.toml."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
from scipy import stats

from antiphon.study.report import build_report, write_report
from antiphon.study.spec import load_spec
from antiphon.study.store import prepare_study, write_run_file
from tests.study.conftest import write_tiny_spec

SEARCH = """\
[[search]]
name = "Fam"
trials = 3
training = { optimizer = "adam" }
space = { "training.lr" = { log_uniform = [1e-4, 1e-2] } }
"""


def _result(run, best_val, test, energy, *, status="finished", gap=0.1, lam=10.0, log_sigma=-1.0):
    return {
        "key": run.key,
        "configuration": run.configuration,
        "seed": run.seed,
        "measure_key": run.measure_key,
        "status": status,
        "stopped": "diverged" if status == "diverged" else "epochs",
        "epochs_run": 2,
        "best_epoch": 2,
        "best_val_loss": best_val,
        "test_nll": test,
        "n_parameters": 10,
        "history": [
            {"epoch": 1, "train_loss": 1.0, "val_loss": best_val + 1, "lr": 0.01, "seconds": 0.1},
            {"epoch": 2, "train_loss": 0.5, "val_loss": best_val, "lr": 0.01, "seconds": 0.1},
        ],
        "resumed_from_epoch": 0,
        "attempts": 1,
        "evaluation": {
            "energy_score_1": energy,
            "energy_score_0.25": energy / 2,
            "answer_energy_score": energy,
            "answer_lead_s": 1.0,
            "realism_mmd2": energy / 10,
            "steps_mmd2": 0.5,
            "acf_mmd2": 0.2,
            "conditioning_skill": 0.1,
            "copied_fraction": 0.0,
            "teacher_forced_nll": test,
            "best_linear": "var",
            "best_linear_nll": test + 1.0,
            "gain_over_best_linear": 1.0,
        },
        "sharpness": {  # as SharpnessSet.to_dict() writes it
            "windows": 32,
            "train_loss": -10.0,
            "validation_loss": -10.0 + gap,
            "gap": gap,
            "lambda_max": lam,
            "lambda_max_fixed_sigma": lam / 2,
            "lambda_max_mean_mse": lam / 10,
            "mean_log_sigma": log_sigma,
            "min_log_sigma": log_sigma - 1.0,
            "gradient_norm": 1.0,
            "epsilon_sharpness": {"0.001": {"delta": lam / 100, "relative": 0.0}},
            "slices": {"alpha": [-1, 0, 1], "loss": [[2.0, 1.0, 2.5]]},
        },
    }


@pytest.fixture
def study(tmp_path, tiny_corpus_dir):
    spec = load_spec(write_tiny_spec(tmp_path, extra=SEARCH))
    return prepare_study(spec, tmp_path / "study", tiny_corpus_dir)


def test_table_intervals_divergences_and_the_central_correlation(study):
    values = {  # (configuration, seed): (min val loss, test NLL, energy score at 1 s)
        ("Adam", 0): (-5.0, -4.0, 0.2),
        ("Adam", 1): (-7.0, -6.0, 0.1),
        ("SGD", 0): (3.0, 4.0, 0.8),
        ("SGD", 1): (1.0, 3.0, 0.7),
    }
    for run in study.runs:
        if run.configuration in ("Adam", "SGD"):
            v, t, s = values[(run.configuration, run.seed)]
            status = "diverged" if (run.configuration, run.seed) == ("SGD", 1) else "finished"
            write_run_file(study, run, "result.json", _result(run, v, t, s, status=status, gap=-v / 10, lam=abs(v) * 10))
    report = build_report(study)
    adam, sgd = report["configurations"][:2]
    assert adam["min_val_loss"]["mean"] == pytest.approx(-6.0)
    half = stats.t.ppf(0.975, 1) * np.std([-5.0, -7.0], ddof=1) / np.sqrt(2)
    assert (adam["min_val_loss"]["low"], adam["min_val_loss"]["high"]) == pytest.approx((-6.0 - half, -6.0 + half))
    assert adam["paper"] == {"min_val_loss": -10.0, "epoch": 2}
    assert (sgd["finished"], sgd["diverged"], sgd["n_runs"]) == (1, 1, 2)
    assert report["configurations"][2]["missing"] == 2  # the search family was never run
    assert report["study"]["counts"] == {"finished": 3, "diverged": 1, "failed": 0, "missing": 3 * 2}

    central = report["questions"]["validation_loss_vs_energy_score"]
    expected = stats.spearmanr([-5, -7, 3, 1], [0.2, 0.1, 0.8, 0.7]).statistic
    assert central["n"] == 4 and central["spearman"] == pytest.approx(expected) == pytest.approx(1.0)
    assert "rho between the minimum validation loss and the energy score at 1 s is +1.00" in central["words"]
    assert "resampling 2 configurations" in central["words"]
    assert adam["answer_measures"]["energy_score_1"] == pytest.approx(0.15) and adam["energy_score"]["mean"] == pytest.approx(0.15)

    [pair] = report["comparisons"]["test_nll"]
    assert (pair["a"], pair["b"], pair["n"]) == ("Adam", "SGD", 2)
    assert pair["mean_difference"] == pytest.approx(-8.5)
    assert pair["p_holm"] == pytest.approx(stats.ttest_rel([-4, -6], [4, 3]).pvalue)
    assert pair["words"].startswith("Adam reaches a lower test NLL than SGD")
    sharp = report["questions"]["sharpness_vs_generalisation"]
    assert set(sharp) == {"lambda_max", "lambda_max_fixed_sigma", "lambda_max_mean_mse", "epsilon_sharpness_0.001"}
    assert sharp["lambda_max_mean_mse"]["spearman"] == pytest.approx(
        stats.spearmanr([5, 7, 3, 1], [0.5, 0.7, -0.3, -0.1]).statistic
    )  # diverged runs keep their measures


def test_written_report_has_every_figure_and_a_winners_spec(study, tmp_path):
    from antiphon.study.store import RunResult, read_result

    for i, run in enumerate(study.runs):
        write_run_file(study, run, "result.json", _result(run, -float(i), -float(i), 50.0 + i))
    result = read_result(study, study.runs[1])  # one reader: the typed record, the sharpness set inside it
    assert result.best_val_loss == -1.0 and result.sharpness.eigenvalues["lambda_max"] == 10.0
    assert RunResult.from_dict(result.to_dict()) == result
    report = write_report(study.folder)
    for name in (
        "report.json",
        "report.html",
        "validation_curves.png",
        "metrics.png",
        "loss_vs_answers.png",
        "sharpness.png",
        "slices.png",
        "budget.png",
    ):
        assert (study.folder / name).stat().st_size > 500, name
    assert json.loads((study.folder / "report.json").read_text())["files"]["budget"] == "budget.png"
    family = report["families"]["Fam"]
    assert family["trials"] == 3 and family["best"] == "Fam 03" and family["best_so_far"] == sorted(family["best_so_far"], reverse=True)

    winners = tomllib.loads((study.folder / "winners.toml").read_text())
    assert winners["seeds"] == list(range(10))
    [run] = winners["run"]
    assert run["name"].startswith("Fam (best of 3: Fam 03)") and run["training"]["optimizer"] == "adam"
    respec = load_spec(study.folder / "winners.toml")  # a valid spec, ready to run
    best = next(c for c in load_spec(study.folder / "spec.toml").configurations if c.name == "Fam 03")
    assert respec.configurations[0].config.training == best.config.training
