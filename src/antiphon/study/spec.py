"""Study specifications: a base configuration, a list of variations, and seeds.

A spec is TOML: ``name``, ``description``, ``seeds``, a ``[base]`` table holding any of the
``[model]``, ``[training]`` and ``[corpus]`` sections, and one ``[[run]]`` table per
configuration with a ``name``, the sections it changes, and optionally ``paper`` (the published
result to set beside ours). The bundled default is the paper's Table I (``specs/table1.toml``).

Each (configuration, seed) is one run, keyed by a hash of its resolved settings, the seed and
the code version, so a re-run of the same study finds what is already done.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from antiphon import __version__
from antiphon.config import Config, from_dict, to_dict
from antiphon.errors import ConfigError

SECTIONS = ("model", "training", "corpus")


@dataclass(frozen=True)
class Configuration:
    """One row of a study: its name, its full settings, and the published result if any."""

    name: str
    config: Config
    paper: dict[str, Any] | None = None


@dataclass(frozen=True)
class StudySpec:
    name: str
    description: str
    seeds: tuple[int, ...]
    configurations: tuple[Configuration, ...]
    source: str

    def runs(self) -> list[tuple[Configuration, int, str]]:
        """Every (configuration, seed, run key), configuration-major."""
        return [(c, seed, run_key(c.config, seed)) for c in self.configurations for seed in self.seeds]


def default_spec_path() -> Path:
    """The bundled Table I spec."""
    return Path(str(resources.files("antiphon.study") / "specs" / "table1.toml"))


def load_spec(path: Path | str | None = None) -> StudySpec:
    """Read a spec (the bundled Table I when ``path`` is None).

    Raises:
        ConfigError: unreadable TOML, a missing field, or a bad setting; the message names the
            file and the run.
    """
    path = Path(path) if path is not None else default_spec_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the study spec ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    unknown = set(data) - {"name", "description", "seeds", "base", "run"}
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} (known: name, description, seeds, base, run)")
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ConfigError(f"{path}: seeds must be a non-empty list of integers")
    base = data.get("base", {})
    _only_sections(base, f"{path}: [base]")
    runs = data.get("run", [])
    if not isinstance(runs, list) or not runs:
        raise ConfigError(f"{path}: a study needs at least one [[run]]")
    configurations, names = [], set()
    for index, run in enumerate(runs, start=1):
        where = f"{path}: [[run]] {index}"
        if not isinstance(run, dict) or not isinstance(run.get("name"), str):
            raise ConfigError(f"{where}: needs a name")
        if run["name"] in names:
            raise ConfigError(f"{where}: the name {run['name']!r} is used twice")
        names.add(run["name"])
        changes = {k: v for k, v in run.items() if k not in ("name", "paper")}
        _only_sections(changes, where)
        merged = {section: {**base.get(section, {}), **changes.get(section, {})} for section in SECTIONS}
        where = f"{where} ({run['name']})"
        config = from_dict(Config, merged, where)
        paper = run.get("paper")
        if paper is not None and not isinstance(paper, dict):
            raise ConfigError(f"{where}: paper must be a table")
        configurations.append(Configuration(run["name"], config, paper))
    return StudySpec(str(data.get("name", path.stem)), str(data.get("description", "")), tuple(seeds), tuple(configurations), str(path))


def _only_sections(table: Any, where: str) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    other = set(table) - set(SECTIONS)
    if other:
        raise ConfigError(f"{where}: can only change {', '.join(SECTIONS)}; not {', '.join(sorted(other))}")
    for section, value in table.items():
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {section} must be a table of settings")


def run_key(config: Config, seed: int) -> str:
    """A hash of the settings that shape the run, the seed and the code version (16 hex digits)."""
    settings = {section: to_dict(getattr(config, section)) for section in SECTIONS}
    settings["training"]["seed"] = seed
    text = json.dumps({"settings": settings, "version": __version__}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def with_seed(config: Config, seed: int) -> Config:
    """``config`` with ``training.seed`` set: the same seed gives every configuration the same
    initial weights and batch order (paired seeds)."""
    return replace(config, training=replace(config.training, seed=seed))
