"""The sound card's side of ``antiphon live``, in a process of its own.

The audio callback is Python, so it needs the GIL every block (2.9 ms at 128 samples). In one
process with the analysis, the model and the renderer's preparation, every NumPy call of those
threads that lets go of the GIL and takes it back makes the callback wait: measured on JACK with
128-sample periods, 158 xruns a minute with a peer playing into it. Here the callback shares its
process only with a thread that sleeps on a pipe, and hands its blocks over without a thread or a
lock in between:

- **this process** (spawned): the clock (:class:`~antiphon.realtime.audio_io.AudioIO`), the
  streaming renderer's :meth:`~antiphon.render.stream.StreamingRenderer.render`; each block of
  input and output goes into a :class:`BlockRing` in shared memory with the time its last input
  sample arrived (``time.perf_counter()``: CLOCK_MONOTONIC, the same clock in both processes);
- **the parent** (:class:`AudioProcess`): reads the ring (:meth:`AudioProcess.read`) and sends
  what to sound through a pipe: :meth:`AudioProcess.play` (amplitudes prepared in the parent),
  :meth:`AudioProcess.silence`, :meth:`AudioProcess.set_level`.

Device errors are found in this process and raised in the parent by :meth:`AudioProcess.start`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from antiphon.errors import ConfigError
from antiphon.realtime.audio_io import AudioIO, resolve_device
from antiphon.render.stream import StreamingRenderer

#: how often this process reports its counters to the parent, s
REPORT_S = 0.25
#: blocks the ring holds: 3 s at 128 samples and 44.1 kHz, for a parent that falls behind
RING_BLOCKS = 1024


class BlockRing:
    """Blocks of input and output samples, each with the arrival time of its last input sample, in
    shared memory: one writer (the audio callback: two copies and a counter, no lock, no syscall
    but a semaphore post) and one reader (the parent), which counts blocks it lost to overwriting.

    Layout: ``written`` (int64: blocks written so far), ``times`` (capacity,) float64 seconds,
    ``sizes`` (capacity,) int64 samples, ``samples`` (capacity, 2, block_frames) float32 (input,
    output).
    """

    def __init__(self, block_frames: int, capacity: int = RING_BLOCKS, name: str | None = None) -> None:
        self.block_frames, self.capacity = block_frames, capacity
        size = 8 + capacity * (8 + 8 + 2 * block_frames * 4)
        self.memory = shared_memory.SharedMemory(name=name, create=name is None, size=size)
        buffer = self.memory.buf
        self.written = np.ndarray((1,), np.int64, buffer, 0)
        self.times = np.ndarray((capacity,), np.float64, buffer, 8)
        self.sizes = np.ndarray((capacity,), np.int64, buffer, 8 + 8 * capacity)
        self.samples = np.ndarray((capacity, 2, block_frames), np.float32, buffer, 8 + 16 * capacity)
        if name is None:
            self.written[0] = 0
        self._read = 0
        self.lost = 0  # blocks overwritten before the reader took them

    def write(self, indata: np.ndarray, outdata: np.ndarray, arrival: float) -> None:
        """One block (n <= block_frames samples each); the audio thread only."""
        k = int(self.written[0])
        slot = k % self.capacity
        n = indata.size
        self.samples[slot, 0, :n] = indata
        self.samples[slot, 1, :n] = outdata
        self.times[slot], self.sizes[slot] = arrival, n
        self.written[0] = k + 1  # published last: an aligned 8-byte store

    def read(self) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Every block written since the last read, oldest first, as copies (input (n,), output (n,), arrival)."""
        written = int(self.written[0])
        if written - self._read > self.capacity:
            self.lost += written - self._read - self.capacity
            self._read = written - self.capacity
        blocks = []
        for k in range(self._read, written):
            slot = k % self.capacity
            n = int(self.sizes[slot])
            blocks.append((self.samples[slot, 0, :n].copy(), self.samples[slot, 1, :n].copy(), float(self.times[slot])))
        self._read = written
        return blocks

    def close(self, unlink: bool = False) -> None:
        del self.written, self.times, self.sizes, self.samples  # views into the buffer must go before it closes
        self.memory.close()
        if unlink:
            self.memory.unlink()


