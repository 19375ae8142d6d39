"""Choosing λ, four ways side by side.

The same L2 penalty ½Σr² + (λ/2)‖w‖² can be tuned four ways: empirical Bayes (maximise the evidence p(y | τ, σ)
over the prior sd τ and the noise sd σ, no data held out), a validation set, K-fold cross-validation, or a
hyperprior (a posterior over λ instead of one value). This study runs all four on the diabetes data, where
scikit-learn's ``BayesianRidge`` is the oracle for the evidence, and on the weight-decay chapter's problem
(Dive into Deep Learning §3.7: fewer rows than weights, all weights equal), where the truth is known, next to
the chapter's λ. Every λ is canonical: λ = σ²/τ² in ½Σr² + (λ/2)‖w‖².

Every number in the page's text, tables and captions is formatted from the computed values (:func:`_intro` and
the section builders), so the text holds at any seed.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import integrate, linalg, stats

from ..conventions import to_canonical_lam
from ..data import Dataset, from_arrays, load_d2l, load_diabetes
from ..infer.conjugate import gaussian_posterior, nig_posterior
from ..priors import Gaussian, parse_sigma_prior
from ..selection import (
    cv_curve,
    default_sigma_prior,
    evidence_curve,
    lambda_grid,
    lambda_posterior,
    log_marginal_lambda,
    maximise_evidence,
    validation_curve,
)
from ..solvers import PenalizedLeastSquares
from ..solvers.closed_form import ridge
from .base import Check, Section, StudyResult, Table, new_figure, one_blas_thread, quiet
from .base import Figure as StudyFigure
from .common import CHAPTER_CONVENTION, CHAPTER_LAM, CREDIBLE_MASS, public, split_rows

__all__ = ["run", "METHODS", "CHAPTER_LAM"]

FOLDS = 5
EDGE_FRACTION = 0.05    # LambdaPosterior.edge_mass: the outer share of the ln λ grid at either end
#: the profile-likelihood interval for λ: log p within ½χ²₁(LEVEL) (1.92 nats at 95%) of its maximum
LIKELIHOOD_LEVEL = 0.95
LIKELIHOOD_DROP = 0.5 * float(stats.chi2.ppf(LIKELIHOOD_LEVEL, 1))
LI = f"{100 * LIKELIHOOD_LEVEL:.0f}% likelihood interval"
INTERPOLANT_SHARE = 0.01  # λ ≤ this share of the smallest Gram eigenvalue: the MAP is within it of the interpolant
MODE_BRACKET = 33       # grid points for the independent evidence maximiser of the mode check

#: selection method -> (label, colour, line style); the keys are those of ``StudyResult.selection``
METHODS = {
    "evidence": ("empirical Bayes (evidence max)", "C3", "--"),
    "bayesian_ridge": ("scikit-learn BayesianRidge", "C9", ":"),
    "validation": ("validation set", "C2", "--"),
    "cv": (f"{FOLDS}-fold CV", "C6", "--"),
    "hyperprior": ("hyperprior (posterior median)", "C4", "-."),
    "chapter": (f"chapter's λ = {CHAPTER_LAM:g} ({CHAPTER_CONVENTION} convention)", "k", "-"),
    "truth": ("truth", "C8", "-"),
}
SELECTED = ("evidence", "validation", "cv", "hyperprior")  # the keys of StudyResult.selection (and bayesian_ridge)
EDGE_TEXT = {"lower edge": "at the grid's lower edge", "upper edge": "at the grid's upper edge",
             "not identified": "not identified"}

# Tolerances (each check's detail says why)
BR_REL = 1e-8           # one fixed point, solved by a root finder (xtol 1e-10 in ln λ) and by BayesianRidge (tol 1e-12)
GRID_CV_REL = 1e-8      # the same linear solves in two codes, averaged the same way
SIGMA_HAT_ULPS = 10.0   # the σ̂ identity holds to 10 roundings of a quantity with condition number κ (gap ≤ 10·ε·κ)
QUAD_ABS = 1e-7         # adaptive quadrature with epsrel 1e-11 on an integrand scaled to peak 1
REDUCED_ABS = 1e-8      # the same evidence from an n × n and a (d + 1) × (d + 1) factorisation
MODE_STEPS = 0.25       # parabolic vertex of the grid posterior against the Brent root (measured ≤ 0.04 steps)
EPS = float(np.finfo(float).eps)


@one_blas_thread
def run(*, seed: int = 0, quick: bool = False, progress=quiet) -> StudyResult:
    """Empirical Bayes, validation, K-fold CV and a hyperprior on diabetes and on the chapter's d2l problem."""
    start = time.perf_counter()
    progress(f"diabetes: evidence, BayesianRidge, validation, {FOLDS}-fold CV, hyperprior")
    dia = _diabetes(seed, quick)
    progress("d2l: the four methods, σ known and unknown")
    d2l = _d2l(seed, quick)
    progress("d2l: the picks over several draws of the problem")
    seeds = _d2l_seeds(seed, 3 if quick else 10, quick)
    progress("oracle checks: BayesianRidge, GridSearchCV, quadrature, the σ̂ closed form, the hyperprior's mode")
    checks = _diabetes_checks(dia, quick) + _d2l_checks(d2l, quick)
    # σ-known picks on d2l: σ unknown is not identified there, so its maxima (on or near the grid's edge) stay in
    # the summary (d2l.evidence_sigma_unknown), flagged. A held-out pick on its grid's edge is what that method
    # picked; summary["selection_flags"] says so.
    selection = {
        name: {k: float(res["picks"][k]) for k in keys}
        for name, res, keys in (("diabetes", dia, SELECTED + ("bayesian_ridge",)), ("d2l", d2l, SELECTED))
    }
    for name, res in (("diabetes", dia), ("d2l", d2l)):
        for k in ("evidence", "hyperprior"):
            if res["flags"][k] is not None:  # never seen (σ known or n > d); a boundary value is no pick
                del selection[name][k]
    summary = _summary(dia, d2l, seeds, seed, quick)
    progress("figures")
    sections = [_evidence_section(dia, d2l), _heldout_section(dia, d2l), _posterior_section(dia, d2l),
                _picks_section(dia, d2l, seeds)]
    notes = {name: {"sigma": summary["selection_sigma"][name], **summary["selection_flags"][name]}
             for name in selection}
    return StudyResult("choosing_lambda", "Choosing λ, four ways side by side", _intro(dia, d2l), sections, checks,
                       summary, selection, time.perf_counter() - start, selection_notes=notes)


# ------------------------------------------------------------------------------------------ computations

def _bayesian_ridge(X, y, *, fit_intercept: bool) -> dict:
    """scikit-learn's type-II ML (Gamma hyperpriors set to 0): its alpha_ is 1/σ², lambda_ is 1/τ²."""
    from sklearn.linear_model import BayesianRidge

    est = BayesianRidge(alpha_1=0.0, alpha_2=0.0, lambda_1=0.0, lambda_2=0.0, tol=1e-12, max_iter=100_000,
                        fit_intercept=fit_intercept).fit(X, y)
    return {"lam": float(est.lambda_ / est.alpha_), "alpha_": float(est.alpha_), "lambda_": float(est.lambda_),
            "sigma": float(est.alpha_**-0.5), "tau": float(est.lambda_**-0.5), "n_iter": int(est.n_iter_)}


def _contrasts(data: Dataset) -> Dataset:
    """The n − 1 contrasts Qᵀy, QᵀX (Q an orthonormal basis of 1^⊥): integrating out a flat bias is exactly a
    no-bias model of these (the evidence differs by the constant −½ log n)."""
    Q = linalg.null_space(np.ones((1, data.n)))
    return from_arrays(Q.T @ data.X, Q.T @ data.y, feature_names=data.feature_names, name=f"{data.name}-contrasts")


