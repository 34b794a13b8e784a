"""A survey in, a table out: the labels of many spectra, fitted in resumable chunks.

:func:`fit_survey` reads a survey chunk by chunk, so that memory stays bounded whatever its size:

* a grid file (HDF5, :mod:`specgen.grid.format`) on the model's wavelengths in its medium,
  ``chunk_size`` rows at a time (h5py slices), each fitted by :func:`~specgen.fit.chi2.fit_labels`
  with σ = 1/snr;
* a folder of observed spectrum files (or one such file), ``chunk_size`` files at a time, read by
  :func:`~specgen.fit.observed.read_spectra` and fitted by :func:`~specgen.fit.stars.fit_spectra`.

It writes one row per spectrum to ``out``, Parquet or CSV by its suffix: an identifier (``row``
of the grid; or ``file``, ``index`` within the file and ``source_id``), per label the best value,
``<label>_err`` (1σ) and ``<label>_at_bound``, then ``chi2_dof``, ``n_pixels``, ``degenerate``
(and ``held`` for files), ``flag`` and ``reason``. A spectrum that cannot be fitted (all NaN,
non-finite or zero flux, too little overlap with the model's wavelengths, an unreadable file, a
failed fit) gets a ``flag`` other than ``ok``, a one-line ``reason`` and NaN labels; the run goes on.
Provenance (model, specgen version, snr, fixed labels, label units, ...) is the Parquet schema's
``specgen`` metadata (JSON; each label column also carries its ``unit``), or ``<out>.json`` beside a CSV.

Each finished chunk is a part file in ``<out>.parts/``, written to a temporary name and renamed,
so a part is whole or absent. Rerunning the same call after an interruption fits only the missing
chunks, and refuses parts made with other settings; ``out`` itself appears, by an atomic rename,
only once every chunk is done, after which ``<out>.parts/`` is removed.

    fit_survey("data/ci/test.h5", "models/ci/emulator", "fits.parquet", snr=50, fixed={"resolution": 11500})
    pd.read_parquet("fits.parquet")     # row, teff, teff_err, teff_at_bound, ..., flag, reason
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

import h5py
import numpy as np
import pandas as pd

from specgen.constants import VERSION
from specgen.fit.chi2 import N_STARTS, check_fixed, fit_labels, generator_error
from specgen.fit.observed import (
    SPECTRUM_SUFFIXES,
    Medium,
    ObservedSpectrum,
    SpectrumError,
    read_spectra,
)
from specgen.fit.stars import OutOfDomainWarning, fit_spectra
from specgen.grid import GridError
from specgen.grid.format import decode_attr, file_medium
from specgen.labels import LABEL_UNITS, LabelError
from specgen.model.emulator import Emulator, as_emulator
from specgen.runtime.console import say

#: Spectra (grid rows) or files (folders) per chunk, the unit of work and of resumption.
CHUNK_SIZE = 256
#: S/N of grid spectra when none is given (σ = 1/snr), as ``specgen fit --spectra``.
DEFAULT_GRID_SNR = 100.0
#: An observed spectrum must have usable pixels (finite flux and σ) on this fraction of the
#: model's wavelengths, else it is flagged ``no_overlap`` (Gaia RVS covers about 60 % of 8400–8800 Å).
MIN_COVERAGE = 0.25
#: Output formats by suffix.
FORMATS = {".parquet": "parquet", ".csv": "csv"}
#: What ``flag`` says; ``reason`` gives the details in one line.
FLAGS = {
    "ok": "fitted",
    "all_nan": "every flux value is NaN",
    "non_finite": "some flux is infinite (or NaN in a grid row)",
    "zero_flux": "the flux is zero or its median not positive: not continuum-normalised",
    "no_overlap": f"usable on less than {MIN_COVERAGE:.0%} of the model's wavelengths",
    "no_errors": "the file gives no flux errors and no snr was given",
    "unreadable": "the file is not a readable spectrum",
    "fit_failed": "the fit raised an error",
}
_GRID_SUFFIXES = {".h5", ".hdf5", ".he5"}


class SurveyError(GridError):
    """A survey, an output or a resumption that cannot be done; the message names the problem in one line."""


@dataclass(frozen=True)
class _Options:
    """How every chunk is fitted (sent to Dask workers as they are)."""

    snr: float | None
    fixed: dict[str, float]
    n_starts: int
    seed: int
    fit_resolution: bool
    resolution: float | None
    model_error: np.ndarray | None


@dataclass(frozen=True)
class _GridChunk:
    rows: np.ndarray  # (n,) row indices in the grid file
    flux: np.ndarray  # (n, n_pix)


@dataclass(frozen=True)
class _FilesChunk:
    entries: list[tuple[str, int, ObservedSpectrum | str]]  # (file name, index in file, spectrum or error)


def fit_survey(
    spectra: str | os.PathLike,
    model: Emulator | str | os.PathLike,
    out: str | os.PathLike,
    *,
    snr: float | None = None,
    fixed: Mapping[str, float] | None = None,
    n_starts: int = N_STARTS,
    seed: int = 0,
    fit_resolution: bool = False,
    resolution: float | None = None,
    medium: Medium | None = None,
    model_error: np.ndarray | str | os.PathLike | None = None,
    chunk_size: int = CHUNK_SIZE,
    scheduler: str | None = None,
    progress: bool = True,
    on_chunk: Callable[[int], None] | None = None,
) -> Path:
    """Fit the labels of every spectrum of ``spectra`` (a grid file, a folder of spectrum files or
    one such file) through ``model`` (an :class:`Emulator` or its directory), writing ``out``
    (``.parquet`` or ``.csv``; columns in the module docstring); returns ``out``'s path.

    ``snr`` gives σ = 1/snr per pixel (continuum units); None means :data:`DEFAULT_GRID_SNR` for a
    grid and the files' own flux errors for spectrum files. ``fixed`` holds labels at values in
    their units, e.g. ``{"resolution": 11500}``; ``fit_resolution`` fits the resolution of files
    whose instrument's is known (Gaia RVS), which is otherwise held; ``resolution`` is the resolving
    power of files that do not say (held, and sharper spectra degraded to the model's top:
    :func:`~specgen.fit.stars.fit_spectra`); ``medium`` ("air" or "vacuum") that of their wavelengths,
    overriding what the files say (:func:`~specgen.fit.observed.read_spectra`). ``model_error`` is the
    generator's own 1σ per pixel ``(n_pix,)``, or a grid file to measure it on
    (:func:`~specgen.fit.chi2.generator_error`). ``n_starts`` and ``seed`` are those of
    :func:`~specgen.fit.chi2.fit_labels`. ``chunk_size`` counts grid rows, or files of a folder.

    Chunks run one after the other in this process, or with ``scheduler`` (a dask.distributed
    address) on that cluster's workers, which load ``model`` from its directory (a path they can
    read). ``progress`` shows a bar (spectra or files per second, time left). ``on_chunk(k)`` is
    called once chunk ``k``'s part is written; an exception it raises stops the run, keeping the parts.

    Rerunning after an interruption fits only the chunks without a part; a complete ``out`` made
    with the same settings is reused. Raises :class:`SurveyError` for parts or an ``out`` made with
    other settings, an unknown suffix, a grid on other wavelengths or in another medium, or bad options;
    :class:`~specgen.labels.LabelError` for a fixed label the model cannot hold.
    """
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise SurveyError(f"unknown extension {out.suffix!r} of {out}: use .parquet or .csv")
    if chunk_size < 1 or n_starts < 1:
        raise SurveyError(f"chunk_size and n_starts must be at least 1, got {chunk_size} and {n_starts}")
    if snr is not None and not (np.isfinite(snr) and snr > 0):
        raise SurveyError(f"snr must be positive and finite, got {snr}")
    emulator, model_path = as_emulator(model)
    if scheduler and model_path is None:
        raise SurveyError("with a scheduler, pass the model as its saved directory (the workers load it from there)")
    fixed = {name: float(value) for name, value in (fixed or {}).items()}
    _check_fixed(fixed, emulator)
    error_source = None
    if model_error is not None and not isinstance(model_error, np.ndarray):
        error_source = str(Path(model_error).resolve())
        model_error = generator_error(emulator, model_error)
    source = _open_survey(Path(spectra), emulator, chunk_size, medium)
    if source.kind == "grid" and snr is None:
        snr = DEFAULT_GRID_SNR
    snr = None if snr is None else float(snr)
    if resolution is not None and source.kind == "grid":
        raise SurveyError("resolution goes with spectrum files; a grid's resolution is a label: hold it with fixed")
    if medium is not None and source.kind == "grid":
        raise SurveyError("medium goes with spectrum files; a grid file records its own")
    options = _Options(snr, fixed, n_starts, seed, fit_resolution, resolution, model_error)
    settings = {
        **source.fingerprint,
        "model_sha256": _model_fingerprint(emulator),
        "snr": snr,
        "fixed": dict(sorted(fixed.items())),
        "chunk_size": chunk_size,
        "n_starts": n_starts,
        "seed": seed,
        "fit_resolution": fit_resolution,
        "resolution": resolution,
        "medium": medium,
        "model_error_sha256": None if model_error is None else _sha256(np.asarray(model_error, np.float64)),
    }
    settings = json.loads(json.dumps(settings))  # as it reads back from JSON
    units = {name: emulator.provenance.get("label_units", {}).get(name, LABEL_UNITS.get(name, ""))
             for name in emulator.label_names}
    provenance = {
        "specgen_version": VERSION,
        "model": model_path,
        "survey": str(Path(spectra).resolve()),
        "snr": snr,
        "fixed": settings["fixed"],
        "model_error": error_source or (None if model_error is None else "given as an array"),
        "label_units": units,
        "flags": FLAGS,
        "settings": settings,
    }
    if _reuse(out, settings, progress):
        return out

    parts = out.with_name(out.name + ".parts")
    _prepare_parts(parts, settings)
    schema = _schema(emulator.label_names, units, source.kind)
    done = {k for k in range(source.n_chunks) if _part(parts, k).exists()}
    todo = [k for k in range(source.n_chunks) if k not in done]
    from tqdm import tqdm

    with tqdm(total=source.total, initial=sum(source.count(k) for k in done), unit=source.unit,
              desc=f"fit → {out.name}", disable=not progress, smoothing=0.1) as bar:

        def finished(k: int, table: pd.DataFrame) -> None:
            _write_part(parts, k, table, schema)
            bar.update(source.count(k))
            if on_chunk is not None:
                on_chunk(k)

        if scheduler:
            _run_on_cluster(scheduler, model_path, source, todo, options, finished)
        else:
            for k in todo:
                finished(k, _fit_chunk(source.read(k), emulator, options))
    _assemble(out, parts, source.n_chunks, schema, provenance, progress)
    return out


def _fit_chunk(chunk: _GridChunk | _FilesChunk, emulator: Emulator, options: _Options) -> pd.DataFrame:
    """The output rows of one chunk: its good spectra fitted together, its bad ones flagged."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfDomainWarning)  # the at_bound columns say it, per star
        if isinstance(chunk, _GridChunk):
            return _fit_grid_chunk(chunk, emulator, options)
        return _fit_files_chunk(chunk, emulator, options)


