r"""Penalised training in PyTorch, read as MAP estimation: where it reaches the MAP and where practice breaks it.

Every function here trains ``w`` (and the bias ``b``) of a linear model in float64 and returns a
:class:`~bayesreg.solvers.objective.MapResult`. The MAP is the minimiser of the canonical objective
(:mod:`bayesreg.solvers.objective`)

.. math::

    J(w, b) = \tfrac12 \sum_i r_i^2 + \lambda_1 \|w\|_1 + \tfrac{\lambda_2}{2}\|w\|_2^2
              \;[+\; \tfrac{\lambda_b}{2} b^2], \qquad r = y - Xw - b,

but the optimisers minimise ``nn.MSELoss()`` (the *mean* of r², no ½) plus their own penalty, the
``torch_sgd_mse`` convention of :mod:`bayesreg.conventions`:

.. math::

    J_{\text{torch}}(w, b) = \frac1n \sum_i r_i^2 + \ell_1 \|w\|_1 + \frac{\text{wd}}{2}\|w\|_2^2
              \;[+\; \frac{\text{wd}_b}{2} b^2] \;=\; \frac{2}{n} J(w, b)
    \quad\text{iff}\quad \text{wd} = \frac{2\lambda_2}{n},\; \ell_1 = \frac{2\lambda_1}{n},\;
    \text{wd}_b = \frac{2\lambda_b}{n}

(``from_canonical_lam(penalty, λ, n, "torch_sgd_mse")``; for L1, ``(1/n)Σr² + ℓ₁‖w‖₁ = (2/n)(½Σr² + (nℓ₁/2)‖w‖₁)``).
Same minimiser, so training run to convergence at the *converted* λ is the MAP:

* :func:`sgd_weight_decay`: ``torch.optim.SGD(weight_decay=wd)``, heavy-ball momentum: reaches the ridge MAP;
* :func:`prox_sgd`: :class:`ProxSGD` (proximal gradient, ISTA) for L1 / elastic net: reaches the lasso MAP with
  its exact zeros;
* :func:`adam_l2`: ``torch.optim.Adam(weight_decay=wd)`` (coupled L2, gradient ``g + wd·w``): the MAP is its fixed
  point, reached with a decaying learning rate.

and where it does not:

* :func:`subgradient_sgd`: L1 written into the loss (``+ ℓ₁ * w.abs().sum()``) with plain SGD hovers around the
  lasso solution and never produces its exact zeros;
* :func:`adamw`: ``torch.optim.AdamW(weight_decay=wd)`` decays the weights outside the adaptive preconditioner,
  so its fixed point is not the Gaussian-prior MAP;
* :func:`d2l_chapter_run`: the Dive into Deep Learning weight-decay chapter's loop, stopped after 100 epochs:
  early stopping, not the penalty, decides where it ends.

**Classifiers.** With ``loss="logistic"`` every function trains ``nn.BCEWithLogitsLoss()`` (the mean log-loss)
instead, the ``torch_bce_mean`` convention: ``(1/n)Σ logloss + (wd/2)‖w‖² = (1/n)J(w, b)`` for the canonical
``J = Σ logloss + (λ₂/2)‖w‖² [+ λ₁‖w‖₁]``, so ``wd = λ₂/n``, ``ℓ₁ = λ₁/n``, ``wd_b = λ_b/n``; default steps use
the log-loss's curvature bound p(1 − p) ≤ ¼.

Bias: ``problem.bias == "flat"`` trains b in its own parameter group with no decay (flat prior), ``"none"`` has
no b, ``"penalized"`` decays b with ``wd_b = 2λ_b/n`` (prior ``b ~ N(0, σ²/λ_b)``).

Every function records a ``trace`` per iteration (``info["iteration_unit"]``): the distance
``‖w − w_ref‖∞`` to a ``reference`` MAP when one is given, else the canonical objective J. A run has
``converged`` when the largest change of any parameter in one step falls below ``tol · max(1, max|w|)``
within ``max_steps``; otherwise it warns with :class:`~bayesreg.solvers.objective.ConvergenceWarning`.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..conventions import from_canonical_lam, get_convention
from ..data import D2LProblem
from ..errors import SpecError
from ..validate import count, finite_array, positive
from .objective import ConvergenceWarning, MapResult, PenalizedLeastSquares

__all__ = [
    "ProxSGD",
    "sgd_weight_decay",
    "prox_sgd",
    "subgradient_sgd",
    "adam_l2",
    "adamw",
    "d2l_chapter_run",
]

#: The convention of every optimiser here: ``nn.MSELoss()`` (mean of r², no ½) plus ``(wd/2)‖w‖²`` / ``ℓ₁‖w‖₁``.
CONVENTION = "torch_sgd_mse"
#: The same for a classifier: ``nn.BCEWithLogitsLoss()`` (mean log-loss) plus the same penalties.
CLASSIFIER_CONVENTION = "torch_bce_mean"
#: the losses the optimisers train: the squared residual (regression) and the log-loss (a classifier)
LOSSES = ("squared", "logistic")
_DTYPE = torch.float64


# --------------------------------------------------------------------------------------------------------------
# The proximal optimiser
# --------------------------------------------------------------------------------------------------------------


class ProxSGD(torch.optim.Optimizer):
    r"""Proximal SGD: ``torch.optim.SGD`` with an L1 penalty handled exactly (``torch.optim.SGD`` has no L1).

    For each parameter ``p`` of a group with step ``lr``, L1 strength ``l1`` and ``weight_decay``:

    .. math::

        p \leftarrow \operatorname{soft}_{\text{lr}\cdot\ell_1}\big(p - \text{lr}\,(\nabla_p \text{loss}
        + \text{weight\_decay}\cdot p)\big), \qquad \operatorname{soft}_t(z) = \operatorname{sign}(z)\max(|z| - t, 0),

    a proximal-gradient (ISTA) step on

    .. math:: \text{loss}(p) + \ell_1 \|p\|_1 + \frac{\text{weight\_decay}}{2} \|p\|_2^2 .

    The soft-threshold sets coordinates to exact zeros, which a subgradient of ``|p|`` never does. With the full
    batch and ``lr ≤ 1/L`` (L the Lipschitz constant of the gradient of ``loss + (weight_decay/2)‖p‖²``) the
    iterates converge to a minimiser. Per-group options (``lr``, ``l1``, ``weight_decay``) work as in torch:
    put the bias in its own group with ``l1=0, weight_decay=0`` to leave it unpenalised.

    Parameters
    ----------
    params
        Parameters or parameter groups (dicts), as for any ``torch.optim.Optimizer``.
    lr
        Step size, > 0.
    l1
        L1 strength ℓ₁ ≥ 0 (0: plain SGD step).
    weight_decay
        L2 strength ≥ 0, added to the gradient as in ``torch.optim.SGD``.
    accelerate
        FISTA's momentum (Beck & Teboulle 2009), restarted whenever it points uphill (O'Donoghue & Candès 2015):
        O(1/k²) instead of ISTA's O(1/k), and linear near a well-conditioned minimiser. The parameter then holds
        the extrapolated point; where the proximal points are 0 two steps running, so is it.

    Examples
    --------
    >>> w = torch.tensor([1.0, -0.05], dtype=torch.float64, requires_grad=True)
    >>> opt = ProxSGD([w], lr=0.5, l1=0.2)
    >>> (0.5 * (w ** 2).sum()).backward()     # gradient = w
    >>> _ = opt.step()                        # soft(w − 0.5 w, 0.1) = soft([0.5, −0.025], 0.1)
    >>> w.detach().tolist()
    [0.4, 0.0]
    """

    def __init__(self, params, lr: float, l1: float = 0.0, weight_decay: float = 0.0, accelerate: bool = False):
        _check_optimizer_option("lr", lr, positive=True)
        _check_optimizer_option("l1", l1)
        _check_optimizer_option("weight_decay", weight_decay)
        self.accelerate = bool(accelerate)
        super().__init__(params, {"lr": lr, "l1": l1, "weight_decay": weight_decay})

    def add_param_group(self, param_group: dict) -> None:
        """Add a group, checking its own ``lr`` / ``l1`` / ``weight_decay`` like the defaults."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        _check_optimizer_option("lr", group["lr"], positive=True)
        _check_optimizer_option("l1", group["l1"])
        _check_optimizer_option("weight_decay", group["weight_decay"])

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        """One proximal step for every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, l1, wd = group["lr"], group["l1"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("ProxSGD does not support sparse gradients")
                grad = p.grad if wd == 0 else p.grad.add(p, alpha=wd)
                if not self.accelerate:
                    p.add_(grad, alpha=-lr)
                    if l1 > 0:
                        _soft_threshold_(p, lr * l1)
                    continue
                # FISTA (Beck & Teboulle 2009) with gradient restart (O'Donoghue & Candès 2015): p holds the
                # extrapolated point y, the state the last proximal point x and the momentum sequence t
                state = self.state[p]
                x_prev = state.get("x")
                x = p - lr * grad
                if l1 > 0:
                    _soft_threshold_(x, lr * l1)
                if x_prev is None:
                    x_prev, t = p.detach().clone(), 1.0
                else:
                    t = state["t"]
                if float(((p - x) * (x - x_prev)).sum()) > 0:  # the momentum points uphill: restart it
                    t = 1.0
                t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
                p.copy_(x + ((t - 1.0) / t_next) * (x - x_prev))
                state["x"], state["t"] = x, t_next
        return loss


def _soft_threshold_(p: torch.Tensor, t: float) -> None:
    """In place: ``p ← sign(p)·max(|p| − t, 0)``, zeros as +0.0."""
    shrunk = p.abs().sub_(t).clamp_(min=0.0)
    p.copy_(shrunk.mul_(p.sign()).add_(0.0))  # −0.0 + 0.0 = +0.0


def _check_optimizer_option(name: str, value, positive: bool = False) -> None:
    """torch-style checks of an optimiser option (ValueError, here SpecError, naming the value)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"Invalid {name}: {value!r}; pass a number") from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        bound = "> 0" if positive else "≥ 0"
        raise SpecError(f"Invalid {name} value: {value}; it must be a finite number {bound}")


