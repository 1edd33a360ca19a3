"""What a model at a lower frame rate would score if it forecast perfectly: real music pooled and
rendered back at the hop (docs/model.md, round 10).

A model of every k-th hop (each modelled frame the mean of k analysis frames) answers at the hop
only by rendering its frames there: holding each for k hops, or joining their centres by straight
lines. One that forecast perfectly would answer with real music pooled and rendered the same way.
So this tool takes the yardstick of
`antiphon evaluate` -- for each test prompt, the real continuation of another passage, each used
once (`other_passage`) -- pools it by each k and renders it both ways, and scores every version with
evaluate's measures of motion (realism, step sizes, autocorrelation, against the reference split
that `evaluate.reference` names), beside the real music itself, the copied nearest training
neighbour, and stretches of training music drawn at random (real music of the songs the model
learned from). The energy score is left out: these answers are not forecasts of their prompts.

Run (on `make demo`'s model and corpus; about a minute)::

    .venv/bin/python tools/pooled_rate_bound.py demo-output/model demo-output/corpus --factors 2 4
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from antiphon.evaluation import baselines
from antiphon.evaluation.evaluate import Answers, other_passages, reference_music, score_answers, summarise
from judged_music import load_judged_music


def pooled(values: np.ndarray, k: int, render: str) -> np.ndarray:
    """``values`` (n, F) pooled by ``k`` rows (the mean of each k, a remainder dropped) and rendered back to
    n rows: ``"hold"`` repeats each pooled row k times, ``"linear"`` joins the pooled rows, placed at the
    centres of their k rows, by straight lines (flat before the first centre and after the last); the
    rows a remainder leaves at the end repeat the last rendered one."""
    if render not in ("hold", "linear"):
        raise ValueError(f"render must be 'hold' or 'linear', got {render!r}")
    n = values.shape[0]
    m = n // k * k
    if m == 0:
        raise ValueError(f"{n} rows cannot be pooled by {k}")
    means = values[:m].reshape(-1, k, values.shape[1]).mean(axis=1)
    if render == "hold":
        out = np.repeat(means, k, axis=0)
    else:
        centres = np.arange(means.shape[0]) * k + (k - 1) / 2
        out = np.stack([np.interp(np.arange(m), centres, means[:, f]) for f in range(values.shape[1])], axis=1)
    return np.concatenate([out, np.repeat(out[-1:], n - m, axis=0)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path, help="a trained model (its scaler and timing; the model itself is not run)")
    parser.add_argument("corpus_dir", type=Path, help="the corpus it was trained on")
    parser.add_argument("--factors", type=int, nargs="+", default=[2, 4], help="hops per modelled frame (default: 2 4)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="an evaluate setting, e.g. evaluate.reference=test"
    )
    args = parser.parse_args()
    if any(k < 2 for k in args.factors):
        parser.error(f"--factors must be >= 2, got {args.factors}")
    music = load_judged_music(args.model_dir, args.corpus_dir, args.set)
    config, prompts, hop, n = music.config, music.prompts, music.hop_s, music.answer_rows
    training = music.rows("train")
    window, reference = reference_music(music.rows(config.reference), config, hop, config.reference)
    partner = other_passages(prompts)
    rng = np.random.default_rng(config.seed)
    long_enough = [t for t in training if t.shape[0] > n]
    if not long_enough:
        raise SystemExit(f"{args.corpus_dir}: no training block is longer than an answer ({n} rows)")

    def training_passage(_: int) -> np.ndarray:
        block = long_enough[rng.integers(len(long_enough))]
        start = int(rng.integers(0, block.shape[0] - n))
        return block[start : start + n]

    systems: dict[str, Callable[[int], np.ndarray]] = {"real music (other passage)": lambda i: prompts[partner[i]].future[:n]}
    for k in args.factors:
        for render in ("hold", "linear"):
            systems[f"pooled by {k}, {render}"] = lambda i, k=k, render=render: pooled(prompts[partner[i]].future[:n], k, render)
    systems["copied nearest neighbour"] = lambda i: baselines.nearest_neighbour(prompts[i].rows, n, training)
    systems["training music at random"] = training_passage
    scored = {}
    for name, answer in systems.items():
        values = [answer(i) for i in range(len(prompts))]
        answers = Answers([hop * np.arange(1, v.shape[0] + 1) for v in values], [v[None] for v in values])
        scored[name] = score_answers(answers, prompts, reference, training, config, window)
    summary, _ = summarise(scored, len(prompts), config)
    print(f"{len(prompts)} prompts; realism and dynamics against the {config.reference} split's music (95 % intervals over prompts)")
    for name, entry in summary.items():
        cells = [
            f"{key} {entry[key]['mean']:.3f} ({entry[key]['low']:.3f}-{entry[key]['high']:.3f})"
            for key in ("realism_mmd2", "steps_mmd2", "acf_mmd2")
        ]
        print(f"{name:28s} " + "  ".join(cells))


if __name__ == "__main__":
    main()
