"""The instrument's analysis JSON: read it tolerantly, write it back losslessly (docs/analysis-json.md).

Layout: ``{"Analysis": {"Time": [ms...], "Spectral": {"SpectralCentroid": [...], ...},
"Signal": {...}, "Yin": {...}, ...}, ...}``. Each feature is a list with one value per entry of
``Time``. Reading accepts the spellings a real file may use (any case, spaces, underscores or
hyphens; short names such as ``Centroid`` inside ``Spectral``; chroma as ``Chroma0..Chroma11``,
``Chroma00..Chroma11``, ``Chroma1..Chroma12``, ``Chroma01..Chroma12`` or one 12-column list) and
maps them to canonical names (``SpectralCentroid``, ``Chroma01`` = C ... ``Chroma12`` = B).
Everything else in the file is kept as it was and written back unchanged, so read -> write
returns an equal document. Errors name the file and the JSON path.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.atomic import write_text_atomic
from antiphon.errors import DataError
from antiphon.feature_names import CATEGORIES, CHROMA_NAMES, SPECTRAL_SHAPE_NAMES, YIN_NAMES

#: the key under which antiphon keeps its own metadata at the top of a document
METADATA_KEY = "antiphon"
FORMAT_VERSION = 1
KNOWN_CATEGORIES = ("Harmonic", "Spectral", "Perceptual", "Signal", "Yin")

JsonPath = tuple[str | int, ...]


def _norm(key: str) -> str:
    return re.sub(r"[\s_\-]", "", key).lower()


_TIME_KEYS = {"time", "times", "timems"}
_CHROMA_KEY = re.compile(r"^chroma(\d{1,2})$")
_ALIASES: dict[str, dict[str, str]] = {
    "Spectral": {
        **{_norm(n): n for n in SPECTRAL_SHAPE_NAMES},
        **{_norm(n.removeprefix("Spectral")): n for n in SPECTRAL_SHAPE_NAMES},
    },
    "Signal": {
        "zerocrossingrate": "ZeroCrossingRate",
        "signalzerocrossingrate": "ZeroCrossingRate",
        "zcr": "ZeroCrossingRate",
        "totalenergy": "TotalEnergy",
        "signaltotalenergy": "TotalEnergy",
        "energy": "TotalEnergy",
    },
    "Yin": {
        **{_norm(n): n for n in YIN_NAMES},
        **{"yin" + _norm(n): n for n in YIN_NAMES},
        "f0": "Frequency",
    },
}


def json_path(path: JsonPath) -> str:
    """``("Analysis", "Spectral", "SpectralCentroid", 3)`` -> ``$.Analysis.Spectral.SpectralCentroid[3]``."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


@dataclass(frozen=True)
class FeatureLocation:
    """Where a feature's values live: the list at ``path``, or column ``column`` of a list of rows."""

    path: JsonPath
    column: int | None = None


