"""The grid file format: round trip, errors that name the problem, resumable appends, ASCII import."""

import h5py
import numpy as np
import pytest

from specgen.constants import RVS_WAVELENGTH
from specgen.grid import (
    Grid,
    GridAppender,
    GridError,
    as_grid,
    import_ascii,
    read_attrs,
    read_grid,
    write_grid,
)
from specgen.labels import LABEL_NAMES, sample_uniform


def make_grid(n=5, seed=0):
    rng = np.random.default_rng(seed)
    flux = (1 - 0.3 * rng.random((n, RVS_WAVELENGTH.size))).astype(np.float32)
    return Grid(RVS_WAVELENGTH, flux, sample_uniform(n, seed, LABEL_NAMES), LABEL_NAMES, np.arange(n))


def test_round_trip_keeps_arrays_names_and_provenance(tmp_path):
    grid = make_grid()
    path = write_grid(tmp_path / "g.h5", grid, {"code": "test", "seed": 7})
    back = read_grid(path)
    np.testing.assert_array_equal(back.flux, grid.flux)
    np.testing.assert_array_equal(back.labels, grid.labels)
    np.testing.assert_array_equal(back.wavelength, RVS_WAVELENGTH)
    assert back.label_names == LABEL_NAMES
    assert back.attrs["code"] == "test" and back.attrs["seed"] == 7
    assert back.attrs["complete"] and back.attrs["label_units"]["teff"] == "K"
    with h5py.File(path) as f:
        assert f["wavelength"].attrs["unit"] == "Angstrom"
    assert read_grid(path, rows=slice(1, 3)).labels.shape == (2, 6)
    assert not (tmp_path / "g.h5.partial").exists()


def test_label_by_name():
    grid = make_grid()
    np.testing.assert_array_equal(grid.label("m_h"), grid.labels[:, 3])
    with pytest.raises(KeyError, match="no label 'age'"):
        grid.label("age")


@pytest.mark.parametrize("missing", ["flux", "labels", "wavelength"])
def test_missing_dataset_is_named(tmp_path, missing):
    path = write_grid(tmp_path / "g.h5", make_grid())
    with h5py.File(path, "r+") as f:
        del f[missing]
    with pytest.raises(GridError, match=f"missing dataset /{missing}"):
        read_grid(path)


