r"""The posterior mode (MAP) of a :class:`~bayesreg.model.Model`, computed, with its definition stated.

What "the MAP" means depends on which scales are random:

* **σ fixed, no hierarchical scale**: the joint mode of (w, b), the minimiser of the canonical objective
  ``½Σr² + σ²(−log p(w)) + σ²(−log p(b))`` (the penalised least-squares problem, solved by the prior's own
  solver: ridge, coordinate descent, proximal gradient; :func:`bayesreg.solvers.derived_map.derived_map`).
* **σ with a prior**: the joint mode of (w, b, σ), each on its own scale, i.e. the maximiser of

  .. math:: \log p(y \mid w, b, \sigma) + \log p(w \mid \sigma) + \log p(b) + \log p(\sigma).

  For fixed σ the best (w, b) is the penalised minimiser above, so the mode is found by profiling: a 1-D
  search over log σ (a grid that brackets it, then Brent to 1e-12) of the profile −log density
  f(σ) = n log σ + RSS(σ)/(2σ²) − log p(w*(σ) | σ) − log p(b*(σ)) − log p(σ). When f decreases without
  bound as σ → 0 (the fit interpolates and p(σ) does not vanish at 0) no mode exists, and none is returned.
* **a scale τ with a prior (hierarchical)**: the joint density is unbounded as τ → 0 with w → 0, so its "mode"
  is degenerate. For a Gaussian prior on w with σ fixed, τ's marginal posterior is closed form
  (p(τ | y) ∝ p(y | τ) p(τ), the Gaussian evidence), and the reported τ is its mode, with (w, b) their mode
  given that τ. Elsewhere no value is returned, with the reason.

No starting point or plug-in value is ever reported as a mode.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from .model import Model
from .suffstats import SufficientStats

__all__ = ["PosteriorMode", "posterior_mode", "penalised_minimiser"]


@dataclass(frozen=True)
class PosteriorMode:
    """A computed posterior mode: ``values`` (``w``, ``b``, ``sigma``, ``tau`` as present) and the
    ``definition`` of the mode they are; or ``values=None`` and the ``reason`` no mode is reported."""

    values: dict | None
    definition: str
    reason: str | None = None
    converged: bool = True
    info: dict = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.values is not None

    def to_dict(self) -> dict:
        values = None if self.values is None else {k: np.asarray(v).tolist() for k, v in self.values.items()}
        return {"values": values, "definition": self.definition, "reason": self.reason,
                "converged": self.converged}


def penalised_minimiser(stats: SufficientStats, prior, sigma: float, bias, *, local: bool = False):
    """The MAP of (w, b) at fixed σ: the minimiser of ½Σr² − σ² log p(w | σ) − σ² log p(b), by the solver the
    prior's capabilities admit (returns a :class:`~bayesreg.solvers.objective.MapResult`)."""
    from .solvers.derived_map import derived_map

    return derived_map(stats, None, prior.conditional(sigma=sigma), sigma, bias, local=local)


def _rss(stats: SufficientStats, w: np.ndarray, b: float | None) -> float:
    resid_mean = stats.y_mean - float(stats.x_mean @ w) - (b or 0.0)
    value = stats.syy - 2.0 * float(w @ stats.sxy) + float(w @ stats.sxx @ w) + stats.n * resid_mean**2
    return max(value, 0.0)


def _least_squares_rss(stats: SufficientStats, bias) -> float:
    """The smallest residual sum of squares any (w, b) reaches (b = 0 when the model has no bias)."""
    if bias.present:
        sxx, sxy, syy = stats.sxx, stats.sxy, stats.syy
    else:  # raw cross-products
        sxx = stats.sxx + stats.n * np.outer(stats.x_mean, stats.x_mean)
        sxy = stats.sxy + stats.n * stats.x_mean * stats.y_mean
        syy = stats.syy + stats.n * stats.y_mean**2
    w = np.linalg.lstsq(sxx, sxy, rcond=None)[0] if stats.d else np.zeros(0)
    return max(float(syy - w @ sxy), 0.0)


def _log_bias_prior(bias, b) -> float:
    if bias.kind != "normal":
        return 0.0
    return -0.5 * (b / bias.scale) ** 2 - math.log(bias.scale) - 0.5 * math.log(2 * math.pi)


