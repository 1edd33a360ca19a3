"""Answer frames to sound as they are sent, block by block: ``antiphon live``'s output.

The same synthesis as :func:`antiphon.render.audio.synthesize` (partials on the pitch classes by
chroma, a spectral envelope from centroid, spread and rolloff: :func:`frame_amplitudes`), made
for a sound card's callback:

- :meth:`StreamingRenderer.prepare` computes a frame's partial amplitudes (about 1.6 ms:
  the centroid is solved by bisection) on the model thread, when the frame is generated, ahead of
  its time;
- :meth:`StreamingRenderer.play` (at the frame's send deadline) only hands them over;
- :meth:`StreamingRenderer.render` (the audio callback) moves every partial's amplitude linearly
  from where it is to the newest frame's over ``ramp_s`` and keeps every partial's phase running
  across blocks and frames, so a frame boundary is never a click; :meth:`silence` ramps to zero,
  and so does a frame held longer than ``hold_s`` with no next one (the filter mode's answers
  stop with the performer; a stalled model does not leave a drone).

Unlike the offline renderer there is no calibration pass (it would need the audio ahead): the
rendered centroid reads somewhat higher than the frame's when analysed (window leakage), as the
offline renderer's does before calibration. The level is the frame's own where the model has a
level feature (TotalEnergy, Energy), else :attr:`StreamingRenderer.level_rms`, which ``live``
sets from the performer's playing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from antiphon.feature_names import CHROMA_NAMES
from antiphon.render.audio import LEVEL_FEATURES, frame_amplitudes, frame_level, partial_frequencies

_SILENCE = object()


class StreamingRenderer:
    """Sounds answer frames (the model's features in ``feature_names`` order, instrument units)
    at ``sample_rate_hz``; implements :class:`antiphon.realtime.session.AnswerSink`.

    Thread use: :meth:`prepare` on one thread, :meth:`play`/:meth:`silence` on another,
    :meth:`render` on the audio thread; hand-over is one attribute assignment (atomic in CPython).
    """

    def __init__(
        self,
        feature_names: Sequence[str],
        sample_rate_hz: float,
        *,
        ramp_s: float = 0.0116,
        hold_s: float = 0.5,
        level_dbfs: float = -18.0,
        fmin_hz: float = 55.0,
        fmax_hz: float = 8000.0,
    ) -> None:
        self.feature_names = tuple(feature_names)
        self.sample_rate_hz = float(sample_rate_hz)
        self.freqs, self.classes = partial_frequencies(fmin_hz, min(fmax_hz, 0.45 * self.sample_rate_hz))
        self._omega = 2.0 * np.pi * self.freqs / self.sample_rate_hz  # radians per sample
        self._ramp = max(1, round(ramp_s * self.sample_rate_hz))  # samples
        self._hold = max(self._ramp, round(hold_s * self.sample_rate_hz))  # samples a frame sounds without a next one
        self._since = 0  # samples rendered since the last frame was handed over
        self._index = {name: i for i, name in enumerate(self.feature_names)}
        self._chroma = [self._index[n] for n in CHROMA_NAMES] if all(n in self._index for n in CHROMA_NAMES) else None
        #: the answer's level (RMS, full scale) when the frames carry none; ``live`` follows the performer
        self.level_rms = 10.0 ** (level_dbfs / 20.0)
        self._phasor = np.ones(self.freqs.size, dtype=np.complex128)  # exp(i phase) of every partial
        self._rotations: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # block size -> (exp(i omega k) (n, P), exp(i omega n) (P,))
        self._start = np.zeros(self.freqs.size)  # amplitudes where the current ramp began
        self._target = np.zeros(self.freqs.size)
        self._done = self._ramp  # samples of the current ramp already rendered
        self._target_unit: np.ndarray | None = None  # target before the level, for frames without their own
        self._next: object = None  # handed over by play()/silence(), taken by render()
        #: whether the last block rendered ended with sound (an answer frame not yet faded out)
        self.sounding = False

    # ------------------------------------------------------------------ AnswerSink

    def prepare(self, features: np.ndarray) -> tuple[np.ndarray, bool]:
        """Partial amplitudes (P,) for one frame, and whether they already carry the frame's own level
        (otherwise they have unit RMS and :attr:`level_rms` scales them when they sound)."""
        row = np.asarray(features, dtype=np.float64)

        def value(name: str) -> float | None:
            return float(row[self._index[name]]) if name in self._index else None

        own = frame_level({name: row[self._index[name]] for name in LEVEL_FEATURES if name in self._index})
        amplitudes = frame_amplitudes(
            self.freqs,
            self.classes,
            chroma=row[self._chroma] if self._chroma is not None else None,
            centroid_hz=value("SpectralCentroid"),
            rolloff_hz=value("SpectralRolloff"),
            spread_hz=value("SpectralSpread"),
            rms=1.0 if own is None else own,
        )
        return amplitudes, own is not None

    def play(self, prepared: object) -> None:
        """Sound ``prepared`` (from :meth:`prepare`) from the next block on."""
        self._next = prepared

    def silence(self) -> None:
        """Fade out over one ramp from the next block on."""
        self._next = _SILENCE

    # ------------------------------------------------------------------ the audio thread

    def render(self, n: int) -> np.ndarray:
        """The next ``n`` samples (float32, full scale), continuing the last block."""
        handed, self._next = self._next, None
        if handed is None and self._since >= self._hold and self.sounding:
            handed = _SILENCE  # held too long without a next frame: fade out
        if handed is not None:
            self._since = 0
            self._retarget(handed)
        elif self._target_unit is not None:  # follow the performer's level as it changes
            self._retarget_level()
        self._since += n
        if n not in self._rotations:
            self._rotations[n] = (np.exp(1j * np.outer(np.arange(n), self._omega)), np.exp(1j * n * self._omega))
        within, across = self._rotations[n]
        fraction = np.minimum((self._done + np.arange(1, n + 1)) / self._ramp, 1.0)  # (n,) along the ramp
        step = self._target - self._start
        # sum_p (start_p + fraction_k step_p) sin(phase_p + omega_p k) as one matrix product on precomputed
        # rotations: far cheaper than computing the (n, P) sines in the callback
        both = (within @ np.stack([self._start * self._phasor, step * self._phasor], axis=1)).imag  # (n, 2), one BLAS call
        out = both[:, 0] + fraction * both[:, 1]
        self._phasor = self._phasor * across
        self._phasor /= np.abs(self._phasor)  # no drift in magnitude, however long it runs
        self._done = min(self._done + n, self._ramp)
        self.sounding = bool(np.any(self._start + fraction[-1] * step > 0))
        return np.clip(out, -1.0, 1.0).astype(np.float32)

    def _current(self) -> np.ndarray:
        fraction = min(self._done / self._ramp, 1.0)
        return self._start + fraction * (self._target - self._start)

    def _retarget(self, handed: object) -> None:
        self._start = self._current()
        self._done = 0
        if handed is _SILENCE:
            self._target, self._target_unit = np.zeros_like(self._target), None
            return
        amplitudes, has_level = handed  # type: ignore[misc]
        self._target_unit = None if has_level else amplitudes
        self._target = amplitudes if has_level else amplitudes * self.level_rms

    def _retarget_level(self) -> None:
        wanted = self._target_unit * self.level_rms  # type: ignore[operator]
        if not np.allclose(wanted, self._target):
            self._start, self._done, self._target = self._current(), 0, wanted
