"""Fits with a fixed macroturbulence: an emulator whose spectra are convolved with Gray's
radial–tangential profile of a given ζ_RT (km/s).

The training spectra have no macroturbulence (:mod:`specgen.synth.broaden`), so in a fit of a real
star it lands in v sin i. Convolutions commute: the spectrum with macroturbulence is the emulator's
spectrum convolved with the macroturbulence profile, for either kind of emulator and at every label,
and that convolution is one fixed linear operator on the emulator's pixels. :func:`with_macroturbulence`
wraps an emulator so that everything that generates (``generate``, ``generate_like`` and the fits'
``network_flux``) returns the convolved flux; :func:`~specgen.fit.stars.fit_spectrum`,
:func:`~specgen.fit.stars.fit_spectra` and :func:`~specgen.fit.chi2.fit_labels` take it as they take
the emulator::

    zeta = doyle2014_macroturbulence(teff=5670, logg=4.47)         # 2.9 km/s
    star = fit_spectrum(spectrum, with_macroturbulence(emulator, zeta), model_error=error)

The operator (:func:`macroturbulence_operator`) convolves the physical flux, after the network and its
flux scaling. The emulator's pixels (0.1 Å, about 3.5 km/s) are coarser than the profile, so the flux
between them is interpolated with Keys' cubic convolution (Keys 1981, IEEE Trans. ASSP 29, 1153;
a = −½). Against convolving the underlying spectrum before sampling it (tests/test_macroturbulence.py),
it errs by < 2e-4 of the continuum away from the edges for R ≤ 14,500 and ζ_RT ≤ 6 km/s (linear
interpolation: 3e-3, as much as the whole effect of ζ_RT = 3 km/s at R = 11,500).

**Edges.** Beyond the window's ends the flux is taken to be that of the edge pixel. The error this
makes in a pixel is the profile's weight beyond the edge times the true flux there minus the edge
flux: at most 3 % of that difference one ζ_RT from an edge, 0.04 % at 2 ζ_RT, none from
:data:`~specgen.synth.broaden.MACROTURBULENCE_REACH` ζ_RT (+ 2 pixels) on, i.e. the last 2–3 pixels
at each end for ζ_RT of a few km/s. The Gaia RVS pixels that fits use (8458–8698 Å) are far from the ends of the
8400–8800 Å window.
"""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np

from specgen.constants import C_KMS
from specgen.model.emulator import Emulator, EmulatorError, as_emulator
from specgen.synth.broaden import SUBSAMPLES, macroturbulence_kernel

#: Doyle et al. (2014)'s calibration holds for these ranges of Teff (K) and log g (dex).
DOYLE2014_TEFF, DOYLE2014_LOGG = (5200.0, 6400.0), (4.0, 4.6)


def doyle2014_macroturbulence(teff: float, logg: float) -> float:
    """Macroturbulence (km/s) of a dwarf of ``teff`` (K) and ``logg`` (dex, cgs) from Doyle et al. (2014,
    MNRAS 444, 3592, eq. 8), calibrated on asteroseismic v sin i of Kepler stars and the Sun:
    v_mac = 3.21 + 2.33e-3 (Teff − 5777) + 2.00e-6 (Teff − 5777)² − 2.00 (log g − 4.44).
    Raises ValueError outside its calibration, :data:`DOYLE2014_TEFF` and :data:`DOYLE2014_LOGG`."""
    (t_low, t_high), (g_low, g_high) = DOYLE2014_TEFF, DOYLE2014_LOGG
    if not (t_low <= teff <= t_high and g_low <= logg <= g_high):
        raise ValueError(
            f"Doyle et al. (2014) is calibrated for {t_low:g}–{t_high:g} K and log g {g_low:g}–{g_high:g}, "
            f"not Teff = {teff:g} K, log g = {logg:g}"
        )
    dt = teff - 5777.0
    return 3.21 + 2.33e-3 * dt + 2.00e-6 * dt**2 - 2.00 * (logg - 4.44)


