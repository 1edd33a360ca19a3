"""Rendering frames to audio, checked by re-analysing the audio (the paper's loop closed)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from antiphon.cli import main
from antiphon.data.analysis_json import new_document, write_analysis
from antiphon.features import CHROMA_NAMES, analyze_signal
from antiphon.render.audio import synthesize

SR = 44100


def frames(n: int = 120, centroid=None, strongest: str = "Chroma10"):
    chroma = {c: np.full(n, 0.1) for c in CHROMA_NAMES}
    chroma[strongest] = np.ones(n)
    centroid = np.linspace(700, 2600, n) if centroid is None else centroid
    return np.arange(n) * 11.61, {**chroma, "SpectralCentroid": centroid, "SpectralRolloff": np.full(n, 5000.0)}


def measured(audio, times, features):
    d = analyze_signal(audio.astype(np.float64), sample_rate_hz=SR)
    target = np.interp(d.times_ms, times, features["SpectralCentroid"])
    inner = slice(3, -3)
    error = np.abs(d.column("SpectralCentroid") - target)[inner] / target[inner]
    chroma = np.stack([d.column(c) for c in CHROMA_NAMES], axis=1)[inner]
    return error, chroma.argmax(axis=1)


@pytest.mark.parametrize("strongest", ["Chroma01", "Chroma10", "Chroma05"])
def test_analyze_of_render_comes_back_close(strongest):
    times, features = frames(strongest=strongest)
    audio = synthesize(times, features)
    error, classes = measured(audio, times, features)
    assert np.median(error) < 0.02 and np.percentile(error, 90) < 0.05  # measured: 0.5 % median
    assert np.all(classes == CHROMA_NAMES.index(strongest))


def test_level_follows_the_energy():
    times, features = frames(60, centroid=np.full(60, 1500.0))
    loud = synthesize(times, {**features, "TotalEnergy": np.full(60, 0.01)})
    quiet = synthesize(times, {**features, "TotalEnergy": np.full(60, 0.0001)})
    assert np.sqrt(np.mean(loud[2000:-2000] ** 2)) == pytest.approx(0.1, rel=0.05)
    assert np.sqrt(np.mean(quiet[2000:-2000] ** 2)) == pytest.approx(0.01, rel=0.05)


def test_silent_frames_sound_as_nothing():
    """A frame with no chroma class (the analyser's silence, an answer's pause) is silent, even where
    the file carries no level of its own (the others sound at ``level_dbfs``)."""
    times, features = frames(120, centroid=np.full(120, 1500.0))
    pause = slice(40, 80)
    for name in features:
        features[name][pause] = 0.0
    audio = synthesize(times, features)
    samples = (np.asarray(times) / 1000 * SR).astype(int)
    inside = audio[samples[41] : samples[79]]  # a frame's ramp away from either edge of the pause
    assert np.max(np.abs(inside)) == 0.0
    assert np.sqrt(np.mean(audio[samples[5] : samples[35]] ** 2)) == pytest.approx(10 ** (-18 / 20), rel=0.1)


def test_render_command(tmp_path, capsys):
    times, features = frames(80)
    write_analysis(tmp_path / "answer.json", new_document(times, features, {}))
    assert main(["render", str(tmp_path / "answer.json"), "-o", str(tmp_path / "answer.wav")]) == 0
    audio, sr = sf.read(tmp_path / "answer.wav")
    assert sr == SR and audio.size == pytest.approx(80 * 0.01161 * SR, rel=0.01) and np.abs(audio).max() > 0.05
    (tmp_path / "empty.json").write_text('{"Analysis": {"Time": []}}')
    assert main(["render", str(tmp_path / "empty.json"), "-o", str(tmp_path / "x.wav")]) == 2
    assert "has no frames" in capsys.readouterr().err and not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("spread", [600.0, 1200.0])
def test_the_spread_is_shaped_too(spread):
    times, features = frames(centroid=np.linspace(900, 1800, 120))
    features["SpectralSpread"] = np.full(120, spread)
    audio = synthesize(times, features)
    d = analyze_signal(audio.astype(np.float64), sample_rate_hz=SR)
    assert np.median(d.column("SpectralSpread")[3:-3]) == pytest.approx(spread, rel=0.1)  # measured: within 5 %
    error, _classes = measured(audio, times, features)
    assert np.median(error) < 0.03


# ------------------------------------------------------------------ the streaming renderer (antiphon live)

STREAM_FEATURES = ("SpectralCentroid", "SpectralSpread", "SpectralRolloff", *CHROMA_NAMES)


def stream_frame(strongest: int, centroid_hz: float = 900.0) -> np.ndarray:
    chroma = np.full(12, 0.1)
    chroma[strongest] = 1.0
    return np.array([centroid_hz, 700.0, 3000.0, *chroma])


def test_streaming_render_does_not_depend_on_the_block_size():
    """Phases run on across blocks: the same frames give the same samples in blocks of 64 or 1,000."""
    from antiphon.render.stream import StreamingRenderer

    outputs = []
    for block in (64, 1000):
        renderer = StreamingRenderer(STREAM_FEATURES, 44100, ramp_s=0.01)
        renderer.play(renderer.prepare(stream_frame(0)))
        samples = np.concatenate([renderer.render(block) for _ in range(8000 // block)])
        outputs.append(samples[: 8000 // 1000 * 1000])
    np.testing.assert_allclose(outputs[0][: outputs[1].size], outputs[1], atol=1e-6)
    assert np.sqrt(np.mean(outputs[1] ** 2)) == pytest.approx(10 ** (-18 / 20), rel=0.05)  # the default level


def test_streaming_render_has_no_click_at_frame_boundaries():
    """Frame changes and the fade-out move amplitudes over a ramp: no sample-to-sample step exceeds what
    the partials' own slopes allow, and silence() ends in exact zeros."""
    from antiphon.render.stream import StreamingRenderer

    renderer = StreamingRenderer(STREAM_FEATURES, 44100, ramp_s=0.0116)
    renderer.level_rms = 0.3
    blocks, bound = [], 0.0
    for i in range(40):
        prepared = renderer.prepare(stream_frame(i % 12, 500.0 + 100.0 * (i % 7)))
        bound = max(bound, float(np.sum(prepared[0] * renderer.level_rms * renderer._omega)))  # largest slope, per sample
        renderer.play(prepared)
        blocks.append(renderer.render(512))
    renderer.silence()
    blocks += [renderer.render(512) for _ in range(3)]
    audio = np.concatenate(blocks)
    assert np.max(np.abs(np.diff(audio))) <= 1.05 * bound
    assert not renderer.sounding and np.all(blocks[-1] == 0.0)


