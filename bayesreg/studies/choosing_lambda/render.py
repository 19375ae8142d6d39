"""Choosing λ: the page. The intro, four sections of text, tables and figures, formatted from a
:class:`~.compute.ChoosingLambdaResult` (every number in the text is computed, so the text holds at any seed)."""

from __future__ import annotations

import math

import numpy as np

from ...priors import parse_sigma_prior
from ..base import Check, Section, StudyResult, Table, new_figure
from ..base import Figure as StudyFigure
from ..common import CHAPTER_CONVENTION, CHAPTER_LAM, CREDIBLE_MASS
from .compute import (
    EDGE_FRACTION,
    EDGE_TEXT,
    FOLDS,
    LI,
    LIKELIHOOD_DROP,
    ChoosingLambdaResult,
    _likelihood_interval,
    _one_se_range,
    _rel,
    selection,
    selection_notes,
    summarise,
)

__all__ = ["render", "METHODS", "LAM_AXIS", "INTERPOLANT_SHARE", "TITLE"]

TITLE = "Choosing λ, four ways side by side"
INTERPOLANT_SHARE = 0.01  # λ ≤ this share of the smallest Gram eigenvalue: the MAP is within it of the interpolant

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

LAM_AXIS = "canonical λ = σ²/τ²  (½Σr² + (λ/2)‖w‖², log scale)"


def render(result: ChoosingLambdaResult, checks: list[Check]) -> StudyResult:
    """The study's :class:`StudyResult`: intro, sections, ``checks``, summary and selection."""
    dia, d2l = result.diabetes, result.d2l
    summary = summarise(result)
    picked = selection(result)
    sections = [_evidence_section(dia, d2l), _heldout_section(dia, d2l), _posterior_section(dia, d2l),
                _picks_section(dia, d2l, result.seeds)]
    return StudyResult("choosing_lambda", TITLE, _intro(dia, d2l), sections, checks, summary, picked,
                       selection_notes=selection_notes(summary, picked))


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
    from ...plots import curves_against_lambda

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
