"""How far back the model's recurrent state remembers (docs/model.md, round 10).

Teacher-forced on held-out blocks, each target row's log-likelihood is computed twice: with the
state carried from the block's first row (as the engine carries it through a prompt and an
answer), and from a fresh state at the start of a window of ``training.sequence_length`` rows (as
training starts every window). Where the two agree, nothing the state held from before the window
reaches the forecast any more. The tool prints their mean absolute difference by the row's depth
in the window, and the mean difference itself at depths from 25 on (does a long-carried state,
which training never sees, forecast worse?). The running level and activity are inputs computed
over the whole block either way: they carry the slow context, and this measures the LSTM alone.

Run (on `make demo`'s model and corpus; about a minute)::

    .venv/bin/python tools/state_memory.py demo-output/model demo-output/corpus --split validation
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from antiphon.data.corpus import load_corpus
from antiphon.model.directory import load_model
from antiphon.model.level import model_inputs
from antiphon.model.mdn import mdn_log_likelihood
from antiphon.model.mdrnn import MDRNN

DEPTHS = (0, 1, 2, 4, 8, 12, 16, 24, 32, 49)


def carried_and_fresh(
    network: MDRNN, inputs: np.ndarray, targets: np.ndarray, length: int, every: int, skip: int
) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihoods (nats) of the same rows, (W, length) each: with the state carried from row 0 of
    ``inputs`` (n, input width; ``targets`` (n, D) the rows one step later), and from a fresh state at the
    start of windows of ``length`` rows starting every ``every`` rows from row ``skip``."""
    x = torch.from_numpy(inputs)[None]
    y = torch.from_numpy(targets.astype(np.float32))[None]
    with torch.no_grad():
        (mu, sigma, logits), _ = network(x)
        carried = mdn_log_likelihood(mu, sigma, logits, y, network.tails)[0].numpy()
        starts = np.arange(skip, inputs.shape[0] - length + 1, every)
        fresh = []
        for start in starts:
            (mu, sigma, logits), _ = network(x[:, start : start + length])
            fresh.append(mdn_log_likelihood(mu, sigma, logits, y[:, start : start + length], network.tails)[0].numpy())
    return np.stack([carried[s : s + length] for s in starts]), np.stack(fresh)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("corpus_dir", type=Path, help="the corpus the model was trained on")
    parser.add_argument("--split", choices=("validation", "test"), default="validation")
    parser.add_argument("--every", type=int, default=7, help="rows between the starts of successive windows (default 7)")
    args = parser.parse_args()
    trained = load_model(args.model_dir)
    info, network = trained.info, trained.network.float().eval()
    corpus = load_corpus(args.corpus_dir)
    length = info.training.sequence_length
    widths = corpus.resolution() * info.training.scale_factor
    segments = corpus.held_out_segments(args.split, info.training.scale_factor, widths)  # as the validation loss sees them
    seen = (info.model.level_steps, info.model.activity_steps, info.model.onset_clock)
    skip = 2 * length  # windows whose carried state already holds at least this many rows
    pairs = [
        carried_and_fresh(network, model_inputs(s[:-1], *seen), s[1:], length, args.every, skip)
        for s in segments
        if s.shape[0] > skip + length + 1
    ]
    if not pairs:
        raise SystemExit(f"{args.corpus_dir}: no {args.split} block has more than {skip + length + 1} rows")
    carried = np.concatenate([c for c, _ in pairs])
    fresh = np.concatenate([f for _, f in pairs])
    gap = np.abs(carried - fresh).mean(axis=0)
    print(f"{carried.shape[0]} windows of {length} rows in {len(pairs)} {args.split} blocks, each carried state >= {skip} rows deep")
    print("mean |carried - fresh| log-likelihood (nats per step) by depth in the window:")
    print("  " + "  ".join(f"{d}: {gap[d]:.3f}" for d in DEPTHS if d < length))
    late = (carried[:, 25:] - fresh[:, 25:]).mean(axis=1)
    print(f"carried minus fresh at depths 25-{length - 1}: {late.mean():+.4f} nats per step (SD over windows {late.std():.4f})")


if __name__ == "__main__":
    main()
