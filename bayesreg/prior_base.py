r"""The one protocol every prior on the weights implements, and the capabilities back ends may ask of it.

A prior on w ∈ ℝᵈ is a density p(w | σ, τ) that may depend on the noise scale σ (the scale-free
``w | σ ~ N(0, σ²/λ)``) and on a scale τ with a prior of its own (a hierarchical prior). Every prior gives

* :meth:`Prior.log_density` and :meth:`Prior.grad_log_density`: log p(w | σ, τ), normalised, and its gradient
  in w, in NumPy (no framework);
* :meth:`Prior.pyro_dist` ``(d, sigma=None, tau=None)``: the same density as a Pyro distribution with one event
  of size d (one signature for every prior; ``sigma`` and ``tau`` may be batched tensors);
* :meth:`Prior.sample_vectors` ``(rng, shape, d)``: prior draws of whole weight vectors;
* :meth:`Prior.reading`: the prior read as a penalty, λ in every convention or the reason no penalty reading
  exists (what ``bayesreg prior`` prints);
* :meth:`Prior.conditional`: the prior with σ and τ fixed (a prior with no hyper-parameters);
* :meth:`Prior.hyperpriors`: the sites with priors of their own (``{"tau": ScalePrior}`` for a hierarchical
  prior).

and, as optional capabilities, which back ends query instead of asking which class a prior is:

* :meth:`Prior.elementwise_penalty` ``(sigma)``: ``(λ₁, λ₂)`` with −σ² log p(w) = λ₁‖w‖₁ + (λ₂/2)‖w‖² + const,
  or None (ridge, lasso and elastic-net solvers; the closed-form potential);
* :meth:`Prior.gaussian_conjugacy`: ``"fixed-sigma"`` (Gaussian with σ fixed gives a Gaussian posterior),
  ``"sigma-scaled"`` (Normal-Inverse-Gamma with an inverse-gamma σ²), or None;
* :meth:`Prior.scale_mixture`: a :class:`ScaleMixture` when w is a scale mixture of normals with a Gibbs
  update, or None;
* :attr:`Prior.proximal` with :meth:`Prior.prox`: the proximal operator of −log p;
* :attr:`Prior.convex`: whether −log p(w) is convex (so the penalised minimiser is unique);
* :meth:`Prior.local_scales`: a global–local scale mixture whose latent scales are sites of the model
  (:mod:`bayesreg.shrinkage`), or None;
* :attr:`Prior.separable`: whether −log p(w) is a sum over coordinates, and :meth:`Prior.coordinate_penalty`
  for one that only a 1-D search can minimise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Prior", "ScaleMixture"]


@dataclass(frozen=True)
class ScaleMixture:
    """w_j | s_j ~ N(0, s_j) with an exponential mixing density: the Laplace prior as Park & Casella (2008) write
    it, the Gibbs sampler's capability. ``scale`` is the Laplace scale when fixed; ``scale_prior`` the
    (shape, rate) of an inverse-gamma prior on its square when it has one."""

    scale: float | None = None
    scale_prior: tuple[float, float] | None = None


class Prior:
    """Base of every prior on w; subclasses implement the abstract methods and override the capabilities they
    have. The defaults say "not available", so a back end that needs a capability gets None or False."""

    name: str = "prior"
    convex: bool = False
    separable: bool = False
    proximal: bool = False

    # ------------------------------------------------------------------------ what every prior implements

    def pyro_dist(self, d: int, sigma=None, tau=None):
        """The density of w (one event of size ``d``) as a Pyro distribution, float64."""
        raise NotImplementedError

    def log_density(self, w, *, sigma: float | None = None, tau: float | None = None) -> float:
        """log p(w | σ, τ), normalising constant included; −inf outside the support."""
        value, _ = self._torch_value_and_grad(w, sigma, tau, grad=False)
        return value

    def grad_log_density(self, w, *, sigma: float | None = None, tau: float | None = None) -> np.ndarray:
        """∇_w log p(w | σ, τ) (at a kink, the subgradient of least norm, 0 for |w| at 0)."""
        _, grad = self._torch_value_and_grad(w, sigma, tau, grad=True)
        return grad

    def sample_vectors(self, rng: np.random.Generator, shape: tuple[int, ...], d: int, *, sigma=None,
                       tau=None) -> np.ndarray:
        """Draws of whole weight vectors, shape ``shape + (d,)``, from the Pyro distribution seeded by ``rng``
        (priors with a sampler of their own override this)."""
        import torch

        shape = tuple(shape)
        gen_seed = int(rng.integers(2**62))
        with torch.random.fork_rng():
            torch.manual_seed(gen_seed)
            draws = self.pyro_dist(d, sigma=sigma, tau=tau).sample(shape)
        return draws.numpy().astype(np.float64, copy=False)

    def check_dimension(self, d: int) -> None:
        """Refuse a number of weights the prior is not defined on (a radial or group prior has one d)."""

    def conditional(self, *, sigma: float | None = None, tau: float | None = None) -> Prior:
        """The prior on w given σ and τ: itself when it has no hyper-parameters."""
        return self

    def hyperpriors(self) -> dict:
        """Sites of the model that this prior adds, with their priors: ``{}`` unless hierarchical."""
        return {}

    @property
    def depends_on_sigma(self) -> bool:
        """Whether p(w) is conditional on the noise scale σ (the scale-free ``N(0, σ²/λ)``)."""
        return False

    def reading(self, sigma: float | None = None, n: int | None = None, convention: str = "canonical") -> dict:
        """The prior read as a penalty: its λ in every convention, the density and the statement that
        ``bayesreg prior`` prints; ``{"penalty": None, "reason": ...}`` when no penalty reading exists."""
        from .prior_reading import reading_of_prior

        return reading_of_prior(self, sigma, n, convention)

    # -------------------------------------------------------------------------------------- capabilities

    def elementwise_penalty(self, sigma: float) -> tuple[float, float] | None:
        """``(λ₁, λ₂)`` with −σ² log p(w) = λ₁‖w‖₁ + (λ₂/2)‖w‖² + const, or None for other shapes."""
        return None

    def gaussian_conjugacy(self) -> str | None:
        """``"fixed-sigma"``, ``"sigma-scaled"`` or None: how the prior is conjugate with Gaussian noise."""
        return None

    def scale_mixture(self) -> ScaleMixture | None:
        """The Laplace scale-mixture representation for a Gibbs sampler, or None."""
        return None

    def local_scales(self):
        """The prior itself when it is a global–local scale mixture with latent scales of its own
        (:class:`~bayesreg.shrinkage.ShrinkagePrior`: its sites, scales and their prior), else None."""
        return None

    def coordinate_penalty(self):
        """``(g, m)`` for a separable prior minimised one coordinate at a time by a 1-D search: g(x) = −log p
        per coordinate up to a constant (vectorised) and m its minimiser; None otherwise."""
        return None

    def prox(self, v, t: float) -> np.ndarray:
        """argmin_x ½‖x − v‖² − t log p(x) (available when :attr:`proximal`)."""
        raise NotImplementedError(f"the {self.name} prior has no proximal operator")

    # ------------------------------------------------------------------------------------------- helpers

    def _torch_value_and_grad(self, w, sigma, tau, grad: bool):
        """log p and its gradient from :meth:`pyro_dist` by autograd: the default for priors with no closed
        form of their own."""
        import torch

        w_np = np.asarray(w, dtype=np.float64)
        wt = torch.as_tensor(w_np.copy()).requires_grad_(grad)
        kwargs = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in (("sigma", sigma), ("tau", tau))
                  if v is not None}
        value = self.pyro_dist(w_np.shape[-1], **kwargs).log_prob(wt)
        if not grad:
            return float(value), None
        value.backward()
        return float(value.detach()), wt.grad.numpy().copy()
