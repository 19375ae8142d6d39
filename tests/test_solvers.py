"""MAP solvers against scikit-learn (Ridge, Lasso, ElasticNet at converted α) and the KKT-checked oracle."""

import math
import warnings

import numpy as np
import pytest
from oracles import elastic_net_canonical, random_problem, rel_err
from sklearn.linear_model import ElasticNet, Lasso, Ridge

from bayesreg import Gaussian, Laplace, SpecError, load_d2l, load_diabetes
from bayesreg.conventions import from_canonical_lam, sklearn_elasticnet_params
from bayesreg.solvers import ConvergenceWarning, PenalizedLeastSquares
from bayesreg.solvers.closed_form import ridge
from bayesreg.solvers.proximal import coordinate_descent
from bayesreg.solvers.pyro_map import pyro_map
from bayesreg.suffstats import SufficientStats


def _problems():
    diabetes = load_diabetes()
    d2l = load_d2l(seed=0).train
    return {
        "diabetes": (diabetes.X, diabetes.y),
        "n>d": random_problem(60, 8, 1, sparse=True),
        "n<d": random_problem(15, 30, 2, sparse=True),
        "d2l": (d2l.X, d2l.y),
    }


PROBLEMS = _problems()
# canonical strengths that give each problem a lasso with some zeros and some non-zeros
L1 = {"diabetes": 442 * 0.5, "n>d": 3.0, "n<d": 3.0, "d2l": 0.003}
L2 = {"diabetes": 0.5, "n>d": 2.0, "n<d": 2.0, "d2l": 60.0}


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("method", ["primal", "dual"])
@pytest.mark.parametrize("bias", ["flat", "none"])
def test_ridge_is_sklearn_ridge(name, method, bias):
    X, y = PROBLEMS[name]
    res = ridge(X, y, PenalizedLeastSquares(l2=L2[name], bias=bias), method=method)
    sk = Ridge(alpha=from_canonical_lam("l2", L2[name], len(y), "sklearn_ridge"), fit_intercept=bias == "flat",
               solver="cholesky").fit(X, y)
    assert rel_err(res.w, sk.coef_) < 1e-6 and res.converged and res.info["form"] == method
    assert (res.b is None) if bias == "none" else res.b == pytest.approx(sk.intercept_, rel=1e-6)


def test_ridge_from_sufficient_statistics_and_auto_form():
    X, y = PROBLEMS["d2l"]
    problem = PenalizedLeastSquares(l2=60.0)
    assert ridge(X, y, problem).info["form"] == "dual"  # d > n
    from_stats = ridge(SufficientStats.from_arrays(X, y), problem=problem)
    assert from_stats.info["form"] == "primal" and rel_err(from_stats.w, ridge(X, y, problem).w) < 1e-9


def test_penalized_bias_ridge_matches_scaled_column():
    """(λ_b/2) b² ⇔ Ridge without intercept on [X, k·1] with k = √(λ₂/λ_b)."""
    X, y = PROBLEMS["n>d"]
    lam, lam_b = 2.0, 0.3
    k = math.sqrt(lam / lam_b)
    sk = Ridge(alpha=lam, fit_intercept=False, solver="cholesky").fit(np.column_stack([X, np.full(len(y), k)]), y)
    for method in ("primal", "dual"):
        res = ridge(X, y, PenalizedLeastSquares(l2=lam, bias="penalized", bias_l2=lam_b), method=method)
        assert rel_err(res.w, sk.coef_[:-1]) < 1e-9 and res.b == pytest.approx(sk.coef_[-1] * k, rel=1e-9)


@pytest.mark.parametrize("name", PROBLEMS)
def test_coordinate_descent_is_sklearn_lasso(name):
    X, y = PROBLEMS[name]
    n = len(y)
    res = coordinate_descent(X, y, PenalizedLeastSquares(l1=L1[name]))
    sk = Lasso(alpha=from_canonical_lam("l1", L1[name], n, "sklearn_lasso"), tol=1e-14, max_iter=10**6).fit(X, y)
    w_ref, b_ref = elastic_net_canonical(X, y, L1[name], 0.0, sk.coef_)  # KKT-verified
    assert np.any(w_ref == 0) and np.any(w_ref != 0)
    assert rel_err(res.w, sk.coef_) < 1e-6 and rel_err(res.w, w_ref) < 1e-9
    assert np.array_equal(res.w == 0, w_ref == 0)  # the same exact zeros
    assert res.b == pytest.approx(b_ref, rel=1e-9) and res.converged and res.info["gap"] >= 0


