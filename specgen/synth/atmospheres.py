"""Model atmospheres from the atmosnet networks, evaluated with numpy, checked and repaired.

atmosnet 1.0.1 ships two networks trained on Kurucz C3K model atmospheres (80 depth points):
``cool`` for Teff ≤ 8000 K and ``hot`` above, as atmosnet's own ``AtmosModelSet`` splits them.
Each network is eight single-output multilayer perceptrons (4 → 300 → 300 → 80, leaky ReLU),
one per output column: RHOX, T, P, XNE, ABROSS, ACCRAD and two convective ones; the labels are
(TEFF, LOGG, FE_H, ALPHA_FE), scaled to [-0.5, 0.5] by the stored ``x_min``/``x_max``, and the
outputs are log10(value + 1e-16). We read the weights ourselves rather than import
``atmosnet.models``, which needs the removed ``scipy.integrate.trapz`` and decodes the outputs
with ``exp`` instead of ``10**``.

Scaled-solar composition: ``m_h`` is passed as FE_H with ALPHA_FE = 0, and the mass density
uses Asplund et al. (2009, ARA&A 47, 481): He/H = 10**(10.93 - 12) by number and all metals
scaled by 10**m_h.

The networks are not physics, so :func:`compute_atmosphere` checks every atmosphere with
:func:`atmosphere_problems` and repairs what it safely can: it rebuilds a defective gas pressure
from hydrostatic equilibrium in cool stars (:func:`_rebuild_pressure`) and drops defective
layers at the top or bottom of the model (:func:`_trim_layers`). Anything else raises
:class:`AtmosphereError`. Of 1,600 uniform draws in Teff 3600–15000 K, log g 2–5,
[M/H] −1.5…+1.5 (:func:`survey_atmospheres`, seeds 0–2), 2.6–3.2% need a repair (mostly
11–15 kK stars with a bad bottom and M dwarfs with a bad top) and 0.06–0.19% are rejected:
giants of 5200–6600 K with log g < 2.4, mostly metal-rich, whose gas pressure stops increasing
with depth at τ_Ross ≈ 20–55.
"""

from __future__ import annotations

import functools
import importlib.resources
import pickle
import warnings
from dataclasses import dataclass, replace

import numpy as np
from scipy.integrate import cumulative_trapezoid

from specgen.labels import sample_uniform

K_B = 1.380649e-16  # Boltzmann constant, erg K^-1
AMU = 1.66053906660e-24  # atomic mass unit, g

#: Teff (K) at which the cool network hands over to the hot one (the cool one includes it).
#: There the two agree on T(τ_Ross) to within 2% (rms 0.5%) over τ_Ross 1e-4…1, and on the
#: gas pressure to within −3…+6% (:func:`check_seam`).
SEAM_TEFF = 8000.0

# Asplund et al. (2009): number abundances relative to H and mean masses (u) per nucleus.
_HE_PER_H = 10 ** (10.93 - 12.0)
_METALS_PER_H = 1.041e-3  # all elements heavier than He, at [M/H] = 0
_MASS_H, _MASS_HE, _MASS_METALS = 1.00794, 4.002602, 17.55

#: Gas pressure must lie within this fraction of g·m, its value in hydrostatic equilibrium
#: without radiation pressure (C3K models have no turbulent pressure).
HYDROSTATIC_TOLERANCE = 0.3
#: Below this Teff (K) the nets' radiative acceleration stays under 3% of g in every layer,
#: so P_gas ≈ g·m holds from both sides. Above it radiation pressure legitimately lowers
#: P_gas, to a few per cent of g·m in the upper layers of 10–15 kK giants.
RADIATION_NEGLIGIBLE_TEFF = 5000.0
#: T(τ_Ross = 2/3) must lie within this fraction of Teff. Molecular blanketing puts it up to
#: 13% above Teff in the most metal-rich M stars; above 4500 K it stays within −3…+7%.
TEFF_TOLERANCE = 0.15
#: A usable atmosphere spans at least τ_Ross = MAX_TOP_TAU to MIN_BOTTOM_TAU, about the
#: log τ = −5…+2 of a standard MARCS model (Gustafsson et al. 2008); the networks give 1e-7…1e3.
MAX_TOP_TAU = 1e-5
MIN_BOTTOM_TAU = 100.0

