r"""Sufficient statistics of data larger than memory: CSV or Parquet read in chunks, or partitions of a Dask cluster.

The Gaussian likelihood depends on the data only through n, the column means and the centred cross-products
(:class:`~bayesreg.suffstats.SufficientStats`). Each chunk's statistics are computed in float64 by
:meth:`SufficientStats.from_arrays`, and two sets A and B are merged with the pairwise update of Chan, Golub &
LeVeque (1979/1983):

.. math::

    n = n_A + n_B,\quad \delta_x = \bar x_B - \bar x_A,\quad \delta_y = \bar y_B - \bar y_A,\quad
    \bar x = \bar x_A + \delta_x\, n_B / n,

    S_{xx} = S_{xx}^A + S_{xx}^B + \frac{n_A n_B}{n}\,\delta_x \delta_x^\top,\quad
    S_{xy} = S_{xy}^A + S_{xy}^B + \frac{n_A n_B}{n}\,\delta_x \delta_y,\quad
    S_{yy} = S_{yy}^A + S_{yy}^B + \frac{n_A n_B}{n}\,\delta_y^2.

Only differences of means enter, never raw XᵀX − n x̄x̄ᵀ, so columns with large means lose no digits. Chunks are
merged as a balanced binary tree (a stack of at most log₂(chunks) partial results, like a binary counter), so
rounding error grows with log(chunks), not with their number. Memory is O(chunk_rows · d + d²).

Validation is per chunk, with the messages of :mod:`bayesreg.data` (missing column, non-numeric column, NaN/inf:
:class:`~bayesreg.errors.DataError`), and the row count and constant columns are checked at the end.

Dask: :func:`dask_stats` reads the file with ``dask.dataframe``, computes one set of statistics per partition on
the workers (``to_delayed``: each partition stays where it is, only d² numbers travel) and merges them pairwise in
a tree of ``dask.delayed`` tasks: no concatenation of the data anywhere. ``scheduler`` is the address of an
existing ``dask.distributed`` scheduler (``tcp://host:8786``); without one, Dask's local threaded scheduler runs.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, SpecError
from .suffstats import SufficientStats

__all__ = [
    "ENGINES",
    "DEFAULT_CHUNK_ROWS",
    "NamedStats",
    "merge",
    "merge_all",
    "StatsAccumulator",
    "iter_chunks",
    "choose_engine",
    "estimated_table_bytes",
    "chunked_stats",
    "dask_stats",
    "stats_from_source",
    "RowStream",
]

#: ``--engine``: ``memory`` loads the whole table (every output), ``chunks`` streams it through pandas/pyarrow,
#: ``dask`` forms the statistics on a Dask cluster.
ENGINES = ("auto", "memory", "chunks", "dask")
#: ``--engine auto`` streams a file whose table would take more than this share of the available memory.
AUTO_MEMORY_SHARE = 0.25
#: Bytes a loaded table takes per value at its peak: the float64 DataFrame, the validated float64 copy, the
#: frozen Dataset copy, and pandas' parsing buffers.
_BYTES_PER_VALUE_LOADED = 32
#: Rows per chunk: 65,536 rows of 50 float64 columns are 26 MB.
DEFAULT_CHUNK_ROWS = 65_536
#: The common shift of every chunk is the mean of at most this many rows at the start of the file.
SHIFT_ROWS = 4096


@dataclass(frozen=True)
class NamedStats(SufficientStats):
    """:class:`SufficientStats` with the names a :class:`~bayesreg.data.Dataset` carries (features, target,
    data-set name), so that results keep the file's column names. Everything that accepts
    :class:`SufficientStats` accepts it."""

    feature_names: tuple[str, ...] = ()
    target_name: str = "y"
    name: str = "stats"
    notes: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def named(cls, stats: SufficientStats, feature_names, target_name: str, name: str) -> NamedStats:
        return cls(stats.n, stats.x_mean, stats.y_mean, stats.sxx, stats.sxy, stats.syy,
                   tuple(str(f) for f in feature_names), str(target_name), str(name))

    def plain(self) -> SufficientStats:
        return SufficientStats(self.n, self.x_mean, self.y_mean, self.sxx, self.sxy, self.syy)


# ---------------------------------------------------------------------------------------------------- merging

def merge(a: SufficientStats | None, b: SufficientStats | None) -> SufficientStats | None:
    """The statistics of the union of two disjoint sets of rows (Chan–Golub–LeVeque pairwise update)."""
    if a is None or a.n == 0:
        return b
    if b is None or b.n == 0:
        return a
    n = a.n + b.n
    dx = b.x_mean - a.x_mean
    dy = b.y_mean - a.y_mean
    f = a.n * b.n / n
    x_mean = a.x_mean + dx * (b.n / n)
    y_mean = a.y_mean + dy * (b.n / n)
    sxx = a.sxx + b.sxx + f * np.outer(dx, dx)
    sxy = a.sxy + b.sxy + f * dx * dy
    syy = a.syy + b.syy + f * dy * dy
    return SufficientStats(n, x_mean, float(y_mean), sxx, sxy, float(syy))


def merge_all(parts: Iterable[SufficientStats]) -> SufficientStats | None:
    """Merge many sets pairwise, as a balanced tree (error grows with log of the number of parts)."""
    acc = StatsAccumulator()
    for p in parts:
        acc.add(p)
    return acc.result()


class StatsAccumulator:
    """Streaming pairwise merge: ``add`` chunk statistics one by one, ``result()`` at the end.

    Keeps a stack of partial results whose sizes (in chunks) are distinct powers of two, like a binary counter;
    each ``add`` merges equal-sized neighbours, so every chunk takes part in at most log₂(chunks) merges, and
    memory is O(d² log chunks)."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, SufficientStats]] = []

    def add(self, stats: SufficientStats) -> None:
        level, current = 0, stats
        while self._stack and self._stack[-1][0] == level:
            _, prev = self._stack.pop()
            current = merge(prev, current)
            level += 1
        self._stack.append((level, current))

    def result(self) -> SufficientStats | None:
        out = None
        for _, stats in reversed(self._stack):
            out = merge(stats, out)
        return out


