"""Priors implied by elastic net, the unsquared norm, group lasso, the log penalty and custom φ: normalisation,
samplers, MAP ≡ penalised minimiser, Pyro log densities and NUTS, and the errors for penalties with no prior.

Oracles: quadrature written here (not the classes' closed forms), SciPy's distributions (gennorm, t, laplace,
beta), scikit-learn's ElasticNet, and optimality (KKT) conditions checked directly.
"""

import math
import warnings

import numpy as np
import pyro
import pytest
import torch
from oracles import random_problem, rel_err
from scipy import integrate, optimize, special, stats

from bayesreg import ImproperPriorError, LinearRegressionModel, NoPriorError, SpecError
from bayesreg.derived_priors import (
    ElasticNetPrior,
    GroupLassoPrior,
    L2NormPrior,
    SeparablePrior,
    StudentTPrior,
    general_canonical_lam,
)
from bayesreg.priors import prior_from_penalty
from bayesreg.solvers.derived_map import NonConvexWarning, derived_map

ALPHA = 1e-3  # KS tests: reject at this level; every sampler is seeded, so a pass is a pass
N_DRAWS = 20_000


def _sphere_area(d: int) -> float:
    return 2.0 * math.pi ** (d / 2) / math.gamma(d / 2)


def _radial_cdf_table(prior_neg_log_density_at_radius, d: int, r_max: float, m: int = 400):
    """CDF of ‖w‖ from the density itself: ∫₀^r S_{d−1} ρ^{d−1} p(ρ e₁) dρ, on a grid (quad per interval)."""
    grid = np.linspace(0.0, r_max, m + 1)
    area = _sphere_area(d)
    f = lambda r: area * r ** (d - 1) * math.exp(-prior_neg_log_density_at_radius(r))  # noqa: E731
    pieces = [integrate.quad(f, a, b, epsabs=1e-14)[0] for a, b in zip(grid[:-1], grid[1:], strict=True)]
    return grid, np.concatenate([[0.0], np.cumsum(pieces)])


# --------------------------------------------------------------------------------------------- densities

@pytest.mark.parametrize("scale,tau", [(0.7, 1.3), (1e-3, 10.0), (100.0, 0.01), (1.0, 1.0), (1e-6, 1e3)])
def test_elastic_net_density_integrates_to_one(scale, tau):
    p = ElasticNetPrior(scale, tau)
    width = 60 * min(scale, tau)
    total = integrate.quad(lambda t: math.exp(p.logpdf(t)), -width, width, points=[0.0], limit=400,
                           epsabs=0, epsrel=1e-12)[0]
    assert total == pytest.approx(1.0, abs=1e-10)
    # the variance against quadrature, and the limits: 2s² (Laplace) and τ² (Gaussian)
    var = integrate.quad(lambda t: t * t * math.exp(p.logpdf(t)), -width, width, points=[0.0], limit=400)[0]
    assert p.variance == pytest.approx(var, rel=1e-8)


def test_elastic_net_limits_and_penalty():
    w = np.array([0.3, -1.2, 0.0, 2.5])
    near_gauss, near_laplace = ElasticNetPrior(1e9, 0.8), ElasticNetPrior(0.4, 1e9)
    assert -near_gauss.neg_log_density(w) == pytest.approx(stats.norm(0, 0.8).logpdf(w).sum(), rel=1e-7)
    assert -near_laplace.neg_log_density(w) == pytest.approx(stats.laplace(0, 0.4).logpdf(w).sum(), rel=1e-7)
    # p(w) ∝ exp(−pen(w)/σ²) with the canonical elastic-net penalty
    sigma, l1, l2 = 0.5, 2.0, 3.0
    p = ElasticNetPrior.from_canonical_lam(l1, l2, sigma)
    a, b = np.array([0.1, -0.2]), np.array([-0.3, 0.05])
    pen = lambda v: l1 * np.abs(v).sum() + 0.5 * l2 * v @ v  # noqa: E731
    assert p.neg_log_density(b) - p.neg_log_density(a) == pytest.approx((pen(b) - pen(a)) / sigma**2, rel=1e-12)


