"""The optimizer study's figures, drawn from the report's plain data (no model needed).

Every builder returns a matplotlib Figure for :func:`antiphon.render.plots.save_figure`. Losses
are in nats per step (the runs' own units); configurations keep one colour across figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure


def colours(names: list[str]) -> dict[str, Any]:
    """One colour per configuration, the same in every figure (tab10, or tab20 beyond ten)."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


def plot_validation_curves(curves: dict[str, list[list[float | None]]]) -> Figure:
    """Validation loss per epoch for each configuration: the median over seeds and the min-max band.

    ``curves[name]`` holds one list of per-epoch losses per seed (None: diverged or not run).
    """
    figure = Figure(figsize=(11, 6), layout="constrained")
    ax = figure.subplots()
    colour = colours(list(curves))
    for name, seeds in curves.items():
        if not seeds:
            continue
        length = max(len(s) for s in seeds)
        table = np.full((len(seeds), length), np.nan)
        for i, values in enumerate(seeds):
            table[i, : len(values)] = [np.nan if v is None else v for v in values]
        epochs = np.arange(1, length + 1)
        with np.errstate(all="ignore"):
            valid = np.isfinite(table).any(axis=0)
            if not valid.any():
                continue
            low, high = np.nanmin(table[:, valid], axis=0), np.nanmax(table[:, valid], axis=0)
            median = np.nanmedian(table[:, valid], axis=0)
        ax.fill_between(epochs[valid], low, high, color=colour[name], alpha=0.18, linewidth=0)
        ax.plot(epochs[valid], median, color=colour[name], linewidth=1.2, label=f"{name} ({len(seeds)} seeds)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation NLL (nats per step)")
    ax.set_title("Validation loss: median over seeds, band = lowest to highest seed", loc="left", fontsize="medium")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="x-small", ncol=2, loc="upper right")
    else:
        ax.text(0.5, 0.5, "no run has finished yet", transform=ax.transAxes, ha="center")
    return figure


def plot_metric_comparison(configurations: list[dict[str, Any]], answer_label: str = "energy score at 1 s") -> Figure:
    """Per configuration: minimum validation loss (with the paper's number), test NLL and the
    energy score of the answers (``answer_label`` names its lead time), each as the mean with its
    95 % interval and one dot per seed."""
    panels = [
        ("min_val_loss", "minimum validation NLL (nats/step)"),
        ("test_nll", "test NLL at the best epoch (nats/step)"),
        ("energy_score", f"{answer_label} (lower is better)"),
    ]
    names = [c["name"] for c in configurations]
    colour = colours(names)
    figure = Figure(figsize=(13, 0.45 * len(names) + 2.2), layout="constrained")
    axes = figure.subplots(1, len(panels), sharey=True)
    y = np.arange(len(names))[::-1]
    for ax, (key, label) in zip(axes, panels):
        for row, c in zip(y, configurations):
            summary = c.get(key)
            if not summary or summary.get("mean") is None:
                continue
            values = [v for v in summary["values"] if v is not None]
            ax.scatter(values, [row] * len(values), s=12, color=colour[c["name"]], alpha=0.6, zorder=2)
            ax.errorbar(
                summary["mean"],
                row,
                xerr=[[summary["mean"] - summary["low"]], [summary["high"] - summary["mean"]]],
                fmt="s",
                color="black",
                markersize=4,
                capsize=3,
                zorder=3,
            )
            if key == "min_val_loss" and c.get("paper") and c["paper"].get("min_val_loss") is not None:
                ax.scatter(
                    [c["paper"]["min_val_loss"]], [row], marker="x", color="tab:red", s=40, zorder=4, label="paper" if row == y[0] else None
                )
        ax.set_xlabel(label)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].set_yticks(y, names, fontsize="small")
    if any(c.get("paper") for c in configurations):
        handles, _labels = axes[0].get_legend_handles_labels()
        if handles:
            axes[0].legend(handles, ["the paper (Keras, its own data)"], fontsize="x-small", loc="lower right")
    figure.suptitle("Configurations compared: square = mean with 95 % t-interval, dots = seeds", fontsize="medium")
    return figure


