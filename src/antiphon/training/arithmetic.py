"""Where and in what precision training runs: ``training.device`` and ``training.precision``
resolved against this machine.

bfloat16 is PyTorch's autocast around the LSTM layers only: the weights, their gradients, the
optimizer's state and update (Keras semantics), the mixture head and the loss stay float32
(:meth:`antiphon.model.mdrnn.MDRNN.forward` runs its head outside autocast), and validation is
always float32, so the early-stopping loss is the same measure whatever trains. It is fast only
where the processor computes bfloat16 natively (AVX-512 BF16 or AMX on x86, any CUDA GPU that
autocast supports); elsewhere oneDNN has no bfloat16 LSTM and PyTorch's own LSTM runs it
emulated, several times slower than float32 (measured on an AVX2 machine: 307 vs 51 ms per
batch of the paper's model) -- correct, and what the agreement test runs where nothing faster exists.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from antiphon.config import TrainingConfig
from antiphon.errors import ModelError

Precision = Literal["float32", "bfloat16"]


def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (oneDNN's own test: AVX-512 BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN: read the CPU's flags where Linux gives them
        try:
            flags = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
        return "avx512_bf16" in flags or "amx_bf16" in flags


@dataclass(frozen=True)
class Arithmetic:
    """The resolved device and precision of one training run."""

    device: torch.device
    precision: Precision
    native: bool  # bfloat16 computed by the hardware (False: emulated; always True for float32)

    def autocast(self) -> contextlib.AbstractContextManager:
        """Around the forward pass: the LSTM in bfloat16 when that is the precision; a no-op for float32."""
        if self.precision == "float32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def kernels(self) -> contextlib.AbstractContextManager:
        """Around the forward and backward passes: oneDNN off where it has no bfloat16 LSTM (it refuses
        the primitive on such CPUs), so PyTorch's own LSTM runs the emulated arithmetic instead."""
        if self.precision == "bfloat16" and self.device.type == "cpu" and not self.native:
            return torch.backends.mkldnn.flags(enabled=False)
        return contextlib.nullcontext()

    def describe(self) -> str:
        """For model.json and the progress line, e.g. ``cpu, bfloat16 (native)``."""
        suffix = "" if self.precision == "float32" else (" (native)" if self.native else " (emulated: slower than float32 here)")
        return f"{self.device}, {self.precision}{suffix}"


def resolve_arithmetic(config: TrainingConfig) -> Arithmetic:
    """``config.device`` and ``config.precision`` on this machine.

    Raises:
        ModelError: a CUDA device was asked for and PyTorch sees none (or not that index), or
            scheduled-sampling rollouts (``rollout_steps``) were asked for on a GPU (their draws
            use a CPU generator).
    """
    name = config.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelError(
                f"training.device = {config.device!r}: PyTorch sees no CUDA GPU here (torch {torch.__version__}); use 'cpu' or 'auto'"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ModelError(f"training.device = {config.device!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
        if config.rollout_steps:
            raise ModelError("training.rollout_steps draws on the CPU: train rollouts with training.device = 'cpu'")
    if config.precision == "float32":
        return Arithmetic(device, "float32", True)
    native = torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_has_native_bfloat16()
    precision: Precision = "bfloat16" if config.precision == "bfloat16" or native else "float32"
    return Arithmetic(device, precision, native or precision == "float32")