def _gram_eigenvalues(data: Dataset) -> np.ndarray:
    """The nonzero eigenvalues of the centred Gram matrix X_cᵀX_c (= those of X_cX_cᵀ), ascending."""
    Xc = data.X - data.X.mean(axis=0)
    e = np.linalg.eigvalsh(Xc.T @ Xc) if data.d <= data.n else np.linalg.eigvalsh(Xc @ Xc.T)
    return e[e > 1e-9 * e[-1]]


def _effective_params(eig: np.ndarray, lam: float) -> float:
    """γ = Σ eᵢ/(eᵢ + λ) over the eigenvalues of the centred Gram matrix: the number of well-determined weights."""
    return float(np.sum(eig / (eig + lam)))


def _map(train: Dataset, lam: float):
    return ridge(train.X, train.y, PenalizedLeastSquares(l2=lam, bias="flat"))


def _sq_errors(train: Dataset, test: Dataset, lam: float) -> np.ndarray:
    """The squared errors on ``test`` of the MAP on ``train`` at canonical λ, one per row."""
    res = _map(train, lam)
    r = test.y - test.X @ res.w - res.b
    return r * r


def _half_mse(train: Dataset, test: Dataset, lam: float) -> float:
    """The chapter's loss, mean ½r² on ``test``, of the MAP on ``train`` at canonical λ."""
    return float(np.mean(0.5 * _sq_errors(train, test, lam)))


def _likelihood_interval(lams: np.ndarray, log_p: np.ndarray) -> dict:
    """The grid λ whose log p(y | λ) is within LIKELIHOOD_DROP of the grid maximum (a 95% profile-likelihood
    interval): its ends, and whether it lies inside the grid (λ identified) or reaches an edge."""
    inside = lams[log_p >= np.max(log_p) - LIKELIHOOD_DROP]
    lo, hi = float(inside.min()), float(inside.max())
    return {"lo": lo, "hi": hi, "identified": bool(lo > lams[0] and hi < lams[-1]),
            "grid": [float(lams[0]), float(lams[-1])]}


def _evidence_flag(best, interval: dict) -> str | None:
    """None for a usable evidence maximum; else where it is: at a grid edge, or interior but not identified."""
    if best.at_boundary:
        lo, hi = best.bounds
        return "lower edge" if abs(math.log(best.lam / lo)) < abs(math.log(best.lam / hi)) else "upper edge"
    return None if interval["identified"] else "not identified"


def _curve_flag(curve) -> str | None:
    """None for an interior grid pick of a validation or CV curve, else the grid edge it sits on."""
    if not curve.at_boundary:
        return None
    return "lower edge" if curve.index == 0 else "upper edge"


def _posterior_flag(post) -> str | None:
    return None if _likelihood_interval(post.lams, post.log_marginal)["identified"] else "not identified"


def _posterior_summary(post) -> dict:
    lo, hi = post.interval(CREDIBLE_MASS)
    li = _likelihood_interval(post.lams, post.log_marginal)
    return {"median": post.median, "mode": post.mode, "credible_mass": CREDIBLE_MASS, "interval": [lo, hi],
            "edge_mass": post.edge_mass(EDGE_FRACTION), "edge_fraction": EDGE_FRACTION,
            "likelihood_interval_95": [li["lo"], li["hi"]], "identified": li["identified"],
            "hyperprior": post.hyperprior, "sigma_prior": post.sigma_prior, "sigma": post.sigma}


def _diabetes(seed: int, quick: bool) -> dict:
    data = load_diabetes()
    lams = np.geomspace(1e-4, 1e2, 49 if quick else 121)
    curve = evidence_curve(data, lams)
    best = maximise_evidence(data)
    centred = from_arrays(data.X - data.X.mean(axis=0), data.y - data.y.mean(), feature_names=data.feature_names,
                          name="diabetes-centred")
    best_none = maximise_evidence(centred, bias="none")
    contrasts = _contrasts(data)
    br = _bayesian_ridge(data.X, data.y, fit_intercept=True)
    br_contrasts = _bayesian_ridge(contrasts.X, contrasts.y, fit_intercept=False)
    eig = _gram_eigenvalues(data)
    train, valid = split_rows(data, seed)  # the rows every study on the page holds out at this seed
    val = validation_curve(train, valid, lams)
    cv = cv_curve(data, lams, folds=FOLDS, seed=seed)
    post = lambda_posterior(data, lambda_grid(data, num=161 if quick else 641))
    picks = {"evidence": best.lam, "bayesian_ridge": br["lam"], "validation": val.lam, "cv": cv.lam,
             "hyperprior": post.median}
    flags = {"evidence": _evidence_flag(best, _likelihood_interval(lams, curve.log_evidence)),
             "validation": _curve_flag(val), "cv": _curve_flag(cv), "hyperprior": _posterior_flag(post)}
    return {"data": data, "lams": lams, "curve": curve, "best": best, "best_none": best_none, "br": br,
            "br_contrasts": br_contrasts, "contrasts": contrasts, "eig": eig, "gamma": _effective_params(eig, best.lam),
            "train": train, "valid": valid, "val": val, "cv": cv, "post": post, "picks": picks, "flags": flags,
            "seed": seed}


def _d2l(seed: int, quick: bool) -> dict:
    problem = load_d2l(seed)
    train, test = problem.train, problem.test
    valid = load_d2l(seed + 1).test  # fresh rows from the same generator
    sigma = problem.noise_sd
    tau_true = float(np.sqrt(np.mean(problem.true_w**2)))  # the weights' rms: the prior sd that fits them
    truth_lam = sigma**2 / tau_true**2
    chapter_lam = to_canonical_lam("l2", CHAPTER_LAM, train.n, CHAPTER_CONVENTION)
    lams = np.geomspace(1e-3, 1e6, 55 if quick else 181)  # validation, CV and test curves
    grid = lambda_grid(train, num=161 if quick else 641)   # evidence curves and the hyperprior's support
    curve_known = evidence_curve(train, grid, sigma=sigma)
    curve_free = evidence_curve(train, grid)
    best_known = maximise_evidence(train, sigma=sigma)
    best_free = maximise_evidence(train)
    li_known = _likelihood_interval(grid, curve_known.log_evidence)
    li_free = _likelihood_interval(grid, curve_free.log_evidence)
    val = validation_curve(train, valid, lams)
    cv = cv_curve(train, lams, folds=FOLDS, seed=seed)
    test_curve = validation_curve(train, test, lams)  # MSE on the test rows, for reference only
    post_known = lambda_posterior(train, grid, sigma=sigma)
    post_free = lambda_posterior(train, grid)
    picks = {"evidence": best_known.lam, "validation": val.lam, "cv": cv.lam, "hyperprior": post_known.median,
             "evidence_sigma_unknown": best_free.lam, "hyperprior_sigma_unknown": post_free.median,
             "chapter": chapter_lam, "truth": truth_lam, "best_on_test": test_curve.lam}
    flags = {"evidence": _evidence_flag(best_known, li_known), "validation": _curve_flag(val),
             "cv": _curve_flag(cv), "hyperprior": _posterior_flag(post_known),
             "evidence_sigma_unknown": _evidence_flag(best_free, li_free),
             "hyperprior_sigma_unknown": _posterior_flag(post_free), "best_on_test": _curve_flag(test_curve)}
    test_loss = {k: _half_mse(train, test, lam) for k, lam in picks.items()}
    test_loss["predict_training_mean"] = float(np.mean(0.5 * (test.y - train.y.mean()) ** 2))
    # the validation curve's range against the standard error of a difference, paired over the same rows
    worst = float(val.lams[int(np.argmax(val.loss))])
    at_pick, at_worst = _sq_errors(train, valid, val.lam), _sq_errors(train, valid, worst)
    paired_se = float(np.std(at_worst - at_pick, ddof=1) / math.sqrt(valid.n))
    one_se = float(np.std(at_pick, ddof=1) / math.sqrt(valid.n))
    return {"problem": problem, "train": train, "test": test, "valid": valid, "sigma": sigma, "tau_true": tau_true,
            "lams": lams, "grid": grid, "curve_known": curve_known, "curve_free": curve_free,
            "best_known": best_known, "best_free": best_free, "li_known": li_known, "li_free": li_free,
            "val": val, "cv": cv, "test_curve": test_curve, "post_known": post_known, "post_free": post_free,
            "picks": picks, "flags": flags, "test_loss": test_loss, "truth_lam": truth_lam,
            "chapter_lam": chapter_lam, "eig": _gram_eigenvalues(train), "val_worst_lam": worst,
            "val_paired_se": paired_se, "val_se": one_se, "seed": seed}


