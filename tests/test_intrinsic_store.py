"""Each star's intrinsic spectrum in the grid file (/intrinsic), and new (v sin i, R) variants drawn from it."""

import h5py
import numpy as np
import pytest

from specgen.cli import main
from specgen.constants import C_KMS, RVS_WAVELENGTH
from specgen.grid import (
    Grid,
    GridAppender,
    GridError,
    IntrinsicSpectra,
    grid_summary,
    read_grid,
    read_intrinsic,
    write_grid,
)
from specgen.labels import INTRINSIC_LABELS, LABEL_NAMES, TABLE1_RANGES
from specgen.synth.database import (
    SYNTHESIS_WAVELENGTH,
    SynthesisPlan,
    store_attrs,
    store_slice,
    synthesize_grid,
)
from specgen.synth.variants import broaden_stored, draw_variants

#: (v sin i [km/s], R): both ends of Tab. 1's ranges, and between.
CASES = [(0.0, 14500.0), (0.0, 5000.0), (300.0, 14500.0), (300.0, 5000.0), (2.0, 11500.0), (50.0, 8000.0),
         (150.0, 6000.0), (10.0, 14400.0)]


@pytest.fixture(scope="module")
def sun_grid(tmp_path_factory):
    """`synthesize_grid` on one solar star (one PySME run, ~20 s), its variants at CASES: broadened from the
    0.5 km/s intrinsic spectrum, as every grid is."""
    path = tmp_path_factory.mktemp("sun") / "sun.h5"
    plan = SynthesisPlan(np.array([[5777.0, 4.44, 0.0, 1.0]]), np.array([CASES]), sampling="given")
    synthesize_grid(path, plan, workers=1, progress=False)
    return path


def old_grid(tmp_path, n=4):
    """A grid file in the format as it was before /intrinsic: rows only."""
    labels = np.tile([5777.0, 4.44, 2.0, 0.0, 1.0, 11500.0], (n, 1))
    return write_grid(tmp_path / "old.h5", Grid(RVS_WAVELENGTH, np.ones((n, RVS_WAVELENGTH.size), np.float32), labels))


@pytest.mark.sme
def test_the_r_max_shortcut_is_exact_within_1e4(sun_grid):
    """The stored spectrum (R = 14,500, no rotation, 2 km/s) broadened to each variant against the grid's own
    rows, broadened from the 0.5 km/s intrinsic spectrum: the same within 1e-4 (measured: < 3e-7)."""
    grid, stored = read_grid(sun_grid), read_intrinsic(sun_grid)
    shortcut = broaden_stored(stored, grid.label("vsini")[np.newaxis], grid.label("resolution")[np.newaxis])
    error = np.abs(shortcut - grid.flux).max(axis=1)
    measured = ", ".join(f"({v:g}, {r:g}): {e:.1e}" for (v, r), e in zip(CASES, error))
    assert error.max() < 1e-4, f"max |ΔF| per (v sin i, R): {measured}"
    assert np.abs(grid.flux - 1).max() > 0.3  # a real spectrum, with deep lines


@pytest.mark.sme
def test_each_star_keeps_its_intrinsic_spectrum_beside_its_variants(sun_grid):
    grid, stored = read_grid(sun_grid), read_intrinsic(sun_grid)
    assert len(stored) == 1 and stored.star_id.tolist() == [0] and set(grid.star_id.tolist()) == {0}
    np.testing.assert_array_equal(stored.labels[0], grid.labels[0, [LABEL_NAMES.index(n) for n in INTRINSIC_LABELS]])
    attrs = stored.attrs
    assert attrs["pre_resolution"] == TABLE1_RANGES["resolution"].high and attrs["velocity_step"] == 2.0
    assert attrs["n_committed"] == 1 and "without rotation" in attrs["description"]
    reach = 300.0 + 5 * C_KMS / 5000 / 2.3548  # km/s: the widest rotation and 5σ of the widest Gaussian
    assert (1 - stored.wavelength[0] / RVS_WAVELENGTH[0]) * C_KMS > reach
    assert (stored.wavelength[-1] / RVS_WAVELENGTH[-1] - 1) * C_KMS > reach
    with h5py.File(sun_grid) as f:
        group = f["intrinsic"]
        assert group["flux"].dtype == np.float32 and group["flux"].attrs["unit"].startswith("continuum")
        assert group["wavelength"].attrs["unit"] == "Angstrom" and group["wavelength"].attrs["medium"] == "air"
        assert '"teff": "K"' in group["labels"].attrs["units"]
        assert group["flux"].id.get_storage_size() <= 30_000  # bytes per star (7,405 float32)
    assert "intrinsic spectra (/intrinsic): 1 stars × 7405 points" in grid_summary(sun_grid)


