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
from ..prior_base import Prior
from ..priors import Bias, parse_bias
from ..suffstats import SufficientStats
from ..validate import positive

__all__ = ["PenalizedLeastSquares", "ReducedQuadratic", "optimal_bias", "MapResult", "ConvergenceWarning"]


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
    def from_prior(cls, prior: Prior, sigma: float, bias: str | Bias = "flat") -> PenalizedLeastSquares:
        """The objective whose minimiser is the MAP under ``prior`` with noise sd ``sigma``.

        L2: λ₂ = σ²/τ²; L1: λ₁ = σ²/s; both for an elastic net (any prior with an ``elementwise_penalty``);
        bias ``normal:S``: λ_b = σ²/S².
        """
        sigma = positive(sigma, "sigma (the noise standard deviation)")
        bias = parse_bias(bias)
        bias_args = {"bias": bias.kind, "bias_l2": 0.0}
        if bias.kind == "normal":
            bias_args = {"bias": "penalized", "bias_l2": sigma**2 / bias.scale**2}
        elementwise = prior.conditional(sigma=sigma).elementwise_penalty(sigma)
        if elementwise is None:
            raise SpecError(f"the {prior.name} prior is not an L1/L2 penalty; its MAP is "
                            "bayesreg.solvers.derived_map.derived_map")
        return cls(l1=elementwise[0], l2=elementwise[1], **bias_args)

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


def optimal_bias(problem: PenalizedLeastSquares, n: int, x_mean, y_mean: float, w) -> float | None:
    """The b minimising J(w, ·) for fixed w: n(ȳ − x̄ᵀw)/(n + λ_b); None when ``problem.bias`` is none."""
    if not problem.has_bias:
        return None
    return float(n * (y_mean - np.asarray(x_mean) @ w) / (n + problem.bias_l2))


@dataclass(frozen=True)
class ReducedQuadratic:
    r"""The objective with b minimised out: a quadratic in w alone, for any bias treatment.

    For fixed w the best b is :math:`b^*(w) = n(\bar y - \bar x^\top w)/(n + \lambda_b)`; substituting it gives

    .. math::

        \min_b J(w, b) = \tfrac12 w^\top G w - q^\top w + \tfrac12 y_{yy}
                          + \lambda_1\|w\|_1 + \tfrac{\lambda_2}{2}\|w\|^2,

    with :math:`G = S_{xx} + \eta\,\bar x\bar x^\top`, :math:`q = S_{xy} + \eta\,\bar x\bar y`,
    :math:`y_{yy} = S_{yy} + \eta\,\bar y^2` and :math:`\eta = n\lambda_b/(n + \lambda_b)`: η = 0 for a flat
    (unpenalised) bias, η = n for no bias (raw cross-products), in between for a penalised bias.
    """

    G: np.ndarray
    q: np.ndarray
    yy: float
    stats: SufficientStats
    problem: PenalizedLeastSquares

    @classmethod
    def build(cls, stats: SufficientStats, problem: PenalizedLeastSquares) -> ReducedQuadratic:
        # a NaN or inf anywhere in X or y reaches the statistics: checking them (O(d²)) checks the data (O(nd))
        if not (np.isfinite(stats.sxx).all() and np.isfinite(stats.sxy).all() and np.isfinite(stats.syy)
                and np.isfinite(stats.x_mean).all() and np.isfinite(stats.y_mean)):
            raise SpecError("X or y contain NaN or inf (or values so large that their squares overflow): remove or "
                            "impute them, or rescale the columns")
        n = stats.n
        eta = {"flat": 0.0, "none": float(n)}.get(problem.bias)
        if eta is None:
            eta = n * problem.bias_l2 / (n + problem.bias_l2)
        xm, ym = stats.x_mean, stats.y_mean
        return cls(stats.sxx + eta * np.outer(xm, xm), stats.sxy + eta * xm * ym, stats.syy + eta * ym * ym,
                   stats, problem)

    def bias_for(self, w: np.ndarray) -> float | None:
        """b*(w), or None without a bias."""
        return optimal_bias(self.problem, self.stats.n, self.stats.x_mean, self.stats.y_mean, w)

    def value(self, w: np.ndarray) -> float:
        """min_b J(w, b)."""
        p = self.problem
        return float(0.5 * w @ self.G @ w - self.q @ w + 0.5 * self.yy + p.l1 * np.abs(w).sum() + 0.5 * p.l2 * w @ w)


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
