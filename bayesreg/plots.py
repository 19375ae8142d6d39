"""Figures. matplotlib only: each function takes results (and optionally an ``ax``) and returns the axes.

No maths here beyond arranging numbers; no files written (the caller saves the figure).
"""

from __future__ import annotations

import numpy as np

__all__ = ["curves_against_lambda", "credible_intervals", "selection_curves", "projection_curve"]


# vertical λ marks: colours kept apart from the curves' C0, C1, ... and the same from panel to panel
_MARK_COLORS = ("#7b3294", "#1b7837", "#c51b7d", "#b35806", "#2166ac", "#4d4d4d")


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(7, 4.2)).gca()


def curves_against_lambda(lams, curves: dict, *, xlabel: str, ylabel: str, marks: dict | None = None,
                          references: dict | None = None, title: str | None = None, ax=None):
    """One line per entry of ``curves`` (name → values over ``lams``) on a log λ axis; vertical lines at
    ``marks`` (name → λ), horizontal grey lines at ``references`` (name → value)."""
    ax = _axes(ax)
    for name, values in curves.items():
        ax.plot(lams, values, label=name, lw=1.8)
    for i, (name, value) in enumerate((references or {}).items()):
        ax.axhline(value, color="0.4", ls=":" if i else "-.", lw=1.2, label=name)
    for i, (name, lam) in enumerate((marks or {}).items()):
        ax.axvline(lam, color=_MARK_COLORS[i % len(_MARK_COLORS)], ls=("--", "-.", ":")[i % 3], lw=1.4,
                   label=f"{name} (λ = {lam:.3g})")
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def credible_intervals(intervals: dict, *, truth=None, max_coords: int = 25, ylabel: str = "w_j",
                       title: str | None = None, ax=None):
    """Posterior mean and interval per coordinate for each entry of ``intervals`` (label → (mean, lo, hi)),
    side by side, with the true value as a horizontal line or markers."""
    ax = _axes(ax)
    k = len(intervals)
    width = 0.7 / max(k, 1)
    for i, (label, (mean, lo, hi)) in enumerate(intervals.items()):
        m = min(max_coords, len(mean))
        x = np.arange(m) + (i - (k - 1) / 2) * width
        ax.errorbar(x, mean[:m], yerr=[mean[:m] - lo[:m], hi[:m] - mean[:m]], fmt="o", ms=3, lw=1,
                    capsize=2, color=f"C{i}", label=label)
    if truth is not None:
        truth = np.asarray(truth, dtype=float)
        truth = np.broadcast_to(truth, (m,)) if truth.ndim == 0 else truth[:m]
        ax.plot(np.arange(m), truth, "k_", ms=12, mew=2, label="true value")
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlabel("coefficient index j")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def finish_coefficient_panels(fig, axes, names, *, xlabel: str, title: str, ncols: int = 5,
                              legend_columns: int = 3) -> None:
    """Label a grid of one-panel-per-coefficient path plots (log λ axis, a zero line, the coefficient's name
    as title, axis labels on the outer panels) and put one legend under the whole figure."""
    for j, ax in enumerate(axes):
        ax.axhline(0, color="0.3", lw=0.7)
        ax.set_xscale("log")
        ax.set_title(f"w[{names[j]}]", fontsize=10)
        ax.grid(alpha=0.3)
        if j % ncols == 0:
            ax.set_ylabel("weight (progression units\nper unit-norm feature)", fontsize=8)
        if j >= len(axes) - ncols:
            ax.set_xlabel(xlabel)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=legend_columns, fontsize=9)
    fig.suptitle(title)


