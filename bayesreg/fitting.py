"""One entry point for posterior inference: pick the back end, run it, return a :class:`Posterior`.

``fit(data, model)`` takes a :class:`~bayesreg.model.Model` (or, as shorthand, ``fit(data, prior, sigma,
bias)`` for Gaussian noise). ``method="auto"`` takes the first back end that supports the model, in the order
exact, gibbs, nuts (:mod:`bayesreg.backends`: each declares what it can run, by the components' capabilities);
``"map"`` returns the posterior mode alone (one "draw"). Every result carries the computed posterior mode and
its definition (:mod:`bayesreg.mode`), or the reason none is reported.

Every method reads the data through one set of sufficient statistics (n, means, centred cross-products),
computed once per data set (:meth:`~bayesreg.suffstats.SufficientStats.of`): after that O(nd²) pass, the exact
posterior costs O(d³), a Gibbs sweep O(d³) (O(n²d) when n < d), and a NUTS gradient O(d²), whatever n is. NUTS
runs on that potential, warm-started at the mode with the mass matrix set from the posterior covariance
(:mod:`bayesreg.infer.nuts`); the Pyro model stays the reference (``nuts(..., path="model")``).
"""


from __future__ import annotations

import sys
import time

from .backends import BACKENDS, choose, require
from .data import Dataset
from .diagnostics import check_draws
from .errors import SpecError
from .infer.result import Posterior
from .mode import posterior_mode
from .model import Model
from .priors import Bias
from .suffstats import SufficientStats

__all__ = ["METHODS", "MASS_MATRICES", "DEFAULT_WARMUP", "choose_method", "fit", "as_model"]

METHODS = ("auto", *BACKENDS)

#: NUTS's mass matrix: "dense" (the posterior covariance, correlations included) or "diagonal".
MASS_MATRICES = ("dense", "diagonal")

#: Warm-up per method when ``warmup`` is not given: Gibbs sweeps, and NUTS steps (warm-started at the mode
#: with the mass matrix from the posterior covariance, NUTS only has to tune its step size, and re-estimate the
#: mass matrix when the posterior is not Gaussian).
DEFAULT_WARMUP = {"gibbs": 500, "nuts": 300}


def as_model(model_or_prior, sigma=None, bias: str | Bias = "flat") -> Model:
    """A :class:`Model` as given, or Gaussian noise with ``sigma`` (a number or a prior) around ``prior``."""
    if isinstance(model_or_prior, Model):
        if sigma is not None:
            raise SpecError("sigma belongs to the model's likelihood: pass it there, not to fit()")
        return model_or_prior
    if sigma is None:
        raise SpecError("give the noise sd: fit(data, prior, sigma) with σ a number or a prior such as "
                        "'halfnormal:5', or fit(data, Model(likelihood, prior, bias))")
    return Model.gaussian(model_or_prior, sigma, bias)


def choose_method(model_or_prior, sigma=None, data=None) -> str:
    """The method ``"auto"`` runs for this model (or prior and noise specification)."""
    return choose(as_model(model_or_prior, sigma), data)


def _check_nuts_path(path: str, method: str, spec) -> None:
    """A SpecError unless ``path`` names a shrinkage NUTS parametrisation and this fit runs one."""
    from .infer.shrinkage_nuts import PATHS

    if path not in PATHS:
        raise SpecError(f"unknown NUTS path {path!r}: choose from {', '.join(PATHS)}")
    if method != "nuts" or spec.prior.local_scales() is None:
        raise SpecError(f"the NUTS path (--nuts-path {path}) applies to NUTS under a shrinkage prior (horseshoe, "
                        f"horseshoe+, regularised-horseshoe, r2-d2); this fit runs {method} under the "
                        f"{spec.prior.name} prior")


