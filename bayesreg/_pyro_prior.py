"""A Pyro distribution over R^d for any :class:`~bayesreg.derived_priors.DerivedPrior` (kept apart so that the
maths module does not import torch and Pyro)."""

from __future__ import annotations

import numpy as np
import torch
from pyro.distributions import TorchDistribution, constraints

__all__ = ["DerivedPriorDistribution"]


class DerivedPriorDistribution(TorchDistribution):
    """The prior as one event of shape ``(d,)``, float64: ``log_prob`` is the prior's normalised log density
    (differentiable, for NUTS); ``sample`` draws with the prior's exact sampler, seeded from torch's generator
    (so ``pyro.set_rng_seed`` makes it reproducible)."""

    arg_constraints: dict = {}
    support = constraints.real_vector
    has_rsample = False

    def __init__(self, prior, d: int, validate_args=None):
        self.prior = prior
        self.d = int(d)
        super().__init__(batch_shape=torch.Size(), event_shape=torch.Size([self.d]), validate_args=validate_args)

    def log_prob(self, value):
        value = torch.as_tensor(value, dtype=torch.float64)
        return self.prior.log_density_torch(value)

    def sample(self, sample_shape=()):
        seed = int(torch.randint(0, 2**62, (), dtype=torch.int64))
        draws = self.prior.sample_vectors(np.random.default_rng(seed), tuple(sample_shape), self.d)
        return torch.as_tensor(np.asarray(draws), dtype=torch.float64)

    @property
    def mean(self):
        if getattr(self.prior, "name", "") == "custom":
            raise NotImplementedError("the mean of a custom prior is not computed")
        return torch.zeros(self.d, dtype=torch.float64)  # every named derived prior is symmetric about 0

    def __repr__(self) -> str:
        return f"DerivedPriorDistribution({self.prior!r}, d={self.d})"
