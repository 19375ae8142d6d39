"""Issue 8: sufficient statistics of data larger than memory (chunks of CSV/Parquet, Dask partitions) equal the
in-memory ones to 1e-10 relative, and `fit`/`compare` run from them."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from bayesreg.cli import main
from bayesreg.data import load_file
from bayesreg.errors import DataError
from bayesreg.streaming import (
    NamedStats,
    StatsAccumulator,
    chunked_stats,
    compare_stats,
    dask_stats,
    merge,
    merge_all,
    pseudo_rows,
)
from bayesreg.suffstats import SufficientStats

TOL = 1e-10


def relative(a: SufficientStats, b: SufficientStats) -> float:
    """Largest relative difference over the means and the centred cross-products (n must match exactly)."""
    assert a.n == b.n
    return max(float(np.max(np.abs(a.x_mean - b.x_mean)) / np.max(np.abs(b.x_mean))),
               abs(a.y_mean - b.y_mean) / abs(b.y_mean),
               float(np.max(np.abs(a.sxx - b.sxx)) / np.max(np.abs(b.sxx))),
               float(np.max(np.abs(a.sxy - b.sxy)) / np.max(np.abs(b.sxy))),
               abs(a.syy - b.syy) / b.syy)


def _data(n=3000, d=6, mean=1e6, seed=0):
    """Columns with large means (1e6) and unit spread: raw XᵀX − n x̄x̄ᵀ would lose 12 digits."""
    rng = np.random.default_rng(seed)
    X = rng.normal(mean, 1.0, size=(n, d)) + np.arange(d)
    y = (X - mean) @ np.linspace(-1, 1, d) + 5e5 + rng.normal(size=n)
    return X, y


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    X, y = _data()
    tmp = tmp_path_factory.mktemp("stream")
    frame = pd.DataFrame(np.column_stack([X, y]), columns=[f"f{j}" for j in range(X.shape[1])] + ["target"])
    frame.to_csv(tmp / "d.csv", index=False)
    frame.to_parquet(tmp / "d.parquet", row_group_size=700)
    ref = SufficientStats.from_arrays(X, y)
    return tmp, X, y, ref


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("chunk_rows", [1, 7, 256, 1000, 3000, 10**6])
def test_chunked_equals_in_memory(files, fmt, chunk_rows):
    tmp, X, y, ref = files
    if chunk_rows == 1 and fmt == "csv":
        pytest.skip("one-row CSV chunks: covered by Parquet, and slow")
    st = chunked_stats(tmp / f"d.{fmt}", "target", chunk_rows=chunk_rows)
    assert isinstance(st, NamedStats) and st.n == len(y) and st.feature_names == tuple(f"f{j}" for j in range(6))
    assert relative(st, ref) < TOL
    # and against the exact answer (centred in extended precision): the chunked path is no worse than memory
    Xl, yl = X.astype(np.longdouble), y.astype(np.longdouble)
    Xc, yc = Xl - Xl.mean(0), yl - yl.mean()
    exact = SufficientStats(len(y), np.asarray(Xl.mean(0), float), float(yl.mean()), np.asarray(Xc.T @ Xc, float),
                            np.asarray(Xc.T @ yc, float), float(yc @ yc))
    assert relative(st, exact) < 1e-13


def test_the_file_reader_gives_the_same_arrays(files):
    tmp, X, y, _ = files
    for fmt in ("csv", "parquet"):
        data = load_file(tmp / f"d.{fmt}", "target")
        np.testing.assert_array_equal(data.X, X)  # exact round trip: the reference above is the file's data


def test_merge_is_the_pairwise_update():
    X, y = _data(n=1000, d=4)
    whole = SufficientStats.from_arrays(X, y)
    rng = np.random.default_rng(1)
    cuts = np.sort(rng.choice(np.arange(1, 1000), size=30, replace=False))
    parts = [SufficientStats.from_arrays(Xp, yp) for Xp, yp in zip(np.split(X, cuts), np.split(y, cuts), strict=True)]
    assert relative(merge_all(parts), whole) < TOL
    assert relative(merge(parts[0], merge_all(parts[1:])), whole) < TOL
    assert merge(None, parts[0]) is parts[0] and merge(parts[0], None) is parts[0] and merge_all([]) is None
    acc = StatsAccumulator()
    for p in parts:
        acc.add(p)
    assert len(acc._stack) <= int(np.log2(len(parts))) + 1  # O(log chunks) partial results


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_bad_value_in_a_late_chunk(tmp_path, fmt):
    X, y = _data(n=500, d=3, mean=0.0)
    frame = pd.DataFrame(np.column_stack([X, y]), columns=["a", "b", "c", "y"])
    frame.loc[433, "b"] = np.nan
    bad = tmp_path / f"nan.{fmt}"
    frame.to_csv(bad, index=False) if fmt == "csv" else frame.to_parquet(bad)
    with pytest.raises(DataError, match=r"NaN or infinite values in .*rows 401–500.*'b' \(1 row\)"):
        chunked_stats(bad, "y", chunk_rows=100)
    if fmt == "csv":
        text = bad.read_text().splitlines()
        text[300] = "x," + text[300].split(",", 1)[1]
        bad.write_text("\n".join(text) + "\n")
        with pytest.raises(DataError, match="non-numeric column"):
            chunked_stats(bad, "y", chunk_rows=100)


def test_constant_column_warns_once_over_all_chunks(tmp_path):
    X, y = _data(n=300, d=3, mean=0.0)
    X[:, 1] = 4.0
    pd.DataFrame(np.column_stack([X, y]), columns=["a", "b", "c", "y"]).to_parquet(tmp_path / "c.parquet")
    with pytest.warns(UserWarning, match="constant feature column.*'b'"):
        chunked_stats(tmp_path / "c.parquet", "y", chunk_rows=50)


def test_pseudo_rows_keep_the_statistics(files):
    *_, ref = files
    X, y = pseudo_rows(ref)
    st = SufficientStats.from_arrays(X, y)
    assert X.shape == (ref.d + 2, ref.d)
    np.testing.assert_allclose(st.sxx, ref.sxx, rtol=1e-8, atol=1e-8 * np.max(np.abs(ref.sxx)))
    np.testing.assert_allclose(st.x_mean, ref.x_mean, rtol=1e-12)


# ------------------------------------------------------------------------------------------------ Dask

def test_dask_local_threads(files):
    pytest.importorskip("dask.dataframe")
    tmp, _, _, ref = files
    for fmt in ("csv", "parquet"):
        st = dask_stats(tmp / f"d.{fmt}", "target", chunk_rows=500)
        assert relative(st, ref) < TOL and st.feature_names[0] == "f0"


def test_dask_on_a_local_cluster(files, tmp_path, capsys):
    """A dask.distributed LocalCluster on the loopback interface only, reached by its address as a user would."""
    pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    tmp, X, y, ref = files
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, host="127.0.0.1",
                                  protocol="tcp://", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        with distributed.Client(cluster) as client:
            for fmt in ("csv", "parquet"):
                st = dask_stats(tmp / f"d.{fmt}", "target", client=client, chunk_rows=400)
                assert relative(st, ref) < TOL
        # the CLI, given the scheduler's address
        out = tmp_path / "fit"
        code = main(["fit", "--data", str(tmp / "d.parquet"), "--target", "target", "--engine", "dask",
                     "--scheduler", cluster.scheduler_address, "--prior", "gaussian", "--tau", "1", "--sigma", "1",
                     "--no-plots", "--out", str(out)])
        assert code == 0 and json.loads((out / "summary.json").read_text())["n"] == len(y)
    capsys.readouterr()


def test_dask_unreachable_scheduler_is_one_line(files, tmp_path, capsys):
    pytest.importorskip("distributed")
    tmp, *_ = files
    code = main(["fit", "--data", str(tmp / "d.csv"), "--target", "target", "--engine", "dask", "--scheduler",
                 "tcp://127.0.0.1:9", "--prior", "gaussian", "--tau", "1", "--sigma", "1", "--out",
                 str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------- fit and compare

def _small_file(tmp_path, n=2000, d=5, mean=50.0):
    X, y = _data(n=n, d=d, mean=mean, seed=3)
    path = tmp_path / "s.parquet"
    pd.DataFrame(np.column_stack([X, y]), columns=[f"x{j}" for j in range(d)] + ["y"]).to_parquet(path)
    return path


@pytest.mark.parametrize("prior", [["--prior", "gaussian", "--tau", "1", "--sigma", "1"],
                                   ["--prior", "laplace", "--scale", "0.5", "--sigma", "1", "--draws", "300"],
                                   ["--prior", "gaussian", "--lam", "2", "--sigma-prior", "invgamma:2,1"]],
                         ids=["exact", "gibbs", "nig"])
def test_fit_streaming_equals_memory(tmp_path, capsys, prior):
    path = _small_file(tmp_path)
    summaries = {}
    for engine in ("memory", "chunks"):
        out = tmp_path / engine
        extra = ["--chunk-rows", "333"] if engine == "chunks" else []
        assert main(["fit", "--data", str(path), "--target", "y", *prior, "--engine", engine, *extra,
                     "--no-plots", "--out", str(out)]) == 0
        summaries[engine] = json.loads((out / "summary.json").read_text())
    err = capsys.readouterr().err
    assert "--engine chunks keeps only the sufficient statistics" in err
    a, b = summaries["memory"]["parameters"], summaries["chunks"]["parameters"]
    assert a.keys() == b.keys() and "w[x0]" in b
    for k in a:
        assert abs(a[k]["mean"] - b[k]["mean"]) <= 1e-6 * a[k]["sd"], k
    assert summaries["chunks"]["notes"] and summaries["chunks"]["engine"] == "chunks"
    import arviz as az

    groups = set(az.from_netcdf(tmp_path / "chunks" / "posterior.nc").groups())
    assert "posterior" in groups and "log_likelihood" not in groups and "posterior_predictive" not in groups


def test_fit_streaming_with_plots(tmp_path, capsys):
    path = _small_file(tmp_path)
    out = tmp_path / "o"
    assert main(["fit", "--data", str(path), "--target", "y", "--engine", "chunks", "--prior", "gaussian",
                 "--tau", "1", "--sigma", "1", "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"trace.png", "forest.png", "summary.json"} <= names and "ppc.png" not in names
    capsys.readouterr()


def test_compare_streaming(tmp_path, capsys):
    path = _small_file(tmp_path)
    code = main(["compare", "--data", str(path), "--target", "y", "--engine", "chunks", "--prior", "laplace",
                 "--scale", "0.5", "--sigma", "1", "--json", str(tmp_path / "c.json")])
    captured = capsys.readouterr()
    assert code == 0 and "skipped prox_sgd, subgradient_sgd" in captured.err
    result = json.loads((tmp_path / "c.json").read_text())
    assert set(result["methods"]) == {"coordinate_descent", "pyro_map"}
    assert result["methods"]["pyro_map"]["relative_diff"] < 1e-8
    # the same reference as the in-memory comparison
    from bayesreg.compare import compare_map
    from bayesreg.priors import Laplace

    data = load_file(path, "y")
    mem = compare_map(data, Laplace(0.5), 1.0, methods=("coordinate_descent",))
    np.testing.assert_allclose(result["methods"]["coordinate_descent"]["w"], mem.results["coordinate_descent"].w,
                               rtol=1e-9, atol=1e-12)
    st = chunked_stats(path, "y", chunk_rows=100)
    gauss = compare_stats(st, __import__("bayesreg").Gaussian(1.0), 1.0)
    assert gauss.reference == "closed_form" and gauss.relative_diff("pyro_map") < 1e-6


# ------------------------------------------------------------------------------------------------ memory

@pytest.mark.slow
def test_peak_memory_stays_bounded_while_fitting(tmp_path):
    """The 10M × 50 check at small scale: the same code path (scripts/memory_check.py), 1.5M rows × 50 (600 MB
    on disk), and the peak resident memory of `bayesreg fit --engine chunks` in a child process. The engine is
    named: auto streams this file only where less than about 10 GB is available (the choice has its own tests)."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(__import__('pathlib').Path(__file__).resolve().parents[1] / 'scripts')!r})
        import memory_check
        sys.exit(memory_check.main(["--rows", "1500000", "--check-rows", "50000", "--limit-mib", "1024",
                                        "--engine", "chunks"]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "peak resident memory" in done.stdout and "OK" in done.stdout