_LABEL_NAMES = ("teff", "logg", "m_h")  # the first three network labels; ALPHA_FE is held at 0
_N_OUTPUTS = 6  # RHOX, T, P, XNE, ABROSS, ACCRAD: the two convection columns are not needed
_LOG_OFFSET = 1e-16  # the networks were trained on log10(value + 1e-16)


class AtmosphereError(ValueError):
    """Labels outside the networks' training range, or an atmosphere that cannot be used."""


@dataclass(frozen=True)
class ModelAtmosphere:
    """A plane-parallel LTE model atmosphere on a column-mass scale, surface first.

    ``atom_density`` counts nuclei (atoms and ions, not electrons): P_gas/(kT) − n_e.
    ``mass_density`` is ``atom_density`` times the mean mass per nucleus of the scaled-solar
    mix in the module docstring. ``tau_ross`` integrates the networks' Rosseland opacity over
    ``column_mass``, with the opacity held constant above the top layer (as ATLAS does).
    """

    teff: float  # K
    logg: float  # dex, cgs
    m_h: float  # dex, scaled solar
    column_mass: np.ndarray  # g cm^-2
    temperature: np.ndarray  # K
    gas_pressure: np.ndarray  # dyn cm^-2
    electron_density: np.ndarray  # cm^-3
    atom_density: np.ndarray  # cm^-3
    mass_density: np.ndarray  # g cm^-3
    tau_ross: np.ndarray  # Rosseland optical depth
    repairs: tuple[str, ...] = ()


_PROFILES = (
    "column_mass",
    "temperature",
    "gas_pressure",
    "electron_density",
    "atom_density",
    "mass_density",
    "tau_ross",
)


# --- the networks --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Network:
    """One atmosnet network: the per-column perceptrons stacked along a leading axis."""

    name: str
    x_min: np.ndarray  # (columns, labels)
    x_max: np.ndarray
    weights: tuple[np.ndarray, ...]  # (columns, out, in) for each of the three layers
    biases: tuple[np.ndarray, ...]  # (columns, out)
    low: np.ndarray  # (labels,) training range
    high: np.ndarray

    def __call__(self, labels: np.ndarray) -> np.ndarray:
        """Raw outputs, (columns, depths): log10(value + 1e-16) for the label vector ``labels``."""
        (w0, w1, w2), (b0, b1, b2) = self.weights, self.biases
        x = (labels - self.x_min) / (self.x_max - self.x_min) - 0.5
        h = _leaky_relu(np.einsum("koi,ki->ko", w0, x) + b0)
        h = _leaky_relu(np.einsum("koi,ki->ko", w1, h) + b1)
        return np.einsum("koi,ki->ko", w2, h) + b2


def _leaky_relu(z: np.ndarray) -> np.ndarray:
    return np.where(z > 0, z, 0.01 * z)


@functools.cache
def _network(name: str) -> _Network:
    """Load atmosnet's ``cool`` or ``hot`` network from the installed package (cached)."""
    path = importlib.resources.files("atmosnet") / "data" / f"atmosnet_c3k_300neurons_{name}.pkl"
    with path.open("rb") as f, warnings.catch_warnings():
        # The weights were pickled under NumPy 1, whose arrays unpickle through numpy.core.
        warnings.filterwarnings("ignore", "numpy.core is deprecated", DeprecationWarning)
        columns = pickle.load(f)[:_N_OUTPUTS]

    def stack(key: str) -> np.ndarray:
        return np.stack([c[key] for c in columns]).astype(np.float64)

    ranges = columns[0]["ranges"]
    return _Network(
        name=name,
        x_min=stack("x_min"),
        x_max=stack("x_max"),
        weights=tuple(stack(f"w_array_{i}") for i in range(3)),
        biases=tuple(stack(f"b_array_{i}") for i in range(3)),
        low=ranges[: len(_LABEL_NAMES), 0],
        high=ranges[: len(_LABEL_NAMES), 1],
    )


def _network_for(teff: float, logg: float, m_h: float) -> _Network:
    """The network that covers these labels; raise :class:`AtmosphereError` if none does."""
    values = (teff, logg, m_h)
    described = ", ".join(f"{n}={v:g}" for n, v in zip(_LABEL_NAMES, values))
    if not np.all(np.isfinite(values)):
        raise AtmosphereError(f"labels must be finite, got {described}")
    net = _network("cool" if teff <= SEAM_TEFF else "hot")
    for name, value, low, high in zip(_LABEL_NAMES, values, net.low, net.high):
        if not low <= value <= high:
            raise AtmosphereError(
                f"{name}={value:g} is outside the {net.name} atmosnet network's training range "
                f"[{low:g}, {high:g}] ({described})"
            )
    return net


