"""Label tables (CSV) in, and human-readable summaries and per-star logs of grid files out."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from specgen.grid.format import GridError, open_grid, read_attrs, read_grid
from specgen.grid.intrinsic import read_intrinsic

if TYPE_CHECKING:
    import pandas as pd


def read_label_table(path: str | os.PathLike) -> tuple[list[str], np.ndarray, pd.DataFrame]:
    """A CSV of labels with named columns: (label column names, (n, n_labels) array, the table).

    A column named ``file`` (spectrum file names) is kept in the table but is not a label.
    """
    import pandas as pd

    try:
        table = pd.read_csv(path, comment="#", skipinitialspace=True)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise GridError(f"cannot read label table {path}: {err}") from err
    names = [c for c in table.columns if c != "file"]
    if not names:
        raise GridError(f"{path} has no label columns")
    try:
        values = table[names].to_numpy(dtype=np.float64)
    except ValueError as err:
        raise GridError(f"{path}: label columns must be numeric ({err})") from err
    return names, values, table


def read_star_log(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The per-star log of a synthesised grid (group ``/stars``), committed rows only; {} if absent."""
    with open_grid(path) as f:
        if "stars" not in f:
            return {}
        n = int(f.attrs.get("n_stars_committed", f["stars/star_id"].shape[0]))
        log = {key: dset[:n] for key, dset in f["stars"].items()}
    if "note" in log:
        log["note"] = np.array([v.decode() if isinstance(v, bytes) else v for v in log["note"]], dtype=object)
    return log


def grid_summary(path: str | os.PathLike) -> str:
    """A human-readable description of a grid file: sizes, label ranges, provenance."""
    attrs = read_attrs(path)
    grid = read_grid(path, allow_incomplete=True)
    status = "complete" if attrs.get("complete", True) else "INCOMPLETE (interrupted: rerun to resume)"
    lines = [
        f"{path}: {len(grid)} spectra × {grid.wavelength.size} pixels, {status}",
        f"  wavelength {grid.wavelength[0]:.2f}–{grid.wavelength[-1]:.2f} Å ({grid.medium})",
        "  labels:",
    ]
    units = attrs.get("label_units", {})
    for j, name in enumerate(grid.label_names):
        col = grid.labels[:, j]
        span = f"{col.min():10.4g} … {col.max():<10.4g}" if len(grid) else "(none)"
        lines.append(f"    {name:<12} {span} {units.get(name, '')}")
    log = read_star_log(path)
    if log:
        rejected = log["rejected"].astype(bool)
        repaired = np.array([bool(note) for note in log["note"]]) & ~rejected
        seconds = log["synthesis_seconds"][~rejected]
        lines.append(
            f"  radiative transfer: {rejected.size} stars, {rejected.sum()} rejected, {repaired.sum()} atmospheres "
            f"repaired, median {np.median(seconds) if seconds.size else float('nan'):.1f} s per synthesis"
        )
    stored = read_intrinsic(path, allow_incomplete=True, rows=slice(0, 0))
    if stored is not None:
        a, wave = stored.attrs, stored.wavelength
        lines.append(
            f"  intrinsic spectra (/intrinsic): {a.get('n_committed')} stars × {wave.size} points, "
            f"{wave[0]:.2f}–{wave[-1]:.2f} Å every {a.get('velocity_step', np.nan):g} km/s, "
            f"at R = {a.get('pre_resolution', np.nan):g} without rotation: `specgen broaden` draws new variants"
        )
    skip = {"label_names", "label_units", "complete", "n_committed", "n_stars_committed"}
    lines.append("  provenance:")
    lines += [f"    {key}: {value}" for key, value in sorted(attrs.items()) if key not in skip]
    return "\n".join(lines)
