"""Papermill parameter sweeps on Dask: every combination of some notebook parameters, one run
directory each, resumable, with failures recorded and isolated.

A sweep is a YAML file::

    notebooks: [book/02_autoencoder.ipynb, book/04_generation.ipynb]   # run in order at each point
    parameters: {profile: ci}                  # the same at every point
    axes:                                      # every combination of these
      max_epochs: [20, 60]
      fine_tune: [true, false]
    # or a list of such blocks: the union of their combinations (a point named twice runs once)
    runs: runs/epochs                          # run directories go here (relative to the YAML file)
    scheduler: null                            # a dask scheduler address; null: a LocalCluster
    workers: 2                                 # LocalCluster worker processes
    kernel: specgen                            # Jupyter kernel of the runs

Each point runs in ``<runs>/<name>/``, its name made from its axis values (``fine_tune=false,
max_epochs=20``). The notebooks get ``root=<point directory>`` besides the parameters, so their models
land in the point's own ``models/``, while its ``data/`` links to the repository's grids (computed
once). ``status.json`` records the outcome: ``done`` (with the seconds taken), or ``failed`` with the
error and its traceback. Running the sweep again redoes only the points that are not ``done``.
:func:`sweep_report` gathers every point's parameters, status and the test metrics of its trained
generator into one table; :func:`check_done` refuses a report with unfinished points, and
:func:`generator_point` makes a row of the same kind for a generator trained outside the sweep.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
from jupyter_client import AsyncKernelManager
from traitlets import default

from specgen.runtime.parallel import dask_client
from specgen.runtime.profiles import project_root

STATUS = "status.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=,+-]")


class SweepError(ValueError):
    """A sweep file that cannot be run: says which key and why."""


class SweepFailed(RuntimeError):
    """A sweep whose points did not all finish: names them, with their errors."""


@dataclass(frozen=True)
class Point:
    """One combination of the axes: its ``name`` (also its directory) and its ``parameters``
    (the fixed ones and its axis values)."""

    name: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep file (see the module docstring); paths are absolute."""

    notebooks: tuple[Path, ...]
    runs: Path
    axes: tuple[dict[str, list], ...] = ({},)
    parameters: dict[str, Any] = field(default_factory=dict)
    scheduler: str | None = None
    workers: int = 2
    kernel: str = "specgen"
    root: Path = field(default_factory=project_root)

    @classmethod
    def read(cls, path: str | os.PathLike) -> Sweep:
        import yaml

        path = Path(path).resolve()
        spec = yaml.safe_load(path.read_text()) or {}
        known = {"notebooks", "runs", "axes", "parameters", "scheduler", "workers", "kernel"}
        if unknown := sorted(set(spec) - known):
            raise SweepError(f"{path}: unknown key(s) {unknown}; a sweep has {sorted(known)}")
        notebooks = spec.get("notebooks")
        if isinstance(notebooks, str):
            notebooks = [notebooks]
        if not notebooks:
            raise SweepError(f"{path}: 'notebooks' must name at least one notebook")
        axes = spec.get("axes") or {}
        blocks = axes if isinstance(axes, list) else [axes]
        if not all(isinstance(b, dict) and all(isinstance(v, list) and v for v in b.values()) for b in blocks):
            raise SweepError(
                f"{path}: 'axes' must map each parameter to a non-empty list of values (or be a list of such maps)"
            )
        if overlap := sorted(set().union(*blocks) & set(spec.get("parameters") or {})):
            raise SweepError(f"{path}: {overlap} are both axes and fixed parameters")
        root = project_root(path.parent)
        return cls(
            notebooks=tuple(_existing(root, nb, path) for nb in notebooks),
            runs=(path.parent / spec.get("runs", path.stem)).resolve(),
            axes=tuple(blocks),
            parameters=spec.get("parameters") or {},
            scheduler=spec.get("scheduler"),
            workers=int(spec.get("workers", 2)),
            kernel=spec.get("kernel", "specgen"),
            root=root,
        )

    def points(self) -> list[Point]:
        """Every combination of the axes (of each block in turn), in order, each named by its axis
        values; a name met again is left out."""
        points: dict[str, Point] = {}
        for block in self.axes:
            names = sorted(block)
            for values in itertools.product(*(block[name] for name in names)):
                chosen = dict(zip(names, values))
                points.setdefault(point_name(chosen), Point(point_name(chosen), {**self.parameters, **chosen}))
        return list(points.values())


def point_name(values: dict[str, Any]) -> str:
    """``a=1,b=x`` from axis values (sorted by name), safe as a directory name."""
    text = ",".join(f"{key}={_text(value)}" for key, value in sorted(values.items()))
    return _UNSAFE.sub("_", text) or "default"


def run_sweep(sweep: Sweep, progress: bool = True) -> pd.DataFrame:
    """Run every point of ``sweep`` not already done, in parallel on Dask; returns :func:`sweep_report`."""
    from dask.distributed import as_completed
    from tqdm import tqdm

    points = sweep.points()
    todo = [point for point in points if _state(sweep.runs / point.name) != "done"]
    sweep.runs.mkdir(parents=True, exist_ok=True)
    if todo:
        with dask_client(sweep.workers, sweep.scheduler) as client, tqdm(
            total=len(points), initial=len(points) - len(todo), unit="point", desc="sweep", disable=not progress
        ) as bar:
            futures = [client.submit(run_point, sweep, point, key=f"sweep-{point.name}", pure=False) for point in todo]
            for future in as_completed(futures):
                future.result()
                bar.update()
    return sweep_report(sweep.runs)


