"""The error hierarchy: library code raises these; the CLI turns them into one line and exit code 2."""


class AntiphonError(Exception):
    """Base of every error antiphon raises on purpose (bad input, bad config, bad model)."""


class ConfigError(AntiphonError):
    """A configuration file, key or value is wrong; the message names the file and the key."""


class DataError(AntiphonError):
    """An input file (audio, analysis JSON, corpus) is unreadable or breaks the format.

    The message names the file and, for JSON, the path inside it (``$.Analysis.Time[3]``).
    """


class ModelError(AntiphonError):
    """A model directory is missing a file, is corrupt, or does not fit the data given to it."""
