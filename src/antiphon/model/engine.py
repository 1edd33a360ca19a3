"""The real-time inference engine: the trained MDRNN one step at a time, in NumPy only.

Weights come from the model folder's safetensors file (read with ``safetensors.numpy``);
the LSTM step fuses each layer's input and recurrent products into one matrix-vector product.
Sampling uses :func:`antiphon.model.sampling.sample_mixture`, as ``generate`` does, so a given
random state draws the same frames in both.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Protocol

import numpy as np

from antiphon.config import CHROMA_SIGMA_TEMPERATURE, PI_TEMPERATURE, SIGMA_TEMPERATURE
from antiphon.errors import ModelError
from antiphon.feature_names import chroma_columns
from antiphon.model.directory import WEIGHTS_FILE, ModelInfo, read_weights
from antiphon.model.level import level_decay
from antiphon.model.sampling import choose_component


class Temperatures(Protocol):
    """Sampling settings (``GenerateConfig``, ``EvaluateConfig``, ``RealtimeConfig`` all have them)."""

    pi_temperature: float
    sigma_temperature: float
    chroma_sigma_temperature: float
    dt_temperature: float


def _temperature(group: str, doc: str) -> property:
    """An :class:`Engine` attribute for one group's variance scale; setting it rescales the draws."""

    def get(engine: Engine) -> float:
        return engine._temperatures[group]

    def set_(engine: Engine, value: float) -> None:
        engine._temperatures[group] = float(value)
        engine._scale_sigmas()

    return property(get, set_, doc=doc)


#: the engine computes in single precision, as the torch model it was trained as (and twice as fast here)
DTYPE = np.float32