@pytest.mark.parametrize("name", ["diabetes", "n>d", "n<d"])
def test_coordinate_descent_is_sklearn_elasticnet(name):
    X, y = PROBLEMS[name]
    n = len(y)
    l1, l2 = L1[name], L2[name]
    alpha, rho = sklearn_elasticnet_params(from_canonical_lam("l1", l1, n, "sklearn_elasticnet"),
                                           from_canonical_lam("l2", l2, n, "sklearn_elasticnet"))
    sk = ElasticNet(alpha=alpha, l1_ratio=rho, tol=1e-14, max_iter=10**6).fit(X, y)
    res = coordinate_descent(X, y, PenalizedLeastSquares(l1=l1, l2=l2))
    assert rel_err(res.w, sk.coef_) < 1e-6 and res.b == pytest.approx(sk.intercept_, rel=1e-6)


@pytest.mark.parametrize("bias", ["none", "penalized"])
def test_coordinate_descent_bias_variants(bias):
    """No bias = Lasso(fit_intercept=False); a penalised bias = the lasso on [X, k·1] with that column
    unpenalised in L1 — checked through the KKT conditions of the full objective."""
    X, y = PROBLEMS["n>d"]
    if bias == "none":
        res = coordinate_descent(X, y, PenalizedLeastSquares(l1=3.0, bias="none"))
        sk = Lasso(alpha=3.0 / len(y), fit_intercept=False, tol=1e-14, max_iter=10**6).fit(X, y)
        assert rel_err(res.w, sk.coef_) < 1e-6 and res.b is None
        return
    lam_b = 0.7
    res = coordinate_descent(X, y, PenalizedLeastSquares(l1=3.0, bias="penalized", bias_l2=lam_b))
    r = y - X @ res.w - res.b
    assert abs(r.sum() - lam_b * res.b) < 1e-8 * np.abs(y).sum()  # ∂/∂b: −Σr + λ_b b = 0
    g = X.T @ r
    on = res.w != 0
    assert np.allclose(g[on], 3.0 * np.sign(res.w[on]), rtol=1e-8) and np.all(np.abs(g[~on]) <= 3.0 * (1 + 1e-8))


def test_coordinate_descent_warns_instead_of_hanging():
    X, y = PROBLEMS["diabetes"]
    with pytest.warns(ConvergenceWarning, match="duality gap"):
        res = coordinate_descent(X, y, PenalizedLeastSquares(l1=1.0), max_sweeps=2)
    assert not res.converged and res.iterations <= 3


CASES = [("diabetes", 54.0), ("n>d", 0.5), ("n<d", 0.5)]


@pytest.mark.parametrize("name,sigma", CASES)
@pytest.mark.parametrize("bias", ["flat", "none", "normal:5"])
@pytest.mark.parametrize("prior_kind", ["gaussian", "laplace"])
def test_pyro_map(name, sigma, bias, prior_kind):
    X, y = PROBLEMS[name]
    lam = 3.0
    prior = Gaussian(sigma / math.sqrt(lam)) if prior_kind == "gaussian" else Laplace(sigma**2 / lam)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = pyro_map(X, y, prior, sigma, bias)
    problem = PenalizedLeastSquares.from_prior(prior, sigma, bias)
    ref = ridge(X, y, problem) if prior_kind == "gaussian" else coordinate_descent(X, y, problem)
    # proximal Newton (Laplace) solves to round-off (observed ≤ 5e-14); L-BFGS (Gaussian) stops when a round
    # lowers the loss by < 1e-13 relative, which leaves w accurate to about √(1e-13 · cond) (observed ≤ 5e-8)
    tol = 1e-11 if prior_kind == "laplace" else 1e-6
    assert rel_err(res.w, ref.w) < tol and res.converged
    if bias != "none":
        assert res.b == pytest.approx(ref.b, rel=tol)
    if prior_kind == "laplace":
        assert np.array_equal(res.w == 0, ref.w == 0)


def test_solver_input_errors():
    X, y = PROBLEMS["n>d"]
    with pytest.raises(SpecError, match="l1 = 0"):
        ridge(X, y, PenalizedLeastSquares(l1=1.0))
    with pytest.raises(SpecError, match="l1 > 0"):
        coordinate_descent(X, y, PenalizedLeastSquares(l2=1.0))
    with pytest.raises(SpecError, match="not unique"):
        ridge(*PROBLEMS["d2l"], PenalizedLeastSquares(l2=0.0), method="primal")
    with pytest.raises(SpecError, match="≥ 0"):
        PenalizedLeastSquares(l1=-1.0)
    with pytest.raises(SpecError, match="penalized"):
        PenalizedLeastSquares(l2=1.0, bias="penalized")
    with pytest.raises(SpecError, match="sufficient statistics"):
        ridge(SufficientStats.from_arrays(X, y), problem=PenalizedLeastSquares(l2=1.0), method="dual")
