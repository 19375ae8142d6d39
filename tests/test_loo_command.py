"""bayesreg loo: the table equals arviz.compare on the saved fits; one-line errors for what it cannot compare."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from bayesreg.cli import main
from bayesreg.infer.idata import import_arviz


@pytest.fixture(scope="module")
def fits(tmp_path_factory):
    root = tmp_path_factory.mktemp("loo")
    specs = {"ridge": ["--prior", "gaussian", "--tau", "300"], "tight": ["--prior", "gaussian", "--tau", "1"],
             "lasso": ["--prior", "laplace", "--scale", "200", "--method", "gibbs", "--draws", "500"]}
    for name, spec in specs.items():
        assert main(["fit", "--data", "diabetes", "--sigma", "54", *spec, "--out", str(root / name),
                     "--no-plots"]) == 0
    return root


def test_the_table_equals_arviz_compare_on_the_saved_fits(fits, capsys):
    out = fits / "loo.json"
    assert main(["loo", *(str(fits / n) for n in ("ridge", "tight", "lasso")), "--json", str(out),
                 "--plot", str(fits / "loo.png")]) == 0
    printed = capsys.readouterr().out
    table = json.loads(out.read_text())["fits"]
    az = import_arviz()
    idatas = {n: az.from_netcdf(str(fits / n / "posterior.nc")) for n in ("ridge", "tight", "lasso")}
    with warnings.catch_warnings():  # ArviZ 0.23 on pandas 3.1: its own deprecated keyword
        warnings.filterwarnings("ignore", message="The inplace keyword")
        oracle = az.compare(idatas, ic="loo", method="stacking")
    assert [r["fit"] for r in table] == list(oracle.index)
    for row in table:
        ref = oracle.loc[row["fit"]]
        for key in ("elpd_loo", "se", "elpd_diff", "dse", "p_loo", "weight"):
            assert row[key] == pytest.approx(float(ref[key]), rel=1e-12, abs=1e-12)
        k = np.asarray(az.loo(idatas[row["fit"]], pointwise=True).pareto_k)
        assert row["k_hat_over"] == int((k > 0.7).sum()) and row["n"] == 442
    assert table[-1]["fit"] == "tight"                 # τ = 1 on features of scale 0.05: far worse
    assert "best:" in printed and (fits / "loo.png").stat().st_size > 5_000


def test_what_loo_cannot_compare_is_one_line(fits, tmp_path, capsys):
    assert main(["loo", str(fits / "ridge")]) == 2
    assert main(["loo", str(fits / "ridge"), str(tmp_path)]) == 2
    assert "not a bayesreg fit directory" in capsys.readouterr().err
    other = tmp_path / "other"
    assert main(["fit", "--data", "d2l", "--prior", "gaussian", "--tau", "0.01", "--sigma", "0.01", "--out",
                 str(other), "--no-plots"]) == 0
    capsys.readouterr()
    assert main(["loo", str(fits / "ridge"), str(other)]) == 2
    assert "other rows" in capsys.readouterr().err