def _d2l_seeds(seed: int, count: int, quick: bool) -> dict:
    """Each method's pick on ``count`` independent draws of the d2l problem (seeds seed .. seed + count − 1),
    with a flag per pick: None, "lower edge"/"upper edge" (the grid's) or "not identified"."""
    lams = np.geomspace(1e-3, 1e6, 37 if quick else 73)
    keys = ("evidence", "hyperprior", "evidence_sigma_unknown", "validation", "cv", "best_on_test")
    picks = {k: [] for k in keys}
    flags = {k: [] for k in keys}

    def add(key, lam, flag):
        picks[key].append(float(lam))
        flags[key].append(flag)

    for s in range(seed, seed + count):
        problem = load_d2l(s)
        train, sigma = problem.train, problem.noise_sd
        grid = lambda_grid(train)
        for key, sig in (("evidence", sigma), ("evidence_sigma_unknown", None)):
            best = maximise_evidence(train, sigma=sig, lams=grid)
            add(key, best.lam, _evidence_flag(best, _likelihood_interval(grid, evidence_curve(
                train, grid, sigma=sig).log_evidence)))
        post = lambda_posterior(train, grid, sigma=sigma)
        add("hyperprior", post.median, _posterior_flag(post))
        for key, curve in (("validation", validation_curve(train, load_d2l(s + 1).test, lams)),
                           ("cv", cv_curve(train, lams, folds=FOLDS, seed=s)),
                           ("best_on_test", validation_curve(train, problem.test, lams))):
            add(key, curve.lam, _curve_flag(curve))
    return {"seeds": list(range(seed, seed + count)), "lams": lams, "picks": picks, "flags": flags,
            "grid_decades": math.log10(grid[-1] / grid[0])}


# ----------------------------------------------------------------------------------------------- checks

def _rel(a: float, b: float) -> float:
    return abs(a / b - 1.0)


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


# ---------------------------------------------------------------------------------------------- summary

def _evmax(best, interval: dict | None = None) -> dict:
    out = {"lam": best.lam, "tau": best.tau, "sigma": best.sigma, "log_evidence": best.log_evidence,
           "sigma_known": best.sigma_known, "bias": best.bias, "at_boundary": best.at_boundary,
           "bounds": list(best.bounds)}
    if interval is not None:
        out["likelihood_interval_95"] = [interval["lo"], interval["hi"]]
        out["identified"] = interval["identified"]
    return out


def _flag_reason(key: str, lam: float, flag: str) -> str:
    """What is special about a selected λ: on its grid's edge, or not identified (then not in the selection)."""
    if flag == "not identified":
        return f"not identified: the maximum (λ = {lam:.4g}) has a {LI} reaching an edge of the grid"
    what = "held-out error" if key in ("validation", "cv") else "criterion"
    bound, towards = ("≤", "no penalty") if flag == "lower edge" else ("≥", "w = 0")
    return (f"{EDGE_TEXT[flag]}: the {what} is best at the edge, so the pick is only a bound, λ {bound} {lam:.4g} "
            f"(towards {towards})")


def _summary(dia: dict, d2l: dict, seeds: dict, seed: int, quick: bool) -> dict:
    best, n = dia["best"], dia["data"].n
    predicted = 1.0 / (n - 1 - dia["gamma"])
    cf = d2l["curve_free"]
    fr = d2l["best_free"]
    train = d2l["train"]
    return public({
        "seed": seed,
        "quick": quick,
        "convention": "canonical: ½Σr² + (λ/2)‖w‖², λ = σ²/τ²",
        "selection_sigma": {
            "diabetes": "unknown: maximised (evidence) / integrated out (hyperprior)",
            "d2l": f"known, {d2l['sigma']:g}: with n = {train.n} < d = {train.d} the evidence does not identify σ "
                   "(the σ-unknown results are under d2l.evidence_sigma_unknown and d2l.hyperprior_sigma_unknown)",
        },
        "selection_flags": {name: {k: _flag_reason(k, res["picks"][k], f) for k, f in res["flags"].items()
                                   if f is not None and k in SELECTED}
                            for name, res in (("diabetes", dia), ("d2l", d2l))},
        "likelihood_interval": f"{LI} (profile likelihood): log p(y | λ) within {LIKELIHOOD_DROP:.4g} nats of its "
                               "maximum on the grid; 'identified' when it lies inside the grid",
        "diabetes": {
            "n": n, "d": dia["data"].d,
            "evidence": _evmax(best, _likelihood_interval(dia["lams"], dia["curve"].log_evidence)),
            "evidence_centred_no_bias": _evmax(dia["best_none"]),
            "bayesian_ridge": dia["br"],
            "bayesian_ridge_on_contrasts": dia["br_contrasts"],
            "flat_vs_bayesian_ridge": {
                "relative_difference": best.lam / dia["br"]["lam"] - 1.0,
                "first_order_prediction_sigma2": predicted,
                "effective_parameters": dia["gamma"],
                "sigma2_relative_difference": best.sigma**2 / dia["br"]["sigma"] ** 2 - 1.0,
                "explanation": "BayesianRidge counts n observations after centring; a flat bias leaves n − 1, so "
                               "σ̂² (and λ) grow by about 1/(n − 1 − γ)",
            },
            "validation": {"lam": dia["val"].lam, "mse": dia["val"].loss.min(), "n_train": dia["train"].n,
                           "n_valid": dia["valid"].n, "at_boundary": dia["val"].at_boundary,
                           "split": "common.split_rows(data, seed): the rows the page holds out"},
            "cv": {"lam": dia["cv"].lam, "mse": dia["cv"].loss.min(), "folds": FOLDS,
                   "at_boundary": dia["cv"].at_boundary},
            "hyperprior": _posterior_summary(dia["post"]),
            "picks": dia["picks"],
            "grid": {"min": dia["lams"][0], "max": dia["lams"][-1], "num": len(dia["lams"])},
        },
        "d2l": {
            "n_train": train.n, "n_valid": d2l["valid"].n, "n_test": d2l["test"].n, "d": train.d,
            "noise_sd": d2l["sigma"], "true_w_rms": d2l["tau_true"],
            "truth_lam": d2l["truth_lam"],
            "chapter": {"lam": CHAPTER_LAM, "convention": CHAPTER_CONVENTION, "canonical_lam": d2l["chapter_lam"],
                        "tau": d2l["sigma"] / math.sqrt(d2l["chapter_lam"]),
                        "times_truth": d2l["chapter_lam"] / d2l["truth_lam"]},
            "evidence_sigma_known": _evmax(d2l["best_known"], d2l["li_known"]),
            "evidence_sigma_unknown": {
                **_evmax(fr, d2l["li_free"]),
                "flag": d2l["flags"]["evidence_sigma_unknown"],
                "note": "not a pick: with n < d the evidence identifies only σ² + dτ², not λ",
            },
            "evidence_sigma_unknown_range": {
                "log_evidence_max_minus_min_on_grid": cf.log_evidence.max() - cf.log_evidence.min(),
                "sigma_hat_range": [cf.sigma.min(), cf.sigma.max()],
                "grid": [d2l["grid"][0], d2l["grid"][-1]],
            },
            "validation": {"lam": d2l["val"].lam, "mse": d2l["val"].loss.min(), "mse_range":
                           d2l["val"].loss.max() - d2l["val"].loss.min(), "worst_lam": d2l["val_worst_lam"],
                           "paired_difference_standard_error": d2l["val_paired_se"],
                           "mse_standard_error": d2l["val_se"], "at_boundary": d2l["val"].at_boundary},
            "cv": {"lam": d2l["cv"].lam, "mse": d2l["cv"].loss.min(), "folds": FOLDS,
                   "at_boundary": d2l["cv"].at_boundary},
            "hyperprior_sigma_known": _posterior_summary(d2l["post_known"]),
            "hyperprior_sigma_unknown": _posterior_summary(d2l["post_free"]),
            "picks": d2l["picks"],
            "flags": d2l["flags"],
            "test_loss": d2l["test_loss"],
            "test_loss_definition": f"mean ½r² on the {d2l['test'].n} test rows (the chapter's loss) of the MAP on "
                                    f"the {train.n} training rows",
            "test_loss_range_over_grid": [d2l["test_curve"].loss.min() / 2, d2l["test_curve"].loss.max() / 2],
            "grid": {"min": d2l["lams"][0], "max": d2l["lams"][-1], "num": len(d2l["lams"])},
            "over_seeds": {"seeds": seeds["seeds"], "picks": seeds["picks"], "flags": seeds["flags"]},
        },
    })


