"""The `specgen` command as a colleague would use it from the README."""

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
