"""bayesreg against the tools a user would pick instead, on the same machine, in one run.

Posterior workloads (y = Xw + b + ε, ε ~ N(0, σ²), σ fixed, flat prior on b), against NumPyro's NUTS:

* ``diabetes-gaussian``: scikit-learn's diabetes data (442 × 10), w ~ N(0, 20²), σ = 54;
* ``diabetes-laplace``: the same data, w ~ Laplace(0, 13.19) (the lasso at scikit-learn α = 0.5), σ = 54;
* ``d2l-laplace``: the *Dive into Deep Learning* weight-decay problem (20 × 200, seed 0), w ~ Laplace(0, 0.01),
  σ = 0.01;
* ``synthetic-laplace``: n = 100 000, d = 50, correlated columns with non-zero means, 10 non-zero weights,
  w ~ Laplace(0, 0.01), σ = 1.

**Metric: posterior throughput** = min over the weights w_j of ArviZ's bulk effective sample size, divided by the
wall-clock seconds of the whole call: building whatever the method needs from the rows (sufficient statistics,
the MAP, the mass matrix), warm-up or JIT compilation, and sampling, until the draws are NumPy arrays. Every tool
draws 4 chains × 1000 kept draws, chains one after another (NumPyro ``chain_method="sequential"``, bayesreg's
chains are sequential too, or batched in one process for Gibbs); NumPyro runs its defaults (1000 warm-up steps,
diagonal mass-matrix adaptation, target acceptance 0.8) in float64 (``jax_enable_x64``) on the model written on
the rows, as a NumPyro user would. Exception: on ``synthetic-laplace`` NumPyro runs 1 chain of 250 warm-up steps
and 250 draws by default: each of its gradients reads the 100 000 rows (about 5 ms) and it takes about 55 leapfrog
steps an iteration, so 1 chain of 1000 + 1000 took 574 s (673 ESS, 1.2 ESS/s) on 2 cores and 4 chains would take
about 40 minutes; ``--full`` runs them. ESS/s is a rate, and the ratio on this workload is in the thousands
either way. The ratio column is
bayesreg's ESS/s over NumPyro's. ``agree`` is the largest |difference of posterior means| over the weights, in
NumPyro posterior sds: a check that both sampled the same posterior.

Rows: ``bayesreg auto`` is ``bayesreg.fitting(method="auto")`` (the exact posterior for a Gaussian prior with σ fixed,
the Bayesian-lasso Gibbs sampler for a Laplace prior); ``bayesreg nuts`` is ``fit(method="nuts")`` (NUTS on the
sufficient-statistics potential, warm-started at the MAP with the mass matrix from the posterior covariance, 300
warm-up steps); ``pyro nuts, potential_fn`` is Pyro's own ``NUTS(potential_fn=...)`` and ``MCMC`` on the same
potential and warm start (Pyro's Python transition); ``pyro nuts, model`` is Pyro's NUTS on the Pyro model with
``jit_compile=True`` (bayesreg's NUTS before issue 7; 1 chain of 1000 + 1000, diabetes only).

Logistic workload ``logistic-breast-cancer`` (``--only logistic``): scikit-learn's breast-cancer data (569 × 30,
``load_dataset("breast_cancer", binary=True, standardize=True)``: columns z-scored with the population sd, as
scikit-learn's ``StandardScaler``), Bernoulli likelihood with logit link, w_j ~ N(0, 1) i.i.d., flat (improper
uniform) prior on b. The same posterior in every tool: bayesreg ``fit(data, Model.logistic(Gaussian(1.0)),
method=...)`` with its default warm-up (rows ``bayesreg auto``, whichever sampler ``auto`` picks; ``bayesreg nuts``;
``bayesreg gibbs``, the Pólya–Gamma sampler), timed as the larger of the call's wall seconds and
``Posterior.seconds``; NumPyro's NUTS (b ~ ``ImproperUniform``, float64, 4 chains sequential, 1000 warm-up + 1000
draws) and PyMC's NUTS (b ~ ``pm.Flat``, ``pm.sample(draws=1000, tune=1000, chains=4, cores=1)``), each timed from
building the model to the draws, JIT/C compilation included; the compilation seconds are also reported on their
own (JAX's tracing, lowering and compile events for NumPyro; wall seconds less PyMC's own ``sampling_time`` for
PyMC, so model set-up and compilation). Same metric (min bulk ESS of w per wall-second); the ratio column is ESS/s
over the faster peer's (max of NumPyro, PyMC); ``agree`` is the largest |difference of posterior means| over w in
NumPyro posterior sds, and the JSON's ``logistic_breast_cancer`` holds the largest over every pair of tools. PyMC
comes from the ``bench`` extra too; without it the ratio is over NumPyro alone. A pip-installed PyTensor finds no
BLAS to link (a warning at import) and runs its C code without one; with no C compiler it falls back to Python
(``pytensor.config.cxx = ""``), much slower: the JSON records which.

Horseshoe workload ``horseshoe-sparse`` (``--only horseshoe``): a sparse problem like the d2l chapter's (X ~ N(0, I),
n = 100 rows, d = 200 features, 10 non-zero true weights ±U(0.005, 0.02), b = 0.05, σ = 0.01 fixed at its true
value, flat b), under the horseshoe w_j ~ N(0, σ²τ²λ_j²), λ_j ~ C⁺(0, 1), τ ~ C⁺(0, τ₀) with Piironen & Vehtari's
τ₀ = p₀/(d − p₀)/√n for p₀ = 10. NumPyro and PyMC sample it as their users do, non-centred (z ~ N(0, I),
w = στλ ⊙ z, as NumPyro's horseshoe example), with their default NUTS (4 chains sequential, 1000 warm-up + 1000
draws, float64); bayesreg runs ``fit(method="gibbs")`` (Makalic & Schmidt's sampler, every 5th of 5000 sweeps kept
per chain after 1000 warm-up); with ``--horseshoe-nuts`` also ``fit(method="nuts")``, its NUTS with the weights
integrated out (1000 warm-up, a diagonal mass matrix here), left out by default because it takes about 110 s, as
long as the rest of the workload (measured: 108 s, 31 leapfrog steps an iteration, 0.54× NumPyro's ESS/s on w, τ's
ESS twice NumPyro's; the non-centred parametrisation before it: 199 steps, 0.26×).
Same metric (min bulk ESS of w per wall-second, compilation included); the ratio is over the faster peer;
``agree`` is the largest |difference of posterior means| over w in NumPyro posterior sds; each row's note also
gives τ's bulk ESS, which the metric leaves out (bayesreg's Gibbs moves τ with w integrated out so that τ's ESS
passes its health check; without that move it was 65–270). Target (issue 16): Gibbs ≥ 20× the faster peer.

MAP workloads (n = 1 000 000, d = 100, float64, correlated columns with non-zero means), against scikit-learn:

* ``ridge-map``: ``Ridge(alpha=1000)`` (solver "auto") against :func:`bayesreg.solvers.closed_form.ridge` at
  λ₂ = 1000;
* ``lasso-map``: ``Lasso(alpha=0.1)`` against :func:`bayesreg.solvers.proximal.coordinate_descent` at
  λ₁ = nα.

**Metric: seconds at equal accuracy.** A reference solution is computed first (not timed): the Cholesky (ridge)
or coordinate-descent (lasso, duality gap ≤ 1e-15 × objective) solution on a Gram matrix computed in two
passes, then refined by Newton steps whose residuals X(w) − y come from the rows (so the reference does not
share the Gram matrix's rounding; its KKT residual is reported). Each tool's error is max_j |w_j − w*_j| /
max_j |w*_j|. Both tools must reach ≤ 1e-6: each iterative solver's ``tol`` is taken from a ladder (1e-4, 1e-6,
..., 1e-14), loosest first, and the first ``tol`` that reaches 1e-6 is the one timed (the ladder's runs are not
counted). Timings are the median of ``--map-repeat`` runs (default 3). The ratio is bayesreg's seconds over
scikit-learn's.

Targets (from issue 7): default method ≥ 20× NumPyro's ESS/s on every posterior workload; bayesreg NUTS ≥ 1×
NumPyro on both diabetes workloads; ridge ≤ 0.5× scikit-learn's time; lasso ≤ 1×. Issue 16 adds bayesreg NUTS
≥ 1× on every posterior workload, d2l included, and the horseshoe Gibbs sampler ≥ 20× the faster peer.

Usage::

    python benchmarks/run.py                       # everything (about 6-10 minutes on 2 cores)
    python benchmarks/run.py --quick               # a smoke run on small data (under a minute)
    python benchmarks/run.py --only diabetes-laplace,ridge-map --out bench.json
    python benchmarks/run.py --only logistic --out bench.json   # the logistic workload alone (about 3 minutes)

NumPyro, JAX and PyMC come from the ``bench`` extra (``pip install -e '.[bench]'``); they are never imported by
bayesreg.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

POSTERIOR_WORKLOADS = ("diabetes-gaussian", "diabetes-laplace", "d2l-laplace", "synthetic-laplace")
LOGISTIC = "logistic-breast-cancer"
HORSESHOE = "horseshoe-sparse"
MAP_WORKLOADS = ("ridge-map", "lasso-map")
WORKLOADS = POSTERIOR_WORKLOADS + (LOGISTIC, HORSESHOE) + MAP_WORKLOADS
#: short names ``--only`` also takes
ALIASES = {"logistic": LOGISTIC, "horseshoe": HORSESHOE}
#: the bayesreg methods timed on the horseshoe workload, as (row, method); NUTS only with --horseshoe-nuts
HORSESHOE_METHODS = (("bayesreg gibbs", "gibbs"), ("bayesreg nuts", "nuts"))
#: the sparse d2l-like problem: n rows, d features, k non-zero weights, noise sd, expected non-zeros p₀
HORSESHOE_SHAPE = {"n": 100, "d": 200, "k": 10, "sigma": 0.01, "p0": 10}
#: the bayesreg methods timed on the logistic workload, as (row, method)
LOGISTIC_METHODS = (("bayesreg auto", "auto"), ("bayesreg nuts", "nuts"), ("bayesreg gibbs", "gibbs"))
ACCURACY = 1e-6
#: NumPyro on synthetic-laplace by default: 1 chain of this many warm-up steps and draws (see the docstring)
SYNTHETIC_NUMPYRO = 250
TOL_LADDER = (1e-4, 1e-6, 1e-8, 1e-10, 1e-12, 1e-14)


# ------------------------------------------------------------------------------------------------ settings

@dataclass(frozen=True)
class Settings:
    quick: bool = False
    full: bool = False
    seed: int = 0
    chains: int = 4
    draws: int = 1000
    numpyro_warmup: int = 1000
    nuts_warmup: int = 300
    reference_rows: bool = True
    map_repeat: int = 3
    map_n: int = 1_000_000
    map_d: int = 100
    synthetic_n: int = 100_000
    synthetic_d: int = 50
    horseshoe_nuts: bool = False

    @classmethod
    def make(cls, quick: bool, full: bool, seed: int, map_repeat: int, reference: bool,
             horseshoe_nuts: bool = False) -> Settings:
        if quick:
            return cls(quick=True, full=full, seed=seed, chains=2, draws=200, numpyro_warmup=200, nuts_warmup=150,
                       reference_rows=False, map_repeat=1, map_n=20_000, map_d=20, synthetic_n=5_000,
                       synthetic_d=20, horseshoe_nuts=horseshoe_nuts)
        return cls(full=full, seed=seed, map_repeat=map_repeat, reference_rows=reference,
                   horseshoe_nuts=horseshoe_nuts)


@dataclass
class Row:
    """One line of the results."""

    workload: str
    tool: str
    seconds: float
    ess: float | None = None
    ess_per_s: float | None = None
    ratio: float | None = None
    error: float | None = None
    agree: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ data

@dataclass(frozen=True)
class PosteriorWorkload:
    name: str
    data: object  # bayesreg Dataset
    prior: str    # "gaussian" or "laplace"
    scale: float  # τ or s
    sigma: float
    description: str
    numpyro_chains: int
    numpyro_warmup: int
    numpyro_draws: int


def _synthetic(n: int, d: int, seed: int, nonzero: int, noise: float, rho: float, sparse: bool = True):
    """Correlated columns (AR(1) correlation ρ^|i−j|) with means in (−2, 2); sparse or dense true weights."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    # AR(1) columns in place: x_j ← ρ x_{j−1} + √(1 − ρ²) z_j keeps unit variance, corr ρ^|i−j|, no copy of X
    for j in range(1, d):
        X[:, j] *= math.sqrt(1.0 - rho * rho)
        X[:, j] += rho * X[:, j - 1]
    X += rng.uniform(-2.0, 2.0, d)
    w = np.zeros(d)
    idx = rng.choice(d, size=min(nonzero, d), replace=False) if sparse else np.arange(d)
    w[idx] = rng.normal(0.0, 1.0, size=len(idx))
    y = X @ w + 3.0 + noise * rng.standard_normal(n)
    return X, y, w


