"""The figures of `bayesreg fit`: every parameter shown with its name, prior against posterior, labelled energy; the
`prior` group of the InferenceData has the prior's moments."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bayesreg import fit, load_diabetes  # noqa: E402
from bayesreg.data import from_arrays  # noqa: E402
from bayesreg.fitting import as_model  # noqa: E402
from bayesreg.plots import fit_figures  # noqa: E402
from bayesreg.priors import Gaussian, HierarchicalPrior, Laplace  # noqa: E402


def _idata(data, prior, sigma, method="auto", **kw):
    post = fit(data, prior, sigma, method=method, **kw)
    draws = as_model(prior, sigma, "flat").sample_prior(4000, data.d, seed=1)
    return post.to_inference_data(data, prior=draws), post


@pytest.mark.parametrize("prior,sd", [(Gaussian(20.0), 20.0), (Laplace(13.0), 13.0 * np.sqrt(2.0))])
def test_prior_group_has_the_priors_moments(prior, sd):
    idata, _ = _idata(load_diabetes(), prior, 54.0)
    w = idata.prior["w"].values.reshape(-1)  # 4000 draws × 10 weights, independent
    # the sd of 40,000 draws: relative error ≈ √((κ − 1)/(4N)) (κ the kurtosis: 3 normal, 6 Laplace) < 0.7%
    assert np.std(w) == pytest.approx(sd, rel=0.03)
    assert "sigma" not in idata.prior and "b" not in idata.prior  # σ fixed, flat bias: no prior draws


def test_hierarchical_prior_draws_tau_then_w():
    data = load_diabetes()
    prior = HierarchicalPrior("gaussian", "halfnormal:30")
    draws = as_model(prior, 54.0, "normal:100").sample_prior(5000, data.d, seed=0)
    tau, w = draws["tau"], draws["w"]
    # E|N(0, 30²)| = 30√(2/π); 5000 draws: relative MC error 0.76/√5000 = 1.1%
    assert np.mean(tau) == pytest.approx(30 * np.sqrt(2 / np.pi), rel=0.04)
    # w | τ ~ N(0, τ²): w/τ is standard normal whatever τ
    assert np.std(w / tau[:, None]) == pytest.approx(1.0, rel=0.02)
    assert np.std(draws["b"]) == pytest.approx(100.0, rel=0.03)


def test_every_parameter_is_drawn_with_its_name_and_the_prior():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 30))
    data = from_arrays(X, X[:, :3].sum(axis=1) + rng.normal(size=120),
                       feature_names=[f"f{j}" for j in range(30)])
    idata, post = _idata(data, Gaussian(1.0), 1.0)
    figs = fit_figures(idata, post.info.get("map"))
    pages = [k for k in figs if k.startswith("densities")]
    assert pages == ["densities", "densities-2", "densities-3"]  # b + 30 weights, 12 a page
    titles = [ax.get_title() for k in pages for ax in figs[k].axes if ax.get_visible()]
    assert set(titles) == {"b", *(f"w[f{j}]" for j in range(30))}
    first = [ax for ax in figs["densities-2"].axes if ax.get_visible()][0]
    assert any(line.get_linestyle() == "--" for line in first.get_lines())  # the prior, dashed
    assert figs["densities"].axes[0].get_legend() is not None
    pair = figs["pair"].axes[0]
    assert pair.get_xlabel().startswith("w[f") and pair.get_ylabel().startswith("w[f") and pair.get_title()


def test_energy_plot_is_labelled():
    idata, post = _idata(load_diabetes(), Gaussian(20.0), 54.0, method="nuts", chains=2, draws=200, warmup=100)
    ax = fit_figures(idata, post.info.get("map"))["energy"].axes[0]
    assert "BFMI" in ax.get_title() and ax.get_xlabel() and ax.get_ylabel() == "density"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["marginal energy", "energy transition"]
