"""Line data: the Turbospectrum-format VALD and hydrogen lists, the shipped copy, PySME line lists.

The raw lists (VALD3: Piskunov et al. 1995, Ryabchikova et al. 2015, as distributed with TSFitPy:
Gerber et al. 2023; hydrogen: Turbospectrum, Plez 2012) are parsed into one table with a row per
transition and these columns:

==========  ==========================================================================
species     SME species name, e.g. ``"Fe 1"``, ``"Ca 2"``, ``"TiO 1"``, ``"H 1"``
code        Turbospectrum species code, isotopes after the dot (``"20.040"``, ``"822.000048"``)
wavelength  air wavelength, Å
e_low       lower-level excitation energy, eV
log_gf      log10 of g·f (VALD scales isotopic lines by the isotope fraction)
vdw         van der Waals parameter, Turbospectrum convention (see :func:`sme_van_der_waals`)
gamma_rad   radiative damping constant, s⁻¹
n_lower     principal quantum numbers of hydrogen lines (0 for every other species)
n_upper
==========  ==========================================================================

:func:`build_shipped_copy` keeps the lines that matter for the Gaia RVS range, adds the
Unsöld width SME computes for each (column ``unsold_log_gamma6``, needed to apply
Turbospectrum's Unsöld enhancement factors) and writes ``specgen/data/``;
:func:`load_linelist` reads that copy and :func:`to_pysme` turns a table into SME's line list.
Rebuild with ``python -m specgen.synth.linelist <folder with the raw lists>``.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from pysme.abund import Abund
from pysme.atmosphere.atmosphere import Atmosphere
from pysme.linelist.linelist import LineList
from pysme.sme_synth import SME_DLL

SHIPPED_LINELIST = Path(__file__).resolve().parent.parent / "data" / "vald_rvs_8350_8900.csv.gz"
RAW_FILES = ("vald-8300-8800-for-grid.list", "vald-8800-9300-for-grid.list", "Hlinedata")
METAL_WINDOW = (8350.0, 8900.0)  # Å: the synthesis range 8380–8820 Å plus line wings
# Å: Paschen 9 … 22. The far wings of Pa 9 and 10 still depress 8400–8800 Å by 6e-4 in a
# 10,000 K dwarf; Pa 23 … 28 (< 8350 Å) change it by < 1e-4 but cost a third of the run time.
HYDROGEN_WINDOW = (8350.0, 9300.0)

COLUMNS = ("species", "code", "wavelength", "e_low", "log_gf", "vdw", "gamma_rad", "n_lower", "n_upper")

ELEMENTS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se "
    "Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy "
    "Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U"
).split()

# Turbospectrum molecule codes (Z1 Z2 as two-digit pairs) → names in SME's molecular equilibrium.
MOLECULES = {"106": "CH", "108": "OH", "112": "MgH", "606": "C2", "607": "CN", "822": "TiO"}

_HEADER = re.compile(r"^'\s*(\d+)\.(\d+)\s*'\s+(\d+)\s+(\d+)\s*$")


class LineListError(ValueError):
    """A line list file does not follow the Turbospectrum format."""


def read_turbospectrum(path: str | Path) -> pd.DataFrame:
    """Parse a Turbospectrum-format line list (atoms, molecules, or the hydrogen list).

    Each species block is a header ``'<code>'  <ion>  <n_lines>``, a quoted name line and
    ``n_lines`` transitions. Raises :class:`LineListError` naming the file and line number
    of the first malformed line, and when a block holds fewer or more lines than announced.
    """
    path = Path(path)
    rows: list[tuple] = []
    with path.open() as stream:
        lines = iter(enumerate(stream, start=1))
        for number, text in lines:
            if not text.strip():
                continue
            code, ion, count = _parse_header(path, number, text)
            _skip_name_line(path, lines)
            for _ in range(count):
                number, text = next(lines, (number + 1, ""))
                if not text.strip() or text.lstrip().startswith("'"):
                    raise LineListError(f"{path}:{number}: block {code} announced {count} lines, "
                                        f"found fewer")
                rows.append(_parse_transition(path, number, text, code, ion))
    return pd.DataFrame.from_records(rows, columns=COLUMNS)


def _parse_header(path: Path, number: int, text: str) -> tuple[str, int, int]:
    match = _HEADER.match(text)
    if match is None:
        raise LineListError(f"{path}:{number}: expected a block header "
                            f"\"'<code>' <ion> <n_lines>\", got {text.strip()!r}")
    whole, isotopes, ion, count = match.groups()
    return f"{int(whole)}.{isotopes}", int(ion), int(count)


def _skip_name_line(path: Path, lines) -> None:
    number, text = next(lines, (None, ""))
    if not text.lstrip().startswith("'"):
        raise LineListError(f"{path}:{number}: expected the quoted species name after a header")


def _parse_transition(path: Path, number: int, text: str, code: str, ion: int) -> tuple:
    species = sme_species(code, ion)
    hydrogen = species == "H 1"
    try:
        values = [float(field) for field in text.split("'", 1)[0].split()]
        if hydrogen:  # λ  n_lower  n_upper  E_low  E_up  log gf  'name'  γ_rad
            values.append(float(text.rsplit("'", 1)[1]))
    except (ValueError, IndexError) as error:
        raise LineListError(f"{path}:{number}: {error}") from None
    if len(values) != 6 + hydrogen:  # λ  E_low  log gf  vdW  g_up  γ_rad  'lower' 'upper' ...
        raise LineListError(f"{path}:{number}: expected 6 numbers before the level labels, "
                            f"got {len(values) - hydrogen}")
    if hydrogen:
        wavelength, n_lower, n_upper, e_low, _, log_gf, gamma_rad = values
        return (species, code, wavelength, e_low, log_gf, np.nan, gamma_rad, int(n_lower), int(n_upper))
    wavelength, e_low, log_gf, vdw, _, gamma_rad = values
    return (species, code, wavelength, e_low, log_gf, vdw, gamma_rad, 0, 0)


def sme_species(code: str, ion: int) -> str:
    """SME species name for a Turbospectrum code and ionisation stage (1 = neutral)."""
    whole = code.split(".")[0]
    if int(whole) <= len(ELEMENTS):
        return f"{ELEMENTS[int(whole) - 1]} {ion}"
    if whole not in MOLECULES:
        raise LineListError(f"no SME name for molecule code {code} (see MOLECULES)")
    return f"{MOLECULES[whole]} {ion}"


def build_shipped_copy(folder: str | Path, destination: str | Path = SHIPPED_LINELIST) -> pd.DataFrame:
    """Parse the raw lists in ``folder``, keep the lines of the RVS windows, write ``destination``.

    Metal and molecular lines are kept in :data:`METAL_WINDOW`, Paschen lines in
    :data:`HYDROGEN_WINDOW`, sorted by wavelength (SME requires it). Lines whose upper level
    lies above the ionisation limit are dropped: SME skips them without Stark widths (which
    these lists lack) and writes a ``syntherr.log`` into the working directory about them.
    Returns the table written.
    """
    lines = pd.concat([read_turbospectrum(Path(folder) / name) for name in RAW_FILES], ignore_index=True)
    hydrogen = lines["species"] == "H 1"
    keep = np.where(hydrogen, lines["wavelength"].between(*HYDROGEN_WINDOW),
                    lines["wavelength"].between(*METAL_WINDOW))
    lines = lines[keep].sort_values("wavelength", kind="stable").reset_index(drop=True)
    lines["unsold_log_gamma6"] = sme_unsold_log_gamma6(lines).round(3)
    autoionising = lines["unsold_log_gamma6"].isna() & (lines["species"] != "H 1")
    lines = lines[~autoionising].reset_index(drop=True)
    lines.to_csv(destination, index=False)
    return lines


@lru_cache(maxsize=4)
def _read_shipped(path: Path) -> pd.DataFrame:
    lines = pd.read_csv(path, dtype={"code": str})
    missing = set(COLUMNS + ("unsold_log_gamma6",)) - set(lines.columns)
    if missing:
        raise LineListError(f"{path}: missing columns {sorted(missing)}")
    return lines


def load_linelist(path: str | Path = SHIPPED_LINELIST) -> pd.DataFrame:
    """The line table written by :func:`build_shipped_copy` (read once, a fresh copy each call)."""
    return _read_shipped(Path(path).resolve()).copy()


def line_counts(lines: pd.DataFrame) -> pd.DataFrame:
    """Number of lines and species of each kind (atoms and ions, molecules, hydrogen) in a table."""
    element = lines["species"].str.split().str[0]
    kind = np.where(element == "H", "hydrogen", np.where(element.isin(MOLECULES.values()), "molecules", "atoms and ions"))
    return lines.groupby(kind).agg(lines=("species", "size"), species=("species", "nunique"))


def sme_van_der_waals(vdw: np.ndarray, unsold_log_gamma6: np.ndarray) -> np.ndarray:
    """SME's van der Waals parameter from Turbospectrum's ``vdw``.

    Turbospectrum: ``vdw < 0`` is log10 γ6/N_H (rad s⁻¹ cm³) at 10⁴ K, ``0 < vdw < 20`` a factor
    on the Unsöld γ6, ``vdw ≥ 20`` the ABO cross-section and velocity exponent packed as σ.α.
    SME reads negative values and σ.α (> 10) the same way, but takes a positive value below 10
    as γ6 itself, so an Unsöld factor becomes log10(factor) + SME's Unsöld log γ6.
    """
    vdw = np.asarray(vdw, dtype=float)
    factor = (vdw > 0) & (vdw < 20)
    return np.where(factor, np.asarray(unsold_log_gamma6) + np.log10(np.where(factor, vdw, 1.0)), vdw)


def to_pysme(lines: pd.DataFrame) -> LineList:
    """PySME line list (air wavelengths) from a table with the columns of :func:`load_linelist`.

    SME reads hydrogen lines specially: their Stark and van der Waals slots hold the principal
    quantum numbers of the lower and upper level. Quadratic Stark widths are left to SME (0).
    """
    hydrogen = (lines["species"] == "H 1").to_numpy()
    damping = sme_van_der_waals(lines["vdw"], lines["unsold_log_gamma6"])
    if np.isnan(damping[~hydrogen]).any():
        raise LineListError("an Unsöld factor needs the line's Unsöld width (unsold_log_gamma6)")
    return _pysme_linelist(lines,
                           gamqst=np.where(hydrogen, lines["n_lower"], 0.0),
                           gamvw=np.where(hydrogen, lines["n_upper"], damping))


def _pysme_linelist(lines: pd.DataFrame, gamqst: np.ndarray, gamvw: np.ndarray) -> LineList:
    if not lines["wavelength"].is_monotonic_increasing:
        raise LineListError("SME needs the lines sorted by wavelength")
    data = pd.DataFrame({
        "species": lines["species"].to_numpy(str),
        "wlcent": lines["wavelength"].to_numpy(float),
        "excit": lines["e_low"].to_numpy(float),
        "gflog": lines["log_gf"].to_numpy(float),
        "gamrad": lines["gamma_rad"].to_numpy(float),
        "gamqst": np.asarray(gamqst, float),
        "gamvw": np.asarray(gamvw, float),
    })
    return LineList(data, lineformat="short", medium="air")


# Three isothermal layers of a solar-like photosphere, enough for SME's equation of state.
_EOS_PROBE = Atmosphere(
    method="embedded", geom="PP", depth="RHOX", interp="RHOX", wlstd=5000.0,
    rhox=np.geomspace(0.1, 10.0, 3), temp=np.full(3, 5000.0), xne=np.full(3, 1e13),
    xna=np.full(3, 1e17), rho=np.full(3, 2e-7),
)


def sme_unsold_log_gamma6(lines: pd.DataFrame) -> np.ndarray:
    """log10 γ6/N_H at 10⁴ K in the Unsöld approximation, exactly as SME computes it.

    The width depends only on the line and on the ionisation energy of its species, which SME
    takes from its equation of state: SME is asked for every line with ``gamvw = 0`` under a
    stand-in isothermal model (the model does not enter the result). NaN for hydrogen and for
    lines whose upper level lies above the ionisation limit (SME has no Unsöld width for them).
    Runs in a scratch directory, where SME may leave its ``syntherr.log``.
    """
    hydrogen = (lines["species"] == "H 1").to_numpy()
    probe = _pysme_linelist(lines, gamqst=np.where(hydrogen, lines["n_lower"], 0.0),
                            gamvw=np.where(hydrogen, lines["n_upper"], 0.0))
    dll = SME_DLL()
    with dll.session(), tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
        dll.InputLineList(probe)
        dll.InputModel(5000.0, 4.0, 0.0, _EOS_PROBE)
        dll.InputAbund(Abund.solar())
        dll.Ionization(0)
        dll.InputWaveRange(lines["wavelength"].min() - 1.0, lines["wavelength"].max() + 1.0)
        dll.Opacity()
        dll.ALMAXRange(1e-4)  # evaluates every line, filling in its Unsöld width
        log_gamma6 = dll.OutputLineList()[:, 5]
    if log_gamma6.size != len(lines):
        raise LineListError(f"SME kept {log_gamma6.size} of {len(lines)} lines")
    return np.where(hydrogen | (log_gamma6 >= 0), np.nan, log_gamma6)



def main(argv: Iterable[str] | None = None) -> None:
    """Command line: rebuild the shipped copy from a folder holding the raw lists."""
    parser = argparse.ArgumentParser(description="Write the shipped RVS line list from the raw lists.")
    parser.add_argument("folder", help=f"folder holding {', '.join(RAW_FILES)}")
    parser.add_argument("--destination", default=str(SHIPPED_LINELIST))
    args = parser.parse_args(argv)
    lines = build_shipped_copy(args.folder, args.destination)
    print(f"{len(lines)} lines written to {args.destination}")


if __name__ == "__main__":
    main()
