"""The Bayesian lasso on diabetes: the lasso's exact zeros against the whole Laplace-prior posterior.

The lasso (an L1 penalty λ₁‖w‖₁) is the MAP under a Laplace prior with scale s = σ²/λ₁, and it sets some
weights exactly to 0. The posterior of the same model, sampled by the Bayesian-lasso Gibbs sampler, never does.
On diabetes (σ fixed at the least-squares residual sd) the study puts, per weight, the lasso estimate next to the
posterior mean, median, 94% interval and P(w_j > 0); follows MAP, mean and median along λ₁ (the shrinkage plot);
and lets the data choose λ₁ by putting priors on the Laplace scale and on σ. The Gibbs draws are checked with R-hat
and ESS and against an independent importance-sampling estimate of the posterior mean; the lasso against
scikit-learn.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import stats as sps

from ..data import load_diabetes
from ..diagnostics import health
from ..infer.gibbs import gibbs_lasso
from ..infer.idata import import_arviz
from ..plots import finish_coefficient_panels
from ..priors import Laplace
from ..solvers import PenalizedLeastSquares
from ..solvers.proximal import coordinate_descent
from ..suffstats import SufficientStats
from .base import Check, Section, StudyResult, Table, new_figure, one_blas_thread, quiet
from .base import Figure as StudyFigure
from .common import CREDIBLE_MASS, diabetes_sigma, public

__all__ = ["run", "SCALE_PRIOR", "SIGMA_PRIOR", "posterior_summary", "importance_mean"]

SCALE_PRIOR = (1.0, 1.0)      # 1/s² ~ Gamma(shape 1, rate 1): flat over the 1/s² the data allow (~1e-5 … 1e-3)
SIGMA_PRIOR = "invgamma:1,1"  # σ² ~ InvGamma(1, 1): vague next to 442 rows
CHAINS, WARMUP = 4, 500
HIER_DRAWS = 4000             # per chain with s and σ random: s mixes slowest (ESS ≈ 1/4 of the draws)
# Along λ₁, split R-hat − 1 is about τ_int/draws (τ_int the integrated autocorrelation time), so the draws per λ₁
# follow the mixing. It is slowest where the lasso keeps only 1 to SLOW_KEPT weights (λ₁ ≈ 350–950: bmi, bp, s5
# about to be set to 0): their posteriors press on the Laplace cusp, where a small w draws a small latent variance
# and the next w stays small. There bulk ESS falls to ~1/19 of the draws (4 × 3000 gave R-hat up to 1.0152 at
# λ₁ = 750); elsewhere it stays above ~1/9. Hence PATH_DRAWS per chain, SLOW_FACTOR times as many in the slow
# range, in quick mode too (fewer λ₁ there, not shorter chains: 4 × 1500 gave R-hat up to 1.008 at λ₁ = 278).
# Worst path R-hat over seeds 0–9: full 1.0042, quick 1.0050 (0–19: 1.0050); limit RHAT_MAX = 1.01. Before, with
# 4 × 3000 everywhere (quick 4 × 1500), it reached 1.0117 (full, seed 5).
PATH_CHAINS, PATH_DRAWS, SLOW_FACTOR, SLOW_KEPT = 4, 3000, 4, 3
EXACT_VS_SKLEARN = 1e-8       # coordinate descent and scikit-learn, both run to a duality gap far below this
RHAT_MAX = 1.01               # Vehtari et al. (2021)
ESS_MIN = 400                 # bulk and tail, 100 per chain
IS_MAX_Z = 4.0                # |Gibbs − IS| in Monte Carlo standard errors, worst of 10 weights (P ≈ 6e-4 by chance)


@one_blas_thread
def run(*, seed: int = 0, quick: bool = False, progress=quiet) -> StudyResult:
    """The lasso against the Bayesian-lasso posterior on diabetes: at one λ₁, along λ₁, and with λ₁ inferred.

    ``seed`` seeds the Gibbs chains and the importance sampler.
    """
    start = time.perf_counter()
    data = load_diabetes()
    sigma = diabetes_sigma(data)
    draws = 1000 if quick else 2000
    progress("λ₁ and σ inferred: Gibbs with priors on the Laplace scale and σ")
    hier = hierarchical(data, seed, HIER_DRAWS)
    lam1 = hier["lam1"]["median"]
    progress(f"λ₁ = {lam1:.3g}: the lasso and the posterior")
    fixed = at_fixed_lam1(data, sigma, lam1, seed + 1, draws, is_draws=10_000 if quick else 40_000)
    progress("the shrinkage paths over λ₁")
    lam_max = float(np.max(np.abs(SufficientStats.from_arrays(data.X, data.y).sxy)))
    paths = shrinkage_paths(data, sigma, np.logspace(0, math.log10(1.6 * lam_max), 40 if quick else 90),
                            np.logspace(0.5, math.log10(1.3 * lam_max), 5 if quick else 12), seed + 2)
    paths["lam1_max"] = lam_max

    checks = _checks(data, fixed, paths, hier)
    summary = {"prob": CREDIBLE_MASS, "sigma": sigma, "hierarchical": public(hier), "fixed": public(fixed),
               "paths": public(paths)}
    sections = [_fixed_section(fixed, hier), _paths_section(paths, hier), _hier_section(hier, paths)]
    return StudyResult("bayesian_lasso", "The Bayesian lasso on diabetes", __doc__.split("\n\n")[1], sections,
                       checks, summary, seconds=time.perf_counter() - start)


# ------------------------------------------------------------------------------------------ computations

def lasso(data, lam1: float, w0=None):
    """The Laplace-prior MAP: argmin ½Σr² + λ₁‖w‖₁ (flat bias) by coordinate descent."""
    return coordinate_descent(data.X, data.y, PenalizedLeastSquares(l1=lam1), w0=w0)


def _worst(post, idata=None) -> dict[str, float]:
    """The worst rank-normalised split R-hat and bulk and tail ESS over every parameter (:func:`health`)."""
    m = health(post, idata, rhat_max=RHAT_MAX, ess_per_chain=ESS_MIN / CHAINS).metrics
    return {"max_r_hat": m["max_rhat"], "min_ess_bulk": m["min_ess_bulk"], "min_ess_tail": m["min_ess_tail"]}


def _per_parameter(idata, names) -> dict[str, dict[str, np.ndarray]]:
    """R-hat, bulk and tail ESS and the MCSE of the mean per coordinate of the variables ``names`` (for tables)."""
    az = import_arviz()
    ds = idata.posterior[list(names)]
    results = {"r_hat": az.rhat(ds), "ess_bulk": az.ess(ds, method="bulk"), "ess_tail": az.ess(ds, method="tail"),
               "mcse_mean": az.mcse(ds, method="mean")}
    return {name: {key: np.atleast_1d(np.asarray(res[name].values, dtype=np.float64)) for key, res in results.items()}
            for name in names}


def posterior_summary(w: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, median, equal-tailed CREDIBLE_MASS interval and P(w_j > 0) of draws (chain, draw, d)."""
    flat = w.reshape(-1, w.shape[-1])
    alpha = (1 - CREDIBLE_MASS) / 2
    return {"mean": flat.mean(axis=0), "sd": flat.std(axis=0, ddof=1), "median": np.median(flat, axis=0),
            "lo": np.quantile(flat, alpha, axis=0), "hi": np.quantile(flat, 1 - alpha, axis=0),
            "p_positive": np.mean(flat > 0, axis=0), "exact_zeros": int(np.sum(flat == 0))}


