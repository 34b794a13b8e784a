"""The book's tables (studies.tables): what each row and column holds, on small synthetic inputs."""

import numpy as np
import pandas as pd
import pytest

from specgen.constants import (
    PAPER_AUTOENCODER,
    PAPER_TAB5,
    RT_CODE_DISAGREEMENT,
    TAB5_SETS,
)
from specgen.labels import LABEL_NAMES, LabelRange
from specgen.runtime import timing
from specgen.tables import (
    PAPER_COLUMN,
    generation_beside_peers,
    generation_speed,
    paper_tab5,
    reconstruction_beside_paper,
    tab5_beside_paper,
    table1,
    training_summary,
)


def test_table1_is_the_label_ranges_with_their_units():
    table = table1()
    assert list(table.index) == list(LABEL_NAMES) and list(table.columns) == ["unit", "min", "max"]
    assert tuple(table.loc["teff"]) == ("K", 3600.0, 15000.0)
    assert (table["min"] < table["max"]).all()


def test_reconstruction_beside_paper_puts_ours_in_the_first_column():
    ours = {"mse": 1e-5, "mae": 2e-3, "explained_variance": 0.99, "r2": 0.98}
    table = reconstruction_beside_paper(ours, 1200, "demo")
    assert list(table.columns) == ["this book (demo: 1,200 training spectra)", PAPER_COLUMN]
    assert table.iloc[:, 0].to_dict() == ours and table[PAPER_COLUMN].to_dict() == PAPER_AUTOENCODER
    assert PAPER_COLUMN == "Gebran 2024 (205,000 spectra)"


def test_generation_beside_peers_reads_each_metric_from_its_own_source():
    two_stage = {"gen_mae": 4e-3, "gen_median_abs": 2e-3, "ae_mae": 9.0, "mae": 9.0}  # ae_mae, mae: not the generator's
    fine = {"gen_mae": 3e-3, "gen_median_abs": 1e-3, "gen_p99_abs": 5e-2}
    table = generation_beside_peers({"two-stage": two_stage, "fine-tuned": fine}, 0.05, 480, "ci")
    assert list(table.columns) == ["MAE", "median |ΔF|"] and table.index.name == "model"
    assert list(table.index[:2]) == ["this book, two-stage (ci, 480 spectra)", "this book, fine-tuned (ci, 480 spectra)"]
    assert tuple(table.loc["this book, two-stage (ci, 480 spectra)"]) == (4e-3, 2e-3)
    assert tuple(table.loc["this book, fine-tuned (ci, 480 spectra)"]) == (3e-3, 1e-3)
    baseline = table.loc["mean training spectrum (trivial baseline)"]
    assert baseline["MAE"] == 0.05 and np.isnan(baseline["median |ΔF|"])
    assert table.loc["SME vs SYNSPEC, one solar model (same atmosphere and lines)", "MAE"] == RT_CODE_DISAGREEMENT
    assert not any("reconstruction" in name for name in table.index)  # generation beside generation only
    vae = table.loc["Gebran & Bentley 2025, conditional VAE"]
    assert np.isnan(vae["MAE"]) and vae["median |ΔF|"] == 1.8e-3  # a median, reported as one
    assert len(table) == 6


class Clock:
    """A stand-in for ``time.perf_counter`` that only moves when told: timings without a wall clock."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


class SlowEmulator:
    """Takes SECONDS of ``clock`` per spectrum, plus OVERHEAD per call, to generate."""

    SECONDS, OVERHEAD = 2e-3, 1e-3
    label_names = ("teff", "logg")
    label_ranges = {"teff": LabelRange(4000.0, 6000.0), "logg": LabelRange(1.0, 5.0)}

    def __init__(self, clock):
        self.clock = clock

    def generate(self, labels, batch_size=4096):
        self.clock.now += self.OVERHEAD + self.SECONDS * len(labels)
        return np.ones((len(labels), 3))


def test_generation_speed_is_per_spectrum_and_against_radiative_transfer(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(timing, "time", clock)  # generation_seconds reads its clock as time.perf_counter
    speed = generation_speed(SlowEmulator(clock), rt_seconds=10.0, batches=(1, 20))
    assert list(speed.index) == [1, 20] and speed.index.name == "batch"
    per_spectrum = speed["seconds per spectrum"]
    assert per_spectrum[1] == pytest.approx(SlowEmulator.SECONDS + SlowEmulator.OVERHEAD)
    assert per_spectrum[20] == pytest.approx(SlowEmulator.SECONDS + SlowEmulator.OVERHEAD / 20)
    np.testing.assert_array_equal(speed["speed-up over radiative transfer"], 10.0 / per_spectrum)


def test_training_summary_counts_epochs_and_takes_the_best_validation_loss():
    histories = {
        "teff": {"loss": [3.0, 2.0, 1.5], "val_loss": [4.0, 2.5, 2.6], "seconds": [1.0, 2.0, 3.0]},
        ("teff", "logg"): {"loss": [5.0, 4.0], "seconds": [0.5, 0.5]},  # no validation: the training loss
    }
    table = training_summary(histories)
    assert list(table.columns) == ["epochs", "best validation loss", "seconds per epoch"]
    assert tuple(table.loc["teff"]) == (3, 2.5, 2.0)
    assert tuple(table.iloc[1]) == (2, 4.0, 0.5)


def test_tab5_beside_paper_holds_ours_and_the_papers_ratios():
    paper = paper_tab5()
    assert list(paper.columns) == [*TAB5_SETS, "ratio"] and list(paper.index) == list(PAPER_TAB5)
    assert paper.loc["teff", "ratio"] == pytest.approx(119 / 120)
    assert paper.loc["logg", "ratio"] == pytest.approx(0.05 / 0.03)
    ours = pd.DataFrame({s: [1.0, 2.0] for s in TAB5_SETS} | {"ratio": [1.1, 0.9]}, index=["teff", "logg"])
    table = tab5_beside_paper(ours, 480, "ci")
    assert list(table.columns.get_level_values(0).unique()) == ["this book (ci, 480 spectra)", PAPER_COLUMN]
    pd.testing.assert_frame_equal(table["this book (ci, 480 spectra)"].loc[["teff", "logg"]], ours)
    assert table.loc["vsini", (PAPER_COLUMN, "test")] == 6.5
    assert np.isnan(table.loc["vsini", ("this book (ci, 480 spectra)", "test")])  # not in ours
