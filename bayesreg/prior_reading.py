r"""A prior read as a penalty: what ``bayesreg prior`` prints, as data.

:func:`prior_report` takes a penalty as a library writes it (``l2``, ``l1``, ``elastic-net``, ``l2-norm``,
``group-lasso``, ``log``, or the ``student-t`` prior itself) with its λ, convention, σ and n, and returns the
prior it implies, its λ in every convention, its density and normalising constant, and the statements the CLI
prints. :func:`reading_of_prior` is the same reading starting from a prior object
(:meth:`bayesreg.prior_base.Prior.reading`), or the reason no penalty reading exists.

The maths lives here, with the priors; :mod:`bayesreg.cli` only formats it.
"""

from __future__ import annotations

import math

import numpy as np

from .conventions import (
    CANONICAL,
    CONVENTIONS,
    conventions_for,
    from_canonical_lam,
    get_convention,
    sklearn_elasticnet_params,
    to_canonical_lam,
)
from .errors import SpecError
from .priors import prior_from_penalty

__all__ = ["PRIOR_PENALTIES", "prior_report", "reading_of_prior", "shrinkage_reading"]

#: What ``bayesreg prior`` takes: the penalties with a convention table, then the derived ones.
PRIOR_PENALTIES = ["l2", "l1", "elastic-net", "l2-norm", "group-lasso", "log", "student-t"]

_PRIOR_OPTIONS = {"l2": set(), "l1": set(), "elastic-net": {"l1_ratio"}, "l2-norm": {"d"},
                  "group-lasso": {"groups"}, "log": {"width"}, "student-t": {"df", "scale"}}
_OPTION_FLAGS = {"l1_ratio": "--l1-ratio", "d": "--d", "groups": "--groups", "width": "--width", "df": "--df",
                 "scale": "--scale", "lam": "--lam"}


def prior_report(penalty: str, lam: float | None, sigma: float | None, n: int | None, convention: str,
                 likelihood: str = "gaussian", **options) -> dict:
    """Everything ``bayesreg prior`` shows, as data (the JSON output, plus text fields for the terminal).

    ``options`` are the derived penalties' own: ``l1_ratio`` (elastic-net), ``d`` (l2-norm), ``groups``
    (group-lasso), ``width`` (log), ``df`` and ``scale`` (student-t); None means not given.

    ``likelihood="logistic"`` reads a classifier's penalty: there is no σ (the log-loss is the negative
    log-likelihood, so λ = 1/τ² and 1/s) and the conventions are the classifier presets
    (:data:`~bayesreg.conventions.CLASSIFIER_CONVENTIONS`); it reads ``l2`` and ``l1``.
    """
    conventions_for(likelihood)  # an unknown likelihood: one line
    if likelihood == "logistic":
        if sigma is not None:
            raise SpecError("a classifier has no noise σ: the log-loss is the negative log-likelihood itself "
                            "(λ = 1/τ²); drop --sigma")
        if penalty not in ("l2", "l1"):
            raise SpecError(f"for --likelihood logistic, bayesreg prior reads l2 and l1 (the penalties of "
                            f"LogisticRegression, SGDClassifier and weight_decay), not {penalty}")
        return _l2_l1_report(penalty, _required(lam, penalty), 1.0, n, convention, likelihood)
    if sigma is None:
        raise SpecError("the prior of a regression penalty depends on the noise: give --sigma S (λ = σ²/τ²)")
    if penalty not in _PRIOR_OPTIONS:
        raise SpecError(f"unknown penalty {penalty!r}: use one of {', '.join(PRIOR_PENALTIES)}")
    options = {k: v for k, v in options.items() if v is not None}
    wrong = sorted(set(options) - _PRIOR_OPTIONS[penalty])
    if wrong:
        flags = " and ".join(_OPTION_FLAGS.get(k, k) for k in wrong)
        raise SpecError(f"{flags} do{'es' if len(wrong) == 1 else ''} not apply to the {penalty} penalty")
    missing = sorted(_PRIOR_OPTIONS[penalty] - set(options))
    if penalty != "student-t" and lam is None:
        missing.insert(0, "lam")
    if penalty == "student-t" and lam is not None:
        raise SpecError("student-t is the prior itself: give --df NU --scale S (not --lam); for the penalty "
                        "λ Σ log(1 + w²/c²) use: bayesreg prior log --lam L --width C")
    if missing:
        raise SpecError(f"the {penalty} penalty needs {' and '.join(_OPTION_FLAGS[k] for k in missing)}"
                        + (" (the prior of ‖w‖ depends on the number of weights)" if "d" in missing else ""))
    if penalty in ("l2", "l1"):
        return _l2_l1_report(penalty, lam, sigma, n, convention)
    return _derived_report(penalty, lam, sigma, n, convention, options)


