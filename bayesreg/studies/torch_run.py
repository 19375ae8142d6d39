"""From your PyTorch training run: the prior it assumed, whether it reached that prior's MAP, and the posterior.

Four training runs, each read with the public :mod:`bayesreg.torch` API and checked against bayesreg's exact
answers (computed in float64):

* **the chapter's concise model** (Dive into Deep Learning §3.7, ``train_concise(wd=3)``): ``nn.Linear(200, 1)``
  on 20 rows, ``MSELoss`` and ``SGD`` with decay 3 on the weight only, minibatches of 5, 100 epochs. The prior
  it implies against the conventions table, how far the run is from that prior's MAP, the Laplace posterior
  (laplace-torch) against the exact Gaussian posterior, the log marginal likelihood against weight decay against
  the exact evidence, the weight decay the evidence prefers, and held-out coverage of the 94% intervals;
* **a small MLP** on diabetes (10 → 16 → 1, tanh, Adam with decay on the weights only, full batch, a cosine
  learning-rate schedule), σ estimated from the training residuals: the reading, the MAP check, the Laplace
  posterior over all parameters and over the last layer (checked against Bayesian linear regression on the
  network's penultimate features), held-out coverage, log marginal likelihood and the preferred weight decay;
* **a classifier** on breast_cancer (``BCEWithLogitsLoss``, ``SGD(weight_decay = 1/n)`` on the weight: τ = 1,
  scikit-learn's C = 1): the Laplace mean against Newton's MAP, the covariance against bayesreg's own Laplace
  approximation, and the sds against the Pólya–Gamma Gibbs posterior with their Monte Carlo error;
* **AdamW** on diabetes (full batch and minibatches of 32): its end point against the MAP of the prior read from
  the optimiser's state (the effective prior) and of its weight_decay read as coupled (the naive prior).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .base import Check, Figure, Section, StudyResult, Table, new_figure, one_blas_thread, quiet, timed_study

__all__ = ["run", "compute", "check", "render", "TorchRunResult", "TITLE", "D2L_WEIGHT_DECAY", "MLP_WEIGHT_DECAY",
           "ADAMW_WEIGHT_DECAY", "PROB"]

TITLE = "From your PyTorch training run"
PROB = 0.94
D2L_WEIGHT_DECAY = 3.0        # train_concise(wd=3)
D2L_SIGMA = 0.01              # the generator's noise sd: known
MLP_WEIGHT_DECAY = 0.01
MLP_HIDDEN = 16
ADAMW_WEIGHT_DECAY = 0.5
ADAMW_BATCH = 32

#: tolerances against exact answers: two float64 solves of the same linear algebra (condition numbers here up to
#: ~1e6, so a relative error of ~1e-10 at worst); 1e-8 leaves a margin of 100
EXACT = 1e-8
#: the evidence-preferred multiplier, two maximisers of the same curve: a function is flat at its maximum, so a
#: value error δ moves the argmax by √(2δ/|f''|), ~√ε relative (1e-7..1e-6 measured); 1e-5 leaves a margin
ARGMAX = 1e-5
#: a 30-weight maximum of |z| beyond 4.5 Monte Carlo standard errors has probability < 2e-4
Z_MAX = 4.5
#: the accuracy claimed for the Laplace approximation's sds on breast_cancer, beyond Monte Carlo error
LAPLACE_SD_BUDGET = 0.10
#: AdamW: the effective reading's MAP must be at least this many times closer than the naive one's
ADAMW_RATIO = 10.0


@dataclass(frozen=True)
class TorchRunResult:
    seed: int
    quick: bool
    d2l: dict
    mlp: dict
    classifier: dict
    adamw: dict


@contextmanager
def _one_torch_thread():
    """One intra-op thread (the models are tiny, and the same thread count gives the same numbers)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _seeded(seed: int, build):
    """``build()`` under ``torch.manual_seed(seed)``, leaving the global torch RNG as it was."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _coverage(lower, upper, y) -> float:
    return float(np.mean((lower <= y) & (y <= upper)))


def _flat_params(model, names) -> np.ndarray:
    params = dict(model.named_parameters())
    return np.concatenate([params[n].detach().double().numpy().ravel() for n in names])


# ------------------------------------------------------------------------------------------- 1. the chapter

def _d2l(seed: int, progress) -> dict:
    """d2l's ``train_concise(wd=3)``, in float64, then everything bayesreg.torch reads from it."""
    import torch
    from torch import nn

    from ..conventions import to_canonical_lam
    from ..data import load_d2l
    from ..infer.conjugate import gaussian_posterior
    from ..selection import evidence_curve, maximise_evidence
    from ..torch import implied_prior, laplace_posterior, map_check

    problem = load_d2l(seed)
    train, test = problem.train, problem.test
    n = train.n
    X = torch.tensor(np.array(train.X))
    y = torch.tensor(np.array(train.y)).reshape(-1, 1)
    net = nn.Sequential(nn.Linear(train.d, 1)).double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in net.parameters():
            param.normal_(generator=gen)
    loss = nn.MSELoss(reduction="none")
    trainer = torch.optim.SGD([{"params": net[0].weight, "weight_decay": D2L_WEIGHT_DECAY},
                               {"params": net[0].bias}], lr=0.003)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=5, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    progress("the chapter's concise run: 100 epochs of minibatch SGD")
    for _ in range(100):
        for xb, yb in loader:
            trainer.zero_grad()
            loss(net(xb), yb).mean().backward()
            trainer.step()
    kw = {"sigma": D2L_SIGMA, "reduction": "mean"}
    reading = implied_prior(net, trainer, loss, n, train_data=loader, **kw)
    w_read = reading["0.weight"]
    lam_table = to_canonical_lam("l2", D2L_WEIGHT_DECAY, n=n, convention="torch_sgd_mse")
    mc = map_check(net, trainer, loss, loader, **kw)
    progress("the chapter's run: Laplace (laplace-torch) against the exact posterior")
    la = laplace_posterior(net, trainer, loss, loader, subset="all", **kw)
    exact = gaussian_posterior(train.X, train.y, prior=w_read.tau, sigma=D2L_SIGMA, bias="flat")
    trained = _flat_params(net, la.names)
    multipliers = np.logspace(-4, 4, 161)
    curve = la.weight_decay_curve(multipliers)
    lams = multipliers * w_read.lam
    exact_curve = evidence_curve(train, lams, sigma=D2L_SIGMA, bias="flat")
    best = maximise_evidence(train, sigma=D2L_SIGMA, bias="flat")
    preferred = gaussian_posterior(train.X, train.y, prior=D2L_SIGMA / math.sqrt(best.lam), sigma=D2L_SIGMA,
                                   bias="flat")
    pred = la.predict(np.array(test.X), prob=PROB)
    yt = np.array(test.y)
    exact_pred = exact.predictive(test.X)
    pref_pred = preferred.predictive(test.X)
    tail = (1.0 - PROB) / 2.0
    return {
        "n": n, "d": train.d, "n_test": test.n, "reading": reading, "tau": float(w_read.tau), "lam": float(w_read.lam),
        "lam_table": float(lam_table), "bias_kind": reading["0.bias"].kind, "map_check": mc,
        "laplace": la, "exact": exact, "trained": trained,
        "laplace_mean_is_trained": float(np.max(np.abs(la.mean - trained))),
        "cov_rel": _rel(la.covariance, exact.cov), "sd_max_rel": float(np.max(np.abs(la.sd / np.sqrt(np.diag(
            exact.cov)) - 1))),
        "distance_to_map": _rel(la.mean, exact.mean), "w_norm": float(np.linalg.norm(trained[:-1])),
        "map_w_norm": float(np.linalg.norm(exact.w_mean)),
        "log_ml_trained": la.log_marginal_likelihood(), "log_evidence": float(exact.log_evidence),
        "curve": curve, "exact_curve": exact_curve,
        "curve_rel": float(np.max(np.abs(curve.log_marginal_likelihood - exact_curve.log_evidence)
                                  / np.abs(exact_curve.log_evidence))),
        "best_multiplier": float(curve.best_multiplier), "preferred_wd": float(curve.best_weight_decays()[0]),
        "best_lam_exact": float(best.lam), "best_multiplier_exact": float(best.lam / w_read.lam),
        "preferred_tau": float(D2L_SIGMA / math.sqrt(best.lam)), "interior": bool(curve.interior),
        "preferred": preferred,
        "coverage": {
            "laplace_at_trained": _coverage(pred.lower, pred.upper, yt),
            "exact_at_wd3": _coverage(exact_pred.ppf(tail), exact_pred.ppf(1 - tail), yt),
            "exact_at_preferred": _coverage(pref_pred.ppf(tail), pref_pred.ppf(1 - tail), yt),
        },
        "test_rmse": {"trained": float(np.sqrt(np.mean((pred.mean - yt) ** 2))),
                      "map_wd3": float(np.sqrt(np.mean((exact_pred.mean() - yt) ** 2))),
                      "map_preferred": float(np.sqrt(np.mean((pref_pred.mean() - yt) ** 2)))},
        "true_w": float(problem.true_w[0]),
    }


