"""Every way to reach the MAP, side by side: MAP ≡ penalised training, and where practice breaks it.

For a Gaussian prior the reference is the closed-form ridge solution, against which Pyro MAP,
``torch.optim.SGD(weight_decay)``, ``Adam(weight_decay)`` (coupled L2) and ``AdamW`` (decoupled) are measured;
for a Laplace prior the reference is coordinate descent, against which Pyro MAP, proximal SGD and the naive
subgradient ``loss + λ‖w‖₁`` are measured. Each method runs to its own stated convergence criterion; the
comparison reports how far each ends from the reference, whether it converged, and its time.

Returns data only; :mod:`bayesreg.cli` prints and writes it, :mod:`bayesreg.plots` draws it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .data import Dataset
from .errors import SpecError
from .prior_base import Prior
from .priors import Bias, parse_bias
from .solvers import ConvergenceWarning, MapResult, PenalizedLeastSquares
from .solvers.closed_form import ridge
from .solvers.proximal import coordinate_descent

__all__ = ["MapComparison", "compare_map", "METHODS", "methods_for"]

#: Methods per kind of penalty, reference first.
METHODS = {
    "gaussian": ("closed_form", "pyro_map", "sgd_weight_decay", "adam_l2", "adamw"),
    "laplace": ("coordinate_descent", "pyro_map", "prox_sgd", "subgradient_sgd"),
    "other": ("penalised_minimiser", "pyro_map"),
}


#: The same for a classifier (the logistic likelihood): Newton / proximal Newton are the references.
CLASSIFIER_METHODS = {
    "gaussian": ("newton", "pyro_map", "sgd_weight_decay", "adam_l2", "adamw"),
    "laplace": ("proximal_newton", "pyro_map", "prox_sgd", "subgradient_sgd"),
    "other": ("proximal_newton", "pyro_map"),
}


def methods_for(prior, likelihood: str = "gaussian") -> tuple[str, ...]:
    """The methods for ``prior``, reference first, by the shape of its penalty: pure L2 (weight decay and the
    optimisers that implement it), pure L1 (the lasso's), anything else (the prior's own penalised solver and
    Pyro MAP). ``likelihood="logistic"``: the classifier's methods (an L1/L2 penalty only)."""
    elementwise = prior.elementwise_penalty(1.0) if not prior.hyperpriors() else None
    table = METHODS if likelihood == "gaussian" else CLASSIFIER_METHODS
    if likelihood != "gaussian" and elementwise is None:
        raise SpecError(f"bayesreg compare --likelihood {likelihood} takes an L1/L2 prior (gaussian, laplace, "
                        f"elastic-net), not {prior.name}")
    if elementwise is not None and elementwise[0] == 0:
        return table["gaussian"]
    if elementwise is not None and elementwise[1] == 0:
        return table["laplace"]
    return table["other"]

DESCRIPTIONS = {
    "closed_form": "Cholesky solve of the normal equations (dual form when d > n)",
    "newton": "Newton (IRLS) on Σ logloss + (λ/2)‖w‖², Cholesky steps, to rounding",
    "proximal_newton": "proximal Newton: IRLS + coordinate descent on the L1 model, exact zeros",
    "coordinate_descent": "coordinate descent on the Gram matrix, duality gap ≤ 1e-12 × objective",
    "pyro_map": "Pyro AutoDelta on the sampler's model (L-BFGS / proximal Newton)",
    "penalised_minimiser": "the prior's own solver: coordinate descent, FISTA or exact 1-D coordinate steps",
    "sgd_weight_decay": "torch.optim.SGD(weight_decay) on nn.MSELoss, full batch",
    "adam_l2": "torch.optim.Adam(weight_decay): coupled L2, fixed point = MAP",
    "adamw": "torch.optim.AdamW(weight_decay): decoupled decay, fixed point ≠ MAP",
    "prox_sgd": "bayesreg ProxSGD (soft-thresholding step), full batch",
    "subgradient_sgd": "torch.optim.SGD on loss + λ‖w‖₁ (subgradient): hovers, never exactly 0",
}


