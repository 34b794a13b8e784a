"""The networks are the paper's Tab. 2, 3 and 4 with the default arguments, and any size otherwise."""

import keras
import numpy as np

from specgen.model.networks import (
    build_autoencoder,
    build_decoder,
    build_encoder,
    build_estimator,
    build_mapper,
    summary_table,
)


def dense(n_in, n_out):
    """Weights and biases of a dense layer."""
    return n_in * n_out + n_out


def column(rows, key):
    return [row[key] for row in rows]


def test_autoencoder_is_table2():
    ae = build_autoencoder(4000)
    rows = summary_table(ae.model)
    assert column(rows, "units") == [4000, 1024, 512, 256, 64, 32, 10, 32, 64, 256, 512, 1024, 4000]
    assert column(rows, "activation") == [None] + ["relu"] * 11 + ["linear"]
    assert column(rows, "kind") == ["Input"] + ["Dense"] * 12
    assert rows[6]["layer"] == "encoder/latent" and rows[7]["layer"] == "decoder/hidden_1"
    encoder = dense(4000, 1024) + dense(1024, 512) + dense(512, 256) + dense(256, 64) + dense(64, 32) + dense(32, 10)
    decoder = dense(10, 32) + dense(32, 64) + dense(64, 256) + dense(256, 512) + dense(512, 1024) + dense(1024, 4000)
    assert (encoder, decoder) == (4_772_010, 4_776_000)
    assert ae.encoder.count_params() == encoder and ae.decoder.count_params() == decoder
    assert sum(column(rows, "parameters")) == ae.model.count_params() == encoder + decoder


def test_mapper_is_table3():
    rows = summary_table(build_mapper(6))
    assert column(rows, "kind") == ["Input"] + ["Dense", "Dropout"] * 3 + ["Dense", "Dense"]
    assert column(rows, "units") == [6, 5000, None, 2000, None, 512, None, 32, 10]
    assert column(rows, "dropout") == [0, 0, 0.3, 0, 0.3, 0, 0.3, 0, 0]
    assert column(rows, "activation") == [None, "relu", None, "relu", None, "relu", None, "relu", "linear"]
    expected = dense(6, 5000) + dense(5000, 2000) + dense(2000, 512) + dense(512, 32) + dense(32, 10)
    assert sum(column(rows, "parameters")) == expected == 11_078_258


def test_estimator_is_table4_with_random_normal_kernels():
    model = build_estimator()
    rows = summary_table(model)
    assert column(rows, "units") == [15, 5000, 2000, 1000, 512, 64, 1]
    assert column(rows, "activation") == [None] + ["relu"] * 5 + ["linear"]
    widths = [15, 5000, 2000, 1000, 512, 64, 1]
    expected = sum(dense(n_in, n_out) for n_in, n_out in zip(widths[:-1], widths[1:]))
    assert model.count_params() == expected == 12_628_409
    dense_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert all(isinstance(layer.kernel_initializer, keras.initializers.RandomNormal) for layer in dense_layers)


def test_every_size_is_a_parameter():
    encoder = build_encoder(50, latent=3, hidden=(8, 4), latent_activation="linear")
    decoder = build_decoder(50, latent=3, hidden=(4, 8), output_activation="sigmoid")
    mapper = build_mapper(4, latent=3, hidden=(16, 8), dropout=0.1)
    x = np.zeros((2, 50), np.float32)
    assert encoder(x).shape == (2, 3) and decoder(encoder(x)).shape == (2, 50)
    assert mapper(np.zeros((2, 4), np.float32)).shape == (2, 3)
    assert column(summary_table(encoder), "activation")[-1] == "linear"
    assert column(summary_table(decoder), "activation")[-1] == "sigmoid"
    assert column(summary_table(mapper), "dropout") == [0, 0, 0.1, 0, 0]
    assert build_estimator(n_inputs=5, n_outputs=2, hidden=(4,)).outputs[0].shape[1] == 2
