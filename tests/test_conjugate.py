"""The exact posterior against outside oracles: scikit-learn Ridge, SciPy densities, numerical integration."""

import math

import numpy as np
import pytest
from oracles import random_problem
from scipy import integrate, stats
from sklearn.linear_model import Ridge

from bayesreg import DataError, Gaussian, SpecError, gaussian_posterior, load_d2l, load_diabetes, nig_posterior
from bayesreg.suffstats import SufficientStats


def _cases():
    diabetes = load_diabetes()
    d2l = load_d2l(seed=0).train
    X1, y1 = random_problem(40, 6, seed=3)
    return {
        "diabetes": (diabetes.X, diabetes.y, 54.0, 20.0),
        "d2l (n<d)": (d2l.X, d2l.y, 0.01, 0.01 / math.sqrt(60)),
        "random": (X1, y1, 0.5, 0.3),
    }


CASES = _cases()


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("bias", ["flat", "none"])
def test_posterior_mean_is_sklearn_ridge(name, bias):
    X, y, sigma, tau = CASES[name]
    post = gaussian_posterior(X, y, prior=Gaussian(tau), sigma=sigma, bias=bias)
    ridge = Ridge(alpha=sigma**2 / tau**2, fit_intercept=bias == "flat", solver="cholesky").fit(X, y)
    np.testing.assert_allclose(post.w_mean, ridge.coef_, rtol=1e-8, atol=1e-8 * np.abs(ridge.coef_).max())
    if bias == "flat":
        assert post.b_mean == pytest.approx(ridge.intercept_, rel=1e-8)
    else:
        assert post.b_mean is None and post.mean.shape == (X.shape[1],)


def test_penalised_bias_is_ridge_on_a_scaled_intercept_column():
    """b ~ N(0, S²) ⇔ Ridge without intercept on [X, (S/τ)·1]: penalty α(b τ/S)² = σ² b²/S²."""
    X, y, sigma, tau = CASES["random"]
    S = 0.8
    post = gaussian_posterior(X, y, prior=Gaussian(tau), sigma=sigma, bias=f"normal:{S}")
    k = S / tau
    ridge = Ridge(alpha=sigma**2 / tau**2, fit_intercept=False, solver="cholesky").fit(
        np.column_stack([X, np.full(len(y), k)]), y)
    np.testing.assert_allclose(post.w_mean, ridge.coef_[:-1], rtol=1e-8)
    assert post.b_mean == pytest.approx(ridge.coef_[-1] * k, rel=1e-8)
    # a penalised bias is pulled towards 0, a flat one is not
    flat = gaussian_posterior(X, y, prior=Gaussian(tau), sigma=sigma, bias="flat")
    assert abs(post.b_mean) < abs(flat.b_mean)


@pytest.mark.parametrize("bias", ["none", "flat", "normal:2.5"])
def test_posterior_covariance_from_the_raw_design(bias):
    """cov = σ²(ZᵀZ + σ²P)⁻¹ on the raw augmented design (no centring), P the prior precision."""
    X, y, sigma, tau = CASES["random"]
    post = gaussian_posterior(X, y, prior=Gaussian(tau), sigma=sigma, bias=bias)
    d = X.shape[1]
    if bias == "none":
        Z, P = X, np.eye(d) / tau**2
    else:
        Z = np.column_stack([X, np.ones(len(y))])
        p_b = 0.0 if bias == "flat" else 1 / 2.5**2
        P = np.diag(np.append(np.full(d, 1 / tau**2), p_b))
    cov = sigma**2 * np.linalg.inv(Z.T @ Z + sigma**2 * P)
    np.testing.assert_allclose(post.cov, cov, rtol=1e-8, atol=1e-12 * np.abs(cov).max())
    np.testing.assert_allclose(post.mean, cov @ Z.T @ y / sigma**2, rtol=1e-8)


# ------------------------------------------------------------------------------------------ evidence

