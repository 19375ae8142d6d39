"""bayesreg.torch: the prior a PyTorch run implies, the MAP check and the Laplace posterior through laplace-torch.

Oracles: the conventions table (bayesreg.conventions, derived independently of the optimiser reading), the exact
Gaussian posterior and evidence (bayesreg.gaussian_posterior, evidence_curve), Newton's logistic MAP and
bayesreg's own Laplace approximation of the logistic model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import bayesreg as br
from bayesreg.conventions import to_canonical_lam
from bayesreg.errors import SpecError
from bayesreg.torch import implied_prior, laplace_posterior, map_check

pytest.importorskip("laplace")


def _standardised(ds):
    X = (ds.X - ds.X.mean(0)) / ds.X.std(0)
    return torch.tensor(X), torch.tensor(ds.y)[:, None]


@pytest.fixture(scope="module")
def diabetes():
    return _standardised(br.load_diabetes())


@pytest.fixture(scope="module")
def cancer():
    from bayesreg.data import load_breast_cancer

    return _standardised(load_breast_cancer())


def _train(net, opt, loss_fn, X, y, *, steps, batch_size=None, seed=0, scheduler=None):
    torch.manual_seed(seed)
    n = X.shape[0]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=batch_size or n,
                                         shuffle=batch_size is not None,
                                         generator=torch.Generator().manual_seed(seed))
    # full batch: step on the tensors themselves (a DataLoader costs more per step than the step)
    batches = [(X, y)] if batch_size is None else loader
    for _ in range(steps):
        for xb, yb in batches:
            opt.zero_grad()
            loss_fn(net(xb), yb).backward()
            opt.step()
        if scheduler is not None:
            scheduler.step()
    return loader


def _linear(d, seed=0, out=1):
    torch.manual_seed(seed)
    return nn.Linear(d, out).double()


def _weight_only(net, wd, cls=torch.optim.SGD, **kw):
    return cls([{"params": net.weight, "weight_decay": wd}, {"params": net.bias, "weight_decay": 0.0}], **kw)


# ------------------------------------------------------------------------------------------ implied prior

@pytest.mark.parametrize("n, wd", [(20, 3.0), (442, 0.01), (1000, 1e-4)])
def test_sgd_mse_equals_the_conventions_table(n, wd):
    net = nn.Linear(5, 1)
    sigma = 0.7
    reading = implied_prior(net, _weight_only(net, wd, lr=0.1), nn.MSELoss(), n, sigma=sigma)
    lam = to_canonical_lam("l2", wd, n=n, convention="torch_sgd_mse")
    w = reading["weight"]
    assert w.kind == "gaussian"
    assert w.lam == pytest.approx(lam, rel=1e-14)
    assert w.tau == pytest.approx(sigma / math.sqrt(lam), rel=1e-14)
    assert reading["bias"].kind == "flat" and reading["bias"].lam == 0.0 and reading["bias"].tau is None
    half = implied_prior(net, _weight_only(net, wd, lr=0.1), nn.MSELoss(), n, sigma=sigma, half=True)
    assert half["weight"].lam == pytest.approx(to_canonical_lam("l2", wd, n=n, convention="torch_sgd_half_mse"))


@pytest.mark.parametrize("reduction, convention", [("mean", "torch_bce_mean"), ("sum", "torch_bce_sum")])
def test_bce_equals_the_logistic_conventions(reduction, convention):
    net = nn.Linear(30, 1)
    n, wd = 569, 0.3
    reading = implied_prior(net, _weight_only(net, wd, lr=0.1), nn.BCEWithLogitsLoss(reduction=reduction), n)
    lam = to_canonical_lam("l2", wd, n=n, convention=br.get_convention(convention, "logistic"))
    assert reading["weight"].lam == pytest.approx(lam, rel=1e-14)
    assert reading["weight"].tau == pytest.approx(1.0 / math.sqrt(lam), rel=1e-14)
    assert reading.sigma is None


def test_summed_loss_over_minibatches_weighs_the_data_by_batch_over_n():
    net = nn.Linear(3, 1)
    n, wd, batch = 1000, 0.5, 50
    full = implied_prior(net, _weight_only(net, wd, lr=0.1), nn.MSELoss(reduction="sum"), n, sigma=1.0)
    assert full["weight"].lam == pytest.approx(wd / 2)   # Σr² + (wd/2)‖w‖²: canonical λ = wd/2
    assert any("full-batch" in note for note in full.notes)
    mini = implied_prior(net, _weight_only(net, wd, lr=0.1), nn.MSELoss(reduction="sum"), n, sigma=1.0,
                         batch_size=batch)
    assert mini["weight"].lam == pytest.approx(wd / 2 * n / batch)


def test_mean_mse_over_several_outputs_divides_by_every_element():
    X, y = torch.randn(40, 3, dtype=torch.float64), torch.randn(40, 2, dtype=torch.float64)
    net = _linear(3, out=2)
    reading = implied_prior(net, _weight_only(net, 0.1, lr=0.1), nn.MSELoss(), 40, sigma=1.0, train_data=(X, y))
    assert reading.loss.outputs == 2
    assert reading["weight"].lam == pytest.approx(0.1 * 40 * 2 / 2)


def test_cross_entropy_reads_one_element_a_row():
    net = nn.Linear(4, 3)
    reading = implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1, weight_decay=0.01),
                            nn.CrossEntropyLoss(), 150)
    assert reading["weight"].lam == pytest.approx(1.5)
    assert reading["bias"].kind == "gaussian" and "decayed-bias" in reading["bias"].flags


def test_decayed_bias_and_group_without_decay():
    net = nn.Linear(3, 1)
    decayed = implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1, weight_decay=0.1), nn.MSELoss(), 50,
                            sigma=1.0)
    assert decayed["bias"].kind == "gaussian" and decayed["bias"].flags == ("decayed-bias",)
    assert "intercept to 0" in decayed["bias"].reason
    undecayed = implied_prior(net, _weight_only(net, 0.1, lr=0.1), nn.MSELoss(), 50, sigma=1.0)
    assert undecayed["bias"].kind == "flat" and undecayed["bias"].flags == ()


@pytest.mark.parametrize("norm", [nn.BatchNorm1d(8), nn.LayerNorm(8)])
def test_normalisation_weights_are_flagged(norm):
    net = nn.Sequential(nn.Linear(4, 8), norm, nn.ReLU(), nn.Linear(8, 1))
    reading = implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1, weight_decay=1e-3), nn.MSELoss(), 100,
                            sigma=1.0)
    assert reading["1.weight"].flags == ("normalisation-scale",)
    assert "towards 0" in reading["1.weight"].reason
    assert reading["1.bias"].flags == ("normalisation-shift",)
    if isinstance(norm, nn.BatchNorm1d):
        assert "scale-invariant" in reading["0.weight"].flags
    else:
        assert "scale-invariant" not in reading["0.weight"].flags
    assert reading["3.weight"].flags == ()


def test_momentum_nesterov_rmsprop_and_adam_are_coupled_adamw_is_not():
    net = nn.Linear(3, 1)
    base = implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1, weight_decay=0.2), nn.MSELoss(), 30,
                         sigma=1.0)
    for opt in (torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.2),
                torch.optim.Adam(net.parameters(), weight_decay=0.2),
                torch.optim.RMSprop(net.parameters(), weight_decay=0.2)):
        reading = implied_prior(net, opt, nn.MSELoss(), 30, sigma=1.0)
        assert reading["weight"].kind == "gaussian"
        assert reading["weight"].tau == pytest.approx(base["weight"].tau, rel=1e-15)
    for opt in (torch.optim.AdamW(net.parameters(), weight_decay=0.2),
                torch.optim.Adam(net.parameters(), weight_decay=0.2, decoupled_weight_decay=True)):
        reading = implied_prior(net, opt, nn.MSELoss(), 30, sigma=1.0)
        w = reading["weight"]
        assert w.kind == "adamw-effective" and w.tau is None and w.lam is None
        assert w.naive_tau == pytest.approx(base["weight"].tau)
        assert w.effective_tau is None and "no step" in w.reason


def test_parameters_the_optimiser_does_not_train_are_fixed():
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    reading = implied_prior(net, torch.optim.SGD(net[2].parameters(), lr=0.1, weight_decay=0.1), nn.MSELoss(), 30,
                            sigma=1.0)
    assert reading["0.weight"].kind == "fixed" and reading["2.weight"].kind == "gaussian"


def test_sigma_is_estimated_from_the_residuals_and_said(diabetes):
    X, y = diabetes
    net = _linear(10)
    opt = _weight_only(net, 1e-3, lr=0.1)
    _train(net, opt, nn.MSELoss(), X, y, steps=300)
    reading = implied_prior(net, opt, nn.MSELoss(), len(X), train_data=(X, y))
    with torch.no_grad():
        rms = float(torch.sqrt(torch.mean((net(X) - y) ** 2)))
    assert reading.sigma == pytest.approx(rms, rel=1e-12)
    assert "estimated from the training residuals" in reading.sigma_source
    assert "sigma = " in reading.table()
    given = implied_prior(net, opt, nn.MSELoss(), len(X), sigma=54.0)
    assert given.sigma_source == "given"


@pytest.mark.parametrize("call, message", [
    (lambda net: implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1), nn.MSELoss(reduction="none"), 10,
                               sigma=1.0), "reduction='mean' or reduction='sum'"),
    (lambda net: implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1), nn.L1Loss(), 10, sigma=1.0),
     "cannot read L1Loss"),
    (lambda net: implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1),
                               nn.BCEWithLogitsLoss(pos_weight=torch.tensor(2.0)), 10), "weighted likelihood"),
    (lambda net: implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1, maximize=True), nn.MSELoss(), 10,
                               sigma=1.0), "maximize"),
    (lambda net: implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1), nn.BCEWithLogitsLoss(), 10,
                               sigma=1.0), "no noise σ"),
    (lambda net: implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1), nn.MSELoss(), 10),
     "give sigma= or train_data="),
    (lambda net: implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1), nn.MSELoss(), 0, sigma=1.0),
     "n_train"),
])
def test_bad_input_is_one_clear_error(call, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(nn.Linear(2, 1))


# ------------------------------------------------------------------------------ regression: exact oracle

@pytest.fixture(scope="module")
def sgd_linear(diabetes):
    """nn.Linear trained with momentum SGD(weight_decay) on MSELoss, full batch, to convergence."""
    X, y = diabetes
    net = _linear(10)
    opt = _weight_only(net, 0.01, lr=0.1, momentum=0.9)
    loader = _train(net, opt, nn.MSELoss(), X, y, steps=6000)
    return net, opt, loader


def test_laplace_posterior_equals_the_exact_gaussian_posterior(sgd_linear, diabetes):
    X, y = diabetes
    net, opt, loader = sgd_linear
    sigma = 54.0
    la = laplace_posterior(net, opt, nn.MSELoss(), loader, sigma=sigma)
    tau = la.reading["weight"].tau
    assert tau == pytest.approx(sigma / math.sqrt(to_canonical_lam("l2", 0.01, n=len(X), convention="torch_sgd_mse")))
    exact = br.gaussian_posterior(X.numpy(), y.numpy().ravel(), prior=tau, sigma=sigma, bias="flat")
    assert la.names == ("weight", "bias")
    np.testing.assert_allclose(la.mean, exact.mean, rtol=1e-8, atol=1e-8 * np.abs(exact.mean).max())
    np.testing.assert_allclose(la.covariance, exact.cov, rtol=1e-8, atol=1e-8 * np.abs(exact.cov).max())
    assert la.log_marginal_likelihood() == pytest.approx(exact.log_evidence, rel=1e-8)
    assert la.stationarity < 1e-8
    pred = la.predict(X[:5].numpy())
    np.testing.assert_allclose(pred.sd, exact.predictive(X[:5].numpy()).std(), rtol=1e-8)
    check = map_check(net, opt, nn.MSELoss(), loader, sigma=sigma)
    assert check.stationary and check.distance_to_map < 1e-8


def test_log_marginal_likelihood_against_weight_decay_is_the_exact_evidence(diabetes):
    """Exact at every decay, wherever training stopped: the Gaussian log-likelihood is quadratic."""
    X, y = diabetes
    net = _linear(10)
    opt = _weight_only(net, 0.01, lr=0.1)
    loader = _train(net, opt, nn.MSELoss(), X, y, steps=50)          # far from converged on purpose
    la = laplace_posterior(net, opt, nn.MSELoss(), loader, sigma=54.0)
    assert la.stationarity > 1e-3
    curve = la.weight_decay_curve(np.logspace(-2, 3, 11))
    lam0 = la.reading["weight"].lam
    from bayesreg.selection import evidence_curve

    oracle = evidence_curve(br.from_arrays(X.numpy(), y.numpy().ravel()), curve.multipliers * lam0, sigma=54.0)
    np.testing.assert_allclose(curve.log_marginal_likelihood, oracle.log_evidence, rtol=1e-8)
    best = la.weight_decay_curve()
    from bayesreg.selection import maximise_evidence

    top = maximise_evidence(br.from_arrays(X.numpy(), y.numpy().ravel()), sigma=54.0)
    assert best.interior
    assert best.best_multiplier * lam0 == pytest.approx(top.lam, rel=1e-5)
    assert best.best_weight_decays()[0] == pytest.approx(0.01 * best.best_multiplier)


def test_map_check_says_when_training_stopped_short(diabetes):
    X, y = diabetes
    net = _linear(10)
    opt = _weight_only(net, 0.01, lr=0.01)
    loader = _train(net, opt, nn.MSELoss(), X, y, steps=20)
    check = map_check(net, opt, nn.MSELoss(), loader, sigma=54.0)
    assert not check.stationary and check.distance_to_map > 0.1
    assert "NOT at a stationary point" in check.verdict


def test_last_layer_is_the_exact_posterior_on_the_features(diabetes):
    """With the hidden layers fixed the last layer is Bayesian linear regression on the penultimate features."""
    X, y = diabetes
    y = (y - y.mean()) / y.std()
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(10, 6), nn.Tanh(), nn.Linear(6, 1)).double()
    decayed = [p for n, p in net.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in net.named_parameters() if n.endswith("bias")]
    opt = torch.optim.Adam([{"params": decayed, "weight_decay": 1e-3}, {"params": biases}], lr=0.01)
    loader = _train(net, opt, nn.MSELoss(), X, y, steps=300)
    la = laplace_posterior(net, opt, nn.MSELoss(), loader, subset="last_layer", sigma=0.8)
    assert la.names == ("2.weight", "2.bias")
    with torch.no_grad():
        features = net[1](net[0](X)).numpy()
    exact = br.gaussian_posterior(features, y.numpy().ravel(), prior=la.reading["2.weight"].tau, sigma=0.8)
    np.testing.assert_allclose(la.covariance, exact.cov, rtol=1e-8, atol=1e-10 * np.abs(exact.cov).max())
    curve = la.weight_decay_curve([0.1, 1.0, 10.0])
    from bayesreg.selection import evidence_curve

    oracle = evidence_curve(br.from_arrays(features, y.numpy().ravel()),
                            np.array([0.1, 1.0, 10.0]) * la.reading["2.weight"].lam, sigma=0.8)
    np.testing.assert_allclose(curve.log_marginal_likelihood, oracle.log_evidence, rtol=1e-8)
    full = laplace_posterior(net, opt, nn.MSELoss(), loader, subset="all", sigma=0.8)
    assert full.mean.size == sum(p.numel() for p in net.parameters())
    assert full.names == tuple(n for n, _ in net.named_parameters())
    pred = full.predict(X[:4].numpy())
    assert np.all(pred.sd > 0.8) and np.all(pred.lower < pred.mean) and np.all(pred.mean < pred.upper)


# ------------------------------------------------------------------------------------------ classifier

def test_bce_laplace_mean_is_the_map_and_covariance_bayesregs_laplace(cancer):
    from bayesreg.infer.laplace_approx import laplace_approximation
    from bayesreg.solvers.logistic import logistic_map
    from bayesreg.solvers.objective import PenalizedLeastSquares

    X, y = cancer
    n = len(X)
    net = _linear(30)
    opt = _weight_only(net, 1.0 / n, lr=0.5, momentum=0.9)     # τ = 1: LogisticRegression(C=1)
    loader = _train(net, opt, nn.BCEWithLogitsLoss(), X, y, steps=3000)
    la = laplace_posterior(net, opt, nn.BCEWithLogitsLoss(), loader)
    assert la.reading["weight"].tau == pytest.approx(1.0, rel=1e-14)
    fit = logistic_map(X.numpy(), y.numpy().ravel(), PenalizedLeastSquares(l2=1.0), tol=1e-13)
    theta = np.append(fit.w, fit.b)
    assert la.stationarity < 1e-7
    np.testing.assert_allclose(la.mean, theta, rtol=0, atol=1e-6 * np.abs(theta).max())
    data = br.from_arrays(X.numpy(), y.numpy().ravel())
    ours = laplace_approximation(data, br.Model.logistic(br.Gaussian(1.0)))
    np.testing.assert_allclose(la.covariance, ours.cov, rtol=1e-5, atol=1e-6 * np.abs(ours.cov).max())
    pred = la.predict(X[:6].numpy())
    with torch.no_grad():
        median = torch.sigmoid(net(X[:6])).numpy().ravel()
    assert np.all((pred.lower < median) & (median < pred.upper))
    # the mean probability against Monte Carlo over the same Gaussian logit (1e6 draws)
    mu, sd = np.log(median / (1 - median)), pred.function_sd
    rng = np.random.default_rng(0)
    draws = 1.0 / (1.0 + np.exp(-(mu[:, None] + sd[:, None] * rng.standard_normal((6, 1_000_000)))))
    mc, mc_se = draws.mean(axis=1), draws.std(axis=1) / 1000.0
    assert np.all(np.abs(pred.probability - mc) < 5 * mc_se)
    check = map_check(net, opt, nn.BCEWithLogitsLoss(), loader)
    assert check.stationary and check.distance_to_map < 1e-6


def test_cross_entropy_covariance_is_the_softmax_hessian_written_out():
    """Softmax regression: H = Σ_i J_iᵀ (diag p_i − p_i p_iᵀ) J_i, J_i = ∂(logits)/∂(W, b), written by hand."""
    torch.manual_seed(0)
    n, d, k = 90, 4, 3
    X = torch.randn(n, d, dtype=torch.float64)
    y = torch.argmax(X[:, :k] + 0.5 * torch.randn(n, k, dtype=torch.float64), dim=1)
    net = nn.Linear(d, k).double()
    opt = torch.optim.SGD(net.parameters(), lr=0.5, weight_decay=0.01)
    _train(net, opt, nn.CrossEntropyLoss(), X, y, steps=500)
    la = laplace_posterior(net, opt, nn.CrossEntropyLoss(), (X, y))
    with torch.no_grad():
        p = torch.softmax(net(X), dim=1).numpy()
    H = np.zeros((k * d + k, k * d + k))
    for i in range(n):
        J = np.zeros((k, k * d + k))
        for c in range(k):
            J[c, c * d:(c + 1) * d] = X[i].numpy()
            J[c, k * d + c] = 1.0
        H += J.T @ (np.diag(p[i]) - np.outer(p[i], p[i])) @ J
    precision = 0.01 * n                       # 1/τ² = wd/κ, κ = 1/n: every parameter decayed
    oracle = np.linalg.inv(H + precision * np.eye(k * d + k))
    np.testing.assert_allclose(la.covariance, oracle, rtol=1e-8, atol=1e-10 * np.abs(oracle).max())
    pred = la.predict(X[:5].numpy())
    np.testing.assert_allclose(pred.probability.sum(axis=1), 1.0, rtol=1e-12)


# --------------------------------------------------------------------------------------------- AdamW

@pytest.mark.parametrize("batch_size, epochs, lr", [(None, 1500, 0.5), (32, 150, 0.05)])
def test_adamw_end_point_is_the_map_of_its_effective_prior_not_the_naive_one(diabetes, batch_size, epochs, lr):
    X, y = diabetes
    net = _linear(10)
    opt = _weight_only(net, 0.5, cls=torch.optim.AdamW, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    loader = _train(net, opt, nn.MSELoss(), X, y, steps=epochs, batch_size=batch_size, scheduler=sched)
    reading = implied_prior(net, opt, nn.MSELoss(), len(X), sigma=54.0, train_data=loader)
    w = reading["weight"]
    assert w.kind == "adamw-effective" and w.effective_tau.shape == (1, 10)
    check = map_check(net, opt, nn.MSELoss(), loader, sigma=54.0)
    w_end = net.weight.detach().numpy()
    effective = np.linalg.norm(w_end - check.map["weight"]) / np.linalg.norm(check.map["weight"])
    naive = np.linalg.norm(w_end - check.naive["map"]["weight"]) / np.linalg.norm(check.naive["map"]["weight"])
    assert naive > 0.5
    assert effective < 0.02 * naive
    if batch_size is None:
        # full batch: v̂ → g², so at the fixed point each weight either sits at |w_j| = 1/wd (there wd·|w_j| = 1
        # balances g_j/|g_j|) or has a vanishing gradient (its effective decay falls to wd·ε)
        net.zero_grad()
        nn.MSELoss()(net(X), y).backward()
        g = net.weight.grad.numpy().ravel()
        w_abs = np.abs(net.weight.detach().numpy().ravel())
        saturated = np.isclose(w_abs, 1 / 0.5, rtol=3e-2)   # 1500 steps: still closing in on 2
        assert saturated.any()
        assert np.all(saturated | (np.abs(g) < 1e-2 * np.abs(g).max()))


# ------------------------------------------------------------------ penalties written into the loss by hand

def test_d2l_from_scratch_penalty_is_the_d2l_convention():
    """d2l's loop: squared_loss (½r², per row) + lambd·l2_penalty(w), summed, then sgd divides by the batch."""
    net = nn.Linear(200, 1)
    reading = implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.003), nn.MSELoss(reduction="none"), 20,
                            sigma=0.01, reduction="mean", half=True,
                            loss_penalties={"weight": ("half_sum_squares", 3.0)})
    assert reading["weight"].kind == "gaussian"
    assert reading["weight"].lam == pytest.approx(to_canonical_lam("l2", 3.0, n=20, convention="d2l"), rel=1e-14)
    assert reading["weight"].prior == br.Gaussian(reading["weight"].tau)
    assert reading["bias"].kind == "flat"


