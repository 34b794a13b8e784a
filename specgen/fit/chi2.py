"""Stellar labels from observed spectra, fitted through the emulator (beyond the paper).

The generator decoder∘mapper is differentiable, so the labels of an observed spectrum can be
found by minimising

    χ² = Σ_pixels ((F_obs − F_model(labels)) / σ)²

Each free label lives in the emulator's training range as ``low + (high − low)·sigmoid(u)``, so
the fit never leaves the domain the networks were trained on. The starts are amortised: a library
of :data:`LIBRARY` generated spectra (labels on a scrambled Sobol sequence, made once per call) is
compared with every star by two matrix products, and each star starts from the ``n_starts``
library labels of lowest χ². From there Levenberg–Marquardt steps, with the Jacobian
``∂F_model/∂u`` from central differences, reach the bottom of the basin in a few iterations; a row stops when a step lowers its χ² by less than ``tolerance``. All stars ×
starts of a batch go through the network together; per star the start with the lowest χ² wins.
Uncertainties come from the curvature there: the Gauss–Newton covariance ``(Jᵀ W J)⁻¹`` with
``J = ∂F_model/∂labels`` and ``W = 1/σ²``.

σ is the observation's noise, to which the generator's own error (``model_error``, per pixel) can
be added in quadrature, σ² = σ_obs² + σ_model²: without it a generator whose errors exceed the
noise gives uncertainties that are too small. :func:`generator_error` measures σ_model as the
RMS of generated − radiative-transfer flux over spectra the generator was not trained on. It
treats the generator's errors as independent between pixels, which they are not: the
uncertainties grow towards honest ones, without reaching them for a generator as coarse as ci's.

    fit = fit_labels(flux, "models/ci/emulator", sigma=0.01, fixed={"resolution": 11500})
    error = generator_error("models/ci/emulator", "data/ci/test.h5")   # σ_model (n_pix,), continuum units
    fit = fit_labels(flux, "models/ci/emulator", sigma=0.01, model_error=error)
    fit.table()  # teff, teff_err, teff_at_bound, ..., chi2_dof, n_pixels, degenerate

Flux is continuum-normalised, on the emulator's wavelength grid; labels are in the grid's units
(teff K, logg dex, vsini km/s, m_h dex, xi_t km/s, resolution λ/Δλ).
"""

from __future__ import annotations

import os
import weakref
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np
import pandas as pd
import tensorflow as tf
from scipy.special import expit
from scipy.stats import qmc
from tqdm import tqdm

from specgen.grid import Grid, as_grid
from specgen.labels import LABEL_UNITS, LabelError
from specgen.model.emulator import Emulator, as_emulator
from specgen.model.evaluate import check_wavelengths

#: Starts per star by default: the library's two best (more find a lower χ² for some stars, rarely better labels).
N_STARTS = 2
#: Generated spectra whose χ² against each star chooses its starts (a power of 2: Sobol points).
LIBRARY = 4096
#: A Levenberg–Marquardt row has converged when an accepted step lowers its χ² by less than this
#: (by default: 0.01 is a tenth of σ along the label that moves).
TOLERANCE = 1e-2
#: Step of the central differences that give the Jacobians, in the network's scaled labels (about 1% of a
#: range): wide enough to average over the kinks of leaky-ReLU networks, whose exact derivatives jump.
_DIFFERENCE_STEP = 3e-2
#: A free label closer to a bound of its training range than this fraction of the range is flagged.
BOUND_FRACTION = 0.01
#: Library labels are drawn in this inner fraction of each range (a start on a bound has u = ±∞).
_START_MARGIN = 0.05
#: Start libraries kept per emulator (one per set of fixed labels and seed).
_LIBRARIES_KEPT = 2
#: A Fisher matrix scaled to unit diagonal whose smallest eigenvalue is below this fraction of its
#: largest leaves a combination of labels unconstrained.
_DEGENERATE = 1e-10


