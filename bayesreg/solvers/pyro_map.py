r"""MAP through Pyro: an ``AutoDelta`` guide on the very model the samplers use.

With a point-mass guide the ELBO is the log joint, so maximising it over the guide's locations minimises

.. math::

    -\log p(w, b, y) = \frac{1}{\sigma^2}\Big[\tfrac12\sum_i r_i^2 + \mathrm{pen}(w)\Big]
                       - \log p(b) + \text{const},

σ² × the canonical objective: the Gaussian-prior MAP is ridge at λ = σ²/τ², the Laplace-prior MAP is the lasso
at λ = σ²/s. The loss is ``Trace_ELBO().differentiable_loss`` of model and guide, minimised deterministically
(SVI's Adam would only hover around the optimum):

* Gaussian prior (smooth): ``torch.optim.LBFGS`` with a strong-Wolfe line search;
* Laplace prior (not differentiable at 0: L-BFGS stalls far from the optimum, and proximal gradient needs
  thousands of steps on collinear data such as diabetes): proximal Newton (Lee, Sun & Saunders 2014). Split
  the loss into f = loss − ‖w‖₁/s, smooth, and ‖w‖₁/s; take f's gradient and exact Hessian by autograd
  through Pyro's log joint; minimise the quadratic model + ‖w‖₁/s exactly (b eliminated by its Schur
  complement, then :func:`~bayesreg.solvers.proximal.minimize_quadratic_l1`); repeat until Pyro's own
  gradient satisfies the lasso's optimality (KKT) conditions. Here f is exactly quadratic, so one round
  suffices; the loop is there for models where it is not. It reaches exact zeros.

The model runs in its own parameter-store scope, leaving the user's untouched.

σ must be fixed here: with a prior on σ the joint mode over (w, σ) is a different estimator, not penalised
least squares at a fixed λ.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pyro
import torch
from pyro.infer import Trace_ELBO
from pyro.infer.autoguide import AutoDelta, init_to_value

from ..errors import SpecError
from ..models import LinearRegressionModel, as_tensor
from ..prior_base import Prior
from ..priors import Bias, parse_bias
from ..validate import positive
from .objective import ConvergenceWarning, MapResult
from .proximal import minimize_quadratic_l1

__all__ = ["pyro_map"]


def pyro_map(X, y, prior: Prior, sigma: float, bias: str | Bias = "flat", *,
             max_rounds: int = 200, tol: float = 1e-13, likelihood=None) -> MapResult:
    """The MAP of ``LinearRegressionModel(prior, sigma, bias)`` by L-BFGS on an ``AutoDelta`` guide.

    Parameters
    ----------
    prior
        Any prior on w with fixed hyper-parameters. One with an L1 part (``elementwise_penalty`` with λ₁ > 0:
        Laplace, elastic net) is solved by proximal Newton, which reaches exact zeros; others by L-BFGS (for a
        penalty with a kink, such as the unsquared norm at 0, L-BFGS only approaches it).
    sigma
        The fixed noise sd.
    bias
        ``"flat"``, ``"none"`` or ``"normal:S"``.
    max_rounds
        Calls of ``LBFGS.step`` (each up to 100 inner iterations).
    tol
        Converged when a round lowers the loss by less than ``tol`` × |loss|.
    likelihood
        Another :class:`~bayesreg.likelihoods.Likelihood` (the logistic: pass ``sigma=1.0``, which it ignores);
        default Gaussian noise with ``sigma``.

    Returns
    -------
    MapResult
        ``trace`` holds the loss (−log joint) after each round; ``iterations`` counts L-BFGS iterations.
    """
    sigma = positive(sigma, "sigma (the noise standard deviation)")
    if not isinstance(prior, Prior) or prior.hyperpriors():
        raise SpecError(f"pyro_map takes a prior on w with fixed hyper-parameters, got {prior!r}")
    prior = prior.conditional(sigma=sigma)
    elementwise = prior.elementwise_penalty(sigma)
    l1 = 0.0 if elementwise is None else elementwise[0] / sigma**2  # the L1 weight in −log p(w)
    bias = parse_bias(bias)
    Xt, yt = as_tensor(X), as_tensor(y)
    if likelihood is not None and likelihood.name != "gaussian":
        from ..model import Model

        model = LinearRegressionModel(Model(likelihood, prior, bias))
    else:
        model = LinearRegressionModel(prior, sigma=sigma, bias=bias)
    start = time.perf_counter()
    init = {"w": torch.zeros(Xt.shape[1], dtype=torch.float64)}
    if bias.present:
        init["b"] = yt.mean() if bias.kind == "flat" else torch.tensor(0.0, dtype=torch.float64)
    loss_fn = Trace_ELBO().differentiable_loss
    with pyro.get_param_store().scope(), warnings.catch_warnings():
        # Pyro warns that an ImproperUniform (flat b) cannot be sampled; AutoDelta never samples it.
        warnings.filterwarnings("ignore", message=".*ImproperUniform.*")
        guide = AutoDelta(model, init_loc_fn=init_to_value(values=init))
        guide(Xt, yt)
        named = dict(guide.named_parameters())
        # the support of w is real, so the unconstrained parameter is w itself
        w_param = next(p for name, p in named.items() if name.split(".")[-1] == "w_unconstrained")

        def loss():
            return loss_fn(model, guide, Xt, yt)

        if l1 > 0:
            x0 = torch.cat([w_param.detach()] + ([named["b_unconstrained"].detach().reshape(1)]
                                                  if bias.present else []))
            x, losses, converged, iterations = _prox_newton(model, Xt, yt, x0, Xt.shape[1], l1, max_rounds, tol)
            with torch.no_grad():  # leave the guide at the optimum: it is the MAP, like the L-BFGS path's
                w_param.copy_(x[: Xt.shape[1]])
                if bias.present:
                    named["b_unconstrained"].copy_(x[-1])
        else:
            losses, converged, iterations = _lbfgs(list(named.values()), loss, max_rounds, tol)
        point = {k: v.detach().numpy().copy() for k, v in guide.median().items()}
    if not converged:
        warnings.warn(f"Pyro MAP did not settle within its budget ({iterations} iterations); the result is "
                      "approximate", ConvergenceWarning, stacklevel=2)
    b = float(point["b"]) if bias.present else None
    unit = "proximal Newton round" if l1 > 0 else "L-BFGS iteration"
    return MapResult("pyro_map", np.asarray(point["w"], dtype=np.float64), b, converged, iterations,
                     time.perf_counter() - start, trace=np.array(losses), info={"iteration_unit": unit,
                                                                                "loss": losses[-1]})


def _lbfgs(params, loss, max_rounds: int, tol: float):
    """L-BFGS rounds until one lowers the loss by less than tol × |loss|."""
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=100, history_size=50, line_search_fn="strong_wolfe",
                            tolerance_grad=0.0, tolerance_change=0.0)

    def closure():
        opt.zero_grad()
        value = loss()
        value.backward()
        return value

    losses, previous = [], closure().item()
    for _ in range(max_rounds):
        opt.step(closure)
        current = closure().item()
        losses.append(current)
        if abs(previous - current) <= tol * max(abs(current), 1.0):
            return losses, True, int(opt.state[params[0]].get("n_iter", 0))
        previous = current
    return losses, False, int(opt.state[params[0]].get("n_iter", 0))


def _prox_newton(model, Xt, yt, x0: torch.Tensor, d: int, l1: float, max_rounds: int, tol: float):
    """Proximal Newton on −log p(w, b, y) = f(x) + l1‖w‖₁, x = (w[, b]); returns (x, losses, converged, rounds).

    The loss is evaluated through a trace of the model conditioned on x: the same number the AutoDelta
    guide's ELBO gives at location x, written as a pure function so autograd can differentiate it twice.
    """
    names = ["w"] + (["b"] if x0.numel() > d else [])

    def neg_log_joint(x):
        values = {"w": x[:d]} | ({"b": x[d]} if len(names) == 2 else {})
        tr = pyro.poutine.trace(pyro.poutine.condition(model, data=values)).get_trace(Xt, yt)
        return -tr.log_prob_sum()

    def smooth(x):
        return neg_log_joint(x) - l1 * x[:d].abs().sum()

    x, losses = x0.clone(), []
    for rounds in range(1, max_rounds + 1):
        H = torch.autograd.functional.hessian(smooth, x).detach().numpy()
        g = torch.autograd.functional.jacobian(smooth, x).detach().numpy()
        # quadratic model ½ zᵀHz − qᵀz with q = Hx − g; b (if any) minimised out: b = (q_b − H_bw w)/H_bb
        q = H @ x.numpy() - g
        G, qw = H[:d, :d], q[:d]
        if len(names) == 2:
            G = G - np.outer(H[:d, d], H[d, :d]) / H[d, d]
            qw = qw - H[:d, d] * q[d] / H[d, d]
        yy = float(qw @ np.linalg.lstsq(G, qw, rcond=None)[0])  # the least yy that keeps the gap valid
        w, _, _, _, _ = minimize_quadratic_l1(G, qw, yy, l1, 0.0, tol=1e-14)
        new = w if len(names) == 1 else np.append(w, (q[d] - H[d, :d] @ w) / H[d, d])
        x = torch.as_tensor(new, dtype=torch.float64)
        losses.append(float(neg_log_joint(x)))
        if _kkt_ok(torch.autograd.functional.jacobian(smooth, x).detach().numpy(), new, d, l1, tol):
            return x, losses, True, rounds
    return x, losses, False, max_rounds


def _kkt_ok(grad: np.ndarray, x: np.ndarray, d: int, l1: float, tol: float) -> bool:
    """Lasso optimality of f + l1‖w‖₁: ∇f_j = −l1·sign(w_j) where w_j ≠ 0, |∇f_j| ≤ l1 where w_j = 0, ∇f_b = 0."""
    scale = max(l1, float(np.max(np.abs(grad))), 1.0)
    w, gw = x[:d], grad[:d]
    active = w != 0
    resid = np.concatenate([np.abs(gw[active] + l1 * np.sign(w[active])),
                            np.maximum(np.abs(gw[~active]) - l1, 0.0), np.abs(grad[d:])])
    return bool(resid.size == 0 or np.max(resid) <= tol**0.5 * scale)
