"""Metrics on arrays small enough to compute by hand, and agreement with scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import explained_variance_score, r2_score

from specgen.model.metrics import (
    binned_residual,
    generation_metrics,
    mean_spectrum_baseline,
    reconstruction_metrics,
    residual_profile,
)

TRUE = np.array([[0.0, 0.0], [2.0, 4.0]])


def test_reconstruction_metrics_by_hand():
    # errors: pixel 0 is +1, -1 (variance 1, true variance 1); pixel 1 is +1, +1 (a pure offset, true variance 4)
    pred = np.array([[1.0, 1.0], [1.0, 5.0]])
    m = reconstruction_metrics(TRUE, pred)
    assert m["mse"] == 1.0 and m["mae"] == 1.0
    assert m["explained_variance"] == pytest.approx((0 + 1) / 2)  # an offset explains all the variance
    assert m["r2"] == pytest.approx((0 + (1 - 1 / 4)) / 2)  # but not the squares
    assert m["explained_variance"] == pytest.approx(explained_variance_score(TRUE, pred))
    assert m["r2"] == pytest.approx(r2_score(TRUE, pred))


def test_reconstruction_metrics_match_sklearn_on_random_spectra():
    rng = np.random.default_rng(0)
    true = rng.random((20, 30))
    pred = true + 0.1 * rng.standard_normal((20, 30)) + 0.05
    m = reconstruction_metrics(true, pred)
    assert m["explained_variance"] == pytest.approx(explained_variance_score(true, pred))
    assert m["r2"] == pytest.approx(r2_score(true, pred))
    assert m["mse"] == pytest.approx(np.mean((true - pred) ** 2))


def test_constant_pixels_are_left_out_of_r2():
    true = np.array([[0.0, 1.0], [2.0, 1.0]])  # pixel 1 is the same in every spectrum
    pred = np.array([[0.0, 0.9], [2.0, 1.1]])
    m = reconstruction_metrics(true, pred)
    assert m["r2"] == 1.0 and m["explained_variance"] == 1.0  # pixel 0 only
    assert r2_score(true, pred) == 0.5  # scikit-learn scores the constant pixel 0
    assert m["mae"] == pytest.approx(0.05)
    assert np.isnan(reconstruction_metrics(np.ones((3, 2)), np.ones((3, 2)))["r2"])


def test_generation_metrics_by_hand():
    true, pred = np.zeros((1, 100)), np.arange(100)[np.newaxis, :] / 100
    m = generation_metrics(true, pred)
    assert m["mae"] == pytest.approx(0.495) and m["median_abs"] == pytest.approx(0.495)
    assert m["p99_abs"] == pytest.approx(0.9801) and m["max_abs"] == pytest.approx(0.99)


def test_residual_profile_by_hand():
    pred = np.array([[1.0, -2.0], [3.0, 0.0], [-5.0, 4.0]])
    mean_abs, p99 = residual_profile(np.zeros((3, 2)), pred)
    np.testing.assert_allclose(mean_abs, [3.0, 2.0])
    np.testing.assert_allclose(p99, [3 + 0.98 * 2, 2 + 0.98 * 2])  # linear interpolation between order statistics


def test_binned_residual_by_hand():
    binned = binned_residual(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 5.0, 7.0]), np.array([0, 2.5, 5, 10]))
    np.testing.assert_array_equal(binned.count, [2, 2, 0])
    np.testing.assert_allclose(binned.mean, [2.0, 6.0, np.nan])
    np.testing.assert_allclose(binned.median, [2.0, 6.0, np.nan])
    last_edge_counts = binned_residual(np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    np.testing.assert_allclose(last_edge_counts.mean, [1.0, 2.5])  # like np.histogram, the last bin is closed
    with pytest.raises(ValueError, match="one value per spectrum"):
        binned_residual(np.ones(3), np.ones(4))


def test_mean_spectrum_baseline_by_hand():
    assert mean_spectrum_baseline(np.array([[0.0, 0.0], [2.0, 2.0]]), np.array([[1.0, 3.0]])) == 1.0


def test_shapes_must_agree():
    with pytest.raises(ValueError, match="same shape"):
        reconstruction_metrics(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="same shape"):
        generation_metrics(np.ones(3), np.ones(3))


def test_bootstrap_over_stars_draws_whole_stars():
    from specgen.model.metrics import bootstrap_over_stars

    stars = np.repeat([7, 3, 5], [1, 2, 3])  # unequal stars, ids in any order
    values = np.array([1.0, 2.0, 2.0, 4.0, 4.0, 4.0])  # constant within each star
    draws = bootstrap_over_stars(values, stars, n_boot=400, seed=0)
    # every draw is a row-weighted mean of whole stars: a star's rows never split
    possible = {round(float((np.array([1, 2, 4]) * n * np.array([1, 2, 3])).sum() / (n * np.array([1, 2, 3])).sum()), 12)
                for n in (np.array(c) for c in np.ndindex(4, 4, 4)) if sum(n) == 3}
    assert {round(float(d), 12) for d in draws} <= possible
    assert draws.shape == (400,) and np.array_equal(draws, bootstrap_over_stars(values, stars, n_boot=400, seed=0))
