"""Observed spectra: read them, bring them to air wavelengths in Å, and resample them onto a model's grid.

:func:`read_spectrum` reads

* the Gaia archive's ``rvs_mean_spectrum`` product (DR3) as CSV, ECSV, FITS table or VOTable:
  columns ``wavelength`` (nm, vacuum), ``flux``, ``flux_error`` and ``source_id``; R ≈ 11,500;
* any table with ``wavelength`` and ``flux`` columns (and optionally ``flux_error``), read by astropy;
* a two- or three-column ASCII spectrum: wavelength (Å), flux, optionally its 1σ error;
* a 1-D FITS image with a linear WCS (``CRVAL1``, ``CDELT1`` or ``CD1_1``, ``CRPIX1``; ``CUNIT1``;
  ``CTYPE1`` ``AWAV`` for air, ``WAVE`` for vacuum).

Wavelengths come back in Å, in air: vacuum wavelengths are converted with the IAU standard
formula (Morton 2000, ApJS 130, 403, after Ciddor 1996), :func:`vacuum_to_air`.
:meth:`ObservedSpectrum.on_grid` then resamples onto a model's wavelengths, in the model's medium
(taking the observed ones to vacuum with :func:`air_to_vacuum` for a vacuum model), leaving masked
(NaN, σ = ∞) every pixel that is outside the observed range or next to a missing one, so that
:func:`specgen.fit.chi2.fit_labels` ignores it.

    star = read_spectrum("gaiaDR3rvs_Kepler-93.csv")        # Å (air), flux, σ, metadata
    flux, sigma = star.on_grid(emulator.wavelength, emulator.medium)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

#: Speed of light (km/s).
from specgen.constants import C_KMS
from specgen.grid import check_medium

#: Resolving power of the Gaia RVS instrument (Cropper et al. 2018).
GAIA_RVS_RESOLUTION = 11_500.0
#: The book's worked example: the Gaia DR3 RVS spectrum of Kepler-93 (citation in its README).
EXAMPLE_SPECTRUM = Path(__file__).resolve().parents[1] / "data" / "observed" / "gaiaDR3rvs_Kepler-93.csv"
#: Wavelength units astropy may report for a column or WCS axis, in Å.
_ANGSTROM_PER = {"angstrom": 1.0, "aa": 1.0, "a": 1.0, "nm": 10.0, "um": 1e4, "micron": 1e4, "m": 1e10}
_TABLE_SUFFIXES = {".csv", ".ecsv", ".vot", ".xml", ".votable"}
_FITS_SUFFIXES = {".fits", ".fit", ".fts", ".fits.gz", ".fit.gz"}
#: File names :func:`read_spectra` takes from a folder.
SPECTRUM_SUFFIXES = _TABLE_SUFFIXES | _FITS_SUFFIXES | {".txt", ".dat", ".asc"}

Medium = Literal["air", "vacuum"]


class SpectrumError(ValueError):
    """A spectrum file that cannot be read as a spectrum: says which file and why."""


#: Fixed-point steps of :func:`air_to_vacuum`: each shrinks the error by λ·|dn/dλ| < 2e-4 above 2000 Å.
_AIR_TO_VACUUM_STEPS = 3


def _refractive_index(vacuum: np.ndarray) -> np.ndarray:
    """n of standard air at vacuum wavelengths (Å): 1 + 8.34254e-5 + 2.406147e-2 / (130 − s²)
    + 1.5998e-4 / (38.9 − s²), s = 10⁴ Å / λ_vac (Morton 2000, Eq. 3; valid above 2000 Å)."""
    s2 = (1e4 / vacuum) ** 2
    return 1 + 8.34254e-5 + 2.406147e-2 / (130 - s2) + 1.5998e-4 / (38.9 - s2)


def vacuum_to_air(wavelength: np.ndarray) -> np.ndarray:
    """Air wavelengths (Å) of vacuum wavelengths (Å): the IAU standard λ_air = λ_vac / n(λ_vac)
    (Morton 2000, ApJS 130, 403, Eq. 3; valid above 2000 Å)."""
    wavelength = np.asarray(wavelength, dtype=np.float64)
    return wavelength / _refractive_index(wavelength)


def air_to_vacuum(wavelength: np.ndarray) -> np.ndarray:
    """Vacuum wavelengths (Å) of air wavelengths (Å): the inverse of :func:`vacuum_to_air`, the same
    formula solved for λ_vac = λ_air · n(λ_vac) by fixed-point steps from λ_vac = λ_air; the round
    trip returns its input to 1e-11 Å (float64 rounding) from 2000 Å to 3 µm."""
    air = np.asarray(wavelength, dtype=np.float64)
    vacuum = air
    for _ in range(_AIR_TO_VACUUM_STEPS):
        vacuum = air * _refractive_index(vacuum)
    return vacuum


@dataclass(frozen=True)
class ObservedSpectrum:
    """One observed spectrum: ``wavelength`` in Å (air, increasing), continuum-normalised ``flux``
    and its 1σ ``uncertainty`` (NaN where unknown), and ``meta``: ``path``, ``source_id``,
    ``medium`` of the file (air or vacuum), ``instrument`` and ``resolution`` (λ/Δλ) when known."""

    wavelength: np.ndarray
    flux: np.ndarray
    uncertainty: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def resolution(self) -> float | None:
        return self.meta.get("resolution")

    def wavelength_in(self, medium: Medium) -> np.ndarray:
        """The observed wavelengths (Å) in ``medium``: as they are in air, :func:`air_to_vacuum` of them in vacuum."""
        return air_to_vacuum(self.wavelength) if check_medium(medium, "medium") == "vacuum" else self.wavelength

    def shifted(self, velocity: float) -> ObservedSpectrum:
        """The spectrum moved to the rest frame of a source receding at ``velocity`` (km/s):
        wavelengths divided by 1 + v/c."""
        return replace(self, wavelength=self.wavelength / (1 + velocity / C_KMS))

    def on_grid(self, wavelength: np.ndarray, medium: Medium = "air") -> tuple[np.ndarray, np.ndarray]:
        """Flux and 1σ on ``wavelength`` (Å in ``medium``, to which the observed air wavelengths are
        taken by :meth:`wavelength_in`), linearly interpolated.

        A pixel outside the observed range, or between two observed pixels one of which has a
        non-finite flux, is masked: NaN flux and infinite σ. Where the file gives no uncertainty σ
        is NaN (pass your own ``sigma`` to the fit). The flux f = (1 − w) f_i + w f_{i+1}, a
        fraction w of the way from observed pixel i to i + 1, has the variance
        (1 − w)² σ_i² + w² σ_{i+1}² for independent pixels, and σ is its square root: the observed
        σ on an observed pixel, √2 smaller halfway between two of equal σ (their mean is less noisy
        than either). So χ² has the expectation 1 per pixel, and χ²/dof stays near 1, whatever the
        sub-pixel offset between the grids. Neighbouring resampled pixels share observed ones and
        correlate (by 1/2 at w = 1/2 between grids of one step), which χ² ignores: χ²/dof scatters
        more than for independent pixels, and the fitted uncertainties are optimistic."""
        wavelength, observed = np.asarray(wavelength, dtype=np.float64), self.wavelength_in(medium)
        right = np.clip(np.searchsorted(observed, wavelength), 1, len(observed) - 1)
        left = right - 1
        inside = (wavelength >= observed[0]) & (wavelength <= observed[-1])
        usable = inside & np.isfinite(self.flux[left]) & np.isfinite(self.flux[right])
        weight = (wavelength - observed[left]) / (observed[right] - observed[left])
        flux = (1 - weight) * self.flux[left] + weight * self.flux[right]
        variance = (1 - weight) ** 2 * self.uncertainty[left] ** 2 + weight**2 * self.uncertainty[right] ** 2
        return np.where(usable, flux, np.nan), np.where(usable, np.sqrt(variance), np.inf)


def read_spectrum(
    path: str | os.PathLike,
    *,
    medium: Medium | None = None,
    resolution: float | None = None,
    source_id: int | None = None,
) -> ObservedSpectrum:
    """Read one observed spectrum (formats in the module docstring), in Å and air.

    ``medium`` says whether the file's wavelengths are in air or vacuum where the file does not
    (default: vacuum for Gaia products, air otherwise); ``resolution`` (λ/Δλ) overrides what is
    known from the instrument. A file holding several Gaia sources needs ``source_id``.
    Raises :class:`SpectrumError` naming the file and the problem."""
    spectra = _read_file(Path(path), medium, resolution)
    sources = [spectrum.meta.get("source_id") for spectrum in spectra]
    if source_id is not None:
        if source_id not in sources:
            raise SpectrumError(f"{path}: no source {source_id} (sources: {sources})")
        return spectra[sources.index(source_id)]
    if len(spectra) > 1:
        raise SpectrumError(f"{path} holds {len(spectra)} sources: pass source_id (one of {sources})")
    return spectra[0]


def read_spectra(
    path: str | os.PathLike, *, medium: Medium | None = None, resolution: float | None = None
) -> list[ObservedSpectrum]:
    """Every spectrum of a folder (its files with a known suffix, in name order; see
    :data:`SPECTRUM_SUFFIXES`), or of a file (one per source of a Gaia table), as :func:`read_spectrum`."""
    path = Path(path)
    if not path.is_dir():
        return _read_file(path, medium, resolution)
    files = sorted(p for p in path.iterdir() if p.is_file() and _suffix(p) in SPECTRUM_SUFFIXES)
    if not files:
        raise SpectrumError(f"{path}: no spectrum files ({', '.join(sorted(SPECTRUM_SUFFIXES))})")
    return [spectrum for file in files for spectrum in _read_file(file, medium, resolution)]


def _suffix(path: Path) -> str:
    return "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()


def _read_file(path: Path, medium: Medium | None, resolution: float | None) -> list[ObservedSpectrum]:
    """Every spectrum of one file, in Å and air, with ``medium`` and ``resolution`` overriding the file's."""
    if medium not in (None, "air", "vacuum"):
        raise SpectrumError(f"medium must be 'air' or 'vacuum', got {medium!r}")
    if not path.is_file():
        raise FileNotFoundError(f"no spectrum file {path}")
    suffix = _suffix(path)
    try:
        if suffix in _FITS_SUFFIXES and _fits_has_image(path):
            contents = [_read_fits_image(path)]
        elif suffix in _FITS_SUFFIXES or suffix in _TABLE_SUFFIXES and _has_header(path):
            contents = _read_table(path)
        else:
            contents = [_read_ascii(path)]
    except SpectrumError:
        raise
    except (OSError, ValueError, KeyError, IndexError) as error:
        raise SpectrumError(f"{path}: not a readable spectrum ({error})") from error
    overrides = ({"medium": medium} if medium else {}) | ({"resolution": float(resolution)} if resolution else {})
    return [_spectrum(path, *columns, {"path": str(path), **meta, **overrides}) for columns, meta in contents]


