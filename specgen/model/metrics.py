"""How close generated or reconstructed spectra are to radiative transfer: numpy only.

Arrays of spectra are ``(n_spectra, n_pix)`` continuum-normalised fluxes, so every error
below is in units of the continuum (0.01 = 1 % of the continuum).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def reconstruction_metrics(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """The four numbers of Sec. 2.2: MSE, MAE, explained variance and R².

    MSE and MAE average over every flux. Explained variance and R² are computed per pixel (across
    spectra) and averaged uniformly over pixels, as scikit-learn's ``explained_variance_score`` and
    ``r2_score`` with ``multioutput="uniform_average"``. Both are undefined at a pixel whose true
    flux is the same in every spectrum (zero variance): such pixels are left out of the average
    (scikit-learn would score them 1 if predicted exactly and 0 otherwise); NaN if all are.
    """
    true, pred = _pair(true, pred)
    err = pred - true
    variance = true.var(axis=0)
    varies = variance > 0
    return {
        "mse": float(np.mean(err**2)),
        "mae": float(np.mean(np.abs(err))),
        "explained_variance": _mean_or_nan(1 - err.var(axis=0)[varies] / variance[varies]),
        "r2": _mean_or_nan(1 - np.mean(err**2, axis=0)[varies] / variance[varies]),
    }


def generation_metrics(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Absolute flux errors over every pixel of every spectrum: mean, median, 99th percentile, max."""
    abs_err = _abs_error(true, pred)
    return {
        "mae": float(abs_err.mean()),
        "median_abs": float(np.median(abs_err)),
        "p99_abs": float(np.percentile(abs_err, 99)),
        "max_abs": float(abs_err.max()),
    }


def mae_interval(true: np.ndarray, pred: np.ndarray, stars: np.ndarray, *, seed: int = 0) -> tuple[float, float]:
    """The central 68% interval of the mean absolute error of ``pred`` against ``true`` ``(n, n_pix)``
    over a seeded bootstrap of the ``stars`` of the rows (:func:`bootstrap_over_stars`)."""
    per_spectrum = _abs_error(true, pred).mean(axis=1)
    low, high = np.percentile(bootstrap_over_stars(per_spectrum, stars, seed=seed), (16, 84))
    return float(low), float(high)


def residual_profile(true: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, across spectra: (mean absolute error, 99th percentile of the absolute error)."""
    abs_err = _abs_error(true, pred)
    return abs_err.mean(axis=0), np.percentile(abs_err, 99, axis=0)


class BinnedResidual(NamedTuple):
    """Per-spectrum errors grouped by one label: bin ``edges`` (n_bins + 1) and, per bin, the
    ``mean`` and ``median`` error and the ``count`` of spectra (NaN statistics for empty bins)."""

    edges: np.ndarray
    mean: np.ndarray
    median: np.ndarray
    count: np.ndarray


def binned_residual(
    labels_col: np.ndarray, abs_err_per_spectrum: np.ndarray, bins: int | np.ndarray = 10
) -> BinnedResidual:
    """How an error per spectrum (e.g. its MAE) varies with one label; ``bins`` as in ``np.histogram``."""
    labels_col, err = np.asarray(labels_col, dtype=np.float64), np.asarray(abs_err_per_spectrum, dtype=np.float64)
    if labels_col.shape != err.shape or labels_col.ndim != 1:
        raise ValueError(f"need two 1-D arrays of one value per spectrum, got {labels_col.shape} and {err.shape}")
    count, edges = np.histogram(labels_col, bins)
    which = np.clip(np.searchsorted(edges, labels_col, side="right") - 1, 0, len(count) - 1)
    inside = (labels_col >= edges[0]) & (labels_col <= edges[-1])
    per_bin = [err[inside & (which == b)] for b in range(len(count))]
    mean = np.array([e.mean() if e.size else np.nan for e in per_bin])
    median = np.array([np.median(e) if e.size else np.nan for e in per_bin])
    return BinnedResidual(edges, mean, median, count)


def mean_spectrum_baseline(train_flux: np.ndarray, test_flux: np.ndarray) -> float:
    """MAE of the laziest emulator, which predicts the mean training spectrum for every star."""
    test_flux = np.asarray(test_flux)
    return float(np.mean(np.abs(test_flux - np.mean(train_flux, axis=0))))


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"need two (n_spectra, n_pix) arrays of the same shape, got {a.shape} and {b.shape}")
    return a, b


def _abs_error(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    true, pred = _pair(true, pred)
    return np.abs(pred - true)


def _mean_or_nan(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def bootstrap_over_stars(values: np.ndarray, stars: np.ndarray, *, n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """Means of ``values`` (``(n_rows,)`` or ``(n_rows, k)``) over ``n_boot`` resamplings of the
    stars with replacement (seeded), all the rows of a drawn star counted together: the variants of
    one star are not independent. The same ``seed`` and ``stars`` give the same draws, so that
    statistics of several sets of values stay paired. Returns ``(n_boot,)`` or ``(n_boot, k)``."""
    values = np.asarray(values, dtype=np.float64)
    flat = values.reshape(len(values), -1)
    ids, star_of_row = np.unique(stars, return_inverse=True)
    star_of_row = star_of_row.ravel()
    draws = np.random.default_rng(seed).multinomial(ids.size, np.full(ids.size, 1 / ids.size), size=n_boot)
    sums = np.zeros((ids.size, flat.shape[1]))
    np.add.at(sums, star_of_row, flat)
    means = (draws @ sums) / (draws @ np.bincount(star_of_row, minlength=ids.size))[:, None]
    return means.reshape(n_boot, *values.shape[1:])
