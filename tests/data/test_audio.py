"""Audio input: the formats we promise, mono mix-down, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from antiphon.data.audio import check_audio_file, load_audio
from antiphon.errors import DataError
from tests.conftest import SR, sine


@pytest.mark.parametrize(
    ("suffix", "fmt", "subtype", "tolerance"),
    [(".wav", "WAV", "FLOAT", 1e-7), (".flac", "FLAC", "PCM_24", 1e-6), (".OGG", "OGG", "VORBIS", 0.05)],
)
def test_formats_and_mixdown(tmp_path, suffix, fmt, subtype, tolerance):
    left, right = sine(440.0, 0.5), sine(660.0, 0.5)
    path = tmp_path / f"take{suffix}"
    sf.write(path, np.stack([left, right], axis=1), SR, format=fmt, subtype=subtype)
    audio = load_audio(path)
    assert audio.n_channels == 2 and audio.sample_rate_hz == SR
    assert audio.samples.shape == (SR // 2,)
    np.testing.assert_allclose(audio.samples, (left + right) / 2, rtol=0, atol=tolerance)  # float32 WAV: 1e-7


def test_bad_audio_inputs(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("this is not audio\n" * 20)
    (tmp_path / "song.mp3").write_bytes(b"ID3" + bytes(100))
    sf.write(tmp_path / "nothing.wav", np.zeros(0), SR)
    (tmp_path / "folder.wav").mkdir()
    cases = {
        "empty.wav": "is empty (0 bytes)",
        "text.wav": "not a readable WAV file",
        "song.mp3": "unknown extension '.mp3'; antiphon reads .wav, .flac, .ogg",
        "nothing.wav": "contains no samples",
        "folder.wav": "is a directory",
        "missing.flac": "no such file",
    }
    for name, message in cases.items():
        with pytest.raises(DataError) as info:
            check_audio_file(tmp_path / name)
        assert str(info.value) == f"{tmp_path / name}: {message}" or str(info.value).startswith(f"{tmp_path / name}: {message}")
