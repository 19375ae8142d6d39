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
  generalised U-turn criterion, its tree doubling), plus Stan's extra U-turn checks across merged subtrees, in
  NumPy on flat float64 vectors, in the coordinates where the mass matrix is the identity. That removes Pyro's
  per-leapfrog-step overhead of dictionaries of small tensors and autograd (≈ 400 µs a step on a 2-core machine).
  :func:`nuts` advances its chains together (:class:`_Ensemble`): each chain keeps its own kernel, seed,
  trajectory and adaptation, but one NumPy call makes the leapfrog step of all of them, so that a chain-step
  costs a quarter of the calls with four chains (d2l, 201 coordinates, on a busy 2-core machine: ≈ 64 µs a
  leapfrog step one chain at a time before, ≈ 22 µs of CPU time a chain-step now). The mass matrix defaults to
  the diagonal when n < d and there are more than :data:`DENSE_MASS_MAX` coordinates (:func:`_default_dense`).
* ``path="model"``: Pyro's own ``NUTS`` on the Pyro model (:class:`~bayesreg.models.LinearRegressionModel`), the
  reference, O(nd) per gradient, optionally with ``jit_compile``.

Pyro keeps the per-iteration statistics ArviZ needs (divergence, tree depth, energy) in local variables;
:class:`RecordingNUTS` subclasses it only to write them down:

* ``energy``: the Hamiltonian H = U(z) + K(r) at the start of each trajectory (for the energy plot and BFMI);
* ``n_steps``: leapfrog steps, and ``tree_depth`` = ⌈log₂(n_steps + 1)⌉, the number of doublings;
* ``diverging``: whether any leapfrog step exceeded Pyro's energy-error threshold;
* ``step_size``: the step size used.

Each chain has its own seed (``seed + chain``) and starting point: chain 0 at the MAP, the others at the MAP plus
a jitter of half the posterior's (Laplace-approximate) sd, so that R-hat can see chains that disagree. On the
suffstats path they run side by side, and after warm-up share one step size (:func:`_share_step_size`); on the
model path they run one after another.

References: M. D. Hoffman & A. Gelman (2014), *The No-U-Turn Sampler*, JMLR 15; M. Betancourt (2017), *A
conceptual introduction to Hamiltonian Monte Carlo*, arXiv:1701.02434 (multinomial sampling, the generalised
U-turn criterion); Pyro ``pyro/infer/mcmc/nuts.py``.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable

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
from .potential import Potential, _rowdot
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

def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def _turning_from_gram(g: list[list[float]], a: int, b: int, total: tuple[tuple[int, float], ...]) -> bool:
    """Pyro's generalised U-turn criterion (Betancourt 2017, A.4.2) in coordinates where the mass matrix is the
    identity (:class:`_Ensemble`), from a Gram matrix g of momenta: the span from momentum a to momentum b, whose
    momenta sum to Σ c_i r_i (``total`` = ((i, c_i), ...)), turns when r_a·ρ ≤ 0 or r_b·ρ ≤ 0 with
    ρ = Σ c_i r_i − ½(r_a + r_b). (Pyro writes it on the unscaled momenta r̃ = Sᵀr_θ, SSᵀ = M⁻¹, in θ; with θ = Tx
    and r = Tᵀr_θ these are the same numbers.)"""
    ga, gb = g[a], g[b]
    da = sum(w * ga[i] for i, w in total) - 0.5 * (ga[a] + ga[b])
    db = sum(w * gb[i] for i, w in total) - 0.5 * (gb[a] + gb[b])
    return da <= 0 or db <= 0


