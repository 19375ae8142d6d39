"""The fast paths of issue 7 compute the same things as the slow ones: the sufficient-statistics potential is the
Pyro model's potential, the fast NUTS kernel samples the exact posterior, the blocked statistics and the MAP solvers
match scikit-learn, the low-rank Gibbs draw matches the dense one, and the benchmark script runs."""

import itertools
import json
import math
import sys
import types

import numpy as np
import pytest
import torch

import bayesreg as br
from bayesreg.infer.gibbs import gibbs_lasso
from bayesreg.infer.idata import import_arviz
from bayesreg.infer.nuts import FastNUTS, nuts
from bayesreg.infer.potential import Potential
from bayesreg.models import as_tensor
from bayesreg.priors import HierarchicalPrior, parse_bias
from bayesreg.solvers import PenalizedLeastSquares
from bayesreg.solvers.closed_form import ridge
from bayesreg.solvers.proximal import coordinate_descent, minimize_quadratic_l1
from bayesreg.suffstats import SufficientStats

az = import_arviz()


def _data(n=40, d=4, seed=0, mean=3.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(mean, 2.0, size=(n, d))
    y = X @ rng.normal(size=d) + 7.0 + rng.normal(0, 1.5, n)
    return br.from_arrays(X, y)


# ------------------------------------------------------------------------------------------ the potential

def _pyro_potential(model, data):
    from pyro.infer.mcmc.util import initialize_model

    _, potential_fn, _, _ = initialize_model(model, model_args=(as_tensor(data.X), as_tensor(data.y)))
    return potential_fn


def _compare_potentials(pot, potential_fn, rng, points=4):
    worst = 0.0
    for _ in range(points):
        z = {"w": torch.tensor(rng.normal(size=pot.d), dtype=torch.float64)}
        for name in pot.layout.index:
            z[name] = torch.tensor(rng.normal(), dtype=torch.float64)
        leaves = {k: v.clone().requires_grad_(True) for k, v in z.items()}
        ref = potential_fn(leaves)
        grads = torch.autograd.grad(ref, list(leaves.values()))
        ref_grad = np.concatenate([g.reshape(-1).numpy() for g in grads])
        value, grad = pot.value_and_grad(pot.layout.from_unconstrained_sites(z))
        assert value == pytest.approx(ref.item(), rel=1e-10)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-10 * np.max(np.abs(ref_grad)))
        worst = max(worst, abs(value - ref.item()) / abs(ref.item()))
    return worst


PRIORS = {"gaussian": br.Gaussian(2.0), "laplace": br.Laplace(0.7)}


@pytest.mark.parametrize("prior,sigma,bias", list(itertools.product(
    ["gaussian", "laplace"], [1.3, "halfnormal:2", "invgamma:3,2"], ["flat", "none", "normal:5"])))
def test_suffstats_potential_is_the_pyro_model_potential(prior, sigma, bias):
    """U(θ) and ∇U(θ) from sufficient statistics equal the Pyro model's (initialize_model), constants included,
    at random points of the unconstrained space (σ on the log scale)."""
    data = _data()
    model = br.LinearRegressionModel(PRIORS[prior], sigma=sigma, bias=bias)
    pot = Potential(data, model)
    _compare_potentials(pot, _pyro_potential(model, data), np.random.default_rng(1))


@pytest.mark.parametrize("prior,sigma", [
    (br.ConjugateGaussian(3.0), "invgamma:2,1"), (br.ConjugateGaussian(3.0), 0.8),
    (HierarchicalPrior("gaussian", "halfcauchy:2"), "halfcauchy:1"),
    (HierarchicalPrior("laplace", "invgamma:2,1"), 1.1),
])
def test_suffstats_potential_other_priors(prior, sigma):
    data = _data(seed=2)
    model = br.LinearRegressionModel(prior, sigma=sigma, bias="flat")
    _compare_potentials(Potential(data, model), _pyro_potential(model, data), np.random.default_rng(3))


