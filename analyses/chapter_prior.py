"""What the weight-decay chapter's λ = 3 assumes about its own problem.

Dive into Deep Learning (§3.7, "Weight Decay") fits 200 weights to 20 rows, y = 0.01·Σx + 0.05 + N(0, 0.01²),
with λ = 3 in two implementations. From scratch it minimises the mean of ½r² plus (λ/2)‖w‖² (convention
``d2l``): a Gaussian prior N(0, τ²) with τ = σ/√(nλ) = 0.01/√60 ≈ 0.0013, which says each true weight is about
8 times smaller than it is. The concise version uses ``nn.MSELoss`` (no ½) with ``weight_decay=3`` on the
weight only (convention ``torch_sgd_mse``): canonical λ = nλ/2 = 30, τ = 0.01/√30 ≈ 0.0018, the same mistake
by a factor √2 less.

This study computes, with the exact conjugate posterior (σ known and equal to the true noise sd):

* the prior that λ = 3 implies and how much prior probability it gives to the truth;
* over a grid of λ (in the chapter's convention): the log evidence p(y | λ), the chapter's test loss of the
  MAP (mean of ½r² on 100 fresh rows), ‖w_MAP‖, and how often the 94% credible intervals cover the true w;
* a figure of those curves and of the credible intervals at λ = 3 and at the evidence's choice.

Writes ``OUT/summary.json`` and ``OUT/chapter_prior.png``; prints a table.

Usage::

    python analyses/chapter_prior.py --out out/chapter_prior [--seed 0] [--lam 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats

from bayesreg import gaussian_posterior, load_d2l, prior_from_penalty
from bayesreg.conventions import to_canonical_lam
from bayesreg.outputs import save_figure, write_json

CONVENTION = "d2l"
INTERVAL = 0.94


def evaluate(problem, lam: float, sigma: float, convention: str = CONVENTION) -> dict:
    """The exact posterior at ``lam`` (in ``convention``) and what it says about the truth."""
    train, test = problem.train, problem.test
    prior = prior_from_penalty("l2", lam, sigma, train.n, convention)
    post = gaussian_posterior(train, prior=prior, sigma=sigma)
    lo, hi = post.credible_interval(INTERVAL)
    d = train.d
    r = test.y - test.X @ post.w_mean - post.b_mean
    return {
        "lam": lam,
        "convention": convention,
        "canonical_lam": to_canonical_lam("l2", lam, train.n, convention),
        "tau": prior.tau,
        "log_evidence": post.log_evidence,
        "test_loss": float(np.mean(0.5 * r**2)),
        "w_norm": float(np.linalg.norm(post.w_mean)),
        "coverage": float(np.mean((lo[:d] <= problem.true_w) & (problem.true_w <= hi[:d]))),
        "_intervals": (post.w_mean, lo[:d], hi[:d]),
    }


def run(seed: int = 0, lam: float = 3.0, grid_size: int = 61) -> tuple[dict, dict]:
    """All numbers of the study (JSON-ready) and the arrays the figure needs."""
    problem = load_d2l(seed=seed)
    sigma = problem.noise_sd
    chapter = evaluate(problem, lam, sigma)
    grid = np.logspace(-4, 2, grid_size)
    sweep = [evaluate(problem, g, sigma) for g in grid]
    best = sweep[int(np.argmax([s["log_evidence"] for s in sweep]))]
    truth_tau = float(problem.true_w[0])  # the prior whose sd equals the true weight size
    truth_lam = sigma**2 / (problem.train.n * truth_tau**2)
    z = truth_tau / chapter["tau"]
    public = lambda e: {k: v for k, v in e.items() if not k.startswith("_")}  # noqa: E731
    summary = {
        "problem": {"n_train": problem.train.n, "n_test": problem.test.n, "d": problem.train.d,
                    "true_w": truth_tau, "true_b": problem.true_b, "noise_sd": sigma, "seed": seed},
        "convention": CONVENTION,
        "chapter": {**public(chapter),
                    "true_w_in_prior_sds": z,
                    "prior_prob_abs_w_ge_true": float(2 * stats.norm.sf(z))},
        "chapter_concise": public(evaluate(problem, lam, sigma, "torch_sgd_mse")),
        "evidence_choice": public(best),
        "prior_matching_truth": public(evaluate(problem, truth_lam, sigma)),
    }
    baseline = float(np.mean(0.5 * (problem.test.y - problem.train.y.mean()) ** 2))
    summary["baseline_test_loss"] = baseline
    figure_data = {"grid": grid, "sweep": sweep, "chapter": chapter, "best": best, "truth": problem.true_w,
                   "baseline_loss": baseline}
    return summary, figure_data


def make_figure(fig_data: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayesreg.plots import credible_intervals, curves_against_lambda

    grid, sweep = fig_data["grid"], fig_data["sweep"]
    chapter, best = fig_data["chapter"], fig_data["best"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5), constrained_layout=True)
    marks = {"chapter": chapter["lam"], "max evidence": best["lam"]}
    curves_against_lambda(grid, {"log evidence log p(y | λ)": [s["log_evidence"] for s in sweep]}, marks=marks,
                          xlabel="λ (chapter's convention: mean ½r² + λ/2 ‖w‖²)", ylabel="log evidence (nats)",
                          title="Evidence for λ (σ known)", ax=axes[0])
    curves_against_lambda(grid, {"test loss of the MAP": [s["test_loss"] for s in sweep]}, marks=marks,
                          references={"predict the training mean of y": fig_data["baseline_loss"]},
                          xlabel="λ (chapter's convention)", ylabel="mean ½ r² on 100 test rows",
                          title="Test loss: n = 20 rows cannot pin down 200 weights", ax=axes[1])
    credible_intervals({f"λ = {chapter['lam']:g} (chapter)": chapter["_intervals"],
                        f"λ = {best['lam']:.3g} (max evidence)": best["_intervals"]},
                       truth=fig_data["truth"], max_coords=20,
                       title=f"{INTERVAL:.0%} credible intervals, first 20 weights", ax=axes[2])
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/chapter_prior", help="output directory (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the d2l data (default: %(default)s)")
    parser.add_argument("--lam", type=float, default=3.0, help="the chapter's λ (default: %(default)s)")
    args = parser.parse_args(argv)
    if not args.lam > 0:
        parser.error(f"--lam must be > 0 (λ = 0 is the improper flat prior, with n < d no unique MAP); got {args.lam}")

    summary, fig_data = run(args.seed, args.lam)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "summary.json", summary)
    save_figure(make_figure(fig_data), out / "chapter_prior.png")

    c, k = summary["chapter"], summary["chapter_concise"]
    e, t = summary["evidence_choice"], summary["prior_matching_truth"]
    print(f"d2l problem: n = 20, d = 200, true w = 0.01, noise sd = 0.01 (seed {args.seed})")
    print(f"λ = {c['lam']:g} (chapter's convention) ⇔ prior N(0, τ²), τ = {c['tau']:.3g}: the true weight is "
          f"{c['true_w_in_prior_sds']:.1f} prior sds out, prior P(|w_j| ≥ 0.01) = {c['prior_prob_abs_w_ge_true']:.1e}")
    print("\nλ in each row's own convention: d2l, except torch_sgd_mse for the concise version")
    print(f"{'':24} {'λ':>9} {'τ':>9} {'log evidence':>13} {'test loss':>10} {'‖w_MAP‖':>8} {'coverage':>9}")
    rows = (("chapter, from scratch", c), ("chapter, concise (MSE)", k), ("max evidence", e),
            ("prior = truth's size", t))
    for name, r in rows:
        print(f"{name:24} {r['lam']:9.3g} {r['tau']:9.3g} {r['log_evidence']:13.1f} {r['test_loss']:10.3g} "
              f"{r['w_norm']:8.3f} {r['coverage']:9.1%}")
    print(f"(predicting the training mean of y: test loss {summary['baseline_test_loss']:.3g})")
    print(f"\nwrote {out / 'summary.json'} and {out / 'chapter_prior.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