def _required(lam, penalty: str) -> float:
    if lam is None:
        raise SpecError(f"the {penalty} penalty needs --lam")
    return lam


def _l2_l1_report(penalty: str, lam: float, sigma: float, n: int | None, convention: str,
                  likelihood: str = "gaussian") -> dict:
    conv = get_convention(convention, likelihood)
    prior = prior_from_penalty(penalty, lam, sigma, n, conv)
    canonical = to_canonical_lam(penalty, lam, n, conv)
    lams, unsupported, needs_n = {}, [], []
    for other in conventions_for(likelihood).values():
        if not other.supports(penalty):
            unsupported.append(other.name)
        elif other.mean_loss and n is None:
            needs_n.append(other.name)
        else:
            lams[other.name] = from_canonical_lam(penalty, canonical, n, other)
    notes = []
    classifier = likelihood == "logistic"
    if penalty == "l2":
        notes.append(
            "PyTorch's weight_decay applies to every parameter in its group: SGD(model.parameters(), "
            "weight_decay=wd) decays the bias too, which is the prior b ~ N(0, τ²) (bias normal:τ). Give the bias a "
            "group with weight_decay=0 for the usual flat (unpenalised) bias."
        )
        log_z = 0.5 * math.log(2 * math.pi * prior.tau**2)
        statement = ("The squared norm (λ/2)‖w‖² is weight decay: it implies independent Gaussian weights "
                     "N(0, τ²), τ = σ/√λ. It is convex and smooth; its MAP is ridge regression.")
        if classifier:
            statement = ("The squared norm (λ/2)‖w‖² added to the summed log-loss implies independent Gaussian "
                         "weights N(0, τ²), τ = 1/√λ (no σ: the log-loss is the negative log-likelihood). Its MAP "
                         "is L2-penalised logistic regression; with separable classes the prior is what keeps it "
                         "finite.")
    else:
        log_z = math.log(2 * prior.scale)
        statement = ("The L1 penalty λ‖w‖₁ implies independent Laplace weights with scale s = σ²/λ. It is convex; "
                     "its MAP (the lasso) can be exactly 0, the posterior mean and median never are.")
        if classifier:
            statement = ("The L1 penalty λ‖w‖₁ added to the summed log-loss implies independent Laplace weights "
                         "with scale s = 1/λ. Its MAP (L1 logistic regression) can be exactly 0, the posterior "
                         "mean and median never are.")
    return {
        "prior": prior.name,
        "params": prior.params,
        "lam": lams,
        "notes": notes,
        "penalty": penalty,
        "given": {"lam": lam, "convention": conv.name, "sigma": None if classifier else sigma, "n": n},
        "likelihood": likelihood,
        "canonical_lam": canonical,
        "prior_sd": math.sqrt(prior.variance),
        "density": prior.describe(),
        "log_normaliser": log_z,
        "log_normaliser_of": "one coordinate",
        "statement": statement,
        "convex": True,
        "no_such_option": unsupported,
        "needs_n": needs_n,
    }


