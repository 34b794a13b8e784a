"""Observed stars: a spectrum file → rest frame → labels fitted through the generator.

:func:`fit_spectrum` reads a spectrum (:func:`specgen.observed.read_spectrum`), holds the
instrument's resolution when it is known, optionally measures the radial velocity against the
best-fitting model and refits in the rest frame, and fits the labels with
:func:`specgen.inference.fit_labels`. A label that ends on an edge of the training range raises
an :class:`OutOfDomainWarning`: the star is probably outside the model's domain.

    result = fit_spectrum(EXAMPLE_SPECTRUM, "models/demo/emulator")
    result.table()     # teff, teff_err, teff_at_bound, ..., chi2_dof, n_pixels, velocity, velocity_err
    results = fit_spectra(read_spectra("my_gaia_stars/"), "models/demo/emulator", progress=True)
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .emulator import Emulator
from .inference import LabelFit, fit_labels
from .observed import ObservedSpectrum, SpectrumError, measure_velocity, read_spectrum

#: Label fit → velocity against its best model → refit in the rest frame, this many times.
VELOCITY_ITERATIONS = 2


class OutOfDomainWarning(UserWarning):
    """A fitted label sits on the edge of the model's training range."""


@dataclass(frozen=True)
class SpectrumFit:
    """The fit of one observed spectrum: ``labels`` (a one-star :class:`LabelFit`), the observed
    ``flux`` and ``sigma`` on the model's wavelengths in the rest frame (NaN and ∞ where masked),
    the radial ``velocity`` and ``velocity_err`` (km/s; 0 and NaN when not fitted), and the
    ``spectrum`` as read."""

    labels: LabelFit
    flux: np.ndarray
    sigma: np.ndarray
    velocity: float
    velocity_err: float
    spectrum: ObservedSpectrum

    @property
    def best_flux(self) -> np.ndarray:
        """The generated spectrum at the fitted labels, on the model's wavelengths."""
        return self.labels.best_flux[0]

    def table(self) -> pd.DataFrame:
        """One row: ``spectrum`` (file name and source), the labels' table (:meth:`LabelFit.table`),
        ``held`` (the labels held fixed), ``velocity`` and ``velocity_err``."""
        row = self.labels.table().assign(
            held=",".join(self.labels.fixed), velocity=self.velocity, velocity_err=self.velocity_err
        )
        return row.assign(spectrum=_name(self.spectrum))[["spectrum", *row.columns]]


def fit_spectrum(
    spectrum: ObservedSpectrum | str | os.PathLike, model: Emulator | str | os.PathLike, **options
) -> SpectrumFit:
    """Fit the labels of one observed spectrum (an :class:`~specgen.observed.ObservedSpectrum` or a
    file for :func:`~specgen.observed.read_spectrum`): :func:`fit_spectra` for one star, with the
    same keyword ``options`` (``snr``, ``fixed``, ``fit_resolution``, ``fit_velocity``, ...)."""
    spectrum = spectrum if isinstance(spectrum, ObservedSpectrum) else read_spectrum(spectrum)
    return fit_spectra([spectrum], model, **options)[0]


