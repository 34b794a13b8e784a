"""Figures of chapter 01 (the training grid)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from specgen.grid import Grid
from specgen.labels import LABEL_TEX, LABEL_UNITS
from specgen.plots.style import RVS_LINES, label_text

if TYPE_CHECKING:
    from specgen.synth.atmospheres import SeamProfiles


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


def representative_rows(grid: Grid, teff_targets: Sequence[float]) -> list[int]:
    """Rows of ``grid`` close to each target Teff among the slow rotators (score |ΔTeff|/500 K +
    v sin i/50 km/s), each intrinsic spectrum at most once; fewer rows if the grid has fewer stars."""
    score = np.abs(grid.label("teff")[:, None] - np.asarray(teff_targets, dtype=float)) / 500.0
    if "vsini" in grid.label_names:
        score += grid.label("vsini")[:, None] / 50.0
    star = grid.star_ids()
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


def stored_variants(
    stored_wavelength: np.ndarray,
    stored_flux: np.ndarray,
    wavelength: np.ndarray,
    variants: np.ndarray,
    broadening: np.ndarray,
    pre_resolution: float,
) -> Figure:
    """One star's stored intrinsic spectrum (no rotation, R = ``pre_resolution``) and new variants drawn
    from it, ``variants`` (k, n_pix) on ``wavelength`` at ``broadening`` (k, 2) = (v sin i [km/s], R)."""
    fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
    ax.plot(stored_wavelength, stored_flux, color="0.6", lw=1.6, label=f"stored: no rotation, R = {pre_resolution:,.0f}")
    colours = plt.cm.viridis(np.linspace(0.15, 0.85, len(variants)))
    for flux, (vsini, resolution), colour in zip(variants, broadening, colours):
        ax.plot(wavelength, flux, color=colour, lw=0.8, label=f"v sin i = {vsini:.0f} km/s, R = {resolution:,.0f}")
    ax.set_xlim(wavelength[0], wavelength[-1])
    ax.set_xlabel("wavelength (Å, air)")
    ax.set_ylabel("normalised flux")
    ax.set_title("new variants broadened from one stored intrinsic spectrum", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
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


def network_seam(profiles: SeamProfiles) -> Figure:
    """The seam between atmosnet's cool and hot networks, before and after the blend.

    One panel per optical depth of ``profiles``, T on top and P_gas below, each relative to the
    geometric mean of the two networks: the cool network, the hot one, atmosnet's switch from one
    to the other at ``seam_teff`` (before) and the blend across ``band`` (after, shaded).
    """
    tau = profiles.tau
    fig, axes = plt.subplots(2, len(tau), figsize=(2.5 * len(tau) + 0.5, 4.8), sharex=True, sharey="row",
                             layout="constrained", squeeze=False)
    below = profiles.teff <= profiles.seam_teff
    rows = ((profiles.temperature, "T"), (profiles.gas_pressure, r"$P_\mathrm{gas}$"))
    for (by_kind, symbol), row in zip(rows, axes):
        for j, ax in enumerate(row):
            cool, hot, blend = (by_kind[kind][:, j] for kind in ("cool", "hot", "blend"))
            mean = np.sqrt(cool * hot)
            ax.axvspan(*profiles.band, color="0.92", zorder=0)
            ax.plot(profiles.teff, 100 * (np.where(below, cool, hot) / mean - 1), color="0.6", lw=3,
                    label=f"switch at {profiles.seam_teff:.0f} K (before)")
            ax.plot(profiles.teff, 100 * (cool / mean - 1), color="tab:blue", lw=0.8, ls="--", label="cool network")
            ax.plot(profiles.teff, 100 * (hot / mean - 1), color="tab:red", lw=0.8, ls=":", label="hot network")
            ax.plot(profiles.teff, 100 * (blend / mean - 1), color="k", lw=1.2, label="blend (after)")
        row[0].set_ylabel(f"{symbol} / mean of the two − 1 (%)", fontsize=8)
    for ax, value in zip(axes[0], tau):
        ax.set_title(rf"$\tau_\mathrm{{Ross}}$ = {value:g}", fontsize=9)
    for ax in axes[1]:
        ax.set_xlabel(r"$T_\mathrm{eff}$ (K)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=8)
    fig.suptitle(rf"atmosnet's two networks at fixed optical depth, $\log g$ = {profiles.logg:.1f}, "
                 f"[M/H] = {profiles.m_h:+.1f}; blend band shaded", fontsize=9)
    return fig
