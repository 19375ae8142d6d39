r"""The negative log posterior of the linear-regression model, written on sufficient statistics: O(d²) per
gradient, whatever n is.

The Pyro model (:class:`~bayesreg.models.LinearRegressionModel`) evaluates its likelihood from the rows, O(nd)
per gradient, through Pyro's tracing machinery. The Gaussian likelihood depends on the data only through n, the
means and the centred cross-products (:class:`~bayesreg.suffstats.SufficientStats`):

.. math::

    \sum_i (y_i - x_i^\top w - b)^2 = \mathrm{RSS}_{\min} + (w - \hat w)^\top S_{xx} (w - \hat w) + n(\bar y - c)^2,
    \qquad c = b + \bar x^\top w,

with ŵ the centred least-squares fit (S_xx ŵ = S_xy) and RSS_min = S_yy − ŵᵀS_xy its residual sum: the same number
as S_yy − 2wᵀS_xy + wᵀS_xx w + n(ȳ − c)², written as a sum of non-negative terms (no cancellation when the fit is
close). With b absent (``bias="none"``), c = x̄ᵀw.

:class:`Potential` is the potential energy Pyro's HMC/NUTS use, on the same unconstrained coordinates as
``pyro.infer.mcmc.util.initialize_model(model)`` (so the two agree to rounding, constants included):

.. math::

    U(\theta) = -\log p(y \mid w, b, \sigma) - \log p(w \mid \cdot) - \log p(b) - \log p(\sigma) - \log p(\tau)
                - \log\sigma - \log\tau,

θ = (w, b, log σ, log τ), each present only when random (b unless ``bias="none"``; σ when it has a prior; τ with a
:class:`~bayesreg.priors.HierarchicalPrior`); the last two terms are the Jacobians of σ = e^u, τ = e^v. Value and
gradient come together from closed forms in NumPy for the priors bayesreg knows (Gaussian, Laplace, the
scale-free Gaussian, hierarchical, the three scale priors, the bias priors); any other prior on w that exposes
``pyro_dist(d)`` (real support) enters through its ``log_prob`` and torch autograd.

:meth:`Potential.torch_fn` wraps it for ``pyro.infer.NUTS(potential_fn=...)`` (one custom
``torch.autograd.Function``: value and gradient computed once, in one call).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from ..errors import SpecError
from ..priors import Bias, ScalePrior
from ..suffstats import SufficientStats

__all__ = ["Potential", "Layout"]

_LOG_2PI = math.log(2.0 * math.pi)

if hasattr(np, "vecdot"):
    _rowdot = np.vecdot  # the dot product of each row of a with the same row of b
else:  # NumPy < 2
    def _rowdot(a, b):
        return np.einsum("...i,...i->...", a, b)


@dataclass(frozen=True)
class Layout:
    """Where each site lives in the flat vector θ: ``w`` = θ[:d], then ``b``, ``sigma`` (log), ``tau`` (log)."""

    d: int
    has_b: bool
    has_sigma: bool
    has_tau: bool

    @property
    def size(self) -> int:
        return self.d + self.has_b + self.has_sigma + self.has_tau

    @property
    def index(self) -> dict[str, int]:
        """Position of each scalar site in θ."""
        out, k = {}, self.d
        for name, present in (("b", self.has_b), ("sigma", self.has_sigma), ("tau", self.has_tau)):
            if present:
                out[name] = k
                k += 1
        return out

    @property
    def sites(self) -> tuple[str, ...]:
        return ("w", *self.index)

    def pack(self, values: dict) -> np.ndarray:
        """θ from constrained site values ``{"w": (d,), "b", "sigma", "tau"}`` (σ, τ > 0 are logged)."""
        theta = np.empty(self.size)
        theta[: self.d] = np.asarray(values["w"], dtype=np.float64)
        for name, k in self.index.items():
            v = float(values[name])
            theta[k] = math.log(v) if name in ("sigma", "tau") else v
        return theta

    def unpack(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Constrained site values from θ (..., size): ``w`` (..., d), scalars (...)."""
        theta = np.asarray(theta, dtype=np.float64)
        out = {"w": theta[..., : self.d]}
        for name, k in self.index.items():
            out[name] = np.exp(theta[..., k]) if name in ("sigma", "tau") else theta[..., k]
        return out

    def from_unconstrained_sites(self, z: dict) -> np.ndarray:
        """θ from Pyro's unconstrained site dict (``sigma``, ``tau`` already on the log scale)."""
        theta = np.empty(self.size)
        theta[: self.d] = np.asarray(_numpy(z["w"]), dtype=np.float64)
        for name, k in self.index.items():
            theta[k] = float(_numpy(z[name]))
        return theta