@dataclass(frozen=True)
class LabelFit:
    """Best-fitting labels of ``n_stars`` spectra, columns in :attr:`label_names` order.

    ``labels`` and ``uncertainties`` (1σ, Gauss–Newton; 0 for fixed labels, inf where
    ``degenerate``) are ``(n_stars, n_labels)`` in the labels' units; ``covariance`` is
    ``(n_stars, n_labels, n_labels)`` (zero rows and columns for fixed labels). ``chi2`` and
    ``n_pixels`` (pixels used) are per star; ``at_bound`` marks free labels within
    :data:`BOUND_FRACTION` of the range width of a bound of the training range: the spectrum
    asks for a value the emulator cannot give, and the uncertainty there means little. The
    uncertainties count the noise, and the emulator's own errors only where the fit was given a
    ``model_error``: without it, where ``chi2_dof`` is well above 1, they are too small.
    ``best_flux`` is the model spectrum at ``labels``, ``(n_stars, n_pix)``.
    """

    labels: np.ndarray
    uncertainties: np.ndarray
    covariance: np.ndarray
    chi2: np.ndarray
    n_pixels: np.ndarray
    at_bound: np.ndarray
    degenerate: np.ndarray
    best_flux: np.ndarray
    label_names: tuple[str, ...]
    fixed: tuple[str, ...]

    @property
    def dof(self) -> np.ndarray:
        """Degrees of freedom: pixels used minus free labels."""
        return self.n_pixels - (len(self.label_names) - len(self.fixed))

    @property
    def chi2_dof(self) -> np.ndarray:
        """Reduced χ²: about 1 when the model fits to within the noise and σ is right."""
        return self.chi2 / self.dof

    def star(self, index: int) -> LabelFit:
        """The fit of star ``index`` alone, as a one-star :class:`LabelFit`."""
        rows = slice(index, index + 1)
        per_star = ("labels", "uncertainties", "covariance", "chi2", "n_pixels", "at_bound", "degenerate", "best_flux")
        return replace(self, **{name: getattr(self, name)[rows] for name in per_star})

    def table(self) -> pd.DataFrame:
        """One row per star: ``<label>``, ``<label>_err``, ``<label>_at_bound`` for every label,
        then ``chi2_dof``, ``n_pixels`` and ``degenerate``."""
        columns = {}
        for j, name in enumerate(self.label_names):
            columns[name] = self.labels[:, j]
            columns[f"{name}_err"] = self.uncertainties[:, j]
            columns[f"{name}_at_bound"] = self.at_bound[:, j]
        columns |= {"chi2_dof": self.chi2_dof, "n_pixels": self.n_pixels, "degenerate": self.degenerate}
        return pd.DataFrame(columns)


