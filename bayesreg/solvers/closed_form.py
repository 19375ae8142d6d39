r"""Ridge MAP in closed form: the Gaussian-prior MAP solves a linear system.

Minimises the canonical objective (λ₁ = 0)

.. math:: J(w, b) = \tfrac12\sum_i (y_i - x_i^\top w - b)^2 + \tfrac{\lambda_2}{2}\|w\|^2 + \tfrac{\lambda_b}{2}b^2

which is scikit-learn's ``Ridge(alpha=λ₂)`` objective divided by 2 (their ``alpha`` is our λ₂; their
``fit_intercept=True`` is our flat bias, λ_b = 0). With b minimised out (:class:`ReducedQuadratic`):

* **primal** (d ≤ n, or only sufficient statistics): :math:`(G + \lambda_2 I)\,w = q` by Cholesky, O(d³) after
  the O(nd²) statistics;
* **dual** (d > n): :math:`w = \tilde X^\top(\tilde X\tilde X^\top + \lambda_2 I)^{-1}\tilde y` with
  :math:`\tilde X = M^{1/2}X`, :math:`M = I - \frac{1}{n+\lambda_b}\mathbf 1\mathbf 1^\top` (the Woodbury
  identity), O(n²d + n³).
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import linalg

from ..errors import SpecError
from ..suffstats import SufficientStats
from .objective import MapResult, PenalizedLeastSquares, ReducedQuadratic, optimal_bias

__all__ = ["ridge"]


def _cholesky_solve(A: np.ndarray, b: np.ndarray, what: str) -> np.ndarray:
    try:
        return linalg.cho_solve(linalg.cho_factor(A, lower=True, check_finite=False), b, check_finite=False)
    except linalg.LinAlgError:
        raise SpecError(
            f"the {what} system is singular: with λ = 0 (a flat prior) and collinear columns or d ≥ n the MAP is "
            "not unique; use λ > 0"
        ) from None


def _ridge_primal(quad: ReducedQuadratic) -> np.ndarray:
    d = quad.G.shape[0]
    return _cholesky_solve(quad.G + quad.problem.l2 * np.eye(d), quad.q, "primal (d × d)")


def _ridge_dual(X: np.ndarray, y: np.ndarray, problem: PenalizedLeastSquares) -> np.ndarray:
    n = len(y)
    # M^{1/2} = I − c'11ᵀ with (1 − c'n)² = 1 − cn, c = 1/(n + λ_b): flat bias c' = 1/n (centring), none c' = 0.
    c = {"flat": 1.0 / n, "none": 0.0}.get(problem.bias)
    if c is None:
        c = 1.0 / (n + problem.bias_l2)
    c_half = (1.0 - math.sqrt(max(1.0 - c * n, 0.0))) / n
    Xt = X - c_half * X.sum(axis=0)
    yt = y - c_half * y.sum()
    K = Xt @ Xt.T + problem.l2 * np.eye(n)
    return Xt.T @ _cholesky_solve(K, yt, "dual (n × n)")


def ridge(X, y=None, problem: PenalizedLeastSquares | None = None, *, method: str = "auto") -> MapResult:
    """The Gaussian-prior MAP (ridge) of the canonical objective, exactly.

    Parameters
    ----------
    X, y
        The data, or ``X`` a :class:`~bayesreg.suffstats.SufficientStats` and ``y`` None (primal only).
    problem
        λ₂ and the bias treatment; ``problem.l1`` must be 0.
    method
        ``"auto"`` (dual when d > n and the data are at hand), ``"primal"`` or ``"dual"``.

    Examples
    --------
    >>> from bayesreg import load_diabetes
    >>> data = load_diabetes()
    >>> res = ridge(data.X, data.y, PenalizedLeastSquares(l2=1.0))
    >>> from sklearn.linear_model import Ridge
    >>> bool(np.allclose(res.w, Ridge(alpha=1.0).fit(data.X, data.y).coef_, rtol=1e-10))
    True
    """
    if problem is None or problem.l1 != 0:
        raise SpecError("ridge() solves the L2 problem: pass a PenalizedLeastSquares with l1 = 0")
    start = time.perf_counter()
    if isinstance(X, SufficientStats):
        if method == "dual":
            raise SpecError("the dual form needs the data rows, not sufficient statistics")
        stats, X_arr = X, None
    else:
        X_arr = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        stats = None
    if method == "auto":
        method = "dual" if X_arr is not None and X_arr.shape[1] > X_arr.shape[0] else "primal"
    if method not in ("primal", "dual"):
        raise SpecError(f"method must be auto, primal or dual, got {method!r}")
    if method == "dual":
        w = _ridge_dual(X_arr, y, problem)
        b = optimal_bias(problem, len(y), X_arr.mean(axis=0), float(y.mean()), w)
    else:
        stats = stats or SufficientStats.from_arrays(X_arr, y)
        quad = ReducedQuadratic.build(stats, problem)
        w = _ridge_primal(quad)
        b = quad.bias_for(w)
    return MapResult("closed_form", w, b, True, 1, time.perf_counter() - start,
                     info={"form": method, "iteration_unit": "solve"})
