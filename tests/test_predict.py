"""`bayesreg predict`: from an exact fit the closed-form predictive to 1e-8, from NUTS within Monte Carlo error,
columns matched by name, every bad input one line and nothing written."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bayesreg.data import load_diabetes
from bayesreg.infer.conjugate import gaussian_posterior, nig_posterior
from bayesreg.priors import ConjugateGaussian, Gaussian
from scripts import run_cli


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    data = load_diabetes()
    root = tmp_path_factory.mktemp("predict")
    frame = pd.DataFrame(data.X, columns=list(data.feature_names)).assign(y=data.y)
    frame.iloc[:400].to_csv(root / "train.csv", index=False)
    new = frame.iloc[400:].drop(columns=["y"])
    new[list(reversed(new.columns))].to_csv(root / "new.csv", index=False)  # columns in another order
    return root, frame


def _fit(capsys, root, name, *options):
    out = root / name
    if not out.exists():
        code, _, err = run_cli(capsys, "fit", "--data", str(root / "train.csv"), "--target", "y", *options, "--out",
                            str(out), "--no-plots")
        assert code == 0, err
    return out


def _predict(capsys, root, fit_dir, name, *extra):
    target = root / name
    code, out, err = run_cli(capsys, "predict", "--fit", str(fit_dir), "--data", str(root / "new.csv"), "--out",
                          str(target), "--force", *extra)
    assert code == 0, err
    return pd.read_csv(target), out


def test_exact_fit_predicts_the_closed_form(diabetes_csv, capsys):
    root, frame = diabetes_csv
    fit_dir = _fit(capsys, root, "exact", "--prior", "gaussian", "--tau", "20", "--sigma", "54")
    table, out = _predict(capsys, root, fit_dir, "exact.csv", "--prob", "0.9")
    assert list(table.columns) == ["mean", "sd", "lower", "upper"] and "0.9" in out
    X_train, y_train = frame.iloc[:400, :10].to_numpy(), frame["y"].iloc[:400].to_numpy()
    closed = gaussian_posterior(X_train, y_train, prior=Gaussian(20.0), sigma=54.0).predictive(
        frame.iloc[400:, :10].to_numpy())
    np.testing.assert_allclose(table["mean"], closed.mean(), rtol=1e-8)
    np.testing.assert_allclose(table["sd"], closed.std(), rtol=1e-8)
    lo, hi = closed.interval(0.9)
    np.testing.assert_allclose(table["lower"], lo, rtol=1e-8)
    np.testing.assert_allclose(table["upper"], hi, rtol=1e-8)


def test_normal_inverse_gamma_fit_predicts_the_student_t(diabetes_csv, capsys):
    root, frame = diabetes_csv
    fit_dir = _fit(capsys, root, "nig", "--prior", "gaussian", "--lam", "0.5", "--sigma-prior", "invgamma:2,3000")
    table, _ = _predict(capsys, root, fit_dir, "nig.csv")
    X_train, y_train = frame.iloc[:400, :10].to_numpy(), frame["y"].iloc[:400].to_numpy()
    closed = nig_posterior(X_train, y_train, prior=ConjugateGaussian(0.5), sigma_prior="invgamma:2,3000").predictive(
        frame.iloc[400:, :10].to_numpy())
    np.testing.assert_allclose(table["mean"], closed.mean(), rtol=1e-8)
    np.testing.assert_allclose(table["sd"], closed.std(), rtol=1e-8)
    np.testing.assert_allclose(table["upper"], closed.interval(0.94)[1], rtol=1e-8)


def test_nuts_fit_predicts_within_monte_carlo_error(diabetes_csv, capsys):
    root, frame = diabetes_csv
    fit_dir = _fit(capsys, root, "nuts", "--prior", "gaussian", "--tau", "20", "--sigma", "54", "--method", "nuts",
                   "--chains", "2", "--draws", "500")
    table, out = _predict(capsys, root, fit_dir, "nuts.csv")
    assert "Monte Carlo" in out
    X_train, y_train = frame.iloc[:400, :10].to_numpy(), frame["y"].iloc[:400].to_numpy()
    post = gaussian_posterior(X_train, y_train, prior=Gaussian(20.0), sigma=54.0)
    closed = post.predictive(frame.iloc[400:, :10].to_numpy())
    # the predictive mean is the mean of x̃ᵀθ over draws: its MC error is sd(x̃ᵀθ)/√ESS. The draws are close to
    # independent here (NUTS with the exact covariance as mass matrix); 5 MC errors at ESS ≥ 500 is generous.
    sd_mu = np.sqrt(closed.var() - 54.0**2)
    summary = json.loads((fit_dir / "summary.json").read_text())
    ess = min(p["ess_bulk"] for p in summary["parameters"].values() if p.get("ess_bulk"))
    assert ess > 300
    np.testing.assert_array_less(np.abs(table["mean"] - closed.mean()), 5 * sd_mu / np.sqrt(ess))
    # the sd is dominated by σ = 54 (known): the parameter part's MC error is tiny against it
    np.testing.assert_allclose(table["sd"], closed.std(), rtol=5e-3)
    # the 97% quantile from 1000 predictive draws: its sd is about √(q(1−q)/N)/pdf ≈ 0.09 predictive sds
    np.testing.assert_array_less(np.abs(table["upper"] - closed.ppf(0.97)), 0.5 * closed.std())


def test_standardised_and_categorical_fit_predicts_new_rows(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"size": rng.normal(1e3, 200.0, n), "tiny": rng.normal(0, 1e-3, n),
                          "colour": rng.choice(["red", "blue", "green"], n), "id": np.arange(n)})
    frame["y"] = 0.01 * frame["size"] + 2e3 * frame["tiny"] + (frame["colour"] == "red") + rng.normal(size=n)
    frame.to_csv(tmp_path / "train.csv", index=False)
    code, _, err = run_cli(capsys, "fit", "--data", str(tmp_path / "train.csv"), "--target", "y", "--drop", "id",
                        "--standardize", "--prior", "gaussian", "--tau", "1", "--sigma", "1", "--out",
                        str(tmp_path / "fit"), "--no-plots")
    assert code == 0, err
    summary = json.loads((tmp_path / "fit" / "summary.json").read_text())
    assert "original_units" in summary and any("reference level 'blue'" in c for c in summary["columns"])
    new = frame.drop(columns=["id", "y"]).iloc[:10][["colour", "tiny", "size"]]
    new.to_csv(tmp_path / "new.csv", index=False)
    code, _, err = run_cli(capsys, "predict", "--fit", str(tmp_path / "fit"), "--data", str(tmp_path / "new.csv"),
                        "--out", str(tmp_path / "p.csv"))
    assert code == 0, err
    table = pd.read_csv(tmp_path / "p.csv")
    # the same model fitted by hand on the standardised design
    from bayesreg.columns import Columns

    cols = Columns.learn(frame, "y", drop=["id"], standardize=True)
    post = gaussian_posterior(cols.transform(frame), frame["y"].to_numpy(), prior=Gaussian(1.0), sigma=1.0)
    np.testing.assert_allclose(table["mean"], post.predictive(cols.transform(new)).mean(), rtol=1e-8)
    orig = summary["original_units"]
    w0, _ = cols.to_original_units(post.w_mean, post.b_mean)
    assert orig["size"]["mean"] == pytest.approx(w0[0], rel=0.05)  # from 4000 exact draws: MC error ≈ 1.6%


@pytest.mark.parametrize("change,needle", [
    (lambda f: f.drop(columns=["bmi"]), "lacks the column(s) 'bmi'"),
    (lambda f: f.assign(extra=1.0), "'extra' the fit was not made with"),
    (lambda f: f.assign(bmi=[np.nan] + list(f["bmi"][1:])), "NaN"),
])
def test_rows_that_do_not_fit_are_one_line_and_nothing_written(diabetes_csv, capsys, tmp_path, change, needle):
    root, frame = diabetes_csv
    fit_dir = _fit(capsys, root, "exact", "--prior", "gaussian", "--tau", "20", "--sigma", "54")
    change(frame.iloc[400:].drop(columns=["y"])).to_csv(tmp_path / "bad.csv", index=False)
    code, out, err = run_cli(capsys, "predict", "--fit", str(fit_dir), "--data", str(tmp_path / "bad.csv"), "--out",
                          str(tmp_path / "p.csv"))
    assert code == 2 and needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "p.csv").exists()


def test_predict_refuses_bad_fit_dirs_and_existing_outputs(diabetes_csv, capsys, tmp_path):
    root, _ = diabetes_csv
    fit_dir = _fit(capsys, root, "exact", "--prior", "gaussian", "--tau", "20", "--sigma", "54")
    keep = tmp_path / "p.csv"
    keep.write_text("keep")
    cases = [
        ([str(fit_dir), str(keep)], "already exists"),
        ([str(tmp_path), str(tmp_path / "q.csv")], "not a `bayesreg fit` output"),
        ([str(fit_dir), str(tmp_path / "q.txt")], "must end in .csv"),
    ]
    for (fit, out), needle in cases:
        code, _, err = run_cli(capsys, "predict", "--fit", fit, "--data", str(root / "new.csv"), "--out", out)
        assert code == 2 and needle in err and err.count("\n") == 1
    assert keep.read_text() == "keep" and not (tmp_path / "q.csv").exists()


def test_predictions_from_an_unreliable_fit_say_so(diabetes_csv, capsys, tmp_path):
    import shutil

    root, _ = diabetes_csv
    fit_dir = tmp_path / "fit"
    shutil.copytree(_fit(capsys, root, "exact", "--prior", "gaussian", "--tau", "20", "--sigma", "54"), fit_dir)
    summary = json.loads((fit_dir / "summary.json").read_text())
    summary.update(reliable=False, health={"verdict": "unreliable", "reasons": ["R-hat up to 1.2"]})
    (fit_dir / "summary.json").write_text(json.dumps(summary))
    code, _, err = run_cli(capsys, "predict", "--fit", str(fit_dir), "--data", str(root / "new.csv"), "--out",
                        str(tmp_path / "p.csv"))
    assert code == 0 and "UNRELIABLE (R-hat up to 1.2)" in err
