"""Data formats: audio input, the instrument's analysis JSON."""
