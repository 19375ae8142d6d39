"""The study "Sparse truth: ridge, lasso and horseshoe": its data, its oracles, its checks (which pass, and fail when
the numbers say otherwise), its findings, and its script's page.

The study runs once per session (conftest.py, quick mode); the analysis script renders that result.
"""

import copy
import json
import math

import numpy as np
import pytest

from bayesreg.studies import StudyResult
from bayesreg.studies import sparse_truth as st
from scripts import load_script

FIGURES = {"penalties", "posterior_vs_truth", "projection"}
FITS = ("ridge", "lasso", "horseshoe", "horseshoe, τ₀ = 1")


@pytest.fixture(scope="module")
def study(studies) -> StudyResult:
    return studies.get("sparse_truth")


def test_every_check_passes_and_result_is_complete(study):
    failed = [(c.name, c.value, c.tolerance) for c in study.checks if not c.passed]
    assert not failed and len(study.checks) >= 12
    assert {f.name for f in study.figures} == FIGURES and all(f.caption for f in study.figures)
    for section in study.sections:
        assert section.text
        for table in section.tables:
            assert all(len(row) == len(table.columns) for row in table.rows)
    json.dumps(study.summary, allow_nan=False)  # plain JSON: no NumPy types, no NaN
    assert set(study.summary["fits"]) == set(FITS)
    for figure in study.figures:
        axes = [ax for ax in figure.figure.axes if ax.get_visible() and ax.has_data()]
        assert axes and all(ax.get_title() for ax in axes), figure.name
        assert any(ax.get_xlabel() for ax in axes) and all(ax.get_ylabel() for ax in axes), figure.name


def test_the_data():
    a, b = st.sparse_problem(3), st.sparse_problem(3)
    assert np.array_equal(a.train.X, b.train.X) and np.array_equal(a.test.y, b.test.y)
    assert not np.array_equal(a.true_w, st.sparse_problem(4).true_w)
    w = a.true_w
    assert w.shape == (200,) and np.sum(w != 0) == 10
    units = np.sort(np.abs(w[w != 0])) / (0.01 / math.sqrt(100))
    assert units == pytest.approx(np.linspace(6.0, 12.0, 10), rel=1e-12)
    assert (a.train.n, a.test.n, a.train.d) == (100, 1000, 200)
    # the truth reproduces the rows up to noise of sd 0.01
    resid = a.test.y - a.test.X @ w - 0.05
    assert 0.009 < resid.std() < 0.011 and abs(resid.mean()) < 0.002


def test_the_penalty_oracles():
    from bayesreg.shrinkage import horseshoe_log_density

    # the closed form against quadrature over λ
    for x, t in ((0.05, 0.02), (0.6, 0.02), (1.2, 0.5)):
        assert math.exp(float(horseshoe_log_density(x, t))) == pytest.approx(st.horseshoe_by_quadrature(x, t),
                                                                              rel=1e-9)
    # the quadrature over τ against a Monte Carlo average of N(x | 0, τ²λ²) over prior draws of τ and λ
    rng = np.random.default_rng(0)
    tau0, m = 0.05, 400_000
    s = np.abs(tau0 * rng.standard_cauchy(m)) * np.abs(rng.standard_cauchy(m))
    x = np.array([0.02, 0.1, 0.6])
    dens = np.exp(-0.5 * (x[:, None] / s) ** 2) / (s * math.sqrt(2 * math.pi))
    mc, se = dens.mean(1), dens.std(1) / math.sqrt(m)
    assert np.all(np.abs(mc - st.horseshoe_marginal_by_quadrature(x, tau0)) < 4.5 * se)


