"""fit_spectrum() and specgen fit --spectrum: observed spectra, velocities, the domain, the generator's own error
and the continuum, on the ci emulator."""

import contextlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from specgen.cli import main
from specgen.constants import C_KMS
from specgen.fit.chi2 import generator_error
from specgen.fit.observed import (
    EXAMPLE_SPECTRUM,
    ObservedSpectrum,
    SpectrumError,
    measure_velocity,
    read_spectra,
    read_spectrum,
)
from specgen.fit.stars import OutOfDomainWarning, degrade, fit_spectra, fit_spectrum
from specgen.grid import read_grid
from specgen.labels import LabelError
from specgen.runtime.profiles import get_profile
from specgen.synth.broaden import FWHM_TO_SIGMA

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

ROOT = Path(__file__).resolve().parents[1]
CI = get_profile("ci").data_dir(ROOT)
SIGMA = 0.01  # S/N 100
TEFF = 0


@pytest.fixture(scope="module")
def stars(central_rows):
    """Two ci training rows (SME spectra and their labels) away from the edges of the ranges."""
    return read_grid(CI / "train.h5").subset(central_rows[:2])


def write_ascii(path, wavelength, flux, seed, velocity=0.0):
    """``flux`` on ``wavelength`` (Å) seen at ``velocity`` (km/s) with S/N 100 noise, as a three-column
    ASCII file cut to 8450–8750 Å; returns the number of pixels written."""
    flux = flux + np.random.default_rng(seed).normal(0, SIGMA, flux.shape)
    keep = (wavelength > 8450) & (wavelength < 8750)
    np.savetxt(path, np.column_stack([wavelength * (1 + velocity / C_KMS), flux, np.full_like(flux, SIGMA)])[keep])
    return int(keep.sum())


def test_reads_a_file_masks_the_rest_and_holds_a_known_resolution(ci_emulator, stars, tmp_path):
    n_observed = write_ascii(tmp_path / "star.txt", ci_emulator.wavelength, stars.flux[0], seed=5)
    resolution = ci_emulator.label_names.index("resolution")
    spectrum = read_spectrum(tmp_path / "star.txt", resolution=stars.labels[0, resolution])
    star = fit_spectrum(spectrum, ci_emulator)
    fit = star.labels
    assert fit.fixed == ("resolution",) and fit.labels[0, resolution] == stars.labels[0, resolution]
    assert fit.n_pixels[0] == n_observed == np.isfinite(star.flux).sum()
    assert np.all(star.sigma[np.isfinite(star.flux)] == SIGMA) and star.velocity == 0  # σ of the noise
    free = fit_spectrum(spectrum, ci_emulator, fit_resolution=True, snr=50)
    assert free.labels.fixed == () and np.all(free.sigma[np.isfinite(free.flux)] == 1 / 50)  # snr replaces the file's σ


