"""Learning curves from a sweep report, and the power law that extrapolates them."""

import numpy as np
import pandas as pd
import pytest

from specgen.studies.learning_curve import fit_power_law, learning_curve


def test_a_power_law_is_recovered_and_inverted():
    n = np.array([300, 600, 1200, 2400])
    law = fit_power_law(n, 0.5 * n**-0.6)
    assert law.alpha == pytest.approx(0.6) and law.scale == pytest.approx(0.5) and law.falls and law.n_points == 4
    assert law.spectra_for(0.5 * 10_000**-0.6) == pytest.approx(10_000)
    with pytest.raises(ValueError, match="two different"):
        fit_power_law([300, 300], [0.1, 0.2])


@pytest.mark.parametrize("ulps", [0, 1, -1, 4])
def test_a_flat_curve_never_gets_there_whatever_its_rounding(ulps):
    """polyfit gives a flat curve a slope of ±1e-16 depending on the BLAS kernel: never a finite N."""
    n = np.array([300, 600, 1200, 2400])
    mae = 0.01 * (1 + ulps * np.finfo(float).eps * np.arange(4))
    law = fit_power_law(n, mae)
    assert not law.falls and law.spectra_for(0.001) == float("inf")


def test_a_fall_within_the_scatter_is_no_fall():
    n = np.array([300, 600, 1200, 2400])
    law = fit_power_law(n, 0.01 * np.array([1.0, 1.3, 0.8, 0.97]))  # α ≈ 0.08, standard error ≈ 0.15
    assert 0 < law.alpha < law.alpha_error and law.spectra_for(0.001) == float("inf")


def test_a_slow_fall_does_not_overflow():
    n = np.array([300.0, 600.0])
    law = fit_power_law(n, 0.01 * n**-1e-3)  # significant (two exact points) but far too slow
    assert law.falls and law.spectra_for(1e-6) == float("inf")
    with pytest.raises(ValueError, match="positive"):
        law.spectra_for(0.0)


def test_the_learning_curve_keeps_finished_points_and_adds_the_books_generator():
    report = pd.DataFrame(
        [
            {"point": "n_stars=6", "state": "done", "n_stars": 6, "ci.n_train_spectra": 24, "ci.gen_mae": 0.05},
            {"point": "latent=5", "state": "done", "latent": 5, "ci.n_train_spectra": 48, "ci.gen_mae": 0.04},
            {"point": "n_stars=3", "state": "failed", "n_stars": 3},
        ]
    )
    curve = learning_curve(report, "ci", {"point": "chapter 2", "latent": 10, "n_train_spectra": 48, "gen_mae": 0.03})
    assert list(curve["point"]) == ["latent=5", "n_stars=6", "chapter 2"]  # by latent, then size; the failed one out
    assert list(curve["latent"]) == [5, 10, 10] and list(curve["gen_mae"]) == [0.04, 0.05, 0.03]
