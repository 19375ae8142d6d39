"""``bayesreg select``: the L2 strength λ chosen on a user's data four ways, in every library's convention."""

from __future__ import annotations

import argparse
import sys

from .argparsing import real, seed

__all__ = ["add_select_parser", "run", "format_selection"]

_EPILOG = """\
methods (each reads one curve against the canonical λ of ½Σr² + (λ/2)‖w‖², i.e. Ridge(alpha=λ)):
  evidence     empirical Bayes: maximise p(y | λ) = ∫ p(y | w, b, σ) N(w | 0, σ²/λ) dw db over λ (and σ, unless
               --sigma); the same fixed point as scikit-learn's BayesianRidge (lambda_/alpha_)
  validation   the MAP on a seeded random 75% of the rows, its mean squared error on the other 25%
  cv           K-fold cross-validation (--folds, seeded KFold with shuffling): GridSearchCV(Ridge) on the same folds
  hyperprior   a log-uniform prior on λ (σ integrated out under a weak inverse-gamma prior, or --sigma): the
               posterior median of λ, with its 94% interval

Each grid starts at ±8 decades around the data's scale and widens by 4 decades on a side while an optimum sits at
its edge, up to 10^±12 times the smallest/largest column sum of squares; a pick that stays at the limit is marked
and explained ("the evidence keeps rising as λ → ∞: ..."), never reported silently.

λ means nothing without σ: τ = σ/√λ is the prior sd of each weight (σ from the evidence unless given). Features
on very different scales make one λ mean very different things per feature: consider --standardize.

A classifier (--likelihood logistic: a two-class target, canonical Σ logloss + (λ/2)‖w‖², i.e.
LogisticRegression(C = 1/λ)) reads the same four ways with the log-loss: the evidence is MacKay's Laplace
approximation, validation and cv score the mean held-out log-loss (cv: the curve LogisticRegressionCV computes
with scoring="neg_log_loss" on the same folds), the hyperprior uses the Laplace evidence; τ = 1/√λ.

examples:
  bayesreg select --data diabetes
  bayesreg select --data breast_cancer --standardize --likelihood logistic
  bayesreg select --data runs.csv --target y --drop run_id --standardize --json out/lambda.json --plot out/lambda.png
"""


