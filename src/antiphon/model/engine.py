"""The real-time inference engine: the trained MDRNN one step at a time, without torch.

Weights come from the model folder's safetensors file (read with ``safetensors.numpy``); a step
is one compiled call (:mod:`antiphon.model.engine_kernels`) that fuses each layer's input and
recurrent products into one matrix-vector product. Draws follow
:func:`antiphon.model.sampling.sample_mixture`, as ``generate``'s torch path does, so a given
random state draws the same frames in both.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from antiphon.config import (
    CHROMA_SIGMA_TEMPERATURE,
    KEY_MARGIN,
    PI_TEMPERATURE,
    PLAYED_SIGMA_TEMPERATURE,
    REGISTER_PULL_S,
    SIGMA_TEMPERATURE,
)
from antiphon.errors import ModelError
from antiphon.feature_names import chroma_columns
from antiphon.model import chroma_mass
from antiphon.model.ahead_of_time import engine_calls
from antiphon.model.directory import WEIGHTS_FILE, ModelInfo, read_weights
from antiphon.model.key import KeyFollower, rotate
from antiphon.model.level import ACTIVITY_FLOOR, ACTIVITY_OFFSET, input_width, level_decay
from antiphon.model.onset import onset_settings, running_size

#: :func:`~antiphon.model.key.move`'s bounds for a frame heard: none
NOT_PLAYED = (np.zeros(0), np.zeros(0))


class Temperatures(Protocol):
    """Sampling settings (``GenerateConfig``, ``EvaluateConfig``, ``RealtimeConfig`` all have them)."""

    pi_temperature: float
    sigma_temperature: float
    played_sigma_temperature: float
    chroma_sigma_temperature: float
    dt_temperature: float
    register_pull_s: float
    follow_key: bool
    key_margin: float
    hold_chroma_mass: bool


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
    Where the model sees a running level, activity or onset clock (``model.level_steps``,
    ``model.activity_steps``, ``model.onset_clock``), the engine updates them with every frame fed,
    the performer's or its own; with ``model.skip`` the head also reads the input row,
    with ``model.residual`` its means are offsets from the frame. Every sampled frame is a frame of
    the format, the nearest to the draw: clipped to the training range, chroma max-normalised, or
    silence (every feature 0) where the model learned silence and the draw lies nearer it. Each
    draw gives two such frames, the one played and the one fed back (:meth:`sample`).

    A feed is one compiled call and a draw another (:mod:`~antiphon.model.engine_kernels`, which
    says why): at these sizes a NumPy call costs about a microsecond whatever it multiplies, and a
    step of NumPy calls (about forty) missed the 100 µs p99 budget whenever this machine slowed.
    The layout the kernels share:

    - the whole state is one float32 vector, ``[x | h_0 | 1 | h_1 | 1 | ...]`` (x: the input row,
      unscaled), so that each layer's input is one contiguous slice of it (``[x, h_0, 1]``,
      ``[h_0, 1, h_1]``, ...). Each layer's weights hold its bias (the row facing a 1) and the
      model's scale factor, and its output goes where the next layer and the head read it;
    - the head's weights span the whole state (zeros where it does not look), with its bias;
    - the state, the layers' gates and cells and the activity's and the onset clock's running values
      are one buffer, so a snapshot is one copy.
    """

    def __init__(self, info: ModelInfo, weights: dict[str, np.ndarray], calls: Any = None) -> None:
        """``calls``: the kernels (:func:`~antiphon.model.ahead_of_time.engine_calls`: compiled ahead of time where
        built, else Numba's JIT; the same numbers), or :func:`~antiphon.model.ahead_of_time.jit_calls` to compare."""
        self.info = info
        self._calls = calls if calls is not None else engine_calls()
        self.n_layers, self.n_units = info.model.n_layers, info.model.n_units
        self.dimension = len(info.columns)
        self._offset = 1 if info.timing.dt_modelled else 0  # column of the first feature
        self.n_mixtures, self.sigma_floor = info.model.n_mixtures, info.model.sigma_floor
        self.scale = info.training.scale_factor
        self.residual, self.skip = info.model.residual, info.model.skip
        #: values per input row: the frame, then its running level, activity and onset clock where the model
        #: sees them (model.level_steps, model.activity_steps, model.onset_clock)
        self.input_size = input_width(self.dimension, info.model.level_steps, info.model.activity_steps, info.model.onset_clock)
        self._level_decay = level_decay(info.model.level_steps) if info.model.level_steps else None
        h, d, k, n_in = self.n_units, self.dimension, self.n_mixtures, self.input_size
        expected = {
            **{f"lstm.weight_ih_l{k}": (4 * h, n_in if k == 0 else h) for k in range(self.n_layers)},
            **{f"lstm.weight_hh_l{k}": (4 * h, h) for k in range(self.n_layers)},
            "head.linear.weight": (2 * k * d + k, h + (n_in if info.model.skip else 0)),
        }
        for name, shape in expected.items():
            found = weights.get(name)
            if found is None or tuple(found.shape) != shape:
                actual = "missing" if found is None else f"shaped {tuple(found.shape)}"
                raise ModelError(
                    f"{info.folder / WEIGHTS_FILE}: weights do not fit the model in model.json ({name} is {actual}, expected {shape})"
                )
        # The state vector: x (n_in), then per layer l its output h_l (H) followed by a constant 1.
        self._state_size = n_in + self.n_layers * (h + 1)
        self._hidden = [n_in + layer * (h + 1) for layer in range(self.n_layers)]  # where h_l starts
        order = np.r_[3 * h : 4 * h, 0 : 3 * h]  # torch's gate rows (i, f, g, o) -> (o, i, f, g)
        try:
            layer_weights = []  # per layer (4 H, its reads), gates (o, i, f, g)
            for layer in range(self.n_layers):
                w_ih = weights[f"lstm.weight_ih_l{layer}"][order].astype(np.float64)
                w_hh = weights[f"lstm.weight_hh_l{layer}"][order].astype(np.float64)
                bias = (weights[f"lstm.bias_ih_l{layer}"] + weights[f"lstm.bias_hh_l{layer}"])[order][:, None]
                # the columns in the order of the layer's slice of the state: [x, h_0, 1] or [h_(l-1), 1, h_l]
                columns = [w_ih * self.scale, w_hh, bias] if layer == 0 else [w_ih, bias, w_hh]
                layer_weights.append(np.concatenate(columns, axis=1))
            head_w = weights["head.linear.weight"].astype(np.float64)
            head_b = weights["head.linear.bias"].astype(np.float64)
        except KeyError as exc:
            raise ModelError(f"{info.folder / WEIGHTS_FILE}: no tensor {exc} for this model") from exc
        # The kernels' layout: each layer's weights transposed (its reads' rows of 4 H), one after another.
        self._weights_t = np.concatenate([w.T.ravel() for w in layer_weights]).astype(DTYPE)
        self._layers = np.zeros((self.n_layers, 4), dtype=np.int64)
        offset = 0
        for layer, (weight, start) in enumerate(zip(layer_weights, self._hidden)):
            read_start = 0 if layer == 0 else start - h - 1
            self._layers[layer] = (offset, read_start, weight.shape[1], start)
            offset += weight.size
        # The head over the whole state, in model space (the input row's columns carry the scale factor).
        last = self._hidden[-1]
        head = np.zeros((head_w.shape[0], self._state_size))
        head[:, last : last + h] = head_w[:, :h]
        head[:, last + h] = head_b
        if self.skip:
            head[:, :n_in] = head_w[:, h:] * self.scale
        self._head = head.astype(DTYPE)  # rows: means (K D), raw sigmas (K D), logits (K)
        # The kernels' head, transposed: logits (S, K); per component (K, S, 2D) its means' columns
        # (unscaled: divided by the scale factor), then its raw sigmas'
        self._logit_wt = np.ascontiguousarray(self._head[2 * k * d :].T)
        means = head[: k * d].reshape(k, d, -1) / self.scale
        sigmas = head[k * d : 2 * k * d].reshape(k, d, -1)
        self._component_wt = np.ascontiguousarray(np.concatenate([means, sigmas], axis=1).transpose(0, 2, 1), dtype=DTYPE)
        self._decay = -1.0 if self._level_decay is None else float(self._level_decay)  # the kernels' "no level": negative
        # the kernels' activity: its decay (negative: none), where its inputs start in the state, where
        # its running values start in the buffer (after the gates), the scale factor, the input's floor and offset
        self._activity = np.array(
            [
                level_decay(info.model.activity_steps) if info.model.activity_steps else -1.0,
                input_width(self.dimension, info.model.level_steps),
                self._state_size + 5 * h * self.n_layers,
                self.scale,
                ACTIVITY_FLOOR,
                ACTIVITY_OFFSET,
            ]
        )
        # the running values after the gates: the activity's (the previous row, the mean step, its weight: 2 D + 1)
        # and the onset clock's (D + 4), each where the model has it
        activity_values = 2 * self.dimension + 1 if info.model.activity_steps else 0
        self._running_values = activity_values + (running_size(self.dimension) if info.model.onset_clock else 0)
        # after them, the register pull's anchor: whether it is set since the last frame heard, then its F values
        # (instrument units); taken from the running level, or from the frame where the model has no level
        self._anchor_at = self._state_size + 5 * h * self.n_layers + self._running_values
        self._register_at = (self.dimension if info.model.level_steps else 0) + self._offset
        # the kernels' onset clock: its settings (a cap of 0: none), where its inputs start in the state, where
        # its running values start in the buffer (after the activity's), the scale factor
        self._onset = np.r_[
            onset_settings(info.model.onset_clock) if info.model.onset_clock else np.zeros(4),
            input_width(self.dimension, info.model.level_steps, info.model.activity_steps),
            self._state_size + 5 * h * self.n_layers + activity_values,
            self.scale,
        ]
        # the kernels scale on the scaler's scale (a log scale where it warps: feed warps, sample unwarps)
        self._scaler = info.scaler
        self._minimum = info.scaler.warped_minimum
        self._inv_span = 1.0 / info.scaler.span
        self._span = info.scaler.warped_maximum - self._minimum
        #: the rules every frame played and fed back obeys (the sounding range, the slope its centroid gives, Pearson's
        #: bound on the moments), on that scale
        self._derivations = info.scaler.derivation_plan
        self._constant = info.scaler.maximum <= info.scaler.minimum  # such features scale to 0
        #: the chroma columns, where the model has the whole vector: answers keep its format (max = 1)
        self._chroma = chroma_columns(info.feature_names)
        # the chroma's columns and its strongest class (1) on the scaler's scale (ln(1 + 1 / knee) on a log scale);
        # a clipped answer's chroma is already within [0, 1] when the training range is
        self._chroma_span = (0, 0, 1.0)
        self._chroma_warped = False
        if self._chroma is not None:
            top = info.scaler.warp(np.ones(len(self._minimum)))[self._chroma.start]
            self._chroma_span = (self._chroma.start, self._chroma.stop, float(top))
            self._chroma_warped = bool(top != 1.0)
        self._chroma_in_range = self._chroma is not None and bool(
            (self._minimum[self._chroma] >= 0.0).all() and (info.scaler.maximum[self._chroma] <= 1.0).all()
        )
        #: the silent frame (every feature 0), normalised; an answer may pause (become it) where it is a
        #: frame the model learned: the model has the chroma (which tells silence from music) and 0 is
        #: within every feature's training range (the corpus had silent frames)
        self._silence = np.where(self._constant, 0.0, np.clip(-self._minimum * self._inv_span, 0.0, 1.0))
        self._silence_reachable = self._chroma is not None and bool(((self._minimum <= 0.0) & (info.scaler.maximum >= 0.0)).all())
        self._temperatures = {
            "sigma": SIGMA_TEMPERATURE,
            "played_sigma": PLAYED_SIGMA_TEMPERATURE,
            "chroma_sigma": CHROMA_SIGMA_TEMPERATURE,
            "dt": 1.0,
        }
        #: per dimension: sqrt of its variance scale, over the scale factor (draws are made unscaled), for
        #: the frame fed back and for the frame played
        self._sigma_scale = np.ones(self.dimension, dtype=DTYPE)
        self._played_scale = np.ones(self.dimension, dtype=DTYPE)
        self._split = False  # whether the two differ
        # the last draw's frame to feed back (instrument units, on the log scale where the scaler warps)
        self._fed_frame = np.empty(len(self._minimum))
        self._scale_sigmas()
        self.pi_temperature = PI_TEMPERATURE
        self._pull = np.zeros(len(self._minimum))  # per feature, the fraction of the way to the anchor per step
        self.register_pull_s = REGISTER_PULL_S
        # answering in the key heard (antiphon.model.key): where the model has its training songs' pitch-class
        # profiles and the chroma on a scale the same for every class (a rotation then commutes with the scaling)
        uniform = self._chroma is not None and all(
            np.ptp(v[self._chroma]) == 0.0 for v in (self._minimum, self._span, info.scaler.minimum, info.scaler.maximum)
        )
        has_key = uniform and info.key_profiles is not None and len(info.key_profiles) > 0
        self._key = KeyFollower(info.key_profiles, info.timing.hop_s, KEY_MARGIN, self._calls.hear_frame) if has_key else None
        self._shift = 0  # semitones the chroma heard is moved up (the answers' moved down) now
        self._rotated_at = self._key_columns(info) if has_key else np.zeros((0, 12), dtype=np.int64)
        # each class's sounding range, where the scaler has one (empty: none), for the frames played moved
        sounding = info.scaler.sounding_minimum, info.scaler.sounding_maximum
        self._sounding_chroma = tuple(np.zeros(0) if v is None or not has_key else v[self._chroma].astype(np.float64) for v in sounding)
        self._follow_key = has_key
        self._key_margin = KEY_MARGIN
        # holding the answers' chroma to the contrast heard (antiphon.model.chroma_mass): its running masses after the
        # anchor; where the model has the whole chroma on its linear scale (a frame played is in instrument units)
        self._mass_at = self._anchor_at + 1 + len(self._minimum)
        self._mass_weight = chroma_mass.fraction(info.timing.hop_s)
        low = info.scaler.sounding_minimum
        self._mass_low = np.zeros(0) if low is None or self._chroma is None else low[self._chroma].astype(np.float64)
        self._hold_chroma_mass = self._can_hold_mass = self._chroma is not None and not self._chroma_warped
        self.reset()
        self._compile()

    def _compile(self) -> None:
        """Compile the kernels (or load them from Numba's cache) now, not on the first frame a performer plays (kernels
        compiled ahead of time: a first call of each, which costs nothing)."""
        snapshot = self.get_state()
        self.feed(self._scaler.minimum, 0.0)
        self.answer(np.random.default_rng(0))
        if self._key is not None:  # the key's moves, which a frame in the training keys does not reach
            self._calls.move(np.ones(len(self._minimum)), self._chroma.start, 1, *self._sounding_chroma)
        self.set_state(snapshot)

    @classmethod
    def from_model_dir(cls, folder: Path | str, calls: Any = None) -> Engine:
        """Load a model folder without torch (``calls`` as the constructor's).

        Raises:
            ModelError: a file is missing or corrupt, or the weights do not fit.
        """
        return cls(*read_weights(folder, "numpy"), calls)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.info.feature_names

    # Variance scales of the draws, by group, kept as one vector so a draw scales its noise in one
    # product; assigning any of them updates it.
    sigma_temperature = _temperature(
        "sigma", "variance scale of the features' draws fed back, the answer's course (0: the component's mean)"
    )
    played_sigma_temperature = _temperature(
        "played_sigma", "variance scale of the features' draws played (the same component and noise; 1: the model's own spread)"
    )
    chroma_sigma_temperature = _temperature("chroma_sigma", "variance scale of the 12 chroma values' draws")
    dt_temperature = _temperature("dt", "variance scale of sampled time steps (models that model dt)")

    def _scale_sigmas(self) -> None:
        o, t = self._offset, self._temperatures
        for scale, features in ((self._sigma_scale, t["sigma"]), (self._played_scale, t["played_sigma"])):
            scale[o:] = math.sqrt(features)
            if self._chroma is not None:
                scale[o + self._chroma.start : o + self._chroma.stop] = math.sqrt(t["chroma_sigma"])
            if o:
                scale[0] = math.sqrt(t["dt"])
            scale /= self.scale
        self._split = not np.array_equal(self._sigma_scale, self._played_scale)

    def use_temperatures(self, settings: Temperatures) -> None:
        """Sample with the temperatures of ``settings`` (``[generate]``, ``[evaluate]`` or ``[realtime]``)."""
        self.pi_temperature = settings.pi_temperature
        self.sigma_temperature, self.played_sigma_temperature = settings.sigma_temperature, settings.played_sigma_temperature
        self.chroma_sigma_temperature, self.dt_temperature = settings.chroma_sigma_temperature, settings.dt_temperature
        self.register_pull_s = settings.register_pull_s
        self.key_margin, self.follow_key = settings.key_margin, settings.follow_key
        self.hold_chroma_mass = settings.hold_chroma_mass

    @property
    def register_pull_s(self) -> float:
        """Time constant, s, with which an answer's course returns toward its prompt's register (0: no pull).

        The register is the running level the model sees (``model.level_steps``; the frame itself for a model
        without one) when the answer began: at the first draw after a frame was fed by :meth:`feed` or
        :meth:`feed_normalised`. Each step, every sounding frame fed back moves 1 - exp(-hop / time constant) of
        the way toward it in every feature but the chroma (0.046 at 0.25 s and the analysis hop of 11.6 ms), and
        the frame played by the same amount. Without it the answers' spectral shape wandered
        half as far again as the music's within 5 s, and changed too slowly (docs/model.md, round 13).
        """
        return self._register_pull_s

    @register_pull_s.setter
    def register_pull_s(self, value: float) -> None:
        self._register_pull_s = float(value)
        fraction = -math.expm1(-self.info.timing.hop_s / self._register_pull_s) if self._register_pull_s > 0.0 else 0.0
        self._pull[:] = fraction
        if self._chroma is not None:
            self._pull[self._chroma] = 0.0
        self._pull[self._constant] = 0.0

    @property
    def register(self) -> np.ndarray | None:
        """The register the answer is pulled toward (F,) in instrument units, or None until the
        first draw after a frame was heard (where the pull is off, it is never taken)."""
        if not self._memory[self._anchor_at]:
            return None
        anchor = self._memory[self._anchor_at + 1 : self._mass_at].astype(np.float64)
        return self._as_heard(self._unwarp(anchor) if self._scaler.warped else anchor)

    @property
    def follow_key(self) -> bool:
        """Whether the engine answers in the key it hears (:mod:`antiphon.model.key`).

        It keeps the pitch-class profile of the frames heard (:meth:`feed`, :meth:`feed_normalised`; the last
        30 s) and, where some rotation of it matches a training song's better than the profile as heard by more
        than :attr:`key_margin`, moves the chroma of every frame heard up that many semitones
        (:attr:`key_shift`) before the model sees it, and the chroma of every frame played back down. On the
        song held out of the demo's training it halved the answers' distance from the song's music (realism
        0.080 -> 0.040; docs/model.md, round 14). Always False for a model without the whole chroma, without its
        training songs' profiles (trained before they were kept), or whose chroma classes have different training
        ranges (a corpus without a silent frame), where moving a class's value to another would change its scale.
        """
        return self._follow_key

    @follow_key.setter
    def follow_key(self, value: bool) -> None:
        self._follow_key = bool(value) and self._key is not None
        self._set_shift(self._key.shift if self._follow_key else 0)

    @property
    def hold_chroma_mass(self) -> bool:
        """Whether the weaker chroma classes of the frames played are held, together, no stronger than in what was
        heard (:mod:`antiphon.model.chroma_mass`): where the running sum of the classes below the strongest in the
        answer's frames (time constant 1 s) is above that of the frames heard (:meth:`feed`, :meth:`feed_normalised`),
        every class of the frame played but the strongest is scaled down by their ratio. Without it the answers'
        chroma blurred as they went, and at 5 s lost the energy score to i.i.d. frames (docs/model.md, round 15).
        Always False for a model without the whole chroma or with the chroma on a log scale."""
        return self._hold_chroma_mass

    @hold_chroma_mass.setter
    def hold_chroma_mass(self, value: bool) -> None:
        self._hold_chroma_mass = bool(value) and self._can_hold_mass

    @property
    def key_margin(self) -> float:
        """How much better (a difference of correlations, 0-2) a rotation of the heard pitch classes must
        match a training song before the answers are moved (:attr:`follow_key`)."""
        return self._key_margin

    @key_margin.setter
    def key_margin(self, value: float) -> None:
        self._key_margin = float(value)
        if self._key is not None:
            self._key.margin = self._key_margin

    @property
    def key_shift(self) -> int:
        """Semitones (0-11) the chroma heard is moved up before the model sees it, and its answers' down."""
        return self._shift

    def _key_columns(self, info: ModelInfo) -> np.ndarray:
        """Where the chroma's 12 values are in the buffer, one row of 12 indices per place (:meth:`_set_shift`
        rotates each row): the frame, its level and activity in the state; the activity's and the onset clock's
        previous rows and the activity's mean steps; the register (F values, no dt column)."""
        d, chroma = self.dimension, self._offset + self._chroma.start
        starts = [0]
        if info.model.level_steps:
            starts.append(d)
        if info.model.activity_steps:
            inputs, running = int(self._activity[1]), int(self._activity[2])
            starts += [inputs, running, running + d]
        if info.model.onset_clock:
            starts.append(int(self._onset[5]))
        rows = [start + chroma + np.arange(12) for start in starts]
        rows.append(self._anchor_at + 1 + self._chroma.start + np.arange(12))
        return np.array(rows, dtype=np.int64)

    def _set_shift(self, shift: int) -> None:
        """Move the chroma heard ``shift`` semitones up from now on, and the chroma of the frames the state
        holds (the frame, its level and activity, their running values, the register) with it, so that what was
        heard before reads as if it had been heard moved."""
        delta = shift - self._shift
        if delta:
            blocks = self._memory[self._rotated_at]
            self._memory[self._rotated_at] = rotate(blocks, delta)
            self._shift = shift

    def _as_heard(self, frame: np.ndarray) -> np.ndarray:
        """A frame (F,) in instrument units, the model's key -> the key heard: its chroma moved down
        :attr:`key_shift` semitones (in place), a sounding frame's chroma kept within each class's sounding range."""
        if self._shift:
            self._calls.move(frame, self._chroma.start, -self._shift, *self._sounding_chroma)
        return frame

    def reset(self) -> None:
        """Zero the LSTM state; the next prediction is the model's first step from nothing."""
        h, d, size = self.n_units, self.dimension, self._state_size
        # One buffer: the state vector (S), then per layer its gates and cell [o, i, f, g, c] (5 H), then the
        # activity's and the onset clock's running values where the model has them, then the anchor, then the chroma's
        # running masses (see __init__)
        self._memory = np.zeros(self._mass_at + chroma_mass.SLOTS, dtype=DTYPE)
        self._fed = False  # whether a frame was fed since the reset (the head reads nothing before)
        self._shift = 0
        if self._key is not None:
            self._key.reset()
        state = self._state = self._memory[:size]
        for start in self._hidden:
            state[start + h] = 1.0  # the constant each layer's (and the head's) bias faces
        self._frame = state[:d]

    def get_state(self) -> tuple:
        """A snapshot to :meth:`set_state` back (to undo frames that were generated but never played)."""
        return self._memory.copy(), self._fed, self._shift, None if self._key is None else self._key.state()

    def set_state(self, snapshot: tuple) -> None:
        memory, self._fed, shift, key = snapshot
        np.copyto(self._memory, memory)
        self._shift = shift
        if key is not None:
            self._key.set_state(key)

    def scale_row(self, features: np.ndarray, dt_s: float) -> np.ndarray:
        """Instrument units -> the model's input row (D,): [dt,] features scaled to [0, 1], times the scale factor."""
        scaled, _ = self.info.scaler.transform(np.asarray(features, dtype=np.float64))
        return (np.concatenate([[dt_s], scaled]) if self._offset else scaled) * self.scale

    def feed(self, features: np.ndarray, dt_s: float) -> None:
        """Update the state with one frame (F,) in instrument units that came ``dt_s`` after the last
        (ignored when the model does not model dt). Where the engine :attr:`follows the key <follow_key>`, the
        frame is added to the key's profile, and the model hears its chroma moved by :attr:`key_shift`."""
        features = np.ascontiguousarray(features, dtype=np.float64)  # the kernels read it by a fixed layout
        if self._chroma is not None:
            self._calls.hear(self._memory, self._mass_at, features, self._chroma.start, self._chroma.stop, self._mass_weight)
        if self._key is not None:
            features = features.copy()  # the caller's frame is not moved
            shift = self._key.hear_frame(features, self._chroma.start)
            if self._follow_key and shift != self._shift:
                self._set_shift(shift)
            if self._shift:
                self._calls.move(features, self._chroma.start, self._shift, *NOT_PLAYED)
        self._feed_course(features, dt_s)
        self._memory[self._anchor_at] = 0.0  # a frame heard: the next answer takes the register from here

    def _feed_course(self, features: np.ndarray, dt_s: float) -> None:
        """Feed a frame (F,) in instrument units, in the model's key, as it is: a frame of the answer's course."""
        self._feed_warped(self._scaler.warp(features) if self._scaler.warped else features, dt_s)

    def _feed_warped(self, features: np.ndarray, dt_s: float) -> None:
        """:meth:`feed` a frame already on the scaler's scale (instrument units where it does not warp)."""
        self._calls.feed(
            np.ascontiguousarray(features, dtype=np.float64), float(dt_s), self._offset, self._minimum, self._inv_span, self._constant,
            self._memory, self._state_size, self.n_units, self._weights_t, self._layers, self.dimension, self._decay,
            self._activity, self._onset, self._fed,
        )  # fmt: skip
        self._fed = True

    def feed_normalised(self, rows: np.ndarray) -> None:
        """Feed rows (N, D) in evaluation's units, one step each: [dt_s,] features in [0, 1] as
        :meth:`segments <antiphon.data.corpus.Corpus.segments>` gives them at scale 1 with the scaler's
        :attr:`~antiphon.data.scaler.MinMaxScaler.linear` twin, which is the scaler itself unless it puts
        features on a log scale (then each row is moved onto that scale first). Evaluation's path: no round
        trip to instrument units where the scales agree. The key's profile takes every row first, so that the whole
        prompt is heard in the key it chooses (:attr:`follow_key`)."""
        rows = np.asarray(rows)
        if self._chroma is not None:
            heard = self._scaler.linear.inverse(rows[:, self._offset :])[:, self._chroma]
            self._calls.hear_rows(self._memory, self._mass_at, np.ascontiguousarray(heard, dtype=np.float64), self._mass_weight)
        if self._key is not None:
            rows = rows.astype(np.float64)  # a copy: the chroma moves
            columns = slice(self._offset + self._chroma.start, self._offset + self._chroma.stop)
            shift = self._key.hear(heard)
            if self._follow_key:
                self._set_shift(shift)
            rows[:, columns] = rotate(rows[:, columns], self._shift)
        if self._scaler.warped:
            rows = rows.astype(np.float64)  # a copy: the features move from the linear scale to the model's
            features = rows[:, self._offset :]
            features[:] = self._scaler.transform(self._scaler.linear.inverse(features))[0]
        for row in rows:
            self._frame[:] = row
            self._advance()
        self._memory[self._anchor_at] = 0.0  # frames heard: the next answer takes the register from here

    def step(self, row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One step on a model-space row (D,); returns mu, sigma (K, D) and logits (K,) of the next frame."""
        self._frame[:] = np.asarray(row) / self.scale
        self._advance()
        return self.params()

    def input_row(self) -> np.ndarray:
        """The model's input row (:attr:`input_size`,) of the last step: the frame (and its level, activity and
        onset clock), scaled."""
        return self._state[: self.input_size] * self.scale

    def _advance(self) -> None:
        """One LSTM step on the frame in the state (its level, activity and onset clock updated first, where the
        model has them)."""
        self._calls.advance(
            self._memory, self._state_size, self.n_units, self._weights_t, self._layers, self.dimension, self._decay, self._activity,
            self._onset, self._fed,
        )  # fmt: skip
        self._fed = True

    def _ready(self) -> None:
        """Before the first frame the head has nothing to read: step the model from a zero input."""
        if not self._fed:
            self._frame[:] = 0.0
            self._advance()

    def params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The full mixture after the last step, in model space: mu, sigma (K, D), logits (K,) (tests and diagnostics)."""
        self._ready()
        k, d = self.n_mixtures, self.dimension
        out = self._head @ self._state
        mu = out[: k * d].reshape(k, d)
        if self.residual:
            mu += self._frame * self.scale
        raw = out[k * d : 2 * k * d].reshape(k, d)
        sigma = np.where(raw > 0, raw, np.expm1(np.minimum(raw, 0.0))) + 1.0 + self.sigma_floor  # elu + 1 + floor
        return mu, sigma, out[2 * k * d :]

    def _dt(self, value: float, min_dt_s: float) -> float:
        """A dt in seconds (unscaled) as a time step: the hop when dt is not modelled, else
        clipped to the training range and to ``min_dt_s``."""
        timing = self.info.timing
        if not self._offset:
            return timing.hop_s
        return max(min(max(value, timing.dt_min_s), timing.dt_max_s), min_dt_s)

    def sample(self, rng: np.random.Generator, min_dt_s: float = 0.001, clip: bool = True) -> tuple[float, np.ndarray]:
        """Draw the next frame: (dt_s, features (F,) in instrument units), the frame to play.

        dt_s is the hop when the model does not model dt; otherwise it is sampled with
        ``dt_temperature`` and kept within the training range and >= ``min_dt_s``. Features are
        clipped to the training range unless ``clip`` is False; the chroma is max-normalised, and a
        clipped draw nearer silence than music is silence (:func:`~antiphon.model.engine_kernels.to_instrument`); a
        sounding frame keeps the rules its training rows obey (:func:`~antiphon.model.engine_kernels.derive`): within the
        range of the frames that sound, the slope its centroid gives, the kurtosis within Pearson's bound. Same draws as
        :func:`~antiphon.model.sampling.sample_mixture` (one uniform, then D normals), using the
        engine's temperatures. Does not feed the frame back (call :meth:`feed`, or :meth:`answer`).

        Two frames come of one draw, the same component and the same noise: the one an answer feeds
        back, its features' variance scaled by ``sigma_temperature`` (the answer's course), and the
        one it plays, scaled by ``played_sigma_temperature`` (the model's own spread at 1), silent
        where the first is. Played at the tempered spread, the answers' spectral shape changed too
        smoothly from frame to frame; fed back at the model's spread, they wandered off
        (docs/model.md, round 7). Both then move toward the answer's register by the same amount
        (:attr:`register_pull_s`), the first draw after a frame was heard taking that register. The frame
        played is then moved back into the key heard (:attr:`follow_key`, :attr:`key_shift`).
        """
        self._ready()
        uniform = rng.random()  # the component's draw first, then the features', as sample_mixture
        noise = rng.standard_normal(self.dimension)
        played = np.empty(len(self._minimum))
        dt = self._calls.draw(
            self._memory, self._state_size, self._logit_wt, self._component_wt, 1.0 / self.pi_temperature, uniform, noise,
            self._sigma_scale, self._played_scale, self._split, self.sigma_floor, self.residual, self._offset, clip, self._span,
            self._minimum, *self._chroma_span, clip and self._chroma_in_range, self._silence, clip and self._silence_reachable,
            self._derivations, self._pull, self._register_at, self._anchor_at, self._fed_frame, played,
        )  # fmt: skip
        if self._hold_chroma_mass:
            self._calls.hold(self._memory, self._mass_at, played, self._chroma.start, self._chroma.stop, self._mass_weight, self._mass_low)
        return self._dt(dt, min_dt_s), self._as_heard(self._unwarp(played) if self._scaler.warped else played)

    def answer(self, rng: np.random.Generator, min_dt_s: float = 0.001, clip: bool = True) -> tuple[float, np.ndarray]:
        """:meth:`sample` the next frame and feed its course back, as every answer does (``serve``,
        ``generate``, ``evaluate``). Returns (dt_s, the frame played (F,) in instrument units), as :meth:`sample`."""
        dt, played = self.sample(rng, min_dt_s, clip)
        self._feed_warped(self._fed_frame, dt)
        return dt, played

    def _instrument(self, normalised: np.ndarray, clip: bool) -> np.ndarray:
        """A normalised row (D,) -> a frame of the format (F,) in instrument units (a new float64 array;
        :func:`~antiphon.model.engine_kernels.to_instrument`)."""
        features = np.empty(len(self._minimum))
        self._calls.to_instrument(
            np.ascontiguousarray(normalised, dtype=np.float64), self._offset, clip, self._span, self._minimum, *self._chroma_span,
            clip and self._chroma_in_range, self._silence, clip and self._silence_reachable, features,
        )  # fmt: skip
        self._calls.derive(features, self._derivations)
        return self._unwarp(features) if self._scaler.warped else features

    def _unwarp(self, frame: np.ndarray) -> np.ndarray:
        """A frame on the scaler's log scale -> instrument units; a chroma on its log scale max-normalised again, as
        expm1(ln(1 + 1 / knee)) * knee gives 1 only to within a unit in the last place."""
        out = self._scaler.unwarp(frame)
        if self._chroma_warped:
            chroma = out[self._chroma]
            strongest = chroma.max()
            if strongest > 0.0:
                chroma /= strongest
        return out

    def mean_frame(self, min_dt_s: float = 0.001) -> tuple[float, np.ndarray]:
        """The mixture's mean as the next frame (dt_s as :meth:`sample` bounds it, features clipped, instrument
        units, in the key heard)."""
        dt, course = self._mean_course(min_dt_s)
        return dt, self._as_heard(course.copy())

    def _mean_course(self, min_dt_s: float) -> tuple[float, np.ndarray]:
        """:meth:`mean_frame` in the model's key, as an answer's course feeds it back."""
        mu, _, logits = self.params()
        weights = np.exp(logits - logits.max())
        row = (weights / weights.sum()) @ mu / self.scale
        return self._dt(float(row[0]), min_dt_s), self._instrument(row, True)

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
                dt, course = self._mean_course(min_dt_s)
                self._feed_course(course, dt)
                features = self._as_heard(course.copy())
            else:
                dt, features = self.answer(rng, min_dt_s, clip)
            steps.append(dt)
            frames.append(features)
            elapsed += dt
        return np.array(steps), np.array(frames).reshape(len(frames), len(self.feature_names))

    def continue_normalised(self, duration_s: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Sample on from the current state, each frame fed back, until ``duration_s`` is covered.

        Returns frame times (N,) in seconds from the current state (the first at one step) and the
        features (N, F) normalised to [0, 1] on the linear scale (evaluation's units, as :meth:`feed_normalised`).
        """
        steps, frames = self.continue_for(duration_s, rng)
        return np.cumsum(steps), self._scaler.linear.transform(frames)[0]
