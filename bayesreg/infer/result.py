"""The one result type every posterior method returns, and its conversion to ArviZ ``InferenceData``.

A :class:`Posterior` holds draws as arrays shaped ``(chain, draw, ...)``: ``w`` (..., d), and the scalars
``b``, ``sigma`` and ``tau`` (the prior's scale: τ for a Gaussian prior, s for a Laplace prior) when they are
random. :meth:`Posterior.to_inference_data` adds, given the data, the pointwise ``log_likelihood`` (so
``az.loo`` works), a ``posterior_predictive`` draw of y per posterior draw, and ``observed_data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data import Dataset
from .idata import import_arviz, package_versions

__all__ = ["Posterior"]

_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


@dataclass
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
    """

    method: str
    draws: dict[str, np.ndarray]
    feature_names: tuple[str, ...]
    sigma_fixed: float | None = None
    seconds: float = 0.0
    sample_stats: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)

    def __post_init__(self):
        w = np.asarray(self.draws["w"], dtype=np.float64)
        if w.ndim != 3 or w.shape[-1] != len(self.feature_names):
            raise ValueError(f"w draws must be (chain, draw, {len(self.feature_names)}), got {w.shape}")
        self.draws = {k: np.asarray(v, dtype=np.float64) for k, v in self.draws.items()}
        for name, value in self.draws.items():
            if name != "w" and value.shape != w.shape[:2]:
                raise ValueError(f"{name} draws must be (chain, draw) = {w.shape[:2]}, got {value.shape}")
        if "sigma" not in self.draws and self.sigma_fixed is None:
            raise ValueError("σ must be either drawn or fixed (sigma_fixed)")

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

    def _mean_and_sigma(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x_iᵀw + b per draw, (chain, draw, n), and σ per draw broadcastable to it."""
        mean = np.einsum("cdk,nk->cdn", self.draws["w"], X)
        if "b" in self.draws:
            mean += self.draws["b"][..., None]
        sigma = self.draws["sigma"][..., None] if "sigma" in self.draws else np.float64(self.sigma_fixed)
        return mean, sigma

    def log_likelihood(self, X, y) -> np.ndarray:
        """Pointwise log N(y_i | x_iᵀw + b, σ²) per draw: (chain, draw, n)."""
        mean, sigma = self._mean_and_sigma(np.asarray(X, dtype=np.float64))
        z = (np.asarray(y, dtype=np.float64) - mean) / sigma
        return -0.5 * z * z - np.log(sigma) - _HALF_LOG_2PI

    def predictive_draws(self, X, seed: int | None = 0) -> np.ndarray:
        """One y* per posterior draw at each row of X: (chain, draw, n)."""
        mean, sigma = self._mean_and_sigma(np.asarray(X, dtype=np.float64))
        return mean + sigma * np.random.default_rng(seed).standard_normal(mean.shape)

    def to_inference_data(self, data: Dataset | None = None, *, seed: int | None = 0,
                          max_pointwise: int = 20_000_000):
        """ArviZ ``InferenceData``: ``posterior``, ``sample_stats``, and with ``data`` also ``log_likelihood``,
        ``posterior_predictive`` and ``observed_data`` (skipped when chains × draws × n exceeds
        ``max_pointwise`` values, to bound memory). Provenance in the attrs of every group."""
        az = import_arviz()
        attrs = {**package_versions(), "method": self.method, **_netcdf_safe(self.attrs)}
        groups = {"posterior": dict(self.draws)}
        if self.sample_stats:
            groups["sample_stats"] = dict(self.sample_stats)
        dims = {"w": ["feature"]}
        coords = {"feature": list(self.feature_names)}
        if data is not None and self.num_chains * self.num_draws * data.n <= max_pointwise:
            groups["log_likelihood"] = {"y": self.log_likelihood(data.X, data.y)}
            groups["posterior_predictive"] = {"y": self.predictive_draws(data.X, seed)}
            groups["observed_data"] = {"y": np.asarray(data.y)}
            dims["y"] = ["obs"]
            coords["obs"] = np.arange(data.n)
        idata = az.from_dict(**groups, coords=coords, dims=dims, attrs=attrs)
        for group in idata.groups():
            idata[group].attrs.update(attrs)
        if self.sigma_fixed is not None:
            import xarray as xr

            idata.add_groups(constant_data=xr.Dataset({"sigma": float(self.sigma_fixed)}, attrs=attrs))
        return idata


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
