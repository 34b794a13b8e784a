"""The training database: plan the labels, synthesise in parallel, append to a grid file.

Each *star* is one radiative-transfer synthesis at (Teff, log g, [M/H], ξt); it is broadened
into ``variants`` spectra of random (v sin i, R), and kept, without rotation and broadened to
R_max = 14,500 only, in the file's ``/intrinsic`` group, from which :mod:`specgen.synth.variants`
draws any number of further variants. Stars run as tasks on a dask.distributed
cluster: a local one with ``workers`` processes by default, or the scheduler you name
(dask-jobqueue users start a SLURM cluster and pass its address). Results are appended star by
star to the HDF5 grid, so an interrupted run resumes where it stopped, losing and duplicating
nothing.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from specgen.constants import RVS_WAVELENGTH
from specgen.grid import GridAppender, GridError, read_attrs, read_star_log
from specgen.labels import (
    INTRINSIC_LABELS,
    LABEL_NAMES,
    SAMPLERS,
    TABLE1_RANGES,
    LabelRange,
    check_labels,
)
from specgen.runtime.parallel import dask_client
from specgen.runtime.profiles import Profile
from specgen.synth.atmospheres import AtmosphereError, compute_atmosphere
from specgen.synth.broaden import broaden, decimation, intrinsic_wavelength, observe
from specgen.synth.sme import (
    SYNTHESIS_RANGE,
    SYNTHESIS_STEP,
    code_versions,
    log_uniform_grid,
    synthesize_intrinsic,
)

_INTRINSIC_COLS = [LABEL_NAMES.index(n) for n in INTRINSIC_LABELS]
_VARIANT_COLS = [LABEL_NAMES.index(n) for n in ("vsini", "resolution")]

#: The grid PySME synthesises every star on (Å, air; :data:`specgen.synth.sme.SYNTHESIS_STEP` km/s apart in ln λ).
SYNTHESIS_WAVELENGTH = log_uniform_grid(*SYNTHESIS_RANGE, SYNTHESIS_STEP)

#: The stored intrinsic spectrum: broadened to the top of Tab. 1's R (no rotation), every STORE_STEP
#: km/s of the synthesis grid over the RVS window padded for Tab. 1's widest rotation and instrument.
STORE_STEP = 2.0
PRE_RESOLUTION = TABLE1_RANGES["resolution"].high


def store_attrs() -> dict:
    """Attributes of the ``/intrinsic`` group synthesis writes: what its spectra are, and their limits."""
    return {
        "description": "intrinsic spectrum without rotation (v sin i = 0), convolved with the Gaussian instrumental "
        "profile of R = pre_resolution only",
        "pre_resolution": PRE_RESOLUTION,
        "velocity_step": STORE_STEP,
        "synthesis_step": SYNTHESIS_STEP,
        "vsini_max": TABLE1_RANGES["vsini"].high,
        "resolution_min": TABLE1_RANGES["resolution"].low,
    }


def store_slice(target: np.ndarray = RVS_WAVELENGTH) -> slice:
    """The points of :data:`SYNTHESIS_WAVELENGTH` a stored intrinsic spectrum keeps, for spectra on ``target`` (Å)."""
    store = store_attrs()
    window = intrinsic_wavelength(target, store["velocity_step"], store["vsini_max"], store["resolution_min"])
    return decimation(SYNTHESIS_WAVELENGTH, window, round(store["velocity_step"] / store["synthesis_step"]))


def draw_broadening(
    rng: np.random.Generator, n_stars: int, variants: int, ranges: Mapping[str, LabelRange] = TABLE1_RANGES
) -> np.ndarray:
    """(v sin i [km/s], R) of ``variants`` copies of each of ``n_stars`` stars, (n_stars, variants, 2),
    uniform in ``ranges``."""
    low = [ranges[name].low for name in ("vsini", "resolution")]
    high = [ranges[name].high for name in ("vsini", "resolution")]
    return rng.uniform(low, high, size=(n_stars, variants, 2))


@dataclass(frozen=True)
class SynthesisPlan:
    """What to compute: ``intrinsic`` (n_stars, 4) in the order of ``INTRINSIC_LABELS`` and
    ``variants`` (n_stars, k, 2) holding (v sin i [km/s], R) for each broadened copy."""

    intrinsic: np.ndarray
    variants: np.ndarray
    seed: int | None = None
    sampling: str = "uniform"  # how the intrinsic labels were drawn (labels.SAMPLERS), or "given"

    def __len__(self) -> int:
        return self.intrinsic.shape[0]

    @property
    def n_spectra(self) -> int:
        return self.variants.shape[0] * self.variants.shape[1]

    def labels(self, star: int) -> np.ndarray:
        """Full label rows (k, 6), in ``LABEL_NAMES`` order, of one star's variants."""
        k = self.variants.shape[1]
        rows = np.empty((k, len(LABEL_NAMES)))
        rows[:, _INTRINSIC_COLS] = self.intrinsic[star]
        rows[:, _VARIANT_COLS] = self.variants[star]
        return rows

    def fingerprint(self) -> str:
        """A hash of the planned labels: a file is only resumed by the plan that started it."""
        digest = hashlib.sha256()
        for arr in (self.intrinsic, self.variants, RVS_WAVELENGTH):
            digest.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
        return digest.hexdigest()[:16]


