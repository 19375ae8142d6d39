r"""The canonical penalised least-squares objective every MAP solver minimises, and their shared result type.

.. math::

    J(w, b) = \tfrac12 \sum_i (y_i - x_i^\top w - b)^2 + \lambda_1 \|w\|_1 + \tfrac{\lambda_2}{2}\|w\|_2^2
              + \tfrac{\lambda_b}{2} b^2,

which is σ² times the negative log posterior under ``w ~ Laplace(σ²/λ₁)`` (λ₂ = 0), ``w ~ N(0, σ²/λ₂)``
(λ₁ = 0), or their product (elastic net); ``bias="flat"`` leaves b unpenalised (flat prior), ``"penalized"``
adds (λ_b/2)b² (b ~ N(0, σ²/λ_b)), ``"none"`` fixes b = 0. Other libraries' objectives are this one times a
constant: see :mod:`bayesreg.conventions`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import SpecError
from ..priors import Bias, Gaussian, Laplace, parse_bias, positive

__all__ = ["PenalizedLeastSquares", "MapResult", "ConvergenceWarning"]


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at its iteration budget before meeting its convergence criterion."""


@dataclass(frozen=True)
class PenalizedLeastSquares:
    """The canonical objective's parameters: λ₁ (L1), λ₂ (L2), how the bias is treated, and λ_b."""

    l1: float = 0.0
    l2: float = 0.0
    bias: str = "flat"
    bias_l2: float = 0.0

    def __post_init__(self):
        for name in ("l1", "l2", "bias_l2"):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value >= 0):
                raise SpecError(f"{name} must be a finite number ≥ 0, got {value}")
            object.__setattr__(self, name, value)
        if self.bias not in ("none", "flat", "penalized"):
            raise SpecError(f"bias must be none, flat or penalized, got {self.bias!r}")
        if (self.bias == "penalized") != (self.bias_l2 > 0):
            raise SpecError("bias='penalized' needs bias_l2 > 0, and bias_l2 > 0 needs bias='penalized'")

    @classmethod
    def from_prior(cls, prior: Gaussian | Laplace, sigma: float, bias: str | Bias = "flat") -> PenalizedLeastSquares:
        """The objective whose minimiser is the MAP under ``prior`` with noise sd ``sigma``.

        L2: λ₂ = σ²/τ²; L1: λ₁ = σ²/s; bias ``normal:S``: λ_b = σ²/S².
        """
        sigma = positive(sigma, "sigma (the noise standard deviation)")
        bias = parse_bias(bias)
        bias_args = {"bias": bias.kind, "bias_l2": 0.0}
        if bias.kind == "normal":
            bias_args = {"bias": "penalized", "bias_l2": sigma**2 / bias.scale**2}
        if isinstance(prior, Gaussian):
            return cls(l2=prior.canonical_lam(sigma), **bias_args)
        if isinstance(prior, Laplace):
            return cls(l1=prior.canonical_lam(sigma), **bias_args)
        raise SpecError(f"a MAP objective needs a Gaussian or Laplace prior, got {type(prior).__name__}")

    @property
    def has_bias(self) -> bool:
        return self.bias != "none"

    @property
    def kind(self) -> str:
        """``"ridge"``, ``"lasso"``, ``"elastic-net"`` or ``"least-squares"``."""
        if self.l1 > 0:
            return "elastic-net" if self.l2 > 0 else "lasso"
        return "ridge" if self.l2 > 0 else "least-squares"

    def value(self, w, b, X, y) -> float:
        """J(w, b) on data (X, y); ``b`` is ignored (taken as 0) when ``bias="none"``."""
        w = np.asarray(w, dtype=np.float64)
        b = float(b) if self.has_bias and b is not None else 0.0
        r = np.asarray(y, dtype=np.float64) - np.asarray(X, dtype=np.float64) @ w - b
        return float(0.5 * r @ r + self.l1 * np.abs(w).sum() + 0.5 * self.l2 * w @ w + 0.5 * self.bias_l2 * b * b)


@dataclass(frozen=True)
class MapResult:
    """What every MAP solver returns.

    ``iterations`` counts the solver's own unit (coordinate-descent sweeps, optimiser steps, epochs: see
    ``info["iteration_unit"]``); ``trace`` holds a per-iteration convergence measure where the solver keeps one.
    """

    method: str
    w: np.ndarray
    b: float | None
    converged: bool
    iterations: int
    seconds: float
    trace: np.ndarray | None = None
    info: dict = field(default_factory=dict)
