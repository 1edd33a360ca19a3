"""``antiphon live``: the performer's sound in, the model's answer out as sound, in real time.

The second front end of :class:`~antiphon.realtime.session.Session` (``serve`` is the first):

- **audio**, in a process of its own (:mod:`antiphon.realtime.audio_process`: the sound card's
  callback, or the clock of a file played at its real rate): sends each input block here,
  renders the next output block (:class:`~antiphon.render.stream.StreamingRenderer`) and records
  both (``--record``: a stereo WAV, the input left and the answer right, on one sample clock);
- **analysis**: the streaming extractor computes the frames the model was trained on (the settings
  in its ``model.json``); a frame quieter than ``live.gate_dbfs`` is the performer's silence and is
  not fed (so the session's silence rule starts the answer, as when an instrument stops sending);
  the others go to :meth:`Session.feed` with the time their last sample arrived;
- the session's threads do the rest as for ``serve``: the model, the answer schedule, the log,
  the OSC controls, and answers over OSC with ``--send``; each answer frame's partial amplitudes
  are prepared on the model thread, ahead of its time, and sent to the audio process at its time.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.config import AnalysisConfig, Config, from_dict
from antiphon.errors import ConfigError, DataError
from antiphon.feature_names import CATEGORIES
from antiphon.features import StreamingExtractor
from antiphon.model.engine import Engine
from antiphon.realtime.audio_io import read_input_file
from antiphon.realtime.audio_process import AudioProcess, AudioSettings
from antiphon.realtime.session import Session

#: the extractor always computes this feature too: the frame's mean square, for the gate and the level
LEVEL_FEATURE = "TotalEnergy"


def model_analysis(engine: Engine, requested: AnalysisConfig | None = None) -> tuple[AnalysisConfig, int]:
    """The analysis settings and sample rate (Hz) of the frames ``engine``'s model was trained on.

    ``requested`` is the user's ``[analysis]`` section: a setting changed from its default that
    disagrees with the model is refused, since live analyses as the model was trained.

    Raises:
        ConfigError: the model does not record its analysis, its files disagreed on a setting, a
            feature is not one the analyser computes, or ``requested`` contradicts the model.
    """
    folder = engine.info.folder
    recorded = engine.info.analysis
    if not recorded:
        raise ConfigError(
            f"{folder}/model.json records no analysis settings (its corpus came from files that do not say how they were "
            "analysed, such as an instrument's own JSON): live computes the features itself and cannot know they match; "
            "train on the output of `antiphon analyze` (or use `antiphon serve` with the instrument)"
        )
    unknown = sorted(k for k, v in recorded.items() if v is None)
    if unknown:
        raise ConfigError(
            f"{folder}/model.json: its training files disagreed on analysis settings {', '.join(unknown)}: live cannot match them all"
        )
    missing = [n for n in engine.feature_names if not any(n in names for names in CATEGORIES.values())]
    if missing:
        raise ConfigError(f"{folder}: features {', '.join(missing)} are not computed by antiphon's analysis; live cannot feed them")
    settings = {k: v for k, v in recorded.items() if k != "sample_rate_hz"}
    settings["variation_first_frame"] = "zero"  # streaming has no next frame; only a recording's first frame differs
    config = from_dict(AnalysisConfig, settings, f"{folder}/model.json analysis").resolved()
    if requested is not None:
        default = AnalysisConfig().resolved()
        asked = requested.resolved()
        clashes = [
            f"analysis.{f.name}={getattr(asked, f.name)!r} (the model's: {getattr(config, f.name)!r})"
            for f in dataclasses.fields(AnalysisConfig)
            if f.name != "variation_first_frame"
            and getattr(asked, f.name) != getattr(default, f.name)
            and getattr(asked, f.name) != getattr(config, f.name)
        ]
        if clashes:
            raise ConfigError(f"{'; '.join(clashes)}: live analyses as {folder} was trained; drop these settings")
    return config, int(recorded["sample_rate_hz"])


@dataclass
class LiveStats:
    """Counters of the analysis thread."""

    frames_analysed: int = 0
    frames_gated: int = 0  # quieter than live.gate_dbfs: the performer's silence
    frames_fed: int = 0


class LiveSession:
    """A live session: ``start``, wait (:meth:`wait`), ``stop``; :meth:`status` at any time.

    Raises (at construction): ConfigError for a model, device or setting that cannot work, with
    what to do; DataError for an unreadable input file or a record file that cannot be written.
    """

    def __init__(
        self,
        model_dir: Path,
        config: Config,
        log_path: Path,
        *,
        send: bool = False,
        record_path: Path | None = None,
    ) -> None:
        live = config.live
        self.engine = Engine.from_model_dir(model_dir)
        analysis, self.sample_rate_hz = model_analysis(self.engine, config.analysis)
        names = self.engine.feature_names
        categories = tuple(c for c, members in CATEGORIES.items() if c == "Signal" or any(n in members for n in names))
        self.extractor = StreamingExtractor(self.sample_rate_hz, analysis, categories)
        self._columns = [self.extractor.names.index(n) for n in names]
        self._energy = self.extractor.names.index(LEVEL_FEATURE)
        self._gate_mean_square = 10.0 ** (live.gate_dbfs / 10.0)
        self._hop = analysis.hop_length
        self._frame_end = analysis.n_fft - (analysis.n_fft // 2 if analysis.center else 0)  # frame t ends at sample t * hop + this
        self._follow = min(1.0, self.engine.info.timing.hop_s / live.level_follow_s)
        self._level: float | None = None
        input_path = Path(live.input) if live.input and Path(live.input).is_file() else None
        if live.input and input_path is None and ("/" in live.input or Path(live.input).suffix.lower() in (".wav", ".flac", ".ogg")):
            raise DataError(f"{live.input}: no such audio file (live.input takes a file or a device: --list-devices)")
        samples, self.input_note = (None, "")
        if input_path is not None:
            samples, self.input_note = read_input_file(input_path, self.sample_rate_hz)
        self.record_path = record_path
        self.audio = AudioProcess(
            AudioSettings(
                sample_rate_hz=self.sample_rate_hz,
                block_frames=live.block_frames,
                feature_names=names,
                ramp_s=self.engine.info.timing.hop_s,
                hold_s=max(0.1, 2.0 * self.engine.info.timing.dt_max_s),  # longer than any answer step
                input_device=None if samples is not None else live.input,
                input_samples=samples,
                output_device=live.output or None,
                tail_s=live.tail_s,
            )
        )
        self._recorder = None
        if record_path is not None:
            import soundfile as sf

            try:
                record_path.parent.mkdir(parents=True, exist_ok=True)
                self._recorder = sf.SoundFile(
                    str(record_path), "w", samplerate=self.sample_rate_hz, channels=2, subtype="PCM_16", format="WAV"
                )
            except (OSError, RuntimeError) as exc:
                raise DataError(f"{record_path}: cannot write the recording ({exc})") from None
        self.session = Session(
            self.engine,
            config.realtime,
            log_path,
            sink=self.audio,
            front_end_status=self._front_end_status,
            send=send,
            log_header={
                "live": {
                    **dataclasses.asdict(live),
                    "input": str(input_path) if input_path else live.input or "(default input device)",
                    "output": live.output or None,
                    "record": str(record_path) if record_path else None,
                    "sample_rate_hz": self.sample_rate_hz,
                }
            },
        )
        self.stats = LiveStats()
        self._pushed = 0
        self._analysis = threading.Thread(target=self._analyse, name="analysis", daemon=True)
        self._cpu_start = (0.0, 0.0)

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Start the session, then the audio process (its ConfigError is raised with the session stopped)."""
        self._cpu_start = (time.process_time(), time.perf_counter())
        self.session.start()
        try:
            self.audio.start()
        except ConfigError:
            self.session.stop()
            if self._recorder is not None:  # nothing was recorded: leave no empty file behind
                self._recorder.close()
                assert self.record_path is not None
                self.record_path.unlink(missing_ok=True)
            raise
        self._analysis.start()

    def wait(self, seconds: float | None = None, stop: threading.Event | None = None) -> None:
        """Block until a file input has played with its tail, ``seconds`` have passed, or ``stop`` is set."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while not self.audio.finished.is_set() and not (stop is not None and stop.is_set()):
            if deadline is not None and time.monotonic() >= deadline:
                return
            self.audio.finished.wait(0.05)

    def stop(self) -> None:
        """Stop the audio, let the analysis take the last blocks (recording closed), stop the session (log closed)."""
        self.audio.stop()
        if self._analysis.is_alive():
            self._analysis.join(timeout=10.0)
        self.audio.close()
        if self._recorder is not None:
            self._recorder.close()
        self.session.stop()

    # ------------------------------------------------------------------ the analysis thread

    def _analyse(self) -> None:
        """Take the audio process's blocks as they come, until it has stopped and none is left."""
        while True:
            done = self.audio.stopped.is_set()  # seen before reading: every block written before the stop is read below
            for samples, answer, arrival in self.audio.read():
                if self._recorder is not None:
                    self._recorder.write(np.column_stack([samples, answer]))
                self._analyse_block(samples.astype(np.float64), arrival)
            if done:
                return

    def _analyse_block(self, samples: np.ndarray, arrival: float) -> None:
        """Feed the frames ``samples`` complete (those above the gate), each at the time its last sample arrived."""
        frames = self.extractor.push(samples)
        self._pushed += samples.size
        first = self.extractor.n_frames - frames.values.shape[0]
        for j, row in enumerate(frames.values):
            self.stats.frames_analysed += 1
            mean_square = row[self._energy]
            if mean_square <= self._gate_mean_square:
                self.stats.frames_gated += 1
                continue
            at = arrival - (self._pushed - ((first + j) * self._hop + self._frame_end)) / self.sample_rate_hz
            self.session.feed(row[self._columns], at)
            self.stats.frames_fed += 1
            rms = float(np.sqrt(mean_square))
            self._level = rms if self._level is None else self._level + self._follow * (rms - self._level)
            self.audio.set_level(self._level)

    # ------------------------------------------------------------------ status

    def _front_end_status(self) -> dict[str, Any]:
        """The audio's and the analysis's counters (in :meth:`Session.status`, so also in OSC ``/status`` replies)."""
        counters = self.audio.counters
        return {
            "blocks": counters.blocks,
            "input_overflows": counters.input_overflows,
            "output_underflows": counters.output_underflows,
            "late_blocks": counters.late_blocks,
            "blocks_lost": self.audio.lost,
            "frames_analysed": self.stats.frames_analysed,
            "frames_gated": self.stats.frames_gated,
            "frames_fed": self.stats.frames_fed,
            "answer_onsets": len(counters.onsets),
        }

    def status(self) -> dict[str, Any]:
        """The session's counters (:meth:`Session.status`, with the audio's and the analysis's), the delay
        from each silence threshold to its answer's first sample (ms, the output device's latency
        included) and the CPU load of this process (percent of one core, all threads; the audio
        process not included)."""
        starts = list(self.session.stats.answer_starts)
        delays = []
        for onset in self.audio.counters.onsets:
            before = [s for s in starts if s <= onset]
            if before:
                delays.append((onset - before[-1]) * 1000.0)
        cpu0, wall0 = self._cpu_start
        wall = time.perf_counter() - wall0
        return {
            **self.session.status(),
            "first_sample_delay_ms": [round(d, 3) for d in delays],
            "cpu_percent": round(100.0 * (time.process_time() - cpu0) / wall, 1) if wall > 0 else 0.0,
        }
