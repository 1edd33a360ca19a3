"""The MDRNN (design §3): LSTM layers and a mixture density head, with stateful one-step inference."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from antiphon.config import ModelConfig
from antiphon.errors import ConfigError
from antiphon.model.level import input_width, level_decay
from antiphon.model.mdn import BROAD_SHARE, MDNHead, Tails, sample_mixture_torch

State = tuple[torch.Tensor, torch.Tensor]

#: why :meth:`MDRNN.rollout` refuses a model with an activity input (training checks it before it starts)
ROLLOUT_WITH_ACTIVITY = (
    "training.rollout_steps cannot train a model with model.activity_steps or model.onset_clock (set rollout_steps or those to 0)"
)


class MDRNN(nn.Module):
    """``n_layers`` LSTM layers of ``n_units`` and an MDN head over ``dimension`` values per step.

    :meth:`forward` runs whole sequences (training); :meth:`step` runs one step at a time with
    the recurrent state passed in and out (inference), giving the same numbers.
    """

    def __init__(self, dimension: int, config: ModelConfig | None = None, value_range: float = 1.0) -> None:
        """``value_range``: the width of every value's range in the data's units (``training.scale_factor``),
        which sets the broad Gaussian of :attr:`tails` (:data:`~antiphon.model.mdn.BROAD_SHARE` of it)."""
        super().__init__()
        cfg = config or ModelConfig()
        self.config, self.dimension = cfg, dimension
        #: the density's heavier tails, for every likelihood of this model's outputs (None: Gaussians alone)
        self.tails = Tails(cfg.outlier_weight, BROAD_SHARE * value_range) if cfg.outlier_weight > 0 else None
        #: values per input row: the frame, then its running level, activity and onset clock where the model
        #: sees them (model.level_steps, model.activity_steps, model.onset_clock)
        self.input_size = input_width(dimension, cfg.level_steps, cfg.activity_steps, cfg.onset_clock)
        self.lstm = nn.LSTM(
            self.input_size, cfg.n_units, num_layers=cfg.n_layers, batch_first=True, dropout=cfg.dropout if cfg.n_layers > 1 else 0.0
        )
        self.head = MDNHead(cfg.n_units + (self.input_size if cfg.skip else 0), dimension, cfg.n_mixtures, cfg.sigma_floor)
        if cfg.init == "keras":
            keras_initialise(self)

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], State]:
        """x (B, T, :attr:`input_size`) -> ((mu (B, T, K, D), sigma (B, T, K, D), logits (B, T, K)), state).

        Each input row is the frame (D values), followed by its running level when
        ``config.level_steps`` is set, its activity when ``config.activity_steps`` is and its onset
        clock when ``config.onset_clock`` is
        (:func:`antiphon.model.level.model_inputs` makes such rows).
        With ``config.skip`` the head sees each step's input beside the LSTM output; with
        ``config.residual`` its means are offsets from that step's frame. Under autocast
        (``training.precision = "bfloat16"``) only the LSTM layers run in bfloat16.
        """
        h, state = self.lstm(x, state)
        if torch.is_autocast_enabled(x.device.type):  # training in bfloat16: the LSTM only; the head and the loss in float32
            with torch.autocast(x.device.type, enabled=False):
                return self._head(h.float(), x), state
        return self._head(h, x), state

    def _head(self, h: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, sigma, logits = self.head(torch.cat([h, x], dim=-1) if self.config.skip else h)
        if self.config.residual:
            mu = mu + x[..., : self.dimension].unsqueeze(-2)
        return mu, sigma, logits

    def rollout(
        self, x: torch.Tensor, free_steps: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Like :meth:`forward` on x (B, T, D), but the last ``free_steps`` inputs are the model's own
        draws (each from the mixture of the step before, without gradient, its running level
        updated with it) instead of x's rows: the model is then trained on the states its answers
        lead it into (scheduled sampling).

        Raises:
            ConfigError: the model sees an activity input or an onset clock (the rows hold their inputs, not the running
                mean a rollout would continue).
        """
        if self.config.activity_steps or self.config.onset_clock:
            raise ConfigError(ROLLOUT_WITH_ACTIVITY)
        teacher = x.shape[1] - free_steps
        (mu, sigma, logits), state = self.forward(x[:, :teacher])
        outputs = [(mu, sigma, logits)]
        last = (mu[:, -1], sigma[:, -1], logits[:, -1])
        level = x[:, teacher - 1, self.dimension :]  # the running level, where the model sees one
        decay = level_decay(self.config.level_steps) if self.config.level_steps else 0.0
        for _ in range(free_steps):
            drawn = sample_mixture_torch(*last, generator=generator)
            if self.config.level_steps:
                level = decay * level + (1.0 - decay) * drawn
                drawn = torch.cat([drawn, level], dim=-1)
            (mu, sigma, logits), state = self.forward(drawn.unsqueeze(1), state)
            outputs.append((mu, sigma, logits))
            last = (mu[:, -1], sigma[:, -1], logits[:, -1])
        return tuple(torch.cat(parts, dim=1) for parts in zip(*outputs))  # type: ignore[return-value]

    def initial_state(self, batch: int = 1) -> State:
        zeros = torch.zeros(self.config.n_layers, batch, self.config.n_units)
        return zeros, zeros.clone()

    @torch.inference_mode()
    def step(self, x: np.ndarray | torch.Tensor, state: State | None = None) -> tuple[tuple[np.ndarray, ...], State]:
        """One step: x (:attr:`input_size`,) -> ((mu (K, D), sigma (K, D), logits (K,)) as NumPy, new state)."""
        inputs = torch.as_tensor(np.asarray(x, dtype=np.float32)).view(1, 1, -1)
        (mu, sigma, logits), state = self.forward(inputs, state if state is not None else self.initial_state())
        return (mu[0, 0].numpy(), sigma[0, 0].numpy(), logits[0, 0].numpy()), state

    def weight_matrices(self) -> list[nn.Parameter]:
        """The trainable weight matrices (not biases): what L1/L2 penalties apply to."""
        return [p for p in self.parameters() if p.requires_grad and p.ndim >= 2]

    def n_parameters(self) -> int:
        """Trainable parameters (Keras's count: 69,015 for size s, 2 layers, 5 mixtures, dimension 21)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def keras_initialise(model: MDRNN) -> None:
    """tf.keras defaults: glorot-uniform kernels, orthogonal recurrent kernels, zero biases with
    the forget-gate bias at 1 (``unit_forget_bias``), and one bias per gate as Keras has: torch's
    second LSTM bias is zeroed and frozen. Draws from torch's global generator (seed it first)."""
    n_units = model.config.n_units
    with torch.no_grad():
        for name, parameter in model.lstm.named_parameters():
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(parameter)  # fan_in = inputs, fan_out = 4 units, as Keras's (in, 4H) kernel
            elif name.startswith("weight_hh"):
                nn.init.orthogonal_(parameter)
            elif name.startswith("bias_ih"):
                parameter.zero_()
                parameter[n_units : 2 * n_units] = 1.0  # gate order i, f, g, o: the forget gate
            elif name.startswith("bias_hh"):
                parameter.zero_()
                parameter.requires_grad_(False)
        nn.init.xavier_uniform_(model.head.linear.weight)
        model.head.linear.bias.zero_()
