"""fit_labels on 256 noisy spectra of the shipped generator (S/N 50), in one process, twice each way:
the factorised kind's Jacobians by linearity of the broadening against the generic central differences."""
import json
import time

import numpy as np

import specgen.fit.chi2 as chi2
from specgen.model.emulator import Emulator
from specgen.model.factorised import FactorisedEmulator
from specgen.runtime.timing import gemm_gflops

emulator = Emulator.load("pretrained")
rng = np.random.default_rng(0)
ranges = [emulator.label_ranges[name] for name in emulator.label_names]
low, high = np.array([r.low for r in ranges]), np.array([r.high for r in ranges])
truth = low + (high - low) * rng.uniform(0.05, 0.95, (256, 6))
flux = emulator.generate(truth) + rng.normal(0, 0.02, (256, emulator.n_pix))
kinds = {"linear": FactorisedEmulator.network_differences, "generic": Emulator.network_differences}
runs: dict = {name: [] for name in kinds}
for _ in range(2):
    for name, differences in kinds.items():
        FactorisedEmulator.network_differences = differences
        chi2._NETWORKS.clear()  # retrace with this kind of differences
        chi2.fit_labels(flux[:2], emulator, 0.02, seed=0)
        start = time.perf_counter()
        fit = chi2.fit_labels(flux, emulator, 0.02, seed=0)
        seconds = time.perf_counter() - start
        runs[name].append({
            "stars_per_second": 256 / seconds,
            "median_chi2_dof": float(np.median(fit.chi2_dof)),
            "teff_rmse": float(np.sqrt(np.mean((fit.labels[:, 0] - truth[:, 0]) ** 2))),
        })
runs["gemm_gflops"] = gemm_gflops()
print(json.dumps(runs, indent=1))
