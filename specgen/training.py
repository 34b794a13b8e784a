"""Training the networks of :mod:`specgen.nets`: the paper's recipe, and the one that works on small grids.

The functions here fit Keras models to arrays already in network units (scaled flux, scaled
labels); :class:`specgen.emulator.Emulator` does the scaling with :class:`Scaler` and keeps it.
Stages, in the order of the paper:

1. :func:`train_autoencoder` — spectra → spectra through a 10-number latent space (Sec. 2.2);
2. :func:`train_mapper` — labels → the encoder's latents of the same spectra (Sec. 2.3);
3. :func:`fine_tune` — optional, not in the paper: decoder∘mapper trained end to end on the flux.

Every stage holds out a seeded random ``validation_split`` of the rows (whole stars when
``groups`` is given, so that the variants of one star never sit on both sides) and stops when the
loss on them has not improved for ``patience`` epochs, keeping the best weights.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from .nets import ENCODER_HIDDEN, MAPPER_HIDDEN, Autoencoder, build_autoencoder, build_generator, build_mapper  # noqa: E402

History = dict[str, list[float]]


@dataclass(frozen=True)
class Schedule:
    """How :func:`fit_with_early_stopping` fits a network; the defaults are the paper's.

    ``learning_rate``, ``batch_size``, the seeded ``validation_split`` held out for early stopping
    after ``patience`` epochs without improvement (the best weights kept), ``lr_decay_factor``
    (multiply the learning rate by it after ``lr_decay_patience`` epochs without improvement;
    None: constant), ``max_epochs`` and ``seed``.
    """

    learning_rate: float = 1e-3
    batch_size: int = 512
    validation_split: float = 0.2
    patience: int = 15
    lr_decay_factor: float | None = None
    lr_decay_patience: int = 10
    max_epochs: int = 1000
    seed: int = 2024


@dataclass(frozen=True)
class TrainingConfig(Schedule):
    """Every choice of a training run; the defaults are the paper's (Sec. 2.2–2.3, Tab. 2–3).

    Architecture: ``latent``, ``encoder_hidden`` (the decoder mirrors it), ``mapper_hidden``,
    ``mapper_dropout``, ``latent_activation``.
    Scaling: ``flux_scaling`` ("none": continuum-normalised flux as is; "standardise": per pixel,
    zero mean and unit variance over the training spectra) and ``label_scaling`` ("minmax" to
    [0, 1] or "standardise"), both fitted on the training grid and stored with the model;
    ``latent_scaling`` ("none" or "standardise": the mapper's targets, see :func:`train_mapper`).
    Optimisation: ``ae_optimizer`` (also used by :func:`fine_tune`), ``mapper_optimizer``,
    ``fine_tune_learning_rate``, and the :class:`Schedule` fields. The loss is always the mean
    squared error.
    """

    latent: int = 10
    encoder_hidden: tuple[int, ...] = ENCODER_HIDDEN
    mapper_hidden: tuple[int, ...] = MAPPER_HIDDEN
    mapper_dropout: float = 0.3
    latent_activation: str = "relu"
    flux_scaling: Literal["none", "standardise"] = "none"
    label_scaling: Literal["minmax", "standardise"] = "minmax"
    latent_scaling: Literal["none", "standardise"] = "none"
    ae_optimizer: str = "adam"
    mapper_optimizer: str = "adamax"
    fine_tune_learning_rate: float = 1e-4

    @classmethod
    def paper(cls, **changes) -> TrainingConfig:
        """The recipe of Gebran (2024) as written: raw flux, relu latent, Adam (autoencoder) and
        Adamax (mapper) at Keras' default rate 10⁻³, batches of 512, 80/20 split, early stopping
        after 15 epochs. The paper does not say how it scaled the labels (here min-max to [0, 1])
        nor capped the epochs (here 1000). Sound at 205,000 spectra; fragile at a few hundred
        (DESIGN.md), and broken on the 48 ci spectra: 7 of the 10 relu latents die and the
        generator is 4× worse than the mean spectrum."""
        return cls(**changes)

    @classmethod
    def small_grid(cls, **changes) -> TrainingConfig:
        """The recipe measured to work on a few hundred spectra (DESIGN.md), same networks:

        * per-pixel standardised flux: every pixel weighs alike in the loss, instead of the few
          deep line cores dominating it, and the output starts near the mean spectrum;
        * linear latent: a relu latent unit can die (zero for every spectrum), and then carries
          nothing to the decoder;
        * standardised labels, the usual input scaling for relu layers, and standardised latent
          targets for the mapper: an unbounded latent spreads over scales from 3 to 30, and the
          mapper's MSE would otherwise fit the widest few dimensions first;
        * batches of 64: with 512, a small grid is one step per epoch and Adam barely moves;
        * learning rate halved after 10 epochs without improvement, and patience 40: small
          grids have noisy validation losses that a 15-epoch patience stops on too early.
        """
        small = dict(
            latent_activation="linear",
            flux_scaling="standardise",
            label_scaling="standardise",
            latent_scaling="standardise",
            batch_size=64,
            patience=40,
            lr_decay_factor=0.5,
            lr_decay_patience=10,
        )
        return cls(**(small | changes))


@dataclass(frozen=True)
class Scaler:
    """Per-column affine scaling into network units: ``(x − offset) / scale``."""

    offset: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, kind: Literal["none", "minmax", "standardise"]) -> Scaler:
        """Fit on the rows of ``x``; a constant column keeps scale 1 (it is only shifted)."""
        x = np.asarray(x, dtype=np.float64)
        if kind == "none":
            offset, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
        elif kind == "minmax":
            offset, scale = x.min(axis=0), np.ptp(x, axis=0)
        elif kind == "standardise":
            offset, scale = x.mean(axis=0), x.std(axis=0)
        else:
            raise ValueError(f"unknown scaling {kind!r}; choose 'none', 'minmax' or 'standardise'")
        return cls(offset, np.where(scale > 0, scale, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Physical units → network units (float32)."""
        return ((x - self.offset) / self.scale).astype(np.float32)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """Network units → physical units (float32)."""
        return (y * self.scale + self.offset).astype(np.float32)


def train_autoencoder(
    flux: np.ndarray,
    config: TrainingConfig,
    *,
    groups: np.ndarray | None = None,
    progress: bool = False,
) -> tuple[Autoencoder, History]:
    """Build the autoencoder of Tab. 2 and train it to reproduce ``flux`` (n, n_pix), network units."""
    keras.utils.set_random_seed(config.seed)
    ae = build_autoencoder(
        flux.shape[1], config.latent, config.encoder_hidden, latent_activation=config.latent_activation
    )
    history = fit_with_early_stopping(
        ae.model, flux, flux, config, config.ae_optimizer, groups=groups, progress=progress
    )
    return ae, history


def train_mapper(
    labels: np.ndarray,
    latent: np.ndarray,
    config: TrainingConfig,
    *,
    groups: np.ndarray | None = None,
    progress: bool = False,
) -> tuple[keras.Model, History]:
    """Build the network of Tab. 3 and train it from ``labels`` (n, n_labels) to the encoder's
    ``latent`` (n, latent) of the same spectra; labels in network units.

    With ``config.latent_scaling = "standardise"`` the targets are standardised per latent
    dimension for training, and the scaling is then folded into the output layer, so that the
    returned mapper outputs the encoder's latents either way.
    """
    keras.utils.set_random_seed(config.seed)
    mapper = build_mapper(labels.shape[1], config.latent, config.mapper_hidden, config.mapper_dropout)
    scaler = Scaler.fit(latent, config.latent_scaling)
    target = scaler.transform(latent)
    history = fit_with_early_stopping(
        mapper, labels, target, config, config.mapper_optimizer, groups=groups, progress=progress
    )
    output = mapper.get_layer("latent")
    kernel, bias = output.get_weights()
    output.set_weights([kernel * scaler.scale, bias * scaler.scale + scaler.offset])
    return mapper, history


def fine_tune(
    decoder: keras.Model,
    mapper: keras.Model,
    labels: np.ndarray,
    flux: np.ndarray,
    config: TrainingConfig,
    *,
    groups: np.ndarray | None = None,
    progress: bool = False,
) -> History:
    """Train decoder∘mapper end to end on the flux loss, at ``fine_tune_learning_rate``.

    Both models are updated in place. The mapper alone learns latents; the flux is what matters,
    and small latent errors in directions the decoder is sensitive to cost the most flux. The
    decoder then no longer matches the encoder exactly: measure the autoencoder before this.
    If no epoch beats the held-out loss of the models as they came (history ``val_loss_before``),
    they are left as they came.
    """
    keras.utils.set_random_seed(config.seed)
    generator = build_generator(mapper, decoder)
    _, val = split_rows(len(labels), config.validation_split, config.seed, groups)
    before = generator.get_weights()
    loss_before = _mse(generator, labels[val], flux[val]) if val.size else None
    history = fit_with_early_stopping(
        generator,
        labels,
        flux,
        config,
        config.ae_optimizer,
        learning_rate=config.fine_tune_learning_rate,
        groups=groups,
        progress=progress,
    )
    if loss_before is None:
        return history
    if min(history["val_loss"]) >= loss_before:
        generator.set_weights(before)
    return history | {"val_loss_before": [loss_before]}


def split_rows(
    n: int, fraction: float, seed: int, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (training rows, validation rows): ``fraction`` of the rows, or of the groups."""
    groups = np.arange(n) if groups is None else np.asarray(groups)
    unique = np.random.default_rng(seed).permutation(np.unique(groups))
    n_val = min(max(round(fraction * unique.size), 1), unique.size - 1) if fraction > 0 else 0
    is_val = np.isin(groups, unique[:n_val])
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def fit_with_early_stopping(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    config: Schedule,
    optimizer: str,
    *,
    learning_rate: float | None = None,
    groups: np.ndarray | None,
    progress: bool,
) -> History:
    """Compile with MSE, train with early stopping (and LR decay), return the history per epoch.

    ``learning_rate`` defaults to the schedule's own."""
    train, val = split_rows(len(x), config.validation_split, config.seed, groups)
    monitor = "val_loss" if val.size else "loss"
    callbacks = [keras.callbacks.EarlyStopping(monitor, patience=config.patience, restore_best_weights=True)]
    if config.lr_decay_factor is not None:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor, factor=config.lr_decay_factor, patience=config.lr_decay_patience, min_lr=1e-6
            )
        )
    clock = _Clock(model.name, monitor, progress)
    rate = config.learning_rate if learning_rate is None else learning_rate
    opt = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": rate}})
    model.compile(optimizer=opt, loss="mse")
    fit = model.fit(
        x[train],
        y[train],
        validation_data=(x[val], y[val]) if val.size else None,
        batch_size=config.batch_size,
        epochs=config.max_epochs,
        shuffle=True,
        callbacks=[*callbacks, clock],
        verbose=0,
    )
    return {key: [float(v) for v in values] for key, values in fit.history.items()} | {"seconds": clock.seconds}


def _mse(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((model.predict_on_batch(x) - y) ** 2))


class _Clock(keras.callbacks.Callback):
    """Seconds per epoch; with ``verbose``, a progress line at most every 10 s and a last one."""

    def __init__(self, name: str, monitor: str, verbose: bool):
        super().__init__()
        self.name, self.monitor, self.verbose = name, monitor, verbose
        self.seconds: list[float] = []
        self._printed = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        self.seconds.append(now - self._start)
        if self.verbose and now - self._printed > 10:
            self._printed = now
            print(f"{self.name} epoch {epoch + 1}: {self.monitor} {logs[self.monitor]:.3g}", flush=True)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.verbose:
            print(
                f"{self.name}: {len(self.seconds)} epochs, {np.mean(self.seconds):.2f} s each",
                flush=True,
            )
