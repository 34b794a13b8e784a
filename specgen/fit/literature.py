"""A fitted star beside the literature: the table and the sentence of chapter 08.

``literature`` maps label names to (value, 1σ) in the label's unit (:data:`specgen.labels.LABEL_UNITS`),
either of them None where not known, as chapter 08's parameter of that name::

    literature = {"teff": [5670, 80], "logg": [4.47, None], "m_h": [-0.18, 0.10]}
    literature_table(star.labels, literature)     # one row per fitted label
    literature_summary(best, literature)          # "teff = 5702 K (literature 5670 ± 80); ..."
"""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from specgen.fit.chi2 import LabelFit
from specgen.labels import LABEL_UNITS

Literature = Mapping[str, Sequence[float | None]]


def literature_table(fit: LabelFit, literature: Literature) -> pd.DataFrame:
    """One row per label of the one-star ``fit``, in its label's unit: ``unit``, ``fitted``, ``±1σ``
    ("held" for a label held fixed), ``on a range edge`` (bool), ``literature`` and ``literature ±1σ``
    (None where ``literature`` has none) and ``fitted − literature`` (None without a literature value)."""
    rows = {}
    for j, name in enumerate(fit.label_names):
        value, error = literature.get(name, (None, None))
        rows[name] = {
            "unit": LABEL_UNITS.get(name, ""),
            "fitted": fit.labels[0, j],
            "±1σ": "held" if name in fit.fixed else fit.uncertainties[0, j],
            "on a range edge": bool(fit.at_bound[0, j]),
            "literature": value,
            "literature ±1σ": error,
            "fitted − literature": None if value is None else fit.labels[0, j] - value,
        }
    return pd.DataFrame(rows).T


def literature_summary(best: Mapping[str, float], literature: Literature) -> str:
    """``"teff = 5702 K (literature 5670 ± 80); logg = 4.41 dex (cgs) (literature 4.47)"``: every label of
    ``literature`` that ``best`` (fitted values by name, in the label's unit) has, in the order of
    ``literature``; values above 100 in magnitude without decimals, the others with two."""
    return "; ".join(
        f"{name} = {best[name]:.{0 if abs(best[name]) > 100 else 2}f} {LABEL_UNITS.get(name, '')} "
        f"(literature {literature[name][0]:g}" + (f" ± {literature[name][1]:g})" if literature[name][1] else ")")
        for name in literature
        if name in best
    )
