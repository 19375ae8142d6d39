r"""Choosing the L2 strength λ four ways: empirical Bayes, a validation set, K-fold cross-validation, a hyperprior.

Everything is in the canonical convention (``CONVENTIONS.md``): the MAP at λ minimises

.. math:: J_\lambda(w, b) = \tfrac12 \sum_i (y_i - x_i^\top w - b)^2 + \tfrac{\lambda}{2}\|w\|^2,

which is the posterior mode under :math:`w \sim N(0, \tau^2 I)`, noise :math:`N(0, \sigma^2)`, with
:math:`\lambda = \sigma^2/\tau^2` (scikit-learn ``Ridge(alpha=λ)``). The bias b is ``"flat"`` (unpenalised, an
improper uniform prior, integrated out against density 1 in the evidence) or ``"none"`` (b = 0).

* **Empirical Bayes** (type-II maximum likelihood, MacKay 1992): maximise the evidence
  :math:`p(y \mid \tau, \sigma) = \int N(y \mid Xw + b, \sigma^2 I)\, N(w \mid 0, \tau^2 I)\, db\, dw`
  (:func:`bayesreg.infer.conjugate.gaussian_posterior`'s ``log_evidence``) over (τ, σ), or over τ with σ known.
  At fixed λ the maximiser over σ is closed form, :math:`\hat\sigma^2(\lambda) = 2 J_\lambda(\hat w, \hat b) / n'`
  with n' = n − 1 for a flat bias (one degree of freedom goes to b) and n' = n without, so the search is 1-D over
  log λ (:func:`maximise_evidence`, :func:`evidence_curve`).
* **A validation set**: the MAP on the training rows at each λ, its mean squared error on held-out rows, argmin
  (:func:`validation_curve`).
* **K-fold cross-validation**: the same over scikit-learn ``KFold`` splits, the fold MSEs averaged with equal
  weights as ``GridSearchCV`` does (:func:`cv_curve`).
* **A hyperprior**: the posterior :math:`p(\lambda \mid y) \propto p(y \mid \lambda)\, p(\lambda)` on a grid of
  log λ, σ either known or integrated out under the conjugate form :math:`w \mid \sigma \sim N(0, \sigma^2/\lambda)`,
  :math:`\sigma^2 \sim \mathrm{InvGamma}(a_0, b_0)` (:func:`bayesreg.infer.conjugate.nig_posterior`'s
  ``log_evidence``) (:func:`lambda_posterior`).

These are functions of the data; nothing here prints, plots or writes files.

References: MacKay (1992), "Bayesian interpolation", *Neural Computation* 4(3); Bishop (2006), *Pattern Recognition
and Machine Learning*, §3.5; Tipping (2001), the updates scikit-learn's ``BayesianRidge`` runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize

from .data import Dataset
from .errors import DataError, SpecError
from .infer.conjugate import gaussian_posterior, nig_posterior
from .priors import ConjugateGaussian, Gaussian, parse_sigma_prior, positive
from .solvers.closed_form import ridge
from .solvers.objective import PenalizedLeastSquares
from .suffstats import SufficientStats, resolve_data

__all__ = [
    "EvidenceCurve",
    "EvidenceMax",
    "LossCurve",
    "LambdaPosterior",
    "lambda_grid",
    "evidence_curve",
    "maximise_evidence",
    "validation_curve",
    "cv_curve",
    "cv_splits",
    "default_sigma_prior",
    "log_marginal_lambda",
    "lambda_posterior",
    "log_hyperprior",
    "select_lambda",
    "check_selection_options",
    "validation_split",
    "Selection",
    "Pick",
    "SELECTION_METHODS",
]

_BIASES = ("flat", "none")


# ----------------------------------------------------------------------------------------------- results

@dataclass(frozen=True)
class EvidenceCurve:
    """log p(y | λ) over a grid of canonical λ.

    With σ known, ``log_evidence[i]`` is log p(y | τ = σ/√λᵢ, σ) and ``sigma`` is σ at every point; with σ
    unknown it is the profile max_σ log p(y | τ = σ/√λᵢ, σ) and ``sigma`` holds the maximiser σ̂(λᵢ).
    """

    lams: np.ndarray
    log_evidence: np.ndarray
    sigma: np.ndarray
    sigma_known: bool
    bias: str

    @property
    def tau(self) -> np.ndarray:
        """The prior sd each λ means: τ = σ/√λ (σ̂(λ) when σ is profiled)."""
        return self.sigma / np.sqrt(self.lams)


@dataclass(frozen=True)
class EvidenceMax:
    """The empirical-Bayes choice: canonical λ = σ²/τ² maximising the evidence, with τ, σ and log p(y | τ, σ).

    ``at_boundary`` is True when the maximum lies at an end of the search range ``bounds`` (the evidence keeps
    rising towards λ → 0 or λ → ∞ there, so no finite interior maximiser was found).
    """

    lam: float
    tau: float
    sigma: float
    log_evidence: float
    sigma_known: bool
    bias: str
    at_boundary: bool
    bounds: tuple[float, float]


@dataclass(frozen=True)
class LossCurve:
    """Held-out mean squared error of the MAP against canonical λ, and the λ that minimises it on the grid.

    ``fold_loss`` is (folds, len(lams)) for cross-validation (``loss`` is its mean over folds) and (1, len(lams))
    for a single validation set.
    """

    lams: np.ndarray
    loss: np.ndarray
    fold_loss: np.ndarray
    method: str

    @property
    def index(self) -> int:
        return int(np.argmin(self.loss))

    @property
    def lam(self) -> float:
        """The grid λ with the smallest held-out loss (the first, on ties)."""
        return float(self.lams[self.index])

    @property
    def at_boundary(self) -> bool:
        return self.index in (0, len(self.lams) - 1)


@dataclass(frozen=True)
class LambdaPosterior:
    r"""The posterior over canonical λ on a grid, as a density in ln λ (so it integrates to 1 over ``ln(lams)``).

    ``log_marginal`` is log p(y | λ) (σ known: the Gaussian evidence at τ = σ/√λ; σ unknown: the NIG evidence
    with σ² ~ ``sigma_prior``), ``log_prior`` the hyperprior's log density in ln λ; ``density`` ∝
    exp(log_marginal + log_prior), normalised by the trapezoid rule.
    """

    lams: np.ndarray
    density: np.ndarray
    log_marginal: np.ndarray
    log_prior: np.ndarray
    hyperprior: str
    sigma_prior: str | None
    sigma: float | None
    bias: str

    @property
    def cdf(self) -> np.ndarray:
        """P(λ ≤ lams[i] | y), trapezoid rule in ln λ."""
        return integrate.cumulative_trapezoid(self.density, np.log(self.lams), initial=0.0)

    def quantile(self, q) -> np.ndarray | float:
        """λ at posterior probability ``q`` (linear interpolation of the CDF in ln λ)."""
        cdf = self.cdf
        keep = np.concatenate([[True], np.diff(cdf) > 0])  # strictly increasing for interpolation
        out = np.exp(np.interp(q, cdf[keep], np.log(self.lams[keep])))
        return float(out) if np.ndim(out) == 0 else out

    @property
    def median(self) -> float:
        return self.quantile(0.5)

    @property
    def mode(self) -> float:
        """The grid λ with the highest density in ln λ."""
        return float(self.lams[int(np.argmax(self.density))])

    def interval(self, prob: float = 0.94) -> tuple[float, float]:
        """Equal-tailed ``prob`` credible interval of λ."""
        if not 0.0 < prob < 1.0:
            raise SpecError(f"prob must be strictly between 0 and 1, got {prob}")
        lo, hi = self.quantile([(1.0 - prob) / 2.0, (1.0 + prob) / 2.0])
        return float(lo), float(hi)

    def edge_mass(self, fraction: float = 0.05) -> float:
        """Posterior probability in the outer ``fraction`` of the ln λ range at either end: large when the grid
        (the support of a log-uniform hyperprior) cuts the posterior off."""
        u = np.log(self.lams)
        width = fraction * (u[-1] - u[0])
        cdf = self.cdf
        return max(float(np.interp(u[0] + width, u, cdf) + 1.0 - np.interp(u[-1] - width, u, cdf)), 0.0)


# -------------------------------------------------------------------------------------------- validation

def _check_bias(bias) -> str:
    if bias not in _BIASES:
        raise SpecError(f"bias must be 'flat' (unpenalised intercept) or 'none' (no intercept), got {bias!r}")
    return bias


def _check_lams(lams, *, minimum: int = 1) -> np.ndarray:
    try:
        arr = np.asarray(lams, dtype=np.float64)
    except (TypeError, ValueError):
        raise SpecError(f"lams must be a 1-D array of canonical λ values, got {lams!r}") from None
    if arr.ndim != 1 or arr.size < minimum:
        raise SpecError(f"lams must be a 1-D array of at least {minimum} canonical λ value(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        bad = arr[~(np.isfinite(arr) & (arr > 0))][0]
        raise SpecError(
            f"every λ must be a positive finite number (λ = 0 is the improper flat prior, λ < 0 is no prior), "
            f"got {bad}; use a grid such as np.geomspace(1e-3, 1e3, 61)"
        )
    if arr.size > 1 and np.any(np.diff(arr) <= 0):
        raise SpecError("lams must be strictly increasing; sort them (np.unique) first")
    return arr


def _stats_and_rows(data, y=None) -> tuple[SufficientStats, Dataset | None]:
    resolved, _ = resolve_data(data, y)
    if isinstance(resolved, SufficientStats):
        return resolved, None
    return SufficientStats.from_arrays(resolved.X, resolved.y), resolved


def _evidence_data(data, y=None) -> tuple[SufficientStats, Dataset | None]:
    """The data for the evidence, reduced to min(n, d) columns when d > n and the rows are at hand.

    w ~ N(0, τ²I) is isotropic, so Xw ~ N(0, τ²XXᵀ) and every evidence here depends on X only through XXᵀ
    (with a flat bias, through X_cX_cᵀ, X_c = X − 1x̄ᵀ, whose rows lie in X's row space). With the thin SVD
    X = U S Vᵀ, X̃ = U S = X V has X̃X̃ᵀ = XXᵀ and X̃_cX̃_cᵀ = X_cX_cᵀ: the same evidence, σ̂ and λ, from an n × n
    problem instead of d × d (the MAP lies in the row space, so its residuals and ‖w‖ are the same too).
    """
    stats, rows = _stats_and_rows(data, y)
    if rows is None or rows.d <= rows.n:
        return stats, rows
    U, S, _ = np.linalg.svd(rows.X, full_matrices=False)
    reduced = Dataset(U * S, rows.y, tuple(f"u{j}" for j in range(len(S))), rows.target_name, rows.name)
    return SufficientStats.from_arrays(reduced.X, reduced.y), reduced


def _rows(data, y=None, what: str = "data") -> Dataset:
    resolved, _ = resolve_data(data, y)
    if isinstance(resolved, SufficientStats):
        raise SpecError(f"the {what} needs the data rows, not sufficient statistics")
    return resolved


def _n_eff(stats: SufficientStats, bias: str) -> int:
    """n' = n − 1 for a flat bias (integrated out), n without one."""
    n_eff = stats.n - (1 if bias == "flat" else 0)
    if n_eff < 1:
        raise DataError(f"the evidence needs at least {2 if bias == 'flat' else 1} rows, got {stats.n}")
    return n_eff


def lambda_grid(data, y=None, *, num: int = 161, decades: float = 8.0) -> np.ndarray:
    """A log-spaced grid of canonical λ centred on the data's scale: ``num`` points over ``c·10^±decades``.

    c = tr(S_xx)/d, the mean centred sum of squares of a column: λ is compared with the eigenvalues of the
    (centred) Gram matrix, so c·10^−k leaves the data in charge and c·10^k shrinks w to 0.
    """
    stats, _ = _stats_and_rows(data, y)
    if num < 2:
        raise SpecError(f"num must be at least 2, got {num}")
    decades = positive(decades, "decades")
    scale = float(np.trace(stats.sxx)) / stats.d
    if not (math.isfinite(scale) and scale > 0):
        raise DataError("every feature column is constant: λ has nothing to act on")
    return np.geomspace(scale * 10.0**-decades, scale * 10.0**decades, int(num))


# ---------------------------------------------------------------------------------------- empirical Bayes

def _sum_squares(stats: SufficientStats, rows: Dataset | None, w: np.ndarray, b: float | None) -> float:
    """Σ (yᵢ − xᵢᵀw − b)², from the rows when at hand (no cancellation), else from the sufficient statistics."""
    if rows is not None:
        r = rows.y - rows.X @ w - (b or 0.0)
        return float(r @ r)
    if b is None:
        return max(stats.yty - 2.0 * float(w @ stats.xty) + float(w @ stats.xtx @ w), 0.0)
    c = b + float(stats.x_mean @ w)
    return max(stats.syy - 2.0 * float(w @ stats.sxy) + float(w @ stats.sxx @ w) + stats.n * (stats.y_mean - c) ** 2,
               0.0)


def _log_evidence(stats, rows, lam: float, sigma: float | None, bias: str, sigma_ref: float) -> tuple[float, float]:
    """(log p(y | τ = σ/√λ, σ), σ) at one λ; σ = σ̂(λ) when ``sigma`` is None.

    The posterior mean, and so J_λ at the MAP, does not depend on σ at fixed λ, and at fixed λ
    log p(y | λ, σ) = C(λ) − ½[n' log σ² + 2J/σ²]: one evaluation at σ_ref gives C(λ), and σ̂² = 2J/n'.
    """
    if sigma is not None:
        post = gaussian_posterior(stats, prior=Gaussian(sigma / math.sqrt(lam)), sigma=sigma, bias=bias)
        return post.log_evidence, sigma
    post = gaussian_posterior(stats, prior=Gaussian(sigma_ref / math.sqrt(lam)), sigma=sigma_ref, bias=bias)
    w = post.w_mean
    two_j = _sum_squares(stats, rows, w, post.b_mean) + lam * float(w @ w)
    n_eff = _n_eff(stats, bias)
    s2_hat = two_j / n_eff
    if not s2_hat > 0:
        raise DataError("the MAP fits the data exactly (zero residual, zero weights): σ̂ = 0, the evidence is unbounded")
    s2_ref = sigma_ref**2
    shift = -0.5 * (n_eff * math.log(s2_hat / s2_ref) + n_eff - two_j / s2_ref)
    return post.log_evidence + shift, math.sqrt(s2_hat)


def _sigma_ref(stats: SufficientStats) -> float:
    sd = math.sqrt(stats.syy / max(stats.n - 1, 1))
    return sd if sd > 0 else 1.0


def _em_gap(u: float, stats, rows, sigma, bias: str, ref: float) -> float:
    """ln(E‖w‖²/d) − ln τ² at λ = e^u (σ known or σ̂(λ)): zero at a stationary point of the evidence."""
    lam = math.exp(u)
    _, s = _log_evidence(stats, rows, lam, sigma, bias, ref)
    tau = s / math.sqrt(lam)
    post = gaussian_posterior(stats, prior=Gaussian(tau), sigma=s, bias=bias)
    d = stats.d
    ew2 = float(post.w_mean @ post.w_mean) + float(np.trace(post.cov[:d, :d]))
    return math.log(ew2 / d) - 2.0 * math.log(tau)


def _refine(stats, rows, u3: np.ndarray, sigma, bias: str, ref: float, xatol: float, best_value: float) -> float:
    """The maximiser of the evidence in ln λ between u3[0] and u3[2] (u3[1] the best grid point): the root of
    :func:`_em_gap`, or Brent's maximisation of the value if the gap does not change sign there."""
    lo, hi = float(u3[0]), float(u3[2])
    g_lo, g_hi = _em_gap(lo, stats, rows, sigma, bias, ref), _em_gap(hi, stats, rows, sigma, bias, ref)
    if g_lo * g_hi < 0:
        u = optimize.brentq(_em_gap, lo, hi, args=(stats, rows, sigma, bias, ref), xtol=xatol, rtol=1e-15)
    else:
        res = optimize.minimize_scalar(lambda v: -_log_evidence(stats, rows, math.exp(v), sigma, bias, ref)[0],
                                       bounds=(lo, hi), method="bounded", options={"xatol": xatol})
        u = float(res.x)
    if _log_evidence(stats, rows, math.exp(u), sigma, bias, ref)[0] < best_value:
        return math.exp(float(u3[1]))  # never worse than the grid
    return math.exp(u)


def evidence_curve(data, lams, y=None, *, sigma: float | None = None, bias: str = "flat") -> EvidenceCurve:
    r"""The log evidence against canonical λ, σ known or profiled out.

    .. math::

        \log p(y \mid \lambda) = \log N\big(y \mid b\mathbf 1,\; \sigma^2 (I + X X^\top/\lambda)\big)
        \quad (\tau^2 = \sigma^2/\lambda),

    b integrated out against density 1 for a flat bias. With ``sigma=None`` each point is maximised over σ:
    :math:`\hat\sigma^2(\lambda) = \min_{w,b} 2J_\lambda(w, b) / n'` (n' = n − 1 for a flat bias, n for none),
    the same as :math:`y_c^\top (I + X_c X_c^\top/\lambda)^{-1} y_c / n'` on centred data.

    Parameters
    ----------
    data
        A :class:`~bayesreg.data.Dataset`, :class:`~bayesreg.suffstats.SufficientStats`, or X with ``y``.
    lams
        Strictly increasing positive canonical λ values.
    sigma
        The noise sd if known; None profiles it.
    bias
        ``"flat"`` or ``"none"``.

    Examples
    --------
    >>> from bayesreg.data import load_diabetes
    >>> curve = evidence_curve(load_diabetes(), [0.01, 0.0336, 0.1])
    >>> int(np.argmax(curve.log_evidence)), round(float(curve.sigma[1]), 2)
    (1, 54.21)
    """
    lams = _check_lams(lams)
    bias = _check_bias(bias)
    stats, rows = _evidence_data(data, y)
    if sigma is not None:
        sigma = positive(sigma, "sigma (the noise standard deviation)")
    ref = _sigma_ref(stats)
    pairs = [_log_evidence(stats, rows, float(lam), sigma, bias, ref) for lam in lams]
    return EvidenceCurve(lams, np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]),
                         sigma is not None, bias)


