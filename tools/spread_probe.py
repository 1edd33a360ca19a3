"""The played spread per group of features, probed on a trained model (docs/model.md, round 9).

Evaluates the model's answers (`antiphon evaluate`'s measures, the model alone: the baselines do
not depend on sampling) with the noise of some features' draws scaled: ``--played NAME=K`` scales
the standard deviation of feature NAME's noise in the frames played by K, ``--fed NAME=K`` in the
frames fed back (the answer's course). A group name stands for its features: ``shape`` (the eight
spectral shape features but the variation), ``flux`` (SpectralVariation), ``chroma`` (the 12
chroma values). Each setting prints one line: realism, step sizes, autocorrelation and the
energy scores.

The engine has one temperature per group (features, chroma, dt), not per feature, so this probe
scales its per-dimension noise vectors after the engine sets them; it is an experiment, not a
setting: round 9 found that no such scaling closes the gap it was tried on.

Run, for example (on `make demo`'s model)::

    .venv/bin/python tools/spread_probe.py demo-output/model demo-output/corpus \\
        --setting "" --setting "--played shape=1.3" --setting "--played shape=1.3 --played flux=0.7"
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

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


def probe(model_dir: Path, corpus_dir: Path, played: dict[str, float], fed: dict[str, float]) -> str:
    """One evaluation of the model's answers with the given noise scales; its summary line."""
    original = engine_module.Engine._scale_sigmas

    def scaled(self: engine_module.Engine) -> None:
        original(self)
        names, offset = self.info.feature_names, self._offset
        for vector, scales in ((self._played_scale, played), (self._sigma_scale, fed)):
            for name, k in scales.items():
                vector[offset + names.index(name)] *= k
        self._split = not np.array_equal(self._sigma_scale, self._played_scale)

    engine_module.Engine._scale_sigmas = scaled
    try:
        report = evaluate(load_model(model_dir), load_corpus(corpus_dir), load_config(None, []).evaluate, None, systems=("model",))
    finally:
        engine_module.Engine._scale_sigmas = original
    m = report.free_running["model"]
    scores = " ".join(f"{lead} s {v['mean']:.3f}" for lead, v in m["energy_score"].items())
    return f"realism {m['realism_mmd2']['mean']:.3f}  steps {m['step_distance']['mean']:.3f}  acf {m['acf_mmd2']['mean']:.3f}  ES {scores}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("corpus_dir", type=Path)
    parser.add_argument("--setting", action="append", default=[], help='one probe\'s scales, e.g. "--played shape=1.3" ("" the default)')
    args = parser.parse_args()
    scales = argparse.ArgumentParser()
    scales.add_argument("--played", action="append", default=[])
    scales.add_argument("--fed", action="append", default=[])
    for setting in args.setting or [""]:
        given = scales.parse_args(shlex.split(setting))
        line = probe(args.model_dir, args.corpus_dir, factors(given.played), factors(given.fed))
        print(f"{setting or 'default':45s} {line}", flush=True)


if __name__ == "__main__":
    main()
