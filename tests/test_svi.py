"""SVI against exact oracles: the conjugate Gaussian posterior (σ fixed), the Normal-Inverse-Gamma posterior, and
a 1-D quadrature over σ of the exact evidence (σ with a half-normal prior).

Monte Carlo error of the draws themselves: with N = chains × draws = 4 × 2500 = 10,000 independent draws, a
posterior mean has standard error sd/√N = 0.010 sd and a sample sd a relative standard error of 1/√(2N) = 0.0071.
Over at most 202 coordinates (D2L: 200 weights and b) the largest of |N(0, 1)| is about 3.5, so the draws alone
contribute at most ~0.035 sd to a mean error and ~2.5 % to an sd ratio: well inside the tolerances of 0.1 sd and
10 %, which are left for the variational fit.
"""

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

from bayesreg import Gaussian, SpecError, gaussian_posterior, load_d2l, load_diabetes, nig_posterior
from bayesreg.infer.svi import svi
from bayesreg.models import LinearRegressionModel
from bayesreg.priors import ConjugateGaussian, Laplace
from bayesreg.solvers import ConvergenceWarning

DRAWS, CHAINS = 2500, 4
DIABETES_SIGMA, DIABETES_TAU = 54.0, 20.0
WIDE_TAU = 1000.0  # λ = σ²/τ² ≈ 0.003: essentially least squares, where the collinear s1..s5 correlate strongly


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These models are tiny: torch's intra-op threads only contend (3× slower on a loaded 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _wb(post):
    """Draws of (w, b) as one (N, d + 1) array, in the exact posterior's order."""
    return np.column_stack([post.flat("w"), post.flat("b")])


def _errors(post, exact):
    """(max |mean error| in exact sds, sd ratios) over every coordinate of (w, b)."""
    sd = np.sqrt(np.diag(exact.cov))
    wb = _wb(post)
    return np.max(np.abs(wb.mean(0) - exact.mean) / sd), wb.std(0, ddof=1) / sd


def _run(data, sigma, tau, guide="mvn", **kwargs):
    return svi(data, LinearRegressionModel(Gaussian(tau), sigma=sigma), guide=guide, draws=DRAWS, chains=CHAINS,
               **kwargs)


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes()


@pytest.fixture(scope="module")
def diabetes_mvn(diabetes):
    return _run(diabetes, DIABETES_SIGMA, DIABETES_TAU)


@pytest.fixture(scope="module")
def wide(diabetes):
    """Diabetes with a wide prior: exact posterior and the three families (low rank at its default rank 3)."""
    exact = gaussian_posterior(diabetes, prior=Gaussian(WIDE_TAU), sigma=DIABETES_SIGMA)
    fits = {g: _run(diabetes, DIABETES_SIGMA, WIDE_TAU, guide=g) for g in ("mvn", "lowrank", "normal")}
    return exact, fits


# ------------------------------------------------------------------------------------------- full rank: exact


def test_full_rank_recovers_the_exact_posterior_on_diabetes(diabetes, diabetes_mvn):
    exact = gaussian_posterior(diabetes, prior=Gaussian(DIABETES_TAU), sigma=DIABETES_SIGMA)
    mean_err, ratio = _errors(diabetes_mvn, exact)
    print(f"\ndiabetes mvn: max|mean err| = {mean_err:.3f} sd, max|sd ratio − 1| = {np.max(np.abs(ratio - 1)):.3f}, "
          f"steps {diabetes_mvn.info['steps']}, {diabetes_mvn.seconds:.1f} s")
    assert mean_err < 0.1
    np.testing.assert_allclose(ratio, 1.0, atol=0.1)
    # the ELBO of a full-rank Gaussian reaches the exact log evidence (the KL is 0), and never exceeds it
    assert diabetes_mvn.info["elbo_final"] == pytest.approx(exact.log_evidence, abs=0.02)
    assert diabetes_mvn.draws["w"].shape == (CHAINS, DRAWS, 10) and diabetes_mvn.draws["b"].shape == (CHAINS, DRAWS)
    assert "sigma" not in diabetes_mvn.draws and diabetes_mvn.sigma_fixed == DIABETES_SIGMA
    assert diabetes_mvn.method == "svi" and diabetes_mvn.info["whitened"]


