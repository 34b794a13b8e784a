"""Figures of chapter 06 (scaling with the training set)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter


def learning_curves(curve, law=None, target: float | None = None) -> Figure:
    """Generator MAE against training spectra, one line per latent size (from
    :func:`specgen.studies.learning_curve.learning_curve`), with a power law fitted to the paper's latent 10 and a
    target MAE (e.g. the disagreement between radiative-transfer codes), log–log."""
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    for latent, rows in curve.groupby("latent"):
        _mae_with_interval(ax, rows["n_train_spectra"], rows, f"generator, latent {latent}")
    baseline = curve.dropna(subset=["mean_spectrum_mae"])
    ax.plot(baseline["n_train_spectra"], baseline["mean_spectrum_mae"], "x", c="0.5", label="mean spectrum")
    if law is not None:
        reach = law.spectra_for(target) if target is not None else 0
        n = np.geomspace(curve["n_train_spectra"].min(), max(curve["n_train_spectra"].max(), min(reach, 1e7)))
        ax.plot(n, law.mae(n), "k:", label=f"MAE ∝ $N^{{-{law.alpha:.2f}}}$")
    return _finish(fig, ax, "training spectra", target)


def accuracy_against_stars(curves, target: float | None = None) -> Figure:
    """Test MAE against the number of radiative-transfer stars trained on, one line per kind of generator
    (``curves[name]`` has columns ``n_train_stars`` and ``gen_mae``), with the mean spectrum and a
    target MAE, log–log: what each radiative-transfer run is worth to each kind."""
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    for name, rows in curves.items():
        rows = rows.sort_values("n_train_stars")
        _mae_with_interval(ax, rows["n_train_stars"], rows, name)
    baseline = pd.concat(list(curves.values())).dropna(subset=["mean_spectrum_mae"]).sort_values("n_train_stars")
    ax.plot(baseline["n_train_stars"], baseline["mean_spectrum_mae"], "x", c="0.5", label="mean spectrum")
    return _finish(fig, ax, "radiative-transfer stars", target)


def _mae_with_interval(ax, x, rows: pd.DataFrame, label: str) -> None:
    """``rows["gen_mae"]`` against ``x``, with its 68% interval over test stars as error bars where known."""
    low, high = (rows.get(column, pd.Series(np.nan, index=rows.index)) for column in ("gen_mae_low", "gen_mae_high"))
    yerr = np.vstack([rows["gen_mae"] - low, high - rows["gen_mae"]]).clip(min=0)
    ax.errorbar(x, rows["gen_mae"], yerr=np.nan_to_num(yerr), fmt="o-", capsize=3, label=label)


def _finish(fig: Figure, ax, xlabel: str, target: float | None) -> Figure:
    """Log–log axes of test MAE against ``xlabel``, with the ``target`` MAE drawn (the codes' disagreement)."""
    if target is not None:
        ax.axhline(target, c="tab:red", lw=0.8, label=f"SME vs SYNSPEC, {target:.1e}")
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="mean |generated − true| (test, 68% over stars)")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=8)
    return fig