# --------------------------------------------------------------------------------------------- sections

LAM_AXIS = "canonical λ = σ²/τ²  (½Σr² + (λ/2)‖w‖², log scale)"


def _pct(x: float) -> str:
    return f"{100 * x:.2g}%"


def _lam_cell(lam: float, flag: str | None):
    """A table cell for a picked λ: the number, or where it is when it sits on the grid's edge."""
    if flag == "lower edge":
        return f"≤ {lam:.3g} (grid edge)"
    if flag == "upper edge":
        return f"≥ {lam:.3g} (grid edge)"
    return lam


def _lam_text(lam: float, flag: str | None) -> str:
    """A picked λ in running text."""
    if flag in ("lower edge", "upper edge"):
        return f"{'≤' if flag == 'lower edge' else '≥'} {lam:.3g} (the grid's {flag.split()[0]} edge)"
    return f"{lam:.3g}" + (" (not identified)" if flag else "")


def _truth_label(d2l: dict) -> str:
    return f"truth: τ = rms w = {d2l['tau_true']:g}, σ = {d2l['sigma']:g}"


def _marks(ax, picks: dict, keys, flags: dict | None = None, d2l: dict | None = None) -> None:
    for k in keys:
        if k in picks:
            label, colour, style = METHODS[k]
            if k == "truth" and d2l is not None:
                label = _truth_label(d2l)
            note = f" ({EDGE_TEXT[flags[k]]})" if flags and flags.get(k) else ""
            ax.axvline(picks[k], color=colour, ls=style, lw=1.4, label=f"{label}: λ = {picks[k]:.3g}{note}")


def _interval_text(li: dict) -> str:
    lo_edge, hi_edge = li["lo"] <= li["grid"][0], li["hi"] >= li["grid"][1]
    if lo_edge and hi_edge:
        return "the whole grid"
    if lo_edge:
        return f"from the grid's lower edge to {li['hi']:.3g}"
    if hi_edge:
        return f"from {li['lo']:.3g} to the grid's upper edge"
    return f"{li['lo']:.3g} to {li['hi']:.3g}"


def _intro(dia: dict, d2l: dict) -> str:
    train = d2l["train"]
    return (
        "The same L2 penalty ½Σr² + (λ/2)‖w‖² can be tuned four ways: empirical Bayes (maximise the evidence "
        "p(y | τ, σ) over the prior sd τ and the noise sd σ, no data held out), a validation set, K-fold "
        "cross-validation, or a hyperprior (a posterior over λ instead of one value). This study runs all four on "
        f"the diabetes data ({dia['data'].n} rows, {dia['data'].d} features), where scikit-learn's BayesianRidge is "
        "the oracle for the evidence, and on the weight-decay chapter's problem (Dive into Deep Learning §3.7, "
        f"{train.n} rows, {train.d} weights), where the truth is known, next to the chapter's λ = {CHAPTER_LAM:g}. "
        "Every λ is canonical: λ = σ²/τ² in ½Σr² + (λ/2)‖w‖². On diabetes σ is unknown (maximised by the evidence, "
        f"integrated out by the hyperprior); on d2l the picks use the known σ = {d2l['sigma']:g}, because with "
        f"n = {train.n} < d = {train.d} the evidence cannot identify σ (shown below)."
    )


