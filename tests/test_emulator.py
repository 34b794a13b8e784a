"""The emulator: training recipes, labels in every form, domain checks, files, and the mean-spectrum bar."""

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from specgen.grid import Grid, read_grid
from specgen.labels import (
    LABEL_NAMES,
    TABLE1_RANGES,
    LabelError,
    LabelRange,
    sample_uniform,
)
from specgen.model.config import TrainingConfig
from specgen.model.emulator import AutoencoderEmulator, Emulator, EmulatorError
from specgen.model.evaluate import evaluate
from specgen.model.networks import build_autoencoder, build_mapper
from specgen.model.scaling import Scaler
from specgen.model.schedule import split_rows
from specgen.model.train import train_emulator, validation_subset

# Keras 3.15's ReduceLROnPlateau reads the learning rate with np.array(variable), which numpy 2 warns about.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

CI = Path(__file__).resolve().parents[1] / "data" / "ci"
SUN = dict(teff=5777.0, logg=4.44, vsini=2.0, m_h=0.0, xi_t=1.0, resolution=11500.0)

#: Tiny networks of the paper's shape, trained for twenty epochs: seconds on 2 cores.
TINY = TrainingConfig.small_grid(
    latent=4, encoder_hidden=(32, 16), mapper_hidden=(32, 16), batch_size=16, learning_rate=3e-3, max_epochs=20, seed=0
)


def toy_grid(n_stars, seed, variants=4, n_pix=120):
    """Spectra with three lines whose depths and widths follow the labels (enough to learn from)."""
    labels = np.repeat(sample_uniform(n_stars, seed, LABEL_NAMES), variants, axis=0)
    rng = np.random.default_rng(seed)
    for name in ("vsini", "resolution"):  # variants of a star differ in broadening only
        j = LABEL_NAMES.index(name)
        labels[:, j] = rng.uniform(TABLE1_RANGES[name].low, TABLE1_RANGES[name].high, len(labels))
    u = (labels - [r.low for r in TABLE1_RANGES.values()]) / [r.high - r.low for r in TABLE1_RANGES.values()]
    wavelength = 8400 + 0.1 * np.arange(n_pix)
    centres, width = wavelength[[20, 60, 100]], 0.3 + 1.5 * u[:, [2]] + 0.5 * (1 - u[:, [5]])
    depth = 0.6 * (1 - u[:, [0]]) * (0.5 + 0.5 * u[:, [3]]) * np.array([1.0, 0.6, 0.3])
    lines = depth[:, :, None] * np.exp(-0.5 * ((wavelength - centres[:, None]) / width[:, :, None]) ** 2)
    flux = (1 - lines.sum(axis=1)).astype(np.float32)
    return Grid(wavelength, flux, labels, LABEL_NAMES, np.repeat(np.arange(n_stars), variants))


@pytest.fixture(scope="module")
def train_grid():
    return toy_grid(24, seed=1)


@pytest.fixture(scope="module")
def emulator(train_grid):
    return train_emulator(train_grid, TINY, test_grid=toy_grid(6, seed=2), fine_tune=True, progress=False)


def inside(grid, n=5):
    """Labels inside the training ranges (the first rows of the training grid)."""
    return grid.labels[:n].copy()


# ---- recipes and training ---------------------------------------------------------------------


def test_paper_config_is_the_paper():
    paper = TrainingConfig.paper()
    assert (paper.ae_optimizer, paper.mapper_optimizer, paper.batch_size, paper.patience) == ("adam", "adamax", 512, 15)
    assert (paper.validation_split, paper.latent, paper.latent_activation) == (0.2, 10, "relu")
    assert (paper.flux_scaling, paper.label_scaling, paper.latent_scaling) == ("none", "minmax", "none")
    assert paper.encoder_hidden == (1024, 512, 256, 64, 32) and paper.mapper_hidden == (5000, 2000, 512, 32)
    assert paper.lr_decay_factor is None and paper.mapper_dropout == 0.3


def test_small_grid_config_follows_the_design_notes():
    small = TrainingConfig.small_grid()
    assert (small.flux_scaling, small.latent_activation, small.batch_size, small.patience) == (
        "standardise",
        "linear",
        64,
        40,
    )
    assert small.lr_decay_factor == 0.5 and small.encoder_hidden == TrainingConfig.paper().encoder_hidden
    assert (small.label_scaling, small.latent_scaling) == ("standardise", "standardise")
    assert TrainingConfig.small_grid(batch_size=8).batch_size == 8


def test_losses_fall_and_histories_are_kept(emulator):
    history = emulator.provenance["history"]
    for stage in ("autoencoder", "mapper"):
        assert min(history[stage]["val_loss"]) < 0.5 * history[stage]["val_loss"][0]
        assert len(history[stage]["seconds"]) == len(history[stage]["loss"])
    assert "val_loss_before" in history["fine_tune"]


