r"""Projection-predictive variable ranking for a Gaussian linear model (Piironen, Paasiniemi & Vehtari 2020).

The reference model is the full posterior: draws (w_s, b_s, σ_s), s = 1…S, with fitted values μ_s = Xw_s + b_s.
A submodel keeps the columns in a set M. Each draw is **projected** onto it, by minimising the Kullback–Leibler
divergence from the reference's predictive N(μ_s, σ_s²) at the observed X; for a Gaussian model that is least
squares on the fitted values and an inflated noise variance:

.. math:: (\beta_\perp, c_\perp)_s = \arg\min_{\beta, c} \|\mu_s - c - X_M\beta\|^2, \qquad
          \sigma_{\perp,s}^2 = \sigma_s^2 + \|\mu_s - \mu_{\perp,s}\|^2 / n,

and the divergence of draw s is ½ log(σ²_⊥,s / σ_s²) per observation (the means' term cancels at the optimum).

**Search.** Forward selection (projpred's default for this size): from the intercept alone (no intercept when the
model has no bias), add the column whose projection lowers the summed divergence Σ_s log σ²_⊥,s the most, up to
``max_size`` columns. Each step needs the residual norms of every candidate at once: with the residuals E (n × S)
of the current submodel and x̃_j the part of column j orthogonal to it, the new norms are ‖e_s‖² − (x̃_jᵀe_s)²/‖x̃_j‖²,
O(ndS) a step.

**Performance per size.** The projected draws of each submodel size give pointwise log predictive densities
log N(y_i | μ_⊥,s,i, σ²_⊥,s), read by ArviZ's PSIS-LOO (``az.loo``) beside the reference's own; the **suggested
size** is projpred's default rule, the smallest k whose elpd difference from the reference, plus one standard error
of that difference, reaches 0. The search saw all the data, so these elpds are optimistic for the later sizes.

**Validated search** (:func:`validate_search`, projpred's ``cv_varsel(cv_method = "kfold", validate_search =
TRUE)``): K-fold cross-validation of the whole procedure "fit the reference, search, keep the first k columns".
For each fold the reference is refitted on the other rows, the search is repeated there, and each size's projected
draws predict the held-out rows: elpd_k = Σ_i log (1/S) Σ_s N(y_i | μ_⊥,s,i, σ²_⊥,s) over every row, held out once;
the reference's own held-out elpd is its baseline, and the suggested size follows the same rule. Nothing of a
held-out row reaches the search that ranks it, so the later sizes are no longer optimistic; the price is K refits.
Standardised features are standardised again on each fold's training rows (``design``), so not even a held-out
row's share of a column's mean and sd reaches its fold; projpred, given a data frame the user standardised once,
lets that much through.

Written here because no maintained Python library projects this model: projpred is R, and kulprit projects bambi
models only.

Reference: J. Piironen, M. Paasiniemi & A. Vehtari (2020), *Projective inference in high-dimensional problems:
prediction and feature selection*, Electronic Journal of Statistics 14(1), 2155–2197.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .errors import SpecError

__all__ = ["project", "projection_ranking", "ProjectionRanking", "validate_search", "ValidatedSearch",
           "DEFAULT_MAX_SIZE", "DEFAULT_FOLDS"]

#: columns searched by default (projpred's nterms_max default is 19, below the number of columns)
DEFAULT_MAX_SIZE = 20
#: folds of the validated search by default (projpred's K for cv_method = "kfold")
DEFAULT_FOLDS = 5
#: a column whose part orthogonal to the current submodel has a norm below this fraction of its own is left out
_COLLINEAR = 1e-8


def _reference(w, b, sigma, X, bias: bool):
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    w = w.reshape(-1, w.shape[-1])
    if X.ndim != 2 or X.shape[1] != w.shape[1]:
        raise SpecError(f"X has shape {X.shape} but the draws have {w.shape[1]} weights")
    draws = w.shape[0]
    b = np.zeros(draws) if b is None else np.broadcast_to(np.asarray(b, dtype=np.float64).ravel(), (draws,))
    sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64).ravel(), (draws,))
    if not np.all(sigma > 0):
        raise SpecError("the noise sd σ of every draw must be positive")
    mu = X @ w.T + (b if bias else 0.0)                      # (n, S)
    return X, mu, sigma


def _spaced_draws(w, b, sigma, max_draws: int):
    """At most ``max_draws`` of the reference draws, evenly spaced: w (S, d), b (S,) or None, σ (S,)."""
    w = np.asarray(w, dtype=np.float64)
    w = w.reshape(-1, w.shape[-1])
    draws = w.shape[0]
    pick = np.unique(np.linspace(0, draws - 1, min(draws, max_draws)).round().astype(int))
    b = None if b is None else np.broadcast_to(np.asarray(b, dtype=np.float64).ravel(), (draws,))[pick]
    return w[pick], b, np.broadcast_to(np.asarray(sigma, dtype=np.float64).ravel(), (draws,))[pick]


def project(w, b, sigma, X, columns, *, bias: bool = True):
    """The projection of every reference draw onto the submodel with ``columns`` (module docstring):
    (β_⊥ (S, |M|), c_⊥ (S,), σ_⊥ (S,)); c_⊥ is 0 when ``bias`` is False."""
    X, mu, sigma = _reference(w, b, sigma, X, bias)
    return _project_fitted(X, mu, sigma, columns, bias)[:3]


def _project_fitted(X, mu, sigma, columns, bias: bool):
    """:func:`project` from the reference's fitted values μ (n, S): (β_⊥, c_⊥, σ_⊥, μ_⊥)."""
    n = X.shape[0]
    design = X[:, list(columns)]
    if bias:
        design = np.column_stack([design, np.ones(n)])
    coef = np.linalg.lstsq(design, mu, rcond=None)[0] if design.shape[1] else np.zeros((0, mu.shape[1]))
    mu_perp = design @ coef
    sigma_perp = np.sqrt(sigma**2 + np.sum((mu - mu_perp) ** 2, axis=0) / n)
    if bias:
        return coef[:-1].T, coef[-1], sigma_perp, mu_perp
    return coef.T, np.zeros(mu.shape[1]), sigma_perp, mu_perp