def _evidence_section(dia: dict, d2l: dict) -> Section:
    from ..plots import curves_against_lambda

    data, train = dia["data"], d2l["train"]
    n, d, s = train.n, train.d, d2l["sigma"]
    fig, axes = new_figure(2, width=6.6, height=4.8)
    c = dia["curve"]
    curves_against_lambda(c.lams, {"log p(y | λ), σ maximised out": c.log_evidence - c.log_evidence.max()},
                          xlabel=LAM_AXIS, ylabel="log evidence − its maximum (nats)", ax=axes[0],
                          title=f"diabetes ({data.n} rows, {data.d} features)")
    _marks(axes[0], dia["picks"], ("evidence", "bayesian_ridge", "validation", "cv", "hyperprior"), dia["flags"])
    axes[0].set_ylim(max(-60.0, float((c.log_evidence - c.log_evidence.max()).min())) - 2, 3)
    ck, cf = d2l["curve_known"], d2l["curve_free"]
    curves_against_lambda(ck.lams, {f"σ = {s:g} known": ck.log_evidence - ck.log_evidence.max(),
                                    "σ unknown (maximised out)": cf.log_evidence - cf.log_evidence.max()},
                          xlabel=LAM_AXIS, ylabel="log evidence − its maximum (nats)", ax=axes[1],
                          title=f"d2l ({n} rows, {d} weights)")
    _marks(axes[1], d2l["picks"], ("evidence", "validation", "cv", "hyperprior", "chapter", "truth"), d2l["flags"],
           d2l)
    fr, flag_free = d2l["best_free"], d2l["flags"]["evidence_sigma_unknown"]
    axes[1].axvline(fr.lam, color="C5", ls=(0, (1, 1)), lw=1.4,
                    label=f"evidence max, σ unknown: λ = {fr.lam:.3g} ({EDGE_TEXT.get(flag_free, 'identified')})")
    axes[1].set_ylim(-60, 3)
    axes[0].legend(fontsize=7.5, loc="lower left")
    axes[1].legend(fontsize=7.5, loc="lower right")
    best, br, bc = dia["best"], dia["br"], dia["br_contrasts"]
    nd = data.n
    rel = best.lam / br["lam"] - 1.0
    pred = 1.0 / (nd - 1 - dia["gamma"])
    table = Table(
        "diabetes: empirical Bayes against scikit-learn's BayesianRidge",
        ["fit", "λ = σ²/τ²", "τ", "σ", "log evidence", "relative to BayesianRidge"],
        [[f"ours, flat bias integrated out (n − 1 = {nd - 1})", best.lam, best.tau, best.sigma, best.log_evidence,
          rel],
         [f"ours, centred data, no bias (n = {nd})", dia["best_none"].lam, dia["best_none"].tau,
          dia["best_none"].sigma, dia["best_none"].log_evidence, dia["best_none"].lam / br["lam"] - 1.0],
         ["BayesianRidge(fit_intercept=True)", br["lam"], br["tau"], br["sigma"], None, 0.0],
         [f"BayesianRidge on the {nd - 1} contrasts (no intercept)", bc["lam"], bc["tau"], bc["sigma"], None,
          bc["lam"] / br["lam"] - 1.0]],
        "BayesianRidge with its four Gamma hyperparameters at 0 (plain type-II maximum likelihood); its alpha_ is "
        "1/σ², lambda_ is 1/τ². The flat-bias evidence is the contrasts' evidence minus ½ log n.")
    kn = d2l["best_known"]
    li_k, li_f = d2l["li_known"], d2l["li_free"]
    tau_t = d2l["tau_true"]
    d2l_table = Table(
        f"d2l: the evidence maximum with σ known and unknown (truth: τ = {tau_t:g}, σ = {s:g}, "
        f"λ = {d2l['truth_lam']:g})",
        ["σ", "λ = σ²/τ²", "τ", "σ (fixed or fitted)", "log evidence", "range of log evidence on the grid",
         f"{LI} for λ"],
        [[f"known, {s:g}", _lam_cell(kn.lam, d2l["flags"]["evidence"]), kn.tau, kn.sigma, kn.log_evidence,
          float(ck.log_evidence.max() - ck.log_evidence.min()), _interval_text(li_k)],
         ["unknown, maximised", _lam_cell(fr.lam, flag_free), fr.tau, fr.sigma, fr.log_evidence,
          float(cf.log_evidence.max() - cf.log_evidence.min()), _interval_text(li_f)]],
        f"grid λ from {ck.lams[0]:.3g} to {ck.lams[-1]:.3g}; the likelihood interval holds the λ whose log evidence "
        f"is within {LIKELIHOOD_DROP:.2f} nats of the maximum. dτ² + σ² at the σ-unknown maximum: "
        f"{fr.tau**2 * d + fr.sigma**2:.4g}; at the truth: {tau_t**2 * d + s**2:.4g} (d = {d})")
    eig_d = d2l["eig"] / d
    decades = math.log10(cf.lams[-1] / cf.lams[0])
    if flag_free in ("lower edge", "upper edge"):
        where = (f"sits at the grid's {flag_free}, λ = {fr.lam:.3g}, where the evidence is still rising, so there "
                 "is no maximiser at all")
    else:
        share = fr.sigma**2 / (fr.sigma**2 + d * fr.tau**2)
        where = (f"is at λ = {fr.lam:.3g} with σ̂ = {fr.sigma:.3g}, which puts {100 * share:.0f}% of σ² + dτ² in "
                 "the noise")
    verdict = ("λ is not identified" if not li_f["identified"] else
               "λ is identified on this draw, but only within that wide interval")
    text = f"""\
The evidence p(y | τ, σ) is the probability of the observed y with the weights integrated out against their
prior: y ~ N(b, σ²I + τ²XXᵀ). A τ too small cannot produce the spread of y, one too large spreads its
probability over data that were not seen. Maximising it over τ and σ (empirical Bayes, type-II maximum
likelihood) picks λ = σ²/τ² with no data held out. At fixed λ the best σ is closed form, so the curve against λ
below has σ maximised out at each point.

On diabetes the maximum is at λ = {best.lam:.4g} (τ = {best.tau:.4g}, σ = {best.sigma:.4g}). scikit-learn's
BayesianRidge, with its Gamma hyperpriors switched off, gives λ = {br['lam']:.4g}: {100 * abs(rel):.2f}%
{'less' if rel > 0 else 'more'}. The difference is the intercept, not a bug: BayesianRidge centres X and y and
then counts {nd} observations, but centring uses one of them up; integrating out a flat bias leaves {nd - 1}. On
the centred data without a bias our maximiser and BayesianRidge agree to {_rel(dia['best_none'].lam, br['lam']):.1e},
and BayesianRidge run on the {nd - 1} contrasts (the data with the mean projected out exactly) agrees with our
flat-bias value to {_rel(best.lam, bc['lam']):.1e}. The size of the gap is what n − 1 against n predicts: σ̂²
should grow by about 1/(n − 1 − γ) = {100 * pred:.3f}% (γ = {dia['gamma']:.2f} well-determined weights) and grows
by {100 * (best.sigma**2 / br['sigma']**2 - 1):.3f}%, while τ̂ moves by {100 * (best.tau / br['tau'] - 1):.3f}%.

On the chapter's problem, with σ = {s:g} known, the evidence picks λ = {kn.lam:.3g} (τ = {kn.tau:.3g}) against
the truth's λ = {d2l['truth_lam']:g} (τ = {tau_t:g}); its {LI} is {_interval_text(li_k)}.
The chapter's λ = {CHAPTER_LAM:g} is canonical λ = {d2l['chapter_lam']:.3g}, {d2l['chapter_lam'] / kn.lam:.0f}×
stronger. With σ unknown the evidence is almost flat: the {len(eig_d)} nonzero eigenvalues of X_cX_cᵀ/d lie
between {eig_d[0]:.2f} and {eig_d[-1]:.2f} ({n} rows of {d} independent standard normal features), so
y ~ N(b, (σ² + dτ²)I) roughly and only σ² + dτ² is identified. Its curve varies by
{float(cf.log_evidence.max() - cf.log_evidence.min()):.2f} nats over {decades:.0f} decades of λ, its
{LI} is {_interval_text(li_f)}, and its maximum {where}: {verdict}. With n < d, empirical Bayes
needs σ from somewhere else, so the d2l picks below use the known σ."""
    return Section("Empirical Bayes: the evidence against λ", text, [table, d2l_table], [StudyFigure(
        "evidence_vs_lambda", fig,
        "Log evidence against canonical λ, relative to its maximum, with each method's pick. Left: diabetes (σ "
        f"maximised out at each λ). Right: d2l with σ = {s:g} known (sharp) and σ unknown (nearly flat), the "
        f"chapter's λ = {CHAPTER_LAM:g} (canonical {d2l['chapter_lam']:.3g}) and the truth "
        f"(λ = {d2l['truth_lam']:g}).")])


def _one_se_range(cv) -> tuple[float, float, float]:
    """(standard error of the CV mean at the pick, smallest and largest grid λ whose CV MSE is within it)."""
    se = cv.fold_loss.std(axis=0, ddof=1) / math.sqrt(cv.fold_loss.shape[0])
    ok = cv.lams[cv.loss <= cv.loss.min() + se[cv.index]]
    return float(se[cv.index]), float(ok.min()), float(ok.max())


