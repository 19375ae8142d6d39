r"""Sufficient statistics of the Gaussian linear model.

The likelihood of ``y ~ N(Xw + b, σ²I)`` depends on the data only through n, the column means x̄ and ȳ and the
*centred* cross-products

.. math::

    S_{xx} = \sum_i (x_i - \bar x)(x_i - \bar x)^\top,\quad
    S_{xy} = \sum_i (x_i - \bar x)(y_i - \bar y),\quad
    S_{yy} = \sum_i (y_i - \bar y)^2,

because :math:`\sum_i (y_i - b - x_i^\top w)^2 = S_{yy} - 2w^\top S_{xy} + w^\top S_{xx} w + n(\bar y - c)^2` with
:math:`c = b + \bar x^\top w`. Centred sums are kept (not raw XᵀX) because they do not lose digits when the
columns have large means; the raw ones are derived on demand.

:meth:`SufficientStats.from_arrays` reads the rows once, in blocks that fit in cache: each block is shifted by a
fixed point K (the means of a few thousand rows spread over the data) into a small buffer, its Gram matrix is
accumulated by BLAS ``syrk`` (half the work of a general product; one thread per core shares the blocks of a large
array), and the centred sums come out at the end as

.. math:: S_{xx} = \sum_i (x_i - K)(x_i - K)^\top - n\,m m^\top, \qquad m = \bar x - K.

Because K is within a fraction of a standard deviation of x̄, the subtraction cancels almost nothing (unlike
XᵀX − n x̄x̄ᵀ when the columns have large means), and x_i − K is exact for values near K (Sterbenz): the result is
as accurate as centring all of X at its mean, without copying X. :meth:`SufficientStats.of` caches the
statistics of a :class:`~bayesreg.data.Dataset` (whose arrays are read-only), so that the MAP start, the samplers
and the solvers share one pass over the data.

Reference: T. F. Chan, G. H. Golub & R. J. LeVeque (1983), *Algorithms for computing the sample variance:
analysis and recommendations*, The American Statistician 37(3), 242–247 (shifted data).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

__all__ = ["SufficientStats"]

#: Rows per block in :meth:`SufficientStats.from_arrays` are chosen so that a block holds about this many values.
BLOCK_VALUES = 1 << 18
#: :meth:`SufficientStats.from_arrays` shifts the data by the means of about this many rows spread over all of them.
SHIFT_ROWS = 4096
#: From this many values (n·d) on, the blocks are shared among one thread per available core.
PARALLEL_VALUES = 1 << 24

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class SufficientStats:
    """n, x̄ (d,), ȳ, S_xx (d, d), S_xy (d,), S_yy of a regression data set, float64."""

    n: int
    x_mean: np.ndarray
    y_mean: float
    sxx: np.ndarray
    sxy: np.ndarray
    syy: float

    @classmethod
    def from_arrays(cls, X, y) -> SufficientStats:
        """The statistics of in-memory arrays in one blocked pass (module docstring), O(nd²), no copy of X.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> X, y = rng.normal(5.0, 1.0, size=(1000, 3)), rng.normal(size=1000)
        >>> st = SufficientStats.from_arrays(X, y)
        >>> Xc = X - X.mean(0)
        >>> bool(np.allclose(st.sxx, Xc.T @ Xc, rtol=1e-12)), bool(np.allclose(st.sxy, Xc.T @ (y - y.mean())))
        (True, True)
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
            raise ValueError(f"X must be (n, d) and y (n,) with n ≥ 1, got {X.shape} and {y.shape}")
        n, d = X.shape
        if not X.flags.c_contiguous:
            X = np.ascontiguousarray(X)
        rows = max(64, BLOCK_VALUES // max(d, 1))
        if d == 0 or n <= rows:
            return cls._from_block(X, y)
        # the shift: the means of SHIFT_ROWS rows spread over the whole array (a strided view, no copy)
        step = max(1, n // SHIFT_ROWS)
        with np.errstate(invalid="ignore", over="ignore"):
            shift_x = X[::step].mean(axis=0)
            shift_y = float(y[::step].mean())
        starts = list(range(0, n, rows))
        workers = min(_workers(), len(starts)) if n * d >= PARALLEL_VALUES else 1
        if workers > 1:
            parts = _parallel_blocks(X, y, shift_x, shift_y, starts, rows, workers)
        else:
            parts = [_shifted_sums(X, y, shift_x, shift_y, starts, rows)]
        gram = sum(p[0] for p in parts)
        sum_x = sum(p[1] for p in parts)
        sum_xy = sum(p[2] for p in parts)
        sum_y = sum(p[3] for p in parts)
        sum_yy = sum(p[4] for p in parts)
        with np.errstate(invalid="ignore", over="ignore"):  # inf in the data gives NaN here; callers check
            mx, my = sum_x / n, sum_y / n
            gram = 0.5 * (gram + gram.T)
            sxx = gram - n * np.outer(mx, mx)
            sxy = sum_xy - n * mx * my
            syy = sum_yy - n * my * my
            syy = max(syy, 0.0) if syy == syy else syy
        return cls(n, shift_x + mx, shift_y + my, np.ascontiguousarray(sxx), sxy, syy)

    @classmethod
    def _from_block(cls, X: np.ndarray, y: np.ndarray) -> SufficientStats:
        """Two-pass computation (means first, then centred products) for data that fit in one block."""
        with np.errstate(invalid="ignore", over="ignore"):  # NaN or inf in the data: the caller's check reports it
            x_mean = X.mean(axis=0)
            y_mean = float(y.mean())
            Xc = X - x_mean
            yc = y - y_mean
            return cls(len(y), x_mean, y_mean, Xc.T @ Xc, Xc.T @ yc, float(yc @ yc))

    @classmethod
    def of(cls, data) -> SufficientStats:
        """The statistics of a :class:`~bayesreg.data.Dataset`, computed once per data set and cached (its arrays
        are read-only); a :class:`SufficientStats` is returned as it is."""
        if isinstance(data, SufficientStats):
            return data
        try:
            return _CACHE[data]
        except (KeyError, TypeError):
            pass
        stats = cls.from_arrays(data.X, data.y)
        if not (getattr(data.X, "flags", None) is not None and not data.X.flags.writeable):
            return stats  # writable arrays may change under a cache: do not keep one
        try:
            _CACHE[data] = stats
        except TypeError:
            pass
        return stats

    @property
    def d(self) -> int:
        return self.x_mean.shape[0]

    @property
    def xtx(self) -> np.ndarray:
        """Raw XᵀX = S_xx + n x̄x̄ᵀ."""
        return self.sxx + self.n * np.outer(self.x_mean, self.x_mean)

    @property
    def xty(self) -> np.ndarray:
        """Raw Xᵀy = S_xy + n x̄ ȳ."""
        return self.sxy + self.n * self.x_mean * self.y_mean

    @property
    def yty(self) -> float:
        """Raw yᵀy = S_yy + n ȳ²."""
        return self.syy + self.n * self.y_mean**2


def _shifted_sums(X, y, shift_x, shift_y, starts, rows):
    """Σ(x − K)(x − K)ᵀ, Σ(x − K), Σ(x − K)(y − L), Σ(y − L), Σ(y − L)² over the blocks that begin at ``starts``.

    Each block is shifted into a small buffer (it stays in cache) and its Gram matrix comes from ``Xs.T @ Xs``,
    which NumPy hands to BLAS ``syrk`` (half the work of a general product)."""
    with np.errstate(invalid="ignore", over="ignore"):  # NaN or inf in the data: the caller's check reports it
        return _shifted_sums_quiet(X, y, shift_x, shift_y, starts, rows)


def _shifted_sums_quiet(X, y, shift_x, shift_y, starts, rows):
    d = X.shape[1]
    gram = np.zeros((d, d))
    sum_x, sum_xy = np.zeros(d), np.zeros(d)
    sum_y = sum_yy = 0.0
    buffer = np.empty((rows, d))
    ones = np.ones(rows)
    for start in starts:
        Xb, yb = X[start:start + rows], y[start:start + rows]
        m = len(yb)
        Xs = np.subtract(Xb, shift_x, out=buffer[:m])
        ys = yb - shift_y
        gram += Xs.T @ Xs
        sum_x += ones[:m] @ Xs
        sum_xy += ys @ Xs
        sum_y += float(ys.sum())
        sum_yy += float(ys @ ys)
    return gram, sum_x, sum_xy, sum_y, sum_yy


def _workers() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _parallel_blocks(X, y, shift_x, shift_y, starts, rows, workers):
    """The blocks split into ``workers`` contiguous runs, one thread each (NumPy releases the GIL in BLAS), with
    BLAS held to one thread per call so that the threads do not oversubscribe the cores. Without threadpoolctl
    (a scikit-learn dependency) it runs in one thread."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return [_shifted_sums(X, y, shift_x, shift_y, starts, rows)]
    from concurrent.futures import ThreadPoolExecutor

    chunks = [list(c) for c in np.array_split(np.asarray(starts), workers) if len(c)]
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        futures = [pool.submit(_shifted_sums, X, y, shift_x, shift_y, [int(s) for s in c], rows) for c in chunks]
        return [f.result() for f in futures]


def resolve_data(data, y=None, feature_names=None):
    """What the posterior functions accept, made uniform: a :class:`~bayesreg.data.Dataset`, a
    :class:`SufficientStats`, or raw ``X`` with ``y`` (validated like a file by :func:`bayesreg.data.from_arrays`).

    Returns ``(Dataset or SufficientStats, feature names)``; raises :class:`~bayesreg.errors.SpecError` when the
    names do not match the columns.
    """
    from .data import Dataset, from_arrays
    from .errors import SpecError

    if isinstance(data, SufficientStats):
        names = tuple(feature_names) if feature_names is not None else tuple(f"x{j}" for j in range(data.d))
        d = data.d
    else:
        if not isinstance(data, Dataset):
            if y is None:
                raise SpecError("pass a Dataset, SufficientStats, or X together with y")
            data = from_arrays(data, y, feature_names=feature_names)
        names = data.feature_names if feature_names is None else tuple(feature_names)
        d = data.d
    if len(names) != d:
        raise SpecError(f"feature_names has {len(names)} names for {d} columns")
    return data, names
