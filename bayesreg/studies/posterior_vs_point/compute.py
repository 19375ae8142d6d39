"""What a point estimate hides: the computation. The exact posteriors, the calibration simulation and the one-weight
Laplace posterior, as numbers (no text, no plots): :func:`compute` returns a :class:`PosteriorVsPointResult`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special
from scipy import stats as sps

from ...conventions import from_canonical_lam, to_canonical_lam
from ...data import load_d2l, load_diabetes
from ...infer.conjugate import gaussian_posterior
from ...priors import Gaussian, prior_from_penalty
from ...selection import evidence_curve, maximise_evidence
from ..base import one_blas_thread, quiet
from ..common import CHAPTER_CONVENTION, CHAPTER_LAM, CREDIBLE_MASS, diabetes_sigma, public, split_rows

__all__ = ["PosteriorVsPointResult", "compute", "summarise", "ridge_path", "d2l_intervals", "interval_calibration",
           "coverage_spread", "predictive_coverage", "laplace_posterior_1d", "laplace_shrinkage", "LAPLACE_LAM1",
           "SPREAD_DRAWS"]

LAPLACE_LAM1 = 1.5         # one weight: λ₁ in units of σ (a Laplace scale s = σ/1.5)
SPREAD_DRAWS = 4000        # posterior predictive replicates of the held-out y, for the spread of their coverage


@dataclass
class PosteriorVsPointResult:
    """What :func:`compute` found, one dict per experiment (keys starting with "_" hold arrays and posteriors that
    the summary leaves out)."""

    seed: int
    quick: bool
    path: dict          # ridge_path: diabetes, the ridge path with credible bands
    d2l: dict           # d2l_intervals: credible intervals against the true w
    calibration: dict   # interval_calibration: coverage when w is drawn from the prior
    predictive: dict    # predictive_coverage: posterior predictive intervals on held-out rows
    shrinkage: dict     # laplace_shrinkage: one weight under a Laplace prior


@one_blas_thread
def compute(*, seed: int = 0, quick: bool = False, progress=quiet) -> PosteriorVsPointResult:
    """The ridge path with credible bands, intervals against the truth, predictive coverage, and one Laplace weight.

    ``seed`` draws the d2l problem, the diabetes held-out split and the calibration simulation.
    """
    progress("diabetes: the ridge path with credible bands")
    path = ridge_path(np.logspace(-2, 4.5, 27 if quick else 66))
    progress("d2l: credible intervals against the true w")
    d2l = d2l_intervals(seed, np.logspace(-4, 2, 25 if quick else 61))
    progress("d2l: calibration of the intervals when w is drawn from the prior")
    calibration = interval_calibration(seed, d2l, replicates=300 if quick else 1000)
    progress("held-out rows: posterior predictive coverage")
    predictive = predictive_coverage(seed, d2l)
    progress("one weight under a Laplace prior: MAP, mean and median")
    shrinkage = laplace_shrinkage(np.linspace(-5.0, 5.0, 100 if quick else 400))
    return PosteriorVsPointResult(seed, quick, path, d2l, calibration, predictive, shrinkage)


def summarise(result: PosteriorVsPointResult) -> dict:
    """The study's JSON-ready numbers (``StudyResult.summary``)."""
    return {
        "prob": CREDIBLE_MASS,
        "ridge_path": public(result.path),
        "d2l": public(result.d2l),
        "calibration": public(result.calibration),
        "predictive": public(result.predictive),
        "laplace_1d": public(result.shrinkage),
    }


