"""The paper's proof that generated spectra are as good as radiative-transfer ones (Sec. 3.2).

A :class:`~specgen.validate.estimator.LabelEstimator` fitted on the radiative-transfer training grid
recovers the labels of four sets of spectra: its own training rows, its validation rows, the
radiative-transfer test grid, and spectra generated at the test labels. If the generator is as
good as radiative transfer, the estimator is as accurate on the last as on the third: the ratio
RMSE(generated) / RMSE(test) is near 1 (the paper's: 0.99–1.67).

The paper calls its accuracy "MSE", but its units (K, dex, km/s) show a root-mean-square
error; this module reports the RMSE, with the bias (mean predicted − true) and the MAE.

    result = validate(emulator, train_grid, test_grid, EstimatorConfig.small_grid())
    result.table()      # Tab. 5, RMSE per label and set, with the ratio
    result.to_json()    # what ``specgen validate --json`` writes
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from specgen.constants import TAB5_SETS
from specgen.grid import Grid
from specgen.model.emulator import Emulator
from specgen.model.metrics import bootstrap_over_stars
from specgen.validate.estimator import EstimatorConfig, LabelEstimator

SETS = TAB5_SETS


def accuracy(true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """``rmse``, ``bias`` (mean predicted − true) and ``mae`` of one label, in its unit."""
    error = np.asarray(predicted, dtype=np.float64) - np.asarray(true, dtype=np.float64)
    return {"rmse": float(np.sqrt(np.mean(error**2))), "bias": float(error.mean()), "mae": float(np.abs(error).mean())}


@dataclass
class Validation:
    """Labels true and recovered for each set of spectra, keyed by :data:`SETS`:
    ``true[set]`` and ``predicted[set]`` are ``(n, n_labels)`` in ``label_names`` order."""

    estimator: LabelEstimator
    label_names: tuple[str, ...]
    true: dict[str, np.ndarray]
    predicted: dict[str, np.ndarray]
    pca_reconstruction_error: float
    test_stars: np.ndarray | None = None  # the star of each test row (Grid.star_ids); None: a star per row

    def error(self, which: str) -> np.ndarray:
        """Predicted − true, ``(n, n_labels)``, for one set."""
        return self.predicted[which] - self.true[which]

    def accuracy(self) -> dict[str, dict[str, dict[str, float]]]:
        """``{label: {set: {"rmse", "bias", "mae"}}}``."""
        return {
            name: {s: accuracy(self.true[s][:, j], self.predicted[s][:, j]) for s in SETS}
            for j, name in enumerate(self.label_names)
        }

    def ratios(self) -> dict[str, float]:
        """RMSE(generated) / RMSE(test) per label: the quantity that matters."""
        acc = self.accuracy()
        return {name: acc[name]["generated"]["rmse"] / acc[name]["test"]["rmse"] for name in self.label_names}

    def table(self, statistic: str = "rmse") -> pd.DataFrame:
        """Tab. 5: one row per label, a column per set (``statistic`` of each), then the ratio."""
        acc, ratios = self.accuracy(), self.ratios()
        rows = {name: {s: acc[name][s][statistic] for s in SETS} | {"ratio": ratios[name]} for name in self.label_names}
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("label")

    def intervals(self, level: float = 0.68, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
        """RMSE on the test and generated spectra and their ratio, each with the central ``level``
        interval of a bootstrap over test stars (:func:`bootstrap_rmse`): the variants of one star
        are not independent. One row per label; columns ``test``, ``generated``, ``ratio``, each
        with ``_low`` and ``_high``, and ``n_stars``, the number of independent stars."""
        stars = np.arange(len(self.true["test"])) if self.test_stars is None else self.test_stars
        boot = bootstrap_rmse({s: self.error(s) for s in ("test", "generated")}, stars, n_boot=n_boot, seed=seed)
        boot["ratio"] = boot["generated"] / boot["test"]
        point = self.table()
        tails = (1 - level) / 2 * 100, (1 + level) / 2 * 100
        columns = {}
        for key in ("test", "generated", "ratio"):
            columns[key] = point[key].to_numpy()
            columns[f"{key}_low"], columns[f"{key}_high"] = np.percentile(boot[key], tails, axis=0)
        table = pd.DataFrame(columns, index=pd.Index(self.label_names, name="label"))
        table["n_stars"] = np.unique(stars).size
        return table

    def to_json(self) -> dict[str, Any]:
        """Per label ``{"train", "val", "test", "generated", "ratio"}`` (RMSE, label unit), the
        bias and MAE per set, ``pca_reconstruction_error`` and the sizes used."""
        acc, ratios = self.accuracy(), self.ratios()
        out: dict[str, Any] = {
            name: {s: acc[name][s]["rmse"] for s in SETS}
            | {"ratio": ratios[name]}
            | {f"{stat}_{s}": acc[name][s][stat] for stat in ("bias", "mae") for s in SETS}
            for name in self.label_names
        }
        out["pca_reconstruction_error"] = self.pca_reconstruction_error
        out["pca_explained_variance"] = float(self.estimator.pca.explained_variance_ratio_.sum())
        out["estimator"] = self.estimator.mode
        out["sizes"] = {s: int(len(self.true[s])) for s in SETS}
        out["intervals_68"] = self.intervals().to_dict(orient="index")
        return _finite(out)


def bootstrap_rmse(
    errors: dict[str, np.ndarray], stars: np.ndarray, *, n_boot: int = 2000, seed: int = 0
) -> dict[str, np.ndarray]:
    """RMSE per label of each set of ``errors`` (``(n_rows, n_labels)``, rows of the same stars in
    every set) over the same ``n_boot`` resamplings of the stars (:func:`bootstrap_over_stars`), so
    that ratios stay paired: ``{set: (n_boot, n_labels)}``."""
    return {
        name: np.sqrt(bootstrap_over_stars(np.asarray(error, dtype=np.float64) ** 2, stars, n_boot=n_boot, seed=seed))
        for name, error in errors.items()
    }


def validate(
    emulator: Emulator,
    train: Grid,
    test: Grid,
    config: EstimatorConfig = EstimatorConfig(),
    *,
    estimator: LabelEstimator | None = None,
    progress: bool = False,
) -> Validation:
    """Fit the estimator on ``train`` (radiative transfer; or use a fitted ``estimator``), then
    recover the labels of its training and validation rows, of ``test``, and of the spectra
    ``emulator`` generates at the test labels (extrapolating where they leave its ranges)."""
    if train.label_names != test.label_names:
        raise ValueError(f"the test grid's labels {test.label_names} are not the training grid's {train.label_names}")
    train.checked_for("training", "the training grid"), test.checked_for("evaluation", "the test grid")
    estimator = estimator or LabelEstimator.fit(train, config, progress=progress)
    fit_rows, val_rows = estimator.split
    generated = emulator.generate_like(test)
    spectra = {"train": train.flux[fit_rows], "val": train.flux[val_rows], "test": test.flux, "generated": generated}
    true = {"train": train.labels[fit_rows], "val": train.labels[val_rows], "test": test.labels}
    true["generated"] = test.labels
    return Validation(
        estimator=estimator,
        label_names=train.label_names,
        true=true,
        predicted={s: estimator.predict(flux) for s, flux in spectra.items()},
        pca_reconstruction_error=estimator.reconstruction_error(train.flux),
        test_stars=test.star_ids(),
    )


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (JSON has neither)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return None if isinstance(value, float) and not math.isfinite(value) else value
