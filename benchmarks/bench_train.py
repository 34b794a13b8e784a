"""Seconds per training epoch of the paper's networks and, with ``--grid``, a whole training run with
the metrics it reaches, printed as JSON, on whatever device Keras computes on.

    python benchmarks/bench_train.py [--n-spectra 164000] [--batch-size 512] [--epochs 3]
    python benchmarks/bench_train.py --grid data/demo/train.h5 --test data/demo/test.h5 [--profile demo]
    KERAS_BACKEND=jax python benchmarks/bench_train.py ...      # the same code under Keras' JAX backend
    python benchmarks/bench_train.py --precision mixed_bfloat16 ...  # Keras mixed precision

The epoch timing trains the autoencoder (Tab. 2) and the mapper (Tab. 3) with the paper's recipe
(batch 512, Adam and Adamax) on random inputs of the paper's shape: by default 164,000 spectra, the
80 % of 205,000 that the paper trains on (the time does not depend on the values). The first epoch
includes compilation and is reported apart. ``--grid`` trains the emulator of ``--profile``
(autoencoder, mapper, fine-tuning) on a grid file and reports its training time and test metrics.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics

import numpy as np


def epoch_seconds(n_spectra: int, batch_size: int, epochs: int, n_pix: int = 4000, seed: int = 0) -> dict:
    """Seconds per epoch of the paper's autoencoder and mapper on ``n_spectra`` random rows."""
    from specgen.labels import LABEL_NAMES
    from specgen.model.autoencoder import train_autoencoder
    from specgen.model.config import TrainingConfig
    from specgen.model.mapper import train_mapper

    config = TrainingConfig.paper(batch_size=batch_size, max_epochs=epochs, validation_split=0.0, seed=seed)
    rng = np.random.default_rng(seed)
    flux = rng.uniform(0.2, 1.0, (n_spectra, n_pix)).astype(np.float32)
    _, ae = train_autoencoder(flux, config)
    del flux
    labels = rng.uniform(0, 1, (n_spectra, len(LABEL_NAMES))).astype(np.float32)
    _, mapper = train_mapper(labels, rng.normal(size=(n_spectra, config.latent)).astype(np.float32), config)
    steps = math.ceil(n_spectra / batch_size)
    return {
        "n_spectra": n_spectra,
        "batch_size": batch_size,
        "steps_per_epoch": steps,
        **{name: _epochs(history["seconds"], steps) for name, history in (("autoencoder", ae), ("mapper", mapper))},
    }


def _epochs(seconds: list[float], steps: int) -> dict:
    later = seconds[1:] or seconds
    return {
        "first_epoch_seconds": seconds[0],
        "seconds_per_epoch": statistics.median(later),
        "milliseconds_per_step": 1000 * statistics.median(later) / steps,
    }


def training_run(grid: str, test: str, profile: str, save: str | None) -> dict:
    """Train the emulator of ``profile`` on ``grid``: training seconds, epochs and test metrics."""
    from specgen.model.config import TrainingConfig
    from specgen.model.train import train_emulator
    from specgen.runtime.profiles import get_profile

    config = TrainingConfig.for_profile(get_profile(profile))
    emulator = train_emulator(grid, config, test_grid=test, fine_tune=True, progress=False)
    if save:
        emulator.save(save)
    provenance = emulator.provenance
    return {
        "grid": grid,
        "profile": profile,
        "n_train": provenance["training_grid"]["n_spectra"],
        "training_seconds": provenance["training_seconds"],
        "epochs": {name: len(history["loss"]) for name, history in provenance["history"].items()},
        "seconds_per_epoch": {
            name: statistics.median(history["seconds"]) for name, history in provenance["history"].items()
        },
        "test_metrics": provenance["metrics"]["test"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-spectra", type=int, default=164_000, help="rows per epoch (default: the paper's 164,000)")
    parser.add_argument("--batch-size", type=int, default=512, help="default: the paper's 512")
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed, the first one reported apart")
    parser.add_argument("--grid", help="also train the emulator of --profile on this grid file")
    parser.add_argument("--test", help="held-out grid file for the metrics of --grid")
    parser.add_argument("--profile", default="demo", help="training recipe and sizes for --grid (default demo)")
    parser.add_argument("--save", help="directory to save the emulator trained on --grid")
    parser.add_argument("--precision", default="float32", help="Keras dtype policy, e.g. mixed_bfloat16")
    args = parser.parse_args()

    import keras

    from specgen.runtime.backend import backend_version, device_name

    keras.mixed_precision.set_global_policy(args.precision)
    result = {
        "device": device_name(),
        "backend": f"{keras.backend.backend()} {backend_version()}",
        "precision": args.precision,
    }
    if args.grid:
        result["training"] = training_run(args.grid, args.test, args.profile, args.save)
    if args.n_spectra:
        result["epoch_timing"] = epoch_seconds(args.n_spectra, args.batch_size, args.epochs)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
