r"""Loss conventions: how each library scales the squared loss and the penalty.

Every convention minimises the *canonical* objective multiplied by a positive constant, so they share a
minimiser but not a λ. A convention is described by three numbers:

.. math::

    J_c(w, b) = \kappa(n) \sum_i r_i^2 + \lambda_c \, \big(\gamma_2 \|w\|_2^2 \;\text{or}\; \gamma_1 \|w\|_1\big),
    \qquad r = y - Xw - b,

with :math:`\kappa(n) = \kappa_0` for a summed loss and :math:`\kappa_0 / n` for a mean loss. Dividing by
:math:`2\kappa(n)` gives the canonical objective :math:`\tfrac12\sum r_i^2 + \tfrac{\lambda}{2}\|w\|^2`
(or :math:`+\lambda\|w\|_1`), hence

.. math::

    \lambda_{L2} = \frac{\gamma_2 \lambda_c}{\kappa(n)}, \qquad
    \lambda_{L1} = \frac{\gamma_1 \lambda_c}{2\kappa(n)},

and in canonical form :math:`\lambda_{L2} = \sigma^2/\tau^2` (Gaussian prior, sd τ) and
:math:`\lambda_{L1} = \sigma^2/s` (Laplace prior, scale s). See ``CONVENTIONS.md`` for the table.

The presets (each one's ``objective`` writes its objective out):

==========================  ======================================================  ==========================
name                        objective                                               λ_c for N(0, τ²) / Laplace(s)
==========================  ======================================================  ==========================
``canonical``               ½Σr² + (λ/2)‖w‖²  /  ½Σr² + λ‖w‖₁                       σ²/τ²  /  σ²/s
``d2l``                     (1/n)Σ½r² + (λ/2)‖w‖²  /  + λ‖w‖₁                       σ²/(nτ²)  /  σ²/(ns)
``sklearn_ridge``           Σr² + α‖w‖²                                              σ²/τ²  /  —
``sklearn_lasso``           (1/2n)Σr² + α‖w‖₁                                        —  /  σ²/(ns)
``sklearn_elasticnet``      (1/2n)Σr² + αρ‖w‖₁ + (α(1−ρ)/2)‖w‖²                      α(1−ρ) = σ²/(nτ²)  /  αρ = σ²/(ns)
``torch_sgd_mse``           (1/n)Σr² + (wd/2)‖w‖²                                    2σ²/(nτ²)  /  —
``torch_sgd_half_mse``      (1/n)Σ½r² + (wd/2)‖w‖²                                   σ²/(nτ²)  /  —
``keras``                   (1/n)Σr² + c‖w‖²  /  + c‖w‖₁                             σ²/(nτ²)  /  2σ²/(ns)
==========================  ======================================================  ==========================

**Classifiers** (the Bernoulli likelihood, :mod:`bayesreg.logistic`) have no σ: their canonical objective is
``Σ logloss + (λ/2)‖w‖²`` / ``+ λ‖w‖₁`` (the negative log posterior itself, λ = 1/τ², 1/s). With κ(n) the factor in
front of Σ logloss, the same division gives λ_L2 = 2γ₂λ_c/κ(n) and λ_L1 = γ₁λ_c/κ(n). In general, with κ* the
canonical loss factor (½ for squared residuals, 1 for the log-loss), λ_L2 = 2κ*γ₂λ_c/κ(n), λ_L1 = κ*γ₁λ_c/κ(n).
scikit-learn's ``LogisticRegression`` puts its C on the loss, not the penalty: dividing by C makes λ_c = 1/C
(``inverse=True``). The classifier presets (:data:`CLASSIFIER_CONVENTIONS`, ``get_convention(name, "logistic")``):

==========================  ======================================================  ==========================
name                        objective                                               parameter for N(0, τ²) / Laplace(s)
==========================  ======================================================  ==========================
``canonical``               Σ logloss + (λ/2)‖w‖²  /  + λ‖w‖₁                        λ = 1/τ²  /  1/s
``sklearn_logistic``        C·Σ logloss + ½‖w‖²  /  C·Σ logloss + ‖w‖₁                C = τ²  /  s
``sklearn_sgdclassifier``   (1/n)Σ logloss + (α/2)‖w‖²  /  + α‖w‖₁                   α = 1/(nτ²)  /  1/(ns)
``torch_bce_mean``          BCEWithLogitsLoss() + SGD(weight_decay): (1/n)Σ + (wd/2)‖w‖²   wd = 1/(nτ²)  /  —
``torch_bce_sum``           BCEWithLogitsLoss(reduction="sum"): Σ + (wd/2)‖w‖²       wd = 1/τ²  /  —
``keras_bce``               (1/n)Σ logloss + c‖w‖²  /  + c‖w‖₁                        c = 1/(2nτ²)  /  1/(ns)
``glmnet_binomial``         (1/n)Σ logloss + (λ/2)‖β‖²  (α=0)  /  + λ‖β‖₁  (α=1)      λ = 1/(nτ²)  /  1/(ns)
==========================  ======================================================  ==========================

glmnet's binomial family minimises −(1/n)ℓ(β) + λ[(1−α)/2‖β‖² + α‖β‖₁] on *standardised* columns by default
(``standardize=TRUE``): the penalty, and so the prior, is then on the weights of the standardised features; give
``--standardize`` to match it.

For ``sklearn_elasticnet`` the convention's λ of the L2 part is the product α(1−ρ) and that of the L1 part is
αρ; :func:`sklearn_elasticnet_params` turns a pair back into scikit-learn's ``(alpha, l1_ratio)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ConventionError, SpecError
from .validate import finite

__all__ = [
    "PENALTIES",
    "Convention",
    "CONVENTIONS",
    "CANONICAL",
    "CLASSIFIER_CONVENTIONS",
    "conventions_for",
    "get_convention",
    "to_canonical_lam",
    "from_canonical_lam",
    "sklearn_elasticnet_params",
]

#: The penalties a :class:`Convention` scales: squared L2 (weight decay) and L1 (lasso).
PENALTIES = ("l2", "l1")


@dataclass(frozen=True)
class Convention:
    """How one library writes the penalised least-squares objective.

    Parameters
    ----------
    name
        Preset name, e.g. ``"d2l"``.
    loss_coef
        κ₀: the squared residuals are multiplied by κ₀ (summed loss) or κ₀/n (mean loss).
    mean_loss
        Whether the loss is a mean over the n rows (then λ depends on n).
    l2_coef, l1_coef
        γ₂, γ₁: the penalty is ``λ_c · γ₂ · ‖w‖²`` or ``λ_c · γ₁ · ‖w‖₁``; ``None`` where the tool has no such
        option (``Ridge`` has no L1, ``torch.optim.SGD`` has no L1).
    l2_param, l1_param
        What the tool calls λ for each penalty (``alpha``, ``weight_decay``, ...).
    l2_objective, l1_objective
        The objective written out for each penalty.
    source
        The tool or text this convention is taken from.
    loss
        ``"squared"`` (regression: the residuals squared) or ``"logloss"`` (a classifier: the Bernoulli negative
        log-likelihood).
    inverse
        The tool's parameter is 1/λ_c, on the loss rather than the penalty (scikit-learn's ``C``).
    """

    name: str
    loss_coef: float
    mean_loss: bool
    l2_coef: float | None
    l1_coef: float | None
    l2_param: str | None
    l1_param: str | None
    l2_objective: str | None
    l1_objective: str | None
    source: str
    loss: str = "squared"
    inverse: bool = False

    @property
    def canonical_loss_coef(self) -> float:
        """κ*: the factor in front of the summed loss in the canonical objective (½ squared, 1 log-loss)."""
        return 0.5 if self.loss == "squared" else 1.0

    def lam_factor(self, penalty: str, n: int | None) -> float:
        """The canonical λ per unit of λ_c: 2κ*γ₂/κ(n) (L2) or κ*γ₁/κ(n) (L1)."""
        coef = _coef_or_raise(self, penalty)
        factor = self.canonical_loss_coef * coef / self.loss_scale(n)
        return 2.0 * factor if penalty == "l2" else factor

    @property
    def objective(self) -> str:
        """Both objectives (where they exist) and the tool they come from, one line."""
        parts = [o for o in (self.l2_objective, self.l1_objective) if o is not None]
        return "  |  ".join(parts) + f"   ({self.source})"

    def objective_for(self, penalty: str) -> str:
        """The objective this convention minimises with ``penalty``."""
        _coef_or_raise(self, penalty)
        return self.l2_objective if penalty == "l2" else self.l1_objective

    def param_for(self, penalty: str) -> str:
        """What the tool calls the strength of ``penalty`` (``alpha``, ``weight_decay``, ...)."""
        _coef_or_raise(self, penalty)
        return self.l2_param if penalty == "l2" else self.l1_param

    def supports(self, penalty: str) -> bool:
        """Whether this convention has an option for ``penalty`` (``"l2"`` or ``"l1"``)."""
        return self._penalty_coef(_check_penalty(penalty)) is not None

    def loss_scale(self, n: int | None) -> float:
        """κ(n): the factor in front of Σr² (κ₀, or κ₀/n for a mean loss)."""
        if not self.mean_loss:
            return self.loss_coef
        return self.loss_coef / _check_n(n, self)

    def objective_value(self, penalty: str, lam: float, w, b, X, y) -> float:
        """Evaluate this convention's own objective ``J_c(w, b)`` (numpy float64; for tests and reports)."""
        X = np.asarray(X, dtype=np.float64)
        eta = X @ np.asarray(w, dtype=np.float64) + b
        y = np.asarray(y, dtype=np.float64)
        coef = self._penalty_coef(_check_penalty(penalty))
        if coef is None:
            raise _unsupported(self, penalty)
        norm = float(np.sum(np.square(w))) if penalty == "l2" else float(np.sum(np.abs(w)))
        loss = (float((y - eta) @ (y - eta)) if self.loss == "squared"
                else float(np.sum(np.logaddexp(0.0, eta) - y * eta)))
        if self.inverse:  # C·loss + penalty
            return lam * self.loss_scale(len(y)) * loss + coef * norm
        return self.loss_scale(len(y)) * loss + lam * coef * norm

    def _penalty_coef(self, penalty: str) -> float | None:
        return self.l2_coef if penalty == "l2" else self.l1_coef

    def __str__(self) -> str:
        return self.name


