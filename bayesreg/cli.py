"""The ``bayesreg`` command line: parse, run, print; every error is one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__
from .argparsing import Parser, real, seed
from .conventions import (
    CLASSIFIER_CONVENTIONS,
    CONVENTIONS,
    conventions_for,
    get_convention,
    to_canonical_lam,
)
from .errors import BayesregError, SpecError
from .loo_command import add_loo_parser
from .predict_command import add_predict_parser
from .prior_reading import PRIOR_PENALTIES, prior_report
from .priors import CLI_PRIORS
from .report import add_report_parser
from .select_command import add_select_parser
from .shrinkage import SHRINKAGE_PRIORS

__all__ = ["main", "build_parser", "prior_report", "PRIOR_PENALTIES"]


_PRIOR_EPILOG = """\
examples:
  # the weight-decay chapter of Dive into Deep Learning: λ = 3 on a mean loss over 20 rows, noise sd 0.01
  bayesreg prior l2 --lam 3 --sigma 0.01 --n 20 --convention d2l
  # scikit-learn's Lasso(alpha=0.1) on 442 rows with noise sd 54, as JSON
  bayesreg prior l1 --lam 0.1 --sigma 54 --n 442 --convention sklearn_lasso --json
  # scikit-learn's ElasticNet(alpha=0.1, l1_ratio=0.5)
  bayesreg prior elastic-net --lam 0.1 --l1-ratio 0.5 --sigma 54 --n 442 --convention sklearn_elasticnet
  # loss = F.mse_loss(pred, y) + 0.01 * torch.norm(w): the unsquared norm, 10 weights (not weight decay)
  bayesreg prior l2-norm --lam 0.01 --sigma 1 --n 100 --d 10 --convention torch_sgd_mse
  # group lasso λ Σ_g √p_g ‖w_g‖ on three groups of consecutive columns
  bayesreg prior group-lasso --lam 5 --groups 3,3,4 --sigma 1
  # the log penalty λ Σ log(1 + w²/c²), and the Student-t prior it is
  bayesreg prior log --lam 2 --width 1 --sigma 1
  bayesreg prior student-t --df 3 --scale 0.5 --sigma 1

conventions (what each minimises; r = y − Xw − b):
{conventions}

λ means nothing without σ: the penalised objective in canonical form, ½Σr² + pen(w), is σ² times the
negative log posterior, so p(w) ∝ exp(−pen(w)/σ²). L2 gives N(0, τ²) with τ = σ/√λ, L1 gives Laplace with
scale s = σ²/λ (λ canonical). A penalty with λ ≤ 0 implies no proper prior, and neither does one that grows too
slowly (a log penalty with λ ≤ σ²/2).

penalties:
  l2           (λ/2)‖w‖², weight decay             → Gaussian N(0, τ²), τ = σ/√λ
  l1           λ‖w‖₁, the lasso                    → Laplace, s = σ²/λ
  elastic-net  αρ‖w‖₁ + (α(1−ρ)/2)‖w‖² (--lam α)    → ∝ exp(−|w|/s − w²/(2τ²)) per weight
  l2-norm      λ‖w‖ (torch.norm, not squared)      → radial ∝ exp(−‖w‖/ℓ) on R^d, ℓ = σ²/λ; needs --d
  group-lasso  λ Σ_g √p_g ‖w_g‖                     → one radial prior per group; needs --groups
  log          λ Σ log(1 + w²/c²)                  → Student-t, ν = 2λ/σ² − 1, s = c/√ν; needs --width
  student-t    (the prior; --df ν --scale s)        → the log penalty with λ = σ²(ν+1)/2, c = s√ν
A penalty you add to a library's loss by hand (l2-norm, group-lasso, log) scales with the loss: its canonical
λ is λ_c/(2κ), κ the factor in front of Σr² in the convention.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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
        description="Derive P(w) from a penalty (L2 weight decay, L1, elastic net, the unsquared norm, group "
                    "lasso, the log penalty): the implied prior, its normalised density, or why there is none, "
                    "and the same penalty's strength in every other library's convention.",
        epilog=_PRIOR_EPILOG.format(conventions=conv_lines),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("penalty", choices=PRIOR_PENALTIES + list(SHRINKAGE_PRIORS),
                   help="l2: (λ/2)‖w‖² weight decay; l1: λ‖w‖₁ (lasso); elastic-net; l2-norm: λ‖w‖; group-lasso; "
                        "log: λΣlog(1 + w²/c²); student-t (see below); or a shrinkage prior, which is no penalty: "
                        "horseshoe, regularised-horseshoe, horseshoe+, r2-d2 (its −log p(w) beside L1 and L2)")
    p.add_argument("--lam", type=real, metavar="L",
                   help="penalty strength as the convention writes it (alpha, weight_decay, lambd, ...); "
                        "every penalty but student-t needs it")
    p.add_argument("--l1-ratio", type=real, metavar="R",
                   help="elastic-net: scikit-learn's l1_ratio ρ, 0 < ρ < 1 (L1 strength λρ, L2 strength λ(1−ρ))")
    p.add_argument("--d", type=int, metavar="D", help="l2-norm: the number of weights (the prior depends on it)")
    p.add_argument("--groups", metavar="P,P,...", help="group-lasso: group sizes of consecutive columns, e.g. 3,3,4")
    p.add_argument("--width", type=real, metavar="C", help="log: the width c in log(1 + w²/c²)")
    p.add_argument("--df", type=real, metavar="NU", help="student-t: degrees of freedom ν")
    p.add_argument("--scale", type=real, metavar="S", help="student-t: the scale s")
    p.add_argument("--likelihood", choices=("gaussian", "logistic"), default="gaussian",
                   help="gaussian: a regression's squared loss (default); logistic: a classifier's log-loss "
                        "(LogisticRegression, BCEWithLogitsLoss): no σ, λ = 1/τ²")
    p.add_argument("--sigma", type=real, metavar="S",
                   help="noise standard deviation σ (regression: required; a classifier has none)")
    p.add_argument("--n", type=int, default=None, metavar="N",
                   help="number of training rows (needed by mean-loss conventions)")
    p.add_argument("--convention", default="canonical", metavar="C",
                   help=f"regression: one of {', '.join(CONVENTIONS)}; classifier (--likelihood logistic): one of "
                        f"{', '.join(CLASSIFIER_CONVENTIONS)} (default: canonical)")
    p.add_argument("--tau-prior", metavar="halfcauchy:T0", help="horseshoes: the global scale's prior (default "
                   "halfcauchy:1)")
    p.add_argument("--expected-nonzero", type=real, metavar="P0",
                   help="horseshoes: τ₀ = p₀/(d − p₀)/√n from p₀ expected non-zero weights (needs --n and --d)")
    p.add_argument("--slab-scale", type=real, metavar="S", help="regularised-horseshoe: slab scale in units of σ")
    p.add_argument("--slab-df", type=real, metavar="NU", help="regularised-horseshoe: slab degrees of freedom")
    p.add_argument("--r2-prior", metavar="beta:A,B", help="r2-d2: the prior on R² (default beta:1,1)")
    p.add_argument("--plot", metavar="FILE", help="shrinkage priors: write −log p(w) against L1 and L2 (PNG)")
    p.add_argument("--force", action="store_true", help="replace the --plot file if it exists")
    p.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    p.set_defaults(run=_run_prior)
    _add_compare(sub)
    _add_fit(sub)
    add_select_parser(sub)
    add_predict_parser(sub)
    add_loo_parser(sub)
    add_report_parser(sub)
    return parser


