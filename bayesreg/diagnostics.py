"""Is this posterior trustworthy? ArviZ's diagnostics condensed into one verdict, and a per-parameter summary.

:func:`health` checks, with ArviZ's rank-normalised split R-hat and bulk/tail ESS (Vehtari et al. 2021):

* R-hat of every parameter below ``rhat_max`` (default 1.01);
* bulk and tail ESS of every parameter at least ``ess_min`` (default 100 per chain, as Vehtari et al. advise);
* no divergent transitions (NUTS);
* tree depth never saturated at the sampler's maximum (NUTS);
* the optimisation converged (SVI, MAP);
* enough draws to judge at all.

The verdict is ``"ok"`` or ``"unreliable"`` with every reason; numbers come back as data, not printed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .infer.idata import import_arviz
from .infer.result import Posterior

__all__ = ["Health", "health", "summary_table", "MIN_DRAWS_FOR_DIAGNOSTICS", "check_draws", "sbc_ranks",
           "rank_uniformity_pvalue"]

#: Below this many draws in total, R-hat and ESS are not estimated reliably enough to vouch for anything.
MIN_DRAWS_FOR_DIAGNOSTICS = 100


def check_draws(chains, draws, warmup=0, method: str = "auto") -> None:
    """Refuse a sampling run too small to diagnose: chains and draws must be positive integers, warm-up
    non-negative, and, for every method but ``"map"``, chains × draws at least :data:`MIN_DRAWS_FOR_DIAGNOSTICS`.

    Raises
    ------
    SpecError
        Naming the numbers and the fix (the same line ``bayesreg fit`` prints).
    """
    from .errors import SpecError

    for label, value, minimum in (("chains", chains, 1), ("draws", draws, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise SpecError(f"--{label} must be an integer ≥ {minimum}, got {value!r}; pass e.g. --{label} "
                            f"{ {'chains': 4, 'draws': 1000, 'warmup': 500}[label]}")
    total = int(chains) * int(draws)
    if method != "map" and total < MIN_DRAWS_FOR_DIAGNOSTICS:
        raise SpecError(f"{chains} chain(s) × {draws} draws = {total} draws are too few to diagnose the sampler "
                        f"(R-hat and ESS need at least {MIN_DRAWS_FOR_DIAGNOSTICS} in total); raise --draws (e.g. "
                        "--draws 1000) or use --method map for a point estimate")


@dataclass(frozen=True)
class Health:
    """``verdict`` is ``"ok"`` or ``"unreliable"``; ``reasons`` says why; ``metrics`` holds the numbers."""

    verdict: str
    reasons: list[str] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    #: about the model rather than the computation (prior–data conflict): they do not change the verdict
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "reasons": list(self.reasons), "metrics": self.metrics,
                "warnings": list(self.warnings)}


def _finite_or_none(x):
    return float(x) if x is not None and math.isfinite(x) else None


def health(posterior: Posterior, idata=None, *, rhat_max: float = 1.01, ess_per_chain: float = 100.0,
           sensitivity=None) -> Health:
    """One verdict on ``posterior`` (``idata``: its InferenceData, if already built; ``sensitivity``: its
    :func:`~bayesreg.sensitivity.power_scaling`, if already computed)."""
    az = import_arviz()
    idata = posterior.to_inference_data(prior={}) if idata is None else idata  # the verdict reads no prior
    reasons, metrics = [], {"method": posterior.method, "chains": posterior.num_chains,
                            "draws": posterior.num_draws}
    total = posterior.num_chains * posterior.num_draws
    run = posterior.diagnostics
    remedy = f"; {run.remedy}" if run.remedy else ""
    if run.point_estimate:
        if run.converged is False:
            return Health("unreliable", [run.note], {**metrics, "converged": False})
        return Health("ok", ["a point estimate: no posterior to diagnose"], {**metrics, "converged": True})
    if total < MIN_DRAWS_FOR_DIAGNOSTICS:
        reasons.append(f"only {total} draws: at least {MIN_DRAWS_FOR_DIAGNOSTICS} are needed to estimate R-hat and "
                       "ESS; draw more")
    elif posterior.num_chains < 2 and run.markov_chain:
        reasons.append("one chain: R-hat cannot compare chains; run at least 2 (4 is usual)")
    if total >= 4 and posterior.num_draws >= 4:
        rhat = az.rhat(idata.posterior)
        ess_bulk = az.ess(idata.posterior, method="bulk")
        ess_tail = az.ess(idata.posterior, method="tail")
        worst_rhat = max(float(np.nanmax(rhat[v].values)) for v in rhat.data_vars)
        worst_bulk = min(float(np.nanmin(ess_bulk[v].values)) for v in ess_bulk.data_vars)
        worst_tail = min(float(np.nanmin(ess_tail[v].values)) for v in ess_tail.data_vars)
        metrics.update(max_rhat=_finite_or_none(worst_rhat), min_ess_bulk=_finite_or_none(worst_bulk),
                       min_ess_tail=_finite_or_none(worst_tail))
        ess_min = ess_per_chain * posterior.num_chains
        if posterior.num_chains >= 2 and not worst_rhat < rhat_max:
            reasons.append(f"R-hat up to {worst_rhat:.3f} (must be < {rhat_max}): chains disagree; run longer or "
                           f"reparametrise{remedy}")
        if not (worst_bulk >= ess_min and worst_tail >= ess_min):
            reasons.append(f"effective sample size down to {min(worst_bulk, worst_tail):.0f} (bulk/tail; needs "
                           f"≥ {ess_min:.0f} = {ess_per_chain:.0f} per chain): draw more{remedy}")
    stats = posterior.sample_stats
    if "diverging" in stats:
        n_div = int(np.sum(stats["diverging"]))
        metrics["divergences"] = n_div
        if n_div:
            reasons.append(f"{n_div} divergent transitions: the sampler missed part of the posterior; raise "
                           f"target_accept or reparametrise{remedy}")
    if "tree_depth" in stats and run.max_tree_depth is not None:
        saturated = float(np.mean(stats["tree_depth"] >= run.max_tree_depth))
        metrics["tree_depth_saturation"] = saturated
        if saturated > 0:
            reasons.append(f"{saturated:.1%} of iterations hit the maximum tree depth "
                           f"{run.max_tree_depth}: trajectories were cut short")
    if "energy" in stats:
        metrics["bfmi"] = [float(v) for v in az.bfmi(stats["energy"])]
    if run.converged is not None:
        metrics["converged"] = bool(run.converged)
        if not run.converged:
            reasons.append(run.note)
    return Health("unreliable" if reasons else "ok", reasons, metrics, _sensitivity_warnings(idata, sensitivity))


def _sensitivity_warnings(idata, found=None) -> list[str]:
    """Power-scaling diagnoses (:mod:`bayesreg.sensitivity`), one line per kind, naming the quantities."""
    from .sensitivity import CONFLICT, STRONG_PRIOR, power_scaling

    found = power_scaling(idata) if found is None else found
    if not found:
        return []
    out = []
    for kind, what in ((CONFLICT, "the prior and the data pull these apart; check the prior's scale against the "
                                  "data's"),
                       (STRONG_PRIOR, "the prior, not the data, decides these")):
        names = [k for k, v in found.items() if v.diagnosis == kind]
        if names:
            shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
            out.append(f"{kind} (power-scaling sensitivity ≥ 0.05): {shown}: {what}")
    return out


def point_table(posterior) -> dict[str, dict]:
    """Per parameter of a point estimate (``method="map"``): its value under ``map``; mean, sd, HDI, R-hat and
    ESS are None (a mode has no spread), so the table has the same keys as :func:`summary_table`'s."""
    out = {}
    for name, value in posterior.draws.items():
        value = np.asarray(value)[0, 0]
        labels = ([f"{name}[{f}]" for f in posterior.feature_names] if value.ndim else [name])
        for label, v in zip(labels, np.ravel(value), strict=True):
            out[label] = {"mean": None, "sd": None, "hdi": None, "hdi_prob": None, "r_hat": None,
                          "ess_bulk": None, "ess_tail": None, "map": float(v)}
    return out