@dataclass(frozen=True)
class MapComparison:
    """Results of every method on one problem; ``reference`` names the exact solver."""

    data_name: str
    prior: Prior
    sigma: float | None
    bias: Bias
    problem: PenalizedLeastSquares
    feature_names: tuple[str, ...]
    n: int
    reference: str
    results: dict[str, MapResult]

    def max_abs_diff(self, name: str) -> float:
        """max_j |w_j(method) − w_j(reference)|."""
        return float(np.max(np.abs(self.results[name].w - self.results[self.reference].w)))

    def relative_diff(self, name: str) -> float:
        """max_j |Δw_j| / max_j |w_j(reference)| (inf when the reference is all zeros and the method is not)."""
        scale = float(np.max(np.abs(self.results[self.reference].w)))
        diff = self.max_abs_diff(name)
        return diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))

    def exact_zeros(self, name: str) -> int:
        return int(np.sum(self.results[name].w == 0))

    def format(self) -> str:
        """The comparison as a text table (what ``bayesreg compare`` prints)."""
        c = self
        p = c.problem
        strength = (f"λ₂ = {p.l2:.6g}" if p.l1 == 0 else f"λ₁ = {p.l1:.6g}" + (f", λ₂ = {p.l2:.6g}" if p.l2 else ""))
        if c.reference == "penalised_minimiser" and not (p.l1 or p.l2):
            strength = f"the {c.prior.name} prior's penalty −σ² log p(w)"
        params = ", ".join(f"{k} = {v:.6g}" if isinstance(v, float) else f"{k} = {v}"
                           for k, v in c.prior.params.items())
        noise = "logistic likelihood" if c.sigma is None else f"σ = {c.sigma:g}"
        loss = "Σ logloss" if c.sigma is None else "½Σr²"
        lines = [
            f"MAP on {c.data_name} ({c.n} rows, {len(c.feature_names)} features): {c.prior.name} prior {params}, "
            f"{noise}, bias {c.bias}",
            f"canonical objective {loss} + penalty with {strength}"
            + (f", λ_b = {p.bias_l2:.6g}" if p.bias_l2 else ""),
            "",
            f"  {'method':<31} {'max|Δw|':>9} {'relative':>9} {'zeros':>6} {'converged':>10}  {'iterations':<28}"
            f"{'seconds':>8}",
        ]
        for name, res in c.results.items():
            label = f"{name} (reference)" if name == c.reference else name
            rel = c.relative_diff(name)
            unit = res.info.get("iteration_unit", "")
            lines.append(
                f"  {label:<31} {c.max_abs_diff(name):9.2e} {rel:9.2e} {c.exact_zeros(name):6d} "
                f"{'yes' if res.converged else 'NO':>10}  {f'{res.iterations} ({unit})':<28}{res.seconds:8.3f}"
            )
        lines.append("")
        lines += [f"  {name:<31} {_description(name, c.sigma is None)}" for name in c.results]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready: ``{"reference": name, "methods": {name: {"w", "b", "max_abs_diff", "converged",
        "seconds", ...}}, ...}``."""
        methods = {}
        for name, res in self.results.items():
            methods[name] = {
                "w": res.w.tolist(),
                "b": res.b,
                "max_abs_diff": self.max_abs_diff(name),
                "relative_diff": _finite_or_none(self.relative_diff(name)),
                "converged": bool(res.converged),
                "iterations": int(res.iterations),
                "iteration_unit": res.info.get("iteration_unit"),
                "seconds": float(res.seconds),
                "exact_zeros": self.exact_zeros(name),
                "description": _description(name, self.sigma is None),
            }
        return {
            "data": self.data_name,
            "prior": self.prior.name,
            "prior_params": self.prior.params,
            "sigma": self.sigma,
            "bias": str(self.bias),
            "canonical": {"l1": self.problem.l1, "l2": self.problem.l2, "bias_l2": self.problem.bias_l2},
            "features": list(self.feature_names),
            "reference": self.reference,
            "methods": methods,
        }


def _description(name: str, classifier: bool) -> str:
    text = DESCRIPTIONS.get(name, "")
    return text.replace("nn.MSELoss", "nn.BCEWithLogitsLoss") if classifier else text


def _problem(prior, sigma: float, bias: Bias, reference: str) -> PenalizedLeastSquares:
    """The canonical L1/L2 objective of the prior; for another penalty, only the bias's part of it."""
    if reference != "penalised_minimiser" or prior.elementwise_penalty(sigma) is not None:
        return PenalizedLeastSquares.from_prior(prior, sigma, bias)
    if bias.kind == "normal":
        return PenalizedLeastSquares(bias="penalized", bias_l2=sigma**2 / bias.scale**2)
    return PenalizedLeastSquares(bias=bias.kind)


