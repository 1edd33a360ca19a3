"""`serve` and `play` as processes, and with a real OSC implementation nobody here wrote (liblo)."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from antiphon.data.analysis_json import write_analysis
from tests.conftest import synthetic_document

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(model_dir, send_port: int, log, *extra: str) -> tuple[subprocess.Popen, int]:
    command = [
        sys.executable,
        "-m",
        "antiphon",
        "serve",
        str(model_dir),
        "--port",
        "0",
        "--send",
        f"127.0.0.1:{send_port}",
        "--log",
        str(log),
        *extra,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = None
    for line in process.stdout:
        if line.startswith("listening on"):
            port = int(line.split()[2].rsplit(":", 1)[1])
        if line.startswith("ready"):
            return process, port
    raise AssertionError(f"serve did not start: {process.stderr.read()}")


@contextlib.contextmanager
def peer_output(command: list[str], stream: str = "stdout") -> Iterator[list[str]]:
    """Run a real OSC peer (oscdump, pd); yield the list a thread appends its ``stream``'s lines to;
    stop it at the end (SIGINT, then kill)."""
    pipes = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, stream: subprocess.PIPE}
    peer = subprocess.Popen(command, text=True, **pipes)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(getattr(peer, stream)), daemon=True)
    reader.start()
    try:
        yield lines
    finally:
        peer.send_signal(signal.SIGINT)
        try:
            peer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            peer.kill()
            peer.wait(timeout=10)
        reader.join(timeout=10)


def wait_until(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Poll until ``condition()`` holds, however busy the machine (the caller asserts what it needs)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not condition():
        time.sleep(0.05)


def test_sigterm_stops_cleanly_and_flushes_the_log(model_dir, receiver, tmp_path):
    process, port = start_serve(model_dir, receiver.port, tmp_path / "s.jsonl", "--silence-s", "0.1")
    from tests.realtime.conftest import Performer

    Performer(port).frames(20)
    receiver.wait_for("/antiphon/prediction", 3)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=10)
    assert process.returncode == 0 and "stopped: 20 frames in" in out
    lines = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert lines[-1]["kind"] == "end" and sum(1 for r in lines if r.get("kind") == "in") == 20
    assert sum(1 for r in lines if r.get("kind") == "out") >= 3


def test_sigkill_loses_no_frame_of_the_log(model_dir, receiver, tmp_path):
    """A session log becomes training data: serve killed without warning keeps every frame it received."""
    from tests.realtime.conftest import Performer, status

    process, port = start_serve(model_dir, receiver.port, tmp_path / "s.jsonl", "--mode", "useronly")
    performer = Performer(port)
    try:
        performer.frames(2000, interval_s=0.001)
        counters = status(None, receiver, performer)  # replied after every frame before it was handled and logged
    finally:
        process.kill()
        process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL
    lines = (tmp_path / "s.jsonl").read_text().splitlines()
    heard = [json.loads(line) for line in lines if '"kind": "in"' in line]
    assert counters["frames_in"] == 2000 and len(heard) == 2000
    np.testing.assert_allclose([r["values"][0] for r in heard], 1000.0 + 10 * np.arange(2000))
    assert json.loads(lines[-1])["kind"] != "end"  # it really died mid-session


def test_serve_refuses_a_broken_model_folder(tmp_path):
    (tmp_path / "m").mkdir()
    result = subprocess.run([sys.executable, "-m", "antiphon", "serve", str(tmp_path / "m")], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "model.json: missing" in result.stderr


def test_play_keeps_the_files_timing(model_dir, receiver, tmp_path):
    document = synthetic_document(40, 0.0, "take.json", hop_ms=20.0)
    write_analysis(tmp_path / "take.json", document)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "antiphon",
            "play",
            str(tmp_path / "take.json"),
            "--to",
            f"127.0.0.1:{receiver.port}",
            "--model",
            str(model_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "sent 40 frames of 3 values" in result.stdout
    frames = receiver.wait_for("/antiphon/frame", 40)
    assert len(frames) == 40
    np.testing.assert_allclose([f[2][0] for f in frames], document.features["SpectralCentroid"], rtol=1e-6)


def test_play_schedules_each_frame_at_its_file_time(receiver):
    """The schedule, not the machine's punctuality: each deadline is the file's time over the speed,
    and no frame leaves before its deadline (how late they leave is benchmarks/realtime.py's)."""
    from antiphon.realtime.player import play

    document = synthetic_document(12, 0.0, "take.json", hop_ms=20.0)
    planned: list[tuple[int, float, float]] = []
    sent = play(
        document,
        ["SpectralCentroid"],
        ("127.0.0.1", receiver.port),
        speed=2.0,
        until_ms=document.times_ms[9],
        on_frame=lambda i, deadline: planned.append((i, deadline, time.perf_counter())),
    )
    assert sent == 10 and [p[0] for p in planned] == list(range(10))
    deadlines = np.array([p[1] for p in planned])
    np.testing.assert_allclose(np.diff(deadlines), 0.010, atol=1e-9)  # 20 ms of file time at speed 2
    assert all(after >= deadline for _, deadline, after in planned)
    assert len(receiver.wait_for("/antiphon/frame", 10)) == 10


@pytest.mark.skipif(
    shutil.which("oscsend") is None or shutil.which("oscdump") is None, reason="liblo-tools not installed (make test installs it)"
)
def test_liblo_oscsend_and_oscdump_talk_to_serve(model_dir, tmp_path):
    dump_port = free_port()
    with peer_output(["oscdump", "-L", str(dump_port)]) as lines:  # oscdump -L: a line per message
        process, port = start_serve(model_dir, dump_port, tmp_path / "s.jsonl", "--silence-s", "0.2")
        try:
            for i in range(12):
                subprocess.run(["oscsend", "localhost", str(port), "/antiphon/frame", "fff", str(1000 + 10 * i), "2.0", "0.5"], check=True)
            wait_until(lambda: sum("/antiphon/prediction" in line for line in lines) >= 3)
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=10)
    output = "".join(lines)
    answers = [line.split() for line in output.splitlines() if "/antiphon/prediction" in line]
    assert len(answers) >= 3, output
    for fields in answers:
        address_at = fields.index("/antiphon/prediction")
        assert fields[address_at + 1] == "fff" and all(np.isfinite(float(v)) for v in fields[address_at + 2 :])
    log = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert sum(1 for r in log if r.get("kind") == "in") == 12


