"""The corpus: rows of [dt, features], contiguous splits, a scaler fitted on training rows only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from antiphon.config import CorpusConfig
from antiphon.data.analysis_json import new_document
from antiphon.data.corpus import build_corpus, lattice_step, load_corpus, rows_from_document, save_corpus
from antiphon.errors import DataError
from tests.conftest import FEATURES, synthetic_document


def test_rows_are_dt_then_features_and_the_first_frame_starts_the_sequence():
    doc = new_document(np.array([23.0, 34.5, 46.0, 60.0]), {"SpectralCentroid": np.array([1.0, 2.0, 3.0, 4.0])}, {})
    dt, values = rows_from_document(doc, ["SpectralCentroid"])
    np.testing.assert_allclose(dt, [0.0115, 0.0115, 0.014])
    np.testing.assert_array_equal(values[:, 0], [2.0, 3.0, 4.0])


@pytest.mark.parametrize(
    ("times", "message"),
    [([0, 10, 10, 20], r"Time\[2\] = 10 ms repeats Time\[1\] = 10 ms"), ([0, 10, 5], r"Time\[2\] = 5 ms goes back from Time\[1\] = 10 ms")],
)
def test_times_must_increase(times, message):
    doc = new_document(np.array(times, float), {"SpectralCentroid": np.ones(len(times))}, {}, source="take.json")
    with pytest.raises(DataError, match="take.json: " + message):
        rows_from_document(doc, ["SpectralCentroid"])


def test_bad_corpora():
    with pytest.raises(DataError, match="the corpus is empty"):
        build_corpus([])
    single = new_document(np.array([5.0]), {n: np.ones(1) for n in FEATURES}, {}, source="one.json")
    with pytest.raises(DataError, match="one.json: has 1 frame"):
        build_corpus([single], CorpusConfig(features=FEATURES))
    other = new_document(np.arange(10.0), {"SpectralCentroid": np.ones(10), "Frequency": np.ones(10)}, {}, source="other.json")
    with pytest.raises(DataError, match="other.json: has no feature SpectralSkewness, Chroma01"):
        build_corpus([synthetic_document(), other], CorpusConfig(features=FEATURES))


def test_block_split_and_scaler_from_training_rows_only():
    docs = [synthetic_document(101, 0.0, "a.json"), synthetic_document(201, 1.0, "b.json")]
    corpus = build_corpus(docs, CorpusConfig(features=FEATURES))
    assert [f.segments for f in corpus.files] == [
        {"train": (0, 80), "validation": (80, 90), "test": (90, 100)},
        {"train": (0, 160), "validation": (160, 180), "test": (180, 200)},
    ]
    train_values = np.concatenate([f.values[: f.segments["train"][1]] for f in corpus.files])
    np.testing.assert_array_equal(corpus.scaler.minimum, train_values.min(axis=0))
    np.testing.assert_array_equal(corpus.scaler.maximum, train_values.max(axis=0))
    assert not corpus.dt_modelled and corpus.columns == FEATURES and corpus.hop_s == pytest.approx(0.01)
    for split in ("train", "validation", "test"):
        for rows in corpus.segments(split, scale_factor=10.0):
            assert rows.shape[1] == len(FEATURES) and rows.min() >= 0.0 and rows.max() <= 10.0


def test_time_steps_are_a_dimension_only_where_they_vary():
    fixed = [synthetic_document(101, 0.0, "a.json", hop_ms=11.609977)]  # an analysis hop: float noise in dt only
    irregular = [synthetic_document(101, 0.0, "log.json", jitter=0.3)]
    assert not build_corpus(fixed, CorpusConfig(features=FEATURES)).dt_modelled
    timed = build_corpus(irregular, CorpusConfig(features=FEATURES))
    assert timed.dt_modelled and timed.columns == ("dt_s", *FEATURES) and timed.dimension == 4
    rows = timed.segments("train", scale_factor=10.0)[0]
    np.testing.assert_allclose(rows[:, 0], 10.0 * timed.files[0].dt_s[:80], rtol=1e-6)  # dt in seconds, times the scale
    forced = build_corpus(fixed, CorpusConfig(features=FEATURES, timing="modelled"))
    assert forced.dt_modelled and build_corpus(irregular, CorpusConfig(features=FEATURES, timing="constant")).dimension == 3


def test_resolution_and_dequantisation():
    rolloff = np.repeat(np.arange(40) * 21.533, 10)  # on FFT bins
    docs = [synthetic_document(401, 0.0, "a.json")]
    corpus = build_corpus(docs, CorpusConfig(features=FEATURES, resolution=0.01, train_fraction=0.5, validation_fraction=0.25))
    widths = corpus.resolution()
    np.testing.assert_allclose(widths, 0.01)  # continuous features: the fraction of the range
    assert lattice_step(rolloff / rolloff.max()) == pytest.approx(1 / 39)  # a lattice coarser than 1 %: its step
    assert lattice_step(np.linspace(0, 1, 400)) == 0.0
    rows = corpus.segments("validation")[0]
    noisy = corpus.held_out_segments("validation", 1.0, widths)[0]
    assert np.all(np.abs(noisy - rows) <= 0.005 + 1e-7) and np.std(noisy - rows) > 0.002  # uniform within +-w/2
    np.testing.assert_array_equal(noisy, corpus.held_out_segments("validation", 1.0, widths)[0])  # the same noise every time


def test_file_split():
    docs = [synthetic_document(50, float(i), f"f{i}.json") for i in range(10)]
    corpus = build_corpus(docs, CorpusConfig(features=FEATURES, split="file"))
    owners = [next(s for s, (a, b) in f.segments.items() if b > a) for f in corpus.files]
    assert owners == ["train"] * 8 + ["validation"] + ["test"]
    with pytest.raises(DataError, match="a file split needs at least 2 files"):
        build_corpus(docs[:1], CorpusConfig(features=FEATURES, split="file"))


def test_a_held_out_song_is_the_whole_test_split():
    docs = [synthetic_document(101, float(i), name) for i, name in enumerate(["song_a.json", "song_b.json", "song_c.json"])]
    corpus = build_corpus(docs, CorpusConfig(features=FEATURES, test_files=("_b",), train_fraction=0.8, validation_fraction=0.1))
    assert [f.segments for f in corpus.files] == [
        {"train": (0, 89), "validation": (89, 100), "test": (100, 100)},  # 8 : 1 of the rows
        {"train": (0, 0), "validation": (0, 0), "test": (0, 100)},
        {"train": (0, 89), "validation": (89, 100), "test": (100, 100)},
    ]
    assert corpus.scaler.maximum[0] == max(f.values[:89, 0].max() for f in (corpus.files[0], corpus.files[2]))  # never the held-out song
    with pytest.raises(
        DataError, match=r"corpus.test_files: no file's name contains 'song_x' \(files: song_a.json, song_b.json, song_c.json\)"
    ):
        build_corpus(docs, CorpusConfig(features=FEATURES, test_files=("song_x",)))
    with pytest.raises(DataError, match="holds out every file"):
        build_corpus(docs, CorpusConfig(features=FEATURES, test_files=("song",)))


def test_training_only_files_add_music_to_learn_from_and_leave_the_others_split_as_before():
    docs = [synthetic_document(101, float(i), name) for i, name in enumerate(["song_a.json", "band_a.json", "song_b.json", "song_c.json"])]
    band = docs[1]  # a brighter recording: its centroid 2,000 Hz above the songs'
    docs[1] = new_document(
        band.times_ms, {**band.features, "SpectralCentroid": band.features["SpectralCentroid"] + 2000.0}, {}, "band_a.json"
    )
    alone = build_corpus([docs[0], docs[2], docs[3]], CorpusConfig(features=FEATURES, test_files=("_b",)))
    corpus = build_corpus(docs, CorpusConfig(features=FEATURES, test_files=("_b",), train_files=("band",)))
    assert [f.segments for f in corpus.files] == [
        alone.files[0].segments,
        {"train": (0, 100), "validation": (0, 0), "test": (0, 0)},  # every row of the band's file, and nothing held out
        alone.files[1].segments,
        alone.files[2].segments,
    ]
    assert corpus.files[0].segments == {"train": (0, 89), "validation": (89, 100), "test": (100, 100)}
    band_max = corpus.files[1].values[:, 0].max()
    assert band_max > alone.scaler.maximum[0] and corpus.scaler.maximum[0] == band_max  # the scaler learns from it too
    blocks = build_corpus(docs, CorpusConfig(features=FEATURES, train_files=("band",)))
    assert blocks.files[1].segments == {"train": (0, 100), "validation": (0, 0), "test": (0, 0)}
    assert [blocks.files[i].segments for i in (0, 2, 3)] == [{"train": (0, 80), "validation": (80, 90), "test": (90, 100)}] * 3
    with pytest.raises(DataError, match=r"corpus.train_files: no file's name contains 'drums' \(files: song_a.json, band_a.json"):
        build_corpus(docs, CorpusConfig(features=FEATURES, train_files=("drums",)))
    with pytest.raises(DataError, match="corpus.train_files and corpus.test_files both take band_a.json: a file belongs to one split"):
        build_corpus(docs, CorpusConfig(features=FEATURES, train_files=("band",), test_files=("_a",)))
    with pytest.raises(DataError, match="corpus.train_files takes every file"):
        build_corpus(docs, CorpusConfig(features=FEATURES, train_files=(".json",)))


def test_constant_feature_and_clipping():
    # rows are frames 1..19; training rows are frames 1..15, where B rises to 1
    doc = new_document(np.arange(20.0), {"A": np.full(20, 3.0), "B": np.r_[np.linspace(0, 1, 16), np.full(4, 9.0)]}, {})
    corpus = build_corpus([doc], CorpusConfig(features=("A", "B")))
    scaled, clipped = corpus.scaler.transform(corpus.files[0].values)
    assert np.all(scaled[:, 0] == 0.0)  # constant in training: maps to 0
    assert clipped == 4 and scaled[:, 1].max() == 1.0  # the four 9.0s lie beyond the training range


def test_save_and_load(tmp_path):
    corpus = build_corpus([synthetic_document(120, 0.0, "a.json"), synthetic_document(90, 2.0, "a.json")], CorpusConfig(features=FEATURES))
    save_corpus(corpus, tmp_path / "c")
    again = load_corpus(tmp_path / "c")
    assert [f.name for f in again.files] == ["a.json", "a.json#2"]
    for a, b in zip(corpus.files, again.files):
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.dt_s, b.dt_s)
        assert a.segments == b.segments
    np.testing.assert_array_equal(again.scaler.maximum, corpus.scaler.maximum)
    meta = json.loads((tmp_path / "c" / "corpus.json").read_text())
    assert meta["features"] == ["dt_s", *FEATURES] and meta["summary"]["n_rows"] == 119 + 89


def test_broken_corpus_folders(tmp_path):
    with pytest.raises(DataError, match="not a corpus folder"):
        load_corpus(tmp_path / "nothing")
    save_corpus(build_corpus([synthetic_document()], CorpusConfig(features=FEATURES)), tmp_path / "c")
    (tmp_path / "c" / "corpus.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="corpus.npz: corrupt"):
        load_corpus(tmp_path / "c")
    (tmp_path / "c" / "corpus.json").write_text("{")
    with pytest.raises(DataError, match="corpus.json: corrupt"):
        load_corpus(tmp_path / "c")
    (tmp_path / "c" / "corpus.json").unlink()
    with pytest.raises(DataError, match="corpus.json: missing"):
        load_corpus(tmp_path / "c")