@pytest.mark.sme
def test_new_variants_are_drawn_in_table1_from_the_stored_spectra(sun_grid, tmp_path):
    out = draw_variants(sun_grid, 5, seed=3, out=tmp_path / "more.h5", progress=False)
    grid, stored = read_grid(out), read_intrinsic(out)
    assert len(grid) == 5 and grid.star_id.tolist() == [0] * 5 and not (tmp_path / "more.h5.partial").exists()
    for name in ("vsini", "resolution"):
        assert TABLE1_RANGES[name].contains(grid.label(name)).all() and np.unique(grid.label(name)).size == 5
    source = read_intrinsic(sun_grid)
    np.testing.assert_array_equal(stored.flux, source.flux)  # a database of the same format
    np.testing.assert_array_equal(grid.labels[:, 0], 5777.0)
    expected = broaden_stored(source, grid.label("vsini")[np.newaxis], grid.label("resolution")[np.newaxis])
    np.testing.assert_allclose(grid.flux, expected, atol=1e-6)
    assert grid.attrs["broadened_from"] == str(sun_grid.resolve()) and grid.attrs["seed"] == 3 and grid.attrs["complete"]
    assert "stored intrinsic spectra" in grid.attrs["method"] and grid.attrs["code_versions"]["pysme"]
    again = read_grid(draw_variants(sun_grid, 5, seed=3, out=tmp_path / "again.h5", progress=False))
    np.testing.assert_array_equal(again.labels, grid.labels)


@pytest.mark.sme
def test_cli_broaden_writes_a_new_grid_and_refuses_clearly(sun_grid, tmp_path, capsys):
    out = tmp_path / "cli.h5"
    assert main(["broaden", str(sun_grid), "--variants", "2", "--seed", "1", "--out", str(out)]) == 0
    assert "2 spectra × 4000 pixels, complete" in capsys.readouterr().out
    assert main(["broaden", str(sun_grid), "--out", str(out)]) == 2
    assert f"specgen broaden: error: {out} exists" in capsys.readouterr().err


