r"""NUTS for the global–local shrinkage priors (:mod:`bayesreg.shrinkage`): by default on the latent scales with the
weights integrated out (:mod:`bayesreg.infer.marginal_shrinkage`), or on the non-centred parametrisation below.

With Gaussian noise the default, ``path="marginal"``, removes the funnel rather than moving it: NUTS samples
θ = (log latents, log σ) from p(θ | y) with w and b integrated out in closed form, and each retained θ gets an
exact draw of (w, b). Measured (1000 warm-up, one core):

==================================  ==============================  ==============================
problem (4 × 1000 draws, seed 1)    marginal                        non-centred
==================================  ==============================  ==============================
diabetes, horseshoe, σ = 54         0 divergent, 11.6 steps, 6.0 s  74 divergent, 98.7 steps, 40 s
diabetes, horseshoe+                0 divergent, 15.7 steps, 9.6 s  94 divergent, 147 steps, 77 s
diabetes, R2-D2                     0 divergent, 68.2 steps, 24 s   24 divergent, 191 steps, 58 s
d = 50 > n = 20, horseshoe, σ = .5  0 divergent, 26.1 steps, 14 s   62 divergent, 175 steps, 49 s
==================================  ==============================  ==============================

On the last, the largest gap between posterior sds is 4.7% against 4 × 16 000 Gibbs draws (4 × 4000 NUTS,
marginal), and 10.4–13.3% non-centred, NUTS's sds the low ones (tests/test_shrinkage.py). The weights' smallest
bulk ESS per second on diabetes is 506 against 31 for the horseshoe. Each gradient costs O(p³) for p = d (+1)
weights, or O(k²d) on a rank-k factor when d > n, against O(d²) for the non-centred potential: 0.3 ms against
0.03 ms at n = 100, d = 200, where the fewer steps still win (31 steps an iteration against 199, no divergences,
twice the ESS per second). Measured on one core, the marginal gradient takes 0.8 ms at n = 1000, d = 200, 4.4 ms
at d = 400, 8 ms at n = 100, d = 5000, 9 ms at n = 300, d = 1000 and 31 ms at n = 2000, d = 1000 (non-centred:
0.4 ms at d = 1000, 1.3 ms at d = 2000): a default run of 4 × 2000 iterations of about 30 steps is then hours.
So ``path="auto"``, the default, integrates the weights out unless :func:`marginal_work` exceeds
:data:`MARGINAL_MAX_WORK` (about half an hour a run), and runs non-centred beyond, with the reason in
``info["path_reason"]`` and the verdict's remedy naming ``--nuts-path marginal``.

The non-centred parametrisation, ``path="non-centred"``:

The horseshoe's posterior in (w, λ, τ) is a funnel: where τλ_j is small, w_j is pinned near 0 and the step size
that works there is far too small elsewhere. Sampling z = w/(σs) instead, with s the prior sd of w_j over σ,

.. math::

    w = \sigma\, s(u) \odot z, \qquad z \sim N(0, I_d), \qquad u = \log(\text{latent scales}) \sim p(u),

makes z and u independent a priori, which removes the funnel where the data say little about w_j (Betancourt &
Girolami 2015; Piironen & Vehtari 2017 sample the horseshoe this way). The potential, on θ = (z, u, b, log σ)
with b present unless ``bias="none"`` and log σ only when σ has a prior, is

.. math::

    U(\theta) = \frac{\mathrm{RSS}(w, b)}{2\sigma^2} + n\log\sigma + \tfrac12\|z\|^2 - \log p(u)
                - \log p(b) - \log p(\sigma) - \log\sigma + \text{const},

with RSS written on the sufficient statistics (:mod:`bayesreg.infer.potential`: O(d²) per gradient whatever n
is), −log p(u) from the prior's ``latent_log_prior`` (Jacobians of u = log x included) and the constants those of
Pyro's potential for the same model (:meth:`~bayesreg.shrinkage.ShrinkagePrior.pyro_weights`), so the two agree
to rounding. With g = ∂ log L/∂w, the chain rule through w = σ s ⊙ z gives ∂/∂z = σ s ⊙ g, ∂/∂u the prior's
vector–Jacobian product of the cotangent g ⊙ w on log s, and ∂/∂log σ an extra Σ g ⊙ w.

On either path the kernel is :class:`~bayesreg.infer.nuts.FastNUTS` (Pyro's NUTS in NumPy) with a **mass matrix
adapted by Pyro's windowed scheme** from the identity: no mode exists to start from (the horseshoe's density is
unbounded at w_j = 0), so the chains start at the prior's medians of the latent scales (and, non-centred, at z from
a lightly penalised ridge fit), each chain's latents moved by a factor e^(±1). Defaults: 1000 warm-up iterations
and a target acceptance of 0.95. With the weights integrated out the mass matrix is dense when n ≥ d (and at most
:data:`~bayesreg.infer.nuts.DENSE_MASS_MAX` coordinates), else diagonal: at d = 50 > n = 20 a dense one estimated
from the first window's 25 draws left the next 100 warm-up iterations at the tree-depth cap (13.1 s a chain
against 4.3 s). Non-centred, the horseshoe's geometry makes NUTS diverge, and the health verdict says so: on
diabetes (σ = 54, 4 × 1000 draws) 92 divergent transitions at a target of 0.9 (66 leapfrog steps an
iteration), 65 at 0.95 (70 steps), 17 at 0.99 (171 steps), the means within 0.07 posterior sd of the Gibbs
sampler's every time. Sampling the weights the data pin down centred instead (Papaspiliopoulos, Roberts & Sköld
2007), chosen from pilot draws, made it worse there (182 at 0.9). The Gibbs sampler, the default for the horseshoe
and the horseshoe+, has no such trouble.

References: M. Betancourt & M. Girolami (2015), *Hamiltonian Monte Carlo for hierarchical models*, in Current
Trends in Bayesian Methodology; J. Piironen & A. Vehtari (2017), EJS 11(2).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict

import numpy as np
import pyro

from ..errors import SpecError
from ..resources import small_systems
from ..solvers import PenalizedLeastSquares
from ..solvers.closed_form import ridge
from ..suffstats import SufficientStats
from .potential import _LOG_2PI, Potential, _scale_logp
from .result import Posterior, RunDiagnostics

__all__ = ["ShrinkagePotential", "shrinkage_nuts", "DEFAULT_WARMUP", "DEFAULT_TARGET_ACCEPT"]

DEFAULT_WARMUP = 1000
DEFAULT_TARGET_ACCEPT = 0.95
#: the parametrisations NUTS can run on: w integrated out (:mod:`bayesreg.infer.marginal_shrinkage`), non-centred,
#: or "auto", the first unless it is too costly (:func:`choose_path`)
PATHS = ("auto", "marginal", "non-centred")
#: "auto" integrates the weights out while one gradient costs at most this much work (:func:`marginal_work`):
#: measured on one core, 4.4 ms a gradient at p = 400 (6.4e7), 8 ms at k = 99, d = 5000 (9.8e7) and 9 ms at
#: k = 299, d = 1000 (1.8e8, beyond), so about half an hour for a default run (4 × 2000 iterations of about 30
#: leapfrog steps) at the bound; the non-centred gradient is O(d²) (0.4 ms at d = 1000, 1.3 ms at d = 2000)
MARGINAL_MAX_WORK = 1.0e8
#: the verdict's advice when the non-centred chains diverge or mix slowly
NON_CENTRED_REMEDY = "or try --nuts-path marginal (the weights integrated out: no funnel, each step dearer)"


def marginal_work(n: int, d: int, bias) -> float:
    """The work of one gradient with the weights integrated out, in multiply–adds up to a constant: p³ for the
    p × p system (p = d, + 1 with a normal bias), 2k²p on the rank-k factor when the rows bound the rank below p
    (k = n − 1 for a flat bias, n otherwise), the same choice as
    :class:`~bayesreg.infer.marginal_shrinkage.MarginalShrinkagePotential` makes."""
    p = d + (bias.kind == "normal")
    k = n - 1 if bias.kind == "flat" else n
    return 2.0 * k * k * p if k < p else float(p) ** 3


def choose_path(n: int, d: int, bias) -> tuple[str, str]:
    """("marginal" or "non-centred", why) for ``path="auto"``: the weights integrated out (no funnel, no
    divergences on every problem measured) unless one gradient would cost more than :data:`MARGINAL_MAX_WORK`."""
    work = marginal_work(n, d, bias)
    if work <= MARGINAL_MAX_WORK:
        return "marginal", "the weights integrated out"
    return "non-centred", (f"the non-centred parametrisation: with the weights integrated out one gradient would "
                           f"cost about {work:.1e} multiply–adds at n = {n}, d = {d} (the bound is "
                           f"{MARGINAL_MAX_WORK:.0e}, about half an hour a run), against O(d²) non-centred")


def shrinkage_setup(potential, data, model, what: str):
    """Check that ``model`` has a shrinkage prior and Gaussian noise, and set on ``potential`` what both NUTS
    potentials read: the prior, bias and σ specs, the sufficient statistics (``stats``, ``sxx``, ``x_mean``,
    ``y_mean``, ``d``, ``n``) and the centred least-squares fit (``w_hat``, ``rss_min``); returns the prior."""
    from .gibbs import _prepare

    prior = model.prior.local_scales()
    if prior is None:
        raise SpecError(f"the {model.prior.name} prior has no latent scales: use the NUTS potential")
    if not model.likelihood.has_sufficient_statistics:
        raise SpecError(f"{what} needs Gaussian noise (sufficient statistics)")
    potential.prior, potential.model = prior, model
    potential.bias, potential.sigma_fixed, potential.sigma_prior = model.bias, model.sigma, model.sigma_prior
    if isinstance(data, SufficientStats):
        stats = data
        w_hat = np.linalg.lstsq(stats.sxx, stats.sxy, rcond=None)[0]
        rss_min = max(stats.syy - float(w_hat @ stats.sxy), 0.0)
    else:
        stats, _, rss_min, w_hat = _prepare(data, None, None)
    potential.stats, potential.w_hat, potential.rss_min = stats, w_hat, rss_min
    potential.d, potential.n = stats.d, stats.n
    prior.check_dimension(stats.d)
    potential.sxx = np.ascontiguousarray(stats.sxx)
    potential.x_mean, potential.y_mean = np.asarray(stats.x_mean, dtype=np.float64), float(stats.y_mean)
    return prior


class ShrinkagePotential:
    """U(θ) of the module docstring for ``model`` (a :class:`~bayesreg.model.Model` with Gaussian noise and a
    prior whose ``local_scales()`` is not None) on ``data`` (rows or :class:`SufficientStats`).

    ``blocks`` lists (name, slice, local) for each latent scale in θ after the d coordinates of z; then b (if
    present) and log σ (if random)."""

    def __init__(self, data, model):
        prior = shrinkage_setup(self, data, model, "the shrinkage priors' NUTS potential")
        d, n = self.d, self.n
        blocks, k = [], d
        for site in prior.sites:
            size = d if site.local else 1
            blocks.append((site.name, slice(k, k + size), site.local))
            k += size
        self.blocks = tuple(blocks)
        self._ib = k if self.bias.present else None
        k += self.bias.present
        self._is = k if self.sigma_fixed is None else None
        k += self.sigma_fixed is None
        self.size = k
        self.layout = self  # FastNUTS and _run_chain read ``layout.size``
        self._const = -0.5 * n * _LOG_2PI - 0.5 * d * _LOG_2PI
        if self.sigma_fixed is not None:
            self._const -= n * math.log(self.sigma_fixed)
        if self.bias.kind == "normal":
            self._const -= math.log(self.bias.scale) + 0.5 * _LOG_2PI

    # ------------------------------------------------------------------------------------------- θ ↔ sites

    def latents_of(self, theta: np.ndarray) -> dict:
        """The log latents u from θ (…, size): a global one (…,), a local one (…, d)."""
        return {name: theta[..., sl] if local else theta[..., sl.start] for name, sl, local in self.blocks}

    def sigma_of(self, theta: np.ndarray):
        return self.sigma_fixed if self._is is None else np.exp(theta[..., self._is])

    def weights(self, theta: np.ndarray) -> np.ndarray:
        """w = σ s(u) ⊙ z for θ (…, size)."""
        sigma = self.sigma_of(theta)
        s = np.exp(self.prior.log_scales(self.latents_of(theta)))
        sig = np.asarray(sigma)[..., None] if np.ndim(sigma) else sigma
        return sig * s * theta[..., : self.d]

    def pack(self, w: np.ndarray, latents: dict, b: float | None, sigma: float | None) -> np.ndarray:
        """θ from w, the latent scales (positive values), b and σ."""
        theta = np.empty(self.size)
        u = {name: np.log(np.asarray(latents[name], dtype=np.float64)) for name, _, _ in self.blocks}
        for name, sl, _ in self.blocks:
            theta[sl] = u[name]
        sig = self.sigma_fixed if self.sigma_fixed is not None else sigma
        theta[: self.d] = np.asarray(w, dtype=np.float64) / (sig * np.exp(self.prior.log_scales(u)))
        if self._ib is not None:
            theta[self._ib] = b
        if self._is is not None:
            theta[self._is] = math.log(sigma)
        return theta

    def constrained(self, thetas: np.ndarray) -> tuple[dict, dict]:
        """The posterior's sites from θ draws (chain, draw, size): ``w``, each latent scale, ``b``, ``sigma`` and
        the prior's derived quantities; and the dims of the per-weight ones."""
        out = {"w": self.weights(thetas)}
        u = self.latents_of(thetas)
        latents = {name: np.exp(u[name]) for name, _, _ in self.blocks}
        out.update(latents)
        out.update(self.prior.derived(latents))
        if self._ib is not None:
            out["b"] = thetas[..., self._ib]
        if self._is is not None:
            out["sigma"] = np.exp(thetas[..., self._is])
        dims = {name: ("feature",) for name, v in out.items() if name != "w" and np.ndim(v) == 3}
        return out, dims

    # -------------------------------------------------------------------------------------------- U and ∇U

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """U(θ) and ∇U(θ) (module docstring), O(d²)."""
        d, n = self.d, self.n
        grad = np.empty_like(theta)
        z = theta[:d]
        u = self.latents_of(theta)
        s = np.exp(self.prior.log_scales(u))
        if self._is is None:
            sigma = self.sigma_fixed
        elif not abs(theta[self._is]) < 300.0:  # σ or 1/σ² beyond floating point: +∞, a divergence to NUTS
            return math.inf, np.zeros_like(theta)
        else:
            sigma = math.exp(theta[self._is])
        w = sigma * s * z
        b = theta[self._ib] if self._ib is not None else 0.0
        resid_c = self.y_mean - (b + float(self.x_mean @ w))
        delta = w - self.w_hat
        s_delta = self.sxx @ delta
        quad = self.rss_min + float(delta @ s_delta) + n * resid_c * resid_c
        inv_s2 = 1.0 / (sigma * sigma)
        logp = self._const - 0.5 * quad * inv_s2 - 0.5 * float(z @ z)
        g_w = ((n * resid_c) * self.x_mean - s_delta) * inv_s2
        grad[:d] = sigma * s * g_w - z
        lp, g_prior = self.prior.latent_log_prior(u)
        logp += float(lp)
        g_w_times_w = g_w * w
        g_scales = self.prior.log_scales_vjp(u, g_w_times_w)
        for name, sl, _ in self.blocks:
            grad[sl] = g_scales.get(name, 0.0) + g_prior[name]  # a latent the scales do not read: prior only
        if self._ib is not None:
            grad[self._ib] = n * resid_c * inv_s2
            if self.bias.kind == "normal":
                inv_b2 = 1.0 / self.bias.scale**2
                logp -= 0.5 * b * b * inv_b2
                grad[self._ib] -= b * inv_b2
        if self._is is not None:
            v = theta[self._is]
            lps, dlps = _scale_logp(self.sigma_prior, v)
            logp += lps - n * v
            grad[self._is] = quad * inv_s2 - n + float(g_w_times_w.sum()) + dlps
        return -logp, -grad

    def __call__(self, theta: np.ndarray) -> float:
        return self.value_and_grad(theta)[0]

    torch_fn = Potential.torch_fn

    # ------------------------------------------------------------------------------------------- start

    def start(self, rng: np.random.Generator, chains: int) -> list[np.ndarray]:
        """Starting θ per chain: latents at the prior's medians (estimated from 4001 prior draws) moved by e^(±1)
        for chains after the first, z from a lightly penalised ridge fit at a plug-in σ, b its intercept."""
        from .nuts import _plug_in_sigma

        stats = self.stats
        light = ridge(stats, problem=PenalizedLeastSquares(
            l2=1e-3 * max(float(np.trace(stats.sxx)) / max(stats.d, 1), 1e-300),
            **({} if self.bias.kind != "none" else {"bias": "none"})))
        sigma = self.sigma_fixed if self.sigma_fixed is not None else _plug_in_sigma(stats)
        draws = self.prior.sample_latents(np.random.default_rng(0), (4001,), self.d)
        medians = {name: np.median(v, axis=0) for name, v in draws.items()}
        out = []
        for chain in range(chains):
            latents = {k: v * (np.exp(rng.uniform(-1.0, 1.0, np.shape(v))) if chain else 1.0)
                       for k, v in medians.items()}
            b = float(light.b) if (self._ib is not None and light.b is not None) else 0.0
            out.append(self.pack(light.w, latents, b, sigma))
        return out