@pytest.mark.parametrize("d", [1, 2, 3, 5, 20])
def test_radial_density_integrates_to_one(d):
    p = L2NormPrior(0.3, d)
    e1 = np.eye(d)[0]
    f = lambda r: _sphere_area(d) * r ** (d - 1) * math.exp(-p.neg_log_density(r * e1))  # noqa: E731
    assert integrate.quad(f, 0.0, np.inf, epsrel=1e-12, limit=200)[0] == pytest.approx(1.0, abs=1e-10)


def test_radial_density_in_two_dimensions_by_cartesian_quadrature():
    p = L2NormPrior(0.5, 2)
    box = 40 * p.scale  # one quadrant (the kink is at its corner), times 4 by symmetry
    total = 4 * integrate.dblquad(lambda y, x: math.exp(-p.neg_log_density([x, y])), 0, box, 0, box,
                                  epsabs=1e-10, epsrel=1e-9)[0]
    assert total == pytest.approx(1.0, abs=1e-7)


def test_radial_prior_in_one_dimension_is_laplace():
    p = L2NormPrior(0.7, 1)
    for t in (-2.0, 0.0, 0.4):
        assert -p.neg_log_density([t]) == pytest.approx(stats.laplace(0, 0.7).logpdf(t), rel=1e-13)


def test_radial_prior_brief_formula():
    """p(w) = c'^d Γ(d/2) / (2π^{d/2} Γ(d)) exp(−c'‖w‖), written out independently."""
    d, c = 4, 3.0
    p = L2NormPrior(1.0 / c, d)
    w = np.array([0.1, -0.3, 0.2, 0.05])
    log_p = (d * math.log(c) + math.lgamma(d / 2) - math.log(2) - d / 2 * math.log(math.pi) - math.lgamma(d)
             - c * np.linalg.norm(w))
    assert -p.neg_log_density(w) == pytest.approx(log_p, rel=1e-13)
    with pytest.raises(SpecError, match="R\\^4"):
        p.neg_log_density(np.zeros(3))


def test_group_lasso_density():
    p = GroupLassoPrior(0.6, (2, 3))
    w = np.array([0.1, -0.4, 0.3, 0.0, 0.2])
    # −log p = Σ_g √p_g‖w_g‖/ℓ + Σ_g log Z_g, Z_g the radial normaliser at scale ℓ/√p_g (integrated here)
    expected = 0.0
    for idx, size in ((slice(0, 2), 2), (slice(2, 5), 3)):
        rate = math.sqrt(size) / 0.6
        z = integrate.quad(lambda r, s=size, k=rate: _sphere_area(s) * r ** (s - 1) * math.exp(-k * r), 0, np.inf,
                           epsrel=1e-13)[0]
        expected += rate * np.linalg.norm(w[idx]) + math.log(z)
    assert p.neg_log_density(w) == pytest.approx(expected, rel=1e-11)
    # groups of size 1 are Laplace coordinates
    single = GroupLassoPrior(0.6, (1, 1))
    assert -single.neg_log_density([0.3, -1.0]) == pytest.approx(stats.laplace(0, 0.6).logpdf([0.3, -1.0]).sum())


def test_student_t_density_and_log_penalty():
    p = StudentTPrior(3.0, 0.5)
    w = np.array([0.3, -1.2, 4.0])
    assert -p.neg_log_density(w) == pytest.approx(stats.t(3.0, scale=0.5).logpdf(w).sum(), rel=1e-13)
    total = integrate.quad(lambda t: math.exp(-p.neg_log_density([t])), -np.inf, np.inf, epsrel=1e-12)[0]
    assert total == pytest.approx(1.0, abs=1e-10)
    # the log penalty λ Σ log(1 + w²/c²) at λ = σ²(ν+1)/2, c = s√ν is σ² × (−log p) + const
    sigma = 0.7
    back = prior_from_penalty("log", p.canonical_lam(sigma), sigma=sigma, width=p.width)
    assert back.df == pytest.approx(3.0) and back.scale == pytest.approx(0.5)


