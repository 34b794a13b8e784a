"""Radial–tangential macroturbulence: the profile, the broadening, and fits through a wrapped emulator."""

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import fftconvolve
from scipy.special import erf

from specgen.constants import C_KMS, RVS_WAVELENGTH
from specgen.fit.macroturbulence import (
    MacroturbulentEmulator,
    doyle2014_macroturbulence,
    macroturbulence_operator,
    with_macroturbulence,
)
from specgen.synth.broaden import (
    broaden,
    decimation,
    gaussian_kernel,
    intrinsic_wavelength,
    macroturbulence_kernel,
    observe,
    observe_prebroadened,
    resample,
    rotation_kernel,
    velocity_step,
)

ROOT = Path(__file__).resolve().parents[1]
DV = 0.1  # km/s


def rt_velocities(zeta: float, n: int, seed: int = 0) -> np.ndarray:
    """Line-of-sight velocities (km/s) drawn from Gray's radial–tangential model, independently of the
    kernel's closed form: points of the visible disc weighted by their projected area (μ = cos θ with
    density 2μ), half of them moving radially and half tangentially, with speeds of density
    ∝ exp(−(v/ζ)²), i.e. normal with σ = ζ/√2, seen at cos θ and sin θ."""
    rng = np.random.default_rng(seed)
    mu = np.sqrt(rng.random(n))
    projection = np.where(rng.random(n) < 0.5, mu, np.sqrt(1 - mu**2))
    return zeta * projection * rng.standard_normal(n) / np.sqrt(2)


@pytest.fixture(scope="module")
def lines():
    """An intrinsic spectrum of 400 random lines (1.5–4 km/s wide) on a grid of 0.2 km/s in ln λ."""
    rng = np.random.default_rng(1)
    wave = 8380.0 * np.exp(np.arange(0.0, np.log(8820.0 / 8380.0), 0.2 / C_KMS))
    centre, depth, width = rng.uniform(8390, 8810, 400), rng.uniform(0.02, 0.8, 400), rng.uniform(1.5, 4, 400)
    v = (wave[:, None] / centre - 1) * C_KMS
    return wave, np.exp(-np.sum(depth * np.exp(-0.5 * (v / width) ** 2), axis=1))


@pytest.mark.parametrize("zeta", [1.0, 3.7, 10.0])
def test_kernel_is_gray_radial_tangential_profile(zeta):
    kernel = macroturbulence_kernel(zeta, DV)
    half = kernel.size // 2
    v = np.arange(-half, half + 1) * DV
    assert kernel.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(kernel, kernel[::-1], atol=1e-15)
    # second moment of the model, ⟨μ²⟩ ζ²/2 = ζ²/4 (radial; tangential ⟨1 − μ²⟩ is the same), plus DV²/12 of
    # integrating over pixels (exact but for 1e-5 of aliasing at ζ = 10 pixels); 10⁶ draws agree to 0.5 % (3σ)
    sampled = rt_velocities(zeta, 1_000_000)
    assert np.mean(sampled**2) == pytest.approx(zeta**2 / 4, rel=5e-3)
    assert np.sum(kernel * v**2) == pytest.approx(zeta**2 / 4 + DV**2 / 12, rel=1e-4)
    # its whole shape: the cumulative kernel at the pixel edges against the sampled distribution (KS
    # distance; 1.4e-3 is its 95 % point for 10⁶ draws), which a Gaussian of the same σ = ζ/2 misses by 0.03
    edges = (np.arange(-half, half + 1) + 0.5) * DV
    empirical = np.searchsorted(np.sort(sampled), edges) / sampled.size
    assert np.abs(np.cumsum(kernel) - empirical).max() < 2e-3
    assert np.abs(0.5 * (1 + erf(edges / (zeta / 2 * np.sqrt(2)))) - empirical).max() > 2e-2


def test_kernel_edge_cases():
    assert macroturbulence_kernel(0.0, DV).tolist() == [1.0]
    assert macroturbulence_kernel(0.01, 1.0).max() > 0.99  # far narrower than a pixel: nearly the identity
    with pytest.raises(ValueError, match=">= 0"):
        macroturbulence_kernel(-1.0, DV)
    with pytest.raises(ValueError, match=">= 0"):
        macroturbulence_kernel(float("nan"), DV)


