"""``BayesianLinearRegression``: the posterior behind weight decay as a scikit-learn estimator.

It drops into pipelines, ``cross_val_score`` and ``GridSearchCV``: ``fit(X, y)``, ``predict(X, return_std=True)``,
``get_params``/``set_params``; the full posterior stays on the fitted object as ``posterior_`` (a
:class:`~bayesreg.infer.result.Posterior`), with ``coef_``/``intercept_`` its means: exact where the posterior is
closed form, else averaged over the draws. Input is checked the scikit-learn way (``validate_data``): it passes
scikit-learn's ``check_estimator`` suite (``tests/test_estimator.py``).

>>> from bayesreg import load_diabetes
>>> data = load_diabetes()
>>> model = BayesianLinearRegression(prior="gaussian", tau=20.0, sigma=54.0).fit(data.X, data.y)
>>> mean, std = model.predict(data.X[:2], return_std=True)
>>> model.posterior_.method, mean.shape, bool(std.min() > 54.0)
('exact', (2,), True)
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from .data import from_arrays
from .errors import SpecError

__all__ = ["BayesianLinearRegression"]


class BayesianLinearRegression(RegressorMixin, BaseEstimator):
    """Bayesian linear regression whose MAP is L2 (``prior="gaussian"``) or L1 (``"laplace"``) weight decay.

    Parameters
    ----------
    prior
        ``"gaussian"`` (weight decay) or ``"laplace"`` (lasso).
    tau, scale, lam, convention, tau_prior
        The prior, given exactly one way: τ (gaussian sd), s (laplace scale), a penalty λ in ``convention``, or
        a prior on the scale (``"halfcauchy:S"``...) so that λ is inferred. Default: ``lam=1.0`` (canonical).
    sigma, sigma_prior
        The noise sd fixed, or a prior on it. Default: ``sigma_prior="invgamma:1,1"`` on σ². With a σ prior,
        ``lam`` means the scale-free ``w | σ ~ N(0, σ²/λ)`` (conjugate: exact posterior).
    bias
        ``"flat"`` (unpenalised), ``"none"``, ``"normal:S"``.
    method, chains, draws, warmup, seed
        Inference (see :func:`bayesreg.fitting.fit`); ``"auto"`` is exact where conjugate.
    """

    def __init__(self, prior="gaussian", tau=None, scale=None, lam=None, convention=None, tau_prior=None,
                 sigma=None, sigma_prior=None, bias="flat", method="auto", chains=4, draws=1000, warmup=1000,
                 seed=0):
        self.prior = prior
        self.tau = tau
        self.scale = scale
        self.lam = lam
        self.convention = convention
        self.tau_prior = tau_prior
        self.sigma = sigma
        self.sigma_prior = sigma_prior
        self.bias = bias
        self.method = method
        self.chains = chains
        self.draws = draws
        self.warmup = warmup
        self.seed = seed

    def fit(self, X, y):
        """Fit the posterior of (w, b[, σ]) to ``X`` (n, d) and ``y`` (n,); returns ``self``.

        ``coef_``/``intercept_`` are the exact posterior means where the posterior is closed form (a Gaussian
        prior with σ fixed, or ``lam`` with ``sigma_prior="invgamma:A,B"``), else the means over the draws.
        """
        from sklearn.utils.validation import validate_data

        from .fitting import fit
        from .priors import prior_from_options

        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64, ensure_min_samples=2)
        names = [str(n) for n in self.feature_names_in_] if hasattr(self, "feature_names_in_") else None
        data = from_arrays(X, y, feature_names=names)
        if self.sigma is not None and self.sigma_prior is not None:
            raise SpecError("give sigma (fixed) or sigma_prior, not both")
        sigma = self.sigma if self.sigma is not None else (self.sigma_prior or "invgamma:1,1")
        given = [v for v in (self.tau, self.scale, self.lam, self.tau_prior) if v is not None]
        lam = 1.0 if not given else self.lam
        prior = prior_from_options(self.prior, sigma=self.sigma, n=data.n, tau=self.tau, scale=self.scale, lam=lam,
                                   convention=self.convention, tau_prior=self.tau_prior,
                                   sigma_random=self.sigma is None)
        self.posterior_ = fit(data, prior, sigma, self.bias, self.method, chains=self.chains, draws=self.draws,
                              warmup=self.warmup, seed=self.seed)
        exact = self.posterior_.exact
        if exact is not None:
            self.coef_ = np.array(exact.w_mean, dtype=np.float64)
            self.intercept_ = float(exact.b_mean) if exact.b_mean is not None else 0.0
        else:
            self.coef_ = self.posterior_.flat("w").mean(axis=0)
            self.intercept_ = float(self.posterior_.flat("b").mean()) if "b" in self.posterior_.draws else 0.0
        return self

    def predict(self, X, return_std: bool = False):
        """Posterior predictive mean of y at X; with ``return_std``, also its sd (parameter uncertainty plus
        noise): closed form for an exact posterior, else over the draws. ``X`` is checked as at fit: the same
        number of columns, the same feature names in the same order if fitted on a DataFrame, no NaN or inf."""
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self, "posterior_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        post = self.posterior_
        if post.exact is not None:
            predictive = post.exact.predictive(X)
            return (predictive.mean(), predictive.std()) if return_std else predictive.mean()
        mu = post.flat("w") @ X.T
        if "b" in post.draws:
            mu = mu + post.flat("b")[:, None]
        mean = mu.mean(axis=0)
        if not return_std:
            return mean
        noise_var = np.mean(post.flat("sigma") ** 2) if "sigma" in post.draws else post.sigma_fixed**2
        return mean, np.sqrt(mu.var(axis=0, ddof=1) + noise_var) if len(mu) > 1 else np.sqrt(noise_var)
