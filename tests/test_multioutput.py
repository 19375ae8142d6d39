"""Matrix weights: the Frobenius penalty ⇔ i.i.d. Gaussian W; MAP = scikit-learn Ridge on a 2-D target; the exact
posterior against the single-output one column by column and against the textbook formulas."""

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import Ridge

from bayesreg import Gaussian, SpecError, gaussian_posterior
from bayesreg.multioutput import MatrixNormalPrior, frobenius_prior, multioutput_map, multioutput_posterior

rng = np.random.default_rng(0)
X = rng.standard_normal((40, 4)) + 1.0
W_TRUE = rng.standard_normal((4, 3))
Y = X @ W_TRUE + np.array([2.0, -1.0, 0.5]) + 0.3 * rng.standard_normal((40, 3))
SIGMA, TAU = 0.3, 0.5
LAM = SIGMA**2 / TAU**2


@pytest.mark.parametrize("bias,intercept", [("flat", True), ("none", False)])
def test_map_is_sklearn_ridge_on_a_matrix_target(bias, intercept):
    W, b = multioutput_map(X, Y, prior=MatrixNormalPrior(TAU), sigma=SIGMA, bias=bias)
    ref = Ridge(alpha=LAM, fit_intercept=intercept, solver="cholesky").fit(X, Y)  # Σ‖r‖² + α‖W‖_F²
    assert np.max(np.abs(W - ref.coef_.T)) < 1e-10 * np.max(np.abs(ref.coef_))
    if intercept:
        assert np.allclose(b, ref.intercept_, rtol=1e-10)
    else:
        assert b is None


@pytest.mark.parametrize("bias", ["flat", "none", "normal:2"])
def test_posterior_is_the_column_wise_posterior(bias):
    post = multioutput_posterior(X, Y, prior=TAU, sigma=SIGMA, bias=bias)
    total = 0.0
    for j in range(3):
        col = gaussian_posterior(X, Y[:, j], prior=Gaussian(TAU), sigma=SIGMA, bias=bias)
        assert np.allclose(post.mean[:, j], col.mean, rtol=1e-12, atol=0)
        assert np.allclose(post.cov, col.cov, rtol=1e-12)
        total += col.log_evidence
    assert post.log_evidence == pytest.approx(total, rel=1e-12)
    W, b = multioutput_map(X, Y, prior=TAU, sigma=SIGMA, bias=bias)
    assert np.allclose(W, post.W_mean, rtol=1e-10)  # MAP = posterior mean (Gaussian)
    if b is not None:
        assert np.allclose(b, post.b_mean, rtol=1e-10)


def test_posterior_against_the_textbook_formulas():
    """No bias: W | Y ~ MN(M, Σ, I_k) with Σ = σ²(XᵀX + λI)⁻¹, M = (XᵀX + λI)⁻¹XᵀY; evidence per column
    N(y_j | 0, σ²I + τ²XXᵀ)."""
    post = multioutput_posterior(X, Y, prior=MatrixNormalPrior(TAU), sigma=SIGMA, bias="none")
    A = X.T @ X + LAM * np.eye(4)
    assert np.allclose(post.W_mean, np.linalg.solve(A, X.T @ Y), rtol=1e-10)
    assert np.allclose(post.W_row_cov, SIGMA**2 * np.linalg.inv(A), rtol=1e-10)
    assert np.allclose(post.vec_cov(), np.kron(np.eye(3), SIGMA**2 * np.linalg.inv(A)), rtol=1e-10)
    C = SIGMA**2 * np.eye(40) + TAU**2 * X @ X.T
    evidence = sum(stats.multivariate_normal(np.zeros(40), C).logpdf(Y[:, j]) for j in range(3))
    assert post.log_evidence == pytest.approx(evidence, rel=1e-10)


def test_posterior_draws():
    post = multioutput_posterior(X, Y, prior=TAU, sigma=SIGMA)
    W, b = post.sample(20_000, np.random.default_rng(1))
    assert W.shape == (20_000, 4, 3) and b.shape == (20_000, 3)
    sd = np.sqrt(np.diag(post.W_row_cov))
    assert np.all(np.abs(W.mean(axis=0) - post.W_mean) < 4.5 * sd[:, None] / math.sqrt(20_000))
    emp = np.cov(W[:, :, 1].T)
    assert np.allclose(emp, post.W_row_cov, rtol=0.05, atol=0.05 * np.max(np.diag(post.W_row_cov)))
    # columns independent a posteriori (identity column covariance)
    assert abs(np.corrcoef(W[:, 0, 0], W[:, 0, 2])[0, 1]) < 4.5 / math.sqrt(20_000)


def test_frobenius_prior_and_density():
    prior = frobenius_prior(LAM, SIGMA, convention="sklearn_ridge")
    assert prior.tau == pytest.approx(TAU)
    assert prior.canonical_lam(SIGMA) == pytest.approx(LAM)
    W = rng.standard_normal((4, 3))
    assert -prior.neg_log_density(W) == pytest.approx(stats.norm(0, TAU).logpdf(W).sum(), rel=1e-13)
    # torch MSELoss on an (n, k) output averages over n·k entries: pass n·k
    wd = frobenius_prior(2 * SIGMA**2 / (40 * 3 * TAU**2), SIGMA, n=40 * 3, convention="torch_sgd_mse")
    assert wd.tau == pytest.approx(TAU)
    draws = prior.sample(np.random.default_rng(2), (4, 3), size=5000)
    assert draws.shape == (5000, 4, 3) and draws.std() == pytest.approx(TAU, rel=0.02)


def test_bad_shapes():
    with pytest.raises(SpecError, match="rows of Y"):
        multioutput_posterior(X[:10], Y, prior=TAU, sigma=SIGMA)
    with pytest.raises(SpecError, match="positive"):
        multioutput_map(X, Y, prior=-1.0, sigma=SIGMA)