def fit_spectra(
    spectra: Sequence[ObservedSpectrum],
    model: Emulator | str | os.PathLike,
    *,
    snr: float | None = None,
    fixed: Mapping[str, float] | None = None,
    fit_resolution: bool = False,
    fit_velocity: bool = False,
    velocity_limit: float = 500.0,
    n_starts: int = 8,
    seed: int = 0,
    progress: bool = False,
) -> list[SpectrumFit]:
    """Fit the labels of observed spectra through the generator, all stars in one batch
    (:func:`~specgen.inference.fit_labels`; spectra of different known resolutions in one batch each).

    Each spectrum is resampled onto the model's wavelengths; pixels outside its range or next to
    missing ones are left out. σ is the file's flux error, or 1/``snr`` where ``snr`` is given
    (needed when a file has no errors). When the instrument's resolution is known (Gaia RVS:
    11,500) and the model has a ``resolution`` label, that label is held at it unless
    ``fit_resolution``; ``fixed`` holds other labels (or overrides it). With ``fit_velocity`` each
    radial velocity (within ±``velocity_limit`` km/s) is measured against the star's best model
    and the labels refitted in the rest frame, :data:`VELOCITY_ITERATIONS` times. Labels that end
    on an edge of the training range give one :class:`OutOfDomainWarning` naming the stars.
    """
    emulator = model if isinstance(model, Emulator) else Emulator.load(model)
    spectra = [_with_errors(spectrum, snr) for spectrum in spectra]
    fits: list[SpectrumFit | None] = [None] * len(spectra)
    for resolution, members in _by_resolution(spectra, emulator, fit_resolution).items():
        held = {} if resolution is None else {"resolution": resolution}
        options = {"fixed": held | dict(fixed or {}), "n_starts": n_starts, "seed": seed, "progress": progress}
        group = [spectra[i] for i in members]
        velocity, velocity_err = np.zeros(len(group)), np.full(len(group), np.nan)
        labels, flux, sigma = _fit_in_rest_frame(group, velocity, emulator, options)
        for _ in range(VELOCITY_ITERATIONS if fit_velocity else 0):
            measured = [
                measure_velocity(spectrum, emulator.wavelength, best, limit=velocity_limit)
                for spectrum, best in zip(group, labels.best_flux)
            ]
            velocity, velocity_err = np.array(measured).T
            labels, flux, sigma = _fit_in_rest_frame(group, velocity, emulator, options)
        for k, i in enumerate(members):
            star = labels.star(k)
            fits[i] = SpectrumFit(star, flux[k], sigma[k], float(velocity[k]), float(velocity_err[k]), group[k])
    _warn_out_of_domain(fits)
    return fits


def _with_errors(spectrum: ObservedSpectrum, snr: float | None) -> ObservedSpectrum:
    """``spectrum`` with σ = 1/``snr`` if given; refused if it has no σ of its own and no ``snr``."""
    if snr is not None:
        return replace(spectrum, uncertainty=np.full_like(spectrum.flux, 1.0 / snr))
    if np.isnan(spectrum.uncertainty).all():
        raise SpectrumError(f"{_name(spectrum)} gives no flux errors: pass snr")
    return spectrum


def _by_resolution(spectra, emulator: Emulator, fit_resolution: bool) -> dict[float | None, list[int]]:
    """Indices of ``spectra`` by the resolution to hold (None: fit it)."""
    groups: dict[float | None, list[int]] = {}
    for i, spectrum in enumerate(spectra):
        hold = spectrum.resolution is not None and "resolution" in emulator.label_names and not fit_resolution
        groups.setdefault(spectrum.resolution if hold else None, []).append(i)
    return groups


def _fit_in_rest_frame(spectra, velocity: np.ndarray, emulator: Emulator, options: dict):
    """(LabelFit, flux, σ) of ``spectra`` moved to rest by ``velocity`` (km/s) and resampled."""
    resampled = [spectrum.shifted(v).on_grid(emulator.wavelength) for spectrum, v in zip(spectra, velocity)]
    flux, sigma = (np.array(arrays) for arrays in zip(*resampled))
    return fit_labels(flux, emulator, sigma, **options), flux, sigma


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
    their training ranges, every other label held at its best value: a profile of the χ² landscape.

    Returns the ``x`` values ``(n,)``, the ``y`` values ``(n,)`` and χ² ``(n, n)`` indexed [y, x]."""
    names = star.labels.label_names
    ranges = [model.label_ranges[name] for name in (x, y)]
    xs, ys = (np.linspace(r.low, r.high, n) for r in ranges)
    labels = np.repeat(star.labels.labels[:1], n * n, axis=0)
    labels[:, names.index(x)] = np.tile(xs, n)
    labels[:, names.index(y)] = np.repeat(ys, n)
    usable = np.isfinite(star.flux) & np.isfinite(star.sigma)
    residual = (model.generate(labels)[:, usable] - star.flux[usable]) / star.sigma[usable]
    return xs, ys, np.sum(residual**2, axis=1).reshape(n, n)
