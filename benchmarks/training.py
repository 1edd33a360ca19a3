"""Training throughput, one-step inference latency and peak memory of the MDRNN, IMPSY's shapes.

Shapes: model size s (2 x LSTM-64, 5 mixtures), batch 64, sequence 50, dimension 21 (dt + the
20 Spectral values). Throughput runs the real `antiphon.training.loop.train` for a few epochs on
synthetic rows (the content does not change the speed), validation kept to 2 % of the rows and
counted in; it is reported for torch's default thread count (2 on the 2-core machine) and for one
thread. Inference latency is `MDRNN.step` (NumPy in, NumPy out), one step at a time. Peak memory
is the process's maximum resident size after training.

Where the CPU computes bfloat16 natively (AVX-512 BF16 or AMX), the same is measured with
``training.precision = "bfloat16"`` beside float32; elsewhere that row says why it is not timed
(emulated bfloat16 is several times slower than float32 there). IMPSY beside antiphon on the
same data: `benchmarks/versus_impsy.py`. Run: `.venv/bin/python benchmarks/training.py`.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from antiphon.config import PAPER_MODEL, Config, CorpusConfig, TrainingConfig
from antiphon.data.analysis_json import new_document
from antiphon.data.corpus import build_corpus
from antiphon.feature_names import SPECTRAL_NAMES
from antiphon.model.mdrnn import MDRNN
from antiphon.training.arithmetic import cpu_has_native_bfloat16
from antiphon.training.loop import train

TARGET_WINDOWS_PER_S = 2600.0
EPOCHS = 3


def synthetic_corpus(n_rows: int):
    rng = np.random.default_rng(0)
    times = np.arange(n_rows + 1) * 11.61
    features = {name: rng.random(n_rows + 1) for name in SPECTRAL_NAMES}
    # IMPSY's shapes keep dt as a dimension; antiphon's default drops it at a fixed hop (docs/model.md)
    config = CorpusConfig(train_fraction=0.97, validation_fraction=0.02, timing="modelled")
    return build_corpus([new_document(times, features, {}, source="synthetic.json")], config)


def throughput(corpus, threads: int, precision: str = "float32") -> tuple[float, float]:
    torch.set_num_threads(threads)
    config = Config(
        model=PAPER_MODEL,
        training=TrainingConfig(batch_size=64, sequence_length=50, epochs=EPOCHS, patience=EPOCHS, transpose=False, precision=precision),
    )
    with tempfile.TemporaryDirectory() as folder:
        result = train(corpus, config, Path(folder) / "model")
    n_windows = corpus.n_rows("train") - 50
    best = min(r["seconds"] for r in result.history)
    return n_windows / best, best / np.ceil(n_windows / 64) * 1000


def step_latency(n_steps: int = 3000) -> np.ndarray:
    torch.manual_seed(0)
    model = MDRNN(21, PAPER_MODEL).eval()
    x = np.random.default_rng(0).random(21).astype(np.float32)
    state = None
    for _ in range(200):
        _, state = model.step(x, state)
    times = np.empty(n_steps)
    for i in range(n_steps):
        start = time.perf_counter()
        _, state = model.step(x, state)
        times[i] = time.perf_counter() - start
    return times * 1e6


def main() -> None:
    corpus = synthetic_corpus(64 * 64 + 51)
    default_threads = torch.get_num_threads()
    print(f"MDRNN size s: batch 64, sequence 50, dimension 21, {corpus.n_rows('train') - 50} training windows, best of {EPOCHS} epochs")
    rate, ms_per_batch = throughput(corpus, default_threads)
    rate_1, ms_per_batch_1 = throughput(corpus, 1)
    torch.set_num_threads(default_threads)
    bfloat16 = throughput(corpus, default_threads, "bfloat16") if cpu_has_native_bfloat16() else None
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    torch.set_num_threads(default_threads)
    latency = step_latency()

    verdict = lambda ok: "meets target" if ok else "MISSES target"
    print(f"{'':34s}{'windows/s':>12s}{'ms/batch':>10s}")
    print(
        f"{'antiphon, ' + str(default_threads) + ' threads':34s}{rate:>12.0f}{ms_per_batch:>10.1f}   target >= {TARGET_WINDOWS_PER_S:.0f}: {verdict(rate >= TARGET_WINDOWS_PER_S)}"
    )
    print(f"{'antiphon, 1 thread':34s}{rate_1:>12.0f}{ms_per_batch_1:>10.1f}")
    if bfloat16:
        print(f"{'antiphon, bfloat16 (native)':34s}{bfloat16[0]:>12.0f}{bfloat16[1]:>10.1f}   {bfloat16[0] / rate:.2f}x float32")
    else:
        print(f"antiphon, bfloat16: not timed: this CPU ({torch.backends.cpu.get_cpu_capability()}) has no native bfloat16")
    print(f"peak resident memory after training: {peak_mb:.0f} MB (target < 1024 MB: {verdict(peak_mb < 1024)})")
    print(f"one-step inference (MDRNN.step): median {np.median(latency):.0f} us, p99 {np.percentile(latency, 99):.0f} us")


if __name__ == "__main__":
    main()
