"""Wall-clock throughput of the generator, for the book's timing tables (benchmarks print JSON)."""

from __future__ import annotations

import time

import numpy as np


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
