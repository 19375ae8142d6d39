r"""The prior any penalty implies: elastic net, the unsquared norm, group lasso, the log (Student-t) penalty,
and a separable penalty φ(w_j) of your own.

The penalised objective in canonical form, :math:`\tfrac12\sum_i r_i^2 + \mathrm{pen}(w)`, is σ² times the
negative log posterior of ``y ~ N(Xw + b, σ²)`` with

.. math:: p(w) = \exp(-\mathrm{pen}(w)/\sigma^2) \,/\, Z, \qquad Z = \int \exp(-\mathrm{pen}(w)/\sigma^2)\,dw,

which is a prior exactly when Z is finite. Each class here is one such density:

* :class:`ElasticNetPrior` (``elastic-net``), canonical penalty ``λ₁‖w‖₁ + (λ₂/2)‖w‖²``: per coordinate
  ∝ exp(−|w|/s − w²/(2τ²)), s = σ²/λ₁, τ = σ/√λ₂, with Z = τ√(2π)·erfcx(τ/(s√2));
* :class:`L2NormPrior` (``l2-norm``), ``c‖w‖`` (``torch.norm(w)``, not squared): radial on R^d,
  ∝ exp(−‖w‖/ℓ), ℓ = σ²/c; ‖w‖ ~ Gamma(d, scale ℓ), direction uniform;
* :class:`GroupLassoPrior` (``group-lasso``), ``λ Σ_g √p_g ‖w_g‖``: one radial prior per group, scale ℓ/√p_g,
  ℓ = σ²/λ;
* :class:`StudentTPrior` (``student-t``), ``λ Σ_j log(1 + w_j²/c²)``: Student-t(ν, s), ν = 2λ/σ² − 1, s = c/√ν
  (no prior when λ/σ² ≤ ½);
* :class:`SeparablePrior` (``custom``), ``λ Σ_j φ(w_j)`` for any Python callable φ: ∝ exp(−(λ/σ²) φ(w_j)),
  normalised by quadrature, or an error when it cannot be.

Every prior has ``penalty(w)`` (the w-dependent part of −log p(w), i.e. pen(w)/σ²), ``log_normaliser`` (log Z
over the prior's own event: one coordinate for a separable prior, R^d for a radial or group prior),
``neg_log_density(w)`` (normalised), ``sample(rng, size)``, ``pyro_dist(d)`` (a torch distribution over R^d
with ``log_prob``, for Pyro's NUTS through :class:`~bayesreg.models.LinearRegressionModel`), ``canonical_lam``
(the canonical penalty's strength at noise sd σ), ``prox`` for the convex ones (what the MAP solvers of
:mod:`bayesreg.solvers.derived_map` need) and ``describe()``.

Conventions. A penalty ``λ_c·P(w)`` added by hand to a library's loss ``κ(n)Σr²`` (``loss + lam *
torch.norm(w)``, say) has canonical strength ``λ = λ_c / (2κ(n))``: the loss scaling of
:mod:`bayesreg.conventions`, with the penalty term written as the user writes it (no ½). This is the L1 rule
of every preset, so it needs no new table. The elastic net instead uses each convention's own L1 and L2
scalings, with scikit-learn's parametrisation ``(alpha, l1_ratio)``: L1 strength ``alpha·l1_ratio`` and L2
strength ``alpha·(1 − l1_ratio)`` in that convention.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from scipy import integrate, special, stats

from .conventions import CANONICAL, Convention, get_convention, to_canonical_lam
from .errors import ImproperPriorError, NoPriorError, SpecError
from .prior_base import Prior
from .validate import count, finite, positive

__all__ = [
    "DerivedPrior",
    "ElasticNetPrior",
    "L2NormPrior",
    "GroupLassoPrior",
    "StudentTPrior",
    "SeparablePrior",
    "DERIVED_PENALTIES",
    "derived_prior_from_penalty",
    "general_canonical_lam",
    "general_convention_lam",
    "loss_text",
    "radial_log_normaliser",
]

_LOG_2PI = math.log(2.0 * math.pi)
_SQRT2 = math.sqrt(2.0)

#: The penalties :func:`derived_prior_from_penalty` knows by name (a callable φ is the custom one).
DERIVED_PENALTIES = ("elastic-net", "l2-norm", "group-lasso", "log", "student-t")


_positive = positive  # the same check and message as the L1/L2 priors


_finite = finite


def _dimension(d, name: str = "d (the number of weights)") -> int:
    return count(d, name, 1, what="a whole number ≥ 1")


def _as_array(w) -> np.ndarray:
    return np.asarray(w, dtype=np.float64)


def _size(size) -> tuple[int, ...]:
    if size is None:
        return ()
    return (int(size),) if np.isscalar(size) else tuple(int(s) for s in size)


# ------------------------------------------------------------------------------------------- conventions

def general_canonical_lam(lam: float, n: int | None = None, convention: str | Convention = CANONICAL) -> float:
    """Canonical λ of a penalty ``λ_c·P(w)`` added to ``convention``'s loss ``κ(n)Σr²``: ``λ_c / (2κ(n))``.

    Examples
    --------
    ``loss = F.mse_loss(pred, y) + 0.1 * torch.norm(w)`` on 100 rows (``torch_sgd_mse``: κ = 1/n) is
    ``½Σr² + 5‖w‖``:

    >>> general_canonical_lam(0.1, n=100, convention="torch_sgd_mse")
    5.0
    """
    conv = get_convention(convention)
    return _finite(lam, "lam") / (2.0 * conv.loss_scale(n))


def general_convention_lam(lam: float, n: int | None = None, convention: str | Convention = CANONICAL) -> float:
    """The inverse of :func:`general_canonical_lam`: ``λ_c = 2κ(n)·λ``."""
    conv = get_convention(convention)
    return 2.0 * conv.loss_scale(n) * _finite(lam, "lam")


def loss_text(convention: str | Convention) -> str:
    """The loss part of ``convention``'s objective, e.g. ``"(1/n) Σ rᵢ²"``."""
    conv = get_convention(convention)
    text = conv.l2_objective or conv.l1_objective
    return text.split(" + ")[0]


