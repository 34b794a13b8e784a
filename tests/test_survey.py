"""fit_survey() and specgen fit --spectra ... --out: a survey fitted in resumable chunks to a table, on the
16 spectra of the ci test grid and conftest's ci_emulator (2 starts per star, chunks of 4)."""

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from specgen.cli import main
from specgen.constants import VERSION
from specgen.fit import survey
from specgen.fit.survey import SurveyError, fit_survey
from specgen.grid import read_grid
from specgen.model.emulator import Emulator
from specgen.runtime.profiles import get_profile

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

ROOT = Path(__file__).resolve().parents[1]
TEST_GRID = get_profile("ci").data_dir(ROOT) / "test.h5"
N = 16  # spectra in the ci test grid
SETTINGS = {"snr": 50.0, "n_starts": 2, "chunk_size": 4}  # 4 chunks


class Stop(Exception):
    """Stands for an interruption (Ctrl-C, a killed job) between chunks."""


def stop_after(n_chunks: int, seen: list[int]):
    def on_chunk(k: int) -> None:
        seen.append(k)
        if len(seen) == n_chunks:
            raise Stop

    return on_chunk


def label_columns(emulator) -> list[str]:
    return [c for name in emulator.label_names for c in (name, f"{name}_err")]


@pytest.fixture(scope="module")
def model_dir(ci_emulator, tmp_path_factory):
    return ci_emulator.save(tmp_path_factory.mktemp("model") / "emulator")


@pytest.fixture(scope="module")
def reference_file(ci_emulator, tmp_path_factory):
    """An uninterrupted run's Parquet file."""
    return fit_survey(TEST_GRID, ci_emulator, tmp_path_factory.mktemp("reference") / "fits.parquet",
                      progress=False, **SETTINGS)


@pytest.fixture(scope="module")
def reference(reference_file):
    return pd.read_parquet(reference_file)


def test_an_uninterrupted_run_fits_every_row_once(ci_emulator, reference):
    assert reference["row"].tolist() == list(range(N))
    assert (reference["flag"] == "ok").all()
    assert np.isfinite(reference[label_columns(ci_emulator)].to_numpy()).all()
    assert (reference["n_pixels"] == ci_emulator.n_pix).all()


def test_an_interrupted_run_resumes_without_losing_or_refitting_a_star(ci_emulator, reference, tmp_path):
    out = tmp_path / "fits.parquet"
    parts = tmp_path / "fits.parquet.parts"
    first: list[int] = []
    with pytest.raises(Stop):
        fit_survey(TEST_GRID, ci_emulator, out, progress=False, on_chunk=stop_after(2, first), **SETTINGS)
    assert first == [0, 1]
    assert not out.exists() and not (tmp_path / "fits.parquet.partial").exists()  # never a half-written table
    done = sorted(p.name for p in parts.glob("part-*"))
    assert done == ["part-000000.parquet", "part-000001.parquet"]
    mtimes = {name: (parts / name).stat().st_mtime_ns for name in done}
    (parts / "part-000002.parquet.tmp").write_bytes(b"half a part")  # what a kill during a write leaves

    again: list[int] = []
    unchanged: list[bool] = []

    def on_chunk(k: int) -> None:
        again.append(k)
        unchanged.append(all((parts / name).stat().st_mtime_ns == t for name, t in mtimes.items()))

    fit_survey(TEST_GRID, ci_emulator, out, progress=False, on_chunk=on_chunk, **SETTINGS)
    assert again == [2, 3], "the rerun refitted finished chunks, or skipped unfinished ones"
    assert all(unchanged), "the rerun rewrote the parts of finished chunks"
    table = pd.read_parquet(out)
    assert table["row"].tolist() == list(range(N))  # every star exactly once, in grid order
    assert table["row"].is_unique
    pd.testing.assert_frame_equal(table[["row", "flag"]], reference[["row", "flag"]])
    np.testing.assert_allclose(table[label_columns(ci_emulator)], reference[label_columns(ci_emulator)], rtol=1e-6)
    assert not parts.exists()

    calls: list[int] = []  # a third run reuses the complete file
    fit_survey(TEST_GRID, ci_emulator, out, progress=False, on_chunk=calls.append, **SETTINGS)
    assert calls == []


