"""Writing session logs (the format and its reader: :mod:`antiphon.data.session_log`).

Every line goes to the kernel as it is written (one ``write`` system call, no user-space
buffer), so ``serve`` killed at any moment, SIGKILL included, leaves every frame it had
received in the log. The system call costs the model thread a few microseconds a frame:
``benchmarks/realtime.py`` measures it beside a buffered writer (19.5 against 16.0 us median
for a 20-value frame, on 2 busy cores).
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from antiphon.data.session_log import SESSION_FORMAT, SESSION_FORMAT_VERSION


class SessionLog:
    """Appends events to a JSON Lines file, each written through to the kernel at once; safe to call
    from several threads. :meth:`close` writes the last line ("end")."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.start = time.perf_counter()
        self._lock = threading.Lock()
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        head = {
            "format": SESSION_FORMAT,
            "format_version": SESSION_FORMAT_VERSION,
            "started_utc": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "clock_start_s": self.start,  # time.perf_counter() (CLOCK_MONOTONIC) at t_ms = 0, to align other clocks
            "clock_start_unix_s": time.time() - (time.perf_counter() - self.start),  # the wall clock then (OSC timetags)
            **header,
        }
        self.header = head
        self._write(head)

    def ms(self, perf_time: float) -> float:
        """A perf_counter time as ms since the session started."""
        return round((perf_time - self.start) * 1000.0, 3)

    def event(self, kind: str, at: float | None = None, **fields: Any) -> None:
        """One event line; ``at`` is a perf_counter time (default: now)."""
        self._write({"t_ms": self.ms(time.perf_counter() if at is None else at), "kind": kind, **fields})

    def close(self) -> None:
        """Write the "end" line and close the file (later events are dropped)."""
        self.event("end")
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _write(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, allow_nan=False) + "\n").encode("utf-8")
        with self._lock:
            if self._fd is not None:
                while data:  # a regular file takes it whole; a short write (disk full) writes the rest or raises
                    data = data[os.write(self._fd, data) :]


def default_log_path(folder: Path | str) -> Path:
    """``folder/session-YYYYmmdd-HHMMSS.jsonl`` (local time), never an existing file."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(folder) / f"session-{stamp}.jsonl"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"session-{stamp}-{n}.jsonl")
    return path