def posterior_workload(name: str, cfg: Settings) -> PosteriorWorkload:
    import bayesreg as br

    numpyro = (cfg.chains, cfg.numpyro_warmup, cfg.draws)
    if name == "diabetes-gaussian":
        return PosteriorWorkload(name, br.load_diabetes(), "gaussian", 20.0, 54.0,
                                 "diabetes 442×10, w ~ N(0, 20²), σ = 54", *numpyro)
    if name == "diabetes-laplace":
        return PosteriorWorkload(name, br.load_diabetes(), "laplace", 54.0**2 / 221.0, 54.0,
                                 "diabetes 442×10, w ~ Laplace(0, 13.19), σ = 54", *numpyro)
    if name == "d2l-laplace":
        return PosteriorWorkload(name, br.load_d2l(0).train, "laplace", 0.01, 0.01,
                                 "d2l 20×200, w ~ Laplace(0, 0.01), σ = 0.01", *numpyro)
    if name == "synthetic-laplace":
        X, y, _ = _synthetic(cfg.synthetic_n, cfg.synthetic_d, cfg.seed + 1, nonzero=10, noise=1.0, rho=0.5)
        data = br.from_arrays(X, y, name="synthetic")
        if not (cfg.full or cfg.quick):
            numpyro = (1, SYNTHETIC_NUMPYRO, SYNTHETIC_NUMPYRO)
        return PosteriorWorkload(name, data, "laplace", 0.01, 1.0,
                                 f"synthetic {cfg.synthetic_n}×{cfg.synthetic_d}, w ~ Laplace(0, 0.01), σ = 1",
                                 *numpyro)
    raise ValueError(name)


