"""What a point estimate hides: the posterior around the MAP, its intervals, and whether they can be trusted.

Weight decay returns one vector w. The same penalty, read as a prior, gives a whole posterior: a centre (the
MAP, the mean, the median) and a spread. Four experiments, all with the exact posterior (no sampling):
**the regularisation path** of the ridge MAP on diabetes with 94% credible bands around it; **credible intervals
against the true w** on the weight-decay chapter's problem (d2l), at the chapter's λ = 3 and at the λ the
evidence picks, and their calibration when the prior is right; **posterior predictive intervals** on held-out
rows, with their coverage; and **one weight under a Laplace prior**, where the lasso's MAP is exactly 0 on a
whole interval of data while the posterior median is 0 only at a single point.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import integrate, special
from scipy import stats as sps

from ..conventions import from_canonical_lam, to_canonical_lam
from ..data import load_d2l, load_diabetes
from ..infer.conjugate import gaussian_posterior, nig_posterior
from ..plots import finish_coefficient_panels
from ..priors import ConjugateGaussian, Gaussian, prior_from_penalty
from ..selection import evidence_curve, maximise_evidence
from .base import Check, Section, StudyResult, Table, new_figure, one_blas_thread, quiet
from .base import Figure as StudyFigure
from .common import CHAPTER_CONVENTION, CHAPTER_LAM, CREDIBLE_MASS, diabetes_sigma, public, split_rows

__all__ = ["run", "laplace_posterior_1d"]

LAPLACE_LAM1 = 1.5         # one weight: λ₁ in units of σ (a Laplace scale s = σ/1.5)
EXACT_VS_SKLEARN = 1e-8    # two direct solves of one linear system
QUADRATURE = 1e-8          # closed form against adaptive quadrature at epsrel 1e-12
MC_SDS = 3.0               # coverage tolerance: 3 standard deviations (Monte Carlo, or of the coverage itself)
SPREAD_DRAWS = 4000        # posterior predictive replicates of the held-out y, for the spread of their coverage


@one_blas_thread
def run(*, seed: int = 0, quick: bool = False, progress=quiet) -> StudyResult:
    """The ridge path with credible bands, intervals against the truth, predictive coverage, and one Laplace weight.

    ``seed`` draws the d2l problem, the diabetes held-out split and the calibration simulation.
    """
    start = time.perf_counter()
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

    checks = (_path_checks(path) + _calibration_checks(calibration) + _predictive_checks(predictive)
              + _shrinkage_checks(shrinkage))
    summary = {
        "prob": CREDIBLE_MASS,
        "ridge_path": public(path),
        "d2l": public(d2l),
        "calibration": public(calibration),
        "predictive": public(predictive),
        "laplace_1d": public(shrinkage),
    }
    sections = [_path_section(path), _d2l_section(d2l, calibration),
                _predictive_section(predictive, d2l, calibration), _shrinkage_section(shrinkage)]
    return StudyResult("posterior_vs_point", "What a point estimate hides", __doc__.split("\n\n")[1], sections,
                       checks, summary, seconds=time.perf_counter() - start)


# ------------------------------------------------------------------------------------------ computations

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


# ----------------------------------------------------------------------------------------------- checks

def _path_checks(path: dict) -> list[Check]:
    """The exact posterior mean is ridge: scikit-learn solves the same system independently, at every λ."""
    from sklearn.linear_model import Ridge

    data = path["_data"]
    worst = 0.0
    for lam, w in zip(path["lam"], path["w_map"], strict=True):
        sk = Ridge(alpha=lam, solver="cholesky").fit(data.X, data.y).coef_
        worst = max(worst, float(np.max(np.abs(np.asarray(w) - sk)) / np.max(np.abs(sk))))
    # σ unknown with the conjugate prior w | σ ~ N(0, σ²/λ): the centre is still ridge at λ
    lam = path["evidence_lam"]
    nig = nig_posterior(data, prior=ConjugateGaussian(lam), sigma_prior="invgamma:1,1")
    sk = Ridge(alpha=lam, solver="cholesky").fit(data.X, data.y).coef_
    nig_err = float(np.max(np.abs(nig.w_mean - sk)) / np.max(np.abs(sk)))
    return [
        Check.at_most("posterior mean = scikit-learn Ridge(alpha = canonical λ), whole path", worst, EXACT_VS_SKLEARN,
                      f"max|Δw|/max|w|, worst of {len(path['lam'])} λ; σ = {path['sigma']:.4g} fixed"),
        Check.at_most("σ unknown (Normal-Inverse-Gamma): posterior mean of w = Ridge at the same λ", nig_err,
                      EXACT_VS_SKLEARN, f"λ = {lam:.3g}, σ² ~ InvGamma(1, 1); max|Δw|/max|w|"),
    ]


def _calibration_checks(cal: dict) -> list[Check]:
    e = cal["evidence"]
    pct = f"{CREDIBLE_MASS:.0%}"
    reps = f"{cal['replicates']} replicates (w ~ N(0, τ²), fresh noise)"
    return [Check.close(f"{pct} credible intervals cover {pct} when w is drawn from the prior (d2l design)",
                        e["coverage"], CREDIBLE_MASS, MC_SDS * e["mc_se"],
                        f"{reps} × {cal['d']} weights; tolerance {MC_SDS:g} Monte Carlo "
                        "standard errors of the mean coverage over replicates"),
            Check.close(f"{pct} posterior predictive intervals cover {pct} of d2l test rows when w is drawn from the "
                        "prior", e["predictive_coverage"], CREDIBLE_MASS, MC_SDS * e["predictive_mc_se"],
                        f"{reps} × {cal['m_test']} test rows; tolerance {MC_SDS:g} Monte Carlo standard errors of "
                        "the mean coverage over replicates (the rows of one replicate share w, the replicates are "
                        "independent)"),
            Check.at_most("replicates' posterior and predictive means (linear in y) = the exact posterior's",
                          cal["linear_mean_error"], EXACT_VS_SKLEARN, "first replicate, both priors; max|Δ|/max|·|")]


def _predictive_checks(pred: dict) -> list[Check]:
    p = pred["diabetes"]
    e = p["expected"]
    return [Check.close(f"posterior predictive {CREDIBLE_MASS:.0%} coverage, diabetes held-out rows", p["coverage"],
                        CREDIBLE_MASS, MC_SDS * e["sd"],
                        f"m = {p['m']} rows; tolerance {MC_SDS:g} sds of the coverage the posterior itself predicts "
                        f"for these rows ({e['draws']} posterior predictive replicates, one (w, b) shared by all rows: "
                        f"sd {e['sd']:.4f}, binomial {p['binomial_sd']:.4f}). A model check on real data: it fails if "
                        "the Gaussian noise of sd σ̂ does not describe the held-out rows")]


def _shrinkage_checks(sh: dict) -> list[Check]:
    q = sh["quadrature"]
    return [
        Check.at_most("Laplace posterior mean of one weight: closed form = quadrature", q["max_mean_error"],
                      QUADRATURE, f"max abs error (units of σ) at z = {q['z']}"),
        Check.at_most(f"Laplace posterior median and {CREDIBLE_MASS:.0%} interval: quadrature CDF at them = 0.5, "
                      f"{(1 - CREDIBLE_MASS) / 2:g}, {1 - (1 - CREDIBLE_MASS) / 2:g}",
                      q["max_cdf_error"], QUADRATURE, "max abs error of the probability"),
    ]


# --------------------------------------------------------------------------------------------- sections

def _path_section(path: dict) -> Section:
    lams = np.array(path["lam"])
    w, lo, hi = (np.array(path[k]) for k in ("w_map", "w_lo", "w_hi"))
    names = path["features"]
    fig, axes = new_figure(5, 2, width=3.1, height=2.9, sharex=True)
    axes = axes.ravel()
    for j, ax in enumerate(axes):
        ax.fill_between(lams, lo[:, j], hi[:, j], color="C0", alpha=0.25, lw=0,
                        label=f"{CREDIBLE_MASS:.0%} credible band")
        ax.plot(lams, w[:, j], color="C0", lw=1.8, label="MAP = posterior mean = median")
        ax.axvline(path["evidence_lam"], color="C3", ls="--", lw=1.1,
                   label=f"max evidence (λ = {path['evidence_lam']:.3g})")
    finish_coefficient_panels(fig, axes, names, xlabel="canonical λ = σ²/τ²",
                              title=f"Diabetes: the ridge path and its {CREDIBLE_MASS:.0%} credible bands "
                                    f"(σ = {path['sigma']:.2f} fixed)")
    ev = path["at_evidence"]
    rows = [[f"w[{name}]", ev["w_map"][j], ev["w_sd"][j], ev["lo"][j], ev["hi"][j],
             bool(ev["lo"][j] > 0 or ev["hi"][j] < 0)] for j, name in enumerate(names)]
    table = Table(f"At the evidence's λ = {path['evidence_lam']:.3g} (τ = {path['evidence_tau']:.4g})",
                  ["weight", "MAP = mean = median", "posterior sd", f"{CREDIBLE_MASS:.0%} lower",
                   f"{CREDIBLE_MASS:.0%} upper", "interval excludes 0"], rows,
                  "exact Gaussian posterior, flat prior on the bias; scikit-learn Ridge(alpha = λ) gives the same "
                  "centre")
    text = f"""\
