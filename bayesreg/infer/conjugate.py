r"""The exact posterior of linear regression under a Gaussian prior on w.

Model: :math:`y = Xw + b + \varepsilon`, :math:`\varepsilon \sim N(0, \sigma^2 I)`, bias b with prior ``none``
(b = 0), ``flat`` (unpenalised) or ``normal:S``.

**σ known** (:func:`gaussian_posterior`), :math:`w \sim N(0, \tau^2 I)`: the posterior of (w, b) is Gaussian,
its mean is the ridge estimate minimising :math:`\tfrac12\sum r_i^2 + \tfrac{\lambda}{2}\|w\|^2` with
λ = σ²/τ² (scikit-learn ``Ridge(alpha=λ)``), and the evidence is

.. math:: p(y \mid \tau, \sigma) = N\big(y \mid 0,\; \sigma^2 I + \tau^2 X X^\top + S^2 \mathbf 1 \mathbf 1^\top\big)

(drop the last term for ``bias="none"``; for a flat bias, b is integrated against the unit Lebesgue density,
which leaves a proper function of (τ, σ) fit for comparing them).

**σ unknown, conjugate** (:func:`nig_posterior`): :math:`w \mid \sigma \sim N(0, \sigma^2/\lambda\, I)`,
:math:`\sigma^2 \sim \mathrm{InvGamma}(a_0, b_0)` (Normal-Inverse-Gamma). Then
:math:`\sigma^2 \mid y \sim \mathrm{InvGamma}(a_n, b_n)`, (w, b) | y is multivariate Student-t with
2aₙ degrees of freedom, and the evidence is closed form.

Computation works in the centred parametrisation θ = (w, c), c = b + x̄ᵀw, whose Gram matrix is block
diagonal (S_xx, n) and which never forms raw cross-products for the default flat bias. Everything depends on
the data only through :class:`~bayesreg.suffstats.SufficientStats`: O(p³) in p = d + 1, independent of n.

References: Bishop (2006), *Pattern Recognition and Machine Learning*, §3.3–3.5; Murphy (2012), *Machine
Learning: a Probabilistic Perspective*, §7.6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, special, stats

from ..errors import SpecError
from ..priors import Bias, ConjugateGaussian, Gaussian, SigmaPrior, parse_bias, parse_sigma_prior, positive
from ..suffstats import SufficientStats, resolve_data
from .result import Posterior, RunDiagnostics

__all__ = ["GaussianPosterior", "NIGPosterior", "gaussian_posterior", "nig_posterior"]

_LOG_2PI = math.log(2.0 * math.pi)


# -------------------------------------------------------------------------------- the linear-Gaussian core

@dataclass(frozen=True)
class _Design:
    """The problem in θ coordinates: Gram ZᵀZ, Zᵀy, yᵀy, the prior precision of θ (per unit of ``scale``)
    with its log-determinant over the proper part, and the number of flat (improper) coordinates."""

    stats: SufficientStats
    bias: Bias
    gram: np.ndarray
    zty: np.ndarray
    yty: float
    prior_precision: np.ndarray
    logdet_prior_precision: float
    n_flat: int

    def to_wb(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Map θ draws (..., p) to (w (..., d), b (...) or None): b = c − x̄ᵀw."""
        d = self.stats.d
        w = theta[..., :d]
        if not self.bias.present:
            return w, None
        return w, theta[..., d] - w @ self.stats.x_mean

    @property
    def transform(self) -> np.ndarray:
        """The linear map T with (w, b) = T θ."""
        p = self.gram.shape[0]
        T = np.eye(p)
        if self.bias.present:
            T[-1, :-1] = -self.stats.x_mean
        return T

    def features(self, X) -> np.ndarray:
        """Rows of new inputs in θ coordinates: x (bias none) or (x − x̄, 1)."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        if X.shape[1] != self.stats.d:
            raise SpecError(f"X has {X.shape[1]} columns, the model was fitted on {self.stats.d}")
        if not self.bias.present:
            return X
        return np.column_stack([X - self.stats.x_mean, np.ones(len(X))])


def _design(stats: SufficientStats, w_precision: float, bias: Bias) -> _Design:
    """Assemble θ coordinates for an isotropic prior precision ``w_precision`` (1/τ² or λ) on w."""
    d, n = stats.d, stats.n
    logdet_w = d * math.log(w_precision)
    if not bias.present:
        return _Design(stats, bias, stats.xtx, stats.xty, stats.yty,
                       w_precision * np.eye(d), logdet_w, 0)
    gram = np.zeros((d + 1, d + 1))
    gram[:d, :d] = stats.sxx
    gram[d, d] = n
    zty = np.append(stats.sxy, n * stats.y_mean)
    yty = stats.yty
    precision = np.zeros((d + 1, d + 1))
    precision[:d, :d] = w_precision * np.eye(d)
    if bias.kind == "flat":
        return _Design(stats, bias, gram, zty, yty, precision, logdet_w, 1)
    # b ~ N(0, S²) with b = c − x̄ᵀw: the quadratic (c − x̄ᵀw)²/S² couples c and w.
    v = np.append(-stats.x_mean, 1.0) / bias.scale
    precision += np.outer(v, v)
    return _Design(stats, bias, gram, zty, yty, precision, logdet_w - 2.0 * math.log(bias.scale), 0)


@dataclass(frozen=True)
class _Solved:
    """Cholesky factor of the posterior precision H = ZᵀZ + s·P₀ (in units where the noise variance is 1),
    the mean m = H⁻¹Zᵀy, and the residual quadratic yᵀy − mᵀHm = ‖y − Zm‖² + s·mᵀP₀m."""

    chol: tuple
    mean: np.ndarray
    quad: float
    logdet: float


def _solve(design: _Design, prior_scale: float) -> _Solved:
    H = design.gram + prior_scale * design.prior_precision
    chol = _cholesky(H)
    mean = linalg.cho_solve(chol, design.zty)
    # yᵀy − Zᵀy·m would cancel n ȳ² against itself when y has a large mean; the same number from centred
    # sums, ‖y − Zm‖² + s mᵀP₀m with ‖y − Xw − b‖² = S_yy − 2wᵀS_xy + wᵀS_xx w + n(ȳ − c)², keeps its digits.
    st = design.stats
    w = mean[: st.d]
    c = mean[st.d] if design.bias.present else float(st.x_mean @ w)  # c = b + x̄ᵀw
    residual = st.syy - 2.0 * float(w @ st.sxy) + float(w @ st.sxx @ w) + st.n * (st.y_mean - c) ** 2
    quad = max(residual, 0.0) + prior_scale * float(mean @ design.prior_precision @ mean)
    logdet = 2.0 * float(np.sum(np.log(np.diag(chol[0]))))
    return _Solved(chol, mean, quad, logdet)


def _inverse(solved: _Solved) -> np.ndarray:
    return linalg.cho_solve(solved.chol, np.eye(solved.mean.shape[0]))


def _as_stats(data, y=None, feature_names=None) -> tuple[SufficientStats, tuple[str, ...]]:
    data, names = resolve_data(data, y, feature_names)
    return SufficientStats.of(data), names


def _cholesky(H: np.ndarray):
    try:
        return linalg.cho_factor(H, lower=True)
    except linalg.LinAlgError:
        raise SpecError(
            "the posterior precision is numerically singular: the prior is too wide for these data (a huge τ, "
            "or λ near 0, with collinear columns or d ≥ n); use a narrower prior"
        ) from None


def _check_prob(prob: float) -> float:
    if not 0.0 < prob < 1.0:
        raise SpecError(f"prob must be strictly between 0 and 1, got {prob}")
    return prob


# ------------------------------------------------------------------------------------------- σ known

class _MeanOfWeightsAndBias:
    """``w_mean`` and ``b_mean`` from a ``mean`` over (w₁..w_d[, b])."""

    @property
    def w_mean(self) -> np.ndarray:
        return self.mean[: len(self.feature_names)]

    @property
    def b_mean(self) -> float | None:
        return float(self.mean[-1]) if self.bias.present else None


@dataclass(frozen=True)
class GaussianPosterior(_MeanOfWeightsAndBias):
    """Posterior N(mean, cov) of (w, b) for a Gaussian prior and known σ.

    ``mean`` and ``cov`` are over (w₁..w_d, b), without b when ``bias`` is ``none``.
    """

    prior: Gaussian
    sigma: float
    bias: Bias
    feature_names: tuple[str, ...]
    mean: np.ndarray
    cov: np.ndarray
    log_evidence: float
    _design: _Design = field(repr=False)
    _solved: _Solved = field(repr=False)


    @property
    def w_sd(self) -> np.ndarray:
        d = len(self.feature_names)
        return np.sqrt(np.diag(self.cov)[:d])

    def credible_interval(self, prob: float = 0.94) -> tuple[np.ndarray, np.ndarray]:
        """Equal-tailed (= highest-density, Gaussian) ``prob`` interval for each of (w, b)."""
        z = stats.norm.ppf(0.5 + _check_prob(prob) / 2.0)
        sd = np.sqrt(np.diag(self.cov))
        return self.mean - z * sd, self.mean + z * sd

    def predictive(self, X) -> stats.rv_continuous:
        """Posterior predictive of new observations: ``N(x*ᵀm, x*ᵀ Σ x* + σ²)`` per row (a frozen SciPy
        distribution with vector loc/scale)."""
        Z = self._design.features(X)
        s2 = self.sigma**2
        loc = Z @ self._solved.mean
        var = s2 * np.einsum("ij,ij->i", Z, linalg.cho_solve(self._solved.chol, Z.T).T) + s2
        return stats.norm(loc, np.sqrt(var))

    def sample_wb(self, num: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        """``num`` independent draws of (w, b)."""
        L = self._solved.chol[0]
        eps = rng.standard_normal((num, L.shape[0]))
        # θ = m + σ L⁻ᵀ ε has covariance σ² (LLᵀ)⁻¹ = σ² H⁻¹.
        theta = self._solved.mean + self.sigma * linalg.solve_triangular(L, eps.T, lower=True, trans="T").T
        return self._design.to_wb(theta)

    def draws(self, draws: int = 1000, chains: int = 4, seed: int | None = 0) -> Posterior:
        """Independent draws of (w, b) as a :class:`~bayesreg.infer.result.Posterior` (σ fixed)."""
        rng = np.random.default_rng(seed)
        w, b = self.sample_wb(draws * chains, rng)
        out = {"w": w.reshape(chains, draws, -1)}
        if b is not None:
            out["b"] = b.reshape(chains, draws)
        return Posterior("exact", out, self.feature_names, sigma_fixed=self.sigma,
                         diagnostics=RunDiagnostics("exact draws"),
                         attrs={"prior": repr(self.prior), "bias": str(self.bias), "sigma": self.sigma,
                                "seed": -1 if seed is None else seed})

    def sample(self, draws: int = 1000, chains: int = 4, seed: int | None = 0, data=None):
        """Independent draws as an ArviZ ``InferenceData`` (σ, being fixed, goes to ``constant_data``); with
        ``data``, also log likelihood, posterior predictive and observed data."""
        return self.draws(draws, chains, seed).to_inference_data(data, seed=seed)


def gaussian_posterior(data, y=None, *, prior: Gaussian | float, sigma: float, bias: str | Bias = "flat",
                       feature_names=None) -> GaussianPosterior:
    """Exact posterior of (w, b) under ``w ~ N(0, τ²I)`` with known noise sd σ.

    .. math::

        p(w, b \\mid y) \\propto \\exp\\Big(-\\frac{1}{\\sigma^2}\\Big[\\tfrac12\\sum_i (y_i - x_i^\\top w - b)^2
        + \\tfrac{\\lambda}{2}\\|w\\|^2\\Big]\\Big) p(b), \\qquad \\lambda = \\sigma^2/\\tau^2.

    Parameters
    ----------
    data
        A :class:`~bayesreg.data.Dataset`, :class:`~bayesreg.suffstats.SufficientStats`, or X (n, d) with ``y``.
    prior
        :class:`~bayesreg.priors.Gaussian` or τ itself.
    sigma
        The noise standard deviation.
    bias
        ``"flat"`` (default, unpenalised: matches ``Ridge(fit_intercept=True)``), ``"none"`` or ``"normal:S"``.

    Examples
    --------
    >>> from bayesreg.data import load_diabetes
    >>> post = gaussian_posterior(load_diabetes(), prior=Gaussian(100.0), sigma=54.0)
    >>> post.w_mean.shape, round(post.b_mean, 6)
    ((10,), 152.133484)
    """
    stats_, names = _as_stats(data, y, feature_names)
    prior = prior.conditional(sigma=sigma) if hasattr(prior, "gaussian_conjugacy") else Gaussian(prior)
    if prior.gaussian_conjugacy() != "fixed-sigma":
        raise SpecError(f"the exact posterior with σ fixed needs a Gaussian prior on w, got {prior!r}")
    sigma = positive(sigma, "sigma (the noise standard deviation)")
    bias = parse_bias(bias)
    design = _design(stats_, 1.0 / prior.tau**2, bias)
    s2 = sigma**2
    # Work with H = ZᵀZ + σ²P₀ = σ²A, A the posterior precision: mean = H⁻¹Zᵀy, cov = σ²H⁻¹.
    solved = _solve(design, s2)
    n_proper = stats_.n - design.n_flat
    p = design.gram.shape[0]
    # log N(y | 0, C) with det C = σ^(2n) det(Σ₀) det(A) (matrix determinant lemma), det A = det(H)/σ^(2p),
    # and yᵀC⁻¹y = (yᵀy − Zᵀy·m)/σ²; a flat coordinate contributes √(2πσ²)·(its share of det A).
    log_evidence = -0.5 * (
        n_proper * _LOG_2PI + (stats_.n - p) * math.log(s2) - design.logdet_prior_precision
        + solved.logdet + solved.quad / s2
    )
    T = design.transform
    return GaussianPosterior(
        prior, sigma, bias, names,
        T @ solved.mean, s2 * T @ _inverse(solved) @ T.T, log_evidence, design, solved,
    )


# ------------------------------------------------------------------------------------------- σ unknown

@dataclass(frozen=True)
class NIGPosterior(_MeanOfWeightsAndBias):
    """Normal-Inverse-Gamma posterior: σ² ~ InvGamma(a_n, b_n), (w, b) | σ² ~ N(mean, σ² V_n).

    Marginally (w, b) is multivariate Student-t with ``df = 2 a_n``, location ``mean`` and shape
    ``scale = (b_n/a_n) V_n``.
    """

    prior: ConjugateGaussian
    sigma_prior: SigmaPrior
    bias: Bias
    feature_names: tuple[str, ...]
    mean: np.ndarray
    shape: np.ndarray
    a_n: float
    b_n: float
    log_evidence: float
    _design: _Design = field(repr=False)
    _solved: _Solved = field(repr=False)

    @property
    def df(self) -> float:
        return 2.0 * self.a_n

    @property
    def scale(self) -> np.ndarray:
        """Shape matrix of the Student-t marginal of (w, b): (b_n/a_n) V_n."""
        return (self.b_n / self.a_n) * self.shape

    @property
    def cov(self) -> np.ndarray:
        """Marginal covariance of (w, b), finite when a_n > 1: b_n/(a_n − 1) V_n."""
        return self.b_n / (self.a_n - 1.0) * self.shape if self.a_n > 1 else np.full_like(self.shape, np.inf)


    @property
    def sigma2(self) -> stats.rv_continuous:
        """Marginal posterior of σ²: InvGamma(a_n, scale b_n)."""
        return stats.invgamma(self.a_n, scale=self.b_n)

    def sigma_pdf(self, sigma) -> np.ndarray:
        """Marginal posterior density of σ (not σ²): p(σ²) · 2σ."""
        sigma = np.asarray(sigma, dtype=np.float64)
        return self.sigma2.pdf(sigma**2) * 2.0 * sigma

    def predictive(self, X) -> stats.rv_continuous:
        """Posterior predictive: Student-t, df 2a_n, loc x*ᵀm, scale² (b_n/a_n)(1 + x*ᵀV_n x*)."""
        Z = self._design.features(X)
        loc = Z @ self._solved.mean
        quad = np.einsum("ij,ij->i", Z, linalg.cho_solve(self._solved.chol, Z.T).T)
        return stats.t(self.df, loc, np.sqrt(self.b_n / self.a_n * (1.0 + quad)))

    def sample_wbs(self, num: int, rng: np.random.Generator):
        """``num`` independent draws of (w, b, σ)."""
        sigma2 = stats.invgamma.rvs(self.a_n, scale=self.b_n, size=num, random_state=rng)
        sigma = np.sqrt(sigma2)
        L = self._solved.chol[0]
        eps = rng.standard_normal((num, L.shape[0]))
        theta = self._solved.mean + sigma[:, None] * linalg.solve_triangular(L, eps.T, lower=True, trans="T").T
        w, b = self._design.to_wb(theta)
        return w, b, sigma

    def draws(self, draws: int = 1000, chains: int = 4, seed: int | None = 0) -> Posterior:
        """Independent draws of (w, b, σ) as a :class:`~bayesreg.infer.result.Posterior`."""
        rng = np.random.default_rng(seed)
        w, b, sigma = self.sample_wbs(draws * chains, rng)
        out = {"w": w.reshape(chains, draws, -1), "sigma": sigma.reshape(chains, draws)}
        if b is not None:
            out["b"] = b.reshape(chains, draws)
        return Posterior("exact", out, self.feature_names, diagnostics=RunDiagnostics("exact draws"),
                         attrs={"prior": repr(self.prior), "sigma_prior": str(self.sigma_prior),
                                "bias": str(self.bias), "seed": -1 if seed is None else seed})

    def sample(self, draws: int = 1000, chains: int = 4, seed: int | None = 0, data=None):
        """Independent draws of (w, b, σ) as an ArviZ ``InferenceData`` (with ``data``: log likelihood,
        posterior predictive, observed data)."""
        return self.draws(draws, chains, seed).to_inference_data(data, seed=seed)


def nig_posterior(data, y=None, *, prior: ConjugateGaussian | float, sigma_prior: str | SigmaPrior,
                  bias: str | Bias = "flat", feature_names=None) -> NIGPosterior:
    """Exact posterior under ``w | σ ~ N(0, σ²/λ I)``, ``σ² ~ InvGamma(a₀, b₀)`` (σ unknown, conjugate).

    .. math::

        V_n^{-1} = Z^\\top Z + \\lambda I_w,\\quad m_n = V_n Z^\\top y,\\quad
        a_n = a_0 + \\tfrac{n - k}{2},\\quad b_n = b_0 + \\tfrac12 (y^\\top y - m_n^\\top V_n^{-1} m_n),

    with k = 1 for a flat bias (integrated out) and 0 for none. The posterior mean of w is the ridge estimate
    at canonical λ whatever σ turns out to be.

    Parameters
    ----------
    prior
        :class:`~bayesreg.priors.ConjugateGaussian` or λ itself.
    sigma_prior
        ``"invgamma:A,B"`` (σ² ~ InvGamma(A, B)); other priors on σ are not conjugate.
    bias
        ``"flat"`` or ``"none"``. A Gaussian prior on b would have to scale with σ to stay conjugate, which
        ``normal:S`` does not say, so it is refused.
    """
    stats_, names = _as_stats(data, y, feature_names)
    prior = prior if hasattr(prior, "gaussian_conjugacy") else ConjugateGaussian(prior)
    if prior.gaussian_conjugacy() != "sigma-scaled":
        raise SpecError(f"the Normal-Inverse-Gamma posterior needs the scale-free prior w | σ ~ N(0, σ²/λ), got "
                        f"{prior!r}")
    sigma_prior = parse_sigma_prior(sigma_prior)
    if sigma_prior.kind != "invgamma":
        raise SpecError(
            f"sigma prior {sigma_prior} is not conjugate: the exact posterior needs invgamma:A,B "
            "(or sample the model with NUTS)"
        )
    bias = parse_bias(bias)
    if bias.kind == "normal":
        raise SpecError("the Normal-Inverse-Gamma posterior takes bias 'flat' or 'none', not normal:S")
    a0, b0 = sigma_prior.params
    design = _design(stats_, prior.lam, bias)
    solved = _solve(design, 1.0)
    a_n = a0 + 0.5 * (stats_.n - design.n_flat)
    b_n = b0 + 0.5 * solved.quad
    log_evidence = (
        -0.5 * (stats_.n - design.n_flat) * _LOG_2PI
        + 0.5 * (design.logdet_prior_precision - solved.logdet)
        + a0 * math.log(b0) - a_n * math.log(b_n) + special.gammaln(a_n) - special.gammaln(a0)
    )
    T = design.transform
    return NIGPosterior(
        prior, sigma_prior, bias, names,
        T @ solved.mean, T @ _inverse(solved) @ T.T, a_n, b_n, float(log_evidence), design, solved,
    )
