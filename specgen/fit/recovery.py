"""Labels recovered from noisy spectra by the χ² fit and by the PCA + NN estimator, side by side."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

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
    n_starts: int = 4,
    seed: int = 0,
) -> pd.DataFrame:
    """RMSE of the labels recovered from the spectra of ``grid`` with Gaussian noise of σ = 1/(S/N)
    (seeded) added, by the PCA + networks ``estimator`` (trained noise-free, as in the paper), by
    the estimators of ``noise_trained`` at the S/N each was trained with
    (:attr:`~specgen.validate.estimator.EstimatorConfig.training_snr`), and by fitting through
    ``emulator`` (:func:`specgen.fit.chi2.fit_labels`), with the fit's median quoted 1σ beside them.

    Rows are (S/N, method), columns the labels of ``grid`` (their units)."""
    from specgen.fit.chi2 import fit_labels

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
