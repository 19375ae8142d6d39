r"""The prior AdamW's decoupled decay amounts to, read from the optimiser's state.

AdamW (and ``Adam``/``NAdam``/``RAdam`` with ``decoupled_weight_decay=True``) shrinks the weights outside the
adaptive preconditioner. One step, with bias-corrected moments :math:`\hat m, \hat v` of the gradient g of the
back-propagated loss :math:`L = \kappa\sum_i \ell_i`:

.. math:: \theta \leftarrow \theta - \eta\, wd\, \theta - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}.

At a fixed point the two updates cancel, :math:`\hat m = -wd\,(\sqrt{\hat v} + \epsilon) \odot \theta`, and with
:math:`\hat m \to \nabla L(\theta)` (the mean of the minibatch gradients)

.. math:: \nabla L(\theta) + wd\,(\sqrt{\hat v} + \epsilon) \odot \theta = 0,

the stationarity condition of :math:`L(\theta) + \tfrac12 \sum_j wd_j^{\rm eff} \theta_j^2` with the
per-coordinate coupled decay :math:`wd_j^{\rm eff} = wd\,(\sqrt{\hat v_j} + \epsilon)`, holding v̂ fixed. Read
through the loss (:mod:`bayesreg.torch.loss_reading`) that is the diagonal Gaussian prior
:math:`\theta_j \sim N(0, \tau_j^2)`, :math:`1/\tau_j^2 = a\, wd_j^{\rm eff}/\kappa`. It is not a prior in the
Bayesian sense: v̂ is the running mean of the *squared gradients*, set by the data, the batch size and the
optimiser's β₂, not fixed before seeing the data. With full-batch gradients v̂ → g² → 0 at a fixed point and the
effective decay falls to wd·ε: AdamW then ends near the *unpenalised* minimum. With minibatches v̂ tracks the
gradient noise, so the effective prior is loose where the noise is large.

The naive reading treats ``wd`` as a coupled decay (the Adam/SGD reading); :func:`bayesreg.torch.map_check`
measures how far AdamW's end point is from the MAP under each reading.
"""

from __future__ import annotations

import torch

from ..errors import SpecError

__all__ = ["is_decoupled", "effective_decay"]


def is_decoupled(optimizer: torch.optim.Optimizer, group: dict) -> bool:
    """Whether ``group``'s decay is decoupled (AdamW; Adam, NAdam, RAdam with ``decoupled_weight_decay``)."""
    if group.get("decoupled_weight_decay", False):
        return True
    return isinstance(optimizer, torch.optim.AdamW)


def effective_decay(optimizer: torch.optim.Optimizer, param: torch.Tensor, group: dict) -> torch.Tensor | None:
    """wd·(√v̂ + ε) per coordinate of ``param`` (float64, its shape), or None before the first step.

    v̂ is ``exp_avg_sq`` (``max_exp_avg_sq`` with ``amsgrad``) divided by 1 − β₂^t, t = the state's ``step``.
    """
    state = optimizer.state.get(param, {})
    key = "max_exp_avg_sq" if group.get("amsgrad", False) else "exp_avg_sq"
    if key not in state or "step" not in state:
        return None
    step = float(state["step"])
    if step < 1:
        return None
    betas = group.get("betas")
    if betas is None:
        raise SpecError(f"{type(optimizer).__name__} has no betas: cannot read its second moment")
    beta2 = float(betas[1])
    v_hat = state[key].detach().to(torch.float64).cpu() / (1.0 - beta2**step)
    return float(group["weight_decay"]) * (v_hat.sqrt() + float(group["eps"]))