def posterior_mode(data, model: Model) -> PosteriorMode:
    """The posterior mode of ``model`` on ``data`` as the module docstring defines it."""
    if model.prior.local_scales() is not None:
        return PosteriorMode(None, "none", reason=model.prior.local_scales().no_penalty_reason())
    if not model.likelihood.has_sufficient_statistics:
        return _row_mode(data, model)
    stats = SufficientStats.of(data)
    prior = model.prior
    if prior.hyperpriors():
        return _hierarchical_mode(data, stats, model)
    convex = prior.convex
    local_note = "" if convex else " (a local mode: the penalty is not convex, so the mode need not be unique)"
    if model.sigma is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            res = penalised_minimiser(stats, prior, model.sigma, model.bias, local=not convex)
        values = {"w": np.asarray(res.w, dtype=np.float64)}
        if res.b is not None:
            values["b"] = np.float64(res.b)
        return PosteriorMode(values, "the joint posterior mode of (w, b) at the fixed σ: the penalised "
                             "least-squares minimiser" + local_note, converged=bool(res.converged),
                             info={"solver": res.method, "iterations": res.iterations})
    return _profile_sigma_mode(stats, model, convex, local_note)


def _profile_sigma_mode(stats: SufficientStats, model: Model, convex: bool, local_note: str) -> PosteriorMode:
    from scipy.optimize import minimize_scalar

    prior, bias, sigma_prior = model.prior, model.bias, model.sigma_prior
    n = stats.n
    cache: dict[float, tuple] = {}

    def solve(log_s: float):
        if log_s not in cache:
            s = math.exp(log_s)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                res = penalised_minimiser(stats, prior, s, bias, local=not convex)
            w = np.asarray(res.w, dtype=np.float64)
            b = None if res.b is None else float(res.b)
            value = (n * log_s + _rss(stats, w, b) / (2.0 * s * s) + 0.5 * n * math.log(2 * math.pi)
                     - prior.log_density(w, sigma=s) - _log_bias_prior(bias, b) - sigma_prior.log_density(s))
            cache[log_s] = (value, w, b, bool(res.converged))
        return cache[log_s]

    scale = math.sqrt(max(stats.syy, 1e-300) / max(n, 1))
    rss_min = _least_squares_rss(stats, bias)
    interpolates = rss_min <= 1e-12 * max(stats.syy, 1e-300)
    # The profile mode has σ² ≈ (RSS + 2σ²·pen)/n ≥ RSS_min/n up to the priors' pull: a grid from a tenth of
    # √(RSS_min/n) brackets it (and keeps the solvers away from λ → 0, where coordinate descent stalls).
    if interpolates and sigma_prior.kind != "invgamma":
        return PosteriorMode(None, "the joint posterior mode of (w, b, σ)", reason=(
            "the joint posterior density grows without bound as σ → 0 (the data can be fitted exactly and the "
            f"{sigma_prior} prior does not vanish at 0), so no joint mode exists; give σ an invgamma prior or fix "
            "it"), converged=False)
    if interpolates:  # σ² ~ InvGamma(a, b) keeps the mode near σ² = 2b/(n + 2a + 1), where RSS → 0
        a, b = sigma_prior.params
        lower = 0.01 * math.sqrt(2.0 * b / (n + 2.0 * a + 1.0))
    else:
        lower = math.sqrt(rss_min / n) / 10.0
    grid = np.linspace(math.log(lower), math.log(scale * 1e2), 40)
    values = np.array([solve(float(g))[0] for g in grid])
    k = int(np.nanargmin(values))
    if k == 0:
        return PosteriorMode(None, "the joint posterior mode of (w, b, σ)", reason=(
            "the joint posterior density grows without bound as σ → 0 (the penalised fit nearly interpolates the "
            f"data and the {sigma_prior} prior does not vanish at 0), so no joint mode exists; give σ an "
            "invgamma prior or fix it"), converged=False)
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    res = minimize_scalar(lambda t: solve(float(t))[0], bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-12})
    value, w, b, converged = solve(float(res.x))
    out = {"w": w, "sigma": np.float64(math.exp(res.x))}
    if b is not None:
        out["b"] = np.float64(b)
    return PosteriorMode(out, "the joint posterior mode of (w, b, σ), each on its own scale (σ by a 1-D search "
                         "of the profile density, (w, b) the penalised minimiser at that σ)" + local_note,
                         converged=converged and bool(res.success),
                         info={"neg_log_density": value, "profile_evaluations": len(cache)})


