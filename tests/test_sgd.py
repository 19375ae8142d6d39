"""Penalised training in PyTorch against scikit-learn's MAP solvers: where it reaches the MAP and where it does not.

Oracles: ``Ridge(alpha=λ₂)`` (canonical λ₂), ``Lasso(alpha=λ₁/n)`` and ``ElasticNet`` at the converted α (see
test_conventions.py), closed-form normal equations for the penalised bias, and the exact Gaussian posterior mean
for the D2L chapter. Problems: diabetes (n=442, d=10), a random n>d (60×8) and n<d (15×30) problem.
"""

import math
import warnings

import numpy as np
import pytest
import torch
from oracles import random_problem, rel_err
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge

from bayesreg import SpecError, gaussian_posterior, load_d2l, load_diabetes
from bayesreg.conventions import from_canonical_lam, sklearn_elasticnet_params
from bayesreg.priors import prior_from_penalty
from bayesreg.solvers.objective import ConvergenceWarning, PenalizedLeastSquares
from bayesreg.solvers.sgd import (
    ProxSGD,
    adam_l2,
    adamw,
    d2l_chapter_run,
    prox_sgd,
    sgd_weight_decay,
    subgradient_sgd,
)


def _problems():
    diabetes = load_diabetes()
    # name: (X, y, λ₂, λ₁) in canonical units; diabetes's y ~ 150, its columns have unit norm.
    return {
        "diabetes": (diabetes.X, diabetes.y, 1.0, 10.0),
        "n>d": (*random_problem(60, 8, 1, sparse=True), 4.0, 3.0),
        "n<d": (*random_problem(15, 30, 2, sparse=True), 4.0, 3.0),
    }


PROBLEMS = _problems()


def ridge(X, y, lam2, fit_intercept=True):
    model = Ridge(alpha=from_canonical_lam("l2", lam2, len(y), "sklearn_ridge"), fit_intercept=fit_intercept,
                  tol=1e-14).fit(X, y)
    return model.coef_, model.intercept_


def lasso(X, y, lam1):
    model = Lasso(alpha=from_canonical_lam("l1", lam1, len(y), "sklearn_lasso"), tol=1e-14,
                  max_iter=1_000_000).fit(X, y)
    return model.coef_, model.intercept_


def elastic_net(X, y, lam1, lam2):
    n = len(y)
    alpha, l1_ratio = sklearn_elasticnet_params(from_canonical_lam("l1", lam1, n, "sklearn_elasticnet"),
                                                from_canonical_lam("l2", lam2, n, "sklearn_elasticnet"))
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000).fit(X, y)
    return model.coef_, model.intercept_


def relative_bias_error(b, b_ref):
    return abs(b - b_ref) / max(1.0, abs(b_ref))


# ------------------------------------------------------------------------------------------- ProxSGD unit


def test_prox_sgd_one_step_by_hand():
    # dyadic numbers: every operation below is exact in float64
    p = torch.tensor([1.0, -2.0, 0.25], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    frozen = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)  # no gradient: left alone
    c = torch.tensor([0.5, -1.0, 0.25], dtype=torch.float64)
    opt = ProxSGD([{"params": [p, frozen]}, {"params": [b], "lr": 0.25, "l1": 0.0, "weight_decay": 0.0}],
                  lr=0.5, l1=0.5, weight_decay=0.25)

    def closure():
        opt.zero_grad()
        loss = (c * p).sum() + 2.0 * b  # ∇p = c, ∇b = 2
        loss.backward()
        return loss

    loss = opt.step(closure)
    # z = p − 0.5 (c + 0.25 p) = [0.625, −1.25, 0.09375]; soft-threshold at 0.5 · 0.5 = 0.25
    assert loss.item() == 0.5 + 2.0 + 0.0625 + 2.0
    assert p.detach().tolist() == [0.375, -1.0, 0.0]
    assert math.copysign(1.0, p[2].item()) == 1.0  # +0.0, an exact zero
    assert b.item() == 1.0 - 0.25 * 2.0
    assert frozen.item() == 3.0


def test_prox_sgd_without_l1_is_torch_sgd():
    torch.manual_seed(0)
    X, y = torch.randn(20, 4, dtype=torch.float64), torch.randn(20, dtype=torch.float64)
    w1 = torch.randn(4, dtype=torch.float64, requires_grad=True)
    w2 = w1.detach().clone().requires_grad_(True)
    ours, theirs = ProxSGD([w1], lr=0.1, weight_decay=0.3), torch.optim.SGD([w2], lr=0.1, weight_decay=0.3)
    for _ in range(5):
        for w, opt in ((w1, ours), (w2, theirs)):
            opt.zero_grad()
            torch.nn.functional.mse_loss(X @ w, y).backward()
            opt.step()
    assert torch.equal(w1, w2)