def maximise_evidence(data, y=None, *, sigma: float | None = None, bias: str = "flat", lams=None,
                      xatol: float = 1e-10) -> EvidenceMax:
    r"""Empirical Bayes: the (τ, σ) maximising the evidence p(y | τ, σ), reported as canonical λ = σ²/τ².

    .. math::

        (\hat\tau, \hat\sigma) = \arg\max_{\tau, \sigma}\; \log N\big(y \mid b\mathbf 1,\;
        \sigma^2 I + \tau^2 X X^\top\big),

    b integrated out for a flat bias; with ``sigma`` given only τ is free. σ is profiled in closed form (see
    :func:`evidence_curve`) and the profile is evaluated on ``lams`` (default :func:`lambda_grid`). Between the
    neighbours of the best grid point the maximum is then found as the root of its stationarity condition, the
    EM fixed point (Fisher's identity, MacKay's γ = λ‖m‖²/σ²)

    .. math:: \tau^2 = \mathbb E[\|w\|^2 \mid y, \tau, \hat\sigma]/d = (\|m_w\|^2 + \operatorname{tr}\Sigma_{ww})/d,

    by Brent's method in ln λ (``xtol`` = ``xatol``): a root is located to round-off, where maximising the value
    itself stops at ~√ε relative because the evidence is flat at its top.

    This is the fixed point scikit-learn's ``BayesianRidge`` iterates to with its Gamma hyperpriors set to 0
    (``lambda_/alpha_`` is our λ) on centred data with ``bias="none"``: ``BayesianRidge`` centres X and y and then
    counts n observations, where integrating out a flat bias leaves n − 1.

    Examples
    --------
    >>> from bayesreg.data import load_diabetes
    >>> best = maximise_evidence(load_diabetes())
    >>> round(best.lam, 4), round(best.sigma, 2), round(best.tau, 1)
    (0.0337, 54.21, 295.3)
    """
    bias = _check_bias(bias)
    stats, rows = _evidence_data(data, y)
    lams = lambda_grid(data, y) if lams is None else _check_lams(lams, minimum=3)
    if sigma is not None:
        sigma = positive(sigma, "sigma (the noise standard deviation)")
    ref = _sigma_ref(stats)
    curve = evidence_curve(stats if rows is None else rows, lams, sigma=sigma, bias=bias)
    i = int(np.argmax(curve.log_evidence))
    at_boundary = i in (0, len(lams) - 1)
    lam = float(lams[i])
    if not at_boundary:
        lam = _refine(stats, rows, np.log(lams[i - 1 : i + 2]), sigma, bias, ref, xatol, curve.log_evidence[i])
    log_ev, sig = _log_evidence(stats, rows, lam, sigma, bias, ref)
    return EvidenceMax(lam, sig / math.sqrt(lam), sig, float(log_ev), sigma is not None, bias, at_boundary,
                       (float(lams[0]), float(lams[-1])))