# --------------------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Data:
    """Validated float64 inputs as numpy and torch arrays, with the torch-convention penalties."""

    X: np.ndarray
    y: np.ndarray
    Xt: torch.Tensor
    yt: torch.Tensor
    problem: PenalizedLeastSquares
    reference: torch.Tensor | None
    wd: float  # weight decay of w: 2λ₂/n (λ₂/n for the log-loss)
    wd_b: float  # weight decay of b: 2λ_b/n
    l1: float  # L1 strength of w: 2λ₁/n
    loss: str = "squared"

    @property
    def convention(self) -> str:
        return CONVENTION if self.loss == "squared" else CLASSIFIER_CONVENTION

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]


def _prepare(method: str, X, y, problem, reference, *, l2_only: bool = False, loss: str = "squared") -> _Data:
    """Check the inputs at the boundary and convert the canonical λ's to the ``torch_sgd_mse`` convention
    (``torch_bce_mean`` for ``loss="logistic"``)."""
    if loss not in LOSSES:
        raise SpecError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    X = _finite_array(X, "X")
    y = _finite_array(y, "y")
    if X.ndim != 2:
        raise SpecError(f"X must be 2-D (n rows, d features), got shape {X.shape}; reshape it to (n, d)")
    if y.ndim != 1:
        raise SpecError(f"y must be 1-D, got shape {y.shape}; flatten it with ravel()")
    if X.shape[0] != y.shape[0]:
        raise SpecError(f"X has {X.shape[0]} rows but y has {y.shape[0]} values; pass one target per row")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise SpecError(f"X has shape {X.shape}; it needs at least one row and one feature column")
    if not np.any(X):
        raise SpecError("X is all zeros: there is nothing to fit; pass the design matrix")
    if not isinstance(problem, PenalizedLeastSquares):
        raise SpecError(
            f"problem must be a PenalizedLeastSquares (e.g. PenalizedLeastSquares(l2=1.0)), "
            f"got {type(problem).__name__}"
        )
    if l2_only and problem.l1 > 0:
        raise SpecError(
            f"{method} has no L1 option but problem.l1 = {problem.l1}; use prox_sgd for L1 / elastic net "
            "(or subgradient_sgd to see the naive way), or set l1=0"
        )
    ref = _reference(reference, X.shape[1])
    n = X.shape[0]
    if loss == "logistic":  # (1/n)Σ logloss + (wd/2)‖w‖² + ℓ₁‖w‖₁ = (1/n)(Σ logloss + (nwd/2)‖w‖² + nℓ₁‖w‖₁)
        conv = get_convention(CLASSIFIER_CONVENTION, "logistic")
        return _Data(X=X, y=y, Xt=torch.from_numpy(X), yt=torch.from_numpy(y), problem=problem, reference=ref,
                     wd=from_canonical_lam("l2", problem.l2, n, conv),
                     wd_b=from_canonical_lam("l2", problem.bias_l2, n, conv), l1=problem.l1 / n, loss=loss)
    return _Data(
        X=X, y=y, Xt=torch.from_numpy(X), yt=torch.from_numpy(y), problem=problem, reference=ref,
        wd=from_canonical_lam("l2", problem.l2, n, CONVENTION),
        wd_b=from_canonical_lam("l2", problem.bias_l2, n, CONVENTION),
        # sklearn-style L1 through the same arithmetic: (1/n)Σr² + ℓ₁‖w‖₁ = (2/n)(½Σr² + (nℓ₁/2)‖w‖₁).
        l1=2.0 * problem.l1 / n,
    )