# ------------------------------------------------------------------------------------------------ file chunks

def _columns_of(path: Path, kind: str) -> list[str]:
    """The column names in the file's header (CSV) or schema (Parquet)."""
    from .data import _CSV_OPTIONS

    try:
        if kind == "Parquet":
            import pyarrow.parquet as pq

            return [str(c) for c in pq.ParquetFile(path).schema_arrow.names]
        from .data import _check_header

        _check_header(path)
        return [str(c) for c in pd.read_csv(path, nrows=0, **_CSV_OPTIONS).columns]
    except DataError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path} is empty (no columns or rows); pass a {kind} file with a header row and data "
                        "rows") from exc
    except PermissionError as exc:
        from .data import _unreadable

        raise _unreadable(str(path), exc) from exc
    except ImportError as exc:
        raise DataError(f"cannot read {path}: reading {kind} needs pyarrow ({exc}); install it with "
                        "pip install 'bayesreg[parquet]' or convert the file to CSV") from exc
    except Exception as exc:  # noqa: BLE001 - a parser failure becomes a DataError at this boundary
        raise DataError(f"cannot parse {path} as {kind}: {type(exc).__name__}: {exc}; check that it is a valid "
                        f"{kind} file") from exc


def _check_file(path: str | os.PathLike) -> tuple[Path, str]:
    """The same checks and messages as :func:`bayesreg.data.load_file` before reading. Returns ``(path, kind)``."""
    from .data import check_file

    p, _, kind = check_file(path)
    return p, kind