def _spectrum(path: Path, wavelength, flux, uncertainty, meta: dict) -> ObservedSpectrum:
    """Check the columns, sort by wavelength and convert vacuum to air."""
    wavelength, flux = np.asarray(wavelength, np.float64), np.asarray(flux, np.float64)
    uncertainty = np.full_like(flux, np.nan) if uncertainty is None else np.asarray(uncertainty, np.float64)
    if not (wavelength.ndim == flux.ndim == uncertainty.ndim == 1 and len(wavelength) == len(flux) == len(uncertainty)):
        raise SpectrumError(f"{path}: wavelength, flux and uncertainty must be 1-D of one length")
    if len(wavelength) < 2 or not np.isfinite(wavelength).all():
        raise SpectrumError(f"{path}: needs at least two pixels with finite wavelengths")
    order = np.argsort(wavelength)
    if np.any(np.diff(wavelength[order]) <= 0):
        raise SpectrumError(f"{path}: repeated wavelengths")
    wavelength = wavelength[order]
    air = vacuum_to_air(wavelength) if meta["medium"] == "vacuum" else wavelength
    return ObservedSpectrum(air, flux[order], uncertainty[order], meta)


def _angstrom_per(unit: Any, path: Path) -> float:
    name = str(unit).strip().lower().replace("ångström", "angstrom")
    if name not in _ANGSTROM_PER:
        raise SpectrumError(f"{path}: unknown wavelength unit {unit!r}")
    return _ANGSTROM_PER[name]


