"""``bayesreg loo``: compare saved fits on the same data by PSIS-LOO (ArviZ ``loo`` and ``compare``).

Each fit's ``posterior.nc`` holds the pointwise log-likelihood of every training row under every draw, so the
leave-one-out predictive accuracy (elpd_loo) of each model is estimated by Pareto-smoothed importance sampling
(Vehtari, Gelman & Gabry 2017), and the fits are ranked with their standard errors and stacking weights. Pareto
k̂ above 0.7 marks a row whose leave-one-out estimate is unreliable; the table counts them.
"""

from __future__ import annotations

import argparse

__all__ = ["add_loo_parser", "run", "compare_fits", "K_HAT_LIMIT"]

#: Pareto k̂ above this: the importance-sampling estimate for that row is unreliable (Vehtari et al. 2024)
K_HAT_LIMIT = 0.7

_EPILOG = """\
Give the --out directories of two or more `bayesreg fit` runs on the same rows (same data, same target): ridge
against lasso, or the same prior at several λ. The table ranks them by elpd_loo (the expected log predictive
density of a left-out row, summed over the rows; higher is better), with elpd_diff and its standard error dse
against the best, p_loo (the effective number of parameters), the stacking weight, and the number of rows with
Pareto k̂ > 0.7 (their LOO estimate is unreliable; then refit without them, or trust the comparison less).

examples:
  bayesreg fit --data diabetes --prior gaussian --tau 300 --sigma 54 --out out/ridge
  bayesreg fit --data diabetes --prior laplace --scale 200 --sigma 54 --method gibbs --out out/lasso
  bayesreg loo out/ridge out/lasso --plot out/loo.png --json out/loo.json
"""


def add_loo_parser(sub) -> None:
    """Register ``bayesreg loo`` on the CLI's subparsers."""
    p = sub.add_parser("loo", help="compare saved fits on the same data by PSIS-LOO (ArviZ compare)",
                       description="Rank saved fits by their leave-one-out predictive accuracy (PSIS-LOO).",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("fits", nargs="+", metavar="DIR", help="the --out directories of bayesreg fit runs (two or more)")
    p.add_argument("--json", metavar="FILE", help="also write the table as JSON")
    p.add_argument("--plot", metavar="FILE", help="also draw ArviZ's comparison plot (PNG)")
    p.add_argument("--force", action="store_true", help="replace --json / --plot if they exist")
    p.set_defaults(run=run)


def compare_fits(paths) -> tuple[list[dict], object]:
    """Read each fit's ``posterior.nc`` and compare them: (rows of the table, best first; ``arviz.compare``'s
    own table). The names are the directories' names (their paths where two names clash)."""
    import warnings
    from pathlib import Path

    import numpy as np

    from .errors import SpecError
    from .infer.idata import import_arviz

    az = import_arviz()
    if len(paths) < 2:
        raise SpecError("give two or more fit directories to compare")
    dirs = [Path(p) for p in paths]
    names = [d.name or str(d) for d in dirs]
    if len(set(names)) < len(names):
        names = [str(d) for d in dirs]
    if len(set(names)) < len(names):
        raise SpecError("the same fit directory is given twice")
    fits = {}
    for name, d in zip(names, dirs, strict=True):
        nc = d / "posterior.nc"
        if not nc.is_file():
            raise SpecError(f"{d} is not a bayesreg fit directory (no posterior.nc); give the --out of a fit")
        idata = az.from_netcdf(str(nc))
        if "log_likelihood" not in idata.groups():
            raise SpecError(f"{d} has no pointwise log-likelihood (a point estimate, a streamed fit or too many "
                            "values to store): refit it with the rows in memory")
        fits[name] = idata
    first = next(iter(fits.values()))
    for name, idata in fits.items():
        y0, y1 = first.observed_data["y"].values, idata.observed_data["y"].values
        if y0.shape != y1.shape or not np.array_equal(y0, y1):
            raise SpecError(f"{name} was fitted on other rows than {names[0]}: LOO compares models on the same data")
    with warnings.catch_warnings():  # ArviZ 0.23's own use of a pandas keyword pandas 3.1 deprecates
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.sort_values")
        # the stacking optimiser's softmax overflows when the elpd gaps are large; its weights (0 and 1 there)
        # are still right, so the warning tells a user nothing
        warnings.filterwarnings("ignore", message="overflow encountered in exp", category=RuntimeWarning)
        table = az.compare(fits, ic="loo", method="stacking")
    rows = []
    for name, row in table.iterrows():
        k = np.asarray(az.loo(fits[name], pointwise=True).pareto_k).ravel()
        rows.append({"fit": str(name), "rank": int(row["rank"]), "elpd_loo": float(row["elpd_loo"]),
                     "se": float(row["se"]), "elpd_diff": float(row["elpd_diff"]), "dse": float(row["dse"]),
                     "p_loo": float(row["p_loo"]), "weight": float(row["weight"]),
                     "k_hat_max": float(k.max()), "k_hat_over": int((k > K_HAT_LIMIT).sum()), "n": int(k.size)})
    return rows, table


def run(args) -> int:
    from pathlib import Path

    from .outputs import check_output_file, save_figure, write_json

    outs = [(opt, Path(v)) for opt, v in (("--json", args.json), ("--plot", args.plot)) if v]
    for opt, path in outs:
        check_output_file(path, force=args.force, option=opt)
    rows, table = compare_fits(args.fits)
    print(_format(rows))
    if args.json:
        write_json(args.json, {"criterion": "PSIS-LOO (arviz.compare, ic='loo', stacking weights)",
                               "k_hat_limit": K_HAT_LIMIT, "fits": rows})
        print(f"wrote {args.json}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from .infer.idata import import_arviz

        az = import_arviz()
        ax = az.plot_compare(table, insample_dev=False)
        ax.set_title("PSIS-LOO: elpd of a left-out row, summed (higher is better)")
        ax.figure.tight_layout()
        save_figure(ax.figure, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _format(rows: list[dict]) -> str:
    head = f"{'fit':<24} {'elpd_loo':>10} {'se':>7} {'elpd_diff':>10} {'dse':>7} {'p_loo':>7} {'weight':>7}  k̂ > 0.7"
    lines = [head]
    for r in rows:
        lines.append(f"{r['fit'][:24]:<24} {r['elpd_loo']:>10.2f} {r['se']:>7.2f} {r['elpd_diff']:>10.2f} "
                     f"{r['dse']:>7.2f} {r['p_loo']:>7.2f} {r['weight']:>7.3f}  {r['k_hat_over']} of {r['n']}"
                     + (f" (max {r['k_hat_max']:.2f})" if r["k_hat_over"] else ""))
    best = rows[0]
    lines.append("")
    lines.append(f"best: {best['fit']}; a difference is clear when |elpd_diff| is several times its dse")
    if any(r["k_hat_over"] for r in rows):
        lines.append(f"some rows have Pareto k̂ > {K_HAT_LIMIT}: their leave-one-out estimates are unreliable")
    return "\n".join(lines)
