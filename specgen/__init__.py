"""specgen: generating stellar spectra with neural networks (after Gebran 2024).

The data flow, one module each: labels → synthesis (:mod:`specgen.synth`) → grid file
(:mod:`specgen.grid`) → networks → generator → validation.
"""

__version__ = "0.1.0"

from .grid import RVS_WAVELENGTH, Grid, GridError, read_grid, write_grid
from .labels import LABEL_NAMES, TABLE1_RANGES, LabelError
from .profiles import PROFILES, get_profile

__all__ = [
    "LABEL_NAMES",
    "PROFILES",
    "RVS_WAVELENGTH",
    "TABLE1_RANGES",
    "Grid",
    "GridError",
    "LabelError",
    "get_profile",
    "read_grid",
    "write_grid",
]
