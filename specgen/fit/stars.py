"""Observed stars: a spectrum file → rest frame → labels fitted through the generator.

:func:`fit_spectrum` reads a spectrum (:func:`specgen.fit.observed.read_spectrum`), holds the
instrument's resolution when it is known (first degrading a spectrum sharper than the model's
training range to its top, :func:`degrade`), optionally measures the radial velocity against the
best-fitting model and refits in the rest frame, optionally corrects the continuum by a
low-order polynomial, and fits the labels with :func:`specgen.fit.chi2.fit_labels`, the
generator's own error (:func:`specgen.fit.chi2.generator_error`) added to the noise when given.
A label that ends on an edge of the training range raises an :class:`OutOfDomainWarning`: the
star is probably outside the model's domain.

    result = fit_spectrum(EXAMPLE_SPECTRUM, "models/demo/emulator")
    result.table()     # teff, teff_err, teff_at_bound, ..., chi2_dof, n_pixels, velocity, velocity_err
    error = generator_error(emulator, "data/demo/test.h5")     # σ_model per pixel, continuum units
    results = fit_spectra(read_spectra("my_gaia_stars/"), emulator, model_error=error, continuum_degree=1)
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.polynomial import Legendre
from scipy.special import erf

from specgen.fit.chi2 import N_STARTS, LabelFit, fit_labels
from specgen.fit.observed import (
    ObservedSpectrum,
    SpectrumError,
    measure_velocity,
    read_spectrum,
)
from specgen.labels import LabelError, LabelRange
from specgen.model.emulator import Emulator, as_emulator
from specgen.synth.broaden import FWHM_TO_SIGMA

#: Label fit → velocity against its best model → refit in the rest frame, this many times.
VELOCITY_ITERATIONS = 2
#: Label fit → continuum polynomial against its best model → refit, this many times.
CONTINUUM_ITERATIONS = 3
#: Half-width (σ) at which :func:`degrade` cuts its Gaussian, as :func:`specgen.synth.broaden.gaussian_kernel`.
KERNEL_HALF_WIDTH = 5.0


class OutOfDomainWarning(UserWarning):
    """A fitted label sits on the edge of the model's training range."""


@dataclass(frozen=True)
class SpectrumFit:
    """The fit of one observed spectrum: ``labels`` (a one-star :class:`LabelFit`, whose
    ``best_flux`` is the generator's, without the continuum correction), the observed ``flux`` and
    its noise ``sigma`` on the model's ``wavelength`` (Å, in the model's medium) in the rest frame
    (NaN and ∞ where masked), the radial ``velocity`` and ``velocity_err`` (km/s; 0 and NaN when not fitted), the
    ``spectrum`` as read (or as :func:`degrade` left it when sharper than the model, its own
    resolution in ``meta["degraded_from"]``), the generator's own error ``model_error`` per pixel
    (continuum units; 0 when not given) and the ``continuum`` polynomial the model was multiplied by (None when not
    fitted; its domain is the wavelength range of the fitted pixels)."""

    labels: LabelFit
    flux: np.ndarray
    sigma: np.ndarray
    velocity: float
    velocity_err: float
    spectrum: ObservedSpectrum
    wavelength: np.ndarray
    model_error: np.ndarray
    continuum: Legendre | None

    @property
    def continuum_flux(self) -> np.ndarray:
        """The continuum correction on :attr:`wavelength`: 1 where none was fitted."""
        return _continuum_flux(self.continuum, self.wavelength)

    @property
    def best_flux(self) -> np.ndarray:
        """The generated spectrum at the fitted labels times the continuum correction, on :attr:`wavelength`."""
        return self.labels.best_flux[0] * self.continuum_flux

    @property
    def sigma_total(self) -> np.ndarray:
        """The σ of the fit: noise and the generator's error in quadrature, √(σ² + (continuum·σ_model)²)."""
        return np.hypot(self.sigma, self.continuum_flux * self.model_error)

    def table(self) -> pd.DataFrame:
        """One row: ``spectrum`` (file name and source), the labels' table (:meth:`LabelFit.table`,
        ``chi2_dof`` also counting the continuum's coefficients as parameters), ``held`` (the labels
        held fixed), ``velocity`` and ``velocity_err``, for a degraded spectrum ``degraded_from`` (its
        own resolution; ``resolution`` is the one held), and with a continuum correction its Legendre
        coefficients ``continuum_c0``, ``continuum_c1``, ... (x from −1 to 1 over ``continuum_from``
        to ``continuum_to``, Å in the model's medium)."""
        coefficients = () if self.continuum is None else self.continuum.coef
        continuum = {f"continuum_c{k}": c for k, c in enumerate(coefficients)}
        if self.continuum is not None:
            continuum |= dict(zip(("continuum_from", "continuum_to"), self.continuum.domain))
        meta = self.spectrum.meta
        degraded = {"degraded_from": meta["degraded_from"]} if "degraded_from" in meta else {}
        row = self.labels.table().assign(
            chi2_dof=self.labels.chi2 / (self.labels.dof - len(coefficients)),
            held=",".join(self.labels.fixed),
            velocity=self.velocity,
            velocity_err=self.velocity_err,
            **degraded,
            **continuum,
        )
        return row.assign(spectrum=_name(self.spectrum))[["spectrum", *row.columns]]


