"""Reading observed spectra: formats, units, vacuum to air, resampling and bad files."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from specgen.constants import RVS_WAVELENGTH
from specgen.fit.observed import (
    EXAMPLE_SPECTRUM,
    ObservedSpectrum,
    SpectrumError,
    air_to_vacuum,
    read_spectra,
    read_spectrum,
    vacuum_to_air,
)

#: Ca II infrared triplet, vacuum and air wavelengths (Å; NIST ASD).
CA_II_VACUUM = [8500.36, 8544.44, 8664.52]
CA_II_AIR = [8498.02, 8542.09, 8662.14]


def test_vacuum_to_air_on_the_calcium_triplet():
    np.testing.assert_allclose(vacuum_to_air(CA_II_VACUUM), CA_II_AIR, atol=0.01)


def test_air_to_vacuum_inverts_vacuum_to_air():
    """The round trip from 2000 Å (the formula's limit, where n varies fastest) to 3 µm, to < 1e-6 Å:
    one fixed-point step, λ_air · n(λ_air), would be 1e-4 Å off at 2000 Å and 1e-5 Å at 8500 Å."""
    vacuum = np.linspace(2000.0, 30_000.0, 100_001)
    np.testing.assert_allclose(air_to_vacuum(vacuum_to_air(vacuum)), vacuum, rtol=0, atol=1e-6)
    np.testing.assert_allclose(air_to_vacuum(CA_II_AIR), CA_II_VACUUM, atol=0.01)


@pytest.fixture(scope="module")
def gaia():
    return read_spectrum(EXAMPLE_SPECTRUM)


def test_gaia_csv_in_angstrom_and_air(gaia):
    assert len(gaia.wavelength) == 2401 and np.all(np.diff(gaia.wavelength) > 0)
    assert gaia.wavelength[0] == pytest.approx(vacuum_to_air(8460.0))  # 846.00 nm in vacuum
    assert gaia.meta["medium"] == "vacuum" and gaia.meta["source_id"] == 2052747119115620352
    assert gaia.resolution == 11500 and gaia.meta["instrument"] == "Gaia RVS"
    assert np.isnan(gaia.flux).sum() == 7 and np.nanmedian(gaia.uncertainty) == pytest.approx(0.01, rel=0.5)
    deepest = gaia.wavelength[np.nanargmin(gaia.flux)]
    assert min(abs(deepest - line) for line in CA_II_AIR) < 0.3  # the strongest line is a Ca II line, in air


def gaia_table(gaia, source_id=7):
    vacuum_nm = np.linspace(846.0, 870.0, len(gaia.flux))
    table = Table({"source_id": np.full(len(vacuum_nm), source_id), "wavelength": vacuum_nm,
                   "flux": gaia.flux, "flux_error": gaia.uncertainty})
    table["wavelength"].unit = "nm"
    return table


@pytest.mark.parametrize("suffix, fmt", [(".fits", "fits"), (".xml", "votable"), (".ecsv", "ascii.ecsv")])
def test_gaia_fits_votable_and_ecsv_read_like_the_csv(gaia, tmp_path, suffix, fmt):
    path = tmp_path / f"rvs{suffix}"
    gaia_table(gaia).write(path, format=fmt)
    again = read_spectrum(path)
    np.testing.assert_allclose(again.wavelength, gaia.wavelength, rtol=1e-9)
    np.testing.assert_array_equal(again.flux, gaia.flux)
    assert again.meta["source_id"] == 7 and again.resolution == 11500


def test_a_file_of_several_sources_needs_a_source_id(gaia, tmp_path):
    from astropy.table import vstack

    path = tmp_path / "two.fits"
    vstack([gaia_table(gaia, 1), gaia_table(gaia, 2)]).write(path)
    with pytest.raises(SpectrumError, match="2 sources"):
        read_spectrum(path)
    assert read_spectrum(path, source_id=2).meta["source_id"] == 2
    with pytest.raises(SpectrumError, match="no source 3"):
        read_spectrum(path, source_id=3)
    assert [spectrum.meta["source_id"] for spectrum in read_spectra(path)] == [1, 2]


def test_read_spectra_takes_every_spectrum_of_a_folder(gaia, tmp_path):
    from astropy.table import vstack

    with pytest.raises(SpectrumError, match="no spectrum files"):
        read_spectra(tmp_path)
    vstack([gaia_table(gaia, 1), gaia_table(gaia, 2)]).write(tmp_path / "b_two.fits")
    np.savetxt(tmp_path / "a_star.txt", [[8500.0, 1.0], [8500.1, 0.9], [8500.2, 1.0]])
    (tmp_path / "notes.md").write_text("not a spectrum")
    spectra = read_spectra(tmp_path, resolution=20000)
    assert [spectrum.meta.get("source_id") for spectrum in spectra] == [None, 1, 2]
    assert {spectrum.resolution for spectrum in spectra} == {20000}


@pytest.mark.parametrize("columns", [2, 3])
def test_ascii_columns_in_angstrom_and_air(tmp_path, columns):
    wavelength = np.arange(8450.0, 8700.0, 0.05)
    rows = np.column_stack([wavelength, 1 - 0.1 * np.sin(wavelength), np.full_like(wavelength, 0.02)])[:, :columns]
    np.savetxt(tmp_path / "star.txt", rows[::-1], header="wavelength flux error")  # any order
    np.savetxt(tmp_path / "star.csv", rows, delimiter=",")
    for name in ("star.txt", "star.csv"):
        spectrum = read_spectrum(tmp_path / name)
        np.testing.assert_allclose(spectrum.wavelength, wavelength)
        assert spectrum.meta["medium"] == "air" and spectrum.resolution is None
        assert np.isnan(spectrum.uncertainty).all() == (columns == 2)
    assert read_spectrum(tmp_path / "star.txt", medium="vacuum").wavelength[0] == pytest.approx(vacuum_to_air(8450.0))


def test_fits_image_with_a_linear_wcs(tmp_path):
    flux = np.linspace(0.9, 1.0, 500)
    header = fits.Header({"CRVAL1": 845.0, "CDELT1": 0.05, "CRPIX1": 1, "CUNIT1": "nm", "CTYPE1": "WAVE",
                          "OBJECT": "HD 1"})
    fits.PrimaryHDU(flux, header).writeto(tmp_path / "star.fits")
    spectrum = read_spectrum(tmp_path / "star.fits", resolution=20000)
    assert spectrum.wavelength[0] == pytest.approx(vacuum_to_air(8450.0))
    assert spectrum.meta["medium"] == "vacuum" and spectrum.meta["object"] == "HD 1"
    assert spectrum.resolution == 20000
    np.testing.assert_array_equal(spectrum.flux, flux)


def test_on_grid_interpolates_and_masks(gaia):
    flux, sigma = gaia.on_grid(RVS_WAVELENGTH)
    outside = (RVS_WAVELENGTH < gaia.wavelength[0]) | (RVS_WAVELENGTH > gaia.wavelength[-1])
    assert np.isnan(flux[outside]).all() and np.isinf(sigma[outside]).all()
    # every model pixel next to an observed NaN is masked, and no other inside pixel
    bad = gaia.wavelength[np.isnan(gaia.flux)]
    near_bad = np.array([np.any(np.abs(w - bad) < 0.1) for w in RVS_WAVELENGTH])
    np.testing.assert_array_equal(np.isnan(flux), outside | near_bad)
    # linear in wavelength between the observed pixels
    good = np.flatnonzero(~np.isnan(flux))[100]
    np.testing.assert_allclose(flux[good], np.interp(RVS_WAVELENGTH[good], gaia.wavelength, gaia.flux))
    assert np.all(sigma[~np.isnan(flux)] > 0)


def test_resampled_sigma_gives_one_per_pixel_in_chi2_at_any_sub_pixel_offset():
    """White noise of known σ (varying along the spectrum) on 20,002 pixels, resampled onto 20,000
    pixels of the same step offset by 0, 1/4 and 1/2 pixel: the noise against the σ returned has
    χ² per pixel 1 at every offset, within its statistical error (0.01; 0.012 at 1/2 pixel, neighbours
    correlating by 1/2). σ interpolated linearly, as before, gives (1 − w)² + w²: 0.625 and 0.5."""
    step, n = 0.02, 20_002
    sigma = 0.01 * (1.5 + 0.5 * np.sin(np.arange(n) / 500))
    wavelength = 8400 + step * np.arange(n)
    noise = ObservedSpectrum(wavelength, np.random.default_rng(0).normal(0, sigma), sigma)
    for offset in (0.0, 0.25, 0.5):
        flux, resampled = noise.on_grid(wavelength[:-2] + offset * step)
        assert np.isfinite(flux).all()
        assert np.mean((flux / resampled) ** 2) == pytest.approx(1, abs=0.04)
        linear = (1 - offset) * sigma[:-2] + offset * sigma[1:-1]
        assert np.mean((flux / linear) ** 2) == pytest.approx((1 - offset) ** 2 + offset**2, abs=0.04)
    np.testing.assert_array_equal(noise.on_grid(wavelength)[1], sigma)  # on the observed pixels: their σ


def test_bad_files_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_spectrum(tmp_path / "none.csv")
    (tmp_path / "noflux.csv").write_text("wavelength,counts\n8500,1\n8501,2\n")
    with pytest.raises(SpectrumError, match="no column flux"):
        read_spectrum(tmp_path / "noflux.csv")
    np.savetxt(tmp_path / "four.txt", np.ones((5, 4)))
    with pytest.raises(SpectrumError, match="2 or 3 numeric columns"):
        read_spectrum(tmp_path / "four.txt")
    np.savetxt(tmp_path / "repeat.txt", [[8500, 1], [8500, 1], [8501, 1]])
    with pytest.raises(SpectrumError, match="repeated"):
        read_spectrum(tmp_path / "repeat.txt")
    (tmp_path / "garbage.fits").write_bytes(b"not a fits file at all")
    with pytest.raises(SpectrumError, match="garbage.fits"):
        read_spectrum(tmp_path / "garbage.fits")
    with pytest.raises(SpectrumError, match="medium"):
        read_spectrum(tmp_path / "repeat.txt", medium="water")
