"""The study "From your PyTorch training run": its checks pass, its findings hold, its script writes the page.

The study runs once per session (conftest.py, quick mode); the analysis script renders that result.
"""

import json
import math

import numpy as np
import pytest

from bayesreg.studies import StudyResult
from bayesreg.studies import torch_run as tr
from scripts import load_script

pytest.importorskip("laplace")


@pytest.fixture(scope="module")
def study(torch_run_result) -> StudyResult:
    return torch_run_result


def test_every_check_passes_and_result_is_complete(study):
    failed = [(c.name, c.value, c.tolerance) for c in study.checks if not c.passed]
    assert not failed and len(study.checks) >= 12
    assert {f.name for f in study.figures} == {"log_ml_curves", "d2l_weights", "mlp_predictions",
                                               "classifier_sd_ratio"}
    assert all(f.caption for f in study.figures)
    for section in study.sections:
        assert section.text and section.tables
        for table in section.tables:
            assert all(len(row) == len(table.columns) for row in table.rows)
    json.dumps(study.summary, allow_nan=False)  # plain JSON: no NumPy types, no NaN
    assert set(study.summary) == {"d2l", "mlp", "classifier", "adamw"}
    for figure in study.figures:
        axes = [ax for ax in figure.figure.axes if ax.get_visible() and ax.has_data()]
        assert axes and all(ax.get_title() for ax in axes), figure.name
        assert all(ax.get_xlabel() for ax in axes) and any(ax.get_ylabel() for ax in axes), figure.name


def test_the_chapters_run(study):
    d = study.summary["d2l"]
    # MSELoss has no ½: wd = 3 on 20 rows is canonical λ = 30, τ = σ/√30
    assert d["lam"] == pytest.approx(30.0, rel=1e-12) and d["lam_table"] == pytest.approx(30.0, rel=1e-12)
    assert d["tau"] == pytest.approx(0.01 / math.sqrt(30.0), rel=1e-12) and d["bias"] == "flat"
    # 400 minibatch steps from a N(0, 1) start: far from the MAP, and not stationary
    assert not d["stationary"] and d["relative_gradient"] > 0.1
    assert d["distance_to_map"] > 1 and d["w_norm"] > 5 * d["map_w_norm"]
    assert d["cov_rel"] < 1e-8 and d["curve_rel"] < 1e-8
    # the log ML at θ* is not the evidence (θ* is not the MAP); the re-solved curve is
    assert d["log_ml_trained"] < d["log_evidence"] - 100
    # the evidence prefers a much weaker decay, whose prior sd is near the true weights' 0.01
    assert d["interior"] and 0.01 < d["preferred_wd"] < 1.0 and 0.003 < d["preferred_tau"] < 0.03
    # Brent's method fixes an argmax of a flat curve only to the study's ARGMAX (1.2e-6 measured on one machine)
    assert d["preferred_wd"] == pytest.approx(3.0 * d["best_lam_exact"] / 30.0, rel=tr.ARGMAX)
    cov = d["coverage"]
    assert all(0 <= v <= 1 for v in cov.values())
    assert cov["exact_at_preferred"] > cov["exact_at_wd3"] and cov["exact_at_preferred"] > cov["laplace_at_trained"]


def test_the_mlp(study):
    m = study.summary["mlp"]
    assert m["sigma_source"].startswith("estimated from the training residuals")
    assert m["test_residual_sd"] > m["sigma"]  # the training residuals understate the noise
    assert set(m["laplace"]) == {"all", "last_layer"}
    assert m["laplace"]["all"]["parameters"] == 10 * 16 + 16 + 16 + 1
    assert m["laplace"]["last_layer"]["parameters"] == 17
    for fit in m["laplace"].values():
        assert 0 < fit["coverage"] <= 1 and math.isfinite(fit["log_ml"]) and fit["preferred_wd"] > 0
    oracle = m["last_layer_oracle"]
    assert oracle["cov_rel"] < 1e-8 and oracle["curve_rel"] < 1e-8
    assert set(m["tau"]) == {"0.weight", "2.weight"}


def test_the_classifier(study):
    c = study.summary["classifier"]
    assert c["tau"] == pytest.approx(1.0, rel=1e-12) and c["lam"] == pytest.approx(c["lam_table"], rel=1e-12)
    assert c["weight_decay"] == pytest.approx(1 / 569)
    assert c["distance_to_map"] < 1e-10 and c["cov_vs_bayesreg_laplace"] < 1e-8
    assert c["log_ml"] == pytest.approx(c["log_ml_bayesreg"], rel=1e-8)
    ratio = np.array(c["sd_ratio"])
    assert ratio.shape == (30,) and np.all(np.abs(ratio - 1) < 0.2)
    assert c["ess_min"] > 200 and c["sd_gap_beyond_mc"] <= 0.10
    assert 0 < c["mean_gap_sd_max"] < 1  # the MAP is not the posterior mean, but within a posterior sd


def test_adamw(study):
    runs = study.summary["adamw"]
    assert set(runs) == {"full batch", "minibatch 32"}
    for run in runs.values():
        assert run["effective"] * 10 <= run["naive"]
        assert run["r_naive"] > run["r_effective"]


def test_script_writes_page_summary_and_figures(tmp_path, capsys, cached_studies):
    assert load_script("torch_run").main(["--out", str(tmp_path), "--quick"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["all_pass"] and len(summary["checks"]) >= 12
    for name in ("log_ml_curves", "d2l_weights", "mlp_predictions", "classifier_sd_ratio"):
        assert (tmp_path / f"{name}.png").stat().st_size > 20_000, name
    assert summary["studies"]["torch_run"]["d2l"]["lam"] == pytest.approx(30.0)
    page = (tmp_path / "index.html").read_text()
    assert "laplace-torch" in page and "AdamW" in page
    assert "canonical λ" in capsys.readouterr().out
