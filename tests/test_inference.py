"""fit_labels(): labels back from spectra through the emulator, on an emulator of the real ci grid."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from specgen.fit.chi2 import fit_labels, generator_error
from specgen.grid import GridError, read_grid
from specgen.labels import LabelError
from specgen.model.config import TrainingConfig
from specgen.model.train import train_emulator

# Keras 3.15's ReduceLROnPlateau reads the learning rate with np.array(variable), which numpy 2 warns about.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

CI = Path(__file__).resolve().parents[1] / "data" / "ci"
if not (CI / "train.h5").exists():
    pytest.skip(f"no ci grid in {CI} (make it with `specgen synth --profile ci`)", allow_module_level=True)

SIGMA = 0.01  # S/N 100
TEFF = 0


@pytest.fixture(scope="module")
def emulator(ci_emulator):
    return ci_emulator


@pytest.fixture(scope="module")
def truth(central_rows):
    """Labels of three training spectra away from the edges of the ranges."""
    return read_grid(CI / "train.h5").labels[central_rows]


@pytest.fixture(scope="module")
def observed(truth, central_rows):
    """The radiative-transfer spectra of ``truth`` (SME) with seeded S/N 100 noise. The ci generator's own
    error is as large as the noise, so the tests judge the fitter by χ², never by how close it comes
    to the true labels (and never on spectra the generator made itself)."""
    clean = read_grid(CI / "train.h5").flux[central_rows]
    return clean + np.random.default_rng(0).normal(0, SIGMA, clean.shape)


@pytest.fixture(scope="module")
def fit(emulator, observed):
    return fit_labels(observed, emulator, SIGMA)


def widths(emulator):
    return np.array([emulator.label_ranges[n].high - emulator.label_ranges[n].low for n in emulator.label_names])


def chi2_at(emulator, labels, observed):
    return np.sum(((observed - emulator.generate(labels, allow_extrapolation=True)) / SIGMA) ** 2, axis=1)


def test_the_fit_descends_below_its_first_step_and_the_true_labels(emulator, fit, observed, truth):
    """Levenberg–Marquardt goes on from its first step and ends at a χ² below that of the true labels; its χ²
    and model spectrum are the generator's at the labels it returns. A fitter that stops after its start,
    steps the wrong way or reports another spectrum's χ² fails this."""
    first_step = fit_labels(observed, emulator, SIGMA, max_steps=1)
    assert np.all(fit.chi2 <= first_step.chi2) and np.any(fit.chi2 < first_step.chi2 - 1), (fit.chi2, first_step.chi2)
    assert np.all(fit.chi2 < chi2_at(emulator, truth, observed))
    np.testing.assert_allclose(fit.best_flux, emulator.generate(fit.labels), atol=1e-5)
    np.testing.assert_allclose(fit.chi2, chi2_at(emulator, fit.labels, observed), rtol=1e-4)
    assert np.all(fit.uncertainties > 0) and not fit.degenerate.any()


def test_fitting_stars_together_equals_fitting_them_one_by_one(emulator, observed, fit):
    # Levenberg–Marquardt stops within TOLERANCE of the minimum in χ², so a batch's other rounding can
    # move a label along its valley by a fraction of its 1σ (measured: below 0.05σ); a start, a step or
    # a convergence test shared between stars moves it by σ or more.
    alone = np.vstack([fit_labels(spectrum, emulator, SIGMA).labels for spectrum in observed])
    assert np.all(np.abs(alone - fit.labels) < 0.2 * fit.uncertainties)


def test_the_start_library_is_made_once_per_settings_and_reused(emulator, observed, fit, monkeypatch):
    from specgen.fit import chi2

    made = []
    of = chi2._Library.of.__func__
    monkeypatch.setattr(chi2._Library, "of", classmethod(lambda cls, *a: made.append(a[-1]) or of(cls, *a)))
    again = fit_labels(observed, emulator, SIGMA)  # the fixture's fit made this library
    np.testing.assert_array_equal(again.labels, fit.labels)
    assert made == []
    fit_labels(observed[0], emulator, SIGMA, seed=1)
    fit_labels(observed[0], emulator, SIGMA, fixed={"resolution": 11500})
    fit_labels(observed[0], emulator, SIGMA, seed=1)
    assert made == [1, 0]  # another seed, other fixed labels: each its own library, then reused


