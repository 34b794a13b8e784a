"""Figures of chapter 08 (fitting observed stars)."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from specgen.labels import LABEL_TEX, LABEL_UNITS
from specgen.plots.style import RVS_LINES


def observed_fit(
    wavelength: np.ndarray,
    observed: np.ndarray,
    sigma: np.ndarray,
    models: dict[str, np.ndarray],
    title: str = "",
) -> Figure:
    """An observed spectrum (black, masked pixels left out) with model spectra over it, and
    observed − model below with the ±1σ band of the observation. ``models`` maps a legend entry to
    flux on ``wavelength``; the first is the best fit."""
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 5), sharex=True, height_ratios=(2.2, 1), layout="constrained"
    )
    top.plot(wavelength, observed, color="k", lw=0.8, label="observed")
    band = np.where(np.isfinite(sigma), sigma, np.nan)
    bottom.fill_between(wavelength, -band, band, color="0.85", lw=0, label="±1σ of the observation")
    for (name, flux), colour in zip(models.items(), ("tab:red", "tab:blue", "tab:green")):
        top.plot(wavelength, flux, color=colour, lw=0.8, label=name)
        bottom.plot(wavelength, observed - flux, color=colour, lw=0.6)
    for line in RVS_LINES["Ca II"]:
        top.axvline(line, color="0.6", lw=0.5, ls=":")
    observed_range = wavelength[np.isfinite(observed)]
    top.set_xlim(observed_range.min(), observed_range.max())
    top.set_ylabel("normalised flux")
    top.set_title(textwrap.fill(title, 130), fontsize=9)  # six labels with errors run past the figure in one line
    top.legend(fontsize=8, loc="lower left")
    bottom.axhline(0, color="k", lw=0.5)
    bottom.set_ylabel("observed − model")
    bottom.set_xlabel("wavelength (Å, air)")
    bottom.legend(fontsize=7, loc="lower left")
    return fig


def chi2_landscapes(
    maps: dict[tuple[str, str], tuple], best: dict[str, float], reference: dict[str, float] | None = None
) -> Figure:
    """Δχ² = χ² − min χ² over pairs of labels, one panel per ``(x, y)`` key of ``maps`` (values
    from :func:`specgen.fit.stars.chi2_map`), with the 1σ, 2σ and 3σ contours of two parameters
    (Δχ² = 2.30, 6.18, 11.8), the best fit (``best``, red +) and ``reference`` values (white ☆,
    e.g. the literature's) marked."""
    fig, axes = plt.subplots(1, len(maps), figsize=(4.2 * len(maps), 3.6), layout="constrained", squeeze=False)
    for ax, ((x, y), (xs, ys, chi2)) in zip(axes.flat, maps.items()):
        delta = chi2 - chi2.min()
        image = ax.pcolormesh(xs, ys, np.log10(1 + delta), cmap="viridis_r", shading="auto")
        ax.contour(xs, ys, delta, levels=(2.30, 6.18, 11.8), colors="w", linewidths=(1.2, 0.8, 0.5))
        ax.plot(best[x], best[y], "r+", ms=10, mew=1.5, label="best fit")
        if reference and x in reference and y in reference:
            ax.plot(reference[x], reference[y], "*", mfc="none", mec="w", ms=12, label="literature")
        ax.set_xlabel(f"{LABEL_TEX.get(x, x)} ({LABEL_UNITS.get(x, '')})", fontsize=8)
        ax.set_ylabel(f"{LABEL_TEX.get(y, y)} ({LABEL_UNITS.get(y, '')})", fontsize=8)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.colorbar(image, ax=axes.ravel().tolist(), label="log₁₀(1 + Δχ²)")
    return fig
