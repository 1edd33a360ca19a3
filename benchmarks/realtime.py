"""Real-time figures for `antiphon serve`, size s (the demo model, dimension 20: run `make demo` first).

Prints, in one run:
- engine step (feed + sample) latency, median and p99 in microseconds, beside the torch model's
  step (`MDRNN.step` + the same sampler) on the same weights;
- time from the silence threshold to the first answer frame on the wire (client side: arrival
  minus last frame sent minus the silence, so it includes two loopback hops);
- output timing error against the planned deadlines over 3,000 frames in solo mode (median,
  p99, and drift: the mean error of the last 100 frames minus that of the first 100);
- the highest paced frame rate received with no loss, and a 5,000-frame burst;
- `serve` start-up time (process start to "ready") and resident memory.

`serve` runs as a separate process, as a performer would use it; the benchmark is its peer.
Run: `.venv/bin/python benchmarks/realtime.py [MODEL_DIR]`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from antiphon.feature_names import chroma_columns
from antiphon.model.ahead_of_time import jit_calls
from antiphon.model.engine import Engine
from antiphon.model.key import rotate
from antiphon.realtime.osc import osc_datagram

ROOT = Path(__file__).resolve().parents[1]


class Receiver:
    """A UDP socket on a free port; a thread stamps each datagram on arrival and parses nothing then."""

    def __init__(self, answer_address: bytes = b"/antiphon/prediction") -> None:
        import socket

        self.answer_address = answer_address
        self.datagrams: list[tuple[float, bytes]] = []
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.socket.bind(("127.0.0.1", 0))
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            data = self.socket.recv(65536)
            self.datagrams.append((time.perf_counter(), data))

    @property
    def port(self) -> int:
        return self.socket.getsockname()[1]

    def answers(self) -> list[tuple[float, bytes]]:
        return [d for d in self.datagrams if d[1].startswith(self.answer_address + b"\0")]

    def status(self, sock, destination, timeout: float = 2.0) -> dict:
        from pythonosc.osc_message import OscMessage

        before = len(self.datagrams)
        sock.sendto(osc_datagram("/antiphon/status", []), destination)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for _, data in self.datagrams[before:]:
                if data.startswith(b"/antiphon/status"):
                    args = OscMessage(data).params
                    return dict(zip(args[::2], args[1::2]))
            time.sleep(0.005)
        raise RuntimeError("no status reply")


def start_serve(model: Path, receiver: Receiver, *settings: str) -> tuple[subprocess.Popen, int, float]:
    log = Path(tempfile.mkdtemp()) / "session.jsonl"
    command = [
        sys.executable,
        "-m",
        "antiphon",
        "serve",
        str(model),
        "--port",
        "0",
        "--send",
        f"127.0.0.1:{receiver.port}",
        "--log",
        str(log),
    ]
    started = time.perf_counter()
    process = subprocess.Popen([*command, *settings], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    port = None
    for line in process.stdout:
        if line.startswith("listening on"):
            port = int(line.split()[2].split(":")[1])
        if line.startswith("ready"):
            break
    process.log = log  # type: ignore[attr-defined]
    return process, port, time.perf_counter() - started


def stop_serve(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=10)


def first_answer_delays(
    receiver: Receiver, destination: tuple[str, int], phrase: list[bytes], silence_s: float, trials: int = 20
) -> np.ndarray:
    """Milliseconds from the silence threshold to the first answer datagram, ``trials`` times.

    Each trial sends ``phrase`` (datagrams) at the demo corpus's hop (11.6 ms apart), then waits;
    the delay is the first answer's arrival minus the last frame's send minus ``silence_s``, so it
    includes two loopback hops and whatever the peer waits before its first answer. A trial with
    no answer between ``silence_s`` / 2 and ``silence_s`` + 0.5 s after the phrase counts as nothing
    (the caller prints the count beside the figures).
    """
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    delays = []
    for _ in range(trials):
        before = len(receiver.answers())
        for i, datagram in enumerate(phrase):
            if i:
                time.sleep(0.0116)
            sock.sendto(datagram, destination)
        sent = time.perf_counter()
        time.sleep(silence_s + 0.5)
        # an answer frame already in flight when the phrase began may land just after it: not this trial's
        arrivals = [m[0] for m in receiver.answers()[before:] if m[0] > sent + 0.5 * silence_s]
        if arrivals:
            delays.append((arrivals[0] - sent - silence_s) * 1000)
    return np.array(delays)


def engine_vs_torch(model: Path, n: int = 5000) -> tuple[np.ndarray, np.ndarray, int]:
    """Microseconds per step (feed a frame, draw the next): the engine and the torch model
    (``MDRNN.step`` + the same sampler) on the same weights, interleaved in blocks of 500 steps so
    that both see the same machine (its speed drifts by 2x within minutes); and the engine's key shift.
    Where the model follows the key, the frame fed is in a key its training songs are not in (a song's
    pitch classes moved 5 semitones), so every frame heard and played is moved: the step's worst case."""
    import torch

    from antiphon.model.directory import load_model
    from antiphon.model.sampling import sample_mixture

    torch.set_num_threads(1)
    trained = load_model(model)
    engine, torch_model, info = trained.engine(), trained.network, trained.info
    rng = np.random.default_rng(0)
    features = info.scaler.minimum + 0.5 * (info.scaler.maximum - info.scaler.minimum)
    if engine.follow_key:
        profile = info.key_profiles[0]
        features[chroma_columns(info.feature_names)] = rotate(profile / profile.max(), 5)
    jit = Engine(engine.info, {name: value.detach().cpu().numpy() for name, value in torch_model.state_dict().items()}, jit_calls())
    engine_times, jit_times, torch_times = np.empty(n + 200), np.empty(n + 200), np.empty(n + 200)
    engine.feed(features, 0.0116)
    jit.feed(features, 0.0116)
    row, state = engine.input_row(), None  # the model's input: the frame (and its running level, where the model has one)
    for first in range(0, n + 200, 500):
        for stepped, times in ((engine, engine_times), (jit, jit_times)):
            for i in range(first, min(first + 500, n + 200)):
                start = time.perf_counter()
                stepped.feed(features, 0.0116)
                stepped.sample(rng)
                times[i] = time.perf_counter() - start
        for i in range(first, min(first + 500, n + 200)):
            start = time.perf_counter()
            (mu, sigma, logits), state = torch_model.step(row, state)
            sample_mixture(mu, sigma, logits, rng)
            torch_times[i] = time.perf_counter() - start
    return engine_times[200:] * 1e6, jit_times[200:] * 1e6, torch_times[200:] * 1e6, engine.key_shift


