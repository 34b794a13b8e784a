"""Cross-check of the post-broadening against SME's own rotation and instrumental profile.

The database broadens each intrinsic spectrum afterwards (limb-darkened kernel, ε = 0.6, then a
Gaussian of FWHM λ/R); SME can instead rotate by disk integration of its own specific
intensities. Both are put on the same output grid and compared pixel by pixel.
"""

from __future__ import annotations

import numpy as np

from specgen.constants import RVS_WAVELENGTH
from specgen.labels import LABEL_NAMES, check_labels
from specgen.runtime.parallel import dask_client
from specgen.synth.atmospheres import compute_atmosphere
from specgen.synth.broaden import broaden, resample
from specgen.synth.sme import synthesize_broadened_by_sme, synthesize_intrinsic

#: SME's Gaussian has FWHM (λ₀/λ̄)·c/R, λ₀ = 8377.16 Å being the first point of its internal grid
#: and λ̄ = 8600 Å the middle: an SME resolution R is R × λ̄/λ₀ in our convention (measured).
SME_RESOLUTION_FACTOR = 8600.0 / 8377.16


def compare_with_sme(
    labels: np.ndarray, wavelength: np.ndarray = RVS_WAVELENGTH, workers: int = 2
) -> dict[str, np.ndarray]:
    """Post-broadened and SME-broadened spectra of each label row (n, 6), on ``wavelength``, the
    2n syntheses spread over ``workers`` local processes (Dask).

    SME is given R / :data:`SME_RESOLUTION_FACTOR`, so that both instrumental profiles have the
    same width and the comparison isolates the rotation. Returns ``ours``, ``sme`` (n, n_pix)
    and ``max_abs`` (n,), the largest |ΔF| of each star.
    """
    labels = check_labels(labels, LABEL_NAMES)
    with dask_client(workers) as client:
        futures = [
            client.submit(broadened, row, by_sme, wavelength, pure=False) for by_sme in (False, True) for row in labels
        ]
        ours, sme = np.array(client.gather(futures)).reshape(2, len(labels), len(wavelength))
    return {"ours": ours, "sme": sme, "max_abs": np.abs(ours - sme).max(axis=1)}


def broadened(labels: np.ndarray, by_sme: bool, wavelength: np.ndarray = RVS_WAVELENGTH) -> np.ndarray:
    """The spectrum of one label row (6,) on ``wavelength``: post-broadened, or rotated by SME's
    disk integration (``by_sme``) with its instrumental profile at R / :data:`SME_RESOLUTION_FACTOR`."""
    teff, logg, vsini, m_h, xi_t, resolution = labels
    atmosphere = compute_atmosphere(teff, logg, m_h)
    if by_sme:
        wave, flux = synthesize_broadened_by_sme(atmosphere, xi_t, vsini, resolution / SME_RESOLUTION_FACTOR)
    else:
        wave, intrinsic = synthesize_intrinsic(atmosphere, xi_t)
        flux = broaden(wave, intrinsic, vsini, resolution)
    return resample(wave, flux, wavelength)
