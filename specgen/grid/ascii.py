"""Spectra from another radiative-transfer code, one ASCII file per star, into a grid file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from specgen.constants import RVS_WAVELENGTH
from specgen.grid.format import Grid, GridError, check_medium, write_grid
from specgen.grid.tables import read_label_table
from specgen.labels import check_labels


def import_ascii(
    directory: str | os.PathLike,
    labels_csv: str | os.PathLike,
    out: str | os.PathLike,
    wavelength: np.ndarray = RVS_WAVELENGTH,
    medium: str = "air",
    code: str = "unknown",
) -> Path:
    """Build a grid from a folder of two-column ASCII spectra (wavelength Å, normalised flux).

    ``labels_csv`` has a ``file`` column naming each spectrum (relative to ``directory``) and one
    column per label; the label names of the grid are those column names, in order. Each
    spectrum is linearly interpolated onto ``wavelength`` and must cover it. ``medium``, "air" or
    "vacuum", is that of the files' wavelengths and so of the grid's (:attr:`Grid.medium`): they are
    not converted. This is the usual product of a SYNSPEC + ROTIN run; ``code`` records which code
    made the spectra.
    """
    check_medium(medium, "medium")
    names, labels, table = read_label_table(labels_csv)
    if "file" not in table.columns:
        raise GridError(f"{labels_csv} needs a 'file' column naming each spectrum")
    check_labels(labels, names, ranges=None)
    directory = Path(directory)
    flux = np.empty((len(table), wavelength.size), np.float32)
    for i, name in enumerate(table["file"]):
        flux[i] = _read_ascii_spectrum(directory / str(name), wavelength)
    grid = Grid(np.asarray(wavelength, np.float64), flux, labels, tuple(names))
    attrs = {
        "code": code,
        "wavelength_medium": medium,
        "imported_from": str(directory.resolve()),
        "labels_file": str(Path(labels_csv).resolve()),
    }
    return write_grid(out, grid, attrs)


def _read_ascii_spectrum(path: Path, wavelength: np.ndarray) -> np.ndarray:
    try:
        data = np.loadtxt(path, usecols=(0, 1), ndmin=2, comments=("#", "!"))
    except (OSError, ValueError) as err:
        raise GridError(f"cannot read spectrum {path}: {err}") from err
    wave, flux = data[:, 0], data[:, 1]
    order = np.argsort(wave)
    wave, flux = wave[order], flux[order]
    if wave[0] > wavelength[0] or wave[-1] < wavelength[-1]:
        raise GridError(
            f"{path} covers {wave[0]:.2f}–{wave[-1]:.2f} Å, not the grid's {wavelength[0]:.2f}–{wavelength[-1]:.2f} Å"
        )
    if not np.isfinite(flux).all():
        raise GridError(f"{path} contains NaN or inf flux")
    return np.interp(wavelength, wave, flux)
