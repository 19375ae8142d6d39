"""Posterior inference. Every method returns a :class:`~bayesreg.infer.result.Posterior`.

``conjugate``: the exact Gaussian / Normal-Inverse-Gamma posterior; ``nuts``: Pyro NUTS; ``svi``: Pyro SVI;
``gibbs``: the Bayesian-lasso Gibbs sampler. :func:`bayesreg.fitting.fit` chooses among them.
"""

from .conjugate import GaussianPosterior, NIGPosterior, gaussian_posterior, nig_posterior
from .result import Posterior

__all__ = ["GaussianPosterior", "NIGPosterior", "Posterior", "gaussian_posterior", "nig_posterior"]
