r"""Pólya–Gamma Gibbs sampling for logistic regression: exact data augmentation (Polson, Scott & Windle 2013).

Model (the same as the Pyro model and the row potential, so that Gibbs and NUTS target one posterior):

.. math::

    y_i \mid \eta_i \sim \mathrm{Bernoulli}(\operatorname{sigmoid}(\eta_i)), \quad \eta = Xw + b, \qquad
    w_j \sim N(0, \tau^2) \ \text{or}\ \mathrm{Laplace}(0, s), \qquad b \text{ flat},\ N(0, S^2) \text{ or } 0.

**The identity.** For ω ~ PG(1, 0), :math:`\frac{(e^{\eta})^{y}}{1 + e^{\eta}} = \tfrac12 e^{\kappa\eta}
\,E_\omega[e^{-\omega\eta^2/2}]`, κ = y − ½. So with one latent ω_i per row the likelihood is Gaussian in η, and
every full conditional is standard:

1. **ω_i | θ ~ PG(1, η_i)**, drawn by the ``polyagamma`` package (Windle's hybrid sampler; exact).
2. **θ = (w, b) | ω, v ~ N(m, V)**, :math:`V^{-1} = Z^\top \Omega Z + P`, :math:`m = V Z^\top\kappa`, Z = [X, 1],
   Ω = diag(ω), P the prior precision: 1/τ² (Gaussian) or 1/v_j (Laplace, below) for w, 0 / 1/S² for b. Drawn as
   m + L⁻ᵀε with LLᵀ = V⁻¹ (one Cholesky factorisation per chain and sweep).
3. **Laplace prior**, as a scale mixture (w_j | v_j ~ N(0, v_j), v_j ~ Exp(rate 1/(2s²)), Andrews & Mallows
   1974): 1/v_j | w_j ~ InverseGaussian(1/(s|w_j|), 1/s²), the same draw as the Bayesian lasso's
   (:func:`bayesreg.infer.gibbs._draw_latent_variances`); with 1/s² ~ Gamma(r, rate δ) also
   ℓ = 1/s² | v ~ Gamma(r + d, δ + ½Σv_j) (reported as ``tau`` = s).

A sweep costs O(n p²) for ZᵀΩZ plus O(p³) for the factorisation, p = d + 1; all chains advance together (one
random stream, batched Cholesky). No tuning, no rejection, no step size: the draws are exact conditionals.

References: N. G. Polson, J. G. Scott & J. Windle (2013), *Bayesian inference for logistic models using Pólya–Gamma
latent variables*, JASA 108(504), 1339–1349; the ``polyagamma`` package (Z. Nkosi), its ``random_polyagamma``.
"""

from __future__ import annotations

import time

import numpy as np

from ..errors import SpecError
from .gibbs import PROGRESS_EVERY, _draw_latent_variances
from .result import Posterior, RunDiagnostics

__all__ = ["polya_gamma_gibbs", "supports_polya_gamma"]


def supports_polya_gamma(model) -> str | None:
    """None when the Pólya–Gamma sampler runs ``model`` (a :class:`~bayesreg.model.Model`), else why not."""
    if not getattr(model.likelihood, "polya_gamma", False):
        return f"it needs a likelihood with a Pólya–Gamma augmentation (logistic), not {model.likelihood.name}"
    prior = model.prior
    if prior.scale_mixture() is not None:
        return None
    if not prior.hyperpriors() and prior.elementwise_penalty(1.0) is not None:
        l1, l2 = prior.elementwise_penalty(1.0)
        if l1 == 0 and l2 > 0:
            return None
    return (f"the {prior.name} prior has no Gaussian or scale-mixture conditional (the Pólya–Gamma sampler takes a "
            "gaussian prior with --tau, or a laplace prior with --scale or an invgamma scale prior)")


