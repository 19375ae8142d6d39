"""``bayesreg prior`` through the real entry points."""

import json
import math
import subprocess
import sys

import pytest

from bayesreg.cli import main


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # a usage error (bad value for an option's type) exits from argparse, status 2
        code = exc.code
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


# ------------------------------------------------------------------------------ penalties beyond L1 and L2

def test_l2_norm_explains_that_it_is_not_weight_decay(capsys):
    code, out, _ = run(capsys, "prior", "l2-norm", "--lam", "0.01", "--sigma", "1", "--n", "100", "--d", "10",
                       "--convention", "torch_sgd_mse")
    assert code == 0
    assert "is not weight decay" in out and "radial prior on R^10" in out
    assert "‖w‖ ~ Gamma(10, scale 2)" in out  # c = 0.01·100/2 = 0.5, ℓ = σ²/c = 2
    assert "(1/n) Σ rᵢ² + λ ‖w‖   ← given" in out


def test_l2_norm_json(capsys):
    code, out, _ = run(capsys, "prior", "l2-norm", "--lam", "3", "--sigma", "2", "--d", "4", "--json")
    report = json.loads(out)
    assert code == 0 and report["prior"] == "l2-norm"
    assert report["params"] == {"scale": pytest.approx(4 / 3), "d": 4}
    ell = 4 / 3  # log Z = log(2π^(d/2) Γ(d) ℓ^d / Γ(d/2))
    assert report["log_normaliser"] == pytest.approx(
        math.log(2 * math.pi**2 * math.gamma(4) * ell**4 / math.gamma(2)), rel=1e-12)
    assert "not weight decay" in report["statement"] and report["convex"] is True
    assert report["lam"]["sklearn_ridge"] == pytest.approx(6.0)  # Σr² + λ‖w‖: λ = 2·3


def test_elastic_net_json_round_trips_sklearn(capsys):
    code, out, _ = run(capsys, "prior", "elastic-net", "--lam", "0.1", "--l1-ratio", "0.3", "--sigma", "2",
                       "--n", "50", "--convention", "sklearn_elasticnet", "--json")
    report = json.loads(out)
    assert code == 0 and report["prior"] == "elastic-net"
    assert report["canonical_lam"] == {"l1": pytest.approx(50 * 0.1 * 0.3), "l2": pytest.approx(50 * 0.1 * 0.7)}
    assert report["params"]["scale"] == pytest.approx(4 / 1.5) and report["params"]["tau"] == pytest.approx(
        2 / math.sqrt(3.5))
    assert report["lam"]["sklearn_elasticnet"] == pytest.approx(0.1)
    assert report["l1_ratio"]["sklearn_elasticnet"] == pytest.approx(0.3)
    assert "sklearn_ridge" in report["no_such_option"] and "statement" in report


@pytest.mark.parametrize("argv,name", [
    (["group-lasso", "--lam", "5", "--groups", "3,3,4"], "group-lasso"),
    (["log", "--lam", "2", "--width", "1"], "student-t"),
    (["student-t", "--df", "3", "--scale", "0.5"], "student-t"),
])
def test_other_penalties_json(capsys, argv, name):
    code, out, _ = run(capsys, "prior", *argv, "--sigma", "1", "--json")
    report = json.loads(out)
    assert code == 0 and report["prior"] == name and report["statement"]
    assert math.isfinite(report["log_normaliser"])


def test_student_t_text_says_not_convex(capsys):
    code, out, _ = run(capsys, "prior", "log", "--lam", "2", "--width", "1", "--sigma", "1")
    assert code == 0 and "ν = 2λ/σ² − 1 = 3" in out and "not convex" in out


@pytest.mark.parametrize("argv,needle", [
    (["prior", "l2-norm", "--lam", "1", "--sigma", "1"], "needs --d"),
    (["prior", "l2-norm", "--lam", "-1", "--sigma", "1", "--d", "3"], "implies no prior"),
    (["prior", "elastic-net", "--lam", "0", "--sigma", "1", "--l1-ratio", "0.5"], "improper flat"),
    (["prior", "elastic-net", "--lam", "1", "--sigma", "1"], "needs --l1-ratio"),
    (["prior", "elastic-net", "--lam", "1", "--sigma", "1", "--l1-ratio", "0.5", "--convention", "sklearn_ridge"],
     "no L1 option"),
    (["prior", "log", "--lam", "0.4", "--width", "1", "--sigma", "1"], "too slowly to integrate"),
    (["prior", "l2", "--lam", "1", "--sigma", "1", "--d", "3"], "--d does not apply"),
    (["prior", "l2", "--sigma", "1"], "needs --lam"),
    (["prior", "student-t", "--lam", "1", "--sigma", "1"], "not --lam"),
    (["prior", "group-lasso", "--lam", "1", "--sigma", "1", "--groups", "3,a"], "sizes like"),
])
def test_derived_errors_are_one_line_with_status_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_prior_help_lists_the_new_penalties():
    res = subprocess.run([sys.executable, "-m", "bayesreg", "prior", "--help"], capture_output=True, text=True,
                         check=True)
    assert "bayesreg prior l2-norm" in res.stdout and "elastic-net" in res.stdout and "--groups" in res.stdout


def test_output_into_a_closed_pipe_is_quiet():
    """`bayesreg prior ... | head`: the reader has gone; exit without a traceback."""
    import subprocess
    import sys

    code = ("import os, sys; r, w = os.pipe(); os.close(r); os.dup2(w, 1); from bayesreg.cli import main; "
            "sys.exit(main(['prior', 'l2', '--lam', '3', '--sigma', '0.01', '--n', '20', '--convention', 'd2l']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert done.returncode == 1 and done.stderr == b""


@pytest.mark.parametrize("argv, fragment", [
    (["fit", "--data", "diabetes", "--prior", "foo", "--tau", "1", "--sigma", "1"], "invalid choice: 'foo'"),
    (["fit", "--data", "diabetes", "--prior", "gaussian", "--tau", "1", "--sigma", "1", "--method", "x"],
     "--method"),
    (["nonsense"], "invalid choice"),
    (["report", "--only", "x"], "--only"),
])
def test_usage_errors_are_one_line_with_the_help_hint(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and fragment in err and "--help" in err
    assert err.count("\n") == 1 and "usage:" not in err
