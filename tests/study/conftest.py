"""A tiny corpus and study spec: 2 configurations x 2 seeds x 2 epochs that train in about a second each,
with sharpness measured coarsely (8 windows, one Lanczos restart at 10 % accuracy): these tests are about
the study's runs, resumption and report, and tests/study/test_measure.py checks the measures themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FEATURES, synthetic_document

TINY_SPEC = """\
name = "tiny"
description = "two optimizers, two seeds, two epochs"
seeds = [0, 1]
[base.model]
size = "xxs"
n_mixtures = 2
[base.training]
batch_size = 16
epochs = 2
patience = 5
sequence_length = 10
window_stride = 2
[base.corpus]
features = {features}
train_fraction = 0.7
validation_fraction = 0.15
[base.evaluate]
prompt_ms = 100
horizon_s = 0.3
horizons_s = [0.05, 0.3]
conditioning_horizon_s = 0.3
window_s = 0.1
var_max_order = 2
max_prompts = 4
n_samples = 2
n_bootstrap = 100
novelty_rows = 10
[measure]
windows = 8
lanczos_restarts = 1
tolerance = 0.1
slice_points = 5
slice_directions = 1
epsilons = [0.001]
ascent_steps = 5
[[run]]
name = "Adam"
training = {{ optimizer = "adam", lr = 0.01 }}
paper = {{ min_val_loss = -10.0, epoch = 2 }}
[[run]]
name = "SGD"
training = {{ optimizer = "sgd", lr = 0.01, momentum = 0.9 }}
{extra}"""


def write_tiny_spec(folder: Path, *, extra: str = "") -> Path:
    path = folder / "spec.toml"
    path.write_text(TINY_SPEC.format(features=list(FEATURES), extra=extra).replace("'", '"'))
    return path


@pytest.fixture
def tiny_corpus_dir(tmp_path) -> Path:
    """A saved corpus of three 1,200-frame synthetic takes (12 s each at 10 ms)."""
    from antiphon.config import CorpusConfig
    from antiphon.data.corpus import build_corpus, save_corpus

    documents = [synthetic_document(1200, phase, f"take{i}.json") for i, phase in enumerate((0.0, 1.0, 2.0))]
    return save_corpus(build_corpus(documents, CorpusConfig(features=FEATURES)), tmp_path / "corpus")