_DERIVED_TERMS = {"l2-norm": "λ ‖w‖", "group-lasso": "λ Σ_g √p_g ‖w_g‖", "log": "λ Σ log(1 + w_j²/c²)",
                  "student-t": "λ Σ log(1 + w_j²/c²)"}


def _derived_report(penalty: str, lam: float | None, sigma: float, n: int | None, convention: str,
                    options: dict) -> dict:
    from .derived_priors import StudentTPrior, general_canonical_lam, general_convention_lam, loss_text

    conv = get_convention(convention)
    notes: list[str] = []
    given = {"lam": lam, "convention": conv.name, "sigma": sigma, "n": n, **options}
    if penalty == "student-t":
        prior = StudentTPrior(options["df"], options["scale"])
        canonical = prior.canonical_lam(sigma)
        lam = general_convention_lam(canonical, n, conv) if not (conv.mean_loss and n is None) else None
        given["lam"] = lam
        given["width"] = prior.width
    else:
        extra = {"groups": options["groups"]} if "groups" in options else {}
        extra.update({k: options[k] for k in ("l1_ratio", "d", "width") if k in options})
        prior = prior_from_penalty(penalty, lam, sigma, n, conv, **extra)
        canonical = (prior.canonical_lam(sigma) if penalty == "elastic-net" else general_canonical_lam(lam, n, conv))
    lams, ratios, unsupported, needs_n = {}, {}, [], []
    for other in CONVENTIONS.values():
        if penalty == "elastic-net" and not (other.supports("l1") and other.supports("l2")):
            unsupported.append(other.name)
        elif other.mean_loss and n is None:
            needs_n.append(other.name)
        elif penalty == "elastic-net":
            alpha, rho = sklearn_elasticnet_params(from_canonical_lam("l1", canonical["l1"], n, other),
                                                   from_canonical_lam("l2", canonical["l2"], n, other))
            lams[other.name], ratios[other.name] = alpha, rho
        else:
            lams[other.name] = general_convention_lam(canonical, n, other)
    if penalty == "elastic-net":
        objective = {c.name: f"{loss_text(c)} + {c.l1_objective.split(' + ', 1)[1]} + "
                             f"{c.l2_objective.split(' + ', 1)[1]}" for c in CONVENTIONS.values()
                     if c.supports("l1") and c.supports("l2")}
    else:
        objective = {c.name: f"{loss_text(c)} + {_DERIVED_TERMS[penalty]}" for c in CONVENTIONS.values()}
        notes.append("This penalty is added to the loss by hand (no optimizer option such as weight_decay "
                     "expresses it): in each convention λ multiplies it as written, and its canonical λ is "
                     "λ_c/(2κ), κ the factor in front of Σr².")
    variance = prior.variance
    prior_sd = (np.sqrt(variance).tolist() if isinstance(variance, np.ndarray)
                else (math.sqrt(variance) if math.isfinite(variance) else None))
    report = {
        "prior": prior.name,
        "params": prior.params,
        "lam": lams,
        "notes": notes,
        "penalty": penalty,
        "given": given,
        "canonical_lam": canonical,
        "prior_sd": prior_sd,
        "density": prior.describe(),
        "log_normaliser": prior.log_normaliser,
        "log_normaliser_of": "one coordinate" if prior.separable else f"R^{prior.d}",
        "statement": prior.statement,
        "convex": bool(prior.convex),
        "objective": objective,
        "no_such_option": unsupported,
        "needs_n": needs_n,
        "explain": _explain(prior, sigma, canonical),
    }
    if penalty == "elastic-net":
        report["l1_ratio"] = ratios
    return report


def _signed(x: float) -> str:
    return f"+ {x:.6g}" if x >= 0 else f"− {-x:.6g}"


