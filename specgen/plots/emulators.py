"""Figures of chapter 07 (the emulator shoot-out)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from specgen.plots.style import RVS_LINES

#: The row of a shoot-out table (:func:`specgen.studies.shootout.run_shootout`) that predicts the mean spectrum.
SHOOTOUT_BASELINE = "mean training spectrum"


def _shootout_colours(names: Sequence[str], baseline: str) -> dict[str, str]:
    """A tab10 colour per contestant, in order; grey for the baseline."""
    others = iter(plt.get_cmap("tab10").colors)
    return {name: "0.55" if name == baseline else next(others) for name in names}


def _bin_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Means of consecutive groups of ``width`` values (a last incomplete group dropped)."""
    n = x.size // width
    return x[: n * width].reshape(n, width).mean(axis=1)


def shootout_residuals(
    wavelength: np.ndarray, residuals: dict[str, np.ndarray], bin_pixels: int = 10, baseline: str = SHOOTOUT_BASELINE
) -> Figure:
    """Mean |generated − true| over the test spectra against wavelength, one line per contestant
    (``residuals[name]`` is ``(n_test, n_pix)``), averaged over bins of ``bin_pixels`` pixels; Ca II marked."""
    colours = _shootout_colours(list(residuals), baseline)
    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    for name, residual in residuals.items():
        style = {"ls": "--", "lw": 0.8} if name == baseline else {"lw": 0.9}
        mean_abs = _bin_mean(np.abs(residual).mean(axis=0), bin_pixels)
        ax.plot(_bin_mean(wavelength, bin_pixels), mean_abs, color=colours[name], label=name, **style)
    for line in RVS_LINES["Ca II"]:
        ax.axvline(line, color="0.6", lw=0.5, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("wavelength (Å, air)")
    ax.set_ylabel(f"mean |generated − true|, {bin_pixels}-pixel bins")
    fig.legend(fontsize=7, ncols=3, loc="outside upper center", frameon=False)
    return fig


def shootout_cost(table, baseline: str = SHOOTOUT_BASELINE) -> Figure:
    """Accuracy against cost, a point per contestant of a shoot-out ``table`` (rows by name, columns
    ``mae``, ``spectra_per_second``, ``training_seconds``): MAE against generation speed (left) and
    against training time (right); the ``baseline`` row's MAE as a dashed line."""
    colours = _shootout_colours(list(table.index), baseline)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True, layout="constrained")
    for ax, column, xlabel in zip(
        axes, ("spectra_per_second", "training_seconds"), ("spectra per second", "training time (s)")
    ):
        for name, row in table.drop(index=baseline, errors="ignore").iterrows():
            ax.scatter(row[column], row["mae"], s=40, color=colours[name], label=name, zorder=3)
        if baseline in table.index:
            ax.axhline(table.loc[baseline, "mae"], color=colours[baseline], ls="--", lw=0.8, label=baseline)
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("MAE on the test spectra")
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, ncols=3, loc="outside lower center", frameon=False)
    return fig
