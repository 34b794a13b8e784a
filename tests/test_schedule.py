"""The training loop every network shares: an epoch cap never ends training silently."""

import warnings

import keras
import numpy as np
import pytest

from specgen.model.config import FactorisedConfig, Schedule, TrainingConfig
from specgen.model.schedule import EpochCapWarning, fit_with_early_stopping
from specgen.runtime.profiles import get_profile


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


@pytest.mark.parametrize("min_improvement, epochs", [(0.0, 60), (1e-3, 4)])
def test_a_loss_creeping_down_by_less_than_min_improvement_does_not_hold_off_early_stopping(min_improvement, epochs):
    """A validation loss falling by 10⁻⁵ of itself each epoch: any decrease is an improvement for Keras,
    so training runs to the cap of 60; with a 0.1% threshold it stops after patience (3) + 1 epochs.
    The loss is fed to the fitting loop's own callback, epoch by epoch."""
    from specgen.model.schedule import _EarlyStopping

    stopping = _EarlyStopping("val_loss", patience=3, min_improvement=min_improvement)
    stopping.set_model(small_network())
    stopping.model.stop_training = False  # as Model.fit sets it
    stopping.on_train_begin()
    ran = 0
    for epoch in range(60):
        ran += 1
        stopping.on_epoch_end(epoch, {"val_loss": 0.05 * (1 - 1e-5) ** epoch})
        if stopping.model.stop_training:
            break
    assert ran == epochs


def test_a_real_improvement_beyond_the_threshold_resets_the_patience():
    from specgen.model.schedule import _EarlyStopping

    stopping = _EarlyStopping("val_loss", patience=3, min_improvement=1e-3)
    stopping.set_model(small_network())
    stopping.model.stop_training = False  # as Model.fit sets it
    stopping.on_train_begin()
    for epoch, loss in enumerate([1.0, 0.99, 0.98, 0.97, 0.96, 0.95]):  # 1% a step
        stopping.on_epoch_end(epoch, {"val_loss": loss})
    assert not stopping.model.stop_training and stopping.best == 0.95


@pytest.mark.parametrize("min_batches, steps", [(1, 4), (10, 12), (12, 12)])
def test_an_epoch_takes_at_least_min_batches_batches(min_batches, steps):
    """64 rows in batches of 16 are 4 batches a pass: an epoch of at least 10 takes three passes (12 batches)."""
    schedule = Schedule(batch_size=16, validation_split=0.0, max_epochs=1, min_batches=min_batches, seed=0)
    network = small_network()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EpochCapWarning)
        fit_with_early_stopping(network, *data(), schedule, "adam", groups=None, progress=False)
    assert int(network.optimizer.iterations) == steps


def test_a_profile_that_sets_min_batches_overrides_both_kinds_recipes():
    ci, demo = get_profile("ci"), get_profile("demo")
    assert TrainingConfig.for_profile(ci).min_batches == FactorisedConfig.for_profile(ci).min_batches == ci.min_batches
    assert TrainingConfig.for_profile(demo).min_batches == TrainingConfig.small_grid().min_batches
    assert FactorisedConfig.for_profile(demo).min_batches == FactorisedConfig().min_batches
    assert TrainingConfig.for_profile(ci, min_batches=7).min_batches == 7  # an explicit change wins
