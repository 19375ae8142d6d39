"""The Bayesian lasso on diabetes: the page. Text, tables and figures formatted from a
:class:`~.compute.BayesianLassoResult`."""

from __future__ import annotations

import importlib

import numpy as np

from ...plots import finish_coefficient_panels
from ..base import Check, Section, StudyResult, Table, new_figure
from ..base import Figure as StudyFigure
from ..common import CREDIBLE_MASS
from .compute import SCALE_PRIOR, SLOW_FACTOR, SLOW_KEPT, WARMUP, BayesianLassoResult, summarise

__all__ = ["render", "TITLE"]

TITLE = "The Bayesian lasso on diabetes"


def render(result: BayesianLassoResult, checks: list[Check]) -> StudyResult:
    """The study's :class:`StudyResult`: the intro (the package docstring's), sections, ``checks`` and summary."""
    fixed, paths, hier = result.fixed, result.paths, result.hier
    sections = [_fixed_section(fixed, hier), _paths_section(paths, hier), _hier_section(hier, paths)]
    intro = importlib.import_module(__package__).__doc__.split("\n\n")[1]
    return StudyResult("bayesian_lasso", TITLE, intro, sections, checks, summarise(result))


def _fixed_section(fx: dict, hier: dict) -> Section:
    pct = f"{CREDIBLE_MASS:.0%}"
    names = fx["features"]
    d = len(names)
    w_map = np.array(fx["w_map"])
    fig, axes = new_figure(2, width=6.3, height=4.6)
    ax = axes[0]
    ypos = np.arange(d)[::-1]
    ax.hlines(ypos, fx["lo"], fx["hi"], color="C0", lw=2.2, alpha=0.6, label=f"{pct} credible interval")
    ax.plot(fx["median"], ypos, "o", color="C1", ms=6, label="posterior median")
    ax.plot(fx["mean"], ypos, "D", color="C0", ms=4, label="posterior mean")
    zero = w_map == 0
    ax.plot(w_map[~zero], ypos[~zero], "x", color="C3", ms=8, mew=2, label="lasso (MAP)")
    ax.plot(w_map[zero], ypos[zero], "s", color="C3", ms=7, mfc="none", mew=2, label="lasso: exactly 0")
    ax.axvline(0, color="0.3", lw=0.7)
    ax.set_yticks(ypos, [f"w[{n}]" for n in names])
    ax.set_xlabel("weight (disease progression per unit-norm feature)")
    ax.set_title(f"λ₁ = {fx['lam1']:.3g} (Lasso alpha = {fx['sklearn_lasso_alpha']:.3g}), σ = {fx['sigma']:.2f}")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=3)
    ax = axes[1]
    w = fx["_w"].reshape(-1, d)
    shown = list(np.flatnonzero(zero))[:3]
    filled = len(shown) < 3
    if filled:  # fill up with the smallest non-zero lasso weights
        shown += [j for j in np.argsort(np.abs(w_map)) if j not in shown][: 3 - len(shown)]
    for i, j in enumerate(shown):
        color = f"C{i + 4}"
        ax.hist(w[:, j], bins=60, density=True, histtype="step", lw=1.6, color=color,
                label=f"w[{names[j]}]: lasso {w_map[j]:.3g}, median {fx['median'][j]:.3g}")
        ax.axvline(fx["median"][j], color=color, ls="--", lw=1.2)
    zero_names = ", ".join(names[j] for j in np.flatnonzero(zero))
    ax.axvline(0, color="C3", lw=1.5, label=f"0, the lasso's value for {zero_names}" if zero_names else "0")
    ax.set_xlabel("weight (disease progression per unit-norm feature)")
    ax.set_ylabel("posterior density (Gibbs draws)")
    added = 3 - int(np.sum(zero[shown]))
    extra = "" if not filled else " and of its smallest kept one" if added == 1 else f" and its {added} smallest kept"
    ax.set_title(f"Posterior of the weights the lasso sets to 0{extra}\n(dashed: posterior medians)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    rows = [[f"w[{n}]", fx["w_map"][j], fx["mean"][j], fx["median"][j], fx["lo"][j], fx["hi"][j],
             fx["p_positive"][j], fx["r_hat"][j], fx["ess_bulk"][j]] for j, n in enumerate(names)]
    table = Table(f"Lasso against the posterior at λ₁ = {fx['lam1']:.4g} (Laplace scale s = {fx['laplace_scale']:.4g}, "
                  f"σ = {fx['sigma']:.4g})",
                  ["weight", "lasso (MAP)", "mean", "median", f"{pct} lower", f"{pct} upper", "P(w > 0)",
                   "R-hat", "bulk ESS"], rows,
                  f"Gibbs: {fx['chains']} chains × {fx['draws']} draws after {fx['warmup']} warm-up sweeps; "
                  f"equal-tailed intervals; {fx['exact_zeros']} of {fx['chains'] * fx['draws'] * d} draws are "
                  "exactly 0")
    zeros = ", ".join(f"w[{n}]" for n in fx["map_zeros"]) or "none"
    medians = ", ".join(f"{m:.3g}" for m in fx["abs_median_where_map_zero"])
    zero_sds = ", ".join(f"{fx['sd'][j]:.3g}" for j in np.flatnonzero(w_map == 0))
    inside = ", ".join(f"w[{n}]" for n in fx["intervals_containing_zero"])
    lam = hier["lam1"]
    kept = np.flatnonzero(~zero)
    sds = np.abs(np.array(fx["median"]) - w_map) / np.array(fx["sd"])
    j = int(kept[np.argmax(sds[kept])])
    shift = {"sds": float(sds[j]), "name": names[j], "map": float(w_map[j]), "median": float(fx["median"][j])}
    total = fx["chains"] * fx["draws"] * d
    k = fx["exact_zeros"]
    zero_draws = (f"none of its {total:,} draws of w is exactly 0" if k == 0 else
                  f"{k:,} of its {total:,} draws of w are exactly 0 nonetheless (floating-point underflow)")
    if fx["map_zeros"]:
        medians_text = (f"the posterior medians of those weights are {medians} in absolute value: small next to their "
                        f"posterior sds ({zero_sds}), "
                        + ("but not 0." if all(m > 0 for m in fx["abs_median_where_map_zero"]) else "some exactly 0."))
    else:
        medians_text = "at this λ₁ the lasso keeps every weight."
    text = f"""\
Scikit-learn's `Lasso(alpha)` minimises (1/2n)Σr² + α‖w‖₁, which is ½Σr² + λ₁‖w‖₁ with λ₁ = nα: the MAP under a
Laplace prior of scale s = σ²/λ₁ on each weight (a flat prior on the intercept). Here σ = {fx['sigma']:.2f} (the
least-squares residual sd) and λ₁ = {fx['lam1']:.3g}, the posterior median of λ₁ when the data choose it (last
section; {pct} interval {lam['lo']:.3g} to {lam['hi']:.3g}).

The lasso sets {len(fx['map_zeros'])} weights exactly to 0: {zeros}. The posterior of the very same model puts
no mass at exactly 0: {zero_draws}, and {medians_text} The lasso's zeros are the joint mode
of the posterior, where the Laplace prior's cusp pins them. The posterior's own answer to "which weights might
be 0" is broader: the {pct} intervals of {inside} contain 0, and P(w_j > 0) says how sure the sign is.
Where the lasso keeps a weight, mode and median still differ, by up to {shift['sds']:.2g} posterior sds
(w[{shift['name']}]: lasso {shift['map']:.3g}, median {shift['median']:.3g}): the joint mode is not the centre
of the marginals, least of all with correlated features."""
    return Section("One λ₁: the lasso's zeros and the posterior's medians", text, [table],
                   [StudyFigure("lasso_vs_posterior", fig,
                                f"Left: per weight, the {pct} credible interval, posterior mean and median, and the "
                                "lasso estimate (squares: exactly 0). Right: the posterior draws of the weights "
                                "the lasso sets to 0 (or its smallest ones): spread around 0, "
                                + ("none of them exactly 0." if k == 0 else f"{k:,} of all draws exactly 0."))])


