r"""The Bayesian lasso: a Gibbs sampler for linear regression under a Laplace prior on the weights.

Model (the same as ``LinearRegressionModel(Laplace(s), sigma=..., bias=...)``, so that Gibbs and Pyro NUTS target
one posterior):

.. math::

    y_i \mid w, b, \sigma^2 &\sim N(x_i^\top w + b,\ \sigma^2), \quad i = 1..n, \\
    w_j \mid s &\overset{iid}{\sim} \mathrm{Laplace}(0, s), \quad p(w_j) = \frac{e^{-|w_j|/s}}{2s}, \\
    \sigma^2 &\sim \mathrm{InvGamma}(A, B) \text{ or fixed}, \qquad
    \ell = 1/s^2 \sim \mathrm{Gamma}(r, \text{rate } \delta) \text{ or } s \text{ fixed}, \\
    b &= 0 \ (\texttt{none}), \quad p(b) \propto 1 \ (\texttt{flat}), \quad b \sim N(0, S^2)\ (\texttt{normal:S}).

Unlike Park & Casella (2008), the prior on w is **not** scaled by σ (theirs is Laplace with scale σ/λ): this is
the model every other method in bayesreg samples, and its MAP at fixed σ is the lasso with λ₁ = σ²/s. The price
is that the posterior of w, while unimodal given σ, may be multimodal in (w, σ) jointly when σ is random — which
P&C's scaling avoids; the Gibbs steps below are exact either way.

**Scale mixture.** The Laplace density is a Gaussian scale mixture with exponential mixing (Andrews & Mallows
1974):

.. math::

    \frac{1}{2s} e^{-|w|/s} = \int_0^\infty N(w \mid 0, v)\ \frac{\ell}{2} e^{-\ell v/2}\, dv, \qquad \ell = 1/s^2,

so with latent variances :math:`v_j \sim \mathrm{Exp}(\text{rate } \ell/2)` and :math:`w_j \mid v_j \sim N(0, v_j)`
every full conditional is a standard distribution. One sweep draws, in turn:

1. **(w, b) | v, σ², y** — Gaussian. In θ = (w, c), c = b + x̄ᵀw (present bias), the likelihood has Gram matrix
   G = diag(S_xx, n) and linear term h = (S_xy, nȳ); the prior precision is P(v) = diag(1/v, 0) for a flat bias,
   plus uuᵀ/S², u = (−x̄, 1), for ``normal:S`` (since b = c − x̄ᵀw). With ``none``, θ = w, G = XᵀX = S_xx + n x̄x̄ᵀ,
   h = Xᵀy, P(v) = diag(1/v). With H = G + σ² P(v):

   .. math:: \theta \sim N\big(H^{-1} h,\ \sigma^2 H^{-1}\big),

   which for a flat bias splits into :math:`w \sim N(A^{-1} S_{xy}/\sigma^2, A^{-1})`,
   :math:`A = S_{xx}/\sigma^2 + \mathrm{diag}(1/v)`, and :math:`c \sim N(\bar y, \sigma^2/n)` independently;
   then b = c − x̄ᵀw. Large column means never enter the flat-bias computation (centred sums only).
2. **1/v_j | w_j, ℓ** — inverse Gaussian. :math:`p(v_j \mid w_j) \propto v_j^{-1/2} e^{-w_j^2/(2v_j) - \ell
   v_j/2}`; with u = 1/v (Jacobian u⁻²) this is :math:`u^{-3/2} \exp(-w_j^2 u/2 - \ell/(2u))`, the
   :math:`\mathrm{IG}(\mu, \lambda)` kernel :math:`u^{-3/2}\exp(-\lambda u/(2\mu^2) - \lambda/(2u))` with

   .. math:: \lambda = \ell, \qquad \mu = \sqrt{\ell}/|w_j| = 1/(s|w_j|).

   It is drawn by Michael, Schucany & Haas (1976), rewritten so it keeps its digits when μ/λ = s/|w_j| is huge
   (a weight far inside the prior's scale), where the textbook form cancels.
3. **σ² | w, b, y** — :math:`\mathrm{InvGamma}(A + n/2,\ B + \mathrm{RSS}/2)` (n/2, not (n + d)/2: the prior on w
   does not involve σ), with

   .. math:: \mathrm{RSS} = \mathrm{RSS}_{\min} + (w - \hat w)^\top S_{xx} (w - \hat w) + n(\bar y - c)^2,

   ŵ the centred least-squares fit and RSS_min its residual sum (from the rows, by an orthogonal factorisation,
   when they are given): the same number as S_yy − 2wᵀS_xy + wᵀS_xx w + n(ȳ − c)², written as a sum of
   non-negative terms that does not cancel when the fit is close.
4. **ℓ | v** — :math:`\mathrm{Gamma}(r + d,\ \text{rate } \delta + \tfrac12\sum_j v_j)` (w is independent of ℓ
   given v). Draws of s = ℓ^{-1/2} are reported as ``tau``, the name of the prior's scale everywhere in bayesreg.

Each sweep costs O(p³), p = d + 1, whatever n is: the data enter only through
:class:`~bayesreg.suffstats.SufficientStats`. All chains advance together (batched Cholesky factorisations and
draws from one random stream), so the only Python loop is over iterations.

References: T. Park & G. Casella (2008), *The Bayesian Lasso*, JASA 103(482), 681–686; D. F. Andrews &
C. L. Mallows (1974), *Scale mixtures of normal distributions*, JRSS B 36(1); J. R. Michael, W. R. Schucany &
R. W. Haas (1976), *Generating random variates using transformations with multiple roots*, Am. Stat. 30(2).
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable

import numpy as np
from scipy.linalg import blas, lapack

from ..errors import SpecError
from ..priors import Bias, Laplace, SigmaPrior, parse_bias, parse_sigma_prior
from ..suffstats import SufficientStats, resolve_data
from ..validate import count, positive
from .result import Posterior, RunDiagnostics

__all__ = ["gibbs_lasso"]

#: ``progress(iteration, total)`` is called every this many iterations (and at the end).
PROGRESS_EVERY = 100


def gibbs_lasso(data, y=None, *, scale: float | Laplace | None = None,
                scale_prior: tuple[float, float] | str | SigmaPrior | None = None,
                sigma: float | str | SigmaPrior, bias: str | Bias = "flat", chains: int = 4, draws: int = 1000,
                warmup: int = 500, thin: int = 1, seed: int | None = 0, feature_names=None,
                progress: Callable[[int, int], object] | None = None) -> Posterior:
    """Posterior draws of (w, b, σ, s) under a Laplace prior on w, by the Bayesian-lasso Gibbs sampler.

    Samples :math:`p(w, b, \\sigma, s \\mid y) \\propto \\prod_i N(y_i \\mid x_i^\\top w + b, \\sigma^2)
    \\prod_j e^{-|w_j|/s}/(2s)\\ p(b)\\, p(\\sigma)\\, p(s)` (see the module docstring for the conditionals). At a
    fixed σ and s its MAP is the lasso ``½Σr² + λ₁‖w‖₁`` with λ₁ = σ²/s; no draw is ever exactly 0.

    Parameters
    ----------
    data
        A :class:`~bayesreg.data.Dataset`, :class:`~bayesreg.suffstats.SufficientStats`, or X (n, d) with ``y``.
    scale
        The Laplace scale s (or a :class:`~bayesreg.priors.Laplace`), fixed. Give this or ``scale_prior``.
    scale_prior
        A hyperprior ℓ = 1/s² ~ Gamma(r, rate δ), as ``(r, δ)`` or as ``"invgamma:r,δ"`` (the same prior written
        on s² ~ InvGamma(r, δ)); s is then sampled and reported as ``tau``.
    sigma
        The noise sd (fixed), or ``"invgamma:A,B"`` (σ² ~ InvGamma(A, B)). Other priors on σ are not conditionally
        conjugate: use NUTS for them.
    bias
        ``"flat"`` (default, unpenalised), ``"none"`` (b = 0) or ``"normal:S"`` (b ~ N(0, S²)).
    chains, draws, warmup, thin
        ``chains`` chains each run ``warmup`` discarded sweeps, then keep every ``thin``-th of ``draws × thin``.
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed gives identical draws. All chains share one
        stream and take disjoint draws from it, so chain k depends on the number of chains.
    feature_names
        Names of the d columns (default: the data set's, or ``x0..``).
    progress
        ``progress(iteration, total)`` is called every 100 sweeps and after the last.

    Returns
    -------
    Posterior
        ``method="gibbs"``; draws ``w`` (chains, draws, d), ``b`` (unless bias is none), ``sigma`` (when random),
        ``tau`` = s (when random). ``seconds`` includes warm-up.

    Raises
    ------
    SpecError
        Both or neither of ``scale`` and ``scale_prior``; a σ prior other than invgamma; a non-positive number,
        a bad count, or a posterior precision that cannot be factorised.

    Examples
    --------
    >>> from bayesreg import load_diabetes
    >>> post = gibbs_lasso(load_diabetes(), scale=54.0**2 / 221, sigma=54.0, chains=2, draws=200, warmup=100)
    >>> post.draws["w"].shape, post.draws["b"].shape, bool((post.draws["w"] != 0).all())
    ((2, 200, 10), (2, 200), True)
    """
    start = time.perf_counter()
    s_fixed, hyper = _scale_spec(scale, scale_prior)
    sigma_fixed, sigma_prior = _sigma_spec(sigma)
    stats, names, rss_min, w_hat = _prepare(data, y, feature_names, rows_for_rss=sigma_prior is not None)
    bias = parse_bias(bias)
    chains = _count(chains, "chains", 1)
    draws = _count(draws, "draws", 1)
    warmup = _count(warmup, "warmup", 0)
    thin = _count(thin, "thin", 1)
    if progress is not None and not callable(progress):
        raise SpecError(f"progress must be a callable(iteration, total) or None, got {progress!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise SpecError(f"seed must be a non-negative integer or None, got {seed!r}")

    rng = np.random.default_rng(seed)
    sampler = _Sampler(stats, bias, rss_min, w_hat)
    sigma2, ell, v = _initial_state(rng, stats, chains, w_hat, s_fixed, hyper, sigma_fixed, sigma_prior)
    d = stats.d
    kept = {"w": np.empty((chains, draws, d)), "c": np.empty((chains, draws))}
    if sigma_prior is not None:
        kept["sigma"] = np.empty((chains, draws))
    if hyper is not None:
        kept["tau"] = np.empty((chains, draws))
    total = warmup + draws * thin
    s_now = 1.0 / np.sqrt(ell)
    for it in range(total):
        w, c = sampler.draw_theta(rng, v, sigma2)
        if sigma_prior is not None:
            sigma2 = sampler.draw_sigma2(rng, w, c, *sigma_prior.params)
        v = _draw_latent_variances(rng, w, s_now)
        if hyper is not None:
            r, delta = hyper
            ell = rng.standard_gamma(r + d, size=chains) / (delta + 0.5 * v.sum(axis=1))
            s_now = 1.0 / np.sqrt(ell)
        kept_index, offset = divmod(it - warmup, thin)
        if it >= warmup and offset == thin - 1:
            kept["w"][:, kept_index] = w
            kept["c"][:, kept_index] = c
            if sigma_prior is not None:
                kept["sigma"][:, kept_index] = np.sqrt(sigma2)
            if hyper is not None:
                kept["tau"][:, kept_index] = 1.0 / np.sqrt(ell)
        if progress is not None and ((it + 1) % PROGRESS_EVERY == 0 or it + 1 == total):
            progress(it + 1, total)

    out = {"w": kept["w"]}
    if bias.present:
        out["b"] = kept["c"] - kept["w"] @ stats.x_mean
    for name in ("sigma", "tau"):
        if name in kept:
            out[name] = kept[name]
    if not all(np.isfinite(a).all() for a in out.values()):
        raise SpecError("the Gibbs sampler produced non-finite draws (over- or underflow): rescale X and y to "
                        "moderate units, or use a prior scale closer to the weights' size")
    prior_text = (repr(Laplace(s_fixed)) if hyper is None
                  else f"Laplace(scale=s), 1/s² ~ Gamma({hyper[0]:g}, rate {hyper[1]:g})")
    info = {
        "sampler": "Bayesian-lasso Gibbs (Park & Casella 2008), prior on w not scaled by σ",
        "chains": chains, "draws": draws, "warmup": warmup, "thin": thin, "iterations": total,
        "scale": s_fixed, "scale_prior": None if hyper is None else {"shape": hyper[0], "rate": hyper[1]},
        "sigma": sigma_fixed if sigma_prior is None else str(sigma_prior), "bias": str(bias),
    }
    attrs = {"prior": prior_text, "sigma": sigma_fixed if sigma_prior is None else str(sigma_prior),
             "bias": str(bias), "seed": -1 if seed is None else int(seed), "chains": chains, "warmup": warmup,
             "thin": thin, "sampler": "gibbs (Bayesian lasso)"}
    return Posterior("gibbs", out, names, sigma_fixed=sigma_fixed, seconds=time.perf_counter() - start,
                     info=info, attrs=attrs, diagnostics=RunDiagnostics("markov chain"))


# ---------------------------------------------------------------------------------------------- the sweeps

_SINGULAR_LOW_RANK = ("the Gibbs sampler's low-rank system is numerically singular: rescale X and y to "
                      "moderate units")


class _Sampler:
    """The data-dependent constants of the (w, c) and σ² conditionals, in θ coordinates (module docstring).

    When the Gram matrix has low rank k (fewer rows than columns: k ≤ n) and the bias is flat or none, the draw
    of w uses the low-rank factor instead (:meth:`_draw_theta_low_rank`), O(k²d) instead of O(d³).
    """

    #: use the low-rank draw when the Gram matrix's rank is at most this fraction of d
    LOW_RANK_FRACTION = 0.5

    def __init__(self, stats: SufficientStats, bias: Bias, rss_min: float, w_hat: np.ndarray):
        d, n = stats.d, stats.n
        self.stats, self.bias, self.d = stats, bias, d
        self.rss_min, self.w_hat = rss_min, w_hat
        if bias.present:
            p = d + 1
            self.gram = np.zeros((p, p))
            self.gram[:d, :d] = stats.sxx
            self.gram[d, d] = n
            self.h = np.append(stats.sxy, n * stats.y_mean)
            self.coupling = np.zeros((p, p))
            if bias.kind == "normal":
                u = np.append(-stats.x_mean, 1.0) / bias.scale  # (c − x̄ᵀw)²/S² = (uᵀθ)²
                self.coupling = np.outer(u, u)
        else:
            self.gram, self.h, self.coupling = stats.xtx, stats.xty, np.zeros((d, d))
        self.diag = np.arange(d)
        self.sxx_diag = np.diag(stats.sxx).copy()
        self.low_rank = None
        max_rank = n - 1 if bias.kind == "flat" else n + (bias.kind == "normal")
        if bias.kind != "normal" and max_rank <= self.LOW_RANK_FRACTION * d:
            self.low_rank = self._factor()
            k = self.low_rank[0].shape[0]
            self._low_rank_buffers = (np.empty((k, d)), np.asfortranarray(np.eye(k)))

    def _factor(self):
        """R (k, d) and a (k,) with RᵀR = G_w and Rᵀa = h_w for the w-block of the Gram matrix: S_xx, S_xy for a
        flat bias (c is then independent of w), XᵀX, Xᵀy for none; from the eigenvectors of S_xx with
        eigenvalues above rounding (k ≤ n of them)."""
        st = self.stats
        vals, vecs = np.linalg.eigh(st.sxx)
        keep = vals > max(float(vals[-1]), 0.0) * self.d * np.finfo(float).eps * 10
        root = np.sqrt(vals[keep])
        R = (vecs[:, keep] * root).T
        a = (vecs[:, keep].T @ st.sxy) / root
        if self.bias.kind == "none":  # XᵀX = S_xx + n x̄x̄ᵀ, Xᵀy = S_xy + n x̄ȳ
            R = np.vstack([R, math.sqrt(st.n) * st.x_mean])
            a = np.append(a, math.sqrt(st.n) * st.y_mean)
        return np.ascontiguousarray(R), a

    def draw_theta(self, rng: np.random.Generator, v: np.ndarray, sigma2: np.ndarray):
        """(w (C, d), c (C,)) ~ N(H⁻¹h, σ²H⁻¹), H = G + σ²P(v), for every chain at once.

        H is equilibrated first (H̃ = DHD, D = diag(H)^(−1/2)) so that huge 1/v_j do not swamp the rest; with
        H̃ = L̃L̃ᵀ, θ = D H̃⁻¹(Dh + σL̃ε) has mean H⁻¹h and covariance σ²D H̃⁻¹L̃L̃ᵀH̃⁻¹D = σ²H⁻¹.
        """
        if self.low_rank is not None:
            return self._draw_theta_low_rank(rng, v, sigma2)
        if self.bias.kind == "flat":
            return self._draw_theta_flat(rng, v, sigma2)
        chains = v.shape[0]
        H = self.gram + sigma2[:, None, None] * self.coupling
        H[:, self.diag, self.diag] += sigma2[:, None] / v
        scale = 1.0 / np.sqrt(np.einsum("cii->ci", H))
        H *= scale[:, :, None] * scale[:, None, :]
        L = _cholesky(H)
        eps = rng.standard_normal((chains, H.shape[-1], 1))
        rhs = (scale * self.h)[..., None] + np.sqrt(sigma2)[:, None, None] * (L @ eps)
        theta = scale * np.linalg.solve(H, rhs)[..., 0]
        w = theta[:, : self.d]
        c = theta[:, self.d] if self.bias.present else w @ self.stats.x_mean  # c = b + x̄ᵀw, b = 0
        return w, c

    def _draw_theta_flat(self, rng: np.random.Generator, v: np.ndarray, sigma2: np.ndarray):
        """The same draw for a flat bias, where θ's Gram matrix is block diagonal: w ~ N(A⁻¹S_xy, σ²A⁻¹),
        A = S_xx + σ² diag(1/v), equilibrated as above (its scaled diagonal is exactly 1), and c ~ N(ȳ, σ²/n)
        independently."""
        chains, d = v.shape
        scale = 1.0 / np.sqrt(self.sxx_diag + sigma2[:, None] / v)
        H = self.stats.sxx * (scale[:, :, None] * scale[:, None, :])
        H.reshape(chains, d * d)[:, :: d + 1] = 1.0  # the diagonal, through a strided view
        L = _cholesky(H)
        eps = rng.standard_normal((chains, d + 1))
        sigma = np.sqrt(sigma2)
        rhs = (scale * self.stats.sxy + sigma[:, None] * (L @ eps[:, :d, None])[..., 0])[..., None]
        w = scale * np.linalg.solve(H, rhs)[..., 0]
        c = self.stats.y_mean + sigma * eps[:, d] / np.sqrt(self.stats.n)
        return w, c

    @property
    def moves_scale(self) -> bool:
        """Whether :meth:`draw_theta_moving_scale` is available (the low-rank draw, d > n)."""
        return self.low_rank is not None

    def draw_theta_moving_scale(self, rng: np.random.Generator, v: np.ndarray, sigma2: np.ndarray, step: float,
                                log_prior_ratio):
        """A Metropolis move of a common factor ρ of the prior variances with w integrated out, then w given them:
        (w (C, d), c (C,), ρ (C,), accepted (C,)).

        ρ = exp(step × N(0, 1)) per chain is accepted with probability min(1, p(a | ρv)/p(a | v) ×
        exp(log_prior_ratio(ρ))): the marginal likelihood of the data, a | v, σ² ~ N(0, σ²M(v)) with
        M(v) = I + ΦDΦᵀ (:meth:`_draw_theta_low_rank`), is −Σ log L_ii − ½‖L⁻¹α‖² up to a constant for M = LLᵀ, and
        M(ρv) = ρM(v) + (1 − ρ)I costs one more Cholesky factorisation. ``log_prior_ratio(ρ)`` is the log ratio of
        the prior densities of log(scale) at the proposed and the current value. Then w | ρv is drawn as in
        :meth:`_draw_theta_low_rank` from the factor already in hand. For a global–local prior, ρ moves τ² with
        every w integrated out (Johndrow, Orenstein & Bhattacharya 2020, *Scalable approximate MCMC algorithms for
        the horseshoe prior*, JMLR 21(73), their exact algorithm's step for the global scale): given w, τ is pinned
        by d weights at once and moves slowly.
        """
        return self._draw_theta_low_rank(rng, v, sigma2, move=(step, log_prior_ratio))

    def _draw_theta_low_rank(self, rng: np.random.Generator, v: np.ndarray, sigma2: np.ndarray, move=None):
        """The same draw when G_w = RᵀR has rank k < d (Bhattacharya, Chakraborty & Mallick 2016).

        w | v, σ² ~ N(A⁻¹Φᵀα, A⁻¹), A = ΦᵀΦ + D⁻¹, Φ = R/σ, α = a/σ, D = diag(v): draw u ~ N(0, D) and
        δ ~ N(0, I_k), solve (ΦDΦᵀ + I_k) ω = α − (Φu + δ), and w = u + DΦᵀω. O(k²d) per chain instead of O(d³);
        the k × k system is ≥ I, so it stays well conditioned whatever v is. A flat bias's c ~ N(ȳ, σ²/n) is
        independent of w. With ``move`` = (step, log_prior_ratio), D is first moved to ρD
        (:meth:`draw_theta_moving_scale`), and the result has ρ and the acceptances after (w, c).

        Reference: A. Bhattacharya, A. Chakraborty & B. K. Mallick (2016), *Fast sampling with Gaussian scale
        mixture priors in high-dimensional regression*, Biometrika 103(4), 985–991.
        """
        R, a = self.low_rank
        chains, k = v.shape[0], R.shape[0]
        inv_sigma = 1.0 / np.sqrt(sigma2)
        root_v = np.sqrt(v)
        z = rng.standard_normal(v.shape)
        delta = rng.standard_normal((chains, k))
        factor = root_v * inv_sigma[:, None]
        scaled, identity = self._low_rank_buffers
        systems = []
        for chain in range(chains):
            np.multiply(R, factor[chain], out=scaled)                          # Φ D^½, C order (k, d)
            # I + (ΦD^½)(ΦD^½)ᵀ, lower triangle, Fortran order: what LAPACK reads, without a copy or a mirror
            systems.append(blas.dsyrk(1.0, scaled.T, beta=1.0, c=identity, trans=1, lower=1))
        if move is not None:
            rho, accepted = self._move_scale(rng, systems, a * inv_sigma[:, None], *move)
            v = rho[:, None] * v
            z *= np.sqrt(rho)[:, None]
        u = root_v * z                                                         # u ~ N(0, D)
        rhs = a * inv_sigma[:, None] - ((u @ R.T) * inv_sigma[:, None] + delta)
        omega = np.empty((chains, k))
        for chain, M in enumerate(systems):  # one Cholesky solve per chain: the k × k system is symmetric and ≥ I
            if move is None:
                _, omega[chain], info = lapack.dposv(M, rhs[chain], lower=1, overwrite_a=1)
            else:  # M is already the factor of the accepted system
                omega[chain], info = lapack.dpotrs(M, rhs[chain], lower=1)
            if info != 0:
                raise SpecError(_SINGULAR_LOW_RANK)
        w = u + v * (omega @ R) * inv_sigma[:, None]                          # u + DΦᵀω
        if self.bias.kind == "flat":
            c = self.stats.y_mean + np.sqrt(sigma2 / self.stats.n) * rng.standard_normal(chains)
        else:
            c = w @ self.stats.x_mean
        return (w, c) if move is None else (w, c, rho, accepted)

    @staticmethod
    def _move_scale(rng, systems, alpha, step, log_prior_ratio):
        """The Metropolis step of :meth:`draw_theta_moving_scale`: replaces each chain's system by the Cholesky
        factor of the accepted one (in place in ``systems``); returns ρ (1 where rejected) and the acceptances."""
        chains, k = alpha.shape
        proposal = np.exp(step * rng.standard_normal(chains))
        log_uniform = np.log(rng.random(chains))
        log_prior = np.asarray(log_prior_ratio(proposal), dtype=float)
        accepted = np.zeros(chains, dtype=bool)

        def factor(M):
            L, info = lapack.dpotrf(M, lower=1, overwrite_a=1, clean=0)
            if info != 0:
                raise SpecError(_SINGULAR_LOW_RANK)
            return L

        def log_marginal(L, alpha_chain):  # log N(α; 0, LLᵀ) + const
            white = lapack.dtrtrs(L, alpha_chain, lower=1)[0]
            return -np.log(L.diagonal()).sum() - 0.5 * white @ white

        diagonal = np.arange(k)
        for chain, M in enumerate(systems):
            moved = M * proposal[chain]                                        # ρM + (1 − ρ)I = I + ρΦDΦᵀ
            moved[diagonal, diagonal] += 1.0 - proposal[chain]
            current, moved = factor(M), factor(moved)
            log_ratio = log_marginal(moved, alpha[chain]) - log_marginal(current, alpha[chain]) + log_prior[chain]
            accepted[chain] = log_uniform[chain] < log_ratio
            systems[chain] = moved if accepted[chain] else current
        return np.where(accepted, proposal, 1.0), accepted

    def coordinate(self, j: int, w: np.ndarray, c: np.ndarray, sigma2: np.ndarray):
        """The likelihood of w_j given every other coordinate of θ, per chain: exp(−(a w_j² − 2r w_j)/(2σ²)) with
        a = G_jj and r = h_j − Σ_{k≠j} G_jk θ_k, where G = gram + σ² × coupling (the normal bias's prior
        couples c and w) and θ = (w, c), or w when the model has no bias."""
        d = self.d
        gram, coupling = self.gram[j], self.coupling[j]
        a = gram[j] + sigma2 * coupling[j]
        r = self.h[j] - w @ gram[:d] + a * w[:, j]
        if self.bias.present:
            r -= c * gram[d]
        if self.bias.kind == "normal":  # the only bias whose prior couples c and w
            r -= sigma2 * (w @ coupling[:d] + c * coupling[d])
        return a, r

    def coordinates(self, w: np.ndarray, c: np.ndarray, sigma2: np.ndarray):
        """:meth:`coordinate` for every j at once: a and r of shape (C, d)."""
        d = self.d
        theta = np.column_stack([w, c]) if self.bias.present else w
        a = np.diag(self.gram)[:d] + sigma2[:, None] * np.diag(self.coupling)[:d]
        g = theta @ self.gram[:d].T + sigma2[:, None] * (theta @ self.coupling[:d].T)
        return a, self.h[:d] - g + a * w

    def draw_sigma2(self, rng: np.random.Generator, w: np.ndarray, c: np.ndarray, a0: float, b0: float,
                    prior_shape: float = 0.0, prior_rate=0.0):
        """σ² ~ InvGamma(a₀ + n/2 + prior_shape, b₀ + RSS/2 + prior_rate), RSS = RSS_min + (w − ŵ)ᵀS_xx(w − ŵ) +
        n(ȳ − c)²; ``prior_shape`` and ``prior_rate`` (per chain) are what a prior on w scaled by σ adds (d/2 and
        Σ w_j²/(2 s_j²) for w_j ~ N(0, σ²s_j²))."""
        st = self.stats
        delta = w - self.w_hat
        quad = np.maximum(np.einsum("ci,ij,cj->c", delta, st.sxx, delta), 0.0)
        rss = self.rss_min + quad + st.n * (st.y_mean - c) ** 2
        return (b0 + 0.5 * rss + prior_rate) / rng.standard_gamma(a0 + 0.5 * st.n + prior_shape, size=w.shape[0])


def _cholesky(H: np.ndarray) -> np.ndarray:
    """Cholesky factors of the (equilibrated) posterior precisions, one per chain, or a SpecError that says why."""
    try:
        return np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        raise SpecError(
            "the Gibbs sampler's posterior precision is numerically singular: rescale X and y to moderate "
            "units, or use a prior scale closer to the weights' size"
        ) from None


def _draw_latent_variances(rng: np.random.Generator, w: np.ndarray, s) -> np.ndarray:
    """v with 1/v ~ IG(μ = 1/(s|w|), λ = 1/s²) elementwise (``s`` broadcast per chain: (C,) → (C, 1)).

    Michael–Schucany–Haas: with z ~ N(0, 1) and t = (μ/λ) z², the two roots of the chi-square transform are
    μr and μ/r, r = 1 + t/2 − √(t² + 4t)/2 = 2/(2 + t + √t·√(t + 4)) ∈ (0, 1] (the second form has no
    cancellation and no overflow); take μr with probability 1/(1 + r), else μ/r. Here μ/λ = s/|w| and
    1/μ = s|w|, so v = 1/u is s|w|/r or s|w|·r.
    """
    s = np.asarray(s, dtype=np.float64)
    s = s[:, None] if s.ndim == 1 else s
    a = np.abs(w)
    # A weight of exactly 0 (probability 0; underflow only) would give v = 0: keep it a tiny positive number.
    a = np.maximum(a, s * 1e-150)
    z = rng.standard_normal(a.shape)
    t = (s / a) * z * z
    r = 2.0 / (2.0 + t + np.sqrt(t) * np.sqrt(t + 4.0))
    small_root = rng.random(a.shape) * (1.0 + r) <= 1.0  # probability 1/(1 + r): u = μr, v = s|w|/r
    sa = s * a
    v = sa * np.where(small_root, 1.0 / r, r)
    return np.maximum(v, np.finfo(np.float64).tiny, out=v)


# ---------------------------------------------------------------------------------------------- set-up

def _initial_state(rng, stats: SufficientStats, chains: int, w_hat, s_fixed, hyper, sigma_fixed, sigma_prior):
    """Starting σ², ℓ and v per chain, each spread by a factor e^(±1) across chains (so that R-hat can see a
    chain that has not forgotten its start): σ² fixed or S_yy/n; s fixed, or mean|ŵ| (Park & Casella's choice)
    falling back to the prior's ℓ = r/δ; v = s²."""
    def spread(size):
        return np.exp(rng.uniform(-1.0, 1.0, size=size))

    if sigma_prior is None:
        sigma2 = np.full(chains, sigma_fixed**2)
    else:
        a0, b0 = sigma_prior.params
        guess = stats.syy / stats.n
        sigma2 = (guess if math.isfinite(guess) and guess > 0 else b0 / (a0 + 1.0)) * spread(chains)
    if hyper is None:
        ell = np.full(chains, 1.0 / s_fixed**2)
    else:
        s0 = float(np.mean(np.abs(w_hat)))
        ell0 = 1.0 / s0**2 if math.isfinite(s0) and s0 > 0 and math.isfinite(1.0 / s0**2) else hyper[0] / hyper[1]
        ell = ell0 * spread(chains)
    v = (1.0 / ell)[:, None] * spread((chains, stats.d))
    return sigma2, ell, v


def _prepare(data, y, feature_names, rows_for_rss: bool = True):
    """Sufficient statistics, feature names, and the centred least-squares fit ŵ with its residual sum.

    From rows (and ``rows_for_rss``: only σ² ~ InvGamma needs RSS_min to full accuracy), ŵ and RSS_min come from an
    orthogonal factorisation of the centred X (accurate however close the fit); otherwise from the normal
    equations (RSS_min = S_yy − ŵᵀS_xy ≥ 0), O(d³) whatever n is. The statistics of a data set are computed once
    and shared (:meth:`SufficientStats.of`).
    """
    data, names = resolve_data(data, y, feature_names)
    if isinstance(data, SufficientStats):
        stats = data
        if not (stats.n >= 1 and stats.d >= 1 and np.isfinite(stats.sxx).all() and np.isfinite(stats.sxy).all()
                and np.isfinite(stats.x_mean).all() and math.isfinite(stats.syy) and math.isfinite(stats.y_mean)):
            raise SpecError("the sufficient statistics must have n ≥ 1, d ≥ 1 and finite entries")
    else:
        stats = SufficientStats.of(data)
    if isinstance(data, SufficientStats) or not rows_for_rss:
        w_hat = np.linalg.lstsq(stats.sxx, stats.sxy, rcond=None)[0]
        rss_min = max(stats.syy - float(w_hat @ stats.sxy), 0.0)
    else:
        Xc = data.X - stats.x_mean
        yc = data.y - stats.y_mean
        w_hat = np.linalg.lstsq(Xc, yc, rcond=None)[0]
        resid = yc - Xc @ w_hat
        rss_min = float(resid @ resid)
    return stats, names, rss_min, w_hat


def _scale_spec(scale, scale_prior) -> tuple[float | None, tuple[float, float] | None]:
    if (scale is None) == (scale_prior is None):
        raise SpecError(
            "give the Laplace scale one way: scale=s (fixed) or scale_prior=(r, δ) for 1/s² ~ Gamma(r, rate δ)"
            + (" — got both" if scale is not None else " — got neither")
        )
    if scale is not None:
        mixture = scale.scale_mixture() if hasattr(scale, "scale_mixture") else None
        if mixture is not None and mixture.scale is not None:  # a Laplace prior given whole
            return mixture.scale, None
        return positive(scale, "scale (the Laplace scale s)"), None
    if isinstance(scale_prior, (str, SigmaPrior)):
        spec = parse_sigma_prior(scale_prior)
        if spec.kind != "invgamma":
            raise SpecError(
                f"scale prior {spec} is not conditionally conjugate: the Gibbs sampler takes invgamma:r,δ on s² "
                "(1/s² ~ Gamma(r, rate δ)); sample this model with NUTS"
            )
        return None, spec.params
    try:
        r, delta = scale_prior
    except (TypeError, ValueError):
        raise SpecError(f"scale_prior must be (r, δ) for 1/s² ~ Gamma(r, rate δ), got {scale_prior!r}") from None
    return None, (positive(r, "scale_prior shape r"), positive(delta, "scale_prior rate δ"))


def _sigma_spec(sigma) -> tuple[float | None, SigmaPrior | None]:
    if isinstance(sigma, (str, SigmaPrior)):
        spec = parse_sigma_prior(sigma)
        if spec.kind != "invgamma":
            raise SpecError(
                f"sigma prior {spec} is not conditionally conjugate: the Gibbs sampler takes a fixed σ or "
                "invgamma:A,B on σ²; sample this model with NUTS"
            )
        return None, spec
    if isinstance(sigma, bool):
        raise SpecError(f"sigma must be a positive number or 'invgamma:A,B', got {sigma!r}")
    return positive(sigma, "sigma (the noise standard deviation)"), None


def _count(value, name: str, minimum: int) -> int:
    return count(value, name, minimum)
