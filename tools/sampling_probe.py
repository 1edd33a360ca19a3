"""Sampling probed on a trained model, without training: the spread per group of features, and
mixture components kept for several frames (docs/model.md, round 9).

Evaluates the model's answers (`antiphon evaluate`'s measures, the model alone: the baselines do
not depend on sampling) with:

- ``--played NAME=K``: the standard deviation of feature NAME's noise in the frames played scaled
  by K; ``--fed NAME=K`` the same in the frames fed back (the answer's course). A group name
  stands for its features: ``shape`` (the spectral shape features but the variation), ``flux``
  (SpectralVariation), ``chroma`` (the 12 chroma values).
- ``--hold P``: each frame keeps the previous frame's mixture component with probability P (runs
  of 1 / (1 - P) frames on average), and draws it as usual otherwise.

Each setting prints one line: how often the component changed, realism, step sizes,
autocorrelation, conditioning and the energy scores.

The engine has one temperature per group (features, chroma, dt) and no held component, so this
probe scales its per-dimension noise vectors after the engine sets them and chooses the
component's uniform draw before the compiled draw sees it (in Python: slower, the same draws at
``--hold 0``). It is an experiment, not a setting: round 9 found that neither closes the gap it
was tried on.

Run, for example (on `make demo`'s model)::

    .venv/bin/python tools/sampling_probe.py demo-output/model demo-output/corpus \\
        --setting "" --setting "--played shape=1.3 --played flux=0.7" --setting "--hold 0.5"
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.config import load_config
from antiphon.data.corpus import load_corpus
from antiphon.evaluation.evaluate import evaluate
from antiphon.feature_names import CHROMA_NAMES
from antiphon.model import engine as engine_module
from antiphon.model.directory import load_model

SHAPE = (
    "SpectralCentroid",
    "SpectralSpread",
    "SpectralSkewness",
    "SpectralKurtosis",
    "SpectralRolloff",
    "SpectralDecrease",
    "SpectralSlope",
)
GROUPS = {"shape": SHAPE, "flux": ("SpectralVariation",), "chroma": tuple(CHROMA_NAMES)}


def factors(items: list[str]) -> dict[str, float]:
    """NAME=K items -> {feature: K}, groups expanded."""
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        for feature in GROUPS.get(name, (name,)):
            out[feature] = float(value)
    return out


class HeldComponent:
    """The compiled draw behind a choice of component: with probability ``hold`` the previous frame's
    component (the middle of its share of the uniform draw), else the engine's own uniform draw. The
    previous component is not forgotten between answers: an answer's first frame may keep the last
    answer's (one frame in 430 of `make demo`'s 5 s answers)."""

    def __init__(self, draw: Callable[..., float], hold: float, seed: int = 123) -> None:
        self.draw, self.hold, self.rng = draw, hold, np.random.default_rng(seed)
        self.previous: int | None = None
        self.frames = self.changes = 0

    def __call__(
        self,
        memory: np.ndarray,
        state_size: int,
        logit_wt: np.ndarray,
        component_wt: np.ndarray,
        inverse_t: float,
        uniform: float,
        *rest: Any,
    ) -> float:
        logits = memory[:state_size].astype(np.float64) @ logit_wt.astype(np.float64)
        shares = np.cumsum(np.exp((logits - logits.max()) * inverse_t))
        shares /= shares[-1]
        k = self.previous
        if k is not None and self.rng.random() < self.hold:
            uniform = 0.5 * ((shares[k - 1] if k > 0 else 0.0) + shares[k])
        chosen = int(min(np.searchsorted(shares, uniform, side="right"), len(shares) - 1))
        self.frames, self.changes, self.previous = self.frames + 1, self.changes + (chosen != k), chosen
        return self.draw(memory, state_size, logit_wt, component_wt, inverse_t, uniform, *rest)


def probe(model_dir: Path, corpus_dir: Path, played: dict[str, float], fed: dict[str, float], hold: float = 0.0) -> str:
    """One evaluation of the model's answers with the given noise scales and held components; its summary line.

    Raises:
        SystemExit: a scaled feature is not one of the model's.
    """
    trained = load_model(model_dir)
    unknown = sorted((set(played) | set(fed)) - set(trained.info.feature_names))
    if unknown:
        raise SystemExit(
            f"{model_dir}: the model has no feature {', '.join(unknown)} (groups: {', '.join(GROUPS)}; "
            f"features: {', '.join(trained.info.feature_names)})"
        )
    original, draw = engine_module.Engine._scale_sigmas, engine_module.kernels.draw
    held = HeldComponent(draw, hold)

    def scaled(self: engine_module.Engine) -> None:
        original(self)
        names, offset = self.info.feature_names, self._offset
        for vector, scales in ((self._played_scale, played), (self._sigma_scale, fed)):
            for name, k in scales.items():
                vector[offset + names.index(name)] *= k
        self._split = not np.array_equal(self._sigma_scale, self._played_scale)

    engine_module.Engine._scale_sigmas, engine_module.kernels.draw = scaled, held
    try:
        report = evaluate(trained, load_corpus(corpus_dir), load_config(None, []).evaluate, None, systems=("model",))
    finally:
        engine_module.Engine._scale_sigmas, engine_module.kernels.draw = original, draw
    m = report.free_running["model"]
    scores = " ".join(f"{lead} s {v['mean']:.3f}" for lead, v in m["energy_score"].items())
    return (
        f"changes {held.changes / max(held.frames, 1):.3f}/frame  realism {m['realism_mmd2']['mean']:.3f}  "
        f"steps {m['steps_mmd2']['mean']:.3f}  acf {m['acf_mmd2']['mean']:.3f}  cond {m['conditioning']['skill']:+.3f}  ES {scores}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("corpus_dir", type=Path)
    parser.add_argument("--setting", action="append", default=[], help='one probe\'s scales, e.g. "--played shape=1.3" ("" the default)')
    args = parser.parse_args()
    scales = argparse.ArgumentParser()
    scales.add_argument("--played", action="append", default=[])
    scales.add_argument("--fed", action="append", default=[])
    scales.add_argument("--hold", type=float, default=0.0)
    for setting in args.setting or [""]:
        given = scales.parse_args(shlex.split(setting))
        line = probe(args.model_dir, args.corpus_dir, factors(given.played), factors(given.fed), given.hold)
        print(f"{setting or 'default':45s} {line}", flush=True)


if __name__ == "__main__":
    main()