def fit_labels(
    flux: np.ndarray,
    model: Emulator | str | os.PathLike,
    sigma: float | np.ndarray,
    *,
    model_error: np.ndarray | None = None,
    fixed: Mapping[str, float] | None = None,
    n_starts: int = N_STARTS,
    seed: int = 0,
    max_steps: int = 30,
    tolerance: float = TOLERANCE,
    batch_size: int = 1024,
    progress: bool = False,
) -> LabelFit:
    """Fit the emulator's labels to observed spectra by χ² minimisation through the generator.

    ``flux`` is ``(n_pix,)`` for one star or ``(n_stars, n_pix)``, continuum-normalised, on the
    wavelength grid of ``model`` (an :class:`Emulator` or the directory of a saved one).
    ``sigma`` is the 1σ flux uncertainty per pixel: a scalar, ``(n_pix,)`` or ``(n_stars, n_pix)``.
    Pixels with non-finite flux or non-finite or non-positive ``sigma`` are left out. ``model_error``
    ``(n_pix,)`` is the generator's own 1σ error per pixel (continuum units, :func:`generator_error`),
    added to ``sigma`` in quadrature in χ² and in the uncertainties; None counts the noise only. ``fixed``
    holds labels at given values, e.g. ``{"resolution": 11500}`` for Gaia RVS; the other labels are
    fitted within the training ranges.

    Each star starts from the ``n_starts`` labels of a seeded library of :data:`LIBRARY` generated
    spectra that fit it best, and takes at most ``max_steps`` Levenberg–Marquardt steps from each,
    fewer once a step lowers χ² by less than ``tolerance``; a star's fit depends on its spectrum
    alone. Stars are fitted ``batch_size // n_starts`` at a time, all their starts in one batch;
    ``progress`` shows a bar over the stars. The result always has a star axis, also for one
    spectrum.

    Raises :class:`LabelError` for an unknown fixed label or a fixed value outside the training
    range, and ValueError for flux, ``sigma`` or ``model_error`` of the wrong shape, a negative or
    non-finite ``model_error``, or too few usable pixels.
    """
    emulator, _ = as_emulator(model)
    if not 1 <= n_starts <= LIBRARY or max_steps < 1:
        raise ValueError(f"n_starts must be 1 to {LIBRARY} and max_steps at least 1, got {n_starts} and {max_steps}")
    box = _Box.of(emulator, fixed or {})
    observed, weight = _observations(flux, sigma, model_error, emulator.n_pix, box.n_free)
    network = _network(emulator)
    library = network.library(box, seed)
    stars_per_batch = max(1, batch_size // n_starts)
    u = []
    with tqdm(total=len(observed), unit="star", desc="fit", disable=not progress, smoothing=0.1) as bar:
        for rows in _slices(len(observed), stars_per_batch):
            starts = library.starts(observed[rows], weight[rows], n_starts)
            objective = _Objective(network, box, observed[rows], weight[rows], n_starts)
            u.append(_best_start(objective, starts, max_steps, tolerance))
            bar.update(len(observed[rows]))
    return _result(network, box, np.concatenate(u), observed, weight, stars_per_batch)


def generator_error(model: Emulator | str | os.PathLike, grid: Grid | str | os.PathLike) -> np.ndarray:
    """The generator's own 1σ error per pixel, ``(n_pix,)`` in units of the continuum: the RMS over
    the spectra of ``grid`` (radiative transfer, a grid file or a :class:`Grid` on the model's
    wavelengths) of the flux generated at their labels minus theirs. The ``model_error`` of
    :func:`fit_labels`. Use spectra the generator was not trained on (a test grid), and not the
    star being fitted; rows outside the training ranges are extrapolated and count."""
    emulator, _ = as_emulator(model)
    grid, _ = as_grid(grid, "evaluation")
    check_wavelengths(emulator, grid)
    return np.sqrt(np.mean((emulator.generate_like(grid) - grid.flux.astype(np.float64)) ** 2, axis=0))


@dataclass(frozen=True)
class _Box:
    """The free labels, each mapped from an unbounded ``u`` into its training range, and the
    network input ``x = base + sigmoid(u) @ step`` (scaled labels; fixed ones are in ``base``)."""

    names: tuple[str, ...]
    free: np.ndarray  # indices of the free labels
    values: np.ndarray  # (n_labels,) physical: the fixed values, and the low bound of free labels
    width: np.ndarray  # (n_free,) physical width of the ranges of the free labels
    scale: np.ndarray  # (n_labels,) of the emulator's label scaling
    base: np.ndarray  # (n_labels,) scaled
    step: np.ndarray  # (n_free, n_labels): sigmoid(u) → scaled labels

    @classmethod
    def of(cls, emulator: Emulator, fixed: Mapping[str, float]) -> _Box:
        names = emulator.label_names
        check_fixed(fixed, emulator)
        free = np.array([j for j, name in enumerate(names) if name not in fixed], dtype=int)
        if free.size == 0:
            raise LabelError("every label is fixed: nothing to fit")
        ranges = [emulator.label_ranges[name] for name in names]
        values = np.array([fixed.get(name, r.low) for name, r in zip(names, ranges)], dtype=np.float64)
        width = np.array([ranges[j].high - ranges[j].low for j in free])
        offset, scale = emulator.label_scaler.offset, emulator.label_scaler.scale
        step = np.zeros((free.size, len(names)))
        step[np.arange(free.size), free] = width / scale[free]
        return cls(names, free, values, width, scale, (values - offset) / scale, step)

    @property
    def n_free(self) -> int:
        return self.free.size

    @property
    def fixed(self) -> tuple[str, ...]:
        return tuple(name for j, name in enumerate(self.names) if j not in self.free)

    def library(self, n: int, seed: int) -> np.ndarray:
        """``(n, n_free)`` ``u`` of a scrambled Sobol sequence (seeded) over the inner ranges."""
        points = qmc.Sobol(self.n_free, scramble=True, seed=seed).random(n)
        fraction = _START_MARGIN + (1 - 2 * _START_MARGIN) * points
        return np.log(fraction / (1 - fraction))

    def network_input(self, u: tf.Tensor | np.ndarray) -> tf.Tensor:
        """Scaled labels ``(n, n_labels)``, float32, for ``u`` ``(n, n_free)``."""
        u = tf.cast(u, tf.float32)
        return tf.constant(self.base, tf.float32) + tf.sigmoid(u) @ tf.constant(self.step, tf.float32)

    def physical(self, u: np.ndarray) -> np.ndarray:
        """All labels ``(n, n_labels)``, physical units, for ``u`` ``(n, n_free)``."""
        labels = np.tile(self.values, (len(u), 1))
        labels[:, self.free] += self.width * expit(u)
        return labels

    def fraction(self, labels: np.ndarray) -> np.ndarray:
        """Where the free labels sit in their ranges, 0 (low bound) to 1 (high bound)."""
        return (labels[:, self.free] - self.values[self.free]) / self.width

    def u_lengths(self, u: np.ndarray) -> np.ndarray:
        """``(n, n_free)``: the change of each free label's network input per unit of its ``u``."""
        s = expit(u)
        return self.width / self.scale[self.free] * s * (1 - s)

    def label_tangents(self, n: int) -> np.ndarray:
        """``(n, n_free, n_labels)``: the change of the network input per physical unit of each free label."""
        one_hot = np.zeros((self.n_free, len(self.names)))
        one_hot[np.arange(self.n_free), self.free] = 1 / self.scale[self.free]
        return np.broadcast_to(one_hot, (n, *one_hot.shape))


class _Network:
    """The emulator's generator compiled once for the fits: flux, its exact Jacobian (for the
    covariance), and the normal equations of a Levenberg–Marquardt step from the emulator's central
    differences (:meth:`~specgen.model.emulator.Emulator.network_differences`; forward-mode
    differentiation through the factorised kind's broadening costs 35 forward passes per row)."""

    def __init__(self, emulator: Emulator):
        n = len(emulator.label_names)
        self.emulator = emulator
        self.flux = tf.function(emulator.network_flux, input_signature=[tf.TensorSpec((None, n), tf.float32)])

        @tf.function(input_signature=[tf.TensorSpec((None, n), tf.float32), tf.TensorSpec((None, None, n), tf.float32)])
        def jacobian(x: tf.Tensor, tangents: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            """Flux at ``x`` and its exact derivatives along ``tangents`` (forward mode, every row
            repeated once per tangent): a degenerate direction has exactly zero curvature."""
            rows, k = tf.shape(tangents)[0], tf.shape(tangents)[1]
            repeated = tf.repeat(x, k, axis=0)
            with tf.autodiff.ForwardAccumulator(repeated, tf.reshape(tangents, (rows * k, n))) as acc:
                flux = emulator.network_flux(repeated)
            return flux[::k], tf.reshape(acc.jvp(flux), (rows, k, -1))

        self.jacobian = jacobian
        self._normal_equations: dict[tuple[int, ...], tf.types.experimental.PolymorphicFunction] = {}
        self._libraries: OrderedDict[tuple, _Library] = OrderedDict()

    def normal_equations(self, axes: tuple[int, ...]) -> tf.types.experimental.PolymorphicFunction:
        """``(x, length, observed, weight) → (JᵀWJ, JᵀW r, χ²)`` at network inputs ``x``, compiled once per
        set of free network inputs ``axes``: ``J`` holds the central differences of
        :data:`_DIFFERENCE_STEP` along each of ``axes``, times ``length`` ``(n_rows, len(axes))``, the
        change of that input per unit of the fitted variable (forward differences leave χ² minima
        several units too high)."""
        if axes not in self._normal_equations:
            rows = tf.TensorSpec((None, None), tf.float32)

            @tf.function(input_signature=[rows, rows, rows, rows])
            def normal_equations(x, length, observed, weight):
                flux, derivatives = self.emulator.network_differences(x, axes, _DIFFERENCE_STEP)
                jacobian = derivatives * length[:, :, None]
                weighted, residual = jacobian * weight[:, None, :], observed - flux
                return (tf.linalg.matmul(weighted, jacobian, transpose_b=True),
                        tf.linalg.matvec(weighted, residual), tf.reduce_sum(weight * residual**2, axis=1))

            self._normal_equations[axes] = normal_equations
        return self._normal_equations[axes]

    def library(self, box: _Box, seed: int) -> _Library:
        """The start library of ``box`` (its free labels and fixed values) and ``seed``, made at the first
        fit that needs it and reused by later ones, such as a survey's chunks; the last
        :data:`_LIBRARIES_KEPT` are kept (65 MB each at 4,000 pixels)."""
        key = (box.free.tobytes(), box.values.tobytes(), seed)  # values: the fixed labels' and the free ones' low bounds
        if key not in self._libraries:
            self._libraries[key] = _Library.of(self, box, seed)
            while len(self._libraries) > _LIBRARIES_KEPT:
                self._libraries.popitem(last=False)
        self._libraries.move_to_end(key)
        return self._libraries[key]


_NETWORKS: weakref.WeakKeyDictionary[Emulator, _Network] = weakref.WeakKeyDictionary()


def _network(emulator: Emulator) -> _Network:
    """The emulator's :class:`_Network`, traced at its first fit and reused by every later one."""
    if emulator not in _NETWORKS:
        _NETWORKS[emulator] = _Network(emulator)
    return _NETWORKS[emulator]


@dataclass(frozen=True)
class _Library:
    """Generated spectra, as line depths ``1 − flux`` ``(n, n_pix)``, at library points ``u`` ``(n, n_free)``."""

    u: np.ndarray
    depth: np.ndarray  # 1 − flux, float32: small numbers, whose products float32 sums accurately

    @classmethod
    def of(cls, network: _Network, box: _Box, seed: int) -> _Library:
        u = box.library(LIBRARY, seed)
        flux = np.concatenate([network.flux(box.network_input(u[rows])).numpy() for rows in _slices(len(u), 1024)])
        return cls(u, 1 - flux)

    def starts(self, flux: np.ndarray, weight: np.ndarray, n_starts: int) -> np.ndarray:
        """``(n_stars · n_starts, n_free)``: per star, the library points of lowest χ², best first."""
        weight, depth = weight.astype(np.float32), (1 - flux).astype(np.float32)
        chi2 = weight @ np.square(self.depth).T - 2 * (weight * depth) @ self.depth.T  # + Σ w (1 − F_obs)², the same per star
        best = np.argpartition(chi2, n_starts - 1, axis=1)[:, :n_starts]
        best = np.take_along_axis(best, np.argsort(np.take_along_axis(chi2, best, axis=1), axis=1), axis=1)
        return self.u[best.ravel()]


class _Objective:
    """χ² of rows of ``u`` against observed spectra, ``n_starts`` consecutive rows per star."""

    def __init__(self, network: _Network, box: _Box, flux: np.ndarray, weight: np.ndarray, n_starts: int):
        self.network, self.box, self.n_starts = network, box, n_starts
        self.flux = tf.constant(np.repeat(flux, n_starts, axis=0), tf.float32)
        self.weight = tf.constant(np.repeat(weight, n_starts, axis=0), tf.float32)

    @property
    def n_stars(self) -> int:
        return len(self.flux) // self.n_starts

    def chi2(self, u: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """χ² ``(len(rows),)`` of ``rows`` at ``u`` ``(len(rows), n_free)``."""
        flux, weight = tf.gather(self.flux, rows), tf.gather(self.weight, rows)
        model = self.network.flux(self.box.network_input(u))
        return tf.reduce_sum(weight * (flux - model) ** 2, axis=1).numpy().astype(np.float64)

    def normal_equations(self, u: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``JᵀWJ`` ``(n, n_free, n_free)``, ``JᵀW r`` ``(n, n_free)`` and χ² ``(n,)`` of ``rows`` at ``u``,
        with ``J = ∂F_model/∂u`` and ``r = F_obs − F_model``."""
        fisher, gradient, chi2 = self.network.normal_equations(tuple(self.box.free.tolist()))(
            self.box.network_input(u), tf.constant(self.box.u_lengths(u), tf.float32),
            tf.gather(self.flux, rows), tf.gather(self.weight, rows),
        )
        return fisher.numpy().astype(np.float64), gradient.numpy().astype(np.float64), chi2.numpy().astype(np.float64)


def check_fixed(fixed: Mapping[str, float], emulator: Emulator) -> None:
    """Raise a :class:`LabelError` for a fixed label the emulator lacks or a value outside its training range."""
    unknown = sorted(set(fixed) - set(emulator.label_names))
    if unknown:
        raise LabelError(
            f"cannot fix unknown label(s) {unknown}; this emulator's labels are {list(emulator.label_names)}"
        )
    for name, value in fixed.items():
        r = emulator.label_ranges[name]
        if not np.isfinite(value) or not r.low <= value <= r.high:
            raise LabelError(
                f"fixed {name}={value:g} is outside the training range [{r.low:g}, {r.high:g}] "
                f"{LABEL_UNITS.get(name, '')}"
            )


def _observations(
    flux: np.ndarray, sigma: float | np.ndarray, model_error: np.ndarray | None, n_pix: int, n_free: int
) -> tuple[np.ndarray, np.ndarray]:
    """(flux with masked pixels set to 0, weights 1/(σ² + σ_model²) with 0 for masked pixels), both
    ``(n_stars, n_pix)``."""
    flux = np.asarray(flux, dtype=np.float64)
    if flux.ndim == 1:
        flux = flux[np.newaxis]
    if flux.ndim != 2 or flux.shape[1] != n_pix:
        raise ValueError(
            f"flux must have shape ({n_pix},) or (n_stars, {n_pix}) for this emulator, got {np.shape(flux)}"
        )
    sigma = np.asarray(sigma, dtype=np.float64)
    try:
        sigma = np.broadcast_to(sigma, flux.shape)
    except ValueError:
        raise ValueError(f"sigma must be a scalar, ({n_pix},) or {flux.shape}, got {sigma.shape}") from None
    usable = np.isfinite(flux) & np.isfinite(sigma) & (sigma > 0)
    n_usable = usable.sum(axis=1)
    if (n_usable <= n_free).any():
        first = int(np.flatnonzero(n_usable <= n_free)[0])
        raise ValueError(
            f"star {first} has {n_usable[first]} usable pixels (finite flux, finite positive sigma), "
            f"not more than the {n_free} free labels"
        )
    variance = np.where(usable, sigma, 1.0) ** 2 + _model_variance(model_error, n_pix)
    return np.where(usable, flux, 0.0), np.where(usable, 1 / variance, 0.0)


def _model_variance(model_error: np.ndarray | None, n_pix: int) -> np.ndarray | float:
    """σ_model² ``(n_pix,)``, or 0 without a model error."""
    if model_error is None:
        return 0.0
    model_error = np.asarray(model_error, dtype=np.float64)
    if model_error.shape != (n_pix,) or not np.all(np.isfinite(model_error) & (model_error >= 0)):
        raise ValueError(f"model_error must be ({n_pix},), finite and non-negative, got shape {model_error.shape}")
    return model_error**2


def _slices(n: int, size: int) -> list[slice]:
    return [slice(start, start + size) for start in range(0, n, size)]


def _best_start(objective: _Objective, starts: np.ndarray, max_steps: int, tolerance: float) -> np.ndarray:
    """``u`` ``(n_stars, n_free)``: of each star's ``starts``, the one with the lowest χ² after
    Levenberg–Marquardt."""
    n_stars = objective.n_stars
    u, chi2 = _levenberg_marquardt(objective, starts, max_steps, tolerance)
    best = chi2.reshape(n_stars, -1).argmin(axis=1)
    return u.reshape(n_stars, objective.n_starts, -1)[np.arange(n_stars), best]


def _levenberg_marquardt(
    objective: _Objective, u: np.ndarray, max_steps: int, tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """(``u``, χ²) of every row after at most ``max_steps`` Levenberg–Marquardt steps from ``u``.

    A step solves ``(JᵀWJ + λ diag JᵀWJ) δ = JᵀW r`` and is taken where it lowers χ²; λ, per row,
    then follows Nielsen's rule (shrunk by how well the linear model predicted the decrease, else
    grown by 2, 4, 8, ...). A row stops once a step lowers its χ² by less than ``tolerance``, or
    λ has grown past 10⁶ (no step lowers it); only the others go on through the network. The
    pseudo-inverse copes with a label whose sigmoid has saturated at a bound (a zero column of J)."""
    u, chi2 = u.copy(), np.full(len(u), np.inf)
    damping, growth = np.full(len(u), 1e-2), np.full(len(u), 2.0)
    active = np.arange(len(u))
    for _ in range(max_steps):
        fisher, gradient, chi2[active] = objective.normal_equations(u[active], active)
        damped = fisher + damping[active, None, None] * fisher * np.eye(u.shape[1])
        step = (np.linalg.pinv(damped) @ gradient[..., None])[..., 0]
        predicted = 2 * np.einsum("rk,rk->r", gradient, step) - np.einsum("rk,rkl,rl->r", step, fisher, step)
        trial_chi2 = objective.chi2(u[active] + step, active)
        gain = (chi2[active] - trial_chi2) / np.maximum(predicted, 1e-30)
        better = trial_chi2 < chi2[active]
        converged = better & (chi2[active] - trial_chi2 < tolerance)
        u[active[better]] += step[better]
        chi2[active[better]] = trial_chi2[better]
        # Nielsen's update of λ: by the agreement of the actual decrease with the predicted one
        damping[active] = np.where(better, damping[active] * np.maximum(1 / 3, 1 - (2 * gain - 1) ** 3),
                                   damping[active] * growth[active])
        growth[active] = np.where(better, 2.0, growth[active] * 2)
        active = active[~converged & (damping[active] < 1e6)]
        if active.size == 0:
            break
    return u, chi2


def _result(
    network: _Network, box: _Box, u: np.ndarray, flux: np.ndarray, weight: np.ndarray, batch_size: int
) -> LabelFit:
    """The :class:`LabelFit` at the best ``u`` ``(n_stars, n_free)``, its Jacobians ``batch_size`` stars at a time."""
    labels = box.physical(u)
    best_flux, free_covariance, degenerate = [], [], []
    for rows in _slices(len(u), batch_size):
        at = u[rows]
        model, jacobian = network.jacobian(box.network_input(at), tf.constant(box.label_tangents(len(at)), tf.float32))
        best_flux.append(model.numpy())
        covariance, singular = _covariance(jacobian.numpy().astype(np.float64), weight[rows])
        free_covariance.append(covariance)
        degenerate.append(singular)
    best_flux, free_covariance, degenerate = (np.concatenate(part) for part in (best_flux, free_covariance, degenerate))
    covariance = np.zeros((len(u), len(box.names), len(box.names)))
    covariance[:, box.free[:, None], box.free] = free_covariance
    fraction = box.fraction(labels)
    at_bound = np.zeros(labels.shape, dtype=bool)
    at_bound[:, box.free] = (fraction < BOUND_FRACTION) | (fraction > 1 - BOUND_FRACTION)
    return LabelFit(
        labels=labels,
        uncertainties=np.sqrt(np.diagonal(covariance, axis1=1, axis2=2)),
        covariance=covariance,
        chi2=np.sum(weight * (flux - best_flux.astype(np.float64)) ** 2, axis=1),
        n_pixels=(weight > 0).sum(axis=1),
        at_bound=at_bound,
        degenerate=degenerate,
        best_flux=best_flux,
        label_names=box.names,
        fixed=box.fixed,
    )


def _covariance(jacobian: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Newton covariance ``(Jᵀ W J)⁻¹`` ``(n_stars, n_free, n_free)``, and whether it is
    degenerate ``(n_stars,)``: then all its entries are inf.

    The Fisher matrix is inverted scaled to unit diagonal: the labels' units differ by orders of
    magnitude (teff in K, logg in dex), which would make its condition number meaningless."""
    fisher = _fisher(jacobian, weight)
    norm = np.sqrt(np.diagonal(fisher, axis1=1, axis2=2))
    safe = np.where(norm > 0, norm, 1.0)
    outer = safe[:, :, None] * safe[:, None, :]
    unit = fisher / outer
    eigenvalues = np.linalg.eigvalsh(unit)
    degenerate = (norm == 0).any(axis=1) | (eigenvalues[:, 0] <= _DEGENERATE * eigenvalues[:, -1])
    unit[degenerate] = np.eye(unit.shape[1])
    covariance = np.linalg.inv(unit) / outer
    covariance[degenerate] = np.inf
    return covariance, degenerate


def _fisher(jacobian: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``Jᵀ W J`` ``(n, k, k)`` for Jacobians ``(n, k, n_pix)`` and weights ``(n, n_pix)``."""
    return np.einsum("nkp,nlp->nkl", jacobian * weight[:, None, :], jacobian)
