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
from antiphon.features import CHROMA_NAMES, CHROMA_ORDER

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
    image = ax.imshow(
        chroma.T, aspect="auto", origin="lower", interpolation="nearest", extent=(t[0], end, -0.5, 11.5), cmap="magma"
    )
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


def plot_evaluation_bands(
    grid_s: np.ndarray, real: np.ndarray, continuations: np.ndarray, names: tuple[str, ...], shown: list[str]
) -> Figure:
    """For one prompt: the real continuation and the band (min-max, median) of the model's continuations.

    ``real`` (G, F) and ``continuations`` (C, G, F) are normalised values on the grid ``grid_s`` (s).
    """
    figure = Figure(figsize=(10, 2.2 * len(shown) + 0.6), layout="constrained")
    axes = figure.subplots(len(shown), 1, sharex=True, squeeze=False)[:, 0]
    t = grid_s * 1000.0
    for ax, name in zip(axes, shown):
        f = names.index(name)
        ax.fill_between(t, continuations[:, :, f].min(axis=0), continuations[:, :, f].max(axis=0), color="tab:orange", alpha=0.3, step="post", label="model: range of continuations")
        ax.step(t, np.median(continuations[:, :, f], axis=0), where="post", color="tab:orange", linewidth=1.0, label="model: median")
        ax.step(t, real[:, f], where="post", color="black", linewidth=1.0, label="what followed")
        ax.set_title(f"{name} (normalised)", fontsize="small", loc="left")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(True, alpha=0.3)
    axes[0].legend(loc="upper right", fontsize="x-small", ncol=3)
    axes[-1].set_xlabel("time after the prompt (ms)")
    return figure


def plot_system_scores(free_running: dict[str, dict]) -> Figure:
    """Bars of the headline score and its components for the model and each baseline."""
    systems = list(free_running)
    parts = ["score_percent", "distribution", "shape", "chroma", "timing", "originality"]
    parts = [p for p in parts if all(p in free_running[s] for s in systems)]
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 3]})
    scores = [free_running[s]["score_percent"] for s in systems]
    axes[0].bar(systems, scores, color=[f"C{i}" for i in range(len(systems))])  # the same colour per system in both panels
    axes[0].set_ylabel("resemblance score (%)")
    axes[0].tick_params(axis="x", rotation=45)
    width = 0.8 / len(systems)
    for i, system in enumerate(systems):
        values = [free_running[system][p] for p in parts[1:]]
        axes[1].bar(np.arange(len(parts) - 1) + i * width, values, width, label=system)
    axes[1].set_xticks(np.arange(len(parts) - 1) + 0.4 - width / 2, parts[1:])
    axes[1].set_ylabel("component (1 = best)")
    axes[1].legend(fontsize="x-small")
    for ax in axes:
        ax.grid(True, axis="y", alpha=0.3)
    return figure