def fit_spectrum(
    spectrum: ObservedSpectrum | str | os.PathLike, model: Emulator | str | os.PathLike, **options
) -> SpectrumFit:
    """Fit the labels of one observed spectrum (an :class:`~specgen.fit.observed.ObservedSpectrum` or a
    file for :func:`~specgen.fit.observed.read_spectrum`): :func:`fit_spectra` for one star, with the
    same keyword ``options`` (``snr``, ``resolution``, ``model_error``, ``continuum_degree``, ``fixed``,
    ``fit_velocity``, ...)."""
    spectrum = spectrum if isinstance(spectrum, ObservedSpectrum) else read_spectrum(spectrum)
    return fit_spectra([spectrum], model, **options)[0]


def fit_spectra(
    spectra: Sequence[ObservedSpectrum],
    model: Emulator | str | os.PathLike,
    *,
    snr: float | None = None,
    resolution: float | None = None,
    model_error: np.ndarray | None = None,
    fixed: Mapping[str, float] | None = None,
    fit_resolution: bool = False,
    fit_velocity: bool = False,
    velocity_limit: float = 500.0,
    continuum_degree: int | None = None,
    n_starts: int = N_STARTS,
    seed: int = 0,
    progress: bool = False,
) -> list[SpectrumFit]:
    """Fit the labels of observed spectra through the generator, all stars in one batch
    (:func:`~specgen.fit.chi2.fit_labels`; spectra of different known resolutions in one batch each).

    Each spectrum is resampled onto the model's wavelengths in the model's medium (the observed air
    wavelengths taken to vacuum for a vacuum model: :meth:`ObservedSpectrum.on_grid`); pixels outside
    its range or next to missing ones are left out. σ is the file's flux error, or 1/``snr`` where
    ``snr`` is given (needed when a file has no errors). ``model_error`` ``(n_pix,)``, the
    generator's own 1σ error per pixel (continuum units, :func:`~specgen.fit.chi2.generator_error`),
    is added to σ in quadrature, so that the uncertainties count it; None counts the noise only. When the
    observation's resolving power R_obs (λ/Δλ, FWHM) is known, ``resolution`` or else the
    spectrum's own (``meta``; Gaia RVS: 11,500), and the model has a ``resolution`` label, that
    label is held unless ``fit_resolution``: at R_obs inside the training range; at the range's top
    above it, the spectrum (flux and σ, σ being that of the observed pixels, ``snr`` included) first
    degraded to that resolution by :func:`degrade`; below it the spectrum is refused
    (:class:`~specgen.labels.LabelError`). ``fixed`` holds other labels (or overrides it). With
    ``fit_velocity`` each radial velocity (within ±``velocity_limit`` km/s) is measured against
    the star's best model and the labels refitted in the rest frame. With
    ``continuum_degree`` the model is multiplied by a Legendre polynomial of that degree in
    wavelength (:func:`fit_continuum`), solved against the best model and the labels refitted.
    Either is repeated :data:`VELOCITY_ITERATIONS` or :data:`CONTINUUM_ITERATIONS` times, the
    larger when both are asked for. Labels that end on an edge of the training range give one
    :class:`OutOfDomainWarning` naming the stars.
    """
    if continuum_degree is not None and continuum_degree < 0:
        raise ValueError(f"continuum_degree must be 0 or more, got {continuum_degree}")
    emulator, _ = as_emulator(model)
    hold = "resolution" in emulator.label_names and not fit_resolution
    if resolution is not None and not hold:
        raise ValueError("resolution is held in the fit: not with fit_resolution, nor for a model without that label")
    wavelength, medium = emulator.wavelength, emulator.medium
    spectra = [_with_errors(spectrum, snr) for spectrum in spectra]
    if hold:
        spectra = [_matched(spectrum, emulator.label_ranges["resolution"], resolution) for spectrum in spectra]
    error = np.zeros(emulator.n_pix) if model_error is None else np.asarray(model_error, dtype=np.float64)
    iterations = max(
        VELOCITY_ITERATIONS if fit_velocity else 0, CONTINUUM_ITERATIONS if continuum_degree is not None else 0
    )
    fits: list[SpectrumFit | None] = [None] * len(spectra)
    for held_resolution, members in _by_resolution(spectra, hold).items():
        held = {} if held_resolution is None else {"resolution": held_resolution}
        options = {
            "model_error": model_error, "fixed": held | dict(fixed or {}), "n_starts": n_starts, "seed": seed,
            "progress": progress,
        }
        group = [spectra[i] for i in members]
        velocity, velocity_err = np.zeros(len(group)), np.full(len(group), np.nan)
        continua: list[Legendre | None] = [None] * len(group)
        flux, sigma = _rest_frame(group, velocity, wavelength, medium)
        labels = fit_labels(flux, emulator, sigma, **options)
        for _ in range(iterations):
            if fit_velocity:
                best = labels.best_flux * _continua_flux(continua, wavelength)
                measured = [
                    measure_velocity(s, wavelength, b, medium=medium, limit=velocity_limit) for s, b in zip(group, best)
                ]
                velocity, velocity_err = np.array(measured).T
                flux, sigma = _rest_frame(group, velocity, wavelength, medium)
            if continuum_degree is not None:
                continua = [
                    fit_continuum(wavelength, f, s, m, continuum_degree, error)
                    for f, s, m in zip(flux, sigma, labels.best_flux)
                ]
            # χ² of F against P·M with σ² + (P·σ_model)² is that of F/P against M with (σ/P)² + σ_model²
            scale = _continua_flux(continua, wavelength)
            labels = fit_labels(flux / scale, emulator, sigma / scale, **options)
        for k, i in enumerate(members):
            fits[i] = SpectrumFit(
                labels.star(k), flux[k], sigma[k], float(velocity[k]), float(velocity_err[k]), group[k],
                wavelength, error, continua[k],
            )
    _warn_out_of_domain(fits)
    return fits


