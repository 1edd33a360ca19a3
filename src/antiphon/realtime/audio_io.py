"""Audio in and out for ``antiphon live``: sound cards through PortAudio (``sounddevice``), or a file
played at its real rate.

Whatever the source, one function sees every block: ``process(indata, outdata, arrival)``, where
``indata`` (n,) float32 is the next block of input samples (mono, full scale; a view valid only
during the call), ``outdata`` (n, channels) is
to be filled with output, and ``arrival`` is the ``time.perf_counter()`` time the block's last
input sample arrived. Which clock drives it:

- a sound card for input and output: one duplex stream's callback;
- a sound card for input only: the input stream's callback (the output is only recorded);
- a file for input, a sound card for output: the output stream's callback reads the file, so the
  file plays at the card's rate (no drift between the two);
- a file and no sound card: a thread that calls it every block at the file's real rate; a block
  handled more than one block late counts as an underrun (a sound card would have glitched).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from antiphon.errors import ConfigError, DataError

#: the block handler: (input block (n,), output block (n, channels) to fill, arrival perf_counter time)
Process = Callable[[np.ndarray, np.ndarray, float], None]


@dataclass
class XrunCounts:
    """Blocks the sound card (or the file clock) could not keep up with; each written by the audio thread only."""

    input_overflows: int = 0
    output_underflows: int = 0
    late_blocks: int = 0  # file clock: blocks handled more than one block late


def sounddevice_module():
    """``sounddevice``, or a ConfigError that says how to get PortAudio (it is a shared library)."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice is installed but libportaudio is not
        raise ConfigError(f"audio devices need PortAudio ({exc}); on Debian: apt-get install libportaudio2") from None
    return sounddevice


def device_list() -> str:
    """PortAudio's devices, one per line (index, name, host API, inputs and outputs), as ``--list-devices`` prints."""
    return str(sounddevice_module().query_devices())


def resolve_device(spec: str, kind: str) -> int:
    """The index of an ``kind`` ('input' or 'output') device from its index, name or part of its name;
    '' is the default device.

    Raises:
        ConfigError: no such device, several match, or it has no channels of that kind.
    """
    sd = sounddevice_module()
    device: int | str | None = int(spec) if spec.strip().isdigit() else (spec or None)
    try:
        info = sd.query_devices(device, kind=kind)
    except (ValueError, sd.PortAudioError) as exc:
        raise ConfigError(f"{kind} device {spec or '(default)'!r}: {exc}; `antiphon live --list-devices` lists them") from None
    return int(info["index"])


