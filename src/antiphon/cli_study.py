"""``antiphon study``: the optimizer study's subcommands (run, report, specs), kept apart from
the main command module; :func:`add_parser` registers them and :func:`run` dispatches."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DESCRIPTION = """\
Reproduce the paper's optimizer comparison (Table I) and go beyond it. A study is a spec (a base
configuration, variations, seeds); every (configuration, seed) is one run: train with per-epoch
checkpoints, then evaluate (test NLL, answer measures) and measure the sharpness of the minimum.
Runs execute on Dask distributed: a local cluster by default (one single-threaded worker per
core), or an existing one with --scheduler. Re-running the same command after a crash or a killed
worker skips finished runs and resumes the others from their last checkpoint.

bundled specs (give the name instead of a file; `antiphon study specs` lists them):
  table1          the paper's 10 configurations x 5 seeds, its published numbers beside ours (default)
  table1-quick    the same 10 configurations at a fraction of the cost: 2 seeds, 30 epochs, stride 4
  decay-ignored   the SGD rows with decay as described vs ignored (what Keras 3 does)
  nadam-variants  the Nadam rows with the Keras <= 2.10 and the Keras 3 momentum schedule
  random-search   an equal tuning budget per optimizer family, then winners.toml to re-run with 10 seeds
"""

EPILOG = """\
examples:
  antiphon study run --corpus corpus/ -o table1/              the paper's Table I (50 runs)
  antiphon study run decay-ignored --corpus corpus/ -o decay/
  antiphon study run my-spec.toml --corpus corpus/ -o mine/ --workers 4
  antiphon study run -o table1/                               continue: skips finished runs
  antiphon study run --corpus corpus/ -o big/ --scheduler tcp://10.0.0.5:8786
  antiphon study report table1/                               report.html, report.json, figures