def fit_continuum(
    wavelength: np.ndarray,
    flux: np.ndarray,
    sigma: np.ndarray,
    model: np.ndarray,
    degree: int,
    model_error: np.ndarray | float = 0.0,
) -> Legendre:
    """The Legendre polynomial P of ``degree`` in ``wavelength`` (Å) that minimises
    Σ (flux − P·model)² / (σ² + σ_model²) over the usable pixels (finite flux, finite positive σ):
    weighted linear least squares of flux/model. Its domain is the wavelength range of those pixels
    (x = −1 at the bluest, +1 at the reddest); ``P.coef`` are the coefficients, lowest degree first."""
    usable = np.isfinite(flux) & np.isfinite(sigma) & (sigma > 0)
    variance = sigma**2 + np.broadcast_to(model_error, sigma.shape) ** 2
    weight = model[usable] / np.sqrt(variance[usable])  # (flux/model − P)·model/σ = (flux − P·model)/σ
    return Legendre.fit(wavelength[usable], flux[usable] / model[usable], degree, w=weight)


def degrade(spectrum: ObservedSpectrum, resolution: float) -> ObservedSpectrum:
    """``spectrum`` (resolving power R_obs = ``spectrum.resolution``, λ/Δλ of the FWHM) degraded to
    ``resolution`` R < R_obs: convolved with a Gaussian in ln λ of FWHM √(1/R² − 1/R_obs²), as
    Gaussians add in quadrature (the instrumental profile of :mod:`specgen.synth.broaden`).
    ``meta`` gets ``resolution`` R and ``degraded_from`` R_obs.

    It convolves on the spectrum's own wavelengths, before any resampling onto a model's grid:
    resampling first would interpolate, not average, an observation sampled finer than the model,
    aliasing its sharp lines. The wavelengths need not be uniform in ln λ (unlike
    :func:`~specgen.synth.broaden.broaden`): each pixel weighs the kernel integrated over it (edges
    halfway between wavelengths), normalised to unit sum, as
    :func:`~specgen.synth.broaden.gaussian_kernel` on a uniform grid. σ is the square root of σ²
    convolved with the squared weights, the pixels' noise taken as independent: right pixel by
    pixel, but neighbouring pixels now correlate over the kernel's width, which χ² ignores, so the
    fitted uncertainties are optimistic. A pixel whose kernel (cut at ±5σ) reaches a missing pixel
    or beyond an end of the spectrum is left NaN."""
    observed = spectrum.resolution
    if observed is None or not observed > resolution:
        raise ValueError(f"degrade needs a spectrum sharper than R = {resolution:g}; its resolution is {observed}")
    width = FWHM_TO_SIGMA * np.sqrt(1 / resolution**2 - 1 / observed**2)  # σ of the kernel, in ln λ
    x = np.log(spectrum.wavelength)
    edges = np.concatenate([[1.5 * x[0] - 0.5 * x[1]], 0.5 * (x[1:] + x[:-1]), [1.5 * x[-1] - 0.5 * x[-2]]])
    half = int(np.ceil(KERNEL_HALF_WIDTH * width / np.diff(x).min()))
    missing = ~np.isfinite(spectrum.flux)
    flux, variance = np.where(missing, 0.0, spectrum.flux), spectrum.uncertainty**2
    pixel = np.arange(x.size)
    total, convolved, convolved_variance = np.zeros(x.size), np.zeros(x.size), np.zeros(x.size)
    masked = np.zeros(x.size, dtype=bool)
    # Neighbour k of every pixel at once; beyond the ends both edges clip to the same one: weight 0.
    below = erf((edges[np.clip(pixel - half, 0, x.size)] - x) / (np.sqrt(2) * width))
    for k in range(-half, half + 1):
        neighbour = pixel + k
        above = erf((edges[np.clip(neighbour + 1, 0, x.size)] - x) / (np.sqrt(2) * width))
        weight, below = 0.5 * (above - below), above
        inside = np.clip(neighbour, 0, x.size - 1)
        total += weight
        convolved += weight * flux[inside]
        convolved_variance += weight**2 * variance[inside]
        masked |= (neighbour < 0) | (neighbour >= x.size) | missing[inside]
    return replace(
        spectrum,
        flux=np.where(masked, np.nan, convolved / total),
        uncertainty=np.where(masked, np.nan, np.sqrt(convolved_variance) / total),
        meta=spectrum.meta | {"resolution": float(resolution), "degraded_from": float(observed)},
    )


