"""How fast the answers move against how far they wander, beside real music (docs/model.md, round 10).

For each group of features (``shape``: the spectral shape features but the variation; ``flux``:
SpectralVariation; ``chroma``: the 12 chroma values), the semivariogram of 5 s stretches,
gamma(k) = mean((x[t + k] - x[t])^2) / 2 at lags of 1, 4 and 16 frames, beside the variance within
each stretch (averaged over the group's features and the stretches; normalised units x 1000).
For a stretch, autocorrelation(k) is about 1 - gamma(k) / variance: an answer whose gamma(4) is a
small share of its variance moves slowly for how far it wanders, which is what the
autocorrelation measure sees.

Stretches: the model's answers (2 per test prompt, at evaluate's temperatures), the real
continuations of the test prompts, and the reference music (`evaluate.reference`'s split, cut into
5 s stretches every 2.5 s).

Run (on `make demo`'s model and corpus; about a minute)::

    .venv/bin/python tools/answer_pace.py demo-output/model demo-output/corpus
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from antiphon.evaluation.evaluate import answer_all
from judged_music import load_judged_music

LAGS = (1, 4, 16)


def pace(stretches: list[np.ndarray], columns: list[int]) -> tuple[list[float], float]:
    """Semivariogram at :data:`LAGS` and the variance within a stretch, each averaged over ``columns`` and the
    ``stretches`` (each (n, F), n > max lag)."""
    gammas = [float(np.mean([np.mean((s[k:, columns] - s[:-k, columns]) ** 2) / 2 for s in stretches])) for k in LAGS]
    variance = float(np.mean([np.var(s[:, columns], axis=0).mean() for s in stretches]))
    return gammas, variance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("corpus_dir", type=Path, help="the corpus the model was trained on")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="an evaluate setting")
    args = parser.parse_args()
    music = load_judged_music(args.model_dir, args.corpus_dir, args.set)
    config, n = music.config, music.answer_rows
    engine = music.trained.engine()
    engine.use_temperatures(config)
    replies = answer_all(
        ("model",), music.prompts, music.trained.info.timing, music.rows("train"), None, dataclasses.replace(config, n_samples=2), engine
    )
    stretches = {
        "answers": [member[:n] for values in replies["model"].values for member in values],
        "real continuations": [p.future[:n] for p in music.prompts if p.future.shape[0] >= n],
        f"{config.reference} music": [s[k : k + n] for s in music.rows(config.reference) for k in range(0, s.shape[0] - n + 1, n // 2)],
    }
    names = music.trained.info.feature_names
    groups = {
        "shape": [i for i, f in enumerate(names) if f.startswith("Spectral") and f != "SpectralVariation"],
        "flux": [i for i, f in enumerate(names) if f == "SpectralVariation"],
        "chroma": [i for i, f in enumerate(names) if f.startswith("Chroma")],
    }
    print(
        f"{len(music.prompts)} prompts; 5 s stretches; gamma(1), gamma(4), gamma(16) / variance within a stretch, normalised units x 1000"
    )
    for group, columns in groups.items():
        if not columns:
            continue
        for name, found in stretches.items():
            gammas, variance = pace(found, columns)
            cells = "  ".join(f"{g * 1e3:6.2f}" for g in gammas)
            print(f"{group:7s} {name:20s} {cells}  / {variance * 1e3:6.2f}   (gamma(4) / variance {gammas[1] / variance:.2f})")


if __name__ == "__main__":
    main()
