"""The weight-decay chapter's experiment, read the Bayesian way.

Dive into Deep Learning (§3.7) fits 200 weights to 20 rows, y = 0.01·Σx + 0.05 + N(0, 0.01²), and shows that
weight decay with λ = 3 beats no decay. This study reruns its exercise (training and test loss against λ,
both curves) with the exact MAP instead of 100 epochs of SGD, says which prior λ = 3 is, and shows why the
prior makes f = 0 the "simplest" function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..conventions import to_canonical_lam
from ..data import load_d2l
from ..priors import prior_from_penalty
from ..solvers import PenalizedLeastSquares
from ..solvers.closed_form import ridge
from .base import Check, Section, StudyResult, Table, new_figure, one_blas_thread, quiet
from .base import Figure as StudyFigure

__all__ = ["run", "CHAPTER_LAM", "poly_features", "compute", "check", "render", "ChapterResult", "summarise",
           "map_at", "lam_sweep", "sgd_sweep", "prior_predictive"]

CHAPTER_LAM = 3.0
CONVENTION = "d2l"
POLY_DEGREE = 12
PRIOR_TAUS = (0.1, 1.0, 10.0)
PRIOR_DRAWS = 4000

EXACT_VS_SKLEARN = 1e-8      # two direct solves of one linear system (scikit-learn's own tolerance is 1e-4)
LBFGS_VS_EXACT = 1e-5        # L-BFGS on the chapter's own objective, gtol 1e-12
DENSITY_VS_SCIPY = 1e-10     # two evaluations of one closed form


@one_blas_thread
def run(*, seed: int = 0, quick: bool = False, progress=quiet) -> StudyResult:
    """The prior λ = 3 implies, the λ sweep of the MAP, and prior draws: :func:`compute`, then :func:`check` and
    :func:`render`."""
    result = compute(seed=seed, quick=quick, progress=progress)
    return render(result, check(result))


# ------------------------------------------------------------------------------------------ computations

@dataclass
class ChapterResult:
    """What :func:`compute` found on the d2l problem drawn with ``seed``."""

    seed: int
    quick: bool
    problem: Any                 # load_d2l(seed)
    implied: dict                # convention -> the prior λ = 3 implies (:func:`_implied`)
    truth_lam: float             # the d2l-convention λ whose prior sd is the true weight
    grid: np.ndarray             # λ (d2l convention) of the exact-MAP sweep
    sweep: dict                  # :func:`lam_sweep` on ``grid``
    sgd_grid: np.ndarray         # λ of the chapter's SGD loop
    sgd: dict                    # :func:`sgd_sweep` on ``sgd_grid``
    xs: np.ndarray               # where the prior's polynomial functions are drawn
    draws: dict                  # τ -> prior draws of the POLY_DEGREE polynomial weights
    signal: dict                 # "chapter" / "truth" -> the prior sd τ of the prior predictive
    predictive: dict             # the same keys -> :func:`prior_predictive` draws of w and y


@one_blas_thread
def compute(*, seed: int = 0, quick: bool = False, progress=quiet) -> ChapterResult:
    """The prior λ = 3 implies, the λ sweep of the exact MAP and of the chapter's SGD loop, and prior draws."""
    problem = load_d2l(seed=seed)
    sigma = problem.noise_sd
    train = problem.train
    progress("the prior λ = 3 implies")
    implied = {conv: _implied(problem, CHAPTER_LAM, conv) for conv in (CONVENTION, "torch_sgd_mse")}
    truth_lam = sigma**2 / (train.n * float(problem.true_w[0]) ** 2)  # the d2l-convention λ whose τ is 0.01
    progress("the λ sweep: exact MAP, training and test loss")
    grid = np.logspace(-4, 2, 25 if quick else 61)
    sweep = lam_sweep(problem, grid)
    progress("the λ sweep: the chapter's own SGD loop (100 epochs)")
    sgd_grid = np.logspace(-2, 2, 9 if quick else 17)
    sgd = sgd_sweep(problem, sgd_grid, seed)
    progress("prior draws: polynomial functions and the d2l data")
    rng = np.random.default_rng([seed, 1])  # not load_d2l's stream, which drew X from default_rng(seed)
    xs = np.linspace(-3, 3, 201)
    draws = {tau: rng.normal(0.0, tau, size=(PRIOR_DRAWS // (4 if quick else 1), POLY_DEGREE)) for tau in PRIOR_TAUS}
    signal = {"chapter": implied[CONVENTION]["tau"], "truth": float(problem.true_w[0])}
    predictive = {k: prior_predictive(problem, tau, 500 if quick else 2000, seed) for k, tau in signal.items()}
    return ChapterResult(seed, quick, problem, implied, truth_lam, grid, sweep, sgd_grid, sgd, xs, draws, signal,
                         predictive)


def summarise(result: ChapterResult) -> dict:
    """The study's JSON-ready numbers (``StudyResult.summary``)."""
    problem, grid, sweep, sgd = result.problem, result.grid, result.sweep, result.sgd
    train, test = problem.train, problem.test
    truth_lam = result.truth_lam
    chapter_at = {k: float(np.interp(math.log(CHAPTER_LAM), np.log(grid), sweep[k]))
                  for k in ("train_loss", "test_loss", "w_norm")}
    best = int(np.argmin(sweep["test_loss"]))
    return {
        "problem": {"n_train": train.n, "n_test": test.n, "d": train.d, "true_w": float(problem.true_w[0]),
                    "true_b": problem.true_b, "noise_sd": problem.noise_sd, "seed": result.seed},
        "chapter_lam": CHAPTER_LAM,
        "implied_prior": result.implied,
        "truth_lam": {"d2l": truth_lam, "canonical": truth_lam * train.n},
        "sweep": {"lam": grid.tolist(), "convention": CONVENTION, **{k: list(map(float, v)) for k, v in sweep.items()}},
        "at_chapter_lam": chapter_at,
        "best_test_lam": float(grid[best]),
        "sgd_sweep": {"lam": result.sgd_grid.tolist(), **{k: list(map(float, v)) for k, v in sgd.items()}},
        "baseline_test_loss": float(np.mean(0.5 * (test.y - train.y.mean()) ** 2)),
    }


def _implied(problem, lam: float, convention: str) -> dict:
    sigma, n = problem.noise_sd, problem.train.n
    prior = prior_from_penalty("l2", lam, sigma, n, convention)
    z = float(problem.true_w[0]) / prior.tau
    return {"lam": lam, "convention": convention, "canonical_lam": to_canonical_lam("l2", lam, n, convention),
            "tau": prior.tau, "true_w_in_prior_sds": z, "prior_prob_abs_w_ge_true": float(2 * stats.norm.sf(z))}


def map_at(train, lam: float):
    """The exact MAP of the chapter's objective mean ½r² + (λ/2)‖w‖² (canonical λ = nλ, flat bias)."""
    return ridge(train.X, train.y, PenalizedLeastSquares(l2=lam * train.n))


def lam_sweep(problem, grid) -> dict:
    """Training and test loss (mean ½r², the chapter's) and ‖w‖ of the exact MAP at each λ of ``grid``."""
    out = {"train_loss": [], "test_loss": [], "w_norm": []}
    for lam in grid:
        res = map_at(problem.train, lam)
        for key, split in (("train_loss", problem.train), ("test_loss", problem.test)):
            out[key].append(float(np.mean(0.5 * (split.y - split.X @ res.w - res.b) ** 2)))
        out["w_norm"].append(float(np.linalg.norm(res.w)))
    return {k: np.array(v) for k, v in out.items()}


def sgd_sweep(problem, grid, seed: int) -> dict:
    """The same losses at the end of the chapter's own training loop (minibatch 5, lr 0.003, 100 epochs)."""
    from ..solvers.sgd import d2l_chapter_run

    out = {"train_loss": [], "test_loss": [], "w_norm": []}
    for lam in grid:
        res = d2l_chapter_run(problem, float(lam), seed=seed)
        for key, split in (("train_loss", problem.train), ("test_loss", problem.test)):
            out[key].append(float(np.mean(0.5 * (split.y - split.X @ res.w - res.b) ** 2)))
        out["w_norm"].append(float(np.linalg.norm(res.w)))
    return {k: np.array(v) for k, v in out.items()}


def prior_predictive(problem, tau: float, num: int, seed: int) -> dict:
    """Draws of w and of y on the d2l test inputs from the package's Pyro model (prior N(0, τ²), σ known, no bias).

    ``pyro.infer.Predictive`` without data samples the prior predictive: w from the prior, then y | w.
    """
    import pyro
    from pyro.infer import Predictive

    from ..models import LinearRegressionModel
    from ..priors import Gaussian

    model = LinearRegressionModel(Gaussian(tau), sigma=problem.noise_sd, bias="none")
    pyro.set_rng_seed(seed)
    draws = Predictive(model, num_samples=num, return_sites=["w", "y"])(problem.test.X)
    return {k: v.detach().numpy().reshape(num, -1) for k, v in draws.items()}


def poly_features(x, degree: int = POLY_DEGREE) -> np.ndarray:
    """The chapter family's polynomial features x^k / k!, k = 1..degree (§3.6 of the book uses them)."""
    x = np.asarray(x, dtype=float)[:, None]
    k = np.arange(1, degree + 1)
    return x**k / np.exp([math.lgamma(j + 1) for j in k])


# ----------------------------------------------------------------------------------------------- checks

@one_blas_thread
def check(result: ChapterResult) -> list[Check]:
    """Every check of the study: the sweep and the chapter's objective against SciPy and scikit-learn, the implied
    prior's density, and the Pyro model's prior predictive."""
    return _checks(result.problem, result.sweep, result.grid, result.predictive, result.signal)


def _checks(problem, sweep, grid, predictive, signal) -> list[Check]:
    from scipy.optimize import minimize
    from sklearn.linear_model import Ridge

    train = problem.train
    worst = 0.0
    for lam in grid[:: max(1, len(grid) // 12)]:
        ours = map_at(train, lam).w
        theirs = Ridge(alpha=lam * train.n, solver="svd").fit(train.X, train.y).coef_
        worst = max(worst, float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))))
    checks = [Check.at_most("sweep MAP = scikit-learn Ridge(alpha = nλ)", worst, EXACT_VS_SKLEARN,
                            "sklearn.linear_model.Ridge (SVD), max|Δw|/max|w| over the λ grid")]

    # The chapter's own objective, minimised as written (mean ½r² + λ/2‖w‖², bias unpenalised), by SciPy.
    X, y, n, d = train.X, train.y, train.n, train.d

    def objective(theta):
        w, b = theta[:d], theta[d]
        r = y - X @ w - b
        return 0.5 * r @ r / n + 0.5 * CHAPTER_LAM * w @ w, np.concatenate([-(X.T @ r) / n + CHAPTER_LAM * w,
                                                                             [-r.sum() / n]])

    sol = minimize(objective, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"gtol": 1e-14, "ftol": 0,
                                                                                     "maxiter": 10_000})
    ref = map_at(train, CHAPTER_LAM).w
    checks.append(Check.at_most("the chapter's objective at λ = 3 (SciPy L-BFGS) = MAP at canonical λ = 60",
                                float(np.max(np.abs(sol.x[:d] - ref)) / np.max(np.abs(ref))), LBFGS_VS_EXACT,
                                "scipy.optimize.minimize on mean ½r² + (λ/2)‖w‖², max|Δw|/max|w|"))

    tau = signal["chapter"]
    w = predictive["chapter"]["w"][0]
    ours = prior_from_penalty("l2", CHAPTER_LAM, problem.noise_sd, n, CONVENTION).neg_log_density(w)
    checks.append(Check.at_most("−log p(w) of the implied prior = SciPy's normal density",
                                abs(ours + stats.norm(0, tau).logpdf(w).sum()) / abs(ours), DENSITY_VS_SCIPY,
                                "scipy.stats.norm.logpdf summed over the 200 weights, relative"))

    # Prior predictive of the Pyro model: y = xᵀw + ε has sd √(τ²‖x‖² + σ²); a sample sd of N normal draws has
    # standard error ≈ sd/√(2N).
    x = problem.test.X[0]
    for key, draws in predictive.items():
        y0 = draws["y"][:, 0]
        expected = math.sqrt(signal[key] ** 2 * (x @ x) + problem.noise_sd**2)
        checks.append(Check.close(f"Pyro model's prior predictive of y has sd √(τ²‖x‖² + σ²) ({key} prior)",
                                  float(y0.std(ddof=1) / expected), 1.0, 4 / math.sqrt(2 * len(y0)),
                                  "ratio to the closed form at the first test row; tolerance 4 Monte Carlo "
                                  "standard errors of a sample sd"))
    return checks


# --------------------------------------------------------------------------------------------- sections

TITLE = "The weight-decay chapter, read the Bayesian way"


def render(result: ChapterResult, checks: list[Check]) -> StudyResult:
    """The study's :class:`StudyResult`: the intro (the module docstring's), sections, ``checks`` and summary."""
    summary = summarise(result)
    sections = [_prior_section(result.implied, result.truth_lam, result.problem),
                _sweep_section(result.grid, result.sweep, result.sgd_grid, result.sgd, summary),
                _simplest_section(result.draws, result.xs, result.predictive, result.signal, result.problem)]
    return StudyResult("chapter", TITLE, __doc__.split("\n\n")[1], sections, checks, summary)


def _prior_section(implied, truth_lam, problem) -> Section:
    c, k = implied[CONVENTION], implied["torch_sgd_mse"]
    rows = [["from scratch: mean ½r² + (λ/2)‖w‖² (`d2l`)", c["canonical_lam"], c["tau"], c["true_w_in_prior_sds"],
             c["prior_prob_abs_w_ge_true"]],
            ["concise: `MSELoss` + `SGD(weight_decay=3)` (`torch_sgd_mse`)", k["canonical_lam"], k["tau"],
             k["true_w_in_prior_sds"], k["prior_prob_abs_w_ge_true"]],
            ["a prior whose sd is the true weight, 0.01", truth_lam * problem.train.n, float(problem.true_w[0]),
             1.0, float(2 * stats.norm.sf(1.0))]]
    table = Table("The prior that λ = 3 is, with σ = 0.01 and n = 20",
                  ["λ = 3 read as", "canonical λ", "prior sd τ", "true w in prior sds", "prior P(|w_j| ≥ 0.01)"],
                  rows, "canonical λ = σ²/τ² in ½Σr² + (λ/2)‖w‖²")
    text = f"""\
With squared loss and Gaussian noise of sd σ, minimising ½Σr² + (λ/2)‖w‖² is finding the most probable w under
the prior w_j ~ N(0, τ²) with τ = σ/√λ. The chapter's loss is a mean over n = 20 rows, so its λ = 3 is
canonical λ = 60, and with σ = 0.01 that is τ = {c['tau']:.4f}. The true weights are all 0.01:
{c['true_w_in_prior_sds']:.1f} prior standard deviations out. The prior gives P(|w_j| ≥ 0.01) ≈
{c['prior_prob_abs_w_ge_true']:.0e}; it is almost sure the truth is impossible. The book's concise version
(`nn.MSELoss`, no ½, with `weight_decay=3`) halves the canonical λ and makes the same mistake by a factor √2
less. A prior that matches the truth's size has τ = 0.01, λ = {truth_lam:.3g} in the chapter's convention."""
    return Section("The prior that λ = 3 assumes", text, [table])


def _sweep_section(grid, sweep, sgd_grid, sgd, summary) -> Section:
    from ..plots import curves_against_lambda

    fig, axes = new_figure(2, width=6.4, height=4.6)
    axes[0].plot(sgd_grid, sgd["train_loss"], "o--", color="C2", ms=4, label="training loss, SGD run")
    axes[0].plot(sgd_grid, sgd["test_loss"], "s--", color="C3", ms=4, label="test loss, SGD run")
    axes[1].plot(sgd_grid, sgd["w_norm"], "o--", color="C2", ms=4, label="‖w‖, SGD run")
    marks = {"chapter": CHAPTER_LAM, "prior sd = true w": summary["truth_lam"]["d2l"]}
    curves_against_lambda(grid, {"training loss, exact MAP": sweep["train_loss"],
                                 "test loss, exact MAP": sweep["test_loss"]}, marks=marks,
                          references={"test loss of predicting the training mean": summary["baseline_test_loss"]},
                          xlabel="λ (chapter's convention: mean ½r² + (λ/2)‖w‖²)", ylabel="mean ½r² (log scale)",
                          title="The chapter's exercise: the MAP and the 100-epoch run", ax=axes[0])
    axes[0].set_yscale("log")
    curves_against_lambda(grid, {"‖w‖, exact MAP": sweep["w_norm"]}, marks=marks,
                          references={"‖w_true‖": summary["problem"]["true_w"] * math.sqrt(summary["problem"]["d"])},
                          xlabel="λ (chapter's convention)", ylabel="‖w‖ (Euclidean norm)",
                          title="Weight decay shrinks ‖w‖", ax=axes[1])
    axes[1].set_yscale("log")
    at = summary["at_chapter_lam"]
    i = int(np.argmin(sweep["test_loss"]))
    table = Table("The exact MAP at a few λ (chapter's convention)", ["λ", "training loss", "test loss", "‖w_MAP‖"],
                  [[float(grid[0]), sweep["train_loss"][0], sweep["test_loss"][0], sweep["w_norm"][0]],
                   [CHAPTER_LAM, at["train_loss"], at["test_loss"], at["w_norm"]],
                   [float(grid[i]), sweep["train_loss"][i], sweep["test_loss"][i], sweep["w_norm"][i]]],
                  "rows: the smallest λ of the grid, the chapter's λ = 3 (interpolated), the grid's best test loss")
    text = f"""\
The chapter's exercise asks for training and test loss against λ. Here each point is the exact MAP (a linear
solve), not the end of 100 epochs of SGD, so the curves show what the penalty itself does. With λ → 0 the
200 weights interpolate the 20 rows: training loss → 0, test loss high. As λ grows both weights and
training fit shrink. With n = 20 and d = 200, no λ predicts much better than the mean of the training y
(test loss {summary['baseline_test_loss']:.3g}): 20 rows cannot pin down 200 weights, whichever λ you take.
The test loss is smallest near λ = {float(grid[i]):.3g}.

The dashed lines are the chapter's own loop (100 epochs of minibatch SGD from w ~ N(0, 1)) at the same λ. At
small λ its test loss is {sgd['test_loss'][0]:.3g}, against {float(np.interp(math.log(sgd_grid[0]), np.log(grid),
sweep['test_loss'])):.3g} for the exact MAP at the same λ. The overfitting the chapter shows without decay is
not the interpolating solution: the minimum-norm interpolant predicts as well as anything here. It is the
random initialisation, which 400 steps never forget in the 180 directions the 20 rows say nothing about;
weight decay helps the run because it shrinks those directions, (1 − lr·λ) per step."""
    return Section("Training and test loss against λ (the chapter's exercise)", text, [table],
                   [StudyFigure("lambda_sweep", fig, "Left: training and test loss (mean ½r²) against λ, of the exact "
                                "MAP (lines) and of the chapter's 100-epoch SGD run (dashed, points). Right: ‖w‖ "
                                "against λ, with the norm of the true weights.")])


def _simplest_section(draws, xs, predictive, signal, problem) -> Section:
    fig, axes = new_figure(3, width=5.2, height=4.3)
    features = poly_features(xs)
    ax = axes[0]
    for i, tau in enumerate(PRIOR_TAUS):
        f = draws[tau][:6] @ features.T
        for j, row in enumerate(f):
            ax.plot(xs, row, color=f"C{i}", lw=1.1, alpha=0.8, label=f"τ = {tau:g}" if j == 0 else None)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_ylim(-25, 25)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x) = Σ_k w_k x^k / k!")
    ax.set_title("Functions drawn from the prior w ~ N(0, τ²)")
    ax.legend(fontsize=8)

    ax = axes[1]
    dx = xs[1] - xs[0]
    for i, tau in enumerate(PRIOR_TAUS):
        w = draws[tau][:300]
        size = np.sqrt(np.sum((w @ features.T) ** 2, axis=1) * dx)
        ax.scatter(0.5 * np.sum(w**2, axis=1), size, s=6, alpha=0.5, color=f"C{i}", label=f"τ = {tau:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("½‖w‖²  (= τ²·(−log p(w) + const))")
    ax.set_ylabel("size of f: (∫ f(x)² dx)^½ over [−3, 3]")
    ax.set_title("The penalty measures how far f is from 0")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")

    ax = axes[2]
    X = problem.test.X
    true_signal = X @ problem.true_w
    bins = np.linspace(-0.6, 0.6, 61)
    for i, (key, pred) in enumerate(predictive.items()):
        f = (pred["w"][:50] @ X.T).ravel()
        label = (f"prior of λ = 3: τ = {signal[key]:.4f}" if key == "chapter"
                 else f"prior with τ = {signal[key]:g}")
        ax.hist(f, bins=bins, density=True, histtype="step", lw=1.8, color=f"C{i}", label=label)
    ax.hist(true_signal, bins=bins, density=True, alpha=0.35, color="k", label="the true xᵀw on the test rows")
    ax.set_xlabel("xᵀw on the d2l test inputs")
    ax.set_ylabel("density")
    ax.set_title("What λ = 3 expects of the d2l signal")
    ax.legend(fontsize=8)
    tau_c = signal["chapter"]
    text = f"""\
A Gaussian prior centred at 0 makes w = 0, the function f = 0, the most probable one, and the penalty
−log p(w) = ‖w‖²/(2τ²) + const grows with the distance from it: that is the sense in which weight decay
prefers "simple" functions. The left panel draws polynomials f(x) = Σ w_k x^k/k! (the chapter family's
features, degree {POLY_DEGREE}) from the prior: a small τ gives nearly flat functions, a large τ wild ones.
The middle panel shows that ½‖w‖², the quantity the penalty charges, tracks how far f is from 0.

The right panel is the prior that the chapter's λ = 3 puts on its own data: on the test inputs it expects the
signal xᵀw within about ±{2 * tau_c * math.sqrt(problem.train.d):.2f} (2 prior sds), while the true signal
0.01·Σx spreads over ±{2 * 0.01 * math.sqrt(problem.train.d):.2f}. A prior with τ = 0.01 expects what the data
show."""
    return Section('Why f = 0 is "simplest": drawing from the prior', text, [],
                   [StudyFigure("prior_draws", fig, "Left: functions drawn from the prior for three τ. Middle: "
                                "½‖w‖² against the size of f for 300 draws per τ. Right: prior predictive of "
                                "xᵀw on the d2l test inputs under the chapter's prior and one of the truth's size, "
                                "against the true signal.")])
