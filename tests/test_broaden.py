"""Rotation and instrumental broadening conserve line strength and have the right widths."""

import numpy as np
import pytest

from specgen.constants import C_KMS
from specgen.synth.broaden import (
    broaden,
    decimation,
    gaussian_kernel,
    intrinsic_wavelength,
    observe,
    observe_prebroadened,
    resample,
    rotation_kernel,
    rotation_transfer,
    velocity_step,
)

DV = 0.5  # km/s


@pytest.fixture(scope="module")
def line():
    """A deep, narrow absorption line at 8542 Å on a grid uniform in ln λ."""
    wave = 8380.0 * np.exp(np.arange(0.0, np.log(8820.0 / 8380.0), DV / C_KMS))
    v = (wave / 8542.09 - 1) * C_KMS
    return wave, 1 - 0.8 * np.exp(-0.5 * (v / 2.0) ** 2)


def equivalent_width(wave, flux):
    return np.trapezoid(1 - flux, wave)


@pytest.mark.parametrize("vsini, resolution", [(0, 14500), (3, 11500), (50, 5000), (300, 5000), (0.3, 8000)])
def test_equivalent_width_is_conserved(line, vsini, resolution):
    wave, flux = line
    broadened = broaden(wave, flux, vsini, resolution)
    assert equivalent_width(wave, broadened) == pytest.approx(equivalent_width(wave, flux), rel=1e-3)
    assert broadened.min() > flux.min()


def test_instrumental_fwhm_is_lambda_over_r(line):
    wave, _ = line
    delta = np.where(np.arange(wave.size) == wave.size // 2, 1.0, 0.0)
    profile = broaden(wave, 1 - delta, 0.0, 10000.0)
    depth = 1 - profile
    above = np.flatnonzero(depth >= depth.max() / 2)
    fwhm_kms = (above[-1] - above[0] + 1) * DV
    assert fwhm_kms == pytest.approx(C_KMS / 10000.0, rel=0.05)


def test_rotation_kernel_shape():
    kernel = rotation_kernel(100.0, DV)
    assert kernel.sum() == pytest.approx(1.0)
    assert kernel.size == 2 * 200 + 1
    np.testing.assert_allclose(kernel, kernel[::-1])
    assert kernel.argmax() == kernel.size // 2
    # stronger limb darkening makes the profile more peaked
    assert rotation_kernel(100.0, DV, 1.0).max() > rotation_kernel(100.0, DV, 0.0).max()
    assert rotation_kernel(0.1, DV).tolist() == [1.0]


def test_kernels_reject_unphysical_input():
    with pytest.raises(ValueError):
        rotation_kernel(-1.0, DV)
    with pytest.raises(ValueError):
        gaussian_kernel(0.0, DV)


def test_velocity_step_requires_log_uniform_grid():
    assert velocity_step(8400 * np.exp(np.arange(10) * 1e-6)) == pytest.approx(1e-6 * C_KMS)
    with pytest.raises(ValueError, match="uniformly in ln"):
        velocity_step(np.linspace(8400, 8800, 10))


def test_observe_returns_one_row_per_variant(line):
    wave, flux = line
    target = 8400.0 + 0.1 * np.arange(4000)
    out = observe(wave, flux, np.array([0.0, 100.0]), np.array([14500.0, 5000.0]), target)
    assert out.shape == (2, 4000)
    assert np.all(out[:, :100] == pytest.approx(1.0))
    with pytest.raises(ValueError, match="not covered"):
        resample(wave, flux, np.array([8000.0, 8500.0]))


def test_rotation_transfer_is_the_kernels_fourier_transform():
    kernel, n = rotation_kernel(20.0, DV), 512
    direct = [np.sum(kernel * np.cos(2 * np.pi * k * np.arange(-40, 41) / n)) for k in range(n // 2 + 1)]
    np.testing.assert_allclose(rotation_transfer(20.0, DV, n), direct, atol=1e-12)
    assert rotation_transfer(0.0, DV, n).tolist() == [1.0] * (n // 2 + 1)


def test_a_spectrum_stored_at_r_max_every_fourth_point_gives_every_variant(line):
    """Pre-broadened to R = 14,500, kept every 2 km/s over the padded window: the variants of :func:`observe`."""
    wave, flux = line
    target = 8400.0 + 0.1 * np.arange(4000)
    kept = decimation(wave, intrinsic_wavelength(target, 4 * DV, 300.0, 5000.0), 4)
    assert velocity_step(wave[kept]) == pytest.approx(4 * DV) and wave[kept][0] <= 8388.0 and wave[kept][-1] >= 8812.5
    stored = broaden(wave, flux, 0.0, 14500.0)[kept]
    vsini, resolution = np.array([0.0, 300.0, 3.0, 0.0]), np.array([14500.0, 5000.0, 11500.0, 5000.0])
    shortcut = observe_prebroadened(wave[kept], stored, vsini, resolution, target, 14500.0, 4)
    np.testing.assert_allclose(shortcut, observe(wave, flux, vsini, resolution, target), atol=1e-7)
    with pytest.raises(ValueError, match="above the spectrum's own"):
        observe_prebroadened(wave[kept], stored, [0.0], [20000.0], target, 14500.0, 4)
    with pytest.raises(ValueError, match="does not cover"):
        decimation(wave[:1000], np.array([8388.0, 8812.0]), 4)
