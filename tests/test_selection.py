"""Choosing λ (bayesreg.selection) against oracles nobody here wrote.

* empirical Bayes against scikit-learn's BayesianRidge (type-II ML with its Gamma hyperpriors at 0) and against
  a generic optimiser of SciPy's multivariate normal log density;
* K-fold CV against GridSearchCV(Ridge), the validation curve against Ridge;
* the σ-integrated (NIG) evidence against quadrature over σ² of the σ-known evidence;
* the hyperprior's mode against the maximiser of the same marginal;
* the profiled σ̂(λ) against Fisher's identity for σ at fixed λ, with moments from the full posterior.
"""

import math

import numpy as np
import pytest
from scipy import integrate, linalg, optimize, stats
from sklearn.linear_model import BayesianRidge, Ridge
from sklearn.model_selection import GridSearchCV, KFold

from bayesreg import selection as sel
from bayesreg.data import from_arrays, load_d2l, load_diabetes
from bayesreg.errors import DataError, SpecError
from bayesreg.infer.conjugate import gaussian_posterior
from bayesreg.solvers import PenalizedLeastSquares
from bayesreg.solvers.closed_form import ridge
from bayesreg.suffstats import SufficientStats


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes()


def bayesian_ridge(X, y, fit_intercept):
    est = BayesianRidge(alpha_1=0, alpha_2=0, lambda_1=0, lambda_2=0, tol=1e-12, max_iter=100_000,
                        fit_intercept=fit_intercept).fit(X, y)
    return est.lambda_ / est.alpha_, est.alpha_**-0.5, est.lambda_**-0.5


def contrasts(X, y):
    """Qᵀ X, Qᵀ y with Q an orthonormal basis of the complement of the ones vector."""
    Q = linalg.null_space(np.ones((1, len(y))))
    return Q.T @ X, Q.T @ y


def mvn_log_evidence(X, y, tau, sigma):
    """log N(y | 0, σ²I + τ²XXᵀ) by SciPy (no bias)."""
    cov = sigma**2 * np.eye(len(y)) + tau**2 * X @ X.T
    return stats.multivariate_normal(np.zeros(len(y)), cov).logpdf(y)


def small_problem(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + rng.normal(0, 1, size=d)
    y = X @ rng.normal(0, 0.7, size=d) + 2.0 + rng.normal(0, 0.5, size=n)
    return X, y


# ------------------------------------------------------------------------------------------ empirical Bayes

def test_evidence_max_is_bayesian_ridge_on_centred_data(diabetes):
    lam_br, sigma_br, tau_br = bayesian_ridge(diabetes.X, diabetes.y, fit_intercept=True)
    centred = from_arrays(diabetes.X - diabetes.X.mean(0), diabetes.y - diabetes.y.mean())
    best = sel.maximise_evidence(centred, bias="none")
    assert not best.at_boundary and not best.sigma_known
    # both solve the same fixed-point equation to round-off (measured: 3e-15)
    assert best.lam == pytest.approx(lam_br, rel=1e-8)
    assert best.sigma == pytest.approx(sigma_br, rel=1e-8) and best.tau == pytest.approx(tau_br, rel=1e-8)


def test_flat_bias_is_bayesian_ridge_on_the_contrasts(diabetes):
    Xq, yq = contrasts(diabetes.X, diabetes.y)
    lam_q, sigma_q, _ = bayesian_ridge(Xq, yq, fit_intercept=False)
    best = sel.maximise_evidence(diabetes)  # bias="flat"
    assert best.lam == pytest.approx(lam_q, rel=1e-8) and best.sigma == pytest.approx(sigma_q, rel=1e-8)
    # integrating out a flat bias = no-bias evidence of the n − 1 contrasts, minus ½ log n
    on_q = sel.maximise_evidence(Xq, yq, bias="none")
    assert best.log_evidence == pytest.approx(on_q.log_evidence - 0.5 * math.log(diabetes.n), abs=1e-8)


def test_flat_bias_differs_from_bayesian_ridge_by_n_minus_one(diabetes):
    """BayesianRidge counts n observations after centring, a flat bias leaves n − 1: σ̂² grows by about
    1/(n − 1 − γ), γ = Σ eᵢ/(eᵢ + λ) the effective number of weights."""
    n = diabetes.n
    lam_br, sigma_br, _ = bayesian_ridge(diabetes.X, diabetes.y, fit_intercept=True)
    best = sel.maximise_evidence(diabetes)
    Xc = diabetes.X - diabetes.X.mean(0)
    e = np.linalg.eigvalsh(Xc.T @ Xc)
    gamma = float(np.sum(e / (e + best.lam)))
    predicted = 1.0 / (n - 1 - gamma)
    assert best.sigma**2 / sigma_br**2 - 1 == pytest.approx(predicted, rel=0.05)
    assert 0.5 * predicted < best.lam / lam_br - 1 < 2 * predicted  # λ grows by about as much, τ barely moves


@pytest.mark.parametrize("bias", ["none", "flat"])
def test_evidence_max_matches_a_generic_optimiser_of_scipy_mvn(bias):
    X, y = small_problem(25, 4, seed=3)
    if bias == "flat":  # flat bias integrated out = the contrasts' evidence − ½ log n
        Xe, ye, const = *contrasts(X, y), -0.5 * math.log(len(y))
    else:
        Xe, ye, const = X, y, 0.0

    def negative(p):
        return -(mvn_log_evidence(Xe, ye, math.exp(p[0]), math.exp(p[1])) + const)

    res = optimize.minimize(negative, [0.0, 0.0], method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20_000})
    tau, sigma = np.exp(res.x)
    best = sel.maximise_evidence(X, y, bias=bias)
    assert best.lam == pytest.approx(sigma**2 / tau**2, rel=1e-6)
    assert best.sigma == pytest.approx(sigma, rel=1e-6)
    assert best.log_evidence == pytest.approx(-res.fun, abs=1e-9)


