"""Posterior inference. ``conjugate``: the exact Gaussian / Normal-Inverse-Gamma posterior."""

from .conjugate import GaussianPosterior, NIGPosterior, gaussian_posterior, nig_posterior

__all__ = ["GaussianPosterior", "NIGPosterior", "gaussian_posterior", "nig_posterior"]
