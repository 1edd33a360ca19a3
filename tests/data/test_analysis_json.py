"""The analysis JSON format: tolerant reading, lossless write-back, errors naming file and JSON path."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from antiphon.analysis import analyze_audio
from antiphon.data.analysis_json import new_document, parse_analysis, read_analysis, write_analysis
from antiphon.data.audio import Audio
from antiphon.errors import DataError
from antiphon.features import CHROMA_NAMES
from tests.conftest import SR, sine

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "analysis-json.schema.json").read_text())


def instrument_document() -> dict:
    """What a real instrument file might look like: other fields, odd spellings, ints, a 12-column chroma."""
    return {
        "Devices": [{"name": "Sensel Morph", "id": 3, "gestures": ["press", "slide"]}],
        "Gestures": {"press": {"x": [0.1, 0.2], "pressure": [3, 4]}},
        "Version": "2.1",
        "Analysis": {
            "Time": [0, 11, 23.2],
            "Spectral": {
                "Spectral Centroid": [1000, 1010.5, 990],
                "spectral_spread": [500.0, 510.0, 505.0],
                "Skewness": [1.0, 1.5, 1.2],
                "SPECTRALKURTOSIS": [4.0, 5.0, 6.0],
                "Spectral-Rolloff": [3000, 3100, 2900],
                "SpectralVariation": [0.0, 0.1, 0.05],
                "SpectralDecrease": [0.1, 0.2, 0.1],
                "SpectralSlope": [-2e-7, -2.1e-7, -1.9e-7],
                "Chroma": [[0.1 * (i + j) % 1.0 for i in range(12)] for j in range(3)],
                "SpectralFlatness": [0.3, 0.2, 0.1],
            },
            "Yin": {"f0": [220.0, 221.0, 219.0], "Energy": [0.1, 0.1, 0.2], "Periodicity": [0.9, 0.8, 0.9], "AC1": [0.9, 0.9, 0.8]},
            "Signal": {"Zero Crossing Rate": [2000, 2100, 1900], "Total_Energy": [0.01, 0.02, 0.01]},
            "Perceptual": {"Loudness": [10.0, 11.0, 12.0], "MFCC": [[1, 2], [3, 4], [5, 6]]},
            "Harmonic": {"Inharmonicity": [0.01, 0.02, 0.03]},
        },
    }


def test_spellings_map_to_canonical_names():
    doc = parse_analysis(instrument_document(), "inst.json")
    for name in ("SpectralCentroid", "SpectralSpread", "SpectralSkewness", "SpectralKurtosis", "SpectralRolloff"):
        assert name in doc.features
    assert doc.features["Frequency"].tolist() == [220.0, 221.0, 219.0]
    assert doc.features["ZeroCrossingRate"].tolist() == [2000, 2100, 1900]
    assert doc.features["TotalEnergy"].tolist() == [0.01, 0.02, 0.01]
    assert doc.features["Chroma03"].tolist() == pytest.approx([0.2, 0.3, 0.4])
    assert doc.features["Loudness"].tolist() == [10.0, 11.0, 12.0]  # unmodelled but per-frame: exposed as is
    assert doc.features["SpectralFlatness"].tolist() == [0.3, 0.2, 0.1]
    assert "MFCC" not in doc.features  # not a list of numbers: kept, not exposed
    assert doc.times_ms.tolist() == [0, 11, 23.2]


def test_read_then_write_gives_back_an_equal_document(tmp_path):
    original = instrument_document()
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(original))
    out = tmp_path / "copy.json"
    write_analysis(out, read_analysis(path))
    assert json.loads(out.read_text()) == original


@pytest.mark.parametrize(
    ("keys", "first"),
    [
        ([f"Chroma{i}" for i in range(12)], "Chroma0"),
        ([f"Chroma{i:02d}" for i in range(12)], "Chroma00"),
        ([f"Chroma{i}" for i in range(1, 13)], "Chroma1"),
        ([f"Chroma{i:02d}" for i in range(1, 13)], "Chroma01"),
        ([f"chroma_{i}" for i in range(12)], "chroma_0"),
    ],
)
def test_chroma_key_conventions(keys, first):
    doc = instrument_document()
    spectral = doc["Analysis"]["Spectral"]
    del spectral["Chroma"]
    for index, key in enumerate(keys):
        spectral[key] = [float(index), float(index), float(index)]
    parsed = parse_analysis(doc, "x.json")
    assert parsed.features["Chroma01"].tolist() == spectral[first]
    assert [parsed.features[n][0] for n in CHROMA_NAMES] == list(map(float, range(12)))
    assert parsed.to_json() == doc


def test_substituting_values_keeps_the_layout():
    doc = parse_analysis(instrument_document(), "inst.json")
    names = ["SpectralCentroid", *CHROMA_NAMES]
    new = doc.with_frames(np.array([0.0, 11.6]), {n: np.array([1.0, 2.0]) for n in names})
    out = new.to_json()
    assert out["Devices"] == instrument_document()["Devices"]
    assert out["Analysis"]["Time"] == [0.0, 11.6]
    assert out["Analysis"]["Spectral"]["Spectral Centroid"] == [1.0, 2.0]
    assert out["Analysis"]["Spectral"]["Chroma"] == [[1.0] * 12, [2.0] * 12]
    assert "spectral_spread" not in out["Analysis"]["Spectral"]  # not predicted: dropped, not zero-filled
    assert "f0" not in out["Analysis"]["Yin"]
    assert doc.to_json() == instrument_document()  # the original is untouched


def test_written_analysis_follows_the_schema_and_reads_back(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    audio = Audio(path=Path("tone.wav"), samples=sine(440.0, 0.5), sample_rate_hz=SR, n_channels=1)
    document = analyze_audio(audio)
    path = tmp_path / "tone.json"
    write_analysis(path, document)
    data = json.loads(path.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["antiphon"]["absent"] == {}  # every category of the instrument's layout is computed
    assert set(data["Analysis"]["Harmonic"]) >= {"FundamentalFrequency", "HarmonicTristimulus01", "HarmonicOddToEvenRatio"}
    assert set(data["Analysis"]["Perceptual"]) >= {"Loudness", "Sharpness", "PerceptualSpread", "MFCC13"}
    again = read_analysis(path)
    for name, values in document.features.items():
        np.testing.assert_array_equal(again.features[name], values)
    np.testing.assert_array_equal(again.times_ms, document.times_ms)


def test_new_document_layout():
    doc = new_document(np.array([0.0, 1.0]), {"SpectralCentroid": np.array([1.0, 2.0]), "Frequency": np.array([3.0, 4.0])}, {"kind": "x"})
    out = doc.to_json()
    assert out == {
        "Analysis": {"Time": [0.0, 1.0], "Spectral": {"SpectralCentroid": [1.0, 2.0]}, "Yin": {"Frequency": [3.0, 4.0]}},
        "antiphon": {"kind": "x"},
    }


def _broken(mutate) -> dict:
    doc = instrument_document()
    mutate(doc)
    return doc


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["Analysis"].pop("Time"), r"\$\.Analysis has no 'Time' list"),
        (lambda d: d.pop("Analysis"), r"\$ has no 'Analysis' object"),
        (
            lambda d: d["Analysis"]["Spectral"]["Spectral Centroid"].pop(),
            r'\$\.Analysis\.Spectral\["Spectral Centroid"\] has 2 values but Time has 3',
        ),
        (lambda d: d["Analysis"]["Yin"]["f0"].__setitem__(1, float("nan")), r"\$\.Analysis\.Yin\.f0\[1\] is nan"),
        (lambda d: d["Analysis"]["Yin"]["AC1"].__setitem__(2, "0.8"), r'\$\.Analysis\.Yin\.AC1\[2\] is a string "0\.8"; expected a number'),
        (lambda d: d["Analysis"]["Yin"]["AC1"].__setitem__(0, None), r"\$\.Analysis\.Yin\.AC1\[0\] is null"),
        (lambda d: d["Analysis"]["Yin"]["AC1"].__setitem__(0, True), r"\$\.Analysis\.Yin\.AC1\[0\] is a boolean"),
        (lambda d: d["Analysis"].__setitem__("Time", "0,11,23"), r"\$\.Analysis\.Time must be a list of numbers, got a string"),
        (lambda d: d["Analysis"]["Spectral"].__setitem__("Centroid", [1, 2, 3]), r"names the feature SpectralCentroid again"),
        (
            lambda d: d["Analysis"]["Spectral"]["Chroma"].__setitem__(1, [0.1] * 11),
            r"\$\.Analysis\.Spectral\.Chroma\[1\] must be a list of 12 numbers",
        ),
        (
            lambda d: d["Analysis"]["Signal"].__setitem__("TotalEnergy", {"a": 1}),
            r"Signal\.TotalEnergy must be a list of numbers, got an object",
        ),
    ],
)
def test_bad_documents_name_file_and_path(tmp_path, mutate, expected):
    path = tmp_path / "take.json"
    path.write_text(json.dumps(_broken(mutate)))
    with pytest.raises(DataError, match=expected) as info:
        read_analysis(path)
    assert str(info.value).startswith(f"{path}: ")


def test_partial_chroma_sets():
    doc = instrument_document()
    del doc["Analysis"]["Spectral"]["Chroma"]
    doc["Analysis"]["Spectral"].update({"Chroma03": [0.3] * 3, "Chroma05": [0.5] * 3})
    parsed = parse_analysis(doc, "x.json")
    assert parsed.features["Chroma03"].tolist() == [0.3] * 3 and "Chroma01" not in parsed.features
    del doc["Analysis"]["Spectral"]["Chroma03"], doc["Analysis"]["Spectral"]["Chroma05"]
    doc["Analysis"]["Spectral"].update({"Chroma0": [0.0] * 3, "Chroma4": [0.4] * 3})
    assert parse_analysis(doc, "x.json").features["Chroma05"].tolist() == [0.4] * 3  # 0-based: index 4 is E
    del doc["Analysis"]["Spectral"]["Chroma0"]
    doc["Analysis"]["Spectral"]["Chroma3"] = [0.3] * 3
    with pytest.raises(DataError, match=r"has chroma columns Chroma3, Chroma4, which could count from 0 or from 1"):
        parse_analysis(doc, "x.json")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"{not json", "invalid JSON: .* at line 1 column 2"),
        (b"\xff\xfe\x00binary", "not a JSON file"),
        (b"[1, 2, 3]", "must be a JSON object, got a list"),
    ],
)
def test_unreadable_files(tmp_path, content, expected):
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(DataError, match=expected):
        read_analysis(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_analysis(tmp_path / "nope.json")
    with pytest.raises(DataError, match="is a directory"):
        read_analysis(tmp_path)


def test_nan_token_in_the_file(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"Analysis": {"Time": [0, 1], "Spectral": {"SpectralCentroid": [1.0, NaN]}}}')
    with pytest.raises(DataError, match=r"SpectralCentroid\[1\] is nan; values must be finite"):
        read_analysis(path)


def test_matrix_names_missing_features():
    doc = parse_analysis(instrument_document(), "inst.json")
    assert doc.matrix(["SpectralCentroid", "Frequency"]).shape == (3, 2)
    with pytest.raises(DataError, match="inst.json: has no feature Sharpness"):
        doc.matrix(["Sharpness"])


def test_parsing_does_not_modify_the_input():
    original = instrument_document()
    snapshot = copy.deepcopy(original)
    parse_analysis(original, "x").with_frames(np.zeros(1), {"SpectralCentroid": np.zeros(1)}).to_json()
    assert original == snapshot