def test_full_rank_recovers_the_exact_posterior_on_d2l_with_n_below_d():
    data = load_d2l(seed=0).train
    exact = gaussian_posterior(data, prior=Gaussian(0.01), sigma=0.01)
    post = _run(data, 0.01, 0.01)
    mean_err, ratio = _errors(post, exact)
    print(f"\nd2l mvn: max|mean err| = {mean_err:.3f} sd, max|sd ratio − 1| = {np.max(np.abs(ratio - 1)):.3f}, "
          f"steps {post.info['steps']}, {post.seconds:.1f} s")
    assert post.draws["w"].shape == (CHAINS, DRAWS, 200)
    assert mean_err < 0.1
    np.testing.assert_allclose(ratio, 1.0, atol=0.1)
    assert post.info["elbo_final"] == pytest.approx(exact.log_evidence, abs=0.05)


def test_full_rank_intervals_cover_the_exact_mean_with_the_exact_width(diabetes, diabetes_mvn):
    """94 % equal-tailed intervals of the draws contain the exact posterior mean of every coordinate, and are as
    wide as the exact Gaussian intervals (within 10 %)."""
    exact = gaussian_posterior(diabetes, prior=Gaussian(DIABETES_TAU), sigma=DIABETES_SIGMA)
    lo, hi = np.quantile(_wb(diabetes_mvn), [0.03, 0.97], axis=0)
    assert np.all((lo < exact.mean) & (exact.mean < hi))
    exact_lo, exact_hi = exact.credible_interval(0.94)
    np.testing.assert_allclose((hi - lo) / (exact_hi - exact_lo), 1.0, atol=0.1)


# ------------------------------------------------------------------------------------------- the families


def test_mean_field_is_under_dispersed_where_the_posterior_is_correlated(wide):
    """Mean-field sds are the conditional sds 1/√Λ_jj (the KL(q‖p) optimum for a Gaussian target), far below the
    marginal sds for the collinear s1..s5; its ELBO falls short of the evidence by ½(Σ log Λ_jj − log det Λ)."""
    exact, fits = wide
    post = fits["normal"]
    mean_err, ratio = _errors(post, exact)
    precision = np.linalg.inv(exact.cov)
    conditional = 1.0 / np.sqrt(np.diag(precision)) / np.sqrt(np.diag(exact.cov))
    print("\nmean-field sd / exact sd (w..., b):", np.round(ratio, 3))
    print("exact conditional / marginal sd:     ", np.round(conditional, 3))
    assert ratio.min() < 0.3  # s1: ≈ 0.15
    np.testing.assert_allclose(ratio, conditional, rtol=0.07)
    assert mean_err < 0.1  # the means of a Gaussian target are exact even for mean-field
    kl = 0.5 * (np.sum(np.log(np.diag(precision))) - np.linalg.slogdet(precision)[1])
    assert exact.log_evidence - post.info["elbo_final"] == pytest.approx(kl, abs=0.2)  # KL = 3.71; MC se ≈ 0.06


def test_full_rank_is_exact_where_mean_field_is_not(wide):
    exact, fits = wide
    mean_err, ratio = _errors(fits["mvn"], exact)
    assert mean_err < 0.1
    np.testing.assert_allclose(ratio, 1.0, atol=0.1)


def test_low_rank_lies_between_mean_field_and_full_rank(wide):
    exact, fits = wide
    gaps = {g: exact.log_evidence - post.info["elbo_final"] for g, post in fits.items()}
    ratios = {g: _errors(post, exact)[1] for g, post in fits.items()}
    print("\nELBO gaps (nats):", {g: round(v, 4) for g, v in gaps.items()})
    print("low-rank sd / exact sd:", np.round(ratios["lowrank"], 3))
    assert fits["lowrank"].info["rank"] == 3  # round(√11)
    assert gaps["mvn"] < 0.05 < gaps["lowrank"] < gaps["normal"] - 0.5
    assert ratios["normal"].min() + 0.3 < ratios["lowrank"].min() < ratios["mvn"].min()


