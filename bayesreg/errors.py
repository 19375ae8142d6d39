"""Exceptions raised at bayesreg's boundary.

Every message names the offending value and the fix, so the CLI can print it as one line and exit with
status 2. All of them derive from :class:`BayesregError`, and from :class:`ValueError` where the input's value
(not its type) is at fault, so ``except ValueError`` in user code keeps working.
"""

from __future__ import annotations

__all__ = [
    "BayesregError",
    "DataError",
    "ConventionError",
    "NoPriorError",
    "ImproperPriorError",
    "SpecError",
]


class BayesregError(Exception):
    """Base class of every error bayesreg raises on purpose."""


class DataError(BayesregError, ValueError):
    """The data cannot be used: missing file or column, non-numeric values, NaN/inf, too few rows."""


class ConventionError(BayesregError, ValueError):
    """An unknown loss convention, or a penalty the convention cannot express (e.g. L1 in ``Ridge``)."""


class SpecError(BayesregError, ValueError):
    """A malformed option: a prior, bias or noise specification that does not parse, a non-positive scale."""


class NoPriorError(BayesregError, ValueError):
    """The penalty implies no probability distribution: ``exp(-penalty)`` cannot be normalised."""


class ImproperPriorError(NoPriorError):
    """λ = 0: the penalty is constant, the implied "prior" is the improper flat density."""
