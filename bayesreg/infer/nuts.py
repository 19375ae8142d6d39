r"""NUTS on the linear-regression model: several chains, float64, warm-started at the MAP.

Two paths sample the same posterior:

* ``path="suffstats"`` (the default): the potential U(θ) = −log posterior is written on the sufficient statistics
  (:class:`~bayesreg.infer.potential.Potential`: O(d²) per gradient, whatever n is, value and gradient in one
  closed-form call). Each chain starts at the MAP (chain 0) or near it, with the inverse mass matrix set to the
  posterior covariance of θ at the MAP: exact for a Gaussian prior with σ fixed, the Laplace approximation
  otherwise (with a smooth surrogate for an L1 kink), so warm-up only has to tune the step size; when the
  posterior is not Gaussian, the first two thirds of warm-up also re-estimate the covariance from the chains'
  draws (pooled, shrunk towards the Laplace one). The kernel, :class:`FastNUTS`, is a :class:`pyro.infer.NUTS`
  (Pyro's setup, dual-averaging step-size adaptation, mass-matrix adapter, diagnostics and ``MCMCKernel``
  interface) whose transition runs Pyro's NUTS algorithm (multinomial sampling over the trajectory, the
  generalised U-turn criterion on the unscaled momenta, its tree doubling), plus Stan's extra U-turn checks
  across merged subtrees, in NumPy on one flat float64 vector. That removes Pyro's per-leapfrog-step overhead of
  dictionaries of small tensors and autograd (≈ 400 µs a step on a 2-core machine, against ≈ 20 µs here).
* ``path="model"``: Pyro's own ``NUTS`` on the Pyro model (:class:`~bayesreg.models.LinearRegressionModel`), the
  reference, O(nd) per gradient, optionally with ``jit_compile``.

Pyro keeps the per-iteration statistics ArviZ needs (divergence, tree depth, energy) in local variables;
:class:`RecordingNUTS` subclasses it only to write them down:

* ``energy``: the Hamiltonian H = U(z) + K(r) at the start of each trajectory (for the energy plot and BFMI);
* ``n_steps``: leapfrog steps, and ``tree_depth`` = ⌈log₂(n_steps + 1)⌉, the number of doublings;
* ``diverging``: whether any leapfrog step exceeded Pyro's energy-error threshold;
* ``step_size``: the step size used.

Chains run one after another, each with its own seed (``seed + chain``) and starting point: chain 0 at the MAP,
the others at the MAP plus a jitter of half the posterior's (Laplace-approximate) sd, so that R-hat can see
chains that disagree.

References: M. D. Hoffman & A. Gelman (2014), *The No-U-Turn Sampler*, JMLR 15; M. Betancourt (2017), *A
conceptual introduction to Hamiltonian Monte Carlo*, arXiv:1701.02434 (multinomial sampling, the generalised
U-turn criterion); Pyro ``pyro/infer/mcmc/nuts.py``.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pyro
import torch
from pyro.infer import MCMC, NUTS
from pyro.infer.autoguide import init_to_value

from ..data import Dataset
from ..errors import SpecError
from ..models import LinearRegressionModel, as_tensor
from ..solvers import PenalizedLeastSquares
from ..solvers.closed_form import ridge
from ..solvers.proximal import coordinate_descent
from ..suffstats import SufficientStats
from .potential import Potential
from .result import Posterior, RunDiagnostics
from .row_potential import RowPotential, row_map_start

__all__ = ["nuts", "RecordingNUTS", "FastNUTS", "map_start", "warm_start", "PATHS"]

PATHS = ("suffstats", "model")


class RecordingNUTS(NUTS):
    """Pyro's NUTS, unchanged, recording per iteration: energy, leapfrog steps, tree depth, divergence, step size."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.records: dict[str, list] = defaultdict(list)

    def _sample_r(self, name):
        r, r_unscaled = super()._sample_r(name)
        _, potential_energy, _ = self._fetch_from_cache()
        self._energy = float(self._kinetic_energy(r_unscaled) + potential_energy)
        return r, r_unscaled

    def _build_basetree(self, *args, **kwargs):
        tree = super()._build_basetree(*args, **kwargs)
        self._n_steps += 1
        self._diverged = self._diverged or bool(tree.diverging)
        return tree

    def sample(self, params):
        self._n_steps, self._diverged, self._energy = 0, False, math.nan
        step_size = float(self.step_size)
        out = super().sample(params)
        self._record(self._energy, self._n_steps, self._diverged, step_size)
        return out

    def _record(self, energy: float, n_steps: int, diverged: bool, step_size: float) -> None:
        self.records["energy"].append(energy)
        self.records["n_steps"].append(n_steps)
        self.records["tree_depth"].append(math.ceil(math.log2(n_steps + 1)))
        self.records["diverging"].append(diverged)
        self.records["step_size"].append(step_size)