def summary_table(idata, *, map_point: dict | None = None, hdi_prob: float = 0.94,
                  sensitivity=None) -> dict[str, dict]:
    """Per parameter (``w[feature]``, ``b``, ``sigma``, ``tau``): mean, sd, HDI, MAP (if given), R-hat, ESS, and
    ``sensitivity`` (power-scaling, to the prior and the likelihood, with the diagnosis) when the InferenceData has
    its ``log_prior`` and ``log_likelihood`` groups."""
    az = import_arviz()
    table = az.summary(idata, hdi_prob=hdi_prob, round_to="none")
    lo, hi = f"hdi_{(1 - hdi_prob) / 2:.0%}", f"hdi_{1 - (1 - hdi_prob) / 2:.0%}"
    out = {}
    features = list(idata.posterior["w"].coords["feature"].values)
    for label, row in table.iterrows():
        entry = {"mean": float(row["mean"]), "sd": float(row["sd"]),
                 "hdi": [float(row[lo]), float(row[hi])], "hdi_prob": hdi_prob,
                 "r_hat": _finite_or_none(row.get("r_hat")), "ess_bulk": _finite_or_none(row.get("ess_bulk")),
                 "ess_tail": _finite_or_none(row.get("ess_tail"))}
        if map_point is not None:
            name, _, feature = str(label).partition("[")
            value = map_point.get(name)
            if value is not None and feature:
                value = np.asarray(value)[features.index(feature.rstrip("]"))]
            entry["map"] = None if value is None else float(value)
        out[str(label)] = entry
    from .sensitivity import power_scaling

    for label, sens in ((power_scaling(idata) if sensitivity is None else sensitivity) or {}).items():
        if label in out:
            out[label]["sensitivity"] = sens.to_dict()
    return out


