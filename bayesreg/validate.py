"""Checks on user-given numbers, in one place: each returns the cleaned value or raises a one-line
:class:`~bayesreg.errors.SpecError` that names the argument and what it must be.

* :func:`positive`: a finite float > 0 (a scale, a λ, a learning rate);
* :func:`finite`: a finite float (a λ that may be 0, a coefficient);
* :func:`count`: an integer ≥ a minimum (a dimension, a number of draws), booleans refused;
* :func:`finite_array`: a float64 copy of an array with no NaN or inf.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import SpecError

__all__ = ["positive", "finite", "count", "finite_array"]


def positive(x, name: str) -> float:
    """``x`` as a finite float > 0, or a :class:`SpecError` that names it."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        raise SpecError(f"{name} must be a positive number, got {x!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise SpecError(f"{name} must be a positive finite number, got {value}")
    return value


def finite(x, name: str) -> float:
    """``x`` as a finite float, or a :class:`SpecError` that names it."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        raise SpecError(f"{name} must be a number, got {x!r}") from None
    if not math.isfinite(value):
        raise SpecError(f"{name} must be finite, got {value}")
    return value


def count(value, name: str, minimum: int = 1, *, what: str | None = None) -> int:
    """``value`` as an int ≥ ``minimum`` (``bool`` refused), or a :class:`SpecError` that names it and says
    what it must be (``what``, default "an integer ≥ minimum")."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise SpecError(f"{name} must be {what or f'an integer ≥ {minimum}'}, got {value!r}")
    return int(value)


def finite_array(a, name: str) -> np.ndarray:
    """A float64 copy of ``a`` (the caller's array is never touched), refused if non-numeric, NaN or inf."""
    try:
        arr = np.array(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{name} must be numeric, got {type(a).__name__} ({exc})") from None
    if not np.all(np.isfinite(arr)):
        raise SpecError(f"{name} holds NaN or inf; drop or impute those values first")
    return arr
