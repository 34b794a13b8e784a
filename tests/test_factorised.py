"""The factorised kind: its padded window, its graph, its files, and what it learns from the ci grid."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from specgen.constants import C_KMS, RVS_WAVELENGTH
from specgen.grid import Grid, GridError, read_grid
from specgen.labels import LABEL_NAMES
from specgen.model.config import FactorisedConfig, TrainingConfig
from specgen.model.emulator import Emulator, EmulatorError
from specgen.model.factorised import (
    FactorisedEmulator,
    intrinsic_wavelength,
    train_factorised,
)
from specgen.model.train import train_emulator
from specgen.runtime.profiles import get_profile
from specgen.synth.broaden import velocity_step

CI = Path(__file__).resolve().parents[1] / "data" / "ci"

# Keras 3.15's ReduceLROnPlateau reads the learning rate with np.array(variable), which numpy 2 warns about.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


@pytest.fixture(scope="module")
def ci_factorised():
    """The ci profile's factorised recipe on the 48 ci spectra of 12 stars, measured on the test grid: ~30 s."""
    config = FactorisedConfig.for_profile(get_profile("ci"))
    return train_emulator(CI / "train.h5", config, test_grid=CI / "test.h5", progress=False)


def test_the_intrinsic_window_is_uniform_in_log_wavelength_and_padded_for_the_widest_kernels():
    wave = intrinsic_wavelength(RVS_WAVELENGTH, 2.0, 300.0, 5000.0)
    assert velocity_step(wave) == pytest.approx(2.0, rel=1e-6)
    reach = 300.0 + 5 * C_KMS / 5000 / 2.3548  # km/s: rotation and 5σ of the widest Gaussian
    assert (1 - wave[0] / RVS_WAVELENGTH[0]) * C_KMS > reach
    assert (wave[-1] / RVS_WAVELENGTH[-1] - 1) * C_KMS > reach
    assert (1 - wave[0] / RVS_WAVELENGTH[0]) * C_KMS < reach + 10  # and not much more


def test_the_generator_broadens_the_intrinsic_spectrum_at_each_rows_physical_vsini_and_resolution(ci_factorised):
    """Inside the graph v sin i and R are unscaled and the four intrinsic columns picked: the same as the
    layer applied by hand to the intrinsic spectra at the physical labels."""
    emulator = ci_factorised
    labels = np.array([[5777, 4.44, 2.0, 0.0, 1.0, 11500], [5777, 4.44, 150.0, 0.0, 1.0, 6000],
                       [9000, 3.5, 40.0, -1.0, 2.0, 14000]], dtype=np.float64)
    by_hand = emulator.broadening(emulator.intrinsic_spectra(labels), labels[:, 2], labels[:, 5])
    np.testing.assert_allclose(emulator.generate(labels, allow_extrapolation=True), np.asarray(by_hand), atol=1e-6)
    assert np.abs(np.diff(emulator.generate(labels[:2], allow_extrapolation=True), axis=0)).max() > 1e-3


def test_on_the_ci_grid_the_factorised_kind_beats_the_mean_spectrum(ci_factorised):
    test = ci_factorised.provenance["metrics"]["test"]
    assert test["gen_mae"] < 0.8 * test["mean_spectrum_mae"]
    assert test["ae_mae"] is None  # no autoencoder to measure
    epochs = len(ci_factorised.provenance["history"]["generator"]["loss"])
    assert epochs < get_profile("ci").factorised_max_epochs  # early stopping ended it


def test_the_intrinsic_network_also_sees_the_standardised_inverse_temperature(ci_factorised):
    """θ = 5040 K / Teff of the physical Teff, undone from the label scaling, standardised over the training rows."""
    grid = read_grid(CI / "train.h5")
    x = ci_factorised.label_scaler.transform(grid.labels)[:, ci_factorised._intrinsic_columns]
    features = np.asarray(ci_factorised.intrinsic.get_layer("inverse_temperature")(x))
    np.testing.assert_array_equal(features[:, :4], x)
    theta = 5040.0 / grid.labels[:, grid.label_names.index("teff")]
    np.testing.assert_allclose(features[:, 4], (theta - theta.mean()) / theta.std(), rtol=1e-4, atol=1e-5)


def test_a_saved_factorised_emulator_loads_as_its_kind_with_the_same_spectra(ci_factorised, tmp_path):
    ci_factorised.save(tmp_path / "model")
    manifest = json.loads((tmp_path / "model" / "emulator.json").read_text())
    assert manifest["kind"] == "factorised" and manifest["settings"]["epsilon"] == 0.6
    back = Emulator.load(tmp_path / "model")
    assert isinstance(back, FactorisedEmulator)
    test = read_grid(CI / "test.h5")
    np.testing.assert_array_equal(back.generate_like(test), ci_factorised.generate_like(test))

    manifest["kind"] = "transformer"
    (tmp_path / "model" / "emulator.json").write_text(json.dumps(manifest))
    with pytest.raises(EmulatorError, match="unknown kind 'transformer'"):
        Emulator.load(tmp_path / "model")


def test_gradients_flow_to_every_label_through_the_broadening_layer(ci_factorised):
    x = tf.Variable(ci_factorised.label_scaler.transform(np.array([[6000, 4.0, 30.0, 0.0, 1.5, 9000.0]])))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(ci_factorised.network_flux(x) ** 2)
    gradient = tape.gradient(loss, x).numpy()
    assert np.all(np.isfinite(gradient)) and np.all(gradient != 0)


@pytest.mark.parametrize("axes", [(0, 1, 2, 3, 4, 5), (5, 0, 2), (1, 3), (2,), (5, 2)])
def test_the_linear_differences_of_the_factorised_kind_are_those_through_its_whole_graph(ci_factorised, axes):
    """The fit's Jacobian: broadening differences of intrinsic spectra, and one spectrum under two
    kernels, must equal central differences of whole generated spectra, in the order of ``axes``."""
    labels = np.array([[5200, 4.5, 3.0, 0.3, 1.0, 14000.0], [7500, 3.5, 150.0, -1.0, 2.0, 6000.0]])
    x = tf.constant(ci_factorised.label_scaler.transform(labels), tf.float32)
    flux, differences = ci_factorised.network_differences(x, axes, 3e-2)
    whole_flux, whole_differences = Emulator.network_differences(ci_factorised, x, axes, 3e-2)
    np.testing.assert_allclose(flux, whole_flux, atol=1e-5)
    np.testing.assert_allclose(differences, whole_differences, atol=1e-4 * np.abs(whole_differences).max())
    assert np.all(np.abs(whole_differences).max(axis=2) > 0)


def test_a_grid_without_the_broadening_labels_is_refused_in_one_line():
    grid = read_grid(CI / "train.h5")
    keep = [j for j, name in enumerate(LABEL_NAMES) if name != "resolution"]
    no_r = Grid(grid.wavelength, grid.flux, grid.labels[:, keep], tuple(LABEL_NAMES[j] for j in keep))
    with pytest.raises(GridError, match=r"needs the labels \['resolution'\]"):
        train_factorised(no_r, FactorisedConfig(max_epochs=1), groups=None, progress=False)


def test_fine_tuning_applies_to_the_paper_kind_only():
    from specgen.model.train import fine_tunes

    assert fine_tunes(TrainingConfig(), True) and not fine_tunes(TrainingConfig(), False)
    assert not fine_tunes(FactorisedConfig(), True)
