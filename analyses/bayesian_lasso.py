"""The Bayesian lasso on diabetes.

The lasso (½Σr² + λ₁‖w‖₁, scikit-learn's Lasso(alpha = λ₁/n)) is the MAP under a Laplace prior of scale
s = σ²/λ₁, and it sets weights exactly to 0. This study samples the posterior of the same model with the
Bayesian-lasso Gibbs sampler, σ fixed at the least-squares residual sd, and shows:

* at one λ₁ (the posterior median of λ₁ from the last part), per weight the lasso estimate against the posterior
  mean, median, 94% interval and P(w_j > 0): the lasso's zeros against medians that are never exactly 0;
* the shrinkage plot: the lasso path against the posterior mean, median and 94% band along λ₁;
* λ₁ inferred, with priors on the Laplace scale and on σ: its posterior, and how many zeros the lasso reports
  over the λ₁ the data allow.

Checks: the lasso against scikit-learn; the Gibbs posterior mean against an independent importance-sampling
estimate; R-hat ≤ 1.01 and bulk and tail ESS ≥ 400 for every Gibbs run.

Writes OUT/index.html, OUT/summary.json and the figures; prints the tables and checks.

usage: python analyses/bayesian_lasso.py [--out out/bayesian_lasso] [--seed 0] [--quick] [--force]
"""

import sys

from bayesreg.report import study_main
from bayesreg.studies import bayesian_lasso


def main(argv: list[str] | None = None) -> int:
    """Run the study and write OUT/index.html, OUT/summary.json and the figures (see --help)."""
    return study_main(bayesian_lasso, argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
