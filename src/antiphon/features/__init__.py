"""Audio descriptors: pure spectral/signal/Yin functions, the offline analyzer, the streaming extractor."""

from antiphon.features.extractor import (
    CATEGORIES,
    CHROMA_NAMES,
    FEATURE_NAMES,
    SIGNAL_NAMES,
    SPECTRAL_NAMES,
    UNITS,
    Descriptors,
    FrameAnalyzer,
    StreamingExtractor,
    analyze_signal,
    frame_signal,
    frame_times_ms,
)
from antiphon.features.spectral import CHROMA_ORDER
from antiphon.features.yin import YIN_NAMES

__all__ = [
    "CATEGORIES",
    "CHROMA_NAMES",
    "CHROMA_ORDER",
    "FEATURE_NAMES",
    "SIGNAL_NAMES",
    "SPECTRAL_NAMES",
    "UNITS",
    "YIN_NAMES",
    "Descriptors",
    "FrameAnalyzer",
    "StreamingExtractor",
    "analyze_signal",
    "frame_signal",
    "frame_times_ms",
]