def ridge_path(lams) -> dict:
    """Diabetes, σ fixed: posterior mean (= MAP = median) and credible band of every weight over canonical λ."""
    data = load_diabetes()
    sigma = diabetes_sigma(data)
    means, lows, highs = [], [], []
    for lam in lams:
        post = gaussian_posterior(data, prior=Gaussian.from_canonical_lam(lam, sigma), sigma=sigma)
        lo, hi = post.credible_interval(CREDIBLE_MASS)
        means.append(post.w_mean)
        lows.append(lo[: data.d])
        highs.append(hi[: data.d])
    best = maximise_evidence(data, sigma=sigma)
    at_best = gaussian_posterior(data, prior=Gaussian(best.tau), sigma=sigma)
    lo, hi = at_best.credible_interval(CREDIBLE_MASS)
    return {
        "data": "diabetes", "n": data.n, "d": data.d, "sigma": sigma,
        "features": list(data.feature_names),
        "lam": [float(x) for x in lams],
        "w_map": np.array(means).tolist(), "w_lo": np.array(lows).tolist(), "w_hi": np.array(highs).tolist(),
        "log_evidence": evidence_curve(data, lams, sigma=sigma).log_evidence.tolist(),
        "evidence_lam": best.lam, "evidence_tau": best.tau,
        "at_evidence": {"w_map": at_best.w_mean.tolist(), "w_sd": at_best.w_sd.tolist(),
                        "lo": lo[: data.d].tolist(), "hi": hi[: data.d].tolist(),
                        "excludes_zero": int(np.sum((lo[: data.d] > 0) | (hi[: data.d] < 0)))},
        "_data": data,
    }


def _evaluate_d2l(problem, canonical_lam: float) -> dict:
    train, test, truth = problem.train, problem.test, problem.true_w
    sigma = problem.noise_sd
    post = gaussian_posterior(train, prior=Gaussian.from_canonical_lam(canonical_lam, sigma), sigma=sigma)
    lo, hi = post.credible_interval(CREDIBLE_MASS)
    d = train.d
    covered = (lo[:d] <= truth) & (truth <= hi[:d])
    r = test.y - test.X @ post.w_mean - post.b_mean
    return {
        "lam_d2l": from_canonical_lam("l2", canonical_lam, train.n, CHAPTER_CONVENTION), "canonical_lam": canonical_lam,
        "tau": sigma / math.sqrt(canonical_lam), "log_evidence": post.log_evidence,
        "coverage": float(np.mean(covered)), "covered": int(np.sum(covered)),
        "mean_width": float(np.mean(hi[:d] - lo[:d])), "w_map_mean": float(np.mean(post.w_mean)),
        "w_map_norm": float(np.linalg.norm(post.w_mean)), "test_loss": float(np.mean(0.5 * r**2)),
        "_post": post, "_intervals": (post.w_mean, lo[:d], hi[:d]),
    }


def d2l_intervals(seed: int, lams_d2l) -> dict:
    """The chapter's problem (σ known): credible intervals against the true w at the chapter's λ and at the λ of
    maximum evidence (:func:`bayesreg.selection.maximise_evidence`, σ known), and over the grid ``lams_d2l``."""
    problem = load_d2l(seed=seed)
    n = problem.train.n
    chapter_prior = prior_from_penalty("l2", CHAPTER_LAM, problem.noise_sd, n, CHAPTER_CONVENTION)
    chapter = _evaluate_d2l(problem, chapter_prior.canonical_lam(problem.noise_sd))
    best = _evaluate_d2l(problem, maximise_evidence(problem.train, sigma=problem.noise_sd).lam)
    sweep = [_evaluate_d2l(problem, to_canonical_lam("l2", lam, n, CHAPTER_CONVENTION)) for lam in lams_d2l]
    keys = ("lam_d2l", "canonical_lam", "tau", "log_evidence", "coverage", "mean_width", "test_loss")
    return {
        "seed": seed, "n_train": n, "n_test": problem.test.n, "d": problem.train.d,
        "true_w": float(problem.true_w[0]), "noise_sd": problem.noise_sd,
        "chapter": chapter, "evidence": best,
        "sweep": {k: [s[k] for s in sweep] for k in keys},
        "_problem": problem,
    }