def _reference(reference: str, X, y, prior, sigma: float, bias: Bias, problem) -> MapResult:
    if reference in ("newton", "proximal_newton"):
        import time

        from .solvers.logistic import logistic_map

        began = time.perf_counter()
        res = logistic_map(X, y, problem, tol=1e-12)
        return MapResult(reference, res.w, res.b, res.converged, res.iterations, time.perf_counter() - began,
                         trace=np.array([res.objective]), info={"iteration_unit": "Newton step",
                                                                "objective": res.objective})
    if reference == "closed_form":
        return ridge(X, y, problem=problem)
    if reference == "coordinate_descent":
        return coordinate_descent(X, y, problem=problem)
    from .solvers.derived_map import derived_map

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a non-convex prior's local mode is said in the table
        return derived_map(X, y, prior, sigma, bias, local=not prior.convex)


def _finite_or_none(x: float):
    return x if np.isfinite(x) else None


def _run(name: str, data: Dataset, prior, sigma: float, bias: Bias, problem, reference_w,
         max_steps: int | None, likelihood=None) -> MapResult:
    from .solvers import sgd  # torch-heavy: imported only when a comparison runs
    from .solvers.pyro_map import pyro_map

    if name == "pyro_map":
        return pyro_map(data.X, data.y, prior, sigma, bias, likelihood=likelihood)
    budget = {} if max_steps is None else {"max_steps": max_steps}
    if likelihood is not None and max_steps is None and name == "prox_sgd":
        budget = {"max_steps": 20_000}  # FISTA settles in 1-8 thousand steps on breast_cancer; a budget all the same
    loss = {} if likelihood is None else {"loss": "logistic"}
    return getattr(sgd, name)(data.X, data.y, problem, reference=reference_w, **budget, **loss)


def compare_map(data: Dataset, prior: Prior, sigma: float | None, bias: str | Bias = "flat", *,
                methods: tuple[str, ...] | None = None, max_steps: int | None = None,
                progress: Callable[[str, MapResult], None] | None = None,
                likelihood: str = "gaussian") -> MapComparison:
    """Run every MAP method for ``prior`` on ``data`` and measure each against the exact reference.

    ``likelihood="logistic"`` compares a classifier's MAP (``sigma`` must be None: there is none): Newton or
    proximal Newton is the reference, the PyTorch optimisers train ``BCEWithLogitsLoss`` at the converted
    ``weight_decay`` (λ/n), Pyro MAP runs on the Bernoulli model.

    Parameters
    ----------
    methods
        A subset of :data:`METHODS` for this prior (the reference always runs first).
    max_steps
        Step budget of each PyTorch optimiser (default: each one's own, 20,000 for AdamW and the subgradient,
        which never converge to the MAP and so always spend it).
    progress
        Called as ``progress(name, result)`` after each method (the CLI prints a line).
    """
    bias = parse_bias(bias)
    if prior.local_scales() is not None:
        raise SpecError(f"no MAP to compare for the {prior.name} prior: it has no posterior mode (the density is "
                        "unbounded as a weight goes to 0); sample it with bayesreg fit (Gibbs or NUTS)")
    lik = None
    if likelihood == "logistic":
        from .logistic import LogisticLikelihood

        if sigma is not None:
            raise SpecError("a classifier has no noise σ: drop --sigma (λ = 1/τ²)")
        lik = LogisticLikelihood()
        data_y = lik.validate_target(data.y)
        if not np.array_equal(data_y, data.y):
            raise SpecError("the classifier's target must be coded 0/1 (load the data with binary=True)")
    elif likelihood != "gaussian":
        raise SpecError(f"unknown likelihood {likelihood!r}: choose gaussian or logistic")
    available = methods_for(prior, likelihood)
    sigma_value = 1.0 if lik is not None else sigma
    problem = _problem(prior, sigma_value, bias, available[0])
    wanted = available if methods is None else tuple(methods)
    unknown = [m for m in wanted if m not in available]
    if unknown:
        raise SpecError(f"unknown method(s) {', '.join(unknown)} for the {prior.name} prior: "
                        f"choose from {', '.join(available)}")
    reference = available[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # non-convergence is reported in the result
        ref = _reference(reference, data.X, data.y, prior, sigma_value, bias, problem)
    results = {reference: ref}
    if progress:
        progress(reference, ref)
    for name in wanted:
        if name == reference:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            results[name] = _run(name, data, prior, sigma_value, bias, problem, ref.w, max_steps, lik)
        if progress:
            progress(name, results[name])
    return MapComparison(data.name, prior, sigma, bias, problem, data.feature_names, data.n, reference, results)
