"""Facts every stage shares, each in one place with its source: the version, physical constants,
the Gaia RVS wavelength grid, and the paper this project reproduces."""

from __future__ import annotations

import numpy as np

#: specgen's version, carried by the provenance of every file it writes (pyproject.toml says the same).
VERSION = "0.1.0"

#: Speed of light in vacuum, km/s (exact, SI definition).
C_KMS = 299_792.458

#: Gaia RVS grid of the paper (Sec. 2.1): 8400.0 + 0.1 i Å (air), i = 0 … 3999.
RVS_WAVELENGTH = 8400.0 + 0.1 * np.arange(4000)

#: The paper reproduced here.
PAPER = "Gebran M., 2024, Generating stellar spectra using Neural Networks"