def _heldout_section(dia: dict, d2l: dict) -> Section:
    fig, axes = new_figure(2, width=6.6, height=4.8)
    ax = axes[0]
    val, cv = dia["val"], dia["cv"]
    se = cv.fold_loss.std(axis=0, ddof=1) / math.sqrt(cv.fold_loss.shape[0])
    ax.plot(val.lams, val.loss, color=METHODS["validation"][1], lw=1.8,
            label=f"validation MSE ({dia['train'].n} train / {dia['valid'].n} validation rows)")
    ax.plot(cv.lams, cv.loss, color=METHODS["cv"][1], lw=1.8, label=f"{FOLDS}-fold CV MSE (mean over folds)")
    ax.fill_between(cv.lams, cv.loss - se, cv.loss + se, color=METHODS["cv"][1], alpha=0.2,
                    label="CV ± 1 standard error over folds")
    _marks(ax, dia["picks"], ("validation", "cv", "evidence"), dia["flags"])
    ax.set_title("diabetes: held-out error of the MAP")
    ax.set_ylabel("mean squared error on held-out rows (disease progression²)")
    ax = axes[1]
    train, valid, test = d2l["train"], d2l["valid"], d2l["test"]
    val, cv, tc = d2l["val"], d2l["cv"], d2l["test_curve"]
    se = cv.fold_loss.std(axis=0, ddof=1) / math.sqrt(cv.fold_loss.shape[0])
    fold_rows = train.n // FOLDS
    ax.plot(val.lams, val.loss, color=METHODS["validation"][1], lw=1.8, label=f"validation MSE ({valid.n} fresh rows)")
    ax.plot(cv.lams, cv.loss, color=METHODS["cv"][1], lw=1.8,
            label=f"{FOLDS}-fold CV MSE ({fold_rows} rows per fold)")
    ax.fill_between(cv.lams, cv.loss - se, cv.loss + se, color=METHODS["cv"][1], alpha=0.2,
                    label="CV ± 1 standard error over folds")
    ax.plot(tc.lams, tc.loss, color="0.3", lw=1.4, label=f"test MSE ({test.n} test rows; not used to choose)")
    _marks(ax, d2l["picks"], ("validation", "cv", "evidence", "chapter", "truth"), d2l["flags"], d2l)
    ax.set_title(f"d2l: held-out error of the MAP (trained on {train.n} rows)")
    ax.set_ylabel("mean squared error on held-out rows")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel(LAM_AXIS)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7.5)
    rows = []
    for name, res in (("diabetes", dia), ("d2l", d2l)):
        for key in ("validation", "cv"):
            curve = res["val"] if key == "validation" else res["cv"]
            rows.append([name, METHODS[key][0], _lam_cell(curve.lam, res["flags"][key]), float(curve.loss.min()),
                         float(curve.loss.max()), curve.at_boundary])
    table = Table(f"Validation and {FOLDS}-fold CV: the λ with the smallest held-out MSE",
                  ["data", "method", "λ picked", "MSE at the pick", "worst MSE on the grid", "at the grid's edge"],
                  rows, f"grids: diabetes {dia['lams'][0]:.3g}–{dia['lams'][-1]:.3g}, d2l {d2l['lams'][0]:.3g}–"
                  f"{d2l['lams'][-1]:.3g}; MSE = mean r² (the chapter's loss is half of it)")
    dv, dcv = dia["val"], dia["cv"]
    se_pick, lo_ok, hi_ok = _one_se_range(dcv)
    if lo_ok <= dcv.lams[0]:
        flat = f"every λ up to {hi_ok:.2g} (the grid starts at {dcv.lams[0]:.2g})"
    else:
        flat = f"every λ from {lo_ok:.2g} to {hi_ok:.2g}"
    dval = d2l["val"]
    rng_ = float(dval.loss.max() - dval.loss.min())
    pse = d2l["val_paired_se"]
    z = rng_ / pse
    if z < 2.0:
        verdict = (f"the whole curve is flat within the noise of {valid.n} rows, and the argmin is set by which rows "
                   "happened to be held out")
    else:
        verdict = ("the validation rows do prefer the pick over the worst λ, but by "
                   f"{100 * rng_ / dval.loss.max():.1f}% of the MSE")
    cse, clo, chi = _one_se_range(d2l["cv"])
    cv_rng = float(d2l["cv"].loss.max() - d2l["cv"].loss.min())
    if cv_rng <= cse:
        cv_text = (f"the CV standard error at its pick ({cse:.2g}) exceeds the whole CV curve's range "
                   f"({cv_rng:.2g})")
    else:
        cv_text = (f"the CV MSE is within one standard error ({cse:.2g}) of its minimum from λ = {clo:.3g} to "
                   f"{chi:.3g}")
    e_min = float(d2l["eig"][0])
    tcl = d2l["test_curve"].loss
    test_move = float(tcl.max() / tcl.min() - 1.0)
    own_se = (f"one point's own standard error, {d2l['val_se']:.2g}, is "
              + ("larger because most of each row's error is shared by every λ" if d2l["val_se"] > pse else
                 "no larger"))
    picks_text = (f"validation picks λ = {_lam_text(dval.lam, d2l['flags']['validation'])} and CV λ = "
                  f"{_lam_text(d2l['cv'].lam, d2l['flags']['cv'])}")
    text = f"""\
The direct way: fit the MAP at each λ on some rows and measure its squared error on others. A validation set
(the chapter's exercise) uses one split; {FOLDS}-fold cross-validation rotates the held-out fold and averages,
which uses every row for both jobs. Neither needs a noise model; both pick the λ that predicts best on the rows
held out, and inherit their noise.

On diabetes, validation (training on {dia['train'].n} rows, scoring the {dia['valid'].n} the page holds out at
this seed) picks λ = {_lam_text(dv.lam, dia['flags']['validation'])} and CV λ =
{_lam_text(dcv.lam, dia['flags']['cv'])}, against {dia['picks']['evidence']:.3g} for the evidence. The curves are
flat near their minima: {flat} has a CV MSE within one standard error ({se_pick:.3g}) of the smallest (the shaded
band is ±1 standard error of the CV mean).

On d2l the held-out error barely depends on λ: from λ = {dval.lams[0]:.3g} to {dval.lams[-1]:.3g} the validation
MSE moves between {float(dval.loss.min()):.4g} and {float(dval.loss.max()):.4g}, a range of {rng_:.2g}. Both ends
are measured on the same {valid.n} rows, so the yardstick is the standard error of the difference between the
MSE at the pick and at the worst λ ({d2l['val_worst_lam']:.3g}), paired row by row: {pse:.2g} ({own_se}). The
range is {z:.1f} paired standard errors: {verdict}. {train.n} rows cannot determine {train.d} weights, so every MAP
predicts about as badly; {picks_text}, and {cv_text}.
For λ below about {INTERPOLANT_SHARE * e_min:.2g} ({100 * INTERPOLANT_SHARE:g}% of the smallest nonzero eigenvalue
of X_cX_cᵀ, {e_min:.3g}) every component of the MAP is within {100 * INTERPOLANT_SHARE:g}% of the minimum-norm
interpolant of the {train.n} rows and the curves are flat, so a pick at the grid's lower edge means "no decay".
The test curve, which no method may use, moves by {100 * test_move:.1f}% of its minimum over the whole grid."""
    return Section("A validation set and K-fold cross-validation", text, [table], [StudyFigure(
        "heldout_vs_lambda", fig,
        f"Held-out mean squared error of the MAP against canonical λ: one validation split and {FOLDS}-fold CV "
        "(with ±1 standard error over folds), each method's pick marked. Right (d2l): the test error, for "
        "reference only.")])


