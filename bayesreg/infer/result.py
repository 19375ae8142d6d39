"""The one result type every posterior method returns, and its conversion to ArviZ ``InferenceData``.

A :class:`Posterior` holds draws as arrays shaped ``(chain, draw, ...)``: ``w`` (..., d), and the scalars
``b``, ``sigma`` and ``tau`` (the prior's scale: τ for a Gaussian prior, s for a Laplace prior) when they are
random. :meth:`Posterior.to_inference_data` adds, given the data, the pointwise ``log_likelihood`` (so
``az.loo`` works), a ``posterior_predictive`` draw of y per posterior draw, and ``observed_data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..data import Dataset
from ..errors import BayesregError
from .idata import import_arviz, package_versions

__all__ = ["Posterior", "RunDiagnostics"]



@dataclass(frozen=True)
class RunDiagnostics:
    """What a back end reports about its own run, typed, for the health verdict to read.

    ``kind``: ``"exact draws"`` (independent draws from the exact posterior), ``"markov chain"`` (Gibbs, NUTS:
    R-hat needs two chains), ``"variational fit"`` (SVI: draws from the fitted guide) or ``"point estimate"``
    (a mode: nothing to diagnose but the optimiser). ``converged``: the optimiser's own stopping rule (SVI's
    ELBO, the MAP solver), None where there is no optimiser; ``max_tree_depth``: NUTS's cap, against which the
    tree depths in ``sample_stats`` are read; ``note``: what did not converge, in words; ``remedy``: what else the
    back end knows to try when its chains mix too slowly, added to the verdict's R-hat and ESS reasons.
    """

    kind: str
    converged: bool | None = None
    max_tree_depth: int | None = None
    note: str = ""
    remedy: str = ""

    @property
    def point_estimate(self) -> bool:
        return self.kind == "point estimate"

    @property
    def markov_chain(self) -> bool:
        return self.kind == "markov chain"

    @classmethod
    def of(cls, method: str, info: dict) -> RunDiagnostics:
        """The diagnostics a back end's ``info`` implies (for results built outside :func:`bayesreg.fit`)."""
        if method == "map":
            return cls("point estimate", converged=bool(info.get("converged", True)),
                       note="the MAP solver stopped at its iteration budget")
        if method == "svi":
            return cls("variational fit", converged=bool(info.get("converged", False)),
                       note="SVI did not converge: the ELBO was still changing at the step budget")
        if method == "exact":
            return cls("exact draws")
        return cls("markov chain", max_tree_depth=info.get("max_tree_depth"))


