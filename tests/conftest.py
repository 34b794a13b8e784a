"""The ci profile's radiative-transfer grids (``data/ci/``), made once before the tests that read them,
and an emulator trained on them for the tests that fit spectra.

On a clean clone this runs the real synthesis (a few minutes on 2 cores); ``make book PROFILE=ci``
then reuses the same files, so nothing is computed twice.
"""

from pathlib import Path

import numpy as np
import pytest

from specgen.runtime.profiles import get_profile
from specgen.synth.database import synthesize_profile

ROOT = Path(__file__).resolve().parents[1]


def pytest_sessionstart(session):
    """Synthesise, resume or reuse (when complete and made by this code) the ci train and test grids."""
    synthesize_profile(get_profile("ci"), ROOT)


@pytest.fixture(scope="session")
def ci_emulator():
    """The recipe of test_emulator's held-out test, 100 epochs on the 48 ci spectra: ~20 s."""
    from specgen.grid import read_grid
    from specgen.model.config import TrainingConfig
    from specgen.model.train import train_emulator

    config = TrainingConfig.small_grid(
        encoder_hidden=(128, 32), mapper_hidden=(128, 64), batch_size=16, validation_split=0.0, max_epochs=100, seed=0
    )
    return train_emulator(read_grid(get_profile("ci").data_dir(ROOT) / "train.h5"), config, fine_tune=False, progress=False)


@pytest.fixture(scope="session")
def central_rows():
    """Three rows of the ci training grid, of three different stars, whose six labels all lie in the
    middle 80 % of their ranges in that grid: spectra that a fit can reach from both sides (the rows
    are in plan order, so they are the same every run)."""
    from specgen.grid import read_grid

    grid = read_grid(get_profile("ci").data_dir(ROOT) / "train.h5")
    low, high = grid.labels.min(axis=0), grid.labels.max(axis=0)
    fraction = (grid.labels - low) / (high - low)
    central = np.flatnonzero(np.all((fraction > 0.1) & (fraction < 0.9), axis=1))
    _, first_of_star = np.unique(grid.star_id[central], return_index=True)
    rows = central[np.sort(first_of_star)]
    assert len(rows) >= 3, f"only {len(rows)} stars with central labels in the ci grid"
    return rows[:3].tolist()