def test_custom_phi_matches_closed_forms():
    """φ = |t|^1.5 with k is scipy's gennorm(1.5, k^(−2/3)); φ = log(1 + t²) with k is Student-t(2k − 1)."""
    p = SeparablePrior(lambda t: np.abs(t) ** 1.5, 2.0)
    ref = stats.gennorm(1.5, scale=2.0 ** (-1 / 1.5))
    assert p.log_normaliser == pytest.approx(-ref.logpdf(0.0), rel=1e-12)
    assert p.logpdf(np.array([0.4, -1.1])) == pytest.approx(ref.logpdf([0.4, -1.1]), rel=1e-12)
    q = SeparablePrior(lambda t: np.log1p(t * t), 1.5)
    assert q.logpdf(np.array([0.0, 3.0])) == pytest.approx(stats.t(2.0, scale=1 / math.sqrt(2)).logpdf([0, 3.0]),
                                                           rel=1e-10)


@pytest.mark.parametrize("phi,rate,center", [
    (lambda t: np.abs(t) ** 1.5, 2.0, 0.0),
    (lambda t: np.abs(t) + (t - 3.0) ** 2, 0.5, 2.5),        # asymmetric, with a kink
    (lambda t: (t - 100.0) ** 2, 1e4, 100.0),               # narrow and far from 0
    (lambda t: np.cosh(t), 1.0, 0.0),                       # φ overflows in the tails
    (lambda t: np.sqrt(np.abs(t)), 0.05, 0.0),              # heavy, slowly decaying tail
])
def test_custom_density_integrates_to_one(phi, rate, center):
    p = SeparablePrior(phi, rate)
    with np.errstate(over="ignore"):
        f = lambda t: math.exp(p.logpdf(np.array([t]))[0])  # noqa: E731
        total = sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-10, limit=400)[0]
                    for a, b in ((-np.inf, center), (center, np.inf)))
    assert total == pytest.approx(1.0, abs=1e-8)


def test_custom_scalar_only_phi():
    """A φ that only takes floats (math.*) is called element by element."""
    p = SeparablePrior(lambda t: math.log(math.cosh(t)), 2.0)
    total = integrate.quad(lambda t: math.exp(p.logpdf(t)), -np.inf, np.inf)[0]
    assert total == pytest.approx(1.0, abs=1e-9)


# --------------------------------------------------------------------------------------------- samplers

def test_elastic_net_sampler():
    p = ElasticNetPrior(0.5, 0.8)
    x = p.sample(np.random.default_rng(1), N_DRAWS)
    assert stats.kstest(x, p.cdf).pvalue > ALPHA
    # the closed-form CDF against quadrature of the density
    for t in (-1.0, -0.1, 0.0, 0.3, 2.0):
        assert p.cdf(t) == pytest.approx(integrate.quad(lambda u: math.exp(p.logpdf(u)), -np.inf, t)[0], abs=1e-10)
    # the test has power: a 10% wider prior is rejected
    assert stats.kstest(x, ElasticNetPrior(0.55, 0.88).cdf).pvalue < ALPHA
    # extreme α = τ/s: still the right spread
    big = ElasticNetPrior(1e-3, 5.0)
    assert stats.kstest(big.sample(np.random.default_rng(2), N_DRAWS), big.cdf).pvalue > ALPHA


