"""Papermill sweeps on Dask: expansion, names, failures kept apart, resume, the report."""

import json

import nbformat
import pandas as pd
import pytest

from specgen.cli import main
from specgen.studies.learning_curve import learning_curve
from specgen.studies.sweeps import (
    Sweep,
    SweepError,
    SweepFailed,
    check_done,
    generator_point,
    point_name,
    run_sweep,
    sweep_report,
)

NOTEBOOK = [
    ("code", "shape = 'x'\nsize = 1\nroot = None", ["parameters"]),
    # every execution leaves a line, so that a test can count how often a point ran, and how its kernel is reached
    ("code", "import pathlib\nfrom ipykernel.connect import get_connection_info\n"
             "with open(pathlib.Path(root) / 'executions.log', 'a') as log:\n"
             "    log.write(f\"ran over {get_connection_info(unpack=True)['transport']}\\n\")", []),
    ("code", "if shape == 'broken':\n    raise ValueError(f'no such shape: {shape}')", []),
]


@pytest.fixture
def spec(tmp_path):
    """A sweep of a two-second notebook over 2 × 2 points, one of the shapes failing."""
    (tmp_path / "_toc.yml").write_text("root: intro\n")  # marks tmp_path as the project root
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": kernel})
    for kind, source, tags in NOTEBOOK:
        notebook.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": tags}))
    nbformat.write(notebook, tmp_path / "toy.ipynb")
    path = tmp_path / "sweep.yaml"
    path.write_text(
        "notebooks: toy.ipynb\nparameters: {size: 3}\naxes:\n  shape: [round, broken]\n  seed: [1, 2]\n"
        "runs: runs\nworkers: 2\nkernel: python3\n"
    )
    return path


def executions(runs, point):
    return (runs / point / "executions.log").read_text().count("ran")


def test_points_are_every_combination_named_by_their_values(spec):
    sweep = Sweep.read(spec)
    assert [p.name for p in sweep.points()] == ["seed=1,shape=round", "seed=1,shape=broken",
                                                "seed=2,shape=round", "seed=2,shape=broken"]
    assert sweep.points()[0].parameters == {"size": 3, "seed": 1, "shape": "round"}
    assert point_name({"latent": 10, "grid": "a/b c"}) == "grid=a_b_c,latent=10"


def test_bad_sweep_files_are_refused(tmp_path, spec):
    for text, message in [("notebooks: []\n", "at least one notebook"), ("notebooks: nope.ipynb\n", "no notebook"),
                          ("notebooks: toy.ipynb\naxes: {a: 1}\n", "non-empty list"), ("notebok: x\n", "unknown key")]:
        (tmp_path / "bad.yaml").write_text(text)
        with pytest.raises(SweepError, match=message):
            Sweep.read(tmp_path / "bad.yaml")


def test_a_failed_point_is_recorded_and_stops_no_other_and_a_rerun_redoes_only_what_is_not_done(spec):
    sweep = Sweep.read(spec)
    report = run_sweep(sweep, progress=False).set_index("point")
    assert report.loc["seed=1,shape=round", "state"] == "done" and report.loc["seed=2,shape=round", "state"] == "done"
    assert report.loc["seed=1,shape=broken", "state"] == "failed"
    assert "no such shape: broken" in report.loc["seed=1,shape=broken", "error"]
    status = json.loads((sweep.runs / "seed=1,shape=broken" / "status.json").read_text())
    assert status["traceback"].startswith("Traceback") and status["seconds"] > 0
    assert (sweep.runs / "seed=1,shape=round" / "toy.ipynb").exists()

    (sweep.runs / "seed=2,shape=round" / "status.json").unlink()  # as if killed while it ran
    run_sweep(sweep, progress=False)
    assert executions(sweep.runs, "seed=1,shape=round") == 1  # done: not redone
    assert executions(sweep.runs, "seed=2,shape=round") == 2  # interrupted: redone
    assert executions(sweep.runs, "seed=1,shape=broken") == 2  # failed: tried again


def test_points_reach_their_kernels_through_socket_files_not_tcp_ports(spec):
    """Two points start kernels at once: over TCP both could be handed the same free ports."""
    sweep = Sweep.read(spec)
    run_sweep(sweep, progress=False)
    assert (sweep.runs / "seed=1,shape=round" / "executions.log").read_text() == "ran over ipc\n"


def test_cli_sweep_and_report(spec, capsys):
    assert main(["sweep", str(spec)]) == 0
    csv = spec.parent / "report.csv"
    assert main(["sweep-report", str(spec.parent / "runs"), "--csv", str(csv)]) == 0
    table = pd.read_csv(csv)
    assert sorted(table["state"]) == ["done", "done", "failed", "failed"] and set(table["size"]) == {3}
    assert sweep_report(spec.parent / "runs").shape[0] == 4


def test_a_list_of_axis_blocks_is_the_union_of_their_combinations(spec):
    blocks = "axes:\n  - {shape: [round], seed: [1, 2]}\n  - {shape: [round, flat], seed: [2]}\n"
    spec.write_text(spec.read_text().replace("axes:\n  shape: [round, broken]\n  seed: [1, 2]\n", blocks))
    names = [p.name for p in Sweep.read(spec).points()]
    assert names == ["seed=1,shape=round", "seed=2,shape=round", "seed=2,shape=flat"]


def test_check_done_passes_a_finished_report_and_names_the_points_that_are_not():
    done = pd.DataFrame({"point": ["a=1", "a=2"], "state": ["done", "done"], "seconds": [1.0, 2.0]})
    assert check_done(done, "runs") is done
    report = pd.concat([done, pd.DataFrame({"point": ["a=3"], "state": ["failed"], "error": ["ValueError: boom"]})])
    with pytest.raises(SweepFailed, match="status.json in runs/x") as caught:
        check_done(report, "runs/x")
    assert "a=3" in str(caught.value) and "ValueError: boom" in str(caught.value)
    assert "a=1" not in str(caught.value) and isinstance(caught.value, RuntimeError)
    assert check_done(pd.DataFrame(), "runs").empty  # no point yet: nothing unfinished


def test_generator_point_is_a_learning_curve_row_of_its_provenance():
    provenance = {
        "metrics": {"test": {"gen_mae": 3e-3, "gen_p99_abs": 2e-2, "ae_mae": 1e-3, "mean_spectrum_mae": 4e-2}},
        "config": {"latent": 10, "recipe": "small_grid"},
        "training_grid": {"n_spectra": 120, "n_stars": 12, "path": "train.h5"},
    }
    row = generator_point(provenance, "chapter 2")
    assert row == provenance["metrics"]["test"] | {"point": "chapter 2", "kind": "paper", "latent": 10,
                                                   "n_train_spectra": 120, "n_train_stars": 12}
    factorised = generator_point({**provenance, "kind": "factorised", "config": {"hidden": [300, 300]}}, "chapter 4")
    assert factorised["kind"] == "factorised" and factorised["latent"] is None  # a kind without a latent space
    report = pd.DataFrame([{"point": "n_stars=6", "state": "done", "n_stars": 6, "ci.gen_mae": 5e-3,
                            "ci.n_train_spectra": 60, "ci.n_train_stars": 6}])
    curve = learning_curve(report, "ci", row).set_index("point")
    assert curve.loc["chapter 2", "gen_mae"] == 3e-3 and curve.loc["chapter 2", "n_train_stars"] == 12
    assert list(curve.index) == ["n_stars=6", "chapter 2"]  # sorted by training spectra