def test_suffstats_potential_any_prior_with_pyro_dist():
    """A prior bayesreg does not know, written against the Prior protocol, enters through pyro_dist(d).log_prob
    (here a Student-t)."""
    from pyro import distributions as dist

    from bayesreg.prior_base import Prior

    class StudentT(Prior):
        def pyro_dist(self, d, sigma=None, tau=None):
            return dist.StudentT(3.0, torch.zeros(d, dtype=torch.float64),
                                 torch.full((d,), 0.5, dtype=torch.float64)).to_event(1)

    data = _data(seed=4)
    model = types.SimpleNamespace(prior=StudentT(), bias=parse_bias("flat"), sigma=1.3, sigma_prior=None)
    pot = Potential(data, model)
    rng = np.random.default_rng(5)
    for _ in range(3):
        w, b = rng.normal(size=data.d), rng.normal()
        wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        mean = as_tensor(data.X) @ wt + bt
        ref = -(dist.Normal(mean, 1.3).log_prob(as_tensor(data.y)).sum() + StudentT().pyro_dist(data.d).log_prob(wt))
        gw, gb = torch.autograd.grad(ref, (wt, bt))
        value, grad = pot.value_and_grad(np.append(w, b))
        assert value == pytest.approx(ref.item(), rel=1e-10)
        np.testing.assert_allclose(grad, np.append(gw.numpy(), gb.item()), rtol=1e-9)


@pytest.mark.parametrize("sigma", [1.3, "halfnormal:2"])
def test_suffstats_potential_of_derived_priors(sigma):
    """The priors a penalty implies (bayesreg.derived_priors) go through the generic log_prob path."""
    from bayesreg.derived_priors import ElasticNetPrior, GroupLassoPrior, StudentTPrior

    data = _data(seed=23)
    for prior in (ElasticNetPrior(scale=0.5, tau=1.0), StudentTPrior(df=3.0, scale=0.5),
                  GroupLassoPrior(scale=0.5, groups=(2, 2))):
        model = br.LinearRegressionModel(prior, sigma=sigma)
        _compare_potentials(Potential(data, model), _pyro_potential(model, data), np.random.default_rng(24), 2)


def test_potential_from_statistics_equals_from_rows():
    data = _data(n=200, d=5, seed=6)
    model = br.LinearRegressionModel(br.Laplace(0.5), sigma="halfnormal:3", bias="normal:10")
    rows, stats = Potential(data, model), Potential(SufficientStats.from_arrays(data.X, data.y), model)
    theta = np.random.default_rng(7).normal(size=rows.layout.size)
    assert rows(theta) == pytest.approx(stats(theta), rel=1e-12)


# ------------------------------------------------------------------------------------------ fast NUTS

def _within_mc_error(post, names, mean, sd, z=4.0, sd_z=4.5):
    """Posterior means within z Monte-Carlo standard errors of the truth, sds within sd_z of theirs (ArviZ)."""
    idata = az.convert_to_dataset({n: post.draws[n] for n in names})
    mcse_mean = np.concatenate([np.atleast_1d(az.mcse(idata, method="mean")[n].values) for n in names])
    mcse_sd = np.concatenate([np.atleast_1d(az.mcse(idata, method="sd")[n].values) for n in names])
    flat = np.column_stack([post.flat(n).reshape(post.num_chains * post.num_draws, -1) for n in names])
    assert np.all(np.abs(flat.mean(0) - mean) < z * mcse_mean), (flat.mean(0) - mean) / mcse_mean
    assert np.all(np.abs(flat.std(0, ddof=1) - sd) < sd_z * mcse_sd), (flat.std(0, ddof=1) - sd) / mcse_sd