def radial_log_normaliser(d: int, scale: float) -> float:
    r"""log ∫_{R^d} exp(−‖w‖/ℓ) dw = log(2π^{d/2} Γ(d) ℓ^d / Γ(d/2)): surface area of the unit sphere times
    ∫₀^∞ r^{d−1} e^{−r/ℓ} dr = Γ(d) ℓ^d."""
    return (math.log(2.0) + 0.5 * d * math.log(math.pi) + math.lgamma(d) + d * math.log(scale)
            - math.lgamma(0.5 * d))


# ------------------------------------------------------------------------------------------- the base

class DerivedPrior(Prior):
    """Common interface of the priors in this module (see the module docstring); the :class:`Prior` protocol."""

    name: ClassVar[str] = "derived"
    separable: ClassVar[bool] = True
    convex: bool = True

    # -- to be provided by each prior: penalty, log_normaliser, log_density_torch, sample, canonical_lam, describe

    @property
    def d(self) -> int | None:
        """The dimension the prior is defined on (None: any, one coordinate at a time)."""
        return None

    def neg_log_density(self, w) -> float:
        """−log p(w), normalising constant included (``w`` holds d coordinates)."""
        w = self._check(w)
        copies = w.size if self.separable else 1
        return self.penalty(w) + copies * self.log_normaliser

    def canonical_penalty(self, w, sigma: float) -> float:
        """σ²·penalty(w): the penalty term of the canonical objective ``½Σr² + pen(w)``."""
        return _positive(sigma, "sigma") ** 2 * self.penalty(w)

    def check_dimension(self, d: int) -> None:
        self._check(np.zeros(d))

    def _check(self, w) -> np.ndarray:
        w = _as_array(w).ravel()
        if self.d is not None and w.size != self.d:
            raise SpecError(f"the {self.name} prior is defined on R^{self.d}, got {w.size} weights")
        return w

    def sample_vectors(self, rng: np.random.Generator, shape: tuple[int, ...], d: int, *, sigma=None,
                       tau=None) -> np.ndarray:
        """Draws of whole weight vectors, shape ``shape + (d,)``."""
        if self.separable:
            return self.sample(rng, tuple(shape) + (d,))
        self._check(np.zeros(d))
        return self.sample(rng, tuple(shape))

    def log_density(self, w, *, sigma=None, tau=None) -> float:
        return -self.neg_log_density(w)

    @property
    def proximal(self) -> bool:
        """Whether :meth:`prox` exists: a convex prior that defines it."""
        return self.convex and type(self).prox is not DerivedPrior.prox

    def pyro_dist(self, d: int, sigma=None, tau=None):
        """A torch distribution over R^d (event shape ``(d,)``, float64) whose ``log_prob`` is log p(w)."""
        d = _dimension(d)
        if self.d is not None and d != self.d:
            raise SpecError(f"the {self.name} prior is defined on R^{self.d}, but the model has {d} weights")
        from ._pyro_prior import DerivedPriorDistribution

        return DerivedPriorDistribution(self, d)

    def prox(self, v, t: float) -> np.ndarray:
        """argmin_x ½‖x − v‖² + t·penalty(x), the proximal map (convex priors only)."""
        raise SpecError(f"the {self.name} prior is not convex: it has no proximal map, and its MAP is not unique")

    @property
    def statement(self) -> str:
        return self.describe()


# ------------------------------------------------------------------------------------------- elastic net

