r"""A fit on disk, read back to predict new rows: ``DIR/model.json`` (the recipe and, for an exact fit, the
closed-form posterior) next to ``DIR/posterior.nc`` (the draws).

Predictive distribution of y* at a new row x (x̃ = (x, 1) with an intercept, x̃ = x without):

* **exact, σ fixed**: :math:`y^* \sim N(\tilde x^\top m,\; \tilde x^\top \Sigma \tilde x + \sigma^2)`;
* **exact, σ² ~ InvGamma** (Normal-Inverse-Gamma): Student-t with :math:`\nu = 2a_n` degrees of freedom,
  location :math:`\tilde x^\top m` and scale² :math:`(b_n/a_n)(1 + \tilde x^\top V_n \tilde x)`; its sd is
  scale·√(ν/(ν − 2)) (infinite for ν ≤ 2);
* **sampled** (NUTS, Gibbs, SVI, streamed): over the draws s of (w, b, σ), the mean of
  :math:`\mu_s = \tilde x^\top (w_s, b_s)`, the sd :math:`\sqrt{\operatorname{var}_s \mu_s + \overline{\sigma_s^2}}`
  (the law of total variance), and the interval from the quantiles of seeded draws :math:`y^*_s = \mu_s + \sigma_s
  \varepsilon_s`;
* **MAP** (one draw): :math:`N(\tilde x^\top \hat\theta, \sigma^2)`: the noise alone, no parameter uncertainty.

A **classifier** (``likelihood: "logistic"``) predicts the probability of class 1, P(y* = 1 | x) =
sigmoid(x̃ᵀθ): per row the posterior mean of p_s = sigmoid(x̃ᵀθ_s) over the draws (which *is* the posterior
predictive probability of y* = 1), its posterior sd, and the central credible interval of p from the draws'
quantiles; from a MAP, sigmoid(x̃ᵀθ̂) alone (sd 0, no interval width: no parameter uncertainty).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .columns import Columns
from .errors import DataError, SpecError

__all__ = ["FORMAT", "fit_spec", "load_fit", "SavedFit", "predictive_table"]

FORMAT = "bayesreg-fit/1"


def fit_spec(posterior, columns: Columns | None, *, target: str = "y", classes=None) -> dict:
    """Everything predicting needs besides the draws, JSON-ready: the column recipe (a plain one for data given
    as arrays or built in), the method, whether there is an intercept, σ fixed, and the closed form of an exact
    fit (mean and covariance over (w₁..w_d[, b])). Written by ``bayesreg fit`` as ``DIR/model.json``."""
    if columns is None:
        columns = Columns.plain(posterior.feature_names, target)
    exact = posterior.exact
    closed = None
    if exact is not None:
        if hasattr(exact, "a_n"):
            closed = {"kind": "normal-inverse-gamma", "mean": exact.mean.tolist(), "shape": exact.shape.tolist(),
                      "a_n": float(exact.a_n), "b_n": float(exact.b_n)}
        else:
            closed = {"kind": "gaussian", "mean": exact.mean.tolist(), "cov": exact.cov.tolist(),
                      "sigma": float(exact.sigma)}
    return {"format": FORMAT, "method": posterior.method, "columns": columns.to_dict(),
            "intercept": "b" in posterior.draws or (exact is not None and exact.bias.present),
            "sigma_fixed": None if posterior.sigma_fixed is None else float(posterior.sigma_fixed),
            "exact": closed, "likelihood": getattr(posterior.likelihood, "name", "gaussian"),
            "classes": None if classes is None else [_label(c) for c in classes]}


def _label(c):
    """A class label as JSON keeps it: text as text, 1.0 as 1."""
    if isinstance(c, str):
        return c
    return int(c) if float(c).is_integer() else float(c)


@dataclass(frozen=True)
class SavedFit:
    """A fit read from its directory: the recipe, the closed form if exact, the draws otherwise."""

    path: Path
    method: str
    columns: Columns
    intercept: bool
    sigma_fixed: float | None
    exact: dict | None
    draws: dict
    likelihood: str = "gaussian"
    classes: tuple | None = None

    def design(self, frame: pd.DataFrame, label: str = "the data") -> np.ndarray:
        """x̃ per row: the recipe's columns (matched by name; the target may be present and is ignored), then
        a 1 for the intercept."""
        self.columns.check_columns(frame, label)
        X = self.columns.transform(frame, label=label)
        return np.hstack([X, np.ones((X.shape[0], 1))]) if self.intercept else X

    def predict(self, frame: pd.DataFrame, *, prob: float = 0.94, seed: int = 0,
                label: str = "the data") -> pd.DataFrame:
        """Per row: the predictive ``mean``, ``sd``, and the central ``prob`` interval ``lower``, ``upper``."""
        if not 0.0 < prob < 1.0:
            raise SpecError(f"--prob must be strictly between 0 and 1, got {prob}")
        Z = self.design(frame, label)
        return predictive_table(self, Z, prob=prob, seed=seed)


def predictive_table(fit: SavedFit, Z: np.ndarray, *, prob: float, seed: int) -> pd.DataFrame:
    """The module docstring's predictive summaries at the rows ``Z`` (x̃)."""
    q = (0.5 - prob / 2.0, 0.5 + prob / 2.0)
    if fit.likelihood == "logistic":
        return _probability_table(fit, Z, q)
    e = fit.exact
    if e is not None and e["kind"] == "gaussian":
        m, C = np.asarray(e["mean"]), np.asarray(e["cov"])
        loc = Z @ m
        sd = np.sqrt(np.einsum("ij,jk,ik->i", Z, C, Z) + e["sigma"] ** 2)
        lower, upper = stats.norm.ppf(q[0], loc, sd), stats.norm.ppf(q[1], loc, sd)
    elif e is not None:
        m, V = np.asarray(e["mean"]), np.asarray(e["shape"])
        df = 2.0 * e["a_n"]
        loc = Z @ m
        scale = np.sqrt(e["b_n"] / e["a_n"] * (1.0 + np.einsum("ij,jk,ik->i", Z, V, Z)))
        sd = scale * np.sqrt(df / (df - 2.0)) if df > 2 else np.full_like(loc, np.inf)
        lower, upper = stats.t.ppf(q[0], df, loc, scale), stats.t.ppf(q[1], df, loc, scale)
    else:
        theta = fit.draws["w"].reshape(-1, fit.draws["w"].shape[-1])
        if fit.intercept:
            theta = np.hstack([theta, fit.draws["b"].reshape(-1, 1)])
        mu = theta @ Z.T  # (draws, rows)
        sigma = (fit.draws["sigma"].reshape(-1, 1) if "sigma" in fit.draws
                 else np.full((mu.shape[0], 1), fit.sigma_fixed))
        loc = mu.mean(axis=0)
        var_mu = mu.var(axis=0, ddof=1) if mu.shape[0] > 1 else np.zeros_like(loc)
        sd = np.sqrt(var_mu + np.mean(sigma**2))
        if mu.shape[0] == 1:  # a point estimate: the noise alone
            lower, upper = stats.norm.ppf(q[0], loc, sd), stats.norm.ppf(q[1], loc, sd)
        else:
            y_star = mu + sigma * np.random.default_rng(seed).standard_normal(mu.shape)
            lower, upper = np.quantile(y_star, q, axis=0)
    return pd.DataFrame({"mean": loc, "sd": sd, "lower": lower, "upper": upper})


