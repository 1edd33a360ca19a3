"""The session-log format and its reader: every frame received and sent, with its time, and every mode or control change.

A log is a JSON Lines file. The first line describes the session::

    {"format": "antiphon-session", "format_version": 1, "started_utc": "...", "model": "...",
     "features": ["SpectralCentroid", ...], "realtime": {...settings...}}

(``clock_start_s`` is the monotonic clock at the start, so other processes on the machine can
align their own measurements, and ``clock_start_unix_s`` the wall clock then: an answer sent as
a timetagged bundle, ``realtime.bundles``, carries ``clock_start_unix_s + planned_ms / 1000 +
bundle_lead_s``), then one event per line, ``t_ms`` counting milliseconds from
the start of the session::

    {"t_ms": 1520.31, "kind": "in", "values": [...]}                      a performer frame
    {"t_ms": 1890.95, "kind": "answer", "answer": 3}                        an answer starts (the silence threshold)
    {"t_ms": 1891.02, "kind": "out", "values": [...], "answer": 3, "planned_ms": 1890.95}
    {"t_ms": 31891.1, "kind": "answer_end", "answer": 3}                    it reached realtime.max_answer_s
    {"t_ms": 32400.0, "kind": "mode", "mode": "filter"}
    {"t_ms": 32500.0, "kind": "control", "name": "pi_temperature", "value": 0.8}
    {"t_ms": 32600.0, "kind": "reset"}
    {"t_ms": 39000.0, "kind": "end"}

``antiphon dataset`` reads a log as the performer's frames ("in" events) at their times, so
performances become training data (:func:`read_session_log`). The writer is
:class:`antiphon.realtime.session_log.SessionLog`: it hands every line to the kernel as it is
written, so a session killed at any moment leaves every frame it had received (at most the last
line cut short, which the reader skips).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from antiphon.data.analysis_json import AnalysisDocument, new_document
from antiphon.errors import DataError

SESSION_FORMAT = "antiphon-session"
SESSION_FORMAT_VERSION = 1


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