def _explain(prior, sigma: float, canonical) -> list[str]:
    """The relations and −log p(w) lines of the text output, for a derived prior."""
    s2 = sigma**2
    lz = prior.log_normaliser
    name = prior.name
    if name == "elastic-net":
        return [f"s = σ²/λ₁ = {sigma:g}²/{canonical['l1']:.6g} = {prior.scale:.6g},  "
                f"τ = σ/√λ₂ = {sigma:g}/√{canonical['l2']:.6g} = {prior.tau:.6g}",
                f"−log p(w) = ‖w‖₁/s + ‖w‖²/(2τ²) + d·log Z = {1 / prior.scale:.6g}·‖w‖₁ + "
                f"{1 / (2 * prior.tau**2):.6g}·‖w‖² + d·({lz:.6g})",
                f"log Z = log(τ√(2π)·erfcx(τ/(s√2))) = {lz:.6g} per coordinate (closed form)",
                "draws: a random sign times N(−τ²/s, τ²) truncated to (0, ∞)"]
    if name == "l2-norm":
        return [f"ℓ = σ²/c = {s2:g}/{canonical:.6g} = {prior.scale:.6g}  (c = canonical λ, in ½Σr² + c‖w‖)",
                f"−log p(w) = ‖w‖/ℓ + log Z = {1 / prior.scale:.6g}·‖w‖ {_signed(lz)}",
                f"log Z = log(2π^(d/2) Γ(d) ℓ^d / Γ(d/2)) = {lz:.6g} over R^{prior.d} (closed form)",
                f"draws: ‖w‖ ~ Gamma({prior.d}, scale {prior.scale:.6g}), direction uniform on the sphere"]
    if name == "group-lasso":
        return [f"ℓ = σ²/λ = {s2:g}/{canonical:.6g} = {prior.scale:.6g}; group g has scale ℓ/√p_g",
                f"−log p(w) = Σ_g √p_g ‖w_g‖/ℓ + log Z = {1 / prior.scale:.6g}·Σ_g √p_g ‖w_g‖ {_signed(lz)}",
                f"log Z = Σ_g log(2π^(p_g/2) Γ(p_g) (ℓ/√p_g)^p_g / Γ(p_g/2)) = {lz:.6g} over R^{prior.d}",
                "draws: per group, ‖w_g‖ ~ Gamma(p_g, scale ℓ/√p_g), direction uniform"]
    return [f"ν = 2λ/σ² − 1 = {prior.df:.6g},  s = c/√ν = {prior.width:.6g}/√{prior.df:.6g} = {prior.scale:.6g}  "
            f"(λ = {canonical:.6g} canonical, c = {prior.width:.6g})",
            f"−log p(w) = ((ν+1)/2) Σ log(1 + w_j²/(ν s²)) + d·log Z = {(prior.df + 1) / 2:.6g}·Σ log(1 + "
            f"w_j²/{prior.width**2:.6g}) + d·({lz:.6g})",
            f"log Z = log(s√(νπ) Γ(ν/2)/Γ((ν+1)/2)) = {lz:.6g} per coordinate"]