# ------------------------------------------------------------------------------------------ the fast kernel

class _Tree(NamedTuple):
    """A subtree of the trajectory, as Pyro's ``_TreeInfo`` (arrays over the flat θ; ``weight`` is a log weight)."""

    z_left: np.ndarray
    r_left: np.ndarray
    ru_left: np.ndarray
    g_left: np.ndarray
    z_right: np.ndarray
    r_right: np.ndarray
    ru_right: np.ndarray
    g_right: np.ndarray
    z_proposal: np.ndarray
    u_proposal: float
    g_proposal: np.ndarray
    r_sum: np.ndarray
    weight: float
    turning: bool
    diverging: bool
    sum_accept_probs: float
    num_proposals: int


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def _is_turning(ru_left: np.ndarray, ru_right: np.ndarray, r_sum: np.ndarray) -> bool:
    """Pyro's generalised U-turn criterion (Betancourt 2017, A.4.2) on the unscaled momenta."""
    rho = r_sum - 0.5 * (ru_left + ru_right)
    return bool(ru_left @ rho <= 0) or bool(ru_right @ rho <= 0)


def _turning_between(left: _Tree, right: _Tree) -> bool:
    """Stan's extra checks (since 2.21) when two adjacent subtrees merge: the U-turn criterion on the span from
    the left subtree's first point to the right subtree's first point, and from the left subtree's last point to
    the right subtree's last point. They stop trajectories that the end-to-end check lets run on through a
    near-periodic orbit (isotropic Gaussians: every coordinate oscillates with one period)."""
    return (_is_turning(left.ru_left, right.ru_left, left.r_sum + right.ru_left)
            or _is_turning(left.ru_right, right.ru_right, left.ru_right + right.r_sum))