def test_degrading_an_echelle_spectrum_gives_the_target_resolution_and_its_noise():
    """An unresolved line seen at R = 30,000 (a Gaussian in ln λ of FWHM 1/R) on a grid uniform in λ,
    0.02 Å, degraded to R = 14,000: the line's FWHM is λ/14,000 (Gaussians in quadrature; a kernel of
    FWHM λ/14,000 would make it 11 % wider) and its equivalent width is kept; on pure noise the σ
    given is the scatter of the degraded flux; a missing pixel masks only the kernel's reach around it."""
    wavelength, centre, observed, target = np.arange(8400.0, 8800.0, 0.02), 8600.0, 30_000.0, 14_000.0
    depth = 0.5 * np.exp(-0.5 * (np.log(wavelength / centre) * observed / FWHM_TO_SIGMA) ** 2)
    line = degrade(ObservedSpectrum(wavelength, 1 - depth, np.full_like(depth, SIGMA), {"resolution": observed}), target)
    assert line.meta == {"resolution": target, "degraded_from": observed}
    kept = np.isfinite(line.flux)
    x, degraded = np.log(wavelength[kept] / centre), 1 - line.flux[kept]
    fwhm = np.sqrt(np.sum(degraded * x**2) / np.sum(degraded)) / FWHM_TO_SIGMA  # in ln λ, i.e. Δλ/λ
    assert fwhm == pytest.approx(1 / target, rel=0.01)
    assert np.trapezoid(degraded, wavelength[kept]) == pytest.approx(np.trapezoid(depth, wavelength), rel=1e-6)

    noise = np.random.default_rng(3).normal(0, SIGMA, wavelength.size)
    noise[10_000] = np.nan
    smooth = degrade(ObservedSpectrum(wavelength, 1 + noise, np.full_like(noise, SIGMA), {"resolution": observed}), target)
    near = np.abs(np.arange(wavelength.size) - 10_000) <= 100  # 2 Å; the kernel is cut at 5σ, 1.2 Å
    assert np.isnan(smooth.flux[10_000]) and np.isfinite(smooth.flux[~near][100:-100]).all()
    sigma = np.nanmedian(smooth.uncertainty)
    assert sigma < SIGMA / 5 and np.nanstd(smooth.flux) == pytest.approx(sigma, rel=0.1)
    with pytest.raises(ValueError, match="sharper than R = 40000"):
        degrade(line, 40_000.0)


def test_a_spectrum_sharper_than_the_model_is_degraded_and_held_at_its_top(ci_emulator, stars, tmp_path):
    """``resolution`` (``--resolution``) above the ci range: the spectrum is degraded to the range's top,
    which is held and reported; inside the range: held as given, the spectrum unconvolved; below: refused."""
    write_ascii(tmp_path / "echelle.txt", ci_emulator.wavelength, stars.flux[0], seed=9)
    spectrum, training = read_spectrum(tmp_path / "echelle.txt"), ci_emulator.label_ranges["resolution"]
    resolution = ci_emulator.label_names.index("resolution")
    sharp = fit_spectrum(spectrum, ci_emulator, resolution=30_000, n_starts=2)
    assert sharp.labels.fixed == ("resolution",) and sharp.labels.labels[0, resolution] == training.high
    assert sharp.table()["resolution"].item() == training.high and sharp.table()["degraded_from"].item() == 30_000
    degraded = degrade(read_spectrum(tmp_path / "echelle.txt", resolution=30_000), training.high)
    np.testing.assert_array_equal(sharp.flux, degraded.on_grid(ci_emulator.wavelength)[0])
    middle = 0.5 * (training.low + training.high)
    inside = fit_spectrum(spectrum, ci_emulator, resolution=middle, n_starts=2)
    assert inside.labels.labels[0, resolution] == middle and "degraded_from" not in inside.table()
    np.testing.assert_array_equal(inside.flux, spectrum.on_grid(ci_emulator.wavelength)[0])
    with pytest.raises(LabelError, match=f"R = 3000 is below the model's training range {training.low:g}"):
        fit_spectrum(spectrum, ci_emulator, resolution=3000)
    with pytest.raises(ValueError, match="not with fit_resolution"):
        fit_spectrum(spectrum, ci_emulator, resolution=30_000, fit_resolution=True)
    model = ci_emulator.save(tmp_path / "model")
    argv = ["fit", "--model", str(model), "--spectrum", str(tmp_path / "echelle.txt"), "--starts", "2",
            "--resolution", "30000", "--json", str(tmp_path / "echelle.json")]
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfDomainWarning)
        assert main(argv) == 0
    (fit,) = json.loads((tmp_path / "echelle.json").read_text())["fits"]
    assert fit["held"] == "resolution" and fit["resolution"] == training.high and fit["degraded_from"] == 30_000


