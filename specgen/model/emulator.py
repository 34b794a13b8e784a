"""The emulator: stellar labels in, spectra out.

:class:`Emulator` keeps everything needed to use a trained generator without the training grid:
its networks, the label and flux scalings, the label names and the ranges it was trained on
(outside which it refuses to extrapolate unless asked), the wavelength grid and its medium (air
or vacuum, that of the training grid), and provenance. Two kinds share that API:

* :class:`AutoencoderEmulator` (kind ``"paper"``): ``decoder(mapper(labels))`` of Sec. 2.4;
* :class:`~specgen.model.factorised.FactorisedEmulator` (kind ``"factorised"``): a network of the
  intrinsic labels, then v sin i and R applied as exact physics.

Saved, an emulator is a directory anyone can inspect::

    model/
      emulator.json    kind, label names, wavelength medium (air where absent: older emulators),
                       provenance: label units, training grid and its attributes, configuration,
                       seeds, versions, loss histories, metrics
      arrays.npz       wavelength (Å), label ranges, label and flux scalings
      <network>.keras  encoder, decoder, mapper (paper) or intrinsic (factorised)

    train_emulator("data/demo/train.h5", TrainingConfig.small_grid()).save("models/demo/emulator")
    emulator = Emulator.load("models/demo/emulator")   # either kind
    sun = emulator.generate(teff=5777, logg=4.44, vsini=2, m_h=0, xi_t=1, resolution=11500)

Importing this module turns off TensorFloat-32 matrix products on GPUs for the whole process
(:func:`specgen.runtime.backend.use_exact_float32`), so that a model gives the same spectra everywhere.
"""

from __future__ import annotations

import importlib
import importlib.resources
import json
import os
import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import keras
import numpy as np
from keras import ops

from specgen.grid import Grid, GridError, check_medium
from specgen.labels import LabelError, LabelRange, check_labels, label_array
from specgen.model.networks import (
    build_generator,
    predict_in_batches,
    without_optimizer,
)
from specgen.model.scaling import Scaler
from specgen.runtime.backend import predictor, use_exact_float32

use_exact_float32()  # the same spectra on CPUs and GPUs (tests/test_parity.py)

FORMAT_VERSION = 1


#: What :meth:`Emulator.load` reads as the generator shipped inside the package (its model card beside it).
PRETRAINED = "pretrained"


def pretrained_dir() -> Path:
    """The directory of the generator shipped with specgen, ``specgen/data/pretrained/``."""
    return Path(str(importlib.resources.files("specgen") / "data" / PRETRAINED))


def saved_path(path: str | os.PathLike) -> Path:
    """The directory :meth:`Emulator.load` reads for ``path``: ``"pretrained"``, where no such directory
    exists here, is the generator shipped with specgen (:func:`pretrained_dir`)."""
    return pretrained_dir() if str(path) == PRETRAINED and not Path(path).exists() else Path(path)


#: The class of each kind of emulator (module:name), imported when a saved one of that kind is loaded.
KINDS = {"paper": f"{__name__}:AutoencoderEmulator", "factorised": "specgen.model.factorised:FactorisedEmulator"}


ARRAYS = (
    "wavelength", "label_low", "label_high", "label_offset", "label_scale", "flux_offset", "flux_scale", "mean_flux"
)


class EmulatorError(ValueError):
    """A saved emulator that cannot be used; the message names the file and the problem."""


