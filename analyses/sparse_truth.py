"""Sparse truth: ridge, lasso and horseshoe on a d2l-like problem where 10 of 200 weights are non-zero.

y = Xw* + 0.05 + ε, X ~ N(0, I), n = 100 rows, d = 200 features, σ = 0.01 (fixed at its true value in every
model); 10 non-zero weights of 6 to 12 σ/√n, the other 190 exactly 0; 1000 held-out rows.

* ridge (w_j ~ N(0, τ²), τ by the evidence, exact posterior), the Bayesian lasso (w_j ~ Laplace(0, s), s
  inferred, Gibbs) and the horseshoe (w_j ~ N(0, σ²τ²λ_j²), τ ~ C⁺(0, τ₀), τ₀ from p₀ = 10 expected non-zero
  weights; and τ₀ = 1), Gibbs;
* which recovers the truth (‖E[w|y] − w*‖, held-out RMSE), the coverage of the 94% intervals for the zero and the
  non-zero weights, the true and false positives of SAVS, of the credible-interval rule and of the CV lasso's
  exact zeros, PSIS-LOO against the held-out log predictive density;
* the penalty −log p(w_j) each prior puts on one weight, against L1 and L2.

Writes OUT/index.html, OUT/summary.json and the figures; prints the tables and checks.

usage: python analyses/sparse_truth.py [--out out/sparse_truth] [--seed 0] [--quick] [--force]
"""

import sys

from bayesreg.report import study_main
from bayesreg.studies import sparse_truth


def main(argv: list[str] | None = None) -> int:
    """Run the study and write OUT/index.html, OUT/summary.json and the figures (see --help)."""
    return study_main(sparse_truth, argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