# ------------------------------------------------------------------------------------------------ metrics

def min_bulk_ess(w: np.ndarray) -> float:
    """min_j bulk ESS of w_j from draws (chain, draw, d), by ArviZ."""
    import arviz as az

    ess = az.ess(az.convert_to_dataset({"w": np.asarray(w, dtype=np.float64)}), method="bulk")["w"].values
    return float(np.min(ess))


def _timed(fn: Callable):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


# ------------------------------------------------------------------------------------------------ NumPyro

def _numpyro():
    try:
        import jax
        import numpyro
    except ImportError as exc:  # pragma: no cover - exercised only without the bench extra
        raise SystemExit("the benchmark needs NumPyro and JAX: pip install -e '.[bench]'") from exc
    jax.config.update("jax_enable_x64", True)
    numpyro.enable_x64()
    return jax, numpyro


def run_numpyro(wl: PosteriorWorkload, cfg: Settings) -> dict:
    jax, numpyro = _numpyro()
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    prior, scale, sigma = wl.prior, wl.scale, wl.sigma

    def model(X, y):
        d = X.shape[1]
        base = dist.Normal(0.0, scale) if prior == "gaussian" else dist.Laplace(0.0, scale)
        w = numpyro.sample("w", base.expand([d]).to_event(1))
        b = numpyro.sample("b", dist.ImproperUniform(dist.constraints.real, (), ()))
        numpyro.sample("y", dist.Normal(X @ w + b, sigma), obs=y)

    def go():
        X, y = np.asarray(wl.data.X), np.asarray(wl.data.y)
        mcmc = MCMC(NUTS(model), num_warmup=wl.numpyro_warmup, num_samples=wl.numpyro_draws,
                    num_chains=wl.numpyro_chains, chain_method="sequential", progress_bar=False)
        mcmc.run(jax.random.PRNGKey(cfg.seed), X, y, extra_fields=("num_steps",))
        samples = mcmc.get_samples(group_by_chain=True)
        steps = np.asarray(mcmc.get_extra_fields()["num_steps"])
        return np.asarray(samples["w"]), float(steps.mean())

    seconds, (w, steps) = _timed(go)
    return {"seconds": seconds, "w": w, "steps": steps}


# ------------------------------------------------------------------------------------------------ bayesreg

def _prior(wl: PosteriorWorkload):
    import bayesreg as br

    return br.Gaussian(wl.scale) if wl.prior == "gaussian" else br.Laplace(wl.scale)


def _cold_cache() -> None:
    """Forget cached sufficient statistics, so that every timed call pays for its own pass over the rows."""
    from bayesreg import suffstats

    suffstats._CACHE.clear()


def run_bayesreg(wl: PosteriorWorkload, cfg: Settings, method: str) -> dict:
    from bayesreg.fitting import fit

    kwargs = {"warmup": cfg.nuts_warmup} if method == "nuts" else {}
    _cold_cache()
    seconds, post = _timed(lambda: fit(wl.data, _prior(wl), wl.sigma, method=method, chains=cfg.chains,
                                       draws=cfg.draws, seed=cfg.seed, **kwargs))
    steps = post.sample_stats["n_steps"].mean() if "n_steps" in post.sample_stats else None
    warmup = post.info.get("warmup", 0)
    return {"seconds": seconds, "w": post.draws["w"], "method": post.method, "steps": steps, "warmup": warmup}


def run_pyro_potential(wl: PosteriorWorkload, cfg: Settings) -> dict:
    """Pyro's own NUTS and MCMC (its Python transition) on the sufficient-statistics potential, warm-started at the
    MAP with the inverse mass matrix set to the (Laplace-approximate) covariance; step size tuned in warm-up."""
    import pyro
    import torch
    from pyro.infer import MCMC, NUTS

    import bayesreg as br
    from bayesreg.infer.nuts import map_start, warm_start
    from bayesreg.infer.potential import Potential

    _cold_cache()

    def go():
        model = br.LinearRegressionModel(_prior(wl), sigma=wl.sigma)
        potential = Potential(wl.data, model)
        theta0, cov = warm_start(potential, map_start(wl.data, model)[0])
        mass = torch.as_tensor(cov)

        class WarmNUTS(NUTS):
            def _build_basetree(self, *args, **kwargs):
                kernel_steps.append(1)
                return super()._build_basetree(*args, **kwargs)

            def setup(self, warmup_steps, *args, **kwargs):
                super().setup(warmup_steps, *args, **kwargs)
                (key,) = self.mass_matrix_adapter.inverse_mass_matrix
                self.mass_matrix_adapter.inverse_mass_matrix = {key: mass}
                self._adapter.reset_step_size_adaptation(self._initial_params)

        draws = []
        for chain in range(cfg.chains):
            kernel_steps.clear()
            pyro.set_rng_seed(cfg.seed + chain)
            kernel = WarmNUTS(potential_fn=potential.torch_fn(), full_mass=True, adapt_mass_matrix=False)
            mcmc = MCMC(kernel, num_samples=cfg.draws, warmup_steps=cfg.nuts_warmup, disable_progbar=True,
                        initial_params={"theta": torch.as_tensor(theta0)})
            mcmc.run()
            draws.append(mcmc.get_samples()["theta"].numpy()[:, : potential.d])
            steps.append(len(kernel_steps) / (cfg.nuts_warmup + cfg.draws))  # warm-up included
        return np.stack(draws)

    steps: list[float] = []
    kernel_steps: list[int] = []
    seconds, w = _timed(go)
    return {"seconds": seconds, "w": w, "steps": float(np.mean(steps))}


def run_pyro_model(wl: PosteriorWorkload, cfg: Settings) -> dict:
    import bayesreg as br
    from bayesreg.infer.nuts import nuts

    model = br.LinearRegressionModel(_prior(wl), sigma=wl.sigma)
    _cold_cache()
    seconds, post = _timed(lambda: nuts(wl.data, model, chains=1, draws=cfg.draws, warmup=cfg.numpyro_warmup,
                                        seed=cfg.seed, path="model", jit_compile=True))
    return {"seconds": seconds, "w": post.draws["w"], "steps": float(post.sample_stats["n_steps"].mean())}