def test_split_keeps_stars_together_and_is_seeded():
    groups = np.repeat(np.arange(10), 4)
    train, val = split_rows(40, 0.2, seed=3, groups=groups)
    assert len(val) == 8 and not set(groups[train]) & set(groups[val])
    assert np.array_equal(val, split_rows(40, 0.2, seed=3, groups=groups)[1])
    assert len(split_rows(40, 0.0, seed=3)[1]) == 0


@pytest.mark.parametrize("kind", ["none", "minmax", "standardise"])
def test_scaler_round_trip(kind):
    x = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [2.0, 5.0, 9.0]])  # the middle column is constant
    scaler = Scaler.fit(x, kind)
    np.testing.assert_allclose(scaler.inverse(scaler.transform(x)), x, rtol=1e-6)
    assert np.isfinite(scaler.transform(x)).all()
    with pytest.raises(ValueError, match="unknown scaling"):
        Scaler.fit(x, "log")


# ---- generate: every form of labels -----------------------------------------------------------


def test_generate_accepts_keywords_arrays_and_tables(emulator, train_grid):
    labels = inside(train_grid)
    flux = emulator.generate(labels)
    assert flux.shape == (5, train_grid.flux.shape[1]) and flux.dtype == np.float32
    one = emulator.generate(**dict(zip(LABEL_NAMES, labels[0])))
    assert one.shape == (train_grid.flux.shape[1],)
    np.testing.assert_allclose(one, flux[0], rtol=1e-6)
    table = pd.DataFrame(labels, columns=LABEL_NAMES)
    shuffled = table[list(reversed(LABEL_NAMES))].assign(comment="ignored")
    np.testing.assert_allclose(emulator.generate(shuffled), flux, rtol=1e-6)
    np.testing.assert_allclose(emulator.generate({n: table[n].to_numpy() for n in LABEL_NAMES}), flux, rtol=1e-6)
    np.testing.assert_allclose(emulator.generate(labels[0]), flux[0], rtol=1e-6)
    np.testing.assert_allclose(emulator.generate(shuffled.iloc[0]), flux[0], rtol=1e-6)
    np.testing.assert_allclose(emulator.generate(labels, batch_size=2), flux, rtol=1e-5, atol=1e-6)
    assert emulator.generate(np.empty((0, 6))).shape == (0, train_grid.flux.shape[1])


def test_out_of_range_labels_are_refused_by_name(emulator, train_grid):
    labels = inside(train_grid)
    labels[2, LABEL_NAMES.index("logg")] = 5.5
    with pytest.raises(LabelError, match="'logg' outside .*allow_extrapolation"):
        emulator.generate(labels)
    assert np.isfinite(emulator.generate(labels, allow_extrapolation=True)).all()
    with pytest.raises(LabelError, match="'teff'"):
        emulator.generate(**{**SUN, "teff": 1000.0})


def test_bad_labels_are_refused(emulator, train_grid):
    labels = inside(train_grid)
    with pytest.raises(LabelError, match="NaN"):
        emulator.generate(np.where(np.arange(6) == 1, np.nan, labels))
    with pytest.raises(LabelError, match=r"shape \(n, 6\)"):
        emulator.generate(labels[:, :5])
    table = pd.DataFrame(labels, columns=LABEL_NAMES).drop(columns="m_h")
    with pytest.raises(LabelError, match=r"missing label column\(s\) \['m_h'\]"):
        emulator.generate(table)
    with pytest.raises(LabelError, match=r"unknown label\(s\) \['tef'\]"):
        emulator.generate(tef=5777.0, **{k: v for k, v in SUN.items() if k != "teff"})
    with pytest.raises(LabelError, match="missing"):
        emulator.generate(teff=5777.0)
    with pytest.raises(TypeError, match="not both"):
        emulator.generate(labels, **SUN)
    with pytest.raises(TypeError, match="needs labels"):
        emulator.generate()


def test_encode_and_reconstruct(emulator, train_grid):
    assert emulator.encode(train_grid.flux).shape == (len(train_grid), TINY.latent)
    assert emulator.reconstruct(train_grid.flux[:3]).shape == (3, train_grid.flux.shape[1])
    with pytest.raises(ValueError, match="flux must have shape"):
        emulator.encode(train_grid.flux[:, :10])