def _resolve_columns(path: Path, kind: str, target: str, features: Sequence[str] | None) -> list[str]:
    """Feature columns (file order, target excluded), with :mod:`bayesreg.data`'s missing-column messages."""
    from .data import _check_features, _error, _list_names

    columns = _columns_of(path, kind)
    if target not in columns:
        raise _error(f"target column {target!r} not found in {path}; the file's columns are: "
                     f"{_list_names(columns)}")
    chosen = ([c for c in columns if c != target] if features is None
              else _check_features(features, target, columns, str(path)))
    if not chosen:
        raise _error(f"no feature columns: {path} has only the target column {target!r}; add feature columns to "
                     "the file")
    return chosen


def _frame_to_arrays(frame: pd.DataFrame, features: list[str], target: str,
                     source: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate one chunk (numeric, finite) with :mod:`bayesreg.data`'s messages; float64 arrays."""
    from .data import _check_finite, _check_numeric

    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    X_frame, y_series = frame.loc[:, features], frame[target]
    _check_numeric(X_frame, y_series, source)
    X = X_frame.to_numpy(dtype=np.float64, na_value=np.nan)
    y = y_series.to_numpy(dtype=np.float64, na_value=np.nan)
    _check_finite(X, y, tuple(features), target, source)
    return X, y


def iter_chunks(path: str | os.PathLike, target: str, *, features: Sequence[str] | None = None,
                chunk_rows: int = DEFAULT_CHUNK_ROWS) -> tuple[list[str], Iterator[tuple[np.ndarray, np.ndarray]]]:
    """``(feature names, iterator of validated (X, y) float64 chunks)`` of a CSV (``pandas.read_csv(chunksize)``)
    or Parquet (``pyarrow.parquet.ParquetFile.iter_batches``) file. The file is checked, and its columns
    resolved, before the iterator is returned."""
    chunk_rows = _check_chunk_rows(chunk_rows)
    p, kind = _check_file(path)
    chosen = _resolve_columns(p, kind, target, features)
    wanted = [*chosen, target]

    def frames() -> Iterator[pd.DataFrame]:
        if kind == "Parquet":
            import pyarrow.parquet as pq

            # one row group at a time: iter_batches over the whole file reads ahead and holds decoded row groups
            # (1.1 GB resident for 2M × 50 rows), per row group it stays bounded by the largest row group
            pf = pq.ParquetFile(p)
            for group in range(pf.num_row_groups):
                for batch in pf.iter_batches(batch_size=chunk_rows, columns=wanted, row_groups=[group],
                                             use_threads=False):
                    yield batch.to_pandas()
        else:
            from .data import _CSV_OPTIONS

            with pd.read_csv(p, chunksize=chunk_rows, usecols=wanted, **_CSV_OPTIONS) as reader:
                yield from reader

    def chunks():
        start = 0
        try:
            for frame in frames():
                stop = start + len(frame)
                if len(frame):
                    yield _frame_to_arrays(frame, chosen, target, f"{p} (rows {start + 1}–{stop})")
                start = stop
        except DataError:
            raise
        except PermissionError as exc:
            from .data import _unreadable

            raise _unreadable(str(p), exc) from exc
        except Exception as exc:  # noqa: BLE001 - a parser failure becomes a DataError at this boundary
            raise DataError(f"cannot parse {p} as {kind} (after row {start}): {type(exc).__name__}: {exc}; check "
                            f"that it is a valid {kind} file") from exc

    return chosen, chunks()


def _check_chunk_rows(chunk_rows) -> int:
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
        raise SpecError(f"chunk_rows must be a positive integer, got {chunk_rows!r}; pass e.g. --chunk-rows "
                        f"{DEFAULT_CHUNK_ROWS}")
    return int(chunk_rows)


class _RangeTracker:
    """Column minima and maxima over all chunks, for the constant-column warning."""

    def __init__(self) -> None:
        self.lo = self.hi = None

    def add(self, X: np.ndarray) -> None:
        lo, hi = X.min(axis=0), X.max(axis=0)
        self.lo = lo if self.lo is None else np.minimum(self.lo, lo)
        self.hi = hi if self.hi is None else np.maximum(self.hi, hi)

    def constant(self, names: Sequence[str]) -> list[str]:
        return [] if self.lo is None else [names[j] for j in np.flatnonzero(self.hi == self.lo)]


def _finish(stats: SufficientStats | None, constant: list[str], names, target: str, path) -> NamedStats:
    """Row-count check and constant-column warning at the end of a pass (messages of :mod:`bayesreg.data`)."""
    from .data import _check_rows, _quote

    _check_rows(0 if stats is None else stats.n, str(path))
    if constant:
        warnings.warn(f"constant feature column(s) in {path}: {_quote(constant)}; a constant column carries no "
                      "information about its weight, so its coefficient is determined by the prior alone (drop it "
                      "if that is not intended)", UserWarning, stacklevel=3)
    return NamedStats.named(stats, names, target, Path(path).name)


def _shift_of(path: Path, target: str, features: list[str]) -> tuple[np.ndarray, float]:
    """A fixed shift K (feature and target means of the first rows, at most :data:`SHIFT_ROWS`): every chunk is
    shifted by the same K before its statistics are formed, so that the chunk means that the merge subtracts are
    small and x − K is exact for values near K (Sterbenz); the means get K back at the end."""
    _, chunks = iter_chunks(path, target, features=features, chunk_rows=SHIFT_ROWS)
    for X, y in chunks:
        return X.mean(axis=0), float(y.mean())
    return np.zeros(len(features)), 0.0


def _shifted(stats: SufficientStats, shift: tuple[np.ndarray, float]) -> SufficientStats:
    """Statistics of shifted data moved back: the means get the shift, the centred sums are unchanged."""
    return SufficientStats(stats.n, stats.x_mean + shift[0], float(stats.y_mean + shift[1]), stats.sxx, stats.sxy,
                           stats.syy)


def chunked_stats(path: str | os.PathLike, target: str, *, features: Sequence[str] | None = None,
                  chunk_rows: int = DEFAULT_CHUNK_ROWS) -> NamedStats:
    """The sufficient statistics of a CSV or Parquet file in one chunked pass, in O(chunk_rows·d + d²) memory.

    Raises
    ------
    DataError
        As :func:`bayesreg.data.load_file`: missing/empty/unreadable file, missing or non-numeric column, NaN or
        inf (naming the chunk's rows), fewer than 2 rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(100.0, 1.0, size=(1000, 3)); y = X @ [1.0, 2.0, 3.0] + rng.normal(size=1000)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> pd.DataFrame(np.column_stack([X, y]), columns=["a", "b", "c", "y"]).to_csv(path, index=False)
    >>> st = chunked_stats(path, "y", chunk_rows=97)
    >>> ref = SufficientStats.from_arrays(X, y)
    >>> bool(np.allclose(st.sxx, ref.sxx, rtol=1e-12)), st.feature_names, st.n
    (True, ('a', 'b', 'c'), 1000)
    """
    names, chunks = iter_chunks(path, target, features=features, chunk_rows=chunk_rows)
    acc, ranges, shift = StatsAccumulator(), _RangeTracker(), None
    for X, y in chunks:
        if shift is None:
            shift = X[:SHIFT_ROWS].mean(axis=0), float(y[:SHIFT_ROWS].mean())
        acc.add(SufficientStats.from_arrays(X - shift[0], y - shift[1]))
        ranges.add(X)
    stats = acc.result()
    return _finish(None if stats is None else _shifted(stats, shift), ranges.constant(names), names, target, path)


# ------------------------------------------------------------------------------------------------------- Dask

def _partition_stats(frame: pd.DataFrame, features: list[str], target: str, source: str, shift):
    """One partition's statistics (of the data shifted by ``shift``) and column ranges (runs on a Dask worker)."""
    if len(frame) == 0:
        return None
    X, y = _frame_to_arrays(frame, features, target, source)
    return SufficientStats.from_arrays(X - shift[0], y - shift[1]), X.min(axis=0), X.max(axis=0)


def _merge_partials(a, b):
    """Merge two partition results (statistics, minima, maxima); None is the empty partition."""
    if a is None:
        return b
    if b is None:
        return a
    return merge(a[0], b[0]), np.minimum(a[1], b[1]), np.maximum(a[2], b[2])


def dask_stats(path: str | os.PathLike, target: str, *, features: Sequence[str] | None = None,
               scheduler: str | None = None, chunk_rows: int | None = None, client=None) -> NamedStats:
    """The sufficient statistics of a CSV or Parquet file formed by Dask: one set per partition on the workers,
    merged pairwise in a tree of ``dask.delayed`` tasks.

    Parameters
    ----------
    scheduler
        Address of a running ``dask.distributed`` scheduler (e.g. ``tcp://10.0.0.5:8786``); default Dask's local
        threaded scheduler.
    chunk_rows
        CSV: bytes per partition are chosen for about this many rows; Parquet partitions follow the row groups.
    client
        An existing ``distributed.Client`` (instead of ``scheduler``).
    """
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as exc:
        raise SpecError(f"--engine dask needs Dask ({exc}); install it with pip install 'bayesreg[dask]' or use "
                        "--engine chunks") from exc
    p, kind = _check_file(path)
    chosen = _resolve_columns(p, kind, target, features)
    wanted = [*chosen, target]
    source = str(p)
    if kind == "Parquet":
        ddf = dd.read_parquet(str(p), columns=wanted)
    else:
        from .data import _CSV_OPTIONS

        rows = _check_chunk_rows(chunk_rows or DEFAULT_CHUNK_ROWS)
        blocksize = max(1 << 20, rows * 20 * len(wanted))  # about 20 characters a value
        ddf = dd.read_csv(str(p), usecols=wanted, blocksize=blocksize, **_CSV_OPTIONS)
    shift = _shift_of(p, target, chosen)
    parts = [dask.delayed(_partition_stats)(part, chosen, target, f"{source} (partition {i})", shift)
             for i, part in enumerate(ddf.to_delayed())]
    while len(parts) > 1:  # pairwise tree: neighbours merged level by level
        parts = [dask.delayed(_merge_partials)(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    own_client = None
    try:
        if client is None and scheduler:
            try:
                from distributed import Client
            except ImportError as exc:
                raise SpecError(f"--scheduler needs dask.distributed ({exc}); install it with pip install "
                                "'bayesreg[dask]'") from exc
            try:
                own_client = client = Client(scheduler, timeout=10, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise SpecError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); start one with "
                                "`dask scheduler` or leave out --scheduler to run locally") from exc
        if client is not None:
            result = client.compute(parts[0]).result() if parts else None
        else:
            (result,) = dask.compute(parts[0], scheduler="threads") if parts else (None,)
    except (DataError, SpecError):
        raise
    except Exception as exc:  # noqa: BLE001 - a reader failure on a worker becomes a DataError here
        raise DataError(f"cannot read {p} with Dask: {type(exc).__name__}: {exc}; check that it is a valid "
                        f"{kind} file") from exc
    finally:
        if own_client is not None:
            own_client.close()
    stats, lo, hi = (None, None, None) if result is None else result
    stats = None if stats is None else _shifted(stats, shift)
    constant = [] if lo is None else [chosen[j] for j in np.flatnonzero(hi == lo)]
    return _finish(stats, constant, chosen, target, path)


# ---------------------------------------------------------------------------------------------------- dispatch

def stats_from_source(source: str, target: str | None, engine: str, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                      scheduler: str | None = None, features: Sequence[str] | None = None) -> NamedStats:
    """The statistics of a built-in data set (``d2l``, ``diabetes``: loaded, they are small) or of a file, by
    ``engine`` ``"chunks"`` or ``"dask"`` (``features``: these columns, in this order; default all but the
    target)."""
    from .data import BUILTIN_DATASETS, load_dataset

    if engine not in ("chunks", "dask"):
        raise SpecError(f"unknown streaming engine {engine!r}: choose chunks or dask")
    if source in BUILTIN_DATASETS or target is None:
        data = load_dataset(source, target)  # raises the usual errors (no --target, --target for a built-in)
        return NamedStats.named(SufficientStats.of(data), data.feature_names, data.target_name, data.name)
    if engine == "dask":
        return dask_stats(source, target, features=features, scheduler=scheduler, chunk_rows=chunk_rows)
    return chunked_stats(source, target, features=features, chunk_rows=chunk_rows)


def estimated_table_bytes(source: str) -> int | None:
    """Bytes the whole table of file ``source`` would take in memory at the peak of loading it (rows × columns ×
    :data:`_BYTES_PER_VALUE_LOADED`), from the Parquet metadata or, for CSV, from the file size and the first
    rows' length; None for a built-in data set or a file that cannot be inspected (its loader says why)."""
    from .data import BUILTIN_DATASETS

    if source in BUILTIN_DATASETS:
        return None
    try:
        p, kind = _check_file(source)
        if kind == "Parquet":
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(p).metadata
            return int(meta.num_rows) * int(meta.num_columns) * _BYTES_PER_VALUE_LOADED
        if p.name.lower().endswith(".gz"):
            return None  # compressed: its size says little; loaded in memory unless --engine chunks
        with open(p, "rb") as f:
            head = f.read(1 << 20)
        lines = head.count(b"\n")
        if lines < 2:
            return None
        columns = head.split(b"\n", 1)[0].count(b",") + 1
        rows = p.stat().st_size * (lines - 1) / len(head)
        return int(rows * columns * _BYTES_PER_VALUE_LOADED)
    except Exception:  # noqa: BLE001 - unreadable or not what it says: the loader gives the one-line reason
        return None


def choose_engine(source: str, engine: str, *, rows_needed: bool, available: int | None = None) -> tuple[str, str]:
    """``(engine, note)``: ``auto`` becomes ``memory``, or ``chunks`` for a file whose table would take more
    than :data:`AUTO_MEMORY_SHARE` of the available memory when the work needs only the sufficient statistics
    (``rows_needed`` False). The note says what was chosen and why ("" when nothing needs saying)."""
    if engine != "auto":
        return engine, ""
    size = estimated_table_bytes(source)
    if size is None:
        return "memory", ""
    from .resources import _size, available_memory

    have = available_memory() if available is None else available
    if size <= AUTO_MEMORY_SHARE * have:
        return "memory", ""
    if rows_needed:
        return "memory", (f"{source} would take about {_size(size)} in memory ({_size(have)} available) but this "
                          "method trains on the rows, so it is loaded whole; a method that needs only the "
                          "sufficient statistics (exact, gibbs, nuts, map) would stream it")
    return "chunks", (f"{source} would take about {_size(size)} in memory ({_size(have)} available): streamed in "
                      "chunks (--engine chunks), keeping only the sufficient statistics")


# ------------------------------------------------------------------------------------------- MAP from statistics

#: The MAP methods of :func:`bayesreg.compare.compare_map` that need only the statistics (Pyro MAP: flat bias).
STATS_METHODS = ("closed_form", "coordinate_descent", "penalised_minimiser", "pyro_map")


def pseudo_rows(stats: SufficientStats) -> tuple[np.ndarray, np.ndarray]:
    """d + 2 rows with exactly the means and centred cross-products of ``stats`` (not its n).

    With M = [[S_xx, S_xy], [S_xyᵀ, S_yy]] = RᵀR and Q (d+2) × (d+1) orthonormal columns orthogonal to the ones
    vector, the rows Q R have mean 0 and cross-product M; the means are added back. Under a flat bias the MAP of
    (w, b) depends on the data only through these, so a solver that needs rows (Pyro MAP) gets the same answer.
    """
    d = stats.d
    M = np.empty((d + 1, d + 1))
    M[:d, :d], M[:d, d], M[d, :d], M[d, d] = stats.sxx, stats.sxy, stats.sxy, stats.syy
    vals, vecs = np.linalg.eigh(0.5 * (M + M.T))
    R = (vecs * np.sqrt(np.clip(vals, 0.0, None))).T
    A = np.eye(d + 2, d + 2)
    A[:, 0] = 1.0
    Q = np.linalg.qr(A)[0][:, 1:]
    Z = Q @ R
    return Z[:, :d] + stats.x_mean, Z[:, d] + stats.y_mean


def compare_stats(stats: SufficientStats, prior, sigma: float, bias="flat", *, methods=None, name: str = "stats",
                  feature_names=None):
    """:func:`bayesreg.compare.compare_map` from sufficient statistics: the exact reference (closed form or
    coordinate descent) and Pyro MAP (flat bias only, on :func:`pseudo_rows`). The PyTorch optimisers need the
    rows, and are refused (:class:`~bayesreg.errors.SpecError`)."""
    import dataclasses
    import time

    from .compare import MapComparison, _problem, _reference, methods_for
    from .priors import parse_bias

    bias = parse_bias(bias)
    available = methods_for(prior)
    reference = available[0]
    problem = _problem(prior, sigma, bias, reference)
    wanted = tuple(methods) if methods is not None else tuple(m for m in available if m in STATS_METHODS)
    unknown = [m for m in wanted if m not in available]
    if unknown:
        raise SpecError(f"unknown method(s) {', '.join(unknown)} for the {prior.name} prior: choose from "
                        f"{', '.join(available)}")
    rows = [m for m in wanted if m not in STATS_METHODS]
    if rows:
        usable = ",".join(m for m in available if m in STATS_METHODS)
        raise SpecError(f"{', '.join(rows)} need the data rows, which a streaming engine does not keep; use "
                        f"--engine memory for them, or --methods {usable}")
    if "pyro_map" in wanted and bias.kind != "flat":
        raise SpecError(f"pyro_map from sufficient statistics needs the flat bias (got --bias {bias}); use --engine "
                        "memory, or leave pyro_map out of --methods")
    plain = stats.plain() if isinstance(stats, NamedStats) else stats
    results = {reference: _reference(reference, plain, None, prior, sigma, bias, problem)}
    if "pyro_map" in wanted:
        from .solvers.pyro_map import pyro_map

        began = time.perf_counter()
        X, y = pseudo_rows(plain)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = pyro_map(X, y, prior, sigma, bias)
        results["pyro_map"] = dataclasses.replace(res, seconds=time.perf_counter() - began)
    names = tuple(feature_names) if feature_names is not None else tuple(
        getattr(stats, "feature_names", ()) or (f"x{j}" for j in range(stats.d)))
    return MapComparison(name, prior, sigma, bias, problem, names, stats.n, reference, results)


# ------------------------------------------------------------------------- rows streamed (the logistic likelihood)

@dataclass
class RowStream:
    """A file whose rows are read again on every pass, in blocks: for a likelihood without sufficient statistics
    (the logistic), whose Newton MAP and Laplace approximation need one pass over the rows per iteration
    (Σ logloss, Zᵀ(p − y), ZᵀWZ: :func:`bayesreg.solvers.logistic.pass_evaluator`). Memory is one block plus
    O(d²) whatever the file's size.

    ``engine`` ``"chunks"`` reads the blocks with pandas/pyarrow (:func:`iter_chunks`); ``"dask"`` computes each
    partition's sums on the Dask workers and adds them (:meth:`evaluator`). The first pass (at construction)
    validates every block, counts the rows and checks that the target is coded 0/1 with both classes present.
    """

    path: str
    target: str
    engine: str = "chunks"
    features: Sequence[str] | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    scheduler: str | None = None
    n: int = field(init=False, default=0)
    feature_names: tuple = field(init=False, default=())
    name: str = field(init=False, default="")
    target_name: str = field(init=False, default="")

    def __post_init__(self):
        names, _ = iter_chunks(self.path, self.target, features=self.features, chunk_rows=self.chunk_rows)
        self.feature_names = tuple(names)
        self.name = Path(self.path).name
        self.target_name = self.target
        counts = np.zeros(2, dtype=np.int64)
        for _, y in self.blocks():
            counts += np.bincount(y.astype(np.int64), minlength=2)[:2]
        self.n = int(counts.sum())
        from .data import _check_rows

        _check_rows(self.n, str(self.path))
        if counts.min() == 0:
            raise DataError(f"the target {self.target!r} of {self.path} is constant ({int(np.argmax(counts))} in every "
                            "row): a classifier needs both classes")

    @property
    def d(self) -> int:
        return len(self.feature_names)

    def blocks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One pass: validated ``(X, y)`` float64 blocks, y checked to be 0/1."""
        _, chunks = iter_chunks(self.path, self.target, features=self.features, chunk_rows=self.chunk_rows)
        for X, y in chunks:
            if not np.isin(y, (0.0, 1.0)).all():
                bad = y[~np.isin(y, (0.0, 1.0))][0]
                raise DataError(f"the target {self.target!r} of {self.path} holds {bad:g}: streamed, a classifier's "
                                "target must be coded 0/1 (recode it, or read the file with --engine memory, which "
                                "takes any two labels)")
            yield X, y

    def evaluator(self, problem):
        """``evaluate(θ) -> (J_smooth, ∇, ∇²)`` over every row: block by block (chunks), or partition sums formed on
        the Dask workers and added (dask)."""
        from .solvers.logistic import pass_evaluator

        if self.engine != "dask":
            return pass_evaluator(self.blocks, self.d, problem)
        return _dask_evaluator(self, problem)


def _dask_partition_sums(frame: pd.DataFrame, features: list[str], target: str, source: str, theta, problem):
    from .solvers.logistic import pass_evaluator

    X, y = _frame_to_arrays(frame, features, target, source)
    if len(y) == 0:
        return None
    if not np.isin(y, (0.0, 1.0)).all():
        raise DataError(f"the target {target!r} of {source} is not coded 0/1: recode it, or use --engine memory")
    zero = type(problem)(l2=0.0, bias=problem.bias if problem.bias != "penalized" else "flat")
    return pass_evaluator(lambda: iter(((X, y),)), X.shape[1], zero)(theta)


def _dask_evaluator(stream: RowStream, problem):
    import dask
    import dask.dataframe as dd

    p, kind = _check_file(stream.path)
    chosen = list(stream.feature_names)
    wanted = [*chosen, stream.target]
    if kind == "Parquet":
        ddf = dd.read_parquet(str(p), columns=wanted)
    else:
        from .data import _CSV_OPTIONS

        ddf = dd.read_csv(str(p), usecols=wanted, blocksize=max(1 << 20, stream.chunk_rows * 20 * len(wanted)),
                          **_CSV_OPTIONS)
    d = len(chosen)
    size = d + problem.has_bias
    reg = np.zeros(size)
    reg[:d] = problem.l2
    if problem.bias == "penalized":
        reg[d] = problem.bias_l2

    def evaluate(theta):
        parts = [dask.delayed(_dask_partition_sums)(part, chosen, stream.target, f"{p} (partition {i})", theta,
                                                    problem) for i, part in enumerate(ddf.to_delayed())]
        if stream.scheduler:
            from distributed import Client

            with Client(stream.scheduler, timeout=10, set_as_default=False) as client:
                results = client.compute(parts, sync=True)
        else:
            results = dask.compute(*parts, scheduler="threads")
        results = [r for r in results if r is not None]
        value = sum(r[0] for r in results) + 0.5 * float(reg @ (theta * theta))
        grad = sum(r[1] for r in results) + reg * theta
        H = sum(r[2] for r in results)
        H[np.diag_indices(size)] += reg
        return value, grad, H

    return evaluate