def posterior_rows(name: str, cfg: Settings, log) -> list[Row]:
    wl = posterior_workload(name, cfg)
    log(f"[{name}] {wl.description}")
    log(f"  numpyro nuts ({wl.numpyro_chains} chain(s) × {wl.numpyro_warmup} + {wl.numpyro_draws}) ...")
    ref = run_numpyro(wl, cfg)
    ref_ess = min_bulk_ess(ref["w"])
    ref_rate = ref_ess / ref["seconds"]
    ref_flat = ref["w"].reshape(-1, ref["w"].shape[-1])
    ref_mean, ref_sd = ref_flat.mean(0), ref_flat.std(0)
    note = (f"{wl.numpyro_chains} × ({wl.numpyro_warmup} + {wl.numpyro_draws}), "
            f"{ref['steps']:.0f} steps/iteration")
    rows = [Row(name, "numpyro nuts", ref["seconds"], ref_ess, ref_rate, 1.0, note=note)]

    def add(tool: str, result: dict, note: str = ""):
        ess = min_bulk_ess(result["w"])
        flat = result["w"].reshape(-1, result["w"].shape[-1])
        agree = float(np.max(np.abs(flat.mean(0) - ref_mean) / ref_sd))
        rate = ess / result["seconds"]
        if result.get("steps") is not None:
            note += f", {result['steps']:.0f} steps/iteration"
        rows.append(Row(name, tool, result["seconds"], ess, rate, rate / ref_rate, agree=agree, note=note))
        log(f"  {tool}: {result['seconds']:.3f} s, ESS {ess:.0f}, {rate:.0f}/s, ×{rate / ref_rate:.1f}")

    log(f"  numpyro nuts: {ref['seconds']:.2f} s, ESS {ref_ess:.0f}, {ref_rate:.0f}/s")
    auto = run_bayesreg(wl, cfg, "auto")
    add("bayesreg auto", auto, f"{auto['method']}, {cfg.chains} × ({auto['warmup']} + {cfg.draws})")
    add("bayesreg nuts", run_bayesreg(wl, cfg, "nuts"), f"{cfg.chains} × ({cfg.nuts_warmup} + {cfg.draws})")
    if cfg.reference_rows and name.startswith("diabetes"):
        add("pyro nuts, potential_fn", run_pyro_potential(wl, cfg), f"{cfg.chains} × ({cfg.nuts_warmup} + {cfg.draws})")
        add("pyro nuts, model", run_pyro_model(wl, cfg), f"1 × ({cfg.numpyro_warmup} + {cfg.draws}), jit")
    return rows


# ------------------------------------------------------------------------------------------------ logistic

def logistic_data():
    import bayesreg as br

    return br.load_dataset("breast_cancer", binary=True, standardize=True)


def run_bayesreg_logistic(data, cfg: Settings, method: str) -> dict:
    import bayesreg as br
    from bayesreg.model import Model
    from bayesreg.priors import Gaussian

    _cold_cache()
    wall, post = _timed(lambda: br.fit(data, Model.logistic(Gaussian(1.0)), method=method, chains=cfg.chains,
                                       draws=cfg.draws, seed=cfg.seed))
    steps = post.sample_stats["n_steps"].mean() if "n_steps" in post.sample_stats else None
    return {"seconds": max(wall, float(post.seconds or 0.0)), "wall": wall, "reported": post.seconds,
            "w": post.draws["w"], "method": post.method, "steps": steps, "warmup": post.info.get("warmup", 0)}


def run_numpyro_logistic(data, cfg: Settings) -> dict:
    jax, numpyro = _numpyro()
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    def model(X, y):
        w = numpyro.sample("w", dist.Normal(0.0, 1.0).expand([X.shape[1]]).to_event(1))
        b = numpyro.sample("b", dist.ImproperUniform(dist.constraints.real, (), ()))
        numpyro.sample("y", dist.Bernoulli(logits=X @ w + b), obs=y)

    compile_s = [0.0]

    def on_event(event: str, duration: float, **_):
        if event.startswith("/jax/core/compile/"):  # tracing, lowering to MLIR, XLA compilation
            compile_s[0] += duration

    def go():
        X, y = np.asarray(data.X), np.asarray(data.y)
        mcmc = MCMC(NUTS(model), num_warmup=cfg.numpyro_warmup, num_samples=cfg.draws, num_chains=cfg.chains,
                    chain_method="sequential", progress_bar=False)
        mcmc.run(jax.random.PRNGKey(cfg.seed), X, y, extra_fields=("num_steps",))
        samples = mcmc.get_samples(group_by_chain=True)
        steps = np.asarray(mcmc.get_extra_fields()["num_steps"])
        return np.asarray(samples["w"]), float(steps.mean())

    jax.monitoring.register_event_duration_secs_listener(on_event)
    try:
        seconds, (w, steps) = _timed(go)
    finally:
        jax.monitoring.unregister_event_duration_listener(on_event)
    return {"seconds": seconds, "w": w, "steps": steps, "compile": compile_s[0]}


def _pytensor_mode() -> dict:
    import pytensor

    return {"cxx": pytensor.config.cxx, "blas": pytensor.config.blas__ldflags,
            "backend": "C" if pytensor.config.cxx else "pure Python (no C compiler)"}


def run_pymc_logistic(data, cfg: Settings) -> dict:
    import logging
    import warnings

    import pymc as pm
    import pytensor

    logging.getLogger("pymc").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", "PyTensor could not link to a BLAS", UserWarning)  # in the row's note
    X, y = np.asarray(data.X), np.asarray(data.y)

    def go():
        with pm.Model():
            w = pm.Normal("w", 0.0, 1.0, shape=X.shape[1])
            b = pm.Flat("b")
            pm.Bernoulli("y", logit_p=pm.math.dot(X, w) + b, observed=y)
            idata = pm.sample(draws=cfg.draws, tune=cfg.numpyro_warmup, chains=cfg.chains, cores=1,
                              random_seed=cfg.seed, progressbar=False, compute_convergence_checks=False)
        return idata

    try:
        seconds, idata = _timed(go)
    except Exception as exc:  # a failed C compilation: PyTensor's Python mode instead
        if not pytensor.config.cxx:
            raise
        print(f"  pymc: C compilation failed ({type(exc).__name__}: {exc}); pytensor.config.cxx = '' (pure Python)",
              file=sys.stderr, flush=True)
        pytensor.config.cxx = ""
        seconds, idata = _timed(go)
    sampling = float(idata.sample_stats.attrs.get("sampling_time", seconds))
    return {"seconds": seconds, "w": idata.posterior["w"].values, "steps": float(idata.sample_stats["n_steps"].mean()),
            "compile": seconds - sampling, "pytensor": _pytensor_mode()}


def _have_pymc() -> bool:
    try:
        import pymc  # noqa: F401
    except ImportError:
        return False
    return True


