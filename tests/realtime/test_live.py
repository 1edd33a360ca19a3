"""``antiphon live`` from a file played at its real rate: the answer comes after the performer's
silence, sounds, and carries the frames the session log says were sent; mismatches are refused."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import soundfile as sf

from antiphon.config import AnalysisConfig, Config, LiveConfig, RealtimeConfig
from antiphon.errors import ConfigError, DataError
from antiphon.feature_names import CHROMA_NAMES
from antiphon.features import analyze_signal
from antiphon.realtime.live import LiveSession

PLAYED_S = 2.5  # seconds of guitar, then silence
SILENCE_S = 0.3


def take(path, real_clip, seconds_after: float = 3.0) -> np.ndarray:
    """A WAV of PLAYED_S of real guitar cut while it sounds, then ``seconds_after`` of digital silence."""
    clip, sr = real_clip
    samples = np.concatenate([clip[: int(PLAYED_S * sr)], np.zeros(int(seconds_after * sr))])
    sf.write(path, samples, sr, subtype="FLOAT")
    return samples


def live_config(send_port: int = 9001, **live) -> Config:
    return Config(
        realtime=RealtimeConfig(port=0, send_port=send_port, silence_s=SILENCE_S, max_answer_s=1.5, seed=3),
        live=LiveConfig(**{"tail_s": 0.0, **live}),
    )


def events(log_path, kind):
    return [e for e in map(json.loads, log_path.read_text().splitlines()[1:]) if e["kind"] == kind]


def test_live_answers_a_recording_after_its_silence(audio_model_dir, real_clip, receiver, tmp_path):
    sr = real_clip[1]
    played = take(tmp_path / "take.wav", real_clip)
    config = live_config(send_port=receiver.port, input=str(tmp_path / "take.wav"))
    session = LiveSession(audio_model_dir, config, tmp_path / "live.jsonl", send=True, record_path=tmp_path / "rec.wav")
    session.start()
    session.wait()
    session.stop()
    status = session.status()

    recorded, rate = sf.read(tmp_path / "rec.wav")
    assert rate == sr and recorded.shape == (status["blocks"] * config.live.block_frames, 2)
    # channel 1 is the input, sample for sample (16-bit)
    np.testing.assert_allclose(recorded[: played.size, 0], played[: recorded.shape[0]], atol=1.0 / 32767)

    # every frame the analysis fed is in the log; the quiet tail was gated, not fed
    header = json.loads((tmp_path / "live.jsonl").read_text().splitlines()[0])
    assert header["live"]["input"] == str(tmp_path / "take.wav") and header["answers_sent_over_osc"] is True
    assert len(events(tmp_path / "live.jsonl", "in")) == status["frames_fed"] > 0.9 * PLAYED_S * sr / 512
    assert status["frames_gated"] > 0 and status["answers"] == 1

    # the answer sounds only after the silence threshold (causality; the file clock may run a few blocks late)
    answer = recorded[:, 1]
    sounding = np.flatnonzero(np.abs(answer) > 1e-4)
    assert sounding.size > 0, "the answer is silent"
    onset_s = sounding[0] / sr
    assert onset_s >= PLAYED_S + SILENCE_S - 0.1
    start, stop = sounding[0], sounding[0] + int(1.4 * sr)
    level_dbfs = 10 * np.log10(np.mean(answer[start:stop] ** 2))
    assert level_dbfs > -40.0  # it follows the performer's level (about -14 dBFS here)

    # the sound carries the frames sent: chroma profile and centroid of the rendered answer against the log's
    sent = np.array([e["values"] for e in events(tmp_path / "live.jsonl", "out")])
    names = header["features"]
    chroma = [names.index(n) for n in CHROMA_NAMES]
    heard = analyze_signal(answer[start:stop], sample_rate_hz=sr, categories=("Spectral",))
    heard_chroma = np.mean([heard.column(n) for n in CHROMA_NAMES], axis=1)
    sent_chroma = sent[:, chroma].mean(axis=0)
    assert np.corrcoef(heard_chroma, sent_chroma)[0, 1] > 0.6
    rotated = np.roll(sent_chroma, 6)
    assert np.corrcoef(heard_chroma, sent_chroma)[0, 1] > np.corrcoef(heard_chroma, rotated)[0, 1]
    centroid_ratio = np.median(heard.column("SpectralCentroid")) / np.median(sent[:, names.index("SpectralCentroid")])
    assert 0.75 < centroid_ratio < 1.33
    assert status["frames_out"] == len(sent)
    # --send: every answer frame also went out over OSC, as serve sends it
    over_osc = receiver.wait_for(config.realtime.prediction_address, len(sent))
    np.testing.assert_allclose([args for _, _, args in over_osc], sent, rtol=1e-6)
    assert status["first_sample_delay_ms"] and min(status["first_sample_delay_ms"]) >= 0


def test_live_refuses_a_model_without_analysis_settings(model_dir, tmp_path):
    with pytest.raises(ConfigError, match="records no analysis settings"):
        LiveSession(model_dir, live_config(input=str(tmp_path / "x.wav")), tmp_path / "live.jsonl")


def test_live_refuses_analysis_settings_that_contradict_the_model(audio_model_dir, real_clip, tmp_path):
    take(tmp_path / "take.wav", real_clip)
    config = dataclasses.replace(live_config(input=str(tmp_path / "take.wav")), analysis=AnalysisConfig(hop_length=256))
    with pytest.raises(ConfigError, match=r"analysis.hop_length=256 \(the model's: 512\)"):
        LiveSession(audio_model_dir, config, tmp_path / "live.jsonl")


def test_live_names_a_missing_input_file(audio_model_dir, tmp_path):
    with pytest.raises(DataError, match="no such audio file"):
        LiveSession(audio_model_dir, live_config(input=str(tmp_path / "missing.wav")), tmp_path / "live.jsonl")


def test_live_command_records_an_answer(audio_model_dir, real_clip, tmp_path, capsys):
    from antiphon.cli import main

    take(tmp_path / "take.wav", real_clip, seconds_after=2.0)
    common = ["--port", "0", "--silence-s", str(SILENCE_S), "--log", str(tmp_path / "live.jsonl")]
    code = main(
        [
            "live",
            str(audio_model_dir),
            "--input",
            str(tmp_path / "take.wav"),
            "--record",
            str(tmp_path / "rec.wav"),
            "--set",
            "live.tail_s=0",
            *common,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "1 answers" in out and "underruns 0" in out and str(tmp_path / "rec.wav") in out
    recorded, _ = sf.read(tmp_path / "rec.wav")
    assert np.sqrt(np.mean(recorded[:, 1] ** 2)) > 0.01  # the answer is in the recording


def portaudio_loads() -> bool:
    try:
        import sounddevice  # noqa: F401
    except OSError:  # the package is there, the shared library (Debian libportaudio2) is not
        return False
    return True


@pytest.mark.skipif(not portaudio_loads(), reason="PortAudio (Debian libportaudio2) is not installed; `make test` installs it")
def test_live_names_a_missing_device_in_one_line_and_leaves_no_recording(audio_model_dir, tmp_path, capsys):
    from antiphon.cli import main

    common = ["--port", "0", "--log", str(tmp_path / "live.jsonl")]
    code = main(["live", str(audio_model_dir), "--input", "no such device 42", "--record", str(tmp_path / "none.wav"), *common])
    err = capsys.readouterr().err
    assert code == 2 and "input device 'no such device 42'" in err and "--list-devices" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "none.wav").exists()  # a session that never started leaves no empty recording

    assert main(["live", "--list-devices"]) == 0
