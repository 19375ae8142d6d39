"""One entry point for posterior inference: pick the method, run it, return a :class:`Posterior`.

``method="auto"`` takes the exact posterior where the model is conjugate (Gaussian prior with σ fixed; the
scale-free Gaussian prior with σ² ~ InvGamma), the Gibbs sampler for a Laplace prior (σ fixed or
σ² ~ InvGamma; scale fixed or s² ~ InvGamma), and NUTS for everything else. ``"map"`` returns the MAP alone
(one "draw"), for comparison.

Every method reads the data through one set of sufficient statistics (n, means, centred cross-products),
computed once per data set (:meth:`~bayesreg.suffstats.SufficientStats.of`): after that O(nd²) pass, the exact
posterior costs O(d³), a Gibbs sweep O(d³) (O(n²d) when n < d), and a NUTS gradient O(d²), whatever n is. NUTS
(every model's likelihood here is Gaussian) runs on that potential, warm-started at the MAP with the mass matrix
set from the posterior covariance (:mod:`bayesreg.infer.nuts`); the Pyro model stays the reference
(``nuts(..., path="model")``).
"""


from __future__ import annotations

import time

import numpy as np

from .data import Dataset
from .errors import SpecError
from .infer.result import Posterior
from .priors import (
    Bias,
    ConjugateGaussian,
    Gaussian,
    HierarchicalPrior,
    Laplace,
    ScalePrior,
    WeightPrior,
    parse_bias,
    parse_sigma_prior,
    positive,
)
from .suffstats import SufficientStats

__all__ = ["METHODS", "DEFAULT_WARMUP", "choose_method", "fit"]

METHODS = ("auto", "exact", "nuts", "svi", "gibbs", "map")

#: Warm-up per method when ``warmup`` is not given: Gibbs sweeps, and NUTS steps (warm-started at the MAP with the
#: mass matrix from the posterior covariance, NUTS only has to tune its step size, and re-estimate the mass matrix
#: when the posterior is not Gaussian).
DEFAULT_WARMUP = {"gibbs": 500, "nuts": 300}


def _sigma_spec(sigma) -> float | ScalePrior:
    if isinstance(sigma, (ScalePrior, str)):
        return parse_sigma_prior(sigma)
    return positive(sigma, "sigma (the noise standard deviation)")


def _conjugate_sigma(sigma) -> bool:
    return not isinstance(sigma, ScalePrior) or sigma.kind == "invgamma"


def choose_method(prior: WeightPrior, sigma: float | ScalePrior) -> str:
    """The method ``"auto"`` runs for this prior and noise specification."""
    if isinstance(prior, Gaussian) and not isinstance(sigma, ScalePrior):
        return "exact"
    if isinstance(prior, ConjugateGaussian) and isinstance(sigma, ScalePrior) and sigma.kind == "invgamma":
        return "exact"
    if _gibbs_ready(prior, sigma):
        return "gibbs"
    return "nuts"


def _gibbs_ready(prior, sigma) -> bool:
    if not _conjugate_sigma(sigma):
        return False
    if isinstance(prior, Laplace):
        return True
    return isinstance(prior, HierarchicalPrior) and prior.family == "laplace" and prior.scale_prior.kind == "invgamma"


