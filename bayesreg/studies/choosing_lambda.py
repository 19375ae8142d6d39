"""Choosing λ, four ways side by side.

The same L2 penalty ½Σr² + (λ/2)‖w‖² can be tuned four ways: empirical Bayes (maximise the evidence p(y | τ, σ)
over the prior sd τ and the noise sd σ, no data held out), a validation set, K-fold cross-validation, or a
hyperprior (a posterior over λ instead of one value). This study runs all four on the diabetes data, where
scikit-learn's ``BayesianRidge`` is the oracle for the evidence, and on the weight-decay chapter's problem
(Dive into Deep Learning §3.7, 20 rows, 200 weights), where the truth is known, next to the chapter's λ = 3.
Every λ is canonical: λ = σ²/τ² in ½Σr² + (λ/2)‖w‖².
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import integrate, linalg, optimize, stats

from ..conventions import to_canonical_lam
from ..data import Dataset, from_arrays, load_d2l, load_diabetes
from ..infer.conjugate import gaussian_posterior
from ..priors import Gaussian, parse_sigma_prior
from ..selection import (
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

__all__ = ["run", "METHODS", "CHAPTER_LAM"]

#: selection method -> (label, colour, line style); the keys are those of ``StudyResult.selection``
METHODS = {
    "evidence": ("empirical Bayes (evidence max)", "C3", "--"),
    "bayesian_ridge": ("scikit-learn BayesianRidge", "C9", ":"),
    "validation": ("validation set", "C2", "--"),
    "cv": ("5-fold CV", "C6", "--"),
    "hyperprior": ("hyperprior (posterior median)", "C4", "-."),
    "chapter": ("chapter's λ = 3 (d2l convention)", "k", "-"),
    "truth": ("truth: τ = σ = 0.01", "C8", "-"),
}
CHAPTER_LAM = 3.0
CHAPTER_CONVENTION = "d2l"
FOLDS = 5
VALID_FRACTION = 0.25
INTERVAL = 0.94

# Tolerances (each check's detail says why)
BR_REL = 1e-8           # one fixed point, solved by a root finder (xtol 1e-10 in ln λ) and by BayesianRidge (tol 1e-12)
GRID_CV_REL = 1e-8      # the same linear solves in two codes, averaged the same way
STATIONARY_REL = 1e-8   # the root in ln λ is found to 1e-10; the moments come from a different factorisation
QUAD_ABS = 1e-7         # adaptive quadrature with epsrel 1e-11 on an integrand scaled to peak 1
REDUCED_ABS = 1e-8      # the same evidence from an n × n and a 201 × 201 factorisation


@one_blas_thread
def run(*, seed: int = 0, quick: bool = False, progress=quiet) -> StudyResult:
    """Empirical Bayes, validation, K-fold CV and a hyperprior on diabetes and on the chapter's d2l problem."""
    start = time.perf_counter()
    progress("diabetes: evidence, BayesianRidge, validation, 5-fold CV, hyperprior")
    dia = _diabetes(seed, quick)
    progress("d2l: the four methods on 20 rows, σ known and unknown")
    d2l = _d2l(seed, quick)
    progress("d2l: the picks over several draws of the problem")
    seeds = _d2l_seeds(seed, 3 if quick else 10, quick)
    progress("oracle checks: BayesianRidge, GridSearchCV, quadrature, stationarity")
    checks = _diabetes_checks(dia, quick) + _d2l_checks(d2l, quick)
    selection = {
        "diabetes": {k: dia["picks"][k] for k in ("evidence", "validation", "cv", "hyperprior", "bayesian_ridge")},
        "d2l": {k: d2l["picks"][k] for k in ("evidence", "validation", "cv", "hyperprior")},
    }
    summary = _summary(dia, d2l, seeds, seed, quick)
    progress("figures")
    sections = [_evidence_section(dia, d2l), _heldout_section(dia, d2l), _posterior_section(dia, d2l),
                _picks_section(dia, d2l, seeds)]
    intro = __doc__.split("\n\n", 1)[1].strip()
    return StudyResult("choosing_lambda", "Choosing λ, four ways side by side", intro, sections, checks, summary,
                       selection, time.perf_counter() - start)


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


def _effective_params(data: Dataset, lam: float) -> float:
    """γ = Σ eᵢ/(eᵢ + λ) over the eigenvalues of the centred Gram matrix: the number of well-determined weights."""
    Xc = data.X - data.X.mean(axis=0)
    e = np.linalg.eigvalsh(Xc.T @ Xc) if data.d <= data.n else np.linalg.eigvalsh(Xc @ Xc.T)
    e = np.clip(e, 0.0, None)
    return float(np.sum(e / (e + lam)))


def _map(train: Dataset, lam: float):
    return ridge(train.X, train.y, PenalizedLeastSquares(l2=lam, bias="flat"))


def _half_mse(train: Dataset, test: Dataset, lam: float) -> float:
    """The chapter's loss, mean ½r² on ``test``, of the MAP on ``train`` at canonical λ."""
    res = _map(train, lam)
    r = test.y - test.X @ res.w - res.b
    return float(np.mean(0.5 * r * r))


