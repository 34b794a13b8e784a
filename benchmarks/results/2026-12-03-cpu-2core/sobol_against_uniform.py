"""Test MAE of factorised generators trained on uniform and Sobol training stars (64 each), paired by test star."""
import json

import numpy as np
from scipy.stats import qmc

from specgen.grid import read_grid
from specgen.labels import INTRINSIC_LABELS, TABLE1_RANGES
from specgen.model.emulator import Emulator
from specgen.model.metrics import bootstrap_over_stars

D = "/tmp/sobol_exp"
test = read_grid(f"{D}/test.h5")
stars = test.star_ids()
out = {"n_test_stars": int(np.unique(stars).size), "n_test_spectra": len(test)}
for name in ("uniform", "sobol"):
    g = read_grid(f"{D}/{name}.h5")
    x = g.labels[:, [g.label_names.index(n) for n in INTRINSIC_LABELS]]
    _, first = np.unique(g.star_ids(), return_index=True)
    x = x[first]
    lo = np.array([TABLE1_RANGES[n].low for n in INTRINSIC_LABELS]); hi = np.array([TABLE1_RANGES[n].high for n in INTRINSIC_LABELS])
    out[f"{name}_discrepancy"] = float(qmc.discrepancy((x - lo) / (hi - lo)))
per = {}
for seed in (1, 2):
    for name in ("uniform", "sobol"):
        em = Emulator.load(f"{D}/model_{name}_{seed}")
        per[(name, seed)] = np.abs(em.generate_like(test) - test.flux).mean(axis=1)
        h = em.provenance["history"]["generator"]
        out[f"{name}_seed{seed}"] = {"mae": float(per[(name, seed)].mean()), "epochs": len(h["loss"]),
                                    "val_mae": em.provenance["metrics"]["validation"]["gen_mae"],
                                    "seconds": em.provenance["training_seconds"]}
for seed in (1, 2):
    b = bootstrap_over_stars(np.stack([per[("sobol", seed)], per[("uniform", seed)]], axis=1), stars)
    r = b[:, 0] / b[:, 1]
    out[f"ratio_sobol_over_uniform_seed{seed}"] = [float(per[("sobol", seed)].mean() / per[("uniform", seed)].mean()), *np.percentile(r, (16, 84)).tolist()]
both = bootstrap_over_stars(np.stack([per[("sobol", 1)] + per[("sobol", 2)], per[("uniform", 1)] + per[("uniform", 2)]], axis=1), stars)
out["ratio_both_seeds"] = [float((per[("sobol", 1)] + per[("sobol", 2)]).mean() / (per[("uniform", 1)] + per[("uniform", 2)]).mean()), *np.percentile(both[:, 0] / both[:, 1], (16, 84)).tolist()]
print(json.dumps(out, indent=1))