def _posterior_section(dia: dict, d2l: dict) -> Section:
    fig, axes = new_figure(2, width=6.6, height=4.8)
    ln10 = math.log(10.0)
    s = d2l["sigma"]
    mass = f"{100 * CREDIBLE_MASS:.0f}%"
    known_label = f"σ = {s:g} known"
    for ax, title, posts, picks in (
            (axes[0], "diabetes: posterior over λ (σ integrated out)", {"σ integrated out": dia["post"]},
             {k: dia["picks"][k] for k in ("evidence", "hyperprior")}),
            (axes[1], "d2l: posterior over λ",
             {known_label: d2l["post_known"], "σ integrated out": d2l["post_free"]},
             {k: d2l["picks"][k] for k in ("hyperprior", "chapter", "truth")})):
        for i, (label, post) in enumerate(posts.items()):
            lo, hi = post.interval(CREDIBLE_MASS)
            ax.plot(post.lams, post.density * ln10, color=f"C{i}", lw=1.8,
                    label=f"{label}: median {post.median:.3g}, {mass} [{lo:.3g}, {hi:.3g}]")
            inside = (post.lams > lo) & (post.lams < hi)
            xs = np.concatenate([[lo], post.lams[inside], [hi]])
            ys = np.interp(np.log(xs), np.log(post.lams), post.density) * ln10
            ax.fill_between(xs, 0, ys, color=f"C{i}", alpha=0.2)
        _marks(ax, picks, list(picks), d2l=d2l)
        ax.set_xscale("log")
        ax.set_xlabel(LAM_AXIS)
        ax.set_ylabel("posterior density per decade of λ")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper left" if ax is axes[0] else "center right")
    top = max(float(d2l["post_known"].density.max()), 1e-300)
    axes[1].set_ylim(0, 1.1 * top * ln10)
    p = dia["post"]
    axes[0].set_xlim(p.quantile(1e-4) / 3, p.quantile(1 - 1e-4) * 3)
    sp = parse_sigma_prior(p.sigma_prior)
    a0, b0 = sp.params
    var_y = float(np.var(dia["data"].y, ddof=1))
    rows = []
    for name, label, post in (("diabetes", "σ integrated out", dia["post"]), ("d2l", known_label, d2l["post_known"]),
                              ("d2l", "σ integrated out", d2l["post_free"])):
        lo, hi = post.interval(CREDIBLE_MASS)
        rows.append([name, label, post.median, post.mode, lo, hi, post.edge_mass(EDGE_FRACTION),
                     _likelihood_interval(post.lams, post.log_marginal)["identified"],
                     post.sigma_prior or "— (σ fixed)"])
    decades = math.log10(p.lams[-1] / p.lams[0])
    table = Table("The posterior over λ (log-uniform hyperprior over the grid)",
                  ["data", "σ", "median λ", "mode λ", f"{mass} from", f"{mass} to",
                   f"mass in the outer {100 * EDGE_FRACTION:.0f}% of the grid", "λ identified", "prior on σ²"], rows,
                  f"grid: {len(p.lams)} points, {decades:.0f} decades around the data's scale (its range is the "
                  f"hyperprior's support); σ² ~ InvGamma({a0:g}, {b0 / var_y:g}·var(y)) is worth {2 * a0:g} "
                  f"observations. λ identified: the {LI} of p(y | λ) lies inside the grid")
    free, known = d2l["post_free"], d2l["post_known"]
    lo_f, hi_f = free.interval(CREDIBLE_MASS)
    lo_k, hi_k = known.interval(CREDIBLE_MASS)
    lo_d, hi_d = p.interval(CREDIBLE_MASS)
    truth, chapter = d2l["truth_lam"], d2l["chapter_lam"]
    beyond = float(1.0 - np.interp(math.log(chapter), np.log(known.lams), known.cdf))
    beyond_text = f"{beyond:.2g}" if beyond >= 1e-6 else "below 10⁻⁶"
    contains = "contains" if lo_k <= truth <= hi_k else "does not contain"
    ev_in = "contains" if lo_d <= dia["best"].lam <= hi_d else "does not contain"
    if _likelihood_interval(free.lams, free.log_marginal)["identified"]:
        free_text = "the data pin λ down only loosely"
    else:
        free_text = ("the honest answer is that λ is not determined (p(y | λ) stays within "
                     f"{LIKELIHOOD_DROP:.2f} nats of its maximum out to an edge of the grid)")
    text = f"""\
Instead of one λ, put a prior on it and compute its posterior: p(λ | y) ∝ p(y | λ) p(λ). The hyperprior here is
flat in log λ over {decades:.0f} decades around the data's scale (it says only "no idea of the order of
magnitude"). σ is either known or integrated out under the conjugate form w | σ ~ N(0, σ²/λ) with a weak
σ² ~ InvGamma({a0:g}, {b0 / var_y:g}·var(y)), so p(y | λ) is closed form (Normal-Inverse-Gamma). The posterior
median is reported as the pick, and the {mass} interval says how much the data pin λ down; predictions would
average over it.

On diabetes the posterior's {mass} interval, {lo_d:.3g} to {hi_d:.3g}, is {math.log10(hi_d / lo_d):.2f} decades
wide and {ev_in} the evidence maximum ({dia['best'].lam:.3g}). On d2l with σ = {s:g} known the median is
{known.median:.3g} and the {mass} interval, {lo_k:.3g} to {hi_k:.3g}, {contains} the truth λ = {truth:g}; the
posterior probability of λ above the chapter's canonical λ = {chapter:.3g} is {beyond_text}. With σ unknown on d2l
the {mass} interval runs from {lo_f:.3g} to {hi_f:.3g}: the data cannot tell σ² from {d2l['train'].d}τ², and
{free_text}; {100 * free.edge_mass(EDGE_FRACTION):.0f}% of the probability sits in the grid's outer
{100 * EDGE_FRACTION:.0f}%, so this posterior depends on where the hyperprior's range stops."""
    return Section("A hyperprior: the posterior over λ", text, [table], [StudyFigure(
        "lambda_posterior", fig,
        f"Posterior density of λ per decade, with the {mass} equal-tailed interval shaded. Left: diabetes. Right: "
        f"d2l with σ = {s:g} known (peaked near the truth) and σ integrated out (spread over many decades).")])