def interval_calibration(seed: int, d2l: dict, replicates: int) -> dict:
    """Coverage of the credible and posterior predictive intervals when the truth is drawn from the prior the
    posterior uses.

    The d2l design is kept (its training X, and its test X for the predictive intervals); each replicate draws
    w ~ N(0, τ²) (τ = the evidence's choice), fresh training and test noise. A Bayesian interval then covers with
    probability exactly ``CREDIBLE_MASS``, averaged over such draws (the bias is flat, so its value does not
    matter): this is the promise a credible interval makes, where coverage of one fixed w is not. The same data
    are also fitted with the chapter's λ.
    """
    problem = d2l["_problem"]
    train, test = problem.train, problem.test
    X, sigma, d = train.X, problem.noise_sd, train.d
    rng = np.random.default_rng([seed, 2])
    taus = {"evidence": d2l["evidence"]["tau"], "chapter": d2l["chapter"]["tau"]}
    w = rng.normal(0.0, taus["evidence"], (replicates, d))
    Y = w @ X.T + problem.true_b + rng.normal(0.0, sigma, (replicates, len(X)))
    Y_test = w @ test.X.T + problem.true_b + rng.normal(0.0, sigma, (replicates, test.n))
    Xc = X - X.mean(axis=0)
    z = sps.norm.ppf(0.5 + CREDIBLE_MASS / 2)
    coverage, predictive, consistency = {}, {}, 0.0
    for name, tau in taus.items():
        # X is fixed, so the posterior covariance Σ_w is too; the mean is linear in y: Σ_w Xcᵀ(y − ȳ)/σ², and with a
        # flat bias E[b] = ȳ − x̄ᵀE[w]. One exact posterior gives Σ_w and the predictive sds; the first replicate's
        # means are checked against the exact posterior's.
        post = gaussian_posterior(X, Y[0], prior=Gaussian(tau), sigma=sigma)
        cov_w = post.cov[:d, :d]
        means = (Y - Y.mean(axis=1, keepdims=True)) @ Xc @ cov_w / sigma**2
        pred_means = means @ test.X.T + (Y.mean(axis=1) - means @ X.mean(axis=0))[:, None]
        exact_pred = post.predictive(test.X)
        consistency = max(consistency, _relative(means[0], post.w_mean), _relative(pred_means[0], exact_pred.mean()))
        coverage[name] = np.mean(np.abs(w - means) <= z * post.w_sd, axis=1)
        predictive[name] = np.mean(np.abs(Y_test - pred_means) <= z * exact_pred.std(), axis=1)
    out = {"replicates": replicates, "d": d, "m_test": test.n, "true_tau": taus["evidence"],
           "linear_mean_error": consistency}
    for name, values in coverage.items():
        out[name] = {"tau": taus[name], "coverage": float(values.mean()),
                     "mc_se": float(values.std(ddof=1) / math.sqrt(replicates)),
                     "predictive_coverage": float(predictive[name].mean()),
                     "predictive_mc_se": float(predictive[name].std(ddof=1) / math.sqrt(replicates))}
    return out


def _relative(a, ref) -> float:
    return float(np.max(np.abs(np.asarray(a) - ref)) / np.max(np.abs(ref)))


def _coverage(dist, y) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = dist.interval(CREDIBLE_MASS)
    inside = (lo <= y) & (y <= hi)
    return float(np.mean(inside)), lo, hi, inside


def coverage_spread(post, X, lo, hi, rng, draws: int = SPREAD_DRAWS) -> dict:
    """What the posterior itself expects of the coverage of intervals [lo, hi] on the rows X.

    Replicates y* from the posterior predictive the way the held-out rows arose if the model is right: one (w, b)
    drawn from the posterior, shared by every row, plus independent noise. The coverage of each replicate then
    has mean ``CREDIBLE_MASS`` (each row is covered with exactly that probability) and an sd wider than the
    binomial √(p(1−p)/m), since the rows share w. Returns its mean, sd and the quantiles that bound 99.73% of it.
    """
    w, b = post.sample_wb(draws, rng)
    Y = w @ X.T + (0.0 if b is None else b[:, None]) + rng.normal(0.0, post.sigma, (draws, len(X)))
    cov = np.mean((lo <= Y) & (Y <= hi), axis=1)
    return {"draws": draws, "mean": float(cov.mean()), "sd": float(cov.std(ddof=1)),
            "range": np.quantile(cov, [0.00135, 0.99865]).tolist(), "_coverages": cov}


def _binomial_sd(m: int, p: float = CREDIBLE_MASS) -> float:
    return math.sqrt(p * (1 - p) / m)


