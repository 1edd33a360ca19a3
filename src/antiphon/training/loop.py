"""The training loop: train(corpus, config, folder) -> TrainResult, readable top to bottom.

Per epoch: shuffle the training windows (the order is a pure function of seed and epoch),
then per batch: transpose (``transpose``: chroma rotated per window), dequantise (uniform
noise within each column's resolution, fresh every batch), add ``input_noise`` to the inputs
alone, forward (the last ``rollout_steps`` of each window on the model's own draws), NLL
(+ L1/L2), backward, clip, step; then the validation NLL (with ``select_by`` "answers", or
"auto" where the validation split allows, also the answers' realism and autocorrelation on
validation prompts), the history record, the best weights (the lowest validation loss, or the
lowest sum of those two), and an atomic checkpoint of the whole state. Early stopping ends the
run after ``patience`` epochs without a better one; a non-finite loss ends it as diverged.
``resume=True`` continues from the checkpoint and reaches the same weights as an uninterrupted
run with the same seed (same machine, same thread count).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from antiphon.atomic import atomic_path
from antiphon.config import Config, TrainingConfig, to_dict
from antiphon.data.corpus import Corpus, corpus_fingerprint
from antiphon.errors import ConfigError, DataError, ModelError
from antiphon.feature_names import chroma_columns
from antiphon.fingerprint import fingerprint
from antiphon.model.directory import CHECKPOINT_FILE, META_FILE, Timing, write_history, write_model_files
from antiphon.model.key import pitch_class_profiles
from antiphon.model.mdn import mdn_nll
from antiphon.model.mdrnn import MDRNN, ROLLOUT_WITH_ACTIVITY
from antiphon.training.arithmetic import Arithmetic, resolve_arithmetic
from antiphon.training.optimizers import Optimizer
from antiphon.training.windows import Windows, make_windows


class TrainingProgress(Protocol):
    """What the loop reports while it runs (the CLI draws a progress bar from it)."""

    def start(self, epochs: int, batches_per_epoch: int, first_epoch: int) -> None: ...

    def batch(self, running_loss: float) -> None: ...

    def epoch(self, record: dict[str, Any]) -> None: ...


class _Silent:
    def start(self, epochs: int, batches_per_epoch: int, first_epoch: int) -> None:
        pass

    def batch(self, running_loss: float) -> None:
        pass

    def epoch(self, record: dict[str, Any]) -> None:
        pass


@dataclass(frozen=True)
class TrainResult:
    """How a run ended. Epochs count from 1; ``best_*`` are None when no epoch finished."""

    folder: Path
    stopped: str  # "patience", "epochs" or "diverged"
    epochs_run: int
    best_epoch: int | None
    best_val_loss: float | None
    test_loss: float | None
    n_parameters: int
    arithmetic: str  # where and in what precision it trained, e.g. "cpu, float32"
    history: list[dict[str, Any]] = field(repr=False)
    selected_by: str = "loss"  # what chose the epoch kept: "loss" or "answers" (training.select_by)

    def kept(self) -> str:
        """The epoch kept, what chose it and its validation loss, in words (``train``'s and the demo's summaries)."""
        if self.best_epoch is None:
            return "no finished epoch"
        how = "its answers moved most like the validation music" if self.selected_by == "answers" else "the lowest validation loss"
        return f"kept epoch {self.best_epoch} ({how}; validation loss {self.best_val_loss:.4f})"


def evaluate_nll(model: MDRNN, windows: Windows, batch_size: int) -> float:
    """Mean NLL (nats per step) over every step of every window, in float32 on the model's device; NaN when there are none."""
    if len(windows) == 0:
        return math.nan
    model.eval()
    device = next(model.parameters()).device
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(windows), batch_size):
            indices = torch.arange(start, min(start + batch_size, len(windows)))
            x, y = (t.to(device) for t in windows.batch(indices))
            (mu, sigma, logits), _ = model(x)
            total += mdn_nll(mu, sigma, logits, y, model.tails).item() * indices.numel()
    return total / len(windows)