def reading_of_prior(prior, sigma: float | None = None, n: int | None = None,
                     convention: str = CANONICAL) -> dict:
    """:func:`prior_report` for a prior object: the penalty it is (its λ in ``convention``, at noise sd
    ``sigma``), or ``{"penalty": None, "reason": ...}`` when no penalty reading exists."""
    conv = get_convention(convention)
    if prior.hyperpriors():
        return {"penalty": None, "reason": "its scale has a prior of its own: λ is inferred with the weights, "
                "so no single penalty corresponds to it"}
    if prior.depends_on_sigma:
        prior = prior.conditional(sigma=sigma) if sigma is not None else prior
        if prior.depends_on_sigma:
            return {"penalty": "l2", "canonical_lam": prior.lam, "reason": None,
                    "statement": "the scale-free prior N(0, σ²/λ) is the L2 penalty with this λ at every σ"}
    if sigma is None:
        return {"penalty": None, "reason": "a penalty's λ depends on the noise sd σ: give sigma"}
    name = prior.name
    try:
        if name == "gaussian" or name == "laplace":
            penalty = "l2" if name == "gaussian" else "l1"
            lam = from_canonical_lam(penalty, prior.canonical_lam(sigma), n, conv)
            return prior_report(penalty, lam, sigma, n, conv.name)
        if name == "elastic-net":
            lam = prior.canonical_lam(sigma)
            alpha, rho = sklearn_elasticnet_params(from_canonical_lam("l1", lam["l1"], n, conv),
                                                   from_canonical_lam("l2", lam["l2"], n, conv))
            return prior_report("elastic-net", alpha, sigma, n, conv.name, l1_ratio=rho)
        if name == "student-t":
            return prior_report("student-t", None, sigma, n, conv.name, df=prior.df, scale=prior.scale)
    except SpecError as exc:
        return {"penalty": None, "reason": str(exc)}
    if name in ("l2-norm", "group-lasso"):
        from .derived_priors import general_convention_lam

        options = {"d": prior.d} if name == "l2-norm" else {"groups": ",".join(map(str, prior.groups))}
        return prior_report(name, general_convention_lam(prior.canonical_lam(sigma), n, conv), sigma, n,
                            conv.name, **options)
    return {"penalty": None, "reason": f"the {name} prior has no named penalty in the conventions table; its "
            "penalty is −σ² log p(w)"}


def shrinkage_reading(prior, d: int = 1, grid=None, *, draws: int = 200_000, seed: int = 0) -> dict:
    """A global–local prior (:mod:`bayesreg.shrinkage`) read as a penalty, which it is not: −log p(w) of one
    weight at σ = 1, every latent scale integrated out (:meth:`marginal_density`), beside the L1 and L2 penalties
    of the Laplace and Gaussian priors with the same median |w| (so all three put half their mass inside the same
    interval), each shifted to 0 at |w| = that median. Also the prior's quantiles of |w| from its own draws.
    Returns a dict (``grid``, ``penalty``, ``penalty_se`` (the Monte Carlo error of −log p where it is estimated),
    ``l1``, ``l2``, ``median_abs_w``, ``quantiles``, ``statement``, ``reason``)."""
    import math

    import numpy as np

    rng = np.random.default_rng(seed)
    w = prior.sample_vectors(rng, (draws,), max(int(d), 1))[:, 0]
    absw = np.abs(w)
    qs = (0.5, 0.9, 0.99)
    quantiles = {f"{q:g}": float(np.quantile(absw, q)) for q in qs}
    m = quantiles["0.5"]
    grid = np.asarray(grid if grid is not None else m * np.geomspace(1e-3, 1e3, 121), dtype=np.float64)
    dens, err = prior.marginal_density(np.concatenate([grid, [m]]), d=d, draws=draws, seed=seed + 1)
    with np.errstate(divide="ignore", invalid="ignore"):  # no draw reaches that far: no estimate there
        pen = -np.log(dens[:-1]) + np.log(dens[-1])
        pen_se = np.where(dens[:-1] > 0, np.hypot(err[:-1] / dens[:-1], err[-1] / dens[-1]), np.inf)
    s_l1 = m / math.log(2.0)                 # Laplace: median |w| = s ln 2
    tau_l2 = m / 0.6744897501960817          # Gaussian: median |w| = 0.674 τ
    return {"prior": prior.describe(), "d": int(d), "grid": grid, "penalty": pen, "penalty_se": pen_se,
            "l1": (grid - m) / s_l1, "l2": (grid**2 - m**2) / (2.0 * tau_l2**2), "l1_scale": s_l1, "l2_tau": tau_l2,
            "median_abs_w": m, "quantiles": quantiles, "p_small": float(np.mean(absw < 0.1 * m)),
            "reason": prior.no_penalty_reason(),
            "statement": f"{prior.describe()}: no penalty and no λ; read as −log p(w_j) it is log-like"}
