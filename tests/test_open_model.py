"""The open model: one specification, priors and back ends by capability, and a MAP that is a computed mode.

Oracles: scikit-learn (elastic net), SciPy optimisers on objectives written out here independently of the
package's solvers, and the multivariate-normal evidence from SciPy for the marginal mode of τ.
"""

import ast
import json
import math
import pathlib

import numpy as np
import pytest
from scipy import optimize, stats

import bayesreg as br
from bayesreg.backends import capable, choose
from bayesreg.cli import main
from bayesreg.derived_priors import (
    ElasticNetPrior,
    GroupLassoPrior,
    L2NormPrior,
    StudentTPrior,
    derived_prior_from_penalty,
)
from bayesreg.errors import SpecError
from bayesreg.mode import posterior_mode
from bayesreg.model import Model
from bayesreg.priors import HierarchicalPrior, parse_sigma_prior

PACKAGE = pathlib.Path(br.__file__).parent


@pytest.fixture(scope="module")
def diabetes():
    return br.load_diabetes()


# ------------------------------------------------------------------------------------- the joint mode


def test_laplace_with_halfnormal_sigma_mode_is_the_joint_optimum(diabetes):
    """The reported MAP of (w, b, σ) equals an independent optimisation of the joint log posterior: w split
    into u − v with u, v ≥ 0 (a smooth problem on a box, L-BFGS-B), σ on the log scale with its Jacobian
    removed so that the mode is on σ's own scale."""
    scale, hn = 13.2, 60.0
    post = br.fit(diabetes, br.Laplace(scale), "halfnormal:60", method="map")
    X, y = np.asarray(diabetes.X), np.asarray(diabetes.y)
    n, d = X.shape

    def neg_log_joint(z):
        u, v, b, log_s = z[:d], z[d:2 * d], z[2 * d], z[2 * d + 1]
        s = math.exp(log_s)
        r = y - X @ (u - v) - b
        value = n * log_s + r @ r / (2 * s * s) + (u + v).sum() / scale + 0.5 * (s / hn) ** 2
        gw = -X.T @ r / (s * s)
        grad = np.concatenate([gw + 1 / scale, -gw + 1 / scale, [-r.sum() / (s * s)],
                               [n - r @ r / (s * s) + (s / hn) ** 2]])
        return value, grad

    z0 = np.concatenate([np.zeros(2 * d), [y.mean(), math.log(y.std())]])
    res = optimize.minimize(neg_log_joint, z0, jac=True, method="L-BFGS-B",
                            bounds=[(0, None)] * (2 * d) + [(None, None)] * 2,
                            options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 50_000, "maxcor": 50})
    w_oracle = res.x[:d] - res.x[d:2 * d]
    mode = post.mode.values
    assert "joint posterior mode of (w, b, σ)" in post.mode.definition
    assert np.max(np.abs(mode["w"] - w_oracle)) <= 1e-4 * np.max(np.abs(w_oracle))
    assert float(mode["sigma"]) == pytest.approx(math.exp(res.x[-1]), rel=1e-4)
    assert float(mode["b"]) == pytest.approx(res.x[2 * d], rel=1e-4)
    # the summary's MAP column is that mode, not a starting value
    assert post.info["map"]["sigma"] == pytest.approx(float(mode["sigma"]), rel=1e-12)


