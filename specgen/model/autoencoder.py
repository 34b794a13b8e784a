"""Stage 1 of the paper (Sec. 2.2): spectra → spectra through a small latent space."""

from __future__ import annotations

import keras
import numpy as np

from specgen.model.config import TrainingConfig
from specgen.model.networks import (
    Autoencoder,
    build_autoencoder,
)
from specgen.model.schedule import History, fit_with_early_stopping


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
