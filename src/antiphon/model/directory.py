"""The model folder: everything needed to rebuild and use a trained model, and nothing pickled.

| file | content |
|---|---|
| ``model.safetensors`` | the weights kept (best validation loss), torch parameter names |
| ``model.json`` | format, versions, features (``dt_s`` first), scaler, resolved settings, result |
| ``config.toml`` | the resolved ``[model]``, ``[training]`` and ``[corpus]`` settings |
| ``history.json``, ``history.csv`` | one record per epoch |
| ``checkpoint.safetensors`` | the full training state of the last epoch (for ``--resume``) |
| ``training.png`` | the loss curves |

``model.json`` is written last: a folder without it is an unfinished run.
"""

from __future__ import annotations

import csv
import io
import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from antiphon import __version__
from antiphon.atomic import write_text_atomic
from antiphon.config import Config, CorpusConfig, ModelConfig, TrainingConfig, from_dict, to_dict, to_toml
from antiphon.data.description import read_description
from antiphon.data.scaler import MinMaxScaler
from antiphon.errors import AntiphonError, ModelError

MODEL_FORMAT = "antiphon-model"
MODEL_FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
META_FILE = "model.json"
CHECKPOINT_FILE = "checkpoint.safetensors"


@dataclass(frozen=True)
class ModelInfo:
    """What ``model.json`` says: features (dt first), scaler, settings, training result."""

    folder: Path
    features: tuple[str, ...]
    scaler: MinMaxScaler
    model: ModelConfig
    training: TrainingConfig
    corpus: CorpusConfig
    result: dict[str, Any]

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The features after dt (what the prompt and the output hold)."""
        return self.features[1:]


def versions() -> dict[str, str]:
    import torch

    return {"antiphon": __version__, "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}


def write_model_files(
    folder: Path,
    *,
    weights: Mapping[str, Any],
    features: Sequence[str],
    scaler: MinMaxScaler,
    config: Config,
    history: Sequence[Mapping[str, Any]],
    result: Mapping[str, Any],
) -> None:
    """Write every file of the model folder but the checkpoint, each atomically, ``model.json`` last."""
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
        "scaler": scaler.to_dict(),
        "model": to_dict(config.model),
        "training": to_dict(config.training),
        "corpus": to_dict(config.corpus),
        "result": dict(result),
    }
    write_text_atomic(folder / META_FILE, json.dumps(meta, indent=1) + "\n")


def write_history(folder: Path, history: Sequence[Mapping[str, Any]]) -> None:
    """``history.json`` and ``history.csv``: one record per epoch (a non-finite loss is written as null)."""
    clean = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()} for r in history]
    write_text_atomic(folder / "history.json", json.dumps(clean, indent=1) + "\n")
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
        info = ModelInfo(
            folder=folder,
            features=features,
            scaler=MinMaxScaler.from_dict(meta["scaler"], str(meta_path)),
            model=from_dict(ModelConfig, meta["model"], str(meta_path)),
            training=from_dict(TrainingConfig, meta["training"], str(meta_path)),
            corpus=from_dict(CorpusConfig, meta["corpus"], str(meta_path)),
            result=dict(meta.get("result", {})),
        )
    except (KeyError, TypeError) as exc:
        raise ModelError(f"{meta_path}: incomplete ({exc})") from exc
    except AntiphonError as exc:
        raise ModelError(str(exc)) from exc
    if features[:1] != ("dt_s",) or info.scaler.names != features[1:]:
        raise ModelError(f"{meta_path}: features and scaler do not match")
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


def load_model(folder: Path | str):
    """The trained MDRNN (eval mode) and its :class:`ModelInfo`.

    Raises:
        ModelError: as :func:`read_weights`, or weights that do not fit the model.
    """
    from antiphon.model.mdrnn import MDRNN

    info, weights = read_weights(folder, "torch")
    model = MDRNN(len(info.features), info.model)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise ModelError(
            f"{info.folder / WEIGHTS_FILE}: weights do not fit the model in {META_FILE} ({first[0] if first else exc})"
        ) from exc
    return model.eval(), info
