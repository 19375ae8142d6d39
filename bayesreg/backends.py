"""The inference back ends, each declaring which models it can run, and the choice ``method="auto"`` makes.

A back end is a name, :meth:`Backend.supports` (None when it can run the model on this data, else the reason it
cannot, in words) and :meth:`Backend.run`. Back ends read the model's components through their capabilities
(:mod:`bayesreg.prior_base`, :mod:`bayesreg.likelihoods`), never their classes:

========  =======================================================================================================
exact     the closed-form posterior: a prior conjugate with a Gaussian likelihood (``gaussian_conjugacy``:
          Gaussian with σ fixed, or the σ-scaled Gaussian with an inverse-gamma σ²)
gibbs     Gaussian noise: the Bayesian-lasso Gibbs sampler (a prior with a ``scale_mixture``, σ fixed or
          inverse-gamma σ²); a likelihood with a Pólya–Gamma augmentation (logistic): the Pólya–Gamma sampler
          (a Gaussian prior, or a prior with a ``scale_mixture``)
nuts      NUTS on the O(d²) sufficient-statistics potential (a likelihood with sufficient statistics), or on the
          O(nd) row potential (any other likelihood; needs the rows): every prior
laplace   the Laplace approximation N(mode, H⁻¹) with MacKay's evidence: every scale fixed
svi       stochastic variational inference on the Pyro model: every prior; needs the data rows
map       the posterior mode alone (:mod:`bayesreg.mode`): every model where a mode exists
========  =======================================================================================================

``auto`` takes the first of exact, gibbs, nuts that supports the model: exact draws first, then the sampler
that needs no tuning. For a likelihood without sufficient statistics (the logistic) it takes the faster of the two
exact samplers, measured: nuts for a smooth prior, gibbs (Pólya–Gamma) for a prior with a scale mixture
(:data:`ROW_AUTO_ORDER`, :data:`ROW_AUTO_ORDER_SCALE_MIXTURE`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import SpecError
from .infer.result import Posterior, RunDiagnostics
from .model import Model
from .suffstats import SufficientStats

__all__ = ["Backend", "BACKENDS", "AUTO_ORDER", "choose", "require", "capable"]


@dataclass(frozen=True)
class Backend:
    """One inference method: ``supports(model, data) -> reason | None`` and ``run(data, model, options)``."""

    name: str
    summary: str
    supports: Callable[[Model, object], str | None]
    run: Callable[..., Posterior]


def _gaussian_noise(model: Model) -> str | None:
    if not model.likelihood.has_sufficient_statistics:
        return f"it needs a likelihood with sufficient statistics, not {model.likelihood.name}"
    return None


def _conjugate_sigma(model: Model) -> bool:
    return model.sigma is not None or model.sigma_prior.kind == "invgamma"


def _exact_supports(model: Model, data) -> str | None:
    reason = _gaussian_noise(model)
    if reason:
        return reason
    conjugacy = model.prior.gaussian_conjugacy()
    if model.prior.hyperpriors():
        return "the prior's scale has a prior of its own (no closed form)"
    if conjugacy == "fixed-sigma" and model.sigma is not None:
        return None
    if conjugacy == "sigma-scaled" and model.sigma_prior is not None and model.sigma_prior.kind == "invgamma":
        return None
    if conjugacy == "fixed-sigma":
        return "σ has a prior; the closed form needs σ fixed (or --lam with an invgamma σ prior: w | σ ~ N(0, σ²/λ))"
    if conjugacy == "sigma-scaled":
        return "the scale-free Gaussian prior is conjugate with an invgamma σ² prior only"
    return f"the {model.prior.name} prior is not conjugate with Gaussian noise"


def _rows_needed(model: Model, data) -> str | None:
    if not model.likelihood.has_sufficient_statistics and not hasattr(data, "X"):
        return (f"the {model.likelihood.name} likelihood has no sufficient statistics: it needs the data rows in "
                "memory (--engine memory); streamed, only map and laplace run (one pass over the rows per Newton "
                "step)")
    return None


def _passes_enough(model: Model, data) -> str | None:
    """For map and laplace: rows in memory, or streamed rows read once per Newton step."""
    if not model.likelihood.has_sufficient_statistics and not hasattr(data, "X") and hasattr(data, "evaluator"):
        return None
    return _rows_needed(model, data)


def _gibbs_supports(model: Model, data) -> str | None:
    if getattr(model.likelihood, "polya_gamma", False):
        from .infer.polya_gamma import supports_polya_gamma

        return _rows_needed(model, data) or supports_polya_gamma(model)
    reason = _gaussian_noise(model)
    if reason:
        return reason
    if model.prior.local_scales() is not None:
        from .infer.shrinkage_gibbs import supports_shrinkage_gibbs

        return supports_shrinkage_gibbs(model)
    if model.prior.scale_mixture() is None:
        return (f"the {model.prior.name} prior has no scale-mixture Gibbs update (the Bayesian lasso: a laplace "
                "prior, scale fixed or with an invgamma prior)")
    if not _conjugate_sigma(model):
        return "σ needs to be fixed or have an invgamma prior on σ² for its Gibbs update"
    return None


def _nuts_supports(model: Model, data) -> str | None:
    if model.prior.local_scales() is not None:
        return _gaussian_noise(model)
    return _rows_needed(model, data)


def _laplace_supports(model: Model, data) -> str | None:
    if model.prior.local_scales() is not None:
        return f"the {model.prior.name} prior has no posterior mode to centre an approximation on"
    if model.prior.hyperpriors():
        return "the prior's scale has a prior of its own (the approximation is over (w, b) with scales fixed)"
    if model.sigma_prior is not None:
        return "σ has a prior (the approximation is over (w, b) with σ fixed)"
    return _passes_enough(model, data)


def _svi_supports(model: Model, data) -> str | None:
    if model.prior.local_scales() is not None:
        return (f"SVI starts its guide at the posterior mode, which the {model.prior.name} prior does not have "
                "(not implemented for latent scales)")
    if isinstance(data, SufficientStats) or not hasattr(data, "X"):
        return "SVI trains on the rows, not on sufficient statistics (use --engine memory)"
    return None


def _map_supports(model: Model, data) -> str | None:
    return _passes_enough(model, data)


def _run_exact(data, model: Model, o: dict) -> Posterior:
    from .infer.conjugate import gaussian_posterior, nig_posterior

    if model.sigma is not None:
        exact = gaussian_posterior(data, prior=model.weight_prior, sigma=model.sigma, bias=model.bias)
    else:
        exact = nig_posterior(data, prior=model.prior, sigma_prior=model.sigma_prior, bias=model.bias)
    return exact.draws(o["draws"], o["chains"], o["seed"]).with_(exact=exact)


def _run_gibbs(data, model: Model, o: dict) -> Posterior:
    from .infer.gibbs import gibbs_lasso

    if getattr(model.likelihood, "polya_gamma", False):
        from .infer.polya_gamma import polya_gamma_gibbs

        return polya_gamma_gibbs(data, model, chains=o["chains"], draws=o["draws"], warmup=o["warmup"],
                                 seed=o["seed"], progress=o["progress"]("gibbs sweeps"))

    if model.prior.local_scales() is not None:
        from .infer.shrinkage_gibbs import shrinkage_gibbs

        return shrinkage_gibbs(data, model, chains=o["chains"], draws=o["draws"], warmup=o["warmup"], seed=o["seed"],
                               progress=o["progress"]("gibbs sweeps"))  # every 5th sweep kept (DEFAULT_THIN)
    mixture = model.prior.scale_mixture()
    noise = model.sigma if model.sigma is not None else model.sigma_prior
    return gibbs_lasso(data, scale=mixture.scale, scale_prior=mixture.scale_prior, sigma=noise, bias=model.bias,
                       chains=o["chains"], draws=o["draws"], warmup=o["warmup"], seed=o["seed"],
                       progress=o["progress"]("gibbs sweeps"))


def _run_nuts(data, model: Model, o: dict) -> Posterior:
    from .infer.nuts import nuts
    from .models import LinearRegressionModel

    if model.prior.local_scales() is not None:
        from .infer.shrinkage_nuts import shrinkage_nuts

        return shrinkage_nuts(data, model, chains=o["chains"], draws=o["draws"], warmup=o["warmup"], seed=o["seed"],
                              dense_mass=o["dense_mass"], path=o["nuts_path"],
                              progress=o["progress"]("nuts iterations"))
    return nuts(data, LinearRegressionModel(model), chains=o["chains"], draws=o["draws"], warmup=o["warmup"],
                seed=o["seed"], dense_mass=o["dense_mass"], progress=o["progress"]("nuts iterations"))


def _run_laplace(data, model: Model, o: dict) -> Posterior:
    from .infer.laplace_approx import laplace_approximation

    approx = laplace_approximation(data, model, o.get("mode"))
    return approx.draws(o["draws"], o["chains"], o["seed"]).with_(mode=approx.mode)


def _run_svi(data, model: Model, o: dict) -> Posterior:
    from .infer.svi import svi
    from .models import LinearRegressionModel

    return svi(data, LinearRegressionModel(model), guide=o["guide"], draws=o["draws"], chains=o["chains"],
               seed=o["seed"], progress=o["progress"]("svi steps"))


def _run_map(data, model: Model, o: dict) -> Posterior:
    from .mode import posterior_mode

    mode = o.get("mode") or posterior_mode(data, model)
    if not mode.exists:
        raise SpecError(f"no MAP for this model: {mode.reason}")
    names = tuple(getattr(data, "feature_names", None) or (f"x{j}" for j in range(data.d)))
    draws = {k: np.asarray(v, dtype=np.float64)[None, None] for k, v in mode.values.items()}
    return Posterior("map", draws, names, sigma_fixed=model.sigma, mode=mode, likelihood=model.likelihood,
                     info={"converged": mode.converged, "definition": mode.definition},
                     diagnostics=RunDiagnostics("point estimate", converged=mode.converged,
                                                note="the MAP solver stopped before its convergence criterion"))


BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("exact", "the closed-form posterior (independent exact draws)", _exact_supports, _run_exact),
    Backend("gibbs", "the Bayesian-lasso, horseshoe or Pólya–Gamma Gibbs sampler (exact conditionals)",
            _gibbs_supports, _run_gibbs),
    Backend("nuts", "NUTS on the sufficient-statistics or row potential", _nuts_supports, _run_nuts),
    Backend("laplace", "the Laplace approximation at the mode (an approximation)", _laplace_supports, _run_laplace),
    Backend("svi", "stochastic variational inference (an approximation)", _svi_supports, _run_svi),
    Backend("map", "the posterior mode alone (no uncertainty)", _map_supports, _run_map),
)}

#: What ``method="auto"`` tries, in order.
AUTO_ORDER = ("exact", "gibbs", "nuts")


def capable(model: Model, data) -> list[str]:
    """The back ends that can run ``model`` on ``data``."""
    return [name for name, b in BACKENDS.items() if b.supports(model, data) is None]


#: What ``auto`` tries for a likelihood without sufficient statistics (the logistic), by the faster of the two
#: exact samplers, measured (min bulk ESS of w per second, 4 × 1000 draws): with a smooth prior NUTS on the row
#: potential, warm-started at the MAP with the Laplace covariance as its mass matrix (breast_cancer, Gaussian
#: prior: 1063-1491/s against the Pólya–Gamma sampler's 318-432/s; d2l_logistic: 654 against 296); with a prior
#: that has a scale mixture (the Laplace, whose kink costs NUTS 30 leapfrog steps an iteration) the Pólya–Gamma
#: sampler (breast_cancer: 357 against 91; d2l_logistic: 202 against 25).
ROW_AUTO_ORDER = ("nuts", "gibbs")
ROW_AUTO_ORDER_SCALE_MIXTURE = ("gibbs", "nuts")


def choose(model: Model, data) -> str:
    """The back end ``method="auto"`` runs."""
    if model.likelihood.has_sufficient_statistics:
        order = AUTO_ORDER
    else:
        order = ROW_AUTO_ORDER_SCALE_MIXTURE if model.prior.scale_mixture() is not None else ROW_AUTO_ORDER
    for name in order:
        if BACKENDS[name].supports(model, data) is None:
            return name
    raise SpecError(f"no sampler can run this model; methods that can: {', '.join(capable(model, data))}")


def require(method: str, model: Model, data) -> Backend:
    """The back end ``method``, or one error naming why it cannot run the model and which methods can."""
    if method not in BACKENDS:
        raise SpecError(f"unknown method {method!r}: choose from auto, {', '.join(BACKENDS)}")
    reason = BACKENDS[method].supports(model, data)
    if reason is not None:
        raise SpecError(f"--method {method} cannot run this model: {reason}; methods that can: "
                        f"{', '.join(capable(model, data))}")
    return BACKENDS[method]
