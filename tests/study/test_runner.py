"""The study on real Dask clusters: a killed worker, a crashed study, re-runs that do no training,
an existing scheduler, and runs that cannot work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.study.conftest import write_tiny_spec

ANTIPHON = [sys.executable, "-m", "antiphon"]


def _start(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen([*ANTIPHON, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, **kwargs)


def _wait_for_mid_run(out: Path, timeout_s: float = 120.0) -> tuple[Path, int]:
    """A run folder whose first epoch is checkpointed but which has no result yet, and the pid working on it."""
    from antiphon.training.loop import checkpoint_epoch

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for run in sorted((out / "runs").glob("*")) if (out / "runs").exists() else []:
            if not (run / "result.json").exists() and checkpoint_epoch(run / "model") >= 1:
                try:
                    pid = json.loads((run / "attempts.json").read_text())["attempts"][-1]["pid"]
                except (OSError, ValueError, KeyError):
                    continue
                return run, pid
        time.sleep(0.005)
    raise AssertionError(f"no run reached a checkpoint without finishing within {timeout_s} s")


def _results(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (out / "runs").glob("*/result.json")}


def _modified(out: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in (out / "runs").rglob("*") if p.is_file()}


def test_a_killed_worker_resumes_and_a_finished_study_does_no_training(tmp_path, tiny_corpus_dir):
    spec = write_tiny_spec(tmp_path)
    out = tmp_path / "study"
    command = ["study", "run", str(spec), "--corpus", str(tiny_corpus_dir), "-o", str(out), "--workers", "2"]
    process = _start(command)
    killed_run, pid = _wait_for_mid_run(out)
    os.kill(pid, signal.SIGKILL)  # a Dask worker process, mid-run: its nanny starts a new one and the task runs again
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output

    results = _results(out)
    assert len(results) == 4
    assert {(r["configuration"], r["seed"]) for r in results.values()} == {("Adam", 0), ("Adam", 1), ("SGD", 0), ("SGD", 1)}
    for result in results.values():
        assert result["status"] == "finished" and result["epochs_run"] == 2
        assert [h["epoch"] for h in result["history"]] == [1, 2]  # resumed, not restarted: no epoch twice
        assert (
            result["sharpness"]["lambda_max"] > 0
            and result["evaluation"]["energy_score_0.3"] > 0
            and result["evaluation"]["answer_lead_s"] == 0.3
        )
    victim = results[killed_run.name]
    assert victim["attempts"] == 2 and victim["resumed_from_epoch"] >= 1

    report = json.loads((out / "report.json").read_text())
    assert [c["name"] for c in report["configurations"]] == ["Adam", "SGD"]
    assert all(c["finished"] == 2 and c["min_val_loss"]["n"] == 2 for c in report["configurations"])
    assert report["configurations"][0]["paper"] == {"min_val_loss": -10.0, "epoch": 2}
    for name in (
        "report.html",
        "validation_curves.png",
        "metrics.png",
        "loss_vs_answers.png",
        "sharpness.png",
        "slices.png",
        "predictions/adam.png",
    ):
        assert (out / name).stat().st_size > 1000, name
    assert "Table I" in (out / "report.html").read_text()

    before = _modified(out)
    again = subprocess.run([*ANTIPHON, *command], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "nothing to run: all 4 runs already finished" in again.stdout
    assert _modified(out) == before  # no checkpoint, model, attempt or result was touched


def test_a_crashed_study_resumes_from_its_checkpoints(tmp_path, tiny_corpus_dir):
    spec = write_tiny_spec(tmp_path)
    out = tmp_path / "study"
    command = ["study", "run", str(spec), "--corpus", str(tiny_corpus_dir), "-o", str(out), "--workers", "1"]
    process = _start(command, start_new_session=True)
    interrupted, _ = _wait_for_mid_run(out)
    os.killpg(process.pid, signal.SIGKILL)  # the whole study: driver, scheduler and worker
    process.communicate(timeout=60)
    assert not (interrupted / "result.json").exists()
    finished_before = set(_results(out))

    again = subprocess.run(
        [*ANTIPHON, "study", "run", "-o", str(out)], capture_output=True, text=True, timeout=300
    )  # the folder's own spec and corpus
    assert again.returncode == 0, again.stdout + again.stderr
    results = _results(out)
    assert len(results) == 4
    assert results[interrupted.name]["resumed_from_epoch"] >= 1 and results[interrupted.name]["attempts"] == 2
    assert [h["epoch"] for h in results[interrupted.name]["history"]] == [1, 2]
    assert all(results[key]["attempts"] == 1 for key in finished_before)
    report = json.loads((out / "report.json").read_text())
    assert report["study"]["counts"] == {"finished": 4, "diverged": 0, "failed": 0, "missing": 0}
    assert f"ran {4 - len(finished_before)} runs" in again.stdout  # the finished ones were not run again


def test_an_existing_scheduler_and_a_run_that_cannot_work(tmp_path, tiny_corpus_dir):
    """A cluster started the way a user starts one (`dask scheduler`, `dask worker`), given by address."""
    dask = str(Path(sys.executable).with_name("dask"))
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)], env=env, stderr=subprocess.DEVNULL
    )
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        worker = subprocess.Popen(
            [dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"], env=env, stderr=subprocess.DEVNULL
        )
        # sequence_length 400 > the 180-row validation blocks: training cannot start, for every seed
        extra = '[[run]]\nname = "Too long"\ntraining = { optimizer = "adam", sequence_length = 400 }\n'
        spec = write_tiny_spec(tmp_path, extra=extra)
        out = tmp_path / "study"
        done = subprocess.run(
            [*ANTIPHON, "study", "run", str(spec), "--corpus", str(tiny_corpus_dir), "-o", str(out), "--scheduler", address],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    assert done.returncode == 1, done.stdout + done.stderr  # some runs failed: the exit status says so
    assert "2 runs failed; see" in done.stderr and "4 of 6 finished" in done.stdout
    failures = [json.loads(p.read_text()) for p in (out / "runs").glob("*/failed.json")]
    assert len(failures) == 2 and all("sequence_length 400" in f["error"] and f["configuration"] == "Too long" for f in failures)
    pids = {json.loads(p.read_text())["attempts"][0]["pid"] for p in (out / "runs").glob("*/attempts.json")}
    assert len(pids) == 1  # the one worker process `dask worker` started ran them all

    report = json.loads((out / "report.json").read_text())
    too_long = report["configurations"][2]
    assert (too_long["failed"], too_long["finished"], too_long["min_val_loss"].get("mean")) == (2, 0, None)
    assert report["study"]["counts"] == {"finished": 4, "diverged": 0, "failed": 2, "missing": 0}


def test_continuing_needs_the_same_corpus(tmp_path, tiny_corpus_dir):
    from antiphon.config import CorpusConfig
    from antiphon.data.corpus import build_corpus, save_corpus
    from antiphon.errors import ConfigError, DataError
    from antiphon.study.spec import load_spec
    from antiphon.study.store import prepare_study
    from tests.conftest import FEATURES, synthetic_document

    spec = load_spec(write_tiny_spec(tmp_path))
    out = tmp_path / "study"
    with pytest.raises(ConfigError, match="give the corpus to study with --corpus"):
        prepare_study(spec, out, None)
    study = prepare_study(spec, out, tiny_corpus_dir)
    corpus = json.loads((out / "corpus" / "corpus.json").read_text())
    assert (corpus["corpus"]["train_fraction"], corpus["corpus"]["validation_fraction"]) == (0.7, 0.15)  # the spec's split
    assert prepare_study(spec, out, None).runs == study.runs  # continuing: the folder's own corpus
    other = save_corpus(build_corpus([synthetic_document(900, 0.5, "other.json")], CorpusConfig(features=FEATURES)), tmp_path / "other")
    with pytest.raises(ConfigError, match="trained on another corpus"):
        prepare_study(spec, out, other)
    fewer = save_corpus(build_corpus([synthetic_document(900, 0.5, "few.json")], CorpusConfig(features=FEATURES[:2])), tmp_path / "fewer")
    with pytest.raises(DataError, match=f"^{fewer}: the corpus holds 2 features .* \\(as {tmp_path / 'spec.toml'} splits it\\)"):
        prepare_study(spec, tmp_path / "new", fewer)
