r"""Did the training run reach the MAP of the prior it implies?

The implied objective (:mod:`bayesreg.torch.loss_reading`) is :math:`J(\theta) = \kappa\sum_i \ell_i(\theta) +
\tfrac12\sum_j wd_j\,\theta_j^2`, with :math:`wd_j` each entry's coupled decay (AdamW: its effective decay
wd·(√v̂_j + ε), or its wd read as coupled). A MAP is a stationary point, so the check is the full-batch gradient
against its own scale,

.. math:: r = \frac{\|\nabla_\theta J\|}{\|\kappa\nabla\textstyle\sum_i\ell_i\| + \|wd\odot\theta\|},

0 at a stationary point and 1 when one term dominates (training far from converged, or a prior the run did not
use). The pull of the data and of the prior must cancel for r to be small, so r does not depend on the scale of
the loss. For a model that is one ``nn.Linear`` (regression with ``MSELoss``, or a binary classifier with
``BCEWithLogitsLoss``) the check also solves for the exact MAP with bayesreg's own solvers (the conjugate
Gaussian posterior, Newton's method for the logistic) and reports the distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..errors import SpecError
from .implied import ImpliedPrior, decay_vector, implied_prior
from .training_data import TrainingRows, float64_copy, training_rows

__all__ = ["MapCheck", "map_check", "STATIONARY_TOL", "linear_layer", "penalised_gradient", "linear_map",
           "prepared_targets"]

#: r below this is called stationary: the data and the prior's pulls cancel to 0.1% of their size
STATIONARY_TOL = 1e-3


@dataclass(frozen=True)
class MapCheck:
    """The result of :func:`map_check`.

    ``relative_gradient`` is r (module docstring) under the implied prior (AdamW: its effective prior), and
    ``stationary`` whether r < ``tolerance``. ``distance_to_map`` is ‖θ − θ_MAP‖/‖θ_MAP‖ for an ``nn.Linear``
    model (None otherwise), ``map`` the exact MAP by parameter name. For AdamW ``naive`` holds the same two
    figures under the coupled reading of its decay.
    """

    relative_gradient: float
    gradient_norm: float
    tolerance: float
    distance_to_map: float | None
    map: dict | None = field(repr=False)
    map_solver: str | None
    naive: dict | None
    reading: ImpliedPrior = field(repr=False)

    @property
    def stationary(self) -> bool:
        return self.relative_gradient < self.tolerance

    @property
    def verdict(self) -> str:
        """One sentence: at the MAP or not, and how far."""
        what = "the effective (AdamW) objective" if self.naive is not None else "the implied penalised objective"
        if self.stationary:
            text = f"at a stationary point of {what} (r = {self.relative_gradient:.2g} < {self.tolerance:g})"
        else:
            text = (f"NOT at a stationary point of {what}: r = {self.relative_gradient:.2g} ≥ {self.tolerance:g}, "
                    "so the trained weights are not the MAP of the prior they imply (train longer, or with a "
                    "smaller final learning rate)")
        if self.distance_to_map is not None:
            text += f"; {self.distance_to_map:.2g} relative from the exact MAP ({self.map_solver})"
        if self.naive is not None:
            text += (f"; under the naive (coupled) reading r = {self.naive['relative_gradient']:.2g}"
                     + ("" if self.naive.get("distance_to_map") is None
                        else f", {self.naive['distance_to_map']:.2g} relative from its MAP"))
        return text

    def __str__(self) -> str:
        return self.verdict


def map_check(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: nn.Module, train_data,
              sigma: float | None = None, *, half: bool = False, reduction: str | None = None,
              batch_size: int | None = None, loss_penalties: dict | None = None,
              tolerance: float = STATIONARY_TOL) -> MapCheck:
    """Whether the trained ``model`` is the MAP of the prior its run implies (module docstring).

    ``train_data`` is the ``DataLoader`` trained with or ``(X, y)``; the other arguments as in
    :func:`bayesreg.torch.implied_prior`. Everything is computed on a float64 copy of the model.
    """
    rows = training_rows(train_data)
    reading = implied_prior(model, optimizer, loss_fn, rows.n, sigma, train_data=train_data, half=half,
                            reduction=reduction, batch_size=batch_size, loss_penalties=loss_penalties)
    model64 = float64_copy(model)
    names = [p.name for p in reading if p.kind != "fixed"]
    if not names:
        raise SpecError("the optimiser trains none of the model's parameters")
    adamw = any(p.kind == "adamw-effective" for p in reading)
    r, gnorm = penalised_gradient(model64, reading, rows, names, adamw="effective")
    linear = linear_layer(model64, reading)
    theta = _flat(model64, names)
    distance = solution = solver = None
    if linear is not None:
        solution, solver = linear_map(linear, reading, rows, adamw="effective")
        distance = _distance(theta, solution)
    naive = None
    if adamw:
        r_naive, _ = penalised_gradient(model64, reading, rows, names, adamw="naive")
        naive = {"relative_gradient": r_naive, "distance_to_map": None}
        if linear is not None:
            naive_solution, _ = linear_map(linear, reading, rows, adamw="naive")
            naive["distance_to_map"] = _distance(theta, naive_solution)
            naive["map"] = _unflatten(model64, names, naive_solution)
    return MapCheck(r, gnorm, tolerance, distance, None if solution is None else _unflatten(model64, names, solution),
                    solver, naive, reading)


# ------------------------------------------------------------------------------------------------ pieces

def prepared_targets(out: torch.Tensor, y: torch.Tensor, family: str) -> torch.Tensor:
    """The targets shaped as the loss needs them against the model's output ``out``."""
    if family == "categorical":
        return y.reshape(-1).long()
    y = y.to(torch.float64)
    if y.shape == out.shape:
        return y
    if y.numel() != out.numel():
        raise SpecError(f"the model's output has shape {tuple(out.shape)} and the targets {tuple(y.shape)}: the "
                        "loss would broadcast them into a matrix")
    return y.reshape(out.shape)


