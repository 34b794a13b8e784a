"""Every choice of a training run: the paper's recipe, the one that works on small grids, and the factorised kind's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from specgen.constants import ENCODER_HIDDEN, MAPPER_HIDDEN

if TYPE_CHECKING:
    from specgen.runtime.profiles import Profile

#: Whether a training run fine-tunes decoder∘mapper end to end after the paper's two stages, unless
#: told otherwise: the one default of train_emulator, fit_or_load and `specgen train`.
FINE_TUNE = True


@dataclass(frozen=True)
class Schedule:
    """How :func:`fit_with_early_stopping` fits a network; the defaults are the paper's.

    ``learning_rate``, ``batch_size``, the seeded ``validation_split`` held out for early stopping
    after ``patience`` epochs without improvement (the best weights kept; a loss lower than the best by
    less than the fraction ``min_improvement`` of it is none, 0 counting any decrease), ``lr_decay_factor``
    (multiply the learning rate by it after ``lr_decay_patience`` epochs without improvement;
    None: constant), ``max_epochs`` and ``seed``. ``min_batches``: an epoch takes at least this many
    batches, passing a small training set through more than once, so that patience, decay and cap
    count alike in optimiser steps on every grid (1: one pass, as Keras).
    """

    learning_rate: float = 1e-3
    batch_size: int = 512
    min_batches: int = 1
    validation_split: float = 0.2
    patience: int = 15
    min_improvement: float = 0.0
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
    def for_profile(cls, profile: Profile, recipe: str | None = None, **changes) -> TrainingConfig:
        """The configuration of ``profile`` (its recipe and :meth:`~Profile.schedule`), or of another
        ``recipe`` ("paper", "small_grid") with the profile's schedule."""
        return getattr(cls, recipe or profile.recipe)(**(profile.schedule(profile.max_epochs) | changes))

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
          grids have noisy validation losses that a 15-epoch patience stops on too early;
        * an improvement counts only beyond 0.1% of the best loss: with the rate halved again and
          again, the loss of a 600-spectrum grid crept down by 10⁻⁵ an epoch for 1,000 epochs;
        * at least 20 batches an epoch: on a grid of a few hundred spectra an epoch is a handful of
          steps, and patience and decay ran out before Adam had converged (on 450 SME stars of
          distinct labels, generator validation MAE 1.03e-2 → 9.2e-3).
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
            min_improvement=1e-3,
            min_batches=20,
        )
        return cls(**(small | changes))


@dataclass(frozen=True)
class FactorisedConfig(Schedule):
    """Every choice of a factorised training run (:mod:`specgen.model.factorised`).

    Network: ``hidden`` widths with ``activation`` from the four intrinsic labels (scaled by
    ``label_scaling``; with ``inverse_teff``, θ = 5040 K / Teff standardised as a fifth input) to the
    spectrum at the grid's highest resolving power, on a grid uniform in ln λ of ``step_kms``, padded
    for the widest kernels; the flux is learnt as it is (continuum units), through the broadening layer
    (limb darkening ``epsilon``), against the grid's broadened rows. Optimisation: ``optimizer`` and the
    :class:`Schedule` fields, from the reference recipe of issue 13 (batches of 64, a tenth of the stars
    for early stopping, the rate halved after 40 epochs without improvement), with patience 100. Chosen
    on the validation stars of SME grids of distinct labels (no star ids, as another code's grid): on
    450 stars, four hidden layers instead of two, at least 20 batches an epoch and an improvement only
    beyond 0.1% of the best loss took the validation MAE from 7.2e-3 (two layers, ended by the
    3,000-epoch cap after 1,124 s) to 5.6e-3 (early stopping after 170 epochs, 173 s); on 900 stars, 60
    batches an epoch instead of 20 took it from 1.75e-3 (ended by the cap after 1,732 s) to 1.38e-3
    (early stopping after 228 epochs, 316 s), and θ as an input to 1.12e-3 (466 epochs, 589 s): the
    error sits in cool stars, whose spectra change fastest.
    """

    hidden: tuple[int, ...] = (300, 300, 300, 300)
    activation: str = "leaky_relu"
    inverse_teff: bool = True
    label_scaling: Literal["minmax", "standardise"] = "standardise"
    step_kms: float = 2.0
    epsilon: float = 0.6
    optimizer: str = "adam"
    batch_size: int = 64
    validation_split: float = 0.1
    min_batches: int = 60
    patience: int = 100
    min_improvement: float = 1e-3
    lr_decay_factor: float | None = 0.5
    lr_decay_patience: int = 40
    max_epochs: int = 3000

    @classmethod
    def for_profile(cls, profile: Profile, **changes) -> FactorisedConfig:
        """The configuration with ``profile``'s :meth:`~Profile.schedule` and factorised epoch cap."""
        return cls(**(profile.schedule(profile.factorised_max_epochs) | changes))


#: The kinds of generator ``specgen train --kind`` builds, and the configuration class of each.
KINDS = {"paper": TrainingConfig, "factorised": FactorisedConfig}
