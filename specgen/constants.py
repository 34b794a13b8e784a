"""Facts every stage shares, each in one place with its source: the version, physical constants,
the Gaia RVS wavelength grid, and the paper this project reproduces."""

from __future__ import annotations

import numpy as np

#: specgen's version, carried by the provenance of every file it writes (pyproject.toml says the same).
VERSION = "0.2.0"

#: Speed of light in vacuum, km/s (exact, SI definition).
C_KMS = 299_792.458

#: Gaia RVS grid of the paper (Sec. 2.1): 8400.0 + 0.1 i Å (air), i = 0 … 3999.
RVS_WAVELENGTH = 8400.0 + 0.1 * np.arange(4000)

#: The strong lines of the RVS window, Å in air: the Ca II infrared triplet and four Paschen lines.
CA_II_TRIPLET = (8498.02, 8542.09, 8662.14)
PASCHEN_LINES = (8502.49, 8545.38, 8665.02, 8750.47)  # Pa 16, 15, 13, 12

#: The paper reproduced here.
PAPER = "Gebran M., 2024, Generating stellar spectra using Neural Networks"

# ---- numbers quoted from the paper and from peers, each with where it is stated ----------------

#: Gebran (2024), Sec. 2.1: the size of the paper's database of SYNSPEC spectra.
PAPER_DATABASE_SPECTRA = 205_000

#: Gebran (2024), Sec. 2.2: 80 % of the database trains the networks (an 80/20 split).
PAPER_TRAINING_SPECTRA = 164_000

#: Gebran (2024), Sec. 2.2: the autoencoder's reconstruction of spectra it was not trained on.
PAPER_AUTOENCODER = {"mse": 4e-6, "mae": 1.3e-3, "explained_variance": 0.998, "r2": 0.999}

#: Gebran (2024), Tab. 5: "MSE" (an RMSE, in the label's unit) of the PCA + NN estimator on
#: training, validation, test and generated spectra (the order of :data:`TAB5_SETS`).
PAPER_TAB5: dict[str, tuple[float, float, float, float]] = {
    "teff": (70.0, 110.0, 120.0, 119.0),
    "logg": (0.02, 0.03, 0.03, 0.05),
    "vsini": (5.0, 6.0, 6.5, 7.0),
    "m_h": (0.04, 0.08, 0.15, 0.15),
    "xi_t": (0.15, 0.17, 0.17, 0.20),
}
TAB5_SETS = ("train", "val", "test", "generated")

#: Gebran (2024), Tab. 2-4: the hidden layers of the encoder (the decoder mirrors it), of the
#: mapper from labels to latents, and of the PCA + NN label estimator.
ENCODER_HIDDEN = (1024, 512, 256, 64, 32)
MAPPER_HIDDEN = (5000, 2000, 512, 32)
ESTIMATOR_HIDDEN = (5000, 2000, 1000, 512, 64)

#: Flux errors (continuum units) that peers report for their generators, under the names of
#: :func:`specgen.model.metrics.generation_metrics`: each reports one statistic.
PEER_GENERATORS = {
    "Gebran & Bentley 2025, conditional VAE": {"median_abs": 1.8e-3},
    "TransformerPayne (Różański et al. 2024)": {"mae": 1.5e-3},
}

#: Mean |ΔF| between SME (PySME 1.2.0) and SYNSPEC 54 on one solar atmosphere with the same VALD
#: lines and abundances, ξt = 1 km/s, R = 11,500: the physics' own systematics (DESIGN.md).
RT_CODE_DISAGREEMENT = 4.2e-3