class FastNUTS(RecordingNUTS):
    """Pyro's NUTS kernel with its transition computed in NumPy on a flat θ and a closed-form potential.

    It is a :class:`pyro.infer.NUTS` (usable in ``pyro.infer.MCMC``, site ``"theta"``): setup, the dual-averaging
    step size, the windowed mass-matrix adaptation and the diagnostics are Pyro's. :meth:`sample` is Pyro's
    ``NUTS.sample`` (multinomial sampling, ``use_multinomial_sampling=True``) rewritten over NumPy arrays, step for
    step: momentum r = M^{1/2}ε, velocity-Verlet steps, trees doubled in a random direction, the proposal drawn
    within each subtree with probability proportional to its weight and across doublings by biased progressive
    sampling, stopping at a U-turn, a divergence (energy error > 1000) or ``max_tree_depth``. With
    ``extra_checks`` (default) it also applies Stan's U-turn checks across merged subtrees (Stan ≥ 2.21), which
    Pyro lacks: on near-Gaussian posteriors with an exact mass matrix every coordinate oscillates with one period,
    and the end-to-end check alone can let a trajectory run on for many periods. Random numbers come from a NumPy
    generator seeded from ``seed`` (or from torch's generator, so ``pyro.set_rng_seed`` fixes them).

    Parameters
    ----------
    potential
        A :class:`~bayesreg.infer.potential.Potential` (anything with ``value_and_grad(θ)`` and ``torch_fn()``).
    inverse_mass
        The starting inverse mass matrix (p × p, or (p,) for a diagonal one), e.g. the posterior covariance;
        default: Pyro's identity.
    dense_mass
        A dense mass matrix (default) or a diagonal one.
    adapt_mass_matrix
        Re-estimate the mass matrix during warm-up with Pyro's windowed Welford scheme (starting from
        ``inverse_mass``). :func:`nuts` does not use it: it re-estimates the covariance once, from all chains.
    extra_checks
        Stan's U-turn checks across merged subtrees (see above).
    """

    def __init__(self, potential, *, inverse_mass=None, dense_mass: bool = True, adapt_mass_matrix: bool = False,
                 step_size: float = 1.0, adapt_step_size: bool = True, target_accept_prob: float = 0.8,
                 max_tree_depth: int = 10, seed: int | None = None, extra_checks: bool = True):
        super().__init__(potential_fn=potential.torch_fn("theta"), full_mass=dense_mass,
                         adapt_mass_matrix=adapt_mass_matrix, step_size=step_size,
                         adapt_step_size=adapt_step_size, target_accept_prob=target_accept_prob,
                         max_tree_depth=max_tree_depth)
        self.potential = potential
        self.extra_checks = extra_checks
        self._value_and_grad = potential.value_and_grad
        self._inverse_mass_start = None if inverse_mass is None else np.asarray(inverse_mass, dtype=np.float64)
        self._dense = dense_mass
        self._seed = seed
        self._mass_source = None
        self._state = None

    # ---------------------------------------------------------------------------------------------- setup

    def setup(self, warmup_steps, *args, **kwargs):
        super().setup(warmup_steps, *args, **kwargs)
        if self._inverse_mass_start is not None:
            m = self._inverse_mass_start
            if not self._dense and m.ndim == 2:
                m = np.diag(m).copy()
            elif self._dense and m.ndim == 1:
                m = np.diag(m)
            (key,) = self.mass_matrix_adapter.inverse_mass_matrix
            self.mass_matrix_adapter.inverse_mass_matrix = {key: torch.as_tensor(m, dtype=torch.float64)}
            if self._adapter.adapt_step_size:
                self._adapter.reset_step_size_adaptation(self._initial_params)
        seed = self._seed if self._seed is not None else int(torch.randint(0, 2**62, ()).item())
        self._rng = np.random.default_rng(seed)
        z = self.initial_params["theta"].detach().numpy().astype(np.float64, copy=True)
        u, g = self._value_and_grad(z)
        self._state = (z, u, g)

    def _refresh_mass(self) -> None:
        """NumPy copies of M⁻¹ and the factors Pyro keeps (refreshed when an adaptation window changes them)."""
        adapter = self.mass_matrix_adapter
        (key,) = adapter.inverse_mass_matrix
        source = adapter.inverse_mass_matrix[key]
        if source is self._mass_source:
            return
        self._mass_source = source
        self._minv = source.detach().numpy().copy()
        self._m_sqrt = adapter._mass_matrix_sqrt[key].detach().numpy().copy()             # M^{1/2}: r = M^{1/2} ε
        self._m_sqrt_inv = adapter._mass_matrix_sqrt_inverse[key].detach().numpy().copy()  # r_unscaled = Lᵀ r

    # ------------------------------------------------------------------------------------------ transition

    def _leapfrog(self, z, r, g, eps):
        minv, m_sqrt_inv = self._minv, self._m_sqrt_inv
        r = r - (0.5 * eps) * g
        v = minv @ r if minv.ndim == 2 else minv * r
        z = z + eps * v
        u, g = self._value_and_grad(z)
        r = r - (0.5 * eps) * g
        ru = m_sqrt_inv @ r if m_sqrt_inv.ndim == 2 else m_sqrt_inv * r
        return z, r, ru, g, u

    def _build_basetree(self, z, r, g, log_slice, direction, energy_current):
        eps = self._eps if direction == 1 else -self._eps
        z, r, ru, g, u = self._leapfrog(z, r, g, eps)
        energy = u + 0.5 * float(ru @ ru)
        if energy != energy:  # NaN
            energy = math.inf
        sliced = energy + log_slice
        diverging = sliced > self._max_sliced_energy
        delta = energy - energy_current
        accept_prob = 1.0 if delta <= 0 else math.exp(-delta)
        self._n_steps += 1
        if diverging:
            self._diverged = True
        return _Tree(z, r, ru, g, z, r, ru, g, z, u, g, ru, -sliced, False, diverging, accept_prob, 1)

    def _build_tree(self, z, r, g, log_slice, direction, depth, energy_current):
        if depth == 0:
            return self._build_basetree(z, r, g, log_slice, direction, energy_current)
        half = self._build_tree(z, r, g, log_slice, direction, depth - 1, energy_current)
        if half.turning or half.diverging:
            return half
        if direction == 1:
            z, r, g = half.z_right, half.r_right, half.g_right
        else:
            z, r, g = half.z_left, half.r_left, half.g_left
        other = self._build_tree(z, r, g, log_slice, direction, depth - 1, energy_current)
        weight = _logaddexp(half.weight, other.weight)
        r_sum = half.r_sum + other.r_sum
        other_prob = math.exp(other.weight - weight) if weight > -math.inf else 0.0
        if self._rng.random() < other_prob:
            proposal = (other.z_proposal, other.u_proposal, other.g_proposal)
        else:
            proposal = (half.z_proposal, half.u_proposal, half.g_proposal)
        left, right = (half, other) if direction == 1 else (other, half)
        turning = other.turning or _is_turning(left.ru_left, right.ru_right, r_sum)
        if not turning and self.extra_checks:
            turning = _turning_between(left, right)
        return _Tree(left.z_left, left.r_left, left.ru_left, left.g_left,
                     right.z_right, right.r_right, right.ru_right, right.g_right,
                     *proposal, r_sum, weight, turning, other.diverging,
                     half.sum_accept_probs + other.sum_accept_probs, half.num_proposals + other.num_proposals)

    def sample(self, params):
        z, u, g = self._state
        given = params.get("theta") if isinstance(params, dict) else None
        if given is not None and given.data_ptr() != getattr(self, "_returned_ptr", None):
            z = given.detach().numpy().astype(np.float64, copy=True)  # started from elsewhere: recompute
            u, g = self._value_and_grad(z)
        self._refresh_mass()
        self._n_steps, self._diverged = 0, False
        self._eps = eps = float(self.step_size)
        rng = self._rng
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            ru = rng.standard_normal(z.shape[0])
            r = self._m_sqrt @ ru if self._m_sqrt.ndim == 2 else self._m_sqrt * ru
            energy_current = u + 0.5 * float(ru @ ru)
            log_slice = -energy_current
            left = right = (z, r, ru, g)
            r_sum = ru
            sum_accept, num_proposals = 0.0, 0
            tree_weight = 0.0
            depth = 0
            while depth < self._max_tree_depth:
                direction = 1 if rng.random() < 0.5 else -1
                start = right if direction == 1 else left
                old_left_ru, old_right_ru = left[2], right[2]
                new = self._build_tree(start[0], start[1], start[3], log_slice, direction, depth, energy_current)
                if direction == 1:
                    right = (new.z_right, new.r_right, new.ru_right, new.g_right)
                else:
                    left = (new.z_left, new.r_left, new.ru_left, new.g_left)
                sum_accept += new.sum_accept_probs
                num_proposals += new.num_proposals
                if new.diverging:
                    if self._t >= self._warmup_steps:
                        self._divergences.append(self._t - self._warmup_steps)
                    break
                if new.turning:
                    break
                depth += 1
                diff = new.weight - tree_weight
                new_tree_prob = 1.0 if diff >= 0 else math.exp(diff)
                if rng.random() < new_tree_prob:
                    z, u, g = new.z_proposal, new.u_proposal, new.g_proposal
                r_sum_old, r_sum = r_sum, r_sum + new.r_sum
                if _is_turning(left[2], right[2], r_sum):
                    break
                if self.extra_checks:
                    # the old trajectory and the new subtree, merged: Stan's checks across the seam
                    if direction == 1:
                        seam = _is_turning(left[2], new.ru_left, r_sum_old + new.ru_left) or _is_turning(
                            old_right_ru, right[2], old_right_ru + new.r_sum)
                    else:
                        seam = _is_turning(left[2], old_left_ru, new.r_sum + old_left_ru) or _is_turning(
                            new.ru_right, right[2], new.ru_right + r_sum_old)
                    if seam:
                        break
                tree_weight = _logaddexp(tree_weight, new.weight)
        accept_prob = sum_accept / num_proposals
        self._t += 1
        z_t = torch.from_numpy(z)
        if self._t > self._warmup_steps:
            if z is not self._state[0]:
                self._accept_cnt += 1
            n = self._t - self._warmup_steps
        else:
            n = self._t
            self._adapter.step(self._t, {"theta": z_t}, torch.tensor(accept_prob, dtype=torch.float64),
                               {"theta": torch.from_numpy(g)})
        self._mean_accept_prob += (accept_prob - self._mean_accept_prob) / n
        self._state = (z, u, g)
        self._record(energy_current, self._n_steps, self._diverged, eps)
        self._returned_ptr = z_t.data_ptr()
        return {"theta": z_t}


