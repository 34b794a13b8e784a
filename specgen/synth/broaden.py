"""From an intrinsic spectrum to an observed one: rotation, instrument, resampling.

Radiative transfer depends only on (Teff, log g, [M/H], ξt); v sin i and the resolving power
are applied afterwards, as SYNSPEC's ROTIN does. The intrinsic spectrum is sampled uniformly in
ln λ, where the kernels are constant in velocity:

* rotation: the classical limb-darkened kernel (Gray, *The Observation and Analysis of Stellar
  Photospheres*, eq. 18.14) with linear limb-darkening coefficient ε (0.6 by default);
* instrument: a Gaussian of FWHM λ/R, i.e. c/R in velocity;
* macroturbulence, off (ζ_RT = 0) by default: Gray's radial–tangential profile
  (:func:`macroturbulence_kernel`), a fixed profile of characteristic velocity ζ_RT. The spectra of the
  database have none, so a real star's macroturbulence ends up in a fitted v sin i.

The kernels are integrated over each velocity pixel and normalised to unit sum, so the
equivalent width of every line is conserved.

A spectrum already convolved with the Gaussian of the highest resolving power R_max is smooth
enough to be kept on a coarser ln λ grid (every few synthesis points, of a window padded by
:func:`intrinsic_wavelength`). Convolutions commute, so :func:`observe_prebroadened` gets any
(v sin i, R ≤ R_max) from it with the rotation and the remaining Gaussian, FWHM² = (c/R)² − (c/R_max)²,
applied in the Fourier domain and the result interpolated back onto the synthesis points: the
same spectrum as :func:`observe` from the intrinsic one, without storing the intrinsic one.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft
from scipy.signal import fftconvolve
from scipy.special import erf, erfc

from specgen.constants import C_KMS

FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
SUBSAMPLES = 16  # sub-pixels per pixel when integrating the rotation kernel
GAUSSIAN_REACH = 5.0  # the instrumental kernel is cut at this many σ
MACROTURBULENCE_REACH = 4.0  # the macroturbulence kernel is cut at this many ζ_RT (it leaves out < 1e-9)


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


def gaussian_kernel(resolution: float, dv: float, n_sigma: float = GAUSSIAN_REACH) -> np.ndarray:
    """Gaussian instrumental profile of FWHM c/R on pixels of ``dv`` km/s, unit sum."""
    if resolution <= 0:
        raise ValueError(f"resolution must be positive, got {resolution}")
    sigma = C_KMS / resolution * FWHM_TO_SIGMA
    half = max(1, int(np.ceil(n_sigma * sigma / dv)))
    edges = (np.arange(-half, half + 2) - 0.5) * dv
    cdf = 0.5 * (1.0 + erf(edges / (np.sqrt(2.0) * sigma)))
    kernel = np.diff(cdf)
    return kernel / kernel.sum()


def macroturbulence_kernel(zeta: float, dv: float) -> np.ndarray:
    """Radial–tangential macroturbulence of ``zeta`` = ζ_RT (km/s) on pixels of ``dv`` km/s, unit sum
    (odd length, centred); ζ_RT = 0 returns the identity ``[1.0]``.

    Gray (*The Observation and Analysis of Stellar Photospheres*, 3rd ed., ch. 17): half the surface
    moves radially, half tangentially, each with speeds distributed as exp(−(v/ζ_RT)²), seen along
    the line of sight at cos θ and sin θ. Without limb darkening both halves integrate over the
    disc (weight 2μ dμ, μ = cos θ) to the same profile,
    M(v) = 2/(√π ζ) ∫₀¹ exp(−v²/(ζμ)²) dμ = 2/(√π ζ) [exp(−v²/ζ²) − √π (|v|/ζ) erfc(|v|/ζ)],
    of second moment ζ²/4. Each pixel gets M integrated over it (the cumulative distribution is
    closed-form); the kernel is cut at ±:data:`MACROTURBULENCE_REACH` ζ.
    """
    if not zeta >= 0:
        raise ValueError(f"macroturbulence must be >= 0 km/s, got {zeta}")
    if zeta == 0:
        return np.ones(1)
    half = math.ceil(MACROTURBULENCE_REACH * zeta / dv)
    a = (np.arange(-half, half + 2) - 0.5) * dv / zeta  # pixel edges in units of ζ
    x = np.abs(a)
    cdf = 0.5 + np.sign(a) * (0.5 * erf(x) - x**2 * erfc(x) + x * np.exp(-(x**2)) / np.sqrt(np.pi))
    kernel = np.diff(cdf)
    return kernel / kernel.sum()


def broaden(
    wavelength: np.ndarray,
    flux: np.ndarray,
    vsini: float,
    resolution: float,
    epsilon: float = 0.6,
    macroturbulence: float = 0.0,
) -> np.ndarray:
    """Rotate (``vsini`` km/s), add radial–tangential ``macroturbulence`` ζ_RT (km/s,
    :func:`macroturbulence_kernel`; 0 leaves the result bit for bit as without it) and degrade to
    resolving power ``resolution`` an intrinsic spectrum.

    ``wavelength`` (Å) must be uniform in ln λ. The spectrum is padded with its edge values,
    so keep a margin of a few kernel widths beyond the range you will use.
    """
    dv = velocity_step(wavelength)
    kernel = np.convolve(rotation_kernel(vsini, dv, epsilon), gaussian_kernel(resolution, dv))
    kernel = np.convolve(kernel, macroturbulence_kernel(macroturbulence, dv))
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
    macroturbulence: float = 0.0,
) -> np.ndarray:
    """The (vsini, R) variants of one intrinsic spectrum on ``target``, all with the same
    ``macroturbulence`` ζ_RT (km/s, :func:`broaden`): shape (n_variants, n_target)."""
    vsini, resolution = np.atleast_1d(vsini), np.atleast_1d(resolution)
    return np.stack(
        [
            resample(wavelength, broaden(wavelength, flux, v, r, epsilon, macroturbulence), target)
            for v, r in zip(vsini, resolution)
        ]
    )


def intrinsic_wavelength(target: np.ndarray, step_kms: float, vsini_max: float, resolution_min: float) -> np.ndarray:
    """Wavelengths (Å), uniform in ln λ at ``step_kms``, covering ``target`` padded on each side by the
    widest rotation (``vsini_max``, km/s) and instrumental Gaussian (``resolution_min``) plus two steps,
    so that the broadened flux is exact up to the first and last pixel of ``target``."""
    pad = vsini_max + GAUSSIAN_REACH * FWHM_TO_SIGMA * C_KMS / resolution_min + 2 * step_kms  # km/s
    start, span = math.log(target[0]) - pad / C_KMS, math.log(target[-1] / target[0]) + 2 * pad / C_KMS
    return np.exp(start + np.arange(math.ceil(span * C_KMS / step_kms) + 1) * step_kms / C_KMS)


def decimation(wavelength: np.ndarray, window: np.ndarray, factor: int) -> slice:
    """Every ``factor``-th point of ``wavelength`` (uniform in ln λ), from the last one at or below
    ``window[0]`` to the first one at or above ``window[-1]`` (Å); raises if ``wavelength`` is shorter."""
    dv = velocity_step(wavelength)
    first = math.floor(math.log(window[0] / wavelength[0]) * C_KMS / dv + 1e-9)
    count = math.ceil(math.log(window[-1] / wavelength[first]) * C_KMS / (factor * dv) - 1e-9) + 1
    last = first + factor * (count - 1)
    if first < 0 or last >= wavelength.size:
        raise ValueError(
            f"{wavelength[0]:.2f}–{wavelength[-1]:.2f} Å does not cover the window {window[0]:.2f}–{window[-1]:.2f} Å"
        )
    return slice(first, last + 1, factor)


def rotation_transfer(vsini: float, dv: float, n_fft: int, epsilon: float = 0.6) -> np.ndarray:
    """The real transfer function, ``(n_fft // 2 + 1,)`` at ``scipy.fft.rfftfreq(n_fft, dv)``, of
    :func:`rotation_kernel` on pixels of ``dv`` km/s: the rotation :func:`broaden` applies there."""
    return kernel_transfer(rotation_kernel(vsini, dv, epsilon), n_fft)


def kernel_transfer(kernel: np.ndarray, n_fft: int) -> np.ndarray:
    """The real transfer function, ``(n_fft // 2 + 1,)`` at ``scipy.fft.rfftfreq(n_fft, dv)``, of a
    symmetric, centred ``kernel`` of odd length on pixels of ``dv`` km/s (:func:`rotation_kernel`,
    :func:`macroturbulence_kernel`)."""
    half = kernel.size // 2
    if kernel.size > n_fft:
        raise ValueError(f"a kernel of {kernel.size} points is wider than {n_fft} points")
    centred = np.zeros(n_fft)
    centred[: half + 1], centred[n_fft - half :] = kernel[half:], kernel[:half]
    return sfft.rfft(centred).real


def observe_prebroadened(
    wavelength: np.ndarray,
    flux: np.ndarray,
    vsini: np.ndarray,
    resolution: np.ndarray,
    target: np.ndarray,
    pre_resolution: float,
    upsample: int,
    epsilon: float = 0.6,
    macroturbulence: float = 0.0,
) -> np.ndarray:
    """:func:`observe` for a spectrum already broadened to ``pre_resolution`` (a Gaussian, no rotation)
    on every ``upsample``-th point of the synthesis grid: shape (n_variants, n_target).

    ``wavelength`` (Å, uniform in ln λ) must keep the spectrum band-limited (2 km/s at R = 14,500
    leaves < 1e-40 of it beyond the Nyquist frequency) and be padded for the widest kernel
    (:func:`intrinsic_wavelength`, plus :data:`MACROTURBULENCE_REACH` ζ_RT with ``macroturbulence``).
    Each variant is the rotation of :func:`rotation_kernel` and the ``macroturbulence`` of
    :func:`macroturbulence_kernel` on the synthesis grid times the remaining Gaussian, multiplied onto
    the spectrum's Fourier transform (of the spectrum and its mirror image, so that it is periodic and
    continuous), transformed back onto the synthesis grid and interpolated onto ``target`` as
    :func:`observe` does.
    """
    vsini, resolution = np.atleast_1d(vsini), np.atleast_1d(resolution)
    if np.any(resolution > pre_resolution):
        raise ValueError(f"resolution {resolution.max():g} above the spectrum's own, {pre_resolution:g}")
    dv, n = velocity_step(wavelength), flux.size
    half_period = sfft.next_fast_len(n, real=True)  # the spectrum, then its last value, then all mirrored
    edge = np.full(half_period - n, flux[-1])
    spectrum = sfft.rfft(np.concatenate([flux, edge, edge, flux[::-1]]))
    spectrum[-1] /= 2  # the Nyquist term, split between ±frequency once the grid is finer
    frequency = sfft.rfftfreq(2 * half_period, dv)  # cycles per km/s
    n_fine = 2 * half_period * upsample
    fine = wavelength[0] * np.exp(np.arange((n - 1) * upsample + 1) * dv / upsample / C_KMS)
    macro = kernel_transfer(macroturbulence_kernel(macroturbulence, dv / upsample), n_fine)[: half_period + 1]
    rows = []
    for v, r in zip(vsini, resolution):
        variance = (FWHM_TO_SIGMA * C_KMS) ** 2 * (1.0 / r**2 - 1.0 / pre_resolution**2)  # (km/s)²
        transfer = rotation_transfer(v, dv / upsample, n_fine, epsilon)[: half_period + 1] * macro
        transfer *= np.exp(-2.0 * np.pi**2 * variance * frequency**2)
        broadened = sfft.irfft(spectrum * transfer, n_fine)[: fine.size] * upsample
        rows.append(resample(fine, broadened, target))
    return np.stack(rows)
