"""What several chapters' figures share: line positions, label text, panels per label."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from specgen.constants import CA_II_TRIPLET, PASCHEN_LINES
from specgen.labels import LABEL_TEX, LABEL_UNITS

#: Lines worth marking in the RVS range (air wavelengths, Å).
RVS_LINES = {"Ca II": CA_II_TRIPLET, "Pa 16/15/13/12": PASCHEN_LINES}


def label_text(names: Sequence[str], values: Sequence[float]) -> str:
    """``Teff = 5777 K, log g = 4.44 dex, ...`` for titles and legends."""
    parts = []
    for name, value in zip(names, values):
        unit = LABEL_UNITS.get(name, "")
        fmt = ".0f" if abs(value) >= 100 else ".2f"
        parts.append(f"{LABEL_TEX.get(name, name)} = {value:{fmt}} {unit if unit != 'λ/Δλ' else ''}".strip())
    return ", ".join(parts)


def label_panels(
    names: Sequence[str], ylabel: str, *, sharey: bool = True, prefix: str = ""
) -> tuple[Figure, np.ndarray]:
    """A panel per label on two rows, x axes named (after ``prefix``) with units."""
    fig, axes = plt.subplots(2, (len(names) + 1) // 2, figsize=(9, 5), sharey=sharey, layout="constrained")
    for name, ax in zip(names, axes.flat):
        ax.set_xlabel(f"{prefix}{LABEL_TEX.get(name, name)} ({LABEL_UNITS.get(name, '')})", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    fig.supylabel(ylabel, fontsize=9)
    return fig, axes
