"""Logistic regression: conventions against their own tools, the MAP against scikit-learn and PyTorch, the
Pólya–Gamma sampler and NUTS against quadrature and importance sampling, bad targets, and the CLI."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import special
from sklearn.linear_model import LogisticRegression

import bayesreg as br
from bayesreg.conventions import CLASSIFIER_CONVENTIONS, get_convention, to_canonical_lam
from bayesreg.data import from_arrays, load_d2l_logistic, load_dataset
from bayesreg.errors import BayesregError, DataError, SpecError
from bayesreg.infer.laplace_approx import laplace_approximation
from bayesreg.infer.polya_gamma import polya_gamma_gibbs
from bayesreg.logistic import LogisticLikelihood, binary_target
from bayesreg.model import Model
from bayesreg.priors import Gaussian, Laplace
from bayesreg.solvers.logistic import logistic_map, logistic_objective, separable
from bayesreg.solvers.objective import PenalizedLeastSquares
from tests.scripts import run_cli


@pytest.fixture(scope="module")
def cancer():
    return load_dataset("breast_cancer", binary=True, standardize=True)


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


# ------------------------------------------------------------------------------------------- conventions

def test_sklearn_C_is_the_prior_variance():
    conv = get_convention("sklearn_logistic", "logistic")
    assert to_canonical_lam("l2", 1.0, 569, conv) == 1.0  # C = 1 ⇔ λ = 1 ⇔ τ = 1
    assert to_canonical_lam("l2", 0.5, 569, conv) == pytest.approx(2.0)  # C = τ²
    assert to_canonical_lam("l1", 0.25, 569, conv) == pytest.approx(4.0)  # C = s
    sgd = get_convention("sklearn_sgdclassifier", "logistic")
    assert to_canonical_lam("l2", 1 / (569 * 0.5), 569, sgd) == pytest.approx(2.0)  # α = 1/(nτ²)
    assert to_canonical_lam("l2", 1 / (569 * 0.5), 569, get_convention("torch_bce_mean", "logistic")) == \
        pytest.approx(2.0)
    assert to_canonical_lam("l2", 2.0, None, get_convention("torch_bce_sum", "logistic")) == 2.0
    assert to_canonical_lam("l2", 1 / (2 * 569 * 0.5), 569, get_convention("keras_bce", "logistic")) == \
        pytest.approx(2.0)


@pytest.mark.parametrize("name", list(CLASSIFIER_CONVENTIONS))
def test_each_convention_is_the_canonical_objective_scaled(cancer, name):
    """Every convention's own objective, at its converted parameter, is a positive multiple of the canonical one
    at every point: the same minimiser."""
    conv = CLASSIFIER_CONVENTIONS[name]
    canonical = CLASSIFIER_CONVENTIONS["canonical"]
    rng = np.random.default_rng(1)
    for penalty in ("l2", "l1"):
        if not conv.supports(penalty):
            continue
        lam = 2.0
        from bayesreg.conventions import from_canonical_lam

        param = from_canonical_lam(penalty, lam, cancer.n, conv)
        ratios = []
        for _ in range(3):
            w, b = rng.normal(size=cancer.d), rng.normal()
            ratios.append(conv.objective_value(penalty, param, w, b, cancer.X, cancer.y)
                          / canonical.objective_value(penalty, lam, w, b, cancer.X, cancer.y))
        assert np.ptp(ratios) < 1e-12 * max(ratios)


def test_torch_losses_are_the_conventions_objectives(cancer):
    """``BCEWithLogitsLoss`` (mean and sum) + (wd/2)‖w‖², as torch computes it, is the convention's objective."""
    import torch

    rng = np.random.default_rng(2)
    w, b = rng.normal(size=cancer.d), 0.3
    eta = torch.from_numpy(cancer.X @ w + b)
    y = torch.from_numpy(cancer.y.copy())
    for name, reduction in (("torch_bce_mean", "mean"), ("torch_bce_sum", "sum")):
        wd = 0.01
        torch_value = float(torch.nn.BCEWithLogitsLoss(reduction=reduction)(eta, y)) + 0.5 * wd * float(w @ w)
        conv = get_convention(name, "logistic")
        assert conv.objective_value("l2", wd, w, b, cancer.X, cancer.y) == pytest.approx(torch_value, rel=1e-12)


