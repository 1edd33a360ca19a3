"""``antiphon study report``: what a study found, as JSON, PNG figures and one HTML page.

Read from the run folders only (no model is loaded), so it can be made at any time, also while
a study is still running (unfinished runs are counted as missing). Sections:

- Table I: per configuration the minimum validation loss and its epoch, mean with a 95 %
  t-interval over seeds, divergence counts, and the paper's numbers beside ours.
- Test NLL at the best epoch (the unbiased number), its gain over the best linear baseline, and
  the answer measures per configuration (energy score, realism, dynamics, conditioning); the
  paper's central question as a number: the rank correlation, over every run, between the lowest
  validation loss and the energy score of the answers at 1 s (and realism), with an interval
  that resamples configurations (runs of one configuration are not independent).
- Sharpness of each minimum and its rank correlation with the generalisation gap, raw and with
  the smallest per-dimension log sigma held fixed (partial rank correlation), plus the
  fixed-sigma and sigma-free eigenvalues, both ends of each spectrum with residuals.
- Paired comparisons (same seeds) of every pair of configurations on test NLL and on the energy score,
  Holm-adjusted within each, in plain words.
- For random-search families: best-so-far against budget, and ``winners.toml``, the best trial
  of each family as a spec to re-run with ten seeds.
"""

from __future__ import annotations

import html
import math
import re
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.atomic import json_safe, write_json_atomic, write_text_atomic
from antiphon.study import statistics
from antiphon.study.measure import EIGENVALUE_MEASURES, summarised_names
from antiphon.study.store import Study, read_failure, read_result, read_study, study_corpus

REPORT_FILE = "report.json"
HTML_FILE = "report.html"


#: per-run answer measures shown per configuration (keys of :func:`antiphon.study.runner.study_measures`)
ANSWER_MEASURES = (
    "energy_score_0.25",
    "energy_score_1",
    "realism_mmd2",
    "steps_mmd2",
    "acf_mmd2",
    "conditioning_skill",
    "copied_fraction",
    "teacher_forced_nll",
    "gain_over_best_linear",
)


def collect_runs(study: Study) -> list[dict[str, Any]]:
    """One entry per planned run: its status ("finished", "diverged", "failed" or "missing") and,
    when it has a current result, its numbers, validation curve, sharpness and prediction example."""
    runs = []
    for run in study.runs:
        result = read_result(study, run)
        entry: dict[str, Any] = {"key": run.key, "configuration": run.configuration, "seed": run.seed}
        if result is None or result.measure_key != run.measure_key:
            failure = read_failure(study, run)
            entry["status"] = "failed" if failure else "missing"
            if failure:
                entry["error"] = failure.get("error")
        else:
            evaluation = result.evaluation or {}
            entry.update(
                status=result.status,
                best_val_loss=result.best_val_loss,
                best_epoch=result.best_epoch,
                epochs_run=result.epochs_run,
                test_nll=result.test_nll,
                energy_score=result.answer_energy_score,
                answer_lead_s=evaluation.get("answer_lead_s"),
                realism=evaluation.get("realism_mmd2"),
                evaluation=result.evaluation,
                sharpness=result.sharpness,
                history=[r.get("val_loss") for r in result.history],
                prediction=result.prediction,
                training_seconds=result.training_seconds,
            )
        runs.append(entry)
    return runs


