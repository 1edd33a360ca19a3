"""training.precision and training.device: bfloat16 agrees with float32, auto follows the hardware."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from safetensors.torch import load_file

from antiphon.config import TrainingConfig
from antiphon.errors import ConfigError, ModelError
from antiphon.training import arithmetic
from antiphon.training.arithmetic import resolve_arithmetic
from antiphon.training.loop import train
from tests.conftest import tiny_config

#: the stated tolerance: every epoch's training and validation loss, and the test loss, within this
#: many nats per step of float32's (the losses here fall by about 3 nats over the run)
TOLERANCE_NATS = 0.05


def test_bfloat16_training_agrees_with_float32(tiny_corpus, tmp_path):
    results = {}
    for precision in ("float32", "bfloat16"):
        config = tiny_config(epochs=3)
        config = dataclasses.replace(config, training=dataclasses.replace(config.training, precision=precision))
        results[precision] = train(tiny_corpus, config, tmp_path / precision)
    single, half = results["float32"], results["bfloat16"]
    assert single.history[0]["train_loss"] - single.history[-1]["train_loss"] > 1.0  # it learned: the agreement says something
    for a, b in zip(single.history, half.history, strict=True):
        assert abs(a["train_loss"] - b["train_loss"]) < TOLERANCE_NATS
        assert abs(a["val_loss"] - b["val_loss"]) < TOLERANCE_NATS
    assert abs(single.test_loss - half.test_loss) < TOLERANCE_NATS
    recorded = json.loads((tmp_path / "bfloat16" / "model.json").read_text())["result"]["arithmetic"]
    assert recorded.startswith("cpu, bfloat16")
    assert json.loads((tmp_path / "float32" / "model.json").read_text())["result"]["arithmetic"] == "cpu, float32"
    w32, w16 = load_file(tmp_path / "float32" / "model.safetensors"), load_file(tmp_path / "bfloat16" / "model.safetensors")
    assert all(w16[k].dtype == torch.float32 for k in w16)  # the weights stay float32
    assert any(not torch.equal(w32[k], w16[k]) for k in w32)  # and bfloat16 did change the arithmetic


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_follows_the_hardware(monkeypatch, native):
    monkeypatch.setattr(arithmetic, "cpu_has_native_bfloat16", lambda: native)
    resolved = resolve_arithmetic(TrainingConfig(precision="auto"))
    assert resolved.device == torch.device("cpu")
    assert resolved.precision == ("bfloat16" if native else "float32")
    forced = resolve_arithmetic(TrainingConfig(precision="bfloat16"))
    assert forced.describe() == ("cpu, bfloat16 (native)" if native else "cpu, bfloat16 (emulated: slower than float32 here)")
    # oneDNN has no bfloat16 LSTM without native support: PyTorch's own LSTM runs it then
    assert torch.backends.mkldnn.is_available() is True
    with forced.kernels():
        assert torch.backends.mkldnn.enabled is native


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_a_gpu_asked_for_where_there_is_none_is_a_clear_error():
    with pytest.raises(ModelError, match="no CUDA GPU"):
        resolve_arithmetic(TrainingConfig(device="cuda"))
    assert resolve_arithmetic(TrainingConfig(device="auto")).device == torch.device("cpu")
    with pytest.raises(ConfigError, match="device must be cpu, cuda, cuda:N or auto, got 'gpu'"):
        TrainingConfig(device="gpu")
