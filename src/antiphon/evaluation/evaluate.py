"""``antiphon evaluate``: the model's answers against the music that followed, and against baselines.

Teacher-forced (the model predicts each next frame of the test split from the true past):
NLL per step and per dimension, and the one-step mean absolute error of the mixture mean.
Free-running (the paper's question): for prompts drawn evenly from the test split, the model
(and each baseline) continues for ``horizon_s``; every continuation is compared with the real
one by the metrics of :mod:`antiphon.evaluation.metrics`, and summarised by the headline score
(docs/evaluation.md). All values are compared normalised to [0, 1] by the model's scaler.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.atomic import write_text_atomic
from antiphon.config import EvaluateConfig, to_dict
from antiphon.data.corpus import Corpus
from antiphon.errors import DataError
from antiphon.evaluation import baselines, metrics
from antiphon.feature_names import CHROMA_NAMES

SYSTEMS = ("model", "repeat_last", "random_walk", "nearest_neighbour", "model_mean")


@dataclass(frozen=True)
class Prompt:
    segment: int
    rows: np.ndarray  # (P, 1 + F): dt_s, normalised features
    real: np.ndarray  # (N, 1 + F): what followed, covering the horizon


def normalised_segments(corpus: Corpus, split: str, scaler) -> list[np.ndarray]:
    """Rows [dt_s, features scaled by ``scaler``] of every file's ``split`` block (unscaled dt)."""
    out = []
    for file in corpus.files:
        start, stop = file.segments[split]
        if stop > start:
            scaled, _ = scaler.transform(file.values[start:stop])
            out.append(np.concatenate([file.dt_s[start:stop, None], scaled], axis=1))
    return out


def draw_prompts(segments: list[np.ndarray], config: EvaluateConfig) -> list[Prompt]:
    """``n_prompts`` prompts spread evenly over the test blocks that hold a prompt and a horizon.

    Raises:
        DataError: no test rows, or no test block long enough.
    """
    if not segments:
        raise DataError("the corpus has no test rows: evaluate needs a test split (corpus.train_fraction + validation_fraction < 1)")
    need_s = config.prompt_ms / 1000.0 + config.horizon_s
    candidates = []  # (segment, start row)
    for index, rows in enumerate(segments):
        elapsed = np.concatenate([[0.0], np.cumsum(rows[:, 0])])
        if elapsed[-1] < need_s:
            continue  # this block cannot hold a prompt and a horizon
        last_start = int(np.searchsorted(elapsed, elapsed[-1] - need_s, side="right")) - 1
        candidates.extend((index, start) for start in range(0, last_start + 1))
    if not candidates:
        longest = max(float(rows[:, 0].sum()) for rows in segments)
        raise DataError(
            f"the longest test block lasts {longest:.2f} s; a {config.prompt_ms:g} ms prompt and a "
            f"{config.horizon_s:g} s horizon need {need_s:.2f} s: shorten evaluate.horizon_s or give longer files"
        )
    picks = np.linspace(0, len(candidates) - 1, min(config.n_prompts, len(candidates))).round().astype(int)
    prompts = []
    for pick in picks:
        index, start = candidates[pick]
        rows = segments[index][start:]
        elapsed = np.cumsum(rows[:, 0]) - rows[0, 0]
        n_prompt = max(2, int(np.searchsorted(elapsed, config.prompt_ms / 1000.0, side="right")))
        after = np.cumsum(rows[n_prompt:, 0])
        n_real = int(np.searchsorted(after, config.horizon_s)) + 1
        prompts.append(Prompt(index, rows[:n_prompt], rows[n_prompt : n_prompt + n_real]))
    return prompts


def model_continuation(engine, prompt: np.ndarray, horizon_s: float, rng: np.random.Generator, *, mean: bool = False) -> np.ndarray:
    """The engine's continuation of ``prompt`` (normalised rows), or its mixture mean path (``mean``)."""
    scaler = engine.info.scaler
    engine.reset()
    for row in prompt:
        engine.feed(scaler.inverse(row[1:]), float(row[0]))
    steps, frames = engine.continue_for(horizon_s, rng, mean=mean)
    scaled, _ = scaler.transform(frames)
    return np.concatenate([steps[:, None], scaled], axis=1)