# ------------------------------------------------------------------------------------------ starting points

def _plug_in_sigma(stats: SufficientStats) -> float:
    """A rough σ for starting points: the residual sd of a lightly penalised least-squares fit."""
    lam = 1e-6 * max(float(np.trace(stats.sxx)) / max(stats.d, 1), 1e-300)
    fit = ridge(stats, problem=PenalizedLeastSquares(l2=lam))
    rss = stats.syy - 2 * fit.w @ stats.sxy + fit.w @ stats.sxx @ fit.w
    dof = max(stats.n - stats.d - 1, 1)
    return float(math.sqrt(max(rss, 0.0) / dof)) or float(math.sqrt(stats.syy / max(stats.n - 1, 1))) or 1.0


def map_start(data: Dataset | SufficientStats, model: LinearRegressionModel) -> tuple[dict[str, np.ndarray],
                                                                                      np.ndarray]:
    """The MAP of w (and b) at σ (fixed, or a plug-in estimate when σ is random), plus rough posterior sds of w.

    For a hierarchical prior τ starts at the root mean square of a lightly penalised fit's weights. A prior whose
    penalty is not L1/L2 (no ``elementwise_penalty``) starts at a lightly penalised ridge fit. This is a starting
    point for the samplers, never reported as a mode (:mod:`bayesreg.mode` computes that).
    """
    stats = SufficientStats.of(data)
    sigma = model.sigma if model.sigma is not None else _plug_in_sigma(stats)
    prior = model.prior
    start: dict[str, np.ndarray] = {}
    if prior.hyperpriors():
        light = ridge(stats, problem=PenalizedLeastSquares(l2=1.0))
        tau = max(float(np.sqrt(np.mean(light.w**2))), 1e-12)
        start["tau"] = np.float64(tau)
        prior = prior.conditional(tau=tau)
    prior = prior.conditional(sigma=sigma)
    elementwise = prior.elementwise_penalty(sigma)
    if elementwise is not None:
        problem = PenalizedLeastSquares.from_prior(prior, sigma, model.bias)
        solve = ridge(stats, problem=problem) if problem.l1 == 0 else coordinate_descent(stats, problem=problem)
    else:
        lam = 1e-6 * max(float(np.trace(stats.sxx)) / max(stats.d, 1), 1e-300)
        bias = {"flat": {}, "none": {"bias": "none"}}.get(model.bias.kind, {"bias": "penalized",
                                                                            "bias_l2": sigma**2 / (model.bias.scale
                                                                                                   or 1.0) ** 2})
        problem = PenalizedLeastSquares(l2=lam, **bias)
        solve = ridge(stats, problem=problem)
    start["w"] = solve.w
    if solve.b is not None:
        start["b"] = np.float64(solve.b)
    if model.sigma is None:
        start["sigma"] = np.float64(sigma)
    # diagonal Laplace approximation (the L1 term adds no curvature away from 0)
    sd = sigma / np.sqrt(np.maximum(np.diag(stats.sxx) + problem.l2, 1e-12))
    return start, sd