def _preset(name, loss_coef, mean_loss, l2, l1, source, loss="squared", inverse=False) -> Convention:
    """``l2``/``l1``: (γ, parameter name, objective) or None where the tool has no such penalty."""
    l2 = l2 or (None, None, None)
    l1 = l1 or (None, None, None)
    conv = Convention(name, loss_coef, mean_loss, l2[0], l1[0], l2[1], l1[1], l2[2], l1[2], source, loss, inverse)
    # Each preset documents itself: help() and the CLI show the objective it minimises.
    object.__setattr__(conv, "__doc__", f"Convention {name!r}: minimises {conv.objective}.")
    return conv


CANONICAL = _preset(
    "canonical", 0.5, False,
    (0.5, "lam", "½ Σ rᵢ² + (λ/2) ‖w‖²"), (1.0, "lam", "½ Σ rᵢ² + λ ‖w‖₁"),
    "σ² × the negative log posterior",
)

#: Every preset by name, in the order the CLI lists them.
CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        CANONICAL,
        _preset("d2l", 0.5, True,
                (0.5, "lambd", "(1/n) Σ ½ rᵢ² + (λ/2) ‖w‖²"), (1.0, "lambd", "(1/n) Σ ½ rᵢ² + λ ‖w‖₁"),
                "Dive into Deep Learning: mean of squared_loss + lambd * l2_penalty"),
        _preset("sklearn_ridge", 1.0, False, (1.0, "alpha", "Σ rᵢ² + α ‖w‖²"), None,
                "sklearn.linear_model.Ridge(alpha)"),
        _preset("sklearn_lasso", 0.5, True, None, (1.0, "alpha", "(1/2n) Σ rᵢ² + α ‖w‖₁"),
                "sklearn.linear_model.Lasso(alpha)"),
        _preset("sklearn_elasticnet", 0.5, True,
                (0.5, "alpha*(1-l1_ratio)", "(1/2n) Σ rᵢ² + (α(1−ρ)/2) ‖w‖²"),
                (1.0, "alpha*l1_ratio", "(1/2n) Σ rᵢ² + αρ ‖w‖₁"),
                "sklearn.linear_model.ElasticNet(alpha, l1_ratio=ρ): both terms together"),
        _preset("torch_sgd_mse", 1.0, True, (0.5, "weight_decay", "(1/n) Σ rᵢ² + (wd/2) ‖w‖²"), None,
                "torch.optim.SGD(weight_decay=wd) on nn.MSELoss(); decaying the bias too means bias normal:τ"),
        _preset("torch_sgd_half_mse", 0.5, True, (0.5, "weight_decay", "(1/n) Σ ½ rᵢ² + (wd/2) ‖w‖²"), None,
                "torch.optim.SGD(weight_decay=wd) on the mean of ½ r²; decaying the bias too means bias normal:τ"),
        _preset("keras", 1.0, True, (1.0, "l2", "(1/n) Σ rᵢ² + c ‖w‖²"), (1.0, "l1", "(1/n) Σ rᵢ² + c ‖w‖₁"),
                "keras.regularizers.l2(c) / l1(c) on loss='mse'"),
    )
}