def test_unknown_convention_for_a_classifier_names_the_fix():
    with pytest.raises(BayesregError, match="--likelihood logistic"):
        get_convention("sklearn_logistic")


# ------------------------------------------------------------------------------------------------- MAP

@pytest.mark.parametrize("C", [1.0, 0.5])
def test_map_equals_sklearn_logistic_regression(cancer, C):
    """MAP at λ = 1/C equals ``LogisticRegression(C)`` (lbfgs, tol 1e-10) to 1e-6 relative, and its tighter
    Newton solver to 1e-9."""
    res = logistic_map(cancer.X, cancer.y, PenalizedLeastSquares(l2=1.0 / C))
    assert res.converged
    lbfgs = LogisticRegression(C=C, tol=1e-10, max_iter=100_000).fit(cancer.X, cancer.y)
    assert _rel(res.w, lbfgs.coef_[0]) <= 1e-6
    assert abs(res.b - lbfgs.intercept_[0]) <= 1e-6 * max(1.0, abs(lbfgs.intercept_[0]))
    newton = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-14, max_iter=1000).fit(cancer.X, cancer.y)
    assert _rel(res.w, newton.coef_[0]) <= 1e-9


def test_map_equals_sklearn_when_n_less_than_d():
    data = load_d2l_logistic(0).train
    assert separable(data.X, data.y)
    res = logistic_map(data.X, data.y, PenalizedLeastSquares(l2=1.0))
    sk = LogisticRegression(C=1.0, tol=1e-10, max_iter=100_000).fit(data.X, data.y)
    assert res.converged
    assert _rel(res.w, sk.coef_[0]) <= 1e-6