def train(
    corpus: Corpus,
    config: Config,
    folder: Path | str,
    *,
    resume: bool = False,
    progress: TrainingProgress | None = None,
) -> TrainResult:
    """Train an MDRNN on ``corpus`` into ``folder`` (see :mod:`antiphon.model.directory`).

    Raises:
        DataError: the corpus gives no training or no validation window.
        ModelError: ``folder`` already holds a model (without ``resume``), or its checkpoint is
            missing, corrupt, or was made with other settings or another corpus.
        ConfigError: scheduled sampling (``training.rollout_steps``) asked of a model with an activity input or an onset clock.
    """
    cfg = config.training
    if cfg.rollout_steps and (config.model.activity_steps or config.model.onset_clock):  # MDRNN.rollout would refuse at the first batch
        raise ConfigError(ROLLOUT_WITH_ACTIVITY)
    folder = Path(folder)
    report = progress or _Silent()
    widths = corpus.resolution() * cfg.scale_factor if cfg.dequantise else np.zeros(corpus.dimension)
    seen = (config.model.level_steps, config.model.activity_steps, config.model.onset_clock)  # what the model sees beside each row
    # where the model sees an activity or an onset clock, the training rows' level, activity and clock are computed on
    # them dequantised once, as the validation rows are (a step size hears the noise; a level, a mean of 86 rows,
    # hardly does: without either the model trains as before)
    steps_heard = config.model.activity_steps or config.model.onset_clock
    heard = corpus.held_out_segments("train", cfg.scale_factor, widths) if steps_heard else None
    train_windows = make_windows(corpus.segments("train", cfg.scale_factor), cfg.sequence_length, cfg.window_stride, *seen, heard)
    val_windows = make_windows(corpus.held_out_segments("validation", cfg.scale_factor, widths), cfg.sequence_length, 1, *seen)
    test_windows = make_windows(corpus.held_out_segments("test", cfg.scale_factor, widths), cfg.sequence_length, 1, *seen)
    noise_widths = torch.as_tensor(widths, dtype=torch.float32) if cfg.dequantise else None
    chroma = chroma_columns(corpus.columns) if cfg.transpose else None  # corpora without the chroma vector: no-op
    input_noise = None
    if cfg.input_noise > 0:  # a fraction of the range: scaled like the rows; dt (when modelled) is left alone
        input_noise = torch.full((corpus.dimension,), cfg.input_noise * cfg.scale_factor)
        if corpus.dt_modelled:
            input_noise[0] = 0.0
    for split, windows in (("training", train_windows), ("validation", val_windows)):
        if len(windows) == 0:
            raise DataError(
                f"the {split} split has no window of {cfg.sequence_length + 1} consecutive rows "
                f"(training.sequence_length {cfg.sequence_length}): give longer files or a shorter sequence_length"
            )
    all_dt = np.concatenate([f.dt_s for f in corpus.files])
    timing = Timing(corpus.dt_modelled, corpus.hop_s, float(all_dt.min()), float(all_dt.max()))
    key_profiles = training_key_profiles(corpus)
    judge = _answer_judge(corpus, config, timing, folder, widths, key_profiles)
    run_fingerprint = _fingerprint(corpus, config)
    _check_folder(folder, resume)
    arithmetic = resolve_arithmetic(cfg)

    torch.manual_seed(cfg.seed)
    # initialised on the CPU, from the same draws everywhere
    model = MDRNN(corpus.dimension, config.model, config.training.scale_factor).to(arithmetic.device)
    optimizer = Optimizer([p for p in model.parameters() if p.requires_grad], cfg)
    average = _moving_average(model, cfg.average_decay)
    judged = model if average is None else average.module  # the weights judged at each epoch's end and kept
    state: dict[str, Any] = {"epoch": 0, "best_val_loss": None, "best_epoch": None, "wait": 0, "history": []}
    best_weights = {k: v.clone() for k, v in model.state_dict().items()}
    if resume and (folder / CHECKPOINT_FILE).exists():
        state, best_weights = _load_checkpoint(folder / CHECKPOINT_FILE, model, optimizer, run_fingerprint, average)

    n_batches = math.ceil(len(train_windows) / cfg.batch_size)
    report.start(cfg.epochs, n_batches, state["epoch"])
    stopped = "epochs"
    if state["history"] and state["history"][-1].get("diverged"):
        stopped = "diverged"
    elif state["wait"] >= cfg.patience:
        stopped = "patience"
    while stopped == "epochs" and state["epoch"] < cfg.epochs:
        epoch = state["epoch"] + 1
        started = time.perf_counter()
        model.train()
        generator = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
        order = torch.randperm(len(train_windows), generator=generator)
        loss_sum, seen, diverged = 0.0, 0, False
        for first in range(0, len(train_windows), cfg.batch_size):
            x, y = train_windows.batch(
                order[first : first + cfg.batch_size], noise_widths, generator, input_noise, chroma
            )  # (B, T, D) each
            loss = _forward_backward(model, optimizer, arithmetic, x.to(arithmetic.device), y.to(arithmetic.device), cfg, generator)
            if loss is None:
                diverged = True
                break
            if cfg.clip_value is not None:
                torch.nn.utils.clip_grad_value_(model.parameters(), cfg.clip_value)
            if cfg.clip_norm is not None:
                torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.clip_norm)
            optimizer.step()
            if average is not None:
                average.update_parameters(model)
            loss_sum += loss.item() * x.shape[0]
            seen += x.shape[0]
            report.batch(loss_sum / seen)
        val_loss = math.nan if diverged else evaluate_nll(judged, val_windows, cfg.batch_size)
        diverged = diverged or not math.isfinite(val_loss)
        record = {
            "epoch": epoch,
            "train_loss": loss_sum / seen if seen and not diverged else math.nan,
            "val_loss": val_loss,
            "lr": optimizer.lr,
            "seconds": time.perf_counter() - started,
            "diverged": diverged,
        }
        criterion = val_loss  # what chooses the weights kept, and what patience counts (training.select_by)
        if judge is not None:
            answers = {"realism": math.nan, "acf": math.nan, "score": math.nan} if diverged else judge(judged)
            record.update(answer_realism=answers["realism"], answer_acf=answers["acf"])
            criterion = answers["score"]
        state["history"].append(record)
        state["epoch"] = epoch
        best = state.get("best_score", state["best_val_loss"])  # checkpoints before select_by: the loss
        if diverged:
            stopped = "diverged"
        elif best is None or criterion < best or (math.isnan(best) and not math.isnan(criterion)):
            state.update(best_val_loss=val_loss, best_epoch=epoch, best_score=criterion, wait=0)
            best_weights = {k: v.detach().clone() for k, v in judged.state_dict().items()}
        else:
            state["wait"] += 1
            if state["wait"] >= cfg.patience:
                stopped = "patience"
        _save_checkpoint(folder / CHECKPOINT_FILE, model, optimizer, best_weights, state, run_fingerprint, average)
        write_history(folder, state["history"])
        report.epoch(record)

    model.load_state_dict(best_weights)
    test_loss = evaluate_nll(model, test_windows, cfg.batch_size)
    result = {
        "stopped": stopped,
        "epochs_run": state["epoch"],
        "best_epoch": state["best_epoch"],
        "best_val_loss": state["best_val_loss"],
        "test_loss": None if math.isnan(test_loss) else test_loss,
        "n_parameters": model.n_parameters(),
        "n_windows": {"train": len(train_windows), "validation": len(val_windows), "test": len(test_windows)},
        "loss_unit": f"nats per step, summed over {corpus.dimension} dimensions, data scaled by {cfg.scale_factor:g}",
        "corpus_fingerprint": corpus_fingerprint(corpus),  # the rows and split trained on
        "run_fingerprint": run_fingerprint,  # those and the settings that shape training (what --resume checks)
        "dt_s": corpus.summary()["dt_s"],
        "arithmetic": arithmetic.describe(),  # where and in what precision it trained
        "selected_by": "loss" if judge is None else "answers",  # what chose the weights kept (training.select_by)
    }
    write_model_files(
        folder,
        weights={k: v.cpu() for k, v in best_weights.items()},
        features=corpus.features,
        timing=timing,
        resolution=widths / cfg.scale_factor,
        scaler=corpus.scaler,
        config=dataclasses.replace(config, corpus=corpus.config),  # the corpus as built, not the command's settings
        history=state["history"],
        result=result,
        analysis=corpus.analysis,
        key_profiles=key_profiles,
    )
    _plot_history(folder, state["history"])
    return TrainResult(
        folder=folder,
        stopped=stopped,
        epochs_run=state["epoch"],
        best_epoch=state["best_epoch"],
        best_val_loss=state["best_val_loss"],
        test_loss=result["test_loss"],
        n_parameters=result["n_parameters"],
        arithmetic=result["arithmetic"],
        history=state["history"],
        selected_by=result["selected_by"],
    )