def random_plan(
    n_stars: int,
    variants: int,
    seed: int,
    ranges: Mapping[str, LabelRange] = TABLE1_RANGES,
    sampling: str = "uniform",
) -> SynthesisPlan:
    """Labels in ``ranges`` (Tab. 1 by default), reproducibly from ``seed``: the intrinsic labels of
    each star drawn by ``sampling`` ("uniform", independent draws; "sobol", a scrambled Sobol
    sequence that fills the box), its (v sin i, R) variants uniformly."""
    if n_stars < 1 or variants < 1:
        raise ValueError(f"need n_stars >= 1 and variants >= 1, got {n_stars}, {variants}")
    if sampling not in SAMPLERS:
        raise ValueError(f"unknown sampling {sampling!r}; choose one of {sorted(SAMPLERS)}")
    rng = np.random.default_rng(seed)
    low = np.array([ranges[n].low for n in LABEL_NAMES])
    high = np.array([ranges[n].high for n in LABEL_NAMES])
    if sampling == "uniform":  # one stream for both, as every grid made before Sobol was
        intrinsic = rng.uniform(low[_INTRINSIC_COLS], high[_INTRINSIC_COLS], size=(n_stars, len(_INTRINSIC_COLS)))
    else:
        intrinsic = SAMPLERS[sampling](n_stars, seed, INTRINSIC_LABELS, ranges)
    return SynthesisPlan(intrinsic, draw_broadening(rng, n_stars, variants, ranges), seed, sampling)


def plan_from_labels(labels: np.ndarray) -> SynthesisPlan:
    """One star per row of full labels (n, 6) in ``LABEL_NAMES`` order, each with one variant."""
    labels = check_labels(labels, LABEL_NAMES, TABLE1_RANGES)
    return SynthesisPlan(labels[:, _INTRINSIC_COLS], labels[:, None, _VARIANT_COLS], sampling="given")


@dataclass(frozen=True)
class StarSpectra:
    """One star's broadened spectra, its stored intrinsic spectrum (on ``SYNTHESIS_WAVELENGTH[store_slice()]``)
    and what they cost."""

    star_id: int
    labels: np.ndarray  # (k, 6)
    flux: np.ndarray  # (k, n_pix) float32
    synthesis_seconds: float
    broaden_seconds: float
    note: str = ""  # atmosphere repairs, or why the star was rejected
    rejected: bool = False
    intrinsic: np.ndarray | None = None  # (n_points,) float32, at PRE_RESOLUTION; None if rejected