# --- physics ---------------------------------------------------------------------------------


def mean_nucleus_mass(m_h: float) -> float:
    """Mean mass per nucleus (g) of the Asplund (2009) mix with metals scaled by 10**m_h."""
    metals = _METALS_PER_H * 10**m_h
    mass = _MASS_H + _HE_PER_H * _MASS_HE + metals * _MASS_METALS
    return AMU * mass / (1.0 + _HE_PER_H + metals)


def rosseland_depth(column_mass: np.ndarray, opacity: np.ndarray) -> np.ndarray:
    """τ_Ross from the Rosseland opacity (cm^2 g^-1), held constant above the top layer (ATLAS)."""
    return opacity[0] * column_mass[0] + cumulative_trapezoid(opacity, column_mass, initial=0.0)


def _assemble(
    teff: float,
    logg: float,
    m_h: float,
    column_mass: np.ndarray,
    temperature: np.ndarray,
    gas_pressure: np.ndarray,
    electron_density: np.ndarray,
    tau_ross: np.ndarray,
) -> ModelAtmosphere:
    """A :class:`ModelAtmosphere` with its number and mass densities derived."""
    atom_density = gas_pressure / (K_B * temperature) - electron_density
    return ModelAtmosphere(
        teff=float(teff),
        logg=float(logg),
        m_h=float(m_h),
        column_mass=column_mass,
        temperature=temperature,
        gas_pressure=gas_pressure,
        electron_density=electron_density,
        atom_density=atom_density,
        mass_density=atom_density * mean_nucleus_mass(m_h),
        tau_ross=tau_ross,
    )


# --- checks ----------------------------------------------------------------------------------


def _not_increasing(x: np.ndarray) -> np.ndarray:
    """Mask of the layers that are not larger than the layer above them."""
    return np.r_[False, np.diff(x) <= 0]


def _pressure_defects(atm: ModelAtmosphere) -> dict[str, np.ndarray]:
    """Layers whose gas pressure breaks monotonicity or hydrostatic equilibrium, by check."""
    ratio = atm.gas_pressure / (10**atm.logg * atm.column_mass)
    tol = HYDROSTATIC_TOLERANCE
    defects = {
        "gas pressure not increasing with depth": _not_increasing(atm.gas_pressure),
        f"gas pressure above {1 + tol:g} g·m": ratio > 1 + tol,
    }
    if atm.teff <= RADIATION_NEGLIGIBLE_TEFF:
        defects[f"gas pressure below {1 - tol:g} g·m"] = ratio < 1 - tol
    return defects


def _layer_defects(atm: ModelAtmosphere) -> dict[str, np.ndarray]:
    """Layers failing each depth-by-depth check, keyed by a description of the check."""
    profiles = np.stack([getattr(atm, name) for name in _PROFILES])
    return {
        "non-finite values": ~np.isfinite(profiles).all(axis=0),
        "non-positive values": (profiles <= 0).any(axis=0),
        "column mass not increasing with depth": _not_increasing(atm.column_mass),
        "Rosseland optical depth not increasing with depth": _not_increasing(atm.tau_ross),
        **_pressure_defects(atm),
    }


