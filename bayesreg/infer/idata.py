"""ArviZ without its import-time noise, and the provenance every ``InferenceData`` carries.

The conversion of draws itself is :meth:`bayesreg.infer.result.Posterior.to_inference_data`.
"""

from __future__ import annotations

import warnings

__all__ = ["import_arviz", "package_versions"]


def import_arviz():
    """Import ArviZ without its import-time FutureWarning about the coming 1.0 refactor (noise for users), with its
    numba paths off: ArviZ 0.23 switches to them whenever numba is importable (PyMC's PyTensor installs it, e.g.
    with ``make bench``), and its numba ``mcse`` of an sd then fails ("only 0-dimensional arrays can be converted
    to Python scalars"). The NumPy paths give the same numbers whether or not numba is present."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"arviz")
        import arviz

    if arviz.Numba.numba_flag:
        arviz.Numba.disable_numba()
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
