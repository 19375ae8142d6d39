r"""The Laplace approximation of a posterior, and MacKay's evidence from it.

At the posterior mode θ* (w, b) with H = ∇²U(θ*) the Hessian of the negative log posterior density U (every
normalising constant of the likelihood and the priors included; a flat bias contributes none),

.. math::

    p(\theta \mid y) \approx N(\theta^*, H^{-1}), \qquad
    \log p(y) \approx -U(\theta^*) + \frac{p}{2}\log 2\pi - \frac12 \log\lvert H\rvert ,

p the number of coordinates (MacKay 1992, *The evidence framework applied to classification networks*). With a
flat bias the "evidence" is that of the improper prior b ∝ 1 (the convention of the Gaussian evidence in
:mod:`bayesreg.infer.conjugate`). For a Gaussian likelihood with σ fixed and a Gaussian prior both are exact; for
the logistic likelihood they are approximations whose error the tests measure against quadrature and importance
sampling. A prior with an L1 kink has no Hessian at a zero weight: the covariance then uses the smooth surrogate of
:meth:`~bayesreg.infer.potential.Potential.laplace_covariance` and no evidence is reported (its Laplace estimate is
not a number one should select λ by).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError
from .result import Posterior, RunDiagnostics

__all__ = ["LaplaceApproximation", "laplace_approximation"]


@dataclass(frozen=True)
class LaplaceApproximation:
    """N(``mean``, ``cov``) over θ = (w, b) at the mode, ``log_evidence`` (None for a kinked prior, with
    ``evidence_note``), the potential's ``layout`` and the ``mode`` it is centred on."""

    mean: np.ndarray
    cov: np.ndarray
    log_evidence: float | None
    evidence_note: str | None
    layout: object
    feature_names: tuple[str, ...]
    likelihood: object
    mode: object

    @property
    def sd(self) -> np.ndarray:
        """Posterior sds of θ under the approximation."""
        return np.sqrt(np.diag(self.cov))

    def draws(self, draws: int, chains: int, seed: int = 0) -> Posterior:
        """Independent draws from N(mean, cov) as a :class:`Posterior` (``method="laplace"``)."""
        rng = np.random.default_rng(seed)
        chol = np.linalg.cholesky(self.cov)
        z = rng.standard_normal((chains * draws, len(self.mean)))
        theta = self.mean + z @ chol.T
        out = {k: np.asarray(v).reshape(chains, draws, *np.asarray(v).shape[1:])
               for k, v in self.layout.unpack(theta).items()}
        return Posterior("laplace", out, self.feature_names, likelihood=self.likelihood,
                         info={"log_evidence": self.log_evidence, "evidence_note": self.evidence_note},
                         attrs={"approximation": "Laplace: N(mode, inverse Hessian)", "seed": seed},
                         diagnostics=RunDiagnostics("approximate draws", converged=bool(self.mode.converged),
                                                    note="the MAP solver under the Laplace approximation stopped "
                                                         "before its convergence criterion"))


def laplace_approximation(data, model, mode=None) -> LaplaceApproximation:
    """The Laplace approximation of ``model`` (a :class:`~bayesreg.model.Model`) on ``data`` (module docstring).

    Parameters
    ----------
    data
        A :class:`~bayesreg.data.Dataset`, or streamed rows (:class:`~bayesreg.streaming.RowStream`: the Hessian
        from the Newton passes; a Gaussian prior on w).
    model
        Every scale fixed.
    mode
        The :class:`~bayesreg.mode.PosteriorMode` when already computed (else it is).

    Raises
    ------
    SpecError
        When the model has a hyperprior (τ), a σ with a prior, or no computable mode.
    """
    from ..mode import posterior_mode
    from ..models import LinearRegressionModel
    from .row_potential import potential_for

    if model.prior.hyperpriors() or model.sigma_prior is not None:
        raise SpecError("the Laplace approximation here is over (w, b) with every scale fixed; a scale with a "
                        "prior of its own needs a sampler (nuts)")
    mode = posterior_mode(data, model) if mode is None else mode
    if not mode.exists:
        raise SpecError(f"no mode to centre a Laplace approximation on: {mode.reason}")
    if not hasattr(data, "X") and hasattr(data, "evaluator"):
        return _streamed(data, model, mode)
    pot = potential_for(data, LinearRegressionModel(model))
    theta = pot.layout.pack(mode.values)
    value = pot(theta)
    kinked = pot.kinked
    H = pot.smooth_hessian(theta) if kinked else pot.hessian(theta)
    H = 0.5 * (H + H.T)
    try:
        chol = np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        raise SpecError("the Hessian at the mode is not positive definite: the posterior is flat in some "
                        "direction (collinear features with a flat prior); use a proper prior") from None
    cov = np.linalg.inv(H)
    cov = 0.5 * (cov + cov.T)
    p = len(theta)
    log_evidence, note = None, None
    if kinked:
        note = "no Laplace evidence for a prior with an L1 kink (the Hessian does not exist at a zero weight)"
    else:
        log_evidence = -value + 0.5 * p * math.log(2.0 * math.pi) - float(np.log(np.diag(chol)).sum())
    names = tuple(getattr(data, "feature_names", None) or (f"x{j}" for j in range(pot.d)))
    return LaplaceApproximation(theta, cov, log_evidence, note, pot.layout, names, model.likelihood, mode)


def _streamed(data, model, mode) -> LaplaceApproximation:
    """The Laplace approximation from streamed rows (:class:`~bayesreg.streaming.RowStream`): the Hessian the
    Newton MAP ended with (one pass at the mode), and −U(θ*) from the penalised log-loss plus the Gaussian
    prior's normalising constants. A Gaussian prior on w only (an L1 kink needs the row potential's surrogate)."""
    from ..infer.potential import Layout

    elementwise = model.prior.elementwise_penalty(1.0)
    if elementwise is None or elementwise[0] != 0:
        raise SpecError("from streamed rows the Laplace approximation takes a gaussian prior on w (an L1 kink needs "
                        "the rows in memory: --engine memory)")
    H = mode.info["hessian"]
    d = data.d
    lam = elementwise[1]
    layout = Layout(d, model.bias.present, False, False)
    theta = layout.pack(mode.values)
    value = float(mode.info["objective"]) + 0.5 * d * math.log(2.0 * math.pi / lam)  # − log p(w) constants
    if model.bias.kind == "normal":
        value += 0.5 * math.log(2.0 * math.pi * model.bias.scale**2)
    H = 0.5 * (H + H.T)
    chol = np.linalg.cholesky(H)
    cov = np.linalg.inv(H)
    p = len(theta)
    log_evidence = -value + 0.5 * p * math.log(2.0 * math.pi) - float(np.log(np.diag(chol)).sum())
    return LaplaceApproximation(theta, 0.5 * (cov + cov.T), log_evidence, None, layout, tuple(data.feature_names),
                                model.likelihood, mode)
