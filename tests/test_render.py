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
