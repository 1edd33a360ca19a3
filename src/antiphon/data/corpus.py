"""A training corpus: per-file rows of ``[dt_s, features...]``, a split and a scaler (design §2.3).

Row i of a file holds ``dt_s`` = (Time[i] - Time[i-1]) / 1000, the seconds since the frame
before, followed by the selected features of frame i in instrument units. Whether dt is a model
dimension is the corpus's ``timing``: frames at a fixed hop carry no timing information (a
constant column lets the NLL fall without limit), so such corpora model the features alone and
answer at the hop; irregular timing (session logs, event data) keeps dt (:attr:`Corpus.dt_modelled`). The first frame of a
file has no time step, so it starts the sequence but is not a row. Times must increase: a
duplicate or decreasing time is an error naming the file and the index, never silently fixed.

Splits are contiguous, never shuffled windows (overlapping windows would leak): ``block`` cuts
each file into train, validation and test blocks in that order; ``file`` gives whole files to
each split, in the order the files were given. The min-max scaler is fitted on the training
rows only and never applies to dt.

On disk a corpus is a folder with ``corpus.npz`` (the arrays; read without pickle) and
``corpus.json`` (features, files, split, scaler, settings), both written atomically.
"""

from __future__ import annotations

import dataclasses
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from antiphon import __version__
from antiphon.atomic import atomic_path, write_json_atomic
from antiphon.config import CorpusConfig, from_dict, to_dict
from antiphon.data.analysis_json import AnalysisDocument
from antiphon.data.description import read_description
from antiphon.data.quiet import LEVEL_FEATURE, quiet_mask
from antiphon.data.scaler import MinMaxScaler, scale_knees
from antiphon.errors import DataError
from antiphon.fingerprint import fingerprint

SPLITS = ("train", "validation", "test")
#: time steps "vary" when their range exceeds this fraction of their median (float rounding of a fixed hop is ~1e-7)
DT_VARIATION = 0.01
CORPUS_FORMAT = "antiphon-corpus"
CORPUS_FORMAT_VERSION = 1


@dataclass(frozen=True)
class CorpusFile:
    """One source file: ``dt_s`` (T,) seconds, ``values`` (T, F) instrument units, and its split.

    ``segments[split]`` is the row range ``(start, stop)`` of that split in this file; ``n_quiet``
    how many rows the quiet-frame rule (:mod:`antiphon.data.quiet`) made silent; ``analysis`` the
    settings of the analysis its frames came from (``antiphon analyze``'s, with the sample rate in
    Hz), None where the file does not say (the instrument's files, session logs).
    """

    name: str
    dt_s: np.ndarray
    values: np.ndarray
    segments: dict[str, tuple[int, int]]
    n_quiet: int | None = None  # rows marked silent by the quiet-frame rule; None: not checked (no level)
    analysis: dict[str, Any] | None = None

    @property
    def n_rows(self) -> int:
        return int(self.dt_s.size)