def compare(continuation: np.ndarray, real: np.ndarray, training: list[np.ndarray], names: tuple[str, ...], config: EvaluateConfig) -> dict[str, Any]:
    """Every metric of one continuation against the real one (both normalised rows)."""
    grid = np.arange(0.0, config.horizon_s, config.grid_ms / 1000.0)
    times_c, times_r = np.cumsum(continuation[:, 0]) - continuation[0, 0], np.cumsum(real[:, 0]) - real[0, 0]
    held_c, held_r = metrics.on_grid(times_c, continuation[:, 1:], grid), metrics.on_grid(times_r, real[:, 1:], grid)
    result: dict[str, Any] = {
        "mae": metrics.mae_per_feature(held_c, held_r),
        "dtw": metrics.dtw_per_feature(held_c, held_r),
        "wasserstein": metrics.wasserstein_per_feature(continuation[:, 1:], real[:, 1:]),
        "timing": metrics.timing_distance(continuation[:, 0], real[:, 0]),
        "novelty": metrics.nearest_window_distance(continuation[: config.novelty_rows, 1:], [t[:, 1:] for t in training]),
        "held": held_c,
    }
    chroma = [names.index(c) for c in CHROMA_NAMES if c in names]
    if len(chroma) == len(CHROMA_NAMES):
        result["chroma_cosine"], result["same_class"] = metrics.chroma_agreement(continuation[:, 1:][:, chroma], real[:, 1:][:, chroma])
    score = metrics.resemblance(
        wasserstein=float(result["wasserstein"].mean()),
        dtw=float(result["dtw"].mean()),
        chroma_cosine=result.get("chroma_cosine"),
        timing=result["timing"],
        novelty=result["novelty"],
        weights=metrics.ScoreWeights(copy_threshold=config.copy_threshold),
    )
    result.update(score)
    return result


def teacher_forced(model_dir: Path, segments: list[np.ndarray], scale: float, names: tuple[str, ...]) -> dict[str, Any]:
    """Test NLL per step (nats, the model's units) and per dimension, and the one-step MAE (normalised)."""
    import torch

    from antiphon.model.directory import load_model
    from antiphon.model.mdn import mdn_log_likelihood, mdn_marginals

    model, _ = load_model(model_dir)
    total, per_dim, abs_error, steps = 0.0, 0.0, 0.0, 0
    with torch.no_grad():
        for rows in segments:
            if rows.shape[0] < 2:
                continue
            x = torch.as_tensor(rows[:-1] * scale, dtype=torch.float32).unsqueeze(0)
            y = torch.as_tensor(rows[1:] * scale, dtype=torch.float32).unsqueeze(0)
            (mu, sigma, logits), _ = model(x)
            total += float(-mdn_log_likelihood(mu, sigma, logits, y).sum())
            marginal, mean = mdn_marginals(mu, sigma, logits, y)
            per_dim = per_dim - marginal.sum(dim=(0, 1)).numpy()
            abs_error = abs_error + (mean - y).abs().sum(dim=(0, 1)).numpy() / scale
            steps += y.shape[1]
    columns = ("dt_s", *names)
    return {
        "nll": total / steps,
        "nll_per_dimension": dict(zip(columns, (per_dim / steps).tolist())),
        "mae_one_step": dict(zip(columns, (abs_error / steps).tolist())),
        "steps": steps,
    }