def fit(data: Dataset | SufficientStats, model: Model | object, sigma=None, bias: str | Bias = "flat",
        method: str = "auto", *, chains: int = 4, draws: int = 1000, warmup: int | None = None, seed: int = 0,
        progress: bool = False, mass: str | None = None, dense_mass: bool | None = None,
        guide: str = "mvn", nuts_path: str | None = None) -> Posterior:
    """The posterior of ``model`` (or of ``y = Xw + b + ε`` under ``prior``, noise ``sigma``, ``bias``).

    Every method returns a frozen :class:`~bayesreg.infer.result.Posterior` whose ``mode`` is the computed
    posterior mode with its definition (``info["map"]`` its values, None with ``info["map_reason"]`` when no
    mode is reported) and whose ``diagnostics`` are the back end's. ``warmup`` defaults to
    :data:`DEFAULT_WARMUP` for the method. ``mass`` is NUTS's mass matrix (``"dense"``, ``"diagonal"``; default:
    set from the posterior covariance, dense up to 100 coordinates or when n ≥ d, diagonal beyond that when
    n < d); ``dense_mass=True``/``False`` is the older spelling of ``mass="dense"``/``"diagonal"``.
    ``progress`` prints a one-line counter on stderr for Gibbs, NUTS and SVI. ``nuts_path`` is NUTS's
    parametrisation under a shrinkage prior (``"auto"``, ``"marginal"``: the weights integrated out,
    ``"non-centred"``; :func:`~bayesreg.infer.shrinkage_nuts.choose_path`), refused for any other fit.
    """
    spec = as_model(model, sigma, bias)
    if method not in METHODS:
        raise SpecError(f"unknown method {method!r}: choose from {', '.join(METHODS)}")
    if mass is not None and mass not in MASS_MATRICES:
        raise SpecError(f"unknown mass matrix {mass!r}: choose from {', '.join(MASS_MATRICES)}")
    check_draws(chains, draws, 0 if warmup is None else warmup, method)
    chosen = choose(spec, data) if method == "auto" else method
    backend = require(chosen, spec, data)
    if nuts_path is not None:
        _check_nuts_path(nuts_path, chosen, spec)
    names = tuple(getattr(data, "feature_names", None) or (f"x{j}" for j in range(data.d)))
    began = time.perf_counter()
    mode = posterior_mode(data, spec)
    if warmup is None:
        warmup = DEFAULT_WARMUP.get(chosen, 0)
        if chosen == "nuts" and spec.prior.local_scales() is not None:  # no mode to start from: adapt from scratch
            from .infer.shrinkage_nuts import DEFAULT_WARMUP as SHRINKAGE_WARMUP

            warmup = SHRINKAGE_WARMUP
    options = {"chains": chains, "draws": draws, "seed": seed, "guide": guide, "mode": mode, "warmup": warmup,
               "dense_mass": (mass == "dense") if mass is not None else (None if dense_mass is None
                                                                          else bool(dense_mass)),
               "progress": (lambda label: _stderr_progress(label)) if progress else (lambda label: None),
               "nuts_path": nuts_path or "auto"}
    posterior = backend.run(data, spec, options)
    info = {**posterior.info, "map": None if not mode.exists else
            {k: _plain(v) for k, v in mode.values.items()},
            "map_definition": mode.definition, "map_reason": mode.reason, "method_requested": method}
    attrs = {**posterior.attrs, "prior": repr(spec.prior), "sigma": str(getattr(spec.likelihood, "sigma", "none")),
             "likelihood": spec.likelihood.name,
             "bias": str(spec.bias), "seed": seed, "method": posterior.method}
    return posterior.with_(feature_names=names, info=info, attrs=attrs, mode=mode, likelihood=spec.likelihood,
                           model=spec, seconds=posterior.seconds or time.perf_counter() - began)


def _plain(value):
    import numpy as np

    return np.asarray(value).tolist()


def _stderr_progress(label: str):
    """A one-line progress counter on stderr: ``progress(done, total, *extra)``."""

    def report(done, total, *extra):
        tail = f"  ELBO {extra[0]:.6g}" if extra else ""
        end = "\n" if done >= total else ""
        print(f"\r  {label}: {done}/{total}{tail}", end=end, file=sys.stderr, flush=True)

    return report