def _probability_table(fit: SavedFit, Z: np.ndarray, q: tuple[float, float]) -> pd.DataFrame:
    """A classifier's P(y* = 1 | x) per row: posterior mean, sd and central credible interval over the draws."""
    from scipy.special import expit

    theta = fit.draws["w"].reshape(-1, fit.draws["w"].shape[-1])
    if fit.intercept:
        theta = np.hstack([theta, fit.draws["b"].reshape(-1, 1)])
    p = expit(theta @ Z.T)  # (draws, rows)
    mean = p.mean(axis=0)
    sd = p.std(axis=0, ddof=1) if p.shape[0] > 1 else np.zeros_like(mean)
    lower, upper = np.quantile(p, q, axis=0)
    return pd.DataFrame({"probability": mean, "sd": sd, "lower": lower, "upper": upper})


def load_fit(path: str | os.PathLike) -> SavedFit:
    """Read a ``bayesreg fit`` output directory; a directory that is not one (or of another format version)
    raises a one-line :class:`~bayesreg.errors.DataError` naming what is missing."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"--fit {path} is not a directory; pass the --out directory of a `bayesreg fit` run")
    spec_file = path / "model.json"
    if not spec_file.exists():
        raise DataError(f"{path} holds no model.json: it is not a `bayesreg fit` output directory (or one written "
                        "by an older version); run bayesreg fit again with --out")
    try:
        spec = json.loads(spec_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {spec_file}: {exc}; run bayesreg fit again") from None
    if spec.get("format") != FORMAT:
        raise DataError(f"{spec_file} has format {spec.get('format')!r}, this version reads {FORMAT!r}; run "
                        "bayesreg fit again")
    draws = {}
    if spec.get("exact") is None:
        draws = _read_draws(path)
    classes = spec.get("classes")
    return SavedFit(path, spec["method"], Columns.from_dict(spec["columns"]), bool(spec["intercept"]),
                    spec.get("sigma_fixed"), spec.get("exact"), draws, spec.get("likelihood", "gaussian"),
                    None if classes is None else tuple(classes))


def _read_draws(path: Path) -> dict:
    from .infer.idata import import_arviz

    nc = path / "posterior.nc"
    if not nc.exists():
        raise DataError(f"{path} holds no posterior.nc; run bayesreg fit again")
    az = import_arviz()
    idata = az.from_netcdf(str(nc))
    post = idata.posterior
    return {name: np.asarray(post[name].values, dtype=np.float64) for name in ("w", "b", "sigma")
            if name in post.data_vars}