def logistic_rows(cfg: Settings, log) -> tuple[list[Row], dict]:
    """The logistic workload's rows, and its summary for the JSON (``logistic_breast_cancer``)."""
    data = logistic_data()
    n, d = data.X.shape
    description = f"breast_cancer {n}×{d} standardised, logistic, w ~ N(0, 1), flat b"
    log(f"[{LOGISTIC}] {description}")
    peer_shape = f"{cfg.chains} × ({cfg.numpyro_warmup} + {cfg.draws})"
    results: dict[str, dict] = {}
    notes: dict[str, str] = {}
    log(f"  numpyro nuts ({peer_shape}) ...")
    results["numpyro nuts"] = run_numpyro_logistic(data, cfg)
    notes["numpyro nuts"] = peer_shape
    if _have_pymc():
        log(f"  pymc nuts ({peer_shape}) ...")
        results["pymc nuts"] = run_pymc_logistic(data, cfg)
        notes["pymc nuts"] = f"{peer_shape}, PyTensor {results['pymc nuts']['pytensor']['backend']}" + (
            "" if results["pymc nuts"]["pytensor"]["blas"] else " without BLAS")
    else:
        log("  pymc is not installed: the ratio is over NumPyro alone")
    peers = list(results)
    for tool, method in LOGISTIC_METHODS:
        log(f"  {tool} ...")
        results[tool] = run_bayesreg_logistic(data, cfg, method)
        notes[tool] = f"{results[tool]['method']}, {cfg.chains} × ({results[tool]['warmup']} + {cfg.draws})"

    stats = {}
    for tool, r in results.items():
        flat = r["w"].reshape(-1, d)
        ess_j = _bulk_ess_each(r["w"])
        ess = float(np.min(ess_j))
        stats[tool] = {"ess": ess, "rate": ess / r["seconds"], "mean": flat.mean(0), "sd": flat.std(0),
                       "ess_j": ess_j}
        log(f"  {tool}: {r['seconds']:.2f} s, min ESS {ess:.0f}, {ess / r['seconds']:.0f}/s")
    best_peer = max(peers, key=lambda t: stats[t]["rate"])
    best_rate = stats[best_peer]["rate"]
    ref_sd = stats["numpyro nuts"]["sd"]
    ref_mean = stats["numpyro nuts"]["mean"]

    rows = []
    for tool, r in results.items():
        s = stats[tool]
        note = notes[tool]
        if r.get("steps") is not None:
            note += f", {r['steps']:.0f} steps/iteration"
        agree = None if tool == "numpyro nuts" else float(np.max(np.abs(s["mean"] - ref_mean) / ref_sd))
        extra = {"compile_seconds": r.get("compile")}
        if "wall" in r:
            extra.update(wall_seconds=r["wall"], reported_seconds=r["reported"], method=r["method"])
        if "pytensor" in r:
            extra["pytensor"] = r["pytensor"]
        rows.append(Row(LOGISTIC, tool, r["seconds"], s["ess"], s["rate"], s["rate"] / best_rate, agree=agree,
                        note=note, extra=extra))

    # the largest standardised difference of posterior means over every pair of tools, in NumPyro sds, with its
    # Monte Carlo z-score (the difference over its standard error from the two bulk ESSs)
    worst = {"value": 0.0}
    tools = list(results)
    for i, a in enumerate(tools):
        for b in tools[i + 1:]:
            sa, sb = stats[a], stats[b]
            diff = np.abs(sa["mean"] - sb["mean"]) / ref_sd
            j = int(np.argmax(diff))
            if diff[j] > worst["value"]:
                se = math.sqrt(sa["sd"][j] ** 2 / sa["ess_j"][j] + sb["sd"][j] ** 2 / sb["ess_j"][j]) / ref_sd[j]
                worst = {"value": float(diff[j]), "pair": [a, b], "weight": data.feature_names[j],
                         "mc_z": float(diff[j] / se)}
    default = stats["bayesreg auto"]["rate"]
    summary = {
        "description": description,
        "settings": {"chains": cfg.chains, "draws": cfg.draws, "peer_warmup": cfg.numpyro_warmup},
        "tools": {row.tool: {"seconds": row.seconds, "compile_seconds": row.extra.get("compile_seconds"),
                             "min_bulk_ess": row.ess, "ess_per_s": row.ess_per_s, "note": row.note}
                  for row in rows},
        "best_peer": best_peer,
        "ratio_default_over_best_peer": default / best_rate,
        "default_method": results["bayesreg auto"]["method"],
        "max_standardised_mean_difference": worst,
        "pytensor": results["pymc nuts"]["pytensor"] if "pymc nuts" in results else None,
    }
    log(f"  bayesreg auto ({summary['default_method']}) / {best_peer}: {default / best_rate:.2f}×; largest "
        f"|Δ mean| {worst['value']:.3f} sd ({' vs '.join(worst.get('pair', []))})")
    return rows, summary


# ------------------------------------------------------------------------------------------------ horseshoe

def horseshoe_data(seed: int):
    """The sparse d2l-like problem of the module docstring, and its true weights."""
    import bayesreg as br

    shape = HORSESHOE_SHAPE
    rng = np.random.default_rng(seed + 16)
    X = rng.standard_normal((shape["n"], shape["d"]))
    w = np.zeros(shape["d"])
    idx = rng.choice(shape["d"], size=shape["k"], replace=False)
    w[idx] = rng.choice([-1.0, 1.0], shape["k"]) * rng.uniform(0.005, 0.02, shape["k"])
    y = X @ w + 0.05 + shape["sigma"] * rng.standard_normal(shape["n"])
    return br.from_arrays(X, y, name="sparse-d2l"), w


def _global_scale() -> float:
    from bayesreg.shrinkage import global_scale_for

    return global_scale_for(HORSESHOE_SHAPE["p0"], HORSESHOE_SHAPE["d"], HORSESHOE_SHAPE["n"])


def run_bayesreg_horseshoe(data, cfg: Settings, method: str) -> dict:
    import bayesreg as br
    from bayesreg.model import Model
    from bayesreg.shrinkage import Horseshoe

    _cold_cache()
    model = Model.gaussian(Horseshoe(_global_scale()), HORSESHOE_SHAPE["sigma"])
    wall, post = _timed(lambda: br.fit(data, model, method=method, chains=cfg.chains, draws=cfg.draws,
                                       seed=cfg.seed))
    steps = post.sample_stats["n_steps"].mean() if "n_steps" in post.sample_stats else None
    return {"seconds": max(wall, float(post.seconds or 0.0)), "w": post.draws["w"], "tau": post.draws["tau"],
            "steps": steps,
            "note": (f"{post.method}, {cfg.chains} × ({post.info.get('warmup', 0)} + {cfg.draws}"
                     + (f" × thin {post.info['thin']})" if "thin" in post.info else ")"))}


def run_numpyro_horseshoe(data, cfg: Settings) -> dict:
    jax, numpyro = _numpyro()
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    sigma, tau0 = HORSESHOE_SHAPE["sigma"], _global_scale()

    def model(X, y):
        d = X.shape[1]
        tau = numpyro.sample("tau", dist.HalfCauchy(tau0))
        lam = numpyro.sample("lambda", dist.HalfCauchy(np.ones(d)).to_event(1))
        z = numpyro.sample("z", dist.Normal(0.0, 1.0).expand([d]).to_event(1))
        w = numpyro.deterministic("w", sigma * tau * lam * z)
        b = numpyro.sample("b", dist.ImproperUniform(dist.constraints.real, (), ()))
        numpyro.sample("y", dist.Normal(X @ w + b, sigma), obs=y)

    def go():
        mcmc = MCMC(NUTS(model), num_warmup=cfg.numpyro_warmup, num_samples=cfg.draws, num_chains=cfg.chains,
                    chain_method="sequential", progress_bar=False)
        mcmc.run(jax.random.PRNGKey(cfg.seed), np.asarray(data.X), np.asarray(data.y), extra_fields=("num_steps",))
        samples = mcmc.get_samples(group_by_chain=True)
        return (np.asarray(samples["w"]), np.asarray(samples["tau"]),
                float(np.asarray(mcmc.get_extra_fields()["num_steps"]).mean()))

    seconds, (w, tau, steps) = _timed(go)
    return {"seconds": seconds, "w": w, "tau": tau, "steps": steps,
            "note": f"non-centred, {cfg.chains} × ({cfg.numpyro_warmup} + {cfg.draws})"}