@dataclass(frozen=True)
class Corpus:
    """Files, the feature names (after dt), the scaler fitted on the training rows, and the settings."""

    features: tuple[str, ...]
    files: tuple[CorpusFile, ...]
    scaler: MinMaxScaler
    config: CorpusConfig

    @cached_property
    def dt_modelled(self) -> bool:
        """Whether dt is a model dimension (column 0 of :meth:`segments`): ``corpus.timing``, or for
        ``auto`` whether the time steps vary (:func:`timing_varies`)."""
        if self.config.timing != "auto":
            return self.config.timing == "modelled"
        return timing_varies(np.concatenate([f.dt_s for f in self.files]))

    @cached_property
    def hop_s(self) -> float:
        """The median time step, seconds: the step of every answer frame when dt is not modelled."""
        return float(np.median(np.concatenate([f.dt_s for f in self.files])))

    @property
    def columns(self) -> tuple[str, ...]:
        """The model's dimensions: ``("dt_s", *features)`` when dt is modelled, else the features."""
        return ("dt_s", *self.features) if self.dt_modelled else tuple(self.features)

    @property
    def dimension(self) -> int:
        """Values per model row (see :attr:`columns`)."""
        return len(self.columns)

    def segments(self, split: str, scale_factor: float = 1.0, scaler: MinMaxScaler | None = None) -> list[np.ndarray]:
        """The rows of ``split``, one (n, D) float32 array per file with rows in it, D = :attr:`dimension`.

        Features are scaled to [0, 1] by ``scaler`` (default: the corpus's own, fitted on its
        training rows); dt, when modelled, stays in seconds; everything is then multiplied by
        ``scale_factor`` (IMPSY uses 10).
        """
        scaler = scaler or self.scaler
        out = []
        for file in self.files:
            start, stop = file.segments[split]
            if stop > start:
                scaled, _ = scaler.transform(file.values[start:stop])
                rows = np.concatenate([file.dt_s[start:stop, None], scaled], axis=1) if self.dt_modelled else scaled
                out.append((rows * scale_factor).astype(np.float32))
        return out

    def held_out_segments(
        self, split: str, scale_factor: float, widths: np.ndarray, scaler: MinMaxScaler | None = None
    ) -> list[np.ndarray]:
        """:meth:`segments` dequantised with fixed noise (seeded by the split's name) within ``widths``
        (D,) (in the scaled units), so every model and baseline is scored on the same numbers."""
        rng = np.random.default_rng(zlib.crc32(split.encode()))
        return [dequantised(rows, widths, rng) for rows in self.segments(split, scale_factor, scaler)]

    def resolution(self) -> np.ndarray:
        """Width (D,) within which each model column is dequantised, in the units of :meth:`segments`
        at scale 1: ``corpus.resolution`` (a fraction of the [0, 1] range) or the feature's lattice
        step where coarser; for dt, that fraction of the median step (seconds)."""
        train = np.concatenate([f.values[f.segments["train"][0] : f.segments["train"][1]] for f in self.files])
        scaled, _ = self.scaler.transform(train)
        widths = np.array([max(self.config.resolution, lattice_step(scaled[:, i])) for i in range(scaled.shape[1])])
        if self.dt_modelled:
            widths = np.concatenate([[self.config.resolution * self.hop_s], widths])
        return widths

    @property
    def analysis(self) -> dict[str, Any] | None:
        """The analysis settings the files' frames came from (convention, n_fft, hop_length,
        sample_rate_hz...): each setting the files that record one agree on, None for a setting they
        differ on; None when no file records its analysis."""
        known = [f.analysis for f in self.files if f.analysis is not None]
        if not known:
            return None
        keys = sorted(set().union(*known))
        return {k: known[0].get(k) if all(a.get(k) == known[0].get(k) for a in known) else None for k in keys}

    def n_rows(self, split: str) -> int:
        return sum(f.segments[split][1] - f.segments[split][0] for f in self.files)

    def summary(self) -> dict[str, Any]:
        """Counts, durations and per-feature ranges, for printing and for corpus.json."""
        all_values = np.concatenate([f.values for f in self.files])
        all_dt = np.concatenate([f.dt_s for f in self.files])
        low, high = self.scaler.sounding_minimum, self.scaler.sounding_maximum

        def sounding(i: int) -> dict[str, float]:  # the training range of the frames that sound
            return {} if low is None or high is None else {"train_sounding_min": float(low[i]), "train_sounding_max": float(high[i])}

        return {
            "n_files": len(self.files),
            "n_rows": int(all_dt.size),
            "duration_s": float(all_dt.sum()),
            "rows_per_split": {split: self.n_rows(split) for split in SPLITS},
            "dt_s": {"min": float(all_dt.min()), "median": float(np.median(all_dt)), "max": float(all_dt.max())},
            "dt_modelled": self.dt_modelled,
            "quiet_rows": {f.name: f.n_quiet for f in self.files},
            # the rules the training rows obey, which every answer frame is made to obey (the engine derives them)
            "identities": [str(identity) for identity in self.scaler.identities],
            "bounds": [str(bound) for bound in self.scaler.bounds],
            "features": {
                name: {
                    "min": float(all_values[:, i].min()),
                    "max": float(all_values[:, i].max()),
                    "train_min": float(self.scaler.minimum[i]),
                    "train_max": float(self.scaler.maximum[i]),
                    **sounding(i),
                }
                for i, name in enumerate(self.features)
            },
        }