def polya_gamma_gibbs(data, model, *, chains: int = 4, draws: int = 1000, warmup: int = 500, seed: int = 0,
                      progress=None) -> Posterior:
    """Sample the posterior of a logistic ``model`` (:class:`~bayesreg.model.Model`) on ``data`` (rows needed).

    Returns a :class:`Posterior` with ``method="gibbs"``: ``w`` (chain, draw, d), ``b`` unless ``bias="none"``,
    ``tau`` (the Laplace scale) when it has a prior.
    """
    from polyagamma import random_polyagamma

    reason = supports_polya_gamma(model)
    if reason:
        raise SpecError(f"the Pólya–Gamma Gibbs sampler cannot run this model: {reason}")
    if not hasattr(data, "X"):
        raise SpecError("the Pólya–Gamma sampler needs the data rows, not sufficient statistics")
    begin = time.perf_counter()
    X = np.asarray(data.X, dtype=np.float64)
    y = model.likelihood.validate_target(data.y)
    n, d = X.shape
    bias = model.bias
    Z = np.hstack([X, np.ones((n, 1))]) if bias.present else X
    p = Z.shape[1]
    kappa = y - 0.5
    zk = Z.T @ kappa
    mixture = model.prior.scale_mixture()
    base = np.zeros(p)  # prior precision of the coordinates whose precision is fixed
    if bias.kind == "normal":
        base[d] = 1.0 / bias.scale**2
    hyper, s_now = None, None
    if mixture is None:
        base[:d] = model.prior.elementwise_penalty(1.0)[1]  # 1/τ²
    elif mixture.scale is not None:
        s_now = np.full(chains, float(mixture.scale))
    else:
        hyper = mixture.scale_prior
    rng = np.random.default_rng(seed)
    # Start: each chain at the prior-scale-sized ridge fit plus a jitter (so that R-hat sees chains that differ).
    from ..solvers.logistic import logistic_map
    from ..solvers.objective import PenalizedLeastSquares

    start_l2 = base[0] if mixture is None else 1.0
    fit = logistic_map(X, y, PenalizedLeastSquares(l2=max(start_l2, 1e-6), bias=bias.kind if bias.kind != "normal"
                                                   else "penalized", bias_l2=base[d] if bias.kind == "normal"
                                                   else 0.0), tol=1e-6, max_iter=50)
    theta = np.tile(np.r_[fit.w, [fit.b] if bias.present else []], (chains, 1))
    theta += 0.1 * rng.standard_normal(theta.shape) * np.maximum(np.abs(theta), 0.1)
    if mixture is not None:
        if hyper is not None:
            s0 = max(float(np.mean(np.abs(fit.w))), 1e-3)
            s_now = s0 * np.exp(rng.uniform(-0.5, 0.5, size=chains))
        v = (2.0 * s_now**2)[:, None] * np.ones((chains, d))
    kept = {"w": np.empty((chains, draws, d))}
    if bias.present:
        kept["b"] = np.empty((chains, draws))
    if hyper is not None:
        kept["tau"] = np.empty((chains, draws))
    total = warmup + draws
    prec = np.empty((chains, p, p))
    diag = np.arange(p)
    for it in range(total):
        eta = theta @ Z.T  # (chains, n)
        omega = random_polyagamma(1.0, eta, random_state=rng)
        for c in range(chains):
            np.matmul(Z.T * omega[c], Z, out=prec[c])
        prec[:, diag, diag] += base
        if mixture is not None:
            prec[:, diag[:d], diag[:d]] += 1.0 / v
        try:
            L = np.linalg.cholesky(prec)
        except np.linalg.LinAlgError:
            raise SpecError("the Pólya–Gamma sampler's posterior precision is numerically singular: rescale the "
                            "features (--standardize) or use a smaller prior scale") from None
        # mean m solves (LLᵀ) m = Zᵀκ; a draw adds L⁻ᵀε
        half = np.linalg.solve(L, np.broadcast_to(zk, (chains, p))[..., None])
        eps = rng.standard_normal((chains, p, 1))
        theta = np.linalg.solve(np.swapaxes(L, 1, 2), half + eps)[..., 0]
        if mixture is not None:
            v = _draw_latent_variances(rng, theta[:, :d], s_now)
            if hyper is not None:
                r, delta = hyper
                ell = rng.standard_gamma(r + d, size=chains) / (delta + 0.5 * v.sum(axis=1))
                s_now = 1.0 / np.sqrt(ell)
        if it >= warmup:
            k = it - warmup
            kept["w"][:, k] = theta[:, :d]
            if bias.present:
                kept["b"][:, k] = theta[:, d]
            if hyper is not None:
                kept["tau"][:, k] = s_now
        if progress is not None and ((it + 1) % PROGRESS_EVERY == 0 or it + 1 == total):
            progress(it + 1, total)
    if not all(np.isfinite(a).all() for a in kept.values()):
        raise SpecError("the Pólya–Gamma sampler produced non-finite draws: rescale the features (--standardize)")
    names = tuple(getattr(data, "feature_names", None) or (f"x{j}" for j in range(d)))
    info = {"sampler": "Pólya–Gamma Gibbs (Polson, Scott & Windle 2013)", "chains": chains, "draws": draws,
            "warmup": warmup, "iterations": total}
    return Posterior("gibbs", kept, names, seconds=time.perf_counter() - begin, info=info,
                     attrs={"sampler": info["sampler"], "seed": seed, "warmup": warmup},
                     likelihood=model.likelihood, diagnostics=RunDiagnostics("markov chain"))
