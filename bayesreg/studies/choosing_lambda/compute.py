"""Choosing λ: the computation. Every selection method on diabetes and on d2l, as numbers (no text, no plots).

:func:`compute` returns a :class:`ChoosingLambdaResult`; :func:`summarise` makes its JSON-ready summary and
:func:`selection` the λ each method picked, canonical. The checks are in :mod:`.checks`, the page in :mod:`.render`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, stats

from ...conventions import to_canonical_lam
from ...data import Dataset, from_arrays, load_d2l, load_diabetes
from ...selection import (
    cv_curve,
    evidence_curve,
    lambda_grid,
    lambda_posterior,
    maximise_evidence,
    validation_curve,
)
from ...solvers import PenalizedLeastSquares
from ...solvers.closed_form import ridge
from ..base import one_blas_thread, quiet
from ..common import CHAPTER_CONVENTION, CHAPTER_LAM, CREDIBLE_MASS, public, split_rows

__all__ = ["ChoosingLambdaResult", "compute", "summarise", "selection", "selection_notes", "FOLDS", "EDGE_FRACTION",
           "LIKELIHOOD_LEVEL", "LIKELIHOOD_DROP", "LI", "SELECTED", "EDGE_TEXT", "CHAPTER_LAM"]

FOLDS = 5
EDGE_FRACTION = 0.05    # LambdaPosterior.edge_mass: the outer share of the ln λ grid at either end
#: the profile-likelihood interval for λ: log p within ½χ²₁(LEVEL) (1.92 nats at 95%) of its maximum
LIKELIHOOD_LEVEL = 0.95
LIKELIHOOD_DROP = 0.5 * float(stats.chi2.ppf(LIKELIHOOD_LEVEL, 1))
LI = f"{100 * LIKELIHOOD_LEVEL:.0f}% likelihood interval"
SELECTED = ("evidence", "validation", "cv", "hyperprior")  # the keys of StudyResult.selection (and bayesian_ridge)
EDGE_TEXT = {"lower edge": "at the grid's lower edge", "upper edge": "at the grid's upper edge",
             "not identified": "not identified"}


@dataclass
class ChoosingLambdaResult:
    """What :func:`compute` found, per data set a dict of arrays, fitted objects and picks.

    ``diabetes`` and ``d2l``: the data, the λ grids, the evidence, validation and CV curves, the posteriors over λ,
    ``picks`` (method -> canonical λ) and ``flags`` (method -> None, "lower edge", "upper edge" or
    "not identified"); ``seeds``: each method's pick and flag over several draws of the d2l problem.
    """

    seed: int
    quick: bool
    diabetes: dict
    d2l: dict
    seeds: dict


@one_blas_thread
def compute(*, seed: int = 0, quick: bool = False, progress=quiet) -> ChoosingLambdaResult:
    """Empirical Bayes, validation, K-fold CV and a hyperprior on diabetes and on the chapter's d2l problem."""
    progress(f"diabetes: evidence, BayesianRidge, validation, {FOLDS}-fold CV, hyperprior")
    dia = _diabetes(seed, quick)
    progress("d2l: the four methods, σ known and unknown")
    d2l = _d2l(seed, quick)
    progress("d2l: the picks over several draws of the problem")
    seeds = _d2l_seeds(seed, 3 if quick else 10, quick)
    return ChoosingLambdaResult(seed, quick, dia, d2l, seeds)


def selection(result: ChoosingLambdaResult) -> dict[str, dict[str, float]]:
    """Data set -> {method: canonical λ picked} (``StudyResult.selection``).

    σ-known picks on d2l: σ unknown is not identified there, so its maxima (on or near the grid's edge) stay in
    the summary (d2l.evidence_sigma_unknown), flagged. A held-out pick on its grid's edge is what that method
    picked; summary["selection_flags"] says so.
    """
    dia, d2l = result.diabetes, result.d2l
    picked = {
        name: {k: float(res["picks"][k]) for k in keys}
        for name, res, keys in (("diabetes", dia, SELECTED + ("bayesian_ridge",)), ("d2l", d2l, SELECTED))
    }
    for name, res in (("diabetes", dia), ("d2l", d2l)):
        for k in ("evidence", "hyperprior"):
            if res["flags"][k] is not None:  # never seen (σ known or n > d); a boundary value is no pick
                del picked[name][k]
    return picked


def selection_notes(summary: dict, picked: dict) -> dict[str, dict[str, str]]:
    """Data set -> {"sigma" or method: what a reader must know about that pick} (``StudyResult.selection_notes``)."""
    return {name: {"sigma": summary["selection_sigma"][name], **summary["selection_flags"][name]}
            for name in picked}


def summarise(result: ChoosingLambdaResult) -> dict:
    """The study's JSON-ready numbers (``StudyResult.summary``)."""
    return _summary(result.diabetes, result.d2l, result.seeds, result.seed, result.quick)


def _rel(a: float, b: float) -> float:
    return abs(a / b - 1.0)


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


def _one_se_range(cv) -> tuple[float, float, float]:
    """(standard error of the CV mean at the pick, smallest and largest grid λ whose CV MSE is within it)."""
    se = cv.fold_loss.std(axis=0, ddof=1) / math.sqrt(cv.fold_loss.shape[0])
    ok = cv.lams[cv.loss <= cv.loss.min() + se[cv.index]]
    return float(se[cv.index]), float(ok.min()), float(ok.max())


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