def _summed_loss(model64, rows: TrainingRows, family: str, loss_name: str) -> torch.Tensor:
    out = model64(rows.X)
    y = prepared_targets(out, rows.y, family)
    fn = getattr(nn, loss_name)(reduction="sum")
    return fn(out, y)


def penalised_gradient(model64, reading: ImpliedPrior, rows: TrainingRows, names, *, adamw: str = "effective"):
    """(r, ‖∇J‖): the relative full-batch gradient of the implied objective over ``names`` (module docstring)."""
    params = dict(model64.named_parameters())
    wanted = [params[n] for n in names]
    model64.zero_grad()
    loss = reading.loss.kappa * _summed_loss(model64, rows, reading.loss.family, reading.loss.loss_name)
    grads = torch.autograd.grad(loss, wanted, allow_unused=True)
    g_loss = np.concatenate([np.zeros(p.numel()) if g is None else g.detach().numpy().ravel()
                             for g, p in zip(grads, wanted, strict=True)])
    theta = _flat(model64, names)
    g_prior = decay_vector(reading, names, adamw=adamw) * theta
    total = np.linalg.norm(g_loss + g_prior)
    scale = np.linalg.norm(g_loss) + np.linalg.norm(g_prior)
    return (float(total / scale) if scale > 0 else 0.0), float(total)


def linear_layer(model64: nn.Module, reading: ImpliedPrior) -> nn.Linear | None:
    """The model's one ``nn.Linear`` when the model is that layer alone (possibly inside ``nn.Sequential``,
    after an ``nn.Flatten``) with one output, a Gaussian or Bernoulli loss and every parameter trained; else
    None."""
    if reading.loss.family not in ("gaussian", "bernoulli") or reading.loss.loss_name == "BCELoss":
        return None
    if isinstance(model64, nn.Linear):
        layer = model64
    elif isinstance(model64, nn.Sequential):
        kids = [m for m in model64 if not isinstance(m, (nn.Flatten, nn.Identity))]
        if len(kids) != 1 or not isinstance(kids[0], nn.Linear):
            return None
        layer = kids[0]
    else:
        return None
    if layer.out_features != 1 or any(p.kind == "fixed" for p in reading):
        return None
    return layer