def _in_scaled_coordinates(potential, factor: np.ndarray):
    """U and ∇ₓU on rows x of an (m, p) array, for θ = T x with T = ``factor`` (a (p,) diagonal or a p × p matrix):
    the potential's own :meth:`~bayesreg.infer.potential.Potential.scaled_many` for a diagonal T when it has one
    (T folded into its constants), else its ``value_and_grad_many`` (or ``value_and_grad`` row by row) with
    θ = xTᵀ and ∇ₓU = (∇_θU)T."""
    if factor.ndim == 1 and hasattr(potential, "scaled_many"):
        return potential.scaled_many(factor)
    many = getattr(potential, "value_and_grad_many", None)
    if many is None:
        one = potential.value_and_grad

        def many(thetas):
            out = [one(t) for t in thetas]
            return np.array([o[0] for o in out], dtype=np.float64), np.array([o[1] for o in out], dtype=np.float64)

    if factor.ndim == 1:
        def scaled(xs):
            values, grads = many(xs * factor)
            return values, grads * factor
    else:
        factor_t = np.ascontiguousarray(factor.T)

        def scaled(xs):
            values, grads = many(xs @ factor_t)
            return values, grads @ factor

    return scaled


def _mass_factor(inverse_mass: np.ndarray) -> np.ndarray:
    """T with TTᵀ = M⁻¹: the square roots of a diagonal M⁻¹, or its Cholesky factor (a symmetric square root if
    rounding makes the factorisation fail)."""
    if inverse_mass.ndim == 1:
        return np.sqrt(inverse_mass)
    sym = 0.5 * (inverse_mass + inverse_mass.T)
    try:
        return np.linalg.cholesky(sym)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(sym)
        return (vecs * np.sqrt(np.maximum(vals, 1e-300 + 1e-12 * max(float(vals.max()), 0.0)))) @ vecs.T


def _checks_at(leaf: int, extra: bool) -> list[tuple[int, int]]:
    """The U-turn checks that the recursive NUTS makes when leaf ``leaf`` (0-based, in the order the subtree is
    built) completes one or more sub-subtrees, as pairs (a, b) of leaves: the span a..b is checked with the end
    momenta r_a, r_b and the sum of the momenta from a to b. A sub-subtree of 2^j leaves [s, leaf] completes when
    (leaf + 1) is a multiple of 2^j; merging its halves [s, m − 1] and [m, leaf] (m = s + 2^{j−1}) checks the
    span s..leaf and, with Stan's extra checks, the spans s..m and m − 1..leaf (for j = 1 all three are s..leaf)."""
    out = []
    j = 1
    while (leaf + 1) % (1 << j) == 0:
        s = leaf + 1 - (1 << j)
        out.append((s, leaf))
        if extra and j > 1:
            m = s + (1 << (j - 1))
            out.append((s, m))
            out.append((m - 1, leaf))
        j += 1
    return out


class _Chain:
    """The control state of one chain's current NUTS transition (scalars; the vectors live in :class:`_Ensemble`)."""

    __slots__ = ("k", "kernel", "left", "eps", "depth", "leaf", "size", "direction", "energy0", "w_sub", "w_tree",
                 "sum_accept", "n_steps", "moved", "diverged", "active", "pool", "pos", "rng", "accepts",
                 "turned_at")

    def uniform(self) -> float:
        if self.pos == len(self.pool):
            self.pool, self.pos = self.rng.random(256).tolist(), 0
        self.pos += 1
        return self.pool[self.pos - 1]


