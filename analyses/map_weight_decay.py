"""MAP ≡ weight decay: every way to reach the MAP, and where practice breaks the equivalence.

Three experiments, each built on the package:

1. **Side by side** on scikit-learn's diabetes data (σ = 54, about the residual sd of a least-squares fit):
   a Gaussian prior (τ = 20) and a Laplace prior (λ = 0.5 in scikit-learn's Lasso convention). The closed form
   or coordinate descent is the reference; Pyro MAP, SGD with weight decay, Adam(weight_decay) and proximal SGD
   reach it; AdamW and the naive subgradient of λ‖w‖₁ do not.
2. **The bias.** Penalising b like a weight (what ``SGD(model.parameters(), weight_decay=wd)`` does) is the
   prior b ~ N(0, τ²); leaving it out is a flat prior. Over a λ sweep, the penalised bias goes to 0 as λ grows,
   and the model loses its affine part; the flat bias stays at the mean of y.
3. **The chapter's own run** (Dive into Deep Learning §3.7: minibatch 5, lr 0.003, 100 epochs, λ = 0 and 3 on
   the d2l data): its ‖w‖ and its distance from the exact MAP. After 100 epochs it is still mostly its random
   initialisation, shrunk by (1 − lr·λ)^steps: early stopping, not the penalty's optimum.

Writes ``OUT/summary.json`` and figures ``OUT/map_gaussian.png``, ``OUT/map_laplace.png``, ``OUT/bias.png``,
``OUT/chapter_run.png``; prints the tables.

Usage::

    python analyses/map_weight_decay.py --out out/map_weight_decay [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from bayesreg import Gaussian, load_d2l, load_diabetes, prior_from_penalty
from bayesreg.compare import compare_map
from bayesreg.outputs import save_figure, write_json
from bayesreg.solvers import PenalizedLeastSquares
from bayesreg.solvers.closed_form import ridge

DIABETES_SIGMA = 54.0


def side_by_side(progress=None) -> dict:
    """compare_map on diabetes with a Gaussian and a Laplace prior."""
    data = load_diabetes()
    return {
        "gaussian": compare_map(data, Gaussian(20.0), DIABETES_SIGMA, progress=progress),
        "laplace": compare_map(data, prior_from_penalty("l1", 0.5, DIABETES_SIGMA, data.n, "sklearn_lasso"),
                               DIABETES_SIGMA, progress=progress),
    }


def bias_sweep(lams=None) -> dict:
    """Ridge MAP on diabetes over λ with a flat bias and with the bias penalised like the weights (λ_b = λ)."""
    data = load_diabetes()
    lams = np.logspace(-2, 8, 41) if lams is None else np.asarray(lams)
    out = {"lam": lams.tolist(), "y_mean": float(data.y.mean())}
    for kind in ("flat", "penalized"):
        bs, losses = [], []
        for lam in lams:
            problem = PenalizedLeastSquares(l2=lam, bias=kind, bias_l2=lam if kind == "penalized" else 0.0)
            res = ridge(data.X, data.y, problem)
            r = data.y - data.X @ res.w - res.b
            bs.append(res.b)
            losses.append(float(np.mean(r**2)))
        out[kind] = {"b": bs, "train_mse": losses}
    return out


def chapter_runs(seed: int = 0) -> dict:
    """The chapter's training loop at λ = 0 and 3, against the exact MAP at the same λ."""
    from bayesreg.solvers.sgd import d2l_chapter_run

    problem = load_d2l(seed=seed)
    train = problem.train
    runs = {}
    for lam in (0.0, 3.0):
        if lam > 0:
            canonical = PenalizedLeastSquares(l2=lam * train.n)  # d2l convention: λ_canonical = n λ
            reference = ridge(train.X, train.y, canonical)
        else:  # λ = 0, n < d: no unique MAP; the limit λ → 0 of ridge is the minimum-norm interpolant
            reference = ridge(train.X, train.y, PenalizedLeastSquares(l2=1e-10 * train.n))
        run = d2l_chapter_run(problem, lam, seed=seed, reference=reference.w)
        test_r = problem.test.y - problem.test.X @ run.w - run.b
        map_r = problem.test.y - problem.test.X @ reference.w - reference.b
        runs[f"{lam:g}"] = {
            "lam": lam,
            "w_norm": float(np.linalg.norm(run.w)),
            "map_w_norm": float(np.linalg.norm(reference.w)),
            "distance_to_map": float(np.max(np.abs(run.w - reference.w))),
            "l2_distance_to_map": float(np.linalg.norm(run.w - reference.w)),
            "test_loss": float(np.mean(0.5 * test_r**2)),
            "map_test_loss": float(np.mean(0.5 * map_r**2)),
            "trace": run.trace.tolist(),
            "map_kind": "ridge MAP" if lam > 0 else "minimum-norm interpolant (λ → 0)",
        }
    return runs


