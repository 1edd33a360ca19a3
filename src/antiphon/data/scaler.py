"""Min-max scaling of features to [0, 1] (paper eq. 5), fitted on the training split only; optionally
on a log scale for the features measured in Hz (``corpus.log_frequency_knee_hz``) and for the chroma
(``corpus.log_chroma_knee``); and the rules the training rows obey, which make an answer's frame one a
spectrum could have: identities between features, Pearson's bound between the spectral moments, and the range of
the sounding frames."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from antiphon.errors import DataError
from antiphon.feature_names import BETWEEN_FRAMES, CHROMA_NAMES, UNITS

#: (target, source) pairs that may be exact affine functions of each other: Peeters' slope is a regression of the
#: sum-normalised spectrum on frequency, (K sum f p - sum f sum p) / (K sum f^2 - (sum f)^2) with sum p = 1, so it is
#: affine in the centroid sum f p (docs/features.md); whether the analyser that made a corpus computes it so is checked
#: on its rows (:func:`find_identities`)
AFFINE_CANDIDATES: tuple[tuple[str, str], ...] = (("SpectralSlope", "SpectralCentroid"),)
#: how exact an identity must be: its residuals' RMS at most this fraction of the target's training range
IDENTITY_TOLERANCE = 1e-6
#: the kinds of rule in :attr:`MinMaxScaler.derivation_plan`'s first column
PLAN_KINDS = {"range": 0.0, "affine": 1.0, "moment": 2.0}


@dataclass(frozen=True)
class AffineIdentity:
    """``target`` = ``gain`` * ``source`` + ``offset`` on every frame that is not silent, in instrument units; a
    silent frame (every feature 0) has both at 0."""

    target: str
    source: str
    gain: float
    offset: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        sign = "-" if self.offset < 0 else "+"
        return f"{self.target} = {self.gain:.6g} * {self.source} {sign} {abs(self.offset):.6g}"


def find_identities(values: np.ndarray, names: Sequence[str]) -> tuple[AffineIdentity, ...]:
    """The :data:`AFFINE_CANDIDATES` that ``values`` (N, F), training rows in instrument units, obey to
    :data:`IDENTITY_TOLERANCE` on their non-silent rows (at least 3 of them, the source not constant)."""
    found = []
    for target, source in AFFINE_CANDIDATES:
        if target not in names or source not in names:
            continue
        y, x = values[:, list(names).index(target)], values[:, list(names).index(source)]
        sounding = x > 0
        if np.count_nonzero(sounding) < 3 or np.ptp(x[sounding]) == 0:
            continue
        gain, offset = np.polyfit(x[sounding], y[sounding], 1)
        residual = y[sounding] - (gain * x[sounding] + offset)
        if np.sqrt(np.mean(residual**2)) <= IDENTITY_TOLERANCE * max(np.ptp(y), np.finfo(float).tiny):
            found.append(AffineIdentity(target, source, float(gain), float(offset)))
    return tuple(found)


#: (kurtosis, skewness) pairs that Pearson's inequality may bind: the moments of any distribution have kurtosis >=
#: 1 + skewness^2 (not excess kurtosis, whose bound is skewness^2 - 2: whether a corpus's analyser computes it so is
#: checked on its rows, :func:`find_bounds`)
MOMENT_CANDIDATES: tuple[tuple[str, str], ...] = (("SpectralKurtosis", "SpectralSkewness"),)


@dataclass(frozen=True)
class MomentBound:
    """``kurtosis`` >= 1 + ``skewness``^2 on every frame that is not silent, in instrument units (Pearson)."""

    kurtosis: str
    skewness: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.kurtosis} >= 1 + {self.skewness}^2"


def _sounding(values: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Which rows of ``values`` (N, F) have a spectrum that sounds: a feature not 0 other than those that compare a
    frame with the one before (:data:`~antiphon.feature_names.BETWEEN_FRAMES`; where the sound stops, the spectral
    variation is 1 and every other feature 0)."""
    within = [j for j, name in enumerate(names) if name not in BETWEEN_FRAMES] or list(range(len(names)))
    return np.any(values[:, within] != 0, axis=1)


