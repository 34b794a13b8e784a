"""The spectral grid: the HDF5 file every later step reads.

Format (any radiative-transfer code can produce it; see the book's chapter 01):

``/wavelength``  (n_pix,) float64, Å, with attribute ``medium`` ("air" or "vacuum")
``/flux``        (n_spec, n_pix) float32, continuum-normalised
``/labels``      (n_spec, n_labels) float64, columns named by the file attribute ``label_names``
``/star_id``     (n_spec,) int64, optional: which intrinsic spectrum a row was broadened from;
                 without it, rows with identical intrinsic labels (Teff, log g, [M/H], ξt) are one star
``/intrinsic``   optional group: one row per star with broadened rows (rejected stars have none), its
                 spectrum without rotation (v sin i = 0) convolved with the instrumental Gaussian of
                 R = ``pre_resolution`` only, from which any v sin i ≤ ``vsini_max`` and
                 ``resolution_min`` ≤ R ≤ ``pre_resolution`` can be drawn (``specgen broaden``):

  ``wavelength`` (n_points,) float64, Å, uniform in ln λ (attribute ``medium``), padded beyond
                 ``/wavelength`` for the widest rotation and instrumental profile; every
                 ``velocity_step / synthesis_step``-th point of the grid it was synthesised on
  ``flux``       (n_stars, n_points) float32, continuum-normalised
  ``labels``     (n_stars, 4) float64, columns named by its attribute ``label_names`` (Teff, log g,
                 [M/H], ξt) with ``units``
  ``star_id``    (n_stars,) int64: the ``/star_id`` of the star's broadened rows

  group attributes: ``pre_resolution`` (λ/Δλ), ``velocity_step`` and ``synthesis_step`` (km/s),
  ``vsini_max`` (km/s), ``resolution_min``, ``description``, and ``n_committed`` (rows known to be whole)

File attributes: ``label_names``, ``label_units`` and provenance (``code``, ``code_versions``,
``linelist``, ``atmospheres``, ``seed``, ``wavelength_medium``, ``created``, ...). A file being
written carries ``complete = False`` and ``n_committed``, the number of rows known to be whole;
readers refuse incomplete files unless asked.

The medium, "air" or "vacuum", is part of the wavelengths: ``wavelength_medium`` and the
``medium`` of ``/wavelength`` say the same (a file with one of them is read by that one, with
neither as air; ``specgen import-ascii --medium`` sets both). :attr:`Grid.medium` gives it; an
emulator records the medium of its training grid and refuses to be compared with a grid in the
other (:meth:`specgen.model.emulator.Emulator.check_medium`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import h5py
import numpy as np

from specgen.labels import INTRINSIC_LABELS, LABEL_NAMES, LABEL_UNITS, check_labels

FORMAT_VERSION = 1

#: The group of a grid file holding each star's stored intrinsic spectrum.
INTRINSIC_GROUP = "intrinsic"
#: The media wavelengths can be given in.
MEDIA = ("air", "vacuum")


class GridError(ValueError):
    """A grid file or array that does not follow the format; the message names the problem."""


@dataclass(frozen=True)
class Grid:
    """Spectra with their labels on one wavelength grid, in the :attr:`medium` of ``attrs``."""

    wavelength: np.ndarray
    flux: np.ndarray
    labels: np.ndarray
    label_names: tuple[str, ...] = LABEL_NAMES
    star_id: np.ndarray | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "label_names", tuple(self.label_names))
        if self.wavelength.ndim != 1:
            raise GridError(f"wavelength must be 1-D, got shape {self.wavelength.shape}")
        if not np.all(np.diff(self.wavelength) > 0):
            raise GridError("wavelength must be strictly increasing")
        n_pix = self.wavelength.size
        if self.flux.ndim != 2 or self.flux.shape[1] != n_pix:
            raise GridError(f"flux must have shape (n_spec, {n_pix}), got {self.flux.shape}")
        if self.labels.shape != (self.flux.shape[0], len(self.label_names)):
            raise GridError(
                f"labels must have shape ({self.flux.shape[0]}, {len(self.label_names)}) "
                f"for {list(self.label_names)}, got {self.labels.shape}"
            )
        if self.star_id is not None and self.star_id.shape != (self.flux.shape[0],):
            raise GridError(f"star_id must have shape ({self.flux.shape[0]},), got {self.star_id.shape}")
        check_medium(self.medium, "the grid's wavelength_medium")

    @property
    def medium(self) -> str:
        """The medium of :attr:`wavelength`, "air" or "vacuum": the attribute ``wavelength_medium``, air without it."""
        return self.attrs.get("wavelength_medium", "air")

    def __len__(self) -> int:
        return self.flux.shape[0]

    def label(self, name: str) -> np.ndarray:
        """One label column by name."""
        try:
            return self.labels[:, self.label_names.index(name)]
        except ValueError:
            raise KeyError(f"no label {name!r} in this grid (labels: {list(self.label_names)})") from None

    def with_noise(self, snr: float, seed: int) -> Grid:
        """The grid with Gaussian noise of σ = 1/``snr`` (continuum units, seeded) added to every pixel."""
        if not snr > 0:
            raise ValueError(f"S/N must be positive, got {snr}")
        noise = np.random.default_rng(seed).normal(0.0, 1.0 / snr, self.flux.shape).astype(np.float32)
        return replace(self, flux=self.flux + noise)

    def subset(self, rows: np.ndarray | slice) -> Grid:
        """The grid restricted to ``rows`` (indices, mask or slice)."""
        return Grid(
            self.wavelength,
            self.flux[rows],
            self.labels[rows],
            self.label_names,
            None if self.star_id is None else self.star_id[rows],
            dict(self.attrs),
        )

    def checked_for(self, use: str, source: str | os.PathLike | None = None) -> Grid:
        """The grid itself if its flux can serve ``use``: finite for "evaluation", finite and
        non-negative for "training" (continuum-normalised flux is ≥ 0). Otherwise a
        :class:`GridError` naming ``source`` (default: "the grid") and the offending rows."""
        if use not in ("training", "evaluation"):
            raise ValueError(f"use must be 'training' or 'evaluation', got {use!r}")
        problems = {"non-finite (NaN or inf)": ~np.isfinite(self.flux).all(axis=1)}
        if use == "training":
            with np.errstate(invalid="ignore"):
                problems["negative"] = (self.flux < 0).any(axis=1)
        for kind, bad in problems.items():
            rows = np.flatnonzero(bad)
            if rows.size:
                shown = ", ".join(map(str, rows[:10])) + (f", … ({rows.size} in all)" if rows.size > 10 else "")
                raise GridError(
                    f"{source or 'the grid'}: {kind} flux in row{'s' if rows.size > 1 else ''} {shown}; "
                    f"a grid for {use} needs finite{' non-negative' if use == 'training' else ''} flux: "
                    "drop or recompute those rows"
                )
        return self

    def star_ids(self) -> np.ndarray:
        """Which star each row is, ``(n_spec,)`` int64: ``star_id`` where the grid has it; otherwise
        rows with identical intrinsic labels (:data:`~specgen.labels.INTRINSIC_LABELS`) are one
        star, numbered in order of first appearance, and in a grid without those labels every row
        is its own star. Splits and star counts use these, so that the variants of one star never
        sit on both sides of a split."""
        if self.star_id is not None:
            return self.star_id
        if not set(INTRINSIC_LABELS) <= set(self.label_names):
            return np.arange(len(self), dtype=np.int64)
        intrinsic = self.labels[:, [self.label_names.index(name) for name in INTRINSIC_LABELS]]
        _, first, inverse = np.unique(intrinsic, axis=0, return_index=True, return_inverse=True)
        rank = np.argsort(np.argsort(first))  # unique rows numbered by their first appearance
        return rank[inverse.ravel()].astype(np.int64)

    def first_stars(self, n: int) -> Grid:
        """The rows of the first ``n`` stars (:meth:`star_ids`) in file order. Labels are drawn at
        random, so these are a random sample, and the first 100 stars hold the first 50: nested
        training sets for a scaling study."""
        ids = self.star_ids()
        _, first_row = np.unique(ids, return_index=True)
        if not 0 < n <= first_row.size:
            raise GridError(f"asked for {n} stars; the grid holds {first_row.size}")
        kept = ids[np.sort(first_row)[:n]]
        return self.subset(np.isin(ids, kept))


def check_medium(medium: Any, what: str) -> str:
    """``medium`` itself if it is "air" or "vacuum"; otherwise a :class:`GridError` naming ``what``."""
    if medium not in MEDIA:
        raise GridError(f"{what} must be 'air' or 'vacuum', got {medium!r}")
    return medium


def file_medium(f: h5py.File) -> str:
    """The wavelength medium of an open grid file: its ``wavelength_medium``, or the ``medium`` of
    ``/wavelength``, or air where neither is recorded; a :class:`GridError` where the two disagree."""
    in_file, in_dataset = (decode_attr(attrs[key]) if key in attrs else None for attrs, key in (
        (f.attrs, "wavelength_medium"), (f["wavelength"].attrs, "medium")))
    if None not in (in_file, in_dataset) and in_file != in_dataset:
        raise GridError(
            f"{f.filename}: wavelength_medium {in_file!r} and the medium {in_dataset!r} of /wavelength disagree"
        )
    return check_medium(in_file or in_dataset or "air", f"{f.filename}: the wavelength medium")


def provenance(**extra: Any) -> dict[str, Any]:
    """Attributes every file we write carries: format version, creation time, specgen version."""
    from specgen.constants import VERSION

    return {
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "specgen_version": VERSION,
        **extra,
    }


def _encode_attr(value: Any) -> Any:
    """HDF5 attributes hold scalars, strings and arrays; dicts are stored as JSON strings."""
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return np.array(value, dtype=h5py.string_dtype())
    return value


def decode_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] == "{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.ndarray) and value.dtype.kind in "OS":
        return [v.decode() if isinstance(v, bytes) else str(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """File attributes of a grid, decoded (JSON strings become dicts)."""
    with open_grid(path) as f:
        return {k: decode_attr(v) for k, v in f.attrs.items()}


def open_grid(path: str | os.PathLike) -> h5py.File:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no grid file at {path}")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise GridError(f"{path} is not a readable HDF5 file ({err})") from err


def read_grid(path: str | os.PathLike, *, allow_incomplete: bool = False, rows: slice | None = None) -> Grid:
    """Read a grid file, checking it against the format.

    ``rows`` reads only a slice of spectra. An interrupted file (``complete`` false) is refused
    unless ``allow_incomplete``, in which case only its committed rows are returned.
    """
    with open_grid(path) as f:
        for name in ("wavelength", "flux", "labels"):
            if name not in f:
                raise GridError(f"{path}: missing dataset /{name} (a grid needs /wavelength, /flux, /labels)")
        attrs = {k: decode_attr(v) for k, v in f.attrs.items()} | {"wavelength_medium": file_medium(f)}
        if "label_names" not in attrs:
            raise GridError(f"{path}: missing file attribute 'label_names'")
        n = f["flux"].shape[0]
        if not attrs.get("complete", True):
            if not allow_incomplete:
                raise GridError(
                    f"{path} is incomplete ({attrs.get('n_committed', 0)} rows committed): "
                    "its generation was interrupted; rerun it to resume"
                )
            n = int(attrs.get("n_committed", 0))
        sel = slice(*(rows or slice(None)).indices(n))
        grid = Grid(
            wavelength=f["wavelength"][:].astype(np.float64),
            flux=f["flux"][sel].astype(np.float32, copy=False),
            labels=f["labels"][sel].astype(np.float64, copy=False),
            label_names=tuple(attrs["label_names"]),
            star_id=f["star_id"][sel] if "star_id" in f else None,
            attrs=attrs,
        )
    return grid


def as_grid(grid: Grid | str | os.PathLike, use: str) -> tuple[Grid, str | None]:
    """``(grid, None)`` for a :class:`Grid`; ``(read_grid(path), absolute path)`` for a file; either
    checked for ``use``, "training" or "evaluation" (:meth:`Grid.checked_for`)."""
    if isinstance(grid, Grid):
        return grid.checked_for(use), None
    return read_grid(grid).checked_for(use, grid), str(Path(grid).resolve())


class GridAppender:
    """Append spectra to a grid file in chunks, so that an interrupted run can resume.

    Rows become permanent only when :meth:`append` returns: the file records ``n_committed``
    after the data are flushed, and reopening truncates any half-written rows beyond it.
    An optional per-star log (group ``/stars``: one row per radiative-transfer run, with its
    cost and notes) is committed together with the rows, and so is each star's intrinsic
    spectrum (group ``/intrinsic``, on ``intrinsic_wavelength`` with the group attributes
    ``intrinsic_attrs``) where one is given. Use as a context manager; :meth:`finish` marks the
    file complete.
    """

    _ROWS = ("flux", "labels", "star_id")  # the row datasets, of the file and of /intrinsic

    def __init__(
        self,
        path: str | os.PathLike,
        wavelength: np.ndarray,
        label_names: Sequence[str] = LABEL_NAMES,
        attrs: Mapping[str, Any] | None = None,
        intrinsic_wavelength: np.ndarray | None = None,
        intrinsic_attrs: Mapping[str, Any] | None = None,
    ):
        self.path = Path(path)
        self.label_names = tuple(label_names)
        resuming = self.path.exists()
        if resuming:
            self._file = _open_for_append(self.path)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = h5py.File(self.path, "w")
        try:
            if resuming:
                self._resume(np.asarray(wavelength))
            else:
                self._create(np.asarray(wavelength, dtype=np.float64), attrs or {})
            if intrinsic_wavelength is not None:
                self._require_intrinsic(np.asarray(intrinsic_wavelength, dtype=np.float64), intrinsic_attrs or {})
        except BaseException:
            self._file.close()
            raise

    def _create(self, wavelength: np.ndarray, attrs: Mapping[str, Any]) -> None:
        f = self._file
        n_pix, n_lab = wavelength.size, len(self.label_names)
        wl = f.create_dataset("wavelength", data=wavelength)
        wl.attrs["unit"] = "Angstrom"
        wl.attrs["medium"] = check_medium(attrs.get("wavelength_medium", "air"), "wavelength_medium")
        fl = f.create_dataset("flux", (0, n_pix), np.float32, maxshape=(None, n_pix), chunks=(16, n_pix))
        fl.attrs["unit"] = "continuum-normalised (F/Fc)"
        given = attrs.get("label_units") or {}
        units = json.dumps({n: given.get(n) or LABEL_UNITS.get(n, "") for n in self.label_names})
        lab = f.create_dataset("labels", (0, n_lab), np.float64, maxshape=(None, n_lab), chunks=(1024, n_lab))
        lab.attrs["units"] = units
        f.create_dataset("star_id", (0,), np.int64, maxshape=(None,), chunks=(1024,))
        for key, value in {**provenance(), **attrs}.items():
            f.attrs[key] = _encode_attr(value)
        f.attrs["label_names"] = _encode_attr(list(self.label_names))
        f.attrs["label_units"] = units
        f.attrs["complete"] = False
        f.attrs["n_committed"] = 0
        f.attrs["n_stars_committed"] = 0
        f.flush()

    def _resume(self, wavelength: np.ndarray) -> None:
        f = self._file
        if not np.array_equal(f["wavelength"][:], wavelength):
            raise GridError(f"{self.path} exists with another wavelength grid; choose another output file")
        if tuple(decode_attr(f.attrs["label_names"])) != self.label_names:
            raise GridError(f"{self.path} exists with other label names; choose another output file")
        for name in self._ROWS:
            f[name].resize(self.n_rows, axis=0)
        for dset in f.get("stars", {}).values():
            dset.resize(self.n_stars, axis=0)
        for name in self._ROWS if INTRINSIC_GROUP in f else ():
            f[INTRINSIC_GROUP][name].resize(self.n_intrinsic, axis=0)

    def _require_intrinsic(self, wavelength: np.ndarray, attrs: Mapping[str, Any]) -> None:
        """Check the ``/intrinsic`` group against ``wavelength``, or create it (in a file begun without one too)."""
        f = self._file
        if INTRINSIC_GROUP in f:
            if not np.array_equal(f[INTRINSIC_GROUP]["wavelength"][:], wavelength):
                raise GridError(f"{self.path} holds intrinsic spectra on another wavelength grid; choose another output file")
            return
        group, n_points, n_lab = f.create_group(INTRINSIC_GROUP), wavelength.size, len(INTRINSIC_LABELS)
        wl = group.create_dataset("wavelength", data=wavelength)
        wl.attrs["unit"] = "Angstrom"
        wl.attrs["medium"] = f["wavelength"].attrs.get("medium", "air")
        # a chunk per star: each append writes one, and the file grows by n_points · 4 bytes a star
        fl = group.create_dataset("flux", (0, n_points), np.float32, maxshape=(None, n_points), chunks=(1, n_points))
        fl.attrs["unit"] = "continuum-normalised (F/Fc)"
        lab = group.create_dataset("labels", (0, n_lab), np.float64, maxshape=(None, n_lab), chunks=(1024, n_lab))
        lab.attrs["label_names"] = _encode_attr(list(INTRINSIC_LABELS))
        lab.attrs["units"] = json.dumps({name: LABEL_UNITS[name] for name in INTRINSIC_LABELS})
        group.create_dataset("star_id", (0,), np.int64, maxshape=(None,), chunks=(1024,))
        for key, value in attrs.items():
            group.attrs[key] = _encode_attr(value)
        group.attrs["n_committed"] = 0
        f.flush()

    @property
    def n_rows(self) -> int:
        return int(self._file.attrs["n_committed"])

    @property
    def n_stars(self) -> int:
        return int(self._file.attrs.get("n_stars_committed", 0))

    @property
    def n_intrinsic(self) -> int:
        group = self._file.get(INTRINSIC_GROUP)
        return 0 if group is None else int(group.attrs["n_committed"])

    def logged_star_ids(self) -> np.ndarray:
        """Star ids in the per-star log: the stars already done (for resuming)."""
        stars = self._file.get("stars")
        return np.empty(0, np.int64) if stars is None else stars["star_id"][: self.n_stars]

    def append(
        self,
        flux: np.ndarray,
        labels: np.ndarray,
        star_id: np.ndarray | int,
        star_log: Mapping[str, float | str] | None = None,
        intrinsic: np.ndarray | None = None,
    ) -> None:
        """Append rows (and optionally one per-star log entry with a ``star_id`` key, and the intrinsic
        spectrum ``(n_points,)`` of the one star whose rows these are) and commit."""
        flux = np.asarray(flux, dtype=np.float32)
        labels = check_labels(labels, self.label_names, ranges=None)
        star_id = np.broadcast_to(np.asarray(star_id, dtype=np.int64), (labels.shape[0],))
        if flux.shape != (labels.shape[0], self._file["flux"].shape[1]):
            raise GridError(f"flux shape {flux.shape} does not match {labels.shape[0]} label rows")
        if not np.isfinite(flux).all():
            raise GridError("flux contains NaN or inf")
        star = None if intrinsic is None else self._intrinsic_row(intrinsic, labels, star_id)
        f, n = self._file, self.n_rows
        for name, data in zip(self._ROWS, (flux, labels, star_id)):
            _extend(f[name], n, data)
        if star_log is not None:
            stars = f.require_group("stars")
            for key, value in star_log.items():
                if key not in stars:
                    dtype = h5py.string_dtype() if isinstance(value, str) else np.asarray(value).dtype
                    stars.create_dataset(key, (self.n_stars,), dtype, maxshape=(None,), chunks=(256,))
                _extend(stars[key], self.n_stars, np.asarray([value], dtype=stars[key].dtype))
        n_intrinsic = self.n_intrinsic
        if star is not None:
            for name, data in zip(self._ROWS, star):
                _extend(f[INTRINSIC_GROUP][name], n_intrinsic, data)
        f.flush()
        if star is not None:
            f[INTRINSIC_GROUP].attrs["n_committed"] = n_intrinsic + 1
        f.attrs["n_committed"] = n + labels.shape[0]
        f.attrs["n_stars_committed"] = self.n_stars + (star_log is not None)
        f.flush()

    def _intrinsic_row(
        self, intrinsic: np.ndarray, labels: np.ndarray, star_id: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``/intrinsic`` rows (flux, labels, star_id) of the star whose broadened rows are ``labels``."""
        if INTRINSIC_GROUP not in self._file:
            raise GridError(f"{self.path} has no /intrinsic group: open the appender with intrinsic_wavelength")
        missing = [name for name in INTRINSIC_LABELS if name not in self.label_names]
        if missing or labels.shape[0] == 0 or np.unique(star_id).size != 1:
            raise GridError(
                "an intrinsic spectrum goes with the rows of one star, labelled with "
                f"{list(INTRINSIC_LABELS)}; got {labels.shape[0]} rows of stars {np.unique(star_id).tolist()} "
                f"labelled {list(self.label_names)}"
            )
        row = np.asarray(intrinsic, dtype=np.float32)[np.newaxis]
        n_points = self._file[INTRINSIC_GROUP]["flux"].shape[1]
        if row.shape != (1, n_points):
            raise GridError(f"intrinsic spectrum of shape {np.shape(intrinsic)}; /intrinsic holds ({n_points},)")
        if not np.isfinite(row).all():
            raise GridError("intrinsic flux contains NaN or inf")
        columns = [self.label_names.index(name) for name in INTRINSIC_LABELS]
        return row, labels[:1, columns], star_id[:1]

    def finish(self) -> None:
        """Mark the file complete."""
        self._file.attrs["complete"] = True
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> GridAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _extend(dataset: h5py.Dataset, n: int, data: np.ndarray) -> None:
    """Write ``data`` at row ``n`` of a resizable dataset, growing it as needed."""
    dataset.resize(n + len(data), axis=0)
    dataset[n:] = data


def _open_for_append(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r+")
    except OSError as err:
        raise GridError(f"{path} cannot be reopened to resume ({err}); delete it to start again") from err


def write_grid(path: str | os.PathLike, grid: Grid, attrs: Mapping[str, Any] | None = None) -> Path:
    """Write a whole grid at once (atomically: a temporary file renamed on success)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    tmp.unlink(missing_ok=True)
    merged = {**grid.attrs, **(attrs or {})}
    for key in ("complete", "n_committed", "n_stars_committed", "label_names"):
        merged.pop(key, None)
    with GridAppender(tmp, grid.wavelength, grid.label_names, merged) as out:
        out.append(grid.flux, grid.labels, grid.star_ids())
        out.finish()
    os.replace(tmp, path)
    return path
