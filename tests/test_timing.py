"""The timing tables read what the benchmarks recorded (benchmarks/results/<run>/*.json)."""

import json
from pathlib import Path

import pytest

from specgen.runtime.timing import (
    recorded_epochs,
    recorded_generation,
    recorded_training,
)

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def test_the_recorded_gpu_run_is_read_with_its_device():
    training, generation = recorded_training(RESULTS), recorded_generation(RESULTS)
    assert "NVIDIA H200" in set(training["device"]) and "NVIDIA H200" in set(generation["device"])
    assert set(training["precision"]) == {"float32", "mixed_bfloat16"}
    assert (training["generator MAE (test)"] < 4.9e-2).all()  # below the demo grid's mean-spectrum baseline
    assert set(generation["spectra per call"]) >= {1, 4096, 65536}


def test_epoch_seconds_are_scaled_to_the_paper_size(tmp_path):
    run = {"device": "X", "backend": "jax 0", "precision": "float32"}
    step = {"first_epoch_seconds": 1.0, "seconds_per_epoch": 0.1, "milliseconds_per_step": 10.0}
    epochs = {"n_spectra": 1024, "batch_size": 512, "steps_per_epoch": 2, "autoencoder": step, "mapper": step}
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "epoch_x.json").write_text(json.dumps(run | {"epoch_timing": epochs}))
    table = recorded_epochs(tmp_path)
    assert len(table) == 1 and table.loc[0, "device"] == "X"
    assert table.loc[0, "autoencoder s/epoch at 164,000"] == pytest.approx(10.0 * 321 / 1000)  # ⌈164000/512⌉ steps
