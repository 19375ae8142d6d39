"""Simulation-based calibration of the samplers (Talts et al. 2018), seeded.

Each replication draws (w, b) from the prior and y from the model, samples the posterior, and ranks the true
values among the draws; a calibrated sampler gives uniform ranks. The χ² test uses 10 equal bins; with the seed
fixed the p-value is a fixed number, and a wrong sampler (wrong scale, wrong centre) drives it to ~0.
"""

import numpy as np
import pytest

from bayesreg import Gaussian, LinearRegressionModel, from_arrays, gaussian_posterior
from bayesreg.diagnostics import rank_uniformity_pvalue, sbc_ranks

TAU, SIGMA, S_B = 1.0, 0.5, 1.0
L = 99  # draws per replication: ranks on 0..99, 10 bins of 10


def simulate(rng, n=8, d=2):
    X = rng.normal(size=(n, d))
    w = rng.normal(0, TAU, size=d)
    b = rng.normal(0, S_B)
    y = X @ w + b + rng.normal(0, SIGMA, size=n)
    return {"w": w, "b": np.array(b)}, from_arrays(X, y)


def exact_sampler(scale=1.0):
    def sample(data, seed):
        post = gaussian_posterior(data, prior=Gaussian(TAU), sigma=SIGMA, bias=f"normal:{S_B}")
        draws = post.draws(draws=L, chains=1, seed=seed)
        w, b = draws.flat("w"), draws.flat("b")
        return {"w": post.w_mean + scale * (w - post.w_mean), "b": post.b_mean + scale * (b - post.b_mean)}
    return sample


def test_exact_sampler_is_calibrated():
    ranks = sbc_ranks(simulate, exact_sampler(), reps=400, seed=0)
    for name, r in ranks.items():
        assert rank_uniformity_pvalue(r, L) > 1e-3, name


def test_sbc_detects_a_miscalibrated_sampler():
    """The check has power: draws 30% too narrow fail it."""
    ranks = sbc_ranks(simulate, exact_sampler(scale=0.7), reps=400, seed=0)
    assert rank_uniformity_pvalue(ranks["w"], L) < 1e-3


def test_rank_pvalue_rejects_bad_bins():
    with pytest.raises(ValueError, match="divide"):
        rank_uniformity_pvalue(np.zeros(5), 98)


@pytest.mark.slow
def test_nuts_is_calibrated():
    from bayesreg.infer.nuts import nuts

    def sample(data, seed):
        model = LinearRegressionModel(Gaussian(TAU), sigma=SIGMA, bias=f"normal:{S_B}")
        post = nuts(data, model, chains=1, draws=L * 3, warmup=200, seed=seed)
        return {"w": post.flat("w")[::3], "b": post.flat("b")[::3]}  # thinned towards independence

    ranks = sbc_ranks(simulate, sample, reps=60, seed=1)
    for name, r in ranks.items():
        assert rank_uniformity_pvalue(r, L) > 1e-3, name


@pytest.mark.slow
def test_full_rank_svi_is_calibrated():
    """The full-rank Gaussian family contains this posterior, so converged SVI draws must be calibrated too."""
    from bayesreg.infer.svi import svi

    def sample(data, seed):
        model = LinearRegressionModel(Gaussian(TAU), sigma=SIGMA, bias=f"normal:{S_B}")
        post = svi(data, model, guide="mvn", draws=L, chains=1, seed=seed)
        return {"w": post.flat("w"), "b": post.flat("b")}

    ranks = sbc_ranks(simulate, sample, reps=100, seed=2)
    for name, r in ranks.items():
        assert rank_uniformity_pvalue(r, L) > 1e-3, name