def test_l1_map_has_sklearns_zeros(cancer):
    res = logistic_map(cancer.X, cancer.y, PenalizedLeastSquares(l1=10.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = LogisticRegression(C=0.1, l1_ratio=1.0, solver="saga", tol=1e-12, max_iter=200_000).fit(cancer.X,
                                                                                                    cancer.y)
    assert res.converged
    np.testing.assert_array_equal(res.w == 0, sk.coef_[0] == 0)
    assert 0 < int(np.sum(res.w == 0)) < cancer.d
    assert _rel(res.w, sk.coef_[0]) <= 1e-6


def test_elastic_net_map_is_optimal(cancer):
    """Elastic net: the minimum-norm subgradient vanishes (KKT) and sklearn's saga agrees to its tolerance."""
    res = logistic_map(cancer.X, cancer.y, PenalizedLeastSquares(l1=2.0, l2=3.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # C·Σ + ρ‖w‖₁ + (1−ρ)/2‖w‖²: λ₁ = ρ/C = 2, λ₂ = (1−ρ)/C = 3 → C = 0.2, ρ = 0.4
        sk = LogisticRegression(C=0.2, l1_ratio=0.4, solver="saga", tol=1e-12, max_iter=200_000).fit(cancer.X,
                                                                                                    cancer.y)
    assert res.converged and res.residual < 1e-9
    assert _rel(res.w, sk.coef_[0]) <= 1e-5


def test_torch_sgd_weight_decay_reaches_the_map(cancer):
    """``BCEWithLogitsLoss`` + ``SGD(weight_decay = λ/n)``, converged, within 1e-5 of the Newton MAP."""
    from bayesreg.solvers.sgd import sgd_weight_decay

    ref = logistic_map(cancer.X, cancer.y, PenalizedLeastSquares(l2=1.0))
    res = sgd_weight_decay(cancer.X, cancer.y, PenalizedLeastSquares(l2=1.0), loss="logistic")
    assert res.converged
    assert res.info["weight_decay"] == pytest.approx(1.0 / cancer.n)
    assert float(np.max(np.abs(res.w - ref.w))) <= 1e-5


def test_separable_without_penalty_is_refused():
    data = load_d2l_logistic(0).train
    with pytest.raises(SpecError, match="separable"):
        logistic_map(data.X, data.y, PenalizedLeastSquares())


def test_objective_at_the_map_is_minimal(cancer):
    problem = PenalizedLeastSquares(l2=1.0)
    res = logistic_map(cancer.X, cancer.y, problem)
    rng = np.random.default_rng(0)
    for _ in range(5):
        w = res.w + 1e-3 * rng.normal(size=cancer.d)
        assert logistic_objective(cancer.X, cancer.y, w, res.b, problem) > res.objective


# ---------------------------------------------------------------------------------------------- targets

def test_binary_target_codes_two_labels():
    y, classes = binary_target(np.array(["no", "yes", "yes"]))
    np.testing.assert_array_equal(y, [0, 1, 1])
    assert classes == ("no", "yes")
    y, classes = binary_target(np.array([-1, 1, -1]))
    np.testing.assert_array_equal(y, [0, 1, 0])


@pytest.mark.parametrize("values, message", [
    (np.array([0, 1, 2, 1]), "3 levels"),
    (np.array([1, 1, 1]), "constant"),
    (np.array([0.0, np.nan, 1.0]), "missing"),
])
def test_bad_targets_are_refused_with_the_fix(values, message):
    with pytest.raises(DataError, match=message):
        binary_target(values)


# ------------------------------------------------------------------------------------------- posterior

def _tiny(seed=0, n=40, two=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2 if two else 1))
    eta = X @ (np.array([1.0, -0.5]) if two else np.array([1.0]))
    y = (rng.random(n) < special.expit(eta)).astype(float)
    return from_arrays(X, y)


def _quadrature_moments(data, tau: float, bias_sd: float | None, laplace: bool = False):
    """Posterior means and sds of (w[, b]) by brute-force quadrature on a grid (1-D or 2-D)."""
    lik = LogisticLikelihood()
    d = data.d
    k = d + (bias_sd is not None)
    grids = [np.linspace(-6, 6, 1201 if k == 1 else 601)] * k
    mesh = np.meshgrid(*grids, indexing="ij")
    pts = np.stack([m.ravel() for m in mesh], axis=1)
    eta = pts[:, :d] @ data.X.T + (pts[:, d:d + 1] if bias_sd is not None else 0.0)
    logp = lik.log_likelihood(data.y, eta).sum(axis=1)
    logp += (-np.abs(pts[:, :d]).sum(1) / tau) if laplace else (-0.5 * (pts[:, :d] ** 2).sum(1) / tau**2)
    if bias_sd is not None:
        logp += -0.5 * pts[:, d] ** 2 / bias_sd**2
    wts = np.exp(logp - logp.max())
    wts /= wts.sum()
    mean = wts @ pts
    sd = np.sqrt(wts @ (pts - mean) ** 2)
    return mean, sd


def _moments(post):
    parts = [post.flat("w")] + ([post.flat("b")[:, None]] if "b" in post.draws else [])
    theta = np.hstack(parts)
    return theta.mean(0), theta.std(0)


@pytest.mark.parametrize("two", [pytest.param(False, marks=pytest.mark.slow), True])
@pytest.mark.parametrize("laplace", [False, True])
def test_samplers_match_quadrature(two, laplace):
    """Pólya–Gamma Gibbs and NUTS against quadrature in one and two dimensions: means within 0.1 posterior sd,
    sds within 10%."""
    data = _tiny(3, two=two)
    prior = Laplace(1.0) if laplace else Gaussian(1.5)
    bias = "none" if two else "normal:2"
    model = Model.logistic(prior, bias)
    mean, sd = _quadrature_moments(data, 1.0 if laplace else 1.5, None if two else 2.0, laplace)
    for method in ("gibbs", "nuts"):
        post = br.fit(data, model, method=method, chains=4, draws=1500, seed=11)
        m, s = _moments(post)
        np.testing.assert_array_less(np.abs(m - mean) / sd, 0.1)
        np.testing.assert_array_less(np.abs(s / sd - 1), 0.1)


@pytest.mark.slow
def test_samplers_match_importance_sampling(cancer):
    """In 6 dimensions (5 features + b): self-normalised importance sampling from a widened Laplace
    approximation (multivariate t, 5 df) is the oracle; both samplers within 0.1 sd and 10% in sd. The
    Laplace approximation's own error is measured against it (not hidden: it is printed)."""
    from scipy import stats

    data = from_arrays(cancer.X[:, :5], cancer.y)
    model = Model.logistic(Gaussian(1.0))
    la = laplace_approximation(data, model)
    rng = np.random.default_rng(5)
    proposal = stats.multivariate_t(loc=la.mean, shape=2.0 * la.cov, df=5)
    theta = proposal.rvs(size=60_000, random_state=rng)
    from bayesreg.infer.row_potential import RowPotential
    from bayesreg.models import LinearRegressionModel

    pot = RowPotential(data, LinearRegressionModel(model))
    logw = -np.array([pot(t) for t in theta]) - proposal.logpdf(theta)
    wts = np.exp(logw - logw.max())
    wts /= wts.sum()
    ess = 1.0 / np.sum(wts**2)
    assert ess > 10_000
    mean = wts @ theta
    sd = np.sqrt(wts @ (theta - mean) ** 2)
    for method in ("gibbs", "nuts"):
        m, s = _moments(br.fit(data, model, method=method, chains=4, draws=1500, seed=3))
        np.testing.assert_array_less(np.abs(m - mean) / sd, 0.1)
        np.testing.assert_array_less(np.abs(s / sd - 1), 0.1)
    mean_error = np.abs(la.mean - mean) / sd
    sd_error = np.abs(la.sd / sd - 1)
    print(f"Laplace approximation vs importance sampling: means off by up to {mean_error.max():.3f} sd, "
          f"sds by up to {sd_error.max():.1%}")
    assert mean_error.max() < 0.5  # it is an approximation; the figure is reported, the bound only catches a bug


@pytest.mark.slow
def test_svi_matches_nuts(cancer):
    """Full-rank SVI on the Bernoulli model against NUTS (5 features + b): means within 0.1 sd, sds within 10%."""
    data = from_arrays(cancer.X[:, :5], cancer.y)
    model = Model.logistic(Gaussian(1.0))
    svi = br.fit(data, model, method="svi", draws=1000, seed=1)
    nuts = br.fit(data, model, method="nuts", draws=1000, seed=1)
    assert svi.info["converged"]
    m, s = _moments(svi)
    mean, sd = _moments(nuts)
    np.testing.assert_array_less(np.abs(m - mean) / sd, 0.1)
    np.testing.assert_array_less(np.abs(s / sd - 1), 0.1)


@pytest.mark.slow
def test_hierarchical_laplace_gibbs_matches_nuts(cancer):
    """1/s² ~ Gamma(3, 1) on the Laplace scale: the Pólya–Gamma sampler's scale-mixture update against NUTS on
    the row potential (log s sampled), 5 features + b: posterior means and sds of w and the scale within 4.5
    Monte Carlo se of their difference (ArviZ's ``mcse`` of the mean and of the sd on each side). These posteriors
    are heavy-tailed (kurtosis 6–21), so an sd's own MC error is 2–7% here; a fixed 10% failed by noise on one
    host, where the largest |z| at seeds 2–4 is 1.5, 2.2 and 0.9. A Gamma(3, 1.3) prior in the Gibbs run moves
    the scale's mean by 4.8 of these se, Gamma(3, 2) by 14 (checked once)."""
    from bayesreg.infer.idata import import_arviz
    from bayesreg.priors import HierarchicalPrior

    az = import_arviz()
    data = from_arrays(cancer.X[:, :5], cancer.y)
    model = Model.logistic(HierarchicalPrior("laplace", "invgamma:3,1"))
    gibbs = br.fit(data, model, method="gibbs", draws=3000, seed=2)
    nuts = br.fit(data, model, method="nuts", draws=1500, seed=2)
    for name in ("w", "tau"):
        a, b = (az.convert_to_dataset({name: post.draws[name]})[name] for post in (gibbs, nuts))
        for method, stat in (("mean", lambda x: x.mean(("chain", "draw"))), ("sd", lambda x: x.std(("chain", "draw")))):
            se = np.hypot(*(az.mcse(x.to_dataset(), method=method)[name] for x in (a, b)))
            z = np.atleast_1d(((stat(a) - stat(b)) / se).values)
            assert np.all(np.abs(z) < 4.5), (name, method, z)


def test_laplace_evidence_matches_quadrature():
    """MacKay's Laplace evidence against the evidence by quadrature in one dimension (1 feature, no bias)."""
    data = _tiny(4)
    tau = 1.5
    la = laplace_approximation(data, Model.logistic(Gaussian(tau), "none"))
    grid = np.linspace(-8, 8, 20001)
    lik = LogisticLikelihood().log_likelihood(data.y, grid[:, None] * data.X[:, 0]).sum(1)
    logp = lik - 0.5 * grid**2 / tau**2 - 0.5 * np.log(2 * np.pi * tau**2)
    exact = special.logsumexp(logp) + np.log(grid[1] - grid[0])
    assert abs(la.log_evidence - exact) < 0.05  # the approximation's error here, a few hundredths of a nat


def test_log_likelihood_group_gives_loo(cancer):
    import arviz as az

    data = from_arrays(cancer.X[:, :4], cancer.y)
    post = br.fit(data, Model.logistic(Gaussian(1.0)), method="laplace", chains=2, draws=500)
    idata = post.to_inference_data(data)
    assert idata.log_likelihood["y"].shape == (2, 500, data.n)
    loo = az.loo(idata)
    assert np.isfinite(loo.elpd_loo) and loo.elpd_loo < 0


def test_auto_picks_an_exact_sampler(cancer):
    from bayesreg.backends import choose

    assert choose(Model.logistic(Gaussian(1.0)), cancer) == "nuts"  # smooth: NUTS is the faster, measured
    assert choose(Model.logistic(Laplace(0.5)), cancer) == "gibbs"  # a kink: the Pólya–Gamma sampler
    with pytest.raises(SpecError, match="cannot run"):
        from bayesreg.backends import require

        require("exact", Model.logistic(Gaussian(1.0)), cancer)


def test_polya_gamma_refuses_a_prior_without_a_conditional(cancer):
    from bayesreg.priors import HierarchicalPrior

    with pytest.raises(SpecError, match="Pólya–Gamma"):
        polya_gamma_gibbs(cancer, Model.logistic(HierarchicalPrior("gaussian", "halfcauchy:1")))


# ----------------------------------------------------------------------------------------------------- CLI

def test_prior_command_prints_tau_one(capsys):
    rc, out, _ = run_cli(capsys, "prior", "l2", "--likelihood", "logistic", "--lam", "1", "--convention",
                         "sklearn_logistic", "--n", "569")
    assert rc == 0
    assert "τ = 1/√λ = 1/√1 = 1" in out
    assert "torch_bce_mean" in out


def test_prior_command_refuses_sigma_for_a_classifier(capsys):
    rc, out, err = run_cli(capsys, "prior", "l2", "--likelihood", "logistic", "--lam", "1", "--sigma", "2")
    assert rc == 2 and "no noise σ" in err and len(err.strip().splitlines()) == 1


def test_fit_refuses_sigma_and_writes_nothing(capsys, tmp_path):
    out = tmp_path / "fit"
    rc, _, err = run_cli(capsys, "fit", "--data", "breast_cancer", "--likelihood", "logistic", "--prior",
                         "gaussian", "--tau", "1", "--sigma", "1", "--out", str(out))
    assert rc == 2 and "drop --sigma" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_fit_refuses_a_three_level_target(capsys, tmp_path):
    path = tmp_path / "three.csv"
    path.write_text("x,y\n" + "\n".join(f"{i},{i % 3}" for i in range(30)) + "\n")
    out = tmp_path / "fit"
    rc, _, err = run_cli(capsys, "fit", "--data", str(path), "--target", "y", "--likelihood", "logistic",
                         "--prior", "gaussian", "--tau", "1", "--out", str(out))
    assert rc == 2 and "3 levels" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_fit_on_a_two_label_csv_writes_calibration(capsys, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=80)
    label = np.where(rng.random(80) < special.expit(1.5 * x), "spam", "ham")
    path = tmp_path / "mail.csv"
    path.write_text("x,label\n" + "\n".join(f"{a},{b}" for a, b in zip(x, label, strict=True)) + "\n")
    out = tmp_path / "fit"
    rc, text, err = run_cli(capsys, "fit", "--data", str(path), "--target", "label", "--likelihood", "logistic",
                            "--prior", "gaussian", "--lam", "1", "--convention", "sklearn_logistic", "--draws",
                            "300", "--out", str(out))
    assert rc == 0, err
    assert (out / "calibration.png").exists() and not (out / "ppc.png").exists()
    assert "nuts posterior" in text


def test_compare_prints_the_table(capsys):
    rc, out, err = run_cli(capsys, "compare", "--data", "breast_cancer", "--standardize", "--likelihood",
                           "logistic", "--prior", "gaussian", "--lam", "1", "--convention", "sklearn_logistic",
                           "--methods", "newton,sgd_weight_decay")
    assert rc == 0, err
    assert "newton (reference)" in out and "sgd_weight_decay" in out and "BCEWithLogitsLoss" in out


# ----------------------------------------------------------------------------------- calibration (SBC)

def _sbc_ranks(method: str, reps: int, seed: int, laplace: bool = False):
    """Simulation-based calibration (Talts et al. 2018): (w, b) from the prior (w_j ~ N(0, 1) or Laplace(0, 0.7),
    b ~ N(0, 1)), y from the Bernoulli model on n = 30 rows of N(0, 1) features (d = 2), and the rank of each true
    value among 99 draws (every 10th of 990, one chain): uniform on 0..99 iff the sampler is right."""
    rng = np.random.default_rng(seed)
    n, d = 30, 2
    prior = Laplace(0.7) if laplace else Gaussian(1.0)
    ranks = {"w1": [], "w2": [], "b": []}
    rep = 0
    while rep < reps:
        w = rng.laplace(0.0, 0.7, d) if laplace else rng.normal(0.0, 1.0, d)
        b = rng.normal()
        X = rng.standard_normal((n, d))
        y = (rng.random(n) < special.expit(X @ w + b)).astype(float)
        if y.min() == y.max():  # one class only: rejected on y alone, which keeps the ranks uniform
            continue
        rep += 1
        post = br.fit(from_arrays(X, y), Model.logistic(prior, "normal:1"), method=method, chains=1, draws=990,
                      warmup=300, seed=rep)
        draws = {"w1": post.draws["w"][0, 9::10, 0], "w2": post.draws["w"][0, 9::10, 1],
                 "b": post.draws["b"][0, 9::10]}
        for name, truth in (("w1", w[0]), ("w2", w[1]), ("b", b)):
            ranks[name].append(int(np.sum(draws[name] < truth)))
    return {k: np.array(v) for k, v in ranks.items()}


def _uniform_p(ranks: np.ndarray, bins: int = 10) -> float:
    from scipy import stats

    return float(stats.chisquare(np.bincount(ranks * bins // 100, minlength=bins)).pvalue)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["gibbs", "nuts"])
@pytest.mark.parametrize("laplace", [False, True])
def test_simulation_based_calibration(method, laplace):
    """200 replications: ranks of w₁, w₂, b in 10 bins, χ² test of uniformity (p > 0.001 each)."""
    ranks = _sbc_ranks(method, 200, seed=99 + laplace, laplace=laplace)
    for name, r in ranks.items():
        assert _uniform_p(r) > 1e-3, (name, np.bincount(r * 10 // 100, minlength=10))


# ------------------------------------------------------------------------------------- λ four ways, predict

def test_cv_curve_equals_logistic_regression_cv(cancer):
    """The CV curve is the one ``LogisticRegressionCV(scoring="neg_log_loss")`` computes on the same folds (its
    Newton solver, tight), and the pick is its C_."""
    from sklearn.linear_model import LogisticRegressionCV

    from bayesreg.classifier_selection import logistic_cv_curve
    from bayesreg.selection import cv_splits

    lams = np.logspace(-1.5, 2, 8)  # below λ ≈ 0.03 the folds are nearly separable and scikit-learn stops short
    ours = logistic_cv_curve(cancer, lams, folds=5, seed=0)
    folds = cv_splits(cancer.n, 5, 0)
    sk = LogisticRegressionCV(Cs=1.0 / lams, cv=folds, scoring="neg_log_loss", solver="newton-cholesky",
                              tol=1e-12, max_iter=1000).fit(cancer.X, cancer.y)
    np.testing.assert_allclose(ours, -sk.scores_[1].mean(axis=0), rtol=1e-7)
    assert 1.0 / sk.C_[0] == pytest.approx(lams[int(np.argmin(ours))])


def test_select_four_ways(capsys, tmp_path):
    out = tmp_path / "lam.json"
    rc, text, err = run_cli(capsys, "select", "--data", "breast_cancer", "--standardize", "--likelihood",
                            "logistic", "--json", str(out))
    assert rc == 0, err
    import json

    picks = json.loads(out.read_text())
    assert picks["likelihood"] == "logistic"
    for method in ("evidence", "validation", "cv", "hyperprior"):
        assert picks["details"][method]["interior"], method
        assert 0.01 < picks[method] < 100
    assert picks["conventions"]["evidence"]["sklearn_logistic"] == pytest.approx(1.0 / picks["evidence"])
    assert "τ = 1/√λ" in text


def test_predict_gives_probabilities_with_intervals(capsys, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    y = (rng.random(60) < special.expit(2.0 * x - 0.5)).astype(int)
    train = tmp_path / "train.csv"
    train.write_text("x,y\n" + "\n".join(f"{a},{b}" for a, b in zip(x, y, strict=True)) + "\n")
    fit_dir = tmp_path / "fit"
    rc, _, err = run_cli(capsys, "fit", "--data", str(train), "--target", "y", "--likelihood", "logistic",
                         "--prior", "gaussian", "--tau", "2", "--draws", "500", "--out", str(fit_dir))
    assert rc == 0, err
    new = tmp_path / "new.csv"
    new.write_text("x\n-2\n0\n2\n")
    out = tmp_path / "p.csv"
    rc, text, err = run_cli(capsys, "predict", "--fit", str(fit_dir), "--data", str(new), "--out", str(out))
    assert rc == 0, err
    import pandas as pd

    table = pd.read_csv(out)
    assert list(table.columns) == ["probability", "sd", "lower", "upper"]
    assert (table.lower < table.probability).all() and (table.probability < table.upper).all()
    assert table.probability.is_monotonic_increasing and table.probability.between(0, 1).all()
    # the posterior mean of sigmoid(x̃ᵀθ) over the saved draws, recomputed from the netCDF
    import arviz as az

    post = az.from_netcdf(str(fit_dir / "posterior.nc")).posterior
    p = special.expit(post["w"].values[..., 0] * 2.0 + post["b"].values)
    assert table.probability[2] == pytest.approx(float(p.mean()), rel=1e-12)


# ---------------------------------------------------------------------------------------------- streamed rows

@pytest.fixture(scope="module")
def cancer_files(cancer, tmp_path_factory):
    import pandas as pd

    folder = tmp_path_factory.mktemp("cancer")
    frame = pd.DataFrame(cancer.X, columns=cancer.feature_names)
    frame["benign"] = cancer.y.astype(int)
    frame.to_csv(folder / "cancer.csv", index=False)
    frame.to_parquet(folder / "cancer.parquet", row_group_size=100)
    return folder


@pytest.mark.parametrize("engine, name", [("chunks", "cancer.csv"), ("chunks", "cancer.parquet"),
                                          ("dask", "cancer.parquet")])
def test_streamed_newton_and_laplace_equal_in_memory(cancer, cancer_files, engine, name):
    """One pass over the rows per Newton step (blocks of 64 rows, or Dask partitions): the MAP, the Laplace
    covariance and the evidence equal the in-memory ones to rounding."""
    from bayesreg.streaming import RowStream

    model = Model.logistic(Gaussian(1.0))
    memory = laplace_approximation(cancer, model)
    streamed = laplace_approximation(RowStream(str(cancer_files / name), "benign", engine, chunk_rows=64), model)
    np.testing.assert_allclose(streamed.mean, memory.mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(streamed.cov, memory.cov, rtol=1e-9, atol=1e-14)
    assert streamed.log_evidence == pytest.approx(memory.log_evidence, rel=1e-12)


def test_streamed_l1_map_has_the_same_zeros(cancer, cancer_files):
    from bayesreg.mode import posterior_mode
    from bayesreg.streaming import RowStream

    model = Model.logistic(Laplace(0.1))
    streamed = posterior_mode(RowStream(str(cancer_files / "cancer.csv"), "benign", chunk_rows=50), model)
    memory = posterior_mode(cancer, model)
    np.testing.assert_allclose(streamed.values["w"], memory.values["w"], atol=1e-10)
    np.testing.assert_array_equal(streamed.values["w"] == 0, memory.values["w"] == 0)


def test_streamed_fit_runs_laplace_and_refuses_samplers(capsys, cancer_files, tmp_path):
    out = tmp_path / "fit"
    common = ("fit", "--data", str(cancer_files / "cancer.parquet"), "--target", "benign", "--likelihood",
              "logistic", "--engine", "chunks", "--prior", "gaussian", "--tau", "1")
    rc, _, err = run_cli(capsys, *common, "--out", str(out))
    assert rc == 2 and "only --method map or laplace" in err and not out.exists()
    rc, text, err = run_cli(capsys, *common, "--method", "laplace", "--no-plots", "--out", str(out))
    assert rc == 0, err
    assert "laplace posterior" in text and "read again on every Newton step" in err


@pytest.mark.parametrize("prior", [Gaussian(0.7), Laplace(0.3)])
@pytest.mark.parametrize("bias", ["flat", "none", "normal:2"])
def test_row_potential_fast_path_equals_the_general_one(cancer, prior, bias):
    """The logistic inner loop (fused) gives the general path's U and ∇U, which Pyro's own potential checks."""
    from bayesreg.infer.row_potential import RowPotential
    from bayesreg.models import LinearRegressionModel

    pot = RowPotential(cancer, LinearRegressionModel(Model.logistic(prior, bias)))
    assert pot._fast is not None
    theta = np.random.default_rng(0).normal(size=pot.layout.size)
    fast_value, fast_grad = pot.value_and_grad(theta)
    pot._fast = None
    value, grad = pot.value_and_grad(theta)
    assert fast_value == pytest.approx(value, rel=1e-13)
    np.testing.assert_allclose(fast_grad, grad, rtol=1e-12, atol=1e-12)


def test_row_potential_matches_pyro(cancer):
    """U(θ) of the row potential equals −(log joint) of the Pyro model at the same point (Pyro's own densities)."""
    import pyro
    import torch

    from bayesreg.infer.row_potential import RowPotential
    from bayesreg.models import LinearRegressionModel, as_tensor

    model = LinearRegressionModel(Model.logistic(Gaussian(0.7), "normal:2"))
    pot = RowPotential(cancer, model)
    theta = np.random.default_rng(1).normal(size=pot.layout.size) * 0.3
    values = {k: torch.as_tensor(v) for k, v in pot.layout.unpack(theta).items()}
    trace = pyro.poutine.trace(pyro.poutine.condition(model, data=values)).get_trace(as_tensor(cancer.X),
                                                                                   as_tensor(cancer.y))
    assert pot(theta) == pytest.approx(-float(trace.log_prob_sum()), rel=1e-12)


def test_prox_sgd_reaches_the_l1_map_with_its_zeros(cancer):
    """ProxSGD (FISTA with restarts, the default for the log-loss) on BCEWithLogitsLoss + ℓ₁‖w‖₁ at ℓ₁ = λ/n:
    converged, within 1e-6 of proximal Newton's MAP, with the same exact zeros."""
    from bayesreg.solvers.sgd import prox_sgd

    ref = logistic_map(cancer.X, cancer.y, PenalizedLeastSquares(l1=10.0))
    res = prox_sgd(cancer.X, cancer.y, PenalizedLeastSquares(l1=10.0), reference=ref.w, loss="logistic")
    assert res.converged and res.info["accelerate"]
    assert float(np.max(np.abs(res.w - ref.w))) <= 1e-6
    np.testing.assert_array_equal(res.w == 0, ref.w == 0)
