"""Stage 2 of the paper (Sec. 2.3): labels → the encoder's latents of the same spectra."""

from __future__ import annotations

import keras
import numpy as np

from specgen.model.config import TrainingConfig
from specgen.model.networks import (
    build_mapper,
)
from specgen.model.scaling import Scaler
from specgen.model.schedule import History, fit_with_early_stopping


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
