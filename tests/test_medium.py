"""The wavelength medium: recorded by every grid and emulator, checked wherever a model meets a grid,
and converted wherever it meets an observed spectrum."""

import contextlib
import io
import json
from dataclasses import replace

import h5py
import keras
import numpy as np
import pytest

from specgen.cli import main
from specgen.fit.observed import read_spectrum, vacuum_to_air
from specgen.fit.stars import fit_spectrum
from specgen.fit.survey import SurveyError, fit_survey
from specgen.grid import Grid, GridError, read_grid, write_grid
from specgen.labels import LABEL_NAMES, LabelRange, sample_uniform
from specgen.model.config import FactorisedConfig, TrainingConfig
from specgen.model.emulator import AutoencoderEmulator, Emulator
from specgen.model.evaluate import evaluate
from specgen.model.networks import build_autoencoder, build_mapper
from specgen.model.scaling import Scaler
from specgen.model.train import train_emulator

# Keras 3.15's ReduceLROnPlateau reads the learning rate with np.array(variable), which numpy 2 warns about.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

#: A model's pixels, 0.1 Å apart (vacuum and air differ by 2.3 Å, 23 pixels, here).
WAVELENGTH = 8500 + 0.1 * np.arange(600)
NAMES = ("teff", "logg", "m_h")
RANGES = {"teff": LabelRange(4000, 7000), "logg": LabelRange(1, 5), "m_h": LabelRange(-1, 0.5)}
TRUTH = {"teff": 5600.0, "logg": 3.2, "m_h": -0.3}
SIGMA = 0.01


@pytest.fixture(scope="module")
def vacuum_emulator():
    """An untrained paper-kind generator said to be in vacuum: flux between 0.8 and 1 from pixel to pixel
    at random, plus the networks' response to the labels (a few % of the continuum), so that a spectrum a
    few pixels off its wavelengths cannot be fitted."""
    keras.utils.set_random_seed(3)
    ae = build_autoencoder(WAVELENGTH.size, latent=4, hidden=(16,), latent_activation="linear")
    return AutoencoderEmulator(
        ae.encoder, ae.decoder, build_mapper(len(NAMES), latent=4, hidden=(16,)),
        Scaler(np.array([5500.0, 3.0, -0.25]), np.array([1500.0, 2.0, 0.75])),
        Scaler(1 - 0.2 * np.random.default_rng(0).random(WAVELENGTH.size), np.full(WAVELENGTH.size, 10.0)),
        NAMES, RANGES, WAVELENGTH, np.ones(WAVELENGTH.size), medium="vacuum",
    )


def test_import_ascii_records_the_medium_and_grids_read_it(tmp_path):
    """--medium vacuum reaches Grid.medium through both attributes; a file with neither (an older
    one) reads as air, one whose two attributes disagree is refused."""
    wave = np.arange(8395.0, 8805.0, 0.05)
    np.savetxt(tmp_path / "star.txt", np.c_[wave, 1 - 0.1 * np.exp(-((wave - 8542.09) / 0.5) ** 2)])
    (tmp_path / "labels.csv").write_text("file,teff,logg\nstar.txt,5000,4.0\n")
    with contextlib.redirect_stdout(io.StringIO()):
        for medium in ("vacuum", "air"):
            out = tmp_path / f"{medium}.h5"
            argv = ["import-ascii", str(tmp_path), "--labels", str(tmp_path / "labels.csv"), "--out", str(out)]
            assert main([*argv, "--medium", medium]) == 0
            assert read_grid(out).medium == medium
            with h5py.File(out) as f:
                assert f.attrs["wavelength_medium"] == f["wavelength"].attrs["medium"] == medium
    with h5py.File(tmp_path / "vacuum.h5", "r+") as f:
        del f.attrs["wavelength_medium"]
    assert read_grid(tmp_path / "vacuum.h5").medium == "vacuum"  # /wavelength says it alone
    with h5py.File(tmp_path / "vacuum.h5", "r+") as f:
        f.attrs["wavelength_medium"] = "air"
    with pytest.raises(GridError, match="wavelength_medium 'air' and the medium 'vacuum' of /wavelength disagree"):
        read_grid(tmp_path / "vacuum.h5")
    with h5py.File(tmp_path / "air.h5", "r+") as f:
        del f.attrs["wavelength_medium"], f["wavelength"].attrs["medium"]
    assert read_grid(tmp_path / "air.h5").medium == "air"
    with pytest.raises(GridError, match="must be 'air' or 'vacuum', got 'water'"):
        Grid(wave[:3], np.ones((1, 3), np.float32), np.ones((1, 2)), ("teff", "logg"), attrs={"wavelength_medium": "water"})


