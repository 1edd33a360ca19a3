"""One fingerprint for everything antiphon compares by content: settings, corpora, runs.

A fingerprint is the SHA-1 of its parts in order: text and bytes as they are, NumPy arrays as
their C-ordered bytes, anything else as JSON with sorted keys. SHA-1 serves as a content
identity here, not as security; the byte sequences are those of earlier releases, so model
checkpoints and study folders written before keep their fingerprints.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np


def fingerprint(*parts: Any, digits: int = 40) -> str:
    """The first ``digits`` hex digits of the SHA-1 of ``parts`` (see the module docstring)."""
    digest = hashlib.sha1()
    for part in parts:
        if isinstance(part, str):
            digest.update(part.encode())
        elif isinstance(part, bytes):
            digest.update(part)
        elif isinstance(part, np.ndarray):
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True).encode())
    return digest.hexdigest()[:digits]
