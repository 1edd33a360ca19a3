"""Model folders: one written before format 3 loads as the paper's MDRNN it was."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from antiphon.model.directory import load_model
from antiphon.model.engine import Engine
from antiphon.training.loop import train
from tests.conftest import tiny_config


def test_a_format_2_folder_is_the_papers_model(tiny_corpus, tmp_path):
    config = tiny_config(epochs=1)
    paper = dataclasses.replace(config, model=dataclasses.replace(config.model, residual=False, skip=False, level_steps=0))
    train(tiny_corpus, paper, tmp_path / "model")
    meta_path = tmp_path / "model" / "model.json"
    meta = json.loads(meta_path.read_text())
    before = Engine.from_model_dir(tmp_path / "model").params()
    for key in ("residual", "skip", "level_steps"):
        del meta["model"][key]
    meta["format_version"] = 2
    meta_path.write_text(json.dumps(meta))
    _model, info = (t := load_model(tmp_path / "model")).network, t.info
    assert (info.model.residual, info.model.skip, info.model.level_steps) == (False, False, 0)
    for ours, theirs in zip(Engine.from_model_dir(tmp_path / "model").params(), before):
        np.testing.assert_array_equal(ours, theirs)