def test_a_timed_fit_leaves_tracing_and_the_start_library_to_its_warm_up(emulator, observed, monkeypatch):
    from specgen.fit import chi2
    from specgen.fit.speed import time_fit

    made = []
    of = chi2._Library.of.__func__
    monkeypatch.setattr(chi2._Library, "of", classmethod(lambda cls, *a: made.append(a[-1]) or of(cls, *a)))
    timing = time_fit(observed, emulator, SIGMA, seed=7)
    assert made == [7]  # once, before the clock starts, for the timed call's seed
    np.testing.assert_array_equal(timing.fit.labels, fit_labels(observed, emulator, SIGMA, seed=7).labels)
    assert 0 < timing.seconds and 0 < timing.gemm_gflops


def test_a_fixed_label_keeps_its_value_and_gives_a_degree_of_freedom(emulator, observed, fit):
    held = fit_labels(observed, emulator, SIGMA, fixed={"resolution": 11500})
    j = emulator.label_names.index("resolution")
    assert np.all(held.labels[:, j] == 11500) and np.all(held.uncertainties[:, j] == 0)
    assert held.fixed == ("resolution",) and fit.fixed == ()
    np.testing.assert_array_equal(held.dof, fit.dof + 1)
    table = held.table()
    assert list(table.columns[:3]) == ["teff", "teff_err", "teff_at_bound"]
    assert table["resolution"].eq(11500).all() and len(table) == 3 and table["n_pixels"].eq(4000).all()


def test_nan_pixels_are_left_out_like_pixels_of_infinite_sigma(emulator, observed):
    masked = np.random.default_rng(1).choice(observed.shape[1], 500, replace=False)
    with_nan = observed[0].copy()
    with_nan[masked] = np.nan
    garbage, sigma = observed[0].copy(), np.full(observed.shape[1], SIGMA)
    garbage[masked], sigma[masked] = 100.0, np.inf
    by_nan, by_sigma = fit_labels(with_nan, emulator, SIGMA), fit_labels(garbage, emulator, sigma)
    assert by_nan.n_pixels[0] == observed.shape[1] - 500 and by_nan.dof[0] == observed.shape[1] - 500 - 6
    assert all(np.isfinite(a).all() for a in (by_nan.labels, by_nan.uncertainties, by_nan.chi2))
    np.testing.assert_allclose(by_nan.labels, by_sigma.labels, rtol=1e-6)


def test_bad_input_is_refused_with_a_reason(emulator, observed):
    with pytest.raises(ValueError, match=r"shape \(4000,\) or \(n_stars, 4000\)"):
        fit_labels(observed[:, :3999], emulator, SIGMA)
    with pytest.raises(ValueError, match="usable pixels"):
        fit_labels(np.full(4000, np.nan), emulator, SIGMA)
    with pytest.raises(ValueError, match="usable pixels"):
        fit_labels(observed[0], emulator, 0.0)
    with pytest.raises(ValueError, match="sigma must be"):
        fit_labels(observed, emulator, np.full((2, 4000), SIGMA))
    with pytest.raises(LabelError, match="unknown label"):
        fit_labels(observed, emulator, SIGMA, fixed={"R": 11500})
    with pytest.raises(LabelError, match="outside the training range"):
        fit_labels(observed, emulator, SIGMA, fixed={"resolution": 80000})
    for wrong in (np.full(3999, SIGMA), np.full(4000, -SIGMA), np.full(4000, np.nan)):
        with pytest.raises(ValueError, match="model_error must be"):
            fit_labels(observed, emulator, SIGMA, model_error=wrong)


def test_a_spectrum_beyond_the_range_ends_on_the_bound(emulator, truth):
    """Teff alone free (the other labels held at their true values), for a spectrum made 1000 K
    below the training range: the best in-range Teff is the lower bound, and is flagged."""
    below = truth[2].copy()
    below[TEFF] = emulator.label_ranges["teff"].low - 1000
    cool = emulator.generate(below, allow_extrapolation=True)
    others = {name: value for name, value in zip(emulator.label_names, below) if name != "teff"}
    result = fit_labels(cool + np.random.default_rng(2).normal(0, SIGMA, cool.shape), emulator, SIGMA, fixed=others)
    assert result.at_bound[0, TEFF]
    assert result.labels[0, TEFF] >= emulator.label_ranges["teff"].low
    assert result.table()["teff_at_bound"].item()


def test_the_model_error_adds_to_sigma_in_quadrature(emulator, observed):
    model_error = np.linspace(0.005, 0.03, observed.shape[1])  # continuum units, as generator_error gives
    options = {"n_starts": 2, "max_steps": 50}
    with_error = fit_labels(observed[0], emulator, SIGMA, model_error=model_error, **options)
    quadrature = fit_labels(observed[0], emulator, np.hypot(SIGMA, model_error), **options)
    np.testing.assert_allclose(with_error.labels, quadrature.labels, rtol=1e-5)
    np.testing.assert_allclose(with_error.uncertainties, quadrature.uncertainties, rtol=1e-4)
    np.testing.assert_allclose(with_error.chi2, quadrature.chi2, rtol=1e-4)
    # Noise alone weighs every residual more: its best χ² is larger than the one with the model's error,
    # whose minimum is at most its χ² at the noise-only labels. (The two fits of a radiative-transfer
    # spectrum may land in different minima, so σ is not compared.)
    noise_only = fit_labels(observed[0], emulator, SIGMA, **options)
    assert with_error.chi2[0] < noise_only.chi2[0] / 2


