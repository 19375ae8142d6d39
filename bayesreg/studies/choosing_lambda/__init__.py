"""Choosing λ, four ways side by side.

The same L2 penalty ½Σr² + (λ/2)‖w‖² can be tuned four ways: empirical Bayes (maximise the evidence p(y | τ, σ)
over the prior sd τ and the noise sd σ, no data held out), a validation set, K-fold cross-validation, or a
hyperprior (a posterior over λ instead of one value). This study runs all four on the diabetes data, where
scikit-learn's ``BayesianRidge`` is the oracle for the evidence, and on the weight-decay chapter's problem
(Dive into Deep Learning §3.7: fewer rows than weights, all weights equal), where the truth is known, next to
the chapter's λ. Every λ is canonical: λ = σ²/τ² in ½Σr² + (λ/2)‖w‖².

Every number in the page's text, tables and captions is formatted from the computed values (:func:`_intro` and
the section builders), so the text holds at any seed.
"""

from __future__ import annotations

# Three stages, one module each: compute.py (the numbers, a ChoosingLambdaResult), checks.py
# (the oracle checks, from that result) and render.py (text, tables and figures); run() chains them.
import time

from ..base import StudyResult, one_blas_thread, quiet
from ..common import CHAPTER_CONVENTION, CREDIBLE_MASS
from .checks import (
    BR_REL,
    EPS,
    GRID_CV_REL,
    MODE_BRACKET,
    MODE_STEPS,
    QUAD_ABS,
    REDUCED_ABS,
    SIGMA_HAT_ULPS,
    check,
)
from .compute import (
    CHAPTER_LAM,
    EDGE_FRACTION,
    EDGE_TEXT,
    FOLDS,
    LI,
    LIKELIHOOD_DROP,
    LIKELIHOOD_LEVEL,
    SELECTED,
    ChoosingLambdaResult,
    compute,
    selection,
    selection_notes,
    summarise,
)
from .render import INTERPOLANT_SHARE, LAM_AXIS, METHODS, render

__all__ = ["run", "METHODS", "CHAPTER_LAM", "compute", "check", "render", "ChoosingLambdaResult", "summarise",
           "selection", "selection_notes", "FOLDS", "EDGE_FRACTION", "LIKELIHOOD_LEVEL", "LIKELIHOOD_DROP", "LI",
           "INTERPOLANT_SHARE", "MODE_BRACKET", "SELECTED", "EDGE_TEXT", "BR_REL", "GRID_CV_REL", "SIGMA_HAT_ULPS",
           "QUAD_ABS", "REDUCED_ABS", "MODE_STEPS", "EPS", "LAM_AXIS", "CHAPTER_CONVENTION", "CREDIBLE_MASS"]


@one_blas_thread
def run(*, seed: int = 0, quick: bool = False, progress=quiet) -> StudyResult:
    """Empirical Bayes, validation, K-fold CV and a hyperprior on diabetes and on the chapter's d2l problem:
    :func:`compute`, then :func:`check` and :func:`render`."""
    start = time.perf_counter()
    result = compute(seed=seed, quick=quick, progress=progress)
    progress("oracle checks: BayesianRidge, GridSearchCV, quadrature, the σ̂ closed form, the hyperprior's mode")
    checks = check(result)
    progress("figures")
    study = render(result, checks)
    study.seconds = time.perf_counter() - start
    return study
