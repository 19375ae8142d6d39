r"""Power-scaling sensitivity: how much each reported quantity moves when the prior or the likelihood is
strengthened or weakened a little (Kallioinen, Paananen, Bürkner & Vehtari 2023, *Detecting and diagnosing prior
and likelihood sensitivity with power-scaling*, Statistics and Computing 34:57).

Raising one component to a power α, :math:`p_\alpha(\theta \mid y) \propto p(\theta)^\alpha\,p(y \mid \theta)`
(or the likelihood's), the posterior draws are reweighted by :math:`p(\theta)^{\alpha - 1}` with Pareto-smoothed
importance sampling, and the sensitivity of a quantity is the cumulative Jensen–Shannon distance between its base
and power-scaled distributions per unit of log α, at α = 1 ± 0.01. ArviZ computes it (``az.psens``) from the
``log_prior`` and ``log_likelihood`` groups of a fit's InferenceData
(:meth:`bayesreg.infer.result.Posterior.to_inference_data`); this module reads both and names the diagnosis the
paper (and its R package priorsense) gives for a sensitivity above 0.05:

* **prior–data conflict**: sensitive to the prior *and* to the likelihood: they pull the quantity apart;
* **strong prior / weak likelihood**: sensitive to the prior only: the data say little about it, the prior
  decides.

A quantity the data determine (insensitive to the prior) is not flagged: that is the well-specified case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .infer.idata import import_arviz

__all__ = ["SENSITIVITY_THRESHOLD", "Sensitivity", "power_scaling"]

#: the paper's (and priorsense's) threshold on the power-scaling sensitivity
SENSITIVITY_THRESHOLD = 0.05

CONFLICT = "prior-data conflict"
STRONG_PRIOR = "strong prior / weak likelihood"


@dataclass(frozen=True)
class Sensitivity:
    """One quantity's power-scaling sensitivity to the prior and to the likelihood, and the diagnosis (None when
    neither is above the threshold, or the likelihood alone is)."""

    prior: float
    likelihood: float
    diagnosis: str | None

    def to_dict(self) -> dict:
        return {"prior": self.prior, "likelihood": self.likelihood, "diagnosis": self.diagnosis}


def _diagnose(prior: float, likelihood: float, threshold: float) -> str | None:
    if prior >= threshold and likelihood >= threshold:
        return CONFLICT
    if prior >= threshold:
        return STRONG_PRIOR
    return None


def power_scaling(idata, *, threshold: float = SENSITIVITY_THRESHOLD) -> dict[str, Sensitivity] | None:
    """Per posterior quantity, labelled as ArviZ's summary labels it (``w[bmi]``, ``b``, ``sigma``, ``tau``): its
    sensitivity to the prior and to the likelihood, and the diagnosis; None when ``idata`` lacks the
    ``log_prior`` or ``log_likelihood`` group (a fit without its rows, or a point estimate)."""
    if not {"log_prior", "log_likelihood", "posterior"} <= set(idata.groups()):
        return None
    az = import_arviz()
    prior = az.psens(idata, component="prior")
    likelihood = az.psens(idata, component="likelihood")
    out = {}
    for name in prior.data_vars:
        p_values, l_values = np.atleast_1d(prior[name].values), np.atleast_1d(likelihood[name].values)
        dims = prior[name].dims
        labels = ([name] if not dims else
                  [f"{name}[{c}]" for c in prior[name].coords[dims[0]].values])
        for label, p, lk in zip(labels, p_values.ravel(), l_values.ravel(), strict=True):
            out[label] = Sensitivity(float(p), float(lk), _diagnose(float(p), float(lk), threshold))
    return out
