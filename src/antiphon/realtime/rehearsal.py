"""A rehearsal: play a prompt into a live session over OSC and record its answer (the demo's last step)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pythonosc.osc_message import OscMessage

from antiphon.config import RealtimeConfig
from antiphon.data.analysis_json import AnalysisDocument
from antiphon.model.engine import Engine
from antiphon.realtime.player import play
from antiphon.realtime.session import Session


@dataclass(frozen=True)
class Recording:
    """What the session answered: ``times_ms`` (N,) from its first answer frame, ``values`` (N, F)."""

    features: tuple[str, ...]
    times_ms: np.ndarray
    values: np.ndarray
    first_answer_after_ms: float  # from the last prompt frame sent to the first answer frame received


def rehearse(
    engine: Engine, config: RealtimeConfig, prompt: AnalysisDocument, prompt_ms: float, listen_s: float, log_path: Path
) -> Recording:
    """Serve ``engine`` on a free port, play the first ``prompt_ms`` of ``prompt`` into it over UDP,
    record ``listen_s`` seconds of answers on another UDP port, and stop."""
    received: list[tuple[float, list]] = []
    inbox = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    inbox.bind(("127.0.0.1", 0))
    inbox.settimeout(0.1)
    listening = True

    def listen() -> None:
        while listening:
            try:
                data = inbox.recv(65536)
            except TimeoutError:
                continue
            message = OscMessage(data)
            if message.address == config.prediction_address:
                received.append((time.perf_counter(), list(message.params)))

    thread = threading.Thread(target=listen, name="rehearsal-listen", daemon=True)
    thread.start()
    live = RealtimeConfig(
        **{**config.__dict__, "port": 0, "host": "127.0.0.1", "send_host": "127.0.0.1", "send_port": inbox.getsockname()[1]}
    )
    session = Session(engine, live, log_path)
    session.start()
    last_sent = 0.0
    try:

        def remember(_index: int, deadline: float) -> None:
            nonlocal last_sent
            last_sent = deadline

        play(prompt, engine.feature_names, ("127.0.0.1", session.port), live.frame_address, until_ms=prompt_ms, on_frame=remember)
        time.sleep(live.silence_s + listen_s)
    finally:
        session.stop()
        listening = False
        thread.join()
        inbox.close()
    if not received:
        return Recording(engine.feature_names, np.empty(0), np.empty((0, len(engine.feature_names))), float("nan"))
    arrivals = np.array([r[0] for r in received])
    return Recording(
        engine.feature_names,
        (arrivals - arrivals[0]) * 1000.0,
        np.array([r[1] for r in received], dtype=np.float64),
        (arrivals[0] - last_sent) * 1000.0,
    )