@dataclass(frozen=True)
class ElasticNetPrior(DerivedPrior):
    r"""Elastic-net prior, independent per coordinate: the product of a Laplace(s) and a N(0, τ²) shape.

    .. math::

        p(w_j) = \frac{1}{Z}\exp\Big(-\frac{|w_j|}{s} - \frac{w_j^2}{2\tau^2}\Big), \qquad
        Z = \tau\sqrt{2\pi}\;\mathrm{erfcx}\Big(\frac{\tau}{s\sqrt 2}\Big)

    (complete the square on each half-line: Z = 2τ√(2π)·e^{α²/2}·Q(α), α = τ/s, Q the normal upper tail).
    The canonical penalty ``λ₁‖w‖₁ + (λ₂/2)‖w‖²`` gives s = σ²/λ₁, τ = σ/√λ₂. s → ∞ is the Gaussian prior,
    τ → ∞ the Laplace prior. On each sign the density is a normal with mean ∓τ²/s and sd τ truncated to that
    half-line, which is how it is sampled (``scipy.stats.truncnorm``).
    """

    scale: float
    tau: float
    name: ClassVar[str] = "elastic-net"

    def __post_init__(self):
        object.__setattr__(self, "scale", _positive(self.scale, "scale (the L1 part's Laplace scale s)"))
        object.__setattr__(self, "tau", _positive(self.tau, "tau (the L2 part's Gaussian sd τ)"))

    @property
    def params(self) -> dict[str, float]:
        return {"scale": self.scale, "tau": self.tau}

    @property
    def alpha(self) -> float:
        """α = τ/s: the truncation point of each half in standard units (0: Gaussian, ∞: Laplace)."""
        return self.tau / self.scale

    @property
    def log_normaliser(self) -> float:
        """log Z of one coordinate."""
        return math.log(self.tau) + 0.5 * _LOG_2PI + math.log(float(special.erfcx(self.alpha / _SQRT2)))

    @property
    def variance(self) -> float:
        """E[w_j²] = τ² ∫₀^∞ x² e^{−αx − x²/2} dx / ∫₀^∞ e^{−αx − x²/2} dx (by quadrature: the closed form
        τ²(1 + α² − α·Mills(α)) cancels catastrophically for large α, where the answer tends to 2s²)."""
        a = self.alpha
        top = 1490.0 / (a + math.sqrt(a * a + 1490.0))  # where αx + x²/2 = 745: e^{−745} is below any double
        f0 = integrate.quad(lambda x: math.exp(-a * x - 0.5 * x * x), 0.0, top, epsabs=0.0, epsrel=1e-13,
                            limit=200)[0]
        f2 = integrate.quad(lambda x: x * x * math.exp(-a * x - 0.5 * x * x), 0.0, top, epsabs=0.0, epsrel=1e-13,
                            limit=200)[0]
        return self.tau**2 * f2 / f0

    def penalty(self, w) -> float:
        """``Σ|w_j|/s + Σw_j²/(2τ²)``."""
        w = _as_array(w)
        return float(np.sum(np.abs(w)) / self.scale + np.sum(w * w) / (2.0 * self.tau**2))

    def logpdf(self, t):
        """log p of one coordinate (vectorised)."""
        t = _as_array(t)
        return -(np.abs(t) / self.scale + t * t / (2.0 * self.tau**2)) - self.log_normaliser

    def cdf(self, t):
        """P(w_j ≤ t) (vectorised): ½ ± ½·P(T ≤ |t|), T the truncated normal on (0, ∞)."""
        t = _as_array(t)
        a = self.alpha
        u = a + np.abs(t) / self.tau
        # Q(u)/Q(a) through erfcx, without underflow
        ratio = special.erfcx(u / _SQRT2) / special.erfcx(a / _SQRT2) * np.exp(-0.5 * (u - a) * (u + a))
        return 0.5 + 0.5 * np.sign(t) * (1.0 - ratio)

    def sample(self, rng: np.random.Generator, size=None) -> np.ndarray:
        """``size`` i.i.d. draws of one coordinate: a random sign times T ~ N(−τ²/s, τ²) truncated to (0, ∞)."""
        shape = _size(size)
        a = self.alpha
        half = stats.truncnorm(a, np.inf, loc=-a * self.tau, scale=self.tau)
        t = half.rvs(size=shape, random_state=rng)
        sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        return sign * t

    def log_density_torch(self, w):
        d = w.shape[-1]
        return -(w.abs().sum(-1) / self.scale + (w * w).sum(-1) / (2.0 * self.tau**2)) - d * self.log_normaliser

    def prox(self, v, t: float) -> np.ndarray:
        """Soft-threshold at t/s, then shrink by 1/(1 + t/τ²)."""
        v = _as_array(v)
        return np.sign(v) * np.maximum(np.abs(v) - t / self.scale, 0.0) / (1.0 + t / self.tau**2)

    def canonical_lam(self, sigma: float) -> dict[str, float]:
        """``{"l1": λ₁ = σ²/s, "l2": λ₂ = σ²/τ²}`` in ``½Σr² + λ₁‖w‖₁ + (λ₂/2)‖w‖²``."""
        s2 = _positive(sigma, "sigma") ** 2
        return {"l1": s2 / self.scale, "l2": s2 / self.tau**2}

    def elementwise_penalty(self, sigma: float) -> tuple[float, float]:
        lam = self.canonical_lam(sigma)
        return lam["l1"], lam["l2"]

    @classmethod
    def from_canonical_lam(cls, lam_l1: float, lam_l2: float, sigma: float) -> ElasticNetPrior:
        s2 = _positive(sigma, "sigma") ** 2
        return cls(s2 / _positive(lam_l1, "the canonical λ₁"), math.sqrt(s2 / _positive(lam_l2, "the canonical λ₂")))

    def describe(self) -> str:
        z = math.exp(self.log_normaliser)
        return (f"elastic net on each w_j, s = {self.scale:.6g}, τ = {self.tau:.6g}: "
                f"p(w_j) = exp(−|w_j|/s − w_j²/(2τ²)) / Z, Z = τ√(2π)·erfcx(τ/(s√2)) = {z:.6g}")

    @property
    def statement(self) -> str:
        return ("The elastic-net penalty λ₁‖w‖₁ + (λ₂/2)‖w‖² implies independent weights with density "
                "∝ exp(−|w_j|/s − w_j²/(2τ²)), s = σ²/λ₁, τ = σ/√λ₂: Laplace-like (a kink) near 0, Gaussian in the "
                "tails. It is a proper prior for any λ₁ > 0, λ₂ > 0. It is convex, so its MAP is the elastic-net "
                "estimate (scikit-learn ElasticNet), which can be exactly 0; the posterior mean never is.")


# ------------------------------------------------------------------------------------------- radial (l2-norm)

@dataclass(frozen=True)
class L2NormPrior(DerivedPrior):
    r"""Radial prior of the unsquared norm ``c‖w‖`` (``torch.norm(w)``): on R^d,

    .. math::

        p(w) = \frac{\Gamma(d/2)}{2\pi^{d/2}\,\Gamma(d)\,\ell^d}\; e^{-\|w\|/\ell}, \qquad \ell = \sigma^2/c.

    ‖w‖ ~ Gamma(d, scale ℓ) and w/‖w‖ is uniform on the sphere, independently; each coordinate has variance
    (d + 1)ℓ². For d = 1 it is the Laplace prior. It is **not** weight decay: the gradient of c‖w‖ has length c
    whatever ‖w‖ is, the density is not Gaussian, and w = 0 is a kink (the MAP can be exactly 0, every
    coordinate at once). The coordinates are not independent, so d must be known.
    """

    scale: float
    dim: int
    name: ClassVar[str] = "l2-norm"
    separable: ClassVar[bool] = False

    def __post_init__(self):
        object.__setattr__(self, "scale", _positive(self.scale, "scale (ℓ = σ²/c)"))
        object.__setattr__(self, "dim", _dimension(self.dim))

    @property
    def d(self) -> int:
        return self.dim

    @property
    def params(self) -> dict[str, float]:
        return {"scale": self.scale, "d": self.dim}

    @property
    def rate(self) -> float:
        """c' = 1/ℓ = c/σ²."""
        return 1.0 / self.scale

    @property
    def log_normaliser(self) -> float:
        """log Z over R^d."""
        return radial_log_normaliser(self.dim, self.scale)

    @property
    def variance(self) -> float:
        """Variance of each coordinate: E‖w‖²/d = (d + 1)ℓ²."""
        return (self.dim + 1) * self.scale**2

    @property
    def radius(self):
        """The distribution of ‖w‖: Gamma(d, scale ℓ) (a frozen SciPy distribution)."""
        return stats.gamma(self.dim, scale=self.scale)

    def penalty(self, w) -> float:
        """``‖w‖/ℓ``."""
        return float(np.linalg.norm(self._check(w))) / self.scale

    def sample(self, rng: np.random.Generator, size=None) -> np.ndarray:
        """``size`` draws of w ∈ R^d (shape ``size + (d,)``): radius ~ Gamma(d, ℓ), direction uniform."""
        shape = _size(size)
        r = rng.gamma(self.dim, self.scale, size=shape)
        u = rng.standard_normal(shape + (self.dim,))
        return r[..., None] * u / np.linalg.norm(u, axis=-1, keepdims=True)

    def log_density_torch(self, w):
        import torch

        return -torch.linalg.vector_norm(w, dim=-1) / self.scale - self.log_normaliser

    def prox(self, v, t: float) -> np.ndarray:
        """Block soft-thresholding: max(1 − (t/ℓ)/‖v‖, 0)·v."""
        v = _as_array(v)
        norm = float(np.linalg.norm(v))
        return v * max(1.0 - t / self.scale / norm, 0.0) if norm > 0 else np.zeros_like(v)

    def canonical_lam(self, sigma: float) -> float:
        """c = σ²/ℓ in ``½Σr² + c‖w‖``."""
        return _positive(sigma, "sigma") ** 2 / self.scale

    @classmethod
    def from_canonical_lam(cls, lam: float, sigma: float, d: int) -> L2NormPrior:
        return cls(_positive(sigma, "sigma") ** 2 / _positive(lam, "the canonical c"), d)

    def describe(self) -> str:
        return (f"radial prior on R^{self.dim}, ℓ = {self.scale:.6g}: p(w) = Γ(d/2) / (2π^(d/2) Γ(d) ℓ^d) · "
                f"exp(−‖w‖/ℓ); ‖w‖ ~ Gamma(d = {self.dim}, scale ℓ), direction uniform on the sphere")

    @property
    def statement(self) -> str:
        return ("The unsquared norm c‖w‖ (torch.norm(w)) is not weight decay. Weight decay is (λ/2)‖w‖², whose "
                "gradient λw shrinks with w; the gradient of c‖w‖ is c·w/‖w‖, of length c whatever the size of w. "
                "It implies no Gaussian prior but the radial prior ∝ exp(−c‖w‖/σ²), with a kink at w = 0: the MAP "
                "can set every weight to exactly 0 at once (a group lasso with one group). The coordinates are "
                "not independent, and the prior depends on the dimension d.")


