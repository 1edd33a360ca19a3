"""JACK without a sound card, for ``antiphon live``'s test and benchmark: a headless server with the
dummy backend (Debian's jackd2), its ports, and a peer client that plays and records.

A JACK server gives PortAudio real devices on any machine; PortAudio finds it only if it runs
before PortAudio is initialised (when ``sounddevice`` is imported), so the peer is its own
process: ``python tools/jack.py PLAY.wav RECORD.wav SECONDS`` opens one duplex stream (mono in,
mono out), prints "ready", waits for a line on stdin, then plays PLAY.wav on its output while
recording its input on the same sample clock for SECONDS, writes RECORD.wav, prints "done".
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

PEER = Path(__file__).resolve()


def available() -> bool:
    """Whether jackd and jack_lsp are installed."""
    return shutil.which("jackd") is not None and shutil.which("jack_lsp") is not None


def ports(env: dict[str, str]) -> set[str]:
    """Every port of the server ``env`` names (JACK_DEFAULT_SERVER); empty while it is not up."""
    listed = subprocess.run(["jack_lsp"], env=env, capture_output=True, text=True, timeout=10)
    return set(listed.stdout.split()) if listed.returncode == 0 else set()


def wait_for(condition: Callable[[], object], what: str, timeout_s: float = 30.0) -> object:
    """Poll ``condition`` until it returns something true; AssertionError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def new_client_ports(env: dict[str, str], before: set[str]) -> tuple[str, str]:
    """The (input, output) ports a client opened since ``before`` was listed (its first mono pair)."""

    def pair() -> set[str] | None:
        fresh = {p for p in ports(env) - before if p.endswith(("in_0", "out_0"))}
        return fresh if len(fresh) >= 2 else None

    fresh = wait_for(pair, "a new client's in_0 and out_0 ports")
    assert isinstance(fresh, set)
    return next(p for p in fresh if p.endswith("in_0")), next(p for p in fresh if p.endswith("out_0"))


def connect(env: dict[str, str], source: str, destination: str) -> None:
    subprocess.run(["jack_connect", source, destination], env=env, check=True, timeout=10)


def start_peer(env: dict[str, str], play: Path, record: Path, seconds: float, client: tuple[str, str]) -> subprocess.Popen:
    """Start the peer (see the module docstring) and wire it to ``client`` (its input and output
    ports): the peer's output into the client's input, the client's output into the peer's
    input. The peer waits for :func:`play_and_record`."""
    before = ports(env)
    peer = subprocess.Popen(
        [sys.executable, str(PEER), str(play), str(record), str(seconds)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    if peer.stdout is None or peer.stdout.readline().strip() != "ready":
        peer.kill()
        raise RuntimeError(f"the JACK peer did not start (exit code {peer.wait()})")
    peer_in, peer_out = new_client_ports(env, before)
    connect(env, peer_out, client[0])
    connect(env, client[1], peer_in)
    return peer


def play_and_record(peer: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Tell a peer from :func:`start_peer` to play, and wait until it has written its recording."""
    assert peer.stdin is not None and peer.stdout is not None
    peer.stdin.write("go\n")
    peer.stdin.flush()
    if peer.stdout.readline().strip() != "done" or peer.wait(timeout=timeout_s) != 0:
        raise RuntimeError(f"the JACK peer failed (exit code {peer.poll()})")


@contextlib.contextmanager
def dummy_server(sample_rate_hz: int, period_frames: int, log_path: Path, realtime: bool = False) -> Iterator[dict[str, str]]:
    """A JACK server (dummy backend) under a name of its own; yields the environment that points
    clients at it. ``realtime``: jackd and its clients' process threads get SCHED_FIFO priority, as
    on a performer's machine (needs the right to it); otherwise ordinary scheduling, which works
    anywhere. RuntimeError with jackd's log if it does not start."""
    name = f"antiphon-{os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_AUDIO_RESERVATION": "1"}
    with open(log_path, "w") as log:
        command = [
            "jackd",
            "--realtime" if realtime else "--no-realtime",
            "-n",
            name,
            "-d",
            "dummy",
            "-r",
            str(sample_rate_hz),
            "-p",
            str(period_frames),
        ]
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: server.poll() is not None or "system:playback_1" in ports(env), "jackd to start")
            if server.poll() is not None:
                raise RuntimeError(f"jackd exited with {server.returncode}: {Path(log_path).read_text()[-2000:]}")
            yield env
        finally:
            server.terminate()
            server.wait(timeout=10)


def peer() -> None:
    import numpy as np
    import sounddevice as sd
    import soundfile as sf

    play_path, record_path, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    played, rate = sf.read(play_path, dtype="float32")
    recorded = np.zeros(int(seconds * rate), dtype=np.float32)
    position = 0
    go, done = threading.Event(), threading.Event()

    def callback(indata, outdata, frames, _time, _status) -> None:
        nonlocal position
        outdata.fill(0.0)
        if not go.is_set() or done.is_set():
            return
        chunk = played[position : position + frames]
        outdata[: chunk.size, 0] = chunk
        take = recorded[position : position + frames]
        take[:] = indata[: take.size, 0]
        position += frames
        if position >= recorded.size:
            done.set()

    with sd.Stream(samplerate=rate, blocksize=0, channels=1, dtype="float32", callback=callback):
        print("ready", flush=True)
        sys.stdin.readline()
        go.set()
        done.wait(seconds + 30.0)
    sf.write(record_path, recorded, rate, subtype="FLOAT")
    print("done", flush=True)


if __name__ == "__main__":
    peer()
