"""Each star's stored intrinsic spectrum, group ``/intrinsic`` of a grid file (layout in :mod:`.format`):
what :class:`~specgen.grid.GridAppender` writes beside the broadened rows, read back."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from specgen.grid.format import INTRINSIC_GROUP, GridError, decode_attr, open_grid
from specgen.labels import INTRINSIC_LABELS


@dataclass(frozen=True)
class IntrinsicSpectra:
    """Stars' spectra without rotation, convolved with the Gaussian of ``attrs["pre_resolution"]`` only.

    ``flux`` (n_stars, n_points) float32, continuum-normalised, on ``wavelength`` (n_points,) Å, uniform in
    ln λ; ``labels`` (n_stars, 4) in :data:`~specgen.labels.INTRINSIC_LABELS` order (K, dex, dex, km/s);
    ``star_id`` (n_stars,) the ``/star_id`` of each star's broadened rows; ``attrs`` those of the group.
    """

    wavelength: np.ndarray
    flux: np.ndarray
    labels: np.ndarray
    star_id: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, n_points = len(self.star_id), self.wavelength.size
        if self.flux.shape != (n, n_points) or self.labels.shape != (n, len(INTRINSIC_LABELS)):
            raise GridError(
                f"intrinsic spectra of {n} stars need flux ({n}, {n_points}) and labels ({n}, {len(INTRINSIC_LABELS)}), "
                f"got {self.flux.shape} and {self.labels.shape}"
            )

    def __len__(self) -> int:
        return len(self.star_id)

    def subset(self, rows: np.ndarray | slice) -> IntrinsicSpectra:
        """The stars ``rows`` (indices, mask or slice)."""
        return IntrinsicSpectra(self.wavelength, self.flux[rows], self.labels[rows], self.star_id[rows], dict(self.attrs))


def read_intrinsic(
    path: str | os.PathLike, *, allow_incomplete: bool = False, rows: slice | None = None
) -> IntrinsicSpectra | None:
    """The intrinsic spectra a grid file keeps (``rows``: a slice of its stars), or None if it keeps none.

    As :func:`~specgen.grid.read_grid`, an interrupted file is refused unless ``allow_incomplete``, in
    which case only its committed stars are returned.
    """
    with open_grid(path) as f:
        if INTRINSIC_GROUP not in f:
            return None
        group = f[INTRINSIC_GROUP]
        for name in ("wavelength", "flux", "labels", "star_id"):
            if name not in group:
                raise GridError(f"{path}: missing dataset /{INTRINSIC_GROUP}/{name}")
        names = tuple(decode_attr(group["labels"].attrs.get("label_names", list(INTRINSIC_LABELS))))
        if names != INTRINSIC_LABELS:
            raise GridError(f"{path}: /{INTRINSIC_GROUP}/labels has columns {list(names)}, not {list(INTRINSIC_LABELS)}")
        if not decode_attr(f.attrs.get("complete", True)) and not allow_incomplete:
            raise GridError(f"{path} is incomplete: its generation was interrupted; rerun it to resume")
        attrs = {key: decode_attr(value) for key, value in group.attrs.items()}
        sel = slice(*(rows or slice(None)).indices(int(attrs.get("n_committed", len(group["star_id"])))))
        return IntrinsicSpectra(
            wavelength=group["wavelength"][:].astype(np.float64),
            flux=group["flux"][sel].astype(np.float32, copy=False),
            labels=group["labels"][sel].astype(np.float64, copy=False),
            star_id=group["star_id"][sel],
            attrs=attrs,
        )