@pytest.mark.parametrize("name", ["random", "d2l (n<d)"])
@pytest.mark.parametrize("S", [None, 3.0])
def test_log_evidence_is_a_multivariate_normal_density(name, S):
    X, y, sigma, tau = CASES[name]
    bias = "none" if S is None else f"normal:{S}"
    post = gaussian_posterior(X, y, prior=Gaussian(tau), sigma=sigma, bias=bias)
    C = sigma**2 * np.eye(len(y)) + tau**2 * X @ X.T + (0 if S is None else S**2)
    assert post.log_evidence == pytest.approx(stats.multivariate_normal(np.zeros(len(y)), C).logpdf(y), rel=1e-10)


def test_flat_bias_evidence_integrates_b_out():
    """log ∫ N(y | b1, σ²I + τ²XXᵀ) db by quadrature."""
    X, y, sigma, tau = CASES["random"]
    post = gaussian_posterior(X, y, prior=Gaussian(tau), sigma=sigma, bias="flat")
    mvn = stats.multivariate_normal(np.zeros(len(y)), sigma**2 * np.eye(len(y)) + tau**2 * X @ X.T)
    shift = mvn.logpdf(y - post.b_mean)  # keep the integrand O(1)
    value, _ = integrate.quad(lambda b: math.exp(mvn.logpdf(y - b) - shift), -np.inf, np.inf,
                              epsabs=0, epsrel=1e-12)
    assert post.log_evidence == pytest.approx(shift + math.log(value), rel=1e-9)


def test_evidence_from_sufficient_statistics_only():
    X, y, sigma, tau = CASES["diabetes"]
    a = gaussian_posterior(X, y, prior=Gaussian(tau), sigma=sigma)
    b = gaussian_posterior(SufficientStats.from_arrays(X, y), prior=Gaussian(tau), sigma=sigma)
    assert a.log_evidence == b.log_evidence and np.array_equal(a.mean, b.mean)


# ---------------------------------------------------------------------------- Normal-Inverse-Gamma

def _small_problem(d: int, seed: int = 5, n: int = 7):
    rng = np.random.default_rng(seed)
    X = rng.normal(0.5, 1.0, size=(n, d))
    y = X @ rng.normal(size=d) + 0.4 + rng.normal(0, 0.6, size=n)
    return X, y


def _brute_force_joint_sigma(X, y, lam, a0, b0, sigma, bias):
    """log p(y, σ) = log p(σ) + log ∫ p(y | w, b, σ) p(w | σ) [db] dw by quadrature over w (and b if flat).

    The box is ±15 sd (of the Gaussian in w at this σ) around the penalised least-squares point: a box that
    missed mass would make the test fail, not pass.
    """
    d = X.shape[1]
    Z = X if bias == "none" else np.column_stack([X, np.ones(len(y))])
    P = np.diag([lam] * d + [0.0] * (Z.shape[1] - d))
    cov = np.linalg.inv(Z.T @ Z + P)
    centre = cov @ Z.T @ y
    half = 15 * sigma * np.sqrt(np.diag(cov))
    log_p_sigma = stats.invgamma(a0, scale=b0).logpdf(sigma**2) + math.log(2 * sigma)
    r0 = y - Z @ centre
    shift = -0.5 * (r0 @ r0 + lam * centre[:d] @ centre[:d]) / sigma**2  # the log integrand's peak, roughly

    def integrand(*theta):
        w = np.array(theta[:d])
        b = theta[d] if bias == "flat" else 0.0
        r = y - X @ w - b
        return math.exp(-0.5 * (r @ r + lam * w @ w) / sigma**2 - shift)

    ranges = [[c - h, c + h] for c, h in zip(centre, half, strict=True)]
    value = integrate.nquad(integrand, ranges, opts={"epsabs": 0, "epsrel": 1e-10})[0]
    n = len(y)
    log_norm = -0.5 * n * math.log(2 * math.pi * sigma**2) - 0.5 * d * math.log(2 * math.pi * sigma**2 / lam)
    return math.log(value) + shift + log_norm + log_p_sigma