def importance_mean(stats: SufficientStats, sigma: float, scale: float, loc, shape, rng, num: int, df: float = 4.0):
    """Posterior mean of w under the Laplace prior (σ, s fixed, flat bias) by self-normalised importance sampling.

    The target, with b integrated out, is log p(w | y) = −(w − ŵ)ᵀS_xx(w − ŵ)/(2σ²) − ‖w‖₁/s + const (ŵ least
    squares); the proposal a Student-t (``df``) with location ``loc`` and shape ``shape``. It uses the target density
    only, none of the Gibbs sampler's conditionals. Returns (mean, Monte Carlo se per coordinate, IS effective size).
    """
    w_hat = np.linalg.solve(stats.sxx, stats.sxy)
    proposal = sps.multivariate_t(loc=loc, shape=shape, df=df, seed=rng)
    x = proposal.rvs(size=num)
    delta = x - w_hat
    log_target = -0.5 * np.einsum("ij,jk,ik->i", delta, stats.sxx, delta) / sigma**2 - np.abs(x).sum(axis=1) / scale
    log_w = log_target - proposal.logpdf(x)
    weights = np.exp(log_w - log_w.max())
    weights /= weights.sum()
    mean = weights @ x
    se = np.sqrt(weights**2 @ (x - mean) ** 2)
    return mean, se, float(1.0 / np.sum(weights**2))