# ------------------------------------------------------------------------------ validation set and K-fold CV

def _map_predict(train: Dataset, lam: float, bias: str, X: np.ndarray) -> np.ndarray:
    res = ridge(train.X, train.y, PenalizedLeastSquares(l2=lam, bias=bias))
    return X @ res.w + (res.b or 0.0)


def _held_out_mse(train: Dataset, valid: Dataset, lams: np.ndarray, bias: str) -> np.ndarray:
    if train.d != valid.d:
        raise DataError(f"the training rows have {train.d} features and the held-out rows {valid.d}")
    out = np.empty(len(lams))
    for k, lam in enumerate(lams):
        r = valid.y - _map_predict(train, float(lam), bias, valid.X)
        out[k] = float(np.mean(r * r))
    return out


def validation_curve(train, valid, lams, *, bias: str = "flat") -> LossCurve:
    r"""Validation-set choice: for each canonical λ the MAP on ``train``, its mean squared error on ``valid``.

    .. math::

        \mathrm{MSE}(\lambda) = \frac{1}{n_{\mathrm{val}}} \sum_{i \in \mathrm{val}}
        \big(y_i - x_i^\top \hat w_\lambda - \hat b_\lambda\big)^2,\qquad
        (\hat w_\lambda, \hat b_\lambda) = \arg\min_{w,b} J_\lambda(w, b) \text{ on } \mathrm{train},

    the exact ridge solution (:func:`bayesreg.solvers.closed_form.ridge`); the pick is the grid argmin.
    """
    lams = _check_lams(lams)
    bias = _check_bias(bias)
    train, valid = _rows(train, what="validation curve"), _rows(valid, what="validation curve")
    loss = _held_out_mse(train, valid, lams, bias)
    return LossCurve(lams, loss, loss[None, :], "validation")


