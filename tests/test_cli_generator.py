"""``specgen train``, ``generate`` and ``evaluate`` chained as a colleague would, on the ci grids."""

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from specgen.cli import main
from specgen.grid import read_grid, read_label_table
from specgen.model.emulator import Emulator
from specgen.model.evaluate import evaluate

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

CI = Path(__file__).resolve().parents[1] / "data" / "ci"
if not (CI / "train.h5").exists() or not (CI / "test.h5").exists():
    pytest.skip(f"no ci grids in {CI} (make them with `specgen synth --profile ci`)", allow_module_level=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The ci profile's networks, one epoch per stage: (model directory, what ``train`` printed)."""
    out = tmp_path_factory.mktemp("models") / "emulator"
    argv = ["train", "--grid", str(CI / "train.h5"), "--test", str(CI / "test.h5"), "--out", str(out)]
    argv += ["--two-stage-out", str(out.with_name("two_stage"))]
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main([*argv, "--profile", "ci", "--fine-tune", "--seed", "3", "--max-epochs", "1"]) == 0
    return out, printed.getvalue()


@pytest.fixture(scope="module")
def stars(trained):
    """Three training rows: inside the ranges, in another column order, with a column the emulator ignores."""
    grid = read_grid(CI / "train.h5")
    table = pd.DataFrame(grid.labels[[0, 5, 10]], columns=grid.label_names)
    return table[["resolution", "teff", "m_h", "logg", "xi_t", "vsini"]].assign(source_id=[11, 12, 13])


def test_train_saves_and_summarises(trained):
    out, printed = trained
    provenance = json.loads((out / "emulator.json").read_text())
    assert (provenance["seed"], provenance["config"]["max_epochs"], provenance["fine_tuned"]) == (3, 1, True)
    assert provenance["config"]["flux_scaling"] == "standardise"  # the ci profile's small-grid recipe
    assert provenance["test_grid"]["n_spectra"] == 16
    assert "epochs: autoencoder 1, mapper 1, fine_tune 1" in printed
    assert str(out) in printed and "test" in printed.splitlines()[-1]
    two_stage = json.loads((out.with_name("two_stage") / "emulator.json").read_text())
    assert not two_stage["fine_tuned"] and two_stage["created"] == provenance["created"]
    assert two_stage["metrics"]["test"] == provenance["metrics"]["test"]["before_fine_tune"]


def test_generate_h5_fits_csv(trained, stars, tmp_path, capsys):
    model, _ = trained
    stars.to_csv(tmp_path / "stars.csv", index=False)
    for ext in ("h5", "fits", "csv"):
        argv = ["generate", "--model", str(model), "--labels", str(tmp_path / "stars.csv")]
        assert main([*argv, "--out", str(tmp_path / f"spectra.{ext}"), "--batch-size", "2"]) == 0
    assert "3 spectra × 4000 pixels" in capsys.readouterr().out

    emulator = Emulator.load(model)
    names, values, _ = read_label_table(tmp_path / "stars.csv")
    labels = values[:, [names.index(name) for name in emulator.label_names]]
    expected = emulator.generate(labels)  # in one batch: float32 sums differ in the last bit from batches of 2
    grid = read_grid(tmp_path / "spectra.h5")
    np.testing.assert_array_equal(grid.labels, labels)
    np.testing.assert_allclose(grid.flux, expected, atol=1e-6)
    assert grid.label_names == emulator.label_names and np.array_equal(grid.wavelength, emulator.wavelength)
    assert grid.attrs["code"] == "specgen emulator" and grid.attrs["model"] == str(model.resolve())
    assert grid.attrs["label_units"]["teff"] == "K"
    assert grid.attrs["emulator"]["training_grid"]["n_spectra"] == 48

    with fits.open(tmp_path / "spectra.fits") as hdul:
        np.testing.assert_allclose(hdul["FLUX"].data, expected, atol=1e-6)
        assert hdul["FLUX"].header["ORIGIN"] == "specgen emulator" and hdul["FLUX"].header["NTRAIN"] == 48
        np.testing.assert_array_equal(hdul["WAVELENGTH"].data, emulator.wavelength)
        assert hdul["WAVELENGTH"].header["BUNIT"] == "Angstrom"
        table = hdul["LABELS"]
        assert table.columns.names == list(emulator.label_names)
        assert (table.columns["teff"].unit, table.columns["vsini"].unit) == ("K", "km.s**-1")
        np.testing.assert_array_equal(table.data["m_h"], labels[:, 3])

    csv = pd.read_csv(tmp_path / "spectra.csv", comment="#")
    assert list(csv.columns) == ["wavelength", "spectrum_0", "spectrum_1", "spectrum_2"]
    np.testing.assert_allclose(csv["wavelength"], emulator.wavelength)
    np.testing.assert_allclose(csv.iloc[:, 1:].to_numpy().T, expected, atol=2e-6)
    assert f"# spectrum_1: teff={stars['teff'][1]:g}" in (tmp_path / "spectra.csv").read_text()


def test_evaluate_prints_and_writes_json(trained, capsys, tmp_path):
    model, _ = trained
    assert main(["evaluate", "--model", str(model), "--grid", str(CI / "test.h5"), "--json", str(tmp_path / "m.json")]) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    direct = evaluate(model, CI / "test.h5")
    assert metrics.keys() == direct.keys()
    for key, value in direct.items():
        assert metrics[key] == (pytest.approx(value, rel=1e-6) if isinstance(value, float) else value), key
    assert (metrics["n_test"], metrics["n_train_spectra"], metrics["n_train_stars"]) == (16, 48, 12)
    assert "gen_mae" in capsys.readouterr().out


def test_evaluate_a_grid_imported_from_ascii(trained, tmp_path, capsys):
    model, _ = trained
    test = read_grid(CI / "test.h5")
    rows = [0, 3, 7, 12]
    for i in rows:
        np.savetxt(tmp_path / f"star{i}.txt", np.c_[test.wavelength, test.flux[i]])
    labels = pd.DataFrame(test.labels[rows], columns=test.label_names).assign(file=[f"star{i}.txt" for i in rows])
    labels[["file", "logg", "teff", "vsini", "resolution", "m_h", "xi_t"]].to_csv(tmp_path / "labels.csv", index=False)
    imported = tmp_path / "imported.h5"
    assert main(["import-ascii", str(tmp_path), "--labels", str(tmp_path / "labels.csv"), "--out", str(imported)]) == 0
    assert main(["evaluate", "--model", str(model), "--grid", str(imported), "--json", str(tmp_path / "m.json")]) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    direct = evaluate(model, test.subset(rows))
    assert metrics["n_test"] == 4
    for key in ("ae_mae", "ae_r2", "gen_mae", "gen_max_abs", "mean_spectrum_mae", "n_outside_training_ranges"):
        assert metrics[key] == pytest.approx(direct[key], rel=1e-5), key

    labels.drop(columns="xi_t").to_csv(tmp_path / "labels.csv", index=False)
    assert main(["import-ascii", str(tmp_path), "--labels", str(tmp_path / "labels.csv"), "--out", str(imported)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model), "--grid", str(imported)]) == 2
    assert "specgen evaluate: error:" in (err := capsys.readouterr().err) and "missing ['xi_t']" in err


def test_bad_input_is_refused_with_exit_2(trained, stars, tmp_path, capsys):
    model, _ = trained
    generate = ["generate", "--model", str(model), "--labels", str(tmp_path / "stars.csv"), "--out"]

    stars.drop(columns="xi_t").to_csv(tmp_path / "stars.csv", index=False)
    assert main([*generate, str(tmp_path / "out.h5")]) == 2
    assert "missing label column(s) ['xi_t']" in capsys.readouterr().err

    stars.assign(teff=[3000.0, 5000.0, 6000.0]).to_csv(tmp_path / "stars.csv", index=False)
    assert main([*generate, str(tmp_path / "out.h5")]) == 2
    assert "'teff' outside" in capsys.readouterr().err and not (tmp_path / "out.h5").exists()
    assert main([*generate, str(tmp_path / "out.h5"), "--allow-extrapolation"]) == 0

    with pytest.raises(SystemExit) as exit_:
        main([*generate, str(tmp_path / "out.txt")])
    assert exit_.value.code == 2 and "unknown extension '.txt'" in capsys.readouterr().err

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    assert main(["train", "--grid", str(CI / "train.h5"), "--out", str(tmp_path / "notes")]) == 2
    assert "is not a saved emulator" in capsys.readouterr().err
