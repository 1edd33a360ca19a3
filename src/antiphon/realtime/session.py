"""A live session: OSC in, the engine on its own thread, answers out at their deadlines, everything logged.

Threads:

- **osc-receive** (python-osc server): validates each message and puts it on the input queue
  with its arrival time; it does nothing else, so bursts are not dropped.
- **model**: takes frames and controls from the queue in order and feeds every frame to the
  engine at once; detects the performer's silence; generates answer frames a few ahead of their
  send time and schedules them; undoes the state of frames generated but never sent when the
  performer interrupts.
- **osc-send** (:class:`~antiphon.realtime.scheduler.Sender`): sends each answer frame at its
  absolute deadline.

An answer starts at the silence threshold (the first frame is sent then) and frame n follows
at the threshold + dt_2 + ... + dt_n, the sampled time steps. It stops when the performer plays
again or, in call-and-response, after ``realtime.max_answer_s``; then the next answer waits
for the performer.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from antiphon.config import RealtimeConfig, to_dict
from antiphon.model.engine import Engine
from antiphon.realtime.modes import MODES, Mode
from antiphon.realtime.osc import OscServer, PacketFilter, Rejects, bundle_datagram, float_arguments, float_datagram, osc_datagram
from antiphon.realtime.scheduler import Scheduled, Sender
from antiphon.realtime.session_log import SessionLog

log = logging.getLogger("antiphon.realtime")

#: a frame sent more than this after its deadline counts as late
LATE_S = 0.001
#: an answer is prepared this long before the silence threshold, so its first frame leaves on time
#: (if the performer plays meanwhile, the prepared frames are cancelled and the state rolled back)
ANSWER_LEAD_S = 0.005


@dataclass
class Stats:
    """Counters and timings; each is written by one thread only."""

    frames_in: int = 0
    frames_out: int = 0
    late_frames: int = 0
    answers: int = 0
    send_errors_ms: deque = field(default_factory=lambda: deque(maxlen=5000))
    feed_latency_ms: deque = field(default_factory=lambda: deque(maxlen=5000))
    first_frame_delay_ms: deque = field(default_factory=lambda: deque(maxlen=1000))
    answer_starts: deque = field(default_factory=lambda: deque(maxlen=1000))  # perf_counter times of the silence thresholds


class AnswerSink(Protocol):
    """Something that sounds answer frames as they are sent (``antiphon live``'s streaming renderer).

    :meth:`prepare` runs on the model thread when a frame is generated (ahead of its time), so the
    costly part is done early; :meth:`play` runs on the send thread at the frame's deadline and
    must return at once; :meth:`silence` runs when an answer is cut short (the performer plays).
    """

    def prepare(self, features: np.ndarray) -> object: ...

    def play(self, prepared: object) -> None: ...

    def silence(self) -> None: ...


class Session:
    """Serve ``engine`` with ``config``; :meth:`start`, then :meth:`stop` (flushes the log).

    Frames come over OSC (``serve``) or from :meth:`feed` (``live``'s audio analysis); answers go
    over OSC to ``send_host:send_port`` unless ``send`` is False, and to ``sink`` when one is given.
    Controls always come over OSC on ``config.port``; ``front_end_status`` adds a front end's
    counters to :meth:`status` (and so to the ``/status`` reply).
    """

    def __init__(
        self,
        engine: Engine,
        config: RealtimeConfig,
        log_path: Path,
        *,
        sink: AnswerSink | None = None,
        send: bool = True,
        log_header: dict[str, Any] | None = None,
        front_end_status: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.engine, self.config = engine, config
        self.mode: Mode = MODES[config.mode]
        self.silence_s = config.silence_s
        engine.use_temperatures(config)
        self.rng = np.random.default_rng(config.seed)
        self.rejects = Rejects()
        self.stats = Stats()
        self.n_features = len(engine.feature_names)
        self.inputs: queue.SimpleQueue = queue.SimpleQueue()
        self.log = SessionLog(
            log_path,
            {
                "model": str(engine.info.folder),
                "features": list(engine.feature_names),
                "realtime": to_dict(config),
                "answers_sent_over_osc": send,
                **(log_header or {}),
            },
        )
        self.sink = sink
        self.front_end_status = front_end_status  # counters of live's audio and analysis, in status()
        self._unix_at_start = self.log.header["clock_start_unix_s"]
        prefix = config.control_prefix
        self.controls = {
            f"{prefix}/mode": self._on_mode,
            f"{prefix}/pi_temperature": self._on_pi_temperature,
            f"{prefix}/sigma_temperature": self._on_sigma_temperature,
            f"{prefix}/played_sigma_temperature": self._on_played_sigma_temperature,
            f"{prefix}/chroma_sigma_temperature": self._on_chroma_sigma_temperature,
            f"{prefix}/dt_temperature": self._on_dt_temperature,
            f"{prefix}/register_pull_s": self._on_register_pull,
            f"{prefix}/follow_key": self._on_follow_key,
            f"{prefix}/key_margin": self._on_key_margin,
            f"{prefix}/hold_chroma_mass": self._on_hold_chroma_mass,
            f"{prefix}/silence_s": self._on_silence,
            f"{prefix}/reset": self._on_reset,
            f"{prefix}/status": self._on_status,
        }
        handlers = {config.frame_address: self._on_frame, **self.controls}
        dispatcher = PacketFilter(handlers, self.rejects, config.max_packet_bytes, config.max_timetag_ahead_s)
        self.server = OscServer((config.host, config.port), dispatcher, config.receive_buffer_bytes)
        self.sender = Sender((config.send_host, config.send_port) if send else None, self._sent)
        # model-thread state
        self._answer = 0  # id of the answer being played (0: none)
        self._answer_clock = 0.0  # deadline of the last answer frame generated
        self._answer_start = 0.0  # deadline of its first frame (the silence threshold)
        self._answered_frames = 0  # frames generated in this answer
        self._seq = 0
        self._pending: deque[tuple[int, object]] = deque()  # (seq, state snapshot after that frame) not yet sent
        self._last_heard_state: object = None  # state after the last frame actually heard (in or sent)
        self._last_input = None  # perf_counter time of the last performer frame
        self._last_heard = None  # perf_counter time of the last frame the model heard (input or sent answer)
        self._running = False
        self._model_thread = threading.Thread(target=self._run, name="model", daemon=True)

    # ------------------------------------------------------------------ OSC handlers (receive thread)

    def _on_frame(self, address: str, *args: Any) -> None:
        """f x features: one analysis frame in instrument units, the model's features in its order; fed to the
        model at once (in call-and-response it also stops an answer)."""
        values = float_arguments(args, self.n_features, address, self.rejects)
        if values is not None:
            self.feed(values, time.perf_counter())

    def feed(self, values: np.ndarray | list[float], at: float) -> None:
        """One performer frame (the model's features in its order, instrument units) that arrived at ``at``
        (a ``time.perf_counter()`` time); thread-safe and quick: the model thread takes it from there.
        In call-and-response a frame also stops the answer being played, at once."""
        if self._answer and self.mode.answer_after_silence:
            self.sender.refuse(self._answer)  # silence the answer now; the model thread rolls back its state
            if self.sink is not None:
                self.sink.silence()
        self.inputs.put(("frame", at, values))

    def _on_mode(self, address: str, *args: Any) -> None:  # its doc, which protocol() prints, names the modes (below)
        if len(args) == 1 and args[0] in MODES:
            self.inputs.put(("mode", time.perf_counter(), args[0]))
        else:
            self.rejects.add("wrong_type", f"{address} {args!r}: expected one of {', '.join(MODES)}")

    _on_mode.__doc__ = f"s: the interaction mode: {', '.join(MODES)}"  # what protocol() prints

    def _on_pi_temperature(self, address: str, *args: Any) -> None:
        """f: temperature of the mixture weights (> 0)."""
        self._number_control(address, args, "pi_temperature", lambda v: v > 0)

    def _on_sigma_temperature(self, address: str, *args: Any) -> None:
        """f: variance scale of the sampled component in the frames the model feeds back, the answer's course (>= 0)."""
        self._number_control(address, args, "sigma_temperature", lambda v: v >= 0)

    def _on_played_sigma_temperature(self, address: str, *args: Any) -> None:
        """f: variance scale of the sampled component in the frames sent: the same draw (>= 0; 1: the model's spread)."""
        self._number_control(address, args, "played_sigma_temperature", lambda v: v >= 0)

    def _on_chroma_sigma_temperature(self, address: str, *args: Any) -> None:
        """f: variance scale of the 12 chroma values' draws (>= 0)."""
        self._number_control(address, args, "chroma_sigma_temperature", lambda v: v >= 0)

    def _on_dt_temperature(self, address: str, *args: Any) -> None:
        """f: variance scale of sampled time steps (>= 0; only for models that model dt)."""
        self._number_control(address, args, "dt_temperature", lambda v: v >= 0)

    def _on_register_pull(self, address: str, *args: Any) -> None:
        """f: time constant of the answer's pull toward its prompt's register, s (>= 0; 0: none)."""
        self._number_control(address, args, "register_pull_s", lambda v: v >= 0)

    def _on_follow_key(self, address: str, *args: Any) -> None:
        """i or f: 1 to answer in the key the performer plays in, 0 to answer in the model's own keys."""
        self._number_control(address, args, "follow_key", lambda v: v in (0, 1))

    def _on_key_margin(self, address: str, *args: Any) -> None:
        """f: how much better a moved key must match a training song before answers move (>= 0)."""
        self._number_control(address, args, "key_margin", lambda v: v >= 0)

    def _on_hold_chroma_mass(self, address: str, *args: Any) -> None:
        """i or f: 1 to hold the answer's weaker pitch classes, together, no stronger than in what was heard (its
        chroma keeps the performer's contrast), 0 to let them blur as the model draws them."""
        self._number_control(address, args, "hold_chroma_mass", lambda v: v in (0, 1))

    def _on_silence(self, address: str, *args: Any) -> None:
        """f: seconds of silence before an answer (> 0)."""
        self._number_control(address, args, "silence_s", lambda v: v > 0)

    def _on_reset(self, address: str, *args: Any) -> None:
        """(none): forget the performance so far: zero the model state, drop pending answers."""
        self.inputs.put(("reset", time.perf_counter(), None))

    def _on_status(self, address: str, *args: Any) -> None:
        """(none): replies <prefix>/status to the answer port with key/value pairs: mode, frames_in,
        frames_out, rejected, late_frames, answers, key_shift, feed latency and send error percentiles (ms)."""
        self.inputs.put(("status", time.perf_counter(), None))

    def _number_control(self, address: str, args: tuple, name: str, valid) -> None:
        values = float_arguments(args, 1, address, self.rejects)
        if values is not None:
            if valid(values[0]):
                self.inputs.put(("control", time.perf_counter(), (name, values[0])))
            else:
                self.rejects.add("wrong_type", f"{address} {values[0]}: out of range")

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        sys.setswitchinterval(0.0005)  # the GIL would otherwise add ~5 ms to receive latency under load
        self._running = True
        self._model_thread.start()
        self.server.start()
        self.log.event("mode", mode=self.mode.name)
        if self.mode.play_alone:
            self.inputs.put(("wake", time.perf_counter(), None))

    def stop(self) -> None:
        """Stop receiving, sending and the model thread; write the log's last line and close it."""
        self._running = False
        self.server.shutdown()
        self.server.server_close()
        self.inputs.put(("stop", time.perf_counter(), None))
        self._model_thread.join(timeout=2.0)
        self.sender.stop()
        self.log.close()

    @property
    def port(self) -> int:
        return self.server.port

    def protocol(self) -> list[str]:
        """The OSC protocol, one line per address, from the handlers' docstrings (printed by ``serve``)."""
        n = self.n_features
        rows = [("in ", self.config.frame_address, self._on_frame.__doc__)]
        rows.append(("out", self.config.prediction_address, f"f x {n}: an answer frame, the same layout, sent at its time"))
        rows += [("ctl", address, handler.__doc__) for address, handler in self.controls.items()]
        return [f"{kind} {address} {' '.join((doc or '').split()).replace('f x features', f'f x {n}')}" for kind, address, doc in rows]

    # ------------------------------------------------------------------ the model thread

    def _run(self) -> None:
        while self._running:
            try:
                kind, at, payload = self.inputs.get(timeout=self._wait_s())
            except queue.Empty:
                kind, at, payload = "tick", time.perf_counter(), None
            if kind == "frame":
                self._frame(at, np.asarray(payload))
            elif kind == "mode":
                self._set_mode(at, payload)
            elif kind == "control":
                name, value = payload
                if name == "silence_s":
                    self.silence_s = value
                else:
                    setattr(self.engine, name, value)
                self.log.event("control", name=name, value=value)
            elif kind == "reset":
                self._stop_answer()
                self.engine.reset()
                self._last_input = self._last_heard = None
                self.log.event("reset")
            elif kind == "status":
                self.sender.send_now(osc_datagram(f"{self.config.control_prefix}/status", self.status_pairs()))
            elif kind == "sent":
                self._confirm_sent(payload)
            self._tick(time.perf_counter())

    def _wait_s(self) -> float:
        now = time.perf_counter()
        if self.mode.answer_after_silence and not self._answer and self._last_input is not None:
            return max(0.0, self._last_input + self.silence_s - ANSWER_LEAD_S - now)
        return 0.05

    def _frame(self, at: float, values: np.ndarray) -> None:
        self.stats.frames_in += 1
        self.log.event("in", at=at, values=values.tolist())
        if not self.mode.feed_input:
            return
        if self._answer:
            self._stop_answer()  # the performer plays again: the answer stops now
        dt = at - self._last_heard if self._last_heard is not None else self.engine.info.timing.hop_s
        self.engine.feed(values, min(max(dt, self.config.min_dt_s), self._max_dt()))
        self.stats.feed_latency_ms.append((time.perf_counter() - at) * 1000.0)
        self._last_input = self._last_heard = at
        self._last_heard_state = self.engine.get_state()
        if self.mode.answer_each_frame:
            dt_s, features = self.engine.sample(self.rng, self.config.min_dt_s)
            self._schedule(at + dt_s, features, answer=0)

    def _max_dt(self) -> float:
        """Longest time step fed to the model: the longest it saw in training (a pause is not a step)."""
        return self.engine.info.timing.dt_max_s

    def _tick(self, now: float) -> None:
        if self.mode.answer_after_silence and not self._answer and self._last_input is not None:
            threshold = self._last_input + self.silence_s
            if now >= threshold - ANSWER_LEAD_S:
                self._start_answer(max(threshold, now))
        elif self.mode.play_alone and not self._answer:
            self._start_answer(now + ANSWER_LEAD_S)
        if self._answer:
            while len(self._pending) < self.config.ahead_frames and not self._answer_full():
                dt_s, features = self.engine.answer(self.rng, self.config.min_dt_s)
                # the first frame goes out at the threshold; each next one dt after the one before
                deadline = self._answer_clock if self._answered_frames == 0 else self._answer_clock + dt_s
                self._answer_clock = deadline
                self._answered_frames += 1
                seq = self._schedule(deadline, features, answer=self._answer)
                self._pending.append((seq, self.engine.get_state()))

    def _answer_full(self) -> bool:
        """Whether the answer has reached ``realtime.max_answer_s`` (call-and-response only; solo plays on)."""
        limit = self.config.max_answer_s
        return bool(limit) and self.mode.answer_after_silence and self._answer_clock - self._answer_start >= limit

    def _start_answer(self, t0: float) -> None:
        self.stats.answers += 1
        self._answer = self.stats.answers
        self._answer_clock = t0
        self._answered_frames = 0
        self._answer_start = t0
        self.stats.answer_starts.append(t0)
        self._last_heard_state = self.engine.get_state()
        self.log.event("answer", at=t0, answer=self._answer)

    def _stop_answer(self) -> None:
        """Cancel unsent frames and return the model to the state after the last frame actually sent."""
        self.sender.cancel(self._answer)
        if self._answer and self.sink is not None:
            self.sink.silence()
        if self._pending and self._last_heard_state is not None:
            self.engine.set_state(self._last_heard_state)
        self._pending.clear()
        self._answer = 0

    def _set_mode(self, at: float, name: str) -> None:
        self._stop_answer()
        self.mode = MODES[name]
        self.log.event("mode", at=at, mode=name)

    def _schedule(self, deadline: float, features: np.ndarray, answer: int) -> int:
        datagram = float_datagram(self.config.prediction_address, features.tolist())
        if self.config.bundles:  # timetagged with when it should sound, on the wall clock the log header records
            datagram = bundle_datagram(datagram, self._unix_at_start + (deadline - self.log.start) + self.config.bundle_lead_s)
        self._seq += 1
        seq = self._seq
        prepared = self.sink.prepare(features) if self.sink is not None else None
        self.sender.schedule(deadline, datagram, answer=answer, payload=(seq, features, prepared))
        return seq

    # ------------------------------------------------------------------ sender callbacks (send thread)

    def _sent(self, item: Scheduled, sent_at: float) -> None:
        """Count the frame and hand the rest (logging, state bookkeeping) to the model thread: the
        sender thread does nothing but send, so the next deadline is not delayed."""
        if self.sink is not None:
            self.sink.play(item.payload[2])
        self.stats.frames_out += 1
        error = sent_at - item.deadline
        self.stats.send_errors_ms.append(error * 1000.0)
        if error > LATE_S:
            self.stats.late_frames += 1
        self.inputs.put(("sent", sent_at, (item, sent_at)))

    def _confirm_sent(self, payload: tuple) -> None:
        item, sent_at = payload
        seq, features, _ = item.payload
        answer, deadline = item.answer, item.deadline
        self.log.event("out", at=sent_at, values=np.asarray(features).tolist(), answer=answer, planned_ms=self.log.ms(deadline))
        if not answer or answer != self._answer:
            return
        if deadline == self._answer_start:
            self.stats.first_frame_delay_ms.append((sent_at - deadline) * 1000.0)
        while self._pending:
            pending_seq, snapshot = self._pending.popleft()
            if pending_seq == seq:
                self._last_heard_state = snapshot
                self._last_heard = sent_at
                break
        if not self._pending and self._answer_full():  # its last frame has left: the next answer waits for the performer
            self.log.event("answer_end", at=sent_at, answer=answer)
            if self.sink is not None:
                self.sink.silence()
            self._answer = 0
            self._last_input = None

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        def pct(values: deque, q: float) -> float:
            return float(np.percentile(list(values), q)) if values else 0.0

        return {
            "mode": self.mode.name,
            "frames_in": self.stats.frames_in,
            "frames_out": self.stats.frames_out,
            "rejected": self.rejects.total,
            "late_frames": self.stats.late_frames,
            "answers": self.stats.answers,
            "key_shift": self.engine.key_shift,
            "feed_latency_ms_p50": pct(self.stats.feed_latency_ms, 50),
            "feed_latency_ms_p99": pct(self.stats.feed_latency_ms, 99),
            "send_error_ms_p50": pct(self.stats.send_errors_ms, 50),
            "send_error_ms_p99": pct(self.stats.send_errors_ms, 99),
            **{f"rejected_{kind}": count for kind, count in sorted(self.rejects.counts.items())},
            **(self.front_end_status() if self.front_end_status is not None else {}),
        }

    def status_pairs(self) -> list[Any]:
        pairs: list[Any] = []
        for key, value in self.status().items():
            pairs.extend([key, value])
        return pairs
