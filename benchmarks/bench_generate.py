"""Speed and memory of the generator against radiative transfer, printed as JSON.

Seconds per spectrum when generating 1, 64, 4096 and 65,536 spectra, each in one network call
(and 65,536 also in calls of 4096, the default), with the peak resident memory of a fresh
process for each and the dense layers' FLOP rate as a fraction of the machine's float32 GEMM rate,
measured in that same process; and, in the same run, one SME synthesis of the Sun plus its broadening, so
that the speed-up is a ratio of two figures measured side by side.

    python benchmarks/bench_generate.py [--model pretrained] [--sizes 1 64 4096 65536]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import time
from pathlib import Path

SUN = {"teff": 5777.0, "logg": 4.44, "m_h": 0.0, "xi_t": 1.0, "vsini": 2.0, "resolution": 11500.0}


def time_generation(model: str, n_spectra: int, batch_size: int) -> dict[str, float]:
    """In a fresh process: seconds per spectrum and the process's peak memory (MiB)."""
    from specgen.model.emulator import Emulator
    from specgen.runtime.backend import device_name
    from specgen.runtime.timing import gemm_gflops, generation_seconds

    emulator = Emulator.load(model)
    repeats = 5 if n_spectra <= 4096 else 2
    seconds = generation_seconds(emulator, n_spectra, batch_size=batch_size, repeats=repeats)
    gemm = gemm_gflops()
    dense_gflops = emulator.dense_flop_per_spectrum * n_spectra / seconds / 1e9
    return {
        "n_spectra": n_spectra,
        "batch_size": batch_size,
        "seconds_per_spectrum": seconds / n_spectra,
        "spectra_per_second": n_spectra / seconds,
        "dense_mflop_per_spectrum": emulator.dense_flop_per_spectrum / 1e6,
        "gemm_gflops": gemm,
        "fraction_of_gemm": dense_gflops / gemm,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": device_name(),
    }


def time_radiative_transfer() -> float:
    """Seconds for one SME spectrum of the Sun: atmosphere, synthesis and broadening."""
    from specgen.constants import RVS_WAVELENGTH
    from specgen.synth.atmospheres import compute_atmosphere
    from specgen.synth.broaden import observe
    from specgen.synth.sme import synthesize_intrinsic

    start = time.perf_counter()
    wave, flux = synthesize_intrinsic(compute_atmosphere(SUN["teff"], SUN["logg"], SUN["m_h"]), SUN["xi_t"])
    observe(wave, flux, [SUN["vsini"]], [SUN["resolution"]], RVS_WAVELENGTH)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="pretrained", help="saved emulator, or 'pretrained' (default)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 4096, 65536], help="spectra per run")
    parser.add_argument(
        "--no-radiative-transfer", action="store_true", help="skip the SME comparison (a machine without PySME)"
    )
    args = parser.parse_args()
    if args.model != "pretrained" and not (Path(args.model) / "emulator.json").exists():
        parser.error(f"no saved emulator at {args.model}: run `make book PROFILE=ci` or `specgen train` first")

    runs = [(n, n) for n in args.sizes] + [(n, 4096) for n in args.sizes if n > 4096]
    with multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
        generation = [pool.apply(time_generation, (args.model, n, b)) for n, b in runs]
    result = {
        "generation": generation,
        "model": args.model,
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
    }
    if not args.no_radiative_transfer:
        rt = time_radiative_transfer()
        fastest = min(run["seconds_per_spectrum"] for run in generation)
        result |= {
            "radiative_transfer_seconds_sun": rt,
            "speedup_single_spectrum": rt / generation[0]["seconds_per_spectrum"],
            "speedup_best_batch": rt / fastest,
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
