"""Every row of CONVENTIONS.md, checked by minimising each convention's own objective with its own tool."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracles import elastic_net_canonical, full_batch_descent, heavy_ball, random_problem, rel_err
from scipy import optimize
from sklearn.linear_model import ElasticNet, Lasso, Ridge

from bayesreg import ConventionError, Gaussian, Laplace, SpecError, gaussian_posterior
from bayesreg.conventions import (
    CONVENTIONS,
    from_canonical_lam,
    get_convention,
    sklearn_elasticnet_params,
    to_canonical_lam,
)
from bayesreg.priors import penalty_from_prior, prior_from_penalty

SIGMA, N, TAU, S = 0.7, 37, 0.3, 0.2

# The table of CONVENTIONS.md, typed in from the document: λ_c in terms of (σ, n, τ) and (σ, n, s).
TABLE_L2 = {
    "canonical": SIGMA**2 / TAU**2,
    "d2l": SIGMA**2 / (N * TAU**2),
    "sklearn_ridge": SIGMA**2 / TAU**2,
    "sklearn_elasticnet": SIGMA**2 / (N * TAU**2),
    "torch_sgd_mse": 2 * SIGMA**2 / (N * TAU**2),
    "torch_sgd_half_mse": SIGMA**2 / (N * TAU**2),
    "keras": SIGMA**2 / (N * TAU**2),
}
TABLE_L1 = {
    "canonical": SIGMA**2 / S,
    "d2l": SIGMA**2 / (N * S),
    "sklearn_lasso": SIGMA**2 / (N * S),
    "sklearn_elasticnet": SIGMA**2 / (N * S),
    "keras": 2 * SIGMA**2 / (N * S),
}


@pytest.mark.parametrize("name", CONVENTIONS)
def test_table_rows(name):
    for penalty, table, prior in (("l2", TABLE_L2, Gaussian(TAU)), ("l1", TABLE_L1, Laplace(S))):
        conv = CONVENTIONS[name]
        assert conv.supports(penalty) == (name in table)
        if name not in table:
            with pytest.raises(ConventionError, match="no L"):
                penalty_from_prior(prior, SIGMA, N, name)
            continue
        assert penalty_from_prior(prior, SIGMA, N, name).lam == pytest.approx(table[name], rel=1e-14)
        back = prior_from_penalty(penalty, table[name], SIGMA, N, name)
        assert type(back) is type(prior)
        assert list(back.params.values())[0] == pytest.approx(list(prior.params.values())[0], rel=1e-13)


def test_d2l_chapter_example():
    prior = prior_from_penalty("l2", 3, sigma=0.01, n=20, convention="d2l")
    assert prior.tau == pytest.approx(0.01 / math.sqrt(60), rel=1e-15)


def test_every_preset_writes_its_objective():
    for conv in CONVENTIONS.values():
        assert conv.name in conv.__doc__ and "Σ" in conv.__doc__
        for penalty in ("l2", "l1"):
            if conv.supports(penalty):
                assert ("‖w‖²" in conv.objective_for(penalty)) == (penalty == "l2")


# ------------------------------------------------------------------------------- round trips (property)

conventions = st.sampled_from(list(CONVENTIONS))
positive = st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False)


@given(conventions, st.sampled_from(["l2", "l1"]), positive, positive, st.integers(1, 10**7))
def test_conversion_round_trip(name, penalty, lam, sigma, n):
    if not CONVENTIONS[name].supports(penalty):
        return
    canonical = to_canonical_lam(penalty, lam, n, name)
    assert from_canonical_lam(penalty, canonical, n, name) == pytest.approx(lam, rel=1e-12)
    prior = prior_from_penalty(penalty, lam, sigma, n, name)
    assert penalty_from_prior(prior, sigma, n, name).lam == pytest.approx(lam, rel=1e-12)


@given(conventions, conventions, positive, positive, st.integers(1, 10**6))
def test_same_prior_in_any_two_conventions(a, b, tau, sigma, n):
    """Converting a→b directly equals going through the prior."""
    prior = Gaussian(tau)
    if not (CONVENTIONS[a].supports("l2") and CONVENTIONS[b].supports("l2")):
        return
    lam_a = penalty_from_prior(prior, sigma, n, a).lam
    lam_b = from_canonical_lam("l2", to_canonical_lam("l2", lam_a, n, a), n, b)
    assert lam_b == pytest.approx(penalty_from_prior(prior, sigma, n, b).lam, rel=1e-12)


# ----------------------------------------------------- each convention's own tool reaches the canonical MAP

PROBLEMS = [(60, 8, 1), (15, 30, 2)]  # n > d and n < d


@pytest.fixture(params=PROBLEMS, ids=["n>d", "n<d"])
def problem(request):
    n, d, seed = request.param
    return random_problem(n, d, seed, sparse=True)


def canonical_ridge(X, y, lam):
    """The canonical L2 MAP: the exact posterior mean at τ = σ/√λ (σ = 1)."""
    post = gaussian_posterior(X, y, prior=Gaussian(1 / math.sqrt(lam)), sigma=1.0)
    return post.w_mean, post.b_mean


def test_sklearn_ridge_at_converted_alpha(problem):
    X, y = problem
    lam = 4.0
    w, b = canonical_ridge(X, y, lam)
    model = Ridge(alpha=from_canonical_lam("l2", lam, len(y), "sklearn_ridge"), tol=1e-14).fit(X, y)
    assert rel_err(model.coef_, w) < 1e-6 and abs(model.intercept_ - b) / abs(b) < 1e-6


def test_sklearn_lasso_at_converted_alpha(problem):
    X, y = problem
    lam = 3.0
    alpha = from_canonical_lam("l1", lam, len(y), "sklearn_lasso")
    model = Lasso(alpha=alpha, tol=1e-14, max_iter=1_000_000).fit(X, y)
    w, b = elastic_net_canonical(X, y, lam, 0.0, model.coef_)
    assert np.any(w == 0) and np.any(w != 0)  # a real lasso problem: some zeros, some not
    assert rel_err(model.coef_, w) < 1e-6 and abs(model.intercept_ - b) / abs(b) < 1e-6


def test_sklearn_elasticnet_at_converted_alpha(problem):
    X, y = problem
    lam1, lam2 = 3.0, 2.0
    n = len(y)
    alpha, l1_ratio = sklearn_elasticnet_params(from_canonical_lam("l1", lam1, n, "sklearn_elasticnet"),
                                                from_canonical_lam("l2", lam2, n, "sklearn_elasticnet"))
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000).fit(X, y)
    w, b = elastic_net_canonical(X, y, lam1, lam2, model.coef_)
    assert rel_err(model.coef_, w) < 1e-6 and abs(model.intercept_ - b) / abs(b) < 1e-6


TORCH_L2 = {
    # convention: (loss(pred, y, w) at that convention's λ, pass λ as the optimizer's weight_decay?)
    "torch_sgd_mse": (lambda lam: lambda p, y, w: torch.nn.functional.mse_loss(p, y), True),
    "torch_sgd_half_mse": (lambda lam: lambda p, y, w: 0.5 * torch.mean((p - y) ** 2), True),
    # d2l: the chapter's code adds lambd * l2_penalty(w) = λ/2 ‖w‖² to the mean of squared_loss = ½ r²
    "d2l": (lambda lam: lambda p, y, w: 0.5 * torch.mean((p - y) ** 2) + lam * torch.sum(w**2) / 2, False),
    "keras": (lambda lam: lambda p, y, w: torch.mean((p - y) ** 2) + lam * torch.sum(w**2), False),
}


@pytest.mark.parametrize("name", TORCH_L2)
def test_torch_sgd_at_converted_weight_decay(problem, name):
    X, y = problem
    lam = 4.0
    n, d = X.shape
    lam_c = from_canonical_lam("l2", lam, n, name)
    make_loss, as_weight_decay = TORCH_L2[name]
    # The convention's objective is 2κ(n) × the canonical one, whose Hessian is ZᵀZ + λ diag(1, .., 1, 0).
    Z = np.column_stack([X, np.ones(n)])
    hessian = 2 * get_convention(name).loss_scale(n) * (Z.T @ Z + lam * np.diag(np.append(np.ones(d), 0.0)))
    lr, momentum = heavy_ball(hessian)
    w, b, _ = full_batch_descent(make_loss(0.0 if as_weight_decay else lam_c), X, y, lr=lr, momentum=momentum,
                                 weight_decay=lam_c if as_weight_decay else 0.0)
    w_ref, b_ref = canonical_ridge(X, y, lam)
    assert rel_err(w, w_ref) < 1e-6 and abs(b - b_ref) / abs(b_ref) < 1e-6


@pytest.mark.parametrize("name", ["d2l", "keras"])
def test_l1_conventions_without_a_native_tool(problem, name):
    """d2l's and Keras's own L1 objectives, minimised by SciPy (L-BFGS-B on w = u − v, u, v ≥ 0)."""
    X, y = problem
    n, d = X.shape
    lam = 3.0
    lam_c = from_canonical_lam("l1", lam, n, name)
    conv = get_convention(name)

    def f(z):
        u, v, b = z[:d], z[d:2 * d], z[-1]
        r = y - X @ (u - v) - b
        value = conv.loss_scale(n) * r @ r + lam_c * conv.l1_coef * np.sum(u + v)
        g_w = -2 * conv.loss_scale(n) * X.T @ r
        g_b = -2 * conv.loss_scale(n) * np.sum(r)
        pen = lam_c * conv.l1_coef
        return value, np.concatenate([g_w + pen, -g_w + pen, [g_b]])

    z0 = np.zeros(2 * d + 1)
    res = optimize.minimize(f, z0, jac=True, method="L-BFGS-B", bounds=[(0, None)] * (2 * d) + [(None, None)],
                            options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 100_000, "maxcor": 50})
    w_scipy = res.x[:d] - res.x[d:2 * d]
    w_ref, b_ref = elastic_net_canonical(X, y, lam, 0.0, np.where(np.abs(w_scipy) > 1e-6, w_scipy, 0.0))
    assert rel_err(w_scipy, w_ref) < 1e-6 and abs(res.x[-1] - b_ref) / abs(b_ref) < 1e-6
    # and the convention's objective agrees with the canonical one up to the constant factor 2κ(n)
    canon, own = get_convention("canonical"), conv
    ratio = own.objective_value("l1", lam_c, w_ref, b_ref, X, y) / canon.objective_value("l1", lam, w_ref, b_ref, X, y)
    assert ratio == pytest.approx(2 * own.loss_scale(n), rel=1e-12)


# ------------------------------------------------------------------------------------------------ errors

def test_unknown_convention_names_the_choices():
    with pytest.raises(ConventionError, match="unknown convention 'pytorch'.*canonical, d2l"):
        get_convention("pytorch")


def test_mean_loss_needs_n():
    with pytest.raises(ConventionError, match="depends on n"):
        to_canonical_lam("l2", 1.0, None, "d2l")
    assert to_canonical_lam("l2", 1.0, None, "sklearn_ridge") == 1.0


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_bad_n(n):
    with pytest.raises(SpecError, match="positive whole number"):
        to_canonical_lam("l2", 1.0, n, "d2l")


def test_unknown_penalty():
    with pytest.raises(ConventionError, match="unknown penalty 'l3'"):
        to_canonical_lam("l3", 1.0, 5)


@pytest.mark.parametrize("lam", [float("nan"), float("inf"), "abc"])
def test_lam_must_be_a_finite_number(lam):
    with pytest.raises(SpecError, match="lam"):
        to_canonical_lam("l2", lam, 5)


def test_elasticnet_params():
    alpha, rho = sklearn_elasticnet_params(0.3, 0.1)
    assert alpha == pytest.approx(0.4) and rho == pytest.approx(0.75)
    with pytest.raises(SpecError):
        sklearn_elasticnet_params(0.0, 0.0)
