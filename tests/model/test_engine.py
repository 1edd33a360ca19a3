"""The NumPy engine against the torch model: the same numbers, without torch."""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest
import torch

from antiphon.model import engine_kernels as kernels
from antiphon.model.directory import load_model
from antiphon.model.engine import Engine
from antiphon.model.sampling import sample_mixture


@pytest.fixture(params=["constant_hop", "timed", "residual", "level", "scaled", "activity", "onset", "log_frequency"])
def any_model_dir(
    request,
    model_dir,
    timed_model_dir,
    residual_model_dir,
    level_model_dir,
    scaled_model_dir,
    activity_model_dir,
    onset_model_dir,
    log_frequency_model_dir,
):
    """Every kind of model: frames at a fixed hop (no dt dimension), irregular frames (dt modelled),
    means as offsets from the current frame, one that sees the running level (with a skip path),
    one trained at IMPSY's scale factor 10 (which the engine folds into its weights), one that
    sees the running activity too (at scale 10), one that sees an onset clock (at scale 10), and
    one that learned the centroid on a log-frequency scale."""
    models = {
        "log_frequency": log_frequency_model_dir,
        "constant_hop": model_dir,
        "timed": timed_model_dir,
        "residual": residual_model_dir,
        "level": level_model_dir,
        "scaled": scaled_model_dir,
        "activity": activity_model_dir,
        "onset": onset_model_dir,
    }
    return models[request.param]


def test_the_two_fixtures_differ_in_timing(model_dir, timed_model_dir):
    assert not Engine.from_model_dir(model_dir).info.timing.dt_modelled
    timed = Engine.from_model_dir(timed_model_dir).info
    assert timed.timing.dt_modelled and timed.columns[0] == "dt_s" and timed.timing.dt_min_s < timed.timing.dt_max_s


@pytest.mark.parametrize("n_layers", [1, 3])
def test_any_number_of_layers_steps_as_the_torch_model(tmp_path, n_layers):
    """The engine's state vector interleaves each layer's output with a constant 1 (its bias
    column); one layer and three lay it out differently from the default two."""
    from tests.conftest import _trained_model

    folder = _trained_model(tmp_path / "model", n_layers=n_layers)
    assert Engine.from_model_dir(folder).n_layers == n_layers
    test_feed_equals_the_torch_model(folder)