@pytest.mark.parametrize("d", [2, 4])
def test_radial_sampler(d):
    p = L2NormPrior(0.4, d)
    w = p.sample(np.random.default_rng(3), N_DRAWS)
    assert w.shape == (N_DRAWS, d)
    r = np.linalg.norm(w, axis=1)
    grid, cdf = _radial_cdf_table(lambda rr: p.neg_log_density(rr * np.eye(d)[0]), d, 40 * 0.4 * d)
    assert cdf[-1] == pytest.approx(1.0, abs=1e-9)
    assert stats.kstest(r, lambda t: np.interp(t, grid, cdf)).pvalue > ALPHA
    # direction uniform: (u₁ + 1)/2 ~ Beta((d−1)/2, (d−1)/2)
    u1 = w[:, 0] / r
    assert stats.kstest((u1 + 1) / 2, stats.beta((d - 1) / 2, (d - 1) / 2).cdf).pvalue > ALPHA
    # power: the radius of a 10% wider prior is rejected
    wider = L2NormPrior(0.44, d).sample(np.random.default_rng(4), N_DRAWS)
    assert stats.kstest(np.linalg.norm(wider, axis=1), lambda t: np.interp(t, grid, cdf)).pvalue < ALPHA


def test_radial_marginal_in_two_dimensions():
    """One coordinate's marginal, ∫p(x, y)dy by quadrature, against the sampler's first coordinate."""
    p = L2NormPrior(0.5, 2)
    x = p.sample(np.random.default_rng(5), N_DRAWS)[:, 0]
    marg = lambda t: 2 * integrate.quad(lambda y: math.exp(-p.neg_log_density([t, y])), 0, np.inf)[0]  # noqa: E731
    grid = np.linspace(-12.0, 12.0, 481)
    dens = np.array([marg(t) for t in grid])
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    assert stats.kstest(x, lambda t: np.interp(t, grid, cdf)).pvalue > ALPHA


def test_group_lasso_sampler():
    p = GroupLassoPrior(0.5, (1, 3))
    w = p.sample(np.random.default_rng(6), N_DRAWS)
    assert w.shape == (N_DRAWS, 4)
    assert stats.kstest(w[:, 0], stats.laplace(0, 0.5).cdf).pvalue > ALPHA  # a group of one: Laplace(ℓ)
    r = np.linalg.norm(w[:, 1:], axis=1)
    grid, cdf = _radial_cdf_table(lambda rr: math.sqrt(3) * rr / 0.5 + p.factors[1].log_normaliser, 3, 20.0)
    assert stats.kstest(r, lambda t: np.interp(t, grid, cdf)).pvalue > ALPHA
    assert abs(np.corrcoef(np.abs(w[:, 0]), r)[0, 1]) < 4 / math.sqrt(N_DRAWS)  # groups independent


def test_student_t_sampler():
    p = StudentTPrior(2.5, 0.3)
    assert stats.kstest(p.sample(np.random.default_rng(7), N_DRAWS), stats.t(2.5, scale=0.3).cdf).pvalue > ALPHA


@pytest.mark.parametrize("phi,rate,ref", [
    (lambda t: np.abs(t) ** 1.5, 2.0, stats.gennorm(1.5, scale=2.0 ** (-1 / 1.5))),
    (lambda t: np.log1p(t * t), 1.5, stats.t(2.0, scale=1 / math.sqrt(2))),     # heavy tails
    (lambda t: (t - 100.0) ** 2, 1e4, stats.norm(100.0, math.sqrt(0.5e-4))),   # narrow, off-centre
])
def test_custom_sampler(phi, rate, ref):
    p = SeparablePrior(phi, rate)
    x = p.sample(np.random.default_rng(8), N_DRAWS)
    assert stats.kstest(x, ref.cdf).pvalue > ALPHA
    assert float(p.cdf(ref.ppf(0.3))) == pytest.approx(0.3, abs=1e-8)


# --------------------------------------------------------------------------------------------- no prior

@pytest.mark.parametrize("penalty,options", [
    ("elastic-net", {"l1_ratio": 0.5}), ("l2-norm", {"d": 3}), ("group-lasso", {"groups": (2, 2)}),
    (lambda t: t * t, {}),
])
def test_negative_and_zero_strength(penalty, options):
    with pytest.raises(NoPriorError, match="implies no prior"):
        prior_from_penalty(penalty, -0.5, sigma=1.0, **options)
    with pytest.raises(ImproperPriorError, match="improper flat"):
        prior_from_penalty(penalty, 0.0, sigma=1.0, **options)


