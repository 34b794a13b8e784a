"""One training run from a grid to a saved emulator: :func:`train_emulator` and :func:`fit_or_load`."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import keras
import numpy as np

from specgen.constants import PAPER, VERSION
from specgen.grid import Grid, GridError, as_grid, read_grid
from specgen.labels import LABEL_UNITS, spanned_ranges
from specgen.model import finetune
from specgen.model.autoencoder import train_autoencoder
from specgen.model.config import FINE_TUNE, FactorisedConfig, TrainingConfig
from specgen.model.emulator import (
    AutoencoderEmulator,
    Emulator,
    EmulatorError,
    jsonable,
)
from specgen.model.factorised import train_factorised
from specgen.model.mapper import train_mapper
from specgen.model.networks import predict_in_batches
from specgen.model.scaling import Scaler
from specgen.model.schedule import split_rows
from specgen.runtime.backend import (
    backend_version,
    device_name,
    predictor,
)
from specgen.runtime.console import say

#: Grid attributes that describe how a file is being written, not where its spectra come from.
_BOOKKEEPING = {"complete", "n_committed", "n_stars_committed", "label_names", "label_units"}


def train_emulator(
    grid: Grid | str | os.PathLike,
    config: TrainingConfig | FactorisedConfig,
    *,
    test_grid: Grid | str | os.PathLike | None = None,
    fine_tune: bool = FINE_TUNE,
    two_stage_out: str | os.PathLike | None = None,
    n_stars: int | None = None,
    progress: bool = True,
) -> Emulator:
    """Train on ``grid`` (a :class:`Grid` or a grid file), or on its first ``n_stars`` stars
    (:meth:`Grid.first_stars`), the kind of generator that ``config`` configures:

    * :class:`TrainingConfig`, the paper's kind: the autoencoder on its spectra, then the mapper from
      its labels to the encoder's latents, then, with ``fine_tune``, decoder∘mapper end to end;
    * :class:`FactorisedConfig`: :func:`specgen.model.factorised.train_factorised` (``fine_tune`` does
      not apply: it is trained end to end on the flux).

    Rows of one star (:meth:`Grid.star_ids`) stay together on one side of the validation split.
    The emulator keeps the grid's wavelength medium (:attr:`Emulator.medium`).
    ``test_grid`` holds spectra never used in training nor for early stopping, on the same
    wavelengths in the same medium. The metrics of
    :func:`specgen.model.evaluate.evaluate` on ``grid``, on its validation stars (those that
    stopped the training: what choices between generators are made on) and on ``test_grid`` are
    stored in ``provenance["metrics"]["train"]``, ``["validation"]`` and ``["test"]``: those of the emulator returned, so that
    ``specgen evaluate`` gives the same; with ``fine_tune``, those of the two-stage generator before
    it in ``["before_fine_tune"]``. With fine-tuning and ``two_stage_out``, that two-stage generator
    (the paper's method) is also saved there before fine-tuning changes it, with its own metrics; the
    two share ``provenance["created"]``.
    """
    from specgen.model.evaluate import evaluate

    started = time.perf_counter()
    grid, grid_path = as_grid(grid, "training")
    grid = grid if n_stars is None else grid.first_stars(n_stars)
    test, test_path = as_grid(test_grid, "evaluation") if test_grid is not None else (None, None)
    if test is not None and not np.array_equal(test.wavelength, grid.wavelength):
        raise GridError("the test grid has another wavelength grid than the training grid")
    if test is not None and test.medium != grid.medium:
        raise GridError(f"the test grid has wavelengths in {test.medium}, the training grid in {grid.medium}")
    stars = grid.star_ids()  # the variants of one star stay on one side of every validation split
    _, val_rows = split_rows(len(grid), config.validation_split, config.seed, stars)  # as every stage splits

    if isinstance(config, FactorisedConfig):
        say(progress, f"factorised generator on {len(grid)} spectra × {grid.flux.shape[1]} pixels")
        emulator, generator_history = train_factorised(grid, config, groups=stars, progress=progress)
        history = {"generator": generator_history}  # one stage, keyed as the paper kind's are
    else:
        emulator, history = _train_two_stages(grid, config, stars, progress)
    emulator.provenance = _provenance(grid, grid_path, config, emulator, stars, np.unique(stars[val_rows]))
    grids = {"train": grid} | ({"validation": grid.subset(val_rows)} if val_rows.size else {})
    grids |= {"test": test} if test is not None else {}
    metrics = {split: evaluate(emulator, g) for split, g in grids.items()}
    fine_tuned = fine_tunes(config, fine_tune)
    if fine_tuned and two_stage_out is not None:
        _record_training(emulator, test, test_path, False, metrics, dict(history), started)
        emulator.save(two_stage_out)
        say(progress, f"saved the two-stage generator to {two_stage_out}")
    if fine_tuned:
        say(progress, "fine-tuning decoder∘mapper on the flux")
        x_labels, x_flux = emulator.label_scaler.transform(grid.labels), emulator.flux_scaler.transform(grid.flux)
        history["fine_tune"] = finetune.fine_tune(
            emulator.decoder, emulator.mapper, x_labels, x_flux, config, groups=stars, progress=progress
        )
        # fine-tuning changed the decoder in place: measure everything again, as `specgen evaluate` would
        metrics = {split: evaluate(emulator, g) | {"before_fine_tune": metrics[split]} for split, g in grids.items()}
    _record_training(emulator, test, test_path, fine_tuned, metrics, history, started)
    say(progress, _metrics_line(metrics))
    return emulator


def _record_training(
    emulator: Emulator, test: Grid | None, test_path: str | None, fine_tuned: bool, metrics: dict, history: dict,
    started: float,
) -> None:
    """Complete ``emulator.provenance`` with what its training measured, ``started`` at that perf_counter."""
    emulator.provenance = {
        **emulator.provenance,
        "test_grid": None if test is None else {"path": test_path, "n_spectra": len(test)},
        "fine_tuned": fine_tuned,
        "metrics": metrics,
        "history": history,
        "training_seconds": round(time.perf_counter() - started, 1),
        "device": device_name(),
    }


def fine_tunes(config: TrainingConfig | FactorisedConfig, fine_tune: bool) -> bool:
    """Whether a run with ``config`` fine-tunes when asked to: only the paper's kind has two stages."""
    return fine_tune and isinstance(config, TrainingConfig)


def _train_two_stages(
    grid: Grid, config: TrainingConfig, stars: np.ndarray, progress: bool
) -> tuple[AutoencoderEmulator, dict]:
    """The paper's two stages (Sec. 2.2–2.3): the autoencoder, then the mapper to its latents."""
    label_scaler = Scaler.fit(grid.labels, config.label_scaling)
    flux_scaler = Scaler.fit(grid.flux, config.flux_scaling)
    x_flux, x_labels = flux_scaler.transform(grid.flux), label_scaler.transform(grid.labels)
    say(progress, f"autoencoder on {len(grid)} spectra × {grid.flux.shape[1]} pixels")
    ae, ae_history = train_autoencoder(x_flux, config, groups=stars, progress=progress)
    latent = predict_in_batches(predictor(ae.encoder), x_flux, config.latent, 4096)
    say(progress, f"mapper from {len(grid.label_names)} labels to {config.latent} latents")
    mapper, mapper_history = train_mapper(x_labels, latent, config, groups=stars, progress=progress)
    emulator = AutoencoderEmulator(
        ae.encoder, ae.decoder, mapper, label_scaler, flux_scaler, grid.label_names,
        spanned_ranges(grid.label_names, grid.labels), grid.wavelength, grid.flux.mean(axis=0), medium=grid.medium,
    )
    return emulator, {"autoencoder": ae_history, "mapper": mapper_history}


def validation_subset(emulator: Emulator, grid: Grid) -> Grid:
    """The rows of ``grid`` (the emulator's training grid) whose stars stopped its training: spectra
    it was not fitted to, for choices and for its own error (:func:`specgen.fit.chi2.generator_error`)
    without touching the test grid."""
    stars = emulator.provenance.get("training_grid", {}).get("validation_stars")
    if stars is None:
        raise EmulatorError("this emulator does not record its validation stars (an older specgen trained it): retrain")
    rows = np.isin(grid.star_ids(), stars)
    if not rows.any():
        raise EmulatorError("none of the emulator's validation stars is in this grid: give its training grid")
    return grid.subset(rows)


def _provenance(
    grid: Grid,
    grid_path: str | None,
    config: TrainingConfig | FactorisedConfig,
    emulator: Emulator,
    stars: np.ndarray,
    validation_stars: np.ndarray,
) -> dict[str, Any]:
    """Where an emulator comes from: paper, versions, labels, training grid (its ``stars`` per row and
    the ``validation_stars`` that stopped the training), configuration. Records the sizes evaluate() reads."""
    units = grid.attrs.get("label_units") or {}
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "paper": PAPER,
        "versions": {
            "specgen": VERSION,
            "keras": keras.__version__,
            "backend": f"{keras.backend.backend()} {backend_version()}",
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "label_units": {n: units.get(n, LABEL_UNITS.get(n, "")) for n in grid.label_names},
        "label_ranges": {n: [r.low, r.high] for n, r in emulator.label_ranges.items()},
        "wavelength_angstrom": {"first": grid.wavelength[0], "last": grid.wavelength[-1], "n": grid.wavelength.size},
        "training_grid": {
            "path": grid_path,
            "n_spectra": len(grid),
            "n_stars": int(np.unique(stars).size),
            "validation_stars": validation_stars.tolist(),
            "attrs": {k: v for k, v in grid.attrs.items() if k not in _BOOKKEEPING},
        },
        "config": asdict(config),
        "seed": config.seed,
        "kind": emulator.kind,
        "parameters": {name: getattr(emulator, name).count_params() for name in emulator.networks},
    }


def _metrics_line(metrics: dict) -> str:
    parts = [
        f"{split}: " + (f"autoencoder MAE {m['ae_mae']:.2e}, " if m["ae_mae"] is not None else "")
        + f"generator MAE {m['gen_mae']:.2e}, mean spectrum {m['mean_spectrum_mae']:.2e}"
        for split, m in metrics.items()
    ]
    return "; ".join(parts)


def fit_or_load(
    grid_path: str | os.PathLike,
    model_dir: str | os.PathLike,
    config: TrainingConfig | FactorisedConfig,
    *,
    test_grid: str | os.PathLike | None = None,
    fine_tune: bool = FINE_TUNE,
    two_stage_dir: str | os.PathLike | None = None,
    n_stars: int | None = None,
    progress: bool = True,
) -> Emulator:
    """The emulator saved in ``model_dir`` if it was trained on this grid (or its first ``n_stars``
    stars) with this ``config``; otherwise train one (reporting metrics on ``test_grid``, never
    training on it) and save it. A fine-tuned one keeps the two-stage generator of the same run in
    ``two_stage_dir`` where given (:func:`train_emulator`'s ``two_stage_out``), and is retrained
    when that one is missing."""
    model_dir, grid_path = Path(model_dir), Path(grid_path)
    saved = _load_if_usable(model_dir, progress)
    if saved is not None:
        grid = read_grid(grid_path)
        trained_on = saved.provenance.get("training_grid", {})
        same_grid = (
            trained_on.get("path") == str(grid_path.resolve())
            and trained_on.get("attrs", {}).get("plan_fingerprint") == grid.attrs.get("plan_fingerprint")
            and trained_on.get("n_spectra") == len(grid if n_stars is None else grid.first_stars(n_stars))
            and saved.medium == grid.medium
            and "validation_stars" in trained_on  # models trained before it was recorded are retrained once
        )
        if same_grid and saved.provenance.get("config") == _jsonable_tree(asdict(config)) and (
            saved.provenance.get("fine_tuned") == fine_tunes(config, fine_tune)
        ) and _has_its_two_stage(saved, two_stage_dir, progress):
            say(progress, f"reusing the emulator in {model_dir}")
            return saved
    emulator = train_emulator(
        grid_path, config, test_grid=test_grid, fine_tune=fine_tune, n_stars=n_stars, progress=progress,
        two_stage_out=two_stage_dir,
    )
    emulator.save(model_dir)
    return emulator


def _has_its_two_stage(emulator: Emulator, two_stage_dir: str | os.PathLike | None, progress: bool) -> bool:
    """Whether ``two_stage_dir`` (None: not asked for) holds the two-stage generator of ``emulator``'s run."""
    if two_stage_dir is None:
        return True
    try:
        two_stage_of(emulator, two_stage_dir)
        return True
    except EmulatorError as err:
        say(progress, f"retraining: {err}")
        return False


def two_stage_of(emulator: Emulator, two_stage_dir: str | os.PathLike) -> Emulator:
    """The two-stage generator (the paper's method) of ``emulator``'s training run: ``emulator`` itself
    when it was not fine-tuned, else the one that run saved in ``two_stage_dir`` (EmulatorError if
    there is none, or one from another run)."""
    if not emulator.provenance.get("fine_tuned"):
        return emulator
    if not (Path(two_stage_dir) / "emulator.json").exists():
        raise EmulatorError(f"no two-stage generator in {two_stage_dir}")
    two_stage = Emulator.load(two_stage_dir)
    if two_stage.provenance.get("created") != emulator.provenance.get("created"):
        raise EmulatorError(f"the two-stage generator in {two_stage_dir} comes from another training run")
    return two_stage


def _load_if_usable(model_dir: Path, progress: bool) -> Emulator | None:
    """The emulator saved in ``model_dir``; None when there is none or it cannot be read."""
    if not model_dir.exists():
        return None
    try:
        return Emulator.load(model_dir)
    except EmulatorError as err:
        say(progress, f"retraining: the emulator in {model_dir} cannot be used ({err})")
        return None


def _jsonable_tree(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value, default=jsonable))