def test_prox_sgd_zeroes_small_coordinates_and_stays():
    w = torch.tensor([0.3, -0.1, 0.05, -2.0], dtype=torch.float64, requires_grad=True)
    opt = ProxSGD([w], lr=0.1, l1=2.0)  # threshold 0.2, no loss gradient
    for _ in range(3):
        opt.zero_grad()
        (0.0 * w).sum().backward()
        opt.step()
    assert w.detach().tolist() == pytest.approx([0.0, 0.0, 0.0, -1.4], abs=1e-15)
    assert w[:3].detach().eq(0).all()


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0.0}, "Invalid lr value: 0.0"),
    ({"lr": -1.0}, "Invalid lr value: -1.0"),
    ({"lr": 0.1, "l1": -0.5}, "Invalid l1 value: -0.5"),
    ({"lr": 0.1, "weight_decay": -1}, "Invalid weight_decay value: -1"),
    ({"lr": float("nan")}, "Invalid lr value"),
])
def test_prox_sgd_validates_options(kwargs, match):
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=match):
        ProxSGD([w], **kwargs)


def test_prox_sgd_validates_group_options():
    w, b = torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)
    with pytest.raises(SpecError, match="Invalid l1 value: -1"):
        ProxSGD([{"params": [w]}, {"params": [b], "l1": -1.0}], lr=0.1)


# ------------------------------------------------------------------------------ SGD with weight decay = ridge


@pytest.mark.parametrize("name", PROBLEMS)
def test_sgd_weight_decay_is_ridge(name):
    X, y, lam2, _ = PROBLEMS[name]
    w_ref, b_ref = ridge(X, y, lam2)
    res = sgd_weight_decay(X, y, PenalizedLeastSquares(l2=lam2), reference=w_ref)
    assert res.converged and res.info["iteration_unit"] == "step"
    assert res.info["weight_decay"] == pytest.approx(2 * lam2 / len(y), rel=1e-15)
    assert rel_err(res.w, w_ref) < 1e-6  # the brief asks ≤ 1e-3; converged float64 training does far better
    assert relative_bias_error(res.b, b_ref) < 1e-6
    assert res.trace.shape == (res.iterations,) and res.trace[-1] == pytest.approx(np.abs(res.w - w_ref).max())
    assert res.trace[0] > 1e3 * res.trace[-1]


def test_sgd_trace_is_the_canonical_objective_without_reference():
    X, y, lam2, _ = PROBLEMS["n>d"]
    problem = PenalizedLeastSquares(l2=lam2)
    res = sgd_weight_decay(X, y, problem)
    assert res.trace[-1] == pytest.approx(problem.value(res.w, res.b, X, y), rel=1e-12)
    w_ref, b_ref = ridge(X, y, lam2)
    assert res.trace[-1] == pytest.approx(problem.value(w_ref, b_ref, X, y), rel=1e-10)


def test_sgd_without_bias_is_ridge_without_intercept():
    X, y, lam2, _ = PROBLEMS["n>d"]  # columns with non-zero means: the intercept matters
    w_ref, _ = ridge(X, y, lam2, fit_intercept=False)
    res = sgd_weight_decay(X, y, PenalizedLeastSquares(l2=lam2, bias="none"))
    assert res.b is None and res.converged
    assert rel_err(res.w, w_ref) < 1e-6
    assert rel_err(res.w, ridge(X, y, lam2)[0]) > 1e-2  # and not the flat-bias ridge


def test_sgd_falls_back_to_plain_gradient_descent_when_not_strongly_convex():
    X, y, _, _ = PROBLEMS["n<d"]  # no penalty, n < d: the Hessian is singular
    with pytest.warns(ConvergenceWarning, match="did not converge in 50 steps"):
        res = sgd_weight_decay(X, y, PenalizedLeastSquares(), max_steps=50)
    Z = np.column_stack([X, np.ones(len(y))])
    L = np.linalg.eigvalsh(2 / len(y) * Z.T @ Z)[-1]
    assert res.info["momentum"] == 0.0 and res.info["lr"] == pytest.approx(1 / L, rel=1e-12)
    assert not res.converged and res.iterations == 50


