"""The studies "what a point estimate hides" and "the Bayesian lasso on diabetes": checks pass, findings hold.

Each study runs once per session (conftest.py); the analysis scripts render those results.
"""

import json

import numpy as np
import pytest

from bayesreg.data import load_d2l, load_diabetes
from bayesreg.selection import maximise_evidence
from bayesreg.studies import StudyResult, bayesian_lasso, posterior_vs_point
from bayesreg.studies.common import diabetes_sigma
from scripts import load_script


@pytest.fixture(scope="module")
def point(posterior_vs_point_result):
    return posterior_vs_point_result


@pytest.fixture(scope="module")
def lasso(bayesian_lasso_result):
    return bayesian_lasso_result


@pytest.mark.parametrize("name", ["point", "lasso"])
def test_every_check_passes_and_result_is_complete(name, request):
    result = request.getfixturevalue(name)
    assert isinstance(result, StudyResult)
    failed = [(c.name, c.value, c.tolerance) for c in result.checks if not c.passed]
    assert not failed and len(result.checks) >= 8
    assert len(result.figures) >= 3 and all(f.caption for f in result.figures)
    for section in result.sections:
        assert section.text and section.tables
        for table in section.tables:
            assert all(len(row) == len(table.columns) for row in table.rows)
    json.dumps(result.summary, allow_nan=False)  # plain JSON: no NumPy types, no NaN
    for figure in result.figures:  # every panel has a title, every figure labelled axes
        axes = [ax for ax in figure.figure.axes if ax.get_visible() and ax.has_data()]
        assert axes and all(ax.get_title() for ax in axes), figure.name
        assert any(ax.get_xlabel() for ax in axes) and any(ax.get_ylabel() for ax in axes), figure.name


def test_gaussian_prior_centre_and_path(point):
    path = point.summary["ridge_path"]
    assert path["sigma"] == pytest.approx(54.154, abs=1e-3)  # √(RSS/(n − d − 1)) of diabetes
    lo, w, hi = (np.array(path[k]) for k in ("w_lo", "w_map", "w_hi"))
    assert np.all(lo < w) and np.all(w < hi)
    # bands shrink with λ: the widest band at the smallest λ, nearly nothing at the largest
    width = hi - lo
    assert np.all(width[0] > 50 * width[-1])
    assert 0.01 < path["evidence_lam"] < 0.1
    # the evidence's λ is the library's maximiser (σ known), the one the study "choosing λ" reports
    data = load_diabetes()
    assert path["evidence_lam"] == maximise_evidence(data, sigma=diabetes_sigma(data)).lam


def test_d2l_coverage_of_the_true_weights(point):
    d2l = point.summary["d2l"]
    chapter, evidence = d2l["chapter"], d2l["evidence"]
    assert chapter["canonical_lam"] == pytest.approx(60.0) and chapter["lam_d2l"] == pytest.approx(3.0)
    assert chapter["coverage"] == 0.0  # λ = 3's intervals miss every true weight
    assert evidence["coverage"] >= 0.95 and evidence["tau"] == pytest.approx(0.01, rel=0.3)
    problem = load_d2l(seed=0)
    assert evidence["canonical_lam"] == maximise_evidence(problem.train, sigma=problem.noise_sd).lam
    cal = point.summary["calibration"]
    # right prior: calibrated on average, the credible intervals of w and the predictive intervals of test rows
    assert cal["evidence"]["coverage"] == pytest.approx(0.94, abs=0.02)
    assert cal["evidence"]["predictive_coverage"] == pytest.approx(0.94, abs=0.02)
    assert cal["chapter"]["coverage"] < 0.3 and cal["chapter"]["predictive_coverage"] < 0.4


def test_predictive_coverage_on_held_out_rows(point):
    pred = point.summary["predictive"]
    assert pred["d2l_chapter"]["coverage"] < 0.4  # far too narrow at λ = 3
    assert pred["d2l_evidence"]["coverage"] > 0.85 and pred["diabetes"]["coverage"] > 0.87
    assert pred["diabetes"]["m"] == 110 and pred["d2l_evidence"]["m"] == 100
    for p in pred.values():  # the coverage the posterior predicts: mean 94%, wider than binomial when d ≫ n
        assert p["expected"]["mean"] == pytest.approx(0.94, abs=0.005)
    assert pred["d2l_evidence"]["expected"]["sd"] > 1.05 * pred["d2l_evidence"]["binomial_sd"]
    assert pred["diabetes"]["expected"]["sd"] == pytest.approx(pred["diabetes"]["binomial_sd"], rel=0.1)


