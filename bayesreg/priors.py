r"""Priors on the weights, the bias and the noise scale, and the prior ↔ penalty conversion.

Priors on w (independent per coordinate), with the penalty each one is, times σ², in canonical form:

* :class:`Gaussian` ``N(0, τ²)``: :math:`-\log p(w) = \|w\|^2 / (2\tau^2) + \text{const}`, canonical
  :math:`\lambda = \sigma^2/\tau^2` (L2 weight decay);
* :class:`Laplace` with scale s, density :math:`e^{-|w|/s}/(2s)`: :math:`-\log p(w) = \|w\|_1/s + \text{const}`,
  canonical :math:`\lambda = \sigma^2/s` (L1, the lasso);
* :class:`ConjugateGaussian` ``w | σ ~ N(0, σ²/λ)``: the scale-free form, whose λ does not depend on σ
  (conjugate with an inverse-gamma prior on σ²).

:func:`prior_from_penalty` and :func:`penalty_from_prior` convert between a penalty in any
:mod:`~bayesreg.conventions` preset and the prior it implies. The bias ``b`` has a prior given by a
:class:`Bias` (none, flat, normal); σ is fixed or has a :class:`SigmaPrior` (half-normal, half-Cauchy, inverse
gamma on σ²). Both parse from the CLI's strings (``"normal:10"``, ``"invgamma:2,1"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .conventions import CANONICAL, Convention, from_canonical_lam, get_convention, to_canonical_lam
from .errors import ImproperPriorError, NoPriorError, SpecError
from .prior_base import Prior, ScaleMixture
from .validate import positive

__all__ = [
    "Gaussian",
    "Laplace",
    "ConjugateGaussian",
    "WeightPrior",
    "Penalty",
    "prior_from_penalty",
    "penalty_from_prior",
    "Bias",
    "parse_bias",
    "SigmaPrior",
    "ScalePrior",
    "HierarchicalPrior",
    "parse_sigma_prior",
    "positive",
    "PRIOR_KINDS",
    "CLI_PRIORS",
    "DERIVED_PRIOR_OPTIONS",
    "prior_from_options",
]

_LOG_2PI = math.log(2.0 * math.pi)


def _as_array(w) -> np.ndarray:
    return np.asarray(w, dtype=np.float64)


@dataclass(frozen=True)
class Gaussian(Prior):
    """Gaussian prior ``w_j ~ N(0, τ²)`` i.i.d.; τ is the prior standard deviation.

    .. math:: -\\log p(w) = \\frac{\\|w\\|_2^2}{2\\tau^2} + \\frac{d}{2}\\log(2\\pi\\tau^2)
    """

    tau: float
    penalty_kind: ClassVar[str] = "l2"
    name: ClassVar[str] = "gaussian"
    convex: ClassVar[bool] = True
    separable: ClassVar[bool] = True
    proximal: ClassVar[bool] = True

    def __post_init__(self):
        object.__setattr__(self, "tau", positive(self.tau, "tau (the prior standard deviation)"))

    @property
    def params(self) -> dict[str, float]:
        return {"tau": self.tau}

    @property
    def variance(self) -> float:
        return self.tau**2

    def penalty(self, w) -> float:
        """The w-dependent part of −log p(w): ``‖w‖² / (2τ²)``."""
        w = _as_array(w)
        return float(w @ w) / (2.0 * self.tau**2)

    def neg_log_density(self, w) -> float:
        """−log p(w), normalising constant included."""
        d = _as_array(w).size
        return self.penalty(w) + 0.5 * d * (_LOG_2PI + 2.0 * math.log(self.tau))

    def canonical_lam(self, sigma: float) -> float:
        """λ = σ²/τ² in ``½Σr² + (λ/2)‖w‖²``."""
        return positive(sigma, "sigma") ** 2 / self.tau**2

    @classmethod
    def from_canonical_lam(cls, lam: float, sigma: float) -> Gaussian:
        """The Gaussian prior whose canonical L2 strength is ``lam`` at noise sd ``sigma``: τ = σ/√λ."""
        return cls(positive(sigma, "sigma") / math.sqrt(positive(lam, "the canonical λ")))

    def log_density(self, w, *, sigma=None, tau=None) -> float:
        return -self.neg_log_density(w)

    def grad_log_density(self, w, *, sigma=None, tau=None) -> np.ndarray:
        return -_as_array(w) / self.tau**2

    def elementwise_penalty(self, sigma: float) -> tuple[float, float]:
        return 0.0, self.canonical_lam(sigma)

    def gaussian_conjugacy(self) -> str:
        return "fixed-sigma"

    def prox(self, v, t: float) -> np.ndarray:
        return _as_array(v) / (1.0 + t / self.tau**2)

    def pyro_dist(self, d: int, sigma=None, tau=None):
        """``Normal(0, τ)`` over ``d`` coordinates as one event, float64."""
        import torch
        from pyro import distributions as dist

        loc = torch.zeros(d, dtype=torch.float64)
        return dist.Normal(loc, torch.full_like(loc, self.tau)).to_event(1)

    def describe(self) -> str:
        return (f"Gaussian N(0, τ²) on each w_j, τ = {self.tau:.6g}: "
                f"p(w) = Π_j exp(−w_j² / (2τ²)) / √(2πτ²)")


@dataclass(frozen=True)
class Laplace(Prior):
    """Laplace prior with scale s, i.i.d.: density ``exp(−|w_j|/s) / (2s)``, variance ``2s²``.

    .. math:: -\\log p(w) = \\frac{\\|w\\|_1}{s} + d\\log(2s)
    """

    scale: float
    penalty_kind: ClassVar[str] = "l1"
    name: ClassVar[str] = "laplace"
    convex: ClassVar[bool] = True
    separable: ClassVar[bool] = True
    proximal: ClassVar[bool] = True

    def __post_init__(self):
        object.__setattr__(self, "scale", positive(self.scale, "scale (the Laplace scale s)"))

    @property
    def params(self) -> dict[str, float]:
        return {"scale": self.scale}

    @property
    def variance(self) -> float:
        return 2.0 * self.scale**2

    def penalty(self, w) -> float:
        """The w-dependent part of −log p(w): ``‖w‖₁ / s``."""
        return float(np.sum(np.abs(_as_array(w)))) / self.scale

    def neg_log_density(self, w) -> float:
        """−log p(w), normalising constant included."""
        d = _as_array(w).size
        return self.penalty(w) + d * math.log(2.0 * self.scale)

    def canonical_lam(self, sigma: float) -> float:
        """λ = σ²/s in ``½Σr² + λ‖w‖₁``."""
        return positive(sigma, "sigma") ** 2 / self.scale

    @classmethod
    def from_canonical_lam(cls, lam: float, sigma: float) -> Laplace:
        """The Laplace prior whose canonical L1 strength is ``lam`` at noise sd ``sigma``: s = σ²/λ."""
        return cls(positive(sigma, "sigma") ** 2 / positive(lam, "the canonical λ"))

    def log_density(self, w, *, sigma=None, tau=None) -> float:
        return -self.neg_log_density(w)

    def grad_log_density(self, w, *, sigma=None, tau=None) -> np.ndarray:
        return -np.sign(_as_array(w)) / self.scale

    def elementwise_penalty(self, sigma: float) -> tuple[float, float]:
        return self.canonical_lam(sigma), 0.0

    def scale_mixture(self) -> ScaleMixture:
        return ScaleMixture(scale=self.scale)

    def prox(self, v, t: float) -> np.ndarray:
        v = _as_array(v)
        return np.sign(v) * np.maximum(np.abs(v) - t / self.scale, 0.0)

    def pyro_dist(self, d: int, sigma=None, tau=None):
        """``Laplace(0, s)`` over ``d`` coordinates as one event, float64."""
        import torch
        from pyro import distributions as dist

        loc = torch.zeros(d, dtype=torch.float64)
        return dist.Laplace(loc, torch.full_like(loc, self.scale)).to_event(1)

    def describe(self) -> str:
        return (f"Laplace on each w_j, scale s = {self.scale:.6g} (sd {math.sqrt(self.variance):.6g}): "
                f"p(w) = Π_j exp(−|w_j| / s) / (2s)")


@dataclass(frozen=True)
class ConjugateGaussian(Prior):
    """Scale-free Gaussian prior ``w | σ ~ N(0, σ²/λ)``: canonical λ regardless of σ.

    With an inverse-gamma prior on σ² this is the conjugate Normal-Inverse-Gamma model; its penalty is
    ``(λ/2)‖w‖²`` in canonical form whatever σ is.
    """

    lam: float
    penalty_kind: ClassVar[str] = "l2"
    name: ClassVar[str] = "conjugate-gaussian"
    convex: ClassVar[bool] = True
    separable: ClassVar[bool] = True

    def __post_init__(self):
        object.__setattr__(self, "lam", positive(self.lam, "lam (the canonical L2 strength)"))

    @property
    def params(self) -> dict[str, float]:
        return {"lam": self.lam}

    def canonical_lam(self, sigma: float | None = None) -> float:
        return self.lam

    def given_sigma(self, sigma: float) -> Gaussian:
        """The prior on w conditional on σ: ``N(0, σ²/λ)``."""
        return Gaussian(positive(sigma, "sigma") / math.sqrt(self.lam))

    def conditional(self, *, sigma=None, tau=None) -> Prior:
        return self if sigma is None else self.given_sigma(sigma)

    @property
    def depends_on_sigma(self) -> bool:
        return True

    def log_density(self, w, *, sigma=None, tau=None) -> float:
        return self._given(sigma).log_density(w)

    def grad_log_density(self, w, *, sigma=None, tau=None) -> np.ndarray:
        return self._given(sigma).grad_log_density(w)

    def _given(self, sigma) -> Gaussian:
        if sigma is None:
            raise SpecError("the scale-free prior N(0, σ²/λ) needs σ for a density")
        return self.given_sigma(sigma)

    def elementwise_penalty(self, sigma: float) -> tuple[float, float]:
        return 0.0, self.lam

    def gaussian_conjugacy(self) -> str:
        return "sigma-scaled"

    def pyro_dist(self, d: int, sigma=None, tau=None):
        """``Normal(0, σ/√λ)`` over ``d`` coordinates; ``sigma`` may be a (batched) tensor."""
        import torch

        if sigma is None:
            raise SpecError("the scale-free prior N(0, σ²/λ) needs σ: pyro_dist(d, sigma=...)")
        from pyro import distributions as dist

        sigma = torch.as_tensor(sigma, dtype=torch.float64)
        scale = (sigma / math.sqrt(self.lam)).unsqueeze(-1).expand(*sigma.shape, d)
        return dist.Normal(torch.zeros_like(scale), scale).to_event(1)

    def describe(self) -> str:
        return f"Gaussian N(0, σ²/λ) on each w_j given σ, λ = {self.lam:.6g} (Normal-Inverse-Gamma form)"


@dataclass(frozen=True)
class HierarchicalPrior(Prior):
    """A Gaussian or Laplace prior on w whose scale τ (sd, or Laplace scale s) has a prior of its own.

    ``w_j | τ ~ N(0, τ²)`` or ``Laplace(0, τ)``, ``τ ~ scale_prior``: the penalty's λ = σ²/τ² (or σ²/τ) is then
    inferred with everything else. In the Pyro model τ is the site ``tau``.
    """

    family: str
    scale_prior: ScalePrior

    def __post_init__(self):
        if self.family not in ("gaussian", "laplace"):
            raise SpecError(f"a hierarchical prior is gaussian or laplace, got {self.family!r}")
        object.__setattr__(self, "scale_prior", parse_sigma_prior(self.scale_prior))

    @property
    def name(self) -> str:
        return f"{self.family} with τ ~ {self.scale_prior}"

    @property
    def penalty_kind(self) -> str:
        return "l2" if self.family == "gaussian" else "l1"

    separable: ClassVar[bool] = True

    def hyperpriors(self) -> dict:
        return {"tau": self.scale_prior}

    def conditional(self, *, sigma=None, tau=None) -> Prior:
        if tau is None:
            return self
        return Gaussian(tau) if self.family == "gaussian" else Laplace(tau)

    def log_density(self, w, *, sigma=None, tau=None) -> float:
        return self._given(tau).log_density(w)

    def grad_log_density(self, w, *, sigma=None, tau=None) -> np.ndarray:
        return self._given(tau).grad_log_density(w)

    def _given(self, tau) -> Prior:
        if tau is None:
            raise SpecError(f"the hierarchical {self.family} prior needs its scale τ for a density of w")
        return self.conditional(tau=tau)

    def scale_mixture(self) -> ScaleMixture | None:
        if self.family == "laplace" and self.scale_prior.kind == "invgamma":
            return ScaleMixture(scale_prior=tuple(self.scale_prior.params))
        return None

    def pyro_dist(self, d: int, sigma=None, tau=None):
        """``Normal(0, τ)`` or ``Laplace(0, τ)`` over ``d`` coordinates; ``tau`` may be a (batched) tensor."""
        import torch

        if tau is None:
            raise SpecError("a hierarchical prior needs its scale: pyro_dist(d, tau=...)")
        from pyro import distributions as dist

        tau = torch.as_tensor(tau, dtype=torch.float64)
        scale = tau.unsqueeze(-1).expand(*tau.shape, d)
        family = dist.Normal if self.family == "gaussian" else dist.Laplace
        return family(torch.zeros_like(scale), scale).to_event(1)

    def describe(self) -> str:
        what = "N(0, τ²)" if self.family == "gaussian" else "Laplace(0, τ)"
        return f"{what} on each w_j, with τ ~ {self.scale_prior} (λ inferred)"


WeightPrior = Gaussian | Laplace | ConjugateGaussian | HierarchicalPrior
_PRIOR_OF_PENALTY = {"l2": Gaussian, "l1": Laplace}


@dataclass(frozen=True)
class Penalty:
    """A penalty as a library writes it: ``kind`` (``"l2"`` or ``"l1"``) with strength ``lam`` in ``convention``."""

    kind: str
    lam: float
    convention: str

    def __float__(self) -> float:
        return self.lam


def prior_from_penalty(penalty, lam: float, sigma: float, n: int | None = None,
                       convention: str | Convention = CANONICAL, **options):
    """The prior on w that a penalty implies, at noise standard deviation ``sigma``.

    The penalised objective, divided to canonical form ``½Σr² + pen(w)``, is σ² times the negative log
    posterior of ``y ~ N(Xw + b, σ²)`` with ``p(w) ∝ exp(−pen(w)/σ²)``. Hence ``"l2"`` → ``Gaussian(τ)`` with
    τ = σ/√λ, and ``"l1"`` → ``Laplace(s)`` with s = σ²/λ (λ canonical). The other penalties give the priors of
    :mod:`bayesreg.derived_priors`:

    * ``"elastic-net"`` (``l1_ratio=ρ``; ``lam`` is scikit-learn's ``alpha``: L1 strength αρ, L2 strength
      α(1−ρ) in the convention) → :class:`~bayesreg.derived_priors.ElasticNetPrior`;
    * ``"l2-norm"``, the unsquared ``λ‖w‖`` of ``torch.norm(w)`` (``d=`` the number of weights) →
      :class:`~bayesreg.derived_priors.L2NormPrior`, a radial prior: not weight decay;
    * ``"group-lasso"``, ``λ Σ_g √p_g ‖w_g‖`` (``groups=`` the group sizes) →
      :class:`~bayesreg.derived_priors.GroupLassoPrior`;
    * ``"log"`` (alias ``"student-t"``), ``λ Σ log(1 + w_j²/c²)`` (``width=c``) →
      :class:`~bayesreg.derived_priors.StudentTPrior`, ν = 2λ/σ² − 1;
    * a callable φ, the separable penalty ``λ Σ φ(w_j)`` (``convex=``, ``torch_phi=``, ``label=``) →
      :class:`~bayesreg.derived_priors.SeparablePrior`, normalised numerically.

    A penalty added by hand to a library's loss (all but l2, l1 and the elastic net) has canonical strength
    λ_c/(2κ(n)), κ(n) the convention's loss scale (:func:`~bayesreg.derived_priors.general_canonical_lam`).

    Parameters
    ----------
    penalty
        ``"l2"`` (squared norm, weight decay), ``"l1"``, one of the names above, or a callable φ.
    lam
        The penalty's strength in ``convention`` (``alpha``, ``weight_decay``, ``lambd``...).
    sigma
        The noise standard deviation σ; λ means nothing without it.
    n
        Number of training rows; needed by conventions with a mean loss.
    convention
        A preset name from :data:`bayesreg.conventions.CONVENTIONS` or a :class:`Convention`.
    **options
        ``l1_ratio``, ``d``, ``groups``, ``width``, ``convex``, ``torch_phi``, ``label``, as above.

    Raises
    ------
    ImproperPriorError
        ``lam == 0``: the implied density is flat and improper; also a penalty that grows too slowly for
        ``exp(−pen/σ²)`` to be integrable (a log penalty with λ ≤ σ²/2, a bounded φ).
    NoPriorError
        ``lam < 0``: ``exp(+|λ| pen(w))`` cannot be normalised; no prior exists.

    Examples
    --------
    The weight-decay chapter of Dive into Deep Learning: λ = 3, mean loss over n = 20 rows, σ = 0.01

    >>> prior_from_penalty("l2", 3, sigma=0.01, n=20, convention="d2l").tau  # = 0.01/√60
    0.0012909944487358056

    scikit-learn's ``ElasticNet(alpha=0.1, l1_ratio=0.5)`` on 100 rows, σ = 1: λ₁ = λ₂ = 5 (canonical)

    >>> prior_from_penalty("elastic-net", 0.1, sigma=1.0, n=100, convention="sklearn_elasticnet", l1_ratio=0.5)
    ElasticNetPrior(scale=0.2, tau=0.4472135954999579)
    """
    if callable(penalty) or penalty not in _PRIOR_OF_PENALTY:
        from .derived_priors import derived_prior_from_penalty

        return derived_prior_from_penalty(penalty, lam, sigma, n, convention, **options)
    if options:
        raise SpecError(f"the {penalty} penalty takes no options, got {', '.join(sorted(options))}")
    conv = get_convention(convention)
    canonical = to_canonical_lam(penalty, lam, n, conv)
    sigma = positive(sigma, "sigma (the noise standard deviation)")
    if canonical < 0:
        raise NoPriorError(
            f"an {penalty.upper()} penalty with negative strength λ={lam} implies no prior: "
            f"exp(+{abs(lam)}·‖w‖) does not normalise (the objective rewards large weights); use λ > 0"
        )
    if canonical == 0:
        raise ImproperPriorError(
            f"λ = 0 means no penalty: the implied prior is the improper flat density on w, not a "
            f"{_PRIOR_OF_PENALTY[penalty].name} distribution; use λ > 0 (and with n < d the MAP is not unique)"
        )
    try:
        return _PRIOR_OF_PENALTY[penalty].from_canonical_lam(canonical, sigma)
    except SpecError:
        raise SpecError(
            f"λ = {lam:g} with σ = {sigma:g} implies a prior scale that is not a representable positive number "
            "(under- or overflow); check the units of λ and σ"
        ) from None


def penalty_from_prior(prior: WeightPrior, sigma: float | None = None, n: int | None = None,
                       convention: str | Convention = CANONICAL) -> Penalty:
    """The penalty (kind and strength in ``convention``) whose minimiser is the MAP under ``prior``.

    The inverse of :func:`prior_from_penalty`: ``Gaussian(τ)`` → L2 with canonical λ = σ²/τ²,
    ``Laplace(s)`` → L1 with canonical λ = σ²/s, then scaled to ``convention``.

    Examples
    --------
    >>> penalty_from_prior(Gaussian(0.1), sigma=1.0, n=50, convention="sklearn_ridge").lam
    99.99999999999999
    """
    conv = get_convention(convention)
    if not isinstance(prior, (Gaussian, Laplace, ConjugateGaussian)):
        raise SpecError(f"prior must be Gaussian, Laplace or ConjugateGaussian, got {type(prior).__name__}")
    if sigma is None and not isinstance(prior, ConjugateGaussian):
        raise SpecError("sigma is needed: the penalty's λ = σ²/τ² (or σ²/s) depends on the noise sd")
    canonical = prior.canonical_lam(sigma)
    return Penalty(prior.penalty_kind, from_canonical_lam(prior.penalty_kind, canonical, n, conv), conv.name)


# ---------------------------------------------------------------------------------------------- the bias

@dataclass(frozen=True)
class Bias:
    """Prior on the intercept b: ``"none"`` (b = 0), ``"flat"`` (improper uniform, i.e. unpenalised) or
    ``"normal"`` with standard deviation ``scale`` (i.e. b is penalised like a weight)."""

    kind: str = "flat"
    scale: float | None = None

    def __post_init__(self):
        if self.kind not in ("none", "flat", "normal"):
            raise SpecError(f"unknown bias {self.kind!r}: use none, flat or normal:SCALE")
        if self.kind == "normal":
            object.__setattr__(self, "scale", positive(self.scale, "the bias prior's scale"))
        elif self.scale is not None:
            raise SpecError(f"bias {self.kind!r} takes no scale; only normal:SCALE does")

    @property
    def present(self) -> bool:
        return self.kind != "none"

    def __str__(self) -> str:
        return f"normal:{self.scale:g}" if self.kind == "normal" else self.kind

    def pyro_dist(self):
        import torch
        from pyro import distributions as dist

        if self.kind == "flat":
            # Flat on the real line: a Normal whose log-density is masked to 0. Unlike ImproperUniform it can
            # be sampled, which Pyro's initialisation (NUTS, autoguides) needs; the draws, N(0, 1), are only
            # starting points. A prior predictive with a flat bias does not exist: use bias none or normal:S.
            zero = torch.tensor(0.0, dtype=torch.float64)
            return dist.Normal(zero, torch.ones_like(zero)).mask(False)
        if self.kind == "normal":
            return dist.Normal(torch.tensor(0.0, dtype=torch.float64), torch.tensor(self.scale, dtype=torch.float64))
        raise SpecError("bias 'none' has no distribution: b is fixed at 0")


def parse_bias(spec: str | Bias) -> Bias:
    """Parse ``"none"``, ``"flat"`` or ``"normal:SCALE"``."""
    if isinstance(spec, Bias):
        return spec
    if not isinstance(spec, str):
        raise SpecError(f"bias must be 'none', 'flat' or 'normal:SCALE', got {spec!r}")
    text = spec.strip().lower()
    if text.startswith("normal"):
        _, _, scale = text.partition(":")
        if not scale:
            raise SpecError(f"bias {spec!r} needs a scale: normal:SCALE, e.g. normal:10")
        return Bias("normal", _number(scale, spec))
    return Bias(text)


# ---------------------------------------------------------------------------------------------- the noise

_SIGMA_PRIORS = {"halfnormal": 1, "halfcauchy": 1, "invgamma": 2}


@dataclass(frozen=True)
class ScalePrior:
    """Prior on a positive scale: the noise sd σ, or the prior scale τ (or s) of the weights.

    ``halfnormal:S`` and ``halfcauchy:S`` are on the scale itself with scale S; ``invgamma:A,B`` is on its
    square (shape A, scale B: density ∝ (σ²)^(−A−1) exp(−B/σ²)), the conjugate choice. For the Laplace scale s,
    ``invgamma:r,δ`` on s² is a Gamma(r, rate δ) prior on 1/s², the Bayesian lasso's hyperprior on λ².
    """

    kind: str
    params: tuple[float, ...]

    def __post_init__(self):
        if self.kind not in _SIGMA_PRIORS:
            raise SpecError(
                f"unknown scale prior {self.kind!r}: use halfnormal:S, halfcauchy:S or invgamma:A,B"
            )
        if len(self.params) != _SIGMA_PRIORS[self.kind]:
            raise SpecError(f"scale prior {self.kind} takes {_SIGMA_PRIORS[self.kind]} parameter(s), "
                            f"got {len(self.params)}")
        object.__setattr__(self, "params", tuple(positive(p, f"{self.kind} parameter") for p in self.params))

    def log_density(self, x) -> float:
        """log p(x) of the scale on its own scale (for invgamma:A,B on x², the density of x: 2x·IG(x²; A, B))."""
        x = float(x)
        if not x > 0:
            return -math.inf
        p = self.params
        if self.kind == "halfnormal":
            return math.log(2.0) - 0.5 * _LOG_2PI - math.log(p[0]) - 0.5 * (x / p[0]) ** 2
        if self.kind == "halfcauchy":
            return math.log(2.0 / (math.pi * p[0])) - math.log1p((x / p[0]) ** 2)
        a, b = p
        return (math.log(2.0) + a * math.log(b) - math.lgamma(a) - (2.0 * a + 1.0) * math.log(x) - b / x**2)

    def __str__(self) -> str:
        return f"{self.kind}:{','.join(f'{p:g}' for p in self.params)}"

    def pyro_dist(self):
        """The distribution of the scale (for ``invgamma``, σ = √(σ²) with σ² ~ InverseGamma(A, B))."""
        import torch
        from pyro import distributions as dist
        from torch.distributions.transforms import PowerTransform

        p = [torch.tensor(v, dtype=torch.float64) for v in self.params]
        if self.kind == "halfnormal":
            return dist.HalfNormal(p[0])
        if self.kind == "halfcauchy":
            return dist.HalfCauchy(p[0])
        return dist.TransformedDistribution(dist.InverseGamma(p[0], p[1]),
                                            [PowerTransform(torch.tensor(0.5, dtype=torch.float64))])


#: The name the noise prior had first; every scale prior is a :class:`ScalePrior`.
SigmaPrior = ScalePrior


def parse_sigma_prior(spec: str | ScalePrior) -> ScalePrior:
    """Parse ``"halfnormal:S"``, ``"halfcauchy:S"`` or ``"invgamma:A,B"`` (a prior on σ, or on any scale)."""
    if isinstance(spec, ScalePrior):
        return spec
    kind, sep, rest = str(spec).strip().lower().partition(":")
    if not sep or not rest:
        raise SpecError(f"scale prior {spec!r} needs parameters: halfnormal:S, halfcauchy:S or invgamma:A,B")
    return SigmaPrior(kind, tuple(_number(p, spec) for p in rest.split(",")))


def _number(text: str, spec) -> float:
    try:
        return float(text)
    except ValueError:
        raise SpecError(f"{text!r} in {spec!r} is not a number") from None


# ------------------------------------------------------------------------------ from command-line options

PRIOR_KINDS = {"gaussian": "l2", "laplace": "l1", "l2": "l2", "l1": "l1"}

#: The priors a penalty other than L2/L1 implies (:mod:`bayesreg.derived_priors`), with the options each takes.
DERIVED_PRIOR_OPTIONS = {"elastic-net": ("l1_ratio",), "l2-norm": ("d",), "group-lasso": ("groups",),
                         "log": ("width",), "student-t": ("df", "scale")}

#: Every name ``--prior`` accepts.
CLI_PRIORS = ("gaussian", "laplace", "l2", "l1", *DERIVED_PRIOR_OPTIONS)

_FLAG = {"l1_ratio": "--l1-ratio", "d": "--d", "groups": "--groups", "width": "--width", "df": "--df",
         "scale": "--scale", "tau": "--tau", "lam": "--lam", "tau_prior": "--tau-prior"}


def _derived_from_options(kind: str, *, sigma, n, lam, convention, sigma_random: bool, **options):
    """A derived prior from the CLI's options: the same conversion ``bayesreg prior`` prints."""
    from .derived_priors import StudentTPrior

    wanted = DERIVED_PRIOR_OPTIONS[kind]
    stray = [k for k, v in options.items() if v is not None and k not in wanted]
    if stray:
        raise SpecError(f"{' and '.join(_FLAG[k] for k in stray)} do{'es' if len(stray) == 1 else ''} not apply "
                        f"to the {kind} prior (it takes {' '.join(_FLAG[k] for k in wanted)}"
                        f"{'' if kind == 'student-t' else ' and --lam'})")
    missing = [k for k in wanted if options.get(k) is None]
    if kind == "student-t":
        if lam is not None or missing:
            raise SpecError("student-t is the prior itself: give --df NU --scale S (not --lam); the penalty "
                            "λ Σ log(1 + w²/c²) is --prior log --lam L --width C")
        return StudentTPrior(options["df"], options["scale"])
    if lam is None or missing:
        need = (["--lam"] if lam is None else []) + [_FLAG[k] for k in missing]
        raise SpecError(f"the {kind} prior is a penalty: it needs {' and '.join(need)}")
    if sigma_random or sigma is None:
        raise SpecError(f"a {kind} penalty's λ fixes a prior only at a given σ (the prior is exp(−pen/σ²)): fix σ "
                        "with --sigma")
    return prior_from_penalty(kind, lam, sigma, n, convention or CANONICAL,
                              **{k: options[k] for k in wanted})


