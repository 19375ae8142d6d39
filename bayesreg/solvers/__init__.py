"""MAP estimation: the canonical penalised least-squares objective and the solvers that minimise it."""

from .objective import ConvergenceWarning, MapResult, PenalizedLeastSquares

__all__ = ["ConvergenceWarning", "MapResult", "PenalizedLeastSquares"]
