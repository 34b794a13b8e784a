"""specgen: generating stellar spectra with neural networks (after Gebran 2024).

The data flow, one module each: labels → synthesis (:mod:`specgen.synth`) → grid file
(:mod:`specgen.grid`) → networks (:mod:`specgen.nets`, :mod:`specgen.training`) → generator
(:mod:`specgen.emulator`) → validation (:mod:`specgen.validation`, :mod:`specgen.inference`).

``Emulator`` and ``fit_labels`` load TensorFlow, so they are imported on first use.
"""

__version__ = "0.1.0"

from .grid import RVS_WAVELENGTH, Grid, GridError, read_grid, write_grid
from .labels import LABEL_NAMES, TABLE1_RANGES, LabelError
from .profiles import PROFILES, get_profile

_LAZY = {"Emulator": "emulator", "fit_labels": "inference"}

__all__ = [
    "LABEL_NAMES",
    "PROFILES",
    "RVS_WAVELENGTH",
    "TABLE1_RANGES",
    "Emulator",
    "Grid",
    "GridError",
    "LabelError",
    "fit_labels",
    "get_profile",
    "read_grid",
    "write_grid",
]


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'specgen' has no attribute {name!r}")