# ------------------------------------------------------------------------------------------- group lasso

def _groups(groups) -> tuple[int, ...]:
    if isinstance(groups, str):
        try:
            groups = [int(g) for g in groups.split(",")]
        except ValueError:
            raise SpecError(f"groups must be sizes like 3,3,4, got {groups!r}") from None
    try:
        sizes = tuple(groups)
    except TypeError:
        raise SpecError(f"groups must be a list of group sizes like (3, 3, 4), got {groups!r}") from None
    if not sizes:
        raise SpecError("groups must name at least one group size")
    return tuple(_dimension(g, "each group size") for g in sizes)


@dataclass(frozen=True)
class GroupLassoPrior(DerivedPrior):
    r"""Group-lasso prior: independent radial priors on contiguous groups of sizes p_g.

    Canonical penalty ``λ Σ_g √p_g ‖w_g‖`` (the √p_g weights of Yuan & Lin 2006 and of most software; the
    groups are consecutive blocks of columns, in order). With ℓ = σ²/λ,

    .. math:: p(w) = \prod_g \mathrm{Radial}_{p_g}(w_g;\ \ell/\sqrt{p_g}),

    each factor the :class:`L2NormPrior` on R^{p_g}. Convex; its MAP zeroes whole groups.
    """

    scale: float
    groups: tuple[int, ...]
    name: ClassVar[str] = "group-lasso"
    separable: ClassVar[bool] = False

    def __post_init__(self):
        object.__setattr__(self, "scale", _positive(self.scale, "scale (ℓ = σ²/λ)"))
        object.__setattr__(self, "groups", _groups(self.groups))

    @property
    def d(self) -> int:
        return int(sum(self.groups))

    @property
    def params(self) -> dict[str, Any]:
        return {"scale": self.scale, "groups": list(self.groups)}

    @property
    def factors(self) -> list[L2NormPrior]:
        """The radial prior of each group: scale ℓ/√p_g on R^{p_g}."""
        return [L2NormPrior(self.scale / math.sqrt(p), p) for p in self.groups]

    @property
    def slices(self) -> list[slice]:
        ends = np.cumsum(self.groups)
        return [slice(int(e - p), int(e)) for e, p in zip(ends, self.groups, strict=True)]

    @property
    def log_normaliser(self) -> float:
        return float(sum(f.log_normaliser for f in self.factors))

    @property
    def variance(self) -> np.ndarray:
        """Variance of each coordinate ((p_g + 1)ℓ²/p_g in group g)."""
        return np.concatenate([np.full(f.dim, f.variance) for f in self.factors])

    def penalty(self, w) -> float:
        """``Σ_g √p_g ‖w_g‖ / ℓ``."""
        w = self._check(w)
        return float(sum(f.penalty(w[s]) for f, s in zip(self.factors, self.slices, strict=True)))

    def sample(self, rng: np.random.Generator, size=None) -> np.ndarray:
        """``size`` draws of w ∈ R^d (shape ``size + (d,)``), each group radial, groups independent."""
        return np.concatenate([f.sample(rng, size) for f in self.factors], axis=-1)

    def log_density_torch(self, w):
        total = 0.0
        for f, s in zip(self.factors, self.slices, strict=True):
            total = total + f.log_density_torch(w[..., s])
        return total

    def prox(self, v, t: float) -> np.ndarray:
        v = _as_array(v)
        return np.concatenate([f.prox(v[s], t) for f, s in zip(self.factors, self.slices, strict=True)])

    def canonical_lam(self, sigma: float) -> float:
        """λ = σ²/ℓ in ``½Σr² + λ Σ_g √p_g ‖w_g‖``."""
        return _positive(sigma, "sigma") ** 2 / self.scale

    @classmethod
    def from_canonical_lam(cls, lam: float, sigma: float, groups) -> GroupLassoPrior:
        return cls(_positive(sigma, "sigma") ** 2 / _positive(lam, "the canonical λ"), groups)

    def describe(self) -> str:
        sizes = ",".join(str(p) for p in self.groups)
        return (f"group lasso, groups of sizes {sizes}, ℓ = {self.scale:.6g}: p(w) = Π_g Γ(p_g/2) p_g^(p_g/2) / "
                "(2π^(p_g/2) Γ(p_g) ℓ^p_g) · exp(−√p_g ‖w_g‖/ℓ); in group g, ‖w_g‖ ~ Gamma(p_g, scale ℓ/√p_g), "
                "direction uniform")

    @property
    def statement(self) -> str:
        return ("The group-lasso penalty λ Σ_g √p_g‖w_g‖ implies independent groups, each with the radial prior "
                "∝ exp(−√p_g‖w_g‖·λ/σ²) of the unsquared norm; inside a group the weights are dependent. It is "
                "convex, and its MAP sets whole groups exactly to 0. It is not weight decay on each group.")


