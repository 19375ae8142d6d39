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

# Three stages, one module each: compute.py (the lasso and the Gibbs draws, a BayesianLassoResult),
# checks.py (against scikit-learn, importance sampling, R-hat and ESS) and render.py (text, tables and
# figures); run() chains them.
import time

from ..base import StudyResult, one_blas_thread, quiet
from ..common import CREDIBLE_MASS
from .checks import EXACT_VS_SKLEARN, IS_MAX_Z, check
from .compute import (
    CHAINS,
    ESS_MIN,
    HIER_DRAWS,
    PATH_CHAINS,
    PATH_DRAWS,
    RHAT_MAX,
    SCALE_PRIOR,
    SIGMA_PRIOR,
    SLOW_FACTOR,
    SLOW_KEPT,
    WARMUP,
    BayesianLassoResult,
    at_fixed_lam1,
    compute,
    hierarchical,
    importance_mean,
    lasso,
    posterior_summary,
    shrinkage_paths,
    summarise,
)
from .render import render

__all__ = ["run", "SCALE_PRIOR", "SIGMA_PRIOR", "posterior_summary", "importance_mean", "compute", "check", "render",
           "BayesianLassoResult", "summarise", "lasso", "at_fixed_lam1", "shrinkage_paths", "hierarchical", "CHAINS",
           "WARMUP", "HIER_DRAWS", "PATH_CHAINS", "PATH_DRAWS", "SLOW_FACTOR", "SLOW_KEPT", "EXACT_VS_SKLEARN",
           "RHAT_MAX", "ESS_MIN", "IS_MAX_Z", "CREDIBLE_MASS"]


@one_blas_thread
def run(*, seed: int = 0, quick: bool = False, progress=quiet) -> StudyResult:
    """The lasso against the Bayesian-lasso posterior on diabetes: at one λ₁, along λ₁, and with λ₁ inferred:
    :func:`compute`, then :func:`check` and :func:`render`.

    ``seed`` seeds the Gibbs chains and the importance sampler.
    """
    start = time.perf_counter()
    result = compute(seed=seed, quick=quick, progress=progress)
    study = render(result, check(result))
    study.seconds = time.perf_counter() - start
    return study