Weight decay gives one curve per weight as λ grows: the regularisation path. Read as a prior N(0, τ²) with
λ = σ²/τ², each point of that curve is the centre of a Gaussian posterior, and the band around it is the
posterior's {CREDIBLE_MASS:.0%} credible interval. σ is fixed at the least-squares residual sd,
√(RSS/(n − d − 1)) = {path['sigma']:.2f}, the noise level the data themselves show.

With a Gaussian prior and σ fixed the posterior is Gaussian, so its MAP, mean and median are one and the same
point, the ridge estimate (checked against scikit-learn). The same holds with σ unknown under the conjugate prior
w | σ ~ N(0, σ²/λ): the posterior of w becomes a Student-t, still centred on ridge at that λ. So for weight decay
the point estimate hides no other centre. It hides the width: at small λ the collinear serum measurements
(s1–s6) have bands hundreds of units wide around a confident-looking MAP. The evidence p(y | λ) peaks at
λ = {path['evidence_lam']:.3g}, a weak prior; there {ev['excludes_zero']} of {path['d']} intervals exclude 0."""
    return Section("The regularisation path with its credible bands", text, [table],
                   [StudyFigure("ridge_path_bands", fig,
                                "Each panel: one weight's ridge MAP against canonical λ (log scale) with the exact "
                                f"{CREDIBLE_MASS:.0%} credible band. Bands shrink with the estimate as the prior "
                                "tightens; the dashed line is the λ of maximum evidence.")])


def _d2l_section(d2l: dict, cal: dict) -> Section:
    from ..plots import credible_intervals

    pct = f"{CREDIBLE_MASS:.0%}"
    ch, ev = d2l["chapter"], d2l["evidence"]
    shown = min(25, d2l["d"])
    fig, axes = new_figure(2, width=6.4, height=4.4)
    credible_intervals({f"λ = {ch['lam_d2l']:g} (chapter)": ch["_intervals"],
                        f"λ = {ev['lam_d2l']:.3g} (max evidence)": ev["_intervals"]},
                       truth=d2l["true_w"], max_coords=shown, ylabel="weight w_j",
                       title=f"{pct} credible intervals, first {shown} of {d2l['d']} weights", ax=axes[0])
    sweep = d2l["sweep"]
    ax = axes[1]
    ax.plot(sweep["lam_d2l"], sweep["coverage"], color="0.15", lw=1.8, label="share of true weights covered")
    ax.axhline(CREDIBLE_MASS, color="0.4", ls=":", lw=1.2, label=f"nominal {pct}")
    ax.axvline(ch["lam_d2l"], color="C0", ls="--", lw=1.2, label=f"chapter (λ = {ch['lam_d2l']:g})")
    ax.axvline(ev["lam_d2l"], color="C1", ls="--", lw=1.2, label=f"max evidence (λ = {ev['lam_d2l']:.3g})")
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("λ in the chapter's convention (mean ½r² + λ/2 ‖w‖²)")
    ax.set_ylabel(f"share of the {d2l['d']} true weights inside their interval")
    ax.set_title(f"Coverage of the true w against λ (σ = {d2l['noise_sd']:g} known)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left")
    rows = [[f"chapter (λ = {ch['lam_d2l']:g})", ch["lam_d2l"], ch["canonical_lam"], ch["tau"], ch["log_evidence"],
             ch["w_map_mean"], ch["mean_width"], ch["coverage"]],
            [f"max evidence (λ = {ev['lam_d2l']:.3g})", ev["lam_d2l"], ev["canonical_lam"], ev["tau"],
             ev["log_evidence"], ev["w_map_mean"], ev["mean_width"], ev["coverage"]]]
    table = Table(f"d2l (seed {d2l['seed']}): {d2l['n_train']} rows, {d2l['d']} weights all equal to "
                  f"{d2l['true_w']:g}", ["prior", "λ (d2l)", "canonical λ", "τ", "log evidence",
                                         "mean of w_MAP", f"mean {pct} width", "coverage of true w"], rows,
                  "max evidence: bayesreg.selection.maximise_evidence with σ known (the λ the study \"choosing λ\" "
                  "reports as evidence)")
    e, c = cal["evidence"], cal["chapter"]
    cal_table = Table(f"Calibration: w drawn from N(0, {cal['true_tau']:.3g}²), {cal['replicates']} replicates "
                      "on the d2l design",
                      ["posterior uses", "τ", f"coverage of w ({cal['d']} weights)", "Monte Carlo se",
                       f"predictive coverage ({cal['m_test']} test rows)", "Monte Carlo se"],
                      [["the prior that drew w (max evidence)", e["tau"], e["coverage"], e["mc_se"],
                        e["predictive_coverage"], e["predictive_mc_se"]],
                       [f"the chapter's λ = {ch['lam_d2l']:g}", c["tau"], c["coverage"], c["mc_se"],
                        c["predictive_coverage"], c["predictive_mc_se"]]])
    text = f"""\