def build_report(study: Study, runs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The report as plain data (see the module docstring), from ``runs`` (:func:`collect_runs`)."""
    runs = collect_runs(study) if runs is None else runs
    corpus = study_corpus(study)
    scale = study.runs[0].config.training.scale_factor
    dimension = corpus.dimension
    configurations = [_configuration_summary(c, [r for r in runs if r["configuration"] == c["name"]]) for c in study.configurations]
    usable = [r for r in runs if r["status"] in ("finished", "diverged")]
    report: dict[str, Any] = {
        "study": {
            "name": study.name,
            "description": study.description,
            "seeds": list(study.seeds),
            "n_configurations": len(study.configurations),
            "n_runs": len(runs),
            "counts": {s: sum(r["status"] == s for r in runs) for s in ("finished", "diverged", "failed", "missing")},
            "corpus": corpus.summary()["rows_per_split"],
            "measure": {
                "windows": study.measure.windows,
                "lanczos_restarts": study.measure.lanczos_restarts,
                "epsilons": list(study.measure.epsilons),
            },
        },
        "loss_units": (
            f"nats per step, summed over {dimension} dimensions ({'dt + ' if corpus.dt_modelled else ''}{len(corpus.features)} features), "
            f"data scaled to [0, 1], dequantised within {corpus.config.resolution:g} of each range, then multiplied by scale_factor = {scale:g}. "
            f"The paper's numbers are Keras losses with IMPSY's scale factor 10 on its own 21-dimension data, raw, with a constant dt "
            "column whose collapsing sigma was worth about 15 nats per step for nothing: ours omit that column and those free nats, so "
            "compare orderings and gaps, not the values themselves."
        ),
        "answer_label": answer_label(runs),
        "configurations": configurations,
        "questions": _questions(usable),
        "comparisons": {
            "test_nll": _comparisons(configurations, "test_nll", "test NLL"),
            "energy_score": _comparisons(configurations, "energy_score", answer_label(runs)),
        },
        "runs": [
            {k: v for k, v in r.items() if k not in ("history", "prediction", "evaluation", "sharpness")} | _run_sharpness(r) for r in runs
        ],
    }
    families = _families(study, configurations)
    if families:
        report["families"] = families
    return report


def write_report(study_dir: Path | str) -> dict[str, Any]:
    """Build the report and write report.json, report.html, the figures (and winners.toml for
    searches) into the study folder; returns the report."""
    from antiphon.render.plots import plot_continuation, save_figure
    from antiphon.study import plots

    study = read_study(study_dir)
    folder = study.folder
    everything = collect_runs(study)
    report = build_report(study, everything)
    runs = [r for r in everything if r["status"] in ("finished", "diverged")]
    figures: dict[str, str] = {}
    curves = {c["name"]: [r["history"] for r in runs if r["configuration"] == c["name"] and r.get("history")] for c in study.configurations}
    save_figure(plots.plot_validation_curves(curves), folder / "validation_curves.png")
    figures["validation_curves"] = "validation_curves.png"
    save_figure(plots.plot_metric_comparison(report["configurations"], report["answer_label"]), folder / "metrics.png")
    figures["metrics"] = "metrics.png"
    measured = [r for r in runs if r.get("energy_score") is not None]
    if measured:
        save_figure(plots.plot_loss_vs_answers(measured, report["answer_label"]), folder / "loss_vs_answers.png")
        figures["loss_vs_answers"] = "loss_vs_answers.png"
    sharp = [r for r in runs if r.get("sharpness")]
    if sharp:
        epsilon = max(sharp[0]["sharpness"].epsilon_sharpness, key=float, default=None)
        save_figure(plots.plot_sharpness(sharp, epsilon), folder / "sharpness.png")
        figures["sharpness"] = "sharpness.png"
        first = {}
        for r in sharp:
            first.setdefault(r["configuration"], r["sharpness"].slices)
        if any(s["loss"] for s in first.values()):
            save_figure(plots.plot_slices(first), folder / "slices.png")
            figures["slices"] = "slices.png"
    predictions = {}
    for c in study.configurations:
        example = next((r for r in runs if r["configuration"] == c["name"] and r.get("prediction")), None)
        if example is None:
            continue
        p = example["prediction"]

        def as_arrays(columns: dict[str, list[float]]) -> dict[str, np.ndarray]:
            return {name: np.asarray(values) for name, values in columns.items()}

        figure = plot_continuation(
            np.asarray(p["prompt_ms"]),
            as_arrays(p["prompt"]),
            np.asarray(p["predicted_ms"]),
            as_arrays(p["predicted"]),
            title=f"{c['name']} (seed {example['seed']}): input, then prediction",
            real_ms=np.asarray(p["real_ms"]),
            real=as_arrays(p["real"]),
        )
        name = f"predictions/{_slug(c['name'])}.png"
        save_figure(figure, folder / name)
        predictions[c["name"]] = name
    figures["predictions"] = predictions
    if "families" in report:
        save_figure(plots.plot_budget(report["families"]), folder / "budget.png")
        figures["budget"] = "budget.png"
        write_text_atomic(folder / "winners.toml", _winners_spec(study, report["families"]))
        figures["winners_spec"] = "winners.toml"
    report["files"] = figures
    write_json_atomic(folder / REPORT_FILE, report)
    write_text_atomic(folder / HTML_FILE, render_html(report))
    return report


# --------------------------------------------------------------------------------------------
# Summaries


def answer_label(runs: list[dict[str, Any]]) -> str:
    """'energy score at 1 s': the lead time the runs' answer energy score was taken at (1 s unless
    the spec's evaluate.horizons_s lack it)."""
    lead = next((r["answer_lead_s"] for r in runs if r.get("answer_lead_s") is not None), 1.0)
    return f"energy score at {lead:g} s"


def _interval(values: list[float | None]) -> dict[str, Any]:
    """Mean and 95 % t-interval over the finite values; ``values`` keeps one entry per seed."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return {"mean": None, "low": None, "high": None, "n": 0, "values": values}
    interval = statistics.t_interval(finite)
    return {"mean": interval.mean, "low": interval.low, "high": interval.high, "n": len(finite), "values": values}


def _configuration_summary(configuration: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    done = [r for r in runs if r["status"] in ("finished", "diverged")]

    def per_seed(key: str) -> list[float | None]:
        return [r.get(key) if r["status"] in ("finished", "diverged") else None for r in runs]

    epsilons = sorted({e for r in done if r.get("sharpness") for e in r["sharpness"].epsilon_sharpness}, key=float)
    measured = [r["sharpness"].summarised(epsilons) if r.get("sharpness") else None for r in runs]

    summary = {
        "name": configuration["name"],
        "family": configuration.get("family"),
        "paper": configuration.get("paper"),
        "changes": configuration.get("changes"),
        "seeds": [r["seed"] for r in runs],
        "n_runs": len(runs),
        "finished": sum(r["status"] == "finished" for r in runs),
        "diverged": sum(r["status"] == "diverged" for r in runs),
        "failed": sum(r["status"] == "failed" for r in runs),
        "missing": sum(r["status"] == "missing" for r in runs),
        "min_val_loss": _interval(per_seed("best_val_loss")),
        "best_epoch": _interval([float(e) if e is not None else None for e in per_seed("best_epoch")]),
        "test_nll": _interval(per_seed("test_nll")),
        "energy_score": _interval(per_seed("energy_score")),
    }
    components = {}
    for key in ANSWER_MEASURES:
        values = [r["evaluation"].get(key) for r in done if r.get("evaluation")]
        values = [v for v in values if v is not None]
        components[key] = float(np.mean(values)) if values else None
    summary["answer_measures"] = components
    summary["sharpness"] = {name: _interval([m[name] if m else None for m in measured]) for name in summarised_names(epsilons)}
    return summary


def _questions(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The rank correlations that answer the study's questions, each with n and a sentence."""
    out: dict[str, Any] = {}
    for name, key, answer, label in (
        ("validation_loss_vs_energy_score", "best_val_loss", "energy_score", f"the minimum validation loss and the {answer_label(runs)}"),
        ("test_nll_vs_energy_score", "test_nll", "energy_score", f"the test NLL and the {answer_label(runs)}"),
        ("validation_loss_vs_realism", "best_val_loss", "realism", "the minimum validation loss and the realism MMD²"),
    ):
        rows = [(r[key], r[answer], r["configuration"]) for r in runs if r.get(key) is not None and r.get(answer) is not None]
        out[name] = _correlation(
            [(a, b) for a, b, _ in rows], label, positive_means="a lower loss goes with better answers", groups=[g for _, _, g in rows]
        )
    sharp = [(r["sharpness"], r["configuration"]) for r in runs if r.get("sharpness")]
    sharp = [(s, configuration) for s, configuration in sharp if s.gap is not None]
    measures: dict[str, Any] = {}
    epsilons = sorted({e for s, _ in sharp for e in s.epsilon_sharpness}, key=float)
    for name in [*EIGENVALUE_MEASURES, *(f"epsilon_sharpness_{e}" for e in epsilons)]:
        rows = [
            (
                s.sharpness_measures(epsilons)[name],
                s.gap,
                s.min_log_sigma if s.min_log_sigma is not None else s.mean_log_sigma,
                configuration,
            )
            for s, configuration in sharp
        ]
        rows = [row for row in rows if all(v is not None and math.isfinite(v) for v in row[:3])]
        entry = _correlation(
            [(a, b) for a, b, _, _ in rows], f"{name} and the generalisation gap", positive_means=None, groups=[g for *_, g in rows]
        )
        entry["partial_spearman_given_min_log_sigma"] = (
            json_safe(statistics.partial_rank_correlation(*zip(*[row[:3] for row in rows]))) if len(rows) >= 4 else None
        )
        measures[name] = entry
    out["sharpness_vs_generalisation"] = measures
    return out


def _correlation(pairs: list[tuple[float, float]], what: str, positive_means: str | None, groups: list[str]) -> dict[str, Any]:
    """Spearman's rho with an interval from a cluster bootstrap over ``groups`` (configurations), and a sentence.

    ``positive_means`` is what a clearly positive rho says when both quantities are lower-is-better
    (None: the sharpness sentence)."""
    kept = [(a, b, g) for (a, b), g in zip(pairs, groups) if math.isfinite(a) and math.isfinite(b)]
    finite = [(a, b) for a, b, _ in kept]
    if len(finite) < 3 or len({a for a, _ in finite}) < 2 or len({b for _, b in finite}) < 2:
        return {"n": len(finite), "spearman": None, "words": f"Too few runs with varying values to correlate {what} ({len(finite)})."}
    result = statistics.rank_correlation(*zip(*finite), groups=[g for *_, g in kept])
    rho, low, high = result["spearman"], result["spearman_low"], result["spearman_high"]
    clear = math.isfinite(low) and not (low <= 0 <= high)
    words = (
        f"Across {len(finite)} runs, Spearman's rho between {what} is {rho:+.2f} (95 % interval {low:+.2f} to {high:+.2f}, "
        f"resampling {len({g for *_, g in kept})} configurations)"
    )
    if not clear:
        words += ": no clear relation."
    elif positive_means is not None:
        words += f": {positive_means}." if rho > 0 else ": a lower loss goes with WORSE answers."
    else:
        words += ": the sharper minima generalise " + ("worse." if rho > 0 else "better.")
    return {"n": len(finite), **json_safe(result), "words": words}


def _comparisons(configurations: list[dict[str, Any]], key: str, quantity: str) -> list[dict[str, Any]]:
    """Every pair on the seeds both finished, Holm-adjusted; ``a`` is the one with the lower mean."""
    rows = []
    for first, second in combinations(configurations, 2):
        x = dict(zip(first["seeds"], first[key]["values"]))
        y = dict(zip(second["seeds"], second[key]["values"]))
        seeds = [s for s in x if s in y and x[s] is not None and y[s] is not None]
        if not seeds:
            continue
        a, b = (first, second) if np.mean([x[s] for s in seeds]) <= np.mean([y[s] for s in seeds]) else (second, first)
        va = [dict(zip(a["seeds"], a[key]["values"]))[s] for s in seeds]
        vb = [dict(zip(b["seeds"], b[key]["values"]))[s] for s in seeds]
        rows.append((a["name"], b["name"], statistics.paired_comparison(va, vb)))
    adjusted = statistics.holm([c.p_t for _, _, c in rows]) if rows else []
    return [
        {
            "a": a,
            "b": b,
            "n": c.n,
            "mean_difference": c.mean_difference.mean,
            "low": c.mean_difference.low,
            "high": c.mean_difference.high,
            "p_t": c.p_t,
            "p_wilcoxon": c.p_wilcoxon,
            "p_holm": p,
            "probability_a_lower": c.probability_a_lower,
            "words": statistics.in_words(a, b, c, p, quantity=quantity),
        }
        for (a, b, c), p in zip(rows, adjusted)
    ]


def _families(study: Study, configurations: list[dict[str, Any]]) -> dict[str, Any]:
    families: dict[str, Any] = {}
    for c in configurations:
        if c.get("family"):
            families.setdefault(c["family"], []).append(c)
    out = {}
    for name, members in families.items():
        means = [m["min_val_loss"]["mean"] for m in members]
        best_so_far, best = [], None
        for value in means:
            if value is not None and (best is None or value < best):
                best = value
            best_so_far.append(best)
        finite = [(v, m["name"]) for v, m in zip(means, members) if v is not None]
        winner = min(finite)[1] if finite else None
        out[name] = {
            "trials": len(members),
            "best": winner,
            "best_val_loss": min(finite)[0] if finite else None,
            "best_so_far": best_so_far,
        }
    return out


def _winners_spec(study: Study, families: dict[str, Any]) -> str:
    import tomli_w

    changes = {c["name"]: c.get("changes") or {} for c in study.configurations}
    document = {
        "name": f"{study.name}-winners",
        "description": f"the best trial of each family of {study.name}, re-run with ten seeds (compare on the test split)",
        "seeds": list(range(10)),
        "base": study.base,
        "run": [
            {"name": f"{family} (best of {data['trials']}: {data['best']})", **changes[data["best"]]}
            for family, data in families.items()
            if data["best"]
        ],
    }
    return "# Written by `antiphon study report`.\n" + tomli_w.dumps(document)


def _run_sharpness(run: dict[str, Any]) -> dict[str, Any]:
    """The run's sharpness numbers without its slices (those are in the figure)."""
    s = run.get("sharpness")
    return {"sharpness": {k: v for k, v in s.to_dict().items() if k != "slices"}} if s else {}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "configuration"


# --------------------------------------------------------------------------------------------
# HTML


def _number(value: Any, digits: int = 2) -> str:
    return "&ndash;" if value is None else f"{value:.{digits}f}"


def _ci(summary: dict[str, Any], digits: int = 2) -> str:
    if not summary or summary.get("mean") is None:
        return "&ndash;"
    half = (summary["high"] - summary["low"]) / 2
    return f"{summary['mean']:.{digits}f} &plusmn; {half:.{digits}f}"


def render_html(report: dict[str, Any]) -> str:
    """One self-contained page (figures referenced beside it) of the whole report."""
    e = html.escape
    study, files = report["study"], report.get("files", {})
    counts = study["counts"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>antiphon study: {e(study['name'])}</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}img{max-width:100%}.note{color:#555}</style></head><body>",
        f"<h1>Optimizer study: {e(study['name'])}</h1><p>{e(study['description'])}</p>",
        f"<p>{study['n_configurations']} configurations &times; seeds {e(str(study['seeds']))}: {study['n_runs']} runs; "
        f"{counts['finished']} finished, {counts['diverged']} diverged, {counts['failed']} failed, {counts['missing']} not run yet. "
        f"Corpus rows: {e(str(study['corpus']))}.</p>",
        f"<p class='note'>Losses: {e(report['loss_units'])}</p>",
        "<h2>Table I: minimum validation loss</h2>",
        "<table><tr><th>configuration</th><th>min val loss (mean &plusmn; 95 %)</th><th>epoch</th><th>diverged</th>"
        f"<th>paper: min val loss</th><th>paper: epoch</th><th>test NLL</th><th>{report['answer_label']} (lower is better)</th></tr>",
    ]
    for c in report["configurations"]:
        paper = c.get("paper") or {}
        parts.append(
            f"<tr><td>{e(c['name'])}</td><td>{_ci(c['min_val_loss'])}</td><td>{_ci(c['best_epoch'], 1)}</td>"
            f"<td>{c['diverged']} of {c['n_runs']}</td><td>{_number(paper.get('min_val_loss'))}</td><td>{paper.get('epoch', '&ndash;')}</td>"
            f"<td>{_ci(c['test_nll'])}</td><td>{_ci(c['energy_score'], 3)}</td></tr>"
        )
    parts.append("</table>")
    for key, title in (("metrics", "Configurations compared"), ("validation_curves", "Validation curves")):
        if key in files:
            parts.append(f"<h3>{title}</h3><img src='{e(files[key])}'>")
    questions = report["questions"]
    parts.append("<h2>Does the lowest validation loss give the best predictions?</h2>")
    parts.append(f"<p><b>{e(questions['validation_loss_vs_energy_score']['words'])}</b></p>")
    parts.append(f"<p>{e(questions['test_nll_vs_energy_score']['words'])}</p>")
    parts.append(f"<p>{e(questions['validation_loss_vs_realism']['words'])}</p>")
    if "loss_vs_answers" in files:
        parts.append(f"<img src='{e(files['loss_vs_answers'])}'>")
    parts.append(
        "<h3>Answer measures (means over seeds; docs/evaluation.md)</h3><table><tr><th>configuration</th>"
        + "".join(f"<th>{e(k.replace('_', ' '))}</th>" for k in ANSWER_MEASURES)
        + "</tr>"
    )
    for c in report["configurations"]:
        s = c["answer_measures"]
        parts.append(f"<tr><td>{e(c['name'])}</td>" + "".join(f"<td>{_number(s.get(k), 3)}</td>" for k in ANSWER_MEASURES) + "</tr>")
    parts.append("</table>")
    parts.append(
        "<h2>Sharpness of each minimum</h2><p class='note'>On fixed training windows, float64, oneDNN off. The NLL's curvature "
        "along the means scales like 1/&sigma;&sup2;, so a model with smaller &sigma; looks sharper whatever its geometry: the mean "
        "log &sigma; is given beside each number, the eigenvalue is measured again with &sigma; and &pi; frozen at the minimum (only the "
        "means move, still on the 1/&sigma;&sup2; scale) and on the squared error of the mixture mean (no &sigma; at all), and the "
        "correlation with generalisation is also given with the smallest per-dimension log &sigma; held fixed (partial rank "
        "correlation): the dimension with the smallest &sigma; dominates the top eigenvalue. Eigenvalues come from Lanczos at both "
        "ends of the spectrum; report.json gives each end with its residual.</p>"
        "<table><tr><th>configuration</th><th>&lambda;<sub>max</sub></th><th>&lambda;<sub>max</sub>, &sigma; frozen</th>"
        "<th>&lambda;<sub>max</sub>, squared error of the mean</th>"
        "<th>&epsilon;-sharpness (largest &epsilon;)</th><th>mean log &sigma;</th><th>smallest log &sigma; (per dimension)</th><th>gap (val &minus; train)</th></tr>"
    )
    for c in report["configurations"]:
        s = c["sharpness"]
        eps = [k for k in s if k.startswith("epsilon_sharpness_")]
        parts.append(
            f"<tr><td>{e(c['name'])}</td><td>{_ci(s['lambda_max'], 1)}</td><td>{_ci(s['lambda_max_fixed_sigma'], 1)}</td>"
            f"<td>{_ci(s['lambda_max_mean_mse'], 2)}</td>"
            f"<td>{_ci(s[eps[-1]], 3) if eps else '&ndash;'}</td><td>{_ci(s['mean_log_sigma'])}</td><td>{_ci(s['min_log_sigma'])}</td><td>{_ci(s['gap'])}</td></tr>"
        )
    parts.append("</table><ul>")
    for entry in questions["sharpness_vs_generalisation"].values():
        partial = entry.get("partial_spearman_given_min_log_sigma")
        parts.append(f"<li>{e(entry['words'])} With the smallest per-dimension log &sigma; held fixed: rho = {_number(partial)}.</li>")
    parts.append("</ul>")
    for key in ("sharpness", "slices"):
        if key in files:
            parts.append(f"<img src='{e(files[key])}'>")
    for key, quantity in (("test_nll", "test NLL"), ("energy_score", report["answer_label"])):
        rows = report["comparisons"][key]
        clear = [r for r in rows if r["p_holm"] is not None and r["p_holm"] < 0.05]
        parts.append(f"<h2>Paired comparisons: {quantity}</h2><p>{len(clear)} of {len(rows)} pairs differ after Holm's correction.</p><ul>")
        parts.extend(f"<li>{e(r['words'])}</li>" for r in sorted(rows, key=lambda r: (r["p_holm"] is None, r["p_holm"])))
        parts.append("</ul>")
    if "families" in report:
        parts.append(
            "<h2>Equal-budget search per family</h2><table><tr><th>family</th><th>trials</th><th>best trial</th><th>its min val loss</th></tr>"
        )
        for name, f in report["families"].items():
            parts.append(
                f"<tr><td>{e(name)}</td><td>{f['trials']}</td><td>{e(str(f['best']))}</td><td>{_number(f['best_val_loss'])}</td></tr>"
            )
        parts.append(
            f"</table><img src='{e(files.get('budget', ''))}'><p>Re-run the winners with ten seeds: <code>antiphon study run {e(files.get('winners_spec', ''))} -o ...</code></p>"
        )
    if files.get("predictions"):
        parts.append("<h2>Input, then prediction (Chroma03, Chroma04, Chroma05, SpectralSkewness)</h2>")
        for name, path in files["predictions"].items():
            parts.append(f"<h3>{e(name)}</h3><img src='{e(path)}'>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