def _paths_section(paths: dict, hier: dict) -> Section:
    pct = f"{CREDIBLE_MASS:.0%}"
    names = paths["features"]
    lm, lg = np.array(paths["lam1_map"]), np.array(paths["lam1_gibbs"])
    w_map = np.array(paths["w_map"])
    mean, median, lo, hi = (np.array(paths[k]) for k in ("mean", "median", "lo", "hi"))
    lam = hier["lam1"]
    fig, axes = new_figure(5, 2, width=3.1, height=2.9, sharex=True)
    axes = axes.ravel()
    for j, ax in enumerate(axes):
        ax.axvspan(lam["lo"], lam["hi"], color="0.85", lw=0, label=f"λ₁'s {pct} posterior interval")
        ax.fill_between(lg, lo[:, j], hi[:, j], color="C0", alpha=0.22, lw=0, label=f"{pct} credible band")
        ax.plot(lm, w_map[:, j], color="C3", lw=2, label="lasso (MAP)")
        ax.plot(lg, median[:, j], "o-", color="C1", lw=1.3, ms=3.5, label="posterior median")
        ax.plot(lg, mean[:, j], "--", color="C0", lw=1.3, label="posterior mean")
    finish_coefficient_panels(fig, axes, names, xlabel="canonical λ₁ = σ²/s", legend_columns=5,
                              title="Diabetes: the lasso path against the Laplace-prior posterior "
                                    f"(σ = {paths['sigma']:.2f} fixed)")
    map_at = np.array(paths["map_at_gibbs"])
    table = Table("Exact zeros along λ₁",
                  ["canonical λ₁", "Lasso alpha", "lasso zeros", "posterior medians at 0",
                   f"{pct} intervals containing 0", "Gibbs draws per chain", "worst R-hat"],
                  [[float(l1), float(l1) / paths["n"], int(np.sum(map_at[k] == 0)), int(np.sum(median[k] == 0)),
                    int(np.sum((lo[k] < 0) & (hi[k] > 0))), paths["draws"][k], paths["r_hat"][k]]
                   for k, l1 in enumerate(lg)],
                  f"every weight of the lasso is 0 from λ₁,max = max|S_xy| = {paths['lam1_max']:.4g} on; Gibbs "
                  f"{paths['chains']} chains at each λ₁ after {WARMUP} warm-up sweeps, {SLOW_FACTOR} times the "
                  f"draws where the lasso keeps 1 to {SLOW_KEPT} weights (the sampler mixes slowest there); worst "
                  "R-hat over w and b")
    zero_medians = paths["median_zero_count"]
    medians_text = ("none of them reaches 0 at any λ₁" if zero_medians == 0 else
                    f"only {zero_medians} of the {median.size} medians on the grid "
                    + ("is" if zero_medians == 1 else "are") + " exactly 0")
    text = f"""\
The shrinkage plot, on real data. Along λ₁ the lasso path (red) hits 0 and stays there: from
λ₁ = {paths['lam1_max']:.4g} on, every weight is 0. The posterior median (orange) and mean (dashed) shrink too,
but smoothly, and {medians_text}; the credible band shows what the red line leaves out. For strong
weights (bmi, s5) at small λ₁ all three agree; for weak or collinear ones (age, s1–s4, s6) the lasso's 0 sits
inside a band that extends to both sides. The grey span is the range of λ₁ the data support (last section)."""
    return Section("The shrinkage paths: MAP, mean and median along λ₁", text, [table],
                   [StudyFigure("lasso_shrinkage_paths", fig,
                                "Each panel: one weight against canonical λ₁ (log scale). Red: the lasso path with "
                                f"its exact zeros. Orange dots: posterior medians (Gibbs, σ fixed) with the {pct} "
                                f"band; dashed: posterior means. Grey: the {pct} posterior interval of λ₁.")])


