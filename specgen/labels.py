"""Stellar labels: names, units, the ranges of the paper's Tab. 1, and seeded sampling.

Plain data and array checks, no I/O. A label set is an ``(n, n_labels)`` float array
whose columns follow a list of names; grids from other codes may carry other names,
so every function takes the names it needs explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

#: Default label order of a specgen grid (file attribute ``label_names``).
LABEL_NAMES: tuple[str, ...] = ("teff", "logg", "vsini", "m_h", "xi_t", "resolution")

#: The labels radiative transfer depends on; ``vsini`` and ``resolution`` are applied afterwards.
INTRINSIC_LABELS: tuple[str, ...] = ("teff", "logg", "m_h", "xi_t")

#: Units and descriptions for plots, tables and HDF5 attributes.
LABEL_UNITS: dict[str, str] = {
    "teff": "K",
    "logg": "dex (cgs)",
    "vsini": "km/s",
    "m_h": "dex",
    "xi_t": "km/s",
    "resolution": "λ/Δλ",
}
LABEL_TEX: dict[str, str] = {
    "teff": r"$T_\mathrm{eff}$",
    "logg": r"$\log g$",
    "vsini": r"$v_e \sin i$",
    "m_h": "[M/H]",
    "xi_t": r"$\xi_t$",
    "resolution": r"$R$",
}


@dataclass(frozen=True)
class LabelRange:
    """A closed interval ``[low, high]`` for one label, in the label's unit."""

    low: float
    high: float

    def contains(self, values: np.ndarray) -> np.ndarray:
        return (values >= self.low) & (values <= self.high)


#: Tab. 1 of Gebran (2024): the ranges the training labels are drawn from.
TABLE1_RANGES: dict[str, LabelRange] = {
    "teff": LabelRange(3600.0, 15000.0),
    "logg": LabelRange(2.0, 5.0),
    "vsini": LabelRange(0.0, 300.0),
    "m_h": LabelRange(-1.5, 1.5),
    "xi_t": LabelRange(0.0, 4.0),
    "resolution": LabelRange(5000.0, 14500.0),
}


def spanned_ranges(names: Sequence[str], labels: np.ndarray) -> dict[str, LabelRange]:
    """The range each label spans in ``labels`` ``(n, len(names))``, by name: a training domain."""
    labels = np.atleast_2d(np.asarray(labels, dtype=np.float64))
    low, high = labels.min(axis=0).tolist(), labels.max(axis=0).tolist()
    return {name: LabelRange(a, b) for name, a, b in zip(names, low, high, strict=True)}


class LabelError(ValueError):
    """Labels that cannot be used: wrong shape, not finite, or out of range."""


def label_array(
    labels: Any, names: Sequence[str], one_star: Mapping[str, float] | None = None
) -> tuple[np.ndarray, bool]:
    """Labels as given to a generator, as ``(array in the order of names, whether one star was given)``.

    ``labels`` is an array with columns in ``names`` order, or a table with named columns (a pandas
    DataFrame or Series, a dict of columns or of scalars; other columns ignored); or None with one
    star as keywords in ``one_star``. Shapes and values are checked later by :func:`check_labels`.
    """
    if one_star:
        if labels is not None:
            raise TypeError("give labels either as the first argument or as keywords, not both")
        unknown = sorted(set(one_star) - set(names))
        if unknown:
            raise LabelError(f"unknown label(s) {unknown}; this emulator's labels are {list(names)}")
        labels = one_star
    if labels is None:
        example = ", ".join(f"{name}=…" for name in names)
        raise TypeError(f"generate() needs labels, e.g. generate({example})")
    if hasattr(labels, "keys"):  # dict, DataFrame, Series: columns by name
        missing = [name for name in names if name not in labels]
        if missing:
            raise LabelError(f"missing label column(s) {missing}; this emulator needs {list(names)}")
        try:
            columns = [np.asarray(labels[name], dtype=np.float64) for name in names]
            one = all(col.ndim == 0 for col in columns)
            return np.column_stack([col.reshape(-1) for col in columns]), one
        except (TypeError, ValueError) as err:
            raise LabelError(f"label columns must be numeric and of one length ({err})") from None
    try:
        table = np.asarray(labels, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise LabelError(f"labels must be numeric, in columns {list(names)} ({err})") from None
    return table, table.ndim == 1


def check_labels(
    labels: np.ndarray,
    names: Sequence[str] = LABEL_NAMES,
    ranges: Mapping[str, LabelRange] | None = TABLE1_RANGES,
) -> np.ndarray:
    """Return ``labels`` as a 2-D float64 array, or raise :class:`LabelError` naming the problem.

    ``ranges`` maps names to allowed intervals; names absent from it are not range-checked.
    Pass ``ranges=None`` to check only shape and finiteness.
    """
    arr = np.asarray(labels, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise LabelError(
            f"labels must have shape (n, {len(names)}) for columns {list(names)}, got {np.shape(labels)}"
        )
    bad_rows = ~np.isfinite(arr).all(axis=1)
    if bad_rows.any():
        first = int(np.flatnonzero(bad_rows)[0])
        raise LabelError(f"{bad_rows.sum()} label row(s) contain NaN or inf (first: row {first}: {arr[first]})")
    for j, name in enumerate(names):
        if ranges is None or name not in ranges:
            continue
        inside = ranges[name].contains(arr[:, j])
        if not inside.all():
            first = int(np.flatnonzero(~inside)[0])
            r = ranges[name]
            raise LabelError(
                f"{(~inside).sum()} value(s) of {name!r} outside [{r.low:g}, {r.high:g}] {LABEL_UNITS.get(name, '')}"
                f" (first: row {first}, {name}={arr[first, j]:g})"
            )
    return arr


def sample_uniform(
    n: int,
    seed: int,
    names: Sequence[str],
    ranges: Mapping[str, LabelRange] = TABLE1_RANGES,
) -> np.ndarray:
    """Draw ``n`` label rows uniformly in ``ranges`` for the columns ``names`` (seeded, reproducible)."""
    rng = np.random.default_rng(seed)
    low = np.array([ranges[name].low for name in names])
    high = np.array([ranges[name].high for name in names])
    return rng.uniform(low, high, size=(n, len(names)))


def sample_sobol(
    n: int,
    seed: int,
    names: Sequence[str],
    ranges: Mapping[str, LabelRange] = TABLE1_RANGES,
) -> np.ndarray:
    """The first ``n`` points of a scrambled Sobol sequence (seeded) over ``ranges`` for the columns
    ``names``: training stars that fill the box more evenly than independent uniform draws."""
    from scipy.stats import qmc

    low = np.array([ranges[name].low for name in names])
    high = np.array([ranges[name].high for name in names])
    points = qmc.Sobol(len(names), scramble=True, seed=seed).random_base2(max(int(np.ceil(np.log2(n))), 0))[:n]
    return qmc.scale(points, low, high) if n else np.empty((0, len(names)))


#: How label rows can be drawn: ``SAMPLERS[name](n, seed, names, ranges)``.
SAMPLERS = {"uniform": sample_uniform, "sobol": sample_sobol}