# ------------------------------------------------------------------------------------------- Student-t

@dataclass(frozen=True)
class StudentTPrior(DerivedPrior):
    r"""Student-t prior with ν degrees of freedom and scale s, i.i.d. per coordinate: the log penalty's prior.

    .. math::

        -\log p(w_j) = \frac{\nu + 1}{2}\log\Big(1 + \frac{w_j^2}{\nu s^2}\Big) + \log Z, \qquad
        Z = s\sqrt{\nu\pi}\;\Gamma(\nu/2)/\Gamma((\nu+1)/2).

    The canonical log penalty ``λ Σ_j log(1 + w_j²/c²)`` is σ² times that with λ = σ²(ν + 1)/2 and c = s√ν;
    read the other way, the log penalty with strength λ and width c implies ν = 2λ/σ² − 1 and s = c/√ν, and
    no prior at all when λ/σ² ≤ ½ (the density ∝ |w|^(−2λ/σ²) is not integrable). It is not convex: the MAP
    need not be unique, and the MAP solvers refuse it unless asked for a local mode.
    """

    df: float
    scale: float
    name: ClassVar[str] = "student-t"
    convex: ClassVar[bool] = False

    def __post_init__(self):
        object.__setattr__(self, "df", _positive(self.df, "df (the degrees of freedom ν)"))
        object.__setattr__(self, "scale", _positive(self.scale, "scale (the Student-t scale s)"))

    @property
    def params(self) -> dict[str, float]:
        return {"df": self.df, "scale": self.scale}

    @property
    def width(self) -> float:
        """c = s√ν, the width in ``log(1 + w²/c²)``."""
        return self.scale * math.sqrt(self.df)

    @property
    def log_normaliser(self) -> float:
        nu = self.df
        return (math.log(self.scale) + 0.5 * math.log(nu * math.pi) + math.lgamma(0.5 * nu)
                - math.lgamma(0.5 * (nu + 1.0)))

    @property
    def variance(self) -> float:
        """s²ν/(ν − 2), infinite for ν ≤ 2."""
        return self.scale**2 * self.df / (self.df - 2.0) if self.df > 2 else math.inf

    def penalty(self, w) -> float:
        w = _as_array(w)
        return float(0.5 * (self.df + 1.0) * np.sum(np.log1p(w * w / (self.df * self.scale**2))))

    def logpdf(self, t):
        return stats.t(self.df, scale=self.scale).logpdf(t)

    def cdf(self, t):
        return stats.t(self.df, scale=self.scale).cdf(t)

    def sample(self, rng: np.random.Generator, size=None) -> np.ndarray:
        return self.scale * rng.standard_t(self.df, size=_size(size))

    def log_density_torch(self, w):
        import torch

        d = w.shape[-1]
        return (-0.5 * (self.df + 1.0) * torch.log1p(w * w / (self.df * self.scale**2)).sum(-1)
                - d * self.log_normaliser)

    def canonical_lam(self, sigma: float) -> float:
        """λ = σ²(ν + 1)/2 in ``½Σr² + λ Σ log(1 + w_j²/c²)``, c = :attr:`width`."""
        return _positive(sigma, "sigma") ** 2 * (self.df + 1.0) / 2.0

    @classmethod
    def from_log_penalty(cls, lam: float, width: float, sigma: float) -> StudentTPrior:
        """The prior of the canonical log penalty ``λ Σ log(1 + w_j²/c²)`` at noise sd σ."""
        width = _positive(width, "width (c in log(1 + w²/c²))")
        q = _finite(lam, "lam") / _positive(sigma, "sigma") ** 2
        if q < 0:
            raise NoPriorError(
                f"a log penalty with negative strength λ={lam} implies no prior: (1 + w²/c²)^(+{-q:g}) grows "
                "without bound; use λ > 0")
        if q == 0:
            raise ImproperPriorError("λ = 0 means no penalty: the implied prior is the improper flat density")
        if q <= 0.5:
            raise ImproperPriorError(
                f"the log penalty with λ/σ² = {q:g} ≤ ½ implies no prior: exp(−pen/σ²) = (1 + w²/c²)^(−{q:g}) "
                f"decays like |w|^(−{2 * q:g}), too slowly to integrate (Student-t needs ν = 2λ/σ² − 1 > 0); "
                f"use λ > σ²/2 = {0.5 * float(sigma) ** 2:g}")
        nu = 2.0 * q - 1.0
        return cls(nu, width / math.sqrt(nu))

    def describe(self) -> str:
        return (f"Student-t on each w_j, ν = {self.df:.6g}, scale s = {self.scale:.6g}: "
                f"p(w_j) = Γ((ν+1)/2) / (Γ(ν/2) s√(νπ)) · (1 + w_j²/(ν s²))^(−(ν+1)/2)")

    @property
    def statement(self) -> str:
        return (f"The log penalty λ Σ log(1 + w_j²/c²) is σ² × the negative log of a Student-t(ν, s) density with "
                f"ν = 2λ/σ² − 1 and s = c/√ν (here ν = {self.df:.6g}, s = {self.scale:.6g}, c = {self.width:.6g}). "
                "It exists only for λ > σ²/2. It is not convex: the posterior can have several modes and no MAP is "
                "guaranteed unique; the MAP solvers refuse it unless asked for a local mode.")


# ------------------------------------------------------------------------------------------- custom φ

def _vectorised(phi: Callable) -> Callable[[np.ndarray], np.ndarray]:
    """φ as a function of float64 arrays (calling it element by element when it does not broadcast)."""
    probe = np.array([0.5, -1.5])
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(phi(probe), dtype=np.float64)
        if out.shape == probe.shape:
            def call(t):
                with np.errstate(all="ignore"):
                    return np.asarray(phi(np.asarray(t, dtype=np.float64)), dtype=np.float64)

            return call
    except Exception:  # noqa: BLE001 - any failure: fall back to scalar calls
        pass
    def one(t: float) -> float:
        try:
            return float(phi(float(t)))
        except OverflowError:  # math.exp, math.cosh, ... past the largest double
            return math.inf

    scalar = np.vectorize(one, otypes=[np.float64])

    def call_scalar(t):
        with np.errstate(all="ignore"):
            return scalar(np.asarray(t, dtype=np.float64))

    return call_scalar


