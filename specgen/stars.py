"""Observed stars: a spectrum file → rest frame → labels fitted through the generator.

:func:`fit_spectrum` reads a spectrum (:func:`specgen.observed.read_spectrum`), holds the
instrument's resolution when it is known, optionally measures the radial velocity against the
best-fitting model and refits in the rest frame, and fits the labels with
:func:`specgen.inference.fit_labels`. A label that ends on an edge of the training range raises
an :class:`OutOfDomainWarning`: the star is probably outside the model's domain.

    result = fit_spectrum(EXAMPLE_SPECTRUM, "models/demo/emulator")
    result.table()     # teff, teff_err, teff_at_bound, ..., chi2_dof, n_pixels, velocity, velocity_err
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

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
        """One row: the labels' table (:meth:`LabelFit.table`) with ``velocity`` and ``velocity_err``."""
        return self.labels.table().assign(velocity=self.velocity, velocity_err=self.velocity_err)


def fit_spectrum(
    spectrum: ObservedSpectrum | str | os.PathLike,
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
) -> SpectrumFit:
    """Fit the labels of one observed spectrum (an :class:`~specgen.observed.ObservedSpectrum` or a
    file for :func:`~specgen.observed.read_spectrum`) through the generator.

    The spectrum is resampled onto the model's wavelengths; pixels outside its range or next to
    missing ones are left out. σ is the file's flux error, or 1/``snr`` where ``snr`` is given
    (needed when the file has no errors). When the instrument's resolution is known (Gaia RVS:
    11,500) and the model has a ``resolution`` label, that label is held at it unless
    ``fit_resolution``; ``fixed`` holds other labels (or overrides it). With ``fit_velocity`` the
    radial velocity (within ±``velocity_limit`` km/s) is measured against the best-fitting model
    and the labels refitted in the rest frame, :data:`VELOCITY_ITERATIONS` times.
    """
    emulator = model if isinstance(model, Emulator) else Emulator.load(model)
    spectrum = spectrum if isinstance(spectrum, ObservedSpectrum) else read_spectrum(spectrum)
    source = Path(spectrum.meta.get("path", "the spectrum")).name
    if snr is not None:
        spectrum = replace(spectrum, uncertainty=np.full_like(spectrum.flux, 1.0 / snr))
    elif np.isnan(spectrum.uncertainty).all():
        raise SpectrumError(f"{source} gives no flux errors: pass snr")
    instrument = {}
    if spectrum.resolution is not None and "resolution" in emulator.label_names and not fit_resolution:
        instrument["resolution"] = spectrum.resolution
    options = {"fixed": instrument | dict(fixed or {}), "n_starts": n_starts, "seed": seed, "progress": progress}

    velocity, velocity_err = 0.0, np.nan
    flux, sigma = spectrum.on_grid(emulator.wavelength)
    labels = fit_labels(flux, emulator, sigma, **options)
    for _ in range(VELOCITY_ITERATIONS if fit_velocity else 0):
        velocity, velocity_err = measure_velocity(
            spectrum, emulator.wavelength, labels.best_flux[0], limit=velocity_limit
        )
        flux, sigma = spectrum.shifted(velocity).on_grid(emulator.wavelength)
        labels = fit_labels(flux, emulator, sigma, **options)

    edges = [name for name, flag in zip(labels.label_names, labels.at_bound[0]) if flag]
    if edges:
        warnings.warn(
            f"{', '.join(edges)} of {source} ended on the edge of the training range: the star is probably "
            "outside the model's domain, and these values are bounds, not measurements",
            OutOfDomainWarning,
            stacklevel=2,
        )
    return SpectrumFit(labels, flux, sigma, velocity, velocity_err, spectrum)


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