class SocketFileKernelManager(AsyncKernelManager):
    """A kernel reached through Unix socket files of its own (ZeroMQ's ipc transport) instead of TCP ports.

    Over TCP, jupyter_client picks five free ports, closes them and hands them to the kernel, which
    binds them seconds later: a kernel starting at the same time in another worker process can be
    handed the same ports, and one of the two dies before it runs a cell. Socket files named after
    a fresh UUID cannot collide."""

    @default("transport")
    def _socket_files(self) -> str:
        return "ipc"

    @default("ip")
    def _socket_path(self) -> str:  # the socket files are <this>-1 ... <this>-5
        return os.path.join(tempfile.gettempdir(), f"specgen-kernel-{uuid.uuid4().hex}")


def run_point(sweep: Sweep, point: Point) -> str:
    """Run the notebooks of ``sweep`` at ``point`` in its directory; record and return its state.
    An exception is recorded in ``status.json``, never raised: one failed point stops no other."""
    import papermill

    where = sweep.runs / point.name
    where.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    status: dict[str, Any] = {"name": point.name, "parameters": point.parameters}
    try:
        data = where / "data"
        if not data.is_symlink():
            data.symlink_to(sweep.root / "data", target_is_directory=True)
        (where / "parameters.json").write_text(json.dumps(point.parameters, indent=1) + "\n")
        for notebook in sweep.notebooks:
            papermill.execute_notebook(
                str(notebook),
                str(where / notebook.name),
                parameters={**point.parameters, "root": str(where)},
                kernel_name=sweep.kernel,
                cwd=str(sweep.root),
                progress_bar=False,
                kernel_manager_class=SocketFileKernelManager,  # points start kernels at the same time
            )
        status["state"] = "done"
    except Exception as error:  # noqa: BLE001 - recorded, so that the other points go on
        status |= {"state": "failed", "error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
    status["seconds"] = round(time.perf_counter() - started, 1)
    tmp = where / (STATUS + ".partial")
    tmp.write_text(json.dumps(status, indent=1, default=str) + "\n")
    tmp.replace(where / STATUS)
    return status["state"]


def sweep_report(runs: str | os.PathLike) -> pd.DataFrame:
    """One row per point directory under ``runs``: its name, state, seconds, parameters, error (if
    failed) and the test and validation metrics of every generator it trained (``<profile>.gen_mae``,
    ``<profile>.val_gen_mae``, ...)."""
    rows = []
    for status_file in sorted(Path(runs).glob(f"*/{STATUS}")):
        status = json.loads(status_file.read_text())
        row = {"point": status["name"], "state": status["state"], "seconds": status.get("seconds")}
        row |= status.get("parameters", {})
        if status["state"] == "failed":
            row["error"] = status.get("error")
        for manifest in sorted(status_file.parent.glob("models/*/emulator/emulator.json")):
            metrics = json.loads(manifest.read_text()).get("metrics", {})
            profile = manifest.parents[1].name
            for split, prefix in (("test", f"{profile}."), ("validation", f"{profile}.val_")):
                numbers = {key: value for key, value in metrics.get(split, {}).items() if isinstance(value, (int, float))}
                row |= {f"{prefix}{key}": value for key, value in numbers.items()}
        rows.append(row)
    return pd.DataFrame(rows)


def check_done(report: pd.DataFrame, runs: str | os.PathLike) -> pd.DataFrame:
    """``report`` (:func:`sweep_report` of the directory ``runs``) if every point in it is ``done``;
    otherwise raise :class:`SweepFailed` naming the other points and their errors."""
    unfinished = report[report["state"] != "done"] if len(report) else report
    if len(unfinished):
        columns = [column for column in ("point", "error") if column in unfinished]
        raise SweepFailed(f"sweep points failed (see their status.json in {runs}): {unfinished[columns]}")
    return report


def generator_point(provenance: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A generator trained outside a sweep as a point of it, for
    :func:`specgen.studies.learning_curve.learning_curve`: the test and validation metrics of its
    ``provenance`` (``gen_mae``, ``val_gen_mae``, ... in continuum units) with its ``point`` ``name``,
    ``kind``, ``latent`` size (None for a kind without one) and training grid's ``n_train_spectra`` and
    ``n_train_stars``."""
    grid, metrics = provenance["training_grid"], provenance["metrics"]
    validation = {f"val_{key}": value for key, value in metrics.get("validation", {}).items()}
    return metrics["test"] | validation | {
        "point": name,
        "kind": provenance.get("kind", "paper"),
        "latent": provenance["config"].get("latent"),
        "n_train_spectra": grid["n_spectra"],
        "n_train_stars": grid["n_stars"],
    }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _state(where: Path) -> str | None:
    try:
        return json.loads((where / STATUS).read_text()).get("state")
    except (OSError, ValueError):
        return None


def _existing(root: Path, notebook: str, spec: Path) -> Path:
    path = (root / notebook).resolve()
    if not path.is_file():
        raise SweepError(f"{spec}: no notebook {notebook} (paths are relative to {root})")
    return path
