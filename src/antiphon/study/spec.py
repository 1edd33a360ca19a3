"""Study specifications: a base configuration, a list of variations, and seeds.

A spec is TOML: ``name``, ``description``, ``seeds``, a ``[base]`` table holding any of the
``[model]``, ``[training]``, ``[corpus]`` and ``[evaluate]`` sections, ``[measure]`` (what is
measured on every trained model, :class:`MeasureSettings`), and configurations given either
one by one, as ``[[run]]`` tables with a ``name``, the sections they change, and optionally
``paper`` (the published result to set beside ours), or as an equal-budget random search,
``[[search]]`` tables with a family ``name``, ``trials``, fixed settings and a ``space`` of
``"section.key" = { log_uniform = [a, b] }`` (or ``uniform``, ``choice``), sampled by a
scrambled Halton sequence seeded by ``search_seed``. Every configuration shares one corpus
section (the paired design needs one split). The bundled default is the paper's Table I
(``specs/table1.toml``); the other bundled specs are examples (:func:`bundled_specs`).

Each (configuration, seed) is one run, keyed by a hash of its resolved settings, the seed and
the code version, so a re-run of the same study finds what is already done.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from antiphon import __version__
from antiphon.config import Config, from_dict, read_toml, require, setting, to_dict
from antiphon.errors import ConfigError
from antiphon.fingerprint import fingerprint

#: the sections that shape a run (hashed into its key)
SECTIONS = ("model", "training", "corpus")
#: the sections a spec may set: those, and how the trained models are evaluated
SPEC_SECTIONS = (*SECTIONS, "evaluate")


@dataclass(frozen=True)
class MeasureSettings:
    """What is measured on every trained model besides training (spec table ``[measure]``).

    Sharpness is measured in float64 with oneDNN off on a fixed subset of training windows and
    the same number of validation windows (the same windows for every run).
    """

    windows: int = setting(256, "training windows (and as many validation windows) the sharpness is measured on")
    lanczos_restarts: int = setting(
        5, "most ARPACK restarts (about 10 Hessian-vector products each) of the Lanczos run that finds both ends of a Hessian spectrum"
    )
    tolerance: float = setting(1e-3, "relative accuracy asked of the extreme Hessian eigenvalues (ARPACK's tol)")
    epsilons: tuple[float, ...] = setting((5e-4, 1e-3), "box sizes of the epsilon-sharpness (Keskar et al.)")
    ascent_steps: int = setting(10, "sign-gradient ascent steps per epsilon-sharpness")
    slice_directions: int = setting(2, "random filter-normalised directions for the 1-D loss slices")
    slice_points: int = setting(21, "points per loss slice, alpha from -slice_span to +slice_span")
    slice_span: float = setting(1.0, "largest |alpha| of the loss slices (in filter-normalised units)")
    prediction_features: tuple[str, ...] = setting(
        ("Chroma03", "Chroma04", "Chroma05", "SpectralSkewness"), "features of the input-then-prediction figure per configuration"
    )

    def __post_init__(self) -> None:
        checks = [
            (self.windows >= 1, f"windows must be >= 1, got {self.windows}"),
            (self.lanczos_restarts >= 1, f"lanczos_restarts must be >= 1, got {self.lanczos_restarts}"),
            (self.tolerance > 0, f"tolerance must be > 0, got {self.tolerance}"),
            (all(e > 0 for e in self.epsilons), "epsilons must be > 0"),
            (self.ascent_steps >= 1, f"ascent_steps must be >= 1, got {self.ascent_steps}"),
            (self.slice_directions >= 0, f"slice_directions must be >= 0, got {self.slice_directions}"),
            (self.slice_points >= 3, f"slice_points must be >= 3, got {self.slice_points}"),
            (self.slice_span > 0, f"slice_span must be > 0, got {self.slice_span}"),
        ]
        require(checks, "measure")


@dataclass(frozen=True)
class Configuration:
    """One row of a study: its name, its full settings, the settings it changes from the base
    (``changes``, for writing follow-up specs), its random-search family if any, and the
    published result if any."""

    name: str
    config: Config
    paper: dict[str, Any] | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    family: str | None = None


@dataclass(frozen=True)
class StudySpec:
    name: str
    description: str
    seeds: tuple[int, ...]
    configurations: tuple[Configuration, ...]
    source: str
    base: dict[str, Any] = field(default_factory=dict)
    measure: MeasureSettings = field(default_factory=MeasureSettings)

    def runs(self) -> list[tuple[Configuration, int, str]]:
        """Every (configuration, seed, run key), configuration-major."""
        return [(c, seed, run_key(c.config, seed)) for c in self.configurations for seed in self.seeds]


def default_spec_path() -> Path:
    """The bundled Table I spec."""
    return bundled_specs()["table1"]


def bundled_specs() -> dict[str, Path]:
    """The specs shipped with antiphon, by name (the file name without ``.toml``)."""
    folder = resources.files("antiphon.study") / "specs"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml")}


def resolve_spec(name_or_path: str | None) -> Path:
    """A spec path: None is Table I, a bundled name (``table1``, ``decay-ignored``...) is that spec,
    anything else a file.

    Raises:
        ConfigError: neither a bundled name nor an existing file.
    """
    if name_or_path is None:
        return default_spec_path()
    bundled = bundled_specs()
    if name_or_path in bundled and not Path(name_or_path).exists():
        return bundled[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such spec file (bundled specs: {', '.join(sorted(bundled))})")
    return path


TOP_LEVEL = ("name", "description", "seeds", "base", "measure", "run", "search", "search_seed")


def load_spec(path: Path | str | None = None) -> StudySpec:
    """Read a spec (the bundled Table I when ``path`` is None).

    Raises:
        ConfigError: unreadable TOML, a missing field, or a bad setting; the message names the
            file and the run.
    """
    path = Path(path) if path is not None else default_spec_path()
    data = read_toml(path, "the study spec")
    unknown = set(data) - set(TOP_LEVEL)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(TOP_LEVEL)})")
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ConfigError(f"{path}: seeds must be a non-empty list of integers")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{path}: seeds must be distinct")
    base = data.get("base", {})
    _only_sections(base, f"{path}: [base]")
    measure = from_dict(MeasureSettings, data.get("measure", {}), f"{path}: [measure]")
    runs, searches = data.get("run", []), data.get("search", [])
    if not isinstance(runs, list) or not isinstance(searches, list) or not (runs or searches):
        raise ConfigError(f"{path}: a study needs at least one [[run]] or [[search]]")
    tables = [(f"[[run]] {i}", run) for i, run in enumerate(runs, start=1)]
    search_seed = data.get("search_seed", 0)
    for index, search in enumerate(searches, start=1):
        tables.extend(_search_runs(search, f"{path}: [[search]] {index}", search_seed + index))
    configurations, names = [], set()
    for label, run in tables:
        where = f"{path}: {label}"
        if not isinstance(run, dict) or not isinstance(run.get("name"), str):
            raise ConfigError(f"{where}: needs a name")
        if run["name"] in names:
            raise ConfigError(f"{where}: the name {run['name']!r} is used twice")
        names.add(run["name"])
        changes = {k: v for k, v in run.items() if k not in ("name", "paper", "family")}
        _only_sections(changes, where)
        merged = {section: {**base.get(section, {}), **changes.get(section, {})} for section in SPEC_SECTIONS}
        # a study compares minimum validation losses (Table I): its runs keep the epoch of the lowest
        # one, not the one whose answers move best (training.select_by), unless the spec says so
        merged["training"] = {"select_by": "loss", **merged["training"]}
        where = f"{where} ({run['name']})"
        config = from_dict(Config, merged, where)
        paper = run.get("paper")
        if paper is not None and not isinstance(paper, dict):
            raise ConfigError(f"{where}: paper must be a table")
        configurations.append(Configuration(run["name"], config, paper, changes, run.get("family")))
    corpora = {json.dumps(to_dict(c.config.corpus), sort_keys=True) for c in configurations}
    if len(corpora) > 1:
        raise ConfigError(
            f"{path}: every configuration must use the same corpus settings (one split for paired seeds); set them in [base.corpus]"
        )
    return StudySpec(
        str(data.get("name", path.stem)), str(data.get("description", "")), tuple(seeds), tuple(configurations), str(path), base, measure
    )


def _search_runs(search: Any, where: str, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """The ``trials`` configurations of one random-search family, as [[run]]-like tables."""
    from scipy.stats import qmc

    if not isinstance(search, dict) or not isinstance(search.get("name"), str):
        raise ConfigError(f"{where}: needs a name (the optimizer family)")
    trials, space = search.get("trials"), search.get("space")
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        raise ConfigError(f"{where} ({search['name']}): trials must be a positive integer")
    if not isinstance(space, dict) or not space:
        raise ConfigError(f'{where} ({search["name"]}): needs a space, e.g. space = {{ "training.lr" = {{ log_uniform = [1e-5, 1e-1] }} }}')
    fixed = {k: v for k, v in search.items() if k not in ("name", "trials", "space")}
    _only_sections(fixed, f"{where} ({search['name']})")
    dimensions = []
    for key, rule in space.items():
        section, _, name = key.partition(".")
        if section not in SPEC_SECTIONS or not name:
            raise ConfigError(
                f"{where} ({search['name']}): space key {key!r} must be section.key with a section of {', '.join(SPEC_SECTIONS)}"
            )
        if not isinstance(rule, dict) or len(rule) != 1 or next(iter(rule)) not in ("uniform", "log_uniform", "choice"):
            raise ConfigError(
                f"{where} ({search['name']}): {key} must be {{ uniform = [a, b] }}, {{ log_uniform = [a, b] }} or {{ choice = [...] }}"
            )
        kind, values = next(iter(rule.items()))
        if (
            not isinstance(values, list)
            or not values
            or (kind != "choice" and (len(values) != 2 or not all(isinstance(v, (int, float)) for v in values)))
        ):
            raise ConfigError(
                f"{where} ({search['name']}): {key}.{kind} needs {'a non-empty list' if kind == 'choice' else 'two numbers [low, high]'}"
            )
        if kind == "log_uniform" and min(values) <= 0:
            raise ConfigError(f"{where} ({search['name']}): {key}.log_uniform needs positive bounds")
        dimensions.append((section, name, kind, values))
    points = qmc.Halton(len(dimensions), scramble=True, seed=seed).random(trials)
    runs = []
    for trial, point in enumerate(points, start=1):
        table: dict[str, Any] = {"name": f"{search['name']} {trial:02d}", "family": search["name"]}
        table.update({section: dict(values) for section, values in fixed.items()})
        for (section, name, kind, values), u in zip(dimensions, point):
            if kind == "choice":
                value = values[min(int(u * len(values)), len(values) - 1)]
            elif kind == "uniform":
                value = float(values[0] + u * (values[1] - values[0]))
            else:
                value = float(math.exp(math.log(values[0]) + u * (math.log(values[1]) - math.log(values[0]))))
            table.setdefault(section, {})[name] = float(f"{value:.4g}") if isinstance(value, float) else value
        runs.append((f"[[search]] {search['name']} trial {trial}", table))
    return runs


def _only_sections(table: Any, where: str) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    other = set(table) - set(SPEC_SECTIONS)
    if other:
        raise ConfigError(f"{where}: can only change {', '.join(SPEC_SECTIONS)}; not {', '.join(sorted(other))}")
    for section, value in table.items():
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {section} must be a table of settings")


def run_key(config: Config, seed: int) -> str:
    """A hash of the settings that shape the run, the seed and the code version (16 hex digits)."""
    settings = {section: to_dict(getattr(config, section)) for section in SECTIONS}
    settings["training"]["seed"] = seed
    return fingerprint({"settings": settings, "version": __version__}, digits=16)


def with_seed(config: Config, seed: int) -> Config:
    """``config`` with ``training.seed`` set: the same seed gives every configuration the same
    initial weights and batch order (paired seeds)."""
    return replace(config, training=replace(config.training, seed=seed))