# ------------------------------------------------------------------------------------------------ 2. the MLP

def _split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded 75/25 split: (train rows, test rows), each sorted."""
    order = np.random.default_rng(seed).permutation(n)
    k = n // 4
    return np.sort(order[k:]), np.sort(order[:k])


def _full_batch(net, opt, loss, X, y, steps: int, scheduler=None) -> None:
    for _ in range(steps):
        opt.zero_grad()
        loss(net(X), y).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()


def _mlp(seed: int, quick: bool, progress) -> dict:
    import torch
    from torch import nn

    from ..data import load_diabetes
    from ..infer.conjugate import gaussian_posterior
    from ..selection import evidence_curve
    from ..torch import implied_prior, laplace_posterior, map_check

    data = load_diabetes()
    tr, te = _split(data.n, seed)
    mx, sx = data.X[tr].mean(0), data.X[tr].std(0)
    my, sy = float(data.y[tr].mean()), float(data.y[tr].std())
    X = torch.tensor((data.X[tr] - mx) / sx)
    y = torch.tensor((data.y[tr] - my) / sy).reshape(-1, 1)
    X_test, y_test = (data.X[te] - mx) / sx, (data.y[te] - my) / sy
    net = _seeded(seed, lambda: nn.Sequential(nn.Linear(data.d, MLP_HIDDEN), nn.Tanh(),
                                              nn.Linear(MLP_HIDDEN, 1)).double())
    opt = torch.optim.Adam([{"params": [net[0].weight, net[2].weight], "weight_decay": MLP_WEIGHT_DECAY},
                            {"params": [net[0].bias, net[2].bias], "weight_decay": 0.0}],
                           lr=0.02 if quick else 0.01)
    steps = 2000 if quick else 6000
    lr0 = opt.param_groups[0]["lr"]
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=1e-3 * lr0)
    loss = nn.MSELoss()
    progress(f"MLP on diabetes: {steps} full-batch Adam steps")
    _full_batch(net, opt, loss, X, y, steps, schedule)
    pair = (X, y)
    reading = implied_prior(net, opt, loss, len(tr), train_data=pair)
    mc = map_check(net, opt, loss, pair)
    with torch.no_grad():
        test_fit = net(torch.tensor(X_test)).numpy().ravel()
        phi = net[1](net[0](X)).numpy()
    multipliers = np.logspace(-3, 3, 121)
    out = {"n": len(tr), "n_test": len(te), "steps": steps, "lr": lr0, "reading": reading, "map_check": mc,
           "sigma": float(reading.sigma), "sigma_source": reading.sigma_source,
           "test_residual_sd": float(np.sqrt(np.mean((test_fit - y_test) ** 2))), "y_test": y_test,
           "train_residual_sd": float(reading.sigma), "y_sd": sy, "fits": {}}
    progress("MLP: Laplace over all parameters and over the last layer")
    for subset in ("all", "last_layer"):
        la = laplace_posterior(net, opt, loss, pair, subset=subset)
        pred = la.predict(X_test, prob=PROB)
        curve = la.weight_decay_curve(multipliers)
        out["fits"][subset] = {
            "laplace": la, "names": la.names, "parameters": int(la.mean.size), "prediction": pred,
            "coverage": _coverage(pred.lower, pred.upper, y_test),
            "mean_width": float(np.mean(pred.upper - pred.lower)),
            "function_sd": float(np.mean(pred.function_sd)), "log_ml": la.log_marginal_likelihood(), "curve": curve,
            "best_multiplier": float(curve.best_multiplier), "interior": bool(curve.interior),
            "preferred_wd": float(MLP_WEIGHT_DECAY * curve.best_multiplier), "stationarity": float(la.stationarity),
        }
    last = out["fits"]["last_layer"]
    w_last = reading[last["names"][0]]
    oracle = gaussian_posterior(phi, y.numpy().ravel(), prior=w_last.tau, sigma=reading.sigma, bias="flat")
    oracle_curve = evidence_curve(phi, multipliers * w_last.lam, y.numpy().ravel(), sigma=reading.sigma, bias="flat")
    out["last_layer_oracle"] = {
        "tau": float(w_last.tau), "lam": float(w_last.lam),
        "cov_rel": _rel(last["laplace"].covariance, oracle.cov),
        "distance_to_map": _rel(last["laplace"].mean, oracle.mean),
        "curve_rel": float(np.max(np.abs(last["curve"].log_marginal_likelihood - oracle_curve.log_evidence)
                                  / np.abs(oracle_curve.log_evidence))),
    }
    return out


# ----------------------------------------------------------------------------------------- 3. the classifier

def _classifier(seed: int, quick: bool, progress) -> dict:
    import arviz as az
    import torch
    from torch import nn

    from ..conventions import get_convention, to_canonical_lam
    from ..data import Dataset, load_breast_cancer
    from ..infer.laplace_approx import laplace_approximation
    from ..infer.polya_gamma import polya_gamma_gibbs
    from ..model import Model
    from ..priors import Gaussian
    from ..solvers.logistic import logistic_map
    from ..solvers.objective import PenalizedLeastSquares
    from ..torch import implied_prior, laplace_posterior, map_check

    raw = load_breast_cancer()
    Xn = (raw.X - raw.X.mean(0)) / raw.X.std(0)
    data = Dataset(Xn, raw.y, raw.feature_names, raw.target_name, raw.name, classes=raw.classes)
    n = data.n
    wd = 1.0 / n
    X = torch.tensor(np.array(data.X))
    y = torch.tensor(np.array(data.y)).reshape(-1, 1)
    net = _seeded(seed, lambda: nn.Linear(data.d, 1).double())
    opt = torch.optim.SGD([{"params": net.weight, "weight_decay": wd}, {"params": net.bias, "weight_decay": 0.0}],
                          lr=1.0, momentum=0.9)
    loss = nn.BCEWithLogitsLoss()
    steps = 1500
    progress(f"classifier on breast_cancer: {steps} full-batch SGD steps (momentum 0.9)")
    _full_batch(net, opt, loss, X, y, steps)
    pair = (X, y)
    reading = implied_prior(net, opt, loss, n, train_data=pair)
    convention = get_convention("torch_bce_mean", "logistic")
    lam_table = to_canonical_lam("l2", wd, n=n, convention=convention)
    mc = map_check(net, opt, loss, pair)
    la = laplace_posterior(net, opt, loss, pair)
    newton = logistic_map(data.X, data.y, PenalizedLeastSquares(l2=1.0, bias="flat"), tol=1e-13)
    ref = np.append(newton.w, newton.b)
    model = Model.logistic(Gaussian(1.0))
    own = laplace_approximation(data, model)
    # ‖θ* − θ_MAP‖ ≤ ‖∇J(θ*)‖/μ for J strongly convex with curvature ≥ μ between them: μ from the posterior
    # precision at θ* (its smallest eigenvalue, 1/‖Σ‖₂), ∇J the canonical gradient (the training gradient × a/κ)
    a = reading.loss.nll_per_unit_loss(None)
    grad = mc.gradient_norm * a / reading.loss.kappa
    bound = np.linalg.norm(la.covariance, 2) * grad
    draws = 1000 if quick else 5000
    progress(f"classifier: Pólya–Gamma Gibbs, 4 chains × {draws} draws")
    gibbs = polya_gamma_gibbs(data, model, chains=4, draws=draws, seed=seed)
    w = gibbs.flat("w")
    gibbs_sd = w.std(0)
    # ArviZ's effective sample size of each weight's sd (through those of w and w²)
    ess = az.ess(az.convert_to_dataset({"w": gibbs.draws["w"]}), method="sd")["w"].values
    lap_sd = la.parameter("weight")[1].ravel()
    lap_mean = la.parameter("weight")[0].ravel()
    ratio = lap_sd / gibbs_sd
    # a Gaussian's sd from m effective draws has relative error 1/√(2m)
    se = np.sqrt(0.5 / ess)
    z = np.abs(ratio - 1.0) / se
    mean_gap = np.abs(lap_mean - w.mean(0)) / gibbs_sd
    return {
        "n": n, "d": data.d, "wd": wd, "steps": steps, "reading": reading, "tau": float(reading["weight"].tau),
        "lam": float(reading["weight"].lam), "lam_table": float(lam_table), "convention": convention.name,
        "map_check": mc, "laplace": la, "newton": ref, "distance": float(np.linalg.norm(la.mean - ref)),
        "distance_rel": _rel(la.mean, ref), "gradient": float(grad), "bound": float(bound),
        "own_cov_rel": _rel(la.covariance, own.cov), "own_log_evidence": float(own.log_evidence),
        "log_ml": la.log_marginal_likelihood(),
        "draws": draws, "chains": 4, "ess_min": float(ess.min()), "feature_names": data.feature_names,
        "ratio": ratio, "se": se, "z": z, "mean_gap": mean_gap,
        "beyond_mc": int(np.sum(z > Z_MAX)), "unexplained": float(np.max(np.abs(ratio - 1.0) - Z_MAX * se)),
    }


# ------------------------------------------------------------------------------------------------- 4. AdamW

def _adamw(seed: int, quick: bool, progress) -> dict:
    import torch
    from torch import nn

    from ..data import load_diabetes
    from ..torch import map_check

    data = load_diabetes()
    X = torch.tensor((data.X - data.X.mean(0)) / data.X.std(0))
    y = torch.tensor((data.y - data.y.mean()) / data.y.std()).reshape(-1, 1)
    n = data.n
    loss = nn.MSELoss()
    out = {}
    for label, batch, lr, epochs in (("full batch", n, 0.05, 2000 if quick else 3000),
                                     (f"minibatch {ADAMW_BATCH}", ADAMW_BATCH, 0.01, 100 if quick else 200)):
        net = _seeded(seed, lambda: nn.Linear(data.d, 1).double())
        opt = torch.optim.AdamW([{"params": net.weight, "weight_decay": ADAMW_WEIGHT_DECAY},
                                 {"params": net.bias, "weight_decay": 0.0}], lr=lr)
        per_epoch = -(-n // batch)
        steps = epochs * per_epoch
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=1e-3 * lr)
        progress(f"AdamW, {label}: {steps} steps")
        gen = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen) if batch < n else torch.arange(n)
            for i in range(per_epoch):
                rows = order[i * batch:(i + 1) * batch]
                opt.zero_grad()
                loss(net(X[rows]), y[rows]).backward()
                opt.step()
                schedule.step()
        mc = map_check(net, opt, loss, (X, y))
        eff = mc.reading["weight"].effective_tau
        out[label] = {"batch": batch, "lr": lr, "steps": steps, "map_check": mc,
                      "effective": float(mc.distance_to_map), "naive": float(mc.naive["distance_to_map"]),
                      "r_effective": float(mc.relative_gradient), "r_naive": float(mc.naive["relative_gradient"]),
                      "tau_effective": (float(np.min(eff)), float(np.max(eff))),
                      "tau_naive": float(mc.reading["weight"].naive_tau)}
    return out


def compute(*, seed: int = 0, quick: bool = False, progress=quiet) -> TorchRunResult:
    """The numbers of the study (module docstring)."""
    with _one_torch_thread():
        d2l = _d2l(seed, progress)
        mlp = _mlp(seed, quick, progress)
        classifier = _classifier(seed, quick, progress)
        adamw = _adamw(seed, quick, progress)
    return TorchRunResult(seed, quick, d2l, mlp, classifier, adamw)


# ------------------------------------------------------------------------------------------------- checks

def check(r: TorchRunResult) -> list[Check]:
    """Against the conventions table, the exact Gaussian posterior and evidence, Newton's logistic MAP,
    bayesreg's own Laplace approximation and the Pólya–Gamma Gibbs sampler."""
    d, m, c = r.d2l, r.mlp, r.classifier
    grid = d["curve"].multipliers.size
    checks = [
        Check.close("d2l: implied λ of SGD(weight_decay=3) on MSELoss = conventions table (torch_sgd_mse, n = 20)",
                    d["lam"], d["lam_table"], 1e-12 * d["lam_table"],
                    "λ = wd/(2κ), κ = 1/n for the mean loss; the table's 2κ*γ₂/κ(n), derived separately"),
        Check.at_most("d2l: Laplace covariance (laplace-torch, subset='all') = exact posterior covariance "
                      "(relative, Frobenius)", d["cov_rel"], EXACT,
                      "bayesreg.gaussian_posterior at the implied τ, σ = 0.01, flat bias: linear regression, so "
                      "the GGN is the exact Hessian wherever training stopped"),
        Check.close("d2l: map_check's distance to the MAP = ‖θ* − posterior mean‖/‖posterior mean‖",
                    d["map_check"].distance_to_map, d["distance_to_map"], EXACT * d["distance_to_map"],
                    "map_check's MAP against the exact posterior's mean (relative to the distance)"),
        Check.at_most(f"d2l: log ML against weight decay = exact evidence, max relative gap over {grid} multipliers "
                      "10⁻⁴..10⁴", d["curve_rel"], EXACT,
                      "TorchLaplace.weight_decay_curve against bayesreg.selection.evidence_curve at λ = 30 × "
                      "multiplier"),
        Check.at_most("d2l: preferred weight decay (Laplace curve) = maximise_evidence's (relative)",
                      abs(d["best_multiplier"] / d["best_multiplier_exact"] - 1.0), ARGMAX,
                      f"wd = {d['preferred_wd']:.6g} against 3·λ̂/30 = {3 * d['best_multiplier_exact']:.6g}; Brent's "
                      "method on each curve; an argmax is fixed only to ~√ε relative (the curve is flat there)"),
        Check.at_most("MLP: last-layer Laplace covariance = exact Bayesian linear regression on the penultimate "
                      "features Φ(X) (relative)", m["last_layer_oracle"]["cov_rel"], EXACT,
                      "gaussian_posterior(Φ(X), y, τ of the last layer, σ̂, flat bias)"),
        Check.at_most("MLP: last-layer log ML against weight decay = exact evidence on Φ(X), max relative gap",
                      m["last_layer_oracle"]["curve_rel"], EXACT,
                      f"{m['fits']['last_layer']['curve'].multipliers.size} multipliers 10⁻³..10³ of the last "
                      "layer's decay; evidence_curve on Φ(X) with the same σ̂"),
        Check.close("classifier: implied λ of SGD(weight_decay = 1/n) on BCEWithLogitsLoss = conventions table "
                    "(torch_bce_mean)", c["lam"], c["lam_table"], 1e-12,
                    "λ = 1/τ² = wd/κ, κ = 1/n: τ = 1, scikit-learn's C = 1"),
        Check.at_most("classifier: ‖Laplace mean − Newton's MAP‖ within the run's own stationarity",
                      c["distance"], 2.0 * c["bound"] + 1e-12 * np.linalg.norm(c["newton"]),
                      f"bound ‖Σ‖₂·‖∇J(θ*)‖ = {c['bound']:.2g} from strong convexity (×2 for the curvature "
                      "between θ* and the MAP), plus Newton's own tolerance 1e-12·‖θ_MAP‖"),
        Check.at_most("classifier: Laplace covariance (laplace-torch) = bayesreg's Laplace at the MAP (relative)",
                      c["own_cov_rel"], EXACT,
                      "the GGN of the logistic likelihood is its Hessian; θ* is the MAP to the distance above"),
        Check.at_most("classifier: Laplace log ML (laplace-torch) = bayesreg's Laplace log evidence (relative)",
                      abs(c["log_ml"] / c["own_log_evidence"] - 1.0), EXACT,
                      f"{c['log_ml']:.10g} against {c['own_log_evidence']:.10g}; the flat bias integrated against "
                      "density 1 in both"),
        Check.at_most("classifier: Laplace sd vs Pólya–Gamma Gibbs sd, largest gap beyond 4.5 Monte Carlo "
                      "standard errors: max_j(|ratio_j − 1| − 4.5·se_j)", c["unexplained"], LAPLACE_SD_BUDGET,
                      "se_j = 1/√(2·ESS_j), ESS_j ArviZ's effective sample size of weight j's sd "
                      f"(≥ {c['ess_min']:.0f}); max |ratio − 1| = {np.max(np.abs(c['ratio'] - 1)):.3f} at "
                      f"{np.max(c['z']):.1f} standard errors, "
                      f"{c['beyond_mc']} of {c['d']} weights beyond 4.5: the Laplace approximation's own error, "
                      f"allowed {LAPLACE_SD_BUDGET:.0%} once Monte Carlo error is taken off"),
    ]
    for label, a in r.adamw.items():
        checks.append(Check.at_least(
            f"AdamW ({label}): the effective prior's MAP is ≥ {ADAMW_RATIO:g}× closer than the naive reading's",
            a["naive"] / a["effective"], ADAMW_RATIO,
            f"relative distance {a['effective']:.2g} (effective, from the optimiser's v̂) against {a['naive']:.2g} "
            "(weight_decay read as coupled)"))
    return checks