_finite_array = finite_array


def _reference(reference, d: int) -> torch.Tensor | None:
    if reference is None:
        return None
    ref = _finite_array(reference, "reference")
    if ref.shape != (d,):
        raise SpecError(f"reference must be the MAP's w, shape ({d},), got shape {ref.shape}")
    return torch.from_numpy(ref)


def _positive_int(value, name: str) -> int:
    return count(value, name, 1, what="a positive whole number")


def _lr_or_none(lr) -> float | None:
    return None if lr is None else positive(lr, "lr (the learning rate)")


# --------------------------------------------------------------------------------------------------------------
# Curvature: default step sizes from the Hessian of the torch objective
# --------------------------------------------------------------------------------------------------------------


def _hessian(data: _Data) -> np.ndarray:
    """Hessian of the smooth part of J_torch: ``2κ(n)(ZᵀZ + diag(λ₂, .., λ₂, λ_b or 0))``, κ(n) = 1/n."""
    p = data.problem
    Z = np.column_stack([data.X, np.ones(data.n)]) if p.has_bias else data.X
    diag = np.full(Z.shape[1], p.l2)
    if p.has_bias:
        diag[-1] = p.bias_l2
    if data.loss == "logistic":  # the log-loss's curvature p(1 − p) is at most ¼ (reached at η = 0)
        return (1.0 / data.n) * (0.25 * (Z.T @ Z) + np.diag(diag))
    return (2.0 / data.n) * (Z.T @ Z + np.diag(diag))


def _heavy_ball(hessian: np.ndarray) -> tuple[float, float]:
    """Polyak's (lr, momentum) = (4/(√L+√μ)², ((√L−√μ)/(√L+√μ))²); (1/L, 0) when μ ≈ 0 (not strongly convex)."""
    eig = np.linalg.eigvalsh(hessian)
    L, mu = float(eig[-1]), float(eig[0])
    if mu <= 1e-10 * L:
        return 1.0 / L, 0.0
    sl, sm = math.sqrt(L), math.sqrt(mu)
    return 4.0 / (sl + sm) ** 2, ((sl - sm) / (sl + sm)) ** 2


