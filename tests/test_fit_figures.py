"""The figures of `bayesreg fit`: every parameter shown with its name, prior against posterior, labelled energy; the
`prior` group of the InferenceData, drawn from the fitted model, has the prior's moments."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

from bayesreg import fit, load_diabetes  # noqa: E402
from bayesreg.data import from_arrays  # noqa: E402
from bayesreg.fitting import as_model  # noqa: E402
from bayesreg.infer.result import Posterior  # noqa: E402
from bayesreg.plots import DENSITY_PAGES, DENSITY_PANELS, fit_figures, point_figures  # noqa: E402
from bayesreg.priors import Gaussian, HierarchicalPrior, Laplace  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    """The figures these tests inspect are pyplot figures: close them, or later tests meet matplotlib's
    more-than-20-open-figures warning (an error under this suite's filterwarnings)."""
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def _data(d: int, n: int = 120):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    return from_arrays(X, X[:, :3].sum(axis=1) + rng.normal(size=n), feature_names=[f"f{j}" for j in range(d)])


@pytest.mark.parametrize("prior,sd", [(Gaussian(20.0), 20.0), (Laplace(13.0), 13.0 * np.sqrt(2.0))])
def test_prior_group_is_drawn_from_the_fitted_model_with_its_moments(prior, sd):
    data = load_diabetes()
    post = fit(data, prior, 54.0, method="map" if isinstance(prior, Laplace) else "exact", draws=1000)
    assert post.model is not None and post.model.prior == prior
    idata = post.to_inference_data(prior_draws=4000, seed=3)
    assert dict(idata.prior["w"].sizes) == {"chain": 1, "draw": 4000, "feature": 10}
    assert [str(f) for f in idata.prior["w"].coords["feature"].values] == list(data.feature_names)
    w = idata.prior["w"].values.reshape(-1)  # 4000 draws × 10 independent weights
    # sd of N = 40,000 draws: relative sd error √((κ − 1)/(4N)) (kurtosis κ = 3 normal, 6 Laplace) ≤ 0.56%; 4σ
    assert np.std(w) == pytest.approx(sd, rel=0.023)
    assert np.mean(w) == pytest.approx(0.0, abs=4 * sd / np.sqrt(w.size))
    # σ fixed and a flat bias: no prior draws, and the group says why
    assert "sigma" not in idata.prior and "b" not in idata.prior
    assert idata.prior.attrs["absent_from_prior"] == "sigma: fixed at 54; b: flat prior, improper"
    # the same seed gives the same prior draws
    again = post.to_inference_data(prior_draws=4000, seed=3)
    np.testing.assert_array_equal(again.prior["w"].values, idata.prior["w"].values)


def test_hierarchical_prior_draws_tau_then_w_given_tau():
    model = as_model(HierarchicalPrior("gaussian", "halfnormal:30"), "halfnormal:5", "normal:100")
    ones = np.ones((2, 50))  # stand-in posterior draws: only the prior group is under test
    post = Posterior("nuts", {"w": np.zeros((2, 50, 5)), "tau": ones, "sigma": ones, "b": ones},
                     tuple("abcde"), model=model)
    idata = post.to_inference_data(prior_draws=4000, seed=0)
    prior = idata.prior
    import arviz as az

    assert np.size(az.plot_density(idata, group="prior", var_names=["w", "tau"])) >= 6  # ArviZ reads the group
    tau, w = prior["tau"].values.ravel(), prior["w"].values.reshape(-1, 5)
    # E τ = 30√(2/π) for τ ~ |N(0, 30²)|, sd 30√(1 − 2/π); N = 4000: 4 standard errors ≈ 3.8% of the mean
    assert np.mean(tau) == pytest.approx(30 * np.sqrt(2 / np.pi), rel=0.04)
    # w | τ ~ N(0, τ²) drawn after τ: w/τ is standard normal whatever τ (20,000 values: sd error 0.5%, 4σ)
    assert np.std(w / tau[:, None]) == pytest.approx(1.0, rel=0.02)
    assert np.std(prior["b"].values) == pytest.approx(100.0, rel=0.045)  # 4000 draws: sd error 1.1%, 4σ
    assert np.mean(prior["sigma"].values) == pytest.approx(5 * np.sqrt(2 / np.pi), rel=0.04)
    assert prior.attrs["absent_from_prior"] == "none"


def test_every_parameter_is_drawn_with_its_name_and_the_prior_dashed():
    data = _data(30)
    post = fit(data, Gaussian(1.0), 1.0, method="exact", draws=500)
    figs = fit_figures(post.to_inference_data(data), post.info["map"])
    pages = [k for k in figs if k.startswith("densities")]
    assert pages == ["densities", "densities-2", "densities-3"]  # b + 30 weights, 12 a page
    panels = [ax for k in pages for ax in figs[k].axes if ax.get_visible()]
    assert sorted(ax.get_title() for ax in panels) == sorted(["b", *(f"w[f{j}]" for j in range(30))])
    assert all(ax.get_xlabel() == ax.get_title() for ax in panels)
    for ax in panels:
        prior_lines = [p for p in ax.patches if isinstance(p, StepPatch) and p.get_linestyle() == "--"]
        assert len(prior_lines) == (0 if ax.get_title() == "b" else 1)  # the flat bias has no prior draws
    legend = [t.get_text() for t in figs["densities"].axes[0].get_legend().get_texts()]
    assert {"posterior", "prior", "MAP"} <= set(legend)
    pair = figs["pair"].axes[0]
    assert pair.get_xlabel().startswith("w[f") and pair.get_ylabel().startswith("w[f") and pair.get_title()
    assert pair.get_xlabel() != pair.get_ylabel()
    forest = figs["forest"].axes[0]
    assert [t.get_text() for t in forest.get_yticklabels()] == [f"f{j}" for j in range(30)]
    assert "prior, central 94%" in [t.get_text() for t in forest.get_legend().get_texts()]


def test_many_weights_every_one_in_the_forest():
    d = DENSITY_PAGES * DENSITY_PANELS + 2
    data = _data(d, n=200)
    post = fit(data, Gaussian(1.0), 1.0, method="exact", draws=200)
    figs = fit_figures(post.to_inference_data(data), post.info["map"])
    assert [k for k in figs if k.startswith("densities")] == ["densities"]
    assert "forest.png" in figs["densities"]._suptitle.get_text()
    names = {t.get_text() for t in figs["forest"].axes[0].get_yticklabels()}
    assert names == {f"f{j}" for j in range(d)}


def test_energy_plot_is_labelled():
    data = _data(4, n=60)
    post = fit(data, Gaussian(2.0), 1.0, method="nuts", chains=2, draws=100, warmup=100)
    ax = fit_figures(post.to_inference_data(data), post.info.get("map"))["energy"].axes[0]
    assert "BFMI" in ax.get_title() and ax.get_xlabel() and ax.get_ylabel() == "density"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["marginal energy", "energy transition"]


def test_point_figures_name_every_weight():
    data = load_diabetes()
    ax = point_figures(fit(data, Laplace(5.0), 54.0, method="map"))["map"].axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(data.feature_names)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
