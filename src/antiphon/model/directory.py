"""The model folder: everything needed to rebuild and use a trained model, and nothing pickled.

| file | content |
|---|---|
| ``model.safetensors`` | the weights kept (the best epoch: ``training.select_by``), torch parameter names |
| ``model.json`` | format, versions, features, timing, resolution, scaler, analysis, resolved settings, result |
| ``config.toml`` | the resolved ``[model]``, ``[training]`` and ``[corpus]`` settings |

The ``corpus`` settings are those the corpus was built with (its features are the model's), and
``analysis`` the analysis settings its frames came from (convention, n_fft, hop_length,
sample_rate_hz, ...; null where the corpus does not record them): what live input must match.
| ``history.json``, ``history.csv`` | one record per epoch |
| ``checkpoint.safetensors`` | the full training state of the last epoch (for ``--resume``) |
| ``training.png`` | the loss curves |

``model.json`` is written last: a folder without it is an unfinished run.
"""

from __future__ import annotations

import csv
import io
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from antiphon import __version__
from antiphon.atomic import write_json_atomic, write_text_atomic
from antiphon.config import Config, CorpusConfig, ModelConfig, TrainingConfig, from_dict, to_dict, to_toml
from antiphon.data.description import read_description
from antiphon.data.scaler import MinMaxScaler
from antiphon.errors import AntiphonError, ModelError

MODEL_FORMAT = "antiphon-model"
MODEL_FORMAT_VERSION = (
    3  # 3: model.residual, skip, level_steps, analysis; 2: features without dt, "timing" and "resolution" (1: dt_s always first)
)
#: the model settings a folder was trained with where its model.json is silent: older than format 3, the paper's
#: MDRNN; older than model.activity_steps, no activity input; older than model.onset_clock, no clock
UNSAID_MODEL_SETTINGS = {"residual": False, "skip": False, "level_steps": 0, "activity_steps": 0, "onset_clock": 0}
WEIGHTS_FILE = "model.safetensors"
META_FILE = "model.json"
CHECKPOINT_FILE = "checkpoint.safetensors"


@dataclass(frozen=True)
class Timing:
    """How the model treats time: ``dt_modelled`` (dt is its first dimension) or frames at ``hop_s``.

    ``dt_min_s`` and ``dt_max_s`` are the range of the training time steps: a sampled dt never
    leaves it. All in seconds.
    """

    dt_modelled: bool
    hop_s: float
    dt_min_s: float
    dt_max_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"dt_modelled": self.dt_modelled, "hop_s": self.hop_s, "dt_min_s": self.dt_min_s, "dt_max_s": self.dt_max_s}


@dataclass(frozen=True)
class ModelInfo:
    """What ``model.json`` says: features, timing, resolution, scaler, settings, training result.

    ``resolution`` (D,) is the dequantisation width of each model column (:attr:`columns`) at
    scale 1: normalised units for features, seconds for dt. ``analysis`` is the analysis settings
    of the training frames (:attr:`antiphon.data.corpus.Corpus.analysis`), None where unknown.
    ``key_profiles`` (S, 12) are the training songs' pitch-class profiles (the mean chroma of their
    sounding frames; :mod:`antiphon.model.key`), None for a model without the chroma or one trained
    before they were kept.
    """

    folder: Path
    feature_names: tuple[str, ...]
    timing: Timing
    resolution: np.ndarray
    scaler: MinMaxScaler
    model: ModelConfig
    training: TrainingConfig
    corpus: CorpusConfig
    result: dict[str, Any]
    analysis: dict[str, Any] | None = None
    key_profiles: np.ndarray | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The model's dimensions: ``dt_s`` first when modelled, then the features."""
        return ("dt_s", *self.feature_names) if self.timing.dt_modelled else self.feature_names


def versions() -> dict[str, str]:
    import torch

    return {"antiphon": __version__, "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}


def write_model_files(
    folder: Path,
    *,
    weights: Mapping[str, Any],
    features: Sequence[str],
    timing: Timing,
    resolution: np.ndarray,
    scaler: MinMaxScaler,
    config: Config,
    history: Sequence[Mapping[str, Any]],
    result: Mapping[str, Any],
    analysis: Mapping[str, Any] | None = None,
    key_profiles: np.ndarray | None = None,
) -> None:
    """Write every file of the model folder but the checkpoint, each atomically, ``model.json`` last.

    ``config.corpus`` must be the settings the corpus was built with, ``analysis`` its frames'
    analysis settings (see the module docstring), ``key_profiles`` (S, 12) the training songs' pitch-class profiles
    (:attr:`ModelInfo.key_profiles`)."""
    from safetensors.torch import save_file

    from antiphon.atomic import atomic_path

    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file({k: v.detach().contiguous() for k, v in weights.items()}, str(tmp), metadata={"format": MODEL_FORMAT})
    write_text_atomic(folder / "config.toml", to_toml(config, sections=("corpus", "model", "training")))
    write_history(folder, history)
    meta = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "versions": versions(),
        "features": list(features),
        "timing": timing.to_dict(),
        "resolution": [float(w) for w in resolution],
        "scaler": scaler.to_dict(),
        "analysis": None if analysis is None else dict(analysis),
        "model": to_dict(config.model),
        "training": to_dict(config.training),
        "corpus": to_dict(config.corpus),
        "result": dict(result),
        "key_profiles": None if key_profiles is None else np.asarray(key_profiles, dtype=np.float64).tolist(),
    }
    write_json_atomic(folder / META_FILE, meta)