#: The classifier presets (the log-loss of a Bernoulli likelihood), in the order the CLI lists them.
CLASSIFIER_CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        _preset("canonical", 1.0, False, (0.5, "lam", "Σ logloss + (λ/2) ‖w‖²"), (1.0, "lam", "Σ logloss + λ ‖w‖₁"),
                "the negative log posterior", loss="logloss"),
        _preset("sklearn_logistic", 1.0, False, (0.5, "C", "C·Σ logloss + ½ ‖w‖²"),
                (1.0, "C", "C·Σ logloss + ‖w‖₁"),
                "sklearn.linear_model.LogisticRegression(C, penalty='l2' / 'l1')", loss="logloss", inverse=True),
        _preset("sklearn_sgdclassifier", 1.0, True, (0.5, "alpha", "(1/n) Σ logloss + (α/2) ‖w‖²"),
                (1.0, "alpha", "(1/n) Σ logloss + α ‖w‖₁"),
                "sklearn.linear_model.SGDClassifier(loss='log_loss', alpha, penalty='l2' / 'l1')", loss="logloss"),
        _preset("torch_bce_mean", 1.0, True, (0.5, "weight_decay", "(1/n) Σ logloss + (wd/2) ‖w‖²"), None,
                "torch.optim.SGD(weight_decay=wd) on nn.BCEWithLogitsLoss()", loss="logloss"),
        _preset("torch_bce_sum", 1.0, False, (0.5, "weight_decay", "Σ logloss + (wd/2) ‖w‖²"), None,
                "torch.optim.SGD(weight_decay=wd) on nn.BCEWithLogitsLoss(reduction='sum')", loss="logloss"),
        _preset("keras_bce", 1.0, True, (1.0, "l2", "(1/n) Σ logloss + c ‖w‖²"),
                (1.0, "l1", "(1/n) Σ logloss + c ‖w‖₁"),
                "keras.regularizers.l2(c) / l1(c) on loss='binary_crossentropy'", loss="logloss"),
        _preset("glmnet_binomial", 1.0, True, (0.5, "lambda", "(1/n) Σ logloss + (λ/2) ‖β‖²  (alpha=0)"),
                (1.0, "lambda", "(1/n) Σ logloss + λ ‖β‖₁  (alpha=1)"),
                "glmnet(family='binomial'); standardize=TRUE puts the penalty on standardised columns",
                loss="logloss"),
    )
}

