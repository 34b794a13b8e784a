"""Where a fitted model and a star disagree: the cores of the Ca II triplet against the rest of the
spectrum, and the RMS of observed − model in each (chapter 08).

    models = {GENERATOR: star.best_flux, RADIATIVE_TRANSFER: synthesis.flux[0]}
    residual_table(emulator.wavelength, star.flux, star.sigma, models)
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from specgen.constants import CA_II_TRIPLET

#: Half-width (Å) of the line cores of :func:`residual_table`.
CORE_HALF_WIDTH = 1.5
#: The names of the two models of a fit in :func:`residual_table` (and chapter 08's figure).
GENERATOR = "generator at the fit"
RADIATIVE_TRANSFER = "radiative transfer (SME) at the fit"


def line_cores(
    wavelength: np.ndarray, lines: Sequence[float] = CA_II_TRIPLET, half_width: float = CORE_HALF_WIDTH
) -> np.ndarray:
    """Boolean mask of the pixels of ``wavelength`` (Å) closer than ``half_width`` (Å) to one of ``lines`` (Å)."""
    wavelength = np.asarray(wavelength)
    cores = np.zeros(wavelength.shape, dtype=bool)
    for line in lines:
        cores |= np.abs(wavelength - line) < half_width
    return cores


def rms_by_region(differences: Mapping[str, np.ndarray], regions: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Root-mean-square of each of ``differences`` (arrays, flux units) over the pixels of each of
    ``regions`` (boolean masks of the same shape): one row per difference, one column per region."""
    return pd.DataFrame(
        {what: {region: np.sqrt(np.mean(diff[mask] ** 2)) for region, mask in regions.items()}
         for what, diff in differences.items()}
    ).T


def residual_table(
    wavelength: np.ndarray,
    flux: np.ndarray,
    sigma: np.ndarray,
    models: Mapping[str, np.ndarray],
    half_width: float = CORE_HALF_WIDTH,
) -> pd.DataFrame:
    """RMS (continuum units) of observed ``flux`` − each of ``models`` (rows ``observed − <name>``), and
    of :data:`GENERATOR` − :data:`RADIATIVE_TRANSFER` when both are given, in the Ca II cores (±``half_width``
    Å, :func:`line_cores`) and elsewhere, over the pixels where ``flux`` is finite; all on ``wavelength``
    (Å). The last column is the median ``sigma`` of the observation over those pixels."""
    usable = np.isfinite(flux)
    cores = line_cores(wavelength, CA_II_TRIPLET, half_width)
    regions = {f"Ca II cores (±{half_width:g} Å)": usable & cores, "elsewhere": usable & ~cores}
    differences = {f"observed − {name}": flux - model for name, model in models.items()}
    if GENERATOR in models and RADIATIVE_TRANSFER in models:
        differences["generator − radiative transfer"] = models[GENERATOR] - models[RADIATIVE_TRANSFER]
    table = rms_by_region(differences, regions)
    table["median σ of the observation"] = np.median(sigma[usable])
    return table
