"""Running a study on Dask distributed: one task per unfinished run, results on disk.

:func:`run_one` is the task. It is idempotent: a finished run returns at once; an unfinished one
resumes from its last per-epoch checkpoint (:func:`antiphon.training.loop.train` with
``resume=True``), so a task retried after its worker was killed, or a study run again after a
crash, loses at most one epoch. It then evaluates the model (test NLL, the answer measures),
measures its sharpness and writes ``result.json`` atomically. Settings or data that cannot work
are recorded in ``failed.json`` instead of being retried.

:func:`run_study` submits the unfinished runs to a local cluster (one single-threaded worker per
core, the default) or to an existing scheduler (``tcp://host:8786``; the workers must see the
study folder at the same path and have antiphon installed). Dask retries a task whose worker
died (``retries=2``); the results come from the files, not from Dask, so nothing depends on the
scheduler surviving.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from antiphon.errors import AntiphonError
from antiphon.study.store import (
    ATTEMPTS_FILE,
    FAILED_FILE,
    PlannedRun,
    RunResult,
    Study,
    is_finished,
    read_result,
    read_study,
    study_corpus,
    write_run_file,
)

#: how many times Dask runs a task again after its worker died
RETRIES = 2

_corpora: dict[str, Any] = {}  # per worker process: the study corpus, read once


def run_one(study_dir: str, key: str) -> dict[str, Any]:
    """Train, evaluate and measure one run of the study in ``study_dir`` (the Dask task).

    Returns ``{"key", "status", "skipped", "seconds"}``; status is "finished", "diverged" or "failed".
    """
    import torch

    torch.set_num_threads(1)  # one worker per core: threads would only fight
    keep_freed_memory()
    started = time.perf_counter()
    study = read_study(study_dir)
    run = study.run(key)
    if is_finished(study, run):
        return {"key": key, "status": read_result(study, run).status, "skipped": True, "seconds": 0.0}
    folder = study.run_folder(key)
    folder.mkdir(parents=True, exist_ok=True)
    attempts = _record_attempt(study, run)
    try:
        result = _train_and_measure(study, run, attempts)
    except AntiphonError as exc:  # the settings or the data cannot work: retrying would not help
        write_run_file(study, run, FAILED_FILE, {"key": key, "configuration": run.configuration, "seed": run.seed, "error": str(exc)})
        return {"key": key, "status": "failed", "skipped": False, "seconds": time.perf_counter() - started}
    result.write(study, run)
    (folder / FAILED_FILE).unlink(missing_ok=True)
    return {"key": key, "status": result.status, "skipped": False, "seconds": time.perf_counter() - started}


def keep_freed_memory() -> None:
    """Let glibc keep freed memory for reuse, as it does by default (no-op elsewhere).

    Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536. Setting any trim threshold turns off
    glibc's dynamic mmap threshold, so every tensor above 128 KiB is mmap'd and unmapped again,
    page faults included: training ran 2.8x slower in a worker than in a plain process (6.4 s vs
    2.3 s per demo epoch, measured). Fixed thresholds of 64/128 MiB restore the plain speed.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None or "libc.so" not in name:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(-3, 64 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 128 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        return


def _train_and_measure(study: Study, run: PlannedRun, attempts: list[dict[str, Any]]) -> RunResult:
    from antiphon.evaluation.evaluate import evaluate
    from antiphon.model.directory import load_model
    from antiphon.study.measure import prediction_example, sharpness
    from antiphon.training.loop import checkpoint_epoch, train

    corpus = _corpora.get(str(study.folder))
    if corpus is None:
        corpus = _corpora[str(study.folder)] = study_corpus(study)
    model_dir = study.run_folder(run.key) / "model"
    resumed_from = checkpoint_epoch(model_dir)
    clock = time.perf_counter()
    trained = train(corpus, run.config, model_dir, resume=True)
    training_s = time.perf_counter() - clock
    result = RunResult(
        key=run.key,
        configuration=run.configuration,
        seed=run.seed,
        measure_key=run.measure_key,
        status="diverged" if trained.stopped == "diverged" else "finished",
        stopped=trained.stopped,
        epochs_run=trained.epochs_run,
        best_epoch=trained.best_epoch,
        best_val_loss=trained.best_val_loss,
        test_nll=trained.test_loss,
        n_parameters=trained.n_parameters,
        history=[{k: r[k] for k in ("epoch", "train_loss", "val_loss", "lr", "seconds")} for r in trained.history],
        resumed_from_epoch=resumed_from,
        attempts=len(attempts),
        training_seconds=training_s,
    )
    if trained.best_epoch is None:
        return result
    kept = load_model(model_dir)  # weights that reached a validation loss: measure them (read once)
    clock = time.perf_counter()
    evaluation = study_measures(evaluate(kept, corpus, run.config.evaluate, systems=("model",)))
    evaluation_s = time.perf_counter() - clock
    clock = time.perf_counter()
    sharp = sharpness(kept, corpus, study.measure)
    sharpness_s = time.perf_counter() - clock
    prediction = prediction_example(kept, corpus, run.config.evaluate, study.measure.prediction_features)
    return dataclasses.replace(
        result,
        evaluation=evaluation,
        evaluation_seconds=evaluation_s,
        sharpness=sharp,
        sharpness_seconds=sharpness_s,
        prediction=prediction,
    )


#: the lead time whose energy score stands for "the best answers" in a study (the nearest one measured)
ANSWER_LEAD_S = 1.0


def study_measures(report: dict[str, Any]) -> dict[str, Any]:
    """The numbers of an evaluation report a study keeps per run (the model's only: the baselines do
    not depend on how it was trained): energy score per lead time and at the lead nearest
    :data:`ANSWER_LEAD_S` (``answer_energy_score``), realism, dynamics, conditioning, copying, and
    the teacher-forced NLL with its gain over the best linear baseline."""
    model = report.free_running["model"]
    tf = report.teacher_forced
    lead = min(model["energy_score"], key=lambda h: abs(float(h) - ANSWER_LEAD_S))
    return {
        **{f"energy_score_{h}": v["mean"] for h, v in model["energy_score"].items()},
        "answer_lead_s": float(lead),
        "answer_energy_score": model["energy_score"][lead]["mean"],
        "realism_mmd2": (model.get("realism_mmd2") or {}).get("mean"),
        "steps_mmd2": (model.get("steps_mmd2") or {}).get("mean"),
        "acf_mmd2": (model.get("acf_mmd2") or {}).get("mean"),
        "conditioning_skill": model["conditioning"]["skill"],
        "copied_fraction": model["novelty"]["copied_fraction"],
        "teacher_forced_nll": tf["systems"]["model"]["nll"],
        "best_linear": tf["best_baseline"],
        "best_linear_nll": tf["systems"][tf["best_baseline"]]["nll"],
        "gain_over_best_linear": tf["gain_over_best"],
    }


def _record_attempt(study: Study, run: PlannedRun) -> list[dict[str, Any]]:
    """Append this attempt (pid, host, UTC start) to ``attempts.json``; returns all attempts so far."""
    import json

    path = study.run_folder(run.key) / ATTEMPTS_FILE
    try:
        attempts = json.loads(path.read_text(encoding="utf-8"))["attempts"]
    except (OSError, ValueError, KeyError, TypeError):
        attempts = []
    attempts.append({"pid": os.getpid(), "host": socket.gethostname(), "started_utc": datetime.now(UTC).isoformat(timespec="seconds")})
    write_run_file(study, run, ATTEMPTS_FILE, {"attempts": attempts})
    return attempts


class StudyProgress(Protocol):
    """What :func:`run_study` reports while it runs (the CLI draws it)."""

    def start(self, total: int, already_done: int, workers: int) -> None: ...

    def update(self, done: int, running: int, failed: int, diverged: int) -> None: ...


@dataclass(frozen=True)
class StudyOutcome:
    """Counts over every planned run after :func:`run_study` (``trained``: runs this call worked on)."""

    total: int
    trained: int
    finished: int
    diverged: int
    failed: int
    seconds: float


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_study(
    study_dir: Path | str,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: StudyProgress | None = None,
    poll_s: float = 0.5,
) -> StudyOutcome:
    """Run every unfinished run of the study in ``study_dir`` (see the module docstring).

    ``workers`` is the local cluster's size (default: one per core, at most one per run); it is
    ignored with ``scheduler``. A study with nothing left to do starts no cluster.
    """
    started = time.perf_counter()
    study = read_study(study_dir)
    pending = [run for run in study.runs if not is_finished(study, run)]
    done_before = len(study.runs) - len(pending)
    failed = diverged = 0
    if pending:
        with _DaskClient(scheduler, min(workers or default_workers(), len(pending))) as (client, n_workers):
            if progress is not None:
                progress.start(len(study.runs), done_before, n_workers)
            futures = {
                client.submit(
                    run_one, str(Path(study_dir).resolve()), run.key, key=f"antiphon-run-{run.key}", pure=False, retries=RETRIES
                ): run
                for run in pending
            }
            remaining = set(futures)
            while remaining:
                time.sleep(poll_s)
                for future in [f for f in remaining if f.done()]:
                    remaining.discard(future)
                    run = futures[future]
                    if future.status == "error":
                        failed += 1
                        error = future.exception()
                        write_run_file(
                            study,
                            run,
                            FAILED_FILE,
                            {
                                "key": run.key,
                                "configuration": run.configuration,
                                "seed": run.seed,
                                "error": f"{type(error).__name__}: {error}",
                                "traceback": "".join(traceback.format_exception(error)),
                            },
                        )
                    else:
                        status = future.result()["status"]
                        failed += status == "failed"
                        diverged += status == "diverged"
                if progress is not None:
                    # a worker may hold a queued task besides the one it runs: at most one runs per worker
                    running = sum(min(len(keys), 1) for keys in client.processing().values()) if remaining else 0
                    progress.update(len(futures) - len(remaining), running, failed, diverged)
    finished = sum(is_finished(study, run) for run in study.runs)
    return StudyOutcome(len(study.runs), len(pending), finished, diverged, len(study.runs) - finished, time.perf_counter() - started)


#: Dask settings for a study's local cluster. Each run keeps one core busy, so the helpers beside
#: it should not: the worker's statistical profiler samples the running stack every 10 ms by
#: default and its monitors wake every 0.1-0.5 s, which on 2 cores with 2 workers comes out of
#: the runs' time (with 1 worker they ran on the idle core for free).
QUIET_WORKERS: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


def local_cluster(workers: int):
    """A local Dask cluster for a study: ``workers`` single-threaded worker processes, quiet
    helpers (:data:`QUIET_WORKERS`), the HTTP endpoint on any free port, logs at ERROR only."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(QUIET_WORKERS):  # read by the nannies now and handed to every worker they (re)start
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR)


class _DaskClient:
    """A Dask client on a fresh local cluster, or on ``scheduler``; closed (cluster too) on exit."""

    def __init__(self, scheduler: str | None, workers: int) -> None:
        self.scheduler, self.workers = scheduler, workers
        self.cluster = self.client = None

    def __enter__(self):
        from distributed import Client

        if self.scheduler:
            self.client = Client(self.scheduler, timeout="20s")
            n_workers = len(self.client.scheduler_info()["workers"])
        else:
            self.cluster = local_cluster(self.workers)
            self.client = Client(self.cluster)
            n_workers = self.workers
        return self.client, n_workers

    def __exit__(self, *exc_info: object) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