def write_history(folder: Path, history: Sequence[Mapping[str, Any]]) -> None:
    """``history.json`` and ``history.csv``: one record per epoch (a non-finite loss is written as null)."""
    write_json_atomic(folder / "history.json", list(history))
    buffer = io.StringIO()
    if history:
        writer = csv.DictWriter(buffer, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    write_text_atomic(folder / "history.csv", buffer.getvalue())


def read_model_info(folder: Path | str) -> ModelInfo:
    """Read and check ``model.json``.

    Raises:
        ModelError: not a folder, ``model.json`` or the weights missing, or ``model.json`` corrupt.
    """
    folder = Path(folder)
    meta_path, meta = read_description(
        folder, META_FILE, [WEIGHTS_FILE], MODEL_FORMAT, ModelError, "model", "train one with `antiphon train`"
    )
    try:
        features = tuple(str(f) for f in meta["features"])
        if "timing" in meta:
            timing = Timing(**{k: (bool(v) if k == "dt_modelled" else float(v)) for k, v in meta["timing"].items()})
            resolution = np.asarray(meta["resolution"], dtype=np.float64)
        else:  # format 1: dt always modelled and listed first, no dequantisation
            dt = meta.get("result", {}).get("dt_s", {})
            timing = Timing(True, float(dt.get("median", 0.01)), float(dt.get("min", 0.0)), float(dt.get("max", 1.0)))
            features = features[1:] if features[:1] == ("dt_s",) else features
            resolution = np.zeros(len(features) + 1)
        info = ModelInfo(
            folder=folder,
            feature_names=features,
            timing=timing,
            resolution=resolution,
            scaler=MinMaxScaler.from_dict(meta["scaler"], str(meta_path)),
            model=from_dict(ModelConfig, {**UNSAID_MODEL_SETTINGS, **meta["model"]}, str(meta_path)),
            training=from_dict(TrainingConfig, meta["training"], str(meta_path)),
            corpus=from_dict(CorpusConfig, meta["corpus"], str(meta_path)),
            result=dict(meta.get("result", {})),
            analysis=dict(meta["analysis"]) if isinstance(meta.get("analysis"), dict) else None,
            key_profiles=None if meta.get("key_profiles") is None else np.asarray(meta["key_profiles"], dtype=np.float64),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{meta_path}: incomplete ({exc})") from exc
    except AntiphonError as exc:
        raise ModelError(str(exc)) from exc
    if info.scaler.names != features or "dt_s" in features or info.resolution.shape != (len(info.columns),):
        raise ModelError(f"{meta_path}: features, scaler and resolution do not match")
    if info.key_profiles is not None and (info.key_profiles.ndim != 2 or info.key_profiles.shape[1] != 12):
        raise ModelError(f"{meta_path}: key_profiles must be a list of 12-value profiles, got shape {info.key_profiles.shape}")
    return info


def read_weights(folder: Path | str, framework: str = "numpy") -> tuple[ModelInfo, dict[str, Any]]:
    """``model.json`` and the weights, as NumPy arrays (``"numpy"``: no torch needed) or torch tensors.

    Raises:
        ModelError: as :func:`read_model_info`, or a corrupt weights file.
    """
    import importlib

    from safetensors import SafetensorError

    load_file = importlib.import_module(f"safetensors.{framework}").load_file
    info = read_model_info(folder)
    path = info.folder / WEIGHTS_FILE
    try:
        return info, load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{path}: corrupt weights file ({exc})") from exc


@dataclass(frozen=True)
class TrainedModel:
    """A model folder read once: what ``model.json`` says and the torch network with the kept weights
    (eval mode). Pass it to everything that measures or answers with the model, rather than the
    folder: evaluate, the study's sharpness and prediction example, the engine."""

    info: ModelInfo
    network: Any  # antiphon.model.mdrnn.MDRNN (torch is imported only where a network is loaded)

    def engine(self):
        """A fresh NumPy :class:`~antiphon.model.engine.Engine` on the network's weights (no file read)."""
        from antiphon.model.engine import Engine

        return Engine(self.info, {name: value.detach().cpu().numpy() for name, value in self.network.state_dict().items()})


def load_model(folder: Path | str) -> TrainedModel:
    """The trained MDRNN (eval mode) with its :class:`ModelInfo`.

    Raises:
        ModelError: as :func:`read_weights`, or weights that do not fit the model.
    """
    from antiphon.model.mdrnn import MDRNN

    info, weights = read_weights(folder, "torch")
    model = MDRNN(len(info.columns), info.model, info.training.scale_factor)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise ModelError(
            f"{info.folder / WEIGHTS_FILE}: weights do not fit the model in {META_FILE} ({first[0] if first else exc})"
        ) from exc
    return TrainedModel(info, model.eval())