The chapter fits {d2l['d']} weights, all truly {d2l['true_w']:g}, to {d2l['n_train']} rows. Its λ = {ch['lam_d2l']:g}
(mean ½r² loss, convention `{CHAPTER_CONVENTION}`) is canonical λ = {ch['canonical_lam']:g}: the prior N(0, τ²) with
τ = {ch['tau']:.3g}, which puts each true weight {d2l['true_w'] / ch['tau']:.1f} prior sds out. The posterior inherits
the mistake: the MAP is squeezed to a mean of {ch['w_map_mean']:.2g} and its intervals are {ch['mean_width']:.2g} wide,
so they cover {ch['coverage']:.0%} of the true weights. The λ that maximises the evidence (σ known) is
{ev['lam_d2l']:.3g} in the chapter's convention, τ = {ev['tau']:.3g}. Its posterior means are no closer to the truth
(mean {ev['w_map_mean']:.2g}: {d2l['n_train']} rows cannot locate {d2l['d']} weights), but its intervals,
{ev['mean_width']:.2g} wide, say so, and cover {ev['coverage']:.1%}.

Coverage of one fixed w is not what a credible interval promises. It promises {pct} on average over weights
drawn from the prior. Drawing w from N(0, {cal['true_tau']:.3g}²) on the same design, the intervals of that prior
cover {e['coverage']:.1%} (± {e['mc_se']:.1%}) of the weights and its posterior predictive intervals
{e['predictive_coverage']:.1%} (± {e['predictive_mc_se']:.1%}) of the test rows, as they must, while those of
λ = {ch['lam_d2l']:g} cover {c['coverage']:.1%} and {c['predictive_coverage']:.1%}. Coverage alone is easy to buy:
as λ → 0 the intervals grow without bound and cover everything (right panel)."""
    return Section("Credible intervals against the true weights (d2l)", text, [table, cal_table],
                   [StudyFigure("d2l_intervals", fig,
                                f"Left: posterior mean and {pct} interval of the first {shown} weights at the "
                                "chapter's λ and at the evidence's λ; the black marks are the true weights. Right: "
                                f"the share of the {d2l['d']} true weights inside their interval over λ.")])


def _p_text(p: float, draws: int) -> str:
    return f"less than 1/{draws}" if p == 0 else f"{p:.2g}"


def _predictive_section(pred: dict, d2l: dict, cal: dict) -> Section:
    pct = f"{CREDIBLE_MASS:.0%}"
    panels = (("d2l_chapter", f"d2l test rows, chapter's λ = {CHAPTER_LAM:g}"),
              ("d2l_evidence", "d2l test rows, max evidence"), ("diabetes", "diabetes held-out rows, max evidence"))
    fig, axes = new_figure(3, width=4.8, height=4.2)
    for ax, (key, title) in zip(axes, panels, strict=True):
        mean, lo, hi, y, inside = pred[key]["_plot"]
        order = np.argsort(mean)
        x = np.arange(len(mean))
        ax.fill_between(x, lo[order], hi[order], color="C0", alpha=0.25, lw=0, label=f"{pct} predictive interval")
        ax.plot(x, mean[order], color="C0", lw=1.5, label="predictive mean (= MAP's prediction)")
        ins = inside[order]
        ax.plot(x[ins], y[order][ins], "o", color="k", ms=3, label="held-out y, inside")
        ax.plot(x[~ins], y[order][~ins], "x", color="C3", ms=5, mew=1.5, label="held-out y, outside")
        ax.set_xlabel("held-out row, sorted by predictive mean")
        ax.set_ylabel("y" if key.startswith("d2l") else "disease progression (1 year)")
        ax.set_title(f"{title}\ncoverage {pred[key]['coverage']:.0%} of {pred[key]['m']} rows", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    rows = []
    for key, title in panels:
        p = pred[key]
        e = p["expected"]
        rows.append([title, p["m"], p["canonical_lam"], p["sigma"], p["mean_width"], p["coverage"],
                     f"{CREDIBLE_MASS:.0%} ± {MC_SDS * e['sd']:.1%}", p["binomial_sd"], e["sd"],
                     _p_text(p["p_as_low"], e["draws"])])
    dia, ch, ev = pred["diabetes"], pred["d2l_chapter"], pred["d2l_evidence"]
    table = Table(f"Posterior predictive {pct} intervals on held-out rows",
                  ["held-out set", "rows", "canonical λ", "σ", "mean width", "coverage",
                   f"expected (± {MC_SDS:g} sd)", "sd if rows independent", "sd, rows share w",
                   "P(coverage this low)"], rows,
                  f"expected: the coverage of y replicated from the posterior predictive ({dia['expected']['draws']} "
                  "replicates, one (w, b) from the posterior shared by all rows, fresh noise); diabetes: "
                  f"{dia['n_train']} training rows, σ = least-squares residual sd of those rows, λ by maximum "
                  f"evidence; the MAP's prediction ± {dia['plug_in_z']:.2f}σ alone covers "
                  f"{dia['plug_in_coverage']:.1%}")
    inside = lambda p: abs(p["coverage"] - CREDIBLE_MASS) <= MC_SDS * p["expected"]["sd"]  # noqa: E731
    ev_verdict = ("inside the range the posterior itself expects for these rows" if inside(ev) else
                  "outside the range the posterior itself expects for these rows")
    dia_verdict = "inside" if inside(dia) else "outside"
    text = f"""\