# ------------------------------------------------------------------------------------------------- render

def _fmt_wd(x: float) -> str:
    return f"{x:.3g}"


def _curves_figure(r: TorchRunResult):
    d, m = r.d2l, r.mlp
    fig, (ax, ax2) = new_figure(2, width=5.6, height=4.2)
    wd = d["curve"].multipliers * D2L_WEIGHT_DECAY
    ax.plot(wd, d["curve"].log_marginal_likelihood, color="C0", lw=1.6, label="Laplace (laplace-torch)")
    ax.plot(wd[::8], d["exact_curve"].log_evidence[::8], "o", color="k", ms=3.5, mfc="none",
            label="exact evidence")
    top = float(np.max(d["curve"].log_marginal_likelihood))
    ax.axvline(D2L_WEIGHT_DECAY, color="C3", ls="--", lw=1, label="the chapter's wd = 3")
    ax.axvline(d["preferred_wd"], color="C2", lw=1, label=f"preferred wd = {d['preferred_wd']:.3g}")
    ax.set_xscale("log")
    ax.set_ylim(top - 400, top + 40)
    ax.set_xlabel("weight decay of SGD on MSELoss (n = 20)")
    ax.set_ylabel("log marginal likelihood")
    ax.set_title("d2l concise model")
    ax.legend(fontsize=8, loc="lower left")
    for subset, color in (("all", "C0"), ("last_layer", "C1")):
        f = m["fits"][subset]
        curve = f["curve"]
        values = curve.log_marginal_likelihood - np.max(curve.log_marginal_likelihood)
        ax2.plot(curve.multipliers * MLP_WEIGHT_DECAY, values, color=color, lw=1.6,
                 label=f"{subset} (preferred {f['preferred_wd']:.2g})")
        ax2.axvline(f["preferred_wd"], color=color, lw=0.8, ls=":")
    ax2.axvline(MLP_WEIGHT_DECAY, color="C3", ls="--", lw=1, label=f"trained with wd = {MLP_WEIGHT_DECAY:g}")
    ax2.set_xscale("log")
    ax2.set_ylim(-60, 5)
    ax2.set_xlabel(f"weight decay of Adam on MSELoss (n = {m['n']})")
    ax2.set_ylabel("log ML − its maximum")
    ax2.set_title("MLP on diabetes (network linearised at θ*)")
    ax2.legend(fontsize=8, loc="lower left")
    return fig