def test_one_laplace_weight_zeros_and_median(point):
    sh = point.summary["laplace_1d"]
    z, map_, median = (np.array(sh[k]) for k in ("z", "map", "median"))
    assert sh["map_zero"] == int(np.sum(np.abs(z) <= sh["lam1_over_sigma"])) > 0
    assert sh["median_zero"] == 0 and np.all(np.sign(median) == np.sign(z))
    # the median lies between the lasso and least squares, and both agree far out: z − λ₁
    assert np.all(np.abs(map_) <= np.abs(median) + 1e-12) and np.all(np.abs(median) <= np.abs(z))
    assert median[-1] == pytest.approx(z[-1] - sh["lam1_over_sigma"], abs=1e-3)


def test_laplace_posterior_1d_is_odd_and_zero_at_zero():
    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    post = posterior_vs_point.laplace_posterior_1d(z, 1.0)
    for key in ("map", "mean", "median"):
        assert np.allclose(post[key], -post[key][::-1], atol=1e-12), key
    assert post["median"][2] == pytest.approx(0.0, abs=1e-12) and post["mean"][2] == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(post["lo"], -post["hi"][::-1], atol=1e-10)


def test_lasso_zeros_against_posterior_medians(lasso):
    fixed = lasso.summary["fixed"]
    w_map = np.array(fixed["w_map"])
    assert fixed["map_zeros"] == ["age", "s2"] and np.sum(w_map == 0) == 2
    assert fixed["exact_zeros"] == 0 and fixed["median_zeros"] == 0  # no draw, no median is exactly 0
    assert all(m > 1.0 for m in fixed["abs_median_where_map_zero"])
    assert set(fixed["map_zeros"]) <= set(fixed["intervals_containing_zero"])
    assert fixed["sklearn_lasso_alpha"] == pytest.approx(fixed["lam1"] / 442)
    p = np.array(fixed["p_positive"])
    assert p[2] == 1.0 and p[1] == 0.0  # bmi surely positive, sex surely negative


def test_lasso_paths_and_lambda_posterior(lasso):
    paths, hier = lasso.summary["paths"], lasso.summary["hierarchical"]
    zeros = np.array(paths["map_zero_count"])
    assert zeros[0] == 0 and zeros[-1] == 10 and paths["median_zero_count"] == 0
    assert paths["lam1_max"] == pytest.approx(949.435, abs=1e-3)
    lam = hier["lam1"]
    assert 5 < lam["lo"] < lam["median"] < lam["hi"] < 40
    assert hier["sigma"]["median"] == pytest.approx(lasso.summary["sigma"], rel=0.01)
    assert lasso.summary["fixed"]["lam1"] == pytest.approx(lam["median"])
    # more draws where the lasso keeps 1 to SLOW_KEPT weights, where the Gibbs sampler mixes slowest
    kept = np.sum(np.array(paths["map_at_gibbs"]) != 0, axis=1)
    slow = (kept >= 1) & (kept <= bayesian_lasso.SLOW_KEPT)
    expected = np.where(slow, bayesian_lasso.SLOW_FACTOR, 1) * bayesian_lasso.PATH_DRAWS
    assert paths["draws"] == expected.tolist() and paths["max_r_hat"] == max(paths["r_hat"])


@pytest.mark.parametrize(("name", "fixture", "figures"), [
    ("posterior_vs_point", "point", ("ridge_path_bands", "d2l_intervals", "predictive_coverage", "laplace_shrinkage")),
    ("bayesian_lasso", "lasso", ("lasso_vs_posterior", "lasso_shrinkage_paths", "lasso_lambda_posterior")),
])
def test_analysis_script(name, fixture, figures, tmp_path, request, cached_studies):
    """The script's page, summary and figures, rendered from the session's result."""
    out = tmp_path / "out"
    assert load_script(name).main(["--out", str(out), "--quick"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["all_pass"] is True
    for figure in figures:
        assert (out / f"{figure}.png").stat().st_size > 10_000, figure
    assert (out / "index.html").stat().st_size > 10_000
    # the summary the script wrote is the study's, through JSON unchanged (a fresh run reproducing it is checked by
    # the slow test_report.py::test_a_fresh_run_reproduces_the_summary)
    result = request.getfixturevalue(fixture)
    assert summary["studies"][name] == json.loads(json.dumps(result.summary))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("study", [posterior_vs_point, bayesian_lasso], ids=["posterior_vs_point", "bayesian_lasso"])
def test_every_check_passes_on_other_seeds(study, seed):
    """The checks' tolerances hold for other seeds too, in full mode (not only for the seed the report uses)."""
    result = study.run(seed=seed)
    assert not [(c.name, c.value, c.tolerance) for c in result.checks if not c.passed]
