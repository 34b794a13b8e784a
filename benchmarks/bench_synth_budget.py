"""What cheaper radiative transfer would cost in accuracy, printed as JSON.

For each reference star across Tab. 1, the full synthesis (every line of the shipped list, all the
atmosphere's layers) and a set of simplifications, each timed in the same worker process and
compared after broadening to R = 14,500 at v sin i = 0 (the sharpest spectrum of Tab. 1) on the
4000 RVS pixels. A simplification is within budget where max |ΔF| ≤ 1e-3 against the full
synthesis, for every star.

* ``no hydrogen`` / ``no molecules``: those lines left out;
* ``no Paschen 9-11``: the Paschen lines centred beyond 8820 Å left out (their wings remain inside);
* ``every other layer``: the model atmosphere thinned to half its depth points;
* ``hydrogen within N A``: the range synthesised in four pieces, each with the metal lines within
  20 Å and the Paschen lines within N Å of it, so that no wavelength carries all 14 Paschen profiles.

    python benchmarks/bench_synth_budget.py [--workers 2] > synth_budget.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

import numpy as np

BUDGET = 1e-3  # max |ΔF| after broadening to R = 14,500
RESOLUTION = 14500.0
PIECES = 4
METAL_REACH = 20.0  # Å around a piece within which metal and molecular lines are kept

REFERENCE_STARS = {  # teff [K], logg [dex], m_h [dex], xi_t [km/s]
    "cool giant": (4000.0, 2.0, 0.0, 1.5),
    "Sun": (5777.0, 4.44, 0.0, 1.0),
    "metal-poor dwarf": (6000.0, 4.5, -1.5, 1.0),
    "metal-rich dwarf": (5000.0, 4.5, 1.5, 1.0),
    "7000 K dwarf": (7000.0, 4.0, 0.0, 2.0),
    "A star": (9500.0, 4.0, 0.0, 2.0),
    "B star": (14000.0, 4.0, 0.0, 1.0),
    "3600 K dwarf": (3600.0, 5.0, 0.0, 1.0),
}


def thinned(atmosphere, step: int = 2):
    """``atmosphere`` with every ``step``-th depth point, the deepest always kept."""
    n = atmosphere.temperature.size
    keep = np.r_[np.arange(0, n - 1, step), n - 1]
    arrays = {f.name: getattr(atmosphere, f.name) for f in dataclasses.fields(atmosphere)}
    return dataclasses.replace(atmosphere, **{k: v[keep] for k, v in arrays.items() if isinstance(v, np.ndarray)})


def measure_star(name: str) -> dict:
    """Seconds and max |ΔF| of every simplification for one reference star, in this process."""
    from specgen.constants import RVS_WAVELENGTH
    from specgen.synth.atmospheres import compute_atmosphere
    from specgen.synth.broaden import observe
    from specgen.synth.database import (
        SYNTHESIS_RANGE,
        SYNTHESIS_STEP,
        SYNTHESIS_WAVELENGTH,
    )
    from specgen.synth.linelist import MOLECULES, load_linelist
    from specgen.synth.sme import synthesize_intrinsic

    teff, logg, m_h, xi_t = REFERENCE_STARS[name]
    atmosphere = compute_atmosphere(teff, logg, m_h)
    lines = load_linelist()
    element = lines["species"].str.split().str[0]
    hydrogen = (element == "H").to_numpy()
    centre = lines["wavelength"].to_numpy()

    def synthesize(mask: np.ndarray, atmo=atmosphere, window=SYNTHESIS_RANGE):
        return synthesize_intrinsic(atmo, xi_t, linelist=lines[mask].reset_index(drop=True), wavelength_range=window,
                                    velocity_step=SYNTHESIS_STEP)

    def in_pieces(reach: float) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
        def run():
            wave = SYNTHESIS_WAVELENGTH  # the full synthesis's points
            cuts = np.linspace(0, wave.size, PIECES + 1).astype(int)
            flux = []
            for i0, i1 in zip(cuts[:-1], cuts[1:]):
                low, high = wave[i0], wave[i1 - 1]
                near = np.where(hydrogen, reach, METAL_REACH)
                mask = (centre > low - near) & (centre < high + near)
                flux.append(synthesize(mask, window=(low, high * (1 + 1e-9)))[1])
            return wave, np.concatenate(flux)

        return run

    everything = np.ones(len(lines), bool)
    options: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
        "no hydrogen": lambda: synthesize(~hydrogen),
        "no molecules": lambda: synthesize(~element.isin(MOLECULES.values()).to_numpy()),
        "no Paschen 9-11": lambda: synthesize(~(hydrogen & (centre > 8820.0))),
        "every other layer": lambda: synthesize(everything, atmo=thinned(atmosphere)),
        **{f"hydrogen within {reach:.0f} A": in_pieces(reach) for reach in (30.0, 60.0, 120.0)},
    }

    def observed(run) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        wave, flux = run()
        seconds = time.perf_counter() - start
        return observe(wave, flux, [0.0], [RESOLUTION], RVS_WAVELENGTH)[0], seconds

    reference, full_seconds = observed(lambda: synthesize(everything))
    result = {"labels": dict(zip(("teff", "logg", "m_h", "xi_t"), REFERENCE_STARS[name])),
              "full_seconds": full_seconds, "options": {}}
    for option, run in options.items():
        flux, seconds = observed(run)
        error = float(np.abs(flux - reference).max())
        result["options"][option] = {"seconds": seconds, "speedup": full_seconds / seconds,
                                     "max_abs_dflux": error, "within_budget": error <= BUDGET}
    return result


def summarise(stars: dict[str, dict]) -> dict[str, dict]:
    """Per simplification: the speed-up of the summed seconds and the worst error over the stars."""
    full = sum(s["full_seconds"] for s in stars.values())
    names = next(iter(stars.values()))["options"]
    return {
        option: {
            "speedup_of_total_seconds": full / sum(s["options"][option]["seconds"] for s in stars.values()),
            "worst_max_abs_dflux": max(s["options"][option]["max_abs_dflux"] for s in stars.values()),
            "stars_within_budget": sum(s["options"][option]["within_budget"] for s in stars.values()),
        }
        for option in names
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="stars measured at once, one per process (default 2)")
    args = parser.parse_args()

    from specgen.synth.sme import code_versions

    with ProcessPoolExecutor(args.workers) as pool:
        stars = dict(zip(REFERENCE_STARS, pool.map(measure_star, REFERENCE_STARS)))
    print(json.dumps({
        "budget_max_abs_dflux": BUDGET,
        "compared_at": {"vsini_kms": 0.0, "resolution": RESOLUTION, "pixels": "RVS 8400-8800 A, 0.1 A"},
        "stars": stars,
        "summary": summarise(stars),
        "workers": args.workers,
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
        "code_versions": code_versions(),
    }, indent=2))


if __name__ == "__main__":
    main()