@dataclass(frozen=True)
class AnalysisDocument:
    """One analysis file: frame times, features by canonical name, and the whole original document.

    ``times_ms`` (T,) are ms from the start; each ``features[name]`` is (T,) float64 in
    instrument units. ``raw`` is the parsed JSON, never modified; :meth:`to_json` substitutes
    the current values at ``locations`` and keeps everything else.
    """

    source: str
    raw: dict[str, Any]
    times_ms: np.ndarray
    features: dict[str, np.ndarray]
    locations: dict[str, FeatureLocation]
    time_path: JsonPath
    categories: dict[str, str] = field(default_factory=dict)
    _original: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n_frames(self) -> int:
        return int(self.times_ms.size)

    @property
    def metadata(self) -> dict[str, Any]:
        """antiphon's metadata block (empty for a file antiphon did not write)."""
        value = self.raw.get(METADATA_KEY, {})
        return value if isinstance(value, dict) else {}

    def matrix(self, names: Sequence[str]) -> np.ndarray:
        """Values of ``names`` side by side, shape (T, len(names)).

        Raises:
            DataError: a name is not in this document (the message lists what it has).
        """
        missing = [n for n in names if n not in self.features]
        if missing:
            raise DataError(f"{self.source}: has no feature {', '.join(missing)} (it has: {', '.join(self.features) or 'none'})")
        return np.stack([self.features[n] for n in names], axis=1) if names else np.empty((self.n_frames, 0))

    def with_frames(self, times_ms: np.ndarray, features: Mapping[str, np.ndarray]) -> AnalysisDocument:
        """A document with new frames in this one's layout (for predictions, paper III-E).

        ``features`` replace the values of the features of the same name; features of this
        document not in ``features`` are dropped (their lists would no longer match ``Time``).
        New names are added under their category (canonical layout).
        """
        times = np.asarray(times_ms, dtype=np.float64)
        for name, values in features.items():
            if np.shape(values) != times.shape:
                raise DataError(f"{self.source}: {name} has {np.shape(values)} values for {times.size} times")
        locations = {n: loc for n, loc in self.locations.items() if n in features}
        kept_paths = {loc.path for loc in locations.values()}
        for name, loc in self.locations.items():
            if loc.column is not None and loc.path in kept_paths and name not in features:
                raise DataError(
                    f"{self.source}: {json_path(loc.path)} holds several features in one list; "
                    f"give new values for all of them ({name} is missing)"
                )
        categories = {n: c for n, c in self.categories.items() if n in features}
        for name in features:
            if name not in locations:
                category = _category_of(name)
                locations[name] = FeatureLocation(("Analysis", category, name))
                categories[name] = category
        raw = _drop_paths(self.raw, [loc.path for loc in self.locations.values() if loc.path not in kept_paths])
        return AnalysisDocument(
            source=self.source,
            raw=raw,
            times_ms=times,
            features={n: np.asarray(v, dtype=np.float64) for n, v in features.items()},
            locations=locations,
            time_path=self.time_path,
            categories=categories,
        )

    def with_metadata(self, metadata: Mapping[str, Any]) -> AnalysisDocument:
        """This document with antiphon's metadata block replaced."""
        raw = dict(self.raw)
        raw[METADATA_KEY] = dict(metadata)
        return AnalysisDocument(
            self.source, raw, self.times_ms, self.features, self.locations, self.time_path, self.categories, self._original
        )

    def to_json(self) -> dict[str, Any]:
        """The document as JSON-ready data, current values substituted at their original places."""
        out = _Cow(self.raw)
        if not _same(self._original.get("__time__"), self.times_ms):
            out.set(self.time_path, self.times_ms.tolist())
        by_path: dict[JsonPath, dict[int, str]] = {}
        for name, loc in self.locations.items():
            if loc.column is None:
                if not _same(self._original.get(name), self.features[name]):
                    out.set(loc.path, self.features[name].tolist())
            else:
                by_path.setdefault(loc.path, {})[loc.column] = name
        for path, columns in by_path.items():
            if all(_same(self._original.get(n), self.features[n]) for n in columns.values()):
                continue
            width = len(_get(self.raw, path)[0]) if _get(self.raw, path) else len(columns)
            rows = np.zeros((self.n_frames, width))
            for column, name in columns.items():
                rows[:, column] = self.features[name]
            out.set(path, rows.tolist())
        return out.root


def _same(original: np.ndarray | None, current: np.ndarray) -> bool:
    return original is not None and original.shape == current.shape and bool(np.array_equal(original, current))


def _category_of(name: str) -> str:
    for category, names in CATEGORIES.items():
        if name in names:
            return category
    return "Other"


# --------------------------------------------------------------------------------------------
# Reading


