"""The estimator of Tab. 4 and the validation of Tab. 5, on the real ci grids."""

import contextlib
import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from specgen.cli import main
from specgen.constants import PAPER_TAB5
from specgen.fit.recovery import recovery_against_snr
from specgen.grid import Grid, read_grid, write_grid
from specgen.model.config import TrainingConfig
from specgen.model.train import train_emulator
from specgen.validate.estimator import EstimatorConfig, LabelEstimator
from specgen.validate.tab5 import SETS, accuracy, bootstrap_rmse, validate

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

CI = Path(__file__).resolve().parents[1] / "data" / "ci"
if not (CI / "train.h5").exists() or not (CI / "test.h5").exists():
    pytest.skip(f"no ci grids in {CI} (make them with `specgen synth --profile ci`)", allow_module_level=True)

#: Networks of Tab. 4's shape but narrow: seconds on 2 cores.
SMALL = EstimatorConfig.small_grid(hidden=(64, 32), batch_size=16, max_epochs=150, seed=1)


@pytest.fixture(scope="module")
def train():
    return read_grid(CI / "train.h5")


@pytest.fixture(scope="module")
def test_grid():
    return read_grid(CI / "test.h5")


@pytest.fixture(scope="module")
def emulator(train):
    # latent 8 ≥ 6 labels: a narrower latent space leaves the fit through the generator degenerate
    config = TrainingConfig.small_grid(
        latent=8, encoder_hidden=(32, 16), mapper_hidden=(32, 16), batch_size=16, max_epochs=20, seed=0
    )
    return train_emulator(train, config, fine_tune=False, progress=False)


@pytest.fixture(scope="module")
def estimator(train):
    return LabelEstimator.fit(train, SMALL)


def test_bootstrap_resamples_stars_not_rows():
    """Ten stars, each seen as ten identical variants: the interval is that of ten independent
    stars (the same as with one row per star), not of a hundred rows."""
    rng = np.random.default_rng(0)
    per_star = {"test": rng.normal(size=(10, 2)), "generated": rng.normal(size=(10, 2))}
    once = bootstrap_rmse(per_star, np.arange(10), n_boot=500, seed=3)
    tenfold = bootstrap_rmse({k: np.repeat(v, 10, axis=0) for k, v in per_star.items()}, np.repeat(np.arange(10), 10),
                             n_boot=500, seed=3)
    for name in per_star:
        np.testing.assert_allclose(tenfold[name], once[name], rtol=1e-12)
    rows = bootstrap_rmse({k: np.repeat(v, 10, axis=0) for k, v in per_star.items()}, np.arange(100), n_boot=500, seed=3)
    assert np.std(rows["test"], axis=0).max() < 0.6 * np.std(once["test"], axis=0).min()  # rows: far too narrow


def test_accuracy_statistics():
    stats = accuracy([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 1.0, 4.0])  # errors +1, 0, −2, 0
    assert stats == pytest.approx({"rmse": np.sqrt(5 / 4), "bias": -0.25, "mae": 0.75})


def test_one_network_per_label_split_by_star(estimator, train):
    assert list(estimator.networks) == [(name,) for name in train.label_names]
    assert estimator.mode == "per label" and set(estimator.history) == set(train.label_names)
    fit_rows, val_rows = estimator.split
    assert len(fit_rows) + len(val_rows) == len(train) and len(val_rows) > 0
    assert not set(train.star_id[fit_rows]) & set(train.star_id[val_rows])  # a star is on one side only