# ---- surveys -------------------------------------------------------------------------------


class _GridSurvey:
    """Rows of a grid file, read by slices."""

    kind, unit = "grid", "star"

    def __init__(self, path: Path, emulator: Emulator, chunk_size: int):
        self.path, self.chunk_size = path, chunk_size
        try:
            f = h5py.File(path, "r")
        except OSError as err:
            raise SurveyError(f"{path} is not a readable HDF5 file ({err})") from None
        with f:
            missing = [name for name in ("wavelength", "flux") if name not in f]
            if missing:
                raise SurveyError(f"{path}: missing dataset /{missing[0]} (a grid needs /wavelength and /flux)")
            attrs = {k: decode_attr(v) for k, v in f.attrs.items()}
            if not attrs.get("complete", True):
                raise SurveyError(f"{path} is incomplete (its generation was interrupted): rerun it first")
            wavelength, medium, self.total = f["wavelength"][:], file_medium(f), int(f["flux"].shape[0])
            if f["flux"].ndim != 2 or f["flux"].shape[1] != wavelength.size:
                raise SurveyError(f"{path}: /flux has shape {f['flux'].shape}, not (n_spec, {wavelength.size})")
        model = emulator.wavelength
        if wavelength.shape != model.shape or not np.allclose(wavelength, model, rtol=0, atol=1e-6):
            raise SurveyError(
                f"{path} has {wavelength.size} pixels over {wavelength.min():g}–{wavelength.max():g} Å, the model "
                f"{model.size} over {model[0]:g}–{model[-1]:g} Å: resample it, or fit its spectra as files"
            )
        if medium != emulator.medium:
            raise SurveyError(f"{path} has wavelengths in {medium}, the model in {emulator.medium}: "
                              f"fit it with a model trained in {medium}")
        self.n_chunks = -(-self.total // chunk_size)
        self.fingerprint = {"survey": str(path.resolve()), "survey_kind": "grid", "survey_size": self.total,
                            "survey_created": str(attrs.get("created"))}

    def count(self, k: int) -> int:
        return min(self.chunk_size, self.total - k * self.chunk_size)

    def read(self, k: int) -> _GridChunk:
        start = k * self.chunk_size
        with h5py.File(self.path, "r") as f:
            flux = f["flux"][start : start + self.chunk_size]
        return _GridChunk(np.arange(start, start + len(flux)), flux)


class _FilesSurvey:
    """Spectrum files (a folder's, in name order), read a chunk of files at a time."""

    kind, unit = "files", "file"

    def __init__(self, path: Path, chunk_size: int, medium: Medium | None):
        self.chunk_size, self.medium = chunk_size, medium
        if path.is_dir():
            self.files = sorted(p for p in path.iterdir() if p.is_file() and _suffix(p) in SPECTRUM_SUFFIXES)
            if not self.files:
                raise SurveyError(f"{path}: no spectrum files ({', '.join(sorted(SPECTRUM_SUFFIXES))})")
        elif path.is_file():
            self.files = [path]
        else:
            raise FileNotFoundError(f"no survey at {path} (a grid file, a spectrum file or a folder of them)")
        self.total = len(self.files)
        self.n_chunks = -(-self.total // chunk_size)
        listing = "\n".join(f"{p.name}\t{p.stat().st_size}" for p in self.files)
        self.fingerprint = {"survey": str(path.resolve()), "survey_kind": "files", "survey_size": self.total,
                            "survey_files_sha256": hashlib.sha256(listing.encode()).hexdigest()}

    def count(self, k: int) -> int:
        return len(self.files[k * self.chunk_size : (k + 1) * self.chunk_size])

    def read(self, k: int) -> _FilesChunk:
        entries: list[tuple[str, int, ObservedSpectrum | str]] = []
        for file in self.files[k * self.chunk_size : (k + 1) * self.chunk_size]:
            try:
                spectra = read_spectra(file, medium=self.medium)
            except (SpectrumError, OSError, ValueError) as err:
                entries.append((file.name, 0, _one_line(err)))
                continue
            entries += [(file.name, i, spectrum) for i, spectrum in enumerate(spectra)]
        return _FilesChunk(entries)


def _open_survey(path: Path, emulator: Emulator, chunk_size: int, medium: Medium | None) -> _GridSurvey | _FilesSurvey:
    if path.is_file() and (path.suffix.lower() in _GRID_SUFFIXES or h5py.is_hdf5(path)):
        return _GridSurvey(path, emulator, chunk_size)
    return _FilesSurvey(path, chunk_size, medium)


def _suffix(path: Path) -> str:
    return "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()


# ---- fitting one chunk ---------------------------------------------------------------------


def _fit_grid_chunk(chunk: _GridChunk, emulator: Emulator, options: _Options) -> pd.DataFrame:
    flux = np.asarray(chunk.flux, dtype=np.float64)
    table = _blank(emulator.label_names, len(flux), {"row": chunk.rows})
    screened = [_screen(row, np.isfinite(row), emulator.wavelength, grid=True) for row in flux]
    table["flag"], table["reason"] = [flag for flag, _ in screened], [reason for _, reason in screened]

    def fit(rows: np.ndarray) -> pd.DataFrame:
        result = fit_labels(flux[rows], emulator, 1.0 / options.snr, model_error=options.model_error,
                            fixed=options.fixed, n_starts=options.n_starts, seed=options.seed)
        return result.table()

    return _fill(table, fit, np.flatnonzero(table["flag"] == "ok"))


def _fit_files_chunk(chunk: _FilesChunk, emulator: Emulator, options: _Options) -> pd.DataFrame:
    entries = chunk.entries
    table = _blank(emulator.label_names, len(entries), {
        "file": [file for file, _, _ in entries],
        "index": [index for _, index, _ in entries],
        "source_id": pd.array([_source_id(s) for _, _, s in entries], dtype="Int64"),
    }, held=True)
    screened = [
        _screen_observed(spectrum, emulator.wavelength, emulator.medium, options.snr) for _, _, spectrum in entries
    ]
    table["flag"], table["reason"] = [flag for flag, _ in screened], [reason for _, reason in screened]
    spectra = [spectrum for _, _, spectrum in entries]

    def fit(rows: np.ndarray) -> pd.DataFrame:
        fits = fit_spectra([spectra[i] for i in rows], emulator, snr=options.snr, resolution=options.resolution,
                           model_error=options.model_error,
                           fixed=options.fixed, fit_resolution=options.fit_resolution, n_starts=options.n_starts,
                           seed=options.seed)
        return pd.concat([star.table() for star in fits], ignore_index=True)

    return _fill(table, fit, np.flatnonzero(table["flag"] == "ok"))


def _screen(flux: np.ndarray, usable: np.ndarray, wavelength: np.ndarray, grid: bool) -> tuple[str, str]:
    """(flag, reason) of flux on the model's ``wavelength``, ``usable`` where it can be fitted."""
    finite = np.isfinite(flux)
    if np.isnan(flux).all():
        return "all_nan", "every flux value is NaN"
    bad = ~finite if grid else np.isinf(flux)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        what = "non-finite (NaN or inf)" if grid else "infinite"
        where = f"{wavelength[first]:.2f} Å" if len(flux) == len(wavelength) else f"pixel {first}"
        return "non_finite", f"{bad.sum()} {what} flux value(s), the first at {where}"
    if usable.sum() < MIN_COVERAGE * len(wavelength):
        return "no_overlap", (
            f"usable on {usable.sum()} of the model's {len(wavelength)} pixels ({wavelength[0]:g}–"
            f"{wavelength[-1]:g} Å), fewer than {MIN_COVERAGE:.0%}"
        )
    if not np.median(flux[usable]) > 0:
        what = "zero everywhere" if np.all(flux[usable] == 0) else "of median ≤ 0"
        return "zero_flux", f"the flux is {what}: not continuum-normalised"
    return "ok", ""


def _screen_observed(
    spectrum: ObservedSpectrum | str, wavelength: np.ndarray, medium: Medium, snr: float | None
) -> tuple[str, str]:
    if isinstance(spectrum, str):
        return "unreadable", spectrum
    flag, reason = _screen(spectrum.flux, np.isfinite(spectrum.flux), wavelength, grid=False)
    if flag != "ok":
        return flag, reason
    if snr is None and np.isnan(spectrum.uncertainty).all():
        return "no_errors", "the file gives no flux errors: pass snr"
    flux, sigma = spectrum.on_grid(wavelength, medium)
    if snr is not None:
        sigma = np.where(np.isfinite(flux), 1.0 / snr, np.inf)
    usable = np.isfinite(flux) & np.isfinite(sigma) & (sigma > 0)
    flag, reason = _screen(np.where(usable, flux, 0.0), usable, wavelength, grid=False)
    if flag == "no_overlap":
        seen = spectrum.wavelength_in(medium)
        observed = f"{seen[0]:g}–{seen[-1]:g} Å ({medium})"
        reason = f"{reason}; the spectrum covers {observed}"
    return flag, reason


def _fill(table: pd.DataFrame, fit: Callable[[np.ndarray], pd.DataFrame], rows: np.ndarray) -> pd.DataFrame:
    """``table`` with the fit of ``rows`` (all at once; one by one where that fails) written in."""
    fitted, failed = _isolated(fit, rows)
    if len(fitted):
        columns = [c for c in table.columns if c in fitted.columns]
        for column in columns:
            table.loc[fitted.index, column] = fitted[column].to_numpy()
    for row, reason in failed.items():
        table.loc[row, ["flag", "reason"]] = ("fit_failed", reason)
    return table


def _isolated(fit: Callable[[np.ndarray], pd.DataFrame], rows: np.ndarray) -> tuple[pd.DataFrame, dict[int, str]]:
    """(``fit(rows)`` indexed by row, {}); if that raises ValueError, each row fitted alone, and
    the rows whose fit fails as {row: reason}."""
    if len(rows) == 0:
        return pd.DataFrame(), {}
    try:
        return fit(rows).set_axis(rows), {}
    except ValueError as err:
        if len(rows) == 1:
            return pd.DataFrame(), {int(rows[0]): _one_line(err)}
    alone = [_isolated(fit, rows[i : i + 1]) for i in range(len(rows))]
    fitted = pd.concat([table for table, _ in alone if len(table)]) if any(len(t) for t, _ in alone) else pd.DataFrame()
    return fitted, {row: reason for _, failed in alone for row, reason in failed.items()}


def _blank(names: tuple[str, ...], n: int, ids: dict[str, Any], held: bool = False) -> pd.DataFrame:
    """Rows of a chunk before the fit: identifiers, NaN labels, flag ``ok``."""
    columns = dict(ids)
    for name in names:
        columns |= {name: np.full(n, np.nan), f"{name}_err": np.full(n, np.nan), f"{name}_at_bound": np.zeros(n, bool)}
    columns |= {"chi2_dof": np.full(n, np.nan), "n_pixels": np.zeros(n, np.int64), "degenerate": np.zeros(n, bool)}
    if held:
        columns["held"] = [""] * n
    columns |= {"flag": ["ok"] * n, "reason": [""] * n}
    return pd.DataFrame(columns)


def _source_id(spectrum: ObservedSpectrum | str) -> int | None:
    return None if isinstance(spectrum, str) else spectrum.meta.get("source_id")


def _one_line(error: Exception | str) -> str:
    return " ".join(str(error).split())


def _check_fixed(fixed: Mapping[str, float], emulator: Emulator) -> None:
    """:func:`~specgen.fit.chi2.check_fixed`, and at least one label left free: said before any chunk is read."""
    check_fixed(fixed, emulator)
    if set(fixed) == set(emulator.label_names):
        raise LabelError("every label is fixed: nothing to fit")


# ---- on a Dask cluster ---------------------------------------------------------------------

#: Emulators loaded by this (worker) process, by directory.
_LOADED: dict[str, Emulator] = {}


def _fit_on_worker(model_path: str, chunk: _GridChunk | _FilesChunk, options: _Options) -> pd.DataFrame:
    if model_path not in _LOADED:
        _LOADED[model_path] = Emulator.load(model_path)
    return _fit_chunk(chunk, _LOADED[model_path], options)


def _run_on_cluster(scheduler: str, model_path: str, source, todo: list[int], options: _Options,
                    finished: Callable[[int, pd.DataFrame], None]) -> None:
    """Fit the chunks ``todo`` on the cluster at ``scheduler``, a few per worker in flight (so that
    this process holds a bounded number of chunks), calling ``finished`` as each comes back."""
    from dask.distributed import as_completed

    from specgen.runtime.parallel import dask_client

    with dask_client(scheduler=scheduler) as client:
        in_flight = max(2, 2 * sum(client.nthreads().values()))
        chunk_of: dict[str, int] = {}
        pending = iter(todo)

        def submit(k: int):
            future = client.submit(_fit_on_worker, model_path, source.read(k), options, pure=False)
            chunk_of[future.key] = k
            return future

        futures = as_completed([submit(k) for k in itertools.islice(pending, in_flight)])
        for future in futures:
            finished(chunk_of.pop(future.key), future.result())
            future.release()
            k = next(pending, None)
            if k is not None:
                futures.add(submit(k))


# ---- parts, settings and the final file ----------------------------------------------------


def _part(parts: Path, k: int) -> Path:
    return parts / f"part-{k:06d}.parquet"


def _schema(names: tuple[str, ...], units: Mapping[str, str], kind: str):
    import pyarrow as pa

    if kind == "grid":
        fields = [pa.field("row", pa.int64())]
    else:
        fields = [pa.field("file", pa.string()), pa.field("index", pa.int64()), pa.field("source_id", pa.int64())]
    for name in names:
        unit = {"unit": units.get(name, "")}
        fields += [pa.field(name, pa.float64(), metadata=unit), pa.field(f"{name}_err", pa.float64(), metadata=unit),
                   pa.field(f"{name}_at_bound", pa.bool_())]
    fields += [pa.field("chi2_dof", pa.float64()), pa.field("n_pixels", pa.int64()), pa.field("degenerate", pa.bool_())]
    if kind != "grid":
        fields.append(pa.field("held", pa.string()))
    fields += [pa.field("flag", pa.string()), pa.field("reason", pa.string())]
    return pa.schema(fields)


def _write_part(parts: Path, k: int, table: pd.DataFrame, schema) -> None:
    """Write chunk ``k``'s rows to its part file: a temporary file, flushed, then renamed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table[schema.names].infer_objects(), schema=schema, preserve_index=False)
    part = _part(parts, k)
    tmp = part.with_name(part.name + ".tmp")
    pq.write_table(arrow, tmp)
    _fsync(tmp)
    os.replace(tmp, part)


def _prepare_parts(parts: Path, settings: dict) -> None:
    """Create ``parts`` with its settings, or check those of an earlier run; drop half-written parts."""
    record = parts / "settings.json"
    if record.exists():
        differ = _differences(json.loads(record.read_text()), settings)
        if differ:
            raise SurveyError(
                f"{parts} holds chunks fitted with other settings ({differ}): rerun with those, "
                f"or delete {parts} to start over"
            )
        for tmp in parts.glob("*.tmp"):
            tmp.unlink()
        return
    if parts.exists() and any(parts.iterdir()):
        raise SurveyError(f"{parts} exists without settings.json: not a survey's parts; delete it or choose another output")
    parts.mkdir(parents=True, exist_ok=True)
    _write_atomically(record, json.dumps(settings, indent=1) + "\n")


def _differences(old: dict, new: dict) -> str:
    hidden = {"model_sha256": "the model's weights", "survey_files_sha256": "the survey's files",
              "model_error_sha256": "the model error"}
    differ = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            differ.append(f"{hidden[key]} differ" if key in hidden else f"{key} {old.get(key)!r} there, {new.get(key)!r} now")
    return "; ".join(differ)


def _reuse(out: Path, settings: dict, progress: bool) -> bool:
    """Whether ``out`` is complete for these settings (and so is kept); refuses any other ``out``."""
    if not out.exists():
        return False
    old = _read_metadata(out)
    if old is None:
        raise SurveyError(f"{out} exists and was not written by fit_survey: delete it or choose another output")
    differ = _differences(old.get("settings", {}), settings)
    if differ:
        raise SurveyError(f"{out} was made with other settings ({differ}): delete it or choose another output")
    shutil.rmtree(out.with_name(out.name + ".parts"), ignore_errors=True)
    say(progress, f"{out} is already complete for these settings: reused")
    return True


def _read_metadata(out: Path) -> dict | None:
    if FORMATS[out.suffix.lower()] == "csv":
        sidecar = _sidecar(out)
        return json.loads(sidecar.read_text()) if sidecar.exists() else None
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(out).metadata or {}
    except Exception:  # pyarrow raises several kinds for a file that is not Parquet
        return None
    return json.loads(metadata[b"specgen"]) if b"specgen" in metadata else None


def _sidecar(out: Path) -> Path:
    return out.with_name(out.name + ".json")


def _assemble(out: Path, parts: Path, n_chunks: int, schema, provenance: dict, progress: bool) -> None:
    """Join the parts, in chunk order, into ``out`` (written to a temporary name, then renamed),
    one part in memory at a time; then remove ``parts``."""
    import pyarrow.parquet as pq

    missing = [k for k in range(n_chunks) if not _part(parts, k).exists()]
    if missing:
        raise SurveyError(f"{parts} lacks chunk(s) {missing[:5]}: rerun to fit them")
    tmp = out.with_name(out.name + ".partial")
    n_rows, flags = 0, {}
    units = {field.name: field.metadata[b"unit"].decode() for field in schema if field.metadata}
    metadata = {**provenance, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "units": units}
    if FORMATS[out.suffix.lower()] == "parquet":
        metadata_bytes = {b"specgen": json.dumps(metadata).encode()}
        with pq.ParquetWriter(tmp, schema.with_metadata(metadata_bytes)) as writer:
            for k in range(n_chunks):
                table = pq.read_table(_part(parts, k))
                n_rows, flags = n_rows + table.num_rows, _count(flags, table.column("flag").to_pylist())
                writer.write_table(table.replace_schema_metadata(metadata_bytes))
    else:
        with open(tmp, "w", newline="") as stream:
            for k in range(n_chunks):
                table = pq.read_table(_part(parts, k)).to_pandas()
                n_rows, flags = n_rows + len(table), _count(flags, table["flag"].tolist())
                table.to_csv(stream, header=k == 0, index=False)
        _write_atomically(_sidecar(out), json.dumps(metadata, indent=1) + "\n")
    _fsync(tmp)
    os.replace(tmp, out)
    shutil.rmtree(parts)
    flagged = ", ".join(f"{n} {flag}" for flag, n in sorted(flags.items()) if flag != "ok")
    say(progress, f"{out}: {n_rows} spectra" + (f" ({flagged}; see the reason column)" if flagged else ", none flagged"))


def _count(counts: dict[str, int], flags: list[str]) -> dict[str, int]:
    for flag in flags:
        counts[flag] = counts.get(flag, 0) + 1
    return counts


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    _fsync(tmp)
    os.replace(tmp, path)


def _fsync(path: Path) -> None:
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


def _model_fingerprint(emulator: Emulator) -> str:
    """SHA-256 of the emulator's network weights, wavelengths, scalings and label ranges."""
    digest = hashlib.sha256()
    for name in emulator.networks:
        for weights in getattr(emulator, name).get_weights():
            digest.update(np.ascontiguousarray(weights).tobytes())
    for array in (emulator.wavelength, emulator.label_scaler.offset, emulator.label_scaler.scale,
                  emulator.flux_scaler.offset, emulator.flux_scaler.scale):
        digest.update(np.ascontiguousarray(array, np.float64).tobytes())
    ranges = [(name, float(emulator.label_ranges[name].low), float(emulator.label_ranges[name].high))
              for name in emulator.label_names]
    digest.update(json.dumps(ranges).encode())
    return digest.hexdigest()


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