def prior_from_options(kind: str, *, sigma: float | None, n: int | None, tau: float | None = None,
                       scale: float | None = None, lam: float | None = None,
                       convention: str | Convention | None = None, tau_prior: str | ScalePrior | None = None,
                       sigma_random: bool = False, l1_ratio: float | None = None, d: int | None = None,
                       groups=None, width: float | None = None, df: float | None = None) -> Prior:
    """The prior on w given as the CLI gives it: ``--prior gaussian --tau T``, ``--prior laplace --scale S``,
    either with ``--lam L [--convention C]`` (a penalty, converted with σ and n), or ``--tau-prior SPEC`` (the
    scale gets a prior and λ is inferred). Exactly one way must be used.

    With σ random (``sigma_random``), ``--lam`` on a Gaussian prior means the scale-free
    ``w | σ ~ N(0, σ²/λ)`` (:class:`ConjugateGaussian`), whose λ does not depend on σ.

    The penalties of :mod:`bayesreg.derived_priors` take ``--lam`` with their own options, as ``bayesreg prior``
    does: ``elastic-net`` (``l1_ratio``), ``l2-norm`` (``d``), ``group-lasso`` (``groups``), ``log``
    (``width``); ``student-t`` is given as the prior (``df``, ``scale``).
    """
    if kind in DERIVED_PRIOR_OPTIONS:
        if tau is not None or tau_prior is not None:
            raise SpecError(f"--tau and --tau-prior are for the gaussian and laplace priors, not {kind}")
        if scale is not None and kind != "student-t":
            raise SpecError(f"--scale is for the laplace and student-t priors, not {kind}")
        return _derived_from_options(kind, sigma=sigma, n=n, lam=lam, convention=convention,
                                     sigma_random=sigma_random, l1_ratio=l1_ratio, d=d, groups=groups, width=width,
                                     df=df, scale=scale)
    if kind not in PRIOR_KINDS:
        raise SpecError(f"unknown prior {kind!r}: use one of {', '.join(CLI_PRIORS)}")
    stray = [name for name, v in (("l1_ratio", l1_ratio), ("groups", groups), ("width", width), ("df", df))
             if v is not None]
    if stray:
        raise SpecError(f"{' and '.join(_FLAG[k] for k in stray)} do{'es' if len(stray) == 1 else ''} not apply "
                        f"to the {kind} prior")
    kind = {"l2": "gaussian", "l1": "laplace"}.get(kind, kind)
    given = [name for name, v in (("--tau", tau), ("--scale", scale), ("--lam", lam), ("--tau-prior", tau_prior))
             if v is not None]
    if len(given) != 1:
        how = "--tau T" if kind == "gaussian" else "--scale S"
        raise SpecError(
            f"give the {kind} prior one way: {how}, --lam L [--convention C], or --tau-prior SPEC"
            + (f" (got {' and '.join(given)})" if given else "")
        )
    if convention is not None and lam is None:
        raise SpecError("--convention only applies to --lam")
    if (tau is not None and kind != "gaussian") or (scale is not None and kind != "laplace"):
        raise SpecError(f"--tau belongs to the gaussian prior and --scale to the laplace prior, not {kind}")
    if tau is not None:
        return Gaussian(tau)
    if scale is not None:
        return Laplace(scale)
    if tau_prior is not None:
        return HierarchicalPrior(kind, tau_prior)
    if sigma_random:
        if kind == "laplace":
            raise SpecError("with a prior on σ, --lam cannot fix a Laplace scale (s = σ²/λ moves with σ): "
                            "give --scale S, or fix σ with --sigma")
        canonical = to_canonical_lam("l2", lam, n, convention or CANONICAL)
        if canonical <= 0:
            raise NoPriorError(f"λ = {lam} implies no proper prior; use λ > 0")
        return ConjugateGaussian(canonical)
    if sigma is None:
        raise SpecError("--lam needs the noise sd: λ = σ²/τ² (or σ²/s) means nothing without σ; pass --sigma S")
    return prior_from_penalty(PRIOR_KINDS[kind], lam, sigma, n, convention or CANONICAL)