def test_feed_equals_the_torch_model(any_model_dir):
    model_dir = any_model_dir
    engine = Engine.from_model_dir(model_dir)
    model, info = (t := load_model(model_dir)).network, t.info
    rng = np.random.default_rng(0)
    state = None
    for _ in range(40):
        features = info.scaler.minimum + rng.random(3) * (info.scaler.maximum - info.scaler.minimum)
        engine.feed(features, 0.01)
        if not info.model.level_steps and not info.model.activity_steps:
            np.testing.assert_allclose(engine.input_row(), engine.scale_row(features, 0.01), rtol=1e-6, atol=1e-6)
        (mu, sigma, logits), state = model.step(engine.input_row(), state)
        for ours, theirs in zip(engine.params(), (mu, sigma, logits)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_sampling_equals_the_torch_path_with_the_same_random_state(any_model_dir):
    engine = Engine.from_model_dir(any_model_dir)
    model, info = (t := load_model(any_model_dir)).network, t.info
    engine.pi_temperature, engine.sigma_temperature, engine.dt_temperature = 0.7, 0.5, 0.5
    engine.played_sigma_temperature = 0.9  # the frame played: the same draw, its features' noise scaled by 0.9
    engine.register_pull_s = 0.0  # the register pull moves the draw after it is made (tested below)
    o, timing = (1 if info.timing.dt_modelled else 0), info.timing
    ours_rng, theirs_rng = np.random.default_rng(11), np.random.default_rng(11)
    state = None
    features = info.scaler.minimum + 0.3 * (info.scaler.maximum - info.scaler.minimum)
    engine.feed(features, 0.01)
    for _ in range(50):
        (mu, sigma, logits), state = model.step(engine.input_row(), state)
        drawn = {}
        for temperature in (0.5, 0.9):
            rng = copy.deepcopy(theirs_rng)
            drawn[temperature] = sample_mixture(mu, sigma, logits, rng, pi_temperature=0.7, sigma_temperature=temperature)
            drawn[temperature] /= info.training.scale_factor
        theirs_rng = rng
        if o:  # the time step is drawn at dt_temperature in both
            drawn[0.9][0] = drawn[0.5][0]
        dt, played = engine.answer(ours_rng)  # plays one, feeds the other back
        expected_dt = max(min(max(drawn[0.5][0], timing.dt_min_s), timing.dt_max_s), 0.001) if o else timing.hop_s
        np.testing.assert_allclose(dt, expected_dt, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(played, info.scaler.inverse(np.clip(drawn[0.9][o:], 0, 1)), rtol=1e-5, atol=1e-4)
        fed = info.scaler.inverse(np.clip(drawn[0.5][o:], 0, 1))
        if not info.model.level_steps and not info.model.activity_steps:
            np.testing.assert_allclose(engine.input_row(), engine.scale_row(fed, dt), rtol=1e-5, atol=1e-4)


def test_an_answer_plays_the_models_spread_and_follows_its_tempered_course(model_dir):
    """One draw, two frames: the one fed back has its features' noise scaled by sigma_temperature,
    the one played by played_sigma_temperature; the state follows the first."""
    engines = [Engine.from_model_dir(model_dir) for _ in range(3)]
    features = engines[0].info.scaler.minimum + 0.4 * (engines[0].info.scaler.maximum - engines[0].info.scaler.minimum)
    for engine, (course, played) in zip(engines, ((0.0, 1.0), (0.0, 0.0), (1.0, 1.0))):
        engine.sigma_temperature, engine.played_sigma_temperature = course, played
        engine.register_pull_s = 0.0  # each course its own pull would part the frames played (tested below)
        engine.feed(features, 0.01)
    split, means, spread = ([] for _ in range(3))
    for _ in range(5):
        for engine, frames in zip(engines, (split, means, spread)):
            frames.append(engine.answer(np.random.default_rng(len(frames)))[1])  # the same draws in all three
        np.testing.assert_array_equal(engines[0].params()[0], engines[1].params()[0])  # the split one followed the means
    np.testing.assert_allclose(split[0], spread[0], rtol=1e-6)  # and played the model's spread (the same state so far)
    assert np.abs(split[0] - means[0]).max() > 1e-3


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
    """Nor scipy's signal module (1.3 s and 70 MB of serve's start-up)."""
    script = (
        "import sys\nfrom antiphon.model.engine import Engine\nfrom antiphon.realtime.session import Session\n"
        f"Engine.from_model_dir({str(model_dir)!r})\nprint('torch' in sys.modules, 'scipy.signal' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"
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


def test_the_level_is_the_running_mean_of_the_frames_fed(level_model_dir):
    from antiphon.model.level import running_level

    engine = Engine.from_model_dir(level_model_dir)
    rows = np.random.default_rng(3).random((30, 3))
    engine.feed_normalised(rows)
    expected = running_level(rows, 8)[-1]
    np.testing.assert_allclose(engine.input_row(), np.r_[rows[-1], expected], rtol=1e-5, atol=1e-6)
    assert not np.allclose(expected, rows[-1]) and not np.allclose(expected, rows.mean(axis=0))
    snapshot = engine.get_state()
    engine.feed_normalised(rows[:5])
    engine.set_state(snapshot)
    np.testing.assert_allclose(engine.input_row()[3:], expected, rtol=1e-5, atol=1e-6)  # the level is part of the state


def test_the_onset_clock_counts_the_frames_since_the_fed_rows_last_jumped(onset_model_dir):
    from antiphon.model.level import model_inputs
    from tests.model.test_onset import _picked

    engine = Engine.from_model_dir(onset_model_dir)
    d = engine.dimension
    assert engine.input_size == 2 * d + 2 and engine.scale == 10.0
    rows = np.clip(_picked(40, [10, 19, 28])[:, :d], 0.0, 1.0)  # dt (s), then features, jumping every 9 frames
    engine.feed_normalised(rows[:1])
    np.testing.assert_allclose(engine.input_row()[2 * d :], [1.0, 1.0], rtol=1e-6)  # nothing heard yet: at the cap
    engine.feed_normalised(rows[1:])
    expected = model_inputs(rows * 10.0, 8, 0, 12)[-1]  # as training computes it, on the scaled rows
    np.testing.assert_allclose(engine.input_row(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(expected[2 * d :], [11 / 12, 9 / 12], rtol=1e-6)  # 11 frames since the last jump, 9 before
    snapshot = engine.get_state()
    engine.feed_normalised(rows[:1])  # a jump back: an onset
    np.testing.assert_allclose(engine.input_row()[2 * d :], [0.0, 12 / 12], rtol=1e-6)
    engine.set_state(snapshot)  # the clock is part of the state
    np.testing.assert_allclose(engine.input_row(), expected, rtol=1e-5, atol=1e-5)
    engine.reset()
    engine.feed_normalised(rows[:30])  # a reset starts the clock again
    np.testing.assert_allclose(engine.input_row()[2 * d :], [1 / 12, 9 / 12], rtol=1e-6)


def test_the_activity_is_the_running_mean_step_of_the_frames_fed(activity_model_dir):
    from antiphon.model.level import model_inputs

    engine = Engine.from_model_dir(activity_model_dir)
    assert engine.input_size == 3 * engine.dimension and engine.scale == 10.0
    rng = np.random.default_rng(4)
    rows = np.c_[rng.uniform(0.005, 0.02, 30), rng.random((30, 3)) * [1.0, 0.1, 0.01]]  # dt (s), then busy to calm features
    engine.feed_normalised(rows[:1])
    np.testing.assert_allclose(engine.input_row()[8:], np.full(4, -1.0), rtol=1e-6)  # one frame: no step yet
    engine.feed_normalised(rows[1:])
    expected = model_inputs(rows * 10.0, 8, 6)[-1]  # as training computes it, on the scaled rows
    np.testing.assert_allclose(engine.input_row(), expected, rtol=1e-5, atol=1e-5)
    assert expected[9] > expected[10] > expected[11]
    snapshot = engine.get_state()
    engine.feed_normalised(rows[:5])
    assert not np.allclose(engine.input_row()[8:], expected[8:], atol=1e-3)
    engine.set_state(snapshot)
    np.testing.assert_allclose(engine.input_row(), expected, rtol=1e-5, atol=1e-5)  # the activity is part of the state
    engine.feed_normalised(rows[5:6])  # and so is the frame its next step is measured from
    np.testing.assert_allclose(engine.input_row(), model_inputs(np.r_[rows, rows[5:6]] * 10.0, 8, 6)[-1], rtol=1e-5, atol=1e-5)


def test_residual_means_are_offsets_from_the_frame_fed(residual_model_dir):
    engine = Engine.from_model_dir(residual_model_dir)
    assert engine.info.model.residual
    for normalised in (np.zeros(3), np.full(3, 0.7)):
        engine.feed(engine.info.scaler.inverse(normalised), 0.01)
        mu = engine.params()[0]
        engine.residual = False  # the head's own output, without the frame added
        plain = engine.params()[0]
        engine.residual = True
        np.testing.assert_allclose(mu - plain, np.broadcast_to(normalised * engine.scale, mu.shape), atol=1e-6)


def _spectral_model(folder, pauses: bool = False, **corpus):
    """A tiny model of the 20 Spectral features (random max-normalised chroma, shape values near
    1000) trained one epoch, with ``corpus`` settings changed; with ``pauses``, every fifth frame of the take is
    silence (every feature 0, as the analyser and the quiet rule write it), so 0 is within every feature's training
    range."""
    import dataclasses

    from antiphon.data.analysis_json import new_document
    from antiphon.data.corpus import build_corpus
    from antiphon.feature_names import CHROMA_NAMES, SPECTRAL_NAMES
    from antiphon.training.loop import train
    from tests.conftest import tiny_config

    rng = np.random.default_rng(0)
    n = 400
    chroma = rng.random((n, 12))
    chroma /= chroma.max(axis=1, keepdims=True)
    shape = {name: 1000 + 100 * rng.standard_normal(n) for name in SPECTRAL_NAMES[:8]}
    values = {**shape, **dict(zip(CHROMA_NAMES, chroma.T))}
    if pauses:
        for name in values:
            values[name][::5] = 0.0
    document = new_document(10.0 * np.arange(1, n + 1), values, {}, source="c.json")
    config = tiny_config(epochs=1)
    config = dataclasses.replace(config, corpus=dataclasses.replace(config.corpus, features=SPECTRAL_NAMES, **corpus))
    train(build_corpus([document], config.corpus), config, folder)
    return Engine.from_model_dir(folder)


def test_an_answer_returns_toward_the_register_its_prompt_left(tmp_path_factory):
    """The register pull: the first draw after frames were heard takes the running level as the answer's register;
    each sounding frame fed back moves 1 - exp(-hop / register_pull_s) of the way from its draw toward it in every
    feature but the chroma, and the frame played by the same amount; the register holds over the answer, is part of
    a snapshot, and a frame heard makes the next draw take a new one."""
    from antiphon.feature_names import CHROMA_NAMES, SPECTRAL_NAMES

    pulled = _spectral_model(tmp_path_factory.mktemp("pull") / "model")
    free = Engine.from_model_dir(pulled.info.folder)
    free.register_pull_s = 0.0
    assert pulled.register_pull_s == 0.25 and pulled.info.model.level_steps > 0
    chroma = [SPECTRAL_NAMES.index(c) for c in CHROMA_NAMES]
    shape = [i for i in range(20) if i not in chroma]
    scaler = pulled.info.scaler
    rows = np.random.default_rng(3).random((40, 20))
    for engine in (pulled, free):
        engine.feed_normalised(rows)
    assert pulled.register is None  # not until the answer's first draw
    level = pulled.input_row()[20:40]  # the prompt's running level, normalised
    (_, played), (_, played_free) = pulled.sample(np.random.default_rng(5)), free.sample(np.random.default_rng(5))
    register = scaler.inverse(np.clip(level, 0.0, 1.0))
    np.testing.assert_allclose(pulled.register, register, rtol=1e-5)
    assert free.register is None
    fraction = -np.expm1(-pulled.info.timing.hop_s / 0.25)
    course, course_free = pulled._fed_frame.copy(), free._fed_frame.copy()
    np.testing.assert_allclose(course[shape], (course_free + fraction * (register - course_free))[shape], rtol=1e-5)
    np.testing.assert_array_equal(course[chroma], course_free[chroma])
    np.testing.assert_allclose(played - played_free, course - course_free, atol=1e-6 * np.abs(register).max())
    assert np.abs(played - course).max() > 1e-3  # two frames: the one played is not the one fed back

    # the register holds over the answer, and comes back with a snapshot
    snapshot = pulled.get_state()
    for _ in range(20):
        pulled.answer(np.random.default_rng(1))
    np.testing.assert_array_equal(pulled.register, register.astype(np.float32))
    pulled.feed(scaler.maximum, 0.01)  # the performer plays again: the next answer's register is taken then
    assert pulled.register is None
    level_now = pulled.input_row()[20:40]
    pulled.sample(np.random.default_rng(1))
    np.testing.assert_allclose(pulled.register, scaler.inverse(np.clip(level_now, 0.0, 1.0)), rtol=1e-5)
    assert np.abs(pulled.register - register)[shape].min() > 1.0
    pulled.set_state(snapshot)
    np.testing.assert_array_equal(pulled.register, register.astype(np.float32))

    # where the model's course is a random walk (its means held at the frame fed: residual, the head's means zeroed),
    # the pull keeps a whole answer's frames played near the register; without it they wander off
    assert pulled.residual
    distance = {}
    for engine in (pulled, free):
        engine.reset()
        engine.feed_normalised(rows)
        engine._component_wt[:, :, :20] = 0.0
        engine.sigma_temperature = engine.played_sigma_temperature = 0.0005  # steps of about 0.02 (normalised)
        _, frames = engine.continue_for(3.0, np.random.default_rng(7))
        distance[engine is pulled] = np.abs(scaler.transform(frames)[0][:, shape] - np.clip(level, 0, 1)[shape]).mean()
    assert distance[True] < 0.5 * distance[False], distance


def test_a_model_without_a_running_level_takes_the_last_frame_heard_as_its_register(tmp_path):
    """The paper's model sees no running level: its answer is pulled toward the last frame it heard."""
    from tests.conftest import _trained_model

    engine = Engine.from_model_dir(_trained_model(tmp_path / "model", level_steps=0, residual=False, skip=False))
    assert engine.info.model.level_steps == 0
    scaler = engine.info.scaler
    heard = scaler.minimum + np.array([0.2, 0.7, 0.4]) * (scaler.maximum - scaler.minimum)
    engine.feed(scaler.maximum, 0.01)
    engine.feed(heard, 0.01)
    engine.sample(np.random.default_rng(0))
    np.testing.assert_allclose(engine.register, heard, rtol=1e-5)


def test_every_answer_frame_keeps_the_format(tmp_path_factory):
    """A model of the 20 Spectral features answers frames whose chroma is max-normalised (one class at 1)."""
    from antiphon.feature_names import CHROMA_NAMES, SPECTRAL_NAMES

    engine = _spectral_model(tmp_path_factory.mktemp("fmt") / "model")
    # wide draws: without the projection most frames would have no class at 1
    engine.sigma_temperature = engine.played_sigma_temperature = 4.0
    _, frames = engine.continue_for(1.0, np.random.default_rng(1))
    columns = [SPECTRAL_NAMES.index(c) for c in CHROMA_NAMES]
    np.testing.assert_allclose(frames[:, columns].max(axis=1), 1.0)
    assert frames[:, columns].min() >= 0.0
    assert np.all(frames >= engine.info.scaler.minimum - 1e-9) and np.all(frames <= engine.info.scaler.maximum + 1e-9)

    # The projection is to the nearest frame of the format, not a division: the largest class is
    # raised to 1 and the others stay where the model put them (dividing by 0.5 would double them,
    # and fed back, frame after frame, flatten the chroma).
    def projected(frame: np.ndarray) -> np.ndarray:  # a row in instrument units, unclipped, to the format
        out = np.empty(20)
        kernels.to_instrument(frame, 0, False, np.ones(20), np.zeros(20), *engine._chroma_span, False, np.zeros(20), False, out)
        return out

    frame = np.full(20, 0.5)
    frame[columns] = [0.1, 0.5, 0.2, 0.0, 1.3, -0.1, 0.3, 0.0, 0.0, 0.4, 0.0, 0.05]
    np.testing.assert_allclose(projected(frame)[columns], [0.1, 0.5, 0.2, 0.0, 1.0, 0.0, 0.3, 0.0, 0.0, 0.4, 0.0, 0.05])
    frame[columns] = [0.1, 0.45, 0.2, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    np.testing.assert_allclose(projected(frame)[columns], [0.1, 1.0, 0.2, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    frame[columns] = 0.0  # a silent frame's chroma stays silent
    np.testing.assert_array_equal(projected(frame)[columns], 0.0)
    # chroma draws have their own variance scale: with the others' at 0, only the chroma moves off the component's mean
    engine.sigma_temperature = engine.played_sigma_temperature = engine.chroma_sigma_temperature = 0.0
    state = engine.get_state()
    _, calm = engine.sample(np.random.default_rng(5))
    engine.chroma_sigma_temperature = 1.0
    engine.set_state(state)
    _, moved = engine.sample(np.random.default_rng(5))  # the same uniform draw: the same component
    shape = [i for i in range(20) if i not in columns]
    np.testing.assert_allclose(moved[shape], calm[shape], rtol=1e-6)
    assert np.abs(moved[columns] - calm[columns]).max() > 0.01


def test_an_answer_pauses_where_its_draw_lies_nearer_silence(tmp_path_factory):
    """Silence (every feature 0) is a frame of the format too: a draw nearer it than to the nearest
    max-normalised frame becomes it, where the model learned silence. A model that never heard a
    pause never answers one."""
    from antiphon.feature_names import CHROMA_NAMES, SPECTRAL_NAMES

    columns = [SPECTRAL_NAMES.index(c) for c in CHROMA_NAMES]
    shape = [i for i in range(20) if i not in columns]

    def projected(frame: np.ndarray) -> np.ndarray:  # normalised units = instrument units, silence at 0
        out = np.empty(20)
        kernels.to_instrument(frame, 0, True, np.ones(20), np.zeros(20), columns[0], columns[-1] + 1, 1.0, True, np.zeros(20), True, out)
        return out

    frame = np.zeros(20)
    frame[columns[3]] = 0.3  # 0.3 from silence, 0.7 from the frame with that class at 1
    np.testing.assert_array_equal(projected(frame), 0.0)
    frame[columns[3]] = 0.6  # 0.6 from silence, 0.4 from music
    assert projected(frame)[columns[3]] == 1.0
    frame[columns[3]], frame[shape] = 0.3, 0.3  # a faint chroma on a loud frame: music is nearer (0.49 < 0.81)
    np.testing.assert_allclose(projected(frame)[shape], 0.3)
    assert projected(frame)[columns[3]] == 1.0

    # Through the engine: the means held at the frame fed (residual, the head's means zeroed) and no noise.
    heard = _spectral_model(tmp_path_factory.mktemp("pauses") / "model", pauses=True)
    deaf = _spectral_model(tmp_path_factory.mktemp("no_pauses") / "model")
    scaler = heard.info.scaler
    np.testing.assert_array_equal(scaler.minimum[shape], 0.0)  # the pauses are in the training range
    music = scaler.sounding_minimum + 0.5 * (scaler.sounding_maximum - scaler.sounding_minimum)  # a frame of the sounding range
    music[columns] = np.linspace(0.1, 1.0, 12)
    faint = 0.02 * scaler.maximum  # 2 % of the way from silence in every feature, the chroma's largest class 0.02
    for engine in (heard, deaf):
        engine._component_wt[:, :, :20] = 0.0
        engine.sigma_temperature = engine.played_sigma_temperature = 0.0005  # steps of about 0.02 (normalised)
        engine.sigma_temperature = engine.played_sigma_temperature = engine.chroma_sigma_temperature = 0.0
    rng = np.random.default_rng(0)
    for fed, expected in ((np.zeros(20), np.zeros(20)), (music, music), (faint, np.zeros(20))):
        heard.reset()
        heard.feed(fed, 0.0)
        np.testing.assert_allclose(heard.sample(rng)[1], expected, rtol=1e-5, atol=1e-4)
    heard.played_sigma_temperature = 4.0  # the frame played pauses where the frame fed back does, however it is drawn
    heard.feed(np.zeros(20), 0.0)
    np.testing.assert_array_equal(heard.sample(rng)[1], 0.0)
    heard.feed(music, 0.0)
    assert np.abs(heard.sample(rng)[1] - music).max() > 0.01
    deaf.feed(faint, 0.0)  # clipped to its training range, but never silence: the largest class rises to 1
    _, answer = deaf.sample(rng)
    assert answer[columns].max() == 1.0 and np.all(answer[shape] >= deaf.info.scaler.minimum[shape] - 1e-9)


def test_a_log_frequency_model_is_prompted_and_answers_in_evaluations_linear_units(log_frequency_model_dir):
    """The engine learns on the log scale but evaluation feeds it, and reads its answers, on the linear scale:
    the same state as feeding the frames in instrument units, and answers the linear scaler maps them to."""
    fed, normalised = Engine.from_model_dir(log_frequency_model_dir), Engine.from_model_dir(log_frequency_model_dir)
    scaler = fed.info.scaler
    assert scaler.warped
    rng = np.random.default_rng(5)
    frames = scaler.minimum + rng.random((20, 3)) * (scaler.maximum - scaler.minimum)
    rows = np.c_[np.full(20, 0.01), scaler.linear.transform(frames)[0]]  # dt (s), then features on the linear scale
    for frame in frames:
        fed.feed(frame, 0.01)
    normalised.feed_normalised(rows)
    np.testing.assert_allclose(normalised.input_row(), fed.input_row(), rtol=1e-6, atol=1e-6)
    snapshot = fed.get_state()
    times, values = fed.continue_normalised(0.3, np.random.default_rng(1))
    fed.set_state(snapshot)
    steps, played = fed.continue_for(0.3, np.random.default_rng(1))
    np.testing.assert_allclose(values, scaler.linear.transform(played)[0], rtol=1e-12)
    np.testing.assert_allclose(times, np.cumsum(steps))
    assert np.all((played >= scaler.minimum - 1e-9) & (played <= scaler.maximum + 1e-9))  # in range, instrument units


def test_a_model_of_the_chroma_on_its_log_scale_answers_max_normalised_chroma(tmp_path_factory):
    """corpus.log_chroma_knee: the model learns each class as the log of its ratio to the strongest, and every frame it
    plays is still one of the format (the strongest class exactly 1, the others in [0, 1]), also when evaluation reads
    it on the linear scale."""
    from antiphon.feature_names import CHROMA_NAMES, SPECTRAL_NAMES

    engine = _spectral_model(tmp_path_factory.mktemp("fmt") / "log_chroma", log_chroma_knee=0.03)
    columns = [SPECTRAL_NAMES.index(c) for c in CHROMA_NAMES]
    scaler = engine.info.scaler
    assert scaler.warped and np.all(scaler.knees[columns] == 0.03) and not np.any(np.delete(scaler.knees, columns))
    engine.sigma_temperature = engine.played_sigma_temperature = 4.0  # wide draws: most would leave the format
    snapshot = engine.get_state()
    _, frames = engine.continue_for(1.0, np.random.default_rng(1))
    assert np.all(frames[:, columns].max(axis=1) == 1.0) and frames[:, columns].min() >= 0.0
    engine.set_state(snapshot)
    _, values = engine.continue_normalised(1.0, np.random.default_rng(1))
    np.testing.assert_allclose(values, scaler.linear.transform(frames)[0], rtol=1e-12)
    assert np.all(values[:, columns].max(axis=1) == 1.0)  # chroma's range is [0, 1]: normalised as it is
    # a normalised row's classes are where the scaler puts them (on the log scale), the strongest raised to 1
    row = np.full(engine.dimension, 0.5)
    row[columns] = np.linspace(0.9, 0.0, 12)
    played = engine._instrument(row, clip=True)[columns]
    expected = scaler.inverse(row)[columns]
    assert played[0] == 1.0 and expected[0] < 0.9
    np.testing.assert_allclose(played[1:], expected[1:], rtol=1e-12, atol=1e-15)


def test_answers_of_a_model_of_real_guitar_are_frames_a_spectrum_could_have(audio_model_dir):
    """Real guitar's sounding frames obey Pearson's bound (kurtosis >= 1 + skewness^2): every frame the engine plays
    does too, however wide its draws, and lies within the range of the training frames that sound."""
    engine = Engine.from_model_dir(audio_model_dir)
    scaler, names = engine.info.scaler, list(engine.info.feature_names)
    assert [str(b) for b in scaler.bounds] == ["SpectralKurtosis >= 1 + SpectralSkewness^2"]
    engine.sigma_temperature = engine.played_sigma_temperature = 3.0
    _, frames = engine.continue_for(3.0, np.random.default_rng(2))
    sounding = frames[np.any(frames != 0, axis=1)]
    assert sounding.shape[0] > 100
    skewness, kurtosis = sounding[:, names.index("SpectralSkewness")], sounding[:, names.index("SpectralKurtosis")]
    assert np.all(kurtosis >= 1 + skewness**2)
    assert np.all(sounding >= scaler.sounding_minimum) and np.all(sounding <= scaler.sounding_maximum)
    # drawn without the rules (a model folder from before), the same draws break them
    engine._derivations = np.zeros((0, 9))
    _, free = engine.continue_for(3.0, np.random.default_rng(2))
    free = free[np.any(free != 0, axis=1)]
    assert np.any(free[:, names.index("SpectralKurtosis")] < 1 + free[:, names.index("SpectralSkewness")] ** 2)


def test_answers_keep_the_slope_their_centroid_gives_it(tmp_path):
    """Peeters' slope is affine in the centroid: a model trained on frames that obey it plays and feeds back only frames
    that do (the slope derived from the drawn centroid), silence included; drawn freely, its slope would not."""
    import dataclasses

    from antiphon.config import CorpusConfig
    from antiphon.data.analysis_json import new_document
    from antiphon.data.corpus import build_corpus
    from antiphon.training.loop import train
    from tests.conftest import tiny_config

    gain, offset = 2.4e-11, -2.65e-7  # the demo corpus's, in 1/Hz per Hz and 1/Hz
    documents = []
    for i, phase in enumerate((0.0, 1.0, 2.0)):
        t = np.arange(300)
        centroid = np.where(t % 50 < 45, 1500 + 900 * np.sin(2 * np.pi * t / 37 + phase), 0.0)  # pauses: silent frames
        features = {"SpectralCentroid": centroid, "SpectralSlope": np.where(centroid > 0, gain * centroid + offset, 0.0)}
        features["Chroma01"] = np.where(centroid > 0, 1.0, 0.0)
        documents.append(new_document(10.0 + 10.0 * t, features, {"kind": "test"}, source=f"take{i}.json"))
    config = tiny_config(epochs=2)
    config = dataclasses.replace(config, corpus=CorpusConfig(features=("SpectralCentroid", "SpectralSlope", "Chroma01")))
    train(build_corpus(documents, config.corpus), config, tmp_path / "model")
    engine = Engine.from_model_dir(tmp_path / "model")
    (identity,) = engine.info.scaler.identities
    assert (identity.target, identity.source) == ("SpectralSlope", "SpectralCentroid")
    np.testing.assert_allclose([identity.gain, identity.offset], [gain, offset], rtol=1e-6)
    engine.feed(np.array([1200.0, gain * 1200.0 + offset, 1.0]), 0.01)
    played, fed = [], []
    rng = np.random.default_rng(2)
    for _ in range(300):
        played.append(engine.answer(rng)[1])
        fed.append(engine.input_row()[:3] / engine.scale)
    played = np.array(played)
    sounding = played.any(axis=1)
    assert sounding.any() and np.all(played[sounding, 0] >= engine.info.scaler.minimum[0])
    np.testing.assert_allclose(played[sounding, 1], gain * played[sounding, 0] + offset, rtol=1e-9, atol=1e-18)
    # in range: a centroid drawn under the lowest sounding one (600 Hz) rises to it, where the slope's range ends
    assert np.all((played[sounding, 1] >= engine.info.scaler.minimum[1]) & (played[sounding, 1] <= engine.info.scaler.maximum[1]))
    assert np.all(played[sounding, 0] >= 600.0 - 1e-6)
    # the frame fed back obeys it too: its slope column, normalised, is its centroid's affine image
    fed = engine.info.scaler.inverse(np.array(fed))
    np.testing.assert_allclose(fed[sounding, 1], gain * fed[sounding, 0] + offset, rtol=1e-6, atol=1e-15)
