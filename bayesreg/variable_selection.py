r"""Which variables matter, read from a posterior whose draws are never exactly zero.

Two rules, each on the posterior draws of w:

* **credible interval**: w_j is selected when its central ``prob`` credible interval excludes 0;
* **SAVS**, the signal-adaptive variable selector of Ray & Bhattacharya (2018, *Signal adaptive variable
  selector for the horseshoe prior*, arXiv:1810.09004): each draw β is sparsified by one step of the adaptive
  lasso that keeps the fitted values Xβ, with penalty μ_j = 1/β_j²,

  .. math:: \tilde\beta_j = \operatorname{sign}(\beta_j)\,\|x_j\|^{-2}\,\big(|\beta_j|\,\|x_j\|^2 - \mu_j\big)_+,

  (x_j the centred column when the model has a bias), the coordinate-wise solution of
  :math:`\min_\gamma \tfrac12\|X\beta - X\gamma\|^2 + \sum_j \mu_j|\gamma_j|` (exact when the columns are
  orthogonal). The inclusion probability of w_j is the share of draws with :math:`\tilde\beta_j \ne 0`; it is
  selected above one half. The rule is not invariant to units (scaling y by c moves the threshold), so it runs
  in the units of the paper's examples, standardised columns and unit noise: β_j·sd(x_j)/σ, a weight's effect of
  one sd of its feature in noise sds, is kept when it exceeds about n^(−1/3) (0.13 for n = 442). A classifier's
  linear predictor is in logit units already: σ = 1.

Neither needs a tuning constant beyond ``prob``. The lasso's exact zeros (the MAP of a Laplace prior) are the third
reading; :func:`selection_table` puts all three side by side when given the MAP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SpecError

__all__ = ["savs", "credible_interval_selection", "VariableSelection", "select_variables"]


def _draws(w) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 3:                      # (chain, draw, d)
        w = w.reshape(-1, w.shape[-1])
    if w.ndim != 2 or w.shape[0] < 1:
        raise SpecError(f"weight draws must be (draws, d) or (chain, draw, d), got shape {w.shape}")
    return w


def savs(w, X, *, center: bool = True, standardize: bool = True, noise_sd: float = 1.0) -> np.ndarray:
    """SAVS applied to each draw of ``w`` ((draws, d) or (chain, draw, d)): the sparsified draws in the units of
    ``w``, flattened to (draws, d) (module docstring). ``center``: the model has a bias (the columns are centred);
    ``standardize``: run the rule in standardised units, ``noise_sd`` the noise sd σ (1 for a classifier)."""
    w = _draws(w)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != w.shape[1]:
        raise SpecError(f"X has shape {X.shape} but the draws have {w.shape[1]} weights")
    Xc = X - X.mean(axis=0) if center else X
    scale = np.ones(X.shape[1])
    if standardize:
        if not noise_sd > 0:
            raise SpecError(f"noise_sd must be positive, got {noise_sd}")
        scale = np.sqrt(np.mean(Xc**2, axis=0)) / noise_sd   # β_j in standardised units: β_j·sd(x_j)/σ
        Xc = Xc / np.where(scale > 0, scale * noise_sd, 1.0)
    norm2 = np.einsum("ij,ij->j", Xc, Xc)
    if np.any(norm2 <= 0):
        raise SpecError("a constant column has no signal to select (its centred norm is 0)")
    b = w * scale
    with np.errstate(divide="ignore"):
        mu = np.where(b != 0, 1.0 / np.square(b), np.inf)
    return np.sign(b) * np.maximum(np.abs(b) * norm2 - mu, 0.0) / norm2 / scale


def credible_interval_selection(w, prob: float = 0.94) -> np.ndarray:
    """Whether each weight's central ``prob`` credible interval excludes 0 (boolean, one per weight)."""
    if not 0.0 < prob < 1.0:
        raise SpecError(f"prob must be strictly between 0 and 1, got {prob}")
    w = _draws(w)
    lo, hi = np.quantile(w, [0.5 - prob / 2.0, 0.5 + prob / 2.0], axis=0)
    return (lo > 0) | (hi < 0)


@dataclass(frozen=True)
class VariableSelection:
    """Per weight: ``savs_probability`` (share of sparsified draws that are non-zero), ``savs`` (selected: above
    one half), ``credible`` (the ``prob`` interval excludes 0) and, when given, ``map_nonzero`` (the MAP's exact
    non-zeros, e.g. the lasso's)."""

    names: tuple[str, ...]
    savs_probability: np.ndarray
    savs: np.ndarray
    credible: np.ndarray
    prob: float
    map_nonzero: np.ndarray | None = None

    def to_dict(self) -> dict:
        out = {"prob": self.prob, "rules": {
            "savs": "selected when over half the SAVS-sparsified draws are non-zero (Ray & Bhattacharya 2018)",
            "credible_interval": f"selected when the central {self.prob:g} credible interval excludes 0"},
            "variables": {}}
        for j, name in enumerate(self.names):
            row = {"savs_probability": float(self.savs_probability[j]), "savs": bool(self.savs[j]),
                   "credible_interval": bool(self.credible[j])}
            if self.map_nonzero is not None:
                row["map_nonzero"] = bool(self.map_nonzero[j])
            out["variables"][name] = row
        return out

    def selected(self, rule: str = "savs") -> tuple[str, ...]:
        """The names a rule selects: ``"savs"``, ``"credible"`` or ``"map"``."""
        mask = {"savs": self.savs, "credible": self.credible, "map": self.map_nonzero}.get(rule)
        if mask is None:
            raise SpecError(f"rule must be savs, credible or map (map only when the MAP was given), got {rule!r}")
        return tuple(n for n, m in zip(self.names, mask, strict=True) if m)


def select_variables(w, X, *, names=None, prob: float = 0.94, center: bool = True, noise_sd: float = 1.0,
                     map_w=None) -> VariableSelection:
    """Both rules on the draws ``w`` for the design ``X`` (module docstring; SAVS in standardised units,
    ``noise_sd`` the noise sd σ, 1 for a classifier); ``map_w``: a MAP to set beside them (its exact non-zeros)."""
    w = _draws(w)
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(w.shape[1]))
    if len(names) != w.shape[1]:
        raise SpecError(f"{len(names)} names for {w.shape[1]} weights")
    sparse = savs(w, X, center=center, noise_sd=noise_sd)
    prob_nonzero = np.mean(sparse != 0, axis=0)
    map_nonzero = None if map_w is None else np.asarray(map_w, dtype=np.float64) != 0
    return VariableSelection(names, prob_nonzero, prob_nonzero > 0.5, credible_interval_selection(w, prob), prob,
                             map_nonzero)
