r"""Pyro NUTS on the linear-regression model: several chains, float64, started at (and around) the MAP.

The sampler is Pyro's own ``MCMC``/``NUTS`` (Hoffman & Gelman 2014, with Pyro's dual-averaging step size and
diagonal or dense mass-matrix adaptation). Pyro keeps the per-iteration statistics ArviZ needs (divergence,
tree depth, energy) in local variables; :class:`RecordingNUTS` subclasses it only to write them down:

* ``energy``: the Hamiltonian H = U(z) + K(r) at the start of each trajectory (for the energy plot and BFMI);
* ``n_steps``: leapfrog steps, and ``tree_depth`` = ⌈log₂(n_steps + 1)⌉, the number of doublings;
* ``diverging``: whether any leapfrog step exceeded Pyro's energy-error threshold;
* ``step_size``: the step size used.

Chains run one after another, each with its own seed (``seed + chain``) and starting point: chain 0 at the MAP,
the others at the MAP plus a jitter of the size of the posterior's (Laplace-approximate) sd, so that R-hat can
see chains that disagree.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict

import numpy as np
import pyro
import torch
from pyro.infer import MCMC, NUTS
from pyro.infer.autoguide import init_to_value

from ..data import Dataset
from ..errors import SpecError
from ..models import LinearRegressionModel, as_tensor
from ..priors import ConjugateGaussian, Gaussian, HierarchicalPrior, Laplace
from ..solvers import PenalizedLeastSquares
from ..solvers.closed_form import ridge
from ..solvers.proximal import coordinate_descent
from ..suffstats import SufficientStats
from .result import Posterior

__all__ = ["nuts", "RecordingNUTS", "map_start"]


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
        self.records["energy"].append(self._energy)
        self.records["n_steps"].append(self._n_steps)
        self.records["tree_depth"].append(math.ceil(math.log2(self._n_steps + 1)))
        self.records["diverging"].append(self._diverged)
        self.records["step_size"].append(step_size)
        return out


def _plug_in_sigma(stats: SufficientStats) -> float:
    """A rough σ for starting points: the residual sd of a lightly penalised least-squares fit."""
    lam = 1e-6 * max(float(np.trace(stats.sxx)) / max(stats.d, 1), 1e-300)
    fit = ridge(stats, problem=PenalizedLeastSquares(l2=lam))
    rss = stats.syy - 2 * fit.w @ stats.sxy + fit.w @ stats.sxx @ fit.w
    dof = max(stats.n - stats.d - 1, 1)
    return float(math.sqrt(max(rss, 0.0) / dof)) or float(math.sqrt(stats.syy / max(stats.n - 1, 1))) or 1.0


def map_start(data: Dataset, model: LinearRegressionModel) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The MAP of w (and b) at σ (fixed, or a plug-in estimate when σ is random), plus rough posterior sds of w.

    For a hierarchical prior τ starts at the root mean square of a lightly penalised fit's weights.
    """
    stats = SufficientStats.from_arrays(data.X, data.y)
    sigma = model.sigma if model.sigma is not None else _plug_in_sigma(stats)
    prior = model.prior
    start: dict[str, np.ndarray] = {}
    if isinstance(prior, HierarchicalPrior):
        light = ridge(stats, problem=PenalizedLeastSquares(l2=1.0))
        tau = max(float(np.sqrt(np.mean(light.w**2))), 1e-12)
        start["tau"] = np.float64(tau)
        prior = Gaussian(tau) if prior.family == "gaussian" else Laplace(tau)
    if isinstance(prior, ConjugateGaussian):
        prior = prior.given_sigma(sigma)
    problem = PenalizedLeastSquares.from_prior(prior, sigma, model.bias)
    solve = ridge(stats, problem=problem) if problem.l1 == 0 else coordinate_descent(stats, problem=problem)
    start["w"] = solve.w
    if solve.b is not None:
        start["b"] = np.float64(solve.b)
    if model.sigma is None:
        start["sigma"] = np.float64(sigma)
    # diagonal Laplace approximation (the L1 term adds no curvature away from 0)
    sd = sigma / np.sqrt(np.maximum(np.diag(stats.sxx) + problem.l2, 1e-12))
    return start, sd


def _jittered(start: dict, sd: np.ndarray, chain: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    point = {k: np.array(v, dtype=np.float64) for k, v in start.items()}
    if chain > 0:
        point["w"] = point["w"] + 0.5 * sd * rng.standard_normal(sd.shape)
        for name in ("sigma", "tau"):
            if name in point:
                point[name] = point[name] * math.exp(0.1 * rng.standard_normal())
    return {k: torch.as_tensor(v, dtype=torch.float64) for k, v in point.items()}


def nuts(data: Dataset, model: LinearRegressionModel, *, chains: int = 4, draws: int = 1000, warmup: int = 1000,
         seed: int = 0, dense_mass: bool = False, target_accept: float = 0.8, max_tree_depth: int = 10,
         init: dict | None = None, progress: bool = False) -> Posterior:
    """Sample the posterior of ``model`` on ``data`` with Pyro NUTS.

    Parameters
    ----------
    chains, draws, warmup
        Chains run sequentially; ``draws`` kept per chain after ``warmup`` adaptation steps.
    dense_mass
        Adapt a dense (full) mass matrix instead of a diagonal one: better for correlated posteriors.
    init
        Starting point ``{"w": ..., "b": ..., "sigma": ..., "tau": ...}``; default: the MAP (see :func:`map_start`).
    progress
        Show Pyro's progress bar.

    Returns
    -------
    Posterior
        ``method="nuts"``, with ``sample_stats`` diverging, tree_depth, n_steps, energy, step_size; ``info``
        has the settings, the starting point and the per-chain acceptance rate.
    """
    for name, value, low in (("chains", chains, 1), ("draws", draws, 1), ("warmup", warmup, 0),
                             ("max_tree_depth", max_tree_depth, 1)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise SpecError(f"{name} must be a whole number ≥ {low}, got {value!r}")
    if not 0 < target_accept < 1:
        raise SpecError(f"target_accept must be in (0, 1), got {target_accept}")
    start, sd = (init, np.ones(data.d)) if init is not None else map_start(data, model)
    Xt, yt = as_tensor(data.X), as_tensor(data.y)
    rng = np.random.default_rng(seed)
    samples, stats, accept = defaultdict(list), defaultdict(list), []
    begin = time.perf_counter()
    for chain in range(chains):
        pyro.set_rng_seed(seed + chain)
        kernel = RecordingNUTS(model, full_mass=dense_mass, target_accept_prob=target_accept,
                               max_tree_depth=max_tree_depth, jit_compile=False,
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
        sample_stats=sample_stats,
        info={"chains": chains, "draws": draws, "warmup": warmup, "dense_mass": dense_mass,
              "target_accept": target_accept, "max_tree_depth": max_tree_depth, "acceptance_rate": accept,
              "start": {k: np.asarray(v).tolist() for k, v in start.items()}},
        attrs={"model": repr(model), "seed": seed, "dense_mass": int(dense_mass), "warmup": warmup},
    )