def _spread(values: list, flags: list) -> dict:
    """Smallest, median and largest pick as table cells: grid-edge picks count as beyond the grid and are shown
    as such, picks that are not identified are left out."""
    if 2 * flags.count("not identified") >= len(flags):
        return {"min": "—", "median": "—", "max": "—"}
    keyed = []
    for v, f in zip(values, flags, strict=True):
        if f == "lower edge":
            keyed.append((-math.inf, f"≤ {v:.3g} (grid edge)"))
        elif f == "upper edge":
            keyed.append((math.inf, f"≥ {v:.3g} (grid edge)"))
        elif f is None:
            keyed.append((v, v))
    if not keyed:
        return {"min": "not identified", "median": "not identified", "max": "not identified"}
    keyed.sort(key=lambda t: t[0])
    a, b = keyed[(len(keyed) - 1) // 2], keyed[len(keyed) // 2]  # the middle one, or the middle two
    if a[0] == b[0]:
        median = a[1]
    elif math.isfinite(a[0]) and math.isfinite(b[0]):
        median = math.sqrt(a[0] * b[0])
    else:
        median = f"between {a[1]} and {b[1]}" if isinstance(a[1], str) else f"between {a[1]:.3g} and {b[1]}"
    return {"min": keyed[0][1], "median": median, "max": keyed[-1][1]}


def _flag_counts(flags: list) -> str:
    counts = {f: flags.count(f) for f in ("lower edge", "upper edge", "not identified") if flags.count(f)}
    if not counts:
        return "none"
    return ", ".join(f"{c} {EDGE_TEXT[f]}" for f, c in counts.items())


def _picks_section(dia: dict, d2l: dict, seeds: dict) -> Section:
    sigma_d = dia["best"].sigma
    train, test, valid = d2l["train"], d2l["test"], d2l["valid"]
    s, tau_t = d2l["sigma"], d2l["tau_true"]
    rows = []
    for key in ("evidence", "bayesian_ridge", "validation", "cv", "hyperprior"):
        lam, flag = dia["picks"][key], dia["flags"].get(key)
        rows.append(["diabetes", METHODS[key][0], _lam_cell(lam, flag), sigma_d / math.sqrt(lam), None,
                     EDGE_TEXT.get(flag, "")])
    labels = {"evidence": f"empirical Bayes, σ = {s:g} known", "evidence_sigma_unknown": "empirical Bayes, σ unknown",
              "validation": f"validation set ({valid.n} fresh rows)", "cv": METHODS["cv"][0],
              "hyperprior": "hyperprior, σ known (median)",
              "hyperprior_sigma_unknown": "hyperprior, σ unknown (median)",
              "chapter": f"chapter: λ = {CHAPTER_LAM:g} in the {CHAPTER_CONVENTION} convention",
              "truth": f"truth: τ = {tau_t:g}", "best_on_test": "best on the test rows (grid; hindsight)"}
    for key, label in labels.items():
        lam, flag = d2l["picks"][key], d2l["flags"].get(key)
        rows.append(["d2l", label, _lam_cell(lam, flag), s / math.sqrt(lam), d2l["test_loss"][key],
                     EDGE_TEXT.get(flag, "")])
    rows.append(["d2l", "predict the training mean (w = 0)", "∞", 0.0, d2l["test_loss"]["predict_training_mean"], ""])
    table = Table("λ picked per method per data set", ["data", "method", "canonical λ", "τ = σ/√λ",
                                                        "d2l test loss (mean ½r²)", "caveat"], rows,
                  f"τ uses σ = {sigma_d:.4g} (the evidence's σ̂) on diabetes and σ = {s:g} on d2l; the chapter's "
                  f"λ = {CHAPTER_LAM:g} is canonical λ = nλ = {d2l['chapter_lam']:.3g}. Not identified: the {LI} "
                  "of p(y | λ) reaches an edge of the grid.")
    picks, flags = seeds["picks"], seeds["flags"]
    truth = d2l["truth_lam"]
    keys = ("evidence", "hyperprior", "evidence_sigma_unknown", "validation", "cv", "best_on_test")
    names = {"evidence": "empirical Bayes, σ known", "hyperprior": "hyperprior, σ known",
             "evidence_sigma_unknown": "empirical Bayes, σ unknown", "validation": "validation set",
             "cv": METHODS["cv"][0], "best_on_test": "best on test (hindsight)"}
    count = len(seeds["seeds"])
    seed_rows = []
    for k in keys:
        v = np.array(picks[k])
        usable = np.array([f is None for f in flags[k]])
        within = float(np.mean(usable & (v >= truth / 2) & (v <= truth * 2)))
        sp = _spread(picks[k], flags[k])
        seed_rows.append([names[k], sp["min"], sp["median"], sp["max"], within, _flag_counts(flags[k])])
    seed_table = Table(f"d2l: the picks over {count} draws of the problem (seeds "
                       f"{seeds['seeds'][0]}–{seeds['seeds'][-1]})",
                       ["method", "smallest λ", "median λ", "largest λ", "share within 2× of the truth",
                        "flagged picks"], seed_rows,
                       f"grid for validation, CV and test: {seeds['lams'][0]:.3g}–{seeds['lams'][-1]:.3g}; for the "
                       f"evidence and the hyperprior: {seeds['grid_decades']:.0f} decades around the data's scale "
                       "(lambda_grid). A pick at a grid edge is "
                       f"shown as a bound; one that is not identified (its {LI} reaches an edge "
                       "of the grid) is left out of the smallest, median and largest, which are \"—\" when half or "
                       "more are.")
    fig, ax = new_figure(1, width=8.8, height=4.6)
    colours = {**{k: v[1] for k, v in METHODS.items()}, "evidence_sigma_unknown": "C5", "best_on_test": "0.35"}
    markers = {None: "o", "lower edge": "<", "upper edge": ">", "not identified": "o"}
    for j, k in enumerate(keys):
        offsets = np.linspace(-0.15, 0.15, len(picks[k]))
        for v, f, dy in zip(picks[k], flags[k], offsets, strict=True):
            filled = f is None
            ax.scatter([v], [j + dy], s=30 if filled else 42, marker=markers[f], zorder=3,
                       facecolors=colours[k] if filled else "none", edgecolors=colours[k], linewidths=1.3)
    ax.axvline(truth, color=METHODS["truth"][1], lw=1.6, label=f"truth: λ = {truth:g} (τ = {tau_t:g}, σ = {s:g})")
    ax.axvline(d2l["chapter_lam"], color="k", lw=1.4,
               label=f"chapter's λ = {CHAPTER_LAM:g} (canonical {d2l['chapter_lam']:.3g})")
    for marker, label, filled in (("o", "a pick", True),
                                  ("o", f"maximum not identified ({LI} reaches the grid's edge)",
                                   False),
                                  ("<", "at the grid's lower edge (the pick is only a bound)", False),
                                  (">", "at the grid's upper edge", False)):
        ax.scatter([], [], marker=marker, s=36, facecolors="0.4" if filled else "none", edgecolors="0.4",
                   label=label)
    ax.set_yticks(range(len(keys)), [names[k] for k in keys])
    ax.set_xscale("log")
    ax.set_xlabel(LAM_AXIS)
    ax.set_title(f"d2l: each method's λ on {count} independent draws of the problem")
    ax.grid(alpha=0.3)
    ax.set_ylim(-0.6, len(keys) + 1.4)
    ax.legend(fontsize=7.5, loc="upper center", ncol=2)
    tl = d2l["test_loss"]
    ev = np.array(picks["evidence"])
    null_pct = 100 * (2 * tl["predict_training_mean"] / float(d2l["test_curve"].loss.min()) - 1)
    free_flags = flags["evidence_sigma_unknown"]
    unident = sum(f is not None for f in free_flags)
    spread = {}
    for k in ("validation", "cv"):
        v = np.array(picks[k])
        spread[k] = (math.log10(v.max() / v.min()), sum(f is not None for f in flags[k]))
    ev_ok = all(f is None for f in flags["evidence"])
    usable = {k: v for k, v in dia["picks"].items() if dia["flags"].get(k) is None}
    dia_text = (f"On diabetes the {len(usable)} picks that are not on a grid edge land within a factor of "
                f"{max(usable.values()) / min(usable.values()):.3g} of each other")
    flagged = [f"{METHODS[k][0]} ({_lam_text(dia['picks'][k], f)})" for k, f in dia["flags"].items() if f]
    if flagged:
        lower = all(f == "lower edge" for f in dia["flags"].values() if f)
        dia_text += f"; {', '.join(flagged)} " + ("points at no penalty at all." if lower else "sits on a grid edge.")
    else:
        dia_text += "."
    text = f"""\
The table puts the picks side by side, with the prior sd τ each implies and, on d2l, the test loss of the MAP
(mean ½r² on {test.n} test rows, the chapter's loss). {dia_text}

On d2l the chapter's λ = {CHAPTER_LAM:g} is canonical λ = {d2l['chapter_lam']:.3g},
{d2l['chapter_lam'] / truth:.3g}× the truth's λ = {truth:g}: a prior sd τ = {s / math.sqrt(d2l['chapter_lam']):.2g}
for weights whose rms is {tau_t:g}. Yet its test loss, {tl['chapter']:.4g}, is within
{100 * abs(tl['chapter'] / tl['truth'] - 1):.1f}% of the truth's {tl['truth']:.4g}: with {train.n} rows the test
loss hardly depends on λ. The best λ on the grid gives {float(d2l['test_curve'].loss.min()) / 2:.4g}, and
shrinking all the way to w = 0 (predicting the training mean) gives {tl['predict_training_mean']:.4g},
{null_pct:.0f}% more, so prediction barely tells these λ apart, and neither can validation or CV. Over {count}
draws of the problem (figure), the validation picks span {spread['validation'][0]:.1f} decades
({spread['validation'][1]} of {count} at a grid edge) and the CV picks {spread['cv'][0]:.1f}
({spread['cv'][1]} at a grid edge), while the evidence with σ known stays within a factor
{math.exp(float(np.max(np.abs(np.log(ev / truth))))):.2f} of the truth on every draw{'' if ev_ok else
' (but some of its maxima are flagged)'}: knowing σ, the overall spread of y measures ‖w‖²/d, which is exactly
τ². The evidence with σ unknown is flagged on {unident} of {count} draws ({_flag_counts(free_flags)}): it
identifies σ² + dτ², not λ. Where λ = {CHAPTER_LAM:g} is wrong is the prior itself: it says the weights are
{math.sqrt(d2l['chapter_lam'] / truth):.2g}× smaller than they are, which the posterior's intervals inherit."""
    return Section("λ picked per method per data set", text, [table, seed_table], [StudyFigure(
        "picks_over_seeds", fig,
        f"The λ each method picks on {count} independent draws of the d2l problem, against the truth "
        f"(λ = {truth:g}) and the chapter's λ = {CHAPTER_LAM:g} (canonical {d2l['chapter_lam']:.3g}). Hollow "
        "markers are not picks: triangles sit on a grid edge (the pick is only a bound), circles "
        f"are maxima whose {LI} reaches an edge of the grid.")])