def atmosphere_problems(atm: ModelAtmosphere) -> list[str]:
    """Physical sanity checks; one message per failed check, an empty list if usable.

    Depth by depth: finite and positive profiles; column mass, τ_Ross and gas pressure strictly
    increasing inwards; P_gas within ``HYDROSTATIC_TOLERANCE`` of g·m (only the upper bound
    above ``RADIATION_NEGLIGIBLE_TEFF``). Globally: the model spans τ_Ross from ``MAX_TOP_TAU``
    to ``MIN_BOTTOM_TAU``, and T(τ_Ross = 2/3) is within ``TEFF_TOLERANCE`` of Teff.
    """
    shapes = {name: np.shape(getattr(atm, name)) for name in _PROFILES}
    if len(set(shapes.values())) != 1 or len(atm.column_mass) < 2:
        return [f"depth profiles must be 1-D arrays of one length (≥ 2), got shapes {shapes}"]
    tau = atm.tau_ross
    problems = [
        f"{check} in {mask.sum()} of {mask.size} layers (first at τ_Ross = {tau[mask][0]:.3g})"
        for check, mask in _layer_defects(atm).items()
        if mask.any()
    ]
    if not tau[0] < 2 / 3 < tau[-1]:
        problems.append(f"τ_Ross = 2/3 lies outside the model (τ_Ross {tau[0]:.3g} to {tau[-1]:.3g})")
    else:
        t_photosphere = np.interp(np.log(2 / 3), np.log(tau), atm.temperature)
        if not abs(t_photosphere / atm.teff - 1) <= TEFF_TOLERANCE:
            problems.append(
                f"T(τ_Ross = 2/3) = {t_photosphere:.0f} K is not within "
                f"{TEFF_TOLERANCE:.0%} of Teff = {atm.teff:g} K"
            )
    if not (tau[0] <= MAX_TOP_TAU and tau[-1] >= MIN_BOTTOM_TAU):
        problems.append(
            f"model spans τ_Ross {tau[0]:.3g} to {tau[-1]:.3g}, "
            f"not {MAX_TOP_TAU:g} to {MIN_BOTTOM_TAU:g}"
        )
    return problems


# --- repairs ---------------------------------------------------------------------------------


def _rebuild_pressure(atm: ModelAtmosphere, radiative_acceleration: np.ndarray) -> ModelAtmosphere:
    """Replace a defective P_gas by hydrostatic equilibrium, P_gas = ∫ (g − g_rad) dm.

    Only at or below ``RADIATION_NEGLIGIBLE_TEFF``, where g_rad (cm s^-2, from the network)
    is a small correction and the integral cannot go astray; hotter atmospheres come back
    unchanged. The electron density is rescaled by sqrt(P_new/P_old), the Saha scaling at
    fixed T when the electrons come from minority-ionised metals, as they do in cool layers.
    """
    defects = [check for check, mask in _pressure_defects(atm).items() if mask.any()]
    if atm.teff > RADIATION_NEGLIGIBLE_TEFF or not defects:
        return atm
    m = atm.column_mass
    net_gravity = 10**atm.logg - radiative_acceleration
    pressure = net_gravity[0] * m[0] + cumulative_trapezoid(net_gravity, m, initial=0.0)
    factor = pressure / atm.gas_pressure
    rebuilt = _assemble(
        atm.teff,
        atm.logg,
        atm.m_h,
        m,
        atm.temperature,
        pressure,
        atm.electron_density * np.sqrt(factor),
        atm.tau_ross,
    )
    note = (
        f"gas pressure rebuilt from hydrostatic equilibrium, changing it by factors "
        f"{factor.min():.2f} to {factor.max():.2f}, and electron density by their square root "
        f"(network had {'; '.join(defects)})"
    )
    return replace(rebuilt, repairs=atm.repairs + (note,))


def _trim_layers(atm: ModelAtmosphere) -> ModelAtmosphere:
    """Keep the longest run of defect-free layers if it spans ``MAX_TOP_TAU``…``MIN_BOTTOM_TAU``.

    The networks fail most often at the edges of the model: negative atom densities, pressure
    inversions or P_gas > 1.3 g·m in the deepest layers (τ_Ross 150–1000), or P_gas > 1.3 g·m
    in the top few of hot dwarfs. Such atmospheres are sound once those layers are dropped.
    Otherwise ``atm`` comes back unchanged.
    """
    defects = _layer_defects(atm)
    bad = np.logical_or.reduce(list(defects.values()))
    if not bad.any() or bad.all():
        return atm
    edges = np.diff(np.r_[0, ~bad, 0].astype(int))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    longest = np.argmax(stops - starts)
    start, stop = starts[longest], stops[longest]
    tau = atm.tau_ross
    if not (tau[start] <= MAX_TOP_TAU and tau[stop - 1] >= MIN_BOTTOM_TAU):
        return atm
    checks = "; ".join(check for check, mask in defects.items() if mask.any())
    note = (
        f"dropped the top {start} and bottom {bad.size - stop} layers, keeping "
        f"τ_Ross {tau[start]:.3g} to {tau[stop - 1]:.3g} ({checks})"
    )
    kept = {name: getattr(atm, name)[start:stop] for name in _PROFILES}
    return replace(atm, **kept, repairs=atm.repairs + (note,))


# --- public entry points -----------------------------------------------------------------------


