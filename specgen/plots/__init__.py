"""Every figure of the book: each function returns a matplotlib Figure (object API, labelled axes).

One module per chapter, everything re-exported here (``from specgen import plots; plots.flux_map(...)``):

- :mod:`specgen.plots.style`: what several chapters share (``RVS_LINES``, :func:`label_text`, :func:`label_panels`).
- :mod:`specgen.plots.data`: chapter 01, the training grid.
- :mod:`specgen.plots.autoencoder`: chapter 02, the autoencoder (its :func:`loss_curves` also in 03 and 05).
- :mod:`specgen.plots.mapper`: chapter 03, the mapper from labels to the latent space.
- :mod:`specgen.plots.generation`: chapter 04, generating spectra.
- :mod:`specgen.plots.validation`: chapter 05, validating the generated spectra.
- :mod:`specgen.plots.scaling`: chapter 06, scaling with the training set.
- :mod:`specgen.plots.emulators`: chapter 07, the emulator shoot-out.
- :mod:`specgen.plots.real_stars`: chapter 08, fitting observed stars.
"""

from __future__ import annotations

from specgen.plots.autoencoder import loss_curves, reconstruction
from specgen.plots.data import (
    broadening_check,
    flux_map,
    label_coverage,
    network_seam,
    representative_rows,
    spectra_across_hr,
    spectrum,
    stored_variants,
    synthesis_cost,
    temperature_structures,
)
from specgen.plots.emulators import SHOOTOUT_BASELINE, shootout_cost, shootout_residuals
from specgen.plots.generation import (
    flowchart,
    generated_examples,
    residuals_by_label,
    residuals_by_wavelength,
)
from specgen.plots.mapper import latent_agreement
from specgen.plots.real_stars import chi2_landscapes, observed_fit
from specgen.plots.scaling import accuracy_against_stars, learning_curves
from specgen.plots.style import RVS_LINES, label_text
from specgen.plots.validation import (
    RECOVERY_STYLES,
    SET_COLOURS,
    accuracy_by_label,
    error_densities,
    pca_explained_variance,
    recovery_against_snr,
    rmse_ratios,
)

__all__ = [
    "RECOVERY_STYLES",
    "RVS_LINES",
    "SET_COLOURS",
    "SHOOTOUT_BASELINE",
    "accuracy_against_stars",
    "accuracy_by_label",
    "broadening_check",
    "chi2_landscapes",
    "error_densities",
    "flowchart",
    "flux_map",
    "generated_examples",
    "label_coverage",
    "label_text",
    "latent_agreement",
    "learning_curves",
    "loss_curves",
    "network_seam",
    "observed_fit",
    "pca_explained_variance",
    "reconstruction",
    "recovery_against_snr",
    "representative_rows",
    "residuals_by_label",
    "residuals_by_wavelength",
    "rmse_ratios",
    "shootout_cost",
    "shootout_residuals",
    "spectra_across_hr",
    "spectrum",
    "stored_variants",
    "synthesis_cost",
    "temperature_structures",
]
