"""New (v sin i, R) variants of the stars a grid file keeps the intrinsic spectra of (group ``/intrinsic``).

Synthesis (:mod:`specgen.synth.database`) stores each star's spectrum without rotation, convolved with
the Gaussian of R_max = 14,500 (the top of Tab. 1) only, at every fourth point of its 0.5 km/s grid,
i.e. every 2 km/s over 8387.9–8812.6 Å: 7,405 float32, 29.6 kB a star. Convolutions commute, so any
Tab. 1 variant follows from it with the rotation and the remaining Gaussian
(:func:`~specgen.synth.broaden.observe_prebroadened`): against broadening the 0.5 km/s intrinsic
spectrum itself as synthesis does (:func:`~specgen.synth.broaden.observe`), max |ΔF| < 3e-7 for v sin i
0–300 km/s and R 5,000–14,500 on PySME spectra of the Sun and of a 3700 K giant
(``tests/test_intrinsic_store.py`` holds it to 1e-4).

    specgen broaden train.h5 --variants 20 --seed 1 --out train20.h5
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np

from specgen.constants import RVS_WAVELENGTH
from specgen.grid import (
    GridAppender,
    GridError,
    IntrinsicSpectra,
    read_attrs,
    read_grid,
    read_intrinsic,
)
from specgen.labels import LABEL_NAMES, TABLE1_RANGES, LabelRange
from specgen.synth.broaden import observe_prebroadened
from specgen.synth.database import SynthesisPlan, draw_broadening

#: File attributes a grid of new variants takes over from its source: how the physics was computed.
CARRIED_ATTRS = ("code", "code_versions", "linelist", "atmospheres", "broadening", "wavelength_medium")
CHUNK_STARS = 256  # stars read from the source at a time


def broaden_stored(
    intrinsic: IntrinsicSpectra,
    vsini: np.ndarray,
    resolution: np.ndarray,
    target: np.ndarray = RVS_WAVELENGTH,
    epsilon: float = 0.6,
) -> np.ndarray:
    """Spectra ``(n_stars · k, n_target)`` of the stored stars, each at its own k (v sin i, R), star by star.

    ``vsini`` (km/s) and ``resolution`` (λ/Δλ) have shape ``(n_stars, k)``, or ``(n_stars,)`` for one
    variant each; ``target`` in Å; ``epsilon`` the limb darkening of the rotation (synthesis uses 0.6).
    Within the stored limits: v sin i ≤ ``vsini_max``, ``resolution_min`` ≤ R ≤ ``pre_resolution``.
    """
    vsini, resolution = (np.asarray(a, dtype=np.float64).reshape(len(intrinsic), -1) for a in (vsini, resolution))
    attrs = intrinsic.attrs
    if vsini.min(initial=0.0) < 0 or vsini.max(initial=0.0) > attrs["vsini_max"]:
        raise ValueError(f"v sin i outside 0–{attrs['vsini_max']:g} km/s, the rotations the stored spectra are padded for")
    if resolution.size and not attrs["resolution_min"] <= resolution.min() <= resolution.max() <= attrs["pre_resolution"]:
        raise ValueError(
            f"R outside {attrs['resolution_min']:g}–{attrs['pre_resolution']:g}: the stored spectra are at "
            f"R = {attrs['pre_resolution']:g}, padded for instruments down to R = {attrs['resolution_min']:g}"
        )
    upsample = round(attrs["velocity_step"] / attrs["synthesis_step"])
    rows = [
        observe_prebroadened(
            intrinsic.wavelength, flux.astype(np.float64), v, r, target, attrs["pre_resolution"], upsample, epsilon
        )
        for flux, v, r in zip(intrinsic.flux, vsini, resolution)
    ]
    return np.concatenate(rows) if rows else np.empty((0, target.size))


def draw_variants(
    source: str | os.PathLike,
    variants: int,
    seed: int,
    out: str | os.PathLike,
    *,
    ranges: Mapping[str, LabelRange] = TABLE1_RANGES,
    progress: bool = True,
) -> Path:
    """A new grid file ``out`` with ``variants`` spectra of every star whose intrinsic spectrum ``source``
    keeps, at (v sin i, R) drawn uniformly in ``ranges`` (Tab. 1) from ``seed``, as synthesis does.

    Rows are linked to the stars by ``star_id`` and the stars' intrinsic spectra are copied along, so
    ``out`` is a database of the same format; its attributes name the source, the seed and the method.
    Written to ``out.partial`` and renamed when whole; an existing ``out`` is refused, not overwritten.
    """
    source, out = Path(source), Path(out)
    if variants < 1:
        raise ValueError(f"need variants >= 1, got {variants}")
    if out.exists():
        raise GridError(f"{out} exists; delete it or choose another output file")
    stored = read_intrinsic(source, rows=slice(0, 0))
    if stored is None:
        raise GridError(
            f"{source} keeps no intrinsic spectra (no /intrinsic group): made before specgen stored them, or by "
            "another code; `specgen synth` makes a grid that does"
        )
    drawn = draw_broadening(np.random.default_rng(seed), int(stored.attrs["n_committed"]), variants, ranges)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _write_variants(partial, source, stored, drawn, _variant_attrs(source, seed, variants, ranges), progress)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    return out


def _write_variants(
    path: Path, source: Path, stored: IntrinsicSpectra, drawn: np.ndarray, attrs: dict, progress: bool
) -> None:
    """Broaden the stored stars of ``source`` (``stored``: its group, read without rows) to ``drawn``
    (n_stars, k, 2) into the new grid file ``path``."""
    from tqdm import tqdm

    target = read_grid(source, rows=slice(0, 0)).wavelength
    group = {key: value for key, value in stored.attrs.items() if key != "n_committed"}
    with GridAppender(path, target, LABEL_NAMES, attrs, stored.wavelength, group) as out, tqdm(
        total=len(drawn), unit="star", desc=f"broadening → {path.name.removesuffix('.partial')}",
        disable=not progress, mininterval=10,
    ) as bar:
        for start in range(0, len(drawn), CHUNK_STARS):
            chunk = read_intrinsic(source, rows=slice(start, start + CHUNK_STARS))
            plan = SynthesisPlan(chunk.labels, drawn[start : start + len(chunk)])
            for i in range(len(chunk)):
                star = plan.variants[i : i + 1]
                flux = broaden_stored(chunk.subset(slice(i, i + 1)), star[..., 0], star[..., 1], target)
                out.append(flux, plan.labels(i), chunk.star_id[i], intrinsic=chunk.flux[i])
                bar.update()
        out.finish()


def _variant_attrs(source: Path, seed: int, variants: int, ranges: Mapping[str, LabelRange]) -> dict:
    """Attributes of a grid of new variants: the source's physics, and how the variants were drawn."""
    old = read_attrs(source)
    return {
        **{key: old[key] for key in CARRIED_ATTRS if key in old},
        "broadened_from": str(source.resolve()),
        "source_created": old.get("created", ""),
        "method": "new (v sin i, R) variants broadened from the stored intrinsic spectra (/intrinsic) by specgen broaden",
        "seed": seed,
        "variants": variants,
        "label_sampling": "the stored stars' intrinsic labels; (v sin i, R) uniform",
        "variant_ranges": {name: [ranges[name].low, ranges[name].high] for name in ("vsini", "resolution")},
    }
