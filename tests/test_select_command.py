"""`bayesreg select`: λ on a user's data four ways, against scikit-learn's BayesianRidge and GridSearchCV, and never
silently on a grid edge."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import BayesianRidge, Ridge
from sklearn.model_selection import GridSearchCV, KFold

from bayesreg.data import from_arrays, load_file
from bayesreg.selection import maximise_evidence, select_lambda
from scripts import run_cli

SCALES = 10.0 ** np.linspace(-3, 3, 8)  # feature sds from 1e-3 to 1e3


def _scaled_csv(tmp_path, n=2000, seed=0):
    """Features on scales 1e-3 .. 1e3 with weights drawn on the standardised scale: one prior sd per weight is far
    from right, which is what users bring; the evidence here has a single maximum."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, SCALES.size))
    y = Z @ (2.0 * rng.normal(size=SCALES.size)) + rng.normal(size=n) + 5.0
    frame = pd.DataFrame(Z * SCALES, columns=[f"x{j}" for j in range(SCALES.size)]).assign(y=y)
    path = tmp_path / "scaled.csv"
    frame.to_csv(path, index=False)
    return path


def _load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the scale warning: its own test
        return load_file(path, "y")


def test_evidence_pick_equals_bayesian_ridge_on_badly_scaled_features(tmp_path):
    data = _load(_scaled_csv(tmp_path))
    pick = select_lambda(data, methods=("evidence",)).picks["evidence"]
    ridge = BayesianRidge(tol=1e-12, max_iter=100_000).fit(data.X, data.y)
    assert pick.interior and pick.note == ""
    # BayesianRidge counts n rows where integrating out the flat bias leaves n − 1: a difference of O(1/n)
    assert pick.lam == pytest.approx(ridge.lambda_ / ridge.alpha_, rel=1e-3)
    # with that degree of freedom removed (centred data, no bias) the two fixed points are one and the same
    Xc, yc = data.X - data.X.mean(axis=0), data.y - data.y.mean()
    exact = maximise_evidence(Xc, yc, bias="none", lams=pick.lams).lam
    assert exact == pytest.approx(ridge.lambda_ / ridge.alpha_, rel=1e-8)
    # the default grid alone (centred on the large features' scale) would have stopped at its lower edge
    assert maximise_evidence(data).at_boundary


def test_cv_pick_equals_grid_search_on_the_same_folds(tmp_path):
    data = _load(_scaled_csv(tmp_path, n=300))
    pick = select_lambda(data, methods=("cv",), folds=5, seed=3).picks["cv"]
    folds = KFold(5, shuffle=True, random_state=3)
    search = GridSearchCV(Ridge(), {"alpha": pick.lams}, cv=folds, scoring="neg_mean_squared_error").fit(data.X,
                                                                                                        data.y)
    assert pick.interior and search.best_params_["alpha"] == pick.lam
    np.testing.assert_allclose(-search.cv_results_["mean_test_score"], pick.values, rtol=1e-8)


def test_picks_at_the_search_limit_say_so():
    rng = np.random.default_rng(1)  # y independent of X: every method wants the weights at 0 (λ → ∞)
    data = from_arrays(rng.normal(size=(40, 3)), rng.normal(size=40))
    selection = select_lambda(data)
    for name, pick in selection.picks.items():
        assert not pick.interior, name
        assert "λ → ∞" in pick.note and pick.lam <= selection.limits[1] * (1 + 1e-12)
    # a pick that is interior carries no edge note
    ok = select_lambda(from_arrays(*_signal(rng)), methods=("evidence",))
    assert all(p.interior and "λ →" not in p.note for p in ok.picks.values())


def _signal(rng, n=200):
    X = rng.normal(size=(n, 4))
    return X, X @ np.array([1.0, -0.5, 0.25, 0.0]) + rng.normal(size=n)


def test_cli_json_keys_plot_and_conventions(tmp_path, capsys):
    path = _scaled_csv(tmp_path, n=300)
    out_json, out_png = tmp_path / "lam.json", tmp_path / "lam.png"
    code, out, err = run_cli(capsys, "select", "--data", str(path), "--target", "y", "--json", str(out_json),
                          "--plot", str(out_png))
    assert code == 0, err
    saved = json.loads(out_json.read_text())
    assert {"evidence", "cv", "validation", "hyperprior"} <= set(saved)
    assert saved["conventions"]["evidence"]["sklearn_ridge"] == pytest.approx(saved["evidence"])
    assert saved["conventions"]["evidence"]["torch_sgd_mse"] == pytest.approx(2 * saved["evidence"] / 300)
    assert out_png.stat().st_size > 10_000 and "torch_sgd_mse" in out and "differ by" in err
    # existing outputs are refused without --force, and untouched
    before = out_json.read_bytes()
    code, _, err = run_cli(capsys, "select", "--data", str(path), "--target", "y", "--json", str(out_json))
    assert code == 2 and "already exists" in err and err.count("\n") == 1 and out_json.read_bytes() == before


@pytest.mark.parametrize("argv,needle", [
    (["--methods", "evidence,magic"], "unknown method"),
    (["--folds", "1"], "--folds"),
    (["--seed", "-2"], "--seed"),
    (["--drop", "nope"], "'nope' not found"),
])
def test_cli_bad_input_is_one_line(tmp_path, capsys, argv, needle):
    path = _scaled_csv(tmp_path, n=50)
    code, out, err = run_cli(capsys, "select", "--data", str(path), "--target", "y", *argv, "--json",
                          str(tmp_path / "x.json"))
    assert code == 2 and needle in err and err.strip().count("\n") == 0 and "Traceback" not in err
    assert not (tmp_path / "x.json").exists()


def test_select_is_exported():
    import bayesreg

    assert bayesreg.select_lambda is select_lambda