def _scaled(rate: float, values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return rate * values


_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)


def _gauss_legendre(g, lo: np.ndarray, hi: np.ndarray, shift: float) -> np.ndarray:
    """∫_lo^hi exp(−(g(t) − shift)) dt per interval, 12-point Gauss–Legendre, vectorised."""
    mid, half = 0.5 * (hi + lo), 0.5 * (hi - lo)
    t = mid[..., None] + half[..., None] * _GL_X
    vals = np.exp(-(g(t) - shift))
    return half * (vals @ _GL_W)


@dataclass(frozen=True)
class SeparablePrior(DerivedPrior):
    r"""The prior of a separable penalty ``λ Σ_j φ(w_j)``: ``p(w_j) = exp(−k·φ(w_j)) / Z``, k = λ/σ².

    Z is computed by ``scipy.integrate.quad`` (split at 0 and at the density's mode, the tails integrated to
    ±∞). Before that, the tails are checked: for large |t| the log density must fall faster than −log|t|
    (the local slope of log p against log|t| at |t| up to 10³⁰⁰ must be below −1), or ``exp(−kφ)`` is not
    integrable and :class:`~bayesreg.errors.ImproperPriorError` is raised; so it is for a bounded φ, for φ
    growing like log|t| with k ≤ 1 (``φ = log(1 + |t|)``) or for a φ that decreases. Draws come from a
    numerical inverse CDF (a table of the CDF by Gauss–Legendre on a sinh-spaced grid covering all but 10⁻¹³
    of each tail, refined by Newton steps).

    Parameters
    ----------
    phi
        φ: R → R, vectorised over numpy arrays if possible (it is called element by element otherwise).
    rate
        k = λ/σ² > 0 (canonical λ).
    torch_phi
        φ for torch tensors, for :meth:`pyro_dist` (NUTS); default ``phi`` itself, which works when φ is
        written with operators only (``abs(t) ** 1.5``).
    convex
        Whether φ is convex (you say so): only then do the MAP solvers take it.
    label
        How φ is written in descriptions.
    """

    phi: Callable = field(compare=False)
    rate: float
    torch_phi: Callable | None = field(default=None, compare=False)
    convex: bool = False
    label: str = "φ"
    name: ClassVar[str] = "custom"

    def __post_init__(self):
        if not callable(self.phi):
            raise SpecError(f"phi must be a callable φ(t), got {self.phi!r}")
        rate = _finite(self.rate, "rate (k = λ/σ²)")
        if rate < 0:
            raise NoPriorError(
                f"a penalty λ·Σφ(w_j) with negative coefficient (k = λ/σ² = {rate:g}) implies no prior: "
                "exp(+|k|φ) does not normalise for a φ that grows (the objective rewards large weights); use λ > 0")
        if rate == 0:
            raise ImproperPriorError("λ = 0 means no penalty: the implied prior is the improper flat density on w")
        object.__setattr__(self, "rate", rate)
        g = _vectorised(self.phi)
        object.__setattr__(self, "_g", lambda t: _scaled(rate, g(t)))
        self._check_tails()
        self._normalise()

    @property
    def params(self) -> dict[str, Any]:
        return {"rate": self.rate, "phi": self.label}

    def _values(self, t: np.ndarray) -> np.ndarray:
        vals = self._g(t)
        if np.any(np.isnan(vals)):
            bad = t[np.isnan(vals)][0]
            raise SpecError(f"φ({bad:g}) is not a number: φ must be defined on the whole real line")
        if np.any(vals == -np.inf):
            raise SpecError("φ is −∞ somewhere: the density exp(−kφ) is unbounded; such a φ is not supported")
        return vals

    # -- normalisation

    def _check_tails(self) -> None:
        g = self._g
        exps = np.arange(2.0, 301.0, 2.0)
        for side in (1.0, -1.0):
            t = side * 10.0**exps
            vals = g(t)
            if np.any(np.isnan(vals)):
                bad = t[np.isnan(vals)][0]
                raise SpecError(f"φ({bad:g}) is not a number: φ must be defined on the whole real line")
            if vals[-1] >= 1e300:
                continue  # kφ reaches +∞: the density vanishes faster than any power of |t|
            slope = -(vals[-1] - vals[-2]) / ((exps[-1] - exps[-2]) * math.log(10.0))
            if not slope < -1.0 - 1e-9:
                where = "+∞" if side > 0 else "−∞"
                how = (f"decays only like |t|^({slope:.3g})" if slope < 0 else "does not decay")
                raise ImproperPriorError(
                    f"the penalty grows too slowly to imply a prior: towards {where}, exp(−kφ(t)) {how} "
                    f"(k = λ/σ² = {self.rate:g}), and ∫|t|^(−p) dt diverges for p ≤ 1; φ must grow faster than "
                    "log|t|/k (a bounded or decreasing φ never implies a prior)")

    def _normalise(self) -> None:
        from scipy.optimize import minimize_scalar

        g = self._g
        grid = np.concatenate([-np.logspace(12, -12, 961), [0.0], np.logspace(-12, 12, 961)])
        vals = self._values(grid)
        i = int(np.argmin(vals))
        # refine the minimiser of kφ between the grid's neighbours, then look around it on a local log grid
        res = minimize_scalar(lambda t: float(g(np.array([t]))[0]), bounds=(grid[max(i - 1, 0)],
                              grid[min(i + 1, grid.size - 1)]), method="bounded", options={"xatol": 1e-14})
        mode = float(res.x) if res.fun < vals[i] else float(grid[i])
        offsets = np.logspace(-13, 13, 1041) * max(1.0, abs(mode))
        local = np.concatenate([mode - offsets[::-1], [mode], mode + offsets])
        lvals = self._values(local)
        j = int(np.argmin(lvals))
        shift, mode = float(lvals[j]), float(local[j])
        near = np.flatnonzero(lvals - shift <= 50.0)
        lo = float(local[max(near[0] - 1, 0)])
        hi = float(local[min(near[-1] + 1, local.size - 1)])
        peak = np.flatnonzero(lvals - shift <= 2.0)
        width = float(local[min(peak[-1] + 1, local.size - 1)] - local[max(peak[0] - 1, 0)])
        grid = local
        f = lambda t: math.exp(-(float(g(np.array([t]))[0]) - shift))  # noqa: E731
        # pieces: one per decade of the log grid inside the core, split at 0 and at the mode
        inside = grid[(grid > lo) & (grid < hi)][::40]
        breaks = sorted({lo, hi, mode, *inside.tolist()} | ({0.0} if lo < 0.0 < hi else set()))
        core, core_err, tails, tail_err = 0.0, 0.0, 0.0, 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("error", integrate.IntegrationWarning)
            try:
                for a, b in zip(breaks[:-1], breaks[1:], strict=True):
                    value, err = integrate.quad(f, a, b, epsabs=0.0, epsrel=1e-11, limit=500)
                    core, core_err = core + value, core_err + err
                for a, b in ((-np.inf, breaks[0]), (breaks[-1], np.inf)):
                    value, err = integrate.quad(f, a, b, epsabs=1e-14 * core, epsrel=1e-10, limit=500)
                    tails, tail_err = tails + value, tail_err + err
            except integrate.IntegrationWarning as exc:
                raise SpecError(
                    f"could not normalise exp(−kφ) numerically ({str(exc).splitlines()[0]}); "
                    "check that φ is smooth away from a few kinks and grows in both tails") from None
        total = core + tails
        if not (math.isfinite(total) and total > 0):
            raise ImproperPriorError(f"∫exp(−kφ(t))dt = {total}: the penalty implies no prior")
        if core_err + tail_err > 1e-8 * total:
            raise SpecError(f"the normalising integral of exp(−kφ) is uncertain by {(core_err + tail_err) / total:.2g} "
                            "(relative): the tail is too heavy to normalise reliably")
        object.__setattr__(self, "_shift", shift)
        object.__setattr__(self, "_mode", mode)
        object.__setattr__(self, "_core", (lo, hi, width))
        object.__setattr__(self, "_z", total)  # ∫exp(−(kφ − shift))
        object.__setattr__(self, "_table", None)

    @property
    def log_normaliser(self) -> float:
        """log Z of one coordinate, Z = ∫exp(−kφ(t))dt."""
        return math.log(self._z) - self._shift

    @property
    def mode(self) -> float:
        """Where kφ is smallest (on a log-spaced grid)."""
        return self._mode

    def penalty(self, w) -> float:
        """``k Σ φ(w_j)``."""
        return float(np.sum(self._g(_as_array(w))))

    def logpdf(self, t):
        return -self._g(_as_array(t)) - self.log_normaliser

    # -- sampling by inverse CDF

    def _build_table(self):
        g, shift, z = self._g, self._shift, self._z
        f = lambda t: math.exp(-(float(g(np.array([t]))[0]) - shift))  # noqa: E731
        mode = self._mode
        lo, hi, width = self._core
        ends = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            for side, edge in ((-1.0, lo), (1.0, hi)):  # widen until each tail holds < 1e-13 of the mass
                dist = max(abs(edge - mode), hi - lo)
                for _ in range(200):
                    tail = abs(integrate.quad(f, mode + side * dist, side * np.inf, epsabs=1e-15 * z,
                                              epsrel=1e-8, limit=200)[0])
                    if tail <= 1e-13 * z:
                        break
                    dist *= 2.0
                ends.append(mode + side * dist)
            a, b = ends
            tail_lo = integrate.quad(f, -np.inf, a, epsabs=1e-15 * z, epsrel=1e-8, limit=200)[0]
        step = max(width / 50.0, 1e-300)  # sinh spacing: fine in the core, geometric in the tails
        u = np.linspace(np.arcsinh((a - mode) / step), np.arcsinh((b - mode) / step), 6001)
        grid = mode + step * np.sinh(u)
        grid[0], grid[-1] = a, b
        if a < 0.0 < b:
            grid = np.union1d(grid, [0.0])
        mass = _gauss_legendre(g, grid[:-1], grid[1:], shift)
        cdf = np.concatenate([[tail_lo], tail_lo + np.cumsum(mass)]) / z
        object.__setattr__(self, "_table", (grid, cdf))
        return grid, cdf

    def cdf(self, t):
        """P(w_j ≤ t) from the inverse-CDF table (vectorised)."""
        grid, cdf = self._table or self._build_table()
        t = _as_array(t)
        tc = np.clip(t, grid[0], grid[-1])
        i = np.clip(np.searchsorted(grid, tc, side="right") - 1, 0, grid.size - 2)
        return cdf[i] + _gauss_legendre(self._g, grid[i], tc, self._shift) / self._z

    def sample(self, rng: np.random.Generator, size=None) -> np.ndarray:
        """``size`` i.i.d. draws of one coordinate, by inverting the CDF."""
        grid, cdf = self._table or self._build_table()
        shape = _size(size)
        u = np.clip(rng.random(shape).ravel(), cdf[0], cdf[-1])
        i = np.clip(np.searchsorted(cdf, u, side="right") - 1, 0, grid.size - 2)
        lo, hi = grid[i], grid[i + 1]
        frac = (u - cdf[i]) / np.maximum(cdf[i + 1] - cdf[i], 1e-300)
        t = lo + np.clip(frac, 0.0, 1.0) * (hi - lo)
        for _ in range(4):  # Newton on F(t) = u inside the bracket
            F = cdf[i] + _gauss_legendre(self._g, lo, t, self._shift) / self._z
            dens = np.exp(-(self._g(t) - self._shift)) / self._z
            step = np.where(dens > 0, (F - u) / np.where(dens > 0, dens, 1.0), 0.0)
            t = np.clip(t - step, lo, hi)
        return t.reshape(shape)

    # -- torch and MAP

    def log_density_torch(self, w):
        phi = self.torch_phi or self.phi
        d = w.shape[-1]
        return -self.rate * phi(w).sum(-1) - d * self.log_normaliser

    def pyro_dist(self, d: int):
        import torch

        phi = self.torch_phi or self.phi
        try:
            out = phi(torch.zeros(2, dtype=torch.float64, requires_grad=True))
            ok = isinstance(out, torch.Tensor) and out.shape == (2,) and out.requires_grad
        except Exception:  # noqa: BLE001
            ok = False
        if not ok:
            raise SpecError("φ does not compute on torch tensors (with gradients), which NUTS needs: pass "
                            "torch_phi=..., φ written with torch functions")
        return super().pyro_dist(d)

    def coordinate_penalty(self):
        return (self._g, self.mode) if self.convex else None

    def prox(self, v, t: float) -> np.ndarray:
        """Numerical proximal map, coordinate by coordinate (bounded Brent between v and φ's minimiser)."""
        if not self.convex:
            return super().prox(v, t)
        from scipy.optimize import minimize_scalar

        v = _as_array(v)
        out = np.empty_like(v)
        g = self._g
        for j, vj in np.ndenumerate(v):
            a, b = sorted((float(vj), self._mode))
            if a == b:
                out[j] = a
                continue
            scale = max(abs(a), abs(b), 1e-300)
            res = minimize_scalar(lambda x, vj=vj: 0.5 * (x - vj) ** 2 + t * float(g(np.array([x]))[0]),
                                  bounds=(a, b), method="bounded", options={"xatol": 1e-13 * scale})
            out[j] = res.x
        return out

    def canonical_lam(self, sigma: float) -> float:
        """λ = σ²k in ``½Σr² + λ Σφ(w_j)``."""
        return _positive(sigma, "sigma") ** 2 * self.rate

    def describe(self) -> str:
        return (f"custom separable prior on each w_j: p(w_j) = exp(−k·{self.label}(w_j)) / Z, k = λ/σ² = "
                f"{self.rate:.6g}, Z = {math.exp(self.log_normaliser):.6g} (numerical)")

    @property
    def statement(self) -> str:
        convex = ("you declared φ convex, so the MAP solvers take it" if self.convex else
                  "φ is not declared convex, so the MAP solvers refuse it (pass convex=True if it is)")
        return (f"The penalty λ Σ {self.label}(w_j) implies independent weights with density ∝ "
                f"exp(−(λ/σ²)·{self.label}(w_j)), normalised numerically; {convex}.")


