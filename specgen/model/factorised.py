"""The factorised generator: a network of the intrinsic labels, then v sin i and R as exact physics.

Rotation and the instrument are convolutions, known exactly; only (Teff, log g, [M/H], ξt) need
learning. :func:`build_intrinsic_network` maps those four labels to the spectrum at the grid's
highest resolving power R_max, on a grid uniform in ln λ padded for the widest kernels
(:func:`intrinsic_wavelength`); :class:`~specgen.model.broadening.Broadening` then applies each
row's own v sin i and the remaining instrumental Gaussian, and resamples onto the grid's pixels.

:func:`train_factorised` trains the network through that layer against the grid's broadened rows,
so it needs no intrinsic spectra and no star ids: any grid whose broadening follows the same
convention (rotation with linear limb darkening, then a Gaussian of FWHM λ/R) will do, such as
SYNSPEC + ROTIN grids with each star once at its own v sin i and R.

    emulator = train_emulator("data/demo/train.h5", FactorisedConfig())
    emulator.generate(teff=5777, logg=4.44, vsini=2, m_h=0, xi_t=1, resolution=11500)
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
from keras import layers, ops

from specgen.grid import Grid, GridError
from specgen.labels import check_labels, label_array, spanned_ranges
from specgen.model.broadening import Broadening, complex_multiply
from specgen.model.config import FactorisedConfig
from specgen.model.emulator import (
    Emulator,
    EmulatorError,
    central_difference,
    difference_offsets,
)
from specgen.model.networks import dense_stack, predict_in_batches
from specgen.model.scaling import Scaler
from specgen.model.schedule import History, fit_with_early_stopping
from specgen.synth.broaden import intrinsic_wavelength

#: The labels the network sees, and those the broadening layer applies.
INTRINSIC_LABELS = ("teff", "logg", "m_h", "xi_t")
BROADENING_LABELS = ("vsini", "resolution")

_MIN_SPREAD = 1e-3  # continuum units: a point flat in every training spectrum can still move
THETA_KELVIN = 5040.0  # K: θ = 5040 K / Teff = log10(e) / (k Teff), in eV⁻¹


@keras.saving.register_keras_serializable(package="specgen")
class PixelScaling(layers.Layer):
    """``x · scale + offset`` per output point, both fixed (non-trainable weights, saved with the model)."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=input_shape[1:], initializer="ones", trainable=False, name="scale")
        self.offset = self.add_weight(shape=input_shape[1:], initializer="zeros", trainable=False, name="offset")

    def call(self, x):
        return x * self.scale + self.offset


@keras.saving.register_keras_serializable(package="specgen")
class InverseTemperature(layers.Layer):
    """Appends θ = 5040 K / Teff, standardised, to the scaled intrinsic labels (Teff first).

    Spectra change fastest in cool stars, where a scale linear in Teff crowds them: 3600–7000 K is a
    quarter of Tab. 1's Teff range and three fifths of its θ range. ``teff_scaling`` (offset, scale)
    undoes the label scaling of Teff (K); ``theta_scaling`` (mean, standard deviation) standardises θ."""

    def __init__(self, teff_scaling: Sequence[float], theta_scaling: Sequence[float], **kwargs):
        super().__init__(**kwargs)
        self.teff_scaling = tuple(float(v) for v in teff_scaling)
        self.theta_scaling = tuple(float(v) for v in theta_scaling)

    @classmethod
    def fit(cls, teff: np.ndarray, teff_scaling: Sequence[float]) -> InverseTemperature:
        """The layer for training stars of effective temperatures ``teff`` (K)."""
        theta = Scaler.fit(THETA_KELVIN / np.asarray(teff, dtype=np.float64)[:, None], "standardise")
        return cls(teff_scaling, (theta.offset[0], theta.scale[0]), name="inverse_temperature")

    def call(self, x):
        (teff_offset, teff_scale), (theta_mean, theta_std) = self.teff_scaling, self.theta_scaling
        theta = THETA_KELVIN / (x[:, :1] * teff_scale + teff_offset)
        return ops.concatenate([x, (theta - theta_mean) / theta_std], axis=1)

    def get_config(self):
        return super().get_config() | {"teff_scaling": self.teff_scaling, "theta_scaling": self.theta_scaling}


