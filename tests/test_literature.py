"""Chapter 08's tables: a fit beside the literature (fit.literature) and the residuals in the Ca II
cores and elsewhere (fit.regions), on small synthetic arrays."""

import numpy as np
import pandas as pd
import pytest

from specgen.fit.chi2 import LabelFit
from specgen.fit.literature import literature_summary, literature_table
from specgen.fit.regions import (
    GENERATOR,
    RADIATIVE_TRANSFER,
    line_cores,
    residual_table,
    rms_by_region,
)

NAMES = ("teff", "logg", "vsini", "m_h", "xi_t", "resolution")
LITERATURE = {"teff": [5670, 80], "logg": [4.47, None], "m_h": [-0.18, 0.10]}


def one_star_fit() -> LabelFit:
    labels = np.array([[5702.4, 4.412, 3.0, -0.25, 1.2, 11500.0]])
    uncertainties = np.array([[41.0, 0.05, 1.1, 0.03, 0.2, 0.0]])
    at_bound = np.array([[False, True, False, False, False, False]])
    n = len(NAMES)
    return LabelFit(labels, uncertainties, np.zeros((1, n, n)), np.array([900.0]), np.array([1000]), at_bound,
                    np.array([False]), np.ones((1, 10)), NAMES, ("resolution",))


def test_literature_table_has_a_row_per_fitted_label_beside_the_literature():
    table = literature_table(one_star_fit(), LITERATURE)
    assert list(table.index) == list(NAMES)
    assert list(table.columns) == ["unit", "fitted", "±1σ", "on a range edge", "literature", "literature ±1σ",
                                   "fitted − literature"]
    assert table.loc["teff", "unit"] == "K" and table.loc["logg", "unit"] == "dex (cgs)"
    assert table.loc["teff", "fitted"] == 5702.4 and table.loc["teff", "±1σ"] == 41.0
    assert table.loc["teff", "fitted − literature"] == pytest.approx(32.4)
    assert table.loc["m_h", "fitted − literature"] == pytest.approx(-0.07)
    assert table.loc["logg", "literature ±1σ"] is None and table.loc["logg", "on a range edge"] is True
    assert table.loc["teff", "on a range edge"] is False
    assert table.loc["vsini", "literature"] is None and table.loc["vsini", "fitted − literature"] is None
    assert table.loc["resolution", "±1σ"] == "held"


def test_literature_summary_quotes_each_literature_label_with_its_error_when_known():
    best = dict(zip(NAMES, one_star_fit().labels[0]))
    assert literature_summary(best, LITERATURE) == (
        "teff = 5702 K (literature 5670 ± 80); logg = 4.41 dex (cgs) (literature 4.47); "
        "m_h = -0.25 dex (literature -0.18 ± 0.1)"
    )
    assert literature_summary({"teff": 5702.4}, LITERATURE) == "teff = 5702 K (literature 5670 ± 80)"  # fitted only


def test_line_cores_are_the_pixels_closer_than_the_half_width():
    wavelength = np.array([8496.5, 8496.53, 8497.0, 8499.5, 8499.6, 8542.09, 8600.0, 8663.6])
    assert line_cores(wavelength).tolist() == [False, True, True, True, False, True, False, True]
    assert line_cores(wavelength, lines=(8600.0,), half_width=0.1).tolist() == [False] * 6 + [True, False]


def test_rms_by_region_is_a_row_per_difference_and_a_column_per_region():
    regions = {"left": np.array([True, True, False, False]), "right": np.array([False, False, True, True])}
    table = rms_by_region({"a": np.array([3.0, -4.0, 1.0, 1.0]), "b": np.array([0.0, 0.0, 2.0, -2.0])}, regions)
    assert table.loc["a", "left"] == pytest.approx(np.sqrt(12.5)) and table.loc["a", "right"] == 1.0
    assert table.loc["b", "left"] == 0.0 and table.loc["b", "right"] == 2.0


def test_residual_table_separates_the_cores_leaves_out_missing_flux_and_compares_the_models():
    wavelength = 8490.0 + 0.1 * np.arange(1800)
    cores = line_cores(wavelength)
    flux = np.ones_like(wavelength)
    flux[np.flatnonzero(cores)[5]] = np.nan  # missing pixels count nowhere
    flux[np.flatnonzero(~cores)[5]] = np.nan
    generator = np.where(cores, 1 - 0.02, 1 - 0.01)
    radiative_transfer = np.full_like(wavelength, 1 - 0.03)
    sigma = np.linspace(0.005, 0.015, wavelength.size)
    table = residual_table(wavelength, flux, sigma, {GENERATOR: generator, RADIATIVE_TRANSFER: radiative_transfer})
    expected = pd.DataFrame(
        {"Ca II cores (±1.5 Å)": [0.02, 0.03, 0.01], "elsewhere": [0.01, 0.03, 0.02]},
        index=[f"observed − {GENERATOR}", f"observed − {RADIATIVE_TRANSFER}", "generator − radiative transfer"],
    )
    pd.testing.assert_frame_equal(table[expected.columns], expected, atol=1e-12, rtol=0)
    assert table["median σ of the observation"].iloc[0] == np.median(sigma[np.isfinite(flux)])
    alone = residual_table(wavelength, flux, sigma, {GENERATOR: generator}, half_width=0.5)
    assert list(alone.index) == [f"observed − {GENERATOR}"] and "Ca II cores (±0.5 Å)" in alone
