"""The exact posterior against outside oracles: scikit-learn Ridge, SciPy densities, numerical integration."""

import math

import numpy as np
import pytest
from oracles import random_problem
from scipy import integrate, stats
from sklearn.linear_model import Ridge

from bayesreg import Gaussian, SpecError, gaussian_posterior, load_d2l, load_diabetes, nig_posterior
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


def test_nig_predictive_is_the_sigma_mixture():
    """Student-t predictive = ∫ N(y* | m, σ²(1 + z V z)) IG(σ²) dσ² by quadrature."""
    X, y = _small_problem(2, n=12)
    post = nig_posterior(X, y, prior=1.0, sigma_prior="invgamma:2,1")
    x_new = np.array([[0.3, -1.2]])
    pred = post.predictive(x_new)
    loc = float(pred.mean()[0])
    spread = float(np.sqrt(post.b_n / post.a_n * (1 + 0)))  # only to choose test points
    for y_new in (loc - 2 * spread, loc, loc + 0.7 * spread):
        def f(s2, y_new=y_new):
            normal_sd = math.sqrt(s2 * (pred.var()[0] * (post.df - 2) / post.df) / (post.b_n / post.a_n))
            return stats.norm(loc, normal_sd).pdf(y_new) * post.sigma2.pdf(s2)
        mixture, _ = integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-10, limit=200)
        assert float(pred.pdf(y_new)[0]) == pytest.approx(mixture, rel=1e-7)


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


def test_draws_as_inference_data_match_the_moments():
    data = load_diabetes()
    post = gaussian_posterior(data, prior=Gaussian(20.0), sigma=54.0)
    idata = post.sample(draws=2000, chains=4, seed=1)
    w = idata.posterior["w"]
    assert w.dims == ("chain", "draw", "feature")
    assert list(w.coords["feature"].values) == list(data.feature_names)
    assert "b" in idata.posterior and "sigma" not in idata.posterior
    assert float(idata.constant_data["sigma"]) == 54.0 and idata.posterior.attrs["method"] == "exact"
    draws = np.concatenate([w.values.reshape(-1, data.d), idata.posterior["b"].values.reshape(-1, 1)], axis=1)
    N = len(draws)
    sd = np.sqrt(np.diag(post.cov))
    # independent draws: the sample mean's error is sd/√N; 4.5 standard errors over 11 coordinates
    assert np.all(np.abs(draws.mean(0) - post.mean) < 4.5 * sd / math.sqrt(N))
    # the sample variance's relative standard error is √(2/(N−1))
    assert np.all(np.abs(draws.var(0, ddof=1) / sd**2 - 1) < 4.5 * math.sqrt(2 / (N - 1)))
    assert idata.posterior.attrs["version_pyro-ppl"]


def test_nig_draws_include_sigma():
    X, y = _small_problem(3, n=50)
    post = nig_posterior(X, y, prior=1.0, sigma_prior="invgamma:2,1")
    idata = post.sample(draws=4000, chains=2, seed=2)
    s2 = idata.posterior["sigma"].values.ravel() ** 2
    se = post.sigma2.std() / math.sqrt(len(s2))
    assert abs(s2.mean() - post.sigma2.mean()) < 4.5 * se
    same = post.sample(draws=4000, chains=2, seed=2)
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
    with pytest.raises(SpecError, match="n = len"):
        gaussian_posterior(X, y[:-1], prior=1.0, sigma=1.0)
    with pytest.raises(SpecError, match="sigma"):
        gaussian_posterior(X, y, prior=1.0, sigma=0.0)
    with pytest.raises(SpecError, match="tau"):
        gaussian_posterior(X, y, prior=-1.0, sigma=1.0)
    post = gaussian_posterior(X, y, prior=1.0, sigma=1.0)
    with pytest.raises(SpecError, match="3 columns"):
        post.predictive(np.ones((2, 3)))