def _weights_figure(d: dict, k: int = 30):
    fig, ax = new_figure(width=8.0, height=4.8)
    z = _z()
    x = np.arange(k)
    ex, pref, la = d["exact"], d["preferred"], d["laplace"]
    ex_sd, pref_sd = np.sqrt(np.diag(ex.cov))[:k], np.sqrt(np.diag(pref.cov))[:k]
    ax.errorbar(x - 0.22, ex.w_mean[:k], yerr=z * ex_sd, fmt="o", ms=3, color="C0", lw=1,
                label="exact posterior at wd = 3 (mean ± 94%)")
    ax.errorbar(x, la.mean[:k], yerr=z * la.sd[:k], fmt="s", ms=3, color="C3", lw=1,
                label="trained weights, Laplace ± 94%")
    ax.errorbar(x + 0.22, pref.w_mean[:k], yerr=z * pref_sd, fmt="^", ms=3, color="C2", lw=1,
                label=f"exact posterior at the preferred wd = {d['preferred_wd']:.3g}")
    ax.axhline(d["true_w"], color="k", lw=0.8, ls="--", label="true weight 0.01")
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlabel(f"weight (the first {k} of {d['d']})")
    ax.set_ylabel("value")
    ax.set_title("d2l: where the chapter's run ended, against the posterior it implies")
    fig.legend(fontsize=8, loc="outside lower center", ncols=2)
    return fig


