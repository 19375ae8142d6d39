"""The Bayesian lasso on diabetes: the checks, computed from a :class:`~.compute.BayesianLassoResult` (the lasso
against scikit-learn, the Gibbs mean against importance sampling, R-hat and ESS of every run)."""

from __future__ import annotations

import numpy as np

from ..base import Check, one_blas_thread
from .compute import ESS_MIN, RHAT_MAX, BayesianLassoResult

__all__ = ["check", "EXACT_VS_SKLEARN", "IS_MAX_Z", "RHAT_MAX", "ESS_MIN"]

EXACT_VS_SKLEARN = 1e-8       # coordinate descent and scikit-learn, both run to a duality gap far below this
IS_MAX_Z = 4.0                # |Gibbs − IS| in Monte Carlo standard errors, worst of 10 weights (P ≈ 6e-4 by chance)


@one_blas_thread
def check(result: BayesianLassoResult) -> list[Check]:
    """Every check of the study: the lasso, the importance-sampling oracle, then R-hat and ESS per Gibbs run."""
    return _checks(result.data, result.fixed, result.paths, result.hier)


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