@dataclass(frozen=True)
class ProjectionRanking:
    """The forward search's order and, per submodel size k = 0…K (``sizes``): ``kl`` (mean over draws of the
    divergence per observation), ``elpd`` and ``elpd_se`` (PSIS-LOO of the projected draws), ``diff`` and
    ``diff_se`` (elpd_k − elpd of the reference, and the se of that difference), ``k_hat_over`` (observations with
    Pareto k̂ > 0.7); the reference's ``reference_elpd``; ``suggested_size`` (module docstring)."""

    names: tuple[str, ...]
    order: tuple[int, ...]
    kl: np.ndarray
    elpd: np.ndarray
    elpd_se: np.ndarray
    diff: np.ndarray
    diff_se: np.ndarray
    k_hat_over: np.ndarray
    reference_elpd: float
    reference_elpd_se: float
    suggested_size: int | None

    @property
    def ranked(self) -> tuple[str, ...]:
        return tuple(self.names[j] for j in self.order)

    def rows(self) -> list[dict]:
        """One row per size: the column added at that size (none at 0) and the figures."""
        return [{"size": k, "added": None if k == 0 else self.names[self.order[k - 1]], "kl": float(self.kl[k]),
                 "elpd_loo": float(self.elpd[k]), "se": float(self.elpd_se[k]), "diff": float(self.diff[k]),
                 "diff_se": float(self.diff_se[k]), "k_hat_over": int(self.k_hat_over[k])}
                for k in range(len(self.kl))]

    def to_dict(self) -> dict:
        return {"method": "projection predictive, forward search (Piironen, Paasiniemi & Vehtari 2020)",
                "ranking": list(self.ranked), "suggested_size": self.suggested_size,
                "suggested": list(self.ranked[: self.suggested_size or 0]),
                "rule": "smallest size whose elpd_loo difference from the reference + 1 se ≥ 0",
                "reference_elpd_loo": self.reference_elpd, "reference_se": self.reference_elpd_se,
                "caveat": "the search saw all the data: elpd of the later sizes is optimistic",
                "sizes": self.rows()}


def _search(X, mu, sigma, bias: bool, max_size: int) -> list[int]:
    n, d = X.shape
    base = np.ones((n, 1)) / np.sqrt(n) if bias else np.zeros((n, 0))
    resid = mu - base @ (base.T @ mu)
    norms = np.sum(resid**2, axis=0)
    col_norm = np.sqrt(np.sum(X**2, axis=0))
    order: list[int] = []
    for _ in range(max_size):
        tilde = X - base @ (base.T @ X)                     # columns orthogonal to the current submodel
        length = np.sqrt(np.sum(tilde**2, axis=0))
        usable = length > _COLLINEAR * np.maximum(col_norm, 1e-300)
        usable[order] = False
        if not usable.any():
            break
        proj = (tilde[:, usable].T @ resid) / length[usable, None]          # (candidates, S)
        new = np.maximum(norms[None, :] - proj**2, 0.0)
        score = np.sum(np.log(sigma[None, :] ** 2 + new / n), axis=1)
        pick = int(np.flatnonzero(usable)[np.argmin(score)])
        q = tilde[:, pick] / length[pick]
        resid = resid - np.outer(q, q @ resid)
        norms = np.sum(resid**2, axis=0)
        base = np.column_stack([base, q])
        order.append(pick)
    return order