def build_intrinsic_network(
    offset: np.ndarray,
    scale: np.ndarray,
    hidden: Sequence[int],
    activation: str,
    features: layers.Layer | None = None,
) -> keras.Model:
    """The four scaled intrinsic labels (with ``features`` appended, e.g. :class:`InverseTemperature`)
    → ``hidden`` dense layers → a linear layer of ``offset.size`` outputs, each times ``scale`` plus
    ``offset``: the network starts near ``offset`` (the mean training spectrum), and each point moves in
    units of its own spread, as standardised flux does."""
    inputs = keras.Input((len(INTRINSIC_LABELS),), name="intrinsic_labels")
    x = inputs if features is None else features(inputs)
    x = layers.Dense(offset.size, name="standardised_spectrum")(dense_stack(x, hidden, activation))
    scaling = PixelScaling(name="intrinsic_spectrum")
    model = keras.Model(inputs, scaling(x), name="intrinsic")
    scaling.set_weights([np.asarray(scale, np.float32), np.asarray(offset, np.float32)])
    return model


class FactorisedEmulator(Emulator):
    """The intrinsic network followed by the broadening layer, behind the :class:`Emulator` API.

    ``intrinsic`` maps the scaled intrinsic labels to the flux on ``intrinsic_wavelength`` (Å), already
    at ``pre_resolution``; ``epsilon``, ``vsini_max`` (km/s) and ``resolution_min`` set the layer (see
    :class:`~specgen.model.broadening.Broadening`). The other arguments are :class:`Emulator`'s; the
    labels must include :data:`INTRINSIC_LABELS` and :data:`BROADENING_LABELS`.
    """

    kind = "factorised"
    networks = ("intrinsic",)
    extra_arrays = ("intrinsic_wavelength",)

    def __init__(
        self,
        intrinsic: keras.Model,
        *args,
        intrinsic_wavelength: np.ndarray,
        epsilon: float,
        pre_resolution: float,
        vsini_max: float,
        resolution_min: float,
        **kwargs,
    ):
        self.intrinsic = intrinsic
        self.intrinsic_wavelength = np.asarray(intrinsic_wavelength, dtype=np.float64)
        self._settings = dict(
            epsilon=float(epsilon),
            pre_resolution=float(pre_resolution),
            vsini_max=float(vsini_max),
            resolution_min=float(resolution_min),
        )
        super().__init__(*args, **kwargs)

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self._settings)

    def _part_shapes(self) -> dict[str, tuple[int, int]]:
        missing = [name for name in (*INTRINSIC_LABELS, *BROADENING_LABELS) if name not in self.label_names]
        if missing:
            raise EmulatorError(f"a factorised emulator needs the labels {missing}; it has {list(self.label_names)}")
        return {
            "intrinsic input": (self.intrinsic.inputs[0].shape[1], len(INTRINSIC_LABELS)),
            "intrinsic output": (self.intrinsic.outputs[0].shape[1], self.intrinsic_wavelength.size),
        }

    def _build_generator(self) -> keras.Model:
        """Scaled labels → the intrinsic network on the intrinsic labels → the broadening layer at the
        physical v sin i and R, unscaled inside the graph so that a fit differentiates through them."""
        self.broadening = Broadening(self.intrinsic_wavelength, self.wavelength, **self._settings)
        inputs = keras.Input((len(self.label_names),), name="labels")
        intrinsic = self.intrinsic(ops.take(inputs, self._intrinsic_columns, axis=1))
        outputs = self.broadening(intrinsic, *self._broadening_labels(inputs))
        return keras.Model(inputs, outputs, name="generator")

    def network_differences(self, x: Any, axes: Sequence[int], step: float) -> tuple[Any, Any]:
        """:meth:`Emulator.network_differences` by the linearity of the broadening: the intrinsic network
        runs at the ``1 + 2m`` points of the ``m`` intrinsic ``axes`` and their differences are broadened
        under the row's own kernel; a difference along v sin i or R is the row's spectrum under the
        difference of two kernels. For the six labels, per row, 9 intrinsic passes, 5 transforms and 9
        inverse ones instead of 13 of each."""
        columns, n_labels = self._intrinsic_columns, len(self.label_names)
        inner = [columns.index(j) for j in axes if j in columns]
        outer = [j for j in axes if j not in columns]
        n_rows, m, q = ops.shape(x)[0], len(inner), len(outer)
        points = ops.take(x, columns, axis=1)[:, None, :] + difference_offsets(len(columns), inner, step)
        intrinsic = self._rows(self.intrinsic(self._flat(points), training=False), n_rows)
        spectra = ops.concatenate([intrinsic[:, :1], central_difference(intrinsic[:, 1:], m, step)], axis=1)
        transform = [self._rows(part, n_rows) for part in self.broadening.transform(self._flat(spectra))]
        kernel = [part[:, None] for part in self.broadening.transfer(*self._broadening_labels(x))]
        derivatives = [self._observe(complex_multiply(transform, kernel), n_rows)]  # flux, then along inner
        if q:
            shifted = self._flat(x[:, None, :] + difference_offsets(n_labels, outer, step)[1:])
            plus_minus = [self._rows(part, n_rows) for part in self.broadening.transfer(*self._broadening_labels(shifted))]
            difference = [central_difference(part, q, step) for part in plus_minus]
            derivatives.append(self._observe(complex_multiply([part[:, :1] for part in transform], difference), n_rows))
        derivatives = ops.concatenate(derivatives, axis=1)
        order = [k for k, j in enumerate(axes) if j in columns] + [k for k, j in enumerate(axes) if j not in columns]
        return self._to_flux(derivatives[:, 0]), ops.take(derivatives[:, 1:], np.argsort(order), axis=1) * self._flux_scale

    def _observe(self, spectrum: tuple, n_rows: Any) -> Any:
        """:meth:`Broadening.observe` of transforms ``(n_rows, k, n_freq)``: ``(n_rows, k, n_pix)``."""
        return self._rows(self.broadening.observe(tuple(self._flat(part) for part in spectrum)), n_rows)

    @staticmethod
    def _flat(x: Any) -> Any:
        return ops.reshape(x, (-1, ops.shape(x)[-1]))

    @staticmethod
    def _rows(x: Any, n_rows: Any) -> Any:
        return ops.reshape(x, (n_rows, -1, ops.shape(x)[-1]))

    def _broadening_labels(self, x: Any) -> tuple[Any, Any]:
        """Physical v sin i (km/s) and R ``(n,)`` of network inputs ``x`` ``(n, n_labels)``, in the caller's graph."""
        offset, scale = self.label_scaler.offset, self.label_scaler.scale
        columns = [self.label_names.index(name) for name in BROADENING_LABELS]
        return tuple(x[:, j] * float(scale[j]) + float(offset[j]) for j in columns)

    @property
    def _intrinsic_columns(self) -> list[int]:
        return [self.label_names.index(name) for name in INTRINSIC_LABELS]

    def intrinsic_spectra(self, labels: Any, *, batch_size: int = 4096) -> np.ndarray:
        """Flux ``(n, len(intrinsic_wavelength))`` at ``pre_resolution`` without rotation, for labels given
        as to :meth:`generate` (the broadening labels are ignored): what the network learnt."""
        table = check_labels(label_array(labels, self.label_names)[0], self.label_names, ranges=None)
        x = self.label_scaler.transform(table)[:, self._intrinsic_columns]
        return predict_in_batches(self._predict["intrinsic"], x, self.intrinsic_wavelength.size, batch_size)


