"""Choosing λ: the checks. Each selection method against an oracle nobody here wrote (scikit-learn's BayesianRidge,
GridSearchCV and Ridge, SciPy quadrature, the full-rank evidence, Fisher's identity), computed from a
:class:`~.compute.ChoosingLambdaResult`."""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, stats

from ...data import Dataset
from ...infer.conjugate import gaussian_posterior, nig_posterior
from ...priors import Gaussian, parse_sigma_prior
from ...selection import default_sigma_prior, evidence_curve, lambda_grid, log_marginal_lambda, maximise_evidence
from ..base import Check, one_blas_thread
from .compute import FOLDS, ChoosingLambdaResult, _rel

__all__ = ["check", "BR_REL", "GRID_CV_REL", "SIGMA_HAT_ULPS", "QUAD_ABS", "REDUCED_ABS", "MODE_STEPS",
           "MODE_BRACKET"]

MODE_BRACKET = 33       # grid points for the independent evidence maximiser of the mode check

# Tolerances (each check's detail says why)
BR_REL = 1e-8           # one fixed point, solved by a root finder (xtol 1e-10 in ln λ) and by BayesianRidge (tol 1e-12)
GRID_CV_REL = 1e-8      # the same linear solves in two codes, averaged the same way
SIGMA_HAT_ULPS = 10.0   # the σ̂ identity holds to 10 roundings of a quantity with condition number κ (gap ≤ 10·ε·κ)
QUAD_ABS = 1e-7         # adaptive quadrature with epsrel 1e-11 on an integrand scaled to peak 1
REDUCED_ABS = 1e-8      # the same evidence from an n × n and a (d + 1) × (d + 1) factorisation
MODE_STEPS = 0.25       # parabolic vertex of the grid posterior against the Brent root (measured ≤ 0.04 steps)
EPS = float(np.finfo(float).eps)


@one_blas_thread
def check(result: ChoosingLambdaResult) -> list[Check]:
    """Every check of the study, diabetes first."""
    return _diabetes_checks(result.diabetes, result.quick) + _d2l_checks(result.d2l, result.quick)


def _sigma_hat_gap(data: Dataset, lam: float) -> float:
    """|E[‖r‖² + λ‖w‖²]/((n + d) σ̂²) − 1| at canonical λ: σ̂ from the closed form the evidence search profiles
    with, the moments from gaussian_posterior on the full data at (τ = σ̂/√λ, σ̂).

    At fixed λ, ∂ log p(y | τ = σ/√λ, σ)/∂σ = E[∂ log p(y, w, b)/∂σ | y] (Fisher's identity) is zero where
    (n + d)σ² = E[‖y − Xw − b‖² + λ‖w‖²] = 2J_min + (d + 1)σ², i.e. σ² = 2J_min/(n − 1) with a flat bias.
    """
    s = float(evidence_curve(data, [lam]).sigma[0])
    post = gaussian_posterior(data, prior=Gaussian(s / math.sqrt(lam)), sigma=s, bias="flat")
    n, d = data.n, data.d
    Z = np.column_stack([data.X, np.ones(n)])
    r = data.y - Z @ post.mean
    er2 = float(r @ r + np.sum((Z @ post.cov) * Z))
    w = post.mean[:d]
    ew2 = float(w @ w + np.trace(post.cov[:d, :d]))
    return abs((er2 + lam * ew2) / ((n + d) * s * s) - 1.0)


def _sigma_hat_check(name: str, data: Dataset, eig: np.ndarray, points: dict, left_out: str = "") -> Check:
    """The closed-form σ̂(λ) against Fisher's identity at each of ``points`` (label → λ), each gap in units of
    ε·κ, κ = 1 + e_max/λ (a bound on the condition number of X_cᵀX_c + λI, e_max its largest eigenvalue)."""
    rows = []
    for label, lam in points.items():
        kappa = 1.0 + float(eig[-1]) / lam
        gap = _sigma_hat_gap(data, lam)
        rows.append((label, lam, gap, kappa, gap / (EPS * kappa)))
    worst = max(r[4] for r in rows)
    per = "; ".join(f"{label} λ = {lam:.3g}: gap {gap:.1e}, κ = {kappa:.2g}" for label, lam, gap, kappa, _ in rows)
    return Check.at_most(
        f"{name}: the closed-form σ̂(λ)² = 2J/(n − 1) is the noise variance's stationary point at fixed λ",
        worst, SIGMA_HAT_ULPS,
        f"worst |E[‖r‖² + λ‖w‖²]/((n + d)σ̂²) − 1| / (ε·κ), moments from gaussian_posterior on all {data.d} "
        f"weights (the search uses the reduced problem); κ = 1 + e_max/λ bounds the condition number of "
        f"X_cᵀX_c + λI (e_max = {float(eig[-1]):.4g}), ε = {EPS:.2g}. {per}.{left_out}")


