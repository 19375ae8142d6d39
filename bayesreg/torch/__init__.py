"""Your own PyTorch training run, read the Bayesian way.

* :func:`implied_prior`: the prior each parameter was trained under, from the model, the optimiser (its
  parameter groups' ``weight_decay``; coupled or decoupled) and the loss (its reduction, a ½).
* :func:`map_check`: whether training reached the MAP of that prior (a full-batch stationarity test; the distance
  to bayesreg's exact MAP for an ``nn.Linear`` model; AdamW's end point under its effective and naive priors).
* :func:`laplace_posterior`: the Laplace approximation of the run through laplace-torch, with those prior
  precisions: mean and covariance of the parameters, predictive uncertainty, the log marginal likelihood and the
  weight decay it prefers.

Only :func:`laplace_posterior` needs the ``laplace-torch`` package (see the README's install notes).
"""

from .implied import KINDS, ImpliedPrior, ParameterPrior, implied_prior
from .map_check import MapCheck, map_check
from .posterior import TorchLaplace, laplace_posterior

__all__ = ["KINDS", "ImpliedPrior", "ParameterPrior", "implied_prior", "MapCheck", "map_check", "TorchLaplace",
           "laplace_posterior"]
