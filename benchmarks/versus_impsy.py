"""antiphon beside IMPSY, measured in one run on the same data: training, inference step, OSC.

IMPSY (the paper's base system, `impsy` from PyPI, pinned below) is installed into a scratch
virtualenv of its own (``bench-output/impsy-venv``, never the project's ``.venv``) on the first
run and reused after; where it cannot be installed (no registry, no Python 3.11), IMPSY's
column is skipped with the reason and antiphon's figures are printed alone, without ratios.

The data: the four bundled demo recordings analyzed by `antiphon analyze` (20 Spectral values at
a 11.6 ms hop), as a corpus that keeps dt as a dimension (IMPSY's layout: 21 values per row),
90 % training and 10 % validation per recording. IMPSY gets the same rows as its ``.npz``
dataset (one performance per recording and split; it scales them by 10 itself); antiphon
trains the paper's model with the paper's settings on them (size s, batch 64, sequence 50,
scale factor 10, no augmentation, no dequantisation). Each trains 2 epochs in its own process,
and again, in turns (IMPSY, antiphon, IMPSY, antiphon): this machine's speed drifts by 1.5x
within minutes (shared cores), so figures taken minutes apart do not make a ratio. An epoch is
timed with its validation pass (and IMPSY's per-epoch checkpoint, part of ``impsy train``);
each process's faster epoch counts (IMPSY's first one also traces its graph: 5-15 s more), the
median over the turns is compared, with each turn's ratio beside it; the peak resident memory
of each process is printed.

Then the inference step of each trained model (IMPSY: ``TfliteMDRNN.generate``; antiphon: the
engine's feed + sample) and the time from the silence threshold to the first answer on
the wire with each server in call-and-response mode over real UDP (IMPSY's interaction server,
`antiphon serve`; the same 20-frame phrase, the same 0.2 s threshold). IMPSY sleeps its
predicted dt (about one hop) before its first answer; antiphon plans its first frame at the
threshold.

Run: `.venv/bin/python benchmarks/versus_impsy.py` (about 4 minutes on 2 cores, plus a
one-off 2-3 minutes to install IMPSY). Targets (issue 14): training >= 3x IMPSY per epoch,
antiphon's peak memory < 1 GB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from antiphon.config import Config, CorpusConfig
from antiphon.data.corpus import Corpus
from antiphon.dataset import make_dataset
from antiphon.demo import demo_excerpts
from antiphon.realtime.osc import osc_datagram
from realtime import Receiver, engine_vs_torch, first_answer_delays, start_serve, stop_serve

ROOT = Path(__file__).resolve().parents[1]
IMPSY_REQUIREMENT = "impsy==1.2.1"
IMPSY_VENV = ROOT / "bench-output" / "impsy-venv"
PEER = Path(__file__).resolve().parent / "impsy_peer.py"
EPOCHS = 2
TURNS = 2
SILENCE_S = 0.2
TARGET_TRAINING_RATIO = 3.0
TARGET_PEAK_MB = 1024
#: the paper's model and settings (the study's table1 spec pins the same), on IMPSY's data layout
PAPER_SETTINGS = (
    "model.size=s",
    "model.residual=false",
    "model.skip=false",
    "model.level_steps=0",
    "training.batch_size=64",
    "training.sequence_length=50",
    "training.scale_factor=10",
    "training.transpose=false",
    "training.dequantise=false",
)


@dataclass(frozen=True)
class TrainingFigures:
    """Epoch seconds of each training process (``runs``), its peak memory, batches per epoch."""

    runs: list[list[float]]
    peak_mb: float
    n_batches: int

    @property
    def steady_s(self) -> float:
        """The faster epoch of each process (IMPSY's first includes tracing its graph), median over processes."""
        return float(np.median([min(run) for run in self.runs]))

    def __add__(self, other: TrainingFigures) -> TrainingFigures:
        return TrainingFigures(self.runs + other.runs, max(self.peak_mb, other.peak_mb), self.n_batches)


def impsy_python() -> tuple[Path | None, str]:
    """IMPSY's interpreter in its scratch virtualenv (made and filled on first use), or None and why not."""
    python = IMPSY_VENV / "bin" / "python"
    check = [str(python), "-c", "import impsy.train, impsy.mdrnn, impsy.interaction"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python, "reused"
    base = next((p for p in ("python3.11", "python3") if subprocess.run(["which", p], capture_output=True).returncode == 0), None)
    if base is None:
        return None, "no python3.11 to make IMPSY's virtualenv with"
    print(f"installing {IMPSY_REQUIREMENT} (with TensorFlow) into {IMPSY_VENV} ... (once; 2-3 minutes)", flush=True)
    steps = [
        [base, "-m", "venv", str(IMPSY_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", IMPSY_REQUIREMENT],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
            return None, f"could not install {IMPSY_REQUIREMENT}: {reason}"
    if subprocess.run(check, capture_output=True).returncode != 0:
        return None, f"{IMPSY_REQUIREMENT} installed but does not import"
    return python, "installed"


def build_corpus(folder: Path) -> Corpus:
    """The demo recordings as a dt + 20 Spectral corpus, 90 % / 10 % per recording."""
    config = Config(corpus=CorpusConfig(timing="modelled", train_fraction=0.9, validation_fraction=0.1))
    return make_dataset(demo_excerpts(), folder, config)


def write_impsy_dataset(corpus: Corpus, path: Path) -> Path:
    """IMPSY's dataset format: an ``.npz`` whose ``perfs`` holds one (n, 1 + D) float32 array per
    performance (dt in seconds, then the values); here the corpus's normalised rows, one
    performance per recording and split, unscaled (IMPSY multiplies by 10 when it trains)."""
    segments = corpus.segments("train") + corpus.segments("validation")
    perfs = np.empty(len(segments), dtype=object)
    for i, segment in enumerate(segments):
        perfs[i] = segment.astype(np.float32)
    np.savez(path, perfs=perfs)
    return path


def run_json(command: list[str], **kwargs) -> dict:
    """Run a peer command; its last stdout line is JSON."""
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def antiphon_training(corpus_dir: Path, out: Path) -> TrainingFigures:
    """`antiphon train` with the paper's settings, as its own process; its peak memory from wait4."""
    command = [sys.executable, "-m", "antiphon", "train", str(corpus_dir), "-o", str(out), "--epochs", str(EPOCHS)]
    for setting in PAPER_SETTINGS:
        command += ["--set", setting]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"antiphon train failed:\n{process.stderr.read().decode()[-3000:]}")
    history = json.loads((out / "history.json").read_text())
    n_windows = json.loads((out / "model.json").read_text())["result"]["n_windows"]["train"]
    return TrainingFigures([[r["seconds"] for r in history]], usage.ru_maxrss / 1024, int(np.ceil(n_windows / 64)))


def impsy_training(python: Path, dataset: Path, out: Path) -> tuple[TrainingFigures, dict]:
    result = run_json(
        [str(python), str(PEER), "train", str(dataset), str(EPOCHS), str(out)], env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    )
    return TrainingFigures([result["epoch_s"]], result["peak_mb"], result["batches_per_epoch"]), result


def impsy_first_answers(python: Path, tflite: str, phrase: list[bytes]) -> np.ndarray:
    receiver = Receiver(answer_address=b"/impsy")
    import socket

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    process = subprocess.Popen(
        [str(python), str(PEER), "serve", tflite, str(port), str(receiver.port), str(SILENCE_S)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    try:
        for line in process.stdout:
            if line.strip() == "ready":
                break
        deadline = time.monotonic() + 60
        while not receiver.answers() and time.monotonic() < deadline:  # the network loads after "ready"
            first_answer_delays(receiver, ("127.0.0.1", port), phrase, SILENCE_S, trials=1)
        return first_answer_delays(receiver, ("127.0.0.1", port), phrase, SILENCE_S)
    finally:
        process.kill()
        process.wait()


def antiphon_first_answers(model: Path, phrase: list[bytes]) -> np.ndarray:
    receiver = Receiver()
    process, port, _ = start_serve(model, receiver, "--silence-s", str(SILENCE_S), "--mode", "callresponse")
    try:
        return first_answer_delays(receiver, ("127.0.0.1", port), phrase, SILENCE_S)
    finally:
        stop_serve(process)


def summary(values: np.ndarray, unit: str) -> str:
    """``median / p99 unit``, or why there is none."""
    if values.size == 0:
        return "no answers"
    return f"{np.median(values):.2f} / {np.percentile(values, 99):.2f} {unit}"


def main() -> None:
    import torch

    out = ROOT / "bench-output" / "versus-impsy"
    out.mkdir(parents=True, exist_ok=True)
    print(f"CPU: {torch.backends.cpu.get_cpu_capability()}, {os.cpu_count()} cores; torch {torch.__version__}")
    python, how = impsy_python()
    print(f"IMPSY: {how if python else 'SKIPPED: ' + how}" + (f" ({IMPSY_REQUIREMENT} in {IMPSY_VENV})" if python else ""))
    with tempfile.TemporaryDirectory(dir=out) as scratch:
        scratch = Path(scratch)
        corpus = build_corpus(scratch / "corpus")
        windows = sum(max(len(s) - 50, 0) for s in corpus.segments("train"))
        print(
            f"data: the 4 demo recordings, {corpus.summary()['n_rows']} rows of dt + 20 Spectral values; {windows} training windows of 50 steps"
        )
        dataset = write_impsy_dataset(corpus, scratch / "impsy.npz")
        ours: TrainingFigures | None = None
        theirs: TrainingFigures | None = None
        impsy_result: dict = {}
        turns: list[float] = []
        for turn in range(TURNS):
            if python:
                figures, impsy_result = impsy_training(python, dataset, scratch / f"impsy-model-{turn}")
                theirs = figures if theirs is None else theirs + figures
            mine = antiphon_training(scratch / "corpus", scratch / f"antiphon-model-{turn}")
            ours = mine if ours is None else ours + mine
            if python:
                turns.append(figures.steady_s / mine.steady_s)
            shown = [round(t, 1) for t in figures.runs[0]] if python else "-"
            print(f"  turn {turn + 1}: IMPSY epochs {shown} s, antiphon {[round(t, 1) for t in mine.runs[0]]} s", flush=True)
        model = scratch / f"antiphon-model-{TURNS - 1}"
        engine_us, _ = engine_vs_torch(model)
        phrase = [osc_datagram("/antiphon/frame", [float(v) for v in row]) for row in np.full((20, 20), 0.5)]
        ours_answer = antiphon_first_answers(model, phrase)
        if python:
            impsy_step = np.array(run_json([str(python), str(PEER), "step", impsy_result["tflite"], "5000"])["step_us"])
            impsy_answer = impsy_first_answers(python, impsy_result["tflite"], [osc_datagram("/interface", [0.5] * 20)] * 20)

    def cell(value: float | None) -> str:
        return "skipped" if value is None else f"{value:.2f}"

    print()
    print(f"{'':44s}{'IMPSY':>22s}{'antiphon':>22s}{'ratio':>9s}")
    rows = [
        ("training epoch, steady (s)", theirs.steady_s if theirs else None, ours.steady_s),
        (
            "  per batch: epoch / batches (ms)",
            theirs.steady_s / theirs.n_batches * 1000 if theirs else None,
            ours.steady_s / ours.n_batches * 1000,
        ),
        ("peak resident memory, training (MB)", theirs.peak_mb if theirs else None, ours.peak_mb),
    ]
    for name, a, b in rows:
        print(f"{name:44s}{cell(a):>22s}{cell(b):>22s}{(f'{a / b:.1f}x' if a is not None else ''):>9s}")
    ours_step = f"{np.median(engine_us):.0f} / {np.percentile(engine_us, 99):.0f}"
    if python:
        their_step = f"{np.median(impsy_step):.0f} / {np.percentile(impsy_step, 99):.0f}"
        print(
            f"{'inference step, median / p99 (us)':44s}{their_step:>22s}{ours_step:>22s}{np.median(impsy_step) / np.median(engine_us):>8.1f}x"
        )
        answer_ratio = f"{np.median(impsy_answer) / np.median(ours_answer):.0f}x" if impsy_answer.size and ours_answer.size else "-"
        print(
            f"{'silence -> first answer, median / p99':44s}{summary(impsy_answer, 'ms'):>22s}{summary(ours_answer, 'ms'):>22s}{answer_ratio:>9s}"
        )
        print(f"  answered trials: IMPSY {impsy_answer.size}/20, antiphon {ours_answer.size}/20; IMPSY {impsy_result['versions']}")
        speedup = theirs.steady_s / ours.steady_s
        verdict = "meets" if speedup >= TARGET_TRAINING_RATIO else "MISSES"
        print(
            f"training per epoch: {speedup:.1f}x IMPSY (each turn: {', '.join(f'{r:.1f}x' for r in turns)}) "
            f"(target >= {TARGET_TRAINING_RATIO:.0f}x: {verdict})"
        )
    else:
        print(f"{'inference step, median / p99 (us)':44s}{'skipped':>22s}{ours_step:>22s}")
        print(f"{'silence -> first answer, median / p99':44s}{'skipped':>22s}{summary(ours_answer, 'ms'):>22s}")
    print(
        f"antiphon peak memory {ours.peak_mb:.0f} MB (target < {TARGET_PEAK_MB} MB: {'meets' if ours.peak_mb < TARGET_PEAK_MB else 'MISSES'})"
    )


if __name__ == "__main__":
    main()