def test_low_rank_of_rank_d_minus_1_is_the_full_rank_family(diabetes, wide):
    exact, _ = wide
    post = _run(diabetes, DIABETES_SIGMA, WIDE_TAU, guide="lowrank", rank=10)
    mean_err, ratio = _errors(post, exact)
    assert post.info["rank"] == 10 and post.attrs["rank"] == 10
    assert exact.log_evidence - post.info["elbo_final"] < 0.05
    assert mean_err < 0.1
    np.testing.assert_allclose(ratio, 1.0, atol=0.1)


# ------------------------------------------------------------------------------------------- convergence


def test_a_normal_run_converges_by_the_window_rule(diabetes_mvn):
    info = diabetes_mvn.info
    assert info["converged"] is True
    assert 500 <= info["steps"] < 20_000 and info["steps"] % 200 == 0
    assert info["elbo"].shape == (info["steps"],) and info["elbo"].dtype == np.float64
    assert np.all(np.isfinite(info["elbo"]))


def test_a_tiny_budget_warns_and_reports_not_converged(diabetes):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        post = _run(diabetes, DIABETES_SIGMA, DIABETES_TAU, max_steps=50, min_steps=10)
    assert post.info["converged"] is False and post.attrs["converged"] is False
    assert post.info["steps"] == 50 and post.info["elbo"].shape == (50,)