@pytest.mark.parametrize("solver", [sgd_weight_decay, prox_sgd])
def test_penalized_bias(solver):
    """λ_b large: b → 0 (the model loses its affine part); flat: b = mean(y) − x̄ᵀw."""
    X, y, lam2, _ = PROBLEMS["diabetes"]
    n, d = X.shape
    lam_b = 100.0 * n
    Z = np.column_stack([X, np.ones(n)])
    exact = np.linalg.solve(Z.T @ Z + np.diag(np.append(np.full(d, lam2), lam_b)), Z.T @ y)
    pen = solver(X, y, PenalizedLeastSquares(l2=lam2, bias="penalized", bias_l2=lam_b))
    flat = solver(X, y, PenalizedLeastSquares(l2=lam2))
    assert pen.converged and flat.converged
    assert pen.info["bias_weight_decay"] == pytest.approx(2 * lam_b / n, rel=1e-15)
    assert rel_err(pen.w, exact[:d]) < 1e-6 and pen.b == pytest.approx(exact[d], rel=1e-6)
    assert flat.b == pytest.approx(y.mean() - X.mean(axis=0) @ flat.w, rel=1e-9)
    assert abs(pen.b) < 0.011 * abs(flat.b)  # b ≈ Σy/(n + λ_b) = mean(y)/101


# ------------------------------------------------------------------------------- proximal SGD = lasso / EN


@pytest.mark.parametrize("name", ["diabetes", "n>d"])
def test_prox_sgd_is_lasso_with_its_exact_zeros(name):
    X, y, _, lam1 = PROBLEMS[name]
    w_ref, b_ref = lasso(X, y, lam1)
    assert np.any(w_ref == 0) and np.any(w_ref != 0)
    res = prox_sgd(X, y, PenalizedLeastSquares(l1=lam1), reference=w_ref)
    assert res.converged and res.info["l1"] == pytest.approx(2 * lam1 / len(y), rel=1e-15)
    assert rel_err(res.w, w_ref) < 1e-6 and relative_bias_error(res.b, b_ref) < 1e-6
    np.testing.assert_array_equal(res.w == 0, w_ref == 0)


@pytest.mark.parametrize("name", PROBLEMS)
def test_prox_sgd_is_elastic_net(name):
    X, y, lam2, lam1 = PROBLEMS[name]
    w_ref, b_ref = elastic_net(X, y, lam1, lam2)
    res = prox_sgd(X, y, PenalizedLeastSquares(l1=lam1, l2=lam2), reference=w_ref)
    assert res.converged
    assert rel_err(res.w, w_ref) < 1e-6 and relative_bias_error(res.b, b_ref) < 1e-6
    np.testing.assert_array_equal(res.w == 0, w_ref == 0)


def test_prox_sgd_decreases_the_objective_every_step():
    """ISTA with a step ≤ 1/L is monotone in J: the default per-group steps keep that guarantee."""
    X, y, _, lam1 = PROBLEMS["diabetes"]
    res = prox_sgd(X, y, PenalizedLeastSquares(l1=lam1), max_steps=300, tol=1e-3)
    assert np.all(np.diff(res.trace) <= 1e-12 * res.trace[0])
    assert res.info["lr"] > 10 * res.info["bias_lr"]  # w is not held to the bias's curvature


# ---------------------------------------------------------------------- subgradient L1: hovers, never zero


@pytest.mark.parametrize("name", PROBLEMS)
def test_subgradient_l1_has_no_exact_zeros(name):
    X, y, _, lam1 = PROBLEMS[name]
    w_ref, _ = lasso(X, y, lam1)
    with pytest.warns(ConvergenceWarning, match="hovers"):
        res = subgradient_sgd(X, y, PenalizedLeastSquares(l1=lam1), reference=w_ref, max_steps=2000)
    assert not res.converged and res.iterations == 2000
    zeros = w_ref == 0
    assert np.all(res.w[zeros] != 0)  # where the lasso has exact zeros it has none
    assert rel_err(res.w, w_ref) < 0.25  # close, though: it hovers around the solution
    assert np.max(np.abs(res.w[zeros])) > 1e-6 * np.max(np.abs(w_ref))


# -------------------------------------------------------------------------------------- Adam and AdamW


