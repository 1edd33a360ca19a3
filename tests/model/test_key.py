"""Answering in the performer's key: the key follower alone, and the engine answering a prompt in a key
its training songs are not in exactly as it answers the same prompt moved into theirs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from antiphon.model.directory import read_weights
from antiphon.model.engine import Engine
from antiphon.model.key import KEY_MIN_FRAMES, KeyFollower, pitch_class_profiles, rotate

#: Krumhansl and Kessler's C major profile: a song in C, as its pitch classes weigh
C_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])


def frames_in(profile: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n chroma frames (n, 12), max-normalised, whose mean follows ``profile`` (with noise)."""
    rng = np.random.default_rng(seed)
    chroma = profile * rng.uniform(0.5, 1.5, (n, 12))
    return chroma / chroma.max(axis=1, keepdims=True)


def test_a_song_heard_three_semitones_down_is_moved_three_up():
    follower = KeyFollower(C_MAJOR[None], hop_s=1.0, margin=0.3)
    a_major = rotate(C_MAJOR, -3)  # C major moved down three semitones: A major
    assert follower.hear(frames_in(a_major, KEY_MIN_FRAMES - 1)) == 0  # too little heard yet
    assert follower.hear(np.zeros((50, 12))) == 0  # silent frames are not heard
    assert follower.hear(frames_in(a_major, 1, seed=1)) == 3
    correlation = follower.correlations(a_major)
    assert correlation[3] == pytest.approx(1.0) and correlation[0] < 0.5
    # a song in the training key is not moved, and neither is one whose best rotation is not better by the margin
    assert KeyFollower(C_MAJOR[None], 1.0, 0.3).hear(frames_in(C_MAJOR, 60)) == 0
    assert KeyFollower(C_MAJOR[None], 1.0, 2.0).hear(frames_in(a_major, 60)) == 0
    # the profile forgets: 30 s time constant, so after 200 s (frames 1 s apart) in E major the song is in E
    assert follower.hear(frames_in(rotate(C_MAJOR, 4), 200, seed=2)) == 8
    # a snapshot brings back the profile and the shift
    state = follower.state()
    follower.hear(frames_in(C_MAJOR, 300, seed=3))
    assert follower.shift == 0
    follower.set_state(state)
    assert follower.shift == 8 and follower.hear(frames_in(rotate(C_MAJOR, 4), 1, seed=4)) == 8


def test_the_best_matching_song_decides():
    """With several training songs, the rotation that matches any of them best wins."""
    songs = np.stack([C_MAJOR, rotate(C_MAJOR, 7)])  # C and G major
    follower = KeyFollower(songs, 1.0, 0.3)
    assert follower.choose(rotate(C_MAJOR, 7)) == 0  # G major: a training key
    assert follower.choose(rotate(C_MAJOR, 2)) in (5, 10)  # D major: moved to G (5 up) or to C (10 up)
    assert follower.correlations(rotate(C_MAJOR, 2))[[5, 10]] == pytest.approx([1.0, 1.0])


def test_pitch_class_profiles_are_the_mean_chroma_of_the_sounding_frames():
    chroma = frames_in(C_MAJOR, 100)
    with_pauses = np.concatenate([chroma, np.zeros((40, 12))])
    profiles = pitch_class_profiles([with_pauses, chroma[:10]])  # the second has too few frames
    assert profiles.shape == (1, 12)
    np.testing.assert_allclose(profiles[0], chroma.mean(axis=0))


def _keyed_engine(folder, profiles: np.ndarray) -> Engine:
    """The engine of ``folder``'s model, its training songs' profiles replaced by ``profiles``."""
    info, weights = read_weights(folder)
    return Engine(dataclasses.replace(info, key_profiles=profiles), weights)