def test_sigma_known_maximiser_matches_scipy():
    X, y = small_problem(25, 4, seed=4)
    sigma = 0.5

    def negative(v):
        return -mvn_log_evidence(X, y, math.exp(v), sigma)

    res = optimize.minimize_scalar(negative, bounds=(-8, 5), method="bounded", options={"xatol": 1e-10})
    best = sel.maximise_evidence(X, y, sigma=sigma, bias="none")
    assert best.sigma_known and best.sigma == sigma
    assert best.tau == pytest.approx(math.exp(res.x), rel=1e-6)
    assert best.lam == pytest.approx(sigma**2 / math.exp(2 * res.x), rel=1e-5)


def test_profiled_curve_is_the_maximum_over_sigma_when_d_exceeds_n():
    """n < d goes through the n × n reduction: compare with SciPy's density of the full 8 × 15 problem."""
    X, y = small_problem(8, 15, seed=5)
    Xq, yq = contrasts(X, y)
    lams = np.array([0.05, 1.0, 30.0])
    curve = sel.evidence_curve(X, lams, y)
    for lam, value, s in zip(lams, curve.log_evidence, curve.sigma, strict=True):
        def negative(v, lam=lam):
            sig = math.exp(v)
            return -(mvn_log_evidence(Xq, yq, sig / math.sqrt(lam), sig) - 0.5 * math.log(len(y)))

        res = optimize.minimize_scalar(negative, bounds=(-10, 5), method="bounded", options={"xatol": 1e-10})
        assert s == pytest.approx(math.exp(res.x), rel=1e-6)
        assert value == pytest.approx(-res.fun, abs=1e-9)
    assert curve.tau == pytest.approx(curve.sigma / np.sqrt(lams))


def test_sigma_known_curve_on_d2l_is_gaussian_posterior_evidence():
    train = load_d2l(0).train
    lams = np.array([0.3, 1.0, 60.0])
    curve = sel.evidence_curve(train, lams, sigma=0.01)
    direct = [gaussian_posterior(train, prior=0.01 / math.sqrt(v), sigma=0.01).log_evidence for v in lams]
    np.testing.assert_allclose(curve.log_evidence, direct, rtol=0, atol=1e-8)
    assert np.all(curve.sigma == 0.01) and curve.sigma_known