def _hier_section(hier: dict, paths: dict) -> Section:
    pct = f"{CREDIBLE_MASS:.0%}"
    lam = hier["lam1"]
    fig, axes = new_figure(2, width=6.0, height=4.2)
    ax = axes[0]
    draws = hier["_lam1"]
    ax.hist(draws, bins=np.linspace(0.0, np.quantile(draws, 0.999), 60), density=True, color="C0", alpha=0.6)
    ax.axvline(lam["median"], color="C1", lw=2, label=f"median {lam['median']:.3g}")
    ax.axvline(lam["lo"], color="C1", ls="--", lw=1.2, label=f"{pct} interval [{lam['lo']:.3g}, {lam['hi']:.3g}]")
    ax.axvline(lam["hi"], color="C1", ls="--", lw=1.2)
    ax.set_xlabel(f"canonical λ₁ = σ²/s (sklearn Lasso alpha = λ₁/{paths['n']})")
    ax.set_ylabel("posterior density")
    ax.set_title("Posterior of λ₁ (Laplace scale s and σ inferred)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[1]
    lm = np.array(paths["lam1_map"])
    ax.step(lm, paths["map_zero_count"], where="post", color="C3", lw=2, label="lasso: exact zeros")
    ax.axvspan(lam["lo"], lam["hi"], color="0.85", lw=0, label=f"λ₁'s {pct} posterior interval")
    ax.axvline(lam["median"], color="C1", lw=1.5, label="λ₁'s posterior median")
    ax.set_xscale("log")
    ax.set_xlabel("canonical λ₁ = σ²/s")
    ax.set_ylabel(f"number of weights exactly 0 (of {len(paths['features'])})")
    ax.set_title("How sparse the lasso is, over the λ₁ the data allow")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    zc = np.array(paths["map_zero_count"])
    in_range = (lm >= lam["lo"]) & (lm <= lam["hi"])
    zmin, zmax = int(zc[in_range].min()), int(zc[in_range].max())
    sig, s, a = hier["sigma"], hier["laplace_scale"], hier["sklearn_lasso_alpha"]
    rows = [["λ₁ = σ²/s (canonical)", lam["median"], lam["lo"], lam["hi"], lam["r_hat"], lam["ess_bulk"]],
            ["Lasso alpha = λ₁/n", a["median"], a["lo"], a["hi"], None, None],
            ["Laplace scale s", s["median"], s["lo"], s["hi"], s["r_hat"], s["ess_bulk"]],
            ["noise sd σ", sig["median"], sig["lo"], sig["hi"], sig["r_hat"], sig["ess_bulk"]]]
    table = Table("λ₁ and σ inferred", ["quantity", "posterior median", f"{pct} lower", f"{pct} upper",
                                        "R-hat", "bulk ESS"], rows,
                  f"priors: 1/s² ~ Gamma({SCALE_PRIOR[0]:g}, rate {SCALE_PRIOR[1]:g}), σ² ~ InvGamma(1, 1); "
                  f"Gibbs {hier['chains']} chains × {hier['draws']} draws")
    text = f"""\
λ₁ need not be picked by hand. Put a prior on the Laplace scale (1/s² ~ Gamma({SCALE_PRIOR[0]:g}, rate
{SCALE_PRIOR[1]:g}), nearly flat over the values the data allow) and on the noise (σ² ~ InvGamma(1, 1)), and the
Gibbs sampler draws s and σ with the weights; each draw has its own λ₁ = σ²/s. The data put λ₁ between
{lam['lo']:.3g} and {lam['hi']:.3g} ({pct}), `Lasso(alpha)` between {a['lo']:.3g} and {a['hi']:.3g}, and σ at
{sig['median']:.1f}, the least-squares value. Averaging over λ₁ instead of fixing it is what this posterior does.

The lasso's sparsity depends on that choice: over the λ₁ the data support it reports between {zmin} and {zmax}
exact zeros. A single lasso fit shows one of those patterns as if it were certain."""
    return Section("Letting the data choose λ₁", text, [table],
                   [StudyFigure("lasso_lambda_posterior", fig,
                                "Left: histogram of the posterior draws of λ₁ = σ²/s (linear scale). Right: how "
                                "many weights the lasso "
                                "sets exactly to 0 at each λ₁, over the λ₁ the posterior supports (grey).")])