@dataclass(frozen=True)
class AudioSettings:
    """What the audio process opens and how it sounds answers.

    ``input_device``: a device spec ('' = the default input), or None when ``input_samples`` (L,)
    float32 is a file's signal to play at its real rate; ``output_device``: a spec, or None for no
    card.
    """

    sample_rate_hz: int
    block_frames: int
    feature_names: tuple[str, ...]
    ramp_s: float
    hold_s: float = 0.5
    input_device: str | None = None
    input_samples: np.ndarray | None = field(default=None, repr=False)
    output_device: str | None = None
    tail_s: float = 0.0


@dataclass
class AudioCounters:
    """What the audio process reports: blocks, xruns, and when each answer's first sample sounded
    (perf_counter time at the output, the output device's latency included)."""

    blocks: int = 0
    input_overflows: int = 0
    output_underflows: int = 0
    late_blocks: int = 0
    onsets: list[float] = field(default_factory=list)


class AudioProcess:
    """The parent's handle on the audio process; also the session's answer sink (prepare here, sound there)."""

    def __init__(self, settings: AudioSettings) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that may hold PortAudio
        self.settings = settings
        self._context = context
        self.ring: BlockRing | None = None  # made by start(), so that nothing is left behind by a session that never starts
        self._ready = context.Semaphore(0)  # posted once per block written
        commands, self._commands = context.Pipe(duplex=False)  # written here by three threads: under _command_lock
        self._command_lock = threading.Lock()
        self._events, self._child_events = context.Pipe(duplex=False)
        self._child_commands = commands
        self._process: Any = None
        self._preparer = StreamingRenderer(settings.feature_names, settings.sample_rate_hz, ramp_s=settings.ramp_s)
        self.counters = AudioCounters()
        self.finished = threading.Event()  # a file input and its tail have played
        self.stopped = threading.Event()  # the process has written its last block
        self.input_latency_s = self.output_latency_s = 0.0
        self._listener = threading.Thread(target=self._listen, name="audio-events", daemon=True)

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the process and open the devices.

        Raises:
            ConfigError: what the audio process found wrong with the devices.
        """
        self.ring = BlockRing(self.settings.block_frames)
        self._process = self._context.Process(
            target=run_audio_process,
            args=(self.settings, self.ring.memory.name, self._ready, self._child_commands, self._child_events),
            name="antiphon-audio",
            daemon=True,
        )
        self._process.start()
        self._child_commands.close()  # the child's ends: closed here, so that its death reads as EOF
        self._child_events.close()
        failure = None
        wanted = self.settings
        devices = (
            f"input {'the file' if wanted.input_samples is not None else repr(wanted.input_device or '(default)')}, "
            f"output {repr(wanted.output_device) if wanted.output_device is not None else 'none'}"
        )
        if not self._events.poll(timeout_s):
            self._process.kill()
            failure = f"the audio process did not open the devices ({devices}) within {timeout_s:g} s"
        else:
            try:
                kind, *rest = self._events.recv()
            except EOFError:
                kind, rest = (
                    "error",
                    [f"the audio process ended before it opened the devices ({devices}; exit code {self._process.exitcode})"],
                )
            if kind == "error":
                self._process.join(timeout=5.0)
                failure = rest[0]
        if failure is not None:
            self.stopped.set()
            self.close()
            raise ConfigError(failure)
        self.input_latency_s, self.output_latency_s = rest
        self._listener.start()

    def read(self, timeout_s: float = 0.1) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """The blocks written since the last call (input (n,), output (n,), arrival perf_counter time),
        waiting up to ``timeout_s`` for one; empty once the process has stopped and all were read."""
        self._ready.acquire(timeout=timeout_s)
        blocks = self.ring.read() if self.ring is not None else []
        while self._ready.acquire(block=False):  # the posts for the blocks just read
            pass
        return blocks

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the audio (the last counters arrive before this returns) and the process."""
        if self._process is not None and self._process.is_alive():
            self._command("stop")
            self.stopped.wait(timeout_s)
            self._process.join(timeout=timeout_s)
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        self.stopped.set()

    @property
    def lost(self) -> int:
        """Blocks the parent read too late (overwritten in the ring)."""
        return self.ring.lost if self.ring is not None else 0

    def close(self) -> None:
        """Free the shared memory (after :meth:`stop` and the last :meth:`read`)."""
        if self.ring is not None and hasattr(self.ring, "samples"):
            self.ring.close(unlink=True)

    # ------------------------------------------------------------------ AnswerSink

    def prepare(self, features: np.ndarray) -> object:
        return self._preparer.prepare(features)

    def play(self, prepared: object) -> None:
        self._command("play", prepared)

    def silence(self) -> None:
        self._command("silence")

    def set_level(self, rms: float) -> None:
        """The answer's level (RMS, full scale) for frames that carry none."""
        self._command("level", float(rms))

    def _command(self, *command: object) -> None:
        """Written to the pipe by the calling thread itself: no queue's feeder thread to wait for (it
        would need the GIL first), so a frame reaches the audio process about 0.1 ms after its deadline."""
        with self._command_lock, contextlib.suppress(OSError):  # the process has gone: nothing left to sound
            self._commands.send(command)

    # ------------------------------------------------------------------ events from the process

    def _listen(self) -> None:
        while True:
            try:
                kind, *rest = self._events.recv()
            except (EOFError, OSError):  # the process has gone
                self.finished.set()
                self.stopped.set()
                return
            if kind == "counters":
                self.counters = rest[0]
            elif kind == "finished":
                self.finished.set()
            elif kind == "stopped":
                self.counters = rest[0]
                self.stopped.set()
                return