def test_the_generator_error_is_the_rms_per_pixel_over_a_grid(emulator):
    grid = read_grid(CI / "test.h5")
    error = generator_error(emulator, CI / "test.h5")
    assert error.shape == (emulator.n_pix,) and np.all(error >= 0)
    np.testing.assert_allclose(error**2, np.mean((emulator.generate_like(grid) - grid.flux) ** 2, axis=0), rtol=1e-5)
    first = grid.subset(slice(0, 1))
    np.testing.assert_allclose(generator_error(emulator, first), np.abs(emulator.generate_like(first) - first.flux)[0])
    with pytest.raises(GridError, match="the emulator"):
        generator_error(emulator, replace(grid, wavelength=grid.wavelength + 1.0))


def test_uncertainties_scale_with_the_noise(emulator, central_rows):
    """At the same minimum (a noise-free radiative-transfer spectrum), σ of every label is proportional to the noise:
    ten times the S/N, a tenth of the error. (Noisy spectra may land in other minima.) Both fits go
    on to a tolerance far below the default, as the exact derivatives of a leaky-ReLU network jump
    between points a tenth of σ apart, from one start: of several starts ending in nearly equal minima,
    float32 round-off can pick a different winner at each S/N (σ ratios of 8.0–10.6 were measured so)."""
    clean = read_grid(CI / "train.h5").flux[central_rows[0]]
    options = {"n_starts": 1, "tolerance": 1e-6, "max_steps": 200}
    errors = [fit_labels(clean, emulator, 1 / snr, **options).uncertainties[0] for snr in (30, 300)]
    np.testing.assert_allclose(errors[0] / errors[1], 10, rtol=0.01)


def test_a_saved_emulator_is_read_from_its_directory(emulator, observed, tmp_path):
    emulator.save(tmp_path / "emulator")
    from_disk = fit_labels(observed[0], tmp_path / "emulator", SIGMA, n_starts=2, max_steps=20)
    in_memory = fit_labels(observed[0], emulator, SIGMA, n_starts=2, max_steps=20)
    np.testing.assert_allclose(from_disk.labels, in_memory.labels, rtol=1e-5)


def test_a_latent_space_narrower_than_the_labels_is_flagged_degenerate(observed):
    """Six labels through four latent numbers: the χ² surface is flat along two directions."""
    config = TrainingConfig.small_grid(latent=4, encoder_hidden=(32, 16), mapper_hidden=(32, 16), max_epochs=3, seed=0)
    narrow = train_emulator(read_grid(CI / "train.h5"), config, fine_tune=False, progress=False)
    fit = fit_labels(observed, narrow, SIGMA, n_starts=2, max_steps=20)
    assert fit.degenerate.all() and np.isinf(fit.uncertainties).all()



def test_coverage_counts_the_truths_within_one_and_two_sigma():
    from specgen.fit.chi2 import LabelFit
    from specgen.fit.recovery import coverage

    n = 10
    labels = np.column_stack([np.full(n, 5000.0), np.full(n, 11500.0)])
    sigma = np.column_stack([np.full(n, 100.0), np.zeros(n)])
    sigma[9, 0] = np.inf  # a degenerate fit: its pull of 0 tells nothing
    pulls = np.array([0.1, -0.5, 0.9, 1.0, -1.5, 1.9, 2.5, -3.0, 0.0, 0.0])  # of 9 told: 5 within 1σ, 7 within 2σ
    truth = np.column_stack([11500.0 + 0 * pulls, 5000.0 - pulls * 100.0])  # in another column order
    fit = LabelFit(labels, sigma, np.zeros((n, 2, 2)), np.ones(n), np.full(n, 100), np.zeros((n, 2), bool),
                   np.zeros((n, 2), bool), np.ones((n, 4)), ("teff", "resolution"), ("resolution",))
    table = coverage(fit, truth, ("resolution", "teff"))
    assert list(table.index) == ["teff", "a Gaussian error"]  # the held resolution has no σ to test
    assert table.loc["teff", "within 1σ"] == pytest.approx(5 / 9) and table.loc["teff", "within 2σ"] == pytest.approx(7 / 9)
    assert table.loc["teff", "n"] == 9