def shrinkage_nuts(data, model, *, chains: int = 4, draws: int = 1000, warmup: int = DEFAULT_WARMUP,
                   seed: int = 0, target_accept: float = DEFAULT_TARGET_ACCEPT, max_tree_depth: int = 10,
                   dense_mass: bool | None = None, path: str = "auto", progress=None) -> Posterior:
    """NUTS draws of (w, latent scales, b, σ) under a shrinkage prior, on ``path`` (module docstring):
    ``"marginal"`` (w and b integrated out, then drawn given each retained draw), ``"non-centred"``, or ``"auto"``
    (:func:`choose_path`: the first unless its gradient is too costly; ``info["path_reason"]`` says which and why).
    Chains run one after another, each seeded from (seed, chain). ``progress(done, total)`` is called as iterations
    complete.

    ``dense_mass`` None: with the weights integrated out, dense when n ≥ d (up to
    :data:`~bayesreg.infer.nuts.DENSE_MASS_MAX` coordinates), else diagonal; non-centred, dense up to that many
    coordinates or when n ≥ d, else diagonal, the general path's rule. A dense matrix of 400 coordinates cannot
    be estimated from a warm-up: on the sparse d2l-like benchmark (n = 100, d = 200), non-centred, NUTS ran at the
    tree-depth cap, 1005 leapfrog steps an iteration, with the dense one, and 252 with the diagonal (one chain,
    300 warm-up)."""
    from .nuts import DENSE_MASS_MAX, _chain_seed, _check, _run_chain, _ticker

    _check(chains, draws, warmup, max_tree_depth, target_accept, "suffstats")
    begin = time.perf_counter()
    if path not in PATHS:
        raise SpecError(f"unknown NUTS path {path!r}: choose from {', '.join(PATHS)}")
    reason = None
    if path == "auto":
        path, reason = choose_path(data.n, data.d, model.bias)
    if path == "marginal":
        from .marginal_shrinkage import MarginalShrinkagePotential

        potential = MarginalShrinkagePotential(data, model)
    else:
        potential = ShrinkagePotential(data, model)
    if dense_mass is None and path == "marginal":
        dense_mass = potential.n >= potential.d and potential.size <= DENSE_MASS_MAX
    elif dense_mass is None:
        dense_mass = potential.size <= DENSE_MASS_MAX or potential.n >= potential.d
    names = tuple(getattr(data, "feature_names", None) or (f"x{j}" for j in range(potential.d)))
    rng = np.random.default_rng(seed)
    starts = potential.start(rng, chains)
    settings = {"dense_mass": dense_mass, "adapt_mass_matrix": True, "target_accept_prob": target_accept,
                "max_tree_depth": max_tree_depth}
    tick = _ticker(progress, chains * (warmup + draws))
    thetas, stats, accept = [], defaultdict(list), []
    with small_systems(potential.d + 1):  # each step is microseconds of BLAS: a second thread only hands off
        for chain in range(chains):
            pyro.set_rng_seed(seed + chain)
            out, kernel = _run_chain(potential, starts[chain], None, warmup, draws, _chain_seed(seed, chain, 7),
                                     settings, tick)
            thetas.append(out[warmup:])
            for name, values in kernel.records.items():
                stats[name].append(np.asarray(values[-draws:]))
            accept.append(kernel.diagnostics()["acceptance rate"])
            kernel.cleanup()
        if path == "marginal":
            out, dims = potential.constrained(np.stack(thetas), np.random.default_rng(_chain_seed(seed, 0, 11)))
        else:
            out, dims = potential.constrained(np.stack(thetas))
    seconds = time.perf_counter() - begin
    sample_stats = {name: np.stack(values) for name, values in stats.items()}
    sample_stats["diverging"] = sample_stats["diverging"].astype(bool)
    return Posterior(
        "nuts", out, names, sigma_fixed=model.sigma, seconds=seconds, sample_stats=sample_stats, dims=dims,
        likelihood=model.likelihood,
        info={"chains": chains, "draws": draws, "warmup": warmup, "dense_mass": dense_mass, "adapt_mass": True,
              "path": path, **({"path_reason": reason} if reason else {}), "target_accept": target_accept,
              "max_tree_depth": max_tree_depth, "acceptance_rate": accept,
              "inverse_mass": f"{'dense' if dense_mass else 'diagonal'}, adapted in warm-up from the identity "
                              "(Pyro's windows)"},
        attrs={"model": str(model), "seed": seed, "warmup": warmup, "path": path},
        diagnostics=RunDiagnostics("markov chain", max_tree_depth=max_tree_depth,
                                   remedy=NON_CENTRED_REMEDY if path == "non-centred" else ""),
    )
