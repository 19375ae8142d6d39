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

# Three stages, one module each: compute.py (the exact posteriors and simulations, a
# PosteriorVsPointResult), checks.py (against scikit-learn, quadrature and Monte Carlo error) and
# render.py (text, tables and figures); run() chains them.
import time

from ..base import StudyResult, one_blas_thread, quiet
from ..common import CHAPTER_CONVENTION, CHAPTER_LAM, CREDIBLE_MASS
from .checks import EXACT_VS_SKLEARN, MC_SDS, QUADRATURE, check
from .compute import (
    LAPLACE_LAM1,
    SPREAD_DRAWS,
    PosteriorVsPointResult,
    compute,
    coverage_spread,
    d2l_intervals,
    interval_calibration,
    laplace_posterior_1d,
    laplace_shrinkage,
    predictive_coverage,
    ridge_path,
    summarise,
)
from .render import render

__all__ = ["run", "laplace_posterior_1d", "compute", "check", "render", "PosteriorVsPointResult", "summarise",
           "ridge_path", "d2l_intervals", "interval_calibration", "coverage_spread", "predictive_coverage",
           "laplace_shrinkage", "LAPLACE_LAM1", "SPREAD_DRAWS", "EXACT_VS_SKLEARN", "QUADRATURE", "MC_SDS",
           "CHAPTER_CONVENTION", "CHAPTER_LAM", "CREDIBLE_MASS"]


@one_blas_thread
def run(*, seed: int = 0, quick: bool = False, progress=quiet) -> StudyResult:
    """The ridge path with credible bands, intervals against the truth, predictive coverage, and one Laplace weight:
    :func:`compute`, then :func:`check` and :func:`render`.

    ``seed`` draws the d2l problem, the diabetes held-out split and the calibration simulation.
    """
    start = time.perf_counter()
    result = compute(seed=seed, quick=quick, progress=progress)
    study = render(result, check(result))
    study.seconds = time.perf_counter() - start
    return study
