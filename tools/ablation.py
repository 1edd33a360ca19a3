"""The model's levers, measured: train one model per variant on one corpus and judge each with
`antiphon evaluate`'s measures (docs/model.md, "Ablation").

Each variant is a name and a list of `--set` overrides applied on top of the base settings
(`--base`, repeated). Every variant's model folder, report.json and a one-line summary go under
OUT_DIR; at the end a table of the model's measures with their bootstrap intervals is printed
and written to OUT_DIR/ablation.md, with the baselines' values from the first variant's report
(the baselines do not depend on how the model was trained, only on the corpus).

Run, for example::

    .venv/bin/python tools/ablation.py CORPUS_DIR OUT_DIR --base training.epochs=12 --base training.patience=4 \\
        --variant default= \\
        --variant paper=model.residual=false,model.skip=false,model.level_steps=0,training.transpose=false \\
        --variant no_level=model.level_steps=0

With ``--seeds N`` each variant is trained N times (``training.seed`` 0 .. N-1, under
OUT_DIR/NAME/seedK) and the table gives each measure's mean over the seeds with its range: one
training run is not enough to tell most levers apart, since on the demo corpus three seeds of the
same settings ranged 0.08-0.32 on realism and 0.40-0.72 on autocorrelation (docs/model.md, round 4).

The corpus is split as it was built (its `[corpus]` settings, e.g. `corpus.train_files`); a
variant or `--base` that sets `corpus.KEY` re-splits it with that one setting changed.

A variant folder that already holds a report is read, and one that holds a trained model is only
evaluated: an interrupted ablation continues where it stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from antiphon.config import load_config
from antiphon.data.corpus import load_corpus, resplit
from antiphon.evaluation.evaluate import EvaluationReport, evaluate, read_evaluation_report
from antiphon.model.directory import load_model
from antiphon.training.loop import train

#: (label, how to read it from a system's free-running report)
FREE_RUNNING = (
    ("ES 0.25 s", lambda r: r["energy_score"].get("0.25")),
    ("ES 1 s", lambda r: r["energy_score"].get("1")),
    ("realism", lambda r: r["realism_mmd2"]),
    ("steps", lambda r: r.get("steps_mmd2")),  # "-" for a report made before the steps were a distribution
    ("acf", lambda r: r.get("acf_mmd2")),  # "-" for a report made before the measure was a distribution
)


def parse_variant(text: str) -> tuple[str, list[str]]:
    name, _, overrides = text.partition("=")
    return name, [o for o in overrides.split(",") if o]


def run_variant(corpus_dir: Path, folder: Path, name: str, overrides: list[str]) -> EvaluationReport:
    """Train (unless ``folder`` holds the model) and evaluate one setting; ``name`` labels its summary line."""
    report_path = folder / "evaluation" / "report.json"
    if report_path.exists():
        return read_evaluation_report(report_path)
    config = load_config(None, overrides)
    corpus = load_corpus(corpus_dir)
    # the corpus's own settings (its split, its training-only files), changed only where an override names corpus.KEY
    changed = {o.partition("=")[0].strip().removeprefix("corpus.") for o in overrides if o.strip().startswith("corpus.")}
    config = dataclasses.replace(config, corpus=dataclasses.replace(corpus.config, **{k: getattr(config.corpus, k) for k in changed}))
    if config.corpus != corpus.config:
        corpus = resplit(corpus, config.corpus)
    if not (folder / "model" / "model.json").exists():
        train(corpus, config, folder / "model")
    report = evaluate(load_model(folder / "model"), corpus, config.evaluate, folder / "evaluation")
    print(f"{name}: {summary(report)}", flush=True)
    return report


def run_seeds(corpus_dir: Path, out_dir: Path, name: str, overrides: list[str], seeds: int) -> list[EvaluationReport]:
    """One report per training seed: OUT_DIR/NAME for one seed (the settings' own), else OUT_DIR/NAME/seedK."""
    if seeds == 1:
        return [run_variant(corpus_dir, out_dir / name, name, overrides)]
    return [
        run_variant(corpus_dir, out_dir / name / f"seed{seed}", f"{name} seed {seed}", [*overrides, f"training.seed={seed}"])
        for seed in range(seeds)
    ]


def cell(entries: list[dict[str, Any] | None]) -> str:
    """One report's mean and bootstrap interval, or the mean over several seeds and their range."""
    values = [e for e in entries if e and e.get("mean") is not None]
    if not values:
        return "-"
    if len(entries) == 1:
        return f"{values[0]['mean']:.3f} ({values[0]['low']:.2f}..{values[0]['high']:.2f})"
    means = [e["mean"] for e in values]
    return f"{sum(means) / len(means):.3f} ({min(means):.2f}..{max(means):.2f} over {len(means)} seeds)"


def spread(values: list[float], form: str) -> str:
    """A value, or the mean and range of several."""
    if len(values) == 1:
        return format(values[0], form)
    return f"{format(sum(values) / len(values), form)} ({format(min(values), form)}..{format(max(values), form)})"


def summary(report: EvaluationReport) -> str:
    tf = report.teacher_forced
    gain = tf["gain_over_best"]
    model = report.free_running["model"]
    verdicts = report.verdicts
    lost = sorted({f"{b}:{m}" for b, v in verdicts.items() for m, w in v.items() if w == "loses"})
    return (
        f"NLL gain over {tf['best_baseline']} {gain:+.2f} nats/step, better on {tf['dimensions_better']} dims; "
        f"conditioning {model['conditioning']['skill']:+.3f}; loses {len(lost)}: {' '.join(lost)}"
    )


def table(reports: dict[str, list[EvaluationReport]]) -> str:
    """The model's row per variant (over its seeds), then the baselines' rows from the first report."""
    heads = ["variant", "NLL gain", "dims", *[label for label, _ in FREE_RUNNING], "cond.", "lost verdicts"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for name, runs in reports.items():
        models = [r.free_running["model"] for r in runs]
        cells = [
            name,
            spread([r.teacher_forced["gain_over_best"] for r in runs], "+.2f"),
            spread([r.teacher_forced["dimensions_better"] for r in runs], ".0f"),
        ]
        cells += [cell([pick(m) for m in models]) for _, pick in FREE_RUNNING]
        cells += [
            spread([m["conditioning"]["skill"] for m in models], "+.3f"),
            spread([sum(w == "loses" for v in r.verdicts.values() for w in v.values()) for r in runs], ".0f"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    first = next(iter(reports.values()))[0].free_running
    for system, values in first.items():
        if system == "model":
            continue
        cells = [f"*{system}*", "", "", *[cell([pick(values)]) for _, pick in FREE_RUNNING], "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--base", action="append", default=[], help="an override for every variant, e.g. training.epochs=12")
    parser.add_argument("--variant", action="append", default=[], help="NAME=override,override,... (NAME= for the base alone)")
    parser.add_argument(
        "--seeds", type=int, default=1, help="train each variant with training.seed 0 .. N-1 (default 1: the settings' seed)"
    )
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    reports = {}
    for text in args.variant or ["base="]:
        name, overrides = parse_variant(text)
        reports[name] = run_seeds(args.corpus_dir, args.out_dir, name, [*args.base, *overrides], args.seeds)
    text = table(reports)
    (args.out_dir / "ablation.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