def map_convergence(comparison, *, ax=None):
    """Distance to the exact MAP, max_j |w_j − w_j*|, against the optimiser's step, for every method that
    keeps such a trace (the PyTorch optimisers); a log scale shows linear convergence as a straight line."""
    ax = _axes(ax)
    floor = np.finfo(float).eps
    for i, (name, res) in enumerate(comparison.results.items()):
        if res.trace is None or not str(res.info.get("trace", "")).startswith("distance"):
            continue
        steps = np.arange(1, len(res.trace) + 1)
        note = "" if res.converged else " (not converged)"
        ax.plot(steps, np.maximum(res.trace, floor), lw=1.5, color=f"C{i}",
                label=f"{name}: final {comparison.max_abs_diff(name):.1e}{note}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    unit = next((r.info.get("iteration_unit") for r in comparison.results.values()
                 if str(r.info.get("trace", "")).startswith("distance")), "step")
    ax.set_xlabel(f"{unit}")
    ax.set_ylabel("max |w − w_MAP|")
    ax.set_title(f"Distance to the exact MAP ({comparison.reference}) on {comparison.data_name}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return ax


# ------------------------------------------------------------------------------- posterior (bayesreg fit)

def _top_features(idata, k: int) -> list[str]:
    """The k features with the largest |posterior mean| (all of them when there are at most k)."""
    w = idata.posterior["w"]
    means = np.abs(w.mean(("chain", "draw")).values)
    order = np.argsort(-means)[:k]
    return [str(f) for f in w.coords["feature"].values[np.sort(order)]]


def _scalars(idata) -> list[str]:
    return [v for v in ("b", "sigma", "tau") if v in idata.posterior]


def forest_with_map(idata, map_point: dict | None = None, *, hdi_prob: float = 0.94, max_features: int = 200,
                    ax=None):
    """Posterior mean and HDI of each weight (every one, up to ``max_features``: then the largest), with the MAP
    marked, what a point estimate leaves out, and, when the InferenceData has a ``prior`` group, the prior's
    central interval of the same mass behind it in grey: how far the data moved each weight."""
    from .infer.idata import import_arviz

    az = import_arviz()
    features = _top_features(idata, max_features)
    w = idata.posterior["w"].sel(feature=features)
    hdi = az.hdi(w, hdi_prob=hdi_prob)["w"].values
    mean = w.mean(("chain", "draw")).values
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.figure(figsize=(7, 0.22 * len(features) + 1.8)).gca()
    ypos = np.arange(len(features))[::-1]
    if "prior" in idata.groups() and "w" in idata.prior:
        tail = (1 - hdi_prob) / 2
        prior_w = idata.prior["w"].sel(feature=features).values.reshape(-1, len(features))
        lo, hi = np.quantile(prior_w, [tail, 1 - tail], axis=0)
        ax.hlines(ypos, lo, hi, color="0.8", lw=6, label=f"prior, central {hdi_prob:.0%}", zorder=1)
    ax.hlines(ypos, hdi[:, 0], hdi[:, 1], color="C0", lw=2, label=f"posterior {hdi_prob:.0%} HDI", zorder=2)
    ax.plot(mean, ypos, "o", color="C0", ms=4, label="posterior mean", zorder=3)
    if map_point is not None and "w" in map_point:
        all_features = [str(f) for f in idata.posterior["w"].coords["feature"].values]
        map_w = np.asarray(map_point["w"])[[all_features.index(f) for f in features]]
        ax.plot(map_w, ypos, "x", color="C3", ms=7, mew=2, label="MAP (penalised fit)", zorder=4)
    ax.axvline(0, color="grey", lw=0.6)
    ax.set_yticks(ypos, features, fontsize=8 if len(features) > 30 else None)
    ax.set_ylim(-0.8, len(features) - 0.2)
    ax.set_xlabel("weight w_j")
    ax.set_ylabel("feature")
    total = idata.posterior["w"].sizes["feature"]
    shown = f"all {total} weights" if len(features) == total else f"the largest {len(features)} of {total} weights"
    has_map = map_point is not None and "w" in map_point
    ax.set_title(f"{'Prior, posterior' if 'prior' in idata.groups() else 'Posterior'}{' and MAP' if has_map else ''}"
                 f": {shown}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.figure.tight_layout()
    return ax


def _density_panels(idata) -> list:
    """Every scalar (b, σ, τ) and every weight, as (variable, feature or None)."""
    panels = [(v, None) for v in _scalars(idata)]
    return panels + [("w", str(f)) for f in idata.posterior["w"].coords["feature"].values]


def _why_no_prior(absent: str, var: str) -> str:
    """The part of the prior group's ``absent_from_prior`` note about ``var`` (``"b: flat prior, improper"``)."""
    for part in absent.split(";"):
        name, _, why = part.strip().partition(":")
        if name == var:
            return f"prior: {why.strip()}"
    return "no prior draws"


def densities_with_map(idata, map_point: dict | None = None, *, panels: list | None = None, max_panels: int = 12,
                       page: tuple[int, int] | None = None):
    """Marginal posterior densities (histograms of the draws), each with its MAP as a vertical line and, when
    the InferenceData has a ``prior`` group, the prior's density dashed over the same range: how far the data
    moved each parameter. ``panels`` (default: the scalars, then every weight) are drawn up to ``max_panels``;
    :func:`fit_figures` pages through them all."""
    import matplotlib.pyplot as plt

    panels = (_density_panels(idata) if panels is None else panels)[:max_panels]
    cols = min(3, len(panels))
    rows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False, constrained_layout=True)
    all_features = [str(f) for f in idata.posterior["w"].coords["feature"].values]
    prior = idata.prior if "prior" in idata.groups() else None
    for ax, (var, feature) in zip(axes.ravel(), panels, strict=False):
        draws = idata.posterior[var] if feature is None else idata.posterior[var].sel(feature=feature)
        values = draws.values.ravel()
        lo, hi = np.min(values), np.max(values)
        pad = 0.25 * (hi - lo) if hi > lo else 1.0
        lo, hi = lo - pad, hi + pad
        label = var if feature is None else f"w[{feature}]"
        p = None
        if prior is not None and var in prior:
            p = (prior[var] if feature is None else prior[var].sel(feature=feature)).values.ravel()
            p_lo, p_hi = np.quantile(p, [0.005, 0.995])  # a narrow prior is shown whole, a broad one cut
            width = hi - lo
            lo, hi = max(min(lo, p_lo), lo - 2 * width), min(max(hi, p_hi), hi + 2 * width)
        ax.hist(values, bins=np.linspace(np.min(values), np.max(values), 41) if np.ptp(values) > 0 else 1,
                density=True, color="C0", alpha=0.6, label="posterior")
        if p is not None:
            # bins about 1/15 of the prior's own spread (a narrow prior keeps its shape), 40 to 150 on the page
            spread = np.subtract(*np.quantile(p, [0.95, 0.05]))
            bins = np.linspace(lo, hi, int(np.clip((hi - lo) / max(spread / 15, 1e-300), 40, 150)) + 1)
            dens = np.histogram(p, bins=bins)[0] / (p.size * np.diff(bins))  # density of the whole prior sample
            ax.stairs(dens, bins, color="0.3", ls="--", lw=1.4, label="prior")
        ax.set_xlim(lo, hi)
        if map_point is not None and var in map_point:
            value = np.asarray(map_point[var])
            value = float(value) if feature is None else float(value[all_features.index(feature)])
            ax.axvline(value, color="C3", lw=2, label="MAP")
        if prior is not None and var not in prior:  # a site the prior group leaves out (a flat bias): say why
            ax.text(0.02, 0.96, _why_no_prior(prior.attrs.get("absent_from_prior", ""), var), transform=ax.transAxes,
                    fontsize=7, va="top", color="0.3")
        ax.set_title(label)
        ax.set_xlabel(label)
        ax.set_ylabel("density")
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    legend = {}  # one legend for every kind of line on the page, on the first panel
    for ax in axes.ravel()[:len(panels)]:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(text, handle)
    axes.ravel()[0].legend(legend.values(), legend.keys(), fontsize=8)
    what = "Posterior densities" + (", prior dashed" if prior is not None else "")
    fig.suptitle(what if page is None else f"{what} (page {page[0]} of {page[1]})")
    return fig


def point_figures(posterior) -> dict:
    """The figure of a point estimate (``method="map"``): each weight's MAP, with its exact zeros marked."""
    import matplotlib.pyplot as plt

    w = np.asarray(posterior.draws["w"])[0, 0]
    names = list(posterior.feature_names)
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.6), layout="constrained")
    y = np.arange(len(names))[::-1]
    zero = w == 0
    ax.axvline(0, color="0.7", lw=1)
    ax.scatter(w[~zero], y[~zero], color="C3", zorder=3, label="MAP")
    if zero.any():
        ax.scatter(w[zero], y[zero], facecolors="none", edgecolors="C3", zorder=3, label="MAP exactly 0")
    ax.set_yticks(y, names)
    ax.set_xlabel("weight")
    ax.set_ylabel("feature")
    ax.set_title("Posterior mode of each weight (a point: no uncertainty)")
    ax.legend(loc="best", frameon=False)
    return {"map": fig}


