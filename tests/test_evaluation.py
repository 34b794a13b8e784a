"""evaluate(): every number of ``specgen evaluate``, measured on the real ci test grid."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from specgen.grid import Grid, GridError, read_grid
from specgen.labels import LabelError
from specgen.model.config import TrainingConfig
from specgen.model.evaluate import AUTOENCODER_KEYS, GENERATOR_KEYS, evaluate
from specgen.model.metrics import mean_spectrum_baseline
from specgen.model.train import train_emulator

# Keras 3.15's ReduceLROnPlateau reads the learning rate with np.array(variable), which numpy 2 warns about.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

CI = Path(__file__).resolve().parents[1] / "data" / "ci"
if not (CI / "train.h5").exists() or not (CI / "test.h5").exists():
    pytest.skip(f"no ci grids in {CI} (make them with `specgen synth --profile ci`)", allow_module_level=True)

#: Tiny networks, ten epochs: seconds on 2 cores; good enough to be measured, not to be used.
TINY = TrainingConfig.small_grid(
    latent=4, encoder_hidden=(32, 16), mapper_hidden=(32, 16), batch_size=16, learning_rate=3e-3, max_epochs=10, seed=0
)
COUNTS = ("n_test", "n_outside_training_ranges", "n_train_spectra", "n_train_stars")


@pytest.fixture(scope="module")
def train():
    return read_grid(CI / "train.h5").subset(slice(0, 32))  # the first 8 stars of 4 variants


@pytest.fixture(scope="module")
def test_grid():
    return read_grid(CI / "test.h5")


@pytest.fixture(scope="module")
def emulator(train):
    return train_emulator(train, TINY, fine_tune=False, progress=False)


def test_every_number_is_there_finite_and_consistent(emulator, train, test_grid):
    metrics = evaluate(emulator, test_grid)
    for key in AUTOENCODER_KEYS + GENERATOR_KEYS + COUNTS + ("mean_spectrum_mae",):
        assert isinstance(metrics[key], (int, float)) and math.isfinite(metrics[key]), key
    assert json.loads(json.dumps(metrics, allow_nan=False)) == metrics
    assert "model" not in metrics and "test_grid" not in metrics  # given as objects, not paths
    assert (metrics["n_test"], metrics["n_train_spectra"], metrics["n_train_stars"]) == (16, 32, 8)
    stored = emulator.provenance["metrics"]["train"]  # measured during training, kept in the artifact
    assert (stored["n_test"], stored["n_train_spectra"], stored["n_train_stars"]) == (32, 32, 8)
    assert 0 < metrics["gen_median_abs"] <= metrics["gen_p99_abs"] <= metrics["gen_max_abs"]
    assert metrics["ae_mse"] <= metrics["ae_mae"] and metrics["ae_r2"] <= 1
    inside = (test_grid.labels >= train.labels.min(axis=0)) & (test_grid.labels <= train.labels.max(axis=0))
    assert metrics["n_outside_training_ranges"] == (~inside.all(axis=1)).sum() > 0
    assert metrics["mean_spectrum_mae"] == pytest.approx(mean_spectrum_baseline(train.flux, test_grid.flux), rel=1e-6)


def test_labels_are_matched_by_name(emulator, test_grid):
    order = [5, 3, 1, 0, 2, 4]
    shuffled = Grid(
        test_grid.wavelength, test_grid.flux, test_grid.labels[:, order], [test_grid.label_names[j] for j in order]
    )
    assert evaluate(emulator, shuffled)["gen_mae"] == pytest.approx(evaluate(emulator, test_grid)["gen_mae"])


def test_a_grid_that_does_not_fit_is_refused_by_name(emulator, test_grid):
    names = ["teff", "logg", "vsini", "m_h", "turbulence", "resolution"]
    with pytest.raises(LabelError, match=r"missing \['xi_t'\]; unknown to the emulator \['turbulence'\]"):
        evaluate(emulator, Grid(test_grid.wavelength, test_grid.flux, test_grid.labels, names))
    with pytest.raises(GridError, match="3999 pixels over 8400.00–8799.80 Å, the emulator 4000"):
        evaluate(emulator, Grid(test_grid.wavelength[:-1], test_grid.flux[:, :-1], test_grid.labels))


def test_a_saved_model_and_grid_file_are_recorded_by_path(emulator, tmp_path):
    metrics = evaluate(emulator.save(tmp_path / "model"), CI / "test.h5")
    assert metrics["model"] == str(tmp_path / "model") and metrics["test_grid"] == str(CI / "test.h5")
    assert metrics["gen_mae"] == pytest.approx(evaluate(emulator, read_grid(CI / "test.h5"))["gen_mae"], rel=1e-6)


def test_the_mae_interval_is_over_stars_so_copies_of_rows_do_not_narrow_it(emulator, test_grid):
    metrics = evaluate(emulator, test_grid)
    assert metrics["gen_mae_low"] < metrics["gen_mae"] < metrics["gen_mae_high"] and metrics["n_test_stars"] == 4
    copies = test_grid.subset(np.repeat(np.arange(len(test_grid)), 4))  # each row four times, its star the same
    again = evaluate(emulator, copies)
    assert again["n_test"] == 64 and again["n_test_stars"] == 4
    # a bootstrap over rows would halve the width here; over stars it is the same interval
    assert (again["gen_mae_low"], again["gen_mae_high"]) == pytest.approx((metrics["gen_mae_low"], metrics["gen_mae_high"]))
