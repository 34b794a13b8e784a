"""The emulator shoot-out on the ci grids: every contestant must beat the mean spectrum on held-out spectra."""

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from specgen.cli import main
from specgen.grid import read_grid
from specgen.model.config import TrainingConfig
from specgen.model.metrics import mean_spectrum_baseline
from specgen.model.schedule import split_rows
from specgen.runtime.profiles import get_profile
from specgen.studies.shootout import (
    COLUMNS,
    ConditionalVAE,
    Factorised,
    FineTuned,
    MeanSpectrum,
    Payne,
    PCAMapper,
    ShootoutResult,
    TwoStage,
    _kl_per_dimension,
    _Sample,
    default_contestants,
    run_shootout,
)

DATA = get_profile("ci").data_dir(Path(__file__).resolve().parents[1])
#: Small networks, as in conftest's ci_emulator, and every row in training (no early stopping).
CONFIG = TrainingConfig.small_grid(
    encoder_hidden=(128, 32), mapper_hidden=(128, 64), batch_size=16, validation_split=0.0, max_epochs=100, seed=0
)
SMALL = {"Payne": {"hidden": (64, 64)}, "ConditionalVAE": {"hidden": (128, 32)}, "Factorised": {"max_epochs": 300}}
CONTESTANTS = [c.name for c in (TwoStage, FineTuned, PCAMapper, Payne, ConditionalVAE, Factorised)]


@pytest.fixture(scope="module")
def grids():
    return read_grid(DATA / "train.h5"), read_grid(DATA / "test.h5")


@pytest.fixture(scope="module")
def result(grids) -> ShootoutResult:
    """All six contestants trained once on the 48 ci spectra (~1 min on 2 cores)."""
    return run_shootout(*grids, CONFIG, contestants=default_contestants(**SMALL), speed_batch=256, speed_repeats=1)


def test_table_is_complete_and_finite(result, grids):
    table = result.table
    assert list(table.columns) == list(COLUMNS)
    assert list(table.index) == [*CONTESTANTS, MeanSpectrum.name]
    assert np.isfinite(table.to_numpy(dtype=float)).all()
    assert (table[["training_seconds", "spectra_per_second", "n_parameters"]] > 0).all().all()
    assert (table["median_abs"] <= table["p99_abs"]).all() and (table["p99_abs"] <= table["max_abs"]).all()
    assert (table["mae"] <= table["max_abs"]).all()
    assert (table["mae_low"] < table["mae_high"]).all() and (table["n_test_stars"] == 4).all()  # 16 spectra, 4 stars
    assert list(result.residuals) == list(table.index)
    assert all(r.shape == grids[1].flux.shape for r in result.residuals.values())


def test_the_winner_is_chosen_on_stars_held_out_of_training_not_on_the_test_grid(result, grids):
    two_stage = result.contestants[0].emulator
    assert two_stage.provenance["training_grid"]["n_stars"] == 11  # 12 ci stars, one held out for the choice
    rivals = result.table.drop(index=MeanSpectrum.name)
    assert result.winner == rivals["val_mae"].idxmin()
    assert not np.allclose(rivals["val_mae"], rivals["mae"])  # measured on other spectra than the test grid's


@pytest.mark.parametrize("name", CONTESTANTS)
def test_contestant_beats_the_mean_spectrum(result, name):
    assert result.table.loc[name, "mae"] < result.table.loc[MeanSpectrum.name, "mae"]


def test_baseline_row_is_the_mean_spectrum_baseline(result, grids):
    train, test = grids
    fit_rows, _ = split_rows(len(train), 0.1, CONFIG.seed, train.star_ids())  # the validation stars held out
    expected = mean_spectrum_baseline(train.flux[fit_rows], test.flux)
    assert result.table.loc[MeanSpectrum.name, "mae"] == pytest.approx(expected, rel=1e-5)


def test_fine_tuning_reuses_and_keeps_the_two_stage_generator(result, grids):
    two_stage, fine_tuned = result.contestants[:2]
    assert fine_tuned.base is two_stage
    assert fine_tuned.epochs > two_stage.epochs
    assert fine_tuned.training_seconds > two_stage.training_seconds
    # the fine-tuned decoder is a copy: the two-stage generator still generates as before
    assert not np.allclose(result.residuals[FineTuned.name], result.residuals[TwoStage.name])
    test = grids[1]
    generated = two_stage.emulator.generate_like(test)
    np.testing.assert_allclose(generated - test.flux, result.residuals[TwoStage.name], atol=1e-5)


def test_pca_has_as_many_components_as_the_latent_space(result):
    pca = result.contestants[2].pca
    assert pca.n_components_ == CONFIG.latent