def linear_map(layer: nn.Linear, reading: ImpliedPrior, rows: TrainingRows, *, adamw: str = "effective"):
    """The exact MAP of an ``nn.Linear`` model under ``reading``'s prior, flattened as (weight, bias), and the
    solver used.

    Regression: the conjugate posterior's mean (:func:`bayesreg.gaussian_posterior`) for one τ on the weight,
    else the same normal equations with a per-entry prior precision P: (ZᵀZ/σ² + P)θ = Zᵀy/σ². Classifier:
    Newton's method (:func:`bayesreg.solvers.logistic.logistic_map`); a per-entry precision is made isotropic by
    rescaling the columns, x̃_j = x_j/√p_j.
    """
    from ..infer.conjugate import gaussian_posterior
    from ..priors import Gaussian
    from ..solvers.logistic import logistic_map
    from ..solvers.objective import PenalizedLeastSquares

    names = [n for n, _ in _layer_names(reading, layer)]
    X = rows.X.reshape(rows.n, -1).numpy()
    y = rows.y.to(torch.float64).reshape(-1).numpy()
    a = reading.loss.nll_per_unit_loss(reading.sigma)
    prec = decay_vector(reading, names, adamw=adamw) * a / reading.loss.kappa
    d = X.shape[1]
    has_bias = layer.bias is not None
    p_w = prec[:d]
    p_b = float(prec[d]) if has_bias else None
    bias = "none" if not has_bias else ("flat" if p_b == 0 else f"normal:{1.0 / math.sqrt(p_b)!r}")
    isotropic = np.all(p_w == p_w[0]) and p_w[0] > 0
    if reading.regression:
        if isotropic:
            post = gaussian_posterior(X, y, prior=Gaussian(1.0 / math.sqrt(p_w[0])), sigma=reading.sigma, bias=bias)
            return np.asarray(post.mean), "bayesreg.gaussian_posterior"
        Z = np.hstack([X, np.ones((rows.n, 1))]) if has_bias else X
        s2 = reading.sigma**2
        try:
            theta = np.linalg.solve(Z.T @ Z / s2 + np.diag(prec), Z.T @ y / s2)
        except np.linalg.LinAlgError:
            raise SpecError("the posterior has a flat direction (no decay and collinear inputs): no unique "
                            "MAP") from None
        return theta, "normal equations with a per-entry prior precision"
    problem_bias = {"bias": "none"} if not has_bias else (
        {"bias": "flat"} if p_b == 0 else {"bias": "penalized", "bias_l2": p_b})
    if isotropic:
        fit = logistic_map(X, y, PenalizedLeastSquares(l2=float(p_w[0]), **problem_bias), tol=1e-13)
        return np.append(fit.w, fit.b) if has_bias else fit.w, "bayesreg.solvers.logistic.logistic_map (Newton)"
    if np.any(p_w <= 0):
        raise SpecError("a per-entry prior with some entries undecayed has no isotropic rescaling; the exact "
                        "logistic MAP is not computed here")
    scale = 1.0 / np.sqrt(p_w)
    fit = logistic_map(X * scale, y, PenalizedLeastSquares(l2=1.0, **problem_bias), tol=1e-13)
    w = fit.w * scale
    return (np.append(w, fit.b) if has_bias else w), "logistic_map on rescaled columns (Newton)"


def _layer_names(reading: ImpliedPrior, layer: nn.Linear):
    """(name, tensor) of the layer's weight then bias, as ``named_parameters()`` names them."""
    ids = {id(layer.weight): 0}
    if layer.bias is not None:
        ids[id(layer.bias)] = 1
    return sorted(((n, p) for n, p in _named(layer, reading)), key=lambda item: ids[id(item[1])])


def _named(layer, reading):
    wanted = {"weight": layer.weight, "bias": layer.bias}
    for name in reading.parameters:
        leaf = name.rsplit(".", 1)[-1]
        if leaf in wanted and wanted[leaf] is not None:
            yield name, wanted[leaf]


def _flat(model64, names) -> np.ndarray:
    params = dict(model64.named_parameters())
    return np.concatenate([params[n].detach().numpy().ravel() for n in names])


def _unflatten(model64, names, theta) -> dict:
    params = dict(model64.named_parameters())
    out, start = {}, 0
    for n in names:
        size = params[n].numel()
        out[n] = np.asarray(theta[start:start + size]).reshape(tuple(params[n].shape))
        start += size
    return out


def _distance(theta: np.ndarray, solution: np.ndarray) -> float:
    ref = np.linalg.norm(solution)
    return float(np.linalg.norm(theta - solution) / (ref if ref > 0 else 1.0))
