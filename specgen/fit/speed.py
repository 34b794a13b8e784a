"""How fast label fits run: one timed :func:`specgen.fit.chi2.fit_labels` call, related to the
machine's float32 GEMM rate measured in the same process (machines and busy moments differ; the
ratio compares them)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from specgen.fit.chi2 import N_STARTS, LabelFit, fit_labels
from specgen.model.emulator import Emulator
from specgen.runtime.timing import gemm_gflops


@dataclass(frozen=True)
class FitTiming:
    """A timed fit: its result, its wall-clock ``seconds`` and the ``gemm_gflops`` (GFLOP/s) measured
    just before it."""

    fit: LabelFit
    seconds: float
    gemm_gflops: float

    @property
    def stars_per_second(self) -> float:
        return len(self.fit.labels) / self.seconds

    @property
    def stars_per_second_per_gemm_tflops(self) -> float:
        """Stars per second per TFLOP/s of the machine's GEMM rate."""
        return self.stars_per_second / (self.gemm_gflops / 1e3)


def time_fit(
    flux: np.ndarray,
    emulator: Emulator,
    sigma: float | np.ndarray,
    *,
    fixed: Mapping[str, float] | None = None,
    n_starts: int = N_STARTS,
    seed: int = 0,
) -> FitTiming:
    """Time one :func:`fit_labels` call on ``flux`` ``(n_stars, n_pix)`` of noise ``sigma`` (continuum
    units), after a call on its first two rows that traces the networks and makes the start library."""
    first_sigma = sigma if np.ndim(sigma) < 2 else sigma[:2]
    fit_labels(flux[:2], emulator, first_sigma, fixed=fixed, n_starts=n_starts, seed=seed)
    gemm = gemm_gflops()
    start = time.perf_counter()
    fit = fit_labels(flux, emulator, sigma, fixed=fixed, n_starts=n_starts, seed=seed)
    return FitTiming(fit, time.perf_counter() - start, gemm)