class Emulator(ABC):
    """A trained generator with what it needs to turn labels into spectra; :meth:`load` reads either kind.

    ``label_ranges`` are the training ranges (label unit), the domain that :meth:`generate` accepts;
    ``wavelength`` is in Å, in ``medium`` ("air" or "vacuum"; :meth:`check_medium` refuses grids in
    the other); ``mean_flux`` is the mean training spectrum, the trivial baseline every
    emulator must beat. A kind names its Keras ``networks`` (saved one file each, attributes of the
    same names), builds from them one generator of scaled labels to network flux, and may keep
    ``extra_arrays`` (in arrays.npz) and :attr:`settings` (in emulator.json) that its constructor takes
    as keywords.
    """

    kind: ClassVar[str]
    networks: ClassVar[tuple[str, ...]]
    extra_arrays: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        label_scaler: Scaler,
        flux_scaler: Scaler,
        label_names: tuple[str, ...],
        label_ranges: Mapping[str, LabelRange],
        wavelength: np.ndarray,
        mean_flux: np.ndarray,
        provenance: Mapping[str, Any] | None = None,
        medium: str = "air",
    ):
        self.label_scaler, self.flux_scaler = label_scaler, flux_scaler
        self.label_names = tuple(label_names)
        self.label_ranges = dict(label_ranges)
        self.wavelength = np.asarray(wavelength, dtype=np.float64)
        self.mean_flux = np.asarray(mean_flux, dtype=np.float32)
        self.provenance = dict(provenance or {})
        self.medium = check_medium(medium, "the emulator's wavelength medium")
        self._check_shapes()
        self._flux_scale = flux_scaler.scale.astype(np.float32)
        self._flux_offset = flux_scaler.offset.astype(np.float32)
        self._generator = self._build_generator()
        # compiled once: one spectrum costs under a millisecond instead of ~11 ms for an eager call
        models = {"generator": self._generator} | {name: getattr(self, name) for name in self.networks}
        self._predict = {name: predictor(model) for name, model in models.items()}

    @abstractmethod
    def _build_generator(self) -> keras.Model:
        """One model from scaled labels ``(n, n_labels)`` to network flux ``(n, n_pix)``."""

    def _part_shapes(self) -> dict[str, tuple[int, int]]:
        """Sizes of the kind's own parts, ``{part: (got, expected)}``, checked with the common ones."""
        return {}

    @property
    def settings(self) -> dict[str, Any]:
        """Keyword arguments of the kind's constructor stored in emulator.json (JSON values)."""
        return {}

    @property
    def dense_flop_per_spectrum(self) -> int:
        """Floating-point operations of the generator's dense layers per spectrum (2 per kernel
        weight): its cost as matrix products, without activations or the factorised kind's broadening."""
        return int(sum(2 * np.prod(w.shape) for w in self._generator.weights if len(w.shape) == 2))

    @property
    def n_pix(self) -> int:
        return self.wavelength.size

    def __repr__(self) -> str:
        n_train = self.provenance.get("training_grid", {}).get("n_spectra", "?")
        return (
            f"{type(self).__name__}({len(self.label_names)} labels {list(self.label_names)} → {self.n_pix} pixels, "
            f"{self.wavelength[0]:.1f}–{self.wavelength[-1]:.1f} Å ({self.medium}); trained on {n_train} spectra)"
        )

    # ---- use ------------------------------------------------------------------------------

    def generate(
        self,
        labels: np.ndarray | Mapping[str, Any] | Any = None,
        *,
        batch_size: int = 4096,
        allow_extrapolation: bool = False,
        **one_star: float,
    ) -> np.ndarray:
        """Spectra (continuum-normalised flux, float32) for the given labels.

        ``labels`` is an ``(n, n_labels)`` array with columns in :attr:`label_names` order, or a
        table with named columns (a pandas DataFrame or a dict of columns; reordered by name,
        other columns ignored). One star can be given as keywords, ``generate(teff=5777, ...)``.
        Returns ``(n, n_pix)``, or ``(n_pix,)`` for one star given as keywords, a dict of scalars,
        a pandas Series or a 1-D array. Rows are processed ``batch_size`` at a time: 4096 runs as fast as larger
        batches on a CPU, with 65 MB of output per batch instead of 1 GB at 65,536.

        Raises :class:`LabelError` for a missing column, a wrong shape, NaN, or a label outside the
        training range (unless ``allow_extrapolation``: the networks then extrapolate, unchecked).
        """
        table, one = label_array(labels, self.label_names, one_star)
        table = check_labels(table, self.label_names, ranges=None)
        if not allow_extrapolation:
            try:
                check_labels(table, self.label_names, self.label_ranges)
            except LabelError as err:
                raise LabelError(f"{err}: outside the training grid (allow_extrapolation=True to go on)") from None
        x = self.label_scaler.transform(table)
        flux = predict_in_batches(lambda b: self._to_flux(self._predict["generator"](b)), x, self.n_pix, batch_size)
        return flux[0] if one else flux

    def generate_like(self, grid: Grid) -> np.ndarray:
        """Spectra at the labels of ``grid``, matched by name, extrapolating where they leave the
        training ranges: what a test grid's spectra are compared with (in the emulator's medium:
        :meth:`check_medium`)."""
        self.check_medium(grid.medium)
        missing = [name for name in self.label_names if name not in grid.label_names]
        unknown = [name for name in grid.label_names if name not in self.label_names]
        if missing or unknown:
            raise LabelError(
                f"the grid's labels {list(grid.label_names)} are not the emulator's {list(self.label_names)}"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown to the emulator {unknown}" if unknown else "")
            )
        return self.generate({name: grid.label(name) for name in self.label_names}, allow_extrapolation=True)

    def check_medium(self, medium: str, what: str = "the grid") -> None:
        """Refuse spectra (``what``) whose wavelengths are in another ``medium`` than the emulator's:
        a :class:`~specgen.grid.GridError` naming both. The same numbers in air and in vacuum are
        pixels about 2.3 Å (80 km/s) apart at 8500 Å."""
        if medium != self.medium:
            raise GridError(
                f"{what} has wavelengths in {medium}, the emulator in {self.medium}: "
                "compare a model only with spectra in its own medium"
            )

    def network_flux(self, x: Any) -> Any:
        """Flux for network inputs ``x`` (scaled labels, ``(n, n_labels)``) as a tensor of the Keras
        backend, in the caller's graph: what a fit differentiates."""
        return self._to_flux(self._generator(x, training=False))

    def network_differences(self, x: Any, axes: Sequence[int], step: float) -> tuple[Any, Any]:
        """Flux ``(n, n_pix)`` at network inputs ``x`` ``(n, n_labels)`` and its central differences
        ``(n, len(axes), n_pix)`` along the inputs ``axes``, ``step`` (scaled labels) either side:
        (F(x + step·e_j) − F(x − step·e_j)) / (2·step), what a fit's Levenberg–Marquardt steps use.
        Here ``1 + 2·len(axes)`` passes through the network per row; a kind may do it for less."""
        n_rows, k = ops.shape(x)[0], len(axes)
        points = x[:, None, :] + difference_offsets(len(self.label_names), axes, step)
        flux = ops.reshape(self.network_flux(ops.reshape(points, (-1, len(self.label_names)))), (n_rows, 1 + 2 * k, -1))
        return flux[:, 0], central_difference(flux[:, 1:], k, step)

    def _to_flux(self, y: Any) -> Any:
        """Network output → flux, in float32 (no float64 copy of a big batch)."""
        return y * self._flux_scale + self._flux_offset

    def _check_flux(self, flux: np.ndarray) -> np.ndarray:
        flux = np.asarray(flux, dtype=np.float32)
        if flux.ndim != 2 or flux.shape[1] != self.n_pix:
            raise ValueError(f"flux must have shape (n, {self.n_pix}), got {flux.shape}")
        return flux

    def _check_shapes(self) -> None:
        """The parts must fit together: a wrong file in a saved emulator fails here, not later."""
        expected = {
            "label scaling": (self.label_scaler.scale.size, len(self.label_names)),
            "flux scaling": (self.flux_scaler.scale.size, self.n_pix),
            "mean flux": (self.mean_flux.size, self.n_pix),
            "label ranges": (len(set(self.label_ranges) & set(self.label_names)), len(self.label_names)),
            **self._part_shapes(),
        }
        wrong = [f"{part} has {got}, expected {want}" for part, (got, want) in expected.items() if got != want]
        if wrong:
            raise EmulatorError("the parts of this emulator do not fit together: " + "; ".join(wrong))

    # ---- files ----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the emulator to the directory ``path`` (replacing a saved emulator there)."""
        path = Path(path)
        if path.exists() and not (path / "emulator.json").exists() and any(path.iterdir()):
            raise EmulatorError(f"{path} exists and is not a saved emulator; choose another directory")
        tmp = path.with_name(path.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in self.networks:
            without_optimizer(getattr(self, name)).save(tmp / f"{name}.keras")
        ranges = [self.label_ranges[name] for name in self.label_names]
        np.savez(
            tmp / "arrays.npz",
            wavelength=self.wavelength,
            label_low=[r.low for r in ranges],
            label_high=[r.high for r in ranges],
            label_offset=self.label_scaler.offset,
            label_scale=self.label_scaler.scale,
            flux_offset=self.flux_scaler.offset,
            flux_scale=self.flux_scaler.scale,
            mean_flux=self.mean_flux,
            **{name: getattr(self, name) for name in self.extra_arrays},
        )
        manifest = {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "label_names": list(self.label_names),
            "medium": self.medium,
            "settings": self.settings,
            **self.provenance,
        }
        (tmp / "emulator.json").write_text(json.dumps(manifest, indent=1, default=jsonable))
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
        return path

    @classmethod
    def pretrained(cls) -> Emulator:
        """The generator shipped with specgen: no database, no training. Its domain, accuracy and limits
        are in its model card, ``MODEL_CARD.md`` beside it (:func:`pretrained_dir`)."""
        return cls.load(pretrained_dir())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Emulator:
        """Read an emulator written by :meth:`save`, of whichever kind; errors name the missing or broken file.
        ``"pretrained"``, where no such directory exists here, is the generator shipped with specgen."""
        path = saved_path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"no saved emulator at {path} (a directory written by Emulator.save)")
        if not (path / "emulator.json").exists():
            raise EmulatorError(f"{path} lacks emulator.json: not a saved emulator, or an incomplete copy")
        manifest = _read_json(path / "emulator.json")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise EmulatorError(
                f"{path / 'emulator.json'}: format version {manifest.get('format_version')!r}, "
                f"this specgen reads {FORMAT_VERSION}"
            )
        kind = _kind_class(manifest.get("kind", "paper"), path)
        files = ["arrays.npz", *(f"{name}.keras" for name in kind.networks)]
        missing = [name for name in files if not (path / name).exists()]
        if missing:
            raise EmulatorError(f"{path} lacks {', '.join(missing)}: not a saved emulator, or an incomplete copy")
        arrays = _read_npz(path / "arrays.npz", (*ARRAYS, *kind.extra_arrays))
        if "label_names" not in manifest:
            raise EmulatorError(f"{path / 'emulator.json'} lacks 'label_names'")
        names = tuple(manifest["label_names"])
        bounds = zip(names, arrays["label_low"].tolist(), arrays["label_high"].tolist())
        ranges = {name: LabelRange(low, high) for name, low, high in bounds}
        stored = ("format_version", "kind", "label_names", "medium", "settings")
        provenance = {k: v for k, v in manifest.items() if k not in stored}
        return kind(
            *(_read_model(path / f"{name}.keras") for name in kind.networks),
            Scaler(arrays["label_offset"], arrays["label_scale"]),
            Scaler(arrays["flux_offset"], arrays["flux_scale"]),
            names,
            ranges,
            arrays["wavelength"],
            arrays["mean_flux"],
            provenance,
            medium=manifest.get("medium", "air"),
            **{name: arrays[name] for name in kind.extra_arrays},
            **manifest.get("settings", {}),
        )