A prediction from a single w is one number per row. The posterior predictive adds two sources of spread: the noise
σ, and the uncertainty in w, which is x*ᵀΣx* for a new row x* (Σ the posterior covariance). Whether the
{pct} interval deserves its name can be tested on rows the model never saw, with one caution: all held-out rows
share one posterior, so their coverage varies more than a binomial count. The column "expected" is what the
posterior itself predicts for it: y replicated from the posterior predictive, one w for all rows, fresh noise.

On d2l's {ch['m']} test rows the chapter's λ = {CHAPTER_LAM:g} predicts intervals {ch['mean_width']:.3g} wide on
average, around predictions that barely move from the mean of y (test y has sd {ch['y_sd']:.3g}): they cover
{ch['coverage']:.0%}. At the evidence's λ the intervals are {ev['mean_width']:.3g} wide and cover
{ev['coverage']:.0%}, {ev_verdict} ({pct} ± {MC_SDS * ev['expected']['sd']:.1%}; the posterior gives coverage this
low a probability of {_p_text(ev['p_as_low'], ev['expected']['draws'])}). That number is about one fixed w (every
weight {d2l['true_w']:g}) and a τ estimated from {d2l['n_train']} rows, so it moves from seed to seed: a small
estimate of τ narrows every interval at once. What a {pct} predictive interval promises is coverage on average over
w drawn from the prior; the simulation of the previous section checks that, {cal['evidence']['predictive_coverage']:.1%}
of the test rows.