def test_parts_made_with_other_settings_are_refused_in_one_line(ci_emulator, model_dir, tmp_path):
    out = tmp_path / "fits.csv"
    with pytest.raises(Stop):
        fit_survey(TEST_GRID, ci_emulator, out, progress=False, on_chunk=stop_after(1, []), **SETTINGS)
    part = tmp_path / "fits.csv.parts" / "part-000000.parquet"
    before = part.stat().st_mtime_ns
    r = ci_emulator.label_ranges["resolution"]
    for change, named in (({"snr": 40.0}, "snr"), ({"chunk_size": 8}, "chunk_size"),
                          ({"fixed": {"resolution": (r.low + r.high) / 2}}, "fixed")):
        calls: list[int] = []
        with pytest.raises(SurveyError, match=named) as refused:
            fit_survey(TEST_GRID, ci_emulator, out, progress=False, on_chunk=calls.append, **(SETTINGS | change))
        assert "\n" not in str(refused.value) and "other settings" in str(refused.value)
        assert calls == []
    other = Emulator.load(model_dir)  # the same networks, one weight changed
    weights = other.decoder.get_weights()
    weights[0][0, 0] += 0.1
    other.decoder.set_weights(weights)
    with pytest.raises(SurveyError, match="the model's weights differ"):
        fit_survey(TEST_GRID, other, out, progress=False, **SETTINGS)
    assert part.stat().st_mtime_ns == before and not out.exists()


def test_an_interruption_while_a_part_is_written_leaves_no_part(ci_emulator, tmp_path, monkeypatch):
    import pyarrow.parquet

    write = pyarrow.parquet.write_table

    def interrupted(table, where, **options):
        write(table.slice(0, 1), where, **options)  # a file, but not the whole chunk
        raise Stop

    monkeypatch.setattr(pyarrow.parquet, "write_table", interrupted)
    with pytest.raises(Stop):
        fit_survey(TEST_GRID, ci_emulator, tmp_path / "fits.parquet", progress=False, **SETTINGS)
    parts = tmp_path / "fits.parquet.parts"
    assert list(parts.glob("part-*.parquet")) == [] and not (tmp_path / "fits.parquet").exists()


def test_an_interruption_while_the_table_is_assembled_leaves_no_table(ci_emulator, tmp_path, monkeypatch):
    import pyarrow.parquet

    settings = SETTINGS | {"chunk_size": 8}  # 2 chunks
    write, written = pyarrow.parquet.ParquetWriter.write_table, []

    def interrupted(self, table, *args, **kwargs):
        if written:
            raise Stop
        written.append(table.num_rows)
        return write(self, table, *args, **kwargs)

    def arm(k: int) -> None:  # once the last part is written: the next writes are the table's
        if k == 1:
            patch.setattr(pyarrow.parquet.ParquetWriter, "write_table", interrupted)

    out = tmp_path / "fits.parquet"
    with monkeypatch.context() as patch:
        with pytest.raises(Stop):
            fit_survey(TEST_GRID, ci_emulator, out, progress=False, on_chunk=arm, **settings)
    assert written == [8] and not out.exists()
    assert len(list((tmp_path / "fits.parquet.parts").glob("part-*.parquet"))) == 2
    calls: list[int] = []
    fit_survey(TEST_GRID, ci_emulator, out, progress=False, on_chunk=calls.append, **settings)
    assert calls == [] and pd.read_parquet(out)["row"].tolist() == list(range(N))


def test_a_killed_command_leaves_no_table_and_its_rerun_finishes_the_rest(ci_emulator, model_dir, reference, tmp_path):
    out = tmp_path / "fits.parquet"
    parts = tmp_path / "fits.parquet.parts"
    command = [sys.executable, "-m", "specgen.cli", "fit", "--model", str(model_dir), "--spectra", str(TEST_GRID),
               "--out", str(out), "--chunk-size", "4", "--starts", "2", "--snr", "50"]
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3"}
    job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 600
        while len(list(parts.glob("part-*.parquet"))) < 2:
            assert job.poll() is None, f"specgen fit ended early: {job.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "no two chunks in 10 minutes"
            time.sleep(0.02)
        job.send_signal(signal.SIGKILL)
    finally:
        job.kill()
        job.wait()
    assert not out.exists() and not (tmp_path / "fits.parquet.partial").exists()
    done = sorted(int(p.name[5:11]) for p in parts.glob("part-*.parquet"))
    assert 2 <= len(done) < 4
    again: list[int] = []
    fit_survey(TEST_GRID, model_dir, out, progress=False, on_chunk=again.append, **SETTINGS)
    assert sorted(done + again) == [0, 1, 2, 3]
    table = pd.read_parquet(out)
    assert table["row"].tolist() == list(range(N))
    np.testing.assert_allclose(table[label_columns(ci_emulator)], reference[label_columns(ci_emulator)], rtol=1e-6)