@pytest.mark.parametrize("phi,rate,match", [
    (lambda t: np.log1p(np.abs(t)), 1.0, "decays only like"),     # ∫(1 + |t|)^(−1) diverges
    (lambda t: np.log1p(np.abs(t)), 0.3, "decays only like"),
    (lambda t: 1.0 - np.exp(-t * t), 3.0, "does not decay"),       # bounded φ
    (lambda t: -np.abs(t), 1.0, "does not decay"),                 # decreasing φ
    (lambda t: np.log1p(np.log1p(np.abs(t))), 50.0, "decays only like"),
])
def test_custom_penalty_that_grows_too_slowly(phi, rate, match):
    with pytest.raises(ImproperPriorError, match=match):
        SeparablePrior(phi, rate)


def test_log_penalty_too_weak_has_no_prior():
    with pytest.raises(ImproperPriorError, match="too slowly to integrate"):
        prior_from_penalty("log", 0.5, sigma=1.0, width=1.0)  # λ/σ² = ½: (1 + w²)^(−½)
    assert prior_from_penalty("log", 0.51, sigma=1.0, width=1.0).df == pytest.approx(0.02)


@pytest.mark.parametrize("penalty,options,match", [
    ("l2-norm", {}, "needs d"), ("group-lasso", {}, "needs groups"), ("elastic-net", {}, "needs l1_ratio"),
    ("elastic-net", {"l1_ratio": 1.0}, "strictly between"), ("log", {}, "needs width"),
    ("l2-norm", {"d": 3, "l1_ratio": 0.5}, "takes no l1_ratio"), ("l2", {"d": 3}, "takes no options"),
    ("l2-norm", {"d": 0}, "whole number"), ("group-lasso", {"groups": "3,x"}, "sizes like"),
    ("l4", {}, "unknown penalty"),
])
def test_bad_options(penalty, options, match):
    with pytest.raises(SpecError, match=match):
        prior_from_penalty(penalty, 1.0, sigma=1.0, **options)


# --------------------------------------------------------------------------------------------- conventions

def test_elastic_net_from_sklearn_convention():
    n, alpha, rho, sigma = 100, 0.1, 0.3, 2.0
    p = prior_from_penalty("elastic-net", alpha, sigma, n, "sklearn_elasticnet", l1_ratio=rho)
    lam = p.canonical_lam(sigma)
    # ElasticNet: (1/2n)Σr² + αρ‖w‖₁ + (α(1−ρ)/2)‖w‖², times n
    assert lam["l1"] == pytest.approx(n * alpha * rho) and lam["l2"] == pytest.approx(n * alpha * (1 - rho))
    assert p.scale == pytest.approx(sigma**2 / (n * alpha * rho)) and p.tau == pytest.approx(
        sigma / math.sqrt(n * alpha * (1 - rho)))


def test_unsquared_norm_in_torch_convention_is_its_own_objective():
    """loss = mean((y − Xw − b)²) + λ‖w‖ minimised directly equals the MAP under the prior it is said to imply."""
    X, y = random_problem(60, 4, seed=11)
    n, lam = len(y), 0.3
    assert general_canonical_lam(lam, n, "torch_sgd_mse") == pytest.approx(lam * n / 2)
    prior = prior_from_penalty("l2-norm", lam, sigma=1.7, n=n, convention="torch_sgd_mse", d=4)
    res = derived_map(X, y, prior, sigma=1.7)
    torch_loss = lambda v: np.mean((y - X @ v[:4] - v[4]) ** 2) + lam * np.linalg.norm(v[:4])  # noqa: E731
    direct = optimize.minimize(torch_loss, np.append(res.w * 0.8, 0.0), method="BFGS", options={"gtol": 1e-10})
    assert rel_err(res.w, direct.x[:4]) < 1e-5 and res.b == pytest.approx(direct.x[4], rel=1e-5)


# --------------------------------------------------------------------------------------------- MAP

