"""The training loop: determinism, resume, early stopping, divergence, the model folder it leaves."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from antiphon.cli import main
from antiphon.data.corpus import build_corpus, save_corpus
from antiphon.errors import ConfigError, DataError, ModelError
from antiphon.model.directory import load_model
from antiphon.training.loop import evaluate_nll, train
from antiphon.training.windows import make_windows
from tests.conftest import synthetic_document, tiny_config


def weights(folder):
    return load_file(str(folder / "model.safetensors"))


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_same_seed_same_weights_and_another_seed_differs(tiny_corpus, tmp_path):
    config = tiny_config()
    first = train(tiny_corpus, config, tmp_path / "a")
    second = train(tiny_corpus, config, tmp_path / "b")
    assert_same_weights(weights(tmp_path / "a"), weights(tmp_path / "b"))
    assert [r["val_loss"] for r in first.history] == [r["val_loss"] for r in second.history]
    train(tiny_corpus, tiny_config(seed=2), tmp_path / "c")
    assert not torch.equal(weights(tmp_path / "a")["head.linear.weight"], weights(tmp_path / "c")["head.linear.weight"])


@pytest.mark.parametrize("model", [{}, {"residual": False, "skip": False, "level_steps": 0}], ids=["default", "paper"])
def test_learns_the_pattern_and_keeps_the_best_weights(tiny_corpus, tmp_path, model):
    result = train(tiny_corpus, tiny_config(model, epochs=6, optimizer="adam", lr=0.01), tmp_path / "m")
    losses = [r["val_loss"] for r in result.history]
    assert losses[-1] < losses[0] - (1.0 if model else 0.2)  # the default starts from holding still, the paper's from nothing
    assert result.best_val_loss == min(losses) and result.history[result.best_epoch - 1]["val_loss"] == min(losses)
    model, info = (t := load_model(tmp_path / "m")).network, t.info
    val = make_windows(tiny_corpus.held_out_segments("validation", 1.0, info.resolution), 10, 1, info.model.level_steps)  # as in training
    assert evaluate_nll(model, val, 16) == pytest.approx(result.best_val_loss, rel=1e-6)
    assert info.feature_names == tiny_corpus.features and info.result["best_epoch"] == result.best_epoch
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == [
        "checkpoint.safetensors",
        "config.toml",
        "history.csv",
        "history.json",
        "model.json",
        "model.safetensors",
        "training.png",
    ]
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert (
        set(meta["versions"]) == {"antiphon", "python", "torch", "numpy"}
        and meta["features"] == list(tiny_corpus.features)
        and meta["timing"]["dt_modelled"] is False
    )


class Interrupt(Exception):
    pass


class StopAfter:
    """A progress listener that interrupts training after a given epoch (as a kill would)."""

    def __init__(self, epoch: int) -> None:
        self.stop_epoch = epoch

    def start(self, epochs, batches_per_epoch, first_epoch):
        pass

    def batch(self, running_loss):
        pass

    def epoch(self, record):
        if record["epoch"] == self.stop_epoch:
            raise Interrupt


@pytest.mark.parametrize(
    "optimizer",
    [{"optimizer": "adam"}, {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "decay": 0.01}, {"optimizer": "adam", "average_decay": 0.9}],
    ids=["adam", "sgd", "averaged"],
)
def test_resume_reaches_the_uninterrupted_result(tiny_corpus, tmp_path, optimizer):
    config = tiny_config(epochs=4, **optimizer)
    train(tiny_corpus, config, tmp_path / "straight")
    with pytest.raises(Interrupt):
        train(tiny_corpus, config, tmp_path / "broken", progress=StopAfter(2))
    assert not (tmp_path / "broken" / "model.json").exists()
    with pytest.raises(ModelError, match="unfinished run; continue it with --resume"):
        train(tiny_corpus, config, tmp_path / "broken")
    resumed = train(tiny_corpus, config, tmp_path / "broken", resume=True)
    assert resumed.epochs_run == 4
    assert_same_weights(weights(tmp_path / "straight"), weights(tmp_path / "broken"))
    straight_history = json.loads((tmp_path / "straight" / "history.json").read_text())
    resumed_history = json.loads((tmp_path / "broken" / "history.json").read_text())
    assert [r["val_loss"] for r in straight_history] == [r["val_loss"] for r in resumed_history]


def test_a_killed_process_resumes_to_the_same_weights(tmp_path):
    documents = [synthetic_document(1000, phase, f"take{i}.json") for i, phase in enumerate((0.0, 1.0))]
    config = tiny_config()
    save_corpus(build_corpus(documents, config.corpus), tmp_path / "corpus")
    settings = tmp_path / "settings.toml"
    settings.write_text(
        '[corpus]\nfeatures = ["SpectralCentroid", "SpectralSkewness", "Chroma01"]\n'
        '[model]\nsize = "xs"\nn_mixtures = 2\n'
        "[training]\nbatch_size = 16\nepochs = 4\nsequence_length = 20\nwindow_stride = 2\nseed = 3\n"
    )
    command = [sys.executable, "-m", "antiphon", "train", str(tmp_path / "corpus"), "--config", str(settings)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the uninterrupted run here, on one thread as the processes below
    try:
        assert main(["train", str(tmp_path / "corpus"), "--config", str(settings), "-o", str(tmp_path / "straight")]) == 0
    finally:
        torch.set_num_threads(threads)

    process = subprocess.Popen([*command, "-o", str(tmp_path / "killed")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    history = tmp_path / "killed" / "history.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if history.exists() and len(json.loads(history.read_text() or "[]")) >= 2:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert not (tmp_path / "killed" / "model.json").exists()
    subprocess.run([*command, "-o", str(tmp_path / "killed"), "--resume"], check=True, capture_output=True, env=env)
    assert_same_weights(weights(tmp_path / "straight"), weights(tmp_path / "killed"))


def test_early_stopping_on_patience(tiny_corpus, tmp_path):
    result = train(tiny_corpus, tiny_config(optimizer="sgd", lr=1e-12, epochs=10, patience=2), tmp_path / "m")
    assert result.stopped == "patience" and result.epochs_run == 3 and result.best_epoch == 1


def test_divergence_is_recorded_not_raised(tiny_corpus, tmp_path):
    result = train(tiny_corpus, tiny_config(optimizer="sgd", lr=1e8, epochs=5), tmp_path / "m")
    assert result.stopped == "diverged"
    assert result.history[-1]["diverged"] is True
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["result"]["stopped"] == "diverged"
    assert json.loads((tmp_path / "m" / "history.json").read_text())[-1]["train_loss"] is None


def test_the_weights_kept_are_the_moving_average_of_every_update(tiny_corpus, tmp_path, monkeypatch):
    from antiphon.model.mdrnn import MDRNN
    from antiphon.training import loop

    decay = 0.8
    updates: list[list[torch.Tensor]] = []  # the trainable weights after each optimizer step

    class Recording(loop.Optimizer):
        def __init__(self, params, config):
            self.params = list(params)
            super().__init__(self.params, config)

        def step(self):
            super().step()
            updates.append([p.detach().clone() for p in self.params])

    monkeypatch.setattr(loop, "Optimizer", Recording)
    config = tiny_config(epochs=1, average_decay=decay, select_by="loss")
    result = train(tiny_corpus, config, tmp_path / "m")
    assert len(updates) > 5
    average = updates[0]  # the first update is copied
    for update in updates[1:]:
        average = [decay * a + (1 - decay) * u for a, u in zip(average, update, strict=True)]
    names = [n for n, p in MDRNN(tiny_corpus.dimension, config.model).named_parameters() if p.requires_grad]
    kept = weights(tmp_path / "m")
    for name, expected in zip(names, average, strict=True):
        torch.testing.assert_close(kept[name], expected, rtol=1e-5, atol=1e-6)
        assert not torch.allclose(kept[name], updates[-1][names.index(name)])  # not the last weights
    info = (trained := load_model(tmp_path / "m")).info
    val = make_windows(tiny_corpus.held_out_segments("validation", 1.0, info.resolution), 10, 1, info.model.level_steps)
    assert evaluate_nll(trained.network, val, 16) == pytest.approx(result.history[0]["val_loss"], rel=1e-6)  # the average was judged


def test_resume_with_other_settings_is_refused(tiny_corpus, tmp_path):
    with pytest.raises(Interrupt):
        train(tiny_corpus, tiny_config(epochs=3), tmp_path / "m", progress=StopAfter(1))
    with pytest.raises(ModelError, match="other settings or another corpus"):
        train(tiny_corpus, tiny_config(epochs=3, lr=0.5), tmp_path / "m", resume=True)
    more = train(tiny_corpus, tiny_config(epochs=5), tmp_path / "m", resume=True)  # more epochs is fine
    assert more.epochs_run == 5


def test_refuses_to_overwrite_a_model_and_short_corpora(tiny_corpus, tmp_path):
    train(tiny_corpus, tiny_config(epochs=1), tmp_path / "m")
    with pytest.raises(ModelError, match="already holds a trained model"):
        train(tiny_corpus, tiny_config(epochs=1), tmp_path / "m")
    with pytest.raises(DataError, match="the validation split has no window of 61 consecutive rows"):
        train(tiny_corpus, tiny_config(sequence_length=60), tmp_path / "n")


def test_l1_l2_and_clipping_change_training(tiny_corpus, tmp_path):
    plain = train(tiny_corpus, tiny_config(epochs=2), tmp_path / "plain")
    penalised = train(tiny_corpus, tiny_config(epochs=2, l2=0.1, l1=0.01), tmp_path / "l2")
    clipped = train(tiny_corpus, tiny_config(epochs=2, clip_norm=1e-3), tmp_path / "clip")
    norm = lambda folder: float(sum((v.double() ** 2).sum() for k, v in weights(folder).items() if "weight" in k))
    assert norm(tmp_path / "l2") < norm(tmp_path / "plain")
    assert plain.history[-1]["val_loss"] != clipped.history[-1]["val_loss"]
    assert np.isfinite(penalised.history[-1]["val_loss"])


def test_a_constant_hop_corpus_trains_without_a_dt_dimension(tiny_corpus, tmp_path):
    train(tiny_corpus, tiny_config(epochs=1), tmp_path / "m")
    model, info = (t := load_model(tmp_path / "m")).network, t.info
    assert not info.timing.dt_modelled and info.timing.hop_s == pytest.approx(0.01)
    assert model.dimension == len(tiny_corpus.features) == 3 and info.columns == tiny_corpus.features
    np.testing.assert_allclose(info.resolution, tiny_corpus.resolution())


def test_dequantised_batches_move_within_the_resolution(tiny_corpus):
    windows = make_windows(tiny_corpus.segments("train"), 10)
    widths = torch.as_tensor(tiny_corpus.resolution(), dtype=torch.float32)
    clean_x, _ = windows.batch(torch.arange(8))
    noisy_x, noisy_y = windows.batch(torch.arange(8), widths, torch.Generator().manual_seed(0))
    assert float((noisy_x - clean_x).abs().max()) <= 0.005 + 1e-6 and float((noisy_x - clean_x).abs().max()) > 0.003
    torch.testing.assert_close(noisy_x[:, 1:], noisy_y[:, :-1])  # a row has the same noise as input and as target


def test_transposition_rotates_the_chroma_of_frames_and_levels_alike():
    """training.transpose: each window's 12 chroma values (and their level's) turn by one random
    number of semitones, inputs and targets alike; the other features stay."""
    from antiphon.feature_names import chroma_columns

    names = ("SpectralCentroid", *[f"Chroma{i:02d}" for i in range(1, 13)])
    chroma = chroma_columns(names)
    segment = np.zeros((30, 13), np.float32)
    segment[:, 0] = np.linspace(0.0, 1.0, 30)
    segment[:, 1 + 4] = 1.0  # pitch class E throughout
    windows = make_windows([segment], sequence_length=5, stride=5, level_steps=4)
    x, y = windows.batch(torch.arange(len(windows)), generator=torch.Generator().manual_seed(0), chroma=chroma)
    shifts = set()
    for w in range(len(windows)):
        frame_class = int(x[w, 0, 1:13].argmax())
        assert torch.all(x[w, :, 1:13].argmax(-1) == frame_class) and torch.all(y[w, :, 1:13].argmax(-1) == frame_class)
        assert int(x[w, 0, 14:26].argmax()) == frame_class  # the level turned with the frame
        np.testing.assert_allclose(x[w, :, 0].numpy(), segment[5 * w : 5 * w + 5, 0])  # the centroid untouched
        shifts.add((frame_class - 4) % 12)
    assert len(shifts) > 1  # windows are transposed by different amounts
    assert chroma_columns(("SpectralCentroid", "Chroma01")) is None  # no whole chroma vector: nothing to rotate


def test_input_noise_and_rollouts_change_the_inputs_never_the_targets(tiny_corpus, tmp_path):
    from antiphon.model.mdrnn import MDRNN

    level = tiny_config().model.level_steps
    windows = make_windows(tiny_corpus.segments("train"), 10, 1, level)
    indices = torch.arange(8)
    clean_x, clean_y = windows.batch(indices)
    noisy_x, noisy_y = windows.batch(indices, generator=torch.Generator().manual_seed(0), input_noise=torch.full((3,), 0.05))
    torch.testing.assert_close(noisy_y, clean_y)
    assert 0.03 < float((noisy_x - clean_x)[..., :3].std()) < 0.07
    torch.testing.assert_close(noisy_x[..., 3:], clean_x[..., 3:])  # the level is the music's, not the noise's
    model = MDRNN(3, tiny_config().model)
    (mu, _, _), _ = model(clean_x)
    rolled, _, _ = model.rollout(clean_x, 4, torch.Generator().manual_seed(0))
    torch.testing.assert_close(rolled[:, :6], mu[:, :6])  # teacher-forced steps: the same
    assert not torch.allclose(rolled[:, 6:], mu[:, 6:])  # the last 4 read the model's own draws
    trained = train(tiny_corpus, tiny_config(epochs=1, rollout_steps=4, input_noise=0.02), tmp_path / "m")
    assert trained.stopped == "epochs" and np.isfinite(trained.best_val_loss)


@pytest.mark.parametrize("seen", [{"activity_steps": 6}, {"onset_clock": 12}])
def test_scheduled_sampling_refuses_a_model_with_an_activity_input_or_a_clock_before_training(tiny_corpus, tmp_path, seen):
    """A rollout would have to continue the activity's running mean or the clock's counts, which the windows
    hold only as their inputs."""
    config = tiny_config(epochs=1, rollout_steps=4)
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, **seen))
    with pytest.raises(ConfigError, match=f"rollout_steps.*{next(iter(seen))}"):
        train(tiny_corpus, config, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_select_by_answers_keeps_the_epoch_whose_answers_moved_best(tmp_path, monkeypatch):
    """With training.select_by = "answers" the kept weights, and patience, follow the judgement of
    the answers (scripted here: best at epoch 1, while the validation loss falls), not the loss."""
    from antiphon.config import EvaluateConfig
    from antiphon.evaluation.evaluate import AnswerJudge

    judged = []

    def scripted(self, engine):
        judged.append(engine.info.model)
        score = (0.5, 0.9, 0.7)[len(judged) - 1]
        return {"realism": score, "acf": 0.0, "score": score}

    monkeypatch.setattr(AnswerJudge, "judge", scripted)
    documents = [synthetic_document(1000, phase, f"long{i}.json") for i, phase in enumerate((0.0, 1.5))]
    small = EvaluateConfig(prompt_ms=200, horizon_s=0.5, horizons_s=(0.05, 0.25, 0.5), conditioning_horizon_s=0.25, window_s=0.1)
    config = dataclasses.replace(tiny_config(epochs=3, patience=2, select_by="answers"), evaluate=small)
    corpus = build_corpus(documents, config.corpus)
    result = train(corpus, config, tmp_path / "answers")
    assert [r["answer_realism"] for r in result.history] == [0.5, 0.9, 0.7]
    assert result.best_epoch == 1 and result.stopped == "patience" and result.epochs_run == 3
    assert [r["val_loss"] for r in result.history] == sorted((r["val_loss"] for r in result.history), reverse=True)
    by_loss = dataclasses.replace(config.training, select_by="loss")
    assert train(corpus, dataclasses.replace(config, training=by_loss), tmp_path / "loss").best_epoch == 3  # the loss fell every epoch
    train(corpus, dataclasses.replace(config, training=dataclasses.replace(by_loss, epochs=1)), tmp_path / "one")
    kept, first = weights(tmp_path / "answers"), weights(tmp_path / "one")
    assert all(torch.equal(kept[k], first[k]) for k in kept)  # epoch 1's weights
    assert "answer_acf" in (tmp_path / "answers" / "history.csv").read_text().splitlines()[0]


def test_select_by_auto_falls_back_to_the_loss_where_the_validation_split_is_too_short(tiny_corpus, tmp_path):
    """The tiny corpus's validation blocks (30 rows) hold no 917 ms prompt: "auto" chooses by the
    loss and says so in model.json; "answers" refuses, naming the setting."""
    result = train(tiny_corpus, tiny_config(epochs=1, select_by="auto"), tmp_path / "auto")
    assert "answer_acf" not in result.history[0]
    assert json.loads((tmp_path / "auto" / "model.json").read_text())["result"]["selected_by"] == "loss"
    with pytest.raises(
        DataError, match="training.select_by = 'answers': judging answers on the validation split: the longest validation block"
    ):
        train(tiny_corpus, tiny_config(epochs=1, select_by="answers"), tmp_path / "answers")