DENSITY_PANELS = 12  # density panels on one page
DENSITY_PAGES = 4  # pages of densities at most; beyond, the forest shows every weight


def fit_figures(idata, map_point: dict | None = None) -> dict:
    """Every diagnostic figure of a fit, by file stem: rank (trace), forest (every weight, the prior's interval
    behind), densities (each parameter's, the prior dashed when the InferenceData has a ``prior`` group;
    ``densities-2``, ... paging :data:`DENSITY_PANELS` a page up to :data:`DENSITY_PAGES` pages, beyond which
    only the largest weights get a density and the forest carries the rest), pair (the most correlated two
    weights, named), energy (NUTS: marginal energy against energy transition, BFMI in the title), ppc (with
    data; for a two-class target, calibration: observed against predicted rates by bin, with the replicated
    rates' band)."""
    from .infer.idata import import_arviz

    az = import_arviz()
    figs = {}
    features = _top_features(idata, 4)
    coords = {"feature": features}
    axes = az.plot_trace(idata, var_names=["w", *_scalars(idata)], coords=coords, kind="rank_bars",
                         compact=False, figsize=(10, 2 * (len(features) + len(_scalars(idata)))),
                         backend_kwargs={"layout": "constrained"})
    figs["trace"] = np.ravel(axes)[0].figure
    figs["forest"] = forest_with_map(idata, map_point).figure
    panels = _density_panels(idata)
    if len(panels) > DENSITY_PAGES * DENSITY_PANELS:  # too many to page: the forest holds every weight
        scalars = [p for p in panels if p[1] is None]
        panels = scalars + [("w", f) for f in _top_features(idata, DENSITY_PANELS - len(scalars))]
        figs["densities"] = densities_with_map(idata, map_point, panels=panels, max_panels=DENSITY_PANELS)
        figs["densities"].suptitle(f"Densities of the largest {DENSITY_PANELS - len(scalars)} of "
                                   f"{idata.posterior['w'].sizes['feature']} weights (every weight: forest.png)")
    else:
        pages = [panels[i:i + DENSITY_PANELS] for i in range(0, len(panels), DENSITY_PANELS)]
        for k, chunk in enumerate(pages, start=1):
            figs["densities" if k == 1 else f"densities-{k}"] = densities_with_map(
                idata, map_point, panels=chunk, max_panels=DENSITY_PANELS,
                page=(k, len(pages)) if len(pages) > 1 else None)
    w = idata.posterior["w"].values.reshape(-1, idata.posterior["w"].sizes["feature"])
    if w.shape[1] >= 2 and w.shape[0] > 2:
        corr = np.corrcoef(w.T)
        np.fill_diagonal(corr, 0)
        i, j = np.unravel_index(np.nanargmax(np.abs(corr)), corr.shape)
        names = [str(f) for f in idata.posterior["w"].coords["feature"].values]
        pair = [names[min(i, j)], names[max(i, j)]]
        ax = az.plot_pair(idata, var_names=["w"], coords={"feature": pair}, kind="scatter",
                          scatter_kwargs={"alpha": 0.2}, figsize=(5, 5))
        ax = np.ravel(ax)[0]
        ax.set_xlabel(f"w[{pair[0]}]")
        ax.set_ylabel(f"w[{pair[1]}]")
        ax.set_title(f"Most correlated pair of weights: corr = {corr[i, j]:+.2f}")
        ax.figure.tight_layout()
        figs["pair"] = ax.figure
    if "sample_stats" in idata.groups() and "energy" in idata.sample_stats:
        bfmi = az.bfmi(idata)
        ax = np.ravel(az.plot_energy(idata, fill_color=("C0", "C1")))[0]
        ax.set_title(f"NUTS energy: BFMI per chain {', '.join(f'{v:.2f}' for v in np.ravel(bfmi))} (below 0.3: "
                     "tails explored poorly)\nmarginal energy and energy transition should overlap", fontsize=10)
        ax.set_xlabel("energy − mean energy")
        ax.set_ylabel("density")
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            ax.legend(handles[:2], ["marginal energy", "energy transition"][:len(handles)], fontsize=8)
        ax.figure.tight_layout()
        figs["energy"] = ax.figure
    if "posterior_predictive" in idata.groups() and _binary_observed(idata):
        figs["calibration"] = binary_calibration(idata)
    elif "posterior_predictive" in idata.groups():
        total = idata.posterior_predictive.sizes["chain"] * idata.posterior_predictive.sizes["draw"]
        ax = np.ravel(az.plot_ppc(idata, num_pp_samples=min(100, total), random_seed=0))[0]
        ax.set_title("Posterior predictive check: y")
        figs["ppc"] = ax.figure
    return figs


