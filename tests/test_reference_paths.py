"""Oracles for two paths that had none: SVI under a Laplace prior, and NUTS on the Pyro model itself.

* SVI: for one weight, a Laplace prior, σ fixed and no bias, the ELBO of a Gaussian q(w) = N(m, v) is closed
  form (E_q|w| = √(2v/π)·e^(−m²/2v) + m(1 − 2Φ(−m/√v))), so the best Gaussian is found by SciPy alone; SVI's
  guide must be it.
* ``nuts(path="model")``, the documented reference path: against the exact Gaussian posterior.
"""

import math

import arviz as az
import numpy as np
from scipy import optimize, stats

import bayesreg as br
from bayesreg.infer.conjugate import gaussian_posterior
from bayesreg.infer.nuts import nuts
from bayesreg.models import LinearRegressionModel


def _one_feature(n=20, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return br.from_arrays(x[:, None], 0.1 * x + rng.standard_normal(n))


def test_svi_under_a_laplace_prior_finds_the_best_gaussian():
    data, sigma, scale = _one_feature(), 1.0, 0.2
    x, y = data.X[:, 0], data.y
    sxx, sxy = float(x @ x), float(x @ y)

    def neg_elbo(z):
        m, v = z[0], math.exp(z[1])
        sd = math.sqrt(v)
        e_abs = sd * math.sqrt(2 / math.pi) * math.exp(-m * m / (2 * v)) + m * (1 - 2 * stats.norm.cdf(-m / sd))
        e_loglik = -(-2 * m * sxy + (m * m + v) * sxx) / (2 * sigma**2)
        return -(e_loglik - e_abs / scale + 0.5 * math.log(v))

    best = optimize.minimize(neg_elbo, [0.0, math.log(0.05)], method="Nelder-Mead",
                             options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 10_000}).x
    m_opt, sd_opt = best[0], math.exp(0.5 * best[1])
    draws = 40_000
    post = br.fit(data, br.Laplace(scale), sigma, bias="none", method="svi", guide="normal", chains=1,
                  draws=draws, seed=0)
    w = post.flat("w")[:, 0]
    assert post.info["converged"]
    # Monte Carlo error of the draws (4 × sd/√N for the mean, 4 × sd/√(2N) for the sd: 2% and 1.4%) plus 1% for
    # the optimiser's stopping rule (the ELBO still moving by < tol per window); seeds 0–2 were within 0.6%
    assert abs(w.mean() - m_opt) < 4 * sd_opt / math.sqrt(draws) + 0.01 * sd_opt
    assert abs(w.std() / sd_opt - 1) < 4 / math.sqrt(2 * draws) + 0.01
    # the case tests the kink: the mode is exactly 0 (|Σxy| < σ²/s), the best Gaussian's mean is not
    assert abs(sxy) < sigma**2 / scale and abs(m_opt) > 0.3 * sd_opt


def test_nuts_on_the_pyro_model_matches_the_exact_posterior():
    full = br.load_diabetes()
    data = br.from_arrays(full.X[:100, :3], full.y[:100], feature_names=full.feature_names[:3])
    tau, sigma = 200.0, 54.0
    exact = gaussian_posterior(data, prior=tau, sigma=sigma)
    post = nuts(data, LinearRegressionModel(br.Gaussian(tau), sigma), path="model", chains=2, draws=300,
                warmup=200, seed=1)
    idata = post.to_inference_data()
    mcse = az.mcse(idata, var_names=["w", "b"])
    w = post.flat("w")
    err_w = np.abs(w.mean(0) - exact.w_mean)
    assert np.all(err_w < 4 * mcse["w"].values + 1e-9 * np.abs(exact.w_mean)), (err_w, mcse["w"].values)
    assert abs(post.flat("b").mean() - exact.b_mean) < 4 * float(mcse["b"]) + 1e-9
    ess = az.ess(idata, var_names=["w"])["w"].values
    # the sd of a sample sd is ≈ sd/√(2·ESS): 5 of those
    assert np.all(np.abs(w.std(0) / exact.w_sd - 1) < 5 / np.sqrt(2 * ess))
