"""antiphon: automated real-time music improvisation from audio-feature time series."""

__version__ = "0.1.0"
