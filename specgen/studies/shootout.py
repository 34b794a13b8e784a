"""Emulator shoot-out: six ways from labels to spectra, trained on one grid and measured on another.

=======================  ========================================================================================
:class:`TwoStage`        the paper's autoencoder + mapper (:meth:`specgen.model.train.train_emulator`)
:class:`FineTuned`       the same, then decoder∘mapper fine-tuned end to end (:func:`specgen.model.finetune.fine_tune`)
:class:`PCAMapper`       PCA with as many components as the latent space + the same Tab. 3 mapper
:class:`Payne`           a direct labels → flux MLP in the style of The Payne (Ting et al. 2019)
:class:`ConditionalVAE`  encoder(flux, labels) → latent, decoder(latent, labels) → flux (Gebran & Bentley 2025)
:class:`Factorised`      intrinsic labels → spectrum at R_max, then v sin i and R as physics (:mod:`specgen.model.factorised`)
:class:`MeanSpectrum`    the mean training spectrum for every star: the baseline every emulator must beat
=======================  ========================================================================================

Every contestant trains with one :class:`specgen.model.config.TrainingConfig`: its flux and label
scalings and its schedule (batch size, early stopping, learning-rate decay, epoch cap, seed), except
:class:`Factorised`, which keeps its own :class:`~specgen.model.config.FactorisedConfig` with the shared seed.

    result = run_shootout(read_grid("data/ci/train.h5"), read_grid("data/ci/test.h5"), config)
    result.table     # one row per contestant: flux errors, training seconds, spectra per second, ...
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Sequence

import keras
import numpy as np
import pandas as pd
from keras import layers, ops
from sklearn.decomposition import PCA

from specgen.grid import Grid, as_grid
from specgen.labels import LabelRange, spanned_ranges
from specgen.model.config import FactorisedConfig, TrainingConfig
from specgen.model.emulator import AutoencoderEmulator
from specgen.model.factorised import train_factorised
from specgen.model.finetune import fine_tune
from specgen.model.mapper import train_mapper
from specgen.model.metrics import generation_metrics, mae_interval
from specgen.model.networks import build_generator, dense_stack, predict_in_batches
from specgen.model.networks import (
    without_optimizer as _copy,  # a model's layers and weights, no optimizer
)
from specgen.model.scaling import Scaler
from specgen.model.schedule import fit_with_early_stopping, split_rows
from specgen.model.train import train_emulator
from specgen.runtime.backend import predictor
from specgen.runtime.console import say
from specgen.runtime.timing import generation_seconds

#: Columns of :attr:`ShootoutResult.table`: flux errors (continuum units), cost, size.
#: The shoot-out table: the MAE on the validation stars held out of the training grid (``val_mae``: what the
#: winner is chosen by), the test flux errors of :func:`specgen.model.metrics.generation_metrics` (same names), the
#: MAE's 68% interval from a bootstrap over test stars (``mae_low``, ``mae_high``), then costs and the number of
#: independent test stars.
COLUMNS = (
    "val_mae", "mae", "mae_low", "mae_high", "median_abs", "p99_abs", "max_abs",
    "training_seconds", "spectra_per_second", "n_parameters", "epochs", "n_test_stars",
)


class Contestant(ABC):
    """A way from labels to spectra: :meth:`fit` on a training grid, then :meth:`generate`.

    After :meth:`fit`: ``training_seconds`` (wall clock, s), ``epochs`` (summed over its training
    stages), ``n_parameters`` (weights used to generate), ``label_names`` and ``label_ranges``
    (those of the training grid: where :func:`specgen.runtime.timing.generation_seconds` draws labels).
    """

    name = "contestant"

    def __init__(self, max_epochs: int | None = None) -> None:
        self.max_epochs = max_epochs
        self.training_seconds, self.epochs, self.n_parameters = float("nan"), 0, 0
        self.label_names: tuple[str, ...] = ()
        self.label_ranges: dict[str, LabelRange] = {}
        self._fitted_on: tuple[Grid, TrainingConfig] | None = None

    def fit(self, train: Grid, config: TrainingConfig, *, progress: bool = False) -> Contestant:
        """Train on ``train`` with ``config``'s scalings and schedule (epochs capped at this contestant's
        ``max_epochs`` when given, else at ``config.max_epochs``); returns self."""
        self.label_names = train.label_names
        self.label_ranges = spanned_ranges(train.label_names, train.labels)
        started = time.perf_counter()
        self._fit(train, replace(config, max_epochs=self.max_epochs) if self.max_epochs else config, progress)
        self.training_seconds = time.perf_counter() - started
        self._fitted_on = (train, config)
        return self

    def fitted_with(self, train: Grid, config: TrainingConfig) -> bool:
        """Whether the last :meth:`fit` was on this very grid object with an equal config."""
        return self._fitted_on is not None and self._fitted_on[0] is train and self._fitted_on[1] == config

    @abstractmethod
    def _fit(self, train: Grid, config: TrainingConfig, progress: bool) -> None: ...

    @abstractmethod
    def generate(self, labels: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
        """Flux ``(n, n_pix)`` (continuum units, float32) at ``labels`` ``(n, n_labels)`` in the
        training grid's units and column order; outside the training ranges it extrapolates."""


