"""Model atmospheres from the atmosnet networks: evaluation, physics checks and repairs."""

from __future__ import annotations

import importlib
import importlib.resources
from dataclasses import replace

import numpy as np
import pytest
import scipy.integrate

from specgen.synth.atmospheres import (
    _HE_PER_H,
    _METALS_PER_H,
    AMU,
    BLEND_BAND,
    K_B,
    SEAM_TEFF,
    AtmosphereError,
    ModelAtmosphere,
    _blend,
    _network,
    at_optical_depth,
    atmosphere_problems,
    check_seam,
    compute_atmosphere,
    h2_density,
    h2_dissociation_constant,
    hot_weight,
    mean_nucleus_mass,
    profile_difference,
    seam_profiles,
    survey_atmospheres,
)

STARS = {
    "sun": (5777.0, 4.44, 0.0),
    "cool giant": (4000.0, 2.0, -0.5),
    "A star": (9500.0, 4.0, 0.0),
    "B star": (14000.0, 4.0, 0.0),
}
M_DWARF = (3600.0, 5.0, 0.0)  # the coolest, densest corner of Tab. 1: the most H2


@pytest.fixture(scope="module")
def sun() -> ModelAtmosphere:
    return compute_atmosphere(*STARS["sun"])


@pytest.fixture(scope="module")
def cool_giant() -> ModelAtmosphere:
    return compute_atmosphere(*STARS["cool giant"])


@pytest.fixture(scope="module")
def m_dwarf() -> ModelAtmosphere:
    return compute_atmosphere(*M_DWARF)


def at_tau(atm: ModelAtmosphere, profile: np.ndarray, tau):
    """``profile`` interpolated to Rosseland optical depth(s) ``tau``, linear in log τ."""
    return np.interp(np.log(tau), np.log(atm.tau_ross), profile)


@pytest.mark.parametrize("labels", STARS.values(), ids=STARS.keys())
def test_standard_stars_are_sound(labels):
    atm = compute_atmosphere(*labels)
    assert atm.repairs == ()
    assert atm.column_mass.size == 80
    assert at_tau(atm, atm.temperature, 2 / 3) == pytest.approx(labels[0], rel=0.10)
    for profile in (atm.column_mass, atm.gas_pressure, atm.tau_ross):
        assert np.all(np.diff(profile) > 0)
    for name in ("temperature", "electron_density", "atom_density", "mass_density"):
        assert np.all(getattr(atm, name) > 0), name


@pytest.mark.parametrize("labels", STARS.values(), ids=STARS.keys())
def test_hydrostatic_equilibrium_where_lines_form(labels):
    atm = compute_atmosphere(*labels)
    layers = (atm.tau_ross > 1e-4) & (atm.tau_ross < 1)
    weight = 10 ** atm.logg * atm.column_mass[layers]
    np.testing.assert_allclose(atm.gas_pressure[layers], weight, rtol=0.06)


def test_solar_photosphere_densities(sun):
    # The solar photosphere at τ ≈ 1: ρ ≈ 2.5e-7 g cm^-3, n_e a few 1e13 cm^-3.
    assert 1.5e-7 < at_tau(sun, sun.mass_density, 2 / 3) < 4e-7
    assert 1e13 < at_tau(sun, sun.electron_density, 2 / 3) < 1e14
    ideal_gas = sun.gas_pressure / (1.380649e-16 * sun.temperature)
    np.testing.assert_allclose(sun.atom_density + sun.electron_density, ideal_gas)
    # H2 holds < 0.1% of the Sun's nuclei: the mass density is the particles' to within that.
    np.testing.assert_allclose(sun.mass_density, sun.atom_density * mean_nucleus_mass(0.0), rtol=1e-3)