def _numpy(x):
    return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)


def _scale_logp(prior: ScalePrior, u: float) -> tuple[float, float]:
    """log p(x) + u and its derivative in u, for x = e^u under a scale prior (the Jacobian e^u included)."""
    x = float(np.exp(u))
    if prior.kind == "halfnormal":
        (S,) = prior.params
        z = x / S
        return 0.5 * math.log(2.0 / math.pi) - math.log(S) - 0.5 * z * z + u, 1.0 - z * z
    if prior.kind == "halfcauchy":
        (S,) = prior.params
        z = x / S
        z2 = z * z
        return math.log(2.0 / math.pi) - math.log(S) - math.log1p(z2) + u, 1.0 - 2.0 * z2 / (1.0 + z2)
    # invgamma:A,B on x²: log IG(x²) + log(2x) (the square root's Jacobian), then + u
    A, B = prior.params
    inv_x2 = float(np.exp(-2.0 * u))
    value = (A * math.log(B) - special.gammaln(A) - (A + 1.0) * 2.0 * u - B * inv_x2 + math.log(2.0) + u) + u
    return value, -2.0 * (A + 1.0) + 2.0 * B * inv_x2 + 2.0


def _penalty_shape(prior) -> str | None:
    """``"gaussian"`` (pure L2), ``"laplace"`` (pure L1), ``"elastic"`` (both) or None, from the prior's
    ``elementwise_penalty``: the closed forms this potential has. The first two read their parameters as τ
    (``prior.tau``) and s (``prior.scale``); the elastic net as the per-unit weights −log p = a‖w‖₁ + (c/2)‖w‖²."""
    elementwise = None if prior.depends_on_sigma else prior.elementwise_penalty(1.0)
    if elementwise is None:
        return None
    l1, l2 = elementwise
    return "gaussian" if l1 == 0 and l2 > 0 else "laplace" if l2 == 0 and l1 > 0 else "elastic"


