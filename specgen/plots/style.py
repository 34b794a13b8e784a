"""Every figure of the book: each function returns a matplotlib Figure (object API, labelled axes)."""

from __future__ import annotations

import textwrap
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter, NullLocator

from specgen.grid import Grid
from specgen.labels import LABEL_TEX, LABEL_UNITS
from specgen.model.metrics import binned_residual

#: Colours of the sets of spectra in the validation figures (Fig. 9: test black, generated red).
SET_COLOURS = {"train": "tab:blue", "val": "tab:green", "test": "k", "generated": "tab:red"}
#: Lines worth marking in the RVS range (air wavelengths, Å).
RVS_LINES = {"Ca II": (8498.02, 8542.09, 8662.14), "Pa 16/15/13/12": (8502.49, 8545.38, 8665.02, 8750.47)}


def label_text(names: Sequence[str], values: Sequence[float]) -> str:
    """``Teff = 5777 K, log g = 4.44 dex, ...`` for titles and legends."""
    parts = []
    for name, value in zip(names, values):
        unit = LABEL_UNITS.get(name, "")
        fmt = ".0f" if abs(value) >= 100 else ".2f"
        parts.append(f"{LABEL_TEX.get(name, name)} = {value:{fmt}} {unit if unit != 'λ/Δλ' else ''}".strip())
    return ", ".join(parts)