def macroturbulence_operator(wavelength: np.ndarray, zeta_kms: float) -> np.ndarray:
    """The radial–tangential macroturbulence of ``zeta_kms`` (ζ_RT, km/s) as a band matrix on the pixels
    of ``wavelength`` (Å, increasing; any spacing): ``(2h + 1, n_pix)`` weights, row ``h + d`` the weight
    of pixel ``i + d`` in the convolved pixel ``i`` (zero where ``i + d`` is outside), each pixel's unit sum.

    The profile is :func:`~specgen.synth.broaden.macroturbulence_kernel` on velocity steps of
    1/:data:`~specgen.synth.broaden.SUBSAMPLES` of the finest pixel; the flux at pixel i's wavelength
    shifted by each step is interpolated by Keys' cubic convolution, the flux beyond an end being the
    edge pixel's. ζ_RT = 0 is the identity."""
    wavelength = np.asarray(wavelength, dtype=np.float64)
    n = wavelength.size
    step = np.min(np.diff(wavelength) / wavelength[1:]) * C_KMS / SUBSAMPLES  # km/s
    kernel = macroturbulence_kernel(zeta_kms, step)
    velocity = (np.arange(kernel.size) - kernel.size // 2) * step
    position = np.interp(wavelength[:, None] * np.exp(-velocity / C_KMS), wavelength, np.arange(n))  # (n, k)
    first = np.floor(position).astype(int)
    taps = np.clip(first[None] + np.arange(-1, 3)[:, None, None], 0, n - 1)  # (4, n, k)
    weights = _keys(position - first) * kernel
    offsets = taps - np.arange(n)[:, None]
    half = int(np.abs(offsets).max())
    band = np.zeros((2 * half + 1, n))
    np.add.at(band, (offsets + half, np.broadcast_to(np.arange(n)[:, None], taps.shape)), weights)
    return band


def _keys(t: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution weights ``(4, ...)`` of the samples at −1, 0, 1, 2 for a point ``t`` ∈ [0, 1)
    past sample 0 (a = −½: exact for quadratics; the weights sum to 1)."""
    d = np.abs(t[None] - np.arange(-1, 3).reshape(-1, *[1] * t.ndim))
    near = 1.5 * d**3 - 2.5 * d**2 + 1
    far = -0.5 * d**3 + 2.5 * d**2 - 4 * d + 2
    return np.where(d <= 1, near, far)


class MacroturbulentEmulator:
    """``emulator`` with its spectra convolved with radial–tangential macroturbulence of ``zeta_kms``
    (ζ_RT, km/s; :func:`macroturbulence_operator`): ``generate``, ``generate_like``, ``network_flux``
    and ``mean_flux`` are the emulator's convolved; every other attribute is the emulator's (labels,
    ranges, scalings, wavelengths). It is not saved: save the emulator, and wrap it again.

    Registered as an :class:`~specgen.model.emulator.Emulator`, so that the fits take it as one."""

    def __init__(self, emulator: Emulator, zeta_kms: float):
        self.emulator, self.zeta_kms = emulator, float(zeta_kms)
        band = macroturbulence_operator(emulator.wavelength, self.zeta_kms)
        self._half, self._band = band.shape[0] // 2, band.astype(np.float32)
        self._edges = np.clip(np.arange(-self._half, emulator.n_pix + self._half), 0, emulator.n_pix - 1)
        self.mean_flux = self.convolve(emulator.mean_flux)

    def __getattr__(self, name: str) -> Any:
        if name == "emulator":  # not set yet: while copying or unpickling
            raise AttributeError(name)
        return getattr(self.emulator, name)

    def __repr__(self) -> str:
        return f"{self.emulator!r} with macroturbulence ζ_RT = {self.zeta_kms:g} km/s"

    def convolve(self, flux: Any) -> Any:
        """Float32 ``flux`` ``(..., n_pix)`` convolved with the macroturbulence: a NumPy array for a NumPy
        array, else a tensor of the Keras backend (in the caller's graph: what the fits differentiate)."""
        take = np.take if isinstance(flux, np.ndarray) else keras.ops.take
        padded, n = take(flux, self._edges, axis=-1), self.emulator.n_pix
        return sum(self._band[d] * padded[..., d : d + n] for d in range(2 * self._half + 1))

    def generate(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """:meth:`Emulator.generate` (same arguments), convolved."""
        return self.convolve(self.emulator.generate(*args, **kwargs))

    def generate_like(self, grid: Any) -> np.ndarray:
        """:meth:`Emulator.generate_like`, convolved. The grids of :mod:`specgen.synth` have no
        macroturbulence: measure the generator's own error (:func:`~specgen.fit.chi2.generator_error`)
        with the plain emulator, ``.emulator``, not with this one."""
        return self.convolve(self.emulator.generate_like(grid))

    def network_flux(self, x: Any) -> Any:
        """:meth:`Emulator.network_flux`, convolved (in the caller's graph)."""
        return self.convolve(self.emulator.network_flux(x))

    def save(self, path: str | os.PathLike) -> None:
        raise EmulatorError("a MacroturbulentEmulator is not saved: save its .emulator, and wrap that after loading")


Emulator.register(MacroturbulentEmulator)


def with_macroturbulence(model: Emulator | str | os.PathLike, zeta_kms: float) -> MacroturbulentEmulator:
    """``model`` (an :class:`Emulator` or its directory) with its spectra convolved with radial–tangential
    macroturbulence of ``zeta_kms`` (ζ_RT, km/s): a :class:`MacroturbulentEmulator`, for the fits."""
    return MacroturbulentEmulator(as_emulator(model)[0], zeta_kms)