def _block_steps(data: _Data) -> tuple[float, float | None]:
    r"""Per-group steps ``(lr_w, lr_b)`` with ``H ≼ D = diag(1/lr_w, .., 1/lr_w, 1/lr_b)``.

    With ``P = diag(L_w I, H_bb)`` (``L_w`` = the largest eigenvalue of the w-block of H) and
    ``c = λ_max(P^{-½} H P^{-½}) ∈ [1, 2]``, the steps ``1/(c L_w)`` and ``1/(c H_bb)`` are 1/L steps in the
    metric P: proximal gradient keeps its convergence guarantee, and the bias's curvature (2, from the column of
    ones) no longer dictates the step of w when the features' (2‖x_j‖²/n) are much smaller. Without a bias this
    is ``lr = 1/L``.
    """
    H = _hessian(data)
    d = data.d
    L_w = float(np.linalg.eigvalsh(H[:d, :d])[-1])
    if not data.problem.has_bias:
        return 1.0 / L_w, None
    scale = 1.0 / np.sqrt(np.append(np.full(d, L_w), H[d, d]))
    c = float(np.linalg.eigvalsh(H * np.outer(scale, scale))[-1])
    return 1.0 / (c * L_w), 1.0 / (c * H[d, d])


# --------------------------------------------------------------------------------------------------------------
# The shared training loop
# --------------------------------------------------------------------------------------------------------------


def _groups(w: torch.Tensor, b: torch.Tensor | None, w_opts: dict, b_opts: dict) -> list[dict]:
    """w and b in separate parameter groups (b: its own decay, never L1)."""
    groups = [{"params": [w], **w_opts}]
    if b is not None:
        groups.append({"params": [b], **b_opts})
    return groups