def flux_map(grid: Grid, n: int = 300, sort_by: str = "teff", seed: int = 0) -> Figure:
    """Fig. 1 (left): a colour map of the flux of a random sub-sample, rows sorted by a label."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(grid), size=min(n, len(grid)), replace=False)
    rows = rows[np.argsort(grid.label(sort_by)[rows])]
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    image = ax.imshow(
        grid.flux[rows],
        aspect="auto",
        origin="lower",
        cmap="magma",
        vmin=0.2,
        vmax=1.02,
        extent=(grid.wavelength[0], grid.wavelength[-1], 0, len(rows)),
        interpolation="nearest",
    )
    ticks = np.linspace(0, len(rows) - 1, 6).astype(int)
    ax.set_yticks(ticks + 0.5, [f"{grid.label(sort_by)[rows[t]]:.0f}" for t in ticks])
    ax.set_xlabel("wavelength (Å, air)")
    ax.set_ylabel(f"{LABEL_TEX.get(sort_by, sort_by)} ({LABEL_UNITS.get(sort_by, '')})")
    ax.set_title(f"{len(rows)} spectra of the training grid, sorted by {LABEL_TEX.get(sort_by, sort_by)}")
    fig.colorbar(image, ax=ax, label="normalised flux")
    return fig


def spectrum(
    wavelength: np.ndarray, flux: np.ndarray, names: Sequence[str], values: Sequence[float], mark_lines: bool = True
) -> Figure:
    """Fig. 1 (right): one spectrum, its labels in the title, the Ca II triplet and Paschen lines marked."""
    fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
    ax.plot(wavelength, flux, color="k", lw=0.8)
    if mark_lines:
        for (species, lines), colour in zip(RVS_LINES.items(), ("tab:blue", "tab:red")):
            for i, line in enumerate(lines):
                ax.axvline(line, color=colour, lw=0.6, ls=":", label=species if i == 0 else None)
        ax.legend(loc="lower left", fontsize=8)
    ax.set_xlabel("wavelength (Å, air)")
    ax.set_ylabel("normalised flux")
    ax.set_title(label_text(names, values), fontsize=9)
    return fig


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


def representative_rows(grid: Grid, teff_targets: Sequence[float]) -> list[int]:
    """Rows of ``grid`` close to each target Teff among the slow rotators (score |ΔTeff|/500 K +
    v sin i/50 km/s), each intrinsic spectrum at most once; fewer rows if the grid has fewer stars."""
    score = np.abs(grid.label("teff")[:, None] - np.asarray(teff_targets, dtype=float)) / 500.0
    if "vsini" in grid.label_names:
        score += grid.label("vsini")[:, None] / 50.0
    star = grid.star_id if grid.star_id is not None else np.arange(len(grid))
    rows: list[int] = []
    for k in range(len(teff_targets)):
        free = [int(i) for i in np.argsort(score[:, k]) if star[i] not in {star[r] for r in rows}]
        rows += free[:1]
    return rows


def spectra_across_hr(grid: Grid, teff_targets: Sequence[float] = (4000, 5000, 6000, 7500, 9500, 13000)) -> Figure:
    """Example spectra from cool to hot (:func:`representative_rows`), offset, with their labels."""
    rows = representative_rows(grid, teff_targets)
    fig, ax = plt.subplots(figsize=(8, 1.3 * len(rows) + 1), layout="constrained")
    for k, i in enumerate(rows):
        ax.plot(grid.wavelength, grid.flux[i] + 0.8 * k, lw=0.7)
        ax.text(
            grid.wavelength[-1] + 5,
            1.0 + 0.8 * k,
            "\n".join(label_text([n], [v]) for n, v in zip(grid.label_names, grid.labels[i])),
            fontsize=6,
            va="center",
        )
    ax.set_xlim(grid.wavelength[0], grid.wavelength[-1] + 110)
    ax.set_xlabel("wavelength (Å, air)")
    ax.set_ylabel("normalised flux + offset")
    ax.set_title("Grid spectra across the HR diagram (coolest at the bottom)")
    return fig


def label_coverage(grid: Grid) -> Figure:
    """Kiel diagram of the grid coloured by [M/H], and the distribution of every label."""
    n = len(grid.label_names)
    fig = plt.figure(figsize=(10, 4.5), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=(1, 1.4), wspace=0.05)
    ax = left.subplots()
    colour = grid.label("m_h") if "m_h" in grid.label_names else None
    points = ax.scatter(grid.label("teff"), grid.label("logg"), c=colour, s=4, cmap="coolwarm")
    ax.invert_xaxis()
    ax.invert_yaxis()
    ax.set_xlabel(r"$T_\mathrm{eff}$ (K)")
    ax.set_ylabel(r"$\log g$ (dex)")
    if colour is not None:
        left.colorbar(points, ax=ax, label="[M/H] (dex)")
    axes = right.subplots(2, (n + 1) // 2)
    for j, (name, sub) in enumerate(zip(grid.label_names, axes.flat)):
        sub.hist(grid.labels[:, j], bins=20, color="0.4")
        sub.set_xlabel(f"{LABEL_TEX.get(name, name)} ({LABEL_UNITS.get(name, '')})", fontsize=8)
        sub.tick_params(labelsize=7)
    for sub in axes.flat[n:]:
        sub.set_visible(False)
    return fig


def synthesis_cost(teff: np.ndarray, seconds: np.ndarray, m_h: np.ndarray | None = None) -> Figure:
    """Seconds per radiative-transfer synthesis against Teff."""
    fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    points = ax.scatter(teff, seconds, c=m_h, s=10, cmap="coolwarm")
    if m_h is not None:
        fig.colorbar(points, ax=ax, label="[M/H] (dex)")
    ax.set_xlabel(r"$T_\mathrm{eff}$ (K)")
    ax.set_ylabel("seconds per synthesis")
    ax.set_ylim(0, None)
    ax.set_title(f"PySME cost: median {np.median(seconds):.1f} s per intrinsic spectrum")
    return fig


def broadening_check(
    wavelength: np.ndarray, ours: np.ndarray, sme: np.ndarray, names: Sequence[str], labels: np.ndarray
) -> Figure:
    """Post-broadened against SME-broadened spectra, one panel per star, with the difference ×10."""
    fig, axes = plt.subplots(len(ours), 1, figsize=(8, 2.4 * len(ours)), sharex=True, layout="constrained")
    for ax, a, b, lab in zip(np.atleast_1d(axes), ours, sme, labels):
        ax.plot(wavelength, b, color="k", lw=0.8, label="SME rotation + instrument")
        ax.plot(wavelength, a, color="tab:red", lw=0.6, ls="--", label="specgen post-broadening")
        ax.plot(wavelength, 0.5 + 10 * (a - b), color="tab:green", lw=0.6, label="10 × difference + 0.5")
        ax.set_title(f"{label_text(names, lab)}; max |ΔF| = {np.abs(a - b).max():.1e}", fontsize=8)
        ax.set_ylabel("normalised flux")
    axes.flat[0].legend(fontsize=7, loc="lower left", ncols=3)
    axes.flat[-1].set_xlabel("wavelength (Å, air)")
    return fig


def temperature_structures(atmospheres: Sequence) -> Figure:
    """T(τ_Ross) of model atmospheres (objects with ``teff, logg, m_h, tau_ross, temperature``),
    down to τ = 100, below which the spectrum does not form."""
    fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
    for atm in atmospheres:
        shown = atm.tau_ross <= 100
        label = f"{atm.teff:.0f} K, {atm.logg:.1f}, {atm.m_h:+.1f}"
        ax.plot(atm.tau_ross[shown], atm.temperature[shown], lw=1, label=label)
    ax.set_xscale("log")
    ax.axvline(2 / 3, color="0.6", lw=0.6, ls=":")
    ax.set_xlabel(r"Rosseland optical depth $\tau_\mathrm{Ross}$")
    ax.set_ylabel("temperature (K)")
    ax.legend(fontsize=7, title=r"$T_\mathrm{eff}$, $\log g$, [M/H]", title_fontsize=7)
    return fig


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
    fig, axes = _label_panels(names, "MAE per spectrum")
    for j, ax in enumerate(axes.flat[: len(names)]):
        binned = binned_residual(labels[:, j], mae_per_spectrum, bins)
        ax.scatter(labels[:, j], mae_per_spectrum, s=3, color="0.7")
        ax.step(binned.edges, np.r_[binned.mean, binned.mean[-1]], where="post", color="k")
    axes.flat[0].set_yscale("log")
    return fig


def error_densities(names: Sequence[str], errors: dict[str, np.ndarray], bins: int = 30) -> Figure:
    """Fig. 9: distributions of predicted − true for each label, one line per set of spectra
    (``errors[set]`` is ``(n, n_labels)``; "test" in black, "generated" in red)."""
    fig, axes = _label_panels(names, "density", sharey=False, prefix="predicted − true ")
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
    fig, axes = _label_panels(names, "RMSE (label unit)", sharey=False)
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


def _label_panels(
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


def latent_agreement(encoded: np.ndarray, predicted: np.ndarray) -> Figure:
    """Each latent coordinate: encoder(spectrum) against mapper(labels)."""
    k = encoded.shape[1]
    fig, axes = plt.subplots(2, (k + 1) // 2, figsize=(10, 4.2), layout="constrained")
    for j, ax in enumerate(axes.flat[:k]):
        ax.scatter(encoded[:, j], predicted[:, j], s=3, color="k")
        low, high = np.percentile(np.r_[encoded[:, j], predicted[:, j]], [0, 100])
        ax.plot([low, high], [low, high], color="tab:red", lw=0.6)
        ax.set_title(f"latent {j + 1}", fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes.flat[k:]:
        ax.set_visible(False)
    fig.supxlabel("encoder(spectrum)", fontsize=9)
    fig.supylabel("mapper(labels)", fontsize=9)
    return fig


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


def learning_curves(curve, law=None, target: float | None = None) -> Figure:
    """Generator MAE against training spectra, one line per latent size (from
    :func:`specgen.studies.learning_curve.learning_curve`), with a power law fitted to the paper's latent 10 and a
    target MAE (e.g. the disagreement between radiative-transfer codes), log–log."""
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    for latent, rows in curve.groupby("latent"):
        ax.plot(rows["n_train_spectra"], rows["gen_mae"], "o-", label=f"generator, latent {latent}")
    baseline = curve.dropna(subset=["mean_spectrum_mae"])
    ax.plot(baseline["n_train_spectra"], baseline["mean_spectrum_mae"], "x", c="0.5", label="mean spectrum")
    if law is not None:
        reach = law.spectra_for(target) if target is not None else 0
        n = np.geomspace(curve["n_train_spectra"].min(), max(curve["n_train_spectra"].max(), min(reach, 1e7)))
        ax.plot(n, law.mae(n), "k:", label=f"MAE ∝ $N^{{-{law.alpha:.2f}}}$")
    if target is not None:
        ax.axhline(target, c="tab:red", lw=0.8, label=f"SME vs SYNSPEC, {target:.1e}")
    ax.set(xscale="log", yscale="log", xlabel="training spectra", ylabel="mean |generated − true| (test)")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=8)
    return fig