def run_audio_process(settings: AudioSettings, ring_name: str, ready: Any, commands: Any, events: Any) -> None:
    """The audio process's main (see the module docstring): opens the devices, reports "ready" with
    their latencies (or "error"), then applies commands until "stop"."""
    sys.setswitchinterval(0.0005)
    try:
        input_device = resolve_device(settings.input_device, "input") if settings.input_samples is None else None
        output_device = resolve_device(settings.output_device, "output") if settings.output_device is not None else None
    except ConfigError as exc:
        events.send(("error", str(exc)))
        return
    ring = BlockRing(settings.block_frames, name=ring_name)
    renderer = StreamingRenderer(settings.feature_names, settings.sample_rate_hz, ramp_s=settings.ramp_s, hold_s=settings.hold_s)
    counters = AudioCounters()
    audio: AudioIO | None = None
    sounding = False

    def process(indata: np.ndarray, outdata: np.ndarray, arrival: float) -> None:
        nonlocal sounding
        out = renderer.render(indata.size)
        outdata[:] = out[:, None]
        ring.write(indata, out, arrival)
        ready.release()
        if renderer.sounding and not sounding:
            counters.onsets.append(arrival + (audio.output_latency_s if audio is not None else 0.0))
        sounding = renderer.sounding
        counters.blocks += 1

    audio = AudioIO(
        process,
        sample_rate_hz=settings.sample_rate_hz,
        block_frames=settings.block_frames,
        input_device=input_device,
        input_samples=settings.input_samples,
        output_device=output_device,
        tail_s=settings.tail_s,
    )
    try:
        audio.start()
    except ConfigError as exc:
        events.send(("error", str(exc)))
        return
    events.send(("ready", audio.input_latency_s, audio.output_latency_s))

    def snapshot() -> AudioCounters:
        x = audio.xruns  # type: ignore[union-attr]
        return AudioCounters(counters.blocks, x.input_overflows, x.output_underflows, x.late_blocks, list(counters.onsets))

    finished_said = False
    next_report = time.monotonic() + REPORT_S
    while True:
        command = commands.recv() if commands.poll(0.05) else None
        if command is not None:
            if command[0] == "stop":
                break
            if command[0] == "play":
                renderer.play(command[1])
            elif command[0] == "silence":
                renderer.silence()
            elif command[0] == "level":
                renderer.level_rms = command[1]
        if audio.finished.is_set() and not finished_said:
            events.send(("finished",))
            finished_said = True
        if time.monotonic() >= next_report:
            events.send(("counters", snapshot()))
            next_report = time.monotonic() + REPORT_S
    audio.stop()
    ready.release()
    events.send(("stopped", snapshot()))
    ring.close()