def _gridsearch(data: Dataset, lams, seed: int) -> tuple[np.ndarray, int]:
    """GridSearchCV(Ridge()) over the same KFold: its mean MSE per λ (Ridge's alpha is the canonical λ) and
    ``best_index_``."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, KFold

    gs = GridSearchCV(Ridge(), {"alpha": list(lams)}, cv=KFold(FOLDS, shuffle=True, random_state=seed),
                      scoring="neg_mean_squared_error").fit(data.X, data.y)
    return -gs.cv_results_["mean_test_score"], int(gs.best_index_)


def _cv_checks(name: str, data: Dataset, cv, seed: int, step: int) -> list[Check]:
    idx = np.arange(0, len(cv.lams), step)
    theirs, best = _gridsearch(data, cv.lams[idx], seed)
    ours = cv.loss[idx]
    return [
        Check.at_most(f"{name}: {FOLDS}-fold CV curve = scikit-learn GridSearchCV(Ridge)",
                      float(np.max(np.abs(ours / theirs - 1.0))), GRID_CV_REL,
                      f"max relative difference of the mean fold MSE over {len(idx)} λ; the same KFold({FOLDS}, "
                      f"shuffle, random_state={seed}) splits and equal fold weights, so only round-off separates them"),
        Check.close(f"{name}: {FOLDS}-fold CV picks the same grid λ as GridSearchCV", float(np.argmin(ours)),
                    float(best), 0.0, f"index of the best of the {len(idx)} shared λ (one in {step} of the study's "
                    "grid) against GridSearchCV's best_index_"),
    ]


def _nig_by_quadrature(data: Dataset, lam: float, sigma_prior) -> float:
    """log ∫ p(y | τ = σ/√λ, σ) InvGamma(σ² | a₀, b₀) dσ², by adaptive quadrature over t = ln σ²."""
    a0, b0 = sigma_prior.params
    t0 = 2.0 * math.log(float(evidence_curve(data, [lam]).sigma[0]))

    def log_f(t: float) -> float:
        s = math.exp(0.5 * t)
        ev = gaussian_posterior(data, prior=Gaussian(s / math.sqrt(lam)), sigma=s, bias="flat").log_evidence
        return ev + float(stats.invgamma.logpdf(math.exp(t), a0, scale=b0)) + t

    peak = log_f(t0)
    value, _ = integrate.quad(lambda t: math.exp(log_f(t) - peak), t0 - 8.0, t0 + 8.0, points=[t0], epsabs=0.0,
                              epsrel=1e-11, limit=400)
    return peak + math.log(value)


def _diabetes_checks(dia: dict, quick: bool) -> list[Check]:
    data, best, br = dia["data"], dia["best"], dia["br"]
    checks = [
        Check.at_most("diabetes: evidence λ (centred data, no bias) = BayesianRidge lambda_/alpha_",
                      _rel(dia["best_none"].lam, br["lam"]), BR_REL,
                      "relative difference; BayesianRidge(fit_intercept=True, alpha_1 = alpha_2 = lambda_1 = "
                      "lambda_2 = 0, tol=1e-12) centres X and y and counts n observations: type-II ML of the centred "
                      "data without a bias"),
        Check.at_most("diabetes: evidence λ (flat bias) = BayesianRidge on the n − 1 contrasts",
                      _rel(best.lam, dia["br_contrasts"]["lam"]), BR_REL,
                      "relative difference; integrating out a flat bias is exactly a no-bias model of Qᵀy, QᵀX (Q an "
                      "orthonormal basis of 1^⊥), fitted by BayesianRidge(fit_intercept=False)"),
        _sigma_hat_check("diabetes", data, dia["eig"], {"evidence max": best.lam, "grid start": float(dia["lams"][0]),
                                                        "grid end": float(dia["lams"][-1])}),
    ]
    checks += _cv_checks("diabetes", data, dia["cv"], dia["seed"], 2)
    from sklearn.linear_model import Ridge

    val = dia["val"]
    idx = np.arange(0, len(val.lams), 4)
    worst = 0.0
    for i in idx:
        est = Ridge(alpha=float(val.lams[i])).fit(dia["train"].X, dia["train"].y)
        mse = float(np.mean((dia["valid"].y - est.predict(dia["valid"].X)) ** 2))
        worst = max(worst, _rel(val.loss[i], mse))
    checks.append(Check.at_most("diabetes: validation curve = scikit-learn Ridge on the same split", worst,
                                GRID_CV_REL, f"max relative difference of the validation MSE over {len(idx)} λ"))
    sp = parse_sigma_prior(default_sigma_prior(data))
    lams = [0.01, best.lam, 0.1] if quick else [0.003, 0.01, best.lam, 0.1, 1.0]
    ours = log_marginal_lambda(data, lams, sigma_prior=sp)
    quad = [_nig_by_quadrature(data, lam, sp) for lam in lams]
    checks.append(Check.at_most("diabetes: NIG evidence p(y | λ) = quadrature over σ² of the σ-known evidence",
                                float(np.max(np.abs(ours - np.array(quad)))), QUAD_ABS,
                                f"max |Δ log p| at λ = {', '.join(f'{v:.3g}' for v in lams)}; scipy.integrate.quad "
                                f"over ln σ² of gaussian_posterior's evidence × InvGamma({sp.params[0]:g}, "
                                f"{sp.params[1]:.4g}) density"))
    return checks


def _mode_check(name: str, train: Dataset, post, sigma: float) -> Check:
    """With σ known and a log-uniform hyperprior the posterior over ln λ is the evidence curve: its mode (the
    vertex of the parabola through the grid maximum and its neighbours) against :func:`maximise_evidence`, the
    root of Fisher's identity bracketed on its own coarse grid (a different code path: posterior moments, not
    evidence values)."""
    best = maximise_evidence(train, sigma=sigma, lams=lambda_grid(train, num=MODE_BRACKET))
    u = np.log(post.lams)
    step = float(u[1] - u[0])
    log_post = post.log_marginal + post.log_prior
    i = int(np.argmax(log_post))
    if best.at_boundary or i in (0, len(u) - 1):
        value = math.inf
    else:
        f0, f1, f2 = log_post[i - 1 : i + 2]
        vertex = u[i] + 0.5 * step * (f0 - f2) / (f0 - 2.0 * f1 + f2)
        value = abs(vertex - math.log(best.lam)) / step
    return Check.at_most(
        f"{name}: hyperprior mode (log-uniform hyperprior) = evidence maximiser", value, MODE_STEPS,
        f"|Δ ln λ| in grid steps ({step:.3g} in ln λ, {len(u)} points) between the parabolic vertex of the "
        f"log posterior around its grid maximum and maximise_evidence(sigma={sigma:g}) bracketed on a "
        f"{MODE_BRACKET}-point grid; the vertex is exact to O(step²) (measured ≤ 0.04 step over 40 draws)")


def _d2l_checks(d2l: dict, quick: bool) -> list[Check]:
    train, sigma = d2l["train"], d2l["sigma"]
    fr = d2l["best_free"]
    points = {"truth": d2l["truth_lam"], "chapter": d2l["chapter_lam"]}
    left_out = ""
    if fr.at_boundary:
        left_out = (f" The σ-unknown evidence maximum is at the grid's edge (λ = {fr.lam:.3g}): not a stationary "
                    "point, so it is left out (reported as not identified)")
    else:
        points = {"σ-unknown evidence max": fr.lam, **points}
    checks = [_sigma_hat_check("d2l", train, d2l["eig"], points, left_out)]
    lams = np.array([0.1, 60.0] if quick else [0.1, 1.0, 60.0, 1e3])
    reduced_known = evidence_curve(train, lams, sigma=sigma).log_evidence
    full_known = [gaussian_posterior(train, prior=Gaussian(sigma / math.sqrt(v)), sigma=sigma).log_evidence
                  for v in lams]
    sp = parse_sigma_prior(default_sigma_prior(train))
    reduced_nig = log_marginal_lambda(train, lams, sigma_prior=sp)
    full_nig = [nig_posterior(train, prior=float(v), sigma_prior=sp).log_evidence for v in lams]
    gap = max(float(np.max(np.abs(reduced_known - full_known))), float(np.max(np.abs(reduced_nig - full_nig))))
    checks.append(Check.at_most("d2l: the n × n reduced evidence = the full evidence over every weight", gap,
                                REDUCED_ABS,
                                f"max |Δ log p| at λ = {', '.join(f'{v:g}' for v in lams)}, σ known and NIG, "
                                f"{train.n} × {train.n} against {train.d + 1} × {train.d + 1}; the evidence depends "
                                "on X only through XXᵀ, so selection works with X V (thin SVD)"))
    checks += _cv_checks("d2l", train, d2l["cv"], d2l["seed"], 3)
    checks.append(_mode_check("d2l (σ known)", train, d2l["post_known"], sigma))
    return checks