_FAMILIES = {"gaussian": CONVENTIONS, "logistic": CLASSIFIER_CONVENTIONS}


def conventions_for(likelihood: str = "gaussian") -> dict[str, Convention]:
    """The presets for a likelihood: ``"gaussian"`` (regression, :data:`CONVENTIONS`) or ``"logistic"``."""
    try:
        return _FAMILIES[likelihood]
    except (KeyError, TypeError):
        raise ConventionError(f"unknown likelihood {likelihood!r}: choose one of {', '.join(_FAMILIES)}") from None


def get_convention(convention: str | Convention, likelihood: str = "gaussian") -> Convention:
    """Return the preset named ``convention`` for ``likelihood`` (a :class:`Convention` is returned as is)."""
    if isinstance(convention, Convention):
        return convention
    presets = conventions_for(likelihood)
    try:
        return presets[convention]
    except (KeyError, TypeError):
        other = next((name for name, table in _FAMILIES.items() if name != likelihood and convention in table), None)
        hint = (f" ({convention!r} is a convention of the {other} likelihood: pass --likelihood {other})"
                if other else "")
        raise ConventionError(
            f"unknown convention {convention!r} for the {likelihood} likelihood: choose one of "
            f"{', '.join(presets)}{hint}"
        ) from None


def to_canonical_lam(penalty: str, lam: float, n: int | None = None,
                     convention: str | Convention = CANONICAL) -> float:
    """Convert a penalty strength from ``convention`` to the canonical λ.

    ``λ_L2 = γ₂ λ_c / κ(n)`` and ``λ_L1 = γ₁ λ_c / (2 κ(n))`` (module docstring). The sign and size of λ are
    not judged here; :func:`bayesreg.priors.prior_from_penalty` does that.

    Examples
    --------
    >>> to_canonical_lam("l2", 3.0, n=20, convention="d2l")
    60.0
    """
    conv = get_convention(convention)
    factor = conv.lam_factor(penalty, n)
    lam = finite(lam, "lam")
    if conv.inverse:
        if lam <= 0:
            raise SpecError(f"{conv.param_for(penalty)} must be > 0 (it divides the penalty), got {lam:g}")
        return factor / lam
    return lam * factor