def _with_errors(spectrum: ObservedSpectrum, snr: float | None) -> ObservedSpectrum:
    """``spectrum`` with σ = 1/``snr`` if given; refused if it has no σ of its own and no ``snr``."""
    if snr is not None:
        return replace(spectrum, uncertainty=np.full_like(spectrum.flux, 1.0 / snr))
    if np.isnan(spectrum.uncertainty).all():
        raise SpectrumError(f"{_name(spectrum)} gives no flux errors: pass snr")
    return spectrum


def _matched(spectrum: ObservedSpectrum, training: LabelRange, resolution: float | None) -> ObservedSpectrum:
    """``spectrum`` with its resolution R_obs (``resolution`` if given, else its own; unchanged when
    neither is known) one the model can hold: R_obs inside the ``training`` range, or degraded to its
    top (:func:`degrade`) from above it; a :class:`~specgen.labels.LabelError` below it."""
    observed = spectrum.resolution if resolution is None else float(resolution)
    if observed is None:
        return spectrum
    if observed < training.low:
        raise LabelError(
            f"{_name(spectrum)}: resolution R = {observed:g} is below the model's training range "
            f"{training.low:g}–{training.high:g}: fit it with a model trained down to it"
        )
    spectrum = replace(spectrum, meta=spectrum.meta | {"resolution": observed})
    return degrade(spectrum, training.high) if observed > training.high else spectrum