def test_forum_bugs_unsquared_norm_and_subtracted_l1():
    from bayesreg.derived_priors import L2NormPrior
    from bayesreg.errors import NoPriorError

    net = nn.Linear(10, 1)
    n, sigma, c = 100, 0.5, 0.2
    norm = implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1), nn.MSELoss(), n, sigma=sigma,
                         loss_penalties={"weight": ("norm", c)})
    w = norm["weight"]
    assert w.kind == "l2-norm" and w.tau is None and "not weight decay" in w.reason
    oracle = br.prior_from_penalty("l2-norm", c, sigma, n=n, convention="torch_sgd_mse", d=10)
    assert isinstance(w.prior, L2NormPrior) and w.prior.scale == pytest.approx(oracle.scale, rel=1e-14)
    with pytest.raises(SpecError, match="kink"):
        w.precision()
    with pytest.raises(NoPriorError, match="does not normalise"):
        implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1), nn.MSELoss(), n, sigma=sigma,
                      loss_penalties={"weight": ("l1", -c)})


def test_l1_in_the_loss_is_a_laplace_prior_and_with_decay_an_elastic_net():
    net = nn.Linear(10, 1)
    n, sigma, c = 100, 0.5, 0.2
    lasso = implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1), nn.MSELoss(), n, sigma=sigma,
                          loss_penalties={"weight": ("l1", c)})
    oracle = br.prior_from_penalty("l1", c, sigma, n=n, convention="keras")   # (1/n)Σr² + c‖w‖₁
    assert lasso["weight"].kind == "laplace"
    assert lasso["weight"].scale == pytest.approx(oracle.scale, rel=1e-14)
    assert lasso["weight"].lam == pytest.approx(to_canonical_lam("l1", c, n=n, convention="keras"), rel=1e-14)
    both = implied_prior(net, _weight_only(net, 0.05, lr=0.1), nn.MSELoss(), n, sigma=sigma,
                         loss_penalties={"weight": ("l1", c)})
    assert both["weight"].kind == "elastic-net" and both["weight"].scale == pytest.approx(oracle.scale)
    assert "s=" in both.table()


