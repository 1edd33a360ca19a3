"""Atoms in the data: dequantisation against a sigma floor at the resolution (docs/model.md).

Trains the same model twice on one corpus -- once with `training.dequantise = true` (the
default: uniform noise within each feature's resolution), once on the raw values with every
sigma floored at the standard deviation of that noise (`model.sigma_floor`, a value per model,
so this comparison needs a corpus whose resolutions are all equal: the default 1 % of the
range on the 20 Spectral features) -- and evaluates both with `antiphon evaluate`'s measures,
printing them side by side. The NLLs are not comparable (one is a density of dequantised data,
the other of raw data); the answers are.

Run: `.venv/bin/python tools/atoms_experiment.py CORPUS_DIR OUT_DIR [EPOCHS]`.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import numpy as np

from antiphon.config import Config, ModelConfig, TrainingConfig
from antiphon.data.corpus import load_corpus
from antiphon.evaluation.evaluate import evaluate
from antiphon.model.directory import load_model
from antiphon.training.loop import train


def main(corpus_dir: str, out_dir: str, epochs: int = 12) -> None:
    corpus = load_corpus(corpus_dir)
    widths = corpus.resolution()
    if np.ptp(widths) > 1e-12:
        raise SystemExit(
            f"{corpus_dir}: the resolutions differ between features ({widths.min():g}..{widths.max():g}); "
            "a single sigma floor cannot match them"
        )
    floor = float(widths[0]) / math.sqrt(12.0)  # the standard deviation of the dequantisation noise
    base = Config(training=TrainingConfig(epochs=epochs, patience=epochs))
    variants = {
        "dequantised": base,
        f"sigma floor {floor:.4f}": dataclasses.replace(
            base,
            model=ModelConfig(sigma_floor=floor),
            training=dataclasses.replace(base.training, dequantise=False),
        ),
    }
    reports = {}
    for name, config in variants.items():
        folder = Path(out_dir) / name.split()[0]
        train(corpus, config, folder)
        reports[name] = evaluate(load_model(folder), corpus, config.evaluate)
    print(f"{'measure (model only)':32s}" + "".join(f"{n:>28s}" for n in reports))
    first = next(iter(reports.values())).free_running["model"]
    rows = [(f"energy score at {h} s", lambda r, h=h: r["energy_score"][h]) for h in first["energy_score"]]
    rows += [(k, lambda r, k=k: r.get(k)) for k in ("realism_mmd2", "steps_mmd2", "acf_mmd2")]
    for label, pick in rows:
        cells = []
        for report in reports.values():
            e = pick(report.free_running["model"])
            cells.append("-" if e is None or e["mean"] is None else f"{e['mean']:.3f} ({e['low']:.2f}..{e['high']:.2f})")
        print(f"{label:32s}" + "".join(f"{c:>28s}" for c in cells))
    cells = [f"{r['free_running']['model']['conditioning']['skill']:+.3f}" for r in reports.values()]
    print(f"{'conditioning skill':32s}" + "".join(f"{c:>28s}" for c in cells))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:4]))
