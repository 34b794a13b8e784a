"""Speed of label fits through the generator, printed as JSON.

Stars per second of :func:`specgen.fit.chi2.fit_labels` when fitting 32, 256 and 1,024 spectra in one
call, each run in a fresh process with its peak resident memory and, measured in that same process,
the machine's float32 GEMM rate: ``stars_per_second_per_gemm_tflops`` compares machines and busy
moments. The spectra are the generator's own at seeded labels inside the inner 90 % of each training
range, with Gaussian noise of σ = 1/``--snr``, so the recovered labels (``rmse``, against the truth)
say that the speed did not come from fits that stopped short; accuracy against radiative transfer is
chapter 05's business.

    python benchmarks/bench_fit.py [--model pretrained] [--stars 32 256 1024] [--snr 50] [--fix resolution=11500]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource


def time_fits(model: str, n_stars: int, snr: float, fixed: dict[str, float], n_starts: int | None, seed: int) -> dict:
    """In a fresh process: stars per second of one fit_labels call on ``n_stars`` noisy spectra."""
    import numpy as np

    from specgen.fit.chi2 import N_STARTS
    from specgen.fit.speed import time_fit
    from specgen.model.emulator import Emulator
    from specgen.runtime.backend import device_name

    emulator = Emulator.load(model)
    rng = np.random.default_rng(seed)
    ranges = [emulator.label_ranges[name] for name in emulator.label_names]
    low, high = np.array([r.low for r in ranges]), np.array([r.high for r in ranges])
    truth = low + (high - low) * rng.uniform(0.05, 0.95, (n_stars, len(ranges)))
    for name, value in fixed.items():
        truth[:, emulator.label_names.index(name)] = value
    flux = emulator.generate(truth) + rng.normal(0, 1 / snr, (n_stars, emulator.n_pix))
    n_starts = N_STARTS if n_starts is None else n_starts
    timing = time_fit(flux, emulator, 1 / snr, fixed=fixed, n_starts=n_starts, seed=seed)
    fit = timing.fit
    rmse = np.sqrt(np.mean((fit.labels - truth) ** 2, axis=0))
    return {
        "n_stars": n_stars,
        "n_starts": n_starts,
        "seconds": timing.seconds,
        "stars_per_second": timing.stars_per_second,
        "gemm_gflops": timing.gemm_gflops,
        "stars_per_second_per_gemm_tflops": timing.stars_per_second_per_gemm_tflops,
        "median_chi2_dof": float(np.median(fit.chi2_dof)),
        "rmse": dict(zip(emulator.label_names, rmse.tolist())),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": device_name(),
    }


def _fixed(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    return name, float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="pretrained", help="saved emulator, or 'pretrained' (default)")
    parser.add_argument("--stars", type=int, nargs="+", default=[32, 256, 1024], help="spectra per fit_labels call")
    parser.add_argument("--snr", type=float, default=50.0, help="signal-to-noise ratio of the spectra (default 50)")
    parser.add_argument("--starts", type=int, help="starts per star (default: fit_labels')")
    parser.add_argument("--fix", action="append", default=[], type=_fixed, metavar="NAME=VALUE",
                        help="hold a label, e.g. --fix resolution=11500 (Gaia RVS)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the labels and the noise (default 0)")
    args = parser.parse_args()
    fixed = dict(args.fix)
    with multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
        runs = [pool.apply(time_fits, (args.model, n, args.snr, fixed, args.starts, args.seed)) for n in args.stars]
    result = {
        "fits": runs,
        "model": args.model,
        "snr": args.snr,
        "fixed": fixed,
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