def test_laplace_refuses_what_it_cannot_approximate(diabetes):
    X, y = diabetes
    net = nn.Sequential(nn.Linear(10, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    opt = torch.optim.SGD(net[2].parameters(), lr=0.01, weight_decay=0.1)
    with pytest.raises(SpecError, match="not trained"):
        laplace_posterior(net, opt, nn.MSELoss(), (X, y), sigma=50.0)
    last = laplace_posterior(net, opt, nn.MSELoss(), (X, y), subset="last_layer", sigma=50.0)
    assert last.names == ("2.weight", "2.bias")
    lasso = nn.Linear(10, 1).double()
    with pytest.raises(SpecError, match="kink"):
        laplace_posterior(lasso, torch.optim.SGD(lasso.parameters(), lr=0.1), nn.MSELoss(), (X, y), sigma=50.0,
                          loss_penalties={"weight": ("l1", 1.0)})
    with pytest.raises(SpecError, match="subset"):
        laplace_posterior(lasso, torch.optim.SGD(lasso.parameters(), lr=0.1), nn.MSELoss(), (X, y), sigma=50.0,
                          subset="diagonal")


def test_reading_the_loader_leaves_the_users_shuffle_alone(diabetes):
    X, y = diabetes
    net = _linear(10)

    def loader():
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=32, shuffle=True,
                                           generator=torch.Generator().manual_seed(5))

    untouched, read = loader(), loader()
    map_check(net, _weight_only(net, 0.01, lr=0.1), nn.MSELoss(), read, sigma=54.0)
    for (a, _), (b, _) in zip(untouched, read, strict=True):
        assert torch.equal(a, b)


def test_a_near_singular_posterior_is_refused_not_reported_with_huge_sds():
    """A hidden unit whose output weight is ~0 leaves its undecayed bias undetermined by the data."""
    torch.manual_seed(0)
    X = torch.randn(200, 3, dtype=torch.float64)
    y = torch.sin(X[:, :1]) + 0.1 * torch.randn(200, 1, dtype=torch.float64)
    net = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1)).double()
    with torch.no_grad():
        net[2].weight[0, 1] = 1e-10
    weights = [p for n, p in net.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in net.named_parameters() if n.endswith("bias")]
    opt = torch.optim.Adam([{"params": weights, "weight_decay": 0.03}, {"params": biases}])
    with pytest.raises(SpecError, match="singular"):
        laplace_posterior(net, opt, nn.MSELoss(), (X, y), sigma=0.1)


