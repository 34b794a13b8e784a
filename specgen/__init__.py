"""specgen: generating stellar spectra with neural networks (after Gebran 2024).

The data flow, one package per stage, each importing only earlier ones (tests/test_layout.py):
labels → synthesis (:mod:`specgen.synth`) → grid file (:mod:`specgen.grid`) → generator
(:mod:`specgen.model`) → validation (:mod:`specgen.validate`) → fitting (:mod:`specgen.fit`) →
studies (:mod:`specgen.studies`); :mod:`specgen.runtime` and :mod:`specgen.constants` serve all.

``Emulator``, ``train_emulator`` and ``fit_labels`` load Keras, so they are imported on first use.
"""

import os

# TensorFlow's C++ start-up notices (oneDNN, CUDA probing) are not for our users; set before any
# stage imports Keras, whichever it is.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from specgen.constants import RVS_WAVELENGTH, VERSION  # noqa: E402
from specgen.grid import Grid, GridError, read_grid, write_grid  # noqa: E402
from specgen.labels import LABEL_NAMES, TABLE1_RANGES, LabelError  # noqa: E402
from specgen.runtime.profiles import PROFILES, get_profile  # noqa: E402

__version__ = VERSION

_LAZY = {"Emulator": "model.emulator", "train_emulator": "model.train", "fit_labels": "fit.chi2"}

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
    "train_emulator",
    "read_grid",
    "write_grid",
]


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'specgen' has no attribute {name!r}")