def timing_varies(dt_s: np.ndarray) -> bool:
    """True when time steps (seconds, any shape) spread over more than ``DT_VARIATION`` of their median."""
    dt = np.asarray(dt_s, dtype=np.float64).ravel()
    return bool(dt.size > 1 and np.ptp(dt) > DT_VARIATION * abs(float(np.median(dt))))


def lattice_step(values: np.ndarray) -> float:
    """The spacing of a feature whose values sit on a lattice (e.g. rolloff on FFT bins): the smallest
    gap between distinct values when they repeat (fewer distinct values than a quarter of the
    rows); 0 for values that look continuous."""
    distinct = np.unique(values)
    if distinct.size < 2 or distinct.size > values.size / 4:
        return 0.0
    return float(np.diff(distinct).min())


def dequantised(rows: np.ndarray, widths: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``rows`` (..., D) plus uniform noise in [-w/2, w/2) per column (``widths`` (D,), same units):
    a discrete or atomic value becomes a density the NLL can measure (Theis et al. 2016)."""
    return (rows + (rng.random(rows.shape) - 0.5) * widths).astype(rows.dtype)


def rows_from_document(document: AnalysisDocument, features: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(dt_s (T-1,), values (T-1, F))`` from an analysis document (see the module docstring).

    Raises:
        DataError: a feature is missing, fewer than 2 frames, or times that do not increase.
    """
    times = document.times_ms
    if times.size < 2:
        raise DataError(f"{document.source}: has {times.size} frame(s); a corpus needs at least 2 (one time step)")
    values = document.matrix(list(features))
    steps = np.diff(times)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        kind = "repeats" if steps[bad[0]] == 0 else "goes back from"
        raise DataError(f"{document.source}: Time[{i}] = {times[i]:g} ms {kind} Time[{i - 1}] = {times[i - 1]:g} ms; times must increase")
    return steps / 1000.0, values[1:]


def build_corpus(documents: Sequence[AnalysisDocument], config: CorpusConfig | None = None) -> Corpus:
    """Rows, split and scaler from analysis documents; quiet frames marked silent (``corpus.quiet_margin_db``).

    Raises:
        DataError: no documents, a document without the selected features or with bad times,
            too few files for a file split, or no training rows.
    """
    cfg = config or CorpusConfig()
    if not documents:
        raise DataError("the corpus is empty: no input files")
    rows, quiet, analyses = [], [], []
    for doc in documents:
        dt, values = rows_from_document(doc, cfg.features)
        n_quiet = None
        if cfg.quiet_margin_db is not None and LEVEL_FEATURE in doc.features:
            mask = quiet_mask(doc.features[LEVEL_FEATURE][1:], cfg.quiet_margin_db)  # row i is frame i + 1
            values = np.where(mask[:, None], 0.0, values)
            n_quiet = int(mask.sum())
        rows.append((dt, values))
        quiet.append(n_quiet)
        analyses.append(analysis_settings(doc))
    names = _unique_names([Path(doc.source).name for doc in documents])
    corpus = _split(names, rows, cfg)
    files = tuple(dataclasses.replace(f, n_quiet=n, analysis=a) for f, n, a in zip(corpus.files, quiet, analyses))
    return dataclasses.replace(corpus, files=files)


def analysis_settings(document: AnalysisDocument) -> dict[str, Any] | None:
    """The analysis settings ``antiphon analyze`` recorded in ``document`` with the audio's sample
    rate (Hz); None for a file that does not record them."""
    metadata = document.metadata
    settings = metadata.get("analysis")
    if not isinstance(settings, dict):
        return None
    source = metadata.get("source")
    return {**settings, "sample_rate_hz": source.get("sample_rate_hz") if isinstance(source, dict) else None}


def resplit(corpus: Corpus, config: CorpusConfig) -> Corpus:
    """The same rows split (and the scaler fitted) by ``config``, e.g. a study's 10 % validation.
    The rows are the corpus's as built: quiet frames stay marked as they were (``quiet_margin_db``
    acts in :func:`build_corpus`).

    Raises:
        DataError: ``config`` selects other features than the corpus holds, or the split fails
            as in :func:`build_corpus`.
    """
    if tuple(config.features) != tuple(corpus.features):
        raise DataError(
            f"the corpus holds {len(corpus.features)} features ({', '.join(corpus.features[:3])}...) and the settings "
            f"ask for {len(config.features)} ({', '.join(config.features[:3])}...): build a corpus with those features"
        )
    split = _split([f.name for f in corpus.files], [(f.dt_s, f.values) for f in corpus.files], config)
    files = tuple(dataclasses.replace(f, n_quiet=g.n_quiet, analysis=g.analysis) for f, g in zip(split.files, corpus.files))
    return dataclasses.replace(split, files=files)


def _matching(names: list[str], parts: tuple[str, ...], setting: str) -> list[bool]:
    """Which of ``names`` contain any of ``parts`` (the ``corpus.<setting>`` entries); an entry that matches no name is an error."""
    unmatched = [part for part in parts if not any(part in name for name in names)]
    if unmatched:
        raise DataError(f"corpus.{setting}: no file's name contains {unmatched[0]!r} (files: {', '.join(names)})")
    return [any(part in name for part in parts) for name in names]


def _split(names: list[str], rows: list[tuple[np.ndarray, np.ndarray]], cfg: CorpusConfig) -> Corpus:
    """Assign rows to splits (:func:`_segments`) and fit the scaler on the training rows."""
    segments = _segments(names, [dt.size for dt, _ in rows], cfg)
    train_rows = [values[s["train"][0] : s["train"][1]] for (_, values), s in zip(rows, segments)]
    train = np.concatenate(train_rows) if train_rows else np.empty((0, len(cfg.features)))
    if train.shape[0] == 0:
        raise DataError("the training split is empty: give more frames or a larger corpus.train_fraction")
    scaler = MinMaxScaler.fit(train, cfg.features, scale_knees(cfg.features, cfg.log_frequency_knee_hz, cfg.log_chroma_knee))
    files = tuple(CorpusFile(name, dt, values, seg) for name, (dt, values), seg in zip(names, rows, segments))
    return Corpus(tuple(cfg.features), files, scaler, cfg)


def _segments(names: list[str], sizes: list[int], cfg: CorpusConfig) -> list[dict[str, tuple[int, int]]]:
    """Each file's (start, stop) rows per split, for files of ``sizes`` rows: block or file split, the held-out
    ``test_files``, and the training-only ``train_files`` (the others split as they would be without them)."""
    trained_only = _matching(names, cfg.train_files, "train_files")
    held_out = _matching(names, cfg.test_files, "test_files")
    both = [name for name, a, b in zip(names, trained_only, held_out) if a and b]
    if both:
        raise DataError(f"corpus.train_files and corpus.test_files both take {both[0]}: a file belongs to one split")
    if all(trained_only):
        raise DataError(f"corpus.train_files takes every file ({', '.join(names)}): nothing is left to validate or test on")
    if any(trained_only):
        others = [i for i, t in enumerate(trained_only) if not t]
        placed = iter(_segments([names[i] for i in others], [sizes[i] for i in others], dataclasses.replace(cfg, train_files=())))
        return [_whole("train", n) if t else next(placed) for t, n in zip(trained_only, sizes)]
    if cfg.test_files:
        if all(held_out):
            raise DataError(f"corpus.test_files holds out every file ({', '.join(names)}): nothing is left to train on")
        share = cfg.train_fraction / (cfg.train_fraction + cfg.validation_fraction)
        return [_whole("test", n) if out else _blocks(n, share, 1.0 - share) for out, n in zip(held_out, sizes)]
    if cfg.split == "file":
        n_files = len(sizes)
        n_train = max(1, round(n_files * cfg.train_fraction))
        n_validation = max(1, round(n_files * cfg.validation_fraction))
        if n_train + n_validation > n_files:
            raise DataError(
                f"a file split needs at least {n_train + n_validation} files "
                f"(train {cfg.train_fraction:g}, validation {cfg.validation_fraction:g}); got {n_files}: use split = 'block'"
            )
        owner = ["train"] * n_train + ["validation"] * n_validation + ["test"] * (n_files - n_train - n_validation)
        return [_whole(split, n) for split, n in zip(owner, sizes)]
    return [_blocks(n, cfg.train_fraction, cfg.validation_fraction) for n in sizes]


def corpus_fingerprint(corpus: Corpus) -> str:
    """A hash of the features, every file's rows and its split (40 hex digits): equal for equal corpora."""
    parts: list[object] = [list(corpus.features)]
    for file in corpus.files:
        parts += [np.asarray(file.dt_s), np.asarray(file.values), file.segments]
    return fingerprint(*parts)


def _blocks(n_rows: int, train_fraction: float, validation_fraction: float) -> dict[str, tuple[int, int]]:
    a = round(n_rows * train_fraction)
    b = min(n_rows, a + round(n_rows * validation_fraction))
    return {"train": (0, a), "validation": (a, b), "test": (b, n_rows)}


def _whole(split: str, n_rows: int) -> dict[str, tuple[int, int]]:
    return {s: ((0, n_rows) if s == split else (0, 0)) for s in SPLITS}


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


# --------------------------------------------------------------------------------------------
# On disk


def save_corpus(corpus: Corpus, out_dir: Path | str) -> Path:
    """Write ``corpus.npz`` then ``corpus.json`` into ``out_dir`` (each atomically); returns the folder."""
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder}: exists and is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for i, file in enumerate(corpus.files):
        arrays[f"dt_s_{i}"] = file.dt_s
        arrays[f"values_{i}"] = file.values
    with atomic_path(folder / "corpus.npz") as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    meta = {
        "format": CORPUS_FORMAT,
        "format_version": CORPUS_FORMAT_VERSION,
        "generator": f"antiphon {__version__}",
        "features": ["dt_s", *corpus.features],
        "files": [
            {"name": f.name, "n_rows": f.n_rows, "segments": f.segments, "n_quiet": f.n_quiet, "analysis": f.analysis} for f in corpus.files
        ],
        "scaler": corpus.scaler.to_dict(),
        "corpus": to_dict(corpus.config),
        "summary": corpus.summary(),
    }
    write_json_atomic(folder / "corpus.json", meta)
    return folder