def test_h2_density_solves_the_dissociation_equilibrium_with_nuclei_conserved(m_dwarf):
    n, temperature = m_dwarf.atom_density, m_dwarf.temperature
    h2 = h2_density(temperature, n, m_dwarf.m_h)
    hydrogen = (n + h2) / (1 + _HE_PER_H + _METALS_PER_H)  # H nuclei: H2 adds one nucleus to its particle
    atomic = hydrogen - 2 * h2
    np.testing.assert_allclose(atomic**2, h2_dissociation_constant(temperature) * h2, rtol=1e-9)
    assert np.all((h2 > 0) & (atomic > 0))
    assert 0.3 < np.max(h2 / n) < 0.4  # a third of the particles in the upper photosphere


def test_mass_density_counts_the_nuclei_in_h2_as_smes_eos_does(m_dwarf):
    # ρ over the particles' mass: the nuclei in H2 they miss. SME's own equation of state
    # (PySME 1.2.0, Ionization then GetDensity, on this atmosphere's T, P_gas and n_e) gives these.
    tau = np.array([1e-4, 1e-3, 1e-2, 0.1, 1.0])
    sme_eos = np.array([1.1751, 1.3111, 1.3770, 1.2994, 1.2003])
    ratio = m_dwarf.mass_density / (m_dwarf.atom_density * mean_nucleus_mass(m_dwarf.m_h))
    np.testing.assert_allclose(at_tau(m_dwarf, ratio, tau), sme_eos, rtol=0.025)
    # atom_density stays SME's XNA, the free particles, from which SME rebuilds P_gas = (XNA + XNE) kT.
    ideal_gas = m_dwarf.gas_pressure / (K_B * m_dwarf.temperature)
    np.testing.assert_allclose(m_dwarf.atom_density + m_dwarf.electron_density, ideal_gas)


def test_mean_nucleus_mass_of_asplund_2009():
    assert mean_nucleus_mass(0.0) / AMU == pytest.approx(1.2585, rel=1e-3)
    assert mean_nucleus_mass(1.0) > mean_nucleus_mass(0.0) > mean_nucleus_mass(-1.0)


@pytest.mark.filterwarnings("ignore:numpy.core is deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", ["cool", "hot"])
def test_network_reproduces_atmosnet(name, monkeypatch):
    # atmosnet.models imports scipy.integrate.trapz (removed in SciPy 1.14); lend it the
    # replacement just long enough to import atmosnet's own evaluation as the reference.
    monkeypatch.setattr(scipy.integrate, "trapz", np.trapezoid, raising=False)
    models = importlib.import_module("atmosnet.models")
    data_dir = importlib.resources.files("atmosnet") / "data"
    reference = models.AtmosModel.read(str(data_dir / f"atmosnet_c3k_300neurons_{name}.pkl"))
    labels = np.array([7000.0 if name == "cool" else 11000.0, 3.5, -0.3, 0.0])
    decoded_with_exp = reference(labels).data[:, :6].T  # exp(raw) - 1e-16
    np.testing.assert_allclose(_network(name)(labels), np.log(decoded_with_exp + 1e-16), atol=1e-9)


@pytest.mark.parametrize(
    "labels, message",
    [
        ((2000.0, 4.0, 0.0), "teff=2000 is outside"),
        ((60000.0, 4.0, 0.0), "teff=60000 is outside"),
        ((9000.0, 5.2, 0.0), "logg=5.2 is outside the hot"),  # the cool network goes to 5.5
        ((8200.0, 5.2, 0.0), "logg=5.2 is outside the hot"),  # the blend needs both networks
        ((5000.0, -1.5, 0.0), "logg=-1.5 is outside the cool"),
        ((5000.0, 4.0, 1.8), "m_h=1.8 is outside"),
        ((5000.0, 4.0, -4.5), "m_h=-4.5 is outside"),
        ((np.nan, 4.0, 0.0), "labels must be finite"),
        ((5000.0, np.inf, 0.0), "labels must be finite"),
        ((5000.0, 4.0, np.nan), "labels must be finite"),
    ],
)
def test_labels_outside_the_networks_raise(labels, message):
    with pytest.raises(AtmosphereError, match=message):
        compute_atmosphere(*labels)


