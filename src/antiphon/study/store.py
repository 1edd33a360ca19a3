"""A study folder on disk: what is planned, what each run left, written so nothing is lost.

Layout of ``STUDY_DIR``::

    spec.toml             the spec as given (for the record)
    study.json            the plan: configurations with their full settings, runs (key, seed)
    corpus/               the corpus, split as the spec says (every run reads this one)
    runs/<key>/model/     the run's training folder: per-epoch checkpoint, then the model
    runs/<key>/attempts.json   one record per attempt (worker pid, host, start time)
    runs/<key>/result.json     written atomically when the run is complete
    runs/<key>/failed.json     why a run could not complete (bad settings or data)
    report.json, report.html, *.png   the report (:mod:`antiphon.study.report`)

A run is finished when its ``result.json`` exists and was measured with the run's current
measurement settings (``measure_key``); everything else is run again, resuming from its checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from antiphon import __version__
from antiphon.atomic import write_json_atomic, write_text_atomic
from antiphon.config import Config, from_dict, to_dict
from antiphon.data.corpus import Corpus, corpus_fingerprint, load_corpus, resplit, save_corpus
from antiphon.errors import ConfigError, DataError
from antiphon.evaluation import measures
from antiphon.fingerprint import fingerprint
from antiphon.study.measure import SharpnessSet
from antiphon.study.spec import SPEC_SECTIONS, MeasureSettings, StudySpec, with_seed

STUDY_FILE = "study.json"
STUDY_FORMAT = "antiphon-study"
CORPUS_DIR = "corpus"
RUNS_DIR = "runs"
RESULT_FILE = "result.json"
FAILED_FILE = "failed.json"
ATTEMPTS_FILE = "attempts.json"


@dataclass(frozen=True)
class PlannedRun:
    """One (configuration, seed): ``key`` names its folder; ``measure_key`` its measurement settings."""

    key: str
    configuration: str
    seed: int
    config: Config
    measure_key: str


@dataclass(frozen=True)
class Study:
    """The plan read back from ``study.json``."""

    folder: Path
    name: str
    description: str
    seeds: tuple[int, ...]
    configurations: tuple[dict[str, Any], ...]  # name, family, paper, changes (plain data)
    runs: tuple[PlannedRun, ...]
    measure: MeasureSettings
    base: dict[str, Any]
    corpus_fingerprint: str

    def run(self, key: str) -> PlannedRun:
        for run in self.runs:
            if run.key == key:
                return run
        raise KeyError(f"{self.folder}: no run {key} in {STUDY_FILE}")

    def run_folder(self, key: str) -> Path:
        return self.folder / RUNS_DIR / key


def measure_key(config: Config, measure: MeasureSettings) -> str:
    """A hash of what is measured on a trained run (evaluation and measurement settings, the code's
    version and the measures' definitions)."""
    settings = {"evaluate": to_dict(config.evaluate), "measure": to_dict(measure), "version": __version__}
    return fingerprint({**settings, "measures": measures.VERSION}, digits=16)


def prepare_study(spec: StudySpec, folder: Path | str, corpus_dir: Path | str | None) -> Study:
    """Create ``folder`` for ``spec`` (or take up the study already there) and return the plan.

    The corpus is re-split by the spec's corpus settings and copied into the folder, so the study
    reads nothing outside it. A folder that already holds a study keeps its runs: finished ones are
    reused when their key (settings, seed, code version) is still planned.

    Raises:
        ConfigError: no corpus for a new study, or a corpus other than the one the folder's runs used.
        DataError: the corpus cannot be read or split as the spec says.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder}: exists and is not a directory")
    settings = spec.configurations[0].config.corpus
    existing = folder / CORPUS_DIR
    if corpus_dir is None and not (existing / "corpus.json").exists():
        raise ConfigError(f"{folder}: holds no study yet; give the corpus to study with --corpus CORPUS (from `antiphon dataset`)")
    source = existing if corpus_dir is None else Path(corpus_dir)
    try:
        corpus = resplit(load_corpus(source), settings)
    except DataError as exc:
        message = str(exc)
        raise DataError(message if message.startswith(str(source)) else f"{source}: {message} (as {spec.source} splits it)") from exc
    fingerprint = corpus_fingerprint(corpus)
    if (folder / STUDY_FILE).exists():
        previous = read_study(folder)
        if previous.corpus_fingerprint != fingerprint:
            raise ConfigError(
                f"{folder}: its runs were trained on another corpus or split ({CORPUS_DIR}/ differs from what this spec and corpus give); "
                "study this one in a new folder"
            )
    else:
        folder.mkdir(parents=True, exist_ok=True)
    if not (existing / "corpus.json").exists() or corpus_fingerprint(load_corpus(existing)) != fingerprint:
        if existing.exists():
            shutil.rmtree(existing)
        save_corpus(corpus, existing)
    write_text_atomic(folder / "spec.toml", Path(spec.source).read_text(encoding="utf-8"))
    document = {
        "format": STUDY_FORMAT,
        "generator": f"antiphon {__version__}",
        "name": spec.name,
        "description": spec.description,
        "source": spec.source,
        "seeds": list(spec.seeds),
        "base": spec.base,
        "measure": to_dict(spec.measure),
        "corpus_fingerprint": fingerprint,
        "configurations": [
            {
                "name": c.name,
                "family": c.family,
                "paper": c.paper,
                "changes": c.changes,
                "settings": {s: to_dict(getattr(c.config, s)) for s in SPEC_SECTIONS},
            }
            for c in spec.configurations
        ],
        "runs": [{"key": key, "configuration": c.name, "seed": seed} for c, seed, key in spec.runs()],
    }
    write_json_atomic(folder / STUDY_FILE, document)
    return read_study(folder)


def read_study(folder: Path | str) -> Study:
    """The plan in ``folder/study.json``.

    Raises:
        DataError: no study there, or a broken ``study.json``.
    """
    folder = Path(folder)
    path = folder / STUDY_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"{folder}: not a study folder (no {STUDY_FILE}); make one with `antiphon study run`") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: unreadable ({exc})") from exc
    if document.get("format") != STUDY_FORMAT:
        raise DataError(f"{path}: not an antiphon study file (format {document.get('format')!r})")
    measure = from_dict(MeasureSettings, document["measure"], f"{path}: measure")
    configs = {c["name"]: from_dict(Config, c["settings"], f"{path}: configuration {c['name']!r}") for c in document["configurations"]}
    runs = tuple(
        PlannedRun(
            r["key"],
            r["configuration"],
            int(r["seed"]),
            with_seed(configs[r["configuration"]], int(r["seed"])),
            measure_key(configs[r["configuration"]], measure),
        )
        for r in document["runs"]
    )
    return Study(
        folder,
        document["name"],
        document.get("description", ""),
        tuple(document["seeds"]),
        tuple({k: c.get(k) for k in ("name", "family", "paper", "changes")} for c in document["configurations"]),
        runs,
        measure,
        document.get("base", {}),
        document["corpus_fingerprint"],
    )


def study_corpus(study: Study) -> Corpus:
    """The corpus every run of ``study`` trains and is measured on."""
    return load_corpus(study.folder / CORPUS_DIR)


#: the parts of a run's result that exist only where its weights were measured (absent from the file otherwise)
MEASURED_PARTS = ("evaluation", "evaluation_seconds", "sharpness", "sharpness_seconds", "prediction")


@dataclass(frozen=True)
class RunResult:
    """One run's ``result.json``: written by :meth:`write` (the runner), read by :func:`read_result`.

    ``status`` is "finished" or "diverged" (``stopped`` says why training ended); losses in nats
    per step; ``history`` one record per epoch; seconds of wall time. Runs whose weights reached
    a validation loss also carry the study's answer measures (``evaluation``, see
    :func:`antiphon.study.runner.study_measures`), the :class:`~antiphon.study.measure.SharpnessSet`
    and the prediction example; runs that did not have None there.
    """

    key: str
    configuration: str
    seed: int
    measure_key: str
    status: str
    stopped: str
    epochs_run: int
    best_epoch: int | None
    best_val_loss: float | None
    test_nll: float | None
    n_parameters: int
    history: list[dict[str, Any]]
    resumed_from_epoch: int
    attempts: int
    training_seconds: float | None = None
    evaluation: dict[str, Any] | None = None
    evaluation_seconds: float | None = None
    sharpness: SharpnessSet | None = None
    sharpness_seconds: float | None = None
    prediction: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout (measured parts only where measured)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["sharpness"] = None if self.sharpness is None else self.sharpness.to_dict()
        return {k: v for k, v in data.items() if v is not None or k not in MEASURED_PARTS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """Raises KeyError or TypeError for a record that lacks a field every result has."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("sharpness") is not None:
            values["sharpness"] = SharpnessSet.from_dict(values["sharpness"])
        return cls(**values)

    @property
    def answer_energy_score(self) -> float | None:
        """The energy score at the study's answer lead time (None where not measured)."""
        return (self.evaluation or {}).get("answer_energy_score")

    def write(self, study: Study, run: PlannedRun) -> None:
        write_run_file(study, run, RESULT_FILE, self.to_dict())


def read_result(study: Study, run: PlannedRun) -> RunResult | None:
    """The run's result, or None when it has none (or an unreadable or incomplete one, which counts as unfinished)."""
    try:
        return RunResult.from_dict(json.loads((study.run_folder(run.key) / RESULT_FILE).read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None


def is_finished(study: Study, run: PlannedRun) -> bool:
    """True when the run has a result measured with its current settings."""
    result = read_result(study, run)
    return result is not None and result.measure_key == run.measure_key


def read_failure(study: Study, run: PlannedRun) -> dict[str, Any] | None:
    try:
        return json.loads((study.run_folder(run.key) / FAILED_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def write_run_file(study: Study, run: PlannedRun, name: str, data: dict[str, Any]) -> None:
    """``runs/<key>/<name>`` as JSON, atomically (NaN written as null)."""
    write_json_atomic(study.run_folder(run.key) / name, data)
