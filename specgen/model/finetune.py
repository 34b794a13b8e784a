"""Optional stage 3, not in the paper: decoder∘mapper trained end to end on the flux."""

from __future__ import annotations

import keras
import numpy as np

from specgen.model.config import TrainingConfig
from specgen.model.networks import (
    build_generator,
)
from specgen.model.schedule import (
    History,
    fit_with_early_stopping,
    mean_squared_error,
    split_rows,
)


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
    loss_before = mean_squared_error(generator, labels[val], flux[val]) if val.size else None
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
