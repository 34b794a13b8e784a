"""A generator's model card: domain, training data, accuracy, Tab. 5, speed, physics and limits, all measured.

:func:`measure_card` measures a trained emulator on a held-out radiative-transfer test grid (and, for
Tab. 5, with the estimator fitted on its training grid); :func:`card_markdown` writes the numbers as
the ``MODEL_CARD.md`` shipped beside the pretrained generator, and ``card.json`` keeps them:
:func:`read_card` reads them back, :func:`domain_table` and :func:`tab5_table` as tables. The
command line: ``specgen card --model M --train train.h5 --test test.h5 --out M/``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from specgen.constants import PAPER, VERSION
from specgen.grid import Grid, as_grid, write_grid
from specgen.labels import LABEL_UNITS
from specgen.model.emulator import Emulator, as_emulator, pretrained_dir
from specgen.model.evaluate import evaluate
from specgen.model.metrics import binned_residual
from specgen.runtime.backend import device_name
from specgen.runtime.timing import generation_seconds
from specgen.validate.estimator import EstimatorConfig
from specgen.validate.tab5 import validate

#: The radiative-transfer spectra shipped beside a carded model, in ``reference/``.
REFERENCE_NAME = "rt_spectra.h5"

#: What the card says of every generator trained on specgen's own database (grid attributes add the versions).
PHYSICS = (
    "1D, LTE, plane-parallel radiative transfer by SME (PySME) on atmosnet's neural-network emulation of Kurucz C3K "
    "model atmospheres, VALD3 atomic and molecular lines with the H I Paschen series, solar-scaled abundances; "
    "rotation with linear limb darkening (ε = 0.6), then a Gaussian instrumental profile of FWHM λ/R; air wavelengths"
)

LIMITS = (
    "Not a substitute for radiative transfer outside its domain: it refuses labels outside the training ranges "
    "unless asked to extrapolate, and is untested there.",
    "It inherits the physics above: no NLTE (the Ca II triplet cores and Paschen lines of hot stars are LTE), no 3D "
    "convection, no individual abundances, no macroturbulence, no magnetic fields.",
    "atmosnet's atmospheres are an emulation of C3K with known defects at the cool and metal-rich corner; specgen "
    "repairs or rejects those, and the error is largest where spectra change fastest (cool, metal-rich stars).",
    "Accuracy is measured against the same code it was trained on: two radiative-transfer codes disagree by a mean "
    "|ΔF| of about 4e-3 on one solar model with the same atmosphere and lines (a single star, not a survey of Tab. 1).",
)


def measure_card(
    emulator: Emulator | str | os.PathLike,
    train: Grid | str | os.PathLike,
    test: Grid | str | os.PathLike,
    estimator_config: EstimatorConfig = EstimatorConfig.small_grid(),
    *,
    speed_batch: int = 4096,
    n_reference: int = 3,
) -> dict[str, Any]:
    """The numbers of a model card, as a JSON-able dict: ``domain`` (label → [low, high], unit),
    ``training`` (spectra, stars, code versions, line list, seeds), ``test`` (the metrics of
    :func:`~specgen.model.evaluate.evaluate`, the number of independent test stars, and the MAE per
    spectrum in four bins of each label), ``tab5`` (ratios and their 68% intervals over test stars,
    :meth:`~specgen.validate.tab5.Validation.intervals`), ``speed`` (µs per spectrum at ``speed_batch``,
    on the device named), ``reference`` (the first test row of each of the first ``n_reference`` stars, and their MAE:
    the spectra :func:`write_card` ships beside the model, to check it on any install) and provenance."""
    emulator, model_path = as_emulator(emulator)
    (train, train_path), (test, test_path) = as_grid(train, "training"), as_grid(test, "evaluation")
    metrics = evaluate(emulator, test)
    per_spectrum = np.abs(emulator.generate_like(test) - test.flux).mean(axis=1)
    by_label = {}
    for name in test.label_names:
        binned = binned_residual(test.label(name), per_spectrum, bins=4)
        means = [m if np.isfinite(m) else None for m in binned.mean.tolist()]  # None: no test star in the bin
        by_label[name] = {"edges": binned.edges.tolist(), "mae": means}
    _, first_rows = np.unique(test.star_ids(), return_index=True)
    reference = np.sort(first_rows)[:n_reference]  # one spectrum of each of the first stars: a few kB each
    validation = validate(emulator, train, test, estimator_config)
    intervals = validation.intervals()
    units = emulator.provenance.get("label_units", {})
    trained = emulator.provenance.get("training_grid", {})
    attrs = trained.get("attrs", {})
    return {
        "specgen_version": VERSION,
        "model": model_path,
        "kind": emulator.kind,
        "paper": PAPER,
        "domain": {
            n: [emulator.label_ranges[n].low, emulator.label_ranges[n].high, units.get(n, LABEL_UNITS.get(n, ""))]
            for n in emulator.label_names
        },
        "training": {
            "n_spectra": trained.get("n_spectra"),
            "n_stars": trained.get("n_stars"),
            "code": attrs.get("code"),
            "code_versions": attrs.get("code_versions"),
            "linelist": attrs.get("linelist"),
            "atmospheres": attrs.get("atmospheres"),
            "grid_seed": attrs.get("seed"),
            "training_seed": emulator.provenance.get("seed"),
            "seconds": emulator.provenance.get("training_seconds"),
            "device": emulator.provenance.get("device"),
        },
        "test": {
            "grid": test_path,
            "n_spectra": len(test),
            "n_stars": int(np.unique(test.star_ids()).size),
            "seed": test.attrs.get("seed"),
            **{k: metrics[k] for k in ("gen_mae", "gen_median_abs", "gen_p99_abs", "gen_max_abs", "mean_spectrum_mae")},
            "mae_by_label": by_label,
        },
        "tab5": {
            "train_grid": train_path,
            "estimator": f"PCA({estimator_config.n_components}) + networks, {validation.estimator.mode}",
            **json.loads(intervals.to_json(orient="index")),
        },
        "speed": {
            "batch": speed_batch,
            "microseconds_per_spectrum": 1e6 * generation_seconds(emulator, speed_batch) / speed_batch,
            "device": device_name(),
        },
        "reference": {"rows": reference.tolist(), "mae": float(per_spectrum[reference].mean())},
        "physics": PHYSICS,
        "limits": list(LIMITS),
    }


def card_markdown(card: dict[str, Any]) -> str:
    """``MODEL_CARD.md`` for the numbers of :func:`measure_card`."""
    test, training, speed = card["test"], card["training"], card["speed"]
    domain = "\n".join(f"| {n} | {lo:g} | {hi:g} | {unit} |" for n, (lo, hi, unit) in card["domain"].items())
    by_label = "\n".join(
        f"| {n} | " + " | ".join(f"{lo:.4g}–{hi:.4g}: {_error(m)}" for lo, hi, m in zip(b["edges"], b["edges"][1:], b["mae"]))
        + " |"
        for n, b in test["mae_by_label"].items()
    )
    ratios = "\n".join(
        f"| {n} | {r['ratio']:.2f} | {r['ratio_low']:.2f}–{r['ratio_high']:.2f} | {r['n_stars']} |"
        for n, r in _tab5_rows(card).items()
    )
    limits = "\n".join(f"- {limit}" for limit in card["limits"])
    versions = ", ".join(f"{k} {v}" for k, v in (training["code_versions"] or {}).items())
    return f"""# Model card: specgen's pretrained generator ({card['kind']} kind)

