"""What a point estimate hides: the checks, computed from a :class:`~.compute.PosteriorVsPointResult` (the exact
posterior against scikit-learn, the closed forms against quadrature, coverage against Monte Carlo error)."""

from __future__ import annotations

import numpy as np

from ...infer.conjugate import nig_posterior
from ...priors import ConjugateGaussian
from ..base import Check, one_blas_thread
from ..common import CREDIBLE_MASS
from .compute import PosteriorVsPointResult

__all__ = ["check", "EXACT_VS_SKLEARN", "QUADRATURE", "MC_SDS"]

EXACT_VS_SKLEARN = 1e-8    # two direct solves of one linear system
QUADRATURE = 1e-8          # closed form against adaptive quadrature at epsrel 1e-12
MC_SDS = 3.0               # coverage tolerance: 3 standard deviations (Monte Carlo, or of the coverage itself)


@one_blas_thread
def check(result: PosteriorVsPointResult) -> list[Check]:
    """Every check of the study, in the order of the page's sections."""
    return (_path_checks(result.path) + _calibration_checks(result.calibration)
            + _predictive_checks(result.predictive) + _shrinkage_checks(result.shrinkage))


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