def test_elastic_net_map_is_sklearn_elastic_net():
    from sklearn.linear_model import ElasticNet

    X, y = random_problem(80, 6, seed=2, sparse=True)
    n, alpha, rho, sigma = len(y), 0.05, 0.6, 0.5
    prior = prior_from_penalty("elastic-net", alpha, sigma, n, "sklearn_elasticnet", l1_ratio=rho)
    res = derived_map(X, y, prior, sigma=sigma)
    ref = ElasticNet(alpha=alpha, l1_ratio=rho, tol=1e-13, max_iter=1_000_000).fit(X, y)
    assert rel_err(res.w, ref.coef_) < 1e-7 and res.b == pytest.approx(ref.intercept_, rel=1e-8)
    assert np.array_equal(res.w == 0, ref.coef_ == 0)


def _kkt_groups(X, y, w, lam, groups, weighted=True):
    """Largest violation of 0 ∈ Xcᵀ(Xc w − yc) + c_g ∂‖w_g‖ (c_g = λ√p_g, or λ unweighted), relative to ‖Xcᵀyc‖."""
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    grad = Xc.T @ (Xc @ w - yc)
    worst, start = 0.0, 0
    for size in groups:
        g, wg = grad[start:start + size], w[start:start + size]
        c = lam * math.sqrt(size) if weighted else lam
        norm = np.linalg.norm(wg)
        worst = max(worst, np.linalg.norm(g + c * wg / norm) if norm > 0 else max(np.linalg.norm(g) - c, 0.0))
        start += size
    return worst / np.linalg.norm(Xc.T @ yc)


@pytest.mark.parametrize("groups,lam", [((5,), 20.0), ((5,), 1e6), ((2, 1, 2), 5.0), ((2, 1, 2), 10.0),
                                        ((2, 1, 2), 60.0)])
def test_group_and_norm_map_satisfy_kkt(groups, lam):
    X, y = random_problem(70, 5, seed=4)
    sigma = 0.8
    prior = (prior_from_penalty("l2-norm", lam, sigma, d=5) if len(groups) == 1 else
             prior_from_penalty("group-lasso", lam, sigma, groups=groups))
    res = derived_map(X, y, prior, sigma=sigma)
    assert res.converged
    assert _kkt_groups(X, y, res.w, lam, groups, weighted=len(groups) > 1) < 1e-8
    if lam == 1e6:
        assert np.all(res.w == 0)  # the kink at 0: every weight exactly 0
    # the penalised objective itself is no lower anywhere a generic optimiser can find (from two starts)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    objective = lambda v: 0.5 * np.sum((yc - Xc @ v) ** 2) + sigma**2 * prior.penalty(v)  # noqa: E731
    for start in (np.zeros(5), np.ones(5)):
        other = optimize.minimize(objective, start, method="Powell", options={"xtol": 1e-10, "ftol": 1e-14})
        assert objective(res.w) <= other.fun + 1e-9 * abs(other.fun)


def test_group_lasso_zeroes_whole_groups():
    X, y = random_problem(70, 5, seed=4)
    res = derived_map(X, y, prior_from_penalty("group-lasso", 10.0, 0.8, groups=(2, 1, 2)), sigma=0.8)
    blocks = [res.w[:2], res.w[2:3], res.w[3:]]
    assert any(np.all(b == 0) for b in blocks) and any(np.all(b != 0) for b in blocks)


def test_custom_convex_map():
    """φ = |t|^1.5 (convex): coordinate descent against Newton's method polished from its answer."""
    X, y = random_problem(60, 4, seed=6)
    sigma, k = 1.0, 3.0
    prior = SeparablePrior(lambda t: np.abs(t) ** 1.5, k, convex=True)
    res = derived_map(X, y, prior, sigma=sigma)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    grad = lambda w: Xc.T @ (Xc @ w - yc) + k * 1.5 * np.sign(w) * np.abs(w) ** 0.5  # noqa: E731
    hess = lambda w: Xc.T @ Xc + np.diag(k * 0.75 / np.sqrt(np.abs(w)))  # noqa: E731
    w = res.w.copy()
    for _ in range(10):
        w = w - np.linalg.solve(hess(w), grad(w))
    assert np.linalg.norm(grad(w)) < 1e-9 * np.linalg.norm(Xc.T @ yc)
    assert res.converged and rel_err(res.w, w) < 1e-6
    assert res.b == pytest.approx(y.mean() - X.mean(axis=0) @ res.w)


