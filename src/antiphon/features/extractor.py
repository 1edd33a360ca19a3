"""From samples to descriptor frames: the offline analyzer and the streaming extractor.

Both run the same :class:`FrameAnalyzer` on the same frames, so a signal analysed offline and
the same signal pushed block by block through :class:`StreamingExtractor` give the same numbers.

Frames: ``n_fft`` samples every ``hop_length``. With ``center=False`` (Peeters) frame t covers
samples [t*hop, t*hop + n_fft) and trailing samples that do not fill a frame are dropped (a
signal shorter than one frame is zero-padded to one frame). With ``center=True`` (librosa) the
signal is zero-padded by n_fft // 2 on both sides first, giving 1 + len // hop frames. The time
of a frame is the time of its centre, in milliseconds from the first sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.signal

from antiphon.config import AnalysisConfig
from antiphon.errors import ConfigError
from antiphon.feature_names import CATEGORIES, FEATURE_NAMES, HARMONIC_NAMES, SIGNAL_NAMES, SPECTRAL_NAMES, YIN_NAMES
from antiphon.features import spectral
from antiphon.features.harmonic import harmonic_descriptors, harmonic_peaks
from antiphon.features.perceptual import bark_bands, mel_filter_bank, perceptual_descriptors
from antiphon.features.signal import total_energy, zero_crossing_rate
from antiphon.features.yin import yin

_VARIATION = SPECTRAL_NAMES.index("SpectralVariation")

#: frames analysed per block offline: small blocks keep every temporary in cache (64 measured
#: fastest at n_fft 2048: about 1.4x faster than 512) and bound memory whatever the file length.
BLOCK_FRAMES = 64


@dataclass(frozen=True)
class Descriptors:
    """Descriptor frames: ``values`` (T, F) in ``names`` order, at ``times_ms`` (T,) frame centres."""

    times_ms: np.ndarray
    values: np.ndarray
    names: tuple[str, ...] = FEATURE_NAMES
    n_silent: int = 0

    def column(self, name: str) -> np.ndarray:
        """The values of one feature, shape (T,)."""
        return self.values[:, self.names.index(name)]


def frame_signal(signal: np.ndarray, *, n_fft: int, hop_length: int, center: bool) -> np.ndarray:
    """Frames (T, n_fft) of a 1-D signal as a read-only view (see the module docstring)."""
    x = np.asarray(signal, dtype=np.float64)
    if center:
        x = np.pad(x, n_fft // 2)
    if x.size < n_fft:
        x = np.pad(x, (0, n_fft - x.size))
    n_frames = 1 + (x.size - n_fft) // hop_length
    return np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop_length][:n_frames]


def frame_times_ms(n_frames: int, *, sample_rate_hz: float, n_fft: int, hop_length: int, center: bool, first: int = 0) -> np.ndarray:
    """Centre times (ms) of frames ``first .. first + n_frames - 1``."""
    offset = 0.0 if center else n_fft / 2
    return (np.arange(first, first + n_frames) * hop_length + offset) * (1000.0 / sample_rate_hz)


class FrameAnalyzer:
    """All descriptors for a block of frames; everything that depends only on the settings is built once."""

    def __init__(self, config: AnalysisConfig, sample_rate_hz: float, categories: tuple[str, ...] = tuple(CATEGORIES)) -> None:
        unknown = [c for c in categories if c not in CATEGORIES]
        if unknown or not categories:
            raise ConfigError(f"unknown descriptor categories {unknown}; choose from {', '.join(CATEGORIES)}")
        self.categories = tuple(c for c in CATEGORIES if c in categories)
        self.names: tuple[str, ...] = tuple(name for c in self.categories for name in CATEGORIES[c])
        self.config = cfg = config.resolved()
        self.sample_rate_hz = float(sample_rate_hz)
        try:
            self.window = scipy.signal.get_window(cfg.window, cfg.n_fft, fftbins=True).astype(np.float64)
        except ValueError as exc:
            raise ConfigError(f"analysis.window: unknown window {cfg.window!r} ({exc})") from exc
        self.freqs = np.arange(cfg.n_fft // 2 + 1) * (self.sample_rate_hz / cfg.n_fft)
        if cfg.chroma_method == "ircam":
            self.filter_bank = spectral.ircam_chroma_filter_bank(
                sample_rate_hz=self.sample_rate_hz,
                n_fft=cfg.n_fft,
                fmin_hz=cfg.chroma_fmin_hz,
                fmax_hz=min(cfg.chroma_fmax_hz, self.sample_rate_hz / 2),
                tuning_hz=cfg.tuning_hz,
            )
        else:
            self.filter_bank = spectral.librosa_chroma_filter_bank(
                sample_rate_hz=self.sample_rate_hz,
                n_fft=cfg.n_fft,
                tuning_hz=cfg.tuning_hz,
                center_octave=cfg.chroma_center_octave,
                octave_width=cfg.chroma_octave_width,
            )
        self._chroma_bins = spectral.filter_bank_support(self.filter_bank)
        self._frequency_powers = spectral.frequency_powers(self.freqs)
        self._fft_dtype = np.float32 if cfg.fft_precision == "single" else np.float64
        if "Perceptual" in self.categories:
            self._bark = bark_bands(self.freqs)
            self._mel = mel_filter_bank(self.sample_rate_hz, cfg.n_fft, cfg.mfcc_mels)
        # A frame is silent when its window-normalised mean square is below silence_dbfs.
        self._silence_sum = 10.0 ** (cfg.silence_dbfs / 10.0) * float(np.dot(self.window, self.window))
        # Fail now, not on the first frame, when Yin cannot run on this frame size.
        try:
            yin(np.zeros((1, cfg.n_fft)), sample_rate_hz=self.sample_rate_hz, **self._yin_args())
        except ValueError:
            rate = self.sample_rate_hz / (1 << cfg.yin_downsampling)  # Hz, after Yin's downsampling
            lowest, highest = rate / (cfg.n_fft // (1 << cfg.yin_downsampling) - 3), rate
            raise ConfigError(
                f"analysis.yin_min_freq_hz={cfg.yin_min_freq_hz:g}: Yin on {cfg.n_fft}-sample frames (analysis.n_fft) "
                f"at {self.sample_rate_hz:g} Hz, downsampled by {1 << cfg.yin_downsampling} (analysis.yin_downsampling), "
                f"reaches from {lowest:.1f} to {highest:.0f} Hz: set a value in that range, a larger n_fft, or 0 (as low as the frame allows)"
            ) from None

    def _yin_args(self) -> dict:
        cfg = self.config
        return {"threshold": cfg.yin_threshold, "downsampling": cfg.yin_downsampling, "min_freq_hz": cfg.yin_min_freq_hz}

    def analyze(
        self, frames: np.ndarray, previous: np.ndarray | None = None, previous_silent: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Descriptors of ``frames`` (T, n_fft) of raw samples.

        ``previous``/``previous_silent`` describe the magnitude spectrum just before the block
        (``None`` at the start of a signal). Returns values (T, F) in :data:`FEATURE_NAMES` order,
        the magnitude spectrogram (T, K) and the silent mask (T,). Columns follow :attr:`names`.
        """
        cfg = self.config
        windowed = np.multiply(frames, self.window, dtype=self._fft_dtype)
        # Descriptor arithmetic is always double precision, whatever the FFT's.
        magnitude = np.abs(scipy.fft.rfft(windowed, axis=1)).astype(np.float64, copy=False)
        energy = np.einsum("ij,ij->i", magnitude, magnitude)  # sum a_k^2
        # Parseval for a real FFT: sum_n y_n^2 = (2 sum_k a_k^2 - a_0^2 [- a_{N/2}^2 if N is even]) / N
        unpaired = magnitude[:, 0] ** 2 + (magnitude[:, -1] ** 2 if cfg.n_fft % 2 == 0 else 0.0)
        frame_energy = (2.0 * energy - unpaired) / cfg.n_fft
        silent = frame_energy < self._silence_sum
        out = np.empty((frames.shape[0], len(self.names)))
        column = 0
        if "Spectral" in self.categories:
            sums = magnitude @ self._frequency_powers  # (T, 5)
            centroid, spread, skewness, kurtosis = spectral.moments_from_sums(sums, silent)
            out[:, 0] = centroid
            out[:, 1] = spread
            out[:, 2] = skewness
            out[:, 3] = kurtosis
            out[:, 4] = spectral.spectral_rolloff(
                magnitude=magnitude,
                freqs=self.freqs,
                silent=silent,
                threshold=cfg.rolloff_threshold,
                power=cfg.rolloff_power,
            )
            out[:, 5] = spectral.spectral_variation(
                magnitude=magnitude, silent=silent, previous=previous, previous_silent=previous_silent, energy=energy
            )
            out[:, 6] = spectral.spectral_decrease(magnitude=magnitude, silent=silent)
            out[:, 7] = spectral.spectral_slope(centroid=centroid, freqs=self.freqs, silent=silent)
            out[:, 8:20] = spectral.chroma(magnitude=magnitude, filter_bank=self.filter_bank, silent=silent, bins=self._chroma_bins)
            column = len(SPECTRAL_NAMES)
        if "Signal" in self.categories:
            out[:, column] = zero_crossing_rate(frames, sample_rate_hz=self.sample_rate_hz)
            out[:, column + 1] = total_energy(frames)
            column += len(SIGNAL_NAMES)
        if "Yin" in self.categories or "Harmonic" in self.categories:
            pitch = yin(frames, sample_rate_hz=self.sample_rate_hz, silent=silent, **self._yin_args())
            if "Yin" in self.categories:
                out[:, column : column + len(YIN_NAMES)] = pitch
                column += len(YIN_NAMES)
        if "Harmonic" in self.categories:
            voiced = ~silent & (pitch[:, 2] >= cfg.harmonic_min_periodicity)
            f0 = np.where(voiced, pitch[:, 0], 0.0)
            peaks = harmonic_peaks(magnitude, f0, self.sample_rate_hz / cfg.n_fft, cfg.harmonics)
            out[:, column : column + len(HARMONIC_NAMES)] = harmonic_descriptors(*peaks, voiced)
            column += len(HARMONIC_NAMES)
        if "Perceptual" in self.categories:
            out[:, column:] = perceptual_descriptors(magnitude * magnitude, self._bark, self._mel, silent)
        return out, magnitude, silent


