"""Variable selection from the posterior: SAVS against the adaptive lasso it approximates (scikit-learn's Lasso on
orthogonal columns), the credible-interval rule, and both on a sparse truth against the lasso's zeros."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Lasso

import bayesreg as br
from bayesreg.errors import SpecError
from bayesreg.variable_selection import credible_interval_selection, savs, select_variables


def test_savs_is_the_adaptive_lasso_on_orthogonal_columns():
    """min ½‖Xβ − Xγ‖² + Σ μ_j|γ_j|, μ_j = 1/β_j²: with orthogonal X the problem separates and SAVS is exact."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((60, 6)))
    X = Q * np.array([3.0, 1.0, 5.0, 2.0, 0.5, 4.0])            # orthogonal columns of different norms
    beta = np.array([1.5, -0.2, 0.05, 2.0, -0.9, 0.01])
    mu = 1.0 / beta**2
    # scikit-learn's Lasso minimises (1/2n)‖y − Zc‖² + α‖c‖₁; with Z = X / μ, γ = c / μ the penalty is Σ μ_j|γ_j|
    n = X.shape[0]
    fit = Lasso(alpha=1.0 / n, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X / mu, X @ beta)
    oracle = fit.coef_ / mu
    np.testing.assert_allclose(savs(beta[None], X, center=False, standardize=False)[0], oracle, atol=1e-10)
    assert np.count_nonzero(oracle) < 6                           # the small weights are zeroed


def test_savs_in_standardised_units_does_not_depend_on_the_units():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 4)) * [1.0, 10.0, 0.1, 3.0]
    draws = rng.normal([0.5, 0.01, 4.0, 0.0], 0.2, size=(500, 4))
    base = savs(draws, X, noise_sd=2.0) != 0
    # y in other units (×100) and x₂ in other units (÷7): the same weights are kept
    rescaled = savs(draws * 100.0 * np.array([1, 1, 7, 1]), X / np.array([1, 1, 7, 1]), noise_sd=200.0) != 0
    assert np.array_equal(base, rescaled)


def test_credible_interval_rule_and_errors():
    rng = np.random.default_rng(1)
    draws = rng.normal([0.0, 3.0, -2.5], 1.0, size=(4000, 3))
    assert credible_interval_selection(draws).tolist() == [False, True, True]
    with pytest.raises(SpecError, match="prob"):
        credible_interval_selection(draws, prob=1.0)
    with pytest.raises(SpecError, match="weights"):
        savs(draws, np.ones((5, 2)))


def test_sparse_truth_under_the_bayesian_lasso():
    rng = np.random.default_rng(2)
    n, d = 100, 20
    X = rng.standard_normal((n, d))
    w_true = np.zeros(d)
    w_true[:5] = [2.0, -1.5, 1.0, 3.0, -2.5]
    y = X @ w_true + rng.standard_normal(n)
    data = br.from_arrays(X, y)
    model = br.Model.gaussian(br.Laplace(0.5), 1.0)
    post = br.fit(data, model, method="gibbs", chains=4, draws=1000, seed=0)
    lasso = br.fit(data, model, method="map")
    chosen = select_variables(post.draws["w"], X, names=data.feature_names, noise_sd=1.0,
                              map_w=lasso.draws["w"].reshape(-1))
    truth = set(data.feature_names[:5])
    # seed 2, λ = σ²/s = 2 (a weak lasso): its MAP keeps 19 of 20 weights; the posterior rules keep the truth and
    # far fewer false ones (SAVS 1, the interval rule 2): never exactly zero, the posterior still separates them
    picked = {rule: set(chosen.selected(rule)) for rule in ("savs", "credible", "map")}
    assert all(truth <= p for p in picked.values())
    false = {rule: len(p - truth) for rule, p in picked.items()}
    assert false["savs"] <= false["credible"] < false["map"] and false["savs"] <= 1 and false["map"] >= 10
    assert all(chosen.to_dict()["variables"][name]["savs_probability"] == 1.0 for name in truth)


def test_fit_reports_both_rules_beside_the_lasso_zeros(tmp_path, capsys):
    import json

    from bayesreg.cli import main

    out = tmp_path / "fit"
    assert main(["fit", "--data", "diabetes", "--prior", "laplace", "--scale", "200", "--sigma", "54", "--method",
                 "gibbs", "--draws", "500", "--out", str(out), "--no-plots"]) == 0
    assert "selected by SAVS" in capsys.readouterr().out
    chosen = json.loads((out / "summary.json").read_text())["variable_selection"]
    rows = chosen["variables"]
    assert set(rows) == {"age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"}
    assert all({"savs", "savs_probability", "credible_interval", "map_nonzero"} <= set(r) for r in rows.values())
    assert rows["bmi"]["savs"] and rows["bmi"]["credible_interval"] and rows["bmi"]["map_nonzero"]