def test_the_engine_answers_a_prompt_in_another_key_as_it_answers_it_moved_into_its_own(tmp_path_factory):
    """Equivariance: fed a prompt moved down three semitones from its training key, the engine moves what it hears
    up three, and plays the same answer moved down three, frame for frame, with the same random draws; with
    follow_key off it does not. Frames heard one at a time move the key once enough are heard, and with it the
    chroma of what the state holds (the frame, its running level): the level is then the one the frames moved
    would have given."""
    from antiphon.feature_names import CHROMA_NAMES, SPECTRAL_NAMES
    from tests.model.test_engine import _spectral_model

    folder = _spectral_model(tmp_path_factory.mktemp("key") / "model", pauses=True).info.folder  # pauses: every class from 0 to 1
    trained = Engine.from_model_dir(folder)
    assert trained.info.key_profiles is not None and trained.info.key_profiles.shape == (1, 12)  # train kept them
    assert trained.follow_key
    chroma = [SPECTRAL_NAMES.index(c) for c in CHROMA_NAMES]
    shape = [i for i in range(20) if i not in chroma]
    scaler = trained.info.scaler
    rng = np.random.default_rng(3)
    prompt = scaler.sounding_minimum + rng.uniform(0.2, 0.8, (80, 20)) * (scaler.sounding_maximum - scaler.sounding_minimum)
    prompt[:, chroma] = frames_in(C_MAJOR, 80)
    moved = prompt.copy()
    moved[:, chroma] = rotate(prompt[:, chroma], -3)
    normalised = {name: scaler.linear.transform(rows)[0] for name, rows in (("home", prompt), ("moved", moved))}

    home, keyed, deaf = (_keyed_engine(folder, C_MAJOR[None]) for _ in range(3))
    home.follow_key = deaf.follow_key = False
    home.feed_normalised(normalised["home"])
    keyed.feed_normalised(normalised["moved"])
    deaf.feed_normalised(normalised["moved"])
    assert (home.key_shift, keyed.key_shift, deaf.key_shift) == (0, 3, 0)
    np.testing.assert_allclose(keyed.input_row(), home.input_row(), rtol=1e-6)  # the model heard the prompt moved home
    answers = {}
    for name, engine in (("home", home), ("keyed", keyed), ("deaf", deaf)):
        _, answers[name] = engine.continue_for(0.5, np.random.default_rng(7))
    low, high = scaler.sounding_minimum[chroma], scaler.sounding_maximum[chroma]
    np.testing.assert_allclose(answers["keyed"][:, shape], answers["home"][:, shape], rtol=1e-6)
    expected = np.clip(rotate(answers["home"][:, chroma], -3), low, high)
    np.testing.assert_allclose(answers["keyed"][:, chroma], expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(answers["keyed"][:, chroma].max(axis=1), 1.0)  # still frames of the format
    assert np.abs(answers["deaf"][:, chroma] - answers["keyed"][:, chroma]).max() > 0.1

    # one frame at a time: no move until KEY_MIN_FRAMES sounding frames are heard; then the level is moved too
    live, home_live = _keyed_engine(folder, C_MAJOR[None]), _keyed_engine(folder, C_MAJOR[None])
    for i, frame in enumerate(moved):
        live.feed(frame, 0.01)
        home_live.feed(prompt[i], 0.01)
        assert live.key_shift == (3 if i + 1 >= KEY_MIN_FRAMES else 0)
    np.testing.assert_allclose(live.input_row()[20:40], home_live.input_row()[20:40], rtol=1e-5, atol=1e-6)

    # a snapshot keeps the key; turning follow_key off moves the state back to the key heard
    snapshot = keyed.get_state()
    keyed.reset()
    assert keyed.key_shift == 0
    keyed.set_state(snapshot)
    assert keyed.key_shift == 3
    level = keyed.input_row()[20:40].copy()
    keyed.follow_key = False
    assert keyed.key_shift == 0
    np.testing.assert_allclose(keyed.input_row()[20 + np.array(chroma)], rotate(level[chroma], -3))


def test_a_model_without_its_songs_profiles_answers_in_its_own_keys(tmp_path_factory):
    """A model trained before the profiles were kept, or without the whole chroma, cannot follow the key."""
    from tests.model.test_engine import _spectral_model

    folder = _spectral_model(tmp_path_factory.mktemp("unkeyed") / "model", pauses=True).info.folder
    engine = _keyed_engine(folder, None)
    engine.follow_key = True
    assert not engine.follow_key and engine.key_shift == 0