def test_the_validation_rows_are_held_out_from_the_pca_and_the_scalings(estimator, train):
    """The "val" column of Tab. 5 is only held out if nothing was fitted on those rows."""
    fit_rows, val_rows = estimator.split
    np.testing.assert_allclose(estimator.pca.mean_, train.flux[fit_rows].mean(axis=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(estimator.pca.mean_, train.flux.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(estimator.label_scaler.offset, train.labels[fit_rows].mean(axis=0))
    coefficients = estimator.pca.transform(train.flux[fit_rows])
    np.testing.assert_allclose(estimator.coefficient_scaler.offset, coefficients.mean(axis=0), rtol=1e-4, atol=1e-6)


def test_the_estimator_learns_its_training_spectra(train):
    """Without a validation split to stop on (12 stars cannot generalise), one network for all
    labels fits its training spectra: every label better than by guessing the mean, and the
    three that shape the lines most (Teff, log g, [M/H]) to a fifth of their spread."""
    joint = LabelEstimator.fit(train, EstimatorConfig.small_grid(hidden=(64, 32), batch_size=16, max_epochs=300,
                                                                 validation_split=0.0, per_label=False, seed=1))
    assert joint.mode == "joint" and list(joint.networks) == [tuple(train.label_names)]
    rmse = np.sqrt(np.mean((joint.predict(train.flux) - train.labels) ** 2, axis=0))
    relative = dict(zip(train.label_names, rmse / train.labels.std(axis=0)))
    assert max(relative.values()) < 0.7 and max(relative[n] for n in ("teff", "logg", "m_h")) < 0.2, relative


def test_pca_reconstruction(estimator, train):
    fewer = LabelEstimator.fit(train, EstimatorConfig(n_components=3, hidden=(8,), max_epochs=1))
    assert 0 < estimator.reconstruction_error(train.flux) < fewer.reconstruction_error(train.flux) < 0.05
    assert 0.99 < estimator.pca.explained_variance_ratio_.sum() <= 1


def test_predict_refuses_bad_spectra(estimator, train):
    with pytest.raises(ValueError, match="3999 pixels; the estimator was fitted on 4000"):
        estimator.predict(train.flux[:2, :-1])
    flux = train.flux[:2].copy()
    flux[1, 10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        estimator.predict(flux)


def test_tab5_sets_sizes_and_ratio(emulator, estimator, train, test_grid):
    result = validate(emulator, train, test_grid, estimator=estimator)
    assert result.estimator is estimator
    np.testing.assert_array_equal(result.true["generated"], test_grid.labels)
    np.testing.assert_allclose(result.predicted["test"], estimator.predict(test_grid.flux))
    report = result.to_json()
    assert report["sizes"] == {"train": len(estimator.split[0]), "val": len(estimator.split[1]), "test": 16,
                               "generated": 16}
    for name in train.label_names:
        row = report[name]
        assert set(SETS) | {"ratio"} <= row.keys()
        assert row["ratio"] == pytest.approx(row["generated"] / row["test"])
        assert row["mae_test"] <= row["test"]  # MAE ≤ RMSE
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    assert result.table().loc["teff", "test"] == pytest.approx(report["teff"]["test"])
    assert set(PAPER_TAB5) < set(train.label_names)
    intervals = result.intervals()
    assert (intervals["n_stars"] == 4).all()  # 16 test spectra of 4 stars
    np.testing.assert_allclose(intervals["ratio"], result.table()["ratio"])
    for key in ("test", "generated", "ratio"):
        assert (intervals[f"{key}_low"] < intervals[f"{key}_high"]).all()


def test_grids_with_other_labels_are_refused(emulator, train, test_grid):
    renamed = Grid(test_grid.wavelength, test_grid.flux, test_grid.labels, [*test_grid.label_names[:-1], "r"])
    with pytest.raises(ValueError, match="not the training grid's"):
        validate(emulator, train, renamed, SMALL)


def test_cli_validate_writes_tab5(emulator, tmp_path):
    model = emulator.save(tmp_path / "model")
    argv = ["validate", "--model", str(model), "--train", str(CI / "train.h5"), "--test", str(CI / "test.h5")]
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main([*argv, "--profile", "ci", "--joint", "--max-epochs", "2", "--json", str(tmp_path / "t.json")]) == 0
    report = json.loads((tmp_path / "t.json").read_text())
    assert report["estimator"] == "joint" and report["sizes"]["test"] == 16
    assert "ratio" in printed.getvalue() and "PCA reconstruction error" in printed.getvalue()


def test_recovery_against_snr(emulator, estimator, train, test_grid):
    few = test_grid.subset(slice(0, 4))
    at_50 = LabelEstimator.fit(train, replace(SMALL, training_snr=50.0))
    assert not np.allclose(at_50.pca.mean_, estimator.pca.mean_)  # trained on noisy spectra
    table = recovery_against_snr(emulator, estimator, few, (50, 300), noise_trained={50: at_50}, n_starts=2)
    assert list(table.columns) == list(few.label_names)
    methods = ["PCA + networks", "fit through the generator", "fit: median quoted 1σ"]
    assert table.index.tolist() == [(50, methods[0]), (50, "PCA + networks trained at this S/N"), *(
        (50, m) for m in methods[1:])] + [(300, method) for method in methods]
    assert np.isfinite(table.to_numpy()).all()
    quoted = table.xs("fit: median quoted 1σ", level="method")
    # less noise, tighter fits: σ scales as 1/(S/N) where both fits land alike (this tiny model has several minima)
    assert np.median(quoted.loc[300] / quoted.loc[50]) < 0.5


def test_cli_fit_recovers_generated_spectra(emulator, train, tmp_path, central_rows):
    """Spectra made by the emulator itself, fitted back with the resolution held fixed."""
    truth = train.labels[central_rows[:2]]  # inside the training ranges, not on their edges
    truth[:, train.label_names.index("resolution")] = resolution = 11500.0
    spectra = Grid(train.wavelength, emulator.generate(truth), truth, train.label_names)
    write_grid(tmp_path / "obs.h5", spectra)
    model = emulator.save(tmp_path / "model")
    argv = ["fit", "--model", str(model), "--spectra", str(tmp_path / "obs.h5"), "--snr", "300", "--starts", "4"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*argv, "--fix", f"resolution={resolution}", "--json", str(tmp_path / "fits.json")]) == 0
    report = json.loads((tmp_path / "fits.json").read_text())
    assert report["fixed"] == {"resolution": resolution} and report["label_units"]["teff"] == "K"
    first = report["fits"][0]
    assert first["resolution"] == resolution and first["resolution_err"] == 0
    # noise-free spectra of the model itself: the fit must find a χ² far below the noise level
    assert all(fit["chi2_dof"] < 0.1 for fit in report["fits"]), report["fits"]
    assert first["teff_err"] > 0 and not first["degenerate"]
    with pytest.raises(SystemExit):
        main([*argv, "--fix", "resolution=abc"])