def at_fixed_lam1(data, sigma: float, lam1: float, seed: int, draws: int, is_draws: int) -> dict:
    """Lasso MAP and Gibbs posterior at one λ₁ with σ fixed, with diagnostics and the importance-sampling oracle."""
    scale = sigma**2 / lam1
    res = lasso(data, lam1)
    post = gibbs_lasso(data, scale=Laplace(scale), sigma=sigma, chains=CHAINS, draws=draws, warmup=WARMUP, seed=seed)
    w = post.draws["w"]
    summ = posterior_summary(w)
    idata = post.to_inference_data()
    diag = _per_parameter(idata, ["w"])
    flat = w.reshape(-1, w.shape[-1])
    rng = np.random.default_rng([seed, 7])
    is_mean, is_se, is_ess = importance_mean(SufficientStats.from_arrays(data.X, data.y), sigma, scale,
                                             summ["mean"], np.cov(flat.T), rng, is_draws)
    z = (summ["mean"] - is_mean) / np.sqrt(diag["w"]["mcse_mean"] ** 2 + is_se**2)
    zero = res.w == 0
    return {
        "lam1": lam1, "sigma": sigma, "laplace_scale": scale, "sklearn_lasso_alpha": lam1 / data.n,
        "features": list(data.feature_names), "chains": CHAINS, "draws": draws, "warmup": WARMUP,
        "w_map": res.w.tolist(), "b_map": float(res.b),
        "map_zeros": [data.feature_names[j] for j in np.flatnonzero(zero)],
        **{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in summ.items()},
        "median_zeros": int(np.sum(summ["median"] == 0)),
        "intervals_containing_zero": [data.feature_names[j]
                                      for j in np.flatnonzero((summ["lo"] < 0) & (summ["hi"] > 0))],
        "abs_median_where_map_zero": np.abs(summ["median"][zero]).tolist(),
        "r_hat": diag["w"]["r_hat"].tolist(), "ess_bulk": diag["w"]["ess_bulk"].tolist(),
        "ess_tail": diag["w"]["ess_tail"].tolist(), "mcse_mean": diag["w"]["mcse_mean"].tolist(),
        **_worst(post, idata),
        "importance": {"draws": is_draws, "ess": is_ess, "mean": is_mean.tolist(), "se": is_se.tolist(),
                       "max_abs_z": float(np.max(np.abs(z)))},
        "_w": w, "_data": data, "_map": res,
    }


def shrinkage_paths(data, sigma: float, lams_map, lams_gibbs, seed: int, draws: int = PATH_DRAWS) -> dict:
    """The lasso path on a fine λ₁ grid (warm started) and the posterior mean, median and interval on a coarse one.

    At each λ₁ of the coarse grid the Gibbs sampler runs ``draws`` per chain, ``SLOW_FACTOR`` times as many where
    the lasso keeps only 1 to ``SLOW_KEPT`` weights, where the sampler mixes slowest (see ``PATH_DRAWS``).
    """
    w_map, w0 = [], None
    for lam1 in lams_map:
        res = lasso(data, lam1, w0)
        w0 = res.w
        w_map.append(res.w.copy())
    rows = {k: [] for k in ("mean", "median", "lo", "hi", "p_positive")}
    map_at, draws_at, worst = [], [], []
    for k, lam1 in enumerate(lams_gibbs):
        map_at.append(lasso(data, lam1).w)
        kept = int(np.sum(map_at[-1] != 0))
        draws_at.append(draws * SLOW_FACTOR if 1 <= kept <= SLOW_KEPT else draws)
        post = gibbs_lasso(data, scale=sigma**2 / lam1, sigma=sigma, chains=PATH_CHAINS, draws=draws_at[-1],
                           warmup=WARMUP, seed=seed + k)
        summ = posterior_summary(post.draws["w"])
        for key in rows:
            rows[key].append(summ[key])
        worst.append(_worst(post))
    w_map = np.array(w_map)
    return {
        "features": list(data.feature_names), "sigma": sigma, "n": data.n,
        "lam1_map": [float(x) for x in lams_map], "w_map": w_map.tolist(),
        "map_zero_count": [int(c) for c in np.sum(w_map == 0, axis=1)],
        "lam1_gibbs": [float(x) for x in lams_gibbs], "chains": PATH_CHAINS, "draws": draws_at,
        "map_at_gibbs": np.array(map_at).tolist(), **{k: np.array(v).tolist() for k, v in rows.items()},
        "median_zero_count": int(np.sum(np.array(rows["median"]) == 0)),
        "r_hat": [x["max_r_hat"] for x in worst],
        "max_r_hat": max(x["max_r_hat"] for x in worst), "min_ess_bulk": min(x["min_ess_bulk"] for x in worst),
        "min_ess_tail": min(x["min_ess_tail"] for x in worst),
        "_data": data,
    }