_FIT_EPILOG = """\
examples:
  # exact conjugate posterior of weight decay on diabetes (Gaussian prior, σ known)
  bayesreg fit --data diabetes --prior gaussian --tau 20 --sigma 54 --out out/fit-ridge
  # the Bayesian lasso by Gibbs sampling, with a prior on σ
  bayesreg fit --data diabetes --prior laplace --scale 13 --sigma-prior invgamma:2,3000 --out out/fit-lasso
  # infer λ too: a half-Cauchy prior on τ, sampled with NUTS
  bayesreg fit --data diabetes --prior gaussian --tau-prior halfcauchy:50 --sigma 54 --method nuts --out out/h
  # scikit-learn's ElasticNet(alpha=0.01, l1_ratio=0.5) read as a prior: its MAP, then its posterior
  bayesreg fit --data diabetes --prior elastic-net --lam 0.01 --l1-ratio 0.5 --convention sklearn_elasticnet \
      --sigma 54 --method map --out out/enet-map
  bayesreg fit --data diabetes --prior elastic-net --lam 0.01 --l1-ratio 0.5 --convention sklearn_elasticnet \
      --sigma 54 --out out/enet

--prior takes every prior `bayesreg prior` knows, with the same options: gaussian (l2), laplace (l1),
elastic-net --lam A --l1-ratio R, l2-norm --lam L [--d D], group-lasso --lam L --groups P,P,..,
log --lam L --width C, student-t --df NU --scale S.

--method auto (the default) takes the first method that can run the model: exact where it is conjugate
(gaussian prior with --sigma; gaussian --lam with --sigma-prior invgamma:A,B, i.e. w | σ ~ N(0, σ²/λ)), gibbs
for a laplace prior (σ fixed or invgamma), nuts otherwise. --method laplace draws from the Laplace
approximation N(mode, H⁻¹) (an approximation, every scale fixed). A method that cannot run the model says why and
names those that can. --method map writes the posterior mode alone (the same files, one "draw"); every fit
reports the mode in the MAP column, with its definition: the joint mode of (w, b, σ) on their own scales, for a
hierarchical τ the mode of its marginal posterior where that has a closed form, else no value and the reason.

Writes DIR/posterior.nc (ArviZ InferenceData, with a prior group), DIR/summary.json (per parameter: mean, sd,
94% HDI, MAP, R-hat, ESS; the health verdict; which weights matter: SAVS, the 94% interval rule and, for
regression, a projection-predictive ranking with its suggested size, cross-validated with --validate-search K;
the same --seed gives the same file),
DIR/model.json (the column recipe and, for an exact fit, the closed form: what `bayesreg predict` reads),
DIR/timing.json (seconds) and diagnostic plots (PNG). An unreliable posterior (divergences, R-hat ≥ 1.01, low
ESS, SVI not converged) is flagged on the terminal and in summary.json ("reliable": false, with the reasons).
Fewer than 100 draws in all are refused. Everything is built in a temporary directory and renamed into place: an
error or Ctrl-C leaves complete results or none.

a classifier (--likelihood logistic: a two-class target, no σ, λ = 1/τ²):
  # scikit-learn's LogisticRegression(C=1) read as a prior, its posterior by NUTS (the default; gibbs: the
  # Pólya–Gamma sampler); calibration.png replaces the PPC, and predict gives P(class 1) with its interval
  bayesreg fit --data breast_cancer --standardize --likelihood logistic --prior gaussian --lam 1 \
      --convention sklearn_logistic --out out/cancer
  bayesreg fit --data mail.csv --target label --likelihood logistic --prior laplace --scale 0.5 --out out/mail

your own file:
  # choose columns, one-hot encode text columns, standardise; then predict new rows
  bayesreg fit --data runs.csv --target y --drop run_id --standardize --prior gaussian --lam 15 --sigma 54 --out out/fit
  bayesreg predict --fit out/fit --data new_runs.csv --out out/predictions.csv

data larger than memory:
  # stream a Parquet/CSV file in chunks: only n, the means and the centred cross-products are kept (O(d²))
  bayesreg fit --data big.parquet --target y --engine chunks --prior gaussian --tau 1 --sigma 1 --out out/big
  # form the statistics with Dask, on a running cluster
  bayesreg fit --data big.parquet --target y --engine dask --scheduler tcp://10.0.0.5:8786 ... --out out/big
With a streaming engine the outputs that need the rows (pointwise log-likelihood, posterior predictive, its
plot) are skipped, and SVI, which trains on the rows, is refused.
"""


