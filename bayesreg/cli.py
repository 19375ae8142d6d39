"""The ``bayesreg`` command line: parse, run, print; every error is one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import json
import math
import sys

from . import __version__
from .conventions import CONVENTIONS, from_canonical_lam, get_convention, to_canonical_lam
from .errors import BayesregError
from .priors import prior_from_penalty

__all__ = ["main", "build_parser"]

_PRIOR_EPILOG = """\
examples:
  # the weight-decay chapter of Dive into Deep Learning: λ = 3 on a mean loss over 20 rows, noise sd 0.01
  bayesreg prior l2 --lam 3 --sigma 0.01 --n 20 --convention d2l
  # scikit-learn's Lasso(alpha=0.1) on 442 rows with noise sd 54, as JSON
  bayesreg prior l1 --lam 0.1 --sigma 54 --n 442 --convention sklearn_lasso --json

conventions (what each minimises; r = y − Xw − b):
{conventions}

λ means nothing without σ: the penalised objective in canonical form, ½Σr² + pen(w), is σ² times the
negative log posterior, so p(w) ∝ exp(−pen(w)/σ²). L2 gives N(0, τ²) with τ = σ/√λ, L1 gives Laplace with
scale s = σ²/λ (λ canonical). A penalty with λ ≤ 0 implies no proper prior.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayesreg",
        description="Weight decay read the Bayesian way: the prior your regularizer assumes, "
                    "and the posterior it hides.",
    )
    parser.add_argument("--version", action="version", version=f"bayesreg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    conv_lines = "\n".join(f"  {c.name:<20} {c.objective}" for c in CONVENTIONS.values())
    p = sub.add_parser(
        "prior",
        help="the prior a penalty implies, and its λ in every convention",
        description="Derive P(w) from an L2 (weight decay) or L1 penalty: the implied prior, its density, "
                    "and the same penalty's strength in every other library's convention.",
        epilog=_PRIOR_EPILOG.format(conventions=conv_lines),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("penalty", choices=["l2", "l1"], help="l2: (λ/2)‖w‖² weight decay; l1: λ‖w‖₁ (lasso)")
    p.add_argument("--lam", type=float, required=True, metavar="L",
                   help="penalty strength as the convention writes it (alpha, weight_decay, lambd, ...)")
    p.add_argument("--sigma", type=float, required=True, metavar="S", help="noise standard deviation σ")
    p.add_argument("--n", type=int, default=None, metavar="N",
                   help="number of training rows (needed by mean-loss conventions)")
    p.add_argument("--convention", default="canonical", metavar="C",
                   help=f"one of: {', '.join(CONVENTIONS)} (default: canonical)")
    p.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    p.set_defaults(run=_run_prior)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bayesreg`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BayesregError as exc:
        print(f"bayesreg {args.command}: error: {exc}", file=sys.stderr)
        return 2


# ------------------------------------------------------------------------------------------------ prior

def prior_report(penalty: str, lam: float, sigma: float, n: int | None, convention: str) -> dict:
    """Everything ``bayesreg prior`` shows, as data (the JSON output, plus text fields for the terminal)."""
    conv = get_convention(convention)
    prior = prior_from_penalty(penalty, lam, sigma, n, conv)
    canonical = to_canonical_lam(penalty, lam, n, conv)
    lams, unsupported, needs_n = {}, [], []
    for other in CONVENTIONS.values():
        if not other.supports(penalty):
            unsupported.append(other.name)
        elif other.mean_loss and n is None:
            needs_n.append(other.name)
        else:
            lams[other.name] = from_canonical_lam(penalty, canonical, n, other)
    return {
        "prior": prior.name,
        "params": prior.params,
        "lam": lams,
        "penalty": penalty,
        "given": {"lam": lam, "convention": conv.name, "sigma": sigma, "n": n},
        "canonical_lam": canonical,
        "prior_sd": math.sqrt(prior.variance),
        "density": prior.describe(),
        "no_such_option": unsupported,
        "needs_n": needs_n,
    }


def _run_prior(args) -> int:
    report = prior_report(args.penalty, args.lam, args.sigma, args.n, args.convention)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(_format_prior(report))
    return 0


def _format_prior(r: dict) -> str:
    g = r["given"]
    conv = get_convention(g["convention"])
    pen = "(λ/2)‖w‖² (L2, weight decay)" if r["penalty"] == "l2" else "λ‖w‖₁ (L1, lasso)"
    n_text = f", n = {g['n']}" if g["n"] is not None else ""
    if r["penalty"] == "l2":
        relation = f"τ = σ/√λ = {g['sigma']:g}/√{r['canonical_lam']:.6g} = {r['params']['tau']:.6g}"
        neglog = f"−log p(w) = ‖w‖²/(2τ²) + const = {1 / (2 * r['params']['tau'] ** 2):.6g}·‖w‖² + const"
    else:
        relation = f"s = σ²/λ = {g['sigma']:g}²/{r['canonical_lam']:.6g} = {r['params']['scale']:.6g}"
        neglog = f"−log p(w) = ‖w‖₁/s + const = {1 / r['params']['scale']:.6g}·‖w‖₁ + const"
    lines = [
        f"Penalty {pen}, {conv.param_for(r['penalty'])} = {g['lam']:g} in convention {conv.name}{n_text}, "
        f"noise sd σ = {g['sigma']:g}",
        f"  objective: {conv.objective_for(r['penalty'])}   ({conv.source})",
        f"  canonical λ (½Σr² + ...): {r['canonical_lam']:.6g}",
        "",
        f"Implied prior: {r['density']}",
        f"  {relation}",
        f"  {neglog}",
        f"  prior sd of each weight: {r['prior_sd']:.6g}",
        "",
        "The same penalty in every convention:",
        f"  {'convention':<20} {'parameter':<20} value",
    ]
    for c in CONVENTIONS.values():
        if c.name in r["lam"]:
            mark = "   ← given" if c.name == conv.name else ""
            value = f"{r['lam'][c.name]:.6g}{mark}"
        elif c.name in r["needs_n"]:
            value = "depends on n: pass --n"
        else:
            value = f"— (no {r['penalty'].upper()} option)"
        param = c.param_for(r["penalty"]) if c.supports(r["penalty"]) else ""
        lines.append(f"  {c.name:<20} {param:<20} {value}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
