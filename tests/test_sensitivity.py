"""Power-scaling sensitivity (bayesreg.sensitivity, ArviZ's psens) and the log_prior group it reads.

Oracles: SciPy's densities for the log prior; the exact conjugate posterior at a power-scaled prior for the
importance reweighting the diagnostic rests on; a prior–data conflict built on purpose against a well-specified
model.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import bayesreg as br
from bayesreg.diagnostics import health, summary_table
from bayesreg.sensitivity import CONFLICT, power_scaling


@pytest.fixture(scope="module")
def strong_signal():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = X @ np.array([3.0, 0.0, -2.0]) + 1.0 + rng.standard_normal(200)
    return br.from_arrays(X, y)


def _exact(data, tau, draws=1000):
    post = br.fit(data, br.Model.gaussian(br.Gaussian(tau), 1.0), method="exact", chains=4, draws=draws, seed=0)
    return post, post.to_inference_data(data)


def test_log_prior_is_the_joint_prior_density():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((50, 4))
    tau, sigma = rng.uniform(0.5, 2, 50), rng.uniform(0.5, 2, 50)
    b = rng.standard_normal(50)
    fixed = br.Model.gaussian(br.Gaussian(0.7), 1.0, bias="normal:2")
    oracle = stats.norm(0, 0.7).logpdf(w).sum(axis=1) + stats.norm(0, 2).logpdf(b)
    np.testing.assert_allclose(fixed.log_prior({"w": w, "b": b}), oracle, rtol=1e-12)
    hier = br.Model.gaussian(br.HierarchicalPrior("laplace", "halfcauchy:1"), "halfnormal:3")
    oracle = (stats.laplace(0, tau[:, None]).logpdf(w).sum(axis=1) + stats.halfcauchy(0, 1).logpdf(tau)
              + stats.halfnorm(0, 3).logpdf(sigma))
    np.testing.assert_allclose(hier.log_prior({"w": w, "tau": tau, "sigma": sigma, "b": b}), oracle, rtol=1e-12)


def test_reweighting_by_the_log_prior_gives_the_power_scaled_posterior(strong_signal):
    """p(w)^α with w ~ N(0, τ²) is N(0, τ²/α): the exact posterior at τ/√α is the oracle."""
    tau, alpha = 0.3, 0.7
    post, idata = _exact(strong_signal, tau, draws=5000)
    w = idata.posterior["w"].values.reshape(-1, 3)
    log_weights = (alpha - 1.0) * idata.log_prior["prior"].values.ravel()
    weights = np.exp(log_weights - log_weights.max())
    weights /= weights.sum()
    mean = weights @ w
    ess = 1.0 / np.sum(weights**2)
    se = np.sqrt(weights @ (w - mean) ** 2) / np.sqrt(ess)
    oracle = br.gaussian_posterior(strong_signal, prior=tau / np.sqrt(alpha), sigma=1.0).w_mean
    assert np.all(np.abs(mean - oracle) < 5 * se)


def test_a_conflict_built_on_purpose_is_flagged_and_a_wide_prior_is_quiet(strong_signal):
    post, idata = _exact(strong_signal, 0.05)         # weights of 3 and −2 under N(0, 0.05²)
    found = power_scaling(idata)
    assert found["w[x0]"].diagnosis == CONFLICT and found["w[x2]"].diagnosis == CONFLICT
    verdict = health(post, idata)
    assert verdict.ok and any("prior-data conflict" in w and "w[x0]" in w for w in verdict.warnings)
    assert summary_table(idata)["w[x0]"]["sensitivity"]["diagnosis"] == CONFLICT
    post, idata = _exact(strong_signal, 10.0)
    assert all(v.diagnosis is None and v.prior < 0.05 for v in power_scaling(idata).values())
    assert health(post, idata).warnings == []


def test_without_rows_there_is_no_diagnostic(strong_signal):
    post, _ = _exact(strong_signal, 1.0)
    assert power_scaling(post.to_inference_data()) is None