@pytest.mark.filterwarnings("ignore::specgen.model.schedule.EpochCapWarning")
@pytest.mark.parametrize("config", [
    TrainingConfig.small_grid(latent=2, encoder_hidden=(8,), mapper_hidden=(8,), batch_size=16, max_epochs=1, seed=0),
    FactorisedConfig(hidden=(8,), step_kms=10.0, batch_size=16, max_epochs=1, seed=0),
], ids=["paper", "factorised"])
def test_an_emulator_keeps_its_training_grids_medium(config, tmp_path):
    """Trained on a vacuum grid, either kind is vacuum, also once saved and loaded; an air test grid is
    refused; a saved emulator that does not record its medium (an older one) reads as air."""
    labels = sample_uniform(8, 0, LABEL_NAMES)
    flux = np.random.default_rng(0).uniform(0.5, 1.0, (8, WAVELENGTH.size)).astype(np.float32)
    vacuum = Grid(WAVELENGTH, flux, labels, LABEL_NAMES, attrs={"wavelength_medium": "vacuum"})
    with pytest.raises(GridError, match="the test grid has wavelengths in air, the training grid in vacuum"):
        train_emulator(vacuum, config, test_grid=Grid(WAVELENGTH, flux, labels, LABEL_NAMES), progress=False)
    emulator = train_emulator(vacuum, config, fine_tune=False, progress=False)
    assert emulator.medium == "vacuum" and "(vacuum)" in repr(emulator)
    path = emulator.save(tmp_path / "model")
    assert Emulator.load(path).medium == "vacuum"
    manifest = json.loads((path / "emulator.json").read_text())
    del manifest["medium"]
    (path / "emulator.json").write_text(json.dumps(manifest))
    assert Emulator.load(path).medium == "air"


def test_a_vacuum_model_refuses_an_air_grid(vacuum_emulator, tmp_path, capsys):
    """evaluate, specgen evaluate, specgen fit --spectra and a survey of the grid each refuse it in one line
    naming both media (and --medium, which is for spectrum files); the same grid in vacuum is evaluated."""
    labels = np.array([[5000.0, 4.0, 0.0], [6000.0, 2.0, -0.5]])
    air = Grid(WAVELENGTH, vacuum_emulator.generate(labels), labels, NAMES)
    with pytest.raises(GridError, match="the test grid has wavelengths in air, the emulator in vacuum"):
        evaluate(vacuum_emulator, air)
    with pytest.raises(GridError, match="the grid has wavelengths in air, the emulator in vacuum"):
        vacuum_emulator.generate_like(air)  # what Tab. 5, the model card and the shootout compare
    assert evaluate(vacuum_emulator, replace(air, attrs={"wavelength_medium": "vacuum"}))["gen_mae"] < 1e-6
    model, grid = vacuum_emulator.save(tmp_path / "model"), write_grid(tmp_path / "air.h5", air)
    capsys.readouterr()
    for argv in (["evaluate", "--model", str(model), "--grid", str(grid)],
                 ["fit", "--model", str(model), "--spectra", str(grid)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "wavelengths in air, the emulator in vacuum" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SurveyError, match="air.h5 has wavelengths in air, the model in vacuum"):
        fit_survey(grid, vacuum_emulator, tmp_path / "fits.csv", progress=False)
    with pytest.raises(SystemExit, match="--medium goes with observed spectra"):
        main(["fit", "--model", str(model), "--spectra", str(grid), "--medium", "air"])


def test_a_vacuum_model_fits_a_spectrum_alike_given_in_air_or_in_vacuum(vacuum_emulator, tmp_path):
    """A spectrum of the vacuum model at rest with S/N 100 noise, written on its vacuum wavelengths (read
    with --medium vacuum, i.e. converted to air on reading) and on their air equivalents (read as air),
    fitted with the radial velocity: both fits find the labels within 3σ at χ²/dof ≈ 1 and no velocity,
    and the same ones. Compared on the air numbers, model and spectrum would be 23 pixels apart: χ²/dof
    ≈ 100 at rest, or a velocity of 82 km/s."""
    flux = vacuum_emulator.generate(**TRUTH) + np.random.default_rng(1).normal(0, SIGMA, WAVELENGTH.size)
    np.savetxt(tmp_path / "vacuum.txt", np.c_[WAVELENGTH, flux, np.full_like(flux, SIGMA)])
    np.savetxt(tmp_path / "air.txt", np.c_[vacuum_to_air(WAVELENGTH), flux, np.full_like(flux, SIGMA)])
    in_air = fit_spectrum(read_spectrum(tmp_path / "air.txt"), vacuum_emulator, fit_velocity=True).table()
    model = vacuum_emulator.save(tmp_path / "model")
    argv = ["fit", "--model", str(model), "--spectrum", str(tmp_path / "vacuum.txt"), "--medium", "vacuum",
            "--fit-velocity", "--json", str(tmp_path / "fit.json")]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(argv) == 0
    in_vacuum = json.loads((tmp_path / "fit.json").read_text())["fits"][0]
    assert in_air["n_pixels"].item() == in_vacuum["n_pixels"]
    assert in_air["chi2_dof"].item() == pytest.approx(1, abs=0.2)
    for name, value in {**TRUTH, "velocity": 0.0}.items():
        assert in_vacuum[name] == pytest.approx(in_air[name].item(), rel=1e-6)
        assert abs(in_vacuum[name] - value) < 3 * in_vacuum[f"{name}_err"]
