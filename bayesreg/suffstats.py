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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SufficientStats"]


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
        """Two-pass computation (means first, then centred products) from in-memory arrays."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        x_mean = X.mean(axis=0)
        y_mean = float(y.mean())
        Xc = X - x_mean
        yc = y - y_mean
        return cls(len(y), x_mean, y_mean, Xc.T @ Xc, Xc.T @ yc, float(yc @ yc))

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
