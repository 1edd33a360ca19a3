"""``antiphon play``: stream an analysis file over OSC at its own timing (an instrument stand-in)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence

from antiphon.data.analysis_json import AnalysisDocument
from antiphon.realtime.osc import osc_datagram
from antiphon.realtime.scheduler import wait_until


def play(
    document: AnalysisDocument,
    features: Sequence[str],
    destination: tuple[str, int],
    address: str = "/antiphon/frame",
    *,
    speed: float = 1.0,
    until_ms: float | None = None,
    on_frame: Callable[[int, float], None] | None = None,
) -> int:
    """Send each frame (``features`` in that order, instrument units) at Time / ``speed`` from now.

    Frames go out against absolute deadlines, so the stream keeps the file's timing however long
    each send takes. ``until_ms`` stops after that file time. Returns the number of frames sent.

    Raises:
        DataError: the document lacks one of ``features``.
    """
    rows = document.matrix(list(features))
    times = document.times_ms
    keep = times <= until_ms if until_ms is not None else times == times
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.perf_counter() + 0.01
    sent = 0
    try:
        for i in range(int(keep.sum())):
            deadline = start + (times[i] - times[0]) / 1000.0 / speed
            datagram = osc_datagram(address, [float(v) for v in rows[i]])
            wait_until(deadline)
            sock.sendto(datagram, destination)
            sent += 1
            if on_frame is not None:
                on_frame(i, deadline)
    finally:
        sock.close()
    return sent