def training_key_profiles(corpus: Corpus) -> np.ndarray | None:
    """The pitch-class profile (12,) of each file's training rows, in instrument units (S, 12), for the
    engine to answer a performer in the keys it learned (:mod:`antiphon.model.key`); None where the corpus
    has not the whole chroma or no file has enough sounding training rows."""
    columns = chroma_columns(tuple(corpus.features))
    if columns is None:
        return None
    profiles = pitch_class_profiles([file.values[slice(*file.segments["train"]), columns] for file in corpus.files])
    return profiles if profiles.shape[0] else None


def _answer_judge(corpus: Corpus, config: Config, timing: Timing, folder: Path, widths: np.ndarray, key_profiles: np.ndarray | None):
    """For ``training.select_by`` "answers" (and "auto" where it can): a function of the network being
    trained that judges its answers to ``training.select_prompts`` validation prompts (2 answers each,
    at ``[evaluate]``'s temperatures) with the real-time engine, as ``evaluate`` would
    (:class:`~antiphon.evaluation.evaluate.AnswerJudge`), and returns realism, acf and their sum.
    None where the epochs are chosen by their loss ("loss", or "auto" on a validation split too
    short for a prompt and its reference music).

    Raises:
        DataError: "answers" on such a split.
    """
    from antiphon.evaluation.evaluate import AnswerJudge
    from antiphon.model.directory import ModelInfo
    from antiphon.model.engine import Engine

    if config.training.select_by == "loss":
        return None
    settings = dataclasses.replace(config.evaluate, max_prompts=config.training.select_prompts, n_samples=2)
    try:
        judge = AnswerJudge.from_corpus(corpus, timing, "validation", settings)
    except DataError as exc:
        if config.training.select_by == "answers":
            raise DataError(f"training.select_by = 'answers': {exc}") from exc
        return None
    resolution = widths / config.training.scale_factor
    info = ModelInfo(
        folder, tuple(corpus.features), timing, resolution, corpus.scaler, config.model, config.training, corpus.config, {},
        key_profiles=key_profiles,
    )  # fmt: skip

    def judged(model: MDRNN) -> dict[str, float]:
        weights = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
        return judge.judge(Engine(info, weights))

    return judged


