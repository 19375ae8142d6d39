"""Classification: what scikit-learn's C = 1 assumes, read the Bayesian way, on breast_cancer.

scikit-learn's ``LogisticRegression(C=1)`` minimises C·Σ logloss + ½‖w‖²: read as a prior, N(0, C) = N(0, 1) on
each weight of the standardised features. This study shows, on the 569 rows of scikit-learn's breast-cancer data
(features standardised):

* what C = 1 is in every library's convention (SGDClassifier's alpha, BCEWithLogitsLoss's weight_decay, Keras,
  glmnet);
* MAP ≡ ``LogisticRegression`` ≡ PyTorch weight decay: Newton's MAP against scikit-learn (lbfgs and its Newton
  solver), ``SGD(weight_decay)`` and ``Adam(weight_decay)`` on ``BCEWithLogitsLoss``, and where practice falls
  short: AdamW's decoupled decay, the subgradient of an L1 term (no exact zeros, against the L1 MAP's zeros that
  scikit-learn also finds);
* what the point estimate hides: the posterior (NUTS, checked against the Pólya–Gamma Gibbs sampler), the
  probability of each held-out row with its 94% credible interval, calibration on held-out rows, and how far the
  Laplace approximation is from the exact posterior;
* λ chosen four ways (Laplace evidence, validation log-loss, 5-fold CV, a hyperprior), the CV curve checked against
  ``LogisticRegressionCV``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special

from .base import Check, Figure, Section, StudyResult, Table, new_figure, one_blas_thread, quiet, timed_study

TITLE = "Classification: what C = 1 assumes"
C_GIVEN = 1.0
#: the CV curve is checked against scikit-learn from this λ up (C ≤ 30), where its solver converges on every fold
CV_CHECK_FROM = 1.0 / 30.0


@dataclass(frozen=True)
class ClassificationResult:
    data: object
    conventions: dict
    map_w: np.ndarray
    map_b: float
    sklearn_lbfgs: np.ndarray
    sklearn_newton: np.ndarray
    optimisers: list
    l1: dict
    nuts: object
    gibbs: object
    laplace: object
    held_out: dict
    selection: object
    cv_oracle: np.ndarray
    separable: bool


def _fit_split(data, seed: int):
    from ..data import Dataset

    order = np.random.default_rng(seed).permutation(data.n)
    k = data.n // 4
    test, train = np.sort(order[:k]), np.sort(order[k:])
    part = lambda idx: Dataset(data.X[idx], data.y[idx], data.feature_names, data.target_name,  # noqa: E731
                               data.name, classes=data.classes)
    return part(train), part(test)


def compute(*, seed: int = 0, quick: bool = False, progress=quiet) -> ClassificationResult:
    """The numbers of the study (module docstring)."""
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    import bayesreg as br

    from ..classifier_selection import select_lambda_logistic
    from ..conventions import CLASSIFIER_CONVENTIONS, from_canonical_lam, to_canonical_lam
    from ..data import load_dataset
    from ..infer.laplace_approx import laplace_approximation
    from ..model import Model
    from ..priors import Gaussian
    from ..selection import cv_splits
    from ..solvers import sgd
    from ..solvers.logistic import logistic_map, separable
    from ..solvers.objective import ConvergenceWarning, PenalizedLeastSquares

    data = load_dataset("breast_cancer", binary=True, standardize=True)
    lam = to_canonical_lam("l2", C_GIVEN, data.n, CLASSIFIER_CONVENTIONS["sklearn_logistic"])
    conventions = {c.name: from_canonical_lam("l2", lam, data.n, c) for c in CLASSIFIER_CONVENTIONS.values()
                   if c.supports("l2")}
    progress("MAP: Newton, scikit-learn, PyTorch")
    problem = PenalizedLeastSquares(l2=lam)
    mode = logistic_map(data.X, data.y, problem)
    lbfgs = LogisticRegression(C=C_GIVEN, tol=1e-10, max_iter=100_000).fit(data.X, data.y)
    newton = LogisticRegression(C=C_GIVEN, solver="newton-cholesky", tol=1e-14, max_iter=1000).fit(data.X, data.y)
    optimisers = []
    budget = 1000 if quick else 10_000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name in ("sgd_weight_decay", "adam_l2", "adamw"):  # AdamW never settles on the MAP: a budget
            res = getattr(sgd, name)(data.X, data.y, problem, reference=mode.w, loss="logistic",
                                     **({"max_steps": budget} if name == "adamw" else {}))
            optimisers.append((name, float(np.max(np.abs(res.w - mode.w))), res.converged, res.iterations,
                               res.info["weight_decay"]))
        l1_lam = 10.0  # C = 0.1 with penalty="l1": a Laplace prior of scale 0.1
        l1_map = logistic_map(data.X, data.y, PenalizedLeastSquares(l1=l1_lam))
        sub = sgd.subgradient_sgd(data.X, data.y, PenalizedLeastSquares(l1=l1_lam), reference=l1_map.w,
                                  loss="logistic", max_steps=budget)
        saga = LogisticRegression(C=1.0 / l1_lam, l1_ratio=1.0, solver="saga", tol=1e-12,
                                  max_iter=5000 if quick else 200_000).fit(data.X, data.y)
    l1 = {"lam": l1_lam, "zeros_map": int(np.sum(l1_map.w == 0)), "zeros_sklearn": int(np.sum(saga.coef_ == 0)),
          "same_zeros": bool(np.array_equal(l1_map.w == 0, saga.coef_[0] == 0)),
          "zeros_subgradient": int(np.sum(sub.w == 0)), "subgradient_distance": float(np.max(np.abs(sub.w - l1_map.w))),
          "near_zero_subgradient": int(np.sum(np.abs(sub.w[l1_map.w == 0]) < 1e-3))}
    progress("posterior: NUTS and Pólya–Gamma Gibbs")
    model = Model.logistic(Gaussian(1.0 / np.sqrt(lam)))
    draws = 300 if quick else 1000
    nuts = br.fit(data, model, method="nuts", chains=4, draws=draws, seed=seed)
    gibbs = br.fit(data, model, method="gibbs", chains=4, draws=3 * draws, seed=seed)
    laplace = laplace_approximation(data, model)
    train, test = _fit_split(data, seed)
    held = br.fit(train, model, method="nuts", chains=4, draws=draws, seed=seed)
    eta = np.einsum("cdk,nk->cdn", held.draws["w"], test.X) + held.draws["b"][..., None]
    prob = special.expit(eta).reshape(-1, test.n)
    lo, hi = np.quantile(prob, [0.03, 0.97], axis=0)
    mean = prob.mean(axis=0)
    point = special.expit(test.X @ held.mode.values["w"] + float(held.mode.values["b"]))
    held_out = {"rows": test.n, "probability": mean, "lower": lo, "upper": hi, "y": test.y, "map": point,
                "log_loss": float(-np.mean(test.y * np.log(mean) + (1 - test.y) * np.log1p(-mean))),
                "log_loss_map": float(-np.mean(test.y * np.log(point) + (1 - test.y) * np.log1p(-point))),
                "wide": int(np.sum(hi - lo > 0.5))}
    progress("λ four ways")
    selection = select_lambda_logistic(data, seed=seed, points_per_decade=4 if quick else 8)
    lams = selection.picks["cv"].lams
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lrcv = LogisticRegressionCV(Cs=1.0 / lams, cv=cv_splits(data.n, selection.folds, seed),
                                    scoring="neg_log_loss", solver="newton-cholesky", tol=1e-12,
                                    max_iter=1000).fit(data.X, data.y)
    return ClassificationResult(data, conventions, mode.w, float(mode.b), lbfgs.coef_[0], newton.coef_[0],
                                optimisers, l1, nuts, gibbs, laplace, held_out, selection,
                                -lrcv.scores_[1].mean(axis=0), separable(data.X, data.y))


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


def _agreement(a, b) -> tuple[float, float]:
    """max |Δmean|/sd and max |sd ratio − 1| of w between two posteriors (b the reference)."""
    wa, wb = a.flat("w"), b.flat("w")
    sd = wb.std(0)
    return float(np.max(np.abs(wa.mean(0) - wb.mean(0)) / sd)), float(np.max(np.abs(wa.std(0) / sd - 1)))


def _z_scores(a, b) -> tuple[float, float]:
    """The largest gaps between two runs in units of their Monte Carlo standard errors: posterior means, se =
    sd·√(1/ESS_a + 1/ESS_b) with ArviZ's bulk ESS of each weight in each run; sds, the ratio's se ≈
    √(1/(2ESS_a) + 1/(2ESS_b)) with ArviZ's ESS for the sd (of the squared deviations, which mix more slowly than
    the draws themselves in one sampler and faster in another), since a Gaussian's sd estimate from m effective
    draws has relative error 1/√(2m)."""
    import arviz as az

    def ess(method):
        return [az.ess(az.convert_to_dataset({"w": p.draws["w"]}), method=method)["w"].values for p in (a, b)]

    bulk, for_sd = ess("bulk"), ess("sd")
    wa, wb = a.flat("w"), b.flat("w")
    mean_z = np.abs(wa.mean(0) - wb.mean(0)) / (wb.std(0) * np.sqrt(1.0 / bulk[0] + 1.0 / bulk[1]))
    sd_z = np.abs(wa.std(0) / wb.std(0) - 1.0) / np.sqrt(0.5 / for_sd[0] + 0.5 / for_sd[1])
    return float(mean_z.max()), float(sd_z.max())


def check(r: ClassificationResult) -> list[Check]:
    """Against scikit-learn (lbfgs, Newton, LogisticRegressionCV), the Newton MAP and the Gibbs sampler."""
    sgd = {name: (dist, conv) for name, dist, conv, _, _ in r.optimisers}
    mean_gap, sd_gap = _agreement(r.nuts, r.gibbs)
    mean_z, sd_z = _z_scores(r.nuts, r.gibbs)
    cv = r.selection.picks["cv"]
    solid = cv.lams >= CV_CHECK_FROM
    cv_gap = float(np.max(np.abs(cv.values[solid] - r.cv_oracle[solid]) / r.cv_oracle[solid]))
    return [
        Check.at_most("MAP = LogisticRegression(C=1), lbfgs tol 1e-10 (relative)", _rel(r.map_w, r.sklearn_lbfgs),
                      1e-6, "‖Δw‖/‖w‖; lbfgs stops at its own tolerance"),
        Check.at_most("MAP = LogisticRegression(C=1), newton-cholesky tol 1e-14 (relative)",
                      _rel(r.map_w, r.sklearn_newton), 1e-9, "‖Δw‖/‖w‖"),
        Check.at_most("SGD(weight_decay = 1/n) on BCEWithLogitsLoss: max|w − MAP|", sgd["sgd_weight_decay"][0], 1e-5,
                      "full batch, heavy-ball momentum, run to its convergence criterion"),
        Check.at_most("Adam(weight_decay = 1/n): max|w − MAP|", sgd["adam_l2"][0], 1e-4,
                      "coupled L2: its fixed point is the MAP; decaying step"),
        Check.at_least("AdamW(weight_decay = 1/n) ends away from the MAP: max|w − MAP|", sgd["adamw"][0], 1e-2,
                       "decoupled decay: its fixed point is not the MAP (CONVENTIONS.md, Optimisers)"),
        Check.close("L1 MAP (C = 0.1) zeros = scikit-learn saga's zeros", float(r.l1["same_zeros"]), 1.0, 0.0,
                    f"{r.l1['zeros_map']} of {r.data.d} weights exactly 0 in both"),
        Check.at_most("subgradient SGD on + λ‖w‖₁: exact zeros", r.l1["zeros_subgradient"], 0,
                      "sign(w) as a gradient hovers around 0 and never lands on it"),
        Check.at_most("NUTS vs Pólya–Gamma Gibbs: max |Δ posterior mean| / its Monte Carlo error",
                      mean_z, 4.5,
                      f"two exact samplers, 4 chains each; in posterior sds the largest gap is {mean_gap:.3f}; "
                      "4.5 standard errors: a 30-weight maximum of |z| beyond it has probability < 2e-4"),
        Check.at_most("NUTS vs Pólya–Gamma Gibbs: max |sd ratio − 1| / its Monte Carlo error", sd_z, 4.5,
                      f"the largest relative gap in sd is {sd_gap:.1%}"),
        Check.at_most("CV curve = LogisticRegressionCV(scoring='neg_log_loss') (relative)", cv_gap, 1e-6,
                      f"same KFold folds and grid, newton-cholesky tol 1e-12, on λ ≥ {CV_CHECK_FROM:g}: below, the "
                      "training folds are nearly separable and scikit-learn's solver stops short of the optimum "
                      "(bayesreg's Newton fits there meet their own optimality test)"),
    ]


def render(r: ClassificationResult, checks: list[Check]) -> StudyResult:
    """The sections, tables and figures."""
    from ..plots import selection_curves

    d = r.data
    conv_rows = [[name, value] for name, value in r.conventions.items()]
    assume = Section(
        "What C = 1 assumes",
        "`LogisticRegression(C=1)` minimises `C·Σ logloss + ½‖w‖²`. Dividing by C gives the canonical "
        "`Σ logloss + (λ/2)‖w‖²` with **λ = 1/C = 1**: the negative log posterior under **w_j ~ N(0, 1)** on the "
        "standardised features (a classifier has no noise σ: the log-loss is the negative log-likelihood). The same "
        "prior in each library's convention (n = 569):"
        + ("\n\nThese classes are *not* perfectly separable by a hyperplane, so the maximum-likelihood estimate "
           "exists too." if not r.separable else
           "\n\nThe classes are **perfectly separable** by a hyperplane in these 30 features: without the prior the "
           "weights would run off to infinity. The prior is what makes the MAP finite."),
        tables=[Table("C = 1 in every convention", ["convention", "value"], conv_rows)])
    opt_rows = [[name, dist, conv, iters, wd] for name, dist, conv, iters, wd in r.optimisers]
    l1 = r.l1
    map_section = Section(
        "MAP ≡ LogisticRegression ≡ PyTorch weight decay",
        f"Newton's MAP equals scikit-learn's to {_rel(r.map_w, r.sklearn_lbfgs):.1e} (lbfgs, its tolerance) and "
        f"{_rel(r.map_w, r.sklearn_newton):.1e} (its Newton solver). PyTorch reaches it with "
        "`BCEWithLogitsLoss()` and `SGD(weight_decay = 1/n)`, or `Adam(weight_decay = 1/n)`; AdamW with the same "
        "number does not (its decay bypasses the preconditioner).\n\n"
        f"With an L1 penalty (C = 0.1, a Laplace prior of scale 0.1) the MAP has {l1['zeros_map']} exact zeros, the "
        f"same {l1['zeros_sklearn']} as scikit-learn's saga; `loss + λ‖w‖₁` trained by SGD has "
        f"{l1['zeros_subgradient']} ({l1['near_zero_subgradient']} of those weights within 1e-3 of 0, hovering).",
        tables=[Table("PyTorch optimisers at the converted weight_decay", ["optimiser", "max|w − MAP|", "converged",
                                                                         "steps", "weight_decay"], opt_rows)])
    h = r.held_out
    fig, ax = new_figure(width=7.0, height=4.2)
    order = np.argsort(h["probability"])
    xs = np.arange(len(order))
    ax.fill_between(xs, h["lower"][order], h["upper"][order], color="C0", alpha=0.3, label="94% credible interval")
    ax.plot(xs, h["probability"][order], color="C0", lw=1.2, label="posterior mean P(benign)")
    ax.plot(xs, h["map"][order], color="C3", lw=0.8, ls="--", label="MAP plug-in")
    ax.plot(xs, h["y"][order], "k|", ms=6, label="observed (1 = benign)")
    ax.set_xlabel("held-out rows, sorted by posterior mean")
    ax.set_ylabel("P(benign | x)")
    ax.set_title(f"{h['rows']} held-out rows: probability and its uncertainty")
    ax.legend(fontsize=8, loc="lower right")
    calib = _calibration(h)
    la_sd = r.laplace.sd[: d.d]
    nuts_sd = r.nuts.flat("w").std(0)
    la_mean_gap = np.abs(r.laplace.mean[: d.d] - r.nuts.flat("w").mean(0)) / nuts_sd
    fig3, ax3 = new_figure(width=7.0, height=3.6)
    ax3.bar(np.arange(d.d), la_sd / nuts_sd - 1, color="C2")
    ax3.axhline(0, color="k", lw=0.8)
    ax3.set_xticks(np.arange(d.d), list(d.feature_names), rotation=90, fontsize=6)
    ax3.set_ylabel("Laplace sd / NUTS sd − 1")
    ax3.set_title("The Laplace approximation's error in each weight's sd")
    hides = Section(
        "What the point estimate hides",
        f"NUTS and the Pólya–Gamma Gibbs sampler agree (checks below). On {h['rows']} held-out rows (a seeded "
        f"quarter) the posterior's probabilities have a mean log-loss of {h['log_loss']:.4f} against the MAP "
        f"plug-in's {h['log_loss_map']:.4f}; {h['wide']} rows have a 94% interval wider than 0.5, where the point "
        "estimate claims a confidence the posterior does not have.\n\n"
        f"The Laplace approximation N(MAP, H⁻¹) misses posterior means by up to {la_mean_gap.max():.2f} sd and sds "
        f"by up to {np.max(np.abs(la_sd / nuts_sd - 1)):.0%} (NUTS as the reference): its error, measured, not "
        "assumed away.",
        figures=[Figure("probabilities", fig, "Each held-out row's probability: posterior mean, 94% interval, the "
                        "MAP's plug-in, and the observed class."),
                 Figure("calibration", calib, "Held-out calibration: observed rate of benign per bin of predicted "
                        "probability, with the band of rates the posterior predicts."),
                 Figure("laplace_error", ax3.figure, "Laplace approximation against NUTS, per weight (NUTS's own "
                        "Monte Carlo error in an sd is about 1/√(2·ESS), 1–2% here).")])
    picks = r.selection.picks
    sel_rows = [[name, p.lam, 1.0 / p.lam, 1.0 / np.sqrt(p.lam), "yes" if p.interior else "NO"]
                for name, p in picks.items()]
    choose = Section(
        "λ chosen four ways",
        "Each method reads one curve against the canonical λ (`LogisticRegression` C = 1/λ): MacKay's Laplace "
        "evidence, the held-out log-loss of a seeded quarter, 5-fold CV log-loss (the curve `LogisticRegressionCV` "
        "computes on the same folds) and a log-uniform hyperprior.",
        tables=[Table("λ by each method", ["method", "λ", "C = 1/λ", "τ = 1/√λ", "interior"], sel_rows)],
        figures=[Figure("selection", selection_curves(r.selection, title=d.name),
                        "The four curves, each pick marked.")])
    mean_gap, sd_gap = _agreement(r.nuts, r.gibbs)
    summary = {"data": d.name, "n": d.n, "d": d.d, "C": C_GIVEN, "tau": 1.0, "conventions": r.conventions,
               "separable": r.separable, "map_vs_lbfgs": _rel(r.map_w, r.sklearn_lbfgs),
               "optimisers": {name: {"distance": dist, "converged": conv} for name, dist, conv, _, _ in r.optimisers},
               "l1": r.l1, "nuts_vs_gibbs": {"mean": mean_gap, "sd": sd_gap},
               "laplace_error": {"mean_sd_units": float(la_mean_gap.max()),
                                 "sd_relative": float(np.max(np.abs(la_sd / nuts_sd - 1)))},
               "held_out": {k: v for k, v in h.items() if np.ndim(v) == 0},
               "picks": {k: p.lam for k, p in picks.items()}}
    intro = ("scikit-learn's `LogisticRegression(C=1)` on its breast-cancer data (569 rows, 30 standardised "
             "features, 1 = benign), read the Bayesian way: the prior it assumes, whether every optimiser finds its "
             "MAP, and the uncertainty its single answer hides.")
    return StudyResult("classification", TITLE, intro, [assume, map_section, hides, choose], checks, summary)


def _calibration(h: dict):
    """Held-out calibration: rows in 6 equal-count bins of predicted probability; the observed rate and the
    94% band of the rate in replicated data (binomial given each row's probability)."""
    fig, ax = new_figure(width=5.2, height=4.6)
    order = np.argsort(h["probability"])
    groups = np.array_split(order, 6)
    x = np.array([h["probability"][g].mean() for g in groups])
    observed = np.array([h["y"][g].mean() for g in groups])
    rng = np.random.default_rng(0)
    reps = np.stack([(rng.random((4000, len(g))) < h["probability"][g]).mean(1) for g in groups], axis=1)
    lo, hi = np.quantile(reps, [0.03, 0.97], axis=0)
    ax.plot([0, 1], [0, 1], color="0.6", ls=":", lw=1, label="perfect calibration")
    ax.fill_between(x, lo, hi, color="C0", alpha=0.25, label="replicated rate, 94%")
    ax.plot(x, observed, "o-", color="k", ms=5, lw=1, label="observed rate")
    ax.set_xlabel("mean predicted P(benign) in the bin")
    ax.set_ylabel("observed rate of benign")
    ax.set_title("Held-out calibration (6 equal-count bins)")
    ax.legend(fontsize=8, loc="upper left")
    return fig


@one_blas_thread
def run(*, seed: int = 0, quick: bool = False, progress=quiet) -> StudyResult:
    """:func:`compute`, then :func:`check` and :func:`render`."""
    return timed_study(compute, check, render, seed=seed, quick=quick, progress=progress)
