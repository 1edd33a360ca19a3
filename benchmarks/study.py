"""Optimizer-study throughput on a local Dask cluster with 1 and then 2 workers, side by side.

The same study (4 configurations x 2 seeds = 8 runs of the paper's size-s model, 3 epochs on
6,000 synthetic rows, evaluation and a light sharpness set each) runs twice from scratch in
fresh folders: on a one-worker and on a two-worker local cluster (one thread each, as
`antiphon study run` makes them, with `local_cluster`). Each cluster is started and its workers warmed (torch and
antiphon imported) first, then the study runs on it through its scheduler address, so the
runs/min figure is the study's throughput on a running cluster (what a 50-run Table I study sees
after its first seconds); the start-up is printed beside it, and the ratio with start-up
included too. Also printed: the median seconds per training epoch inside the runs, which shows
how much two workers slow each other down on 2 cores. Target: 2 workers at least 1.8x one
worker's throughput.

Then the estimate of the full `table1` study on the demo corpus (50 runs): a sample of it runs
for real on the 2-worker cluster -- two of its configurations (Adam and SGD with momentum) x 2
seeds, each run 3 epochs, with the spec's own evaluation and sharpness settings -- which gives
the seconds per epoch with both workers busy and the seconds of evaluation and sharpness per
run. The estimate multiplies them by the epochs each configuration trains: the paper's (its
best epoch + the patience of 20, at most 130: 668 epochs per seed) and at most, 130 for every
run. Target (issue 14): the full study in <= 2 hours on 2 cores.
Run: `.venv/bin/python benchmarks/study.py` (about 6 minutes).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from antiphon.config import Config
from antiphon.data.corpus import save_corpus
from antiphon.dataset import make_dataset
from antiphon.demo import demo_excerpts
from antiphon.study.runner import local_cluster, run_study
from antiphon.study.spec import default_spec_path, load_spec
from antiphon.study.store import RunResult, prepare_study
from training import synthetic_corpus

TARGET_RATIO = 1.8
TARGET_STUDY_HOURS = 2.0
SAMPLE_EPOCHS = 3
SPEC = """\
name = "bench"
seeds = [0, 1]
[base.model]
size = "s"
[base.training]
batch_size = 64
epochs = 3
patience = 10
[base.corpus]
train_fraction = 0.8
validation_fraction = 0.1
[base.evaluate]
prompt_ms = 300
horizon_s = 2.0
horizons_s = [0.25, 1.0]
max_prompts = 4
n_samples = 2
n_bootstrap = 100
[measure]
windows = 64
lanczos_restarts = 8
ascent_steps = 4
slice_points = 9
[[run]]
name = "adam"
training = { optimizer = "adam", lr = 0.001 }
[[run]]
name = "nadam"
training = { optimizer = "nadam", lr = 0.001 }
[[run]]
name = "sgd"
training = { optimizer = "sgd", lr = 0.01, momentum = 0.8 }
[[run]]
name = "sgd-nesterov"
training = { optimizer = "sgd", lr = 0.01, momentum = 0.8, nesterov = true }
"""


def warm() -> None:
    """What every run needs imported, so the start-up is measured as start-up."""
    import matplotlib.figure  # noqa: F401
    import torch  # noqa: F401

    import antiphon.evaluation.evaluate
    import antiphon.study.measure
    import antiphon.training.loop  # noqa: F401


def one_study(root: Path, corpus_dir: Path, workers: int) -> tuple[float, float, int, float]:
    """Start-up seconds, study seconds, runs done and the median epoch seconds of a fresh study on ``workers`` workers."""
    from distributed import Client

    spec_path = root / "spec.toml"
    spec_path.write_text(SPEC)
    folder = root / f"study-{workers}"
    prepare_study(load_spec(spec_path), folder, corpus_dir)
    started = time.perf_counter()
    with local_cluster(workers) as cluster, Client(cluster) as client:
        client.run(warm)
        ready = time.perf_counter()
        outcome = run_study(folder, scheduler=cluster.scheduler_address)
        done = time.perf_counter()
    epochs = [h["seconds"] for p in folder.glob("runs/*/result.json") for h in json.loads(p.read_text())["history"]]
    return ready - started, done - ready, outcome.finished, statistics.median(epochs)


def epoch_seconds(corpus_dir: str) -> float:
    """The fastest of 2 training epochs (size s, one thread) in this process, without Dask."""
    import torch

    from antiphon.config import PAPER_MODEL, Config, TrainingConfig
    from antiphon.data.corpus import load_corpus
    from antiphon.training.loop import train

    torch.set_num_threads(1)
    config = Config(model=PAPER_MODEL, training=TrainingConfig(epochs=2, patience=5, transpose=False))
    with tempfile.TemporaryDirectory() as folder:
        return min(r["seconds"] for r in train(load_corpus(corpus_dir), config, Path(folder) / "m").history)


def ceiling(corpus_dir: Path) -> float:
    """How much faster two plain processes train side by side than one: the most two workers can give."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        alone = pool.apply(epoch_seconds, (str(corpus_dir),))
    with context.Pool(2) as pool:
        together = pool.map(epoch_seconds, [str(corpus_dir)] * 2)
    return 2 * alone / max(together)