def test_non_convex_map_is_refused_or_local():
    X, y = random_problem(40, 3, seed=7)
    prior = StudentTPrior(3.0, 0.5)
    with pytest.raises(SpecError, match="not convex"):
        derived_map(X, y, prior, sigma=1.0)
    with pytest.raises(SpecError, match="not convex"):
        derived_map(X, y, SeparablePrior(lambda t: t * t, 1.0), sigma=1.0)  # convexity not declared
    with pytest.warns(NonConvexWarning):
        res = derived_map(X, y, prior, sigma=1.0, local=True)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    nu, s = 3.0, 0.5
    grad = Xc.T @ (Xc @ res.w - yc) + (nu + 1) * res.w / (nu * s * s + res.w**2)  # σ² = 1
    assert np.linalg.norm(grad) < 1e-6 * np.linalg.norm(Xc.T @ yc)


def test_radial_map_needs_matching_dimension():
    X, y = random_problem(20, 3, seed=1)
    with pytest.raises(SpecError, match="R\\^4"):
        derived_map(X, y, L2NormPrior(1.0, 4), sigma=1.0)


# --------------------------------------------------------------------------------------------- Pyro

PRIORS = [ElasticNetPrior(0.4, 0.9), L2NormPrior(0.6, 3), GroupLassoPrior(0.5, (1, 2)), StudentTPrior(4.0, 0.3),
          SeparablePrior(lambda t: abs(t) ** 1.5, 2.0)]


@pytest.mark.parametrize("prior", PRIORS, ids=lambda p: p.name)
def test_pyro_log_prob_is_the_density(prior):
    w = np.array([0.3, -0.7, 0.05])
    dist = prior.pyro_dist(3)
    assert dist.event_shape == (3,) and dist.batch_shape == ()
    assert float(dist.log_prob(torch.tensor(w))) == pytest.approx(-prior.neg_log_density(w), rel=1e-12)
    batch = torch.tensor(np.stack([w, 2 * w]))
    assert dist.log_prob(batch).shape == (2,)
    pyro.set_rng_seed(0)
    draws = dist.sample((5,))
    assert draws.shape == (5, 3) and draws.dtype == torch.float64
    pyro.set_rng_seed(0)
    assert torch.equal(draws, dist.sample((5,)))  # reproducible under pyro.set_rng_seed


def test_pyro_dist_errors():
    with pytest.raises(SpecError, match="R\\^3"):
        L2NormPrior(0.6, 3).pyro_dist(4)
    with pytest.raises(SpecError, match="torch_phi"):
        SeparablePrior(lambda t: np.abs(t) ** 1.5, 2.0).pyro_dist(2)  # numpy only
    ok = SeparablePrior(lambda t: np.abs(t) ** 1.5, 2.0, torch_phi=lambda t: t.abs() ** 1.5)
    assert ok.pyro_dist(2).log_prob(torch.zeros(2, dtype=torch.float64)).item() == pytest.approx(
        -2 * ok.log_normaliser)


def test_model_log_joint_with_a_derived_prior():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(9, 3)), rng.normal(size=9)
    prior = GroupLassoPrior(0.5, (1, 2))
    model = LinearRegressionModel(prior, sigma=0.8, bias="normal:2")
    w, b = np.array([0.3, -1.1, 0.05]), 0.7
    cond = pyro.poutine.condition(model, data={"w": torch.tensor(w), "b": torch.tensor(b, dtype=torch.float64)})
    tr = pyro.poutine.trace(cond).get_trace(torch.tensor(X), torch.tensor(y))
    expected = (stats.norm(X @ w + b, 0.8).logpdf(y).sum() - prior.neg_log_density(w) + stats.norm(0, 2).logpdf(b))
    assert float(tr.log_prob_sum()) == pytest.approx(expected, rel=1e-12)
    draws = pyro.infer.Predictive(model, num_samples=20, parallel=True)(torch.tensor(X))
    assert draws["w"].shape == (20, 1, 3) and draws["y"].shape == (20, 9)