def test_map_labels_scales_labels_matched_by_name(emulator, train_grid):
    table = pd.DataFrame(train_grid.labels[:5], columns=train_grid.label_names)
    latent = emulator.map_labels(table[list(table.columns)[::-1]])  # columns in another order
    expected = keras.ops.convert_to_numpy(emulator.mapper(emulator.label_scaler.transform(train_grid.labels[:5])))
    np.testing.assert_allclose(latent, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(latent, keras.ops.convert_to_numpy(emulator.mapper(train_grid.labels[:5])))  # scaled


# ---- files ------------------------------------------------------------------------------------


def test_save_load_round_trip(emulator, train_grid, tmp_path):
    path = emulator.save(tmp_path / "model")
    assert sorted(p.name for p in path.iterdir()) == [
        "arrays.npz",
        "decoder.keras",
        "emulator.json",
        "encoder.keras",
        "mapper.keras",
    ]
    back = Emulator.load(path)
    labels = inside(train_grid)
    np.testing.assert_array_equal(back.generate(labels), emulator.generate(labels))
    np.testing.assert_array_equal(back.reconstruct(train_grid.flux[:2]), emulator.reconstruct(train_grid.flux[:2]))
    assert back.label_names == LABEL_NAMES and back.label_ranges == emulator.label_ranges
    manifest = json.loads((path / "emulator.json").read_text())
    assert manifest["label_units"]["teff"] == "K" and "Gebran" in manifest["paper"]
    assert set(manifest["versions"]) >= {"specgen", "keras", "backend", "numpy"}
    assert manifest["versions"]["backend"].startswith("tensorflow ")
    assert manifest["config"]["seed"] == 0 and manifest["training_grid"]["n_spectra"] == len(train_grid)
    assert manifest["metrics"]["test"]["before_fine_tune"]["gen_mae"] > 0
    emulator.save(path)  # replacing a saved emulator is allowed


def test_stored_metrics_are_those_of_the_returned_generator(emulator):
    """Fine-tuning changes the decoder in place: the stored autoencoder metrics must be measured after it."""
    stored, fresh = emulator.provenance["metrics"]["test"], evaluate(emulator, toy_grid(6, seed=2))
    for key in ("ae_mae", "gen_mae", "gen_p99_abs"):
        assert stored[key] == pytest.approx(fresh[key], rel=1e-5), key
    assert stored["before_fine_tune"]["ae_mae"] != pytest.approx(stored["ae_mae"], rel=1e-5)


def test_validation_metrics_are_measured_on_the_stars_that_stopped_training(emulator, train_grid):
    _, val_rows = split_rows(len(train_grid), TINY.validation_split, TINY.seed, train_grid.star_ids())
    validation = emulator.provenance["metrics"]["validation"]
    assert validation["n_test"] == len(val_rows) > 0
    assert validation["gen_mae"] == pytest.approx(evaluate(emulator, train_grid.subset(val_rows))["gen_mae"], rel=1e-5)
    np.testing.assert_array_equal(validation_subset(emulator, train_grid).labels, train_grid.labels[val_rows])


def test_broken_artifacts_are_named(emulator, tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved emulator"):
        Emulator.load(tmp_path / "absent")
    path = emulator.save(tmp_path / "model")
    (path / "decoder.keras").write_bytes(b"not a zip")
    with pytest.raises(EmulatorError, match="decoder.keras is not a readable Keras model"):
        Emulator.load(path)
    (path / "mapper.keras").unlink()
    with pytest.raises(EmulatorError, match="lacks mapper.keras: not a saved emulator"):
        Emulator.load(path)
    path = emulator.save(tmp_path / "model")
    (path / "emulator.json").write_text("{")
    with pytest.raises(EmulatorError, match="emulator.json is not valid JSON"):
        Emulator.load(path)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    with pytest.raises(EmulatorError, match="not a saved emulator"):
        emulator.save(other)


def test_parts_that_do_not_fit_are_refused(emulator):
    wrong = Scaler(np.zeros(3), np.ones(3))
    with pytest.raises(EmulatorError, match="label scaling has 3, expected 6"):
        AutoencoderEmulator(
            emulator.encoder,
            emulator.decoder,
            emulator.mapper,
            wrong,
            emulator.flux_scaler,
            emulator.label_names,
            emulator.label_ranges,
            emulator.wavelength,
            emulator.mean_flux,
        )


def test_any_label_names_survive_the_round_trip(tmp_path):
    names = ("teff", "logg", "alpha_fe")  # a grid from another code, with other labels
    ranges = {"teff": LabelRange(4000, 7000), "logg": LabelRange(1, 5), "alpha_fe": LabelRange(-0.2, 0.6)}
    ae = build_autoencoder(30, latent=2, hidden=(8,), latent_activation="linear")
    untrained = AutoencoderEmulator(
        ae.encoder,
        ae.decoder,
        build_mapper(3, latent=2, hidden=(8,)),
        Scaler(np.array([5500.0, 3.0, 0.2]), np.array([1000.0, 1.0, 0.3])),
        Scaler(np.zeros(30), np.ones(30)),
        names,
        ranges,
        8400 + 0.1 * np.arange(30),
        np.ones(30),
    )
    back = Emulator.load(untrained.save(tmp_path / "model"))
    assert back.label_names == names
    np.testing.assert_array_equal(back.generate(alpha_fe=0.2, teff=5000, logg=4), untrained.generate([5000, 4, 0.2]))
    with pytest.raises(LabelError, match="'alpha_fe' outside"):
        back.generate(teff=5000, logg=4, alpha_fe=0.9)


# ---- the bar every emulator must clear ---------------------------------------------------------


@pytest.mark.skipif(not (CI / "train.h5").exists(), reason="data/ci/*.h5 not built (make data-ci)")
def test_beats_the_mean_spectrum_on_held_out_radiative_transfer():
    """Train on the 48 ci spectra (12 stars), test on 16 spectra of 4 other stars.

    12 stars are too few for early stopping on held-out stars (2 of them) to mean anything, so
    this trains small networks for a fixed 100 epochs. The generator's MAE was 0.69–0.88 of the
    mean spectrum's over seeds 0–5 on one machine (and moves with the CPU kernel) while the
    autoencoder's was 0.2: with 12 stars, generalising to new ones, not fitting, is what limits it.
    """
    config = TrainingConfig.small_grid(
        encoder_hidden=(128, 32), mapper_hidden=(128, 64), batch_size=16, validation_split=0.0, max_epochs=100, seed=0
    )
    emulator = train_emulator(CI / "train.h5", config, test_grid=CI / "test.h5", fine_tune=False, progress=False)
    held_out = emulator.provenance["metrics"]["test"]
    assert held_out["n_test"] == 16 and held_out["n_outside_training_ranges"] > 0
    assert held_out["gen_mae"] < 0.95 * held_out["mean_spectrum_mae"]
    assert held_out["ae_mae"] < 0.4 * held_out["mean_spectrum_mae"]
    test = read_grid(CI / "test.h5")
    with pytest.raises(LabelError, match="outside"):
        emulator.generate(test.labels)


def test_fit_or_load_trains_on_the_first_stars_and_retrains_when_their_number_changes(train_grid, tmp_path):
    from specgen.grid import write_grid
    from specgen.model.train import fit_or_load

    path = write_grid(tmp_path / "train.h5", train_grid)
    small = fit_or_load(path, tmp_path / "model", TINY, fine_tune=False, n_stars=6, progress=False)
    assert small.provenance["training_grid"]["n_stars"] == 6 and small.provenance["training_grid"]["n_spectra"] == 24
    written = (tmp_path / "model" / "emulator.json").stat().st_mtime_ns
    fit_or_load(path, tmp_path / "model", TINY, fine_tune=False, n_stars=6, progress=False)
    assert (tmp_path / "model" / "emulator.json").stat().st_mtime_ns == written  # reused, not retrained
    larger = fit_or_load(path, tmp_path / "model", TINY, fine_tune=False, n_stars=12, progress=False)
    assert larger.provenance["training_grid"]["n_stars"] == 12


def test_the_two_stage_generator_is_saved_before_fine_tuning_and_kept_with_it(train_grid, tmp_path):
    from specgen.grid import write_grid
    from specgen.model.train import fit_or_load

    path, test = write_grid(tmp_path / "train.h5", train_grid), toy_grid(6, seed=2)
    write_grid(tmp_path / "test.h5", test)
    dirs = {"model_dir": tmp_path / "tuned", "two_stage_dir": tmp_path / "two_stage"}
    tuned = fit_or_load(path, config=TINY, test_grid=tmp_path / "test.h5", fine_tune=True, progress=False, **dirs)
    two_stage = Emulator.load(dirs["two_stage_dir"])
    assert not two_stage.provenance["fine_tuned"] and two_stage.provenance["created"] == tuned.provenance["created"]
    stored = two_stage.provenance["metrics"]["test"]
    assert stored == tuned.provenance["metrics"]["test"]["before_fine_tune"]
    for key in ("ae_mae", "gen_mae"):  # measured on the saved networks, not on the fine-tuned ones
        assert stored[key] == pytest.approx(evaluate(two_stage, test)[key], rel=1e-5), key
    assert not np.allclose(two_stage.generate(inside(train_grid)), tuned.generate(inside(train_grid)), atol=1e-4)

    written = (dirs["model_dir"] / "emulator.json").stat().st_mtime_ns
    fit_or_load(path, config=TINY, fine_tune=True, progress=False, **dirs)
    assert (dirs["model_dir"] / "emulator.json").stat().st_mtime_ns == written  # both there: reused
    shutil.rmtree(dirs["two_stage_dir"])
    fit_or_load(path, config=TINY, fine_tune=True, progress=False, **dirs)
    assert Emulator.load(dirs["two_stage_dir"]).provenance["created"] >= tuned.provenance["created"]
    assert (dirs["model_dir"] / "emulator.json").stat().st_mtime_ns != written  # retrained as a pair
