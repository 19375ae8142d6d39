r"""The Laplace approximation of a PyTorch training run, computed by laplace-torch.

laplace-torch (Daxberger et al. 2021, https://github.com/aleximmer/Laplace) supplies the curvature: the
generalised Gauss–Newton matrix H of the negative log-likelihood at the trained parameters θ*, over all of them
(``subset="all"``) or over the last layer (``"last_layer"``), full (dense). bayesreg supplies what the training
run implies and laplace-torch cannot know: the prior precision of each entry (:func:`implied_prior`; 0 for an
undecayed parameter, AdamW's effective precision read from its state) and, for regression, σ. The posterior is

.. math:: \theta \mid y \approx N(\theta^*, (H + P_0)^{-1}),

exact for linear regression with Gaussian noise when θ* is the MAP. Its log marginal likelihood is
laplace-torch's

.. math:: \log p(y) \approx \log p(y \mid \theta^*) - \tfrac12\,\theta^{*\top} P_0\,\theta^*
          - \tfrac12\big[\log\det(H + P_0) - \log\det{}' P_0\big] + \tfrac{m}{2}\log 2\pi,

where log det′ runs over the m′ decayed entries and the last term integrates the m undecayed entries against a
flat prior of density 1 (laplace-torch's own formula would take log 0 there); for linear regression this is the
exact evidence (:func:`bayesreg.gaussian_posterior`), flat bias included.

**The log marginal likelihood against weight decay.** Scaling every decay by s, the Laplace-GGN model is the
linearised network, whose log-likelihood is quadratic around θ*:
:math:`\ell(\theta) \approx \ell^* + g^\top\Delta - \tfrac12\Delta^\top H\Delta`, g = ∇ℓ(θ*). Its mode under
:math:`sP_0` is :math:`\theta_s = (H + sP_0)^{-1}(H\theta^* + g)` and its evidence the formula above at θ_s.
For linear regression this is the exact evidence at every s, wherever training stopped; for a network it is the
evidence of the network linearised at θ* (Immer et al. 2021), without retraining.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import optimize, special, stats
from torch import nn

from ..errors import SpecError
from .implied import ImpliedPrior, implied_prior
from .map_check import STATIONARY_TOL as _STATIONARY
from .map_check import prepared_targets
from .training_data import float64_copy, training_rows

__all__ = ["TorchLaplace", "laplace_posterior", "WeightDecayCurve", "Prediction", "SUBSETS"]

SUBSETS = ("all", "last_layer")
_LOG_2PI = math.log(2.0 * math.pi)
_HERMITE_NODES = 96


class _BinaryAsTwoClass(nn.Module):
    """Logits (0, f(x)): softmax over them is (1 − σ(f), σ(f)), so laplace-torch's categorical likelihood is the
    Bernoulli one of a ``BCEWithLogitsLoss`` model with one output."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        f = self.model(x).reshape(x.shape[0], 1)
        return torch.cat([torch.zeros_like(f), f], dim=1)


@dataclass(frozen=True)
class Prediction:
    """Posterior predictive summaries per row. Regression: ``mean``, ``sd`` (of a new observation, σ included),
    ``function_sd`` (of f(x)), and the ``prob`` interval of a new observation. Classifier: ``probability`` (the
    posterior mean probability of each class; of class 1 alone for a binary model) and its ``prob`` interval;
    for a binary model ``function_sd`` is the sd of the logit."""

    mean: np.ndarray | None = None
    sd: np.ndarray | None = None
    function_sd: np.ndarray | None = None
    probability: np.ndarray | None = None
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    prob: float = 0.94


@dataclass(frozen=True)
class WeightDecayCurve:
    """The log marginal likelihood with every decay multiplied by ``multipliers`` (module docstring; NaN where the
    posterior precision is singular)."""

    multipliers: np.ndarray
    log_marginal_likelihood: np.ndarray
    weight_decays: dict            # group index -> the user's weight_decay
    best_multiplier: float
    interior: bool

    def best_weight_decays(self) -> dict:
        """The decay of each group at the best multiplier."""
        return {g: wd * self.best_multiplier for g, wd in self.weight_decays.items()}


