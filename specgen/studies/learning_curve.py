"""How the generator's accuracy grows with its training grid: learning curves read from a sweep.

:func:`learning_curve` turns a :func:`specgen.studies.sweeps.sweep_report` (plus, optionally, the book's
own generator) into one row per trained generator; :func:`fit_power_law` fits
MAE = a · N^(−α) to it, from which :meth:`PowerLaw.spectra_for` tells how many training spectra
an accuracy would take. The target that matters is the disagreement between two radiative-transfer
codes on the same star, :data:`specgen.constants.RT_CODE_DISAGREEMENT`: a generator more accurate than the physics
is consistent gains nothing, so a grid larger than the one reaching it is not worth computing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

COLUMNS = (
    "n_train_spectra", "n_train_stars", "latent", "gen_mae", "gen_mae_low", "gen_mae_high", "n_test_stars",
    "gen_p99_abs", "ae_mae", "mean_spectrum_mae", "val_gen_mae",
)


def learning_curve(report: pd.DataFrame, profile: str, extra: dict | None = None) -> pd.DataFrame:
    """One row per generator of ``profile`` in a sweep ``report`` (its finished points), plus
    ``extra`` (the same keys, e.g. the book's own generator), sorted by training spectra. Columns:
    :data:`COLUMNS` (MAE in continuum units; ``gen_mae_low`` and ``gen_mae_high`` its 68% interval over
    the ``n_test_stars`` test stars, NaN for generators evaluated before specgen measured it) and the
    point's name."""
    done = report[report["state"] == "done"]
    rows = [
        {"point": point["point"], "latent": point.get("latent")}
        | {key: point.get(f"{profile}.{key}") for key in COLUMNS if key != "latent"}
        for _, point in done.iterrows()
    ]
    table = pd.DataFrame(rows + ([extra] if extra else []), columns=["point", *COLUMNS])
    table["latent"] = table["latent"].fillna(10).astype(int)  # a point without the axis has the paper's 10
    return table.sort_values(["latent", "n_train_spectra"], ignore_index=True)


@dataclass(frozen=True)
class PowerLaw:
    """MAE = ``scale`` · N^(−``alpha``) for N training spectra, fitted to ``n_points`` sizes;
    ``alpha_error`` is the fit's standard error on ``alpha`` (at least its floating-point
    resolution; only that with two sizes, which leave no degree of freedom)."""

    alpha: float
    scale: float
    alpha_error: float = 0.0
    n_points: int = 2

    @property
    def falls(self) -> bool:
        """Whether the MAE falls with N by more than the fit's own noise."""
        return self.alpha > self.alpha_error

    def mae(self, n_spectra: float | np.ndarray) -> float | np.ndarray:
        return self.scale * np.asarray(n_spectra, dtype=float) ** -self.alpha

    def spectra_for(self, mae: float) -> float:
        """Training spectra needed to reach ``mae`` (inf where the curve does not fall, or where
        the answer exceeds the largest float)."""
        if not mae > 0:
            raise ValueError(f"a target MAE must be positive, got {mae}")
        if not self.falls:
            return float("inf")
        with np.errstate(over="ignore"):
            return float(np.exp(np.log(self.scale / mae) / self.alpha))


def fit_power_law(n_spectra: np.ndarray, mae: np.ndarray) -> PowerLaw:
    """Least squares in log–log through at least two (N, MAE > 0) points, with the standard error
    of the slope (zero degrees of freedom for two points: then only its rounding floor)."""
    n_spectra, mae = np.asarray(n_spectra, dtype=float), np.asarray(mae, dtype=float)
    if n_spectra.size < 2 or np.unique(n_spectra).size < 2:
        raise ValueError("a power law needs at least two different training sizes")
    if not (np.all(n_spectra > 0) and np.all(mae > 0)):
        raise ValueError("a power law needs positive training sizes and MAEs")
    x, y = np.log(n_spectra), np.log(mae)
    (slope, intercept), residuals = np.polyfit(x, y, 1, full=True)[:2]
    spread = np.sum((x - x.mean()) ** 2)
    dof = x.size - 2
    noise = np.sqrt(residuals[0] / dof / spread) if dof > 0 and residuals.size else 0.0
    rounding = 64 * np.finfo(float).eps * np.max(np.abs(y)) / np.sqrt(spread)
    return PowerLaw(float(-slope), float(np.exp(intercept)), float(max(noise, rounding)), int(x.size))
