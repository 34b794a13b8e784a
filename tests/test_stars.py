"""fit_spectrum() and specgen fit --spectrum: observed spectra, velocities and the domain, on the ci emulator."""

import contextlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from specgen.cli import main
from specgen.grid import read_grid
from specgen.observed import (
    C_KM_S,
    EXAMPLE_SPECTRUM,
    ObservedSpectrum,
    SpectrumError,
    measure_velocity,
    read_spectra,
    read_spectrum,
)
from specgen.profiles import get_profile
from specgen.stars import OutOfDomainWarning, fit_spectra, fit_spectrum

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

ROOT = Path(__file__).resolve().parents[1]
SIGMA = 0.01  # S/N 100
TEFF = 0


@pytest.fixture(scope="module")
def truth(central_rows):
    """Labels of two ci training spectra away from the edges of the ranges."""
    return read_grid(get_profile("ci").data_dir(ROOT) / "train.h5").labels[central_rows[:2]]


def write_ascii(path, emulator, labels, seed, velocity=0.0, extrapolate=False):
    """An emulated spectrum seen at ``velocity`` (km/s) with S/N 100 noise, as a three-column ASCII
    file cut to 8450–8750 Å; returns the number of pixels written."""
    flux = emulator.generate(labels, allow_extrapolation=extrapolate).ravel()
    flux = flux + np.random.default_rng(seed).normal(0, SIGMA, flux.shape)
    keep = (emulator.wavelength > 8450) & (emulator.wavelength < 8750)
    observed = emulator.wavelength * (1 + velocity / C_KM_S)
    np.savetxt(path, np.column_stack([observed, flux, np.full_like(flux, SIGMA)])[keep])
    return int(keep.sum())


def test_reads_a_file_masks_the_rest_and_holds_a_known_resolution(ci_emulator, truth, tmp_path):
    n_observed = write_ascii(tmp_path / "star.txt", ci_emulator, truth[0], seed=5)
    resolution = ci_emulator.label_names.index("resolution")
    spectrum = read_spectrum(tmp_path / "star.txt", resolution=truth[0, resolution])
    star = fit_spectrum(spectrum, ci_emulator)
    fit = star.labels
    assert fit.fixed == ("resolution",) and fit.labels[0, resolution] == truth[0, resolution]
    assert fit.n_pixels[0] == n_observed == np.isfinite(star.flux).sum()
    assert np.all(star.sigma[np.isfinite(star.flux)] == SIGMA) and star.velocity == 0
    assert abs(fit.labels[0, TEFF] - truth[0, TEFF]) < 3 * fit.uncertainties[0, TEFF]
    free = fit_spectrum(spectrum, ci_emulator, fit_resolution=True, snr=50).labels
    assert free.fixed == () and free.uncertainties[0, TEFF] > fit.uncertainties[0, TEFF]  # σ = 1/50 > 1/100


def test_a_shifted_spectrum_gives_back_its_velocity(ci_emulator, truth, tmp_path):
    write_ascii(tmp_path / "moving.txt", ci_emulator, truth[1], seed=7, velocity=42.0)
    star = fit_spectrum(tmp_path / "moving.txt", ci_emulator, fit_velocity=True, n_starts=4)
    assert abs(star.velocity - 42.0) < max(1.0, 3 * star.velocity_err) and 0 < star.velocity_err < 2
    assert star.table()["velocity"].item() == star.velocity
    assert abs(star.labels.labels[0, TEFF] - truth[1, TEFF]) < 3 * star.labels.uncertainties[0, TEFF]


def test_stars_fitted_together_as_one_by_one(ci_emulator, truth, tmp_path):
    for k, velocity in enumerate((-30.0, 25.0)):
        write_ascii(tmp_path / f"star{k}.txt", ci_emulator, truth[k], seed=8 + k, velocity=velocity)
    spectra = read_spectra(tmp_path)
    together = fit_spectra(spectra, ci_emulator, fit_velocity=True, n_starts=2)
    alone = fit_spectrum(spectra[1], ci_emulator, fit_velocity=True, n_starts=2)
    # the same fit up to float32 round-off, which depends on the batch's size
    assert together[1].velocity == pytest.approx(alone.velocity, abs=0.01)
    np.testing.assert_allclose(together[1].labels.labels, alone.labels.labels, rtol=1e-3)
    assert [round(star.velocity) for star in together] == [-30, 25]
    assert list(pd.concat([star.table() for star in together])["spectrum"]) == ["star0.txt", "star1.txt"]


def test_the_velocity_scan_refuses_a_minimum_on_its_edge(ci_emulator, truth):
    template = ci_emulator.generate(truth[1])
    far = ObservedSpectrum(ci_emulator.wavelength * (1 + 300 / C_KM_S), template, np.full_like(template, SIGMA))
    assert measure_velocity(far, ci_emulator.wavelength, template)[0] == pytest.approx(300, abs=0.5)
    with pytest.raises(SpectrumError, match="edge"):
        measure_velocity(far, ci_emulator.wavelength, template, limit=100)


def test_a_star_outside_the_domain_is_warned_about(ci_emulator, truth, tmp_path):
    hot = truth[1].copy()
    hot[TEFF] = ci_emulator.label_ranges["teff"].high + 2000
    write_ascii(tmp_path / "hot.txt", ci_emulator, hot, seed=6, extrapolate=True)
    with pytest.warns(OutOfDomainWarning, match="teff"):
        star = fit_spectrum(tmp_path / "hot.txt", ci_emulator, n_starts=4)
    assert star.labels.at_bound[0, TEFF]
    np.savetxt(tmp_path / "bare.txt", np.loadtxt(tmp_path / "hot.txt")[:, :2])
    with pytest.raises(SpectrumError, match="no flux errors: pass snr"):
        fit_spectrum(tmp_path / "bare.txt", ci_emulator)


def test_cli_fits_the_gaia_example(ci_emulator, tmp_path):
    """Kepler-93 through a model of 48 ci spectra: the numbers mean little, the plumbing is checked."""
    model = ci_emulator.save(tmp_path / "model")
    argv = ["fit", "--model", str(model), "--spectrum", str(EXAMPLE_SPECTRUM), "--starts", "2"]
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfDomainWarning)
        assert main([*argv, "--json", str(tmp_path / "k93.json"), "--plot", str(tmp_path / "k93.png")]) == 0
    report = json.loads((tmp_path / "k93.json").read_text())
    (observed,) = report["observed"]
    assert observed["source_id"] == 2052747119115620352 and observed["medium"] == "vacuum"
    assert report["fits"][0]["held"] == "resolution" and report["fits"][0]["resolution"] == 11500.0
    assert report["fits"][0]["n_pixels"] == 2393  # model pixels inside the Gaia range, less those next to its NaN
    assert (tmp_path / "k93.png").stat().st_size > 10_000
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
        main(["fit", "--model", str(model), "--spectra", "x.h5", "--plot", "x.png"])
