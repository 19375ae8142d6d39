"""The Bayesian-lasso Gibbs sampler against oracles written here from SciPy alone: numerical integration of the
unnormalised posterior (scipy.stats densities, scipy.integrate), SciPy's inverse-Gaussian and chi-square laws,
simulation-based calibration, and the lasso MAP's exact zeros.

Monte Carlo tolerances. For a posterior mean, the estimate's standard error is sd/√ESS (ESS: ArviZ's, the smaller
of bulk and mean). For a posterior variance V, the sample variance is the mean of (θ − μ)² (up to an O(V/ESS)
bias), whose standard error is √(Var[(θ − μ)²]/ESS₂) = √((μ₄ − V²)/ESS₂), μ₄ the exact fourth central moment
and ESS₂ the effective size of the chain of (θ − μ)² — for a Gaussian that is V√(2/ESS₂); the Laplace-like
posteriors here have heavier tails (kurtosis μ₄/V² > 3), which the exact μ₄ accounts for. Every check allows
4.5 standard errors (a two-sided false-alarm rate of 7e-6 per check, with seeds fixed).
"""

import math

import arviz as az
import numpy as np
import pytest
from scipy import integrate, optimize, stats

from bayesreg import DataError, Laplace, SpecError, load_diabetes
from bayesreg.infer.gibbs import _draw_latent_variances, gibbs_lasso
from bayesreg.solvers.objective import PenalizedLeastSquares
from bayesreg.solvers.proximal import coordinate_descent
from bayesreg.suffstats import SufficientStats

Z_MAX = 4.5


# ------------------------------------------------------------------------------------------ helpers


def _ess(x: np.ndarray) -> float:
    """Effective sample size of (chain, draw) draws for a mean: the smaller of ArviZ's bulk and mean ESS."""
    return min(float(az.ess(x, method="bulk")), float(az.ess(x, method="mean")))


def _z_mean(x: np.ndarray, mean: float, var: float) -> float:
    """(sample mean − exact mean) in Monte Carlo standard errors."""
    return (x.mean() - mean) / math.sqrt(var / _ess(x))


def _z_var(x: np.ndarray, mean: float, var: float, m4: float) -> float:
    """(sample variance − exact variance) in Monte Carlo standard errors, SE = √((μ₄ − V²)/ESS₂)."""
    sq = (x - mean) ** 2
    se = math.sqrt((m4 - var**2) / float(az.ess(sq, method="mean")))
    return (x.var() - var) / se


def _halves(f, lo: float, hi: float):
    """∫_lo^hi f split at 0, where the Laplace density has its kink (quad_vec: vector-valued f)."""
    return (integrate.quad_vec(f, lo, 0.0, epsrel=1e-7, epsabs=0)[0]
            + integrate.quad_vec(f, 0.0, hi, epsrel=1e-7, epsabs=0)[0])


def _moments(Z, first, second, fourth=None):
    """mean, variance (and 4th central moment) from ∫f, ∫θf, ∫θ²f (, ∫θ³f, ∫θ⁴f)."""
    m = first / Z
    var = second / Z - m**2
    if fourth is None:
        return m, var
    m3, m4 = fourth[0] / Z, fourth[1] / Z
    return m, var, m4 - 4 * m * m3 + 6 * m**2 * (second / Z) - 3 * m**4


