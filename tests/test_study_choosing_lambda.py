"""The "choosing λ" study: its checks pass, its selection is complete, its headline numbers hold, and the
analysis script runs end to end."""

import importlib.util
import json
import math
from pathlib import Path

import pytest

from bayesreg.studies import StudyResult, choosing_lambda

ANALYSES = Path(__file__).resolve().parent.parent / "analyses"
METHODS = {"evidence", "validation", "cv", "hyperprior"}


@pytest.fixture(scope="module")
def result():
    messages = []
    res = choosing_lambda.run(seed=0, quick=True, progress=messages.append)
    res.messages = messages
    return res


def test_every_check_passes(result):
    assert isinstance(result, StudyResult) and result.name == "choosing_lambda"
    assert len(result.checks) >= 10
    assert len({c.name for c in result.checks}) == len(result.checks)
    for c in result.checks:
        assert c.passed, (c.name, c.value, c.tolerance)
    assert result.passed and len(result.messages) >= 4


def test_selection_has_every_method_in_canonical_lambda(result):
    assert set(result.selection) == {"diabetes", "d2l"}
    assert set(result.selection["diabetes"]) == METHODS | {"bayesian_ridge"}
    assert set(result.selection["d2l"]) == METHODS
    for picks in result.selection.values():
        for method, lam in picks.items():
            assert type(lam) is float and math.isfinite(lam) and lam > 0, method


def _plain(obj):
    """Only JSON's own types: no NumPy scalars or arrays."""
    if isinstance(obj, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in obj.items())
    if isinstance(obj, list):
        return all(_plain(v) for v in obj)
    return obj is None or type(obj) in (bool, int, float, str)


def test_summary_is_plain_json(result):
    assert _plain(result.summary)
    json.dumps(result.summary, allow_nan=False)


def test_figures_and_tables(result):
    names = [f.name for f in result.figures]
    assert names == ["evidence_vs_lambda", "heldout_vs_lambda", "lambda_posterior", "picks_over_seeds"]
    for f in result.figures:
        assert f.caption and all(ax.get_xlabel() for ax in f.figure.axes)
    tables = [t for s in result.sections for t in s.tables]
    assert any(t.title == "λ picked per method per data set" for t in tables)
    for t in tables:
        assert all(len(row) == len(t.columns) for row in t.rows), t.title


def test_headline_numbers(result):
    s = result.summary
    dia, d2l = s["diabetes"], s["d2l"]
    # BayesianRidge counts n after centring, a flat bias n − 1: the flat-bias λ is a little larger
    rel = dia["flat_vs_bayesian_ridge"]["relative_difference"]
    assert 0.5 * dia["flat_vs_bayesian_ridge"]["first_order_prediction_sigma2"] < rel < 0.01
    assert dia["evidence_centred_no_bias"]["lam"] == pytest.approx(dia["bayesian_ridge"]["lam"], rel=1e-8)
    # d2l with σ known: the evidence and the hyperprior find the truth (λ = 1) within a factor 2; the chapter's
    # λ = 3 is canonical 60
    assert d2l["chapter"]["canonical_lam"] == pytest.approx(60.0)
    assert d2l["truth_lam"] == pytest.approx(1.0)
    assert 0.5 < result.selection["d2l"]["evidence"] < 2.0 and 0.5 < result.selection["d2l"]["hyperprior"] < 2.0
    lo, hi = d2l["hyperprior_sigma_known"]["interval_94"]
    assert lo < 1.0 < hi < 60.0
    # σ unknown with n < d: the evidence is nearly flat over decades of λ
    assert d2l["evidence_sigma_unknown_range"]["log_evidence_max_minus_min_on_grid"] < 2.0
    assert set(d2l["test_loss"]) >= METHODS | {"chapter", "truth"}


def test_same_seed_same_summary(result):
    again = choosing_lambda.run(seed=0, quick=True)
    assert json.dumps(again.summary) == json.dumps(result.summary)
    assert again.selection == result.selection


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ANALYSES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_analysis_script(tmp_path, capsys):
    out = tmp_path / "out"
    assert load_script("choosing_lambda").main(["--out", str(out), "--quick"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["all_pass"] is True
    assert METHODS | {"bayesian_ridge"} <= set(summary["selection"]["diabetes"])
    assert METHODS <= set(summary["selection"]["d2l"])
    for name in ("evidence_vs_lambda", "heldout_vs_lambda", "lambda_posterior", "picks_over_seeds"):
        assert (out / f"{name}.png").stat().st_size > 10_000, name
    assert (out / "index.html").stat().st_size > 10_000
    assert "λ picked per method per data set" in capsys.readouterr().out
