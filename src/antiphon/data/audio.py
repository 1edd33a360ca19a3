"""Reading audio files (WAV, FLAC, Ogg Vorbis) through soundfile, with errors that name the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from antiphon.errors import DataError

#: file extensions antiphon reads, lower case, with the libsndfile format each should hold
AUDIO_EXTENSIONS: dict[str, str] = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}


@dataclass(frozen=True)
class Audio:
    """A mono signal: ``samples`` (L,) float64 in full-scale units (|x| <= 1), at ``sample_rate_hz``."""

    path: Path
    samples: np.ndarray
    sample_rate_hz: int
    n_channels: int

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sample_rate_hz


def check_audio_file(path: Path | str) -> None:
    """Raise :class:`DataError` unless ``path`` is a readable, non-empty audio file of a known type.

    Reads only the header, so a list of inputs can be checked before any work starts.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected an audio file ({', '.join(AUDIO_EXTENSIONS)})")
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise DataError(f"{path}: unknown extension '{path.suffix or '(none)'}'; antiphon reads {', '.join(AUDIO_EXTENSIONS)}")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: is empty (0 bytes)")
    info = _info(path)
    if info.frames <= 0:
        raise DataError(f"{path}: contains no samples")


def load_audio(path: Path | str) -> Audio:
    """Read an audio file and mix it down to mono (the mean of its channels).

    Raises:
        DataError: missing, empty, unknown type, unreadable, or no samples.
    """
    import soundfile as sf

    path = Path(path)
    check_audio_file(path)
    try:
        data, sample_rate = sf.read(path, dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise DataError(f"{path}: not a readable audio file ({exc})") from exc
    if data.shape[0] == 0:
        raise DataError(f"{path}: contains no samples")
    samples = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if not np.all(np.isfinite(samples)):
        raise DataError(f"{path}: contains NaN or infinite samples")
    return Audio(path=path, samples=np.ascontiguousarray(samples), sample_rate_hz=int(sample_rate), n_channels=data.shape[1])


def _info(path: Path):
    import soundfile as sf

    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        kind = AUDIO_EXTENSIONS[path.suffix.lower()]
        raise DataError(f"{path}: not a readable {kind} file ({exc})") from exc