def analyze_signal(
    signal: np.ndarray,
    *,
    sample_rate_hz: float,
    config: AnalysisConfig | None = None,
    categories: tuple[str, ...] = tuple(CATEGORIES),
) -> Descriptors:
    """The descriptors of ``categories`` for a mono signal (samples in full-scale units, shape (L,)).

    Raises:
        ConfigError: a setting cannot work at this sample rate (window name, Yin range).
    """
    analyzer = FrameAnalyzer(config or AnalysisConfig(), sample_rate_hz, categories)
    cfg = analyzer.config
    frames = frame_signal(signal, n_fft=cfg.n_fft, hop_length=cfg.hop_length, center=cfg.center)
    values = np.empty((frames.shape[0], len(analyzer.names)))
    previous, previous_silent, n_silent = None, False, 0
    for start in range(0, frames.shape[0], BLOCK_FRAMES):
        block, magnitude, silent = analyzer.analyze(frames[start : start + BLOCK_FRAMES], previous, previous_silent)
        values[start : start + block.shape[0]] = block
        previous, previous_silent = magnitude[-1], bool(silent[-1])
        n_silent += int(silent.sum())
    if cfg.variation_first_frame == "next" and "Spectral" in analyzer.categories and values.shape[0] > 1:
        values[0, _VARIATION] = values[1, _VARIATION]
    times = frame_times_ms(values.shape[0], sample_rate_hz=sample_rate_hz, n_fft=cfg.n_fft, hop_length=cfg.hop_length, center=cfg.center)
    return Descriptors(times_ms=times, values=values, names=analyzer.names, n_silent=n_silent)


