r"""MAP under any prior a penalty implies (:mod:`bayesreg.derived_priors`): the penalised minimiser.

Minimises the canonical objective with the prior's penalty, b minimised out
(:class:`~bayesreg.solvers.objective.ReducedQuadratic`),

.. math::

    F(w) = \tfrac12 w^\top G w - q^\top w + \tfrac12 y_{yy} + \sigma^2\,\mathrm{penalty}(w),
    \qquad \sigma^2\,\mathrm{penalty}(w) = -\sigma^2\log p(w) + \text{const},

i.e. ``½Σr² + pen(w)`` (+ (λ_b/2)b² for a penalised bias): σ² times the negative log posterior. By prior:

* :class:`~bayesreg.derived_priors.ElasticNetPrior`: coordinate descent with λ₁ = σ²/s, λ₂ = σ²/τ²
  (:func:`~bayesreg.solvers.proximal.coordinate_descent`), which is scikit-learn's ``ElasticNet(alpha,
  l1_ratio)`` at α = (λ₁ + λ₂)/n, ρ = λ₁/(λ₁ + λ₂);
* :class:`~bayesreg.derived_priors.L2NormPrior` and :class:`~bayesreg.derived_priors.GroupLassoPrior`:
  :func:`proximal_gradient` (FISTA with adaptive restart; the proximal map of c‖w‖ is block soft-thresholding);
* a :class:`~bayesreg.derived_priors.SeparablePrior` declared convex: :func:`separable_coordinate_descent`
  (exact coordinate minimisation by a 1-D Brent search, accurate to about 1e-8 relative);
* a non-convex prior (:class:`~bayesreg.derived_priors.StudentTPrior`, an undeclared φ): refused, since its
  MAP need not be unique; with ``local=True`` a :class:`NonConvexWarning` and a local minimum by L-BFGS
  from w = 0.

References: Beck & Teboulle (2009), *A fast iterative shrinkage-thresholding algorithm*, SIAM J. Imaging Sci.
2(1); O'Donoghue & Candès (2015), *Adaptive restart for accelerated gradient schemes*, Found. Comput. Math. 15.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..errors import SpecError
from ..prior_base import Prior
from ..priors import Bias, parse_bias
from ..suffstats import SufficientStats
from ..validate import positive
from .closed_form import ridge
from .objective import ConvergenceWarning, MapResult, PenalizedLeastSquares, ReducedQuadratic
from .proximal import coordinate_descent

__all__ = ["derived_map", "proximal_gradient", "separable_coordinate_descent", "NonConvexWarning"]


class NonConvexWarning(UserWarning):
    """A MAP was asked of a non-convex penalty: the answer is a local mode, possibly one of several."""


def _problem(sigma: float, bias: Bias, l1: float = 0.0, l2: float = 0.0) -> PenalizedLeastSquares:
    if bias.kind == "normal":
        return PenalizedLeastSquares(l1=l1, l2=l2, bias="penalized", bias_l2=sigma**2 / bias.scale**2)
    return PenalizedLeastSquares(l1=l1, l2=l2, bias=bias.kind)


def proximal_gradient(quad: ReducedQuadratic, prox, penalty_scale: float, *, w0=None, tol: float = 1e-10,
                      max_iter: int = 100_000):
    """Minimise ``½wᵀGw − qᵀw + penalty_scale·P(w)`` given ``prox(v, t) = argmin_x ½‖x − v‖² + t·P(x)``.

    FISTA with the gradient restart scheme, step 1/L (L the largest eigenvalue of G). It stops when the
    stationarity residual ``‖(L·I − G)(y − w)‖``, a member of ∂F(w) that FISTA produces at no cost, is at most
    ``tol × max(‖q‖, 1)``: this is the KKT condition 0 ∈ Gw − q + penalty_scale·∂P(w), to within tol.

    Returns (w, converged, iterations, residuals).
    """
    G = np.asarray(quad.G, dtype=np.float64)
    q = np.asarray(quad.q, dtype=np.float64)
    L = max(float(np.linalg.eigvalsh(G).max()) if G.size else 0.0, 1e-300)
    w = np.zeros_like(q) if w0 is None else np.array(w0, dtype=np.float64)
    z, t = w.copy(), 1.0
    scale = max(float(np.linalg.norm(q)), 1.0)
    residuals = []
    for k in range(1, max_iter + 1):
        w_new = prox(z - (G @ z - q) / L, penalty_scale / L)
        diff = z - w_new
        res = float(np.linalg.norm(L * diff - G @ diff))
        residuals.append(res)
        if res <= tol * scale:
            return w_new, True, k, np.array(residuals)
        if diff @ (w_new - w) > 0:  # the momentum points uphill: restart
            t_next, z = 1.0, w_new.copy()
        else:
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            z = w_new + ((t - 1.0) / t_next) * (w_new - w)
        w, t = w_new, t_next
    return w, False, max_iter, np.array(residuals)


def separable_coordinate_descent(quad: ReducedQuadratic, prior: Prior, penalty_scale: float, *,
                                 tol: float = 1e-10, max_sweeps: int = 10_000):
    """Minimise ``½wᵀGw − qᵀw + penalty_scale·k·Σφ(w_j)`` (φ convex) by exact coordinate minimisation.

    Each step minimises the objective over one coordinate by bounded Brent search: the minimiser of
    ``½G_jj x² − z x + t·φ(x)`` lies between z/G_jj and φ's minimiser (both parts are convex). Coordinate
    descent converges for a smooth quadratic plus a separable convex term (Tseng 2001). It stops when a sweep
    moves no weight by more than ``max(tol, 1e-7) × max|w|``: a search by function values places each
    coordinate to about √ε ≈ 1.5e-8 relative, so a smaller tolerance could not be met.

    Returns (w, converged, sweeps, the largest change of each sweep).
    """
    from scipy.optimize import minimize_scalar

    G = np.ascontiguousarray(quad.G, dtype=np.float64)
    q = np.asarray(quad.q, dtype=np.float64)
    d = q.shape[0]
    w = np.zeros(d)
    Gw = G @ w
    g, mode = prior.coordinate_penalty()  # k·φ, vectorised, and its minimiser
    changes = []
    for sweep in range(1, max_sweeps + 1):
        biggest = 0.0
        for j in range(d):
            a = G[j, j]
            z = q[j] - Gw[j] + a * w[j]
            if a <= 0.0:
                continue
            lo, hi = sorted((z / a, mode))
            if lo == hi:
                new = lo
            else:
                width = max(abs(lo), abs(hi), 1e-300)
                res = minimize_scalar(lambda x, a=a, z=z: 0.5 * a * x * x - z * x
                                      + penalty_scale * float(g(np.array([x]))[0]),
                                      bounds=(lo, hi), method="bounded", options={"xatol": 1e-14 * width})
                new = float(res.x)
            if new != w[j]:
                Gw += G[j] * (new - w[j])
                biggest = max(biggest, abs(new - w[j]))
                w[j] = new
        changes.append(biggest)
        if biggest <= max(tol, 1e-7) * max(float(np.max(np.abs(w))), 1e-300):
            return w, True, sweep, np.array(changes)
    return w, False, max_sweeps, np.array(changes)


def derived_map(X, y=None, prior=None, sigma: float = 1.0, bias: str | Bias = "flat", *, local: bool = False,
                tol: float = 1e-10, max_iter: int = 100_000) -> MapResult:
    """The MAP of (w, b) under ``prior`` with fixed noise sd ``sigma``: the minimiser of ``½Σr² + pen(w)``.

    Parameters
    ----------
    X, y
        The data, or ``X`` a :class:`~bayesreg.suffstats.SufficientStats` and ``y`` None.
    prior
        A derived prior (or :class:`~bayesreg.priors.Gaussian` / :class:`~bayesreg.priors.Laplace`).
    bias
        ``"flat"`` (unpenalised), ``"none"`` or ``"normal:S"``.
    local
        For a non-convex prior: return a local mode with a :class:`NonConvexWarning` instead of refusing.
    tol, max_iter
        Proximal gradient's stopping rule (see :func:`proximal_gradient`) and budget; on running out, a
        :class:`~bayesreg.solvers.objective.ConvergenceWarning`.

    Returns
    -------
    MapResult
        ``info`` has ``objective`` (the canonical objective, b minimised out) and ``iteration_unit``.

    Examples
    --------
    The unsquared norm zeroes every weight at once when c ≥ ‖Xᵀy‖ (centred): here it does not.

    >>> from bayesreg.derived_priors import L2NormPrior
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 3)); y = X @ [1.0, -2.0, 0.5] + rng.standard_normal(50)
    >>> res = derived_map(X, y, L2NormPrior(1.0 / 20.0, 3), sigma=1.0)   # ½Σr² + 20‖w‖
    >>> res.converged, np.round(res.w, 3)
    (True, array([ 0.973, -1.64 ,  0.494]))
    """
    sigma = positive(sigma, "sigma (the noise standard deviation)")
    bias = parse_bias(bias)
    stats = X if isinstance(X, SufficientStats) else SufficientStats.from_arrays(X, y)
    s2 = sigma**2
    if not isinstance(prior, Prior):
        raise SpecError(f"derived_map takes a prior on w (bayesreg.priors, bayesreg.derived_priors), got "
                        f"{type(prior).__name__}")
    if prior.local_scales() is not None:
        raise SpecError(f"no MAP for the {prior.name} prior: {prior.no_penalty_reason()}; sample it with bayesreg "
                        "fit (Gibbs or NUTS)")
    prior = prior.conditional(sigma=sigma)
    if prior.hyperpriors():
        raise SpecError(f"the {prior.name} prior has a scale with a prior of its own: fix it (its MAP at that "
                        "scale) or use bayesreg.mode.posterior_mode for the marginal mode")
    elementwise = prior.elementwise_penalty(sigma)
    if elementwise is not None:  # ridge, lasso, elastic net: exact solvers with exact zeros
        l1, l2 = elementwise
        problem = _problem(sigma, bias, l1=l1, l2=l2)
        return ridge(stats, problem=problem) if l1 == 0 else coordinate_descent(stats, problem=problem)
    prior.check_dimension(stats.d)  # a radial or group prior must match the number of columns
    quad = ReducedQuadratic.build(stats, _problem(sigma, bias))
    start = time.perf_counter()
    if not prior.convex:
        if not local:
            raise SpecError(
                f"the {prior.name} prior's penalty is not convex: the posterior can have several modes and no MAP "
                "is guaranteed unique; pass local=True for a local mode (from w = 0), or sample the posterior")
        warnings.warn(f"the {prior.name} penalty is not convex: this is a local mode, not necessarily the MAP",
                      NonConvexWarning, stacklevel=2)
        w, converged, iterations = _local_mode(quad, prior, s2)
        residuals = None
        unit = "L-BFGS iteration"
    elif prior.coordinate_penalty() is not None:
        w, converged, iterations, residuals = separable_coordinate_descent(quad, prior, s2, tol=tol,
                                                                           max_sweeps=max_iter)
        unit = "sweep"
        if not converged:
            warnings.warn(f"coordinate descent stopped after {iterations} sweeps with a last change of "
                          f"{residuals[-1]:.3g}; raise max_iter or tol", ConvergenceWarning, stacklevel=2)
    elif prior.proximal:
        w, converged, iterations, residuals = proximal_gradient(quad, prior.prox, s2, tol=tol, max_iter=max_iter)
        unit = "step"
        if not converged:
            warnings.warn(f"proximal gradient stopped after {iterations} steps with KKT residual "
                          f"{residuals[-1]:.3g}; raise max_iter or tol", ConvergenceWarning, stacklevel=2)
    else:
        raise SpecError(f"no MAP solver for the {prior.name} prior: it is convex but has neither a proximal map "
                        "nor a coordinate penalty")
    objective = quad.value(w) + s2 * prior.penalty(w)
    info = {"objective": objective, "iteration_unit": unit}
    if residuals is not None:
        info["kkt_residual" if unit == "step" else "last_change"] = float(residuals[-1])
    method = ("local_lbfgs" if not prior.convex else
              "coordinate_descent" if unit == "sweep" else "proximal_gradient")
    return MapResult(method, w, quad.bias_for(w), converged, iterations, time.perf_counter() - start,
                     trace=residuals, info=info)


def _local_mode(quad: ReducedQuadratic, prior: Prior, s2: float):
    """A local minimum of the quadratic − σ² log p(w) by L-BFGS, with the gradient from torch autograd."""
    import torch
    from scipy.optimize import minimize

    G = torch.as_tensor(quad.G, dtype=torch.float64)
    q = torch.as_tensor(quad.q, dtype=torch.float64)

    def fun(w_np):
        w = torch.as_tensor(w_np, dtype=torch.float64).requires_grad_(True)
        value = 0.5 * w @ G @ w - q @ w - s2 * prior.log_density_torch(w)
        value.backward()
        return float(value.detach()), w.grad.numpy().copy()

    res = minimize(fun, np.zeros(quad.q.shape[0]), jac=True, method="L-BFGS-B",
                   options={"maxiter": 10_000, "gtol": 1e-12, "ftol": 1e-15})
    return res.x, bool(res.success), int(res.nit)
