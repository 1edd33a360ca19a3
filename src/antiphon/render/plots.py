"""Figures from saved results, drawn with matplotlib's object API (no pyplot, no display needed).

Plot functions take ``ax=`` and return what they drew; figure builders return a Figure that
:func:`save_figure` writes atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D

from antiphon.atomic import atomic_path
from antiphon.data.analysis_json import AnalysisDocument
from antiphon.feature_names import CHROMA_NAMES, CHROMA_ORDER  # the names alone: not the extractor, which imports scipy.signal

#: panels of the analysis overview: (title, features drawn together, y label)
OVERVIEW_PANELS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Frequency-like", ("SpectralCentroid", "SpectralSpread", "SpectralRolloff", "Frequency"), "Hz"),
    ("Skewness", ("SpectralSkewness",), ""),
    ("Kurtosis (not excess: a Gaussian gives 3)", ("SpectralKurtosis",), ""),
    ("Slope", ("SpectralSlope",), "1/Hz"),
    ("Decrease and variation", ("SpectralDecrease", "SpectralVariation"), ""),
    ("Level", ("TotalEnergy", "Energy"), "full scale"),
    ("Periodicity", ("Periodicity", "AC1"), ""),
    ("Zero crossings", ("ZeroCrossingRate",), "Hz"),
)


def plot_features(ax: Axes, times_ms: np.ndarray, values: dict[str, np.ndarray], *, ylabel: str = "") -> list[Line2D]:
    """One line per feature against time in seconds; returns the lines."""
    lines = [ax.plot(times_ms / 1000.0, v, label=name, linewidth=0.8)[0] for name, v in values.items()]
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if len(values) > 1:
        ax.legend(loc="upper right", fontsize="x-small", ncol=len(values))
    return lines


def plot_chroma(ax: Axes, times_ms: np.ndarray, chroma: np.ndarray) -> AxesImage:
    """A chromagram (12 rows, C at the bottom) against time in seconds; ``chroma`` is (T, 12)."""
    t = times_ms / 1000.0
    end = t[-1] + (t[-1] - t[-2] if t.size > 1 else 0.01)
    image = ax.imshow(chroma.T, aspect="auto", origin="lower", interpolation="nearest", extent=(t[0], end, -0.5, 11.5), cmap="magma")
    ax.set_yticks(range(12), [f"{n} {c}" for n, c in zip(CHROMA_NAMES, CHROMA_ORDER)], fontsize="x-small")
    return image


def plot_analysis(document: AnalysisDocument, *, title: str = "") -> Figure:
    """Overview of an analysis document: chromagram, then the scalar features by kind, over time."""
    panels = [(t, tuple(n for n in names if n in document.features), y) for t, names, y in OVERVIEW_PANELS]
    panels = [p for p in panels if p[1]]
    has_chroma = all(n in document.features for n in CHROMA_NAMES)
    n_axes = len(panels) + int(has_chroma)
    figure = Figure(figsize=(12, 1.9 * n_axes + 0.6), layout="constrained")
    axes = figure.subplots(n_axes, 1, sharex=True, squeeze=False)[:, 0]
    index = 0
    if has_chroma:
        plot_chroma(axes[0], document.times_ms, document.matrix(CHROMA_NAMES))
        axes[0].set_title("Chroma", fontsize="small", loc="left")
        index = 1
    for ax, (panel_title, names, ylabel) in zip(axes[index:], panels):
        plot_features(ax, document.times_ms, {n: document.features[n] for n in names}, ylabel=ylabel)
        ax.set_title(panel_title, fontsize="small", loc="left")
    axes[-1].set_xlabel("time (s)")
    if title:
        figure.suptitle(title)
    return figure


def save_figure(figure: Figure, path: Path | str, *, dpi: int = 110) -> None:
    """Write ``figure`` as PNG, atomically."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)