def predictive_coverage(seed: int, d2l: dict) -> dict:
    """Posterior predictive intervals on held-out rows: d2l's test rows (the chapter's λ and the evidence's λ) and
    the page's seeded held-out split of diabetes (σ and λ from the training rows), each with the spread of its
    coverage the posterior itself expects (:func:`coverage_spread`)."""
    problem = d2l["_problem"]
    test = problem.test
    rng = np.random.default_rng([seed, 4])
    out = {}
    for name in ("chapter", "evidence"):
        entry = d2l[name]
        dist = entry["_post"].predictive(test.X)
        cov, lo, hi, inside = _coverage(dist, test.y)
        spread = coverage_spread(entry["_post"], test.X, lo, hi, rng)
        out[f"d2l_{name}"] = {
            "data": "d2l test rows", "m": test.n, "lam_d2l": entry["lam_d2l"], "canonical_lam": entry["canonical_lam"],
            "sigma": problem.noise_sd, "coverage": cov, "binomial_sd": _binomial_sd(test.n), "expected": spread,
            "p_as_low": float(np.mean(spread["_coverages"] <= cov)),
            "mean_width": float(np.mean(hi - lo)), "y_sd": float(np.std(test.y)),
            "_plot": (dist.mean(), lo, hi, test.y, inside),
        }
    data = load_diabetes()
    train, held = split_rows(data, seed)
    sigma = diabetes_sigma(train)
    best = maximise_evidence(train, sigma=sigma)
    post = gaussian_posterior(train, prior=Gaussian(best.tau), sigma=sigma)
    dist = post.predictive(held.X)
    cov, lo, hi, inside = _coverage(dist, held.y)
    spread = coverage_spread(post, held.X, lo, hi, rng)
    plug_in = sps.norm(dist.mean(), sigma)  # the MAP's prediction ± the noise alone: no parameter uncertainty
    out["diabetes"] = {
        "data": "diabetes held-out rows", "m": held.n, "n_train": train.n, "d": train.d, "canonical_lam": best.lam,
        "sigma": sigma,
        "coverage": cov, "binomial_sd": _binomial_sd(held.n), "expected": spread,
        "p_as_low": float(np.mean(spread["_coverages"] <= cov)), "mean_width": float(np.mean(hi - lo)),
        "plug_in_coverage": _coverage(plug_in, held.y)[0], "plug_in_z": float(sps.norm.ppf(0.5 + CREDIBLE_MASS / 2)),
        "y_sd": float(np.std(held.y)),
        "_plot": (dist.mean(), lo, hi, held.y, inside),
    }
    return out


# ------------------------------------------------------------------------ one weight under a Laplace prior

def laplace_posterior_1d(z, lam1: float) -> dict:
    r"""The exact posterior of one weight: z ~ N(w, 1) (z the least-squares estimate, in units of its sd σ),
    w ~ Laplace(s) with λ₁ = σ²/s = ``lam1`` (in units of σ).

    .. math:: p(w \mid z) \propto \exp\big(-\tfrac12 (w - z)^2 - \lambda_1 |w|\big)

    is a two-piece mixture: N(μ₊, 1) truncated to w > 0 with μ₊ = z − λ₁, and N(μ₋, 1) truncated to w < 0 with
    μ₋ = z + λ₁, with weights ∝ e^{−zλ₁} Φ(μ₊) and e^{zλ₁} Φ(−μ₋). Returns the MAP (the soft threshold), the
    mean, the median and the equal-tailed ``CREDIBLE_MASS`` interval, each an array over ``z``.
    """
    z = np.asarray(z, dtype=np.float64)
    mu_p, mu_m = z - lam1, z + lam1
    log_p = -z * lam1 + special.log_ndtr(mu_p)
    log_m = z * lam1 + special.log_ndtr(-mu_m)
    log_total = np.logaddexp(log_p, log_m)
    log_pi_p, log_pi_m = log_p - log_total, log_m - log_total
    pi_p, pi_m = np.exp(log_pi_p), np.exp(log_pi_m)
    # truncated-normal means: μ + φ(μ)/Φ(μ) above 0, μ − φ(μ)/Φ(−μ) below 0 (ratios in logs: no 0/0)
    mills_p = np.exp(sps.norm.logpdf(mu_p) - special.log_ndtr(mu_p))
    mills_m = np.exp(sps.norm.logpdf(mu_m) - special.log_ndtr(-mu_m))
    mean = pi_p * (mu_p + mills_p) + pi_m * (mu_m - mills_m)

    def quantile(q: float) -> np.ndarray:
        # F(w) = π₋ Φ(w − μ₋)/Φ(−μ₋) for w < 0;  1 − F(w) = π₊ Φ(μ₊ − w)/Φ(μ₊) for w > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            below = mu_m + special.ndtri_exp(math.log(q) + special.log_ndtr(-mu_m) - log_pi_m)
            above = mu_p - special.ndtri_exp(math.log(1 - q) + special.log_ndtr(mu_p) - log_pi_p)
        return np.where(pi_m >= q, below, above)

    alpha = (1 - CREDIBLE_MASS) / 2
    return {"z": z, "map": np.sign(z) * np.maximum(np.abs(z) - lam1, 0.0), "mean": mean,
            "median": quantile(0.5), "lo": quantile(alpha), "hi": quantile(1 - alpha),
            "p_positive": pi_p}


