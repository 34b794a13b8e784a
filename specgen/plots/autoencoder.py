"""Figures of chapter 02 (the autoencoder); :func:`loss_curves` also serves chapters 03 and 05."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from specgen.plots.style import label_text


def loss_curves(history: dict[str, list[float]], title: str) -> Figure:
    """Training and validation loss per epoch (Figs. 3 and 6 of the paper), log scale."""
    fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], color="tab:blue", label="training")
    if "val_loss" in history:
        ax.plot(epochs, history["val_loss"], color="tab:orange", label="validation")
        best = int(np.argmin(history["val_loss"]))
        ax.axvline(best + 1, color="0.5", ls=":", lw=0.8, label=f"best epoch ({best + 1})")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (MSE, scaled units)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def reconstruction(wavelength: np.ndarray, original: np.ndarray, model: np.ndarray, names, labels, what: str) -> Figure:
    """One spectrum against its model (Fig. 4 and 8 style): original dashed black, model red,
    difference green on a second axis."""
    fig, (ax, res) = plt.subplots(
        2, 1, figsize=(8, 4), sharex=True, height_ratios=(3, 1), layout="constrained"
    )
    ax.plot(wavelength, original, "k--", lw=0.8, label="radiative transfer")
    ax.plot(wavelength, model, color="tab:red", lw=0.7, label=what)
    ax.set_ylabel("normalised flux")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(label_text(names, labels), fontsize=8)
    res.plot(wavelength, model - original, color="tab:green", lw=0.6)
    res.axhline(0, color="0.5", lw=0.5)
    res.set_ylabel("difference")
    res.set_xlabel("wavelength (Å, air)")
    return fig