def test_bad_spectra_are_flagged_with_a_reason_and_the_rest_fitted(ci_emulator, tmp_path):
    survey = tmp_path / "bad.h5"
    shutil.copy(TEST_GRID, survey)
    with h5py.File(survey, "r+") as f:
        f["flux"][3] = np.nan
        row = f["flux"][6]
        row[1234] = np.inf
        f["flux"][6] = row
        f["flux"][9] = 0.0
    out = fit_survey(survey, ci_emulator, tmp_path / "fits.parquet", progress=False, **(SETTINGS | {"chunk_size": 8}))
    table = pd.read_parquet(out).set_index("row")
    bad = {3: "all_nan", 6: "non_finite", 9: "zero_flux"}
    assert table["flag"][list(bad)].to_dict() == bad
    assert (table["flag"].drop(list(bad)) == "ok").all()
    reasons = table["reason"][list(bad)]
    assert all(reason and "\n" not in reason for reason in reasons)
    assert "8523.40 Å" in reasons[6]  # names the infinite pixel
    labels = table[label_columns(ci_emulator)]
    assert labels.loc[list(bad)].isna().all().all()
    assert np.isfinite(labels.drop(list(bad)).to_numpy()).all()


def test_parquet_and_csv_are_readable_with_units_and_provenance(ci_emulator, model_dir, reference, reference_file,
                                                               tmp_path):
    out = tmp_path / "fits.csv"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(["fit", "--model", str(model_dir), "--spectra", str(TEST_GRID), "--out", str(out),
                     "--chunk-size", "4", "--starts", "2", "--snr", "50"])
    assert code == 0
    table = pd.read_csv(out)
    names = ci_emulator.label_names
    expected = ["row", *[c for n in names for c in (n, f"{n}_err", f"{n}_at_bound")],
                "chi2_dof", "n_pixels", "degenerate", "flag", "reason"]
    assert list(table.columns) == expected == list(reference.columns)
    assert table["row"].tolist() == list(range(N))
    np.testing.assert_allclose(table[label_columns(ci_emulator)], reference[label_columns(ci_emulator)], rtol=1e-6)
    units = ci_emulator.provenance["label_units"]
    sidecar = json.loads((tmp_path / "fits.csv.json").read_text())
    assert sidecar["label_units"] == units and sidecar["units"]["teff_err"] == units["teff"]
    assert sidecar["specgen_version"] == VERSION and sidecar["snr"] == 50.0 and sidecar["fixed"] == {}
    assert sidecar["model"] == str(Path(model_dir).resolve()) and sidecar["survey"] == str(TEST_GRID.resolve())
    assert set(sidecar["flags"]) >= {"ok", "all_nan", "non_finite", "zero_flux", "no_overlap", "unreadable"}

    schema = pq.read_schema(reference_file)
    meta = json.loads(schema.metadata[b"specgen"])
    assert meta["label_units"] == units and meta["specgen_version"] == VERSION
    assert meta["settings"]["chunk_size"] == 4 and meta["settings"]["n_starts"] == 2
    assert schema.field("teff").metadata[b"unit"] == units["teff"].encode()
    assert schema.field("logg_err").metadata[b"unit"] == units["logg"].encode()
    assert meta["survey"] == str(TEST_GRID.resolve()) and meta["model"] is None  # given as an Emulator, not a path