# ------------------------------------------------------------------------------ simulation-based calibration

def sbc_ranks(simulate, sample, *, reps: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Simulation-based calibration (Talts et al. 2018): ranks of the true parameters among posterior draws.

    ``simulate(rng)`` returns ``(truth, data)`` with ``truth = {name: array}`` drawn from the prior and ``data``
    from the model given them; ``sample(data, seed)`` returns ``{name: draws}`` with draws shaped
    ``(L, *truth[name].shape)``, nearly independent (thin MCMC). If the sampler is right, each rank
    ``#{draws < truth}`` is uniform on {0, …, L}. Returns ``{name: ranks (reps, ...)}``.
    """
    rng = np.random.default_rng(seed)
    ranks: dict[str, list] = {}
    for rep in range(reps):
        truth, data = simulate(rng)
        draws = sample(data, seed + 1 + rep)
        for name, value in truth.items():
            ranks.setdefault(name, []).append(np.sum(np.asarray(draws[name]) < np.asarray(value), axis=0))
    return {name: np.asarray(values) for name, values in ranks.items()}


def rank_uniformity_pvalue(ranks: np.ndarray, num_draws: int, bins: int = 10) -> float:
    """χ² test p-value that ranks (on 0..num_draws) are uniform, pooled into ``bins`` equal bins. ``bins`` must
    divide ``num_draws + 1`` so that every bin has the same probability."""
    from scipy import stats

    if (num_draws + 1) % bins:
        raise ValueError(f"bins ({bins}) must divide num_draws + 1 ({num_draws + 1})")
    counts = np.bincount((np.asarray(ranks).ravel() * bins) // (num_draws + 1), minlength=bins)
    return float(stats.chisquare(counts).pvalue)
