"""Figures of chapter 05 (validating the generated spectra)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullLocator

from specgen.labels import LABEL_TEX, LABEL_UNITS
from specgen.model.metrics import binned_residual
from specgen.plots.style import label_panels

#: Colours of the sets of spectra in the validation figures (Fig. 9: test black, generated red).
SET_COLOURS = {"train": "tab:blue", "val": "tab:green", "test": "k", "generated": "tab:red"}


def error_densities(names: Sequence[str], errors: dict[str, np.ndarray], bins: int = 30) -> Figure:
    """Fig. 9: distributions of predicted − true for each label, one line per set of spectra
    (``errors[set]`` is ``(n, n_labels)``; "test" in black, "generated" in red)."""
    fig, axes = label_panels(names, "density", sharey=False, prefix="predicted − true ")
    for j, ax in enumerate(axes.flat[: len(names)]):
        values = {which: e[:, j] for which, e in errors.items()}
        edges = np.histogram_bin_edges(np.concatenate(list(values.values())), bins)
        for which, v in values.items():
            ax.hist(v, edges, density=True, histtype="step", color=SET_COLOURS.get(which), label=which)
        ax.axvline(0, color="0.6", lw=0.5)
        ax.set_yticks([])
    axes.flat[0].legend(fontsize=7)
    return fig


def accuracy_by_label(names: Sequence[str], true: np.ndarray, errors: dict[str, np.ndarray], bins: int = 6) -> Figure:
    """RMSE of each recovered label in bins of its true value, one line per set of spectra."""
    fig, axes = label_panels(names, "RMSE (label unit)", sharey=False)
    for j, ax in enumerate(axes.flat[: len(names)]):
        edges = np.linspace(true[:, j].min(), true[:, j].max(), bins + 1)
        for which, e in errors.items():
            rmse = np.sqrt(binned_residual(true[:, j], e[:, j] ** 2, edges).mean)
            ax.step(edges, np.r_[rmse, rmse[-1]], where="post", color=SET_COLOURS.get(which), label=which)
    axes.flat[0].legend(fontsize=7)
    return fig


#: Line styles of the label-recovery methods in :func:`recovery_against_snr`.
RECOVERY_STYLES = {
    "PCA + networks": {"color": "tab:blue", "marker": "o"},
    "fit through the generator": {"color": "tab:red", "marker": "s"},
    "fit: median quoted 1σ": {"color": "tab:red", "ls": "--"},
    "PCA + networks trained at this S/N": {"color": "tab:green", "marker": "D", "ls": "none"},
}


def recovery_against_snr(table) -> Figure:
    """RMSE of the recovered labels against S/N, a panel per label, from
    :func:`specgen.fit.recovery.recovery_against_snr` (rows (S/N, method), columns labels)."""
    names = list(table.columns)
    fig, axes = plt.subplots(2, (len(names) + 1) // 2, figsize=(9, 5), sharex=True, layout="constrained")
    snrs = table.index.get_level_values("S/N").unique()
    for name, ax in zip(names, axes.flat):
        for method, rows in table[name].groupby(level="method", sort=False):
            snr = rows.index.get_level_values("S/N")
            ax.plot(snr, rows.to_numpy(), label=method, **RECOVERY_STYLES.get(method, {}))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(snrs, [f"{snr:g}" for snr in snrs])
        ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter("{x:g}")
        ax.set_title(f"{LABEL_TEX.get(name, name)} ({LABEL_UNITS.get(name, '')})", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=6)
    fig.supxlabel("S/N per pixel", fontsize=9)
    fig.supylabel("RMSE of the recovered label", fontsize=9)
    return fig


def pca_explained_variance(ratio: np.ndarray) -> Figure:
    """Explained variance of each principal component, and the cumulative fraction."""
    fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    k = np.arange(1, ratio.size + 1)
    ax.bar(k, ratio, color="0.6", label="per component")
    ax.plot(k, np.cumsum(ratio), "k.-", label="cumulative")
    ax.set_yscale("log")
    ax.set_xlabel("principal component")
    ax.set_ylabel("fraction of the flux variance")
    ax.legend(fontsize=8)
    return fig


def rmse_ratios(ours: dict[str, float], paper: dict[str, float] | None = None) -> Figure:
    """RMSE(generated) / RMSE(test) per label; 1 means generated spectra are as good as
    radiative transfer. ``paper`` adds Gebran (2024)'s ratios."""
    fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    x = np.arange(len(ours))
    ax.bar(x - 0.2, list(ours.values()), 0.4, color="tab:red", label="this book")
    if paper:
        ax.bar(x + 0.2, [paper.get(name, np.nan) for name in ours], 0.4, color="0.6", label="Gebran 2024")
    ax.axhline(1, color="k", lw=0.8)
    ax.set_xticks(x, [LABEL_TEX.get(name, name) for name in ours])
    ax.set_ylabel("RMSE(generated) / RMSE(test)")
    ax.legend(fontsize=8)
    return fig
