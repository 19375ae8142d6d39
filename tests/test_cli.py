"""``bayesreg prior`` through the real entry points."""

import json
import math
import subprocess
import sys

import pytest

from bayesreg.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_d2l_chapter_json(capsys):
    code, out, _ = run(capsys, "prior", "l2", "--lam", "3", "--sigma", "0.01", "--n", "20",
                       "--convention", "d2l", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["prior"] == "gaussian"
    assert report["params"]["tau"] == pytest.approx(0.01 / math.sqrt(60), rel=1e-15)
    lam = report["lam"]
    assert lam["canonical"] == pytest.approx(60) and lam["d2l"] == pytest.approx(3)
    assert lam["sklearn_ridge"] == pytest.approx(60) and lam["torch_sgd_mse"] == pytest.approx(6)
    assert "sklearn_lasso" not in lam and report["no_such_option"] == ["sklearn_lasso"]


def test_l1_json(capsys):
    code, out, _ = run(capsys, "prior", "l1", "--lam", "0.1", "--sigma", "2", "--n", "50",
                       "--convention", "sklearn_lasso", "--json")
    report = json.loads(out)
    assert code == 0 and report["prior"] == "laplace"
    assert report["params"]["scale"] == pytest.approx(4 / (50 * 0.1))  # s = σ²/(n α)
    assert report["lam"]["keras"] == pytest.approx(0.2) and "torch_sgd_mse" not in report["lam"]


def test_text_output_explains(capsys):
    code, out, _ = run(capsys, "prior", "l2", "--lam", "3", "--sigma", "0.01", "--n", "20", "--convention", "d2l")
    assert code == 0
    assert "Gaussian N(0, τ²)" in out and "τ = σ/√λ = 0.01/√60" in out and "← given" in out
    assert "(1/n) Σ ½ rᵢ² + (λ/2) ‖w‖²" in out


def test_without_n_mean_conventions_are_marked(capsys):
    code, out, _ = run(capsys, "prior", "l2", "--lam", "2", "--sigma", "1", "--json")
    report = json.loads(out)
    assert code == 0 and set(report["lam"]) == {"canonical", "sklearn_ridge"}
    assert "d2l" in report["needs_n"]


@pytest.mark.parametrize("argv,needle", [
    (["prior", "l2", "--lam", "-1", "--sigma", "1"], "implies no prior"),
    (["prior", "l1", "--lam", "0", "--sigma", "1"], "improper flat"),
    (["prior", "l2", "--lam", "1", "--sigma", "0"], "sigma"),
    (["prior", "l2", "--lam", "1", "--sigma", "1", "--convention", "pytorch"], "unknown convention"),
    (["prior", "l1", "--lam", "1", "--sigma", "1", "--convention", "sklearn_ridge"], "no L1 option"),
    (["prior", "l2", "--lam", "1", "--sigma", "1", "--convention", "d2l"], "--n"),
])
def test_errors_are_one_line_with_status_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["prior", "l3", "--lam", "1", "--sigma", "1"])
    assert exc.value.code == 2


def test_python_dash_m_and_help():
    res = subprocess.run([sys.executable, "-m", "bayesreg", "prior", "--help"], capture_output=True, text=True,
                         check=True)
    assert "conventions (what each minimises" in res.stdout and "sklearn_elasticnet" in res.stdout
    assert "FutureWarning" not in res.stderr
