"""The NumPy engine against the torch model: the same numbers, without torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from antiphon.model.directory import load_model
from antiphon.model.sampling import sample_mixture
from antiphon.realtime.engine import Engine


@pytest.fixture(params=["constant_hop", "timed"])
def any_model_dir(request, model_dir, timed_model_dir):
    """Both kinds of model: frames at a fixed hop (no dt dimension) and irregular frames (dt modelled)."""
    return model_dir if request.param == "constant_hop" else timed_model_dir


def test_the_two_fixtures_differ_in_timing(model_dir, timed_model_dir):
    assert not Engine.from_model_dir(model_dir).info.timing.dt_modelled
    timed = Engine.from_model_dir(timed_model_dir).info
    assert timed.timing.dt_modelled and timed.columns[0] == "dt_s" and timed.timing.dt_min_s < timed.timing.dt_max_s


def test_feed_equals_the_torch_model(any_model_dir):
    model_dir = any_model_dir
    engine = Engine.from_model_dir(model_dir)
    model, info = load_model(model_dir)
    rng = np.random.default_rng(0)
    state = None
    for _ in range(40):
        features = info.scaler.minimum + rng.random(3) * (info.scaler.maximum - info.scaler.minimum)
        row = engine.scale_row(features, 0.01).astype(np.float32)
        (mu, sigma, logits), state = model.step(row, state)
        engine.feed(features, 0.01)
        for ours, theirs in zip(engine.params(), (mu, sigma, logits)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_sampling_equals_the_torch_path_with_the_same_random_state(any_model_dir):
    engine = Engine.from_model_dir(any_model_dir)
    model, info = load_model(any_model_dir)
    engine.pi_temperature, engine.sigma_temperature, engine.dt_temperature = 0.7, 0.5, 0.5
    o, timing = (1 if info.timing.dt_modelled else 0), info.timing
    ours_rng, theirs_rng = np.random.default_rng(11), np.random.default_rng(11)
    state = None
    features = info.scaler.minimum + 0.3 * (info.scaler.maximum - info.scaler.minimum)
    for _ in range(50):
        (mu, sigma, logits), state = model.step(engine.scale_row(features, 0.01).astype(np.float32), state)
        engine.feed(features, 0.01)
        dt, ours = engine.sample(ours_rng)
        theirs = sample_mixture(mu, sigma, logits, theirs_rng, pi_temperature=0.7, sigma_temperature=0.5)
        theirs /= info.training.scale_factor
        expected_dt = max(min(max(theirs[0], timing.dt_min_s), timing.dt_max_s), 0.001) if o else timing.hop_s
        np.testing.assert_allclose(dt, expected_dt, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ours, info.scaler.inverse(np.clip(theirs[o:], 0, 1)), rtol=1e-5, atol=1e-4)
        features = ours


def test_reset_and_state_snapshots(model_dir):
    engine = Engine.from_model_dir(model_dir)
    features = engine.info.scaler.minimum
    first = engine.params()[0].copy()
    snapshot = engine.get_state()
    engine.feed(features, 0.01)
    after = engine.params()[0].copy()
    assert not np.allclose(first, after)
    engine.set_state(snapshot)
    engine.feed(features, 0.01)
    np.testing.assert_array_equal(engine.params()[0], after)
    engine.reset()
    np.testing.assert_array_equal(engine.params()[0], first)


def test_the_engine_loads_without_torch(model_dir):
    script = (
        "import sys\nfrom antiphon.realtime.engine import Engine\nfrom antiphon.realtime.session import Session\n"
        f"Engine.from_model_dir({str(model_dir)!r})\nprint('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert torch is not None  # this process may import torch; the check runs in a fresh one


def test_sampled_time_steps_have_their_own_temperature_and_stay_in_the_training_range(timed_model_dir):
    engine = Engine.from_model_dir(timed_model_dir)
    timing, scale = engine.info.timing, engine.scale
    engine.sigma_temperature, engine.dt_temperature = 1.0, 0.0  # time steps at the component's mean, features sampled
    rng = np.random.default_rng(3)
    features = engine.info.scaler.minimum + 0.5 * (engine.info.scaler.maximum - engine.info.scaler.minimum)
    engine.feed(features, timing.hop_s)
    for _ in range(30):
        mu = engine.params()[0][:, 0] / scale  # each component's mean time step, seconds
        dt, features = engine.sample(rng)
        allowed = np.clip(mu, timing.dt_min_s, timing.dt_max_s)
        assert np.min(np.abs(allowed - dt)) < 1e-6 and timing.dt_min_s <= dt <= timing.dt_max_s
        engine.feed(features, dt)
    engine.dt_temperature = 100.0  # wild time steps are still never outside what training saw
    steps = [engine.sample(rng)[0] for _ in range(200)]
    assert min(steps) == timing.dt_min_s and max(steps) == timing.dt_max_s  # clipped at both ends, never past them