@pytest.mark.parametrize("bias, n_eff", [("flat", lambda n: n - 1), ("none", lambda n: n)])
@pytest.mark.parametrize("n, d", [(30, 4), (8, 15)])
def test_profiled_sigma_is_the_noise_variance_fixed_point(bias, n_eff, n, d):
    """At fixed λ, Fisher's identity for ∂/∂σ of log p(y | τ = σ/√λ, σ): (n + d)σ² = E[‖r‖² + λ‖w‖² | y],
    moments from the full posterior; the closed form σ̂² = 2J/n' must satisfy it (n' = n − 1 with a flat bias)."""
    X, y = small_problem(n, d, seed=n * d)
    for lam in (0.05, 1.0, 40.0):
        s = float(sel.evidence_curve(X, [lam], y, bias=bias).sigma[0])
        post = gaussian_posterior(X, y, prior=s / math.sqrt(lam), sigma=s, bias=bias)
        Z = np.column_stack([X, np.ones(n)]) if bias == "flat" else X
        r = y - Z @ post.mean
        er2 = r @ r + np.sum((Z @ post.cov) * Z)
        ew2 = post.mean[:d] @ post.mean[:d] + np.trace(post.cov[:d, :d])
        assert (n + d) * s**2 == pytest.approx(er2 + lam * ew2, rel=1e-10)
        w = ridge(X, y, PenalizedLeastSquares(l2=lam, bias=bias))
        res = y - X @ w.w - (w.b or 0.0)
        assert s**2 == pytest.approx((res @ res + lam * w.w @ w.w) / n_eff(n), rel=1e-10)


def test_sigma_known_marginal_is_the_evidence_curve():
    """log_marginal_lambda with σ known is the σ-known evidence curve (one code path), which on d > n data is
    the full (d + 1)-parameter evidence."""
    X, y = small_problem(8, 15, seed=6)
    lams = np.array([0.1, 2.0, 50.0])
    ours = sel.log_marginal_lambda(X, lams, y, sigma=0.4)
    np.testing.assert_array_equal(ours, sel.evidence_curve(X, lams, y, sigma=0.4).log_evidence)
    full = [gaussian_posterior(X, y, prior=0.4 / math.sqrt(v), sigma=0.4).log_evidence for v in lams]
    np.testing.assert_allclose(ours, full, rtol=0, atol=1e-9)


def test_sufficient_statistics_give_the_same_evidence(diabetes):
    stats_ = SufficientStats.from_arrays(diabetes.X, diabetes.y)
    a = sel.maximise_evidence(stats_)
    b = sel.maximise_evidence(diabetes)
    assert a.lam == pytest.approx(b.lam, rel=1e-8) and a.log_evidence == pytest.approx(b.log_evidence, abs=1e-8)


def test_maximum_outside_the_grid_is_flagged(diabetes):
    lams = np.geomspace(1e-6, 1e-4, 5)  # the maximum is at λ ≈ 0.034, above this grid
    best = sel.maximise_evidence(diabetes, lams=lams)
    assert best.at_boundary and best.lam == pytest.approx(lams[-1])
    assert not sel.maximise_evidence(diabetes).at_boundary


# ---------------------------------------------------------------------------------------- validation and CV

@pytest.mark.parametrize("which", ["diabetes", "d2l"])
def test_cv_curve_is_gridsearchcv(which, diabetes):
    data = diabetes if which == "diabetes" else load_d2l(1).train
    lams = np.geomspace(1e-3, 1e3, 13)
    ours = sel.cv_curve(data, lams, folds=5, seed=7)
    gs = GridSearchCV(Ridge(), {"alpha": list(lams)}, cv=KFold(5, shuffle=True, random_state=7),
                      scoring="neg_mean_squared_error").fit(data.X, data.y)
    np.testing.assert_allclose(ours.loss, -gs.cv_results_["mean_test_score"], rtol=1e-8)
    assert ours.index == gs.best_index_ and ours.lam == lams[gs.best_index_]
    assert ours.fold_loss.shape == (5, len(lams)) and ours.method == "5-fold CV"
    for k in range(5):
        np.testing.assert_allclose(ours.fold_loss[k], -gs.cv_results_[f"split{k}_test_score"], rtol=1e-8)


