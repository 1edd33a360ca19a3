"""Session logs: every frame received and sent, with its time, and every mode or control change.

A log is a JSON Lines file. The first line describes the session::

    {"format": "antiphon-session", "format_version": 1, "started_utc": "...", "model": "...",
     "features": ["SpectralCentroid", ...], "realtime": {...settings...}}

(``clock_start_s`` is the monotonic clock at the start, so other processes on the machine can
align their own measurements), then one event per line, ``t_ms`` counting milliseconds from
the start of the session::

    {"t_ms": 1520.31, "kind": "in", "values": [...]}                      a performer frame
    {"t_ms": 1891.02, "kind": "out", "values": [...], "answer": 3, "planned_ms": 1890.95}
    {"t_ms": 2400.0, "kind": "mode", "mode": "filter"}
    {"t_ms": 2500.0, "kind": "control", "name": "pi_temperature", "value": 0.8}
    {"t_ms": 2600.0, "kind": "reset"}
    {"t_ms": 9000.0, "kind": "end"}

``antiphon dataset`` reads a log as the performer's frames ("in" events) at their times, so
performances become training data.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from antiphon.data.analysis_json import AnalysisDocument, new_document
from antiphon.errors import DataError

SESSION_FORMAT = "antiphon-session"
SESSION_FORMAT_VERSION = 1


class SessionLog:
    """Appends events to a JSON Lines file; safe to call from several threads. :meth:`close` flushes."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.start = time.perf_counter()
        self._lock = threading.Lock()
        self._file: TextIO | None = path.open("w", encoding="utf-8", buffering=1 << 16)
        head = {
            "format": SESSION_FORMAT,
            "format_version": SESSION_FORMAT_VERSION,
            "started_utc": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "clock_start_s": self.start,  # time.perf_counter() (CLOCK_MONOTONIC) at t_ms = 0, to align other clocks
            **header,
        }
        self._write(head)

    def ms(self, perf_time: float) -> float:
        """A perf_counter time as ms since the session started."""
        return round((perf_time - self.start) * 1000.0, 3)

    def event(self, kind: str, at: float | None = None, **fields: Any) -> None:
        self._write({"t_ms": self.ms(time.perf_counter() if at is None else at), "kind": kind, **fields})

    def flush(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.write(json.dumps({"t_ms": self.ms(time.perf_counter()), "kind": "end"}) + "\n")
                self._file.close()
                self._file = None

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, allow_nan=False) + "\n"
        with self._lock:
            if self._file is not None:
                self._file.write(line)


def default_log_path(folder: Path | str) -> Path:
    """``folder/session-YYYYmmdd-HHMMSS.jsonl`` (local time), never an existing file."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(folder) / f"session-{stamp}.jsonl"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"session-{stamp}-{n}.jsonl")
    return path


def read_session_log(path: Path | str) -> AnalysisDocument:
    """The performer's frames of a session log as an analysis document (times in ms from the session start).

    Raises:
        DataError: not a session log, a broken line (named by number), or values that do not
            match the feature list.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read session log ({exc})") from exc
    if not lines:
        raise DataError(f"{path}: is empty (0 bytes)")
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == len(lines):
                break  # a session killed mid-write: the last line may be cut
            raise DataError(f"{path}: line {number} is not JSON ({exc.msg})") from exc
    head = records[0]
    if not isinstance(head, dict) or head.get("format") != SESSION_FORMAT:
        raise DataError(f"{path}: line 1 is not an antiphon session header")
    features = [str(f) for f in head.get("features", [])]
    times, values = [], []
    for number, record in enumerate(records[1:], start=2):
        if isinstance(record, dict) and record.get("kind") == "in":
            row = record.get("values")
            if not isinstance(row, list) or len(row) != len(features):
                raise DataError(f"{path}: line {number}: an 'in' event needs {len(features)} values")
            times.append(float(record["t_ms"]))
            values.append(row)
    matrix = np.asarray(values, dtype=np.float64).reshape(len(values), len(features))
    metadata = {"kind": "session", "session": path.name, "started_utc": head.get("started_utc")}
    return new_document(np.asarray(times), {name: matrix[:, i] for i, name in enumerate(features)}, metadata, source=str(path))