def find_bounds(values: np.ndarray, names: Sequence[str]) -> tuple[MomentBound, ...]:
    """The :data:`MOMENT_CANDIDATES` that every sounding row of ``values`` (N, F, instrument units) obeys (at least 3
    of them)."""
    found = []
    sounding = _sounding(values, names)
    for kurtosis, skewness in MOMENT_CANDIDATES:
        if kurtosis not in names or skewness not in names or np.count_nonzero(sounding) < 3:
            continue
        k, g = values[sounding, list(names).index(kurtosis)], values[sounding, list(names).index(skewness)]
        if np.all(k >= 1.0 + g**2):
            found.append(MomentBound(kurtosis, skewness))
    return tuple(found)


def sounding_range(values: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per feature (F,), the least and greatest value of the rows of ``values`` (N, F) whose spectrum sounds; the range
    of all rows where none does."""
    sounding = _sounding(values, names)
    rows = values[sounding] if np.any(sounding) else values
    return rows.min(axis=0), rows.max(axis=0)


def scale_knees(names: Sequence[str], knee_hz: float | None = None, chroma_knee: float | None = None) -> np.ndarray:
    """Per feature (F,), the knee of its log scale in its own units, 0 for a linear one: ``knee_hz`` for the
    features measured in Hz (centroid, spread, rolloff, ...), ``chroma_knee`` for the chroma classes (a share
    of the strongest class, 1); None leaves those features linear."""

    def knee(name: str) -> float:
        if UNITS.get(name) == "Hz" and knee_hz is not None:
            return knee_hz
        if name in CHROMA_NAMES and chroma_knee is not None:
            return chroma_knee
        return 0.0

    return np.array([knee(n) for n in names], dtype=np.float64)


def _knee_setting(name: str) -> str:
    """The setting that gives feature ``name`` its knee (for errors)."""
    return "corpus.log_chroma_knee" if name in CHROMA_NAMES else "corpus.log_frequency_knee_hz"


@dataclass(frozen=True)
class MinMaxScaler:
    """x' = (w(x) - w(min)) / (w(max) - w(min)) per feature; ``minimum`` and ``maximum`` are (F,) in instrument units.

    w is the identity, or, for a feature with a knee k > 0 in ``knees`` (F,, in the feature's units), the log
    scale w(x) = ln(1 + x / k): ln 2 per octave well above k for a frequency, the log of a class's ratio to the
    strongest for the chroma (whose strongest is 1), nearly linear below k, and 0 at 0, so a silent frame
    (every feature 0) stays one. The bounds stay in instrument units either way, so
    everything that reads them (the chroma's range, whether silence is in range, the corpus summary)
    means the same with a warp or without.

    A feature that was constant in the training data (max == min) maps to 0; values outside the
    fitted range are clipped to [0, 1] by :meth:`transform`, which also counts them.

    ``identities`` are the :class:`AffineIdentity` the training rows obey, ``bounds`` the :class:`MomentBound`, and
    ``sounding_minimum`` / ``sounding_maximum`` (F,) the range of the training rows that are not silent (None: the
    whole range, for a scaler written before). The model still has every feature as a dimension; the engine
    makes every frame it plays and feeds back obey them (:attr:`derivation_plan`). Drawn freely, the slope of
    the demo model's answers missed its centroid's by half the slope's own spread (docs/model.md, round 11), and
    a third of its sounding frames had a kurtosis under 1 + skewness^2, a fifth a kurtosis of 0 (round 12).
    """

    names: tuple[str, ...]
    minimum: np.ndarray
    maximum: np.ndarray
    knees: np.ndarray | None = field(default=None)
    identities: tuple[AffineIdentity, ...] = ()
    bounds: tuple[MomentBound, ...] = ()
    sounding_minimum: np.ndarray | None = field(default=None)
    sounding_maximum: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        if self.knees is not None and not np.any(self.knees > 0):
            object.__setattr__(self, "knees", None)  # no feature warped: the linear scaler, one way to say it

    @classmethod
    def fit(cls, values: np.ndarray, names: Sequence[str], knees: np.ndarray | None = None) -> MinMaxScaler:
        """Fit on ``values`` (N, F), N >= 1; ``knees`` (F,, :func:`scale_knees`) put features on a log scale."""
        if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] != len(names):
            raise DataError(f"cannot fit a scaler on values of shape {values.shape} for {len(names)} features")
        values = np.asarray(values, dtype=np.float64)
        minimum, maximum = values.min(axis=0), values.max(axis=0)
        knees = np.zeros(len(names)) if knees is None else np.asarray(knees, dtype=np.float64)
        below = np.flatnonzero((knees > 0) & (minimum <= -knees))
        if below.size:
            i = int(below[0])
            unit = f" {UNITS[names[i]]}" if UNITS.get(names[i]) else ""
            raise DataError(
                f"{names[i]} reaches {minimum[i]:g}{unit} in training: {_knee_setting(names[i])} = {knees[i]:g} needs values above "
                f"-{knees[i]:g}{unit}"
            )
        return cls(tuple(names), minimum, maximum, knees).with_rules(values)

    def with_rules(self, values: np.ndarray) -> MinMaxScaler:
        """This scaler with the rules that ``values`` (N, F), its training rows in instrument units, obey: identities,
        bounds and the sounding range (for a corpus written before they were looked for, as well as :meth:`fit`)."""
        low, high = sounding_range(values, self.names)
        return dataclasses.replace(
            self, identities=find_identities(values, self.names), bounds=find_bounds(values, self.names), sounding_minimum=low,
            sounding_maximum=high,
        )  # fmt: skip

    @property
    def warped(self) -> bool:
        """Whether any feature is on a log scale."""
        return self.knees is not None

    @property
    def linear(self) -> MinMaxScaler:
        """The same bounds on a linear scale: evaluation's yardstick, the same for a model with a warp or without."""
        return dataclasses.replace(self, knees=None) if self.warped else self

    def warp(self, values: np.ndarray) -> np.ndarray:
        """Instrument units (..., F) -> the scale the min-max runs on (a new array; the identity without knees)."""
        out = np.array(values, dtype=np.float64)
        if self.knees is not None:
            on = self.knees > 0
            out[..., on] = np.log1p(out[..., on] / self.knees[on])
        return out

    def unwarp(self, values: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`warp` (a new array)."""
        out = np.array(values, dtype=np.float64)
        if self.knees is not None:
            on = self.knees > 0
            out[..., on] = np.expm1(out[..., on]) * self.knees[on]
        return out

    @cached_property
    def derivation_plan(self) -> np.ndarray:
        """The rules as the engine's compiled step applies them (:func:`~antiphon.model.engine_kernels.derive`), in
        order, (n, 9) float64, one row each: its kind, the source's and target's columns, gain, offset, the target's
        bounds (instrument units), and the source's and target's knees (0: linear). Kinds (:data:`PLAN_KINDS`):
        a sounding range (the target's, where narrower than its whole range), an affine identity (target = gain *
        source + offset within the target's training range), a moment bound (target >= offset + gain * source^2)."""
        knees = np.zeros(len(self.names)) if self.knees is None else self.knees
        rows = []
        if self.sounding_minimum is not None and self.sounding_maximum is not None:
            for j in np.flatnonzero((self.sounding_minimum > self.minimum) | (self.sounding_maximum < self.maximum)):
                rows.append((PLAN_KINDS["range"], j, j, 1.0, 0.0, self.sounding_minimum[j], self.sounding_maximum[j], knees[j], knees[j]))
        for identity in self.identities:
            i, j = self.names.index(identity.source), self.names.index(identity.target)
            rows.append((PLAN_KINDS["affine"], i, j, identity.gain, identity.offset, self.minimum[j], self.maximum[j], knees[i], knees[j]))
        for bound in self.bounds:
            i, j = self.names.index(bound.skewness), self.names.index(bound.kurtosis)
            rows.append((PLAN_KINDS["moment"], i, j, 1.0, 1.0, self.minimum[j], self.maximum[j], knees[i], knees[j]))
        return np.array(rows, dtype=np.float64).reshape(len(rows), 9)

    @property
    def warped_minimum(self) -> np.ndarray:
        """:attr:`minimum` on the scale the min-max runs on (F,)."""
        return self.warp(self.minimum)

    @property
    def warped_maximum(self) -> np.ndarray:
        return self.warp(self.maximum)

    @property
    def span(self) -> np.ndarray:
        """w(max) - w(min), 1 where that is 0 (F,)."""
        span = self.warped_maximum - self.warped_minimum
        return np.where(span > 0, span, 1.0)

    def transform(self, values: np.ndarray) -> tuple[np.ndarray, int]:
        """Scale (..., F) to [0, 1]; returns the scaled values and how many were clipped."""
        low = self.warped_minimum
        scaled = (self.warp(values) - low) / self.span
        scaled = np.where(self.maximum > self.minimum, scaled, 0.0)
        outside = int(np.count_nonzero((scaled < 0.0) | (scaled > 1.0)))
        return np.clip(scaled, 0.0, 1.0), outside

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        """Back to instrument units: (..., F) -> (..., F)."""
        low, high = self.warped_minimum, self.warped_maximum
        return self.unwarp(low + np.asarray(scaled) * (high - low))

    def to_dict(self) -> dict[str, Any]:
        out = {"names": list(self.names), "minimum": self.minimum.tolist(), "maximum": self.maximum.tolist()}
        if self.knees is not None:
            out["knees"] = self.knees.tolist()
        out["identities"] = [identity.to_dict() for identity in self.identities]
        out["bounds"] = [bound.to_dict() for bound in self.bounds]
        if self.sounding_minimum is not None and self.sounding_maximum is not None:
            out["sounding_minimum"], out["sounding_maximum"] = self.sounding_minimum.tolist(), self.sounding_maximum.tolist()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str) -> MinMaxScaler:
        """From :meth:`to_dict`'s dict. One written before the log scales has no ``knees`` (linear; one from the first
        log-frequency scale has them as ``knee_hz``); one written before identities, bounds and the sounding range were
        looked for has none (:func:`~antiphon.data.corpus.load_corpus` looks for them on the corpus's training rows; a
        model folder's scaler keeps none, and its answers are drawn as before)."""
        try:
            names = tuple(str(n) for n in data["names"])
            minimum = np.asarray(data["minimum"], dtype=np.float64)
            maximum = np.asarray(data["maximum"], dtype=np.float64)
            written = data.get("knees", data.get("knee_hz"))
            knees = None if written is None else np.asarray(written, dtype=np.float64)
            identities = tuple(
                AffineIdentity(str(i["target"]), str(i["source"]), float(i["gain"]), float(i["offset"])) for i in data.get("identities", ())
            )
            bounds = tuple(MomentBound(str(b["kurtosis"]), str(b["skewness"])) for b in data.get("bounds", ()))
            sounding = [
                None if data.get(k) is None else np.asarray(data[k], dtype=np.float64) for k in ("sounding_minimum", "sounding_maximum")
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                f"{source}: scaler must have names, minimum and maximum, identities of target, source, gain and offset, and "
                f"bounds of kurtosis and skewness ({exc})"
            ) from exc
        if not (len(names) == minimum.size == maximum.size) or not np.all(np.isfinite(minimum) & np.isfinite(maximum)):
            raise DataError(f"{source}: scaler lists {len(names)} names, {minimum.size} minima, {maximum.size} maxima")
        if knees is not None and (knees.shape != minimum.shape or not np.all(np.isfinite(knees) & (knees >= 0))):
            raise DataError(f"{source}: scaler's knees must be {len(names)} values >= 0 (0: a linear scale)")
        for i in identities:
            if i.target not in names or i.source not in names or not math.isfinite(i.gain) or not math.isfinite(i.offset):
                raise DataError(f"{source}: the scaler's identity {i} names a feature it does not have, or is not finite")
        for b in bounds:
            if b.kurtosis not in names or b.skewness not in names:
                raise DataError(f"{source}: the scaler's bound {b} names a feature it does not have")
        for key, values in zip(("sounding_minimum", "sounding_maximum"), sounding):
            if values is not None and (values.shape != minimum.shape or not np.all(np.isfinite(values))):
                raise DataError(f"{source}: scaler's {key} must be {len(names)} finite values")
        return cls(names, minimum, maximum, knees, identities, bounds, *sounding)
