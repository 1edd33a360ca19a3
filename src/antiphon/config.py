"""Typed, frozen configuration: the only place where defaults live.

A configuration is a tree of frozen dataclasses. It is read from a TOML file whose tables match
the sections (``[analysis]``, ...) and then patched by ``--set section.key=value`` overrides.
Unknown keys, wrong types and out-of-range values raise :class:`~antiphon.errors.ConfigError`
naming the file (or the ``--set`` argument) and the key.

Each field carries its documentation in ``metadata["doc"]``; ``antiphon config`` prints the
effective configuration with those docs as comments.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from antiphon.errors import ConfigError

Convention = Literal["peeters", "librosa"]
ChromaMethod = Literal["ircam", "librosa"]


def _doc(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class AnalysisConfig:
    """How audio becomes analysis frames (design §2.2).

    Fields left as ``None`` take the value of the chosen ``convention``; :meth:`resolved` fills
    them in. ``peeters`` follows Peeters 2004 / IrcamDescriptor; ``librosa`` reproduces librosa
    0.11's choices so that the two can be cross-checked.
    """

    convention: Convention = _doc("peeters", "descriptor conventions: 'peeters' (IrcamDescriptor) or 'librosa'")
    n_fft: int = _doc(2048, "window and FFT length in samples")
    hop_length: int = _doc(512, "samples between successive frames")
    window: str | None = _doc(None, "window name for scipy.signal.get_window (peeters: blackman, librosa: hann)")
    center: bool | None = _doc(
        None, "frames centred on t*hop with zero padding (librosa) instead of starting at t*hop (peeters)"
    )
    rolloff_threshold: float | None = _doc(None, "fraction of the total reached at the rolloff (peeters: 0.95, librosa: 0.85)")
    rolloff_power: float | None = _doc(
        None, "exponent of the magnitude summed for the rolloff: 2 = energy (peeters), 1 = magnitude (librosa)"
    )
    chroma_method: ChromaMethod | None = _doc(
        None, "'ircam': semitone bands between chroma_fmin_hz and chroma_fmax_hz; 'librosa': Ellis filter bank"
    )
    chroma_fmin_hz: float = _doc(77.0, "lowest frequency counted in chroma (ircam method), Hz")
    chroma_fmax_hz: float = _doc(1500.0, "highest frequency counted in chroma (ircam method), Hz")
    tuning_hz: float = _doc(440.0, "frequency of A4, Hz")
    chroma_center_octave: float = _doc(5.0, "centre octave of the librosa chroma weighting")
    chroma_octave_width: float = _doc(2.0, "Gaussian octave width of the librosa chroma weighting (0 = flat)")
    fft_precision: Literal["single", "double"] = _doc(
        "single", "FFT arithmetic: 'single' (as IrcamDescriptor/PiPo; about twice as fast) or 'double'"
    )
    variation_first_frame: Literal["zero", "next"] = _doc(
        "zero", "SpectralVariation of the first frame: 0, or the second frame's value (Timbre Toolbox); streaming needs 'zero'"
    )
    silence_dbfs: float = _doc(-120.0, "frames whose windowed RMS is below this level (dB full scale) count as silent")
    yin_downsampling: int = _doc(2, "Yin works on the frame averaged down by 2**yin_downsampling (pipo.yin: 2)")
    yin_threshold: float = _doc(0.68, "Yin threshold on the cumulative mean normalised difference (pipo.yin: 0.68)")
    yin_min_freq_hz: float = _doc(0.0, "lowest Yin frequency, Hz; 0 = as low as the frame allows")

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str]] = [
            (self.n_fft >= 16, f"n_fft must be >= 16, got {self.n_fft}"),
            (self.hop_length >= 1, f"hop_length must be >= 1, got {self.hop_length}"),
            (
                self.rolloff_threshold is None or 0.0 < self.rolloff_threshold <= 1.0,
                f"rolloff_threshold must be in (0, 1], got {self.rolloff_threshold}",
            ),
            (self.rolloff_power is None or self.rolloff_power > 0, f"rolloff_power must be > 0, got {self.rolloff_power}"),
            (self.chroma_fmin_hz > 0, f"chroma_fmin_hz must be > 0, got {self.chroma_fmin_hz}"),
            (
                self.chroma_fmax_hz > self.chroma_fmin_hz,
                f"chroma_fmax_hz ({self.chroma_fmax_hz}) must be above chroma_fmin_hz ({self.chroma_fmin_hz})",
            ),
            (self.tuning_hz > 0, f"tuning_hz must be > 0, got {self.tuning_hz}"),
            (self.chroma_octave_width >= 0, f"chroma_octave_width must be >= 0, got {self.chroma_octave_width}"),
            (0 <= self.yin_downsampling <= 3, f"yin_downsampling must be 0, 1, 2 or 3, got {self.yin_downsampling}"),
            (0.0 < self.yin_threshold <= 1.0, f"yin_threshold must be in (0, 1], got {self.yin_threshold}"),
            (self.yin_min_freq_hz >= 0, f"yin_min_freq_hz must be >= 0, got {self.yin_min_freq_hz}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"analysis.{message}")

    def resolved(self) -> AnalysisConfig:
        """This config with every ``None`` replaced by its convention's value."""
        defaults = _CONVENTION_DEFAULTS[self.convention]
        filled = {name: value for name, value in defaults.items() if getattr(self, name) is None}
        return dataclasses.replace(self, **filled)


_CONVENTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "peeters": {
        "window": "blackman",
        "center": False,
        "rolloff_threshold": 0.95,
        "rolloff_power": 2.0,
        "chroma_method": "ircam",
    },
    "librosa": {
        "window": "hann",
        "center": True,
        "rolloff_threshold": 0.85,
        "rolloff_power": 1.0,
        "chroma_method": "librosa",
    },
}


@dataclass(frozen=True)
class Config:
    """The whole configuration: one section per stage of the pipeline."""

    analysis: AnalysisConfig = field(default_factory=AnalysisConfig, metadata={"doc": "audio analysis"})


# --------------------------------------------------------------------------------------------
# Loading


def load_config(path: Path | str | None = None, overrides: Sequence[str] = ()) -> Config:
    """Read ``path`` (TOML; ``None`` = all defaults) and apply ``section.key=value`` overrides.

    Override values are parsed as TOML values (``8``, ``0.5``, ``true``, ``"hann"``); a value that
    is not valid TOML is taken as a string, so ``--set analysis.window=hann`` works unquoted.

    Raises:
        ConfigError: unreadable file, invalid TOML, unknown key, wrong type or bad value; the
            message starts with the file name or the ``--set`` argument.
    """
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config file ({exc.strerror or exc})") from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    config = _build(Config, data, source, prefix="")
    for item in overrides:
        config = apply_override(config, item)
    return config


def apply_override(config: Config, item: str) -> Config:
    """Return ``config`` with one ``section.key=value`` override applied (see :func:`load_config`)."""
    source = f"--set {item}"
    key, sep, raw_value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"{source}: expected section.key=value")
    try:
        value = tomllib.loads(f"v = {raw_value}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw_value.strip()
    data = to_dict(config)
    parts = key.split(".")
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node or not isinstance(node[part], dict):
            raise ConfigError(f"{source}: unknown section '{'.'.join(parts[: depth + 1])}'")
        node = node[part]
    node[parts[-1]] = value
    return _build(Config, data, source, prefix="")


def to_dict(config: Any) -> dict[str, Any]:
    """The config as nested plain dicts (``None`` fields omitted, as TOML has no null)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            out[f.name] = to_dict(value)
        elif value is not None:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def from_dict(cls: type, data: Mapping[str, Any], source: str) -> Any:
    """Build dataclass ``cls`` from plain data, with the same checks as the TOML loader."""
    return _build(cls, data, source, prefix="")


def to_toml(config: Any, with_docs: bool = True) -> str:
    """The config as TOML text; with ``with_docs`` each key is preceded by its doc as a comment."""
    lines: list[str] = []
    _emit_toml(config, "", lines, with_docs)
    return "\n".join(lines).lstrip("\n") + "\n"


def _emit_toml(config: Any, prefix: str, lines: list[str], with_docs: bool) -> None:
    import tomli_w

    scalars = [f for f in dataclasses.fields(config) if not dataclasses.is_dataclass(getattr(config, f.name))]
    tables = [f for f in dataclasses.fields(config) if dataclasses.is_dataclass(getattr(config, f.name))]
    if prefix and scalars:
        lines.append(f"\n[{prefix}]")
    for f in scalars:
        value = getattr(config, f.name)
        if with_docs and f.metadata.get("doc"):
            lines.append(f"# {f.metadata['doc']}")
        if value is None:
            lines.append(f"# {f.name} = (convention default)")
        else:
            lines.append(tomli_w.dumps({f.name: list(value) if isinstance(value, tuple) else value}).strip())
    for f in tables:
        _emit_toml(getattr(config, f.name), f"{prefix}.{f.name}" if prefix else f.name, lines, with_docs)


def _build(cls: type, data: Mapping[str, Any], source: str, prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: '{prefix.rstrip('.') or 'config'}' must be a table, got {_type_name(data)}")
    hints = get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise ConfigError(
                f"{source}: unknown key '{prefix}{key}' (known in this section: {', '.join(sorted(known))})"
            )
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = _build(tp, value, source, prefix=f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(tp, value, f"{prefix}{name}", source)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from exc


def _coerce(tp: Any, value: Any, key: str, source: str) -> Any:
    ok, converted = _try_coerce(tp, value)
    if not ok:
        raise ConfigError(f"{source}: {key} must be {_describe(tp)}, got {_type_name(value)} {value!r}")
    return converted


def _try_coerce(tp: Any, value: Any) -> tuple[bool, Any]:
    origin = get_origin(tp)
    if origin is Literal:
        return (value in get_args(tp) and not isinstance(value, bool)), value
    if origin in (Union, types.UnionType):
        for arg in get_args(tp):
            if arg is type(None):
                continue
            ok, converted = _try_coerce(arg, value)
            if ok:
                return True, converted
        return False, None
    if origin is tuple:
        item_tp = get_args(tp)[0]
        if not isinstance(value, list | tuple):
            return False, None
        items = [_try_coerce(item_tp, v) for v in value]
        return all(ok for ok, _ in items), tuple(v for _, v in items)
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        return (isinstance(value, int) and not isinstance(value, bool)), value
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return True, float(value)
        return False, None
    if tp is str:
        return isinstance(value, str), value
    return False, None


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"a list of {_describe(get_args(tp)[0])}"
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    return names.get(tp, str(tp))


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "table"}
    return names.get(type(value), type(value).__name__)
