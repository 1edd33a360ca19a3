"""The real-time inference engine: the trained MDRNN one step at a time, in NumPy only.

Weights come from the model folder's safetensors file (read with ``safetensors.numpy``);
the LSTM step fuses each layer's input and recurrent products into one matrix-vector product.
Sampling uses :func:`antiphon.model.sampling.sample_mixture`, as ``generate`` does, so a given
random state draws the same frames in both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from antiphon.errors import ModelError
from antiphon.model.directory import WEIGHTS_FILE, ModelInfo, read_model_info
from antiphon.model.sampling import sample_mixture

LayerState = tuple[np.ndarray, np.ndarray]


class Engine:
    """Stateful one-step MDRNN: :meth:`feed` frames, :meth:`sample` the next, :meth:`reset`.

    Frames are in instrument units (the model's features, in its order) with ``dt_s`` in
    seconds; scaling, clipping and the model's scale factor are applied inside.
    """

    def __init__(self, info: ModelInfo, weights: dict[str, np.ndarray]) -> None:
        self.info = info
        self.n_layers, self.n_units = info.model.n_layers, info.model.n_units
        self.dimension = len(info.features)
        self.n_mixtures, self.sigma_floor = info.model.n_mixtures, info.model.sigma_floor
        self.scale = info.training.scale_factor
        self.pi_temperature, self.sigma_temperature = 1.0, 1.0
        try:
            self._layers = [
                (
                    np.concatenate([weights[f"lstm.weight_ih_l{k}"], weights[f"lstm.weight_hh_l{k}"]], axis=1).astype(np.float64),
                    (weights[f"lstm.bias_ih_l{k}"] + weights[f"lstm.bias_hh_l{k}"]).astype(np.float64),
                )
                for k in range(self.n_layers)
            ]
            self._head_w = weights["head.linear.weight"].astype(np.float64)
            self._head_b = weights["head.linear.bias"].astype(np.float64)
        except KeyError as exc:
            raise ModelError(f"{info.folder / WEIGHTS_FILE}: no tensor {exc} for this model") from exc
        expected = (4 * self.n_units, self.dimension + self.n_units)
        if self._layers[0][0].shape != expected or self._head_w.shape[1] != self.n_units:
            raise ModelError(f"{info.folder / WEIGHTS_FILE}: weights do not fit the model in model.json")
        self.reset()

    @classmethod
    def from_model_dir(cls, folder: Path | str) -> Engine:
        """Load a model folder without torch.

        Raises:
            ModelError: a file is missing or corrupt, or the weights do not fit.
        """
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        info = read_model_info(folder)
        path = info.folder / WEIGHTS_FILE
        try:
            weights = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise ModelError(f"{path}: corrupt weights file ({exc})") from exc
        return cls(info, weights)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.info.feature_names

    def reset(self) -> None:
        """Zero the LSTM state; the next prediction is the model's unconditioned first step."""
        self.state: list[LayerState] = [(np.zeros(self.n_units), np.zeros(self.n_units)) for _ in range(self.n_layers)]
        self._params: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def get_state(self) -> tuple[list[LayerState], tuple[np.ndarray, ...] | None]:
        """A snapshot to :meth:`set_state` back (to undo frames that were never played)."""
        return [(h.copy(), c.copy()) for h, c in self.state], self._params

    def set_state(self, snapshot: tuple[list[LayerState], tuple[np.ndarray, ...] | None]) -> None:
        state, params = snapshot
        self.state = [(h.copy(), c.copy()) for h, c in state]
        self._params = params

    def scale_row(self, features: np.ndarray, dt_s: float) -> np.ndarray:
        """Instrument units -> the model's input row (D,): dt then features scaled to [0, 1], times the scale factor."""
        scaled, _ = self.info.scaler.transform(np.asarray(features, dtype=np.float64))
        return np.concatenate([[dt_s], scaled]) * self.scale

    def feed(self, features: np.ndarray, dt_s: float) -> None:
        """Update the state with one frame (F,) in instrument units that came ``dt_s`` after the last."""
        self.step(self.scale_row(features, dt_s))

    def step(self, row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One LSTM + head step on a model-space row (D,); returns and keeps mu, sigma (K, D), logits (K,)."""
        x = np.asarray(row, dtype=np.float64)
        state = []
        for (weight, bias), (h, c) in zip(self._layers, self.state):
            gates = weight @ np.concatenate([x, h]) + bias  # (4H,): input, forget, cell, output
            i, f, g, o = np.split(gates, 4)
            c = c * _sigmoid(f) + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
            state.append((h, c))
            x = h
        self.state = state
        raw = self._head_w @ x + self._head_b
        k, d = self.n_mixtures, self.dimension
        mu = raw[: k * d].reshape(k, d)
        s = raw[k * d : 2 * k * d].reshape(k, d)
        sigma = np.where(s > 0, s, np.expm1(np.minimum(s, 0.0))) + 1.0 + self.sigma_floor  # elu + 1 + floor
        self._params = (mu, sigma, raw[2 * k * d :])
        return self._params

    def sample(self, rng: np.random.Generator, min_dt_s: float = 0.001) -> tuple[float, np.ndarray]:
        """Draw the next frame from the current prediction: (dt_s >= min_dt_s, features (F,) in instrument units).

        Uses the engine's temperatures; features are clipped to the training range. Does not
        feed the frame back (call :meth:`feed` for that).
        """
        if self._params is None:
            self.step(np.zeros(self.dimension))
        mu, sigma, logits = self._params
        row = sample_mixture(mu, sigma, logits, rng, pi_temperature=self.pi_temperature, sigma_temperature=self.sigma_temperature)
        row = row / self.scale
        scaled = np.clip(row[1:], 0.0, 1.0)
        return max(float(row[0]), min_dt_s), self.info.scaler.inverse(scaled)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))
