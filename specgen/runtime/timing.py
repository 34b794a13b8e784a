"""Wall-clock throughput of the generator, and the timings recorded by the benchmarks (which print
JSON) on other machines, for the book's timing tables."""

from __future__ import annotations

import json
import os
import time
import timeit
from pathlib import Path

import numpy as np
import pandas as pd

from specgen.constants import PAPER_TRAINING_SPECTRA


def generation_seconds(emulator, n_spectra: int, *, batch_size: int = 4096, repeats: int = 5, seed: int = 0) -> float:
    """Median seconds to generate ``n_spectra`` spectra at random labels inside the training
    ranges, ``batch_size`` per network call (after one warm-up call)."""
    rng = np.random.default_rng(seed)
    ranges = [emulator.label_ranges[name] for name in emulator.label_names]
    labels = rng.uniform([r.low for r in ranges], [r.high for r in ranges], size=(n_spectra, len(ranges)))
    emulator.generate(labels, batch_size=batch_size)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        emulator.generate(labels, batch_size=batch_size)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def gemm_gflops(size: int = 4096, repeats: int = 3) -> float:
    """The machine's float32 matrix-product rate in GFLOP/s: the best of ``repeats`` numpy products of
    two ``size``² matrices (after one warm-up), measured in the caller's process, to which its other
    throughputs are related."""
    a, b = np.random.default_rng(0).random((2, size, size), dtype=np.float32)
    a @ b
    return 2 * size**3 / min(timeit.repeat(lambda: a @ b, number=1, repeat=repeats)) / 1e9


def recorded_training(results: str | os.PathLike) -> pd.DataFrame:
    """Trainings recorded by ``benchmarks/bench_train.py --grid`` in ``results/<run>/train_*.json``
    (e.g. on a GPU machine, by ``benchmarks/gpu_checks.sh``): one row per file."""
    return pd.DataFrame(
        _run_columns(path, run)
        | {
            "training spectra": run["training"]["n_train"],
            "training (s)": run["training"]["training_seconds"],
            "epochs (AE, mapper, fine-tune)": ", ".join(str(n) for n in run["training"]["epochs"].values()),
            "generator MAE (test)": run["training"]["test_metrics"]["gen_mae"],
            "generator p99 (test)": run["training"]["test_metrics"]["gen_p99_abs"],
        }
        for path, run in _recorded(results, "train_*.json")
    )


def recorded_epochs(results: str | os.PathLike) -> pd.DataFrame:
    """Seconds per epoch of the Tab. 2/3 networks recorded by ``benchmarks/bench_train.py`` in
    ``results/<run>/*.json``, scaled to the paper's 164,000 training spectra from the measured time
    per step (batch 512)."""
    return pd.DataFrame(
        _run_columns(path, run) | {"measured on (spectra)": epochs["n_spectra"]} | _paper_epoch_seconds(epochs)
        for path, run in _recorded(results, "*.json")
        if (epochs := run.get("epoch_timing"))
    )


def recorded_generation(results: str | os.PathLike) -> pd.DataFrame:
    """Generation throughput recorded by ``benchmarks/bench_generate.py`` in
    ``results/<run>/generate_*.json``: one row per device and call size."""
    rows = [
        {
            "run": path.parent.name,
            "device": g["device"],
            "spectra": g["n_spectra"],
            "spectra per call": g["batch_size"],
            "µs per spectrum": 1e6 * g["seconds_per_spectrum"],
            "peak memory (GiB)": g["peak_rss_mib"] / 1024,
        }
        for path, run in _recorded(results, "generate_*.json")
        for g in run["generation"]
    ]
    return pd.DataFrame(rows)


def _paper_epoch_seconds(epochs: dict) -> dict:
    """Seconds per epoch at the paper's size from measured milliseconds per step (batch as measured)."""
    steps = -(-PAPER_TRAINING_SPECTRA // epochs["batch_size"])
    return {
        f"{name} s/epoch at {PAPER_TRAINING_SPECTRA:,}": epochs[name]["milliseconds_per_step"] * steps / 1000
        for name in ("autoencoder", "mapper")
    }


def _run_columns(path: Path, run: dict) -> dict:
    return {"run": path.parent.name, "device": run["device"], "backend": run["backend"], "precision": run["precision"]}


def _recorded(results: str | os.PathLike, pattern: str) -> list[tuple[Path, dict]]:
    return [(path, json.loads(path.read_text())) for path in sorted(Path(results).glob(f"*/{pattern}"))]