class NetworkContestant(Contestant):
    """A contestant whose generator is one Keras model from scaled labels to scaled flux, called
    ``batch_size`` rows at a time through :func:`specgen.runtime.backend.predictor` (as :class:`Emulator` is)."""

    def _fit(self, train: Grid, config: TrainingConfig, progress: bool) -> None:
        self.label_scaler = Scaler.fit(train.labels, config.label_scaling)
        self.flux_scaler = Scaler.fit(train.flux, config.flux_scaling)
        x_labels, x_flux = self.label_scaler.transform(train.labels), self.flux_scaler.transform(train.flux)
        self.generator, self.epochs = self._train(train, x_labels, x_flux, config, progress)
        self.n_parameters = self.generator.count_params()
        self._predict = predictor(self.generator)

    @abstractmethod
    def _train(
        self, train: Grid, x_labels: np.ndarray, x_flux: np.ndarray, config: TrainingConfig, progress: bool
    ) -> tuple[keras.Model, int]:
        """(generator from scaled labels to scaled flux, epochs) trained on the scaled arrays."""

    def generate(self, labels: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
        x = self.label_scaler.transform(np.asarray(labels, dtype=np.float64))
        scale, offset = self.flux_scaler.scale.astype(np.float32), self.flux_scaler.offset.astype(np.float32)
        return predict_in_batches(lambda b: self._predict(b) * scale + offset, x, scale.size, batch_size)


class TwoStage(NetworkContestant):
    """Gebran (2024): autoencoder of Tab. 2, then the mapper of Tab. 3 from labels to its latents
    (:func:`~specgen.model.train.train_emulator` without fine-tuning); the trained :class:`Emulator` is ``emulator``."""

    name = "autoencoder + mapper"

    def _train(self, train, x_labels, x_flux, config, progress):
        self.emulator = train_emulator(train, config, fine_tune=False, progress=progress)
        history = self.emulator.provenance["history"]
        epochs = sum(len(h["loss"]) for h in history.values())
        return build_generator(self.emulator.mapper, self.emulator.decoder), epochs


class FineTuned(NetworkContestant):
    """:class:`TwoStage` followed by :func:`specgen.model.finetune.fine_tune` of copies of its decoder and
    mapper, so that both generators stay available. ``base`` is reused when it was last fitted on the
    same grid with the same config (else it is fitted first); its seconds and epochs are counted in.
    ``max_epochs`` caps the fine-tuning only."""

    name = "fine-tuned"

    def __init__(self, base: TwoStage | None = None, max_epochs: int | None = None) -> None:
        super().__init__(max_epochs)
        self.base = base or TwoStage(max_epochs)

    def fit(self, train: Grid, config: TrainingConfig, *, progress: bool = False) -> FineTuned:
        if not self.base.fitted_with(train, config):
            self.base.fit(train, config, progress=progress)
        super().fit(train, config, progress=progress)
        self.training_seconds += self.base.training_seconds
        self.epochs += self.base.epochs
        return self

    def _train(self, train, x_labels, x_flux, config, progress):
        base = self.base.emulator
        decoder, mapper = _copy(base.decoder), _copy(base.mapper)
        history = fine_tune(decoder, mapper, x_labels, x_flux, config, groups=train.star_ids(), progress=progress)
        self.emulator = AutoencoderEmulator(
            base.encoder, decoder, mapper, base.label_scaler, base.flux_scaler, base.label_names, base.label_ranges,
            base.wavelength, base.mean_flux, {**base.provenance, "fine_tuned": True}, medium=base.medium,
        )
        return build_generator(mapper, decoder), len(history["loss"])


class PCAMapper(NetworkContestant):
    """PCA of the scaled training flux with ``config.latent`` components (scikit-learn), and the
    mapper of Tab. 3 from labels to the PCA coefficients (:func:`specgen.model.mapper.train_mapper`):
    the paper's generator with a linear autoencoder. ``pca`` is the fitted PCA."""

    name = "PCA + mapper"

    def _train(self, train, x_labels, x_flux, config, progress):
        self.pca = PCA(config.latent, random_state=config.seed).fit(x_flux)
        coefficients = self.pca.transform(x_flux).astype(np.float32)
        mapper, history = train_mapper(x_labels, coefficients, config, groups=train.star_ids(), progress=progress)
        inverse = layers.Dense(x_flux.shape[1], name="pca_inverse")
        decoder = keras.Sequential([keras.Input((config.latent,), name="latent"), inverse], name="pca_decoder")
        inverse.set_weights([self.pca.components_, self.pca.mean_])
        return build_generator(mapper, decoder), len(history["loss"])


class Payne(NetworkContestant):
    """The Payne (Ting et al. 2019): labels → ``hidden`` dense layers (leaky relu, slope 0.2) →
    every pixel, trained on the MSE of the scaled flux with ``config.ae_optimizer``."""

    name = "Payne MLP"

    def __init__(self, hidden: Sequence[int] = (300, 300), max_epochs: int | None = None) -> None:
        super().__init__(max_epochs)
        self.hidden = tuple(hidden)

    def _train(self, train, x_labels, x_flux, config, progress):
        keras.utils.set_random_seed(config.seed)
        inputs = keras.Input((x_labels.shape[1],), name="labels")
        outputs = layers.Dense(x_flux.shape[1], name="spectrum")(dense_stack(inputs, self.hidden, "leaky_relu"))
        model = keras.Model(inputs, outputs, name="payne")
        history = fit_with_early_stopping(
            model, x_labels, x_flux, config, config.ae_optimizer, groups=train.star_ids(), progress=progress
        )
        return model, len(history["loss"])


class ConditionalVAE(NetworkContestant):
    """Gebran & Bentley (2025), in small: encoder(flux, labels) → ``hidden`` (relu) → mean and
    log-variance of q(z | flux, labels), a ``latent``-dimensional Gaussian (None: ``config.latent``);
    decoder(z, labels) → ``hidden`` reversed → flux. Generates at the prior mean, z = 0.

    Loss: the negative β-ELBO of a Gaussian likelihood, independent pixels of noise σ = 1 in scaled-flux
    units, with one z drawn per spectrum: −ELBO_β = Σ_pixels (x − x̂)²/2 + β·KL(q ‖ N(0, 1)) + const, in
    nats per spectrum. It is trained as MSE (mean over the n_pix pixels) + 2β·KL/n_pix, which is
    (2/n_pix)·(−ELBO_β) − ln 2π. β = 1 is the proper ELBO at σ = 1; β = σ² is the proper ELBO at another
    uniform σ (scaled units).

    After :meth:`fit`: ``decoder`` ``(z, scaled labels) → scaled flux``, ``encoder`` ``scaled flux and
    labels → (mean, log-variance)``, and ``kl_per_dimension`` ``(latent,)``: KL(q ‖ N(0, 1)) of each
    latent dimension (nats), mean over the spectra given to :meth:`fit` (in :func:`run_shootout`, the
    training stars: neither its validation stars nor the test grid). A collapsed dimension, which
    carries no information about the spectrum, has KL ≈ 0."""

    name = "conditional VAE"

    def __init__(
        self,
        hidden: Sequence[int] = (512, 128),
        latent: int | None = None,
        beta: float = 1.0,
        max_epochs: int | None = None,
    ) -> None:
        super().__init__(max_epochs)
        self.hidden, self.latent, self.beta = tuple(hidden), latent, beta

    def _train(self, train, x_labels, x_flux, config, progress):
        keras.utils.set_random_seed(config.seed)
        n_pix, n_labels, latent = x_flux.shape[1], x_labels.shape[1], self.latent or config.latent
        both = keras.Input((n_pix + n_labels,), name="flux_and_labels")
        labels = both[:, n_pix:]
        h = dense_stack(both, self.hidden, "relu")
        mean, log_var = layers.Dense(latent, name="z_mean")(h), layers.Dense(latent, name="z_log_var")(h)
        self.encoder = keras.Model(both, [mean, log_var], name="cvae_encoder")
        z = _Sample(self.beta, n_pix, config.seed, name="z")(mean, log_var)
        self.decoder = _conditional_decoder(latent, n_labels, n_pix, self.hidden[::-1])
        cvae = keras.Model(both, self.decoder([z, labels]), name="cvae")
        x = np.concatenate([x_flux, x_labels], axis=1)
        history = fit_with_early_stopping(
            cvae, x, x_flux, config, config.ae_optimizer, groups=train.star_ids(), progress=progress
        )
        encoded = self.encoder.predict(x, batch_size=4096, verbose=0)
        self.kl_per_dimension = ops.convert_to_numpy(ops.mean(_kl_per_dimension(*encoded), axis=0))
        labels_in = keras.Input((n_labels,), name="labels")
        generator = keras.Model(labels_in, self.decoder([_Zeros(latent)(labels_in), labels_in]), name="cvae_generator")
        return generator, len(history["loss"])


class Factorised(Contestant):
    """:func:`~specgen.model.factorised.train_factorised` with ``config`` (None: :class:`FactorisedConfig`'s
    defaults), its seed the shoot-out's and its epochs capped at ``max_epochs`` when given; the trained
    :class:`~specgen.model.factorised.FactorisedEmulator` is ``emulator``."""

    name = "factorised"

    def __init__(self, config: FactorisedConfig | None = None, max_epochs: int | None = None) -> None:
        super().__init__(max_epochs)
        self.config = config or FactorisedConfig()

    def _fit(self, train, config, progress):
        own = replace(self.config, seed=config.seed, max_epochs=self.max_epochs or self.config.max_epochs)
        self.emulator, history = train_factorised(train, own, groups=train.star_ids(), progress=progress)
        self.epochs, self.n_parameters = len(history["loss"]), self.emulator.intrinsic.count_params()

    def generate(self, labels: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
        return self.emulator.generate(labels, batch_size=batch_size, allow_extrapolation=True)


class MeanSpectrum(Contestant):
    """The mean training spectrum for every star (:func:`specgen.model.metrics.mean_spectrum_baseline`)."""

    name = "mean training spectrum"

    def _fit(self, train, config, progress):
        self.mean_flux = train.flux.mean(axis=0, dtype=np.float64).astype(np.float32)
        self.n_parameters = self.mean_flux.size

    def generate(self, labels: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
        return np.tile(self.mean_flux, (len(labels), 1))


def default_contestants(**options) -> list[Contestant]:
    """The six contestants, :class:`FineTuned` reusing the :class:`TwoStage` training; ``options``
    maps a class name to its constructor's keywords, e.g. ``Payne={"hidden": (64, 64), "max_epochs": 100}``."""
    two_stage = TwoStage(**options.get("TwoStage", {}))
    return [
        two_stage,
        FineTuned(two_stage, **options.get("FineTuned", {})),
        PCAMapper(**options.get("PCAMapper", {})),
        Payne(**options.get("Payne", {})),
        ConditionalVAE(**options.get("ConditionalVAE", {})),
        Factorised(**options.get("Factorised", {})),
    ]


@dataclass
class ShootoutResult:
    """What :func:`run_shootout` measured: ``table`` (a row per contestant, the mean spectrum last;
    columns :data:`COLUMNS`), the test grid's ``wavelength`` (Å), ``residuals`` (generated − true,
    ``(n_test, n_pix)`` per contestant, continuum units) and the fitted ``contestants``."""

    table: pd.DataFrame
    wavelength: np.ndarray
    residuals: dict[str, np.ndarray]
    contestants: list[Contestant]

    @property
    def winner(self) -> str:
        """The contestant of lowest MAE on the validation stars: chosen without the test grid."""
        return self.table.drop(index=MeanSpectrum.name)["val_mae"].idxmin()


def run_shootout(
    train: Grid | str | os.PathLike,
    test: Grid | str | os.PathLike,
    config: TrainingConfig,
    *,
    contestants: Sequence[Contestant] | None = None,
    validation_fraction: float = 0.1,
    speed_batch: int = 4096,
    speed_repeats: int = 3,
    progress: bool = False,
) -> ShootoutResult:
    """Train every contestant on ``train`` (grid or file) with ``config``, in order, but for
    ``validation_fraction`` of its stars (seeded; :attr:`ShootoutResult.winner` is chosen on them),
    then measure each on ``test``: flux errors over every pixel of every spectrum at the test labels
    (extrapolating outside the training ranges), and side by side, generation speed at ``speed_batch``
    random labels inside the training ranges (one batch, median of ``speed_repeats`` timed calls after
    a warm-up). The mean training spectrum is always added as the last row.
    """
    (grid, _), (test, _) = as_grid(train, "training"), as_grid(test, "evaluation")
    fit_rows, val_rows = split_rows(len(grid), validation_fraction, config.seed, grid.star_ids())
    train, validation = grid.subset(fit_rows), grid.subset(val_rows)
    if not np.array_equal(train.wavelength, test.wavelength):
        raise ValueError("the test grid has another wavelength grid than the training grid")
    test_labels, val_labels = (np.column_stack([g.label(name) for name in train.label_names]) for g in (test, validation))
    fitted = [*(contestants if contestants is not None else default_contestants()), MeanSpectrum()]
    names = [contestant.name for contestant in fitted]
    if len(set(names)) < len(names):
        raise ValueError(f"contestants need distinct names (their table rows), got {names}")
    for contestant in fitted:
        say(progress, f"training {contestant.name}")
        contestant.fit(train, config, progress=progress)
    test_stars = test.star_ids()
    rows, residuals = {}, {}
    for contestant in fitted:
        generated = contestant.generate(test_labels)
        residuals[contestant.name] = generated - test.flux
        metrics = generation_metrics(test.flux, generated)
        # the same star draws for every contestant
        metrics["mae_low"], metrics["mae_high"] = mae_interval(test.flux, generated, test_stars, seed=config.seed)
        seconds = generation_seconds(
            contestant, speed_batch, batch_size=speed_batch, repeats=speed_repeats, seed=config.seed
        )
        val_mae = float(np.abs(contestant.generate(val_labels) - validation.flux).mean())
        rows[contestant.name] = metrics | {
            "val_mae": val_mae,
            "n_test_stars": np.unique(test_stars).size,
            "training_seconds": contestant.training_seconds,
            "spectra_per_second": speed_batch / seconds,
            "n_parameters": contestant.n_parameters,
            "epochs": contestant.epochs,
        }
        say(progress, f"{contestant.name}: MAE {metrics['mae']:.2e}, {speed_batch / seconds:,.0f} spectra/s")
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS)).rename_axis("contestant")
    return ShootoutResult(table, test.wavelength, residuals, fitted)


def _conditional_decoder(latent: int, n_labels: int, n_pix: int, hidden: Sequence[int]) -> keras.Model:
    """(z, scaled labels) → ``hidden`` (relu) → scaled flux."""
    z, labels = keras.Input((latent,), name="z"), keras.Input((n_labels,), name="labels")
    h = dense_stack(layers.Concatenate()([z, labels]), hidden, "relu")
    return keras.Model([z, labels], layers.Dense(n_pix, name="spectrum")(h), name="cvae_decoder")


def _kl_per_dimension(mean, log_var):
    """KL(N(mean, exp(log_var)) ‖ N(0, 1)) of each row and latent dimension (nats)."""
    return -0.5 * (1 + log_var - ops.square(mean) - ops.exp(log_var))


class _Sample(layers.Layer):
    """z = mean + σ·ε, ε ~ N(0, 1), in training (the mean otherwise); adds 2·``beta``/``n_pix`` × KL(q ‖ N(0, 1))
    (nats, summed over the latent, averaged over the batch) to the model's loss: :class:`ConditionalVAE`'s
    KL term beside an MSE over ``n_pix`` pixels."""

    def __init__(self, beta: float, n_pix: int, seed: int, **kwargs):
        super().__init__(**kwargs)
        self.kl_weight, self.seeds = 2 * beta / n_pix, keras.random.SeedGenerator(seed)

    def call(self, mean, log_var, training=None):
        kl = ops.sum(_kl_per_dimension(mean, log_var), axis=-1)
        self.add_loss(self.kl_weight * ops.mean(kl))
        if not training:
            return mean
        return mean + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mean), seed=self.seeds)


class _Zeros(layers.Layer):
    """A ``size``-wide row of zeros per input row: the prior mean of the latent."""

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, x):
        return ops.zeros((ops.shape(x)[0], self.size), dtype=x.dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size)