def log_write_cost(n: int = 20000, width: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Microseconds per session-log event (an "in" frame of ``width`` values): the write-through
    SessionLog beside the same JSON lines into a 64 KiB user-space buffer (what it replaced, which
    lost its tail on SIGKILL), interleaved so both see the same machine."""
    import json

    from antiphon.realtime.session_log import SessionLog

    values = np.random.default_rng(0).random(width).tolist()
    with tempfile.TemporaryDirectory() as folder:
        log = SessionLog(Path(folder) / "through.jsonl", {"features": [f"f{i}" for i in range(width)]})
        start = log.start
        through, buffered = np.empty(n), np.empty(n)
        with open(Path(folder) / "buffered.jsonl", "w", encoding="utf-8", buffering=1 << 16) as handle:
            for i in range(n):
                clock = time.perf_counter()
                log.event("in", values=values)
                through[i] = time.perf_counter() - clock
                clock = time.perf_counter()
                handle.write(json.dumps({"t_ms": round((clock - start) * 1000.0, 3), "kind": "in", "values": values}) + "\n")
                buffered[i] = time.perf_counter() - clock
        log.close()
    return through * 1e6, buffered * 1e6


def main() -> None:
    import socket

    model = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "demo-output" / "model"
    if not (model / "model.json").exists():
        sys.exit(f"{model}: no model; run `make demo` first (it trains the model this benchmark serves)")
    print(f"model {model}; serve runs as its own process; everything on 127.0.0.1")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    engine = Engine.from_model_dir(model)
    features = engine.info.scaler.minimum + 0.5 * (engine.info.scaler.maximum - engine.info.scaler.minimum)
    frame = osc_datagram("/antiphon/frame", [float(v) for v in features])

    eng, jit, tor, shift = engine_vs_torch(model)
    e50, e99, t50, t99 = np.median(eng), np.percentile(eng, 99), np.median(tor), np.percentile(tor, 99)
    how = (
        "compiled ahead of time"
        if isinstance(engine._calls, ModuleType)
        else "Numba's JIT: no module compiled ahead of time for these sources, `make kernels`"
    )
    print(
        f"engine step (feed + sample, {how}{f', every frame moved {shift} semitones' if shift else ''}): median {e50:.0f} us, p99 {e99:.0f} us  "
        f"(target p99 < 100 us: {'meets' if e99 < 100 else 'MISSES'})"
    )
    print(f"  the same step on Numba's JIT kernels, interleaved: median {np.median(jit):.0f} us, p99 {np.percentile(jit, 99):.0f} us")
    print(
        f"torch step (MDRNN.step + sample): median {t50:.0f} us, p99 {t99:.0f} us; engine {t50 / e50:.1f}x faster (target >= 5x: {'meets' if t50 / e50 >= 5 else 'MISSES'})"
    )
    through, buffered = log_write_cost(width=len(features))
    print(
        f"session log, one frame: written through {np.median(through):.1f} us median, p99 {np.percentile(through, 99):.1f} us; "
        f"buffered (loses its tail on a crash) {np.median(buffered):.1f} us, p99 {np.percentile(buffered, 99):.1f} us"
    )

    # start-up, silence threshold -> first answer
    receiver = Receiver()
    process, port, startup = start_serve(model, receiver, "--silence-s", "0.2")
    status_lines = Path(f"/proc/{process.pid}/status").read_text().splitlines()
    rss_mb = int(next(line for line in status_lines if line.startswith("VmRSS")).split()[1]) / 1024
    delays = first_answer_delays(receiver, ("127.0.0.1", port), [frame], 0.2)
    stop_serve(process)
    print(f"serve start-up: {startup:.2f} s to ready, {rss_mb:.0f} MB resident (targets < 1 s, < 150 MB)")
    print(
        f"silence threshold -> first answer frame on the wire: median {np.median(delays):.2f} ms, max {np.max(delays):.2f} ms over {len(delays)} answers (target < 2 ms)"
    )

    # timing over 3,000 frames
    receiver = Receiver()
    process, port, _ = start_serve(model, receiver, "--mode", "solo")
    while len(receiver.answers()) < 3000:
        time.sleep(0.2)
    inside = receiver.status(sock, ("127.0.0.1", port))
    stop_serve(process)
    lines = [json.loads(line) for line in Path(process.log).read_text().splitlines()]
    origin_ms = lines[0]["clock_start_s"] * 1000  # serve's monotonic clock at t_ms = 0 (shared across processes)
    planned = np.array([r["planned_ms"] for r in lines if r.get("kind") == "out"][: len(receiver.answers())]) + origin_ms
    arrivals = np.array([m[0] for m in receiver.answers()][: len(planned)]) * 1000
    error = (arrivals - planned)[:3000]  # arrival on the receiver minus the planned deadline: includes the loopback hop
    drift = error[-100:].mean() - error[:100].mean()
    print(
        f"answer timing over {error.size} frames (arrival - deadline): median {np.median(error):.3f} ms, "
        f"p99 {np.percentile(error, 99):.3f} ms, drift {drift:+.3f} ms (target p99 < 1 ms, no drift)"
    )
    print(
        f"  as serve measures its own sends: median {inside['send_error_ms_p50']:.3f} ms, p99 {inside['send_error_ms_p99']:.3f} ms, "
        f"{inside['late_frames']} of {inside['frames_out']} frames more than 1 ms late"
    )

    # paced rates and a burst
    best = 0
    for rate in (1000, 2000, 5000, 10000, 20000):
        receiver = Receiver()
        process, port, _ = start_serve(model, receiver, "--mode", "useronly")
        n = rate  # one second of frames
        start = time.perf_counter()
        for i in range(n):
            deadline = start + i / rate
            while time.perf_counter() < deadline:
                pass
            sock.sendto(frame, ("127.0.0.1", port))
        time.sleep(0.5)
        got = receiver.status(sock, ("127.0.0.1", port))["frames_in"]
        stop_serve(process)
        print(f"  {rate:6d} frames/s for 1 s: {got}/{n} received" + ("" if got == n else f" ({100 * (n - got) / n:.1f} % lost)"))
        if got == n:
            best = rate
    receiver = Receiver()
    process, port, _ = start_serve(model, receiver, "--mode", "useronly")
    for _ in range(5000):
        sock.sendto(frame, ("127.0.0.1", port))
    time.sleep(1.0)
    burst = receiver.status(sock, ("127.0.0.1", port))["frames_in"]
    stop_serve(process)
    print(f"highest paced rate with no loss: {best} frames/s (target >= 5,000); burst of 5,000 unpaced frames: {burst} received")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