def test_broken_and_absent_files(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all")
    with pytest.raises(GridError, match="not a readable HDF5"):
        read_grid(bad)
    with pytest.raises(FileNotFoundError):
        read_grid(tmp_path / "absent.h5")


def test_mismatched_shapes_are_refused():
    grid = make_grid()
    with pytest.raises(GridError, match="labels must have shape"):
        Grid(RVS_WAVELENGTH, grid.flux, grid.labels[:, :5])
    with pytest.raises(GridError, match="flux must have shape"):
        Grid(RVS_WAVELENGTH, grid.flux[:, :100], grid.labels)
    with pytest.raises(GridError, match="strictly increasing"):
        Grid(RVS_WAVELENGTH[::-1], grid.flux, grid.labels)


def test_interrupted_append_resumes_without_loss_or_duplicates(tmp_path):
    """Rows written after the last commit (a kill mid-append) are dropped on reopening."""
    grid, path = make_grid(6), tmp_path / "g.h5"
    with GridAppender(path, RVS_WAVELENGTH) as out:
        out.append(grid.flux[:2], grid.labels[:2], 0, {"star_id": 0, "note": ""})
        # simulate a process killed half-way through the next append: data grown, not committed
        out._file["flux"].resize(3, axis=0)
        out._file["labels"].resize(3, axis=0)
        out._file["stars/star_id"].resize(2, axis=0)
    with pytest.raises(GridError, match="incomplete"):
        read_grid(path)
    assert len(read_grid(path, allow_incomplete=True)) == 2
    with GridAppender(path, RVS_WAVELENGTH) as out:
        assert out.n_rows == 2 and out.logged_star_ids().tolist() == [0]
        out.append(grid.flux[2:], grid.labels[2:], 1, {"star_id": 1, "note": "second"})
        out.finish()
    back = read_grid(path)
    np.testing.assert_array_equal(back.flux, grid.flux)
    assert back.star_id.tolist() == [0, 0, 1, 1, 1, 1]
    with h5py.File(path) as f:
        assert [n.decode() for n in f["stars/note"][:]] == ["", "second"]


def test_append_refuses_bad_rows(tmp_path):
    grid = make_grid(2)
    with GridAppender(tmp_path / "g.h5", RVS_WAVELENGTH) as out:
        flux = grid.flux.copy()
        flux[0, 5] = np.nan
        with pytest.raises(GridError, match="NaN"):
            out.append(flux, grid.labels, 0)
        with pytest.raises(GridError, match="does not match"):
            out.append(grid.flux[:1], grid.labels, 0)
        assert out.n_rows == 0


def test_resume_refuses_another_wavelength_grid(tmp_path):
    path = tmp_path / "g.h5"
    GridAppender(path, RVS_WAVELENGTH).close()
    with pytest.raises(GridError, match="another wavelength grid"):
        GridAppender(path, RVS_WAVELENGTH[:100])


def test_import_ascii_resamples_and_keeps_label_names(tmp_path):
    """Another code's spectra, on a finer grid, with its own label set."""
    wave = np.arange(8390.0, 8810.0, 0.01)
    rows = []
    for i, teff in enumerate([5000.0, 6000.0]):
        flux = 1 - 0.5 * np.exp(-0.5 * ((wave - 8542.09) / 0.3) ** 2) * (i + 1) / 2
        np.savetxt(tmp_path / f"s{i}.spec", np.c_[wave, flux], header="wavelength flux")
        rows.append(f"s{i}.spec,{teff},4.0,0.0")
    (tmp_path / "labels.csv").write_text("file,teff,logg,m_h\n" + "\n".join(rows) + "\n")
    path = import_ascii(tmp_path, tmp_path / "labels.csv", tmp_path / "imported.h5", code="SYNSPEC 54")
    grid = read_grid(path)
    assert grid.label_names == ("teff", "logg", "m_h")
    assert grid.flux.shape == (2, 4000)
    i_line = np.argmin(np.abs(RVS_WAVELENGTH - 8542.1))
    assert grid.flux[1, i_line] == pytest.approx(0.5, abs=0.01)
    assert read_attrs(path)["code"] == "SYNSPEC 54"


def test_import_ascii_names_the_bad_file(tmp_path):
    np.savetxt(tmp_path / "short.spec", np.c_[np.arange(8500.0, 8600.0), np.ones(100)])
    (tmp_path / "labels.csv").write_text("file,teff\nshort.spec,5000\n")
    with pytest.raises(GridError, match="short.spec covers"):
        import_ascii(tmp_path, tmp_path / "labels.csv", tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()


def test_first_stars_are_nested_and_keep_every_row_of_a_star():
    star_id = np.array([7, 7, 3, 3, 3, 9, 1, 1, 9, 4])
    grid = Grid(np.arange(3.0), np.zeros((10, 3), np.float32), np.zeros((10, 1)), ("teff",), star_id)
    two, three = grid.first_stars(2), grid.first_stars(3)
    assert list(two.star_id) == [7, 7, 3, 3, 3] and list(three.star_id) == [7, 7, 3, 3, 3, 9, 9]
    with pytest.raises(GridError, match="holds 5"):
        grid.first_stars(6)


@pytest.mark.parametrize("use", ["training", "evaluation"])
def test_non_finite_flux_is_refused_naming_its_rows(tmp_path, use):
    path = write_grid(tmp_path / "g.h5", make_grid(14))
    with h5py.File(path, "r+") as f:  # as another code's file may hold them: write_grid refuses to
        f["flux"][2, 7] = np.nan
        f["flux"][11, 0] = np.inf
    with pytest.raises(GridError, match=r"g\.h5: non-finite \(NaN or inf\) flux in rows 2, 11;"):
        as_grid(path, use)
    assert read_grid(path).flux.shape == (14, RVS_WAVELENGTH.size)  # reading alone still works (specgen info)


def test_negative_flux_is_refused_for_training_only():
    grid = make_grid(30)
    grid.flux[[4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 25, 29], 100] = -0.01
    assert grid.checked_for("evaluation") is grid
    shown = r"rows 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, … \(12 in all\)"
    with pytest.raises(GridError, match=rf"the grid: negative flux in {shown}"):
        grid.checked_for("training")
    grid.flux[:, 100] = 0.0  # a saturated line core is fine
    assert grid.checked_for("training") is grid


def test_rows_with_the_same_intrinsic_labels_are_one_star_without_star_ids(tmp_path):
    """Another code's grid with broadened variants but no /star_id: its variants stay one star in
    files, star counts, first_stars and splits."""
    intrinsic = sample_uniform(3, 4, ("teff", "logg", "m_h", "xi_t"))
    star = np.array([2, 0, 1, 0, 2, 1])  # interleaved variants of three stars
    broadening = sample_uniform(6, 5, ("vsini", "resolution"))
    labels = np.column_stack([intrinsic[star, :2], broadening[:, 0], intrinsic[star, 2:], broadening[:, 1]])
    flux = np.ones((6, RVS_WAVELENGTH.size), np.float32)
    grid = Grid(RVS_WAVELENGTH, flux, labels, LABEL_NAMES)
    ids = grid.star_ids()
    assert ids.tolist() == [0, 1, 2, 1, 0, 2]  # numbered by first appearance
    assert read_grid(write_grid(tmp_path / "g.h5", grid)).star_id.tolist() == ids.tolist()
    assert len(grid.first_stars(2)) == 4
    labels_only = Grid(RVS_WAVELENGTH, flux, labels[:, :2], ("teff", "logg"))  # no intrinsic set: a star per row
    assert labels_only.star_ids().tolist() == list(range(6))


def test_noise_is_seeded_and_of_the_asked_size():
    grid = make_grid(200)
    noisy = grid.with_noise(50.0, seed=1)
    assert np.array_equal(noisy.flux, grid.with_noise(50.0, seed=1).flux) and noisy.labels is grid.labels
    assert np.std(noisy.flux - grid.flux) == pytest.approx(1 / 50, rel=0.01)
    with pytest.raises(ValueError, match="S/N must be positive"):
        grid.with_noise(0.0, seed=1)
