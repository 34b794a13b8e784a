"""The intrinsic spectrum: LTE radiative transfer with PySME (SME: Valenti & Piskunov 1996,
Piskunov & Valenti 2017; PySME: Wehrhahn et al. 2023).

"Intrinsic" means the flux of a non-rotating star seen at infinite resolution, without
macroturbulence: :mod:`specgen.synth.broaden` applies rotation and the instrument afterwards.

SME is told everything and fetches nothing: the model atmosphere is passed as an embedded
plane-parallel column-mass model, the abundances are Asplund et al. (2009) scaled by [M/H] (the
mix of :mod:`specgen.synth.atmospheres`), lines form in LTE, and PySME's stores of atmosphere
grids and NLTE departure coefficients are replaced by a stand-in that raises if touched.
SME's molecular equilibrium covers the TiO, CN, C2, OH, CH and MgH lines of the list.

Air or vacuum: SME takes the line-list wavelengths as they are, hydrogen line centres
included, and returns the spectrum on that scale; only the continuum opacity and the Planck
function are then evaluated 2.4 Å (0.03%) off, which F/F_c does not feel. The lists are in
air, so the spectrum is in air.

Cost, one core: about 20 s for solar-type and cool stars, 5–10 s above 10,000 K. Four fifths of
it in cool stars are the 14 Paschen lines, which SME evaluates at every wavelength point.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from functools import cache

import numpy as np
import pandas as pd

# PySME imports tqdm.auto, which warns in notebooks without ipywidgets; its bars are not used here.
warnings.filterwarnings("ignore", message="IProgress not found")
import pysme  # noqa: E402
from pysme.abund import Abund  # noqa: E402
from pysme.atmosphere.atmosphere import Atmosphere  # noqa: E402
from pysme.linelist.linelist import LineList  # noqa: E402
from pysme.sme import SME_Structure  # noqa: E402
from pysme.sme_synth import SME_DLL  # noqa: E402
from pysme.synthesize import Synthesizer  # noqa: E402

from specgen.constants import C_KMS  # noqa: E402
from specgen.synth.atmospheres import ATMOSPHERE_VERSION, ModelAtmosphere  # noqa: E402
from specgen.synth.linelist import SHIPPED_LINELIST, load_linelist, to_pysme  # noqa: E402

ABUNDANCE_PATTERN = "asplund2009"  # the solar mix of the atmospheres

#: The grid PySME synthesises every star on: Å (air), and km/s per step in ln λ.
SYNTHESIS_RANGE = (8380.0, 8820.0)
SYNTHESIS_STEP = 0.5

# PySME reports every synthesis at INFO level ("Running in LTE", line selection, ...).
logging.getLogger("pysme").setLevel(logging.WARNING)


def synthesize_intrinsic(
    atmosphere: ModelAtmosphere,
    xi_t: float,
    *,
    linelist: pd.DataFrame | None = None,
    wavelength_range: tuple[float, float] = SYNTHESIS_RANGE,
    velocity_step: float = SYNTHESIS_STEP,
) -> tuple[np.ndarray, np.ndarray]:
    """Continuum-normalised intrinsic spectrum F/F_c of ``atmosphere``.

    No rotation, no macroturbulence, infinite resolution. ``xi_t`` is the microturbulence
    (km/s), constant with depth; ``linelist`` a table as returned by
    :func:`~specgen.synth.linelist.load_linelist` (default: the shipped VALD + Paschen list).
    Returns air wavelengths (Å) on a grid uniform in ln λ with steps of ``velocity_step`` km/s,
    from ``wavelength_range[0]`` to at most ``wavelength_range[1]``, and the flux sampled there.

    The default step of 0.5 km/s resolves the narrowest lines (Doppler width ≈ 1 km/s in a
    3600 K giant with ξt = 0): broadened to R = 14,500, that star's spectrum differs from one
    sampled at 0.1 km/s by < 2e-4 (rms 3e-5); at 1 km/s by 1.3e-3, at 2 km/s by 1e-2.
    """
    wave, flux = _synthesize(atmosphere, xi_t, linelist, log_uniform_grid(*wavelength_range, velocity_step))
    return wave, flux


def synthesize_broadened_by_sme(
    atmosphere: ModelAtmosphere,
    xi_t: float,
    vsini: float,
    resolution: float,
    *,
    linelist: pd.DataFrame | None = None,
    wavelength_range: tuple[float, float] = (8380.0, 8820.0),
    velocity_step: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """The spectrum with SME's own rotation and instrument: the reference for the post-broadening.

    SME rotates by integrating its centre-to-limb intensities over the angles ``sme.mu`` (no
    limb-darkening law), then applies a Gaussian of FWHM (λ₀/λ̄)·c/R, λ₀ and λ̄ being the first
    and middle wavelengths of its grid (here R × 1.027 in our convention). Several times
    slower than :func:`synthesize_intrinsic` plus :mod:`~specgen.synth.broaden`.
    """
    grid = log_uniform_grid(*wavelength_range, velocity_step)
    return _synthesize(atmosphere, xi_t, linelist, grid, vsini=vsini, resolution=resolution)


def _synthesize(
    atmosphere: ModelAtmosphere,
    xi_t: float,
    linelist: pd.DataFrame | None,
    wavelength: np.ndarray,
    vsini: float = 0.0,
    resolution: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    if xi_t < 0 or vsini < 0 or resolution < 0:
        raise ValueError(f"need xi_t, vsini, resolution >= 0, got {xi_t}, {vsini}, {resolution}")
    lines = to_pysme(load_linelist() if linelist is None else linelist)
    sme = _sme_structure(atmosphere, xi_t, lines)
    if vsini or resolution:
        sme.vsini, sme.iptype, sme.ipres = vsini, "gauss", resolution
    sme.wave = wavelength
    sme = _synthesizer().synthesize_spectrum(sme)
    return np.array(sme.wave[0], dtype=float), np.array(sme.synth[0], dtype=float)


def log_uniform_grid(start: float, stop: float, velocity_step: float) -> np.ndarray:
    """Wavelengths (Å) from ``start`` to at most ``stop`` with a constant step in km/s."""
    if not 0 < start < stop or velocity_step <= 0:
        raise ValueError(f"need 0 < start < stop and velocity_step > 0, got {start}, {stop}, {velocity_step}")
    n = int(np.floor(np.log(stop / start) * C_KMS / velocity_step)) + 1
    return start * np.exp(np.arange(n) * velocity_step / C_KMS)


def _sme_structure(atmosphere: ModelAtmosphere, xi_t: float, lines: LineList) -> SME_Structure:
    """SME input for one star: atmosphere, abundances, line list; no broadening of any kind."""
    sme = SME_Structure()
    sme.teff, sme.logg, sme.vmic = atmosphere.teff, atmosphere.logg, xi_t
    sme.abund = Abund(pattern=ABUNDANCE_PATTERN, monh=0.0)  # assigning abund resets monh,
    sme.monh = atmosphere.m_h  # so [M/H] comes second
    sme.vmac, sme.vsini, sme.ipres = 0.0, 0.0, 0.0
    sme.linelist = lines
    sme.atmo = Atmosphere(
        method="embedded", geom="PP", depth="RHOX", interp="RHOX",
        rhox=atmosphere.column_mass, temp=atmosphere.temperature,
        xne=atmosphere.electron_density, xna=atmosphere.atom_density,
        rho=atmosphere.mass_density,
    )
    return sme


class _Offline:
    """Stands in for PySME's stores of downloadable data: any use of it is an error."""

    def __getattr__(self, name: str):
        raise RuntimeError(
            "PySME asked for a data file to download (atmosphere grid or NLTE grid); "
            "specgen passes embedded atmospheres and synthesises in LTE, offline"
        )


@cache
def _synthesizer() -> Synthesizer:
    # Passing both stores also keeps PySME from repointing XDG_CACHE_HOME, as its own do.
    return Synthesizer(lfs_atmo=_Offline(), lfs_nlte=_Offline())


def code_versions() -> dict[str, str]:
    """Versions of PySME, the SME library and specgen's atmospheres, and the checksum of the shipped line list."""
    digest = hashlib.sha256(SHIPPED_LINELIST.read_bytes()).hexdigest()[:16]
    return {
        "pysme": pysme.__version__,
        "sme_library": SME_DLL().SMELibraryVersion(),
        "linelist": f"{SHIPPED_LINELIST.name} sha256:{digest}",
        "atmospheres": f"specgen.synth.atmospheres v{ATMOSPHERE_VERSION}",
    }
