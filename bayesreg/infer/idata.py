"""Posterior draws → ArviZ ``InferenceData``, the one interchange format of every sampler.

Variables: ``w`` over dimension ``feature`` (coordinates: the column names), ``b`` and ``sigma`` where they
are random. Provenance (method, prior, seed, package versions) goes to the attrs of every group.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["import_arviz", "draws_to_inference_data", "package_versions"]


def import_arviz():
    """Import ArviZ without its import-time FutureWarning about the coming 1.0 refactor (noise for users)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"arviz")
        import arviz

    return arviz


def package_versions() -> dict[str, str]:
    """Versions of bayesreg and the libraries that shape its numbers."""
    from importlib import metadata

    out = {}
    for pkg in ("bayesreg", "numpy", "scipy", "torch", "pyro-ppl", "arviz"):
        try:
            out[f"version_{pkg}"] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[f"version_{pkg}"] = "not installed"
    return out


def draws_to_inference_data(*, w: np.ndarray, b: np.ndarray | None, sigma: np.ndarray | None,
                            feature_names, constant: dict | None = None, attrs: dict | None = None):
    """Build ``InferenceData`` from draws shaped (chain, draw, d) for ``w`` and (chain, draw) for scalars."""
    az = import_arviz()
    posterior = {"w": np.asarray(w, dtype=np.float64)}
    if b is not None:
        posterior["b"] = np.asarray(b, dtype=np.float64)
    if sigma is not None:
        posterior["sigma"] = np.asarray(sigma, dtype=np.float64)
    if posterior["w"].ndim != 3 or posterior["w"].shape[-1] != len(feature_names):
        raise ValueError(f"w draws must be (chain, draw, {len(feature_names)}), got {posterior['w'].shape}")
    all_attrs = {**package_versions(), **(attrs or {})}
    idata = az.from_dict(posterior=posterior, coords={"feature": list(feature_names)}, dims={"w": ["feature"]},
                         attrs=all_attrs)
    idata.posterior.attrs.update(all_attrs)  # from_dict keeps them on the InferenceData only
    if constant:
        # az.from_dict would give each scalar a spurious length-1 dimension; a plain Dataset keeps it 0-d.
        import xarray as xr

        idata.add_groups(constant_data=xr.Dataset({k: float(v) for k, v in constant.items()}, attrs=all_attrs))
    return idata
