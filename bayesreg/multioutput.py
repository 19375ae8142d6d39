r"""Matrix weights: multi-output regression ``Y = XW + 1bᵀ + E`` with W ∈ R^{d×k}.

The rows of E are i.i.d. ``N(0, σ²I_k)`` (one noise sd shared by the k outputs). The Frobenius penalty is the
matrix form of weight decay, and it implies the i.i.d. Gaussian prior on W's entries, the matrix normal with
identity covariances:

.. math::

    \tfrac12\|Y - XW - \mathbf 1 b^\top\|_F^2 + \tfrac{\lambda}{2}\|W\|_F^2
    \;=\; \sigma^2\big[-\log p(Y \mid W, b) - \log p(W)\big] + \text{const},
    \qquad W \sim \mathcal{MN}(0,\ \tau^2 I_d,\ I_k),\ \ \tau = \sigma/\sqrt\lambda.

Both the likelihood and the prior factorise over the columns of (W; bᵀ), so the posterior does too: column j
has the single-output Gaussian posterior of ``y_j`` (:func:`~bayesreg.infer.conjugate.gaussian_posterior`), all
columns share one covariance Σ, and vec(W) has covariance ``I_k ⊗ Σ`` (W | Y is matrix normal
``MN(M, Σ, I_k)``). The MAP is the posterior mean, scikit-learn's ``Ridge(alpha=λ)`` fitted to the 2-D Y
(``Σ_ij r_ij² + α‖W‖_F²``, i.e. α = λ canonical). The log evidence is the sum over columns.

Conventions: λ converts as for the L2 penalty (:mod:`bayesreg.conventions`), with one caution: a *mean* loss
over a matrix of residuals, such as ``nn.MSELoss()`` on an (n, k) output, averages over all n·k entries, so
pass ``n = n·k`` to a mean-loss convention for it (scikit-learn's ``Ridge`` sums, and needs no n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .conventions import CANONICAL, Convention
from .errors import SpecError
from .infer.conjugate import GaussianPosterior, gaussian_posterior
from .priors import Bias, Gaussian, parse_bias, positive, prior_from_penalty

__all__ = ["MatrixNormalPrior", "frobenius_prior", "MatrixPosterior", "multioutput_posterior", "multioutput_map"]

_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class MatrixNormalPrior:
    """``W ~ MN(0, τ²I_d, I_k)``: every entry of W i.i.d. N(0, τ²), the prior of the Frobenius penalty."""

    tau: float
    name = "matrix-normal"

    def __post_init__(self):
        object.__setattr__(self, "tau", positive(self.tau, "tau (the prior sd of each entry)"))

    @property
    def params(self) -> dict[str, float]:
        return {"tau": self.tau}

    @property
    def entrywise(self) -> Gaussian:
        """The prior of each entry, N(0, τ²)."""
        return Gaussian(self.tau)

    def penalty(self, W) -> float:
        """``‖W‖_F² / (2τ²)``."""
        W = np.asarray(W, dtype=np.float64)
        return float(np.sum(W * W)) / (2.0 * self.tau**2)

    def neg_log_density(self, W) -> float:
        """−log p(W) = ‖W‖_F²/(2τ²) + (dk/2) log(2πτ²)."""
        W = np.asarray(W, dtype=np.float64)
        return self.penalty(W) + 0.5 * W.size * (_LOG_2PI + 2.0 * math.log(self.tau))

    def canonical_lam(self, sigma: float) -> float:
        """λ = σ²/τ² in ``½‖Y − XW − 1bᵀ‖_F² + (λ/2)‖W‖_F²``."""
        return positive(sigma, "sigma") ** 2 / self.tau**2

    def sample(self, rng: np.random.Generator, shape: tuple[int, int], size=None) -> np.ndarray:
        """Draws of W of ``shape`` (d, k); ``size`` draws stack in front."""
        lead = () if size is None else ((int(size),) if np.isscalar(size) else tuple(size))
        return self.tau * rng.standard_normal(lead + tuple(shape))

    def describe(self) -> str:
        return (f"matrix normal MN(0, τ²I_d, I_k), τ = {self.tau:.6g}: every entry W_ij ~ N(0, τ²) independently; "
                "p(W) = exp(−‖W‖_F²/(2τ²)) / (2πτ²)^(dk/2)")


def frobenius_prior(lam: float, sigma: float, n: int | None = None,
                    convention: str | Convention = CANONICAL) -> MatrixNormalPrior:
    """The prior the Frobenius penalty ``(λ/2)‖W‖_F²`` (written in ``convention``) implies: τ = σ/√λ_canonical.

    Examples
    --------
    ``Ridge(alpha=4.0)`` on a 2-D target with noise sd 2: every entry N(0, 1)

    >>> frobenius_prior(4.0, sigma=2.0, convention="sklearn_ridge")
    MatrixNormalPrior(tau=1.0)
    """
    return MatrixNormalPrior(prior_from_penalty("l2", lam, sigma, n, convention).tau)


def _tau(prior) -> float:
    if isinstance(prior, MatrixNormalPrior):
        return prior.tau
    if getattr(prior, "gaussian_conjugacy", lambda: None)() == "fixed-sigma":  # a Gaussian prior on each entry
        return prior.tau
    return positive(prior, "tau (the prior sd of each entry)")


def _as_matrix(Y) -> np.ndarray:
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2:
        raise SpecError(f"Y must be an (n, k) matrix of targets, got shape {Y.shape}")
    if not np.all(np.isfinite(Y)):
        raise SpecError("Y has NaN or infinite values")
    return Y


@dataclass(frozen=True)
class MatrixPosterior:
    """Exact posterior of (W, b) under ``W ~ MN(0, τ²I, I)`` with known σ: column j is ``N(mean[:, j], cov)``.

    ``mean`` stacks (W; bᵀ): shape (d + 1, k), or (d, k) with ``bias="none"``; ``cov`` ((d+1) × (d+1)) is the
    covariance of every column, shared; ``columns`` holds the k single-output posteriors.
    """

    prior: MatrixNormalPrior
    sigma: float
    bias: Bias
    mean: np.ndarray
    cov: np.ndarray
    log_evidence: float
    columns: tuple[GaussianPosterior, ...]

    @property
    def d(self) -> int:
        return self.mean.shape[0] - (1 if self.bias.present else 0)

    @property
    def k(self) -> int:
        return self.mean.shape[1]

    @property
    def W_mean(self) -> np.ndarray:
        """Posterior mean (= MAP) of W, (d, k)."""
        return self.mean[: self.d]

    @property
    def b_mean(self) -> np.ndarray | None:
        return self.mean[self.d] if self.bias.present else None

    @property
    def W_row_cov(self) -> np.ndarray:
        """Σ_W, the (d × d) covariance of each column of W: W | Y ~ MN(W_mean, Σ_W, I_k)."""
        return self.cov[: self.d, : self.d]

    def vec_cov(self) -> np.ndarray:
        """Covariance of vec(W) (columns stacked): ``I_k ⊗ Σ_W``."""
        return np.kron(np.eye(self.k), self.W_row_cov)

    def sample(self, num: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        """``num`` independent draws: W (num, d, k) and b (num, k) or None."""
        L = np.linalg.cholesky(self.cov)
        eps = rng.standard_normal((num, self.cov.shape[0], self.k))
        theta = self.mean + np.einsum("ij,njk->nik", L, eps)
        return theta[:, : self.d], (theta[:, self.d] if self.bias.present else None)


def multioutput_posterior(X, Y, *, prior: MatrixNormalPrior | Gaussian | float, sigma: float,
                          bias: str | Bias = "flat") -> MatrixPosterior:
    """Exact posterior of (W, b) for ``Y = XW + 1bᵀ + E`` under the i.i.d. Gaussian (Frobenius) prior, σ known.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((30, 3)); Y = X @ rng.standard_normal((3, 2)) + 0.1 * rng.standard_normal((30, 2))
    >>> post = multioutput_posterior(X, Y, prior=MatrixNormalPrior(1.0), sigma=0.1)
    >>> post.W_mean.shape, post.vec_cov().shape
    ((3, 2), (6, 6))
    """
    X = np.asarray(X, dtype=np.float64)
    Y = _as_matrix(Y)
    if X.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise SpecError(f"X must be (n, d) with the n = {Y.shape[0]} rows of Y, got shape {X.shape}")
    tau = _tau(prior)
    sigma = positive(sigma, "sigma (the noise standard deviation)")
    bias = parse_bias(bias)
    columns = tuple(gaussian_posterior(X, Y[:, j], prior=Gaussian(tau), sigma=sigma, bias=bias)
                    for j in range(Y.shape[1]))
    mean = np.column_stack([c.mean for c in columns])
    return MatrixPosterior(MatrixNormalPrior(tau), sigma, bias, mean, columns[0].cov,
                           float(sum(c.log_evidence for c in columns)), columns)


def multioutput_map(X, Y, *, prior: MatrixNormalPrior | Gaussian | float, sigma: float,
                    bias: str | Bias = "flat") -> tuple[np.ndarray, np.ndarray | None]:
    """The MAP (W, b) of ``½‖Y − XW − 1bᵀ‖_F² + (λ/2)‖W‖_F²``, λ = σ²/τ²: one ridge solve for all k columns.

    With a flat bias, ``W = (X_cᵀX_c + λI)⁻¹X_cᵀY_c`` (c: centred) and ``b = ȳ − Wᵀx̄``; with none, the raw
    cross-products; with ``normal:S`` the bias is penalised with λ_b = σ²/S² (b is then (n ȳ − nWᵀx̄)/(n + λ_b)).
    """
    X = np.asarray(X, dtype=np.float64)
    Y = _as_matrix(Y)
    n, d = X.shape
    lam = MatrixNormalPrior(_tau(prior)).canonical_lam(sigma)
    bias = parse_bias(bias)
    if bias.kind == "none":
        W = np.linalg.solve(X.T @ X + lam * np.eye(d), X.T @ Y)
        return W, None
    x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
    eta = 0.0 if bias.kind == "flat" else n * (sigma**2 / bias.scale**2) / (n + sigma**2 / bias.scale**2)
    Xc, Yc = X - x_mean, Y - y_mean
    G = Xc.T @ Xc + eta * np.outer(x_mean, x_mean)
    Q = Xc.T @ Yc + eta * np.outer(x_mean, y_mean)
    W = np.linalg.solve(G + lam * np.eye(d), Q)
    lam_b = 0.0 if bias.kind == "flat" else sigma**2 / bias.scale**2
    b = n * (y_mean - x_mean @ W) / (n + lam_b)
    return W, b