class AutoencoderEmulator(Emulator):
    """The paper's generator, ``decoder(mapper(labels))`` (Sec. 2.4), with the encoder that trained the
    decoder (Sec. 2.2): :meth:`encode`, :meth:`reconstruct` and :meth:`map_labels` show its stages."""

    kind = "paper"
    networks = ("encoder", "decoder", "mapper")

    def __init__(self, encoder: keras.Model, decoder: keras.Model, mapper: keras.Model, *args, **kwargs):
        self.encoder, self.decoder, self.mapper = encoder, decoder, mapper
        super().__init__(*args, **kwargs)

    def _build_generator(self) -> keras.Model:
        return build_generator(self.mapper, self.decoder)

    def _part_shapes(self) -> dict[str, tuple[int, int]]:
        latent = self.decoder.inputs[0].shape[1]
        return {
            "encoder input": (self.encoder.inputs[0].shape[1], self.n_pix),
            "encoder output": (self.encoder.outputs[0].shape[1], latent),
            "decoder output": (self.decoder.outputs[0].shape[1], self.n_pix),
            "mapper input": (self.mapper.inputs[0].shape[1], len(self.label_names)),
            "mapper output": (self.mapper.outputs[0].shape[1], latent),
        }

    def encode(self, flux: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
        """Latent coordinates ``(n, latent)`` of spectra ``(n, n_pix)``."""
        x = self.flux_scaler.transform(self._check_flux(flux))
        latent = self.decoder.inputs[0].shape[1]
        return predict_in_batches(self._predict["encoder"], x, latent, batch_size)

    def map_labels(self, labels: Any, *, batch_size: int = 4096) -> np.ndarray:
        """Latent coordinates ``(n, latent)`` the mapper gives labels (an array in :attr:`label_names`
        order or a table by name, as for :meth:`generate`): what Sec. 2.3 trains to match :meth:`encode`."""
        table = check_labels(label_array(labels, self.label_names)[0], self.label_names, ranges=None)
        latent = self.decoder.inputs[0].shape[1]
        return predict_in_batches(self._predict["mapper"], self.label_scaler.transform(table), latent, batch_size)

    def reconstruct(self, flux: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
        """Spectra passed through the autoencoder (encode, then decode): Sec. 2.2's test."""
        latent = self.encode(flux, batch_size=batch_size)
        return predict_in_batches(lambda b: self._to_flux(self._predict["decoder"](b)), latent, self.n_pix, batch_size)


def difference_offsets(n_inputs: int, axes: Sequence[int], step: float) -> np.ndarray:
    """``(1 + 2·len(axes), n_inputs)`` float32: zero, then ``+step`` along each of ``axes``, then ``−step``."""
    along = step * np.eye(n_inputs, dtype=np.float32)[list(axes)]
    return np.concatenate([np.zeros((1, n_inputs), np.float32), along, -along])


def central_difference(plus_minus: Any, k: int, step: float) -> Any:
    """``(n, k, ...)``: (F(+step) − F(−step)) / (2·step) of values ``(n, 2k, ...)`` in the order of
    :func:`difference_offsets` after its zero row, the ``k`` points at ``+step`` then the ``k`` at ``−step``."""
    return (plus_minus[:, :k] - plus_minus[:, k:]) / (2 * step)


def _kind_class(kind: str, path: Path) -> type[Emulator]:
    """The class of a saved emulator's ``kind``, importing the module that defines it."""
    if kind not in KINDS:
        raise EmulatorError(f"{path / 'emulator.json'}: unknown kind {kind!r}; this specgen knows {sorted(KINDS)}")
    module, name = KINDS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in emulator.json")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise EmulatorError(f"{path} is not valid JSON ({err})") from None


def _read_npz(path: Path, required: tuple[str, ...]) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError) as err:
        raise EmulatorError(f"{path} is not a readable .npz file ({err})") from None
    missing = [name for name in required if name not in arrays]
    if missing:
        raise EmulatorError(f"{path} lacks array(s) {missing}")
    return arrays


def _read_model(path: Path) -> keras.Model:
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:  # Keras raises many kinds for a damaged archive
        raise EmulatorError(f"{path} is not a readable Keras model ({type(err).__name__}: {err})") from None


def as_emulator(emulator: Emulator | str | os.PathLike) -> tuple[Emulator, str | None]:
    """``(emulator, None)`` for an :class:`Emulator`; ``(Emulator.load(path), absolute path)`` for a
    saved one: what every function taking "an emulator or its directory" calls."""
    if isinstance(emulator, Emulator):
        return emulator, None
    return Emulator.load(emulator), str(saved_path(emulator).resolve())
