"""The training loop every network shares: an epoch cap never ends training silently."""

import warnings

import keras
import numpy as np
import pytest

from specgen.model.config import Schedule
from specgen.model.schedule import EpochCapWarning, fit_with_early_stopping


def small_network():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs), name="probe")


def data():
    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    return x, x[:, :2] * 2.0


def test_a_cap_that_ends_training_is_reported():
    schedule = Schedule(batch_size=16, patience=50, max_epochs=3, seed=0)
    with pytest.warns(EpochCapWarning, match="probe: the epoch cap of 3 ended training before early stopping"):
        history = fit_with_early_stopping(small_network(), *data(), schedule, "adam", groups=None, progress=False)
    assert len(history["loss"]) == 3


def test_early_stopping_ends_training_without_a_word():
    schedule = Schedule(batch_size=16, patience=1, max_epochs=50, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EpochCapWarning)
        history = fit_with_early_stopping(
            small_network(), *data(), schedule, "adam", learning_rate=0.0, groups=None, progress=False
        )  # a frozen network never improves: stopped after patience + 1 epochs
    assert len(history["loss"]) == 2
