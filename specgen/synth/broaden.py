"""From an intrinsic spectrum to an observed one: rotation, instrument, resampling.

Radiative transfer depends only on (Teff, log g, [M/H], ξt); v sin i and the resolving power
are applied afterwards, as SYNSPEC's ROTIN does. The intrinsic spectrum is sampled uniformly in
ln λ, where both kernels are constant in velocity:

* rotation: the classical limb-darkened kernel (Gray, *The Observation and Analysis of Stellar
  Photospheres*, eq. 18.14) with linear limb-darkening coefficient ε (0.6 by default);
* instrument: a Gaussian of FWHM λ/R, i.e. c/R in velocity.

Both kernels are integrated over each velocity pixel and normalised to unit sum, so the
equivalent width of every line is conserved.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve
from scipy.special import erf

from specgen.constants import C_KMS

FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
SUBSAMPLES = 16  # sub-pixels per pixel when integrating the rotation kernel


def velocity_step(wavelength: np.ndarray) -> float:
    """Velocity step (km/s) of a grid uniform in ln λ; raises if the grid is not."""
    dlnl = np.diff(np.log(wavelength))
    if not np.allclose(dlnl, dlnl[0], rtol=1e-6, atol=0):
        raise ValueError("the intrinsic spectrum must be sampled uniformly in ln(wavelength)")
    return float(dlnl[0] * C_KMS)


def subsample_offsets(half: int) -> np.ndarray:
    """Centres ``(2·half + 1, SUBSAMPLES)`` of the sub-pixels of pixels −half … half, in pixels."""
    return np.arange(-half, half + 1)[:, None] + (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES - 0.5


def rotation_kernel(vsini: float, dv: float, epsilon: float = 0.6) -> np.ndarray:
    """Limb-darkened rotation profile on pixels of ``dv`` km/s, unit sum (odd length, centred).

    ``vsini`` in km/s; a rotation narrower than a pixel returns the identity ``[1.0]``.
    """
    if vsini < 0 or not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"need vsini >= 0 and 0 <= epsilon <= 1, got {vsini}, {epsilon}")
    half = int(np.ceil(vsini / dv - 0.5))
    if half < 1:
        return np.ones(1)
    # Sub-sample each pixel and average: the kernel has sharp edges at ±vsini.
    edges = subsample_offsets(half) * dv
    x2 = np.clip(1.0 - (edges / vsini) ** 2, 0.0, None)
    profile = 2.0 * (1.0 - epsilon) * np.sqrt(x2) + 0.5 * np.pi * epsilon * x2
    kernel = profile.mean(axis=1)
    return kernel / kernel.sum()


def gaussian_kernel(resolution: float, dv: float, n_sigma: float = 5.0) -> np.ndarray:
    """Gaussian instrumental profile of FWHM c/R on pixels of ``dv`` km/s, unit sum."""
    if resolution <= 0:
        raise ValueError(f"resolution must be positive, got {resolution}")
    sigma = C_KMS / resolution * FWHM_TO_SIGMA
    half = max(1, int(np.ceil(n_sigma * sigma / dv)))
    edges = (np.arange(-half, half + 2) - 0.5) * dv
    cdf = 0.5 * (1.0 + erf(edges / (np.sqrt(2.0) * sigma)))
    kernel = np.diff(cdf)
    return kernel / kernel.sum()


def broaden(
    wavelength: np.ndarray, flux: np.ndarray, vsini: float, resolution: float, epsilon: float = 0.6
) -> np.ndarray:
    """Rotate (``vsini`` km/s) and degrade to resolving power ``resolution`` an intrinsic spectrum.

    ``wavelength`` (Å) must be uniform in ln λ. The spectrum is padded with its edge values,
    so keep a margin of a few kernel widths beyond the range you will use.
    """
    dv = velocity_step(wavelength)
    kernel = np.convolve(rotation_kernel(vsini, dv, epsilon), gaussian_kernel(resolution, dv))
    half = kernel.size // 2
    if half >= flux.size:
        raise ValueError("the broadening kernel is wider than the spectrum")
    padded = np.pad(flux, half, mode="edge")
    return fftconvolve(padded, kernel, mode="valid")


def resample(wavelength: np.ndarray, flux: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Linear interpolation of a (broadened, well-sampled) spectrum onto ``target`` (Å)."""
    if target[0] < wavelength[0] or target[-1] > wavelength[-1]:
        raise ValueError(
            f"target {target[0]:.2f}–{target[-1]:.2f} Å not covered by {wavelength[0]:.2f}–{wavelength[-1]:.2f} Å"
        )
    return np.interp(target, wavelength, flux)


def observe(
    wavelength: np.ndarray,
    flux: np.ndarray,
    vsini: np.ndarray,
    resolution: np.ndarray,
    target: np.ndarray,
    epsilon: float = 0.6,
) -> np.ndarray:
    """The (vsini, R) variants of one intrinsic spectrum on ``target``: shape (n_variants, n_target)."""
    vsini, resolution = np.atleast_1d(vsini), np.atleast_1d(resolution)
    return np.stack(
        [resample(wavelength, broaden(wavelength, flux, v, r, epsilon), target) for v, r in zip(vsini, resolution)]
    )
