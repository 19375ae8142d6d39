r"""Choosing a classifier's L2 strength λ four ways: the Laplace evidence, a validation set, K-fold CV, a hyperprior.

Everything is canonical for the logistic likelihood (``CONVENTIONS.md``): the MAP at λ minimises

.. math:: J_\lambda(w, b) = \sum_i \big[\log(1 + e^{\eta_i}) - y_i\eta_i\big] + \tfrac{\lambda}{2}\|w\|^2,

the posterior mode under w ~ N(0, τ² I), λ = 1/τ² (scikit-learn ``LogisticRegression(C = 1/λ)``), the bias flat
or absent. The four ways:

* **Evidence** (MacKay 1992): the Laplace approximation to log p(y | λ) (:mod:`bayesreg.infer.laplace_approx`),
  maximised over log λ (a grid, then Brent between the neighbours of its best point). An approximation: the tests
  measure its error against quadrature.
* **A validation set**: the MAP on the training rows, its mean log-loss on the seeded held-out rows, argmin.
* **K-fold cross-validation**: the mean held-out log-loss over ``KFold(folds, shuffle=True, random_state=seed)``,
  folds weighted equally: the curve ``LogisticRegressionCV(Cs=1/λ, cv=those folds, scoring="neg_log_loss")``
  computes (its ``scores_`` averaged over folds, negated).
* **A hyperprior**: p(ln λ | y) ∝ p(y | λ) p(ln λ) on the grid, with the Laplace evidence; its median and 94%
  interval.

Grids widen as :func:`bayesreg.selection.select_lambda`'s do, and a pick left at the search limit says so. The
result is the same :class:`~bayesreg.selection.Selection`, so the CLI, plots and report read either.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize

from .data import Dataset
from .errors import DataError
from .selection import (
    _EDGE_NOTES,
    SEARCH_LIMIT_DECADES,
    SELECTION_METHODS,
    Pick,
    Selection,
    _argbest_edge,
    _check_bias,
    _column_scales,
    _mass_edge,
    _widened,
    check_selection_options,
    cv_splits,
    log_hyperprior,
    validation_split,
)
from .solvers.logistic import logistic_map
from .solvers.objective import PenalizedLeastSquares

__all__ = ["logistic_evidence", "logistic_validation_loss", "logistic_cv_curve", "select_lambda_logistic"]

_NOTES = {**_EDGE_NOTES,
          ("validation", "high"): "the held-out log-loss keeps falling as λ → ∞: the intercept alone predicts the "
                                  "held-out rows best",
          ("cv", "high"): "the cross-validated log-loss keeps falling as λ → ∞: the intercept alone is best"}


def _problem(lam: float, bias: str) -> PenalizedLeastSquares:
    return PenalizedLeastSquares(l2=float(lam), bias=bias)


def logistic_evidence(data, lams, *, bias: str = "flat") -> np.ndarray:
    """The Laplace-approximate log p(y | λ) at each canonical λ (prior N(0, 1/λ) on each weight), warm-started
    along the grid."""
    from .infer.laplace_approx import laplace_approximation
    from .model import Model
    from .priors import Gaussian

    return np.array([laplace_approximation(data, Model.logistic(Gaussian(1.0 / math.sqrt(lam)), bias)).log_evidence
                     for lam in np.asarray(lams, dtype=np.float64)])


def _mean_log_loss(train: Dataset, test: Dataset, lams, bias: str) -> np.ndarray:
    out = []
    start = None
    for lam in np.asarray(lams, dtype=np.float64):
        fit = logistic_map(train.X, train.y, _problem(lam, bias), start=start)
        start = (fit.w, fit.b)
        eta = test.X @ fit.w + (fit.b or 0.0)
        out.append(float(np.mean(np.logaddexp(0.0, eta) - test.y * eta)))
    return np.array(out)


def logistic_validation_loss(train: Dataset, valid: Dataset, lams, *, bias: str = "flat") -> np.ndarray:
    """Mean log-loss on ``valid`` of the MAP on ``train``, per canonical λ."""
    return _mean_log_loss(train, valid, lams, bias)


def logistic_cv_curve(data, lams, *, folds: int = 5, seed: int = 0, bias: str = "flat") -> np.ndarray:
    """Mean held-out log-loss over the K folds (equal weights), per canonical λ."""
    fold_loss = []
    for train_idx, test_idx in cv_splits(data.n, folds, seed):
        train = Dataset(data.X[train_idx], data.y[train_idx], data.feature_names, data.target_name, data.name)
        test = Dataset(data.X[test_idx], data.y[test_idx], data.feature_names, data.target_name, data.name)
        fold_loss.append(_mean_log_loss(train, test, lams, bias))
    return np.mean(fold_loss, axis=0)


def select_lambda_logistic(data, *, methods=SELECTION_METHODS, bias: str = "flat", folds: int = 5, seed: int = 0,
                           validation_fraction: float = 0.25, hyperprior: str = "loguniform",
                           points_per_decade: int = 8) -> Selection:
    """Canonical λ (Σ logloss + (λ/2)‖w‖²) by each of the four methods of the module docstring, each on a grid of
    ``points_per_decade`` that widens until its optimum is interior (or reaches the search limit, said in its
    note). ``sigma`` of the returned :class:`Selection` is None: a classifier has none."""
    bias = _check_bias(bias)
    check_selection_options(methods, validation_fraction)
    y = np.asarray(data.y, dtype=np.float64)
    if not np.isin(y, (0.0, 1.0)).all():
        raise DataError("a classifier's λ selection needs a 0/1 target (load the data with binary=True)")
    ss_min, ss_max = _column_scales(data)
    limits = (ss_min * 10.0**-SEARCH_LIMIT_DECADES, ss_max * 10.0**SEARCH_LIMIT_DECADES)
    # start: 3 decades either side of the squared-norm scale a unit log-odds change needs (λ ≈ mean column SS/n)
    centre = float(np.mean(np.sum((data.X - data.X.mean(0)) ** 2, axis=0))) / data.n
    start = centre * np.logspace(-3, 3, 6 * points_per_decade + 1)
    picks = {}
    log_ev_cache: dict[float, float] = {}

    def log_evidence(lams):
        missing = [float(v) for v in lams if float(v) not in log_ev_cache]
        if missing:
            log_ev_cache.update(zip(missing, logistic_evidence(data, missing, bias=bias), strict=True))
        return np.array([log_ev_cache[float(v)] for v in lams])

    if "evidence" in methods:
        lams, values, stuck = _widened(log_evidence, start, _argbest_edge(np.argmax), limits)
        i = int(np.argmax(values))
        lam = float(lams[i])
        if stuck is None:
            res = optimize.minimize_scalar(lambda u: -float(log_evidence([math.exp(u)])[0]),
                                           bounds=(math.log(lams[i - 1]), math.log(lams[i + 1])), method="bounded",
                                           options={"xatol": 1e-6})
            lam = math.exp(float(res.x))
        picks["evidence"] = Pick("evidence", lam, lams, values, "log evidence (Laplace)", stuck is None,
                                 _NOTES.get(("evidence", stuck), ""))
    if "validation" in methods:
        train, valid = validation_split(data, validation_fraction, seed)
        lams, values, stuck = _widened(lambda g: logistic_validation_loss(train, valid, g, bias=bias), start,
                                       _argbest_edge(np.argmin), limits)
        picks["validation"] = Pick("validation", float(lams[int(np.argmin(values))]), lams, values,
                                   "validation log-loss", stuck is None, _NOTES.get(("validation", stuck), ""))
    if "cv" in methods:
        lams, values, stuck = _widened(lambda g: logistic_cv_curve(data, g, folds=folds, seed=seed, bias=bias),
                                       start, _argbest_edge(np.argmin), limits)
        picks["cv"] = Pick("cv", float(lams[int(np.argmin(values))]), lams, values, f"{folds}-fold CV log-loss",
                           stuck is None, _NOTES.get(("cv", stuck), ""))
    if "hyperprior" in methods:
        def log_post(lams):
            return log_evidence(lams) + log_hyperprior(lams, hyperprior)

        lams, values, stuck = _widened(log_post, start, _mass_edge, limits)
        unnorm = np.exp(values - values.max())
        u = np.log(lams)
        density = unnorm / integrate.trapezoid(unnorm, u)
        cdf = integrate.cumulative_trapezoid(density, u, initial=0.0)
        keep = np.concatenate([[True], np.diff(cdf) > 0])
        lo, med, hi = np.exp(np.interp([0.03, 0.5, 0.97], cdf[keep], u[keep]))
        picks["hyperprior"] = Pick("hyperprior", float(med), lams, density, "posterior density of ln λ (Laplace "
                                   "evidence)", stuck is None, _NOTES.get(("hyperprior", stuck), ""),
                                   (float(lo), float(hi)))
    return Selection(picks, data.n, data.d, None, None, bias, int(folds), int(seed), float(validation_fraction),
                     limits, likelihood="logistic")