def _moving_average(model: MDRNN, decay: float) -> torch.optim.swa_utils.AveragedModel | None:
    """An exponential moving average of ``model``'s weights (``training.average_decay``; None for 0): after
    each batch, average = decay * average + (1 - decay) * weights, the first update a copy."""
    if decay == 0:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _forward_backward(
    model: MDRNN,
    optimizer: Optimizer,
    arithmetic: Arithmetic,
    x: torch.Tensor,
    y: torch.Tensor,
    cfg: TrainingConfig,
    generator: torch.Generator,
) -> torch.Tensor | None:
    """One batch's loss and gradients (the penalty added to the objective, not to the loss
    reported); None when the loss is not finite (nothing is then computed backwards)."""
    with arithmetic.kernels():
        with arithmetic.autocast():
            if cfg.rollout_steps:
                mu, sigma, logits = model.rollout(x, cfg.rollout_steps, generator)
            else:
                (mu, sigma, logits), _ = model(x)
        loss = mdn_nll(mu, sigma, logits, y, model.tails)
        if not torch.isfinite(loss):
            return None
        objective = loss + _penalty(model, cfg.l1, cfg.l2)
        optimizer.zero_grad()
        objective.backward()
    return loss


def _penalty(model: MDRNN, l1: float, l2: float) -> torch.Tensor | float:
    if l1 == 0 and l2 == 0:
        return 0.0
    weights = model.weight_matrices()
    total = weights[0].new_zeros(())
    if l1:
        total = total + l1 * sum(w.abs().sum() for w in weights)
    if l2:
        total = total + l2 * sum((w * w).sum() for w in weights)
    return total


