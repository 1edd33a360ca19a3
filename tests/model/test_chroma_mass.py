"""Holding an answer's chroma to the contrast heard: the running masses alone, and the engine's answers with and
without the hold."""

from __future__ import annotations

import numpy as np
import pytest

from antiphon.model.chroma_mass import SLOTS, fraction, hear, hear_rows, hold, rest_mass

#: a max-normalised chroma whose classes below the strongest sum to 1.5, and one to 3.0
SHARP = np.array([1.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
BLURRED = np.array([1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.0, 0.0, 0.0])


def test_rest_mass_is_the_sum_below_the_strongest_and_minus_one_for_silence():
    assert rest_mass(SHARP, 0, 12) == pytest.approx(1.5)
    assert rest_mass(np.r_[7.0, BLURRED, 9.0], 1, 13) == pytest.approx(3.0)  # only the chroma's columns count
    assert rest_mass(np.zeros(12), 0, 12) == -1.0
    assert fraction(0.0116) == pytest.approx(0.0115, abs=1e-4)


def test_a_blurred_answer_is_scaled_to_the_mass_heard_and_a_sharper_one_is_left_alone():
    memory = np.zeros(SLOTS)
    weight = 0.5
    hear_rows(memory, 0, np.stack([SHARP, np.zeros(12), SHARP]), weight)  # the silent frame adds nothing
    assert memory[:2].tolist() == [1.0, pytest.approx(1.5)]
    frame = np.r_[0.3, BLURRED]  # a column before the chroma: untouched
    scale = hold(memory, 0, frame, 1, 13, weight, np.zeros(0))
    assert scale == pytest.approx(0.5)  # the answer's first sounding frame begins its mass: 3.0 against 1.5
    np.testing.assert_allclose(frame, np.r_[0.3, 1.0, BLURRED[1:] * 0.5])
    assert rest_mass(frame, 1, 13) == pytest.approx(1.5)
    # the answer's mass is a running mean of the frames as drawn (before scaling): 3.0 -> 3.0 + 0.5 (1.5 - 3.0)
    frame = SHARP.copy()
    assert hold(memory, 0, frame, 0, 12, weight, np.zeros(0)) == pytest.approx(1.5 / 2.25)
    # each class is kept within its sounding range
    low = np.full(12, 0.05)
    frame = BLURRED.copy()
    hold(memory, 0, frame, 0, 12, weight, low)
    assert frame.min() == pytest.approx(0.05) and frame[0] == 1.0
    # an answer no blurrier than what was heard is left as it is, and so is a silent frame
    sharp_memory = np.zeros(SLOTS)
    hear(sharp_memory, 0, BLURRED, 0, 12, weight)
    frame = SHARP.copy()
    assert hold(sharp_memory, 0, frame, 0, 12, weight, np.zeros(0)) == 1.0
    np.testing.assert_array_equal(frame, SHARP)
    assert hold(sharp_memory, 0, np.zeros(12), 0, 12, weight, np.zeros(0)) == 1.0
    # before anything was heard there is nothing to hold to
    assert hold(np.zeros(SLOTS), 0, BLURRED.copy(), 0, 12, weight, np.zeros(0)) == 1.0
    # a frame heard begins the answer's mass again
    hear(memory, 0, SHARP, 0, 12, weight)
    assert memory[2] == 0.0


def test_the_engine_holds_its_answers_to_the_prompts_contrast(tmp_path_factory):
    """A real model's answers to a sharp prompt, with the same draws with and without the hold: every frame played is
    the free answer's frame with its classes below the strongest scaled by the ratio of the two running masses (the
    prompt's, and the free answer's own), never up; the shape features and the course are untouched, so the answer
    moves as the free one does. Every frame stays a frame of the format, and a snapshot restores the masses."""
    from antiphon.config import load_config
    from antiphon.feature_names import CHROMA_NAMES, SPECTRAL_NAMES
    from antiphon.model.engine import Engine
    from tests.model.test_engine import _spectral_model

    folder = _spectral_model(tmp_path_factory.mktemp("mass") / "model", pauses=True).info.folder
    held, free = Engine.from_model_dir(folder), Engine.from_model_dir(folder)
    assert held.hold_chroma_mass
    free.use_temperatures(load_config(None, ["evaluate.hold_chroma_mass=false"]).evaluate)  # as evaluate sets it
    assert not free.hold_chroma_mass
    chroma = [SPECTRAL_NAMES.index(c) for c in CHROMA_NAMES]
    scaler = held.info.scaler
    rng = np.random.default_rng(5)
    prompt = scaler.sounding_minimum + rng.uniform(0.2, 0.8, (80, 20)) * (scaler.sounding_maximum - scaler.sounding_minimum)
    prompt[:, chroma] = np.roll(SHARP, 2) * rng.uniform(0.8, 1.0, (80, 12))
    prompt[:, chroma] /= prompt[:, chroma].max(axis=1, keepdims=True)
    weight = fraction(held.info.timing.hop_s)
    heard = rest_mass(prompt[0, chroma], 0, 12)
    for row in prompt[1:, chroma]:
        heard += weight * (rest_mass(row, 0, 12) - heard)
    for engine in (held, free):
        for frame in prompt:
            engine.feed(frame, 0.01)
    snapshot = held.get_state()
    answers = {name: engine.continue_for(1.0, np.random.default_rng(11))[1] for name, engine in (("held", held), ("free", free))}
    np.testing.assert_allclose(np.delete(answers["held"], chroma, axis=1), np.delete(answers["free"], chroma, axis=1))
    low = scaler.sounding_minimum[chroma]
    expected, running, scales = [], None, []
    for frame in answers["free"][:, chroma]:
        mass = rest_mass(frame, 0, 12)
        if mass < 0.0:  # a pause: as it is
            expected.append(frame)
            continue
        running = mass if running is None else running + weight * (mass - running)
        scale = min(1.0, heard / running)
        scales.append(scale)
        top = np.argmax(frame)
        moved = np.maximum(frame * scale, low)
        moved[top] = frame[top]
        expected.append(np.where(scale < 1.0, moved, frame))
    np.testing.assert_allclose(answers["held"][:, chroma], np.array(expected), rtol=1e-5, atol=1e-6)
    assert len(scales) > 50 and min(scales) < 0.8  # the tiny model blurs, and is held
    masses = [np.mean([rest_mass(row, 0, 12) for row in a[:, chroma] if row.max() > 0]) for a in (answers["held"], answers["free"])]
    assert masses[0] < 0.9 * masses[1]
    sounding = answers["held"][:, chroma].max(axis=1) > 0
    np.testing.assert_allclose(answers["held"][sounding][:, chroma].max(axis=1), 1.0)
    held.set_state(snapshot)
    np.testing.assert_allclose(held.continue_for(1.0, np.random.default_rng(11))[1], answers["held"])