def _binary_observed(idata) -> bool:
    if "observed_data" not in idata.groups():
        return False
    y = np.asarray(idata.observed_data["y"].values)
    return bool(np.isin(y, (0.0, 1.0)).all())


def binary_calibration(idata, bins: int = 10):
    """Calibration (reliability) and posterior predictive check of a classifier in one panel.

    Rows are grouped into ``bins`` equal-count bins of their posterior mean probability p̄_i (recovered from the
    pointwise log-likelihood: p = e^ℓ where y = 1, 1 − e^ℓ where y = 0). For each bin: the observed rate of
    y = 1 (black), the mean predicted probability (x axis), and the 94% interval of the rate in replicated data
    sets (the ``posterior_predictive`` draws: the check). Points on the diagonal are calibrated; an observed
    rate outside its band is data the model does not reproduce."""
    import matplotlib.pyplot as plt

    y = np.asarray(idata.observed_data["y"].values, dtype=np.float64)
    ll = idata.log_likelihood["y"].values.reshape(-1, y.size)
    prob = np.where(y == 1.0, np.exp(ll), -np.expm1(ll))
    p_mean = prob.mean(axis=0)
    reps = idata.posterior_predictive["y"].values.reshape(-1, y.size)
    order = np.argsort(p_mean, kind="stable")
    groups = [g for g in np.array_split(order, min(bins, y.size)) if len(g)]
    x = np.array([p_mean[g].mean() for g in groups])
    observed = np.array([y[g].mean() for g in groups])
    rep_rates = np.stack([reps[:, g].mean(axis=1) for g in groups], axis=1)
    lo, hi = np.quantile(rep_rates, [0.03, 0.97], axis=0)
    fig, ax = plt.subplots(figsize=(5.6, 5.2))
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls=":", label="perfect calibration")
    ax.fill_between(x, lo, hi, color="C0", alpha=0.25, step=None, label="replicated rate, 94% (posterior predictive)")
    ax.plot(x, observed, "o-", color="black", ms=5, lw=1, label="observed rate of y = 1")
    outside = (observed < lo) | (observed > hi)
    if outside.any():
        ax.plot(x[outside], observed[outside], "o", color="C3", ms=9, mfc="none", label="outside its band")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("mean predicted probability in the bin (posterior mean)")
    ax.set_ylabel("rate of y = 1 in the bin")
    ax.set_title(f"Calibration and predictive check: {len(groups)} equal-count bins of {y.size} rows\n"
                 f"{int(outside.sum())} observed rate(s) outside the replicated band", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def selection_curves(selection, *, title: str | None = None):
    """One panel per selection method (:class:`~bayesreg.selection.Selection`): its curve against λ on a log
    axis, the pick marked, a pick left at the search limit flagged in the panel title."""
    import matplotlib.pyplot as plt

    picks = list(selection.picks.values())
    ncols = min(len(picks), 2)
    nrows = -(-len(picks) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.6 * ncols, 3.7 * nrows), squeeze=False)
    for ax in axes.flat[len(picks):]:
        ax.set_visible(False)
    for i, (ax, p) in enumerate(zip(axes.flat, picks, strict=False)):
        ax.plot(p.lams, p.values, color="C0", lw=1.6)
        ax.axvline(p.lam, color=_MARK_COLORS[i % len(_MARK_COLORS)], ls="--", lw=1.4, label=f"pick λ = {p.lam:.3g}")
        if p.interval is not None:
            ax.axvspan(*p.interval, color=_MARK_COLORS[i % len(_MARK_COLORS)], alpha=0.12, label="94% interval")
        ax.set_xscale("log")
        ax.set_xlabel("canonical λ (LogisticRegression 1/C)" if getattr(selection, "likelihood", "") == "logistic"
                      else "canonical λ (Ridge alpha)")
        ax.set_ylabel(p.label)
        ax.set_title(p.method + ("" if p.interior else " (at the search limit)"), fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"λ chosen four ways{': ' + title if title else ''}")
    fig.tight_layout()
    return fig


