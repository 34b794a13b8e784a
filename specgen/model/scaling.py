"""Label and flux scalings between physical units and network units, kept with the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class Scaler:
    """Per-column affine scaling into network units: ``(x − offset) / scale``."""

    offset: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, kind: Literal["none", "minmax", "standardise"]) -> Scaler:
        """Fit on the rows of ``x``; a constant column keeps scale 1 (it is only shifted)."""
        x = np.asarray(x, dtype=np.float64)
        if kind == "none":
            offset, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
        elif kind == "minmax":
            offset, scale = x.min(axis=0), np.ptp(x, axis=0)
        elif kind == "standardise":
            offset, scale = x.mean(axis=0), x.std(axis=0)
        else:
            raise ValueError(f"unknown scaling {kind!r}; choose 'none', 'minmax' or 'standardise'")
        return cls(offset, np.where(scale > 0, scale, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Physical units → network units (float32)."""
        return ((x - self.offset) / self.scale).astype(np.float32)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """Network units → physical units (float32)."""
        return (y * self.scale + self.offset).astype(np.float32)
