"""The Pyro model's log joint density equals the one written with SciPy's distributions."""

import math

import numpy as np
import pyro
import pytest
import torch
from scipy import stats

from bayesreg import ConjugateGaussian, Gaussian, Laplace, LinearRegressionModel, SpecError
from bayesreg.priors import parse_bias, parse_sigma_prior

rng = np.random.default_rng(0)
X = rng.normal(size=(9, 3))
y = rng.normal(size=9)
W = np.array([0.3, -1.1, 0.05])
B = 0.7
SIGMA = 0.8


def _log_joint(model, values):
    conditioned = pyro.poutine.condition(model, data={k: torch.tensor(v, dtype=torch.float64)
                                                      for k, v in values.items()})
    tr = pyro.poutine.trace(conditioned).get_trace(torch.tensor(X), torch.tensor(y))
    return float(tr.log_prob_sum()), tr


def _sigma_logpdf(spec, s):
    kind, params = spec.kind, spec.params
    if kind == "halfnormal":
        return stats.halfnorm(scale=params[0]).logpdf(s)
    if kind == "halfcauchy":
        return stats.halfcauchy(scale=params[0]).logpdf(s)
    return stats.invgamma(params[0], scale=params[1]).logpdf(s**2) + math.log(2 * s)  # σ² ~ IG, change of var


@pytest.mark.parametrize("prior", [Gaussian(0.5), Laplace(0.4)], ids=["gaussian", "laplace"])
@pytest.mark.parametrize("bias", ["none", "flat", "normal:2"])
@pytest.mark.parametrize("sigma", [SIGMA, "halfnormal:1.5", "halfcauchy:0.5", "invgamma:3,2"])
def test_log_joint(prior, bias, sigma):
    model = LinearRegressionModel(prior, sigma=sigma, bias=bias)
    values = {"w": W}
    if bias != "none":
        values["b"] = B
    if not isinstance(sigma, float):
        values["sigma"] = SIGMA
    got, tr = _log_joint(model, values)
    b = B if bias != "none" else 0.0
    expected = stats.norm(X @ W + b, SIGMA).logpdf(y).sum()
    expected += (stats.norm(0, 0.5).logpdf(W) if isinstance(prior, Gaussian) else stats.laplace(0, 0.4).logpdf(W)).sum()
    if bias.startswith("normal"):
        expected += stats.norm(0, 2).logpdf(B)
    if not isinstance(sigma, float):
        expected += _sigma_logpdf(parse_sigma_prior(sigma), SIGMA)
    assert got == pytest.approx(expected, rel=1e-12)
    assert ("b" in tr.nodes) == (bias != "none") and ("sigma" in tr.nodes) == (not isinstance(sigma, float))
    assert all(tr.nodes[k]["value"].dtype == torch.float64 for k in values)


def test_conjugate_prior_scales_with_sigma():
    model = LinearRegressionModel(ConjugateGaussian(4.0), sigma="invgamma:2,1", bias="flat")
    got, _ = _log_joint(model, {"w": W, "b": B, "sigma": SIGMA})
    expected = (stats.norm(X @ W + B, SIGMA).logpdf(y).sum() + stats.norm(0, SIGMA / 2).logpdf(W).sum()
                + _sigma_logpdf(parse_sigma_prior("invgamma:2,1"), SIGMA))
    assert got == pytest.approx(expected, rel=1e-12)
    # with σ fixed the scale-free prior is N(0, σ²/λ)
    assert LinearRegressionModel(ConjugateGaussian(4.0), sigma=SIGMA).prior == Gaussian(SIGMA / 2)


def test_batched_draws_through_predictive():
    model = LinearRegressionModel(Gaussian(1.0), sigma="halfnormal:1", bias="normal:1")
    draws = pyro.infer.Predictive(model, num_samples=50, parallel=True)(torch.tensor(X))
    assert draws["w"].shape == (50, 1, 3) and draws["y"].shape == (50, 9) and draws["sigma"].shape == (50, 1)
    # each y draw is centred on its own (w, b): the residuals have the drawn σ as their scale
    resid = draws["y"] - (draws["w"] * torch.tensor(X)).sum(-1) - draws["b"]
    z = (resid / draws["sigma"]).numpy().ravel()
    assert abs(z.mean()) < 4.5 / math.sqrt(z.size) and abs(z.var() - 1) < 4.5 * math.sqrt(2 / z.size)


@pytest.mark.parametrize("spec,match", [
    ("normal", "needs a scale"), ("normal:-1", "positive"), ("uniform", "unknown bias"), ("flat:3", "unknown bias"),
    ("normal:abc", "not a number"),
])
def test_bad_bias(spec, match):
    with pytest.raises(SpecError, match=match):
        parse_bias(spec)


@pytest.mark.parametrize("spec,match", [
    ("halfnormal", "needs parameters"), ("gamma:1", "unknown scale prior"), ("invgamma:1", "2 parameter"),
    ("halfcauchy:0", "positive"),
])
def test_bad_sigma_prior(spec, match):
    with pytest.raises(SpecError, match=match):
        parse_sigma_prior(spec)


def test_bad_prior_type():
    with pytest.raises(SpecError, match="prior must be"):
        LinearRegressionModel("gaussian", sigma=1.0)


@pytest.mark.parametrize("bias", ["flat", "none", "normal:2"])
def test_pyro_inference_can_initialise_every_bias(bias):
    """AutoDelta's default init and NUTS's initialisation both sample every site once: a flat bias must allow it,
    and must add nothing to the log density."""
    from pyro.infer.autoguide import AutoDelta
    from pyro.infer.mcmc.util import initialize_model

    model = LinearRegressionModel(Gaussian(1.0), sigma=SIGMA, bias=bias)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    with pyro.get_param_store().scope():
        guide = AutoDelta(model)
        assert set(guide(Xt, yt)) == ({"w"} | ({"b"} if bias != "none" else set()))
    init_params, potential_fn, *_ = initialize_model(model, model_args=(Xt, yt))
    assert torch.isfinite(potential_fn(init_params))
    if bias == "flat":
        got, _ = _log_joint(model, {"w": W, "b": B})
        assert got == pytest.approx(stats.norm(X @ W + B, SIGMA).logpdf(y).sum() + stats.norm(0, 1).logpdf(W).sum())


@pytest.mark.parametrize("family,tau_spec", [("gaussian", "halfcauchy:1"), ("laplace", "invgamma:3,2")])
def test_hierarchical_prior_log_joint(family, tau_spec):
    from bayesreg.priors import HierarchicalPrior

    tau = 0.6
    model = LinearRegressionModel(HierarchicalPrior(family, tau_spec), sigma=SIGMA, bias="none")
    got, tr = _log_joint(model, {"w": W, "tau": tau})
    prior_w = stats.norm(0, tau) if family == "gaussian" else stats.laplace(0, tau)
    expected = (stats.norm(X @ W, SIGMA).logpdf(y).sum() + prior_w.logpdf(W).sum()
                + _sigma_logpdf(parse_sigma_prior(tau_spec), tau))
    assert got == pytest.approx(expected, rel=1e-12) and "tau" in tr.nodes