def _mlp_figure(m: dict):
    fig, axes = new_figure(2, width=5.2, height=4.0, sharey=True)
    y = m["y_test"]
    order = np.argsort(m["fits"]["all"]["prediction"].mean)
    xs = np.arange(len(order))
    for ax, subset, color in zip(axes, ("all", "last_layer"), ("C0", "C1"), strict=True):
        f = m["fits"][subset]
        p = f["prediction"]
        ax.fill_between(xs, p.lower[order], p.upper[order], color=color, alpha=0.3, label="94% predictive interval")
        ax.plot(xs, p.mean[order], color=color, lw=1.2, label="network's prediction")
        ax.plot(xs, y[order], "k.", ms=3, label="held-out target")
        ax.set_title(f"subset = {subset}: {f['coverage']:.0%} covered ({f['parameters']} parameters)")
        ax.set_xlabel("held-out rows, sorted by prediction")
    axes[0].set_ylabel("disease progression (standardised)")
    axes[0].legend(fontsize=8, loc="upper left")
    return fig


def _sd_ratio_figure(c: dict):
    fig, ax = new_figure(width=8.0, height=3.8)
    x = np.arange(c["d"])
    band = Z_MAX * c["se"]
    ax.fill_between(x, 1 - band, 1 + band, color="0.85", step="mid", label="1 ± 4.5 Monte Carlo se")
    ax.errorbar(x, c["ratio"], yerr=c["se"], fmt="o", ms=4, color="C0", lw=1, label="Laplace sd / Gibbs sd (± 1 se)")
    ax.axhline(1, color="k", lw=0.8)
    ax.set_xticks(x, list(c["feature_names"]), rotation=90, fontsize=6)
    ax.set_xlabel("weight of each standardised feature")
    ax.set_ylabel("Laplace sd / Gibbs sd")
    ax.set_title(f"breast_cancer, τ = 1: Laplace sd against Gibbs sd ({c['chains']} × {c['draws']} draws)")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def _z() -> float:
    from scipy import stats

    return float(stats.norm.ppf(0.5 + PROB / 2.0))


