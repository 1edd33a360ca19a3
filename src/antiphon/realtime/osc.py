"""OSC transport: a python-osc UDP server whose dispatch counts and drops bad input instead of
failing, and the encoding of outgoing messages (:func:`osc_datagram`, :func:`float_datagram`).

python-osc's own dispatch sleeps until a bundle's timetag (a far-future bundle makes the server
deaf), lets wildcard addresses fire handlers, and prints a traceback for non-UTF-8 addresses.
:class:`PacketFilter` parses each datagram itself (with python-osc's parser), and drops and
counts: oversize datagrams, unparsable ones, wildcard and unknown addresses, and bundles
timetagged too far ahead; everything else goes to the handler of its exact address at once.
Each kind of reject is logged the first time it happens.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket
from pythonosc.osc_server import BlockingOSCUDPServer

log = logging.getLogger("antiphon.realtime")

REJECT_KINDS = (
    "oversize",
    "malformed",
    "future_timetag",
    "wildcard",
    "unknown_address",
    "wrong_count",
    "wrong_type",
    "not_finite",
    "handler_error",
)
WILDCARD_CHARACTERS = frozenset("*?[]{}")

Handler = Callable[..., None]


class Rejects:
    """Counts of rejected input by kind; the first of each kind is logged with its detail."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, kind: str, detail: str) -> None:
        with self._lock:
            self.counts[kind] += 1
            first = self.counts[kind] == 1
        if first:
            log.warning("rejected input (%s): %s; further ones are counted, not logged", kind, detail)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class PacketFilter(Dispatcher):
    """Exact-address dispatch with every bad packet counted in ``rejects`` (see the module docstring)."""

    def __init__(self, handlers: dict[str, Handler], rejects: Rejects, max_packet_bytes: int, max_timetag_ahead_s: float) -> None:
        super().__init__()
        self.handlers, self.rejects = handlers, rejects
        self.max_packet_bytes, self.max_timetag_ahead_s = max_packet_bytes, max_timetag_ahead_s

    def call_handlers_for_packet(self, data: bytes, client_address: tuple[str, int]) -> list:
        if len(data) > self.max_packet_bytes:
            self.rejects.add("oversize", f"{len(data)}-byte datagram from {client_address} (limit {self.max_packet_bytes})")
            return []
        try:
            messages = OscPacket(data).messages
        except Exception as exc:  # python-osc raises ParseError, and UnicodeDecodeError for non-UTF-8 addresses
            self.rejects.add("malformed", f"unparsable datagram from {client_address}: {type(exc).__name__}: {exc}")
            return []
        now = time.time()
        for timed in messages:
            address = timed.message.address
            if timed.time > now + self.max_timetag_ahead_s:
                self.rejects.add("future_timetag", f"bundle for {address} timetagged {timed.time - now:.1f} s ahead")
            elif WILDCARD_CHARACTERS.intersection(address):
                self.rejects.add("wildcard", f"address pattern {address!r} (only exact addresses are served)")
            elif address not in self.handlers:
                self.rejects.add("unknown_address", f"no handler for {address!r}")
            else:
                try:
                    self.handlers[address](address, *timed.message.params)
                except Exception as exc:  # a handler bug must not take the server down
                    self.rejects.add("handler_error", f"{address}: {type(exc).__name__}: {exc}")
        return []


class OscServer(BlockingOSCUDPServer):
    """python-osc's blocking UDP server with a large receive buffer and whole datagrams up to 64 KiB.

    The blocking server is the one that stays lossless at thousands of frames per second on
    two cores (the threading one drops frames from 1,000/s); it runs on its own thread.
    """

    max_packet_size = 65536

    def __init__(self, address: tuple[str, int], dispatcher: Dispatcher, receive_buffer_bytes: int) -> None:
        self.receive_buffer_bytes = receive_buffer_bytes
        super().__init__(address, dispatcher)

    def server_bind(self) -> None:
        for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if option is None:
                continue
            try:  # SO_RCVBUFFORCE (root) may exceed the kernel's rmem_max; SO_RCVBUF is capped by it
                self.socket.setsockopt(socket.SOL_SOCKET, option, self.receive_buffer_bytes)
                break
            except OSError:
                continue
        super().server_bind()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Take every datagram: python-osc would drop those that do not look like OSC unseen, and
        :class:`PacketFilter` counts them instead."""
        return True

    @property
    def effective_receive_buffer(self) -> int:
        """What the kernel granted (Linux reports twice the requested size)."""
        return self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="osc-receive", daemon=True)
        thread.start()
        return thread


def float_arguments(params: tuple[Any, ...], count: int, address: str, rejects: Rejects) -> list[float] | None:
    """``params`` as ``count`` finite floats, or None after counting what was wrong."""
    import math

    if len(params) != count:
        rejects.add("wrong_count", f"{address} with {len(params)} arguments, expected {count}")
        return None
    if not all(isinstance(p, int | float) and not isinstance(p, bool) for p in params):
        kinds = sorted({type(p).__name__ for p in params if not isinstance(p, int | float) or isinstance(p, bool)})
        rejects.add("wrong_type", f"{address} with {', '.join(kinds)} arguments, expected numbers")
        return None
    values = [float(p) for p in params]
    if not all(math.isfinite(v) for v in values):
        rejects.add("not_finite", f"{address} with NaN or infinite values")
        return None
    return values


def osc_datagram(address: str, values: list[float] | list[Any]) -> bytes:
    """An OSC message; all-float messages (every frame) take the fast path of :func:`float_datagram`."""
    if values and all(type(v) is float for v in values):
        return float_datagram(address, values)
    builder = OscMessageBuilder(address=address)
    for value in values:
        builder.add_arg(value)
    return builder.build().dgram


@lru_cache(maxsize=16)
def _float_message_head(address: str, count: int) -> tuple[bytes, struct.Struct]:
    def padded(text: bytes) -> bytes:
        return text + b"\0" * (4 - len(text) % 4)

    return padded(address.encode()) + padded(b"," + b"f" * count), struct.Struct(f">{count}f")


NTP_UNIX_OFFSET_S = 2_208_988_800  # seconds from 1900-01-01 (OSC timetags, NTP) to 1970-01-01 (Unix time)
_BUNDLE_HEAD = b"#bundle\0"


def timetag(unix_s: float) -> bytes:
    """An OSC timetag (NTP: 32-bit seconds since 1900, 32-bit fraction) for a Unix time in seconds."""
    seconds = int(unix_s) + NTP_UNIX_OFFSET_S
    fraction = min(int((unix_s % 1.0) * 2**32), 2**32 - 1)
    return struct.pack(">II", seconds, fraction)


def bundle_datagram(message: bytes, unix_s: float) -> bytes:
    """One OSC message in a bundle timetagged ``unix_s`` (wall-clock seconds): a peer that schedules
    by timetag (SuperCollider, liblo) acts on it then, not when it arrives."""
    return _BUNDLE_HEAD + timetag(unix_s) + struct.pack(">i", len(message)) + message


def float_datagram(address: str, values: Sequence[float]) -> bytes:
    """An OSC message of float32 arguments, encoded directly.

    python-osc's builder takes about 35 us for 20 floats, on the thread that must also keep the
    answer schedule; this takes a few. The bytes are identical (a test compares them).
    """
    head, packer = _float_message_head(address, len(values))
    return head + packer.pack(*values)