def _split(data: Dataset, seed: int) -> tuple[Dataset, Dataset]:
    """A seeded random split: 1 − VALID_FRACTION of the rows to train, the rest to validate."""
    perm = np.random.default_rng(seed).permutation(data.n)
    n_valid = int(round(VALID_FRACTION * data.n))
    valid, train = np.sort(perm[:n_valid]), np.sort(perm[n_valid:])
    take = lambda idx, tag: Dataset(data.X[idx], data.y[idx], data.feature_names, data.target_name,  # noqa: E731
                                    f"{data.name}-{tag}")
    return take(train, "train"), take(valid, "valid")


def _posterior_summary(post) -> dict:
    lo, hi = post.interval(INTERVAL)
    return {"median": post.median, "mode": post.mode, "interval_94": [lo, hi], "edge_mass": post.edge_mass(),
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
    gamma = _effective_params(data, best.lam)
    train, valid = _split(data, seed)
    val = validation_curve(train, valid, lams)
    cv = _cv(data, lams, seed)
    post = lambda_posterior(data, lambda_grid(data, num=161 if quick else 641))
    picks = {"evidence": best.lam, "bayesian_ridge": br["lam"], "validation": val.lam, "cv": cv.lam,
             "hyperprior": post.median}
    return {"data": data, "lams": lams, "curve": curve, "best": best, "best_none": best_none, "br": br,
            "br_contrasts": br_contrasts, "contrasts": contrasts, "gamma": gamma, "train": train, "valid": valid,
            "val": val, "cv": cv, "post": post, "picks": picks, "seed": seed}


def _cv(data: Dataset, lams, seed: int):
    from ..selection import cv_curve

    return cv_curve(data, lams, folds=FOLDS, seed=seed)


def _d2l(seed: int, quick: bool) -> dict:
    problem = load_d2l(seed)
    train, test = problem.train, problem.test
    valid = load_d2l(seed + 1).test  # fresh rows from the same generator
    sigma = problem.noise_sd
    truth_lam = sigma**2 / float(problem.true_w[0]) ** 2  # τ = |w_j| = 0.01
    chapter_lam = to_canonical_lam("l2", CHAPTER_LAM, train.n, CHAPTER_CONVENTION)
    lams = np.geomspace(1e-3, 1e6, 55 if quick else 181)
    curve_known = evidence_curve(train, lams, sigma=sigma)
    curve_free = evidence_curve(train, lams)
    best_known = maximise_evidence(train, sigma=sigma)
    best_free = maximise_evidence(train)
    val = validation_curve(train, valid, lams)
    cv = _cv(train, lams, seed)
    test_curve = validation_curve(train, test, lams)  # MSE on the test rows, for reference only
    grid = lambda_grid(train, num=161 if quick else 641)
    post_known = lambda_posterior(train, grid, sigma=sigma)
    post_free = lambda_posterior(train, grid)
    picks = {"evidence": best_known.lam, "validation": val.lam, "cv": cv.lam, "hyperprior": post_known.median,
             "evidence_sigma_unknown": best_free.lam, "hyperprior_sigma_unknown": post_free.median,
             "chapter": chapter_lam, "truth": truth_lam, "best_on_test": test_curve.lam}
    test_loss = {k: _half_mse(train, test, lam) for k, lam in picks.items()}
    test_loss["predict_training_mean"] = float(np.mean(0.5 * (test.y - train.y.mean()) ** 2))
    res = _map(train, val.lam)
    r2 = (valid.y - valid.X @ res.w - res.b) ** 2
    val_se = float(np.std(r2, ddof=1) / math.sqrt(valid.n))  # standard error of the validation MSE at its pick
    return {"problem": problem, "train": train, "test": test, "valid": valid, "sigma": sigma, "lams": lams,
            "curve_known": curve_known, "curve_free": curve_free, "best_known": best_known, "best_free": best_free,
            "val": val, "cv": cv, "test_curve": test_curve, "post_known": post_known, "post_free": post_free,
            "picks": picks, "test_loss": test_loss, "truth_lam": truth_lam, "chapter_lam": chapter_lam,
            "val_se": val_se, "seed": seed}


def _d2l_seeds(seed: int, count: int, quick: bool) -> dict:
    """Each method's pick on ``count`` independent draws of the d2l problem (seeds seed .. seed + count − 1)."""
    lams = np.geomspace(1e-3, 1e6, 37 if quick else 73)
    keys = ("evidence", "evidence_sigma_unknown", "validation", "cv", "hyperprior", "best_on_test")
    out = {k: [] for k in keys}
    for s in range(seed, seed + count):
        problem = load_d2l(s)
        train, sigma = problem.train, problem.noise_sd
        out["evidence"].append(maximise_evidence(train, sigma=sigma).lam)
        out["evidence_sigma_unknown"].append(maximise_evidence(train).lam)
        out["validation"].append(validation_curve(train, load_d2l(s + 1).test, lams).lam)
        out["cv"].append(_cv(train, lams, s).lam)
        out["hyperprior"].append(lambda_posterior(train, lambda_grid(train, num=161), sigma=sigma).median)
        out["best_on_test"].append(validation_curve(train, problem.test, lams).lam)
    return {"seeds": list(range(seed, seed + count)), "lams": lams, "picks": out}


# ----------------------------------------------------------------------------------------------- checks

def _rel(a: float, b: float) -> float:
    return abs(a / b - 1.0)


def _stationarity(data: Dataset, best, sigma_free: bool) -> float:
    """How far the evidence maximum is from the EM fixed point (Fisher's identity: ∂ log p(y)/∂θ = E[∂ log
    p(y, w, b)/∂θ | y]): τ² = E‖w‖²/d and, σ free, σ² = E‖y − Xw − b‖²/n, from the full-data posterior."""
    post = gaussian_posterior(data, prior=Gaussian(best.tau), sigma=best.sigma, bias="flat")
    d = data.d
    ew2 = float(post.w_mean @ post.w_mean + np.trace(post.cov[:d, :d]))
    worst = _rel(ew2 / d, best.tau**2)
    if sigma_free:
        Z = np.column_stack([data.X, np.ones(data.n)])
        r = data.y - Z @ post.mean
        er2 = float(r @ r + np.sum((Z @ post.cov) * Z))
        worst = max(worst, _rel(er2 / data.n, best.sigma**2))
    return worst


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
        Check.at_most(f"{name}: 5-fold CV curve = scikit-learn GridSearchCV(Ridge)",
                      float(np.max(np.abs(ours / theirs - 1.0))), GRID_CV_REL,
                      f"max relative difference of the mean fold MSE over {len(idx)} λ; the same KFold(5, shuffle, "
                      f"random_state={seed}) splits and equal fold weights, so only round-off separates them"),
        Check.close(f"{name}: 5-fold CV picks the same grid λ as GridSearchCV", float(np.argmin(ours)), float(best),
                    0.0, f"index of the best of the {len(idx)} shared λ (one in {step} of the study's grid) against "
                    "GridSearchCV's best_index_"),
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
        Check.at_most("diabetes: the evidence maximum is the EM fixed point τ² = E‖w‖²/d, σ² = E‖r‖²/n",
                      _stationarity(data, best, True), STATIONARY_REL,
                      "worst relative gap, posterior moments from gaussian_posterior on the full data; the σ "
                      "condition tests the closed-form σ̂(λ) = √(2J/(n − 1)) the search profiles with"),
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
    checks.append(_mode_check("diabetes", data, dia["post"], dict(sigma_prior=sp)))
    return checks


def _mode_check(name: str, data: Dataset, post, kwargs: dict) -> Check:
    """With a log-uniform hyperprior the posterior mode in ln λ is the maximiser of p(y | λ): found here by
    Brent's method on the marginal itself, it must lie within one grid step of the grid mode."""
    u = np.log(post.lams)
    i = int(np.argmax(post.density))
    lo, hi = u[max(i - 2, 0)], u[min(i + 2, len(u) - 1)]
    res = optimize.minimize_scalar(lambda v: -float(log_marginal_lambda(data, [math.exp(v)], **kwargs)[0]),
                                   bounds=(lo, hi), method="bounded", options={"xatol": 1e-8})
    step = float(u[1] - u[0])
    return Check.at_most(f"{name}: hyperprior mode = maximiser of p(y | λ) (log-uniform hyperprior)",
                         abs(u[i] - res.x) / step, 1.0,
                         f"|Δ ln λ| in grid steps ({step:.3g} in ln λ): for a unimodal p(y | λ) the continuous "
                         "maximiser lies between the grid argmax's neighbours")


def _d2l_checks(d2l: dict, quick: bool) -> list[Check]:
    train, sigma = d2l["train"], d2l["sigma"]
    checks = [
        Check.at_most("d2l: evidence maximum, σ = 0.01 known, is the EM fixed point τ² = E‖w‖²/d",
                      _stationarity(train, d2l["best_known"], False), STATIONARY_REL,
                      "relative gap, posterior moments from the full 200-weight gaussian_posterior (the search "
                      "runs on the 20 × 20 reduced problem)"),
        Check.at_most("d2l: evidence maximum, σ unknown, is the EM fixed point (τ and σ)",
                      _stationarity(train, d2l["best_free"], True), STATIONARY_REL,
                      "worst relative gap; the maximum is a real stationary point even though the evidence is nearly "
                      "flat around it"),
    ]
    lams = np.array([0.1, 60.0] if quick else [0.1, 1.0, 60.0, 1e3])
    reduced_known = evidence_curve(train, lams, sigma=sigma).log_evidence
    full_known = [gaussian_posterior(train, prior=Gaussian(sigma / math.sqrt(v)), sigma=sigma).log_evidence
                  for v in lams]
    sp = parse_sigma_prior(default_sigma_prior(train))
    reduced_nig = log_marginal_lambda(train, lams, sigma_prior=sp)
    from ..infer.conjugate import nig_posterior

    full_nig = [nig_posterior(train, prior=float(v), sigma_prior=sp).log_evidence for v in lams]
    gap = max(float(np.max(np.abs(reduced_known - full_known))), float(np.max(np.abs(reduced_nig - full_nig))))
    checks.append(Check.at_most("d2l: the n × n reduced evidence = the full 200-weight evidence", gap, REDUCED_ABS,
                                f"max |Δ log p| at λ = {', '.join(f'{v:g}' for v in lams)}, σ known and NIG; the "
                                "evidence depends on X "
                                "only through XXᵀ, so selection works with X V (thin SVD)"))
    checks += _cv_checks("d2l", train, d2l["cv"], d2l["seed"], 3)
    checks.append(_mode_check("d2l (σ known)", train, d2l["post_known"], dict(sigma=sigma)))
    return checks


# ---------------------------------------------------------------------------------------------- summary

def _f(x) -> float:
    return float(x)


def _evmax(best) -> dict:
    return {"lam": best.lam, "tau": best.tau, "sigma": best.sigma, "log_evidence": best.log_evidence,
            "sigma_known": best.sigma_known, "bias": best.bias, "at_boundary": best.at_boundary}


def _summary(dia: dict, d2l: dict, seeds: dict, seed: int, quick: bool) -> dict:
    best, n = dia["best"], dia["data"].n
    predicted = 1.0 / (n - 1 - dia["gamma"])
    d2l_curve = d2l["curve_free"]
    return {
        "seed": seed,
        "quick": quick,
        "convention": "canonical: ½Σr² + (λ/2)‖w‖², λ = σ²/τ²",
        "diabetes": {
            "n": n, "d": dia["data"].d,
            "evidence": _evmax(best),
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
            "validation": {"lam": dia["val"].lam, "mse": _f(dia["val"].loss.min()), "n_train": dia["train"].n,
                           "n_valid": dia["valid"].n, "at_boundary": dia["val"].at_boundary},
            "cv": {"lam": dia["cv"].lam, "mse": _f(dia["cv"].loss.min()), "folds": FOLDS,
                   "at_boundary": dia["cv"].at_boundary},
            "hyperprior": _posterior_summary(dia["post"]),
            "picks": dia["picks"],
            "grid": {"min": _f(dia["lams"][0]), "max": _f(dia["lams"][-1]), "num": len(dia["lams"])},
        },
        "d2l": {
            "n_train": d2l["train"].n, "n_valid": d2l["valid"].n, "n_test": d2l["test"].n, "d": d2l["train"].d,
            "noise_sd": d2l["sigma"], "true_w": _f(d2l["problem"].true_w[0]),
            "truth_lam": d2l["truth_lam"],
            "chapter": {"lam": CHAPTER_LAM, "convention": CHAPTER_CONVENTION, "canonical_lam": d2l["chapter_lam"],
                        "tau": d2l["sigma"] / math.sqrt(d2l["chapter_lam"]),
                        "times_truth": d2l["chapter_lam"] / d2l["truth_lam"]},
            "evidence_sigma_known": _evmax(d2l["best_known"]),
            "evidence_sigma_unknown": _evmax(d2l["best_free"]),
            "evidence_sigma_unknown_range": {
                "log_evidence_max_minus_min_on_grid": _f(d2l_curve.log_evidence.max() - d2l_curve.log_evidence.min()),
                "sigma_hat_range": [_f(d2l_curve.sigma.min()), _f(d2l_curve.sigma.max())],
            },
            "validation": {"lam": d2l["val"].lam, "mse": _f(d2l["val"].loss.min()), "mse_standard_error": d2l["val_se"],
                           "at_boundary": d2l["val"].at_boundary},
            "cv": {"lam": d2l["cv"].lam, "mse": _f(d2l["cv"].loss.min()), "folds": FOLDS,
                   "at_boundary": d2l["cv"].at_boundary},
            "hyperprior_sigma_known": _posterior_summary(d2l["post_known"]),
            "hyperprior_sigma_unknown": _posterior_summary(d2l["post_free"]),
            "picks": d2l["picks"],
            "test_loss": d2l["test_loss"],
            "test_loss_definition": "mean ½r² on the 100 test rows (the chapter's loss) of the MAP on the 20 rows",
            "test_loss_range_over_grid": [_f(d2l["test_curve"].loss.min() / 2), _f(d2l["test_curve"].loss.max() / 2)],
            "grid": {"min": _f(d2l["lams"][0]), "max": _f(d2l["lams"][-1]), "num": len(d2l["lams"])},
            "over_seeds": {"seeds": seeds["seeds"], **{k: list(map(float, v)) for k, v in seeds["picks"].items()}},
        },
    }


# --------------------------------------------------------------------------------------------- sections

LAM_AXIS = "canonical λ = σ²/τ²  (½Σr² + (λ/2)‖w‖², log scale)"


def _marks(ax, picks: dict, keys) -> None:
    for k in keys:
        if k in picks:
            label, colour, style = METHODS[k]
            ax.axvline(picks[k], color=colour, ls=style, lw=1.4, label=f"{label}: λ = {picks[k]:.3g}")


def _evidence_section(dia: dict, d2l: dict) -> Section:
    from ..plots import curves_against_lambda

    fig, axes = new_figure(2, width=6.6, height=4.8)
    c = dia["curve"]
    curves_against_lambda(c.lams, {"log p(y | λ), σ maximised out": c.log_evidence - c.log_evidence.max()},
                          xlabel=LAM_AXIS, ylabel="log evidence − its maximum (nats)", ax=axes[0],
                          title="diabetes (442 rows, 10 features)")
    _marks(axes[0], dia["picks"], ("evidence", "bayesian_ridge", "validation", "cv", "hyperprior"))
    axes[0].set_ylim(max(-60.0, float((c.log_evidence - c.log_evidence.max()).min())) - 2, 3)
    ck, cf = d2l["curve_known"], d2l["curve_free"]
    curves_against_lambda(ck.lams, {"σ = 0.01 known": ck.log_evidence - ck.log_evidence.max(),
                                    "σ unknown (maximised out)": cf.log_evidence - cf.log_evidence.max()},
                          xlabel=LAM_AXIS, ylabel="log evidence − its maximum (nats)", ax=axes[1],
                          title="d2l (20 rows, 200 weights)")
    _marks(axes[1], d2l["picks"], ("evidence", "validation", "cv", "hyperprior", "chapter", "truth"))
    axes[1].axvline(d2l["best_free"].lam, color="C5", ls=(0, (1, 1)), lw=1.4,
                    label=f"evidence max, σ unknown: λ = {d2l['best_free'].lam:.3g}")
    axes[1].set_ylim(-60, 3)
    axes[0].legend(fontsize=7.5, loc="lower left")
    axes[1].legend(fontsize=7.5, loc="lower right")
    best, br, bc = dia["best"], dia["br"], dia["br_contrasts"]
    n = dia["data"].n
    rel = best.lam / br["lam"] - 1.0
    pred = 1.0 / (n - 1 - dia["gamma"])
    table = Table(
        "diabetes: empirical Bayes against scikit-learn's BayesianRidge",
        ["fit", "λ = σ²/τ²", "τ", "σ", "log evidence", "relative to BayesianRidge"],
        [["ours, flat bias integrated out (n − 1 = 441)", best.lam, best.tau, best.sigma, best.log_evidence, rel],
         ["ours, centred data, no bias (n = 442)", dia["best_none"].lam, dia["best_none"].tau,
          dia["best_none"].sigma, dia["best_none"].log_evidence, dia["best_none"].lam / br["lam"] - 1.0],
         ["BayesianRidge(fit_intercept=True)", br["lam"], br["tau"], br["sigma"], None, 0.0],
         ["BayesianRidge on the 441 contrasts (no intercept)", bc["lam"], bc["tau"], bc["sigma"], None,
          bc["lam"] / br["lam"] - 1.0]],
        "BayesianRidge with its four Gamma hyperparameters at 0 (plain type-II maximum likelihood); its alpha_ is "
        "1/σ², lambda_ is 1/τ². The flat-bias evidence is the contrasts' evidence minus ½ log n.")
    kn, fr = d2l["best_known"], d2l["best_free"]
    d2l_table = Table(
        "d2l: the evidence maximum with σ known and unknown (truth: τ = σ = 0.01, λ = 1)",
        ["σ", "λ = σ²/τ²", "τ", "σ (fixed or fitted)", "log evidence", "range of log evidence on the grid"],
        [["known, 0.01", kn.lam, kn.tau, kn.sigma, kn.log_evidence,
          _f(ck.log_evidence.max() - ck.log_evidence.min())],
         ["unknown, maximised", fr.lam, fr.tau, fr.sigma, fr.log_evidence,
          _f(cf.log_evidence.max() - cf.log_evidence.min())]],
        f"grid λ from {ck.lams[0]:.3g} to {ck.lams[-1]:.3g}. τ²·d + σ² at the σ-unknown maximum: "
        f"{fr.tau**2 * 200 + fr.sigma**2:.4g}; at the truth: {0.01**2 * 200 + 0.01**2:.4g}")
    text = f"""\
The evidence p(y | τ, σ) is the probability of the observed y with the weights integrated out against their
prior: y ~ N(b, σ²I + τ²XXᵀ). A τ too small cannot produce the spread of y, one too large spreads its
probability over data that were not seen. Maximising it over τ and σ (empirical Bayes, type-II maximum
likelihood) picks λ = σ²/τ² with no data held out. At fixed λ the best σ is closed form, so the curve against λ
below has σ maximised out at each point.

On diabetes the maximum is at λ = {best.lam:.4g} (τ = {best.tau:.4g}, σ = {best.sigma:.4g}). scikit-learn's
BayesianRidge, with its Gamma hyperpriors switched off, gives λ = {br['lam']:.4g}: {100 * rel:.2f}% less. The
difference is the intercept, not a bug: BayesianRidge centres X and y and then counts 442 observations, but
centring uses one of them up; integrating out a flat bias leaves 441. On the centred data without a bias our
maximiser and BayesianRidge agree to {_rel(dia['best_none'].lam, br['lam']):.1e}, and BayesianRidge run on the
441 contrasts (the data with the mean projected out exactly) agrees with our flat-bias value to
{_rel(best.lam, bc['lam']):.1e}. The size of the gap is what n − 1 against n predicts: σ̂² should grow by about
1/(n − 1 − γ) = {100 * pred:.3f}% (γ = {dia['gamma']:.2f} well-determined weights) and grows by
{100 * (best.sigma**2 / br['sigma']**2 - 1):.3f}%, while τ̂ barely moves.

On the chapter's problem, with σ = 0.01 known, the evidence picks λ = {kn.lam:.3g} (τ = {kn.tau:.4f}): the
truth, λ = 1 (τ = 0.01), to within the noise of 20 rows; the chapter's λ = 3 is canonical λ =
{d2l['chapter_lam']:.0f}, {d2l['chapter_lam'] / kn.lam:.0f}× stronger. With σ unknown the evidence is almost flat:
20 rows of 200 independent N(0, 1) features have XXᵀ ≈ 200·I, so y ~ N(b, (σ² + 200τ²)I) to a good
approximation and only σ² + 200τ² is identified. Its curve varies by
{_f(cf.log_evidence.max() - cf.log_evidence.min()):.2f} nats over {math.log10(cf.lams[-1] / cf.lams[0]):.0f}
decades of λ, and its maximum, λ = {fr.lam:.3g} with σ̂ = {fr.sigma:.3g}, explains most of y as noise. With n < d,
empirical Bayes needs σ from somewhere else."""
    return Section("Empirical Bayes: the evidence against λ", text, [table, d2l_table], [StudyFigure(
        "evidence_vs_lambda", fig,
        "Log evidence against canonical λ, relative to its maximum, with each method's pick. Left: diabetes (σ "
        "maximised out at each λ). Right: d2l with σ = 0.01 known (sharp) and σ unknown (nearly flat), the "
        "chapter's λ = 3 (canonical 60) and the truth (λ = 1).")])


def _heldout_section(dia: dict, d2l: dict) -> Section:
    fig, axes = new_figure(2, width=6.6, height=4.8)
    ax = axes[0]
    val, cv = dia["val"], dia["cv"]
    se = cv.fold_loss.std(axis=0, ddof=1) / math.sqrt(cv.fold_loss.shape[0])
    ax.plot(val.lams, val.loss, color=METHODS["validation"][1], lw=1.8,
            label=f"validation MSE ({dia['train'].n} train / {dia['valid'].n} validation rows)")
    ax.plot(cv.lams, cv.loss, color=METHODS["cv"][1], lw=1.8, label="5-fold CV MSE (mean over folds)")
    ax.fill_between(cv.lams, cv.loss - se, cv.loss + se, color=METHODS["cv"][1], alpha=0.2,
                    label="CV ± 1 standard error over folds")
    _marks(ax, dia["picks"], ("validation", "cv", "evidence"))
    ax.set_title("diabetes: held-out error of the MAP")
    ax.set_ylabel("mean squared error on held-out rows (disease progression²)")
    ax = axes[1]
    val, cv, test = d2l["val"], d2l["cv"], d2l["test_curve"]
    se = cv.fold_loss.std(axis=0, ddof=1) / math.sqrt(cv.fold_loss.shape[0])
    ax.plot(val.lams, val.loss, color=METHODS["validation"][1], lw=1.8, label="validation MSE (100 fresh rows)")
    ax.plot(cv.lams, cv.loss, color=METHODS["cv"][1], lw=1.8, label="5-fold CV MSE (4 rows per fold)")
    ax.fill_between(cv.lams, cv.loss - se, cv.loss + se, color=METHODS["cv"][1], alpha=0.2,
                    label="CV ± 1 standard error over folds")
    ax.plot(test.lams, test.loss, color="0.3", lw=1.4, label="test MSE (100 test rows; not used to choose)")
    _marks(ax, d2l["picks"], ("validation", "cv", "evidence", "chapter", "truth"))
    ax.set_title("d2l: held-out error of the MAP (trained on 20 rows)")
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
            rows.append([name, METHODS[key][0], curve.lam, _f(curve.loss.min()), _f(curve.loss.max()),
                         curve.at_boundary])
    table = Table("Validation and 5-fold CV: the λ with the smallest held-out MSE",
                  ["data", "method", "λ picked", "MSE at the pick", "worst MSE on the grid", "at the grid's edge"],
                  rows, f"grids: diabetes {dia['lams'][0]:.3g}–{dia['lams'][-1]:.3g}, d2l {d2l['lams'][0]:.3g}–"
                  f"{d2l['lams'][-1]:.3g}; MSE = mean r² (the chapter's loss is half of it)")
    dval = d2l["val"]
    text = f"""\
The direct way: fit the MAP at each λ on some rows and measure its squared error on others. A validation set
(the chapter's exercise) uses one split; 5-fold cross-validation rotates the held-out fifth and averages, which
uses every row for both jobs. Neither needs a noise model; both pick the λ that predicts best on the rows
held out, and inherit their noise.

On diabetes, validation picks λ = {dia['val'].lam:.3g} and CV λ = {dia['cv'].lam:.3g}, against
{dia['picks']['evidence']:.3g} for the evidence. The curves are flat near their minima (the shaded band is one
standard error of the CV mean): any λ below about 0.1 predicts about equally well.

On d2l the held-out error barely depends on λ: from λ = {dval.lams[0]:.3g} to {dval.lams[-1]:.3g} the validation
MSE moves between {_f(dval.loss.min()):.4g} and {_f(dval.loss.max()):.4g}, a range of
{_f(dval.loss.max() - dval.loss.min()):.2g} against a standard error of {d2l['val_se']:.2g} for one point (100
rows). Twenty rows cannot determine 200 weights, so every MAP predicts about as badly, and the argmin is set
by which rows happened to be held out: validation picks λ = {dval.lam:.3g}, CV λ = {d2l['cv'].lam:.3g}, and
the CV band of one standard error spans the whole curve.
Below λ ≈ 0.01 the MAP is the minimum-norm interpolant of the 20 rows and the curves are flat, so a pick at
the grid's lower end means "no decay". The test curve, which no method may use, is just as flat."""
    return Section("A validation set and K-fold cross-validation", text, [table], [StudyFigure(
        "heldout_vs_lambda", fig,
        "Held-out mean squared error of the MAP against canonical λ: one validation split and 5-fold CV (with ±1 "
        "standard error over folds), each method's pick marked. Right (d2l): the test error, for reference only.")])


def _posterior_section(dia: dict, d2l: dict) -> Section:
    fig, axes = new_figure(2, width=6.6, height=4.6)
    ln10 = math.log(10.0)
    for ax, title, posts, picks in (
            (axes[0], "diabetes: posterior over λ (σ integrated out)", {"σ integrated out": dia["post"]},
             {k: dia["picks"][k] for k in ("evidence", "hyperprior")}),
            (axes[1], "d2l: posterior over λ",
             {"σ = 0.01 known": d2l["post_known"], "σ integrated out": d2l["post_free"]},
             {k: d2l["picks"][k] for k in ("hyperprior", "chapter", "truth")})):
        for i, (label, post) in enumerate(posts.items()):
            lo, hi = post.interval(INTERVAL)
            ax.plot(post.lams, post.density * ln10, color=f"C{i}", lw=1.8,
                    label=f"{label}: median {post.median:.3g}, 94% [{lo:.3g}, {hi:.3g}]")
            inside = (post.lams > lo) & (post.lams < hi)
            xs = np.concatenate([[lo], post.lams[inside], [hi]])
            ys = np.interp(np.log(xs), np.log(post.lams), post.density) * ln10
            ax.fill_between(xs, 0, ys, color=f"C{i}", alpha=0.2)
        _marks(ax, picks, list(picks))
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
    rows = []
    for name, label, post in (("diabetes", "σ integrated out", dia["post"]), ("d2l", "σ = 0.01 known",
                                                                              d2l["post_known"]),
                              ("d2l", "σ integrated out", d2l["post_free"])):
        lo, hi = post.interval(INTERVAL)
        rows.append([name, label, post.median, post.mode, lo, hi, post.edge_mass(),
                     post.sigma_prior or "— (σ fixed)"])
    table = Table("The posterior over λ (log-uniform hyperprior over the grid)",
                  ["data", "σ", "median λ", "mode λ", "94% from", "94% to", "mass in the outer 5% of the grid",
                   "prior on σ²"], rows,
                  f"grid: {len(p.lams)} points, 16 decades around the data's scale (its range is the hyperprior's "
                  "support); σ² ~ InvGamma(0.01, 0.01·var(y)) is worth 0.02 observations")
    free = d2l["post_free"]
    lo_f, hi_f = free.interval(INTERVAL)
    text = f"""\
Instead of one λ, put a prior on it and compute its posterior: p(λ | y) ∝ p(y | λ) p(λ). The hyperprior here is
flat in log λ over 16 decades around the data's scale (it says only "no idea of the order of magnitude"). σ is
either known or integrated out under the conjugate form w | σ ~ N(0, σ²/λ) with a weak σ² ~ InvGamma(0.01,
0.01·var(y)), so p(y | λ) is closed form (Normal-Inverse-Gamma). The posterior median is reported as the pick, and
the 94% interval says how much the data pin λ down; predictions would average over it.

On diabetes the posterior is under a decade wide (94%: {dia['post'].interval()[0]:.3g} to
{dia['post'].interval()[1]:.3g}) around the evidence maximum. On d2l with σ known it is narrow around the truth
(median {d2l['post_known'].median:.3g}); the chapter's canonical λ = {d2l['chapter_lam']:.0f} is far in its tail.
With σ unknown on d2l it spreads from {lo_f:.3g} to {hi_f:.3g}: the data cannot tell σ² from 200τ², and the
honest answer is that λ is not determined; {100 * free.edge_mass():.0f}% of the probability sits in the grid's
outer 5%, so this posterior depends on where the hyperprior's range stops."""
    return Section("A hyperprior: the posterior over λ", text, [table], [StudyFigure(
        "lambda_posterior", fig,
        "Posterior density of λ per decade, with the 94% equal-tailed interval shaded. Left: diabetes. Right: d2l "
        "with σ known (peaked near the truth) and σ integrated out (spread over many decades).")])


def _picks_section(dia: dict, d2l: dict, seeds: dict) -> Section:
    sigma_d = dia["best"].sigma
    rows = []
    for key in ("evidence", "bayesian_ridge", "validation", "cv", "hyperprior"):
        lam = dia["picks"][key]
        rows.append(["diabetes", METHODS[key][0], lam, sigma_d / math.sqrt(lam), None])
    s = d2l["sigma"]
    labels = {"evidence": "empirical Bayes, σ = 0.01 known", "evidence_sigma_unknown": "empirical Bayes, σ unknown",
              "validation": "validation set (100 fresh rows)", "cv": "5-fold CV",
              "hyperprior": "hyperprior, σ known (median)",
              "hyperprior_sigma_unknown": "hyperprior, σ unknown (median)",
              "chapter": "chapter: λ = 3 in the d2l convention", "truth": "truth: τ = 0.01",
              "best_on_test": "best on the test rows (grid; hindsight)"}
    for key, label in labels.items():
        lam = d2l["picks"][key]
        rows.append(["d2l", label, lam, s / math.sqrt(lam), d2l["test_loss"][key]])
    rows.append(["d2l", "predict the training mean (w = 0)", "∞", 0.0, d2l["test_loss"]["predict_training_mean"]])
    table = Table("λ picked per method per data set", ["data", "method", "canonical λ", "τ = σ/√λ",
                                                        "d2l test loss (mean ½r²)"], rows,
                  f"τ uses σ = {sigma_d:.4g} (the evidence's σ̂) on diabetes and σ = 0.01 on d2l; the chapter's λ = 3 "
                  f"is canonical λ = nλ = {d2l['chapter_lam']:.0f}")
    picks = seeds["picks"]
    truth = d2l["truth_lam"]
    keys = ("evidence", "hyperprior", "evidence_sigma_unknown", "validation", "cv", "best_on_test")
    names = {"evidence": "empirical Bayes, σ known", "hyperprior": "hyperprior, σ known",
             "evidence_sigma_unknown": "empirical Bayes, σ unknown", "validation": "validation set", "cv": "5-fold CV",
             "best_on_test": "best on test (hindsight)"}
    seed_rows = []
    for k in keys:
        v = np.array(picks[k])
        within = float(np.mean((v >= truth / 2) & (v <= truth * 2)))
        seed_rows.append([names[k], float(np.min(v)), float(np.median(v)), float(np.max(v)), within])
    seed_table = Table(f"d2l: the picks over {len(seeds['seeds'])} draws of the problem (seeds "
                       f"{seeds['seeds'][0]}–{seeds['seeds'][-1]})",
                       ["method", "smallest λ", "median λ", "largest λ", "share within 2× of the truth"], seed_rows,
                       f"grid for validation, CV and test: {seeds['lams'][0]:.3g}–{seeds['lams'][-1]:.3g}")
    fig, axes = new_figure(1, width=8.6, height=4.4)
    ax = axes
    colours = {**{k: v[1] for k, v in METHODS.items()}, "evidence_sigma_unknown": "C5", "best_on_test": "0.35"}
    for j, k in enumerate(keys):
        v = np.array(picks[k])
        ax.scatter(v, np.full(len(v), j) + np.linspace(-0.15, 0.15, len(v)), s=22, color=colours[k], zorder=3)
    ax.axvline(truth, color=METHODS["truth"][1], lw=1.6, label="truth: λ = 1 (τ = σ = 0.01)")
    ax.axvline(d2l["chapter_lam"], color="k", lw=1.4, label=f"chapter's λ = 3 (canonical {d2l['chapter_lam']:.0f})")
    ax.set_yticks(range(len(keys)), [names[k] for k in keys])
    ax.set_xscale("log")
    ax.set_xlabel(LAM_AXIS)
    ax.set_title(f"d2l: each method's λ on {len(seeds['seeds'])} independent draws of the problem")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    tl = d2l["test_loss"]
    ev = np.array(picks["evidence"])
    null_pct = 100 * (2 * tl["predict_training_mean"] / float(d2l["test_curve"].loss.min()) - 1)
    text = f"""\
The table puts the picks side by side, with the prior sd τ each implies and, on d2l, the test loss of the MAP
(mean ½r² on 100 test rows, the chapter's loss). On diabetes all four land within a factor of about
{max(dia['picks'].values()) / min(dia['picks'].values()):.0f} of each other.

On d2l the chapter's λ = 3 is canonical λ = {d2l['chapter_lam']:.0f}, {d2l['chapter_lam'] / truth:.0f}× the
truth's λ = 1: a prior sd τ = {s / math.sqrt(d2l['chapter_lam']):.4f} for weights that are all 0.01. Yet its test
loss, {tl['chapter']:.4g}, is within {100 * abs(tl['chapter'] / tl['truth'] - 1):.1f}% of the truth's
{tl['truth']:.4g}: with 20 rows the test loss hardly depends on λ. The best λ on the grid gives
{d2l['test_curve'].loss.min() / 2:.4g}, and shrinking all the way to w = 0 (predicting the training mean) gives
{tl['predict_training_mean']:.4g}, only {null_pct:.0f}% more, so prediction cannot tell these λ apart, and
neither can validation or CV. Over {len(seeds['seeds'])} draws of the problem (figure), the validation and CV
picks scatter over decades, while the evidence with σ known stays within a factor
{math.exp(float(np.max(np.abs(np.log(ev / truth))))):.2f} of the truth every time: knowing σ, the overall
spread of y measures ‖w‖²/d, which is exactly τ². Where λ = 3 is wrong is the prior itself: it says the
weights are {math.sqrt(d2l['chapter_lam'] / truth):.1f}× smaller than they are, which the posterior's intervals
inherit."""
    return Section("λ picked per method per data set", text, [table, seed_table], [StudyFigure(
        "picks_over_seeds", fig,
        "The λ each method picks on independent draws of the d2l problem, against the truth (λ = 1) and the "
        "chapter's λ = 3 (canonical 60). Validation and CV scatter; the evidence with σ known does not.")])