def hierarchical(data, seed: int, draws: int) -> dict:
    """λ₁ inferred: 1/s² ~ Gamma(SCALE_PRIOR), σ² ~ SIGMA_PRIOR; λ₁ = σ²/s per draw."""
    post = gibbs_lasso(data, scale_prior=SCALE_PRIOR, sigma=SIGMA_PRIOR, chains=CHAINS, draws=draws, warmup=WARMUP,
                       seed=seed)
    sigma, scale = post.draws["sigma"], post.draws["tau"]
    lam1 = sigma**2 / scale
    idata = post.to_inference_data()
    idata.posterior["lam1"] = idata.posterior["sigma"] ** 2 / idata.posterior["tau"]  # a parameter in its own right
    diag = _per_parameter(idata, ["sigma", "tau", "lam1"])
    alpha = (1 - CREDIBLE_MASS) / 2

    def scalar(x, name):
        return {"median": float(np.median(x)), "lo": float(np.quantile(x, alpha)),
                "hi": float(np.quantile(x, 1 - alpha)), "r_hat": float(diag[name]["r_hat"][0]),
                "ess_bulk": float(diag[name]["ess_bulk"][0])}

    summ = posterior_summary(post.draws["w"])
    return {
        "scale_prior": {"shape": SCALE_PRIOR[0], "rate": SCALE_PRIOR[1], "on": "1/s²"}, "sigma_prior": SIGMA_PRIOR,
        "chains": CHAINS, "draws": draws, "warmup": WARMUP,
        "lam1": scalar(lam1, "lam1"), "sigma": scalar(sigma, "sigma"), "laplace_scale": scalar(scale, "tau"),
        "sklearn_lasso_alpha": {k: v / data.n for k, v in scalar(lam1, "lam1").items() if k in ("median", "lo", "hi")},
        "w": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in summ.items()},
        **_worst(post, idata),
        "_lam1": lam1.ravel(),
    }


# ----------------------------------------------------------------------------------------------- checks

def _relative(w, ref) -> float:
    return float(np.max(np.abs(np.asarray(w) - ref)) / np.max(np.abs(ref)))


def _sklearn_lasso(data, lam1: float):
    from sklearn.linear_model import Lasso

    return Lasso(alpha=lam1 / data.n, tol=1e-14, max_iter=1_000_000).fit(data.X, data.y).coef_


def _checks(data, fixed: dict, paths: dict, hier: dict) -> list[Check]:
    sk = _sklearn_lasso(data, fixed["lam1"])
    mismatched = int(np.sum((np.asarray(fixed["w_map"]) == 0) != (sk == 0)))
    worst_path = max(_relative(w, _sklearn_lasso(data, lam1)) for lam1, w in zip(paths["lam1_map"], paths["w_map"],
                                                                                 strict=True)
                     if np.any(np.asarray(w) != 0))
    checks = [
        Check.at_most("lasso MAP = scikit-learn Lasso(alpha = λ₁/n)", _relative(fixed["w_map"], sk), EXACT_VS_SKLEARN,
                      f"λ₁ = {fixed['lam1']:.4g}; max|Δw|/max|w|"),
        Check.at_most("lasso MAP has scikit-learn's exact zeros", mismatched, 0,
                      "coordinates where exactly-zero differs"),
        Check.at_most("lasso path = scikit-learn Lasso at every λ₁", worst_path, EXACT_VS_SKLEARN,
                      f"worst of {len(paths['lam1_map'])} λ₁ (all-zero ends excluded); max|Δw|/max|w|"),
        Check.at_most("Gibbs posterior mean = importance-sampling estimate", fixed["importance"]["max_abs_z"], IS_MAX_Z,
                      f"worst |Δ|/√(MCSE_gibbs² + se_IS²) over {len(fixed['features'])} weights; "
                      f"{fixed['importance']['draws']} Student-t proposals, IS effective size "
                      f"{fixed['importance']['ess']:.0f}"),
    ]
    runs = (("Gibbs at λ₁ = its posterior median", fixed,
             f"λ₁ = {fixed['lam1']:.4g}, {fixed['chains']} chains × {fixed['draws']} draws; w and b"),
            ("Gibbs along the λ₁ path", paths,
             f"{len(paths['lam1_gibbs'])} λ₁, {paths['chains']} chains × "
             + (f"{min(paths['draws'])} to {max(paths['draws'])}" if len(set(paths["draws"])) > 1
                else f"{paths['draws'][0]}") + " draws; w and b at every λ₁"),
            ("Gibbs with λ₁ and σ inferred", hier,
             f"{hier['chains']} chains × {hier['draws']} draws; w, b, σ, s and λ₁ = σ²/s"))
    for label, r, where in runs:
        checks += [
            Check.at_most(f"{label}: R-hat", r["max_r_hat"], RHAT_MAX,
                          f"worst rank-normalised split R-hat over {where}"),
            Check.at_least(f"{label}: bulk ESS", r["min_ess_bulk"], ESS_MIN,
                           f"worst parameter, all chains together, over {where}"),
            Check.at_least(f"{label}: tail ESS", r["min_ess_tail"], ESS_MIN,
                           f"worst parameter, all chains together, over {where}"),
        ]
    return checks


# --------------------------------------------------------------------------------------------- sections

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
