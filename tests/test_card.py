"""A model card states what was measured: the same numbers as evaluate and Tab. 5, with the domain it refuses."""

import json
from pathlib import Path

import numpy as np
import pytest

from specgen.card import (
    REFERENCE_NAME,
    domain_table,
    measure_card,
    read_card,
    tab5_table,
    write_card,
)
from specgen.grid import read_grid
from specgen.model.evaluate import evaluate
from specgen.validate.estimator import EstimatorConfig

CI = Path(__file__).resolve().parents[1] / "data" / "ci"
TINY = EstimatorConfig(n_components=5, hidden=(16,), per_label=False, max_epochs=5)


@pytest.fixture(scope="module")
def card(ci_emulator):
    return measure_card(ci_emulator, CI / "train.h5", CI / "test.h5", TINY, speed_batch=64)


def test_the_card_quotes_the_test_grid_as_evaluate_measures_it(card, ci_emulator):
    test = read_grid(CI / "test.h5")
    metrics = evaluate(ci_emulator, test)
    assert card["test"]["gen_mae"] == metrics["gen_mae"] and card["test"]["gen_p99_abs"] == metrics["gen_p99_abs"]
    assert card["test"]["n_spectra"] == 16 and card["test"]["n_stars"] == 4  # independent stars, not rows
    assert card["domain"]["teff"][:2] == [ci_emulator.label_ranges["teff"].low, ci_emulator.label_ranges["teff"].high]
    per_spectrum = np.abs(ci_emulator.generate_like(test) - test.flux).mean(axis=1)
    bins = card["test"]["mae_by_label"]["teff"]
    counted = [m for m in bins["mae"] if m is not None]
    assert min(counted) >= per_spectrum.min() - 1e-7 and max(counted) <= per_spectrum.max() + 1e-7
    ratios = {k: row for k, row in card["tab5"].items() if k not in ("train_grid", "estimator")}
    assert set(ratios) == set(test.label_names) and card["tab5"]["estimator"] == "PCA(5) + networks, joint"
    assert all(row["ratio_low"] <= row["ratio"] <= row["ratio_high"] for row in ratios.values())


def test_the_card_files_hold_the_numbers(card, ci_emulator, tmp_path):
    markdown = write_card(card, tmp_path, CI / "test.h5").read_text()
    reference = read_grid(tmp_path / "reference" / REFERENCE_NAME)
    assert len(np.unique(reference.star_ids())) == 3 and len(reference) == 3  # one spectrum of each of 3 ci test stars
    assert np.abs(ci_emulator.generate_like(reference) - reference.flux).mean() == pytest.approx(card["reference"]["mae"])
    assert f"MAE {card['test']['gen_mae']:.2e}" in markdown and "4 independent stars" in markdown
    assert json.loads((tmp_path / "card.json").read_text())["test"]["gen_mae"] == card["test"]["gen_mae"]
    assert "nan" not in markdown.lower().replace("nanometre", "")
    read = read_card(tmp_path)
    tab5 = tab5_table(read)
    assert list(tab5.index) == list(ci_emulator.label_names) and tab5["stars"].eq(4).all()
    np.testing.assert_allclose(tab5["ratio"], tab5["RMSE (generated)"] / tab5["RMSE (radiative transfer)"], rtol=1e-6)
    assert domain_table(read).loc["teff", "low"] == ci_emulator.label_ranges["teff"].low


def test_a_folder_without_a_card_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model card"):
        read_card(tmp_path)


def test_specgen_card_fits_one_joint_estimator_unless_asked(ci_emulator, tmp_path):
    import contextlib
    import io

    from specgen.cli import main

    ci_emulator.save(tmp_path / "model")
    argv = ["card", "--model", str(tmp_path / "model"), "--train", str(CI / "train.h5"), "--test", str(CI / "test.h5"),
            "--profile", "ci"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0
    card = json.loads((tmp_path / "model" / "card.json").read_text())
    assert card["tab5"]["estimator"] == "PCA(15) + networks, joint"
    assert (tmp_path / "model" / "MODEL_CARD.md").exists() and (tmp_path / "model" / "reference" / REFERENCE_NAME).exists()
