"""bayesreg: weight decay read the Bayesian way.

Linear regression ``y = Xw + b + ε``, ``ε ~ N(0, σ²)``, with a Gaussian prior on w (L2 weight decay,
λ = σ²/τ²) or a Laplace prior (L1, λ = σ²/s). The package derives the prior a penalty implies in any library's
convention, and computes the posterior that a penalised point estimate summarises.

>>> import bayesreg
>>> bayesreg.prior_from_penalty("l2", 3, sigma=0.01, n=20, convention="d2l")
Gaussian(tau=0.0012909944487358056)
"""

__version__ = "0.1.0"

from .conventions import CONVENTIONS, Convention, get_convention  # noqa: E402
from .data import Dataset, from_arrays, load_d2l, load_dataset, load_diabetes, load_file  # noqa: E402
from .derived_priors import (  # noqa: E402
    ElasticNetPrior,
    GroupLassoPrior,
    L2NormPrior,
    SeparablePrior,
    StudentTPrior,
)
from .errors import (  # noqa: E402
    BayesregError,
    ConventionError,
    DataError,
    ImproperPriorError,
    NoPriorError,
    SpecError,
)
from .infer.conjugate import gaussian_posterior, nig_posterior  # noqa: E402
from .likelihoods import GaussianLikelihood, Likelihood  # noqa: E402
from .logistic import LogisticLikelihood  # noqa: E402
from .model import Model  # noqa: E402
from .prior_base import Prior  # noqa: E402
from .priors import (  # noqa: E402
    Bias,
    ConjugateGaussian,
    Gaussian,
    HierarchicalPrior,
    Laplace,
    Penalty,
    SigmaPrior,
    penalty_from_prior,
    prior_from_penalty,
)
from .suffstats import SufficientStats  # noqa: E402

_LAZY = {  # Pyro, torch and scikit-learn take seconds to import: load them when asked for
    "LinearRegressionModel": ("models", "LinearRegressionModel"),
    "BayesianLinearRegression": ("estimator", "BayesianLinearRegression"),
    "fit": ("fitting", "fit"),
    "posterior_mode": ("mode", "posterior_mode"),
    "health": ("diagnostics", "health"),
    "derived_map": ("solvers.derived_map", "derived_map"),
    "multioutput_posterior": ("multioutput", "multioutput_posterior"),
    "multioutput_map": ("multioutput", "multioutput_map"),
    "select_lambda": ("selection", "select_lambda"),
    "Horseshoe": ("shrinkage", "Horseshoe"),
    "RegularisedHorseshoe": ("shrinkage", "RegularisedHorseshoe"),
    "HorseshoePlus": ("shrinkage", "HorseshoePlus"),
    "R2D2": ("shrinkage", "R2D2"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'bayesreg' has no attribute {name!r}")

__all__ = [
    "__version__",
    "CONVENTIONS", "Convention", "get_convention",
    "Dataset", "from_arrays", "load_d2l", "load_dataset", "load_diabetes", "load_file",
    "BayesregError", "ConventionError", "DataError", "ImproperPriorError", "NoPriorError", "SpecError",
    "gaussian_posterior", "nig_posterior",
    "LinearRegressionModel", "BayesianLinearRegression", "fit", "health",
    "Bias", "ConjugateGaussian", "Gaussian", "HierarchicalPrior", "Laplace", "Penalty", "SigmaPrior",
    "penalty_from_prior", "prior_from_penalty",
    "ElasticNetPrior", "GroupLassoPrior", "L2NormPrior", "SeparablePrior", "StudentTPrior",
    "derived_map", "multioutput_posterior", "multioutput_map",
    "SufficientStats", "Model", "Prior", "Likelihood", "GaussianLikelihood", "LogisticLikelihood", "posterior_mode",
    "select_lambda", "Horseshoe", "RegularisedHorseshoe", "HorseshoePlus", "R2D2",
]
