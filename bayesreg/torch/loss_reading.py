r"""What a PyTorch loss says about the likelihood, and how strongly it weighs the data against the penalty.

Training minimises, per step, the loss the user back-propagates plus the optimiser's decay. Averaged over the
minibatches of one epoch this is

.. math:: J(\theta) = \kappa \sum_{i=1}^{n} \ell_i(\theta) + \sum_g \frac{wd_g}{2} \|\theta_g\|^2,

where :math:`\ell_i` is the loss of row i summed over its outputs and κ the weight the reduction gives one row:

====================================  ===========================================================
loss, reduction                       κ
====================================  ===========================================================
``MSELoss``/``BCEWithLogitsLoss``,    1/(n·k): the mean is over all n·k elements (k outputs a row)
``"mean"``
``CrossEntropyLoss``, ``"mean"``      1/n (one element a row)
any, ``"sum"``                        1/m for the m = ⌈n/B⌉ minibatches of an epoch (each row once an
                                      epoch): B/n when B divides n, κ = 1 full batch; with ``drop_last``
                                      every step sums B random rows, an estimate of B/n of the full sum
a ½ in front of the loss              κ/2
====================================  ===========================================================

Each row's negative log-likelihood is :math:`a\,\ell_i`: :math:`a = 1/(2\sigma^2)` for the squared error (a
Gaussian with noise sd σ), :math:`a = 1` for the log-losses, which *are* negative log-likelihoods. Dividing J by
κ/a turns it into the negative log posterior, so a coupled decay ``wd`` on θ_g is the prior
:math:`\theta_g \sim N(0, \tau_g^2)` with

.. math:: \frac{1}{\tau_g^2} = \frac{a\, wd_g}{\kappa}, \qquad
          \lambda_g = \frac{wd_g}{2\kappa}\ \text{(regression, } \sigma^2/\tau^2\text{)}, \quad
          \lambda_g = \frac{wd_g}{\kappa}\ \text{(classifier, } 1/\tau^2\text{)}.

With ``MSELoss()`` (mean, k = 1) this is the conventions table's ``wd = 2σ²/(nτ²)``; with ``BCEWithLogitsLoss()``
it is ``wd = 1/(nτ²)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from ..errors import SpecError

__all__ = ["LossReading", "read_loss", "READ_LOSSES"]

#: The losses read as likelihoods: the class, its family, and the per-element negative log-likelihood it is.
READ_LOSSES = {
    "MSELoss": ("gaussian", "(y − f)² per element: the Gaussian negative log-likelihood ½(y − f)²/σ² times 2σ²"),
    "BCEWithLogitsLoss": ("bernoulli", "the Bernoulli negative log-likelihood of a logit"),
    "BCELoss": ("bernoulli", "the Bernoulli negative log-likelihood of a probability"),
    "CrossEntropyLoss": ("categorical", "the categorical negative log-likelihood of the logits"),
}


@dataclass(frozen=True)
class LossReading:
    """The loss as a likelihood: its ``family`` (``gaussian``, ``bernoulli``, ``categorical``), the reduction,
    ``kappa`` (κ, the weight of one row's summed loss in J), whether a ½ was given, the minibatch size read for a
    summed loss, and ``outputs`` (k, elements a row)."""

    loss_name: str
    family: str
    reduction: str
    kappa: float
    half: bool
    outputs: int
    batch_size: int | None
    n_train: int
    description: str

    @property
    def regression(self) -> bool:
        return self.family == "gaussian"

    def nll_per_unit_loss(self, sigma: float | None) -> float:
        """a: a row's negative log-likelihood per unit of its loss (1/(2σ²) squared error, 1 log-loss)."""
        if self.regression:
            if sigma is None:
                raise SpecError("the squared-error loss is a likelihood only once the noise σ is known: give sigma= "
                                "or the training data to estimate it")
            return 1.0 / (2.0 * sigma**2)
        return 1.0

    def prior_precision(self, weight_decay: float, sigma: float | None) -> float:
        """1/τ² = a·wd/κ: the Gaussian prior precision a coupled decay ``weight_decay`` implies."""
        return self.nll_per_unit_loss(sigma) * weight_decay / self.kappa

    def canonical_lam(self, weight_decay: float) -> float:
        """The canonical λ: wd/(2κ) (regression, σ²/τ²) or wd/κ (classifier, 1/τ²); independent of σ."""
        return weight_decay / (2.0 * self.kappa) if self.regression else weight_decay / self.kappa

    @property
    def objective(self) -> str:
        """The training objective written out, per element of the loss."""
        half = "½·" if self.half else ""
        if self.reduction == "mean":
            denom = "n" if self.family == "categorical" or self.outputs == 1 else f"(n·{self.outputs})"
            scale = f"(1/{denom})·Σ"
        elif self.kappa * (2.0 if self.half else 1.0) < 1.0:
            scale = f"{self.kappa * (2.0 if self.half else 1.0):.4g}·Σ"
        else:
            scale = "Σ"
        return f"{half}{scale} {self.loss_name} + Σ_g (wd_g/2)‖θ_g‖²"


def read_loss(loss_fn, n_train: int, *, outputs: int = 1, half: bool = False, reduction: str | None = None,
              batch_size: int | None = None, drop_last: bool = False) -> LossReading:
    """Read ``loss_fn`` (an ``nn.MSELoss``, ``nn.BCEWithLogitsLoss``, ``nn.BCELoss`` or ``nn.CrossEntropyLoss``).

    Parameters
    ----------
    n_train
        Rows in the training set (n).
    outputs
        k, the loss elements of one row (the model's outputs per row; CrossEntropyLoss has one).
    half
        The loss back-propagated was ½ × ``loss_fn`` (the d2l ``squared_loss`` convention).
    reduction
        How a ``reduction="none"`` loss was aggregated before ``backward()``: ``"mean"`` or ``"sum"``.
    batch_size
        Rows a minibatch (matters for a summed loss only); None: full batch.
    drop_last
        The loader dropped the last, short minibatch of each epoch (``DataLoader(drop_last=True)``).

    Raises
    ------
    SpecError
        A loss that is not one of these, a weighted or label-smoothed loss (no longer a likelihood), or a
        ``reduction="none"`` loss without ``reduction=``.
    """
    name = type(loss_fn).__name__
    if name not in READ_LOSSES or not isinstance(loss_fn, nn.Module):
        known = ", ".join(f"nn.{k}" for k in READ_LOSSES)
        raise SpecError(f"cannot read {name} as a likelihood; bayesreg reads {known} (the Gaussian, Bernoulli and "
                        "categorical negative log-likelihoods)")
    if not isinstance(n_train, (int,)) or isinstance(n_train, bool) or n_train < 1:
        raise SpecError(f"n_train must be the number of training rows (a positive integer), got {n_train!r}")
    if getattr(loss_fn, "weight", None) is not None or getattr(loss_fn, "pos_weight", None) is not None:
        raise SpecError(f"{name} with class or row weights is a weighted likelihood, not the model's; bayesreg "
                        "reads the unweighted loss")
    if getattr(loss_fn, "label_smoothing", 0.0):
        raise SpecError("CrossEntropyLoss(label_smoothing>0) is not the negative log-likelihood of the labels; "
                        "bayesreg reads label_smoothing=0")
    family, description = READ_LOSSES[name]
    red = loss_fn.reduction
    if red == "none":
        if reduction not in ("mean", "sum"):
            raise SpecError(f"{name}(reduction='none') leaves the aggregation to you: say how you reduced it "
                            "before backward(), reduction='mean' or reduction='sum'")
        red = reduction
    elif reduction is not None and reduction != red:
        raise SpecError(f"reduction={reduction!r} contradicts the loss's own reduction={red!r}")
    if red not in ("mean", "sum"):
        raise SpecError(f"cannot read reduction={red!r}; bayesreg reads 'mean' and 'sum'")
    if batch_size is not None and not (isinstance(batch_size, int) and 1 <= batch_size):
        raise SpecError(f"batch_size must be a positive integer, got {batch_size!r}")
    k = 1 if family == "categorical" else int(outputs)
    if red == "mean":
        kappa = 1.0 / (n_train * k)
    else:
        rows = n_train if batch_size is None else min(batch_size, n_train)
        # the mean per-step gradient over an epoch: each row once in ⌈n/B⌉ steps, or B random rows a step
        kappa = rows / n_train if drop_last else 1.0 / math.ceil(n_train / rows)
    if half:
        kappa *= 0.5
    return LossReading(name, family, red, kappa, bool(half), k, batch_size, n_train, description)
