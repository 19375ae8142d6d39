"""Prior densities against SciPy, and the errors for penalties that imply no prior."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from bayesreg import ConjugateGaussian, Gaussian, ImproperPriorError, Laplace, NoPriorError, SpecError
from bayesreg.priors import penalty_from_prior, prior_from_penalty

W = np.array([0.3, -1.2, 0.0, 2.5])


def test_gaussian_density():
    p = Gaussian(0.7)
    assert -p.neg_log_density(W) == pytest.approx(stats.norm(0, 0.7).logpdf(W).sum(), rel=1e-13)
    assert p.penalty(W) == pytest.approx(W @ W / (2 * 0.49))
    assert p.variance == pytest.approx(0.49)


def test_laplace_density():
    p = Laplace(0.4)
    assert -p.neg_log_density(W) == pytest.approx(stats.laplace(0, 0.4).logpdf(W).sum(), rel=1e-13)
    assert p.variance == pytest.approx(stats.laplace(0, 0.4).var())


@pytest.mark.parametrize("prior", [Gaussian(0.3), Laplace(0.2)])
def test_pyro_distribution_matches(prior):
    import torch

    d = prior.pyro_dist(4)
    assert d.event_shape == (4,) and d.mean.dtype == torch.float64
    assert float(d.log_prob(torch.tensor(W))) == pytest.approx(-prior.neg_log_density(W), rel=1e-12)


@pytest.mark.parametrize("prior", [Gaussian(0.3), Laplace(0.2)])
def test_one_coordinate_density_integrates_to_one(prior):
    total, _ = integrate.quad(lambda w: math.exp(-prior.neg_log_density([w])), -np.inf, np.inf, epsrel=1e-12)
    assert total == pytest.approx(1.0, abs=1e-10)


def test_exp_minus_penalty_over_sigma2_is_the_prior():
    """p(w) ∝ exp(−pen(w)/σ²) with pen = (λ/2)‖w‖² at λ = σ²/τ²: the ratio of densities at two points."""
    sigma, lam = 0.5, 3.0
    prior = prior_from_penalty("l2", lam, sigma)
    a, b = np.array([0.1, 0.2]), np.array([-0.3, 0.05])
    log_ratio = -(lam / 2 * (a @ a) - lam / 2 * (b @ b)) / sigma**2
    assert prior.neg_log_density(b) - prior.neg_log_density(a) == pytest.approx(log_ratio, rel=1e-12)
    prior = prior_from_penalty("l1", lam, sigma)
    log_ratio = -(lam * np.abs(a).sum() - lam * np.abs(b).sum()) / sigma**2
    assert prior.neg_log_density(b) - prior.neg_log_density(a) == pytest.approx(log_ratio, rel=1e-12)


def test_negative_penalty_has_no_prior():
    with pytest.raises(NoPriorError, match="does not normalise"):
        prior_from_penalty("l1", -0.5, sigma=1.0, n=10, convention="d2l")
    with pytest.raises(NoPriorError, match="does not normalise"):
        prior_from_penalty("l2", -1.0, sigma=1.0)


def test_zero_penalty_is_improper():
    with pytest.raises(ImproperPriorError, match="improper flat"):
        prior_from_penalty("l2", 0.0, sigma=1.0)
    assert issubclass(ImproperPriorError, NoPriorError) and issubclass(NoPriorError, ValueError)


@pytest.mark.parametrize("kwargs,match", [
    ({"sigma": 0.0}, "sigma"), ({"sigma": -1.0}, "sigma"), ({"sigma": float("nan")}, "sigma"),
])
def test_bad_sigma(kwargs, match):
    with pytest.raises(SpecError, match=match):
        prior_from_penalty("l2", 1.0, **kwargs)


@pytest.mark.parametrize("cls,value", [(Gaussian, 0.0), (Gaussian, -1.0), (Laplace, float("inf")),
                                       (ConjugateGaussian, 0.0), (Laplace, "wide")])
def test_bad_prior_parameters(cls, value):
    with pytest.raises(SpecError, match="positive"):
        cls(value)


def test_penalty_from_prior_needs_sigma_unless_scale_free():
    with pytest.raises(SpecError, match="sigma is needed"):
        penalty_from_prior(Gaussian(1.0))
    assert penalty_from_prior(ConjugateGaussian(2.5), n=10, convention="d2l").lam == pytest.approx(0.25)
