r"""One model specification that every back end reads: ``Model(likelihood, prior, bias)``.

.. math::

    \eta_i = x_i^\top w + b, \qquad y_i \sim p(y_i \mid \eta_i, \theta_{\text{lik}}), \qquad
    w \sim p(w \mid \sigma, \tau), \qquad b \sim p(b),

with the likelihood's own parameters (σ of the Gaussian) fixed or with priors, and the prior's hyper-parameters
(τ of a hierarchical prior) with theirs. Back ends ask the components what they can do (the capabilities of
:class:`~bayesreg.prior_base.Prior` and :class:`~bayesreg.likelihoods.Likelihood`), never which class they are.
``LinearRegressionModel(model)`` (:mod:`bayesreg.models`) is the model as a Pyro program (sites ``sigma``,
``tau``, ``w``, ``b``, ``y``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SpecError
from .likelihoods import GaussianLikelihood, Likelihood
from .prior_base import Prior
from .priors import Bias, parse_bias

__all__ = ["Model"]


@dataclass(frozen=True)
class Model:
    """The likelihood, the prior on w and the prior on the bias: the whole specification of a regression."""

    likelihood: Likelihood
    prior: Prior
    bias: Bias = Bias("flat")

    def __post_init__(self):
        if not isinstance(self.likelihood, Likelihood):
            raise SpecError(f"likelihood must be a Likelihood (e.g. GaussianLikelihood(sigma)), got "
                            f"{type(self.likelihood).__name__}")
        if not isinstance(self.prior, Prior):
            raise SpecError(f"prior must be a prior on w (bayesreg.priors or bayesreg.derived_priors), got "
                            f"{type(self.prior).__name__}")
        object.__setattr__(self, "bias", parse_bias(self.bias))
        if self.prior.depends_on_sigma and "sigma" not in self.likelihood.parameter_names:
            remedy = ("it is for regression (a Gaussian likelihood)" if self.prior.local_scales() is not None
                      else "give the prior its own scale (--tau or --scale)")
            raise SpecError(f"the {self.prior.name} prior is scaled by the noise σ, which a {self.likelihood.name} "
                            f"likelihood does not have: {remedy}")

    @classmethod
    def gaussian(cls, prior: Prior, sigma, bias="flat") -> Model:
        """Linear regression with Gaussian noise: σ a number (fixed) or a prior (``"halfnormal:5"``)."""
        return cls(GaussianLikelihood(sigma), prior, parse_bias(bias))

    @classmethod
    def logistic(cls, prior: Prior, bias="flat") -> Model:
        """Logistic regression (Bernoulli likelihood, logit link): no σ, λ = 1/τ² (Gaussian) or 1/s (Laplace)."""
        from .logistic import LogisticLikelihood

        return cls(LogisticLikelihood(), prior, parse_bias(bias))

    @property
    def sigma(self) -> float | None:
        """The fixed noise sd of a Gaussian likelihood, else None."""
        return getattr(self.likelihood, "sigma_fixed", None)

    @property
    def sigma_prior(self):
        """σ's prior when the Gaussian likelihood's σ has one, else None."""
        return getattr(self.likelihood, "sigma_prior", None)

    @property
    def hyperpriors(self) -> dict:
        """Every scale with a prior of its own: the likelihood's (``sigma``) and the prior's (``tau``)."""
        return {**self.likelihood.hyperpriors(), **self.prior.hyperpriors()}

    @property
    def weight_prior(self) -> Prior:
        """The prior on w with σ substituted where σ is fixed (the scale-free prior becomes N(0, σ²/λ))."""
        if self.prior.depends_on_sigma and self.sigma is not None:
            return self.prior.conditional(sigma=self.sigma)
        return self.prior

    def sample_prior(self, num: int, d: int, seed: int | None = 0) -> dict:
        """``num`` draws from the joint prior, ancestrally: σ and τ from their priors where they have them, then
        w | σ, τ, then b where its prior is proper (``normal:S``). A fixed σ, a flat bias (improper) and an
        absent bias have no draws. Returns ``{"w": (num, d), "sigma" | "tau" | "b": (num,)}``."""
        import numpy as np
        import torch

        rng = np.random.default_rng(seed)

        def scale_draws(prior) -> np.ndarray:
            with torch.random.fork_rng():
                torch.manual_seed(int(rng.integers(2**62)))
                return prior.pyro_dist().sample((num,)).numpy().astype(np.float64)

        out = {}
        if self.sigma_prior is not None:
            out["sigma"] = scale_draws(self.sigma_prior)
        shrinkage = self.prior.local_scales()
        if shrinkage is not None:  # its latent scales, then w = σ s ⊙ z
            latents = shrinkage.sample_latents(rng, (num,), d)
            s = np.exp(shrinkage.log_scales({k: np.log(v) for k, v in latents.items()}))
            sigma = out["sigma"][:, None] if "sigma" in out else self.sigma
            out.update(latents)
            out["w"] = sigma * s * rng.standard_normal((num, d))
            if self.bias.kind == "normal":
                out["b"] = rng.normal(0.0, self.bias.scale, size=num)
            return out
        for name, prior in self.prior.hyperpriors().items():
            out[name] = scale_draws(prior)
        if "tau" not in out and not ("sigma" in out and self.prior.depends_on_sigma):
            out["w"] = self.weight_prior.sample_vectors(rng, (num,), d)
        elif (batched := self._batched_weights(out, num, d, rng)) is not None:
            out["w"] = batched
        else:  # a prior whose density does not broadcast over a batch of scales: one draw at a time
            sigmas = out.get("sigma", np.full(num, np.nan if self.sigma is None else self.sigma))
            taus = out.get("tau", np.full(num, np.nan))
            out["w"] = np.stack([self.prior.sample_vectors(rng, (), d, sigma=None if np.isnan(s) else float(s),
                                                           tau=None if np.isnan(t) else float(t))
                                 for s, t in zip(sigmas, taus, strict=True)])
        if self.bias.kind == "normal":
            out["b"] = rng.normal(0.0, self.bias.scale, size=num)
        return out

    def log_prior(self, draws: dict) -> np.ndarray:  # noqa: F821 - numpy is imported in the body
        """The joint log prior density of each posterior draw, ``draws`` as ``{site: (num, ...)}`` (``w``, and
        ``sigma``, ``tau``, ``b`` where they are random): log p(σ) + log p(τ) + log p(w | σ, τ) + log p(b). A flat
        bias adds 0 (density 1) and a fixed σ nothing. Vectorised through the Pyro densities where they take a
        batch of scales, one draw at a time otherwise. For power-scaling the prior (:mod:`bayesreg.sensitivity`).
        For a shrinkage prior (:mod:`bayesreg.shrinkage`) only its top-level priors enter (the global scale's,
        the slab's, R²'s), not the intermediate levels (the local scales and w given them), as Kallioinen et al.
        (2023) power-scale hierarchical priors; ``ShrinkagePrior.log_density_given`` is the joint."""
        import numpy as np
        import torch

        w = np.asarray(draws["w"], dtype=np.float64)
        num, d = w.shape
        total = np.zeros(num)
        scales = {}
        if self.sigma_prior is not None:
            scales["sigma"] = np.asarray(draws["sigma"], dtype=np.float64)
            total += self.sigma_prior.pyro_dist().log_prob(torch.as_tensor(scales["sigma"])).numpy()
        shrinkage = self.prior.local_scales()
        if shrinkage is not None:  # its top-level priors only (Kallioinen et al. 2023 for hierarchical priors)
            total += shrinkage.top_level_log_prior(draws)
            if self.bias.kind == "normal" and "b" in draws:
                b = np.asarray(draws["b"], dtype=np.float64)
                total += -0.5 * (b / self.bias.scale) ** 2 - np.log(self.bias.scale * np.sqrt(2.0 * np.pi))
            return total
        for name, prior in self.prior.hyperpriors().items():
            scales[name] = np.asarray(draws[name], dtype=np.float64)
            total += prior.pyro_dist().log_prob(torch.as_tensor(scales[name])).numpy()
        sigma = torch.as_tensor(scales["sigma"]) if "sigma" in scales else self.sigma
        tau = torch.as_tensor(scales["tau"]) if "tau" in scales else None
        try:
            lw = self.prior.pyro_dist(d, sigma=sigma, tau=tau).log_prob(torch.as_tensor(w)).numpy()
            if lw.shape != (num,):
                raise ValueError("the density did not broadcast over the draws")
        except Exception:  # noqa: BLE001 - the loop below is always right, only slower
            sig = scales.get("sigma", np.full(num, np.nan if self.sigma is None else self.sigma))
            taus = scales.get("tau", np.full(num, np.nan))
            lw = np.array([self.prior.log_density(w[i], sigma=None if np.isnan(sig[i]) else float(sig[i]),
                                                  tau=None if np.isnan(taus[i]) else float(taus[i]))
                           for i in range(num)])
        total += lw
        if self.bias.kind == "normal" and "b" in draws:
            b = np.asarray(draws["b"], dtype=np.float64)
            total += -0.5 * (b / self.bias.scale) ** 2 - np.log(self.bias.scale * np.sqrt(2.0 * np.pi))
        return total

    def _batched_weights(self, scales: dict, num: int, d: int, rng):
        """w | σ, τ for every draw at once through the prior's Pyro density with batched scales (milliseconds,
        where one draw at a time takes seconds), or None when the density does not take a batch."""
        import numpy as np
        import torch

        sigma = torch.as_tensor(scales["sigma"]) if "sigma" in scales else self.sigma  # (num,): the priors
        tau = torch.as_tensor(scales["tau"]) if "tau" in scales else None  # broadcast a batch of scales
        try:
            with torch.random.fork_rng():
                torch.manual_seed(int(rng.integers(2**62)))
                w = self.prior.pyro_dist(d, sigma=sigma, tau=tau).sample().numpy().astype(np.float64)
        except Exception:  # noqa: BLE001 - the loop below is always right, only slower
            return None
        return w if w.shape == (num, d) else None

    def __str__(self) -> str:
        return f"{self.likelihood}; w ~ {self.prior.describe()}; bias {self.bias}"
