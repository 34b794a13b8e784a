"""Parameter sets that size every step: ``ci`` (minutes on 2 cores), ``demo`` (the default,
the main job in an hour on 2 cores), ``paper`` (the paper's 205,000 spectra, for a GPU or a cluster).

One table, read by the command line and the notebooks. Artifacts go to
``data/<profile>/`` and ``models/<profile>/`` so that profiles never overwrite each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Profile:
    """Sizes of one run. A star is one radiative-transfer (intrinsic) spectrum, broadened
    into ``variants`` spectra of random v sin i and resolution."""

    name: str
    train_stars: int
    test_stars: int
    variants: int
    seed: int = 2024
    sampling: str = "uniform"  # how training stars are drawn: "uniform" or "sobol" (labels.SAMPLERS)
    workers: int = 2
    recipe: str = "small_grid"  # TrainingConfig.for_profile and EstimatorConfig.for_profile: "paper" or "small_grid"
    max_epochs: int = 2000  # a cap for runaway runs: early stopping ends training (EpochCapWarning otherwise)
    factorised_max_epochs: int = 3000  # FactorisedConfig.for_profile
    min_batches: int | None = None  # the generators' Schedule.min_batches (None: their recipe's)
    estimator_recipe: str | None = None  # EstimatorConfig.for_profile: "paper" or "small_grid" (None: recipe)
    estimator_max_epochs: int | None = None  # None: max_epochs

    @property
    def train_spectra(self) -> int:
        return self.train_stars * self.variants

    def schedule(self, max_epochs: int) -> dict:
        """The :class:`~specgen.model.config.Schedule` fields this profile sets for a generator
        capped at ``max_epochs``."""
        fields = {"seed": self.seed, "max_epochs": max_epochs}
        return fields if self.min_batches is None else fields | {"min_batches": self.min_batches}

    def data_dir(self, root: str | Path = ".") -> Path:
        return Path(root) / "data" / self.name

    def model_dir(self, root: str | Path = ".") -> Path:
        return Path(root) / "models" / self.name

    def as_dict(self) -> dict:
        return asdict(self)


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        # Minutes on 2 cores: 4 batches an epoch, not the recipes' 20 or 60, on its 48 spectra.
        Profile("ci", train_stars=12, test_stars=4, variants=4, max_epochs=60, factorised_max_epochs=300, min_batches=4),
        # Sized so that `make book` runs in an hour on 2 cores (README): 160 radiative-transfer runs take
        # a quarter of it, and every chapter's training costs in proportion to the 1,200 training spectra.
        # Its Tab. 4 estimator keeps the paper's schedule (batches of 512, patience 15).
        Profile(
            "demo", train_stars=120, test_stars=40, variants=10, estimator_recipe="paper", estimator_max_epochs=100
        ),
        Profile(
            "paper", train_stars=10_250, test_stars=2_000, variants=20, workers=16, recipe="paper", max_epochs=1000
        ),
    )
}

DEFAULT_PROFILE = "demo"


def project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) holding the
    book's ``_toc.yml``, so that notebooks find ``data/`` whether run by papermill from the
    repository root or opened in JupyterLab inside ``book/``; ``start`` itself if none does."""
    start = Path(start or Path.cwd()).resolve()
    return next((p for p in (start, *start.parents) if (p / "_toc.yml").exists()), start)


def get_profile(name: str) -> Profile:
    """The profile called ``name``; the error lists the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}") from None