def _add_fit(sub) -> None:
    p = sub.add_parser(
        "fit",
        help="full posterior inference: exact, NUTS, SVI, Gibbs; diagnostics and plots",
        description="Sample the posterior that a penalised fit summarises by one point, check that the sampler "
                    "can be trusted, and write the draws, a summary and plots.",
        epilog=_FIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_and_prior_options(p)
    p.add_argument("--tau-prior", metavar="SPEC",
                   help="a prior on the weights' scale instead of fixing it (halfnormal:S, halfcauchy:S, "
                        "invgamma:A,B on τ²): λ is inferred")
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("--sigma", type=real, metavar="S",
                       help="noise standard deviation σ, fixed (regression: --sigma or --sigma-prior is required)")
    noise.add_argument("--sigma-prior", metavar="SPEC",
                       help="a prior on σ: halfnormal:S, halfcauchy:S, or invgamma:A,B on σ²")
    from .fitting import METHODS

    p.add_argument("--method", default="auto", choices=METHODS, help="inference method (default: auto)")
    p.add_argument("--chains", type=int, default=4, help="chains (default: 4)")
    p.add_argument("--draws", type=int, default=1000, help="draws kept per chain (default: 1000)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up iterations per chain (default: 300 NUTS steps, "
                   "as NUTS starts at the MAP with its mass matrix set; 500 Gibbs sweeps)")
    p.add_argument("--seed", type=seed, default=0, help="random seed, 0 to 2³²−1 (default: 0)")
    p.add_argument("--mass", choices=["dense", "diagonal"], default=None,
                   help="NUTS's mass matrix: dense (default: the posterior covariance, correlations included) or "
                        "diagonal (its variances only)")
    p.add_argument("--dense-mass", action="store_true", help="the same as --mass dense")
    p.add_argument("--nuts-path", choices=["auto", "marginal", "non-centred"], default=None,
                   help="NUTS under a shrinkage prior: marginal samples the scales with the weights integrated out "
                        "(no funnel; each step O(d³), or O(n²d) when d > n), non-centred samples w = σ·scale·z "
                        "(each step O(d²), but the horseshoe's funnel makes it diverge); auto (the default) takes "
                        "marginal unless a run would take about half an hour or more")
    p.add_argument("--guide", default="mvn", choices=["normal", "mvn", "lowrank"],
                   help="SVI guide: mean-field normal, full-rank mvn (default), lowrank")
    p.add_argument("--validate-search", type=int, default=None, metavar="K",
                   help="cross-validate the projection-predictive search with K folds (K = 5 is projpred's choice): "
                        "the fit is repeated on each fold's other rows and the search with it, so the suggested "
                        "size comes from held-out elpd, not from the optimistic in-sample one; costs K more fits "
                        "(regression, rows in memory)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (must not hold results)")
    p.add_argument("--force", action="store_true", help="replace the results already in DIR")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.set_defaults(run=_run_fit)


_COMPARE_EPILOG = """\
examples:
  # weight decay on scikit-learn's diabetes data: prior N(0, 20²), noise sd 54
  bayesreg compare --data diabetes --prior gaussian --tau 20 --sigma 54 --plot out/compare.png
  # the chapter's λ = 3 as a Laplace prior instead, with the bias penalised too
  bayesreg compare --data d2l --prior laplace --lam 3 --convention d2l --sigma 0.01 --bias normal:1
  # your own CSV, as JSON
  bayesreg compare --data runs.csv --target y --prior laplace --scale 0.5 --sigma 1 --json out/map.json

methods (the first of each is the exact reference):
  gaussian: closed_form, pyro_map, sgd_weight_decay, adam_l2, adamw
  laplace:  coordinate_descent, pyro_map, prox_sgd, subgradient_sgd
  a classifier (--likelihood logistic, no --sigma): gaussian: newton, pyro_map, sgd_weight_decay, adam_l2, adamw;
            laplace: proximal_newton, pyro_map, prox_sgd, subgradient_sgd; the optimisers train
            BCEWithLogitsLoss at weight_decay = λ/n, e.g.
            bayesreg compare --data breast_cancer --standardize --likelihood logistic --prior gaussian --lam 1 \
                --convention sklearn_logistic
  others (elastic-net, l2-norm, group-lasso, log, student-t): penalised_minimiser (the prior's own solver:
            coordinate descent, FISTA or exact 1-D steps), pyro_map
Each runs to its own convergence criterion. SGD with weight decay, Adam(weight_decay), proximal SGD and
Pyro MAP reach the MAP; AdamW's decoupled decay and the subgradient of λ‖w‖₁ do not, and the table
says by how much. With --engine chunks or dask only the sufficient statistics are kept: the reference and Pyro
MAP (flat bias) run, and the PyTorch optimisers, which train on the rows, are skipped (refused if named).
"""


def _add_data_and_prior_options(p) -> None:
    from .data_options import add_data_options

    add_data_options(p)
    p.add_argument("--likelihood", choices=("gaussian", "logistic"), default="gaussian",
                   help="gaussian: regression with noise sd σ (default); logistic: a classifier (Bernoulli, logit "
                        "link) of a two-class target (0/1 or two labels): no σ, λ = 1/τ²; its --convention is one "
                        "of " + ", ".join(CLASSIFIER_CONVENTIONS))
    p.add_argument("--prior", required=True, choices=CLI_PRIORS + tuple(SHRINKAGE_PRIORS), metavar="PRIOR",
                   help="gaussian (= l2, weight decay), laplace (= l1), a penalty's prior as `bayesreg prior` "
                        "reads it: elastic-net, l2-norm, group-lasso, log, student-t; or a shrinkage prior with "
                        "latent scales (no λ, no MAP; regression, scaled by σ): horseshoe, regularised-horseshoe, "
                        "horseshoe+, r2-d2")
    p.add_argument("--tau", type=real, metavar="T", help="gaussian prior standard deviation τ")
    p.add_argument("--scale", type=real, metavar="S",
                   help="laplace prior scale s (variance 2s²); student-t scale")
    p.add_argument("--l1-ratio", type=real, metavar="R", help="elastic-net: scikit-learn's l1_ratio ρ (with --lam α)")
    p.add_argument("--d", type=int, metavar="D", help="l2-norm: the number of weights (default: the data's)")
    p.add_argument("--groups", metavar="P,P,...", help="group-lasso: sizes of consecutive column groups, e.g. 3,3,4")
    p.add_argument("--width", type=real, metavar="C", help="log: the width c in log(1 + w²/c²)")
    p.add_argument("--df", type=real, metavar="NU", help="student-t: degrees of freedom ν")
    p.add_argument("--lam", type=real, metavar="L", help="penalty strength instead of τ or s (see --convention)")
    p.add_argument("--expected-nonzero", type=real, metavar="P0",
                   help="horseshoes: the global scale from p₀ expected non-zero weights, τ₀ = p₀/(d − p₀)/√n "
                        "(Piironen & Vehtari); default τ ~ halfcauchy:1, or give --tau-prior halfcauchy:T0")
    p.add_argument("--slab-scale", type=real, metavar="S",
                   help="regularised-horseshoe: slab scale in units of σ (default 2)")
    p.add_argument("--slab-df", type=real, metavar="NU",
                   help="regularised-horseshoe: slab degrees of freedom (default 4)")
    p.add_argument("--r2-prior", metavar="beta:A,B", help="r2-d2: the prior on R² (default beta:1,1, uniform)")
    p.add_argument("--convention", metavar="C", help="convention of --lam (default canonical): "
                   + ", ".join(CONVENTIONS))
    p.add_argument("--bias", default="flat", metavar="B",
                   help="prior on the intercept: flat (unpenalised, default), none (b = 0) or normal:S (penalised)")
    p.add_argument("--engine", default="auto", choices=["auto", "memory", "chunks", "dask"],
                   help="how a file is read: auto (default: memory, or chunks for a file too large for memory when "
                        "the method needs only the sufficient statistics; a note says so), memory (every output), "
                        "chunks (streamed in --chunk-rows rows, O(d²) memory: only the sufficient statistics are "
                        "kept), dask (the statistics formed per partition by dask.dataframe, locally or on "
                        "--scheduler)")
    p.add_argument("--chunk-rows", type=int, default=None, metavar="N",
                   help="rows per chunk for --engine chunks (default 65536)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="--engine dask: address of a running dask.distributed scheduler (default: local threads)")


def _add_compare(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="MAP ≡ weight decay: every solver and optimiser side by side",
        description="Reach the MAP every way there is (closed form or coordinate descent, Pyro MAP, and "
                    "PyTorch training at the converted weight decay) and measure how far each ends from it.",
        epilog=_COMPARE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_and_prior_options(p)
    p.add_argument("--sigma", type=real, metavar="S",
                   help="noise standard deviation σ (fixed; regression only)")
    p.add_argument("--methods", metavar="M,M", help="comma-separated subset of the methods (default: all)")
    p.add_argument("--json", metavar="FILE", help="write the comparison as JSON to FILE")
    p.add_argument("--plot", metavar="FILE", help="write the convergence plot (PNG) to FILE")
    p.add_argument("--force", action="store_true", help="replace --json/--plot files that already exist")
    p.set_defaults(run=_run_compare)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bayesreg`` console script; returns the exit status."""
    import warnings

    parser = build_parser()
    args = parser.parse_args(argv)
    shown = warnings.showwarning
    warnings.showwarning = _one_line_warning(args.command)
    try:
        return args.run(args)
    except BayesregError as exc:
        print(f"bayesreg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (OverflowError, ZeroDivisionError, FloatingPointError) as exc:  # numbers beyond float64, not a bug
        print(f"bayesreg {args.command}: error: the numbers given leave the floating-point range ({exc}); use "
              "values of moderate size (rescale y or the features)", file=sys.stderr)
        return 2
    except MemoryError as exc:
        print(f"bayesreg {args.command}: error: out of memory ({exc}); use fewer draws, --engine chunks for a "
              "large file, or a machine with more memory", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bayesreg {args.command}: interrupted (Ctrl-C): {_interrupted_state(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `bayesreg prior ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        warnings.showwarning = shown


def _one_line_warning(command: str):
    """``warnings.showwarning`` for the terminal: ``bayesreg CMD: warning: <first line>``, once per message,
    without the source line Python prints by default (a user needs the message, not our code)."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        if text in seen:
            return
        seen.add(text)
        kind = "" if issubclass(category, UserWarning) else f" ({category.__name__})"
        print(f"bayesreg {command}: warning{kind}: {text}", file=file or sys.stderr)

    return show


def _interrupted_state(args) -> str:
    """What an interrupted command left behind, in words (complete outputs or none; never half-written)."""
    out = getattr(args, "out", None)
    if out is not None:
        if getattr(args, "_committed", False):
            return f"the results in {out} are complete (they were written before the interruption)"
        before = "its previous results are untouched" if getattr(args, "_existed", False) else "it does not exist"
        return f"nothing was written to {out} ({before})"
    written = getattr(args, "_written", [])
    if written:
        return f"complete: {', '.join(map(str, written))}; nothing else was written"
    return "nothing was written"


# ------------------------------------------------------------------------------------------------ prior

def _run_prior(args) -> int:
    shrinkage_flags = [flag for flag, v in (("--tau-prior", args.tau_prior), ("--expected-nonzero",
                                                                              args.expected_nonzero),
                                            ("--slab-scale", args.slab_scale), ("--slab-df", args.slab_df),
                                            ("--r2-prior", args.r2_prior), ("--plot", args.plot)) if v is not None]
    if args.penalty in SHRINKAGE_PRIORS:
        return _run_shrinkage_prior(args)
    if shrinkage_flags:
        raise SpecError(f"{' and '.join(shrinkage_flags)} belong{'s' if len(shrinkage_flags) == 1 else ''} to the "
                        f"shrinkage priors (horseshoe, regularised-horseshoe, horseshoe+, r2-d2), not {args.penalty}")
    report = prior_report(args.penalty, args.lam, args.sigma, args.n, args.convention, args.likelihood,
                          l1_ratio=args.l1_ratio,
                          d=args.d, groups=args.groups, width=args.width, df=args.df, scale=args.scale)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(_format_prior(report) if report["penalty"] in ("l2", "l1") else _format_derived(report))
    return 0


def _run_shrinkage_prior(args) -> int:
    """``bayesreg prior horseshoe ...``: the prior, why it is no penalty, −log p(w_j) beside L1 and L2."""
    from .prior_reading import shrinkage_reading
    from .shrinkage import shrinkage_prior_from_options

    given = [flag for flag, v in (("--lam", args.lam), ("--l1-ratio", args.l1_ratio), ("--groups", args.groups),
                                  ("--width", args.width), ("--df", args.df), ("--scale", args.scale))
             if v is not None]
    if given:
        raise SpecError(f"the {args.penalty} prior has no λ and no fixed scale ({', '.join(given)}): set its global "
                        "scale with --tau-prior halfcauchy:T0 or --expected-nonzero P0")
    if args.likelihood == "logistic":
        raise SpecError(f"the {args.penalty} prior is scaled by the noise σ: it is for regression")
    if args.expected_nonzero is not None and (args.n is None or args.d is None):
        raise SpecError("--expected-nonzero needs the number of rows and of weights: --n N --d D")
    if args.plot:
        from .outputs import check_output_file

        check_output_file(args.plot, force=args.force, option="--plot")
    d = args.d if args.d is not None else 1
    prior = shrinkage_prior_from_options(args.penalty, n=args.n or 1, d=max(d, 1), tau_prior=args.tau_prior,
                                         expected_nonzero=args.expected_nonzero, slab_scale=args.slab_scale,
                                         slab_df=args.slab_df, r2_prior=args.r2_prior)
    reading = shrinkage_reading(prior, d=d)
    sigma = args.sigma
    if args.json:
        out = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in reading.items()}
        out.update(penalty=None, name=args.penalty, params=prior.params, sigma=sigma)
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(_format_shrinkage(reading, sigma))
    if args.plot:
        from .outputs import save_figure
        from .plots import shrinkage_penalty

        save_figure(shrinkage_penalty(reading, name=args.penalty), args.plot)
        print(f"wrote {args.plot}")
    return 0


def _format_shrinkage(r: dict, sigma: float | None) -> str:
    import numpy as np

    m = r["median_abs_w"]
    unit = "σ" if sigma is None else f"σ = {sigma:g}"
    lines = [f"Prior: {r['prior']}", f"  no penalty: {r['reason']}", "",
             f"−log p(w_j) of one weight in units of {unit}, every latent scale integrated out, 0 at the prior's "
             f"median |w_j| = {m:.4g}σ,",
             f"beside the L1 and L2 penalties of the Laplace (s = {r['l1_scale']:.4g}σ) and Gaussian "
             f"(τ = {r['l2_tau']:.4g}σ) priors with the same median:",
             f"  {'|w_j|/σ':>10} {'this prior':>12} {'L1':>10} {'L2':>12}"]
    for k in range(0, len(r["grid"]), 12):
        pen = "—" if r["penalty_se"][k] > 0.05 else f"{r['penalty'][k]:.3f}"
        lines.append(f"  {r['grid'][k]:10.4g} {pen:>12} {r['l1'][k]:10.3f} {r['l2'][k]:12.4g}")
    q = r["quantiles"]
    lines += ["", f"Prior draws of one weight: |w_j| median {q['0.5']:.3g}σ, 90% {q['0.9']:.3g}σ, 99% "
              f"{q['0.99']:.3g}σ; P(|w_j| < {0.1 * m:.3g}σ) = {r['p_small']:.2f}"
              + ("" if sigma is None else f" (in the weights' units: times σ = {sigma:g})"),
              "  (— : the Monte Carlo estimate of −log p is too uncertain there; the density is tiny)"
              if np.any(r["penalty_se"][::12] > 0.05) else
              "  (the heavy tail: −log p grows at most like 2 log|w|, so large weights are barely shrunk)"]
    return "\n".join(lines)


def _format_prior(r: dict) -> str:
    g = r["given"]
    family = r.get("likelihood", "gaussian")
    conv = get_convention(g["convention"], family)
    classifier = family == "logistic"
    pen = "(λ/2)‖w‖² (L2, weight decay)" if r["penalty"] == "l2" else "λ‖w‖₁ (L1, lasso)"
    n_text = f", n = {g['n']}" if g["n"] is not None else ""
    if r["penalty"] == "l2":
        relation = (f"τ = 1/√λ = 1/√{r['canonical_lam']:.6g} = {r['params']['tau']:.6g}" if classifier else
                    f"τ = σ/√λ = {g['sigma']:g}/√{r['canonical_lam']:.6g} = {r['params']['tau']:.6g}")
        neglog = f"−log p(w) = ‖w‖²/(2τ²) + const = {1 / (2 * r['params']['tau'] ** 2):.6g}·‖w‖² + const"
    else:
        relation = (f"s = 1/λ = 1/{r['canonical_lam']:.6g} = {r['params']['scale']:.6g}" if classifier else
                    f"s = σ²/λ = {g['sigma']:g}²/{r['canonical_lam']:.6g} = {r['params']['scale']:.6g}")
        neglog = f"−log p(w) = ‖w‖₁/s + const = {1 / r['params']['scale']:.6g}·‖w‖₁ + const"
    noise = "logistic likelihood (no σ)" if classifier else f"noise sd σ = {g['sigma']:g}"
    lines = [
        f"Penalty {pen}, {conv.param_for(r['penalty'])} = {g['lam']:g} in convention {conv.name}{n_text}, {noise}",
        f"  objective: {conv.objective_for(r['penalty'])}   ({conv.source})",
        f"  canonical λ ({'Σ logloss' if classifier else '½Σr²'} + ...): {r['canonical_lam']:.6g}",
        "",
        f"Implied prior: {r['density']}",
        f"  {relation}",
        f"  {neglog}",
        f"  prior sd of each weight: {r['prior_sd']:.6g}",
        *(f"  note: {note}" for note in r["notes"]),
        "",
        "The same penalty in every convention:",
        f"  {'convention':<22} {'parameter':<20} value",
    ]
    for c in conventions_for(family).values():
        if c.name in r["lam"]:
            mark = "   ← given" if c.name == conv.name else ""
            value = f"{r['lam'][c.name]:.6g}{mark}"
        elif c.name in r["needs_n"]:
            value = "depends on n: pass --n"
        else:
            value = f"— (no {r['penalty'].upper()} option)"
        param = c.param_for(r["penalty"]) if c.supports(r["penalty"]) else ""
        lines.append(f"  {c.name:<22} {param:<20} {value}")
    return "\n".join(lines)


_PENALTY_TITLES = {"elastic-net": "αρ‖w‖₁ + (α(1−ρ)/2)‖w‖² (elastic net)",
                   "l2-norm": "λ‖w‖ (the unsquared L2 norm, torch.norm(w))",
                   "group-lasso": "λ Σ_g √p_g ‖w_g‖ (group lasso)",
                   "log": "λ Σ log(1 + w_j²/c²) (the log penalty)",
                   "student-t": "λ Σ log(1 + w_j²/c²) (the log penalty of a Student-t prior)"}


def _format_derived(r: dict) -> str:
    import textwrap

    g = r["given"]
    conv = get_convention(g["convention"])
    extras = {"l1_ratio": "l1_ratio", "d": "d", "groups": "groups", "width": "c", "df": "ν", "scale": "s"}
    given = [f"{label} = {g[k]}" if k == "groups" else f"{label} = {g[k]:g}" for k, label in extras.items()
             if g.get(k) is not None]
    lam_text = "" if g["lam"] is None else f"{'alpha' if r['penalty'] == 'elastic-net' else 'λ'} = {g['lam']:g}, "
    n_text = f", n = {g['n']}" if g["n"] is not None else ""
    canonical = r["canonical_lam"]
    can_text = (f"λ₁ = {canonical['l1']:.6g} (½Σr² + λ₁‖w‖₁ + (λ₂/2)‖w‖²), λ₂ = {canonical['l2']:.6g}"
                if isinstance(canonical, dict) else f"{canonical:.6g}")
    sd = r["prior_sd"]
    sd_text = ("infinite (ν ≤ 2)" if sd is None else ", ".join(f"{v:.6g}" for v in dict.fromkeys(sd))
               if isinstance(sd, list) else f"{sd:.6g}")
    lines = [
        f"Penalty {_PENALTY_TITLES[r['penalty']]}, {lam_text}{', '.join(given)} in convention {conv.name}{n_text}, "
        f"noise sd σ = {g['sigma']:g}",
        f"  objective: {r['objective'].get(conv.name, '')}",
        f"  loss scaled as in: {conv.source}",
        f"  canonical λ: {can_text}",
        "",
        f"Implied prior: {r['density']}",
        *(f"  {line}" for line in r["explain"]),
        f"  prior sd of each weight: {sd_text}",
        f"  convex: {'yes' if r['convex'] else 'no (the MAP need not be unique)'}",
        "",
        *textwrap.wrap(r["statement"], 110),
        *(line for note in r["notes"] for line in textwrap.wrap(note, 110, initial_indent="  note: ",
                                                               subsequent_indent="        ")),
        "",
        "The same penalty in every convention:",
    ]
    if r["penalty"] == "elastic-net":
        lines.append(f"  {'convention':<20} {'alpha':>12} {'l1_ratio':>10}   objective")
    else:
        lines.append(f"  {'convention':<20} {'λ':>12}   objective")
    for c in CONVENTIONS.values():
        if c.name in r["lam"]:
            mark = "   ← given" if c.name == conv.name else ""
            ratio = f" {r['l1_ratio'][c.name]:>10.6g}" if r["penalty"] == "elastic-net" else ""
            lines.append(f"  {c.name:<20} {r['lam'][c.name]:>12.6g}{ratio}   {r['objective'][c.name]}{mark}")
        elif c.name in r["needs_n"]:
            lines.append(f"  {c.name:<20} depends on n: pass --n")
        else:
            lines.append(f"  {c.name:<20} — (no L1 and L2 options together)")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- compare

def _check_engine(args) -> None:
    """The engine options fit together (before anything is read or written)."""
    if args.scheduler is not None and args.engine != "dask":
        raise SpecError(f"--scheduler is for --engine dask (got --engine {args.engine}); add --engine dask or drop "
                        "--scheduler")
    if args.chunk_rows is not None and args.engine == "memory":
        raise SpecError("--chunk-rows is for --engine chunks or dask; add --engine chunks or drop --chunk-rows")
    if args.chunk_rows is not None and args.chunk_rows < 1:
        raise SpecError(f"--chunk-rows must be a positive integer, got {args.chunk_rows}; pass e.g. --chunk-rows "
                        "65536")


def _resolve_engine(args, *, rows_needed: bool) -> list[str]:
    """Settle ``--engine auto`` (``args.engine`` becomes memory, chunks or dask); returns notes for the user."""
    from .streaming import choose_engine

    args.engine, note = choose_engine(args.data, args.engine, rows_needed=rows_needed)
    if args.engine != "memory" and (args.drop or args.standardize):
        raise SpecError(f"--engine {args.engine} reads the columns as they are: --drop and --standardize need "
                        "--engine memory (or list the columns with --features)")
    return [note] if note else []


def _load_source(args):
    """``(Dataset or NamedStats, seconds)``: the rows (engine memory) or only their sufficient statistics."""
    import time

    from .data_options import column_options, load_from_args

    began = time.perf_counter()
    if args.engine == "memory":
        data = load_from_args(args)
    elif getattr(args, "likelihood", "gaussian") == "logistic":  # no statistics to keep: the rows, pass by pass
        from .streaming import DEFAULT_CHUNK_ROWS, RowStream

        data = RowStream(args.data, args.target, args.engine, features=column_options(args).get("features"),
                         chunk_rows=args.chunk_rows or DEFAULT_CHUNK_ROWS, scheduler=args.scheduler)
    else:
        from .streaming import DEFAULT_CHUNK_ROWS, stats_from_source

        features = column_options(args).get("features")
        data = stats_from_source(args.data, args.target, args.engine, features=features,
                                 chunk_rows=args.chunk_rows or DEFAULT_CHUNK_ROWS, scheduler=args.scheduler)
    from .resources import configure_threads

    configure_threads(data.n, data.d)
    return data, time.perf_counter() - began


def _progress(enabled: bool):
    """A progress printer for a terminal (stderr), or None."""
    if not enabled:
        return None

    def report(name, result):
        state = "converged" if result.converged else "NOT converged"
        print(f"  {name:<20} {state:<14} {result.seconds:8.3f} s", file=sys.stderr, flush=True)

    return report


def _check_noise(args) -> None:
    """σ is given for a regression and refused for a classifier (before anything is read or written)."""
    sigma_prior = getattr(args, "sigma_prior", None)
    if args.likelihood == "logistic":
        if args.sigma is not None or sigma_prior is not None:
            flag = "--sigma" if args.sigma is not None else "--sigma-prior"
            raise SpecError(f"a classifier has no noise σ (the log-loss is the negative log-likelihood itself, "
                            f"λ = 1/τ²): drop {flag}")
        streamable = getattr(args, "method", None) in ("map", "laplace")
        if args.engine in ("chunks", "dask") and not streamable:
            raise SpecError(f"the logistic likelihood has no sufficient statistics: with --engine {args.engine} only "
                            "--method map or laplace run (one pass over the rows per Newton step); the samplers "
                            "need the rows in memory (--engine memory)")
        if args.engine == "auto" and not streamable:
            args.engine = "memory"
        return
    if args.sigma is None and sigma_prior is None:
        raise SpecError("a regression needs the noise: --sigma S (fixed)"
                        + (" or --sigma-prior SPEC" if hasattr(args, "sigma_prior") else "")
                        + "; for a two-class target use --likelihood logistic")


def _prior_of(args, data, *, sigma_random: bool = False, tau_prior=None):
    """The prior on w the options give (the same conversion `bayesreg prior` prints)."""
    from .priors import prior_from_options

    if args.prior in SHRINKAGE_PRIORS:
        return _shrinkage_prior_of(args, data, tau_prior)
    stray = [flag for flag, v in (("--expected-nonzero", getattr(args, "expected_nonzero", None)),
                                  ("--slab-scale", getattr(args, "slab_scale", None)),
                                  ("--slab-df", getattr(args, "slab_df", None)),
                                  ("--r2-prior", getattr(args, "r2_prior", None))) if v is not None]
    if stray:
        raise SpecError(f"{' and '.join(stray)} belong{'s' if len(stray) == 1 else ''} to the shrinkage priors "
                        f"(horseshoe, regularised-horseshoe, horseshoe+, r2-d2), not {args.prior}")
    d = args.d if args.d is not None or args.prior != "l2-norm" else data.d
    if args.likelihood == "logistic":  # no σ: λ = 1/τ², the classifier's conventions
        return prior_from_options(args.prior, sigma=1.0, n=data.n, tau=args.tau, scale=args.scale, lam=args.lam,
                                  convention=None if args.convention is None and args.lam is None
                                  else get_convention(args.convention or "canonical", "logistic"),
                                  tau_prior=tau_prior, l1_ratio=args.l1_ratio, d=d, groups=args.groups,
                                  width=args.width, df=args.df)
    return prior_from_options(args.prior, sigma=args.sigma, n=data.n, tau=args.tau, scale=args.scale,
                              lam=args.lam, convention=args.convention, tau_prior=tau_prior,
                              sigma_random=sigma_random, l1_ratio=args.l1_ratio, d=d, groups=args.groups,
                              width=args.width, df=args.df)


def _shrinkage_prior_of(args, data, tau_prior):
    """A horseshoe-family or R2-D2 prior from the options, refusing those that give a λ (it has none)."""
    from .shrinkage import shrinkage_prior_from_options

    if args.likelihood == "logistic":
        raise SpecError(f"the {args.prior} prior is scaled by the noise σ, which a classifier does not have: it is "
                        "for regression (--likelihood gaussian)")
    given = [flag for flag, v in (("--tau", args.tau), ("--scale", args.scale), ("--lam", args.lam),
                                  ("--convention", args.convention), ("--l1-ratio", args.l1_ratio),
                                  ("--groups", args.groups), ("--width", args.width), ("--df", args.df))
             if v is not None]
    if given:
        raise SpecError(f"the {args.prior} prior has no λ and no fixed scale ({', '.join(given)}): its scales are "
                        "latent; set the global scale with --tau-prior halfcauchy:T0 or --expected-nonzero P0")
    return shrinkage_prior_from_options(args.prior, n=data.n, d=data.d, tau_prior=tau_prior,
                                        expected_nonzero=args.expected_nonzero, slab_scale=args.slab_scale,
                                        slab_df=args.slab_df, r2_prior=args.r2_prior)


def _run_compare(args) -> int:
    from .compare import compare_map, methods_for
    from .outputs import check_output_file, save_figure, write_json

    _check_engine(args)
    _check_noise(args)
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        if path:
            check_output_file(path, force=args.force, option=option)
    args._written = []
    for note in _resolve_engine(args, rows_needed=False):
        print(f"note: {note}", file=sys.stderr)
    data, _ = _load_source(args)
    prior = _prior_of(args, data)
    available = methods_for(prior, args.likelihood)
    methods = tuple(m.strip() for m in args.methods.split(",")) if args.methods else None
    if methods is not None and available[0] not in methods:
        methods = (available[0],) + methods
    if args.engine == "memory":
        comparison = compare_map(data, prior, args.sigma, args.bias, methods=methods,
                                 progress=_progress(sys.stderr.isatty()), likelihood=args.likelihood)
    else:
        from .priors import parse_bias
        from .streaming import STATS_METHODS, compare_stats

        if methods is None:
            skipped = [m for m in available if m not in STATS_METHODS
                       or (m == "pyro_map" and parse_bias(args.bias).kind != "flat")]
            methods = tuple(m for m in available if m not in skipped)
            if skipped:
                print(f"note: --engine {args.engine} keeps only the sufficient statistics: skipped "
                      f"{', '.join(skipped)}, which need the rows (use --engine memory to run them)", file=sys.stderr)
        comparison = compare_stats(data, prior, args.sigma, args.bias, methods=methods, name=data.name)
    print(comparison.format())
    hint = _scale_hint(comparison, data)
    if hint:
        print(f"note: {hint}", file=sys.stderr)
    if args.json:
        args._written.append(write_json(args.json, comparison.to_dict()))
        print(f"wrote {args._written[-1]}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from .plots import map_convergence

        args._written.append(save_figure(map_convergence(comparison).figure, args.plot))
        print(f"wrote {args._written[-1]}")
    return 0


def _feature_sds(data):
    """Each feature's sd, from the rows or from the sufficient statistics."""
    import numpy as np

    if hasattr(data, "X"):
        return np.std(data.X, axis=0)
    return np.sqrt(np.clip(np.diag(data.sxx), 0.0, None) / max(data.n, 1))


def _scale_hint(comparison, data) -> str:
    """Why a gradient method stopped short, when the features' scales are the likely cause (else "")."""

    stalled = [name for name, r in comparison.results.items() if not r.converged]
    sds = _feature_sds(data)
    sds = sds[sds > 0]
    if not stalled or sds.size < 2 or sds.max() / sds.min() <= 100:
        return ""
    return (f"{', '.join(stalled)} did not converge, and the features' sds differ by {sds.max() / sds.min():.3g}×: "
            "one learning rate cannot suit every weight (the problem is ill-conditioned); --standardize puts every "
            "feature on sd 1 (λ then means the same for each)")


# -------------------------------------------------------------------------------------------------- fit

#: Outputs that need the rows, skipped when a streaming engine keeps only the sufficient statistics.
_ROW_OUTPUTS = "the pointwise log-likelihood, the posterior predictive draws and the posterior predictive check plot"


def _run_fit(args) -> int:
    from pathlib import Path

    from .diagnostics import check_draws, health, point_table, summary_table
    from .fitting import fit
    from .outputs import check_output_directory, output_directory, save_figure, write_json
    from .resources import check_draws_memory
    from .saved_fit import fit_spec

    # everything that can be checked without the data is checked before anything is read or written
    check_draws(args.chains, args.draws, 0 if args.warmup is None else args.warmup, args.method)
    _check_engine(args)
    _check_noise(args)
    if args.engine in ("chunks", "dask") and args.method == "svi":
        raise SpecError(f"SVI trains on the rows, which --engine {args.engine} does not keep; use --method "
                        "auto/exact/gibbs/nuts/map with it, or --engine memory for SVI")
    out = Path(args.out)
    check_output_directory(out, force=args.force)
    args._existed = out.exists()
    classifier = args.likelihood == "logistic"
    engine_notes = _resolve_engine(args, rows_needed=args.method == "svi" or args.validate_search is not None)
    _check_validate_search(args)
    if classifier and args.engine != "memory":
        engine_notes = [f"--engine {args.engine}: the rows are read again on every Newton step (the logistic "
                        "likelihood has no sufficient statistics)"] + [
            n.replace("keeping only the sufficient statistics", "read again on every Newton step")
            for n in engine_notes]
    with output_directory(out, force=args.force) as tmp:
        data, load_seconds = _load_source(args)
        check_draws_memory(args.chains, args.draws, data.d)
        streamed = args.engine != "memory"
        classifier = args.likelihood == "logistic"
        sigma = args.sigma if args.sigma is not None else args.sigma_prior
        prior = _prior_of(args, data, sigma_random=args.sigma is None and not classifier, tau_prior=args.tau_prior)
        tty = sys.stderr.isatty()
        if tty:
            print(f"fitting {data.name} ({data.n} rows, {data.d} features) ...", file=sys.stderr, flush=True)
        if classifier:
            from .model import Model

            prior, sigma = Model.logistic(prior, args.bias), None
        posterior = fit(data, prior, sigma, args.bias, args.method, chains=args.chains, draws=args.draws,
                        warmup=args.warmup, seed=args.seed, progress=tty,
                        mass=args.mass or ("dense" if args.dense_mass else None), guide=args.guide,
                        nuts_path=args.nuts_path)
        posterior = posterior.with_(feature_names=tuple(data.feature_names),  # statistics carry the file's names
                                    attrs={**posterior.attrs, **_provenance(args, prior, data.n)})
        idata = posterior.to_inference_data(None if streamed else data, seed=args.seed)  # prior group: the model's
        from .sensitivity import power_scaling

        sensitivity = power_scaling(idata)  # once, for the verdict's warnings and the table
        verdict = health(posterior, idata, sensitivity=sensitivity)
        if posterior.diagnostics.point_estimate:
            table = point_table(posterior)
        else:
            table = summary_table(idata, map_point=posterior.info.get("map"), sensitivity=sensitivity)
        idata.to_netcdf(str(tmp / "posterior.nc"))
        notes = list(engine_notes)
        if classifier and not streamed:
            notes += _classifier_notes(data, args.bias)
        if streamed:
            kept = "streams the rows" if classifier else "keeps only the sufficient statistics"
            notes.append(f"--engine {args.engine} {kept}: skipped {_ROW_OUTPUTS}")
        elif "posterior_predictive" not in idata.groups():
            notes.append(f"too many values to store: skipped {_ROW_OUTPUTS}")
        nuts_path = posterior.info.get("path") if posterior.info.get("path") in ("marginal", "non-centred") else None
        if nuts_path == "non-centred" and posterior.info.get("path_reason"):  # "auto" chose it, for cost
            notes.append(f"NUTS ran on {posterior.info['path_reason']}; --nuts-path marginal integrates the weights "
                         "out anyway")
        # no wall-clock value in summary.json: the same --seed gives the same file; times go to timing.json
        summary = {
            "data": data.name, "n": data.n, "d": data.d, "method": posterior.method, "engine": args.engine,
            "prior": repr(getattr(prior, "prior", prior)), "sigma": str(sigma), "bias": args.bias,
            "likelihood": args.likelihood, "seed": args.seed,
            "chains": posterior.num_chains, "draws": posterior.num_draws,
            **({"nuts_path": nuts_path} if nuts_path else {}),
            "reliable": verdict.ok, "health": verdict.to_dict(), "notes": notes,
            "map": {"definition": posterior.info.get("map_definition"), "reason": posterior.info.get("map_reason")},
            "parameters": table,
        }
        if not streamed and not posterior.diagnostics.point_estimate and "w" in posterior.draws:
            from .variable_selection import select_variables

            map_w = (posterior.info.get("map") or {}).get("w")
            summary["variable_selection"] = select_variables(
                posterior.draws["w"], data.X, names=data.feature_names, center=args.bias != "none",
                noise_sd=1.0 if classifier else float(posterior.sigma_fixed or posterior.draws["sigma"].mean()),
                map_w=map_w).to_dict()
            projection = _projection_ranking(posterior, data, args.bias != "none") if not classifier else None
            if isinstance(projection, str):
                notes.append(projection)
            elif projection is not None:
                summary["variable_selection"]["projection"] = projection.to_dict()
                if args.validate_search is not None:
                    try:
                        validated = _validated_search(projection, posterior, data, prior, sigma, args, tty)
                    except SpecError as err:  # e.g. a fold too small to fit: the fit stands without it
                        notes.append(f"no validated projection search: {err}")
                    else:
                        summary["variable_selection"]["projection"]["validated"] = validated
                        notes += [f"validated projection search: the fit on fold {h['fold']} is unreliable "
                                  f"({'; '.join(h['reasons'])}), so its rows' held-out elpd is less certain"
                                  for h in validated["fold_health"] if h["verdict"] != "ok"]
        columns = getattr(data, "columns", None)
        if columns is not None and columns.describe():
            summary["columns"] = columns.describe()
        if columns is not None and columns.standardized:
            summary["original_units"] = _original_units(posterior, columns)
        write_json(tmp / "summary.json", summary)
        write_json(tmp / "model.json", fit_spec(posterior, getattr(data, "columns", None),
                                                target=getattr(data, "target_name", "y"),
                                                classes=getattr(data, "classes", None)))
        write_json(tmp / "timing.json", {"inference_seconds": posterior.seconds, "read_seconds": load_seconds})
        if not args.no_plots:
            import matplotlib

            matplotlib.use("Agg")
            from .plots import fit_figures, point_figures

            figures = (point_figures(posterior) if posterior.diagnostics.point_estimate
                       else fit_figures(idata, posterior.info.get("map")))
            projection = (summary.get("variable_selection") or {}).get("projection")
            if projection:
                from .plots import projection_curve

                figures["projection"] = projection_curve(projection).figure
                figures["projection"].tight_layout()  # the rotated column names
            for name, fig in figures.items():
                save_figure(fig, tmp / f"{name}.png")
    args._committed = True
    print(_format_fit(summary, posterior.seconds))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if not verdict.ok:
        print(f"warning: the posterior is UNRELIABLE ({'; '.join(verdict.reasons)}); do not use it as a result "
              "before fixing that", file=sys.stderr)
    for line in summary.get("columns", []):
        print(f"columns: {line}")
    print(f"wrote {args.out}/posterior.nc, summary.json, model.json (for bayesreg predict), timing.json"
          + ("" if args.no_plots else " and plots"))
    return 0


def _classifier_notes(data, bias: str) -> list[str]:
    """What a classifier's data imply for its posterior: separable classes (the prior alone keeps the weights
    finite), and which label is class 1."""
    from .priors import parse_bias
    from .solvers.logistic import separable

    notes = []
    if getattr(data, "classes", None) and tuple(data.classes) != (0, 1):
        negative, positive = data.classes
        notes.append(f"class 1 (the probability modelled) is {positive!r}; class 0 is {negative!r}")
    if separable(data.X, data.y, parse_bias(bias).present):
        notes.append("the classes are perfectly separable by a hyperplane in these features: the likelihood alone "
                     "would push the weights to infinity (no maximum-likelihood estimate exists), so the MAP and the "
                     "posterior are finite only because of the prior, and the spread along the separating direction "
                     "is the prior's")
    return notes


def _original_units(posterior, columns) -> dict:
    """Posterior mean and sd of each weight, and the intercept's mean, on the original (unstandardised) features,
    from the draws mapped one by one (w_j = v_j/s_j, b = b_v − Σ v_j c_j/s_j)."""
    import numpy as np

    w = posterior.flat("w")
    b = posterior.flat("b") if "b" in posterior.draws else np.zeros(len(w))
    w0, b0 = columns.to_original_units(w, b)
    out = {name: {"mean": float(np.mean(w0[:, j])), "sd": float(np.std(w0[:, j], ddof=1)) if len(w0) > 1 else None}
           for j, name in enumerate(posterior.feature_names)}
    if "b" in posterior.draws:
        out["b"] = {"mean": float(np.mean(b0)), "sd": float(np.std(b0, ddof=1)) if len(b0) > 1 else None}
    return out


def _provenance(args, prior, n: int) -> dict:
    """How the prior was given (convention, λ as given and canonical) for the InferenceData attrs."""

    out = {"convention": args.convention or "canonical", "data": args.data, "likelihood": args.likelihood}
    if args.lam is not None:
        out["lam"] = args.lam
    if args.lam is not None and args.prior in ("gaussian", "laplace", "l2", "l1"):
        out["lam_canonical"] = to_canonical_lam("l2" if args.prior in ("gaussian", "l2") else "l1", args.lam, n,
                                                get_convention(args.convention or "canonical", args.likelihood))
    elif args.sigma is not None and hasattr(prior, "canonical_lam"):
        out["lam_canonical"] = prior.canonical_lam(args.sigma)
    return out


def _format_fit(s: dict, seconds: float) -> str:
    h = s["health"]
    lines = [f"{s['method']} posterior of {s['data']} ({s['n']} rows, {s['d']} features), {s['chains']} × "
             f"{s['draws']} draws in {seconds:.2f} s",
             f"health: {h['verdict'].upper()}" + "".join(f"\n  - {r}" for r in h["reasons"])
             + "".join(f"\n  ! {w}" for w in h.get("warnings", [])), "",
             f"  {'parameter':<22} {'mean':>11} {'sd':>10} {'94% HDI':>25} {'MAP':>11} {'R-hat':>6} {'ESS':>7}"]
    for name, p in list(s["parameters"].items())[:40]:
        hdi = "" if p.get("hdi") is None else f"[{p['hdi'][0]:.4g}, {p['hdi'][1]:.4g}]"
        mean = "" if p.get("mean") is None else f"{p['mean']:.4g}"
        sd = "" if p.get("sd") is None else f"{p['sd']:.4g}"
        map_ = "" if p.get("map") is None else f"{p['map']:.4g}"
        rhat = "" if p.get("r_hat") is None else f"{p['r_hat']:.3f}"
        ess = "" if p.get("ess_bulk") is None else f"{p['ess_bulk']:.0f}"
        lines.append(f"  {name:<22} {mean:>11} {sd:>10} {hdi:>25} {map_:>11} {rhat:>6} {ess:>7}")
    if len(s["parameters"]) > 40:
        lines.append(f"  ... {len(s['parameters']) - 40} more in summary.json")
    lines.append("")
    chosen = s.get("variable_selection")
    if chosen:
        rows = chosen["variables"]
        for rule, label in (("savs", "SAVS"), ("credible_interval", f"{chosen['prob']:g} interval excludes 0")):
            names = [k for k, v in rows.items() if v[rule]]
            shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
            lines.append(f"selected by {label}: {len(names)} of {len(rows)}" + (f" ({shown})" if names else ""))
        proj = chosen.get("projection")
        if proj:
            first = ", ".join(proj["ranking"][:10]) + (", …" if len(proj["ranking"]) > 10 else "")
            size = proj["suggested_size"]
            lines.append(f"projection-predictive ranking: {first}; suggested size "
                         + (f"{size} (elpd_loo within 1 se of the full posterior's)" if size is not None
                            else f"none of the first {len(proj['ranking'])}"))
            checked = proj.get("validated")
            if checked:
                size = checked["suggested_size"]
                folds = len(checked["fold_rankings"])
                lines.append(f"  validated by {folds}-fold cross-validation of the search: suggested size "
                             + (f"{size} (held-out elpd within 1 se of the full posterior's)" if size is not None
                                else f"none of the first {len(checked['sizes']) - 1}"))
    m = s.get("map") or {}
    if m.get("definition"):
        lines += ["", f"MAP: {m['definition']}" + (f"; not reported: {m['reason']}" if m.get("reason") else "")]
    return "\n".join(lines)


#: the projection search holds the fitted values of every draw it uses (n × draws): at most this many numbers …
_PROJECTION_VALUES = 20_000_000
#: … and its steps cost about size × n × d × draws multiply-adds: at most this many (a few seconds)
_PROJECTION_WORK = 2_000_000_000


def _check_validate_search(args) -> None:
    """--validate-search K: K ≥ 2, and a fit that has a projection-predictive ranking to validate."""
    k = args.validate_search
    if k is None:
        return
    if k < 2:
        raise SpecError(f"--validate-search needs at least 2 folds, got {k} (5 is projpred's choice)")
    if args.likelihood == "logistic":
        raise SpecError("--validate-search validates the projection-predictive ranking, which is computed for "
                        "regression only (--likelihood gaussian)")
    if args.engine != "memory":
        raise SpecError(f"--validate-search refits on subsets of the rows, which --engine {args.engine} does not "
                        "keep; use --engine memory")
    if args.method == "map":
        raise SpecError("--validate-search needs posterior draws to project: --method map gives a point estimate")


def _validated_search(ranking, posterior, data, prior, sigma, args, tty: bool) -> dict:
    """:func:`bayesreg.projection.validate_search` with the fit repeated on each fold's training rows: the
    method the main fit ran (and its NUTS path) and the same options and seed, on the features standardised
    again with the training rows' means and sds when ``--standardize`` was given; ``fold_health`` holds each
    refit's health verdict (:func:`~bayesreg.diagnostics.health`)."""
    import warnings

    from .data import from_arrays
    from .diagnostics import health
    from .fitting import METHODS, fit
    from .projection import validate_search

    method = posterior.method if posterior.method in METHODS else args.method
    path = posterior.info.get("path") if posterior.info.get("path") in ("marginal", "non-centred") else None
    bias = args.bias != "none"
    folds = args.validate_search

    columns = getattr(data, "columns", None)
    design = None if columns is None else (lambda rows: columns.standardized_on(data.X, rows))  # X if unscaled

    def refit(rows, X):
        with warnings.catch_warnings():  # a column constant on a fold's rows: the fit below still stands
            warnings.simplefilter("ignore")
            part = from_arrays(X[rows], data.y[rows], feature_names=data.feature_names)
        post = fit(part, prior, sigma, args.bias, method, chains=args.chains, draws=args.draws, warmup=args.warmup,
                   seed=args.seed, progress=tty, mass=args.mass or ("dense" if args.dense_mass else None),
                   guide=args.guide, nuts_path=path)
        verdict = health(post)
        checked.append({"fold": len(checked) + 1, "verdict": verdict.verdict, "reasons": verdict.reasons})
        s = post.sigma_fixed if post.sigma_fixed is not None else post.draws["sigma"]
        return post.draws["w"], post.draws.get("b") if bias else None, s

    def progress(fold, total):
        if tty:
            print(f"validated search: fold {fold}/{total} refitted and searched", file=sys.stderr, flush=True)

    if tty:
        print(f"validating the projection search: {folds} more fits ...", file=sys.stderr, flush=True)
    checked = []
    result = validate_search(ranking, refit, data.X, data.y, bias=bias, folds=folds, seed=args.seed,
                             max_draws=min(1000, posterior.num_chains * posterior.num_draws), progress=progress,
                             design=design)
    return {**result.to_dict(ranking), "fold_health": checked}


def _projection_ranking(posterior, data, bias: bool):
    """The projection-predictive ranking (:mod:`bayesreg.projection`, a
    :class:`~bayesreg.projection.ProjectionRanking`) for ``summary.json``, from at most 1000 draws,
    _PROJECTION_VALUES fitted values and _PROJECTION_WORK multiply-adds; a note (str) when that leaves fewer than
    50 draws."""
    from .projection import DEFAULT_MAX_SIZE, projection_ranking

    steps = min(DEFAULT_MAX_SIZE, data.d)
    draws = min(1000, _PROJECTION_VALUES // max(data.n, 1), _PROJECTION_WORK // max(steps * data.n * data.d, 1))
    if draws < 50:
        return (f"{data.n} rows × {data.d} features are too many for the projection-predictive ranking in "
                "summary.json (run bayesreg.projection.projection_ranking on the draws)")
    sigma = posterior.sigma_fixed if posterior.sigma_fixed is not None else posterior.draws["sigma"]
    try:
        return projection_ranking(posterior.draws["w"], posterior.draws.get("b") if bias else None, sigma, data.X,
                                  data.y, names=data.feature_names, bias=bias, max_draws=draws)
    except SpecError as err:  # e.g. too few rows to rank: the fit stands without it
        return f"no projection-predictive ranking: {err}"

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
