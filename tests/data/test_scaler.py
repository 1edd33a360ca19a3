"""The min-max scaler, on the linear scale and on the log scales (corpus.log_frequency_knee_hz, corpus.log_chroma_knee)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from antiphon.config import CorpusConfig
from antiphon.data.corpus import build_corpus, load_corpus, save_corpus
from antiphon.data.scaler import MinMaxScaler, scale_knees
from antiphon.errors import ConfigError, DataError
from antiphon.model.engine_kernels import derive
from tests.conftest import FEATURES, synthetic_document

NAMES = ("SpectralCentroid", "SpectralSkewness", "SpectralRolloff")  # Hz, a ratio, Hz


def _fitted(knee_hz: float | None) -> MinMaxScaler:
    values = np.array([[0.0, -1.0, 0.0], [100.0, 0.0, 500.0], [12_700.0, 4.0, 20_000.0]])
    return MinMaxScaler.fit(values, NAMES, scale_knees(NAMES, knee_hz))


def test_the_log_frequency_scale_gives_equal_ratios_equal_steps_and_keeps_silence_at_zero():
    log, linear = _fitted(100.0), _fitted(None)
    assert log.warped and not linear.warped and log.linear.knees is None
    np.testing.assert_array_equal(log.knees, [100.0, 0.0, 100.0])  # only the features in Hz
    np.testing.assert_array_equal(log.linear.minimum, log.minimum)  # the same bounds, in instrument units
    frames = np.array([[0.0, 2.0, 0.0], [3_100.0, 2.0, 3_100.0], [6_300.0, 2.0, 6_300.0], [12_700.0, 2.0, 12_700.0]])
    scaled, _ = log.transform(frames)
    # octaves above the knee: 3.1 -> 6.3 -> 12.7 kHz are (1 + f / 100) = 32, 64, 128: equal steps, 1/7 of ln(128) each
    np.testing.assert_allclose(np.diff(scaled[1:, 0]), np.log(2) / np.log(128), rtol=1e-12)
    assert scaled[0, 0] == 0.0 and scaled[0, 2] == 0.0  # a silent frame is still at the bottom of the range
    np.testing.assert_allclose(scaled[:, 1], linear.transform(frames)[0][:, 1])  # skewness: linear either way
    np.testing.assert_allclose(log.inverse(scaled), frames, rtol=1e-12, atol=1e-9)
    # the linear scale would squeeze the music under 3 kHz into its bottom quarter
    assert linear.transform(frames)[0][1, 0] < 0.25 < scaled[1, 0]


def test_a_scaler_is_written_with_its_knees_and_an_old_one_without_reads_as_linear():
    log = _fitted(100.0)
    again = MinMaxScaler.from_dict(log.to_dict(), "model.json")
    np.testing.assert_array_equal(again.knees, log.knees)
    old = {k: v for k, v in log.to_dict().items() if k != "knees"}
    assert not MinMaxScaler.from_dict(old, "model.json").warped
    # the first log-frequency scale wrote its knees as knee_hz
    np.testing.assert_array_equal(MinMaxScaler.from_dict({**old, "knee_hz": log.knees.tolist()}, "model.json").knees, log.knees)
    assert "knees" not in _fitted(None).to_dict()
    with pytest.raises(DataError, match=r"model.json: scaler.s knees must be 3 values >= 0"):
        MinMaxScaler.from_dict({**log.to_dict(), "knees": [100.0, -1.0, 0.0]}, "model.json")


def test_frequencies_below_minus_the_knee_cannot_be_put_on_the_log_scale():
    with pytest.raises(
        DataError, match=r"SpectralCentroid reaches -200 Hz in training: corpus.log_frequency_knee_hz = 100 needs values above -100 Hz"
    ):
        MinMaxScaler.fit(np.array([[-200.0, 0.0, 1.0], [300.0, 1.0, 2.0]]), NAMES, scale_knees(NAMES, 100.0))
    with pytest.raises(ConfigError, match=r"corpus.log_frequency_knee_hz must be a frequency > 0 Hz"):
        CorpusConfig(log_frequency_knee_hz=0.0)
    with pytest.raises(ConfigError, match=r"corpus.log_chroma_knee must be a share of the strongest class > 0"):
        CorpusConfig(log_chroma_knee=-0.1)


def test_the_chroma_log_scale_is_the_log_of_each_class_s_ratio_to_the_strongest():
    names = ("SpectralCentroid", "Chroma01", "Chroma02")
    knees = scale_knees(names, None, 0.001)
    np.testing.assert_array_equal(knees, [0.0, 0.001, 0.001])  # only the chroma
    np.testing.assert_array_equal(scale_knees(names, 500.0, 0.01), [500.0, 0.01, 0.01])
    scaler = MinMaxScaler.fit(np.array([[0.0, 0.0, 0.0], [900.0, 1.0, 0.5], [2000.0, 0.2, 1.0]]), names, knees)
    scaled, _ = scaler.transform(np.array([[1000.0, 1.0, 0.1], [1000.0, 0.1, 0.01]]))
    # a class at 1/10 of the strongest sits as far below it as one at 1/100 below one at 1/10 (nearly: the knee)
    top, tenth, hundredth = scaled[0, 1], scaled[0, 2], scaled[1, 2]
    assert tenth - hundredth == pytest.approx(top - tenth, rel=0.05) and 0 < hundredth < tenth < top == 1.0
    assert scaled[0, 0] == pytest.approx(1000.0 / 2000.0)  # the centroid stays linear
    np.testing.assert_allclose(scaler.inverse(scaled), [[1000.0, 1.0, 0.1], [1000.0, 0.1, 0.01]], rtol=1e-12)


def test_a_corpus_on_the_log_frequency_scale_is_saved_and_checked_against_its_settings(tmp_path):
    documents = [synthetic_document(300, phase, f"take{i}.json") for i, phase in enumerate((0.0, 1.0))]
    corpus = build_corpus(documents, CorpusConfig(features=FEATURES, log_frequency_knee_hz=250.0))
    assert corpus.scaler.warped and corpus.scaler.knees.tolist() == [250.0, 0.0, 0.0]
    rows = np.concatenate(corpus.segments("train"))
    assert rows.min() == 0.0 and rows.max() == 1.0  # the model's units: [0, 1] on the log scale
    linear = np.concatenate(corpus.segments("train", 1.0, corpus.scaler.linear))
    assert not np.allclose(rows[:, 0], linear[:, 0]) and np.allclose(rows[:, 1:], linear[:, 1:])
    folder = save_corpus(corpus, tmp_path / "corpus")
    np.testing.assert_array_equal(load_corpus(folder).scaler.knees, corpus.scaler.knees)
    meta = json.loads((folder / "corpus.json").read_text())
    del meta["corpus"]["log_frequency_knee_hz"]  # settings that say linear, a scaler that warps
    (folder / "corpus.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"corpus.json: the scaler's log-scale knees differ from corpus.log_frequency_knee_hz and"):
        load_corpus(folder)


def test_an_exact_affine_identity_is_found_and_derived_and_a_near_one_is_not():
    rng = np.random.default_rng(0)
    centroid = np.r_[0.0, rng.uniform(300, 5000, 200)]  # a silent frame first: both 0
    slope = np.where(centroid > 0, 2.4e-11 * centroid - 2.65e-7, 0.0)
    names = ("SpectralCentroid", "SpectralSlope")
    scaler = MinMaxScaler.fit(np.c_[centroid, slope], names, scale_knees(names, 100.0))
    (identity,) = scaler.identities
    np.testing.assert_allclose([identity.gain, identity.offset], [2.4e-11, -2.65e-7], rtol=1e-9)
    # the engine's compiled step derives the slope on the scaler's scale: instrument units where it is linear ...
    frame = np.array([2000.0, 0.0])
    derive(frame, scaler.linear.derivation_plan)
    np.testing.assert_allclose(frame[1], 2.4e-11 * 2000 - 2.65e-7, rtol=1e-9)
    # ... and the centroid on the log scale where it warps
    warped = scaler.warp(np.array([2000.0, 0.0]))
    derive(warped, scaler.derivation_plan)
    np.testing.assert_allclose(scaler.unwarp(warped), [2000.0, 2.4e-11 * 2000 - 2.65e-7], rtol=1e-9)
    # a centroid under the lowest sounding one (300 Hz and up here) rises to it, where the slope's range ends
    low = np.array([50.0, 0.0])
    derive(low, scaler.linear.derivation_plan)
    assert low[0] == pytest.approx(centroid[1:].min()) and low[1] == pytest.approx(slope[1:].min())
    silent = np.zeros(2)
    derive(silent, scaler.derivation_plan)
    assert silent.tolist() == [0.0, 0.0]
    again = MinMaxScaler.from_dict(scaler.to_dict(), "corpus.json")
    assert again.identities == scaler.identities
    noisy = slope + rng.normal(0, 1e-3 * np.ptp(slope), slope.size)  # a slope computed some other way
    assert MinMaxScaler.fit(np.c_[centroid, noisy], names).identities == ()
    assert str(identity) == "SpectralSlope = 2.4e-11 * SpectralCentroid - 2.65e-07"
    with pytest.raises(DataError, match=r"identity SpectralSlope = 2.4e-11 \* Loudness - 2.65e-07 names a feature it does not have"):
        MinMaxScaler.from_dict({**scaler.to_dict(), "identities": [{**identity.to_dict(), "source": "Loudness"}]}, "corpus.json")


def test_a_corpus_written_before_identities_finds_them_on_its_training_rows(tmp_path):
    from antiphon.data.analysis_json import new_document

    t = np.arange(200)
    centroid = 1500 + 900 * np.sin(t / 7)
    documents = [new_document(10.0 * t, {"SpectralCentroid": centroid, "SpectralSlope": 2e-11 * centroid - 2e-7}, {}, source="a.json")]
    corpus = build_corpus(documents, CorpusConfig(features=("SpectralCentroid", "SpectralSlope")))
    assert corpus.summary()["identities"] == ["SpectralSlope = 2e-11 * SpectralCentroid - 2e-07"]  # dataset prints it
    folder = save_corpus(corpus, tmp_path / "c")
    meta = json.loads((folder / "corpus.json").read_text())
    assert len(meta["scaler"].pop("identities")) == 1
    for key in ("bounds", "sounding_minimum", "sounding_maximum"):
        meta["scaler"].pop(key)
    (folder / "corpus.json").write_text(json.dumps(meta))
    again = load_corpus(folder).scaler
    assert [i.target for i in again.identities] == ["SpectralSlope"]
    np.testing.assert_array_equal(again.sounding_minimum, corpus.scaler.sounding_minimum)


def test_pearson_s_bound_and_the_sounding_range_are_found_and_kept_by_every_frame():
    """The moments of any spectrum have kurtosis >= 1 + skewness^2; a corpus whose sounding frames obey it (and not one
    of excess kurtosis, 3 less) gives answers that do, held within the range of the frames that sound."""
    rng = np.random.default_rng(1)
    skewness = rng.uniform(0.2, 3.0, 300)
    kurtosis = (1 + skewness**2) * rng.uniform(1.1, 3.0, 300)
    rolloff = rng.uniform(130.0, 5000.0, 300)
    values = np.c_[skewness, kurtosis, rolloff]
    values[::10] = 0.0  # silent frames: every feature 0
    names = ("SpectralSkewness", "SpectralKurtosis", "SpectralRolloff")
    scaler = MinMaxScaler.fit(values, names)
    assert [str(b) for b in scaler.bounds] == ["SpectralKurtosis >= 1 + SpectralSkewness^2"]
    np.testing.assert_array_equal(scaler.minimum, [0.0, 0.0, 0.0])
    assert scaler.sounding_minimum[2] == values[values[:, 2] > 0, 2].min() >= 130.0
    excess = values.copy()
    excess[:, 1] = np.where(excess[:, 1] > 0, excess[:, 1] - 3.0, 0.0)
    assert MinMaxScaler.fit(excess, names).bounds == ()
    # a sounding frame drawn under the bound, its rolloff at 0 Hz: the kurtosis rises to the bound, the rolloff to the
    # lowest sounding one; one above the bound and within range is left as it was; a silent frame stays silent
    frame = np.array([2.0, 0.5, 0.0])
    derive(frame, scaler.derivation_plan)
    assert frame.tolist() == [2.0, 5.0, scaler.sounding_minimum[2]]
    kept = np.array([1.0, 4.0, 1000.0])
    derive(kept, scaler.derivation_plan)
    assert kept.tolist() == [1.0, 4.0, 1000.0]
    silent = np.zeros(3)
    derive(silent, scaler.derivation_plan)
    assert silent.tolist() == [0.0, 0.0, 0.0]
    # on a log scale for the kurtosis too
    warped = MinMaxScaler.fit(values, names, np.array([0.0, 4.0, 0.0]))
    frame = warped.warp(np.array([2.0, 0.5, 1000.0]))
    derive(frame, warped.derivation_plan)
    np.testing.assert_allclose(warped.unwarp(frame), [2.0, 5.0, 1000.0], rtol=1e-12)
    steep = np.array([50.0, 0.5, 1000.0])  # a skewness beyond the music's: held at its greatest, then the bound
    derive(steep, scaler.derivation_plan)
    assert steep.tolist() == [scaler.sounding_maximum[0], 1 + scaler.sounding_maximum[0] ** 2, 1000.0]
    again = MinMaxScaler.from_dict(scaler.to_dict(), "model.json")
    assert again.bounds == scaler.bounds and np.array_equal(again.derivation_plan, scaler.derivation_plan)
    old = {k: v for k, v in scaler.to_dict().items() if k not in ("bounds", "sounding_minimum", "sounding_maximum")}
    assert MinMaxScaler.from_dict(old, "model.json").derivation_plan.shape == (0, 9)  # a model from before plays as it did
    with pytest.raises(DataError, match=r"model.json: the scaler's bound SpectralKurtosis >= 1 \+ Loudness\^2 names a feature"):
        MinMaxScaler.from_dict({**scaler.to_dict(), "bounds": [{"kurtosis": "SpectralKurtosis", "skewness": "Loudness"}]}, "model.json")
    with pytest.raises(DataError, match=r"model.json: scaler's sounding_minimum must be 3 finite values"):
        MinMaxScaler.from_dict({**scaler.to_dict(), "sounding_minimum": [0.0, 1.0]}, "model.json")
