"""What the study measures on each trained model besides its training: sharpness of the minimum
and an input-then-prediction example.

Sharpness (:func:`sharpness`) is measured on fixed windows, evenly spaced over the training split
(and as many validation windows, for the generalisation gap), in float64 with oneDNN off: double
backward through the LSTM is exact there and faster (docs/study.md, "Sharpness of the minimum"). The
1/sigma^2 confound is controlled per dimension: the pi-weighted log sigma of every dimension is
reported, and the smallest of them (the dimension whose curvature dominates the top eigenvalue)
is held fixed in the report's partial correlations; the eigenvalues are measured again with
sigma and pi frozen at their values at the minimum, so only the geometry of the means moves (its
scale is still 1/sigma*^2); and once more on a loss with no sigma at all, half the squared error
of the mixture mean. A corpus at a fixed hop has no dt dimension, so every dimension measured is
a feature (a constant dt once held 99.9 % of the top eigenvector). Both ends of each spectrum
come from Lanczos with their residuals (:func:`antiphon.study.sharpness.extreme_eigenvalues`).

Units: losses in nats per step (summed over dimensions, data x ``scale_factor``, as training
reports them); eigenvalues in nats per unit parameter squared.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from antiphon.config import EvaluateConfig
from antiphon.data.corpus import Corpus
from antiphon.model.directory import TrainedModel
from antiphon.study.spec import MeasureSettings

#: the top-eigenvalue measures of a sharpness set, with what each one is (report, figures)
EIGENVALUE_MEASURES: dict[str, str] = {
    "lambda_max": "top Hessian eigenvalue (NLL)",
    "lambda_max_fixed_sigma": "top eigenvalue, sigma and pi frozen",
    "lambda_max_mean_mse": "top eigenvalue, squared error of the mixture mean (no sigma)",
}
#: the numbers a study summarises beside the sharpness measures: the confound, the gap, the gradient
CONTEXT_MEASURES = ("mean_log_sigma", "min_log_sigma", "gap", "gradient_norm")


@dataclass(frozen=True)
class SharpnessSet:
    """What :func:`sharpness` measures on one trained model: the record a run's ``result.json``
    keeps under ``"sharpness"`` (:meth:`to_dict` writes it, :meth:`from_dict` reads it back; a
    field older results lack is None).

    Losses in nats per step; ``gap`` = validation - training loss on the measured windows;
    ``eigenvalues`` the signed top eigenvalue of each of :data:`EIGENVALUE_MEASURES`, ``ends``
    both ends of each spectrum with residuals and products used; ``epsilon_sharpness`` {epsilon:
    {delta, relative}}; ``slices`` {"alpha": [...], "loss": [[...] per direction]}.
    """

    windows: int
    train_loss: float
    validation_loss: float
    gap: float
    mean_log_sigma: float
    min_log_sigma: float | None
    log_sigma_per_dimension: tuple[float, ...]
    gradient_norm: float
    weight_norm: float | None
    eigenvalues: dict[str, float | None]
    ends: dict[str, dict[str, Any]]
    epsilon_sharpness: dict[str, dict[str, float]]
    slices: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout: the eigenvalues at the top level, each beside its ``<name>_ends``."""
        eigen: dict[str, Any] = {}
        for name, value in self.eigenvalues.items():
            eigen[name] = value
            if name in self.ends:
                eigen[f"{name}_ends"] = self.ends[name]
        return {
            "windows": self.windows,
            "train_loss": self.train_loss,
            "validation_loss": self.validation_loss,
            "gap": self.gap,
            "mean_log_sigma": self.mean_log_sigma,
            "min_log_sigma": self.min_log_sigma,
            "log_sigma_per_dimension": list(self.log_sigma_per_dimension),
            "gradient_norm": self.gradient_norm,
            "weight_norm": self.weight_norm,
            **eigen,
            "epsilon_sharpness": self.epsilon_sharpness,
            "slices": self.slices,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SharpnessSet:
        return cls(
            windows=int(data["windows"]),
            train_loss=data["train_loss"],
            validation_loss=data["validation_loss"],
            gap=data["gap"],
            mean_log_sigma=data["mean_log_sigma"],
            min_log_sigma=data.get("min_log_sigma"),
            log_sigma_per_dimension=tuple(data.get("log_sigma_per_dimension", ())),
            gradient_norm=data["gradient_norm"],
            weight_norm=data.get("weight_norm"),
            eigenvalues={name: data.get(name) for name in EIGENVALUE_MEASURES},
            ends={name: data[f"{name}_ends"] for name in EIGENVALUE_MEASURES if f"{name}_ends" in data},
            epsilon_sharpness=dict(data.get("epsilon_sharpness", {})),
            slices=dict(data.get("slices", {})),
        )

    def epsilon_delta(self, epsilon: str) -> float | None:
        """The epsilon-sharpness at box size ``epsilon`` (as written, e.g. "0.001"), None if not measured."""
        return self.epsilon_sharpness.get(epsilon, {}).get("delta")

    def sharpness_measures(self, epsilons: Sequence[str]) -> dict[str, float | None]:
        """Every measure of how sharp the minimum is: the eigenvalues and ``epsilon_sharpness_<e>``
        for each of ``epsilons`` (what the report correlates with the gap)."""
        return {**self.eigenvalues, **{f"epsilon_sharpness_{e}": self.epsilon_delta(e) for e in epsilons}}

    def summarised(self, epsilons: Sequence[str]) -> dict[str, float | None]:
        """What a study summarises per configuration (keys: :func:`summarised_names`)."""
        return {**self.sharpness_measures(epsilons), **{name: getattr(self, name) for name in CONTEXT_MEASURES}}


def summarised_names(epsilons: Sequence[str]) -> list[str]:
    """The keys of :meth:`SharpnessSet.summarised`, in order."""
    return [*EIGENVALUE_MEASURES, *(f"epsilon_sharpness_{e}" for e in epsilons), *CONTEXT_MEASURES]


def evenly_spaced(n_available: int, n_wanted: int) -> np.ndarray:
    """``min(n_wanted, n_available)`` indices spread evenly over ``range(n_available)`` (the same for every run)."""
    return np.unique(np.linspace(0, n_available - 1, min(n_wanted, n_available)).round().astype(np.int64))


def sharpness(trained: TrainedModel, corpus: Corpus, settings: MeasureSettings) -> SharpnessSet:
    """The sharpness set of one trained model (its best-validation weights; measured on a float64
    copy, ``trained`` is left as it is).

    Returns the :class:`SharpnessSet`: losses on the measured windows and their gap, the
    pi-weighted log sigma of every dimension (the smallest dominates the curvature), gradient and
    weight norms, the top eigenvalue of each of :data:`EIGENVALUE_MEASURES` with both ends of its
    spectrum, the epsilon-sharpness at each box size, and the loss slices.
    """
    import copy

    import torch

    from antiphon.training.windows import make_windows

    info = trained.info
    model = copy.deepcopy(trained.network).double()
    scale, length = info.training.scale_factor, info.training.sequence_length
    batches = {}
    for split in ("train", "validation"):
        seen = (info.model.level_steps, info.model.activity_steps, info.model.onset_clock)
        windows = make_windows(corpus.segments(split, scale), length, 1, *seen)
        picked = torch.from_numpy(evenly_spaced(len(windows), settings.windows))
        x, y = windows.batch(picked)
        batches[split] = (x.double(), y.double())
    x, y = batches["train"]
    params = [p for p in model.parameters() if p.requires_grad]
    with warnings.catch_warnings():  # torch warns about Intel-GPU TF32 whenever the oneDNN flags change
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        return _measure(model, params, x, y, batches["validation"], settings)


def _measure(model: Any, params: list[Any], x: Any, y: Any, validation: tuple[Any, Any], settings: MeasureSettings) -> SharpnessSet:
    """The measures of :func:`sharpness` on float64 inputs and targets ``x``, ``y`` (B, T, D)."""
    import torch

    from antiphon.model.mdn import mdn_nll
    from antiphon.study import sharpness as measures

    def loss() -> torch.Tensor:
        (mu, sigma, logits), _ = model(x)
        return mdn_nll(mu, sigma, logits, y, model.tails)

    with torch.backends.mkldnn.flags(enabled=False):
        with torch.no_grad():
            (_, sigma_star, logits_star), _ = model(x)
            weights = torch.softmax(logits_star, dim=-1).unsqueeze(-1)  # (B, T, K, 1)
            log_sigma = (weights * torch.log(sigma_star)).sum(-2).mean(dim=(0, 1))  # (D,): pi-weighted, per dimension
            train_loss = float(loss())
            xv, yv = validation
            (mu_v, sigma_v, logits_v), _ = model(xv)
            validation_loss = float(mdn_nll(mu_v, sigma_v, logits_v, yv, model.tails))

        def fixed_sigma_loss() -> torch.Tensor:
            (mu, _, _), _ = model(x)
            return mdn_nll(mu, sigma_star, logits_star, y, model.tails)

        def mean_squared_error() -> torch.Tensor:  # of the mixture mean: no sigma anywhere
            (mu, _, logits), _ = model(x)
            mean = (torch.softmax(logits, dim=-1).unsqueeze(-1) * mu).sum(-2)
            return 0.5 * ((mean - y) ** 2).sum(-1).mean()

        gradients = torch.autograd.grad(loss(), params)
        gradient_norm = float(torch.sqrt(sum((g * g).sum() for g in gradients)))
        functions = {"lambda_max": loss, "lambda_max_fixed_sigma": fixed_sigma_loss, "lambda_max_mean_mse": mean_squared_error}
        spectra = {
            name: measures.extreme_eigenvalues(
                functions[name], params, tolerance=settings.tolerance, max_restarts=settings.lanczos_restarts
            )
            for name in EIGENVALUE_MEASURES
        }
        epsilon = {
            f"{e:g}": {
                k: v for k, v in measures.epsilon_sharpness(loss, params, epsilon=e, steps=settings.ascent_steps).items() if k != "loss"
            }
            for e in settings.epsilons
        }
        alphas = np.linspace(-settings.slice_span, settings.slice_span, settings.slice_points).tolist()
        slices = [
            measures.loss_slice(loss, params, measures.filter_normalised_direction(params, seed=d), alphas)
            for d in range(settings.slice_directions)
        ]
    return SharpnessSet(
        windows=int(x.shape[0]),
        train_loss=train_loss,
        validation_loss=validation_loss,
        gap=validation_loss - train_loss,
        mean_log_sigma=float(log_sigma.mean()),
        min_log_sigma=float(log_sigma.min()),
        log_sigma_per_dimension=tuple(log_sigma.tolist()),
        gradient_norm=gradient_norm,
        weight_norm=float(torch.sqrt(sum((p.detach() ** 2).sum() for p in params))),
        eigenvalues={name: spectrum.top for name, spectrum in spectra.items()},
        ends={
            name: {
                "largest": spectrum.largest,
                "smallest": spectrum.smallest,
                "residual_largest": spectrum.residual_largest,
                "residual_smallest": spectrum.residual_smallest,
                "hessian_vector_products": spectrum.products,
            }
            for name, spectrum in spectra.items()
        },
        epsilon_sharpness=epsilon,
        slices={"alpha": alphas, "loss": slices},  # non-finite values become null when the result is written
    )


def prediction_example(trained: TrainedModel, corpus: Corpus, config: EvaluateConfig, features: tuple[str, ...]) -> dict[str, Any]:
    """The paper's figure for one model: the first evaluation prompt of the test split, one answer
    (sampled with ``config.seed``) and what really followed, for ``features`` (those the model has;
    its first four if none), in instrument units with times in ms."""
    from antiphon.evaluation.evaluate import draw_prompts, features_of, times_of

    engine = trained.engine()
    engine.use_temperatures(config)
    info = engine.info
    names, scaler = info.feature_names, info.scaler
    dt_modelled, hop = info.timing.dt_modelled, info.timing.hop_s
    shown = [f for f in features if f in names] or list(names[:4])
    segments = [rows.astype(np.float64) for rows in corpus.segments("test", 1.0, scaler.linear)]
    prompt = draw_prompts(segments, config, dt_modelled, hop)[0]
    engine.reset()
    engine.feed_normalised(prompt.rows)
    answer_s, answer = engine.continue_normalised(config.horizon_s, np.random.default_rng(config.seed))

    def columns(times_s: np.ndarray, values: np.ndarray) -> tuple[list[float], dict[str, list[float]]]:
        unscaled = scaler.linear.inverse(values)
        return (times_s * 1000.0).tolist(), {name: unscaled[:, names.index(name)].tolist() for name in shown}

    prompt_s = times_of(prompt.rows, dt_modelled, hop)
    prompt_ms, prompt_values = columns(prompt_s - prompt_s[-1], features_of(prompt.rows, dt_modelled))
    predicted_ms, predicted = columns(answer_s, answer)
    real_ms, real = columns(prompt.future_s, prompt.future)
    return {
        "features": shown,
        "prompt_ms": prompt_ms,
        "prompt": prompt_values,
        "predicted_ms": predicted_ms,
        "predicted": predicted,
        "real_ms": real_ms,
        "real": real,
    }