def synthesize_star(star_id: int, labels: np.ndarray, wavelength: np.ndarray = RVS_WAVELENGTH) -> StarSpectra:
    """Radiative transfer for one star, then each of its (v sin i, R) variants on ``wavelength`` and the
    spectrum kept to draw more (:func:`store_slice`).

    ``labels`` (k, 6) share their intrinsic columns. An unusable model atmosphere gives a
    rejected result (no flux) rather than an exception, so one bad star does not stop a grid.
    """
    teff, logg, m_h, xi_t = labels[0, _INTRINSIC_COLS]
    start = time.perf_counter()
    try:
        atmosphere = compute_atmosphere(teff, logg, m_h)
    except AtmosphereError as err:
        empty = np.empty((0, wavelength.size), np.float32)
        return StarSpectra(star_id, labels[:0], empty, 0.0, 0.0, str(err), rejected=True)
    wave, intrinsic = synthesize_intrinsic(
        atmosphere, xi_t, wavelength_range=SYNTHESIS_RANGE, velocity_step=SYNTHESIS_STEP
    )
    synthesized = time.perf_counter()
    vsini, resolution = labels[:, _VARIANT_COLS].T
    flux = observe(wave, intrinsic, vsini, resolution, wavelength).astype(np.float32)
    stored = broaden(wave, intrinsic, 0.0, PRE_RESOLUTION)[store_slice(wavelength)].astype(np.float32)
    return StarSpectra(
        star_id,
        labels,
        flux,
        synthesized - start,
        time.perf_counter() - synthesized,
        "; ".join(atmosphere.repairs),
        intrinsic=stored,
    )


def provenance_attrs(plan: SynthesisPlan) -> dict:
    """File attributes describing how a database was made."""
    return {
        "code": "PySME (SME library) on atmosnet C3K model atmospheres, post-broadened by specgen",
        "code_versions": code_versions(),
        "linelist": "VALD3 (Piskunov et al. 1995; Ryabchikova et al. 2015) via TSFitPy, with the H I Paschen series",
        "atmospheres": "atmosnet 1.0.1 networks trained on Kurucz C3K (80 layers), evaluated by specgen",
        "broadening": "limb-darkened rotation (epsilon = 0.6) then Gaussian instrumental profile FWHM = lambda/R",
        "wavelength_medium": "air",
        "seed": -1 if plan.seed is None else plan.seed,
        "label_sampling": plan.sampling,
        "n_stars_planned": len(plan),
        "variants": plan.variants.shape[1],
        "plan_fingerprint": plan.fingerprint(),
    }


def _star_log(star: StarSpectra, plan: SynthesisPlan) -> dict[str, float | str]:
    """The per-star log entry: intrinsic labels, cost, and repairs or rejection."""
    return {
        "star_id": star.star_id,
        **dict(zip(INTRINSIC_LABELS, plan.intrinsic[star.star_id].tolist())),
        "synthesis_seconds": star.synthesis_seconds,
        "broaden_seconds": star.broaden_seconds,
        "rejected": int(star.rejected),
        "note": star.note,
    }


@dataclass(frozen=True)
class SynthesisReport:
    """What a call to :func:`synthesize_grid` did."""

    path: Path
    stars_done: int
    stars_rejected: int
    spectra: int
    wall_seconds: float
    reused: bool