@pytest.mark.skipif(shutil.which("oscdump") is None, reason="liblo-tools not installed (make test installs it)")
def test_bundled_answers_carry_the_timetag_the_log_planned(model_dir, tmp_path):
    """realtime.bundles: liblo's oscdump prints each bundle's timetag; every one is the frame's planned
    send time on the wall clock (from the log's own header) plus the lead, in the order sent."""
    dump_port, lead = free_port(), 0.03
    bundles = ("--mode", "solo", "--set", "realtime.bundles=true", "--set", f"realtime.bundle_lead_s={lead}")
    with peer_output(["oscdump", "-L", str(dump_port)]) as lines:
        process, _ = start_serve(model_dir, dump_port, tmp_path / "b.jsonl", *bundles)
        try:
            wait_until(lambda: sum("/antiphon/prediction" in line for line in lines) >= 20)
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=10)
    stamps = []
    for line in lines:
        if "/antiphon/prediction" in line:
            seconds, fraction = line.split()[0].split(".")
            stamps.append(int(seconds, 16) - 2_208_988_800 + int(fraction, 16) / 2**32)
    log = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    planned = [log[0]["clock_start_unix_s"] + r["planned_ms"] / 1000 + lead for r in log if r.get("kind") == "out"]
    n = min(len(stamps), len(planned))  # the last frames sent before SIGTERM may not be logged yet
    assert n >= 20, (len(stamps), len(planned))
    np.testing.assert_allclose(stamps[:n], planned[:n], rtol=0, atol=1e-5)  # the log rounds planned_ms to 1 us