def _nuts(model, X, y, init, draws=1500, warmup=300):
    from pyro.infer import MCMC, NUTS
    from pyro.infer.autoguide import init_to_value

    pyro.set_rng_seed(0)
    kernel = NUTS(model, init_strategy=init_to_value(values={"w": torch.as_tensor(init, dtype=torch.float64)}))
    mcmc = MCMC(kernel, num_samples=draws, warmup_steps=warmup, disable_progbar=True)
    mcmc.run(torch.tensor(X), torch.tensor(y))
    return mcmc.get_samples()["w"].numpy()


def test_nuts_elastic_net_against_quadrature():
    """1-D posterior under the elastic-net prior: Pyro NUTS through log_prob against the quadrature answer."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((8, 1))
    y = 0.5 * X[:, 0] + rng.standard_normal(8)
    prior = ElasticNetPrior(0.5, 0.7)
    w = _nuts(LinearRegressionModel(prior, sigma=1.0, bias="none"), X, y, np.zeros(1))[:, 0]
    post = lambda t: math.exp(-0.5 * np.sum((y - X[:, 0] * t) ** 2) + prior.logpdf(t))  # noqa: E731
    z, m1, m2 = (integrate.quad(lambda t, k=k: t**k * post(t), -20, 20, points=[0.0], limit=200)[0]
                 for k in range(3))
    mean, sd = m1 / z, math.sqrt(m2 / z - (m1 / z) ** 2)
    assert abs(w.mean() - mean) < 5 * sd / math.sqrt(w.size / 3)
    assert w.std() == pytest.approx(sd, rel=0.12)


def test_nuts_radial_prior_against_exact_prior_draws():
    """2-D posterior under the unsquared-norm prior: NUTS against self-normalised importance sampling from the
    prior's exact sampler (the likelihood as weight)."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((4, 2))
    y = X @ np.array([0.8, -0.4]) + rng.standard_normal(4)
    prior = L2NormPrior(0.6, 2)
    w = _nuts(LinearRegressionModel(prior, sigma=1.0, bias="none"), X, y, np.zeros(2))
    draws = prior.sample(np.random.default_rng(5), 400_000)
    loglik = -0.5 * np.sum((y - draws @ X.T) ** 2, axis=1)
    weights = np.exp(loglik - loglik.max())
    weights /= weights.sum()
    assert 1.0 / np.sum(weights**2) > 20_000  # enough effective draws for a sharp reference
    mean = weights @ draws
    sd = np.sqrt(weights @ (draws - mean) ** 2)
    assert np.all(np.abs(w.mean(axis=0) - mean) < 5 * sd / math.sqrt(w.shape[0] / 3))
    assert np.allclose(w.std(axis=0), sd, rtol=0.12)


def test_normaliser_uses_stable_special_functions():
    """Z = τ√(2π)·erfcx(τ/(s√2)) far out in both limits, where exp·erfc would under/overflow."""
    p = ElasticNetPrior(1e-8, 1e3)  # α = 1e11: the Laplace limit, Z → 2s
    assert math.exp(p.log_normaliser) == pytest.approx(2e-8, rel=1e-9)
    q = ElasticNetPrior(1e12, 0.1)  # the Gaussian limit
    assert q.log_normaliser == pytest.approx(math.log(0.1 * math.sqrt(2 * math.pi)), rel=1e-9)
    assert math.isfinite(float(special.erfcx(1e11)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(np.isfinite(p.sample(np.random.default_rng(0), 100)))