def test_validation_curve_is_ridge(diabetes):
    train = from_arrays(diabetes.X[:300], diabetes.y[:300])
    valid = from_arrays(diabetes.X[300:], diabetes.y[300:])
    lams = np.geomspace(1e-3, 1e2, 9)
    curve = sel.validation_curve(train, valid, lams)
    expected = [np.mean((valid.y - Ridge(alpha=a).fit(train.X, train.y).predict(valid.X)) ** 2) for a in lams]
    np.testing.assert_allclose(curve.loss, expected, rtol=1e-9)
    assert curve.lam == lams[int(np.argmin(expected))]


def test_cv_splits_are_kfold():
    ours = sel.cv_splits(23, 4, seed=2)
    theirs = list(KFold(4, shuffle=True, random_state=2).split(np.zeros((23, 1))))
    for (a, b), (c, d) in zip(ours, theirs, strict=True):
        assert np.array_equal(a, c) and np.array_equal(b, d)


# ---------------------------------------------------------------------------------------------- hyperprior

def nig_by_quadrature(X, y, lam, a0, b0):
    """log ∫ p(y | τ = σ/√λ, σ) InvGamma(σ² | a0, b0) dσ² over t = ln σ², with SciPy's MVN (flat bias via the
    contrasts)."""
    Xq, yq = contrasts(X, y)

    def log_f(t):
        s = math.exp(0.5 * t)
        return (mvn_log_evidence(Xq, yq, s / math.sqrt(lam), s) - 0.5 * math.log(len(y))
                + stats.invgamma.logpdf(math.exp(t), a0, scale=b0) + t)

    t0 = optimize.minimize_scalar(lambda t: -log_f(t), bounds=(-12, 8), method="bounded").x
    peak = log_f(t0)
    value, _ = integrate.quad(lambda t: math.exp(log_f(t) - peak), t0 - 25, t0 + 25, points=[t0], epsabs=0,
                              epsrel=1e-11, limit=400)
    return peak + math.log(value)


@pytest.mark.parametrize("n, d", [(30, 4), (8, 15)])
def test_nig_marginal_is_quadrature_over_sigma(n, d):
    X, y = small_problem(n, d, seed=n + d)
    lams = np.array([0.1, 2.0, 50.0])
    a0, b0 = 2.0, 0.3
    ours = sel.log_marginal_lambda(X, lams, y, sigma_prior=f"invgamma:{a0},{b0}")
    expected = [nig_by_quadrature(X, y, lam, a0, b0) for lam in lams]
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-8)


def test_hyperprior_mode_is_the_marginal_maximiser(diabetes):
    post = sel.lambda_posterior(diabetes, sel.lambda_grid(diabetes, num=321, decades=4))
    sp = post.sigma_prior
    res = optimize.minimize_scalar(
        lambda v: -sel.log_marginal_lambda(diabetes, [math.exp(v)], sigma_prior=sp)[0],
        bounds=(math.log(1e-3), math.log(1.0)), method="bounded", options={"xatol": 1e-9})
    step = math.log(post.lams[1] / post.lams[0])
    assert abs(math.log(post.mode) - res.x) <= step
    # σ known: the log-uniform posterior is proportional to the evidence curve, its mode the evidence maximiser
    train = load_d2l(0).train
    post = sel.lambda_posterior(train, sel.lambda_grid(train, num=401), sigma=0.01)
    step = math.log(post.lams[1] / post.lams[0])
    assert abs(math.log(post.mode / sel.maximise_evidence(train, sigma=0.01).lam)) <= step
    assert post.sigma_prior is None and post.sigma == 0.01