class Potential:
    """U(θ) = −log posterior density of ``model`` on ``data`` (module docstring), from sufficient statistics.

    Parameters
    ----------
    data
        A :class:`~bayesreg.data.Dataset` or :class:`~bayesreg.suffstats.SufficientStats`. With rows and a random
        σ, ŵ and RSS_min come from an orthogonal factorisation of the centred rows (as in the Gibbs sampler).
    model
        A :class:`~bayesreg.models.LinearRegressionModel`.

    Examples
    --------
    >>> import bayesreg as br
    >>> pot = Potential(br.load_diabetes(), br.LinearRegressionModel(br.Laplace(13.2), sigma=54.0))
    >>> value, grad = pot.value_and_grad(pot.layout.pack({"w": [0.0] * 10, "b": 152.0}))
    >>> grad.shape, pot.layout.sites
    ((11,), ('w', 'b'))
    """

    def __init__(self, data, model):
        from .gibbs import _prepare  # centred least squares: ŵ and RSS_min, from rows where possible

        prior = model.prior
        self.model = model
        self.prior = prior
        self.bias: Bias = model.bias
        self.sigma_fixed = model.sigma
        self.sigma_prior = model.sigma_prior
        stats = data if isinstance(data, SufficientStats) else SufficientStats.of(data)
        if self.sigma_fixed is None and not isinstance(data, SufficientStats):
            stats, _, rss_min, w_hat = _prepare(data, None, None)
        else:
            w_hat = np.linalg.lstsq(stats.sxx, stats.sxy, rcond=None)[0] if stats.d else np.zeros(0)
            rss_min = max(stats.syy - float(w_hat @ stats.sxy), 0.0)
        self.stats = stats
        d = stats.d
        self.d, self.n = d, stats.n
        self.w_hat, self.rss_min = w_hat, rss_min
        self.sxx = np.ascontiguousarray(stats.sxx)
        self.x_mean, self.y_mean = stats.x_mean, stats.y_mean
        has_tau = bool(prior.hyperpriors())
        self.layout = Layout(d, self.bias.present, self.sigma_fixed is None, has_tau)
        idx = self.layout.index
        self._ib, self._is, self._it = idx.get("b"), idx.get("sigma"), idx.get("tau")
        if prior.depends_on_sigma and self.sigma_fixed is not None:
            prior = self.prior = prior.conditional(sigma=self.sigma_fixed)
        if prior.depends_on_sigma:
            self._w_kind = "conjugate"
        else:
            self._set_weight_prior(prior, has_tau, d, "sufficient-statistics potential")
        self._const = -0.5 * self.n * _LOG_2PI
        if self.sigma_fixed is not None:
            self._const -= self.n * math.log(self.sigma_fixed)
        if self.bias.kind == "normal":
            self._const -= math.log(self.bias.scale) + 0.5 * _LOG_2PI
        if self._w_kind == "conjugate":
            self._const += 0.5 * d * math.log(prior.lam) - 0.5 * d * _LOG_2PI
        else:
            self._const += self._weight_prior_const(prior, d)
        self._A = None
        if self.sigma_fixed is not None and self._w_kind in ("gaussian", "laplace", "elastic", "generic"):
            self._build_fixed_sigma_quadratic()

    def _set_weight_prior(self, prior, has_tau: bool, d: int, what: str) -> None:
        """How −log p(w) is evaluated (``_w_kind``: gaussian, laplace, elastic, hier-gaussian, hier-laplace or
        generic) and its parameters, from the prior's penalty shape; shared with the row potential."""
        shape = _penalty_shape(prior.conditional(tau=1.0) if has_tau else prior)
        if shape in ("gaussian", "laplace"):
            self._w_kind = ("hier-" if has_tau else "") + shape
        elif not has_tau and shape == "elastic":
            self._w_kind = "elastic"
            self._l1, self._l2 = prior.elementwise_penalty(1.0)  # −log p(w) = l1‖w‖₁ + (l2/2)‖w‖² + const
        elif not has_tau and hasattr(prior, "pyro_dist"):
            self._w_kind = "generic"
            self._generic_dist = prior.pyro_dist(d)
            from torch.distributions import constraints

            support = self._generic_dist.support
            base = getattr(support, "base_constraint", support)
            if base is not constraints.real:
                raise SpecError(f"the {what} needs a prior on w with real support; {type(prior).__name__} has "
                                f"{support}: use the Pyro model path")
        else:
            raise SpecError(f"no {what} for a prior of type {type(prior).__name__}: it needs pyro_dist(d)")
        if self._w_kind == "laplace":
            self._inv_scale = 1.0 / prior.scale
        elif self._w_kind == "elastic":
            self._inv_scale = self._l1

    def _weight_prior_const(self, prior, d: int) -> float:
        """The part of log p(w | τ) that does not depend on w (or, hierarchical, on τ) for ``_w_kind``."""
        kind = self._w_kind
        if kind == "gaussian":
            return -(d * math.log(prior.tau) + 0.5 * d * _LOG_2PI)
        if kind == "laplace":
            return -d * math.log(2.0 * prior.scale)
        if kind == "hier-gaussian":
            return -0.5 * d * _LOG_2PI
        if kind == "hier-laplace":
            return -d * math.log(2.0)
        if kind == "elastic":
            return prior.log_density(np.zeros(d))  # −d log Z
        return 0.0

    @property
    def kinked(self) -> bool:
        """Whether −log p(w) has an L1 kink at w_j = 0 (Laplace, hierarchical Laplace, elastic net)."""
        return self._w_kind in ("laplace", "hier-laplace", "elastic")

    @property
    def is_gaussian(self) -> bool:
        """Whether the posterior of θ is exactly Gaussian (Gaussian prior on w, σ fixed, no τ)."""
        return self._w_kind == "gaussian" and self.sigma_fixed is not None and not self.layout.has_tau

    # ------------------------------------------------------------------------------------------- evaluation

    def _build_fixed_sigma_quadratic(self) -> None:
        """With σ fixed, everything but an L1 (or generic) prior term is a quadratic in θ = (w, b): keep it as
        U_q(θ) = U_q* + ½(θ − θ_q)ᵀA(θ − θ_q), A its (exact) Hessian and θ_q a minimiser, so that a gradient costs
        one d × d product (the same numbers as the general formula, without its dozen small array operations)."""
        d, n, p = self.d, self.n, self.layout.size
        inv_s2 = 1.0 / self.sigma_fixed**2
        A = np.zeros((p, p))
        A[:d, :d] = self.sxx * inv_s2 + (n * inv_s2) * np.outer(self.x_mean, self.x_mean)
        if self._ib is not None:
            A[:d, self._ib] = A[self._ib, :d] = n * inv_s2 * self.x_mean
            A[self._ib, self._ib] = n * inv_s2
            if self.bias.kind == "normal":
                A[self._ib, self._ib] += 1.0 / self.bias.scale**2
        if self._w_kind == "gaussian":
            A[np.arange(d), np.arange(d)] += 1.0 / self.prior.tau**2
        elif self._w_kind == "elastic":
            A[np.arange(d), np.arange(d)] += self._l2
        smooth_part = {"gaussian": "gaussian", "elastic": "elastic-l2"}.get(self._w_kind, "none")
        saved, self._w_kind = self._w_kind, smooth_part
        try:
            origin = np.zeros(p)
            _, g0 = self._value_and_grad_general(origin)
            theta_q = origin - np.linalg.lstsq(A, g0, rcond=None)[0]
            _, g1 = self._value_and_grad_general(theta_q)  # one refinement step
            theta_q = theta_q - np.linalg.lstsq(A, g1, rcond=None)[0]
            value_q, _ = self._value_and_grad_general(theta_q)
        finally:
            self._w_kind = saved
        self._A, self._theta_q, self._value_q = np.ascontiguousarray(A), theta_q, value_q
        self._set_many_factors()

    def _set_many_factors(self) -> None:
        """What :meth:`value_and_grad_many` needs: A as a low-rank factor when it has one, and the L1 weights.

        With fewer rows than weights (n < d) the likelihood's Hessian has rank ≤ n, so, unless a Gaussian or
        elastic-net prior fills it in, A = QΛQᵀ = FᵀF with F = Λ_r^{1/2}Q_rᵀ over its r non-negligible eigenvalues
        (λ > 10⁻¹² λ_max; the others are rounding in A itself) and Aδ = Fᵀ(Fδ) costs 2rp instead of p²: used when
        r ≤ p/4. The L1 term s⁻¹‖w‖₁ (or the elastic net's l₁‖w‖₁) is kept as a weight per coordinate, zero off w,
        so that its value and gradient are k·|θ| = (k ⊙ sign θ)·θ and k ⊙ sign θ."""
        p, d = self.layout.size, self.d
        self._F = None
        if self._w_kind in ("laplace", "elastic", "gaussian") and p >= 8:
            vals, vecs = np.linalg.eigh(self._A)
            top = max(float(vals[-1]), 0.0)
            keep = vals > 1e-12 * top
            if top > 0 and 4 * int(keep.sum()) <= p:
                F = np.sqrt(vals[keep])[:, None] * vecs[:, keep].T
                self._F, self._Ft = np.ascontiguousarray(F), np.ascontiguousarray(F.T)
        self._l1_weights = None
        if self._w_kind in ("laplace", "elastic"):
            k = np.zeros(p)
            k[:d] = self._inv_scale
            self._l1_weights = k

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """U(θ) and ∇U(θ) in one pass, O(d²)."""
        if self._A is None:
            return self._value_and_grad_general(theta)
        delta = theta - self._theta_q
        grad = self._A @ delta
        value = self._value_q + 0.5 * float(delta @ grad)
        kind = self._w_kind
        if kind in ("laplace", "elastic"):
            w = theta[: self.d]
            inv = self._inv_scale
            value += inv * float(np.abs(w).sum())
            grad[: self.d] += inv * np.sign(w)
        elif kind == "generic":
            lp, g = self._generic_logp(theta[: self.d])
            value -= lp
            grad[: self.d] -= g
        return value, grad

    def value_and_grad_many(self, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """U and ∇U at each row of ``thetas`` (m, p), for NUTS chains advanced together: with σ fixed the same
        closed form as :meth:`value_and_grad`, U = U_q + ½δᵀAδ + k·|θ| and ∇U = Aδ + k ⊙ sign θ (δ = θ − θ_q, k the
        L1 weights, :meth:`_set_many_factors`), in one set of array operations for all rows, with Aδ = Fᵀ(Fδ) when
        A has a low-rank factor; the same numbers as row by row, to rounding. Otherwise row by row."""
        thetas = np.asarray(thetas, dtype=np.float64)
        if self._A is None or self._w_kind not in ("gaussian", "laplace", "elastic") or thetas.ndim != 2:
            out = [self.value_and_grad(t) for t in np.atleast_2d(thetas)]
            return np.array([o[0] for o in out]), np.array([o[1] for o in out])
        delta = thetas - self._theta_q
        if self._F is not None:
            fd = delta @ self._Ft
            grad = fd @ self._F
            quad = _rowdot(fd, fd)
        else:
            grad = delta @ self._A
            quad = _rowdot(delta, grad)
        value = 0.5 * quad + self._value_q
        if self._l1_weights is not None:
            kink = np.sign(thetas) * self._l1_weights
            grad += kink
            value += _rowdot(kink, thetas)
        return value, grad

    def scaled_many(self, scale: np.ndarray):
        r"""U and ∇ₓU at each row x of an (m, p) array, for θ = scale ⊙ x (scale > 0): the coordinates in which NUTS
        with the diagonal inverse mass matrix scale² has the identity mass matrix (:class:`~bayesreg.infer.nuts.
        _Ensemble`). With σ fixed the scale is folded into the closed form once: with x_q = θ_q/scale,
        F_x = F diag(scale) (or A_x = diag(scale) A diag(scale)) and k_x = k ⊙ scale (sign θ = sign x),

        .. math::

            U = U_q + \tfrac12\|F_x(x - x_q)\|^2 + k_x\cdot|x|, \qquad
            \nabla_x U = F_x^\top F_x (x - x_q) + k_x \odot \operatorname{sign} x,

        so that a batch costs the same calls as :meth:`value_and_grad_many`. Otherwise that with θ = scale ⊙ x and
        ∇ₓU = scale ⊙ ∇_θU."""
        scale = np.asarray(scale, dtype=np.float64)
        if self._A is None or self._w_kind not in ("gaussian", "laplace", "elastic"):
            def scaled(xs):
                values, grads = self.value_and_grad_many(xs * scale)
                return values, grads * scale
            return scaled
        x_q, value_q = self._theta_q / scale, self._value_q
        kx = None if self._l1_weights is None else self._l1_weights * scale
        if self._F is not None:  # with F_x/√2 and √2 F_x: fd/√2 = δ(F_x/√2)ᵀ, ½‖fd‖² = ‖fd/√2‖², ∇ = (fd/√2)(√2 F_x)
            Fx = self._F * scale
            half_t = np.ascontiguousarray(Fx.T / math.sqrt(2.0))
            double = np.ascontiguousarray(Fx * math.sqrt(2.0))
            Ax = None
        else:
            Ax = np.ascontiguousarray(self._A * scale * scale[:, None])

        def scaled(xs):
            delta = xs - x_q
            if Ax is None:
                fd = delta @ half_t
                grad = fd @ double
                value = _rowdot(fd, fd) + value_q
            else:
                grad = delta @ Ax
                value = 0.5 * _rowdot(delta, grad) + value_q
            if kx is not None:
                kink = np.sign(xs) * kx
                grad += kink
                value += _rowdot(kink, xs)
            return value, grad

        return scaled

    def _value_and_grad_general(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """U(θ) and ∇U(θ) by the general formula (module docstring), any σ, τ and prior."""
        d, n = self.d, self.n
        w = theta[:d]
        grad = np.empty_like(theta)
        b = theta[self._ib] if self._ib is not None else 0.0
        resid_c = self.y_mean - (b + self.x_mean @ w)  # ȳ − c
        delta = w - self.w_hat
        s_delta = self.sxx @ delta
        quad = self.rss_min + float(delta @ s_delta) + n * resid_c * resid_c
        if self._is is None:
            inv_s2 = 1.0 / self.sigma_fixed**2
            logp = self._const - 0.5 * quad * inv_s2
        else:
            u = theta[self._is]
            inv_s2 = float(np.exp(-2.0 * u))
            logp = self._const - 0.5 * quad * inv_s2 - n * u
            g_sigma = quad * inv_s2 - n
        # d logp / dw (likelihood part), d logp / db
        gw = (n * resid_c) * self.x_mean - s_delta
        gw *= inv_s2
        if self._ib is not None:
            grad[self._ib] = n * resid_c * inv_s2
        # prior on w
        if self._w_kind == "conjugate":  # w | σ ~ N(0, σ²/λ)
            lam = self.prior.lam
            ww = float(w @ w)
            logp -= 0.5 * lam * ww * inv_s2 + d * theta[self._is]
            gw -= lam * inv_s2 * w
            g_sigma += lam * ww * inv_s2 - d
        else:
            lp_w, g_w, g_v = self._weight_prior_terms(w, theta)
            logp += lp_w
            gw += g_w
            if g_v is not None:
                grad[self._it] = -g_v
        grad[:d] = -gw
        if self.bias.kind == "normal":
            inv_b2 = 1.0 / self.bias.scale**2
            logp -= 0.5 * b * b * inv_b2
            grad[self._ib] -= b * inv_b2
        if self._ib is not None:
            grad[self._ib] = -grad[self._ib]
        if self._is is not None:
            lp, dlp = _scale_logp(self.sigma_prior, theta[self._is])
            logp += lp
            grad[self._is] = -(g_sigma + dlp)
        return -logp, grad

    def _weight_prior_terms(self, w: np.ndarray, theta: np.ndarray) -> tuple[float, np.ndarray, float | None]:
        """log p(w | τ) + log p(τ) + log τ (the Jacobian) up to the constant in ``_const``, its gradient in w, and
        its derivative in v = log τ (None without a hierarchical τ), for every prior kind but the σ-scaled
        conjugate one. ``"none"`` leaves the prior out; ``"elastic-l2"`` keeps only the elastic net's smooth part
        (both for the Hessian with an L1 kink switched off). Shared by the row potential."""
        kind = self._w_kind
        if kind == "gaussian":
            t2 = 1.0 / self.prior.tau**2
            return -0.5 * t2 * float(w @ w), -t2 * w, None
        if kind == "laplace":
            inv = 1.0 / self.prior.scale
            return -inv * float(np.abs(w).sum()), -inv * np.sign(w), None
        if kind in ("elastic", "elastic-l2"):
            logp, gw = -0.5 * self._l2 * float(w @ w), -self._l2 * w
            if kind == "elastic":
                logp -= self._l1 * float(np.abs(w).sum())
                gw = gw - self._l1 * np.sign(w)
            return logp, gw, None
        if kind.startswith("hier"):
            d = len(w)
            v = theta[self._it]
            tau = float(np.exp(v))
            if kind == "hier-gaussian":
                ww = float(w @ w)
                inv_t2 = 1.0 / (tau * tau)
                logp, gw, g_tau = -(0.5 * ww * inv_t2 + d * v), -inv_t2 * w, ww * inv_t2 - d
            else:
                l1 = float(np.abs(w).sum())
                logp, gw, g_tau = -(l1 / tau + d * v), -np.sign(w) / tau, l1 / tau - d
            lp, dlp = _scale_logp(self.prior.scale_prior, v)
            return logp + lp, gw, g_tau + dlp
        if kind == "generic":
            lp, g = self._generic_logp(w)
            return lp, g, None
        return 0.0, np.zeros_like(w), None

    def __call__(self, theta: np.ndarray) -> float:
        return self.value_and_grad(theta)[0]

    def _generic_logp(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        import torch

        with torch.enable_grad():  # also inside a custom autograd Function's forward, where grad mode is off
            wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
            lp = self._generic_dist.log_prob(wt).sum()
            (g,) = torch.autograd.grad(lp, (wt,))
        return float(lp.detach()), g.numpy()

    # ------------------------------------------------------------------------------------------ for Pyro

    def torch_fn(self, site: str = "theta"):
        """A ``potential_fn`` for ``pyro.infer.NUTS``/``HMC``: takes ``{site: θ}`` (a float64 tensor), returns U as
        a tensor whose gradient (from :meth:`value_and_grad`, no autograd graph) flows back to θ."""
        import torch

        pot = self

        class _U(torch.autograd.Function):
            @staticmethod
            def forward(ctx, theta):
                value, grad = pot.value_and_grad(theta.detach().numpy())
                ctx.save_for_backward(torch.from_numpy(grad))
                return theta.new_tensor(value)

            @staticmethod
            def backward(ctx, g):
                (grad,) = ctx.saved_tensors
                return g * grad

        def potential_fn(z):
            return _U.apply(z[site])

        return potential_fn

    # -------------------------------------------------------------------------------- curvature at a point

    def hessian(self, theta: np.ndarray, rel_step: float = 1e-5) -> np.ndarray:
        """∇²U at θ: closed form for the likelihood and Gaussian parts, central differences of the gradient for
        the rest. The Laplace prior's kink has no curvature; :meth:`laplace_covariance` gives it a surrogate."""
        p = self.layout.size
        H = np.empty((p, p))
        _, g0 = self.value_and_grad(theta)
        for k in range(p):
            h = rel_step * max(1.0, abs(theta[k]))
            tp, tm = theta.copy(), theta.copy()
            tp[k] += h
            tm[k] -= h
            H[:, k] = (self.value_and_grad(tp)[1] - self.value_and_grad(tm)[1]) / (2.0 * h)
        return 0.5 * (H + H.T)

    def smooth_hessian(self, theta: np.ndarray) -> np.ndarray:
        """∇²U at θ with the Laplace prior's |w_j| replaced by a smooth surrogate (see :meth:`laplace_covariance`)."""
        d = self.d
        if not self.kinked:
            return self.hessian(theta)
        # The likelihood (+ bias, σ, τ priors) part, differentiated without the L1 term: a Gaussian prior of
        # huge scale stands in for it, then the surrogate curvature is added on the diagonal.
        H = self._hessian_without_l1(theta)
        scale = (self.prior.scale if self._w_kind == "laplace" else 1.0 / self._l1 if self._w_kind == "elastic"
                 else float(np.exp(theta[self._it])))
        w = theta[:d]
        # Scale-mixture surrogate: the Laplace prior is N(0, v_j) with E[1/v_j | w_j] = 1/(s|w_j|). With |w_j|
        # replaced by √(w_j² + 2Σ_jj), Σ the marginal covariance of the resulting Gaussian approximation (so that a
        # weight whose mode is 0 gets the width its correlated neighbours allow; the factor 2 makes the prior alone
        # come out with its own variance 2s²), the precisions κ_j are found by fixed-point iteration from the
        # moment-matched Gaussian (κ = 1/(2s²)).
        kappa = np.full(d, 1.0 / (2.0 * scale**2))
        idx = np.arange(d)
        for _ in range(30):
            Hk = H.copy()
            Hk[idx, idx] += kappa
            try:
                var = np.diag(np.linalg.inv(Hk))[:d]
            except np.linalg.LinAlgError:
                break
            new = 1.0 / (scale * np.sqrt(w * w + 2.0 * np.maximum(var, 0.0)))
            if np.allclose(new, kappa, rtol=1e-3):
                kappa = new
                break
            kappa = new
        H[idx, idx] += kappa
        return H

    def _hessian_without_l1(self, theta: np.ndarray) -> np.ndarray:
        """The Hessian with the prior on w left out, except τ's row and column (which cross no kink in w and are
        differentiated with the whole potential)."""
        saved = self._w_kind
        self._w_kind = "elastic-l2" if saved == "elastic" else "none"
        try:
            H = self.hessian(theta)
        finally:
            self._w_kind = saved
        if self._it is not None:
            self._set_tau_column(H, theta)
        return H

    def _set_tau_column(self, H: np.ndarray, theta: np.ndarray, rel_step: float = 1e-5) -> None:
        """H's row and column of log τ, by central differences of the whole potential's gradient."""
        k = self._it
        h = rel_step * max(1.0, abs(theta[k]))
        tp, tm = theta.copy(), theta.copy()
        tp[k] += h
        tm[k] -= h
        col = (self.value_and_grad(tp)[1] - self.value_and_grad(tm)[1]) / (2.0 * h)
        H[:, k] = col
        H[k, :] = col

    def laplace_covariance(self, theta: np.ndarray) -> np.ndarray:
        """(∇²U)⁻¹ at θ (the MAP): the exact posterior covariance of θ for a Gaussian prior with σ fixed, its
        Laplace approximation otherwise (with the smooth surrogate for an L1 kink), regularised to be positive
        definite."""
        H = self.smooth_hessian(theta)
        H = 0.5 * (H + H.T)
        vals, vecs = np.linalg.eigh(H)
        floor = max(float(vals.max()), 1e-300) * 1e-10
        vals = np.maximum(vals, floor)
        return (vecs / vals) @ vecs.T