class _Ensemble:
    r"""NUTS transitions of K chains advanced together, one leapfrog step of every chain per array operation.

    Each chain runs its own transition (its own step size, directions, tree depth and random numbers; a chain that
    finishes one starts its next at once), so the chains never wait for each other; what they share is the cost of
    a NumPy call, which at a few hundred coordinates is most of the cost of a leapfrog step.

    **Coordinates.** With the inverse mass matrix M⁻¹ = TTᵀ (T diagonal, or the Cholesky factor of a dense M⁻¹),
    the chains move in x = T⁻¹θ, where the mass matrix is the identity: U(x) = U(Tx), ∇ₓU = Tᵀ∇_θU, momentum
    r ~ N(0, I), kinetic energy ½‖r‖². This is the same Hamiltonian flow and the same leapfrog map as with mass
    matrix M in θ (θ = Tx, r_θ = T⁻ᵀr), and the same U-turn criterion (v_θ·ρ_θ = r·ρ), so the same NUTS; a diagonal
    T is folded into the potential's constants (:meth:`~bayesreg.infer.potential.Potential.scaled_many`), so that
    a step costs no product with M⁻¹ at all. Per leapfrog step, all chains at once, with h = ±ε/2,

    .. math::

        r_{1/2} = r - h\nabla U(x),\qquad x' = x + 2h\,r_{1/2},\qquad r' = r_{1/2} - h\nabla U(x'),

    the energy U(x') + ½‖r'‖², and U, ∇U on all K rows in one call.

    **The tree** is Pyro's multinomial NUTS (:class:`FastNUTS`) built iteratively rather than recursively: leaves
    are generated in order, each stored with its momentum r_i and the prefix sum P_i = Σ_{l<i} r_l, and leaf i of a
    subtree completes the sub-subtrees of sizes 2^j dividing i + 1, whose U-turn checks (:func:`_checks_at`) span
    leaves a..b: ρ = P_b + r_b − P_a − ½(r_a + r_b), turning when r_a·ρ ≤ 0 or r_b·ρ ≤ 0. A turning or diverging
    sub-subtree ends the transition and discards the subtree, as the recursion does. The checks are queued and
    evaluated together, every ``check_every`` steps and whenever a chain completes a subtree or diverges: a chain
    whose check at leaf i fails ends its transition as the recursion would at leaf i (its statistics cut back to
    leaf i); the leaves it built after i only cost time. The proposal within a subtree is drawn by reservoir
    sampling (leaf i replaces it with probability w_i / Σ_{l≤i} w_l, so that leaf i is chosen with probability
    w_i / Σ w, what the recursion's progressive sampling at every merge gives), across doublings by Pyro's biased
    progressive sampling.

    ``kernels`` are :class:`FastNUTS` kernels (set up): their ``step_size`` is read at each transition's start and
    their ``_finish`` books each transition (warm-up adaptation, statistics). With more than one chain the mass
    matrix is shared and fixed.
    """

    def __init__(self, potential, kernels, inverse_mass, thetas, max_tree_depth: int, extra_checks: bool,
                 check_every: int = 4):
        self.potential = potential
        self.kernels = kernels
        self.K = K = len(kernels)
        self.p = p = len(thetas[0])
        self.max_depth = max_tree_depth
        self.extra = extra_checks
        self.check_every = check_every
        self.on_draw: Callable[[int, np.ndarray], None] | None = None
        self.Z, self.G, self.U = np.zeros((K, p)), np.zeros((K, p)), np.zeros(K)  # the leaf being built
        self.RP = np.zeros((K, 2 * p))  # its momentum r and the prefix sum P of the subtree's momenta before it
        self.R, self.Psum = self.RP[:, :p], self.RP[:, p:]
        self.Rh = np.zeros((K, p))  # r − h∇U: the momentum half a step on, where the next step starts from
        self.eZ, self.eG = np.zeros((2, K, p)), np.zeros((2, K, p))  # the trajectory's two ends
        # per chain, the momenta a merge compares (rows): the trajectory's left and right ends, the new subtree's
        # first and last leaves, the momenta summed over the trajectory before the merge and over the new subtree
        self.W = np.zeros((K, 6, p))
        self.eR = self.W[:, :2].transpose(1, 0, 2)  # eR[j, k]: chain k's left (j = 0) and right (j = 1) end
        self.eU = np.zeros((2, K))
        self.H = np.zeros((K, 1))   # ±ε/2 per chain (0 for a chain that has stopped)
        self.H2 = np.zeros((K, 1))  # ±ε
        self._capacity, self._stride, self.rows = 0, 1, np.arange(K)
        self._grow(16)
        self._tables: list[list[tuple[int, int]]] = []
        self.chains = []
        for k, kernel in enumerate(kernels):
            c = _Chain()
            c.k, c.kernel, c.rng, c.pool, c.pos, c.active, c.left = k, kernel, kernel._rng, [], 0, False, 0
            c.accepts, c.turned_at = [], None
            self.chains.append(c)
        self.set_mass(inverse_mass, np.array(thetas, dtype=np.float64))

    # ------------------------------------------------------------------------------------------------ pieces

    def set_mass(self, inverse_mass, thetas: np.ndarray | None = None) -> None:
        """Move to the coordinates of a new mass matrix (θ = Tx): the chains' current states (``thetas``, default
        their proposals) re-expressed, and U, ∇U recomputed there."""
        if thetas is None:
            thetas = self.theta(self.pZ)
        self.T = T = _mass_factor(np.asarray(inverse_mass, dtype=np.float64))
        self._T_inv = None if T.ndim == 1 else np.linalg.inv(T)
        self.f = _in_scaled_coordinates(self.potential, T)
        x = thetas / T if T.ndim == 1 else np.linalg.solve(T, thetas.T).T
        self.pZ = x
        self.pU, self.pG = self.f(x)
        self.sZ, self.sU, self.sG = x.copy(), self.pU.copy(), self.pG.copy()  # each chain's subtree proposal

    def theta(self, x: np.ndarray) -> np.ndarray:
        """θ = Tx (rows)."""
        return x * self.T if self.T.ndim == 1 else x @ self.T.T

    def _theta_grad(self, g: np.ndarray) -> np.ndarray:
        """∇_θU = T⁻ᵀ∇ₓU."""
        return g / self.T if self.T.ndim == 1 else g @ self._T_inv

    def _grow(self, size: int) -> None:
        """Room for subtrees of ``size`` leaves: row base_k + i of the flat buffer holds leaf i's (r_i, P_i)."""
        old = self._capacity
        if size <= old:
            return
        cap = max(size, 2 * old)
        K, p = self.K, self.p
        buf = np.zeros((K, cap + 1, 2 * p))
        if old:
            buf[:, : old + 1] = self.RPb
        self.RPb, self.RPf = buf, buf.reshape(K * (cap + 1), 2 * p)
        stride = self._stride
        self.rows = self.rows + np.arange(K) * (cap + 1 - stride)
        self._capacity, self._stride = cap, cap + 1

    def _table(self, leaf: int) -> list[tuple[int, int]]:
        while len(self._tables) <= leaf:
            self._tables.append(_checks_at(len(self._tables), self.extra))
        return self._tables[leaf]

    # ------------------------------------------------------------------------------------------ transitions

    def _begin(self, c: _Chain) -> None:
        """A new transition from the chain's current state: fresh momentum, a one-point trajectory."""
        k = c.k
        c.eps = c.kernel._begin_transition(self, k)
        r0 = c.rng.standard_normal(self.p)
        c.energy0 = float(self.pU[k]) + 0.5 * float(r0 @ r0)
        self.eZ[:, k], self.eR[:, k], self.eG[:, k], self.eU[:, k] = self.pZ[k], r0, self.pG[k], self.pU[k]
        self.W[k, 4] = r0
        c.w_tree, c.depth, c.sum_accept, c.n_steps, c.moved, c.diverged = 0.0, 0, 0.0, 0, False, False
        c.active = True
        self._double(c)

    def _double(self, c: _Chain) -> None:
        """Start a subtree of 2^depth leaves in a random direction from that end of the trajectory."""
        k = c.k
        c.direction = 1 if c.uniform() < 0.5 else -1
        j = 1 if c.direction == 1 else 0
        self.Z[k], self.R[k], self.G[k], self.U[k] = self.eZ[j, k], self.eR[j, k], self.eG[j, k], self.eU[j, k]
        h = 0.5 * c.eps * c.direction
        self.H[k, 0], self.H2[k, 0] = h, 2.0 * h
        self.Rh[k] = self.R[k] - h * self.G[k]
        c.leaf, c.size, c.w_sub, c.turned_at = 0, 1 << c.depth, -math.inf, None
        c.accepts = []
        self._grow(c.size)
        self.Psum[k] = 0.0
        self.rows[k] = k * self._stride

    def _end(self, c: _Chain) -> None:
        """The transition is over: hand its result to the kernel, start the next one if the chain goes on."""
        k = c.k
        self.H[k, 0] = self.H2[k, 0] = 0.0
        c.active = False
        c.left -= 1
        if c.diverged:
            kernel = c.kernel
            if kernel._t >= kernel._warmup_steps:
                kernel._divergences.append(kernel._t - kernel._warmup_steps)
        z = self.theta(self.pZ[k])
        c.kernel._finish(z, float(self.pU[k]), self._theta_grad(self.pG[k]), c.sum_accept / max(c.n_steps, 1),
                         c.energy0, c.n_steps, c.diverged, c.eps, c.moved)
        if self.on_draw is not None:
            self.on_draw(k, z)
        if c.left > 0:
            self._begin(c)
        else:  # stopped: its row stays finite while the others go on
            self.Z[k], self.G[k], self.U[k], self.R[k], self.Rh[k] = self.pZ[k], self.pG[k], self.pU[k], 0.0, 0.0

    def _turned(self, c: _Chain) -> None:
        """A check at leaf ``c.turned_at`` failed: the transition ends there, as the recursion would have ended it,
        with the leaves built after it taken out of the statistics."""
        extra = c.accepts[c.turned_at + 1:]
        c.n_steps -= len(extra)
        c.sum_accept -= math.fsum(extra)
        c.diverged = False
        self._end(c)

    def _merge(self, c: _Chain) -> None:
        """A completed, non-turning subtree joins the trajectory (Pyro's top-level loop, plus Stan's seam checks).

        Every check here spans sums of the six momenta in ``W[k]`` (ends L, R; the new subtree's first and last
        leaves F, N; the sums S_old, S_new), so their dot products come from one 6 × 6 Gram matrix: forward,
        the trajectory L..N with sum S_old + S_new, and the seams L..F (S_old + F) and R..N (R + S_new); backward,
        N..R with the same sum, and the seams N..L (S_new + L) and F..R (F + S_old)."""
        k = c.k
        W = self.W[k]
        W[2] = self.RPb[k, 0, : self.p]
        W[3] = self.R[k]
        W[5] = self.Psum[k]
        g = (W @ W.T).tolist()
        if c.direction == 1:
            turning = _turning_from_gram(g, 0, 3, ((4, 1.0), (5, 1.0))) or self.extra and (
                _turning_from_gram(g, 0, 2, ((4, 1.0), (2, 1.0)))
                or _turning_from_gram(g, 1, 3, ((1, 1.0), (5, 1.0))))
            j = 1
        else:
            turning = _turning_from_gram(g, 3, 1, ((4, 1.0), (5, 1.0))) or self.extra and (
                _turning_from_gram(g, 3, 0, ((5, 1.0), (0, 1.0)))
                or _turning_from_gram(g, 2, 1, ((2, 1.0), (4, 1.0))))
            j = 0
        W[4] += W[5]
        W[j] = W[3]
        self.eZ[j, k], self.eG[j, k], self.eU[j, k] = self.Z[k], self.G[k], self.U[k]
        c.depth += 1
        diff = c.w_sub - c.w_tree
        if diff >= 0 or c.uniform() < math.exp(diff):
            self.pZ[k], self.pG[k], self.pU[k] = self.sZ[k], self.sG[k], self.sU[k]
            c.moved = True
        c.w_tree = _logaddexp(c.w_tree, c.w_sub)
        if turning or c.depth >= self.max_depth:
            self._end(c)
        else:
            self._double(c)

    def _check(self, starts: list[int], ends: list[int], owners: list[tuple[_Chain, int]]) -> None:
        """Evaluate the queued U-turn checks; a chain whose check fails gets ``turned_at``, its earliest such leaf."""
        p, m = self.p, len(owners)
        pair = self.RPf[np.array(starts + ends)].reshape(2, m, 2 * p)  # (r_a, P_a) and (r_b, P_b)
        r = pair[:, :, :p]
        rho = pair[1, :, p:] - pair[0, :, p:] + 0.5 * (r[1] - r[0])
        bad = (_rowdot(r, rho) <= 0.0).any(0)
        if bad.any():
            for i in np.flatnonzero(bad).tolist():
                c, leaf = owners[i]
                if c.turned_at is None or leaf < c.turned_at:
                    c.turned_at = leaf

    def run(self, iterations: list[int]) -> None:
        """Run ``iterations[k]`` transitions of chain k (each booked by its kernel's ``_finish``)."""
        for c, n in zip(self.chains, iterations, strict=True):
            c.left = n
            if n > 0:
                self._begin(c)
        exp, max_energy = math.exp, 1000.0  # Pyro's divergence threshold on H − H₀
        starts: list[int] = []  # the queued checks' first and last leaves (rows of the buffer)
        ends: list[int] = []
        owners: list[tuple[_Chain, int]] = []
        since = 0
        R, Rh, Psum, RP, H, H2 = self.R, self.Rh, self.Psum, self.RP, self.H, self.H2
        kick = np.empty_like(R)
        log1p = math.log1p
        while True:
            live = [c for c in self.chains if c.active]
            if not live:
                return
            # one leapfrog step of every chain (the half kicks of consecutive steps share h∇U)
            Z = self.Z + H2 * Rh
            U, G = self.f(Z)
            np.multiply(H, G, out=kick)
            np.subtract(Rh, kick, out=R)
            np.subtract(R, kick, out=Rh)
            E = (U + 0.5 * _rowdot(R, R)).tolist()
            self.Z, self.G, self.U = Z, G, U
            rows = self.rows
            self.RPf[rows] = RP
            Psum += R
            row = rows.tolist()
            events = []
            for c in live:
                k = c.k
                delta = E[k] - c.energy0
                c.n_steps += 1
                leaf = c.leaf
                if not delta <= max_energy:  # divergent (or NaN): the subtree is dropped, the transition ends
                    c.accepts.append(0.0)
                    c.diverged = True
                    events.append(c)
                    continue
                accept = 1.0 if delta <= 0.0 else exp(-delta)
                c.sum_accept += accept
                c.accepts.append(accept)
                # reservoir sampling: w = −δ, W ← log(e^W + e^w), take this leaf with probability e^(w − W)
                w, w_sub = -delta, c.w_sub
                w_sub = w + log1p(exp(w_sub - w)) if w >= w_sub else w_sub + log1p(exp(w - w_sub))
                c.w_sub = w_sub
                if c.uniform() < exp(w - w_sub):
                    self.sZ[k], self.sG[k], self.sU[k] = Z[k], G[k], U[k]
                if leaf & 1:
                    base = row[k] - leaf
                    for first, last in self._table(leaf):
                        starts.append(base + first)
                        ends.append(base + last)
                        owners.append((c, leaf))
                c.leaf = leaf = leaf + 1
                if leaf == c.size:
                    events.append(c)
                else:
                    rows[k] += 1
            since += 1
            if events or since >= self.check_every:
                if owners:
                    self._check(starts, ends, owners)
                    starts, ends, owners = [], [], []
                since = 0
                for c in live:
                    if c.turned_at is not None:
                        self._turned(c)
                    elif c in events:
                        if c.diverged:
                            self._end(c)
                        else:
                            self._merge(c)