def fit(data: Dataset | SufficientStats, prior: WeightPrior, sigma: float | str | ScalePrior, bias: str | Bias = "flat",
        method: str = "auto", *, chains: int = 4, draws: int = 1000, warmup: int | None = None, seed: int = 0,
        progress: bool = False, dense_mass: bool = False, guide: str = "mvn") -> Posterior:
    """The posterior of ``y = Xw + b + ε`` under ``prior``, noise ``sigma`` (fixed sd or a prior), ``bias``.

    Every method returns a :class:`~bayesreg.infer.result.Posterior`; ``info["map"]`` holds the MAP (at σ, or at a
    plug-in σ when σ is random) and ``info["method_requested"]`` what was asked for. ``warmup`` defaults to
    :data:`DEFAULT_WARMUP` for the method. ``dense_mass=True`` asks NUTS for a dense mass matrix; otherwise NUTS
    uses its default, which is dense (set from the posterior covariance) on its sufficient-statistics path.
    """
    from .diagnostics import check_draws
    from .infer.nuts import map_start
    from .models import LinearRegressionModel

    if method not in METHODS:
        raise SpecError(f"unknown method {method!r}: choose from {', '.join(METHODS)}")
    check_draws(chains, draws, 0 if warmup is None else warmup, method)
    names = tuple(getattr(data, "feature_names", None) or (f"x{j}" for j in range(data.d)))
    sigma = _sigma_spec(sigma)
    bias = parse_bias(bias)
    model = LinearRegressionModel(prior, sigma=sigma, bias=bias)
    chosen = choose_method(prior, sigma) if method == "auto" else method
    if chosen == "svi" and isinstance(data, SufficientStats):
        raise SpecError("SVI trains on the rows, not on sufficient statistics; use --method exact, gibbs, nuts or map "
                        "(or --engine memory)")
    start, _ = map_start(data, model)
    if warmup is None:
        warmup = DEFAULT_WARMUP.get(chosen, 0)
    began = time.perf_counter()
    if chosen == "exact":
        posterior = _exact(data, prior, sigma, bias, chains, draws, seed)
        posterior.seconds = time.perf_counter() - began
    elif chosen == "gibbs":
        posterior = _gibbs(data, prior, sigma, bias, chains, draws, warmup, seed,
                           _stderr_progress("gibbs sweeps") if progress else None)
    elif chosen == "svi":
        from .infer.svi import svi

        posterior = svi(data, model, guide=guide, draws=draws, chains=chains, seed=seed,
                        progress=_stderr_progress("svi steps") if progress else None)
    elif chosen == "nuts":
        from .infer.nuts import nuts

        posterior = nuts(data, model, chains=chains, draws=draws, warmup=warmup, seed=seed,
                         dense_mass=True if dense_mass else None, init=None, progress=progress)
    else:
        posterior = Posterior("map", {k: np.asarray(v)[None, None] for k, v in start.items()}, names,
                              sigma_fixed=model.sigma, info={"converged": True})
    posterior.feature_names = names
    posterior.info["map"] = {k: np.asarray(v).tolist() for k, v in start.items()}
    posterior.info["method_requested"] = method
    posterior.attrs.update({"prior": repr(prior), "sigma": str(sigma), "bias": str(bias), "seed": seed,
                            "method": posterior.method})
    return posterior


def _exact(data, prior, sigma, bias, chains, draws, seed) -> Posterior:
    from .infer.conjugate import gaussian_posterior, nig_posterior

    if isinstance(prior, Gaussian) and not isinstance(sigma, ScalePrior):
        return gaussian_posterior(data, prior=prior, sigma=sigma, bias=bias).draws(draws, chains, seed)
    if isinstance(prior, ConjugateGaussian) and isinstance(sigma, ScalePrior) and sigma.kind == "invgamma":
        return nig_posterior(data, prior=prior, sigma_prior=sigma, bias=bias).draws(draws, chains, seed)
    raise SpecError(
        f"no exact posterior for a {getattr(prior, 'name', prior)} prior with sigma {sigma}: it exists for a "
        "Gaussian prior with fixed σ, or --lam with an invgamma σ prior (w | σ ~ N(0, σ²/λ)); use --method nuts"
    )


def _gibbs(data, prior, sigma, bias, chains, draws, warmup, seed, progress=None) -> Posterior:
    if not _gibbs_ready(prior, sigma):
        raise SpecError(
            "the Gibbs sampler is the Bayesian lasso: a laplace prior (scale fixed, or --tau-prior invgamma:r,δ) "
            "with σ fixed or an invgamma σ prior; use --method nuts for this model"
        )
    from .infer.gibbs import gibbs_lasso

    scale = prior.scale if isinstance(prior, Laplace) else None
    scale_prior = prior.scale_prior.params if isinstance(prior, HierarchicalPrior) else None
    return gibbs_lasso(data, scale=scale, scale_prior=scale_prior, sigma=sigma, bias=bias, chains=chains,
                       draws=draws, warmup=warmup, seed=seed, progress=progress)


def _stderr_progress(label: str):
    """A one-line progress counter on stderr: ``progress(done, total, *extra)``."""
    import sys

    def report(done, total, *extra):
        tail = f"  ELBO {extra[0]:.6g}" if extra else ""
        end = "\n" if done >= total else ""
        print(f"\r  {label}: {done}/{total}{tail}", end=end, file=sys.stderr, flush=True)

    return report