def _pointwise(y, mu_perp, sigma_perp) -> np.ndarray:
    """log N(y_i | μ_⊥,s,i, σ²_⊥,s), shape (S, n)."""
    z = (y[None, :] - mu_perp.T) / sigma_perp[:, None]
    return -0.5 * z * z - np.log(sigma_perp)[:, None] - 0.5 * np.log(2 * np.pi)


def _loo(pointwise: np.ndarray):
    import arviz as az

    ll = pointwise[None, :, :]
    idata = az.from_dict(posterior={"_": np.zeros(ll.shape[:2])}, log_likelihood={"y": ll})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the k̂ warning: counted and reported instead
        res = az.loo(idata, pointwise=True)
    return float(res.elpd_loo), float(res.se), np.asarray(res.loo_i), int(np.sum(np.asarray(res.pareto_k) > 0.7))


def projection_ranking(w, b, sigma, X, y, *, names=None, bias: bool = True, max_size: int | None = None,
                       max_draws: int = 1000) -> ProjectionRanking:
    """Rank the columns of ``X`` by forward projection search from the reference draws (w (…, d), b, σ: arrays of
    draws or one fixed value) and read each size's predictive performance (module docstring). At most
    ``max_draws`` reference draws are used, evenly spaced (the projection is per draw; 1000 are plenty for the
    ranking); ``max_size`` defaults to min(DEFAULT_MAX_SIZE, d, rows − 2)."""
    w, b_arr, s_arr = _spaced_draws(w, b, sigma, max_draws)
    X, mu, s_arr = _reference(w, b_arr, s_arr, X, bias)
    y = np.asarray(y, dtype=np.float64).ravel()
    n, d = X.shape
    if y.shape[0] != n:
        raise SpecError(f"y has {y.shape[0]} values but X has {n} rows")
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(d))
    if len(names) != d:
        raise SpecError(f"{len(names)} names for {d} weights")
    limit = min(DEFAULT_MAX_SIZE if max_size is None else int(max_size), d, max(n - 2, 0))
    if limit < 1:
        raise SpecError(f"max_size must be at least 1 and the data need ≥ 3 rows, got max_size {max_size}, n {n}")
    order = _search(X, mu, s_arr, bias, limit)
    ref_elpd, ref_se, ref_i, _ = _loo(_pointwise(y, mu, s_arr))
    kl, elpd, se, diff, diff_se, over = [], [], [], [], [], []
    for k in range(len(order) + 1):
        _, _, s_perp, mu_perp = _project_fitted(X, mu, s_arr, order[:k], bias)
        kl.append(float(np.mean(np.log(s_perp / s_arr))))
        e, e_se, e_i, e_over = _loo(_pointwise(y, mu_perp, s_perp))
        elpd.append(e)
        se.append(e_se)
        diff.append(e - ref_elpd)
        diff_se.append(float(np.sqrt(n) * np.std(e_i - ref_i)))
        over.append(e_over)
    diff_arr, diff_se_arr = np.array(diff), np.array(diff_se)
    reached = np.flatnonzero(diff_arr + diff_se_arr >= 0)
    suggested = int(reached[0]) if reached.size else None
    return ProjectionRanking(names, tuple(order), np.array(kl), np.array(elpd), np.array(se), diff_arr, diff_se_arr,
                             np.array(over), ref_elpd, ref_se, suggested)


@dataclass(frozen=True)
class ValidatedSearch:
    """K-fold cross-validation of the search (module docstring), per submodel size k = 0…K (``sizes``): ``elpd``
    and ``elpd_se`` (held-out elpd of the projected draws), ``diff`` and ``diff_se`` (elpd_k − the reference's
    held-out elpd, and the se of that difference, from the paired pointwise values); ``reference_elpd``;
    ``suggested_size``; ``fold_orders`` (each fold's own search); ``stability[k − 1]``, the share of folds whose
    first k columns hold the full-data search's k-th (projpred's cumulated ``cv_proportions``)."""

    folds: int
    seed: int
    elpd: np.ndarray
    elpd_se: np.ndarray
    diff: np.ndarray
    diff_se: np.ndarray
    reference_elpd: float
    reference_elpd_se: float
    suggested_size: int | None
    fold_orders: tuple[tuple[int, ...], ...]
    stability: np.ndarray

    def to_dict(self, ranking: ProjectionRanking) -> dict:
        """The validated figures beside the full-data search's order (``ranking``, the search being validated)."""
        sizes = [{"size": k, "added": None if k == 0 else ranking.names[ranking.order[k - 1]],
                  "elpd_kfold": float(self.elpd[k]), "se": float(self.elpd_se[k]), "diff": float(self.diff[k]),
                  "diff_se": float(self.diff_se[k]),
                  "stability": None if k == 0 else float(self.stability[k - 1])} for k in range(len(self.elpd))]
        return {"method": f"{self.folds}-fold cross-validation of the search (seeded KFold with shuffling, seed "
                          f"{self.seed}): the reference refitted and the search repeated on each fold's training rows",
                "suggested_size": self.suggested_size,
                "suggested": list(ranking.ranked[: self.suggested_size or 0]),
                "rule": "smallest size whose held-out elpd difference from the reference + 1 se ≥ 0",
                "reference_elpd_kfold": self.reference_elpd, "reference_se": self.reference_elpd_se,
                "stability": "the share of folds whose first k columns hold the k-th column of the full-data search",
                "fold_rankings": [[ranking.names[j] for j in order] for order in self.fold_orders],
                "sizes": sizes}