def test_from_a_far_start_the_elbo_rises_and_reaches_the_exact_posterior(diabetes):
    """Started 3 sds from the posterior mean in every coordinate, the ELBO climbs by tens of nats to the
    evidence and the fit still converges to the exact posterior."""
    exact = gaussian_posterior(diabetes, prior=Gaussian(DIABETES_TAU), sigma=DIABETES_SIGMA)
    sd = np.sqrt(np.diag(exact.cov))
    far = {"w": exact.w_mean + 3 * sd[:-1], "b": exact.b_mean - 3 * sd[-1]}
    calls = []
    post = _run(diabetes, DIABETES_SIGMA, DIABETES_TAU, init=far, progress=lambda *a: calls.append(a))
    elbo = post.info["elbo"]
    assert post.info["converged"]
    assert elbo[-200:].mean() - elbo[:50].mean() > 20.0
    assert elbo[-200:].mean() > np.median(elbo[: len(elbo) // 4])
    np.testing.assert_allclose(post.info["start"]["w"], far["w"])
    mean_err, ratio = _errors(post, exact)
    assert mean_err < 0.1
    np.testing.assert_allclose(ratio, 1.0, atol=0.1)
    # progress every 100 steps, with the step, the budget and the current ELBO
    assert [c[0] for c in calls] == list(range(100, post.info["steps"] + 1, 100))
    assert all(c[1] == 20_000 for c in calls) and calls[-1][2] == elbo[calls[-1][0] - 1]


# ------------------------------------------------------------------------------------------- σ random


def test_sigma_random_matches_quadrature_over_sigma(diabetes):
    """σ ~ HalfNormal(100): p(σ | y) ∝ p(σ) p(y | σ), p(y | σ) the exact Gaussian evidence, on a fine grid."""
    grid = np.linspace(55.0, 90.0, 351)
    posts = [gaussian_posterior(diabetes, prior=Gaussian(DIABETES_TAU), sigma=s) for s in grid]
    logp = np.array([p.log_evidence for p in posts]) + stats.halfnorm(scale=100.0).logpdf(grid)
    weight = np.exp(logp - logp.max())
    weight /= weight.sum()
    sigma_mean = weight @ grid
    sigma_sd = math.sqrt(weight @ (grid - sigma_mean) ** 2)
    log_evidence = logp.max() + math.log(np.exp(logp - logp.max()).sum() * (grid[1] - grid[0]))
    means = np.array([p.mean for p in posts])
    wb_mean = weight @ means
    wb_sd = np.sqrt(weight @ np.array([np.diag(p.cov) for p in posts]) + weight @ (means - wb_mean) ** 2)

    post = svi(diabetes, LinearRegressionModel(Gaussian(DIABETES_TAU), sigma="halfnormal:100"), draws=DRAWS,
               chains=CHAINS)
    sigma = post.flat("sigma")
    print(f"\nσ random: exact E[σ] = {sigma_mean:.3f} sd {sigma_sd:.3f}; SVI {sigma.mean():.3f} sd {sigma.std():.3f};"
          f" steps {post.info['steps']}")
    assert post.draws["sigma"].shape == (CHAINS, DRAWS) and post.sigma_fixed is None
    assert all(v.dtype == np.float64 for v in post.draws.values())
    assert np.all(sigma > 0)
    assert sigma.mean() == pytest.approx(sigma_mean, rel=0.01)
    assert sigma.std() == pytest.approx(sigma_sd, rel=0.1)
    wb = _wb(post)
    assert np.max(np.abs(wb.mean(0) - wb_mean) / wb_sd) < 0.1
    np.testing.assert_allclose(wb.std(0) / wb_sd, 1.0, atol=0.1)
    # the ELBO is the model's (log|dσ/d log σ| included): the fitted guide's is within a few hundredths of a nat of
    # log p(y), which is all a Gaussian in (log σ, w, b) can miss here
    assert -0.01 < log_evidence - post.info["elbo_final"] < 0.05  # ELBO ≤ log p(y), up to its own MC error
    # with the shrinkage of τ = 20 the fit is worse than least squares: σ is well above its residual sd (54.15)
    assert sigma.mean() > 1.2 * 54.15


def test_sigma_random_matches_the_normal_inverse_gamma_posterior(diabetes):
    """w | σ ~ N(0, σ²/λ), σ² ~ InvGamma(2, 1000): exact marginals are Student-t, E[σ²] = b_n/(a_n − 1)."""
    exact = nig_posterior(diabetes, prior=ConjugateGaussian(1.0), sigma_prior="invgamma:2,1000")
    post = svi(diabetes, LinearRegressionModel(ConjugateGaussian(1.0), sigma="invgamma:2,1000"), draws=DRAWS,
               chains=CHAINS)
    sd = np.sqrt(np.diag(exact.cov))
    wb = _wb(post)
    assert (post.flat("sigma") ** 2).mean() == pytest.approx(exact.sigma2.mean(), rel=0.02)
    assert np.max(np.abs(wb.mean(0) - exact.mean) / sd) < 0.1
    np.testing.assert_allclose(wb.std(0) / sd, 1.0, atol=0.1)
    assert -0.01 < exact.log_evidence - post.info["elbo_final"] < 0.05


# ------------------------------------------------------------------------------------------- other paths


def test_pyro_trace_elbo_estimator_also_recovers_the_posterior(diabetes):
    exact = gaussian_posterior(diabetes, prior=Gaussian(DIABETES_TAU), sigma=DIABETES_SIGMA)
    post = _run(diabetes, DIABETES_SIGMA, DIABETES_TAU, estimator="trace")
    mean_err, ratio = _errors(post, exact)
    assert post.info["estimator"] == "trace" and post.info["converged"]
    assert mean_err < 0.1
    np.testing.assert_allclose(ratio, 1.0, atol=0.1)


def test_laplace_prior_runs_and_shrinks_towards_zero(diabetes):
    """No closed form: the MAP (lasso) sets some weights to 0 exactly; SVI's posterior means are finite and
    shrunk relative to the flat-prior (least-squares) fit."""
    post = svi(diabetes, LinearRegressionModel(Laplace(5.0), sigma=DIABETES_SIGMA), draws=500, chains=2)
    assert post.info["converged"]
    w = post.flat("w")
    assert np.all(np.isfinite(w)) and w.dtype == np.float64
    ols = np.linalg.lstsq(np.column_stack([diabetes.X, np.ones(diabetes.n)]), diabetes.y, rcond=None)[0][:-1]
    assert np.abs(w.mean(0)).sum() < 0.5 * np.abs(ols).sum()


@pytest.mark.parametrize("bias", ["none", "normal:10"])
def test_other_biases_match_their_exact_posteriors(diabetes, bias):
    exact = gaussian_posterior(diabetes, prior=Gaussian(DIABETES_TAU), sigma=DIABETES_SIGMA, bias=bias)
    post = svi(diabetes, LinearRegressionModel(Gaussian(DIABETES_TAU), sigma=DIABETES_SIGMA, bias=bias),
               draws=DRAWS, chains=CHAINS)
    assert ("b" in post.draws) == (bias != "none")
    wb = _wb(post) if bias != "none" else post.flat("w")
    sd = np.sqrt(np.diag(exact.cov))
    assert np.max(np.abs(wb.mean(0) - exact.mean) / sd) < 0.1
    np.testing.assert_allclose(wb.std(0) / sd, 1.0, atol=0.1)


def test_without_a_positive_definite_hessian_the_coordinates_stay_diagonal():
    """Laplace prior with n < d: the Hessian at the MAP is the likelihood's alone, of rank n + 1 < D, so the
    full-rank guide cannot start from the Laplace covariance; it starts diagonal and still runs."""
    data = load_d2l(seed=0).train
    with pytest.warns(ConvergenceWarning):
        post = svi(data, LinearRegressionModel(Laplace(0.01), sigma=0.01), draws=100, chains=2, max_steps=100,
                   min_steps=100, window=50)
    assert post.info["whitened"] is False
    assert np.all(np.isfinite(post.flat("w"))) and np.all(np.isfinite(post.info["elbo"]))


def test_the_result_converts_to_inference_data(diabetes, diabetes_mvn):
    idata = diabetes_mvn.to_inference_data(diabetes)
    assert idata.posterior["w"].shape == (CHAINS, DRAWS, 10)
    assert idata.log_likelihood["y"].shape == (CHAINS, DRAWS, diabetes.n)
    assert idata.posterior.attrs["method"] == "svi" and idata.posterior.attrs["guide"] == "mvn"


# ------------------------------------------------------------------------------------------- seeding, state


def _short(data, seed, guide="normal"):
    return svi(data, LinearRegressionModel(Gaussian(DIABETES_TAU), sigma=DIABETES_SIGMA), guide=guide, seed=seed,
               draws=100, chains=2, min_steps=100, window=50, max_steps=400)


def test_same_seed_same_draws_and_the_callers_state_is_untouched(diabetes):
    import pyro

    pyro.clear_param_store()
    pyro.param("user_param", torch.tensor(1.0))
    torch.manual_seed(123)
    rng_before = torch.get_rng_state()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a, b, c = _short(diabetes, 7), _short(diabetes, 7), _short(diabetes, 8)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert list(pyro.get_param_store().keys()) == ["user_param"]
    pyro.clear_param_store()
    for name in a.draws:
        np.testing.assert_array_equal(a.draws[name], b.draws[name])
    np.testing.assert_array_equal(a.info["elbo"], b.info["elbo"])
    assert not np.array_equal(a.draws["w"], c.draws["w"])
    assert a.attrs["seed"] == 7 and a.attrs["guide"] == "normal"


# ------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("kwargs, match", [
    ({"guide": "flow"}, "unknown guide 'flow'"),
    ({"estimator": "tracegraph"}, "unknown estimator"),
    ({"guide": "lowrank", "rank": 0}, "rank must be a positive integer"),
    ({"guide": "lowrank", "rank": 12}, "rank = 12 exceeds the 11 latent coordinates"),
    ({"guide": "mvn", "rank": 3}, "applies to guide 'lowrank' only"),
    ({"lr": 0.0}, "lr must be a positive finite number"),
    ({"lr": float("nan")}, "lr must be"),
    ({"tol": -1.0}, "tol must be"),
    ({"max_steps": 0}, "max_steps must be a positive integer"),
    ({"min_steps": 10, "max_steps": 5}, "min_steps = 10 exceeds max_steps = 5"),
    ({"window": 1}, "window must be at least 2"),
    ({"draws": 0}, "draws must be a positive integer"),
    ({"num_particles": 2.5}, "num_particles must be a positive integer"),
    ({"init": {"tau": 1.0}}, "unknown site"),
    ({"init": {"w": np.zeros(3)}}, r"expected \(10,\)"),
    ({"init": {"sigma": 3.0}}, "σ is fixed"),
])
def test_bad_options_raise_spec_errors_that_name_them(diabetes, kwargs, match):
    with pytest.raises(SpecError, match=match):
        svi(diabetes, LinearRegressionModel(Gaussian(DIABETES_TAU), sigma=DIABETES_SIGMA), **kwargs)


def test_inputs_must_be_a_dataset_and_a_model(diabetes):
    with pytest.raises(SpecError, match="Dataset"):
        svi((diabetes.X, diabetes.y), LinearRegressionModel(Gaussian(1.0)))
    with pytest.raises(SpecError, match="LinearRegressionModel"):
        svi(diabetes, lambda X, y: None)