def test_the_findings(study):
    s = study.summary
    f = s["fits"]
    h = f["horseshoe"]
    assert s["settings"]["tau0"] == pytest.approx(10 / 190 / 10, rel=1e-12)
    assert s["settings"]["sigma"].startswith("fixed") and s["settings"]["noise_sd"] == 0.01
    # the horseshoe is closest to the truth and predicts best, both within sight of the noise floor
    assert h["error"] < min(f["ridge"]["error"], f["lasso"]["error"], s["lasso_map"]["error"])
    assert h["rmse"] < min(f["ridge"]["rmse"], f["lasso"]["rmse"]) and h["rmse"] < 1.3 * s["settings"]["oracle_rmse"]
    assert h["lpd"] > max(f["ridge"]["lpd"], f["lasso"]["lpd"])
    for fit in f.values():
        assert 0 <= fit["covered_nonzero"] <= 10 and 0 <= fit["covered_zero"] <= 190
        assert 0 <= fit["savs_true"] <= 10 and 0 <= fit["savs_false"] <= 190
        assert fit["error_mcse"] > 0 and fit["rmse_mcse"] > 0
    # ridge's intervals, centred on shrunk values, miss most signals; the horseshoe's do not
    assert f["ridge"]["covered_nonzero"] < h["covered_nonzero"]
    lm = s["lasso_map"]
    assert lm["same_zeros_as_coordinate_descent"] and lm["lam1"] == pytest.approx(100 * lm["alpha"], rel=1e-12)
    assert lm["true"] + lm["false"] > 0
    rows = s["loo"]["rows"]
    assert [r["rank"] for r in rows] == [0, 1, 2] and {r["fit"] for r in rows} == {"ridge", "lasso", "horseshoe"}
    for r in rows:
        assert r["elpd_loo"] == pytest.approx(r["elpd_loo_own"], abs=1e-9) and 0 <= r["k_hat_over"] <= r["n"] == 100
    assert s["penalties"]["closed_form_vs_quadrature"] < 1e-8
    tau = s["diagnostics"]["horseshoe"]["tau"]
    assert tau["ess_bulk"] >= st.ESS_MIN and tau["r_hat"] < st.tau_rhat_limit(tau["ess_bulk"])
    pj = s["projection"]
    assert pj["true_in_first"] == 10 and sorted(pj["order"][:10]) == s["true_nonzero"]
    assert pj["suggested_size"] is not None and pj["true"] + pj["false"] == pj["suggested_size"]
    pv = pj["validated"]  # the search cross-validated: 5 folds, each its own refit and search
    assert len(pv["fold_rankings"]) == st.PROJECTION_FOLDS and pv["sizes"][0]["size"] == 0
    assert pv["suggested_size"] is not None and pv["true"] + pv["false"] == pv["suggested_size"]
    assert pv["false"] <= st.SAVS_FALSE_MAX and pv["true"] >= 8
    assert pv["fold_draws"] == st.PROJECTION_FOLD_DRAWS and 1.0 < pv["fold_w_rhat_max"] < 1.05
    assert 0 < pv["fold_w_ess_min"] <= st.CHAINS * st.PROJECTION_FOLD_DRAWS * math.log10(st.PROJECTION_FOLD_DRAWS)


def _numbers(study) -> st.SparseTruthResult:
    """The numbers :func:`~bayesreg.studies.sparse_truth.check` reads, rebuilt from the study's summary."""
    s = copy.deepcopy(study.summary)
    return st.SparseTruthResult(0, True, None, s["settings"], s["fits"], s["lasso_map"], s["loo"], s["penalties"],
                                s["diagnostics"], s["projection"])


def test_the_checks_fail_when_the_numbers_do(study):
    """Rebuilt from the summary, the numbers pass the same checks; swap the horseshoe's numbers with ridge's, add a
    false positive too many, a slow chain, a LOO table that is not ArviZ's and a projection ranking that misses a
    signal: those checks fail."""
    good = _numbers(study)
    assert [c.to_dict() for c in st.check(good)] == [c.to_dict() for c in study.checks]
    bad = _numbers(study)
    for key in ("error", "error_mcse", "rmse", "rmse_mcse"):
        bad.fits["horseshoe"][key], bad.fits["ridge"][key] = bad.fits["ridge"][key], bad.fits["horseshoe"][key]
    bad.fits["horseshoe"]["savs_false"] = st.SAVS_FALSE_MAX + 1
    tau = bad.diagnostics["horseshoe"]["tau"]
    tau["r_hat"] = st.tau_rhat_limit(tau["ess_bulk"]) + 0.01
    bad.diagnostics["horseshoe"]["lambda"]["r_hat"] = 1.02
    bad.loo["rows"][0]["elpd_loo_own"] += 0.5
    bad.projection["true_in_first"] = st.PROJECTION_TRUE_MIN - 1
    bad.projection["validated"]["false"] = st.SAVS_FALSE_MAX + 1
    failed = {c.name for c in st.check(bad) if not c.passed}
    for start in ("estimation error ‖E[w|y] − w*‖: ridge", "held-out RMSE of the posterior-mean prediction: ridge",
                  "SAVS under the horseshoe: zero weights", "horseshoe Gibbs: worst split R-hat",
                  "horseshoe Gibbs: split R-hat of τ", "LOO table", "projection predictive (horseshoe",
                  "projection predictive, validated search"):
        assert any(name.startswith(start) for name in failed), start


def test_script_writes_page_summary_and_figures(tmp_path, capsys, cached_studies):
    assert load_script("sparse_truth").main(["--out", str(tmp_path), "--quick"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["all_pass"] and len(summary["checks"]) >= 12
    for name in FIGURES:
        assert (tmp_path / f"{name}.png").stat().st_size > 20_000, name
    assert summary["studies"]["sparse_truth"]["settings"]["d"] == 200
    page = (tmp_path / "index.html").read_text()
    assert "horseshoe" in page and "SAVS" in page and "k̂" in page
    assert "PSIS-LOO" in capsys.readouterr().out
