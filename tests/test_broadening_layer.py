"""The Keras broadening layer agrees with the numpy reference, serialises, and has finite gradients."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from specgen.constants import C_KMS, RVS_WAVELENGTH
from specgen.model.broadening import Broadening
from specgen.synth.broaden import broaden, observe
from specgen.synth.sme import log_uniform_grid, synthesize_intrinsic

#: (v sin i [km/s], R) across Tab. 1: no rotation, sub-pixel rotation (0.5 km/s pixels), the extremes.
VARIANTS = np.array([(0.0, 14500), (0.0, 5000), (0.2, 9000), (1.5, 5000), (37.3, 11000), (120.0, 7000),
                     (300.0, 5000), (300.0, 14500)])
CENTRES = (8498.02, 8542.09, 8662.14, 8400.3, 8403.0, 8797.0, 8799.7, 8620.0, 8750.47)  # Å: Ca II, both edges


@pytest.fixture(scope="module")
def wave():
    """The padded ln-λ grid the synthesis makes intrinsic spectra on (synthesize_intrinsic's defaults)."""
    defaults = inspect.signature(synthesize_intrinsic).parameters
    return log_uniform_grid(*defaults["wavelength_range"].default, defaults["velocity_step"].default)


def intrinsic(wave, depth_scale=1.0):
    """Continuum 1 with alternately Lorentzian and Gaussian lines, 1.5–12 km/s wide."""
    flux = np.ones_like(wave)
    for i, (centre, width) in enumerate(zip(CENTRES, np.linspace(1.5, 12.0, len(CENTRES)))):
        u = ((wave / centre - 1) * C_KMS / width) ** 2
        flux *= 1 - depth_scale * (0.8 - 0.06 * i) * (np.exp(-0.5 * u) if i % 2 else 1 / (1 + u))
    return flux


@pytest.fixture(scope="module")
def spectra(wave):
    """One intrinsic spectrum per variant, two alternating line strengths (a mix-up of rows would show)."""
    return np.stack([intrinsic(wave, 1.0 if i % 2 else 0.7) for i in range(len(VARIANTS))])


def reference(wave, spectra):
    return np.concatenate([observe(wave, f, v, r, RVS_WAVELENGTH) for f, (v, r) in zip(spectra, VARIANTS)])


def test_one_batch_matches_observe(wave, spectra):
    layer = Broadening(wave)
    out = np.asarray(layer(spectra.astype("float32"), VARIANTS[:, 0], VARIANTS[:, 1]))
    assert out.shape == (len(VARIANTS), RVS_WAVELENGTH.size)
    assert np.abs(out - reference(wave, spectra)).max() <= 1e-5


def test_spectra_stored_at_r_max_need_only_the_rest(wave, spectra):
    """Broadened first to R = 14,500, then by the layer: the same as broadening the intrinsic spectrum once."""
    stored = np.stack([broaden(wave, f, 0.0, 14500.0) for f in spectra])
    layer = Broadening(wave, pre_resolution=14500.0)
    out = np.asarray(layer(stored.astype("float32"), VARIANTS[:, 0, None], VARIANTS[:, 1, None]))
    assert np.abs(out - reference(wave, spectra)).max() <= 1e-4


@pytest.mark.parametrize("pre_resolution", [None, 14500.0])
def test_gradients_are_finite_and_right(wave, pre_resolution):
    """Finite everywhere, at v sin i = 0 and R = R_max too; equal to finite differences away from the kinks."""
    layer = Broadening(wave, pre_resolution=pre_resolution, dtype="float64")
    flux = tf.Variable(np.stack([intrinsic(wave)] * 4))
    vsini = tf.Variable([0.0, 0.2, 37.3, 300.0], dtype="float64")
    resolution = tf.Variable([14500.0, 5000.0, 9000.0, 5000.0], dtype="float64")
    weights = np.sin(np.arange(RVS_WAVELENGTH.size) / 30.0)

    def loss(v, r):
        return tf.reduce_sum(layer(flux, v, r) * weights, axis=1)

    with tf.GradientTape() as tape:
        total = tf.reduce_sum(loss(vsini, resolution))
    gradients = tape.gradient(total, [flux, vsini, resolution])
    assert all(np.isfinite(g.numpy()).all() for g in gradients)
    assert np.abs(gradients[0].numpy()).sum() > 0

    dv, dr = np.array([0, 0, 1e-4, 1e-4]), np.array([0, 0.5, 0.5, 0.5])  # row 0 sits on both kinks
    by_v = (loss(vsini + dv, resolution) - loss(vsini - dv, resolution)).numpy()[2:] / 2e-4
    by_r = (loss(vsini, resolution + dr) - loss(vsini, resolution - dr)).numpy()[1:] / 1.0
    np.testing.assert_allclose(gradients[1].numpy()[2:], by_v, rtol=1e-4)
    np.testing.assert_allclose(gradients[2].numpy()[1:], by_r, rtol=1e-4)


def test_config_round_trip(wave, spectra):
    layer = Broadening(wave, RVS_WAVELENGTH[::2], epsilon=0.4, vsini_max=100.0, pre_resolution=14500.0)
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(copy, Broadening) and copy.get_config() == layer.get_config()
    args = spectra[:2].astype("float32"), VARIANTS[:2, 0], VARIANTS[:2, 1]
    np.testing.assert_array_equal(np.asarray(copy(*args)), np.asarray(layer(*args)))


def test_grids_that_cannot_work_are_refused(wave):
    with pytest.raises(ValueError, match="uniformly in ln"):
        Broadening(np.linspace(8380.0, 8820.0, 5000))
    with pytest.raises(ValueError, match="not covered"):
        Broadening(wave, target=np.array([8370.0, 8400.0]))