def from_canonical_lam(penalty: str, lam: float, n: int | None = None,
                       convention: str | Convention = CANONICAL) -> float:
    """Convert a canonical λ to ``convention``'s parameter; the inverse of :func:`to_canonical_lam`."""
    conv = get_convention(convention)
    factor = conv.lam_factor(penalty, n)
    lam = finite(lam, "lam")
    if conv.inverse:
        return factor / lam if lam > 0 else float("inf")
    return lam / factor


def sklearn_elasticnet_params(lam_l1: float, lam_l2: float) -> tuple[float, float]:
    """scikit-learn's ``(alpha, l1_ratio)`` from the ``sklearn_elasticnet`` convention's two λ (αρ, α(1−ρ))."""
    lam_l1, lam_l2 = finite(lam_l1, "lam_l1"), finite(lam_l2, "lam_l2")
    if lam_l1 < 0 or lam_l2 < 0 or lam_l1 + lam_l2 <= 0:
        raise SpecError(
            f"elastic-net strengths must be ≥ 0 and not both 0, got αρ={lam_l1}, α(1−ρ)={lam_l2}"
        )
    alpha = lam_l1 + lam_l2
    return alpha, lam_l1 / alpha


def _check_penalty(penalty: str) -> str:
    if penalty not in PENALTIES:
        raise ConventionError(
            f"unknown penalty {penalty!r}: conventions scale 'l2' (squared norm, weight decay) or 'l1'"
        )
    return penalty


def _coef_or_raise(conv: Convention, penalty: str) -> float:
    coef = conv._penalty_coef(_check_penalty(penalty))
    if coef is None:
        raise _unsupported(conv, penalty)
    return coef


def _unsupported(conv: Convention, penalty: str) -> ConventionError:
    table = CONVENTIONS if conv.loss == "squared" else CLASSIFIER_CONVENTIONS
    able = [c.name for c in table.values() if c.supports(penalty)]
    return ConventionError(
        f"convention {conv.name!r} has no {penalty.upper()} option; use one of {', '.join(able)}"
    )


def _check_n(n, conv: Convention) -> int:
    if n is None:
        raise ConventionError(
            f"convention {conv.name!r} averages the loss over the rows, so its λ depends on n: "
            "pass n, the number of training rows (--n N)"
        )
    try:
        value = float(n)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(n, (bool, str)) or not value.is_integer() or value < 1:
        raise SpecError(f"n must be a positive whole number of training rows, got {n!r}")
    return int(value)


