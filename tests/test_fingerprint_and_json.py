"""The one fingerprint and the one JSON writer every file format uses."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from antiphon.atomic import json_safe, write_json_atomic
from antiphon.fingerprint import fingerprint


def test_fingerprint_is_sha1_of_the_parts_in_order():
    assert fingerprint("abc") == hashlib.sha1(b"abc").hexdigest()
    assert fingerprint({"b": 1, "a": [1, 2]}) == hashlib.sha1(b'{"a": [1, 2], "b": 1}').hexdigest()  # keys sorted
    assert fingerprint({"b": 1, "a": 2}) == fingerprint({"a": 2, "b": 1})
    values = np.arange(12.0).reshape(3, 4)
    assert fingerprint(values) == fingerprint(np.asfortranarray(values)) == hashlib.sha1(values.tobytes()).hexdigest()
    assert fingerprint("a", "b") != fingerprint("b", "a") and len(fingerprint("a", digits=16)) == 16


def test_the_corpus_fingerprint_of_earlier_releases_is_kept():
    """Study folders and checkpoints store fingerprints: the same corpus must give the byte sequence
    earlier releases hashed (features as JSON, then per file dt, values and split)."""
    from antiphon.data.corpus import build_corpus, corpus_fingerprint
    from tests.conftest import synthetic_document, tiny_config

    corpus = build_corpus([synthetic_document(300, p, f"t{i}.json") for i, p in enumerate((0.0, 1.0))], tiny_config().corpus)
    digest = hashlib.sha1(json.dumps(list(corpus.features)).encode())
    for file in corpus.files:
        for part in (np.ascontiguousarray(file.dt_s).tobytes(), np.ascontiguousarray(file.values).tobytes()):
            digest.update(part)
        digest.update(json.dumps(file.segments, sort_keys=True).encode())
    assert corpus_fingerprint(corpus) == digest.hexdigest()


def test_json_files_hold_no_nan_and_no_numpy(tmp_path):
    data = {"a": float("nan"), "b": [np.float32(1.5), float("inf")], "c": np.arange(3), "d": (np.int64(4), "x")}
    assert json_safe(data) == {"a": None, "b": [1.5, None], "c": [0, 1, 2], "d": [4, "x"]}
    write_json_atomic(tmp_path / "f.json", data)
    assert json.loads((tmp_path / "f.json").read_text()) == json_safe(data)
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # no temporary file left beside it