def test_streaming_render_sounds_the_frames_chroma_and_centroid():
    from antiphon.render.stream import StreamingRenderer

    renderer = StreamingRenderer(STREAM_FEATURES, 44100)
    renderer.play(renderer.prepare(stream_frame(9, centroid_hz=1200.0)))  # A
    audio = np.concatenate([renderer.render(441) for _ in range(100)])
    heard = analyze_signal(audio.astype(np.float64), sample_rate_hz=44100, categories=("Spectral",))
    chroma = np.mean([heard.column(n) for n in CHROMA_NAMES], axis=1)
    assert int(np.argmax(chroma)) == 9
    assert np.median(heard.column("SpectralCentroid")) == pytest.approx(1200.0, rel=0.25)


def test_streaming_render_of_a_silent_frame_is_silence():
    from antiphon.render.stream import StreamingRenderer

    renderer = StreamingRenderer(STREAM_FEATURES, 44100, ramp_s=0.001)
    amplitudes, _ = renderer.prepare(np.zeros(len(STREAM_FEATURES)))
    np.testing.assert_array_equal(amplitudes, 0.0)
    renderer.play(renderer.prepare(stream_frame(0)))
    renderer.render(4410)
    renderer.play(renderer.prepare(np.zeros(len(STREAM_FEATURES))))
    renderer.render(441)  # the ramp down
    assert np.max(np.abs(renderer.render(4410))) == 0.0


def test_streaming_render_follows_the_performer_level_unless_the_frame_has_its_own():
    from antiphon.render.stream import StreamingRenderer

    renderer = StreamingRenderer(STREAM_FEATURES, 44100, ramp_s=0.001)
    renderer.play(renderer.prepare(stream_frame(0)))
    renderer.render(4410)
    renderer.level_rms = 0.05
    renderer.render(441)
    assert np.sqrt(np.mean(renderer.render(4410) ** 2)) == pytest.approx(0.05, rel=0.05)

    own = StreamingRenderer((*STREAM_FEATURES, "TotalEnergy"), 44100, ramp_s=0.001)
    own.play(own.prepare(np.append(stream_frame(0), 0.2**2)))
    own.render(4410)
    own.level_rms = 0.01  # ignored: the frame carries its level
    assert np.sqrt(np.mean(own.render(4410) ** 2)) == pytest.approx(0.2, rel=0.05)


def test_streaming_render_fades_a_frame_held_without_a_next_one():
    """The filter mode's answers stop with the performer; nothing drones on after the last frame."""
    from antiphon.render.stream import StreamingRenderer

    renderer = StreamingRenderer(STREAM_FEATURES, 44100, ramp_s=0.01, hold_s=0.1)
    renderer.play(renderer.prepare(stream_frame(4)))
    held = np.concatenate([renderer.render(441) for _ in range(10)])  # 0.1 s: the frame sounds
    assert np.sqrt(np.mean(held[441:] ** 2)) > 0.05 and renderer.sounding
    tail = [renderer.render(441) for _ in range(3)]  # then it fades over one ramp, to exact silence
    assert not renderer.sounding and np.all(tail[-1] == 0.0)
