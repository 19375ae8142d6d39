"""Peak memory of ``bayesreg fit`` (the default ``--engine auto``) on a Parquet file larger than the memory it may use.

Writes a generated Parquet file (default 10,000,000 rows × 50 features + target, float64, uncompressed: about
4 GB), runs the default command ``bayesreg fit --data big.parquet --target y ...`` on it in a child process (auto
streams it: the table would need about 15 GiB in memory), and prints the child's peak resident memory
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``) against the limit (default 1 GiB). Then, on a subsample-sized
file (the first ``--check-rows`` rows), checks that the chunked statistics equal the in-memory ones
(:meth:`SufficientStats.from_arrays`) to 1e-10 relative and that the two engines give the same posterior.

    python scripts/memory_check.py                      # the issue's check: 10M × 50, limit 1 GiB
    python scripts/memory_check.py --rows 1000000 --keep DIR

Exit status 1 if peak memory exceeds the limit or a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_parquet(path: Path, rows: int, d: int, seed: int, batch: int = 250_000) -> None:
    """Rows drawn batch by batch (never all in memory): x ~ N(10, 1) (large column means), y = x·w + 3 + ε."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    w = np.linspace(-1.0, 1.0, d)
    names = [f"x{j}" for j in range(d)] + ["y"]
    schema = pa.schema([(n, pa.float64()) for n in names])
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for start in range(0, rows, batch):
            m = min(batch, rows - start)
            X = rng.normal(10.0, 1.0, size=(m, d))
            y = X @ w + 3.0 + rng.normal(0.0, 2.0, size=m)
            writer.write_table(pa.Table.from_arrays([pa.array(X[:, j]) for j in range(d)] + [pa.array(y)],
                                                    schema=schema), row_group_size=m)


def relative(a, b) -> float:
    """The largest relative difference over n, means, S_xx, S_xy, S_yy."""
    parts = [abs(a.n - b.n) / b.n,
             float(np.max(np.abs(a.x_mean - b.x_mean)) / np.max(np.abs(b.x_mean))),
             abs(a.y_mean - b.y_mean) / abs(b.y_mean),
             float(np.max(np.abs(a.sxx - b.sxx)) / np.max(np.abs(b.sxx))),
             float(np.max(np.abs(a.sxy - b.sxy)) / np.max(np.abs(b.sxy))),
             abs(a.syy - b.syy) / b.syy]
    return max(parts)


def fit_cli(data: Path, out: Path, engine: str | None, extra=()) -> None:
    """``bayesreg fit`` in a child process; ``engine`` None runs the default command (``--engine auto``)."""
    chosen = [] if engine is None else ["--engine", engine]
    cmd = [sys.executable, "-m", "bayesreg", "fit", "--data", str(data), "--target", "y", *chosen,
           "--prior", "gaussian", "--tau", "1", "--sigma", "2", "--no-plots", "--out", str(out), *extra]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--limit-mib", type=float, default=1024.0)
    parser.add_argument("--check-rows", type=int, default=200_000)
    parser.add_argument("--chunk-rows", type=int, default=65_536)
    parser.add_argument("--keep", metavar="DIR", help="write the files here and keep them (default: a temp dir)")
    parser.add_argument("--engine", choices=["chunks"], default=None,
                        help="run the big fit with --engine chunks instead of the default command: at a few million "
                             "rows auto streams only on a machine with less than 4 × the table's size available")
    args = parser.parse_args(argv)

    from bayesreg.data import load_file
    from bayesreg.streaming import chunked_stats
    from bayesreg.suffstats import SufficientStats

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bayesreg-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    big, small = work / "big.parquet", work / "small.parquet"
    ok = True

    began = time.perf_counter()
    write_parquet(big, args.rows, args.features, seed=0)
    size_gb = big.stat().st_size / 1e9
    print(f"wrote {big}: {args.rows:,} rows × {args.features} features, {size_gb:.2f} GB "
          f"in {time.perf_counter() - began:.0f} s")

    began = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    fit_cli(big, work / "fit-big", args.engine)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
    seconds = time.perf_counter() - began
    summary = json.loads((work / "fit-big" / "summary.json").read_text())
    command = "default command" if args.engine is None else f"--engine {args.engine}"
    print(f"bayesreg fit ({command}, engine {summary['engine']}): {seconds:.0f} s, peak resident memory "
          f"{peak_mib:.0f} MiB "
          f"(limit {args.limit_mib:.0f} MiB; the file is {size_gb * 1e9 / 2**20:.0f} MiB); n = {summary['n']:,}, "
          f"health {summary['health']['verdict']}")
    if before > peak_mib * 1024:
        print("  (an earlier child process had a higher peak; the figure is an upper bound)")
    if peak_mib > args.limit_mib or summary["n"] != args.rows or summary["engine"] != "chunks":
        ok = False
        print("FAIL: memory above the limit or wrong row count")

    # the subsample check: chunked == in-memory statistics to 1e-10, same posterior from both engines
    write_parquet(small, args.check_rows, args.features, seed=0)
    data = load_file(small, "y")
    ref = SufficientStats.from_arrays(data.X, data.y)
    worst = 0.0
    for rows in (1_000, 7_777, args.chunk_rows, args.check_rows):
        worst = max(worst, relative(chunked_stats(small, "y", chunk_rows=rows), ref))
    print(f"subsample ({args.check_rows:,} rows): chunked vs in-memory statistics, max relative difference "
          f"{worst:.2e} (must be ≤ 1e-10)")
    fit_cli(small, work / "fit-mem", "memory")
    fit_cli(small, work / "fit-chunks", "chunks")
    a, b = (json.loads((work / f / "summary.json").read_text())["parameters"] for f in ("fit-mem", "fit-chunks"))
    diff = max(abs(a[k]["mean"] - b[k]["mean"]) / a[k]["sd"] for k in a)
    print(f"posterior means, engine memory vs chunks: max difference {diff:.2e} posterior sd (must be ≤ 1e-6)")
    if worst > 1e-10 or diff > 1e-6:
        ok = False
        print("FAIL: the streaming path differs from the in-memory one")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
