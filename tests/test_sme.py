"""Intrinsic spectra from PySME: grid, normalisation, and the physics the RVS range must show.

Every star is synthesised once per session, with the network switched off. Stars whose test
does not concern hydrogen use the line list without the Paschen lines, which make up ~80% of
the run time of cool stars.
"""

from __future__ import annotations

import socket
from functools import cache

import numpy as np
import pysme
import pytest
from scipy.signal import argrelmin

from specgen.constants import C_KMS
from specgen.synth.atmospheres import compute_atmosphere
from specgen.synth.broaden import broaden, resample
from specgen.synth.linelist import load_linelist
from specgen.synth.sme import (
    code_versions,
    log_uniform_grid,
    synthesize_intrinsic,
)

# name: ((Teff K, log g, [M/H]), ξt km/s, with Paschen lines, velocity step km/s)
STARS = {
    "sun": ((5777.0, 4.44, 0.0), 1.0, True, 0.5),
    "metal-poor sun": ((5777.0, 4.44, -1.0), 1.0, False, 0.5),
    "metal-rich sun": ((5777.0, 4.44, 0.5), 1.0, False, 0.5),
    "A dwarf": ((10000.0, 4.0, 0.0), 2.0, True, 0.5),
    "B star without hydrogen": ((14000.0, 4.0, 0.0), 2.0, False, 0.5),
    "M giant, finely sampled": ((3600.0, 2.0, 0.0), 0.0, False, 0.1),
}
CA_TRIPLET = (8498.02, 8542.09, 8662.14)  # Å, air
PASCHEN = {12: 8750.476, 13: 8665.022, 14: 8598.396, 15: 8545.387, 16: 8502.487, 17: 8467.258,
           18: 8437.959, 19: 8413.322}  # n_upper: λ_air (Å)


def _refuse_network(*args, **kwargs):
    raise RuntimeError("specgen must synthesise offline")


@pytest.fixture(scope="session")
def spectrum():
    """``spectrum(name)`` → (wavelength, flux) of ``STARS[name]``, computed on first use."""
    full = load_linelist()
    without_hydrogen = full[full["species"] != "H 1"].reset_index(drop=True)

    @cache
    def synthesize(name: str) -> tuple[np.ndarray, np.ndarray]:
        labels, xi_t, hydrogen, step = STARS[name]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(socket.socket, "connect", _refuse_network)
            return synthesize_intrinsic(compute_atmosphere(*labels), xi_t, velocity_step=step,
                                        linelist=full if hydrogen else without_hydrogen)

    return synthesize


def equivalent_width(wave: np.ndarray, flux: np.ndarray, centre: float, half_width: float) -> float:
    """∫ (1 − F) dλ over centre ± half_width (Å)."""
    inside = np.abs(wave - centre) <= half_width
    return float(np.trapezoid(1.0 - flux[inside], wave[inside]))


def core_flux(wave: np.ndarray, flux: np.ndarray, centre: float, half_width: float = 0.3) -> float:
    return float(flux[np.abs(wave - centre) <= half_width].min())


def test_log_uniform_grid():
    grid = log_uniform_grid(8380.0, 8820.0, 0.5)
    assert grid[0] == 8380.0 and 8820.0 - 0.5 / C_KMS * 8820.0 < grid[-1] <= 8820.0
    np.testing.assert_allclose(np.diff(np.log(grid)) * C_KMS, 0.5, rtol=1e-9)
    with pytest.raises(ValueError):
        log_uniform_grid(8820.0, 8380.0, 0.5)


def test_rejects_bad_arguments():
    atmosphere = compute_atmosphere(5777.0, 4.44, 0.0)
    with pytest.raises(ValueError, match="xi_t"):
        synthesize_intrinsic(atmosphere, -1.0)
    with pytest.raises(ValueError, match="velocity_step"):
        synthesize_intrinsic(atmosphere, 1.0, velocity_step=0.0)


def test_code_versions():
    versions = code_versions()
    assert versions["pysme"] == pysme.__version__
    assert versions["sme_library"].startswith("SME Library version")
    assert versions["linelist"].startswith("vald_rvs_8350_8900.csv.gz sha256:")


