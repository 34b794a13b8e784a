"""The `specgen` command as a colleague would use it from the README."""

import h5py
import numpy as np

from specgen.cli import main


def test_import_ascii_then_info(tmp_path, capsys):
    wave = np.arange(8395.0, 8805.0, 0.05)
    for i in range(3):
        np.savetxt(tmp_path / f"star{i}.txt", np.c_[wave, 1 - 0.1 * i * np.exp(-((wave - 8542.09) / 0.5) ** 2)])
    (tmp_path / "labels.csv").write_text(
        "file,teff,logg,vsini,m_h,xi_t,resolution\n"
        + "".join(f"star{i}.txt,{5000 + 500 * i},4.0,3.0,0.0,1.0,11500\n" for i in range(3))
    )
    out = tmp_path / "grid.h5"
    assert main(["import-ascii", str(tmp_path), "--labels", str(tmp_path / "labels.csv"), "--out", str(out),
                 "--code", "SYNSPEC 54"]) == 0
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "3 spectra × 4000 pixels, complete" in text
    assert "teff" in text and "5000" in text and "6000" in text
    assert "code: SYNSPEC 54" in text


def test_info_names_a_broken_file(tmp_path, capsys):
    bad = tmp_path / "broken.h5"
    bad.write_text("nonsense")
    assert main(["info", str(bad)]) == 2
    assert "not a readable HDF5 file" in capsys.readouterr().err


def test_train_and_evaluate_refuse_a_nan_pixel_naming_its_row(tmp_path, capsys):
    from specgen.constants import RVS_WAVELENGTH
    from specgen.grid import Grid, write_grid
    from specgen.labels import LABEL_NAMES, sample_uniform

    flux = np.ones((4, RVS_WAVELENGTH.size), np.float32)
    path = write_grid(tmp_path / "g.h5", Grid(RVS_WAVELENGTH, flux, sample_uniform(4, 0, LABEL_NAMES)))
    with h5py.File(path, "r+") as f:
        f["flux"][3, 1234] = np.nan
    assert main(["train", "--grid", str(path), "--out", str(tmp_path / "model"), "--profile", "ci"]) == 2
    err = capsys.readouterr().err
    assert "non-finite (NaN or inf) flux in row 3;" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "model").exists()