def test_a_shifted_spectrum_gives_back_its_velocity(ci_emulator, stars, tmp_path):
    write_ascii(tmp_path / "moving.txt", ci_emulator.wavelength, stars.flux[1], seed=7, velocity=42.0)
    star = fit_spectrum(tmp_path / "moving.txt", ci_emulator, fit_velocity=True, n_starts=4)
    # within a pixel (3.5 km/s): the 48-spectrum ci generator's lines are not the SME spectrum's
    assert abs(star.velocity - 42.0) < 3.5 and 0 < star.velocity_err < 2
    assert star.table()["velocity"].item() == star.velocity


def test_stars_fitted_together_as_one_by_one(ci_emulator, stars, tmp_path):
    for k, velocity in enumerate((-30.0, 25.0)):
        write_ascii(tmp_path / f"star{k}.txt", ci_emulator.wavelength, stars.flux[k], seed=8 + k, velocity=velocity)
    spectra = read_spectra(tmp_path)
    together = fit_spectra(spectra, ci_emulator, fit_velocity=True, n_starts=2)
    alone = fit_spectrum(spectra[1], ci_emulator, fit_velocity=True, n_starts=2)
    # the same fit up to float32 round-off, which depends on the batch's size and moves a fit of an SME
    # spectrum through the ci generator's flat χ² by up to a few percent of a range
    assert together[1].velocity == pytest.approx(alone.velocity, abs=0.05)
    widths = np.array([ci_emulator.label_ranges[n].high - ci_emulator.label_ranges[n].low for n in ci_emulator.label_names])
    difference = np.abs(together[1].labels.labels - alone.labels.labels) / widths
    assert np.all(difference < 0.05), difference
    assert np.allclose([star.velocity for star in together], [-30, 25], atol=3.5)  # a pixel, as above
    assert list(pd.concat([star.table() for star in together])["spectrum"]) == ["star0.txt", "star1.txt"]


def radiative_transfer(grid, row, snr, seed, continuum=1.0):
    """Row ``row`` of ``grid`` (an SME spectrum of known labels) times ``continuum``, with seeded
    noise of S/N ``snr``, seen by an instrument of known resolution: the row's."""
    flux = grid.flux[row] * continuum + np.random.default_rng(seed).normal(0, 1 / snr, grid.flux.shape[1])
    resolution = grid.label("resolution")[row]
    return ObservedSpectrum(grid.wavelength, flux, np.full_like(flux, 1 / snr), {"resolution": resolution})


def pulls(fit, truth):
    """(fit − truth) / σ of the free labels, and their σ."""
    free = [j for j, name in enumerate(fit.label_names) if name not in fit.fixed]
    sigma = fit.uncertainties[0, free]
    return (fit.labels[0, free] - truth[free]) / sigma, sigma


