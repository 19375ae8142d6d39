r"""The one protocol every likelihood implements, and the Gaussian likelihood.

A likelihood says how a row's target depends on its linear predictor η_i = x_iᵀw + b. It gives

* :meth:`Likelihood.log_likelihood`: log p(y_i | η_i) per row (pointwise, for LOO and predictive checks);
* :meth:`Likelihood.grad_log_likelihood`: ∂/∂η_i of the same, per row (so ∇_w = Xᵀ·that, ∇_b = its sum);
* :meth:`Likelihood.predictive_draws`: draws of new targets given draws of η (and of its own parameters);
* :meth:`Likelihood.pyro_observe`: the observation site of the Pyro model;
* :meth:`Likelihood.penalty_temperature`: T with ``canonical objective = T × (−log posterior)``: σ² for the
  Gaussian (λ = σ²/τ²), 1 for a classifier (λ = 1/τ²);
* :meth:`Likelihood.hyperpriors`: its own parameters with priors (``{"sigma": ScalePrior}`` when σ has one);

and, as an optional capability, :attr:`Likelihood.has_sufficient_statistics`: whether the log-likelihood is a
function of (n, x̄, ȳ, centred cross-products), which the fast paths (exact, Gibbs, the O(d²) NUTS potential,
streaming) need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .priors import ScalePrior, parse_sigma_prior
from .validate import positive

__all__ = ["Likelihood", "GaussianLikelihood"]

_LOG_2PI = math.log(2.0 * math.pi)


class Likelihood:
    """Base of every likelihood: see the module docstring. Defaults say "not available"."""

    name: str = "likelihood"
    has_sufficient_statistics: bool = False
    #: whether a Pólya–Gamma augmentation makes its Gibbs conditionals Gaussian (the logistic likelihood)
    polya_gamma: bool = False
    #: its own parameters, which posterior draws carry or which are fixed (``("sigma",)`` for the Gaussian)
    parameter_names: tuple[str, ...] = ()

    def log_likelihood(self, y, eta, **params) -> np.ndarray:
        raise NotImplementedError

    def grad_log_likelihood(self, y, eta, **params) -> np.ndarray:
        raise NotImplementedError

    def predictive_draws(self, rng: np.random.Generator, eta, **params) -> np.ndarray:
        raise NotImplementedError

    def pyro_observe(self, eta, y, **params):
        raise NotImplementedError

    def penalty_temperature(self, **params) -> float:
        raise NotImplementedError

    def hyperpriors(self) -> dict:
        return {}

    def mean(self, eta) -> np.ndarray:
        """E[y | η]: η itself for the Gaussian, sigmoid(η) for the logistic likelihood."""
        return np.asarray(eta, dtype=np.float64)

    def validate_target(self, y, name: str = "target") -> np.ndarray:
        """The target as float64, or one line naming what is wrong with it for this likelihood."""
        return np.asarray(y, dtype=np.float64)


@dataclass(frozen=True)
class GaussianLikelihood(Likelihood):
    """``y_i ~ N(η_i, σ²)`` with σ fixed (a number) or with a prior (a :class:`~bayesreg.priors.ScalePrior` or
    its string, ``"halfnormal:5"``, ``"invgamma:2,1"``)."""

    sigma: float | ScalePrior = 1.0
    name = "gaussian"
    has_sufficient_statistics = True
    parameter_names = ("sigma",)

    def __post_init__(self):
        if isinstance(self.sigma, (ScalePrior, str)):
            object.__setattr__(self, "sigma", parse_sigma_prior(self.sigma))
        else:
            object.__setattr__(self, "sigma", positive(self.sigma, "sigma (the noise standard deviation)"))

    @property
    def sigma_fixed(self) -> float | None:
        """σ when fixed, else None."""
        return None if isinstance(self.sigma, ScalePrior) else self.sigma

    @property
    def sigma_prior(self) -> ScalePrior | None:
        """σ's prior when it has one, else None."""
        return self.sigma if isinstance(self.sigma, ScalePrior) else None

    def _sigma(self, sigma):
        if sigma is None:
            if self.sigma_fixed is None:
                raise ValueError("σ has a prior here: pass its value")
            return self.sigma_fixed
        return np.asarray(sigma, dtype=np.float64)

    def log_likelihood(self, y, eta, *, sigma=None) -> np.ndarray:
        """log N(y_i | η_i, σ²) per row."""
        s = self._sigma(sigma)
        r = (np.asarray(y) - np.asarray(eta)) / s
        return -0.5 * r * r - np.log(s) - 0.5 * _LOG_2PI

    def grad_log_likelihood(self, y, eta, *, sigma=None) -> np.ndarray:
        """(y_i − η_i)/σ² per row."""
        s = self._sigma(sigma)
        return (np.asarray(y) - np.asarray(eta)) / s**2

    def predictive_draws(self, rng: np.random.Generator, eta, *, sigma=None) -> np.ndarray:
        """η + σ·ε, ε ~ N(0, 1); ``sigma`` broadcasts against ``eta`` (one per draw, with a trailing axis)."""
        eta = np.asarray(eta, dtype=np.float64)
        return eta + self._sigma(sigma) * rng.standard_normal(eta.shape)

    def pyro_observe(self, eta, y, *, sigma=None):
        import pyro
        from pyro import distributions as dist

        return pyro.sample("y", dist.Normal(eta, sigma), obs=y)

    def penalty_temperature(self, *, sigma=None) -> float:
        """σ²: the canonical objective ½Σr² + pen(w) is σ² times the negative log posterior."""
        return float(self._sigma(sigma)) ** 2

    def hyperpriors(self) -> dict:
        return {} if self.sigma_prior is None else {"sigma": self.sigma_prior}

    def __str__(self) -> str:
        return f"gaussian noise, σ = {self.sigma:g}" if self.sigma_fixed else f"gaussian noise, σ ~ {self.sigma}"
