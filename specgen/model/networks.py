"""The networks of Gebran (2024), as Keras builders whose defaults are the paper's tables.

==========================  =================================================================
:func:`build_encoder`       Tab. 2, upper half: spectrum (4000) → 1024 → 512 → 256 → 64 → 32 → latent (10)
:func:`build_decoder`       Tab. 2, lower half: latent (10) → 32 → 64 → 256 → 512 → 1024 → spectrum (4000)
:func:`build_mapper`        Tab. 3: labels (6) → 5000 → 2000 → 512 → 32 → latent (10), dropout 30 %
:func:`build_estimator`     Tab. 4: PCA coefficients (15) → 5000 → 2000 → 1000 → 512 → 64 → one label
==========================  =================================================================

Every width is a parameter, so that tests and small grids can use tiny networks of the same
shape. :func:`summary_table` turns a built model back into the rows of those tables.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import keras
import numpy as np
from keras import layers

from specgen.constants import ENCODER_HIDDEN, ESTIMATOR_HIDDEN, MAPPER_HIDDEN


class Autoencoder(NamedTuple):
    """The two halves of Tab. 2 and the model that chains them (sharing their weights)."""

    encoder: keras.Model
    decoder: keras.Model
    model: keras.Model


def dense_stack(
    x,
    widths: Sequence[int],
    activation: str,
    *,
    dropout: float = 0.0,
    kernel_initializer: str | keras.initializers.Initializer = "glorot_uniform",
):
    """Hidden layers ``hidden_1 … hidden_k``; with ``dropout``, a Dropout after each but the last."""
    for i, width in enumerate(widths, start=1):
        x = layers.Dense(width, activation, kernel_initializer=kernel_initializer, name=f"hidden_{i}")(x)
        if dropout and i < len(widths):
            x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
    return x


def build_encoder(
    n_pix: int,
    latent: int = 10,
    hidden: Sequence[int] = ENCODER_HIDDEN,
    activation: str = "relu",
    latent_activation: str = "relu",
) -> keras.Model:
    """Spectrum of ``n_pix`` fluxes → ``latent`` numbers (Tab. 2, encoder).

    The paper's latent layer is relu, as its table says; ``"linear"`` avoids dead latent units
    on small grids (see :class:`specgen.model.config.TrainingConfig`).
    """
    inputs = keras.Input((n_pix,), name="spectrum")
    x = dense_stack(inputs, hidden, activation)
    outputs = layers.Dense(latent, latent_activation, name="latent")(x)
    return keras.Model(inputs, outputs, name="encoder")


def build_decoder(
    n_pix: int,
    latent: int = 10,
    hidden: Sequence[int] = ENCODER_HIDDEN[::-1],
    activation: str = "relu",
    output_activation: str = "linear",
) -> keras.Model:
    """``latent`` numbers → spectrum of ``n_pix`` fluxes (Tab. 2, decoder).

    Tab. 2 gives no activation for the output layer; linear is the one that can reach any
    flux (and any standardised flux), so it is the default.
    """
    inputs = keras.Input((latent,), name="latent")
    x = dense_stack(inputs, hidden, activation)
    outputs = layers.Dense(n_pix, output_activation, name="spectrum")(x)
    return keras.Model(inputs, outputs, name="decoder")


def build_autoencoder(
    n_pix: int,
    latent: int = 10,
    hidden: Sequence[int] = ENCODER_HIDDEN,
    activation: str = "relu",
    latent_activation: str = "relu",
    output_activation: str = "linear",
) -> Autoencoder:
    """Encoder and mirrored decoder of Tab. 2; ``hidden`` lists the encoder's widths."""
    encoder = build_encoder(n_pix, latent, hidden, activation, latent_activation)
    decoder = build_decoder(n_pix, latent, tuple(hidden)[::-1], activation, output_activation)
    inputs = keras.Input((n_pix,), name="spectrum")
    return Autoencoder(encoder, decoder, keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder"))


def build_mapper(
    n_labels: int,
    latent: int = 10,
    hidden: Sequence[int] = MAPPER_HIDDEN,
    dropout: float = 0.3,
    activation: str = "relu",
) -> keras.Model:
    """Stellar labels → latent space (Tab. 3): dropout after every hidden layer but the last,
    linear output."""
    inputs = keras.Input((n_labels,), name="labels")
    x = dense_stack(inputs, hidden, activation, dropout=dropout)
    outputs = layers.Dense(latent, name="latent")(x)
    return keras.Model(inputs, outputs, name="mapper")


def build_generator(mapper: keras.Model, decoder: keras.Model) -> keras.Model:
    """decoder∘mapper as one model (Sec. 2.4): labels → flux, both in network units."""
    inputs = keras.Input((mapper.inputs[0].shape[1],), name="labels")
    return keras.Model(inputs, decoder(mapper(inputs)), name="generator")


def build_estimator(
    n_inputs: int = 15,
    n_outputs: int = 1,
    hidden: Sequence[int] = ESTIMATOR_HIDDEN,
    activation: str = "relu",
    name: str = "estimator",
) -> keras.Model:
    """PCA coefficients → stellar label(s) (Tab. 4), with the paper's RandomNormal kernels.

    The paper trains one such network per label, hence ``n_outputs=1``; the output is linear.
    """
    init = keras.initializers.RandomNormal()
    inputs = keras.Input((n_inputs,), name="pca_coefficients")
    x = dense_stack(inputs, hidden, activation, kernel_initializer=init)
    outputs = layers.Dense(n_outputs, kernel_initializer=init, name="labels")(x)
    return keras.Model(inputs, outputs, name=name)


def summary_table(model: keras.Model) -> list[dict]:
    """One row per layer, nested models flattened in order: the paper's Tab. 2, 3, 4.

    Keys: ``layer`` (name, prefixed by its sub-model), ``kind`` (Input, Dense, Dropout),
    ``units`` (width; for an input, its size), ``activation`` (None for Input and Dropout),
    ``dropout`` (rate, 0 for other layers) and ``parameters`` (trainable weights).
    """
    rows = [_input_row(model)]
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            rows += [{**row, "layer": f"{layer.name}/{row['layer']}"} for row in summary_table(layer)[1:]]
        else:
            rows.append(_layer_row(layer))
    return rows


def _input_row(model: keras.Model) -> dict:
    (width,) = model.inputs[0].shape[1:]
    return {
        "layer": model.inputs[0].name,
        "kind": "Input",
        "units": width,
        "activation": None,
        "dropout": 0.0,
        "parameters": 0,
    }


def _layer_row(layer: keras.layers.Layer) -> dict:
    is_dense = isinstance(layer, keras.layers.Dense)
    return {
        "layer": layer.name,
        "kind": type(layer).__name__,
        "units": layer.units if is_dense else None,
        "activation": keras.activations.serialize(layer.activation) if is_dense else None,
        "dropout": float(getattr(layer, "rate", 0.0)),
        "parameters": layer.count_params(),
    }


def predict_in_batches(fn: Callable[[np.ndarray], Any], x: np.ndarray, width: int, batch_size: int) -> np.ndarray:
    """``fn`` applied to ``x`` in row batches, into one preallocated float32 array."""
    out = np.empty((len(x), width), np.float32)
    for start in range(0, len(x), batch_size):
        out[start : start + batch_size] = fn(x[start : start + batch_size])
    return out


def without_optimizer(model: keras.Model) -> keras.Model:
    """``model``'s layers and weights without its optimizer state, which would triple the saved
    size (Adam and Adamax keep two moments per weight) and is never needed to generate."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy
