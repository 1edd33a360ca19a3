"""Quiet frames: a 16-bit stem's pauses (dither at about -96 dBFS) become silent frames in the corpus."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from antiphon.analysis import analyze_audio
from antiphon.config import CorpusConfig
from antiphon.data.audio import load_audio
from antiphon.data.corpus import build_corpus, load_corpus, save_corpus
from antiphon.data.quiet import quiet_mask
from antiphon.demo import demo_excerpts


def test_the_floor_is_relative_to_the_recording():
    music = np.full(900, 10 ** (-20 / 10))  # -20 dBFS
    pauses = np.full(100, 10 ** (-96 / 10))  # 16-bit dither
    mask = quiet_mask(np.r_[music, pauses, [0.0]], margin_db=10.0)
    assert mask[900:].all() and not mask[:900].any()
    quiet_music = np.r_[music, np.full(100, 10 ** (-35 / 10))]  # soft passages, 15 dB down: no noise floor
    assert not quiet_mask(quiet_music, margin_db=10.0).any()
    assert quiet_mask(np.zeros(5), 10.0).all()  # digital silence is always quiet


@pytest.fixture(scope="module")
def stem_with_pauses(tmp_path_factory):
    """Four seconds of a bundled guitar stem with a 1.5 s pause of 16-bit dither in the middle, as a 16-bit WAV."""
    guitar = load_audio(demo_excerpts()[0])
    rate = guitar.sample_rate_hz
    samples = guitar.samples[: 4 * rate]
    rng = np.random.default_rng(0)
    lsb = 1.0 / 32768
    pause = slice(int(1.5 * rate), 3 * rate)
    samples = samples.copy()
    samples[pause] = (rng.random(pause.stop - pause.start) - rng.random(pause.stop - pause.start)) * lsb  # TPDF dither
    path = tmp_path_factory.mktemp("stem") / "stem.wav"
    soundfile.write(path, samples, rate, subtype="PCM_16")
    return path, pause.start / rate, pause.stop / rate


def test_a_dithered_pause_is_silence_in_the_corpus_not_noise(stem_with_pauses, tmp_path):
    path, pause_start_s, pause_stop_s = stem_with_pauses
    document = analyze_audio(load_audio(path))
    times_s = document.times_ms / 1000.0
    inside = (times_s > pause_start_s + 0.1) & (times_s < pause_stop_s - 0.1)  # frames wholly in the pause
    assert np.median(document.features["SpectralCentroid"][inside]) > 8000.0  # the analyser hears white noise there
    kept = build_corpus([document], CorpusConfig(quiet_margin_db=None))
    corpus = build_corpus([document], CorpusConfig())
    rows = inside[1:]  # row i is frame i + 1
    assert np.all(corpus.files[0].values[rows] == 0.0)  # silent frames, as the analyser writes silence
    assert np.median(kept.files[0].values[rows, 0]) > 8000.0
    playing = (times_s[1:] < pause_start_s - 0.1) | (times_s[1:] > pause_stop_s + 0.1)
    np.testing.assert_array_equal(corpus.files[0].values[playing], kept.files[0].values[playing])  # the music is untouched
    assert rows.sum() <= corpus.files[0].n_quiet <= rows.sum() + 25 and kept.files[0].n_quiet is None
    again = load_corpus(save_corpus(corpus, tmp_path / "corpus"))
    assert again.files[0].n_quiet == corpus.files[0].n_quiet


def test_files_without_a_level_are_left_as_they_are():
    from tests.conftest import FEATURES, synthetic_document

    corpus = build_corpus([synthetic_document()], CorpusConfig(features=FEATURES))
    assert corpus.files[0].n_quiet is None and corpus.summary()["quiet_rows"] == {"synthetic.json": None}
