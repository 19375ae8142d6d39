"""Issue 8: bad input gets one clear line and exit status 2 (the API raises the same message); nothing is lost or
half-written (Ctrl-C, existing results); the same seed gives the same summary.json; unreliable inference is
flagged."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesreg.fitting as fit_module
from bayesreg import load_diabetes
from bayesreg.cli import main
from bayesreg.data import load_dataset
from bayesreg.diagnostics import MIN_DRAWS_FOR_DIAGNOSTICS, check_draws
from bayesreg.errors import (
    BayesregError,
    ConventionError,
    DataError,
    ImproperPriorError,
    NoPriorError,
    SpecError,
)
from bayesreg.fitting import fit
from bayesreg.infer.result import Posterior
from bayesreg.outputs import RESULTS_MARKER, output_directory
from bayesreg.priors import parse_sigma_prior, prior_from_options

GAUSS = ["--prior", "gaussian", "--tau", "20", "--sigma", "54"]


# ---------------------------------------------------------------------------------------------- bad files

def _frame(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": X @ [1.0, -2.0, 0.5] + rng.normal(size=n)})


def _bad_file(case: str, tmp: Path) -> Path:
    """Write the bad input ``case`` under ``tmp``; return its path."""
    df = _frame()
    if case == "missing":
        return tmp / "absent.csv"
    if case == "empty":
        (tmp / "empty.csv").write_bytes(b"")
        return tmp / "empty.csv"
    if case == "header_only":
        (tmp / "header.csv").write_text("a,b,c,y\n")
        return tmp / "header.csv"
    if case == "directory":
        (tmp / "dir.csv").mkdir()
        return tmp / "dir.csv"
    if case == "not_parquet":
        (tmp / "junk.parquet").write_bytes(b"\x00\x01 this is not parquet \xff" * 20)
        return tmp / "junk.parquet"
    if case == "unsupported":
        (tmp / "data.xlsx").write_bytes(b"PK\x03\x04")
        return tmp / "data.xlsx"
    if case == "non_numeric":  # a numeric column with a stray word in it (a text column would be one-hot)
        df["b"] = df["b"].astype(object)
        df.loc[2, "b"] = "x"
    elif case == "dup_header":  # pandas would silently call the second 'a' 'a.1'
        (tmp / "dup.csv").write_text("a,b,a,y\n1,2,3,4\n5,6,7,8\n2,1,0,3\n")
        return tmp / "dup.csv"
    elif case == "nan":
        df.loc[3, "a"] = np.nan
    elif case == "inf":
        df.loc[5, "y"] = np.inf
    elif case == "one_row":
        df = df.iloc[:1]
    elif case == "no_target":
        df = df.rename(columns={"y": "z"})
    elif case == "late_nan":  # only the last chunk is bad: the streaming engines must still catch it
        df = _frame(200)
        df.loc[190, "c"] = np.nan
    path = tmp / f"{case}.csv"
    df.to_csv(path, index=False)
    return path


BAD_FILES = [
    ("missing", "no such file"),
    ("empty", "is empty"),
    ("header_only", "no rows"),
    ("directory", "is a directory"),
    ("not_parquet", "cannot parse"),
    ("unsupported", "unsupported file type"),
    ("non_numeric", "non-numeric column"),
    ("dup_header", "more than once"),
    ("nan", "NaN or infinite"),
    ("inf", "NaN or infinite"),
    ("one_row", "only 1 row"),
    ("no_target", "target column 'y' not found"),
    ("late_nan", "NaN or infinite"),
]


def _one_error_line(code, out, err, command="fit"):
    assert code == 2, (out, err)
    assert err.startswith(f"bayesreg {command}: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and out == ""
    return err[len(f"bayesreg {command}: error: "):].strip()


def _nothing_written(tmp_path, keep=()):
    """No --out directory and no temporary leftovers: only the inputs the test made."""
    left = {p.name for p in tmp_path.iterdir()} - set(keep)
    assert not left, left


@pytest.mark.parametrize("engine", ["memory", "chunks"])
@pytest.mark.parametrize("case,needle", BAD_FILES)
def test_bad_file_fit(tmp_path, capsys, case, needle, engine):
    inputs = tmp_path / "in"
    inputs.mkdir()
    path = _bad_file(case, inputs)
    out = tmp_path / "out"
    extra = [] if engine == "memory" else ["--engine", engine, "--chunk-rows", "7"]
    code = main(["fit", "--data", str(path), "--target", "y", *GAUSS, "--out", str(out), *extra])
    message = _one_error_line(code, *capsys.readouterr())
    assert needle in message and ";" in message  # the problem; then the fix
    _nothing_written(tmp_path, keep={"in"})
    # the Python API raises DataError with the same message
    with pytest.raises(DataError) as exc:
        if engine == "memory":
            load_dataset(str(path), "y")
        else:
            from bayesreg.streaming import chunked_stats

            chunked_stats(path, "y", chunk_rows=7)
    assert str(exc.value) == message


@pytest.mark.parametrize("case,needle", BAD_FILES)
def test_bad_file_compare(tmp_path, capsys, case, needle):
    path = _bad_file(case, tmp_path)
    code = main(["compare", "--data", str(path), "--target", "y", *GAUSS, "--json", str(tmp_path / "c.json")])
    message = _one_error_line(code, *capsys.readouterr(), command="compare")
    assert needle in message
    assert not (tmp_path / "c.json").exists()


def test_unreadable_file(tmp_path, capsys, monkeypatch):
    """Permission denied (chmod 000 does not stop root, so the reader is made to fail as it would)."""
    path = _bad_file("nan", tmp_path)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(pd, "read_csv", denied)
    code = main(["fit", "--data", str(path), "--target", "y", *GAUSS, "--out", str(tmp_path / "out")])
    message = _one_error_line(code, *capsys.readouterr())
    assert "permission denied" in message and "permissions" in message
    assert not (tmp_path / "out").exists()
    with pytest.raises(DataError, match="permission denied"):
        load_dataset(str(path), "y")


def test_file_without_target_option(tmp_path, capsys):
    path = _bad_file("nan", tmp_path)
    code = main(["fit", "--data", str(path), *GAUSS, "--out", str(tmp_path / "out")])
    assert "pass --target COLUMN" in _one_error_line(code, *capsys.readouterr())


# --------------------------------------------------------------------------------------------- bad options

def _api_prior(kind, sigma=54.0, n=442, **kw):
    return lambda: prior_from_options(kind, sigma=sigma, n=n, **kw)


BAD_OPTIONS = [
    # (argv after --data D, needle, exception, API call giving the same message)
    (["--prior", "gaussian", "--lam", "0", "--sigma", "0.01", "--data", "d2l"], "improper flat",
     ImproperPriorError, _api_prior("gaussian", sigma=0.01, n=20, lam=0.0)),
    (["--prior", "laplace", "--lam", "0", "--sigma", "1"], "improper flat", ImproperPriorError,
     _api_prior("laplace", sigma=1.0, lam=0.0)),
    (["--prior", "gaussian", "--lam", "-1", "--sigma", "1"], "implies no prior", NoPriorError,
     _api_prior("gaussian", sigma=1.0, lam=-1.0)),
    (["--prior", "laplace", "--lam", "-0.5", "--sigma", "1"], "implies no prior", NoPriorError,
     _api_prior("laplace", sigma=1.0, lam=-0.5)),
    (["--prior", "gaussian", "--tau", "0", "--sigma", "1"], "tau", SpecError, _api_prior("gaussian", tau=0.0)),
    (["--prior", "gaussian", "--tau", "-3", "--sigma", "1"], "tau", SpecError, _api_prior("gaussian", tau=-3.0)),
    (["--prior", "laplace", "--scale", "0", "--sigma", "1"], "scale", SpecError,
     _api_prior("laplace", scale=0.0)),
    (["--prior", "laplace", "--scale", "-2", "--sigma", "1"], "scale", SpecError,
     _api_prior("laplace", scale=-2.0)),
    (["--prior", "gaussian", "--tau", "1", "--sigma", "0"], "sigma", SpecError,
     lambda: fit(load_diabetes(), prior_from_options("gaussian", sigma=1.0, n=442, tau=1.0), 0.0)),
    (["--prior", "gaussian", "--tau", "1", "--sigma", "-1"], "sigma", SpecError,
     lambda: fit(load_diabetes(), prior_from_options("gaussian", sigma=1.0, n=442, tau=1.0), -1.0)),
    (["--prior", "gaussian", "--tau", "1", "--sigma-prior", "cauchy:1"], "unknown scale prior", SpecError,
     lambda: parse_sigma_prior("cauchy:1")),
    (["--prior", "gaussian", "--lam", "1", "--convention", "pytorch", "--sigma", "1"], "unknown convention",
     ConventionError, _api_prior("gaussian", sigma=1.0, lam=1.0, convention="pytorch")),
    (["--prior", "gaussian", "--tau", "1", "--lam", "2", "--sigma", "1"], "one way", SpecError,
     _api_prior("gaussian", sigma=1.0, tau=1.0, lam=2.0)),
    (["--prior", "laplace", "--scale", "1", "--lam", "2", "--sigma", "1"], "one way", SpecError,
     _api_prior("laplace", sigma=1.0, scale=1.0, lam=2.0)),
    (GAUSS + ["--draws", "5"], "too few to diagnose", SpecError, lambda: check_draws(4, 5, 1000, "auto")),
    (GAUSS + ["--chains", "1", "--draws", "99"], "too few to diagnose", SpecError,
     lambda: check_draws(1, 99, 1000, "auto")),
    (GAUSS + ["--chains", "0"], "--chains must be", SpecError, lambda: check_draws(0, 1000, 1000, "auto")),
    (GAUSS + ["--warmup", "-1"], "--warmup must be", SpecError, lambda: check_draws(4, 1000, -1, "auto")),
    (GAUSS + ["--scheduler", "tcp://127.0.0.1:1"], "--scheduler is for --engine dask", SpecError, None),
    (GAUSS + ["--engine", "memory", "--chunk-rows", "10"], "--chunk-rows is for", SpecError, None),
    (GAUSS + ["--engine", "chunks", "--chunk-rows", "0"], "--chunk-rows must be", SpecError, None),
    (GAUSS + ["--engine", "chunks", "--method", "svi"], "SVI trains on the rows", SpecError, None),
    (["--prior", "laplace", "--scale", "1", "--sigma", "1", "--method", "exact"], "exact cannot run this model",
     SpecError, lambda: fit(load_diabetes(), prior_from_options("laplace", sigma=1.0, n=442, scale=1.0), 1.0,
                 method="exact")),
]


@pytest.mark.parametrize("argv,needle,error,api", BAD_OPTIONS, ids=[" ".join(c[0][:6]) for c in BAD_OPTIONS])
def test_bad_options_fit(tmp_path, capsys, argv, needle, error, api):
    data = [] if "--data" in argv else ["--data", "diabetes"]
    out = tmp_path / "out"
    code = main(["fit", *data, *argv, "--out", str(out)])
    message = _one_error_line(code, *capsys.readouterr())
    assert needle in message
    _nothing_written(tmp_path)
    if api is not None:
        with pytest.raises(error) as exc:
            api()
        assert str(exc.value) == message


@pytest.mark.parametrize("argv,needle", [
    (["--prior", "gaussian", "--lam", "0", "--sigma", "0.01", "--data", "d2l"], "improper flat"),
    (["--prior", "gaussian", "--lam", "-1", "--sigma", "1"], "implies no prior"),
    (["--prior", "gaussian", "--tau", "0", "--sigma", "1"], "tau"),
    (["--prior", "gaussian", "--tau", "1", "--sigma", "0"], "sigma"),
    (["--prior", "gaussian", "--tau", "1", "--lam", "1", "--sigma", "1"], "one way"),
    (["--prior", "gaussian", "--lam", "1", "--convention", "x", "--sigma", "1"], "unknown convention"),
    (["--prior", "gaussian", "--tau", "1", "--sigma", "1", "--methods", "lbfgs"], "unknown method"),
    (["--prior", "gaussian", "--tau", "1", "--sigma", "1", "--engine", "chunks", "--methods", "adamw"],
     "need the data rows"),
])
def test_bad_options_compare(tmp_path, capsys, argv, needle):
    data = [] if "--data" in argv else ["--data", "diabetes"]
    code = main(["compare", *data, *argv, "--json", str(tmp_path / "c.json")])
    assert needle in _one_error_line(code, *capsys.readouterr(), command="compare")
    _nothing_written(tmp_path)


@pytest.mark.parametrize("argv,fragment", [
    (["fit", "--data", "diabetes", "--prior", "cauchy", "--tau", "1", "--sigma", "1", "--out", "x"], "--prior"),
    (["fit", "--data", "diabetes", *GAUSS, "--method", "hmc", "--out", "x"], "--method"),
    (["fit", "--data", "diabetes", *GAUSS, "--engine", "spark", "--out", "x"], "--engine"),
    (["fit", "--data", "diabetes", "--prior", "gaussian", "--tau", "1", "--sigma", "1", "--sigma-prior",
      "halfnormal:1", "--out", "x"], "not allowed with"),
    (["compare", "--data", "diabetes", "--prior", "cauchy", "--tau", "1", "--sigma", "1"], "--prior"),
])
def test_usage_errors_one_line(tmp_path, capsys, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and fragment in err and err.count("\n") == 1 and "Traceback" not in err
    _nothing_written(tmp_path)


@pytest.mark.parametrize("call,error", [
    (lambda: fit(load_diabetes(), prior_from_options("gaussian", sigma=1.0, n=442, tau=1.0), 1.0, method="hmc"),
     SpecError),
    (lambda: prior_from_options("cauchy", sigma=1.0, n=10, tau=1.0), SpecError),
])
def test_unknown_method_and_prior_in_python(call, error):
    with pytest.raises(error, match="unknown"):
        call()


def test_too_few_draws_constant_is_the_diagnostics_one():
    assert MIN_DRAWS_FOR_DIAGNOSTICS == 100
    check_draws(4, 25, 0, "auto")  # exactly enough
    check_draws(1, 1, 0, "map")  # a point estimate needs no diagnostics


def test_existing_results_are_refused_unless_force(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    (out / RESULTS_MARKER).write_text("")  # an earlier results directory of ours
    code = main(["fit", "--data", "diabetes", *GAUSS, "--out", str(out), "--no-plots"])
    message = _one_error_line(code, *capsys.readouterr())
    assert "already holds results" in message and "--force" in message
    assert (out / "summary.json").read_text() == "{}" and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with pytest.raises(SpecError) as exc:
        with output_directory(out):
            pass
    assert str(exc.value) == message
    assert main(["fit", "--data", "diabetes", *GAUSS, "--out", str(out), "--no-plots", "--force"]) == 0
    assert json.loads((out / "summary.json").read_text())["method"] == "exact"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_errors_are_bayesreg_errors_and_value_errors():
    for cls in (DataError, SpecError, ConventionError, NoPriorError, ImproperPriorError):
        assert issubclass(cls, BayesregError) and issubclass(cls, ValueError)


# ------------------------------------------------------------------------------ nothing lost: Ctrl-C

def _interrupting_sampler(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("target", ["bayesreg.infer.gibbs.gibbs_lasso", "bayesreg.infer.nuts.nuts"])
def test_ctrl_c_during_sampling_leaves_nothing_and_says_so(tmp_path, capsys, monkeypatch, target):
    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(module + "." + name, _interrupting_sampler)
    method = "gibbs" if "gibbs" in target else "nuts"
    out = tmp_path / "out"
    code = main(["fit", "--data", "diabetes", "--prior", "laplace", "--scale", "13", "--sigma", "54", "--method",
                 method, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 130 and "Traceback" not in captured.err
    assert "interrupted (Ctrl-C)" in captured.err and f"nothing was written to {out}" in captured.err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_ctrl_c_keeps_previous_results_with_force(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert main(["fit", "--data", "diabetes", *GAUSS, "--out", str(out), "--no-plots"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    monkeypatch.setattr("bayesreg.infer.conjugate.GaussianPosterior.draws", _interrupting_sampler)
    code = main(["fit", "--data", "diabetes", *GAUSS, "--out", str(out), "--no-plots", "--force"])
    err = capsys.readouterr().err
    assert code == 130 and "previous results are untouched" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_ctrl_c_after_the_results_are_complete_says_so(tmp_path, capsys, monkeypatch):
    import bayesreg.cli as cli

    monkeypatch.setattr(cli, "_format_fit", _interrupting_sampler)
    out = tmp_path / "out"
    code = main(["fit", "--data", "diabetes", *GAUSS, "--out", str(out), "--no-plots"])
    err = capsys.readouterr().err
    assert code == 130 and f"the results in {out} are complete" in err
    assert {"posterior.nc", "summary.json", "timing.json"} <= {p.name for p in out.iterdir()}


def test_ctrl_c_during_the_final_rename_restores_the_previous_results(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("old")
    (out / RESULTS_MARKER).write_text("")
    real_rename = Path.rename

    def rename(self, target):
        if self.name.endswith(".tmp"):
            raise KeyboardInterrupt
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        with output_directory(out, force=True) as tmp:
            (tmp / "summary.json").write_text("new")
    assert (out / "summary.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# ------------------------------------------------------------------------------ same seed, same summary

def _keys(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield f"{prefix}{k}"
            yield from _keys(v, f"{prefix}{k}.")
    elif isinstance(obj, list):
        for v in obj:
            yield from _keys(v, prefix)


@pytest.mark.parametrize("argv", [
    ["--prior", "gaussian", "--lam", "1", "--sigma-prior", "invgamma:2,1", "--draws", "200"],  # exact (NIG)
    ["--prior", "laplace", "--scale", "13", "--sigma", "54", "--draws", "100", "--warmup", "50"],  # gibbs
    ["--prior", "gaussian", "--tau", "20", "--sigma", "54", "--method", "nuts", "--chains", "2", "--draws", "60",
     "--warmup", "60"],
], ids=["exact", "gibbs", "nuts"])
def test_same_seed_gives_identical_summary_json(tmp_path, capsys, argv):
    common = ["fit", "--data", "diabetes", *argv, "--seed", "3", "--no-plots"]
    assert main(common + ["--out", str(tmp_path / "a")]) == 0 and main(common + ["--out", str(tmp_path / "b")]) == 0
    a, b = ((tmp_path / x / "summary.json").read_bytes() for x in "ab")
    assert a == b
    summary = json.loads(a)
    assert not [k for k in _keys(summary) if any(t in k.lower() for t in ("second", "time", "clock", "date"))]
    assert json.loads((tmp_path / "a" / "timing.json").read_text())["inference_seconds"] >= 0
    assert "draws in" in capsys.readouterr().out  # the time is on the terminal


# ------------------------------------------------------------------------------ unreliable is flagged

def _fake_posterior(method, kind, d=10, chains=4, draws=200, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(chains, draws, d))
    stats, info = {}, {"converged": True}
    if kind == "rhat":
        w += np.arange(chains)[:, None, None]  # chains that disagree
    elif kind == "ess":
        w = np.cumsum(w, axis=1) * 0.05 + np.arange(chains)[:, None, None] * 0.0  # a random walk: tiny ESS
    elif kind == "divergences":
        stats = {"diverging": np.zeros((chains, draws), dtype=bool)}
        stats["diverging"][0, :7] = True
    elif kind == "svi":
        info = {"converged": False}
    names = tuple(load_diabetes().feature_names)
    return Posterior(method, {"w": w, "b": rng.normal(size=(chains, draws))}, names, sigma_fixed=54.0,
                     sample_stats=stats, info=info)


@pytest.mark.parametrize("method,kind,reason", [
    ("nuts", "divergences", "7 divergent transitions"),
    ("nuts", "rhat", "R-hat up to"),
    ("gibbs", "ess", "effective sample size"),
    ("svi", "svi", "SVI did not converge"),
])
def test_unreliable_inference_is_flagged(tmp_path, capsys, monkeypatch, method, kind, reason):
    monkeypatch.setattr(fit_module, "fit", lambda *a, **k: _fake_posterior(method, kind))
    out = tmp_path / "out"
    code = main(["fit", "--data", "diabetes", *GAUSS, "--out", str(out), "--no-plots"])
    captured = capsys.readouterr()
    assert code == 0
    assert "health: UNRELIABLE" in captured.out and reason in captured.out
    assert "warning: the posterior is UNRELIABLE" in captured.err and reason in captured.err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reliable"] is False and summary["health"]["verdict"] == "unreliable"
    assert any(reason in r for r in summary["health"]["reasons"])


def test_reliable_inference_is_not_flagged(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["fit", "--data", "diabetes", *GAUSS, "--out", str(out), "--no-plots"]) == 0
    captured = capsys.readouterr()
    assert "health: OK" in captured.out and "UNRELIABLE" not in captured.err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reliable"] is True and math.isfinite(summary["health"]["metrics"]["max_rhat"])