def test_posterior_is_normalised_and_summaries_are_consistent(diabetes):
    """The grid density against an independent normalisation: SciPy's adaptive quadrature of the unnormalised
    posterior exp(log p(y | λ) + log p(ln λ)) over ln λ, evaluated off the grid. The trapezoid rule the code
    uses is very accurate for a smooth density that vanishes at both ends of the grid: the observed relative
    error is 5e-10 or less; the tolerance is 1e-8 (a normalisation by the wrong measure, dλ for d ln λ, is off by
    orders of magnitude)."""
    post = sel.lambda_posterior(diabetes)
    u = np.log(post.lams)

    def log_unnorm(t):
        lam = math.exp(t)
        return (sel.log_marginal_lambda(diabetes, [lam], sigma_prior=post.sigma_prior)[0]
                + sel.log_hyperprior(np.array([lam]), post.hyperprior)[0])

    k = int(np.argmax(post.density))
    peak = log_unnorm(u[k])
    z, _ = integrate.quad(lambda t: math.exp(log_unnorm(t) - peak), u[0], u[-1], points=[u[k]], epsabs=0,
                          epsrel=1e-10, limit=200)
    for j in (k, k - 10, k + 10):
        assert post.density[j] == pytest.approx(math.exp(log_unnorm(u[j]) - peak) / z, rel=1e-8)
    cdf = post.cdf
    assert cdf[0] == 0 and cdf[-1] == pytest.approx(1.0) and np.all(np.diff(cdf) >= 0)
    lo, hi = post.interval(0.94)
    assert lo < post.median < hi and lo < post.mode < hi
    assert np.interp(math.log(hi), u, cdf) - np.interp(math.log(lo), u, cdf) == pytest.approx(0.94, abs=1e-9)
    assert post.edge_mass() < 1e-6
    assert post.sigma_prior.startswith("invgamma:0.01,")


def test_halfcauchy_hyperprior_is_a_density_in_log_lambda():
    lams = np.geomspace(1e-14, 1e14, 4001)
    for s in (0.5, 3.0):
        logp = sel.log_hyperprior(lams, f"halfcauchy:{s}")
        assert integrate.trapezoid(np.exp(logp), np.log(lams)) == pytest.approx(1.0, abs=1e-5)
        # its median: τ/σ = λ^(−½) has median S, so λ has median 1/S²
        cdf = integrate.cumulative_trapezoid(np.exp(logp), np.log(lams), initial=0)
        assert np.exp(np.interp(0.5, cdf, np.log(lams))) == pytest.approx(1 / s**2, rel=1e-3)


def test_default_sigma_prior_scales_with_the_data(diabetes):
    spec = sel.default_sigma_prior(diabetes)
    a, b = (float(v) for v in spec.split(":")[1].split(","))
    assert a == 0.01 and b == pytest.approx(0.01 * np.var(diabetes.y, ddof=1), rel=1e-12)


# ------------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("lams, match", [
    ([0.0, 1.0], "positive"),
    ([-1.0, 1.0], "positive"),
    ([1.0, np.nan], "positive"),
    ([1.0, np.inf], "positive"),
    ([2.0, 1.0], "increasing"),
    ([[1.0, 2.0]], "1-D"),
    ([], "1-D"),
])
def test_bad_lambda_grid(diabetes, lams, match):
    with pytest.raises(SpecError, match=match):
        sel.evidence_curve(diabetes, lams)
    with pytest.raises(SpecError, match=match):
        sel.cv_curve(diabetes, lams)


def test_bad_options(diabetes):
    lams = [0.1, 1.0, 10.0]
    with pytest.raises(SpecError, match="bias"):
        sel.maximise_evidence(diabetes, bias="normal:1")
    with pytest.raises(SpecError, match="sigma"):
        sel.evidence_curve(diabetes, lams, sigma=-1.0)
    with pytest.raises(SpecError, match="folds"):
        sel.cv_curve(diabetes, lams, folds=1)
    with pytest.raises(DataError, match="rows"):
        sel.cv_curve(from_arrays(diabetes.X[:3], diabetes.y[:3]), lams, folds=5)
    with pytest.raises(SpecError, match="rows"):
        sel.cv_curve(SufficientStats.from_arrays(diabetes.X, diabetes.y), lams)
    with pytest.raises(SpecError, match="hyperprior"):
        sel.lambda_posterior(diabetes, hyperprior="uniform")
    with pytest.raises(SpecError, match="not both"):
        sel.log_marginal_lambda(diabetes, lams, sigma=1.0, sigma_prior="invgamma:1,1")
    with pytest.raises(SpecError, match="conjugate"):
        sel.lambda_posterior(diabetes, sigma_prior="halfnormal:10")
    with pytest.raises(SpecError, match="prob"):
        sel.lambda_posterior(diabetes).interval(1.5)
    with pytest.raises(SpecError, match="at least 3"):
        sel.maximise_evidence(diabetes, lams=[0.1, 1.0])
    with pytest.raises(DataError, match="features"):
        sel.validation_curve(diabetes, from_arrays(diabetes.X[:, :3], diabetes.y), lams)
