r"""Global–local shrinkage priors: the horseshoe, the regularised horseshoe, the horseshoe+ and R2-D2.

Each is a Gaussian scale mixture **scaled by the noise sd σ** (as Carvalho, Polson & Scott 2010 and Makalic &
Schmidt 2016 write the horseshoe, so that the global scale is unit-free):

.. math::

    w_j \mid s_j, \sigma \sim N(0,\ \sigma^2 s_j^2), \qquad s_j = s_j(\text{latent scales}),

with the latent scales (one global, and one or two per weight) drawn from their priors:

* :class:`Horseshoe`: s_j = τλ_j, λ_j ~ C⁺(0, 1), τ ~ C⁺(0, τ₀); sites ``tau``, ``lambda``.
* :class:`RegularisedHorseshoe` (Piironen & Vehtari 2017): s_j = cτλ_j/√(c² + τ²λ_j²), c² ~ InvGamma(ν/2,
  νs²/2): the horseshoe inside the slab, N(0, σ²c²) far out; sites ``tau``, ``lambda``, ``c``.
* :class:`HorseshoePlus` (Bhadra et al. 2017): s_j = τλ_j, λ_j ~ C⁺(0, η_j), η_j ~ C⁺(0, 1); sites ``tau``,
  ``lambda``, ``eta``.
* :class:`R2D2` (Zhang et al. 2022, with the normal kernel as brms writes it): s_j² = γ_j/ξ, γ_j ~ Gamma(a/d, 1),
  ξ ~ Gamma(b, 1), so R² = ω/(1 + ω) ~ Beta(a, b) with ω = Σγ/ξ, split over the weights by φ = γ/Σγ ~ Dir(a/d);
  sites ``xi``, ``gamma``.

**None of them is a penalty with a λ.** −log p(w_j), marginally, is log-like: it grows only like 2 log|w| for
large weights (the horseshoe's tails fall as 1/w², so a large weight is barely shrunk), and for the horseshoe it
goes to −∞ at 0 (the density has a pole there), so the penalty is unbounded below and **no MAP exists**.
:meth:`ShrinkagePrior.marginal_density` computes the marginal of one weight (σ = 1) by averaging the normal
density over prior draws of its scale; :func:`horseshoe_log_density` is the horseshoe's closed form given τ.

**The capability back ends read** (:meth:`Prior.local_scales` returns the prior itself):

* ``sites``: the latent scales, each a :class:`LatentSite` (global: one value; local: one per weight);
* :meth:`log_scales` ``(u)`` and :meth:`log_scales_vjp`: log s (…, d) from the log latents ``u`` and the
  vector–Jacobian product of a cotangent on log s: the non-centred parametrisation w = σ s ⊙ z, z ~ N(0, I), that
  NUTS samples (:mod:`bayesreg.infer.shrinkage_nuts`);
* :meth:`latent_log_prior` ``(u)``: log p of the latents on the log scale (Jacobians included) and its gradient;
* :meth:`sample_latents`: prior draws; :meth:`derived`: quantities reported beside them (R² for R2-D2);
* :meth:`gibbs_updates`: the conditionally conjugate updates of the latents given w²/σ² (the horseshoe and the
  horseshoe+, by the inverse-gamma auxiliary variables of Makalic & Schmidt 2016), or None;
* :meth:`pyro_weights`: the same hierarchy as Pyro sample sites (the reference path, and prior predictive draws).

References: C. M. Carvalho, N. G. Polson & J. G. Scott (2010), *The horseshoe estimator for sparse signals*,
Biometrika 97(2); E. Makalic & D. F. Schmidt (2016), *A simple sampler for the horseshoe estimator*, IEEE SPL
23(1); J. Piironen & A. Vehtari (2017), *Sparsity information and regularization in the horseshoe and other
shrinkage priors*, EJS 11(2); A. Bhadra, J. Datta, N. G. Polson & B. Willard (2017), *The horseshoe+ estimator of
ultra-sparse signals*, Bayesian Analysis 12(4); Y. D. Zhang, B. P. Naughton, H. D. Bondell & B. J. Reich (2022),
*Bayesian regression using a prior on the model fit: the R2-D2 shrinkage prior*, JASA 117(538).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from .errors import SpecError
from .prior_base import Prior
from .validate import positive

__all__ = ["LatentSite", "ShrinkagePrior", "Horseshoe", "RegularisedHorseshoe", "HorseshoePlus", "R2D2",
           "horseshoe_log_density", "global_scale_for", "shrinkage_prior_from_options",
           "SHRINKAGE_PRIORS"]

_LOG_2_OVER_PI = math.log(2.0 / math.pi)


@dataclass(frozen=True)
class LatentSite:
    """One latent scale: ``name`` (the posterior's site), ``local`` (one per weight, else one value), and what it
    is, in words."""

    name: str
    local: bool
    description: str


def _half_cauchy_log(u, scale: float):
    """log p(x) + u for x = e^u ~ C⁺(0, scale) (the Jacobian e^u included), and its derivative in u."""
    t = 2.0 * (np.asarray(u, dtype=np.float64) - math.log(scale))
    value = _LOG_2_OVER_PI - math.log(scale) - np.logaddexp(0.0, t) + u
    return value, 1.0 - 2.0 * special.expit(t)


def _gamma_log(u, shape: float):
    """log p(x) + u for x = e^u ~ Gamma(shape, rate 1), and its derivative in u."""
    u = np.asarray(u, dtype=np.float64)
    x = np.exp(u)
    return shape * u - x - special.gammaln(shape), shape - x


def _inverse_gamma(rng: np.random.Generator, shape, rate):
    """InvGamma(shape, rate) draws: rate / Gamma(shape, 1) (for shape 1, the same exponential draws that
    ``standard_gamma(1.0)`` makes, without its per-element shape test)."""
    if isinstance(shape, float) and shape == 1.0:
        return rate / rng.standard_exponential(np.shape(rate))
    return rate / rng.standard_gamma(shape, size=np.shape(rate))


def _half_cauchy_draws(rng: np.random.Generator, shape, scale) -> np.ndarray:
    return np.abs(scale * rng.standard_cauchy(shape))


def global_scale_for(expected_nonzero: float, d: int, n: int) -> float:
    """Piironen & Vehtari's (2017) global scale τ₀ = p₀/(d − p₀) / √n for an expected p₀ non-zero weights of d
    (the σ of their formula is the prior's own scaling by σ here)."""
    p0 = positive(expected_nonzero, "the expected number of non-zero weights")
    if not p0 < d:
        raise SpecError(f"the expected number of non-zero weights must be below the number of weights d = {d}, "
                        f"got {expected_nonzero}")
    return p0 / (d - p0) / math.sqrt(n)


def horseshoe_log_density(w, scale) -> np.ndarray:
    r"""log p(w | t) elementwise for the horseshoe with overall scale t = στ, λ integrated out (closed form):

    .. math:: p(w \mid t) = \frac{1}{\sqrt{2\pi^3}\, t}\, e^{u} E_1(u), \qquad u = \frac{w^2}{2t^2},

    E₁ the exponential integral (Carvalho, Polson & Scott 2010, their Theorem 1's integral in closed form). It is
    +∞ at w = 0. For large u, e^u E₁(u) is taken from its continued fraction, where e^u overflows."""
    w = np.asarray(w, dtype=np.float64)
    t = np.asarray(scale, dtype=np.float64)
    u = 0.5 * (w / t) ** 2
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        small = u < 50.0
        ue = np.where(small, u, 50.0)
        log_eu_e1 = np.where(small, ue + np.log(special.exp1(ue)), 0.0)
        # e^u E₁(u) = 1/(u + 1/(1 + 1/(u + 2/(1 + 2/(u + …))))) for u ≥ 50: eight terms reach rounding
        big = np.where(small, 50.0, u)
        frac = big
        for k in range(8, 0, -1):
            frac = big + k / (1.0 + k / frac)
        log_eu_e1 = np.where(small, log_eu_e1, -np.log(frac))
    return -0.5 * math.log(2.0 * math.pi**3) - np.log(t) + log_eu_e1


class ShrinkagePrior(Prior):
    """Base of the global–local priors (module docstring): a Gaussian scale mixture w_j ~ N(0, σ²s_j²) whose
    scales are latent sites of the model. Subclasses define the sites, the scales and the latents' prior."""

    convex = False
    separable = False
    sites: tuple[LatentSite, ...] = ()

    # --------------------------------------------------------------------------- the Prior protocol

    @property
    def depends_on_sigma(self) -> bool:
        return True

    def local_scales(self) -> ShrinkagePrior:
        return self

    def pyro_dist(self, d: int, sigma=None, tau=None):
        raise SpecError(f"the {self.name} prior's density of w has no closed form given its global scale alone: "
                        "its latent scales are sampled with the weights (Pyro sites from pyro_weights)")

    def log_density(self, w, *, sigma=None, tau=None) -> float:
        raise SpecError(f"the {self.name} prior's density of w needs its latent scales: use log_density_given")

    def grad_log_density(self, w, *, sigma=None, tau=None) -> np.ndarray:
        raise SpecError(f"the {self.name} prior's density of w needs its latent scales")

    def log_density_given(self, w, latents: dict, sigma) -> np.ndarray:
        """log p(w | latents, σ) + log p(latents) on the latents' own (positive) scale, per draw: ``w`` (…, d),
        each latent (…,) or (…, d), σ a number or (…,). The joint prior density power-scaling reads."""
        w = np.asarray(w, dtype=np.float64)
        u = {site.name: np.log(np.asarray(latents[site.name], dtype=np.float64)) for site in self.sites}
        log_s = self.log_scales(u)
        sigma = np.asarray(sigma, dtype=np.float64)
        sd = np.exp(log_s) * (sigma[..., None] if sigma.ndim else sigma)
        log_w = (-0.5 * (w / sd) ** 2 - np.log(sd) - 0.5 * math.log(2.0 * math.pi)).sum(-1)
        lp, _ = self.latent_log_prior(u)
        jacobian = sum(u[s.name].sum(-1) if s.local else u[s.name] for s in self.sites)  # from log x back to x
        return log_w + lp - jacobian

    def top_level_log_prior(self, draws: dict) -> np.ndarray:
        """log p of the prior's top-level scales at each draw (the global scale τ's half-Cauchy, the slab's
        inverse gamma; R²'s Beta for R2-D2), on their own scale. Power-scaling sensitivity scales these only, as
        Kallioinen et al. (2023) advise for hierarchical priors: the local scales are an intermediate level."""
        lp = 0.0
        for site in self.sites:
            if not site.local:
                x = np.asarray(draws[site.name], dtype=np.float64)
                value, _ = self.latent_log_prior_of(site.name, np.log(x))
                lp = lp + value - np.log(x)
        return lp

    def latent_log_prior_of(self, name: str, u):
        """log p (on the log scale, Jacobian included) of the global site ``name`` alone, and its derivative."""
        raise NotImplementedError

    def reading(self, sigma=None, n=None, convention: str = "canonical") -> dict:
        return {"penalty": None, "reason": self.no_penalty_reason(),
                "statement": self.describe()}

    def no_penalty_reason(self) -> str:
        return (f"the {self.name} prior is a scale mixture with latent scales of its own: −log p(w_j) is log-like "
                "(near flat for large weights, steep near 0), so no single λ and no L1 or L2 penalty corresponds "
                "to it, and it has no posterior mode (the density is unbounded as a weight goes to 0)")

    def check_dimension(self, d: int) -> None:
        if d < 1:
            raise SpecError("a shrinkage prior needs at least one weight")

    # ------------------------------------------------------------------------ the local-scales capability

    def log_scales(self, u: dict) -> np.ndarray:
        """log s (…, d) from the log latents ``u`` ({name: (…,) or (…, d)})."""
        raise NotImplementedError

    def log_scales_vjp(self, u: dict, g: np.ndarray) -> dict:
        """The gradient of Σ_j g_j log s_j in each log latent (a global one summed over j)."""
        raise NotImplementedError

    def latent_log_prior(self, u: dict) -> tuple[np.ndarray, dict]:
        """log p(latents) on the log scale (Jacobians included), summed over a local site's weights, and its
        gradient in each log latent."""
        raise NotImplementedError

    def sample_latents(self, rng: np.random.Generator, shape: tuple[int, ...], d: int) -> dict:
        """Prior draws of the latents (positive values): global (shape), local (shape + (d,))."""
        raise NotImplementedError

    def derived(self, latents: dict) -> dict:
        """Quantities reported beside the latents (R² for R2-D2), from their draws; none by default."""
        return {}

    def gibbs_updates(self):
        """An object with ``start(rng, chains, d)``, ``update(rng, state, q)`` (q = w²/σ², (C, d)),
        ``variances(state)`` (s², (C, d)) and ``report(state)`` (the sites' values) when every latent has a
        conditionally conjugate update; None otherwise."""
        return None

    def pyro_weights(self, d: int, sigma):
        """Sample the latents and z ~ N(0, I) as Pyro sites and return w = σ s ⊙ z (site ``w``, deterministic)."""
        import pyro
        import torch
        from pyro import distributions as dist

        latents = self._pyro_latents(d)
        u = {k: torch.log(v) for k, v in latents.items()}
        s = torch.exp(self._torch_log_scales(u))
        z = pyro.sample("z", dist.Normal(torch.zeros(d, dtype=torch.float64), 1.0).to_event(1))
        sig = torch.as_tensor(1.0 if sigma is None else sigma, dtype=torch.float64)
        return pyro.deterministic("w", sig * s * z, event_dim=1)

    def sample_vectors(self, rng, shape, d, *, sigma=None, tau=None) -> np.ndarray:
        """Prior draws of w (σ = 1 unless given): the latents from their priors, then w = σ s ⊙ z."""
        shape = tuple(shape)
        latents = self.sample_latents(rng, shape, d)
        u = {k: np.log(v) for k, v in latents.items()}
        s = np.exp(self.log_scales(u))
        scale = 1.0 if sigma is None else np.asarray(sigma, dtype=np.float64)
        return scale * s * rng.standard_normal(shape + (d,))

    def marginal_density(self, x, *, d: int = 1, draws: int = 200_000, seed: int = 0) -> tuple[np.ndarray,
                                                                                                 np.ndarray]:
        """The prior density of one weight, every latent integrated out, at σ = 1: E_s[N(x | 0, s²)] over
        ``draws`` prior draws of its scale s (a Rao–Blackwellised Monte Carlo average, smooth in x). Returns the
        density and its Monte Carlo standard error. ``d`` matters only for R2-D2 (its Dirichlet is over d)."""
        rng = np.random.default_rng(seed)
        latents = self.sample_latents(rng, (draws,), max(int(d), 1))
        u = {k: np.log(v) for k, v in latents.items()}
        s = np.exp(self.log_scales(u)[:, 0])
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        out, err = np.empty(x.shape), np.empty(x.shape)
        for i, xi in enumerate(x):
            dens = np.exp(-0.5 * (xi / s) ** 2) / (s * math.sqrt(2.0 * math.pi))
            out[i] = dens.mean()
            err[i] = dens.std() / math.sqrt(draws)
        return out, err

    # ------------------------------------------------------------------------------------ to override

    def _pyro_latents(self, d: int) -> dict:
        raise NotImplementedError

    def _torch_log_scales(self, u: dict):
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def _check_tau_prior(spec, default: float) -> float:
    """The global scale τ₀ of ``τ ~ halfcauchy:τ₀`` (a number, or the CLI's ``halfcauchy:T0`` string)."""
    if spec is None:
        return default
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return positive(spec, "the global scale τ₀")
    from .priors import parse_sigma_prior

    parsed = parse_sigma_prior(spec)
    if parsed.kind != "halfcauchy":
        raise SpecError(f"the global scale of a horseshoe takes a half-Cauchy prior, halfcauchy:T0 (got {parsed}): "
                        "that is what makes it a horseshoe and what the Gibbs sampler's auxiliary variables need")
    return parsed.params[0]


class Horseshoe(ShrinkagePrior):
    r"""The horseshoe (Carvalho, Polson & Scott 2010): w_j ~ N(0, σ²τ²λ_j²), λ_j ~ C⁺(0, 1), τ ~ C⁺(0, τ₀).

    ``global_scale`` τ₀ (default 1, the original's and Makalic & Schmidt's): with Piironen & Vehtari's advice,
    τ₀ = p₀/(d − p₀)/√n for p₀ expected non-zero weights (:func:`global_scale_for`)."""

    name = "horseshoe"
    sites = (LatentSite("tau", False, "global scale τ"), LatentSite("lambda", True, "local scales λ_j"))

    def __init__(self, global_scale: float | str | None = None):
        self.global_scale = _check_tau_prior(global_scale, 1.0)

    @property
    def params(self) -> dict:
        return {"global_scale": self.global_scale}

    def describe(self) -> str:
        return f"horseshoe: w_j ~ N(0, σ²τ²λ_j²), λ_j ~ C⁺(0, 1), τ ~ C⁺(0, {self.global_scale:g})"

    def log_scales(self, u):
        return np.asarray(u["tau"])[..., None] + u["lambda"]

    def log_scales_vjp(self, u, g):
        return {"tau": g.sum(-1), "lambda": g}

    def latent_log_prior(self, u):
        lt, gt = _half_cauchy_log(u["tau"], self.global_scale)
        ll, gl = _half_cauchy_log(u["lambda"], 1.0)
        return lt + ll.sum(-1), {"tau": gt, "lambda": gl}

    def sample_latents(self, rng, shape, d):
        shape = tuple(shape)
        return {"tau": _half_cauchy_draws(rng, shape, self.global_scale),
                "lambda": _half_cauchy_draws(rng, shape + (d,), 1.0)}

    def latent_log_prior_of(self, name, u):
        return _half_cauchy_log(u, self.global_scale)

    def log_density(self, w, *, sigma=None, tau=None) -> float:
        """log p(w | σ, τ) with the λ_j integrated out (:func:`horseshoe_log_density`)."""
        if tau is None:
            raise SpecError("the horseshoe's density of w in closed form is given its global scale: pass tau")
        return float(horseshoe_log_density(w, (1.0 if sigma is None else sigma) * tau).sum())

    def gibbs_updates(self):
        return _HorseshoeGibbs(self, plus=False)

    def marginal_density(self, x, *, d: int = 1, draws: int = 0, seed: int = 0):
        """The density of one weight at σ = 1 with λ and τ integrated out: the closed form given τ
        (:func:`horseshoe_log_density`) integrated over τ ~ C⁺(0, τ₀) by the trapezoid rule in v = log τ on
        4001 nodes over log τ₀ ± 40 (the integrand is smooth in v and decays at both ends, so the rule converges
        geometrically: within 1e-9 of adaptive quadrature, tested). +∞ at 0. Returns the density and a zero
        Monte Carlo error, for the same signature as the other priors' estimate."""
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        v = math.log(self.global_scale) + np.linspace(-40.0, 40.0, 4001)
        t = np.exp(v)
        log_prior_v = _half_cauchy_log(v, self.global_scale)[0]  # log p(τ) + log τ: the density in v
        out = np.empty(x.shape)
        for i, xi in enumerate(x):
            if xi == 0:
                out[i] = math.inf
                continue
            f = np.exp(horseshoe_log_density(xi, t) + log_prior_v)
            out[i] = float(np.sum(0.5 * (f[1:] + f[:-1])) * (v[1] - v[0]))
        return out, np.zeros(x.shape)

    def _pyro_latents(self, d):
        import pyro
        import torch
        from pyro import distributions as dist

        tau = pyro.sample("tau", dist.HalfCauchy(torch.tensor(self.global_scale, dtype=torch.float64)))
        lam = pyro.sample("lambda", dist.HalfCauchy(torch.ones(d, dtype=torch.float64)).to_event(1))
        return {"tau": tau, "lambda": lam}

    def _torch_log_scales(self, u):
        return u["tau"].unsqueeze(-1) + u["lambda"]


class HorseshoePlus(Horseshoe):
    r"""The horseshoe+ (Bhadra et al. 2017): w_j ~ N(0, σ²τ²λ_j²), λ_j ~ C⁺(0, η_j), η_j ~ C⁺(0, 1),
    τ ~ C⁺(0, τ₀): a second half-Cauchy layer that puts more mass near 0 and in the tails."""

    name = "horseshoe+"
    sites = (LatentSite("tau", False, "global scale τ"), LatentSite("lambda", True, "local scales λ_j"),
             LatentSite("eta", True, "the local scales' scales η_j"))

    def describe(self) -> str:
        return (f"horseshoe+: w_j ~ N(0, σ²τ²λ_j²), λ_j ~ C⁺(0, η_j), η_j ~ C⁺(0, 1), "
                f"τ ~ C⁺(0, {self.global_scale:g})")

    def latent_log_prior(self, u):
        lt, gt = _half_cauchy_log(u["tau"], self.global_scale)
        ue, ul = u["eta"], u["lambda"]
        t = 2.0 * (ul - ue)
        ll = _LOG_2_OVER_PI - ue - np.logaddexp(0.0, t) + ul  # λ ~ C⁺(0, η), on log λ
        sig = special.expit(t)
        le, ge = _half_cauchy_log(ue, 1.0)
        return lt + (ll + le).sum(-1), {"tau": gt, "lambda": 1.0 - 2.0 * sig, "eta": -1.0 + 2.0 * sig + ge}

    def sample_latents(self, rng, shape, d):
        shape = tuple(shape)
        eta = _half_cauchy_draws(rng, shape + (d,), 1.0)
        return {"tau": _half_cauchy_draws(rng, shape, self.global_scale),
                "lambda": _half_cauchy_draws(rng, shape + (d,), 1.0) * eta, "eta": eta}

    def log_density(self, w, *, sigma=None, tau=None) -> float:
        raise SpecError("the horseshoe+ density of w has no closed form: its latent scales are sampled")

    marginal_density = ShrinkagePrior.marginal_density

    def gibbs_updates(self):
        return _HorseshoeGibbs(self, plus=True)

    def _pyro_latents(self, d):
        import pyro
        import torch
        from pyro import distributions as dist

        tau = pyro.sample("tau", dist.HalfCauchy(torch.tensor(self.global_scale, dtype=torch.float64)))
        eta = pyro.sample("eta", dist.HalfCauchy(torch.ones(d, dtype=torch.float64)).to_event(1))
        lam = pyro.sample("lambda", dist.HalfCauchy(eta).to_event(1))
        return {"tau": tau, "lambda": lam, "eta": eta}


class RegularisedHorseshoe(ShrinkagePrior):
    r"""The regularised ("Finnish") horseshoe (Piironen & Vehtari 2017):

    .. math:: w_j \sim N(0, \sigma^2\tau^2\tilde\lambda_j^2), \quad
              \tilde\lambda_j^2 = \frac{c^2\lambda_j^2}{c^2 + \tau^2\lambda_j^2}, \quad
              \lambda_j \sim C^+(0, 1), \quad \tau \sim C^+(0, \tau_0), \quad
              c^2 \sim \mathrm{InvGamma}(\nu/2, \nu s^2/2):

    a horseshoe for weights well inside the slab, N(0, σ²c²) for large ones (a Student-t_ν(0, s) slab on them
    marginally), so no weight escapes all shrinkage. The slab scale s is **in units of σ** like everything here
    (brms's ``scale_slab``, in units of w, is s·σ when σ is fixed). τ₀ from an expected number of non-zero weights
    p₀: :meth:`from_expected_nonzero`."""

    name = "regularised horseshoe"
    sites = (LatentSite("tau", False, "global scale τ"), LatentSite("lambda", True, "local scales λ_j"),
             LatentSite("c", False, "slab scale c"))

    def __init__(self, global_scale: float | str | None = None, slab_scale: float = 2.0, slab_df: float = 4.0):
        self.global_scale = _check_tau_prior(global_scale, 1.0)
        self.slab_scale = positive(slab_scale, "the slab scale")
        self.slab_df = positive(slab_df, "the slab's degrees of freedom")

    @classmethod
    def from_expected_nonzero(cls, expected_nonzero: float, d: int, n: int, slab_scale: float = 2.0,
                              slab_df: float = 4.0) -> RegularisedHorseshoe:
        """τ₀ = p₀/(d − p₀)/√n (Piironen & Vehtari 2017, their eq. 3.12 with σ taken out)."""
        return cls(global_scale_for(expected_nonzero, d, n), slab_scale, slab_df)

    @property
    def params(self) -> dict:
        return {"global_scale": self.global_scale, "slab_scale": self.slab_scale, "slab_df": self.slab_df}

    def describe(self) -> str:
        return (f"regularised horseshoe: w_j ~ N(0, σ²τ²λ̃_j²), λ̃_j² = c²λ_j²/(c² + τ²λ_j²), λ_j ~ C⁺(0, 1), "
                f"τ ~ C⁺(0, {self.global_scale:g}), c² ~ InvGamma({self.slab_df:g}/2, "
                f"{self.slab_df:g}·{self.slab_scale:g}²/2)")

    def log_scales(self, u):
        la = np.asarray(u["tau"])[..., None] + u["lambda"]
        return la - 0.5 * np.logaddexp(0.0, 2.0 * (la - np.asarray(u["c"])[..., None]))

    def log_scales_vjp(self, u, g):
        la = np.asarray(u["tau"])[..., None] + u["lambda"]
        sig = special.expit(2.0 * (la - np.asarray(u["c"])[..., None]))
        ga = g * (1.0 - sig)
        return {"tau": ga.sum(-1), "lambda": ga, "c": (g * sig).sum(-1)}

    def latent_log_prior(self, u):
        lt, gt = _half_cauchy_log(u["tau"], self.global_scale)
        ll, gl = _half_cauchy_log(u["lambda"], 1.0)
        alpha, beta = 0.5 * self.slab_df, 0.5 * self.slab_df * self.slab_scale**2
        uc = np.asarray(u["c"], dtype=np.float64)
        e = np.exp(-2.0 * uc)
        lc = alpha * math.log(beta) - special.gammaln(alpha) + math.log(2.0) - 2.0 * alpha * uc - beta * e
        return lt + ll.sum(-1) + lc, {"tau": gt, "lambda": gl, "c": -2.0 * alpha + 2.0 * beta * e}

    def sample_latents(self, rng, shape, d):
        shape = tuple(shape)
        alpha, beta = 0.5 * self.slab_df, 0.5 * self.slab_df * self.slab_scale**2
        return {"tau": _half_cauchy_draws(rng, shape, self.global_scale),
                "lambda": _half_cauchy_draws(rng, shape + (d,), 1.0),
                "c": np.sqrt(_inverse_gamma(rng, alpha, np.full(shape, beta)))}

    def latent_log_prior_of(self, name, u):
        if name == "tau":
            return _half_cauchy_log(u, self.global_scale)
        alpha, beta = 0.5 * self.slab_df, 0.5 * self.slab_df * self.slab_scale**2
        e = np.exp(-2.0 * np.asarray(u, dtype=np.float64))
        return (alpha * math.log(beta) - special.gammaln(alpha) + math.log(2.0) - 2.0 * alpha * u - beta * e,
                -2.0 * alpha + 2.0 * beta * e)

    def _pyro_latents(self, d):
        import pyro
        import torch
        from pyro import distributions as dist
        from torch.distributions.transforms import PowerTransform

        f64 = torch.float64
        tau = pyro.sample("tau", dist.HalfCauchy(torch.tensor(self.global_scale, dtype=f64)))
        lam = pyro.sample("lambda", dist.HalfCauchy(torch.ones(d, dtype=f64)).to_event(1))
        alpha, beta = 0.5 * self.slab_df, 0.5 * self.slab_df * self.slab_scale**2
        c = pyro.sample("c", dist.TransformedDistribution(
            dist.InverseGamma(torch.tensor(alpha, dtype=f64), torch.tensor(beta, dtype=f64)),
            [PowerTransform(torch.tensor(0.5, dtype=f64))]))
        return {"tau": tau, "lambda": lam, "c": c}

    def _torch_log_scales(self, u):
        import torch

        la = u["tau"].unsqueeze(-1) + u["lambda"]
        return la - 0.5 * torch.nn.functional.softplus(2.0 * (la - u["c"].unsqueeze(-1)))


class R2D2(ShrinkagePrior):
    r"""R2-D2 (Zhang et al. 2022), with the normal kernel: a prior on the model's R² spread over the weights.

    .. math:: w_j \sim N(0, \sigma^2\omega\phi_j), \quad \omega = \frac{R^2}{1 - R^2}, \quad
              R^2 \sim \mathrm{Beta}(a, b), \quad \phi \sim \mathrm{Dirichlet}(a/d, \dots, a/d),

    written without the simplex as ωφ_j = γ_j/ξ with γ_j ~ Gamma(a/d, 1) and ξ ~ Gamma(b, 1) independent (Σγ ~
    Gamma(a) and φ = γ/Σγ, so ω = Σγ/ξ ~ BetaPrime(a, b)): sites ``xi`` and ``gamma``; ``r2`` and ``phi`` are
    reported beside them. For standardised columns R² is the prior's share of the variance of y the weights
    explain. Zhang et al.'s main prior puts a Laplace kernel where this has a normal one (brms's ``R2D2`` uses
    the normal kernel too). Defaults a = b = 1: R² uniform on (0, 1)."""

    name = "r2-d2"
    sites = (LatentSite("xi", False, "ξ: ω = Σγ/ξ"), LatentSite("gamma", True, "γ_j: ωφ_j = γ_j/ξ"))

    def __init__(self, r2_a: float = 1.0, r2_b: float = 1.0):
        self.r2_a = positive(r2_a, "R²'s Beta parameter a")
        self.r2_b = positive(r2_b, "R²'s Beta parameter b")

    @classmethod
    def from_mean(cls, mean_r2: float, precision: float) -> R2D2:
        """R² ~ Beta(μκ, (1 − μ)κ): prior mean μ and precision κ (brms's ``mean_R2``, ``prec_R2``)."""
        if not 0.0 < mean_r2 < 1.0:
            raise SpecError(f"the prior mean of R² must be in (0, 1), got {mean_r2}")
        k = positive(precision, "the precision of R²'s prior")
        return cls(mean_r2 * k, (1.0 - mean_r2) * k)

    @property
    def params(self) -> dict:
        return {"r2_a": self.r2_a, "r2_b": self.r2_b}

    def describe(self) -> str:
        return (f"R2-D2: w_j ~ N(0, σ²ωφ_j), ω = R²/(1 − R²), R² ~ Beta({self.r2_a:g}, {self.r2_b:g}), "
                f"φ ~ Dirichlet({self.r2_a:g}/d)")

    def _shape(self, d: int) -> float:
        return self.r2_a / d

    def log_scales(self, u):
        return 0.5 * (u["gamma"] - np.asarray(u["xi"])[..., None])

    def log_scales_vjp(self, u, g):
        return {"xi": -0.5 * g.sum(-1), "gamma": 0.5 * g}

    def latent_log_prior(self, u):
        d = np.shape(u["gamma"])[-1]
        lx, gx = _gamma_log(u["xi"], self.r2_b)
        lg, gg = _gamma_log(u["gamma"], self._shape(d))
        return lx + lg.sum(-1), {"xi": gx, "gamma": gg}

    def sample_latents(self, rng, shape, d):
        """Prior draws of ξ and γ; with a tiny shape a/d a Gamma draw can underflow to 0, which is kept at the
        smallest positive float instead (its log is then finite; the weight it scales is 0 to rounding either
        way)."""
        shape = tuple(shape)
        tiny = np.finfo(np.float64).tiny
        return {"xi": np.maximum(rng.standard_gamma(self.r2_b, size=shape), tiny),
                "gamma": np.maximum(rng.standard_gamma(self._shape(d), size=shape + (d,)), tiny)}

    def no_penalty_reason(self) -> str:
        return ("the r2-d2 prior is a scale mixture with latent scales of its own: −log p(w_j) is log-like, so no "
                "single λ and no L1 or L2 penalty corresponds to it, and no posterior mode is reported (the joint "
                "density of a weight and its scale γ_j is unbounded at w_j = 0, γ_j → 0 when a/d < ½, and its "
                "marginal mode is not computed); its R² reads as the share of variance only for standardised "
                "columns (--standardize)")

    def top_level_log_prior(self, draws):
        """log Beta(R²; a, b) at each draw's R² (the prior on the model fit this prior is built from)."""
        r2 = self.derived(draws)["r2"]
        from scipy import stats

        return stats.beta(self.r2_a, self.r2_b).logpdf(r2)

    def derived(self, latents):
        gamma = np.asarray(latents["gamma"], dtype=np.float64)
        total = gamma.sum(-1)
        omega = total / np.asarray(latents["xi"], dtype=np.float64)
        return {"r2": omega / (1.0 + omega), "phi": gamma / total[..., None]}

    def _pyro_latents(self, d):
        import pyro
        import torch
        from pyro import distributions as dist

        f64 = torch.float64
        xi = pyro.sample("xi", dist.Gamma(torch.tensor(self.r2_b, dtype=f64), torch.tensor(1.0, dtype=f64)))
        gamma = pyro.sample("gamma", dist.Gamma(torch.full((d,), self._shape(d), dtype=f64),
                                                torch.ones(d, dtype=f64)).to_event(1))
        return {"xi": xi, "gamma": gamma}

    def _torch_log_scales(self, u):
        return 0.5 * (u["gamma"] - u["xi"].unsqueeze(-1))


class _HorseshoeGibbs:
    r"""The horseshoe's (and horseshoe+'s) latent updates of Makalic & Schmidt (2016), all chains at once.

    Each half-Cauchy is an inverse-gamma mixture: x ~ C⁺(0, A) ⇔ x² | a ~ IG(½, 1/a), a ~ IG(½, 1/A²). With
    q_j = w_j²/σ² the full conditionals are inverse gamma:

    * λ_j² ~ IG(1, 1/ν_j + q_j/(2τ²)),   ν_j ~ IG(1, 1/η_j² + 1/λ_j²)   (η_j = 1 for the horseshoe);
    * horseshoe+ only: η_j² ~ IG(1, 1/ν_j + 1/ρ_j),   ρ_j ~ IG(1, 1 + 1/η_j²);
    * τ² ~ IG((d + 1)/2, 1/ξ + Σ_j q_j/(2λ_j²)),   ξ ~ IG(1, 1/τ₀² + 1/τ²).
    """

    def __init__(self, prior: Horseshoe, plus: bool):
        self.prior, self.plus = prior, plus

    def start(self, rng, chains: int, d: int) -> dict:
        spread = np.exp(rng.uniform(-1.0, 1.0, size=(chains, d)))
        state = {"lambda2": spread, "nu": np.ones((chains, d)),
                 "tau2": (self.prior.global_scale * np.exp(rng.uniform(-1.0, 1.0, size=chains))) ** 2,
                 "xi": np.ones(chains)}
        if self.plus:
            state.update(eta2=np.ones((chains, d)), rho=np.ones((chains, d)))
        return state

    def update(self, rng, state: dict, q: np.ndarray) -> dict:
        tau2 = state["tau2"]
        lam2 = _inverse_gamma(rng, 1.0, 1.0 / state["nu"] + q / (2.0 * tau2[:, None]))
        eta2 = state.get("eta2")
        nu = _inverse_gamma(rng, 1.0, (1.0 if eta2 is None else 1.0 / eta2) + 1.0 / lam2)
        out = {"lambda2": lam2, "nu": nu}
        if self.plus:
            eta2 = _inverse_gamma(rng, 1.0, 1.0 / nu + 1.0 / state["rho"])
            out.update(eta2=eta2, rho=_inverse_gamma(rng, 1.0, 1.0 + 1.0 / eta2))
        d = q.shape[1]
        tau2 = _inverse_gamma(rng, 0.5 * (d + 1), 1.0 / state["xi"] + (q / lam2).sum(1) / 2.0)
        out.update(tau2=tau2, xi=_inverse_gamma(rng, 1.0, 1.0 / self.prior.global_scale**2 + 1.0 / tau2))
        return out

    @staticmethod
    def variances(state: dict) -> np.ndarray:
        return state["tau2"][:, None] * state["lambda2"]

    @staticmethod
    def global_variance(state: dict) -> np.ndarray:
        """τ² per chain: the variances are τ²λ_j²."""
        return state["tau2"]

    def global_log_prior(self, tau2: np.ndarray) -> np.ndarray:
        """log p(log τ²) + const under τ ~ C⁺(0, τ₀), ξ integrated out: ½ log τ² − log(1 + τ²/τ₀²)."""
        return 0.5 * np.log(tau2) - np.log1p(tau2 / self.prior.global_scale**2)

    def set_global_variance(self, rng, state: dict, tau2: np.ndarray) -> None:
        """τ² ← ``tau2`` (drawn with ξ integrated out), then ξ | τ ~ IG(1, 1/τ₀² + 1/τ²)."""
        state["tau2"] = tau2
        state["xi"] = _inverse_gamma(rng, 1.0, 1.0 / self.prior.global_scale**2 + 1.0 / tau2)

    @staticmethod
    def local_variance(state: dict, j: int) -> np.ndarray:
        return state["lambda2"][:, j]

    @staticmethod
    def set_local_variance(state: dict, j: int, value: np.ndarray) -> None:
        state["lambda2"][:, j] = value

    @staticmethod
    def local_prior_rate(state: dict) -> np.ndarray:
        """b_j (C, d) with λ_j² | the other latents ~ IG(½, b_j): b_j = 1/ν_j."""
        return 1.0 / state["nu"]

    def report(self, state: dict) -> dict:
        out = {"tau": np.sqrt(state["tau2"]), "lambda": np.sqrt(state["lambda2"])}
        if self.plus:
            out["eta"] = np.sqrt(state["eta2"])
        return out


def shrinkage_prior_from_options(kind: str, *, n: int, d: int, tau_prior=None, expected_nonzero=None,
                                 slab_scale=None, slab_df=None, r2_prior=None) -> ShrinkagePrior:
    """The prior the CLI's options give: ``--tau-prior halfcauchy:T0`` or ``--expected-nonzero P0`` (τ₀ =
    p₀/(d − p₀)/√n) for the horseshoes, ``--slab-scale``/``--slab-df`` for the regularised one, ``--r2-prior
    beta:A,B`` for R2-D2; options that do not apply are refused by name."""
    given = {"--tau-prior": tau_prior, "--expected-nonzero": expected_nonzero, "--slab-scale": slab_scale,
             "--slab-df": slab_df, "--r2-prior": r2_prior}
    allowed = {"horseshoe": ("--tau-prior", "--expected-nonzero"), "horseshoe+": ("--tau-prior", "--expected-nonzero"),
               "regularised-horseshoe": ("--tau-prior", "--expected-nonzero", "--slab-scale", "--slab-df"),
               "r2-d2": ("--r2-prior",)}[kind]
    stray = [flag for flag, v in given.items() if v is not None and flag not in allowed]
    if stray:
        raise SpecError(f"{' and '.join(stray)} do{'es' if len(stray) == 1 else ''} not apply to the {kind} prior "
                        f"(it takes {', '.join(allowed)})")
    if kind == "r2-d2":
        if r2_prior is None:
            return R2D2()
        family, sep, rest = str(r2_prior).strip().lower().partition(":")
        try:
            a, b = (float(v) for v in rest.split(","))
        except ValueError:
            a = b = None
        if family != "beta" or not sep or a is None:
            raise SpecError(f"--r2-prior takes beta:A,B (R² ~ Beta(A, B)), got {r2_prior!r}")
        return R2D2(a, b)
    if tau_prior is not None and expected_nonzero is not None:
        raise SpecError("give the global scale one way: --tau-prior halfcauchy:T0 or --expected-nonzero P0")
    scale = global_scale_for(expected_nonzero, d, n) if expected_nonzero is not None else tau_prior
    if kind == "regularised-horseshoe":
        return RegularisedHorseshoe(scale, 2.0 if slab_scale is None else slab_scale,
                                    4.0 if slab_df is None else slab_df)
    return SHRINKAGE_PRIORS[kind](scale)


#: The CLI's names for these priors.
SHRINKAGE_PRIORS = {"horseshoe": Horseshoe, "regularised-horseshoe": RegularisedHorseshoe,
                    "horseshoe+": HorseshoePlus, "r2-d2": R2D2}