@pytest.mark.parametrize("d,bias", [(1, "none"), (2, "none"), (1, "flat")], ids=["1d", "2d", "1d+flat-b"])
def test_nig_sigma_marginal_and_evidence_by_integration(d, bias):
    """p(y, σ) by brute force = exp(log evidence) · p(σ | y) from the closed form, at several σ."""
    X, y = _small_problem(d)
    lam, a0, b0 = 0.7, 2.0, 0.5
    post = nig_posterior(X, y, prior=lam, sigma_prior=f"invgamma:{a0},{b0}", bias=bias)
    for sigma in (0.3, 0.5, 0.8, 1.3):
        brute = _brute_force_joint_sigma(X, y, lam, a0, b0, sigma, bias)
        closed = post.log_evidence + math.log(post.sigma_pdf(sigma))
        assert closed == pytest.approx(brute, abs=1e-8), sigma


def test_nig_sigma_density_integrates_to_one():
    X, y = _small_problem(3)
    post = nig_posterior(X, y, prior=1.0, sigma_prior="invgamma:2,1")
    total, _ = integrate.quad(post.sigma_pdf, 0, np.inf, epsabs=0, epsrel=1e-10)
    assert total == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("bias", ["flat", "none"])
def test_nig_mean_is_ridge_whatever_sigma(bias):
    X, y, *_ = CASES["random"]
    lam = 2.5
    post = nig_posterior(X, y, prior=lam, sigma_prior="invgamma:3,2", bias=bias)
    ridge = Ridge(alpha=lam, fit_intercept=bias == "flat", solver="cholesky").fit(X, y)
    np.testing.assert_allclose(post.w_mean, ridge.coef_, rtol=1e-8)


def _raw_nig(X, y, lam, a0, b0, bias):
    """Normal-Inverse-Gamma posterior from the raw design Z = [X, 1] (textbook formulas, no centring)."""
    Z = X if bias == "none" else np.column_stack([X, np.ones(len(y))])
    P = np.diag([lam] * X.shape[1] + [0.0] * (Z.shape[1] - X.shape[1]))
    V = np.linalg.inv(Z.T @ Z + P)
    m = V @ Z.T @ y
    a_n = a0 + (len(y) - (Z.shape[1] - X.shape[1])) / 2
    b_n = b0 + 0.5 * (y @ y - m @ (Z.T @ Z + P) @ m)
    return Z, m, V, a_n, b_n


@pytest.mark.parametrize("bias", ["flat", "none"])
def test_nig_against_raw_formulas(bias):
    X, y = _small_problem(2, n=12)
    X = X + 3.0  # non-zero column means, so the centred parametrisation is exercised
    lam, a0, b0 = 1.3, 2.0, 1.0
    post = nig_posterior(X, y, prior=lam, sigma_prior=f"invgamma:{a0},{b0}", bias=bias)
    Z, m, V, a_n, b_n = _raw_nig(X, y, lam, a0, b0, bias)
    np.testing.assert_allclose(post.mean, m, rtol=1e-10)
    assert post.a_n == pytest.approx(a_n) and post.b_n == pytest.approx(b_n, rel=1e-10)
    np.testing.assert_allclose(post.scale, b_n / a_n * V, rtol=1e-9)
    np.testing.assert_allclose(post.cov, b_n / (a_n - 1) * V, rtol=1e-9)
    # predictive: ∫ N(y* | z m, σ²(1 + zVz)) IG(σ² | a_n, b_n) dσ², built from the raw formulas only
    x_new = np.array([[3.3, 1.8]])
    z = x_new[0] if bias == "none" else np.append(x_new[0], 1.0)
    loc, spread = z @ m, 1 + z @ V @ z
    pred = post.predictive(x_new)
    for y_new in (loc - 2.0, loc + 0.3, loc + 1.7):
        def f(s2, y_new=y_new):
            return stats.norm(loc, math.sqrt(s2 * spread)).pdf(y_new) * stats.invgamma(a_n, scale=b_n).pdf(s2)
        mixture, _ = integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-10, limit=200)
        assert float(pred.pdf(y_new)[0]) == pytest.approx(mixture, rel=1e-7)


