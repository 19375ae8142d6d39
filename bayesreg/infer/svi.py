r"""Variational inference (SVI) with Pyro's autoguides on :class:`~bayesreg.models.LinearRegressionModel`.

The objective
-------------
SVI picks, within a family of distributions :math:`q_\phi` over the latent sites θ = (σ?, w, b?), the member
that maximises the evidence lower bound

.. math::

    \mathrm{ELBO}(\phi) = \mathbb E_{q_\phi}\big[\log p(y, \theta) - \log q_\phi(\theta)\big]
                        = \log p(y) - \mathrm{KL}\big(q_\phi \,\|\, p(\theta \mid y)\big) \le \log p(y).

It is in nats and is the model's own ELBO (densities with respect to Lebesgue measure on σ, w, b): with σ fixed,
a Gaussian prior and the full-rank family it reaches the exact log evidence of
:func:`~bayesreg.infer.conjugate.gaussian_posterior`. Each step estimates it from ``num_particles``
reparameterised draws (vectorised) and takes a ``ClippedAdam`` step (learning rate decaying geometrically to
``lr/10`` at ``max_steps``) through Pyro's ``SVI``. Two gradient estimators:

* ``estimator="stl"`` (default), "sticking the landing" (Roeder, Wu & Duvenaud 2017): log q is evaluated with its
  parameters detached, leaving only the path derivative. Its variance vanishes where q equals the posterior, so
  a Gaussian posterior is recovered to Monte Carlo precision. Pyro's ``Trace_ELBO`` also differentiates log q
  through its parameters (a score term of mean zero whose variance does not vanish): on the D2L problem
  (D = 201 latent coordinates, 20,301 covariance parameters) that noise left the full-rank guide 3.2 nats below
  the evidence, with sds up to 8 % too small, after 3,800 steps; STL: 0.0003 nats and 2 % in 1,000 steps.
* ``estimator="trace"``: Pyro's ``Trace_ELBO(num_particles, vectorize_particles=True)`` as is.

Guide families
--------------
Each is a Gaussian over the unconstrained latents u = (log σ?, w, b?), built by Pyro's own classes:

* ``"normal"`` — ``AutoNormal``, mean-field: independent coordinates. It **cannot represent posterior
  correlations**. Minimising KL(q‖p) matches each coordinate's *conditional* precision, so for a Gaussian
  posterior with precision Λ its sds are 1/√Λ_jj, smaller than the marginal sds √Σ_jj whenever coordinate j
  is correlated with the others: the marginals are **under-dispersed** (diabetes with a wide prior, whose
  columns s1–s5 are collinear: s1's sd is 0.15 of the exact one). The means are exact for a Gaussian posterior.
* ``"mvn"`` — ``AutoMultivariateNormal``, full rank (Cholesky factor, D(D+1)/2 parameters): any Gaussian, hence
  the exact posterior when that is Gaussian (Gaussian prior, σ fixed). It cannot represent skewness or heavy
  tails (σ's posterior, a Laplace prior's kink at 0).
* ``"lowrank"`` — ``AutoLowRankMultivariateNormal``: covariance diag + W Wᵀ, W of rank r (default round(√D),
  as Pyro): the r strongest correlation directions are captured, the rest is mean-field, so its dispersion and
  ELBO lie between the two; with r ≥ D − 1 it is the full-rank family.

Coordinates and start
---------------------
Adam's step is absolute in parameter units, and posterior sds here range from 10⁻³ (D2L) to 10² (diabetes), so
the guide lives in coordinates z with u = m + A z: m is the start point, unconstrained, and H the Hessian of
−log p(y, θ(u)) − log|dθ/du| at m. For ``"mvn"``, A is a triangular square root of H⁻¹ (the Laplace
covariance): the full-rank family is closed under any affine map, so nothing changes in what it can represent.
For ``"normal"`` and ``"lowrank"``, closed only under diagonal maps, A = diag(1/√H_jj). Where H is not safely
positive definite (say a Laplace prior with d > n) A is diagonal for every family. The Jacobian log|det A| is
added, so the ELBO stays the model's. The guide starts at z = 0 (``init_to_value``) with sd 0.5
(``init_scale``): half the Laplace sds (low rank: half its eigen-truncation of the Laplace covariance;
mean-field: half the conditional sds).

The start m is the MAP of (w, b) at σ (σ fixed: the model's MAP, by :func:`~bayesreg.solvers.closed_form.ridge`
or :func:`~bayesreg.solvers.pyro_map.pyro_map`). With σ random, σ starts at the fixed point of
σ² = RSS(MAP at σ)/(n − k), k the number of coefficients, iterated from the residual sd of least squares (which
strong shrinkage leaves well below the posterior's σ), or at the sd of y when n ≤ k.

Convergence rule
----------------
Every ``window`` steps, once at least ``min_steps`` steps and two windows are done, the mean per-step ELBO over
the last window, m₁, is compared with that over the window before, m₀. The check passes when

.. math:: m_1 - m_0 \le \mathrm{tol} + 2\,\mathrm{se}, \qquad \mathrm{se} = \sqrt{(v_0 + v_1)/\mathrm{window}}

(v₀, v₁ the variances of the per-step ELBO within the windows): the ELBO has stopped rising by more than
``tol`` nats per window beyond what its own noise explains. ``tol`` is absolute, in nats, because an ELBO
difference is a KL difference: unit-free whatever the units of y. The run has converged after two consecutive
passing checks and stops; otherwise it stops at ``max_steps`` with a
:class:`~bayesreg.solvers.ConvergenceWarning` and ``info["converged"] = False``. Either way the fitted guide is
the average of its parameters over the last window (Polyak averaging: it removes Adam's jitter), and
``info["elbo_final"]`` is that guide's ELBO from 1,000 draws. Like any plateau rule it can read a slow climb as
convergence: started far from the posterior mean (say 3 sds off in every coordinate of a strongly correlated
posterior), the mean-field guide creeps along the correlated directions and may stop early, with its means off.
The default start, the MAP, avoids that.

Draws
-----
``draws × chains`` independent draws from the fitted guide (Pyro's ``Predictive`` on the guide, one vectorised
call) mapped back to (σ, w, b); the split into "chains" only gives the ``(chain, draw, ...)`` shape of
:class:`~bayesreg.infer.result.Posterior`.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyro
import torch
from pyro import distributions as dist
from pyro import poutine
from pyro.infer import SVI, Predictive, Trace_ELBO
from pyro.infer.autoguide import (
    AutoLowRankMultivariateNormal,
    AutoMultivariateNormal,
    AutoNormal,
    init_to_value,
)
from pyro.optim import ClippedAdam
from pyro.poutine.util import site_is_subsample
from torch.distributions import biject_to

from ..data import Dataset
from ..errors import SpecError
from ..models import LinearRegressionModel, as_tensor
from ..solvers.objective import ConvergenceWarning, PenalizedLeastSquares
from ..suffstats import SufficientStats
from .result import Posterior, RunDiagnostics

__all__ = ["svi", "GUIDES", "ESTIMATORS"]

#: Guide names and the Pyro autoguide each one builds.
GUIDES = {"normal": AutoNormal, "mvn": AutoMultivariateNormal, "lowrank": AutoLowRankMultivariateNormal}
#: ELBO gradient estimators: "sticking the landing" or Pyro's ``Trace_ELBO``.
ESTIMATORS = ("stl", "trace")

_INIT_SCALE = 0.5  # initial guide sd in z units, i.e. × the Laplace sd of its family
_LR_FINAL_FRACTION = 0.1  # the learning rate decays geometrically to lr × this at max_steps
_CLIP_NORM = 10.0
_PROGRESS_EVERY = 100
_FINAL_PARTICLES = 1000  # draws for the ELBO of the fitted guide
_FINAL_CHUNK = 100
_MIN_CURVATURE = 1e-8  # least eigenvalue of the unit-diagonal Hessian for a Laplace start
_MIN_DIAG_SHARE = 1e-2  # low-rank start: the diagonal part keeps at least this share of each variance


@dataclass(frozen=True)
class _Coordinates:
    """The guide's coordinates z ∈ ℝᴰ: unconstrained latents u = m + A z, split into the model's sites and
    mapped to their supports, θ = T(u)."""

    sites: tuple[tuple[str, tuple[int, ...], object], ...]  # (name, shape, bijection ℝ → support)
    loc: torch.Tensor  # m, (D,)
    A: torch.Tensor  # (D, D), triangular
    laplace_cov: torch.Tensor | None  # the Laplace covariance in z units; None where H is not positive definite
    whitened: bool  # A A ᵀ = H⁻¹ (else A = diag(1/√H_jj))

    @property
    def dim(self) -> int:
        return self.loc.shape[0]

    def constrain(self, z: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """θ at z (..., D), and log|dθ/dz| (...)."""
        values, logdet = _unpack(self.sites, self.loc + z @ self.A.T)
        return values, logdet + torch.log(torch.abs(torch.diagonal(self.A))).sum()


def svi(data: Dataset, model: LinearRegressionModel, *, guide: str = "mvn", rank: int | None = None,
        draws: int = 1000, chains: int = 4, seed: int = 0, lr: float = 0.01, max_steps: int = 20_000,
        min_steps: int = 500, window: int = 200, tol: float = 0.01, init: dict | None = None,
        progress: Callable[[int, int, float], None] | None = None, num_particles: int = 16,
        estimator: str = "stl") -> Posterior:
    """Fit a Pyro autoguide to the posterior of ``model`` on ``data`` by SVI, and draw from it.

    Parameters
    ----------
    data
        The training data.
    model
        The Pyro model: prior on w, σ fixed or with a prior, bias.
    guide
        ``"normal"`` (mean-field ``AutoNormal``), ``"mvn"`` (full-rank ``AutoMultivariateNormal``) or
        ``"lowrank"`` (``AutoLowRankMultivariateNormal``); what each can represent: module docstring.
    rank
        Rank of the low-rank part (``"lowrank"`` only); default round(√D), D the number of latent coordinates.
    draws, chains
        ``draws × chains`` independent draws from the fitted guide, shaped (chains, draws).
    seed
        Seeds torch's generator for the fit and the draws; the caller's generator state is restored after.
    lr
        Initial learning rate of ``ClippedAdam`` (in the guide's coordinates, units of the Laplace sds); it
        decays geometrically to ``lr/10`` at ``max_steps``.
    max_steps, min_steps, window, tol
        The convergence rule (module docstring): checked every ``window`` steps from ``min_steps`` on; the
        ELBO's rise between consecutive windows must be ≤ ``tol`` nats + 2 standard errors, twice in a row.
    init
        Starting values ``{"w": ..., "b": ..., "sigma": ...}`` (constrained); sites left out start at the MAP
        of (w, b) at σ, with σ random at a plug-in σ (module docstring).
    progress
        Called as ``progress(step, max_steps, elbo)`` every 100 steps and at the last step.
    num_particles
        Draws per ELBO gradient estimate (vectorised).
    estimator
        ``"stl"`` (sticking the landing, default) or ``"trace"`` (Pyro's ``Trace_ELBO``): module docstring.

    Returns
    -------
    Posterior
        ``method="svi"``, draws of ``w`` (chains, draws, d), ``b`` and ``sigma`` where they are random.
        ``info``: ``elbo`` (the per-step ELBO estimates, the trace), ``converged``, ``steps``, ``guide``,
        ``rank``, ``elbo_final`` (the fitted guide's ELBO), ``start`` (the starting point), ``whitened``,
        ``estimator``, ``lr``, ``num_particles``, ``window``, ``tol``.

    Raises
    ------
    SpecError
        An unknown guide or estimator, a bad rank, non-positive lr / tol / step counts, a bad ``init``.
    """
    guide, estimator = _check_options(guide, rank, draws, chains, lr, max_steps, min_steps, window, tol,
                                      num_particles, estimator)
    if not isinstance(data, Dataset):
        raise SpecError(f"svi() takes a bayesreg Dataset, got {type(data).__name__}; use bayesreg.data.from_arrays")
    if not isinstance(model, LinearRegressionModel):
        raise SpecError(f"svi() takes a LinearRegressionModel, got {type(model).__name__}")
    start = time.perf_counter()
    X, y = as_tensor(data.X), as_tensor(model.spec.likelihood.validate_target(data.y))
    with pyro.get_param_store().scope(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        start_point = _start_point(data, model, init)
        coords = _coordinates(model, X, y, start_point, whiten=guide == "mvn")
        if guide == "lowrank":
            rank = int(round(coords.dim**0.5)) if rank is None else int(rank)
            if rank > coords.dim:
                raise SpecError(f"rank = {rank} exceeds the {coords.dim} latent coordinates; use rank ≤ {coords.dim}")
        wrapped = _model_in(coords, model)
        kwargs = {"init_loc_fn": init_to_value(values={"z": torch.zeros(coords.dim, dtype=torch.float64)}),
                  "init_scale": _INIT_SCALE}
        if guide == "lowrank":
            kwargs["rank"] = rank
        autoguide = GUIDES[guide](wrapped, **kwargs)
        _init_guide(autoguide, guide, coords, X, y)
        _check_float64(autoguide)
        optim = ClippedAdam({"lr": lr, "lrd": _LR_FINAL_FRACTION ** (1.0 / max_steps), "clip_norm": _CLIP_NORM})
        if estimator == "stl":
            loss = _stl_loss(coords, model, guide, num_particles)
        else:
            loss = Trace_ELBO(num_particles=num_particles, vectorize_particles=True, max_plate_nesting=1)
        elbo, converged, step = _fit(SVI(wrapped, autoguide, optim, loss), autoguide, X, y, max_steps=max_steps,
                                     min_steps=min_steps, window=window, tol=tol, progress=progress)
        final = _guide_elbo(coords, model, guide, autoguide, X, y)
        out = _draw(autoguide, coords, draws * chains, X, y)
    if not converged:
        warnings.warn(
            f"SVI ({guide}) did not converge within max_steps = {max_steps}: the ELBO still rose by more than "
            f"tol = {tol:g} nats per {window} steps beyond its noise; raise max_steps or lr, or loosen tol",
            ConvergenceWarning, stacklevel=2)
    info = {"elbo": elbo, "converged": converged, "steps": step, "guide": guide,
            "rank": rank if guide == "lowrank" else None, "elbo_final": final,
            "start": {k: v.numpy().copy() for k, v in start_point.items()}, "whitened": coords.whitened,
            "estimator": estimator, "lr": lr, "num_particles": num_particles, "window": window, "tol": tol}
    attrs = {"guide": guide, "rank": rank if guide == "lowrank" else None, "estimator": estimator, "seed": seed,
             "prior": repr(model.prior), "bias": str(model.bias),
             "sigma": model.sigma if model.sigma_prior is None else str(model.sigma_prior),
             "steps": step, "converged": converged, "elbo": final, "lr": lr, "num_particles": num_particles}
    return Posterior("svi", {name: value.reshape(chains, draws, *value.shape[1:]) for name, value in out.items()},
                     data.feature_names, sigma_fixed=model.sigma, seconds=time.perf_counter() - start, info=info,
                     likelihood=model.spec.likelihood,
                     attrs=attrs, diagnostics=RunDiagnostics(
                         "variational fit", converged=converged,
                         note=f"SVI did not converge: the ELBO was still changing at max_steps = {max_steps}"))


# ---------------------------------------------------------------------------------------------- options

def _check_options(guide, rank, draws, chains, lr, max_steps, min_steps, window, tol, num_particles,
                   estimator) -> tuple[str, str]:
    if not isinstance(guide, str) or guide.strip().lower() not in GUIDES:
        raise SpecError(f"unknown guide {guide!r}: use one of {', '.join(GUIDES)}")
    guide = guide.strip().lower()
    if not isinstance(estimator, str) or estimator.strip().lower() not in ESTIMATORS:
        raise SpecError(f"unknown estimator {estimator!r}: use one of {', '.join(ESTIMATORS)}")
    if rank is not None:
        if guide != "lowrank":
            raise SpecError(f"rank = {rank!r} applies to guide 'lowrank' only, not {guide!r}; drop it")
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank < 1:
            raise SpecError(f"rank must be a positive integer, got {rank!r}")
    for name, value in (("draws", draws), ("chains", chains), ("max_steps", max_steps), ("min_steps", min_steps),
                        ("window", window), ("num_particles", num_particles)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise SpecError(f"{name} must be a positive integer, got {value!r}")
    if window < 2:
        raise SpecError(f"window must be at least 2 steps (it estimates the ELBO's noise), got {window}")
    if min_steps > max_steps:
        raise SpecError(f"min_steps = {min_steps} exceeds max_steps = {max_steps}; raise max_steps")
    for name, value in (("lr", lr), ("tol", tol)):
        try:
            ok = math.isfinite(float(value)) and float(value) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise SpecError(f"{name} must be a positive finite number, got {value!r}")
    return guide, estimator.strip().lower()


# ---------------------------------------------------------------------------------------------- start point

def _start_point(data: Dataset, model: LinearRegressionModel, init: dict | None) -> dict[str, torch.Tensor]:
    """Constrained starting values of every latent site: ``init`` where given, else the MAP (module docstring)."""
    init = {} if init is None else dict(init)
    known = {"w", "b", "sigma", *model.prior.hyperpriors()}
    unknown = sorted(set(init) - known)
    if unknown:
        raise SpecError(f"init has unknown site(s) {unknown}; the model's sites are {', '.join(sorted(known))}")
    if "b" in init and not model.bias.present:
        raise SpecError("init gives b, but the model has no bias (bias='none'); drop it")
    if "sigma" in init and model.sigma_prior is None:
        raise SpecError(f"init gives sigma, but σ is fixed at {model.sigma:g} in the model; drop it")
    point = {k: torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in init.items()}
    if "w" in point and point["w"].shape != (data.d,):
        raise SpecError(f"init w has shape {tuple(point['w'].shape)}; expected ({data.d},)")
    for name in ("b", "sigma", "tau"):
        if name in point and point[name].shape != ():
            raise SpecError(f"init {name} must be a scalar, got shape {tuple(point[name].shape)}")
    if not all(bool(torch.isfinite(v).all()) for v in point.values()):
        raise SpecError("init values must be finite")
    for name in ("sigma", "tau"):
        if name in point and not point[name] > 0:
            raise SpecError(f"init {name} must be positive, got {float(point[name])}")
    for name in model.prior.hyperpriors():
        if name not in point:
            point[name] = torch.tensor(_scale_start(data, model), dtype=torch.float64)
    if model.sigma_prior is not None and "sigma" not in point:
        point["sigma"] = torch.tensor(_plug_in_sigma(data, model), dtype=torch.float64)
    if "w" not in point or (model.bias.present and "b" not in point):
        sigma = model.sigma if model.sigma_prior is None else float(point["sigma"])
        w, b = _map_at(data, model, sigma, float(point["tau"]) if "tau" in point else None)
        point.setdefault("w", torch.as_tensor(w))
        if model.bias.present:
            point.setdefault("b", torch.tensor(b, dtype=torch.float64))
    return point


def _plug_in_sigma(data: Dataset, model: LinearRegressionModel, *, rounds: int = 20, rtol: float = 1e-3) -> float:
    """A starting σ: with more rows than coefficients k, the fixed point of σ² = RSS(MAP at σ)/(n − k), from
    the least-squares residual sd (a few closed-form ridge solves for a Gaussian prior; the residual sd is
    biased low under strong shrinkage); else the sd of y. 1 if that is 0."""
    k = data.d + (1 if model.bias.present else 0)
    y = np.asarray(data.y)
    if data.n <= k:
        sd = float(np.std(y, ddof=1))
        return sd if math.isfinite(sd) and sd > 0 else 1.0
    Z = np.column_stack([data.X, np.ones(data.n)]) if model.bias.present else np.asarray(data.X)
    r = y - Z @ np.linalg.lstsq(Z, y, rcond=None)[0]
    sd = math.sqrt(float(r @ r) / (data.n - k))
    for _ in range(rounds):
        if not (math.isfinite(sd) and sd > 0):
            return 1.0
        w, b = _map_at(data, model, sd, _scale_start(data, model) if model.prior.hyperpriors() else None)
        r = y - np.asarray(data.X) @ w - (b or 0.0)
        new = math.sqrt(float(r @ r) / (data.n - k))
        if abs(new - sd) <= rtol * sd:
            return new
        sd = new
    return sd if math.isfinite(sd) and sd > 0 else 1.0


def _map_at(data: Dataset, model: LinearRegressionModel, sigma: float,
            tau: float | None = None) -> tuple[np.ndarray, float | None]:
    """(w, b) maximising the posterior with σ (and a hierarchical prior's τ) held at the given values: a starting
    point for the guide, from the prior's own penalised solver (a local mode for a non-convex prior)."""
    from ..mode import penalised_minimiser

    if not model.spec.likelihood.has_sufficient_statistics:
        from .row_potential import row_start

        return row_start(data, model, tau)
    prior = model.prior.conditional(sigma=sigma, tau=tau)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # only a starting point
        res = penalised_minimiser(SufficientStats.of(data), prior, sigma, model.bias, local=not prior.convex)
    return np.asarray(res.w, dtype=np.float64), (None if res.b is None else float(res.b))


def _scale_start(data: Dataset, model: LinearRegressionModel) -> float:
    """A starting τ for a hierarchical prior: the root mean square of a lightly penalised fit's weights."""
    from ..solvers.closed_form import ridge

    light = ridge(SufficientStats.of(data), problem=PenalizedLeastSquares(l2=1.0))
    return max(float(np.sqrt(np.mean(light.w**2))), 1e-12)


# ---------------------------------------------------------------------------------------------- coordinates

def _latent_sites(model, X, y) -> tuple[tuple[str, tuple[int, ...], object], ...]:
    """(name, shape, bijection ℝ → support) of every latent site of the model, in trace order."""
    trace = poutine.trace(model).get_trace(X, y)
    return tuple((name, tuple(site["value"].shape), biject_to(site["fn"].support))
                 for name, site in trace.iter_stochastic_nodes() if not site_is_subsample(site))


def _unpack(sites, u: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Split the unconstrained u (..., D) into the sites, constrain them, and sum log|dθ/du| (...)."""
    batch = tuple(u.shape[:-1])
    values, logdet, offset = {}, torch.zeros(batch, dtype=u.dtype), 0
    for name, shape, transform in sites:
        size = math.prod(shape)
        ui = u[..., offset:offset + size].reshape(batch + tuple(shape))
        values[name] = transform(ui)
        ld = transform.log_abs_det_jacobian(ui, values[name])  # may already be summed over the event dims
        logdet = logdet + (ld.reshape(*batch, -1).sum(-1) if ld.dim() > len(batch) else ld)
        offset += size
    return values, logdet


def _log_joint(model, X, y, values: dict) -> torch.Tensor:
    """log p(y, θ) at the constrained ``values``, summed (over vectorised draws too)."""
    return poutine.trace(poutine.condition(model, data=values)).get_trace(X, y).log_prob_sum()


def _coordinates(model, X, y, start: dict[str, torch.Tensor], *, whiten: bool) -> _Coordinates:
    """The guide's coordinates (module docstring): m = the unconstrained start; H = the Hessian of
    −log p(y, θ(u)) − log|dθ/du| at m; A = a triangular square root of H⁻¹ (``whiten``, H positive definite),
    else diag(1/√H_jj)."""
    sites = _latent_sites(model, X, y)
    m = torch.cat([t.inv(start[name]).reshape(-1) for name, _, t in sites])

    def potential(u):
        values, logdet = _unpack(sites, u)
        return -(_log_joint(model, X, y, values) + logdet)

    H = torch.autograd.functional.hessian(potential, m, vectorize=True).detach()
    H = 0.5 * (H + H.T)
    diag = torch.diagonal(H)
    usable = torch.isfinite(diag) & (diag > 0)
    s = torch.where(usable, diag.clamp_min(1e-300).rsqrt(), torch.ones_like(diag))
    A, cov, whitened = torch.diag(s), None, False
    if bool(usable.all()) and bool(torch.isfinite(H).all()):
        Hn = s[:, None] * H * s[None, :]  # unit diagonal: H in units of the conditional sds
        if torch.linalg.eigvalsh(Hn)[0] > _MIN_CURVATURE:
            L = torch.linalg.cholesky(Hn)
            cov = torch.cholesky_inverse(L)
            cov = 0.5 * (cov + cov.T)  # the Laplace covariance in units of the conditional sds
            if whiten:  # A Aᵀ = S Hn⁻¹ S = H⁻¹ for A = S L⁻ᵀ (upper triangular)
                eye = torch.eye(L.shape[0], dtype=L.dtype)
                A = s[:, None] * torch.linalg.solve_triangular(L.T, eye, upper=True)
                cov, whitened = eye, True
    return _Coordinates(sites, m, A, cov, whitened)


def _model_in(coords: _Coordinates, model):
    """The model in the guide's coordinates: one flat site ``z`` (D,), θ = T(m + A z), and the factor
    log|dθ/dz|, so that its log joint in z is the model's in θ and its ELBO the model's ELBO."""

    def wrapped(X, y=None):
        zero = torch.zeros(coords.dim, dtype=torch.float64)
        # a flat (masked) density, so that the log joint is the model's alone
        z = pyro.sample("z", dist.Normal(zero, torch.ones_like(zero)).mask(False).to_event(1))
        values, logdet = coords.constrain(z)
        pyro.factor("jacobian", logdet)
        return poutine.condition(model, data=values)(X, y)

    return wrapped


def _init_guide(autoguide, guide: str, coords: _Coordinates, X, y) -> None:
    """Create the guide's parameters: loc 0 (the start point), sd ``_INIT_SCALE`` in z units (Pyro's
    ``init_scale``); for ``lowrank`` with a Laplace covariance C: ``_INIT_SCALE``² × (C's top-r eigenpairs +
    the rest of its diagonal)."""
    autoguide(X, y)
    if guide != "lowrank" or coords.laplace_cov is None:
        return
    cov = coords.laplace_cov
    rank = autoguide.cov_factor.shape[-1]
    eig, vec = torch.linalg.eigh(cov)
    W = vec[:, -rank:] * eig[-rank:].clamp_min(0).sqrt()
    rest = (torch.diagonal(cov) - (W * W).sum(-1)).clamp_min(_MIN_DIAG_SHARE * torch.diagonal(cov))
    with torch.no_grad():  # Pyro's covariance is diag(scale) (F Fᵀ + I) diag(scale)
        autoguide.scale = _INIT_SCALE * rest.sqrt()
        autoguide.cov_factor.copy_(W / rest.sqrt()[:, None])


def _check_float64(autoguide) -> None:
    bad = [name for name, p in autoguide.named_parameters() if p.dtype != torch.float64]
    if bad:  # pragma: no cover - the prototype trace is float64
        raise RuntimeError(f"guide parameters {bad} are not float64")


# ---------------------------------------------------------------------------------------------- the fit

def _guide_distribution(autoguide, guide: str, detach: bool = False):
    """The guide as a distribution over z (D,), its parameters optionally detached (the same parameterisation
    as the autoguide's own ``get_posterior``; built without argument validation, which costs O(D²) per step)."""
    cut = (lambda t: t.detach()) if detach else (lambda t: t)
    if guide == "normal":
        return dist.Normal(cut(autoguide.locs.z), cut(autoguide.scales.z), validate_args=False).to_event(1)
    loc, scale = cut(autoguide.loc), cut(autoguide.scale)
    if guide == "mvn":
        return dist.MultivariateNormal(loc, scale_tril=scale[:, None] * cut(autoguide.scale_tril),
                                       validate_args=False)
    return dist.LowRankMultivariateNormal(loc, cut(autoguide.cov_factor) * scale[:, None], scale * scale,
                                          validate_args=False)


def _elbo_sum(coords: _Coordinates, model, guide: str, autoguide, X, y, num: int) -> torch.Tensor:
    """Σ over ``num`` reparameterised draws z of log p(y, θ(z)) + log|dθ/dz| − log q(z), log q with detached
    parameters (so that its gradient is the "sticking the landing" one; the value is the same)."""
    z = _guide_distribution(autoguide, guide).rsample((num,))
    values, logdet = coords.constrain(z)
    values = {name: value.unsqueeze(1) for name, value in values.items()}  # the data plate's size-1 dim
    log_q = _guide_distribution(autoguide, guide, detach=True).log_prob(z)
    return _log_joint(model, X, y, values) + logdet.sum() - log_q.sum()


def _stl_loss(coords: _Coordinates, model, guide: str, num_particles: int):
    """−ELBO with the sticking-the-landing gradient, as a loss callable for Pyro's ``SVI``."""

    def loss(wrapped, autoguide, X, y):
        for name in pyro.get_param_store().keys():  # declare the guide's parameters (this scope's only) to SVI
            pyro.param(name)
        return -_elbo_sum(coords, model, guide, autoguide, X, y, num_particles) / num_particles

    return loss


def _fit(engine: SVI, autoguide, X, y, *, max_steps, min_steps, window, tol, progress):
    """SVI steps until the convergence rule holds or ``max_steps``; then the parameters are set to their mean
    over the last window. Returns (ELBO trace, converged, steps)."""
    params = [p for _, p in autoguide.named_parameters()]
    total = [torch.zeros_like(p) for p in params]
    elbo, converged, passes, step = [], False, 0, 0
    for step in range(1, max_steps + 1):
        elbo.append(-float(engine.step(X, y)))
        with torch.no_grad():
            for acc, p in zip(total, params, strict=True):
                acc += p
        if progress is not None and (step % _PROGRESS_EVERY == 0 or step == max_steps):
            progress(step, max_steps, elbo[-1])
        if step % window == 0:
            if step >= max(min_steps, 2 * window):
                passes = passes + 1 if _window_check(elbo, window, tol) else 0
                converged = passes >= 2
            if converged:
                break
            if step < max_steps:
                total = [torch.zeros_like(p) for p in params]
    if progress is not None and step % _PROGRESS_EVERY and step != max_steps:
        progress(step, max_steps, elbo[-1])
    count = step - window * ((step - 1) // window)  # steps since the last reset
    with torch.no_grad():
        for acc, p in zip(total, params, strict=True):
            p.copy_(acc / count)
    return np.asarray(elbo, dtype=np.float64), converged, step


def _window_check(elbo: list[float], window: int, tol: float) -> bool:
    """The convergence test of the module docstring on the last two windows of the ELBO trace."""
    last = np.asarray(elbo[-window:])
    previous = np.asarray(elbo[-2 * window:-window])
    se = math.sqrt((last.var(ddof=1) + previous.var(ddof=1)) / window)
    return bool(last.mean() - previous.mean() <= tol + 2.0 * se)


def _guide_elbo(coords: _Coordinates, model, guide: str, autoguide, X, y) -> float:
    """The fitted guide's ELBO from ``_FINAL_PARTICLES`` draws (in chunks, to bound memory)."""
    total = 0.0
    with torch.no_grad():
        for start in range(0, _FINAL_PARTICLES, _FINAL_CHUNK):
            num = min(_FINAL_CHUNK, _FINAL_PARTICLES - start)
            total += float(_elbo_sum(coords, model, guide, autoguide, X, y, num))
    return total / _FINAL_PARTICLES


def _draw(autoguide, coords: _Coordinates, num: int, X, y) -> dict[str, np.ndarray]:
    """``num`` independent draws of every site from the fitted guide, constrained: (num, *shape)."""
    with torch.no_grad():
        z = Predictive(autoguide, num_samples=num, parallel=True, return_sites=["z"])(X, y)["z"]
        values, _ = coords.constrain(z.reshape(num, coords.dim))
    return {name: value.numpy().astype(np.float64, copy=True) for name, value in values.items()}