def test_fast_nuts_matches_the_exact_posterior():
    data = _data(n=60, d=3, seed=8)
    model = br.LinearRegressionModel(br.Gaussian(1.5), sigma=2.0, bias="flat")
    post = nuts(data, model, chains=4, draws=1000, warmup=200, seed=11)
    exact = br.gaussian_posterior(data, prior=1.5, sigma=2.0)
    _within_mc_error(post, ["w", "b"], exact.mean, np.sqrt(np.diag(exact.cov)))
    assert post.info["path"] == "suffstats" and post.info["inverse_mass"] == "exact posterior covariance"
    stats = post.sample_stats
    assert {"energy", "n_steps", "tree_depth", "diverging", "step_size"} <= set(stats)
    assert stats["energy"].shape == (4, 1000) and not stats["diverging"].any()
    assert np.all(stats["tree_depth"] == np.ceil(np.log2(stats["n_steps"] + 1)))
    assert np.all(np.isfinite(az.bfmi(post.to_inference_data())))


def test_fast_nuts_with_random_sigma_matches_the_nig_posterior():
    data = _data(n=40, d=2, seed=9)
    model = br.LinearRegressionModel(br.ConjugateGaussian(2.0), sigma="invgamma:3,2")
    post = nuts(data, model, chains=4, draws=1000, warmup=300, seed=12)
    exact = br.nig_posterior(data, prior=2.0, sigma_prior="invgamma:3,2")
    sigma = np.sqrt(exact.sigma2.rvs(size=400_000, random_state=0))
    _within_mc_error(post, ["w", "b", "sigma"], np.append(exact.mean, sigma.mean()),
                     np.append(np.sqrt(np.diag(exact.cov)), sigma.std()))


def test_fast_nuts_and_gibbs_agree_on_a_laplace_posterior():
    data = _data(n=30, d=3, seed=10, mean=0.5)
    prior = br.Laplace(0.3)
    hmc = nuts(data, br.LinearRegressionModel(prior, sigma=1.5), chains=4, draws=1000, warmup=300, seed=13)
    gibbs = gibbs_lasso(data, scale=0.3, sigma=1.5, chains=4, draws=10_000, warmup=500, seed=14)
    ref = np.column_stack([gibbs.flat("w"), gibbs.flat("b")])
    _within_mc_error(hmc, ["w", "b"], ref.mean(0), ref.std(0), z=5.0, sd_z=5.0)
    assert hmc.info["adapt_mass"] and hmc.info["pilot_draws"] > 0


def test_fast_nuts_same_seed_same_draws():
    data = _data(seed=25)
    model = br.LinearRegressionModel(br.Laplace(0.5), sigma=1.5)
    a = nuts(data, model, chains=2, draws=40, warmup=160, seed=3)
    torch.rand(3)  # whatever else used the generators in between
    b = nuts(data, model, chains=2, draws=40, warmup=160, seed=3)
    np.testing.assert_array_equal(a.draws["w"], b.draws["w"])
    assert not np.array_equal(a.draws["w"][0], a.draws["w"][1])


def test_fast_nuts_kernel_runs_in_pyro_mcmc():
    from pyro.infer import MCMC

    data = _data(seed=15)
    pot = Potential(data, br.LinearRegressionModel(br.Gaussian(2.0), sigma=1.5))
    kernel = FastNUTS(pot)
    mcmc = MCMC(kernel, num_samples=50, warmup_steps=50, disable_progbar=True,
                initial_params={"theta": torch.zeros(pot.layout.size, dtype=torch.float64)})
    mcmc.run()
    theta = mcmc.get_samples()["theta"]
    assert theta.shape == (50, pot.layout.size) and torch.isfinite(theta).all()
    assert len(kernel.records["energy"]) == 100


def test_model_path_still_runs():
    data = _data(seed=16)
    model = br.LinearRegressionModel(br.Laplace(1.0), sigma="halfnormal:3")
    post = nuts(data, model, chains=1, draws=30, warmup=30, seed=0, path="model")
    assert post.info["path"] == "model" and post.draws["w"].shape == (1, 30, data.d) and "sigma" in post.draws
    with pytest.raises(br.SpecError, match="path"):
        nuts(data, model, path="fast")


def test_fit_nuts_takes_the_fast_path():
    from bayesreg.fitting import fit

    post = fit(br.load_diabetes(), br.Gaussian(20.0), 54.0, method="nuts", chains=2, draws=100, seed=0)
    assert post.info["path"] == "suffstats" and post.info["warmup"] == 300 and post.info["dense_mass"]