def test_with_the_generator_error_the_labels_are_recovered_within_their_uncertainties(ci_emulator):
    """The issue's test, on 24 SME spectra of the ci training grid (two of each star) at S/N 50, resolution held as
    for a known instrument, σ_model (the generator's own error, :func:`generator_error`) measured on
    the ci test grid, other stars unseen in training. With it, the pulls (fit − truth)/σ are of
    order one and a good share of spectra have all labels within 3σ; with the noise alone in σ the
    pulls are many σ and almost none do: the ci generator's error (RMS 0.045) is twice the noise.

    A per-pixel error is not the whole truth: the generator's errors are correlated across pixels,
    so on this 48-spectrum generator every label is within 3σ for about 40 % of the spectra, not
    the 99 % a calibrated σ would give (measured on all 48: 38 %, median pulls 1.2–1.7; noise
    alone: 6 %, median pulls 2.9–4.3)."""
    train = read_grid(CI / "train.h5")
    rows = np.arange(0, len(train), 2)
    spectra = [radiative_transfer(train, row, snr=50, seed=row) for row in rows]
    model_error = generator_error(ci_emulator, CI / "test.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfDomainWarning)  # v sin i may end on its bound: its pull is checked too
        honest = fit_spectra(spectra, ci_emulator, model_error=model_error, n_starts=4)
        noise_only = fit_spectra(spectra, ci_emulator, n_starts=4)
    honest_pulls = np.array([pulls(fit.labels, train.labels[row])[0] for row, fit in zip(rows, honest)])
    noise_pulls = np.array([pulls(fit.labels, train.labels[row])[0] for row, fit in zip(rows, noise_only)])
    within = np.all(np.abs(honest_pulls) <= 3, axis=1).mean()
    typical, typical_noise_only = np.median(np.abs(honest_pulls), axis=0), np.median(np.abs(noise_pulls), axis=0)
    assert all(fit.labels.fixed == ("resolution",) for fit in honest)
    # In steps of 1/24 and from a generator trained anew on each machine: compared with the noise-only
    # fits, not with fixed shares (seed and CPU kernel moved `within` from 0.125 to 0.4).
    assert np.median(np.abs(honest_pulls)) < 0.75 * np.median(np.abs(noise_pulls)), (typical, typical_noise_only)
    assert within > np.all(np.abs(noise_pulls) <= 3, axis=1).mean()
    np.testing.assert_array_equal(honest[0].model_error, model_error)
    np.testing.assert_allclose(honest[0].sigma_total, np.hypot(1 / 50, model_error))


def test_a_tilted_continuum_is_corrected(ci_emulator):
    """An SME spectrum of the ci test grid (a star unseen in training, central labels) times
    1 + 0.03·x, x from −1 to 1 over 8400–8800 Å, at S/N 50: a degree-1 Legendre correction gives
    the tilt back and fits better than none."""
    test = read_grid(CI / "test.h5")
    ranges = [ci_emulator.label_ranges[name] for name in test.label_names]
    fraction = np.column_stack([(test.labels[:, j] - r.low) / (r.high - r.low) for j, r in enumerate(ranges)])
    row = int(np.flatnonzero(np.all((fraction > 0.1) & (fraction < 0.9), axis=1))[0])
    x = np.linspace(-1, 1, test.wavelength.size)
    spectrum = radiative_transfer(test, row, snr=50, seed=0, continuum=1 + 0.03 * x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfDomainWarning)
        plain = fit_spectrum(spectrum, ci_emulator)
        corrected = fit_spectrum(spectrum, ci_emulator, continuum_degree=1)
    row_table = corrected.table()
    assert plain.continuum is None and "continuum_c0" not in plain.table()
    assert row_table["continuum_c0"].item() == pytest.approx(1.0, abs=0.02)  # c0 also absorbs the generator's bias
    assert row_table["continuum_c1"].item() == pytest.approx(0.03, abs=0.005)
    assert [row_table["continuum_from"].item(), row_table["continuum_to"].item()] == test.wavelength[[0, -1]].tolist()
    assert row_table["chi2_dof"].item() < plain.table()["chi2_dof"].item()
    tilt = corrected.continuum(test.wavelength)
    np.testing.assert_allclose(corrected.best_flux, corrected.labels.best_flux[0] * tilt)
    with pytest.raises(ValueError, match="continuum_degree"):
        fit_spectrum(spectrum, ci_emulator, continuum_degree=-1)


def test_the_velocity_scan_refuses_a_minimum_on_its_edge(ci_emulator, stars):
    template = ci_emulator.generate(stars.labels[1])
    far = ObservedSpectrum(ci_emulator.wavelength * (1 + 300 / C_KMS), template, np.full_like(template, SIGMA))
    assert measure_velocity(far, ci_emulator.wavelength, template)[0] == pytest.approx(300, abs=0.5)
    with pytest.raises(SpectrumError, match="edge"):
        measure_velocity(far, ci_emulator.wavelength, template, limit=100)


def test_a_star_outside_the_domain_is_warned_about(ci_emulator, stars, tmp_path):
    hot = stars.labels[1].copy()
    hot[TEFF] = ci_emulator.label_ranges["teff"].high + 2000
    # no SME spectrum lies beyond the training range: the generator's own extrapolation stands in
    extrapolated = ci_emulator.generate(hot, allow_extrapolation=True).ravel()
    write_ascii(tmp_path / "hot.txt", ci_emulator.wavelength, extrapolated, seed=6)
    with pytest.warns(OutOfDomainWarning, match="teff"):
        star = fit_spectrum(tmp_path / "hot.txt", ci_emulator, n_starts=4)
    assert star.labels.at_bound[0, TEFF]
    np.savetxt(tmp_path / "bare.txt", np.loadtxt(tmp_path / "hot.txt")[:, :2])
    with pytest.raises(SpectrumError, match="no flux errors: pass snr"):
        fit_spectrum(tmp_path / "bare.txt", ci_emulator)


def test_cli_fits_the_gaia_example(ci_emulator, tmp_path):
    """Kepler-93 through a model of 48 ci spectra: the numbers mean little, the plumbing is checked."""
    model = ci_emulator.save(tmp_path / "model")
    argv = ["fit", "--model", str(model), "--spectrum", str(EXAMPLE_SPECTRUM), "--starts", "2",
            "--model-error", str(CI / "test.h5"), "--continuum", "1"]
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfDomainWarning)
        assert main([*argv, "--json", str(tmp_path / "k93.json"), "--plot", str(tmp_path / "k93.png")]) == 0
    report = json.loads((tmp_path / "k93.json").read_text())
    (observed,) = report["observed"]
    assert observed["source_id"] == 2052747119115620352 and observed["medium"] == "vacuum"
    assert report["fits"][0]["held"] == "resolution" and report["fits"][0]["resolution"] == 11500.0
    assert report["fits"][0]["n_pixels"] == 2393  # model pixels inside the Gaia range, less those next to its NaN
    assert report["model_error"] == str((CI / "test.h5").resolve()) and report["continuum_degree"] == 1
    assert {"continuum_c0", "continuum_c1", "continuum_from", "continuum_to"} <= set(report["fits"][0])
    assert (tmp_path / "k93.png").stat().st_size > 10_000
    for wrong in (["--spectra", "x.h5", "--plot", "x.png"], ["--spectra", "x.h5", "--continuum", "1"],
                  ["--spectrum", "x.csv", "--continuum", "-1"], ["--spectra", "x.h5", "--resolution", "30000"],
                  ["--spectrum", "x.csv", "--resolution", "30000", "--fit-resolution"]):
        with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
            main(["fit", "--model", str(model), *wrong])