def shrinkage_penalty(reading: dict, *, name: str = "prior"):
    """−log p(w_j) of a shrinkage prior beside the L1 and L2 penalties with the same median |w_j|
    (:func:`bayesreg.prior_reading.shrinkage_reading`): on |w_j| (left, linear, within 5 medians) and on a log
    axis (right: the log-like growth and, for the horseshoe, the pole at 0). Points whose Monte Carlo error
    exceeds 0.05 nats are left out."""
    import matplotlib.pyplot as plt

    from .errors import SpecError

    grid, m = np.asarray(reading["grid"]), reading["median_abs_w"]
    ok = np.asarray(reading["penalty_se"]) <= 0.05
    if ok[grid <= 5 * m].sum() < 3:
        raise SpecError(f"the prior is too spiky to estimate −log p(w_j) around its median |w_j| = {m:.3g}σ by "
                        "Monte Carlo (with R2-D2 over many weights, a/d is tiny): nothing reliable to plot")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for ax, keep, xscale in ((axes[0], grid <= 5 * m, "linear"), (axes[1], np.ones_like(grid, bool), "log")):
        sel = keep & ok
        ax.plot(grid[sel], np.asarray(reading["penalty"])[sel], color="C3", lw=2.2, label=name)
        ax.plot(grid[keep], np.asarray(reading["l1"])[keep], color="C0", ls="--", label="L1 (Laplace)")
        ax.plot(grid[keep], np.asarray(reading["l2"])[keep], color="C2", ls=":", lw=2, label="L2 (Gaussian)")
        ax.axvline(m, color="0.6", lw=0.8)
        ax.set_xscale(xscale)
        ax.set_xlabel("|w_j| / σ")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("−log p(w_j) + const (0 at the median |w_j|)")
    top = max(3.0, float(np.nanmax(np.asarray(reading["penalty"])[(grid <= 5 * m) & ok])) * 1.4)
    axes[0].set_ylim(min(-3.0, float(np.nanmin(np.asarray(reading["penalty"])[ok])) - 0.3), top)
    axes[1].set_ylim(axes[0].get_ylim()[0], max(top, float(np.nanmax(np.asarray(reading["penalty"])[ok])) + 1))
    axes[0].legend(frameon=False)
    axes[0].set_title("near the median (grey line)")
    axes[1].set_title("over six decades")
    fig.suptitle(f"{reading['prior']}", fontsize=9)
    return fig


