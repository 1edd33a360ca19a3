"""A UDP receiver, a performer and a running session for the real-time tests (the tiny trained models: tests/conftest.py)."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest
from pythonosc.osc_message import OscMessage

from antiphon.config import RealtimeConfig
from antiphon.model.engine import Engine
from antiphon.realtime.osc import osc_datagram
from antiphon.realtime.session import Session


class Receiver:
    """A UDP socket on a free port recording (arrival perf_counter time, address, arguments)."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, str, list]] = []
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self._running:
            try:
                data = self.socket.recv(65536)
            except TimeoutError:
                continue
            message = OscMessage(data)
            self.messages.append((time.perf_counter(), message.address, list(message.params)))

    @property
    def port(self) -> int:
        return self.socket.getsockname()[1]

    def at(self, address: str) -> list[tuple[float, str, list]]:
        return [m for m in self.messages if m[1] == address]

    def wait_for(self, address: str, count: int, timeout: float = 5.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.at(address)) < count:
            time.sleep(0.005)
        return self.at(address)

    def close(self) -> None:
        self._running = False
        self._thread.join()
        self.socket.close()


class Performer:
    """Sends frames and controls to a session from its own UDP socket."""

    def __init__(self, port: int) -> None:
        self.destination = ("127.0.0.1", port)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, address: str, *values) -> float:
        """Send one message; returns the time just before it left (the server cannot have it earlier)."""
        datagram = osc_datagram(address, list(values))
        sent = time.perf_counter()
        self.socket.sendto(datagram, self.destination)
        return sent

    def raw(self, data: bytes) -> None:
        self.socket.sendto(data, self.destination)

    def frames(self, n: int, interval_s: float = 0.01) -> float:
        """n frames of 3 values, interval_s apart; returns when the last was sent."""
        start = time.perf_counter()
        for i in range(n):
            while time.perf_counter() < start + i * interval_s:
                pass
            sent = self.send("/antiphon/frame", 1000.0 + 10 * i, 2.0, 0.5)
        return sent


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def live(model_dir, receiver, tmp_path):
    """Start a session with settings given as keyword arguments; stopped at the end of the test."""
    sessions = []

    def start(**settings) -> tuple[Session, Performer]:
        config = RealtimeConfig(port=0, send_port=receiver.port, **settings)
        session = Session(Engine.from_model_dir(model_dir), config, tmp_path / f"session{len(sessions)}.jsonl")
        session.start()
        sessions.append(session)
        return session, Performer(session.port)

    yield start
    for session in sessions:
        session.stop()


def status(session, receiver, performer) -> dict:
    before = len(receiver.at("/antiphon/status"))
    performer.send("/antiphon/status")
    replies = receiver.wait_for("/antiphon/status", before + 1)
    args = replies[-1][2]
    return dict(zip(args[::2], args[1::2]))


def log_events(session) -> list[dict]:
    import json

    return [json.loads(line) for line in session.log.path.read_text().splitlines()]


__all__ = ["Performer", "Receiver", "log_events", "np", "status"]