Made by specgen {card['specgen_version']}; every number below was measured by `specgen card` (`card.json` holds them).
Load it with `Emulator.pretrained()` or `--model pretrained`.

## Domain
Labels outside these ranges are refused unless `allow_extrapolation=True`. Spectra: 8400–8800 Å (air), 0.1 Å pixels,
continuum-normalised.

| label | low | high | unit |
|---|---|---|---|
{domain}

## Training data
{training['n_spectra']:,} radiative-transfer spectra of {training['n_stars']:,} stars (grid seed {training['grid_seed']},
training seed {training['training_seed']}), trained in {training['seconds']:,.0f} s on {training['device']}.
Code: {training['code']}; {versions}. Lines: {training['linelist']}. Atmospheres: {training['atmospheres']}.

## Accuracy on {test['n_spectra']:,} held-out spectra of {test['n_stars']:,} independent stars
|generated − radiative transfer|, continuum units: MAE {test['gen_mae']:.2e}, median {test['gen_median_abs']:.2e},
99th percentile {test['gen_p99_abs']:.2e}, max {test['gen_max_abs']:.2e} (the mean training spectrum: MAE
{test['mean_spectrum_mae']:.2e}). MAE per spectrum in four bins of each label:

| label | bins: MAE |
|---|---|
{by_label}

## Tab. 5 of Gebran (2024): labels recovered by PCA(15) + networks
RMSE(generated) / RMSE(radiative transfer) on the test stars, the estimator ({card['tab5']['estimator']}) fitted on
the training grid; 68% intervals from a bootstrap over test stars. Near 1: generated spectra carry the labels as radiative transfer does.

| label | ratio | 68% interval | stars |
|---|---|---|---|
{ratios}

`reference/{REFERENCE_NAME}` holds {len(card['reference']['rows'])} of those test spectra (MAE {card['reference']['mae']:.2e}
there), to check the model on any install.

## Speed
{speed['microseconds_per_spectrum']:.0f} µs per spectrum in batches of {speed['batch']:,} on {speed['device']}.

## Physics it emulates
{card['physics']}.

## Known limits
{limits}
"""


def read_card(directory: str | os.PathLike | None = None) -> dict[str, Any]:
    """The numbers of the card in ``directory`` (its ``card.json``); by default the shipped generator's."""
    path = Path(pretrained_dir() if directory is None else directory) / "card.json"
    if not path.is_file():
        raise FileNotFoundError(f"no model card at {path}: make one with `specgen card`")
    return json.loads(path.read_text())


def domain_table(card: dict[str, Any]) -> pd.DataFrame:
    """The card's training ranges: a row per label, columns low, high, unit."""
    return pd.DataFrame(card["domain"], index=["low", "high", "unit"]).T.rename_axis("label")


def tab5_table(card: dict[str, Any]) -> pd.DataFrame:
    """The card's Tab. 5: a row per label, RMSE on radiative-transfer and on generated test spectra, their
    ratio with its 68% interval over test stars, and the number of stars (the labels' units)."""
    columns = {"test": "RMSE (radiative transfer)", "generated": "RMSE (generated)", "ratio": "ratio",
               "ratio_low": "ratio, 16%", "ratio_high": "ratio, 84%", "n_stars": "stars"}
    table = pd.DataFrame(_tab5_rows(card)).T[list(columns)].astype(float).astype({"n_stars": int})
    return table.rename(columns=columns).rename_axis("label")


def _tab5_rows(card: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The card's Tab. 5 entries, label → its numbers (without the grid and estimator it names)."""
    return {k: v for k, v in card["tab5"].items() if k not in ("train_grid", "estimator")}


def _error(value: float | None) -> str:
    return "no test star" if value is None or not np.isfinite(value) else f"{value:.2e}"


def write_card(card: dict[str, Any], directory: str | os.PathLike, test: Grid | str | os.PathLike) -> Path:
    """``MODEL_CARD.md``, ``card.json`` and the reference spectra of ``test`` (the card's test grid) as
    ``reference/rt_spectra.h5`` in ``directory``; returns the Markdown's path."""
    directory = Path(directory)
    test, _ = as_grid(test, "evaluation")
    (directory / "reference").mkdir(exist_ok=True)
    write_grid(directory / "reference" / REFERENCE_NAME, test.subset(np.asarray(card["reference"]["rows"])))
    (directory / "card.json").write_text(json.dumps(card, indent=1, default=float) + "\n")
    path = directory / "MODEL_CARD.md"
    path.write_text(card_markdown(card))
    return path