class FastNUTS(RecordingNUTS):
    """Pyro's NUTS kernel with its transition computed in NumPy on a flat θ and a closed-form potential.

    It is a :class:`pyro.infer.NUTS` (usable in ``pyro.infer.MCMC``, site ``"theta"``): setup, the dual-averaging
    step size, the windowed mass-matrix adaptation and the diagnostics are Pyro's. :meth:`sample` is Pyro's
    ``NUTS.sample`` (multinomial sampling, ``use_multinomial_sampling=True``) rewritten over NumPy arrays: momentum
    r = M^{1/2}ε, velocity-Verlet steps, trees doubled in a random direction, the proposal drawn within each
    subtree with probability proportional to its weight and across doublings by biased progressive sampling,
    stopping at a U-turn, a divergence (energy error > 1000) or ``max_tree_depth``. The tree is built iteratively
    (:class:`_Ensemble`, which also advances several chains' kernels together for :func:`nuts`). With
    ``extra_checks`` (default) it also applies Stan's U-turn checks across merged subtrees (Stan ≥ 2.21), which
    Pyro lacks: on near-Gaussian posteriors with an exact mass matrix every coordinate oscillates with one period,
    and the end-to-end check alone can let a trajectory run on for many periods. Random numbers come from a NumPy
    generator seeded from ``seed`` (or from torch's generator, so ``pyro.set_rng_seed`` fixes them).

    Parameters
    ----------
    potential
        A :class:`~bayesreg.infer.potential.Potential` (anything with ``value_and_grad(θ)`` and ``torch_fn()``;
        ``value_and_grad_many`` is used when present).
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
        self._engine = None

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
        self._engine = None

    def _refresh_mass(self) -> bool:
        """A NumPy copy of M⁻¹, refreshed when an adaptation window changes it; True when it changed."""
        adapter = self.mass_matrix_adapter
        (key,) = adapter.inverse_mass_matrix
        source = adapter.inverse_mass_matrix[key]
        if source is self._mass_source:
            return False
        self._mass_source = source
        self._minv = source.detach().numpy().copy()
        return True

    def inverse_mass(self) -> np.ndarray:
        """M⁻¹ as a NumPy array ((p,) for a diagonal mass matrix)."""
        self._refresh_mass()
        return self._minv

    def _begin_transition(self, engine: _Ensemble, k: int) -> float:
        """Called by the engine as a transition starts: the step size, after taking up a re-estimated mass
        matrix (a single chain's engine only)."""
        if self._refresh_mass() and engine.K == 1:
            engine.set_mass(self._minv)
        return float(self.step_size)

    def _finish(self, z, u, g, accept_prob, energy0, n_steps, diverged, eps, moved) -> None:
        """Book one transition as Pyro's ``sample`` does: acceptance statistics, the warm-up adaptation (step
        size, and the mass matrix's windows when enabled), the per-iteration records."""
        self._t += 1
        z_t = torch.from_numpy(z)
        if self._t > self._warmup_steps:
            if moved:
                self._accept_cnt += 1
            n = self._t - self._warmup_steps
        else:
            n = self._t
            self._adapter.step(self._t, {"theta": z_t}, torch.tensor(accept_prob, dtype=torch.float64),
                               {"theta": torch.from_numpy(g)})
        self._mean_accept_prob += (accept_prob - self._mean_accept_prob) / n
        self._state = (z, u, g)
        self._record(energy0, n_steps, diverged, eps)
        self._returned = z_t
        self._returned_ptr = z_t.data_ptr()

    def sample(self, params):
        z, u, g = self._state
        given = params.get("theta") if isinstance(params, dict) else None
        if given is not None and given.data_ptr() != getattr(self, "_returned_ptr", None):
            z = given.detach().numpy().astype(np.float64, copy=True)  # started from elsewhere: recompute
            u, g = self._value_and_grad(z)
            self._state = (z, u, g)
            self._engine = None
        if self._engine is None:
            self._refresh_mass()
            self._engine = _Ensemble(self.potential, [self], self._minv, [self._state[0]],
                                     self._max_tree_depth, self.extra_checks)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            self._engine.run([1])
        return {"theta": self._returned}


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
        A dense (full) mass matrix instead of a diagonal one. Default on the ``suffstats`` path: dense (it starts
        from the posterior covariance, correlations included) unless n < d with more than :data:`DENSE_MASS_MAX`
        coordinates, where the diagonal of that covariance is as good and cheaper (:func:`_default_dense`);
        diagonal on the ``model`` path (adapted).
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
    dense = _default_dense(potential) if dense_mass is None else bool(dense_mass)
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
        ran = _run_chains(potential, starts, cov, first, 0, [_chain_seed(seed, c, 1) for c in range(chains)],
                          settings, tick, torch_seeds=[seed + c for c in range(chains)])
        for chain, (out, _) in enumerate(ran):
            pilot.append(out[first // 2:])
            starts[chain] = out[-1]
        pooled = np.concatenate(pilot)
        mass, pilot_draws = _shrunk_covariance(pooled, cov), len(pooled)
        warmup_left = warmup - first
    else:
        warmup_left = warmup
    thetas, stats, accept = [], defaultdict(list), []
    ran = _run_chains(potential, starts, mass, warmup_left, draws, [_chain_seed(seed, c, 2) for c in range(chains)],
                      settings, tick, torch_seeds=[seed + c for c in range(chains)])
    for out, kernel in ran:
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


#: up to this many coordinates the suffstats path's default mass matrix is dense whatever the data
DENSE_MASS_MAX = 100


def _default_dense(potential) -> bool:
    """The default mass matrix of the suffstats path: dense (the posterior covariance, correlations included) up to
    :data:`DENSE_MASS_MAX` coordinates, or when the rows outnumber the weights; diagonal when n < d beyond that.

    With n < d the likelihood constrains only n directions of w; the other d − n are the prior's, independent
    coordinate by coordinate for the priors the potential has closed forms for, so the diagonal of the covariance
    keeps most of the geometry, while a dense M⁻¹ = TTᵀ costs two products with T (K p² each for K chains) on top
    of an O(np) gradient. Measured on d2l (n = 20, d = 200, Laplace prior): 140 leapfrog steps an iteration with
    the diagonal, 136 with the dense matrix, at 1.5 times the cost a step."""
    return potential.layout.size <= DENSE_MASS_MAX or potential.n >= potential.d


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


def _run_chains(potential, thetas, inverse_mass, warmup: int, draws: int, seeds: list[int], settings: dict,
                tick: Callable[[], None] | None = None, torch_seeds: list[int] | None = None):
    """Several chains of :class:`FastNUTS`, one from each θ, advanced together by one :class:`_Ensemble` (their
    leapfrog steps share the NumPy calls; each chain keeps its own kernel, seed, step-size adaptation and
    records): the same chains as :func:`_run_chain` on each, in a fraction of the time. ``torch_seeds[c]`` seeds
    torch's generator before chain c's setup (Pyro's initial step-size search draws from it). Returns
    ``[(states (warmup + draws, p), kernel)]`` per chain."""
    if settings.get("adapt_mass_matrix"):
        raise ValueError("chains advanced together share one mass matrix: no per-chain mass adaptation")
    kernels = []
    for chain, (theta, seed) in enumerate(zip(thetas, seeds, strict=True)):
        if torch_seeds is not None:
            pyro.set_rng_seed(torch_seeds[chain])
        kernel = FastNUTS(potential, inverse_mass=inverse_mass, seed=seed, **settings)
        kernel.initial_params = {"theta": torch.as_tensor(np.array(theta, dtype=np.float64))}
        kernel.setup(warmup)
        kernels.append(kernel)
    minv = kernels[0].inverse_mass()
    total = warmup + draws
    outs = [np.empty((total, potential.layout.size)) for _ in kernels]
    counts = [0] * len(kernels)

    def on_draw(k: int, z: np.ndarray) -> None:
        outs[k][counts[k]] = z
        counts[k] += 1
        if tick is not None:
            tick()

    engine = _Ensemble(potential, kernels, minv, [kernel._state[0] for kernel in kernels],
                       kernels[0]._max_tree_depth, kernels[0].extra_checks)
    engine.on_draw = on_draw
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        engine.run([warmup] * len(kernels))
        if draws and warmup and len(kernels) > 1 and kernels[0]._adapter.adapt_step_size:
            _share_step_size(kernels)
        engine.run([draws] * len(kernels))
    return list(zip(outs, kernels, strict=True))


def _share_step_size(kernels) -> None:
    """After warm-up, every chain samples with one step size: the geometric mean of the chains' dual-averaging
    estimates. The chains sample one posterior with one mass matrix, so the step size they each adapt to is an
    estimate of the same number, and the mean of K estimates is less noisy than any one (on d2l, 100 warm-up
    iterations left the four chains at 0.026 to 0.030, 131 to 163 leapfrog steps an iteration); chains advanced
    together then also finish together, where the chain with the smallest step would otherwise run on alone."""
    eps = math.exp(sum(math.log(float(k.step_size)) for k in kernels) / len(kernels))
    for kernel in kernels:
        kernel._adapter.step_size = eps


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
