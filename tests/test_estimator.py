"""The scikit-learn estimator: scikit-learn's own `check_estimator` suite, exact coefficients where they exist, and
`predict` that validates what it is given."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.utils.estimator_checks import check_estimator

from bayesreg import BayesianLinearRegression, load_diabetes
from bayesreg.infer.conjugate import nig_posterior
from bayesreg.priors import ConjugateGaussian

# No check is skipped: the list is empty on purpose, and a new failure fails this test.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


@pytest.mark.parametrize("estimator", [
    BayesianLinearRegression(),  # σ² ~ InvGamma(1, 1), λ = 1: the exact Normal-Inverse-Gamma posterior
    BayesianLinearRegression(prior="laplace", scale=1.0, sigma=1.0, draws=100, chains=1, warmup=50),  # Gibbs draws
], ids=["exact", "gibbs"])
def test_scikit_learn_check_estimator_passes(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant columns in the checks' data warn, by design
        results = check_estimator(estimator, on_fail=None, expected_failed_checks=EXPECTED_FAILED_CHECKS)
    failed = {r["check_name"]: str(r["exception"])[:200] for r in results if r["status"] == "failed"}
    assert len(results) >= 50 and not failed, failed


def test_coef_is_the_exact_posterior_mean_ridge():
    data = load_diabetes()
    est = BayesianLinearRegression(tau=20.0, sigma=54.0).fit(data.X, data.y)
    ridge = Ridge(alpha=54.0**2 / 20.0**2, tol=1e-12).fit(data.X, data.y)
    np.testing.assert_allclose(est.coef_, ridge.coef_, rtol=1e-10)
    assert est.intercept_ == pytest.approx(ridge.intercept_, rel=1e-10)


def test_coef_is_the_exact_mean_with_sigma_unknown():
    data = load_diabetes()
    est = BayesianLinearRegression(lam=0.5, sigma_prior="invgamma:2,3000").fit(data.X, data.y)
    exact = nig_posterior(data, prior=ConjugateGaussian(0.5), sigma_prior="invgamma:2,3000")
    np.testing.assert_allclose(est.coef_, exact.w_mean, rtol=1e-12)
    mean, sd = est.predict(data.X[:4], return_std=True)
    np.testing.assert_allclose(sd, exact.predictive(data.X[:4]).std(), rtol=1e-12)


def test_sampled_coef_is_the_mean_of_the_draws():
    data = load_diabetes()
    est = BayesianLinearRegression(prior="laplace", scale=13.0, sigma=54.0, draws=200, chains=2).fit(data.X, data.y)
    assert est.posterior_.exact is None
    np.testing.assert_allclose(est.coef_, est.posterior_.flat("w").mean(axis=0), rtol=1e-12)


def test_predict_checks_names_order_and_values():
    data = load_diabetes()
    frame = pd.DataFrame(data.X, columns=list(data.feature_names))
    est = BayesianLinearRegression(tau=20.0, sigma=54.0).fit(frame, data.y)
    assert list(est.feature_names_in_) == list(data.feature_names)
    with pytest.raises(ValueError, match="feature names"):
        est.predict(frame[list(reversed(frame.columns))])
    with pytest.raises(ValueError, match="NaN"):
        est.predict(frame.assign(bmi=np.nan))
    with pytest.raises(ValueError, match="features"):
        est.predict(data.X[:, :5])
    np.testing.assert_allclose(est.predict(frame.iloc[:3]), est.predict(data.X[:3]), rtol=1e-15)
