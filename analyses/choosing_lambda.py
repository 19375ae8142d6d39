"""Choosing λ, four ways side by side.

The same L2 penalty ½Σr² + (λ/2)‖w‖² tuned four ways, on scikit-learn's diabetes data and on the weight-decay
chapter's d2l problem (20 rows, 200 weights, truth τ = σ = 0.01, i.e. canonical λ = 1):

* empirical Bayes: maximise the closed-form evidence p(y | τ, σ) over τ and σ (the curve against λ), checked
  against scikit-learn's BayesianRidge (which counts n, not n − 1, observations after centring);
* a validation set (the chapter's exercise) and 5-fold cross-validation, checked against GridSearchCV(Ridge);
* a hyperprior: the posterior over λ with σ known or integrated out (Normal-Inverse-Gamma), checked against
  quadrature.

It reports the λ each method picks, the prior sd τ = σ/√λ it means and, on d2l, the test loss next to the
chapter's λ = 3 (canonical λ = 60). With n < d and σ unknown the evidence cannot separate σ² from dτ²: the
study shows it, and uses σ = 0.01 known for the d2l picks.

Writes OUT/index.html, OUT/summary.json and the figures; prints the tables and checks.

usage: python analyses/choosing_lambda.py [--out out/choosing_lambda] [--seed 0] [--quick] [--force]
"""

import sys

from bayesreg.report import study_main
from bayesreg.studies import choosing_lambda


def main(argv: list[str] | None = None) -> int:
    """Run the study and write OUT/index.html, OUT/summary.json and the figures (see --help)."""
    return study_main(choosing_lambda, argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
