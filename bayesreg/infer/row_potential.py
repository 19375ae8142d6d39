r"""The negative log posterior evaluated on the rows: for likelihoods without sufficient statistics (logistic).

.. math::

    U(\theta) = -\sum_i \log p(y_i \mid \eta_i) - \log p(w \mid \tau) - \log p(b) - \log p(\tau) - \log\tau,
    \qquad \eta = Xw + b,

θ = (w, b, log τ) as in :class:`~bayesreg.infer.potential.Potential` (b unless ``bias="none"``, log τ with a
hierarchical prior; the last term is the Jacobian of τ = e^v). One value and gradient cost two passes over the
rows, O(nd), vectorised: η = Xw + b, then ∇_w = −Xᵀ g + ∇(−log p(w)), g_i = ∂ log p(y_i | η_i)/∂η_i from the
likelihood (:meth:`~bayesreg.likelihoods.Likelihood.grad_log_likelihood`).

:class:`RowPotential` is a :class:`~bayesreg.infer.potential.Potential` (same :class:`~bayesreg.infer.potential.Layout`,
``torch_fn``, finite-difference Hessian and the smooth surrogate for an L1 kink in :meth:`laplace_covariance`), so the
NUTS kernel, the warm start and the Laplace approximation take either. Its likelihood Hessian is closed form when
the likelihood gives its curvature (``curvature(η)``: p(1 − p) for the logistic), XᵀWX.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import SpecError
from .potential import _LOG_2PI, Layout, Potential, _rowdot

__all__ = ["RowPotential", "potential_for"]


def potential_for(data, model):
    """The potential of ``model`` (a :class:`~bayesreg.models.LinearRegressionModel`) on ``data``: on sufficient
    statistics when the likelihood has them, on the rows otherwise."""
    if model.spec.likelihood.has_sufficient_statistics:
        return Potential(data, model)
    return RowPotential(data, model)


class RowPotential(Potential):
    """U(θ) = −log posterior density of ``model`` on the rows of ``data`` (module docstring).

    Parameters
    ----------
    data
        A :class:`~bayesreg.data.Dataset` (its rows are needed).
    model
        A :class:`~bayesreg.models.LinearRegressionModel` whose likelihood has no σ (the logistic one).
    """

    def __init__(self, data, model):  # noqa: D107 - the class docstring says it
        if not hasattr(data, "X"):
            raise SpecError(f"the {model.spec.likelihood.name} likelihood has no sufficient statistics: its "
                            "potential needs the data rows (use --engine memory)")
        self.model = model
        self.likelihood = model.spec.likelihood
        prior = model.prior
        self.prior = prior
        self.bias = model.bias
        self.sigma_fixed, self.sigma_prior = None, None
        self.X = np.ascontiguousarray(data.X, dtype=np.float64)
        self.y = self.likelihood.validate_target(data.y)
        self.n, self.d = self.X.shape
        has_tau = bool(prior.hyperpriors())
        self.layout = Layout(self.d, self.bias.present, False, has_tau)
        idx = self.layout.index
        self._ib, self._is, self._it = idx.get("b"), None, idx.get("tau")
        self._set_weight_prior(prior, has_tau, self.d, "row potential")
        self._const = self._weight_prior_const(prior, self.d)
        if self.bias.kind == "normal":
            self._const -= math.log(self.bias.scale) + 0.5 * _LOG_2PI
        self._A = None
        self._fast_many = None
        self._fast = self._fast_logistic() if self.likelihood.name == "logistic" else None

    def _fast_logistic(self):
        """The samplers' inner loop for the logistic likelihood with a Gaussian or Laplace prior of fixed scale and
        a flat, absent or normal bias: the same U and ∇U as the general path (tested equal), in a dozen NumPy
        calls instead of thirty (≈ 40% of a NUTS step's time on breast_cancer went to the general path's
        bookkeeping)."""
        from scipy.special import expit

        if self._w_kind not in ("gaussian", "laplace") or self._it is not None:
            return None
        X, y, d, ib, const = self.X, self.y, self.d, self._ib, self._const
        gaussian = self._w_kind == "gaussian"
        coef = 1.0 / self.prior.tau**2 if gaussian else self._inv_scale
        inv_b2 = 1.0 / self.bias.scale**2 if self.bias.kind == "normal" else 0.0
        XT = np.ascontiguousarray(X.T)

        def value_and_grad(theta):
            w = theta[:d]
            eta = X @ w
            if ib is not None:
                eta += theta[ib]
            value = float(np.logaddexp(0.0, eta).sum()) - float(y @ eta) - const
            resid = expit(eta)
            resid -= y  # −∂ log p/∂η = sigmoid(η) − y
            grad = np.empty_like(theta)
            grad[:d] = XT @ resid
            if gaussian:
                value += 0.5 * coef * float(w @ w)
                grad[:d] += coef * w
            else:
                value += coef * float(np.abs(w).sum())
                grad[:d] += coef * np.sign(w)
            if ib is not None:
                b = theta[ib]
                grad[ib] = float(resid.sum()) + inv_b2 * b
                value += 0.5 * inv_b2 * b * b
            return value, grad

        def many(thetas):  # the same, on each row of an (m, p) array: η = WXᵀ + b is (m, n)
            w = thetas[:, :d]
            eta = w @ XT
            if ib is not None:
                eta += thetas[:, ib:ib + 1]
            value = np.logaddexp(0.0, eta).sum(1) - eta @ y - const
            resid = expit(eta)
            resid -= y
            grad = np.empty_like(thetas)
            grad[:, :d] = resid @ X
            if gaussian:
                value += 0.5 * coef * _rowdot(w, w)
                grad[:, :d] += coef * w
            else:
                value += coef * np.abs(w).sum(1)
                grad[:, :d] += coef * np.sign(w)
            if ib is not None:
                b = thetas[:, ib]
                grad[:, ib] = resid.sum(1) + inv_b2 * b
                value += 0.5 * inv_b2 * b * b
            return value, grad

        self._fast_many = many
        return value_and_grad

    @property
    def is_gaussian(self) -> bool:
        """Never: a likelihood without sufficient statistics is not Gaussian in θ."""
        return False

    def eta(self, theta: np.ndarray) -> np.ndarray:
        """The linear predictor Xw + b at θ."""
        eta = self.X @ theta[: self.d]
        if self._ib is not None:
            eta += theta[self._ib]
        return eta

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """U(θ) and ∇U(θ): one pass for η, one for Xᵀg (O(nd)), plus the prior terms."""
        if self._fast is not None:
            return self._fast(theta)
        d = self.d
        theta = np.asarray(theta, dtype=np.float64)
        eta = self.eta(theta)
        logp = self._const + float(np.sum(self.likelihood.log_likelihood(self.y, eta)))
        g = self.likelihood.grad_log_likelihood(self.y, eta)
        grad = np.zeros_like(theta)
        gw = self.X.T @ g
        if self._ib is not None:
            grad[self._ib] = float(g.sum())
        lp_w, g_w, g_v = self._weight_prior_terms(theta[:d], theta)
        logp += lp_w
        gw += g_w
        if g_v is not None:
            grad[self._it] = g_v
        grad[:d] = gw
        if self.bias.kind == "normal":
            b = theta[self._ib]
            inv_b2 = 1.0 / self.bias.scale**2
            logp -= 0.5 * b * b * inv_b2
            grad[self._ib] -= b * inv_b2
        return -logp, -grad

    def _value_and_grad_general(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        return self.value_and_grad(theta)

    def value_and_grad_many(self, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """U and ∇U at each row of ``thetas`` (m, p): for NUTS chains advanced together, one (m, n) product each way
        on the fast logistic path; row by row otherwise."""
        if self._fast_many is not None:
            return self._fast_many(np.asarray(thetas, dtype=np.float64))
        return super().value_and_grad_many(thetas)

    def hessian(self, theta: np.ndarray, rel_step: float = 1e-5) -> np.ndarray:
        """∇²U at θ: XᵀWX from the likelihood's curvature plus the prior's (closed form for the Gaussian prior and
        the bias; the τ row and column, and a generic prior, by central differences of the gradient)."""
        if not hasattr(self.likelihood, "curvature") or self._w_kind in ("generic",):
            return super().hessian(theta, rel_step)
        d = self.d
        p = self.layout.size
        curv = self.likelihood.curvature(self.eta(theta))
        H = np.zeros((p, p))
        H[:d, :d] = (self.X * curv[:, None]).T @ self.X
        if self._ib is not None:
            col = self.X.T @ curv
            H[:d, self._ib] = H[self._ib, :d] = col
            H[self._ib, self._ib] = float(curv.sum())
            if self.bias.kind == "normal":
                H[self._ib, self._ib] += 1.0 / self.bias.scale**2
        diag = np.arange(d)
        if self._w_kind == "gaussian":
            H[diag, diag] += 1.0 / self.prior.tau**2
        elif self._w_kind in ("elastic", "elastic-l2"):
            H[diag, diag] += self._l2
        elif self._w_kind == "hier-gaussian":
            H[diag, diag] += math.exp(-2.0 * theta[self._it])
        if self._it is not None:  # τ's row and column by differences of the gradient
            self._set_tau_column(H, theta, rel_step)
        return H

    def _hessian_without_l1(self, theta: np.ndarray) -> np.ndarray:
        saved, fast = self._w_kind, self._fast
        self._w_kind = "elastic-l2" if saved == "elastic" else "none"
        self._fast = None  # the general path honours the switched-off prior term
        try:
            H = self.hessian(theta) if self._it is None else Potential.hessian(self, theta)
        finally:
            self._w_kind, self._fast = saved, fast
        if self._it is not None:
            self._set_tau_column(H, theta)
        return H


def row_start(data, model, tau: float | None = None) -> tuple[np.ndarray, float | None]:
    """(w, b) maximising the posterior of a row-wise model with a hierarchical prior's τ held at ``tau``: the
    penalised log-loss minimiser (a starting point for the samplers and the variational fit, never reported as
    a mode). A prior that is not an L1/L2 penalty starts from a light ridge fit (λ = 1)."""
    from ..solvers.logistic import logistic_map
    from ..solvers.objective import PenalizedLeastSquares

    prior = model.prior.conditional(tau=tau) if tau is not None else model.prior
    bias = model.bias
    y = model.spec.likelihood.validate_target(data.y)
    try:
        problem = PenalizedLeastSquares.from_prior(prior, 1.0, bias)
    except SpecError:
        problem = PenalizedLeastSquares(l2=1.0, bias="penalized" if bias.kind == "normal" else bias.kind,
                                        bias_l2=1.0 / bias.scale**2 if bias.kind == "normal" else 0.0)
    fit = logistic_map(data.X, y, problem, tol=1e-8, max_iter=100)
    return np.asarray(fit.w, dtype=np.float64), fit.b


def row_map_start(data, model) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Like :func:`bayesreg.infer.nuts.map_start` for a row-wise model: the starting sites (``w``, ``b``, ``tau``)
    and rough posterior sds of w (the diagonal of the inverse Hessian at the start)."""
    start: dict[str, np.ndarray] = {}
    tau = None
    if model.prior.hyperpriors():
        w_light, _ = row_start(data, _with_prior(model, 1.0))
        tau = max(float(np.sqrt(np.mean(w_light**2))), 1e-6)
        start["tau"] = np.float64(tau)
    w, b = row_start(data, model, tau)
    start["w"] = w
    if b is not None:
        start["b"] = np.float64(b)
    pot = RowPotential(data, model)
    H = pot.smooth_hessian(pot.layout.pack(start)) if pot.kinked else pot.hessian(pot.layout.pack(start))
    try:
        sd = np.sqrt(np.maximum(np.diag(np.linalg.inv(H))[: pot.d], 1e-300))
    except np.linalg.LinAlgError:
        sd = np.ones(pot.d)
    return start, sd


def _with_prior(model, tau: float):
    """The same model with a hierarchical prior's τ fixed (for a starting point)."""
    from ..model import Model
    from ..models import LinearRegressionModel

    spec = model.spec
    return LinearRegressionModel(Model(spec.likelihood, spec.prior.conditional(tau=tau), spec.bias))