def add_select_parser(sub) -> None:
    """Register ``bayesreg select`` on the CLI's subparsers."""
    from .data_options import add_data_options

    p = sub.add_parser(
        "select", help="choose λ on your data: evidence, validation, K-fold CV, a hyperprior",
        description="Choose the weight-decay strength λ on a data set four ways, side by side, and give the pick "
                    "in every library's convention.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_options(p)
    p.add_argument("--likelihood", choices=("gaussian", "logistic"), default="gaussian",
                   help="gaussian: regression (default); logistic: a classifier of a two-class target (no σ)")
    p.add_argument("--methods", default="evidence,validation,cv,hyperprior", metavar="M,M",
                   help="which methods (default: all four)")
    p.add_argument("--sigma", type=real, metavar="S", help="the noise sd, if known (default: estimated)")
    p.add_argument("--folds", type=int, default=5, metavar="K", help="cross-validation folds (default: 5)")
    p.add_argument("--seed", type=seed, default=0, metavar="K", help="seed of the validation split and the folds")
    p.add_argument("--bias", default="flat", choices=["flat", "none"],
                   help="intercept: flat (unpenalised, default, as Ridge) or none")
    p.add_argument("--json", metavar="FILE", help="write the picks (canonical λ under evidence, validation, cv, "
                                                  "hyperprior), the curves and the conventions as JSON")
    p.add_argument("--plot", metavar="FILE", help="write the four curves against λ, picks marked (PNG)")
    p.add_argument("--force", action="store_true", help="replace --json/--plot files that already exist")
    p.set_defaults(run=run)


def run(args) -> int:
    from .data_options import load_from_args
    from .errors import SpecError
    from .outputs import check_output_file, save_figure, write_json
    from .resources import configure_threads
    from .selection import SELECTION_METHODS, select_lambda

    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    unknown = [m for m in methods if m not in SELECTION_METHODS]
    if unknown or not methods:
        raise SpecError(f"unknown method(s) {', '.join(unknown) or '(none)'} in --methods; choose from "
                        f"{', '.join(SELECTION_METHODS)}")
    if args.folds < 2:
        raise SpecError(f"--folds must be an integer ≥ 2, got {args.folds}")
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        if path:
            check_output_file(path, force=args.force, option=option)
    if args.likelihood == "logistic" and args.sigma is not None:
        raise SpecError("a classifier has no noise σ (λ = 1/τ²): drop --sigma")
    args._written = []
    data = load_from_args(args)
    configure_threads(data.n, data.d)
    if args.likelihood == "logistic":
        from .classifier_selection import select_lambda_logistic

        selection = select_lambda_logistic(data, methods=methods, bias=args.bias, folds=args.folds, seed=args.seed)
    else:
        selection = select_lambda(data, methods=methods, sigma=args.sigma, bias=args.bias, folds=args.folds,
                                  seed=args.seed)
    print(format_selection(selection, data, args.likelihood))
    if args.json:
        args._written.append(write_json(args.json, {**selection.to_dict(), "data": data.name,
                                                    "likelihood": args.likelihood,
                                                    "conventions": _in_conventions(selection, args.likelihood)}))
        print(f"wrote {args._written[-1]}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from .plots import selection_curves

        args._written.append(save_figure(selection_curves(selection, title=data.name), args.plot))
        print(f"wrote {args._written[-1]}")
    return 0


def _in_conventions(selection, likelihood: str = "gaussian") -> dict:
    """Each pick in every convention with an L2 option: ``{method: {convention: value}}``."""
    from .conventions import conventions_for, from_canonical_lam

    return {name: {c.name: from_canonical_lam("l2", p.lam, selection.n, c) for c in conventions_for(likelihood).values()
                   if c.supports("l2")} for name, p in selection.picks.items()}


def format_selection(selection, data, likelihood: str | None = None) -> str:
    """The picks as a text table, each in every convention, with the notes."""
    import math

    from .conventions import conventions_for

    classifier = (likelihood or selection.likelihood) == "logistic"
    family = "logistic" if classifier else "gaussian"
    sigma = 1.0 if classifier else selection.sigma if selection.sigma is not None else selection.sigma_evidence
    sigma_text = ("a classifier: no σ, τ = 1/√λ" if classifier else
                  f"σ = {selection.sigma:g} (given)" if selection.sigma is not None else
                  f"σ̂ = {selection.sigma_evidence:.4g} (the evidence's estimate)" if selection.sigma_evidence else
                  "σ unknown")
    objective = "Σ logloss + (λ/2)‖w‖²" if classifier else "½Σr² + (λ/2)‖w‖²"
    lines = [f"λ for {data.name} ({selection.n} rows, {selection.d} features), canonical {objective}, "
             f"bias {selection.bias}; {sigma_text}", ""]
    tau_head = "τ = 1/√λ" if classifier else "τ = σ/√λ"
    header = f"  {'method':<11} {'λ (canonical)':>14} {tau_head:>11}  {'interior':<9} detail"
    lines.append(header)
    for name, p in selection.picks.items():
        tau = f"{sigma / math.sqrt(p.lam):.4g}" if sigma else "—"
        detail = (f"94% interval [{p.interval[0]:.3g}, {p.interval[1]:.3g}]" if p.interval else
                  {"cv": f"{selection.folds} folds, seed {selection.seed}",
                   "validation": f"{selection.validation_fraction:.0%} held out, seed {selection.seed}",
                   "evidence": "maximum, refined between grid points"}.get(name, ""))
        lines.append(f"  {name:<11} {p.lam:>14.6g} {tau:>11}  {'yes' if p.interior else 'NO (limit)':<9} {detail}")
    notes = [f"{name}: {p.note}" for name, p in selection.picks.items() if p.note]
    if notes:
        lines += ["", *(f"note: {n}" for n in notes)]
    table = _in_conventions(selection, family)
    lines += ["", "The same picks in every convention:",
              f"  {'convention':<22} {'parameter':<20}" + "".join(f" {m:>12}" for m in selection.picks)]
    for c in conventions_for(family).values():
        if not c.supports("l2"):
            continue
        values = "".join(f" {table[m][c.name]:>12.4g}" for m in selection.picks)
        lines.append(f"  {c.name:<22} {c.param_for('l2'):<20}{values}")
    columns = getattr(data, "columns", None)
    if columns is not None and columns.describe():
        lines += ["", *(f"columns: {line}" for line in columns.describe())]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    from .cli import main

    sys.exit(main(["select", *sys.argv[1:]]))