def table1_sample_spec() -> str:
    """The bundled table1 spec cut to a sample: its 1st (Adam) and 5th (SGD, momentum) configurations,
    2 seeds, SAMPLE_EPOCHS epochs (patience above it); everything else as the spec says."""
    text = default_spec_path().read_text()
    head, *runs = text.split("[[run]]")
    for old, new in (("seeds = [0, 1, 2, 3, 4]", "seeds = [0, 1]"), ("epochs = 130", f"epochs = {SAMPLE_EPOCHS}")):
        assert head.count(old) == 1, f"the table1 spec no longer says {old!r}"
        head = head.replace(old, new)
    return head + "".join("[[run]]" + runs[i] for i in (0, 4))


def table1_estimate(root: Path) -> None:
    """Measure a sample of table1 on the demo corpus and print the full study's estimate."""
    from distributed import Client

    spec = load_spec(default_spec_path())
    patience = spec.configurations[0].config.training.patience
    most = spec.configurations[0].config.training.epochs
    paper_epochs = [min(most, c.paper["epoch"] + patience) for c in spec.configurations]
    corpus_dir = root / "demo-corpus"
    make_dataset(demo_excerpts(), corpus_dir, Config())
    (root / "sample.toml").write_text(table1_sample_spec())
    folder = root / "table1-sample"
    prepare_study(load_spec(root / "sample.toml"), folder, corpus_dir)
    with local_cluster(2) as cluster, Client(cluster) as client:
        client.run(warm)
        run_study(folder, scheduler=cluster.scheduler_address)
    results = [RunResult.from_dict(json.loads(p.read_text())) for p in folder.glob("runs/*/result.json")]
    epoch_s = statistics.median(h["seconds"] for r in results for h in r.history)
    per_epoch_all_in = statistics.median(r.training_seconds / r.epochs_run for r in results)  # with checkpoints and start
    evaluation_s = statistics.median(r.evaluation_seconds for r in results)
    sharpness_s = statistics.median(r.sharpness_seconds for r in results)
    n_seeds, n_runs = len(spec.seeds), len(spec.runs())
    fixed = n_runs * (evaluation_s + sharpness_s)
    print(
        f"table1 on the demo corpus, sampled ({len(results)} runs x {SAMPLE_EPOCHS} epochs on 2 workers): epoch {epoch_s:.1f} s "
        f"({per_epoch_all_in:.1f} s with checkpoints and start), evaluation {evaluation_s:.0f} s, sharpness {sharpness_s:.0f} s per run"
    )
    for name, epochs in (("the paper's epochs", sum(paper_epochs)), ("every run to 130 epochs", most * len(paper_epochs))):
        hours = (n_seeds * epochs * per_epoch_all_in + fixed) / 2 / 3600
        verdict = "meets" if hours <= TARGET_STUDY_HOURS else "MISSES"
        print(
            f"  estimate, {name} ({epochs} epochs per seed x {n_seeds} seeds): {hours:.1f} h on 2 workers (target <= {TARGET_STUDY_HOURS:.0f} h: {verdict})"
        )


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        corpus_dir = save_corpus(synthetic_corpus(6000), root / "corpus")
        print("study throughput: 8 runs (4 configurations x 2 seeds), size s, 3 epochs, 6,000 rows, one thread per worker")
        results = {}
        for workers in (1, 2):
            startup, seconds, runs, epoch_s = one_study(root, corpus_dir, workers)
            results[workers] = (startup, seconds)
            print(
                f"  {workers} worker{'s' if workers > 1 else ' '}: {runs} runs in {seconds:6.1f} s = {runs / seconds * 60:5.1f} runs/min "
                f"(cluster start and warm-up {startup:.1f} s before), median epoch {epoch_s:.2f} s"
            )
        limit = ceiling(corpus_dir)
        print(f"  ceiling on this machine: two plain training processes side by side (no Dask) do {limit:.2f}x the work of one")
        ratio = results[1][1] / results[2][1]
        with_startup = sum(results[1]) / sum(results[2])
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        print(
            f"  2 workers / 1 worker throughput: {ratio:.2f}x on running clusters (target >= {TARGET_RATIO}x: {verdict}); "
            f"{with_startup:.2f}x counting each cluster's start-up"
        )
        table1_estimate(root)


if __name__ == "__main__":
    main()