def _hierarchical_mode(data, stats: SufficientStats, model: Model) -> PosteriorMode:
    from scipy.optimize import minimize_scalar

    prior = model.prior
    ((name, scale_prior),) = prior.hyperpriors().items()
    closed_form = prior.conditional(tau=1.0).gaussian_conjugacy() == "fixed-sigma" and model.sigma is not None
    if not closed_form:
        why = ("σ has a prior, so p(τ | y) needs σ integrated out" if model.sigma is None else
               f"the marginal posterior of {name} has no closed form for this prior on w")
        return PosteriorMode(None, f"the mode of the marginal posterior of {name}", reason=(
            f"the joint mode is degenerate ({name} → 0 with w → 0) and {why}; no MAP is reported (see the "
            "posterior summary instead)"), converged=False)
    from .infer.conjugate import gaussian_posterior

    sigma = model.sigma

    def neg_log_marginal(log_t: float) -> float:
        tau = math.exp(log_t)
        post = gaussian_posterior(stats, prior=prior.conditional(tau=tau), sigma=sigma, bias=model.bias)
        return -(post.log_evidence + scale_prior.log_density(tau))

    scale = math.sqrt(max(stats.syy, 1e-300) / max(stats.n, 1)) / max(math.sqrt(np.mean(np.diag(stats.sxx))
                                                                                 / max(stats.n, 1)), 1e-300)
    grid = np.log(scale) + np.linspace(-math.log(1e6), math.log(1e4), 41)
    values = np.array([neg_log_marginal(float(g)) for g in grid])
    k = int(np.nanargmin(values))
    if k in (0, len(grid) - 1):
        return PosteriorMode(None, f"the mode of the marginal posterior of {name}", reason=(
            f"p({name} | y) has no interior mode on [{math.exp(grid[0]):.3g}, {math.exp(grid[-1]):.3g}]"),
            converged=False)
    res = minimize_scalar(neg_log_marginal, bounds=(grid[k - 1], grid[k + 1]), method="bounded",
                          options={"xatol": 1e-12})
    tau = math.exp(res.x)
    post = gaussian_posterior(stats, prior=prior.conditional(tau=tau), sigma=sigma, bias=model.bias)
    values = {"w": np.asarray(post.w_mean, dtype=np.float64), name: np.float64(tau)}
    if post.b_mean is not None:
        values["b"] = np.float64(post.b_mean)
    return PosteriorMode(values, f"{name}: the mode of its marginal posterior p({name} | y) (w and b integrated "
                         f"out, closed form); (w, b): their joint mode given {name} at that value",
                         converged=bool(res.success))


def _row_mode(data, model: Model) -> PosteriorMode:
    """The mode of (w, b) for a likelihood without sufficient statistics (the logistic): the minimiser of
    Σ −log p(y_i | η_i) − log p(w) − log p(b), by Newton (L2), proximal Newton (L1, elastic net; exact zeros)
    or, for another prior, L-BFGS on the row potential (a local mode when the penalty is not convex)."""
    from .solvers.logistic import logistic_map
    from .solvers.objective import PenalizedLeastSquares

    prior = model.prior
    definition = "the joint posterior mode of (w, b): the penalised log-loss minimiser"
    if prior.hyperpriors():
        return PosteriorMode(None, "the mode of the marginal posterior of tau", reason=(
            "the joint mode is degenerate (τ → 0 with w → 0) and the marginal posterior of τ has no closed form "
            "for a classifier; no MAP is reported (see the posterior summary instead)"), converged=False)
    if not hasattr(data, "X"):
        if hasattr(data, "evaluator") and prior.elementwise_penalty(1.0) is not None:  # rows streamed, pass by pass
            from .solvers.logistic import logistic_map_passes

            problem = PenalizedLeastSquares.from_prior(prior, 1.0, model.bias)
            res = logistic_map_passes(None, data.d, problem, evaluate=data.evaluator(problem))
            values = {"w": np.asarray(res.w, dtype=np.float64)}
            if res.b is not None:
                values["b"] = np.float64(res.b)
            return PosteriorMode(values, definition + " (Newton, one pass over the streamed rows per step)",
                                 converged=bool(res.converged),
                                 info={"solver": res.method, "iterations": res.iterations, "objective": res.objective,
                                       "hessian": res.hessian})
        return PosteriorMode(None, definition, reason="the logistic MAP needs the data rows (use --engine memory)",
                             converged=False)
    y = model.likelihood.validate_target(data.y)
    if prior.elementwise_penalty(1.0) is not None and model.likelihood.name == "logistic":
        problem = PenalizedLeastSquares.from_prior(prior, 1.0, model.bias)
        res = logistic_map(data.X, y, problem)
        values = {"w": np.asarray(res.w, dtype=np.float64)}
        if res.b is not None:
            values["b"] = np.float64(res.b)
        return PosteriorMode(values, definition, converged=bool(res.converged),
                             info={"solver": res.method, "iterations": res.iterations, "objective": res.objective})
    return _row_mode_lbfgs(data, model, definition)


def _row_mode_lbfgs(data, model: Model, definition: str) -> PosteriorMode:
    from scipy.optimize import minimize

    from .infer.row_potential import RowPotential
    from .models import LinearRegressionModel

    pot = RowPotential(data, LinearRegressionModel(model))
    res = minimize(pot.value_and_grad, np.zeros(pot.layout.size), jac=True, method="L-BFGS-B",
                   options={"maxiter": 5000, "gtol": 1e-10})
    values = pot.layout.unpack(res.x)
    local = "" if model.prior.convex else " (a local mode: the penalty is not convex)"
    return PosteriorMode({k: np.asarray(v, dtype=np.float64) for k, v in values.items()}, definition + local,
                         converged=bool(res.success), info={"solver": "L-BFGS-B", "iterations": int(res.nit)})