def test_results_do_not_depend_on_the_mean_of_y():
    """Adding 1e8 to y moves only b: the σ posterior and the evidence must not lose digits (flat bias)."""
    X, y = _small_problem(3, n=25)
    for fit in (lambda yy: nig_posterior(X, yy, prior=1.0, sigma_prior="invgamma:2,1.3"),
                lambda yy: gaussian_posterior(X, yy, prior=1.0, sigma=1.0)):
        base, shifted = fit(y), fit(y + 1e8)
        assert shifted.log_evidence == pytest.approx(base.log_evidence, rel=1e-8)
        np.testing.assert_allclose(shifted.w_mean, base.w_mean, rtol=1e-6)
        assert shifted.b_mean == pytest.approx(base.b_mean + 1e8, rel=1e-12)
    assert nig_posterior(X, y + 1e8, prior=1.0, sigma_prior="invgamma:2,1.3").b_n == pytest.approx(
        nig_posterior(X, y, prior=1.0, sigma_prior="invgamma:2,1.3").b_n, rel=1e-8)


@pytest.mark.parametrize("prob", [0.5, 0.9, 0.94, 0.99])
def test_credible_interval_any_probability(prob):
    X, y, sigma, tau = CASES["random"]
    post = gaussian_posterior(X, y, prior=Gaussian(tau), sigma=sigma)
    lo, hi = post.credible_interval(prob)
    ref_lo, ref_hi = stats.norm(post.mean, np.sqrt(np.diag(post.cov))).interval(prob)
    np.testing.assert_allclose(lo, ref_lo, rtol=1e-12)
    np.testing.assert_allclose(hi, ref_hi, rtol=1e-12)


# ----------------------------------------------------------------------------- predictive and draws

def test_gaussian_predictive():
    X, y, sigma, tau = CASES["diabetes"]
    post = gaussian_posterior(X, y, prior=Gaussian(tau), sigma=sigma)
    X_new = X[:5] + 0.01
    pred = post.predictive(X_new)
    ridge = Ridge(alpha=sigma**2 / tau**2, solver="cholesky").fit(X, y)
    np.testing.assert_allclose(pred.mean(), ridge.predict(X_new), rtol=1e-8)
    Z = np.column_stack([X_new, np.ones(5)])
    np.testing.assert_allclose(pred.var(), np.einsum("ij,jk,ik->i", Z, post.cov, Z) + sigma**2, rtol=1e-8)


def _check_draws(draws: np.ndarray, mean: np.ndarray, cov: np.ndarray):
    """Independent draws: each coordinate's mean within 4.5 standard errors, each variance and each correlation
    within 4.5 standard errors (var: √(2/(N−1)) relative; corr: (1 − ρ²)/√N)."""
    N = len(draws)
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(draws.mean(0) - mean) < 4.5 * sd / math.sqrt(N))
    assert np.all(np.abs(draws.var(0, ddof=1) / sd**2 - 1) < 4.5 * math.sqrt(2 / (N - 1)))
    rho = cov / np.outer(sd, sd)
    assert np.all(np.abs(np.corrcoef(draws.T) - rho) < 4.5 * (1 - rho**2) / math.sqrt(N) + 1e-12)