# ------------------------------------------------------------------------------------------- from a penalty

def _guard_lam(canonical: float, lam: float, what: str) -> None:
    if canonical < 0:
        raise NoPriorError(
            f"a {what} penalty with negative strength λ={lam} implies no prior: exp(+{abs(lam)}·pen(w)) does not "
            "normalise (the objective rewards large weights); use λ > 0")
    if canonical == 0:
        raise ImproperPriorError(
            f"λ = 0 means no penalty: the implied prior is the improper flat density on w, not a {what} "
            "distribution; use λ > 0")


def derived_prior_from_penalty(penalty: str | Callable, lam: float, sigma: float, n: int | None = None,
                               convention: str | Convention = CANONICAL, *, l1_ratio: float | None = None,
                               d: int | None = None, groups=None, width: float | None = None,
                               convex: bool = False, torch_phi: Callable | None = None,
                               label: str | None = None) -> DerivedPrior:
    """The prior of ``penalty`` (a name in :data:`DERIVED_PENALTIES` or a callable φ); see
    :func:`bayesreg.priors.prior_from_penalty`, which calls this."""
    conv = get_convention(convention)
    sigma = _positive(sigma, "sigma (the noise standard deviation)")
    given = {"l1_ratio": l1_ratio, "d": d, "groups": groups, "width": width}
    wanted = {"elastic-net": {"l1_ratio"}, "l2-norm": {"d"}, "group-lasso": {"groups"}, "log": {"width"},
              "student-t": {"width"}}
    key = "custom" if callable(penalty) else penalty
    if key not in wanted and key != "custom":
        raise SpecError(f"unknown penalty {penalty!r}: use l2, l1, {', '.join(DERIVED_PENALTIES)} or a callable φ")
    extra = sorted(k for k, v in given.items() if v is not None and k not in wanted.get(key, set()))
    if extra:
        raise SpecError(f"the {key} penalty takes no {', '.join(extra)}")
    if key != "custom" and (convex or torch_phi is not None):
        raise SpecError("convex= and torch_phi= belong to a custom penalty φ")
    if key in wanted:
        missing = sorted(k for k in wanted[key] if given[k] is None)
        if missing:
            hints = {"l1_ratio": "l1_ratio (scikit-learn's ρ, 0 < ρ < 1)", "d": "d, the number of weights: the "
                     "prior of ‖w‖ depends on the dimension", "groups": "groups, the group sizes (e.g. (3, 3, 4))",
                     "width": "width c in log(1 + w²/c²)"}
            raise SpecError(f"the {key} penalty needs {hints[missing[0]]}")
    lam = _finite(lam, "lam")
    if key == "elastic-net":
        rho = _finite(l1_ratio, "l1_ratio")
        if not 0.0 < rho < 1.0:
            raise SpecError(f"l1_ratio must be strictly between 0 and 1 for an elastic net, got {rho}: l1_ratio = 1 "
                            "is the l1 penalty (Laplace prior), l1_ratio = 0 the l2 penalty (Gaussian prior)")
        lam1 = to_canonical_lam("l1", lam * rho, n, conv)
        lam2 = to_canonical_lam("l2", lam * (1.0 - rho), n, conv)
        _guard_lam(lam1, lam, "elastic-net")  # λ₁ and λ₂ have the sign of λ
        return _representable(lambda: ElasticNetPrior.from_canonical_lam(lam1, lam2, sigma), lam, sigma)
    canonical = general_canonical_lam(lam, n, conv)
    if key == "custom":
        _guard_lam(canonical, lam, "custom")
        return SeparablePrior(penalty, canonical / sigma**2, torch_phi=torch_phi, convex=convex,
                              label=label or getattr(penalty, "__name__", "φ").replace("<lambda>", "φ"))
    if key in ("log", "student-t"):
        return StudentTPrior.from_log_penalty(canonical, width, sigma)
    _guard_lam(canonical, lam, key)
    if key == "l2-norm":
        return _representable(lambda: L2NormPrior.from_canonical_lam(canonical, sigma, _dimension(d)), lam, sigma)
    return _representable(lambda: GroupLassoPrior.from_canonical_lam(canonical, sigma, groups), lam, sigma)


def _representable(make, lam, sigma):
    try:
        return make()
    except SpecError as exc:
        if "positive finite" not in str(exc):
            raise
        raise SpecError(
            f"λ = {lam:g} with σ = {sigma:g} implies a prior scale that is not a representable positive number "
            "(under- or overflow); check the units of λ and σ") from None
