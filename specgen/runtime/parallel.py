"""The one place specgen gets a Dask client: grid synthesis and parameter sweeps both use it."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def dask_client(workers: int = 2, scheduler: str | None = None) -> Iterator:
    """A dask.distributed client: on ``scheduler`` if given (e.g. a dask-jobqueue cluster's
    address), else on a local cluster of ``workers`` single-threaded processes, its dashboard on a
    free port."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            yield client