def _numpy_kl(mean, log_var):
    """KL(N(mean, exp(log_var)) ‖ N(0, 1)) per row and dimension (nats), in closed form."""
    variance = np.exp(log_var, dtype=np.float64)
    return 0.5 * (mean.astype(np.float64) ** 2 + variance - 1 - log_var)


#: A known encoding: rows (μ, ln σ²) per dimension, and its KL per dimension by hand (nats).
MEAN = np.array([[1.0, 0.0, 0.0], [-2.0, 0.0, 0.5]], dtype=np.float32)
LOG_VAR = np.array([[0.0, np.log(4.0), 0.0], [0.0, 0.0, -1.0]], dtype=np.float32)
KL_BY_HAND = [[0.5, 0.5 * (3 - np.log(4.0)), 0.0], [2.0, 0.0, 0.5 * (0.25 + np.exp(-1.0))]]


def test_kl_per_dimension_of_a_known_encoding():
    np.testing.assert_allclose(_numpy_kl(MEAN, LOG_VAR), KL_BY_HAND, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(_kl_per_dimension(MEAN, LOG_VAR)), KL_BY_HAND, rtol=1e-6)


@pytest.mark.parametrize("beta", [1.0, 0.25])
def test_cvae_kl_term_is_two_beta_kl_per_pixel_the_elbo_beside_the_mse(beta):
    """MSE (mean over n_pix pixels) + 2β·KL/n_pix is 2/n_pix × the negative β-ELBO at σ = 1, less ln 2π."""
    n_pix = 4000
    layer = _Sample(beta, n_pix, seed=0)
    assert np.array_equal(np.asarray(layer(MEAN, LOG_VAR)), MEAN)  # outside training: z is the mean
    (added,) = layer.losses
    expected = 2 * beta / n_pix * np.mean(np.sum(KL_BY_HAND, axis=1))
    assert float(added) == pytest.approx(expected, rel=1e-6)
    # the same against a Gaussian negative log-likelihood summed over pixels, for any residual r
    r = np.random.default_rng(0).normal(0, 0.1, (len(MEAN), n_pix))
    negative_elbo = np.mean(np.sum(r**2 / 2 + 0.5 * np.log(2 * np.pi), axis=1) + beta * np.sum(KL_BY_HAND, axis=1))
    assert np.mean(r**2) + float(added) == pytest.approx(2 / n_pix * negative_elbo - np.log(2 * np.pi), rel=1e-6)


def test_cvae_reports_the_kl_of_each_latent_dimension_on_its_training_rows(result, grids):
    cvae = result.contestants[CONTESTANTS.index(ConditionalVAE.name)]
    train = grids[0]
    fit_rows, _ = split_rows(len(train), 0.1, CONFIG.seed, train.star_ids())  # the validation stars held out
    flux, labels = cvae.flux_scaler.transform(train.flux[fit_rows]), cvae.label_scaler.transform(train.labels[fit_rows])
    mean, log_var = cvae.encoder.predict(np.concatenate([flux, labels], axis=1), verbose=0)
    assert cvae.kl_per_dimension.shape == (CONFIG.latent,)
    np.testing.assert_allclose(cvae.kl_per_dimension, _numpy_kl(mean, log_var).mean(axis=0), rtol=1e-4, atol=1e-7)
    assert (cvae.kl_per_dimension >= 0).all()


def test_seeded_training_is_reproducible(grids):
    train, test = grids
    config = TrainingConfig.small_grid(batch_size=16, validation_split=0.0, max_epochs=5, seed=3)
    first, second = (Payne((32,)).fit(train, config).generate(test.labels) for _ in range(2))
    np.testing.assert_allclose(first, second, atol=1e-6)


def test_contestant_epoch_cap_overrides_the_config(grids):
    payne = Payne((16,), max_epochs=2).fit(grids[0], TrainingConfig.small_grid(validation_split=0.0, max_epochs=50))
    assert payne.epochs == 2


def test_cli_shootout_writes_the_table_and_the_figure(tmp_path):
    out = tmp_path / "shootout.json"
    argv = ["shootout", "--train", str(DATA / "train.h5"), "--test", str(DATA / "test.h5"), "--profile", "ci",
            "--max-epochs", "2", "--small-max-epochs", "2", "--json", str(out), "--plot", str(tmp_path / "r.png")]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0
    record = json.loads(out.read_text())
    assert len(record["contestants"]) == 7 and record["max_epochs"] == 2
    assert all(np.isfinite(row["mae"]) for row in record["contestants"].values())
    (kl,) = record["kl_per_dimension_nats"].values()  # the conditional VAE alone has a latent prior
    assert len(kl) == TrainingConfig.for_profile(get_profile("ci")).latent and min(kl) >= 0
    assert (tmp_path / "r.png").stat().st_size > 10_000
