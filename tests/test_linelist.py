"""Line data: the Turbospectrum parser, the shipped RVS copy, and SME's conventions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from specgen.synth.linelist import (
    ELEMENTS,
    HYDROGEN_WINDOW,
    METAL_WINDOW,
    LineListError,
    build_shipped_copy,
    load_linelist,
    read_turbospectrum,
    sme_species,
    sme_van_der_waals,
    to_pysme,
)

RAW_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared/data beside the checkout; absent on a user's machine

# Excerpts of the raw files, verbatim: a Ca II isotope block, TiO, and the hydrogen list.
VALD_EXCERPT = """\
'  20.040            '    2         3
'Ca II  '
  8498.020  1.692 -1.429   -7.675    4.0  1.61E+08 'd' 'p'   0.0    1.0 'Ca II LS:3p6.(1S).3d 2D LS:3p6.(1S).4p 2P*'
  8542.088  1.700 -0.476   -7.675    4.0  1.61E+08 'd' 'p'   0.0    1.0 'Ca II LS:3p6.(1S).3d 2D LS:3p6.(1S).4p 2P*'
  8662.138  1.692 -0.736   -7.675    2.0  1.56E+08 'd' 'p'   0.0    1.0 'Ca II LS:3p6.(1S).3d 2D LS:3p6.(1S).4p 2P*'
' 822.000048         '    1         1
'TiO I  '
  8300.077  0.407 -1.128    2.500   29.0  1.09E+07 'X' 'X'   0.0    1.0 'TiO I Hb:8s2.9s1.3p4.1d1 X,3,2,0,15.0,3 Hb:8s2.3p4.4p1.1d1 A,3,3,0,15.0,1'
"""
HYDROGEN_EXCERPT = """\
'01.000000                 '    1     2
'H I  lambda(AA) nblo nbup elo(eV) eup(eV) loggf ident raddamp/from BE 20/11-96'
  8598.396     3   14   12.088   13.530   -1.398   'Pa 14   '  6.31E+08
  8750.476     3   12   12.088   13.505   -1.175   'Pa 12   '  6.31E+08
