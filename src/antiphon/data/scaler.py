"""Min-max scaling of features to [0, 1] (paper eq. 5), fitted on the training split only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from antiphon.errors import DataError


@dataclass(frozen=True)
class MinMaxScaler:
    """x' = (x - min) / (max - min) per feature; ``minimum`` and ``maximum`` are (F,) in instrument units.

    A feature that was constant in the training data (max == min) maps to 0; values outside the
    fitted range are clipped to [0, 1] by :meth:`transform`, which also counts them.
    """

    names: tuple[str, ...]
    minimum: np.ndarray
    maximum: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray, names: Sequence[str]) -> MinMaxScaler:
        """Fit on ``values`` (N, F), N >= 1."""
        if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] != len(names):
            raise DataError(f"cannot fit a scaler on values of shape {values.shape} for {len(names)} features")
        return cls(tuple(names), values.min(axis=0).astype(np.float64), values.max(axis=0).astype(np.float64))

    @property
    def span(self) -> np.ndarray:
        span = self.maximum - self.minimum
        return np.where(span > 0, span, 1.0)

    def transform(self, values: np.ndarray) -> tuple[np.ndarray, int]:
        """Scale (..., F) to [0, 1]; returns the scaled values and how many were clipped."""
        scaled = (values - self.minimum) / self.span
        scaled = np.where(self.maximum > self.minimum, scaled, 0.0)
        outside = int(np.count_nonzero((scaled < 0.0) | (scaled > 1.0)))
        return np.clip(scaled, 0.0, 1.0), outside

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        """Back to instrument units: (..., F) -> (..., F)."""
        return self.minimum + np.asarray(scaled) * (self.maximum - self.minimum)

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "minimum": self.minimum.tolist(), "maximum": self.maximum.tolist()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str) -> MinMaxScaler:
        try:
            names = tuple(str(n) for n in data["names"])
            minimum = np.asarray(data["minimum"], dtype=np.float64)
            maximum = np.asarray(data["maximum"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{source}: scaler must have names, minimum and maximum ({exc})") from exc
        if not (len(names) == minimum.size == maximum.size) or not np.all(np.isfinite(minimum) & np.isfinite(maximum)):
            raise DataError(f"{source}: scaler lists {len(names)} names, {minimum.size} minima, {maximum.size} maxima")
        return cls(names, minimum, maximum)