def train_factorised(
    grid: Grid, config: FactorisedConfig, *, groups: np.ndarray | None, progress: bool
) -> tuple[FactorisedEmulator, History]:
    """A :class:`FactorisedEmulator` trained on the broadened rows of ``grid`` through the broadening
    layer, the rows of one star (``groups``) on one side of the early-stopping split."""
    missing = [name for name in (*INTRINSIC_LABELS, *BROADENING_LABELS) if name not in grid.label_names]
    if missing:
        raise GridError(f"the factorised kind needs the labels {missing}; the grid has {list(grid.label_names)}")
    ranges = spanned_ranges(grid.label_names, grid.labels)
    vsini_max, resolution = max(ranges["vsini"].high, 1.0), ranges["resolution"]
    wavelength = intrinsic_wavelength(grid.wavelength, config.step_kms, vsini_max, resolution.low)
    keras.utils.set_random_seed(config.seed)
    n_pix = grid.wavelength.size
    mean, spread = (np.interp(wavelength, grid.wavelength, f(grid.flux, axis=0)) for f in (np.mean, np.std))
    label_scaler = Scaler.fit(grid.labels, config.label_scaling)
    features = None
    if config.inverse_teff:
        teff = grid.label_names.index("teff")
        features = InverseTemperature.fit(grid.labels[:, teff], (label_scaler.offset[teff], label_scaler.scale[teff]))
    emulator = FactorisedEmulator(
        build_intrinsic_network(mean, np.maximum(spread, _MIN_SPREAD), config.hidden, config.activation, features),
        label_scaler,
        Scaler(np.zeros(n_pix), np.ones(n_pix)),  # the flux as it is
        grid.label_names,
        ranges,
        grid.wavelength,
        grid.flux.mean(axis=0),
        intrinsic_wavelength=wavelength,
        epsilon=config.epsilon,
        pre_resolution=resolution.high,
        vsini_max=vsini_max,
        resolution_min=resolution.low,
        medium=grid.medium,
    )
    x = emulator.label_scaler.transform(grid.labels)
    history = fit_with_early_stopping(
        emulator._generator, x, grid.flux, config, config.optimizer, groups=groups, progress=progress
    )
    return emulator, history