def test_broadening_a_grid_without_intrinsic_spectra_is_a_one_line_error(tmp_path, capsys):
    old = old_grid(tmp_path)
    assert main(["broaden", str(old), "--out", str(tmp_path / "new.h5")]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("specgen broaden: error: ") and "keeps no intrinsic spectra (no /intrinsic group)" in last
    assert not any(p.name.startswith("new.h5") for p in tmp_path.iterdir())
    with pytest.raises(SystemExit):
        main(["broaden", str(old), "--variants", "0", "--out", str(tmp_path / "new.h5")])


def test_grids_without_intrinsic_spectra_read_as_before(tmp_path):
    old = old_grid(tmp_path)
    assert read_intrinsic(old) is None
    assert len(read_grid(old)) == 4 and "(/intrinsic)" not in grid_summary(old)


def test_broaden_stored_keeps_to_the_stored_limits():
    wave = SYNTHESIS_WAVELENGTH[store_slice()]
    flat = IntrinsicSpectra(wave, np.ones((1, wave.size), np.float32), np.array([[5777.0, 4.44, 0.0, 1.0]]),
                            np.array([0]), store_attrs())
    np.testing.assert_allclose(broaden_stored(flat, [[0.0, 300.0]], [[14500.0, 5000.0]]), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="R outside 5000–14500"):
        broaden_stored(flat, [0.0], [20000.0])
    with pytest.raises(ValueError, match="v sin i outside 0–300 km/s"):
        broaden_stored(flat, [400.0], [10000.0])


def _store(path, wavelength=np.arange(50.0) + 8380.0):
    return GridAppender(path, RVS_WAVELENGTH, LABEL_NAMES, intrinsic_wavelength=wavelength, intrinsic_attrs={"x": 1})


def test_intrinsic_rows_commit_with_their_star_and_survive_a_kill(tmp_path):
    path, labels = tmp_path / "g.h5", np.tile([5777.0, 4.44, 2.0, 0.0, 1.0, 11500.0], (2, 1))
    flux, intrinsic = np.ones((2, RVS_WAVELENGTH.size)), np.full(50, 0.5)
    with _store(path) as out:
        out.append(flux, labels, 0, {"star_id": 0}, intrinsic)
        out._file["intrinsic/flux"].resize(2, axis=0)  # killed half-way through the next star
        out._file["intrinsic/star_id"].resize(2, axis=0)
    with _store(path) as out:
        assert out.n_intrinsic == 1 and out._file["intrinsic/flux"].shape == (1, 50)
        out.append(flux, labels + [100, 0, 0, 0, 0, 0], 1, {"star_id": 1}, intrinsic + 0.1)
        out.append(flux[:0], labels[:0], 2, {"star_id": 2})  # a rejected star: no intrinsic row
        out.finish()
    stored = read_intrinsic(path)
    assert stored.star_id.tolist() == [0, 1] and stored.labels[:, 0].tolist() == [5777.0, 5877.0]
    np.testing.assert_allclose(stored.flux[:, 0], [0.5, 0.6], rtol=1e-6)
    assert stored.attrs["x"] == 1 and len(read_intrinsic(path, rows=slice(1, None))) == 1


def test_append_refuses_intrinsic_spectra_that_do_not_fit(tmp_path):
    labels = np.tile([5777.0, 4.44, 2.0, 0.0, 1.0, 11500.0], (2, 1))
    flux = np.ones((2, RVS_WAVELENGTH.size))
    with _store(tmp_path / "g.h5") as out:
        with pytest.raises(GridError, match=r"holds \(50,\)"):
            out.append(flux, labels, 0, intrinsic=np.ones(49))
        with pytest.raises(GridError, match="rows of one star"):
            out.append(flux, labels, [0, 1], intrinsic=np.ones(50))
        with pytest.raises(GridError, match="NaN"):
            out.append(flux, labels, 0, intrinsic=np.full(50, np.nan))
        assert out.n_rows == 0 and out.n_intrinsic == 0
    with pytest.raises(GridError, match="another wavelength grid"):
        _store(tmp_path / "g.h5", np.arange(40.0) + 8380.0)
    with GridAppender(tmp_path / "plain.h5", RVS_WAVELENGTH) as out, pytest.raises(GridError, match="no /intrinsic"):
        out.append(flux, labels, 0, intrinsic=np.ones(50))


def test_a_file_begun_without_intrinsic_spectra_gains_them_on_resume(tmp_path):
    path, labels = tmp_path / "g.h5", np.tile([5777.0, 4.44, 2.0, 0.0, 1.0, 11500.0], (1, 1))
    with GridAppender(path, RVS_WAVELENGTH) as out:
        out.append(np.ones((1, RVS_WAVELENGTH.size)), labels, 0, {"star_id": 0})
    with _store(path) as out:
        out.append(np.ones((1, RVS_WAVELENGTH.size)), labels, 1, {"star_id": 1}, np.ones(50))
        out.finish()
    assert read_intrinsic(path).star_id.tolist() == [1] and len(read_grid(path)) == 2
