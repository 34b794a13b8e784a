"""Model atmospheres from the atmosnet networks, evaluated with numpy, checked and repaired.

atmosnet 1.0.1 ships two networks trained on Kurucz C3K model atmospheres (80 depth points on
C3K's fixed grid log τ_Ross = −6.875…3): ``cool`` on the models of 2500–8500 K, ``hot`` on those
of 7500–50,000 K. Each network is eight single-output multilayer perceptrons (4 → 300 → 300 → 80,
leaky ReLU), one per output column: RHOX, T, P, XNE, ABROSS, ACCRAD and two convective ones; the
labels are (TEFF, LOGG, FE_H, ALPHA_FE), scaled to [-0.5, 0.5] by the stored ``x_min``/``x_max``,
and the outputs are log10(value + 1e-16). We read the weights ourselves rather than import
``atmosnet.models``, which needs the removed ``scipy.integrate.trapz`` and decodes the outputs
with ``exp`` instead of ``10**``.

atmosnet's own ``AtmosModelSet`` switches from one network to the other at 8000 K, where they
differ by up to 2% in T(τ) and 8% in P_gas(τ) (:func:`check_seam`). Here they are blended across
:data:`BLEND_BAND` (:func:`hot_weight`, :func:`_blend`), so no grid carries that seam.

Scaled-solar composition: ``m_h`` is passed as FE_H with ALPHA_FE = 0, and the mass density
uses Asplund et al. (2009, ARA&A 47, 481): He/H = 10**(10.93 - 12) by number and all metals
scaled by 10**m_h. It counts the nuclei bound in H₂ (:func:`h2_density`), which hold up to
57% of the hydrogen in the upper photospheres of M dwarfs.

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
from scipy.interpolate import make_interp_spline

from specgen.labels import sample_uniform

K_B = 1.380649e-16  # Boltzmann constant, erg K^-1
AMU = 1.66053906660e-24  # atomic mass unit, g
H_PLANCK = 6.62607015e-27  # erg s
C_CGS = 2.99792458e10  # cm s^-1
EV = 1.602176634e-12  # erg

#: Bumped whenever the atmospheres this module returns change, so that grids made before can be
#: told apart. 2: the networks blended across BLEND_BAND; nuclei in H₂ counted in the mass density.
ATMOSPHERE_VERSION = 2

#: Teff (K) at which atmosnet's ``AtmosModelSet`` hands over from the cool network to the hot one.
SEAM_TEFF = 8000.0
#: Teff band (K) over which the cool network's weight falls smoothly from 1 to 0 (:func:`hot_weight`):
#: all of the range where both networks are sound. Both were trained on the same C3K models at
#: 7500, 7750, …, 8500 K, but C3K has no log g = 4.5 models at 7500 and 7750 K, and there, at the
#: bottom of its range, the hot network fails: on a grid of Tab. 1's log g and [M/H] every 10 K, 11%
#: of its 7500–8000 K atmospheres are rejected (mostly log g 2.8–4.7: pressure inversions, P_gas
#: above 1.3 g·m, column mass falling with depth), against none of the cool network's. At
#: 8000–8500 K (the cool network's limit) all atmospheres of both pass :func:`atmosphere_problems`.
#: There they differ by a near-constant offset (T ≤ 2%, P_gas mostly +1…+5%), spread over 500 K.
BLEND_BAND = (8000.0, 8500.0)

# Asplund et al. (2009): number abundances relative to H and mean masses (u) per nucleus.
_HE_PER_H = 10 ** (10.93 - 12.0)
_METALS_PER_H = 1.041e-3  # all elements heavier than He, at [M/H] = 0
_MASS_H, _MASS_HE, _MASS_METALS = 1.00794, 4.002602, 17.55

# H₂ in its ground state X¹Σg⁺ (Huber & Herzberg 1979, Constants of Diatomic Molecules):
# dissociation energy from v = 0, rotational constant B_e and vibrational wavenumber ω_e.
_H2_D0 = 4.4781  # eV
_H2_B = 60.853  # cm^-1
_H2_OMEGA = 4401.21  # cm^-1

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

    ``atom_density`` counts the free heavy particles, P_gas/(kT) − n_e: atoms, ions and molecules,
    each molecule once. That is SME's XNA, from which SME rebuilds P_gas = (XNA + XNE)·kT and
    solves its own molecular and ionisation equilibrium (``Ionization`` in the SME library).
    ``mass_density`` counts nuclei instead: ``atom_density`` plus one for each H₂ molecule
    (:func:`h2_density`), times the mean mass per nucleus of the scaled-solar mix of the module
    docstring. SME divides every opacity by it (cm^-1 → cm^2 g^-1 on its column-mass scale).
    ``tau_ross`` integrates the networks' Rosseland opacity over ``column_mass``, with the opacity
    held constant above the top layer (as ATLAS does).
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
    low: np.ndarray  # (labels,) range of the training labels
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

    # The stored "ranges" end both networks at 8000 K; the training labels overlap over 7500–8500 K.
    trained = columns[0]["training_labels"][:, : len(_LABEL_NAMES)]
    return _Network(
        name=name,
        x_min=stack("x_min"),
        x_max=stack("x_max"),
        weights=tuple(stack(f"w_array_{i}") for i in range(3)),
        biases=tuple(stack(f"b_array_{i}") for i in range(3)),
        low=trained.min(axis=0),
        high=trained.max(axis=0),
    )


def _describe(labels: tuple[float, float, float]) -> str:
    return ", ".join(f"{n}={v:g}" for n, v in zip(_LABEL_NAMES, labels))


def _outputs(name: str, labels: tuple[float, float, float]) -> np.ndarray:
    """Raw outputs (columns, depths) of network ``name`` at (teff, logg, m_h), ALPHA_FE = 0; raise
    :class:`AtmosphereError` for labels outside its training range."""
    net = _network(name)
    for label, value, low, high in zip(_LABEL_NAMES, labels, net.low, net.high):
        if not low <= value <= high:
            raise AtmosphereError(
                f"{label}={value:g} is outside the {name} atmosnet network's training range "
                f"[{low:g}, {high:g}] ({_describe(labels)})"
            )
    return net(np.array([*labels, 0.0]))


def _decode(raw: np.ndarray) -> np.ndarray:
    return 10.0**raw - _LOG_OFFSET


def hot_weight(teff: float) -> float:
    """Weight of the hot network at ``teff`` (K): 0 up to ``BLEND_BAND[0]``, 1 from ``BLEND_BAND[1]``,
    and the smoothstep 3x² − 2x³ of the position x in the band between, continuous with its slope."""
    low, high = BLEND_BAND
    x = min(max((teff - low) / (high - low), 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def _blend(cool: np.ndarray, hot: np.ndarray, weight: float) -> np.ndarray:
    """Raw outputs of the two networks, mixed with ``weight`` on ``hot``, at fixed optical depth.

    Both are interpolated, linearly in ln τ_Ross (each from its own RHOX and ABROSS), onto the
    layer-by-layer weighted mean of their two ln τ scales, extrapolating over the ≤ 0.06 dex by
    which their end layers differ; there their log10 outputs are averaged with weights
    1 − ``weight`` and ``weight``. Every column (RHOX, T, P, XNE, ABROSS, g_rad) becomes the
    weighted geometric mean of the two networks' at the same τ, and the depth scale moves
    continuously from the cool network's to the hot one's.
    """
    log_tau = [np.log(rosseland_depth(*_decode(raw)[[0, 4]])) for raw in (cool, hot)]
    for name, x in zip(("cool", "hot"), log_tau):
        if not np.all(np.diff(x) > 0):
            raise AtmosphereError(f"cannot blend: the {name} network's τ_Ross does not increase with depth")
    common = (1.0 - weight) * log_tau[0] + weight * log_tau[1]
    resampled = [make_interp_spline(x, raw, k=1, axis=1)(common) for x, raw in zip(log_tau, (cool, hot))]
    return (1.0 - weight) * resampled[0] + weight * resampled[1]


# --- physics ---------------------------------------------------------------------------------


def mean_nucleus_mass(m_h: float) -> float:
    """Mean mass per nucleus (g) of the Asplund (2009) mix with metals scaled by 10**m_h."""
    metals = _METALS_PER_H * 10**m_h
    mass = _MASS_H + _HE_PER_H * _MASS_HE + metals * _MASS_METALS
    return AMU * mass / (1.0 + _HE_PER_H + metals)


def rosseland_depth(column_mass: np.ndarray, opacity: np.ndarray) -> np.ndarray:
    """τ_Ross from the Rosseland opacity (cm^2 g^-1), held constant above the top layer (ATLAS)."""
    return opacity[0] * column_mass[0] + cumulative_trapezoid(opacity, column_mass, initial=0.0)


def h2_dissociation_constant(temperature: np.ndarray) -> np.ndarray:
    """K(T) = n(H)²/n(H₂) (cm^-3) in LTE, from the Saha-like dissociation equation
    (as in Barklem & Collet 2016, A&A 588, A96)

        K = (π m_H kT/h²)^{3/2} · U_H² / U_H₂ · exp(−D₀/kT),

    with the reduced mass m_H/2, U_H = 2, and U_H₂ = kT/(2hcB_e) / (1 − exp(−hcω_e/kT)): rigid
    rotor (symmetry number 2) times harmonic oscillator counted from v = 0, as D₀ is.
    """
    kt = K_B * np.asarray(temperature, dtype=np.float64)
    u_h2 = kt / (2.0 * H_PLANCK * C_CGS * _H2_B) / -np.expm1(-H_PLANCK * C_CGS * _H2_OMEGA / kt)
    translation = (np.pi * _MASS_H * AMU * kt / H_PLANCK**2) ** 1.5
    return translation * 4.0 / u_h2 * np.exp(-_H2_D0 * EV / kt)


def h2_density(temperature: np.ndarray, particle_density: np.ndarray, m_h: float) -> np.ndarray:
    """Number density of H₂ (cm^-3) among ``particle_density`` free heavy particles (cm^-3, H₂
    counted once) at ``temperature`` (K), for the scaled-solar mix with [M/H] = ``m_h``.

    Solves n(H)² = K(T)·n(H₂) (:func:`h2_dissociation_constant`) with the hydrogen nuclei
    conserved, n(H) + 2 n(H₂) = x_H (n + n(H₂)), x_H being hydrogen's share of all nuclei. H⁺
    is counted with H, which only matters where H₂ is absent; molecules other than H₂ add
    < 0.1% of the nuclei at [M/H] = 0 (CO up to 0.9% at +1.5). In the 3600 K, log g 5, [M/H] = 0
    dwarf of Tab. 1's coolest corner, n(H₂)/n peaks at 0.36 (57% of the hydrogen) at τ_Ross ≈ 5e-3
    and is 0.16–0.36 over τ_Ross 1e-4…1: counting particles as nuclei put ρ there 14–26% low. With
    this H₂, ρ agrees with SME's own equation of state (PySME 1.2.0: ``GetDensity`` after
    ``Ionization``, from the same T, P_gas and n_e) to within 1.9% over τ_Ross 1e-4…1 (2.6% at
    [M/H] = +1.5, mostly the CO); K(T) is 0.05–0.1 dex above SME's at 2500–5000 K.
    """
    n = np.maximum(particle_density, 0.0)  # defective layers (n ≤ 0) are flagged by the checks
    x = 1.0 / (1.0 + _HE_PER_H + _METALS_PER_H * 10**m_h)
    k = h2_dissociation_constant(temperature)
    # (x n − a y)² = k y with a = 2 − x: the small root, in the form that stays exact for k ≫ n.
    a = 2.0 - x
    return 2.0 * (x * n) ** 2 / (2.0 * a * x * n + k + np.sqrt(k * (4.0 * a * x * n + k)))


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
    nuclei = atom_density + h2_density(temperature, atom_density, m_h)
    return ModelAtmosphere(
        teff=float(teff),
        logg=float(logg),
        m_h=float(m_h),
        column_mass=column_mass,
        temperature=temperature,
        gas_pressure=gas_pressure,
        electron_density=electron_density,
        atom_density=atom_density,
        mass_density=nuclei * mean_nucleus_mass(m_h),
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


def compute_atmosphere(teff: float, logg: float, m_h: float, network: str | None = None) -> ModelAtmosphere:
    """The atmosnet model atmosphere for Teff (K), log g (dex, cgs), [M/H] (dex), checked.

    By default the two networks are blended with :func:`hot_weight` (:func:`_blend`); ``network``
    = ``"cool"`` or ``"hot"`` takes that one alone, anywhere in its training range, to measure the
    seam (:func:`check_seam`). Repairs are listed in ``repairs``. Raises :class:`AtmosphereError`
    for labels outside the training range of a network with a weight, and for atmospheres that
    stay unusable after repair.
    """
    labels = (teff, logg, m_h)
    if not np.all(np.isfinite(labels)):
        raise AtmosphereError(f"labels must be finite, got {_describe(labels)}")
    if network not in (None, "cool", "hot"):
        raise ValueError(f"network must be None, 'cool' or 'hot', got {network!r}")
    weight = hot_weight(teff) if network is None else float(network == "hot")
    if weight in (0.0, 1.0):
        raw = _outputs("hot" if weight else "cool", labels)
    else:
        raw = _blend(_outputs("cool", labels), _outputs("hot", labels), weight)
    column_mass, temperature, pressure, electrons, opacity, g_rad = _decode(raw)
    tau = rosseland_depth(column_mass, opacity)
    atm = _assemble(teff, logg, m_h, column_mass, temperature, pressure, electrons, tau)
    atm = _trim_layers(_rebuild_pressure(atm, g_rad))
    problems = atmosphere_problems(atm)
    if problems:
        raise AtmosphereError(f"unusable atmosnet atmosphere for {_describe(labels)}: " + "; ".join(problems))
    return atm


def at_optical_depth(atm: ModelAtmosphere, profile: str, tau: np.ndarray | float) -> np.ndarray:
    """The depth profile named ``profile`` (a :class:`ModelAtmosphere` field) at Rosseland optical
    depth(s) ``tau``, interpolated linearly in ln τ and ln of the profile."""
    return np.exp(np.interp(np.log(tau), np.log(atm.tau_ross), np.log(getattr(atm, profile))))


def profile_difference(
    reference: ModelAtmosphere,
    other: ModelAtmosphere,
    profile: str = "temperature",
    tau_range: tuple[float, float] = (1e-4, 10.0),
) -> float:
    """Largest relative difference |X_other(τ)/X_reference(τ) − 1| of the profile X named ``profile``
    over the layers of ``reference`` with ``tau_range[0]`` < τ_Ross < ``tau_range[1]``, ``other``'s
    read at their τ_Ross (:func:`at_optical_depth`)."""
    layers = (reference.tau_ross > tau_range[0]) & (reference.tau_ross < tau_range[1])
    ratio = at_optical_depth(other, profile, reference.tau_ross[layers]) / getattr(reference, profile)[layers]
    return float(np.max(np.abs(ratio - 1)))


@dataclass(frozen=True)
class SeamCheck:
    """Atmospheres on either side of :data:`SEAM_TEFF`, ``below`` and ``above``, and the largest relative
    jumps between them in T(τ_Ross) and P_gas(τ_Ross) over ``tau_range`` (:func:`profile_difference`)."""

    below: ModelAtmosphere
    above: ModelAtmosphere
    tau_range: tuple[float, float]
    temperature_jump: float
    pressure_jump: float


def check_seam(
    logg: float = 4.0,
    m_h: float = 0.0,
    teffs: tuple[float, float] = (SEAM_TEFF - 1.0, SEAM_TEFF + 1.0),
    tau_range: tuple[float, float] = (1e-4, 10.0),
    blended: bool = True,
) -> SeamCheck:
    """The seam at :data:`SEAM_TEFF`: atmospheres at Teff = ``teffs`` (K; the first at most
    :data:`SEAM_TEFF`, the second above it), log g (dex, cgs) and [M/H] (dex), blended as
    :func:`compute_atmosphere` makes them, or with ``blended=False`` from the cool network below
    and the hot one above, as atmosnet switches between them. Chapter 01 and the tests."""
    if not teffs[0] <= SEAM_TEFF < teffs[1]:
        raise ValueError(f"teffs must straddle the seam at {SEAM_TEFF:g} K, got {teffs}")
    networks = (None, None) if blended else ("cool", "hot")
    below, above = (compute_atmosphere(t, logg, m_h, net) for t, net in zip(teffs, networks))
    jumps = (profile_difference(below, above, name, tau_range) for name in ("temperature", "gas_pressure"))
    return SeamCheck(below, above, tuple(tau_range), *jumps)


@dataclass(frozen=True)
class SeamProfiles:
    """T and P_gas at fixed Rosseland optical depths against Teff, from each network and the blend.

    ``temperature`` (K) and ``gas_pressure`` (dyn cm^-2) map ``"cool"``, ``"hot"`` and ``"blend"``
    to arrays (len(teff), len(tau)); ``seam_teff`` and ``band`` are :data:`SEAM_TEFF` and
    :data:`BLEND_BAND` (K).
    """

    logg: float
    m_h: float
    teff: np.ndarray  # K
    tau: np.ndarray  # Rosseland optical depths
    temperature: dict[str, np.ndarray]
    gas_pressure: dict[str, np.ndarray]
    seam_teff: float = SEAM_TEFF
    band: tuple[float, float] = BLEND_BAND


def seam_profiles(
    logg: float = 4.0,
    m_h: float = 0.0,
    teffs: np.ndarray | None = None,
    taus: tuple[float, ...] = (1e-3, 1e-2, 0.1, 1.0),
) -> SeamProfiles:
    """The seam before and after the blend, for chapter 01: T(τ) and P_gas(τ) at ``taus`` against
    Teff (default 7500–8500 K in 10 K steps, where both networks were trained) for log g (dex, cgs)
    and [M/H] (dex), from the cool network, the hot one and their blend; NaN where an atmosphere
    is unusable (the hot network's, below 8000 K, for some labels: :data:`BLEND_BAND`)."""
    teffs = np.arange(7500.0, 8500.1, 10.0) if teffs is None else np.asarray(teffs, dtype=float)
    tau = np.asarray(taus, dtype=float)
    names = ("temperature", "gas_pressure")
    profiles: dict[str, dict[str, np.ndarray]] = {name: {} for name in names}
    for kind, network in (("cool", "cool"), ("hot", "hot"), ("blend", None)):
        values = np.full((len(names), len(teffs), len(tau)), np.nan)
        for i, teff in enumerate(teffs):
            try:
                atm = compute_atmosphere(teff, logg, m_h, network)
            except AtmosphereError:
                continue
            values[:, i] = [at_optical_depth(atm, name, tau) for name in names]
        for name, by_teff in zip(names, values):
            profiles[name][kind] = by_teff
    return SeamProfiles(float(logg), float(m_h), teffs, tau, **profiles)


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
