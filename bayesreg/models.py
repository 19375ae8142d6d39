r"""The Pyro model shared by every Pyro-based solver and sampler (MAP, SVI, NUTS).

.. math::

    \sigma &\sim p(\sigma) \text{ or fixed}, \qquad w \sim p(w) \;[\,\mid \sigma\,], \qquad b \sim p(b)
    \text{ or } b = 0, \\
    y_i &\sim N(x_i^\top w + b,\; \sigma^2), \quad i = 1..n.

Site names are fixed: ``sigma`` (only when σ has a prior), ``tau`` (only with a
:class:`~bayesreg.priors.HierarchicalPrior`: the prior's scale, so λ is inferred), ``w`` (one event of size d),
``b`` (absent when ``bias="none"``), ``y`` (observed, in the plate ``data``). A shrinkage prior
(:mod:`bayesreg.shrinkage`) samples its latent scales and ``z`` itself, and ``w = σ s ⊙ z`` is a deterministic
site. Everything is float64.
"""

from __future__ import annotations

import numpy as np
import pyro
import torch

from .model import Model
from .prior_base import Prior
from .priors import Bias, SigmaPrior, parse_bias

__all__ = ["LinearRegressionModel", "as_tensor"]


def as_tensor(a) -> torch.Tensor:
    """A float64 torch tensor of array-like ``a`` (a view where possible; read-only arrays are copied, since
    torch cannot honour numpy's read-only flag)."""
    if isinstance(a, np.ndarray) and not a.flags.writeable:
        a = a.copy()
    return torch.as_tensor(a, dtype=torch.float64)


class LinearRegressionModel:
    """Bayesian linear regression as a Pyro model: call it as ``model(X, y=None)``.

    Parameters
    ----------
    prior
        A whole :class:`~bayesreg.model.Model` (then ``sigma`` and ``bias`` are ignored), or the prior on w:
        :class:`~bayesreg.priors.Gaussian`, :class:`~bayesreg.priors.Laplace` or
        :class:`~bayesreg.priors.ConjugateGaussian` (``w | σ ~ N(0, σ²/λ)``), a
        :class:`~bayesreg.priors.HierarchicalPrior` (the scale τ gets a prior: site ``tau``), or any prior a
        penalty implies (:mod:`bayesreg.derived_priors`: elastic net, l2-norm, group lasso, Student-t, a custom
        φ), which enters through its normalised ``log_prob``. A radial or group prior must have as many
        weights as X has columns.
    sigma
        The noise sd as a number (fixed), or a prior on σ: a :class:`~bayesreg.priors.SigmaPrior` or its
        string (``"halfnormal:1"``, ``"halfcauchy:1"``, ``"invgamma:2,1"``).
    bias
        ``"flat"`` (default: unpenalised, improper uniform), ``"none"`` (b = 0) or ``"normal:S"``.

    Examples
    --------
    >>> import torch, pyro
    >>> from bayesreg.priors import Gaussian
    >>> model = LinearRegressionModel(Gaussian(1.0), sigma=0.5, bias="normal:10")
    >>> X, y = torch.zeros(3, 2, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    >>> tr = pyro.poutine.trace(model).get_trace(X, y)
    >>> tr.nodes["w"]["value"].shape, tr.nodes["b"]["value"].dtype, tr.observation_nodes
    (torch.Size([2]), torch.float64, ['y'])
    """

    def __init__(self, prior: Prior | Model, sigma: float | str | SigmaPrior = 1.0, bias: str | Bias = "flat"):
        spec = prior if isinstance(prior, Model) else Model.gaussian(prior, sigma, parse_bias(bias))
        self.spec = spec
        self.prior = spec.weight_prior
        self.bias = spec.bias
        self.sigma: float | None = spec.sigma
        self.sigma_prior: SigmaPrior | None = spec.sigma_prior

    def __repr__(self) -> str:
        noise = self.sigma if self.sigma_prior is None else str(self.sigma_prior)
        return f"LinearRegressionModel(prior={self.prior!r}, sigma={noise}, bias={str(self.bias)!r})"

    def __call__(self, X: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        X = as_tensor(X)
        n, d = X.shape
        if "sigma" not in self.spec.likelihood.parameter_names:  # a classifier: no noise scale
            sigma = None
        elif self.sigma_prior is None:
            sigma = torch.tensor(self.sigma, dtype=torch.float64)
        else:
            sigma = pyro.sample("sigma", self.sigma_prior.pyro_dist())
        if self.prior.local_scales() is not None:  # latent scales of its own: sites it samples, w deterministic
            w = self.prior.pyro_weights(d, sigma)
        else:
            hyper = {name: pyro.sample(name, scale.pyro_dist()) for name, scale in self.prior.hyperpriors().items()}
            w = pyro.sample("w", self.prior.pyro_dist(d, sigma=sigma if self.prior.depends_on_sigma else None,
                                                      **hyper))
        # Vectorised draws (Predictive, parallel chains) carry a size-1 dim at the data plate's position -1,
        # so w is (..., 1, d) and scalars are (..., 1): broadcasting against the rows of X gives (..., n).
        mean = X @ w if w.dim() == 1 else (w * X).sum(-1)
        if self.bias.present:
            mean = mean + pyro.sample("b", self.bias.pyro_dist())
        with pyro.plate("data", n, dim=-1):
            return self.spec.likelihood.pyro_observe(mean, None if y is None else as_tensor(y), sigma=sigma)