def _by_resolution(spectra, hold: bool) -> dict[float | None, list[int]]:
    """Indices of ``spectra`` by the resolution to hold (None: fit it): their own if ``hold``."""
    groups: dict[float | None, list[int]] = {}
    for i, spectrum in enumerate(spectra):
        groups.setdefault(spectrum.resolution if hold else None, []).append(i)
    return groups


def _rest_frame(spectra, velocity: np.ndarray, wavelength: np.ndarray, medium: str) -> tuple[np.ndarray, np.ndarray]:
    """Flux and σ ``(n, n_pix)`` of ``spectra`` moved to rest by ``velocity`` (km/s) and resampled onto
    ``wavelength`` (Å, in ``medium``)."""
    resampled = [spectrum.shifted(v).on_grid(wavelength, medium) for spectrum, v in zip(spectra, velocity)]
    flux, sigma = (np.array(arrays) for arrays in zip(*resampled))
    return flux, sigma


def _continuum_flux(continuum: Legendre | None, wavelength: np.ndarray) -> np.ndarray:
    return np.ones_like(wavelength) if continuum is None else continuum(wavelength)


def _continua_flux(continua: Sequence[Legendre | None], wavelength: np.ndarray) -> np.ndarray:
    return np.array([_continuum_flux(continuum, wavelength) for continuum in continua])


def _warn_out_of_domain(fits: list[SpectrumFit]) -> None:
    edges = [
        (_name(fit.spectrum), [name for name, flag in zip(fit.labels.label_names, fit.labels.at_bound[0]) if flag])
        for fit in fits
    ]
    edges = [(source, names) for source, names in edges if names]
    if edges:
        listed = "; ".join(f"{', '.join(names)} of {source}" for source, names in edges[:5])
        warnings.warn(
            f"{listed}{' and more' if len(edges) > 5 else ''} ended on the edge of the training range "
            f"({len(edges)} of {len(fits)} spectra): those stars are probably outside the model's domain, and these "
            "values are bounds, not measurements",
            OutOfDomainWarning,
            stacklevel=3,
        )


def _name(spectrum: ObservedSpectrum) -> str:
    source = spectrum.meta.get("source_id")
    return Path(spectrum.meta.get("path", "the spectrum")).name + (f" (source {source})" if source else "")


def chi2_map(
    star: SpectrumFit, model: Emulator, x: str, y: str, n: int = 41
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """χ² of ``star``'s rest-frame spectrum on an ``n`` × ``n`` grid of labels ``x`` and ``y`` across
    their training ranges, every other label held at its best value (and the continuum correction
    and σ of the fit kept): a profile of the χ² landscape.

    Returns the ``x`` values ``(n,)``, the ``y`` values ``(n,)`` and χ² ``(n, n)`` indexed [y, x]."""
    names = star.labels.label_names
    ranges = [model.label_ranges[name] for name in (x, y)]
    xs, ys = (np.linspace(r.low, r.high, n) for r in ranges)
    labels = np.repeat(star.labels.labels[:1], n * n, axis=0)
    labels[:, names.index(x)] = np.tile(xs, n)
    labels[:, names.index(y)] = np.repeat(ys, n)
    usable = np.isfinite(star.flux) & np.isfinite(star.sigma)
    generated = model.generate(labels)[:, usable] * star.continuum_flux[usable]
    residual = (generated - star.flux[usable]) / star.sigma_total[usable]
    return xs, ys, np.sum(residual**2, axis=1).reshape(n, n)
