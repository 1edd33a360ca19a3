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

A variant folder that already holds a report is read, and one that holds a trained model is only
evaluated: an interrupted ablation continues where it stopped.
"""

from __future__ import annotations

import argparse
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
    ("steps", lambda r: r["step_distance"]),
    ("acf", lambda r: r.get("acf_mmd2")),  # "-" for a report made before the measure was a distribution
)


def parse_variant(text: str) -> tuple[str, list[str]]:
    name, _, overrides = text.partition("=")
    return name, [o for o in overrides.split(",") if o]


def run_variant(corpus_dir: Path, out_dir: Path, name: str, overrides: list[str]) -> EvaluationReport:
    folder = out_dir / name
    report_path = folder / "evaluation" / "report.json"
    if report_path.exists():
        return read_evaluation_report(report_path)
    config = load_config(None, overrides)
    corpus = load_corpus(corpus_dir)
    if config.corpus != corpus.config:
        corpus = resplit(corpus, config.corpus)
    if not (folder / "model" / "model.json").exists():
        train(corpus, config, folder / "model")
    report = evaluate(load_model(folder / "model"), corpus, config.evaluate, folder / "evaluation")
    print(f"{name}: {summary(report)}", flush=True)
    return report


def cell(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("mean") is None:
        return "-"
    return f"{entry['mean']:.3f} ({entry['low']:.2f}..{entry['high']:.2f})"


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


def table(reports: dict[str, EvaluationReport]) -> str:
    heads = ["variant", "NLL gain", "dims", *[label for label, _ in FREE_RUNNING], "cond.", "lost verdicts"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for name, report in reports.items():
        tf, model = report.teacher_forced, report.free_running["model"]
        lost = sum(w == "loses" for v in report.verdicts.values() for w in v.values())
        cells = [name, f"{tf['gain_over_best']:+.2f}", str(tf["dimensions_better"])]
        cells += [cell(pick(model)) for _, pick in FREE_RUNNING]
        cells += [f"{model['conditioning']['skill']:+.3f}", str(lost)]
        lines.append("| " + " | ".join(cells) + " |")
    first = next(iter(reports.values())).free_running
    for system, values in first.items():
        if system == "model":
            continue
        cells = [f"*{system}*", "", "", *[cell(pick(values)) for _, pick in FREE_RUNNING], "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--base", action="append", default=[], help="an override for every variant, e.g. training.epochs=12")
    parser.add_argument("--variant", action="append", default=[], help="NAME=override,override,... (NAME= for the base alone)")
    args = parser.parse_args()
    reports = {}
    for text in args.variant or ["base="]:
        name, overrides = parse_variant(text)
        reports[name] = run_variant(args.corpus_dir, args.out_dir, name, [*args.base, *overrides])
    text = table(reports)
    (args.out_dir / "ablation.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