def test_one_network_alone_covers_its_own_training_range_only():
    compute_atmosphere(8400.0, 4.0, 0.0, network="cool")  # the cool network was trained up to 8500 K
    with pytest.raises(AtmosphereError, match="teff=8600 is outside the cool"):
        compute_atmosphere(8600.0, 4.0, 0.0, network="cool")
    with pytest.raises(AtmosphereError, match="teff=7400 is outside the hot"):
        compute_atmosphere(7400.0, 4.0, 0.0, network="hot")
    with pytest.raises(ValueError, match="network must be"):
        compute_atmosphere(8000.0, 4.0, 0.0, network="warm")


def corrupt(atm: ModelAtmosphere, name: str, layers: slice, factor: float) -> ModelAtmosphere:
    profile = getattr(atm, name).copy()
    profile[layers] *= factor
    return replace(atm, **{name: profile})


@pytest.mark.parametrize(
    "name, layers, factor, symptom",
    [
        ("gas_pressure", slice(40, 41), 0.5, "gas pressure not increasing"),
        ("gas_pressure", slice(0, 20), 1.6, "gas pressure above"),
        ("gas_pressure", slice(0, 20), 0.6, "gas pressure below"),
        ("column_mass", slice(50, 51), 0.5, "column mass not increasing"),
        ("electron_density", slice(70, 71), -1.0, "non-positive"),
        ("temperature", slice(10, 11), np.nan, "non-finite"),
        ("temperature", slice(None), 1.2, "T(τ_Ross = 2/3)"),
        ("tau_ross", slice(None), 1e-2, "model spans"),
    ],
)
def test_problems_are_detected(cool_giant, name, layers, factor, symptom):
    # A 4000 K star: cool enough for P_gas to be checked against g·m from below as well.
    assert atmosphere_problems(cool_giant) == []
    problems = atmosphere_problems(corrupt(cool_giant, name, layers, factor))
    assert any(symptom in problem for problem in problems), problems


def test_hot_stars_may_have_gas_pressure_well_below_g_m():
    # Radiation pressure carries much of the weight of a 14 kK giant's upper layers.
    atm = compute_atmosphere(14000.0, 2.0, 0.0)
    assert np.min(atm.gas_pressure / (10**atm.logg * atm.column_mass)) < 0.5
    assert atmosphere_problems(atm) == []


def test_profiles_of_different_lengths_are_a_problem(sun):
    assert "one length" in atmosphere_problems(replace(sun, temperature=sun.temperature[:-1]))[0]


@pytest.mark.parametrize(
    "labels, repair",
    [
        ((3656.16, 4.29, 0.38), "gas pressure rebuilt"),  # M dwarf, P = 2 g·m at the top
        ((3978.44, 4.82, -0.12), "gas pressure rebuilt"),  # M dwarf, P = 0.5 g·m at the top
        ((12968.4, 3.75, -0.07), "dropped the top 0 and bottom"),  # negative n_atom, P inversion
        ((11068.4, 4.74, -1.30), "dropped the top 13 and bottom 0"),  # P > 1.3 g·m at the top
    ],
)
def test_repaired_atmospheres_pass_the_checks(labels, repair):
    atm = compute_atmosphere(*labels)
    assert len(atm.repairs) == 1 and atm.repairs[0].startswith(repair), atm.repairs
    assert atmosphere_problems(atm) == []


def test_rebuilt_pressure_is_hydrostatic_and_electrons_follow_saha():
    labels = (3656.16, 4.29, 0.38)
    atm = compute_atmosphere(*labels)
    ratio = atm.gas_pressure / (10**atm.logg * atm.column_mass)
    assert atm.repairs and np.all((ratio > 0.95) & (ratio <= 1.0))
    _, _, network_pressure, network_electrons, *_ = 10 ** _network("cool")(np.array([*labels, 0.0]))
    expected = network_electrons * np.sqrt(atm.gas_pressure / network_pressure)
    np.testing.assert_allclose(atm.electron_density, expected, rtol=1e-9)


