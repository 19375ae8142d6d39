"""The batched NUTS machinery computes what the one-chain pieces compute: the potential on many rows equals it row by
row (closed forms, the low-rank factor, the folded diagonal scale, the fast logistic path), the iterative tree is
Pyro's recursive NUTS (same distribution of trajectory lengths and draws, at a fixed step size), chains advanced
together sample the exact posterior, and the mass matrix defaults and options reach the sampler."""

import math

import numpy as np
import pytest
import torch

import bayesreg as br
from bayesreg.infer.nuts import DENSE_MASS_MAX, FastNUTS, RecordingNUTS, _default_dense, nuts
from bayesreg.infer.potential import Potential
from bayesreg.infer.row_potential import RowPotential
from bayesreg.model import Model
from bayesreg.models import LinearRegressionModel


def _data(n=40, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(1.0, 2.0, size=(n, d))
    y = X @ rng.normal(size=d) + 3.0 + rng.normal(0, 1.5, n)
    return br.from_arrays(X, y)


# ------------------------------------------------------------------------------------------ many rows at once

@pytest.mark.parametrize("n,d,prior,sigma", [
    (40, 4, br.Gaussian(2.0), 1.5),
    (40, 4, br.Laplace(0.5), 1.5),
    (20, 100, br.Laplace(0.05), 0.1),   # n < d: A has a rank-20 factor
    (30, 5, br.Laplace(0.5), "halfnormal:3"),  # σ random: row by row
])
def test_potential_on_many_rows_equals_row_by_row(n, d, prior, sigma):
    pot = Potential(_data(n, d, seed=d), LinearRegressionModel(prior, sigma=sigma))
    rng = np.random.default_rng(1)
    thetas = rng.normal(size=(5, pot.layout.size))
    scale = rng.uniform(0.2, 3.0, pot.layout.size)
    values, grads = pot.value_and_grad_many(thetas)
    xs = thetas / scale
    values_x, grads_x = pot.scaled_many(scale)(xs)
    for theta, value, grad, value_x, grad_x in zip(thetas, values, grads, values_x, grads_x, strict=True):
        ref, ref_grad = pot.value_and_grad(theta)
        tol = 1e-12 * max(1.0, abs(ref))
        assert abs(value - ref) <= tol and abs(value_x - ref) <= 1e-9 * max(1.0, abs(ref))
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-12 * np.abs(ref_grad).max())
        np.testing.assert_allclose(grad_x, ref_grad * scale, rtol=1e-9, atol=1e-10 * np.abs(ref_grad * scale).max())
    if n < d:
        assert pot._F is not None and pot._F.shape[0] <= n


@pytest.mark.parametrize("prior,bias", [(br.Gaussian(1.0), "flat"), (br.Laplace(0.5), "normal:3"),
                                        (br.Laplace(0.5), "none")])
def test_logistic_potential_on_many_rows_equals_row_by_row(prior, bias):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 6))
    y = (X @ rng.normal(size=6) + rng.logistic(size=80) > 0).astype(float)
    pot = RowPotential(br.from_arrays(X, y), LinearRegressionModel(Model.logistic(prior, bias=bias)))
    thetas = rng.normal(size=(4, pot.layout.size))
    values, grads = pot.value_and_grad_many(thetas)
    for theta, value, grad in zip(thetas, values, grads, strict=True):
        ref, ref_grad = pot.value_and_grad(theta)
        assert value == pytest.approx(ref, rel=1e-12)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-12 * np.abs(ref_grad).max())


# ------------------------------------------------------------------------------------------ the tree