def test_no_mode_when_the_density_is_unbounded():
    """With n ≤ d the penalised fit interpolates as σ → 0 and a half-normal σ prior does not stop it: no MAP,
    with the reason."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 8))
    data = br.from_arrays(X, X @ rng.standard_normal(8))
    mode = posterior_mode(data, Model.gaussian(br.Laplace(1.0), "halfnormal:1"))
    assert not mode.exists and "σ → 0" in mode.reason
    with pytest.raises(SpecError, match="no MAP"):
        br.fit(data, br.Laplace(1.0), "halfnormal:1", method="map")


# ------------------------------------------------------------------------- derived priors: the minimiser


def _oracle_minimiser(X, y, torch_penalty, sigma):
    """argmin F(w) = ½‖y − Xw − b‖² + σ²·penalty(w) with a flat b (profiled out by centring), the penalty written
    here in torch for its gradient, by L-BFGS from least squares, and the coordinates where that stalls near 0
    (|w_j| < 1e-8·max|w|: a kink of the penalty, a group lasso's group at zero) set to 0 and F minimised again
    over the rest, where it is smooth. Whether 0 is right for them is the test's to check (:func:`_descent_at`)."""
    from scipy import optimize

    f = _objective(X, y, torch_penalty, sigma)

    def lbfgs(fun, w):
        for _ in range(3):  # restarts refresh L-BFGS's memory
            w = optimize.minimize(fun, w, jac=True, method="L-BFGS-B",
                                  options={"ftol": 1e-16, "gtol": 1e-9, "maxiter": 100_000, "maxcor": 50}).x
        return w

    w = lbfgs(f, np.linalg.lstsq(X - X.mean(0), y - y.mean(), rcond=None)[0])
    free = np.abs(w) >= 1e-8 * np.abs(w).max()
    if not free.all():
        def reduced(v):
            full = np.zeros_like(w)
            full[free] = v
            value, grad = f(full)
            return value, grad[free]

        w = np.zeros_like(w)
        w[free] = lbfgs(reduced, np.linalg.lstsq((X - X.mean(0))[:, free], y - y.mean(), rcond=None)[0])
    return w


def _objective(X, y, torch_penalty, sigma):
    """F(w) and its gradient (autograd; at a kink, the one torch picks)."""
    import torch

    Xc, yc = X - X.mean(0), y - y.mean()

    def f(w):
        wt = torch.as_tensor(w, dtype=torch.float64).requires_grad_(True)
        r = torch.as_tensor(yc) - torch.as_tensor(Xc) @ wt
        value = 0.5 * r @ r + sigma**2 * torch_penalty(wt)
        value.backward()
        return value.item(), wt.grad.numpy().copy()

    return f


def _descent_at(X, y, torch_penalty, sigma, w, zero, steps=(1e-3, 1e-5, 1e-7)):
    """Whether F falls when the coordinates ``zero`` (all 0 in w) leave 0 along the steepest direction of the
    smooth part, −∇_zero ½‖r‖²: at a minimiser no direction out of the kink lowers F, so every step must raise it."""
    grad = -(X - X.mean(0))[:, zero].T @ ((y - y.mean()) - (X - X.mean(0)) @ w)
    direction = np.zeros_like(w)
    direction[zero] = -grad / np.linalg.norm(grad)
    f = _objective(X, y, torch_penalty, sigma)
    return any(f(w + h * direction)[0] < f(w)[0] for h in steps)


def _group_norms(w, sizes):
    out, start = 0.0, 0
    for p in sizes:
        out = out + p**0.5 * w[start:start + p].norm()
        start += p
    return out


DERIVED = {
    "l2-norm": (L2NormPrior(10.0, 10), lambda w: w.norm() / 10.0),
    "group-lasso": (GroupLassoPrior(10.0, (3, 3, 4)), lambda w: _group_norms(w, (3, 3, 4)) / 10.0),
    "student-t": (StudentTPrior(3.0, 100.0), lambda w: 2.0 * (w * w / (3.0 * 100.0**2)).log1p().sum()),
    "separable": (derived_prior_from_penalty(lambda t: np.abs(t) ** 1.5, 30.0, 54.0, convex=True, label="|w|^1.5"),
                  lambda w: 30.0 / 54.0**2 * (w.abs() ** 1.5).sum()),
}


@pytest.mark.parametrize("name", list(DERIVED))
def test_derived_prior_mode_is_the_penalised_minimiser(diabetes, name):
    prior, torch_penalty = DERIVED[name]
    post = br.fit(diabetes, prior, 54.0, method="map")
    X, y = np.asarray(diabetes.X), np.asarray(diabetes.y)
    oracle = _oracle_minimiser(X, y, torch_penalty, 54.0)
    zero = oracle == 0   # the group lasso's second group (bp, s1, s2) is 0 at the minimiser
    assert zero.sum() == (3 if name == "group-lasso" else 0)
    if zero.any():
        assert not _descent_at(X, y, torch_penalty, 54.0, oracle, zero)
        assert _descent_at(X, y, lambda w: 0.2 * torch_penalty(w), 54.0, oracle, zero)   # a test that can fail
    assert np.max(np.abs(post.mode.values["w"] - oracle)) <= 1e-6 * np.max(np.abs(oracle))
    if not prior.convex:
        assert "local mode" in post.mode.definition


def test_elastic_net_mode_is_sklearns_and_not_a_starting_point(diabetes):
    """ElasticNetPrior(5, 10) on diabetes: the stored MAP once held −792 where the mode is 0."""
    from sklearn.linear_model import ElasticNet

    prior = ElasticNetPrior(5.0, 10.0)
    post = br.fit(diabetes, prior, 54.0, method="nuts", chains=2, draws=100, warmup=100)
    lam = prior.canonical_lam(54.0)
    alpha = (lam["l1"] + lam["l2"]) / diabetes.n
    ref = ElasticNet(alpha=alpha, l1_ratio=lam["l1"] / (lam["l1"] + lam["l2"]), tol=1e-14,
                     max_iter=1_000_000).fit(diabetes.X, diabetes.y)
    w = np.asarray(post.info["map"]["w"])
    np.testing.assert_allclose(w, ref.coef_, rtol=0, atol=1e-6 * np.max(np.abs(ref.coef_)))
    assert np.array_equal(w == 0, ref.coef_ == 0)


# ---------------------------------------------------------------------------------- hierarchical τ


def test_marginal_mode_of_tau_matches_the_gaussian_evidence():
    """p(τ | y) ∝ N(y | 0, σ²I + τ²XXᵀ)·p(τ) (bias none), maximised by SciPy on its own."""
    data = br.load_diabetes()
    X, y = np.asarray(data.X)[:80], np.asarray(data.y)[:80] - np.asarray(data.y).mean()
    small = br.from_arrays(X, y)
    sigma, tau_prior = 54.0, parse_sigma_prior("halfcauchy:50")
    model = Model.gaussian(HierarchicalPrior("gaussian", tau_prior), sigma, "none")
    mode = posterior_mode(small, model)

    def neg(log_t):
        t = math.exp(log_t)
        cov = sigma**2 * np.eye(len(y)) + t * t * X @ X.T
        return -(stats.multivariate_normal(np.zeros(len(y)), cov).logpdf(y) + tau_prior.log_density(t))

    grid = np.linspace(0, 10, 101)
    k = int(np.argmin([neg(g) for g in grid]))
    res = optimize.minimize_scalar(neg, bounds=(grid[k - 1], grid[k + 1]), method="bounded",
                                   options={"xatol": 1e-12})
    assert float(mode.values["tau"]) == pytest.approx(math.exp(res.x), rel=1e-6)
    assert "marginal posterior" in mode.definition


def test_hierarchical_laplace_reports_no_mode_with_the_reason(diabetes):
    mode = posterior_mode(diabetes, Model.gaussian(HierarchicalPrior("laplace", "halfcauchy:50"), 54.0))
    assert mode.values is None and "degenerate" in mode.reason


# ------------------------------------------------------------------------------ back ends by capability


def test_back_ends_declare_what_they_run(diabetes):
    assert choose(Model.gaussian(br.Gaussian(20.0), 54.0), diabetes) == "exact"
    assert choose(Model.gaussian(br.Laplace(13.0), 54.0), diabetes) == "gibbs"
    assert choose(Model.gaussian(ElasticNetPrior(5.0, 10.0), 54.0), diabetes) == "nuts"
    assert capable(Model.gaussian(StudentTPrior(3.0, 1.0), 54.0), diabetes) == ["nuts", "laplace", "svi", "map"]
    with pytest.raises(SpecError, match=r"--method exact cannot run this model: .*methods that can: gibbs, nuts, "
                                        r"laplace, svi, map"):
        br.fit(diabetes, br.Laplace(13.0), 54.0, method="exact")


def test_nuts_honours_the_mass_matrix_and_reports_progress(diabetes):
    calls = []
    from bayesreg.infer.nuts import nuts
    from bayesreg.models import LinearRegressionModel

    model = LinearRegressionModel(br.Laplace(13.0), 54.0)
    diag = nuts(diabetes, model, chains=1, draws=20, warmup=20, dense_mass=False,
                progress=lambda done, total: calls.append((done, total)))
    assert diag.info["dense_mass"] is False and calls[-1] == (40, 40)
    post = br.fit(diabetes, br.Laplace(13.0), 54.0, method="nuts", chains=1, draws=100, warmup=20,
                  mass="diagonal")
    assert post.info["dense_mass"] is False


# -------------------------------------------------------------------------------------- SVI everywhere


@pytest.mark.parametrize("prior, sigma", [(HierarchicalPrior("gaussian", "halfcauchy:50"), 54.0),
                                          (ElasticNetPrior(5.0, 10.0), 54.0)], ids=["tau-hyperprior", "elastic-net"])
def test_svi_runs_every_prior_and_agrees_with_nuts(diabetes, prior, sigma):
    """Means within 0.1 posterior sd of NUTS (the mvn guide; NUTS's own Monte Carlo error is ≈ sd/√ESS ≈ 0.03
    sd at 4 × 1000 draws)."""
    svi = br.fit(diabetes, prior, sigma, method="svi", draws=4000, chains=1, seed=1)
    ref = br.fit(diabetes, prior, sigma, method="nuts", chains=4, draws=1000, seed=1)
    for name in ref.draws:
        a, b = svi.flat(name), ref.flat(name)
        sd = b.std(0)
        assert np.all(np.abs(a.mean(0) - b.mean(0)) <= 0.1 * sd), name


# ----------------------------------------------------------------------------------------------- CLI


def test_cli_map_of_an_elastic_net_is_sklearns(tmp_path, diabetes, capsys):
    from sklearn.linear_model import ElasticNet

    out = tmp_path / "enet"
    code = main(["fit", "--data", "diabetes", "--prior", "elastic-net", "--lam", "0.01", "--l1-ratio", "0.5",
                 "--convention", "sklearn_elasticnet", "--sigma", "54", "--method", "map", "--out", str(out)])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    w = np.array([summary["parameters"][f"w[{f}]"]["map"] for f in diabetes.feature_names])
    ref = ElasticNet(alpha=0.01, l1_ratio=0.5, tol=1e-14, max_iter=1_000_000).fit(diabetes.X, diabetes.y)
    np.testing.assert_allclose(w, ref.coef_, rtol=0, atol=1e-6 * np.max(np.abs(ref.coef_)))
    assert summary["method"] == "map" and summary["map"]["definition"].startswith("the joint posterior mode")
    assert {p.name for p in out.iterdir()} >= {"posterior.nc", "summary.json", "timing.json", "map.png"}


@pytest.mark.parametrize("argv", [
    ["--prior", "l2-norm", "--lam", "2", "--sigma", "54", "--method", "map"],
    ["--prior", "group-lasso", "--lam", "2", "--groups", "3,3,4", "--sigma", "54", "--method", "map"],
    ["--prior", "student-t", "--df", "3", "--scale", "100", "--sigma", "54", "--method", "map"],
    ["--prior", "log", "--lam", "20000", "--width", "100", "--sigma", "54", "--method", "map"],
], ids=["l2-norm", "group-lasso", "student-t", "log"])
def test_cli_fit_accepts_every_prior_that_prior_knows(tmp_path, argv, capsys):
    assert main(["fit", "--data", "diabetes", *argv, "--out", str(tmp_path / "o"), "--no-plots"]) == 0
    assert "MAP: the joint posterior mode" in capsys.readouterr().out


def test_cli_refuses_options_of_another_prior(tmp_path, capsys):
    code = main(["fit", "--data", "diabetes", "--prior", "gaussian", "--tau", "20", "--l1-ratio", "0.5",
                 "--sigma", "54", "--out", str(tmp_path / "o")])
    assert code == 2 and "--l1-ratio does not apply to the gaussian prior" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_compare_runs_a_derived_prior(capsys):
    assert main(["compare", "--data", "diabetes", "--prior", "l2-norm", "--lam", "2", "--sigma", "54"]) == 0
    out = capsys.readouterr().out
    assert "penalised_minimiser (reference)" in out and "pyro_map" in out


# ------------------------------------------------------------------------------------------ structure


def _imports(path: pathlib.Path) -> set[str]:
    """Modules of the package that ``path`` imports at module level (function-level imports are deferred)."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    base = package.rsplit(".", 1)[0] if path.name != "__init__.py" else package
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                root = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{root}.{node.module}" if node.module else root
            else:
                module = node.module or ""
            if module.startswith("bayesreg"):
                found.add(module)
                found.update(f"{module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bayesreg"))
    return found


def test_no_import_cycle_between_modules():
    """No module of the package imports (at module level) a module that imports it back, directly or not;
    the prior modules not even in a function."""
    modules = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
               for p in PACKAGE.rglob("*.py")}
    graph = {m: {i for i in _imports(p) if i in modules and i != m} for m, p in modules.items()}
    graph = {m: {i for i in deps if not m.startswith(i + ".") and i != "bayesreg"} for m, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for dep in graph[m]:
            if state.get(dep) == 1:
                pytest.fail("import cycle: " + " → ".join([*stack[stack.index(dep):], dep]))
            if dep not in state:
                visit(dep, [*stack, dep])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])
    derived = (PACKAGE / "derived_priors.py").read_text()
    assert "from .priors import" not in derived and "import priors" not in derived


def test_isinstance_on_prior_classes_stays_inside_the_priors():
    """Back ends ask capabilities; only the prior modules (and the protocol check isinstance(x, Prior)) may
    test a prior's class."""
    names = ("Gaussian", "Laplace", "ConjugateGaussian", "HierarchicalPrior", "DerivedPrior", "ElasticNetPrior",
             "L2NormPrior", "GroupLassoPrior", "StudentTPrior", "SeparablePrior")
    allowed = {"priors.py", "derived_priors.py", "prior_base.py", "prior_reading.py"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                classes, elts = node.args[1], []
                stack = [classes]
                while stack:  # a tuple of classes, or a union written A | B
                    c = stack.pop()
                    if isinstance(c, ast.Tuple):
                        stack.extend(c.elts)
                    elif isinstance(c, ast.BinOp):
                        stack.extend([c.left, c.right])
                    else:
                        elts.append(c)
                if any(getattr(e, "id", None) in names for e in elts):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []
