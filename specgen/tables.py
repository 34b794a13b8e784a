"""The book's tables, one function each, returning a DataFrame that the chapter styles: the label
ranges (chapter 01), our numbers beside the paper's and its peers' (chapters 02, 04, 05), the
generator's speed beside radiative transfer (chapter 04) and what each training cost (chapter 05).

Published numbers come from :mod:`specgen.constants`; fluxes and flux errors are in units of the
continuum, label errors in the label's unit.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from specgen.constants import (
    PAPER_AUTOENCODER,
    PAPER_DATABASE_SPECTRA,
    PAPER_TAB5,
    PEER_GENERATORS,
    RT_CODE_DISAGREEMENT,
    SURVEY_SPECTRA,
    TAB5_SETS,
)
from specgen.labels import LABEL_UNITS, TABLE1_RANGES
from specgen.runtime.timing import generation_seconds

#: The column of the paper's numbers in the tables that set ours beside them.
PAPER_COLUMN = f"Gebran 2024 ({PAPER_DATABASE_SPECTRA:,} spectra)"


def table1() -> pd.DataFrame:
    """Tab. 1: one row per label (index ``label``), its ``unit`` and the ``min`` and ``max`` of the
    uniform distribution it is drawn from, in that unit."""
    return pd.DataFrame(
        [(name, LABEL_UNITS[name], r.low, r.high) for name, r in TABLE1_RANGES.items()],
        columns=["label", "unit", "min", "max"],
    ).set_index("label")


def reconstruction_beside_paper(ours: Mapping[str, float], n_train: int, profile: str) -> pd.DataFrame:
    """The autoencoder's reconstruction metrics ``ours`` (:func:`specgen.model.metrics.reconstruction_metrics`:
    MSE, MAE in continuum units, explained variance, R²) of a generator trained on ``n_train`` spectra at
    ``profile``, beside the paper's (:data:`specgen.constants.PAPER_AUTOENCODER`): a row per metric."""
    return pd.DataFrame(
        {f"this book ({profile}: {n_train:,} training spectra)": ours, PAPER_COLUMN: PAPER_AUTOENCODER}
    )


def generation_beside_peers(
    ours: Mapping[str, Mapping[str, float]],
    baseline: float,
    n_train: int,
    profile: str,
) -> pd.DataFrame:
    """Generators' test errors (continuum units) in two columns, ``MAE`` and ``median |ΔF|`` (NaN where
    not reported), indexed by ``model``: each of ``ours`` (a name such as "two-stage" or "factorised"
    → its test metrics of :func:`specgen.model.evaluate.evaluate`, ``gen_mae`` and ``gen_median_abs``),
    trained on ``n_train`` spectra at ``profile``; the mean training spectrum's MAE ``baseline``; the
    peers' generators (:data:`specgen.constants.PEER_GENERATORS`) and the disagreement of two
    radiative-transfer codes (:data:`specgen.constants.RT_CODE_DISAGREEMENT`). Generation beside
    generation only: the paper reports no generation error (its autoencoder's reconstruction is
    compared with ours by :func:`reconstruction_beside_paper`)."""
    rows = [
        *((f"this book, {name} ({profile}, {n_train:,} spectra)", m["gen_mae"], m["gen_median_abs"])
          for name, m in ours.items()),
        ("mean training spectrum (trivial baseline)", baseline, np.nan),
        *((name, peer.get("mae", np.nan), peer.get("median_abs", np.nan)) for name, peer in PEER_GENERATORS.items()),
        ("SME vs SYNSPEC, one solar model (same atmosphere and lines)", RT_CODE_DISAGREEMENT, np.nan),
    ]
    return pd.DataFrame(rows, columns=["model", "MAE", "median |ΔF|"]).set_index("model")


def generation_speed(emulator: Any, rt_seconds: float, batches: Sequence[int] = (1, 64, 4096)) -> pd.DataFrame:
    """Wall-clock ``seconds per spectrum`` of ``emulator`` generating each of ``batches`` spectra in one
    call (:func:`specgen.runtime.timing.generation_seconds`), indexed by ``batch``, and the
    ``speed-up over radiative transfer`` that taking ``rt_seconds`` (s) per spectrum would be."""
    speed = pd.DataFrame(
        [(b, generation_seconds(emulator, b) / b) for b in batches], columns=["batch", "seconds per spectrum"]
    ).set_index("batch")
    speed["speed-up over radiative transfer"] = rt_seconds / speed["seconds per spectrum"]
    return speed


def survey_speed(seconds_per_spectrum: Mapping[str, float], n_spectra: int = SURVEY_SPECTRA) -> pd.DataFrame:
    """``seconds per spectrum`` (s) of each way of making or fitting a spectrum, indexed by it, and the
    ``days for <n_spectra> spectra`` at that rate on one such machine."""
    speed = pd.DataFrame({"seconds per spectrum": pd.Series(seconds_per_spectrum, dtype=float)})
    speed[f"days for {n_spectra:,} spectra"] = speed["seconds per spectrum"] * n_spectra / 86_400
    return speed


def training_summary(histories: Mapping[Any, Mapping[str, Sequence[float]]]) -> pd.DataFrame:
    """One row per network of ``histories`` (Keras-style histories by network: ``loss``, optionally
    ``val_loss``, and ``seconds`` per epoch): its ``epochs``, ``best validation loss`` (the best
    training loss without a validation one) and mean ``seconds per epoch`` (s)."""
    return pd.DataFrame(
        {key: {"epochs": len(h["loss"]), "best validation loss": min(h.get("val_loss", h["loss"])),
               "seconds per epoch": np.mean(h["seconds"])} for key, h in histories.items()}
    ).T


def paper_tab5() -> pd.DataFrame:
    """The paper's Tab. 5 (:data:`specgen.constants.PAPER_TAB5`): the RMSE (label unit) of its estimator
    per label and set (:data:`specgen.constants.TAB5_SETS`), with the ``ratio`` generated / test."""
    paper = pd.DataFrame.from_dict(PAPER_TAB5, orient="index", columns=list(TAB5_SETS))
    paper["ratio"] = paper["generated"] / paper["test"]
    return paper


def tab5_beside_paper(ours: pd.DataFrame, n_train: int, profile: str) -> pd.DataFrame:
    """Our Tab. 5 ``ours`` (:meth:`specgen.validate.tab5.Validation.table`, estimator trained on
    ``n_train`` spectra at ``profile``) beside :func:`paper_tab5`, one column group each."""
    return pd.concat({f"this book ({profile}, {n_train:,} spectra)": ours, PAPER_COLUMN: paper_tab5()}, axis=1)