def _read_table(path: Path) -> list[tuple]:
    """Tables with ``wavelength`` and ``flux`` columns (Gaia ``rvs_mean_spectrum`` or alike): one
    (columns, meta) per Gaia source, or one for a table without ``source_id``."""
    from astropy.table import Table

    table = Table.read(path, format="ascii.csv" if path.suffix.lower() == ".csv" else None)
    names = {name.lower(): name for name in table.colnames}
    missing = [name for name in ("wavelength", "flux") if name not in names]
    if missing:
        raise SpectrumError(f"{path}: no column {' or '.join(missing)} (columns: {', '.join(table.colnames)})")
    if "source_id" not in names:
        return [_table_columns(path, table, names, {"medium": "air"}, "angstrom")]
    source_ids = np.asarray(table[names["source_id"]])
    return [
        _table_columns(
            path,
            table[source_ids == source],
            names,
            {"medium": "vacuum", "source_id": int(source), "instrument": "Gaia RVS", "resolution": GAIA_RVS_RESOLUTION},
            "nm",
        )
        for source in dict.fromkeys(source_ids.tolist())  # in file order
    ]


def _table_columns(path: Path, table, names: dict[str, str], meta: dict, default_unit: str) -> tuple:
    def column(name: str) -> np.ndarray:
        return np.ma.filled(np.ma.asarray(table[names[name]], dtype=np.float64), np.nan)

    scale = _angstrom_per(table[names["wavelength"]].unit or default_unit, path)
    error = column("flux_error") if "flux_error" in names else None
    return (column("wavelength") * scale, column("flux"), error), meta