@pytest.fixture(scope="module", params=["diabetes", "n>d"])
def adam_pair(request):
    X, y, lam2, _ = PROBLEMS[request.param]
    w_ref, b_ref = ridge(X, y, lam2)
    problem = PenalizedLeastSquares(l2=lam2)
    coupled = adam_l2(X, y, problem, reference=w_ref)
    with pytest.warns(ConvergenceWarning):
        decoupled = adamw(X, y, problem, reference=w_ref, max_steps=3000)
    return request.param, X, y, w_ref, b_ref, coupled, decoupled


def test_adam_with_weight_decay_reaches_the_map(adam_pair):
    _, _, _, w_ref, b_ref, coupled, _ = adam_pair
    assert coupled.converged
    assert rel_err(coupled.w, w_ref) < 1e-6 and relative_bias_error(coupled.b, b_ref) < 1e-6


def test_adamw_does_not(adam_pair):
    _, _, _, w_ref, _, coupled, decoupled = adam_pair
    assert decoupled.info["weight_decay"] == coupled.info["weight_decay"]
    far = rel_err(decoupled.w, w_ref)
    assert far > 0.05 and far > 10 * rel_err(coupled.w, w_ref)


def test_adamw_ends_near_unpenalised_least_squares():
    """Measured (several lr, 1000-3000 steps): on this well-conditioned n>d problem AdamW's end point is far
    closer to least squares than to the ridge MAP: its fixed point has g/(|g|+ε) = −wd·w, so g ≈ 0."""
    X, y, lam2, _ = PROBLEMS["n>d"]
    w_ref, _ = ridge(X, y, lam2)
    w_ols = LinearRegression().fit(X, y).coef_
    with pytest.warns(ConvergenceWarning):
        res = adamw(X, y, PenalizedLeastSquares(l2=lam2), max_steps=3000)
    assert rel_err(res.w, w_ols) < rel_err(res.w, w_ref) / 5


# ----------------------------------------------------------------------------- D2L's chapter, as written


@pytest.fixture(scope="module")
def d2l():
    problem = load_d2l(seed=0)
    prior = prior_from_penalty("l2", 3, sigma=0.01, n=20, convention="d2l")
    w_map = gaussian_posterior(problem.train.X, problem.train.y, prior=prior, sigma=0.01).w_mean
    return problem, w_map


def test_d2l_chapter_without_decay_overfits(d2l):
    problem, _ = d2l
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # early-stopped by design: no ConvergenceWarning
        res = d2l_chapter_run(problem, 0.0)
    assert 13.0 <= res.info["w_norm"] <= 15.0  # the book: ≈ 13 (the N(0, 1) init in 200 dimensions barely moves)
    assert res.info["train_loss"] < 1e-3 < 10.0 < res.info["test_loss"]
    assert not res.converged and res.iterations == 100 and res.info["iteration_unit"] == "epoch"
    assert res.trace.shape == (100,)


def test_d2l_chapter_with_decay_is_early_stopped_far_from_the_map(d2l):
    problem, w_map = d2l
    assert np.allclose(w_map, Ridge(alpha=60.0).fit(problem.train.X, problem.train.y).coef_, rtol=1e-8, atol=1e-12)
    res = d2l_chapter_run(problem, 3.0, reference=w_map)
    assert 0.3 <= res.info["w_norm"] <= 0.45  # the book: ≈ 0.36–0.38
    assert res.info["canonical_lam"] == 60.0
    # the exact MAP is tiny (‖w_MAP‖ ≈ 0.03); where the run stops is decided by the init and the 100 epochs
    distance = np.linalg.norm(res.w - w_map)
    assert distance > 5 * np.linalg.norm(w_map)
    assert res.trace[-1] == pytest.approx(np.abs(res.w - w_map).max()) and res.trace[0] > res.trace[-1]


def test_d2l_chapter_is_reproducible(d2l):
    problem, _ = d2l
    a, b, c = (d2l_chapter_run(problem, 3.0, epochs=3, seed=s) for s in (7, 7, 8))
    assert np.array_equal(a.w, b.w) and not np.array_equal(a.w, c.w)


# ------------------------------------------------------------------------------------------ input errors

X0, Y0 = PROBLEMS["n>d"][:2]
L2 = PenalizedLeastSquares(l2=1.0)