def test_irreparable_atmosphere_is_rejected():
    # A metal-rich giant whose pressure falls with depth at τ_Ross ≈ 24, too high up to cut away.
    with pytest.raises(AtmosphereError, match="gas pressure not increasing with depth"):
        compute_atmosphere(5811.09, 2.24, 1.36)


@pytest.mark.parametrize("logg", [2.0, 3.5, 5.0])
def test_cool_and_hot_networks_meet_at_8000_k(logg):
    seam = check_seam(logg, teffs=(SEAM_TEFF, SEAM_TEFF + 0.001), tau_range=(1e-4, 1.0), blended=False)
    assert (seam.below.teff, seam.above.teff) == (SEAM_TEFF, SEAM_TEFF + 0.001)
    assert seam.below.column_mass[0] != seam.above.column_mass[0]  # two different networks, not one twice
    assert seam.temperature_jump < 0.03


# Largest relative changes of T(τ) and P_gas(τ), τ_Ross 1e-4…10, across 2 K of Teff: the networks' seam
# exceeds them (7999 → 8001 K: T by 0.6–1.4%, P by 3.0–4.5% at log g 2–5); 2 K of a smooth model change
# P by ≤ 0.5%, T by ≤ 0.1%.
JUMP_T, JUMP_P = 0.003, 0.015


@pytest.mark.parametrize("logg", [2.0, 3.5, 5.0])
def test_blend_removes_the_seam(logg):
    before, after = check_seam(logg, blended=False), check_seam(logg)
    assert before.temperature_jump > JUMP_T and before.pressure_jump > JUMP_P
    assert after.temperature_jump < JUMP_T and after.pressure_jump < JUMP_P


@pytest.mark.parametrize("logg", [2.0, 3.5, 5.0])
@pytest.mark.parametrize("edge", BLEND_BAND)
def test_blend_is_continuous_at_the_edges_of_its_band(edge, logg):
    # A weight the wrong way round would jump there from one network to the other.
    inside, outside = sorted((edge - 1.0, edge + 1.0), key=lambda t: hot_weight(t) in (0.0, 1.0))
    a, b = compute_atmosphere(inside, logg, 0.0), compute_atmosphere(outside, logg, 0.0)
    assert profile_difference(a, b, "temperature") < JUMP_T
    assert profile_difference(a, b, "gas_pressure") < JUMP_P


@pytest.mark.parametrize("teff, network", [(7900.0, "cool"), (8000.0, "cool"), (8500.0, "hot"), (8600.0, "hot")])
def test_blend_is_one_network_outside_its_band(teff, network):
    blend, alone = compute_atmosphere(teff, 4.0, 0.0), compute_atmosphere(teff, 4.0, 0.0, network=network)
    for name in ("column_mass", "temperature", "gas_pressure", "electron_density", "mass_density", "tau_ross"):
        np.testing.assert_array_equal(getattr(blend, name), getattr(alone, name), err_msg=name)


@pytest.mark.parametrize("teff", [8050.0, 8250.0, 8450.0])
def test_blend_lies_between_the_networks_at_fixed_optical_depth(teff):
    cool, hot, blend = (compute_atmosphere(teff, 3.5, 0.0, network) for network in ("cool", "hot", None))
    tau = np.geomspace(1e-4, 10.0, 15)
    w = hot_weight(teff)
    for name in ("temperature", "gas_pressure", "electron_density"):
        c, h, b = (np.log(at_optical_depth(atm, name, tau)) for atm in (cool, hot, blend))
        # log b = (1 − w) log c + w log h, up to the slightly different τ grids of the three
        np.testing.assert_allclose(b, (1 - w) * c + w * h, atol=0.1 * np.max(np.abs(h - c)) + 2e-3, err_msg=name)


def test_networks_without_a_depth_scale_are_not_blended():
    cool, hot = (_network(name)(np.array([8250.0, 4.0, 0.0, 0.0])) for name in ("cool", "hot"))
    folded = hot.copy()
    folded[0, 40] = folded[0, 38]  # column mass falling with depth: τ_Ross too
    with pytest.raises(AtmosphereError, match="the hot network's τ_Ross does not increase"):
        _blend(cool, folded, 0.5)


