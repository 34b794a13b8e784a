"""The training database: seeded plans, parallel synthesis on dask, resume after a kill."""

import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from specgen.cli import main
from specgen.grid import GridError, read_attrs, read_grid, read_intrinsic
from specgen.labels import LABEL_NAMES, TABLE1_RANGES
from specgen.synth.database import plan_from_labels, random_plan, synthesize_grid


def test_random_plan_is_seeded_and_inside_table1():
    plan = random_plan(50, 3, seed=5)
    assert plan.n_spectra == 150
    assert plan.fingerprint() == random_plan(50, 3, seed=5).fingerprint()
    assert plan.fingerprint() != random_plan(50, 3, seed=6).fingerprint()
    rows = np.concatenate([plan.labels(i) for i in range(len(plan))])
    for j, name in enumerate(LABEL_NAMES):
        assert TABLE1_RANGES[name].contains(rows[:, j]).all()
    # the variants of a star share its intrinsic labels and differ in v sin i and R
    star = plan.labels(0)
    assert np.all(star[:, [0, 1, 3, 4]] == star[0, [0, 1, 3, 4]])
    assert len(set(star[:, 2])) == 3


def test_a_sobol_plan_draws_other_stars_with_uniform_variants():
    sobol, uniform = random_plan(16, 3, seed=5, sampling="sobol"), random_plan(16, 3, seed=5)
    assert sobol.fingerprint() != uniform.fingerprint() and sobol.sampling == "sobol"
    assert sobol.variants.shape == (16, 3, 2) and np.all(sobol.variants[..., 0] <= 300)
    with pytest.raises(ValueError, match="unknown sampling 'lhs'"):
        random_plan(16, 3, seed=5, sampling="lhs")


def test_plan_from_labels_checks_ranges():
    good = [[5777.0, 4.44, 2.0, 0.0, 1.0, 11500.0]]
    assert plan_from_labels(np.array(good)).labels(0).tolist() == good
    with pytest.raises(ValueError, match="'logg' outside"):
        plan_from_labels(np.array([[5777.0, 6.0, 2.0, 0.0, 1.0, 11500.0]]))


def _synth_command(out, n_stars=3, workers=2):
    return [sys.executable, "-m", "specgen.cli", "synth", "--n-stars", str(n_stars), "--variants", "2",
            "--seed", "11", "--workers", str(workers), "--out", str(out)]


def _committed_stars(path):
    """Stars committed so far by another process (which holds the file open for writing)."""
    try:
        with h5py.File(path, "r", locking=False) as f:
            return int(f.attrs.get("n_stars_committed", 0))
    except (OSError, KeyError):
        return 0


@pytest.mark.sme
def test_killed_synthesis_resumes_without_loss_or_duplicates(tmp_path):
    """Kill `specgen synth` after its first star, rerun it: every star exactly once."""
    out = tmp_path / "grid.h5"
    # one worker, so that stars commit one at a time (rows are written in plan order: with two, a
    # slow first star can hold back the others until all four commit together)
    proc = subprocess.Popen(_synth_command(out, n_stars=4, workers=1), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while _committed_stars(out) < 1 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = _committed_stars(out)
    assert 1 <= first < 4, "the kill should land mid-run"
    assert not read_attrs(out)["complete"]

    assert main(_synth_command(out, n_stars=4)[3:]) == 0
    grid = read_grid(out)
    with h5py.File(out) as f:
        logged = f["stars/star_id"][:].tolist()
        rejected = f["stars/rejected"][:].astype(bool)
    assert sorted(logged) == [0, 1, 2, 3]
    kept = [s for s, r in zip(logged, rejected) if not r]
    assert sorted(set(grid.star_id.tolist())) == sorted(kept)
    assert len(grid) == 2 * len(kept)
    assert len({row.tobytes() for row in grid.flux}) == len(grid)  # no duplicated spectrum
    assert grid.star_id.tolist() == sorted(grid.star_id.tolist())  # plan order, whichever worker finished first
    np.testing.assert_array_equal(np.sort(grid.labels[:, 0]), np.sort(np.repeat(random_plan(4, 2, 11).intrinsic[kept, 0], 2)))
    stored = read_intrinsic(out)  # each kept star's intrinsic spectrum exactly once, in plan order
    assert stored.star_id.tolist() == sorted(kept)
    np.testing.assert_array_equal(stored.labels, random_plan(4, 2, 11).intrinsic[sorted(kept)])


@pytest.mark.sme
def test_complete_grid_is_reused_and_other_parameters_refused(tmp_path):
    out = tmp_path / "grid.h5"
    plan = random_plan(1, 2, seed=3)
    first = synthesize_grid(out, plan, workers=1, progress=False)
    assert not first.reused and first.stars_done == 1
    stamp = os.stat(out).st_mtime_ns
    assert synthesize_grid(out, plan, workers=1, progress=False).reused
    assert os.stat(out).st_mtime_ns == stamp
    with pytest.raises(GridError, match="other parameters"):
        synthesize_grid(out, random_plan(1, 2, seed=4), workers=1, progress=False)


def test_cli_labels_file_errors_are_clear(tmp_path, capsys):
    csv = tmp_path / "stars.csv"
    csv.write_text("teff,logg,vsini,m_h,xi_t\n5777,4.44,2,0,1\n")
    assert main(["synth", "--labels", str(csv), "--out", str(tmp_path / "x.h5")]) == 2
    assert "lacks label column(s) ['resolution']" in capsys.readouterr().err
    csv.write_text("teff,logg,vsini,m_h,xi_t,resolution\n25000,4.44,2,0,1,11500\n")
    assert main(["synth", "--labels", str(csv), "--out", str(tmp_path / "x.h5")]) == 2
    assert "'teff' outside [3600, 15000]" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()
