"""Rotation and instrument as a Keras layer: :func:`specgen.synth.broaden.observe`, batched and differentiable.

A factorised generator predicts the intrinsic spectrum of (Teff, log g, [M/H], ξt) on the synthesis
grid, uniform in ln λ; :class:`Broadening` turns each row into the spectrum observed at that row's own
(v sin i, R) on the RVS grid. It is written with ``keras.ops`` only, so it runs on every Keras backend,
and gradients flow to the flux, v sin i and R. Per row, in the Fourier domain of the spectrum padded
with its edge values (one batched rfft/irfft pair):

* rotation: the limb-darkened kernel of :func:`~specgen.synth.broaden.rotation_kernel`, with the same
  16 sub-samples per pixel, on a fixed axis as wide as the widest rotation (``vsini_max``); each row's
  weights vanish beyond its own v sin i;
* instrument: the pixel-integrated Gaussian of :func:`~specgen.synth.broaden.gaussian_kernel` through
  its transfer function exp(−2π²σ²φ²)·sinc φ (σ in pixels, φ in cycles per pixel), which is smooth in R
  and differs from the reference's kernel, cut at 5σ, by < 1e-6 while σ ≥ 2 pixels (R ≲ 120,000 at the
  synthesis step of 0.5 km/s);
* linear interpolation onto the target, as :func:`~specgen.synth.broaden.resample`.

Convolutions commute, so a spectrum stored already broadened to R_max (``pre_resolution``) needs the
rotation and only the remaining Gaussian, σ² = σ(R)² − σ(R_max)²: none at R = R_max, and no pixel
integration, which the stored spectrum already holds.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from specgen.constants import C_KMS, RVS_WAVELENGTH
from specgen.labels import TABLE1_RANGES
from specgen.synth.broaden import (
    FWHM_TO_SIGMA,
    gaussian_kernel,
    rotation_kernel,
    subsample_offsets,
    velocity_step,
)

_SQRT_FLOOR = 1e-12  # keeps d√x/dx finite at the kernel's edge, ±v sin i; changes values by < 1e-6


@keras.saving.register_keras_serializable(package="specgen")
class Broadening(keras.layers.Layer):
    """Intrinsic spectra ``(n, n_in)`` on ``wavelength`` → observed spectra ``(n, n_target)`` on ``target``.

    ``wavelength`` (Å) must be uniform in ln λ, ``target`` (Å) within it; ``epsilon`` is the linear
    limb-darkening coefficient. ``vsini_max`` (km/s) and ``resolution_min`` fix the widest kernels the
    layer holds (Tab. 1 by default): v sin i beyond ``vsini_max`` would be cut. ``pre_resolution``: the
    resolving power the input spectra are already broadened to by :func:`~specgen.synth.broaden.broaden`
    (None: intrinsic spectra); R above it counts as ``pre_resolution``.

    Called as ``layer(flux, vsini, resolution)``, ``vsini`` (km/s) and ``resolution`` of shape ``(n,)``
    or ``(n, 1)``.
    """

    def __init__(
        self,
        wavelength: np.ndarray,
        target: np.ndarray = RVS_WAVELENGTH,
        epsilon: float = 0.6,
        vsini_max: float = TABLE1_RANGES["vsini"].high,
        resolution_min: float = TABLE1_RANGES["resolution"].low,
        pre_resolution: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.wavelength = np.asarray(wavelength, dtype=np.float64)
        self.target = np.asarray(target, dtype=np.float64)
        self.epsilon, self.vsini_max, self.resolution_min = float(epsilon), float(vsini_max), float(resolution_min)
        self.pre_resolution = None if pre_resolution is None else float(pre_resolution)
        if self.pre_resolution is not None and self.pre_resolution <= 0:
            raise ValueError(f"pre_resolution must be positive, got {pre_resolution}")

        dv = velocity_step(self.wavelength)
        rotation_half = rotation_kernel(self.vsini_max, dv, self.epsilon).size // 2  # the reference's widths
        padding = rotation_half + gaussian_kernel(self.resolution_min, dv).size // 2
        if padding >= self.wavelength.size:
            raise ValueError("the broadening kernel is wider than the spectrum")
        self.fft_length = 1 << (self.wavelength.size + 2 * padding - 1).bit_length()

        dtype = self.compute_dtype
        self._pad_index = np.clip(np.arange(self.fft_length) - padding, 0, self.wavelength.size - 1)
        self._offsets = subsample_offsets(rotation_half).astype(dtype)  # pixels
        self._pixels_per_kms = 1.0 / dv
        lower, weight = interpolation(self.wavelength, self.target)
        self._lower = lower + padding + rotation_half  # the rotation kernel starts at -rotation_half
        self._weight = weight.astype(dtype)
        frequency = np.arange(self.fft_length // 2 + 1) / self.fft_length  # cycles per pixel
        self._gaussian_exponent = (2.0 * np.pi**2 * frequency**2).astype(dtype)
        pixel_response = np.sinc(frequency) if self.pre_resolution is None else np.ones_like(frequency)
        self._pixel_response = pixel_response.astype(dtype)
        self._sigma_times_r = FWHM_TO_SIGMA * C_KMS / dv  # σ in pixels is this over R
        self._pre_variance = 0.0 if self.pre_resolution is None else (self._sigma_times_r / self.pre_resolution) ** 2

    def call(self, flux, vsini, resolution):
        return self.observe(complex_multiply(self.transform(flux), self.transfer(vsini, resolution)))

    # The three linear steps of ``call``, for callers that reuse one spectrum's transform under several
    # kernels, or one kernel for several spectra (a fit's finite differences): ``call`` is
    # ``observe(transform(flux) · transfer(vsini, resolution))``.

    def transform(self, flux) -> tuple:
        """(real, imaginary) ``(n, fft_length // 2 + 1)`` of the intrinsic spectra ``flux``, edge-padded."""
        return ops.rfft(ops.take(ops.cast(flux, self.compute_dtype), self._pad_index, axis=1))

    def transfer(self, vsini, resolution) -> tuple:
        """(real, imaginary) ``(n, fft_length // 2 + 1)``: the transfer function of rotation at ``vsini``
        (km/s) and the instrument at ``resolution``, each ``(n,)`` or ``(n, 1)``."""
        dtype = self.compute_dtype
        vsini = ops.reshape(ops.cast(vsini, dtype), (-1, 1))
        resolution = ops.reshape(ops.cast(resolution, dtype), (-1, 1))
        real, imag = ops.rfft(self._rotation_kernel(vsini), fft_length=self.fft_length)
        gaussian = self._gaussian_response(resolution)
        return real * gaussian, imag * gaussian

    def observe(self, spectrum: tuple):
        """The broadened transform ``spectrum`` (real, imaginary) back in pixel space, resampled onto ``target``."""
        broadened = ops.irfft(spectrum, fft_length=self.fft_length)
        lower = ops.take(broadened, self._lower, axis=1)
        return lower + self._weight * (ops.take(broadened, self._lower + 1, axis=1) - lower)

    def _rotation_kernel(self, vsini):
        """Unit-sum rotation profiles ``(n, 2·half + 1)`` for ``vsini`` ``(n, 1)`` km/s, pixel-integrated as
        :func:`~specgen.synth.broaden.rotation_kernel`; below half a pixel, the identity (as there)."""
        vsini = ops.maximum(vsini * self._pixels_per_kms, 0.5)[:, :, None]  # pixels
        x2 = 1.0 - ops.square(self._offsets / vsini)
        root = ops.where(x2 > 0.0, ops.sqrt(ops.maximum(x2, _SQRT_FLOOR)), 0.0)
        profile = 2.0 * (1.0 - self.epsilon) * root + 0.5 * np.pi * self.epsilon * ops.relu(x2)
        kernel = ops.mean(profile, axis=-1)
        return kernel / ops.sum(kernel, axis=-1, keepdims=True)

    def _gaussian_response(self, resolution):
        """Transfer function ``(n, fft_length // 2 + 1)`` of the (remaining) instrumental Gaussian."""
        variance = ops.maximum(ops.square(self._sigma_times_r / resolution) - self._pre_variance, 0.0)  # pixels²
        return self._pixel_response * ops.exp(-self._gaussian_exponent * variance)

    def compute_output_shape(self, flux_shape, vsini_shape, resolution_shape):
        return (flux_shape[0], self.target.size)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "wavelength": self.wavelength.tolist(),
            "target": self.target.tolist(),
            "epsilon": self.epsilon,
            "vsini_max": self.vsini_max,
            "resolution_min": self.resolution_min,
            "pre_resolution": self.pre_resolution,
        }


def interpolation(wavelength: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each ``target`` (Å), its lower neighbour in ``wavelength`` and the weight of the upper one:
    :func:`numpy.interp` as an index and a weight; raises where ``wavelength`` does not cover ``target``."""
    if target.min() < wavelength[0] or target.max() > wavelength[-1]:
        raise ValueError(
            f"target {target.min():.2f}–{target.max():.2f} Å not covered by "
            f"{wavelength[0]:.2f}–{wavelength[-1]:.2f} Å"
        )
    lower = np.clip(np.searchsorted(wavelength, target, side="right") - 1, 0, wavelength.size - 2)
    return lower, (target - wavelength[lower]) / (wavelength[lower + 1] - wavelength[lower])


def complex_multiply(a: tuple, b: tuple) -> tuple:
    """(real, imaginary) of the product of two complex tensors given as (real, imaginary) pairs."""
    return a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]