def plot_loss_vs_answers(runs: list[dict[str, Any]], answer_label: str = "energy score at 1 s") -> Figure:
    """Does a lower loss give better answers (a lower energy score)? One dot per run."""
    figure = Figure(figsize=(11, 4.8), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    names = sorted({r["configuration"] for r in runs}, key=[r["configuration"] for r in runs].index)
    colour = colours(names)
    for ax, key, label in ((axes[0], "best_val_loss", "minimum validation NLL"), (axes[1], "test_nll", "test NLL")):
        for name in names:
            points = [
                (r[key], r["energy_score"])
                for r in runs
                if r["configuration"] == name and r.get(key) is not None and r.get("energy_score") is not None
            ]
            if points:
                ax.scatter(*zip(*points), color=colour[name], s=24, label=name)
        ax.set_xlabel(f"{label} (nats/step; lower = better fit)")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(f"{answer_label} of the answers (lower = better)")
    axes[1].legend(fontsize="x-small", loc="best")
    figure.suptitle("Lowest loss vs best predictions (one dot per run)", fontsize="medium")
    return figure


def plot_sharpness(runs: list[dict[str, Any]], epsilon: str | None) -> Figure:
    """Sharpness against the generalisation gap, raw and with the 1/sigma^2 confound controlled
    (``runs`` as :func:`antiphon.study.report.collect_runs` gives them, each with its SharpnessSet)."""
    from antiphon.study.measure import EIGENVALUE_MEASURES

    panels = [
        *EIGENVALUE_MEASURES.items(),
        ("epsilon", f"epsilon-sharpness (epsilon {epsilon})" if epsilon else "epsilon-sharpness"),
        ("mean_log_sigma", "mean predicted log sigma"),
    ]
    figure = Figure(figsize=(16, 8), layout="constrained")
    axes = figure.subplots(2, 3).ravel()
    names = sorted({r["configuration"] for r in runs}, key=[r["configuration"] for r in runs].index)
    colour = colours(names)
    for ax, (key, label) in zip(axes, panels):
        for name in names:
            points = []
            for r in runs:
                if r["configuration"] != name or not r.get("sharpness"):
                    continue
                s = r["sharpness"]
                if key == "epsilon":
                    value = s.epsilon_delta(epsilon) if epsilon else None
                else:
                    value = s.eigenvalues[key] if key in s.eigenvalues else getattr(s, key)
                if value is not None and s.gap is not None:
                    points.append((value, s.gap))
            if points:
                ax.scatter(*zip(*points), color=colour[name], s=24, label=name)
        if key.startswith("lambda"):
            ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlabel(label)
        ax.set_ylabel("generalisation gap: validation - training NLL")
        ax.grid(True, alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize="x-small", loc="best")
    figure.suptitle("Sharpness of each minimum vs how much worse it does on unseen windows", fontsize="medium")
    return figure


def plot_slices(slices: dict[str, dict[str, Any]]) -> Figure:
    """1-D filter-normalised loss slices around each configuration's minimum (first seed),
    as the rise above the loss at the minimum."""
    figure = Figure(figsize=(10, 5), layout="constrained")
    ax = figure.subplots()
    colour = colours(list(slices))
    for name, data in slices.items():
        alpha = np.asarray(data["alpha"])
        centre = int(np.argmin(np.abs(alpha)))
        for i, values in enumerate(data["loss"]):
            v = np.array([np.nan if x is None else x for x in values], dtype=float)
            ax.plot(alpha, v - v[centre], color=colour[name], linewidth=1.0, alpha=0.9 if i == 0 else 0.5, label=name if i == 0 else None)
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("alpha (step along a filter-normalised random direction)")
    ax.set_ylabel("loss rise above the minimum (nats/step)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small", ncol=2)
    return figure


def plot_budget(families: dict[str, dict[str, Any]]) -> Figure:
    """Best validation loss found so far against the number of trials, per optimizer family."""
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    ax = figure.subplots()
    for name, family in families.items():
        curve = [np.nan if v is None else v for v in family["best_so_far"]]
        ax.step(np.arange(1, len(curve) + 1), curve, where="post", label=name)
    ax.set_xlabel("trials (equal budget per family)")
    ax.set_ylabel("best validation NLL so far (nats/step)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return figure
