"""Figures of chapter 04 (generating spectra)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from specgen.model.metrics import binned_residual
from specgen.plots.style import label_panels, label_text


def generated_examples(wavelength, originals, generated, names, labels) -> Figure:
    """Fig. 8: generated (red) against radiative-transfer (black) spectra, difference (green) +0.3 below."""
    fig, axes = plt.subplots(len(originals), 1, figsize=(8, 2.2 * len(originals)), sharex=True, layout="constrained")
    for ax, a, b, lab in zip(np.atleast_1d(axes), originals, generated, labels):
        ax.plot(wavelength, a, "k", lw=0.8, label="radiative transfer (PySME)")
        ax.plot(wavelength, b, color="tab:red", lw=0.6, label="generated")
        ax.plot(wavelength, 0.3 + (b - a), color="tab:green", lw=0.6, ls="--", label="difference + 0.3")
        ax.set_title(label_text(names, lab), fontsize=8)
        ax.set_ylabel("flux")
    np.atleast_1d(axes)[0].legend(fontsize=7, ncols=3, loc="lower left")
    np.atleast_1d(axes)[-1].set_xlabel("wavelength (Å, air)")
    return fig


def residuals_by_wavelength(wavelength: np.ndarray, abs_residuals: np.ndarray) -> Figure:
    """Mean and 99th percentile of |generated − true| per pixel."""
    fig, ax = plt.subplots(figsize=(8, 3), layout="constrained")
    ax.plot(wavelength, np.percentile(abs_residuals, 99, axis=0), color="tab:red", lw=0.6, label="99th percentile")
    ax.plot(wavelength, abs_residuals.mean(axis=0), color="k", lw=0.8, label="mean")
    ax.set_yscale("log")
    ax.set_xlabel("wavelength (Å, air)")
    ax.set_ylabel("|generated − true|")
    ax.legend(fontsize=8)
    return fig


def residuals_by_label(names: Sequence[str], labels: np.ndarray, mae_per_spectrum: np.ndarray, bins: int = 8) -> Figure:
    """Mean absolute error per spectrum, binned against each label: where the generator is poor."""
    fig, axes = label_panels(names, "MAE per spectrum")
    for j, ax in enumerate(axes.flat[: len(names)]):
        binned = binned_residual(labels[:, j], mae_per_spectrum, bins)
        ax.scatter(labels[:, j], mae_per_spectrum, s=3, color="0.7")
        ax.step(binned.edges, np.r_[binned.mean, binned.mean[-1]], where="post", color="k")
    axes.flat[0].set_yscale("log")
    return fig


def flowchart() -> Figure:
    """Fig. 7: labels → mapper → latent space → decoder → spectrum (the encoder only trains it)."""
    fig, ax = plt.subplots(figsize=(8, 2.2), layout="constrained")
    boxes = [
        (0.08, "6 labels\n$T_\\mathrm{eff}$, $\\log g$, $v_e\\sin i$,\n[M/H], $\\xi_t$, $R$"),
        (0.33, "mapper\n(Tab. 3)"),
        (0.55, "latent space\n10 numbers"),
        (0.75, "decoder\n(Tab. 2)"),
        (0.93, "spectrum\n4000 pixels"),
    ]
    for x, text in boxes:
        ax.text(x, 0.5, text, ha="center", va="center", fontsize=9, bbox={"boxstyle": "round", "fc": "0.93"})
    for (x0, _), (x1, _) in zip(boxes, boxes[1:]):
        ax.annotate("", (x1 - 0.07, 0.5), (x0 + 0.07, 0.5), arrowprops={"arrowstyle": "->"})
    note = "the encoder (Tab. 2) maps training spectra here: the mapper's targets"
    ax.text(0.55, 0.08, note, ha="center", fontsize=8)
    ax.set_axis_off()
    return fig