def compute_atmosphere(teff: float, logg: float, m_h: float) -> ModelAtmosphere:
    """The atmosnet model atmosphere for Teff (K), log g (dex, cgs), [M/H] (dex), checked.

    Repairs are listed in ``repairs``. Raises :class:`AtmosphereError` for labels outside the
    networks' training range and for atmospheres that stay unusable after repair.
    """
    net = _network_for(teff, logg, m_h)
    raw = net(np.array([teff, logg, m_h, 0.0]))  # ALPHA_FE = 0: scaled solar
    column_mass, temperature, pressure, electrons, opacity, g_rad = 10.0**raw - _LOG_OFFSET
    tau = rosseland_depth(column_mass, opacity)
    atm = _assemble(teff, logg, m_h, column_mass, temperature, pressure, electrons, tau)
    atm = _trim_layers(_rebuild_pressure(atm, g_rad))
    problems = atmosphere_problems(atm)
    if problems:
        raise AtmosphereError(
            f"unusable atmosnet atmosphere for teff={teff:g}, logg={logg:g}, m_h={m_h:g}: "
            + "; ".join(problems)
        )
    return atm


def temperature_difference(
    reference: ModelAtmosphere, other: ModelAtmosphere, tau_range: tuple[float, float] = (1e-4, 10.0)
) -> float:
    """Largest relative difference |T_other(τ)/T_reference(τ) − 1| (dimensionless) over the layers of
    ``reference`` with ``tau_range[0]`` < τ_Ross < ``tau_range[1]``, ``other``'s temperature (K)
    interpolated to their τ_Ross linearly in ln τ."""
    log_tau = np.log(reference.tau_ross)
    ratio = np.interp(log_tau, np.log(other.tau_ross), other.temperature) / reference.temperature
    layers = (reference.tau_ross > tau_range[0]) & (reference.tau_ross < tau_range[1])
    return float(np.max(np.abs(ratio - 1)[layers]))


@dataclass(frozen=True)
class SeamCheck:
    """The atmospheres on either side of :data:`SEAM_TEFF`, ``cool`` from the cool network and ``hot``
    from the hot one, and ``max_difference``, their :func:`temperature_difference` over ``tau_range``."""

    cool: ModelAtmosphere
    hot: ModelAtmosphere
    tau_range: tuple[float, float]
    max_difference: float


def check_seam(
    logg: float = 4.0,
    m_h: float = 0.0,
    teffs: tuple[float, float] = (SEAM_TEFF - 1.0, SEAM_TEFF + 1.0),
    tau_range: tuple[float, float] = (1e-4, 10.0),
) -> SeamCheck:
    """How well the two networks meet: the atmospheres at Teff = ``teffs`` (K; the first at most
    :data:`SEAM_TEFF`, the second above it), log g (dex, cgs) and [M/H] (dex), and the largest
    relative difference of T(τ_Ross) between them over ``tau_range``. Chapter 01 and the tests."""
    if not teffs[0] <= SEAM_TEFF < teffs[1]:
        raise ValueError(f"teffs must straddle the seam at {SEAM_TEFF:g} K, got {teffs}")
    cool, hot = (compute_atmosphere(teff, logg, m_h) for teff in teffs)
    return SeamCheck(cool, hot, tuple(tau_range), temperature_difference(cool, hot, tau_range))


def survey_atmospheres(n: int, seed: int) -> dict:
    """Compute ``n`` atmospheres at uniform random (teff, logg, m_h) in the ranges of Tab. 1.

    Returns the counts ``ok``, ``repaired`` and ``rejected``, the labels of the last two as
    (k, 3) arrays ``repaired_labels`` and ``rejected_labels``, and ``rejected_reasons``.
    """
    labels = sample_uniform(n, seed, _LABEL_NAMES)
    outcome, reasons = [], []
    for row in labels:
        try:
            atm = compute_atmosphere(*row)
        except AtmosphereError as err:
            outcome.append("rejected")
            reasons.append(str(err))
        else:
            outcome.append("repaired" if atm.repairs else "ok")
    outcome = np.array(outcome)
    return {
        **{kind: int((outcome == kind).sum()) for kind in ("ok", "repaired", "rejected")},
        "repaired_labels": labels[outcome == "repaired"],
        "rejected_labels": labels[outcome == "rejected"],
        "rejected_reasons": reasons,
    }