# ------------------------------------------------------------------------------------------ statistics and MAP

def test_blocked_statistics_keep_their_digits():
    """Blocked dsyrk statistics with Chan's merge equal the two-pass centred ones, even with means of 10⁶."""
    rng = np.random.default_rng(17)
    X = rng.normal(size=(60_000, 12)) + 1e6 * rng.uniform(0.5, 1.5, 12)
    y = X @ rng.normal(size=12) * 1e-6 + rng.normal(size=60_000) + 1e6
    st = SufficientStats.from_arrays(X, y)
    Xc, yc = X - X.mean(0), y - y.mean()
    np.testing.assert_allclose(st.sxx, Xc.T @ Xc, rtol=1e-10, atol=1e-10 * np.abs(Xc.T @ Xc).max())
    np.testing.assert_allclose(st.sxy, Xc.T @ yc, rtol=1e-9, atol=1e-10 * np.abs(Xc.T @ yc).max())
    assert st.syy == pytest.approx(yc @ yc, rel=1e-12) and st.n == 60_000
    np.testing.assert_allclose(st.x_mean, X.mean(0), rtol=1e-12)
    assert np.array_equal(st.sxx, st.sxx.T)


def test_threaded_blocks_give_the_same_statistics(monkeypatch):
    import bayesreg.suffstats as suffstats

    rng = np.random.default_rng(22)
    X = rng.normal(size=(30_000, 7)) + 50.0
    y = X @ rng.normal(size=7) + rng.normal(size=30_000)
    monkeypatch.setattr(suffstats, "BLOCK_VALUES", 1 << 12)  # 585 rows a block
    one = SufficientStats.from_arrays(X, y)
    Xc, yc = X - X.mean(0), y - y.mean()
    np.testing.assert_allclose(one.sxx, Xc.T @ Xc, rtol=1e-11, atol=1e-12 * np.abs(one.sxx).max())
    assert one.syy == pytest.approx(yc @ yc, rel=1e-12)
    monkeypatch.setattr(suffstats, "PARALLEL_VALUES", 1)
    monkeypatch.setattr(suffstats, "_workers", lambda: 3)
    many = SufficientStats.from_arrays(X, y)
    np.testing.assert_allclose(many.sxx, one.sxx, rtol=1e-12, atol=1e-12 * np.abs(one.sxx).max())
    np.testing.assert_allclose(many.sxy, one.sxy, rtol=1e-11, atol=1e-12 * np.abs(one.sxy).max())
    assert many.syy == pytest.approx(one.syy, rel=1e-12)
    np.testing.assert_allclose(many.x_mean, one.x_mean, rtol=1e-14)


def test_statistics_are_computed_once_per_dataset():
    data = _data(seed=18)
    assert SufficientStats.of(data) is SufficientStats.of(data)
    stats = SufficientStats.of(data)
    assert SufficientStats.of(stats) is stats


def _large_problem(n=200_000, d=20, seed=19):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + rng.uniform(-3, 3, d)
    w = rng.normal(size=d) * (rng.random(d) < 0.5)
    return X, X @ w + 2.0 + rng.normal(0, 2.0, n)


def test_large_n_ridge_matches_sklearn():
    from sklearn.linear_model import Ridge

    X, y = _large_problem()
    res = ridge(X, y, PenalizedLeastSquares(l2=50.0))
    sk = Ridge(alpha=50.0, solver="cholesky").fit(X, y)
    assert np.max(np.abs(res.w - sk.coef_)) < 1e-8 * np.max(np.abs(sk.coef_))
    assert res.b == pytest.approx(sk.intercept_, rel=1e-8)