def _train(
    method: str,
    data: _Data,
    make_optimizer: Callable[[torch.Tensor, torch.Tensor | None], torch.optim.Optimizer],
    *,
    max_steps: int,
    tol: float,
    extra_penalty: Callable[[torch.Tensor], torch.Tensor] | None = None,
    schedule: Callable[[int], float] | None = None,
    info: dict,
    note: str = "",
) -> MapResult:
    """Full-batch training of ``nn.MSELoss()(Xw + b, y) [+ extra_penalty(w)]`` from w = 0, b = 0.

    Each step: set ``lr = lr₀ · schedule(step)`` per group (if a schedule is given), ``optimizer.step(closure)``,
    record the trace, stop when ``max|Δparam| < tol · max(1, max|w|)``. Warns ConvergenceWarning (with ``note``)
    otherwise, or when a parameter becomes inf/NaN.
    """
    max_steps = _positive_int(max_steps, "max_steps")
    tol = positive(tol, "tol")
    problem, X, y, ref = data.problem, data.Xt, data.yt, data.reference
    w = torch.zeros(data.d, dtype=_DTYPE, requires_grad=True)
    b = torch.zeros((), dtype=_DTYPE, requires_grad=True) if problem.has_bias else None
    optimizer = make_optimizer(w, b)
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    mse = torch.nn.MSELoss() if data.loss == "squared" else torch.nn.BCEWithLogitsLoss()

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        pred = X @ w if b is None else X @ w + b
        loss = mse(pred, y)
        if extra_penalty is not None:
            loss = loss + extra_penalty(w)
        loss.backward()
        return loss

    def measure() -> float:
        if ref is not None:
            return (w - ref).abs().max().item()
        eta = X @ w if b is None else X @ w + b
        if data.loss == "logistic":
            fit = torch.nn.functional.binary_cross_entropy_with_logits(eta, y, reduction="sum")
        else:
            fit = 0.5 * (y - eta).dot(y - eta)
        value = fit + problem.l1 * w.abs().sum() + 0.5 * problem.l2 * w.dot(w)
        if b is not None:
            value = value + 0.5 * problem.bias_l2 * b * b
        return value.item()

    trace = np.empty(max_steps)
    converged, change, step = False, math.inf, 0
    start = time.perf_counter()
    for step in range(1, max_steps + 1):
        if schedule is not None:
            factor = schedule(step)
            for group, lr0 in zip(optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = lr0 * factor
        with torch.no_grad():
            w_prev = w.detach().clone()
            b_prev = None if b is None else b.detach().clone()
        optimizer.step(closure)
        with torch.no_grad():
            change = (w - w_prev).abs().max().item()
            if b is not None:
                change = float(np.max([change, abs((b - b_prev).item())]))  # np.max keeps a NaN
            trace[step - 1] = measure()
            threshold = tol * max(1.0, w.abs().max().item())
        if change < threshold:
            converged = True
            break
        if not math.isfinite(change):
            break
    seconds = time.perf_counter() - start
    if not math.isfinite(change):
        warnings.warn(f"{method} diverged at step {step} (a parameter became inf or NaN); lower lr",
                      ConvergenceWarning, stacklevel=3)
    elif not converged:
        warnings.warn(
            f"{method} did not converge in {max_steps} steps: the last step moved a parameter by {change:.3g} "
            f"(needs < tol·max(1, max|w|) = {threshold:.3g}); raise max_steps or tol{note}",
            ConvergenceWarning,
            stacklevel=3,
        )
    info.update({"iteration_unit": "step", "convention": data.convention, "tol": tol, "last_change": change,
                 "trace": "distance ‖w − reference‖∞" if ref is not None else "canonical objective J(w, b)"})
    if ref is not None:
        info["distance"] = float(trace[step - 1])
    return MapResult(
        method=method,
        w=w.detach().numpy().copy(),
        b=None if b is None else float(b.item()),
        converged=converged,
        iterations=step,
        seconds=seconds,
        trace=trace[:step].copy(),
        info=info,
    )


def _objective_text(data: _Data, l1: bool) -> str:
    bias = {"flat": " (b unpenalised)", "none": " (no b)", "penalized": " + (wd_b/2) b²"}[data.problem.bias]
    if data.loss == "logistic":
        return "(1/n) Σ logloss" + (" + ℓ₁ ‖w‖₁" if l1 else "") + " + (wd/2) ‖w‖²" + bias + " = (1/n) J(w, b)"
    return "(1/n) Σ rᵢ²" + (" + ℓ₁ ‖w‖₁" if l1 else "") + " + (wd/2) ‖w‖²" + bias + " = (2/n) J(w, b)"


# --------------------------------------------------------------------------------------------------------------
# Public training functions
# --------------------------------------------------------------------------------------------------------------


def sgd_weight_decay(X, y, problem: PenalizedLeastSquares, *, reference=None, lr: float | None = None,
                     momentum: float | None = None, max_steps: int = 100_000, tol: float = 1e-12,
                     loss: str = "squared") -> MapResult:
    r"""``torch.optim.SGD(weight_decay=wd)`` on ``nn.MSELoss()``, full batch: the ridge MAP.

    Minimises

    .. math::

        \frac1n \sum_i r_i^2 + \frac{\text{wd}}{2}\|w\|^2 \;[+\; \frac{\text{wd}_b}{2} b^2] = \frac2n J(w, b),
        \qquad \text{wd} = \frac{2\lambda_2}{n},\; \text{wd}_b = \frac{2\lambda_b}{n}

    (``from_canonical_lam("l2", λ₂, n, "torch_sgd_mse")``), so its minimiser is the canonical ridge MAP.
    Defaults: Polyak's heavy ball for the quadratic's Hessian
    ``H = (2/n)(ZᵀZ + diag(λ₂, .., λ₂, λ_b or 0))``, ``Z = [X, 1]`` (``Z = X`` without a bias):
    ``lr = 4/(√L + √μ)²``, ``momentum = ((√L − √μ)/(√L + √μ))²`` with L, μ its extreme eigenvalues
    (O(√(L/μ)) steps); when μ ≈ 0 (no penalty and n < d: the MAP is not unique) ``lr = 1/L``, ``momentum = 0``.

    Parameters
    ----------
    X, y
        Design matrix (n, d) and target (n,).
    problem
        The canonical objective; ``problem.l1`` must be 0 (SGD has no L1: use :func:`prox_sgd`).
    reference
        The MAP's w, to trace ``‖w − w_ref‖∞`` per step (else the canonical J is traced).
    lr, momentum
        Override the heavy-ball defaults (``momentum`` defaults to 0 when only ``lr`` is given).
    max_steps, tol
        Stop when a step changes no parameter by more than ``tol · max(1, max|w|)``; warn
        ConvergenceWarning if that does not happen within ``max_steps``.

    Returns
    -------
    MapResult
        ``method="sgd_weight_decay"``, ``info`` with ``lr``, ``momentum``, ``weight_decay``, ``bias_weight_decay``.

    Examples
    --------
    >>> from bayesreg.data import load_diabetes
    >>> ds = load_diabetes()
    >>> res = sgd_weight_decay(ds.X, ds.y, PenalizedLeastSquares(l2=1.0))
    >>> res.converged, res.info["weight_decay"] == 2 * 1.0 / 442
    (True, True)
    """
    data = _prepare("sgd_weight_decay", X, y, problem, reference, l2_only=True, loss=loss)
    lr = _lr_or_none(lr)
    if momentum is not None:
        momentum = float(momentum)
        if not (0.0 <= momentum < 1.0):
            raise SpecError(f"momentum must be in [0, 1), got {momentum}")
    if lr is None:
        lr, hb_momentum = _heavy_ball(_hessian(data))
        momentum = hb_momentum if momentum is None else momentum
    momentum = 0.0 if momentum is None else momentum

    def make(w, b):
        groups = _groups(w, b, {"weight_decay": data.wd}, {"weight_decay": data.wd_b})
        return torch.optim.SGD(groups, lr=lr, momentum=momentum)

    info = {"lr": lr, "momentum": momentum, "weight_decay": data.wd, "bias_weight_decay": data.wd_b,
            "objective": _objective_text(data, l1=False)}
    return _train("sgd_weight_decay", data, make, max_steps=max_steps, tol=tol, info=info)


def prox_sgd(X, y, problem: PenalizedLeastSquares, *, reference=None, lr: float | None = None,
             max_steps: int = 200_000, tol: float = 1e-12, loss: str = "squared",
             accelerate: bool | None = None) -> MapResult:
    r""":class:`ProxSGD` on ``nn.MSELoss()``, full batch (ISTA): the lasso / elastic-net MAP, exact zeros included.

    Minimises

    .. math::

        \frac1n \sum_i r_i^2 + \ell_1 \|w\|_1 + \frac{\text{wd}}{2}\|w\|^2 \;[+\; \frac{\text{wd}_b}{2} b^2]
        = \frac2n J(w, b), \qquad \ell_1 = \frac{2\lambda_1}{n},\; \text{wd} = \frac{2\lambda_2}{n},\;
        \text{wd}_b = \frac{2\lambda_b}{n}.

    No momentum: plain proximal gradient with step ≤ 1/L converges, monotonically in the objective. Default
    steps: ``lr = 1/L`` in the metric ``P = diag(L_w I, H_bb)``, i.e. ``lr_w = 1/(c L_w)`` for w and
    ``lr_b = 1/(c H_bb)`` for b, with H the smooth part's Hessian (see :func:`sgd_weight_decay`), ``L_w`` the
    largest eigenvalue of its w-block and ``c = λ_max(P^{-½} H P^{-½}) ∈ [1, 2]``; since ``H ≼ P·c`` this keeps
    ISTA's guarantee, and the bias's curvature (≈ 2) no longer sets the step of w (curvature ≈ 2‖x_j‖²/n).
    Without a bias it is exactly ``lr = 1/L``. A given ``lr`` is used for both groups.

    Parameters are as for :func:`sgd_weight_decay`; ``problem`` may have any λ₁, λ₂ ≥ 0. ``accelerate``: FISTA
    with restarts (:class:`ProxSGD`); default on for the log-loss, whose curvature at a nearly separable optimum is
    far below the ¼ bound the step is set from (plain ISTA stalled there), off for the squared loss.

    Examples
    --------
    >>> from bayesreg.data import load_diabetes
    >>> ds = load_diabetes()
    >>> res = prox_sgd(ds.X, ds.y, PenalizedLeastSquares(l1=10.0))
    >>> res.converged, int((res.w == 0).sum())
    (True, 2)
    """
    data = _prepare("prox_sgd", X, y, problem, reference, loss=loss)
    lr = _lr_or_none(lr)
    lr_w, lr_b = (lr, lr) if lr is not None else _block_steps(data)
    accelerate = (data.loss == "logistic") if accelerate is None else bool(accelerate)

    def make(w, b):
        groups = _groups(w, b, {"lr": lr_w, "l1": data.l1, "weight_decay": data.wd},
                         {"lr": lr_b, "l1": 0.0, "weight_decay": data.wd_b})
        return ProxSGD(groups, lr=lr_w, accelerate=accelerate)

    info = {"lr": lr_w, "bias_lr": lr_b, "l1": data.l1, "weight_decay": data.wd, "bias_weight_decay": data.wd_b,
            "objective": _objective_text(data, l1=True), "accelerate": accelerate}
    return _train("prox_sgd", data, make, max_steps=max_steps, tol=tol, info=info)


def subgradient_sgd(X, y, problem: PenalizedLeastSquares, *, reference=None, lr: float | None = None,
                    max_steps: int = 20_000, tol: float = 1e-12, loss: str = "squared") -> MapResult:
    r"""The naive L1: ``loss + ℓ₁ * w.abs().sum()`` with plain ``torch.optim.SGD``: hovers, never exactly zero.

    Minimises (in intent) the same objective as :func:`prox_sgd`,

    .. math::

        \frac1n \sum_i r_i^2 + \ell_1 \|w\|_1 + \frac{\text{wd}}{2}\|w\|^2 \;[+\; \frac{\text{wd}_b}{2} b^2],
        \qquad \ell_1 = \frac{2\lambda_1}{n},

    but autograd's subgradient of ``|w_j|`` is ``sign(w_j)``: a coordinate whose lasso value is 0 is pushed by
    ±lr·ℓ₁ each step across zero and back, hovering at a distance of order lr·ℓ₁ and essentially never landing on
    0.0. With a constant step the iterates do not converge, so the run uses its whole ``max_steps`` budget,
    returns ``converged=False`` and warns (the parameter-change rule is the same as elsewhere). Default steps
    are :func:`prox_sgd`'s, constant, so the two differ only in how they treat the L1 term.

    Examples
    --------
    >>> import warnings
    >>> from bayesreg.data import load_diabetes
    >>> ds = load_diabetes()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", ConvergenceWarning)
    ...     res = subgradient_sgd(ds.X, ds.y, PenalizedLeastSquares(l1=10.0), max_steps=300)
    >>> res.converged, int((res.w == 0).sum())
    (False, 0)
    """
    data = _prepare("subgradient_sgd", X, y, problem, reference, loss=loss)
    lr = _lr_or_none(lr)
    lr_w, lr_b = (lr, lr) if lr is not None else _block_steps(data)
    l1 = data.l1

    def make(w, b):
        groups = _groups(w, b, {"lr": lr_w, "weight_decay": data.wd}, {"lr": lr_b, "weight_decay": data.wd_b})
        return torch.optim.SGD(groups, lr=lr_w)

    info = {"lr": lr_w, "bias_lr": lr_b, "l1": l1, "weight_decay": data.wd, "bias_weight_decay": data.wd_b,
            "objective": _objective_text(data, l1=True)}
    return _train("subgradient_sgd", data, make, max_steps=max_steps, tol=tol,
                  extra_penalty=(lambda w: l1 * w.abs().sum()) if l1 > 0 else None, info=info,
                  note=" (expected: a subgradient step on |w| hovers around 0; use prox_sgd)")



def adam_l2(X, y, problem: PenalizedLeastSquares, *, reference=None, lr: float | None = None,
            decay_steps: float = 1000.0, max_steps: int = 20_000, tol: float = 1e-12,
            loss: str = "squared") -> MapResult:
    r"""``torch.optim.Adam(weight_decay=wd)`` (coupled L2) on ``nn.MSELoss()``, full batch: reaches the ridge MAP.

    Adam's ``weight_decay`` adds ``wd·w`` to the gradient *before* the adaptive moments, so the gradient it
    preconditions is that of

    .. math::

        \frac1n \sum_i r_i^2 + \frac{\text{wd}}{2}\|w\|^2 \;[+\; \frac{\text{wd}_b}{2} b^2] = \frac2n J(w, b),
        \qquad \text{wd} = \frac{2\lambda_2}{n}

    (the same ``wd`` as :func:`sgd_weight_decay`). Its fixed point (zero preconditioned gradient) is the
    canonical ridge MAP. A constant step would leave Adam rattling at a distance of order ``lr``, so the step
    decays as ``lr_t = lr / (1 + t/decay_steps)``. Default ``lr = 0.05 · max(1, max|y|)``: Adam moves each
    parameter by about ``lr`` per step, and weights and bias are on the scale of y for features of unit scale.

    Parameters are as for :func:`sgd_weight_decay`, plus ``decay_steps`` (the schedule's time scale).

    Examples
    --------
    >>> from bayesreg.data import load_diabetes
    >>> ds = load_diabetes()
    >>> res = adam_l2(ds.X, ds.y, PenalizedLeastSquares(l2=1.0))
    >>> res.converged
    True
    """
    return _adam("adam_l2", torch.optim.Adam, X, y, problem, reference, lr, decay_steps, max_steps, tol, loss)


def adamw(X, y, problem: PenalizedLeastSquares, *, reference=None, lr: float | None = None,
          decay_steps: float = 1000.0, max_steps: int = 20_000, tol: float = 1e-12, loss: str = "squared") -> MapResult:
    r"""``torch.optim.AdamW(weight_decay=wd)`` (decoupled decay), full batch: its fixed point is *not* the MAP.

    AdamW steps ``w ← w − lr_t (wd·w + m̂/(√v̂ + ε))`` with m̂, v̂ the moments of the loss gradient
    ``g = ∇ (1/n)Σr²`` alone: the decay bypasses the preconditioner. Nothing is minimised in the sense of
    ``loss + penalty``; at a fixed point m̂ = g, v̂ = g², so each coordinate solves

    .. math:: \frac{g_j}{|g_j| + \varepsilon} = -\text{wd}\, w_j ,

    not the ridge condition ``g_j = −wd·w_j``. For ``wd·|w_j| < 1`` this needs ``|g_j| ≈ ε·wd·|w_j|``
    (ε = 1e-8): a nearly stationary point of the *unpenalised* loss. Measured on full-batch problems it ends near
    least squares, far from the ridge MAP that :func:`adam_l2` and :func:`sgd_weight_decay` reach with the same
    ``wd = 2λ₂/n``. The decoupled decay multiplies w by ``1 − lr·wd`` per step, so ``lr·wd < 1`` is required: a
    given ``lr`` beyond it is refused, and a default step (0.05·max|y|) beyond it becomes ``0.5/wd``.
    Schedule, defaults and parameters as for :func:`adam_l2`; ``converged`` reports the same parameter-change
    rule, and says that AdamW stopped moving, not that it found the MAP.
    """
    return _adam("adamw", torch.optim.AdamW, X, y, problem, reference, lr, decay_steps, max_steps, tol, loss)


def _adam(method: str, optimizer_cls, X, y, problem, reference, lr, decay_steps, max_steps, tol,
          loss: str = "squared") -> MapResult:
    """Shared body of :func:`adam_l2` and :func:`adamw`: full batch, ``lr_t = lr / (1 + t/decay_steps)``."""
    data = _prepare(method, X, y, problem, reference, l2_only=True, loss=loss)
    given = lr is not None
    lr = 0.05 * max(1.0, float(np.max(np.abs(data.y)))) if lr is None else positive(lr, "lr (the learning rate)")
    decay_steps = positive(decay_steps, "decay_steps")
    decoupled = optimizer_cls is torch.optim.AdamW
    wd_max = max(data.wd, data.wd_b)
    if decoupled and not given and lr * wd_max >= 1:
        lr = 0.5 / wd_max  # the default step would flip the weights: halve the decay's reach instead
    if decoupled and lr * wd_max >= 1:
        raise SpecError(
            f"adamw multiplies w by 1 − lr·wd each step, and lr·wd = {lr * wd_max:.3g} ≥ 1 (lr={lr}, "
            f"wd={wd_max:.3g}) flips or blows up the weights; pass lr < {1 / wd_max:.3g}"
        )

    def make(w, b):
        groups = _groups(w, b, {"weight_decay": data.wd}, {"weight_decay": data.wd_b})
        return optimizer_cls(groups, lr=lr)

    objective = (
        "AdamW: w ← w − lr_t (wd·w + m̂/(√v̂+ε)), m̂, v̂ the moments of ∇(1/n) Σ "
        + ("logloss" if data.loss == "logistic" else "rᵢ²") + " (decay outside them)"
        if decoupled else "Adam on the gradient of " + _objective_text(data, l1=False)
    )
    info = {"lr": lr, "decay_steps": decay_steps, "weight_decay": data.wd, "bias_weight_decay": data.wd_b,
            "objective": objective, "schedule": "lr_t = lr / (1 + t/decay_steps)"}
    return _train(method, data, make, max_steps=max_steps, tol=tol,
                  schedule=lambda t: 1.0 / (1.0 + t / decay_steps), info=info)


# --------------------------------------------------------------------------------------------------------------
# Dive into Deep Learning's weight-decay chapter, as the book runs it
# --------------------------------------------------------------------------------------------------------------


def d2l_chapter_run(problem: D2LProblem, lam: float, *, lr: float = 0.003, batch_size: int = 5, epochs: int = 100,
                    seed: int = 0, reference=None) -> MapResult:
    r"""The weight-decay chapter's training loop of Dive into Deep Learning (section 3.7), exactly as written.

    ``w ~ N(0, 1)`` (``torch.normal`` with a ``torch.Generator`` seeded by ``seed``), ``b = 0``; each epoch
    shuffles the rows and for each minibatch of ``batch_size`` computes
    ``l = squared_loss(Xw + b, y) + lam * l2_penalty(w)`` (``squared_loss = ½(ŷ − y)²`` per row,
    ``l2_penalty(w) = ‖w‖²/2``, added to every row), ``l.sum().backward()`` and ``param -= lr * grad / batch_size``
    for w and b (also for a shorter last batch, as ``d2l.sgd`` does). Per minibatch that is a gradient step on

    .. math:: \frac1{|B|}\sum_{i \in B} \tfrac12 r_i^2 + \frac{\lambda}{2}\|w\|^2 ,

    an unbiased estimate of the ``d2l`` convention's objective ``(1/n)Σ½r² + (λ/2)‖w‖² = J(w, b)/n`` at canonical
    λ₂ = nλ (flat bias). After ``epochs`` (100) epochs at ``lr = 0.003`` it is far from converged: the run is
    early-stopped by design, so the result has ``converged=False`` (and no warning), and where it ends is decided
    by the initialisation and the step budget at least as much as by the penalty.

    Parameters
    ----------
    problem
        :func:`bayesreg.data.load_d2l`'s problem; trains on ``problem.train``.
    lam
        The chapter's ``lambd`` ≥ 0 (``d2l`` convention; canonical λ₂ = n·lam).
    lr, batch_size, epochs, seed
        The book's settings by default.
    reference
        The MAP's w: the trace is then ``‖w − w_ref‖∞`` per epoch, else the training loss (mean ½r²).

    Returns
    -------
    MapResult
        ``method="d2l_chapter"``, ``iterations = epochs``, ``info["iteration_unit"] = "epoch"``, ``info`` with
        ``w_norm`` (‖w‖₂ at the end, the number the book prints), ``train_loss`` and ``test_loss`` (mean ½r²).

    Examples
    --------
    >>> from bayesreg.data import load_d2l
    >>> res = d2l_chapter_run(load_d2l(seed=0), lam=3.0)
    >>> 0.2 < res.info["w_norm"] < 0.6
    True
    """
    if not isinstance(problem, D2LProblem):
        raise SpecError(f"problem must be a D2LProblem (bayesreg.data.load_d2l()), got {type(problem).__name__}")
    try:
        lam = float(lam)
    except (TypeError, ValueError):
        raise SpecError(f"lam must be a number ≥ 0, got {lam!r}") from None
    if not (math.isfinite(lam) and lam >= 0):
        raise SpecError(f"lam must be a finite number ≥ 0 (a negative weight decay implies no prior), got {lam}")
    lr = positive(lr, "lr (the learning rate)")
    batch_size = _positive_int(batch_size, "batch_size")
    epochs = _positive_int(epochs, "epochs")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecError(f"seed must be a whole number ≥ 0, got {seed!r}")
    X, y = torch.from_numpy(np.array(problem.train.X)), torch.from_numpy(np.array(problem.train.y))
    ref = _reference(reference, X.shape[1])
    n, d = X.shape

    gen = torch.Generator().manual_seed(int(seed))
    w = torch.normal(0.0, 1.0, size=(d,), generator=gen, dtype=_DTYPE).requires_grad_(True)
    b = torch.zeros(1, dtype=_DTYPE, requires_grad=True)

    def half_mse(X_, y_) -> float:
        with torch.no_grad():
            return (0.5 * (X_ @ w + b - y_) ** 2).mean().item()

    trace = np.empty(epochs)
    start = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=gen)
        for first in range(0, n, batch_size):
            rows = order[first:first + batch_size]
            l = 0.5 * (X[rows] @ w + b - y[rows]) ** 2 + lam * (w**2).sum() / 2
            l.sum().backward()
            with torch.no_grad():
                for param in (w, b):
                    param -= lr * param.grad / batch_size
                    param.grad.zero_()
        with torch.no_grad():
            trace[epoch] = (w - ref).abs().max().item() if ref is not None else half_mse(X, y)
    seconds = time.perf_counter() - start
    w_out = w.detach().numpy().copy()
    info = {
        "iteration_unit": "epoch", "convention": "d2l", "lam": lam, "canonical_lam": lam * n, "lr": lr,
        "batch_size": batch_size, "seed": int(seed),
        "objective": "(1/n) Σ ½ rᵢ² + (λ/2) ‖w‖² (minibatch estimates; b unpenalised) = J(w, b)/n",
        "w_norm": float(np.linalg.norm(w_out)),
        "train_loss": half_mse(X, y),
        "test_loss": half_mse(torch.from_numpy(np.array(problem.test.X)), torch.from_numpy(np.array(problem.test.y))),
        "trace": "distance ‖w − reference‖∞" if ref is not None else "training loss, mean ½ r²",
    }
    if ref is not None:
        info["distance"] = float(trace[-1])
    return MapResult(method="d2l_chapter", w=w_out, b=float(b.item()), converged=False, iterations=epochs,
                     seconds=seconds, trace=trace, info=info)
