"""Sending frames at absolute deadlines: no accumulated drift, whatever the computation in between.

Deadlines are ``time.perf_counter()`` values. The sender sleeps until about a millisecond before
each deadline, then spins for the rest (the sleep alone overshoots by up to a scheduler tick),
and sends the prepared datagram. IMPSY instead sleeps dt after each prediction, so the
prediction time adds to every interval and the schedule drifts.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

SPIN_S = 0.0005


def wait_until(deadline: float) -> None:
    """Return at ``deadline`` (perf_counter seconds): sleep most of the way, spin the last millisecond."""
    remaining = deadline - time.perf_counter()
    if remaining > SPIN_S:
        time.sleep(remaining - SPIN_S)
    while time.perf_counter() < deadline:
        time.sleep(0)  # stay runnable but let the other threads take the GIL meanwhile


@dataclass(order=True)
class Scheduled:
    """One datagram to send at ``deadline``; ``answer`` groups the frames of one answer (for cancelling)."""

    deadline: float
    seq: int
    datagram: bytes = field(compare=False)
    answer: int = field(compare=False, default=0)
    payload: object = field(compare=False, default=None)


class Sender:
    """A thread that sends scheduled datagrams to one UDP destination, each at its deadline.

    ``on_sent(item, sent_at)`` is called after each send (from the sender thread). With no
    ``destination`` nothing goes on the wire, but every item still "leaves" at its deadline and
    ``on_sent`` is called (``antiphon live`` sounds its answers without sending them).
    """

    def __init__(self, destination: tuple[str, int] | None, on_sent: Callable[[Scheduled, float], None]) -> None:
        self.destination = destination
        self.on_sent = on_sent
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._heap: list[Scheduled] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._running = True
        self._refused = 0  # answers up to this id are no longer sent
        self._thread = threading.Thread(target=self._run, name="osc-send", daemon=True)
        self._thread.start()

    def schedule(self, deadline: float, datagram: bytes, answer: int = 0, payload: object = None) -> None:
        with self._cond:
            if 0 < answer <= self._refused:
                return
            heapq.heappush(self._heap, Scheduled(deadline, next(self._seq), datagram, answer, payload))
            self._cond.notify()

    def refuse(self, answer: int) -> None:
        """Drop the pending frames of ``answer`` and any it is given later (thread-safe; for the
        receive thread, so an answer stops the moment the performer plays, whatever the model
        thread is doing)."""
        with self._cond:
            self._refused = max(self._refused, answer)
            self._heap = [s for s in self._heap if not 0 < s.answer <= answer]
            heapq.heapify(self._heap)

    def cancel(self, answer: int | None = None) -> int:
        """Drop pending datagrams of ``answer`` (all when None); returns how many were dropped."""
        with self._cond:
            before = len(self._heap)
            self._heap = [s for s in self._heap if answer is not None and s.answer != answer]
            heapq.heapify(self._heap)
            return before - len(self._heap)

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def send_now(self, datagram: bytes) -> None:
        """Send at once, outside the schedule (control replies; nothing without a destination)."""
        if self.destination is not None:
            self._socket.sendto(datagram, self.destination)

    def stop(self) -> None:
        with self._cond:
            self._running = False
            self._cond.notify()
        self._thread.join(timeout=2.0)
        self._socket.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._running and not self._heap:
                    self._cond.wait()
                if not self._running:
                    return
                head = self._heap[0]
                remaining = head.deadline - time.perf_counter()
                if remaining > 2 * SPIN_S:
                    self._cond.wait(remaining - SPIN_S)  # woken early by a new or cancelled item
                    continue
                heapq.heappop(self._heap)
            wait_until(head.deadline)
            if self.destination is not None:
                with contextlib.suppress(OSError):  # the peer is gone or unreachable: keep the schedule for when it comes back
                    self._socket.sendto(head.datagram, self.destination)
            self.on_sent(head, time.perf_counter())