On diabetes, {dia['m']} held-out rows, the intervals cover {dia['coverage']:.1%}, {dia_verdict} the posterior's
{pct} ± {MC_SDS * dia['expected']['sd']:.1%} (with {dia['n_train']} rows for {dia['d']} weights the
shared w hardly widens the binomial spread). There σ dominates, and the MAP's prediction ± {dia['plug_in_z']:.2f}σ
already covers {dia['plug_in_coverage']:.1%}. Parameter uncertainty matters when d is large against n, as in the
chapter's problem."""
    return Section("Posterior predictive intervals on held-out data", text, [table],
                   [StudyFigure("predictive_coverage", fig,
                                f"Held-out rows sorted by predictive mean: the {pct} posterior predictive band and "
                                f"the observed y (red crosses fall outside). The chapter's λ = {CHAPTER_LAM:g} gives a "
                                f"band that covers {ch['coverage']:.0%} of its own test rows.")])


def _shrinkage_section(sh: dict) -> Section:
    z = np.array(sh["z"])
    lam1 = sh["lam1_over_sigma"]
    fig, axes = new_figure(2, width=6.2, height=4.6)
    ax = axes[0]
    ax.fill_between(z, sh["lo"], sh["hi"], color="C0", alpha=0.18, lw=0, label=f"Laplace: {CREDIBLE_MASS:.0%} interval")
    ax.plot(z, z, color="0.6", lw=1, ls=":", label="least squares (no prior)")
    ax.plot(z, sh["ridge"], color="C2", lw=1.3, ls="-.", label="Gaussian prior, same variance: MAP = mean = median")
    ax.plot(z, sh["map"], color="C3", lw=2.2, label="Laplace MAP (lasso: soft threshold)")
    ax.plot(z, sh["mean"], color="C0", lw=1.6, ls="--", label="Laplace posterior mean")
    ax.plot(z, sh["median"], color="C1", lw=1.6, label="Laplace posterior median")
    ax.axvspan(-lam1, lam1, color="C3", alpha=0.06, lw=0)
    ax.axhline(0, color="0.3", lw=0.6)
    ax.set_xlabel("least-squares estimate z (units of its sd σ)")
    ax.set_ylabel("estimate of w (units of σ)")
    ax.set_title(f"Shrinkage of one weight, λ₁ = {lam1:g}σ (shaded: the lasso's zeros)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left")

    ax = axes[1]
    w = np.linspace(-3, 4, 1401)
    for i, zv in enumerate((0.8, 2.5)):
        dens = np.exp(-0.5 * (w - zv) ** 2 - lam1 * np.abs(w))
        dens /= np.trapezoid(dens, w)
        one = laplace_posterior_1d(np.array([zv]), lam1)
        color = f"C{i + 4}"
        ax.plot(w, dens, color=color, lw=1.8, label=f"p(w | z = {zv:g})")
        for key, ls, marker in (("map", "-", "MAP"), ("median", "--", "median"), ("mean", ":", "mean")):
            ax.axvline(float(one[key][0]), color=color, ls=ls, lw=1.1,
                       label=f"  {marker} = {float(one[key][0]):.2f}")
    ax.set_xlabel("w (units of σ)")
    ax.set_ylabel("posterior density")
    ax.set_title("Two posteriors, with their MAP, median and mean")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5)
    q = sh["quadrature"]
    k = sh["grid_points"]
    rows = [["Laplace MAP (lasso)", sh["map_zero"], f"|z| ≤ λ₁ = {lam1:g}σ"],
            ["Laplace posterior median", sh["median_zero"], "only at z = 0 (not on the grid)"],
            ["Laplace posterior mean", int(np.sum(np.array(sh["mean"]) == 0)), "only at z = 0"]]
    table = Table(f"Exact zeros among {k} values of z in [−5σ, 5σ]", ["estimate", "exactly 0", "where"], rows,
                  f"where the MAP is 0, |median| ranges from {sh['min_abs_median_where_map_zero']:.2g}σ to "
                  f"{sh['max_abs_median_where_map_zero']:.2g}σ; closed form checked against quadrature to "
                  f"{max(q['max_mean_error'], q['max_cdf_error']):.1e}")
    text = f"""\
With a Laplace prior (the L1 penalty λ₁‖w‖₁, λ₁ = σ²/s) the MAP, the mean and the median part ways. The
simplest case shows it exactly: one weight whose least-squares estimate z has sd σ, so the posterior is
p(w | z) ∝ exp(−(w − z)²/(2σ²) − λ₁|w|/σ²), here with λ₁ = {lam1:g}σ.

The MAP is the lasso's soft threshold: exactly 0 whenever |z| ≤ λ₁, a whole interval of data. The posterior
median is 0 only at z = 0, and so is the mean: both shrink small estimates smoothly instead of setting them to 0.
The right panel shows why. The posterior has a cusp at 0, and for small z the mode sits on it, but the mass
spreads to both sides and the median lies away from 0. A sparse point estimate describes the posterior's peak,
not where the weight probably is. For large |z| all three agree on z − λ₁: the Laplace prior moves large estimates
by a constant, where the Gaussian prior of the same variance scales every z by {1 / (1 + sh['ridge_lam']):.2f} (its
mode, mean and median together). The study "the Bayesian lasso on diabetes" shows the same on real data."""
    return Section("One weight under a Laplace prior: exact zeros against the median", text, [table],
                   [StudyFigure("laplace_shrinkage", fig,
                                "Left: each estimate of one weight against its least-squares value z. The lasso "
                                "(red) is 0 on the shaded interval; the posterior median and mean are not. Right: "
                                "the posterior at two values of z, with MAP, median and mean marked.")])