def _check_folder(folder: Path, resume: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise ModelError(f"{folder}: exists and is not a directory")
    if resume:
        return
    if (folder / META_FILE).exists():
        raise ModelError(f"{folder}: already holds a trained model; choose another folder")
    if (folder / CHECKPOINT_FILE).exists():
        raise ModelError(f"{folder}: holds an unfinished run; continue it with --resume or choose another folder")


def _fingerprint(corpus: Corpus, config: Config) -> str:
    """A hash of the settings that shape training and of the corpus rows, to refuse a mismatched resume."""
    settings = {"model": to_dict(config.model), "training": to_dict(config.training), "corpus": to_dict(corpus.config)}
    settings["training"].pop("epochs")  # a resumed run may be given more epochs
    settings["training"].pop("device")  # and may continue on another device
    return fingerprint({"settings": settings, "corpus": corpus_fingerprint(corpus)})


def _save_checkpoint(
    path: Path,
    model: MDRNN,
    optimizer: Optimizer,
    best_weights: dict[str, torch.Tensor],
    state: dict[str, Any],
    fingerprint: str,
    average: torch.optim.swa_utils.AveragedModel | None = None,
) -> None:
    """Everything needed to continue, in one safetensors file (tensors + JSON metadata), atomically."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    tensors.update({f"model.{k}": v.detach().cpu() for k, v in model.state_dict().items()})
    tensors.update({f"best.{k}": v.cpu() for k, v in best_weights.items()})
    if average is not None:  # its module's weights and how many updates it has averaged
        tensors.update({f"average.{k}": v.detach().cpu() for k, v in average.state_dict().items()})
    inner = optimizer.inner.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in inner["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optim.{index}.{key}"] = value.cpu()
            else:
                scalars.setdefault(str(index), {})[key] = value
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {
        "state": state,
        "fingerprint": fingerprint,
        "optimizer": {"iterations": optimizer.iterations, "param_groups": inner["param_groups"], "scalars": scalars},
    }
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata={"antiphon": json.dumps(meta)})


def checkpoint_epoch(folder: Path | str) -> int:
    """Epochs finished according to the checkpoint in ``folder`` (0 when there is none or it is unreadable)."""
    from safetensors import SafetensorError, safe_open

    path = Path(folder) / CHECKPOINT_FILE
    if not path.exists():
        return 0
    try:
        with safe_open(str(path), framework="pt") as handle:
            return int(json.loads(handle.metadata()["antiphon"])["state"]["epoch"])
    except (SafetensorError, OSError, KeyError, ValueError, TypeError):
        return 0


def _load_checkpoint(
    path: Path,
    model: MDRNN,
    optimizer: Optimizer,
    fingerprint: str,
    average: torch.optim.swa_utils.AveragedModel | None = None,
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads(handle.metadata()["antiphon"])
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open is not iterable)
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError, TypeError) as exc:
        raise ModelError(f"{path}: corrupt checkpoint ({exc})") from exc
    if meta.get("fingerprint") != fingerprint:
        raise ModelError(f"{path}: was made with other settings or another corpus; resume with the same ones, or start a new folder")
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    if average is not None:  # the fingerprint holds average_decay: a checkpoint of an averaged run has the average
        average.load_state_dict({k[8:]: v for k, v in tensors.items() if k.startswith("average.")})
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
    opt = meta["optimizer"]
    inner_state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            inner_state.setdefault(int(index), {})[name] = value
    for index, values in opt["scalars"].items():
        inner_state.setdefault(int(index), {}).update(values)
    optimizer.load_state_dict({"iterations": opt["iterations"], "inner": {"state": inner_state, "param_groups": opt["param_groups"]}})
    torch.set_rng_state(tensors["rng.torch"])
    return meta["state"], best


def _plot_history(folder: Path, history: list[dict[str, Any]]) -> None:
    from antiphon.render.plots import plot_training, save_figure

    if history:
        save_figure(plot_training(history), folder / "training.png")