def read_analysis(path: Path | str) -> AnalysisDocument:
    """Read and check an analysis JSON file.

    Raises:
        DataError: missing/empty/unreadable file, invalid JSON, no ``Analysis`` or ``Time``,
            a modelled feature whose list has the wrong length, a non-number, NaN or infinity,
            or two keys naming the same feature; the message names the file and JSON path.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected an analysis JSON file")
    data = path.read_bytes()
    if not data:
        raise DataError(f"{path}: is empty (0 bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a JSON file (not UTF-8 text at byte {exc.start})") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    return parse_analysis(document, source=str(path))


def parse_analysis(document: Any, source: str = "<document>") -> AnalysisDocument:
    """Interpret parsed JSON as an analysis document; see :func:`read_analysis`."""
    parser = _Parser(source)
    return parser.parse(document)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: JsonPath, message: str) -> DataError:
        return DataError(f"{self.source}: {json_path(path)} {message}")

    def parse(self, document: Any) -> AnalysisDocument:
        if not isinstance(document, dict):
            raise self.fail((), f"must be a JSON object, got {_kind(document)}")
        analysis_key = _find_key(document, {"analysis"})
        if analysis_key is None:
            raise self.fail((), "has no 'Analysis' object")
        analysis = document[analysis_key]
        if not isinstance(analysis, dict):
            raise self.fail((analysis_key,), f"must be an object, got {_kind(analysis)}")
        time_key = _find_key(analysis, _TIME_KEYS)
        if time_key is None:
            raise self.fail((analysis_key,), "has no 'Time' list (ms since the start)")
        time_path: JsonPath = (analysis_key, time_key)
        times = self.numbers(analysis[time_key], time_path)
        n = times.size

        features: dict[str, np.ndarray] = {}
        locations: dict[str, FeatureLocation] = {}
        categories: dict[str, str] = {}
        claimed: dict[str, JsonPath] = {}

        def add(name: str, category: str, values: np.ndarray, location: FeatureLocation) -> None:
            if name in claimed:
                raise self.fail(location.path, f"names the feature {name} again (already at {json_path(claimed[name])})")
            claimed[name] = location.path
            features[name], locations[name], categories[name] = values, location, category

        unmodelled: list[tuple[str, str, np.ndarray, FeatureLocation]] = []
        for key, block in analysis.items():
            if key == time_key or not isinstance(block, dict):
                continue
            category = next((c for c in KNOWN_CATEGORIES if _norm(c) == _norm(key)), key)
            aliases = _ALIASES.get(category, {})
            chroma_keys: dict[int, str] = {}
            for name_key, values in block.items():
                path: JsonPath = (key, name_key)
                normalised = _norm(name_key)
                if category == "Spectral" and (match := _CHROMA_KEY.match(normalised)):
                    chroma_keys[int(match.group(1))] = name_key
                elif category == "Spectral" and normalised == "chroma":
                    rows = self.rows(values, (analysis_key, *path), n, 12)
                    for column, name in enumerate(CHROMA_NAMES):
                        add(name, category, rows[:, column], FeatureLocation((analysis_key, *path), column))
                elif normalised in aliases:
                    name = aliases[normalised]
                    add(name, category, self.feature(values, (analysis_key, *path), n), FeatureLocation((analysis_key, *path)))
                else:
                    clean = _clean_numbers(values, n)
                    if clean is not None:
                        unmodelled.append((name_key, category, clean, FeatureLocation((analysis_key, *path))))
            if chroma_keys:
                base = self.chroma_base(chroma_keys, (analysis_key, key))
                for index, name_key in sorted(chroma_keys.items()):
                    path = (analysis_key, key, name_key)
                    add(CHROMA_NAMES[index - base], category, self.feature(block[name_key], path, n), FeatureLocation(path))

        counts: dict[str, int] = {}
        for name_key, *_ in unmodelled:
            counts[name_key] = counts.get(name_key, 0) + 1
        for name_key, category, values, location in unmodelled:
            name = name_key if counts[name_key] == 1 and name_key not in features else f"{category}.{name_key}"
            if name not in features:
                features[name], locations[name], categories[name] = values, location, category

        original = dict(features.items())
        original["__time__"] = times
        return AnalysisDocument(
            source=self.source,
            raw=document,
            times_ms=times,
            features=features,
            locations=locations,
            time_path=time_path,
            categories=categories,
            _original=original,
        )

    def chroma_base(self, keys: dict[int, str], path: JsonPath) -> int:
        """0 for 0-based labels (PiPo's Chroma0..Chroma11), 1 for 1-based (Chroma01..Chroma12).

        A set with index 0 is 0-based, one with index 12 is 1-based; otherwise zero-padded labels
        (Chroma03) are 1-based, antiphon's and the paper's spelling. Other partial sets are ambiguous.
        """
        indices = sorted(keys)
        if indices[0] == 0 and indices[-1] <= 11:
            return 0
        if indices[0] >= 1 and indices[-1] <= 12 and (12 in keys or any(keys[i][-2:].startswith("0") for i in indices)):
            return 1
        found = ", ".join(keys[i] for i in indices)
        raise self.fail(
            path,
            f"has chroma columns {found}, which could count from 0 or from 1; "
            "write Chroma01..Chroma12 (C = Chroma01) or give all 12 columns",
        )

    def numbers(self, values: Any, path: JsonPath) -> np.ndarray:
        if not isinstance(values, list):
            raise self.fail(path, f"must be a list of numbers, got {_kind(values)}")
        for index, value in enumerate(values):
            if not _is_number(value):
                raise self.fail((*path, index), f"is {_kind(value)} {_short(value)}; expected a number")
        array = np.asarray(values, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(array))
        if bad.size:
            raise self.fail((*path, int(bad[0])), f"is {values[bad[0]]}; values must be finite numbers")
        return array

    def feature(self, values: Any, path: JsonPath, n_frames: int) -> np.ndarray:
        array = self.numbers(values, path)
        if array.size != n_frames:
            raise self.fail(path, f"has {array.size} values but Time has {n_frames}")
        return array

    def rows(self, values: Any, path: JsonPath, n_frames: int, width: int) -> np.ndarray:
        if not isinstance(values, list):
            raise self.fail(path, f"must be a list of {width}-value rows, got {_kind(values)}")
        if len(values) == width and n_frames != width and all(isinstance(v, list) and len(v) == n_frames for v in values):
            return np.stack([self.feature(v, (*path, i), n_frames) for i, v in enumerate(values)], axis=1)
        if len(values) != n_frames:
            raise self.fail(path, f"has {len(values)} rows but Time has {n_frames}")
        out = np.empty((n_frames, width))
        for index, row in enumerate(values):
            if not isinstance(row, list) or len(row) != width:
                raise self.fail((*path, index), f"must be a list of {width} numbers, got {_kind(row)} {_short(row)}")
            out[index] = self.numbers(row, (*path, index))
        return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _clean_numbers(values: Any, n_frames: int) -> np.ndarray | None:
    """A per-frame list of finite numbers (an unmodelled feature we can expose), else None."""
    if not isinstance(values, list) or len(values) != n_frames or not all(_is_number(v) for v in values):
        return None
    array = np.asarray(values, dtype=np.float64)
    return array if bool(np.all(np.isfinite(array))) else None


def _find_key(mapping: dict[str, Any], spellings: set[str]) -> str | None:
    return next((key for key in mapping if _norm(key) in spellings), None)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a number"


def _short(value: Any) -> str:
    text = json.dumps(value) if not (isinstance(value, float) and not math.isfinite(value)) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _get(root: Any, path: JsonPath) -> Any:
    for part in path:
        root = root[part]
    return root


class _Cow:
    """Copy-on-write view of a JSON tree: containers along changed paths are copied, the rest shared."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root: Any = dict(root)
        self._copied: set[JsonPath] = {()}

    def _parent(self, path: JsonPath) -> Any:
        node = self.root
        for depth, part in enumerate(path[:-1]):
            prefix = path[: depth + 1]
            if prefix not in self._copied:
                child = node[part]
                node[part] = dict(child) if isinstance(child, dict) else list(child)
                self._copied.add(prefix)
            node = node[part]
        return node

    def set(self, path: JsonPath, value: Any) -> None:
        self._parent(path)[path[-1]] = value

    def drop(self, path: JsonPath) -> None:
        parent = self._parent(path)
        if isinstance(parent, dict):
            parent.pop(path[-1], None)


def _drop_paths(raw: dict[str, Any], paths: list[JsonPath]) -> dict[str, Any]:
    cow = _Cow(raw)
    for path in paths:
        cow.drop(path)
    return cow.root


# --------------------------------------------------------------------------------------------
# Writing


def new_document(
    times_ms: np.ndarray, features: Mapping[str, np.ndarray], metadata: Mapping[str, Any], source: str = "<new>"
) -> AnalysisDocument:
    """A document in the canonical layout: ``Analysis.Time`` then one object per category."""
    analysis: dict[str, Any] = {"Time": []}
    for name in features:
        analysis.setdefault(_category_of(name), {})
    empty = AnalysisDocument(
        source=source,
        raw={"Analysis": analysis, METADATA_KEY: dict(metadata)},
        times_ms=np.empty(0),
        features={},
        locations={},
        time_path=("Analysis", "Time"),
    )
    return empty.with_frames(times_ms, features)


def write_analysis(path: Path | str, document: AnalysisDocument) -> None:
    """Write ``document`` as compact JSON, atomically (no partial file on failure)."""
    text = json.dumps(document.to_json(), separators=(",", ":"), allow_nan=False)
    write_text_atomic(path, text + "\n")