def _has_header(path: Path) -> bool:
    """Whether a text table names its columns (it then needs ``wavelength`` and ``flux``)."""
    if path.suffix.lower() != ".csv":
        return True
    with open(path) as lines:
        first = next((line for line in lines if line.strip() and not line.startswith("#")), "")
    try:
        [float(value) for value in first.split(",")]
    except ValueError:
        return True
    return False


def _read_ascii(path: Path):
    """Two or three whitespace- or comma-separated columns: wavelength (Å), flux, [1σ]."""
    rows = np.genfromtxt(path, comments="#", delimiter="," if path.suffix.lower() == ".csv" else None)
    if rows.ndim != 2 or rows.shape[1] not in (2, 3):
        raise SpectrumError(f"{path}: expected 2 or 3 numeric columns (wavelength Å, flux[, error]), got {rows.shape}")
    return (rows[:, 0], rows[:, 1], rows[:, 2] if rows.shape[1] == 3 else None), {"medium": "air"}


def _fits_has_image(path: Path) -> bool:
    from astropy.io import fits

    with fits.open(path) as hdus:
        return hdus[0].data is not None and hdus[0].data.ndim >= 1


def _read_fits_image(path: Path):
    """A 1-D FITS spectrum with a linear WCS on axis 1."""
    from astropy.io import fits

    with fits.open(path) as hdus:
        header, flux = hdus[0].header, np.squeeze(hdus[0].data).astype(np.float64)
    if flux.ndim != 1:
        raise SpectrumError(f"{path}: the primary image has shape {flux.shape}, not a 1-D spectrum")
    step = header.get("CDELT1", header.get("CD1_1"))
    if "CRVAL1" not in header or step is None:
        raise SpectrumError(f"{path}: no linear wavelength WCS (CRVAL1 and CDELT1 or CD1_1)")
    pixel = np.arange(1, flux.size + 1)
    wavelength = header["CRVAL1"] + (pixel - header.get("CRPIX1", 1.0)) * step
    wavelength = wavelength * _angstrom_per(header.get("CUNIT1", "angstrom"), path)
    ctype = str(header.get("CTYPE1", "")).upper()
    meta = {"medium": "vacuum" if ctype.startswith("WAVE") else "air", "instrument": header.get("INSTRUME")}
    if "OBJECT" in header:
        meta["object"] = header["OBJECT"]
    return (wavelength, flux, None), meta


def measure_velocity(
    spectrum: ObservedSpectrum,
    wavelength: np.ndarray,
    template: np.ndarray,
    *,
    medium: Medium = "air",
    sigma: float | np.ndarray | None = None,
    limit: float = 500.0,
    step: float = 1.0,
) -> tuple[float, float]:
    """Radial velocity (km/s, positive receding) and its 1σ, by χ² of ``spectrum`` against the
    ``template`` flux on ``wavelength`` (Å in ``medium``, rest frame) shifted by v in steps of ``step``
    within ±``limit``, refined by a parabola through the minimum; 1σ where χ² rises by 1.

    σ is the spectrum's own (or ``sigma``). The pixels compared are those with finite flux and σ
    that stay inside ``wavelength`` at every velocity of the scan. Raises :class:`SpectrumError`
    when the best velocity is on the edge of the scan."""
    noise = spectrum.uncertainty if sigma is None else np.broadcast_to(sigma, spectrum.flux.shape)
    doppler, seen = 1 + limit / C_KMS, spectrum.wavelength_in(medium)
    usable = (
        np.isfinite(spectrum.flux) & np.isfinite(noise) & (noise > 0)
        & (seen * doppler > wavelength[0]) & (seen * doppler < wavelength[-1])
        & (seen / doppler > wavelength[0]) & (seen / doppler < wavelength[-1])
    )
    if usable.sum() < 10:
        raise SpectrumError("fewer than 10 pixels of the spectrum overlap the template at every velocity scanned")
    observed, weight, rest = spectrum.flux[usable], 1 / noise[usable] ** 2, seen[usable]
    velocities = np.arange(-limit, limit + step / 2, step)
    chi2 = np.array([
        np.sum(weight * (observed - np.interp(rest / (1 + v / C_KMS), wavelength, template)) ** 2) for v in velocities
    ])
    best = int(np.argmin(chi2))
    if best < 2 or best > len(velocities) - 3:
        raise SpectrumError(f"the best velocity is at the edge of the ±{limit:g} km/s scan: widen the limit")
    around = slice(best - 2, best + 3)
    curvature, slope, _ = np.polyfit(velocities[around] - velocities[best], chi2[around], 2)
    return float(velocities[best] - slope / (2 * curvature)), float(1 / np.sqrt(curvature))