def test_a_narrow_line_widens_by_zeta_squared_over_four():
    """Second moments add under convolution: the line's grows by ζ²/4 (+ DV²/12 per kernel, pixel integration)."""
    wave = 8500.0 * np.exp(np.arange(-4000, 4001) * DV / C_KMS)
    v = (wave / wave[4000] - 1) * C_KMS
    flux = 1 - 0.6 * np.exp(-0.5 * (v / 2.0) ** 2)

    def moments(f):
        depth = 1 - f
        return depth.sum() * DV, np.sum(depth * v**2) / depth.sum()

    area, variance = moments(broaden(wave, flux, 0.0, 1e6))
    for zeta in (2.0, 5.0):
        widened_area, widened = moments(broaden(wave, flux, 0.0, 1e6, macroturbulence=zeta))
        assert widened_area == pytest.approx(area, rel=1e-9)
        assert widened - variance == pytest.approx(zeta**2 / 4 + DV**2 / 12, rel=2e-3)


def test_zero_macroturbulence_changes_nothing_bit_for_bit(lines):
    wave, flux = lines
    dv = velocity_step(wave)
    # broaden as it was without the option: rotation ∗ instrument, padded with the edge values
    kernel = np.convolve(rotation_kernel(3.0, dv), gaussian_kernel(11500.0, dv))
    before = fftconvolve(np.pad(flux, kernel.size // 2, mode="edge"), kernel, mode="valid")
    assert np.array_equal(broaden(wave, flux, 3.0, 11500.0, macroturbulence=0.0), before)
    assert np.array_equal(broaden(wave, flux, 3.0, 11500.0), before)
    assert not np.array_equal(broaden(wave, flux, 3.0, 11500.0, macroturbulence=0.5), before)
    target = RVS_WAVELENGTH
    vsini, resolution = np.array([0.0, 20.0]), np.array([14500.0, 8000.0])
    kept = decimation(wave, intrinsic_wavelength(target, 0.8, 20.0, 8000.0), 4)
    stored = broaden(wave, flux, 0.0, 14500.0)[kept]
    plain = observe_prebroadened(wave[kept], stored, vsini, resolution, target, 14500.0, 4)
    assert np.array_equal(
        observe_prebroadened(wave[kept], stored, vsini, resolution, target, 14500.0, 4, macroturbulence=0.0), plain
    )
    np.testing.assert_array_equal(observe(wave, flux, vsini, resolution, target, macroturbulence=0.0),
                                  observe(wave, flux, vsini, resolution, target))


def test_macroturbulence_commutes_with_the_prebroadened_shortcut(lines):
    """The Fourier-domain path (:func:`observe_prebroadened`) and direct convolution agree with ζ too."""
    wave, flux = lines
    target = RVS_WAVELENGTH
    vsini, resolution = np.array([0.0, 20.0]), np.array([14500.0, 8000.0])
    kept = decimation(wave, intrinsic_wavelength(target, 0.8, 20.0 + 4 * 5.0, 8000.0), 4)
    stored = broaden(wave, flux, 0.0, 14500.0)[kept]
    direct = observe(wave, flux, vsini, resolution, target, macroturbulence=5.0)
    shortcut = observe_prebroadened(wave[kept], stored, vsini, resolution, target, 14500.0, 4, macroturbulence=5.0)
    np.testing.assert_allclose(shortcut, direct, atol=1e-7)
    assert np.abs(direct - observe(wave, flux, vsini, resolution, target)).max() > 1e-2


@pytest.mark.parametrize("resolution", [14500.0, 11500.0, 5000.0])
def test_operator_on_pixels_is_the_convolution_before_sampling(lines, resolution):
    """Convolving the sampled spectrum (0.1 Å pixels) ≈ sampling the convolved one, away from the ends."""
    wave, flux = lines
    target = RVS_WAVELENGTH
    sampled = resample(wave, broaden(wave, flux, 2.0, resolution), target)
    for zeta in (1.0, 3.0, 6.0):
        band = macroturbulence_operator(target, zeta)
        half = band.shape[0] // 2
        np.testing.assert_allclose(band.sum(axis=0), 1.0, atol=1e-12)
        padded = np.pad(sampled, half, mode="edge")
        convolved = sum(band[d] * padded[d : d + target.size] for d in range(2 * half + 1))
        truth = resample(wave, broaden(wave, flux, 2.0, resolution, macroturbulence=zeta), target)
        assert np.abs(convolved - truth)[10:-10].max() < 2e-4
    identity = macroturbulence_operator(target, 0.0)
    assert np.array_equal(identity[identity.shape[0] // 2], np.ones(target.size))
    assert np.count_nonzero(identity) == target.size


def test_doyle2014():
    assert doyle2014_macroturbulence(5777, 4.44) == pytest.approx(3.21)
    assert doyle2014_macroturbulence(5670, 4.47) == pytest.approx(3.21 - 0.24931 + 0.022898 - 0.06)
    with pytest.raises(ValueError, match="calibrated"):
        doyle2014_macroturbulence(4500, 4.6)


@pytest.mark.filterwarnings("ignore::specgen.fit.stars.OutOfDomainWarning")  # the ci model and Kepler-93
def test_wrapped_emulator_is_the_emulators_output_convolved(ci_emulator, central_rows):
    from specgen.fit.chi2 import fit_labels
    from specgen.fit.observed import EXAMPLE_SPECTRUM
    from specgen.fit.stars import fit_spectrum
    from specgen.grid import read_grid
    from specgen.model.emulator import Emulator, as_emulator
    from specgen.runtime.profiles import get_profile

    grid = read_grid(get_profile("ci").data_dir(ROOT) / "train.h5")
    labels = np.column_stack([grid.label(name)[central_rows] for name in ci_emulator.label_names])
    zeta = 4.0
    wrapped = with_macroturbulence(ci_emulator, zeta)
    assert isinstance(wrapped, Emulator) and as_emulator(wrapped)[0] is wrapped
    assert wrapped.label_names == ci_emulator.label_names and wrapped.n_pix == ci_emulator.n_pix
    band = macroturbulence_operator(ci_emulator.wavelength, zeta)
    half, n = band.shape[0] // 2, ci_emulator.n_pix
    matrix = np.zeros((n, n))  # the band as a dense matrix, weights beyond the window on the edge pixels
    rows = np.arange(n)
    for d in range(-half, half + 1):
        np.add.at(matrix, (rows, np.clip(rows + d, 0, n - 1)), band[half + d])
    plain = ci_emulator.generate(labels).astype(np.float64)
    expected = plain @ matrix.T
    np.testing.assert_allclose(wrapped.generate(labels), expected, atol=2e-6)
    one = wrapped.generate(**dict(zip(ci_emulator.label_names, labels[0])))
    np.testing.assert_allclose(one, expected[0], atol=2e-6)
    x = ci_emulator.label_scaler.transform(labels).astype(np.float32)
    np.testing.assert_allclose(np.asarray(wrapped.network_flux(x)), expected, atol=2e-6)
    assert np.abs(expected - plain).max() > 1e-3
    assert np.array_equal(MacroturbulentEmulator(ci_emulator, 0.0).generate(labels), ci_emulator.generate(labels))
    # fits through it are fits of the convolved spectra
    resolution = ci_emulator.label_names.index("resolution")
    fit = fit_labels(wrapped.generate(labels), wrapped, 0.01, fixed={"resolution": labels[0, resolution]}, max_steps=3)
    np.testing.assert_allclose(fit.best_flux, wrapped.generate(fit.labels), atol=2e-5)
    star = fit_spectrum(EXAMPLE_SPECTRUM, wrapped, n_starts=1)
    np.testing.assert_allclose(star.labels.best_flux, wrapped.generate(star.labels.labels), atol=2e-5)
    with pytest.raises(ValueError, match="not saved"):
        wrapped.save("unused")