def evaluate(
    model_dir: Path | str,
    corpus: Corpus,
    config: EvaluateConfig,
    out_dir: Path | str | None = None,
    on_prompt: Callable[[], None] | None = None,
    systems: Sequence[str] = SYSTEMS,
) -> dict[str, Any]:
    """The whole report (see the module docstring); with ``out_dir``, also report.json and the figures.

    ``systems`` are the ones continued and scored ("model" first; the optimizer study asks for
    the model alone, as the baselines do not depend on how it was trained).

    Raises:
        DataError: the model and the corpus have different features, no test split, or test blocks
            shorter than a prompt and a horizon.
        ModelError: a broken model folder.
    """
    from antiphon.realtime.engine import Engine

    model_dir = Path(model_dir)
    engine = Engine.from_model_dir(model_dir)
    names = engine.info.feature_names
    if tuple(corpus.features) != tuple(names):
        raise DataError(
            f"the model in {model_dir} uses {len(names)} features ({', '.join(names[:4])}...) and the corpus "
            f"{len(corpus.features)} ({', '.join(corpus.features[:4])}...): evaluate needs the same list"
        )
    scaler = engine.info.scaler
    tests = normalised_segments(corpus, "test", scaler)
    training = normalised_segments(corpus, "train", scaler)
    prompts = draw_prompts(tests, config)
    step_std, median_dt = baselines.step_statistics(training)
    rng = np.random.default_rng(config.seed)

    if not systems or systems[0] != "model" or set(systems) - set(SYSTEMS):
        raise ValueError(f"systems must start with 'model' and be among {', '.join(SYSTEMS)}, got {list(systems)}")
    results: dict[str, list[dict[str, Any]]] = {system: [] for system in systems}
    diversity: list[float] = []
    bands = []
    for prompt in prompts:
        continuations = {
            "model": lambda: [model_continuation(engine, prompt.rows, config.horizon_s, rng) for _ in range(config.n_continuations)],
            "repeat_last": lambda: [baselines.repeat_last(prompt.rows, config.horizon_s)],
            "random_walk": lambda: [baselines.random_walk(prompt.rows, config.horizon_s, step_std, median_dt, rng)],
            "nearest_neighbour": lambda: [baselines.nearest_neighbour(prompt.rows, config.horizon_s, training)],
            "model_mean": lambda: [model_continuation(engine, prompt.rows[:0], config.horizon_s, rng, mean=True)],
        }
        for system in systems:
            found = continuations[system]()
            compared = [compare(c, prompt.real, training, names, config) for c in found]
            results[system].extend(compared)
            if system == "model":
                diversity.append(metrics.diversity([c["held"] for c in compared]))
                bands.append((prompt, [c["held"] for c in compared]))
        if on_prompt is not None:
            on_prompt()

    report: dict[str, Any] = {
        "model": str(model_dir),
        "settings": to_dict(config),
        "n_prompts": len(prompts),
        "features": list(names),
        "teacher_forced": teacher_forced(model_dir, tests, engine.scale, names),
        "free_running": {system: _summary(rows, names) for system, rows in results.items()},
    }
    report["free_running"]["model"]["diversity"] = float(np.mean(diversity))
    model_score = report["free_running"]["model"]["score_percent"]
    report["model_beats"] = {s: model_score > report["free_running"][s]["score_percent"] for s in systems[1:]}
    if out_dir is not None:
        out = Path(out_dir)
        write_text_atomic(out / "report.json", json.dumps(report, indent=1, default=_jsonable) + "\n")
        _figures(out, report, bands, names, config)
    return report


def _summary(rows: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        key: float(np.mean([r[key] for r in rows]))
        for key in ("score_percent", "resemblance", "originality", "distribution", "shape", "timing", "novelty")
    }
    if "chroma_cosine" in rows[0]:
        summary["chroma"] = float(np.mean([r["chroma"] for r in rows]))
        summary["same_strongest_class"] = float(np.mean([r["same_class"] for r in rows]))
    for key in ("mae", "dtw", "wasserstein"):
        summary[f"{key}_per_feature"] = dict(zip(names, np.mean([r[key] for r in rows], axis=0).tolist()))
        summary[f"{key}_mean"] = float(np.mean([r[key].mean() for r in rows]))
    summary["n_continuations"] = len(rows)
    return summary


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _figures(out: Path, report: dict[str, Any], bands: list, names: tuple[str, ...], config: EvaluateConfig) -> None:
    from antiphon.render.plots import plot_evaluation_bands, plot_system_scores, save_figure

    shown = [n for n in config.plot_features if n in names] or list(names[:4])
    prompt, continuations = bands[0]
    grid = np.arange(0.0, config.horizon_s, config.grid_ms / 1000.0)
    real = metrics.on_grid(np.cumsum(prompt.real[:, 0]) - prompt.real[0, 0], prompt.real[:, 1:], grid)
    stacked = np.stack(continuations)  # (C, G, F)
    save_figure(plot_evaluation_bands(grid, real, stacked, names, shown), out / "bands.png")
    save_figure(plot_system_scores(report["free_running"]), out / "scores.png")