def plot_training(history: list[dict], *, ax: Axes | None = None) -> Figure:
    """Training and validation loss per epoch, the best epoch marked (history records from training)."""
    figure = Figure(figsize=(8, 4.5), layout="constrained") if ax is None else ax.figure
    ax = ax or figure.subplots()
    epochs = [r["epoch"] for r in history]
    for key, label in (("train_loss", "training"), ("val_loss", "validation")):
        values = [np.nan if r.get(key) is None else r[key] for r in history]
        ax.plot(epochs, values, marker="o", markersize=3, label=label)
    val = np.array([np.nan if r.get("val_loss") is None else r["val_loss"] for r in history], dtype=float)
    if np.isfinite(val).any():
        best = int(np.nanargmin(val))
        ax.axvline(epochs[best], color="grey", linestyle=":", label=f"best: epoch {epochs[best]}, {val[best]:.2f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("NLL (nats per step)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return figure


def plot_continuation(
    prompt_ms: np.ndarray,
    prompt: dict[str, np.ndarray],
    predicted_ms: np.ndarray,
    predicted: dict[str, np.ndarray],
    *,
    title: str = "",
    real_ms: np.ndarray | None = None,
    real: dict[str, np.ndarray] | None = None,
) -> Figure:
    """The paper's Figs 3-12: each feature's prompt, then the prediction, on one time axis (ms).

    ``predicted_ms`` are times from the start of the prediction; they are drawn after the last
    prompt frame. ``real`` (optional) is what actually followed the prompt, for comparison.
    """
    names = list(predicted)
    figure = Figure(figsize=(10, 2.2 * len(names) + 0.6), layout="constrained")
    axes = figure.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    offset = float(prompt_ms[-1]) if prompt_ms.size else 0.0
    for ax, name in zip(axes, names):
        ax.plot(prompt_ms, prompt[name], color="tab:blue", linewidth=1.0, label="input (prompt)")
        if real is not None and real_ms is not None:
            ax.plot(real_ms, real[name], color="tab:grey", linewidth=0.8, alpha=0.7, label="what followed")
        ax.plot(offset + predicted_ms, predicted[name], color="tab:orange", linewidth=1.0, label="prediction")
        ax.axvline(offset, color="black", linewidth=0.6, linestyle=":")
        ax.set_title(name, fontsize="small", loc="left")
        ax.grid(True, alpha=0.3)
    axes[0].legend(loc="upper right", fontsize="x-small", ncol=3)
    axes[-1].set_xlabel("time (ms)")
    if title:
        figure.suptitle(title)
    return figure


def plot_answer_band(
    times_s: np.ndarray, answers: np.ndarray, real_s: np.ndarray, real: np.ndarray, names: tuple[str, ...], shown: list[str]
) -> Figure:
    """For one prompt: what really followed and the band (min-max, median) of the model's answers.

    ``answers`` (M, N, F) at ``times_s`` (N,) and ``real`` (n, F) at ``real_s`` (n,), seconds after the
    prompt, features normalised to [0, 1].
    """
    figure = Figure(figsize=(10, 2.2 * len(shown) + 0.6), layout="constrained")
    axes = figure.subplots(len(shown), 1, sharex=True, squeeze=False)[:, 0]
    t, r = times_s * 1000.0, real_s * 1000.0
    for ax, name in zip(axes, shown):
        f = names.index(name)
        ax.fill_between(
            t,
            answers[:, :, f].min(axis=0),
            answers[:, :, f].max(axis=0),
            color="tab:orange",
            alpha=0.3,
            step="post",
            label="model: range of answers",
        )
        ax.step(t, answers[0, :, f], where="post", color="tab:orange", linewidth=1.0, label="model: one answer")
        ax.step(r, real[:, f], where="post", color="black", linewidth=1.0, label="what followed")
        ax.set_title(f"{name} (normalised)", fontsize="small", loc="left")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(True, alpha=0.3)
    axes[0].legend(loc="upper right", fontsize="x-small", ncol=3)
    axes[-1].set_xlabel("time after the prompt (ms)")
    return figure


def plot_measures(free_running: dict[str, dict]) -> Figure:
    """One panel per measure: each system's value with its 95 % bootstrap interval (lower is better,
    but for conditioning, where higher means the answer depends more on its prompt)."""
    systems = list(free_running)
    first = free_running[systems[0]]
    panels = [(f"energy_score:{h}", f"energy score at {h} s") for h in first["energy_score"]]
    panels += [
        ("realism_mmd2", "realism: MMD² to held-out windows"),
        ("steps_mmd2", "dynamics: MMD² of step-size profiles"),
        ("acf_mmd2", "dynamics: MMD² of autocorrelation profiles"),
        ("conditioning", "conditioning skill (higher: follows its prompt)"),
    ]
    columns = 4
    rows = -(-len(panels) // columns)
    figure = Figure(figsize=(4 * columns, 3.2 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, (key, title) in zip(axes, panels):
        for i, system in enumerate(systems):
            entry = free_running[system]
            if key.startswith("energy_score:"):
                value = entry["energy_score"].get(key.split(":", 1)[1])
                mean = None if value is None else value["mean"]
            elif key == "conditioning":
                value = entry["conditioning"]
                mean = value["skill"]
            else:
                value = entry.get(key)
                mean = None if value is None else value["mean"]
            if mean is None or not np.isfinite(mean):
                continue
            low, high = value["low"], value["high"]
            error = [[max(mean - low, 0.0)], [max(high - mean, 0.0)]] if np.isfinite(low) and np.isfinite(high) else None
            ax.bar(i, mean, color=f"C{i}", yerr=error, capsize=3)
        ax.set_xticks(range(len(systems)), systems, rotation=60, fontsize="x-small")
        ax.set_title(title, fontsize="small")
        ax.grid(True, axis="y", alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    return figure
