"""compare_map and `bayesreg compare`: the MAP reached every way, and the ways that miss it."""

import json

import numpy as np
import pytest
from oracles import rel_err
from sklearn.linear_model import Lasso, Ridge

from bayesreg import Gaussian, Laplace, SpecError, load_diabetes
from bayesreg.cli import main
from bayesreg.compare import compare_map

SIGMA = 54.0


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes()


@pytest.fixture(scope="module")
def gaussian(diabetes):
    return compare_map(diabetes, Gaussian(20.0), SIGMA)


@pytest.fixture(scope="module")
def laplace(diabetes):
    return compare_map(diabetes, Laplace(SIGMA**2 / 221.0), SIGMA)


def test_gaussian_methods_reach_the_map(gaussian, diabetes):
    ref = gaussian.results["closed_form"]
    sk = Ridge(alpha=SIGMA**2 / 20.0**2, solver="cholesky").fit(diabetes.X, diabetes.y)
    assert rel_err(ref.w, sk.coef_) < 1e-9
    # each to what its stopping rule allows (observed: SGD 2e-15, Adam 3e-12, Pyro's L-BFGS 1.1e-7, which stops
    # on a relative loss change of 1e-13, so w is accurate to about √(1e-13 · cond))
    for name, tol in (("pyro_map", 1e-6), ("sgd_weight_decay", 1e-10), ("adam_l2", 1e-9)):
        assert gaussian.results[name].converged, name
        assert gaussian.relative_diff(name) < tol, name


def test_adamw_gap_is_reported_not_hidden(gaussian):
    # decoupled decay is not the Gaussian-prior MAP: far from it, and far further than coupled Adam
    assert gaussian.relative_diff("adamw") > 1e-2
    assert gaussian.max_abs_diff("adamw") > 100 * gaussian.max_abs_diff("adam_l2")
    assert gaussian.to_dict()["methods"]["adamw"]["max_abs_diff"] == gaussian.max_abs_diff("adamw")


def test_laplace_methods(laplace, diabetes):
    ref = laplace.results["coordinate_descent"]
    sk = Lasso(alpha=221.0 / diabetes.n, tol=1e-14, max_iter=10**6).fit(diabetes.X, diabetes.y)
    assert rel_err(ref.w, sk.coef_) < 1e-6
    zeros = ref.w == 0
    assert zeros.any() and (~zeros).any()
    # proximal Newton and proximal SGD reach exact zeros and the active set's solution (observed 1e-15, 6e-12)
    for name, tol in (("pyro_map", 1e-11), ("prox_sgd", 1e-9)):
        assert laplace.relative_diff(name) < tol and np.array_equal(laplace.results[name].w == 0, zeros), name
    sub = laplace.results["subgradient_sgd"]
    assert not sub.converged and np.all(sub.w[zeros] != 0)  # it hovers around zero, never on it


def test_json_schema(laplace):
    out = json.loads(json.dumps(laplace.to_dict()))
    assert out["reference"] == "coordinate_descent"
    for m in out["methods"].values():
        assert set(m) >= {"w", "b", "max_abs_diff", "converged", "seconds"}
        assert len(m["w"]) == 10 and isinstance(m["converged"], bool) and m["seconds"] >= 0
    assert out["methods"]["coordinate_descent"]["max_abs_diff"] == 0.0


def test_penalised_bias_goes_to_zero(diabetes):
    """Penalising b with a huge λ pulls it to 0; a flat bias stays at the mean of y."""
    huge = Gaussian(SIGMA / 1e4)  # λ = 1e8
    flat = compare_map(diabetes, huge, SIGMA, "flat", methods=("closed_form", "sgd_weight_decay"))
    pen = compare_map(diabetes, huge, SIGMA, f"normal:{SIGMA / 1e4}", methods=("closed_form", "sgd_weight_decay"))
    for c in (flat, pen):
        assert c.results["sgd_weight_decay"].b == pytest.approx(c.results["closed_form"].b, rel=1e-6, abs=1e-6)
    assert flat.results["closed_form"].b == pytest.approx(diabetes.y.mean(), rel=1e-6)
    assert abs(pen.results["closed_form"].b) < 1e-2


def test_unknown_method(diabetes):
    with pytest.raises(SpecError, match="prox_sgd"):
        compare_map(diabetes, Gaussian(1.0), 1.0, methods=("closed_form", "prox_sgd"))


# ------------------------------------------------------------------------------------------------ CLI

def test_cli_compare_writes_json_and_plot(tmp_path, capsys):
    js, png = tmp_path / "c.json", tmp_path / "c.png"
    code = main(["compare", "--data", "d2l", "--prior", "gaussian", "--lam", "3", "--convention", "d2l",
                 "--sigma", "0.01", "--methods", "sgd_weight_decay,pyro_map", "--json", str(js), "--plot", str(png)])
    out = capsys.readouterr().out
    assert code == 0 and "closed_form (reference)" in out and "sgd_weight_decay" in out
    data = json.loads(js.read_text())
    assert data["reference"] == "closed_form" and set(data["methods"]) == {"closed_form", "sgd_weight_decay",
                                                                          "pyro_map"}
    assert data["canonical"]["l2"] == pytest.approx(60.0)  # d2l: λ_canonical = n λ
    assert all(m["max_abs_diff"] < 1e-6 for m in data["methods"].values())
    assert png.stat().st_size > 5000


def test_cli_compare_csv(tmp_path, capsys, diabetes):
    import pandas as pd

    path = tmp_path / "d.csv"
    pd.DataFrame(diabetes.X, columns=diabetes.feature_names).assign(target=diabetes.y).to_csv(path, index=False)
    code = main(["compare", "--data", str(path), "--target", "target", "--prior", "laplace", "--scale", "13",
                 "--sigma", "54", "--methods", "prox_sgd"])
    assert code == 0 and "prox_sgd" in capsys.readouterr().out


@pytest.mark.parametrize("extra,needle", [
    (["--prior", "gaussian", "--tau", "1", "--lam", "2"], "one way"),
    (["--prior", "gaussian"], "one way"),
    (["--prior", "laplace", "--tau", "1"], "--tau belongs"),
    (["--prior", "gaussian", "--tau", "1", "--convention", "d2l"], "only applies to --lam"),
    (["--prior", "gaussian", "--lam", "-1"], "no prior"),
    (["--prior", "gaussian", "--tau", "1", "--bias", "normal"], "needs a scale"),
    (["--prior", "gaussian", "--tau", "1", "--methods", "adamw,sgd"], "unknown method"),
])
def test_cli_compare_errors(capsys, extra, needle):
    code = main(["compare", "--data", "diabetes", "--sigma", "54"] + extra)
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1


def test_cli_compare_missing_file(tmp_path, capsys):
    code = main(["compare", "--data", str(tmp_path / "nope.csv"), "--target", "y", "--prior", "gaussian",
                 "--tau", "1", "--sigma", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "nope.csv" in err
