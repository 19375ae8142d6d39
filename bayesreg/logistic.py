r"""The Bernoulli likelihood with a logit link: logistic regression, the first likelihood without σ.

.. math::

    y_i \in \{0, 1\}, \qquad P(y_i = 1 \mid \eta_i) = \operatorname{sigmoid}(\eta_i) = \frac{1}{1 + e^{-\eta_i}},
    \qquad \eta_i = x_i^\top w + b,

    \log p(y_i \mid \eta_i) = y_i \eta_i - \log(1 + e^{\eta_i}) = -\operatorname{logloss}_i .

The log-loss *is* the negative log-likelihood, so the canonical penalised objective ``Σ logloss + (λ/2)‖w‖²`` is
exactly −log posterior (temperature 1: λ = 1/τ² for a Gaussian prior, 1/s for a Laplace prior; see
``CONVENTIONS.md``). Besides the :class:`~bayesreg.likelihoods.Likelihood` protocol it gives the Newton weights
p(1 − p) (:meth:`LogisticLikelihood.curvature`, the Fisher information per row, which the MAP, the Laplace
approximation and the evidence use) and declares the Pólya–Gamma augmentation (``polya_gamma = True``) that the
exact Gibbs sampler needs (Polson, Scott & Windle 2013).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from .errors import DataError
from .likelihoods import Likelihood

__all__ = ["LogisticLikelihood", "binary_target"]


@dataclass(frozen=True)
class LogisticLikelihood(Likelihood):
    """``y_i ~ Bernoulli(sigmoid(η_i))``: no parameters of its own."""

    name = "logistic"
    has_sufficient_statistics = False
    polya_gamma = True
    parameter_names = ()

    def log_likelihood(self, y, eta, **_) -> np.ndarray:
        """y_i η_i − log(1 + e^{η_i}) per row, computed without overflow (``np.logaddexp``)."""
        eta = np.asarray(eta, dtype=np.float64)
        return np.asarray(y, dtype=np.float64) * eta - np.logaddexp(0.0, eta)

    def grad_log_likelihood(self, y, eta, **_) -> np.ndarray:
        """y_i − sigmoid(η_i) per row."""
        return np.asarray(y, dtype=np.float64) - special.expit(np.asarray(eta, dtype=np.float64))

    def curvature(self, eta) -> np.ndarray:
        """−∂²/∂η² log p = p(1 − p) per row (the IRLS weights), p = sigmoid(η)."""
        p = special.expit(np.asarray(eta, dtype=np.float64))
        return p * (1.0 - p)

    def mean(self, eta) -> np.ndarray:
        """P(y = 1 | η) = sigmoid(η)."""
        return special.expit(np.asarray(eta, dtype=np.float64))

    def predictive_draws(self, rng: np.random.Generator, eta, **_) -> np.ndarray:
        """One Bernoulli(sigmoid(η)) draw per entry of ``eta``, as 0.0/1.0."""
        eta = np.asarray(eta, dtype=np.float64)
        return (rng.random(eta.shape) < special.expit(eta)).astype(np.float64)

    def pyro_observe(self, eta, y, **_):
        import pyro
        from pyro import distributions as dist

        return pyro.sample("y", dist.Bernoulli(logits=eta), obs=y)

    def penalty_temperature(self, **_) -> float:
        """1: the canonical objective Σ logloss + pen(w) is the negative log posterior itself."""
        return 1.0

    def validate_target(self, y, name: str = "target") -> np.ndarray:
        """``y`` as 0.0/1.0, or one line naming what is wrong with it (:func:`binary_target`)."""
        return binary_target(y, name)[0]

    def __str__(self) -> str:
        return "logistic (Bernoulli, logit link)"


def binary_target(y, name: str = "target") -> tuple[np.ndarray, tuple]:
    """A two-level target as 0.0/1.0 and its two levels ``(negative, positive)``.

    Numbers 0/1 (or 0.0/1.0, or booleans) are taken as they are. Any other two levels (``"benign"``/``"malignant"``,
    −1/+1, 1/2) are sorted and the second becomes 1; the levels are returned so that the output can name them.
    A constant target, a target with three or more levels, or missing values are refused with the fix.
    """
    values = np.asarray(y)
    if values.ndim != 1:
        raise DataError(f"{name} must be one column of class labels, got shape {values.shape}")
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise DataError(f"{name} has {int(np.isnan(values).sum())} missing values: drop or fill those rows")
    if values.dtype.kind == "O":
        missing = sum(v is None or (isinstance(v, float) and np.isnan(v)) for v in values)
        if missing:
            raise DataError(f"{name} has {missing} missing values: drop or fill those rows")
        values = values.astype(str)
    levels = np.unique(values)
    if len(levels) == 1:
        raise DataError(f"{name} is constant ({levels[0]!r} in every row): a classifier needs both classes; "
                        "check the column or the rows you kept")
    if len(levels) > 2:
        shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in levels[:5])
        more = f" and {len(levels) - 5} more" if len(levels) > 5 else ""
        raise DataError(f"{name} has {len(levels)} levels ({shown}{more}): logistic regression needs exactly two; "
                        "merge them into two classes (one against the rest), or use --likelihood gaussian for a "
                        "numeric target")
    if values.dtype.kind == "b" or (values.dtype.kind in "iuf" and set(levels.tolist()) <= {0, 1}):
        return values.astype(np.float64), (0, 1)
    negative, positive = (v.item() if hasattr(v, "item") else v for v in levels)
    return (values == levels[1]).astype(np.float64), (negative, positive)