def _held_out(y, mu, sigma) -> np.ndarray:
    """log (1/S) Σ_s N(y_i | μ_s,i, σ_s²) for each held-out row (μ is (rows, S))."""
    from scipy.special import logsumexp

    return logsumexp(_pointwise(y, mu, sigma), axis=0) - np.log(mu.shape[1])


def validate_search(ranking: ProjectionRanking, refit, X, y, *, bias: bool = True, folds: int = DEFAULT_FOLDS,
                    seed: int = 0, max_draws: int = 1000, progress=None, design=None) -> ValidatedSearch:
    """K-fold cross-validation of the projection search that produced ``ranking`` (module docstring).

    ``refit(rows, X_fold)`` fits the reference model on ``X_fold[rows]``, ``y[rows]`` and returns its draws (w
    (…, d), b or None, σ: draws or one value), as :func:`projection_ranking` takes them; it is called once per
    fold. ``X_fold`` is ``X`` itself unless ``design`` is given: then ``design(rows)`` returns every row's
    features (n × d) as a fit on those rows alone builds them, e.g. standardised with those rows' means and sds,
    and the fold's refit, search and held-out predictions all read that matrix, so no held-out row shapes the
    columns of its own fold. The folds are scikit-learn's ``KFold(folds, shuffle=True, random_state=seed)``;
    each fold searches up to as many columns as ``ranking`` (fewer when its training rows allow fewer), and the
    sizes reported are those every fold reached. ``progress(fold, folds)`` is called as folds finish."""
    from sklearn.model_selection import KFold

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    n, d = X.shape
    if y.shape[0] != n:
        raise SpecError(f"y has {y.shape[0]} values but X has {n} rows")
    if d != len(ranking.names):
        raise SpecError(f"X has {d} columns but the ranking has {len(ranking.names)}")
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or not 2 <= folds <= n:
        raise SpecError(f"the validated search needs 2 ≤ folds ≤ rows ({n}), got {folds!r}")
    limit = len(ranking.order)
    lpd = np.full((limit + 1, n), np.nan)
    reference = np.empty(n)
    orders = []
    for number, (train, test) in enumerate(KFold(int(folds), shuffle=True, random_state=seed).split(X), start=1):
        X_fold = X if design is None else np.asarray(design(train), dtype=np.float64)
        if X_fold.shape != X.shape:
            raise SpecError(f"design(rows) gave a {X_fold.shape} matrix for the {X.shape} features")
        w, b, sigma = refit(train, X_fold)
        w, b_arr, s_arr = _spaced_draws(w, b if bias else None, sigma, max_draws)
        b_arr = np.zeros(len(w)) if b_arr is None else b_arr
        X_train, mu, s_arr = _reference(w, b_arr, s_arr, X_fold[train], bias)
        order = _search(X_train, mu, s_arr, bias, min(limit, max(len(train) - 2, 0)))
        orders.append(tuple(order))
        held = X_fold[test]
        reference[test] = _held_out(y[test], held @ w.T + b_arr, s_arr)
        for k in range(len(order) + 1):
            coef, c, s_perp, _ = _project_fitted(X_train, mu, s_arr, order[:k], bias)
            lpd[k, test] = _held_out(y[test], held[:, order[:k]] @ coef.T + c, s_perp)
        if progress is not None:
            progress(number, folds)
    size = min(len(o) for o in orders)
    lpd = lpd[: size + 1]
    diff_i = lpd - reference
    diff, diff_se = diff_i.sum(1), np.sqrt(n) * diff_i.std(1)
    reached = np.flatnonzero(diff + diff_se >= 0)
    stability = np.array([np.mean([ranking.order[k] in o[: k + 1] for o in orders]) for k in range(size)])
    return ValidatedSearch(int(folds), int(seed), lpd.sum(1), np.sqrt(n) * lpd.std(1), diff, diff_se,
                           float(reference.sum()), float(np.sqrt(n) * reference.std()),
                           int(reached[0]) if reached.size else None, tuple(orders), stability)
