r"""The shrinkage priors' posterior with the weights integrated out: a potential for NUTS on the latent scales
alone, and the exact draw of the weights given them.

With Gaussian noise, w | s, σ ~ N(0, σ² S²) (S = diag s, s the prior sd of w_j over σ, a function of the log
latents u) is conjugate, so the weights (and the bias, flat or normal) integrate out in closed form:

.. math::

    \log p(y \mid u, \sigma) = -\tfrac{n'}{2}\log 2\pi - n'\log\sigma - \tfrac12\log\det B
        - \frac{Q}{2\sigma^2} + c_b,
    \qquad B = I + S G S, \qquad
    Q = \min_w \big[\mathrm{RSS}(w) + \|S^{-1} w\|^2\big] = \mathrm{RSS}(S m) + \|m\|^2,
    \quad m = B^{-1} S h,

where G and h are X'X and X'y (centred for a flat bias, which integrates out with n' = n − 1 and c_b = −½ log n;
raw for no bias, n' = n; raw and augmented by the intercept's column for a normal bias, whose prior sd over σ,
scale/σ, joins s as a fixed first entry). Q is computed as the penalised residual sum at its minimiser, not as
h'S B⁻¹ S h subtracted from y'y: the subtraction loses every digit when the fit is close (σ small against y's
spread and B ill-conditioned), while the minimum is only second-order sensitive to the error in m.
Differentiating (the envelope theorem for Q, and d log det B = 2(1 − (B⁻¹)_jj) d log s_j):

.. math::

    \frac{\partial \log p}{\partial \log s_j} = (B^{-1})_{jj} - 1 + \frac{m_j^2}{\sigma^2},
    \qquad \frac{\partial \log p}{\partial \log\sigma} = -n' + \frac{Q}{\sigma^2}
        \;(- \text{the first of these for a normal bias, whose } s_0 = \text{scale}/\sigma).

NUTS runs on θ = (u, log σ if random), the potential being −log p(y | u, σ) − log p(u) − log p(σ) − log σ (the
prior's ``latent_log_prior``, Jacobians included), O(p³) per gradient for p = d (+1 with a normal bias), O(k²p)
on the rank-k factor when the rows are fewer (:meth:`MarginalShrinkagePotential._factor`). Each
retained θ then gets an exact draw of w (and b) from N(S m, σ² S B⁻¹ S), so the pairs are draws of the joint
posterior.

Why: on the non-centred parametrisation (:mod:`bayesreg.infer.shrinkage_nuts`) the horseshoe's funnel between
τλ_j and z_j is only moved, not removed, and NUTS diverges; with w integrated out the geometry in u is that of the
half-Cauchy's logistic-tailed density in log λ_j with a smooth likelihood term, and no coordinate pins another.
Integrating out the conjugate block is the standard remedy (Johndrow, Orenstein & Bhattacharya 2020 do it for τ
in their Gibbs sampler; Stan's users marginalise Gaussian blocks for the same reason). No library provides the
closed form and gradient for these priors' scales, so they are written here, checked against SciPy's multivariate
normal density and finite differences in the tests.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import lapack

from ..errors import SpecError
from .potential import _LOG_2PI, Potential, _scale_logp

__all__ = ["MarginalShrinkagePotential"]

#: |log σ| beyond which σ or 1/σ² leaves floating point
_LOG_MAX = 300.0


class MarginalShrinkagePotential:
    """U(θ) = −log p(θ | y) + const on θ = (log latents, log σ if random), w and b integrated out (module
    docstring), for ``model`` (Gaussian noise, a prior with ``local_scales()``) on ``data`` (rows or
    :class:`SufficientStats`).

    ``blocks`` lists (name, slice, local) for each latent in θ, as in
    :class:`~bayesreg.infer.shrinkage_nuts.ShrinkagePotential`; :meth:`conditional_weights` draws w (and b)."""

    def __init__(self, data, model):
        from .shrinkage_nuts import shrinkage_setup

        prior = shrinkage_setup(self, data, model, "integrating the weights out")
        d, n, stats = self.d, self.n, self.stats
        kind = self.bias.kind
        self._lead = 1 if kind == "normal" else 0  # the intercept's coordinate in the augmented system
        if kind == "flat":
            self.gram, self.xty = self.sxx, np.asarray(stats.sxy, dtype=np.float64)
            self._n_eff = n - 1
        else:
            raw = self.sxx + n * np.outer(self.x_mean, self.x_mean)
            raw_xy = np.asarray(stats.sxy, dtype=np.float64) + n * self.y_mean * self.x_mean
            if kind == "normal":
                gram = np.empty((d + 1, d + 1))
                gram[0, 0], gram[0, 1:], gram[1:, 0], gram[1:, 1:] = n, n * self.x_mean, n * self.x_mean, raw
                raw, raw_xy = gram, np.concatenate([[n * self.y_mean], raw_xy])
            self.gram, self.xty = np.ascontiguousarray(raw), raw_xy
            self._n_eff = n
        if self._n_eff < 1:
            raise SpecError("a flat bias needs at least two rows to integrate out")
        blocks, k = [], 0
        for site in prior.sites:
            size = d if site.local else 1
            blocks.append((site.name, slice(k, k + size), site.local))
            k += size
        self.blocks = tuple(blocks)
        self._is = k if self.sigma_fixed is None else None
        k += self.sigma_fixed is None
        self.size = k
        self.layout = self  # FastNUTS and _run_chain read ``layout.size``
        self._const = -0.5 * self._n_eff * _LOG_2PI - (0.5 * math.log(n) if kind == "flat" else 0.0)
        if self.sigma_fixed is not None:
            self._const -= self._n_eff * math.log(self.sigma_fixed)
        self.low_rank = self._factor()
        self._eye = np.eye(self.gram.shape[0] if self.low_rank is None else self.low_rank[0].shape[0])  # the system's
        if self.low_rank is not None:
            R, a = self.low_rank
            self._r_fortran = np.asfortranarray(R)  # what LAPACK's triangular solve reads, without a copy a call
            # RSS(θ) = RSS(θ₀) + ‖Rθ − a‖² for any θ₀ with Rθ₀ = a (G = RᵀR, h = Rᵀa): O(kp) a gradient, not O(p²)
            least_norm = R.T @ np.linalg.solve(R @ R.T, a)
            self._rss_floor = self._centred_residual_sum(least_norm) - float(np.sum((R @ least_norm - a) ** 2))

    def _factor(self):
        """R (k, p) and a (k,) with RᵀR = G and Rᵀa = h, from G's eigenvectors, when the rows bound G's rank below
        p (k ≤ n − 1 for a flat bias, n otherwise, fewer than the p unknowns); else None. Only then: an
        ill-conditioned G of full rank (unscaled columns) keeps the p × p form, since cutting its small
        eigenvalues would throw that direction's data away.

        Then log det B = log det K (Sylvester's identity) with K = I_k + R S² Rᵀ, and m from K by Woodbury's: a
        k × k system ≥ I that stays positive definite when many scales are large together (τ large), where
        B = I + SGS has p − k eigenvalues 1 beside huge ones and stops being positive definite in floating point.
        One scale far out (s_j ≳ 1e8 at unit-scale columns) still makes K singular to working precision: U is
        then +∞, a divergence."""
        p = self.gram.shape[0]
        max_rank = self.n - 1 if self.bias.kind == "flat" else self.n
        if max_rank >= p:
            return None
        vals, vecs = np.linalg.eigh(self.gram)  # ascending: the top max_rank, less any at rounding level
        keep = np.zeros(p, dtype=bool)
        keep[p - max_rank:] = True
        keep &= vals > max(float(vals[-1]), 0.0) * p * np.finfo(float).eps * 10
        root = np.sqrt(vals[keep])
        R = np.ascontiguousarray((vecs[:, keep] * root).T)
        a = (vecs[:, keep].T @ self.xty) / root
        return R, a

    # ------------------------------------------------------------------------------------------- θ ↔ sites

    def latents_of(self, theta: np.ndarray) -> dict:
        """The log latents u from θ (…, size): a global one (…,), a local one (…, d)."""
        return {name: theta[..., sl] if local else theta[..., sl.start] for name, sl, local in self.blocks}

    def sigma_of(self, theta: np.ndarray):
        return self.sigma_fixed if self._is is None else np.exp(theta[..., self._is])

    def _scales(self, u: dict, sigma: float) -> np.ndarray:
        """s̃: the prior sds over σ of the system's coordinates (the intercept's scale/σ first, for a normal bias)."""
        s = np.exp(self.prior.log_scales(u))
        return np.concatenate([[self.bias.scale / sigma], s]) if self._lead else s

    def _residual_sum(self, coef: np.ndarray) -> float:
        """RSS(w, b) at the system's coefficients (b first for a normal bias; b at its optimum for a flat one): on
        the low-rank factor from ‖R coef − a‖², O(kp); else from the centred least-squares fit, O(p²)."""
        if self.low_rank is None:
            return self._centred_residual_sum(coef)
        R, a = self.low_rank
        gap = R @ coef - a
        return self._rss_floor + float(gap @ gap)

    def _centred_residual_sum(self, coef: np.ndarray) -> float:
        """RSS(w, b) from the centred least-squares fit: RSS_min + (w − ŵ)ᵀS_xx(w − ŵ) + n(ȳ − x̄ᵀw − b)²."""
        w = coef[self._lead:]
        delta = w - self.w_hat
        rss = self.rss_min + float(delta @ (self.sxx @ delta))
        if self.bias.kind != "flat":
            r = self.y_mean - float(self.x_mean @ w) - (coef[0] if self._lead else 0.0)
            rss += self.n * r * r
        return rss

    def _system(self, s: np.ndarray):
        """The lower Cholesky factor of the system (B = I + SGS, or K = I + RS²Rᵀ on the low-rank factor) and
        m = B⁻¹Sh; None when the factorisation fails (scales so far apart that the system is singular in
        floating point: the potential is then +∞, which NUTS treats as a divergence)."""
        if self.low_rank is None:
            matrix = self._eye + s[:, None] * self.gram * s[None, :]
        else:
            R, a = self.low_rank
            scaled = R * s
            matrix = self._eye + scaled @ scaled.T
        factor, info = lapack.dpotrf(matrix, lower=1, clean=1)
        if info != 0:
            return None, None
        if self.low_rank is None:
            m, _ = lapack.dpotrs(factor, s * self.xty, lower=1)
        else:
            beta, _ = lapack.dpotrs(factor, a, lower=1)
            m = s * (beta @ R)  # B⁻¹Sh = SRᵀK⁻¹a
        return factor, m

    def _log_marginal(self, s: np.ndarray, sigma: float):
        """log det B, Q and ∂ log p(y | s, σ)/∂ log s (module docstring); None when the system is singular."""
        factor, m = self._system(s)
        if factor is None:
            return None
        logdet = 2.0 * float(np.log(np.diagonal(factor)).sum())
        q = self._residual_sum(s * m) + float(m @ m)
        if self.low_rank is None:
            inverse_factor, _ = lapack.dtrtri(factor, lower=1)
            shrink = np.einsum("ij,ij->j", inverse_factor, inverse_factor) - 1.0  # (B⁻¹)_jj − 1
        else:
            solved, _ = lapack.dtrtrs(factor, self._r_fortran, lower=1)  # L⁻¹R
            shrink = -(s * s) * np.einsum("ij,ij->j", solved, solved)  # −s_j² r_jᵀK⁻¹r_j, the same by Woodbury
        return logdet, q, shrink + m * m / (sigma * sigma)

    # -------------------------------------------------------------------------------------------- U and ∇U

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """U(θ) and ∇U(θ) (module docstring), O(p³) or O(k²p); +∞ where floating point ends."""
        u = self.latents_of(theta)
        if self._is is not None and not abs(theta[self._is]) < _LOG_MAX:
            return math.inf, np.zeros_like(theta)  # σ beyond floating point: NUTS reads +∞ as a divergence
        sigma = self.sigma_fixed if self._is is None else math.exp(theta[self._is])
        s = self._scales(u, sigma)
        marginal = self._log_marginal(s, sigma) if np.isfinite(s).all() and s.all() else None
        if marginal is None:
            return math.inf, np.zeros_like(theta)
        logdet, q, cotangent = marginal  # cotangent: ∂ log p / ∂ log s̃
        inv_s2 = 1.0 / (sigma * sigma)
        logp = self._const - 0.5 * logdet - 0.5 * q * inv_s2
        grad = np.empty_like(theta)
        lp, g_prior = self.prior.latent_log_prior(u)
        logp += float(lp)
        g_scales = self.prior.log_scales_vjp(u, cotangent[self._lead:])
        for name, sl, _ in self.blocks:
            grad[sl] = g_scales.get(name, 0.0) + g_prior[name]
        if self._is is not None:
            v = theta[self._is]
            lps, dlps = _scale_logp(self.sigma_prior, v)
            logp += lps - self._n_eff * v
            grad[self._is] = q * inv_s2 - self._n_eff + dlps - (cotangent[0] if self._lead else 0.0)
        if not math.isfinite(logp):  # a square of a scale past floating point: +∞, not NaN
            return math.inf, np.zeros_like(theta)
        return -logp, -grad

    def __call__(self, theta: np.ndarray) -> float:
        return self.value_and_grad(theta)[0]

    torch_fn = Potential.torch_fn

    # -------------------------------------------------------------------------------- the weights, drawn

    def conditional_weights(self, thetas: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        """An exact draw of w (…, d) and b (…,; None for no bias) given each θ (…, size): (w, b) ~ N(S m, σ²S B⁻¹S)
        for a normal bias or none, then b | w ~ N(ȳ − x̄'w, σ²/n) for a flat one."""
        flat = thetas.reshape(-1, self.size)
        w = np.empty((flat.shape[0], self.d))
        b = np.empty(flat.shape[0]) if self.bias.present else None
        p = self.gram.shape[0]
        eps = rng.standard_normal((flat.shape[0], p))
        eps_k = None if self.low_rank is None else rng.standard_normal((flat.shape[0], self.low_rank[0].shape[0]))
        eps_b = rng.standard_normal(flat.shape[0]) if self.bias.kind == "flat" else None
        for i, theta in enumerate(flat):
            u = self.latents_of(theta)
            sigma = self.sigma_fixed if self._is is None else math.exp(theta[self._is])
            s = self._scales(u, sigma)
            factor, m = self._system(s)
            if factor is None:
                raise SpecError("a retained draw's scales make the weights' conditional system singular in floating "
                                "point: rescale X and y to unit spread")
            if self.low_rank is None:
                noise, _ = lapack.dtrtrs(factor, eps[i], lower=1, trans=1)  # L'x = ε: x ~ N(0, B⁻¹)
                coef = s * (m + sigma * noise)
            else:  # Bhattacharya et al. (2016): x = u + S²Rᵀω ~ N(0, SB⁻¹S) for u = Sε, Kω = −(Ru + δ)
                R = self.low_rank[0]
                prior_draw = s * eps[i]
                omega, _ = lapack.dpotrs(factor, -(R @ prior_draw + eps_k[i]), lower=1)
                coef = s * m + sigma * (prior_draw + s * s * (omega @ R))
            w[i] = coef[self._lead:]
            if self._lead:
                b[i] = coef[0]
            elif eps_b is not None:
                b[i] = self.y_mean - float(self.x_mean @ w[i]) + sigma / math.sqrt(self.n) * eps_b[i]
        shape = thetas.shape[:-1]
        return w.reshape(shape + (self.d,)), (None if b is None else b.reshape(shape))

    def constrained(self, thetas: np.ndarray, rng: np.random.Generator) -> tuple[dict, dict]:
        """The posterior's sites from θ draws (chain, draw, size): ``w`` and ``b`` drawn given each θ, each latent
        scale, ``sigma`` and the prior's derived quantities; and the dims of the per-weight ones."""
        w, b = self.conditional_weights(thetas, rng)
        out = {"w": w}
        u = self.latents_of(thetas)
        latents = {name: np.exp(u[name]) for name, _, _ in self.blocks}
        out.update(latents)
        out.update(self.prior.derived(latents))
        if b is not None:
            out["b"] = b
        if self._is is not None:
            out["sigma"] = np.exp(thetas[..., self._is])
        dims = {name: ("feature",) for name, v in out.items() if name != "w" and np.ndim(v) == 3}
        return out, dims

    # ------------------------------------------------------------------------------------------- start

    def start(self, rng: np.random.Generator, chains: int) -> list[np.ndarray]:
        """Starting θ per chain: latents at the prior's medians (from 4001 prior draws) moved by e^(±1) for chains
        after the first, log σ at a plug-in estimate."""
        from .nuts import _plug_in_sigma

        sigma = self.sigma_fixed if self.sigma_fixed is not None else _plug_in_sigma(self.stats)
        draws = self.prior.sample_latents(np.random.default_rng(0), (4001,), self.d)
        medians = {name: np.median(v, axis=0) for name, v in draws.items()}
        out = []
        for chain in range(chains):
            theta = np.empty(self.size)
            for name, sl, _ in self.blocks:
                shift = rng.uniform(-1.0, 1.0, np.shape(medians[name])) if chain else 0.0
                theta[sl] = np.log(medians[name]) + shift
            if self._is is not None:
                theta[self._is] = math.log(sigma)
            out.append(theta)
        return out