def warm_start(potential: Potential, start: dict) -> tuple[np.ndarray, np.ndarray]:
    """θ at the posterior mode and the (Laplace-approximate) posterior covariance of θ there.

    The MAP of w at σ (``start``) is the mode when σ and τ are fixed. Otherwise, and for a smooth potential, the
    joint mode in θ (log σ, log τ included) is found by L-BFGS from there; with an L1 kink the scale coordinates
    alone are moved to their conditional mode. Returns ``(θ, covariance)``.
    """
    from scipy import optimize

    layout = potential.layout
    theta = layout.pack(start)
    kinked = potential.kinked
    free = [k for name, k in layout.index.items() if name in ("sigma", "tau")]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        if free or potential._w_kind == "generic":
            if kinked:
                idx = np.array(free)

                def fun(x):
                    t = theta.copy()
                    t[idx] = x
                    value, grad = potential.value_and_grad(t)
                    return value, grad[idx]

                res = optimize.minimize(fun, theta[idx], jac=True, method="L-BFGS-B")
                if np.all(np.isfinite(res.x)) and res.fun <= potential(theta):
                    theta[idx] = res.x
            else:
                res = optimize.minimize(potential.value_and_grad, theta, jac=True, method="L-BFGS-B",
                                        options={"maxiter": 2000, "gtol": 1e-9})
                if np.all(np.isfinite(res.x)) and res.fun <= potential(theta):
                    theta = res.x
        cov = potential.laplace_covariance(theta)
    return theta, cov