class StreamingExtractor:
    """Descriptors frame by frame for live input: the same numbers as :func:`analyze_signal`.

    Either hand it whole frames with :meth:`process_frame`, or push blocks of samples of any
    size with :meth:`push` and call :meth:`flush` at the end; it frames them exactly as the
    offline analyzer does (including the centre padding of the librosa convention).

    Raises:
        ConfigError: ``variation_first_frame='next'`` (it needs the frame that follows).
    """

    def __init__(
        self,
        sample_rate_hz: float,
        config: AnalysisConfig | None = None,
        categories: tuple[str, ...] = tuple(CATEGORIES),
    ) -> None:
        self._analyzer = FrameAnalyzer(config or AnalysisConfig(), sample_rate_hz, categories)
        if self._analyzer.config.variation_first_frame != "zero":
            raise ConfigError("analysis.variation_first_frame must be 'zero' for streaming: 'next' needs the following frame")
        self.reset()

    @property
    def config(self) -> AnalysisConfig:
        return self._analyzer.config

    @property
    def names(self) -> tuple[str, ...]:
        """Feature names, in the order of the values returned."""
        return self._analyzer.names

    @property
    def n_frames(self) -> int:
        """Frames produced since the last reset."""
        return self._n_frames

    def reset(self) -> None:
        """Forget everything: the next sample starts a new signal."""
        cfg = self._analyzer.config
        self._previous: np.ndarray | None = None
        self._previous_silent = False
        self._n_frames = 0
        self._buffer = np.zeros(cfg.n_fft // 2 if cfg.center else 0)
        self._pushed = 0

    def process_frame(self, frame: np.ndarray) -> np.ndarray:
        """Descriptors (F,) of one frame of ``n_fft`` raw samples that follows the previous one."""
        values = self._run(np.asarray(frame, dtype=np.float64)[None, :])
        return values[0]

    def push(self, samples: np.ndarray) -> Descriptors:
        """Append samples (n,); return the descriptors of every frame they completed (maybe none)."""
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, dtype=np.float64).ravel()])
        self._pushed += np.asarray(samples).size
        return self._drain()

    def flush(self) -> Descriptors:
        """End of signal: pad as the offline analyzer does and return the last frames."""
        cfg = self._analyzer.config
        if cfg.center:
            self._buffer = np.concatenate([self._buffer, np.zeros(cfg.n_fft // 2)])
        elif self._n_frames == 0 and self._pushed > 0:
            self._buffer = np.pad(self._buffer, (0, max(0, cfg.n_fft - self._buffer.size)))
        return self._drain()

    def _drain(self) -> Descriptors:
        cfg = self._analyzer.config
        first = self._n_frames
        if self._buffer.size < cfg.n_fft:
            values = np.empty((0, len(self.names)))
        else:
            frames = frame_signal(self._buffer, n_fft=cfg.n_fft, hop_length=cfg.hop_length, center=False)
            values = self._run(frames)
            self._buffer = self._buffer[frames.shape[0] * cfg.hop_length :]
        times = frame_times_ms(
            values.shape[0],
            sample_rate_hz=self._analyzer.sample_rate_hz,
            n_fft=cfg.n_fft,
            hop_length=cfg.hop_length,
            center=cfg.center,
            first=first,
        )
        return Descriptors(times_ms=times, values=values, names=self.names)

    def _run(self, frames: np.ndarray) -> np.ndarray:
        values, magnitude, silent = self._analyzer.analyze(frames, self._previous, self._previous_silent)
        self._previous, self._previous_silent = magnitude[-1].copy(), bool(silent[-1])
        self._n_frames += frames.shape[0]
        return values
