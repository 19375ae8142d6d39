"""``bayesreg predict``: the posterior predictive at new rows, from a saved ``bayesreg fit`` directory."""

from __future__ import annotations

import argparse

from .argparsing import seed

__all__ = ["add_predict_parser", "run"]

_EPILOG = """\
Writes one row per input row with the columns mean, sd, lower, upper: the posterior predictive mean and sd of a
new observation y* (noise included) and the central --prob interval (default 0.94: lower is its 3% quantile,
upper its 97%). The interval's mass is printed and can be set with --prob.

The new file needs the columns the fit was made with, matched by name (any order); the target column may be
present (it is ignored), any other column is refused, as are NaN, a missing column and a category level the fit
never saw. Categorical encoding and --standardize are applied exactly as in the fit.

A classifier's fit (--likelihood logistic) writes probability, sd, lower, upper instead: the posterior mean of
P(y = 1 | x) (the predictive probability of the second class), its posterior sd and its central --prob credible
interval.

From an exact fit the numbers are closed form (normal, or Student-t when σ had an inverse-gamma prior); from a
sampled fit (NUTS, Gibbs, SVI, a streamed file) they are Monte Carlo estimates over the draws (the interval from
seeded predictive draws, --seed); from --method map, the noise alone (no parameter uncertainty).

examples:
  bayesreg fit --data runs.csv --target y --prior gaussian --tau 1 --sigma 0.5 --out out/fit
  bayesreg predict --fit out/fit --data new_runs.csv --out out/predictions.csv
"""


def add_predict_parser(sub) -> None:
    """Register ``bayesreg predict`` on the CLI's subparsers."""
    p = sub.add_parser("predict", help="predict new rows from a saved fit: mean, sd and an interval per row",
                       description="The posterior predictive distribution at new rows, from the output directory "
                                   "of `bayesreg fit`.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fit", required=True, metavar="DIR", help="the --out directory of a bayesreg fit run")
    p.add_argument("--data", required=True, metavar="FILE", help="the new rows (CSV or Parquet)")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the predictions (.csv or .parquet)")
    p.add_argument("--prob", type=float, default=0.94, metavar="P",
                   help="mass of the central predictive interval (default: 0.94)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the predictive draws of a sampled fit")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    from .data import _read_table
    from .errors import SpecError
    from .outputs import check_output_file, write_atomic
    from .saved_fit import load_fit

    if not 0.0 < args.prob < 1.0:
        raise SpecError(f"--prob must be strictly between 0 and 1, got {args.prob}; e.g. --prob 0.9")
    out = Path(args.out)
    if not out.name.lower().endswith((".csv", ".parquet")):
        raise SpecError(f"--out {out} must end in .csv or .parquet")
    check_output_file(out, force=args.force, option="--out")
    fit = load_fit(args.fit)
    frame = _read_table(args.data)
    if len(frame) == 0:
        raise SpecError(f"{args.data} has no rows to predict")
    table = fit.predict(frame, prob=args.prob, seed=args.seed, label=str(args.data))
    if out.name.lower().endswith(".parquet"):
        write_atomic(out, lambda tmp: table.to_parquet(tmp, index=False))
    else:
        write_atomic(out, lambda tmp: table.to_csv(tmp, index=False, float_format="%.17g"))
    args._written = [out]
    how = {"gaussian": "closed form (normal)", "normal-inverse-gamma": "closed form (Student-t)"}
    source = (how[fit.exact["kind"]] if fit.exact else
              "a point estimate: no parameter uncertainty" if fit.method == "map" and fit.likelihood == "logistic"
              else "the noise alone (a point estimate: no parameter uncertainty)" if fit.method == "map" else
              f"Monte Carlo over the {fit.method} draws")
    print(f"predicted {len(table)} rows from the {fit.method} fit in {fit.path}: {source}")
    verdict = _fit_health(fit.path)
    if verdict:
        import sys

        print(f"warning: the fit's posterior is UNRELIABLE ({verdict}); these predictions inherit that",
              file=sys.stderr)
    if fit.likelihood == "logistic":
        positive = f" = {fit.classes[1]!r}" if fit.classes else ""
        print(f"wrote {out}: columns probability, sd, lower, upper (P(y{positive} | x): posterior mean, sd and "
              f"central {args.prob:g} credible interval)")
        return 0
    print(f"wrote {out}: columns mean, sd, lower, upper (lower/upper: the central {args.prob:g} predictive "
          "interval of a new observation)")
    return 0


def _fit_health(path) -> str:
    """The reasons a saved fit was flagged unreliable ("" when it was not, or when its summary is unreadable)."""
    import json

    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if summary.get("reliable", True):
        return ""
    return "; ".join(summary.get("health", {}).get("reasons", [])) or "see its summary.json"