def _jittered(start: dict, sd: np.ndarray, chain: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    point = {k: np.array(v, dtype=np.float64) for k, v in start.items()}
    if chain > 0:
        point["w"] = point["w"] + 0.5 * sd * rng.standard_normal(sd.shape)
        for name in ("sigma", "tau"):
            if name in point:
                point[name] = point[name] * math.exp(0.1 * rng.standard_normal())
    return {k: torch.as_tensor(v, dtype=torch.float64) for k, v in point.items()}


# ------------------------------------------------------------------------------------------------- driver

def _check(chains, draws, warmup, max_tree_depth, target_accept, path):
    for name, value, low in (("chains", chains, 1), ("draws", draws, 1), ("warmup", warmup, 0),
                             ("max_tree_depth", max_tree_depth, 1)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise SpecError(f"{name} must be a whole number ≥ {low}, got {value!r}")
    if not 0 < target_accept < 1:
        raise SpecError(f"target_accept must be in (0, 1), got {target_accept}")
    if path not in PATHS:
        raise SpecError(f"path must be one of {', '.join(PATHS)}, got {path!r}")


def nuts(data: Dataset | SufficientStats, model: LinearRegressionModel, *, chains: int = 4, draws: int = 1000,
         warmup: int = 1000, seed: int = 0, dense_mass: bool | None = None, target_accept: float = 0.8,
         max_tree_depth: int = 10, init: dict | None = None, progress: bool = False, path: str = "suffstats",
         adapt_mass: bool | None = None, jit_compile: bool = False) -> Posterior:
    """Sample the posterior of ``model`` on ``data`` with NUTS.

    Parameters
    ----------
    data
        A :class:`~bayesreg.data.Dataset`; for ``path="suffstats"`` also :class:`SufficientStats`.
    chains, draws, warmup
        Chains run sequentially; ``draws`` kept per chain after ``warmup`` adaptation steps. Warm-started at the
        MAP with the mass matrix set from the posterior covariance, the default path needs a few hundred warm-up
        steps at most (only the step size is tuned, unless ``adapt_mass``).
    dense_mass
        A dense (full) mass matrix instead of a diagonal one. Default: dense on the ``suffstats`` path (it starts
        from the posterior covariance, correlations included), diagonal on the ``model`` path (adapted).
    target_accept, max_tree_depth
        NUTS settings (Pyro's defaults: 0.8, 10).
    init
        Starting point ``{"w": ..., "b": ..., "sigma": ..., "tau": ...}``; default: the MAP (see :func:`map_start`).
    progress
        ``True`` shows progress (Pyro's bar on the ``model`` path, a counter on stderr otherwise); a callable
        ``progress(done, total)`` is called as iterations (warm-up included, all chains) complete.
    path
        ``"suffstats"`` (default: closed-form potential, :class:`FastNUTS`) or ``"model"`` (Pyro's NUTS on the
        Pyro model, the reference).
    adapt_mass
        ``suffstats`` path: also re-estimate the mass matrix during warm-up (Pyro's windowed scheme, starting
        from the Laplace covariance). Default: only when that covariance is not exact, i.e. unless the prior on w
        is Gaussian with σ fixed, nor a smooth posterior on the rows (the logistic likelihood with a Gaussian
        prior and every scale fixed, whose Laplace covariance is close), and only when ``warmup`` ≥ 150 (enough
        for one adaptation window).
    jit_compile
        ``model`` path: trace the potential with the PyTorch JIT.

    Returns
    -------
    Posterior
        ``method="nuts"``, with ``sample_stats`` diverging, tree_depth, n_steps, energy, step_size; ``info``
        has the settings, the path, the starting point and the per-chain acceptance rate.
    """
    _check(chains, draws, warmup, max_tree_depth, target_accept, path)
    if path == "model":
        if isinstance(data, SufficientStats):
            raise SpecError("the Pyro-model path needs the data rows, not sufficient statistics")
        return _nuts_model(data, model, chains=chains, draws=draws, warmup=warmup, seed=seed,
                           dense_mass=bool(dense_mass), target_accept=target_accept, max_tree_depth=max_tree_depth,
                           init=init, progress=bool(progress), jit_compile=jit_compile)
    begin = time.perf_counter()
    names = (data.feature_names if isinstance(data, Dataset) else tuple(f"x{j}" for j in range(data.d)))
    rows = not model.spec.likelihood.has_sufficient_statistics
    potential = RowPotential(data, model) if rows else Potential(data, model)
    starter = row_map_start if rows else map_start
    layout = potential.layout
    if init is None:
        theta0, cov = warm_start(potential, starter(data, model)[0])
    else:  # the given sites, the MAP start for the others
        start = starter(data, model)[0]
        start.update({k: v for k, v in init.items() if k in layout.sites})
        theta0 = layout.pack(start)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            cov = potential.laplace_covariance(theta0)
    dense = True if dense_mass is None else bool(dense_mass)
    exact = potential.is_gaussian
    # A smooth posterior on the rows (the logistic likelihood, a Gaussian prior, scales fixed) is close to its
    # Laplace approximation: re-estimating the mass matrix from pilot draws made it worse there (breast_cancer:
    # 8.4 leapfrog steps an iteration against 7.0, 593 against 1466-1605 ESS/s), so it keeps the Laplace one.
    smooth_rows = rows and not potential.kinked and not layout.has_tau
    adapt = ((not exact and not smooth_rows and warmup >= ADAPT_MIN_WARMUP) if adapt_mass is None
             else bool(adapt_mass and warmup >= 2))
    settings = {"dense_mass": dense, "target_accept_prob": target_accept, "max_tree_depth": max_tree_depth}
    tick = _ticker(progress, chains * (warmup + draws))
    chol = np.linalg.cholesky(cov)
    rng = np.random.default_rng(seed)
    starts = [theta0 + (0.5 * chol @ rng.standard_normal(theta0.shape) if chain else 0.0) for chain in range(chains)]
    mass, pilot_draws = cov, 0
    if adapt:
        # Stage 1 (2/3 of warm-up) with the Laplace covariance; the second half of it, pooled over the chains,
        # re-estimates the covariance (shrunk towards the Laplace one); stage 2 tunes the step size to it.
        first = warmup - warmup // 3
        pilot = []
        for chain in range(chains):
            pyro.set_rng_seed(seed + chain)  # Pyro's step-size search draws from torch's generator
            out, _ = _run_chain(potential, starts[chain], cov, first, 0, _chain_seed(seed, chain, 1), settings, tick)
            pilot.append(out[first // 2:])
            starts[chain] = out[-1]
        pooled = np.concatenate(pilot)
        mass, pilot_draws = _shrunk_covariance(pooled, cov), len(pooled)
        warmup_left = warmup - first
    else:
        warmup_left = warmup
    thetas, stats, accept = [], defaultdict(list), []
    for chain in range(chains):
        pyro.set_rng_seed(seed + chain)
        out, kernel = _run_chain(potential, starts[chain], mass, warmup_left, draws, _chain_seed(seed, chain, 2),
                                 settings, tick)
        thetas.append(out[warmup_left:])
        for name, values in kernel.records.items():
            stats[name].append(np.asarray(values[-draws:]))
        accept.append(kernel.diagnostics()["acceptance rate"])
        kernel.cleanup()
    seconds = time.perf_counter() - begin
    draws_out = layout.unpack(np.stack(thetas))
    sample_stats = {name: np.stack(values) for name, values in stats.items()}
    sample_stats["diverging"] = sample_stats["diverging"].astype(bool)
    return Posterior(
        "nuts", draws_out, names, sigma_fixed=model.sigma, seconds=seconds, sample_stats=sample_stats,
        likelihood=model.spec.likelihood,
        info={"chains": chains, "draws": draws, "warmup": warmup, "dense_mass": dense, "adapt_mass": adapt,
              "pilot_draws": pilot_draws, "path": "suffstats", "target_accept": target_accept,
              "max_tree_depth": max_tree_depth, "acceptance_rate": accept,
              "start": {k: np.asarray(v).tolist() for k, v in layout.unpack(theta0).items()},
              "inverse_mass": "exact posterior covariance" if exact else
              ("Laplace covariance, re-estimated in warm-up" if adapt else "Laplace-approximate covariance")},
        attrs={"model": repr(model), "seed": seed, "dense_mass": int(dense), "warmup": warmup, "path": "suffstats"},
        diagnostics=RunDiagnostics("markov chain", max_tree_depth=max_tree_depth),
    )


def _ticker(progress, total: int):
    """``progress`` as a per-iteration callback: a callable ``progress(done, total)`` is called every 1% (and at
    the end); True prints Pyro-style counts on stderr; False gives None."""
    if not progress:
        return None
    if not callable(progress):
        import sys

        def progress(done, total):
            end = "\n" if done >= total else ""
            print(f"\r  nuts iterations: {done}/{total}", end=end, file=sys.stderr, flush=True)

    every = max(total // 100, 1)
    done = 0

    def tick():
        nonlocal done
        done += 1
        if done % every == 0 or done == total:
            progress(done, total)

    return tick


#: below this many warm-up steps the suffstats path keeps the Laplace covariance as the mass matrix
ADAPT_MIN_WARMUP = 150


def _chain_seed(seed: int, chain: int, stage: int) -> int:
    return int(np.random.SeedSequence([seed, chain, stage]).generate_state(1, np.uint64)[0] >> np.uint64(2))


def _run_chain(potential, theta, inverse_mass, warmup: int, draws: int, seed: int, settings: dict,
               tick: Callable[[], None] | None = None):
    """One chain of :class:`FastNUTS` from θ: ``warmup`` adaptation steps then ``draws``; returns every state
    (warmup + draws, p) and the kernel (records, diagnostics)."""
    kernel = FastNUTS(potential, inverse_mass=inverse_mass, seed=seed, **settings)
    kernel.initial_params = {"theta": torch.as_tensor(np.array(theta, dtype=np.float64))}
    kernel.setup(warmup)
    out = np.empty((warmup + draws, potential.layout.size))
    params = kernel.initial_params
    for i in range(warmup + draws):
        params = kernel.sample(params)
        out[i] = kernel._state[0]
        if tick is not None:
            tick()
    return out, kernel


def _shrunk_covariance(draws: np.ndarray, prior_cov: np.ndarray) -> np.ndarray:
    """The covariance of pilot draws, shrunk towards ``prior_cov`` (the Laplace covariance) with weight
    p/(m + p) for m draws of p coordinates (Stan shrinks towards a multiple of the identity the same way)."""
    m, p = draws.shape
    if m < 3:
        return prior_cov
    sample = np.cov(draws.T).reshape(p, p)
    weight = m / (m + p)
    cov = weight * sample + (1.0 - weight) * prior_cov
    return 0.5 * (cov + cov.T)


def _nuts_model(data, model, *, chains, draws, warmup, seed, dense_mass, target_accept, max_tree_depth, init,
                progress, jit_compile) -> Posterior:
    """Pyro's NUTS on the Pyro model (the reference path), as bayesreg always ran it."""
    starter = map_start if model.spec.likelihood.has_sufficient_statistics else row_map_start
    start, sd = (init, np.ones(data.d)) if init is not None else starter(data, model)
    Xt, yt = as_tensor(data.X), as_tensor(data.y)
    rng = np.random.default_rng(seed)
    samples, stats, accept = defaultdict(list), defaultdict(list), []
    begin = time.perf_counter()
    for chain in range(chains):
        pyro.set_rng_seed(seed + chain)
        kernel = RecordingNUTS(model, full_mass=dense_mass, target_accept_prob=target_accept,
                               max_tree_depth=max_tree_depth, jit_compile=jit_compile, ignore_jit_warnings=True,
                               init_strategy=init_to_value(values=_jittered(start, sd, chain, rng)))
        mcmc = MCMC(kernel, num_samples=draws, warmup_steps=warmup, num_chains=1, disable_progbar=not progress)
        mcmc.run(Xt, yt)
        for name, value in mcmc.get_samples().items():
            samples[name].append(value.detach().numpy())
        for name, values in kernel.records.items():
            stats[name].append(np.asarray(values[-draws:]))
        accept.append(float(mcmc.diagnostics().get("acceptance rate", {}).get("chain 0", math.nan)))
    seconds = time.perf_counter() - begin
    draws_out = {name: np.stack(values) for name, values in samples.items()}
    sample_stats = {name: np.stack(values) for name, values in stats.items()}
    sample_stats["diverging"] = sample_stats["diverging"].astype(bool)
    return Posterior(
        "nuts", draws_out, data.feature_names, sigma_fixed=model.sigma, seconds=seconds,
        sample_stats=sample_stats, likelihood=model.spec.likelihood,
        info={"chains": chains, "draws": draws, "warmup": warmup, "dense_mass": dense_mass, "path": "model",
              "target_accept": target_accept, "max_tree_depth": max_tree_depth, "acceptance_rate": accept,
              "jit_compile": jit_compile, "start": {k: np.asarray(v).tolist() for k, v in start.items()}},
        attrs={"model": repr(model), "seed": seed, "dense_mass": int(dense_mass), "warmup": warmup, "path": "model"},
        diagnostics=RunDiagnostics("markov chain", max_tree_depth=max_tree_depth),
    )