@pytest.mark.sme
def test_output_grid_is_uniform_in_log_wavelength(spectrum):
    wave, flux = spectrum("sun")
    np.testing.assert_array_equal(wave, log_uniform_grid(8380.0, 8820.0, 0.5))
    assert np.all(np.diff(wave) > 0)
    assert flux.shape == wave.shape and np.all(np.isfinite(flux))


@pytest.mark.sme
def test_wavelengths_are_in_air(spectrum):
    """The Ca II 8542 core sits at its air wavelength; in vacuum it would be 2.35 Å redder."""
    wave, flux = spectrum("sun")
    near = np.abs(wave - 8542.09) < 3.0
    assert wave[near][np.argmin(flux[near])] == pytest.approx(8542.09, abs=0.03)


@pytest.mark.sme
def test_continuum_is_one(spectrum):
    """F/F_c: exactly 1 between the lines of a B star (no Paschen lines here: their wings
    overlap and depress the whole range by ≥ 2% at 10–15 kK), and reached in the Sun."""
    _, hot = spectrum("B star without hydrogen")
    assert np.percentile(hot, 99) == pytest.approx(1.0, abs=1e-4)
    assert hot.max() <= 1 + 1e-9
    _, sun = spectrum("sun")
    assert 0.995 < np.percentile(sun, 99) and sun.max() <= 1 + 1e-9


@pytest.mark.sme
def test_calcium_triplet_ordering_in_the_sun(spectrum):
    wave, flux = spectrum("sun")
    widths = [equivalent_width(wave, flux, centre, 10.0) for centre in CA_TRIPLET]  # Å
    cores = [core_flux(wave, flux, centre) for centre in CA_TRIPLET]
    assert widths[1] > widths[2] > widths[0] > 1.0  # 8542 > 8662 > 8498
    assert cores[1] < cores[2] < cores[0] < 0.3


@pytest.mark.sme
def test_lines_deepen_with_metallicity(spectrum):
    wave, poor = spectrum("metal-poor sun")
    _, rich = spectrum("metal-rich sun")
    in_lines = (poor < 0.99) | (rich < 0.99)
    assert np.mean(rich[in_lines] <= poor[in_lines]) > 0.999
    assert np.trapezoid(1 - rich, wave) > 2 * np.trapezoid(1 - poor, wave)


@pytest.mark.sme
def test_paschen_lines_dominate_a_hot_star(spectrum):
    wave, flux = spectrum("A dwarf")
    sun_wave, sun = spectrum("sun")
    for n in (12, 14):  # the two Paschen lines clear of the Ca II triplet
        assert np.interp(PASCHEN[n], wave, flux) < 0.75
        assert np.interp(PASCHEN[n], sun_wave, sun) > 0.95
    # At R = 1000 the narrow metal lines wash out; the broad minima are the Paschen lines.
    smooth = broaden(wave, flux, 0.0, 1000.0)
    inside = (wave > 8400) & (wave < 8800)
    minima = argrelmin(smooth[inside], order=50)[0]
    deepest = wave[inside][minima[np.argsort(smooth[inside][minima])[:4]]]
    assert deepest[0] == pytest.approx(PASCHEN[12], abs=1.0)
    assert all(min(abs(lam - p) for p in PASCHEN.values()) < 2.0 for lam in deepest)


@pytest.mark.sme
def test_default_velocity_step_resolves_the_narrowest_lines(spectrum):
    """A 3600 K giant with ξt = 0 has the narrowest lines of the grid (Doppler width ≈ 1 km/s).
    Sampled at 0.5 km/s instead of 0.1 km/s, its spectrum at R = 14,500 moves by < 5e-4
    (by 0.01 at 2 km/s: the comparison can tell)."""
    wave, flux = spectrum("M giant, finely sampled")
    target = wave[(wave > 8400) & (wave < 8800)][::10]

    def observed(step: int) -> np.ndarray:
        return resample(wave[::step], broaden(wave[::step], flux[::step], 0.0, 14500.0), target)

    reference = observed(1)
    assert np.abs(observed(5) - reference).max() < 5e-4
    assert np.abs(observed(20) - reference).max() > 3e-3