def _one_feature(n, seed, x_mean=0.0, w=0.4, b=0.0, sigma=1.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(x_mean, 1.0, n)
    return x, w * x + b + rng.normal(0.0, sigma, n)


# ------------------------------------------------------------------------------- quadrature oracles

def test_one_weight_sigma_fixed_matches_quadrature():
    """d = 1, σ fixed, no bias: p(w | y) ∝ Π N(y_i | x_i w, σ²) · Laplace(w | 0, s), integrated over w."""
    x, y = _one_feature(6, seed=11, w=0.4)
    sigma, s = 1.0, 0.3

    def logp(w):
        return stats.norm.logpdf(y, x * w, sigma).sum() + stats.laplace.logpdf(w, 0.0, s)

    ref = -optimize.minimize_scalar(lambda w: -logp(w), bounds=(-5, 5), method="bounded").fun
    assert logp(-10.0) - ref < -60 and logp(10.0) - ref < -60  # the box holds all the mass

    def f(w):
        p = math.exp(logp(w) - ref)
        return np.array([p, w * p, w**2 * p, w**3 * p, w**4 * p])

    I = _halves(f, -10.0, 10.0)
    mean, var, m4 = _moments(I[0], I[1], I[2], I[3:])
    assert m4 / var**2 > 3.05  # not a Gaussian posterior: the kurtosis correction matters

    post = gibbs_lasso(x[:, None], y, scale=s, sigma=sigma, bias="none", chains=4, draws=5000, warmup=300, seed=1)
    w = post.draws["w"][..., 0]
    assert set(post.draws) == {"w"} and post.sigma_fixed == sigma
    assert abs(_z_mean(w, mean, var)) < Z_MAX
    assert abs(_z_var(w, mean, var, m4)) < Z_MAX


def test_normal_bias_matches_quadrature():
    """d = 1, σ fixed, b ~ N(0, S²), x with mean 3 (so that b and w are strongly coupled). Integrating b out of
    y = xw + b1 + ε gives y | w ~ MVN(xw, σ²I + S²11ᵀ) (scipy.stats.multivariate_normal), integrated over w.
    Given w, b is the conjugate normal posterior with mean nS²(ȳ − x̄w)/(σ² + nS²) and variance
    (1/S² + n/σ²)⁻¹, so E b = nS²(ȳ − x̄ E w)/(σ² + nS²) and Var b = Var(b | w) + (nS²x̄/(σ² + nS²))² Var w."""
    x, y = _one_feature(8, seed=9, x_mean=3.0, w=0.5, b=1.0)
    n, sigma, s, S = len(y), 0.8, 0.4, 1.5
    cov = sigma**2 * np.eye(n) + S**2 * np.ones((n, n))

    def logp(w):
        return stats.multivariate_normal.logpdf(y, x * w, cov) + stats.laplace.logpdf(w, 0.0, s)

    ref = -optimize.minimize_scalar(lambda w: -logp(w), bounds=(-5, 5), method="bounded").fun
    assert logp(-8.0) - ref < -60 and logp(8.0) - ref < -60

    def f(w):
        return math.exp(logp(w) - ref) * w ** np.arange(5)

    I = _halves(f, -8.0, 8.0)
    w_mean, w_var, w_m4 = _moments(I[0], I[1], I[2], I[3:])
    k = n * S**2 / (sigma**2 + n * S**2)
    b_mean = k * (y.mean() - x.mean() * w_mean)
    b_var = 1.0 / (1.0 / S**2 + n / sigma**2) + (k * x.mean()) ** 2 * w_var

    post = gibbs_lasso(x[:, None], y, scale=s, sigma=sigma, bias=f"normal:{S}", chains=4, draws=4000, warmup=300,
                       seed=6)
    w = post.draws["w"][..., 0]
    assert abs(_z_mean(w, w_mean, w_var)) < Z_MAX
    assert abs(_z_var(w, w_mean, w_var, w_m4)) < Z_MAX
    assert abs(_z_mean(post.draws["b"], b_mean, b_var)) < Z_MAX


def test_flat_bias_marginal_is_the_analytic_integral_over_b():
    """The oracle below integrates b analytically: with r_i = y_i − x_i w,
    ∫ Π N(y_i | x_i w + b, σ²) db = (2πσ²)^(−(n−1)/2) n^(−1/2) exp(−Σ(r_i − r̄)²/(2σ²)),
    since Σ(r_i − b)² = Σ(r_i − r̄)² + n(r̄ − b)². Checked here against numerical integration over b."""
    x, y = _one_feature(8, seed=5, x_mean=3.0, w=0.5, b=1.5)
    for w, sigma in [(0.2, 0.7), (-0.4, 1.3), (1.0, 0.5)]:
        r = y - x * w
        numeric = integrate.quad(lambda b, w=w, sg=sigma: np.prod(stats.norm.pdf(y, x * w + b, sg)), -30, 30,
                                 points=[r.mean()], epsabs=0, epsrel=1e-11)[0]
        closed = math.exp(_flat_bias_loglik(x, y, w, sigma))
        assert numeric == pytest.approx(closed, rel=1e-8)


def _flat_bias_loglik(x, y, w, sigma):
    r = y - x * w
    n = len(y)
    return (-0.5 * (n - 1) * math.log(2 * math.pi * sigma**2) - 0.5 * math.log(n)
            - ((r - r.mean()) ** 2).sum() / (2 * sigma**2))


def test_random_sigma_flat_bias_matches_quadrature():
    """d = 1, σ² ~ InvGamma(A, B), flat bias, x with mean 3: the posterior means of w, σ and b against
    quadrature over (w, σ) with b integrated analytically (previous test). The posterior of b given (w, σ) is
    N(r̄(w), σ²/n), r̄(w) = ȳ − x̄w, so E b = ȳ − x̄ E w and Var b = E σ²/n + x̄² Var w."""
    x, y = _one_feature(8, seed=5, x_mean=3.0, w=0.5, b=1.5)
    n, s, A, B = len(y), 0.5, 3.0, 2.0

    def logp(w, sigma):  # density of (w, σ): p(σ) = InvGamma(σ² | A, B) · 2σ
        return (_flat_bias_loglik(x, y, w, sigma) + stats.laplace.logpdf(w, 0.0, s)
                + stats.invgamma.logpdf(sigma**2, A, scale=B) + math.log(2 * sigma))

    opt = optimize.minimize(lambda t: -logp(t[0], math.exp(t[1])), [0.3, 0.0], method="Nelder-Mead")
    ref = -opt.fun
    assert max(logp(w, sg) for w in (-8.0, 8.0) for sg in (0.05, 1.0, 3.0)) - ref < -40
    assert max(logp(w, 40.0) for w in (-1.0, 0.0, 1.0)) - ref < -40

    def inner(w):
        def g(sigma):
            p = math.exp(logp(w, sigma) - ref)
            return np.array([p, sigma * p, sigma**2 * p])
        I = integrate.quad_vec(g, 1e-3, 40.0, epsrel=1e-7, epsabs=0, points=[0.5, 1.0, 2.0])[0]
        return np.array([I[0], w * I[0], w**2 * I[0], I[1], I[2]])

    I = _halves(inner, -8.0, 8.0)
    w_mean, w_var = _moments(I[0], I[1], I[2])
    s_mean, s_var = _moments(I[0], I[3], I[4])
    b_mean = y.mean() - x.mean() * w_mean
    b_var = (I[4] / I[0]) / n + x.mean() ** 2 * w_var

    post = gibbs_lasso(x[:, None], y, scale=s, sigma=f"invgamma:{A},{B}", bias="flat", chains=4, draws=4000,
                       warmup=300, seed=2)
    assert set(post.draws) == {"w", "b", "sigma"} and post.sigma_fixed is None
    assert abs(_z_mean(post.draws["w"][..., 0], w_mean, w_var)) < Z_MAX
    assert abs(_z_mean(post.draws["sigma"], s_mean, s_var)) < Z_MAX
    assert abs(_z_mean(post.draws["b"], b_mean, b_var)) < Z_MAX


def test_two_weights_sigma_fixed_matches_2d_quadrature():
    """d = 2, correlated columns, σ fixed, no bias: means and variances of (w₁, w₂) from 2-D quadrature."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((10, 2)) @ np.array([[1.0, 0.6], [0.0, 0.8]])
    y = X @ np.array([0.8, 0.0]) + rng.standard_normal(10)
    sigma, s = 1.0, 0.5

    def logp(w):
        return stats.norm.logpdf(y, X @ w, sigma).sum() + stats.laplace.logpdf(w, 0.0, s).sum()

    ref = -optimize.minimize(lambda w: -logp(w), [0.5, 0.0], method="Nelder-Mead").fun
    edge = max(logp(np.array(p)) for p in [(-8, 0), (8, 0), (0, -8), (0, 8), (8, -8), (-8, 8)])
    assert edge - ref < -60

    def outer(w1):
        def g(w2):
            p = math.exp(logp(np.array([w1, w2])) - ref)
            return p * w2 ** np.arange(5)
        I = _halves(g, -8.0, 8.0)
        return np.concatenate([I[0] * w1 ** np.arange(5), I[1:]])

    I = _halves(outer, -8.0, 8.0)  # ∫w₁^k f, k = 0..4, then ∫w₂^k f, k = 1..4
    moments = [_moments(I[0], I[1], I[2], I[3:5]), _moments(I[0], I[5], I[6], I[7:9])]

    post = gibbs_lasso(X, y, scale=s, sigma=sigma, bias="none", chains=4, draws=4000, warmup=300, seed=3)
    w = post.draws["w"]
    for j, (m, v, m4) in enumerate(moments):
        assert abs(_z_mean(w[..., j], m, v)) < Z_MAX
        assert abs(_z_var(w[..., j], m, v, m4)) < Z_MAX


def test_scale_hyperprior_matches_quadrature():
    """d = 1, σ fixed, no bias, ℓ = 1/s² ~ Gamma(r, rate δ): posterior means of w and of s ("tau") against
    quadrature over (w, ℓ), with p(w | ℓ) = Laplace(0, ℓ^(−1/2)) and p(ℓ) = scipy.stats.gamma(r, scale=1/δ)."""
    x, y = _one_feature(6, seed=7, w=0.6)
    sigma, r, delta = 1.0, 3.0, 1.0

    def logp(w, ell):
        return (stats.norm.logpdf(y, x * w, sigma).sum() + stats.laplace.logpdf(w, 0.0, ell**-0.5)
                + stats.gamma.logpdf(ell, r, scale=1.0 / delta))

    opt = optimize.minimize(lambda t: -logp(t[0], math.exp(t[1])), [0.3, 0.0], method="Nelder-Mead")
    ref = -opt.fun
    assert max(logp(w, ell) for w in (-8.0, 8.0) for ell in (0.01, 1.0, 10.0)) - ref < -40
    assert max(logp(w, 60.0) for w in (-0.5, 0.0, 0.5)) - ref < -40

    def outer(ell):
        def g(w):
            p = math.exp(logp(w, ell) - ref)
            return np.array([p, w * p, w**2 * p])
        I = _halves(g, -8.0, 8.0)
        s_ = ell**-0.5
        return np.array([I[0], I[1], I[2], s_ * I[0], s_**2 * I[0]])

    # ℓ near 0: the integrand is ~ℓ^(r−1/2) · ..., smooth; the box (0, 60] holds the mass (checked above).
    I = integrate.quad_vec(outer, 0.0, 60.0, epsrel=1e-7, epsabs=0, points=[1.0, 3.0, 10.0])[0]
    w_mean, w_var = _moments(I[0], I[1], I[2])
    s_mean, s_var = _moments(I[0], I[3], I[4])

    post = gibbs_lasso(x[:, None], y, scale_prior=(r, delta), sigma=sigma, bias="none", chains=4, draws=5000,
                       warmup=300, seed=4)
    assert set(post.draws) == {"w", "tau"}
    assert abs(_z_mean(post.draws["w"][..., 0], w_mean, w_var)) < Z_MAX
    assert abs(_z_mean(post.draws["tau"], s_mean, s_var)) < Z_MAX


# ------------------------------------------------------------------------ the latent-variance draw


@pytest.mark.parametrize(("w", "s"), [(0.3, 0.5), (2.0, 0.5), (0.01, 3.0)])
def test_latent_variance_is_inverse_gaussian(w, s):
    """1/v | w ~ IG(mean √ℓ/|w|, shape ℓ), ℓ = 1/s²; SciPy's invgauss(μ/λ, scale=λ) is IG(μ, λ)."""
    rng = np.random.default_rng(0)
    v = _draw_latent_variances(rng, np.full((2, 10_000), w), np.array([s, s])).ravel()
    mu, lam = 1.0 / (s * abs(w)), 1.0 / s**2
    assert stats.kstest(1.0 / v, stats.invgauss(mu / lam, scale=lam).cdf).pvalue > 1e-3


@pytest.mark.parametrize("ratio", [1e8, 1e17])
def test_latent_variance_keeps_its_digits_for_tiny_weights(ratio):
    """As |w|/s → 0, p(v | w) ∝ v^(−1/2) e^(−w²/(2v) − v/(2s²)) → v/s² ~ χ²₁. The textbook inverse-Gaussian draw
    (numpy's wald) cancels catastrophically here (it returns 1/v = 0 once s/|w| ≳ 1e16)."""
    rng = np.random.default_rng(1)
    s = 2.0
    v = _draw_latent_variances(rng, np.full((1, 20_000), s / ratio), np.array([s])).ravel()
    assert np.isfinite(v).all() and (v > 0).all()
    assert stats.kstest(v / s**2, stats.chi2(1).cdf).pvalue > 1e-3


# ------------------------------------------------------------------------------ lasso: no exact zeros


def test_diabetes_posterior_median_has_no_zeros_but_the_map_does():
    """σ = 54, s = 54²/221: the MAP is the lasso with λ₁ = σ²/s = 221, which has exact zeros; the posterior
    median of every weight is not 0, and no draw is exactly 0."""
    data = load_diabetes()
    sigma = 54.0
    s = sigma**2 / 221.0
    post = gibbs_lasso(data, scale=s, sigma=sigma, chains=4, draws=1000, warmup=500, seed=0)
    w = post.flat("w")
    assert post.feature_names == data.feature_names and w.shape == (4000, 10)
    assert np.all(w != 0.0)
    median = np.median(w, axis=0)
    assert np.all(median != 0.0)
    lasso = coordinate_descent(data.X, data.y, PenalizedLeastSquares(l1=221.0))
    assert int(np.sum(lasso.w == 0.0)) == 6
    # The weights the lasso keeps agree with their posterior medians to within a posterior sd.
    zero = lasso.w == 0.0
    sd = w.std(axis=0)
    assert np.all(np.abs(median[~zero] - lasso.w[~zero]) < sd[~zero])


# ----------------------------------------------------------------------------- numerics and centring


def test_flat_bias_is_unaffected_by_huge_column_and_target_means():
    """With a flat bias the posterior of (w, σ) does not change when X and y are shifted (b absorbs it): the
    same seed must give the same draws from X + 10⁶ and y + 10⁶ as from X and y, to far better than MC error
    — which raw cross-products (XᵀX ≈ n·10¹²) could not deliver."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 3))
    y = X @ np.array([1.0, -0.5, 0.0]) + 0.3 + rng.normal(0, 0.5, 30)
    kw = {"scale": 0.5, "sigma": "invgamma:2,1", "chains": 2, "draws": 300, "warmup": 50, "seed": 8}
    a = gibbs_lasso(X, y, **kw)
    shift = 1e6
    b = gibbs_lasso(X + shift, y + shift, **kw)
    np.testing.assert_allclose(b.draws["w"], a.draws["w"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(b.draws["sigma"], a.draws["sigma"], rtol=1e-6)
    # b' = b + shift − shift·Σw
    np.testing.assert_allclose(b.draws["b"] - shift + shift * b.draws["w"].sum(-1), a.draws["b"], atol=1e-4)


def test_sufficient_statistics_give_the_same_draws_as_rows():
    data = load_diabetes()
    kw = {"scale": 10.0, "sigma": 54.0, "chains": 2, "draws": 100, "warmup": 10, "seed": 5}
    a = gibbs_lasso(data, **kw)
    b = gibbs_lasso(SufficientStats.from_arrays(data.X, data.y), feature_names=data.feature_names, **kw)
    np.testing.assert_array_equal(a.draws["w"], b.draws["w"])
    np.testing.assert_array_equal(a.draws["b"], b.draws["b"])
    assert a.feature_names == b.feature_names


# ----------------------------------------------------------------------------------- calibration (SBC)


def _sbc_ranks(reps: int, seed: int, *, sigma_prior=None, scale_prior=None, thin: int = 5):
    """Simulation-based calibration (Talts et al. 2018): draw the parameters from the prior, y from the model,
    and the rank of each true value among 99 posterior draws; ranks are uniform on 0..99 iff the sampler is
    right (for this prior). d = 2, n = 10, bias normal:1."""
    rng = np.random.default_rng(seed)
    n, d, s = 10, 2, 0.5
    names = ["w1", "w2", "b"] + (["sigma"] if sigma_prior else []) + (["tau"] if scale_prior else [])
    ranks = {k: [] for k in names}
    for rep in range(reps):
        truth = {}
        if scale_prior:
            truth["tau"] = rng.gamma(scale_prior[0], 1.0 / scale_prior[1]) ** -0.5
        scale = truth.get("tau", s)
        if sigma_prior:
            truth["sigma"] = math.sqrt(stats.invgamma.rvs(sigma_prior[0], scale=sigma_prior[1], random_state=rng))
        sigma = truth.get("sigma", 1.0)
        w = rng.laplace(0.0, scale, d)
        truth.update(w1=w[0], w2=w[1], b=rng.normal(0.0, 1.0))
        X = rng.standard_normal((n, d))
        y = X @ w + truth["b"] + rng.normal(0.0, sigma, n)
        post = gibbs_lasso(
            X, y, scale=None if scale_prior else s, scale_prior=scale_prior,
            sigma=f"invgamma:{sigma_prior[0]},{sigma_prior[1]}" if sigma_prior else 1.0, bias="normal:1",
            chains=1, draws=99, warmup=100, thin=thin, seed=rep,
        )
        draws = {"w1": post.draws["w"][0, :, 0], "w2": post.draws["w"][0, :, 1], "b": post.draws["b"][0],
                 **{k: post.draws[k][0] for k in ("sigma", "tau") if k in post.draws}}
        for k in names:
            ranks[k].append(int(np.sum(draws[k] < truth[k])))
    return {k: np.array(v) for k, v in ranks.items()}


def _uniform_p(ranks: np.ndarray, bins: int) -> float:
    counts = np.bincount(ranks * bins // 100, minlength=bins)
    return float(stats.chisquare(counts).pvalue)


def test_simulation_based_calibration():
    """100 replications, σ and s fixed: ranks of w₁, w₂, b in 10 bins, χ² test of uniformity."""
    ranks = _sbc_ranks(100, seed=2024)
    for k, r in ranks.items():
        assert _uniform_p(r, 10) > 1e-3, k


@pytest.mark.slow
def test_simulation_based_calibration_with_hyperpriors():
    """500 replications with σ² ~ InvGamma(3, 2) and 1/s² ~ Gamma(3, 1): ranks of w₁, w₂, b, σ, s, 20 bins."""
    ranks = _sbc_ranks(500, seed=7, sigma_prior=(3.0, 2.0), scale_prior=(3.0, 1.0), thin=10)
    for k, r in ranks.items():
        assert _uniform_p(r, 20) > 1e-3, k


# ------------------------------------------------------------------------------------- the interface


def _small(**kw):
    x, y = _one_feature(12, seed=0, x_mean=1.0)
    args = {"scale": 1.0, "sigma": 1.0, "chains": 3, "draws": 50, "warmup": 10, "seed": 0, **kw}
    return gibbs_lasso(x[:, None], y, **args)


def test_same_seed_same_draws_and_chains_differ():
    a, b = _small(sigma="invgamma:2,1"), _small(sigma="invgamma:2,1")
    for k in a.draws:
        np.testing.assert_array_equal(a.draws[k], b.draws[k])
    c = _small(sigma="invgamma:2,1", seed=1)
    assert not np.array_equal(a.draws["w"], c.draws["w"])
    w = a.draws["w"][..., 0]
    assert not np.array_equal(w[0], w[1]) and not np.array_equal(w[1], w[2])
    assert a.attrs["seed"] == 0 and a.method == "gibbs"


def test_shapes_thinning_sites_and_inference_data():
    post = _small(draws=40, thin=3, bias="normal:2", scale=None, scale_prior="invgamma:2,1",
                  sigma="invgamma:2,1")
    assert post.draws["w"].shape == (3, 40, 1)
    assert {k: v.shape for k, v in post.draws.items() if k != "w"} == {"b": (3, 40), "sigma": (3, 40),
                                                                         "tau": (3, 40)}
    assert post.info["iterations"] == 10 + 40 * 3 and post.seconds > 0
    assert post.info["scale_prior"] == {"shape": 2.0, "rate": 1.0}
    none = _small(bias="none")
    assert set(none.draws) == {"w"} and none.sigma_fixed == 1.0
    idata = none.to_inference_data()
    assert idata.posterior["w"].shape == (3, 50, 1)


def test_scale_given_as_text_or_object_is_the_same():
    a = _small(scale=None, scale_prior=(2.0, 0.5))
    b = _small(scale=None, scale_prior="invgamma:2,0.5")
    np.testing.assert_array_equal(a.draws["tau"], b.draws["tau"])
    np.testing.assert_array_equal(_small(scale=Laplace(0.7)).draws["w"], _small(scale=0.7).draws["w"])


def test_progress_is_reported():
    calls = []
    _small(draws=150, warmup=100, progress=lambda i, total: calls.append((i, total)))
    assert calls == [(100, 250), (200, 250), (250, 250)]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scale": None}, "neither"),
        ({"scale_prior": (1.0, 1.0)}, "both"),
        ({"sigma": "halfnormal:1"}, "NUTS"),
        ({"sigma": "halfcauchy:2"}, "not conditionally conjugate"),
        ({"scale": None, "scale_prior": "halfcauchy:1"}, "NUTS"),
        ({"scale": 0.0}, "scale"),
        ({"scale": -1.0}, "scale"),
        ({"scale": float("nan")}, "scale"),
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": -2.0}, "sigma"),
        ({"sigma": "invgamma:0,1"}, "invgamma"),
        ({"scale": None, "scale_prior": (0.0, 1.0)}, "shape r"),
        ({"scale": None, "scale_prior": (1.0, -1.0)}, "rate"),
        ({"scale": None, "scale_prior": 3.0}, r"\(r, δ\)"),
        ({"bias": "normal:0"}, "bias"),
        ({"bias": "sideways"}, "bias"),
        ({"chains": 0}, "chains"),
        ({"draws": 0}, "draws"),
        ({"warmup": -1}, "warmup"),
        ({"thin": 0}, "thin"),
        ({"chains": 2.5}, "chains"),
        ({"seed": "abc"}, "seed"),
        ({"progress": 3}, "progress"),
    ],
)
def test_bad_inputs_are_refused(kwargs, match):
    with pytest.raises(SpecError, match=match):
        _small(**kwargs)


def test_bad_data_is_refused():
    with pytest.raises(DataError, match="name"):
        _small(feature_names=["a", "b"])
    with pytest.raises(SpecError, match="names"):
        gibbs_lasso(SufficientStats.from_arrays(np.eye(3), np.ones(3)), feature_names=["a"], scale=1.0, sigma=1.0)
    with pytest.raises(DataError):
        gibbs_lasso(np.ones((5, 2)), np.ones(4), scale=1.0, sigma=1.0)
    with pytest.raises(DataError):
        gibbs_lasso(np.array([[1.0], [np.nan], [2.0]]), np.ones(3), scale=1.0, sigma=1.0)
    with pytest.raises(SpecError, match="y"):
        gibbs_lasso(np.ones((5, 2)), scale=1.0, sigma=1.0)