def synthesize_grid(
    path: str | Path,
    plan: SynthesisPlan,
    *,
    workers: int = 2,
    scheduler: str | None = None,
    progress: bool = True,
) -> SynthesisReport:
    """Compute ``plan`` into the grid file ``path``, resuming it if it was interrupted; rows are in
    plan order whatever order the workers finish in.

    A complete file made by the same plan, code versions and line list is reused as it is; a
    file made otherwise raises :class:`~specgen.grid.GridError` rather than being overwritten.
    """
    from dask.distributed import as_completed
    from tqdm import tqdm

    path = Path(path)
    start = time.perf_counter()
    attrs = provenance_attrs(plan)
    if path.exists():
        old = read_attrs(path)
        if old.get("plan_fingerprint") != attrs["plan_fingerprint"]:
            raise GridError(f"{path} was made with other parameters; delete it or choose another output file")
        if old.get("code_versions") != attrs["code_versions"]:
            raise GridError(
                f"{path} was made with other code or line list ({old.get('code_versions')}); "
                "delete it or choose another output file"
            )
        if old.get("complete"):
            return SynthesisReport(path, 0, 0, 0, 0.0, reused=True)

    store = {"intrinsic_wavelength": SYNTHESIS_WAVELENGTH[store_slice()], "intrinsic_attrs": store_attrs()}
    with GridAppender(path, RVS_WAVELENGTH, LABEL_NAMES, attrs, **store) as out:
        todo = sorted(set(range(len(plan))) - set(out.logged_star_ids().tolist()))
        done = rejected = spectra = 0
        if todo:
            with dask_client(workers, scheduler) as client, tqdm(
                total=len(plan), initial=len(plan) - len(todo), unit="star", desc=f"synthesis → {path.name}",
                disable=not progress, mininterval=10,
            ) as bar:
                futures = [client.submit(synthesize_star, i, plan.labels(i), pure=False) for i in todo]
                # Stars finish in any order; they are written in plan order, so that one plan (one seed)
                # always gives the same file, row for row. Finished stars wait here for the ones before them.
                waiting: dict[int, StarSpectra] = {}
                order = iter(todo)
                next_star = next(order, None)
                for future in as_completed(futures):
                    star = future.result()
                    waiting[star.star_id] = star
                    bar.update()
                    while next_star in waiting:
                        star = waiting.pop(next_star)
                        out.append(star.flux, star.labels, star.star_id, _star_log(star, plan), star.intrinsic)
                        done += 1
                        rejected += star.rejected
                        spectra += len(star.flux)
                        next_star = next(order, None)
        out.finish()
    return SynthesisReport(path, done, rejected, spectra, time.perf_counter() - start, reused=False)


def synthesize_profile(profile: Profile, root: str | Path = ".", scheduler: str | None = None) -> dict[str, Path]:
    """The train and test grids of a profile, in ``data/<profile>/``; reused when complete.

    Train and test labels come from different seeds, so no test star is seen in training. Training
    stars are drawn by the profile's ``sampling``; test stars independently uniform in Tab. 1, as
    in the paper.
    """
    out = {}
    for split, n_stars, seed, sampling in (
        ("train", profile.train_stars, profile.seed, profile.sampling),
        ("test", profile.test_stars, profile.seed + 1, "uniform"),
    ):
        out[split] = profile.data_dir(root) / f"{split}.h5"
        plan = random_plan(n_stars, profile.variants, seed, sampling=sampling)
        synthesize_grid(out[split], plan, workers=profile.workers, scheduler=scheduler)
    return out


def synthesis_costs(path: str | Path) -> dict[str, float]:
    """Measured costs and atmosphere statistics of a synthesised grid, from its per-star log.

    Seconds are per worker process; ``spectra_per_hour_per_worker`` counts all variants.
    """
    log = read_star_log(path)
    if not log:
        raise GridError(f"{path} has no per-star log: it was not made by specgen synth")
    ok = ~log["rejected"].astype(bool)
    variants = int(read_attrs(path)["variants"])
    seconds = log["synthesis_seconds"][ok]
    per_variant = log["broaden_seconds"][ok] / variants
    return {
        "stars": int(ok.size),
        "rejected_fraction": float(1 - ok.mean()),
        "repaired_fraction": float(np.mean([bool(n) for n in log["note"][ok]]) * ok.mean()),
        "seconds_per_synthesis_median": float(np.median(seconds)),
        "seconds_per_synthesis_p90": float(np.percentile(seconds, 90)),
        "seconds_per_variant": float(np.median(per_variant)),
        "spectra_per_hour_per_worker": float(3600 * variants / np.mean(seconds + per_variant * variants)),
    }