def _quadrature_moments(z: float, lam1: float) -> tuple[float, float]:
    """Normalising constant and mean of p(w | z) by adaptive quadrature (the oracle for the closed form)."""
    def f(w):
        return math.exp(-0.5 * (w - z) ** 2 - lam1 * abs(w) + 0.5 * z * z)  # scaled to avoid underflow

    opts = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 200}
    mass = integrate.quad(f, -math.inf, 0.0, **opts)[0] + integrate.quad(f, 0.0, math.inf, **opts)[0]
    first = (integrate.quad(lambda w: w * f(w), -math.inf, 0.0, **opts)[0]
             + integrate.quad(lambda w: w * f(w), 0.0, math.inf, **opts)[0])
    return mass, first / mass


def _quadrature_cdf(w: float, z: float, lam1: float, mass: float) -> float:
    def f(t):
        return math.exp(-0.5 * (t - z) ** 2 - lam1 * abs(t) + 0.5 * z * z)

    opts = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 200}
    if w <= 0:
        return integrate.quad(f, -math.inf, w, **opts)[0] / mass
    return (integrate.quad(f, -math.inf, 0.0, **opts)[0] + integrate.quad(f, 0.0, w, **opts)[0]) / mass


def laplace_shrinkage(z_grid) -> dict:
    """MAP, mean, median and interval of one weight over a grid of least-squares estimates z (units of σ), with
    the ridge estimate of the Gaussian prior that has the same variance (τ² = 2s²) for comparison."""
    lam1 = LAPLACE_LAM1
    post = laplace_posterior_1d(z_grid, lam1)
    lam2 = lam1**2 / 2.0  # σ²/τ² with τ² = 2s² = 2σ²/λ₁²
    zero_map = post["map"] == 0
    # the oracle: quadrature at a few z, inside and outside the lasso's dead zone
    probe = np.array([-3.7, -1.2, -0.3, 0.4, 1.0, 1.5, 2.2, 4.1])
    exact = laplace_posterior_1d(probe, lam1)
    mean_err = cdf_err = 0.0
    for i, z in enumerate(probe):
        mass, mean = _quadrature_moments(float(z), lam1)
        mean_err = max(mean_err, abs(mean - exact["mean"][i]))
        for key, q in (("median", 0.5), ("lo", (1 - CREDIBLE_MASS) / 2), ("hi", 1 - (1 - CREDIBLE_MASS) / 2)):
            cdf_err = max(cdf_err, abs(_quadrature_cdf(float(exact[key][i]), float(z), lam1, mass) - q))
    return {
        "lam1_over_sigma": lam1, "laplace_scale_over_sigma": 1.0 / lam1, "ridge_lam": lam2,
        "z": z_grid.tolist(), **{k: post[k].tolist() for k in ("map", "mean", "median", "lo", "hi", "p_positive")},
        "ridge": (z_grid / (1.0 + lam2)).tolist(),
        "grid_points": int(len(z_grid)),
        "map_zero": int(np.sum(zero_map)), "median_zero": int(np.sum(post["median"] == 0)),
        "min_abs_median_where_map_zero": float(np.min(np.abs(post["median"][zero_map]))) if zero_map.any() else None,
        "max_abs_median_where_map_zero": float(np.max(np.abs(post["median"][zero_map]))) if zero_map.any() else None,
        "quadrature": {"z": probe.tolist(), "max_mean_error": mean_err, "max_cdf_error": cdf_err},
    }