def make_figures(results: dict) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayesreg.plots import curves_against_lambda, map_convergence

    figs = {f"map_{k}": map_convergence(v).figure for k, v in results["side_by_side"].items()}
    sweep = results["bias"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), constrained_layout=True)
    curves_against_lambda(sweep["lam"], {"b, flat prior (unpenalised)": sweep["flat"]["b"],
                                         "b, penalised like w (b ~ N(0, τ²))": sweep["penalized"]["b"]},
                          references={"mean of y": sweep["y_mean"]}, xlabel="canonical λ (= σ²/τ²)",
                          ylabel="intercept b", title="The bias under growing weight decay (diabetes)", ax=axes[0])
    curves_against_lambda(sweep["lam"], {"flat bias": sweep["flat"]["train_mse"],
                                         "penalised bias": sweep["penalized"]["train_mse"]},
                          xlabel="canonical λ", ylabel="training mean squared error",
                          title="A penalised bias loses the affine part", ax=axes[1])
    axes[1].set_yscale("log")
    figs["bias"] = fig
    fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
    for lam, run in results["chapter"].items():
        ax.plot(np.arange(1, len(run["trace"]) + 1), run["trace"], label=f"λ = {lam}: vs {run['map_kind']}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch (4 minibatch steps of 5 rows each)")
    ax.set_ylabel("max |w − w_MAP|")
    ax.set_title("The chapter's run (lr 0.003) after 100 epochs is far from its MAP")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    figs["chapter_run"] = fig
    return figs


def run(seed: int = 0, progress=None) -> dict:
    return {"side_by_side": side_by_side(progress), "bias": bias_sweep(), "chapter": chapter_runs(seed)}


def summary_of(results: dict) -> dict:
    return {
        "side_by_side": {k: v.to_dict() for k, v in results["side_by_side"].items()},
        "bias": results["bias"],
        "chapter": results["chapter"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/map_weight_decay", help="output directory (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the d2l data and its run (default: %(default)s)")
    args = parser.parse_args(argv)

    def progress(name, result):
        print(f"  {name:<20} {'converged' if result.converged else 'NOT converged':<14} {result.seconds:7.2f} s",
              file=sys.stderr, flush=True)

    results = run(args.seed, progress)
    out = Path(args.out)
    write_json(out / "summary.json", summary_of(results))
    for name, fig in make_figures(results).items():
        save_figure(fig, out / f"{name}.png")

    for comparison in results["side_by_side"].values():
        print(comparison.format(), end="\n\n")
    sweep = results["bias"]
    print(f"bias at λ = {sweep['lam'][-1]:.0e}: flat {sweep['flat']['b'][-1]:.2f} (mean of y "
          f"{sweep['y_mean']:.2f}), penalised {sweep['penalized']['b'][-1]:.2e}")
    for lam, r in results["chapter"].items():
        print(f"chapter run λ = {lam}: ‖w‖ = {r['w_norm']:.3f} (MAP {r['map_w_norm']:.3f}), "
              f"max|w − w_MAP| = {r['distance_to_map']:.3f}, test loss {r['test_loss']:.3g} "
              f"(MAP {r['map_test_loss']:.3g})")
    print(f"\nwrote {out}/summary.json and {len(results) + 1} figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