The study folder holds the corpus (split as the spec says), one folder per run (runs/<key>/: the
model, its checkpoint, result.json) and the report. With --scheduler the workers must see the
study folder at the same path and have antiphon installed. Spec format: docs/study.md.
"""


def add_parser(commands: Any) -> None:
    study = commands.add_parser(
        "study",
        help="the optimizer study: Table I and beyond, on Dask",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = study.add_subparsers(dest="study_command", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run",
        help="run a study (or continue one) and write its report",
        description="Run every unfinished run of a study, then write its report.\n\n" + EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("spec", nargs="?", metavar="SPEC", help="spec file or bundled spec name (default: table1)")
    run.add_argument("-o", "--out", type=Path, required=True, metavar="STUDY_DIR", help="study folder (created, or continued)")
    run.add_argument("--corpus", type=Path, metavar="CORPUS", help="corpus folder from `antiphon dataset` (needed for a new study)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N", help="local cluster size (default: one per core, at most one per run)")
    where.add_argument("--scheduler", metavar="ADDRESS", help="use this Dask scheduler (tcp://host:8786) instead of a local cluster")
    run.add_argument("--no-report", action="store_true", help="do not write the report at the end")
    report = actions.add_parser("report", help="write the report of a study folder (also while it runs)")
    report.add_argument("study_dir", type=Path, metavar="STUDY_DIR", help="a folder made by `antiphon study run`")
    actions.add_parser("specs", help="list the bundled specs")


def run(args: argparse.Namespace) -> int:
    return {"run": _run, "report": _report, "specs": _specs}[args.study_command](args)


def _run(args: argparse.Namespace) -> int:
    from antiphon.errors import ConfigError
    from antiphon.study.runner import run_study
    from antiphon.study.spec import load_spec, resolve_spec
    from antiphon.study.store import prepare_study

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    spec_path = resolve_spec(args.spec)
    if args.spec is None and (args.out / "spec.toml").exists():
        spec_path = args.out / "spec.toml"  # continuing a study: its own spec unless another is named
    spec = load_spec(spec_path)
    study = prepare_study(spec, args.out, args.corpus)
    print(f"study {spec.name}: {len(spec.configurations)} configurations x {len(spec.seeds)} seeds = {len(study.runs)} runs -> {args.out}")
    bar = StudyBar()
    try:
        outcome = run_study(args.out, scheduler=args.scheduler, workers=args.workers, progress=bar)
    finally:
        bar.stop()
    if outcome.trained == 0:
        print(f"nothing to run: all {outcome.total} runs already finished")
    else:
        print(
            f"ran {outcome.trained} runs in {outcome.seconds:.0f} s: {outcome.finished} of {outcome.total} finished ({outcome.diverged} diverged)"
        )
    if not args.no_report:
        _report(argparse.Namespace(study_dir=args.out))
    failed = outcome.total - outcome.finished
    if failed:
        print(
            f"antiphon: {failed} runs failed; see {args.out}/runs/<key>/failed.json, fix, and run the same command again", file=sys.stderr
        )
        return 1
    return 0


def _report(args: argparse.Namespace) -> int:
    from antiphon.study.report import HTML_FILE, write_report

    report = write_report(args.study_dir)
    print_table(report)
    print(f"\nreport: {Path(args.study_dir) / HTML_FILE} (and report.json, figures *.png beside it)")
    return 0


def print_table(report: dict[str, Any]) -> None:
    """Table I as the terminal shows it, and the answer to the study's central question."""

    def ci(s: dict[str, Any], digits: int = 2) -> str:
        return "-" if s.get("mean") is None else f"{s['mean']:.{digits}f} ± {(s['high'] - s['low']) / 2:.{digits}f}"

    counts = report["study"]["counts"]
    print(
        f"\nruns: {counts['finished']} finished, {counts['diverged']} diverged, {counts['failed']} failed, {counts['missing']} not run yet"
    )
    width = max(len(c["name"]) for c in report["configurations"])
    print(
        f"\n{'configuration':{width}s}  {'min val loss':>16s}  {'epoch':>11s}  {'diverged':>8s}  {'paper':>7s}  {'test NLL':>16s}  {report['answer_label']:>22s}"
    )
    for c in report["configurations"]:
        paper = (c.get("paper") or {}).get("min_val_loss")
        print(
            f"{c['name']:{width}s}  {ci(c['min_val_loss']):>16s}  {ci(c['best_epoch'], 1):>11s}  {c['diverged']:>3d} of {c['n_runs']:<2d}  "
            f"{'-' if paper is None else f'{paper:.2f}':>7s}  {ci(c['test_nll']):>16s}  {ci(c['energy_score'], 3):>22s}"
        )
    print(f"(mean ± half-width of the 95 % t-interval over seeds; {report['loss_units']})")
    print("\n" + report["questions"]["validation_loss_vs_energy_score"]["words"])


def _specs(args: argparse.Namespace) -> int:
    from antiphon.study.spec import bundled_specs, load_spec

    for name, path in sorted(bundled_specs().items()):
        spec = load_spec(path)
        print(f"{name:16s} {len(spec.configurations):3d} configurations x {len(spec.seeds)} seeds  {spec.description}")
        print(f"{'':16s} {path}")
    return 0


class StudyBar:
    """Runs done / running / failed / diverged with an ETA: a live bar on a terminal, a line per
    change otherwise (logs)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not self.console.is_terminal,
        )
        self.task = None
        self.last = ""

    def start(self, total: int, already_done: int, workers: int) -> None:
        import time

        self.total, self.before, self.started = total, already_done, time.monotonic()
        self.console.print(f"{total - already_done} runs to do on {workers} workers ({already_done} already finished)")
        self.progress.start()
        self.task = self.progress.add_task("runs", total=total, completed=already_done)

    def update(self, done: int, running: int, failed: int, diverged: int) -> None:
        import time

        text = f"runs: {self.before + done} done, {running} running, {failed} failed, {diverged} diverged"
        self.progress.update(self.task, completed=self.before + done, description=text)
        if not self.console.is_terminal and text != self.last:
            left = self.total - self.before - done
            elapsed = time.monotonic() - self.started
            eta = f", about {elapsed / done * left / 60:.1f} min left" if done and left else ""
            print(f"{text}{eta}", file=sys.stderr, flush=True)
        self.last = text

    def stop(self) -> None:
        self.progress.stop()