@dataclass(frozen=True)
class TorchLaplace:
    """The Laplace approximation of a training run (module docstring).

    ``mean`` and ``covariance`` are over the flattened entries of ``names`` (``named_parameters()`` order; the
    last layer's for ``subset="last_layer"``); ``prior_precision`` is P₀'s diagonal, ``reading`` the implied
    prior, ``stationarity`` the relative size of ∇(ℓ − ½θᵀP₀θ) at θ* against its two terms (0 at a MAP).
    """

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    subset: str
    mean: np.ndarray
    covariance: np.ndarray
    prior_precision: np.ndarray
    reading: ImpliedPrior
    log_likelihood: float
    stationarity: float
    notes: tuple[str, ...]
    _hessian: np.ndarray = field(repr=False)
    _gradient: np.ndarray = field(repr=False)
    _laplace: object = field(repr=False)
    _model: object = field(repr=False, default=None)

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(np.diag(self.covariance))

    def parameter(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(mean, sd) of one parameter, in its own shape."""
        start = 0
        for n, shape in zip(self.names, self.shapes, strict=True):
            size = int(np.prod(shape, dtype=np.int64))
            if n == name:
                return (self.mean[start:start + size].reshape(shape), self.sd[start:start + size].reshape(shape))
            start += size
        raise KeyError(f"no parameter {name!r} in this approximation; it has {', '.join(self.names)}")

    def log_marginal_likelihood(self) -> float:
        """The Laplace log marginal likelihood at the trained parameters (module docstring)."""
        return _log_ml(self.log_likelihood, self.mean, self.prior_precision, self._hessian)

    def weight_decay_curve(self, multipliers=None) -> WeightDecayCurve:
        """The log marginal likelihood with every decay scaled by each of ``multipliers`` (default 10^-4..10^4),
        re-solving the linearised model's mode at each (module docstring), and the best multiplier (Brent's
        method between the best grid point's neighbours). NaN where the posterior precision is singular (a weak
        decay leaves an undecayed direction flat)."""
        decayed = self.prior_precision > 0
        if not decayed.any():
            raise SpecError("no parameter here is decayed: there is no weight decay to scale")
        grid = np.logspace(-4, 4, 161) if multipliers is None else np.asarray(multipliers, dtype=np.float64)
        if grid.ndim != 1 or grid.size < 3 or not np.all(grid > 0) or not np.all(np.diff(grid) > 0):
            raise SpecError("multipliers must be at least 3 increasing positive numbers")
        values = np.array([self._log_ml_at(s) for s in grid])
        if not np.isfinite(values).any():
            raise SpecError("the posterior precision is singular at every multiplier: some undecayed direction is "
                            "flat")
        i = int(np.nanargmax(values))
        # a point where the precision is singular (NaN) cannot be the maximum, nor certify one
        interior = 0 < i < grid.size - 1 and bool(np.isfinite(values[[i - 1, i + 1]]).all())
        best = float(grid[i])
        if interior:
            res = optimize.minimize_scalar(lambda u: -self._log_ml_at(math.exp(u)),
                                           bounds=(math.log(grid[i - 1]), math.log(grid[i + 1])), method="bounded",
                                           options={"xatol": 1e-10})
            if -res.fun >= values[i]:
                best = math.exp(float(res.x))
        groups = {p.group: p.weight_decay for p in self.reading if p.name in self.names and p.weight_decay > 0}
        return WeightDecayCurve(grid, values, groups, best, interior)

    def _log_ml_at(self, s: float) -> float:
        """The linearised model's log marginal likelihood at multiplier s; NaN where H + sP₀ is singular."""
        P = s * self.prior_precision
        H = self._hessian
        A = H + np.diag(P)
        if not _well_posed(A):
            return math.nan
        theta = np.linalg.solve(A, H @ self.mean + self._gradient)
        delta = theta - self.mean
        loglik = self.log_likelihood + float(self._gradient @ delta) - 0.5 * float(delta @ H @ delta)
        return _log_ml(loglik, theta, P, H)

    def _logit_moments(self, X: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of a one-output model's logit f(x) under the linearised posterior: f(x; θ*) and
        J Σ Jᵀ, J = ∂f/∂θ over ``names`` (autograd, one row at a time by ``torch.func.vmap``). laplace-torch's
        own last-layer Jacobians assume the last layer makes the output, which the two-logit wrapper breaks."""
        from torch.func import functional_call, jacrev, vmap

        model = self._model
        fixed = {n: p.detach() for n, p in model.named_parameters()}

        def logit(sub, x):
            return functional_call(model, {**fixed, **sub}, (x.unsqueeze(0),)).reshape(())

        with _float64_default():
            sub = {n: fixed[n] for n in self.names}
            jac = vmap(jacrev(logit), in_dims=(None, 0))(sub, X)
            J = torch.cat([jac[n].reshape(X.shape[0], -1) for n in self.names], dim=1).numpy()
            with torch.no_grad():
                mu = model(X).reshape(-1).numpy()
        var = np.einsum("ij,jk,ik->i", J, self.covariance, J)
        return mu, np.maximum(var, 0.0)

    def predict(self, X, prob: float = 0.94) -> Prediction:
        """The posterior predictive at inputs ``X`` (the linearised-model, "GLM", predictive of laplace-torch):
        regression N(f(x), σ² + J Σ Jᵀ); a binary classifier's mean probability E[σ(f)] by Gauss–Hermite quadrature
        over f ~ N(μ, v) and the ``prob`` interval of P(class 1 | x), σ(μ ± z√v); several classes: the probit
        approximation of the mean and intervals from 4000 draws of the logits."""
        if not 0 < prob < 1:
            raise SpecError(f"prob must be in (0, 1), got {prob}")
        X = torch.as_tensor(np.asarray(X), dtype=torch.float64)
        la = self._laplace
        z = stats.norm.ppf(0.5 + prob / 2.0)
        # laplace-torch's linearised predictive: the mean and covariance of the network outputs
        family = self.reading.loss.family
        if family == "bernoulli":
            mu, var = self._logit_moments(X)
            # E[σ(f)], f ~ N(μ, v), by Gauss–Hermite quadrature: the probit approximation σ(μ/√(1 + πv/8)) is
            # off by orders of magnitude in the tails (μ = −20, sd 3.7: 3e-4 against 1e-6)
            nodes, weights = np.polynomial.hermite.hermgauss(_HERMITE_NODES)
            f = mu[:, None] + math.sqrt(2.0) * np.sqrt(var)[:, None] * nodes[None, :]
            p = (special.expit(f) @ weights) / math.sqrt(math.pi)
            lo, hi = mu - z * np.sqrt(var), mu + z * np.sqrt(var)
            return Prediction(probability=p, lower=special.expit(lo), upper=special.expit(hi),
                              function_sd=np.sqrt(var), prob=prob)
        with _float64_default():
            f_mu, f_var = la._glm_predictive_distribution(X)
        f_mu, f_var = f_mu.numpy(), f_var.numpy()
        if family == "gaussian":
            mean = f_mu[:, 0] if f_mu.shape[1] == 1 else f_mu
            fvar = f_var[:, 0, 0] if f_mu.shape[1] == 1 else np.diagonal(f_var, axis1=1, axis2=2)
            sd = np.sqrt(fvar + self.reading.sigma**2)
            return Prediction(mean=mean, sd=sd, function_sd=np.sqrt(fvar), lower=mean - z * sd,
                              upper=mean + z * sd, prob=prob)
        kappa = 1.0 / np.sqrt(1.0 + math.pi * np.diagonal(f_var, axis1=1, axis2=2) / 8.0)
        probs = _softmax(f_mu * kappa)
        rng = np.random.default_rng(0)
        chol = np.linalg.cholesky(f_var + 1e-12 * np.eye(f_var.shape[1]))
        draws = f_mu[None] + np.einsum("nij,snj->sni", chol, rng.standard_normal((4000, *f_mu.shape)))
        sampled = _softmax(draws)
        lower, upper = np.quantile(sampled, [0.5 - prob / 2.0, 0.5 + prob / 2.0], axis=0)
        return Prediction(probability=probs, lower=lower, upper=upper, prob=prob)


@contextmanager
def _float64_default():
    """laplace-torch's curvature backends make some tensors in the default dtype: with float32 left as the
    default the GGN of a float64 model is off by ~1e-6 relative. Run them with float64 as the default."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


#: smallest eigenvalue of the posterior precision, relative to its largest, below which it is treated as singular:
#: beyond 1/κ ≈ 1e12 an inverse in float64 keeps fewer than 4 correct digits
_CONDITION_LIMIT = 1e-12


def _well_posed(A: np.ndarray) -> bool:
    """Whether A is positive definite with a condition number below 1/_CONDITION_LIMIT (its inverse is usable)."""
    eig = np.linalg.eigvalsh(A)
    return bool(eig[0] > _CONDITION_LIMIT * eig[-1])


def _log_ml(loglik: float, theta: np.ndarray, P: np.ndarray, H: np.ndarray) -> float:
    proper = P > 0
    sign, logdet = np.linalg.slogdet(H + np.diag(P))
    if sign <= 0:
        raise SpecError("the posterior precision is not positive definite: some undecayed direction is flat")
    n_flat = int((~proper).sum())
    return float(loglik - 0.5 * float(theta @ (P * theta)) - 0.5 * (logdet - np.log(P[proper]).sum())
                 + 0.5 * n_flat * _LOG_2PI)


def laplace_posterior(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: nn.Module, train_loader,
                      subset: str = "all", sigma: float | None = None, *, half: bool = False,
                      reduction: str | None = None, batch_size: int | None = None,
                      loss_penalties: dict | None = None) -> TorchLaplace:
    """The Laplace approximation of a trained ``model`` under the prior its run implies (module docstring).

    Parameters
    ----------
    model, optimizer, loss_fn, sigma, half, reduction, batch_size, loss_penalties
        As in :func:`bayesreg.torch.implied_prior`.
    train_loader
        The ``DataLoader`` trained with (or ``(X, y)``): the curvature is summed over every row.
    subset
        ``"all"`` parameters or the ``"last_layer"`` (a model of one layer has no other: then all).

    Raises
    ------
    SpecError
        laplace-torch not installed, a ``BCELoss`` (the approximation needs logits), a parameter the optimiser
        holds fixed under ``subset="all"``, AdamW before its first step, or a flat direction.
    """
    with _float64_default():
        return _laplace_posterior(model, optimizer, loss_fn, train_loader, subset, sigma, half=half,
                                  reduction=reduction, batch_size=batch_size, loss_penalties=loss_penalties)


def _laplace_posterior(model, optimizer, loss_fn, train_loader, subset, sigma, *, half, reduction,
                       batch_size, loss_penalties) -> TorchLaplace:
    try:
        from laplace import Laplace
    except ImportError:
        raise SpecError("laplace_posterior needs laplace-torch: pip install --no-deps laplace-torch==0.3 "
                        "asdfghjkl==0.1a4 backpack-for-pytorch curvlinops-for-pytorch, then bayesreg[laplace] "
                        "(see the README)") from None
    if subset not in SUBSETS:
        raise SpecError(f"subset must be one of {', '.join(SUBSETS)}, got {subset!r}")
    rows = training_rows(train_loader)
    reading = implied_prior(model, optimizer, loss_fn, rows.n, sigma, train_data=train_loader, half=half,
                            reduction=reduction, batch_size=batch_size, loss_penalties=loss_penalties)
    kinked = [p.name for p in reading if p.kind in ("laplace", "elastic-net", "l2-norm")]
    if kinked:
        reading[kinked[0]].precision()          # raises, naming the prior and what to do instead
    family = reading.loss.family
    if reading.loss.loss_name == "BCELoss":
        raise SpecError("the Laplace approximation needs the model's logits: train with BCEWithLogitsLoss (a "
                        "model that outputs probabilities through a sigmoid has no GGN here)")
    notes = list(reading.notes)
    fixed = [p.name for p in reading if p.kind == "fixed"]
    if subset == "all" and fixed:
        raise SpecError(f"{', '.join(fixed)} are not trained: give subset='last_layer' or train every parameter")
    model64 = float64_copy(model)
    for name, p in model64.named_parameters():
        p.requires_grad_(name not in fixed)
    wrapped = _BinaryAsTwoClass(model64) if family == "bernoulli" else model64
    prefix = "model." if family == "bernoulli" else ""
    with torch.no_grad():
        out = model64(rows.X)
    if family == "bernoulli" and out[0].numel() != 1:
        raise SpecError("a BCEWithLogitsLoss model must have one output a row here (multi-label is not read)")
    if family == "bernoulli":
        y = rows.y.reshape(-1).long()
        if not bool(((y == 0) | (y == 1)).all()):
            raise SpecError("BCEWithLogitsLoss targets must be 0 or 1 here")
    else:
        y = prepared_targets(out, rows.y, family)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(rows.X, y), batch_size=min(rows.n, 512))
    likelihood = "regression" if family == "gaussian" else "classification"
    kwargs = {"sigma_noise": reading.sigma} if family == "gaussian" else {}
    la = Laplace(wrapped, likelihood, subset_of_weights=subset, hessian_structure="full", **kwargs)
    try:
        la.fit(loader)
    except ValueError as exc:
        if subset == "last_layer" and "only has one module" in str(exc):
            notes.append("the model is one layer: its last layer is the whole model, so subset='all' was used")
            subset = "all"
            la = Laplace(wrapped, likelihood, subset_of_weights="all", hessian_structure="full", **kwargs)
            la.fit(loader)
        else:
            raise
    if subset == "all" and fixed:
        raise SpecError(f"{', '.join(fixed)} are not trained: give subset='last_layer' or train every parameter")
    names = _names_of(la, wrapped, prefix, subset)
    if subset == "last_layer" and any(n in fixed for n in names):
        raise SpecError(f"the last layer holds parameters the optimiser does not train: {', '.join(names)}")
    precision = reading.precision_vector(names)
    la.prior_precision = torch.as_tensor(precision, dtype=torch.float64)
    H = (la.posterior_precision - torch.diag(la.prior_precision_diag)).detach().numpy()
    H = 0.5 * (H + H.T)
    A = H + np.diag(precision)
    if not _well_posed(A):
        flat = [p.name for p in reading if p.name in names and p.kind == "flat"]
        raise SpecError("the posterior precision is singular to working precision: the data do not pin down some "
                        f"undecayed direction ({', '.join(flat) or 'none flat'}; e.g. a hidden unit whose output "
                        "weight is near 0); decay those parameters or use subset='last_layer'")
    cov = np.linalg.inv(A)
    cov = 0.5 * (cov + cov.T)
    theta = la.mean.detach().numpy().astype(np.float64)
    gradient = _loglik_gradient(wrapped, la, rows.X, y, reading, family, names, prefix)
    pull = np.linalg.norm(gradient) + np.linalg.norm(precision * theta)
    stationarity = float(np.linalg.norm(gradient - precision * theta) / pull) if pull > 0 else 0.0
    if stationarity > _STATIONARY:
        notes.append(f"the trained parameters are not a posterior mode (relative gradient {stationarity:.2g}): the "
                     "approximation is centred where training stopped, and log_marginal_likelihood() there is not "
                     "the evidence; weight_decay_curve() re-solves the mode")
    shapes = tuple(tuple(dict(wrapped.named_parameters())[prefix + n].shape) for n in names)
    return TorchLaplace(tuple(names), shapes, subset, theta, cov, precision, reading, float(la.log_likelihood),
                        stationarity, tuple(notes), H, gradient, la, model64)