def _batch_mean_se(x, batches=40):
    """Mean and its Monte Carlo standard error by batch means (the chain's autocorrelation included)."""
    x = np.asarray(x, dtype=np.float64)
    b = x[: len(x) // batches * batches].reshape(batches, -1).mean(1)
    return float(x.mean()), float(b.std(ddof=1) / math.sqrt(batches))


def test_iterative_tree_is_pyros_recursive_nuts():
    """At one fixed step size and the identity mass matrix, the kernel without Stan's extra checks is Pyro's NUTS:
    the same mean trajectory length and the same posterior moments, within 4.5 Monte Carlo standard errors (batch
    means over the chain)."""
    pot = Potential(_data(n=30, d=3, seed=4), LinearRegressionModel(br.Laplace(0.4), sigma=1.5))
    theta0 = np.array(pot.layout.pack({"w": np.zeros(3), "b": 3.0}))
    eps, iters = 0.1, 1500
    torch.manual_seed(0)
    ours = FastNUTS(pot, inverse_mass=np.ones(pot.layout.size), dense_mass=False, step_size=eps,
                    adapt_step_size=False, extra_checks=False, seed=5)
    pyros = RecordingNUTS(potential_fn=pot.torch_fn("theta"), step_size=eps, adapt_step_size=False,
                          adapt_mass_matrix=False, full_mass=False)
    runs = {}
    for name, kernel in (("ours", ours), ("pyro", pyros)):
        kernel.initial_params = {"theta": torch.as_tensor(theta0)}
        kernel.setup(0)
        params, draws = kernel.initial_params, []
        for _ in range(iters):
            params = kernel.sample(params)
            draws.append(params["theta"].detach().numpy().copy())
        runs[name] = (np.array(kernel.records["n_steps"][200:]), np.array(draws[200:]))
    (steps_a, draws_a), (steps_b, draws_b) = runs["ours"], runs["pyro"]
    (ma, sa), (mb, sb) = _batch_mean_se(steps_a), _batch_mean_se(steps_b)
    assert abs(ma - mb) < 4.5 * math.hypot(sa, sb), (ma, mb, sa, sb)
    for j in range(pot.layout.size):
        (ma, sa), (mb, sb) = _batch_mean_se(draws_a[:, j]), _batch_mean_se(draws_b[:, j])
        assert abs(ma - mb) < 4.5 * math.hypot(sa, sb), (j, ma, mb, sa, sb)


def _recursive_nuts_steps(value_and_grad, z, r, eps, direction, max_depth=10):
    """Leapfrog steps and divergence of one NUTS transition from (z, r) with every doubling in ``direction``, by
    Pyro's recursion (identity mass matrix) with Stan's extra checks: the reference the iterative tree must match
    step for step (trajectory lengths depend on the start, the momentum and the directions only)."""
    def turning(ra, rb, total):
        rho = total - 0.5 * (ra + rb)
        return ra @ rho <= 0 or rb @ rho <= 0

    u0, g0 = value_and_grad(z)
    h0 = u0 + 0.5 * r @ r
    count = [0]

    def build(z, r, g, depth):  # -> (first r, last r, end state, momentum sum, turning, diverging)
        if depth == 0:
            r = r - 0.5 * eps * direction * g
            z = z + eps * direction * r
            u, g = value_and_grad(z)
            r = r - 0.5 * eps * direction * g
            count[0] += 1
            diverging = not (u + 0.5 * r @ r) - h0 <= 1000
            return r, r, (z, r, g), r, False, diverging
        a = build(z, r, g, depth - 1)
        if a[4] or a[5]:
            return a
        b = build(*a[2], depth - 1)
        total = a[3] + b[3]
        turn = b[4] or turning(a[0], b[1], total) or turning(a[0], b[0], a[3] + b[0]) or turning(
            a[1], b[1], a[1] + b[3])
        return a[0], b[1], b[2], total, turn, b[5]

    start_r, end_prev, end, total, depth = r, r, (z, r, g0), r, 0
    while depth < max_depth:
        first, last, end, sub, turn, diverging = build(*end, depth)
        if diverging:
            return count[0], True
        if turn:
            break
        depth += 1
        old_total, total = total, total + sub
        if turning(start_r, last, total) or turning(start_r, first, old_total + first) or turning(
                end_prev, last, end_prev + sub):
            break
        end_prev = last
    return count[0], False


@pytest.mark.parametrize("direction", [1, -1])
def test_iterative_tree_takes_the_recursions_steps(direction, monkeypatch):
    """With every doubling in one direction (the engine's uniforms pinned), each transition from a random start
    and momentum takes as many leapfrog steps, and diverges or not, as the recursive NUTS."""
    from bayesreg.infer import nuts as nuts_module

    monkeypatch.setattr(nuts_module._Chain, "uniform", lambda self: 0.3 if direction == 1 else 0.7)
    pot = Potential(_data(n=30, d=5, seed=9), LinearRegressionModel(br.Laplace(0.3), sigma=1.0))
    p = pot.layout.size
    eps = 0.35
    kernel = FastNUTS(pot, inverse_mass=np.ones(p), dense_mass=False, step_size=eps, adapt_step_size=False, seed=4)
    kernel.initial_params = {"theta": torch.zeros(p, dtype=torch.float64)}
    kernel.setup(0)
    rng, starts = np.random.default_rng(4), np.random.default_rng(5)
    centre = pot.layout.pack({"w": np.zeros(5), "b": 0.0})
    centre[-1] = pot.y_mean - pot.x_mean @ centre[:5]
    for _ in range(150):
        z = centre + 0.3 * starts.standard_normal(p)
        kernel.sample({"theta": torch.tensor(z)})
        r = rng.standard_normal(p)
        assert (kernel.records["n_steps"][-1], kernel.records["diverging"][-1]) == _recursive_nuts_steps(
            pot.value_and_grad, z, r, eps, direction)


def test_trajectory_statistics_are_consistent_and_divergences_end_transitions():
    pot = Potential(_data(seed=6), LinearRegressionModel(br.Laplace(0.5), sigma=1.5))
    theta0 = pot.layout.pack({"w": np.zeros(4), "b": 3.0})
    kernel = FastNUTS(pot, dense_mass=False, step_size=50.0, adapt_step_size=False, seed=1)
    kernel.initial_params = {"theta": torch.as_tensor(theta0)}
    kernel.setup(0)
    params = kernel.initial_params
    for _ in range(20):
        params = kernel.sample(params)
    stats = kernel.records
    assert all(stats["diverging"]) and np.all(np.isfinite(params["theta"].numpy()))
    steps = np.array(stats["n_steps"])
    assert np.all(np.array(stats["tree_depth"]) == np.ceil(np.log2(steps + 1)))


def test_chains_advanced_together_sample_the_exact_posterior():
    """Four chains advanced together (the default driver) on a Gaussian posterior: means within 4.5 Monte Carlo
    standard errors (ArviZ) of the exact ones; after warm-up the chains share one step size."""
    from bayesreg.infer.idata import import_arviz

    az = import_arviz()
    data = _data(n=50, d=5, seed=7)
    post = nuts(data, LinearRegressionModel(br.Gaussian(1.0), sigma=1.5), chains=4, draws=800, warmup=200, seed=3)
    exact = br.gaussian_posterior(data, prior=1.0, sigma=1.5)
    idata = az.convert_to_dataset({"w": post.draws["w"]})
    mcse = az.mcse(idata, method="mean")["w"].values
    assert np.all(np.abs(post.flat("w").mean(0) - exact.mean[:5]) < 4.5 * mcse)
    step = post.sample_stats["step_size"]
    assert np.all(step == step[0, 0])


# ------------------------------------------------------------------------------------------ mass matrix options

def test_default_mass_matrix_is_diagonal_only_for_many_weights_and_few_rows():
    small = Potential(_data(n=40, d=4), LinearRegressionModel(br.Laplace(0.5), sigma=1.5))
    wide = Potential(_data(n=20, d=DENSE_MASS_MAX + 20, seed=1), LinearRegressionModel(br.Laplace(0.05), sigma=0.1))
    tall = Potential(_data(n=300, d=DENSE_MASS_MAX + 20, seed=2), LinearRegressionModel(br.Laplace(0.05), sigma=0.1))
    assert _default_dense(small) and not _default_dense(wide) and _default_dense(tall)


@pytest.mark.parametrize("dense", [False, True])
def test_dense_mass_option_reaches_the_sampler(dense):
    post = nuts(_data(seed=8), LinearRegressionModel(br.Laplace(0.5), sigma=1.5), chains=2, draws=30, warmup=20,
                seed=0, dense_mass=dense)
    assert post.info["dense_mass"] is dense