def load_corpus(folder: Path | str) -> Corpus:
    """Read a corpus folder written by :func:`save_corpus`.

    Raises:
        DataError: not a corpus folder, a missing or corrupt file, or arrays that disagree
            with the description; the message names the file.
    """
    folder = Path(folder)
    npz_path = folder / "corpus.npz"
    meta_path, meta = read_description(
        folder, "corpus.json", ["corpus.npz"], CORPUS_FORMAT, DataError, "corpus", "make one with `antiphon dataset`"
    )
    try:
        config = from_dict(CorpusConfig, meta["corpus"], str(meta_path))
        scaler = MinMaxScaler.from_dict(meta["scaler"], str(meta_path))
        described = meta["files"]
        with np.load(npz_path, allow_pickle=False) as arrays:
            files = []
            for i, entry in enumerate(described):
                dt, values = arrays[f"dt_s_{i}"], arrays[f"values_{i}"]
                segments = {s: (int(entry["segments"][s][0]), int(entry["segments"][s][1])) for s in SPLITS}
                if dt.shape != (entry["n_rows"],) or values.shape != (entry["n_rows"], len(config.features)):
                    raise DataError(f"{npz_path}: arrays of file {i} do not match {meta_path}")
                n_quiet, analysis = entry.get("n_quiet"), entry.get("analysis")
                files.append(
                    CorpusFile(
                        str(entry["name"]),
                        dt,
                        values,
                        segments,
                        None if n_quiet is None else int(n_quiet),
                        dict(analysis) if analysis else None,
                    )
                )
    except DataError:
        raise
    except (KeyError, TypeError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{npz_path}: corrupt or not matching {meta_path.name} ({exc})") from exc
    if scaler.names != tuple(config.features):
        raise DataError(f"{meta_path}: scaler features differ from the corpus features")
    if "bounds" not in meta["scaler"]:  # written before the rules were looked for: look on the training rows
        scaler = scaler.with_rules(np.concatenate([f.values[f.segments["train"][0] : f.segments["train"][1]] for f in files]))
    knees = scale_knees(config.features, config.log_frequency_knee_hz, config.log_chroma_knee)
    if not np.array_equal(np.zeros_like(knees) if scaler.knees is None else scaler.knees, knees):
        raise DataError(f"{meta_path}: the scaler's log-scale knees differ from corpus.log_frequency_knee_hz and corpus.log_chroma_knee")
    return Corpus(tuple(config.features), tuple(files), scaler, config)
