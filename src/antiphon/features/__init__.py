"""Audio descriptors: pure spectral/signal/Yin functions, the offline analyzer, the streaming extractor."""

from antiphon.feature_names import (
    CATEGORIES,
    CHROMA_NAMES,
    CHROMA_ORDER,
    FEATURE_NAMES,
    SIGNAL_NAMES,
    SPECTRAL_NAMES,
    UNITS,
    YIN_NAMES,
)
from antiphon.features.extractor import (
    Descriptors,
    FrameAnalyzer,
    StreamingExtractor,
    analyze_signal,
    frame_signal,
    frame_times_ms,
)

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
