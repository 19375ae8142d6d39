r"""The MAP of penalised logistic regression: Newton (IRLS) for L2, proximal Newton for L1 and the elastic net.

The objective, canonical (the negative log posterior up to a constant; no σ, see ``CONVENTIONS.md``):

.. math::

    J(w, b) = \sum_i \big[\log(1 + e^{\eta_i}) - y_i \eta_i\big] + \frac{\lambda_2}{2}\|w\|_2^2 + \lambda_1\|w\|_1
              + \frac{\lambda_b}{2} b^2, \qquad \eta_i = x_i^\top w + b,

λ₂ = 1/τ² (Gaussian prior), λ₁ = 1/s (Laplace prior), λ_b = 1/S² for ``bias="normal:S"`` (0 for a flat bias; b
absent for ``bias="none"``): the same :class:`~bayesreg.solvers.objective.PenalizedLeastSquares` numbers as a
regression at σ = 1. scikit-learn's ``LogisticRegression(C)`` minimises C·Σ logloss + ½‖w‖² (or + ‖w‖₁), i.e.
λ = 1/C: its ``coef_`` and ``intercept_`` are our w and b.

* **L2** (λ₁ = 0): Newton's method on the smooth, strictly convex J. Gradient Xᵀ(p − y) + λ₂w, Hessian
  XᵀWX + λ₂I with W = diag(p(1 − p)); each step solves the Hessian by Cholesky and halves until J decreases
  (Armijo). It stops when the Newton decrement gᵀH⁻¹g falls below ``tol``² times the objective's scale, which is
  quadratic convergence to rounding in a handful of steps.
* **L1 / elastic net**: proximal Newton (Lee, Sun & Saunders 2014; glmnet's IRLS with coordinate descent, Friedman,
  Hastie & Tibshirani 2010). Each outer step builds the quadratic model of the smooth part at the current point
  and minimises it plus λ₁‖w‖₁ exactly by cyclic coordinate descent (soft-thresholding, so zeros are exact zeros),
  then backtracks on J. It stops when the minimum-norm subgradient of J is below ``tol`` times its scale.

Written here rather than called from scikit-learn because scikit-learn is the *oracle* these solvers are tested
against, and because the Laplace approximation, the evidence and the samplers' warm starts need the Hessian at the
mode, which scikit-learn does not return. :func:`separable` decides by a linear programme whether the classes can
be split by a hyperplane: then, without a penalty, no finite MAP exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, special

from ..errors import SpecError
from .objective import PenalizedLeastSquares

__all__ = ["LogisticMap", "logistic_map", "logistic_map_passes", "pass_evaluator", "logistic_objective",
           "separable"]


@dataclass(frozen=True)
class LogisticMap:
    """The minimiser of J (module docstring): ``w``, ``b`` (None without a bias), the objective there, the
    iterations used, whether the stopping rule was met, the size of the optimality residual, and ``hessian``: the
    Hessian of the smooth part of J at the minimiser over (w, b), for the Laplace approximation."""

    w: np.ndarray
    b: float | None
    objective: float
    iterations: int
    converged: bool
    residual: float
    method: str
    hessian: np.ndarray = field(repr=False, default=None)


#: the relative error of evaluating J (a sum of n terms): a line search cannot see decreases below it
_ROUNDING = 1e-13


def _design(X: np.ndarray, has_bias: bool) -> np.ndarray:
    return np.hstack([X, np.ones((X.shape[0], 1))]) if has_bias else X


def logistic_objective(X, y, w, b, problem: PenalizedLeastSquares) -> float:
    """J(w, b) of the module docstring."""
    X = np.asarray(X, dtype=np.float64)
    eta = X @ np.asarray(w, dtype=np.float64) + (b or 0.0)
    loss = float(np.sum(np.logaddexp(0.0, eta) - np.asarray(y, dtype=np.float64) * eta))
    w = np.asarray(w, dtype=np.float64)
    pen = 0.5 * problem.l2 * float(w @ w) + problem.l1 * float(np.abs(w).sum())
    if problem.bias == "penalized":
        pen += 0.5 * problem.bias_l2 * float(b) ** 2
    return loss + pen


def separable(X, y, has_bias: bool = True) -> bool:
    """Whether a hyperplane splits the classes strictly: some (w, b) with (2y_i − 1)(x_iᵀw + b) ≥ 1 for all i
    (a feasibility linear programme, scipy's HiGHS). Then the log-likelihood rises towards 0 along that direction
    without bound and, without a penalty, the MAP is at infinity."""
    from scipy.optimize import linprog

    Z = _design(np.asarray(X, dtype=np.float64), has_bias)
    s = 2.0 * np.asarray(y, dtype=np.float64) - 1.0
    A = -(s[:, None] * Z)
    res = linprog(np.zeros(Z.shape[1]), A_ub=A, b_ub=-np.ones(len(s)), bounds=(None, None), method="highs")
    return res.status == 0


def logistic_map(X, y, problem: PenalizedLeastSquares, *, tol: float = 1e-10, max_iter: int = 200,
                 start: tuple[np.ndarray, float | None] | None = None) -> LogisticMap:
    """Minimise J (module docstring) for the L1/L2 strengths and bias treatment of ``problem``.

    Parameters
    ----------
    X, y
        (n, d) features and 0/1 targets.
    problem
        λ₁, λ₂ and the bias: :meth:`PenalizedLeastSquares.from_prior(prior, sigma=1.0, bias)` for a prior.
    tol
        Relative optimality: Newton decrement (L2) or minimum-norm subgradient (L1) against the objective's scale.
    start
        A starting ``(w, b)``; default zeros.

    Raises
    ------
    SpecError
        No penalty on w and separable classes: the MAP is at infinity.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    has_bias = problem.has_bias
    if problem.l1 == 0 and problem.l2 == 0 and separable(X, y, has_bias):
        raise SpecError("the classes are perfectly separable by a hyperplane and there is no penalty (λ = 0): the "
                        "likelihood keeps rising as the weights grow, so the MAP is at infinity; use λ > 0 (a "
                        "proper prior on w)")
    Z = _design(X, has_bias)
    return logistic_map_passes(lambda: iter(((Z, y),)), X.shape[1], problem, tol=tol, max_iter=max_iter,
                               start=start, designed=True)


def pass_evaluator(chunks, d: int, problem: PenalizedLeastSquares, *, designed: bool = False):
    """``evaluate(θ) -> (J_smooth(θ), ∇J_smooth(θ), ∇²J_smooth(θ))`` by one pass over ``chunks()`` (a callable
    returning an iterator of ``(X, y)`` row blocks; ``designed``: X already has its column of ones), summing
    Σ logloss, Zᵀ(p − y) and ZᵀWZ block by block in float64; the ridge and bias terms are added once. Memory is
    one block plus O(p²): how the MAP and the Laplace approximation run on data larger than memory."""
    has_bias = problem.has_bias
    p = d + has_bias
    reg = np.zeros(p)
    reg[:d] = problem.l2
    if problem.bias == "penalized":
        reg[d] = problem.bias_l2

    def evaluate(theta: np.ndarray):
        value, grad, H, rows = 0.0, np.zeros(p), np.zeros((p, p)), 0
        for X, y in chunks():
            Z = X if designed or not has_bias else _design(np.asarray(X, dtype=np.float64), True)
            eta = Z @ theta
            value += float(np.sum(np.logaddexp(0.0, eta) - y * eta))
            prob = special.expit(eta)
            grad += Z.T @ (prob - y)
            H += (Z * (prob * special.expit(-eta))[:, None]).T @ Z
            rows += len(y)
        if rows == 0:
            raise SpecError("no rows to fit")
        value += 0.5 * float(reg @ (theta * theta))
        grad += reg * theta
        H[np.diag_indices(p)] += reg
        return value, grad, H

    return evaluate


def logistic_map_passes(chunks, d: int, problem: PenalizedLeastSquares, *, tol: float = 1e-10, max_iter: int = 200,
                        start: tuple[np.ndarray, float | None] | None = None, designed: bool = False,
                        evaluate=None) -> LogisticMap:
    """:func:`logistic_map` over row blocks: ``chunks()`` returns an iterator of ``(X, y)`` blocks (see
    :func:`pass_evaluator`), or ``evaluate`` is such a pass already (a Dask one); each Newton step, and each step
    of its line search, is one pass over them. No
    separability check (it needs every row at once): with no penalty on separable classes the iterates grow
    until the iteration budget, and ``converged`` is False."""
    has_bias = problem.has_bias
    p = d + has_bias
    theta = np.zeros(p)
    if start is not None:
        theta[:d] = np.asarray(start[0], dtype=np.float64)
        if has_bias and start[1] is not None:
            theta[d] = float(start[1])
    evaluate = evaluate or pass_evaluator(chunks, d, problem, designed=designed)
    solve = _newton if problem.l1 == 0 else _prox_newton
    theta, iterations, converged, residual, value, H = solve(evaluate, problem.l1, d, theta, tol, max_iter)
    w = theta[:d].copy()
    b = float(theta[d]) if has_bias else None
    return LogisticMap(w, b, value + problem.l1 * float(np.abs(w).sum()), iterations, converged, residual,
                       "newton" if problem.l1 == 0 else "proximal newton", H)


def _newton(evaluate, l1, d, theta, tol, max_iter):
    value, grad, H = evaluate(theta)
    scale = max(abs(value), 1.0)
    for it in range(1, max_iter + 1):
        try:
            step = linalg.cho_solve(linalg.cho_factor(H, check_finite=False), grad, check_finite=False)
        except linalg.LinAlgError:
            step = np.linalg.lstsq(H, grad, rcond=None)[0]
        decrement = max(float(grad @ step), 0.0)  # gᵀH⁻¹g ≈ 2(J − J*)
        if decrement <= (tol * tol) * scale:
            return theta, it - 1, True, math.sqrt(decrement / scale), value, H
        t = 1.0
        while True:
            trial = theta - t * step
            trial_value, trial_grad, trial_H = evaluate(trial)
            if trial_value <= value - 0.25 * t * decrement + _ROUNDING * scale or t < 1e-10:
                break
            t *= 0.5
        small_step = float(np.max(np.abs(step))) <= tol * (1.0 + float(np.max(np.abs(theta))))
        if trial_value > value + _ROUNDING * scale:  # no decrease at all: the rounding floor of J
            return theta, it, small_step, math.sqrt(decrement / scale), value, H
        theta, value, grad, H = trial, trial_value, trial_grad, trial_H
        if small_step and t == 1.0:  # a full Newton step this small: quadratic convergence leaves ~ step²
            return theta, it, True, math.sqrt(decrement / scale), value, H
    return theta, max_iter, False, math.sqrt(max(float(grad @ grad), 0.0) / scale), value, H


def _subgradient_residual(grad, theta, l1, d) -> float:
    """The minimum-norm subgradient of smooth + λ₁‖w‖₁ (∞-norm): g_j + λ₁sign(w_j) off zero, the excess of |g_j|
    over λ₁ at zero; the unpenalised coordinates (the bias) their gradient."""
    g = grad.copy()
    w = theta[:d]
    gw = g[:d]
    nz = w != 0
    gw[nz] += l1 * np.sign(w[nz])
    gw[~nz] = np.maximum(np.abs(gw[~nz]) - l1, 0.0)
    return float(np.max(np.abs(g))) if len(g) else 0.0


def _prox_newton(evaluate, l1, d, theta, tol, max_iter):
    value, grad, H = evaluate(theta)
    total = value + l1 * float(np.abs(theta[:d]).sum())
    scale = max(abs(total), 1.0)
    residual = _subgradient_residual(grad, theta, l1, d)
    for it in range(1, max_iter + 1):
        if residual <= tol * scale:
            return theta, it - 1, True, residual / scale, value, H
        # inexact proximal Newton: the inner problem only as accurately as the outer residual warrants
        inner_tol = max(min(0.1 * residual, 1e-3), 1e-3 * tol * scale)
        target = _quadratic_l1(H, grad, theta, l1, d, inner_tol)
        step = target - theta
        # decrease predicted by the model: gᵀδ + ½δᵀHδ + λ₁(‖w + δ‖₁ − ‖w‖₁) (≤ 0)
        predicted = float(grad @ step) + 0.5 * float(step @ H @ step) + \
            l1 * (float(np.abs(target[:d]).sum()) - float(np.abs(theta[:d]).sum()))
        t = 1.0
        while True:
            trial = theta + t * step
            trial_value, trial_grad, trial_H = evaluate(trial)
            trial_total = trial_value + l1 * float(np.abs(trial[:d]).sum())
            if trial_total <= total + 0.25 * t * predicted + _ROUNDING * scale or t < 1e-12:
                break
            t *= 0.5
        if trial_total > total + _ROUNDING * scale:
            return theta, it, residual <= 1e3 * tol * scale, residual / scale, value, H
        theta, total, value, grad, H = trial, trial_total, trial_value, trial_grad, trial_H
        residual = _subgradient_residual(grad, theta, l1, d)
    return theta, max_iter, residual <= tol * scale, residual / scale, value, H


def _quadratic_l1(H, g, theta, l1, d, tol, max_sweeps: int = 10_000):
    """argmin_z gᵀ(z − θ) + ½(z − θ)ᵀH(z − θ) + λ₁‖z_{:d}‖₁ by cyclic coordinate descent (exact soft-thresholding
    per coordinate; the coordinates past d, the bias, are not penalised)."""
    z = theta.copy()
    p = len(z)
    diag = np.diag(H).copy()
    # r = g + H(z − θ): the model's gradient at z, kept up to date
    r = g.copy()
    active = np.arange(p)
    for sweep in range(max_sweeps):
        biggest = 0.0
        for j in active:
            a = diag[j]
            if a <= 0:
                continue
            zj = z[j]
            u = zj - r[j] / a
            if j < d:
                new = math.copysign(max(abs(u) - l1 / a, 0.0), u)
            else:
                new = u
            delta = new - zj
            if delta != 0.0:
                z[j] = new
                r += delta * H[:, j]
                biggest = max(biggest, abs(delta) * math.sqrt(a))
        if biggest <= tol:
            if len(active) == p:
                break
            active = np.arange(p)  # a full sweep to confirm the active set
            continue
        if sweep % 5 == 4:  # sweep the non-zero coordinates (and the bias) until they settle
            active = np.array([j for j in range(p) if j >= d or z[j] != 0.0])
    return z