class Engine:
    """Stateful one-step MDRNN: :meth:`feed` frames, :meth:`sample` the next (:meth:`answer`: and feed
    it back), :meth:`reset`.

    Frames are in instrument units (the model's features, in its order) with ``dt_s`` in
    seconds; scaling, clipping and the model's scale factor are applied inside. A model that does
    not model dt (frames at a fixed hop, ``info.timing``) ignores the ``dt_s`` it is fed and answers
    at its hop; one that does samples dt with its own temperature, within the training range.
    Where the model sees a running level (``model.level_steps``), the engine updates it with every
    frame fed, the performer's or its own; with ``model.skip`` the head also reads the input row,
    with ``model.residual`` its means are offsets from the frame. Every sampled frame is a frame of
    the format: clipped to the training range, chroma max-normalised.

    Written for a step of a few dozen NumPy calls (the cost at these sizes is per call, not per
    multiply): each layer's gate rows are reordered to (input, forget, output, cell) so one tanh
    serves all four gates (sigmoid(x) = (1 + tanh(x / 2)) / 2), buffers are preallocated, and
    :meth:`sample` evaluates only the mixture logits and the chosen component's row of the head.
    """

    def __init__(self, info: ModelInfo, weights: dict[str, np.ndarray]) -> None:
        self.info = info
        self.n_layers, self.n_units = info.model.n_layers, info.model.n_units
        self.dimension = len(info.columns)
        self._offset = 1 if info.timing.dt_modelled else 0  # column of the first feature
        self.n_mixtures, self.sigma_floor = info.model.n_mixtures, info.model.sigma_floor
        self.scale = info.training.scale_factor
        self.residual, self.skip = info.model.residual, info.model.skip
        #: values per input row: the frame, then its running level where the model sees it (model.level_steps)
        self.input_size = self.dimension * (2 if info.model.level_steps else 1)
        self._level_decay = level_decay(info.model.level_steps) if info.model.level_steps else None
        self._level_step = np.zeros(self.dimension, dtype=DTYPE)
        h, d, k = self.n_units, self.dimension, self.n_mixtures
        order = np.r_[0:h, h : 2 * h, 3 * h : 4 * h, 2 * h : 3 * h]  # torch's (i, f, g, o) -> (i, f, o, g)
        expected = {
            **{f"lstm.weight_ih_l{k}": (4 * h, self.input_size if k == 0 else h) for k in range(self.n_layers)},
            **{f"lstm.weight_hh_l{k}": (4 * h, h) for k in range(self.n_layers)},
            "head.linear.weight": (2 * k * d + k, h + (self.input_size if info.model.skip else 0)),
        }
        for name, shape in expected.items():
            found = weights.get(name)
            if found is None or tuple(found.shape) != shape:
                actual = "missing" if found is None else f"shaped {tuple(found.shape)}"
                raise ModelError(
                    f"{info.folder / WEIGHTS_FILE}: weights do not fit the model in model.json ({name} is {actual}, expected {shape})"
                )
        try:
            self._layers = []
            for layer in range(self.n_layers):
                w = np.concatenate([weights[f"lstm.weight_ih_l{layer}"], weights[f"lstm.weight_hh_l{layer}"]], axis=1)
                b = weights[f"lstm.bias_ih_l{layer}"] + weights[f"lstm.bias_hh_l{layer}"]
                # the gate scale (1/2 for the sigmoid gates, 1 for the cell) is folded into the weights
                scale = np.r_[np.full(3 * h, 0.5), np.ones(h)][:, None]
                self._layers.append((np.ascontiguousarray(w[order] * scale, dtype=DTYPE), (b[order] * scale[:, 0]).astype(DTYPE)))
            head_w = weights["head.linear.weight"].astype(DTYPE)
            head_b = weights["head.linear.bias"].astype(DTYPE)
        except KeyError as exc:
            raise ModelError(f"{info.folder / WEIGHTS_FILE}: no tensor {exc} for this model") from exc
        width = head_w.shape[1]  # the LSTM's output, and the current input row where the head sees it (skip)
        self._mu_w, self._mu_b = head_w[: k * d].reshape(k, d, width), head_b[: k * d].reshape(k, d)
        self._sigma_w, self._sigma_b = head_w[k * d : 2 * k * d].reshape(k, d, width), head_b[k * d : 2 * k * d].reshape(k, d)
        self._logit_w, self._logit_b = head_w[2 * k * d :], head_b[2 * k * d :]
        # per component, its means' and sigmas' rows stacked: one product gives both for the chosen one
        self._component_w = np.ascontiguousarray(np.concatenate([self._mu_w, self._sigma_w], axis=1))  # (K, 2D, width)
        self._component_b = np.concatenate([self._mu_b, self._sigma_b], axis=1)  # (K, 2D)
        self._minimum = info.scaler.minimum
        self._inv_span = 1.0 / info.scaler.span
        self._span = info.scaler.maximum - info.scaler.minimum
        self._constant = info.scaler.maximum <= info.scaler.minimum  # such features scale to 0
        self._any_constant = bool(self._constant.any())
        #: the chroma columns, where the model has the whole vector: answers keep its format (max = 1)
        self._chroma = chroma_columns(info.feature_names)
        self._temperatures = {"sigma": SIGMA_TEMPERATURE, "chroma_sigma": CHROMA_SIGMA_TEMPERATURE, "dt": 1.0}
        self._sigma_scale = np.ones(self.dimension, dtype=DTYPE)  # sqrt of each model dimension's variance scale
        self._scale_sigmas()
        self.pi_temperature = PI_TEMPERATURE
        self.reset()

    @classmethod
    def from_model_dir(cls, folder: Path | str) -> Engine:
        """Load a model folder without torch.

        Raises:
            ModelError: a file is missing or corrupt, or the weights do not fit.
        """
        return cls(*read_weights(folder, "numpy"))

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.info.feature_names

    # Variance scales of the draws, by group, kept as one vector so a draw scales its noise in one
    # product; assigning any of them updates it.
    sigma_temperature = _temperature("sigma", "variance scale of the features' draws (0: the component's mean)")
    chroma_sigma_temperature = _temperature("chroma_sigma", "variance scale of the 12 chroma values' draws")
    dt_temperature = _temperature("dt", "variance scale of sampled time steps (models that model dt)")

    def _scale_sigmas(self) -> None:
        o, t = self._offset, self._temperatures
        self._sigma_scale[o:] = math.sqrt(t["sigma"])
        if self._chroma is not None:
            self._sigma_scale[o + self._chroma.start : o + self._chroma.stop] = math.sqrt(t["chroma_sigma"])
        if o:
            self._sigma_scale[0] = math.sqrt(t["dt"])

    def use_temperatures(self, settings: Temperatures) -> None:
        """Sample with the temperatures of ``settings`` (``[generate]``, ``[evaluate]`` or ``[realtime]``)."""
        self.pi_temperature = settings.pi_temperature
        self.sigma_temperature, self.chroma_sigma_temperature = settings.sigma_temperature, settings.chroma_sigma_temperature
        self.dt_temperature = settings.dt_temperature

    def reset(self) -> None:
        """Zero the LSTM state; the next prediction is the model's first step from nothing."""
        h, d = self.n_units, self.dimension
        self._buffers = [np.zeros((self.input_size if layer == 0 else h) + h, dtype=DTYPE) for layer in range(self.n_layers)]
        self._cells = [np.zeros(h, dtype=DTYPE) for _ in range(self.n_layers)]
        self._head_input = np.zeros(h + self.input_size, dtype=DTYPE)  # with skip: [last layer's h, input row]
        self._output: np.ndarray | None = None  # what the head reads after the last step, None before any
        # Views and scratch made once, so a step allocates nothing and slices nothing (each costs
        # about as much as a small product at these sizes); snapshots are copied into these arrays.
        self._gates, self._scratch = np.zeros(4 * h, dtype=DTYPE), np.zeros(h, dtype=DTYPE)
        self._logits = np.zeros(self.n_mixtures, dtype=DTYPE)
        g = self._gates
        self._gate_views = (g[: 3 * h], g[:h], g[h : 2 * h], g[2 * h : 3 * h], g[3 * h :])  # sigmoids, i, f, o; cell input
        self._layer_steps = [
            (weight, bias, cell, buffer, buffer[-h:], self._buffers[layer + 1][:h] if layer + 1 < self.n_layers else None)
            for layer, ((weight, bias), cell, buffer) in enumerate(zip(self._layers, self._cells, self._buffers))
        ]
        x = self._buffers[0]
        self._frame, self._input = x[:d], x[: self.input_size]
        self._level = x[d : 2 * d] if self._level_decay is not None else None
        self._head_h, self._head_x = self._head_input[:h], self._head_input[h:]

    def get_state(self) -> tuple:
        """A snapshot to :meth:`set_state` back (to undo frames that were generated but never played)."""
        output = None if self._output is None else self._output.copy()
        return [b.copy() for b in self._buffers], [c.copy() for c in self._cells], output

    def set_state(self, snapshot: tuple) -> None:
        buffers, cells, output = snapshot
        for target, source in (*zip(self._buffers, buffers), *zip(self._cells, cells)):
            np.copyto(target, source)
        if output is None:
            self._output = None
        elif self.skip:
            np.copyto(self._head_input, output)
            self._output = self._head_input
        else:
            self._output = self._layer_steps[-1][4]  # the last layer's h, restored with its buffer

    def scale_row(self, features: np.ndarray, dt_s: float) -> np.ndarray:
        """Instrument units -> the model's input row (D,): [dt,] features scaled to [0, 1], times the scale factor."""
        scaled, _ = self.info.scaler.transform(np.asarray(features, dtype=np.float64))
        return (np.concatenate([[dt_s], scaled]) if self._offset else scaled) * self.scale

    def feed(self, features: np.ndarray, dt_s: float) -> None:
        """Update the state with one frame (F,) in instrument units that came ``dt_s`` after the last
        (ignored when the model does not model dt)."""
        x = self._buffers[0]
        d, o = self.dimension, self._offset
        scaled = x[o:d]
        np.multiply(np.subtract(features, self._minimum), self._inv_span, out=scaled, casting="same_kind")
        np.minimum(np.maximum(scaled, 0.0, out=scaled), 1.0, out=scaled)
        if self._any_constant:
            x[o:d][self._constant] = 0.0
        if o:
            x[0] = dt_s
        if self.scale != 1.0:
            x[:d] *= self.scale
        self._advance()

    def feed_normalised(self, rows: np.ndarray) -> None:
        """Feed model rows (N, D) as :meth:`segments <antiphon.data.corpus.Corpus.segments>` gives them
        at scale 1 ([dt_s,] features in [0, 1]), one step each (evaluation's path: no round trip to instrument units)."""
        for row in np.asarray(rows):
            self._buffers[0][: self.dimension] = row * self.scale
            self._advance()

    def step(self, row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One step on a model-space row (D,); returns mu, sigma (K, D) and logits (K,) of the next frame."""
        self._buffers[0][: self.dimension] = row
        self._advance()
        return self.params()

    def input_row(self) -> np.ndarray:
        """The model's input row (:attr:`input_size`,) of the last step: the frame (and its level), scaled."""
        return self._buffers[0][: self.input_size].copy()

    def _advance(self) -> None:
        """One LSTM step on the frame in the input buffer (its level updated first, where the model has one)."""
        if self._level is not None:
            if self._output is None:  # the first frame: the level starts at it
                self._level[:] = self._frame
            else:  # level += (1 - a) (frame - level), in place
                step = np.subtract(self._frame, self._level, out=self._level_step)
                step *= 1.0 - self._level_decay
                self._level += step
        gates, scratch = self._gates, self._scratch
        sigmoids, input_gate, forget_gate, output_gate, cell_input = self._gate_views
        for weight, bias, cell, buffer, recurrent, next_input in self._layer_steps:
            np.matmul(weight, buffer, out=gates)  # (4H,) in the order i, f, o, g
            gates += bias
            np.tanh(gates, out=gates)  # tanh(x/2) for i, f, o (scale folded in), tanh(x) for the cell
            sigmoids *= 0.5
            sigmoids += 0.5
            cell *= forget_gate
            cell += np.multiply(input_gate, cell_input, out=scratch)
            np.multiply(output_gate, np.tanh(cell, out=scratch), out=recurrent)  # h: this layer's next recurrent input
            if next_input is not None:
                next_input[:] = recurrent
        if self.skip:  # the head reads [h, input row] from its own buffer (snapshots copy it)
            self._head_h[:] = recurrent
            self._head_x[:] = self._input
            self._output = self._head_input
        else:
            self._output = recurrent

    def _last_output(self) -> np.ndarray:
        """What the head reads: the last layer's output (and, with skip, the frame fed last)."""
        if self._output is None:  # nothing fed yet: the model's step from a zero input
            self._buffers[0][: self.dimension] = 0.0
            self._advance()
        return self._output

    def params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The full mixture after the last step: mu, sigma (K, D), logits (K,) (tests and diagnostics)."""
        out = self._last_output()
        mu = self._mu_w @ out + self._mu_b
        if self.residual:
            mu += self._buffers[0][: self.dimension]
        raw = self._sigma_w @ out + self._sigma_b
        sigma = np.where(raw > 0, raw, np.expm1(np.minimum(raw, 0.0))) + 1.0 + self.sigma_floor  # elu + 1 + floor
        return mu, sigma, self._logit_w @ out + self._logit_b

    def _dt(self, value: float, min_dt_s: float) -> float:
        """A model-space dt (already unscaled) as a time step: the hop when dt is not modelled, else
        clipped to the training range and to ``min_dt_s``."""
        timing = self.info.timing
        if not self._offset:
            return timing.hop_s
        return max(min(max(value, timing.dt_min_s), timing.dt_max_s), min_dt_s)

    def sample(self, rng: np.random.Generator, min_dt_s: float = 0.001, clip: bool = True) -> tuple[float, np.ndarray]:
        """Draw the next frame: (dt_s, features (F,) in instrument units).

        dt_s is the hop when the model does not model dt; otherwise it is sampled with
        ``dt_temperature`` and kept within the training range and >= ``min_dt_s``. Features are
        clipped to the training range unless ``clip`` is False. Same draws as
        :func:`~antiphon.model.sampling.sample_mixture` (one uniform, then D normals), using the
        engine's temperatures. Does not feed the frame back (call :meth:`feed`).
        """
        out = self._last_output()
        logits = np.matmul(self._logit_w, out, out=self._logits)
        logits += self._logit_b
        component = choose_component(logits, self.pi_temperature, rng.random())
        noise = rng.standard_normal(self.dimension)
        both = self._component_w[component] @ out
        both += self._component_b[component]
        d = self.dimension
        row, raw = both[:d], both[d:]
        if self.residual:
            row += self._frame
        o = self._offset
        sigma = np.expm1(np.minimum(raw, 0.0))  # elu(raw) + 1 + floor
        sigma += np.maximum(raw, 0.0)
        sigma += 1.0 + self.sigma_floor
        sigma *= noise
        sigma *= self._sigma_scale
        row += sigma
        if self.scale != 1.0:
            row /= self.scale
        return self._dt(float(row[0]), min_dt_s), self._instrument(row[o:], clip)

    def answer(self, rng: np.random.Generator, min_dt_s: float = 0.001, clip: bool = True) -> tuple[float, np.ndarray]:
        """:meth:`sample` the next frame and feed it back, as every answer does (``serve``, ``generate``,
        ``evaluate``). Returns (dt_s, features (F,) in instrument units), as :meth:`sample`."""
        dt, features = self.sample(rng, min_dt_s, clip)
        self.feed(features, dt)
        return dt, features

    def _instrument(self, normalised: np.ndarray, clip: bool) -> np.ndarray:
        """Normalised features (F,) -> a frame of the format in instrument units (a new float64 array)."""
        features = np.multiply(np.minimum(np.maximum(normalised, 0.0), 1.0) if clip else normalised, self._span)  # float64
        features += self._minimum
        return self._valid(features)

    def _valid(self, features: np.ndarray) -> np.ndarray:
        """``features`` (F,) in instrument units made a frame of the format, in place: the nearest
        max-normalised chroma (as the analysis writes it: every class in [0, 1], the largest at 1),
        i.e. the classes clipped to [0, 1] and the largest raised to 1; all-zero chroma, a silent
        frame's, stays zero.

        Not a division by the largest class: an answer is fed back, and a model's sampled chroma
        peaks a little under 1 (its means regress), so dividing raised every other class with it,
        frame after frame, until the answer's chroma was flat (all classes near 0.6 within a
        second, where the music's average 0.2; docs/model.md, "Ablation").
        """
        if self._chroma is not None:
            chroma = features[self._chroma]
            np.clip(chroma, 0.0, 1.0, out=chroma)
            top = int(chroma.argmax())
            if chroma[top] > 0.0:
                chroma[top] = 1.0
        return features

    def mean_frame(self, min_dt_s: float = 0.001) -> tuple[float, np.ndarray]:
        """The mixture's mean as the next frame (dt_s as :meth:`sample` bounds it, features clipped, instrument units)."""
        mu, _, logits = self.params()
        weights = np.exp(logits - logits.max())
        row = (weights / weights.sum()) @ mu / self.scale
        o = self._offset
        return self._dt(float(row[0]), min_dt_s), self._instrument(row[o:], True)

    def continue_for(
        self, duration_s: float, rng: np.random.Generator, *, min_dt_s: float = 0.001, clip: bool = True, mean: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Let the model play on from its current state, each frame fed back, until ``duration_s`` is covered.

        Returns the time steps (N,) in seconds and the frames (N, F) in instrument units; ``mean``
        follows the mixture mean instead of sampling (no randomness).
        """
        steps, frames, elapsed = [], [], 0.0
        while elapsed < duration_s and len(steps) < 1_000_000:
            if mean:
                dt, features = self.mean_frame(min_dt_s)
                self.feed(features, dt)
            else:
                dt, features = self.answer(rng, min_dt_s, clip)
            steps.append(dt)
            frames.append(features)
            elapsed += dt
        return np.array(steps), np.array(frames).reshape(len(frames), len(self.feature_names))

    def continue_normalised(self, duration_s: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Sample on from the current state, each frame fed back, until ``duration_s`` is covered.

        Returns frame times (N,) in seconds from the current state (the first at one step) and the
        features (N, F) normalised to [0, 1] (evaluation's units).
        """
        steps, frames = self.continue_for(duration_s, rng)
        values = (frames - self._minimum) * self._inv_span
        if self._any_constant:
            values[:, self._constant] = 0.0
        return np.cumsum(steps), values
