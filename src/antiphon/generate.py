"""Offline improvisation (paper III-D/E): feed ``prompt_ms`` of a file (from its start, or from
``prompt_start_ms``), let the model continue.

The prompt's frames update the model state one step at a time; then each sampled frame is fed
back until the continuation lasts ``duration_s``. The model runs in the engine (the one
``serve`` uses, tested equal to the torch model), so generating needs no torch. The
continuation is written as an analysis JSON in the prompt file's layout: times in ms from the
start of the prediction, values de-normalised to instrument units.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from antiphon import __version__
from antiphon.config import GenerateConfig, to_dict
from antiphon.data.analysis_json import FORMAT_VERSION, AnalysisDocument, read_analysis, write_analysis
from antiphon.data.corpus import rows_from_document
from antiphon.errors import DataError
from antiphon.model.engine import Engine


@dataclass(frozen=True)
class Continuation:
    """A prompt and the model's continuation of it, in instrument units.

    ``prompt_ms`` (P,) are the prompt frames' times in the file; ``times_ms`` (N,) count from the
    start of the prediction; ``prompt`` (P, F) and ``values`` (N, F) follow ``features``.
    ``key_shift``: the semitones the model heard the prompt moved up, and its answer moved back down
    (:attr:`~antiphon.model.engine.Engine.follow_key`; 0: in the key heard).
    """

    features: tuple[str, ...]
    prompt_ms: np.ndarray
    prompt: np.ndarray
    times_ms: np.ndarray
    values: np.ndarray
    key_shift: int = 0


def continue_prompt(engine: Engine, document: AnalysisDocument, config: GenerateConfig) -> Continuation:
    """Prompt the model with ``config.prompt_ms`` of ``document`` from ``config.prompt_start_ms`` (default:
    its first frame) and sample a continuation.

    Raises:
        DataError: the document lacks a feature of the model, or the prompt holds fewer than two frames.
    """
    features = engine.feature_names
    missing = [name for name in features if name not in document.features]
    if missing:
        raise DataError(f"{document.source}: lacks {len(missing)} feature(s) the model was trained on: {', '.join(missing)}")
    times = document.times_ms
    start = float(times[0]) if config.prompt_start_ms is None else config.prompt_start_ms
    in_prompt = np.flatnonzero((times >= start) & (times < start + config.prompt_ms))
    if in_prompt.size < 2:
        where = "from its first frame" if config.prompt_start_ms is None else f"from {start:g} ms"
        raise DataError(
            f"{document.source}: {config.prompt_ms:g} ms {where} hold {in_prompt.size} frame(s); a prompt needs at least 2 "
            f"(the file's frames run from {times[0]:g} to {times[-1]:g} ms): raise generate.prompt_ms (--prompt-ms)"
            + ("" if config.prompt_start_ms is None else " or move generate.prompt_start_ms (--prompt-start-ms) into that range")
        )
    chosen = slice(int(in_prompt[0]), int(in_prompt[-1]) + 1)
    prompt_doc = document.with_frames(times[chosen], {n: document.features[n][chosen] for n in features})
    dt, raw = rows_from_document(prompt_doc, features)
    engine.reset()
    engine.use_temperatures(config)
    for step, frame in zip(dt, raw):
        engine.feed(frame, float(step))
    steps, values = engine.continue_for(config.duration_s, np.random.default_rng(config.seed), min_dt_s=config.min_dt_s, clip=config.clip)
    return Continuation(
        features=features,
        prompt_ms=prompt_doc.times_ms,
        prompt=prompt_doc.matrix(features),
        times_ms=np.cumsum(steps) * 1000.0,
        values=values,
        key_shift=engine.key_shift,
    )


def generate(
    model_dir: Path | str,
    prompt_path: Path | str,
    out_path: Path | str,
    config: GenerateConfig,
    *,
    plot_path: Path | str | None = None,
) -> Continuation:
    """Read the model and the prompt, continue it, write the JSON (and the figure), atomically.

    Raises:
        ModelError: the model folder is missing a file or corrupt.
        DataError: the prompt is unreadable or does not fit the model.
    """
    engine = Engine.from_model_dir(model_dir)
    document = read_analysis(prompt_path)
    continuation = continue_prompt(engine, document, config)
    out = document.with_frames(
        continuation.times_ms, {name: continuation.values[:, i] for i, name in enumerate(continuation.features)}
    ).with_metadata(
        {
            "format": "antiphon-analysis",
            "format_version": FORMAT_VERSION,
            "generator": f"antiphon {__version__}",
            "kind": "prediction",
            "time": {"unit": "ms", "reference": "from the start of the prediction"},
            "model": str(Path(model_dir).resolve().name),
            "prompt": {
                "file": Path(prompt_path).name,
                "start_ms": float(continuation.prompt_ms[0]),
                "prompt_ms": config.prompt_ms,
                "n_frames": int(continuation.prompt_ms.size),
                "key_shift": continuation.key_shift,
            },
            "generate": to_dict(config),
        }
    )
    write_analysis(out_path, out)
    if plot_path is not None:
        from antiphon.render.plots import plot_continuation, save_figure

        names = [n for n in config.plot_features if n in continuation.features] or list(continuation.features[:4])
        end_ms = continuation.prompt_ms[-1] + continuation.times_ms[-1]
        after = (document.times_ms > continuation.prompt_ms[-1]) & (document.times_ms <= end_ms)
        column = {n: i for i, n in enumerate(continuation.features)}
        figure = plot_continuation(
            continuation.prompt_ms,
            {n: continuation.prompt[:, column[n]] for n in names},
            continuation.times_ms,
            {n: continuation.values[:, column[n]] for n in names},
            real_ms=document.times_ms[after],
            real={n: document.features[n][after] for n in names},
            title=f"{Path(prompt_path).name}: {config.prompt_ms:g} ms of input from {continuation.prompt_ms[0]:g} ms, then {config.duration_s:g} s predicted",
        )
        save_figure(figure, plot_path)
    return continuation


def render_continuation(continuation: Continuation, out_wav: Path | str, sample_rate_hz: int = 44100) -> Path:
    """Render the prediction to ``out_wav`` and the prompt beside it (``<stem>_prompt.wav``); returns the latter."""
    from antiphon.render.audio import synthesize, write_wav

    out_wav = Path(out_wav)
    prompt_wav = out_wav.with_name(f"{out_wav.stem}_prompt{out_wav.suffix or '.wav'}")
    for path, times, values in (
        (out_wav, continuation.times_ms, continuation.values),
        (prompt_wav, continuation.prompt_ms, continuation.prompt),
    ):
        features = {name: values[:, i] for i, name in enumerate(continuation.features)}
        write_wav(path, synthesize(times, features, sample_rate_hz=sample_rate_hz), sample_rate_hz)
    return prompt_wav
