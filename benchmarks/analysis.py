"""Analysis speed: antiphon's descriptors against librosa's nearest set, on the same file, one thread.

Prints, for one real recording:
- real-time factor (seconds of audio per second of CPU) of antiphon's full descriptor set
  (20 Spectral + Signal + Yin) and of the 20 Spectral descriptors alone (single-precision FFT,
  the default, and double);
- the same for librosa's nearest set from one shared STFT: chroma_stft, spectral centroid,
  bandwidth, rolloff, flatness and onset strength;
- the streaming extractor's time per 2048-sample frame (median and p99, microseconds);
- each figure against its target (issue: >= 500x for Spectral, >= 5x librosa, streaming < 200 us).

Each figure is the best of several timed runs after a warm-up (CPU time, so that other load on
a shared machine counts less). Run: `.venv/bin/python benchmarks/analysis.py [AUDIO]`.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread, set before numpy loads

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from antiphon.config import AnalysisConfig  # noqa: E402
from antiphon.data.audio import load_audio  # noqa: E402
from antiphon.demo import demo_excerpts  # noqa: E402
from antiphon.features import CATEGORIES, FEATURE_NAMES, StreamingExtractor, analyze_signal, frame_signal  # noqa: E402

REPEATS = 7


def best_cpu_seconds(function, repeats: int = REPEATS) -> float:
    function()  # warm-up: imports, filter banks, JIT
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


def librosa_set(signal: np.ndarray, sr: int) -> None:
    import librosa

    magnitude = np.abs(librosa.stft(signal, n_fft=2048, hop_length=512))
    power = magnitude**2
    librosa.feature.chroma_stft(S=power, sr=sr, tuning=0.0)
    librosa.feature.spectral_centroid(S=magnitude, sr=sr)
    librosa.feature.spectral_bandwidth(S=magnitude, sr=sr)
    librosa.feature.spectral_rolloff(S=magnitude, sr=sr)
    librosa.feature.spectral_flatness(S=magnitude)
    librosa.onset.onset_strength(S=librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr)), sr=sr)


def streaming_microseconds(signal: np.ndarray, sr: int, categories: tuple[str, ...]) -> np.ndarray:
    extractor = StreamingExtractor(sr, categories=categories)
    frames = frame_signal(signal, n_fft=2048, hop_length=512, center=False)[:3000]
    for frame in frames[:100]:
        extractor.process_frame(frame)
    times = np.empty(frames.shape[0])
    for i, frame in enumerate(frames):
        start = time.perf_counter()
        extractor.process_frame(frame)
        times[i] = time.perf_counter() - start
    return times * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", nargs="?", type=Path, help="audio file (default: a 60 s demo recording)")
    args = parser.parse_args()
    audio = load_audio(args.audio or demo_excerpts()[1])
    signal, sr = audio.samples, audio.sample_rate_hz
    seconds = audio.duration_s
    print(f"file: {audio.path.name}, {seconds:.1f} s at {sr} Hz, window 2048, hop 512, one thread")

    full = seconds / best_cpu_seconds(lambda: analyze_signal(signal, sample_rate_hz=sr))
    spectral = seconds / best_cpu_seconds(lambda: analyze_signal(signal, sample_rate_hz=sr, categories=("Spectral",)))
    double = AnalysisConfig(fft_precision="double")
    spectral_double = seconds / best_cpu_seconds(lambda: analyze_signal(signal, sample_rate_hz=sr, config=double, categories=("Spectral",)))
    reference = seconds / best_cpu_seconds(lambda: librosa_set(signal, sr))
    stream_full = streaming_microseconds(signal, sr, tuple(CATEGORIES))
    stream_spectral = streaming_microseconds(signal, sr, ("Spectral",))

    def verdict(ok: bool) -> str:
        return "meets target" if ok else "MISSES target"

    print(f"{'':44s}{'real-time factor':>18s}")
    print(f"{f'antiphon, full set ({len(FEATURE_NAMES)} descriptors, 5 categories)':44s}{full:>17.0f}x")
    print(f"{'antiphon, 20 Spectral descriptors':44s}{spectral:>17.0f}x   target >= 500x: {verdict(spectral >= 500)}")
    print(f"{'  the same, double-precision FFT':44s}{spectral_double:>17.0f}x")
    print(f"{'librosa 0.11, nearest set from one STFT':44s}{reference:>17.0f}x")
    ratio = spectral / reference
    print(f"{'ratio, Spectral / librosa':44s}{ratio:>17.1f}x   target >= 5x: {verdict(ratio >= 5)}")
    print(f"{'ratio, Spectral double precision / librosa':44s}{spectral_double / reference:>17.1f}x")
    print(f"{'ratio, full set / librosa':44s}{full / reference:>17.1f}x")
    print("streaming extractor, per 2048-sample frame (3000 frames):")
    for label, times in (("full set", stream_full), ("20 Spectral", stream_spectral)):
        median, p99 = np.median(times), np.percentile(times, 99)
        target = f"   target < 200 us: {verdict(median < 200)}" if label == "20 Spectral" else f"   ({median / 11610:.1%} of a hop)"
        print(f"  {label:12s} median {median:6.0f} us   p99 {p99:6.0f} us{target}")


if __name__ == "__main__":
    main()
