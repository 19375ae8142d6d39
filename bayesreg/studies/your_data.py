"""Your data, read the Bayesian way.

The studies that apply to any regression table, run on a user's data set: λ chosen four ways, the prior the chosen
λ implies in every library's convention, MAP ≡ weight decay at that λ, and what the point estimate hides
(credible intervals of the weights, predictive intervals on held-out rows). Only checks whose oracle holds on any
data are kept (scikit-learn's Ridge, BayesianRidge and GridSearchCV); the chapter-specific studies, which need a
known truth, are left out.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .base import Check, Figure, Section, StudyResult, Table

TITLE = "Your data, read the Bayesian way"


@dataclass(frozen=True)
class YourDataResult:
    data: object
    selection: object
    lam: float
    sigma: float
    tau: float
    conventions: dict
    comparison: object
    comparison_rows: list
    posterior: object
    held_out: dict
    bayesian_ridge_lam: float
    centred_evidence_lam: float
    evidence_gain: float
    grid_search_lam: float


def compute(data, *, seed: int = 0, quick: bool = False, progress=None) -> YourDataResult:
    """The numbers: selection, the implied prior, the MAP comparison and the exact posterior at the evidence's λ."""
    from sklearn.linear_model import BayesianRidge, Ridge
    from sklearn.model_selection import GridSearchCV, KFold

    from ..compare import compare_map
    from ..conventions import CONVENTIONS, from_canonical_lam
    from ..data import Dataset
    from ..infer.conjugate import gaussian_posterior
    from ..priors import Gaussian
    from ..selection import evidence_curve, maximise_evidence, select_lambda

    say = progress or (lambda message: None)
    say("choosing λ four ways")
    selection = select_lambda(data, seed=seed, points_per_decade=4 if quick else 10)
    lam = selection.picks["evidence"].lam
    sigma = selection.sigma_evidence
    tau = sigma / math.sqrt(lam)
    conventions = {c.name: from_canonical_lam("l2", lam, data.n, c) for c in CONVENTIONS.values() if c.supports("l2")}
    ridge = BayesianRidge(tol=1e-12, max_iter=100_000).fit(data.X, data.y)
    Xc, yc = data.X - data.X.mean(axis=0), data.y - data.y.mean()
    centred = maximise_evidence(Xc, yc, bias="none", lams=selection.picks["evidence"].lams).lam
    br_lam = float(ridge.lambda_ / ridge.alpha_)
    both = evidence_curve(Xc, np.sort([centred, br_lam * (1 + 1e-12)]) if centred != br_lam else [centred], yc,
                          bias="none")
    gain = float(both.log_evidence[np.argmin(np.abs(np.log(both.lams / centred)))]
                 - both.log_evidence[np.argmin(np.abs(np.log(both.lams / br_lam)))])
    cv = selection.picks["cv"]
    search = GridSearchCV(Ridge(), {"alpha": cv.lams}, cv=KFold(selection.folds, shuffle=True, random_state=seed),
                          scoring="neg_mean_squared_error").fit(data.X, data.y)
    say("MAP ≡ weight decay at the evidence's λ")
    from ..compare import methods_for
    from ..errors import BayesregError

    available = methods_for(Gaussian(tau))
    comparison = compare_map(data, Gaussian(tau), sigma, "flat", methods=available[:1])
    comparison_rows = []
    for method in available:
        try:  # each optimiser alone: one that refuses this problem (a step size it cannot take) is reported
            one = compare_map(data, Gaussian(tau), sigma, "flat", methods=(available[0], method),
                              max_steps=3000 if quick else None)
        except BayesregError as exc:
            comparison_rows.append([method, None, None, None, None, f"not run: {exc}"])
            continue
        res = one.results[method]
        comparison_rows.append([method, one.max_abs_diff(method), one.relative_diff(method), res.converged,
                                res.iterations, ""])
    posterior = gaussian_posterior(data, prior=Gaussian(tau), sigma=sigma)
    order = np.random.default_rng(seed).permutation(data.n)
    k = max(2, data.n // 4)
    test, train = np.sort(order[:k]), np.sort(order[k:])
    part = lambda idx: Dataset(data.X[idx], data.y[idx], data.feature_names, data.target_name, data.name)  # noqa: E731
    held = gaussian_posterior(part(train), prior=Gaussian(tau), sigma=sigma).predictive(data.X[test])
    lo, hi = held.interval(0.94)
    inside = (data.y[test] >= lo) & (data.y[test] <= hi)
    held_out = {"rows": int(k), "coverage": float(inside.mean()),
                "binomial_sd": float(math.sqrt(0.94 * 0.06 / k)), "mean_width": float(np.mean(hi - lo))}
    return YourDataResult(data, selection, lam, sigma, tau, conventions, comparison, comparison_rows, posterior,
                          held_out,
                          br_lam, float(centred), gain, float(search.best_params_["alpha"]))


def check(r: YourDataResult) -> list[Check]:
    """Checks whose oracles hold on any data set."""
    from sklearn.linear_model import Ridge

    ridge = Ridge(alpha=r.lam, tol=1e-12).fit(r.data.X, r.data.y)
    w = r.comparison.results[r.comparison.reference].w
    return [
        Check.at_most("closed-form MAP = scikit-learn Ridge(alpha = evidence λ)",
                      float(np.max(np.abs(w - ridge.coef_)) / max(np.max(np.abs(ridge.coef_)), 1e-300)), 1e-8,
                      "sklearn.linear_model.Ridge, max|Δw|/max|w|"),
        Check.at_least("log evidence at bayesreg's λ − at BayesianRidge's λ (no bias, centred)",
                       r.evidence_gain, -1e-8,
                       f"BayesianRidge's lambda_/alpha_ = {r.bayesian_ridge_lam:.6g}, bayesreg's "
                       f"{r.centred_evidence_lam:.6g}: 0 when they find the same maximum; positive when "
                       "BayesianRidge's iteration stopped at a lower local maximum"),
        Check.close("CV pick = GridSearchCV(Ridge) on the same folds and grid", r.selection.picks["cv"].lam,
                    r.grid_search_lam, 0.0, "KFold(shuffle=True) with the report's seed"),
    ]


def render(r: YourDataResult, checks: list[Check]) -> StudyResult:
    from ..plots import credible_intervals, selection_curves

    d = r.data
    picks = r.selection.picks
    columns = getattr(d, "columns", None)
    described = "" if columns is None or not columns.describe() else (
        "\n\nColumns: " + "; ".join(columns.describe()) + ".")
    intro = (f"The data set `{d.name}`: {d.n} rows, {d.d} features, target `{d.target_name}`. Every number below is "
             "computed on it with the noise sd σ estimated by the evidence (σ̂ = "
             f"{r.sigma:.4g}); the chapter-specific studies of the built-in report need a known truth and are left "
             f"out.{described}")
    rows = [[name, p.lam, r.sigma / math.sqrt(p.lam), "yes" if p.interior else "NO", p.note or "—"]
            for name, p in picks.items()]
    choose = Section(
        "λ chosen four ways",
        "Each method reads one curve against the canonical λ of `½Σr² + (λ/2)‖w‖²` (scikit-learn's `Ridge(alpha)`). "
        "The grids widen until each optimum is interior; a pick left at the search limit is marked and explained.",
        tables=[Table("λ by each method (canonical)", ["method", "λ", "τ = σ̂/√λ", "interior", "note"], rows)],
        figures=[Figure("selection", selection_curves(r.selection, title=d.name),
                        "The four curves against λ, each pick marked (the hyperprior's 94% interval shaded).")])
    prior = Section(
        "The prior the evidence's λ assumes",
        f"At λ = {r.lam:.4g} and σ̂ = {r.sigma:.4g}, weight decay is the prior **N(0, {r.tau:.4g}²)** on each "
        "weight. The same penalty in each library's convention:",
        tables=[Table("the evidence's λ in every convention", ["convention", "value"],
                      [[k, v] for k, v in r.conventions.items()])])
    map_section = Section(
        "MAP ≡ weight decay",
        "Every solver and optimiser at the converted λ, measured against the exact MAP. A gradient method that "
        "did not converge here (features on very different scales make that likely) says so; AdamW's fixed point "
        "is not the MAP by design.",
        tables=[Table("distance to the exact MAP", ["method", "max|Δw|", "relative", "converged", "iterations",
                                                    "note"], r.comparison_rows)])
    post = r.posterior
    lo, hi = post.credible_interval(0.94)
    fig_ax = credible_intervals({"posterior (94%)": (post.w_mean, lo[:d.d], hi[:d.d])},
                                ylabel="weight", title=f"{d.name}: each weight's 94% credible interval")
    shown = min(25, d.d)
    fig_ax.set_xticks(range(shown), list(d.feature_names[:shown]), rotation=45, ha="right", fontsize=8)
    fig_ax.set_xlabel("feature" + ("" if shown == d.d else f" (the first {shown} of {d.d})"))
    fig_ax.figure.tight_layout()
    excludes = int(np.sum((lo[:d.d] > 0) | (hi[:d.d] < 0)))
    h = r.held_out
    hides = Section(
        "What the point estimate hides",
        f"The MAP is one point; the exact posterior at the same λ gives every weight an interval. {excludes} of "
        f"{d.d} intervals exclude 0. On {h['rows']} held-out rows (a quarter, seeded) the 94% predictive intervals "
        f"cover {h['coverage']:.1%} of the observations (binomial sd {h['binomial_sd']:.1%} if the model is right), "
        f"mean width {h['mean_width']:.4g}.",
        figures=[Figure("intervals", fig_ax.figure, "Posterior mean and 94% credible interval of each weight.")])
    summary = {"data": d.name, "n": d.n, "d": d.d, "lam": r.lam, "sigma": r.sigma, "tau": r.tau,
               "picks": {k: p.lam for k, p in picks.items()},
               "interior": {k: p.interior for k, p in picks.items()},
               "conventions": r.conventions, "held_out": h, "intervals_excluding_zero": excludes,
               "bayesian_ridge_lam": r.bayesian_ridge_lam}
    selection = {d.name: {k: p.lam for k, p in picks.items()}}
    notes = {d.name: {"sigma": f"unknown: estimated by the evidence (σ̂ = {r.sigma:.4g})",
                      **{k: p.note for k, p in picks.items() if p.note}}}
    return StudyResult("your_data", TITLE, intro, [choose, prior, map_section, hides], checks, summary, selection,
                       selection_notes=notes)


def run(data, *, seed: int = 0, quick: bool = False, progress=None) -> StudyResult:
    began = time.perf_counter()
    result = compute(data, seed=seed, quick=quick, progress=progress)
    out = render(result, check(result))
    out.seconds = time.perf_counter() - began
    return out