@dataclass(frozen=True)
class Posterior:
    """Posterior draws from any method (exact, nuts, svi, gibbs, map), with provenance.

    Parameters
    ----------
    method
        ``"exact"``, ``"nuts"``, ``"svi"``, ``"gibbs"`` or ``"map"``.
    draws
        ``{"w": (chain, draw, d), "b" | "sigma" | "tau": (chain, draw)}``; a site that is fixed is absent.
    feature_names
        Names of the d columns (the ``feature`` coordinate).
    sigma_fixed
        σ when it is not random (then ``"sigma"`` is not in ``draws``).
    seconds
        Wall time of inference, warm-up included.
    sample_stats
        Per-draw sampler statistics, ``(chain, draw)`` arrays (NUTS: ``diverging``, ``tree_depth``,
        ``step_size``, ``energy``...).
    info
        Method-specific results (SVI: the ELBO trace and whether it converged; the MAP; settings).
    attrs
        Provenance stored in the ``InferenceData`` (method, prior, convention, λ, seed...).
    dims
        Each site's dimensions beyond (chain, draw): ``{"w": ("feature",)}`` by default, scalars ``()``; a
        vector latent (one scale per weight) declares ``("feature",)`` too.
    mode
        The computed posterior mode (:class:`~bayesreg.mode.PosteriorMode`, with its definition), or None.
    diagnostics
        The back end's :class:`RunDiagnostics`; by default those its ``method`` and ``info`` imply.
    likelihood
        The model's :class:`~bayesreg.likelihoods.Likelihood`, whose pointwise log-likelihood and predictive draws
        :meth:`log_likelihood` and :meth:`predictive_draws` use (default: Gaussian noise, σ from the draws or
        ``sigma_fixed``).
    exact
        The closed-form posterior the draws came from (:class:`~bayesreg.infer.conjugate.GaussianPosterior` or
        :class:`~bayesreg.infer.conjugate.NIGPosterior`: its ``mean``, ``cov`` and ``predictive``), for the exact
        method; None otherwise. Means and predictive moments are read from it, not averaged over draws.
    model
        The :class:`~bayesreg.model.Model` that was fitted (set by :func:`bayesreg.fit`), or None; from it
        :meth:`to_inference_data` draws the ``prior`` group.

    The result is frozen: :meth:`with_` returns a copy with fields replaced.
    """

    method: str
    draws: dict[str, np.ndarray]
    feature_names: tuple[str, ...]
    sigma_fixed: float | None = None
    seconds: float = 0.0
    sample_stats: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)
    dims: dict = field(default_factory=dict)
    mode: object = None
    diagnostics: RunDiagnostics | None = None
    likelihood: object = None
    exact: object = None
    model: object = None

    def __post_init__(self):
        w = np.asarray(self.draws["w"], dtype=np.float64)
        if w.ndim != 3 or w.shape[-1] != len(self.feature_names):
            raise ValueError(f"w draws must be (chain, draw, {len(self.feature_names)}), got {w.shape}")
        object.__setattr__(self, "feature_names", tuple(self.feature_names))
        object.__setattr__(self, "draws", {k: np.asarray(v, dtype=np.float64) for k, v in self.draws.items()})
        dims = {name: ("feature",) if name == "w" else () for name in self.draws}
        dims.update({k: tuple(v) for k, v in self.dims.items()})
        object.__setattr__(self, "dims", dims)
        for name, value in self.draws.items():
            if value.shape[:2] != w.shape[:2] or value.ndim != 2 + len(dims[name]):
                raise ValueError(f"{name} draws must be (chain, draw{''.join(', ' + d for d in dims[name])}), "
                                 f"got {value.shape}")
        needs_sigma = "sigma" in getattr(self.likelihood, "parameter_names", ("sigma",))
        if needs_sigma and "sigma" not in self.draws and self.sigma_fixed is None:
            raise ValueError("σ must be either drawn or fixed (sigma_fixed)")
        if self.diagnostics is None:
            object.__setattr__(self, "diagnostics", RunDiagnostics.of(self.method, self.info))

    def with_(self, **changes) -> Posterior:
        """A copy with the given fields replaced (the result itself never changes)."""
        return replace(self, **changes)

    @property
    def num_chains(self) -> int:
        return self.draws["w"].shape[0]

    @property
    def num_draws(self) -> int:
        return self.draws["w"].shape[1]

    def flat(self, name: str) -> np.ndarray:
        """Draws of ``name`` with chains concatenated: (chain·draw, ...)."""
        value = self.draws[name]
        return value.reshape(-1, *value.shape[2:])

    def _eta_and_params(self, X: np.ndarray) -> tuple[np.ndarray, dict]:
        """The linear predictor x_iᵀw + b per draw, (chain, draw, n), and the likelihood's own parameters per
        draw (σ), broadcastable to it."""
        eta = np.einsum("cdk,nk->cdn", self.draws["w"], X)
        if "b" in self.draws:
            eta += self.draws["b"][..., None]
        if "sigma" not in getattr(self._likelihood(), "parameter_names", ("sigma",)):
            return eta, {}
        sigma = self.draws["sigma"][..., None] if "sigma" in self.draws else np.float64(self.sigma_fixed)
        return eta, {"sigma": sigma}

    def _likelihood(self):
        from ..likelihoods import GaussianLikelihood

        return self.likelihood if self.likelihood is not None else GaussianLikelihood(1.0)

    def log_likelihood(self, X, y) -> np.ndarray:
        """Pointwise log p(y_i | x_iᵀw + b, …) per draw: (chain, draw, n)."""
        eta, params = self._eta_and_params(np.asarray(X, dtype=np.float64))
        return self._likelihood().log_likelihood(np.asarray(y, dtype=np.float64), eta, **params)

    def predictive_draws(self, X, seed: int | None = 0) -> np.ndarray:
        """One y* per posterior draw at each row of X: (chain, draw, n)."""
        eta, params = self._eta_and_params(np.asarray(X, dtype=np.float64))
        return self._likelihood().predictive_draws(np.random.default_rng(seed), eta, **params)

    def to_inference_data(self, data: Dataset | None = None, *, seed: int | None = 0,
                          max_pointwise: int = 20_000_000, prior: dict | None = None,
                          prior_draws: int | None = None):
        """ArviZ ``InferenceData``: ``posterior``, ``sample_stats``, a ``prior`` group, and with ``data`` also
        ``log_likelihood``, ``log_prior`` (the joint log prior of each draw, for ``az.psens``),
        ``posterior_predictive`` and ``observed_data`` (skipped when chains × draws × n exceeds
        ``max_pointwise`` values, to bound memory). Provenance in the attrs of every group.

        The ``prior`` group (one chain) holds draws of the same sites from the prior, drawn ancestrally from
        :attr:`model` (σ and τ from their priors, then w | σ, τ, then b), seeded by ``seed``: ``prior_draws`` of
        them, by default the posterior's chains × draws within [1000, 4000]. ``prior`` (``{site: (num, ...)}``,
        e.g. :meth:`bayesreg.model.Model.sample_prior`) gives them instead. A site with no prior (σ fixed, a flat
        bias: improper) has no prior draws; the group's ``absent_from_prior`` attribute says which and why. So
        ``az.plot_dist(idata.prior.w)`` or ``az.plot_density([idata.posterior, idata.prior])`` draw prior against
        posterior. Without a model nor ``prior``, or when the prior cannot be drawn from (the posterior's
        ``no_prior_group`` attribute says why), there is no prior group."""
        az = import_arviz()
        attrs = {**package_versions(), "method": self.method, **_netcdf_safe(self.attrs)}
        groups = {"posterior": dict(self.draws)}
        if prior is None and self.model is not None:
            num = prior_draws or int(np.clip(self.num_chains * self.num_draws, 1000, 4000))
            try:
                prior = self.model.sample_prior(num, len(self.feature_names), seed=seed)
            except (NotImplementedError, BayesregError) as err:  # a prior that cannot draw: the fit stands
                attrs["no_prior_group"] = f"the prior could not be drawn from: {err}"
        prior_attrs = {}
        if prior:
            groups["prior"] = {k: np.asarray(v, dtype=np.float64)[None] for k, v in prior.items()
                               if k in self.draws}
            prior_attrs = {"absent_from_prior": self._absent_from_prior(groups["prior"])}
        if self.sample_stats:
            groups["sample_stats"] = dict(self.sample_stats)
        dims = {name: list(d) for name, d in self.dims.items() if d}
        coords = {"feature": list(self.feature_names)}
        if data is not None and self.num_chains * self.num_draws * data.n <= max_pointwise:
            groups["log_likelihood"] = {"y": self.log_likelihood(data.X, data.y)}
            log_prior = self._log_prior()
            groups["posterior_predictive"] = {"y": self.predictive_draws(data.X, seed)}
            groups["observed_data"] = {"y": np.asarray(data.y)}
            dims["y"] = ["obs"]
            coords["obs"] = np.arange(data.n)
        idata = az.from_dict(**groups, coords=coords, dims=dims, attrs=attrs)
        if data is not None and "log_likelihood" in idata.groups() and log_prior is not None:
            import xarray as xr

            idata.add_groups(log_prior=xr.Dataset({"prior": (("chain", "draw"), log_prior)},
                                                  coords={"chain": idata.posterior.chain,
                                                          "draw": idata.posterior.draw}))
        for group in idata.groups():
            idata[group].attrs.update(attrs)
        if "prior" in idata.groups():
            idata.prior.attrs.update(prior_attrs)
        if self.sigma_fixed is not None:
            import xarray as xr

            idata.add_groups(constant_data=xr.Dataset({"sigma": float(self.sigma_fixed)}, attrs=attrs))
        return idata

    def _log_prior(self) -> np.ndarray | None:
        """(chain, draw) joint log prior of each draw (:meth:`bayesreg.model.Model.log_prior`), for power-scaling
        sensitivity; None without a model, for a point estimate, or when a density cannot be evaluated."""
        if self.model is None or self.diagnostics.point_estimate or "w" not in self.draws:
            return None
        shape = (self.num_chains, self.num_draws)
        flat = {k: np.asarray(v).reshape(shape[0] * shape[1], *np.asarray(v).shape[2:]) for k, v in self.draws.items()}
        try:
            lp = self.model.log_prior(flat)
        except (NotImplementedError, BayesregError, KeyError):
            return None
        return lp.reshape(shape) if np.all(np.isfinite(lp)) else None

    def _absent_from_prior(self, prior: dict) -> str:
        """The model's random or fixed sites without prior draws, each with why (``"sigma: fixed at 54; b: flat
        prior, improper"``), or ``"none"``."""
        why = [] if self.sigma_fixed is None else [f"sigma: fixed at {self.sigma_fixed:g}"]
        bias = getattr(getattr(self.model, "bias", None), "kind", None)
        for name in self.draws:
            if name not in prior:
                why.append("b: flat prior, improper" if name == "b" and bias in ("flat", None) else
                           f"{name}: no prior draws")
        return "; ".join(why) or "none"


def _netcdf_safe(attrs: dict) -> dict:
    """netCDF attributes must be strings or numbers: everything else becomes its repr."""
    safe = {}
    for key, value in attrs.items():
        if isinstance(value, (bool, np.bool_)):
            safe[key] = int(value)
        elif isinstance(value, (str, int, float, np.integer, np.floating)):
            safe[key] = value
        elif value is None:
            safe[key] = "none"
        else:
            safe[key] = repr(value)
    return safe