"""
CA_TRIPLET = {8498.020: -1.429, 8542.088: -0.476, 8662.138: -0.736}  # ⁴⁰Ca II: λ_air (Å), log gf


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lines.list"
    path.write_text(text)
    return path


def test_parser_reads_known_lines(tmp_path):
    lines = read_turbospectrum(write(tmp_path, VALD_EXCERPT))
    assert list(lines["species"]) == ["Ca 2"] * 3 + ["TiO 1"]
    assert list(lines["code"]) == ["20.040"] * 3 + ["822.000048"]
    assert dict(zip(lines["wavelength"][:3], lines["log_gf"][:3])) == CA_TRIPLET
    tio = lines.iloc[3]
    assert (tio.wavelength, tio.e_low, tio.log_gf) == (8300.077, 0.407, -1.128)
    assert (tio.vdw, tio.gamma_rad) == (2.5, 1.09e7)
    assert (lines["n_lower"] == 0).all() and (lines["n_upper"] == 0).all()


def test_parser_reads_hydrogen_quantum_numbers(tmp_path):
    lines = read_turbospectrum(write(tmp_path, HYDROGEN_EXCERPT))
    assert list(lines["species"]) == ["H 1", "H 1"]
    assert list(zip(lines["n_lower"], lines["n_upper"])) == [(3, 14), (3, 12)]
    assert list(lines["log_gf"]) == [-1.398, -1.175]
    assert list(lines["gamma_rad"]) == [6.31e8, 6.31e8]


@pytest.mark.parametrize(
    ("edit", "line_number", "message"),
    [
        (("'    2         3", "'    2         4"), 6, "announced 4 lines"),  # block too short
        (("'    2         3", "'    2         2"), 5, "block header"),  # block too long
        (("-0.476", "-0.4x6"), 4, "could not convert"),
        (("1.61E+08 'd'", "'d'"), 3, "expected 6 numbers"),
    ],
    ids=["fewer lines than announced", "more lines than announced", "bad number", "missing field"],
)
def test_broken_file_names_the_line(tmp_path, edit, line_number, message):
    path = write(tmp_path, VALD_EXCERPT.replace(*edit, 1))
    with pytest.raises(LineListError, match=rf"lines.list:{line_number}: .*{message}"):
        read_turbospectrum(path)


def test_species_names():
    assert sme_species("26.000", 1) == "Fe 1"
    assert sme_species("20.040", 2) == "Ca 2"
    assert sme_species("607.012014", 1) == "CN 1"
    assert sme_species("606.012012", 1) == "C2 1"
    with pytest.raises(LineListError, match="molecule code 840.000"):
        sme_species("840.000", 1)


def test_van_der_waals_conventions():
    # log γ6 at 10⁴ K and ABO σ.α pass through; a factor scales SME's Unsöld width; 0 is Unsöld.
    vdw = np.array([-7.675, 240.249, 2.5, 1.8, 0.0])
    unsold = np.full(5, -8.0)
    expected = [-7.675, 240.249, -8.0 + np.log10(2.5), -8.0 + np.log10(1.8), 0.0]
    np.testing.assert_allclose(sme_van_der_waals(vdw, unsold), expected)


@pytest.fixture(scope="module")
def shipped():
    return load_linelist()


def test_shipped_copy_holds_the_ca_triplet_and_paschen_lines(shipped):
    calcium = shipped[shipped["code"] == "20.040"]
    assert dict(zip(calcium["wavelength"], calcium["log_gf"])) == CA_TRIPLET
    paschen = shipped[shipped["species"] == "H 1"]
    assert (paschen["n_lower"] == 3).all()
    assert sorted(paschen["n_upper"]) == list(range(9, 23))  # Pa 9 (9229 Å) … Pa 22 (8359 Å)
    assert paschen.set_index("n_upper").loc[12, "wavelength"] == 8750.476


def test_shipped_copy_is_sorted_and_windowed(shipped):
    assert shipped["wavelength"].is_monotonic_increasing
    hydrogen = shipped["species"] == "H 1"
    assert shipped.loc[~hydrogen, "wavelength"].between(*METAL_WINDOW).all()
    assert shipped.loc[hydrogen, "wavelength"].between(*HYDROGEN_WINDOW).all()
    molecules = {s for s in shipped["species"] if s.split()[0] not in ELEMENTS}
    assert molecules == {"TiO 1", "CN 1", "C2 1", "OH 1", "CH 1", "MgH 1"}


def test_shipped_unsold_widths_match_the_formula(shipped):
    """Mg I 8736.02 Å (Unsöld × 2.5 in the list): SME's Unsöld width with χ_ion = 7.646 eV."""
    line = shipped[(shipped["species"] == "Mg 1") & (shipped["wavelength"] == 8736.021)].iloc[0]
    e_up = line.e_low + 1e8 / (line.wavelength * 8065.544)  # eV, as SME computes it
    n4_upper, n4_lower = (13.598 / (7.646 - e_up)) ** 2, (13.598 / (7.646 - line.e_low)) ** 2
    c6 = 1.61e-33 * (n4_upper - n4_lower)
    assert line.unsold_log_gamma6 == pytest.approx(np.log10(78654.213 * c6**0.4), abs=0.01)
    assert line.vdw == 2.5


def test_to_pysme_fills_sme_damping_slots(shipped):
    sme_lines = to_pysme(shipped)
    hydrogen = shipped["species"] == "H 1"
    np.testing.assert_array_equal(sme_lines["gamqst"][hydrogen], shipped["n_lower"][hydrogen])
    np.testing.assert_array_equal(sme_lines["gamvw"][hydrogen], shipped["n_upper"][hydrogen])
    metals = ~hydrogen.to_numpy()
    expected = sme_van_der_waals(shipped["vdw"], shipped["unsold_log_gamma6"])[metals]
    np.testing.assert_array_equal(sme_lines["gamvw"][metals], expected)
    assert (sme_lines["gamvw"][metals] < 0).all()  # log γ6 for every line: none read as γ6 itself
    assert sme_lines.medium == "air"
    with pytest.raises(LineListError, match="sorted"):
        to_pysme(shipped.iloc[::-1])


@pytest.mark.sme
@pytest.mark.skipif(not RAW_DATA.is_dir(), reason="raw line lists not available")
def test_shipped_copy_rebuilds_from_the_raw_lists(tmp_path, shipped):
    build_shipped_copy(RAW_DATA, tmp_path / "lines.csv.gz")
    pd.testing.assert_frame_equal(load_linelist(tmp_path / "lines.csv.gz"), shipped)
