"""The engine's kernels compiled ahead of time: the same numbers as Numba's JIT, and no Numba in `serve`."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from antiphon.model import ahead_of_time
from antiphon.model.engine import Engine
from tests.model.test_engine import _spectral_model
from tests.model.test_engine import any_model_dir as any_model_dir  # a fixture: every kind of model

NOT_BUILT = "the kernels are not compiled ahead of time for these sources: `make kernels` (or `python -m antiphon.model.ahead_of_time`)"


@pytest.fixture(scope="module")
def spectral_model_dir(tmp_path_factory):
    """The 20 Spectral features, chroma and pauses: the key, the chroma's mass and silence take their paths."""
    folder = tmp_path_factory.mktemp("spectral") / "m"
    _spectral_model(folder, pauses=True)
    return folder


def engine_pair(folder) -> tuple[Engine, Engine]:
    return Engine.from_model_dir(folder), Engine.from_model_dir(folder, ahead_of_time.jit_calls())


def exercise(engine: Engine, frames: np.ndarray) -> list[np.ndarray]:
    """Every call the engine makes to its kernels: frames heard one at a time (the key, the chroma's mass), rows
    fed as evaluation feeds them, answers (draws, silence, derivations, the register's pull), the mean frame."""
    rng = np.random.default_rng(5)
    out = []
    # frames as a caller may hand them: rows that are not contiguous, single precision, lists (the module reads arrays
    # by a fixed layout and type: a strided row was misread, and a float32 array crashes it, so the engine converts)
    for i, frame in enumerate(np.asfortranarray(frames)):
        engine.feed((frame, frame.astype(np.float32), frame.tolist())[i % 3], 0.0116)
    out.append(np.array([engine.key_shift]))
    for _ in range(40):
        dt, played = engine.answer(rng)
        out += [np.array([dt]), played]
    engine.reset()
    engine.feed_normalised(rng.random((30, engine.dimension)))
    for _ in range(10):
        out.append(engine.answer(rng)[1])
    out += [np.array([engine.mean_frame()[0]]), engine.mean_frame()[1], engine._memory.copy()]
    return out


def test_the_module_for_these_sources_is_built():
    assert ahead_of_time.load() is not None, NOT_BUILT


def assert_same_numbers(folder, frames=None) -> list[np.ndarray]:
    if ahead_of_time.load() is None:
        pytest.fail(NOT_BUILT)
    ahead, jit = engine_pair(folder)
    assert ahead._calls is ahead_of_time.load() and not isinstance(jit._calls, type(ahead._calls))
    if frames is None:
        scaler = ahead._scaler
        frames = scaler.minimum + np.random.default_rng(1).random((60, len(scaler.minimum))) * (scaler.maximum - scaler.minimum)
    numbers = exercise(ahead, frames)
    for a, b in zip(numbers, exercise(jit, frames), strict=True):
        np.testing.assert_array_equal(a, b)
    return numbers


def test_the_kernels_compiled_ahead_of_time_compute_what_the_jit_does(any_model_dir):
    assert_same_numbers(any_model_dir)


def test_and_so_do_the_key_the_chroma_mass_and_silence(spectral_model_dir):
    engine = Engine.from_model_dir(spectral_model_dir)
    assert engine._key is not None and engine.hold_chroma_mass  # the key's and the chroma mass's kernels run
    scaler, chroma = engine._scaler, slice(engine._chroma.start, engine._chroma.stop)
    rng = np.random.default_rng(1)
    frames = scaler.minimum + rng.random((200, len(scaler.minimum))) * (scaler.maximum - scaler.minimum)
    profile = np.roll(engine.info.key_profiles[0], 5)  # the training song's profile, 5 semitones up
    frames[:, chroma] = profile / profile.max() * (0.9 + 0.1 * rng.random((200, 12)))
    frames[:, chroma] /= frames[:, chroma].max(axis=1, keepdims=True)
    frames[::7] = 0.0  # pauses
    numbers = assert_same_numbers(spectral_model_dir, frames)
    assert numbers[0][0] != 0  # the key heard was followed


def test_a_module_built_from_other_sources_is_not_loaded(monkeypatch):
    monkeypatch.setattr(ahead_of_time, "module_name", lambda: ahead_of_time.PREFIX + "0" * 16)
    assert ahead_of_time.load() is None
    assert isinstance(ahead_of_time.engine_calls(), type(ahead_of_time.jit_calls()))


def test_the_module_name_follows_the_sources_and_the_processor(monkeypatch, tmp_path):
    name = ahead_of_time.module_name()
    monkeypatch.setattr(ahead_of_time, "_instruction_set", lambda: "another processor")
    assert ahead_of_time.module_name() != name
    monkeypatch.undo()
    for source in ahead_of_time.SOURCES:  # a copy of the sources with one kernel changed
        (tmp_path / f"{source}.py").write_bytes((ahead_of_time.Path(ahead_of_time.__file__).parent / f"{source}.py").read_bytes())
    (tmp_path / "engine_kernels.py").write_text((tmp_path / "engine_kernels.py").read_text().replace("out[:] = 0.0", "out[:] = 0.5"))
    monkeypatch.setattr(ahead_of_time, "__file__", str(tmp_path / "ahead_of_time.py"))
    assert ahead_of_time.module_name() != name


def test_serve_starts_without_numba(model_dir):
    """Numba and LLVM are most of what `serve` held (about 127 MB); the module compiled ahead of time needs NumPy alone."""
    if ahead_of_time.load() is None:
        pytest.fail(NOT_BUILT)
    script = (
        "import sys\nimport numpy as np\nfrom antiphon.model.engine import Engine\nfrom antiphon.realtime.session import Session\n"
        f"engine = Engine.from_model_dir({str(model_dir)!r})\nengine.answer(np.random.default_rng(0))\n"
        "print('numba' in sys.modules, 'llvmlite' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"
