"""The Bayesian lasso on diabetes: the computation. The lasso, the Gibbs draws at one λ₁, along λ₁ and with λ₁
inferred, their diagnostics and the importance-sampling estimate, as numbers (no text, no plots): :func:`compute`
returns a :class:`BayesianLassoResult`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from ...data import Dataset, load_diabetes
from ...diagnostics import health
from ...infer.gibbs import gibbs_lasso
from ...infer.idata import import_arviz
from ...priors import Laplace
from ...solvers import PenalizedLeastSquares
from ...solvers.proximal import coordinate_descent
from ...suffstats import SufficientStats
from ..base import one_blas_thread, quiet
from ..common import CREDIBLE_MASS, diabetes_sigma, public

__all__ = ["BayesianLassoResult", "compute", "summarise", "lasso", "posterior_summary", "importance_mean",
           "at_fixed_lam1", "shrinkage_paths", "hierarchical", "SCALE_PRIOR", "SIGMA_PRIOR", "CHAINS", "WARMUP",
           "HIER_DRAWS", "PATH_CHAINS", "PATH_DRAWS", "SLOW_FACTOR", "SLOW_KEPT", "RHAT_MAX", "ESS_MIN"]

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
# The diagnostics' limits: passed to :func:`~bayesreg.diagnostics.health` here, and the checks' tolerances.
RHAT_MAX = 1.01               # Vehtari et al. (2021)
ESS_MIN = 400                 # bulk and tail, 100 per chain


@dataclass
class BayesianLassoResult:
    """What :func:`compute` found: ``hier`` (λ₁ and σ inferred), ``fixed`` (the lasso and the posterior at λ₁ = the
    posterior median of λ₁) and ``paths`` (along λ₁), each a dict (keys starting with "_" hold draws and objects
    that the summary leaves out)."""

    seed: int
    quick: bool
    data: Dataset
    sigma: float
    hier: dict
    fixed: dict
    paths: dict


@one_blas_thread
def compute(*, seed: int = 0, quick: bool = False, progress=quiet) -> BayesianLassoResult:
    """The lasso against the Bayesian-lasso posterior on diabetes: at one λ₁, along λ₁, and with λ₁ inferred.

    ``seed`` seeds the Gibbs chains and the importance sampler.
    """
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

    return BayesianLassoResult(seed, quick, data, sigma, hier, fixed, paths)


def summarise(result: BayesianLassoResult) -> dict:
    """The study's JSON-ready numbers (``StudyResult.summary``)."""
    return {"prob": CREDIBLE_MASS, "sigma": result.sigma, "hierarchical": public(result.hier),
            "fixed": public(result.fixed), "paths": public(result.paths)}


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