def read_input_file(path: Path, sample_rate_hz: int) -> tuple[np.ndarray, str]:
    """A file's samples (L,) float32 mono (channels averaged) at ``sample_rate_hz`` (resampled when the
    file's rate differs), and a note saying what was done.

    Raises:
        DataError: unreadable or empty audio.
    """
    from math import gcd

    import scipy.signal

    from antiphon.data.audio import load_audio

    audio = load_audio(path)
    if audio.samples.size == 0:
        raise DataError(f"{path}: has no samples")
    note = f"{path}: {audio.samples.size / audio.sample_rate_hz:.1f} s at {audio.sample_rate_hz} Hz, {audio.n_channels} channel(s) mixed to mono"
    samples = audio.samples
    if audio.sample_rate_hz != sample_rate_hz:
        g = gcd(int(sample_rate_hz), int(audio.sample_rate_hz))
        samples = scipy.signal.resample_poly(samples, sample_rate_hz // g, audio.sample_rate_hz // g)
        note += f", resampled to {sample_rate_hz} Hz (the model's analysis rate)"
    return np.asarray(samples, dtype=np.float32), note


class AudioIO:
    """Runs ``process`` block by block from the chosen clock (see the module docstring) until :meth:`stop`,
    or until a file input and ``tail_s`` after it have played (then :attr:`finished` is set)."""

    def __init__(
        self,
        process: Process,
        *,
        sample_rate_hz: int,
        block_frames: int,
        input_device: int | None = None,
        input_samples: np.ndarray | None = None,
        output_device: int | None = None,
        tail_s: float = 0.0,
    ) -> None:
        if (input_device is None) == (input_samples is None):
            raise ValueError("give exactly one of input_device and input_samples")
        self.process, self.sample_rate_hz, self.block_frames = process, int(sample_rate_hz), int(block_frames)
        self.input_device, self.output_device = input_device, output_device
        self.xruns = XrunCounts()
        self.finished = threading.Event()
        self.output_latency_s = 0.0  # the card's, once open (0 without an output card)
        self.input_latency_s = 0.0
        self._samples = input_samples
        self._position = 0
        self._end = None if input_samples is None else input_samples.size + round(tail_s * sample_rate_hz)
        self._stream = None
        self._thread: threading.Thread | None = None
        self._running = False
        self._channels = 1

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Open the streams (or start the file clock); errors from the card are ConfigErrors naming it."""
        self._running = True
        if self.input_device is None and self.output_device is None:
            self._thread = threading.Thread(target=self._file_clock, name="audio-clock", daemon=True)
            self._thread.start()
            return
        sd = sounddevice_module()
        try:
            if self.output_device is not None:
                self._channels = min(2, int(sd.query_devices(self.output_device)["max_output_channels"]))
            common = {"samplerate": self.sample_rate_hz, "blocksize": self.block_frames, "dtype": "float32", "latency": "low"}
            if self.input_device is not None and self.output_device is not None:
                self._stream = sd.Stream(
                    device=(self.input_device, self.output_device), channels=(1, self._channels), callback=self._duplex_callback, **common
                )
                self.input_latency_s, self.output_latency_s = self._stream.latency
            elif self.input_device is not None:
                self._stream = sd.InputStream(device=self.input_device, channels=1, callback=self._input_callback, **common)
                self.input_latency_s = self._stream.latency
            else:
                self._stream = sd.OutputStream(device=self.output_device, channels=self._channels, callback=self._output_callback, **common)
                self.output_latency_s = self._stream.latency
            self._stream.start()
        except sd.PortAudioError as exc:
            devices = ", ".join(
                f"{kind} {d}" for kind, d in (("input", self.input_device), ("output", self.output_device)) if d is not None
            )
            raise ConfigError(
                f"cannot open {devices} at {self.sample_rate_hz} Hz (the model's analysis rate) with {self.block_frames}-sample "
                f"blocks: {exc}; set the interface to {self.sample_rate_hz} Hz or choose another device (--list-devices)"
            ) from None

    def stop(self) -> None:
        self._running = False
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self.finished.set()

    # ------------------------------------------------------------------ clocks

    def _next_file_block(self, n: int) -> np.ndarray:
        """The next n input samples of the file (zeros after its end); sets :attr:`finished` after the tail."""
        assert self._samples is not None
        block = np.zeros(n, dtype=np.float32)
        chunk = self._samples[self._position : self._position + n]
        block[: chunk.size] = chunk
        self._position += n
        if self._end is not None and self._position >= self._end:
            self.finished.set()
        return block

    def _file_clock(self) -> None:
        n = self.block_frames
        out = np.zeros((n, 1), dtype=np.float32)
        period = n / self.sample_rate_hz
        start = time.perf_counter()
        block = 0
        while self._running and not self.finished.is_set():
            block += 1
            due = start + block * period  # the block's last sample has "arrived" then
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif -delay > period:
                self.xruns.late_blocks += 1
            out.fill(0.0)
            self.process(self._next_file_block(n), out, time.perf_counter())

    def _count(self, status) -> None:
        if status.input_overflow:
            self.xruns.input_overflows += 1
        if status.output_underflow:
            self.xruns.output_underflows += 1

    def _duplex_callback(self, indata, outdata, frames, _time, status) -> None:
        self._count(status)
        outdata.fill(0.0)
        self.process(indata[:, 0], outdata, time.perf_counter())

    def _input_callback(self, indata, frames, _time, status) -> None:
        self._count(status)
        self.process(indata[:, 0], np.zeros((frames, 1), dtype=np.float32), time.perf_counter())

    def _output_callback(self, outdata, frames, _time, status) -> None:
        self._count(status)
        outdata.fill(0.0)
        self.process(self._next_file_block(frames), outdata, time.perf_counter())
        if self.finished.is_set():
            raise sounddevice_module().CallbackStop
