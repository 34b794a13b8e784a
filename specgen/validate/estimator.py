"""The label estimator of Sec. 3.2: PCA of the spectra, then dense networks to the labels (Tab. 4).

It is the paper's judge of generated spectra: fitted on radiative-transfer spectra only, it is
then applied to radiative-transfer test spectra and to generated spectra at the same labels
(:mod:`specgen.validate.tab5`).

* PCA with ``n_components`` (15) components, fitted on the training spectra (scikit-learn);
* the coefficients standardised, then one network of Tab. 4 per label (the paper's choice) or
  one network with every label as output (``per_label=False``); labels standardised;
* Adamax, MSE, batches of 512, a seeded 80/20 split by star, early stopping keeping the best
  weights (:func:`specgen.model.schedule.fit_with_early_stopping`).

    estimator = LabelEstimator.fit(read_grid("data/demo/train.h5"), EstimatorConfig.small_grid())
    labels = estimator.predict(flux)          # (n, n_labels), in the grid's units
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Literal

import keras
import numpy as np
from sklearn.decomposition import PCA

from specgen.constants import ESTIMATOR_HIDDEN
from specgen.grid import Grid
from specgen.model.config import Schedule
from specgen.model.networks import build_estimator
from specgen.model.scaling import Scaler
from specgen.model.schedule import History, fit_with_early_stopping, split_rows
from specgen.runtime.backend import predictor
from specgen.runtime.profiles import Profile


@dataclass(frozen=True)
class EstimatorConfig(Schedule):
    """Every choice of the estimator; the defaults are the paper's (Sec. 3.2, Tab. 4).

    ``per_label``: one network per label (True, the paper) or one with all labels as outputs.
    ``training_snr``: train on the spectra with Gaussian noise of that S/N added (seeded), for
    spectra observed at it; None (the paper): noise-free.
    The fitting schedule (rate, batches, split, patience, epochs, seed) is :class:`specgen.model.config.Schedule`.
    """

    n_components: int = 15
    hidden: tuple[int, ...] = ESTIMATOR_HIDDEN
    per_label: bool = True
    optimizer: str = "adamax"
    training_snr: float | None = None

    @classmethod
    def for_profile(cls, profile: Profile, **changes) -> EstimatorConfig:
        """The configuration of ``profile``: its estimator recipe (by default its generator's), its
        seed, and its estimator epoch cap where it sets one."""
        recipe = profile.estimator_recipe or profile.recipe
        max_epochs = profile.estimator_max_epochs or profile.max_epochs
        return getattr(cls, recipe)(**{"seed": profile.seed, "max_epochs": max_epochs, **changes})

    @classmethod
    def paper(cls, **changes) -> EstimatorConfig:
        """Tab. 4 as written (epochs capped at 1000: the paper gives no cap)."""
        return cls(**changes)

    @classmethod
    def small_grid(cls, **changes) -> EstimatorConfig:
        """Same networks, batches of 64 (512 is one step per epoch on a few hundred spectra), a
        learning rate halved after 10 epochs without improvement, and patience 40 for improvements
        beyond 0.1% (as :meth:`specgen.model.config.TrainingConfig.small_grid`)."""
        small = {"batch_size": 64, "patience": 40, "lr_decay_factor": 0.5, "min_improvement": 1e-3}
        return cls(**(small | changes))


class LabelEstimator:
    """PCA + networks from spectra to labels, fitted on one grid.

    ``networks`` maps a tuple of label names to the network that predicts them (one name each
    with ``per_label``); ``history`` holds each network's loss per epoch under the same keys
    joined by "+"; ``split`` is (fitting rows, validation rows) of the fitting grid: the PCA and the
    scalings saw only the first, and the second stopped the training.
    """

    def __init__(
        self,
        pca: PCA,
        coefficient_scaler: Scaler,
        label_scaler: Scaler,
        networks: dict[tuple[str, ...], keras.Model],
        label_names: tuple[str, ...],
        config: EstimatorConfig,
    ):
        self.pca, self.coefficient_scaler, self.label_scaler = pca, coefficient_scaler, label_scaler
        self.networks, self.label_names, self.config = networks, tuple(label_names), config
        self.history: dict[str, History] = {}
        self.split: tuple[np.ndarray, np.ndarray] = (np.arange(0), np.arange(0))
        self.training_seconds = 0.0
        self._predictors: dict[tuple[str, ...], Callable[[np.ndarray], np.ndarray]] = {}

    @classmethod
    def fit(cls, grid: Grid, config: EstimatorConfig = EstimatorConfig(), *, progress: bool = False) -> LabelEstimator:
        """PCA on the spectra of ``grid``, then the network(s) from its coefficients to its labels.

        The rows are split by star (:attr:`split`) first: the PCA and both scalings are fitted on the
        fitting rows only, and the validation rows serve early stopping alone, so that they are
        held out from every fitted transformation."""
        started = time.perf_counter()
        grid.checked_for("training")
        if config.training_snr is not None:
            grid = grid.with_noise(config.training_snr, config.seed)
        stars = grid.star_ids()
        fit_rows, val_rows = split_rows(len(grid), config.validation_split, config.seed, stars)
        pca = PCA(config.n_components, random_state=config.seed).fit(grid.flux[fit_rows])
        coefficients = pca.transform(grid.flux)
        coefficient_scaler = Scaler.fit(coefficients[fit_rows], "standardise")
        label_scaler = Scaler.fit(grid.labels[fit_rows], "standardise")
        x, y = coefficient_scaler.transform(coefficients), label_scaler.transform(grid.labels)
        groups = [(name,) for name in grid.label_names] if config.per_label else [tuple(grid.label_names)]
        estimator = cls(pca, coefficient_scaler, label_scaler, {}, grid.label_names, config)
        for names in groups:
            keras.utils.set_random_seed(config.seed)
            columns = [grid.label_names.index(name) for name in names]
            name = "estimator_" + "_".join(names) if config.per_label else "estimator"
            network = build_estimator(config.n_components, len(names), config.hidden, name=name)
            estimator.history["+".join(names)] = fit_with_early_stopping(
                network, x, y[:, columns], config, config.optimizer, groups=stars, progress=progress
            )  # the same seeded split by star as above
            estimator.networks[names] = network
        estimator.split = (fit_rows, val_rows)
        estimator.training_seconds = time.perf_counter() - started
        return estimator

    @property
    def mode(self) -> Literal["per label", "joint"]:
        return "per label" if self.config.per_label else "joint"

    def predict(self, flux: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
        """Labels ``(n, n_labels)``, in the grid's units and column order, of spectra ``(n, n_pix)``."""
        flux = np.atleast_2d(np.asarray(flux, dtype=np.float32))
        if flux.shape[1] != self.pca.n_features_in_:
            n_fit = self.pca.n_features_in_
            raise ValueError(f"spectra of {flux.shape[1]} pixels; the estimator was fitted on {n_fit}")
        if not np.isfinite(flux).all():
            raise ValueError("spectra with NaN or infinite flux: the PCA needs every pixel")
        x = self.coefficient_scaler.transform(self.pca.transform(flux))
        scaled = np.empty((len(flux), len(self.label_names)), np.float32)
        for names, network in self.networks.items():
            columns = [self.label_names.index(name) for name in names]
            predict = self._predictors.setdefault(names, predictor(network))
            for start in range(0, len(x), batch_size):
                rows = slice(start, start + batch_size)
                scaled[rows, columns] = predict(x[rows])
        return self.label_scaler.inverse(scaled).astype(np.float64)

    def reconstruction_error(self, flux: np.ndarray) -> float:
        """Mean |F − PCA reconstruction of F| over every pixel (continuum units: 0.005 = 0.5 %)."""
        flux = np.atleast_2d(flux)
        return float(np.mean(np.abs(self.pca.inverse_transform(self.pca.transform(flux)) - flux)))