def test_an_unconverged_run_gets_a_note_on_its_log_marginal_likelihood(diabetes):
    X, y = diabetes
    net = _linear(10)
    opt = _weight_only(net, 0.01, lr=0.01)
    _train(net, opt, nn.MSELoss(), X, y, steps=10)
    la = laplace_posterior(net, opt, nn.MSELoss(), (X, y), sigma=54.0)
    assert any("not a posterior mode" in note for note in la.notes)


def test_summed_loss_without_drop_last_counts_each_row_once_an_epoch():
    n, batch = 100, 64
    X, y = torch.randn(n, 3, dtype=torch.float64), torch.randn(n, 1, dtype=torch.float64)
    net = _linear(3)
    for drop_last, kappa in ((False, 1 / 2), (True, batch / n)):
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=batch,
                                             drop_last=drop_last)
        reading = implied_prior(net, _weight_only(net, 0.2, lr=0.1), nn.MSELoss(reduction="sum"), n, sigma=1.0,
                                train_data=loader)
        assert reading.loss.kappa == pytest.approx(kappa)
        assert reading["weight"].lam == pytest.approx(0.2 / (2 * kappa))


def test_a_subset_sampler_reads_only_its_rows():
    X, y = torch.randn(100, 3, dtype=torch.float64), torch.randn(100, 1, dtype=torch.float64)
    train = list(range(0, 100, 2)) + [1, 3]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=10,
                                         sampler=torch.utils.data.SubsetRandomSampler(train))
    net = _linear(3)
    check = map_check(net, _weight_only(net, 0.1, lr=0.1), nn.MSELoss(), loader, sigma=1.0)
    assert check.reading.loss.n_train == len(train)
    with pytest.raises(SpecError, match="replacement"):
        map_check(net, _weight_only(net, 0.1, lr=0.1), nn.MSELoss(),
                  torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y),
                                              sampler=torch.utils.data.RandomSampler(X, replacement=True)),
                  sigma=1.0)


def test_bce_last_layer_predictions_use_the_last_layer_covariance(cancer):
    X, y = cancer
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(30, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    opt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-3)
    _train(net, opt, nn.BCEWithLogitsLoss(), X, y, steps=200)
    last = laplace_posterior(net, opt, nn.BCEWithLogitsLoss(), (X, y), subset="last_layer")
    pred = last.predict(X[:5].numpy())
    with torch.no_grad():
        phi = net[1](net[0](X[:5])).numpy()
    var = np.einsum("ij,jk,ik->i", np.hstack([phi, np.ones((5, 1))]), last.covariance,
                    np.hstack([phi, np.ones((5, 1))]))
    np.testing.assert_allclose(pred.function_sd, np.sqrt(var), rtol=1e-10)


def test_notes_on_target_shape_and_eval_mode():
    X, y = torch.randn(30, 3, dtype=torch.float64), torch.randn(30, dtype=torch.float64)
    net = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.1), nn.Linear(4, 1)).double()
    reading = implied_prior(net, torch.optim.SGD(net.parameters(), lr=0.1), nn.MSELoss(), 30, sigma=1.0,
                            train_data=(X, y))
    assert any("broadcasts" in note for note in reading.notes)
    assert any("eval mode" in note for note in reading.notes)
