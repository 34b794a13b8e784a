"""Labels recovered from noisy spectra by the χ² fit and by the PCA + NN estimator, side by side, and
how honest the fit's quoted uncertainties are."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from specgen.fit.chi2 import N_STARTS, LabelFit, fit_labels
from specgen.grid import Grid
from specgen.model.emulator import Emulator
from specgen.validate.estimator import LabelEstimator


def recovery_against_snr(
    emulator: Emulator,
    estimator: LabelEstimator,
    grid: Grid,
    snrs: tuple[float, ...] = (20, 50, 100, 300),
    *,
    noise_trained: Mapping[float, LabelEstimator] | None = None,
    n_starts: int = N_STARTS,
    seed: int = 0,
) -> pd.DataFrame:
    """RMSE of the labels recovered from the spectra of ``grid`` with Gaussian noise of σ = 1/(S/N)
    (seeded) added, by the PCA + networks ``estimator`` (trained noise-free, as in the paper), by
    the estimators of ``noise_trained`` at the S/N each was trained with
    (:attr:`~specgen.validate.estimator.EstimatorConfig.training_snr`), and by fitting through
    ``emulator`` (:func:`specgen.fit.chi2.fit_labels`), with the fit's median quoted 1σ beside them.

    Rows are (S/N, method), columns the labels of ``grid`` (their units)."""
    noise_trained = dict(noise_trained or {})
    in_fit_order = [emulator.label_names.index(name) for name in grid.label_names]
    rows = {}
    for k, snr in enumerate(snrs):
        noisy = grid.with_noise(snr, seed + k).flux
        fit = fit_labels(noisy, emulator, sigma=1.0 / snr, n_starts=n_starts, seed=seed)
        recovered = {"PCA + networks": estimator.predict(noisy)}
        if snr in noise_trained:
            recovered["PCA + networks trained at this S/N"] = noise_trained[snr].predict(noisy)
        recovered["fit through the generator"] = fit.labels[:, in_fit_order]
        for method, labels in recovered.items():
            rows[(snr, method)] = np.sqrt(np.mean((labels - grid.labels) ** 2, axis=0))
        rows[(snr, "fit: median quoted 1σ")] = np.median(fit.uncertainties[:, in_fit_order], axis=0)
    index = pd.MultiIndex.from_tuples(list(rows), names=["S/N", "method"])
    return pd.DataFrame(list(rows.values()), index=index, columns=list(grid.label_names))


def coverage(fit: LabelFit, truth: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    """How honest a fit's 1σ are: per free label of ``fit`` (a row each), the fraction of spectra
    whose true label (``truth``, ``(n, len(names))`` in the order of ``names``) lies within 1σ and
    within 2σ of the fitted one, beside the 68.3 % and 95.4 % a Gaussian error would give. Spectra
    whose σ is infinite (a degenerate fit) say nothing and are left out: ``n`` counts the others."""
    columns = {}
    for j, name in enumerate(fit.label_names):
        if name in fit.fixed:
            continue
        sigma = fit.uncertainties[:, j]
        told = np.isfinite(sigma)
        pull = np.abs(fit.labels[told, j] - truth[told, list(names).index(name)]) / sigma[told]
        columns[name] = {"within 1σ": np.mean(pull <= 1), "within 2σ": np.mean(pull <= 2), "n": int(told.sum())}
    table = pd.DataFrame(columns).T.rename_axis("label")
    table.loc["a Gaussian error"] = (0.683, 0.954, np.nan)
    return table


def uncertainty_coverage(
    emulator: Emulator,
    grid: Grid,
    snr: float,
    model_errors: Mapping[str, np.ndarray | None],
    *,
    n_starts: int = N_STARTS,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`coverage` of fits through ``emulator`` to the spectra of ``grid`` (radiative transfer
    the emulator was not trained on) with seeded noise of S/N ``snr``, once per entry of
    ``model_errors`` (a name → the generator's own error per pixel for ``model_error``, or None for
    the noise alone; measure it on other spectra than those fitted). Columns (name, within kσ)."""
    noisy = grid.with_noise(snr, seed).flux
    tables = {
        name: coverage(
            fit_labels(noisy, emulator, 1.0 / snr, model_error=error, n_starts=n_starts, seed=seed),
            grid.labels,
            grid.label_names,
        )
        for name, error in model_errors.items()
    }
    return pd.concat(tables, axis=1)