@pytest.mark.parametrize("args, kwargs, match", [
    ((X0[:, 0], Y0, L2), {}, r"X must be 2-D .* got shape \(60,\)"),
    ((X0, Y0[:-1], L2), {}, "X has 60 rows but y has 59 values"),
    ((X0, Y0.reshape(-1, 1), L2), {}, r"y must be 1-D, got shape \(60, 1\)"),
    ((np.where(X0 > 0, X0, np.nan), Y0, L2), {}, "X holds NaN or inf"),
    ((np.zeros_like(X0), Y0, L2), {}, "X is all zeros"),
    ((X0, Y0, {"l2": 1.0}), {}, "problem must be a PenalizedLeastSquares.*got dict"),
    ((X0, Y0, L2), {"lr": 0.0}, "lr .* must be a positive finite number, got 0.0"),
    ((X0, Y0, L2), {"lr": -0.1}, "got -0.1"),
    ((X0, Y0, L2), {"max_steps": 0}, "max_steps must be a positive whole number, got 0"),
    ((X0, Y0, L2), {"tol": -1.0}, "tol must be a positive finite number"),
    ((X0, Y0, L2), {"reference": np.zeros(3)}, r"reference must be the MAP's w, shape \(8,\), got shape \(3,\)"),
    ((X0, Y0, L2), {"momentum": 1.0}, r"momentum must be in \[0, 1\), got 1.0"),
    ((X0, Y0, PenalizedLeastSquares(l1=1.0)), {}, "sgd_weight_decay has no L1 option but problem.l1 = 1.0"),
])
def test_sgd_weight_decay_rejects_bad_input(args, kwargs, match):
    with pytest.raises(SpecError, match=match):
        sgd_weight_decay(*args, **kwargs)


@pytest.mark.parametrize("solver", [adam_l2, adamw])
def test_adam_has_no_l1(solver):
    with pytest.raises(SpecError, match=f"{solver.__name__} has no L1 option.*use prox_sgd"):
        solver(X0, Y0, PenalizedLeastSquares(l1=2.0, l2=1.0))


def test_adamw_rejects_a_decay_that_flips_the_weights():
    with pytest.raises(SpecError, match=r"lr·wd = 1.33 ≥ 1 .*pass lr < 30"):
        adamw(X0, Y0, L2, lr=40.0)  # wd = 2/60


def test_adamw_default_step_is_capped_where_the_decay_would_flip_the_weights():
    y_big = Y0 * 1e4  # default lr = 0.05·max|y| would make lr·wd ≥ 1 at wd = 2λ/n
    strong = PenalizedLeastSquares(l2=float(len(Y0)) * 10.0, bias="flat")  # wd = 20
    result = adamw(X0, y_big, strong, max_steps=50)
    assert np.all(np.isfinite(result.w))
    with pytest.raises(SpecError, match="lr·wd"):
        adamw(X0, y_big, strong, lr=0.06, max_steps=50)  # given by the user: refused, not changed


@pytest.mark.parametrize("solver", [prox_sgd, subgradient_sgd])
def test_l1_solvers_validate(solver):
    with pytest.raises(SpecError, match="lr"):
        solver(X0, Y0, PenalizedLeastSquares(l1=1.0), lr=-1.0)
    with pytest.raises(SpecError, match="X has 60 rows but y has 2 values"):
        solver(X0, Y0[:2], PenalizedLeastSquares(l1=1.0))


def test_divergence_is_reported():
    with pytest.warns(ConvergenceWarning, match="diverged at step .*lower lr"):
        res = sgd_weight_decay(X0, Y0, L2, lr=10.0, max_steps=10_000)
    assert not res.converged and res.iterations < 10_000


@pytest.mark.parametrize("kwargs, match", [
    ({"problem": "d2l", "lam": 3.0}, "problem must be a D2LProblem.*got str"),
    ({"lam": -1.0}, "lam must be a finite number ≥ 0 .*got -1.0"),
    ({"lam": "x"}, "lam must be a number"),
    ({"lam": 3.0, "batch_size": 0}, "batch_size must be a positive whole number, got 0"),
    ({"lam": 3.0, "epochs": 2.5}, "epochs must be a positive whole number, got 2.5"),
    ({"lam": 3.0, "lr": 0}, "lr .* got 0"),
    ({"lam": 3.0, "seed": -1}, "seed must be a whole number ≥ 0, got -1"),
    ({"lam": 3.0, "reference": np.zeros(5)}, r"shape \(200,\), got shape \(5,\)"),
])
def test_d2l_chapter_run_rejects_bad_input(d2l, kwargs, match):
    kwargs = {"problem": d2l[0], **kwargs}
    with pytest.raises(SpecError, match=match):
        d2l_chapter_run(**kwargs)