@pytest.mark.parametrize("bias", ["flat", "normal:2.5", "none"])
def test_draws_as_inference_data_match_the_moments(bias):
    X, y, sigma, tau = CASES["random"]  # columns with non-zero means: b = c − x̄ᵀw is exercised
    names = [f"f{j}" for j in range(X.shape[1])]
    post = gaussian_posterior(X, y, prior=Gaussian(tau), sigma=sigma, bias=bias, feature_names=names)
    idata = post.sample(draws=5000, chains=4, seed=1)
    w = idata.posterior["w"]
    assert w.dims == ("chain", "draw", "feature") and list(w.coords["feature"].values) == names
    assert ("b" in idata.posterior) == (bias != "none") and "sigma" not in idata.posterior
    assert float(idata.constant_data["sigma"]) == sigma and idata.posterior.attrs["method"] == "exact"
    assert idata.posterior.attrs["version_pyro-ppl"]
    parts = [w.values.reshape(-1, X.shape[1])]
    if bias != "none":
        parts.append(idata.posterior["b"].values.reshape(-1, 1))
    _check_draws(np.concatenate(parts, axis=1), post.mean, post.cov)


def test_nig_draws_match_the_student_t_marginal():
    X, y = _small_problem(3, n=30)
    X = X - 2.0
    post = nig_posterior(X, y, prior=1.0, sigma_prior="invgamma:2,1")
    idata = post.sample(draws=5000, chains=4, seed=2)
    wb = np.concatenate([idata.posterior["w"].values.reshape(-1, 3), idata.posterior["b"].values.reshape(-1, 1)], 1)
    # a_n = 2 + 29/2: the t marginal has all the moments the check needs
    _check_draws(wb, post.mean, post.cov)
    s2 = idata.posterior["sigma"].values.ravel() ** 2
    assert abs(s2.mean() - post.sigma2.mean()) < 4.5 * post.sigma2.std() / math.sqrt(len(s2))
    same = post.sample(draws=5000, chains=4, seed=2)
    assert np.array_equal(same.posterior["w"].values, idata.posterior["w"].values)


# ---------------------------------------------------------------------------------------------- errors

def test_nig_refuses_non_conjugate_choices():
    X, y = _small_problem(2)
    with pytest.raises(SpecError, match="not conjugate"):
        nig_posterior(X, y, prior=1.0, sigma_prior="halfnormal:1")
    with pytest.raises(SpecError, match="flat.*none"):
        nig_posterior(X, y, prior=1.0, sigma_prior="invgamma:1,1", bias="normal:1")


def test_bad_shapes_and_values():
    X, y = _small_problem(2)
    with pytest.raises(DataError, match="rows but y has"):
        gaussian_posterior(X, y[:-1], prior=1.0, sigma=1.0)
    with pytest.raises(DataError, match="NaN"):
        gaussian_posterior(X, np.where(np.arange(len(y)) == 2, np.nan, y), prior=1.0, sigma=1.0)
    with pytest.raises(DataError, match="feature_names has 1 names"):
        gaussian_posterior(X, y, prior=1.0, sigma=1.0, feature_names=["a"])
    with pytest.raises(SpecError, match="feature_names has 1 names for 2"):
        gaussian_posterior(SufficientStats.from_arrays(X, y), prior=1.0, sigma=1.0, feature_names=["a"])
    with pytest.raises(SpecError, match="bias must be"):
        gaussian_posterior(X, y, prior=1.0, sigma=1.0, bias=None)
    with pytest.raises(SpecError, match="singular"):
        gaussian_posterior(load_d2l(0).train, prior=1e12, sigma=1e-6)  # n < d, τ/σ = 1e18
    with pytest.raises(SpecError, match="sigma"):
        gaussian_posterior(X, y, prior=1.0, sigma=0.0)
    with pytest.raises(SpecError, match="tau"):
        gaussian_posterior(X, y, prior=-1.0, sigma=1.0)
    post = gaussian_posterior(X, y, prior=1.0, sigma=1.0)
    with pytest.raises(SpecError, match="3 columns"):
        post.predictive(np.ones((2, 3)))
    with pytest.raises(SpecError, match="strictly between"):
        post.credible_interval(1.5)