def _reading_rows(reading) -> list[list]:
    return [[p.name, "×".join(map(str, p.shape)) or "scalar", p.kind, p.tau, p.lam, p.weight_decay]
            for p in reading]


def render(r: TorchRunResult, checks: list[Check]) -> StudyResult:
    """The sections, tables and figures."""
    d, m, c, aw = r.d2l, r.mlp, r.classifier, r.adamw
    reading_cols = ["parameter", "shape", "kind", "τ", "canonical λ", "weight_decay"]
    mc = d["map_check"]
    cov = d["coverage"]
    chapter = Section(
        "The chapter's concise model: train_concise(wd=3)",
        "Dive into Deep Learning's concise weight-decay run, as written: `nn.Linear(200, 1)` with every parameter "
        "drawn by `normal_()`, `MSELoss(reduction='none')` then `.mean()`, "
        "`SGD([{'params': weight, 'weight_decay': 3}, {'params': bias}], lr=0.003)`, minibatches of 5 shuffled "
        f"rows, 100 epochs (here in float64). `implied_prior(..., sigma=0.01, reduction='mean')` reads decay 3 on "
        f"the weight as **w ~ N(0, {d['tau']:.4f}²)**, canonical λ = σ²/τ² = {d['lam']:.4g} (the conventions table "
        f"says {d['lam_table']:.4g}), and the undecayed bias as a flat prior. `MSELoss` has no ½, so this λ is half "
        "the from-scratch chapter's 60 (its loss is ½r²): the same `wd = 3`, a different prior. The true weights, "
        f"0.01, are {d['true_w'] / d['tau']:.1f} prior sds out.\n\n"
        f"**Is the run at that prior's MAP?** No: `map_check` finds r = {mc.relative_gradient:.2f} (0 at a "
        f"stationary point) and the trained parameters {d['distance_to_map']:.3g}× the MAP's norm away from it "
        f"(‖w‖ = {d['w_norm']:.3f} against the MAP's {d['map_w_norm']:.4f}): 400 small steps from a N(0, 1) "
        "initialisation are early stopping with a little decay, not the MAP.\n\n"
        "**The Laplace posterior** (`laplace_posterior(..., subset='all')`) is centred on the trained point (its "
        + ("mean is θ* exactly" if d["laplace_mean_is_trained"] == 0 else
           f"mean is θ* to {d['laplace_mean_is_trained']:.1g}")
        + "), with covariance (H + P₀)⁻¹. For a linear model the "
        "GGN H is XᵀX/σ² wherever training stopped, so the covariance is the exact posterior's: agreement "
        f"{d['cov_rel']:.1g} (relative). Its log marginal likelihood at θ* is {d['log_ml_trained']:.4g}, against "
        f"the exact evidence {d['log_evidence']:.4g} at wd = 3: the formula assumes θ* is the MAP. "
        "`weight_decay_curve()` re-solves the linearised model's mode for every decay and recovers the exact "
        f"evidence at every one of {d['curve'].multipliers.size} decays (largest relative gap "
        f"{d['curve_rel']:.1g}). The evidence prefers **wd = {d['preferred_wd']:.3g}** (multiplier "
        f"{d['best_multiplier']:.4g} of the chapter's 3): τ = {d['preferred_tau']:.4f}, next to the true weights' "
        "0.01.\n\n"
        f"**Held-out coverage** of the 94% predictive intervals on the {d['n_test']} test rows: "
        f"{cov['laplace_at_trained']:.0%} for `TorchLaplace.predict` (centred on the trained point, test RMSE "
        f"{d['test_rmse']['trained']:.3g}), {cov['exact_at_wd3']:.0%} for the exact posterior at wd = 3 (RMSE "
        f"{d['test_rmse']['map_wd3']:.3g}: the prior is too tight for weights of 0.01) and "
        f"{cov['exact_at_preferred']:.0%} at the preferred decay (RMSE {d['test_rmse']['map_preferred']:.3g}).",
        tables=[
            Table("What the chapter's run implies (implied_prior)", reading_cols, _reading_rows(d["reading"]),
                  note=f"σ = {D2L_SIGMA} (given: the generator's noise sd)"),
            Table("The chapter's run against its posterior", ["quantity", "value"], [
                ["map_check r (0 at a MAP)", mc.relative_gradient],
                ["‖θ* − θ_MAP‖ / ‖θ_MAP‖", d["distance_to_map"]],
                ["Laplace covariance vs exact (relative)", d["cov_rel"]],
                ["log ML at θ* (Laplace)", d["log_ml_trained"]],
                ["exact log evidence at wd = 3", d["log_evidence"]],
                ["preferred weight decay (Laplace curve)", d["preferred_wd"]],
                ["preferred weight decay (maximise_evidence)", d["best_multiplier_exact"] * D2L_WEIGHT_DECAY],
                ["94% coverage, Laplace at θ*", cov["laplace_at_trained"]],
                ["94% coverage, exact at wd = 3", cov["exact_at_wd3"]],
                ["94% coverage, exact at the preferred wd", cov["exact_at_preferred"]],
            ])],
        figures=[Figure("log_ml_curves", _curves_figure(r),
                        "Log marginal likelihood against weight decay. Left: the chapter's model, the Laplace curve "
                        "through laplace-torch on the exact evidence (circles); the chapter's wd = 3 (dashed) sits "
                        "far to the right of the evidence's choice. Right: the MLP, linearised at its trained "
                        "weights, over all parameters and over the last layer."),
                 Figure("d2l_weights", _weights_figure(d),
                        "The first 30 of 200 weights: the exact posterior at wd = 3 (shrunk towards 0), the "
                        "chapter's trained weights with the Laplace intervals around them (the same widths, "
                        "centred where training stopped), and the exact posterior at the preferred decay.")])
    mlp_rows = [[s, f["parameters"], f["coverage"], f["mean_width"], f["log_ml"], f["preferred_wd"],
                 "yes" if f["interior"] else "NO"] for s, f in m["fits"].items()]
    mmc = m["map_check"]
    oracle = m["last_layer_oracle"]
    mlp = Section(
        "A small MLP on diabetes",
        f"`nn.Sequential(nn.Linear(10, {MLP_HIDDEN}), nn.Tanh(), nn.Linear({MLP_HIDDEN}, 1))` on a seeded 75% of "
        f"diabetes ({m['n']} rows; X and y standardised with the training rows' statistics), `MSELoss`, `Adam` "
        f"with weight_decay {MLP_WEIGHT_DECAY:g} on both weight matrices and none on the biases, full batch, "
        f"{m['steps']} steps of a cosine schedule from lr {m['lr']:g}. No σ is given, so the reading estimates it "
        f"from the training residuals: σ̂ = {m['sigma']:.3f} ({m['sigma_source']}). On the {m['n_test']} held-out "
        f"rows the residual sd is {m['test_residual_sd']:.3f}: the network fits its training rows more closely "
        "than new ones, so σ̂ understates the noise, and every interval built on it is too narrow.\n\n"
        f"`map_check`: {mmc.verdict}.\n\n"
        "`laplace_posterior` over all parameters and over the last layer only: the last-layer Laplace is "
        "Bayesian linear regression on the penultimate features Φ(X) = tanh(W₁x + b₁), and matches bayesreg's "
        f"exact posterior there to {oracle['cov_rel']:.1g} (covariance) and its evidence against weight decay to "
        f"{oracle['curve_rel']:.1g}. Held-out coverage of the 94% intervals is "
        f"{m['fits']['all']['coverage']:.0%} (all) and {m['fits']['last_layer']['coverage']:.0%} (last layer), "
        "short of 94% because of σ̂. Each evidence prefers a smaller decay than the one trained with, and the "
        "two disagree: the all-parameter curve is that of the network linearised at θ*, the last-layer one "
        "of the features held fixed.",
        tables=[Table("What the MLP's run implies (implied_prior)", reading_cols, _reading_rows(m["reading"]),
                      note=f"σ̂ = {m['sigma']:.4g} ({m['sigma_source']})"),
                Table("Laplace over all parameters and over the last layer",
                      ["subset", "parameters", "94% coverage", "mean interval width", "log ML",
                       "preferred weight_decay", "interior"], mlp_rows)],
        figures=[Figure("mlp_predictions", _mlp_figure(m),
                        "Held-out rows with the 94% predictive intervals of each Laplace approximation "
                        "(standardised units). Both rest on σ̂ from the training residuals.")])
    cls = Section(
        "A classifier: C = 1 in PyTorch",
        f"`nn.Linear(30, 1)` on breast_cancer (n = {c['n']}, features standardised), `BCEWithLogitsLoss()`, "
        f"`SGD(weight_decay = 1/n = {c['wd']:.4g}, momentum=0.9)` on the weight, none on the bias, {c['steps']} "
        f"full-batch steps. The reading: **w ~ N(0, {c['tau']:.4g}²)**, λ = 1/τ² = {c['lam']:.4g} (the "
        f"`{c['convention']}` convention: {c['lam_table']:.4g}), scikit-learn's C = 1. `map_check`: "
        f"{c['map_check'].verdict}.\n\n"
        f"The Laplace mean (the trained point) is {c['distance']:.2g} from Newton's MAP, within what the run's "
        f"own gradient allows ({c['bound']:.2g}); its covariance is bayesreg's own Laplace approximation's to "
        f"{c['own_cov_rel']:.1g}. Against the exact posterior (Pólya–Gamma Gibbs, {c['chains']} × {c['draws']} "
        f"draws, ESS ≥ {c['ess_min']:.0f}) the Laplace sds are off by up to "
        f"{np.max(np.abs(c['ratio'] - 1)):.1%} ({np.max(c['z']):.1f} Monte Carlo standard errors; "
        f"{c['beyond_mc']} of {c['d']} weights beyond 4.5), and its means, the MAP, are up to "
        f"{np.max(c['mean_gap']):.2f} posterior sds from the posterior means: the posterior is not Gaussian, and "
        "the mode is not its mean.",
        tables=[Table("What the classifier's run implies (implied_prior)", reading_cols, _reading_rows(c["reading"]),
                      note="a log-loss is a likelihood itself: no σ, λ = 1/τ²"),
                Table("The Laplace posterior (laplace-torch) against bayesreg's answers", ["quantity", "value"], [
                    ["‖θ* − Newton's MAP‖", c["distance"]],
                    ["‖Σ‖₂·‖∇J(θ*)‖ (the run's own bound)", c["bound"]],
                    ["covariance vs bayesreg's Laplace (relative)", c["own_cov_rel"]],
                    ["log ML (laplace-torch)", c["log_ml"]],
                    ["log evidence (bayesreg's Laplace)", c["own_log_evidence"]],
                    ["max |Laplace sd / Gibbs sd − 1|", float(np.max(np.abs(c["ratio"] - 1)))],
                    ["the same in Monte Carlo standard errors", float(np.max(c["z"]))],
                    ["weights beyond 4.5 standard errors", c["beyond_mc"]],
                    ["max |Laplace mean − Gibbs mean| / Gibbs sd", float(np.max(c["mean_gap"]))],
                ])],
        figures=[Figure("classifier_sd_ratio", _sd_ratio_figure(c),
                        "Each weight's Laplace sd over its Gibbs sd, with the Gibbs run's Monte Carlo error "
                        "(se = 1/√(2·ESS), the ESS of the sd). Points outside the grey band are the Laplace "
                        "approximation's own error.")])
    adam_rows = [[label, a["steps"], a["r_effective"], a["effective"], a["naive"], a["naive"] / a["effective"],
                  f"{a['tau_effective'][0]:.3g}..{a['tau_effective'][1]:.3g}", a["tau_naive"]]
                 for label, a in aw.items()]
    adamw = Section(
        "AdamW: which prior?",
        f"`nn.Linear(10, 1)` on diabetes (X and y standardised), `AdamW(weight_decay={ADAMW_WEIGHT_DECAY:g})` on "
        "the weight, none on the bias, a cosine schedule. AdamW decays outside its preconditioner, so its fixed "
        "point is the MAP of a per-weight prior set by the running squared gradients v̂ (the effective prior, "
        "read from the optimiser's state), not of the prior its weight_decay would mean in SGD or Adam (the "
        "naive reading). `map_check` measures the distance to each MAP: the effective reading explains where "
        "AdamW ended, the naive one does not. With full batches v̂ shrinks as the gradient does, so the effective "
        "prior keeps loosening and the run drifts towards the unpenalised fit: it is a moving target, never "
        "quite reached.",
        tables=[Table("AdamW against the MAP of each reading",
                      ["run", "steps", "r (effective)", "distance (effective)", "distance (naive)",
                       "naive / effective", "effective τ", "naive τ"], adam_rows)])
    summary = {
        "d2l": {"n": d["n"], "d": d["d"], "weight_decay": D2L_WEIGHT_DECAY, "sigma": D2L_SIGMA, "tau": d["tau"],
                "lam": d["lam"], "lam_table": d["lam_table"], "bias": d["bias_kind"],
                "relative_gradient": float(mc.relative_gradient), "stationary": bool(mc.stationary),
                "distance_to_map": d["distance_to_map"], "w_norm": d["w_norm"], "map_w_norm": d["map_w_norm"],
                "cov_rel": d["cov_rel"], "log_ml_trained": d["log_ml_trained"], "log_evidence": d["log_evidence"],
                "curve_rel": d["curve_rel"], "best_multiplier": d["best_multiplier"],
                "preferred_wd": d["preferred_wd"], "preferred_tau": d["preferred_tau"],
                "best_lam_exact": d["best_lam_exact"], "interior": d["interior"], "coverage": cov,
                "test_rmse": d["test_rmse"]},
        "mlp": {"n": m["n"], "n_test": m["n_test"], "hidden": MLP_HIDDEN, "weight_decay": MLP_WEIGHT_DECAY,
                "steps": m["steps"], "sigma": m["sigma"], "sigma_source": m["sigma_source"],
                "test_residual_sd": m["test_residual_sd"], "relative_gradient": float(mmc.relative_gradient),
                "stationary": bool(mmc.stationary),
                "tau": {p.name: p.tau for p in m["reading"] if p.tau is not None},
                "laplace": {s: {"parameters": f["parameters"], "coverage": f["coverage"],
                                "mean_width": f["mean_width"], "log_ml": f["log_ml"],
                                "best_multiplier": f["best_multiplier"], "preferred_wd": f["preferred_wd"],
                                "interior": f["interior"], "stationarity": f["stationarity"]}
                            for s, f in m["fits"].items()},
                "last_layer_oracle": dict(oracle)},
        "classifier": {"n": c["n"], "d": c["d"], "weight_decay": c["wd"], "tau": c["tau"], "lam": c["lam"],
                       "lam_table": c["lam_table"], "relative_gradient": float(c["map_check"].relative_gradient),
                       "distance_to_map": c["distance"], "distance_bound": c["bound"],
                       "cov_vs_bayesreg_laplace": c["own_cov_rel"], "log_ml": c["log_ml"],
                       "log_ml_bayesreg": c["own_log_evidence"], "draws": c["draws"], "chains": c["chains"],
                       "ess_min": c["ess_min"], "sd_ratio_max_gap": float(np.max(np.abs(c["ratio"] - 1))),
                       "sd_ratio_max_z": float(np.max(c["z"])), "weights_beyond_mc": c["beyond_mc"],
                       "sd_gap_beyond_mc": c["unexplained"], "mean_gap_sd_max": float(np.max(c["mean_gap"])),
                       "sd_ratio": [float(v) for v in c["ratio"]]},
        "adamw": {label: {"batch": a["batch"], "steps": a["steps"], "effective": a["effective"],
                          "naive": a["naive"], "r_effective": a["r_effective"], "r_naive": a["r_naive"],
                          "tau_effective": list(a["tau_effective"]), "tau_naive": a["tau_naive"]}
                  for label, a in aw.items()},
    }
    intro = ("Four PyTorch training runs read with `bayesreg.torch`: the prior each one assumed "
             "(`implied_prior`), whether it reached that prior's MAP (`map_check`), and its Laplace posterior "
             "through laplace-torch (`laplace_posterior`), each against bayesreg's exact answer: the chapter's "
             "concise model, a small MLP, a classifier and AdamW.")
    return StudyResult("torch_run", TITLE, intro, [chapter, mlp, cls, adamw], checks, summary)


@one_blas_thread
def run(*, seed: int = 0, quick: bool = False, progress=quiet) -> StudyResult:
    """:func:`compute`, then :func:`check` and :func:`render`."""
    return timed_study(compute, check, render, seed=seed, quick=quick, progress=progress)