def projection_curve(ranking: dict, *, signal=None, title: str | None = None, ax=None):
    """The projection-predictive search as projpred draws it: elpd_loo of each submodel size minus the full
    posterior's, ± one standard error of the difference, the suggested size marked; ``ranking`` is
    :meth:`~bayesreg.projection.ProjectionRanking.to_dict`. ``signal`` (optional, one bool per size ≥ 1): whether
    the column added at that size is known to matter, drawn filled, else hollow. With ``ranking["validated"]``
    (:meth:`~bayesreg.projection.ValidatedSearch.to_dict`) the held-out curve is drawn beside it."""
    ax = _axes(ax)
    sizes = np.array([row["size"] for row in ranking["sizes"]])
    diff = np.array([row["diff"] for row in ranking["sizes"]])
    se = np.array([row["diff_se"] for row in ranking["sizes"]])
    validated = ranking.get("validated")
    ax.axhline(0.0, color="0.4", ls="--", lw=1.0, label="full posterior")
    ax.errorbar(sizes, diff, yerr=se, color="C0", lw=1.2, capsize=2, zorder=1,
                label="search on all rows (PSIS-LOO, optimistic)" if validated else None)
    if signal is None:
        ax.plot(sizes, diff, "o", color="C0", ms=4, zorder=2)
    else:
        known = np.concatenate([[False], np.asarray(signal, dtype=bool)])
        ax.plot(sizes[known], diff[known], "o", color="C0", ms=5, zorder=2, label="column added: a true signal")
        ax.plot(sizes[~known], diff[~known], "o", mfc="white", color="C0", ms=5, zorder=2,
                label="column added: not a signal (or the intercept)")
    size = ranking.get("suggested_size")
    if size is not None:
        ax.axvline(size, color=_MARK_COLORS[0], ls=":", lw=1.4,
                   label=f"suggested size {size}" + (" (in sample)" if validated else ""))
    if validated:  # the held-out curve of --validate-search, beside the in-sample one
        folds = len(validated["fold_rankings"])
        v_sizes = np.array([row["size"] for row in validated["sizes"]])
        v_diff = np.array([row["diff"] for row in validated["sizes"]])
        v_se = np.array([row["diff_se"] for row in validated["sizes"]])
        ax.errorbar(v_sizes + 0.15, v_diff, yerr=v_se, fmt="s-", color="C1", ms=4, lw=1.2, capsize=2, zorder=1,
                    label=f"{folds}-fold validated search (held out)")
        v_size = validated.get("suggested_size")
        if v_size is not None:
            ax.axvline(v_size, color="C1", ls="-.", lw=1.4, label=f"suggested size {v_size} (validated)")
    if len(sizes) <= 31:  # name the column each size adds
        ax.set_xticks(sizes)
        ax.set_xticklabels(["0: none"] + [f"{row['size']}: {row['added']}" for row in ranking["sizes"][1:]],
                           rotation=60, ha="right", fontsize=8)
        ax.set_xlabel("submodel size: the column the search added")
    else:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("submodel size (columns, in the order the search added them)")
    ax.set_ylabel("elpd − the full posterior's" if validated else "elpd_loo − the full posterior's")
    ax.set_title(title or "Projection predictive: forward search")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return ax