def _names_of(la, wrapped, prefix: str, subset: str) -> list[str]:
    """The parameter names laplace-torch's mean runs over, in its order, without the wrapper's prefix."""
    by_id = {id(p): n[len(prefix):] for n, p in wrapped.named_parameters()}
    if subset == "all":
        return [by_id[id(p)] for p in la.params]
    # laplace-torch's last-layer Laplace works on a deep copy of the model: name its layer's parameters
    prefix_ll = la.model._last_layer_name + "."
    return [(prefix_ll + n)[len(prefix):] for n, _ in la.model.last_layer.named_parameters()]


def _loglik_gradient(wrapped, la, X, y, reading: ImpliedPrior, family: str, names, prefix: str) -> np.ndarray:
    """∇ℓ(θ*) over ``names``: the gradient of the log-likelihood of every training row at the trained point."""
    params = dict(wrapped.named_parameters())
    wanted = [params[prefix + n] for n in names]
    with torch.enable_grad():
        for p in wanted:
            p.requires_grad_(True)
        out = wrapped(X)
        if family == "gaussian":
            nll = 0.5 * torch.sum((out - y) ** 2) / reading.sigma**2
        else:
            nll = nn.functional.cross_entropy(out, y, reduction="sum")
        grads = torch.autograd.grad(nll, wanted)
    return -np.concatenate([g.detach().numpy().ravel() for g in grads])