@pytest.mark.skipif(shutil.which("pd") is None, reason="Pure Data not installed (make test installs puredata-core)")
def test_the_pure_data_listener_patch_receives_and_parses_the_answers(model_dir, tmp_path):
    """examples/puredata/antiphon-listener.pd run headless: every answer it prints is a frame the
    log says serve sent, value for value, in the order sent."""
    patch = EXAMPLES / "puredata" / "antiphon-listener.pd"
    pd_port = free_port()
    with peer_output(
        ["pd", "-nogui", "-nosound", "-nomidi", "-stderr", "-open", str(patch), "-send", f"antiphon-port {pd_port}"], "stderr"
    ) as lines:
        process, _ = start_serve(model_dir, pd_port, tmp_path / "pd.jsonl", "--mode", "solo")
        try:
            wait_until(lambda: sum(line.startswith("antiphon-answer:") for line in lines) >= 20)
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=10)
    printed = [[float(v) for v in line.split()[1:]] for line in lines if line.startswith("antiphon-answer:")]
    assert len(printed) >= 20, "".join(lines)
    sent = [r["values"] for r in (json.loads(line) for line in (tmp_path / "pd.jsonl").read_text().splitlines()) if r.get("kind") == "out"]
    position = 0
    for values in printed[:-5]:  # the last few sent before SIGTERM may not be logged yet
        assert len(values) == len(sent[0])
        while position < len(sent) and not np.allclose(values, sent[position], rtol=1e-5, atol=1e-6):  # Pd prints 6 digits
            position += 1
        assert position < len(sent), f"Pd printed a frame serve did not send (or out of order): {values}"
        position += 1


@pytest.mark.skipif(shutil.which("pd") is None, reason="Pure Data not installed (make test installs puredata-core)")
def test_the_pure_data_performer_patch_relays_played_frames_to_serve(model_dir, tmp_path):
    """antiphon play -> examples/puredata/antiphon-performer.pd (headless) -> serve: serve's log holds
    the file's frames, value for value, in order."""
    from antiphon.realtime.osc import float_datagram

    document = synthetic_document(60, 0.0, "take.json", hop_ms=20.0)
    write_analysis(tmp_path / "take.json", document)
    log_path = tmp_path / "relay.jsonl"

    def heard() -> list[list[float]]:
        records = [json.loads(line) for line in log_path.read_text().splitlines() if line.endswith("}")]
        return [r["values"] for r in records if r.get("kind") == "in"]

    def probe() -> bool:  # a frame of -1s into the patch until serve hears it: Pd listens and relays
        sock.sendto(float_datagram("/antiphon/frame", [-1.0, -1.0, -1.0]), ("127.0.0.1", pd_port))
        time.sleep(0.05)
        return bool(heard())

    sock, pd_port = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), free_port()
    process, serve_port = start_serve(model_dir, free_port(), log_path, "--mode", "useronly")
    ports = ("-send", f"antiphon-in-port {pd_port}", "-send", f"antiphon-serve 127.0.0.1 {serve_port}")
    try:
        with peer_output(["pd", "-nogui", "-nosound", "-nomidi", "-open", str(EXAMPLES / "puredata" / "antiphon-performer.pd"), *ports]):
            wait_until(probe)
            assert heard(), "the patch relayed nothing"
            play = [sys.executable, "-m", "antiphon", "play", str(tmp_path / "take.json"), "--to", f"127.0.0.1:{pd_port}"]
            subprocess.run([*play, "--model", str(model_dir)], check=True, capture_output=True)
            wait_until(lambda: sum(v[0] != -1.0 for v in heard()) >= 60)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    relayed = np.array([v for v in heard() if v[0] != -1.0])
    expected = np.column_stack([document.features[name] for name in ("SpectralCentroid", "SpectralSkewness", "Chroma01")])
    assert relayed.shape == expected.shape
    np.testing.assert_allclose(relayed, expected, rtol=1e-6)  # float32 on the wire