def run_pymc_horseshoe(data, cfg: Settings) -> dict:
    import logging
    import warnings

    import pymc as pm

    logging.getLogger("pymc").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", "PyTensor could not link to a BLAS", UserWarning)
    sigma, tau0 = HORSESHOE_SHAPE["sigma"], _global_scale()
    X, y = np.asarray(data.X), np.asarray(data.y)

    def go():
        with pm.Model():
            tau = pm.HalfCauchy("tau", tau0)
            lam = pm.HalfCauchy("lambda", 1.0, shape=X.shape[1])
            z = pm.Normal("z", 0.0, 1.0, shape=X.shape[1])
            w = pm.Deterministic("w", sigma * tau * lam * z)
            b = pm.Flat("b")
            pm.Normal("y", pm.math.dot(X, w) + b, sigma, observed=y)
            return pm.sample(draws=cfg.draws, tune=cfg.numpyro_warmup, chains=cfg.chains, cores=1,
                             random_seed=cfg.seed, progressbar=False, compute_convergence_checks=False)

    seconds, idata = _timed(go)
    return {"seconds": seconds, "w": idata.posterior["w"].values, "tau": idata.posterior["tau"].values,
            "steps": float(idata.sample_stats["n_steps"].mean()),
            "note": f"non-centred, {cfg.chains} × ({cfg.numpyro_warmup} + {cfg.draws}), PyTensor "
                    f"{_pytensor_mode()['backend']}"}


def horseshoe_rows(cfg: Settings, log) -> tuple[list[Row], dict]:
    """The horseshoe workload's rows, and its summary for the JSON (``horseshoe_sparse``)."""
    data, truth = horseshoe_data(cfg.seed)
    shape = HORSESHOE_SHAPE
    description = (f"sparse d2l-like {shape['n']}×{shape['d']}, {shape['k']} non-zero, σ = {shape['sigma']:g}, "
                   f"horseshoe τ ~ C⁺(0, {_global_scale():.4g})")
    log(f"[{HORSESHOE}] {description}")
    results: dict[str, dict] = {}
    log("  numpyro nuts ...")
    results["numpyro nuts"] = run_numpyro_horseshoe(data, cfg)
    if _have_pymc():
        log("  pymc nuts ...")
        results["pymc nuts"] = run_pymc_horseshoe(data, cfg)
    peers = list(results)
    for tool, method in HORSESHOE_METHODS:
        if method == "nuts" and not cfg.horseshoe_nuts:
            continue
        log(f"  {tool} ...")
        results[tool] = run_bayesreg_horseshoe(data, cfg, method)
    stats = {}
    for tool, r in results.items():
        flat = r["w"].reshape(-1, shape["d"])
        ess = float(np.min(_bulk_ess_each(r["w"])))
        tau_ess = float(_bulk_ess_each(r["tau"][..., None])[0])
        stats[tool] = {"ess": ess, "rate": ess / r["seconds"], "mean": flat.mean(0), "sd": flat.std(0),
                       "tau_ess": tau_ess}
        log(f"  {tool}: {r['seconds']:.2f} s, min ESS {ess:.0f}, {ess / r['seconds']:.1f}/s; τ's ESS {tau_ess:.0f}")
    best_peer = max(peers, key=lambda t: stats[t]["rate"])
    best_rate = stats[best_peer]["rate"]
    ref = stats["numpyro nuts"]
    rows = []
    for tool, r in results.items():
        st = stats[tool]
        note = r["note"] + (f", {r['steps']:.0f} steps/iteration" if r.get("steps") is not None else "")
        note += f", τ's bulk ESS {st['tau_ess']:.0f}"
        agree = None if tool == "numpyro nuts" else float(np.max(np.abs(st["mean"] - ref["mean"]) / ref["sd"]))
        rows.append(Row(HORSESHOE, tool, r["seconds"], st["ess"], st["rate"], st["rate"] / best_rate, agree=agree,
                        note=note))
    summary = {"description": description, "best_peer": best_peer,
               "ratio_gibbs_over_best_peer": stats["bayesreg gibbs"]["rate"] / best_rate,
               "error_of_posterior_mean": {t: float(np.linalg.norm(st["mean"] - truth)) for t, st in stats.items()},
               "tools": {row.tool: {"seconds": row.seconds, "min_bulk_ess": row.ess, "ess_per_s": row.ess_per_s,
                                    "tau_bulk_ess": stats[row.tool]["tau_ess"], "note": row.note} for row in rows}}
    log(f"  bayesreg gibbs / {best_peer}: {summary['ratio_gibbs_over_best_peer']:.1f}×")
    return rows, summary


def _bulk_ess_each(w: np.ndarray) -> np.ndarray:
    import arviz as az

    return az.ess(az.convert_to_dataset({"w": np.asarray(w, dtype=np.float64)}), method="bulk")["w"].values


# ------------------------------------------------------------------------------------------------ MAP

def _centred_gram(X: np.ndarray, y: np.ndarray, block: int = 1 << 14):
    """Two-pass centred cross-products (exact means first), for the reference only."""
    x_mean = X.mean(axis=0)
    y_mean = float(y.mean())
    d = X.shape[1]
    G, q = np.zeros((d, d)), np.zeros(d)
    for i in range(0, len(y), block):
        Xc = X[i:i + block] - x_mean
        yc = y[i:i + block] - y_mean
        G += Xc.T @ Xc
        q += Xc.T @ yc
    return x_mean, y_mean, G, q


def _row_gradient(X, y, x_mean, y_mean, w, block: int = 1 << 14) -> np.ndarray:
    """Xcᵀ(yc − Xc w) from the rows, blockwise."""
    g = np.zeros(X.shape[1])
    for i in range(0, len(y), block):
        Xc = X[i:i + block] - x_mean
        g += Xc.T @ ((y[i:i + block] - y_mean) - Xc @ w)
    return g


def reference_ridge(X, y, lam: float) -> tuple[np.ndarray, float]:
    from scipy import linalg

    x_mean, y_mean, G, q = _centred_gram(X, y)
    A = G + lam * np.eye(len(q))
    factor = linalg.cho_factor(A)
    w = linalg.cho_solve(factor, q)
    for _ in range(2):  # iterative refinement with residuals from the rows
        w = w + linalg.cho_solve(factor, _row_gradient(X, y, x_mean, y_mean, w) - lam * w)
    kkt = np.max(np.abs(_row_gradient(X, y, x_mean, y_mean, w) - lam * w)) / np.max(np.abs(q))
    return w, float(kkt)


def reference_lasso(X, y, l1: float) -> tuple[np.ndarray, float]:
    from bayesreg.solvers.proximal import minimize_quadratic_l1

    x_mean, y_mean, G, q = _centred_gram(X, y)
    yy = float(((y - y_mean) ** 2).sum())
    w, converged, *_ = minimize_quadratic_l1(G, q, yy, l1, 0.0, tol=1e-15, max_sweeps=1_000_000)
    for _ in range(2):  # Newton refinement on the active set, signs fixed, residuals from the rows
        active = np.flatnonzero(w)
        g = _row_gradient(X, y, x_mean, y_mean, w)
        step = np.linalg.solve(G[np.ix_(active, active)], g[active] - l1 * np.sign(w[active]))
        w[active] += step
    g = _row_gradient(X, y, x_mean, y_mean, w)
    active = w != 0
    viol = np.where(active, np.abs(g - l1 * np.sign(w)), np.maximum(np.abs(g) - l1, 0.0))
    return w, float(np.max(viol) / l1)


