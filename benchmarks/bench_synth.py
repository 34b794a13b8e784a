"""Cost of the training database, printed as JSON.

Seconds per intrinsic synthesis (cool giant, Sun, hot star), seconds per broadened variant,
and spectra per hour of a whole grid run with 1 and 2 local workers, measured in one run so
that the ratios hold on a noisy shared machine.

    python benchmarks/bench_synth.py [--stars 4] [--variants 10]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from specgen.constants import RVS_WAVELENGTH
from specgen.synth.atmospheres import compute_atmosphere
from specgen.synth.broaden import observe
from specgen.synth.database import random_plan, synthesize_grid
from specgen.synth.sme import code_versions, synthesize_intrinsic

REFERENCE_STARS = {  # teff, logg, m_h, xi_t
    "cool_giant": (4000.0, 2.0, -0.5, 1.5),
    "sun": (5777.0, 4.44, 0.0, 1.0),
    "hot_star": (14000.0, 4.0, 0.0, 1.0),
}


def time_intrinsic() -> tuple[dict[str, float], tuple[np.ndarray, np.ndarray]]:
    seconds, sun = {}, None
    for name, (teff, logg, m_h, xi_t) in REFERENCE_STARS.items():
        start = time.perf_counter()
        spectrum = synthesize_intrinsic(compute_atmosphere(teff, logg, m_h), xi_t)
        seconds[name] = time.perf_counter() - start
        sun = spectrum if name == "sun" else sun
    return seconds, sun


def time_variants(wave: np.ndarray, flux: np.ndarray, n: int = 50) -> float:
    rng = np.random.default_rng(0)
    vsini, resolution = rng.uniform(0, 300, n), rng.uniform(5000, 14500, n)
    start = time.perf_counter()
    observe(wave, flux, vsini, resolution, RVS_WAVELENGTH)
    return (time.perf_counter() - start) / n


def time_grid(stars: int, variants: int, workers: int) -> float:
    """Spectra per hour of a whole run (cluster start-up included)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = synthesize_grid(
            Path(tmp) / "grid.h5", random_plan(stars, variants, seed=99), workers=workers, progress=False
        )
    return report.spectra / report.wall_seconds * 3600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stars", type=int, default=4, help="stars per grid run (default 4)")
    parser.add_argument("--variants", type=int, default=10, help="variants per star (default 10)")
    args = parser.parse_args()

    intrinsic, (wave, flux) = time_intrinsic()
    per_hour = {f"workers_{w}": time_grid(args.stars, args.variants, w) for w in (1, 2)}
    print(
        json.dumps(
            {
                "seconds_per_intrinsic_synthesis": intrinsic,
                "seconds_per_broadened_variant": time_variants(wave, flux),
                "spectra_per_hour": per_hour,
                "speedup_2_workers": per_hour["workers_2"] / per_hour["workers_1"],
                "grid_run": {"stars": args.stars, "variants": args.variants},
                "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
                "code_versions": code_versions(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
