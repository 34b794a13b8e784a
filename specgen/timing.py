"""Wall-clock throughput of the generator, for the book's timing tables (benchmarks print JSON)."""

from __future__ import annotations

import time

import numpy as np


def generation_seconds(emulator, batch_size: int, repeats: int = 5, seed: int = 0) -> float:
    """Median seconds to generate one batch of ``batch_size`` spectra at random labels inside
    the training ranges (after one warm-up call)."""
    rng = np.random.default_rng(seed)
    ranges = [emulator.label_ranges[name] for name in emulator.label_names]
    labels = rng.uniform([r.low for r in ranges], [r.high for r in ranges], size=(batch_size, len(ranges)))
    emulator.generate(labels)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        emulator.generate(labels)
        times.append(time.perf_counter() - start)
    return float(np.median(times))
