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
    info = load_model(tmp_path / "model").info
    assert (info.model.residual, info.model.skip, info.model.level_steps) == (False, False, 0)
    for ours, theirs in zip(Engine.from_model_dir(tmp_path / "model").params(), before):
        np.testing.assert_array_equal(ours, theirs)


def test_model_json_records_what_the_model_was_trained_on(tmp_path):
    """The corpus section is the corpus's own (not the command's 20 default features), and the
    analysis its frames came from is recorded: convention, frame size, hop and sample rate."""
    from antiphon.analysis import analyze_audio
    from antiphon.config import AnalysisConfig, Config
    from antiphon.data.audio import Audio
    from antiphon.data.corpus import build_corpus, load_corpus, save_corpus
    from tests.conftest import FEATURES, SR, sine, tiny_config

    settings = AnalysisConfig(hop_length=256)
    documents = [
        analyze_audio(
            Audio(tmp_path / f"take{i}.wav", sine(220.0 * (i + 1), 3.0) + 0.01 * np.sin(np.arange(3 * SR) / 7.0), SR, 1), settings
        )
        for i in range(3)
    ]
    corpus = build_corpus(documents, tiny_config().corpus)
    assert corpus.analysis["convention"] == "peeters" and corpus.analysis["hop_length"] == 256
    assert corpus.analysis["n_fft"] == 2048 and corpus.analysis["sample_rate_hz"] == SR
    corpus = load_corpus(save_corpus(corpus, tmp_path / "corpus"))  # kept on disk
    assert corpus.analysis["hop_length"] == 256
    command = dataclasses.replace(tiny_config(epochs=1), corpus=Config().corpus)  # the command's own corpus settings: 20 features
    train(corpus, command, tmp_path / "model")
    info = load_model(tmp_path / "model").info
    assert info.feature_names == FEATURES and tuple(info.corpus.features) == FEATURES
    assert info.analysis == corpus.analysis
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["result"]["corpus_fingerprint"] != meta["result"]["run_fingerprint"]


def test_files_that_do_not_say_leave_the_analysis_unknown(tiny_corpus):
    assert tiny_corpus.analysis is None  # synthetic documents: no analysis settings recorded
