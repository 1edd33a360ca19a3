"""What the round-10 tools share (tools/answer_pace.py, tools/pooled_rate_bound.py): a trained model's
evaluate settings, its corpus's rows scaled by the model's scaler, and the test prompts that
`antiphon evaluate` draws, for a model whose frames come at a fixed hop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from antiphon.config import EvaluateConfig, load_config
from antiphon.data.corpus import Corpus, load_corpus
from antiphon.evaluation.evaluate import Prompt, draw_prompts, features_of
from antiphon.model.directory import TrainedModel, load_model


@dataclass(frozen=True)
class JudgedMusic:
    """``config``: evaluate's settings; ``prompts``: the test prompts evaluate would draw; ``hop_s``: seconds per frame;
    ``answer_rows``: frames in an answer of ``config.horizon_s``."""

    trained: TrainedModel
    corpus: Corpus
    config: EvaluateConfig
    prompts: list[Prompt]
    hop_s: float
    answer_rows: int

    def rows(self, split: str) -> list[np.ndarray]:
        """The features of ``split``'s blocks (n_i, F), normalised by the model's scaler."""
        return [features_of(r, False).astype(np.float64) for r in self.corpus.segments(split, 1.0, self.trained.info.scaler.linear)]


def load_judged_music(model_dir: Path, corpus_dir: Path, overrides: list[str]) -> JudgedMusic:
    """The model, its corpus and evaluate's settings with ``overrides`` (``section.key=value``).

    Raises:
        SystemExit: the model models dt (frames at irregular times): these tools compare frames at a fixed hop.
    """
    config = load_config(None, overrides).evaluate
    trained = load_model(model_dir)
    timing = trained.info.timing
    if timing.dt_modelled:
        raise SystemExit(f"{model_dir}: models dt (irregular frames); this tool compares frames at a fixed hop")
    corpus = load_corpus(corpus_dir)
    segments = [r.astype(np.float64) for r in corpus.segments("test", 1.0, trained.info.scaler.linear)]
    prompts = draw_prompts(segments, config, False, timing.hop_s)
    return JudgedMusic(trained, corpus, config, prompts, timing.hop_s, int(np.ceil(config.horizon_s / timing.hop_s - 1e-9)))