def test_large_n_lasso_matches_sklearn():
    from sklearn.linear_model import Lasso

    X, y = _large_problem(seed=20)
    n, alpha = len(y), 0.05
    res = coordinate_descent(X, y, PenalizedLeastSquares(l1=n * alpha))
    sk = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)
    assert np.max(np.abs(res.w - sk.coef_)) < 1e-8 * np.max(np.abs(sk.coef_))
    assert np.array_equal(res.w == 0, sk.coef_ == 0) and res.b == pytest.approx(sk.intercept_, rel=1e-8)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_map_solvers_refuse_non_finite_data(bad):
    X, y = _large_problem(n=50_000, d=5, seed=26)
    X[1234, 2] = bad
    with pytest.raises(br.SpecError, match="NaN or inf"):
        ridge(X, y, PenalizedLeastSquares(l2=1.0))
    with pytest.raises(br.SpecError, match="NaN or inf"):
        coordinate_descent(X, y, PenalizedLeastSquares(l1=1.0))


def test_newton_polish_reaches_the_same_lasso_solution_faster():
    stats = SufficientStats.of(br.load_d2l(0).train)  # 20 rows, 200 columns: slow for plain coordinate descent
    from bayesreg.solvers.objective import ReducedQuadratic

    quad = ReducedQuadratic.build(stats, PenalizedLeastSquares(l1=0.01))
    fast = minimize_quadratic_l1(quad.G, quad.q, quad.yy, 0.01)
    slow = minimize_quadratic_l1(quad.G, quad.q, quad.yy, 0.01, polish=False)
    assert fast[1] and slow[1] and fast[2] < slow[2]
    np.testing.assert_allclose(fast[0], slow[0], rtol=1e-6, atol=1e-9 * np.max(np.abs(slow[0])))
    assert np.array_equal(fast[0] == 0, slow[0] == 0)


# ------------------------------------------------------------------------------------------ Gibbs

@pytest.mark.parametrize("bias,sigma", [("flat", 0.4), ("none", "invgamma:3,1")])
def test_low_rank_gibbs_draw_matches_the_dense_one(monkeypatch, bias, sigma):
    """n < d: the Bhattacharya et al. draw samples the same conditional as the Cholesky one."""
    from bayesreg.infer import gibbs

    rng = np.random.default_rng(21)
    X = rng.normal(1.0, 1.0, (6, 15))
    y = X[:, :3] @ np.array([1.0, -1.0, 0.5]) + rng.normal(0, 0.3, 6) + 2.0
    kw = {"scale": 0.5, "sigma": sigma, "bias": bias, "chains": 4, "draws": 5000, "warmup": 300}
    low = gibbs.gibbs_lasso(X, y, seed=3, **kw)
    monkeypatch.setattr(gibbs._Sampler, "LOW_RANK_FRACTION", -1.0)
    dense = gibbs.gibbs_lasso(X, y, seed=4, **kw)
    a, b = low.flat("w"), dense.flat("w")
    ess = np.minimum(az.ess(az.convert_to_dataset({"w": low.draws["w"]}))["w"].values,
                     az.ess(az.convert_to_dataset({"w": dense.draws["w"]}))["w"].values)
    se = np.sqrt((a.var(0) + b.var(0)) / ess)
    assert np.all(np.abs(a.mean(0) - b.mean(0)) < 4.5 * se)
    assert np.all(np.abs(a.std(0) / b.std(0) - 1) < 4.5 * np.sqrt(2.0 / ess))


# ------------------------------------------------------------------------------------------ the benchmark

def test_benchmark_quick_smoke(tmp_path, capsys, monkeypatch):
    pytest.importorskip("numpyro")
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
    spec = importlib.util.spec_from_file_location("bench_run", path)
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_run", bench)  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--only", "diabetes-gaussian,ridge-map", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    tools = {(r["workload"], r["tool"]) for r in result["rows"]}
    assert {("diabetes-gaussian", "numpyro nuts"), ("diabetes-gaussian", "bayesreg auto"),
            ("diabetes-gaussian", "bayesreg nuts"), ("ridge-map", "bayesreg ridge")} <= tools
    assert all(math.isfinite(r["seconds"]) and r["seconds"] > 0 for r in result["rows"])
    assert {g["workload"] for g in result["targets"]} == {"diabetes-gaussian", "ridge-map"}
    assert "× NumPyro" in capsys.readouterr().out