def cv_splits(n: int, folds: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's ``KFold(folds, shuffle=True, random_state=seed)`` splits of n rows: (train, test) indices."""
    from sklearn.model_selection import KFold

    if not isinstance(folds, int | np.integer) or folds < 2:
        raise SpecError(f"folds must be an integer ≥ 2, got {folds!r}")
    if folds > n:
        raise DataError(f"{folds}-fold cross-validation needs at least {folds} rows, got {n}")
    return list(KFold(int(folds), shuffle=True, random_state=seed).split(np.zeros((n, 1))))


def cv_curve(data, lams, y=None, *, folds: int = 5, seed: int = 0, bias: str = "flat") -> LossCurve:
    r"""K-fold cross-validation: the held-out MSE of the MAP averaged over the folds, for each canonical λ.

    .. math::

        \mathrm{CV}(\lambda) = \frac1K \sum_{k=1}^K \frac{1}{|F_k|} \sum_{i \in F_k}
        \big(y_i - x_i^\top \hat w^{(-k)}_\lambda - \hat b^{(-k)}_\lambda\big)^2,

    :math:`\hat w^{(-k)}_\lambda` the exact MAP without fold k, the folds from ``KFold(folds, shuffle=True,
    random_state=seed)``. Equal fold weights, as ``GridSearchCV(Ridge(), {"alpha": lams},
    scoring="neg_mean_squared_error")`` averages (its ``alpha`` is our λ); the pick is the grid argmin.
    """
    lams = _check_lams(lams)
    bias = _check_bias(bias)
    rows = _rows(data, y, what="cross-validation curve")
    fold_loss = []
    for train_idx, test_idx in cv_splits(rows.n, folds, seed):
        train = Dataset(rows.X[train_idx], rows.y[train_idx], rows.feature_names, rows.target_name, rows.name)
        test = Dataset(rows.X[test_idx], rows.y[test_idx], rows.feature_names, rows.target_name, rows.name)
        fold_loss.append(_held_out_mse(train, test, lams, bias))
    fold_loss = np.array(fold_loss)
    return LossCurve(lams, fold_loss.mean(axis=0), fold_loss, f"{folds}-fold CV")


# ------------------------------------------------------------------------------------------------ hyperprior

def default_sigma_prior(data, y=None) -> str:
    r"""A weak conjugate prior on σ²: ``invgamma:0.01,B`` with B = 0.01·s²_y (s²_y the sample variance of y).

    InvGamma(a₀, b₀) adds 2a₀ = 0.02 pseudo-observations of variance b₀/a₀ = s²_y to the data, which any real
    data set overwhelms; scaling b₀ with the data keeps it weak whatever the units of y (a fixed
    ``invgamma:0.001,0.001`` is far from weak when σ² is 10⁻⁴, as on the d2l problem).
    """
    stats, _ = _stats_and_rows(data, y)
    var = stats.syy / max(stats.n - 1, 1)
    if not var > 0:
        raise DataError("y is constant: there is no noise scale to put a prior on")
    return f"invgamma:0.01,{0.01 * var:.17g}"


def log_hyperprior(lams, hyperprior: str = "loguniform") -> np.ndarray:
    r"""Log density of the hyperprior in ln λ, up to a constant for ``loguniform``.

    * ``"loguniform"``: ln λ uniform over the grid (the grid's range is the prior's support);
    * ``"halfcauchy:S"``: τ/σ = λ^(−1/2) ~ HalfCauchy(S), a proper prior on the prior-to-noise scale ratio
      (Gelman 2006; Polson & Scott 2012). With u = λ^(−1/2), p(ln λ) = ½ u p_HC(u) = u S / (π (S² + u²)).
    """
    lams = _check_lams(lams)
    kind, _, rest = str(hyperprior).strip().lower().partition(":")
    if kind == "loguniform" and not rest:
        return np.zeros(len(lams))
    if kind == "halfcauchy" and rest:
        try:
            s = positive(float(rest), "the half-Cauchy scale S")
        except ValueError:
            raise SpecError(f"{rest!r} in {hyperprior!r} is not a number") from None
        u = lams**-0.5
        return np.log(u * s / math.pi) - np.log(s * s + u * u)
    raise SpecError(f"unknown hyperprior {hyperprior!r}: use 'loguniform' or 'halfcauchy:S' (on τ/σ)")


def log_marginal_lambda(data, lams, y=None, *, sigma: float | None = None, sigma_prior=None,
                        bias: str = "flat") -> np.ndarray:
    r"""log p(y | λ) at each canonical λ: σ known, or σ integrated out in the conjugate (NIG) form.

    σ known: :math:`\log p(y \mid \tau = \sigma/\sqrt\lambda, \sigma)`, the σ-known :func:`evidence_curve`.
    σ unknown: with :math:`w \mid \sigma \sim N(0, \sigma^2/\lambda\, I)` and :math:`\sigma^2 \sim
    \mathrm{InvGamma}(a_0, b_0)` (``sigma_prior``, default :func:`default_sigma_prior`),

    .. math:: p(y \mid \lambda) = \int_0^\infty p(y \mid \tau = \sigma/\sqrt\lambda, \sigma)\,
              \mathrm{InvGamma}(\sigma^2 \mid a_0, b_0)\, d\sigma^2,

    closed form (:func:`nig_posterior`'s ``log_evidence``).
    """
    lams = _check_lams(lams)
    bias = _check_bias(bias)
    if sigma is not None:
        if sigma_prior is not None:
            raise SpecError("give sigma (known noise sd) or sigma_prior (σ unknown), not both")
        return evidence_curve(data, lams, y, sigma=sigma, bias=bias).log_evidence
    stats, _ = _evidence_data(data, y)
    sp = parse_sigma_prior(sigma_prior if sigma_prior is not None else default_sigma_prior(stats))
    return np.array([nig_posterior(stats, prior=ConjugateGaussian(float(lam)), sigma_prior=sp, bias=bias).log_evidence
                     for lam in lams])


def lambda_posterior(data, lams=None, y=None, *, sigma: float | None = None, sigma_prior=None,
                     hyperprior: str = "loguniform", bias: str = "flat") -> LambdaPosterior:
    r"""The posterior over canonical λ on a log grid (a hyperprior on λ instead of a point choice).

    .. math:: p(\ln\lambda \mid y) \propto p(y \mid \lambda)\, p(\ln\lambda),

    with p(y | λ) from :func:`log_marginal_lambda` (σ known, or integrated out under ``sigma_prior``) and
    p(ln λ) from :func:`log_hyperprior`. The density is normalised over ``lams`` (default :func:`lambda_grid`,
    whose ±8 decades around the data's scale are then the log-uniform prior's support) by the trapezoid rule in
    ln λ; :attr:`LambdaPosterior.edge_mass` says whether the grid cuts it off. With the log-uniform hyperprior
    the posterior mode is the maximiser of p(y | λ) on the grid.

    Examples
    --------
    >>> from bayesreg.data import load_diabetes
    >>> post = lambda_posterior(load_diabetes())
    >>> lo, hi = post.interval(0.94)
    >>> bool(lo < post.median < hi), round(post.median, 3)
    (True, 0.031)
    """
    stats, _ = _evidence_data(data, y)
    lams = lambda_grid(data, y) if lams is None else _check_lams(lams, minimum=3)
    if sigma is None:
        sigma_prior = parse_sigma_prior(sigma_prior if sigma_prior is not None else default_sigma_prior(stats))
    log_marginal = log_marginal_lambda(stats, lams, sigma=sigma, sigma_prior=sigma_prior, bias=bias)
    log_prior = log_hyperprior(lams, hyperprior)
    log_post = log_marginal + log_prior
    unnorm = np.exp(log_post - np.max(log_post))
    density = unnorm / integrate.trapezoid(unnorm, np.log(lams))
    return LambdaPosterior(lams, density, log_marginal, log_prior, str(hyperprior),
                           None if sigma is not None else str(sigma_prior), sigma, bias)


# --------------------------------------------------------------------------- four ways, never silently on an edge

#: Each side of the search range: λ from (smallest column sum of squares)·1e-LIMIT to (largest)·1e+LIMIT.
SEARCH_LIMIT_DECADES = 12.0
#: Decades added to a side of the grid each time the optimum sits at that edge.
WIDEN_DECADES = 4.0
#: A hyperprior's posterior is cut off by the grid when its density at an end is above this share of its peak.
EDGE_DENSITY = 1e-4

SELECTION_METHODS = ("evidence", "validation", "cv", "hyperprior")


@dataclass(frozen=True)
class Pick:
    """One method's λ (canonical), the curve it was read from, and whether it is an interior optimum.

    ``interior`` is False when the optimum still sits at an end of the search after widening to its limit;
    ``note`` then says which way the curve keeps improving and what that means.
    """

    method: str
    lam: float
    lams: np.ndarray
    values: np.ndarray
    label: str
    interior: bool
    note: str = ""
    interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class Selection:
    """λ chosen by each method on one data set (canonical convention), with the settings that made it."""

    picks: dict
    n: int
    d: int
    sigma: float | None
    sigma_evidence: float | None
    bias: str
    folds: int
    seed: int
    validation_fraction: float
    limits: tuple[float, float]
    likelihood: str = "gaussian"

    def to_dict(self) -> dict:
        """JSON-ready: ``{"evidence": λ, "cv": λ, "validation": λ, "hyperprior": λ, "details": {...}}``."""
        out = {name: p.lam for name, p in self.picks.items()}
        out["details"] = {
            name: {"lam": p.lam, "interior": p.interior, "note": p.note, "curve": p.label,
                   "interval_94": None if p.interval is None else list(p.interval),
                   "grid": [float(v) for v in p.lams], "values": [float(v) for v in p.values]}
            for name, p in self.picks.items()}
        out["settings"] = {"n": self.n, "d": self.d, "sigma": self.sigma, "sigma_evidence": self.sigma_evidence,
                           "bias": self.bias, "folds": self.folds, "seed": self.seed,
                           "validation_fraction": self.validation_fraction, "search_limits": list(self.limits),
                           "likelihood": self.likelihood}
        return out


def _column_scales(rows) -> tuple[float, float]:
    ss = np.sum((rows.X - rows.X.mean(axis=0)) ** 2, axis=0)
    ss = ss[ss > 0]
    if ss.size == 0:
        raise DataError("every feature column is constant: λ has nothing to act on")
    return float(ss.min()), float(ss.max())


def _widened(curve, lams: np.ndarray, at_edge, limits: tuple[float, float]):
    """Evaluate ``curve`` on ``lams`` and extend the grid (same density in log λ) on each side where
    ``at_edge(values)`` says the optimum sits, until it does not or the side reaches ``limits``.
    Returns ``(lams, values, stuck_side)``, ``stuck_side`` "low", "high" or None."""
    values = np.asarray(curve(lams), dtype=np.float64)
    per_decade = (len(lams) - 1) / math.log10(lams[-1] / lams[0])
    while True:
        side = at_edge(values)
        if side is None:
            return lams, values, None
        step = int(round(WIDEN_DECADES * per_decade))
        if side == "low":
            new = lams[0] * 10.0 ** (-np.arange(step, 0, -1) / per_decade)
            new = new[new >= limits[0]]
            if new.size == 0:
                return lams, values, "low"
            lams, values = np.concatenate([new, lams]), np.concatenate([curve(new), values])
        else:
            new = lams[-1] * 10.0 ** (np.arange(1, step + 1) / per_decade)
            new = new[new <= limits[1]]
            if new.size == 0:
                return lams, values, "high"
            lams, values = np.concatenate([lams, new]), np.concatenate([values, curve(new)])


def _argbest_edge(best):
    def at_edge(values):
        i = int(best(values))
        return "low" if i == 0 else "high" if i == len(values) - 1 else None
    return at_edge


def _mass_edge(log_density):
    peak = float(np.max(log_density))
    if log_density[0] > peak + math.log(EDGE_DENSITY):
        return "low"
    if log_density[-1] > peak + math.log(EDGE_DENSITY):
        return "high"
    return None


_EDGE_NOTES = {
    ("evidence", "low"): "the evidence keeps rising as λ → 0: the data ask for no shrinkage",
    ("evidence", "high"): "the evidence keeps rising as λ → ∞: the data do not support any weight beyond the "
                          "intercept (all shrunk to 0)",
    ("validation", "low"): "the held-out error keeps falling as λ → 0: no penalty predicts the held-out rows best",
    ("validation", "high"): "the held-out error keeps falling as λ → ∞: the intercept alone predicts the held-out "
                            "rows best",
    ("cv", "low"): "the cross-validated error keeps falling as λ → 0: no penalty is best",
    ("cv", "high"): "the cross-validated error keeps falling as λ → ∞: the intercept alone is best",
    ("hyperprior", "low"): "the posterior of λ does not vanish as λ → 0 (a log-uniform hyperprior is then "
                           "improper there): the search limit cuts it off",
    ("hyperprior", "high"): "the posterior of λ does not vanish as λ → ∞ (the evidence levels off at the "
                            "intercept-only model; a log-uniform hyperprior is then improper there): the search "
                            "limit cuts it off",
}


def validation_split(rows: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """A seeded random hold-out: ``(train, valid)``, ``valid`` the round(fraction·n) rows first in
    ``default_rng(seed).permutation(n)``, both in their original row order."""
    order = np.random.default_rng(seed).permutation(rows.n)
    k = max(1, int(round(fraction * rows.n)))
    if rows.n - k < 2:
        raise DataError(f"a validation set of {k} of {rows.n} rows leaves too few to train on")

    def part(idx):
        idx = np.sort(idx)
        return Dataset(rows.X[idx], rows.y[idx], rows.feature_names, rows.target_name, rows.name)

    return part(order[k:]), part(order[:k])


def check_selection_options(methods, validation_fraction: float) -> None:
    """The methods are known and the validation fraction is in (0, 1), or one SpecError that says which."""
    unknown = [m for m in methods if m not in SELECTION_METHODS]
    if unknown or not methods:
        raise SpecError(f"unknown selection method(s) {unknown or methods!r}: choose from "
                        f"{', '.join(SELECTION_METHODS)}")
    if not 0.0 < validation_fraction < 1.0:
        raise SpecError(f"validation_fraction must be strictly between 0 and 1, got {validation_fraction}")


def select_lambda(data, y=None, *, methods=SELECTION_METHODS, sigma: float | None = None, bias: str = "flat",
                  folds: int = 5, seed: int = 0, validation_fraction: float = 0.25,
                  hyperprior: str = "loguniform", points_per_decade: int = 10) -> Selection:
    r"""Canonical λ (``½Σr² + (λ/2)‖w‖²``) by each of four methods, on grids widened until each optimum is
    interior.

    * ``evidence``: :func:`maximise_evidence` (σ profiled unless ``sigma`` is given), refined between grid points;
    * ``validation``: :func:`validation_curve` on a seeded random hold-out of ``validation_fraction`` of the rows;
    * ``cv``: :func:`cv_curve` on ``KFold(folds, shuffle=True, random_state=seed)``: the same folds give
      ``GridSearchCV(Ridge(), {"alpha": grid}, cv=folds)`` the same pick;
    * ``hyperprior``: the posterior median of λ under ``hyperprior`` (:func:`lambda_posterior`), σ known or
      integrated out under :func:`default_sigma_prior`, with its 94% interval.

    The grid starts at :func:`lambda_grid` (±8 decades around the mean column sum of squares, ``points_per_decade``)
    and grows by :data:`WIDEN_DECADES` on a side while an optimum (for the hyperprior: a non-negligible density)
    sits at that edge, up to (smallest column sum of squares)·10^−12 and (largest)·10^12. A pick still at the
    limit has ``interior=False`` and a note that says which way its curve keeps improving: never silently.
    """
    rows = _rows(data, y, what="λ selection")
    bias = _check_bias(bias)
    check_selection_options(methods, validation_fraction)
    if sigma is not None:
        sigma = positive(sigma, "sigma (the noise standard deviation)")
    ss_min, ss_max = _column_scales(rows)
    limits = (ss_min * 10.0**-SEARCH_LIMIT_DECADES, ss_max * 10.0**SEARCH_LIMIT_DECADES)
    start = lambda_grid(rows, num=int(16 * points_per_decade) + 1)
    picks = {}
    sigma_evidence = None
    if "evidence" in methods:
        ref = _sigma_ref(SufficientStats.of(rows))
        stats = SufficientStats.of(rows)

        def log_ev(lams):
            return np.array([_log_evidence(stats, rows, float(v), sigma, bias, ref)[0] for v in lams])

        lams, values, stuck = _widened(log_ev, start, _argbest_edge(np.argmax), limits)
        best = maximise_evidence(rows, sigma=sigma, bias=bias, lams=lams)
        sigma_evidence = best.sigma
        note = _EDGE_NOTES.get(("evidence", stuck), "")
        peaks = [i for i in range(1, len(values) - 1) if values[i] >= values[i - 1] and values[i] > values[i + 1]]
        others = [i for i in peaks if abs(math.log(lams[i] / best.lam)) > math.log(10.0)]
        if others:
            i = max(others, key=lambda k: values[k])
            gap = best.log_evidence - values[i]
            note = (note + "; " if note else "") + (
                f"the evidence has another local maximum near λ = {lams[i]:.3g} (log evidence {gap:.3g} lower): an "
                "iterative maximiser (BayesianRidge) can stop there")
        picks["evidence"] = Pick("evidence", best.lam, lams, values, "log evidence", stuck is None, note)
    if "validation" in methods:
        train, valid = validation_split(rows, validation_fraction, seed)
        lams, values, stuck = _widened(lambda g: _held_out_mse(train, valid, g, bias), start,
                                       _argbest_edge(np.argmin), limits)
        picks["validation"] = Pick("validation", float(lams[int(np.argmin(values))]), lams, values,
                                   "validation MSE", stuck is None, _EDGE_NOTES.get(("validation", stuck), ""))
    if "cv" in methods:
        lams, values, stuck = _widened(lambda g: cv_curve(rows, g, folds=folds, seed=seed, bias=bias).loss, start,
                                       _argbest_edge(np.argmin), limits)
        picks["cv"] = Pick("cv", float(lams[int(np.argmin(values))]), lams, values, f"{folds}-fold CV MSE",
                           stuck is None, _EDGE_NOTES.get(("cv", stuck), ""))
    if "hyperprior" in methods:
        stats = SufficientStats.of(rows)
        sigma_prior = None if sigma is not None else parse_sigma_prior(default_sigma_prior(stats))

        def log_post(lams):
            return (log_marginal_lambda(stats, lams, sigma=sigma, sigma_prior=sigma_prior, bias=bias)
                    + log_hyperprior(lams, hyperprior))

        lams, values, stuck = _widened(log_post, start, _mass_edge, limits)
        post = lambda_posterior(stats, lams, sigma=sigma, sigma_prior=sigma_prior, hyperprior=hyperprior, bias=bias)
        picks["hyperprior"] = Pick("hyperprior", post.median, lams, post.density, "posterior density of ln λ",
                                   stuck is None, _EDGE_NOTES.get(("hyperprior", stuck), ""), post.interval(0.94))
    return Selection(picks, rows.n, rows.d, sigma, sigma_evidence, bias, int(folds), int(seed),
                     float(validation_fraction), limits)