def _error(w, ref) -> float:
    return float(np.max(np.abs(np.asarray(w) - ref)) / np.max(np.abs(ref)))


def _median_time(fn: Callable, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t, out = _timed(fn)
        times.append(t)
    return statistics.median(times), out


def _calibrated(make: Callable[[float], Callable], ref, repeat: int, log, label: str):
    """The loosest tol in the ladder whose solution is within ACCURACY of ``ref``; its median time and error."""
    tried = []
    for tol in TOL_LADDER:
        _, w = _timed(make(tol))
        err = _error(w, ref)
        tried.append((tol, err))
        if err <= ACCURACY:
            seconds, w = _median_time(make(tol), repeat)
            log(f"  {label}: tol {tol:g} → error {err:.1e}; {seconds:.3f} s (median of {repeat})")
            return seconds, _error(w, ref), tol, tried
    log(f"  {label}: no tol in the ladder reached {ACCURACY:g} ({tried})")
    seconds, w = _median_time(make(TOL_LADDER[-1]), repeat)
    return seconds, _error(w, ref), TOL_LADDER[-1], tried


def map_rows(names: list[str], cfg: Settings, log) -> list[Row]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning as SkConvergence
    from sklearn.linear_model import Lasso, Ridge

    from bayesreg.solvers import ConvergenceWarning, PenalizedLeastSquares
    from bayesreg.solvers.closed_form import ridge
    from bayesreg.solvers.proximal import coordinate_descent

    n, d = cfg.map_n, cfg.map_d
    log(f"[map] synthetic {n}×{d} (float64, {n * d * 8 / 1e9:.1f} GB) ...")
    X, y, _ = _synthetic(n, d, cfg.seed + 2, nonzero=d // 2, noise=2.0, rho=0.3)
    rows = []
    if "ridge-map" in names:
        alpha = 1000.0
        ref, kkt = reference_ridge(X, y, alpha)
        log(f"[ridge-map] reference KKT residual {kkt:.1e}")
        t_sk, sk = _median_time(lambda: Ridge(alpha=alpha).fit(X, y).coef_, cfg.map_repeat)
        problem = PenalizedLeastSquares(l2=alpha)
        t_br, res = _median_time(lambda: ridge(X, y, problem).w, cfg.map_repeat)
        e_sk, e_br = _error(sk, ref), _error(res, ref)
        log(f"  sklearn Ridge: {t_sk:.3f} s, error {e_sk:.1e}; bayesreg ridge: {t_br:.3f} s, error {e_br:.1e}")
        rows.append(Row("ridge-map", "sklearn Ridge(solver=auto)", t_sk, ratio=1.0, error=e_sk,
                        extra={"reference_kkt": kkt}))
        rows.append(Row("ridge-map", "bayesreg ridge", t_br, ratio=t_br / t_sk, error=e_br,
                        note="blocked syrk statistics, a thread per core; Cholesky"))
    if "lasso-map" in names:
        alpha = 0.1
        l1 = n * alpha
        ref, kkt = reference_lasso(X, y, l1)
        log(f"[lasso-map] reference KKT residual {kkt:.1e} (relative to λ₁), {int(np.sum(ref != 0))} non-zero")

        def sk_fit(tol):
            def go():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", SkConvergence)
                    return Lasso(alpha=alpha, tol=tol, max_iter=100_000).fit(X, y).coef_
            return go

        def br_fit(tol):
            problem = PenalizedLeastSquares(l1=l1)

            def go():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    return coordinate_descent(X, y, problem, tol=tol).w
            return go

        t_sk, e_sk, tol_sk, tried_sk = _calibrated(sk_fit, ref, cfg.map_repeat, log, "sklearn Lasso")
        t_br, e_br, tol_br, tried_br = _calibrated(br_fit, ref, cfg.map_repeat, log, "bayesreg coordinate_descent")
        rows.append(Row("lasso-map", "sklearn Lasso", t_sk, ratio=1.0, error=e_sk, note=f"tol {tol_sk:g}",
                        extra={"reference_kkt": kkt, "ladder": tried_sk}))
        rows.append(Row("lasso-map", "bayesreg coordinate_descent", t_br, ratio=t_br / t_sk, error=e_br,
                        note=f"tol {tol_br:g}", extra={"ladder": tried_br}))
    return rows


# ------------------------------------------------------------------------------------------------ report

TARGETS = (
    # (workload, tool, kind, threshold): kind "min" = ratio ≥ threshold, "max" = ratio ≤ threshold
    ("diabetes-gaussian", "bayesreg auto", "min", 20.0),
    ("diabetes-laplace", "bayesreg auto", "min", 20.0),
    ("d2l-laplace", "bayesreg auto", "min", 20.0),
    ("synthetic-laplace", "bayesreg auto", "min", 20.0),
    ("diabetes-gaussian", "bayesreg nuts", "min", 1.0),
    ("diabetes-laplace", "bayesreg nuts", "min", 1.0),
    ("d2l-laplace", "bayesreg nuts", "min", 1.0),
    ("synthetic-laplace", "bayesreg nuts", "min", 1.0),
    ("ridge-map", "bayesreg ridge", "max", 0.5),
    ("lasso-map", "bayesreg coordinate_descent", "max", 1.0),
    (HORSESHOE, "bayesreg gibbs", "min", 20.0),
)


def targets(rows: list[Row]) -> list[dict]:
    out = []
    for workload, tool, kind, threshold in TARGETS:
        row = next((r for r in rows if r.workload == workload and r.tool == tool), None)
        if row is None or row.ratio is None:
            continue
        met = row.ratio >= threshold if kind == "min" else row.ratio <= threshold
        if workload.endswith("-map"):
            met = met and all(r.error is not None and r.error <= ACCURACY for r in rows if r.workload == workload)
        out.append({"workload": workload, "tool": tool, "ratio": row.ratio,
                    "target": f"{'≥' if kind == 'min' else '≤'} {threshold:g}×", "met": bool(met)})
    return out


def _fmt(x, spec):
    return "—" if x is None else format(x, spec)


def format_tables(rows: list[Row], goals: list[dict], logistic: dict | None = None,
                  horseshoe: dict | None = None) -> str:
    lines = []
    post = [r for r in rows if r.ess is not None and r.workload not in (LOGISTIC, HORSESHOE)]
    if post:
        lines.append("Posterior throughput: min bulk ESS over w per wall-second (warm-up and compilation included)")
        lines.append(f"  {'workload':<19} {'tool':<25} {'wall s':>8} {'min ESS':>8} {'ESS/s':>9} "
                     f"{'× NumPyro':>10} {'agree':>6}  note")
        for r in post:
            lines.append(f"  {r.workload:<19} {r.tool:<25} {r.seconds:8.3f} {r.ess:8.0f} {r.ess_per_s:9.0f} "
                         f"{r.ratio:10.1f} {_fmt(r.agree, '6.2f')}  {r.note}")
    logit = [r for r in rows if r.workload == LOGISTIC]
    if logit:
        if lines:
            lines.append("")
        lines.append(f"Logistic posterior throughput ({logistic['description']}): min bulk ESS over w per "
                     "wall-second (warm-up and compilation included)")
        lines.append(f"  {'tool':<15} {'wall s':>8} {'compile s':>9} {'min ESS':>8} {'ESS/s':>8} {'× best peer':>11} "
                     f"{'agree':>6}  note")
        for r in logit:
            lines.append(f"  {r.tool:<15} {r.seconds:8.2f} {_fmt(r.extra.get('compile_seconds'), '9.2f'):>9} "
                         f"{r.ess:8.0f} {r.ess_per_s:8.1f} {r.ratio:11.2f} {_fmt(r.agree, '6.3f'):>6}  {r.note}")
        worst = logistic["max_standardised_mean_difference"]
        lines.append(f"  bayesreg auto ({logistic['default_method']}) / best peer ({logistic['best_peer']}): "
                     f"{logistic['ratio_default_over_best_peer']:.2f}×")
        if "pair" in worst:
            lines.append(f"  largest |difference of posterior means| over every pair of tools: {worst['value']:.3f} "
                         f"NumPyro sds ({worst['pair'][0]} vs {worst['pair'][1]}, {worst['weight']}; "
                         f"{worst['mc_z']:.1f} Monte Carlo standard errors)")
    shoe = [r for r in rows if r.workload == HORSESHOE]
    if shoe:
        lines.append("")
        lines.append(f"Horseshoe posterior throughput ({horseshoe['description']}): min bulk ESS over w per "
                     "wall-second (warm-up and compilation included)")
        lines.append(f"  {'tool':<15} {'wall s':>8} {'min ESS':>8} {'ESS/s':>8} {'× best peer':>11} {'agree':>6}  note")
        for r in shoe:
            lines.append(f"  {r.tool:<15} {r.seconds:8.2f} {r.ess:8.0f} {r.ess_per_s:8.1f} {r.ratio:11.2f} "
                         f"{_fmt(r.agree, '6.3f'):>6}  {r.note}")
    maps = [r for r in rows if r.ess is None]
    if maps:
        lines.append("")
        lines.append(f"MAP at equal accuracy (error = max|w − w*| / max|w*| ≤ {ACCURACY:g}; median wall seconds)")
        lines.append(f"  {'workload':<19} {'tool':<29} {'seconds':>8} {'error':>8} {'× sklearn':>10}  note")
        for r in maps:
            lines.append(f"  {r.workload:<19} {r.tool:<29} {r.seconds:8.3f} {_fmt(r.error, '8.1e')} "
                         f"{r.ratio:10.2f}  {r.note}")
    if goals:
        lines.append("")
        lines.append("Targets")
        for g in goals:
            lines.append(f"  {g['workload']:<19} {g['tool']:<29} {g['ratio']:8.2f}×  target {g['target']:<7} "
                         f"{'met' if g['met'] else 'NOT MET'}")
    return "\n".join(lines)


def environment() -> dict:
    import importlib.metadata as md

    versions = {}
    for pkg in ("bayesreg", "numpy", "scipy", "scikit-learn", "torch", "pyro-ppl", "arviz", "numpyro", "jax",
                "jaxlib", "pymc", "pytensor", "polyagamma"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "platform": platform.platform(), "versions": versions,
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}


# ------------------------------------------------------------------------------------------------ main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data and few draws: a smoke run")
    parser.add_argument("--full", action="store_true", help="NumPyro runs 4 chains on synthetic-laplace too")
    parser.add_argument("--only", default=None, help=f"comma-separated workloads among: {', '.join(WORKLOADS)} "
                        f"(or {', '.join(f'{k} for {v}' for k, v in ALIASES.items())})")
    parser.add_argument("--out", default=None, help="write the results as JSON to this file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--map-repeat", type=int, default=3, help="timed runs per MAP solver (median)")
    parser.add_argument("--horseshoe-nuts", action="store_true",
                        help="also time bayesreg's NUTS on horseshoe-sparse (about 110 s more)")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the Pyro reference rows (Pyro's own transition, the Pyro model)")
    args = parser.parse_args(argv)
    names = WORKLOADS if args.only is None else tuple(ALIASES.get(s.strip(), s.strip()) for s in args.only.split(",")
                                                      if s.strip())
    unknown = [s for s in names if s not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}: choose from {', '.join(WORKLOADS)}")
    if args.map_repeat < 1:
        parser.error("--map-repeat must be ≥ 1")
    cfg = Settings.make(args.quick, args.full, args.seed, args.map_repeat, not args.no_reference,
                        args.horseshoe_nuts)
    _numpyro()  # fail early without the bench extra

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    began = time.perf_counter()
    _warm_up_imports(logistic=LOGISTIC in names or HORSESHOE in names)
    rows: list[Row] = []
    for name in POSTERIOR_WORKLOADS:
        if name in names:
            rows += posterior_rows(name, cfg, log)
    logistic = None
    if LOGISTIC in names:
        logistic_part, logistic = logistic_rows(cfg, log)
        rows += logistic_part
    horseshoe = None
    if HORSESHOE in names:
        horseshoe_part, horseshoe = horseshoe_rows(cfg, log)
        rows += horseshoe_part
    wanted_maps = [n for n in MAP_WORKLOADS if n in names]
    if wanted_maps:
        rows += map_rows(wanted_maps, cfg, log)
    goals = targets(rows)
    print(format_tables(rows, goals, logistic, horseshoe))
    total = time.perf_counter() - began
    print(f"\n{len(rows)} rows in {total:.0f} s; {os.cpu_count()} CPUs; command: "
          f"python benchmarks/run.py {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    if args.out:
        payload = {"settings": cfg.__dict__, "environment": environment(), "seconds": total,
                   "rows": [r.__dict__ for r in rows], "targets": goals}
        if logistic is not None:
            payload["logistic_breast_cancer"] = logistic
        if horseshoe is not None:
            payload["horseshoe_sparse"] = horseshoe
        Path(args.out).write_text(json.dumps(payload, indent=2, default=_json_default))
    return 0


def _warm_up_imports(logistic: bool = False) -> None:
    """Import and touch what every tool loads lazily (torch, Pyro, ArviZ, scikit-learn; with ``logistic``, PyMC and
    bayesreg's logistic samplers on a few rows), outside the timings."""
    import arviz  # noqa: F401
    import pyro  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import torch  # noqa: F401

    import bayesreg as br
    from bayesreg.fitting import fit

    tiny = br.from_arrays(np.arange(12.0).reshape(6, 2) ** 1.5, np.arange(6.0), name="warm-up")
    for prior, method in ((br.Gaussian(1.0), "auto"), (br.Laplace(1.0), "auto"), (br.Laplace(1.0), "nuts")):
        fit(tiny, prior, 1.0, method=method, draws=100, chains=1, warmup=10)  # the fewest fit() allows
    if logistic:
        from bayesreg.model import Model

        labels = br.from_arrays(np.linspace(-1.0, 1.0, 12).reshape(6, 2), np.array([0.0, 1, 0, 1, 1, 0]),
                                name="warm-up")
        for method in ("gibbs", "nuts"):
            fit(labels, Model.logistic(br.Gaussian(1.0)), method=method, draws=100, chains=1, warmup=10)
        if _have_pymc():
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # PyTensor's "could not link to a BLAS installation"
                import pymc  # noqa: F401
    jax, _ = _numpyro()
    jax.numpy.zeros(1).block_until_ready()  # JAX's backend start-up (compilation stays in the timings)


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return str(obj)


if __name__ == "__main__":
    sys.exit(main())