def test_hot_weight_rises_smoothly_across_the_band():
    low, high = BLEND_BAND
    assert hot_weight(low - 100.0) == hot_weight(low) == 0.0
    assert hot_weight(high) == hot_weight(high + 100.0) == 1.0
    assert hot_weight((low + high) / 2) == pytest.approx(0.5)
    teff = np.linspace(low, high, 101)
    weights = np.array([hot_weight(t) for t in teff])
    assert np.all(np.diff(weights) > 0)
    assert np.diff(weights)[[0, -1]] == pytest.approx([0.0, 0.0], abs=1e-3)  # flat where it meets 0 and 1


def test_seam_profiles_show_both_networks_and_the_blend():
    profiles = seam_profiles(4.5, teffs=[7750.0, 8250.0, 8500.0], taus=(0.01, 1.0))
    for by_kind in (profiles.temperature, profiles.gas_pressure):
        assert set(by_kind) == {"cool", "hot", "blend"}
        assert all(values.shape == (3, 2) for values in by_kind.values())
        np.testing.assert_array_equal(by_kind["blend"][0], by_kind["cool"][0])  # 7750 K: the cool network
        np.testing.assert_array_equal(by_kind["blend"][2], by_kind["hot"][2])  # 8500 K: the hot one
        assert np.isnan(by_kind["hot"][0]).all()  # the hot network alone is unusable at 7750 K, log g 4.5
    assert np.all(profiles.temperature["blend"][:, 1] > 7000.0)  # T(τ = 1) near Teff


def test_check_seam_refuses_temperatures_on_one_side():
    with pytest.raises(ValueError, match="straddle"):
        check_seam(teffs=(SEAM_TEFF + 1.0, SEAM_TEFF + 2.0))


def test_profile_difference_is_the_largest_relative_one_inside_the_depth_range(sun):
    tau = sun.tau_ross
    inside = (tau > 1e-4) & (tau < 10.0)
    temperature = sun.temperature.copy()
    temperature[np.flatnonzero(inside)[3]] *= 1.05  # the largest difference inside the range
    temperature[np.flatnonzero(inside)[7]] *= 0.98
    temperature[~inside] *= 2.0  # outside the range: ignored
    assert profile_difference(sun, replace(sun, temperature=temperature)) == pytest.approx(0.05, rel=1e-9)
    assert profile_difference(replace(sun, temperature=temperature), sun, tau_range=(1e-4, 10.0)) == pytest.approx(
        1 - 1 / 1.05, rel=1e-9
    )  # relative to the first atmosphere
    # the other atmosphere is read at the first one's depths, on its own τ scale, log-log
    isothermal = replace(sun, temperature=np.full_like(tau, 6000.0))
    deeper = replace(isothermal, tau_ross=tau * 10, temperature=np.geomspace(5000.0, 9000.0, tau.size))
    expected = np.exp(np.interp(np.log(tau), np.log(tau * 10), np.log(deeper.temperature)))[inside] / 6000.0 - 1
    assert profile_difference(isothermal, deeper) == pytest.approx(np.max(np.abs(expected)), rel=1e-12)
    denser = replace(sun, gas_pressure=sun.gas_pressure * 1.1)
    assert profile_difference(sun, denser, "gas_pressure") == pytest.approx(0.1)


def test_survey_defect_rates():
    survey = survey_atmospheres(1600, seed=0)
    assert survey["ok"] + survey["repaired"] + survey["rejected"] == 1600
    assert survey["rejected_labels"].shape == (survey["rejected"], 3)
    assert survey["repaired_labels"].shape == (survey["repaired"], 3)
    assert len(survey["rejected_reasons"]) == survey["rejected"]
    assert survey["repaired"] / 1600 < 0.05
    assert survey["rejected"] / 1600 < 0.01
