"""The ci profile's radiative-transfer grids (``data/ci/``), made once before the tests that read them.

On a clean clone this runs the real synthesis (a few minutes on 2 cores); ``make book PROFILE=ci``
then reuses the same files, so nothing is computed twice.
"""

from pathlib import Path

from specgen.profiles import get_profile
from specgen.synth.database import synthesize_profile

ROOT = Path(__file__).resolve().parents[1]


def pytest_sessionstart(session):
    """Synthesise, resume or reuse (when complete and made by this code) the ci train and test grids."""
    synthesize_profile(get_profile("ci"), ROOT)