def test_cli_holds_a_macroturbulence(ci_emulator, tmp_path):
    """--macroturbulence ZETA fits through the emulator convolved with Gray's profile: the labels are those of
    fit_spectrum through with_macroturbulence, and not those of the plain fit."""
    from specgen.fit.macroturbulence import with_macroturbulence

    model = ci_emulator.save(tmp_path / "model")
    argv = ["fit", "--model", str(model), "--spectrum", str(EXAMPLE_SPECTRUM), "--starts", "2", "--macroturbulence", "5"]
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfDomainWarning)
        assert main([*argv, "--json", str(tmp_path / "k93.json")]) == 0
        wrapped = fit_spectrum(EXAMPLE_SPECTRUM, with_macroturbulence(ci_emulator, 5.0), n_starts=2).table().iloc[0]
        plain = fit_spectrum(EXAMPLE_SPECTRUM, ci_emulator, n_starts=2).table().iloc[0]
    report = json.loads((tmp_path / "k93.json").read_text())
    assert report["macroturbulence"] == 5.0
    cli = np.array([report["fits"][0][name] for name in ci_emulator.label_names])
    np.testing.assert_allclose(cli, [wrapped[name] for name in ci_emulator.label_names], rtol=1e-4)
    assert not np.allclose(cli, [plain[name] for name in ci_emulator.label_names], rtol=1e-4)
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
        main(["fit", "--model", str(model), "--spectra", "x", "--out", "y.csv", "--macroturbulence", "3"])