def test_a_folder_of_observed_files_flags_the_bad_ones(ci_emulator, tmp_path):
    folder = tmp_path / "stars"
    folder.mkdir()
    grid = read_grid(TEST_GRID)
    wavelength = ci_emulator.wavelength
    keep = (wavelength > 8450) & (wavelength < 8750)
    rng = np.random.default_rng(3)
    for i in range(3):
        flux = grid.flux[i] + rng.normal(0, 0.02, grid.flux.shape[1])
        np.savetxt(folder / f"good{i}.txt", np.column_stack([wavelength, flux, np.full_like(flux, 0.02)])[keep])
    np.savetxt(folder / "nan.txt", np.column_stack([wavelength, np.full_like(wavelength, np.nan)]))
    np.savetxt(folder / "blue.txt", np.column_stack([wavelength - 3000, grid.flux[0]]))
    (folder / "broken.csv").write_text("this is not\na spectrum\n")
    out = fit_survey(folder, ci_emulator, tmp_path / "fits.parquet", snr=50, n_starts=2, chunk_size=2, progress=False)
    table = pd.read_parquet(out).set_index("file")
    assert list(table.index) == ["blue.txt", "broken.csv", "good0.txt", "good1.txt", "good2.txt", "nan.txt"]
    assert table["flag"].to_dict() == {"blue.txt": "no_overlap", "broken.csv": "unreadable", "good0.txt": "ok",
                                       "good1.txt": "ok", "good2.txt": "ok", "nan.txt": "all_nan"}
    assert "5400" in table["reason"]["blue.txt"] and "broken.csv" in table["reason"]["broken.csv"]
    good = table.loc[["good0.txt", "good1.txt", "good2.txt"]]
    assert np.isfinite(good[label_columns(ci_emulator)].to_numpy()).all()
    assert (good["n_pixels"] == keep.sum()).all()  # the pixels the files cover
    assert table.drop(good.index)[label_columns(ci_emulator)].isna().all().all()


def test_a_folder_at_a_known_resolution_is_fitted_at_it(ci_emulator, tmp_path):
    folder = tmp_path / "stars"
    folder.mkdir()
    grid = read_grid(TEST_GRID)
    for i in range(2):
        np.savetxt(folder / f"star{i}.txt", np.column_stack([grid.wavelength, grid.flux[i]]))
    r = ci_emulator.label_ranges["resolution"]
    held = round(r.low + 0.3 * (r.high - r.low))
    out = fit_survey(folder, ci_emulator, tmp_path / "fits.csv", snr=50, n_starts=2, resolution=held, progress=False)
    table = pd.read_csv(out)
    assert (table["flag"] == "ok").all()
    assert (table["resolution"] == held).all() and table["held"].str.contains("resolution").all()
    free = pd.read_csv(fit_survey(folder, ci_emulator, tmp_path / "free.csv", snr=50, n_starts=2, progress=False))
    assert not (free["resolution"] == held).any()  # without it, R is fitted
    with pytest.raises(SurveyError, match="resolution"):
        fit_survey(folder, ci_emulator, out, snr=50, n_starts=2, resolution=held + 100, progress=False)
    with pytest.raises(SurveyError, match="resolution goes with spectrum files"):
        fit_survey(TEST_GRID, ci_emulator, tmp_path / "grid.csv", resolution=held, progress=False)


def test_chunks_spread_over_a_dask_scheduler_give_the_same_table(ci_emulator, model_dir, reference, tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        out = fit_survey(TEST_GRID, model_dir, tmp_path / "fits.parquet", scheduler=cluster.scheduler_address,
                         progress=False, **SETTINGS)
    assert str(Path(model_dir).resolve()) in survey._LOADED  # the worker fitted, with the model it loaded
    table = pd.read_parquet(out)
    assert table["row"].tolist() == list(range(N))
    np.testing.assert_allclose(table[label_columns(ci_emulator)], reference[label_columns(ci_emulator)], rtol=1e-6)


def test_bad_input_is_refused_in_one_line(ci_emulator, tmp_path):
    with pytest.raises(SurveyError, match=r"unknown extension '\.txt'"):
        fit_survey(TEST_GRID, ci_emulator, tmp_path / "fits.txt")
    short = tmp_path / "short.h5"
    with h5py.File(short, "w") as f:
        f["wavelength"] = np.linspace(8400, 8800, 100)
        f["flux"] = np.ones((3, 100), np.float32)
    with pytest.raises(SurveyError, match="100 pixels") as refused:
        fit_survey(short, ci_emulator, tmp_path / "fits.parquet", progress=False)
    assert "\n" not in str(refused.value)
    (tmp_path / "taken.parquet").write_text("someone else's file")
    with pytest.raises(SurveyError, match="not written by fit_survey"):
        fit_survey(TEST_GRID, ci_emulator, tmp_path / "taken.parquet", progress=False)
    with pytest.raises(SystemExit, match="--out writes the fits of --spectra"):
        main(["fit", "--model", "unused", "--spectrum", str(TEST_GRID), "--out", str(tmp_path / "x.csv")])
