"""Figures. matplotlib only: each function takes results (and optionally an ``ax``) and returns the axes.

No maths here beyond arranging numbers; no files written (the caller saves the figure).
"""

from __future__ import annotations

import numpy as np

__all__ = ["curves_against_lambda", "credible_intervals"]


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
        ax.axvline(lam, color=f"C{i + len(curves)}", ls="--", lw=1.2, label=f"{name} (λ = {lam:.3g})")
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
