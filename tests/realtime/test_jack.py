"""``antiphon live`` on real PortAudio devices without a sound card: a JACK server with its dummy
backend (Debian's jackd2, installed by ``make test``), started headless by the fixture.

A peer client plays a guitar excerpt into live's input and records live's output; the test then
analyses that recording: the answer comes after the performer's silence, is not silent, and
carries the chroma and centroid of the answer frames live's session log says were sent.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from tools import jack

from antiphon.feature_names import CHROMA_NAMES
from antiphon.features import analyze_signal

pytestmark = pytest.mark.skipif(not jack.available(), reason="jackd (Debian jackd2) is not installed; `make test` installs it")

SR = 44100
PLAYED_S, SILENCE_S = 2.5, 0.3


@pytest.fixture
def jack_server(tmp_path):
    """A JACK server (dummy backend, 44.1 kHz, 256-sample periods); yields the environment that points clients at it."""
    with jack.dummy_server(SR, 256, tmp_path / "jackd.log") as env:
        yield env


def test_live_on_jack_answers_after_the_silence_with_what_it_sent(jack_server, audio_model_dir, real_clip, tmp_path):
    env = jack_server
    clip, rate = real_clip
    assert rate == SR
    played = np.concatenate([clip[: int(PLAYED_S * SR)], np.zeros(int(3.5 * SR))]).astype(np.float32)
    sf.write(tmp_path / "take.wav", played, SR, subtype="FLOAT")
    log_path = tmp_path / "live.jsonl"
    before = jack.ports(env)
    antiphon = Path(sys.executable).with_name("antiphon")
    live = subprocess.Popen(
        [str(antiphon), "live", str(audio_model_dir), "--input", "system", "--output", "system", "--port", "0", "--log", str(log_path),
         "--set", f"realtime.silence_s={SILENCE_S}", "--set", "realtime.max_answer_s=1.5"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    peer = None
    try:
        for line in live.stdout:
            if line.startswith("ready"):
                break
        else:
            pytest.fail(f"antiphon live exited with {live.wait()} before it was ready")
        live_ports = jack.new_client_ports(env, before)
        peer = jack.start_peer(env, tmp_path / "take.wav", tmp_path / "heard.wav", played.size / SR, live_ports)
        jack.play_and_record(peer)
    finally:
        for process in (peer, live):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
    summary = live.stdout.read()
    assert live.wait(timeout=30) == 0, summary
    assert "stopped:" in summary

    heard, _ = sf.read(tmp_path / "heard.wav")
    sounding = np.flatnonzero(np.abs(heard) > 1e-4)
    assert sounding.size > 0, f"live's output is silent; live said: {summary}"
    # nothing before the threshold: every latency on the way (JACK periods) only makes the answer later; the
    # tolerance is for the dummy driver's clock, which stalls behind the wall clock on a loaded machine
    assert sounding[0] / SR >= PLAYED_S + SILENCE_S - 0.1
    start, stop = sounding[0], min(heard.size, sounding[0] + int(1.4 * SR))
    assert 10 * np.log10(np.mean(heard[start:stop] ** 2)) > -40.0

    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    names = lines[0]["features"]
    sent = np.array([e["values"] for e in lines[1:] if e["kind"] == "out" and e.get("answer") == 1])
    assert len(sent) > 50
    analysed = analyze_signal(heard[start:stop], sample_rate_hz=SR, categories=("Spectral",))
    heard_chroma = np.mean([analysed.column(n) for n in CHROMA_NAMES], axis=1)
    sent_chroma = sent[:, [names.index(n) for n in CHROMA_NAMES]].mean(axis=0)
    assert np.corrcoef(heard_chroma, sent_chroma)[0, 1] > 0.6
    ratio = np.median(analysed.column("SpectralCentroid")) / np.median(sent[:, names.index("SpectralCentroid")])
    assert 0.75 < ratio < 1.33
